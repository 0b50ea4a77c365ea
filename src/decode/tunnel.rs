//! Tunnels whose payload is a whole packet: GTP-U (3GPP TS 29.281, UDP port 2152,
//! mobile networks: an IP packet inside), VXLAN (RFC 7348, UDP port 4789: an
//! Ethernet frame inside), Geneve (RFC 8926, UDP port 6081: options, then a frame
//! named by an ethertype) and PIM Register messages (RFC 7761 section 4.9, IP
//! protocol 103: a router's multicast packet, whole, to the rendezvous point) and
//! GRE (RFC 2784/2890, IP protocol 47, and PPTP's version 1 of RFC 2637 with PPP
//! inside: a packet or frame named by an ethertype), and Teredo (RFC 4380, UDP port
//! 3544: IPv6 for hosts behind IPv4 NATs).
//! Decoding goes on into the inner packet, so the connection tracker and filters see
//! the TCP a tunnel carries, as tshark does.

use super::field::{get16, get32, get8, Fields, Value, Visitor};
use super::{push_data, Packet, Problem, Proto};

/// Header layouts, relative to each header's first byte.
mod field {
    /// VXLAN (RFC 7348 section 5): flags (the I bit: a VNI is there) and reserved
    /// bits, the 24-bit VNI, a reserved byte, then an Ethernet frame.
    pub mod vxlan {
        use crate::decode::field::Field;

        /// As Wireshark shows them: the flags byte and the first reserved byte.
        pub const FLAGS: Field = 0..2;
        /// The VNI (the top 24 bits) and the reserved byte after it.
        pub const VNI_RES: Field = 4..8;
        pub const VNI: Field = VNI_RES.start..VNI_RES.end - 1;
        pub const HEADER_LEN: usize = VNI_RES.end;
    }

    /// Geneve (RFC 8926 section 3.4): version (2 bits) and options length in 4-byte
    /// words (6), flags, protocol type, the 24-bit VNI and a reserved byte, then the
    /// options.
    pub mod geneve {
        use crate::decode::field::Field;

        pub const VER_OPT_LEN: Field = 0..1;
        /// OAM, critical options present, and reserved bits.
        pub const FLAGS: Field = 1..2;
        pub const PROTO_TYPE: Field = 2..4;
        pub const VNI_RES: Field = 4..8;
        pub const VNI: Field = VNI_RES.start..VNI_RES.end - 1;
        pub const RESERVED: Field = VNI.end..VNI_RES.end;
        /// The fixed header; the options follow.
        pub const HEADER_LEN: usize = VNI_RES.end;
    }

    /// GTPv1-U (3GPP TS 29.281 section 5.1): flags, message type, length, TEID;
    /// when any of the E, S, PN flags is set, a sequence number, N-PDU number and
    /// next extension header type follow.
    pub mod gtp {
        use crate::decode::field::Field;

        /// Version (3 bits), protocol type, reserved, E, S, PN.
        pub const FLAGS: Field = 0..1;
        pub const MSG_TYPE: Field = 1..2;
        /// The bytes after the first 8.
        pub const LENGTH: Field = 2..4;
        pub const TEID: Field = 4..8;
        pub const HEADER_LEN: usize = TEID.end;
        pub const SEQ_NUM: Field = 8..10;
        pub const NPDU: Field = 10..11;
        pub const NEXT_EXT: Field = 11..12;
        /// With the optional fields; extension headers follow.
        pub const OPT_HEADER_LEN: usize = NEXT_EXT.end;
    }

    /// PIM (RFC 7761 section 4.9): version and type, reserved, checksum; a
    /// Register adds a word of flags before the data packet.
    pub mod pim {
        use crate::decode::field::Field;

        pub const VER_TYPE: Field = 0..1;
        pub const RESERVED: Field = 1..2;
        pub const CHECKSUM: Field = 2..4;
        pub const HEADER_LEN: usize = CHECKSUM.end;
        /// Border (the top bit) and Null-Register (the next).
        pub const REGISTER_FLAGS: Field = 4..8;
        pub const REGISTER_LEN: usize = REGISTER_FLAGS.end;
    }

    /// GRE (RFC 2784, RFC 2890, RFC 2637 section 4.1): flags and version, the
    /// protocol type, then the optional 4-byte words the flags name, in order:
    /// checksum and offset, key (in version 1 payload length and call id), sequence
    /// number, acknowledgment number; then, with the routing bit, source route
    /// entries (RFC 1701).
    pub mod gre {
        use crate::decode::field::Field;

        pub const FLAGS_VER: Field = 0..2;
        pub const PROTO_TYPE: Field = 2..4;
        pub const HEADER_LEN: usize = PROTO_TYPE.end;
        /// Each optional word, relative to the word's first byte.
        pub const WORD: Field = 0..4;
        pub const WORD_HI: Field = WORD.start..WORD.start + 2;
        pub const WORD_LO: Field = WORD_HI.end..WORD.end;
        /// A source route entry: address family, offset, length, then the route.
        pub const SRE_AF: Field = 0..2;
        pub const SRE_LEN: Field = 3..4;
        pub const SRE_HEADER_LEN: usize = SRE_LEN.end;
    }
}
use field::{geneve, gre, gtp, pim, vxlan};

/// `r` of a structure that begins at `at`.
fn shift(at: usize, r: super::field::Field) -> super::field::Field {
    at + r.start..at + r.end
}

pub const GTP_U_PORT: u16 = 2152;
pub const VXLAN_PORT: u16 = 4789;
pub const GENEVE_PORT: u16 = 6081;
pub const TEREDO_PORT: u16 = 3544;

