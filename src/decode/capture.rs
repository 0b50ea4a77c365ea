//! Link types whose header the capturing system writes rather than the wire:
//! Solaris IPNET (link type 226), IP over InfiniBand (242, with the 40-byte address
//! pseudo-header libpcap adds), Linux NFLOG (239) and Juniper's capture header
//! (178). Each says which protocol follows; decoding goes on into it.

use super::field::{get, get16, get32, get8, Fields, Value, Visitor};
use super::{push_data, Packet, Proto};

/// Header layouts, relative to each header's first byte.
mod field {
    /// Solaris IPNET (`<inet/ipnet.h>`).
    pub mod ipnet {
        use crate::decode::field::Field;

        pub const VERSION: Field = 0..1;
        /// Solaris' own numbers, not the BSD ones.
        pub const FAMILY: Field = 1..2;
        /// Inbound, outbound, local.
        pub const HOOK: Field = 2..4;
        pub const PKTLEN: Field = 4..8;
        pub const IFINDEX: Field = 8..12;
        pub const GRIFINDEX: Field = 12..16;
        pub const ZSRC: Field = 16..20;
        pub const ZDST: Field = 20..24;
        pub const HEADER_LEN: usize = ZDST.end;
    }

    /// IPoIB as libpcap writes it (LINKTYPE_IPOIB): a 40-byte pseudo-header standing
    /// in for the InfiniBand global route header (all zero but the destination
    /// address when the packet was unicast), then the 4-byte IPoIB header (RFC 4391
    /// section 6: an ethertype and 2 reserved bytes).
    pub mod ipoib {
        use crate::decode::field::Field;

        /// Zero when there is no route header, only the destination address.
        pub const GRH_START: Field = 0..2;
        /// Source QPN (the low 24 bits).
        pub const SQPN_WORD: Field = 4..8;
        pub const SQPN: Field = SQPN_WORD.start + 1..SQPN_WORD.end;
        pub const SGID: Field = 8..24;
        /// Without a route header: the destination's QPN (low 24 bits), just
        /// before its GID.
        pub const DQPN_WORD: Field = 20..24;
        pub const DQPN: Field = DQPN_WORD.start + 1..DQPN_WORD.end;
        pub const DGID: Field = 24..40;
        pub const GRH_LEN: usize = DGID.end;
        pub const TYPE: Field = GRH_LEN..GRH_LEN + 2;
        pub const RESERVED: Field = TYPE.end..TYPE.end + 2;
        pub const HEADER_LEN: usize = RESERVED.end;
    }

    /// Linux NFLOG (`<linux/netfilter/nfnetlink_log.h>`): the nfgenmsg header, then
    /// TLVs, each padded to 4 bytes.
    pub mod nflog {
        use crate::decode::field::Field;

        /// AF_INET, AF_INET6, ...
        pub const FAMILY: Field = 0..1;
        pub const VERSION: Field = 1..2;
        /// Big-endian, unlike the TLVs' length and type.
        pub const RES_ID: Field = 2..4;
        pub const HEADER_LEN: usize = RES_ID.end;

        /// A TLV, relative to its first byte: its length (these 4 bytes and the
        /// value, not the padding) and type, in the capturing host's byte order.
        pub const TLV_LEN: Field = 0..2;
        pub const TLV_TYPE: Field = 2..4;
        pub const TLV_HEADER_LEN: usize = TLV_TYPE.end;

        /// The packet-header TLV's value (struct nfulnl_msg_packet_hdr), relative to
        /// the TLV: the hardware protocol (an ethertype, big-endian), the hook, a pad.
        pub const HW_PROTOCOL: Field = TLV_HEADER_LEN..TLV_HEADER_LEN + 2;
        pub const HOOK: Field = HW_PROTOCOL.end..HW_PROTOCOL.end + 1;
        pub const PAD: Field = HOOK.end..HOOK.end + 1;
        pub const PACKET_HDR_LEN: usize = PAD.end;
    }

