//! `read`, `show`, `stats`: the packet list, the layer tree, the summary.

use super::*;

/// How `read` and `capture` write a frame: a list line, a layer tree, a JSON line, or
/// an object of the JSON array (its brackets and commas are the caller's).
pub(super) enum Fmt {
    List(ListRenderer),
    Tree { digits: u8, hex: bool },
    Jsonl(JsonRenderer),
    Json(JsonRenderer),
}

impl Fmt {
    pub(super) fn new(view: &View, digits: u8) -> Fmt {
        match view.shape {
            Shape::Tree { hex } => Fmt::Tree { digits, hex },
            Shape::List => Fmt::List(ListRenderer::new(view.time, digits)),
            Shape::Jsonl => Fmt::Jsonl(JsonRenderer::new(digits)),
            Shape::Json => Fmt::Json(JsonRenderer::new(digits)),
        }
    }

    pub(super) fn write(
        &mut self,
        out: &mut impl Write,
        f: &Frame<'_>,
        p: &decode::Packet<'_>,
        ctx: &Context,
        times: (i128, i128),
    ) -> io::Result<()> {
        match self {
            Fmt::List(l) => l.write_line(out, f, p, ctx, times),
            Fmt::Tree { digits, hex } => tree::write_tree(out, f, p, ctx, times.0, *digits, *hex),
            Fmt::Jsonl(j) => {
                j.write_frame(out, f, p, ctx, times)?;
                out.write_all(b"\n")
            }
            Fmt::Json(j) => j.write_frame(out, f, p, ctx, times),
        }
    }

    pub(super) fn flush(&mut self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Fmt::List(l) => l.flush(out),
            _ => Ok(()),
        }
    }

    /// One batch in this many is formatted by the reader. Its own work (reading,
    /// decoding, the connection tracker, the filter) is about two thirds of a
    /// list line's formatting, so one in six keeps both cores equally busy
    /// (instructions counted per thread with callgrind on 0.5 M frames: 1.01 G
    /// and 1.02 G; one in four left the reader 20% behind). A tree or a JSON line
    /// costs ten times a list line: the reader takes every other batch.
    pub(super) fn reader_share(&self) -> u64 {
        match self {
            Fmt::List(_) => 6,
            _ => 2,
        }
    }
}

/// A frame that passed the filter, decoded, with what the renderers need.
pub(super) struct Matched<'a> {
    pub(super) packet: decode::Packet<'a>,
    pub(super) ctx: Context,
    pub(super) times: (i128, i128),
}

/// The per-frame part of `read` and `capture`: decode, relative sequence numbers,
/// filter, render. Files and live interfaces go through exactly this.
pub(super) struct Pipeline<'f> {
    pub(super) view: View,
    pub(super) filter: Option<&'f Filter>,
    /// Times since the first and the previous frame.
    pub(super) times: ListRenderer,
    pub(super) fmt: Fmt,
    pub(super) seq: Tracker,
    /// Frames need what `complete` adds to the tracker's context.
    pub(super) streams: bool,
    pub(super) first_json: bool,
    pub(super) malformed: u64,
}

impl<'f> Pipeline<'f> {
    pub(super) fn new(view: View, filter: Option<&'f Filter>) -> Self {
        Pipeline {
            view,
            filter,
            times: ListRenderer::new(view.time, 6),
            fmt: Fmt::new(&view, 6),
            seq: tracker(DEFAULT_MAX_CONNS, false),
            streams: shows_streams(&view, filter),
            first_json: true,
            malformed: 0,
        }
    }

    /// A new source: times, sequence numbers and the malformed count start over.
    pub(super) fn start(&mut self, digits: u8) {
        self.times = ListRenderer::new(self.view.time, digits);
        self.fmt = Fmt::new(&self.view, digits);
        self.seq = tracker(DEFAULT_MAX_CONNS, false);
        self.malformed = 0;
    }

