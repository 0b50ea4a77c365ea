//! Headers that sit between an ethertype and the packet it names, each ending in what
//! comes next: Arista's timestamp (AVSP, ethertype 0xd28b), MACsec's SecTAG (IEEE
//! 802.1AE, 0x88e5: when the frame is neither encrypted nor changed, the original
//! ethertype follows), and the Network Service Header (RFC 8300, 0x894f).

use super::field::{Fields, Value, Visitor};
use super::{arr, be16, be32, decode_ethertype, push_data, Packet, Problem, Proto};

/// Arista's subtype for a timestamp, and its versions: 64-bit (seconds and
/// nanoseconds, 4 bytes each) or 48-bit (2 bytes of seconds), TAI or UTC.
const AVSP_TIMESTAMP: u16 = 1;

/// Bytes of timestamp for an AVSP version; None for a version Wireshark does not know.
fn avsp_ts_len(version: u16) -> Option<usize> {
    match version {
        0x10 | 0x110 => Some(8),
        0x20 | 0x120 => Some(6),
        _ => None,
    }
}

/// Header length of an AVSP header: subtype, [version, timestamp], ethertype.
fn avsp_header_len(b: &[u8]) -> Result<usize, usize> {
    let sub = be16(b, 0).ok_or(4usize)?;
    let hl = if sub == AVSP_TIMESTAMP {
        let ver = be16(b, 2).ok_or(12usize)?;
        // An unknown version: Wireshark stops before the ethertype (0 = no more).
        let Some(ts) = avsp_ts_len(ver) else { return Ok(4) };
        4 + ts + 2
    } else {
        4
    };
    if b.len() < hl {
        Err(hl)
    } else {
        Ok(hl)
    }
}

pub(crate) fn decode_avsp(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    match avsp_header_len(b) {
        Err(needed) => {
            p.push(Proto::Avsp, off, end, end);
            p.fail(Proto::Avsp, off, Problem::Truncated { needed, available: b.len() });
        }
        Ok(hl) => {
            let unknown_version = be16(b, 0) == Some(AVSP_TIMESTAMP) && avsp_ts_len(be16(b, 2).unwrap_or(0)).is_none();
            p.push(Proto::Avsp, off, off + hl, end);
            if unknown_version {
                return push_data(p, off + hl, end);
            }
            let t = be16(b, hl - 2).unwrap_or(0);
            decode_ethertype(p, t, off + hl, end)
        }
    }
}

pub fn describe_avsp<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Avsp, base..base + hdr, format_args!("Arista Vendor Specific Protocol"));
    let mut f = Fields { v, base, avail: hdr };
    let sub = be16(b, 0).unwrap_or(0);
    let sub_name = if sub == AVSP_TIMESTAMP { "(timestamp)" } else { "(unknown)" };
    f.f("sub_type", "Sub Type", 0..2, be16(b, 0).map(|x| Value::U(x.into())), Some(format_args!("{sub_name}")));
    let mut at = 2;
    if sub == AVSP_TIMESTAMP {
        let ver = be16(b, 2).unwrap_or(0);
        f.f("ver", "Version", 2..4, be16(b, 2).map(|x| Value::Hex(x.into(), 4)), None);
        match avsp_ts_len(ver) {
            Some(8) => {
                f.f("64sec", "Seconds", 4..8, be32(b, 4).map(|x| Value::U(x.into())), None);
                f.f("64ns", "Nanoseconds", 8..12, be32(b, 8).map(|x| Value::U(x.into())), None);
                at = 12;
            }
            Some(_) => {
                f.f("48sec", "Seconds", 4..6, be16(b, 4).map(|x| Value::U(x.into())), None);
                f.f("48ns", "Nanoseconds", 6..10, be32(b, 6).map(|x| Value::U(x.into())), None);
                at = 10;
            }
            None => return,
        }
    }
    let t = be16(b, at).unwrap_or(0);
    f.f("etype", "Type", at..at + 2, Some(Value::Hex(t.into(), 4)), Some(super::link::EthertypeMeaning(t).args()));
}

/// MACsec TCI bits (IEEE 802.1AE section 9.5): version, SCI present, encrypted, changed.
const TCI_V: u8 = 0x80;
const TCI_SC: u8 = 0x20;
const TCI_E: u8 = 0x08;
const TCI_C: u8 = 0x04;
/// The integrity check value after the data: 16 bytes for the default cipher suite.
const ICV_LEN: usize = 16;

/// SecTAG length (after the ethertype): TCI/AN, short length, packet number, and the
/// 8-byte SCI when the SC bit says so.
fn sectag_len(tci: u8) -> usize {
    if tci & TCI_SC != 0 {
        14
    } else {
        6
    }
}

/// Decodes a SecTAG; false (nothing pushed) when Wireshark would not take it as one
/// (a version other than 0, or no room for a byte of data and the ICV).
pub(crate) fn decode_macsec(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let b = &p.data[off..end];
    let Some(&tci) = b.first() else { return false };
    let tag = sectag_len(tci);
    if tci & TCI_V != 0 || b.len() <= tag + ICV_LEN {
        return false;
    }
    if tci & (TCI_E | TCI_C) != 0 {
        // Encrypted or changed: the data can't be read, the ICV is at the end.
        p.push(Proto::Macsec, off, off + tag, end);
        push_data(p, off + tag, end - ICV_LEN);
        return true;
    }
    // Integrity only: the original ethertype, then the packet (and the ICV as the
    // trailer, which the inner packet's own length leaves out).
    p.push(Proto::Macsec, off, off + tag + 2, end);
    let t = be16(p.data, off + tag).unwrap_or(0);
    decode_ethertype(p, t, off + tag + 2, end);
    true
}

