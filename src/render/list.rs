//! The packet list: one line per frame, as tshark prints it by default: number,
//! time, source, destination, protocol, length and an informative summary.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::time::Utc;
use crate::decode::{self, arp, icmp, tcp, Context, Packet, Problem, Proto};
use crate::source::{Frame, Timestamp};
use crate::text::line::Line;
use crate::text::StackStr;

/// What the time column shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Seconds since the first frame.
    Relative,
    /// Seconds since the previous frame.
    Delta,
    /// UTC date and time.
    Absolute,
    /// Seconds since the Unix epoch.
    Epoch,
}

/// Keeps what the time column needs across frames.
pub struct ListRenderer {
    pub time: TimeFormat,
    /// Decimals in times: 6 for µs captures, 9 for ns ones.
    pub digits: u8,
    first: Option<Timestamp>,
    prev: Option<Timestamp>,
    line: Line,
}

impl ListRenderer {
    pub fn new(time: TimeFormat, digits: u8) -> Self {
        ListRenderer { time, digits, first: None, prev: None, line: Line::with_capacity(256) }
    }

    /// Time reference bookkeeping must see every frame, shown or filtered out,
    /// so relative times do not depend on the filter (as in tshark).
    pub fn observe(&mut self, f: &Frame<'_>) -> (i128, i128) {
        let first = *self.first.get_or_insert(f.ts);
        let prev = self.prev.replace(f.ts).unwrap_or(f.ts);
        (f.ts.since(first), f.ts.since(prev))
    }

    pub fn write_line<W: Write>(
        &mut self,
        out: &mut W,
        f: &Frame<'_>,
        p: &Packet<'_>,
        ctx: &Context,
        times: (i128, i128),
    ) -> io::Result<()> {
        let (rel, delta) = times;
        // Each frame's time with its own resolution's places, as tshark shows it.
        let digits = if f.ts_digits == 0 { self.digits } else { f.ts_digits };
        let l = &mut self.line;
        l.num_right(5, f.number);
        l.byte(b' ');
        match self.time {
            TimeFormat::Relative => l.pad_left(11, |l| l.secs(rel, digits)),
            TimeFormat::Delta => l.pad_left(11, |l| l.secs(delta, digits)),
            TimeFormat::Epoch => l.secs(f.ts.0 as i128, digits),
            TimeFormat::Absolute => {
                let _ = write!(l, "{}", Utc { ts: f.ts, digits, iso: false });
            }
        }
        let (src, dst) = addresses(p);
        l.byte(b' ');
        match (src, dst) {
            (Addr::V4(s), Addr::V4(d)) => {
                l.ipv4_padded(s.octets(), 15, true);
                l.str(" → ");
                l.ipv4_padded(d.octets(), 15, false);
            }
            _ => {
                l.pad_left(15, |l| src.write(l));
                l.str(" → ");
                l.pad_right(15, |l| dst.write(l));
            }
        }
        l.byte(b' ');
        match ProtoColumn(p).fast() {
            Some(name) => {
                l.str(name);
                for _ in name.len()..6 {
                    l.byte(b' ');
                }
            }
            None => l.pad_right(6, |l| {
                let _ = write!(l, "{}", ProtoColumn(p));
            }),
        }
        l.byte(b' ');
        l.num_right(5, f.orig_len);
        l.byte(b' ');
        write_info(l, f, p, ctx);
        l.byte(b'\n');
        // Lines collect here and go out in writes of at least OUT_CHUNK: a buffered
        // writer of that capacity passes them through rather than copying them again.
        if l.buf.len() >= OUT_CHUNK {
            out.write_all(l.as_bytes())?;
            l.clear();
        }
        Ok(())
    }

    /// Writes out the lines still held; call before anything else is written to `out`.
    pub fn flush<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(self.line.as_bytes())?;
        self.line.clear();
        Ok(())
    }
}

/// The capacity of the writer `read` lists into (`app::stdout`), and the size
/// from which the lines held go out to it.
pub const OUT_CHUNK: usize = 256 * 1024;

/// A column address: IP when there is one, else the link address.
#[derive(Clone, Copy)]
pub enum Addr {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    Mac([u8; 6]),
    None,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::V4(a) => fmt::Display::fmt(a, f),
            Addr::V6(a) => fmt::Display::fmt(a, f),
            Addr::Mac(m) if decode::link::is_broadcast(m) => f.pad("Broadcast"),
            Addr::Mac(m) => {
                let mut buf = StackStr::<17>::new();
                let _ = decode::field::write_mac(&mut buf, m);
                f.pad(buf.as_str())
            }
            Addr::None => f.pad(""),
        }
    }
}

