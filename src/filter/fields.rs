//! The fields a filter can name: Wireshark's names, the same as the JSON keys, with
//! their types, and how to read each from a decoded frame.

use super::Lit;
use crate::decode::tcp_analysis::Flags;
use crate::decode::{self, tcp, Context, Packet, Proto, StreamOf};
use crate::source::Frame;

/// What kind of literal a field compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A protocol: only presence can be tested.
    Proto,
    Num,
    /// A 0/1 flag, comparable with `true`/`false` too.
    Bool,
    Ipv4,
    Ipv6,
    Mac,
}

macro_rules! fields {
    ($($id:ident = $name:literal : $kind:ident),* $(,)?) => {
        /// A field (or protocol) a filter names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Field { $($id),* }
        /// Every field, with its name and kind.
        pub const FIELDS: &[(&str, Field, Kind)] = &[$(($name, Field::$id, Kind::$kind)),*];
    };
}

fields! {
    Eth = "eth": Proto, Vlan = "vlan": Proto, Sll = "sll": Proto, Sll2 = "sll2": Proto, Arp = "arp": Proto,
    Ip = "ip": Proto, Ipv6 = "ipv6": Proto, Tcp = "tcp": Proto, Udp = "udp": Proto, Icmp = "icmp": Proto,
    Icmpv6 = "icmpv6": Proto, Gtp = "gtp": Proto, Vxlan = "vxlan": Proto, Pppoe = "pppoes": Proto, Data = "data": Proto,
    Ppp = "ppp": Proto, Chdlc = "chdlc": Proto, Mpls = "mpls": Proto, Ppi = "ppi": Proto,
    Geneve = "geneve": Proto, Teredo = "teredo": Proto, Pim = "pim": Proto, Ipnet = "ipnet": Proto, Ipoib = "ipoib": Proto,
    Avsp = "avsp": Proto, Macsec = "macsec": Proto, Nsh = "nsh": Proto,
    Llc = "llc": Proto, Isl = "isl": Proto, Fddi = "fddi": Proto, Tr = "tr": Proto, Fr = "fr": Proto,
    Nflog = "nflog": Proto, Juniper = "juniper": Proto, Gre = "gre": Proto, Capwap = "capwap.data": Proto,
    Wlan = "wlan": Proto,
    FrameNumber = "frame.number": Num, FrameLen = "frame.len": Num, FrameCapLen = "frame.cap_len": Num,
    EthSrc = "eth.src": Mac, EthDst = "eth.dst": Mac, EthAddr = "eth.addr": Mac, EthType = "eth.type": Num,
    VlanId = "vlan.id": Num,
    ArpOpcode = "arp.opcode": Num, ArpSrcIp = "arp.src.proto_ipv4": Ipv4, ArpDstIp = "arp.dst.proto_ipv4": Ipv4,
    ArpSrcMac = "arp.src.hw_mac": Mac, ArpDstMac = "arp.dst.hw_mac": Mac,
    IpSrc = "ip.src": Ipv4, IpDst = "ip.dst": Ipv4, IpAddr = "ip.addr": Ipv4, IpTtl = "ip.ttl": Num,
    IpProto = "ip.proto": Num, IpId = "ip.id": Num, IpLen = "ip.len": Num, IpHdrLen = "ip.hdr_len": Num,
    IpDf = "ip.flags.df": Bool, IpMf = "ip.flags.mf": Bool, IpFragOffset = "ip.frag_offset": Num,
    IpDscp = "ip.dsfield.dscp": Num, IpChecksum = "ip.checksum": Num,
    Ipv6Src = "ipv6.src": Ipv6, Ipv6Dst = "ipv6.dst": Ipv6, Ipv6Addr = "ipv6.addr": Ipv6, Ipv6Nxt = "ipv6.nxt": Num,
    Ipv6Hlim = "ipv6.hlim": Num, Ipv6Plen = "ipv6.plen": Num,
    TcpSrcPort = "tcp.srcport": Num, TcpDstPort = "tcp.dstport": Num, TcpPort = "tcp.port": Num,
    TcpSeq = "tcp.seq": Num, TcpSeqRaw = "tcp.seq_raw": Num, TcpAck = "tcp.ack": Num, TcpAckRaw = "tcp.ack_raw": Num,
    TcpLen = "tcp.len": Num, TcpHdrLen = "tcp.hdr_len": Num, TcpWindow = "tcp.window_size_value": Num,
    TcpFlags = "tcp.flags": Num, TcpSyn = "tcp.flags.syn": Bool, TcpAckFlag = "tcp.flags.ack": Bool,
    TcpFin = "tcp.flags.fin": Bool, TcpRst = "tcp.flags.reset": Bool, TcpPsh = "tcp.flags.push": Bool,
    TcpUrg = "tcp.flags.urg": Bool, TcpEce = "tcp.flags.ece": Bool, TcpCwr = "tcp.flags.cwr": Bool,
    TcpAe = "tcp.flags.ae": Bool, TcpChecksum = "tcp.checksum": Num, TcpUrgentPointer = "tcp.urgent_pointer": Num,
    TcpMss = "tcp.options.mss_val": Num, TcpWscale = "tcp.options.wscale.shift": Num,
    TcpSackPerm = "tcp.options.sack_perm": Bool, TcpStream = "tcp.stream": Num, UdpStream = "udp.stream": Num,
    TcpAnalysisFlags = "tcp.analysis.flags": Bool, TcpRetransmission = "tcp.analysis.retransmission": Bool,
    TcpFastRetransmission = "tcp.analysis.fast_retransmission": Bool,
    TcpSpuriousRetransmission = "tcp.analysis.spurious_retransmission": Bool,
    TcpOutOfOrder = "tcp.analysis.out_of_order": Bool, TcpDupAck = "tcp.analysis.duplicate_ack": Bool,
    TcpDupAckNum = "tcp.analysis.duplicate_ack_num": Num, TcpLostSegment = "tcp.analysis.lost_segment": Bool,
    TcpAckLostSegment = "tcp.analysis.ack_lost_segment": Bool, TcpZeroWindow = "tcp.analysis.zero_window": Bool,
    TcpZeroWindowProbe = "tcp.analysis.zero_window_probe": Bool,
    TcpZeroWindowProbeAck = "tcp.analysis.zero_window_probe_ack": Bool,
    TcpWindowFull = "tcp.analysis.window_full": Bool, TcpWindowUpdate = "tcp.analysis.window_update": Bool,
    TcpKeepAlive = "tcp.analysis.keep_alive": Bool, TcpKeepAliveAck = "tcp.analysis.keep_alive_ack": Bool,
    TcpReusedPorts = "tcp.analysis.reused_ports": Bool,
    UdpSrcPort = "udp.srcport": Num, UdpDstPort = "udp.dstport": Num, UdpPort = "udp.port": Num,
    UdpLength = "udp.length": Num, UdpChecksum = "udp.checksum": Num,
    IcmpType = "icmp.type": Num, IcmpCode = "icmp.code": Num, Icmpv6Type = "icmpv6.type": Num,
    Icmpv6Code = "icmpv6.code": Num,
}

