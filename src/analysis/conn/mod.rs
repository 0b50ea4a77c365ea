//! Connection tracking. Takes decoded frames with their capture timestamps, one at a
//! time, and hands back what each one means for its connection: relative sequence
//! numbers, the connection's number, analysis verdicts with evidence, and the TCP
//! state each side enters. Finished connections leave the table as [`Summary`] rows.
//!
//! It follows RFC 9293 as an observer on the wire sees it, numbers connections the way
//! tshark's `tcp.stream` does, and judges segments by Wireshark's rules
//! (`tcp_analyze_sequence_number`); Zeek's `history` and `conn_state` are kept too.
//! No I/O and no clock: a file and a live capture give the same answers.

pub mod zeek;

#[cfg(test)]
mod tests;

use rustc_hash::FxHashMap;

use self::zeek::{Endpoint as ZState, History};
use super::flow::{Endpoint, FlowKey};
use super::seq::SeqNum;
use crate::decode::tcp_analysis::{Analysis, Flags};
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

/// TCP states by their RFC 9293 names, as an observer infers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum State {
    #[default]
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

/// How a connection ended, as far as the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Close {
    /// No FIN or RST seen.
    #[default]
    Open,
    /// Only one side sent a FIN (the other may still be sending: half-close).
    HalfClosed,
    /// FIN, ACK, FIN, ACK.
    FourWay,
    /// FIN, FIN+ACK, ACK: the second FIN carried the ACK of the first.
    ThreeWay,
    /// Both sides sent a FIN before seeing the other's.
    Simultaneous,
    /// A RST ended an established connection.
    Reset,
    /// SYN answered by RST: nothing listened on the port.
    Refused,
}

impl Close {
    pub fn name(self) -> &'static str {
        match self {
            Close::Open => "open",
            Close::HalfClosed => "half-closed",
            Close::FourWay => "four-way",
            Close::ThreeWay => "three-way",
            Close::Simultaneous => "simultaneous",
            Close::Reset => "reset",
            Close::Refused => "refused",
        }
    }
}

/// What the handshake negotiated, per side (from its SYN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offer {
    pub mss: Option<u16>,
    /// Window scale shift, when offered.
    pub ws: Option<u8>,
    pub sack: bool,
    pub timestamps: bool,
}

impl Offer {
    fn of(t: &tcp::Tcp<'_>) -> Offer {
        let mut offer = Offer::default();
        for (_, _, o) in t.options() {
            match o {
                tcp::Opt::Mss(m) => offer.mss = Some(m),
                tcp::Opt::WindowScale(s) => offer.ws = Some(s),
                tcp::Opt::SackPermitted => offer.sack = true,
                tcp::Opt::Timestamps(..) => offer.timestamps = true,
                _ => {}
            }
        }
        offer
    }
}

/// One frame as the tracker takes it (see [`Input::read`]): about 100 bytes, so a
/// batch of them can cross to another thread instead of the frames.
#[derive(Clone, Copy, Debug)]
pub struct Input {
    number: u64,
    ts: u64,
    orig_len: u32,
    what: What,
}

#[derive(Clone, Copy, Debug)]
enum What {
    /// Neither TCP nor UDP the tracker follows (or a TCP header too short to read).
    Nothing,
    Udp {
        key: Key,
        from_lo: bool,
        len: u64,
    },
    Tcp(Seg),
}

impl Input {
    /// What [`Tracker::apply`] needs from a frame, read from its headers without
    /// touching the table, so that the reading can be done on one thread and the
    /// tracking on another. `checksums`: verify TCP checksums, which only the
    /// summaries' Zeek view uses (a tenth of `read -Y`'s work).
    pub fn read(number: u64, ts: u64, orig_len: u32, p: &Packet<'_>, checksums: bool) -> Input {
        let mut i = Input { number, ts, orig_len, what: What::Nothing };
        // Filled in place: a `What` built apart and then moved in is copied twice.
        match Self::v4_tcp(p, checksums) {
            Some(seg) => i.what = What::Tcp(seg),
            None => i.what = Self::what(p, checksums),
        }
        i
    }

    /// The general path of [`Input::read`]: any frame.
    fn what(p: &Packet<'_>, checksums: bool) -> What {
        match FlowKey::locate(p) {
            None => What::Nothing,
            Some(at) if at.transport.proto == crate::decode::Proto::Tcp => {
                let t = tcp::Tcp::new(p.bytes(at.transport));
                match (t.seq(), t.ack(), t.flags(), t.window()) {
                    (Some(seq), Some(ack), Some(flags), Some(win)) => {
                        let seglen = p.tcp_len_in(at.transport, at.ip);
                        let (sport, dport) = at.ports();
                        let offer = if flags & tcp::SYN != 0 { Offer::of(&t) } else { Offer::default() };
                        // Zeek marks a segment whose checksum is wrong and otherwise
                        // ignores it. Only a checksum verified wrong counts: offloaded and
                        // cut segments cannot be checked.
                        let bad = checksums
                            && crate::decode::transport_checksum(p, at.transport) == crate::decode::Checksum::Bad;
                        What::Tcp(Seg {
                            key: Key { flow: at.key, proto: Proto::Tcp },
                            from_lo: at.from_lo,
                            seq,
                            ack,
                            flags,
                            win,
                            seglen: seglen.unwrap_or(0),
                            whole: seglen.is_some() && t.header_len().is_some_and(|h| h >= 20),
                            sport,
                            dport,
                            offer,
                            bad,
                        })
                    }
                    _ => What::Nothing,
                }
            }
            Some(at) => {
                let len = crate::decode::udp::Udp::new(p.bytes(at.transport))
                    .length()
                    .map_or(0, |l| u64::from(l.saturating_sub(8)));
                What::Udp { key: Key { flow: at.key, proto: Proto::Udp }, from_lo: at.from_lo, len }
            }
        }
    }

