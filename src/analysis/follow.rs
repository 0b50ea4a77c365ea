//! Following one connection: its TCP segments go through one reassembly [`Stream`]
//! per direction, its UDP datagrams are passed on one by one, and a sink gets every
//! event tagged with its direction. Both `stream` (the bytes) and `segments` (the
//! sticky-packet view) stand on this, for a file or a live capture alike.
//!
//! The connection tracker decides which frames belong to the connection (the 4-tuple
//! and, after a port reuse, which incarnation), so the numbering is that of `conns`.
//! A segment or datagram that came in IP fragments belongs to it in the frame that
//! completed the datagram (the tracker's rule, and tshark's); the follower keeps the
//! fragments' bytes until then, since the tracker keeps none. When that datagram is a
//! tunnel's, it is the tunnel's datagram and holds what the tunnel carries: the frame
//! comes once for each, and both are read from the one datagram put together.

use super::conn::defrag::Id;
use super::conn::{fragment_bytes, Header, Proto, Reassembled, Seen};
use super::flow::{v4_mapped, Endpoint};
use super::reassembly::{Budget, Event, Limits, Segment, Stream};
use crate::decode::field::get16;
use crate::decode::{tcp, Packet};

/// A direction of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the client (the side that sent the first SYN, or the first frame) to the server.
    ToServer,
    ToClient,
}

impl Dir {
    pub const BOTH: [Dir; 2] = [Dir::ToServer, Dir::ToClient];

    pub fn index(self) -> usize {
        self as usize
    }
    pub fn of(from_client: bool) -> Dir {
        if from_client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }
    /// `client → server` (or with `->` when `ascii`).
    pub fn arrow(self, ascii: bool) -> &'static str {
        match (self, ascii) {
            (Dir::ToServer, false) => "client → server",
            (Dir::ToClient, false) => "server → client",
            (Dir::ToServer, true) => "client -> server",
            (Dir::ToClient, true) => "server -> client",
        }
    }
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Dir::ToServer => "client_to_server",
            Dir::ToClient => "server_to_client",
        }
    }
}

/// Who talks to whom, as known from the connection's first frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peers {
    pub proto: Proto,
    pub client: Endpoint,
    pub server: Endpoint,
    /// tshark's `tcp.stream` / `udp.stream`.
    pub stream: u32,
}

/// Datagrams whose fragments are held at most: a follower of one connection rarely
/// has more than one or two in flight, and each can hold up to 128 KiB.
const MAX_DATAGRAMS: usize = 16;
/// Separate byte ranges a datagram may have before it is given up (hostile input).
const MAX_RANGES: usize = 16;

/// The bytes of one fragmented datagram so far.
struct Datagram {
    id: Id,
    first_frame: u64,
    proto: u8,
    data: Vec<u8>,
    /// The byte ranges received: sorted, disjoint, not touching.
    have: Vec<(u32, u32)>,
    /// Its payload length, once the last fragment came.
    len: Option<u32>,
    /// A tunnel's datagram: where the connection inside has its transport header
    /// ([`FragmentBytes::carried`](super::conn::FragmentBytes::carried)).
    carried: Option<(u32, u32)>,
}

impl Datagram {
    /// Adds bytes at `start`; the first copy of a byte stays (as in the streams). False
    /// when the datagram has too many separate ranges to keep.
    fn add(&mut self, start: u32, bytes: &[u8]) -> bool {
        let end = start + bytes.len() as u32;
        if self.data.len() < end as usize {
            self.data.resize(end as usize, 0);
        }
        // Fill only the holes of `start..end`.
        let mut at = start;
        for &(a, b) in &self.have {
            if b <= at || a >= end {
                continue;
            }
            if a > at {
                let (s, e) = (at as usize, a as usize);
                self.data[s..e].copy_from_slice(&bytes[s - start as usize..e - start as usize]);
            }
            at = at.max(b);
        }
        if at < end {
            let (s, e) = (at as usize, end as usize);
            self.data[s..e].copy_from_slice(&bytes[s - start as usize..]);
        }
        let (mut lo, mut hi) = (start, end);
        self.have.retain(|&(a, b)| {
            let apart = b < lo || a > hi;
            if !apart {
                (lo, hi) = (lo.min(a), hi.max(b));
            }
            apart
        });
        let i = self.have.partition_point(|&(a, _)| a < lo);
        self.have.insert(i, (lo, hi));
        self.have.len() <= MAX_RANGES
    }

