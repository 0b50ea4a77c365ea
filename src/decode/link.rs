//! Link layers: Ethernet II (and 802.3 length frames), 802.1Q/802.1ad tags, Linux
//! cooked capture v1/v2, BSD null/loopback, and raw IP. Each hands on an ethertype.

use std::fmt;

use super::field::{get, get16, get32, get8, Fields, Value, Visitor};
use super::{be16, decode_ethertype, push_data, Packet, Problem, Proto};
use crate::source::LinkType;

/// Header layouts, relative to each header's first byte.
pub(super) mod field {
    /// Ethernet II (and 802.3, whose type field is a length).
    pub mod eth {
        use crate::decode::field::Field;

        pub const DST: Field = 0..6;
        pub const SRC: Field = 6..12;
        /// An ethertype from 0x0600, an 802.3 length up to 1500.
        pub const ETHERTYPE: Field = 12..14;
        pub const HEADER_LEN: usize = ETHERTYPE.end;
    }

    /// An 802.1Q/802.1ad tag, after the MAC addresses' type field 0x8100/0x88a8.
    pub mod vlan {
        use crate::decode::field::Field;

        /// Tag control information: priority (3 bits), drop eligible (1), VLAN id (12).
        pub const TCI: Field = 0..2;
        /// The byte holding priority and DEI, as the tree highlights them.
        pub const PCP_DEI: Field = TCI.start..TCI.start + 1;
        pub const ETHERTYPE: Field = 2..4;
        pub const HEADER_LEN: usize = ETHERTYPE.end;
    }

    /// PPPoE session header (RFC 2516 section 4) and the PPP protocol field after
    /// it (RFC 1661).
    pub mod pppoe {
        use crate::decode::field::Field;

        /// Version (high nibble) and type (low), both 1.
        pub const VER_TYPE: Field = 0..1;
        /// 0 for session data.
        pub const CODE: Field = 1..2;
        pub const SESSION_ID: Field = 2..4;
        /// Counts from the PPP protocol field on; beyond it is padding.
        pub const LENGTH: Field = 4..6;
        pub const PPP_PROTOCOL: Field = 6..8;
        pub const HEADER_LEN: usize = PPP_PROTOCOL.end;
    }

    /// PPP in HDLC-like framing (RFC 1662 section 3.1): address 0xff and control
    /// 0x03, which a link may omit (RFC 1661 section 6.6), then the protocol, one
    /// byte when compressed (odd first byte, RFC 1661 section 6.5).
    pub mod ppp {
        use crate::decode::field::Field;

        pub const ADDRESS: Field = 0..1;
        pub const CONTROL: Field = 1..2;
        /// Address and control together, as framing that may be left out.
        pub const AC: Field = ADDRESS.start..CONTROL.end;
        /// The protocol field when the frame's header is `hdr` bytes: the last one
        /// (compressed) or two of it.
        pub const fn protocol(hdr: usize) -> Field {
            hdr.saturating_sub(if hdr % 2 == 1 { 1 } else { 2 })..hdr
        }
        /// The protocol field's start after `ac` bytes of address and control, and
        /// its length by its first byte.
        pub const fn protocol_at(ac: usize, first: u8) -> Field {
            ac..ac + if first & 1 == 1 { 1 } else { 2 }
        }
    }

    /// Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control 0, an ethertype.
    pub mod chdlc {
        use crate::decode::field::Field;

        pub const ADDRESS: Field = 0..1;
        pub const CONTROL: Field = 1..2;
        pub const PROTOCOL: Field = 2..4;
        pub const HEADER_LEN: usize = PROTOCOL.end;
    }

    /// Cisco FabricPath: the fabric's own MAC header, laid out as Ethernet's, then
    /// the forwarding tag and TTL; the host's frame follows.
    pub mod cfp {
        use super::eth;
        use crate::decode::field::Field;

        pub const OUTER_DST: Field = eth::DST;
        pub const OUTER_SRC: Field = eth::SRC;
        pub const ETHERTYPE: Field = eth::ETHERTYPE;
        /// FTag (10 bits) and TTL (6).
        pub const FTAG_TTL: Field = ETHERTYPE.end..ETHERTYPE.end + 2;
        pub const HEADER_LEN: usize = FTAG_TTL.end;
    }

    /// BSD null/loopback: the address family, 4 bytes.
    pub mod null {
        use crate::decode::field::Field;

        pub const FAMILY: Field = 0..4;
        pub const HEADER_LEN: usize = FAMILY.end;
    }

    /// PPI (the Per-Packet Information header): version, flags, the header's
    /// length and the inner link type, little-endian; radio fields follow.
    pub mod ppi {
        use crate::decode::field::Field;

        pub const VERSION: Field = 0..1;
        pub const FLAGS: Field = 1..2;
        pub const LEN: Field = 2..4;
        pub const DLT: Field = 4..8;
        pub const HEADER_LEN: usize = DLT.end;
    }

    /// An MPLS label stack entry (RFC 3032 section 2.1): label (20 bits), traffic
    /// class (3), bottom of stack (1), TTL (8).
    pub mod mpls {
        use crate::decode::field::Field;

        /// As Wireshark does, the tree shows the label over the whole entry.
        pub const ENTRY: Field = 0..4;
        /// The bytes holding the label's 20 bits.
        pub const LABEL: Field = 0..3;
        /// The byte holding the label's low bits, the traffic class and the bottom bit.
        pub const EXP_S: Field = 2..3;
        pub const TTL: Field = 3..4;
        pub const ENTRY_LEN: usize = ENTRY.end;
        /// Label stack entries we walk before giving up on finding the bottom.
        pub const MAX_ENTRIES: usize = 16;
    }

    /// Linux cooked capture: v1 (LINKTYPE_LINUX_SLL) and v2 (LINUX_SLL2) hold the
    /// same fields, in another order and some of another width.
    pub mod sll {
        use crate::decode::field::Field;

