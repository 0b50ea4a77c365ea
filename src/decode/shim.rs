//! Headers that sit between an ethertype and the packet it names, each ending in what
//! comes next: Arista's timestamp (AVSP, ethertype 0xd28b), MACsec's SecTAG (IEEE
//! 802.1AE, 0x88e5: when the frame is neither encrypted nor changed, the original
//! ethertype follows), and the Network Service Header (RFC 8300, 0x894f).

use super::field::{get, get16, get32, get8, Field, Fields, Value, Visitor};
use super::{decode_ethertype, push_data, Packet, Problem, Proto};

/// Header layouts, relative to each header's first byte.
mod field {
    /// Arista's AVSP: a subtype; a timestamp (subtype 1) adds its version and the
    /// time, in one of two layouts; the ethertype of what follows ends the header.
    pub mod avsp {
        use crate::decode::field::Field;

        pub const SUB_TYPE: Field = 0..2;
        /// Where a subtype other than a timestamp has its ethertype.
        pub const ETHERTYPE: Field = 2..4;
        pub const HEADER_LEN: usize = ETHERTYPE.end;
        /// A timestamp's version, where other subtypes have the ethertype.
        pub const VERSION: Field = SUB_TYPE.end..SUB_TYPE.end + 2;

        /// A timestamp's seconds and nanoseconds, then the ethertype.
        pub struct Timestamp {
            pub sec: Field,
            pub ns: Field,
            pub ethertype: Field,
        }

        /// 4 bytes of seconds (versions 0x10 TAI, 0x110 UTC).
        pub const TS64: Timestamp = Timestamp { sec: 4..8, ns: 8..12, ethertype: 12..14 };
        /// 2 bytes of seconds (versions 0x20 TAI, 0x120 UTC).
        pub const TS48: Timestamp = Timestamp { sec: 4..6, ns: 6..10, ethertype: 10..12 };
    }

    /// MACsec's SecTAG after its ethertype (IEEE 802.1AE section 9.3): TCI and
    /// association number, short length, packet number, and the SCI when the TCI's
    /// SC bit says so.
    pub mod macsec {
        use crate::decode::field::Field;

        /// Version, ES, SC, SCB, E, C bits (the TCI) and the 2-bit AN.
        pub const TCI_AN: Field = 0..1;
        pub const SL: Field = 1..2;
        pub const PN: Field = 2..6;
        /// Without an SCI.
        pub const HEADER_LEN: usize = PN.end;
        /// The SCI: the system's MAC address and a port number.
        pub const SCI_SYSTEM: Field = 6..12;
        pub const SCI_PORT: Field = 12..14;
        pub const SCI_HEADER_LEN: usize = SCI_PORT.end;

        /// When the data is neither encrypted nor changed, the original ethertype
        /// right after a SecTAG of `tag` bytes.
        pub const fn ethertype(tag: usize) -> Field {
            tag..tag + 2
        }

        /// The integrity check value at the frame's end: 16 bytes for the default
        /// cipher suite.
        pub const ICV_LEN: usize = 16;
    }

    /// NSH (RFC 8300 section 2.2): the base header (version, O and C bits, TTL,
    /// length in 4-byte words; MD type, next protocol), the service path header
    /// (service path identifier and index), then context headers.
    pub mod nsh {
        use crate::decode::field::Field;

        /// Version (2 bits), O, C, an unused bit, TTL (6 bits), length (6 bits).
        pub const VER_TTL_LEN: Field = 0..2;
        /// The byte holding the length's 6 bits.
        pub const LENGTH: Field = 1..2;
        pub const MD_TYPE: Field = 2..3;
        pub const NEXT_PROTO: Field = 3..4;
        pub const BASE_LEN: usize = NEXT_PROTO.end;
        /// The service path identifier (24 bits) and the service index.
        pub const SERVICE_PATH: Field = 4..8;
        pub const SPI: Field = SERVICE_PATH.start..SERVICE_PATH.end - 1;
        pub const SI: Field = SPI.end..SERVICE_PATH.end;
        /// Base and service path headers; context headers follow up to the length.
        pub const HEADER_LEN: usize = SERVICE_PATH.end;
    }
}
use field::{avsp, macsec, nsh};

