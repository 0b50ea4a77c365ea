//! The sticky-packet view: for each direction of one connection, the segments that
//! carried the stream and the messages its framing finds, drawn as two aligned
//! tracks on the same byte scale (segments above, messages below), so a message
//! boundary in the middle of a segment, or a message over several segments, shows at
//! a glance; then both lists, the notable events in words, and the totals. JSON lines
//! give the same facts.

use std::io::{self, Write};
use std::ops::Range;

use serde_json::json;

use crate::analysis::follow::{Dir, Peers};
use crate::analysis::segments::{Model, Note, Totals};

#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub width: usize,
    pub ascii: bool,
    /// Every row of the lists (the middle of a long list is elided by default).
    pub expand: bool,
}

/// Rows kept at each end of a long list.
const KEEP: usize = 12;
/// Most track rows per direction: beyond it items share columns.
const MAX_TRACK_ROWS: usize = 6;
/// Columns an item gets on average, at least, before the track wraps to another row.
const COLS_PER_ITEM: usize = 4;
const LABEL: usize = 11;

/// The text view of one connection.
pub fn write_text(
    out: &mut impl Write,
    conn: u32,
    peers: &Peers,
    models: &[(Dir, &Model)],
    style: Style,
) -> io::Result<()> {
    let udp = peers.proto == crate::analysis::conn::Proto::Udp;
    super::stream::heading(out, conn, peers, style.ascii)?;
    if udp {
        writeln!(out, "UDP keeps message boundaries: each datagram is one message, read whole by one recvfrom()")?;
    } else if let Some((_, m)) = models.first() {
        writeln!(out, "framing: {}", m.spec())?;
    }
    for (dir, m) in models {
        writeln!(out)?;
        direction(out, *dir, m, udp, style)?;
    }
    Ok(())
}

