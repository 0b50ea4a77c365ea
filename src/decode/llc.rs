//! IEEE 802.2 LLC (and SNAP, RFC 1042) and the links that carry it: 802.3 length
//! frames on Ethernet, Cisco ISL (a tagged Ethernet frame inside an 802.3 frame to
//! 01:00:0c:00:00:xx), FDDI (link type 10), Token Ring (link type 6), and Frame
//! Relay (link type 107: RFC 2427 NLPIDs, or Cisco's ethertype encapsulation).
//! Each hands on an ethertype or an IP packet where it names one.

use super::field::{Fields, Value, Visitor};
use super::link::{decode_eth, truncated};
use super::{arr, be16, decode_ethertype, push_data, Packet, Proto};

const SAP_SNAP: u8 = 0xaa;
const SAP_IP: u8 = 0x06;
/// SNAP organization codes: RFC 1042's encapsulated ethertype (0 and Cisco's
/// 0x0000f8 both), and IEEE 802.1's bridged frames (RFC 2427 section 5.2).
const OUI_ENCAP_ETHER: u32 = 0x000000;
const OUI_CISCO_90: u32 = 0x0000f8;
const OUI_IEEE_802_1: u32 = 0x0080c2;

/// The control field's length: 1 byte for unnumbered frames (low bits 11), 2 for
/// information and supervisory frames (LLC type 2 numbers them modulo 128).
fn control_len(c0: u8) -> usize {
    if c0 & 3 == 3 {
        1
    } else {
        2
    }
}

/// An information frame (I, or UI: control 0x03 without the poll bit), the only kind
/// whose payload Wireshark hands on by SAP or ethertype (`XDLC_IS_INFORMATION`).
fn is_information(c0: u8) -> bool {
    c0 & 1 == 0 || c0 == 0x03
}

/// LLC header length at `b`: SAPs, control, and the SNAP header when both SAPs say
/// SNAP; Err(needed) when the bytes end first.
fn llc_header_len(b: &[u8]) -> Result<usize, usize> {
    let c0 = *b.get(2).ok_or(3usize)?;
    let mut hl = 2 + control_len(c0);
    if b[0] == SAP_SNAP && b[1] == SAP_SNAP {
        hl += 5;
    }
    if b.len() < hl {
        Err(hl)
    } else {
        Ok(hl)
    }
}

pub(crate) fn decode_llc(p: &mut Packet<'_>, off: usize, end: usize) {
    if p.n >= super::MAX_LAYERS - 2 {
        return push_data(p, off, end);
    }
    let b = &p.data[off..end];
    let hl = match llc_header_len(b) {
        Ok(hl) => hl,
        Err(needed) => return truncated_to(p, Proto::Llc, off, end, needed),
    };
    p.push(Proto::Llc, off, off + hl, end);
    let (dsap, c0) = (b[0], b[2]);
    if dsap == SAP_SNAP && b[1] == SAP_SNAP {
        let oui = u32::from_be_bytes([0, b[hl - 5], b[hl - 4], b[hl - 3]]);
        let pid = be16(b, hl - 2).unwrap_or(0);
        return snap_payload(p, oui, pid, is_information(c0), off + hl, end);
    }
    if is_information(c0) && dsap == SAP_IP {
        // RFC 1042 predates SNAP's use for IP: SAP 6 is IP itself.
        return super::ipv4::decode(p, off + hl, end);
    }
    push_data(p, off + hl, end)
}

/// What a SNAP header's organization code and protocol id name (packet-llc.c's
/// `dissect_snap`): an ethertype, a bridged Ethernet frame, or data.
fn snap_payload(p: &mut Packet<'_>, oui: u32, pid: u16, info: bool, at: usize, end: usize) {
    match oui {
        OUI_ENCAP_ETHER | OUI_CISCO_90 if info => {
            p.unknown_ethertype = 0;
            decode_ethertype(p, pid, at, end)
        }
        // Bridged Ethernet, with its FCS (1) or without (7).
        OUI_IEEE_802_1 if pid == 0x0001 && end - at >= 18 => {
            p.trailer += 4;
            decode_eth(p, at, end - 4)
        }
        OUI_IEEE_802_1 if pid == 0x0007 => decode_eth(p, at, end),
        _ => push_data(p, at, end),
    }
}

