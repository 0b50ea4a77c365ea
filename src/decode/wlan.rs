//! CAPWAP data channel (RFC 5415, UDP port 5247): an access point tunnels its
//! clients' frames to the controller, either as 802.3 frames or (RFC 5416) as
//! native IEEE 802.11 frames, whose data frames carry LLC. Only the 802.11 data
//! frames that CAPWAP carries are decoded; management and control frames stay data.

use super::field::{get, get16, get32, get8, Field, Fields, Value, Visitor};
use super::{push_data, Packet, Problem, Proto};

/// Header layouts, relative to each header's first byte.
mod field {
    /// The CAPWAP header (RFC 5415 section 4.3): the preamble, then in one word
    /// HLEN (5 bits, in 4-byte words), RID, WBID (5 bits each) and the flags (9);
    /// fragment id and offset; then optional radio MAC and wireless information.
    pub mod capwap {
        use crate::decode::field::Field;

        /// Version (high nibble) and type (low; 1 is a DTLS record).
        pub const PREAMBLE: Field = 0..1;
        /// The preamble and the bitfields after it, read as one word.
        pub const WORD: Field = 0..4;
        /// The bytes holding each bitfield, as the tree highlights them.
        pub const HLEN: Field = 1..2;
        pub const RID: Field = 1..3;
        pub const WBID: Field = 2..3;
        pub const FLAGS: Field = 2..4;
        pub const FRAGMENT_ID: Field = 4..6;
        /// In 8-byte units, the top 13 bits.
        pub const FRAGMENT_OFFSET: Field = 6..8;
        pub const HEADER_LEN: usize = FRAGMENT_OFFSET.end;
    }

    /// An IEEE 802.11 MAC header (IEEE 802.11-2020 section 9.2.3): frame control,
    /// duration (little-endian, as every multi-byte field here), three addresses and
    /// sequence control; data frames add a fourth address between access points,
    /// QoS control and HT control.
    pub mod wlan {
        use crate::decode::field::Field;

        /// Version, type and subtype in one byte, the flags in the other.
        pub const FC: Field = 0..2;
        pub const DURATION: Field = 2..4;
        pub const ADDR1: Field = 4..10;
        pub const ADDR2: Field = 10..16;
        pub const ADDR3: Field = 16..22;
        /// Fragment number (4 bits) and sequence number (12).
        pub const SEQ_CTRL: Field = 22..24;
        /// Management and data frames without the optional fields.
        pub const HEADER_LEN: usize = SEQ_CTRL.end;
        /// Control frames: the header as far as the receiver's address.
        pub const CONTROL_HEADER_LEN: usize = ADDR1.end;
        /// With both DS bits (between access points).
        pub const ADDR4: Field = HEADER_LEN..HEADER_LEN + 6;
        pub const QOS_LEN: usize = 2;
        pub const HT_LEN: usize = 4;

        /// QoS control in a QoS data header of `hdr` bytes, before the HT control
        /// when there is one: QoS and HT control end the header.
        pub const fn qos(hdr: usize, ht: bool) -> Option<Field> {
            let Some(start) = hdr.checked_sub(QOS_LEN + if ht { HT_LEN } else { 0 }) else { return None };
            Some(start..start + QOS_LEN)
        }
    }
}
use field::{capwap, wlan};

pub const CAPWAP_DATA_PORT: u16 = 5247;

/// Header flags (RFC 5415 section 4.3): T (native frame format), F (fragment),
/// W (wireless specific information), M (radio MAC), K (keep-alive).
const CAPWAP_T: u32 = 0x100;
const CAPWAP_F: u32 = 0x080;
const CAPWAP_K: u32 = 0x008;

/// The preamble and the header's first bits: HLEN (5 bits, in 4-byte words), RID,
/// WBID (5 bits each), flags (9 bits).
fn capwap_word(b: &[u8]) -> u32 {
    get32(b, capwap::WORD).unwrap_or(0)
}

