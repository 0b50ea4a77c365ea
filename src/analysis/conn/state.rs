//! The TCP state of one connection and what one segment does to it: relative
//! numbers, Wireshark's sequence analysis, RFC 9293's states, who is the client.

use super::input::Seg;
use super::zeek::{self, Endpoint as ZState, History};
use super::{Close, Offer, Proto, Seen};
use crate::analysis::seq::SeqNum;
use crate::decode::tcp_analysis::{Analysis, Flags};
use crate::decode::{tcp, Context};

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

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(super) enum Scale {
    /// No SYN seen: the factor is unknown.
    #[default]
    Unknown,
    /// SYN without the option: this side does not scale.
    None,
    Shift(u8),
}

/// One direction of a connection: what its sender has done.
#[derive(Clone, Debug, Default)]
pub(super) struct Side {
    pub(super) frames: u64,
    pub(super) bytes: u64,
    pub(super) payload: u64,
    /// Base for relative numbers (the ISN when the SYN was seen).
    pub(super) base: Option<u32>,
    pub(super) scale: Scale,
    pub(super) offer: Offer,
    pub(super) saw_syn: bool,
    // Wireshark's sequence analysis state (raw numbers).
    pub(super) nextseq: Option<SeqNum>,
    pub(super) nextseq_frame: u64,
    pub(super) nextseq_ts: u64,
    pub(super) maxseqtobeacked: Option<SeqNum>,
    pub(super) lastack: Option<SeqNum>,
    pub(super) lastack_ts: u64,
    pub(super) lastack_frame: u64,
    pub(super) window: Option<u16>,
    /// Wireshark's `dupacknum`: -1 after an ACKed-unseen verdict while nothing new was
    /// seen from this side (see `analyze`).
    pub(super) dupacks: i32,
    pub(super) lastnondupack: u64,
    pub(super) last_flags: Flags,
    /// Sequence number of this side's FIN (the number it consumes), and whether the
    /// other side acknowledged it.
    pub(super) fin: Option<SeqNum>,
    pub(super) fin_acked: bool,
    pub(super) rst: bool,
    pub(super) state: State,
    pub(super) zeek: ZState,
    pub(super) marks: zeek::Marks,
    pub(super) retransmissions: u64,
    pub(super) dup_acks: u64,
    pub(super) lost: u64,
}

#[derive(Clone, Debug)]
pub(super) struct Conn {
    /// Came back from a [`Retired`] record: who is A and who is the client are known.
    pub(super) revived: bool,
    pub(super) id: u32,
    pub(super) stream: u32,
    pub(super) proto: Proto,
    pub(super) first_frame: u64,
    pub(super) last_frame: u64,
    pub(super) first_ts: u64,
    pub(super) last_ts: u64,
    /// A (the first frame's sender) is the `lo` endpoint of the key.
    pub(super) a_is_lo: bool,
    /// The client is the `lo` endpoint.
    pub(super) client_is_lo: bool,
    pub(super) lo: Side,
    pub(super) hi: Side,
    pub(super) hist: History,
    pub(super) syn_ts: Option<u64>,
    pub(super) synack_seen: bool,
    pub(super) rtt_ns: Option<u64>,
    /// Wireshark's `ts_mru_syn` and `ts_first_rtt`, which set its out-of-order
    /// threshold: the latest SYN, and the time from it to the first pure ACK (either
    /// way; not `rtt_ns`, which waits for the client's ACK of a SYN-ACK).
    pub(super) mru_syn_ts: Option<u64>,
    pub(super) first_rtt: Option<u64>,
    pub(super) first_closer: Option<bool>,
    pub(super) close: Close,
    pub(super) evicted: bool,
}

impl Conn {
    pub(super) fn new(id: u32, stream: u32, proto: Proto, frame: u64, ts: u64, from_lo: bool) -> Conn {
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
    pub(super) fn finished(&self) -> bool {
        self.lo.rst || self.hi.rst || (self.lo.fin_acked && self.hi.fin_acked)
    }
}

/// Decides who is the client, from the first segment seen (Zeek's originator).
pub(super) fn roles(c: &mut Conn, from_lo: bool, flags: u16, sport: u16, dport: u16) {
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

pub(super) fn segment(c: &mut Conn, number: u64, ts: u64, orig_len: u32, s: &Seg, zeek: bool) -> Seen {
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
        ctx: Context {
            rel_seq: Some(rel_seq),
            rel_ack,
            win_shift,
            stream: Some(c.stream),
            analysis: a,
            ..Context::default()
        },
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
pub(super) fn relative(mine: &mut Side, theirs: &mut Side, s: &Seg) -> (u32, Option<u32>, Option<u8>) {
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
pub(super) fn analyze(
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
            a.dup_ack_num = u16::try_from(fwd.dupacks.unsigned_abs()).unwrap_or(u16::MAX);
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
pub(super) fn rev_shift(rev: &Side, fwd: &Side) -> Option<u8> {
    match (rev.scale, fwd.scale) {
        (Scale::Shift(s), Scale::Shift(_)) => Some(s),
        (Scale::None, _) | (_, Scale::None) => Some(0),
        _ => None,
    }
}

/// RFC 9293's state machine as an observer sees it: the states the sender and the
/// receiver of this segment enter (each only when it changes). An observer cannot tell
/// when a segment arrives, so sending and receiving happen at once here.
pub(super) fn transitions(
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