    pub(super) fn matches<'a>(&mut self, frame: &Frame<'a>) -> Option<Matched<'a>> {
        let mut packet = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
        packet.decode();
        let mut seen = self.seq.observe(frame.number, frame.ts.0, frame.orig_len, &packet);
        if self.streams {
            complete(&self.seq, frame.number, &mut seen);
        }
        let rel = seen.ctx;
        let times = self.times.observe(frame);
        let ctx = if self.view.absolute_seq { Context::default() } else { rel };
        if self.filter.is_some_and(|f| !f.matches(frame, &packet, &ctx)) {
            return None;
        }
        if stats::is_malformed(frame, &packet) {
            self.malformed += 1;
        }
        Some(Matched { packet, ctx, times })
    }

    pub(super) fn begin(&self, out: &mut impl Write) -> io::Result<()> {
        if self.view.shape == Shape::Json {
            out.write_all(b"[")?;
        }
        Ok(())
    }

    pub(super) fn show(&mut self, out: &mut impl Write, frame: &Frame<'_>, m: &Matched<'_>) -> io::Result<()> {
        // The array's commas run across files: they are the pipeline's, not the format's.
        if self.view.shape == Shape::Json {
            out.write_all(if self.first_json { b"\n" } else { b",\n" })?;
            self.first_json = false;
        }
        self.fmt.write(out, frame, &m.packet, &m.ctx, m.times)
    }

    /// Writes out list lines the renderer still holds.
    pub(super) fn flush(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.fmt.flush(out)
    }

    pub(super) fn end(&self, out: &mut impl Write) -> io::Result<()> {
        if self.view.shape == Shape::Json {
            out.write_all(b"\n]\n")?;
        }
        Ok(())
    }
}

pub(super) fn read(a: ReadPlan) -> Result<bool> {
    let filter = a.filter;
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut shown = 0u64;
    let view = a.view;
    let mut pipe = Pipeline::new(view, filter.as_ref());
    pipe.begin(&mut out)?;
    // The JSON array's commas depend on which frame came first overall: it stays
    // on one thread.
    let two_threads = view.shape != Shape::Json && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    // Under a selective filter the two-core pipeline has its writer thread track
    // (see `pipeline`): both cores busy, the file is better read plainly than mapped
    // and read ahead on a third thread.
    let writer_tracks = two_threads && !view.absolute_seq && filter.as_ref().is_some_and(|f| !f.needs_context());
    'files: for (fi, path) in a.files.iter().enumerate() {
        let opened = match filter.as_ref() {
            Some(f) if writer_tracks && selective(path, f) => CaptureFile::open_stream(path),
            _ => CaptureFile::open_scan(path),
        };
        let mut cap = match opened {
            Ok(c) => c,
            Err(e) => {
                problems.file_error(&mut out, &e)?;
                continue;
            }
        };
        if a.files.len() > 1 && view.shape == Shape::List {
            if fi > 0 {
                writeln!(out)?;
            }
            writeln!(out, "==> {path} <==")?;
        }
        let d = digits(cap.format());
        if two_threads {
            out.flush()?;
            let remaining = a.count.map(|c| c - shown);
            let run = pipeline::list(&mut cap, super::stdout(), filter.as_ref(), view, d, remaining)?;
            shown += run.shown;
            if let Some(e) = run.error {
                problems.file_error(&mut out, &e)?;
            }
            problems.malformed(&mut out, path, run.malformed, cap.frames_read())?;
            if a.count.is_some_and(|c| shown >= c) {
                break 'files;
            }
            continue;
        }
        pipe.start(d);
        loop {
            let frame = match cap.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    pipe.flush(&mut out)?;
                    problems.file_error(&mut out, &e)?;
                    break;
                }
            };
            let Some(m) = pipe.matches(&frame) else { continue };
            pipe.show(&mut out, &frame, &m)?;
            shown += 1;
            if a.count.is_some_and(|c| shown >= c) {
                pipe.flush(&mut out)?;
                problems.malformed(&mut out, path, pipe.malformed, cap.frames_read())?;
                break 'files;
            }
        }
        pipe.flush(&mut out)?;
        problems.malformed(&mut out, path, pipe.malformed, cap.frames_read())?;
    }
    pipe.end(&mut out)?;
    out.flush()?;
    Ok(problems.ok)
}

