//! One frame -> a layered view. Takes a `source::Frame`'s bytes and link type and
//! hands on a `Packet`: a fixed array of layers (protocol + byte range), borrowed
//! from the frame, plus, when decoding stopped early, where and why.
//!
//! Each protocol file holds a zero-copy view (`Tcp<'a>` ...) whose accessors check
//! bounds per field, so a header cut by the snaplen still shows every field that
//! was captured (as tshark does), and a `describe` function that lists every field
//! with its byte range for the tree, the hex dump and JSON alike.

pub mod arp;
pub mod capture;
pub mod field;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod llc;
pub mod shim;
pub mod tcp;
pub mod tcp_analysis;
pub mod tunnel;
pub mod udp;
pub mod wlan;

use std::fmt;

use crate::source::LinkType;

pub use field::{Value, Visitor};

/// Protocols pktlab decodes (and the leftovers it names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    /// Bytes no decoder claimed: application payload, or a protocol pktlab does not decode.
    // First, so an empty layer is all zeros and a packet's layer table starts as a
    // memset rather than a copy of a constant.
    Data,
    Eth,
    /// Cisco FabricPath: an outer MAC header wrapping a whole Ethernet frame.
    Cfp,
    Vlan,
    Sll,
    Sll2,
    Null,
    Arp,
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// GTP-U: a mobile network's tunnel, an IP packet inside.
    Gtp,
    /// VXLAN: an Ethernet frame inside UDP.
    Vxlan,
    /// PPP over Ethernet, session stage (RFC 2516), with the PPP protocol field: DSL
    /// links, an IP packet inside.
    Pppoe,
    /// PPP on a serial or dial-up link (link type 9): address, control, protocol.
    Ppp,
    /// Cisco HDLC (link type 104, or inside a PPP link): address, control, ethertype.
    Chdlc,
    /// MPLS label stack (RFC 3032): labels until the bottom of the stack, then IP.
    Mpls,
    /// Per-Packet Information header (link type 192): radio metadata, then a frame of
    /// another link type.
    Ppi,
    /// Geneve (RFC 8926): a frame inside UDP, with options.
    Geneve,
    /// Teredo (RFC 4380): IPv6 inside UDP, after optional authentication and origin
    /// indication headers.
    Teredo,
    /// Protocol Independent Multicast (IP protocol 103); a Register carries a packet.
    Pim,
    /// Solaris IPNET capture header (link type 226).
    Ipnet,
    /// IP over InfiniBand (link type 242).
    Ipoib,
    /// Arista's vendor-specific header (ethertype 0xd28b): a timestamp, an ethertype.
    Avsp,
    /// MACsec SecTAG (IEEE 802.1AE, ethertype 0x88e5).
    Macsec,
    /// Network Service Header (RFC 8300, ethertype 0x894f): a service chain's path.
    Nsh,
    /// IEEE 802.2 Logical-Link Control, with SNAP when it names an ethertype.
    Llc,
    /// Cisco Inter-Switch Link: a VLAN-tagging header before a whole Ethernet frame.
    Isl,
    /// FDDI (link type 10).
    Fddi,
    /// Token Ring (link type 6).
    Tr,
    /// Frame Relay (link type 107).
    Fr,
    /// Linux netfilter's log (link type 239): TLVs, one of them the packet.
    Nflog,
    /// Juniper's capture header (link type 178), before Ethernet or a protocol.
    Juniper,
    /// Generic Routing Encapsulation (IP protocol 47).
    Gre,
    /// CAPWAP data channel (UDP 5247): an access point's tunnel to its controller.
    Capwap,
    /// IEEE 802.11 (as CAPWAP carries it): data frames and their LLC.
    Wlan,
}

impl Proto {
    /// Wireshark's protocol abbreviation: the JSON key and filter name.
    pub fn abbrev(self) -> &'static str {
        match self {
            Proto::Eth => "eth",
            Proto::Cfp => "cfp",
            Proto::Vlan => "vlan",
            Proto::Sll => "sll",
            Proto::Sll2 => "sll2",
            Proto::Null => "null",
            Proto::Arp => "arp",
            Proto::Ipv4 => "ip",
            Proto::Ipv6 => "ipv6",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
            Proto::Gtp => "gtp",
            Proto::Vxlan => "vxlan",
            Proto::Pppoe => "pppoes",
            Proto::Ppp => "ppp",
            Proto::Chdlc => "chdlc",
            Proto::Ppi => "ppi",
            Proto::Mpls => "mpls",
            Proto::Geneve => "geneve",
            Proto::Teredo => "teredo",
            Proto::Pim => "pim",
            Proto::Ipnet => "ipnet",
            Proto::Ipoib => "ipoib",
            Proto::Avsp => "avsp",
            Proto::Macsec => "macsec",
            Proto::Nsh => "nsh",
            Proto::Llc => "llc",
            Proto::Isl => "isl",
            Proto::Fddi => "fddi",
            Proto::Tr => "tr",
            Proto::Fr => "fr",
            Proto::Nflog => "nflog",
            Proto::Juniper => "juniper",
            Proto::Gre => "gre",
            Proto::Capwap => "capwap.data",
            Proto::Wlan => "wlan",
            Proto::Data => "data",
        }
    }

    /// The name shown in the tree and the protocol column.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Eth => "Ethernet II",
            Proto::Cfp => "Cisco FabricPath",
            Proto::Vlan => "802.1Q Virtual LAN",
            Proto::Sll => "Linux cooked capture v1",
            Proto::Sll2 => "Linux cooked capture v2",
            Proto::Null => "Null/Loopback",
            Proto::Arp => "Address Resolution Protocol",
            Proto::Ipv4 => "Internet Protocol Version 4",
            Proto::Ipv6 => "Internet Protocol Version 6",
            Proto::Tcp => "Transmission Control Protocol",
            Proto::Udp => "User Datagram Protocol",
            Proto::Icmp => "Internet Control Message Protocol",
            Proto::Icmpv6 => "Internet Control Message Protocol v6",
            Proto::Gtp => "GPRS Tunneling Protocol",
            Proto::Vxlan => "Virtual eXtensible Local Area Network",
            Proto::Pppoe => "PPP-over-Ethernet Session",
            Proto::Ppp => "Point-to-Point Protocol",
            Proto::Chdlc => "Cisco HDLC",
            Proto::Ppi => "PPI Packet Header",
            Proto::Mpls => "MultiProtocol Label Switching Header",
            Proto::Geneve => "Generic Network Virtualization Encapsulation",
            Proto::Teredo => "Teredo IPv6 over UDP tunneling",
            Proto::Pim => "Protocol Independent Multicast",
            Proto::Ipnet => "Solaris IPNET",
            Proto::Ipoib => "IP over Infiniband",
            Proto::Avsp => "Arista Vendor Specific Protocol",
            Proto::Macsec => "802.1AE Security tag",
            Proto::Nsh => "Network Service Header",
            Proto::Llc => "Logical-Link Control",
            Proto::Isl => "Cisco ISL",
            Proto::Fddi => "Fiber Distributed Data Interface",
            Proto::Tr => "Token-Ring",
            Proto::Fr => "Frame Relay",
            Proto::Nflog => "Linux Netfilter NFLOG",
            Proto::Juniper => "Juniper",
            Proto::Gre => "Generic Routing Encapsulation",
            Proto::Capwap => "Control And Provisioning of Wireless Access Points - Data",
            Proto::Wlan => "IEEE 802.11 wireless LAN",
            Proto::Data => "Data",
        }
    }
}

