//! Connection tracking. Takes decoded frames with their capture timestamps, one at a
//! time, and hands back what each one means for its connection: relative sequence
//! numbers, the connection's number, analysis verdicts with evidence, and the TCP
//! state each side enters. Finished connections leave the table as [`Summary`] rows.
//!
//! It follows RFC 9293 as an observer on the wire sees it, numbers connections the way
//! tshark's `tcp.stream` does, and judges segments by Wireshark's rules
//! (`tcp_analyze_sequence_number`); Zeek's `history` and `conn_state` are kept too.
//! No I/O and no clock: a file and a live capture give the same answers.
//!
//! By concern: `input` reads what the tracker needs from a decoded frame ([`Input`]);
//! this file keeps the table ([`Tracker`]: keys, eviction, sweeps, revival); `table`
//! keeps what is left of connections that left it ([`RecordStore`]); `state` is one
//! connection's TCP state and what a segment does to it; `summary` is the rows handed
//! out ([`Summary`]) and their order; `zeek` is Zeek's history and `conn_state`.

mod arp;
pub mod defrag;
mod echo;
mod input;
mod state;
mod summary;
mod table;
pub mod zeek;

#[cfg(test)]
mod tests;

use rustc_hash::FxHashMap;

use self::defrag::{Defrag, Fragment};
pub use self::input::{fragment_bytes, FragmentBytes, Header, Input};
use self::input::{Head, Inner, Seg, Tunnel, What};
pub use self::state::State;
use self::state::{relative, segment, Conn, Side};
pub use self::summary::{merge_key, order, order_key, Close, Offer, Role, Summary, TcpSummary};
use self::table::{Key, Retired, RetiredTable};
pub use self::table::{RecordStore, RECORD, SPILL_AT};
use crate::analysis::flow::FlowKey;
use crate::decode::tcp_analysis::Flags;
use crate::decode::{tcp, Context, Packet};

/// Connections kept at most, by default: hostile captures open millions.
pub const DEFAULT_MAX_CONNS: usize = 500_000;

/// A closed connection keeps its full state this long (capture time) after its last
/// frame, so a retransmitted FIN or final ACK, which comes within a retransmission
/// timeout or two, is still analysed as one. After that it leaves the table and only a
/// [`Retired`] record stays (its numbers, who is who, its ISNs): a later segment of it
/// still gets its `tcp.stream` and relative numbers, as in tshark, without analysis.
/// TIME-WAIT lasts longer (2MSL: 60 s on Linux), but keeping every closed connection
/// that long would bound memory by the capture's rate, not by what is in flight.
pub const LINGER_NS: u64 = 1_000_000_000;

/// A UDP conversation idle this long (capture time) leaves the table for a [`Retired`]
/// record: UDP has no close, and DNS alone opens a conversation per query.
pub const UDP_IDLE_NS: u64 = 1_000_000_000;

/// Frames between sweeps of finished connections.
const SWEEP_EVERY: u64 = 1 << 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// What the tracker says about one frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen {
    /// Relative numbers, stream index and verdicts, for every renderer.
    pub ctx: Context,
    /// The connection's `id` (see [`Summary::id`]), when the frame belongs to one.
    pub id: Option<u32>,
    pub proto: Option<Proto>,
    /// The segment travels from the client to the server.
    pub from_client: bool,
    /// The state the sender and the receiver enter because of this segment.
    pub sender_enters: Option<State>,
    pub receiver_enters: Option<State>,
    /// The segment is counted in the connection (a TCP header tshark would tap).
    pub counted: bool,
}

/// The transport header of a datagram put together from IP fragments (see `defrag`),
/// for renderers that would read it from the frame that completed it: it is in the
/// first fragment. Kept apart from [`Seen`] ([`Tracker::reassembled`]): every frame
/// carries a `Seen`, and a larger one costs the usual frame time.
#[derive(Clone, Copy, Debug)]
pub struct Reassembled {
    pub key: FlowKey,
    /// It travels from `key.lo` to `key.hi`.
    pub from_lo: bool,
    /// TCP flags, sequence and acknowledgment numbers (raw) and window (unscaled);
    /// zero for UDP.
    pub flags: u16,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    /// Payload length: the segment's or the datagram's.
    pub len: u32,
}

