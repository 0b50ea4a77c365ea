//! The sticky-packet view of one stream: the segments that carried its bytes, the
//! messages its framing finds in them, and where the two disagree (a segment carrying
//! several messages, a message spread over several segments, a header cut in two).
//!
//! [`Model`] is a reassembly [`Sink`]: it records each segment's delivered range, feeds
//! the bytes to a [`Framer`], and records each message. It keeps a small record per
//! segment and per message, never payload bytes beyond the framer's previews. Both
//! lists use the same stream offsets, so a renderer can draw them as two aligned
//! tracks (segments above, messages below) with [`columns`].
//!
//! Memory is bounded: once more than [`WINDOW`] segments are held, the ones no message
//! still in progress can touch are settled (their notes written, counted in the
//! totals) and let go, keeping only the stream's first [`HEAD`] and last [`TAIL`]
//! records for display. A short stream keeps everything, and so does
//! [`Model::unbounded`] (the `--expand` view).

use std::fmt;
use std::ops::{Range, RangeInclusive};

use super::framing::{self, Framer, Spec};
use super::reassembly::{Cause, Event, Sink};

/// The new bytes one frame gave the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    /// 1 for the stream's first data segment, in stream order.
    pub number: u64,
    pub frame: u64,
    pub ts: u64,
    /// The stream offsets it delivered.
    pub range: Range<u64>,
    /// The offsets the segment covered as sent (with any part already received).
    pub sent: Range<u64>,
    pub psh: bool,
}

impl Seg {
    pub fn len(&self) -> u64 {
        self.range.end - self.range.start
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bytes the stream lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    pub range: Range<u64>,
    pub cause: Cause,
}

/// How much of a message a segment carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Whole,
    /// Its first n bytes.
    First(u64),
    /// Its last n bytes.
    Last(u64),
    /// n bytes from its middle.
    Middle(u64),
}

/// What is worth pointing out, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// One segment carries (parts of) several messages.
    Coalesced {
        segment: u64,
        frame: u64,
        parts: Vec<(u64, Part)>,
    },
    /// One message needed several segments. `len` is the body's; `frames` runs from
    /// the first frame that carried any of it to the one that completed it.
    Split {
        message: u64,
        len: u64,
        segments: RangeInclusive<u64>,
        frames: RangeInclusive<u64>,
    },
    /// A message's header is itself cut across segments.
    HeaderSplit {
        message: u64,
        len: u64,
        segments: RangeInclusive<u64>,
    },
    Missing(Gap),
    /// Bytes received twice, differently (the first copy is the stream's).
    Conflict {
        frame: u64,
        offset: u64,
        len: u64,
    },
    FramingLost(framing::Lost),
    Incomplete(framing::Incomplete),
    /// Framing went on after a gap, at a boundary it is sure of.
    Resumed(framing::Resumed),
}

/// The numbers of the view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Complete messages.
    pub messages: u64,
    pub segments: u64,
    /// Segments carrying parts of two messages or more.
    pub coalesced: u64,
    /// Messages spread over two segments or more.
    pub split: u64,
    /// Messages whose header is spread over two segments or more.
    pub header_split: u64,
    /// Messages some of whose bytes never came (cut by a gap, or the stream's last).
    pub incomplete: u64,
    /// Messages a gap swallowed before framing resumed, none of whose bytes came
    /// before it (`fixed:N`).
    pub skipped: u64,
    /// Bytes delivered.
    pub bytes: u64,
    /// Delivered bytes in no complete message (after framing was lost, in an
    /// incomplete last message; with `none`, every byte).
    pub outside: u64,
    pub missing: u64,
    pub retransmitted: u64,
    pub conflicts: u64,
}

/// Segments held before settled ones are let go.
pub const WINDOW: usize = 4096;
/// Records kept from the start of a long stream (the lists' head, the tracks).
pub const HEAD: usize = 512;
/// Records kept from the end of a long stream.
pub const TAIL: usize = 12;
/// Segments kept at the start of a message still in progress (its header may span
/// them); the ones after, wholly inside it, can carry nothing else.
const IN_MESSAGE: usize = 64;

/// The first and the last records of a long list, and how many between were let go.
#[derive(Clone, Debug)]
pub struct Kept<T> {
    pub head: Vec<T>,
    pub omitted: u64,
    pub tail: std::collections::VecDeque<T>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept { head: Vec::new(), omitted: 0, tail: Default::default() }
    }
}

impl<T> Kept<T> {
    fn push(&mut self, x: T, head: usize) {
        if self.head.len() < head {
            self.head.push(x);
            return;
        }
        self.tail.push_back(x);
        if self.tail.len() > TAIL {
            self.tail.pop_front();
            self.omitted += 1;
        }
    }
    fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty()
    }
}

/// A list for display: its first records, how many are left out, its last records.
/// With nothing left out, `head` then `tail` is the whole list.
pub struct Listing<'a, T> {
    pub head: Vec<&'a T>,
    pub omitted: u64,
    pub tail: Vec<&'a T>,
}