impl Addr {
    fn write(&self, l: &mut Line) {
        match self {
            Addr::V4(a) => l.ipv4(a.octets()),
            Addr::Mac(m) if decode::link::is_broadcast(m) => l.str("Broadcast"),
            Addr::Mac(m) => l.mac(m),
            Addr::V6(a) => {
                let _ = write!(l, "{a}");
            }
            Addr::None => {}
        }
    }
}

/// Source and destination as the list shows them.
pub fn addresses(p: &Packet<'_>) -> (Addr, Addr) {
    // The innermost IP header names the hosts talking (a tunnel's outer one, the
    // routers); an ICMP error's own header, not the one it quotes; a fragment's
    // own, not one of a packet its bytes begin (see `Packet::fragment_layer`).
    let own = p.own_layers();
    let end = p.fragment_layer().and_then(|f| own.iter().position(|l| std::ptr::eq(l, f))).map_or(own.len(), |i| i + 1);
    for l in own[..end].iter().rev() {
        let bogus = p
            .malformed
            .is_some_and(|m| m.offset == l.start && !matches!(m.kind(), "truncated" | "length-exceeds-packet"));
        if bogus {
            continue;
        }
        match l.proto {
            Proto::Ipv4 => {
                let ip = decode::ipv4::Ipv4::new(p.bytes(l));
                if let (Some(s), Some(d)) = (ip.src(), ip.dst()) {
                    return (Addr::V4(s), Addr::V4(d));
                }
            }
            Proto::Ipv6 => {
                let ip = decode::ipv6::Ipv6::new(p.bytes(l));
                if let (Some(s), Some(d)) = (ip.src(), ip.dst()) {
                    return (Addr::V6(s), Addr::V6(d));
                }
            }
            _ => {}
        }
    }
    if let Some(e) = p.eth() {
        if let (Some(s), Some(d)) = (e.src(), e.dst()) {
            return (Addr::Mac(s), Addr::Mac(d));
        }
    }
    for l in p.layers() {
        if matches!(l.proto, Proto::Sll | Proto::Sll2) {
            if let Some(m) = decode::link::Sll::new(p.bytes(l), l.proto == Proto::Sll2).mac() {
                return (Addr::Mac(m), Addr::None);
            }
        }
    }
    (Addr::None, Addr::None)
}

/// The protocol column: the innermost protocol decoded or named.
pub struct ProtoColumn<'p, 'a>(pub &'p Packet<'a>);

impl ProtoColumn<'_, '_> {
    /// The column for the common transports, without formatting.
    fn fast(&self) -> Option<&'static str> {
        if self.0.unknown_ip_proto.is_some() || self.0.has(Proto::Pim) {
            return None;
        }
        match self.0.own_layers().iter().rev().find(|l| l.proto != Proto::Data)?.proto {
            Proto::Tcp => Some("TCP"),
            Proto::Udp => Some("UDP"),
            _ => None,
        }
    }
}

impl fmt::Display for ProtoColumn<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        if let Some(n) = p.unknown_ip_proto {
            // tshark (reassembling, its default) names a fragment's protocol only in
            // the frame that completes the datagram; the info column says the same.
            match p.fragment_layer().map(|l| l.proto) {
                Some(Proto::Ipv4) => return f.pad("IPv4"),
                Some(Proto::Ipv6) => return f.pad("IPv6"),
                _ => {}
            }
            return f.pad(decode::ip_proto_name(n));
        }
        if p.has(Proto::Pim) {
            // tshark names a Register by PIM, not by the packet it carries.
            return f.pad("PIMv2");
        }
        if teredo_test(p) {
            return f.pad("Teredo");
        }
        let last = p.own_layers().iter().rev().find(|l| l.proto != Proto::Data).map(|l| l.proto);
        let name = match last {
            Some(Proto::Tcp) => "TCP",
            Some(Proto::Udp) => "UDP",
            Some(Proto::Icmp) => "ICMP",
            Some(Proto::Icmpv6) => "ICMPv6",
            Some(Proto::Arp) => p.arp().map_or("ARP", |a| a.column_name()),
            Some(Proto::Ipv4) => "IPv4",
            Some(Proto::Ipv6) => "IPv6",
            Some(Proto::Pim) => "PIM",
            Some(Proto::Geneve) => "Geneve",
            Some(Proto::Ipoib) => "IPoIB",
            _ if p.unknown_ethertype != 0 => {
                return match decode::ethertype_name(p.unknown_ethertype) {
                    Some(n) => f.pad(n),
                    None if p.unknown_ethertype < 0x0600 => f.pad("LLC"),
                    None => {
                        let mut b = StackStr::<8>::new();
                        let _ = write!(b, "0x{:04x}", p.unknown_ethertype);
                        f.pad(b.as_str())
                    }
                };
            }
            Some(Proto::Llc) => "LLC",
            Some(Proto::Fr) => "FR",
            Some(Proto::Gre) => "GRE",
            Some(Proto::Eth) | Some(Proto::Vlan) | Some(Proto::Cfp) | Some(Proto::Isl) => "ETH",
            Some(Proto::Sll) | Some(Proto::Sll2) => "SLL",
            _ => p.link.name(),
        };
        f.pad(name)
    }
}