/// One decoded layer: its protocol and where its bytes are in the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    pub proto: Proto,
    /// Offset of the layer's first byte in the frame.
    pub start: usize,
    /// Offset just past the header bytes that were captured.
    pub hdr_end: usize,
    /// Offset just past this layer's data (header and payload) in the captured bytes.
    pub end: usize,
}

impl Layer {
    pub fn header_range(&self) -> std::ops::Range<usize> {
        self.start..self.hdr_end
    }
}

/// Why decoding stopped before the end of the frame's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The captured bytes end inside a header.
    Truncated { needed: usize, available: usize },
    /// A header length field below the minimum (IPv4 IHL, TCP data offset).
    BadHeaderLen { value: usize, min: usize },
    /// IPv4 total length shorter than its own header.
    BadTotalLen { total: usize, header: usize },
    /// IPv4 total length (or IPv6 payload length) beyond the bytes on the wire.
    TotalLenExceeds { total: usize, available: usize },
    /// UDP length field shorter than the UDP header or longer than the IP payload.
    BadUdpLen { length: usize, available: usize },
    /// A version field that does not fit the layer (an "IPv4" header saying 6).
    BadVersion { version: u8 },
    /// A link type pktlab has no decoder for.
    UnsupportedLink { link: u32 },
    /// TCP options that run past the header.
    BadOption { kind: u8, len: usize },
}

/// Where and why decoding stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub proto: Proto,
    pub offset: usize,
    pub problem: Problem,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.proto.abbrev();
        match self.problem {
            Problem::Truncated { needed, available } => {
                write!(f, "{p} header truncated at byte {}: needed {needed} bytes, {available} captured", self.offset)
            }
            Problem::BadHeaderLen { value, min } => {
                write!(f, "{p} header length {value} at byte {} is below the minimum {min}", self.offset)
            }
            Problem::BadTotalLen { total, header } => {
                write!(f, "{p} total length {total} at byte {} is less than the header length {header}", self.offset)
            }
            Problem::TotalLenExceeds { total, available } => {
                write!(f, "{p} length {total} at byte {} exceeds the {available} bytes of the packet", self.offset)
            }
            Problem::BadUdpLen { length, available } => write!(
                f,
                "{p} length {length} at byte {} does not fit the {available} bytes the IP layer carries",
                self.offset
            ),
            Problem::BadVersion { version } => write!(f, "{p} version field is {version} at byte {}", self.offset),
            Problem::UnsupportedLink { link } => write!(f, "link type {} is not decoded", LinkType(link)),
            Problem::BadOption { kind, len } => {
                write!(f, "{p} option kind {kind} with length {len} at byte {} runs past the header", self.offset)
            }
        }
    }
}

impl Malformed {
    /// Short reason for the JSON `error.reason` field and counters.
    pub fn kind(&self) -> &'static str {
        match self.problem {
            Problem::Truncated { .. } => "truncated",
            Problem::BadHeaderLen { .. } => "bad-header-length",
            Problem::BadTotalLen { .. } => "bad-total-length",
            Problem::BadUdpLen { .. } => "bad-length",
            Problem::TotalLenExceeds { .. } => "length-exceeds-packet",
            Problem::BadVersion { .. } => "bad-version",
            Problem::UnsupportedLink { .. } => "unsupported-link-type",
            Problem::BadOption { .. } => "bad-option",
        }
    }
}

/// Room for the deepest stacks tshark decodes in practice: a CAPWAP tunnel behind
/// QinQ tags carries 802.11 and LLC before its TCP (eth, vlan, vlan, ip, udp,
/// capwap, wlan, llc, ip, tcp, data).
pub const MAX_LAYERS: usize = 12;

/// A decoded frame: the bytes, the layers found in them, and where decoding stopped.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub data: &'a [u8],
    pub link: LinkType,
    pub orig_len: u32,
    layers: [Layer; MAX_LAYERS],
    n: usize,
    /// Ethertype (or SLL protocol, or null-link family mapped to one) that no decoder
    /// took, for the protocol column; 0 when every layer was decoded.
    pub unknown_ethertype: u16,
    /// IP protocol number no decoder took (GRE, ESP, SCTP ...), or a non-first
    /// IPv4/IPv6 fragment's protocol.
    pub unknown_ip_proto: Option<u8>,
    pub malformed: Option<Malformed>,
    /// Bytes at the end of the frame that belong to the link (a FabricPath FCS).
    trailer: usize,
    /// Index of the first layer of the datagram an ICMP error quotes; 0 when none.
    quote: usize,
    /// An IP layer is a fragment (Wireshark's `pinfo->fragmented`): the transport
    /// header of a first fragment is decoded, but the segment has no length of its
    /// own and its checksum covers bytes the frame lacks.
    pub fragmented: bool,
}

const EMPTY: Layer = Layer { proto: Proto::Data, start: 0, hdr_end: 0, end: 0 };

impl<'a> Packet<'a> {
    pub fn layers(&self) -> &[Layer] {
        &self.layers[..self.n]
    }

    pub fn layer(&self, proto: Proto) -> Option<&Layer> {
        self.layers().iter().find(|l| l.proto == proto)
    }

    pub fn has(&self, proto: Proto) -> bool {
        self.layer(proto).is_some()
    }

    /// Where the datagram quoted by an ICMP error begins (its IP layer's index).
    pub fn quote_start(&self) -> Option<usize> {
        (self.quote > 0).then_some(self.quote)
    }

    /// The layers of the frame's own datagram, without what an ICMP error quotes.
    pub fn own_layers(&self) -> &[Layer] {
        &self.layers[..if self.quote > 0 { self.quote } else { self.n }]
    }

    /// Decoding the datagram an ICMP error quotes: headers are cut short there by
    /// design (RFC 792 quotes 8 bytes past the IP header), so decoders accept less.
    pub(crate) fn quoting(&self) -> bool {
        self.quote > 0
    }

    fn push(&mut self, proto: Proto, start: usize, hdr_end: usize, end: usize) {
        if self.n < MAX_LAYERS {
            self.layers[self.n] = Layer { proto, start, hdr_end, end };
            self.n += 1;
        }
    }

    fn fail(&mut self, proto: Proto, offset: usize, problem: Problem) {
        if self.malformed.is_none() {
            self.malformed = Some(Malformed { proto, offset, problem });
        }
    }