/// Arista's subtype for a timestamp.
const AVSP_TIMESTAMP: u16 = 1;

/// The timestamp layout of an AVSP version: 64-bit or 48-bit, TAI or UTC; None for
/// a version Wireshark does not know.
fn avsp_timestamp(version: u16) -> Option<&'static avsp::Timestamp> {
    match version {
        0x10 | 0x110 => Some(&avsp::TS64),
        0x20 | 0x120 => Some(&avsp::TS48),
        _ => None,
    }
}

/// Header length of an AVSP header (subtype, [version, timestamp], ethertype) and
/// where its ethertype is; Err: the length needed.
fn avsp_header(b: &[u8]) -> Result<(usize, Option<Field>), usize> {
    let sub = get16(b, avsp::SUB_TYPE).ok_or(avsp::HEADER_LEN)?;
    let etype = if sub == AVSP_TIMESTAMP {
        let ver = get16(b, avsp::VERSION).ok_or(avsp::TS64.ns.end)?;
        match avsp_timestamp(ver) {
            Some(ts) => ts.ethertype.clone(),
            // An unknown version: Wireshark stops before the ethertype.
            None => return Ok((avsp::VERSION.end, None)),
        }
    } else {
        avsp::ETHERTYPE
    };
    if b.len() < etype.end {
        Err(etype.end)
    } else {
        Ok((etype.end, Some(etype)))
    }
}

// A rare ethertype: inlined, it cost decode_ethertype's common IPv4 path 2
// instructions a call (callgrind on `gen mix`); out of line, none.
#[inline(never)]
pub(crate) fn decode_avsp(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    match avsp_header(b) {
        Err(needed) => {
            p.push(Proto::Avsp, off, end, end);
            p.fail(Proto::Avsp, off, Problem::Truncated { needed, available: b.len() });
        }
        Ok((hl, None)) => {
            p.push(Proto::Avsp, off, off + hl, end);
            push_data(p, off + hl, end)
        }
        Ok((hl, Some(etype))) => {
            let t = get16(b, etype).unwrap_or(0);
            p.push(Proto::Avsp, off, off + hl, end);
            decode_ethertype(p, t, off + hl, end)
        }
    }
}

pub fn describe_avsp<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Avsp, base..base + hdr, format_args!("Arista Vendor Specific Protocol"));
    let mut f = Fields { v, base, avail: hdr };
    let sub = get16(b, avsp::SUB_TYPE).unwrap_or(0);
    let sub_name = if sub == AVSP_TIMESTAMP { "(timestamp)" } else { "(unknown)" };
    let sub_value = get16(b, avsp::SUB_TYPE).map(|x| Value::U(x.into()));
    f.f("sub_type", "Sub Type", avsp::SUB_TYPE, sub_value, Some(format_args!("{sub_name}")));
    let mut etype = avsp::ETHERTYPE;
    if sub == AVSP_TIMESTAMP {
        let ver = get16(b, avsp::VERSION);
        f.f("ver", "Version", avsp::VERSION, ver.map(|x| Value::Hex(x.into(), 4)), None);
        let Some(ts) = avsp_timestamp(ver.unwrap_or(0)) else { return };
        let u = |x: u32| Value::U(x.into());
        if ts.sec.len() == 4 {
            f.f("64sec", "Seconds", ts.sec.clone(), get32(b, ts.sec.clone()).map(u), None);
            f.f("64ns", "Nanoseconds", ts.ns.clone(), get32(b, ts.ns.clone()).map(u), None);
        } else {
            f.f("48sec", "Seconds", ts.sec.clone(), get16(b, ts.sec.clone()).map(|x| u(x.into())), None);
            f.f("48ns", "Nanoseconds", ts.ns.clone(), get32(b, ts.ns.clone()).map(u), None);
        }
        etype = ts.ethertype.clone();
    }
    let t = get16(b, etype.clone()).unwrap_or(0);
    f.f("etype", "Type", etype, Some(Value::Hex(t.into(), 4)), Some(super::link::EthertypeMeaning(t).args()));
}