/// The info column.
pub struct Info<'x, 'a> {
    pub f: &'x Frame<'a>,
    pub p: &'x Packet<'a>,
    pub ctx: &'x Context,
}

impl fmt::Display for Info<'_, '_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = Line::default();
        write_info(&mut l, self.f, self.p, self.ctx);
        out.write_str(l.as_str())
    }
}

/// Writes the info column. TCP and UDP, most of any capture, take the fast path.
pub fn write_info(out: &mut Line, f: &Frame<'_>, p: &Packet<'_>, ctx: &Context) {
    let frag = p.fragment_layer().map(|l| (l.proto, p.bytes(l)));
    // An ICMP error quoting a TCP or UDP header is about that datagram, not one of it.
    let quoted = p.quote_start().is_some();
    let bad_ip =
        p.malformed.filter(|m| matches!(m.proto, Proto::Ipv4 | Proto::Ipv6) && m.kind() != "length-exceeds-packet");
    if let Some(m) = bad_ip {
        // The header cannot be trusted past the fault: say only what is wrong, in
        // tshark's words where it has them (packet-ip.c, packet-ipv6.c).
        let v4 = m.proto == Proto::Ipv4;
        let _ = match m.problem {
            Problem::BadVersion { version } if v4 => write!(out, "Bogus IPv4 version ({version}, must be 4)"),
            Problem::BadVersion { version } => write!(out, "Bogus IPv6 version ({version}, must be 6)"),
            Problem::BadHeaderLen { value, min } if v4 => {
                write!(out, "Bogus IP header length ({value}, must be at least {min})")
            }
            Problem::BadTotalLen { total, header } if v4 => {
                write!(out, "Bogus IP length ({total}, less than header length {header})")
            }
            _ => out.write_str(if v4 { "Bogus IPv4 header" } else { "Bogus IPv6 header" }),
        };
    } else if let Some((Proto::Ipv4, ip)) = frag {
        let ip = decode::ipv4::Ipv4::new(ip);
        let proto = ip.protocol().unwrap_or(0);
        let _ = write!(
            out,
            "Fragmented IP protocol (proto={} {proto}, off={}, ID={:04x})",
            decode::ip_proto_name(proto),
            ip.fragment_offset().unwrap_or(0),
            ip.id().unwrap_or(0)
        );
        if ip.more_fragments() {
            out.str(" [more fragments follow]");
        }
    } else if let Some(fr) = frag.and_then(|(_, ip)| decode::ipv6::Ipv6::new(ip).fragment()) {
        // tshark's words for a fragment it has not reassembled (yet).
        let more = if fr.more { 'y' } else { 'n' };
        let _ = write!(out, "IPv6 fragment (off={} more={more} ident=0x{:08x} nxt={})", fr.offset, fr.id, fr.next);
    } else if let Some(l) = p.layer(Proto::Pim) {
        out.str(decode::tunnel::pim_type_name(p.data.get(l.start).copied().unwrap_or(0) & 0x0f));
    } else if let Some(t) = p.tcp().filter(|_| !quoted) {
        tcp_info(out, p, t, ctx);
    } else if ipv6_no_next_header(p) {
        out.str("IPv6 no next header");
    } else if let Some(u) = p.inner_udp().filter(|_| !quoted && !udp_carries_icmp(p)) {
        out.num(u.src_port().unwrap_or(0));
        out.str(" → ");
        out.num(u.dst_port().unwrap_or(0));
        if let Some(len) = u.length() {
            if bad_udp_length(out, p, len) {
                return;
            }
            out.str(" Len=");
            out.num(len.saturating_sub(8));
        }
    } else if let Some(m) = p.icmp() {
        let _ = write!(out, "{}", icmp::Info { v6: false, msg: m, hop: p.ipv4().and_then(|i| i.ttl()) });
        echo_note(out, ctx);
    } else if let Some(m) = p.icmpv6() {
        let hop = p.ipv6().and_then(|i| i.hop_limit());
        if teredo_test(p) {
            // tshark's name for it (packet-icmpv6.c, RFC 4380 section 5.2.9), then the
            // echo's identifier and sequence.
            let _ = write!(
                out,
                "Direct IPv6 Connectivity Test id=0x{:04x}, seq={}",
                m.ident().unwrap_or(0),
                m.seq().unwrap_or(0)
            );
            if let Some(h) = hop {
                let _ = write!(out, ", hop limit={h}");
            }
        } else {
            let _ = write!(out, "{}", icmp::Info { v6: true, msg: m, hop });
        }
        echo_note(out, ctx);
    } else if let Some(a) = p.arp() {
        let _ = arp_info(out, a);
        if let Some(d) = ctx.arp_duplicate().filter(|d| d.noted) {
            let ip = if d.target { a.tpa() } else { a.spa() };
            if let Some(ip) = ip {
                let _ = write!(out, " (duplicate use of {ip} detected!)");
            }
        }
    } else if let Some(n) = p.unknown_ip_proto {
        let _ = write!(out, "IP protocol {n} ({}), {} bytes not decoded", decode::ip_proto_name(n), p.payload().len());
    } else if p.unknown_ethertype != 0 {
        let t = p.unknown_ethertype;
        if t < 0x0600 {
            let _ = write!(out, "802.3 frame, length {t}: LLC payload not decoded");
        } else {
            let _ = write!(out, "Ethertype 0x{t:04x}");
            if let Some(n) = decode::ethertype_name(t) {
                let _ = write!(out, " ({n})");
            }
            let _ = write!(out, ", {} bytes not decoded", p.payload().len());
        }
    } else if !f.link.is_supported() {
        let _ = write!(out, "Link type {} not decoded", f.link);
    } else if p.ipv4().is_some() || p.ipv6().is_some() {
        out.str("IP header without payload");
    }
    if f.is_truncated() {
        let _ = write!(out, " [Packet size limited during capture: {} of {} bytes]", f.data.len(), f.orig_len);
    }
    if let Some(m) = p.malformed {
        if crate::analysis::stats::is_malformed(f, p) {
            let _ = write!(out, " [Malformed: {m}]");
        }
    }
}