/// Segments and messages of one stream.
pub struct Model {
    framer: Framer,
    segments: Vec<Seg>,
    messages: Vec<framing::Message>,
    gaps: Vec<Gap>,
    conflicts: Vec<(u64, u64, u64)>,
    retransmitted: u64,
    lost: Option<framing::Lost>,
    /// One per gap at most, and one at the end: as many as `gaps`, plus one.
    incomplete: Vec<framing::Incomplete>,
    resumed: Vec<framing::Resumed>,
    /// The end of the stream so far: every offset before it was delivered or missing.
    end: u64,
    /// Segments held before settling (see [`WINDOW`]).
    window: usize,
    kept_segments: Kept<Seg>,
    kept_messages: Kept<framing::Message>,
    /// Notes of settled records, with the offset they sort by.
    kept_notes: Kept<(u64, Note)>,
    /// Final notes not yet in `kept_notes`: a note joins it once every note before it
    /// in stream order is final too, so the kept tail is the stream's last notes.
    pending: Vec<(u64, Note)>,
    /// Coalesced, split, header-split notes among the settled.
    settled_counts: [u64; 3],
    /// Segment and message numbers up to which notes were settled.
    settled_segment: u64,
    settled_message: u64,
    n_segments: u64,
    n_messages: u64,
    bytes: u64,
    /// Bytes inside complete messages.
    framed: u64,
    /// The message in progress whose middle segments were let go (see `settle`), and
    /// the first and last frame among them: its split note still names every frame.
    drained: Option<(u64, RangeInclusive<u64>)>,
}

impl Model {
    pub fn new(spec: Spec) -> Self {
        Model::with_window(spec, WINDOW)
    }

    /// Keeps every record, however long the stream.
    pub fn unbounded(spec: Spec) -> Self {
        Model::with_window(spec, usize::MAX)
    }

    /// Settles records once more than `window` segments are held (at least 2).
    pub fn with_window(spec: Spec, window: usize) -> Self {
        Model {
            // Every gap the model sees is permanent (reassembly declared it missing before
            // delivering past it), so resuming at a certain boundary loses nothing.
            framer: Framer::new(spec).resume_after_gaps(true),
            segments: Vec::new(),
            messages: Vec::new(),
            gaps: Vec::new(),
            conflicts: Vec::new(),
            retransmitted: 0,
            lost: None,
            incomplete: Vec::new(),
            resumed: Vec::new(),
            end: 0,
            window: window.max(2),
            kept_segments: Kept::default(),
            kept_messages: Kept::default(),
            kept_notes: Kept::default(),
            pending: Vec::new(),
            settled_counts: [0; 3],
            settled_segment: 0,
            settled_message: 0,
            n_segments: 0,
            n_messages: 0,
            bytes: 0,
            framed: 0,
            drained: None,
        }
    }

    /// Some records were let go: lists and tracks show a long stream's two ends.
    pub fn settled(&self) -> bool {
        !self.kept_segments.is_empty() || !self.kept_messages.is_empty()
    }