/// What the tracker keeps of a fragmented datagram until it is complete: its first
/// fragment's transport header, and the tunnel the datagram is, if it is one.
#[derive(Clone, Copy, Debug)]
struct Held {
    head: Option<Head>,
    tunnel: Option<Tunnel>,
}

/// The connection table.
pub struct Tracker {
    /// Boxed: the table's buckets stay small, so its empty slots cost little.
    map: FxHashMap<Key, Box<Conn>>,
    cap: usize,
    next_id: u32,
    next_tcp: u32,
    next_udp: u32,
    frames: u64,
    /// Finished connections, when `keep` is set (the `conns` command); otherwise they
    /// are dropped as they leave the table.
    finished: Vec<Summary>,
    keep: bool,
    /// Connections closed out early because the table was full.
    pub evicted: u64,
    /// Capture time of the latest frame, for sweeps.
    now: u64,
    /// Connections that left the table, by key (bounded: see `retire`).
    retired: RetiredTable,
    /// Fragmented datagrams not yet complete (bounded: see `defrag`).
    defrag: Defrag<Held>,
    /// The latest frame that completed a datagram, and that datagram's header.
    reassembled: Option<(u64, Reassembled)>,
    /// The latest frame carried by a UDP tunnel, and what the tracker said of the
    /// tunnel's header (see [`Tracker::tunnel`]).
    tunnel: Option<(u64, Seen)>,
    /// Likewise for the tunnel around that one, in a tunnel in a tunnel.
    outer: Option<(u64, Seen)>,
    /// The latest frame that completed a tunnel's fragmented datagram (see
    /// `reassemble`), and the tunnel's header, which is in an earlier frame.
    tunnel_head: Option<(u64, Reassembled)>,
    /// Which MAC each IPv4 address was first seen with in an ARP (bounded: see `arp`).
    arp: arp::Watch,
    /// Echo requests waiting for their reply (bounded: see `echo`).
    echo: echo::Watch,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(DEFAULT_MAX_CONNS, false)
    }
}

impl Tracker {
    /// `cap` bounds the live table; `keep` collects a [`Summary`] per connection.
    pub fn new(cap: usize, keep: bool) -> Tracker {
        Tracker {
            map: FxHashMap::default(),
            cap: cap.max(1),
            next_id: 0,
            next_tcp: 0,
            next_udp: 0,
            frames: 0,
            finished: Vec::new(),
            keep,
            evicted: 0,
            now: 0,
            retired: RetiredTable::default(),
            defrag: Defrag::default(),
            reassembled: None,
            tunnel: None,
            outer: None,
            tunnel_head: None,
            arp: arp::Watch::default(),
            echo: echo::Watch::default(),
        }
    }

    /// Retired records past [`SPILL_AT`] go to `store` (a file, say) instead of memory.
    pub fn store_retired(&mut self, store: Box<dyn RecordStore>) {
        self.store_retired_past(store, SPILL_AT);
    }

    fn store_retired_past(&mut self, store: Box<dyn RecordStore>, records: usize) {
        self.retired.store = Some(store);
        self.retired.spill_at = records.max(1);
    }

    pub fn live(&self) -> usize {
        self.map.len()
    }

    /// Takes one frame (`number`, capture time in ns, original length).
    pub fn observe(&mut self, number: u64, ts: u64, orig_len: u32, p: &Packet<'_>) -> Seen {
        let input = Input::read(number, ts, orig_len, p, self.keep);
        self.apply(&input)
    }

