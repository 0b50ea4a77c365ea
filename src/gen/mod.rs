//! Synthetic captures: scenarios crafted offline, deterministic for a given seed, no
//! privileges. Takes a scenario and its options, hands frames (built with etherparse's
//! `PacketBuilder`, so every checksum is right) to a `sink::pcap::PcapSink`.
//!
//! The heart is `Conn`, a TCP connection seen from the wire: it keeps each side's
//! next sequence number, so every segment's seq and ack are consistent (SYN and FIN
//! each consume one number, RFC 9293 section 3.4), whatever the scenario does.

pub mod demo;
pub mod peer;
pub mod scenarios;

use std::io::{self, Write};

use etherparse::{PacketBuilder, TcpOptionElement};

use crate::sink::pcap::PcapSink;
use crate::source::{LinkType, Timestamp};

/// splitmix64: small, fast, and the same sequence everywhere for a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A host on the simulated LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub mac: [u8; 6],
    pub ip: [u8; 4],
}

impl Host {
    /// Host `n` of 192.168.36.0/24 with a locally administered MAC.
    pub fn lan(n: u8) -> Host {
        Host { mac: [0x02, 0x00, 0x5e, 0x10, 0x00, n], ip: [192, 168, 36, n] }
    }
}

/// The link layer generated frames are recorded with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II (with --vlan tags, if any).
    #[default]
    Ethernet,
    /// Linux cooked capture v1 (what `tcpdump -i any` wrote before 2021).
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// Raw IP, no link header (tun devices, VPNs).
    Raw,
    /// BSD null/loopback: a 4-byte address family.
    Null,
}

impl Link {
    pub fn link_type(self) -> LinkType {
        match self {
            Link::Ethernet => LinkType::ETHERNET,
            Link::Sll => LinkType::LINUX_SLL,
            Link::Sll2 => LinkType::LINUX_SLL2,
            Link::Raw => LinkType::RAW,
            Link::Null => LinkType::NULL,
        }
    }
}

/// How frames are recorded: link layer, VLAN tags, snaplen.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    pub link: Link,
    /// 802.1Q tag ids, outermost first; two make a QinQ frame (outer tag 802.1ad).
    pub vlan: Vec<u16>,
    /// Captured bytes per frame, the rest cut as a snaplen would (original length kept).
    pub snaplen: Option<u32>,
}

impl Shape {
    fn plain(&self) -> bool {
        self.link == Link::Ethernet && self.vlan.is_empty() && self.snaplen.is_none()
    }
}

/// Where frames go, with the simulated clock.
pub struct Out<W: Write> {
    sink: PcapSink<W>,
    /// Nanoseconds since the epoch of the next frame.
    pub now: u64,
    buf: Vec<u8>,
    shape: Shape,
    plain: bool,
    /// The frame re-shaped for another link layer.
    shaped: Vec<u8>,
    /// The host whose frames count as "sent by us" in cooked captures.
    pub me: [u8; 6],
}

/// 2026-01-01 00:00:00 UTC: fixed, so output never depends on when it was made.
pub const EPOCH_NS: u64 = 1_767_225_600 * 1_000_000_000;

impl<W: Write> Out<W> {
    pub fn new(sink: PcapSink<W>) -> Self {
        Self::with_shape(sink, Shape::default())
    }
    pub fn with_shape(sink: PcapSink<W>, shape: Shape) -> Self {
        let plain = shape.plain();
        Out {
            sink,
            now: EPOCH_NS,
            buf: Vec::with_capacity(2048),
            shape,
            plain,
            shaped: Vec::with_capacity(2048),
            me: [0; 6],
        }
    }
    pub fn wait_us(&mut self, us: u64) {
        self.now += us * 1000;
    }
    /// Writes the Ethernet frame in `self.buf`, shaped as asked.
    fn emit(&mut self) -> io::Result<()> {
        if self.plain {
            let len = self.buf.len() as u32;
            return self.sink.write(Timestamp(self.now), len, &self.buf);
        }
        self.reshape()?;
        let len = self.shaped.len();
        let cap = self.shape.snaplen.map_or(len, |s| len.min(s as usize));
        self.sink.write(Timestamp(self.now), len as u32, &self.shaped[..cap])
    }