impl Field {
    /// Its value comes from connection tracking (relative numbers, stream index,
    /// verdicts), not from the frame's own bytes.
    pub fn needs_context(self) -> bool {
        use Field::*;
        matches!(self, TcpSeq | TcpAck | TcpStream | UdpStream | TcpAnalysisFlags | TcpDupAckNum)
            || self.analysis_flag().is_some()
    }

    /// The verdict a `tcp.analysis.*` flag field tests.
    fn analysis_flag(self) -> Option<Flags> {
        use Field::*;
        Some(match self {
            TcpRetransmission => Flags::RETRANSMISSION,
            TcpFastRetransmission => Flags::FAST_RETRANSMISSION,
            TcpSpuriousRetransmission => Flags::SPURIOUS_RETRANSMISSION,
            TcpOutOfOrder => Flags::OUT_OF_ORDER,
            TcpDupAck => Flags::DUP_ACK,
            TcpLostSegment => Flags::LOST_SEGMENT,
            TcpAckLostSegment => Flags::ACKED_UNSEEN,
            TcpZeroWindow => Flags::ZERO_WINDOW,
            TcpZeroWindowProbe => Flags::ZERO_WINDOW_PROBE,
            TcpZeroWindowProbeAck => Flags::ZERO_WINDOW_PROBE_ACK,
            TcpWindowFull => Flags::WINDOW_FULL,
            TcpWindowUpdate => Flags::WINDOW_UPDATE,
            TcpKeepAlive => Flags::KEEP_ALIVE,
            TcpKeepAliveAck => Flags::KEEP_ALIVE_ACK,
            TcpReusedPorts => Flags::PORT_REUSE,
            _ => return None,
        })
    }
}