/// Whether `filter` shows fewer than one in sixteen of the first frames of the file
/// at `path`: the share under which `read`'s writer thread tracks the connections
/// (`pipeline`), and reading the file plainly pays (`CaptureFile::open_stream`). Mapped
/// and read ahead, a file shown in part costs no copy of the frames shown: with one
/// frame in seven shown, plain reads took 0.48 s on 2 M frames against 0.42 s
/// mapped. False for what is not a mapped file (standard input, a pipe): read once,
/// it cannot be looked at first.
pub(super) fn selective(path: &str, filter: &Filter) -> bool {
    const SAMPLE: u64 = 1 << 15;
    // Asked before opening: opening a pipe already reads from it.
    if path == "-" || !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(mut cap) = CaptureFile::open(path) else { return false };
    if !cap.is_mapped() {
        return false;
    }
    let (mut n, mut shown) = (0u64, 0u64);
    while n < SAMPLE {
        let Ok(Some(f)) = cap.next_frame() else { break };
        let mut p = decode::Packet::undecoded(f.link, f.data, f.orig_len);
        p.decode();
        n += 1;
        // The filter names no tracked field: the context does not change its answer.
        shown += u64::from(filter.matches(&f, &p, &Context::default()));
    }
    shown * 16 < n
}

pub(super) fn show(a: ShowPlan) -> Result<bool> {
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open(&a.file)?;
    let d = digits(cap.format());
    let wanted = a.frames;
    let last = wanted.last().copied().unwrap_or(0);
    let mut seq = tracker(DEFAULT_MAX_CONNS, false);
    let mut list = ListRenderer::new(crate::render::list::TimeFormat::Relative, d);
    let mut found = Vec::new();
    loop {
        let frame = match cap.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                problems.file_error(&mut out, &e)?;
                break;
            }
        };
        let p = decode::decode(frame.link, frame.data, frame.orig_len);
        let mut seen = seq.observe(frame.number, frame.ts.0, frame.orig_len, &p);
        complete(&seq, frame.number, &mut seen);
        let rel = seen.ctx;
        let times = list.observe(&frame);
        if wanted.binary_search(&frame.number).is_ok() {
            let ctx = if a.absolute_seq { Context::default() } else { rel };
            tree::write_tree(&mut out, &frame, &p, &ctx, times.0, d, a.hex)?;
            found.push(frame.number);
        }
        if frame.number >= last {
            break;
        }
    }
    out.flush()?;
    let missing: Vec<String> = wanted.iter().filter(|n| !found.contains(n)).map(|n| n.to_string()).collect();
    if !missing.is_empty() {
        eprintln!("pktlab: {}: no frame {} (the file has {} frames)", a.file, missing.join(", "), cap.frames_read());
        problems.ok = false;
    }
    Ok(problems.ok)
}

pub(super) fn stats_cmd(a: StatsPlan) -> Result<bool> {
    let filter = a.filter;
    let streams = filter.as_ref().is_some_and(Filter::names_streams);
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    for (i, path) in a.files.iter().enumerate() {
        let mut cap = match CaptureFile::open_scan(path) {
            Ok(c) => c,
            Err(e) => {
                problems.file_error(&mut out, &e)?;
                continue;
            }
        };
        let mut st = Stats::default();
        let mut seq = tracker(DEFAULT_MAX_CONNS, false);
        let mut error = None;
        loop {
            let frame = match cap.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    error = Some(e.to_string());
                    problems.file_error(&mut out, &e)?;
                    break;
                }
            };
            let mut p = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
            p.decode();
            if let Some(f) = &filter {
                let mut seen = seq.observe(frame.number, frame.ts.0, frame.orig_len, &p);
                if streams {
                    complete(&seq, frame.number, &mut seen);
                }
                if !f.matches(&frame, &p, &seen.ctx) {
                    continue;
                }
            }
            st.add(&frame, &p);
        }
        let size = if path == "-" { None } else { std::fs::metadata(path).ok().map(|m| m.len()) };
        let summary = crate::render::stats::Summary {
            file: path,
            file_size: size,
            format: cap.format(),
            interfaces: cap.interfaces(),
            stats: &st,
            error,
        };
        match a.print {
            Print::Table => {
                if i > 0 {
                    writeln!(out)?;
                }
                crate::render::stats::write_table(&mut out, &summary)?
            }
            Print::Jsonl => crate::render::stats::write_json(&mut out, &summary)?,
        }
        if st.malformed > 0 {
            problems.ok = false;
        }
    }
    out.flush().context("writing output")?;
    Ok(problems.ok)
}