    /// Every segment still known: the settled head and tail, then those held.
    pub fn segment_listing(&self) -> Listing<'_, Seg> {
        let mut tail: Vec<&Seg> = self.kept_segments.tail.iter().collect();
        // Segments inside a long message in progress settle before the ones ahead of
        // them: display order is stream order.
        tail.sort_by_key(|s| s.number);
        tail.extend(self.segments.iter());
        Listing { head: self.kept_segments.head.iter().collect(), omitted: self.kept_segments.omitted, tail }
    }

    /// Every message still known, as [`Model::segment_listing`].
    pub fn message_listing(&self) -> Listing<'_, framing::Message> {
        let mut tail: Vec<&framing::Message> = self.kept_messages.tail.iter().collect();
        tail.extend(self.messages.iter());
        Listing { head: self.kept_messages.head.iter().collect(), omitted: self.kept_messages.omitted, tail }
    }

    /// Notes let go from the middle of a long stream's list.
    pub fn notes_omitted(&self) -> u64 {
        self.kept_notes.omitted
    }

    /// The stream's first records, for the tracks of a long stream: the segments and
    /// messages in the head, and the offsets they cover.
    pub fn head(&self) -> (&[Seg], &[framing::Message], Range<u64>) {
        if !self.settled() {
            return (&self.segments, &self.messages, self.extent());
        }
        let (s, m) = (&self.kept_segments.head[..], &self.kept_messages.head[..]);
        let end = |x: Option<u64>| x.unwrap_or(u64::MAX);
        let upto = end(s.last().map(|x| x.range.end)).min(end(m.last().map(|x| x.span().end)));
        let upto = if upto == u64::MAX { 0 } else { upto };
        (s, m, 0..upto)
    }

    /// Settles what no message still in progress can change, and lets it go.
    fn settle(&mut self) {
        // Offsets before `f` belong to complete messages, or to none ever.
        // (After a resumption the last complete message may end before a message cut
        // short, the gap and the cut tail: those are settled too.)
        let f = if self.framer.is_off() || self.lost.is_some() {
            self.end
        } else {
            // UDP datagrams bypass the framer: their messages say it.
            let last = self.messages.last().map_or(0, |m| m.span().end);
            self.framer.settled_to().max(last).min(self.end)
        };
        // The last segment stays: the rest of it may still come.
        let last = self.segments.len().saturating_sub(1);
        let n_segs = self.segments[..last].partition_point(|s| s.range.end <= f);
        // Messages touching a segment still held stay, for that segment's notes.
        let keep_from = self.segments.get(n_segs).map_or(f, |s| s.range.start);
        let n_msgs = self.messages.partition_point(|m| m.span().end <= keep_from);
        let seg_upto = if n_segs > 0 { self.segments[n_segs - 1].number } else { self.settled_segment };
        // Every complete message has all its segments here: its notes are final.
        let msg_upto = self.messages.last().map_or(self.settled_message, |m| m.number);
        if seg_upto > self.settled_segment || msg_upto > self.settled_message {
            for (at, n) in self.window_notes() {
                let (settles, kind) = match &n {
                    Note::Coalesced { segment, .. } => (*segment > self.settled_segment && *segment <= seg_upto, 0),
                    Note::Split { message, .. } => (*message > self.settled_message && *message <= msg_upto, 1),
                    Note::HeaderSplit { message, .. } => (*message > self.settled_message && *message <= msg_upto, 2),
                    _ => (false, 0),
                };
                if settles {
                    self.settled_counts[kind] += 1;
                    self.pending.push((at, n));
                }
            }
            self.settled_segment = seg_upto.max(self.settled_segment);
            self.settled_message = msg_upto.max(self.settled_message);
        }
        // Before `keep_from` every note is final (see the struct).
        self.pending.sort_by_key(|(at, _)| *at);
        let ready = self.pending.partition_point(|(at, _)| *at < keep_from);
        for n in self.pending.drain(..ready) {
            self.kept_notes.push(n, HEAD);
        }
        for x in self.segments.drain(..n_segs) {
            self.kept_segments.push(x, HEAD);
        }
        for x in self.messages.drain(..n_msgs) {
            self.kept_messages.push(x, HEAD);
        }
        // Inside one long message in progress: the segments past its first few carry
        // nothing but its bytes, so only the count of them matters. (Once the head is
        // full, so the head stays in stream order.)
        if self.segments.len() > self.window / 2 && self.kept_segments.head.len() >= HEAD {
            let first_inside = self.segments.partition_point(|s| s.range.start < f);
            let from = first_inside + IN_MESSAGE;
            let to = self.segments.len() - 1;
            if to > from {
                // After a loss these need not be the message's earliest or latest frames.
                // The framer's number: after a resumption numbers skip, so a count of
                // messages is not it (UDP datagrams bypass the framer: their count is).
                let number = self.framer.number().max(self.n_messages + 1);
                for x in self.segments.drain(from..to) {
                    self.drained = Some(match self.drained.take() {
                        Some((n, r)) if n == number => (n, *r.start().min(&x.frame)..=*r.end().max(&x.frame)),
                        _ => (number, x.frame..=x.frame),
                    });
                    self.kept_segments.push(x, HEAD);
                }
            }
        }
    }

    pub fn spec(&self) -> &Spec {
        self.framer.spec()
    }
    pub fn segments(&self) -> &[Seg] {
        &self.segments
    }
    pub fn messages(&self) -> &[framing::Message] {
        &self.messages
    }
    pub fn gaps(&self) -> &[Gap] {
        &self.gaps
    }
    pub fn lost(&self) -> Option<&framing::Lost> {
        self.lost.as_ref()
    }
    /// Messages left incomplete, in stream order.
    pub fn incomplete(&self) -> &[framing::Incomplete] {
        &self.incomplete
    }
    /// Where framing went on after gaps.
    pub fn resumed(&self) -> &[framing::Resumed] {
        &self.resumed
    }
    /// The stream offsets both tracks cover.
    pub fn extent(&self) -> Range<u64> {
        0..self.end
    }

    /// One UDP datagram at stream offset `offset` (the bytes its direction sent
    /// before it): a segment and a whole message at once, since a receiver gets each
    /// datagram whole from one `recvfrom()`. The framing spec is not used.
    pub fn datagram(&mut self, frame: u64, ts: u64, offset: u64, bytes: &[u8]) {
        let end = offset + bytes.len() as u64;
        self.n_segments += 1;
        self.n_messages += 1;
        self.bytes += bytes.len() as u64;
        self.framed += bytes.len() as u64;
        let number = self.n_segments;
        self.segments.push(Seg { number, frame, ts, range: offset..end, sent: offset..end, psh: false });
        self.messages.push(framing::Message {
            number,
            header: offset..offset,
            body: offset..end,
            trailer: end..end,
            preview: framing::Preview::of(bytes),
            json: None,
        });
        self.end = end;
        if self.segments.len() > self.window {
            self.settle();
        }
    }

    fn framed(&mut self, e: framing::Event) {
        match e {
            framing::Event::Message(m) => {
                self.n_messages += 1;
                self.framed += m.span().end - m.span().start;
                self.messages.push(m)
            }
            framing::Event::Lost(l) => self.lost = Some(l),
            framing::Event::Incomplete(i) => self.incomplete.push(i),
            framing::Event::Resumed(r) => self.resumed.push(r),
        }
    }

    /// The stream ended (call after the reassembly's `finish`): a message left
    /// incomplete is reported.
    pub fn finish(&mut self) {
        let mut got = Vec::new();
        self.framer.finish(&mut |e| got.push(e));
        for e in got {
            self.framed(e);
        }
    }

    /// Messages plus the incomplete ones (the last, or ones a gap cut short), as
    /// (number, span received, complete), in stream order.
    fn spans(&self) -> Vec<(u64, Range<u64>, bool)> {
        let mut spans: Vec<(u64, Range<u64>, bool)> =
            self.messages.iter().map(|m| (m.number, m.span(), true)).collect();
        // Only the incomplete messages the held segments can touch; numbers order them.
        let from = self.segments.first().map_or(0, |s| s.range.start);
        for i in self.incomplete.iter().filter(|i| i.start + i.received > from) {
            let at = spans.partition_point(|(n, _, _)| *n < i.number);
            spans.insert(at, (i.number, i.start..i.start + i.received, false));
        }
        spans
    }

    /// Segments overlapping `r`, as indexes into `segments`.
    fn segments_over(&self, r: &Range<u64>) -> Range<usize> {
        let a = self.segments.partition_point(|s| s.range.end <= r.start);
        let b = self.segments.partition_point(|s| s.range.start < r.end);
        a..b.max(a)
    }

    /// Coalesced, split and header-split notes of the records held, with the offsets
    /// they sort by.
    fn window_notes(&self) -> Vec<(u64, Note)> {
        let mut notes: Vec<(u64, Note)> = Vec::new();
        let spans = self.spans();
        for s in &self.segments {
            let a = spans.partition_point(|(_, m, _)| m.end <= s.range.start);
            let parts: Vec<(u64, Part)> = spans[a..]
                .iter()
                .take_while(|(_, m, _)| m.start < s.range.end)
                .map(|(n, m, complete)| {
                    let (lo, hi) = (m.start.max(s.range.start), m.end.min(s.range.end));
                    // An incomplete message never ends inside a segment.
                    let part = match (lo == m.start, hi == m.end && *complete) {
                        (true, true) => Part::Whole,
                        (true, false) => Part::First(hi - lo),
                        (false, true) => Part::Last(hi - lo),
                        (false, false) => Part::Middle(hi - lo),
                    };
                    (*n, part)
                })
                .collect();
            if parts.len() > 1 && s.number > self.settled_segment {
                notes.push((s.range.start, Note::Coalesced { segment: s.number, frame: s.frame, parts }));
            }
        }
        for m in self.messages.iter().filter(|m| m.number > self.settled_message) {
            let over = self.segments_over(&m.span());
            if over.len() > 1 {
                let (first, last) = (&self.segments[over.start], &self.segments[over.end - 1]);
                // After a loss the segment that filled the gap came in a later frame than
                // the ones after it: the first and the last segment in stream order need
                // not be the first and the last frame (a range like "frames 116-112").
                let segs = &self.segments[over.clone()];
                let mut lo = segs.iter().map(|s| s.frame).min().unwrap_or(first.frame);
                let mut hi = segs.iter().map(|s| s.frame).max().unwrap_or(last.frame);
                if let Some((_, r)) = self.drained.as_ref().filter(|(n, _)| *n == m.number) {
                    (lo, hi) = (lo.min(*r.start()), hi.max(*r.end()));
                }
                notes.push((
                    m.span().start,
                    Note::Split {
                        message: m.number,
                        len: m.len(),
                        segments: first.number..=last.number,
                        frames: lo..=hi,
                    },
                ));
            }
            let over = self.segments_over(&m.header);
            if over.len() > 1 {
                let segments = self.segments[over.start].number..=self.segments[over.end - 1].number;
                let len = m.header.end - m.header.start;
                notes.push((m.header.start, Note::HeaderSplit { message: m.number, len, segments }));
            }
        }
        notes
    }

    /// What is worth pointing out, in stream order (of a long stream: its first and
    /// last notes, see [`Model::notes_omitted`]).
    pub fn notes(&self) -> Vec<Note> {
        let mut notes: Vec<(u64, Note)> = self.kept_notes.head.to_vec();
        notes.extend(self.kept_notes.tail.iter().cloned());
        notes.extend(self.pending.iter().cloned());
        notes.extend(self.window_notes());
        for g in &self.gaps {
            notes.push((g.range.start, Note::Missing(g.clone())));
        }
        for &(frame, offset, len) in &self.conflicts {
            notes.push((offset, Note::Conflict { frame, offset, len }));
        }
        if let Some(l) = &self.lost {
            notes.push((l.offset, Note::FramingLost(l.clone())));
        }
        for i in &self.incomplete {
            notes.push((i.start, Note::Incomplete(i.clone())));
        }
        // Right after the gap it resumed across (pushed after it: the sort is stable).
        for r in &self.resumed {
            notes.push((r.gap, Note::Resumed(r.clone())));
        }
        notes.sort_by_key(|(at, _)| *at);
        notes.into_iter().map(|(_, n)| n).collect()
    }

    pub fn totals(&self) -> Totals {
        let notes = self.window_notes();
        let count = |f: fn(&Note) -> bool| notes.iter().filter(|(_, n)| f(n)).count() as u64;
        Totals {
            messages: self.n_messages,
            segments: self.n_segments,
            coalesced: self.settled_counts[0] + count(|n| matches!(n, Note::Coalesced { .. })),
            split: self.settled_counts[1] + count(|n| matches!(n, Note::Split { .. })),
            header_split: self.settled_counts[2] + count(|n| matches!(n, Note::HeaderSplit { .. })),
            incomplete: self.incomplete.len() as u64,
            skipped: self.resumed.iter().map(|r| r.skipped.end - r.skipped.start).sum(),
            bytes: self.bytes,
            outside: self.bytes - self.framed,
            missing: self.gaps.iter().map(|g| g.range.end - g.range.start).sum(),
            retransmitted: self.retransmitted,
            conflicts: self.conflicts.len() as u64,
        }
    }
}