        pub struct Layout {
            /// To us, broadcast, multicast, to another host, sent by us.
            pub pkttype: Field,
            /// The ARPHRD_ type of the link-layer address.
            pub hatype: Field,
            pub halen: Field,
            /// The link-layer address, 8 bytes of which `halen` are used.
            pub addr: Field,
            /// An ethertype, or one of the small values naming an 802.2/802.3 framing.
            pub protocol: Field,
            /// Only in v2.
            pub ifindex: Option<Field>,
            pub header_len: usize,
        }

        impl Layout {
            /// The address when it is a MAC (`halen` 6).
            pub const fn mac(&self) -> Field {
                self.addr.start..self.addr.start + 6
            }
        }

        pub const V1: Layout = Layout {
            pkttype: 0..2,
            hatype: 2..4,
            halen: 4..6,
            addr: 6..14,
            protocol: 14..16,
            ifindex: None,
            header_len: 16,
        };
        pub const V2: Layout = Layout {
            protocol: 0..2,
            ifindex: Some(4..8),
            hatype: 8..10,
            pkttype: 10..11,
            halen: 11..12,
            addr: 12..20,
            header_len: 20,
        };
    }
}
use field::{cfp, chdlc, eth, mpls, null, ppi, ppp, pppoe, sll, vlan};

pub(crate) fn decode_link(p: &mut Packet<'_>) {
    let end = p.data.len();
    match p.link {
        LinkType::ETHERNET => decode_eth(p, 0, end),
        LinkType::NULL | LinkType::LOOP => {
            if end < null::HEADER_LEN {
                return truncated(p, Proto::Null, 0, null::HEADER_LEN);
            }
            p.push(Proto::Null, 0, null::HEADER_LEN, end);
            let family = Null::new(p.data).family(p.link == LinkType::LOOP);
            let ethertype = match family {
                Some(2) => 0x0800,
                Some(10 | 24 | 28 | 30) => 0x86dd,
                _ => {
                    p.unknown_ethertype = 0xffff;
                    return push_data(p, null::HEADER_LEN, end);
                }
            };
            decode_ethertype(p, ethertype, null::HEADER_LEN, end)
        }
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 | LinkType::IPV4 | LinkType::IPV6 => {
            match p.data.first().map(|b| b >> 4) {
                Some(6) => decode_ethertype(p, 0x86dd, 0, end),
                Some(_) => decode_ethertype(p, 0x0800, 0, end),
                None => {}
            }
        }
        LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => {
            let (proto, l) =
                if p.link == LinkType::LINUX_SLL { (Proto::Sll, &sll::V1) } else { (Proto::Sll2, &sll::V2) };
            if end < l.header_len {
                return truncated(p, proto, 0, l.header_len);
            }
            p.push(proto, 0, l.header_len, end);
            let t = Sll::new(p.data, proto == Proto::Sll2).protocol().unwrap_or(0);
            sll_payload(p, t, l.header_len, end)
        }
        LinkType::PPP if is_chdlc(p.data) => decode_chdlc(p, 0, end),
        LinkType::PPP | LinkType::PPP_HDLC | LinkType::PPP_WITH_DIR => decode_ppp(p, 0, end),
        LinkType::C_HDLC => decode_chdlc(p, 0, end),
        LinkType::IPNET => super::capture::decode_ipnet(p, end),
        LinkType::FDDI => super::llc::decode_fddi(p, end),
        LinkType::TOKEN_RING => super::llc::decode_tr(p, end),
        LinkType::FRELAY => super::llc::decode_fr(p, end),
        LinkType::NFLOG => super::capture::decode_nflog(p, end),
        LinkType::JUNIPER_ETHER => super::capture::decode_juniper(p, end),
        LinkType::IPOIB => super::capture::decode_ipoib(p, end),
        LinkType::PPI => {
            let h = Ppi::new(p.data);
            let (Some(len), Some(dlt)) = (h.header_len(), h.dlt()) else {
                return truncated(p, Proto::Ppi, 0, ppi::HEADER_LEN);
            };
            let len = usize::from(len);
            if len < ppi::HEADER_LEN || len > end {
                return truncated(p, Proto::Ppi, 0, len.max(ppi::HEADER_LEN));
            }
            p.push(Proto::Ppi, 0, len, end);
            match LinkType(dlt) {
                LinkType::ETHERNET => decode_eth(p, len, end),
                other => {
                    p.fail(Proto::Data, len, Problem::UnsupportedLink { link: other.0 });
                    push_data(p, len, end)
                }
            }
        }
        other => {
            p.fail(Proto::Data, 0, Problem::UnsupportedLink { link: other.0 });
            push_data(p, 0, end)
        }
    }
}

/// An MPLS label stack; false (nothing pushed) when no bottom of stack is found.
pub(crate) fn decode_mpls(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let mut at = off;
    loop {
        let Some(entry) = p.data.get(at..at + mpls::ENTRY_LEN).filter(|_| at + mpls::ENTRY_LEN <= end) else {
            return false;
        };
        at += mpls::ENTRY_LEN;
        if get8(entry, mpls::EXP_S).is_some_and(|x| x & 1 == 1) {
            break;
        }
        if at - off >= mpls::ENTRY_LEN * mpls::MAX_ENTRIES {
            return false;
        }
    }
    p.push(Proto::Mpls, off, at, end);
    // No protocol field: the payload says what it is (RFC 4928 keeps 4 and 6 for IP).
    match p.data.get(at).map(|b| b >> 4) {
        Some(4) => super::ipv4::decode(p, at, end),
        Some(6) => super::ipv6::decode(p, at, end),
        _ => push_data(p, at, end),
    }
    true
}

/// The label of the stack entry `e`: its top 20 bits.
fn mpls_label(e: &[u8]) -> u32 {
    get(e, mpls::LABEL).map_or(0, |[a, b, c]: [u8; 3]| u32::from_be_bytes([0, a, b, c]) >> 4)
}