    fn whole(&self) -> bool {
        self.len.is_some_and(|len| self.have.as_slice() == [(0, len)])
    }
}

/// One connection's bytes, both directions.
pub struct Follow {
    conn: u32,
    budget: Budget,
    streams: [Stream; 2],
    /// UDP: the bytes each direction has sent so far (datagram offsets).
    udp_end: [u64; 2],
    peers: Option<Peers>,
    /// Fragmented datagrams being put back together.
    datagrams: Vec<Datagram>,
    /// The latest frame whose fragment was taken: a frame in a tunnel comes once per
    /// header, and its fragment counts once.
    fed: Option<u64>,
    /// The latest datagram completed, and the frame that completed it: a tunnel's
    /// datagram is the tunnel's and, inside, its connection's, each handed in apart.
    done: Option<(u64, Datagram)>,
    /// Addresses of the IP layers the connection's frames came in, outer ones of
    /// tunnels too: a fragment between two of them may be of a datagram of ours.
    addrs: Vec<[u8; 16]>,
    /// Frames of the connection seen.
    pub frames: u64,
}

/// Addresses kept in [`Follow::addrs`] at most.
const MAX_ADDRS: usize = 8;

impl Follow {
    /// Follows connection `conn` (the `#` of `pktlab conns`).
    pub fn new(conn: u32, limits: Limits) -> Self {
        Follow {
            conn,
            budget: Budget::new(limits.total),
            streams: [Stream::new(limits), Stream::new(limits)],
            udp_end: [0; 2],
            peers: None,
            datagrams: Vec::new(),
            fed: None,
            done: None,
            addrs: Vec::new(),
            frames: 0,
        }
    }

    /// A fragment of no connection yet (the tracker counts a datagram in the frame
    /// that completes it): its bytes are kept in case the datagram turns out to be
    /// the connection's. [`Follow::push`] does this itself for every frame it gets.
    /// A frame in a tunnel comes once for each of its headers; its fragment is taken
    /// once.
    pub fn hold(&mut self, frame: u64, p: &Packet<'_>) {
        if p.fragmented {
            self.feed(frame, p);
        }
    }

    /// Takes fragment `p` once, whichever of its headers comes first: the datagram
    /// it completes is [`Follow::done`] for them all.
    #[cold]
    #[inline(never)]
    fn feed(&mut self, frame: u64, p: &Packet<'_>) {
        if self.fed == Some(frame) {
            return;
        }
        self.fed = Some(frame);
        if let Some(d) = self.fragment(frame, p) {
            self.done = Some((frame, d));
        }
    }

    /// Keeps the bytes of fragment `p` if its datagram may be the connection's, and
    /// returns that datagram once it is whole.
    fn fragment(&mut self, frame: u64, p: &Packet<'_>) -> Option<Datagram> {
        let f = fragment_bytes(p)?;
        if let Some(peers) = &self.peers {
            let ours = |a: &[u8; 16]| *a == peers.client.addr || *a == peers.server.addr || self.addrs.contains(a);
            // IPv4 addresses sit in an endpoint as IPv4-mapped IPv6 ones.
            let v4 = |a: &[u8; 16]| v4_mapped([a[0], a[1], a[2], a[3]]);
            let (src, dst) = if f.id.v6 { (f.id.src, f.id.dst) } else { (v4(&f.id.src), v4(&f.id.dst)) };
            if !(ours(&src) && ours(&dst)) {
                return None;
            }
        }
        let i = match self.datagrams.iter().position(|d| d.id == f.id) {
            Some(i) => i,
            None => {
                if self.datagrams.len() == MAX_DATAGRAMS {
                    let oldest = (0..self.datagrams.len()).min_by_key(|&i| self.datagrams[i].first_frame)?;
                    self.datagrams.swap_remove(oldest);
                }
                let d = Datagram {
                    id: f.id,
                    first_frame: frame,
                    proto: 0,
                    data: Vec::new(),
                    have: Vec::new(),
                    len: None,
                    carried: None,
                };
                self.datagrams.push(d);
                self.datagrams.len() - 1
            }
        };
        let d = &mut self.datagrams[i];
        if f.start == 0 {
            d.proto = f.proto;
            d.carried = f.carried;
        }
        if !f.more {
            d.len = Some(f.start + f.bytes.len() as u32);
        }
        if !d.add(f.start, f.bytes) || d.len.is_some_and(|l| d.data.len() > l as usize) {
            self.datagrams.swap_remove(i);
            return None;
        }
        if d.whole() {
            return Some(self.datagrams.swap_remove(i));
        }
        None
    }