    /// Juniper's capture header: the magic "MGC" and flags; with the extension flag
    /// the extensions' length and the extension TLVs; with the no-L2 flag a
    /// little-endian protocol code ends the header.
    pub mod juniper {
        use crate::decode::field::Field;

        pub const MAGIC: Field = 0..3;
        /// Direction (bit 0), no L2 header (bit 1), extensions (bit 7).
        pub const FLAGS: Field = 3..4;
        pub const HEADER_LEN: usize = FLAGS.end;
        /// The extension TLVs' total length; they follow it.
        pub const EXT_LEN: Field = 4..6;
        pub const EXT_HEADER_LEN: usize = EXT_LEN.end;

        pub const PAYLOAD_TYPE_LEN: usize = 4;
        /// The protocol code after `start` bytes of magic, flags and extensions.
        pub const fn payload_type_at(start: usize) -> Field {
            start..start + PAYLOAD_TYPE_LEN
        }
        /// The protocol code of a header of `hdr` bytes: its last four.
        pub const fn payload_type(hdr: usize) -> Field {
            hdr.saturating_sub(PAYLOAD_TYPE_LEN)..hdr
        }

        /// Protocol code 0xa248: an unexplained prefix before the IPv4 packet
        /// (packet-juniper.c).
        pub const A248_PREFIX_LEN: usize = 4;
    }
}
use field::{ipnet, ipoib, juniper, nflog};

/// `r` of a structure that begins at `at`.
fn shift(at: usize, r: super::field::Field) -> super::field::Field {
    at + r.start..at + r.end
}
use ipnet::HEADER_LEN as IPNET_HDR;

/// Solaris' own address family numbers (not the BSD ones).
const SOLARIS_AF_INET: u8 = 2;
const SOLARIS_AF_INET6: u8 = 26;

pub(crate) fn decode_ipnet(p: &mut Packet<'_>, end: usize) {
    if end < IPNET_HDR {
        return super::link::truncated(p, Proto::Ipnet, 0, IPNET_HDR);
    }
    p.push(Proto::Ipnet, 0, IPNET_HDR, end);
    match get8(p.data, ipnet::FAMILY).unwrap_or(0) {
        SOLARIS_AF_INET => super::ipv4::decode(p, IPNET_HDR, end),
        SOLARIS_AF_INET6 => super::ipv6::decode(p, IPNET_HDR, end),
        _ => push_data(p, IPNET_HDR, end),
    }
}

pub fn describe_ipnet<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let family = get8(b, ipnet::FAMILY).unwrap_or(0);
    let fam_name = match family {
        SOLARIS_AF_INET => "Solaris AF_INET",
        SOLARIS_AF_INET6 => "Solaris AF_INET6",
        _ => "unknown",
    };
    v.layer(Proto::Ipnet, base..base + IPNET_HDR, format_args!("Solaris IPNET"));
    let mut f = Fields { v, base, avail: b.len().min(IPNET_HDR) };
    f.f("version", "Header version", ipnet::VERSION, get8(b, ipnet::VERSION).map(|x| Value::U(x.into())), None);
    let m = format_args!("({fam_name})");
    f.f("family", "Address family", ipnet::FAMILY, Some(Value::U(family.into())), Some(m));
    let hook = get16(b, ipnet::HOOK).unwrap_or(0);
    let hook_name = match hook {
        0 => "Inbound",
        1 => "Outbound",
        2 => "Local",
        _ => "unknown",
    };
    f.f("htype", "Hook type", ipnet::HOOK, Some(Value::U(hook.into())), Some(format_args!("({hook_name})")));
    let u32f = |r| get32(b, r).map(|x| Value::U(x.into()));
    f.f("pktlen", "Data length", ipnet::PKTLEN, u32f(ipnet::PKTLEN), None);
    f.f("ifindex", "Interface index", ipnet::IFINDEX, u32f(ipnet::IFINDEX), None);
    f.f("grifindex", "Group interface index", ipnet::GRIFINDEX, u32f(ipnet::GRIFINDEX), None);
    f.f("zsrc", "Source Zone ID", ipnet::ZSRC, u32f(ipnet::ZSRC), None);
    f.f("zdst", "Destination Zone ID", ipnet::ZDST, u32f(ipnet::ZDST), None);
}