    /// Takes one frame, as [`Input::read`] read it.
    pub fn apply(&mut self, i: &Input) -> Seen {
        self.frames += 1;
        if i.ts > self.now {
            self.now = i.ts;
        }
        if self.frames.is_multiple_of(SWEEP_EVERY) {
            self.sweep();
        }
        if let Some(t) = &i.tunnel {
            self.count_tunnels(i, t);
        }
        let reassembled;
        let s = match &i.what {
            What::Nothing => return Seen::default(),
            What::Arp(b) => return self.arp(i, b),
            What::Echo(e) => return self.echo(i, e),
            What::Tcp(s) => s,
            What::Udp { key, from_lo, len } => return self.udp(i.number, i.ts, i.orig_len, *len, *key, *from_lo),
            What::Frag(f) => match self.reassemble(i, f) {
                None => return Seen::default(),
                Some(Head::Udp { key, from_lo, len }) => {
                    return self.udp(i.number, i.ts, i.orig_len, len, key, from_lo)
                }
                Some(Head::Tcp { seg, .. } | Head::Carried(seg)) => {
                    reassembled = seg;
                    &reassembled
                }
            },
            What::Nested(_, inner) => match inner {
                Inner::Nothing => return Seen::default(),
                Inner::Udp { key, from_lo, len } => return self.udp(i.number, i.ts, i.orig_len, *len, *key, *from_lo),
                Inner::Tcp(s) => s,
            },
        };
        // One call site, so that it stays inlined on the usual path.
        self.tcp(i.number, i.ts, i.orig_len, s)
    }

    /// The tunnels carrying a frame's connection, outermost first: tshark numbers a
    /// tunnel's conversation before what it carries. One the first fragment of a
    /// tunnel's datagram begins with waits for the datagram (see `reassemble`).
    #[cold]
    #[inline(never)]
    fn count_tunnels(&mut self, i: &Input, t: &Tunnel) {
        if let What::Nested(outer, _) = &i.what {
            let seen = self.count_tunnel(i, outer);
            self.outer = Some((i.number, seen));
        }
        if !t.deferred {
            // The innermost tunnel, the one `Header::Tunnel` locates for the views.
            let seen = self.count_tunnel(i, t);
            self.tunnel = Some((i.number, seen));
        }
    }

    #[cold]
    #[inline(never)]
    fn arp(&mut self, i: &Input, b: &arp::Bindings) -> Seen {
        let note = self.arp.observe(i.number, i.ts, b).map(crate::decode::Note::ArpDuplicate);
        Seen { ctx: Context { note, ..Context::default() }, ..Seen::default() }
    }

    #[cold]
    #[inline(never)]
    fn echo(&mut self, i: &Input, e: &echo::Echo) -> Seen {
        let note = self.echo.observe(i.number, i.ts, e);
        Seen { ctx: Context { note, ..Context::default() }, ..Seen::default() }
    }

    fn count_tunnel(&mut self, i: &Input, t: &Tunnel) -> Seen {
        let key = Key { flow: t.flow, proto: Proto::Udp };
        self.udp(i.number, i.ts, i.orig_len, u64::from(t.len), key, t.from_lo)
    }