fn truncated_to(p: &mut Packet<'_>, proto: Proto, off: usize, end: usize, needed: usize) {
    if end > off {
        p.push(proto, off, end, end);
    }
    p.fail(proto, off, super::Problem::Truncated { needed, available: end - off });
}

fn sap_name(s: u8) -> &'static str {
    match s & 0xfe {
        0x00 => "NULL LSAP",
        0x06 => "TCP/IP",
        0x42 => "Spanning Tree BPDU",
        0xaa => "SNAP",
        0xe0 => "NetWare",
        0xf0 => "NetBIOS",
        0xfe => "ISO Network Layer",
        _ => "unknown",
    }
}

fn oui_name(oui: u32) -> &'static str {
    match oui {
        OUI_ENCAP_ETHER => "Encapsulated Ethernet",
        OUI_CISCO_90 => "Cisco (90-compatible)",
        0x00000c => "Cisco Systems, Inc",
        OUI_IEEE_802_1 => "IEEE 802.1 Committee",
        _ => "unknown",
    }
}

pub fn describe_llc<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let dsap = b.first().copied().unwrap_or(0);
    let ssap = b.get(1).copied().unwrap_or(0);
    v.layer(Proto::Llc, base..base + hdr, format_args!("Logical-Link Control"));
    let mut f = Fields { v, base, avail: hdr };
    f.f("dsap", "DSAP", 0..1, Some(Value::Hex(dsap.into(), 2)), Some(format_args!("({})", sap_name(dsap))));
    f.f("ssap", "SSAP", 1..2, b.get(1).map(|x| Value::Hex((*x).into(), 2)), Some(format_args!("({})", sap_name(ssap))));
    let c0 = b.get(2).copied().unwrap_or(0);
    let clen = control_len(c0);
    let control = if clen == 1 { u16::from(c0) } else { b.get(3).map_or(0, |x| u16::from(*x) << 8 | u16::from(c0)) };
    let kind = match c0 & 3 {
        3 if c0 == 0x03 => "(U, func=UI: unnumbered information)",
        3 => "(U: unnumbered)",
        1 => "(S: supervisory)",
        _ => "(I: information)",
    };
    f.f(
        "control",
        "Control field",
        2..2 + clen,
        Some(Value::Hex(control.into(), 2 * clen as u8)),
        Some(format_args!("{kind}")),
    );
    if dsap == SAP_SNAP && ssap == SAP_SNAP {
        let at = 2 + clen;
        let oui = arr::<3>(b, at).map(|o| u32::from_be_bytes([0, o[0], o[1], o[2]]));
        if let Some(o) = oui {
            f.f(
                "oui",
                "Organization Code",
                at..at + 3,
                Some(Value::Hex(o.into(), 6)),
                Some(format_args!("({})", oui_name(o))),
            );
        }
        let pid = be16(b, at + 3);
        if matches!(oui, Some(OUI_ENCAP_ETHER | OUI_CISCO_90)) {
            let m = super::link::EthertypeMeaning(pid.unwrap_or(0)).args();
            f.f("type", "Type", at + 3..at + 5, pid.map(|x| Value::Hex(x.into(), 4)), Some(m));
        } else {
            f.f("pid", "Protocol ID", at + 3..at + 5, pid.map(|x| Value::Hex(x.into(), 4)), None);
        }
    }
}

/// Cisco ISL (Inter-Switch Link): a 26-byte header before a whole Ethernet frame
/// (and its FCS), recognised like Wireshark by the first 5 bytes of its destination.
pub const ISL_HDR: usize = 26;

pub(crate) fn is_isl(dst: &[u8]) -> bool {
    matches!(dst, [0x01 | 0x0c, 0x00, 0x0c, 0x00, 0x00, ..])
}