pub fn describe_mpls<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let first = mpls_label(b);
    v.layer(Proto::Mpls, base..base + hdr, format_args!("MultiProtocol Label Switching Header, Label: {first}"));
    let mut f = Fields { v, base, avail: hdr };
    for (i, e) in b[..hdr].chunks_exact(mpls::ENTRY_LEN).enumerate() {
        let at = |r: super::field::Field| i * mpls::ENTRY_LEN + r.start..i * mpls::ENTRY_LEN + r.end;
        let es = get8(e, mpls::EXP_S).unwrap_or(0);
        f.f("label", "MPLS Label", at(mpls::ENTRY), Some(Value::U(mpls_label(e).into())), None);
        f.f("exp", "MPLS Experimental Bits", at(mpls::EXP_S), Some(Value::U(((es >> 1) & 7).into())), None);
        f.f("bottom", "MPLS Bottom Of Label Stack", at(mpls::EXP_S), Some(Value::U((es & 1).into())), None);
        let ttl = get8(e, mpls::TTL).map(|x| Value::U(x.into()));
        f.f("ttl", "MPLS TTL", at(mpls::TTL), ttl, None);
    }
}

/// A Cisco HDLC header where PPP was announced (some links send both).
fn is_chdlc(b: &[u8]) -> bool {
    b.len() >= chdlc::HEADER_LEN
        && matches!(get8(b, chdlc::ADDRESS), Some(0x0f | 0x8f))
        && get8(b, chdlc::CONTROL) == Some(0)
}

fn decode_chdlc(p: &mut Packet<'_>, off: usize, end: usize) {
    if end - off < chdlc::HEADER_LEN {
        return truncated(p, Proto::Chdlc, off, chdlc::HEADER_LEN);
    }
    let body = off + chdlc::HEADER_LEN;
    p.push(Proto::Chdlc, off, body, end);
    let proto = get16(&p.data[off..end], chdlc::PROTOCOL).unwrap_or(0);
    if proto == 0x8035 {
        // Cisco's SLARP keepalives, not the RARP this ethertype means on Ethernet.
        p.unknown_ethertype = proto;
        return push_data(p, body, end);
    }
    decode_ethertype(p, proto, body, end)
}

/// PPP (RFC 1661) in HDLC-like framing (RFC 1662): address 0xff and control 0x03,
/// which a link may omit, then the protocol, one byte when compressed (odd first byte).
pub(crate) fn decode_ppp(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    let ac = if b.starts_with(&[0xff, 0x03]) { ppp::AC.end } else { 0 };
    let pr = match b.get(ac) {
        Some(x) => ppp::protocol_at(ac, *x),
        None => return truncated(p, Proto::Ppp, off, ac + 2),
    };
    if b.len() < pr.end {
        return truncated(p, Proto::Ppp, off, pr.end);
    }
    let hdr = off + pr.end;
    let proto = ppp_protocol(b, pr.end);
    p.push(Proto::Ppp, off, hdr, end);
    match proto {
        0x0021 => super::ipv4::decode(p, hdr, end),
        0x0057 => super::ipv6::decode(p, hdr, end),
        // MPLS unicast and multicast (RFC 3032 section 4.3).
        0x0281 | 0x0283 if decode_mpls(p, hdr, end) => {}
        _ => push_data(p, hdr, end),
    }
}

/// The PPP protocol field of a PPP header of `hdr` bytes.
fn ppp_protocol(b: &[u8], hdr: usize) -> u16 {
    let r = ppp::protocol(hdr);
    if r.len() == 1 {
        get8(b, r).map_or(0, u16::from)
    } else {
        get16(b, r).unwrap_or(0)
    }
}

pub fn describe_ppp<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let proto = ppp_protocol(b, hdr);
    v.layer(Proto::Ppp, base..base + hdr, format_args!("Point-to-Point Protocol, {}", ppp_protocol_name(proto)));
    let mut f = Fields { v, base, avail: hdr };
    if hdr > ppp::AC.end {
        f.f("address", "Address", ppp::ADDRESS, Some(Value::Hex(0xff, 2)), None);
        f.f("control", "Control", ppp::CONTROL, Some(Value::Hex(0x03, 2)), None);
    }
    f.f(
        "protocol",
        "Protocol",
        ppp::protocol(hdr),
        Some(Value::Hex(proto.into(), 4)),
        Some(format_args!("({})", ppp_protocol_name(proto))),
    );
}

pub fn describe_chdlc<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let proto = get16(b, chdlc::PROTOCOL).unwrap_or(0);
    let hdr = b.len().min(chdlc::HEADER_LEN);
    v.layer(Proto::Chdlc, base..base + hdr, format_args!("Cisco HDLC, Protocol: 0x{proto:04x}"));
    let mut f = Fields { v, base, avail: hdr };
    let addr = get8(b, chdlc::ADDRESS).unwrap_or(0);
    let kind = if addr == 0x8f { "(broadcast)" } else { "(unicast)" };
    f.f("address", "Address", chdlc::ADDRESS, Some(Value::Hex(addr.into(), 2)), Some(format_args!("{kind}")));
    f.f("control", "Control", chdlc::CONTROL, get8(b, chdlc::CONTROL).map(|c| Value::Hex(c.into(), 2)), None);
    let name = super::ethertype_name(proto).unwrap_or(if proto == 0x8035 { "SLARP" } else { "unknown" });
    let m = format_args!("({name})");
    f.f("protocol", "Protocol", chdlc::PROTOCOL, Some(Value::Hex(proto.into(), 4)), Some(m));
}

/// PPI header view.
#[derive(Clone, Copy)]
pub struct Ppi<'a>(&'a [u8]);

impl<'a> Ppi<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Ppi(b)
    }
    pub fn version(&self) -> Option<u8> {
        get8(self.0, ppi::VERSION)
    }
    pub fn flags(&self) -> Option<u8> {
        get8(self.0, ppi::FLAGS)
    }
    /// The whole header's length, radio fields included.
    pub fn header_len(&self) -> Option<u16> {
        get(self.0, ppi::LEN).map(u16::from_le_bytes)
    }
    /// The link type of the frame that follows.
    pub fn dlt(&self) -> Option<u32> {
        get(self.0, ppi::DLT).map(u32::from_le_bytes)
    }
}