use ipoib::HEADER_LEN as IPOIB_HDR;

pub(crate) fn decode_ipoib(p: &mut Packet<'_>, end: usize) {
    if end < IPOIB_HDR {
        return super::link::truncated(p, Proto::Ipoib, 0, IPOIB_HDR);
    }
    p.push(Proto::Ipoib, 0, IPOIB_HDR, end);
    // Wireshark hands only these three on (packet-ipoib.c); anything else stays data.
    match get16(p.data, ipoib::TYPE).unwrap_or(0) {
        t @ (0x0800 | 0x86dd | 0x0806 | 0x8035) => super::decode_ethertype(p, t, IPOIB_HDR, end),
        _ => push_data(p, IPOIB_HDR, end),
    }
}

pub fn describe_ipoib<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    v.layer(Proto::Ipoib, base..base + IPOIB_HDR, format_args!("IP over Infiniband"));
    let mut f = Fields { v, base, avail: b.len().min(IPOIB_HDR) };
    let gid = |r| get::<16>(b, r).map(Value::Ipv6);
    let qpn = |r| get32(b, r).map(|x| Value::Hex((x & 0xff_ffff).into(), 6));
    if get16(b, ipoib::GRH_START) == Some(0) {
        // No route header: only the destination, in the last 20 bytes.
        f.f("daddr.qpn", "Destination QPN", ipoib::DQPN, qpn(ipoib::DQPN_WORD), None);
    } else {
        f.f("grh.sqpn", "Source QPN", ipoib::SQPN, qpn(ipoib::SQPN_WORD), None);
        f.f("grh.sgid", "Source GID", ipoib::SGID, gid(ipoib::SGID), None);
    }
    f.f("dgid", "Destination GID", ipoib::DGID, gid(ipoib::DGID), None);
    let t = get16(b, ipoib::TYPE).unwrap_or(0);
    let m = super::link::EthertypeMeaning(t).args();
    f.f("type", "Type", ipoib::TYPE, Some(Value::Hex(t.into(), 4)), Some(m));
    f.f("reserved", "Reserved", ipoib::RESERVED, get16(b, ipoib::RESERVED).map(|x| Value::Hex(x.into(), 4)), None);
}

/// NFLOG (Linux netfilter's log, LINKTYPE_NFLOG): address family, version,
/// resource id (big-endian), then TLVs whose length and type are in the capturing
/// host's byte order, each padded to 4 bytes. The packet is the payload TLV (9);
/// the packet-header TLV (1) may name its ethertype.
const NFULA_PACKET_HDR: u16 = 1;
const NFULA_PAYLOAD: u16 = 9;

/// Reads TLV lengths and types in the byte order the first TLV's length makes
/// sense in: little-endian hosts wrote nearly all captures, so that is tried first.
fn nflog_le(b: &[u8]) -> bool {
    let Some(x) = get::<2>(b, shift(nflog::HEADER_LEN, nflog::TLV_LEN)) else { return true };
    let fits = nflog::TLV_HEADER_LEN..=b.len() - nflog::HEADER_LEN;
    fits.contains(&usize::from(u16::from_le_bytes(x))) || !fits.contains(&usize::from(u16::from_be_bytes(x)))
}

/// The TLVs of an NFLOG record: (offset, length, type), until one is too short.
fn nflog_tlvs(b: &[u8]) -> impl Iterator<Item = (usize, usize, u16)> + '_ {
    let le = nflog_le(b);
    let rd = move |r| get::<2>(b, r).map(if le { u16::from_le_bytes } else { u16::from_be_bytes });
    let mut at = nflog::HEADER_LEN;
    std::iter::from_fn(move || {
        let len = usize::from(rd(shift(at, nflog::TLV_LEN))?);
        // The top bit of the type is NLA_F_NESTED (and a byte-order flag): not the type.
        let kind = rd(shift(at, nflog::TLV_TYPE))? & 0x7fff;
        if len < nflog::TLV_HEADER_LEN {
            return None;
        }
        let this = at;
        at += (len + 3) & !3;
        Some((this, len, kind))
    })
}