/// Decodes an ISL frame at `off` (its length field is an 802.3 one).
pub(crate) fn decode_isl(p: &mut Packet<'_>, off: usize, end: usize) {
    if end - off < ISL_HDR {
        return truncated(p, Proto::Isl, off, ISL_HDR);
    }
    let len = usize::from(be16(p.data, off + 12).unwrap_or(0));
    // The length counts from after itself, through the inner frame's FCS; 0 means
    // "the rest of the frame".
    let inner_end = if len == 0 { end } else { (off + 14 + len).min(end) };
    p.push(Proto::Isl, off, off + ISL_HDR, inner_end);
    let kind = p.data[off + 5] >> 4;
    if kind != 0 || (len != 0 && len < 12) || inner_end < off + ISL_HDR {
        // Token Ring, FDDI and ATM inside ISL are not decoded.
        return push_data(p, off + ISL_HDR, inner_end);
    }
    // The inner frame keeps its FCS: not part of what it carries.
    let fcs = if inner_end - (off + ISL_HDR) >= 14 + 4 { 4 } else { 0 };
    p.trailer += fcs + (end - inner_end);
    decode_eth(p, off + ISL_HDR, inner_end - fcs)
}

pub fn describe_isl<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    v.layer(Proto::Isl, base..base + ISL_HDR, format_args!("Cisco ISL"));
    let mut f = Fields { v, base, avail: b.len().min(ISL_HDR) };
    f.f("dst", "Destination", 0..6, arr::<6>(b, 0).map(Value::Mac), None);
    let t = b.get(5).copied().unwrap_or(0);
    let kind = match t >> 4 {
        0 => "(Ethernet)",
        1 => "(Token-Ring)",
        2 => "(FDDI)",
        3 => "(ATM)",
        _ => "(unknown)",
    };
    f.f("type", "Type", 5..6, Some(Value::U((t >> 4).into())), Some(format_args!("{kind}")));
    f.f("user", "User", 5..6, Some(Value::U((t & 0x0f).into())), None);
    f.f("src", "Source", 6..12, arr::<6>(b, 6).map(Value::Mac), None);
    f.f("len", "Length", 12..14, be16(b, 12).map(|x| Value::U(x.into())), None);
    f.f(
        "hsa",
        "HSA",
        17..20,
        arr::<3>(b, 17).map(|h| Value::Hex(u32::from_be_bytes([0, h[0], h[1], h[2]]).into(), 6)),
        None,
    );
    let vlan = be16(b, 20).unwrap_or(0);
    f.f("vlan_id", "VLAN ID", 20..22, Some(Value::U((vlan >> 1).into())), None);
    f.f("bpdu", "BPDU/CDP/VTP", 20..22, Some(Value::Bool(vlan & 1 == 1)), None);
    f.f("index", "Index", 22..24, be16(b, 22).map(|x| Value::U(x.into())), None);
    f.f("reserved", "Reserved", 24..26, be16(b, 24).map(|x| Value::Hex(x.into(), 4)), None);
}

/// FDDI: frame control, destination, source (ANSI X3.139); LLC follows in
/// asynchronous LLC frames (frame control 0x50-0x5f).
pub const FDDI_HDR: usize = 13;

pub(crate) fn decode_fddi(p: &mut Packet<'_>, end: usize) {
    if end < FDDI_HDR {
        return truncated(p, Proto::Fddi, 0, FDDI_HDR);
    }
    p.push(Proto::Fddi, 0, FDDI_HDR, end);
    match p.data[0] {
        0x50..=0x5f => decode_llc(p, FDDI_HDR, end),
        _ => push_data(p, FDDI_HDR, end),
    }
}

/// An address as FDDI sends it, each byte least significant bit first: libpcap on
/// Linux hands them over so (Wireshark's "bit-swapped" FDDI for link type 10).
fn bitswapped(b: &[u8], off: usize) -> Option<[u8; 6]> {
    arr::<6>(b, off).map(|m| m.map(u8::reverse_bits))
}

pub fn describe_fddi<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let (src, dst) = (bitswapped(b, 7), bitswapped(b, 1));
    v.layer(Proto::Fddi, base..base + FDDI_HDR, format_args!("Fiber Distributed Data Interface"));
    let mut f = Fields { v, base, avail: b.len().min(FDDI_HDR) };
    let fc = b.first().copied().unwrap_or(0);
    let kind = if (0x50..=0x5f).contains(&fc) { "(Async LLC)" } else { "(not LLC)" };
    f.f("fc", "Frame Control", 0..1, Some(Value::Hex(fc.into(), 2)), Some(format_args!("{kind}")));
    f.f("dst", "Destination", 1..7, dst.map(Value::Mac), Some(format_args!("(bit-swapped as captured)")));
    f.f("src", "Source", 7..13, src.map(Value::Mac), Some(format_args!("(bit-swapped as captured)")));
}