    pub fn peers(&self) -> Option<&Peers> {
        self.peers.as_ref()
    }

    /// Who talks to whom, when `p` belongs to the connection (so a caller can print a
    /// heading before the first frame's bytes); `seen` is what the tracker said of the
    /// transport header `header`.
    /// `re`: the tracker's reading of a datagram that `p`, a fragment, completed (whose
    /// ports are not in `p`).
    pub fn peers_of(&mut self, seen: &Seen, header: Header, p: &Packet<'_>, re: Option<&Reassembled>) -> Option<Peers> {
        if seen.id != Some(self.conn) || !seen.counted {
            return None;
        }
        if self.peers.is_some() {
            return self.peers;
        }
        let at = header.locate(p).map(|l| (l.key, l.from_lo));
        let (key, lo_to_hi) = at.or(re.map(|r| (r.key, r.from_lo)))?;
        let (src, dst) = if lo_to_hi { (key.lo, key.hi) } else { (key.hi, key.lo) };
        let (client, server) = if seen.from_client { (src, dst) } else { (dst, src) };
        self.peers = Some(Peers { proto: seen.proto?, client, server, stream: seen.ctx.stream.unwrap_or(0) });
        self.peers
    }

    /// One decoded frame, as the tracker saw its transport header `header`. Frames of
    /// other connections are ignored. Events go to `sink` with their direction; a UDP
    /// datagram comes as one `Data` event whose `segment` is the datagram.
    pub fn push(
        &mut self,
        frame: u64,
        ts: u64,
        seen: &Seen,
        header: Header,
        p: &Packet<'_>,
        sink: &mut impl FnMut(Dir, Event<'_>),
    ) {
        if p.fragmented {
            self.feed(frame, p);
        }
        if seen.id != Some(self.conn) || !seen.counted {
            return;
        }
        let Some(proto) = seen.proto else { return };
        self.frames += 1;
        if self.peers.is_none() {
            self.peers = self.peers_of(seen, header, p, None);
        }
        self.note_addrs(p);
        let dir = Dir::of(seen.from_client);
        let (payload, head) = if p.fragmented {
            let done = self.done.as_ref().filter(|(n, _)| *n == frame).map(|(_, d)| d);
            in_fragment(proto, header, p, done, self.peers.as_ref())
        } else if header != Header::Conn || proto == Proto::Udp {
            // The datagram's payload whatever it carries: a tunnel's is the
            // encapsulation and the packet inside, as tshark's follow shows it.
            let Some(at) = header.locate(p) else { return };
            (p.data.get(at.transport.hdr_end..at.transport.end), None)
        } else {
            let head = if proto == Proto::Tcp { p.tcp().and_then(|t| t.seq().zip(t.flags())) } else { None };
            (Some(p.payload()), head)
        };
        let Some(payload) = payload else { return };
        match proto {
            Proto::Udp => {
                let offset = self.udp_end[dir.index()];
                let end = offset + payload.len() as u64;
                self.udp_end[dir.index()] = end;
                let e = Event::Data { offset, bytes: payload, frame, ts, segment: offset..end, psh: false };
                sink(dir, e);
            }
            Proto::Tcp => {
                let Some((seq, flags)) = head else { return };
                let seg = Segment {
                    frame,
                    ts,
                    seq,
                    syn: flags & tcp::SYN != 0,
                    fin: flags & tcp::FIN != 0,
                    rst: flags & tcp::RST != 0,
                    psh: flags & tcp::PSH != 0,
                    payload,
                };
                self.streams[dir.index()].push(&seg, &mut self.budget, &mut |e: Event<'_>| sink(dir, e));
            }
        }
    }

    /// Keeps the addresses of `p`'s IP layers, a frame of the connection, for
    /// [`Follow::fragment`] to know the fragments of a tunnel's datagram carrying it.
    fn note_addrs(&mut self, p: &Packet<'_>) {
        use crate::decode::{ipv4::Ipv4, ipv6::Ipv6, Proto as P};
        for l in p.own_layers() {
            let pair = match l.proto {
                P::Ipv4 => {
                    let ip = Ipv4::new(p.bytes(l));
                    ip.src_bytes().zip(ip.dst_bytes()).map(|(s, d)| (v4_mapped(s), v4_mapped(d)))
                }
                P::Ipv6 => {
                    let ip = Ipv6::new(p.bytes(l));
                    ip.src_bytes().zip(ip.dst_bytes())
                }
                _ => continue,
            };
            for a in pair.into_iter().flat_map(|(s, d)| [s, d]) {
                if !self.addrs.contains(&a) && self.addrs.len() < MAX_ADDRS {
                    self.addrs.push(a);
                }
            }
        }
    }

    /// The capture ended: gaps still open are reported missing.
    pub fn finish(&mut self, sink: &mut impl FnMut(Dir, Event<'_>)) {
        for dir in Dir::BOTH {
            self.streams[dir.index()].finish(&mut self.budget, &mut |e: Event<'_>| sink(dir, e));
        }
    }

    /// Reassembly counters of one direction (TCP).
    pub fn counters(&self, dir: Dir) -> super::reassembly::Counters {
        self.streams[dir.index()].counters()
    }
}

/// What a frame that is an IP fragment gives the connection, as the tracker saw its
/// header `header`: the payload, and for TCP the sequence number and flags. `done`:
/// the datagram it completed, if it did.
#[cold]
#[inline(never)]
fn in_fragment<'x>(
    proto: Proto,
    header: Header,
    p: &'x Packet<'_>,
    done: Option<&'x Datagram>,
    peers: Option<&Peers>,
) -> (Option<&'x [u8]>, Option<(u32, u16)>) {
    use crate::decode::udp::{self, field::HEADER_LEN as UDP_LEN};
    // The frame's own bytes: a tunnel outside the fragment, or a first fragment that
    // cannot be reassembled, counted as it stands.
    if let Some(at) = header.locate(p) {
        let bytes = p.data.get(at.transport.hdr_end..at.transport.end);
        let head = if header == Header::Conn && proto == Proto::Tcp {
            let t = tcp::Tcp::new(p.bytes(at.transport));
            t.seq().zip(t.flags())
        } else {
            None
        };
        return (bytes, head);
    }
    // Counted in the frame that completed its datagram: the payload is the
    // datagram's, not this fragment's.
    let Some(d) = done else { return (None, None) };
    if header != Header::Conn {
        // The tunnel's own datagram, its UDP header in the first fragment.
        return (if d.proto == 17 { d.data.get(UDP_LEN..) } else { None }, None);
    }
    // The connection a tunnel's datagram carries, where its first fragment had it; its
    // ports are the connection's (else the datagram is the tunnel's own connection).
    let carried = d.carried.and_then(|(start, end)| {
        let b = d.data.get(start as usize..end.min(d.data.len() as u32) as usize)?;
        let ports = (get16(b, tcp::field::SRC_PORT)?, get16(b, tcp::field::DST_PORT)?);
        let peers = peers?;
        let want = (peers.client.port, peers.server.port);
        (ports == want || ports == (want.1, want.0)).then_some(b)
    });
    let (b, own) = match carried {
        Some(b) => (b, true),
        None => (d.data.as_slice(), d.proto == if proto == Proto::Tcp { 6 } else { 17 }),
    };
    if !own {
        return (None, None);
    }
    match proto {
        Proto::Udp => {
            // As far as its length field says, within what its IP header carries.
            let end = udp::Udp::new(b).length().map_or(b.len(), |l| b.len().min(l.into()));
            (b.get(UDP_LEN..end), None)
        }
        Proto::Tcp => {
            let t = tcp::Tcp::new(b);
            (t.header_len().and_then(|hl| b.get(hl..)), t.seq().zip(t.flags()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::conn::Tracker;
    use etherparse::PacketBuilder;

    fn tcp_frame(from_client: bool, seq: u32, ack: u32, syn: bool, fin: bool, payload: &[u8]) -> Vec<u8> {
        let (src, dst, sp, dp) = if from_client {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
        };
        let mut b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).tcp(sp, dp, seq, 64240);
        if syn {
            b = b.syn();
        }
        if fin {
            b = b.fin();
        }
        if ack != 0 {
            b = b.ack(ack);
        }
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    /// The delivered bytes per direction, the frames that carried them, and the peers.
    type Followed = ([Vec<u8>; 2], Vec<(Dir, u64)>, Option<Peers>);

    /// Runs frames through the tracker and a follower of connection 0.
    fn follow(frames: &[Vec<u8>]) -> Followed {
        follow_tunnelled(frames, 0)
    }

    #[test]
    fn both_directions_in_order_retransmission_once() {
        let frames = [
            tcp_frame(true, 100, 0, true, false, b""),
            tcp_frame(false, 500, 101, true, false, b""),
            tcp_frame(true, 101, 501, false, false, b""),
            tcp_frame(true, 101, 501, false, false, b"hel"),
            tcp_frame(true, 104, 501, false, false, b"lo\n"),
            tcp_frame(true, 101, 501, false, false, b"hel"), // retransmission
            tcp_frame(false, 501, 107, false, false, b"HELLO\n"),
            tcp_frame(true, 107, 507, false, true, b""),
        ];
        let (got, order, peers) = follow(&frames);
        assert_eq!(got[0], b"hello\n");
        assert_eq!(got[1], b"HELLO\n");
        assert_eq!(order, vec![(Dir::ToServer, 4), (Dir::ToServer, 5), (Dir::ToClient, 7)]);
        let peers = peers.unwrap();
        assert_eq!(peers.client.to_string(), "10.0.0.1:40000");
        assert_eq!(peers.server.to_string(), "10.0.0.2:80");
    }

    #[test]
    fn server_first_frame_still_names_the_client() {
        // Capture starts with the SYN-ACK: the server is the one that sent it.
        let frames = [tcp_frame(false, 500, 101, true, false, b""), tcp_frame(true, 101, 501, false, false, b"abc")];
        let (got, _, peers) = follow(&frames);
        assert_eq!(got[0], b"abc");
        assert_eq!(peers.unwrap().client.to_string(), "10.0.0.1:40000");
    }

    /// `frame` (Ethernet, IPv4 with a 20-byte header) cut into IP fragments at the
    /// payload offsets `cuts` (multiples of 8).
    fn fragments(frame: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let (eth_ip, payload) = frame.split_at(34);
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(payload.len());
        bounds
            .windows(2)
            .map(|w| {
                let mut f = eth_ip.to_vec();
                f[16..18].copy_from_slice(&((20 + w[1] - w[0]) as u16).to_be_bytes());
                let more = if w[1] < payload.len() { 0x2000 } else { 0 };
                f[18..20].copy_from_slice(&0x4242u16.to_be_bytes());
                f[20..22].copy_from_slice(&(more | (w[0] / 8) as u16).to_be_bytes());
                f.extend_from_slice(&payload[w[0]..w[1]]);
                f
            })
            .collect()
    }

    #[test]
    fn a_segment_in_ip_fragments_is_followed_whole_in_the_frame_that_completes_it() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let big = tcp_frame(true, 101, 501, false, false, &data);
        let mut frags = fragments(&big, &[1480, 2960]);
        // Middle first, the first twice, the last; then the next segment, whole.
        let (first, middle, last) = (frags.remove(0), frags.remove(0), frags.remove(0));
        let frames = [
            tcp_frame(true, 100, 0, true, false, b""),
            tcp_frame(false, 500, 101, true, false, b""),
            middle,
            first.clone(),
            first,
            last,
            tcp_frame(true, 3101, 501, false, false, b"after"),
        ];
        let (got, order, _) = follow(&frames);
        let mut want = data.clone();
        want.extend_from_slice(b"after");
        assert_eq!(got[0], want);
        assert_eq!(order, vec![(Dir::ToServer, 6), (Dir::ToServer, 7)]);
        // A fragment that never comes leaves the segment out: a gap, not wrong bytes.
        let frags = fragments(&big, &[1480]);
        let frames = [
            tcp_frame(true, 100, 0, true, false, b""),
            tcp_frame(false, 500, 101, true, false, b""),
            frags[0].clone(),
            tcp_frame(true, 3101, 501, false, false, b"after"),
        ];
        let (got, _, _) = follow(&frames);
        assert_eq!(got[0], b"after");
    }

    #[test]
    fn datagram_bytes_keep_their_first_copy_and_too_many_pieces_are_let_go() {
        let id = Id { src: [0; 16], dst: [0; 16], ident: 1, proto: 6, v6: false };
        let mut d =
            Datagram { id, first_frame: 1, proto: 6, data: Vec::new(), have: Vec::new(), len: Some(12), carried: None };
        assert!(d.add(4, b"efgh"));
        assert!(d.add(0, b"abcdXXXX"));
        assert!(!d.whole());
        assert!(d.add(6, b"YYijkl"));
        assert!(d.whole());
        assert_eq!(d.data, b"abcdefghijkl");
        assert_eq!(d.have, vec![(0, 12)]);
        let mut d =
            Datagram { id, first_frame: 1, proto: 6, data: Vec::new(), have: Vec::new(), len: None, carried: None };
        let ok: Vec<bool> = (0..20).map(|i| d.add(i * 16, b"abcd")).collect();
        assert_eq!(ok.iter().filter(|&&x| !x).count(), 20 - MAX_RANGES);
    }

    /// `inner` (an IPv4 packet) in GTP-U (flags 0x30, G-PDU, TEID 1) over UDP 2152,
    /// from 10.1.0.1 when `up`.
    fn gtp_u(up: bool, inner: &[u8]) -> Vec<u8> {
        let n = (inner.len() as u16).to_be_bytes();
        let mut gtp = vec![0x30, 0xff, n[0], n[1], 0, 0, 0, 1];
        gtp.extend_from_slice(inner);
        let (src, dst) = if up { ([10, 1, 0, 1], [10, 1, 0, 2]) } else { ([10, 1, 0, 2], [10, 1, 0, 1]) };
        let mut b = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).udp(2152, 2152).write(&mut b, &gtp).unwrap();
        b
    }

    /// Follows connection `conn` as `stream` does: each frame as the tracker saw its
    /// tunnel's header, then its own.
    fn follow_tunnelled(frames: &[Vec<u8>], conn: u32) -> Followed {
        let mut tracker = Tracker::new(100, false);
        let mut f = Follow::new(conn, Limits::default());
        let mut got: [Vec<u8>; 2] = Default::default();
        let mut order = Vec::new();
        let mut sink = |d: Dir, e: Event<'_>| {
            if let Event::Data { bytes, frame, .. } = e {
                got[d.index()].extend_from_slice(bytes);
                order.push((d, frame));
            }
        };
        for (i, b) in frames.iter().enumerate() {
            let n = i as u64 + 1;
            let p = crate::decode::decode(crate::source::LinkType::ETHERNET, b, b.len() as u32);
            let seen = tracker.observe(n, n * 1000, b.len() as u32, &p);
            let tunnels: Vec<_> = tracker.tunnels(n).map(|(t, h, re)| (*t, h, re.copied())).collect();
            for (seen, header, re) in tunnels.into_iter().chain([(seen, Header::Conn, tracker.reassembled(n).copied())])
            {
                // As `stream` does: frames of other connections are only held.
                if seen.id == Some(conn) {
                    f.peers_of(&seen, header, &p, re.as_ref());
                    f.push(n, n * 1000, &seen, header, &p, &mut sink);
                } else {
                    f.hold(n, &p);
                }
            }
        }
        f.finish(&mut sink);
        let peers = f.peers().copied();
        (got, order, peers)
    }

    #[test]
    fn a_tunnel_is_followed_by_its_own_datagrams_and_what_it_carries_by_its_own() {
        // A TCP handshake and one data segment, in GTP-U; then a ping the tunnel carries.
        let syn = tcp_frame(true, 100, 0, true, false, b"");
        let synack = tcp_frame(false, 500, 101, true, false, b"");
        let data = tcp_frame(true, 101, 501, false, false, b"GET");
        let mut ping = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .icmpv4_echo_request(1, 1)
            .write(&mut ping, b"hi")
            .unwrap();
        // The inner IP packets: the TCP frames less their Ethernet header.
        let inner = [&syn[14..], &synack[14..], &data[14..], &ping[..]];
        let frames: Vec<Vec<u8>> = inner.iter().enumerate().map(|(i, ip)| gtp_u(i != 1, ip)).collect();
        // Connection 0, the tunnel: each datagram's payload, the GTP-U header and the
        // packet it carries, whatever that is.
        let (got, order, peers) = follow_tunnelled(&frames, 0);
        let payload = |i: usize| frames[i][14 + 20 + 8..].to_vec();
        assert_eq!(got[0], [payload(0), payload(2), payload(3)].concat());
        assert_eq!(got[1], payload(1));
        assert_eq!(order, vec![(Dir::ToServer, 1), (Dir::ToClient, 2), (Dir::ToServer, 3), (Dir::ToServer, 4)]);
        let peers = peers.unwrap();
        assert_eq!((peers.proto, peers.stream), (Proto::Udp, 0));
        assert_eq!(
            (peers.client.to_string(), peers.server.to_string()),
            ("10.1.0.1:2152".into(), "10.1.0.2:2152".into())
        );
        // Connection 1, the TCP connection inside: its own bytes only.
        let (got, order, peers) = follow_tunnelled(&frames, 1);
        assert_eq!((got[0].as_slice(), got[1].as_slice()), (&b"GET"[..], &b""[..]));
        assert_eq!(order, vec![(Dir::ToServer, 3)]);
        assert_eq!(peers.unwrap().client.to_string(), "10.0.0.1:40000");
    }

    #[test]
    fn a_datagram_in_fragments_inside_a_tunnel_is_followed_whole_and_the_tunnel_has_each_fragment() {
        let data: Vec<u8> = (0..40u8).collect();
        let mut whole = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(40000, 53)
            .write(&mut whole, &data)
            .unwrap();
        // The inner IPv4 packet in two fragments (the UDP header and 16 bytes, then 24),
        // each in its own GTP-U datagram, the second first.
        let inner: Vec<Vec<u8>> = fragments(&whole, &[24]).into_iter().map(|f| f[14..].to_vec()).collect();
        let frames = [gtp_u(true, &inner[1]), gtp_u(true, &inner[0])];
        let (got, order, peers) = follow_tunnelled(&frames, 1);
        assert_eq!(got[0], data, "the inner datagram, whole, in the frame that completed it");
        assert_eq!(order, vec![(Dir::ToServer, 2)]);
        assert_eq!(peers.unwrap().server.to_string(), "10.0.0.2:53");
        let (got, order, _) = follow_tunnelled(&frames, 0);
        let payload = |f: &[u8]| f[14 + 20 + 8..].to_vec();
        assert_eq!(got[0], [payload(&frames[0]), payload(&frames[1])].concat());
        assert_eq!(order, vec![(Dir::ToServer, 1), (Dir::ToServer, 2)]);
    }

    #[test]
    fn a_tunnel_in_fragmented_datagrams_is_followed_whole_and_so_is_what_it_carries() {
        // A handshake in GTP-U, then a 3,000-byte segment whose GTP-U datagram comes
        // in two IP fragments, the first one last.
        let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let syn = tcp_frame(true, 100, 0, true, false, b"");
        let synack = tcp_frame(false, 500, 101, true, false, b"");
        let big = gtp_u(true, &tcp_frame(true, 101, 501, false, false, &data)[14..]);
        let frags = fragments(&big, &[1480]);
        let frames = [gtp_u(true, &syn[14..]), gtp_u(false, &synack[14..]), frags[1].clone(), frags[0].clone()];
        // The tunnel: its datagram whole, in the frame that completed it.
        let (got, order, _) = follow_tunnelled(&frames, 0);
        let payload = |f: &[u8]| f[14 + 20 + 8..].to_vec();
        assert_eq!(got[0], [payload(&frames[0]), payload(&big)].concat());
        assert_eq!(got[1], payload(&frames[1]));
        assert_eq!(order, vec![(Dir::ToServer, 1), (Dir::ToClient, 2), (Dir::ToServer, 4)]);
        // The connection inside, whose own addresses are not the fragments': found
        // inside the same datagram.
        let (got, order, peers) = follow_tunnelled(&frames, 1);
        assert_eq!((got[0].as_slice(), got[1].as_slice()), (data.as_slice(), &b""[..]));
        assert_eq!(order, vec![(Dir::ToServer, 4)]);
        assert_eq!(peers.unwrap().server.to_string(), "10.0.0.2:80");
    }

    #[test]
    fn out_of_order_bytes_wait_for_the_gap() {
        let frames = [
            tcp_frame(true, 100, 0, true, false, b""),
            tcp_frame(false, 500, 101, true, false, b""),
            tcp_frame(true, 104, 501, false, false, b"def"),
            tcp_frame(true, 101, 501, false, false, b"abc"),
        ];
        let (got, order, _) = follow(&frames);
        assert_eq!(got[0], b"abcdef");
        assert_eq!(order, vec![(Dir::ToServer, 4), (Dir::ToServer, 3)]);
    }
}
