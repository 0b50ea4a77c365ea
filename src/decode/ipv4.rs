//! IPv4 (RFC 791): header, fragments, options, header checksum.

use std::fmt;

use super::field::{get, get16, get8, Fields, Value, Visitor};
use super::{decode_ip_proto, push_data, Packet, Problem, Proto};

/// The fixed header (RFC 791 section 3.1), relative to its first byte.
pub(crate) mod field {
    use crate::decode::field::Field;

    /// Version (high nibble) and header length in 32-bit words (low nibble).
    pub const VER_IHL: Field = 0..1;
    pub const DSFIELD: Field = 1..2;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    /// Three flag bits, then the 13-bit fragment offset in 8-byte units.
    pub const FLG_OFF: Field = 6..8;
    /// The byte holding the flags, as the tree highlights them.
    pub const FLAGS: Field = FLG_OFF.start..FLG_OFF.start + 1;
    pub const TTL: Field = 8..9;
    pub const PROTOCOL: Field = 9..10;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
    /// Both addresses, as the transport pseudo-header sums them (RFC 9293 section 3.1).
    pub const ADDRS: Field = SRC_ADDR.start..DST_ADDR.end;
    /// The header without options; the options follow up to the header length.
    pub const HEADER_LEN: usize = DST_ADDR.end;
}
use field::HEADER_LEN;

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    let avail = b.len();
    let Some(vihl) = get8(b, field::VER_IHL) else {
        return p.fail(Proto::Ipv4, off, Problem::Truncated { needed: HEADER_LEN, available: 0 });
    };
    if vihl >> 4 != 4 {
        if vihl >> 4 == 6 && !p.quoting() {
            return as_ipv6(p, off, end);
        }
        p.push(Proto::Ipv4, off, off + avail.min(HEADER_LEN), end);
        return p.fail(Proto::Ipv4, off, Problem::BadVersion { version: vihl >> 4 });
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < HEADER_LEN {
        p.push(Proto::Ipv4, off, off + avail.min(HEADER_LEN), end);
        return p.fail(Proto::Ipv4, off, Problem::BadHeaderLen { value: ihl, min: HEADER_LEN });
    }
    if avail < ihl && p.quoting() {
        return push_data(p, off, end);
    }
    if avail < ihl {
        p.push(Proto::Ipv4, off, end, end);
        return p.fail(Proto::Ipv4, off, Problem::Truncated { needed: ihl, available: avail });
    }
    let ip = Ipv4::new(b);
    let reported = p.reported_len_from(off);
    let total = ip.effective_total_len(reported).unwrap_or(ihl);
    if total < ihl {
        p.push(Proto::Ipv4, off, off + ihl, off + ihl);
        return p.fail(Proto::Ipv4, off, Problem::BadTotalLen { total, header: ihl });
    }
    // A quoted datagram is cut short by design, and so is one that a first fragment
    // begins (in a tunnel, say): tshark, reassembling, never dissects it there.
    if usize::from(ip.total_len().unwrap_or(0)) > reported && !p.quoting() && !p.fragmented {
        // Like Wireshark, go on with the bytes there are, but say the header lies.
        p.fail(
            Proto::Ipv4,
            off,
            Problem::TotalLenExceeds { total: usize::from(ip.total_len().unwrap_or(0)), available: reported },
        );
    }
    // Ethernet pads short frames: the IP total length, not the frame, ends the packet.
    let pend = end.min(off + total);
    p.push(Proto::Ipv4, off, off + ihl, pend);
    let proto = ip.protocol().unwrap_or(0);
    if ip.is_fragment() {
        // Without reassembly a fragment is not a whole datagram. The first one still
        // begins with the transport header, which tshark with defragmentation off
        // decodes (fields, filters and JSON show it); the rest are data. Either way
        // the list says "Fragmented IP protocol" (`unknown_ip_proto`), and the
        // connection tracker and checksums leave fragments alone.
        p.unknown_ip_proto = Some(proto);
        p.fragmented |= !p.quoting();
        if ip.fragment_offset() == Some(0) && pend > off + ihl {
            return decode_ip_proto(p, proto, off + ihl, pend);
        }
        return push_data(p, off + ihl, pend);
    }
    decode_ip_proto(p, proto, off + ihl, pend)
}

