//! Stream reassembly: the bytes of one direction of one TCP connection, in sequence
//! order, each byte handed out once.
//!
//! Sequence numbers are compared modulo 2^32 (RFC 9293 section 3.4): a segment's stream
//! offset is the next expected offset plus the signed 32-bit distance from the next
//! expected sequence number, so a stream may run past 4 GiB and its numbers may wrap.
//!
//! - In-order bytes are handed to the sink as slices of the segment's own payload: the
//!   in-order path copies and allocates nothing.
//! - Bytes already delivered that come again are a retransmission: counted, not
//!   delivered again. They cannot be compared (delivered bytes are not kept), so the
//!   event says `checked: false`.
//! - Out-of-order bytes are copied into a hold buffer until the gap before them fills.
//!   Bytes arriving again while held are compared with the held copy: the first copy
//!   wins, and different bytes are reported as a conflict (the overlap attacks of
//!   RFC 9293 section 3.10.7.4's "trimming" rule are decided by the receiver's OS; a
//!   capture can only show that the copies differed).
//! - The hold buffer is bounded per stream ([`Limits::per_direction`]) and across every
//!   stream sharing one [`Budget`]. When holding a segment would exceed either, the
//!   stream is cut: the first gap is declared missing, the held bytes after it are
//!   delivered, and reassembly goes on from there. Nothing received is ever dropped
//!   for lack of room, and nothing missing is ever silently joined.
//! - A gap still open at [`Stream::finish`] is reported as missing.
//!
//! No I/O and no clock: time comes in with each segment.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// What each held piece costs against the limits beyond its bytes: the map entry and
/// bookkeeping, so that a flood of 1-byte segments cannot hold more memory than the
/// limits say.
pub const PIECE_COST: usize = 64;

/// Bounds on the bytes held out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Held by one stream (one direction of one connection), in bytes plus
    /// [`PIECE_COST`] per held piece.
    pub per_direction: usize,
    /// Held by all streams together: the size of the [`Budget`] they share.
    pub total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { per_direction: 4 << 20, total: 64 << 20 }
    }
}

/// The hold-buffer room shared by every stream of a capture. The caller owns one and
/// lends it to each [`Stream::push`] and [`Stream::finish`]; a stream returns what it
/// took as it delivers held bytes, and everything at `finish`.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget { limit, used: 0 }
    }
    pub fn limit(&self) -> usize {
        self.limit
    }
    /// Bytes held now by all streams (with their per-piece cost).
    pub fn used(&self) -> usize {
        self.used
    }
    fn take(&mut self, n: usize) -> bool {
        match self.used.checked_add(n) {
            Some(u) if u <= self.limit => {
                self.used = u;
                true
            }
            _ => false,
        }
    }
    fn give(&mut self, n: usize) {
        debug_assert!(n <= self.used, "a stream returned more than it took");
        self.used -= n;
    }
}

/// One TCP segment of this direction, as the capture shows it.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Frame number in the capture (for the user: where to look).
    pub frame: u64,
    /// Capture timestamp, nanoseconds.
    pub ts: u64,
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub payload: &'a [u8],
}

/// Which bound cut a stream, and its size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Direction(usize),
    Total(usize),
}

/// Why bytes are missing from a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The gap was still open when the stream finished: the bytes were never sent
    /// again, or the capture did not see them.
    NeverFilled,
    /// The hold buffer reached a limit, so reassembly gave up waiting for them.
    Limit(Limit),
}

/// What reassembly reports, in stream order for `Data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// In-order bytes at `offset`, carried by `frame`, whose segment spans `segment`
    /// (stream offsets; `bytes` may be part of it when the rest was a retransmission
    /// or arrived in another piece).
    Data {
        offset: u64,
        bytes: &'a [u8],
        frame: u64,
        ts: u64,
        segment: Range<u64>,
        psh: bool,
    },
    /// Bytes seen before, not delivered again. `checked`: compared with the held copy
    /// and equal; unchecked when they had already been delivered (and not kept).
    Retransmission {
        frame: u64,
        offset: u64,
        len: u64,
        checked: bool,
    },
    /// Bytes seen before whose new copy differs from the held one: the first copy is kept.
    Conflict {
        frame: u64,
        offset: u64,
        len: u64,
    },
    /// Bytes ahead of a gap, held until it fills.
    OutOfOrder {
        frame: u64,
        offset: u64,
        len: u64,
    },
    /// Bytes at the start of a gap arrived: held bytes follow as `Data`.
    GapFilled {
        frame: u64,
        offset: u64,
        len: u64,
    },
    /// `len` bytes at `offset` are missing from the stream; the next `Data` starts after them.
    Missing {
        offset: u64,
        len: u64,
        cause: Cause,
    },
    Fin {
        frame: u64,
        offset: u64,
    },
    Rst {
        frame: u64,
        offset: u64,
    },
}