/// Token Ring (IEEE 802.5): access control, frame control, destination, source;
/// when the source's top bit says so, a routing information field (its length in
/// the low 5 bits of its first byte). LLC follows in LLC frames (frame control 01xxxxxx).
pub const TR_HDR: usize = 14;

fn tr_rif_len(b: &[u8]) -> usize {
    match (b.get(8), b.get(14)) {
        (Some(s), Some(r)) if s & 0x80 != 0 => usize::from(r & 0x1f),
        _ => 0,
    }
}

pub(crate) fn decode_tr(p: &mut Packet<'_>, end: usize) {
    if end < TR_HDR {
        return truncated(p, Proto::Tr, 0, TR_HDR);
    }
    let hl = TR_HDR + tr_rif_len(p.data);
    if end < hl {
        return truncated(p, Proto::Tr, 0, hl);
    }
    p.push(Proto::Tr, 0, hl, end);
    match p.data[1] >> 6 {
        1 => decode_llc(p, hl, end),
        _ => push_data(p, hl, end),
    }
}

pub fn describe_tr<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Tr, base..base + hdr, format_args!("Token-Ring"));
    let mut f = Fields { v, base, avail: hdr };
    f.f("ac", "Access Control", 0..1, b.first().map(|x| Value::Hex((*x).into(), 2)), None);
    let fc = b.get(1).copied().unwrap_or(0);
    let kind = if fc >> 6 == 1 { "(LLC frame)" } else { "(MAC frame)" };
    f.f("fc", "Frame Control", 1..2, Some(Value::Hex(fc.into(), 2)), Some(format_args!("{kind}")));
    f.f("dst", "Destination", 2..8, arr::<6>(b, 2).map(Value::Mac), None);
    // The top bit is the source-routed flag, not part of the address.
    let src = arr::<6>(b, 8).map(|mut m| {
        m[0] &= 0x7f;
        m
    });
    f.f("src", "Source", 8..14, src.map(Value::Mac), None);
    f.f("sr", "Source Routed", 8..9, b.get(8).map(|x| Value::Bool(x & 0x80 != 0)), None);
    if hdr > TR_HDR {
        f.f("rif_bytes", "RIF Bytes", 14..15, Some(Value::U((hdr - TR_HDR) as u64)), None);
    }
}

/// Frame Relay: a Q.922 address of 2 to 4 bytes (each byte's low bit, EA, ends it),
/// then either RFC 2427's UI control byte and an NLPID, or Cisco's ethertype.
fn fr_address_len(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    if first & 1 == 1 {
        // A bogus 1-byte address; Wireshark reads on after it.
        return Some(1);
    }
    let second = *b.get(1)?;
    if second & 1 == 1 {
        return Some(2);
    }
    let third = *b.get(2)?;
    if third & 1 == 1 {
        return Some(3);
    }
    // A 4-byte address, then (bogus) more until EA.
    let mut at = 3;
    while *b.get(at)? & 1 == 0 {
        at += 1;
    }
    Some(at + 1)
}

/// The DLCI of an address of `len` bytes (Q.922 section 3.3.6).
fn fr_dlci(b: &[u8], len: usize) -> u32 {
    if len < 2 {
        return 0;
    }
    let mut d = u32::from(b[0] >> 2) << 4 | u32::from(b[1] >> 4);
    if len >= 3 {
        if len >= 4 {
            d = d << 7 | u32::from(b[2] >> 1);
        }
        let last = b[len - 1];
        // DC set: the last byte is DL-CORE control, not DLCI bits.
        if last & 0x02 == 0 {
            d = d << 6 | u32::from(last >> 2);
        }
    }
    d
}

/// Ethertypes Wireshark's Cisco HDLC table knows (a Cisco-encapsulated frame is
/// recognised by one): those pktlab decodes, and the others it leaves as data.
fn is_chdlc_type(t: u16) -> bool {
    matches!(
        t,
        0x0800
            | 0x86dd
            | 0x8847
            | 0x8848
            | 0x6558
            | 0x80f3
            | 0x809b
            | 0x4242
            | 0x2000
            | 0x8035
            | 0x8038
            | 0x6003
            | 0x0600
            | 0x8137
            | 0xfefe
            | 0x0111
    )
}