/// Wireshark's "ip" dissector, which IPv4's ethertype and the tunnels call, goes by
/// the version field: an IPv6 header is decoded as one.
#[cold]
#[inline(never)]
fn as_ipv6(p: &mut Packet<'_>, off: usize, end: usize) {
    super::ipv6::decode(p, off, end)
}

/// IPv4 header view.
#[derive(Clone, Copy)]
pub struct Ipv4<'a>(&'a [u8]);

impl<'a> Ipv4<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Ipv4(b)
    }
    pub fn version(&self) -> Option<u8> {
        get8(self.0, field::VER_IHL).map(|b| b >> 4)
    }
    pub fn header_len(&self) -> Option<usize> {
        get8(self.0, field::VER_IHL).map(|b| usize::from(b & 0x0f) * 4)
    }
    pub fn dsfield(&self) -> Option<u8> {
        get8(self.0, field::DSFIELD)
    }
    pub fn total_len(&self) -> Option<u16> {
        get16(self.0, field::LENGTH)
    }
    /// Total length, or for 0 (TCP segmentation offload writes 0 before the NIC
    /// fills it in) the bytes on the wire, as Wireshark assumes; never more than
    /// the bytes on the wire (`reported`).
    pub fn effective_total_len(&self, reported: usize) -> Option<usize> {
        match self.total_len()? {
            0 => Some(reported),
            n => Some(usize::from(n).min(reported)),
        }
    }
    pub fn id(&self) -> Option<u16> {
        get16(self.0, field::IDENT)
    }
    pub fn flags(&self) -> Option<u8> {
        get8(self.0, field::FLAGS).map(|b| b >> 5)
    }
    pub fn dont_fragment(&self) -> bool {
        self.flags().is_some_and(|f| f & 2 != 0)
    }
    pub fn more_fragments(&self) -> bool {
        self.flags().is_some_and(|f| f & 1 != 0)
    }
    /// Fragment offset in bytes.
    pub fn fragment_offset(&self) -> Option<u32> {
        get16(self.0, field::FLG_OFF).map(|v| u32::from(v & 0x1fff) * 8)
    }
    pub fn is_fragment(&self) -> bool {
        self.more_fragments() || self.fragment_offset().unwrap_or(0) > 0
    }
    pub fn ttl(&self) -> Option<u8> {
        get8(self.0, field::TTL)
    }
    pub fn protocol(&self) -> Option<u8> {
        get8(self.0, field::PROTOCOL)
    }
    pub fn checksum(&self) -> Option<u16> {
        get16(self.0, field::CHECKSUM)
    }
    pub fn src(&self) -> Option<std::net::Ipv4Addr> {
        get::<4>(self.0, field::SRC_ADDR).map(Into::into)
    }
    pub fn dst(&self) -> Option<std::net::Ipv4Addr> {
        get::<4>(self.0, field::DST_ADDR).map(Into::into)
    }
    pub fn src_bytes(&self) -> Option<[u8; 4]> {
        get(self.0, field::SRC_ADDR)
    }
    pub fn dst_bytes(&self) -> Option<[u8; 4]> {
        get(self.0, field::DST_ADDR)
    }
    /// `Some(true)` if the header checksum verifies, `None` if the header was not all captured.
    pub fn checksum_ok(&self) -> Option<bool> {
        let hl = self.header_len()?;
        let h = self.0.get(..hl)?;
        let sum = etherparse::checksum::u32_16bit_word::add_slice(0, h);
        Some(etherparse::checksum::u32_16bit_word::ones_complement(sum) == 0)
    }
}

fn dscp_name(d: u8) -> &'static str {
    match d {
        0 => "Default",
        8 => "CS1",
        10 => "AF11",
        16 => "CS2",
        18 => "AF21",
        24 => "CS3",
        26 => "AF31",
        32 => "CS4",
        34 => "AF41",
        40 => "CS5",
        46 => "Expedited Forwarding",
        48 => "CS6",
        56 => "CS7",
        _ => "other",
    }
}

fn ecn_name(e: u8) -> &'static str {
    match e {
        0 => "Not-ECT",
        1 => "ECT(1)",
        2 => "ECT(0)",
        _ => "CE: congestion experienced",
    }
}

pub(crate) struct Status(pub Option<bool>);
impl Status {
    pub fn key(&self) -> &'static str {
        match self.0 {
            Some(true) => "good",
            Some(false) => "bad",
            None => "unverified",
        }
    }
}