/// tshark's notes on a UDP length field that lies (packet-udp.c): shorter than the
/// header, after which tshark says nothing more (returns true), or past the end of the
/// IP payload. IPv6's 0 is a jumbogram's, not a lie.
fn bad_udp_length(out: &mut Line, p: &Packet<'_>, len: u16) -> bool {
    if len >= 8 {
        let udp = p.layers().iter().rev().find(|l| l.proto == Proto::Udp);
        if udp.and_then(|l| p.ip_payload_len_of(l)).is_some_and(|ip| u32::from(len) > ip) {
            let _ = write!(out, " [BAD UDP LENGTH {len} > IP PAYLOAD LENGTH]");
        }
        return false;
    }
    if len == 0 && p.ipv6().is_some() && p.ipv4().is_none() {
        return false;
    }
    let _ = write!(out, " [BAD UDP LENGTH {len} < 8]");
    true
}

/// An ICMPv6 echo request sent to Teredo's port: RFC 4380's direct connectivity test,
/// which tshark lists as Teredo's.
fn teredo_test(p: &Packet<'_>) -> bool {
    let own = p.own_layers();
    let Some(i) = own.iter().rposition(|l| l.proto == Proto::Icmpv6) else { return false };
    let is_request = p.data.get(own[i].start) == Some(&128);
    let udp = own[..i].iter().rev().find(|l| l.proto == Proto::Udp);
    is_request && udp.is_some_and(|u| decode::udp::Udp::new(p.bytes(u)).dst_port() == Some(decode::tunnel::TEREDO_PORT))
}

/// The innermost packet is IPv6 whose last next header is 59: nothing follows.
fn ipv6_no_next_header(p: &Packet<'_>) -> bool {
    let last = p.own_layers().iter().rev().find(|l| l.proto != Proto::Data);
    p.unknown_ip_proto.is_none() && p.malformed.is_none() && last.is_some_and(|l| l.proto == Proto::Ipv6)
}