    /// Bytes of a layer (header and payload as far as captured).
    pub fn bytes(&self, l: &Layer) -> &'a [u8] {
        &self.data[l.start..l.end]
    }

    pub fn eth(&self) -> Option<link::Ethernet<'a>> {
        self.layer(Proto::Eth).map(|l| link::Ethernet::new(self.bytes(l)))
    }
    pub fn arp(&self) -> Option<arp::Arp<'a>> {
        self.layer(Proto::Arp).map(|l| arp::Arp::new(self.bytes(l)))
    }
    pub fn ipv4(&self) -> Option<ipv4::Ipv4<'a>> {
        self.layer(Proto::Ipv4).map(|l| ipv4::Ipv4::new(self.bytes(l)))
    }
    pub fn ipv6(&self) -> Option<ipv6::Ipv6<'a>> {
        self.layer(Proto::Ipv6).map(|l| ipv6::Ipv6::new(self.bytes(l)))
    }
    pub fn tcp(&self) -> Option<tcp::Tcp<'a>> {
        self.layer(Proto::Tcp).map(|l| tcp::Tcp::new(self.bytes(l)))
    }
    pub fn udp(&self) -> Option<udp::Udp<'a>> {
        self.layer(Proto::Udp).map(|l| udp::Udp::new(self.bytes(l)))
    }
    /// The innermost UDP header: inside a tunnel, the one the tunnel carries.
    pub fn inner_udp(&self) -> Option<udp::Udp<'a>> {
        self.layers().iter().rev().find(|l| l.proto == Proto::Udp).map(|l| udp::Udp::new(self.bytes(l)))
    }
    pub fn icmp(&self) -> Option<icmp::Icmp<'a>> {
        self.layer(Proto::Icmp).map(|l| icmp::Icmp::new(self.bytes(l)))
    }
    pub fn icmpv6(&self) -> Option<icmp::Icmp<'a>> {
        self.layer(Proto::Icmpv6).map(|l| icmp::Icmp::new(self.bytes(l)))
    }

    /// The innermost IP layer's addresses as a pair of `IpAddr`.
    pub fn ip_addrs(&self) -> Option<(std::net::IpAddr, std::net::IpAddr)> {
        if let Some(ip) = self.ipv4() {
            return Some((ip.src()?.into(), ip.dst()?.into()));
        }
        let ip = self.ipv6()?;
        Some((ip.src()?.into(), ip.dst()?.into()))
    }

    /// Transport payload: TCP/UDP data bytes as captured (may be shorter than on the wire).
    pub fn payload(&self) -> &'a [u8] {
        match self.layer(Proto::Data) {
            Some(l) => self.bytes(l),
            None => &[],
        }
    }

    /// TCP segment length as the IP layer reports it (tshark's `tcp.len`), which
    /// counts bytes the snaplen may have cut.
    pub fn tcp_len(&self) -> Option<u32> {
        let l = self.layer(Proto::Tcp)?;
        self.tcp_len_in(l, self.carrier_of(l)?)
    }

    /// [`Packet::tcp_len`] of the TCP layer `l`, carried by the IP layer `ip`.
    pub fn tcp_len_in(&self, l: &Layer, ip: &Layer) -> Option<u32> {
        if self.fragmented && self.is_fragment(ip) {
            return None;
        }
        let tcp = tcp::Tcp::new(self.bytes(l));
        let hl = tcp.header_len()? as u32;
        let ip_payload = self.ip_payload_len_in(l, ip)?;
        // A segment shorter than its own header has no length (tshark: "short segment").
        if hl >= 20 && ip_payload < hl || l.end - l.start < 20 {
            return None;
        }
        Some(ip_payload.saturating_sub(hl))
    }

    /// The outermost IP layer that is a fragment: where tshark, reassembling (its
    /// default), stops dissecting a frame that does not complete its datagram, so the
    /// list names that layer's hosts and says "fragment", whatever the fragment holds
    /// (a tunnel's first fragment begins with the tunnel and the packet inside it).
    pub fn fragment_layer(&self) -> Option<&Layer> {
        if !self.fragmented {
            return None;
        }
        self.own_layers().iter().find(|l| matches!(l.proto, Proto::Ipv4 | Proto::Ipv6) && self.is_fragment(l))
    }

    /// The IP layer `ip` is a fragment. tshark sets `pinfo->fragmented` anew in each IP
    /// layer, so a TCP header in a tunnel inside a first fragment, whose own IP header
    /// is whole, has a length (the IP layer's, cut where the fragment ends).
    #[cold]
    #[inline(never)]
    fn is_fragment(&self, ip: &Layer) -> bool {
        let b = self.bytes(ip);
        if ip.proto == Proto::Ipv4 {
            return ipv4::Ipv4::new(b).is_fragment();
        }
        // The fragment header among the extension headers the decoder walked (RFC 8200
        // section 4.5), as `ipv6::decode` tells a fragment; an unreadable chain counts
        // as one, as before this distinction.
        let hdr = ip.hdr_end - ip.start;
        let (Some(&first), mut cur) = (b.get(6), 40usize) else { return true };
        let mut next = first;
        while matches!(next, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140) && cur + 8 <= hdr {
            let (Some(&nh), Some(&len)) = (b.get(cur), b.get(cur + 1)) else { return true };
            if next == 44 {
                return be16(b, cur + 2).is_none_or(|fo| fo & 0xfff9 != 0);
            }
            cur += if next == 51 { (usize::from(len) + 2) * 4 } else { (usize::from(len) + 1) * 8 };
            next = nh;
        }
        false
    }

    /// Length, according to the IP header that carries it, of the payload that begins
    /// with `transport`.
    pub fn ip_payload_len_of(&self, transport: &Layer) -> Option<u32> {
        self.ip_payload_len_in(transport, self.carrier_of(transport)?)
    }

    /// The IP layer that carries `transport`: the last one before it.
    fn carrier_of(&self, transport: &Layer) -> Option<&Layer> {
        self.layers().iter().rev().find(|l| matches!(l.proto, Proto::Ipv4 | Proto::Ipv6) && l.start < transport.start)
    }

    fn ip_payload_len_in(&self, transport: &Layer, ip: &Layer) -> Option<u32> {
        let claimed_end = match ip.proto {
            Proto::Ipv4 => {
                let v = ipv4::Ipv4::new(self.bytes(ip));
                let total = v.effective_total_len(self.reported_len_from(ip.start))?;
                ip.start + total
            }
            _ => {
                let v = ipv6::Ipv6::new(self.bytes(ip));
                let pl = v.payload_len()? as usize;
                if pl == 0 {
                    ip.start + self.reported_len_from(ip.start)
                } else {
                    ip.start + 40 + pl
                }
            }
        };
        Some(claimed_end.saturating_sub(transport.start) as u32)
    }

    fn reported_len_from(&self, offset: usize) -> usize {
        (self.orig_len as usize).max(self.data.len()).saturating_sub(offset + self.trailer)
    }
}

/// Decodes one frame. Never panics, never allocates.
#[inline(always)]
pub fn decode(link: LinkType, data: &[u8], orig_len: u32) -> Packet<'_> {
    let mut p = Packet::undecoded(link, data, orig_len);
    p.decode();
    p
}