    /// Rewrites `buf` (an untagged Ethernet frame) into `shaped` for the link asked.
    fn reshape(&mut self) -> io::Result<()> {
        let b = &self.buf;
        let (dst, src, etype) = (&b[0..6], &b[6..12], [b[12], b[13]]);
        let mut payload = &b[14..];
        let o = &mut self.shaped;
        o.clear();
        if self.shape.link != Link::Ethernet && etype == [0x08, 0x06] {
            // Ethernet's minimum-size padding is not part of the ARP message.
            payload = &payload[..payload.len().min(28)];
        }
        // Linux's packet types: 4 = sent by this host, 0 = addressed to it.
        let pkttype: u8 = if src == self.me { 4 } else { 0 };
        match self.shape.link {
            Link::Ethernet => {
                o.extend_from_slice(dst);
                o.extend_from_slice(src);
                for (i, id) in self.shape.vlan.iter().enumerate() {
                    let tpid: u16 = if i == 0 && self.shape.vlan.len() > 1 { 0x88a8 } else { 0x8100 };
                    o.extend_from_slice(&tpid.to_be_bytes());
                    o.extend_from_slice(&(id & 0x0fff).to_be_bytes());
                }
                o.extend_from_slice(&etype);
            }
            Link::Sll => {
                o.extend_from_slice(&[0, pkttype, 0, 1, 0, 6]);
                o.extend_from_slice(src);
                o.extend_from_slice(&[0, 0]);
                o.extend_from_slice(&etype);
            }
            Link::Sll2 => {
                o.extend_from_slice(&etype);
                o.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, pkttype, 6]);
                o.extend_from_slice(src);
                o.extend_from_slice(&[0, 0]);
            }
            Link::Raw | Link::Null => {
                if etype != [0x08, 0x00] {
                    return Err(io::Error::other(
                        "raw and null links carry only IP: this scenario sends ARP (use --link ethernet, sll or sll2)",
                    ));
                }
                if self.shape.link == Link::Null {
                    // AF_INET in the capturing host's (little-endian) byte order.
                    o.extend_from_slice(&[2, 0, 0, 0]);
                }
            }
        }
        o.extend_from_slice(payload);
        Ok(())
    }
    pub fn frames(&self) -> u64 {
        self.sink.frames()
    }
    pub fn finish(mut self) -> io::Result<W> {
        self.sink.flush()?;
        Ok(self.sink.into_inner())
    }

    /// One UDP datagram.
    pub fn udp(&mut self, from: Host, to: Host, sport: u16, dport: u16, payload: &[u8]) -> io::Result<()> {
        self.buf.clear();
        PacketBuilder::ethernet2(from.mac, to.mac)
            .ipv4(from.ip, to.ip, 64)
            .udp(sport, dport)
            .write(&mut self.buf, payload)
            .map_err(io::Error::other)?;
        self.emit()
    }

    /// One ARP message (1 request, 2 reply); a request goes to the broadcast address.
    pub fn arp(&mut self, op: u16, sender: Host, target: Host, target_mac: [u8; 6]) -> io::Result<()> {
        let dst = if op == 1 { [0xff; 6] } else { target.mac };
        let arp = etherparse::ArpPacket::new(
            etherparse::ArpHardwareId::ETHERNET,
            etherparse::EtherType::IPV4,
            etherparse::ArpOperation(op),
            &sender.mac,
            &sender.ip,
            &target_mac,
            &target.ip,
        )
        .map_err(io::Error::other)?;
        self.buf.clear();
        PacketBuilder::ethernet2(sender.mac, dst).arp(arp).write(&mut self.buf).map_err(io::Error::other)?;
        // Ethernet's minimum frame: real NICs pad ARP to 60 bytes.
        self.buf.resize(60, 0);
        self.emit()
    }
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A TCP connection between a client and a server, as the wire sees it.
#[derive(Clone, Debug)]
pub struct Conn {
    pub client: Host,
    pub server: Host,
    pub cport: u16,
    pub sport: u16,
    /// Each side's next sequence number.
    pub cseq: u32,
    pub sseq: u32,
    pub window: u16,
    /// Whether the handshake negotiated timestamps (RFC 7323): then every later
    /// segment carries them.
    pub ts: bool,
}

impl Conn {
    pub fn new(client: Host, server: Host, cport: u16, sport: u16, cisn: u32, sisn: u32) -> Conn {
        Conn { client, server, cport, sport, cseq: cisn, sseq: sisn, window: 64240, ts: false }
    }

    /// Sends one segment from the client (`from_client`) or the server, acking all
    /// the other side has sent when ACK is set, and advances the sender's sequence.
    pub fn send<W: Write>(&mut self, out: &mut Out<W>, from_client: bool, flags: u8, payload: &[u8]) -> io::Result<()> {
        self.send_opts(out, from_client, flags, payload, &[])
    }