pub fn lookup(name: &str) -> Option<(Field, Kind)> {
    FIELDS.iter().find(|(n, _, _)| *n == name).map(|(_, f, k)| (*f, *k))
}

fn v4(a: [u8; 4]) -> Lit {
    Lit::V4(u32::from_be_bytes(a), 32)
}

fn v6(a: [u8; 16]) -> Lit {
    Lit::V6(u128::from_be_bytes(a), 128)
}

fn num<T: Into<u64>>(x: Option<T>) -> Option<Lit> {
    x.map(|v| Lit::Num(v.into()))
}

/// A TCP flag of the frame, 0 or 1; `None` without a TCP header's flags.
pub(crate) fn tcp_flag(bit: u16, p: &Packet<'_>) -> Option<u64> {
    p.tcp().and_then(|t| t.flags()).map(|fl| u64::from(fl & bit != 0))
}

/// The bit of a `tcp.flags.*` field in the TCP header's flags.
pub(crate) fn tcp_flag_bit(field: &Field) -> Option<u16> {
    use Field::*;
    Some(match field {
        TcpSyn => tcp::SYN,
        TcpAckFlag => tcp::ACK,
        TcpFin => tcp::FIN,
        TcpRst => tcp::RST,
        TcpPsh => tcp::PSH,
        TcpUrg => tcp::URG,
        TcpEce => tcp::ECE,
        TcpCwr => tcp::CWR,
        TcpAe => tcp::AE,
        _ => return None,
    })
}

/// Whether the frame's `Context::stream` is a `tcp.stream` (true) or a `udp.stream`;
/// `None` when the layers, asked, have neither header.
fn stream_is_tcp(c: &Context, p: &Packet<'_>) -> Option<bool> {
    match c.stream_of {
        StreamOf::Tcp => Some(true),
        StreamOf::Udp => Some(false),
        StreamOf::Layers if p.tcp().is_some() => Some(true),
        StreamOf::Layers => p.udp().map(|_| false),
    }
}