    /// A fragment: what its datagram's transport header says when this one completes
    /// it, a TCP segment with its length filled in; kept for [`Tracker::reassembled`].
    /// A tunnel the datagram is (its first fragment's `Input::tunnel`, deferred) is
    /// counted then too, before what it carries.
    #[cold]
    #[inline(never)]
    fn reassemble(&mut self, i: &Input, f: &Fragment<Head>) -> Option<Head> {
        let tunnel = i.tunnel.filter(|t| t.deferred);
        let held = (f.head.is_some() || tunnel.is_some()).then_some(Held { head: f.head, tunnel });
        let f = Fragment { id: f.id, start: f.start, end: f.end, more: f.more, head: held };
        let (held, len) = self.defrag.add(i.ts, &f)?;
        let head = match (held.head, held.tunnel) {
            // A tunnel carrying what the tracker does not follow (a ping): the datagram
            // is the tunnel's, as a whole one would be (`FlowKey::locate`).
            (None, Some(t)) => {
                Head::Udp { key: Key { flow: t.flow, proto: Proto::Udp }, from_lo: t.from_lo, len: t.len.into() }
            }
            (head, tunnel) => {
                if let Some(t) = &tunnel {
                    let seen = self.count_tunnel(i, t);
                    // For the views, as `count_tunnels` does for a whole frame's tunnel.
                    // A frame with a tunnel of its own outside the fragment keeps that
                    // one there (`Input` holds one tunnel beside a fragment, so none in
                    // the corpus has both).
                    if self.tunnel.is_none_or(|(n, _)| n != i.number) {
                        self.tunnel = Some((i.number, seen));
                        let len = t.len.into();
                        let r = Reassembled { key: t.flow, from_lo: t.from_lo, flags: 0, seq: 0, ack: 0, win: 0, len };
                        self.tunnel_head = Some((i.number, r));
                    }
                }
                match head? {
                    Head::Tcp { mut seg, hl } => {
                        // tshark's "short segment": a datagram shorter than its TCP header.
                        seg.whole = hl >= 20 && len >= hl;
                        seg.seglen = if seg.whole { len - hl } else { 0 };
                        Head::Tcp { seg, hl }
                    }
                    head => head,
                }
            }
        };
        let r = match head {
            Head::Tcp { seg: s, .. } | Head::Carried(s) => Reassembled {
                key: s.key.flow,
                from_lo: s.from_lo,
                flags: s.flags,
                seq: s.seq,
                ack: s.ack,
                win: s.win,
                len: s.seglen,
            },
            Head::Udp { key, from_lo, len } => {
                let len = u32::try_from(len).unwrap_or(u32::MAX);
                Reassembled { key: key.flow, from_lo, flags: 0, seq: 0, ack: 0, win: 0, len }
            }
        };
        self.reassembled = Some((i.number, r));
        Some(head)
    }

    /// When frame `number`, the latest one taken, completed a fragmented datagram:
    /// what the datagram's transport header says.
    pub fn reassembled(&self, number: u64) -> Option<&Reassembled> {
        self.reassembled.as_ref().filter(|(n, _)| *n == number).map(|(_, r)| r)
    }

    /// When frame `number`, the latest one taken, rode in a UDP tunnel (see
    /// [`FlowKey::tunnel`]): what the tracker said of the tunnel's header, a
    /// conversation of its own besides the one the frame's [`Seen`] is about.
    pub fn tunnel(&self, number: u64) -> Option<&Seen> {
        self.tunnel.as_ref().filter(|(n, _)| *n == number).map(|(_, s)| s)
    }

    /// What the tracker said of each tunnel header frame `number`, the latest one
    /// taken, rode in, outermost first (tshark's order), and which header it was; and
    /// when the frame completed the tunnel's own fragmented datagram, whose UDP header
    /// is in its first fragment, what that header says (as [`Tracker::reassembled`]
    /// for the frame's connection).
    pub fn tunnels(&self, number: u64) -> impl Iterator<Item = (&Seen, Header, Option<&Reassembled>)> {
        let outer = self.outer.as_ref().filter(|(n, _)| *n == number).map(|(_, s)| (s, Header::Outer, None));
        let head = self.tunnel_head.as_ref().filter(|(n, _)| *n == number).map(|(_, r)| r);
        let inner = self.tunnel(number).map(|s| (s, Header::Tunnel, head));
        outer.into_iter().chain(inner)
    }

    fn make_room(&mut self) {
        if self.map.len() < self.cap {
            return;
        }
        // First the finished ones, then the quarter idle the longest.
        let before = self.map.len();
        let mut out: Vec<(Key, Box<Conn>)> = self.map.extract_if(|_, c| c.finished()).collect();
        if self.map.len() >= self.cap {
            let mut idle: Vec<u64> = self.map.values().map(|c| c.last_ts).collect();
            let n = (idle.len() / 4).max(1).min(idle.len() - 1);
            let (_, cut, _) = idle.select_nth_unstable(n);
            let cut = *cut;
            self.map.retain(|k, c| {
                if c.last_ts < cut || (c.last_ts == cut && out.len() < n) {
                    c.evicted = true;
                    out.push((*k, std::mem::replace(c, Box::new(Conn::new(0, 0, Proto::Tcp, 0, 0, false)))));
                    false
                } else {
                    true
                }
            });
            self.evicted += (before - self.map.len()) as u64;
        }
        for (k, c) in out {
            self.retire(&k, &c);
        }
    }