/// MACsec TCI bits (IEEE 802.1AE section 9.5): version, end station, SCI present,
/// single copy broadcast, encrypted, changed; then the association number.
const TCI_V: u8 = 0x80;
const TCI_ES: u8 = 0x40;
const TCI_SC: u8 = 0x20;
const TCI_SCB: u8 = 0x10;
const TCI_E: u8 = 0x08;
const TCI_C: u8 = 0x04;
const AN_MASK: u8 = 0x03;

/// SecTAG length (after the ethertype), with the SCI when the SC bit says so.
fn sectag_len(tci: u8) -> usize {
    if tci & TCI_SC != 0 {
        macsec::SCI_HEADER_LEN
    } else {
        macsec::HEADER_LEN
    }
}

/// Decodes a SecTAG; false (nothing pushed) when Wireshark would not take it as one
/// (a version other than 0, or no room for a byte of data and the ICV).
// A rare ethertype: inlined, it cost decode_ethertype's common IPv4 path 2
// instructions a call (callgrind on `gen mix`); out of line, none.
#[inline(never)]
pub(crate) fn decode_macsec(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let b = &p.data[off..end];
    let Some(tci) = get8(b, macsec::TCI_AN) else { return false };
    let tag = sectag_len(tci);
    if tci & TCI_V != 0 || b.len() <= tag + macsec::ICV_LEN {
        return false;
    }
    if tci & (TCI_E | TCI_C) != 0 {
        // Encrypted or changed: the data can't be read, the ICV is at the end.
        p.push(Proto::Macsec, off, off + tag, end);
        push_data(p, off + tag, end - macsec::ICV_LEN);
        return true;
    }
    // Integrity only: the original ethertype, then the packet (and the ICV as the
    // trailer, which the inner packet's own length leaves out).
    let etype = macsec::ethertype(tag);
    let t = get16(b, etype.clone()).unwrap_or(0);
    p.push(Proto::Macsec, off, off + etype.end, end);
    decode_ethertype(p, t, off + etype.end, end);
    true
}

pub fn describe_macsec<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Macsec, base..base + hdr, format_args!("802.1AE Security tag"));
    let mut f = Fields { v, base, avail: hdr };
    let tci = get8(b, macsec::TCI_AN).unwrap_or(0);
    let (r, bit) = (macsec::TCI_AN, |m: u8| Some(Value::Bool(tci & m != 0)));
    f.f("TCI", "TCI", r.clone(), Some(Value::Hex((tci >> 2).into(), 2)), None);
    f.f("TCI.V", "VER", r.clone(), Some(Value::U((tci >> 7).into())), None);
    f.f("TCI.ES", "ES", r.clone(), bit(TCI_ES), Some(format_args!("(end station)")));
    f.f("TCI.SC", "SC", r.clone(), bit(TCI_SC), Some(format_args!("(SCI present)")));
    f.f("TCI.SCB", "SCB", r.clone(), bit(TCI_SCB), None);
    f.f("TCI.E", "E", r.clone(), bit(TCI_E), Some(format_args!("(encrypted)")));
    f.f("TCI.C", "C", r.clone(), bit(TCI_C), Some(format_args!("(changed text)")));
    f.f("AN", "AN", r, Some(Value::Hex((tci & AN_MASK).into(), 1)), Some(format_args!("(association number)")));
    f.f("SL", "Short length", macsec::SL, get8(b, macsec::SL).map(|x| Value::Hex(x.into(), 2)), None);
    f.f("PN", "Packet number", macsec::PN, get32(b, macsec::PN).map(|x| Value::U(x.into())), None);
    let tag = sectag_len(tci);
    if tag == macsec::SCI_HEADER_LEN {
        let system = get::<6>(b, macsec::SCI_SYSTEM).map(Value::Mac);
        f.f("SCI.system_identifier", "System Identifier", macsec::SCI_SYSTEM, system, None);
        let port = get16(b, macsec::SCI_PORT).map(|x| Value::U(x.into()));
        f.f("SCI.port_identifier", "Port Identifier", macsec::SCI_PORT, port, None);
    }
    if hdr > tag {
        let etype = macsec::ethertype(tag);
        let t = get16(b, etype.clone()).unwrap_or(0);
        let m = super::link::EthertypeMeaning(t).args();
        f.f("etype", "Ethertype", etype, Some(Value::Hex(t.into(), 4)), Some(m));
    } else if let Some(at) = b.len().checked_sub(macsec::ICV_LEN) {
        // Not part of the header's range: the tree points at the frame's last bytes.
        if let Some(icv) = b.get(at..) {
            v.field("ICV", "ICV", base + at..base + b.len(), Value::Bytes(icv), None);
        }
    }
}