/// tshark's note on an echo reply it matched to its request.
fn echo_note(out: &mut Line, ctx: &Context) {
    if let Some((request, _)) = ctx.echo_request() {
        let _ = write!(out, " (request in {request})");
    }
}

/// A tunnel in UDP (Geneve, VXLAN) whose inner packet is ICMP: the info is the ICMP's.
fn udp_carries_icmp(p: &Packet<'_>) -> bool {
    matches!(
        p.own_layers().iter().rev().find(|l| l.proto != Proto::Data).map(|l| l.proto),
        Some(Proto::Icmp | Proto::Icmpv6 | Proto::Arp)
    )
}

fn tcp_info(out: &mut Line, p: &Packet<'_>, t: tcp::Tcp<'_>, ctx: &Context) {
    let (Some(sp), Some(dp)) = (t.src_port(), t.dst_port()) else {
        return out.str("TCP header truncated");
    };
    if ctx.analysis.flags.0 & !crate::decode::tcp_analysis::Flags::RST.0 != 0 {
        let _ = write!(out, "{} ", ctx.analysis.labels());
    }
    out.num(sp);
    out.str(" → ");
    out.num(dp);
    let Some(flags) = t.flags() else {
        return;
    };
    out.str(" [");
    tcp::FlagList(flags).write(out);
    out.byte(b']');
    if let Some(s) = ctx.rel_seq.or(t.seq()) {
        out.str(" Seq=");
        out.num(s);
    }
    if flags & tcp::ACK != 0 {
        if let Some(a) = ctx.rel_ack.or(t.ack()) {
            out.str(" Ack=");
            out.num(a);
        }
    }
    if let Some(w) = t.window() {
        out.str(" Win=");
        out.num(u64::from(w) << ctx.win_shift.unwrap_or(0));
    }
    if let Some(hl) = t.header_len().filter(|&hl| hl < tcp::field::HEADER_LEN) {
        // tshark gives up on the rest of a header whose length field lies.
        let _ = write!(out, ", bogus TCP header length ({hl}, must be at least {})", tcp::field::HEADER_LEN);
        return;
    }
    if flags & tcp::URG != 0 {
        out.str(" Urg=");
        out.num(t.urgent().unwrap_or(0));
    }
    out.str(" Len=");
    out.num(p.tcp_len().unwrap_or(0));
    for (_, _, o) in t.options() {
        match o {
            tcp::Opt::Mss(m) => {
                out.str(" MSS=");
                out.num(m);
            }
            tcp::Opt::WindowScale(s) => {
                out.str(" WS=");
                out.num(1u32 << s.min(14));
            }
            tcp::Opt::SackPermitted => out.str(" SACK_PERM"),
            tcp::Opt::Timestamps(a, b) => {
                out.str(" TSval=");
                out.num(a);
                out.str(" TSecr=");
                out.num(b);
            }
            tcp::Opt::Sack(blocks) => {
                let base = ctx.rel_ack.and_then(|r| t.ack().map(|a| a.wrapping_sub(r)));
                for c in blocks.chunks_exact(8) {
                    let le = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                    let re = u32::from_be_bytes([c[4], c[5], c[6], c[7]]);
                    let (le, re) = match base {
                        Some(b) => (le.wrapping_sub(b), re.wrapping_sub(b)),
                        None => (le, re),
                    };
                    out.str(" SLE=");
                    out.num(le);
                    out.str(" SRE=");
                    out.num(re);
                }
            }
            _ => {}
        }
    }
}