    /// Moves closed TCP connections past their linger, and idle UDP conversations, out
    /// of the table.
    fn sweep(&mut self) {
        let now = self.now;
        self.defrag.expire(now);
        let out: Vec<(Key, Box<Conn>)> = self
            .map
            .extract_if(|_, c| match c.proto {
                Proto::Tcp => c.finished() && c.last_ts.saturating_add(LINGER_NS) < now,
                Proto::Udp => c.last_ts.saturating_add(UDP_IDLE_NS) < now,
            })
            .collect();
        for (k, c) in out {
            self.retire(&k, &c);
        }
        // A burst leaves the table large long after it passed; its slack would stay.
        if self.map.capacity() > 4 * self.map.len().max(1024) {
            self.map.shrink_to(2 * self.map.len());
        }
    }

    fn retire(&mut self, key: &Key, c: &Conn) {
        // A connection only ever seen through headers tshark would not count has no row.
        if self.keep && c.lo.frames + c.hi.frames > 0 {
            self.finished.push(c.summary(&key.flow));
        }
        // One evicted because the table was full is forgotten: its later frames count
        // as a new connection (the cap is there for hostile captures).
        if c.evicted {
            return;
        }
        // Bounded too: past four records per table slot, the oldest knowledge goes.
        if self.retired.len() >= self.cap.saturating_mul(4) {
            self.retired.clear();
        }
        self.retired.insert(*key, Retired::of(c));
    }

    /// A connection back from its record: same numbers, same roles, same ISNs, fresh
    /// analysis state.
    fn revive(r: &Retired, proto: Proto, number: u64, ts: u64, from_lo: bool) -> Box<Conn> {
        let mut c = Box::new(Conn::new(r.id, r.stream, proto, number, ts, from_lo));
        c.revived = true;
        c.a_is_lo = r.bits & Retired::A_IS_LO != 0;
        c.client_is_lo = r.bits & Retired::CLIENT_IS_LO != 0;
        c.lo.base = r.base(0);
        c.hi.base = r.base(1);
        c.lo.scale = r.scale[0];
        c.hi.scale = r.scale[1];
        c
    }

    /// Ends the capture: every connection still in the table, and the ones that left,
    /// in order of first frame.
    pub fn finish(self) -> Vec<Summary> {
        order(self.close())
    }