impl<'a> Packet<'a> {
    /// A frame with no layers yet: [`Packet::decode`] finds them. The two steps
    /// are [`decode`] for loops over millions of frames: a packet that `decode`
    /// returns is built and then copied into the caller's slot (480 bytes, a
    /// frame's biggest copy), while one made here and decoded in place is not.
    #[inline(always)]
    pub fn undecoded(link: LinkType, data: &'a [u8], orig_len: u32) -> Packet<'a> {
        Packet {
            data,
            link,
            orig_len,
            layers: [EMPTY; MAX_LAYERS],
            n: 0,
            unknown_ethertype: 0,
            unknown_ip_proto: None,
            malformed: None,
            trailer: 0,
            quote: 0,
            fragmented: false,
        }
    }

    /// Decodes the frame's layers (once: on a packet from [`Packet::undecoded`]).
    pub fn decode(&mut self) {
        link::decode_link(self);
    }
}

/// Dispatches on an ethertype at `off`.
pub(crate) fn decode_ethertype(p: &mut Packet<'_>, ethertype: u16, off: usize, end: usize) {
    if p.n >= MAX_LAYERS - 2 {
        // Tunnels inside tunnels: stop before the layer table (and the stack) runs out.
        return push_data(p, off, end);
    }
    match ethertype {
        0x0800 => ipv4::decode(p, off, end),
        0x86dd => ipv6::decode(p, off, end),
        // RARP (RFC 903) is ARP's format with opcodes 3 and 4.
        0x0806 | 0x8035 => arp::decode(p, off, end),
        0x8100 | 0x88a8 | 0x9100 => link::decode_vlan(p, off, end),
        0x8864 if link::decode_pppoe(p, off, end) => {}
        0x8847 | 0x8848 if link::decode_mpls(p, off, end) => {}
        0xd28b => shim::decode_avsp(p, off, end),
        0x88e5 if shim::decode_macsec(p, off, end) => {}
        0x894f => shim::decode_nsh(p, off, end),
        _ => {
            p.unknown_ethertype = ethertype;
            push_data(p, off, end);
        }
    }
}

/// Dispatches on an IP protocol number at `off` (after IPv4 or IPv6 headers).
pub(crate) fn decode_ip_proto(p: &mut Packet<'_>, proto: u8, off: usize, end: usize) {
    if p.n >= MAX_LAYERS - 2 {
        return push_data(p, off, end);
    }
    match proto {
        // IP in IP (RFC 2003) and IPv6 in IPv4/IPv6 (RFC 4213, RFC 2473).
        4 => ipv4::decode(p, off, end),
        41 => ipv6::decode(p, off, end),
        6 => tcp::decode(p, off, end),
        17 => udp::decode(p, off, end),
        1 => icmp::decode(p, Proto::Icmp, off, end),
        58 => icmp::decode(p, Proto::Icmpv6, off, end),
        103 => tunnel::decode_pim(p, off, end),
        47 if end > off => tunnel::decode_gre(p, off, end),
        _ => {
            p.unknown_ip_proto = Some(proto);
            push_data(p, off, end);
        }
    }
}

pub(crate) fn push_data(p: &mut Packet<'_>, off: usize, end: usize) {
    if end > off {
        p.push(Proto::Data, off, off, end);
    }
}

/// Name of an IP protocol number, as Wireshark spells it.
pub fn ip_proto_name(n: u8) -> &'static str {
    match n {
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        _ => etherparse::IpNumber(n).keyword_str().unwrap_or("Unknown"),
    }
}

/// Name of an ethertype, as Wireshark's protocol column shows it.
pub fn ethertype_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x86dd => "IPv6",
        0x8100 => "802.1Q",
        0x88a8 => "802.1ad",
        0x88cc => "LLDP",
        0x888e => "EAPOL",
        0x8863 => "PPPoED",
        0x8864 => "PPPoES",
        0x8847 => "MPLS",
        0x8848 => "MPLS",
        0x8809 => "Slow",
        0x88f7 => "PTP",
        0x9000 => "LOOP",
        0x0842 => "WOL",
        0x8035 => "RARP",
        0x8137 => "IPX",
        0x88e5 => "MACsec",
        0xd28b => "AVSP",
        0x894f => "NSH",
        0x893a => "IEEE1905",
        _ => return None,
    })
}

/// Big-endian readers that return `None` past the end, so accessors never panic.
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
pub fn arr<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off + N)?.try_into().ok()
}

/// Result of verifying a transport checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checksum {
    Good,
    Bad,
    /// UDP over IPv4 may send 0: no checksum computed (RFC 768).
    Absent,
    /// Holds only the pseudo-header sum (or 0): the NIC was to fill it in
    /// (checksum offload), so the capture shows the value before it did.
    Offload,
    /// Not all bytes were captured, or the IP layer is missing.
    #[default]
    Unverified,
    /// The IP datagram is fragmented: the sum covers fragments this frame lacks.
    Fragment,
}

impl Checksum {
    pub fn key(self) -> &'static str {
        match self {
            Checksum::Good => "good",
            Checksum::Bad => "bad",
            Checksum::Absent => "not present",
            Checksum::Offload => "unverified (offload likely)",
            Checksum::Unverified | Checksum::Fragment => "unverified",
        }
    }
    pub fn meaning(self) -> &'static str {
        match self {
            Checksum::Good => "correct",
            Checksum::Bad => "incorrect",
            Checksum::Absent => "not present: sender computed none",
            Checksum::Offload => "not verified: offload likely (the NIC fills it in after capture)",
            Checksum::Unverified => "not verified: segment not fully captured",
            Checksum::Fragment => "not verified: the datagram is fragmented",
        }
    }
}

/// Verifies the TCP, UDP or ICMP(v6) checksum of `l` over the pseudo-header of the
/// IP layer before it (RFC 9293 section 3.1, RFC 768, RFC 8200 section 8.1).
pub fn transport_checksum(p: &Packet<'_>, l: &Layer) -> Checksum {
    let Some(ip) = p.layers().iter().rev().find(|x| matches!(x.proto, Proto::Ipv4 | Proto::Ipv6) && x.start < l.start)
    else {
        return Checksum::Unverified;
    };
    if p.quote_start().is_some_and(|q| l.start >= p.layers[q].start) {
        // A quote holds the header and a few bytes of a datagram, never all of it.
        return Checksum::Unverified;
    }
    if p.fragmented {
        return Checksum::Fragment;
    }
    let Some(claimed) = p.ip_payload_len_of(l) else {
        return Checksum::Unverified;
    };
    let seg = &p.data[l.start..l.end];
    if seg.len() < claimed as usize || claimed < 4 {
        return Checksum::Unverified;
    }
    let seg = &seg[..claimed as usize];
    let stored_at = match l.proto {
        Proto::Tcp => tcp::field::CHECKSUM,
        Proto::Udp => udp::field::CHECKSUM,
        _ => icmp::field::CHECKSUM,
    };
    let Some(stored) = field::get16(seg, stored_at) else {
        return Checksum::Unverified;
    };
    if l.proto == Proto::Udp && stored == 0 && ip.proto == Proto::Ipv4 {
        return Checksum::Absent;
    }
    use etherparse::checksum::u64_16bit_word as w;
    let proto_num: u8 = match l.proto {
        Proto::Tcp => 6,
        Proto::Udp => 17,
        Proto::Icmpv6 => 58,
        _ => 1,
    };
    let pseudo = if l.proto == Proto::Icmp {
        0
    } else {
        let ipb = &p.data[ip.start..ip.hdr_end];
        let s = match ip.proto {
            Proto::Ipv4 => w::add_slice(0, ipb.get(ipv4::field::ADDRS).unwrap_or(&[])),
            _ => w::add_slice(0, ipb.get(ipv6::field::ADDRS).unwrap_or(&[])),
        };
        let s = w::add_2bytes(s, [0, proto_num]);
        w::add_4bytes(s, claimed.to_be_bytes())
    };
    let total = add_words(pseudo, seg);
    if w::ones_complement(total) == 0 {
        return Checksum::Good;
    }
    // etherparse sums in native byte order: the result's native bytes are the
    // checksum's wire bytes.
    let partial = u16::from_be_bytes(w::ones_complement(pseudo).to_ne_bytes());
    if l.proto != Proto::Icmp && (stored == 0 || stored == !partial || stored == partial) {
        return Checksum::Offload;
    }
    Checksum::Bad
}

