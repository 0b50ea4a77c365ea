//! Link types whose header the capturing system writes rather than the wire:
//! Solaris IPNET (link type 226), IP over InfiniBand (242, with the 40-byte address
//! pseudo-header libpcap adds), Linux NFLOG (239) and Juniper's capture header
//! (178). Each says which protocol follows; decoding goes on into it.

use super::field::{Fields, Value, Visitor};
use super::{arr, be16, be32, push_data, Packet, Proto};

/// Solaris IPNET (`<inet/ipnet.h>`): version, address family, hook, data length,
/// interface and group interface index, source and destination zone.
pub const IPNET_HDR: usize = 24;

/// Solaris' own address family numbers (not the BSD ones).
const SOLARIS_AF_INET: u8 = 2;
const SOLARIS_AF_INET6: u8 = 26;

pub(crate) fn decode_ipnet(p: &mut Packet<'_>, end: usize) {
    if end < IPNET_HDR {
        return super::link::truncated(p, Proto::Ipnet, 0, IPNET_HDR);
    }
    p.push(Proto::Ipnet, 0, IPNET_HDR, end);
    match p.data[1] {
        SOLARIS_AF_INET => super::ipv4::decode(p, IPNET_HDR, end),
        SOLARIS_AF_INET6 => super::ipv6::decode(p, IPNET_HDR, end),
        _ => push_data(p, IPNET_HDR, end),
    }
}

pub fn describe_ipnet<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let family = b.get(1).copied().unwrap_or(0);
    let fam_name = match family {
        SOLARIS_AF_INET => "Solaris AF_INET",
        SOLARIS_AF_INET6 => "Solaris AF_INET6",
        _ => "unknown",
    };
    v.layer(Proto::Ipnet, base..base + IPNET_HDR, format_args!("Solaris IPNET"));
    let mut f = Fields { v, base, avail: b.len().min(IPNET_HDR) };
    f.f("version", "Header version", 0..1, b.first().map(|x| Value::U((*x).into())), None);
    f.f("family", "Address family", 1..2, Some(Value::U(family.into())), Some(format_args!("({fam_name})")));
    let hook = be16(b, 2).unwrap_or(0);
    let hook_name = match hook {
        0 => "Inbound",
        1 => "Outbound",
        2 => "Local",
        _ => "unknown",
    };
    f.f("htype", "Hook type", 2..4, Some(Value::U(hook.into())), Some(format_args!("({hook_name})")));
    let u32f = |o: usize| be32(b, o).map(|x| Value::U(x.into()));
    f.f("pktlen", "Data length", 4..8, u32f(4), None);
    f.f("ifindex", "Interface index", 8..12, u32f(8), None);
    f.f("grifindex", "Group interface index", 12..16, u32f(12), None);
    f.f("zsrc", "Source Zone ID", 16..20, u32f(16), None);
    f.f("zdst", "Destination Zone ID", 20..24, u32f(20), None);
}

/// IPoIB as libpcap writes it (LINKTYPE_IPOIB): a 40-byte pseudo-header standing in
/// for the InfiniBand global route header (all zero but the destination address
/// when the packet was unicast), then the 4-byte IPoIB header (RFC 4391 section 6:
/// an ethertype and 2 reserved bytes).
pub const IPOIB_GRH: usize = 40;
pub const IPOIB_HDR: usize = IPOIB_GRH + 4;

pub(crate) fn decode_ipoib(p: &mut Packet<'_>, end: usize) {
    if end < IPOIB_HDR {
        return super::link::truncated(p, Proto::Ipoib, 0, IPOIB_HDR);
    }
    p.push(Proto::Ipoib, 0, IPOIB_HDR, end);
    // Wireshark hands only these three on (packet-ipoib.c); anything else stays data.
    match be16(p.data, IPOIB_GRH).unwrap_or(0) {
        t @ (0x0800 | 0x86dd | 0x0806 | 0x8035) => super::decode_ethertype(p, t, IPOIB_HDR, end),
        _ => push_data(p, IPOIB_HDR, end),
    }
}

pub fn describe_ipoib<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    v.layer(Proto::Ipoib, base..base + IPOIB_HDR, format_args!("IP over Infiniband"));
    let mut f = Fields { v, base, avail: b.len().min(IPOIB_HDR) };
    let gid = |o: usize| arr::<16>(b, o).map(Value::Ipv6);
    if be16(b, 0) == Some(0) {
        // No route header: only the destination, in the last 20 bytes.
        f.f("daddr.qpn", "Destination QPN", 21..24, be32(b, 20).map(|x| Value::Hex((x & 0xff_ffff).into(), 6)), None);
    } else {
        f.f("grh.sqpn", "Source QPN", 5..8, be32(b, 4).map(|x| Value::Hex((x & 0xff_ffff).into(), 6)), None);
        f.f("grh.sgid", "Source GID", 8..24, gid(8), None);
    }
    f.f("dgid", "Destination GID", 24..40, gid(24), None);
    let t = be16(b, IPOIB_GRH).unwrap_or(0);
    f.f("type", "Type", 40..42, Some(Value::Hex(t.into(), 4)), Some(super::link::EthertypeMeaning(t).args()));
    f.f("reserved", "Reserved", 42..44, be16(b, 42).map(|x| Value::Hex(x.into(), 4)), None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, Problem};
    use crate::source::LinkType;

    fn ip_udp() -> Vec<u8> {
        let mut ip = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2).write(&mut ip, b"hi").unwrap();
        ip
    }

    fn protos(link: LinkType, f: &[u8]) -> Vec<Proto> {
        decode(link, f, f.len() as u32).layers().iter().map(|l| l.proto).collect()
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
}