/// Where reassembly sends its events. Closures taking an [`Event`] are sinks.
pub trait Sink {
    fn event(&mut self, e: Event<'_>);
}

impl<F: FnMut(Event<'_>)> Sink for F {
    fn event(&mut self, e: Event<'_>) {
        self(e)
    }
}

/// Running totals of one stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Bytes delivered in order.
    pub delivered: u64,
    /// Retransmission events and their bytes.
    pub retransmissions: u64,
    pub retransmitted: u64,
    /// Conflict events and their bytes.
    pub conflicts: u64,
    pub conflicting: u64,
    /// Pieces held out of order.
    pub out_of_order: u64,
    pub gaps_filled: u64,
    /// Missing bytes, and how many times a limit cut the stream.
    pub missing: u64,
    pub cuts: u64,
    /// Most bytes (with per-piece cost) held at once.
    pub max_held: usize,
}

struct Piece {
    frame: u64,
    ts: u64,
    psh: bool,
    segment: Range<u64>,
    bytes: Vec<u8>,
}

/// One direction of one connection.
pub struct Stream {
    per_direction: usize,
    /// The sequence number of stream offset 0, once known.
    base: Option<u32>,
    /// The next offset to deliver: every byte before it was delivered or reported missing.
    next: u64,
    /// Non-overlapping pieces, all starting after `next`, keyed by offset.
    held: BTreeMap<u64, Piece>,
    held_cost: usize,
    fin: Option<u64>,
    /// A FIN that came while bytes before it were still missing: (frame, offset),
    /// reported once the stream reaches it, so events stay in stream order.
    fin_due: Option<(u64, u64)>,
    /// Scratch for the parts of a segment not seen before (kept to avoid reallocating).
    parts: Vec<Range<u64>>,
    counters: Counters,
}