fn direction(out: &mut impl Write, dir: Dir, m: &Model, udp: bool, style: Style) -> io::Result<()> {
    let t = m.totals();
    let seg_word = if udp { "datagram" } else { "segment" };
    writeln!(
        out,
        "{}: {} bytes in {} {seg_word}{}, {} message{}",
        dir.arrow(style.ascii),
        t.bytes,
        t.segments,
        plural(t.segments),
        t.messages,
        plural(t.messages)
    )?;
    if t.bytes == 0 && t.missing == 0 {
        return Ok(());
    }
    tracks(out, m, udp, style)?;
    writeln!(out)?;
    segment_list(out, m, seg_word, style)?;
    writeln!(out)?;
    message_list(out, m, style)?;
    let notes = m.notes();
    if !notes.is_empty() {
        writeln!(out)?;
        let bullet = if style.ascii { "*" } else { "•" };
        let omitted = m.notes_omitted() as usize;
        let shown = elide(notes.len() + omitted, style.expand);
        // Notes let go from a long stream's middle sit after the first HEAD.
        let at = |i: usize| if i < crate::analysis::segments::HEAD { i } else { i + omitted };
        for (i, n) in notes.iter().enumerate() {
            match shown(at(i)) {
                Show::Row => writeln!(out, "  {bullet} {n}")?,
                Show::Gap(k) => writeln!(out, "  … {k} more notes (--expand shows every one)")?,
                Show::Skip => {}
            }
        }
    }
    writeln!(out)?;
    totals(out, &t, udp)
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Where stream offsets fall on the tracks. Every boundary (of a segment, a message,
/// a header, a gap) is a point of the scale, and each stretch between two points gets
/// at least two columns when the room allows (one for the bar, one to see it), the
/// rest shared in proportion to bytes. So boundaries are exact and in the same column
/// on both tracks, a 4-byte header beside a 1,460-byte segment still shows, and
/// lengths are roughly to scale.
struct Scale {
    points: Vec<u64>,
    /// The column of each point.
    cols: Vec<usize>,
}

impl Scale {
    fn new(mut points: Vec<u64>, room: usize) -> Scale {
        points.sort_unstable();
        points.dedup();
        let n = points.len().saturating_sub(1);
        let span = points.last().copied().unwrap_or(0) - points.first().copied().unwrap_or(0);
        let min = if n * 2 <= room {
            2
        } else if n <= room {
            1
        } else {
            0
        };
        let extra = room.saturating_sub(n * min) as u128;
        let mut cols = Vec::with_capacity(points.len());
        let mut at = 0usize;
        cols.push(0);
        // Proportional share by cumulative bytes, so rounding never drifts.
        let mut bytes_before = 0u128;
        for w in points.windows(2) {
            let before = (extra * bytes_before / u128::from(span.max(1))) as usize;
            bytes_before += u128::from(w[1] - w[0]);
            let after = (extra * bytes_before / u128::from(span.max(1))) as usize;
            at += min + after - before;
            cols.push(at);
        }
        Scale { points, cols }
    }

    fn total(&self) -> usize {
        self.cols.last().copied().unwrap_or(0)
    }

    fn col(&self, off: u64) -> usize {
        match self.points.binary_search(&off) {
            Ok(i) => self.cols[i],
            Err(0) => 0,
            Err(i) if i >= self.points.len() => self.total(),
            Err(i) => {
                let (p0, p1, c0, c1) = (self.points[i - 1], self.points[i], self.cols[i - 1], self.cols[i]);
                c0 + ((u128::from(off - p0) * (c1 - c0) as u128) / u128::from(p1 - p0)) as usize
            }
        }
    }

    /// The stream offset at the left edge of column `c`.
    fn offset(&self, c: usize) -> u64 {
        let i = self.cols.partition_point(|&x| x <= c).saturating_sub(1);
        if i + 1 >= self.points.len() {
            return self.points.last().copied().unwrap_or(0);
        }
        let (p0, p1, c0, c1) = (self.points[i], self.points[i + 1], self.cols[i], self.cols[i + 1]);
        p0 + (u128::from(p1 - p0) * (c - c0) as u128 / (c1 - c0).max(1) as u128) as u64
    }
}

/// The two tracks, wrapped over a few rows when there are many items.
fn tracks(out: &mut impl Write, m: &Model, udp: bool, style: Style) -> io::Result<()> {
    // A long stream: the tracks draw its beginning.
    let (segments, messages, mut extent) = m.head();
    let inside = |r: &Range<u64>| r.start < extent.end || extent.is_empty();
    let gaps: Vec<&crate::analysis::segments::Gap> = m.gaps().iter().filter(|g| inside(&g.range)).collect();
    let incomplete: Vec<&crate::analysis::framing::Incomplete> =
        m.incomplete().iter().filter(|i| !m.settled() || i.start < extent.end).collect();
    let width = style.width.saturating_sub(LABEL + 2).max(20);
    let mut points = vec![extent.start, extent.end];
    for s in segments {
        points.extend([s.range.start, s.range.end]);
    }
    for g in &gaps {
        points.extend([g.range.start, g.range.end.min(extent.end)]);
    }
    for msg in messages {
        points.extend([msg.header.start, msg.header.end, msg.trailer.start, msg.trailer.end]);
    }
    for i in &incomplete {
        points.extend([i.start, (i.start + i.received).min(extent.end)]);
    }
    points.sort_unstable();
    points.dedup();
    points.retain(|&p| p <= extent.end);
    // Beyond a few rows' worth of pieces, the tracks stop: every piece keeps room to show.
    let most = width * MAX_TRACK_ROWS / 2;
    if points.len() > most + 1 {
        points.truncate(most + 1);
        extent.end = points[most];
    }
    let pieces = points.len().saturating_sub(1);
    let rows = (pieces * COLS_PER_ITEM).div_ceil(width).clamp(1, MAX_TRACK_ROWS);
    let span = extent.end - extent.start;
    // A short stream is not stretched: at most a few columns a byte.
    let room = (width * rows).min(usize::try_from(span.saturating_mul(4)).unwrap_or(usize::MAX)).max(1);
    let scale = Scale::new(points, room);
    let total = scale.total();
    let (bar, fill, head, gap) = if style.ascii { ('|', '-', '=', '?') } else { ('│', '─', '═', '░') };

    let mut segs = vec![' '; total + 1];
    for g in &gaps {
        paint(&mut segs, &scale, &(g.range.start..g.range.end.min(extent.end)), None, gap, gap, 0..0, bar);
    }
    for s in segments {
        paint(&mut segs, &scale, &s.range, Some(s.number), fill, fill, 0..0, bar);
    }
    let mut msgs = vec![' '; total + 1];
    for msg in messages {
        let marks = if msg.header.is_empty() { msg.trailer.clone() } else { msg.header.clone() };
        paint(&mut msgs, &scale, &msg.span(), Some(msg.number), fill, head, marks, bar);
    }
    for i in &incomplete {
        let r = i.start..(i.start + i.received).min(extent.end);
        paint(&mut msgs, &scale, &r, Some(i.number), gap, gap, 0..0, bar);
    }
    for line in [&mut segs, &mut msgs] {
        if line[..total].iter().any(|&c| c != ' ') {
            line[total] = bar;
        }
    }
    let legend =
        if msgs.contains(&head) { format!("; {head} marks a message's header or delimiter") } else { String::new() };
    let gaps = if segs.contains(&gap) { format!("; {gap} bytes missing") } else { String::new() };
    writeln!(out, "  every boundary is exact, widths roughly follow bytes{legend}{gaps}")?;
    if extent.end < m.extent().end {
        writeln!(out, "  (the tracks show the first {} of {} bytes)", extent.end - extent.start, m.extent().end)?;
    }
    let label = if udp { "datagrams" } else { "segments" };
    let mut c = 0;
    while c < total {
        let end = (c + width).min(total);
        // The closing bar rides on the last row.
        let stop = if end == total { total + 1 } else { end };
        let left = scale.offset(c).to_string();
        let right = if end == total { extent.end } else { scale.offset(end) }.to_string();
        let pad = (stop - c).saturating_sub(left.len() + right.len()).max(1);
        writeln!(out, "  {:<w$}{left}{}{right}", "", " ".repeat(pad), w = LABEL - 2)?;
        let s: String = segs[c..stop].iter().collect();
        let m: String = msgs[c..stop].iter().collect();
        writeln!(out, "{}", format!("  {label:<w$}{s}", w = LABEL - 2).trim_end())?;
        writeln!(out, "{}", format!("  {:<w$}{m}", "messages", w = LABEL - 2).trim_end())?;
        c = end;
    }
    Ok(())
}

/// Draws `range` on `line`: a bar where it starts, its number after the bar when it
/// fits, `fill` elsewhere and `mark` over `marked`.
#[allow(clippy::too_many_arguments)]
fn paint(
    line: &mut [char],
    scale: &Scale,
    range: &Range<u64>,
    number: Option<u64>,
    fill: char,
    mark: char,
    marked: Range<u64>,
    bar: char,
) {
    if range.is_empty() {
        return;
    }
    let c = scale.col(range.start)..scale.col(range.end);
    line[c.clone()].fill(fill);
    if !marked.is_empty() {
        line[scale.col(marked.start)..scale.col(marked.end)].fill(mark);
    }
    if c.is_empty() {
        return;
    }
    line[c.start] = bar;
    if let Some(n) = number {
        let digits = n.to_string();
        if c.len() > digits.len() + 1 {
            for (k, d) in digits.chars().enumerate() {
                line[c.start + 1 + k] = d;
            }
        }
    }
}

enum Show {
    Row,
    /// The first elided row: how many are elided.
    Gap(usize),
    Skip,
}

/// Which rows of a list of `n` are printed.
fn elide(n: usize, expand: bool) -> impl Fn(usize) -> Show {
    move |i| {
        if expand || n <= 2 * KEEP + 1 || i < KEEP || i >= n - KEEP {
            Show::Row
        } else if i == KEEP {
            Show::Gap(n - 2 * KEEP)
        } else {
            Show::Skip
        }
    }
}

/// The rows of a listing with their place in the whole list.
fn rows<'a, T>(l: &crate::analysis::segments::Listing<'a, T>) -> (usize, Vec<(usize, &'a T)>) {
    let n = l.head.len() + l.omitted as usize + l.tail.len();
    let after = l.head.len() + l.omitted as usize;
    let rows =
        l.head.iter().copied().enumerate().chain(l.tail.iter().copied().enumerate().map(|(j, x)| (after + j, x)));
    (n, rows.collect())
}

fn segment_list(out: &mut impl Write, m: &Model, word: &str, style: Style) -> io::Result<()> {
    writeln!(out, "  {word:<9} {:>8}  {:>21}  {:>7}", "frame", "stream bytes", "length")?;
    let (n, segs) = rows(&m.segment_listing());
    let shown = elide(n, style.expand);
    // The earliest frame among the segments after each one (up to a run left out).
    let mut after = vec![u64::MAX; segs.len()];
    for k in (0..segs.len().saturating_sub(1)).rev() {
        if segs[k + 1].0 == segs[k].0 + 1 {
            after[k] = after[k + 1].min(segs[k + 1].1.frame);
        }
    }
    for (k, &(i, s)) in segs.iter().enumerate() {
        match shown(i) {
            Show::Row => {
                let r = format!("{}-{}", s.range.start, s.range.end - 1);
                let psh = if s.psh { "  PSH" } else { "" };
                let re = if s.sent.start < s.range.start { "  (starts with bytes already received)" } else { "" };
                // Bytes after it came in an earlier frame: it filled a gap (a lost segment
                // sent again, or one overtaken on the way), so the frames of a message
                // need not come in its stream order.
                let late = if after[k] < s.frame { "  (late: fills a gap)" } else { "" };
                writeln!(out, "  {:<9} {:>8}  {r:>21}  {:>7}{psh}{re}{late}", s.number, s.frame, s.len())?;
            }
            Show::Gap(k) => writeln!(out, "  … {k} more (--expand shows every one)")?,
            Show::Skip => {}
        }
    }
    Ok(())
}

fn message_list(out: &mut impl Write, m: &Model, style: Style) -> io::Result<()> {
    let (n, msgs) = rows(&m.message_listing());
    if msgs.is_empty() {
        let why = if m.spec().to_string() == "none" {
            "no framing given (--framing none): only segment boundaries show"
        } else {
            "no complete message"
        };
        return writeln!(out, "  messages: {why}");
    }
    writeln!(out, "  {:<9} {:>21}  {:>6}  {:>7}  preview", "message", "stream bytes", "header", "body")?;
    let shown = elide(n, style.expand);
    for (i, msg) in msgs {
        match shown(i) {
            Show::Row => {
                let span = msg.span();
                let r = if span.is_empty() {
                    format!("{}", span.start)
                } else {
                    format!("{}-{}", span.start, span.end - 1)
                };
                let hdr = msg.header.end - msg.header.start + msg.trailer.end - msg.trailer.start;
                let mut p = Vec::new();
                if let Some(j) = &msg.json {
                    // The JSON header says what the body is: the lesson's point.
                    p.extend_from_slice(j.as_bytes());
                    p.push(b' ');
                }
                preview(&mut p, msg.preview.as_bytes(), msg.len())?;
                let p = String::from_utf8_lossy(&p);
                writeln!(out, "  {:<9} {r:>21}  {hdr:>6}  {:>7}  {p}", msg.number, msg.len())?;
            }
            Show::Gap(k) => writeln!(out, "  … {k} more (--expand shows every one)")?,
            Show::Skip => {}
        }
    }
    Ok(())
}

/// A body's first bytes on one line, quoted, with an ellipsis when there is more.
fn preview(out: &mut Vec<u8>, bytes: &[u8], len: u64) -> io::Result<()> {
    const SHOWN: usize = 24;
    let b = &bytes[..bytes.len().min(SHOWN)];
    out.push(b'"');
    let mut esc = Vec::new();
    super::stream::escape(&mut esc, b)?;
    // One line: a newline shows as its escape only.
    out.extend(esc.iter().copied().filter(|&c| c != b'\n'));
    out.push(b'"');
    if len > b.len() as u64 {
        out.extend_from_slice("…".as_bytes());
    }
    Ok(())
}

fn totals(out: &mut impl Write, t: &Totals, udp: bool) -> io::Result<()> {
    if udp {
        return writeln!(
            out,
            "  totals: {} datagrams = {} messages, none coalesced, none split",
            t.segments, t.messages
        );
    }
    write!(
        out,
        "  totals: {} message{} in {} segment{}: {} coalesced segment{}, {} split message{}",
        t.messages,
        plural(t.messages),
        t.segments,
        plural(t.segments),
        t.coalesced,
        plural(t.coalesced),
        t.split,
        plural(t.split)
    )?;
    if t.header_split > 0 {
        write!(out, ", {} split header{}", t.header_split, plural(t.header_split))?;
    }
    match t.incomplete {
        0 => {}
        1 => write!(out, ", an incomplete message")?,
        n => write!(out, ", {n} incomplete messages")?,
    }
    if t.skipped > 0 {
        write!(out, ", {} message{} lost in gaps", t.skipped, plural(t.skipped))?;
    }
    if t.outside > 0 {
        write!(out, ", {} bytes outside any message", t.outside)?;
    }
    if t.missing > 0 {
        write!(out, ", {} bytes missing", t.missing)?;
    }
    if t.retransmitted > 0 {
        write!(out, ", {} bytes retransmitted (counted once)", t.retransmitted)?;
    }
    if t.conflicts > 0 {
        write!(out, ", {} conflicting overlaps", t.conflicts)?;
    }
    writeln!(out)
}

/// The same facts as JSON lines: one `conn` record, then per direction its
/// `segment`s, `message`s, `note`s and `totals`.
pub fn write_jsonl(out: &mut impl Write, conn: u32, peers: &Peers, models: &[(Dir, &Model)]) -> io::Result<()> {
    let udp = peers.proto == crate::analysis::conn::Proto::Udp;
    let framing = match models.first() {
        Some(_) if udp => "datagram".to_string(),
        Some((_, m)) => m.spec().to_string(),
        None => String::new(),
    };
    let line = |out: &mut dyn Write, v: serde_json::Value| -> io::Result<()> {
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")
    };
    line(
        out,
        json!({"type": "conn", "conn": conn, "proto": peers.proto.name(), "stream": peers.stream,
               "client": peers.client.to_string(), "server": peers.server.to_string(), "framing": framing}),
    )?;
    for (dir, m) in models {
        let d = dir.name();
        let (segments, messages) = (m.segment_listing(), m.message_listing());
        if segments.omitted + messages.omitted + m.notes_omitted() > 0 {
            // A long stream: its records' two ends, and how many were let go between.
            line(
                out,
                json!({"type": "omitted", "dir": d, "segments": segments.omitted,
                       "messages": messages.omitted, "notes": m.notes_omitted()}),
            )?;
        }
        for s in segments.head.iter().chain(&segments.tail) {
            line(
                out,
                json!({"type": "segment", "dir": d, "number": s.number, "frame": s.frame, "ts_ns": s.ts,
                       "start": s.range.start, "end": s.range.end, "len": s.len(), "psh": s.psh}),
            )?;
        }
        for msg in messages.head.iter().chain(&messages.tail) {
            line(
                out,
                json!({"type": "message", "dir": d, "number": msg.number, "start": msg.span().start,
                       "end": msg.span().end, "header": [msg.header.start, msg.header.end],
                       "body": [msg.body.start, msg.body.end], "len": msg.len(),
                       "preview": String::from_utf8_lossy(msg.preview.as_bytes()), "json": msg.json}),
            )?;
        }
        for n in m.notes() {
            let mut v = json!({"type": "note", "dir": d, "kind": note_kind(&n), "text": n.to_string()});
            // Which messages a gap took, for a reader checking numbers without the text.
            if let (Note::Resumed(r), Some(o)) = (&n, v.as_object_mut()) {
                o.insert("offset".into(), r.offset.into());
                o.insert("message".into(), r.message.into());
                o.insert("skipped".into(), json!([r.skipped.start, r.skipped.end]));
            }
            line(out, v)?;
        }
        let t = m.totals();
        line(
            out,
            json!({"type": "totals", "dir": d, "messages": t.messages, "segments": t.segments,
                   "coalesced": t.coalesced, "split": t.split, "header_split": t.header_split,
                   "incomplete": t.incomplete > 0, "incomplete_messages": t.incomplete,
                   "skipped_messages": t.skipped, "bytes": t.bytes, "outside": t.outside,
                   "missing": t.missing, "retransmitted": t.retransmitted, "conflicts": t.conflicts}),
        )?;
    }
    Ok(())
}

fn note_kind(n: &Note) -> &'static str {
    match n {
        Note::Coalesced { .. } => "coalesced",
        Note::Split { .. } => "split",
        Note::HeaderSplit { .. } => "header_split",
        Note::Missing(_) => "missing",
        Note::Conflict { .. } => "conflict",
        Note::FramingLost(_) => "framing_lost",
        Note::Incomplete(_) => "incomplete",
        Note::Resumed(_) => "resumed",
    }
}