/// `quoted`: the header is part of what an ICMP error quotes, whose datagram is cut
/// short by design.
pub fn describe<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr_avail: usize, reported: usize, quoted: bool) {
    let ip = Ipv4::new(b);
    let (src, dst) = (ip.src_bytes(), ip.dst_bytes());
    match (src, dst) {
        (Some(s), Some(d)) => v.layer(
            Proto::Ipv4,
            base..base + hdr_avail,
            format_args!(
                "Internet Protocol Version 4, Src: {}, Dst: {}",
                std::net::Ipv4Addr::from(s),
                std::net::Ipv4Addr::from(d)
            ),
        ),
        _ => v.layer(Proto::Ipv4, base..base + hdr_avail, format_args!("Internet Protocol Version 4")),
    }
    let mut f = Fields { v, base, avail: hdr_avail };
    f.f("version", "Version", field::VER_IHL, ip.version().map(|x| Value::U(x.into())), None);
    let hl = ip.header_len().unwrap_or(0);
    f.f(
        "hdr_len",
        "Header Length",
        field::VER_IHL,
        Some(Value::U(hl as u64)),
        Some(format_args!("bytes ({})", hl / 4)),
    );
    if hl < HEADER_LEN || ip.version() != Some(4) {
        return;
    }
    if let Some(ds) = ip.dsfield() {
        f.f("dsfield", "Differentiated Services Field", field::DSFIELD, Some(Value::Hex(ds.into(), 2)), None);
        f.f(
            "dsfield.dscp",
            "Differentiated Services Codepoint",
            field::DSFIELD,
            Some(Value::U((ds >> 2).into())),
            Some(format_args!("({})", dscp_name(ds >> 2))),
        );
        f.f(
            "dsfield.ecn",
            "Explicit Congestion Notification",
            field::DSFIELD,
            Some(Value::U((ds & 3).into())),
            Some(format_args!("({})", ecn_name(ds & 3))),
        );
    }
    match ip.total_len() {
        Some(0) => {
            let m = format_args!("(field is 0: assuming TCP segmentation offload; the frame gives {reported})");
            f.f("len", "Total Length", field::LENGTH, Some(Value::U(reported as u64)), Some(m))
        }
        Some(n) if usize::from(n) > reported && quoted => {
            let m = format_args!("[the error quotes the first {reported} bytes]");
            f.f("len", "Total Length", field::LENGTH, Some(Value::U(n.into())), Some(m))
        }
        Some(n) if usize::from(n) > reported => {
            let m = format_args!("[exceeds the {reported} bytes of the packet]");
            f.f("len", "Total Length", field::LENGTH, Some(Value::U(n.into())), Some(m))
        }
        Some(n) => f.f("len", "Total Length", field::LENGTH, Some(Value::U(n.into())), None),
        None => {}
    }
    f.f(
        "id",
        "Identification",
        field::IDENT,
        ip.id().map(|x| Value::Hex(x.into(), 4)),
        Some(format_args!("({})", ip.id().unwrap_or(0))),
    );
    if let Some(fl) = ip.flags() {
        let m = match fl {
            2 => "Don't fragment",
            1 => "More fragments",
            0 => "none",
            _ => "several set",
        };
        f.v.group("flags", "Flags", f.abs(field::FLAGS), Some(Value::Hex(fl.into(), 1)), Some(format_args!("({m})")));
        f.f(
            "flags.rb",
            "Reserved bit",
            field::FLAGS,
            Some(Value::U(((fl >> 2) & 1).into())),
            Some(format_args!("(must be 0)")),
        );
        f.f("flags.df", "Don't fragment", field::FLAGS, Some(Value::U(((fl >> 1) & 1).into())), None);
        f.f("flags.mf", "More fragments", field::FLAGS, Some(Value::U((fl & 1).into())), None);
        f.v.end_group();
    }
    f.f(
        "frag_offset",
        "Fragment Offset",
        field::FLG_OFF,
        ip.fragment_offset().map(|x| Value::U(x.into())),
        Some(format_args!("bytes")),
    );
    f.f(
        "ttl",
        "Time to Live",
        field::TTL,
        ip.ttl().map(|x| Value::U(x.into())),
        Some(format_args!("(hops left before a router drops it)")),
    );
    if let Some(pr) = ip.protocol() {
        f.f(
            "proto",
            "Protocol",
            field::PROTOCOL,
            Some(Value::U(pr.into())),
            Some(format_args!("({})", super::ip_proto_name(pr))),
        );
    }
    let st = Status(ip.checksum_ok());
    f.f(
        "checksum",
        "Header Checksum",
        field::CHECKSUM,
        ip.checksum().map(|x| Value::Hex(x.into(), 4)),
        Some(format_args!(
            "[{}]",
            match st.0 {
                Some(true) => "correct",
                Some(false) => "incorrect",
                None => "not verified: header not captured",
            }
        )),
    );
    if f.has(&field::CHECKSUM) {
        let r = f.abs(field::CHECKSUM);
        f.v.field("checksum.status", "Header checksum status", r, Value::Str(st.key()), None);
    }
    f.f("src", "Source Address", field::SRC_ADDR, ip.src_bytes().map(Value::Ipv4), None);
    f.f("dst", "Destination Address", field::DST_ADDR, ip.dst_bytes().map(Value::Ipv4), None);
    if hl > HEADER_LEN && hdr_avail > HEADER_LEN {
        describe_options(&mut f, &b[HEADER_LEN..hl.min(hdr_avail)]);
    }
}

