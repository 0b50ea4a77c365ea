//! IPv6 (RFC 8200): fixed header and the extension-header chain up to the transport.

use super::field::{get, get16, get32, get8, Fields, Value, Visitor};
use super::{decode_ip_proto, push_data, Packet, Problem, Proto};

/// The fixed header (RFC 8200 section 3), relative to its first byte.
pub(crate) mod field {
    use crate::decode::field::Field;

    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FLOW: Field = 0..4;
    /// The bytes of each part, as the tree highlights them.
    pub const VERSION: Field = VER_TC_FLOW.start..VER_TC_FLOW.start + 1;
    pub const TCLASS: Field = VER_TC_FLOW.start..VER_TC_FLOW.start + 2;
    pub const FLOW: Field = VER_TC_FLOW.start + 1..VER_TC_FLOW.end;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NXT_HDR: Field = 6..7;
    pub const HOP_LIMIT: Field = 7..8;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
    /// Both addresses, as the transport pseudo-header sums them (RFC 8200 section 8.1).
    pub const ADDRS: Field = SRC_ADDR.start..DST_ADDR.end;
    pub const HEADER_LEN: usize = DST_ADDR.end;

    /// An extension header (RFC 8200 section 4): each begins with the next header
    /// and, but for the fragment header, its length.
    pub mod ext {
        use crate::decode::field::Field;

        pub const NXT_HDR: Field = 0..1;
        pub const LEN: Field = 1..2;
        /// The shortest extension header; the fragment header is exactly this long.
        pub const MIN_LEN: usize = 8;
        /// Fragment header (section 4.5): offset in 8-byte units (13 bits), 2
        /// reserved bits, more fragments (the low bit), then the identification.
        pub const FRAG_OFF: Field = 2..4;
        /// The byte holding the more-fragments bit, as the tree highlights it.
        pub const FRAG_MORE: Field = FRAG_OFF.end - 1..FRAG_OFF.end;
        pub const FRAG_IDENT: Field = 4..8;
    }
}
use field::{ext, HEADER_LEN};

/// The length of an extension header of type `next` whose bytes `h` are there
/// (at least `ext::MIN_LEN`).
fn ext_len(next: u8, h: &[u8]) -> usize {
    let len = usize::from(h[ext::LEN.start]);
    match next {
        44 => ext::MIN_LEN,
        // AH counts 4-byte words, less 2 (RFC 4302 section 2.2).
        51 => (len + 2) * 4,
        _ => (len + 1) * 8,
    }
}

/// Extension headers we walk through (RFC 8200 section 4, RFC 4302 for AH).
fn is_extension(n: u8) -> bool {
    matches!(n, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
}

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    let avail = b.len();
    if let Some(v) = get8(b, field::VERSION).map(|x| x >> 4) {
        if v != 6 {
            p.push(Proto::Ipv6, off, off + avail.min(HEADER_LEN), end);
            return p.fail(Proto::Ipv6, off, Problem::BadVersion { version: v });
        }
    }
    if avail < HEADER_LEN {
        p.push(Proto::Ipv6, off, end, end);
        return p.fail(Proto::Ipv6, off, Problem::Truncated { needed: HEADER_LEN, available: avail });
    }
    let ip = Ipv6::new(b);
    let plen = usize::from(ip.payload_len().unwrap_or(0));
    // Payload length 0 is a jumbogram or a TSO-sized capture: the frame decides.
    let pend = if plen == 0 { end } else { end.min(off + HEADER_LEN + plen) };
    let mut next = ip.next_header().unwrap_or(0);
    let mut cur = off + HEADER_LEN;
    let mut hops = 0;
    while is_extension(next) && hops < 16 {
        hops += 1;
        let h = &p.data[cur..pend];
        if h.len() < ext::MIN_LEN {
            p.push(Proto::Ipv6, off, pend, pend);
            return p.fail(Proto::Ipv6, cur, Problem::Truncated { needed: ext::MIN_LEN, available: h.len() });
        }
        let len = ext_len(next, h);
        if h.len() < len {
            p.push(Proto::Ipv6, off, pend, pend);
            return p.fail(Proto::Ipv6, cur, Problem::Truncated { needed: len, available: h.len() });
        }
        let this = next;
        next = h[ext::NXT_HDR.start];
        cur += len;
        let frag = get16(h, ext::FRAG_OFF).unwrap_or(0);
        if this == 44 && frag & 0xfff9 != 0 {
            // A fragment: as for IPv4, the first one's transport header is decoded
            // (tshark with defragmentation off), the others are data.
            p.unknown_ip_proto = Some(next);
            p.fragmented |= !p.quoting();
            if frag & 0xfff8 != 0 || cur >= pend {
                p.push(Proto::Ipv6, off, cur, pend);
                return push_data(p, cur, pend);
            }
        }
    }
    p.push(Proto::Ipv6, off, cur, pend);
    if next == 59 {
        return push_data(p, cur, pend);
    }
    decode_ip_proto(p, next, cur, pend)
}