impl Sink for Model {
    fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Data { offset, bytes, frame, ts, segment, psh } => {
                let end = offset + bytes.len() as u64;
                self.bytes += bytes.len() as u64;
                match self.segments.last_mut() {
                    // The rest of a segment whose first part came earlier.
                    Some(s) if s.frame == frame && s.range.end == offset => s.range.end = end,
                    _ => {
                        self.n_segments += 1;
                        let number = self.n_segments;
                        self.segments.push(Seg { number, frame, ts, range: offset..end, sent: segment, psh });
                    }
                }
                self.end = end;
                let mut got = Vec::new();
                self.framer.feed(offset, bytes, &mut |e| got.push(e));
                for e in got {
                    self.framed(e);
                }
                if self.segments.len() > self.window {
                    self.settle();
                }
            }
            Event::Missing { offset, len, cause } => {
                self.gaps.push(Gap { range: offset..offset + len, cause });
                self.end = offset + len;
            }
            Event::Retransmission { len, .. } => self.retransmitted += len,
            Event::Conflict { frame, offset, len } => self.conflicts.push((frame, offset, len)),
            Event::OutOfOrder { .. } | Event::GapFilled { .. } | Event::Fin { .. } | Event::Rst { .. } => {}
        }
    }
}

/// The terminal columns of `range` when `extent` spans `width` columns. A non-empty
/// range gets at least one column, so a 1-byte segment still shows.
pub fn columns(range: Range<u64>, extent: Range<u64>, width: usize) -> Range<usize> {
    let span = u128::from(extent.end.saturating_sub(extent.start)).max(1);
    let col = |o: u64, up: bool| {
        let x = u128::from(o.clamp(extent.start, extent.end) - extent.start) * width as u128;
        let c = if up { x.div_ceil(span) } else { x / span };
        c as usize
    };
    let start = col(range.start, false).min(width.saturating_sub(1));
    let end = col(range.end, true).max(start + usize::from(range.end > range.start)).min(width);
    start..end
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Whole => Ok(()),
            Part::First(1) => write!(f, "the first byte of "),
            Part::First(n) => write!(f, "the first {n} bytes of "),
            Part::Last(1) => write!(f, "the last byte of "),
            Part::Last(n) => write!(f, "the last {n} bytes of "),
            Part::Middle(1) => write!(f, "1 byte from the middle of "),
            Part::Middle(n) => write!(f, "{n} bytes from the middle of "),
        }
    }
}