/// The GTP-U message type that carries user data (G-PDU, also called T-PDU).
const G_PDU: u8 = 0xff;

/// Decodes the UDP payload at `off` as a tunnel when the ports say so; false when it
/// is not one (the caller keeps it as data).
pub(crate) fn decode(p: &mut Packet<'_>, sport: u16, dport: u16, off: usize, end: usize) -> bool {
    if sport == GTP_U_PORT || dport == GTP_U_PORT {
        return gtp(p, off, end);
    }
    if sport == VXLAN_PORT || dport == VXLAN_PORT {
        return vxlan(p, off, end);
    }
    if sport == GENEVE_PORT || dport == GENEVE_PORT {
        return geneve(p, off, end);
    }
    if sport == super::wlan::CAPWAP_DATA_PORT || dport == super::wlan::CAPWAP_DATA_PORT {
        return super::wlan::decode_capwap(p, off, end);
    }
    if sport == TEREDO_PORT || dport == TEREDO_PORT {
        return teredo(p, off, end);
    }
    false
}

/// Teredo's headers before the IPv6 packet (RFC 4380 section 5.1.1): where each
/// begins and ends, if present, and where the packet begins.
struct TeredoAt {
    auth: Option<std::ops::Range<usize>>,
    orig: Option<std::ops::Range<usize>>,
    ipv6: usize,
}

/// `b`, a UDP payload on Teredo's port, as packet-teredo.c reads it: an authentication
/// header (type 1: lengths, client id, value, 8-byte nonce, confirmation byte), an
/// origin indication (type 0: port and address), then IPv6; `None` when it is not
/// (the bytes stay data, as Wireshark leaves them).
fn teredo_at(b: &[u8]) -> Option<TeredoAt> {
    let mut at = 0;
    let mut auth = None;
    if get16(b, 0..2)? == 1 {
        let len = 4 + usize::from(get8(b, 2..3)?) + usize::from(get8(b, 3..4)?) + 8 + 1;
        auth = Some(0..len);
        at = len;
    }
    let mut orig = None;
    if get16(b, at..at + 2)? == 0 {
        orig = Some(at..at + 8);
        at += 8;
    }
    (get8(b, at..at + 1)? >> 4 == 6).then_some(TeredoAt { auth, orig, ipv6: at })
}

fn teredo(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let Some(t) = teredo_at(&p.data[off..end]) else { return false };
    p.push(Proto::Teredo, off, off + t.ipv6, end);
    super::ipv6::decode(p, off + t.ipv6, end);
    true
}

pub fn describe_teredo<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Teredo, base..base + hdr, format_args!("Teredo IPv6 over UDP tunneling"));
    let Some(t) = teredo_at(b) else { return };
    let mut f = Fields { v, base, avail: hdr };
    if let Some(a) = t.auth {
        let (idlen, aulen) = (usize::from(b[2]), usize::from(b[3]));
        let abs = f.abs(a.clone());
        f.v.group("auth", "Teredo Authentication header", abs, None, None);
        f.f("auth.idlen", "Client identifier length", 2..3, Some(Value::U(idlen as u64)), None);
        f.f("auth.aulen", "Authentication value length", 3..4, Some(Value::U(aulen as u64)), None);
        let (id, value) = (4..4 + idlen, 4 + idlen..4 + idlen + aulen);
        let nonce = value.end..value.end + 8;
        if idlen > 0 {
            f.f("auth.id", "Client identifier", id.clone(), b.get(id).map(Value::Bytes), None);
        }
        if aulen > 0 {
            f.f("auth.value", "Authentication value", value.clone(), b.get(value).map(Value::Bytes), None);
        }
        f.f("auth.nonce", "Nonce value", nonce.clone(), b.get(nonce.clone()).map(Value::Bytes), None);
        let conf = nonce.end..nonce.end + 1;
        f.f("auth.conf", "Confirmation byte", conf.clone(), b.get(conf).map(Value::Bytes), None);
        f.v.end_group();
    }
    if let Some(o) = t.orig {
        let abs = f.abs(o.clone());
        f.v.group("orig", "Teredo Origin Indication header", abs, None, None);
        // Both are sent inverted (RFC 4380 section 5.1.1), so that NATs leave them be.
        let port = get16(b, o.start + 2..o.start + 4).map(|x| Value::U((!x).into()));
        f.f("orig.port", "Origin UDP port", o.start + 2..o.start + 4, port, None);
        let addr =
            b.get(o.start + 4..o.end).and_then(|a| <[u8; 4]>::try_from(a).ok()).map(|a| Value::Ipv4(a.map(|x| !x)));
        f.f("orig.addr", "Origin IPv4 address", o.start + 4..o.end, addr, None);
        f.v.end_group();
    }
}

/// Geneve (RFC 8926 section 3.4): version and option length (in 4-byte words),
/// flags, protocol type, VNI, reserved, then the options and the inner frame.
fn geneve(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let avail = end - off;
    if avail < geneve::HEADER_LEN {
        // Wireshark claims the port whatever the bytes: a short header is malformed.
        p.push(Proto::Geneve, off, end, end);
        p.fail(Proto::Geneve, off, Problem::Truncated { needed: geneve::HEADER_LEN, available: avail });
        return true;
    }
    let hl = geneve::HEADER_LEN + usize::from(p.data[off + geneve::VER_OPT_LEN.start] & 0x3f) * 4;
    if avail < hl {
        p.push(Proto::Geneve, off, end, end);
        p.fail(Proto::Geneve, off, Problem::Truncated { needed: hl, available: avail });
        return true;
    }
    p.push(Proto::Geneve, off, off + hl, end);
    match get16(&p.data[off..end], geneve::PROTO_TYPE).unwrap_or(0) {
        // Transparent Ethernet bridging: a frame without its FCS.
        0x6558 => super::link::decode_eth(p, off + hl, end),
        t => super::decode_ethertype(p, t, off + hl, end),
    }
    true
}