/// IPv6 header view.
#[derive(Clone, Copy)]
pub struct Ipv6<'a>(&'a [u8]);

impl<'a> Ipv6<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Ipv6(b)
    }
    pub fn traffic_class(&self) -> Option<u8> {
        get16(self.0, field::TCLASS).map(|v| ((v >> 4) & 0xff) as u8)
    }
    pub fn flow_label(&self) -> Option<u32> {
        get32(self.0, field::VER_TC_FLOW).map(|v| v & 0x000f_ffff)
    }
    pub fn payload_len(&self) -> Option<u16> {
        get16(self.0, field::PAYLOAD_LEN)
    }
    pub fn next_header(&self) -> Option<u8> {
        get8(self.0, field::NXT_HDR)
    }
    pub fn hop_limit(&self) -> Option<u8> {
        get8(self.0, field::HOP_LIMIT)
    }
    pub fn src(&self) -> Option<std::net::Ipv6Addr> {
        get::<16>(self.0, field::SRC_ADDR).map(Into::into)
    }
    pub fn dst(&self) -> Option<std::net::Ipv6Addr> {
        get::<16>(self.0, field::DST_ADDR).map(Into::into)
    }
    pub fn src_bytes(&self) -> Option<[u8; 16]> {
        get(self.0, field::SRC_ADDR)
    }
    pub fn dst_bytes(&self) -> Option<[u8; 16]> {
        get(self.0, field::DST_ADDR)
    }
    /// The fragment header, when the extension chain holds one that makes this a
    /// fragment (an atomic fragment, offset 0 and no more, is a whole datagram).
    pub fn fragment(&self) -> Option<Fragment> {
        let mut next = self.next_header()?;
        let mut cur = HEADER_LEN;
        while is_extension(next) {
            let h = self.0.get(cur..).filter(|h| h.len() >= ext::MIN_LEN)?;
            if next == 44 {
                let fo = get16(h, ext::FRAG_OFF)?;
                let frag = Fragment {
                    offset: u32::from(fo >> 3) * 8,
                    more: fo & 1 != 0,
                    id: get32(h, ext::FRAG_IDENT)?,
                    next: get8(h, ext::NXT_HDR)?,
                    data: cur + ext::MIN_LEN,
                };
                return (frag.offset > 0 || frag.more).then_some(frag);
            }
            cur += ext_len(next, h);
            next = get8(h, ext::NXT_HDR)?;
        }
        None
    }
}

/// An IPv6 fragment header's facts (RFC 8200 section 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// In bytes.
    pub offset: u32,
    pub more: bool,
    pub id: u32,
    /// The protocol of the datagram the fragment is part of.
    pub next: u8,
    /// Where the fragment's data begins, from the start of the IPv6 header.
    pub data: usize,
}

