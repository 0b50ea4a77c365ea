//! A kernel-side prefilter: the simple display filters (`tcp`, `udp`, `arp`, `icmp`,
//! `tcp.port == N`, `udp.port == N`, `ip.addr == A[/N]`) compiled to classic BPF for
//! Ethernet frames, so the kernel drops uninteresting frames before they cost a copy.
//!
//! The program only has to be a superset of the display filter: user space evaluates
//! the full filter on every frame anyway. So whenever the kernel cannot be sure (VLAN
//! tags, IPv6 extension headers, IPv4 fragments after the first, ICMP errors that quote
//! the header being asked about), the program accepts and lets user space decide. It
//! must never drop a frame the display filter would show.

use std::net::Ipv4Addr;

/// One classic BPF instruction, laid out like the kernel's `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Opcodes from linux/filter.h (BPF_CLASS | BPF_SIZE | BPF_MODE, BPF_JMP | BPF_OP | BPF_SRC).
pub(crate) const LD_W_ABS: u16 = 0x20;
pub(crate) const LD_H_ABS: u16 = 0x28;
pub(crate) const LD_B_ABS: u16 = 0x30;
pub(crate) const LD_H_IND: u16 = 0x48;
pub(crate) const LDX_B_MSH: u16 = 0xb1;
pub(crate) const ALU_AND_K: u16 = 0x54;
pub(crate) const JEQ_K: u16 = 0x15;
pub(crate) const JSET_K: u16 = 0x45;
pub(crate) const RET_K: u16 = 0x06;

const ETHERTYPE_IPV4: u32 = 0x0800;
const ETHERTYPE_ARP: u32 = 0x0806;
const ETHERTYPE_IPV6: u32 = 0x86dd;
/// 802.1Q, 802.1ad and the old QinQ value: the real ethertype sits further in.
const ETHERTYPE_VLANS: [u32; 3] = [0x8100, 0x88a8, 0x9100];
/// IPv6 next-header values after which the upper-layer protocol is further in:
/// hop-by-hop, routing, fragment, destination options, AH, ESP, mobility, HIP, shim6.
const IPV6_EXTENSIONS: [u32; 9] = [0, 43, 44, 60, 51, 50, 135, 139, 140];
const PROTO_ICMP: u32 = 1;
const PROTO_TCP: u32 = 6;
const PROTO_UDP: u32 = 17;
const PROTO_ICMPV6: u32 = 58;

/// A display filter simple enough for the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simple {
    Tcp,
    Udp,
    Arp,
    Icmp,
    TcpPort(u16),
    UdpPort(u16),
    /// `ip.addr` (or `ip.src`/`ip.dst`, widened to either side) equal to a network.
    IpAddr {
        addr: Ipv4Addr,
        prefix: u8,
    },
}

impl std::fmt::Display for Simple {
    /// In tcpdump's words, so the user can see what the kernel does.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Simple::Tcp => f.write_str("tcp"),
            Simple::Udp => f.write_str("udp"),
            Simple::Arp => f.write_str("arp"),
            Simple::Icmp => f.write_str("icmp or icmp6"),
            Simple::TcpPort(p) => write!(f, "tcp port {p}"),
            Simple::UdpPort(p) => write!(f, "udp port {p}"),
            Simple::IpAddr { addr, prefix: 32 } => write!(f, "ip host {addr}"),
            Simple::IpAddr { addr, prefix } => write!(f, "ip net {addr}/{prefix}"),
        }
    }
}