    pub fn send_opts<W: Write>(
        &mut self,
        out: &mut Out<W>,
        from_client: bool,
        flags: u8,
        payload: &[u8],
        opts: &[TcpOptionElement],
    ) -> io::Result<()> {
        let (src, dst, sp, dp) = if from_client {
            (self.client, self.server, self.cport, self.sport)
        } else {
            (self.server, self.client, self.sport, self.cport)
        };
        let (seq, ack) = if from_client { (self.cseq, self.sseq) } else { (self.sseq, self.cseq) };
        let mut b = PacketBuilder::ethernet2(src.mac, dst.mac).ipv4(src.ip, dst.ip, 64).tcp(sp, dp, seq, self.window);
        if flags & ACK != 0 {
            b = b.ack(ack);
        }
        if flags & SYN != 0 {
            b = b.syn();
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        if flags & RST != 0 {
            b = b.rst();
        }
        if flags & PSH != 0 {
            b = b.psh();
        }
        // Each side's timestamp clock ticks in milliseconds from its own origin; the
        // echo is the other side's clock, which it last sent at most one RTT ago.
        let ms = ((out.now - EPOCH_NS) / 1_000_000) as u32;
        let (mine, theirs) = if from_client { (1000 + ms, 5000 + ms) } else { (5000 + ms, 1000 + ms) };
        let ts_opts = [TcpOptionElement::Noop, TcpOptionElement::Noop, TcpOptionElement::Timestamp(mine, theirs)];
        if self.ts && flags & SYN == 0 {
            b = b.options(&ts_opts).map_err(io::Error::other)?;
        } else if !opts.is_empty() {
            b = b.options(opts).map_err(io::Error::other)?;
        }
        out.buf.clear();
        b.write(&mut out.buf, payload).map_err(io::Error::other)?;
        out.emit()?;
        let used = payload.len() as u32 + u32::from(flags & SYN != 0) + u32::from(flags & FIN != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            self.sseq = self.sseq.wrapping_add(used);
        }
        Ok(())
    }

    /// A data or ACK segment written without the builder, for the benchmark mix:
    /// `payload_sum` is the payload's ones'-complement partial sum (big-endian words),
    /// which the caller caches, so the payload is not summed again for every frame.
    /// Same bytes as `send` would write (timestamps on), checked by the tests.
    pub fn send_fast<W: Write>(
        &mut self,
        out: &mut Out<W>,
        from_client: bool,
        flags: u8,
        payload: &'static [u8],
        payload_sum: u32,
    ) -> io::Result<()> {
        let (src, dst, sp, dp) = if from_client {
            (self.client, self.server, self.cport, self.sport)
        } else {
            (self.server, self.client, self.sport, self.cport)
        };
        let (seq, ack) = if from_client { (self.cseq, self.sseq) } else { (self.sseq, self.cseq) };
        let ms = ((out.now - EPOCH_NS) / 1_000_000) as u32;
        let (tsval, tsecr) = if from_client { (1000 + ms, 5000 + ms) } else { (5000 + ms, 1000 + ms) };
        let tcp_len = 32 + payload.len();
        let b = &mut out.buf;
        b.clear();
        b.extend_from_slice(&dst.mac);
        b.extend_from_slice(&src.mac);
        b.extend_from_slice(&[0x08, 0x00]);
        // IPv4: version 4, IHL 5, no DSCP, total length, id 0, DF, TTL 64, TCP.
        let total = (20 + tcp_len) as u16;
        let ip_start = b.len();
        b.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        b.extend_from_slice(&src.ip);
        b.extend_from_slice(&dst.ip);
        let c = fold(sum_be(&b[ip_start..ip_start + 20]));
        b[ip_start + 10..ip_start + 12].copy_from_slice(&(!c).to_be_bytes());
        let t = b.len();
        b.extend_from_slice(&sp.to_be_bytes());
        b.extend_from_slice(&dp.to_be_bytes());
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
        b.extend_from_slice(&[0x80, flags]);
        b.extend_from_slice(&self.window.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0, 1, 1, 8, 10]);
        b.extend_from_slice(&tsval.to_be_bytes());
        b.extend_from_slice(&tsecr.to_be_bytes());
        // RFC 9293 section 3.1: pseudo-header, header, payload.
        let pseudo = sum_be(&src.ip) + sum_be(&dst.ip) + 6 + tcp_len as u32;
        let c = fold(pseudo + sum_be(&b[t..t + 32]) + payload_sum);
        b[t + 16..t + 18].copy_from_slice(&(!c).to_be_bytes());
        if out.plain {
            let len = (b.len() + payload.len()) as u32;
            out.sink.write_static(Timestamp(out.now), len, b, payload)?;
        } else {
            b.extend_from_slice(payload);
            out.emit()?;
        }
        let used = payload.len() as u32 + u32::from(flags & FIN != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            self.sseq = self.sseq.wrapping_add(used);
        }
        Ok(())
    }

