//! CAPWAP data channel (RFC 5415, UDP port 5247): an access point tunnels its
//! clients' frames to the controller, either as 802.3 frames or (RFC 5416) as
//! native IEEE 802.11 frames, whose data frames carry LLC. Only the 802.11 data
//! frames that CAPWAP carries are decoded; management and control frames stay data.

use super::field::{Fields, Value, Visitor};
use super::{arr, be16, be32, push_data, Packet, Problem, Proto};

pub const CAPWAP_DATA_PORT: u16 = 5247;

/// Header flags (RFC 5415 section 4.3): T (native frame format), F (fragment),
/// W (wireless specific information), M (radio MAC), K (keep-alive).
const CAPWAP_T: u32 = 0x100;
const CAPWAP_F: u32 = 0x080;
const CAPWAP_K: u32 = 0x008;

/// The preamble and the header's first bits: HLEN (5 bits, in 4-byte words), RID,
/// WBID (5 bits each), flags (9 bits).
fn capwap_word(b: &[u8]) -> u32 {
    be32(b, 0).unwrap_or(0)
}

/// Decodes a CAPWAP data message at `off`; false when it is not one (DTLS, or too
/// short for its header), which the caller keeps as data.
pub(crate) fn decode_capwap(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let b = &p.data[off..end];
    // Preamble: version 0, type 0 (type 1 is a DTLS record).
    if b.len() < 8 || b[0] != 0 {
        return false;
    }
    let w = capwap_word(b);
    let hlen = ((w >> 19) & 0x1f) as usize * 4;
    if hlen < 8 || b.len() < hlen {
        return false;
    }
    p.push(Proto::Capwap, off, off + hlen, end);
    let at = off + hlen;
    let (wbid, flags) = ((w >> 9) & 0x1f, w & 0x1ff);
    if flags & (CAPWAP_F | CAPWAP_K) != 0 || at >= end {
        // A fragment (no reassembly) or a keep-alive.
        push_data(p, at, end);
    } else if flags & CAPWAP_T == 0 {
        super::link::decode_eth(p, at, end);
    } else if wbid == 1 {
        decode_wlan(p, at, end, true);
    } else {
        push_data(p, at, end);
    }
    true
}

pub fn describe_capwap<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Capwap, base..base + hdr, format_args!("Control And Provisioning of Wireless Access Points - Data"));
    let mut f = Fields { v, base, avail: hdr };
    let pre = b.first().copied().unwrap_or(0);
    f.f("preamble.version", "Version", 0..1, Some(Value::U((pre >> 4).into())), None);
    f.f("preamble.type", "Type", 0..1, Some(Value::U((pre & 0x0f).into())), Some(format_args!("(CAPWAP Header)")));
    let w = capwap_word(b);
    let hlen = (w >> 19) & 0x1f;
    f.f("header.length", "Header Length", 1..2, Some(Value::U(hlen.into())), Some(format_args!("(4-byte words)")));
    f.f("header.rid", "Radio ID", 1..3, Some(Value::U(((w >> 14) & 0x1f).into())), None);
    let wbid = (w >> 9) & 0x1f;
    let wname = if wbid == 1 { "(IEEE 802.11)" } else { "" };
    f.f("header.wbid", "Wireless Binding ID", 2..3, Some(Value::U(wbid.into())), Some(format_args!("{wname}")));
    let flags = w & 0x1ff;
    f.f("header.flags", "Header Flags", 2..4, Some(Value::Hex(flags.into(), 3)), None);
    let t = if flags & CAPWAP_T != 0 { "(native frame format)" } else { "(IEEE 802.3 frame)" };
    f.f("header.flags.t", "Payload Type", 2..4, Some(Value::Bool(flags & CAPWAP_T != 0)), Some(format_args!("{t}")));
    f.f("header.flags.f", "Fragment", 2..4, Some(Value::Bool(flags & CAPWAP_F != 0)), None);
    f.f("header.flags.k", "Keep-Alive", 2..4, Some(Value::Bool(flags & CAPWAP_K != 0)), None);
    f.f("header.fragment.id", "Fragment ID", 4..6, be16(b, 4).map(|x| Value::U(x.into())), None);
    f.f("header.fragment.offset", "Fragment Offset", 6..8, be16(b, 6).map(|x| Value::U((x >> 3).into())), None);
}