pub fn describe_geneve<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let vni = get32(b, geneve::VNI_RES).map_or(0, |x| x >> 8);
    v.layer(
        Proto::Geneve,
        base..base + hdr,
        format_args!("Generic Network Virtualization Encapsulation, VNI: 0x{vni:06x}"),
    );
    let mut f = Fields { v, base, avail: hdr };
    let first = get8(b, geneve::VER_OPT_LEN).unwrap_or(0);
    f.f("version", "Version", geneve::VER_OPT_LEN, Some(Value::U((first >> 6).into())), None);
    f.f(
        "options_len",
        "Length",
        geneve::VER_OPT_LEN,
        Some(Value::U((u64::from(first) & 0x3f) * 4)),
        Some(format_args!("bytes (of options)")),
    );
    let flags = get8(b, geneve::FLAGS).unwrap_or(0);
    f.f("flags", "Flags", geneve::FLAGS, Some(Value::Hex(flags.into(), 2)), None);
    f.f(
        "flags.oam",
        "Operations, Administration and Management Frame",
        geneve::FLAGS,
        Some(Value::Bool(flags & 0x80 != 0)),
        None,
    );
    f.f("flags.critical", "Critical Options Present", geneve::FLAGS, Some(Value::Bool(flags & 0x40 != 0)), None);
    let t = get16(b, geneve::PROTO_TYPE).unwrap_or(0);
    let meaning = if t == 0x6558 {
        format_args!("(Transparent Ethernet bridging)")
    } else {
        super::link::EthertypeMeaning(t).args()
    };
    f.f("proto_type", "Protocol Type", geneve::PROTO_TYPE, Some(Value::Hex(t.into(), 4)), Some(meaning));
    f.f("vni", "Virtual Network Identifier (VNI)", geneve::VNI, Some(Value::Hex(vni.into(), 6)), None);
    let res = get8(b, geneve::RESERVED).map(|x| Value::Hex(x.into(), 2));
    f.f("reserved", "Reserved", geneve::RESERVED, res, None);
    if hdr > geneve::HEADER_LEN {
        let opts = geneve::HEADER_LEN..hdr;
        f.f("options", "Geneve Options", opts.clone(), b.get(opts).map(Value::Bytes), None);
    }
}

/// PIM (RFC 7761 section 4.9): version 2 and a type, reserved, checksum. A Register
/// (type 1) adds the Border and Null-Register flags, then the data packet whole.
pub(crate) fn decode_pim(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    if b.is_empty() {
        // A Null-Register's dummy IP header says PIM and carries nothing.
        return;
    }
    let vt = get8(b, pim::VER_TYPE).unwrap_or(0);
    if b.len() < pim::HEADER_LEN || vt >> 4 != 2 {
        // PIMv1 rides in IGMP, not here; a header too short to read stays data, as
        // the protocol column names it from the IP protocol number.
        p.unknown_ip_proto = Some(103);
        return push_data(p, off, end);
    }
    if vt & 0x0f != PIM_REGISTER {
        p.push(Proto::Pim, off, off + pim::HEADER_LEN, end);
        return push_data(p, off + pim::HEADER_LEN, end);
    }
    if b.len() < pim::REGISTER_LEN {
        p.push(Proto::Pim, off, end, end);
        return p.fail(Proto::Pim, off, Problem::Truncated { needed: pim::REGISTER_LEN, available: b.len() });
    }
    let inner = off + pim::REGISTER_LEN;
    p.push(Proto::Pim, off, inner, end);
    // A Null-Register's dummy header has version 0: Wireshark does not decode it.
    match b.get(pim::REGISTER_LEN).map(|x| x >> 4) {
        Some(4) => super::ipv4::decode(p, inner, end),
        Some(6) => super::ipv6::decode(p, inner, end),
        _ => push_data(p, inner, end),
    }
}

const PIM_REGISTER: u8 = 1;

pub fn pim_type_name(t: u8) -> &'static str {
    match t {
        0 => "Hello",
        1 => "Register",
        2 => "Register-stop",
        3 => "Join/Prune",
        4 => "Bootstrap",
        5 => "Assert",
        6 => "Graft",
        7 => "Graft-Ack",
        8 => "Candidate-RP-Advertisement",
        9 => "State-Refresh",
        10 => "DF election",
        11 => "ECMP Redirect",
        12 => "PFM",
        _ => "Unknown",
    }
}

pub fn describe_pim<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let first = get8(b, pim::VER_TYPE).unwrap_or(0);
    let t = first & 0x0f;
    v.layer(Proto::Pim, base..base + hdr, format_args!("Protocol Independent Multicast, {}", pim_type_name(t)));
    let mut f = Fields { v, base, avail: hdr };
    f.f("version", "Version", pim::VER_TYPE, Some(Value::U((first >> 4).into())), None);
    let m = format_args!("({})", pim_type_name(t));
    f.f("type", "Type", pim::VER_TYPE, Some(Value::U(t.into())), Some(m));
    let res = get8(b, pim::RESERVED).map(|x| Value::Hex(x.into(), 2));
    f.f("res_bytes", "Reserved byte(s)", pim::RESERVED, res, None);
    let cksum = get16(b, pim::CHECKSUM).map(|x| Value::Hex(x.into(), 4));
    f.f("cksum", "Checksum", pim::CHECKSUM, cksum, Some(format_args!("(not verified)")));
    if t == PIM_REGISTER {
        let flags = get32(b, pim::REGISTER_FLAGS).unwrap_or(0);
        f.f("register_flag", "Flags", pim::REGISTER_FLAGS, Some(Value::Hex(flags.into(), 8)), None);
        let border = Some(Value::Bool(flags & 0x8000_0000 != 0));
        f.f("register_flag.border", "Border", pim::REGISTER_FLAGS, border, None);
        f.f(
            "register_flag.null_register",
            "Null-Register",
            pim::REGISTER_FLAGS,
            Some(Value::Bool(flags & 0x4000_0000 != 0)),
            Some(format_args!("(a dummy header only: the rendezvous point is probed)")),
        );
    }
}