pub(crate) fn decode_nflog(p: &mut Packet<'_>, end: usize) {
    let b = &p.data[..end];
    if b.len() < nflog::HEADER_LEN {
        return super::link::truncated(p, Proto::Nflog, 0, nflog::HEADER_LEN);
    }
    let (mut payload, mut hw) = (None, 0u16);
    for (at, len, kind) in nflog_tlvs(b) {
        match kind {
            NFULA_PACKET_HDR if len == nflog::PACKET_HDR_LEN => {
                hw = get16(b, shift(at, nflog::HW_PROTOCOL)).unwrap_or(0)
            }
            NFULA_PAYLOAD => payload = Some((at + nflog::TLV_HEADER_LEN, (at + len).min(end))),
            _ => {}
        }
    }
    let Some((start, stop)) = payload else {
        p.push(Proto::Nflog, 0, end, end);
        return;
    };
    p.push(Proto::Nflog, 0, start, end);
    if hw != 0 {
        return super::decode_ethertype(p, hw, start, stop);
    }
    match get8(b, nflog::FAMILY).unwrap_or(0) {
        2 => super::ipv4::decode(p, start, stop),
        10 => super::ipv6::decode(p, start, stop),
        _ => push_data(p, start, stop),
    }
}

fn nflog_tlv_name(t: u16) -> &'static str {
    match t {
        1 => "NFULA_PACKET_HDR",
        2 => "NFULA_MARK",
        3 => "NFULA_TIMESTAMP",
        4 => "NFULA_IFINDEX_INDEV",
        5 => "NFULA_IFINDEX_OUTDEV",
        6 => "NFULA_IFINDEX_PHYSINDEV",
        7 => "NFULA_IFINDEX_PHYSOUTDEV",
        8 => "NFULA_HWADDR",
        9 => "NFULA_PAYLOAD",
        10 => "NFULA_PREFIX",
        11 => "NFULA_UID",
        12 => "NFULA_SEQ",
        13 => "NFULA_SEQ_GLOBAL",
        14 => "NFULA_GID",
        15 => "NFULA_HWTYPE",
        16 => "NFULA_HWHEADER",
        17 => "NFULA_HWLEN",
        _ => "unknown",
    }
}

pub fn describe_nflog<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Nflog, base..base + hdr, format_args!("Linux Netfilter NFLOG"));
    let mut f = Fields { v, base, avail: hdr };
    let fam = get8(b, nflog::FAMILY).unwrap_or(0);
    let fam_name = match fam {
        2 => "(IPv4)",
        10 => "(IPv6)",
        _ => "",
    };
    f.f("family", "Family", nflog::FAMILY, Some(Value::U(fam.into())), Some(format_args!("{fam_name}")));
    f.f("version", "Version", nflog::VERSION, get8(b, nflog::VERSION).map(|x| Value::U(x.into())), None);
    f.f("res_id", "Resource id", nflog::RES_ID, get16(b, nflog::RES_ID).map(|x| Value::U(x.into())), None);
    for (at, len, kind) in nflog_tlvs(b) {
        if at + nflog::TLV_HEADER_LEN > hdr {
            break;
        }
        let r = base + at..base + (at + len).min(b.len());
        f.v.group("tlv", "TLV", r, None, Some(format_args!("Type: {} ({kind}), Length: {len}", nflog_tlv_name(kind))));
        f.f("tlv_length", "Length", shift(at, nflog::TLV_LEN), Some(Value::U(len as u64)), None);
        let m = format_args!("({})", nflog_tlv_name(kind));
        f.f("tlv_type", "Type", shift(at, nflog::TLV_TYPE), Some(Value::U(kind.into())), Some(m));
        if kind == NFULA_PACKET_HDR && len == nflog::PACKET_HDR_LEN {
            let r = shift(at, nflog::HW_PROTOCOL);
            let hw = get16(b, r.clone()).unwrap_or(0);
            let m = super::link::EthertypeMeaning(hw).args();
            f.f("protocol", "HW protocol", r, Some(Value::Hex(hw.into(), 4)), Some(m));
            let r = shift(at, nflog::HOOK);
            let hook = get8(b, r.clone()).map(|x| Value::U(x.into()));
            f.f("hook", "Netfilter hook", r, hook, None);
        }
        f.v.end_group();
    }
}