pub fn describe_ppi<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr: usize) {
    let h = Ppi::new(b);
    let dlt = h.dlt().unwrap_or(0);
    v.layer(Proto::Ppi, base..base + hdr, format_args!("PPI version 0, {hdr} bytes"));
    let mut f = Fields { v, base, avail: hdr };
    f.f("version", "Version", ppi::VERSION, h.version().map(|x| Value::U(x.into())), None);
    f.f("flags", "Flags", ppi::FLAGS, h.flags().map(|x| Value::Hex(x.into(), 2)), None);
    let m = format_args!("(radio fields not decoded)");
    f.f("len", "Header length", ppi::LEN, Some(Value::U(hdr as u64)), Some(m));
    let name = LinkType(dlt).name();
    f.f("dlt", "DLT", ppi::DLT, Some(Value::U(dlt.into())), Some(format_args!("({name})")));
}

/// SLL's protocol field is an ethertype, except for a few small values that name
/// the 802.2/802.3 framings Linux uses for non-Ethernet-II frames.
fn sll_payload(p: &mut Packet<'_>, proto: u16, off: usize, end: usize) {
    if proto >= 0x0600 {
        decode_ethertype(p, proto, off, end)
    } else {
        p.unknown_ethertype = proto;
        push_data(p, off, end)
    }
}

pub(crate) fn truncated(p: &mut Packet<'_>, proto: Proto, off: usize, needed: usize) {
    let available = p.data.len() - off;
    if available > 0 {
        p.push(proto, off, off + available, off + available);
    }
    p.fail(proto, off, Problem::Truncated { needed, available });
}

pub(crate) fn decode_eth(p: &mut Packet<'_>, off: usize, end: usize) {
    if p.n >= super::MAX_LAYERS - 2 {
        // Frames inside frames (ISL, bridged SNAP, tunnels): stop before the layer
        // table runs out, and before crafted nesting runs the stack out.
        return push_data(p, off, end);
    }
    if end - off < eth::HEADER_LEN {
        return truncated(p, Proto::Eth, off, eth::HEADER_LEN);
    }
    let t = Ethernet::new(&p.data[off..end]).ethertype().unwrap_or(0);
    if t == CFP_ETHERTYPE && end - off >= cfp::HEADER_LEN + eth::HEADER_LEN && !p.has(Proto::Cfp) {
        // FabricPath's outer addresses belong to the fabric, not to the hosts: like
        // Wireshark, the Ethernet layer is the inner frame.
        p.push(Proto::Cfp, off, off + cfp::HEADER_LEN, end);
        // The inner frame ends with the fabric's 4-byte FCS.
        p.trailer = 4;
        return decode_eth(p, off + cfp::HEADER_LEN, end - 4);
    }
    if (1..=1500).contains(&t) && super::llc::is_isl(&p.data[off + eth::DST.start..off + eth::DST.end]) {
        // Cisco ISL: its header takes the place of the MAC header (packet-eth.c).
        return super::llc::decode_isl(p, off, end);
    }
    let body = off + eth::HEADER_LEN;
    p.push(Proto::Eth, off, body, end);
    if (1..=1500).contains(&t) {
        // An 802.3 length: LLC follows, and what is past the length is padding. A
        // frame claiming more than it has gets what it has (packet-ieee8023.c).
        p.unknown_ethertype = t;
        let llc_end = end.min(body + usize::from(t));
        if be16(p.data, body) == Some(0xffff) {
            // Novell's "raw 802.3": IPX with no LLC header.
            return push_data(p, body, llc_end);
        }
        return super::llc::decode_llc(p, body, llc_end);
    }
    if t < 0x0600 && t != 0 {
        // Neither a length nor a type (Wireshark: "Ethernet Unknown").
        p.unknown_ethertype = t;
        return push_data(p, body, end);
    }
    // Type 0 is an Ethernet II type too (Cisco MDS's internal Fibre Channel).
    decode_ethertype(p, t, body, end)
}

pub(crate) fn decode_vlan(p: &mut Packet<'_>, off: usize, end: usize) {
    if p.layers().iter().filter(|l| l.proto == Proto::Vlan).count() >= 4 {
        // More tags than any real network stacks: treat the rest as data.
        return push_data(p, off, end);
    }
    if end - off < vlan::HEADER_LEN {
        return truncated(p, Proto::Vlan, off, vlan::HEADER_LEN);
    }
    let body = off + vlan::HEADER_LEN;
    p.push(Proto::Vlan, off, body, end);
    let t = Vlan::new(&p.data[off..end]).ethertype().unwrap_or(0);
    if t < 0x0600 {
        p.unknown_ethertype = t;
        return push_data(p, body, end);
    }
    decode_ethertype(p, t, body, end)
}

/// Decodes a PPPoE session frame at `off`; false when the header is not one (the
/// caller shows the bytes as data).
pub(crate) fn decode_pppoe(p: &mut Packet<'_>, off: usize, end: usize) -> bool {
    let b = &p.data[off..end];
    if b.len() < pppoe::HEADER_LEN || get8(b, pppoe::VER_TYPE) != Some(0x11) || get8(b, pppoe::CODE) != Some(0) {
        return false;
    }
    // The length counts the PPP protocol field and what follows; beyond it is padding.
    let len = usize::from(get16(b, pppoe::LENGTH).unwrap_or(0));
    let body = off + pppoe::HEADER_LEN;
    let inner_end = (off + pppoe::LENGTH.end + len).clamp(body, end);
    p.push(Proto::Pppoe, off, body, inner_end);
    match get16(b, pppoe::PPP_PROTOCOL).unwrap_or(0) {
        0x0021 => super::ipv4::decode(p, body, inner_end),
        0x0057 => super::ipv6::decode(p, body, inner_end),
        _ => push_data(p, body, inner_end),
    }
    true
}

fn ppp_protocol_name(proto: u16) -> &'static str {
    match proto {
        0x0021 => "Internet Protocol version 4",
        0x0057 => "Internet Protocol version 6",
        0xc021 => "Link Control Protocol",
        0x8021 => "Internet Protocol Control Protocol",
        0x8057 => "IPv6 Control Protocol",
        0xc023 => "Password Authentication Protocol",
        0xc223 => "Challenge Handshake Authentication Protocol",
        0x0281 => "MPLS Unicast",
        0x0283 => "MPLS Multicast",
        _ => "unknown",
    }
}