/// Length of a GTPv1 header, options and extension headers included, when it is whole.
fn gtp_header_len(b: &[u8]) -> Option<usize> {
    let flags = get8(b, gtp::FLAGS)?;
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        // Not GTP version 1 with the protocol type GTP (GTP' is 0).
        return None;
    }
    let mut len = gtp::HEADER_LEN;
    if flags & 0x07 != 0 {
        len = gtp::OPT_HEADER_LEN;
        let mut next = get8(b, gtp::NEXT_EXT)?;
        // Extension headers: a length in 4-byte units, then contents, then the next type.
        while next != 0 {
            let units = usize::from(*b.get(len)?);
            if units == 0 {
                return None;
            }
            len += units * 4;
            next = *b.get(len - 1)?;
        }
    }
    (len <= b.len()).then_some(len)
}

fn gtp(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let b = &p.data[off..end];
    let Some(hl) = gtp_header_len(b) else { return false };
    p.push(Proto::Gtp, off, off + hl, end);
    let inner = off + hl;
    if get8(b, gtp::MSG_TYPE) == Some(G_PDU) && inner < end {
        match p.data[inner] >> 4 {
            4 => super::ipv4::decode(p, inner, end),
            6 => super::ipv6::decode(p, inner, end),
            _ => push_data(p, inner, end),
        }
    } else {
        push_data(p, inner, end);
    }
    true
}

fn vxlan(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    if end - off < vxlan::HEADER_LEN + super::link::field::eth::HEADER_LEN {
        return false;
    }
    p.push(Proto::Vxlan, off, off + vxlan::HEADER_LEN, end);
    super::link::decode_eth(p, off + vxlan::HEADER_LEN, end);
    true
}

pub fn describe_gtp<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let flags = get8(b, gtp::FLAGS).unwrap_or(0);
    let kind = get8(b, gtp::MSG_TYPE).unwrap_or(0);
    let teid = get32(b, gtp::TEID).unwrap_or(0);
    v.layer(
        Proto::Gtp,
        base..base + hdr,
        format_args!(
            "GPRS Tunneling Protocol, TEID: 0x{teid:08x}, {}",
            if kind == G_PDU { "T-PDU" } else { "signalling" }
        ),
    );
    let mut f = Fields { v, base, avail: hdr };
    f.f("flags", "Flags", gtp::FLAGS, Some(Value::Hex(flags.into(), 2)), None);
    f.f("flags.version", "Version", gtp::FLAGS, Some(Value::U((flags >> 5).into())), Some(format_args!("(GTPv1)")));
    f.f("flags.payload", "Protocol type", gtp::FLAGS, Some(Value::U(((flags >> 4) & 1).into())), None);
    f.f("flags.e", "Extension header present", gtp::FLAGS, Some(Value::U(((flags >> 2) & 1).into())), None);
    f.f("flags.s", "Sequence number present", gtp::FLAGS, Some(Value::U(((flags >> 1) & 1).into())), None);
    f.f("flags.pn", "N-PDU number present", gtp::FLAGS, Some(Value::U((flags & 1).into())), None);
    let meaning = if kind == G_PDU { "(T-PDU: a user packet follows)" } else { "(signalling)" };
    f.f("message", "Message Type", gtp::MSG_TYPE, Some(Value::Hex(kind.into(), 2)), Some(format_args!("{meaning}")));
    f.f(
        "length",
        "Length",
        gtp::LENGTH,
        get16(b, gtp::LENGTH).map(|x| Value::U(x.into())),
        Some(format_args!("(bytes after the first 8)")),
    );
    f.f(
        "teid",
        "TEID",
        gtp::TEID,
        Some(Value::Hex(teid.into(), 8)),
        Some(format_args!("(tunnel endpoint identifier)")),
    );
    if flags & 0x07 != 0 {
        f.f("seq_number", "Sequence number", gtp::SEQ_NUM, get16(b, gtp::SEQ_NUM).map(|x| Value::U(x.into())), None);
        f.f("npdu_number", "N-PDU Number", gtp::NPDU, get8(b, gtp::NPDU).map(|x| Value::U(x.into())), None);
        let next = get8(b, gtp::NEXT_EXT).map(|x| Value::Hex(x.into(), 2));
        f.f("next", "Next extension header type", gtp::NEXT_EXT, next, None);
    }
}

pub fn describe_vxlan<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let vni = get32(b, vxlan::VNI_RES).map_or(0, |x| x >> 8);
    let hdr = b.len().min(vxlan::HEADER_LEN);
    v.layer(Proto::Vxlan, base..base + hdr, format_args!("Virtual eXtensible Local Area Network, VNI: {vni}"));
    let mut f = Fields { v, base, avail: hdr };
    f.f("flags", "Flags", vxlan::FLAGS, get16(b, vxlan::FLAGS).map(|x| Value::Hex(x.into(), 4)), None);
    f.f("vni", "VXLAN Network Identifier (VNI)", vxlan::VNI, Some(Value::U(vni.into())), None);
}

