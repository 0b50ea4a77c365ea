//! Following one connection: its TCP segments go through one reassembly [`Stream`]
//! per direction, its UDP datagrams are passed on one by one, and a sink gets every
//! event tagged with its direction. Both `stream` (the bytes) and `segments` (the
//! sticky-packet view) stand on this, for a file or a live capture alike.
//!
//! The connection tracker decides which frames belong to the connection (the 4-tuple
//! and, after a port reuse, which incarnation), so the numbering is that of `conns`.

use super::conn::{Proto, Seen};
use super::flow::{Endpoint, FlowKey};
use super::reassembly::{Budget, Event, Limits, Segment, Stream};
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

/// One connection's bytes, both directions.
pub struct Follow {
    conn: u32,
    budget: Budget,
    streams: [Stream; 2],
    /// UDP: the bytes each direction has sent so far (datagram offsets).
    udp_end: [u64; 2],
    peers: Option<Peers>,
    /// Frames of the connection seen.
    pub frames: u64,
}

impl Follow {
    /// Follows connection `conn` (the `#` of `pktlab conns`).
    pub fn new(conn: u32, limits: Limits) -> Self {
        Follow {
            conn,
            budget: Budget::new(limits.total),
            streams: [Stream::new(limits), Stream::new(limits)],
            udp_end: [0; 2],
            peers: None,
            frames: 0,
        }
    }

    pub fn peers(&self) -> Option<&Peers> {
        self.peers.as_ref()
    }

    /// Who talks to whom, when `p` belongs to the connection (so a caller can print a
    /// heading before the first frame's bytes).
    pub fn peers_of(&self, seen: &Seen, p: &Packet<'_>) -> Option<Peers> {
        if seen.id != Some(self.conn) || !seen.counted {
            return None;
        }
        if self.peers.is_some() {
            return self.peers;
        }
        let (key, lo_to_hi) = FlowKey::of(p)?;
        let (src, dst) = if lo_to_hi { (key.lo, key.hi) } else { (key.hi, key.lo) };
        let (client, server) = if seen.from_client { (src, dst) } else { (dst, src) };
        Some(Peers { proto: seen.proto?, client, server, stream: seen.ctx.stream.unwrap_or(0) })
    }

    /// One decoded frame, as the tracker saw it. Frames of other connections are
    /// ignored. Events go to `sink` with their direction; a UDP datagram comes as one
    /// `Data` event whose `segment` is the datagram.
    pub fn push(&mut self, frame: u64, ts: u64, seen: &Seen, p: &Packet<'_>, sink: &mut impl FnMut(Dir, Event<'_>)) {
        if seen.id != Some(self.conn) || !seen.counted {
            return;
        }
        let Some(proto) = seen.proto else { return };
        self.frames += 1;
        if self.peers.is_none() {
            self.peers = self.peers_of(seen, p);
        }
        let dir = Dir::of(seen.from_client);
        let payload = p.payload();
        match proto {
            Proto::Udp => {
                let offset = self.udp_end[dir.index()];
                let end = offset + payload.len() as u64;
                self.udp_end[dir.index()] = end;
                let e = Event::Data { offset, bytes: payload, frame, ts, segment: offset..end, psh: false };
                sink(dir, e);
            }
            Proto::Tcp => {
                let Some(t) = p.tcp() else { return };
                let (Some(seq), Some(flags)) = (t.seq(), t.flags()) else { return };
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

    /// Runs frames through the tracker and a follower of connection 0, returning the
    /// delivered bytes per direction and the frames that carried them.
    type Followed = ([Vec<u8>; 2], Vec<(Dir, u64)>, Option<Peers>);

    fn follow(frames: &[Vec<u8>]) -> Followed {
        let mut tracker = Tracker::new(100, false);
        let mut f = Follow::new(0, Limits::default());
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
            f.push(n, n * 1000, &seen, &p, &mut sink);
        }
        f.finish(&mut sink);
        let peers = f.peers().copied();
        (got, order, peers)
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