pub fn describe_macsec<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Macsec, base..base + hdr, format_args!("802.1AE Security tag"));
    let mut f = Fields { v, base, avail: hdr };
    let tci = b.first().copied().unwrap_or(0);
    f.f("TCI", "TCI", 0..1, Some(Value::Hex((tci >> 2).into(), 2)), None);
    f.f("TCI.V", "VER", 0..1, Some(Value::U((tci >> 7).into())), None);
    f.f("TCI.ES", "ES", 0..1, Some(Value::Bool(tci & 0x40 != 0)), Some(format_args!("(end station)")));
    f.f("TCI.SC", "SC", 0..1, Some(Value::Bool(tci & TCI_SC != 0)), Some(format_args!("(SCI present)")));
    f.f("TCI.SCB", "SCB", 0..1, Some(Value::Bool(tci & 0x10 != 0)), None);
    f.f("TCI.E", "E", 0..1, Some(Value::Bool(tci & TCI_E != 0)), Some(format_args!("(encrypted)")));
    f.f("TCI.C", "C", 0..1, Some(Value::Bool(tci & TCI_C != 0)), Some(format_args!("(changed text)")));
    f.f("AN", "AN", 0..1, Some(Value::Hex((tci & 3).into(), 1)), Some(format_args!("(association number)")));
    f.f("SL", "Short length", 1..2, b.get(1).map(|x| Value::Hex((*x).into(), 2)), None);
    f.f("PN", "Packet number", 2..6, be32(b, 2).map(|x| Value::U(x.into())), None);
    let tag = sectag_len(tci);
    if tag == 14 {
        f.f("SCI.system_identifier", "System Identifier", 6..12, arr::<6>(b, 6).map(Value::Mac), None);
        f.f("SCI.port_identifier", "Port Identifier", 12..14, be16(b, 12).map(|x| Value::U(x.into())), None);
    }
    if hdr > tag {
        let t = be16(b, tag).unwrap_or(0);
        let m = super::link::EthertypeMeaning(t).args();
        f.f("etype", "Ethertype", tag..tag + 2, Some(Value::Hex(t.into(), 4)), Some(m));
    } else if b.len() >= ICV_LEN {
        // Not part of the header's range: the tree points at the frame's last bytes.
        let at = b.len() - ICV_LEN;
        v.field("ICV", "ICV", base + at..base + b.len(), Value::Bytes(&b[at..]), None);
    }
}

/// NSH (RFC 8300 section 2.2): version, O and C bits, TTL, length in 4-byte words;
/// MD type, next protocol; service path and index; then context headers.
pub(crate) fn decode_nsh(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    if b.len() < 8 {
        p.push(Proto::Nsh, off, end, end);
        return p.fail(Proto::Nsh, off, Problem::Truncated { needed: 8, available: b.len() });
    }
    // Wireshark reads at least the base header whatever the length says.
    let hl = (usize::from(b[1] & 0x3f) * 4).max(4);
    if b.len() < hl {
        p.push(Proto::Nsh, off, end, end);
        return p.fail(Proto::Nsh, off, Problem::Truncated { needed: hl, available: b.len() });
    }
    p.push(Proto::Nsh, off, off + hl, end);
    let (at, next) = (off + hl, b[3]);
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
    let w = be16(b, 0).unwrap_or(0);
    f.f("version", "Version", 0..2, Some(Value::U((w >> 14).into())), None);
    f.f("Obit", "O Bit", 0..2, Some(Value::U(((w >> 13) & 1).into())), Some(format_args!("(OAM)")));
    f.f("CBit", "C Bit", 0..2, Some(Value::U(((w >> 12) & 1).into())), Some(format_args!("(critical metadata)")));
    f.f("ttl", "Time to live", 0..2, Some(Value::U(((w >> 6) & 0x3f).into())), None);
    f.f("length", "Length", 0..2, Some(Value::U((w & 0x3f).into())), Some(format_args!("(4-byte words)")));
    f.f("mdtype", "MD Type", 2..3, b.get(2).map(|x| Value::U((*x).into())), None);
    let next = b.get(3).copied().unwrap_or(0);
    f.f(
        "nextproto",
        "Next Protocol",
        3..4,
        Some(Value::U(next.into())),
        Some(format_args!("({})", nsh_next_name(next))),
    );
    let sp = be32(b, 4).unwrap_or(0);
    f.f("spi", "SPI", 4..7, Some(Value::U((sp >> 8).into())), Some(format_args!("(service path identifier)")));
    f.f("si", "SI", 7..8, Some(Value::U((sp & 0xff).into())), Some(format_args!("(service index)")));
    if hdr > 8 {
        f.f("contextheader", "Context Header", 8..hdr, b.get(8..hdr).map(Value::Bytes), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
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