    /// Rows of connections that left the table since the last call, in no particular
    /// order and not yet merged (see [`order`]): a caller that stores them elsewhere
    /// keeps the tracker's memory bounded by the connections in flight.
    pub fn drain_finished(&mut self) -> std::vec::Drain<'_, Summary> {
        self.finished.drain(..)
    }

    /// Ends the capture: every connection still open leaves the table. Returns the
    /// rows not drained yet, unordered.
    pub fn close(mut self) -> Vec<Summary> {
        let mut map = std::mem::take(&mut self.map);
        for (k, c) in map.drain() {
            self.retire(&k, &c);
        }
        self.finished
    }

    fn new_conn(&mut self, proto: Proto, number: u64, ts: u64, key: Key, from_lo: bool) -> &mut Conn {
        self.make_room();
        let stream = match proto {
            Proto::Tcp => &mut self.next_tcp,
            Proto::Udp => &mut self.next_udp,
        };
        let c = Conn::new(self.next_id, *stream, proto, number, ts, from_lo);
        *stream += 1;
        self.next_id += 1;
        self.map.insert(key, Box::new(c));
        self.map.get_mut(&key).expect("just inserted")
    }

    fn udp(&mut self, number: u64, ts: u64, orig_len: u32, len: u64, key: Key, from_lo: bool) -> Seen {
        if !self.map.contains_key(&key) {
            match self.retired.remove(&key) {
                Some(r) => {
                    self.make_room();
                    self.map.insert(key, Self::revive(&r, Proto::Udp, number, ts, from_lo));
                }
                None => {
                    self.new_conn(Proto::Udp, number, ts, key, from_lo);
                }
            }
        }
        let c = self.map.get_mut(&key).expect("present");
        c.last_frame = number;
        c.last_ts = ts.max(c.last_ts);
        let side = if from_lo { &mut c.lo } else { &mut c.hi };
        side.frames += 1;
        side.bytes += u64::from(orig_len);
        side.payload += len;
        Seen {
            ctx: Context { stream: Some(c.stream), ..Context::default() },
            id: Some(c.id),
            proto: Some(Proto::Udp),
            from_client: from_lo == c.client_is_lo,
            counted: true,
            ..Seen::default()
        }
    }

    fn tcp(&mut self, number: u64, ts: u64, orig_len: u32, s: &Seg) -> Seen {
        let (key, from_lo, seq, flags) = (&s.key, s.from_lo, s.seq, s.flags);
        let syn = flags & tcp::SYN != 0;
        let has_ack = flags & tcp::ACK != 0;
        if self.map.len() >= self.cap && !self.map.contains_key(key) {
            self.make_room();
        }
        // One lookup on the common path: the connection exists and this is not a new SYN.
        let (id, stream) = (self.next_id, self.next_tcp);
        let mut created = false;
        let mut retired = None;
        let mut flag_reuse = false;
        let c: &mut Conn = match self.map.entry(*key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let c = e.into_mut();
                let mine = if from_lo { &c.lo } else { &c.hi };
                // Wireshark's rule: a SYN without ACK whose sequence number differs from
                // the one this side started with opens a new conversation (the 4-tuple
                // was reused after a close, or the client gave up and retried).
                if syn && !has_ack && mine.base.is_some_and(|b| b != seq) {
                    let new = Box::new(Conn::new(id, stream, Proto::Tcp, number, ts, from_lo));
                    retired = Some(std::mem::replace(c, new));
                    created = true;
                } else if syn && has_ack && mine.base.is_some_and(|b| b != seq) {
                    // A SYN-ACK with another ISN stays in the conversation (its numbers
                    // restart from the new ISN) but Wireshark flags the reuse too.
                    flag_reuse = true;
                }
                c
            }
            // Only a connection not in the table can have left a record.
            std::collections::hash_map::Entry::Vacant(e) => match self.retired.remove(key) {
                // The same rule against the retired connection's ISN.
                Some(r) if !(syn && !has_ack && r.base(usize::from(!from_lo)).is_some_and(|b| b != seq)) => {
                    e.insert(Self::revive(&r, Proto::Tcp, number, ts, from_lo))
                }
                r => {
                    flag_reuse = r.is_some();
                    created = true;
                    e.insert(Box::new(Conn::new(id, stream, Proto::Tcp, number, ts, from_lo)))
                }
            },
        };
        let reused = retired.is_some() || flag_reuse;
        if created {
            self.next_id += 1;
            self.next_tcp += 1;
        }
        if let Some(old) = retired {
            if self.keep && old.lo.frames + old.hi.frames > 0 {
                self.finished.push(old.summary(&key.flow));
            }
        }
        if !s.whole {
            // tshark numbers such a header but feeds it neither to its analyses nor to
            // its conversation table.
            let (mine, theirs) = if from_lo { (&mut c.lo, &mut c.hi) } else { (&mut c.hi, &mut c.lo) };
            let (rel_seq, rel_ack, win_shift) = relative(mine, theirs, s);
            let ctx =
                Context { rel_seq: Some(rel_seq), rel_ack, win_shift, stream: Some(c.stream), ..Context::default() };
            return Seen { ctx, id: Some(c.id), proto: Some(Proto::Tcp), ..Seen::default() };
        }
        if c.lo.frames + c.hi.frames == 0 && !c.revived {
            // A is the sender of the first frame counted.
            c.a_is_lo = from_lo;
            c.first_frame = number;
            c.first_ts = ts;
        }
        c.last_frame = number;
        c.last_ts = ts.max(c.last_ts);
        let mut seen = segment(c, number, ts, orig_len, s, self.keep);
        if reused {
            seen.ctx.analysis.flags.insert(Flags::PORT_REUSE);
        }
        seen
    }
}