    /// SYN, SYN-ACK, ACK with MSS, SACK-permitted, timestamps and window scale.
    pub fn handshake<W: Write>(&mut self, out: &mut Out<W>, rtt_us: u64) -> io::Result<()> {
        let opts = |val: u32, ecr: u32| {
            [
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Timestamp(val, ecr),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ]
        };
        let ms = ((out.now - EPOCH_NS) / 1_000_000) as u32;
        self.send_opts(out, true, SYN, &[], &opts(1000 + ms, 0))?;
        out.wait_us(rtt_us / 2);
        let ms2 = ((out.now - EPOCH_NS) / 1_000_000) as u32;
        self.send_opts(out, false, SYN | ACK, &[], &opts(5000 + ms2, 1000 + ms))?;
        out.wait_us(rtt_us / 2);
        self.ts = true;
        // Windows after the SYNs are scaled by 2^7 (RFC 7323): 501 * 128 = 64128 bytes.
        self.window = 501;
        self.send(out, true, ACK, &[])
    }
}

/// Ones'-complement sum of big-endian 16-bit words (an odd last byte padded with 0).
pub fn sum_be(b: &[u8]) -> u32 {
    let mut s: u32 = 0;
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        s += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        s += u32::from(*last) << 8;
    }
    s
}

/// Folds carries back into 16 bits.
pub fn fold(mut s: u32) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[cfg(test)]
mod tests {
    use super::scenarios::{self, Close, Sticky};
    use super::*;

    fn run(f: impl FnOnce(&mut Out<Vec<u8>>, &mut Rng) -> io::Result<()>, seed: u64) -> Vec<u8> {
        let sink = PcapSink::new(Vec::new(), crate::source::LinkType::ETHERNET, 65535).unwrap();
        let mut out = Out::new(sink);
        f(&mut out, &mut Rng::new(seed)).unwrap();
        out.finish().unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = run(|o, r| scenarios::handshake(o, r, Close::Client, false), 1);
        let b = run(|o, r| scenarios::handshake(o, r, Close::Client, false), 1);
        let c = run(|o, r| scenarios::handshake(o, r, Close::Client, false), 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn syn_and_fin_consume_one_sequence_number() {
        let mut out = Out::new(PcapSink::new(Vec::new(), crate::source::LinkType::ETHERNET, 65535).unwrap());
        let mut c = Conn::new(Host::lan(1), Host::lan(2), 1000, 80, u32::MAX, 7);
        c.send(&mut out, true, SYN, &[]).unwrap();
        assert_eq!(c.cseq, 0, "the ISN wraps: 2^32 - 1 + 1");
        c.send(&mut out, true, ACK | PSH, b"abc").unwrap();
        assert_eq!(c.cseq, 3);
        c.send(&mut out, false, FIN | ACK, &[]).unwrap();
        assert_eq!(c.sseq, 8);
        assert_eq!(out.frames(), 3);
    }

    #[test]
    fn sticky_segments_never_exceed_the_mss() {
        let s = Sticky { sizes: vec![10, 3000, 7], framing: "len32be".parse().unwrap(), mss: 500, coalesce: 2 };
        let mut stream = Vec::new();
        let bytes = run(
            |o, r| {
                stream = scenarios::sticky(o, r, &s)?;
                Ok(())
            },
            3,
        );
        assert_eq!(stream.len(), 4 * 3 + 10 + 3000 + 7);
        let mut cap = crate::source::CaptureFile::from_reader("t", Box::new(std::io::Cursor::new(bytes))).unwrap();
        let mut carried = Vec::new();
        while let Some(f) = cap.next_frame().unwrap() {
            let p = crate::decode::decode(f.link, f.data, f.orig_len);
            if p.tcp().is_some_and(|t| t.dst_port() == Some(9000)) {
                assert!(p.payload().len() <= 500);
                carried.extend_from_slice(p.payload());
            }
        }
        assert_eq!(carried, stream);
    }

    #[test]
    fn mix_writes_at_least_the_frames_asked() {
        let bytes = run(|o, r| scenarios::mix(o, r, 1000), 9);
        let mut cap = crate::source::CaptureFile::from_reader("t", Box::new(std::io::Cursor::new(bytes))).unwrap();
        let mut n = 0;
        while cap.next_frame().unwrap().is_some() {
            n += 1;
        }
        assert!((1000..=1002).contains(&n), "{n}");
    }
}