pub fn describe_pppoe<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let session = get16(b, pppoe::SESSION_ID).unwrap_or(0);
    let proto = get16(b, pppoe::PPP_PROTOCOL).unwrap_or(0);
    v.layer(
        Proto::Pppoe,
        base..base + b.len().min(pppoe::HEADER_LEN),
        format_args!("PPP-over-Ethernet Session, Session ID: 0x{session:04x}, PPP: {}", ppp_protocol_name(proto)),
    );
    let mut f = Fields { v, base, avail: b.len().min(pppoe::HEADER_LEN) };
    let first = get8(b, pppoe::VER_TYPE).unwrap_or(0);
    f.f("version", "Version", pppoe::VER_TYPE, Some(Value::U((first >> 4).into())), None);
    f.f("type", "Type", pppoe::VER_TYPE, Some(Value::U((first & 0x0f).into())), None);
    let code = get8(b, pppoe::CODE).map(|c| Value::Hex(c.into(), 2));
    f.f("code", "Code", pppoe::CODE, code, Some(format_args!("(session data)")));
    f.f("session_id", "Session ID", pppoe::SESSION_ID, Some(Value::Hex(session.into(), 4)), None);
    f.f(
        "payload_length",
        "Payload Length",
        pppoe::LENGTH,
        get16(b, pppoe::LENGTH).map(|x| Value::U(x.into())),
        Some(format_args!("(the PPP protocol field and what follows)")),
    );
    f.f(
        "ppp_protocol",
        "PPP Protocol",
        pppoe::PPP_PROTOCOL,
        Some(Value::Hex(proto.into(), 4)),
        Some(format_args!("({})", ppp_protocol_name(proto))),
    );
}

/// Ethernet II header view.
#[derive(Clone, Copy)]
pub struct Ethernet<'a>(&'a [u8]);

impl<'a> Ethernet<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Ethernet(b)
    }
    pub fn dst(&self) -> Option<[u8; 6]> {
        get(self.0, eth::DST)
    }
    pub fn src(&self) -> Option<[u8; 6]> {
        get(self.0, eth::SRC)
    }
    pub fn ethertype(&self) -> Option<u16> {
        get16(self.0, eth::ETHERTYPE)
    }
}

/// 802.1Q tag view.
#[derive(Clone, Copy)]
pub struct Vlan<'a>(&'a [u8]);

impl<'a> Vlan<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Vlan(b)
    }
    pub fn tci(&self) -> Option<u16> {
        get16(self.0, vlan::TCI)
    }
    /// The VLAN identifier, the low 12 bits of the TCI.
    pub fn id(&self) -> Option<u16> {
        self.tci().map(|t| t & 0x0fff)
    }
    pub fn ethertype(&self) -> Option<u16> {
        get16(self.0, vlan::ETHERTYPE)
    }
}

pub fn is_broadcast(m: &[u8; 6]) -> bool {
    m == &[0xff; 6]
}

fn mac_meaning(m: &[u8; 6]) -> &'static str {
    if is_broadcast(m) {
        "(broadcast)"
    } else if m[0] & 1 == 1 {
        "(multicast: group address bit set)"
    } else if m[0] & 2 == 2 {
        "(unicast, locally administered)"
    } else {
        "(unicast, globally unique)"
    }
}

pub fn describe_eth<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let e = Ethernet::new(b);
    if b.len() < eth::HEADER_LEN {
        // Wireshark shows no field of a header it cannot read whole.
        v.layer(
            Proto::Eth,
            base..base + b.len(),
            format_args!("Ethernet II (header cut short: {} of {} bytes)", b.len(), eth::HEADER_LEN),
        );
        return;
    }
    let mut s = String::new();
    if let (Some(src), Some(dst)) = (e.src(), e.dst()) {
        let _ = super::field::write_mac(&mut s, &src);
        s.push_str(", Dst: ");
        let _ = super::field::write_mac(&mut s, &dst);
    }
    v.layer(Proto::Eth, base..base + eth::HEADER_LEN, format_args!("Ethernet II, Src: {s}"));
    let mut f = Fields { v, base, avail: eth::HEADER_LEN };
    if let Some(m) = e.dst() {
        f.f("dst", "Destination", eth::DST, Some(Value::Mac(m)), Some(format_args!("{}", mac_meaning(&m))));
    }
    if let Some(m) = e.src() {
        f.f("src", "Source", eth::SRC, Some(Value::Mac(m)), Some(format_args!("{}", mac_meaning(&m))));
    }
    if let Some(t) = e.ethertype() {
        if (1..0x0600).contains(&t) {
            f.f(
                "len",
                "Length",
                eth::ETHERTYPE,
                Some(Value::U(t.into())),
                Some(format_args!("(802.3 frame: LLC follows)")),
            );
        } else {
            f.f("type", "Type", eth::ETHERTYPE, Some(Value::Hex(t.into(), 4)), Some(EthertypeMeaning(t).args()));
        }
    }
}

/// "(IPv4)" style meaning for an ethertype.
pub(crate) struct EthertypeMeaning(pub u16);
impl EthertypeMeaning {
    pub fn args(&self) -> fmt::Arguments<'static> {
        match super::ethertype_name(self.0) {
            Some("IPv4") => format_args!("(IPv4)"),
            Some("IPv6") => format_args!("(IPv6)"),
            Some("ARP") => format_args!("(ARP)"),
            Some("802.1Q") => format_args!("(802.1Q Virtual LAN)"),
            Some("802.1ad") => format_args!("(802.1ad Provider Bridge, QinQ)"),
            Some("PPPoES") => format_args!("(PPP-over-Ethernet Session)"),
            Some(_) => format_args!("(a protocol pktlab does not decode)"),
            None => format_args!("(unknown)"),
        }
    }
}