fn option_name(t: u8) -> &'static str {
    match t & 0x1f {
        0 => "End of Options List",
        1 => "No-Operation",
        2 => "Security",
        3 => "Loose Source Route",
        4 => "Time Stamp",
        7 => "Record Route",
        9 => "Strict Source Route",
        20 => "Router Alert",
        _ => "Unknown",
    }
}

fn describe_options<V: Visitor>(f: &mut Fields<'_, V>, opts: &[u8]) {
    f.v.group(
        "options",
        "Options",
        f.abs(HEADER_LEN..HEADER_LEN + opts.len()),
        None,
        Some(format_args!("({} bytes)", opts.len())),
    );
    let mut i = 0;
    while i < opts.len() {
        let t = opts[i];
        let len = if t == 0 || t == 1 { 1 } else { opts.get(i + 1).map(|l| usize::from(*l)).unwrap_or(1).max(2) };
        let r = HEADER_LEN + i..HEADER_LEN + (i + len).min(opts.len());
        let name = option_name(t);
        f.v.field("option.type", "Option", f.abs(r), Value::U(t.into()), Some(format_args!("({name}, {len} bytes)")));
        if t == 0 {
            break;
        }
        i += len;
    }
    f.v.end_group();
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;
    use crate::decode::field::{check, Field};

    /// The tree key of each table field (sub-fields of a byte under their own keys).
    const FIELDS: &[(&str, Field)] = &[
        ("version", VER_IHL),
        ("hdr_len", VER_IHL),
        ("dsfield", DSFIELD),
        ("dsfield.dscp", DSFIELD),
        ("dsfield.ecn", DSFIELD),
        ("len", LENGTH),
        ("id", IDENT),
        ("flags", FLAGS),
        ("flags.rb", FLAGS),
        ("flags.df", FLAGS),
        ("flags.mf", FLAGS),
        ("frag_offset", FLG_OFF),
        ("ttl", TTL),
        ("proto", PROTOCOL),
        ("checksum", CHECKSUM),
        ("checksum.status", CHECKSUM),
        ("src", SRC_ADDR),
        ("dst", DST_ADDR),
    ];

    #[test]
    fn field_table_is_consistent_and_is_what_the_tree_highlights() {
        check::table(HEADER_LEN, FIELDS, &[VER_IHL, FLAGS, FLG_OFF]);
        let h = [
            0x46, // version 4, header length 6 words
            0xb8, // DSCP 46 (EF), ECN 0
            0x00, 0x18, // total length 24
            0x12, 0x34, // identification
            0x40, 0x00, // don't fragment, offset 0
            0x40, // TTL 64
            0x11, // UDP
            0x00, 0x00, // checksum (wrong: still shown)
            10, 0, 0, 1, // source
            10, 0, 0, 2, // destination
            0x94, 0x04, 0x00, 0x00, // router alert option
        ];
        let mut seen = check::Seen::default();
        describe(&mut seen, &h, 14, h.len(), h.len(), false);
        check::tree(&seen, 14, FIELDS, &["options", "option.type"]);
    }
}