    /// [`Input::read`]'s answer for the usual frame (a link header, IPv4, TCP, neither
    /// header cut short, not a fragment) read with two fixed-size copies instead of
    /// field by field: `read -Y`'s reader does this for every frame while the writer
    /// tracks. `None`: another kind of frame, for the general path.
    #[inline]
    fn v4_tcp(p: &Packet<'_>, checksums: bool) -> Option<Seg> {
        let (ip, t) = match p.own_layers() {
            [_, ip, t, ..] if ip.proto == crate::decode::Proto::Ipv4 && t.proto == crate::decode::Proto::Tcp => (ip, t),
            _ => return None,
        };
        let h: [u8; 20] = crate::decode::arr(p.bytes(ip), 0)?;
        let tb = p.bytes(t);
        let s: [u8; 20] = crate::decode::arr(tb, 0)?;
        // More fragments, or an offset: see `FlowKey::locate`.
        if h[6] & 0x3f != 0 || h[7] != 0 {
            return None;
        }
        let be16 = |i: usize| u16::from_be_bytes([s[i], s[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
        let (sport, dport) = (be16(0), be16(2));
        let (flow, from_lo) = FlowKey::v4([h[12], h[13], h[14], h[15]], sport, [h[16], h[17], h[18], h[19]], dport);
        let flags = be16(12) & 0x0fff;
        let seglen = p.tcp_len_in(t, ip);
        Some(Seg {
            key: Key { flow, proto: Proto::Tcp },
            from_lo,
            seq: be32(4),
            ack: be32(8),
            flags,
            win: be16(14),
            seglen: seglen.unwrap_or(0),
            whole: seglen.is_some() && s[12] >> 4 >= 5,
            sport,
            dport,
            offer: if flags & tcp::SYN != 0 { Offer::of(&tcp::Tcp::new(tb)) } else { Offer::default() },
            bad: checksums && crate::decode::transport_checksum(p, t) == crate::decode::Checksum::Bad,
        })
    }
}

/// A TCP segment's fields, as the tracker uses them.
#[derive(Clone, Copy, Debug)]
struct Seg {
    key: Key,
    from_lo: bool,
    seq: u32,
    ack: u32,
    flags: u16,
    win: u16,
    /// Payload length (0 when unknown).
    seglen: u32,
    /// The length is known and the header whole: tshark analyses the segment.
    whole: bool,
    sport: u16,
    dport: u16,
    /// Options of a SYN.
    offer: Offer,
    /// Checksum verified wrong (only looked at when summaries are kept).
    bad: bool,
}

/// One connection (TCP) or conversation (UDP), for the `conns` table.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Index in order of first frame, TCP and UDP together (`--conn N`).
    pub id: u32,
    pub proto: Proto,
    /// tshark's `tcp.stream` / `udp.stream`.
    pub stream: u32,
    /// A sent the first frame (tshark's rule).
    pub a: Endpoint,
    pub b: Endpoint,
    pub frames_ab: u64,
    pub bytes_ab: u64,
    pub frames_ba: u64,
    pub bytes_ba: u64,
    /// Payload bytes each way.
    pub payload_ab: u64,
    pub payload_ba: u64,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    /// The client (Zeek's originator): the SYN's sender, when seen; true when it is A.
    pub client_is_a: bool,
    /// TCP only.
    pub tcp: Option<TcpSummary>,
}

impl Summary {
    /// Adds the row of the same connection revived after it left the table: its
    /// counts add up, it extends the end; state, history and close stay those of the
    /// connection's life in full (a revived one starts its analysis afresh).
    pub fn merge(&mut self, later: &Summary) {
        self.frames_ab += later.frames_ab;
        self.bytes_ab += later.bytes_ab;
        self.frames_ba += later.frames_ba;
        self.bytes_ba += later.bytes_ba;
        self.payload_ab += later.payload_ab;
        self.payload_ba += later.payload_ba;
        if later.last_frame > self.last_frame {
            self.last_frame = later.last_frame;
            self.last_ns = self.last_ns.max(later.last_ns);
        }
        if let (Some(t), Some(l)) = (self.tcp.as_mut(), later.tcp.as_ref()) {
            t.retransmissions += l.retransmissions;
            t.dup_acks += l.dup_acks;
            t.lost += l.lost;
            t.evicted |= l.evicted;
        }
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TcpSummary {
    #[serde(with = "zeek::state_name")]
    pub conn_state: zeek::StateName,
    pub history: History,
    pub close: Close,
    /// Who sent the first FIN or RST.
    pub closed_by: Option<Role>,
    /// Handshake round trip: first SYN to the ACK that completes it.
    pub rtt_ns: Option<u64>,
    pub client: Offer,
    pub server: Offer,
    /// Both sides offered: what is in force.
    pub sack: bool,
    pub timestamps: bool,
    /// Window scaling in force (both offered): the client's and the server's shifts.
    pub ws: Option<(u8, u8)>,
    /// Segments flagged as retransmissions (any kind), duplicate ACKs, gaps.
    pub retransmissions: u64,
    pub dup_acks: u64,
    pub lost: u64,
    /// The client's and server's states at the end of the capture.
    pub client_state: State,
    pub server_state: State,
    /// The table was full and this connection was closed out early.
    pub evicted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Role {
    Client,
    Server,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
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

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum Scale {
    /// No SYN seen: the factor is unknown.
    #[default]
    Unknown,
    /// SYN without the option: this side does not scale.
    None,
    Shift(u8),
}

/// One direction of a connection: what its sender has done.
#[derive(Clone, Debug, Default)]
struct Side {
    frames: u64,
    bytes: u64,
    payload: u64,
    /// Base for relative numbers (the ISN when the SYN was seen).
    base: Option<u32>,
    scale: Scale,
    offer: Offer,
    saw_syn: bool,
    // Wireshark's sequence analysis state (raw numbers).
    nextseq: Option<SeqNum>,
    nextseq_frame: u64,
    nextseq_ts: u64,
    maxseqtobeacked: Option<SeqNum>,
    lastack: Option<SeqNum>,
    lastack_ts: u64,
    lastack_frame: u64,
    window: Option<u16>,
    /// Wireshark's `dupacknum`: -1 after an ACKed-unseen verdict while nothing new was
    /// seen from this side (see `analyze`).
    dupacks: i32,
    lastnondupack: u64,
    last_flags: Flags,
    /// Sequence number of this side's FIN (the number it consumes), and whether the
    /// other side acknowledged it.
    fin: Option<SeqNum>,
    fin_acked: bool,
    rst: bool,
    state: State,
    zeek: ZState,
    marks: zeek::Marks,
    retransmissions: u64,
    dup_acks: u64,
    lost: u64,
}

/// A table key: TCP and UDP between the same two ports are different conversations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    flow: FlowKey,
    proto: Proto,
}

/// What is kept of a connection that left the table: enough to give its later frames
/// the same numbers. 24 bytes (ISNs without `Option`'s padding: their presence is in
/// `bits`), 40 with an IPv4 key, against ~0.6 KB for the full state. One is kept per
/// connection that ever finished: past a few thousand they go to a [`RecordStore`].
#[derive(Clone, Copy, Debug)]
struct Retired {
    id: u32,
    stream: u32,
    base: [u32; 2],
    scale: [Scale; 2],
    /// `A_IS_LO`, `CLIENT_IS_LO`, and `HAS_BASE << side`.
    bits: u8,
}

const _: () = assert!(std::mem::size_of::<Retired>() == 24);

impl Retired {
    const A_IS_LO: u8 = 1;
    const CLIENT_IS_LO: u8 = 2;
    const HAS_BASE: u8 = 4;

    fn of(c: &Conn) -> Retired {
        let has = |b: Option<u32>, side: u8| if b.is_some() { Self::HAS_BASE << side } else { 0 };
        Retired {
            id: c.id,
            stream: c.stream,
            base: [c.lo.base.unwrap_or(0), c.hi.base.unwrap_or(0)],
            scale: [c.lo.scale, c.hi.scale],
            bits: (u8::from(c.a_is_lo) * Self::A_IS_LO)
                | (u8::from(c.client_is_lo) * Self::CLIENT_IS_LO)
                | has(c.lo.base, 0)
                | has(c.hi.base, 1),
        }
    }

    /// The ISN of side 0 (lo) or 1 (hi), when its SYN was seen.
    fn base(&self, side: usize) -> Option<u32> {
        (self.bits & (Self::HAS_BASE << side) != 0).then_some(self.base[side])
    }

    /// The record as a [`RecordStore`] keeps it.
    fn to_bytes(self) -> [u8; RECORD] {
        let mut b = [0u8; RECORD];
        b[0..4].copy_from_slice(&self.id.to_le_bytes());
        b[4..8].copy_from_slice(&self.stream.to_le_bytes());
        b[8..12].copy_from_slice(&self.base[0].to_le_bytes());
        b[12..16].copy_from_slice(&self.base[1].to_le_bytes());
        b[16] = self.scale[0].to_byte();
        b[17] = self.scale[1].to_byte();
        b[18] = self.bits;
        b
    }

    fn from_bytes(b: &[u8; RECORD]) -> Retired {
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Retired {
            id: w(0),
            stream: w(4),
            base: [w(8), w(12)],
            scale: [Scale::from_byte(b[16]), Scale::from_byte(b[17])],
            bits: b[18],
        }
    }
}

/// Bytes of a retired record in a [`RecordStore`].
pub const RECORD: usize = 24;

/// Where the tracker's retired IPv4 records go once it holds [`SPILL_AT`] of them: a
/// capture of millions of connections would otherwise keep one in memory for each
/// (see [`Retired`]). Keys are packed 4-tuples with the protocol, records opaque.
/// The tracker never puts a key the store holds a record for.
pub trait RecordStore: Send {
    /// Takes records, sorted by key.
    fn put(&mut self, records: &[([u64; 2], [u8; RECORD])]);
    /// Removes and returns the record under `key`.
    fn take(&mut self, key: &[u64; 2]) -> Option<[u8; RECORD]>;
    fn clear(&mut self);
}

/// Retired IPv4 records held in memory before they go to the store, when there is one.
pub const SPILL_AT: usize = 4096;

impl Scale {
    fn to_byte(self) -> u8 {
        match self {
            Scale::Unknown => 0,
            Scale::None => 1,
            Scale::Shift(s) => 2 + s,
        }
    }

    fn from_byte(b: u8) -> Scale {
        match b {
            0 => Scale::Unknown,
            1 => Scale::None,
            s => Scale::Shift(s - 2),
        }
    }
}

/// Retired records by key. IPv4 keys, nearly all of them, are packed into 16 bytes
/// (addresses, ports and protocol: exact, no hashing), against 38 for a [`Key`]; past
/// [`SPILL_AT`] they go to the store, when the tracker was given one. IPv6 keys stay
/// in memory.
#[derive(Default)]
struct RetiredTable {
    v4: FxHashMap<[u64; 2], Retired>,
    other: FxHashMap<Key, Retired>,
    store: Option<Box<dyn RecordStore>>,
    /// IPv4 records held here before they go to the store.
    spill_at: usize,
    /// Records held, here and in the store.
    count: usize,
}

impl RetiredTable {
    fn pack(key: &Key) -> Option<[u64; 2]> {
        let v4 = |a: &[u8; 16]| std::net::Ipv6Addr::from(*a).to_ipv4_mapped().map(u32::from);
        let (lo, hi) = (v4(&key.flow.lo.addr)?, v4(&key.flow.hi.addr)?);
        let proto = match key.proto {
            Proto::Tcp => 0,
            Proto::Udp => 1,
        };
        Some([
            u64::from(lo) << 32 | u64::from(hi),
            u64::from(key.flow.lo.port) << 32 | u64::from(key.flow.hi.port) << 16 | proto,
        ])
    }

    fn insert(&mut self, key: Key, r: Retired) {
        self.count += 1;
        let Some(k) = Self::pack(&key) else {
            self.other.insert(key, r);
            return;
        };
        self.v4.insert(k, r);
        if self.v4.len() >= self.spill_at {
            if let Some(store) = self.store.as_mut() {
                let mut out: Vec<([u64; 2], [u8; RECORD])> = self.v4.drain().map(|(k, r)| (k, r.to_bytes())).collect();
                out.sort_unstable_by_key(|(k, _)| *k);
                store.put(&out);
            }
        }
    }

    fn remove(&mut self, key: &Key) -> Option<Retired> {
        let r = match Self::pack(key) {
            Some(k) => self
                .v4
                .remove(&k)
                .or_else(|| self.store.as_mut().and_then(|s| s.take(&k)).map(|b| Retired::from_bytes(&b))),
            None => self.other.remove(key),
        };
        if r.is_some() {
            self.count -= 1;
        }
        r
    }

    fn len(&self) -> usize {
        self.count
    }

    fn clear(&mut self) {
        self.v4.clear();
        self.other.clear();
        if let Some(s) = self.store.as_mut() {
            s.clear();
        }
        self.count = 0;
    }
}

#[derive(Clone, Debug)]
struct Conn {
    /// Came back from a [`Retired`] record: who is A and who is the client are known.
    revived: bool,
    id: u32,
    stream: u32,
    proto: Proto,
    first_frame: u64,
    last_frame: u64,
    first_ts: u64,
    last_ts: u64,
    /// A (the first frame's sender) is the `lo` endpoint of the key.
    a_is_lo: bool,
    /// The client is the `lo` endpoint.
    client_is_lo: bool,
    lo: Side,
    hi: Side,
    hist: History,
    syn_ts: Option<u64>,
    synack_seen: bool,
    rtt_ns: Option<u64>,
    /// Wireshark's `ts_mru_syn` and `ts_first_rtt`, which set its out-of-order
    /// threshold: the latest SYN, and the time from it to the first pure ACK (either
    /// way; not `rtt_ns`, which waits for the client's ACK of a SYN-ACK).
    mru_syn_ts: Option<u64>,
    first_rtt: Option<u64>,
    first_closer: Option<bool>,
    close: Close,
    evicted: bool,
}

impl Conn {
    fn new(id: u32, stream: u32, proto: Proto, frame: u64, ts: u64, from_lo: bool) -> Conn {
        Conn {
            revived: false,
            id,
            stream,
            proto,
            first_frame: frame,
            last_frame: frame,
            first_ts: ts,
            last_ts: ts,
            a_is_lo: from_lo,
            client_is_lo: from_lo,
            lo: Side::default(),
            hi: Side::default(),
            hist: History::default(),
            syn_ts: None,
            synack_seen: false,
            mru_syn_ts: None,
            first_rtt: None,
            rtt_ns: None,
            first_closer: None,
            close: Close::Open,
            evicted: false,
        }
    }

    /// Both directions are done: RST, or both FINs sent and acknowledged.
    fn finished(&self) -> bool {
        self.lo.rst || self.hi.rst || (self.lo.fin_acked && self.hi.fin_acked)
    }

    fn summary(&self, key: &FlowKey) -> Summary {
        let (a, b) = if self.a_is_lo { (key.lo, key.hi) } else { (key.hi, key.lo) };
        let (sa, sb) = if self.a_is_lo { (&self.lo, &self.hi) } else { (&self.hi, &self.lo) };
        let tcp = (self.proto == Proto::Tcp).then(|| {
            let (c, s) = if self.client_is_lo { (&self.lo, &self.hi) } else { (&self.hi, &self.lo) };
            let closed_by =
                self.first_closer.map(|lo| if lo == self.client_is_lo { Role::Client } else { Role::Server });
            let (cs, ss) = (c.offer, s.offer);
            TcpSummary {
                conn_state: zeek::conn_state(c.zeek, s.zeek, c.payload, s.payload, &self.hist),
                history: self.hist,
                close: self.close,
                closed_by,
                rtt_ns: self.rtt_ns,
                client: cs,
                server: ss,
                sack: cs.sack && ss.sack,
                timestamps: cs.timestamps && ss.timestamps,
                ws: match (cs.ws, ss.ws) {
                    (Some(x), Some(y)) => Some((x.min(14), y.min(14))),
                    _ => None,
                },
                retransmissions: c.retransmissions + s.retransmissions,
                dup_acks: c.dup_acks + s.dup_acks,
                lost: c.lost + s.lost,
                client_state: c.state,
                server_state: s.state,
                evicted: self.evicted,
            }
        });
        Summary {
            id: self.id,
            proto: self.proto,
            stream: self.stream,
            a,
            b,
            frames_ab: sa.frames,
            bytes_ab: sa.bytes,
            frames_ba: sb.frames,
            bytes_ba: sb.bytes,
            payload_ab: sa.payload,
            payload_ba: sb.payload,
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            first_ns: self.first_ts,
            last_ns: self.last_ts,
            client_is_a: self.client_is_lo == self.a_is_lo,
            tcp,
        }
    }
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
}

/// One row per connection, in tshark's order: a revived connection's rows merged
/// into one ([`Summary::merge`]), then ordered by first counted frame.
pub fn order(mut v: Vec<Summary>) -> Vec<Summary> {
    v.sort_by_key(merge_key);
    v.dedup_by(|later, first| {
        if later.id != first.id {
            return false;
        }
        first.merge(later);
        true
    });
    v.sort_unstable_by_key(order_key);
    v
}

/// Rows of one connection sort together, its first life first.
pub fn merge_key(s: &Summary) -> (u32, u64) {
    (s.id, s.first_frame)
}

/// tshark orders its conversation table by first counted frame.
pub fn order_key(s: &Summary) -> (u64, u32) {
    (s.first_frame, s.id)
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
        match &i.what {
            What::Nothing => Seen::default(),
            What::Tcp(s) => self.tcp(i.number, i.ts, i.orig_len, s),
            What::Udp { key, from_lo, len } => self.udp(i.number, i.ts, i.orig_len, *len, *key, *from_lo),
        }
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

/// Decides who is the client, from the first segment seen (Zeek's originator).
fn roles(c: &mut Conn, from_lo: bool, flags: u16, sport: u16, dport: u16) {
    if c.lo.frames + c.hi.frames != 0 || c.revived {
        return;
    }
    let syn = flags & tcp::SYN != 0;
    let ack = flags & tcp::ACK != 0;
    // A SYN-ACK first: its receiver opened the connection. Joined mid-connection: a
    // segment from a well-known port to an ephemeral one comes from the server.
    let server_sent = if syn { ack } else { sport < 1024 && dport >= 1024 };
    c.client_is_lo = from_lo != server_sent;
    if server_sent {
        c.hist.flip();
    }
}

fn segment(c: &mut Conn, number: u64, ts: u64, orig_len: u32, s: &Seg, zeek: bool) -> Seen {
    let (seq, ack, flags, win, seglen, from_lo) = (s.seq, s.ack, s.flags, s.win, s.seglen, s.from_lo);
    let syn = flags & tcp::SYN != 0;
    let rst = flags & tcp::RST != 0;
    let has_ack = flags & tcp::ACK != 0;
    roles(c, from_lo, flags, s.sport, s.dport);
    let from_client = from_lo == c.client_is_lo;
    let (mine, theirs) = if from_lo { (&mut c.lo, &mut c.hi) } else { (&mut c.hi, &mut c.lo) };
    mine.frames += 1;
    mine.bytes += u64::from(orig_len);
    mine.payload += u64::from(seglen);

    let (rel_seq, rel_ack, win_shift) = relative(mine, theirs, s);
    let base = seq.wrapping_sub(rel_seq);

    if syn && !has_ack && mine.base == Some(seq) {
        // A SYN again with the same ISN (after a RST, say): Wireshark restores the next
        // number to the last continuous one, as a RST may have carried another.
        mine.nextseq = mine.maxseqtobeacked;
    }
    let a = analyze(mine, theirs, number, ts, SeqNum(seq), SeqNum(ack), flags, win, seglen, c.first_rtt);
    let mut a = a;
    a.seq = rel_seq;
    a.len = seglen;
    a.expected = a.expected.map(|e| e.wrapping_sub(base));
    if a.flags.contains(Flags::ACKED_UNSEEN) {
        let tb = theirs.base.unwrap_or(0);
        a.expected = Some(ack.wrapping_sub(tb));
        a.seen_up_to = theirs.nextseq.map_or(0, |n| n.0.wrapping_sub(tb));
    }
    if rst {
        a.flags.insert(Flags::RST);
    }
    if a.flags.is_retransmission() {
        mine.retransmissions += 1;
    }
    if a.flags.contains(Flags::DUP_ACK) {
        mine.dup_acks += 1;
    }
    if a.flags.contains(Flags::LOST_SEGMENT) {
        mine.lost += 1;
    }

    // Zeek's view: only the summaries show it.
    if zeek {
        zeek::update(mine, theirs, from_client, flags, seglen, win, rel_seq, &a.flags, s.bad, &mut c.hist);
    }

    // The handshake's round trip (Wireshark's initial RTT): first SYN to the ACK of
    // the SYN-ACK.
    if syn && !has_ack && from_client && c.syn_ts.is_none() {
        c.syn_ts = Some(ts);
    } else if syn && has_ack && !from_client {
        c.synack_seen = true;
    } else if !syn && has_ack && from_client && c.synack_seen && c.rtt_ns.is_none() {
        if let Some(s) = c.syn_ts {
            c.rtt_ns = Some(ts.saturating_sub(s));
        }
    }

    if syn && !has_ack {
        c.mru_syn_ts = Some(ts);
    } else if !syn && has_ack && c.first_rtt.is_none() {
        // A zero delta leaves it unset, as Wireshark's zero nstime does.
        c.first_rtt = c.mru_syn_ts.map(|s| ts.saturating_sub(s)).filter(|d| *d > 0);
    }

    let (sender_enters, receiver_enters) = transitions(c, from_lo, SeqNum(seq), SeqNum(ack), flags, seglen);

    let mine = if from_lo { &mut c.lo } else { &mut c.hi };
    mine.last_flags = a.flags;
    Seen {
        ctx: Context { rel_seq: Some(rel_seq), rel_ack, win_shift, stream: Some(c.stream), analysis: a },
        id: Some(c.id),
        proto: Some(Proto::Tcp),
        from_client,
        sender_enters,
        receiver_enters,
        counted: true,
    }
}

/// Relative numbers (RFC 9293 section 3.4.1: each side's numbers start at its ISN)
/// and the window shift in force, with the bookkeeping behind them.
fn relative(mine: &mut Side, theirs: &mut Side, s: &Seg) -> (u32, Option<u32>, Option<u8>) {
    let (seq, ack) = (s.seq, s.ack);
    let syn = s.flags & tcp::SYN != 0;
    let has_ack = s.flags & tcp::ACK != 0;
    if syn {
        if mine.base.is_none_or(|m| m != seq) {
            mine.base = Some(seq);
        }
        mine.saw_syn = true;
        let offer = s.offer;
        // RFC 7323 section 2.3: shifts above 14 are treated as 14.
        mine.scale = offer.ws.map_or(Scale::None, |s| Scale::Shift(s.min(14)));
        mine.offer = offer;
    } else if mine.base.is_none() {
        // Joined mid-connection: Wireshark numbers the first byte seen 1.
        mine.base = Some(seq.wrapping_sub(1));
    }
    if has_ack && theirs.base.is_none() {
        theirs.base = Some(ack.wrapping_sub(1));
    }
    // RFC 7323 section 2.2: windows in SYNs are never scaled, and scaling is on only
    // when both sides offered it.
    let win_shift = match (syn, mine.scale, theirs.scale) {
        (true, _, _) => Some(0),
        (false, Scale::Shift(s), Scale::Shift(_)) => Some(s),
        (false, Scale::None, _) | (false, _, Scale::None) => Some(0),
        _ => None,
    };
    let rel_seq = seq.wrapping_sub(mine.base.unwrap_or(seq));
    let rel_ack = if has_ack { theirs.base.map(|t| ack.wrapping_sub(t)) } else { None };
    (rel_seq, rel_ack, win_shift)
}

/// Wireshark's `tcp_analyze_sequence_number`, on raw numbers: the verdicts on one
/// segment, then the sender's bookkeeping. Where we differ from Wireshark, it says so.
#[allow(clippy::too_many_arguments)]
fn analyze(
    fwd: &mut Side,
    rev: &mut Side,
    number: u64,
    ts: u64,
    seq: SeqNum,
    ack: SeqNum,
    flags: u16,
    win: u16,
    seglen: u32,
    rtt: Option<u64>,
) -> Analysis {
    let syn = flags & tcp::SYN != 0;
    let fin = flags & tcp::FIN != 0;
    let rst = flags & tcp::RST != 0;
    let has_ack = flags & tcp::ACK != 0;
    let sfr = syn || fin || rst;
    let mut a = Analysis::default();
    let f = &mut a.flags;
    let same_acks = fwd.nextseq == Some(seq) && fwd.lastack == Some(ack);

    'fwd: {
        // ZERO WINDOW PROBE: one byte at the next expected number into a closed window.
        if seglen == 1 && fwd.nextseq == Some(seq) && rev.window == Some(0) {
            f.insert(Flags::ZERO_WINDOW_PROBE);
            break 'fwd;
        }
        if win == 0 && !sfr {
            f.insert(Flags::ZERO_WINDOW);
        }
        // LOST SEGMENT: beyond the next expected number, so something was not captured.
        if let Some(n) = fwd.nextseq {
            if seq.after(n) && !rst {
                f.insert(Flags::LOST_SEGMENT);
                a.expected = Some(n.0);
                a.ref_frame = fwd.nextseq_frame;
                a.ref_ago_ns = ts.saturating_sub(fwd.nextseq_ts);
            }
        }
        // KEEP-ALIVE: zero or one byte, one before the next expected number.
        if seglen <= 1 && !sfr && fwd.nextseq.is_some_and(|n| seq == n.minus(1)) {
            f.insert(Flags::KEEP_ALIVE);
            a.expected = fwd.nextseq.map(|n| n.0);
        }
        // WINDOW UPDATE: nothing new but the window.
        if seglen == 0 && win != 0 && fwd.window != Some(win) && fwd.window.is_some() && same_acks && !sfr {
            f.insert(Flags::WINDOW_UPDATE);
        }
        // WINDOW FULL: the data reaches the right edge of the receiver's window.
        if seglen > 0 && !sfr {
            if let (Some(la), Some(w), Some(shift)) = (rev.lastack, rev.window, rev_shift(rev, fwd)) {
                if seq.plus(seglen) == la.plus(u32::from(w) << shift) {
                    f.insert(Flags::WINDOW_FULL);
                }
            }
        }
        if seglen == 0
            && win != 0
            && fwd.window == Some(win)
            && same_acks
            && !sfr
            && rev.last_flags.contains(Flags::KEEP_ALIVE)
        {
            f.insert(Flags::KEEP_ALIVE_ACK);
            break 'fwd;
        }
        if seglen == 0
            && win == 0
            && fwd.window == Some(0)
            && fwd.nextseq == Some(seq)
            && fwd.lastack.is_some_and(|l| ack == l || ack == l.plus(1))
            && rev.last_flags.contains(Flags::ZERO_WINDOW_PROBE)
            && !sfr
        {
            f.insert(Flags::ZERO_WINDOW_PROBE_ACK);
            break 'fwd;
        }
        // DUPLICATE ACK: same ack, same window, no data, nothing else new.
        if seglen == 0 && win != 0 && fwd.window == Some(win) && same_acks && !sfr {
            fwd.dupacks = if fwd.dupacks < 0 { 1 } else { fwd.dupacks + 1 };
            f.insert(Flags::DUP_ACK);
            a.dup_ack_num = fwd.dupacks.unsigned_abs();
            a.ref_frame = fwd.lastnondupack;
            a.ref_ago_ns = ts.saturating_sub(fwd.lastack_ts);
        }
    }
    // Wireshark resets the run when the ACK number moves, not on every segment that
    // is not a duplicate: data with the same ACK keeps the count (fast retransmission
    // needs it).
    if fwd.lastack != Some(ack) {
        fwd.lastnondupack = number;
        fwd.dupacks = 0;
    }
    // ACKED UNSEEN: acknowledges more than the other side was seen to send, once
    // per gap (Wireshark 4.0.17): the limit moves to the other side's highest number,
    // and while that side sends nothing new, only the first such ACK is flagged (its
    // duplicate-ACK counter marks it, -1, until its ACK number moves).
    if has_ack {
        if let Some(m) = rev.maxseqtobeacked {
            if ack.after(m) {
                if rev.nextseq.is_some_and(|n| m.before(n)) {
                    rev.maxseqtobeacked = rev.nextseq;
                    f.insert(Flags::ACKED_UNSEEN);
                } else {
                    if rev.dupacks == 0 {
                        f.insert(Flags::ACKED_UNSEEN);
                    }
                    rev.dupacks = -1;
                }
            }
        }
    }
    // RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER / SPURIOUS.
    if (seglen > 0 || syn || fin) && !f.contains(Flags::KEEP_ALIVE) {
        let mut not_advanced = fwd.nextseq.is_some_and(|n| seq.before(n));
        // More than a byte from one before the next number: new data after a
        // zero-window probe, not a resend.
        if seglen > 1 && fwd.nextseq.is_some_and(|n| seq == n.minus(1)) {
            not_advanced = false;
        }
        'kind: {
            // Data the receiver already acknowledged: spurious, whatever else holds
            // (Wireshark 4.0 checks this first; a zero last ACK counts as none).
            if seglen > 0 && rev.lastack.is_some_and(|l| l.0 != 0 && !seq.plus(seglen).after(l)) {
                f.insert(Flags::SPURIOUS_RETRANSMISSION);
                break 'kind;
            }
            let since_dup = ts.saturating_sub(rev.lastack_ts);
            if not_advanced && rev.dupacks >= 2 && rev.lastack == Some(seq) && since_dup < 20_000_000 {
                f.insert(Flags::FAST_RETRANSMISSION);
                a.ref_frame = rev.lastack_frame;
                a.ref_ago_ns = since_dup;
                break 'kind;
            }
            let since_next = ts.saturating_sub(fwd.nextseq_ts);
            // Within one round trip of reaching the highest number, a lower one is more
            // likely reordered than resent (3 ms when the RTT is unknown).
            let ooo_thres = rtt.filter(|&r| r > 0).unwrap_or(3_000_000);
            let consumed = seglen + u32::from(syn || fin);
            if not_advanced && since_next < ooo_thres && fwd.nextseq != Some(seq.plus(consumed)) {
                f.insert(Flags::OUT_OF_ORDER);
                break 'kind;
            }
            if not_advanced {
                f.insert(Flags::RETRANSMISSION);
            }
        }
        if f.is_retransmission() || f.contains(Flags::OUT_OF_ORDER) {
            a.expected = fwd.nextseq.map(|n| n.0);
            if !f.contains(Flags::FAST_RETRANSMISSION) {
                a.ref_frame = fwd.nextseq_frame;
                a.ref_ago_ns = ts.saturating_sub(fwd.nextseq_ts);
            }
        }
    }

    // Bookkeeping.
    let next = seq.plus(seglen + u32::from(syn || fin));
    if (fwd.nextseq.is_none() || next.after(fwd.nextseq.unwrap_or(next))) && !f.contains(Flags::ZERO_WINDOW_PROBE) {
        // Wireshark keeps raw numbers and takes 0 for "none yet": a segment ending at
        // raw 0 (a RST with sequence 0) leaves the next number unknown.
        fwd.nextseq = Some(next).filter(|n| n.0 != 0);
        fwd.nextseq_frame = number;
        fwd.nextseq_ts = ts;
    }
    if (fwd.maxseqtobeacked.is_none() || fwd.maxseqtobeacked == Some(seq)) && !f.contains(Flags::ZERO_WINDOW_PROBE) {
        fwd.maxseqtobeacked = fwd.nextseq;
    }
    fwd.window = Some(win);
    if has_ack || fwd.lastack.is_none() {
        fwd.lastack = Some(ack);
    }
    fwd.lastack_ts = ts;
    fwd.lastack_frame = number;
    a
}

/// The shift of `rev`'s windows as seen by `fwd`, when known.
fn rev_shift(rev: &Side, fwd: &Side) -> Option<u8> {
    match (rev.scale, fwd.scale) {
        (Scale::Shift(s), Scale::Shift(_)) => Some(s),
        (Scale::None, _) | (_, Scale::None) => Some(0),
        _ => None,
    }
}

/// RFC 9293's state machine as an observer sees it: the states the sender and the
/// receiver of this segment enter (each only when it changes). An observer cannot tell
/// when a segment arrives, so sending and receiving happen at once here.
fn transitions(
    c: &mut Conn,
    from_lo: bool,
    seq: SeqNum,
    ack: SeqNum,
    flags: u16,
    seglen: u32,
) -> (Option<State>, Option<State>) {
    let syn = flags & tcp::SYN != 0;
    let fin = flags & tcp::FIN != 0;
    let rst = flags & tcp::RST != 0;
    let has_ack = flags & tcp::ACK != 0;
    let first = c.lo.frames + c.hi.frames == 1;
    let synack_seen = c.synack_seen;
    let (mine, theirs) = if from_lo { (&mut c.lo, &mut c.hi) } else { (&mut c.hi, &mut c.lo) };
    if first {
        // Where each side must have been for this segment to be the first one seen.
        if syn && has_ack {
            (mine.state, theirs.state) = (State::Listen, State::SynSent);
        } else if syn {
            (mine.state, theirs.state) = (State::Closed, State::Listen);
        } else {
            (mine.state, theirs.state) = (State::Established, State::Established);
        }
    }
    let (m0, t0) = (mine.state, theirs.state);
    if rst {
        // A RST to a SYN: nothing listened on the port (RFC 9293 section 3.10.7.1).
        let refused = !synack_seen && has_ack && t0 == State::SynSent;
        mine.state = State::Closed;
        theirs.state = State::Closed;
        if c.first_closer.is_none() {
            c.first_closer = Some(from_lo);
        }
        if matches!(c.close, Close::Open | Close::HalfClosed) {
            c.close = if refused { Close::Refused } else { Close::Reset };
        }
        mine.rst = true;
        return ((mine.state != m0).then_some(mine.state), (theirs.state != t0).then_some(theirs.state));
    }
    if syn && !has_ack {
        if matches!(mine.state, State::Closed | State::Listen) {
            mine.state = State::SynSent;
        }
        if theirs.state == State::SynSent {
            // Simultaneous open: a SYN reaches a side that sent its own.
            theirs.state = State::SynReceived;
        }
    } else if syn {
        if matches!(mine.state, State::Closed | State::Listen | State::SynSent) {
            mine.state = State::SynReceived;
        }
        if matches!(theirs.state, State::SynSent | State::SynReceived) {
            theirs.state = State::Established;
        }
    } else if has_ack {
        if theirs.state == State::SynReceived && theirs.saw_syn {
            theirs.state = State::Established;
        }
        if mine.state == State::SynReceived && !mine.saw_syn {
            mine.state = State::Established;
        }
    }
    // The ACK of the other side's FIN (it consumes one number: RFC 9293 section 3.4).
    let acks_their_fin = has_ack && theirs.fin.is_some_and(|f| !ack.before(f.plus(1)));
    if acks_their_fin && !theirs.fin_acked {
        theirs.fin_acked = true;
        theirs.state = match theirs.state {
            State::FinWait1 => State::FinWait2,
            State::Closing => State::TimeWait,
            State::LastAck => State::Closed,
            s => s,
        };
    }
    if fin {
        let fseq = seq.plus(seglen + u32::from(syn));
        let new_fin = mine.fin.is_none();
        if new_fin {
            mine.fin = Some(fseq);
            if c.first_closer.is_none() {
                c.first_closer = Some(from_lo);
            }
        }
        let simultaneous = new_fin && theirs.fin.is_some() && !acks_their_fin;
        mine.state = match mine.state {
            _ if simultaneous => State::Closing,
            State::Established | State::SynReceived | State::SynSent => State::FinWait1,
            State::CloseWait => State::LastAck,
            s => s,
        };
        if new_fin {
            theirs.state = match theirs.state {
                State::Established | State::SynReceived | State::SynSent => State::CloseWait,
                State::FinWait2 => State::TimeWait,
                State::FinWait1 => State::Closing,
                s => s,
            };
            if theirs.fin.is_some() && matches!(c.close, Close::Open | Close::HalfClosed) {
                c.close = if simultaneous {
                    Close::Simultaneous
                } else if t0 == State::FinWait1 {
                    // This FIN carried the ACK of the first one.
                    Close::ThreeWay
                } else {
                    Close::FourWay
                };
            } else if c.close == Close::Open {
                c.close = Close::HalfClosed;
            }
        }
    }
    ((mine.state != m0).then_some(mine.state), (theirs.state != t0).then_some(theirs.state))
}