/// `start` plus the 16-bit words of `b` (RFC 1071), as etherparse's `u64_16bit_word`
/// sums them (native byte order), but 4 bytes at a time into a plain 64-bit
/// accumulator: no carry to chain, so the compiler vectorizes it. The connection
/// tracker checks every TCP checksum (Zeek's `C`), so this is on the hot path.
fn add_words(start: u64, b: &[u8]) -> u64 {
    use etherparse::checksum::u64_16bit_word as w;
    let mut chunks = b.chunks_exact(4);
    // Below 2^32 words of 2^32 each: no overflow for any frame.
    let acc: u64 = (&mut chunks).map(|c| u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))).sum();
    w::add_slice(w::add_8bytes(start, acc.to_ne_bytes()), chunks.remainder())
}

/// Per-frame context the header bytes alone do not give (relative TCP numbers).
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    pub rel_seq: Option<u32>,
    pub rel_ack: Option<u32>,
    /// Window scale shift in force for this segment, when the handshake was seen.
    pub win_shift: Option<u8>,
    /// tshark's `tcp.stream` / `udp.stream`, when connections are tracked.
    pub stream: Option<u32>,
    /// Which of the two `stream` is, when the tracker said (see [`StreamOf`]).
    pub stream_of: StreamOf,
    /// The `udp.stream` of each UDP tunnel the frame rides in, besides `stream`.
    pub tunnels: Tunnels,
    /// Connection-tracking verdicts on this segment.
    pub analysis: crate::decode::tcp_analysis::Analysis,
    /// What the tracker found of a frame that is no connection's (ARP, ping).
    pub note: Option<Note>,
}

/// The tracker's word on a frame outside any connection, across frames as tshark
/// keeps it. One field for all kinds: it rides along with every frame, and both fit
/// in the bytes of the larger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// An ARP binding an address to another MAC than before.
    ArpDuplicate(arp::Duplicate),
    /// An echo reply (ping) to the request in frame `request`, `rtt_us` later.
    EchoReply { request: std::num::NonZeroU32, rtt_us: u32 },
}

impl Context {
    pub fn arp_duplicate(&self) -> Option<&arp::Duplicate> {
        match &self.note {
            Some(Note::ArpDuplicate(d)) => Some(d),
            _ => None,
        }
    }
    /// The echo request an echo reply answers, and the microseconds between them.
    pub fn echo_request(&self) -> Option<(u32, u32)> {
        match self.note {
            Some(Note::EchoReply { request, rtt_us }) => Some((request.get(), rtt_us)),
            _ => None,
        }
    }
}

const _: () = assert!(std::mem::size_of::<Option<Note>>() == 16);

// It rides along with every frame (into `read`'s batches too): 8 bytes more cost
// `read` 0.6% of its instructions (callgrind, 100 k frames of `gen mix`). 80 bytes
// with the tunnels' streams, 16 more for the note.
const _: () = assert!(std::mem::size_of::<Context>() <= 96);

/// The protocol of [`Context::stream`]. Usually the frame's own transport header
/// says; a frame completing a fragmented datagram has none (the header is in the
/// first fragment) yet tshark gives it the datagram's stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamOf {
    /// As the frame's decoded layers say: TCP if it has a TCP header, else UDP.
    #[default]
    Layers,
    Tcp,
    Udp,
}

/// The `udp.stream` of the UDP tunnels a frame rides in (two at most: see
/// `analysis::conn::Header`), outermost first, as tshark lists a frame's `udp.stream`
/// values, one per UDP header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tunnels {
    /// Each stream plus one; 0 where there is none (the default costs no more than
    /// zeroing).
    plus_one: [u32; 2],
}

impl Tunnels {
    /// Appends a tunnel's stream (dropped past two).
    pub fn push(&mut self, stream: u32) {
        if let Some(slot) = self.plus_one.iter_mut().find(|s| **s == 0) {
            *slot = stream.saturating_add(1);
        }
    }

    /// The streams, outermost first.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.plus_one.iter().take_while(|s| **s != 0).map(|s| s - 1)
    }

    pub fn is_empty(&self) -> bool {
        self.plus_one[0] == 0
    }
}