/// Decodes a CAPWAP data message at `off`; false when it is not one (DTLS, or too
/// short for its header), which the caller keeps as data.
pub(crate) fn decode_capwap(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let b = &p.data[off..end];
    // Preamble: version 0, type 0 (type 1 is a DTLS record).
    if b.len() < capwap::HEADER_LEN || get8(b, capwap::PREAMBLE) != Some(0) {
        return false;
    }
    let w = capwap_word(b);
    let hlen = ((w >> 19) & 0x1f) as usize * 4;
    if hlen < capwap::HEADER_LEN || b.len() < hlen {
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
    let pre = get8(b, capwap::PREAMBLE).unwrap_or(0);
    f.f("preamble.version", "Version", capwap::PREAMBLE, Some(Value::U((pre >> 4).into())), None);
    let m = format_args!("(CAPWAP Header)");
    f.f("preamble.type", "Type", capwap::PREAMBLE, Some(Value::U((pre & 0x0f).into())), Some(m));
    let w = capwap_word(b);
    let hlen = (w >> 19) & 0x1f;
    let m = format_args!("(4-byte words)");
    f.f("header.length", "Header Length", capwap::HLEN, Some(Value::U(hlen.into())), Some(m));
    f.f("header.rid", "Radio ID", capwap::RID, Some(Value::U(((w >> 14) & 0x1f).into())), None);
    let wbid = (w >> 9) & 0x1f;
    let wname = if wbid == 1 { "(IEEE 802.11)" } else { "" };
    let m = format_args!("{wname}");
    f.f("header.wbid", "Wireless Binding ID", capwap::WBID, Some(Value::U(wbid.into())), Some(m));
    let flags = w & 0x1ff;
    let r = capwap::FLAGS;
    f.f("header.flags", "Header Flags", r.clone(), Some(Value::Hex(flags.into(), 3)), None);
    let t = if flags & CAPWAP_T != 0 { "(native frame format)" } else { "(IEEE 802.3 frame)" };
    let m = format_args!("{t}");
    f.f("header.flags.t", "Payload Type", r.clone(), Some(Value::Bool(flags & CAPWAP_T != 0)), Some(m));
    f.f("header.flags.f", "Fragment", r.clone(), Some(Value::Bool(flags & CAPWAP_F != 0)), None);
    f.f("header.flags.k", "Keep-Alive", r, Some(Value::Bool(flags & CAPWAP_K != 0)), None);
    let id = get16(b, capwap::FRAGMENT_ID).map(|x| Value::U(x.into()));
    f.f("header.fragment.id", "Fragment ID", capwap::FRAGMENT_ID, id, None);
    let offset = get16(b, capwap::FRAGMENT_OFFSET).map(|x| Value::U((x >> 3).into()));
    f.f("header.fragment.offset", "Fragment Offset", capwap::FRAGMENT_OFFSET, offset, None);
}

/// 802.11 frame control (IEEE 802.11-2020 section 9.2.4.1): its first byte holds
/// version, type and subtype, its second the flags. Cisco's CAPWAP sends the two
/// bytes swapped, which Wireshark undoes by default (`wlan_bsfc`).
fn frame_control(b: &[u8], swapped: bool) -> Option<(u8, u8)> {
    let [x, y] = get::<2>(b, wlan::FC)?;
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
    let addrs = if flags & (FLAG_TO_DS | FLAG_FROM_DS) == FLAG_TO_DS | FLAG_FROM_DS {
        wlan::ADDR4.end
    } else {
        wlan::HEADER_LEN
    };
    addrs + if qos { wlan::QOS_LEN } else { 0 } + if qos && flags & FLAG_ORDER != 0 { wlan::HT_LEN } else { 0 }
}

pub(crate) fn decode_wlan(p: &mut Packet<'_>, off: usize, end: usize, swapped: bool) {
    let b = &p.data[off..end];
    let Some((kind, flags)) = frame_control(b, swapped) else {
        p.push(Proto::Wlan, off, end, end);
        return p.fail(Proto::Wlan, off, Problem::Truncated { needed: wlan::HEADER_LEN, available: b.len() });
    };
    if (kind >> 2) & 3 != 2 {
        // Management and control frames: their bodies are not decoded.
        let hl = b.len().min(if (kind >> 2) & 3 == 0 { wlan::HEADER_LEN } else { wlan::CONTROL_HEADER_LEN });
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

/// A little-endian 16-bit field; `None` past the captured bytes.
fn le16(b: &[u8], r: Field) -> Option<u16> {
    get(b, r).map(u16::from_le_bytes)
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
    let fc = Value::Hex((u16::from(kind) << 8 | u16::from(flags)).into(), 4);
    f.f("fc", "Frame Control Field", wlan::FC, Some(fc), Some(format_args!("{sw}")));
    let ts = u16::from((kind >> 2) & 3) << 4 | u16::from(kind >> 4);
    f.f("fc.type_subtype", "Type/Subtype", wlan::FC, Some(Value::Hex(ts.into(), 4)), None);
    f.f("fc.ds", "DS status", wlan::FC, Some(Value::Hex((flags & 3).into(), 1)), None);
    f.f("fc.protected", "Protected flag", wlan::FC, Some(Value::Bool(flags & FLAG_PROTECTED != 0)), None);
    let duration = le16(b, wlan::DURATION).map(|x| Value::U(x.into()));
    f.f("duration", "Duration/ID", wlan::DURATION, duration, None);
    let addr = |r: Field| (r.clone(), get::<6>(b, r).map(Value::Mac));
    let (a1, a2, a3) = (addr(wlan::ADDR1), addr(wlan::ADDR2), addr(wlan::ADDR3));
    if !data {
        f.f("ra", "Receiver address", a1.0, a1.1, None);
        return;
    }
    // Which address is which depends on the DS bits (section 9.3.2.1, table 9-30).
    let (da, sa, bssid) = match flags & 3 {
        0 => (a1.clone(), a2.clone(), Some(a3)),
        1 => (a3, a2.clone(), Some(a1.clone())),
        2 => (a1.clone(), a3, Some(a2.clone())),
        _ => (a3, addr(wlan::ADDR4), None),
    };
    f.f("ra", "Receiver address", a1.0, a1.1, None);
    f.f("ta", "Transmitter address", a2.0, a2.1, None);
    f.f("da", "Destination address", da.0, da.1, None);
    f.f("sa", "Source address", sa.0, sa.1, None);
    if let Some((r, m)) = bssid {
        f.f("bssid", "BSS Id", r, m, None);
    }
    let seq = le16(b, wlan::SEQ_CTRL).unwrap_or(0);
    f.f("frag", "Fragment number", wlan::SEQ_CTRL, Some(Value::U((seq & 0x0f).into())), None);
    f.f("seq", "Sequence number", wlan::SEQ_CTRL, Some(Value::U((seq >> 4).into())), None);
    if kind & 0x80 != 0 {
        // A header cut short leaves no room for QoS control: nothing to show.
        if let Some(q) = wlan::qos(hdr, flags & FLAG_ORDER != 0) {
            let qos = le16(b, q.clone()).map(|x| Value::U((x & 0x0f).into()));
            f.f("qos.tid", "TID", q, qos, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::decode::field::check;
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

    /// Every cut of `f` (as a snaplen would make it) decodes and describes.
    fn cut_everywhere(f: &[u8]) {
        for n in 0..=f.len() {
            let p = decode(LinkType::ETHERNET, &f[..n], f.len() as u32);
            crate::decode::describe(&p, &crate::decode::Context::default(), &mut check::Seen::default());
        }
    }

    /// CAPWAP, HLEN 2 words, WBID 1, flag T, then an 802.11 frame with the frame
    /// control swapped: `kind` (version, type, subtype) and `flags`, duration,
    /// addresses 1 to 3, sequence control; `extra` (address 4, QoS, HT control), SNAP
    /// for IPv4 and a UDP datagram.
    fn capwap_wlan(kind: u8, flags: u8, extra: &[u8]) -> Vec<u8> {
        let mut c = vec![0x00, 0x10, 0x03, 0x00, 0, 0, 0, 0];
        c.extend_from_slice(&[flags, kind, 0x2c, 0x00]);
        c.extend((1..=18).chain([0x76, 0x30]));
        c.extend_from_slice(extra);
        c.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2).write(&mut c, b"hi").unwrap();
        capwap_in_udp(&c)
    }

    #[test]
    fn capwap_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use capwap::*;
        let fields = [
            ("preamble.version", PREAMBLE),
            ("preamble.type", PREAMBLE),
            ("header.length", HLEN),
            ("header.rid", RID),
            ("header.wbid", WBID),
            ("header.flags", FLAGS),
            ("header.flags.t", FLAGS),
            ("header.flags.f", FLAGS),
            ("header.flags.k", FLAGS),
            ("header.fragment.id", FRAGMENT_ID),
            ("header.fragment.offset", FRAGMENT_OFFSET),
        ];
        check::table(HEADER_LEN, &fields, &[HLEN, RID, WBID, FLAGS]);
        check::table(HEADER_LEN, &[("word", WORD), ("id", FRAGMENT_ID)], &[]);
        let f = capwap_wlan(0x08, 0x01, &[]);
        let mut seen = check::Seen::default();
        describe_capwap(&mut seen, &f[42..], 42, HEADER_LEN);
        check::tree(&seen, 42, &fields, &[]);
        assert_eq!(capwap_word(&f[42..]), 0x0010_0300);
    }

    #[test]
    fn wlan_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use wlan::*;
        let head = [
            ("fc", FC),
            ("fc.type_subtype", FC),
            ("fc.ds", FC),
            ("fc.protected", FC),
            ("duration", DURATION),
            ("ra", ADDR1),
            ("ta", ADDR2),
        ];
        let seq = [("frag", SEQ_CTRL), ("seq", SEQ_CTRL)];
        // Per DS bits: destination, source, BSSID (none between access points).
        for (flags, da, sa, bssid) in [
            (0x00, ADDR1, ADDR2, Some(ADDR3)),
            (0x01, ADDR3, ADDR2, Some(ADDR1)),
            (0x02, ADDR1, ADDR3, Some(ADDR2)),
            (0x03, ADDR3, ADDR4, None),
        ] {
            let mut fields = head.to_vec();
            fields.extend([("da", da), ("sa", sa)]);
            fields.extend(bssid.map(|r| ("bssid", r)));
            fields.extend(seq.clone());
            let four = flags == 0x03;
            // Address, QoS and HT fields each listed once, in the range the tree shows.
            let mut distinct = fields.clone();
            distinct.retain(|(k, _)| !matches!(*k, "da" | "sa" | "bssid"));
            distinct.push(("a3", ADDR3));
            distinct.extend(four.then_some(("a4", ADDR4)));
            check::table(if four { ADDR4.end } else { HEADER_LEN }, &distinct, &[]);
            let f = capwap_wlan(0x08, flags, if four { &[30, 31, 32, 33, 34, 35] } else { &[] });
            let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
            let l = p.layer(Proto::Wlan).unwrap();
            let hdr = l.header_range().len();
            assert_eq!(hdr, data_header_len(0x08, flags));
            let mut seen = check::Seen::default();
            describe_wlan(&mut seen, &f[l.start..], l.start, hdr, true);
            // da, sa and bssid name the same bytes as ra, ta or address 3: check each key alone.
            for (k, r) in &fields {
                let got: Vec<_> = seen.0.iter().filter(|(sk, _)| sk == k).map(|(_, r)| r.clone()).collect();
                let want = l.start + r.start..l.start + r.end;
                assert_eq!(got, [want], "{k}");
            }
            assert_eq!(seen.0.len(), fields.len());
        }
        // QoS data with HT control (order bit): QoS control before the HT control.
        let f = capwap_wlan(0x88, 0x81, &[0x05, 0x00, 0, 0, 0, 0]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        let l = p.layer(Proto::Wlan).unwrap();
        let hdr = l.header_range().len();
        assert_eq!((hdr, qos(hdr, true), qos(HEADER_LEN + QOS_LEN, false)), (30, Some(24..26), Some(24..26)));
        let mut seen = check::Seen::default();
        describe_wlan(&mut seen, &f[l.start..], l.start, hdr, true);
        assert!(seen.0.contains(&("qos.tid", l.start + 24..l.start + 26)));
        assert_eq!(qos(3, true), None);
        // A management frame: the receiver's address only.
        let mut seen = check::Seen::default();
        describe_wlan(&mut seen, &[0x00, 0x80, 0, 0, 1, 2, 3, 4, 5, 6], 0, CONTROL_HEADER_LEN, false);
        check::tree(&seen, 0, &head[..6], &[]);
    }

    #[test]
    fn every_cut_decodes_and_describes() {
        for (kind, flags, extra) in [
            (0x08u8, 0x01u8, &[][..]),
            (0x08, 0x03, &[30, 31, 32, 33, 34, 35][..]),
            (0x88, 0x02, &[0x05, 0x00][..]),
            (0x88, 0x81, &[0x05, 0x00, 0, 0, 0, 0][..]),
            (0x88, 0x83, &[30, 31, 32, 33, 34, 35, 0x05, 0x00, 0, 0, 0, 0][..]),
            (0x48, 0x01, &[][..]),
            (0x08, 0x41, &[][..]),
            (0x80, 0x00, &[][..]),
            (0xd4, 0x00, &[][..]),
        ] {
            cut_everywhere(&capwap_wlan(kind, flags, extra));
        }
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