pub fn describe_vlan<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let tag = Vlan::new(b);
    let tci = tag.tci();
    let id = tag.id().unwrap_or(0);
    let pri = tci.map(|t| t >> 13).unwrap_or(0);
    v.layer(
        Proto::Vlan,
        base..base + b.len().min(vlan::HEADER_LEN),
        format_args!("802.1Q Virtual LAN, PRI: {pri}, DEI: {}, ID: {id}", tci.map(|t| (t >> 12) & 1).unwrap_or(0)),
    );
    let mut f = Fields { v, base, avail: b.len().min(vlan::HEADER_LEN) };
    if let Some(t) = tci {
        f.f(
            "priority",
            "Priority",
            vlan::PCP_DEI,
            Some(Value::U((t >> 13).into())),
            Some(format_args!("(PCP, 802.1p class of service)")),
        );
        f.f("dei", "DEI", vlan::PCP_DEI, Some(Value::U(((t >> 12) & 1).into())), Some(format_args!("(drop eligible)")));
        f.f("id", "ID", vlan::TCI, Some(Value::U((t & 0x0fff).into())), Some(format_args!("(VLAN identifier)")));
    }
    if let Some(t) = tag.ethertype() {
        f.f("etype", "Type", vlan::ETHERTYPE, Some(Value::Hex(t.into(), 4)), Some(EthertypeMeaning(t).args()));
    }
}

/// BSD null/loopback header: the address family, in the capturing host's byte order.
pub struct Null<'a>(&'a [u8]);
impl<'a> Null<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Null(b)
    }
    /// `loop_`: LINKTYPE_LOOP stores the family big-endian; NULL in host order,
    /// which we guess: families are small, so the non-zero half tells.
    pub fn family(&self, loop_: bool) -> Option<u32> {
        let be = get32(self.0, null::FAMILY)?;
        if loop_ || be & 0xffff_0000 == 0 {
            Some(be)
        } else {
            Some(be.swap_bytes())
        }
    }
}

pub fn describe_null<V: Visitor>(v: &mut V, b: &[u8], base: usize, loop_: bool) {
    let fam = Null::new(b).family(loop_).unwrap_or(0);
    let name = match fam {
        2 => "IP (IPv4)",
        10 | 24 | 28 | 30 => "IPv6",
        _ => "unknown",
    };
    let r = base + null::FAMILY.start..base + null::FAMILY.end;
    v.layer(Proto::Null, base..base + null::HEADER_LEN, format_args!("Null/Loopback, Family: {name} ({fam})"));
    v.field("family", "Family", r, Value::U(fam.into()), Some(format_args!("({name})")));
}

fn pkttype_name(t: u16) -> &'static str {
    match t {
        0 => "Unicast to us",
        1 => "Broadcast",
        2 => "Multicast",
        3 => "Unicast to another host",
        4 => "Sent by us",
        _ => "Unknown",
    }
}

fn hatype_name(t: u16) -> &'static str {
    match t {
        1 => "Ethernet",
        772 => "Loopback",
        776 => "IPv6-in-IPv4",
        778 => "IP GRE",
        65534 => "None (tun)",
        _ => "other",
    }
}

/// Linux cooked capture header view, v1 or v2.
#[derive(Clone, Copy)]
pub struct Sll<'a> {
    b: &'a [u8],
    l: &'static sll::Layout,
}

impl<'a> Sll<'a> {
    pub fn new(b: &'a [u8], version2: bool) -> Self {
        Sll { b, l: if version2 { &sll::V2 } else { &sll::V1 } }
    }
    /// A field of one or two bytes (v1 and v2 differ in width).
    fn uint(&self, r: &super::field::Field) -> Option<u16> {
        match r.len() {
            1 => get8(self.b, r.clone()).map(u16::from),
            _ => get16(self.b, r.clone()),
        }
    }
    pub fn pkttype(&self) -> Option<u16> {
        self.uint(&self.l.pkttype)
    }
    pub fn hatype(&self) -> Option<u16> {
        get16(self.b, self.l.hatype.clone())
    }
    pub fn halen(&self) -> Option<u16> {
        self.uint(&self.l.halen)
    }
    /// The source address, when it is a MAC.
    pub fn mac(&self) -> Option<[u8; 6]> {
        self.halen().filter(|a| *a == 6).and_then(|_| get(self.b, self.l.mac()))
    }
    pub fn ifindex(&self) -> Option<u32> {
        get32(self.b, self.l.ifindex.clone()?)
    }
    pub fn protocol(&self) -> Option<u16> {
        get16(self.b, self.l.protocol.clone())
    }
}

pub fn describe_sll<V: Visitor>(v: &mut V, b: &[u8], base: usize, version2: bool) {
    let h = Sll::new(b, version2);
    let l = h.l;
    let pkttype = h.pkttype();
    let p = if version2 { Proto::Sll2 } else { Proto::Sll };
    let n = l.header_len;
    v.layer(p, base..base + n, format_args!("{}, {}", p.name(), pkttype.map(pkttype_name).unwrap_or("")));
    let mut f = Fields { v, base, avail: b.len().min(n) };
    if let Some(t) = pkttype {
        let m = format_args!("({})", pkttype_name(t));
        f.f("pkttype", "Packet type", l.pkttype.clone(), Some(Value::U(t.into())), Some(m));
    }
    if let Some(t) = h.hatype() {
        let m = format_args!("({})", hatype_name(t));
        f.f("hatype", "Link-layer address type", l.hatype.clone(), Some(Value::U(t.into())), Some(m));
    }
    if let Some(a) = h.halen() {
        f.f("halen", "Link-layer address length", l.halen.clone(), Some(Value::U(a.into())), None);
        if let Some(m) = h.mac() {
            f.f("src.eth", "Source", l.mac(), Some(Value::Mac(m)), None);
        }
    }
    if let (Some(i), Some(r)) = (h.ifindex(), l.ifindex.clone()) {
        f.f("ifindex", "Interface index", r, Some(Value::U(i.into())), None);
    }
    if let Some(t) = h.protocol() {
        f.f("etype", "Protocol", l.protocol.clone(), Some(Value::Hex(t.into(), 4)), Some(EthertypeMeaning(t).args()));
    }
}

const CFP_ETHERTYPE: u16 = 0x8903;