/// NLPIDs (ISO/IEC TR 9577) some dissector takes on Frame Relay: IP, IPv6, SNAP,
/// Q.933, PPP, compressed data; and the OSI ones that include the NLPID in their header.
fn is_known_nlpid(n: u8) -> bool {
    matches!(n, 0xcc | 0x8e | 0x80 | 0x08 | 0xcf | 0xb0 | 0x81 | 0x00 | 0x82 | 0x83)
}

pub(crate) fn decode_fr(p: &mut Packet<'_>, end: usize) {
    let b = &p.data[..end];
    let Some(alen) = fr_address_len(b) else {
        return truncated(p, Proto::Fr, 0, b.len() + 1);
    };
    let Some(&ctrl) = b.get(alen) else {
        return truncated(p, Proto::Fr, 0, alen + 1);
    };
    let dlci = fr_dlci(b, alen);
    let mut frf32 = ctrl == 0x03;
    if !frf32 {
        if dlci == 0 {
            // LAPF signalling.
            p.push(Proto::Fr, 0, alen, end);
            return push_data(p, alen, end);
        }
        if let Some(t) = be16(b, alen).filter(|t| is_chdlc_type(*t)) {
            // Cisco's encapsulation: an ethertype right after the address.
            p.push(Proto::Fr, 0, alen + 2, end);
            return match t {
                0x6558 => decode_eth(p, alen + 2, end),
                _ => decode_ethertype(p, t, alen + 2, end),
            };
        }
        // RFC 2427 with a control field other than UI, if an NLPID follows it.
        let mut at = alen;
        if b.get(at) == Some(&0) {
            at += 1;
        }
        at += b.get(at).map_or(2, |c| control_len(*c));
        frf32 = b.get(at).is_some_and(|n| is_known_nlpid(*n));
        if !frf32 {
            // Raw Ethernet (with its FCS), if an ethertype or 802.3 length is where it goes.
            if let Some(t) = be16(b, alen + 12) {
                if t <= 1500 || super::ethertype_name(t).is_some() {
                    p.push(Proto::Fr, 0, alen, end);
                    if end - alen >= 18 {
                        p.trailer += 4;
                        return decode_eth(p, alen, end - 4);
                    }
                    return decode_eth(p, alen, end);
                }
            }
            p.push(Proto::Fr, 0, alen, end);
            return push_data(p, alen, end);
        }
    }
    // RFC 2427 section 4: control, an optional pad byte, the NLPID.
    let mut at = alen + control_len(ctrl);
    if b.get(at) == Some(&0) {
        at += 1;
    }
    let Some(&nlpid) = b.get(at) else {
        return truncated(p, Proto::Fr, 0, at + 1);
    };
    match nlpid {
        0xcc | 0x8e => {
            p.push(Proto::Fr, 0, at + 1, end);
            if nlpid == 0xcc {
                super::ipv4::decode(p, at + 1, end)
            } else {
                super::ipv6::decode(p, at + 1, end)
            }
        }
        0x80 => {
            if b.len() < at + 6 {
                return truncated(p, Proto::Fr, 0, at + 6);
            }
            p.push(Proto::Fr, 0, at + 6, end);
            let oui = u32::from_be_bytes([0, b[at + 1], b[at + 2], b[at + 3]]);
            let pid = be16(b, at + 4).unwrap_or(0);
            snap_payload(p, oui, pid, true, at + 6, end)
        }
        // The OSI protocols' headers begin with their NLPID.
        0x81..=0x83 => {
            p.push(Proto::Fr, 0, at, end);
            push_data(p, at, end)
        }
        _ => {
            p.push(Proto::Fr, 0, at + 1, end);
            push_data(p, at + 1, end)
        }
    }
}