fn ext_name(n: u8) -> &'static str {
    match n {
        0 => "Hop-by-Hop Options",
        43 => "Routing",
        44 => "Fragment",
        51 => "Authentication Header",
        60 => "Destination Options",
        135 => "Mobility",
        _ => "Extension",
    }
}

pub fn describe<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr_avail: usize) {
    let ip = Ipv6::new(b);
    match (ip.src(), ip.dst()) {
        (Some(s), Some(d)) => v.layer(
            Proto::Ipv6,
            base..base + hdr_avail,
            format_args!("Internet Protocol Version 6, Src: {s}, Dst: {d}"),
        ),
        _ => v.layer(Proto::Ipv6, base..base + hdr_avail, format_args!("Internet Protocol Version 6")),
    }
    let mut f = Fields { v, base, avail: hdr_avail };
    f.f("version", "Version", field::VERSION, get8(b, field::VERSION).map(|x| Value::U((x >> 4).into())), None);
    if let Some(tc) = ip.traffic_class() {
        f.f(
            "tclass",
            "Traffic Class",
            field::TCLASS,
            Some(Value::Hex(tc.into(), 2)),
            Some(format_args!("(DSCP {}, ECN {})", tc >> 2, tc & 3)),
        );
        f.f("tclass.dscp", "Differentiated Services Codepoint", field::TCLASS, Some(Value::U((tc >> 2).into())), None);
        f.f("tclass.ecn", "Explicit Congestion Notification", field::TCLASS, Some(Value::U((tc & 3).into())), None);
    }
    f.f("flow", "Flow Label", field::FLOW, ip.flow_label().map(|x| Value::Hex(x.into(), 5)), None);
    f.f("plen", "Payload Length", field::PAYLOAD_LEN, ip.payload_len().map(|x| Value::U(x.into())), None);
    if let Some(n) = ip.next_header() {
        f.f(
            "nxt",
            "Next Header",
            field::NXT_HDR,
            Some(Value::U(n.into())),
            Some(format_args!("({})", if is_extension(n) { ext_name(n) } else { super::ip_proto_name(n) })),
        );
    }
    f.f("hlim", "Hop Limit", field::HOP_LIMIT, ip.hop_limit().map(|x| Value::U(x.into())), None);
    f.f("src", "Source Address", field::SRC_ADDR, ip.src_bytes().map(Value::Ipv6), None);
    f.f("dst", "Destination Address", field::DST_ADDR, ip.dst_bytes().map(Value::Ipv6), None);
    // Extension headers, as far as the decoder took them.
    let mut next = ip.next_header().unwrap_or(59);
    let mut cur = HEADER_LEN;
    while is_extension(next) && cur + ext::MIN_LEN <= hdr_avail {
        let h = &b[cur..];
        let len = ext_len(next, h);
        if cur + len > hdr_avail {
            break;
        }
        f.v.group(
            "ext",
            ext_name(next),
            f.abs(cur..cur + len),
            None,
            Some(format_args!("({len} bytes, next header {})", h[ext::NXT_HDR.start])),
        );
        if next == 44 {
            let fo = get16(h, ext::FRAG_OFF).unwrap_or(0);
            let at = |r: std::ops::Range<usize>| cur + r.start..cur + r.end;
            f.f(
                "fragment.offset",
                "Offset",
                at(ext::FRAG_OFF),
                Some(Value::U(u64::from(fo >> 3) * 8)),
                Some(format_args!("bytes")),
            );
            f.f("fragment.more", "More Fragments", at(ext::FRAG_MORE), Some(Value::U(u64::from(fo & 1))), None);
            let id = get32(h, ext::FRAG_IDENT).map(|x| Value::Hex(x.into(), 8));
            f.f("fragment.id", "Identification", at(ext::FRAG_IDENT), id, None);
        }
        f.v.end_group();
        next = h[ext::NXT_HDR.start];
        cur += len;
    }
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;
    use crate::decode::field::{check, Field};

    const FIELDS: &[(&str, Field)] = &[
        ("version", VERSION),
        ("tclass", TCLASS),
        ("tclass.dscp", TCLASS),
        ("tclass.ecn", TCLASS),
        ("flow", FLOW),
        ("plen", PAYLOAD_LEN),
        ("nxt", NXT_HDR),
        ("hlim", HOP_LIMIT),
        ("src", SRC_ADDR),
        ("dst", DST_ADDR),
    ];

    #[test]
    fn field_table_is_consistent_and_is_what_the_tree_highlights() {
        check::table(HEADER_LEN, FIELDS, &[VERSION, TCLASS, FLOW]);
        check::table(HEADER_LEN, &[("", VER_TC_FLOW), ("", PAYLOAD_LEN), ("", ADDRS)], &[]);
        let frag =
            [("nxt", ext::NXT_HDR), ("offset", ext::FRAG_OFF), ("more", ext::FRAG_MORE), ("id", ext::FRAG_IDENT)];
        check::table(ext::MIN_LEN, &frag, &[ext::FRAG_OFF, ext::FRAG_MORE]);
        let mut h = vec![
            0x6b, 0x81, 0x23, 0x45, // version 6, traffic class 0xb8, flow label 0x12345
            0x00, 0x10, // payload length 16
            44,   // fragment header next
            64,   // hop limit
        ];
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]); // source
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]); // destination
        h.extend_from_slice(&[
            17, 0, // UDP next, reserved
            0x00, 0x09, // offset 8 bytes, more fragments
            0xde, 0xad, 0xbe, 0xef, // identification
        ]);
        let mut seen = check::Seen::default();
        describe(&mut seen, &h, 14, h.len());
        let frag_keys = ["ext", "fragment.offset", "fragment.more", "fragment.id"];
        check::tree(&seen, 14, FIELDS, &frag_keys);
        let shown: Vec<_> = seen.0.iter().filter(|(k, _)| k.starts_with("fragment.")).cloned().collect();
        let at = |r: Field| 14 + HEADER_LEN + r.start..14 + HEADER_LEN + r.end;
        assert_eq!(
            shown,
            [
                ("fragment.offset", at(ext::FRAG_OFF)),
                ("fragment.more", at(ext::FRAG_MORE)),
                ("fragment.id", at(ext::FRAG_IDENT))
            ]
        );
        let ip = Ipv6::new(&h);
        assert_eq!((ip.traffic_class(), ip.flow_label(), ip.payload_len()), (Some(0xb8), Some(0x12345), Some(16)));
        assert_eq!((ip.next_header(), ip.hop_limit()), (Some(44), Some(64)));
    }

    #[test]
    fn the_fragment_header_is_found_behind_other_extension_headers() {
        let mut b = vec![0x60, 0, 0, 0, 0, 24, 0, 64];
        b.extend_from_slice(&[0x20; 32]);
        b.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop, then the fragment header
        b.extend_from_slice(&[6, 0, 0x05, 0xa9, 0, 0, 0x60, 0x01]); // TCP, offset 1448, more
        let ip = Ipv6::new(&b);
        assert_eq!(ip.fragment(), Some(Fragment { offset: 1448, more: true, id: 0x6001, next: 6, data: 56 }));
        // Offset 0 and no more fragments: an atomic fragment is a whole datagram.
        let mut atomic = b.clone();
        atomic[50] = 0;
        atomic[51] = 0;
        assert_eq!(Ipv6::new(&atomic).fragment(), None);
        // No fragment header, or the chain cut short: None, no panic.
        let mut plain = b.clone();
        plain[6] = 6;
        assert_eq!(Ipv6::new(&plain).fragment(), None);
        for cut in 0..b.len() {
            assert_eq!(Ipv6::new(&b[..cut]).fragment(), None, "cut at {cut}");
        }
    }
}