/// Message numbers in order, consecutive ones as a range: "3-34", "7 and 8", "1, 2".
/// `alone`: nothing follows, so two single numbers read "7 and 8".
fn runs(numbers: &[u64], alone: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        match j - i {
            0 => out.push(numbers[i].to_string()),
            1 => out.extend([numbers[i].to_string(), numbers[j].to_string()]),
            _ => out.push(format!("{}-{}", numbers[i], numbers[j])),
        }
        i = j + 1;
    }
    match out.split_last() {
        Some((last, rest)) if alone && !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => out.join(", "),
    }
}

fn segments_word(r: &RangeInclusive<u64>) -> String {
    match r.end() - r.start() {
        0 => format!("segment {}", r.start()),
        1 => format!("segments {} and {}", r.start(), r.end()),
        _ => format!("segments {}-{}", r.start(), r.end()),
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Coalesced { segment, frame, parts } => {
                // Whole messages read as one item: "messages 4, 5, 6".
                let mut items: Vec<String> = Vec::new();
                let whole: Vec<u64> = parts.iter().filter(|(_, p)| *p == Part::Whole).map(|(n, _)| *n).collect();
                let mut whole_done = false;
                for (n, p) in parts {
                    if *p != Part::Whole {
                        items.push(format!("{p}message {n}"));
                    } else if !whole_done {
                        whole_done = true;
                        let s = if whole.len() > 1 { "s" } else { "" };
                        items.push(format!("message{s} {}", runs(&whole, parts.len() == whole.len())));
                    }
                }
                let list = match items.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                    _ => items.concat(),
                };
                write!(f, "segment {segment} (frame {frame}) carries {list}: coalesced")
            }
            Note::Split { message, len, segments, frames } => {
                write!(f, "message {message} ({len} bytes) spans {}", segments_word(segments))?;
                write!(f, " (frames {}-{}): split", frames.start(), frames.end())
            }
            Note::HeaderSplit { message, len, segments } => write!(
                f,
                "the {len}-byte header of message {message} is itself split across {}",
                segments_word(segments)
            ),
            Note::Missing(g) => {
                let len = g.range.end - g.range.start;
                Event::Missing { offset: g.range.start, len, cause: g.cause }.fmt(f)
            }
            Note::Conflict { frame, offset, len } => {
                Event::Conflict { frame: *frame, offset: *offset, len: *len }.fmt(f)
            }
            Note::FramingLost(l) => l.fmt(f),
            Note::Incomplete(i) => i.fmt(f),
            Note::Resumed(r) => r.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_numbers_read_as_ranges() {
        assert_eq!(runs(&[7, 8], true), "7 and 8");
        assert_eq!(runs(&[1, 2], false), "1, 2");
        assert_eq!(runs(&(3..=34).collect::<Vec<_>>(), false), "3-34");
        assert_eq!(runs(&[1, 3, 4, 5, 9], true), "1, 3-5 and 9");
    }
    use crate::analysis::reassembly::{Budget, Limits, Segment, Stream};

    fn spec(s: &str) -> Spec {
        s.parse().unwrap()
    }

    /// The framed bodies cut at `cuts` into segments (frames 2, 3, ... after a SYN in
    /// frame 1), sent in `order` (indexes into the segments; repeats are
    /// retransmissions), through reassembly into a model.
    fn model(spec: &Spec, bodies: &[&[u8]], cuts: &[usize], order: Option<&[usize]>) -> Model {
        let mut stream = Vec::new();
        for b in bodies {
            spec.encode(b, &mut stream).unwrap();
        }
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(stream.len());
        let segs: Vec<(u32, &[u8])> = bounds.windows(2).map(|w| (w[0] as u32, &stream[w[0]..w[1]])).collect();
        let natural: Vec<usize> = (0..segs.len()).collect();
        let mut m = Model::new(spec.clone());
        let mut budget = Budget::new(1 << 20);
        let mut s = Stream::new(Limits::default());
        let syn = Segment { frame: 1, ts: 0, seq: 999, syn: true, fin: false, rst: false, psh: false, payload: &[] };
        s.push(&syn, &mut budget, &mut m);
        for (n, &k) in order.unwrap_or(&natural).iter().enumerate() {
            let (at, payload) = segs[k];
            let seg = Segment { frame: n as u64 + 2, seq: 1000 + at, syn: false, psh: true, payload, ..syn };
            s.push(&seg, &mut budget, &mut m);
        }
        s.finish(&mut budget, &mut m);
        m.finish();
        m
    }

    /// A long stream through a model that settles every few segments and through one
    /// that keeps everything: the same totals, the same first records and notes, the
    /// same last ones, and counts that add up.
    #[test]
    fn a_long_stream_settles_to_the_same_facts() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let spec = spec("len:u32be");
        let mut bodies: Vec<Vec<u8>> = (0..3000).map(|i| vec![b'a' + (i % 26) as u8; next(700) as usize]).collect();
        // One message far longer than the window, to let go of segments inside it.
        bodies.insert(2000, vec![b'Z'; 400_000]);
        let mut stream = Vec::new();
        for b in &bodies {
            spec.encode(b, &mut stream).unwrap();
        }
        let mut cuts = vec![0];
        while *cuts.last().unwrap() < stream.len() {
            let step = 1 + next(1460) as usize;
            cuts.push((cuts.last().unwrap() + step).min(stream.len()));
        }
        let run = |mut m: Model| {
            let mut budget = Budget::new(64 << 20);
            let mut s = Stream::new(Limits::default());
            let syn = Segment { frame: 1, ts: 0, seq: 7, syn: true, fin: false, rst: false, psh: false, payload: &[] };
            s.push(&syn, &mut budget, &mut m);
            let mut frame = 2;
            for (k, w) in cuts.windows(2).enumerate() {
                let seg = |frame| Segment {
                    frame,
                    seq: 8 + w[0] as u32,
                    syn: false,
                    psh: true,
                    payload: &stream[w[0]..w[1]],
                    ..syn
                };
                s.push(&seg(frame), &mut budget, &mut m);
                frame += 1;
                if k % 97 == 0 {
                    // A retransmission now and then.
                    s.push(&seg(frame), &mut budget, &mut m);
                    frame += 1;
                }
            }
            s.finish(&mut budget, &mut m);
            m.finish();
            m
        };
        let (small, full) = (run(Model::with_window(spec.clone(), 8)), run(Model::unbounded(spec.clone())));
        assert!(small.settled() && !full.settled());
        assert_eq!(small.totals(), full.totals());
        let t = full.totals();
        assert_eq!(t.messages, 3001, "{:?} {:?} {:?}", full.lost(), full.gaps(), t);
        assert!(t.coalesced > 100 && t.split > 100 && t.header_split > 5, "{t:?}");

        let (all, kept) = (full.notes(), small.notes());
        assert_eq!(kept.len() as u64 + small.notes_omitted(), all.len() as u64);
        assert_eq!(kept[..HEAD], all[..HEAD]);
        assert_eq!(kept[kept.len() - TAIL..], all[all.len() - TAIL..]);

        let (ls, lf) = (small.segment_listing(), full.segment_listing());
        assert_eq!(lf.omitted, 0);
        let every: Vec<&Seg> = lf.head.iter().chain(&lf.tail).copied().collect();
        assert_eq!(every.len() as u64, t.segments);
        assert_eq!(ls.head.len() as u64 + ls.omitted + ls.tail.len() as u64, t.segments);
        assert_eq!(ls.head, every[..HEAD]);
        assert_eq!(ls.tail[ls.tail.len() - TAIL..], every[every.len() - TAIL..]);
        let (ms, mf) = (small.message_listing(), full.message_listing());
        let every: Vec<&framing::Message> = mf.head.iter().chain(&mf.tail).copied().collect();
        assert_eq!(every.len() as u64, t.messages);
        assert_eq!(ms.head.len() as u64 + ms.omitted + ms.tail.len() as u64, t.messages);
        assert_eq!(ms.head, every[..HEAD]);
        assert_eq!(ms.tail[ms.tail.len() - TAIL..], every[every.len() - TAIL..]);
        // What is held stays small: the window, not the stream.
        assert!(small.segments().len() < 200 && small.messages().len() < 200);
    }

    #[test]
    fn coalesced_segments_split_messages_and_a_split_header() {
        // len:u16be: spans 0..5, 5..10, 10..15, 15..27; segments 0..12, 12..16, 16..27.
        let m = model(&spec("len:u16be"), &[b"one", b"two", b"six", b"0123456789"], &[12, 16], None);
        let notes = m.notes();
        assert_eq!(
            notes,
            vec![
                Note::Coalesced {
                    segment: 1,
                    frame: 2,
                    parts: vec![(1, Part::Whole), (2, Part::Whole), (3, Part::First(2))]
                },
                Note::Split { message: 3, len: 3, segments: 1..=2, frames: 2..=3 },
                Note::Coalesced { segment: 2, frame: 3, parts: vec![(3, Part::Last(3)), (4, Part::First(1))] },
                Note::Split { message: 4, len: 10, segments: 2..=3, frames: 3..=4 },
                Note::HeaderSplit { message: 4, len: 2, segments: 2..=3 },
            ]
        );
        let said: Vec<String> = notes.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            said,
            [
                "segment 1 (frame 2) carries messages 1, 2 and the first 2 bytes of message 3: coalesced",
                "message 3 (3 bytes) spans segments 1 and 2 (frames 2-3): split",
                "segment 2 (frame 3) carries the last 3 bytes of message 3 and the first byte of message 4: coalesced",
                "message 4 (10 bytes) spans segments 2 and 3 (frames 3-4): split",
                "the 2-byte header of message 4 is itself split across segments 2 and 3",
            ]
        );
        let t = m.totals();
        assert_eq!(
            t,
            Totals {
                messages: 4,
                segments: 3,
                coalesced: 2,
                split: 2,
                header_split: 1,
                incomplete: 0,
                skipped: 0,
                bytes: 27,
                outside: 0,
                missing: 0,
                retransmitted: 0,
                conflicts: 0,
            }
        );
        assert_eq!(m.segments()[1].range, 12..16);
        assert_eq!(m.messages()[3].preview.as_bytes(), b"0123456789");
    }

    #[test]
    fn one_message_over_many_segments_and_one_in_the_middle_of_a_segment() {
        let body = [b'x'; 100];
        // Spans 0..104 and 104..110; segments 0..30, 30..60, 60..90, 90..110.
        let m = model(&spec("len:u32le"), &[&body, b"ab"], &[30, 60, 90], None);
        let notes = m.notes();
        assert_eq!(notes[0], Note::Split { message: 1, len: 100, segments: 1..=4, frames: 2..=5 });
        assert_eq!(notes[0].to_string(), "message 1 (100 bytes) spans segments 1-4 (frames 2-5): split");
        assert_eq!(
            notes[1],
            Note::Coalesced { segment: 4, frame: 5, parts: vec![(1, Part::Last(14)), (2, Part::Whole)] }
        );
        assert_eq!(
            notes[1].to_string(),
            "segment 4 (frame 5) carries the last 14 bytes of message 1 and message 2: coalesced"
        );
        assert_eq!(notes.len(), 2);
        let m = model(&spec("len:u8"), &[&body], &[10, 50], None);
        assert_eq!(
            m.notes()[0],
            Note::Split { message: 1, len: 100, segments: 1..=3, frames: 2..=4 },
            "a segment wholly inside one message is no note of its own"
        );
    }

    #[test]
    fn out_of_order_and_retransmitted_segments_give_the_same_view() {
        let spec = spec("line");
        let bodies: [&[u8]; 3] = [b"hello", b"sticky", b"world"];
        let straight = model(&spec, &bodies, &[4, 9, 15], None);
        let shuffled = model(&spec, &bodies, &[4, 9, 15], Some(&[2, 0, 0, 3, 1, 2]));
        assert_eq!(straight.messages(), shuffled.messages());
        let ranges = |m: &Model| m.segments().iter().map(|s| s.range.clone()).collect::<Vec<_>>();
        assert_eq!(ranges(&straight), ranges(&shuffled));
        assert_eq!(shuffled.totals().retransmitted, 4 + 6);
        assert_eq!(shuffled.segments()[0].frame, 3, "segments are numbered in stream order, frames kept");
        assert_eq!(shuffled.totals().coalesced, straight.totals().coalesced);
    }

    /// A lost segment comes again after the ones behind it: the split notes name the
    /// frames that carried each message, first to last, not the frames of its first and
    /// last segment in stream order (which once read "frames 5-3").
    #[test]
    fn a_split_note_after_a_loss_names_the_frames_that_carried_the_message() {
        // "hello\n" 0..6, "sticky\n" 6..13, "world\n" 13..19; segments 0..4, 4..9,
        // 9..15, 15..19 in frames 2, 5, 3, 4 (the second lost, sent again last).
        let m = model(&spec("line"), &[b"hello", b"sticky", b"world"], &[4, 9, 15], Some(&[0, 2, 3, 1]));
        let splits: Vec<String> =
            m.notes().iter().filter(|n| matches!(n, Note::Split { .. })).map(|n| n.to_string()).collect();
        assert_eq!(
            splits,
            [
                "message 1 (5 bytes) spans segments 1 and 2 (frames 2-5): split",
                "message 2 (6 bytes) spans segments 2 and 3 (frames 3-5): split",
                "message 3 (5 bytes) spans segments 3 and 4 (frames 3-4): split",
            ]
        );
        let frames: Vec<u64> = m.segments().iter().map(|s| s.frame).collect();
        assert_eq!(frames, [2, 5, 3, 4], "segments in stream order keep the frame that carried them");
    }

    #[test]
    fn an_incomplete_last_message_and_bytes_outside_messages() {
        let spec = spec("len:u8");
        let mut m = Model::new(spec);
        let mut data = |offset: u64, bytes: &[u8], frame: u64| {
            let segment = offset..offset + bytes.len() as u64;
            m.event(Event::Data { offset, bytes, frame, ts: 0, segment, psh: true });
        };
        data(0, b"\x02ab\x05xyz", 1);
        m.finish();
        let notes = m.notes();
        assert_eq!(
            notes[0],
            Note::Coalesced { segment: 1, frame: 1, parts: vec![(1, Part::Whole), (2, Part::First(4))] }
        );
        assert_eq!(notes[1].to_string(), "message 2 at offset 3 is incomplete: 4 bytes of 6");
        let t = m.totals();
        assert_eq!(t.incomplete, 1);
        assert_eq!((t.bytes, t.outside), (7, 4));
    }

    #[test]
    fn a_gap_is_noted_and_framing_stops_there() {
        let spec = spec("len:u8");
        let mut m = Model::new(spec);
        m.event(Event::Data { offset: 0, bytes: b"\x01a\x01", frame: 1, ts: 0, segment: 0..3, psh: true });
        m.event(Event::Missing { offset: 3, len: 5, cause: Cause::NeverFilled });
        m.event(Event::Data { offset: 8, bytes: b"\x01z", frame: 3, ts: 0, segment: 8..10, psh: true });
        m.finish();
        let said: Vec<String> = m.notes().iter().map(|n| n.to_string()).collect();
        assert_eq!(
            said,
            [
                // Message 2 had its header before the gap and its body in it: incomplete.
                "segment 1 (frame 1) carries message 1 and the first byte of message 2: coalesced",
                "message 2 at offset 2 is incomplete: 1 byte of 2",
                "5 bytes missing at offset 3",
                "framing lost at stream offset 3 in message 2: 5 bytes missing from the stream",
            ]
        );
        let t = m.totals();
        assert_eq!(t.incomplete, 1);
        assert_eq!((t.messages, t.missing, t.bytes, t.outside), (1, 5, 5, 3));
        assert_eq!(t.coalesced, 1);
        assert_eq!(m.extent(), 0..10);
    }

    #[test]
    fn framing_resumes_after_a_gap_inside_a_body_of_known_length() {
        // Messages 1-4 of 4, 6, 2 and 3 bytes after a 1-byte length (at 0, 5, 12, 15);
        // a gap inside message 2's body, and one inside message 3's.
        let mut stream = Vec::new();
        for b in [&b"abcd"[..], b"efghij", b"kl", b"mno"] {
            spec("len:u8").encode(b, &mut stream).unwrap();
        }
        let mut m = Model::new(spec("len:u8"));
        let pieces = [(0..7, None), (9..13, Some(7..9)), (14..stream.len(), Some(13..14))];
        for (frame, (r, gap)) in pieces.into_iter().enumerate() {
            if let Some(g) = gap {
                m.event(Event::Missing { offset: g.start as u64, len: g.len() as u64, cause: Cause::NeverFilled });
            }
            let segment = r.start as u64..r.end as u64;
            m.event(Event::Data {
                offset: r.start as u64,
                bytes: &stream[r],
                frame: frame as u64 + 1,
                ts: 0,
                segment,
                psh: true,
            });
        }
        m.finish();
        let said: Vec<String> = m.notes().iter().map(|n| n.to_string()).collect();
        assert_eq!(
            said,
            [
                "segment 1 (frame 1) carries message 1 and the first 2 bytes of message 2: coalesced",
                "message 2 at offset 5 is incomplete: 2 bytes of 7",
                "2 bytes missing at offset 7",
                "framing resumed at stream offset 12 with message 3",
                // Message 3's header came whole, its body's first byte did not.
                "message 3 at offset 12 is incomplete: 1 byte of 3",
                "1 byte missing at offset 13",
                "framing resumed at stream offset 15 with message 4",
            ]
        );
        let numbers: Vec<u64> = m.messages().iter().map(|x| x.number).collect();
        assert_eq!(numbers, [1, 4]);
        let t = m.totals();
        assert_eq!((t.messages, t.incomplete, t.skipped, t.missing), (2, 2, 0, 3));
        assert!(m.lost().is_none());
    }

    #[test]
    fn no_framing_keeps_the_segments_only() {
        let m = model(&Spec::None, &[b"abc", b"def"], &[2], None);
        assert!(m.messages().is_empty() && m.notes().is_empty());
        assert_eq!(m.segments().len(), 2);
        assert_eq!(m.totals().outside, 6);
    }

    /// The generator's sticky scenario, decoded from the pcap bytes it writes: the
    /// client's stream holds exactly the messages it framed, and the view sees the
    /// coalescing and splitting the scenario is built to show.
    #[test]
    fn the_generated_sticky_scenario() {
        use crate::decode::{self, tcp};
        use crate::gen::{scenarios, Out, Rng};
        let sizes = vec![10, 3000, 7, 5, 6];
        let sticky = scenarios::Sticky { sizes: sizes.clone(), framing: spec("len32be"), mss: 500, coalesce: 3 };
        let sink = crate::sink::pcap::PcapSink::new(Vec::new(), crate::source::LinkType::ETHERNET, 65535).unwrap();
        let mut out = Out::new(sink);
        scenarios::sticky(&mut out, &mut Rng::new(3), &sticky).unwrap();
        let bytes = out.finish().unwrap();
        let mut cap = crate::source::CaptureFile::from_reader("t", Box::new(std::io::Cursor::new(bytes))).unwrap();
        let mut m = Model::new(sticky.framing.clone());
        let mut budget = Budget::new(1 << 20);
        let mut s = Stream::new(Limits::default());
        let mut n = 0;
        while let Some(f) = cap.next_frame().unwrap() {
            n += 1;
            let p = decode::decode(f.link, f.data, f.orig_len);
            let Some(t) = p.tcp().filter(|t| t.dst_port() == Some(9000)) else { continue };
            let seg = Segment {
                frame: n,
                ts: f.ts.0,
                seq: t.seq().unwrap(),
                syn: t.has(tcp::SYN),
                fin: t.has(tcp::FIN),
                rst: t.has(tcp::RST),
                psh: t.has(tcp::PSH),
                payload: p.payload(),
            };
            s.push(&seg, &mut budget, &mut m);
        }
        s.finish(&mut budget, &mut m);
        m.finish();
        let lens: Vec<usize> = m.messages().iter().map(|x| x.len() as usize).collect();
        assert_eq!(lens, sizes);
        assert!(m.messages()[1].preview.as_bytes().starts_with(b"msg1:"));
        let t = m.totals();
        assert_eq!((t.outside, t.missing, t.incomplete), (0, 0, 0));
        // Burst 1 (10 + 3000 + 7 bytes, framed 3029) in 7 segments of up to 500; burst 2 in one.
        assert_eq!(t.segments, 8);
        let said: Vec<String> = m.notes().iter().map(|x| x.to_string()).collect();
        assert_eq!(
            said,
            [
                // Message 1 spans 0..14, message 2 14..3018 (header 14..18), message 3 3018..3029.
                "segment 1 (frame 4) carries message 1 and the first 486 bytes of message 2: coalesced",
                "message 2 (3000 bytes) spans segments 1-7 (frames 4-10): split",
                "segment 7 (frame 10) carries the last 18 bytes of message 2 and message 3: coalesced",
                "segment 8 (frame 12) carries messages 4 and 5: coalesced",
            ]
        );
    }

    #[test]
    fn columns_scale_offsets_to_the_width() {
        assert_eq!(columns(0..50, 0..100, 80), 0..40);
        assert_eq!(columns(50..100, 0..100, 80), 40..80);
        // A 1-byte segment in a long stream still gets a column.
        assert_eq!(columns(500..501, 0..1_000_000, 80), 0..1);
        assert_eq!(columns(999_999..1_000_000, 0..1_000_000, 80), 79..80);
        assert_eq!(columns(0..0, 0..0, 80), 0..0);
        assert_eq!(columns(0..10, 0..10, 0), 0..0);
    }
}