pub fn describe_cfp<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    v.layer(Proto::Cfp, base..base + cfp::HEADER_LEN, format_args!("Cisco FabricPath"));
    let mut f = Fields { v, base, avail: b.len().min(cfp::HEADER_LEN) };
    let switch = Some(format_args!("(switch address)"));
    f.f("dst", "Outer Destination", cfp::OUTER_DST, get(b, cfp::OUTER_DST).map(Value::Mac), switch);
    let switch = Some(format_args!("(switch address)"));
    f.f("src", "Outer Source", cfp::OUTER_SRC, get(b, cfp::OUTER_SRC).map(Value::Mac), switch);
    f.f("type", "Type", cfp::ETHERTYPE, get16(b, cfp::ETHERTYPE).map(|t| Value::Hex(t.into(), 4)), None);
    let tag = get16(b, cfp::FTAG_TTL).unwrap_or(0);
    let ftag = Some(Value::U((tag >> 6).into()));
    f.f("ftag", "FTag", cfp::FTAG_TTL, ftag, Some(format_args!("(forwarding tag)")));
    f.f("ttl", "TTL", cfp::FTAG_TTL, Some(Value::U((tag & 0x3f).into())), None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use etherparse::PacketBuilder;

    /// Ethernet to a PPPoE session (id 0x1234) carrying `ppp` then `inner`, then padding.
    fn pppoe(version_type: u8, ppp: u16, inner: &[u8]) -> Vec<u8> {
        let mut f = vec![0, 0x17, 0x33, 0x61, 0, 0, 0xe0, 0xa1, 0xd7, 0x18, 0xc2, 0x73, 0x88, 0x64];
        let len = (inner.len() + 2) as u16;
        f.extend_from_slice(&[version_type, 0x00, 0x12, 0x34]);
        f.extend_from_slice(&len.to_be_bytes());
        f.extend_from_slice(&ppp.to_be_bytes());
        f.extend_from_slice(inner);
        f.extend_from_slice(&[0; 4]); // Ethernet padding, outside the PPPoE length
        f
    }

    fn protos(f: &[u8]) -> Vec<Proto> {
        decode(LinkType::ETHERNET, f, f.len() as u32).layers().iter().map(|l| l.proto).collect()
    }

    #[test]
    fn ethernet_and_vlan_field_tables_are_consistent_and_are_what_the_tree_highlights() {
        use crate::decode::field::check;
        let fields = [("dst", eth::DST), ("src", eth::SRC), ("type", eth::ETHERTYPE)];
        check::table(eth::HEADER_LEN, &fields, &[]);
        let f = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source
            0x81, 0x00, // 802.1Q
            0x20, 0x64, // priority 1, DEI 0, VLAN 100
            0x08, 0x06, // ARP
        ];
        let mut seen = check::Seen::default();
        describe_eth(&mut seen, &f, 0);
        check::tree(&seen, 0, &fields, &[]);
        // An 802.3 length sits where the type is.
        let mut g = f;
        g[12..14].copy_from_slice(&[0x00, 0x2e]);
        let mut seen = check::Seen::default();
        describe_eth(&mut seen, &g, 0);
        check::tree(&seen, 0, &[("dst", eth::DST), ("src", eth::SRC), ("len", eth::ETHERTYPE)], &[]);

        let fields =
            [("priority", vlan::PCP_DEI), ("dei", vlan::PCP_DEI), ("id", vlan::TCI), ("etype", vlan::ETHERTYPE)];
        check::table(vlan::HEADER_LEN, &fields, &[vlan::PCP_DEI, vlan::TCI]);
        let mut seen = check::Seen::default();
        describe_vlan(&mut seen, &f[14..], 14);
        check::tree(&seen, 14, &fields, &[]);
        let t = Vlan::new(&f[14..]);
        assert_eq!((t.tci(), t.id(), t.ethertype()), (Some(0x2064), Some(100), Some(0x0806)));
        let e = Ethernet::new(&f);
        assert_eq!((e.dst(), e.src(), e.ethertype()), (Some([0xff; 6]), Some([2, 0, 0, 0, 0, 1]), Some(0x8100)));
    }

    #[test]
    fn sll_field_tables_are_consistent_and_are_what_the_tree_highlights() {
        use crate::decode::field::check;
        for (version2, l) in [(false, &sll::V1), (true, &sll::V2)] {
            let mut fields = vec![
                ("pkttype", l.pkttype.clone()),
                ("hatype", l.hatype.clone()),
                ("halen", l.halen.clone()),
                ("src.eth", l.mac()),
                ("etype", l.protocol.clone()),
            ];
            fields.extend(l.ifindex.clone().map(|r| ("ifindex", r)));
            check::table(l.header_len, &fields, &[]);
            let mut with_addr = fields.clone();
            with_addr[3] = ("addr", l.addr.clone());
            check::table(l.header_len, &with_addr, &[]);
            let mut h = vec![0u8; l.header_len];
            h[l.pkttype.end - 1] = 4; // sent by us
            h[l.hatype.clone()].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
            h[l.halen.end - 1] = 6;
            h[l.mac()].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
            h[l.protocol.clone()].copy_from_slice(&0x0800u16.to_be_bytes());
            if let Some(r) = l.ifindex.clone() {
                h[r].copy_from_slice(&7u32.to_be_bytes());
            }
            let mut seen = check::Seen::default();
            describe_sll(&mut seen, &h, 0, version2);
            check::tree(&seen, 0, &fields, &[]);
            let s = Sll::new(&h, version2);
            assert_eq!((s.pkttype(), s.hatype(), s.halen(), s.protocol()), (Some(4), Some(1), Some(6), Some(0x0800)));
            assert_eq!((s.mac(), s.ifindex()), (Some([2, 0, 0, 0, 0, 1]), version2.then_some(7)));
        }
    }

    #[test]
    fn pppoe_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use crate::decode::field::check;
        let fields = [
            ("version", pppoe::VER_TYPE),
            ("type", pppoe::VER_TYPE),
            ("code", pppoe::CODE),
            ("session_id", pppoe::SESSION_ID),
            ("payload_length", pppoe::LENGTH),
            ("ppp_protocol", pppoe::PPP_PROTOCOL),
        ];
        check::table(pppoe::HEADER_LEN, &fields, &[]);
        let f = pppoe(0x11, 0x0021, &[0x45]);
        let mut seen = check::Seen::default();
        describe_pppoe(&mut seen, &f[14..], 14);
        check::tree(&seen, 14, &fields, &[]);
    }

    #[test]
    fn ppp_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use crate::decode::field::check;
        // Address, control, protocol 0x0021; and the compressed one-byte protocol alone.
        let full = [("address", ppp::ADDRESS), ("control", ppp::CONTROL), ("protocol", ppp::protocol(4))];
        check::table(4, &full, &[]);
        assert_eq!((ppp::protocol_at(2, 0x00), ppp::protocol_at(0, 0x21)), (2..4, 0..1));
        let mut seen = check::Seen::default();
        describe_ppp(&mut seen, &[0xff, 0x03, 0x00, 0x21], 4, 4);
        check::tree(&seen, 4, &full, &[]);
        let mut seen = check::Seen::default();
        describe_ppp(&mut seen, &[0x21], 0, 1);
        check::tree(&seen, 0, &[("protocol", ppp::protocol(1))], &[]);
        assert_eq!((ppp_protocol(&[0x21], 1), ppp_protocol(&[0xff, 0x03, 0x00, 0x57], 4)), (0x21, 0x57));
    }

    #[test]
    fn chdlc_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use crate::decode::field::check;
        let fields = [("address", chdlc::ADDRESS), ("control", chdlc::CONTROL), ("protocol", chdlc::PROTOCOL)];
        check::table(chdlc::HEADER_LEN, &fields, &[]);
        let h = [0x8f, 0x00, 0x08, 0x00, 0x45];
        assert!(is_chdlc(&h) && !is_chdlc(&[0xff, 0x03, 0x00, 0x21]) && !is_chdlc(&h[..3]));
        let mut seen = check::Seen::default();
        describe_chdlc(&mut seen, &h, 0);
        check::tree(&seen, 0, &fields, &[]);
    }

    #[test]
    fn cfp_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use crate::decode::field::check;
        let fields = [
            ("dst", cfp::OUTER_DST),
            ("src", cfp::OUTER_SRC),
            ("type", cfp::ETHERTYPE),
            ("ftag", cfp::FTAG_TTL),
            ("ttl", cfp::FTAG_TTL),
        ];
        check::table(cfp::HEADER_LEN, &fields, &[]);
        let mut h = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x89, 0x03, 0x00, 0x7f];
        h.extend_from_slice(&[0; 14]);
        let mut seen = check::Seen::default();
        describe_cfp(&mut seen, &h, 0);
        check::tree(&seen, 0, &fields, &[]);
    }

    #[test]
    fn null_and_ppi_field_tables_are_consistent_and_are_what_the_tree_highlights() {
        use crate::decode::field::check;
        let fields = [("family", null::FAMILY)];
        check::table(null::HEADER_LEN, &fields, &[]);
        let mut seen = check::Seen::default();
        describe_null(&mut seen, &[2, 0, 0, 0], 0, false);
        check::tree(&seen, 0, &fields, &[]);
        assert_eq!(Null::new(&[2, 0, 0, 0]).family(false), Some(2), "host order, little-endian");

        let fields = [("version", ppi::VERSION), ("flags", ppi::FLAGS), ("len", ppi::LEN), ("dlt", ppi::DLT)];
        check::table(ppi::HEADER_LEN, &fields, &[]);
        let h = [0, 0, 8, 0, 1, 0, 0, 0]; // version 0, flags 0, 8 bytes, Ethernet
        let mut seen = check::Seen::default();
        describe_ppi(&mut seen, &h, 0, h.len());
        check::tree(&seen, 0, &fields, &[]);
        let p = Ppi::new(&h);
        assert_eq!((p.version(), p.flags(), p.header_len(), p.dlt()), (Some(0), Some(0), Some(8), Some(1)));
    }

    #[test]
    fn mpls_field_table_is_consistent_and_is_what_the_tree_highlights() {
        use crate::decode::field::check;
        let table = [("label", mpls::LABEL), ("exp", mpls::EXP_S), ("bottom", mpls::EXP_S), ("ttl", mpls::TTL)];
        check::table(mpls::ENTRY_LEN, &table, &[mpls::LABEL, mpls::EXP_S]);
        let fields = [("label", mpls::ENTRY), ("exp", mpls::EXP_S), ("bottom", mpls::EXP_S), ("ttl", mpls::TTL)];
        let h = [
            0x00, 0x01, 0x40, 0x40, // label 20, exp 0, not bottom, TTL 64
            0x00, 0x01, 0x51, 0x3f, // label 21, bottom, TTL 63
        ];
        let mut seen = check::Seen::default();
        describe_mpls(&mut seen, &h, 0, h.len());
        assert_eq!(seen.0.len(), 8);
        assert_eq!((mpls_label(&h[..4]), mpls_label(&h[4..])), (20, 21));
        let (first, second) = seen.0.split_at(4);
        check::tree(&check::Seen(first.to_vec()), 0, &fields, &[]);
        check::tree(&check::Seen(second.to_vec()), mpls::ENTRY_LEN, &fields, &[]);
    }

    #[test]
    fn pppoe_session_carries_ip() {
        let mut ip = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(514, 514).write(&mut ip, b"hello").unwrap();
        let f = pppoe(0x11, 0x0021, &ip);
        assert_eq!(protos(&f), [Proto::Eth, Proto::Pppoe, Proto::Ipv4, Proto::Udp, Proto::Data]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert_eq!(p.payload(), b"hello", "the padding after the PPPoE length is not payload");
        assert_eq!(p.unknown_ethertype, 0);
    }

    #[test]
    fn pppoe_control_protocols_are_data_and_a_bad_header_is_not_pppoe() {
        assert_eq!(protos(&pppoe(0x11, 0xc021, &[1, 1, 0, 4])), [Proto::Eth, Proto::Pppoe, Proto::Data]);
        let f = pppoe(0x21, 0x0021, &[0x45]);
        assert_eq!(protos(&f), [Proto::Eth, Proto::Data]);
        assert_eq!(decode(LinkType::ETHERNET, &f, f.len() as u32).unknown_ethertype, 0x8864);
        // Cut inside the header.
        let f = &pppoe(0x11, 0x0021, &[])[..18];
        assert_eq!(protos(f), [Proto::Eth, Proto::Data]);
    }
}