/// Recognizes the simple forms; anything else (`and`, `or`, other fields, other
/// operators) is `None`, meaning "no kernel filter", never an error: the display
/// filter parser is the one that judges the syntax.
pub fn simple(expr: &str) -> Option<Simple> {
    let mut e = expr.trim();
    while let Some(inner) = e.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        // `(a) or (b)` also starts and ends with parentheses; only peel a pair that encloses everything.
        if !balanced(inner) {
            return None;
        }
        e = inner.trim();
    }
    match e {
        "tcp" => return Some(Simple::Tcp),
        "udp" => return Some(Simple::Udp),
        "arp" => return Some(Simple::Arp),
        "icmp" => return Some(Simple::Icmp),
        _ => {}
    }
    let (field, value) = if let Some((f, v)) = e.split_once("==") {
        (f.trim(), v.trim())
    } else {
        let mut words = e.split_whitespace();
        let (f, op, v) = (words.next()?, words.next()?, words.next()?);
        if op != "eq" || words.next().is_some() {
            return None;
        }
        (f, v)
    };
    if value.is_empty() || value.contains(char::is_whitespace) || value.contains('=') {
        return None;
    }
    match field {
        "tcp.port" | "tcp.srcport" | "tcp.dstport" => value.parse().ok().map(Simple::TcpPort),
        "udp.port" | "udp.srcport" | "udp.dstport" => value.parse().ok().map(Simple::UdpPort),
        "ip.addr" | "ip.src" | "ip.dst" => {
            let (a, p) = match value.split_once('/') {
                Some((a, p)) => (a, p.parse::<u8>().ok().filter(|p| *p <= 32)?),
                None => (value, 32),
            };
            let addr: Ipv4Addr = a.parse().ok()?;
            Some(Simple::IpAddr { addr, prefix: p })
        }
        _ => None,
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Where a jump goes: the next instruction, a label, or one of the two returns.
#[derive(Clone, Copy)]
enum To {
    Next,
    Label(usize),
    Accept,
    Reject,
}

enum Op {
    Plain(Insn),
    Jump { code: u16, k: u32, jt: To, jf: To },
    Label(usize),
}

/// A tiny assembler: jumps name labels, offsets are resolved at the end.
struct Asm {
    ops: Vec<Op>,
    labels: usize,
}

impl Asm {
    fn new() -> Asm {
        Asm { ops: Vec::new(), labels: 0 }
    }
    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels - 1
    }
    fn place(&mut self, l: usize) {
        self.ops.push(Op::Label(l));
    }
    fn ins(&mut self, code: u16, k: u32) {
        self.ops.push(Op::Plain(Insn { code, jt: 0, jf: 0, k }));
    }
    fn jeq(&mut self, k: u32, jt: To, jf: To) {
        self.ops.push(Op::Jump { code: JEQ_K, k, jt, jf });
    }
    fn jset(&mut self, k: u32, jt: To, jf: To) {
        self.ops.push(Op::Jump { code: JSET_K, k, jt, jf });
    }

    /// Resolves labels; `None` if a jump would be longer than 255 instructions
    /// (cannot happen with the forms above, but the kernel would reject it).
    fn finish(self, snaplen: u32) -> Option<Vec<Insn>> {
        let mut at = vec![0usize; self.labels];
        let mut n = 0;
        for op in &self.ops {
            match op {
                Op::Label(l) => at[*l] = n,
                _ => n += 1,
            }
        }
        let (accept, reject) = (n, n + 1);
        let mut out = Vec::with_capacity(n + 2);
        for op in &self.ops {
            match op {
                Op::Label(_) => {}
                Op::Plain(i) => out.push(*i),
                Op::Jump { code, k, jt, jf } => {
                    let here = out.len();
                    let off = |t: &To| -> Option<u8> {
                        let target = match t {
                            To::Next => here + 1,
                            To::Label(l) => at[*l],
                            To::Accept => accept,
                            To::Reject => reject,
                        };
                        u8::try_from(target.checked_sub(here + 1)?).ok()
                    };
                    out.push(Insn { code: *code, jt: off(jt)?, jf: off(jf)?, k: *k });
                }
            }
        }
        out.push(Insn { code: RET_K, jt: 0, jf: 0, k: snaplen });
        out.push(Insn { code: RET_K, jt: 0, jf: 0, k: 0 });
        Some(out)
    }
}

/// What to do once the ethertype is known.
struct Plan {
    ipv4: Option<usize>,
    ipv6: Option<usize>,
    arp: bool,
}

/// Dispatches on the ethertype; VLAN-tagged frames go to user space.
fn ethertype(a: &mut Asm, plan: &Plan) {
    a.ins(LD_H_ABS, 12);
    if let Some(l) = plan.ipv4 {
        a.jeq(ETHERTYPE_IPV4, To::Label(l), To::Next);
    }
    if let Some(l) = plan.ipv6 {
        a.jeq(ETHERTYPE_IPV6, To::Label(l), To::Next);
    }
    if plan.arp {
        a.jeq(ETHERTYPE_ARP, To::Accept, To::Next);
    }
    for v in ETHERTYPE_VLANS {
        a.jeq(v, To::Accept, To::Next);
    }
    a.jeq(0, To::Reject, To::Reject);
}

/// IPv4 (header at 14, protocol at 23): matches `proto`, then `then` decides.
fn ipv4_proto(a: &mut Asm, proto: u32, also_icmp: bool, then: To) {
    a.ins(LD_B_ABS, 23);
    if also_icmp && proto != PROTO_ICMP {
        // ICMP errors quote the header the filter asks about (Wireshark matches inside them).
        a.jeq(PROTO_ICMP, To::Accept, To::Next);
    }
    a.jeq(proto, then, To::Reject);
}

