//! IEEE 802.2 LLC (and SNAP, RFC 1042) and the links that carry it: 802.3 length
//! frames on Ethernet, Cisco ISL (a tagged Ethernet frame inside an 802.3 frame to
//! 01:00:0c:00:00:xx), FDDI (link type 10), Token Ring (link type 6), and Frame
//! Relay (link type 107: RFC 2427 NLPIDs, or Cisco's ethertype encapsulation).
//! Each hands on an ethertype or an IP packet where it names one.

use super::field::{get, get16, get8, Fields, Value, Visitor};
use super::link::field::eth;
use super::link::{decode_eth, truncated};
use super::{decode_ethertype, push_data, Packet, Proto};

/// Header layouts, relative to each header's first byte; where a header's length
/// varies, a function gives a field's place from what comes before it.
pub(super) mod field {
    use crate::decode::field::Field;

    /// `r` counted from `start` instead of from the header's first byte: the parts
    /// of a header whose place depends on the lengths before them.
    pub const fn shifted(r: Field, start: usize) -> Field {
        start + r.start..start + r.end
    }

    /// The length of an HDLC-style control field (LLC's, and Q.922's in Frame Relay)
    /// by its first byte: 1 byte for unnumbered frames (low bits 11), 2 for
    /// information and supervisory frames (LLC type 2 numbers them modulo 128).
    pub const fn control_len(c0: u8) -> usize {
        if c0 & 3 == 3 {
            1
        } else {
            2
        }
    }

    /// IEEE 802.2 LLC: the SAPs, then the control field.
    pub mod llc {
        use crate::decode::field::Field;

        pub const DSAP: Field = 0..1;
        pub const SSAP: Field = 1..2;
        /// The control field's first byte, which gives its length.
        pub const CONTROL_FIRST: Field = SSAP.end..SSAP.end + 1;
        /// The control field whose first byte is `c0`; SNAP follows it when both
        /// SAPs say SNAP.
        pub const fn control(c0: u8) -> Field {
            CONTROL_FIRST.start..CONTROL_FIRST.start + super::control_len(c0)
        }
    }

    /// The SNAP header (RFC 1042): after LLC's control field, or after Frame
    /// Relay's NLPID 0x80 (RFC 2427 section 5).
    pub mod snap {
        use crate::decode::field::Field;

        pub const OUI: Field = 0..3;
        /// An ethertype when the organization code is 0 (or Cisco's 0x0000f8).
        pub const PID: Field = 3..5;
        pub const HEADER_LEN: usize = PID.end;
    }

    /// Cisco ISL (Inter-Switch Link): a 26-byte header before a whole Ethernet
    /// frame (and its FCS).
    pub mod isl {
        use crate::decode::field::Field;

        /// A 40-bit multicast address; the tree shows it as a MAC over the
        /// type/user byte too, as Wireshark does.
        pub const DST: Field = 0..6;
        /// Frame type (high nibble: 0 Ethernet, 1 Token Ring, 2 FDDI, 3 ATM) and user.
        pub const TYPE_USER: Field = 5..6;
        pub const SRC: Field = 6..12;
        /// Counts from after itself through the inner frame's FCS; 0 means "the
        /// rest of the frame".
        pub const LEN: Field = 12..14;
        /// High bits of the source address (0x00000c), after the LLC bytes aa aa 03.
        pub const HSA: Field = 17..20;
        /// VLAN id (high 15 bits) and the BPDU/CDP/VTP bit.
        pub const VLAN: Field = 20..22;
        pub const INDEX: Field = 22..24;
        pub const RESERVED: Field = 24..26;
        pub const HEADER_LEN: usize = RESERVED.end;
    }

    /// FDDI (ANSI X3.139): frame control, destination, source.
    pub mod fddi {
        use crate::decode::field::Field;

        /// 0x50-0x5f: asynchronous LLC frames.
        pub const FC: Field = 0..1;
        pub const DST: Field = 1..7;
        pub const SRC: Field = 7..13;
        pub const HEADER_LEN: usize = SRC.end;
    }

    /// Token Ring (IEEE 802.5): access control, frame control, destination, source,
    /// then the routing information field when the source's top bit says so.
    pub mod tr {
        use crate::decode::field::Field;

        pub const AC: Field = 0..1;
        /// 01xxxxxx: an LLC frame.
        pub const FC: Field = 1..2;
        pub const DST: Field = 2..8;
        pub const SRC: Field = 8..14;
        /// The byte holding the source-routed flag (the source's top bit).
        pub const SR: Field = SRC.start..SRC.start + 1;
        pub const HEADER_LEN: usize = SRC.end;
        /// The routing information field's first byte: its length in the low 5 bits.
        pub const RIF_LEN: Field = HEADER_LEN..HEADER_LEN + 1;
    }

    /// Frame Relay: a Q.922 address of 2 to 4 bytes (each byte's low bit, EA, ends
    /// it), then RFC 2427's control field, an optional pad byte and an NLPID (SNAP
    /// after NLPID 0x80); or Cisco's ethertype right after the address.
    pub mod fr {
        use crate::decode::field::Field;