/// Juniper's capture header (LINKTYPE_JUNIPER_ETHER): the magic "MGC", flags, and
/// when the extension flag is set a 2-byte length of extension TLVs. With the
/// "no L2" flag a 4-byte protocol code in the capturing host's (little-endian)
/// order replaces the Ethernet header.
const JUNIPER_MAGIC: &[u8; 3] = b"MGC";
const JUNIPER_FLAG_NO_L2: u8 = 0x02;
const JUNIPER_FLAG_EXT: u8 = 0x80;

/// Header length, and the protocol code when there is no link header.
fn juniper_header(b: &[u8]) -> Result<(usize, Option<u32>), usize> {
    if b.len() < juniper::HEADER_LEN {
        return Err(juniper::HEADER_LEN);
    }
    if get::<3>(b, juniper::MAGIC).as_ref() != Some(JUNIPER_MAGIC) {
        // Old JUNOS wrote no header at all (Wireshark: "No Magic-Number found!").
        return Ok((0, None));
    }
    let flags = get8(b, juniper::FLAGS).unwrap_or(0);
    let hl = if flags & JUNIPER_FLAG_EXT != 0 {
        let ext = get16(b, juniper::EXT_LEN).ok_or(juniper::EXT_HEADER_LEN)?;
        juniper::EXT_HEADER_LEN + usize::from(ext)
    } else {
        juniper::HEADER_LEN
    };
    if flags & JUNIPER_FLAG_NO_L2 != 0 {
        let r = juniper::payload_type_at(hl);
        let code = get(b, r.clone()).ok_or(r.end)?;
        return Ok((r.end, Some(u32::from_le_bytes(code))));
    }
    if b.len() < hl {
        return Err(hl);
    }
    Ok((hl, None))
}

pub(crate) fn decode_juniper(p: &mut Packet<'_>, end: usize) {
    let (hl, code) = match juniper_header(&p.data[..end]) {
        Ok(x) => x,
        Err(needed) => return super::link::truncated(p, Proto::Juniper, 0, needed),
    };
    p.push(Proto::Juniper, 0, hl, end);
    let Some(code) = code else {
        return super::link::decode_eth(p, hl, end);
    };
    // Wireshark's juniper.proto table (packet-juniper.h's codes).
    match code {
        2 | 3 => super::ipv4::decode(p, hl, end),
        // An unexplained 4-byte prefix, then IPv4 (packet-juniper.c).
        0xa248 if end >= hl + juniper::A248_PREFIX_LEN => super::ipv4::decode(p, hl + juniper::A248_PREFIX_LEN, end),
        6 | 7 => super::ipv6::decode(p, hl, end),
        4 | 5 | 8 | 32 if super::link::decode_mpls(p, hl, end) => {}
        202 => super::llc::decode_llc(p, hl, end),
        204 => super::link::decode_eth(p, hl, end),
        _ => push_data(p, hl, end),
    }
}