/// IPv6 (header at 14, next header at 20).
fn ipv6_proto(a: &mut Asm, proto: u32, also_icmp: bool, then: To) {
    a.ins(LD_B_ABS, 20);
    if also_icmp && proto != PROTO_ICMPV6 {
        a.jeq(PROTO_ICMPV6, To::Accept, To::Next);
    }
    a.jeq(proto, then, To::Next);
    for x in IPV6_EXTENSIONS {
        a.jeq(x, To::Accept, To::Next);
    }
    a.jeq(0, To::Reject, To::Reject);
}

/// Compiles for an Ethernet link; each accepted frame is cut to `snaplen`.
pub fn compile(f: Simple, snaplen: u32) -> Option<Vec<Insn>> {
    let mut a = Asm::new();
    match f {
        Simple::Arp => ethertype(&mut a, &Plan { ipv4: None, ipv6: None, arp: true }),
        Simple::Tcp | Simple::Udp | Simple::Icmp => {
            let (v4, v6) = (a.label(), a.label());
            ethertype(&mut a, &Plan { ipv4: Some(v4), ipv6: Some(v6), arp: false });
            let (p4, p6) = match f {
                Simple::Tcp => (PROTO_TCP, PROTO_TCP),
                Simple::Udp => (PROTO_UDP, PROTO_UDP),
                _ => (PROTO_ICMP, PROTO_ICMPV6),
            };
            a.place(v4);
            ipv4_proto(&mut a, p4, true, To::Accept);
            a.place(v6);
            ipv6_proto(&mut a, p6, true, To::Accept);
        }
        Simple::TcpPort(port) | Simple::UdpPort(port) => {
            let proto = if matches!(f, Simple::TcpPort(_)) { PROTO_TCP } else { PROTO_UDP };
            let (v4, v6, ports4, ports6) = (a.label(), a.label(), a.label(), a.label());
            ethertype(&mut a, &Plan { ipv4: Some(v4), ipv6: Some(v6), arp: false });
            a.place(v4);
            ipv4_proto(&mut a, proto, true, To::Label(ports4));
            a.place(ports4);
            // A fragment after the first has no transport header: let user space judge it.
            a.ins(LD_H_ABS, 20);
            a.jset(0x1fff, To::Accept, To::Next);
            a.ins(LDX_B_MSH, 14);
            a.ins(LD_H_IND, 14);
            a.jeq(u32::from(port), To::Accept, To::Next);
            a.ins(LD_H_IND, 16);
            a.jeq(u32::from(port), To::Accept, To::Reject);
            a.place(v6);
            ipv6_proto(&mut a, proto, true, To::Label(ports6));
            a.place(ports6);
            a.ins(LD_H_ABS, 54);
            a.jeq(u32::from(port), To::Accept, To::Next);
            a.ins(LD_H_ABS, 56);
            a.jeq(u32::from(port), To::Accept, To::Reject);
        }
        Simple::IpAddr { addr, prefix } => {
            let v4 = a.label();
            ethertype(&mut a, &Plan { ipv4: Some(v4), ipv6: None, arp: false });
            a.place(v4);
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            let net = u32::from(addr) & mask;
            a.ins(LD_B_ABS, 23);
            a.jeq(PROTO_ICMP, To::Accept, To::Next);
            for off in [26, 30] {
                a.ins(LD_W_ABS, off);
                if mask != u32::MAX {
                    a.ins(ALU_AND_K, mask);
                }
                a.jeq(net, To::Accept, To::Next);
            }
            a.jeq(0, To::Reject, To::Reject);
        }
    }
    a.finish(snaplen)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A classic BPF interpreter for the opcodes `compile` emits, with the kernel's
    /// rule that a load past the end of the frame rejects it.
    pub(crate) fn run(prog: &[Insn], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let load = |off: usize, n: usize| -> Option<u32> {
            pkt.get(off..off + n).map(|b| b.iter().fold(0u32, |acc, &v| (acc << 8) | u32::from(v)))
        };
        loop {
            let Some(i) = prog.get(pc) else { panic!("ran off the end of the program at {pc}") };
            pc += 1;
            match i.code {
                LD_W_ABS | LD_H_ABS | LD_B_ABS => {
                    let n = match i.code {
                        LD_W_ABS => 4,
                        LD_H_ABS => 2,
                        _ => 1,
                    };
                    match load(i.k as usize, n) {
                        Some(v) => a = v,
                        None => return 0,
                    }
                }
                LD_H_IND => match load((x + i.k) as usize, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LDX_B_MSH => match load(i.k as usize, 1) {
                    Some(v) => x = (v & 0xf) * 4,
                    None => return 0,
                },
                ALU_AND_K => a &= i.k,
                JEQ_K | JSET_K => {
                    let hit = if i.code == JEQ_K { a == i.k } else { a & i.k != 0 };
                    pc += usize::from(if hit { i.jt } else { i.jf });
                }
                RET_K => return i.k,
                c => panic!("opcode {c:#x} not emulated"),
            }
        }
    }

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// An IPv4 header (IHL 5 unless `options` adds words) followed by `l4`.
    fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], frag: u16, options: usize, l4: &[u8]) -> Vec<u8> {
        let ihl = 5 + options as u8;
        let mut h = vec![0x40 | ihl, 0, 0, 0, 0, 0];
        h.extend_from_slice(&frag.to_be_bytes()); // flags + fragment offset
        h.extend_from_slice(&[64, proto, 0, 0]); // ttl, protocol, checksum
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend(std::iter::repeat_n(1u8, options * 4)); // NOP options
        h.extend_from_slice(l4);
        eth(0x0800, &h)
    }

    fn ipv6(next: u8, l4: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 0, next, 64];
        h.extend_from_slice(&[0; 32]); // source, destination
        h.extend_from_slice(l4);
        eth(0x86dd, &h)
    }

    fn ports(src: u16, dst: u16) -> Vec<u8> {
        let mut p = src.to_be_bytes().to_vec();
        p.extend_from_slice(&dst.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    const A: [u8; 4] = [10, 1, 2, 3];
    const B: [u8; 4] = [192, 168, 0, 9];

    fn accepts(f: &str, pkt: &[u8]) -> bool {
        let prog = compile(simple(f).unwrap(), 262_144).unwrap();
        run(&prog, pkt) != 0
    }

    #[test]
    fn recognizes_the_simple_forms() {
        assert_eq!(simple("tcp"), Some(Simple::Tcp));
        assert_eq!(simple("  udp "), Some(Simple::Udp));
        assert_eq!(simple("(arp)"), Some(Simple::Arp));
        assert_eq!(simple("icmp"), Some(Simple::Icmp));
        assert_eq!(simple("tcp.port == 80"), Some(Simple::TcpPort(80)));
        assert_eq!(simple("tcp.port==443"), Some(Simple::TcpPort(443)));
        assert_eq!(simple("udp.port eq 53"), Some(Simple::UdpPort(53)));
        assert_eq!(simple("udp.dstport == 5353"), Some(Simple::UdpPort(5353)));
        assert_eq!(
            simple("ip.addr == 10.1.2.3"),
            Some(Simple::IpAddr { addr: Ipv4Addr::new(10, 1, 2, 3), prefix: 32 })
        );
        assert_eq!(
            simple("ip.src == 10.0.0.0/8"),
            Some(Simple::IpAddr { addr: Ipv4Addr::new(10, 0, 0, 0), prefix: 8 })
        );
    }

    #[test]
    fn anything_else_gets_no_kernel_filter() {
        for e in [
            "",
            "tcp and udp",
            "tcp.port == 80 or udp",
            "(tcp) or (udp)",
            "tcp.port != 80",
            "tcp.port == 70000",
            "tcp.port == -1",
            "tcp.port == 80 80",
            "tcp.port === 80",
            "tcp.port eq",
            "ip.addr == 10.0.0.0/33",
            "ip.addr == 300.1.1.1",
            "ip.addr == ::1",
            "ipv6.addr == ::1",
            "tcp.flags.syn == 1",
            "not tcp",
            "frame.len > 100",
            "tcpx",
            "((tcp)",
        ] {
            assert_eq!(simple(e), None, "{e:?}");
        }
    }

    #[test]
    fn protocol_filters() {
        let tcp4 = ipv4(6, A, B, 0, 0, &ports(1, 2));
        let udp4 = ipv4(17, A, B, 0, 0, &ports(1, 2));
        let tcp6 = ipv6(6, &ports(1, 2));
        let udp6 = ipv6(17, &ports(1, 2));
        let arp = eth(0x0806, &[0; 28]);
        let icmp4 = ipv4(1, A, B, 0, 0, &[8, 0, 0, 0]);
        let icmp6 = ipv6(58, &[128, 0, 0, 0]);
        assert!(accepts("tcp", &tcp4) && accepts("tcp", &tcp6));
        assert!(!accepts("tcp", &udp4) && !accepts("tcp", &udp6) && !accepts("tcp", &arp));
        assert!(accepts("udp", &udp4) && accepts("udp", &udp6) && !accepts("udp", &tcp4));
        assert!(accepts("arp", &arp) && !accepts("arp", &tcp4));
        assert!(accepts("icmp", &icmp4) && accepts("icmp", &icmp6) && !accepts("icmp", &udp4));
    }

    #[test]
    fn port_filters_look_at_both_ports_past_ip_options() {
        for (src, dst) in [(80, 1234), (1234, 80)] {
            assert!(accepts("tcp.port == 80", &ipv4(6, A, B, 0, 0, &ports(src, dst))));
            assert!(accepts("tcp.port == 80", &ipv4(6, A, B, 0, 3, &ports(src, dst))));
            assert!(accepts("tcp.port == 80", &ipv6(6, &ports(src, dst))));
            assert!(!accepts("udp.port == 80", &ipv4(6, A, B, 0, 0, &ports(src, dst))));
        }
        assert!(!accepts("tcp.port == 80", &ipv4(6, A, B, 0, 0, &ports(81, 1234))));
        assert!(!accepts("tcp.port == 80", &ipv6(6, &ports(81, 1234))));
        // With 3 option words, the bytes where ports would be without options say 80: no match.
        let mut opts = ipv4(6, A, B, 0, 3, &ports(81, 82));
        opts[34..38].copy_from_slice(&[0, 80, 0, 80]);
        assert!(!accepts("tcp.port == 80", &opts));
        assert!(accepts("udp.port == 53", &ipv4(17, A, B, 0, 0, &ports(53, 9999))));
    }

    #[test]
    fn doubtful_frames_go_to_user_space() {
        // Later fragment: no ports to look at.
        assert!(accepts("tcp.port == 80", &ipv4(6, A, B, 185, 0, &[0; 20])));
        // First fragment (MF set, offset 0) is judged on its ports.
        assert!(!accepts("tcp.port == 80", &ipv4(6, A, B, 0x2000, 0, &ports(1, 2))));
        // VLAN tag: the real ethertype is further in.
        let vlan = eth(0x8100, &[0, 5, 0x08, 0x00]);
        for f in ["tcp", "udp", "arp", "icmp", "tcp.port == 80", "ip.addr == 10.1.2.3"] {
            assert!(accepts(f, &vlan), "{f}");
        }
        // IPv6 with a hop-by-hop header before TCP.
        assert!(accepts("tcp", &ipv6(0, &[6, 0, 0, 0, 0, 0, 0, 0])));
        // ICMP errors quote the TCP/UDP/IP header asked about.
        assert!(accepts("tcp.port == 80", &ipv4(1, A, B, 0, 0, &[3, 3, 0, 0])));
        assert!(accepts("udp", &ipv6(58, &[1, 4, 0, 0])));
        assert!(accepts("ip.addr == 1.1.1.1", &ipv4(1, A, B, 0, 0, &[11, 0, 0, 0])));
    }

    #[test]
    fn address_filters() {
        let pkt = ipv4(17, A, B, 0, 0, &ports(1, 2));
        let back = ipv4(17, B, A, 0, 0, &ports(1, 2));
        for f in ["ip.addr == 10.1.2.3", "ip.addr == 192.168.0.9", "ip.addr == 10.0.0.0/8", "ip.addr == 0.0.0.0/0"] {
            assert!(accepts(f, &pkt) && accepts(f, &back), "{f}");
        }
        for f in ["ip.addr == 10.1.2.4", "ip.addr == 11.0.0.0/8", "ip.addr == 192.168.1.0/24"] {
            assert!(!accepts(f, &pkt), "{f}");
        }
        assert!(!accepts("ip.addr == 10.1.2.3", &eth(0x0806, &[0; 28])));
        assert!(!accepts("ip.addr == 10.1.2.3", &ipv6(17, &ports(1, 2))));
    }

    #[test]
    fn short_frames_are_rejected_not_read_past() {
        for f in ["tcp", "udp.port == 53", "ip.addr == 10.1.2.3", "arp"] {
            assert!(!accepts(f, &[0x08]), "{f}");
            assert!(!accepts(f, &eth(0x0800, &[0x45])), "{f}");
        }
    }

    #[test]
    fn accept_keeps_snaplen_bytes() {
        let prog = compile(Simple::Udp, 1500).unwrap();
        assert_eq!(run(&prog, &ipv4(17, A, B, 0, 0, &ports(1, 2))), 1500);
        assert!(prog.len() < 64);
    }
}