/// NSH (RFC 8300 section 2.2): its length in 4-byte words says where the next
/// protocol's packet starts.
// A rare ethertype: inlined, it cost decode_ethertype's common IPv4 path 2
// instructions a call (callgrind on `gen mix`); out of line, none.
#[inline(never)]
pub(crate) fn decode_nsh(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    if b.len() < nsh::HEADER_LEN {
        p.push(Proto::Nsh, off, end, end);
        return p.fail(Proto::Nsh, off, Problem::Truncated { needed: nsh::HEADER_LEN, available: b.len() });
    }
    // Wireshark reads at least the base header whatever the length says.
    let words = get8(b, nsh::LENGTH).map_or(0, |x| x & 0x3f);
    let hl = (usize::from(words) * 4).max(nsh::BASE_LEN);
    if b.len() < hl {
        p.push(Proto::Nsh, off, end, end);
        return p.fail(Proto::Nsh, off, Problem::Truncated { needed: hl, available: b.len() });
    }
    p.push(Proto::Nsh, off, off + hl, end);
    let (at, next) = (off + hl, get8(b, nsh::NEXT_PROTO).unwrap_or(0));
    match next {
        1 => super::ipv4::decode(p, at, end),
        2 => super::ipv6::decode(p, at, end),
        3 => super::link::decode_eth(p, at, end),
        5 if super::link::decode_mpls(p, at, end) => {}
        _ => push_data(p, at, end),
    }
}

fn nsh_next_name(n: u8) -> &'static str {
    match n {
        1 => "IPv4",
        2 => "IPv6",
        3 => "Ethernet",
        4 => "NSH",
        5 => "MPLS",
        _ => "unknown",
    }
}