pub fn describe_juniper<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    v.layer(Proto::Juniper, base..base + hdr, format_args!("Juniper Ethernet"));
    let mut f = Fields { v, base, avail: hdr };
    if hdr < juniper::HEADER_LEN {
        return;
    }
    let (Some([m0, m1, m2]), Some(flags)) = (get::<3>(b, juniper::MAGIC), get8(b, juniper::FLAGS)) else {
        return;
    };
    let magic = u32::from_be_bytes([0, m0, m1, m2]);
    f.f("magic-number", "Magic Number", juniper::MAGIC, Some(Value::Hex(magic.into(), 6)), None);
    let m = format_args!("{}", if flags & 1 == 1 { "(In)" } else { "(Out)" });
    f.f("direction", "Direction", juniper::FLAGS, Some(Value::U((flags & 1).into())), Some(m));
    let m = format_args!("{}", if flags & JUNIPER_FLAG_NO_L2 != 0 { "(Absent)" } else { "(Present)" });
    f.f("l2hdr", "L2 header presence", juniper::FLAGS, Some(Value::U(((flags >> 1) & 1).into())), Some(m));
    if flags & JUNIPER_FLAG_EXT != 0 {
        let ext = get16(b, juniper::EXT_LEN).map(|x| Value::U(x.into()));
        f.f("ext_total_len", "Extension(s) Total length", juniper::EXT_LEN, ext, None);
    }
    if flags & JUNIPER_FLAG_NO_L2 != 0 {
        let r = juniper::payload_type(hdr);
        let code = get(b, r.clone()).map_or(0, u32::from_le_bytes);
        f.f("payload_type", "Payload Type", r, Some(Value::U(code.into())), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::field::check;
    use crate::decode::{decode, Problem};
    use crate::source::LinkType;

    #[test]
    fn ipoib_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use ipoib::*;
        // With a route header, and with only the destination address.
        let routed = [("grh.sqpn", SQPN), ("grh.sgid", SGID), ("dgid", DGID), ("type", TYPE), ("reserved", RESERVED)];
        let unicast = [("daddr.qpn", DQPN), ("dgid", DGID), ("type", TYPE), ("reserved", RESERVED)];
        check::table(HEADER_LEN, &routed, &[]);
        check::table(HEADER_LEN, &unicast, &[]);
        check::table(HEADER_LEN, &[("start", GRH_START), ("sqpn", SQPN_WORD), ("dqpn", DQPN_WORD)], &[]);
        let mut h = vec![0u8; HEADER_LEN];
        h[TYPE].copy_from_slice(&[0x08, 0x00]);
        let mut seen = check::Seen::default();
        describe_ipoib(&mut seen, &h, 0);
        check::tree(&seen, 0, &unicast, &[]);
        h[0] = 0x60; // a route header
        let mut seen = check::Seen::default();
        describe_ipoib(&mut seen, &h, 0);
        check::tree(&seen, 0, &routed, &[]);
    }

    #[test]
    fn ipnet_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use ipnet::*;
        let fields = [
            ("version", VERSION),
            ("family", FAMILY),
            ("htype", HOOK),
            ("pktlen", PKTLEN),
            ("ifindex", IFINDEX),
            ("grifindex", GRIFINDEX),
            ("zsrc", ZSRC),
            ("zdst", ZDST),
        ];
        check::table(HEADER_LEN, &fields, &[]);
        let mut h = vec![0u8; HEADER_LEN];
        h[0] = 1; // version
        h[1] = SOLARIS_AF_INET;
        h[7] = 28; // data length
        let mut seen = check::Seen::default();
        describe_ipnet(&mut seen, &h, 0);
        check::tree(&seen, 0, &fields, &[]);
    }

    fn ip_udp() -> Vec<u8> {
        let mut ip = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2).write(&mut ip, b"hi").unwrap();
        ip
    }

    fn protos(link: LinkType, f: &[u8]) -> Vec<Proto> {
        decode(link, f, f.len() as u32).layers().iter().map(|l| l.proto).collect()
    }

    /// Every cut of `f` (as a snaplen would make it) decodes and describes.
    fn cut_everywhere(link: LinkType, f: &[u8]) {
        for n in 0..=f.len() {
            let p = decode(link, &f[..n], f.len() as u32);
            crate::decode::describe(&p, &crate::decode::Context::default(), &mut check::Seen::default());
        }
    }

    /// The NFLOG record of `nflog_payload_tlv_by_family_or_hardware_protocol`, TLVs little-endian.
    fn nflog_record(ip: &[u8]) -> Vec<u8> {
        // AF_INET, version 0, resource 20; packet header TLV: length 8, type 1, 0x0800, hook 1.
        let mut f = vec![2, 0, 0, 20, 8, 0, 1, 0, 0x08, 0x00, 1, 0];
        // A prefix TLV: "ab" and its NUL, padded to 8.
        f.extend_from_slice(&[7, 0, 10, 0, b'a', b'b', 0, 0]);
        f.extend_from_slice(&((ip.len() + 4) as u16).to_le_bytes());
        f.extend_from_slice(&[9, 0]);
        f.extend_from_slice(ip);
        f
    }

    #[test]
    fn nflog_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use nflog::*;
        let fields = [("family", FAMILY), ("version", VERSION), ("res_id", RES_ID)];
        check::table(HEADER_LEN, &fields, &[]);
        let tlv = [("tlv_length", TLV_LEN), ("tlv_type", TLV_TYPE), ("protocol", HW_PROTOCOL), ("hook", HOOK)];
        check::table(PACKET_HDR_LEN, &tlv, &[]);
        check::table(PACKET_HDR_LEN, &[("pad", PAD)], &[]);
        let f = nflog_record(&ip_udp());
        let p = decode(LinkType::NFLOG, &f, f.len() as u32);
        let hdr = p.layer(Proto::Nflog).unwrap().header_range().len();
        let mut seen = check::Seen::default();
        describe_nflog(&mut seen, &f, 0, hdr);
        // The fixed header, then each TLV's fields at the TLV's start (4, 12, 20).
        let (head, rest) = seen.0.split_at(fields.len());
        check::tree(&check::Seen(head.to_vec()), 0, &fields, &[]);
        let groups: Vec<_> = rest.iter().filter(|(k, _)| *k == "tlv").map(|(_, r)| r.clone()).collect();
        assert_eq!(groups, [4..12, 12..19, 20..f.len()]);
        let first: Vec<_> = rest[1..5].to_vec();
        check::tree(&check::Seen(first), 4, &tlv, &[]);
        let last = rest.iter().rposition(|(k, _)| *k == "tlv").unwrap();
        check::tree(&check::Seen(rest[last + 1..].to_vec()), 20, &tlv[..2], &[]);
    }

    #[test]
    fn juniper_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use juniper::*;
        let base = [("magic-number", MAGIC), ("direction", FLAGS), ("l2hdr", FLAGS)];
        check::table(HEADER_LEN, &base, &[]);
        let mut fields = base.to_vec();
        fields.push(("ext_total_len", EXT_LEN));
        check::table(EXT_HEADER_LEN, &fields, &[]);
        // Extensions (2 bytes of them) and no L2 header: protocol 2 (IPv4) ends the header.
        let hdr = EXT_HEADER_LEN + 2 + PAYLOAD_TYPE_LEN;
        assert_eq!((payload_type_at(EXT_HEADER_LEN + 2), payload_type(hdr)), (8..12, 8..12));
        fields.push(("payload_type", payload_type(hdr)));
        let mut f = b"MGC".to_vec();
        f.extend_from_slice(&[0x83, 0, 2, 9, 9, 2, 0, 0, 0]);
        f.extend_from_slice(&ip_udp());
        assert_eq!(decode(LinkType::JUNIPER_ETHER, &f, f.len() as u32).layers()[0].header_range(), 0..hdr);
        let mut seen = check::Seen::default();
        describe_juniper(&mut seen, &f, 0, hdr);
        check::tree(&seen, 0, &fields, &[]);
        assert_eq!(juniper_header(&f), Ok((hdr, Some(2))));
        // Neither flag: magic and flags only, Ethernet follows.
        let mut seen = check::Seen::default();
        describe_juniper(&mut seen, b"MGC\x01", 0, HEADER_LEN);
        check::tree(&seen, 0, &base, &[]);
    }

    #[test]
    fn ipnet_carries_ip_by_solaris_family() {
        // Version 1, AF_INET (2), inbound, data length, ifindex 2, group 0, zones.
        let mut f = vec![1, 2, 0, 0, 0, 0, 0, 30, 0, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        f.extend_from_slice(&ip_udp());
        let link = LinkType::IPNET;
        assert_eq!(protos(link, &f), [Proto::Ipnet, Proto::Ipv4, Proto::Udp, Proto::Data]);
        // AF_INET6 is 26 on Solaris; an unknown family is data.
        f[1] = 99;
        assert_eq!(protos(link, &f), [Proto::Ipnet, Proto::Data]);
        for n in 0..f.len() {
            let p = decode(link, &f[..n], f.len() as u32);
            if n < IPNET_HDR {
                assert_eq!(p.malformed.map(|m| m.proto), Some(Proto::Ipnet), "{n}");
            }
        }
    }

    #[test]
    fn ipoib_carries_ip_and_arp() {
        // Unicast: no route header, destination QPN 0x000550 and GID; type, reserved.
        let mut f = vec![0u8; 40];
        f[20..24].copy_from_slice(&[0, 0, 0x05, 0x50]);
        f[24] = 0xfe;
        f[25] = 0x80;
        f.extend_from_slice(&[0x08, 0x00, 0, 0]);
        f.extend_from_slice(&ip_udp());
        let link = LinkType::IPOIB;
        assert_eq!(protos(link, &f), [Proto::Ipoib, Proto::Ipv4, Proto::Udp, Proto::Data]);
        f[40] = 0x12;
        assert_eq!(protos(link, &f), [Proto::Ipoib, Proto::Data]);
        for n in 0..f.len() {
            let _ = decode(link, &f[..n], f.len() as u32);
        }
        let p = decode(link, &f[..43], f.len() as u32);
        assert_eq!(p.malformed.unwrap().problem, Problem::Truncated { needed: 44, available: 43 });
    }

    #[test]
    fn nflog_payload_tlv_by_family_or_hardware_protocol() {
        let f = nflog_record(&ip_udp());
        let link = LinkType::NFLOG;
        assert_eq!(protos(link, &f), [Proto::Nflog, Proto::Ipv4, Proto::Udp, Proto::Data]);
        assert_eq!(decode(link, &f, f.len() as u32).layer(Proto::Nflog).unwrap().header_range(), 0..24);
        // Big-endian TLVs (a big-endian host's capture) read the same.
        let mut be = f.clone();
        for at in [4, 12, 20] {
            be.swap(at, at + 1);
            be.swap(at + 2, at + 3);
        }
        assert_eq!(protos(link, &be), [Proto::Nflog, Proto::Ipv4, Proto::Udp, Proto::Data]);
        cut_everywhere(link, &f);
        cut_everywhere(link, &be);
    }

    #[test]
    fn juniper_header_then_ethernet_or_a_protocol() {
        let ip = ip_udp();
        let mut eth = vec![2; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&ip);
        // Magic, flags: extensions, incoming; 4 bytes of extension TLVs.
        let mut f = b"MGC".to_vec();
        f.extend_from_slice(&[0x81, 0, 4, 1, 2, 0, 0]);
        f.extend_from_slice(&eth);
        let link = LinkType::JUNIPER_ETHER;
        assert_eq!(protos(link, &f), [Proto::Juniper, Proto::Eth, Proto::Ipv4, Proto::Udp, Proto::Data]);
        // No L2 header: protocol 2 (IPv4), little-endian.
        let mut nol2 = b"MGC".to_vec();
        nol2.extend_from_slice(&[0x03, 2, 0, 0, 0]);
        nol2.extend_from_slice(&ip);
        assert_eq!(protos(link, &nol2), [Proto::Juniper, Proto::Ipv4, Proto::Udp, Proto::Data]);
        cut_everywhere(link, &f);
        cut_everywhere(link, &nol2);
        // Both flags, and a protocol code 0xa248 with its 4-byte prefix before IPv4.
        let mut both = b"MGC".to_vec();
        both.extend_from_slice(&[0x82, 0, 1, 7, 0x48, 0xa2, 0, 0, 0, 0, 0, 0]);
        both.extend_from_slice(&ip);
        assert_eq!(protos(link, &both), [Proto::Juniper, Proto::Ipv4, Proto::Udp, Proto::Data]);
        cut_everywhere(link, &both);
        let p = decode(link, &f[..8], f.len() as u32);
        assert_eq!(p.malformed.unwrap().problem, Problem::Truncated { needed: 10, available: 8 });
    }
}