/// 802.11 frame control (IEEE 802.11-2020 section 9.2.4.1): its first byte holds
/// version, type and subtype, its second the flags. Cisco's CAPWAP sends the two
/// bytes swapped, which Wireshark undoes by default (`wlan_bsfc`).
fn frame_control(b: &[u8], swapped: bool) -> Option<(u8, u8)> {
    let (x, y) = (*b.first()?, *b.get(1)?);
    Some(if swapped { (y, x) } else { (x, y) })
}

const FLAG_TO_DS: u8 = 0x01;
const FLAG_FROM_DS: u8 = 0x02;
const FLAG_PROTECTED: u8 = 0x40;
const FLAG_ORDER: u8 = 0x80;

/// Header length of a data frame: 24 bytes, a fourth address between access points
/// (both DS bits), QoS control for QoS subtypes, HT control when a QoS frame has the
/// order bit.
fn data_header_len(kind: u8, flags: u8) -> usize {
    let qos = kind & 0x80 != 0;
    24 + if flags & (FLAG_TO_DS | FLAG_FROM_DS) == FLAG_TO_DS | FLAG_FROM_DS { 6 } else { 0 }
        + if qos { 2 } else { 0 }
        + if qos && flags & FLAG_ORDER != 0 { 4 } else { 0 }
}

pub(crate) fn decode_wlan(p: &mut Packet<'_>, off: usize, end: usize, swapped: bool) {
    let b = &p.data[off..end];
    let Some((kind, flags)) = frame_control(b, swapped) else {
        p.push(Proto::Wlan, off, end, end);
        return p.fail(Proto::Wlan, off, Problem::Truncated { needed: 24, available: b.len() });
    };
    if (kind >> 2) & 3 != 2 {
        // Management and control frames: their bodies are not decoded.
        let hl = b.len().min(if (kind >> 2) & 3 == 0 { 24 } else { 10 });
        p.push(Proto::Wlan, off, off + hl, end);
        return push_data(p, off + hl, end);
    }
    let hl = data_header_len(kind, flags);
    if b.len() < hl {
        p.push(Proto::Wlan, off, end, end);
        return p.fail(Proto::Wlan, off, Problem::Truncated { needed: hl, available: b.len() });
    }
    p.push(Proto::Wlan, off, off + hl, end);
    // Subtypes with bit 2 set (Null, QoS Null, CF-Ack/Poll only) carry no data;
    // a protected frame's body is ciphertext.
    if kind & 0x40 != 0 || flags & FLAG_PROTECTED != 0 {
        return push_data(p, off + hl, end);
    }
    super::llc::decode_llc(p, off + hl, end)
}