pub fn describe_fr<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let alen = fr_address_len(b).unwrap_or(0).min(hdr);
    let dlci = fr_dlci(b, alen);
    v.layer(Proto::Fr, base..base + hdr, format_args!("Frame Relay, DLCI {dlci}"));
    let mut f = Fields { v, base, avail: hdr };
    if alen >= 2 {
        f.f("dlci", "DLCI", 0..alen, Some(Value::U(dlci.into())), None);
        let (b0, b1) = (b[0], b[1]);
        f.f("cr", "CR", 0..1, Some(Value::Bool(b0 & 0x02 != 0)), Some(format_args!("(command/response)")));
        f.f("fecn", "FECN", 1..2, Some(Value::Bool(b1 & 0x08 != 0)), Some(format_args!("(forward congestion)")));
        f.f("becn", "BECN", 1..2, Some(Value::Bool(b1 & 0x04 != 0)), Some(format_args!("(backward congestion)")));
        f.f("de", "DE", 1..2, Some(Value::Bool(b1 & 0x02 != 0)), Some(format_args!("(discard eligible)")));
    }
    if hdr <= alen {
        return;
    }
    let ctrl = b[alen];
    if ctrl != 0x03 && hdr == alen + 2 {
        f.f("chdlctype", "Type", alen..alen + 2, be16(b, alen).map(|x| Value::Hex(x.into(), 4)), None);
        return;
    }
    f.f("control", "Control Field", alen..alen + 1, Some(Value::Hex(ctrl.into(), 2)), None);
    let mut at = alen + control_len(ctrl);
    if b.get(at) == Some(&0) && at < hdr {
        f.f("nlpid", "NLPID", at..at + 1, Some(Value::Hex(0, 2)), Some(format_args!("(padding)")));
        at += 1;
    }
    if let Some(&n) = b.get(at).filter(|_| at < hdr) {
        let name = match n {
            0xcc => "(IP)",
            0x8e => "(IPv6)",
            0x80 => "(SNAP)",
            0xcf => "(PPP)",
            0x08 => "(Q.933)",
            _ => "",
        };
        f.f("nlpid", "NLPID", at..at + 1, Some(Value::Hex(n.into(), 2)), Some(format_args!("{name}")));
        if n == 0x80 {
            let oui = arr::<3>(b, at + 1).map(|o| u32::from_be_bytes([0, o[0], o[1], o[2]]));
            f.f("snap.oui", "Organization Code", at + 1..at + 4, oui.map(|o| Value::Hex(o.into(), 6)), None);
            f.f("snap.pid", "Protocol ID", at + 4..at + 6, be16(b, at + 4).map(|x| Value::Hex(x.into(), 4)), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::source::LinkType;
    use Proto::*;

    fn ip_udp() -> Vec<u8> {
        let mut ip = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(69, 2000).write(&mut ip, b"hi").unwrap();
        ip
    }

    fn protos(link: LinkType, f: &[u8]) -> Vec<Proto> {
        decode(link, f, f.len() as u32).layers().iter().map(|l| l.proto).collect()
    }

    /// SNAP for IPv4: DSAP, SSAP, UI, OUI 0, ethertype.
    const SNAP_IP: [u8; 8] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];

    #[test]
    fn llc_snap_in_an_802_3_frame_and_padding_after_it() {
        let mut f = vec![1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf];
        let body = [&SNAP_IP[..], &ip_udp()].concat();
        f.extend_from_slice(&(body.len() as u16).to_be_bytes());
        f.extend_from_slice(&body);
        f.extend_from_slice(&[0; 6]); // padding past the 802.3 length
        assert_eq!(protos(LinkType::ETHERNET, &f), [Eth, Llc, Ipv4, Udp, Data]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert_eq!(p.payload(), b"hi");
        assert_eq!(p.unknown_ethertype, 0);
        // Cut inside the SNAP header: malformed, no panic.
        for n in 14..22 {
            let p = decode(LinkType::ETHERNET, &f[..n], f.len() as u32);
            assert!(n == 14 || p.malformed.is_some(), "{n}");
        }
        // A non-SNAP LLC (spanning tree's SAP 0x42): LLC, then data.
        f[14..17].copy_from_slice(&[0x42, 0x42, 0x03]);
        assert_eq!(protos(LinkType::ETHERNET, &f), [Eth, Llc, Data]);
        // Type 0 is an Ethernet II type (Wireshark: Cisco MDS), not a length.
        let mut z = f.clone();
        z[12..14].copy_from_slice(&[0, 0]);
        assert_eq!(protos(LinkType::ETHERNET, &z), [Eth, Data]);
    }

    #[test]
    fn isl_carries_an_ethernet_frame_with_fcs() {
        // ISL: destination 01:00:0c:00:00 + type/user, source, length, LLC, HSA, VLAN, index, reserved.
        let mut inner = vec![2; 12];
        inner.extend_from_slice(&[0x08, 0x00]);
        inner.extend_from_slice(&ip_udp());
        inner.extend_from_slice(&[0xfc; 4]); // the inner frame's FCS
        let mut f = vec![0x01, 0, 0x0c, 0, 0, 0, 0, 0x19, 6, 0xea, 0xb8, 0x85];
        f.extend_from_slice(&((inner.len() + 12) as u16).to_be_bytes());
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0, 3, 0, 0, 0, 0]);
        f.extend_from_slice(&inner);
        f.extend_from_slice(&[0xfe; 4]); // the ISL frame's own CRC
        assert_eq!(protos(LinkType::ETHERNET, &f), [Isl, Eth, Ipv4, Udp, Data]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert_eq!(p.eth().and_then(|e| e.ethertype()), Some(0x0800));
        for n in 0..f.len() {
            let _ = decode(LinkType::ETHERNET, &f[..n], f.len() as u32);
        }
    }

    #[test]
    fn fddi_and_token_ring_carry_llc() {
        let mut fddi = vec![0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        fddi.extend_from_slice(&SNAP_IP);
        fddi.extend_from_slice(&ip_udp());
        assert_eq!(protos(LinkType::FDDI, &fddi), [Fddi, Llc, Ipv4, Udp, Data]);
        fddi[0] = 0x41; // SMT
        assert_eq!(protos(LinkType::FDDI, &fddi), [Fddi, Data]);
        // Token Ring: AC, FC (LLC), destination, source with the routed bit, a 2-byte RIF.
        let mut tr = vec![0x10, 0x40, 1, 2, 3, 4, 5, 6, 0x80, 2, 3, 4, 5, 6, 0x02, 0x00];
        tr.extend_from_slice(&SNAP_IP);
        tr.extend_from_slice(&ip_udp());
        assert_eq!(protos(LinkType::TOKEN_RING, &tr), [Tr, Llc, Ipv4, Udp, Data]);
        let p = decode(LinkType::TOKEN_RING, &tr, tr.len() as u32);
        assert_eq!(p.layer(Tr).unwrap().header_range(), 0..16);
        for n in 0..tr.len() {
            let _ = decode(LinkType::TOKEN_RING, &tr[..n], tr.len() as u32);
            let _ = decode(LinkType::FDDI, &fddi[..n.min(fddi.len())], fddi.len() as u32);
        }
    }

    #[test]
    fn frame_relay_nlpid_snap_and_cisco_encapsulations() {
        let ip = ip_udp();
        // DLCI 100 (2-byte address), UI, NLPID IP.
        let rfc = [&[0x18, 0x41, 0x03, 0xcc][..], &ip].concat();
        assert_eq!(protos(LinkType::FRELAY, &rfc), [Fr, Ipv4, Udp, Data]);
        assert_eq!(fr_dlci(&rfc, 2), 100);
        // UI, pad, SNAP, OUI 0, ARP.
        let arp = [0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1];
        let mut arp = arp.to_vec();
        arp.extend_from_slice(&[0; 20]);
        assert_eq!(protos(LinkType::FRELAY, &arp), [Fr, Arp]);
        // Cisco: a 3-byte address, then an ethertype.
        let cisco = [&[0x80, 0xea, 0x9d, 0x08, 0x00][..], &ip].concat();
        assert_eq!(protos(LinkType::FRELAY, &cisco), [Fr, Ipv4, Udp, Data]);
        for f in [&rfc, &arp, &cisco] {
            for n in 0..f.len() {
                let _ = decode(LinkType::FRELAY, &f[..n], f.len() as u32);
            }
        }
    }

    #[test]
    fn isl_inside_isl_stops_at_the_layer_limit() {
        // ISL headers nested as deep as a big frame allows: no stack overflow, no panic.
        let mut hdr = vec![0x01, 0, 0x0c, 0, 0, 0, 0, 0x19, 6, 0xea, 0xb8, 0x85, 0, 0];
        hdr.extend_from_slice(&[0; 12]);
        let f: Vec<u8> = hdr.iter().copied().cycle().take(26 * 5000).collect();
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert!(p.layers().len() <= crate::decode::MAX_LAYERS);
    }
}