/// Calls `f` with each value of `field` in the frame until it returns true.
pub(crate) fn values(field: &Field, fr: &Frame<'_>, p: &Packet<'_>, c: &Context, f: &mut dyn FnMut(Lit) -> bool) {
    use Field::*;
    let one = |v: Option<Lit>, f: &mut dyn FnMut(Lit) -> bool| {
        if let Some(v) = v {
            f(v);
        }
    };
    let two = |a: Option<Lit>, b: Option<Lit>, f: &mut dyn FnMut(Lit) -> bool| {
        if !a.is_some_and(&mut *f) {
            if let Some(b) = b {
                f(b);
            }
        }
    };
    let proto = |pr: Proto, f: &mut dyn FnMut(Lit) -> bool| {
        if p.has(pr) {
            f(Lit::Num(1));
        }
    };
    // Looked up only by the arms that need them: a filter runs on every frame.
    let ip = || p.ipv4();
    let ip6 = || p.ipv6();
    let t = || p.tcp();
    let u = || p.udp();
    let arp = || p.arp().filter(|a| a.is_eth_ipv4());
    match field {
        Eth => proto(Proto::Eth, f),
        Vlan => proto(Proto::Vlan, f),
        Sll => proto(Proto::Sll, f),
        Sll2 => proto(Proto::Sll2, f),
        Arp => proto(Proto::Arp, f),
        Ip => proto(Proto::Ipv4, f),
        Ipv6 => proto(Proto::Ipv6, f),
        Tcp => proto(Proto::Tcp, f),
        Udp => proto(Proto::Udp, f),
        Icmp => proto(Proto::Icmp, f),
        Icmpv6 => proto(Proto::Icmpv6, f),
        Gtp => proto(Proto::Gtp, f),
        Pppoe => proto(Proto::Pppoe, f),
        Vxlan => proto(Proto::Vxlan, f),
        Data => proto(Proto::Data, f),
        Ppp => proto(Proto::Ppp, f),
        Chdlc => proto(Proto::Chdlc, f),
        Mpls => proto(Proto::Mpls, f),
        Ppi => proto(Proto::Ppi, f),
        Geneve => proto(Proto::Geneve, f),
        Teredo => proto(Proto::Teredo, f),
        Pim => proto(Proto::Pim, f),
        Ipnet => proto(Proto::Ipnet, f),
        Ipoib => proto(Proto::Ipoib, f),
        Avsp => proto(Proto::Avsp, f),
        Macsec => proto(Proto::Macsec, f),
        Nsh => proto(Proto::Nsh, f),
        Llc => proto(Proto::Llc, f),
        Isl => proto(Proto::Isl, f),
        Fddi => proto(Proto::Fddi, f),
        Tr => proto(Proto::Tr, f),
        Fr => proto(Proto::Fr, f),
        Nflog => proto(Proto::Nflog, f),
        Juniper => proto(Proto::Juniper, f),
        Gre => proto(Proto::Gre, f),
        Capwap => proto(Proto::Capwap, f),
        Wlan => proto(Proto::Wlan, f),
        FrameNumber => one(Some(Lit::Num(fr.number)), f),
        FrameLen => one(Some(Lit::Num(fr.orig_len.into())), f),
        FrameCapLen => one(Some(Lit::Num(fr.data.len() as u64)), f),
        EthSrc => one(p.eth().and_then(|e| e.src()).map(Lit::Mac), f),
        EthDst => one(p.eth().and_then(|e| e.dst()).map(Lit::Mac), f),
        EthAddr => two(p.eth().and_then(|e| e.src()).map(Lit::Mac), p.eth().and_then(|e| e.dst()).map(Lit::Mac), f),
        EthType => one(num(p.eth().and_then(|e| e.ethertype()).filter(|t| *t >= 0x0600)), f),
        VlanId => {
            for l in p.layers().iter().filter(|l| l.proto == Proto::Vlan) {
                if let Some(id) = decode::link::Vlan::new(p.bytes(l)).id() {
                    if f(Lit::Num(u64::from(id))) {
                        return;
                    }
                }
            }
        }
        ArpOpcode => one(num(p.arp().and_then(|a| a.opcode())), f),
        // IPv4 protocol addresses whatever the hardware (ATM ARP's too), as Wireshark.
        ArpSrcIp => one(p.arp().and_then(|a| a.sender_ip()).map(v4), f),
        ArpDstIp => one(p.arp().and_then(|a| a.target_ip()).map(v4), f),
        ArpSrcMac => one(arp().and_then(|a| a.sender_mac()).map(Lit::Mac), f),
        ArpDstMac => one(arp().and_then(|a| a.target_mac()).map(Lit::Mac), f),
        IpSrc => one(ip().and_then(|i| i.src_bytes()).map(v4), f),
        IpDst => one(ip().and_then(|i| i.dst_bytes()).map(v4), f),
        IpAddr => two(ip().and_then(|i| i.src_bytes()).map(v4), ip().and_then(|i| i.dst_bytes()).map(v4), f),
        IpTtl => one(num(ip().and_then(|i| i.ttl())), f),
        IpProto => one(num(ip().and_then(|i| i.protocol())), f),
        IpId => one(num(ip().and_then(|i| i.id())), f),
        IpLen => one(num(ip().and_then(|i| i.total_len())), f),
        IpHdrLen => one(ip().and_then(|i| i.header_len()).map(|h| Lit::Num(h as u64)), f),
        IpDf => one(ip().map(|i| Lit::Num(u64::from(i.dont_fragment()))), f),
        IpMf => one(ip().map(|i| Lit::Num(u64::from(i.more_fragments()))), f),
        IpFragOffset => one(num(ip().and_then(|i| i.fragment_offset())), f),
        IpDscp => one(num(ip().and_then(|i| i.dsfield()).map(|d| d >> 2)), f),
        IpChecksum => one(num(ip().and_then(|i| i.checksum())), f),
        Ipv6Src => one(ip6().and_then(|i| i.src_bytes()).map(v6), f),
        Ipv6Dst => one(ip6().and_then(|i| i.dst_bytes()).map(v6), f),
        Ipv6Addr => two(ip6().and_then(|i| i.src_bytes()).map(v6), ip6().and_then(|i| i.dst_bytes()).map(v6), f),
        Ipv6Nxt => one(num(ip6().and_then(|i| i.next_header())), f),
        Ipv6Hlim => one(num(ip6().and_then(|i| i.hop_limit())), f),
        Ipv6Plen => one(num(ip6().and_then(|i| i.payload_len())), f),
        TcpSrcPort => one(num(t().and_then(|t| t.src_port())), f),
        TcpDstPort => one(num(t().and_then(|t| t.dst_port())), f),
        TcpPort => two(num(t().and_then(|t| t.src_port())), num(t().and_then(|t| t.dst_port())), f),
        TcpSeq => one(num(t().and_then(|t| c.rel_seq.or(t.seq()))), f),
        TcpSeqRaw => one(num(t().and_then(|t| t.seq())), f),
        TcpAck => one(num(t().and_then(|t| c.rel_ack.or(t.ack()))), f),
        TcpAckRaw => one(num(t().and_then(|t| t.ack())), f),
        TcpLen => one(num(p.tcp_len()), f),
        TcpHdrLen => one(t().and_then(|t| t.header_len()).map(|h| Lit::Num(h as u64)), f),
        TcpWindow => one(num(t().and_then(|t| t.window())), f),
        TcpFlags => one(num(t().and_then(|t| t.flags())), f),
        TcpSyn | TcpAckFlag | TcpFin | TcpRst | TcpPsh | TcpUrg | TcpEce | TcpCwr | TcpAe => {
            one(num(tcp_flag_bit(field).and_then(|bit| tcp_flag(bit, p))), f)
        }
        TcpChecksum => one(num(t().and_then(|t| t.checksum())), f),
        TcpUrgentPointer => one(num(t().and_then(|t| t.urgent())), f),
        TcpMss | TcpWscale | TcpSackPerm => {
            if let Some(t) = t() {
                for (_, _, o) in t.options() {
                    let v = match (field, o) {
                        (TcpMss, tcp::Opt::Mss(m)) => u64::from(m),
                        (TcpWscale, tcp::Opt::WindowScale(s)) => u64::from(s),
                        (TcpSackPerm, tcp::Opt::SackPermitted) => 1,
                        _ => continue,
                    };
                    if f(Lit::Num(v)) {
                        return;
                    }
                }
            }
        }
        TcpStream => one(num(c.stream.filter(|_| stream_is_tcp(c, p) == Some(true))), f),
        // One value per UDP header, as tshark: the tunnels' first, outermost first.
        UdpStream => {
            if !c.tunnels.is_empty() && c.tunnels.iter().any(|s| f(Lit::Num(s.into()))) {
                return;
            }
            one(num(c.stream.filter(|_| stream_is_tcp(c, p) == Some(false))), f)
        }
        TcpAnalysisFlags => {
            if c.analysis.flags.0 & !Flags::RST.0 != 0 {
                f(Lit::Num(1));
            }
        }
        TcpDupAckNum => one(Some(c.analysis.dup_ack_num).filter(|n| *n > 0).map(|n| Lit::Num(n.into())), f),
        TcpRetransmission
        | TcpFastRetransmission
        | TcpSpuriousRetransmission
        | TcpOutOfOrder
        | TcpDupAck
        | TcpLostSegment
        | TcpAckLostSegment
        | TcpZeroWindow
        | TcpZeroWindowProbe
        | TcpZeroWindowProbeAck
        | TcpWindowFull
        | TcpWindowUpdate
        | TcpKeepAlive
        | TcpKeepAliveAck
        | TcpReusedPorts => {
            if field.analysis_flag().is_some_and(|bit| c.analysis.flags.contains(bit)) {
                f(Lit::Num(1));
            }
        }
        UdpSrcPort => one(num(u().and_then(|u| u.src_port())), f),
        UdpDstPort => one(num(u().and_then(|u| u.dst_port())), f),
        UdpPort => two(num(u().and_then(|u| u.src_port())), num(u().and_then(|u| u.dst_port())), f),
        UdpLength => one(num(u().and_then(|u| u.length())), f),
        UdpChecksum => one(num(u().and_then(|u| u.checksum())), f),
        IcmpType => one(num(p.icmp().and_then(|m| m.kind())), f),
        IcmpCode => one(num(p.icmp().and_then(|m| m.code())), f),
        Icmpv6Type => one(num(p.icmpv6().and_then(|m| m.kind())), f),
        Icmpv6Code => one(num(p.icmpv6().and_then(|m| m.code())), f),
    }
}