        /// The DLCI's high 6 bits, C/R, EA.
        pub const ADDR0: Field = 0..1;
        /// The DLCI's next 4 bits, FECN, BECN, DE, EA.
        pub const ADDR1: Field = 1..2;
        /// In a 4-byte address, 7 more DLCI bits and EA.
        pub const ADDR2: Field = 2..3;
        /// An address of `len` bytes.
        pub const fn address(len: usize) -> Field {
            0..len
        }
        /// The last byte of a 3- or 4-byte address: the DLCI's low 6 bits, or
        /// DL-CORE control when its DC bit is set (Q.922 section 3.3.6).
        pub const fn address_last(len: usize) -> Field {
            len.saturating_sub(1)..len
        }
        /// The control field's first byte after an address of `alen` bytes.
        pub const fn control_first(alen: usize) -> Field {
            alen..alen + 1
        }
        /// The whole control field whose first byte is `c0`.
        pub const fn control(alen: usize, c0: u8) -> Field {
            alen..alen + super::control_len(c0)
        }
        /// Cisco's ethertype, in the control field's place.
        pub const fn chdlc_type(alen: usize) -> Field {
            alen..alen + 2
        }
        /// The byte at `at` after the control field: an NLPID, or 0 as padding
        /// before it (RFC 2427 section 4); SNAP follows NLPID 0x80.
        pub const fn nlpid(at: usize) -> Field {
            at..at + 1
        }
    }
}
use field::{control_len, fddi, fr, isl, llc, shifted, snap, tr};

const SAP_SNAP: u8 = 0xaa;
const SAP_IP: u8 = 0x06;
/// SNAP organization codes: RFC 1042's encapsulated ethertype (0 and Cisco's
/// 0x0000f8 both), and IEEE 802.1's bridged frames (RFC 2427 section 5.2).
const OUI_ENCAP_ETHER: u32 = 0x000000;
const OUI_CISCO_90: u32 = 0x0000f8;
const OUI_IEEE_802_1: u32 = 0x0080c2;
/// An Ethernet frame's FCS, which bridged and raw Ethernet frames keep.
const FCS_LEN: usize = 4;

/// An information frame (I, or UI: control 0x03 without the poll bit), the only kind
/// whose payload Wireshark hands on by SAP or ethertype (`XDLC_IS_INFORMATION`).
fn is_information(c0: u8) -> bool {
    c0 & 1 == 0 || c0 == 0x03
}

/// Both SAPs say SNAP.
fn is_snap(b: &[u8]) -> bool {
    get8(b, llc::DSAP) == Some(SAP_SNAP) && get8(b, llc::SSAP) == Some(SAP_SNAP)
}

/// The organization code and protocol id of a SNAP header at `b[at..]`.
fn snap_at(b: &[u8], at: usize) -> (Option<u32>, Option<u16>) {
    let oui = get::<3>(b, shifted(snap::OUI, at)).map(|o| u32::from_be_bytes([0, o[0], o[1], o[2]]));
    (oui, get16(b, shifted(snap::PID, at)))
}