/// GRE flag bits (RFC 2784 section 2, RFC 2890, RFC 1701 for routing, RFC 2637
/// section 4.1 for version 1's acknowledgment bit).
const GRE_C: u16 = 0x8000;
const GRE_R: u16 = 0x4000;
const GRE_K: u16 = 0x2000;
const GRE_S: u16 = 0x1000;
const GRE_A: u16 = 0x0080;

/// GRE header length: flags and protocol, then the optional fields the flags name,
/// then (RFC 1701) source route entries up to a null one.
fn gre_header_len(b: &[u8]) -> Result<usize, usize> {
    let flags = get16(b, gre::FLAGS_VER).ok_or(gre::HEADER_LEN)?;
    if b.len() < gre::HEADER_LEN {
        return Err(gre::HEADER_LEN);
    }
    let word = gre::WORD.len();
    let mut hl = gre::HEADER_LEN;
    if flags & (GRE_C | GRE_R) != 0 {
        hl += word;
    }
    if flags & GRE_K != 0 {
        hl += word;
    }
    if flags & GRE_S != 0 {
        hl += word;
    }
    if flags & 7 == 1 && flags & GRE_A != 0 {
        hl += word;
    }
    if flags & GRE_R != 0 {
        loop {
            let (Some(af), Some(len)) = (get16(b, shift(hl, gre::SRE_AF)), get8(b, shift(hl, gre::SRE_LEN))) else {
                return Err(hl + gre::SRE_HEADER_LEN);
            };
            hl += gre::SRE_HEADER_LEN + usize::from(len);
            if af == 0 && len == 0 {
                break;
            }
        }
    }
    if b.len() < hl {
        Err(hl)
    } else {
        Ok(hl)
    }
}

pub(crate) fn decode_gre(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    let hl = match gre_header_len(b) {
        Ok(hl) => hl,
        Err(needed) => {
            p.push(Proto::Gre, off, end, end);
            return p.fail(Proto::Gre, off, Problem::Truncated { needed, available: b.len() });
        }
    };
    p.push(Proto::Gre, off, off + hl, end);
    let at = off + hl;
    match get16(b, gre::PROTO_TYPE).unwrap_or(0) {
        // PPTP: PPP frames, address and control included.
        0x880b => super::link::decode_ppp(p, at, end),
        // Transparent Ethernet bridging (RFC 1701): a frame without its FCS.
        0x6558 => super::link::decode_eth(p, at, end),
        t => super::decode_ethertype(p, t, at, end),
    }
}