/// tshark's info for ATM ARP (`dissect_atmarp`): an ATM address is its number, then
/// a comma and its subaddress when it has one.
fn atm_arp_info(out: &mut Line, a: arp::Arp<'_>) -> fmt::Result {
    use arp::{SHA, SPA, SSA, THA, TPA, TSA};
    let addrs = [SHA, SSA, SPA, THA, TSA, TPA].map(|i| a.atm_addr(i));
    let (true, Some(op), [Some(sha), Some(ssa), Some(spa), Some(tha), Some(tsa), Some(tpa)]) =
        (a.atm_whole(), a.opcode(), addrs)
    else {
        return out.write_str("ATMARP (truncated)");
    };
    let (sh, th) = (arp::AtmHw(sha, ssa), arp::AtmHw(tha, tsa));
    let mars = match op {
        11 => "MARS request",
        12 => "MARS MULTI request",
        13 => "MARS MSERV request",
        14 => "MARS JOIN request",
        15 => "MARS LEAVE",
        16 => "MARS NAK",
        17 => "MARS UNSERV request",
        18 => "MARS SJOIN request",
        19 => "MARS SLEAVE",
        20 => "MARS grouplist request",
        21 => "MARS grouplist reply",
        22 => "MARS redirect map",
        23 => "MAPOS UNARP request",
        _ => "",
    };
    match op {
        1 => write!(out, "Who has {tpa}? Tell {spa}"),
        2 => write!(out, "{spa} is at {sh}"),
        8 => write!(out, "Who is {th}? Tell {sh}"),
        9 => write!(out, "{sh} is at {spa}"),
        10 => write!(out, "I don't know where {spa} is"),
        11..=23 => write!(out, "{mars} from {sh} at {spa}"),
        24 => write!(out, "Experimental 1 ( opcode {op} )"),
        25 => write!(out, "Experimental 2 ( opcode {op} )"),
        0 | 65535 => write!(out, "Reserved opcode {op}"),
        _ => write!(out, "Unknown ATMARP opcode 0x{op:04x}"),
    }
}

/// tshark's info for ARP and its reverse, dynamic-reverse and inverse forms.
fn arp_info(out: &mut Line, a: arp::Arp<'_>) -> fmt::Result {
    if a.is_atm() {
        return atm_arp_info(out, a);
    }
    let (Some(op), Some(sha), Some(spa), Some(tha), Some(tpa)) = (a.opcode(), a.sha(), a.spa(), a.tha(), a.tpa())
    else {
        return out.write_str("ARP (truncated)");
    };
    match op {
        // RFC 5227 section 3: an announcement leaves the target hardware address zero.
        1 if a.is_gratuitous() && a.target_mac() == Some([0; 6]) => write!(out, "ARP Announcement for {spa}"),
        1 if a.is_gratuitous() => write!(out, "Gratuitous ARP for {spa} (Request)"),
        1 if a.is_probe() => write!(out, "Who has {tpa}? (ARP Probe)"),
        1 => write!(out, "Who has {tpa}? Tell {spa}"),
        2 if a.is_gratuitous() => write!(out, "Gratuitous ARP for {spa} (Reply)"),
        2 => write!(out, "{spa} is at {sha}"),
        // Reverse and inverse requests ask for a protocol address by hardware address.
        3 | 5 | 8 => write!(out, "Who is {tha}? Tell {sha}"),
        4 | 6 => write!(out, "{tha} is at {tpa}"),
        7 => out.write_str("DRARP Error"),
        9 => write!(out, "{sha} is at {spa}"),
        10 => out.write_str("ARP NAK"),
        _ => write!(out, "Unknown ARP opcode 0x{op:04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LinkType, Timestamp};

    /// Ethernet, IPv4 (no checksum needed for the list) and a UDP header whose length
    /// field says `ulen`, with `payload` bytes after it.
    fn udp_frame(ulen: u16, payload: usize) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (20 + 8 + payload) as u16;
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[192, 168, 36, 10, 192, 168, 36, 20]);
        f.extend_from_slice(&[0x9c, 0x40, 0x23, 0x28, (ulen >> 8) as u8, ulen as u8, 0, 0]);
        f.resize(f.len() + payload, 0);
        f
    }

    fn info(data: &[u8]) -> String {
        let f = Frame {
            number: 1,
            ts: Timestamp(0),
            link: LinkType::ETHERNET,
            orig_len: data.len() as u32,
            data,
            interface: 0,
            ts_digits: 6,
        };
        let p = crate::decode::decode(f.link, f.data, f.orig_len);
        let mut l = Line::default();
        write_info(&mut l, &f, &p, &Context::default());
        l.as_str().to_string()
    }

    #[test]
    fn a_udp_length_that_lies_is_noted_as_tshark_notes_it() {
        assert_eq!(info(&udp_frame(12, 4)), "40000 → 9000 Len=4");
        assert_eq!(info(&udp_frame(554, 34)), "40000 → 9000 [BAD UDP LENGTH 554 > IP PAYLOAD LENGTH] Len=546");
        // Shorter than its own header: tshark says so and nothing more.
        assert_eq!(info(&udp_frame(4, 4)), "40000 → 9000 [BAD UDP LENGTH 4 < 8]");
    }
}