/// LLC header length at `b`: SAPs, control, and the SNAP header when both SAPs say
/// SNAP; Err(needed) when the bytes end first.
fn llc_header_len(b: &[u8]) -> Result<usize, usize> {
    let c0 = get8(b, llc::CONTROL_FIRST).ok_or(llc::CONTROL_FIRST.end)?;
    let mut hl = llc::control(c0).end;
    if is_snap(b) {
        hl += snap::HEADER_LEN;
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
    let c0 = get8(b, llc::CONTROL_FIRST).unwrap_or(0);
    if is_snap(b) {
        let (oui, pid) = snap_at(b, llc::control(c0).end);
        return snap_payload(p, oui.unwrap_or(0), pid.unwrap_or(0), is_information(c0), off + hl, end);
    }
    if is_information(c0) && get8(b, llc::DSAP) == Some(SAP_IP) {
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
        OUI_IEEE_802_1 if pid == 0x0001 && end - at >= eth::HEADER_LEN + FCS_LEN => {
            p.trailer += FCS_LEN;
            decode_eth(p, at, end - FCS_LEN)
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
    let dsap = get8(b, llc::DSAP).unwrap_or(0);
    let ssap = get8(b, llc::SSAP).unwrap_or(0);
    v.layer(Proto::Llc, base..base + hdr, format_args!("Logical-Link Control"));
    let mut f = Fields { v, base, avail: hdr };
    f.f("dsap", "DSAP", llc::DSAP, Some(Value::Hex(dsap.into(), 2)), Some(format_args!("({})", sap_name(dsap))));
    f.f(
        "ssap",
        "SSAP",
        llc::SSAP,
        get8(b, llc::SSAP).map(|x| Value::Hex(x.into(), 2)),
        Some(format_args!("({})", sap_name(ssap))),
    );
    let c0 = get8(b, llc::CONTROL_FIRST).unwrap_or(0);
    let ctl = llc::control(c0);
    let clen = ctl.len();
    // As Wireshark's xdlc dissector reads it: a 2-byte control field is little-endian.
    let control = if clen == 1 { u16::from(c0) } else { get::<2>(b, ctl.clone()).map_or(0, u16::from_le_bytes) };
    let kind = match c0 & 3 {
        3 if c0 == 0x03 => "(U, func=UI: unnumbered information)",
        3 => "(U: unnumbered)",
        1 => "(S: supervisory)",
        _ => "(I: information)",
    };
    f.f(
        "control",
        "Control field",
        ctl.clone(),
        Some(Value::Hex(control.into(), 2 * clen as u8)),
        Some(format_args!("{kind}")),
    );
    if dsap == SAP_SNAP && ssap == SAP_SNAP {
        let at = ctl.end;
        let (oui, pid) = snap_at(b, at);
        if let Some(o) = oui {
            f.f(
                "oui",
                "Organization Code",
                shifted(snap::OUI, at),
                Some(Value::Hex(o.into(), 6)),
                Some(format_args!("({})", oui_name(o))),
            );
        }
        let pid_value = pid.map(|x| Value::Hex(x.into(), 4));
        if matches!(oui, Some(OUI_ENCAP_ETHER | OUI_CISCO_90)) {
            let m = super::link::EthertypeMeaning(pid.unwrap_or(0)).args();
            f.f("type", "Type", shifted(snap::PID, at), pid_value, Some(m));
        } else {
            f.f("pid", "Protocol ID", shifted(snap::PID, at), pid_value, None);
        }
    }
}

/// Recognises Cisco ISL like Wireshark, by the first 5 bytes of its destination.
pub(crate) fn is_isl(dst: &[u8]) -> bool {
    matches!(dst, [0x01 | 0x0c, 0x00, 0x0c, 0x00, 0x00, ..])
}

/// Decodes an ISL frame at `off` (its length field is an 802.3 one).
pub(crate) fn decode_isl(p: &mut Packet<'_>, off: usize, end: usize) {
    if end - off < isl::HEADER_LEN {
        return truncated(p, Proto::Isl, off, isl::HEADER_LEN);
    }
    let h = &p.data[off..end];
    let len = usize::from(get16(h, isl::LEN).unwrap_or(0));
    let kind = get8(h, isl::TYPE_USER).unwrap_or(0) >> 4;
    let body = off + isl::HEADER_LEN;
    let inner_end = if len == 0 { end } else { (off + isl::LEN.end + len).min(end) };
    p.push(Proto::Isl, off, body, inner_end);
    // A length must at least cover the rest of the ISL header.
    if kind != 0 || (len != 0 && len < isl::HEADER_LEN - isl::LEN.end) || inner_end < body {
        // Token Ring, FDDI and ATM inside ISL are not decoded.
        return push_data(p, body, inner_end);
    }
    // The inner frame keeps its FCS: not part of what it carries.
    let fcs = if inner_end - body >= eth::HEADER_LEN + FCS_LEN { FCS_LEN } else { 0 };
    p.trailer += fcs + (end - inner_end);
    decode_eth(p, body, inner_end - fcs)
}

pub fn describe_isl<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    v.layer(Proto::Isl, base..base + isl::HEADER_LEN, format_args!("Cisco ISL"));
    let mut f = Fields { v, base, avail: b.len().min(isl::HEADER_LEN) };
    f.f("dst", "Destination", isl::DST, get::<6>(b, isl::DST).map(Value::Mac), None);
    let t = get8(b, isl::TYPE_USER).unwrap_or(0);
    let kind = match t >> 4 {
        0 => "(Ethernet)",
        1 => "(Token-Ring)",
        2 => "(FDDI)",
        3 => "(ATM)",
        _ => "(unknown)",
    };
    f.f("type", "Type", isl::TYPE_USER, Some(Value::U((t >> 4).into())), Some(format_args!("{kind}")));
    f.f("user", "User", isl::TYPE_USER, Some(Value::U((t & 0x0f).into())), None);
    f.f("src", "Source", isl::SRC, get::<6>(b, isl::SRC).map(Value::Mac), None);
    f.f("len", "Length", isl::LEN, get16(b, isl::LEN).map(|x| Value::U(x.into())), None);
    f.f(
        "hsa",
        "HSA",
        isl::HSA,
        get::<3>(b, isl::HSA).map(|h| Value::Hex(u32::from_be_bytes([0, h[0], h[1], h[2]]).into(), 6)),
        None,
    );
    let vlan = get16(b, isl::VLAN).unwrap_or(0);
    f.f("vlan_id", "VLAN ID", isl::VLAN, Some(Value::U((vlan >> 1).into())), None);
    f.f("bpdu", "BPDU/CDP/VTP", isl::VLAN, Some(Value::Bool(vlan & 1 == 1)), None);
    f.f("index", "Index", isl::INDEX, get16(b, isl::INDEX).map(|x| Value::U(x.into())), None);
    f.f("reserved", "Reserved", isl::RESERVED, get16(b, isl::RESERVED).map(|x| Value::Hex(x.into(), 4)), None);
}

/// FDDI: LLC follows in asynchronous LLC frames (frame control 0x50-0x5f).
pub(crate) fn decode_fddi(p: &mut Packet<'_>, end: usize) {
    if end < fddi::HEADER_LEN {
        return truncated(p, Proto::Fddi, 0, fddi::HEADER_LEN);
    }
    p.push(Proto::Fddi, 0, fddi::HEADER_LEN, end);
    match get8(p.data, fddi::FC) {
        Some(0x50..=0x5f) => decode_llc(p, fddi::HEADER_LEN, end),
        _ => push_data(p, fddi::HEADER_LEN, end),
    }
}

/// An address as FDDI sends it, each byte least significant bit first: libpcap on
/// Linux hands them over so (Wireshark's "bit-swapped" FDDI for link type 10).
fn bitswapped(b: &[u8], r: super::field::Field) -> Option<[u8; 6]> {
    get::<6>(b, r).map(|m| m.map(u8::reverse_bits))
}

pub fn describe_fddi<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let (src, dst) = (bitswapped(b, fddi::SRC), bitswapped(b, fddi::DST));
    v.layer(Proto::Fddi, base..base + fddi::HEADER_LEN, format_args!("Fiber Distributed Data Interface"));
    let mut f = Fields { v, base, avail: b.len().min(fddi::HEADER_LEN) };
    let fc = get8(b, fddi::FC).unwrap_or(0);
    let kind = if (0x50..=0x5f).contains(&fc) { "(Async LLC)" } else { "(not LLC)" };
    f.f("fc", "Frame Control", fddi::FC, Some(Value::Hex(fc.into(), 2)), Some(format_args!("{kind}")));
    f.f("dst", "Destination", fddi::DST, dst.map(Value::Mac), Some(format_args!("(bit-swapped as captured)")));
    f.f("src", "Source", fddi::SRC, src.map(Value::Mac), Some(format_args!("(bit-swapped as captured)")));
}

/// The routing information field's length (0 when the frame is not source routed).
fn tr_rif_len(b: &[u8]) -> usize {
    match (get8(b, tr::SR), get8(b, tr::RIF_LEN)) {
        (Some(s), Some(r)) if s & 0x80 != 0 => usize::from(r & 0x1f),
        _ => 0,
    }
}

/// Token Ring: LLC follows in LLC frames (frame control 01xxxxxx).
pub(crate) fn decode_tr(p: &mut Packet<'_>, end: usize) {
    if end < tr::HEADER_LEN {
        return truncated(p, Proto::Tr, 0, tr::HEADER_LEN);
    }
    let hl = tr::HEADER_LEN + tr_rif_len(p.data);
    if end < hl {
        return truncated(p, Proto::Tr, 0, hl);
    }
    p.push(Proto::Tr, 0, hl, end);
    match get8(p.data, tr::FC).map(|fc| fc >> 6) {
        Some(1) => decode_llc(p, hl, end),
        _ => push_data(p, hl, end),
    }
}

pub fn describe_tr<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Tr, base..base + hdr, format_args!("Token-Ring"));
    let mut f = Fields { v, base, avail: hdr };
    f.f("ac", "Access Control", tr::AC, get8(b, tr::AC).map(|x| Value::Hex(x.into(), 2)), None);
    let fc = get8(b, tr::FC).unwrap_or(0);
    let kind = if fc >> 6 == 1 { "(LLC frame)" } else { "(MAC frame)" };
    f.f("fc", "Frame Control", tr::FC, Some(Value::Hex(fc.into(), 2)), Some(format_args!("{kind}")));
    f.f("dst", "Destination", tr::DST, get::<6>(b, tr::DST).map(Value::Mac), None);
    // The top bit is the source-routed flag, not part of the address.
    let src = get::<6>(b, tr::SRC).map(|mut m| {
        m[0] &= 0x7f;
        m
    });
    f.f("src", "Source", tr::SRC, src.map(Value::Mac), None);
    f.f("sr", "Source Routed", tr::SR, get8(b, tr::SR).map(|x| Value::Bool(x & 0x80 != 0)), None);
    if hdr > tr::HEADER_LEN {
        f.f("rif_bytes", "RIF Bytes", tr::RIF_LEN, Some(Value::U((hdr - tr::HEADER_LEN) as u64)), None);
    }
}