pub fn describe_gre<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let flags = get16(b, gre::FLAGS_VER).unwrap_or(0);
    let proto = get16(b, gre::PROTO_TYPE).unwrap_or(0);
    v.layer(Proto::Gre, base..base + hdr, format_args!("Generic Routing Encapsulation (0x{proto:04x})"));
    let mut f = Fields { v, base, avail: hdr };
    f.f("flags_and_version", "Flags and Version", gre::FLAGS_VER, Some(Value::Hex(flags.into(), 4)), None);
    let bit = |m: u16| Some(Value::Bool(flags & m != 0));
    f.f("flags.checksum", "Checksum Bit", gre::FLAGS_VER, bit(GRE_C), None);
    f.f("flags.routing", "Routing Bit", gre::FLAGS_VER, bit(GRE_R), None);
    f.f("flags.key", "Key Bit", gre::FLAGS_VER, bit(GRE_K), None);
    f.f("flags.sequence_number", "Sequence Number Bit", gre::FLAGS_VER, bit(GRE_S), None);
    let version = flags & 7;
    if version == 1 {
        f.f("flags.ack", "Acknowledgment", gre::FLAGS_VER, bit(GRE_A), None);
    }
    let vname = if version == 1 { "(Enhanced GRE, PPTP)" } else { "(GRE)" };
    f.f("flags.version", "Version", gre::FLAGS_VER, Some(Value::U(version.into())), Some(format_args!("{vname}")));
    let pname = match proto {
        0x880b => format_args!("(PPP)"),
        0x6558 => format_args!("(Transparent Ethernet bridging)"),
        t => super::link::EthertypeMeaning(t).args(),
    };
    f.f("proto", "Protocol Type", gre::PROTO_TYPE, Some(Value::Hex(proto.into(), 4)), Some(pname));
    let mut at = gre::HEADER_LEN;
    let (hi, lo, word) = (gre::WORD_HI, gre::WORD_LO, gre::WORD);
    if flags & (GRE_C | GRE_R) != 0 {
        let (c, o) = (shift(at, hi.clone()), shift(at, lo.clone()));
        f.f("checksum", "Checksum", c.clone(), get16(b, c).map(|x| Value::Hex(x.into(), 4)), None);
        f.f("offset", "Offset", o.clone(), get16(b, o).map(|x| Value::U(x.into())), None);
        at += word.len();
    }
    if flags & GRE_K != 0 {
        if version == 1 {
            let (l, c) = (shift(at, hi), shift(at, lo));
            f.f("key.payload_length", "Payload Length", l.clone(), get16(b, l).map(|x| Value::U(x.into())), None);
            f.f("key.call_id", "Call ID", c.clone(), get16(b, c).map(|x| Value::U(x.into())), None);
        } else {
            let k = shift(at, word.clone());
            f.f("key", "GRE Key", k.clone(), get32(b, k).map(|x| Value::Hex(x.into(), 8)), None);
        }
        at += word.len();
    }
    if flags & GRE_S != 0 {
        let r = shift(at, word.clone());
        f.f("sequence_number", "Sequence Number", r.clone(), get32(b, r).map(|x| Value::U(x.into())), None);
        at += word.len();
    }
    if version == 1 && flags & GRE_A != 0 {
        let r = shift(at, word);
        f.f("ack_number", "Acknowledgment Number", r.clone(), get32(b, r).map(|x| Value::U(x.into())), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::field::check;

    #[test]
    fn geneve_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use geneve::*;
        let fields = [
            ("version", VER_OPT_LEN),
            ("options_len", VER_OPT_LEN),
            ("flags", FLAGS),
            ("flags.oam", FLAGS),
            ("flags.critical", FLAGS),
            ("proto_type", PROTO_TYPE),
            ("vni", VNI),
            ("reserved", RESERVED),
        ];
        check::table(HEADER_LEN, &fields, &[VER_OPT_LEN]);
        let h = [
            0x01, // version 0, 4 bytes of options
            0x00, // flags
            0x65, 0x58, // transparent Ethernet bridging
            0x00, 0x00, 0x2a, // VNI 42
            0x00, // reserved
            0x01, 0x02, 0x03, 0x04, // options
        ];
        let mut seen = check::Seen::default();
        describe_geneve(&mut seen, &h, 42, h.len());
        check::tree(&seen, 42, &fields, &["options"]);
    }

    #[test]
    fn gtp_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use gtp::*;
        let fields = [
            ("flags", FLAGS),
            ("flags.version", FLAGS),
            ("flags.payload", FLAGS),
            ("flags.e", FLAGS),
            ("flags.s", FLAGS),
            ("flags.pn", FLAGS),
            ("message", MSG_TYPE),
            ("length", LENGTH),
            ("teid", TEID),
            ("seq_number", SEQ_NUM),
            ("npdu_number", NPDU),
            ("next", NEXT_EXT),
        ];
        check::table(HEADER_LEN, &fields[..9], &[]);
        check::table(OPT_HEADER_LEN, &fields, &[]);
        let h = [
            0x32, // version 1, protocol type GTP, S: the optional fields are there
            0xff, // G-PDU
            0x00, 0x04, // length: the optional fields
            0x00, 0x00, 0x12, 0x34, // TEID
            0x00, 0x07, // sequence number
            0x00, // N-PDU number
            0x00, // no extension header
        ];
        assert_eq!(gtp_header_len(&h), Some(OPT_HEADER_LEN));
        assert_eq!(gtp_header_len(&[0x30, 0xff, 0, 0, 0, 0, 0, 1]), Some(HEADER_LEN));
        let mut seen = check::Seen::default();
        describe_gtp(&mut seen, &h, 42, h.len());
        check::tree(&seen, 42, &fields, &[]);
    }

    #[test]
    fn pim_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use pim::*;
        let fields = [
            ("version", VER_TYPE),
            ("type", VER_TYPE),
            ("res_bytes", RESERVED),
            ("cksum", CHECKSUM),
            ("register_flag", REGISTER_FLAGS),
            ("register_flag.border", REGISTER_FLAGS),
            ("register_flag.null_register", REGISTER_FLAGS),
        ];
        check::table(HEADER_LEN, &fields[..4], &[]);
        check::table(REGISTER_LEN, &fields, &[]);
        let h = [
            0x21, // version 2, Register
            0x00, // reserved
            0x00, 0x00, // checksum
            0x40, 0x00, 0x00, 0x00, // Null-Register
        ];
        let mut seen = check::Seen::default();
        describe_pim(&mut seen, &h, 34, h.len());
        check::tree(&seen, 34, &fields, &[]);
    }

    #[test]
    fn gre_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use gre::*;
        check::table(HEADER_LEN, &[("flags_and_version", FLAGS_VER), ("proto", PROTO_TYPE)], &[]);
        check::table(WORD.len(), &[("hi", WORD_HI), ("lo", WORD_LO)], &[]);
        assert_eq!(WORD_HI.start..WORD_LO.end, WORD);
        check::table(SRE_HEADER_LEN, &[("af", SRE_AF), ("len", SRE_LEN)], &[]);
        let flag_keys =
            ["flags.checksum", "flags.routing", "flags.key", "flags.sequence_number", "flags.ack", "flags.version"];
        // Version 1 (PPTP) with key, sequence and acknowledgment numbers.
        let h = [
            0x30, 0x81, // key and sequence bits, ack bit, version 1
            0x88, 0x0b, // PPP
            0x00, 0x10, 0x00, 0x07, // payload length 16, call id 7
            0x00, 0x00, 0x00, 0x01, // sequence number
            0x00, 0x00, 0x00, 0x02, // acknowledgment number
        ];
        assert_eq!(gre_header_len(&h), Ok(h.len()));
        let mut seen = check::Seen::default();
        describe_gre(&mut seen, &h, 34, h.len());
        let word = |n: usize, r: crate::decode::field::Field| shift(HEADER_LEN + n * WORD.len(), r);
        let mut fields = vec![
            ("flags_and_version", FLAGS_VER),
            ("proto", PROTO_TYPE),
            ("key.payload_length", word(0, WORD_HI)),
            ("key.call_id", word(0, WORD_LO)),
            ("sequence_number", word(1, WORD)),
            ("ack_number", word(2, WORD)),
        ];
        fields.extend(flag_keys.iter().map(|k| (*k, FLAGS_VER)));
        check::tree(&seen, 34, &fields, &[]);
        // Version 0 with checksum and key.
        let h = [0xa0, 0x00, 0x08, 0x00, 0x12, 0x34, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef];
        assert_eq!(gre_header_len(&h), Ok(h.len()));
        let mut seen = check::Seen::default();
        describe_gre(&mut seen, &h, 34, h.len());
        let mut fields = vec![
            ("flags_and_version", FLAGS_VER),
            ("proto", PROTO_TYPE),
            ("checksum", word(0, WORD_HI)),
            ("offset", word(0, WORD_LO)),
            ("key", word(1, WORD)),
        ];
        fields.extend(flag_keys.iter().filter(|k| **k != "flags.ack").map(|k| (*k, FLAGS_VER)));
        check::tree(&seen, 34, &fields, &[]);
    }

    #[test]
    fn vxlan_field_table_is_consistent_and_is_what_the_tree_highlights() {
        let fields = [("flags", vxlan::FLAGS), ("vni", vxlan::VNI)];
        check::table(vxlan::HEADER_LEN, &fields, &[]);
        check::table(vxlan::HEADER_LEN, &[("flags", vxlan::FLAGS), ("vni_res", vxlan::VNI_RES)], &[]);
        let h = [
            0x08, 0x00, // I flag: a VNI is there
            0x00, 0x00, // reserved
            0x00, 0x30, 0x39, // VNI 12345
            0x00, // reserved
        ];
        let mut seen = check::Seen::default();
        describe_vxlan(&mut seen, &h, 42);
        check::tree(&seen, 42, &fields, &[]);
    }
    use crate::decode::decode;
    use crate::source::LinkType;
    use etherparse::PacketBuilder;

    fn outer(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(sport, dport)
            .write(&mut b, payload)
            .unwrap();
        b
    }

    fn protos(b: &[u8]) -> Vec<Proto> {
        decode(LinkType::ETHERNET, b, b.len() as u32).layers().iter().map(|l| l.proto).collect()
    }

    #[test]
    fn tcp_inside_gtp_u() {
        let mut inner = Vec::new();
        PacketBuilder::ipv4([100, 64, 0, 1], [8, 8, 8, 8], 64)
            .tcp(40000, 443, 7, 1000)
            .syn()
            .write(&mut inner, &[])
            .unwrap();
        // Version 1, PT 1, G-PDU, length of what follows, TEID 0x1234.
        let mut gtp = vec![0x30, 0xff, 0, inner.len() as u8, 0, 0, 0x12, 0x34];
        gtp.extend_from_slice(&inner);
        let frame = outer(2152, 2152, &gtp);
        use Proto::*;
        assert_eq!(protos(&frame), vec![Eth, Ipv4, Udp, Gtp, Ipv4, Tcp]);
        let p = decode(LinkType::ETHERNET, &frame, frame.len() as u32);
        let (key, _) = crate::analysis::flow::FlowKey::of(&p).unwrap();
        assert_eq!(key.lo.ip().to_string(), "8.8.8.8", "the inner addresses, with the inner ports");
        assert_eq!(p.tcp_len(), Some(0));
        // Signalling (not a G-PDU) stays data.
        let mut sig = gtp.clone();
        sig[1] = 0x01;
        assert_eq!(protos(&outer(2152, 2152, &sig)), vec![Eth, Ipv4, Udp, Gtp, Data]);
        // Not GTPv1 on that port: plain data.
        sig[0] = 0x48;
        assert_eq!(protos(&outer(2152, 2152, &sig)), vec![Eth, Ipv4, Udp, Data]);
    }

    #[test]
    fn ethernet_inside_vxlan() {
        let mut inner = Vec::new();
        PacketBuilder::ethernet2([6; 6], [8; 6])
            .ipv4([192, 168, 0, 1], [192, 168, 0, 2], 64)
            .udp(5000, 53)
            .write(&mut inner, b"q")
            .unwrap();
        let mut vx = vec![0x08, 0, 0, 0, 0, 0x04, 0x57, 0];
        vx.extend_from_slice(&inner);
        use Proto::*;
        let frame = outer(60000, 4789, &vx);
        assert_eq!(protos(&frame), vec![Eth, Ipv4, Udp, Vxlan, Eth, Ipv4, Udp, Data]);
        let p = decode(LinkType::ETHERNET, &frame, frame.len() as u32);
        assert_eq!(p.inner_udp().and_then(|u| u.dst_port()), Some(53));
        // Too short to hold a frame: data.
        assert_eq!(protos(&outer(60000, 4789, &vx[..12])), vec![Eth, Ipv4, Udp, Data]);
    }

    #[test]
    fn gtp_header_lengths() {
        // Version 1, PT 1, no options: 8 bytes.
        assert_eq!(gtp_header_len(&[0x30, 0xff, 0, 4, 0, 0, 0, 1, 0x45]), Some(8));
        // S flag: 12 bytes, next extension 0.
        assert_eq!(gtp_header_len(&[0x32, 0xff, 0, 8, 0, 0, 0, 1, 0, 1, 0, 0]), Some(12));
        // E flag with one extension of 4 bytes (PDU session container), then none.
        let b = [0x34, 0xff, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x09, 0x00, 0x45];
        assert_eq!(gtp_header_len(&b), Some(16));
        // Version 2 (GTP-C) and GTP' are not GTP-U.
        assert_eq!(gtp_header_len(&[0x48, 0x20, 0, 4, 0, 0, 0, 1]), None);
        assert_eq!(gtp_header_len(&[0x20, 0xff, 0, 4, 0, 0, 0, 1]), None);
        // An extension length of 0 or past the end.
        assert_eq!(gtp_header_len(&[0x34, 0xff, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0x85, 0]), None);
        assert_eq!(gtp_header_len(&[0x34, 0xff, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0x85, 9]), None);
    }

    #[test]
    fn ethernet_inside_geneve_after_options() {
        let mut inner = Vec::new();
        PacketBuilder::ethernet2([6; 6], [8; 6])
            .ipv4([30, 0, 0, 1], [30, 0, 0, 2], 64)
            .tcp(51225, 22, 1, 1000)
            .syn()
            .write(&mut inner, &[])
            .unwrap();
        // Version 0, 2 words of options; critical flag; Ethernet bridging; VNI 10.
        let mut gv = vec![0x02, 0x40, 0x65, 0x58, 0, 0, 0x0a, 0];
        // One option: class 0, type 0x80, length 1 word, 4 bytes of data.
        gv.extend_from_slice(&[0, 0, 0x80, 0x01, 0, 0, 0, 0x0c]);
        gv.extend_from_slice(&inner);
        use Proto::*;
        let frame = outer(40000, 6081, &gv);
        assert_eq!(protos(&frame), vec![Eth, Ipv4, Udp, Geneve, Eth, Ipv4, Tcp]);
        let p = decode(LinkType::ETHERNET, &frame, frame.len() as u32);
        assert_eq!(p.layer(Geneve).unwrap().header_range(), 42..58);
        assert_eq!(p.tcp().and_then(|t| t.dst_port()), Some(22));
        // An ethertype instead of bridging: the IP packet directly.
        let mut ip = gv[..16].to_vec();
        ip[2..4].copy_from_slice(&[0x08, 0x00]);
        ip.extend_from_slice(&inner[14..]);
        assert_eq!(protos(&outer(40000, 6081, &ip)), vec![Eth, Ipv4, Udp, Geneve, Ipv4, Tcp]);
        // Options longer than the datagram, or a header cut short: malformed, no panic.
        for n in 0..16 {
            let f = outer(40000, 6081, &gv[..n]);
            let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
            if n > 0 {
                assert_eq!(p.malformed.map(|m| m.proto), Some(Geneve), "{n}");
            }
        }
    }

    #[test]
    fn pim_register_carries_the_packet_other_messages_are_data() {
        let mut inner = Vec::new();
        PacketBuilder::ipv4([10, 1, 1, 1], [239, 1, 1, 1], 16).udp(5000, 5001).write(&mut inner, b"m").unwrap();
        // Version 2 type 1, reserved, checksum; flags (Border and Null-Register clear).
        let mut reg = vec![0x21, 0, 0x12, 0x34, 0, 0, 0, 0];
        reg.extend_from_slice(&inner);
        let mut ip = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).write(&mut ip, etherparse::IpNumber(103), &reg).unwrap();
        use Proto::*;
        let got: Vec<Proto> = decode(LinkType::RAW, &ip, ip.len() as u32).layers().iter().map(|l| l.proto).collect();
        assert_eq!(got, vec![Ipv4, Pim, Ipv4, Udp, Data]);
        // A Hello: the PIM header, then its options as data.
        let mut hello = ip.clone();
        hello[20] = 0x20;
        let p = decode(LinkType::RAW, &hello, hello.len() as u32);
        assert_eq!(p.layers().iter().map(|l| l.proto).collect::<Vec<_>>(), vec![Ipv4, Pim, Data]);
        // A Register cut inside its flags: malformed; shorter than any PIM header: data.
        let p = decode(LinkType::RAW, &ip[..26], ip.len() as u32);
        assert_eq!(p.malformed.unwrap().problem, Problem::Truncated { needed: 8, available: 6 });
        let p = decode(LinkType::RAW, &ip[..22], ip.len() as u32);
        assert_eq!(p.unknown_ip_proto, Some(103));
    }

    #[test]
    fn gre_carries_ip_ethernet_and_pptp_ppp() {
        let mut inner = Vec::new();
        PacketBuilder::ipv4([192, 168, 10, 210], [192, 168, 103, 40], 63)
            .udp(5060, 5060)
            .write(&mut inner, b"s")
            .unwrap();
        let ip_in = |gre: &[u8]| {
            let mut ip = Vec::new();
            PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .write(&mut ip, etherparse::IpNumber(47), gre)
                .unwrap();
            ip
        };
        let layers = |f: &[u8]| -> Vec<Proto> {
            decode(LinkType::RAW, f, f.len() as u32).layers().iter().map(|l| l.proto).collect()
        };
        use Proto::*;
        // Plain GRE, no options, IPv4.
        let plain = [&[0, 0, 0x08, 0x00][..], &inner].concat();
        assert_eq!(layers(&ip_in(&plain)), vec![Ipv4, Gre, Ipv4, Udp, Data]);
        // Key and sequence number (RFC 2890): 12 bytes.
        let keyed = [&[0x30, 0, 0x08, 0x00, 0, 0, 0, 7, 0, 0, 0, 1][..], &inner].concat();
        let f = ip_in(&keyed);
        assert_eq!(layers(&f), vec![Ipv4, Gre, Ipv4, Udp, Data]);
        assert_eq!(decode(LinkType::RAW, &f, 0).layer(Gre).unwrap().header_range(), 20..32);
        // PPTP (version 1): key (payload length, call id), sequence, acknowledgment; PPP.
        let pptp =
            [&[0x30, 0x81, 0x88, 0x0b, 0, 0x6a, 0, 0x8c, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0x21][..], &inner]
                .concat();
        assert_eq!(layers(&ip_in(&pptp)), vec![Ipv4, Gre, Ppp, Ipv4, Udp, Data]);
        // Cut anywhere: malformed or data, no panic.
        for n in 0..16 {
            let f = ip_in(&pptp[..n]);
            let p = decode(LinkType::RAW, &f, f.len() as u32);
            assert!(n == 0 || p.malformed.map(|m| m.proto) == Some(Gre), "{n}");
        }
    }
}