impl Stream {
    pub fn new(limits: Limits) -> Self {
        Stream {
            per_direction: limits.per_direction,
            base: None,
            next: 0,
            held: BTreeMap::new(),
            held_cost: 0,
            fin: None,
            fin_due: None,
            parts: Vec::new(),
            counters: Counters::default(),
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }
    /// The next offset to deliver.
    pub fn next_offset(&self) -> u64 {
        self.next
    }
    /// Bytes held out of order now (with per-piece cost).
    pub fn held(&self) -> usize {
        self.held_cost
    }
    /// The sequence number of offset 0 (the ISN + 1 after a SYN), once a segment came.
    pub fn base(&self) -> Option<u32> {
        self.base
    }

    /// Signed stream offset of a sequence number: the distance from the next expected
    /// sequence number, taken as a signed 32-bit number.
    fn offset_of(&self, base: u32, seq: u32) -> i64 {
        let next_seq = base.wrapping_add(self.next as u32);
        self.next as i64 + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    pub fn push(&mut self, seg: &Segment<'_>, budget: &mut Budget, sink: &mut impl Sink) {
        // The SYN takes one sequence number: data starts after it (RFC 9293 section 3.4).
        let data_seq = if seg.syn { seg.seq.wrapping_add(1) } else { seg.seq };
        // The first segment fixes offset 0: after a SYN, ISN + 1; without one (the
        // capture started mid-connection), the first byte seen.
        // A SYN with another ISN before any byte arrived (the peer gave up on its first
        // SYN-ACK and sent a new one): offsets count from the new ISN, as in tshark.
        if seg.syn && self.next == 0 && self.held.is_empty() && self.base.is_some_and(|b| b != data_seq) {
            self.base = Some(data_seq);
        }
        let base = *self.base.get_or_insert(data_seq);
        let start = self.offset_of(base, data_seq);
        let end = start + seg.payload.len() as i64;
        let range = start.max(0) as u64..end.max(0) as u64;
        if !seg.payload.is_empty() {
            self.data(seg, start, range.clone(), budget, sink);
        }
        if seg.fin {
            let at = range.end;
            self.fin.get_or_insert(at);
            if at <= self.next {
                sink.event(Event::Fin { frame: seg.frame, offset: at });
            } else {
                // Copies of it sent again while the gap is open say nothing new.
                self.fin_due.get_or_insert((seg.frame, at));
            }
        }
        self.report_fin(sink);
        if seg.rst {
            sink.event(Event::Rst { frame: seg.frame, offset: range.start });
        }
    }

    fn data(&mut self, seg: &Segment<'_>, start: i64, range: Range<u64>, budget: &mut Budget, sink: &mut impl Sink) {
        let payload = seg.payload;
        // Bytes before offset 0 were sent before the first segment this stream saw.
        let before = (-start).clamp(0, payload.len() as i64) as usize;
        let (o, payload) = (range.start, &payload[before..]);
        let end = range.end;
        let mut cur = o;
        if before > 0 {
            self.retransmission(seg.frame, 0, before as u64, false, sink);
        }
        if cur < self.next && cur < end {
            let stop = self.next.min(end);
            self.retransmission(seg.frame, cur, stop - cur, false, sink);
            cur = stop;
        }
        // Split the rest into parts already held (compared, first copy wins) and parts
        // not seen before (placed below).
        self.parts.clear();
        while cur < end {
            let covering =
                self.held.range(..=cur).next_back().filter(|(s, p)| *s + p.bytes.len() as u64 > cur).map(|(s, p)| {
                    let stop = end.min(s + p.bytes.len() as u64);
                    let held = &p.bytes[(cur - s) as usize..(stop - s) as usize];
                    (stop, held == &payload[(cur - o) as usize..(stop - o) as usize])
                });
            match covering {
                Some((stop, same)) => {
                    if same {
                        self.retransmission(seg.frame, cur, stop - cur, true, sink);
                    } else {
                        self.counters.conflicts += 1;
                        self.counters.conflicting += stop - cur;
                        sink.event(Event::Conflict { frame: seg.frame, offset: cur, len: stop - cur });
                    }
                    cur = stop;
                }
                None => {
                    let stop = self.held.range(cur..end).next().map_or(end, |(s, _)| *s);
                    self.parts.push(cur..stop);
                    cur = stop;
                }
            }
        }
        let parts = std::mem::take(&mut self.parts);
        for r in &parts {
            let bytes = &payload[(r.start - o) as usize..(r.end - o) as usize];
            self.place(seg, r.start, bytes, &range, budget, sink);
        }
        self.parts = parts;
    }

    fn retransmission(&mut self, frame: u64, offset: u64, len: u64, checked: bool, sink: &mut impl Sink) {
        self.counters.retransmissions += 1;
        self.counters.retransmitted += len;
        sink.event(Event::Retransmission { frame, offset, len, checked });
    }

    /// Places bytes not seen before at `at >= next`: delivers them if they are next,
    /// holds them otherwise, cutting the stream when the hold buffer is full.
    fn place(
        &mut self,
        seg: &Segment<'_>,
        at: u64,
        bytes: &[u8],
        segment: &Range<u64>,
        budget: &mut Budget,
        sink: &mut impl Sink,
    ) {
        let len = bytes.len() as u64;
        loop {
            debug_assert!(at >= self.next);
            if at == self.next {
                if !self.held.is_empty() {
                    self.counters.gaps_filled += 1;
                    sink.event(Event::GapFilled { frame: seg.frame, offset: at, len });
                }
                self.counters.delivered += len;
                sink.event(Event::Data {
                    offset: at,
                    bytes,
                    frame: seg.frame,
                    ts: seg.ts,
                    segment: segment.clone(),
                    psh: seg.psh,
                });
                self.next += len;
                self.flush(budget, sink);
                return;
            }
            let cost = bytes.len() + PIECE_COST;
            let over = if self.held_cost + cost > self.per_direction {
                Some(Limit::Direction(self.per_direction))
            } else if !budget.take(cost) {
                Some(Limit::Total(budget.limit()))
            } else {
                None
            };
            let Some(limit) = over else {
                let piece = Piece {
                    frame: seg.frame,
                    ts: seg.ts,
                    psh: seg.psh,
                    segment: segment.clone(),
                    bytes: bytes.to_vec(),
                };
                self.held.insert(at, piece);
                self.held_cost += cost;
                self.counters.max_held = self.counters.max_held.max(self.held_cost);
                self.counters.out_of_order += 1;
                sink.event(Event::OutOfOrder { frame: seg.frame, offset: at, len });
                return;
            };
            // Give up on the first gap: up to the first held piece if it comes before
            // these bytes, else up to these bytes (which then go out in order).
            let to = self.held.keys().next().copied().filter(|&s| s < at).unwrap_or(at);
            self.missing(to, Cause::Limit(limit), sink);
            self.flush(budget, sink);
        }
    }

    /// Declares `[next, to)` missing and moves on to `to`.
    fn missing(&mut self, to: u64, cause: Cause, sink: &mut impl Sink) {
        let len = to - self.next;
        self.counters.missing += len;
        if matches!(cause, Cause::Limit(_)) {
            self.counters.cuts += 1;
        }
        sink.event(Event::Missing { offset: self.next, len, cause });
        self.next = to;
    }

    /// Delivers the held pieces that now follow on.
    fn flush(&mut self, budget: &mut Budget, sink: &mut impl Sink) {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() != self.next {
                debug_assert!(*entry.key() > self.next);
                break;
            }
            let p = entry.remove();
            let cost = p.bytes.len() + PIECE_COST;
            self.held_cost -= cost;
            budget.give(cost);
            let len = p.bytes.len() as u64;
            self.counters.delivered += len;
            sink.event(Event::Data {
                offset: self.next,
                bytes: &p.bytes,
                frame: p.frame,
                ts: p.ts,
                segment: p.segment,
                psh: p.psh,
            });
            self.next += len;
        }
    }

    /// The stream ended (FIN, RST, end of capture, or the connection was evicted):
    /// gaps still open are reported missing, held bytes after them delivered, and
    /// the hold buffer's room given back to `budget`.
    pub fn finish(&mut self, budget: &mut Budget, sink: &mut impl Sink) {
        while let Some(&s) = self.held.keys().next() {
            self.missing(s, Cause::NeverFilled, sink);
            self.flush(budget, sink);
        }
        if let Some(f) = self.fin.filter(|&f| f > self.next) {
            self.missing(f, Cause::NeverFilled, sink);
        }
        self.report_fin(sink);
        debug_assert_eq!(self.held_cost, 0);
    }

    /// Reports a FIN held back (see `fin_due`) once every byte before it is accounted for.
    fn report_fin(&mut self, sink: &mut impl Sink) {
        if let Some((frame, offset)) = self.fin_due.filter(|&(_, at)| at <= self.next) {
            self.fin_due = None;
            sink.event(Event::Fin { frame, offset });
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Direction(n) => write!(f, "the per-direction limit of {n} bytes"),
            Limit::Total(n) => write!(f, "the total limit of {n} bytes for all connections"),
        }
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Data { offset, bytes, frame, .. } => {
                write!(f, "{} bytes at offset {offset} from frame {frame}", bytes.len())
            }
            Event::Retransmission { frame, offset, len, checked } => {
                write!(f, "frame {frame}: {len} bytes at offset {offset} retransmitted")?;
                if *checked {
                    write!(f, " (same bytes)")
                } else {
                    Ok(())
                }
            }
            Event::Conflict { frame, offset, len } => write!(
                f,
                "frame {frame}: {len} bytes at offset {offset} differ from the copy received first (first copy kept)"
            ),
            Event::OutOfOrder { frame, offset, len } => {
                write!(f, "frame {frame}: {len} bytes at offset {offset} out of order, held until the gap fills")
            }
            Event::GapFilled { frame, offset, len } => {
                write!(f, "frame {frame}: {len} bytes at offset {offset} fill the gap")
            }
            Event::Missing { offset, len, cause: Cause::NeverFilled } => {
                write!(f, "{len} byte{} missing at offset {offset}", if *len == 1 { "" } else { "s" })
            }
            Event::Missing { offset, len, cause: Cause::Limit(l) } => write!(
                f,
                "stream cut: {len} byte{} missing at offset {offset}, skipped because the bytes held out of order reached {l}",
                if *len == 1 { "" } else { "s" }
            ),
            Event::Fin { frame, offset } => write!(f, "frame {frame}: FIN at offset {offset}"),
            Event::Rst { frame, offset } => write!(f, "frame {frame}: RST at offset {offset}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test saw: the delivered bytes (checked to come in order, each once)
    /// and every other event.
    #[derive(Default)]
    struct Got {
        stream: Vec<u8>,
        /// (offset, len, frame, segment) of each `Data`.
        data: Vec<(u64, usize, u64, Range<u64>)>,
        other: Vec<Event<'static>>,
    }

    impl Got {
        fn sink(&mut self) -> impl FnMut(Event<'_>) + '_ {
            |e| match e {
                Event::Data { offset, bytes, frame, segment, .. } => {
                    let covered = self.stream.len() as u64
                        + self
                            .other
                            .iter()
                            .map(|e| match e {
                                Event::Missing { len, .. } => *len,
                                _ => 0,
                            })
                            .sum::<u64>();
                    assert_eq!(offset, covered, "data in order, no byte twice, gaps declared");
                    self.stream.extend_from_slice(bytes);
                    self.data.push((offset, bytes.len(), frame, segment));
                }
                Event::Retransmission { frame, offset, len, checked } => {
                    self.other.push(Event::Retransmission { frame, offset, len, checked })
                }
                Event::Conflict { frame, offset, len } => self.other.push(Event::Conflict { frame, offset, len }),
                Event::OutOfOrder { frame, offset, len } => self.other.push(Event::OutOfOrder { frame, offset, len }),
                Event::GapFilled { frame, offset, len } => self.other.push(Event::GapFilled { frame, offset, len }),
                Event::Missing { offset, len, cause } => self.other.push(Event::Missing { offset, len, cause }),
                Event::Fin { frame, offset } => self.other.push(Event::Fin { frame, offset }),
                Event::Rst { frame, offset } => self.other.push(Event::Rst { frame, offset }),
            }
        }
    }

    fn seg(frame: u64, seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment { frame, ts: frame * 1000, seq, syn: false, fin: false, rst: false, psh: true, payload }
    }
    fn syn(frame: u64, seq: u32) -> Segment<'static> {
        Segment { syn: true, psh: false, ..seg(frame, seq, &[]) }
    }

    /// Feeds the segments to a fresh stream with these limits, then finishes it.
    fn run(limits: Limits, segs: &[Segment<'_>]) -> Got {
        let mut budget = Budget::new(limits.total);
        let mut s = Stream::new(limits);
        let mut got = Got::default();
        for x in segs {
            s.push(x, &mut budget, &mut got.sink());
        }
        s.finish(&mut budget, &mut got.sink());
        assert_eq!(budget.used(), 0, "finish gives everything back");
        got
    }

    fn established() -> Vec<Segment<'static>> {
        vec![syn(1, 999)]
    }

    mod in_order {
        use super::*;

        #[test]
        fn the_syn_fixes_offset_zero_at_isn_plus_one() {
            let mut segs = established();
            segs.push(seg(3, 1000, b"hello"));
            segs.push(seg(5, 1005, b" world"));
            segs.push(Segment { fin: true, ..seg(7, 1011, b"") });
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"hello world");
            assert_eq!(g.data, vec![(0, 5, 3, 0..5), (5, 6, 5, 5..11)]);
            assert_eq!(g.other, vec![Event::Fin { frame: 7, offset: 11 }]);
        }

        #[test]
        fn a_new_isn_before_any_data_rebases_the_stream() {
            // Three SYN-ACKs, the last with another ISN; the data follows that one.
            let segs = [syn(1, 5000), syn(2, 5000), syn(3, 9_000_000), seg(4, 9_000_001, b"abc")];
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abc");
            assert_eq!(g.data[0].0, 0);
            // Once bytes arrived, a stray SYN changes nothing.
            let segs = [syn(1, 5000), seg(2, 5001, b"abc"), syn(3, 7000), seg(4, 5004, b"def")];
            assert_eq!(run(Limits::default(), &segs).stream, b"abcdef");
        }

        #[test]
        fn without_a_syn_the_first_byte_seen_is_offset_zero() {
            let g = run(Limits::default(), &[seg(40, 77_000, b"abc"), seg(41, 77_003, b"def")]);
            assert_eq!(g.stream, b"abcdef");
            assert_eq!(g.data[1].0, 3);
        }

        #[test]
        fn sequence_numbers_wrap_past_2_pow_32() {
            // ISN 2^32 - 3: offset 0 is 2^32 - 2, and the data runs across zero.
            let mut segs = vec![syn(1, u32::MAX - 2)];
            segs.push(seg(2, u32::MAX - 1, b"abcd")); // offsets 0..4: seq 2^32-2 .. 1
            segs.push(seg(4, 6, b"ij")); // offsets 8..10, ahead of a gap
            segs.push(seg(3, 2, b"efgh")); // offsets 4..8, after the wrap
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdefghij");
            assert_eq!(g.data.iter().map(|d| d.0).collect::<Vec<_>>(), vec![0, 4, 8]);
            assert_eq!(
                g.other,
                vec![
                    Event::OutOfOrder { frame: 4, offset: 8, len: 2 },
                    Event::GapFilled { frame: 3, offset: 4, len: 4 }
                ]
            );
        }

        #[test]
        fn a_syn_with_data_starts_at_offset_zero() {
            let g = run(Limits::default(), &[Segment { syn: true, ..seg(1, 10, b"fast open") }]);
            assert_eq!(g.stream, b"fast open");
            assert_eq!(g.data[0].0, 0);
        }

        #[test]
        fn rst_is_reported_where_it_sits() {
            let g = run(Limits::default(), &[seg(1, 10, b"ab"), Segment { rst: true, ..seg(2, 12, b"") }]);
            assert_eq!(g.other, vec![Event::Rst { frame: 2, offset: 2 }]);
        }
    }

    mod retransmission {
        use super::*;

        #[test]
        fn a_repeated_segment_is_counted_not_delivered() {
            let mut segs = established();
            segs.extend([seg(2, 1000, b"hello"), seg(3, 1000, b"hello"), seg(4, 1005, b"!")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"hello!");
            assert_eq!(g.other, vec![Event::Retransmission { frame: 3, offset: 0, len: 5, checked: false }]);
        }

        #[test]
        fn a_partial_overlap_delivers_only_the_new_bytes() {
            let mut segs = established();
            segs.extend([seg(2, 1000, b"abcd"), seg(3, 1002, b"cdef")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdef");
            assert_eq!(g.data, vec![(0, 4, 2, 0..4), (4, 2, 3, 2..6)]);
            assert_eq!(g.other, vec![Event::Retransmission { frame: 3, offset: 2, len: 2, checked: false }]);
        }

        #[test]
        fn held_bytes_sent_again_are_compared() {
            let mut segs = established();
            segs.extend([seg(2, 1004, b"efgh"), seg(3, 1004, b"efgh"), seg(4, 1000, b"abcd")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdefgh");
            assert_eq!(
                g.other,
                vec![
                    Event::OutOfOrder { frame: 2, offset: 4, len: 4 },
                    Event::Retransmission { frame: 3, offset: 4, len: 4, checked: true },
                    Event::GapFilled { frame: 4, offset: 0, len: 4 },
                ]
            );
        }

        #[test]
        fn conflicting_overlap_is_flagged_and_the_first_copy_wins() {
            let mut segs = established();
            // Held "efgh" at 4..8; then "XXXXYY" at 4..10 differs on 4..8 and adds 8..10.
            segs.extend([seg(2, 1004, b"efgh"), seg(3, 1004, b"XXXXij"), seg(4, 1000, b"abcd")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdefghij");
            assert_eq!(
                g.other,
                vec![
                    Event::OutOfOrder { frame: 2, offset: 4, len: 4 },
                    Event::Conflict { frame: 3, offset: 4, len: 4 },
                    Event::OutOfOrder { frame: 3, offset: 8, len: 2 },
                    Event::GapFilled { frame: 4, offset: 0, len: 4 },
                ]
            );
            // Each piece keeps its own frame and its segment's whole range.
            assert_eq!(g.data, vec![(0, 4, 4, 0..4), (4, 4, 2, 4..8), (8, 2, 3, 4..10)]);
        }

        #[test]
        fn a_segment_filling_a_gap_and_running_past_held_bytes() {
            let mut segs = established();
            // Held 4..6; then 2..10 arrives after 0..2: parts 2..4 and 6..10 are new.
            segs.extend([seg(2, 1000, b"ab"), seg(3, 1004, b"ef"), seg(4, 1002, b"cdefghij")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdefghij");
            assert_eq!(g.data, vec![(0, 2, 2, 0..2), (2, 2, 4, 2..10), (4, 2, 3, 4..6), (6, 4, 4, 2..10)]);
        }

        #[test]
        fn bytes_from_before_the_first_segment_seen_are_retransmissions() {
            let g = run(Limits::default(), &[seg(1, 100, b"cd"), seg(2, 98, b"abcde")]);
            assert_eq!(g.stream, b"cde");
            assert_eq!(
                g.other,
                vec![
                    Event::Retransmission { frame: 2, offset: 0, len: 2, checked: false },
                    Event::Retransmission { frame: 2, offset: 0, len: 2, checked: false },
                ]
            );
        }
    }

    #[test]
    fn a_segment_wholly_before_the_first_one_seen() {
        let g = run(Limits::default(), &[seg(1, 100, b"cd"), seg(2, 90, b"ab")]);
        assert_eq!(g.stream, b"cd");
        assert_eq!(g.other, vec![Event::Retransmission { frame: 2, offset: 0, len: 2, checked: false }]);
    }

    mod out_of_order {
        use super::*;

        #[test]
        fn held_until_the_gap_fills_then_delivered_in_order() {
            let mut segs = established();
            segs.extend([seg(2, 1008, b"ijkl"), seg(3, 1004, b"efgh"), seg(4, 1000, b"abcd")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdefghijkl");
            assert_eq!(g.data.iter().map(|d| d.2).collect::<Vec<_>>(), vec![4, 3, 2]);
            assert_eq!(g.other.last(), Some(&Event::GapFilled { frame: 4, offset: 0, len: 4 }));
        }

        #[test]
        fn a_gap_never_filled_is_reported_at_finish_never_joined() {
            let mut segs = established();
            segs.extend([seg(2, 1000, b"abcd"), seg(3, 1008, b"ijkl")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdijkl");
            assert_eq!(g.data[1].0, 8, "the held bytes keep their offset");
            assert_eq!(g.other[1], Event::Missing { offset: 4, len: 4, cause: Cause::NeverFilled }, "{}", g.other[1]);
            assert_eq!(g.other[1].to_string(), "4 bytes missing at offset 4");
        }

        #[test]
        fn bytes_missing_before_the_fin() {
            let mut segs = established();
            segs.extend([seg(2, 1000, b"ab"), Segment { fin: true, ..seg(3, 1005, b"f") }]);
            let g = run(Limits::default(), &segs);
            // The FIN is reported where it is in the stream: after the gap and the byte it carried.
            let n = g.other.len();
            assert_eq!(g.other[n - 2], Event::Missing { offset: 2, len: 3, cause: Cause::NeverFilled });
            assert_eq!(g.other[n - 1], Event::Fin { frame: 3, offset: 6 });
            assert!(g.other[..n - 2].iter().all(|e| !matches!(e, Event::Fin { .. })), "{:?}", g.other);
        }

        #[test]
        fn a_fin_behind_a_gap_is_reported_once_the_gap_fills() {
            let mut segs = established();
            let fin = Segment { fin: true, ..seg(3, 1004, b"ef") };
            segs.extend([seg(2, 1000, b"ab"), fin, fin, seg(5, 1002, b"cd")]);
            let g = run(Limits::default(), &segs);
            assert_eq!(g.stream, b"abcdef");
            let fins: Vec<&Event> = g.other.iter().filter(|e| matches!(e, Event::Fin { .. })).collect();
            assert_eq!(fins, [&Event::Fin { frame: 3, offset: 6 }]);
        }
    }

    mod limits {
        use super::*;

        #[test]
        fn a_full_hold_buffer_cuts_the_stream_at_the_first_gap() {
            let limits = Limits { per_direction: 2 * (4 + PIECE_COST), total: 1 << 20 };
            let mut segs = established();
            // 4..8 never comes; three pieces after it cannot all be held.
            segs.extend([seg(2, 1000, b"abcd"), seg(3, 1008, b"ijkl"), seg(4, 1012, b"mnop"), seg(5, 1016, b"qrst")]);
            let g = run(limits, &segs);
            assert_eq!(g.stream, b"abcdijklmnopqrst");
            let cut = Event::Missing { offset: 4, len: 4, cause: Cause::Limit(Limit::Direction(limits.per_direction)) };
            assert_eq!(g.other[2], cut);
            assert!(g.other[2].to_string().starts_with("stream cut: 4 bytes missing at offset 4"), "{}", g.other[2]);
            // After the cut the third piece was next, so it went out without being held.
            assert_eq!(g.data.last(), Some(&(16, 4, 5, 16..20)));
        }

        #[test]
        fn a_segment_bigger_than_the_limit_goes_out_after_the_gap_is_given_up() {
            let limits = Limits { per_direction: 10, total: 1 << 20 };
            let mut segs = established();
            segs.extend([seg(2, 1000, b"ab"), seg(3, 1004, b"efgh")]);
            let g = run(limits, &segs);
            assert_eq!(g.stream, b"abefgh");
            assert_eq!(g.other, vec![Event::Missing { offset: 2, len: 2, cause: Cause::Limit(Limit::Direction(10)) }]);
        }

        #[test]
        fn the_total_budget_is_shared_by_every_stream() {
            let limits = Limits { per_direction: 1 << 20, total: 100 };
            let mut budget = Budget::new(limits.total);
            let (mut a, mut b) = (Stream::new(limits), Stream::new(limits));
            let (mut ga, mut gb) = (Got::default(), Got::default());
            a.push(&seg(1, 0, b"a"), &mut budget, &mut ga.sink());
            a.push(&seg(2, 10, b"0123456789"), &mut budget, &mut ga.sink());
            assert_eq!(budget.used(), 10 + PIECE_COST);
            assert_eq!(a.held(), budget.used());
            b.push(&seg(3, 0, b"b"), &mut budget, &mut gb.sink());
            b.push(&seg(4, 10, b"0123456789"), &mut budget, &mut gb.sink());
            // b could not hold its piece: its gap is given up, a's is still open.
            assert_eq!(gb.other, vec![Event::Missing { offset: 1, len: 9, cause: Cause::Limit(Limit::Total(100)) }]);
            assert_eq!(gb.stream, b"b0123456789");
            assert_eq!(b.counters().cuts, 1);
            a.push(&seg(5, 1, b"bcdefghij"), &mut budget, &mut ga.sink());
            assert_eq!(ga.stream, b"abcdefghij0123456789");
            assert_eq!(budget.used(), 0);
        }

        #[test]
        fn one_byte_pieces_pay_their_bookkeeping() {
            let limits = Limits { per_direction: 10 * (1 + PIECE_COST), total: 1 << 20 };
            let payload = [b'x'];
            let mut segs = vec![seg(1, 0, b"a")];
            // Every other byte: 100 one-byte pieces, each behind its own gap.
            for i in 0..100u32 {
                segs.push(seg(2 + u64::from(i), 2 + 2 * i, &payload));
            }
            let mut budget = Budget::new(limits.total);
            let mut s = Stream::new(limits);
            let mut g = Got::default();
            for x in &segs {
                s.push(x, &mut budget, &mut g.sink());
                assert!(s.held() <= limits.per_direction);
            }
            assert_eq!(s.counters().max_held, limits.per_direction);
            s.finish(&mut budget, &mut g.sink());
            assert_eq!(g.stream.len(), 101);
            assert_eq!(s.counters().missing, 100);
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// However a stream is cut into segments, reordered and repeated, and
            /// whatever the limits, every delivered byte sits at its true offset, and
            /// delivered plus missing bytes cover the stream exactly once. With room
            /// enough, nothing is missing.
            #[test]
            fn any_order_any_limit(
                len in 1usize..400,
                cuts in proptest::collection::vec(0usize..400, 0..30),
                order in proptest::collection::vec(0usize..1000, 0..60),
                per_direction in prop_oneof![Just(1usize << 20), 0usize..600],
                isn in any::<u32>(),
            ) {
                let stream: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
                let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % len).chain([0, len]).collect();
                bounds.sort_unstable();
                bounds.dedup();
                let pieces: Vec<Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();
                // Each piece once, in a shuffled order, plus some repeated.
                let mut sent: Vec<usize> = (0..pieces.len()).collect();
                for (i, o) in order.iter().enumerate() {
                    if i < sent.len() {
                        let j = o % sent.len();
                        sent.swap(i, j);
                    } else {
                        sent.push(o % pieces.len());
                    }
                }
                let mut segs = vec![syn(0, isn)];
                for (f, &k) in sent.iter().enumerate() {
                    let r = pieces[k].clone();
                    segs.push(seg(f as u64 + 1, isn.wrapping_add(1 + r.start as u32), &stream[r]));
                }
                let g = run(Limits { per_direction, total: 1 << 20 }, &segs);
                let mut covered = vec![0u8; len];
                for (off, n, _, _) in &g.data {
                    covered[*off as usize..*off as usize + n].iter_mut().for_each(|c| *c += 1);
                }
                let mut at = 0;
                for (off, n, _, _) in &g.data {
                    prop_assert_eq!(&g.stream[at..at + n], &stream[*off as usize..*off as usize + n]);
                    at += n;
                }
                for e in &g.other {
                    if let Event::Missing { offset, len: n, .. } = e {
                        covered[*offset as usize..(*offset + *n) as usize].iter_mut().for_each(|c| *c += 1);
                    }
                }
                prop_assert!(covered.iter().all(|&c| c == 1));
                if per_direction == 1 << 20 {
                    prop_assert_eq!(&g.stream, &stream);
                }
            }
        }
    }
}