/// Walks every layer's fields, in order, for the tree and JSON renderers.
pub fn describe<V: Visitor>(p: &Packet<'_>, ctx: &Context, v: &mut V) {
    for l in p.layers() {
        let b = p.bytes(l);
        let hdr = l.hdr_end - l.start;
        let quoted = p.quote_start().is_some_and(|q| l.start >= p.layers[q].start);
        match l.proto {
            Proto::Eth => link::describe_eth(v, b, l.start),
            Proto::Cfp => link::describe_cfp(v, b, l.start),
            Proto::Vlan => link::describe_vlan(v, b, l.start),
            Proto::Null => link::describe_null(v, b, l.start, p.link == LinkType::LOOP),
            Proto::Sll => link::describe_sll(v, b, l.start, false),
            Proto::Sll2 => link::describe_sll(v, b, l.start, true),
            Proto::Arp => arp::describe(v, b, l.start, ctx.arp_duplicate()),
            Proto::Ipv4 => ipv4::describe(v, b, l.start, hdr, p.reported_len_from(l.start), quoted),
            Proto::Ipv6 => ipv6::describe(v, b, l.start, hdr),
            Proto::Tcp => {
                let quoted = match p.quote_start() {
                    Some(q) if quoted => {
                        let icmp = &p.layers[q - 1];
                        let whole =
                            tcp::Tcp::new(b).header_len().is_some_and(|h| h >= tcp::field::HEADER_LEN && hdr >= h);
                        match icmp.proto {
                            Proto::Icmpv6 => tcp::Quoted::Icmpv6,
                            _ if whole && p.data[icmp.start + icmp::field::TYPE.start] != 5 => tcp::Quoted::Icmp,
                            _ => tcp::Quoted::IcmpShort,
                        }
                    }
                    _ => tcp::Quoted::No,
                };
                let tctx = tcp::Context {
                    rel_seq: ctx.rel_seq,
                    rel_ack: ctx.rel_ack,
                    win_shift: ctx.win_shift,
                    seg_len: p.tcp_len().filter(|_| quoted == tcp::Quoted::No),
                    checksum: transport_checksum(p, l),
                    stream: ctx.stream,
                    analysis: ctx.analysis,
                    quoted,
                };
                tcp::describe(v, b, l.start, hdr, &tctx)
            }
            Proto::Udp => udp::describe(v, b, l.start, hdr, transport_checksum(p, l)),
            Proto::Icmp | Proto::Icmpv6 => {
                // The reply the tracker matched is the frame's own ICMP, not a quoted one.
                let request = ctx.echo_request().filter(|_| !quoted);
                icmp::describe(v, l.proto, b, l.start, hdr, transport_checksum(p, l), request)
            }
            Proto::Gtp => tunnel::describe_gtp(v, b, l.start, hdr),
            Proto::Vxlan => tunnel::describe_vxlan(v, b, l.start),
            Proto::Pppoe => link::describe_pppoe(v, b, l.start),
            Proto::Ppp => link::describe_ppp(v, b, l.start, hdr),
            Proto::Chdlc => link::describe_chdlc(v, b, l.start),
            Proto::Ppi => link::describe_ppi(v, b, l.start, hdr),
            Proto::Mpls => link::describe_mpls(v, b, l.start, hdr),
            Proto::Geneve => tunnel::describe_geneve(v, b, l.start, hdr),
            Proto::Teredo => tunnel::describe_teredo(v, b, l.start, hdr),
            Proto::Pim => tunnel::describe_pim(v, b, l.start, hdr),
            Proto::Ipnet => capture::describe_ipnet(v, b, l.start),
            Proto::Ipoib => capture::describe_ipoib(v, b, l.start),
            Proto::Avsp => shim::describe_avsp(v, b, l.start, hdr),
            Proto::Macsec => shim::describe_macsec(v, b, l.start, hdr),
            Proto::Nsh => shim::describe_nsh(v, b, l.start, hdr),
            Proto::Llc => llc::describe_llc(v, b, l.start, hdr),
            Proto::Isl => llc::describe_isl(v, b, l.start),
            Proto::Fddi => llc::describe_fddi(v, b, l.start),
            Proto::Tr => llc::describe_tr(v, b, l.start, hdr),
            Proto::Fr => llc::describe_fr(v, b, l.start, hdr),
            Proto::Nflog => capture::describe_nflog(v, b, l.start, hdr),
            Proto::Juniper => capture::describe_juniper(v, b, l.start, hdr),
            Proto::Gre => tunnel::describe_gre(v, b, l.start, hdr),
            Proto::Capwap => wlan::describe_capwap(v, b, l.start, hdr),
            // Only CAPWAP brings 802.11 frames, always with the frame control swapped.
            Proto::Wlan => wlan::describe_wlan(v, b, l.start, hdr, true),
            Proto::Data => {
                v.layer(Proto::Data, l.start..l.end, format_args!("Data ({} bytes)", b.len()));
                v.field("len", "Length", l.start..l.end, Value::U(b.len() as u64), None);
                v.field("data", "Data", l.start..l.end, Value::Bytes(b), None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn word_sum_agrees_with_etherparse() {
        use etherparse::checksum::u64_16bit_word as w;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..200 {
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            for start in [0u64, 0xffff, u64::MAX - 3] {
                assert_eq!(
                    w::ones_complement(super::add_words(start, &b)),
                    w::ones_complement(w::add_slice(start, &b)),
                    "len {len}"
                );
            }
        }
    }

    use super::*;

    /// Ethernet II + IPv4 + TCP SYN with MSS, SACK-permitted, timestamps, NOP, window scale.
    #[rustfmt::skip]
    const SYN: [u8; 74] = [
        // Ethernet: dst, src, type IPv4
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55,  0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,  0x08, 0x00,
        // IPv4: version 4 IHL 5, DSCP 0, total length 60, id 0x1c46, DF, TTL 64, TCP, checksum, src, dst
        0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
        10, 0, 0, 1,  10, 0, 0, 2,
        // TCP: sport 51234, dport 8000, seq 1000, ack 0, data offset 10 (40 bytes), SYN, window 65495
        0xc8, 0x22, 0x1f, 0x40,  0x00, 0x00, 0x03, 0xe8,  0x00, 0x00, 0x00, 0x00,  0xa0, 0x02, 0xff, 0xd7,
        // checksum, urgent pointer
        0x00, 0x00, 0x00, 0x00,
        // options: MSS 65495, SACK permitted, timestamps 1/0, NOP, window scale 7
        0x02, 0x04, 0xff, 0xd7,  0x04, 0x02,  0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0,  0x01,  0x03, 0x03, 0x07,
    ];

    fn with_ip_checksum(mut f: Vec<u8>) -> Vec<u8> {
        f[24] = 0;
        f[25] = 0;
        let sum = etherparse::checksum::u32_16bit_word::add_slice(0, &f[14..34]);
        let c = etherparse::checksum::u32_16bit_word::ones_complement(sum).to_ne_bytes();
        f[24] = c[0];
        f[25] = c[1];
        f
    }

    #[test]
    fn ethernet_ipv4_tcp_syn() {
        let f = with_ip_checksum(SYN.to_vec());
        let p = decode(LinkType::ETHERNET, &f, 74);
        let protos: Vec<Proto> = p.layers().iter().map(|l| l.proto).collect();
        assert_eq!(protos, [Proto::Eth, Proto::Ipv4, Proto::Tcp]);
        assert!(p.malformed.is_none());
        assert_eq!(p.eth().unwrap().src(), Some([0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]));
        let ip = p.ipv4().unwrap();
        assert_eq!((ip.ttl(), ip.protocol(), ip.id(), ip.dont_fragment()), (Some(64), Some(6), Some(0x1c46), true));
        assert_eq!(ip.checksum_ok(), Some(true));
        let t = p.tcp().unwrap();
        assert_eq!(
            (t.src_port(), t.dst_port(), t.seq(), t.header_len()),
            (Some(51234), Some(8000), Some(1000), Some(40))
        );
        assert!(t.has(tcp::SYN) && !t.has(tcp::ACK));
        let opts: Vec<tcp::Opt> = t.options().map(|(_, _, o)| o).collect();
        assert_eq!(
            opts,
            [
                tcp::Opt::Mss(65495),
                tcp::Opt::SackPermitted,
                tcp::Opt::Timestamps(1, 0),
                tcp::Opt::Nop,
                tcp::Opt::WindowScale(7)
            ]
        );
        assert_eq!(p.tcp_len(), Some(0));
        assert_eq!(p.layer(Proto::Tcp).unwrap().header_range(), 34..74);
    }

    #[test]
    fn truncated_tcp_header_keeps_the_fields_captured() {
        let f = with_ip_checksum(SYN.to_vec());
        // Snaplen 48: 14 bytes of TCP: through the flags, not the window.
        let p = decode(LinkType::ETHERNET, &f[..48], 74);
        let m = p.malformed.unwrap();
        assert_eq!((m.proto, m.offset, m.problem), (Proto::Tcp, 34, Problem::Truncated { needed: 20, available: 14 }));
        let t = p.tcp().unwrap();
        assert_eq!((t.src_port(), t.seq(), t.flags(), t.window()), (Some(51234), Some(1000), Some(tcp::SYN), None));
        // Wireshark reads the fixed header as a whole: with 14 bytes, only the ports.
        let mut keys = Keys::default();
        describe(&p, &Context::default(), &mut keys);
        assert!(keys.0.contains(&"tcp.srcport") && !keys.0.contains(&"tcp.seq"), "{:?}", keys.0);
    }

    #[test]
    fn bad_header_lengths_are_malformed() {
        let mut f = with_ip_checksum(SYN.to_vec());
        f[46] = 0x40; // TCP data offset 4: 16 bytes
        let p = decode(LinkType::ETHERNET, &f, 74);
        assert_eq!(p.malformed.unwrap().problem, Problem::BadHeaderLen { value: 16, min: 20 });
        let mut f = SYN.to_vec();
        f[14] = 0x43; // IHL 3
        let p = decode(LinkType::ETHERNET, &f, 74);
        assert_eq!(p.malformed.unwrap().problem, Problem::BadHeaderLen { value: 12, min: 20 });
        assert!(p.tcp().is_none());
        let mut f = SYN.to_vec();
        f[16] = 0;
        f[17] = 10; // total length 10 < header 20
        let p = decode(LinkType::ETHERNET, &f, 74);
        assert_eq!(p.malformed.unwrap().problem, Problem::BadTotalLen { total: 10, header: 20 });
    }

    #[test]
    fn ip_length_beyond_the_frame_is_flagged_but_decoded() {
        let mut f = SYN.to_vec();
        f[16] = 0x05; // total length 1300 in a 74-byte frame
        let p = decode(LinkType::ETHERNET, &f, 74);
        assert_eq!(p.malformed.unwrap().problem, Problem::TotalLenExceeds { total: 0x053c, available: 60 });
        assert_eq!(p.tcp_len(), Some(0));
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let b =
            etherparse::PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(5000, 53);
        let mut f = Vec::new();
        b.write(&mut f, b"hi").unwrap();
        f.resize(60, 0); // minimum Ethernet frame
        let p = decode(LinkType::ETHERNET, &f, 60);
        assert_eq!(p.payload(), b"hi");
        assert_eq!(p.udp().unwrap().length(), Some(10));
        assert_eq!(transport_checksum(&p, p.layer(Proto::Udp).unwrap()), Checksum::Good);
    }

    #[test]
    fn builder_round_trips_with_checksums() {
        let b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv6(
                [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                64,
            )
            .tcp(40000, 443, 0xffff_fff0, 1024)
            .ack(77)
            .psh();
        let mut f = Vec::new();
        b.write(&mut f, b"payload").unwrap();
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        let t = p.tcp().unwrap();
        assert_eq!((t.seq(), t.ack(), t.window()), (Some(0xffff_fff0), Some(77), Some(1024)));
        assert_eq!(p.tcp_len(), Some(7));
        assert_eq!(p.payload(), b"payload");
        assert_eq!(transport_checksum(&p, p.layer(Proto::Tcp).unwrap()), Checksum::Good);
        let mut bad = f.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let p = decode(LinkType::ETHERNET, &bad, bad.len() as u32);
        assert_eq!(transport_checksum(&p, p.layer(Proto::Tcp).unwrap()), Checksum::Bad);
    }

    #[test]
    fn vlan_qinq_and_arp() {
        let b = etherparse::PacketBuilder::ethernet2([0xff; 6], [2; 6])
            .double_vlan(100.try_into().unwrap(), 200.try_into().unwrap())
            .arp(
                etherparse::ArpPacket::new(
                    etherparse::ArpHardwareId::ETHERNET,
                    etherparse::EtherType::IPV4,
                    etherparse::ArpOperation::REQUEST,
                    &[2; 6],
                    &[10, 0, 0, 2],
                    &[0; 6],
                    &[10, 0, 0, 1],
                )
                .unwrap(),
            );
        let mut f = Vec::new();
        b.write(&mut f).unwrap();
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        let protos: Vec<Proto> = p.layers().iter().map(|l| l.proto).collect();
        assert_eq!(protos, [Proto::Eth, Proto::Vlan, Proto::Vlan, Proto::Arp]);
        let a = p.arp().unwrap();
        assert_eq!((a.opcode(), a.sender_ip(), a.target_ip()), (Some(1), Some([10, 0, 0, 2]), Some([10, 0, 0, 1])));
        assert!(!a.is_gratuitous());
    }

    #[test]
    fn cooked_null_and_raw_links() {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2);
        let mut ip = Vec::new();
        b.write(&mut ip, b"x").unwrap();
        // SLL2: protocol 0x0800, reserved, ifindex 1, ARPHRD_ETHER, outgoing, 6-byte address.
        let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        sll2.extend_from_slice(&ip);
        // SLL: outgoing, ARPHRD_LOOPBACK (772), address length 6, address, protocol 0x0800.
        let mut sll = vec![0, 4, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        // BSD null: AF_INET (2) in the little-endian byte order of the capturing host.
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(&ip);
        for (link, f, first) in [
            (LinkType::LINUX_SLL2, &sll2, Proto::Sll2),
            (LinkType::LINUX_SLL, &sll, Proto::Sll),
            (LinkType::NULL, &null, Proto::Null),
            (LinkType::RAW, &ip, Proto::Ipv4),
            (LinkType::IPV4, &ip, Proto::Ipv4),
        ] {
            let p = decode(link, f, f.len() as u32);
            assert_eq!(p.layers()[0].proto, first, "{link}");
            assert_eq!(p.udp().and_then(|u| u.dst_port()), Some(2), "{link}");
            assert!(p.malformed.is_none(), "{link}: {:?}", p.malformed);
        }
        let p = decode(LinkType(105), &ip, ip.len() as u32);
        assert_eq!(p.malformed.unwrap().problem, Problem::UnsupportedLink { link: 105 });
    }

    #[test]
    fn a_first_fragment_has_its_header_decoded_later_ones_are_data() {
        let mut f = with_ip_checksum(SYN.to_vec());
        f[20] = 0x20; // MF set, offset 0
        let f = with_ip_checksum(f);
        let p = decode(LinkType::ETHERNET, &f, 74);
        // As tshark with defragmentation off: the header is there to read.
        assert_eq!(p.tcp().and_then(|t| t.dst_port()), Some(8000));
        assert_eq!(p.unknown_ip_proto, Some(6));
        assert!(p.malformed.is_none());
        // ...but it is not a whole segment: no checksum verdict, no connection.
        assert_eq!(transport_checksum(&p, p.layer(Proto::Tcp).unwrap()), Checksum::Fragment);
        assert!(crate::analysis::flow::FlowKey::of(&p).is_none());

        let mut later = f.clone();
        later[21] = 0x10; // offset 16 x 8 bytes
        let later = with_ip_checksum(later);
        let p = decode(LinkType::ETHERNET, &later, 74);
        assert!(p.tcp().is_none());
        assert_eq!(p.unknown_ip_proto, Some(6));
        assert_eq!(p.payload().len(), 40);

        // A first fragment too short for the whole header it starts: tshark still
        // reads the ports (and as far as the bytes go) out of it.
        let mut tiny = f.clone();
        tiny[17] = 20 + 12; // IP total length: 12 bytes of TCP
        let tiny = with_ip_checksum(tiny);
        let p = decode(LinkType::ETHERNET, &tiny, 74);
        assert_eq!(p.tcp().and_then(|t| t.dst_port()), Some(8000));
        assert_eq!(p.unknown_ip_proto, Some(6));
    }

    #[test]
    fn a_tunnelled_segment_in_a_first_fragment_has_a_length_its_own_ip_gives() {
        // tshark sets `pinfo->fragmented` in each IP layer: the inner one is whole, so
        // tcp.len is its payload, cut where the fragment ends.
        let mut inner = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1, 1000)
            .write(&mut inner, &[7u8; 50])
            .unwrap();
        inner[3] += 100; // the inner total length runs 100 bytes past the fragment
        let mut gtp = vec![0x30, 0xff, 0, inner.len() as u8 + 100, 0, 0, 0, 1];
        gtp.extend_from_slice(&inner);
        let mut frame = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 1, 0, 1], [10, 1, 0, 2], 64)
            .udp(2152, 2152)
            .write(&mut frame, &gtp)
            .unwrap();
        frame[14 + 6] = 0x20; // MF, offset 0
        let p = decode(LinkType::ETHERNET, &frame, frame.len() as u32);
        assert!(p.fragmented && p.layer(Proto::Tcp).is_some());
        assert_eq!(p.tcp_len(), Some(50));
        // A segment the fragment itself carries has none (its datagram is elsewhere).
        let mut f = with_ip_checksum(SYN.to_vec());
        f[20] = 0x20;
        let f = with_ip_checksum(f);
        assert_eq!(decode(LinkType::ETHERNET, &f, 74).tcp_len(), None);
    }

    #[test]
    fn an_ipv6_first_fragment_decodes_its_header_but_is_no_conversation() {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        let mut ip6 = vec![0x60, 0, 0, 0, 0, 16, 44, 64];
        ip6.extend_from_slice(&[0xfe; 16]);
        ip6.extend_from_slice(&[0xfd; 16]);
        f.extend_from_slice(&ip6);
        // Fragment header: next UDP, offset 0, M set.
        f.extend_from_slice(&[17, 0, 0x00, 0x01, 0, 0, 0, 7]);
        f.extend_from_slice(&[0x04, 0xd2, 0x00, 0x35, 0, 100, 0, 0]);
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert!(p.fragmented);
        assert_eq!(p.unknown_ip_proto, Some(17));
        assert!(p.layer(Proto::Udp).is_some());
        assert!(crate::analysis::flow::FlowKey::of(&p).is_none());
        // The same header with offset 8: the fragment is data.
        let n = f.len();
        f[n - 14] = 0x40;
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32);
        assert!(p.layer(Proto::Udp).is_none());
        assert!(crate::analysis::flow::FlowKey::of(&p).is_none());
    }

    #[test]
    fn ppp_cisco_hdlc_mpls_and_ppi_lead_to_ip() {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1, 2);
        let mut ip = Vec::new();
        b.write(&mut ip, b"hi").unwrap();
        let with = |head: &[u8]| [head, &ip[..]].concat();
        let mut eth = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
        eth.extend_from_slice(&ip);
        let mut ppi = vec![0, 0, 8, 0, 1, 0, 0, 0];
        ppi.extend_from_slice(&eth);
        let cases: [(LinkType, Vec<u8>, &[Proto]); 6] = [
            (LinkType::PPP, with(&[0xff, 0x03, 0x00, 0x21]), &[Proto::Ppp]),
            // MPLS unicast over PPP: one label, bottom of the stack.
            (LinkType::PPP, with(&[0xff, 0x03, 0x02, 0x81, 0, 0x01, 0x01, 64]), &[Proto::Ppp, Proto::Mpls]),
            // Protocol-field compression (RFC 1661 section 6.5), no address and control.
            (LinkType::PPP, with(&[0x21]), &[Proto::Ppp]),
            (LinkType::PPP, with(&[0x0f, 0x00, 0x08, 0x00]), &[Proto::Chdlc]),
            // Two labels, the second the bottom of the stack.
            (
                LinkType::C_HDLC,
                with(&[0x8f, 0x00, 0x88, 0x47, 0, 1, 0x20, 64, 0, 2, 0x01, 64]),
                &[Proto::Chdlc, Proto::Mpls],
            ),
            (LinkType::PPI, ppi.clone(), &[Proto::Ppi, Proto::Eth]),
        ];
        for (link, f, outer) in cases {
            let p = decode(link, &f, f.len() as u32);
            let got: Vec<Proto> = p.layers().iter().map(|l| l.proto).collect();
            let want: Vec<Proto> = outer.iter().copied().chain([Proto::Ipv4, Proto::Udp, Proto::Data]).collect();
            assert_eq!(got, want, "{link}");
            assert!(p.malformed.is_none(), "{link}: {:?}", p.malformed);
            assert_eq!(p.payload(), b"hi");
        }
        // Cut short anywhere: an error, never a panic.
        for (link, f) in [(LinkType::PPP, with(&[0xff, 0x03, 0x00, 0x21])), (LinkType::PPI, ppi)] {
            for n in 0..f.len() {
                let _ = decode(link, &f[..n], f.len() as u32);
            }
        }
    }

    #[test]
    fn nested_tunnels_stop_at_the_layer_limit() {
        // IPv4-in-IPv4 twenty times over: decoding must stop, not recurse without end.
        let mut f = Vec::new();
        for _ in 0..20 {
            f.extend_from_slice(&[0x45, 0, 0x01, 0x90, 0, 0, 0, 0, 64, 4, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        }
        let p = decode(LinkType::RAW, &f, f.len() as u32);
        assert!(p.layers().len() <= MAX_LAYERS);
        assert_eq!(p.layers().last().unwrap().proto, Proto::Data);
    }

    struct Keys(Vec<&'static str>, Proto);
    impl Default for Keys {
        fn default() -> Self {
            Keys(Vec::new(), Proto::Data)
        }
    }
    impl Visitor for Keys {
        fn layer(&mut self, proto: Proto, _: std::ops::Range<usize>, _: fmt::Arguments<'_>) {
            self.1 = proto;
        }
        fn field(
            &mut self,
            key: &'static str,
            _: &'static str,
            _: std::ops::Range<usize>,
            _: Value<'_>,
            _: Option<fmt::Arguments<'_>>,
        ) {
            self.0.push(match (self.1, key) {
                (Proto::Tcp, "srcport") => "tcp.srcport",
                (Proto::Tcp, "seq") => "tcp.seq",
                _ => "other",
            });
        }
        fn group(
            &mut self,
            _: &'static str,
            _: &'static str,
            _: std::ops::Range<usize>,
            _: Option<Value<'_>>,
            _: Option<fmt::Arguments<'_>>,
        ) {
        }
        fn end_group(&mut self) {}
        fn note(&mut self, _: &'static str, _: fmt::Arguments<'_>) {}
    }
}