/// The Frame Relay address's length, by its EA bits; `None` when the bytes end first.
fn fr_address_len(b: &[u8]) -> Option<usize> {
    if get8(b, fr::ADDR0)? & 1 == 1 {
        // A bogus 1-byte address; Wireshark reads on after it.
        return Some(1);
    }
    if get8(b, fr::ADDR1)? & 1 == 1 {
        return Some(2);
    }
    if get8(b, fr::ADDR2)? & 1 == 1 {
        return Some(3);
    }
    // A 4-byte address, then (bogus) more until EA.
    let mut at = fr::ADDR2.end;
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
    let byte = |r| u32::from(get8(b, r).unwrap_or(0));
    let mut d = (byte(fr::ADDR0) >> 2) << 4 | byte(fr::ADDR1) >> 4;
    if len >= 3 {
        if len >= 4 {
            d = d << 7 | byte(fr::ADDR2) >> 1;
        }
        let last = byte(fr::address_last(len));
        // DC set: the last byte is DL-CORE control, not DLCI bits.
        if last & 0x02 == 0 {
            d = d << 6 | last >> 2;
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
    let Some(ctrl) = get8(b, fr::control_first(alen)) else {
        return truncated(p, Proto::Fr, 0, fr::control_first(alen).end);
    };
    let dlci = fr_dlci(b, alen);
    let mut frf32 = ctrl == 0x03;
    if !frf32 {
        if dlci == 0 {
            // LAPF signalling.
            p.push(Proto::Fr, 0, alen, end);
            return push_data(p, alen, end);
        }
        if let Some(t) = get16(b, fr::chdlc_type(alen)).filter(|t| is_chdlc_type(*t)) {
            // Cisco's encapsulation: an ethertype right after the address.
            let body = fr::chdlc_type(alen).end;
            p.push(Proto::Fr, 0, body, end);
            return match t {
                0x6558 => decode_eth(p, body, end),
                _ => decode_ethertype(p, t, body, end),
            };
        }
        // RFC 2427 with a control field other than UI, if an NLPID follows it.
        let mut at = alen;
        if get8(b, fr::control_first(at)) == Some(0) {
            at = fr::control_first(at).end;
        }
        at += get8(b, fr::control_first(at)).map_or(2, control_len);
        frf32 = get8(b, fr::nlpid(at)).is_some_and(is_known_nlpid);
        if !frf32 {
            // Raw Ethernet (with its FCS), if an ethertype or 802.3 length is where it goes.
            if let Some(t) = get16(b, shifted(eth::ETHERTYPE, alen)) {
                if t <= 1500 || super::ethertype_name(t).is_some() {
                    p.push(Proto::Fr, 0, alen, end);
                    if end - alen >= eth::HEADER_LEN + FCS_LEN {
                        p.trailer += FCS_LEN;
                        return decode_eth(p, alen, end - FCS_LEN);
                    }
                    return decode_eth(p, alen, end);
                }
            }
            p.push(Proto::Fr, 0, alen, end);
            return push_data(p, alen, end);
        }
    }
    // RFC 2427 section 4: control, an optional pad byte, the NLPID.
    let mut at = fr::control(alen, ctrl).end;
    if get8(b, fr::nlpid(at)) == Some(0) {
        at = fr::nlpid(at).end;
    }
    let nl = fr::nlpid(at);
    let Some(nlpid) = get8(b, nl.clone()) else {
        return truncated(p, Proto::Fr, 0, nl.end);
    };
    match nlpid {
        0xcc | 0x8e => {
            p.push(Proto::Fr, 0, nl.end, end);
            if nlpid == 0xcc {
                super::ipv4::decode(p, nl.end, end)
            } else {
                super::ipv6::decode(p, nl.end, end)
            }
        }
        0x80 => {
            let body = nl.end + snap::HEADER_LEN;
            if b.len() < body {
                return truncated(p, Proto::Fr, 0, body);
            }
            p.push(Proto::Fr, 0, body, end);
            let (oui, pid) = snap_at(b, nl.end);
            snap_payload(p, oui.unwrap_or(0), pid.unwrap_or(0), true, body, end)
        }
        // The OSI protocols' headers begin with their NLPID.
        0x81..=0x83 => {
            p.push(Proto::Fr, 0, nl.start, end);
            push_data(p, nl.start, end)
        }
        _ => {
            p.push(Proto::Fr, 0, nl.end, end);
            push_data(p, nl.end, end)
        }
    }
}

pub fn describe_fr<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let alen = fr_address_len(b).unwrap_or(0).min(hdr);
    let dlci = fr_dlci(b, alen);
    v.layer(Proto::Fr, base..base + hdr, format_args!("Frame Relay, DLCI {dlci}"));
    let mut f = Fields { v, base, avail: hdr };
    if alen >= 2 {
        f.f("dlci", "DLCI", fr::address(alen), Some(Value::U(dlci.into())), None);
        let (b0, b1) = (get8(b, fr::ADDR0).unwrap_or(0), get8(b, fr::ADDR1).unwrap_or(0));
        f.f("cr", "CR", fr::ADDR0, Some(Value::Bool(b0 & 0x02 != 0)), Some(format_args!("(command/response)")));
        f.f("fecn", "FECN", fr::ADDR1, Some(Value::Bool(b1 & 0x08 != 0)), Some(format_args!("(forward congestion)")));
        f.f("becn", "BECN", fr::ADDR1, Some(Value::Bool(b1 & 0x04 != 0)), Some(format_args!("(backward congestion)")));
        f.f("de", "DE", fr::ADDR1, Some(Value::Bool(b1 & 0x02 != 0)), Some(format_args!("(discard eligible)")));
    }
    if hdr <= alen {
        return;
    }
    // A header shorter than what its address promised (a truncated frame): nothing more to show.
    let Some(ctrl) = get8(b, fr::control_first(alen)) else {
        return;
    };
    if ctrl != 0x03 && hdr == fr::chdlc_type(alen).end {
        let t = get16(b, fr::chdlc_type(alen));
        f.f("chdlctype", "Type", fr::chdlc_type(alen), t.map(|x| Value::Hex(x.into(), 4)), None);
        return;
    }
    f.f("control", "Control Field", fr::control_first(alen), Some(Value::Hex(ctrl.into(), 2)), None);
    let mut at = fr::control(alen, ctrl).end;
    if get8(b, fr::nlpid(at)) == Some(0) && at < hdr {
        f.f("nlpid", "NLPID", fr::nlpid(at), Some(Value::Hex(0, 2)), Some(format_args!("(padding)")));
        at = fr::nlpid(at).end;
    }
    if let Some(n) = get8(b, fr::nlpid(at)).filter(|_| at < hdr) {
        let name = match n {
            0xcc => "(IP)",
            0x8e => "(IPv6)",
            0x80 => "(SNAP)",
            0xcf => "(PPP)",
            0x08 => "(Q.933)",
            _ => "",
        };
        f.f("nlpid", "NLPID", fr::nlpid(at), Some(Value::Hex(n.into(), 2)), Some(format_args!("{name}")));
        if n == 0x80 {
            let s = fr::nlpid(at).end;
            let (oui, pid) = snap_at(b, s);
            f.f("snap.oui", "Organization Code", shifted(snap::OUI, s), oui.map(|o| Value::Hex(o.into(), 6)), None);
            f.f("snap.pid", "Protocol ID", shifted(snap::PID, s), pid.map(|x| Value::Hex(x.into(), 4)), None);
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

    /// An ISL frame carrying Ethernet and IPv4/UDP, with both FCSs.
    fn isl_frame() -> Vec<u8> {
        let mut inner = vec![2; 12];
        inner.extend_from_slice(&[0x08, 0x00]);
        inner.extend_from_slice(&ip_udp());
        inner.extend_from_slice(&[0xfc; 4]); // the inner frame's FCS
        let mut f = vec![0x01, 0, 0x0c, 0, 0, 0, 0, 0x19, 6, 0xea, 0xb8, 0x85];
        f.extend_from_slice(&((inner.len() + 12) as u16).to_be_bytes());
        // LLC aa aa 03, HSA 00:00:0c, VLAN 3 with the BPDU bit, index, reserved.
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0, 0x07, 0, 0, 0, 0]);
        f.extend_from_slice(&inner);
        f.extend_from_slice(&[0xfe; 4]); // the ISL frame's own CRC
        f
    }

    /// Token Ring, source routed with a 2-byte RIF, LLC/SNAP, IPv4/UDP.
    fn tr_frame() -> Vec<u8> {
        let mut tr = vec![0x10, 0x40, 1, 2, 3, 4, 5, 6, 0x80, 2, 3, 4, 5, 6, 0x02, 0x00];
        tr.extend_from_slice(&SNAP_IP);
        tr.extend_from_slice(&ip_udp());
        tr
    }

    #[test]
    fn llc_and_snap_field_tables_are_consistent_and_are_what_the_tree_highlights() {
        use crate::decode::field::check;
        check::table(snap::HEADER_LEN, &[("oui", snap::OUI), ("pid", snap::PID)], &[]);
        // UI (1-byte control), then SNAP at byte 3.
        let ui = llc::control(0x03);
        let fields = [
            ("dsap", llc::DSAP),
            ("ssap", llc::SSAP),
            ("control", ui.clone()),
            ("oui", shifted(snap::OUI, ui.end)),
            ("type", shifted(snap::PID, ui.end)),
        ];
        check::table(SNAP_IP.len(), &fields, &[]);
        let mut seen = check::Seen::default();
        describe_llc(&mut seen, &SNAP_IP, 14, SNAP_IP.len());
        check::tree(&seen, 14, &fields, &[]);
        assert_eq!(snap_at(&SNAP_IP, ui.end), (Some(0), Some(0x0800)));
        // An I frame (2-byte control, N(S) 0, N(R) 1) between spanning tree SAPs.
        let i = [0x42, 0x42, 0x00, 0x02];
        assert_eq!(llc_header_len(&i), Ok(4));
        let fields = [("dsap", llc::DSAP), ("ssap", llc::SSAP), ("control", llc::control(0x00))];
        check::table(4, &fields, &[]);
        let mut seen = check::Seen::default();
        describe_llc(&mut seen, &i, 0, 4);
        check::tree(&seen, 0, &fields, &[]);
        assert_eq!((llc_header_len(&i[..2]), llc_header_len(&SNAP_IP[..7])), (Err(3), Err(8)));
    }

    #[test]
    fn isl_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use crate::decode::field::check;
        let fields = [
            ("dst", isl::DST),
            ("type", isl::TYPE_USER),
            ("user", isl::TYPE_USER),
            ("src", isl::SRC),
            ("len", isl::LEN),
            ("hsa", isl::HSA),
            ("vlan_id", isl::VLAN),
            ("bpdu", isl::VLAN),
            ("index", isl::INDEX),
            ("reserved", isl::RESERVED),
        ];
        // The destination's last byte is the type/user byte.
        check::table(isl::HEADER_LEN, &fields, &[isl::DST, isl::TYPE_USER]);
        let f = isl_frame();
        assert!(is_isl(&f[isl::DST]));
        let mut seen = check::Seen::default();
        describe_isl(&mut seen, &f, 0);
        check::tree(&seen, 0, &fields, &[]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert_eq!(p.layer(Isl).unwrap().header_range(), 0..isl::HEADER_LEN);
        assert_eq!(p.trailer, 8);
    }

    #[test]
    fn fddi_and_token_ring_field_tables_are_consistent_and_are_what_the_tree_highlights() {
        use crate::decode::field::check;
        let fields = [("fc", fddi::FC), ("dst", fddi::DST), ("src", fddi::SRC)];
        check::table(fddi::HEADER_LEN, &fields, &[]);
        let fddi = [0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let mut seen = check::Seen::default();
        describe_fddi(&mut seen, &fddi, 0);
        check::tree(&seen, 0, &fields, &[]);
        assert_eq!(bitswapped(&fddi, fddi::DST), Some([0x80, 0x40, 0xc0, 0x20, 0xa0, 0x60]));

        let fields = [
            ("ac", tr::AC),
            ("fc", tr::FC),
            ("dst", tr::DST),
            ("src", tr::SRC),
            ("sr", tr::SR),
            ("rif_bytes", tr::RIF_LEN),
        ];
        // The source-routed flag is the source's top bit.
        check::table(tr::RIF_LEN.end, &fields, &[tr::SRC, tr::SR]);
        let f = tr_frame();
        assert_eq!(tr_rif_len(&f), 2);
        let mut seen = check::Seen::default();
        describe_tr(&mut seen, &f, 0, tr::HEADER_LEN + 2);
        check::tree(&seen, 0, &fields, &[]);
        // Not source routed: no RIF, whatever byte 14 holds.
        let mut g = f.clone();
        g[tr::SR.start] &= 0x7f;
        assert_eq!(tr_rif_len(&g), 0);
        let mut seen = check::Seen::default();
        describe_tr(&mut seen, &g, 0, tr::HEADER_LEN);
        check::tree(&seen, 0, &fields[..5], &[]);
    }

    #[test]
    fn frame_relay_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use crate::decode::field::check;
        let addr =
            [("dlci", fr::address(2)), ("cr", fr::ADDR0), ("fecn", fr::ADDR1), ("becn", fr::ADDR1), ("de", fr::ADDR1)];
        let bits = [fr::address(2), fr::ADDR0, fr::ADDR1];
        // DLCI 100, UI, NLPID IP.
        let rfc = [0x18, 0x41, 0x03, 0xcc];
        let mut fields = addr.to_vec();
        fields.extend([("control", fr::control_first(2)), ("nlpid", fr::nlpid(3))]);
        check::table(rfc.len(), &fields, &bits);
        let mut seen = check::Seen::default();
        describe_fr(&mut seen, &rfc, 0, rfc.len());
        check::tree(&seen, 0, &fields, &[]);
        // UI, pad, NLPID SNAP, OUI 0, ARP: the pad and the NLPID share a key.
        let snap = [0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x06];
        let mut seen = check::Seen::default();
        describe_fr(&mut seen, &snap, 0, snap.len());
        let mut want = addr.to_vec();
        let s = fr::nlpid(4).end;
        want.extend([
            ("control", fr::control_first(2)),
            ("nlpid", fr::nlpid(3)),
            ("nlpid", fr::nlpid(4)),
            ("snap.oui", shifted(snap::OUI, s)),
            ("snap.pid", shifted(snap::PID, s)),
        ]);
        assert_eq!(seen.0, want);
        assert_eq!(snap_at(&snap, s), (Some(0), Some(0x0806)));
        // Cisco: a 3-byte address, then an ethertype.
        let cisco = [0x80, 0xea, 0x9d, 0x08, 0x00];
        assert_eq!(fr_address_len(&cisco), Some(3));
        let fields = [
            ("dlci", fr::address(3)),
            ("cr", fr::ADDR0),
            ("fecn", fr::ADDR1),
            ("becn", fr::ADDR1),
            ("de", fr::ADDR1),
            ("chdlctype", fr::chdlc_type(3)),
        ];
        check::table(cisco.len(), &fields, &[fr::address(3), fr::ADDR0, fr::ADDR1]);
        let mut seen = check::Seen::default();
        describe_fr(&mut seen, &cisco, 0, cisco.len());
        check::tree(&seen, 0, &fields, &[]);
        // The DLCI's bits: 6 from the first byte, 4 from the second, 6 from the last
        // of a 3-byte address; 7 more from the third of a 4-byte one.
        assert_eq!(fr_dlci(&cisco, 3), (0x20 << 10) | (0x0e << 6) | 0x27);
        assert_eq!(fr_dlci(&[0x80, 0xea, 0x9c, 0x9d], 4), ((0x20 << 4 | 0x0e) << 7 | 0x4e) << 6 | 0x27);
        // DC set: the last byte is DL-CORE control, not DLCI bits.
        assert_eq!(fr_dlci(&[0x80, 0xea, 0x9f], 3), 0x20 << 4 | 0x0e);
    }

    /// Frames of each link type here, and the describe function of their first header.
    fn link_frames() -> Vec<(LinkType, Vec<u8>)> {
        let ip = ip_udp();
        let llc_8023 = |llc: &[u8]| {
            let mut f = vec![1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf];
            let body = [llc, &ip].concat();
            f.extend_from_slice(&(body.len() as u16).to_be_bytes());
            f.extend_from_slice(&body);
            f
        };
        let mut fddi = vec![0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        fddi.extend_from_slice(&SNAP_IP);
        fddi.extend_from_slice(&ip);
        let mut isl_len0 = isl_frame();
        isl_len0[isl::LEN].copy_from_slice(&[0, 0]);
        // Raw Ethernet (with FCS) after a 2-byte address.
        let mut fr_eth = vec![0x18, 0x41];
        fr_eth.extend_from_slice(&[2; 12]);
        fr_eth.extend_from_slice(&[0x08, 0x00]);
        fr_eth.extend_from_slice(&ip);
        fr_eth.extend_from_slice(&[0xfc; 4]);
        vec![
            (LinkType::ETHERNET, llc_8023(&SNAP_IP)),
            (LinkType::ETHERNET, llc_8023(&[0x06, 0x06, 0x03])),
            (LinkType::ETHERNET, llc_8023(&[0x42, 0x42, 0x00, 0x02])),
            // Bridged Ethernet with its FCS inside SNAP (OUI 00:80:c2, PID 1).
            (
                LinkType::ETHERNET,
                llc_8023(&[0xaa, 0xaa, 0x03, 0x00, 0x80, 0xc2, 0, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 0x08, 0x00]),
            ),
            (LinkType::ETHERNET, isl_frame()),
            (LinkType::ETHERNET, isl_len0),
            (LinkType::FDDI, fddi),
            (LinkType::TOKEN_RING, tr_frame()),
            (LinkType::FRELAY, [&[0x18, 0x41, 0x03, 0xcc][..], &ip].concat()),
            (LinkType::FRELAY, [&[0x18, 0x41, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00][..], &ip].concat()),
            (LinkType::FRELAY, [&[0x80, 0xea, 0x9d, 0x08, 0x00][..], &ip].concat()),
            // A 4-byte address, a 2-byte I-frame control, NLPID IP.
            (LinkType::FRELAY, [&[0x80, 0xea, 0x9c, 0x9d, 0x02, 0x00, 0xcc][..], &ip].concat()),
            // Controls other than UI before NLPID IP: supervisory, and an I frame
            // numbered 0 (read as a pad, then UI); and an OSI NLPID.
            (LinkType::FRELAY, [&[0x18, 0x41, 0x01, 0x00, 0xcc][..], &ip].concat()),
            (LinkType::FRELAY, [&[0x18, 0x41, 0x00, 0x03, 0xcc][..], &ip].concat()),
            (LinkType::FRELAY, [&[0x18, 0x41, 0x03, 0x81, 0x01, 0x02][..], &ip].concat()),
            (LinkType::FRELAY, fr_eth),
            // LAPF signalling (DLCI 0) and a bogus 1-byte address.
            (LinkType::FRELAY, vec![0x00, 0x01, 0x00, 0x01, 0x02]),
            (LinkType::FRELAY, vec![0x01, 0x03, 0xcc, 0x45]),
        ]
    }

    #[test]
    fn each_link_type_cut_at_every_length_decodes_and_describes_without_panic() {
        use crate::decode::field::check::Seen;
        for (link, f) in link_frames() {
            // The whole frame decodes past its link header.
            assert!(decode(link, &f, f.len() as u32).layers().len() >= 2, "{link:?} {f:02x?}");
            for n in 0..=f.len() {
                let cut = &f[..n];
                let p = decode(link, cut, f.len() as u32);
                crate::decode::describe(&p, &crate::decode::Context::default(), &mut Seen::default());
                // Each describe on any bytes with any header length, even one longer
                // than the bytes (a layer cut short).
                for hdr in 0..=n + 8 {
                    let mut seen = Seen::default();
                    describe_llc(&mut seen, cut, 0, hdr);
                    describe_tr(&mut seen, cut, 0, hdr);
                    describe_fr(&mut seen, cut, 0, hdr);
                }
                describe_isl(&mut Seen::default(), cut, 0);
                describe_fddi(&mut Seen::default(), cut, 0);
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