pub fn describe_nsh<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Nsh, base..base + hdr, format_args!("Network Service Header"));
    let mut f = Fields { v, base, avail: hdr };
    let w = get16(b, nsh::VER_TTL_LEN).unwrap_or(0);
    let r = nsh::VER_TTL_LEN;
    f.f("version", "Version", r.clone(), Some(Value::U((w >> 14).into())), None);
    f.f("Obit", "O Bit", r.clone(), Some(Value::U(((w >> 13) & 1).into())), Some(format_args!("(OAM)")));
    let m = format_args!("(critical metadata)");
    f.f("CBit", "C Bit", r.clone(), Some(Value::U(((w >> 12) & 1).into())), Some(m));
    f.f("ttl", "Time to live", r.clone(), Some(Value::U(((w >> 6) & 0x3f).into())), None);
    f.f("length", "Length", r, Some(Value::U((w & 0x3f).into())), Some(format_args!("(4-byte words)")));
    f.f("mdtype", "MD Type", nsh::MD_TYPE, get8(b, nsh::MD_TYPE).map(|x| Value::U(x.into())), None);
    let next = get8(b, nsh::NEXT_PROTO).unwrap_or(0);
    let m = format_args!("({})", nsh_next_name(next));
    f.f("nextproto", "Next Protocol", nsh::NEXT_PROTO, Some(Value::U(next.into())), Some(m));
    let sp = get32(b, nsh::SERVICE_PATH).unwrap_or(0);
    let m = format_args!("(service path identifier)");
    f.f("spi", "SPI", nsh::SPI, Some(Value::U((sp >> 8).into())), Some(m));
    f.f("si", "SI", nsh::SI, Some(Value::U((sp & 0xff).into())), Some(format_args!("(service index)")));
    if hdr > nsh::HEADER_LEN {
        let ctx = nsh::HEADER_LEN..hdr;
        f.f("contextheader", "Context Header", ctx.clone(), b.get(ctx).map(Value::Bytes), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::decode::field::check;
    use crate::source::LinkType;

    fn eth(ethertype: u16, body: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn ip_udp() -> Vec<u8> {
        let mut ip = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2).write(&mut ip, b"hi").unwrap();
        ip
    }

    fn protos(f: &[u8]) -> Vec<Proto> {
        decode(LinkType::ETHERNET, f, f.len() as u32).layers().iter().map(|l| l.proto).collect()
    }

    use Proto::*;

    /// Every cut of `f` (as a snaplen would make it) decodes and describes.
    fn cut_everywhere(f: &[u8]) {
        for n in 0..=f.len() {
            let p = decode(LinkType::ETHERNET, &f[..n], f.len() as u32);
            crate::decode::describe(&p, &crate::decode::Context::default(), &mut check::Seen::default());
        }
    }

    /// What describe shows of the layer `proto` of frame `f`, its first byte.
    fn tree_of(f: &[u8], proto: Proto) -> (check::Seen, usize) {
        let p = decode(LinkType::ETHERNET, f, f.len() as u32);
        let l = p.layer(proto).unwrap();
        let (b, hdr) = (&f[l.start..], l.header_range().len());
        let mut seen = check::Seen::default();
        match proto {
            Avsp => describe_avsp(&mut seen, b, l.start, hdr),
            Macsec => describe_macsec(&mut seen, b, l.start, hdr),
            _ => describe_nsh(&mut seen, b, l.start, hdr),
        }
        (seen, l.start)
    }

    #[test]
    fn avsp_field_tables_are_consistent_and_are_what_the_tree_highlights() {
        use avsp::*;
        let other = [("sub_type", SUB_TYPE), ("etype", ETHERTYPE)];
        check::table(HEADER_LEN, &other, &[]);
        for (ts, b, sec, ns) in [
            // Timestamp, version 0x10 (64-bit): seconds 5, nanoseconds 7; IPv4.
            (&TS64, vec![0, 1, 0, 0x10, 0, 0, 0, 5, 0, 0, 0, 7, 0x08, 0x00], "64sec", "64ns"),
            // Version 0x120 (48-bit, UTC).
            (&TS48, vec![0, 1, 0x01, 0x20, 0, 5, 0, 0, 0, 7, 0x08, 0x00], "48sec", "48ns"),
        ] {
            let fields = [
                ("sub_type", SUB_TYPE),
                ("ver", VERSION),
                (sec, ts.sec.clone()),
                (ns, ts.ns.clone()),
                ("etype", ts.ethertype.clone()),
            ];
            check::table(ts.ethertype.end, &fields, &[]);
            let mut b = b;
            b.extend_from_slice(&ip_udp());
            let (seen, at) = tree_of(&eth(0xd28b, &b), Avsp);
            check::tree(&seen, at, &fields, &[]);
        }
        // Subtype 2: no timestamp, the ethertype right after it.
        let mut b = vec![0, 2, 0x08, 0x00];
        b.extend_from_slice(&ip_udp());
        assert_eq!(protos(&eth(0xd28b, &b)), [Eth, Avsp, Ipv4, Udp, Data]);
        let (seen, at) = tree_of(&eth(0xd28b, &b), Avsp);
        check::tree(&seen, at, &other, &[]);
        // An unknown version: subtype and version only.
        let (seen, at) = tree_of(&eth(0xd28b, &[0, 1, 0, 0x30, 0, 0]), Avsp);
        check::tree(&seen, at, &[("sub_type", SUB_TYPE), ("ver", VERSION)], &[]);
    }

    #[test]
    fn macsec_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use macsec::*;
        let tci = ["TCI", "TCI.V", "TCI.ES", "TCI.SC", "TCI.SCB", "TCI.E", "TCI.C", "AN"];
        let mut fields: Vec<_> = tci.iter().map(|k| (*k, TCI_AN)).collect();
        fields.extend([("SL", SL), ("PN", PN)]);
        let short = fields.clone();
        fields.extend([("SCI.system_identifier", SCI_SYSTEM), ("SCI.port_identifier", SCI_PORT)]);
        let no_etype = fields.clone();
        fields.push(("etype", ethertype(SCI_HEADER_LEN)));
        check::table(SCI_HEADER_LEN + 2, &fields, &[]);
        // SC set, AN 1; short length 0; PN 1; SCI; IPv4; the ICV.
        let mut b = vec![0x21, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 1, 0x08, 0x00];
        b.extend_from_slice(&ip_udp());
        b.extend_from_slice(&[0xee; ICV_LEN]);
        let (seen, at) = tree_of(&eth(0x88e5, &b), Macsec);
        check::tree(&seen, at, &fields, &[]);
        // Encrypted: no ethertype; the ICV is shown at the frame's end.
        b[0] = 0x29;
        let f = eth(0x88e5, &b);
        let (seen, at) = tree_of(&f, Macsec);
        check::tree(&seen, at, &no_etype, &["ICV"]);
        assert!(seen.0.contains(&("ICV", f.len() - ICV_LEN..f.len())));
        // No SCI: the ethertype right after the packet number.
        let mut s = vec![0x00, 0, 0, 0, 0, 1, 0x08, 0x00];
        s.extend_from_slice(&ip_udp());
        s.extend_from_slice(&[0xee; ICV_LEN]);
        let mut short = short;
        short.push(("etype", ethertype(HEADER_LEN)));
        check::table(HEADER_LEN + 2, &short, &[]);
        let (seen, at) = tree_of(&eth(0x88e5, &s), Macsec);
        check::tree(&seen, at, &short, &[]);
    }

    #[test]
    fn nsh_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use nsh::*;
        let word = ["version", "Obit", "CBit", "ttl", "length"];
        let mut fields: Vec<_> = word.iter().map(|k| (*k, VER_TTL_LEN)).collect();
        fields.extend([("mdtype", MD_TYPE), ("nextproto", NEXT_PROTO), ("spi", SPI), ("si", SI)]);
        check::table(HEADER_LEN, &fields, &[]);
        check::table(HEADER_LEN, &[("length", LENGTH), ("service_path", SERVICE_PATH)], &[]);
        assert_eq!((LENGTH.end, BASE_LEN), (VER_TTL_LEN.end, NEXT_PROTO.end));
        // Length 2 words: no context headers; next protocol IPv4.
        let mut b = vec![0x0f, 0xc2, 0x01, 0x01, 0, 0, 1, 255];
        b.extend_from_slice(&ip_udp());
        let (seen, at) = tree_of(&eth(0x894f, &b), Nsh);
        check::tree(&seen, at, &fields, &[]);
        // 6 words: 16 bytes of context headers after the fixed ones.
        b[1] = 0xc6;
        b.splice(8..8, [0; 16]);
        let (seen, at) = tree_of(&eth(0x894f, &b), Nsh);
        check::tree(&seen, at, &fields, &["contextheader"]);
        assert!(seen.0.contains(&("contextheader", at + HEADER_LEN..at + 24)));
    }

    #[test]
    fn every_cut_decodes_and_describes() {
        let ip = ip_udp();
        let with = |h: &[u8], icv: bool| {
            let mut b = h.to_vec();
            b.extend_from_slice(&ip);
            if icv {
                b.extend_from_slice(&[0xee; 16]);
            }
            b
        };
        for (ethertype, b) in [
            (0xd28b, with(&[0, 1, 0, 0x10, 0, 0, 0, 5, 0, 0, 0, 7, 0x08, 0x00], false)),
            (0xd28b, with(&[0, 1, 0, 0x20, 0, 5, 0, 0, 0, 7, 0x08, 0x00], false)),
            (0xd28b, with(&[0, 1, 0, 0x30], false)),
            (0xd28b, with(&[0, 2, 0x08, 0x00], false)),
            (0x88e5, with(&[0x20, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 1, 0x08, 0x00], true)),
            (0x88e5, with(&[0x2c, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 1], true)),
            (0x88e5, with(&[0x00, 0, 0, 0, 0, 1, 0x08, 0x00], true)),
            (
                0x894f,
                with(&[0x0f, 0xc6, 0x01, 0x01, 0, 0, 1, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], false),
            ),
            // A length of 0 words: Wireshark still takes the 4-byte base header.
            (0x894f, with(&[0x0f, 0xc0, 0x01, 0x01, 0, 0, 1, 255], false)),
        ] {
            cut_everywhere(&eth(ethertype, &b));
        }
    }

    #[test]
    fn avsp_timestamps_then_the_ethertype() {
        // Subtype 1 (timestamp), version 0x10 (64-bit TAI): seconds, nanoseconds; IPv4.
        let mut b = vec![0, 1, 0, 0x10, 0, 0, 0, 5, 0, 0, 0, 7, 0x08, 0x00];
        b.extend_from_slice(&ip_udp());
        assert_eq!(protos(&eth(0xd28b, &b)), [Eth, Avsp, Ipv4, Udp, Data]);
        // Version 0x20 (48-bit): 2 bytes less of seconds.
        let mut b48 = vec![0, 1, 0, 0x20, 0, 5, 0, 0, 0, 7, 0x08, 0x00];
        b48.extend_from_slice(&ip_udp());
        let f = eth(0xd28b, &b48);
        assert_eq!(protos(&f), [Eth, Avsp, Ipv4, Udp, Data]);
        assert_eq!(decode(LinkType::ETHERNET, &f, 0).layer(Avsp).unwrap().header_range(), 14..26);
        // An unknown version: the rest is data.
        b[3] = 0x30;
        assert_eq!(protos(&eth(0xd28b, &b)), [Eth, Avsp, Data]);
        for n in 0..14 {
            let f = eth(0xd28b, &b48[..n]);
            let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
            assert!(n >= 12 || p.malformed.map(|m| m.proto) == Some(Avsp), "{n}");
        }
    }

    #[test]
    fn macsec_integrity_only_carries_the_packet_encrypted_is_data() {
        // TCI: SC set (an 8-byte SCI follows), AN 0; short length 0; PN 1; SCI.
        let mut b = vec![0x20, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 1, 0x08, 0x00];
        b.extend_from_slice(&ip_udp());
        b.extend_from_slice(&[0xee; 16]);
        let f = eth(0x88e5, &b);
        assert_eq!(protos(&f), [Eth, Macsec, Ipv4, Udp, Data]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert_eq!(p.payload(), b"hi", "the ICV is not payload");
        // Encrypted: data between the SecTAG and the ICV.
        b[0] = 0x2c;
        assert_eq!(protos(&eth(0x88e5, &b)), [Eth, Macsec, Data]);
        // No SCI: a 6-byte SecTAG.
        let mut short = vec![0x00, 0, 0, 0, 0, 1, 0x08, 0x00];
        short.extend_from_slice(&ip_udp());
        short.extend_from_slice(&[0xee; 16]);
        assert_eq!(protos(&eth(0x88e5, &short)), [Eth, Macsec, Ipv4, Udp, Data]);
        // Version 1, or too short for the ICV: not MACsec.
        short[0] = 0x80;
        assert_eq!(protos(&eth(0x88e5, &short)), [Eth, Data]);
        for n in 0..b.len() {
            let _ = protos(&eth(0x88e5, &b[..n]));
        }
    }

    #[test]
    fn nsh_next_protocols() {
        // Version 0, TTL 63, length 6 words; MD type 1, next IPv4; SPI 1, SI 255; context.
        let mut b = vec![0x0f, 0xc6, 0x01, 0x01, 0, 0, 1, 255];
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&ip_udp());
        let f = eth(0x894f, &b);
        assert_eq!(protos(&f), [Eth, Nsh, Ipv4, Udp, Data]);
        assert_eq!(decode(LinkType::ETHERNET, &f, 0).layer(Nsh).unwrap().header_range(), 14..38);
        b[3] = 9;
        assert_eq!(protos(&eth(0x894f, &b)), [Eth, Nsh, Data]);
        for n in 0..24 {
            let f = eth(0x894f, &b[..n]);
            let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
            assert_eq!(p.malformed.map(|m| m.proto), Some(Nsh), "{n}");
        }
    }
}