pub fn describe_wlan<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize, swapped: bool) {
    let (kind, flags) = frame_control(b, swapped).unwrap_or((0, 0));
    let data = (kind >> 2) & 3 == 2;
    v.layer(
        Proto::Wlan,
        base..base + hdr,
        format_args!("IEEE 802.11 {}", if data { "Data" } else { "frame (body not decoded)" }),
    );
    let mut f = Fields { v, base, avail: hdr };
    let sw = if swapped { "(byte-swapped, as Cisco's CAPWAP sends it)" } else { "" };
    f.f(
        "fc",
        "Frame Control Field",
        0..2,
        Some(Value::Hex((u16::from(kind) << 8 | u16::from(flags)).into(), 4)),
        Some(format_args!("{sw}")),
    );
    let ts = u16::from((kind >> 2) & 3) << 4 | u16::from(kind >> 4);
    f.f("fc.type_subtype", "Type/Subtype", 0..2, Some(Value::Hex(ts.into(), 4)), None);
    f.f("fc.ds", "DS status", 0..2, Some(Value::Hex((flags & 3).into(), 1)), None);
    f.f("fc.protected", "Protected flag", 0..2, Some(Value::Bool(flags & FLAG_PROTECTED != 0)), None);
    f.f("duration", "Duration/ID", 2..4, b.get(2..4).map(|d| Value::U(u16::from_le_bytes([d[0], d[1]]).into())), None);
    if !data {
        f.f("ra", "Receiver address", 4..10, arr::<6>(b, 4).map(Value::Mac), None);
        return;
    }
    let (a1, a2, a3) = (arr::<6>(b, 4), arr::<6>(b, 10), arr::<6>(b, 16));
    // Which address is which depends on the DS bits (section 9.3.2.1, table 9-30).
    let (da, sa, bssid) = match flags & 3 {
        0 => ((4..10, a1), (10..16, a2), Some((16..22, a3))),
        1 => ((16..22, a3), (10..16, a2), Some((4..10, a1))),
        2 => ((4..10, a1), (16..22, a3), Some((10..16, a2))),
        _ => ((16..22, a3), (24..30, arr::<6>(b, 24)), None),
    };
    f.f("ra", "Receiver address", 4..10, a1.map(Value::Mac), None);
    f.f("ta", "Transmitter address", 10..16, a2.map(Value::Mac), None);
    f.f("da", "Destination address", da.0, da.1.map(Value::Mac), None);
    f.f("sa", "Source address", sa.0, sa.1.map(Value::Mac), None);
    if let Some((r, m)) = bssid {
        f.f("bssid", "BSS Id", r, m.map(Value::Mac), None);
    }
    let seq = b.get(22..24).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]));
    f.f("frag", "Fragment number", 22..24, Some(Value::U((seq & 0x0f).into())), None);
    f.f("seq", "Sequence number", 22..24, Some(Value::U((seq >> 4).into())), None);
    if kind & 0x80 != 0 {
        let q = hdr - 2 - if flags & FLAG_ORDER != 0 { 4 } else { 0 };
        let qos = b.get(q..q + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
        f.f("qos.tid", "TID", q..q + 2, qos.map(|x| Value::U((x & 0x0f).into())), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::source::LinkType;
    use etherparse::PacketBuilder;
    use Proto::*;

    fn capwap_in_udp(capwap: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([172, 50, 100, 155], [172, 16, 100, 87], 64)
            .udp(41264, 5247)
            .write(&mut f, capwap)
            .unwrap();
        f
    }

    fn protos(f: &[u8]) -> Vec<Proto> {
        decode(LinkType::ETHERNET, f, f.len() as u32).layers().iter().map(|l| l.proto).collect()
    }

    #[test]
    fn capwap_carries_swapped_802_11_data_with_llc() {
        let mut ip = Vec::new();
        PacketBuilder::ipv4([10, 1, 3, 68], [74, 125, 130, 188], 64)
            .tcp(47025, 443, 1, 65535)
            .syn()
            .write(&mut ip, &[])
            .unwrap();
        // Preamble 0; HLEN 4 words, RID 0, WBID 1, flags T and W; fragment id/offset;
        // wireless info: length 4, 4 bytes, 3 bytes of padding.
        let mut c = vec![0x00, 0x20, 0x03, 0x20, 0, 0, 0, 0, 0x04, 0xbf, 0x23, 0, 0, 0, 0, 0];
        // 802.11 data, swapped frame control (flags To DS, then type data), duration,
        // BSSID, SA, DA, sequence control; then SNAP for IPv4.
        c.extend_from_slice(&[0x11, 0x08, 0x2c, 0x00]);
        c.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 0x76, 0x30]);
        c.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        c.extend_from_slice(&ip);
        let f = capwap_in_udp(&c);
        assert_eq!(protos(&f), [Eth, Ipv4, Udp, Capwap, Wlan, Llc, Ipv4, Tcp]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert_eq!(p.tcp().and_then(|t| t.dst_port()), Some(443));
        // A protected frame: ciphertext after the header.
        let mut enc = c.clone();
        enc[16] |= FLAG_PROTECTED;
        assert_eq!(protos(&capwap_in_udp(&enc)), [Eth, Ipv4, Udp, Capwap, Wlan, Data]);
        // DTLS (preamble type 1) is not decoded as a data message.
        let mut dtls = c.clone();
        dtls[0] = 0x01;
        assert_eq!(protos(&capwap_in_udp(&dtls)), [Eth, Ipv4, Udp, Data]);
        for n in 0..44 {
            let _ = protos(&capwap_in_udp(&c[..n]));
        }
    }
}
