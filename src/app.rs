//! Wiring: source -> decode -> filter -> analyses -> render, one function per command.
//! The CLI layer has already turned what the user typed into `cli` values; here they
//! become a plan, and problems that do not stop the run are counted and reported once.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::analysis::conn::{Tracker, DEFAULT_MAX_CONNS};
use crate::analysis::stats::{self, Stats};
use crate::cli::{CaptureArgs, Cli, Command, Format, IfacesArgs, ReadArgs, ShowArgs, StatsArgs, StatsFormat, ViewArgs};
use crate::decode::{self, Context};
use crate::filter::Filter;
use crate::render::{json::JsonRenderer, list::ListRenderer, tree};
use crate::sink::pcap::PcapFileWriter;
use crate::source::live::{self, bpf, Event, LiveSource};
use crate::source::pcap::FileFormat;
use crate::source::{CaptureFile, Frame};

/// Runs a command; `Ok(true)` when everything went well, `Ok(false)` when the run
/// finished but some frames or files had problems (exit status 2).
pub fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Read(a) => read(a),
        Command::Show(a) => show(a),
        Command::Stats(a) => stats_cmd(a),
        Command::Ifaces(a) => ifaces(a),
        Command::Capture(a) => capture(a),
        Command::Conns(a) => conns_cmd(a),
        Command::Ladder(a) => ladder_cmd(a),
        Command::Stream(a) => stream_cmd(a),
        Command::Segments(a) => segments_cmd(a),
        Command::Demo(a) => demo_cmd(a),
        Command::Subnet(a) => subnet_cmd(a),
        Command::Gen(a) => gen_cmd(a),
        Command::Serve(a) => serve_cmd(a),
        Command::Send(a) => send_cmd(a),
        Command::Scan(a) => scan_cmd(a),
    }
}

/// A connection tracker whose retired records, past a few thousand, go to a temporary
/// file (see `spill::records`): memory stays flat however many connections a capture
/// (or a live capture left running) holds.
fn tracker(cap: usize, keep: bool) -> Tracker {
    let mut t = Tracker::new(cap, keep);
    t.store_retired(Box::new(crate::spill::records::FileRecords::default()));
    t
}

/// Buffered standard output. Not locked for the whole run: the list pipeline writes
/// from a second thread.
fn stdout() -> BufWriter<io::Stdout> {
    BufWriter::with_capacity(crate::render::list::OUT_CHUNK, io::stdout())
}

/// Parses the display filter once, with a caret under the column that failed.
pub fn parse_filter(expr: Option<&str>) -> Result<Option<Filter>> {
    match expr {
        None => Ok(None),
        Some(src) => Filter::parse(src).map(Some).map_err(|e| anyhow::anyhow!(e.render(src))),
    }
}

/// Reports problems the run survived; returns whether there were none.
struct Problems {
    ok: bool,
}

impl Problems {
    fn file_error(&mut self, out: &mut impl Write, e: &dyn std::fmt::Display) -> Result<()> {
        // Flush first so the message lands after the frames that preceded the damage.
        out.flush()?;
        eprintln!("pktlab: {e}");
        self.ok = false;
        Ok(())
    }
    fn malformed(&mut self, out: &mut impl Write, file: &str, n: u64, total: u64) -> Result<()> {
        if n > 0 {
            out.flush()?;
            eprintln!("pktlab: {file}: {n} of {total} frames are malformed (marked [Malformed] in the output)");
            self.ok = false;
        }
        Ok(())
    }
}

fn digits(format: &FileFormat) -> u8 {
    match format {
        FileFormat::Pcap { nanosecond: true, .. } => 9,
        _ => 6,
    }
}

/// How `read` and `capture` write a frame: a list line, a layer tree, a JSON line, or
/// an object of the JSON array (its brackets and commas are the caller's).
enum Fmt {
    List(ListRenderer),
    Tree { digits: u8, hex: bool },
    Jsonl(JsonRenderer),
    Json(JsonRenderer),
}

impl Fmt {
    fn new(view: &ViewArgs, digits: u8) -> Fmt {
        match view.format {
            Format::List if view.verbose || view.hex => Fmt::Tree { digits, hex: view.hex },
            Format::List => Fmt::List(ListRenderer::new(view.time.into(), digits)),
            Format::Jsonl => Fmt::Jsonl(JsonRenderer::new(digits)),
            Format::Json => Fmt::Json(JsonRenderer::new(digits)),
        }
    }

    fn write(
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

    fn flush(&mut self, out: &mut impl Write) -> io::Result<()> {
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
    fn reader_share(&self) -> u64 {
        match self {
            Fmt::List(_) => 6,
            _ => 2,
        }
    }
}

/// A frame that passed the filter, decoded, with what the renderers need.
struct Matched<'a> {
    packet: decode::Packet<'a>,
    ctx: Context,
    times: (i128, i128),
}

/// The per-frame part of `read` and `capture`: decode, relative sequence numbers,
/// filter, render. Files and live interfaces go through exactly this.
struct Pipeline<'f> {
    view: ViewArgs,
    filter: Option<&'f Filter>,
    /// Times since the first and the previous frame.
    times: ListRenderer,
    fmt: Fmt,
    seq: Tracker,
    first_json: bool,
    malformed: u64,
}

impl<'f> Pipeline<'f> {
    fn new(view: ViewArgs, filter: Option<&'f Filter>) -> Self {
        Pipeline {
            view,
            filter,
            times: ListRenderer::new(view.time.into(), 6),
            fmt: Fmt::new(&view, 6),
            seq: tracker(DEFAULT_MAX_CONNS, false),
            first_json: true,
            malformed: 0,
        }
    }

    /// A new source: times, sequence numbers and the malformed count start over.
    fn start(&mut self, digits: u8) {
        self.times = ListRenderer::new(self.view.time.into(), digits);
        self.fmt = Fmt::new(&self.view, digits);
        self.seq = tracker(DEFAULT_MAX_CONNS, false);
        self.malformed = 0;
    }

    fn matches<'a>(&mut self, frame: &Frame<'a>) -> Option<Matched<'a>> {
        let mut packet = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
        packet.decode();
        let rel = self.seq.observe(frame.number, frame.ts.0, frame.orig_len, &packet).ctx;
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

    fn begin(&self, out: &mut impl Write) -> io::Result<()> {
        if self.view.format == Format::Json {
            out.write_all(b"[")?;
        }
        Ok(())
    }

    fn show(&mut self, out: &mut impl Write, frame: &Frame<'_>, m: &Matched<'_>) -> io::Result<()> {
        // The array's commas run across files: they are the pipeline's, not the format's.
        if self.view.format == Format::Json {
            out.write_all(if self.first_json { b"\n" } else { b",\n" })?;
            self.first_json = false;
        }
        self.fmt.write(out, frame, &m.packet, &m.ctx, m.times)
    }

    /// Writes out list lines the renderer still holds.
    fn flush(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.fmt.flush(out)
    }

    fn end(&self, out: &mut impl Write) -> io::Result<()> {
        if self.view.format == Format::Json {
            out.write_all(b"\n]\n")?;
        }
        Ok(())
    }
}

fn read(a: ReadArgs) -> Result<bool> {
    let filter = parse_filter(a.filter.as_deref())?;
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut shown = 0u64;
    let view = a.view;
    let mut pipe = Pipeline::new(view, filter.as_ref());
    pipe.begin(&mut out)?;
    // The JSON array's commas depend on which frame came first overall: it stays
    // on one thread.
    let two_threads = view.format != Format::Json && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
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
        if a.files.len() > 1 && view.format == Format::List {
            if fi > 0 {
                writeln!(out)?;
            }
            writeln!(out, "==> {path} <==")?;
        }
        let d = digits(cap.format());
        if two_threads {
            out.flush()?;
            let remaining = a.count.map(|c| c - shown);
            let run = pipeline::list(&mut cap, filter.as_ref(), &a, d, remaining)?;
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
fn selective(path: &str, filter: &Filter) -> bool {
    const SAMPLE: u64 = 1 << 15;
    // Asked before opening: opening a pipe already reads from it.
    if path == "-" || !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(mut cap) = CaptureFile::open(path) else { return false };
    if cap.mapping().is_none() {
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

fn show(a: ShowArgs) -> Result<bool> {
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open(&a.file)?;
    let d = digits(cap.format());
    let mut wanted: Vec<u64> = a.frames.clone();
    wanted.sort_unstable();
    wanted.dedup();
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
        let rel = seq.observe(frame.number, frame.ts.0, frame.orig_len, &p).ctx;
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

fn stats_cmd(a: StatsArgs) -> Result<bool> {
    let filter = parse_filter(a.filter.as_deref())?;
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
                let ctx = seq.observe(frame.number, frame.ts.0, frame.orig_len, &p).ctx;
                if !f.matches(&frame, &p, &ctx) {
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
        match a.format {
            StatsFormat::Table => {
                if i > 0 {
                    writeln!(out)?;
                }
                crate::render::stats::write_table(&mut out, &summary)?
            }
            StatsFormat::Jsonl => crate::render::stats::write_json(&mut out, &summary)?,
        }
        if st.malformed > 0 {
            problems.ok = false;
        }
    }
    out.flush().context("writing output")?;
    Ok(problems.ok)
}

/// `read` on two cores: list lines, layer trees or JSON lines. The reader thread keeps
/// the sequential state (times, the filter, usually the connection tracker) and formats
/// a share of the batches itself (`Fmt::reader_share`); the writer thread formats the
/// others and writes every batch in order. Under a selective filter that names no
/// tracked field the writer would idle: the tracker moves to it, fed each frame's
/// [`Input`], and moves back when the filter starts showing most frames.
/// Frames travel as offsets into the shared mapping of a mapped file, or, read from a
/// stream, copied into the batch's byte buffer; nothing is allocated per frame
/// (batches and buffers are recycled).
mod pipeline {
    use std::io::{self, Write};
    use std::sync::mpsc;

    use super::Fmt;
    use crate::analysis::conn::{Input, Tracker};
    use crate::analysis::stats;
    use crate::cli::ReadArgs;
    use crate::decode::{self, Context};
    use crate::filter::Filter;
    use crate::render::list::ListRenderer;
    use crate::source::pcap::release_mapped;
    use crate::source::{CaptureFile, Frame, LinkType, SourceError, Timestamp};

    const BATCH: usize = 2048;

    /// Frames between decisions on which thread runs the connection tracker.
    const WINDOW: u64 = 1 << 15;

    #[derive(Clone, Copy)]
    struct Job {
        number: u64,
        ts: Timestamp,
        link: LinkType,
        orig_len: u32,
        interface: u32,
        ts_digits: u8,
        off: usize,
        len: usize,
        ctx: Context,
        times: (i128, i128),
        /// When the writer tracks: the frame's place among its batch's tracker
        /// inputs (`ctx` is then the writer's to fill).
        input: Option<u32>,
    }

    /// Frames for the writer to format.
    #[derive(Default)]
    struct Jobs {
        jobs: Vec<Job>,
        /// The frames' bytes, when `copied`.
        bytes: Vec<u8>,
        /// The frames are in `bytes`: the input is not mapped, or the reader releases
        /// the mapping behind itself (it does while the writer tracks).
        copied: bool,
        /// The tracker's input for every frame read, when the writer tracks.
        inputs: Vec<Input>,
    }

    /// A batch, with the reader's position in the file when it was sent: no later
    /// batch refers to bytes before it, so the writer may release them.
    enum Batch {
        Jobs(Jobs, usize),
        Text(Vec<u8>, usize),
        /// The connection tracker moves to the writer: it tracks from the next batch.
        Tracker(Box<Tracker>),
        /// The writer sends the tracker back once done with the batches before.
        GiveBack,
    }

    pub struct Run {
        pub shown: u64,
        pub malformed: u64,
        pub error: Option<SourceError>,
    }

    pub fn list(
        cap: &mut CaptureFile,
        filter: Option<&Filter>,
        a: &ReadArgs,
        digits: u8,
        limit: Option<u64>,
    ) -> anyhow::Result<Run> {
        let map = cap.mapping();
        let copy = map.is_none();
        if !copy {
            cap.set_release(false);
        }
        let base = map.as_ref().map_or(0, |m| m.as_ptr() as usize);
        let (tx, rx) = mpsc::sync_channel::<Batch>(4);
        let (back_tx, back_rx) = mpsc::channel::<Batch>();
        let (tracker_tx, tracker_rx) = mpsc::channel::<Box<Tracker>>();
        let view = a.view;
        let time = view.time;
        let absolute = view.absolute_seq;
        std::thread::scope(|s| {
            let writer_map = map.clone();
            let writer = s.spawn(move || -> io::Result<()> {
                let mut out = super::stdout();
                let mut fmt = Fmt::new(&view, digits);
                let mut released = 0;
                let mut tracker: Option<Box<Tracker>> = None;
                for b in rx {
                    match b {
                        Batch::Jobs(b, done) => {
                            let mut pending = b.inputs.iter().enumerate();
                            for j in &b.jobs {
                                let mut ctx = j.ctx;
                                if let (Some(at), Some(t)) = (j.input, tracker.as_mut()) {
                                    for (k, i) in pending.by_ref() {
                                        let seen = t.apply(i);
                                        if k == at as usize {
                                            ctx = seen.ctx;
                                            break;
                                        }
                                    }
                                }
                                let data = match &writer_map {
                                    Some(m) if !b.copied => &m[j.off..j.off + j.len],
                                    _ => &b.bytes[j.off..j.off + j.len],
                                };
                                let f = Frame {
                                    number: j.number,
                                    ts: j.ts,
                                    link: j.link,
                                    orig_len: j.orig_len,
                                    data,
                                    interface: j.interface,
                                    ts_digits: j.ts_digits,
                                };
                                let mut p = decode::Packet::undecoded(f.link, f.data, f.orig_len);
                                p.decode();
                                fmt.write(&mut out, &f, &p, &ctx, j.times)?;
                            }
                            if let Some(t) = tracker.as_mut() {
                                for (_, i) in pending {
                                    t.apply(i);
                                }
                            }
                            fmt.flush(&mut out)?;
                            if let Some(m) = writer_map.as_ref().filter(|_| !b.copied) {
                                released = release_mapped(m, released, done);
                            }
                            let _ = back_tx.send(Batch::Jobs(b, 0));
                        }
                        Batch::Text(text, done) => {
                            out.write_all(&text)?;
                            if let Some(m) = &writer_map {
                                released = release_mapped(m, released, done);
                            }
                            let _ = back_tx.send(Batch::Text(text, 0));
                        }
                        Batch::Tracker(t) => tracker = Some(t),
                        // The reader sends this only after the tracker.
                        Batch::GiveBack => {
                            let _ = tracker_tx.send(tracker.take().unwrap_or_default());
                        }
                    }
                }
                out.flush()
            });
            let mut run = Run { shown: 0, malformed: 0, error: None };
            // With `--absolute-seq` nothing the tracker finds is shown.
            let mut seq = (!absolute).then(|| Box::new(super::tracker(super::DEFAULT_MAX_CONNS, false)));
            // A filter that does not look at what the tracker finds can be decided
            // here while the writer, idle under a selective filter, tracks: the
            // tracker is as much work as all the rest of the reader's.
            let may_move = !absolute && filter.is_some_and(|f| !f.needs_context());
            let (mut window, mut window_shown) = (0u64, 0u64);
            let mut list = ListRenderer::new(time.into(), digits);
            let mut b = Batcher {
                tx,
                back: back_rx,
                jobs: Jobs { copied: copy, ..Jobs::default() },
                text: Vec::with_capacity(crate::render::list::OUT_CHUNK),
                mine: Fmt::new(&view, digits),
                n_batch: 0,
                len: 0,
                start: 0,
                spare_jobs: Vec::new(),
                spare_text: Vec::new(),
                split: false,
                copy,
            };
            if may_move {
                if let Some(t) = seq.take() {
                    if b.tx.send(Batch::Tracker(t)).is_err() {
                        return Err(anyhow::anyhow!("the list writer thread failed"));
                    }
                    b.set_split(true, cap);
                }
            }
            let mut last_off = 0;
            loop {
                // Where the next record begins: every frame before it is in a batch.
                let here = cap.offset() as usize;
                if window == WINDOW && may_move {
                    // The writer tracks while the filter keeps it idle enough: a list
                    // line costs several times the tracking of a frame (on 2 M frames
                    // both ways took the same time with one frame in seven shown; with
                    // one in twenty, the writer tracking was 15% faster, with one in
                    // three 10% slower). It takes the tracker back below one in
                    // sixteen, so that a share near the line does not make the tracker
                    // go back and forth.
                    let split = if b.split { window_shown * 8 < WINDOW } else { window_shown * 16 < WINDOW };
                    if split != b.split && !b.send(here) {
                        break;
                    }
                    if split && !b.split {
                        let Some(t) = seq.take() else { break };
                        if b.tx.send(Batch::Tracker(t)).is_err() {
                            break;
                        }
                    } else if !split && b.split {
                        if b.tx.send(Batch::GiveBack).is_err() {
                            break;
                        }
                        let Ok(t) = tracker_rx.recv() else { break };
                        seq = Some(t);
                    }
                    b.set_split(split, cap);
                    (window, window_shown) = (0, 0);
                }
                let frame = match cap.next_frame() {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => {
                        run.error = Some(e);
                        break;
                    }
                };
                let off = if copy { here } else { frame.data.as_ptr() as usize - base };
                // A selective filter fills batches slowly (or never): send what there
                // is every 4 MiB of file, so the writer can release the pages behind.
                if off - b.start >= 4 << 20 && !b.send(off) {
                    break;
                }
                window += 1;
                let mut p = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
                p.decode();
                let ctx = match seq.as_mut() {
                    Some(t) => t.observe(frame.number, frame.ts.0, frame.orig_len, &p).ctx,
                    None => {
                        if b.split {
                            // No checksums: this tracker keeps no summaries (Zeek's view).
                            b.jobs.inputs.push(Input::read(frame.number, frame.ts.0, frame.orig_len, &p, false));
                        }
                        Context::default()
                    }
                };
                let times = list.observe(&frame);
                if filter.is_some_and(|f| !f.matches(&frame, &p, &ctx)) {
                    if b.jobs.inputs.len() == BATCH && !b.send(off) {
                        break;
                    }
                    continue;
                }
                window_shown += 1;
                if stats::is_malformed(&frame, &p) {
                    run.malformed += 1;
                }
                last_off = off;
                if b.len == 0 {
                    b.start = off;
                }
                if b.formats_here() {
                    if b.mine.write(&mut b.text, &frame, &p, &ctx, times).is_err() {
                        break;
                    }
                } else {
                    let at = if b.jobs.copied {
                        b.jobs.bytes.extend_from_slice(frame.data);
                        b.jobs.bytes.len() - frame.data.len()
                    } else {
                        off
                    };
                    b.jobs.jobs.push(Job {
                        number: frame.number,
                        ts: frame.ts,
                        link: frame.link,
                        orig_len: frame.orig_len,
                        interface: frame.interface,
                        ts_digits: frame.ts_digits,
                        off: at,
                        len: frame.data.len(),
                        ctx,
                        times,
                        input: b.split.then(|| b.jobs.inputs.len() as u32 - 1),
                    });
                }
                b.len += 1;
                run.shown += 1;
                let last = limit.is_some_and(|l| run.shown >= l);
                if (b.len == BATCH || b.jobs.inputs.len() == BATCH || last) && !b.send(last_off) {
                    break;
                }
                if last {
                    break;
                }
            }
            if b.len > 0 || !b.jobs.inputs.is_empty() {
                b.send(last_off);
            }
            // Closing the channel ends the writer's loop.
            drop(b);
            let result = writer.join().unwrap_or_else(|_| Err(io::Error::other("the list writer thread failed")));
            result?;
            Ok(run)
        })
    }

    /// The reader's side: fills batches and sends them, in order, to the writer.
    struct Batcher {
        tx: mpsc::SyncSender<Batch>,
        back: mpsc::Receiver<Batch>,
        jobs: Jobs,
        /// Lines of the batches the reader formats itself.
        text: Vec<u8>,
        mine: Fmt,
        n_batch: u64,
        /// Frames in the batch being filled, and the file offset it began at.
        len: usize,
        start: usize,
        spare_jobs: Vec<Jobs>,
        spare_text: Vec<Vec<u8>>,
        /// The writer has the tracker.
        split: bool,
        /// The input is not mapped: frames are always copied.
        copy: bool,
    }

    impl Batcher {
        /// Whether the reader formats the batch being filled (see `Fmt::reader_share`).
        fn formats_here(&self) -> bool {
            let share = self.mine.reader_share();
            !self.split && self.n_batch % share == share - 1
        }

        /// Moves the tracking to the writer (`split`) or back, between batches. While
        /// the writer tracks, its core is the busier one: the reader copies the few
        /// frames shown and hands the mapping's pages back itself.
        fn set_split(&mut self, split: bool, cap: &mut CaptureFile) {
            self.split = split;
            self.jobs.copied = self.copy || split;
            if !self.copy {
                cap.set_release(split);
            }
        }

        /// Sends the batch being filled (possibly empty, to pass on `done`, the
        /// reader's position); false when the writer has stopped.
        fn send(&mut self, done: usize) -> bool {
            while let Ok(b) = self.back.try_recv() {
                match b {
                    Batch::Jobs(mut j, _) => {
                        j.jobs.clear();
                        j.bytes.clear();
                        j.inputs.clear();
                        self.spare_jobs.push(j);
                    }
                    Batch::Text(mut t, _) => {
                        t.clear();
                        self.spare_text.push(t);
                    }
                    Batch::Tracker(_) | Batch::GiveBack => {}
                }
            }
            let batch = if self.formats_here() {
                if self.mine.flush(&mut self.text).is_err() {
                    return false;
                }
                let next = self.spare_text.pop().unwrap_or_else(|| Vec::with_capacity(crate::render::list::OUT_CHUNK));
                Batch::Text(std::mem::replace(&mut self.text, next), done)
            } else {
                let mut next = self.spare_jobs.pop().unwrap_or_default();
                next.copied = self.jobs.copied;
                Batch::Jobs(std::mem::replace(&mut self.jobs, next), done)
            };
            self.n_batch += 1;
            self.len = 0;
            self.start = done;
            self.tx.send(batch).is_ok()
        }
    }
}

fn ifaces(a: IfacesArgs) -> Result<bool> {
    let mut out = stdout();
    let all = live::interfaces();
    match a.format {
        StatsFormat::Table => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::NOTHING);
            t.set_header(vec!["Index", "Name", "MAC", "IPv4", "IPv6", "Flags"]);
            for i in &all {
                let flags: Vec<&str> = [(i.up, "up"), (i.running, "running"), (i.loopback, "loopback")]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, name)| *name)
                    .collect();
                t.add_row(vec![
                    i.index.to_string(),
                    i.name.clone(),
                    i.mac.clone().unwrap_or_else(|| "-".into()),
                    if i.ipv4.is_empty() { "-".into() } else { i.ipv4.join("\n") },
                    if i.ipv6.is_empty() { "-".into() } else { i.ipv6.join("\n") },
                    if flags.is_empty() { "down".into() } else { flags.join(",") },
                ]);
            }
            writeln!(out, "{t}")?;
        }
        StatsFormat::Jsonl => {
            for i in &all {
                serde_json::to_writer(&mut out, i)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    Ok(true)
}

/// Why a capture ended, for the summary.
enum Stop {
    Signal,
    Count,
    Duration,
    Output(io::Error),
    Pcap(crate::sink::pcap::WriteError),
    Socket(live::LiveError),
}

/// Columns for a drawing: `--width`, else the terminal's, else 100.
fn draw_width(d: &crate::cli::DrawArgs) -> usize {
    usize::from(d.width.or_else(term_width).unwrap_or(100))
}

/// The terminal's width when standard output is one (or `COLUMNS`), else `None`.
pub fn term_width() -> Option<u16> {
    use std::io::IsTerminal as _;
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<u16>().ok()) {
        return Some(c.max(40));
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct we own; fd 1 is valid for the call.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col.max(40))
}

fn conns_cmd(a: crate::cli::ConnsArgs) -> Result<bool> {
    use crate::analysis::conn::Proto;
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let mut tracker = tracker(a.track.max_conns as usize, true);
    let want = a.proto.map(|p| match p {
        crate::cli::ConnProto::Tcp => Proto::Tcp,
        crate::cli::ConnProto::Udp => Proto::Udp,
    });
    // Rows of finished connections leave the tracker as it goes, so memory follows
    // the connections in flight, not the capture's length.
    let mut store = crate::spill::rows::RowStore::default();
    let mut store_error = None;
    let keep = |store: &mut crate::spill::rows::RowStore, rows: &mut dyn Iterator<Item = _>| -> io::Result<()> {
        for r in rows.filter(|r: &crate::analysis::conn::Summary| want.is_none_or(|w| r.proto == w)) {
            store.push(r)?;
        }
        Ok(())
    };
    let mut t0 = None;
    each_frame(&mut cap, &mut problems, &mut out, |frame| {
        t0.get_or_insert(frame.ts.0);
        let mut p = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
        p.decode();
        tracker.observe(frame.number, frame.ts.0, frame.orig_len, &p);
        if frame.number % 4096 == 0 && store_error.is_none() {
            store_error = keep(&mut store, &mut tracker.drain_finished()).err();
        }
    })?;
    if let Some(e) = store_error {
        return Err(e.into());
    }
    let evicted = tracker.evicted;
    keep(&mut store, &mut tracker.close().into_iter())?;
    let mut rows = store.finish()?;
    let t0 = t0.unwrap_or(0);
    match a.format {
        StatsFormat::Table => crate::render::conns::write_table(&mut out, &mut rows, t0, term_width())?,
        StatsFormat::Jsonl => crate::render::conns::write_jsonl(&mut out, &mut rows, t0)?,
    }
    out.flush()?;
    if evicted > 0 {
        eprintln!(
            "pktlab: {}: the connection table reached --max-conns {}: {evicted} connections were closed out early \
             (their later frames count as new connections)",
            a.file, a.track.max_conns
        );
    }
    Ok(problems.ok)
}

fn ladder_cmd(a: crate::cli::LadderArgs) -> Result<bool> {
    let filter = parse_filter(a.filter.as_deref())?;
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let style = crate::render::ladder::Style { width: draw_width(&a.draw), ascii: a.draw.ascii, absolute: a.absolute };
    let sel =
        LadderSel { conn: a.conn, filter: filter.as_ref(), expand: a.expand, max: a.max, max_conns: a.track.max_conns };
    let (drawn, conns) = draw_ladders(&mut cap, &sel, style, &mut out, &mut problems)?;
    out.flush()?;
    if drawn == 0 {
        match a.conn {
            Some(c) => eprintln!("pktlab: {}: no connection {c} (it has {conns}: see `pktlab conns`)", a.file),
            None => eprintln!("pktlab: {}: no TCP connection or UDP exchange to draw", a.file),
        }
        return Ok(false);
    }
    Ok(problems.ok)
}

/// Which connections a ladder run draws.
struct LadderSel<'f> {
    conn: Option<u32>,
    filter: Option<&'f Filter>,
    expand: bool,
    max: usize,
    max_conns: u64,
}

/// Draws the selected connections of `cap`; returns how many were drawn and how many
/// connections the capture has.
fn draw_ladders(
    cap: &mut CaptureFile,
    sel: &LadderSel<'_>,
    style: crate::render::ladder::Style,
    out: &mut impl Write,
    problems: &mut Problems,
) -> Result<(usize, u32)> {
    use crate::render::ladder::Ladder;
    let mut ladders: rustc_hash::FxHashMap<u32, Ladder> = Default::default();
    let mut more = false;
    let conns = each_tracked(cap, sel.max_conns, problems, out, |frame, p, seen, id| {
        if sel.conn.is_some_and(|c| c != id) || !seen.counted {
            return;
        }
        if sel.filter.is_some_and(|f| !f.matches(frame, p, &seen.ctx)) {
            return;
        }
        if !ladders.contains_key(&id) {
            if ladders.len() >= sel.max {
                more = true;
                return;
            }
            let Some(l) = Ladder::new(seen, p, frame.ts.0, sel.expand) else { return };
            ladders.insert(id, l);
        }
        if let Some(l) = ladders.get_mut(&id) {
            l.push(frame.number, frame.ts.0, seen, p, style.absolute);
        }
    })?;
    let mut all: Vec<Ladder> = ladders.into_values().collect();
    all.sort_by_key(|l| l.id);
    for (i, l) in all.iter_mut().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        l.finish();
        l.write(out, style)?;
    }
    if more {
        writeln!(
            out,
            "\n(only the first {} connections are drawn: pick one with --conn N, see `pktlab conns`)",
            sel.max
        )?;
    }
    Ok((all.len(), conns))
}

fn demo_cmd(a: crate::cli::DemoArgs) -> Result<bool> {
    use crate::gen::demo::{self, Scenario};
    let list: Vec<Scenario> = match a.scenario {
        Some(s) => vec![s.into()],
        None => Scenario::ALL.to_vec(),
    };
    let mut out = stdout();
    let style = crate::render::ladder::Style { width: draw_width(&a.draw), ascii: a.draw.ascii, absolute: false };
    let mut live = !a.synthetic;
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let (bytes, log) = match live.then(|| demo_live(*s)).transpose() {
            Ok(Some(got)) => got,
            Ok(None) => (demo::synthetic(*s)?, Vec::new()),
            Err(why) => {
                // The lesson is the same either way: any live trouble (no privilege, no
                // usable loopback, a capture that failed or caught nothing) shows the
                // generated scenarios, with the reason, rather than failing the demo.
                live = false;
                let reason = match why {
                    DemoError::NoPrivilege => "capturing on lo needs root or CAP_NET_RAW".to_string(),
                    DemoError::Failed(e) => format!("the live run did not work ({e:#})"),
                };
                writeln!(
                    out,
                    "pktlab demo: {reason}; showing the same scenarios generated in memory instead \
                     (deterministic, as `pktlab gen` writes them)\n"
                )?;
                (demo::synthetic(*s)?, Vec::new())
            }
        };
        let how = if live { "real sockets on 127.0.0.1, captured live on lo" } else { "synthetic" };
        writeln!(out, "=== {} ({how}) ===\n", s.title())?;
        let mut cap = CaptureFile::from_reader("demo", Box::new(io::Cursor::new(bytes)))?;
        let mut problems = Problems { ok: true };
        if *s == Scenario::Sticky {
            // The segment map: which message rode in which segment.
            let view = SegmentsView {
                conn: 0,
                framing: demo::sticky_spec(),
                dirs: [true, false],
                limits: Default::default(),
                track: crate::cli::TrackArgs { max_conns: 1000 },
                style: Some(crate::render::segments::Style { width: style.width, ascii: style.ascii, expand: false }),
                expand: false,
            };
            if segments_view(&mut cap, &view, &mut out, &mut problems)?.is_err() {
                writeln!(out, "(nothing was captured)")?;
            }
        } else {
            let sel = LadderSel { conn: None, filter: None, expand: false, max: 4, max_conns: 1000 };
            draw_ladders(&mut cap, &sel, style, &mut out, &mut problems)?;
        }
        if !log.is_empty() {
            if *s == Scenario::Sticky {
                writeln!(
                    out,
                    "\nOn lo each send() may leave as a segment of its own (a 64 KiB MTU, ACKs at once), yet \
                     the server's recv() returns several messages together, or part of one: the receive buffer \
                     joins bytes too, so the receiver must frame messages itself."
                )?;
            }
            writeln!(out, "\nWhat the server's socket calls returned:")?;
            for l in &log {
                writeln!(out, "  {l}")?;
            }
        }
        out.flush()?;
    }
    Ok(true)
}

enum DemoError {
    NoPrivilege,
    Failed(anyhow::Error),
}

/// Runs one scenario with real sockets while capturing it on lo; the capture as pcap
/// bytes and the server's log.
fn demo_live(s: crate::gen::demo::Scenario) -> std::result::Result<(Vec<u8>, Vec<String>), DemoError> {
    use crate::gen::demo::Prepared;
    use crate::source::live::{bpf::Simple, Event, LiveError, LiveSource, Options};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let failed = |e: anyhow::Error| DemoError::Failed(e);
    let prepared = Prepared::bind(s).map_err(|e| failed(anyhow::Error::new(e).context("binding on 127.0.0.1")))?;
    let port = prepared.port().map_err(|e| failed(e.into()))?;
    let mut opts = Options::new("lo");
    opts.kernel_filter = Some(match prepared {
        Prepared::Tcp(_) => Simple::TcpPort(port),
        Prepared::Udp(_) => Simple::UdpPort(port),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut src = match LiveSource::open(&opts, Arc::clone(&stop)) {
        Ok(src) => src,
        Err(LiveError::Permission { .. }) => return Err(DemoError::NoPrivilege),
        Err(e) => return Err(failed(e.into())),
    };
    let capture = std::thread::spawn(move || -> anyhow::Result<(Vec<u8>, u64)> {
        let mut sink = crate::sink::pcap::PcapSink::new(Vec::new(), src.link(), src.snaplen())?;
        let mut frames = 0u64;
        loop {
            match src.next_event()? {
                Event::Frame(f) => {
                    sink.write(f.ts, f.orig_len, f.data)?;
                    frames += 1;
                }
                Event::Idle => {}
                Event::Stopped => break,
            }
        }
        sink.flush()?;
        Ok((sink.into_inner(), frames))
    });
    let log = prepared.run(s);
    // The last segments (final ACKs) are on the wire within microseconds on lo.
    std::thread::sleep(std::time::Duration::from_millis(150));
    stop.store(true, Ordering::Relaxed);
    let (bytes, frames) =
        capture.join().map_err(|_| failed(anyhow::anyhow!("the capture thread failed")))?.map_err(failed)?;
    let log = log.map_err(|e| failed(anyhow::Error::new(e).context("the exchange over 127.0.0.1")))?;
    if frames == 0 {
        return Err(failed(anyhow::anyhow!("nothing was captured on lo")));
    }
    Ok((bytes, log))
}

/// Whether output goes to a regular file; anything else (terminal, pipe, socket)
/// gets each frame at once, so `pktlab capture ... | head` shows frames as they come.
fn stdout_is_file() -> bool {
    use std::os::fd::AsFd as _;
    io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.is_file())
}

fn capture(a: CaptureArgs) -> Result<bool> {
    let filter = parse_filter(a.filter.as_deref())?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once, in case stopping ever hangs;
        // the conditional shutdown must be registered before the flag it reads.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let opts = live::Options {
        interface: a.interface.clone(),
        snaplen: a.snaplen,
        buffer: a.buffer_kib as usize * 1024,
        promiscuous: !a.no_promiscuous,
        duration: a.duration,
        kernel_filter: a.filter.as_deref().and_then(bpf::simple),
    };
    let mut src = LiveSource::open(&opts, Arc::clone(&stop))?;
    let mut pcap = match &a.write {
        Some(path) => Some(PcapFileWriter::create(path, src.link(), src.snaplen())?),
        None => None,
    };
    let kf = src.kernel_filter().map_or_else(|| "none".to_string(), |f| f.to_string());
    eprintln!(
        "pktlab: capturing on {}, link-type {}, snaplen {} bytes, kernel filter: {kf}, receive buffer {} KiB",
        src.interface(),
        src.link(),
        src.snaplen(),
        src.receive_buffer() / 1024
    );

    let view = a.view;
    let mut pipe = Pipeline::new(view, filter.as_ref());
    pipe.start(9);
    if a.conns {
        pipe.seq = tracker(DEFAULT_MAX_CONNS, true);
    }
    let mut first_ts = None;
    let mut out = stdout();
    let flush_each = !stdout_is_file();
    // Frames without -Y, without output and without --conns need no decoding.
    let decode = filter.is_some() || !a.quiet || a.conns;
    let mut kept = 0u64;
    let mut last_flush = Instant::now();
    let shown = |r: io::Result<()>| r.map_err(Stop::Output);
    let stop_reason = (|| -> std::result::Result<(), Stop> {
        if !a.quiet {
            shown(pipe.begin(&mut out))?;
        }
        loop {
            match src.next_event().map_err(Stop::Socket)? {
                Event::Stopped => {
                    return Err(if stop.load(Ordering::Relaxed) { Stop::Signal } else { Stop::Duration });
                }
                Event::Idle => {}
                Event::Frame(frame) => {
                    first_ts.get_or_insert(frame.ts.0);
                    let m = if decode {
                        match pipe.matches(&frame) {
                            Some(m) => Some(m),
                            None => continue,
                        }
                    } else {
                        None
                    };
                    // Numbered among the frames kept, so numbers match the written file.
                    kept += 1;
                    let frame = Frame { number: kept, ..frame };
                    if let Some(w) = pcap.as_mut() {
                        w.write(&frame).map_err(Stop::Pcap)?;
                    }
                    if let (Some(m), false) = (&m, a.quiet) {
                        shown(pipe.show(&mut out, &frame, m))?;
                        if flush_each {
                            shown(pipe.flush(&mut out))?;
                            shown(out.flush())?;
                        }
                    }
                    if a.count.is_some_and(|c| kept >= c) {
                        return Err(Stop::Count);
                    }
                }
            }
            if last_flush.elapsed() >= Duration::from_millis(100) {
                last_flush = Instant::now();
                if let Some(w) = pcap.as_mut() {
                    w.flush().map_err(Stop::Pcap)?;
                }
                shown(pipe.flush(&mut out))?;
                shown(out.flush())?;
            }
        }
    })()
    .err();

    let mut problems = Problems { ok: true };
    // Whatever stopped the capture, what was staged still goes to the file.
    let pcap_error = pcap.as_mut().and_then(|w| w.flush().err());
    if !a.quiet && !matches!(stop_reason, Some(Stop::Output(_))) {
        pipe.flush(&mut out)?;
        pipe.end(&mut out)?;
        out.flush()?;
    }
    if a.conns && !matches!(stop_reason, Some(Stop::Output(_))) {
        let mut rows = crate::spill::rows::Rows::new(std::mem::take(&mut pipe.seq).finish());
        if !a.quiet {
            writeln!(out)?;
        }
        crate::render::conns::write_table(&mut out, &mut rows, first_ts.unwrap_or(0), term_width())?;
        out.flush()?;
    }
    let ks = src.kernel_stats();
    let why = match &stop_reason {
        Some(Stop::Signal) => "interrupted",
        Some(Stop::Count) => "count reached",
        Some(Stop::Duration) => "duration over",
        Some(Stop::Output(_)) => "output closed",
        Some(Stop::Pcap(_)) => "pcap write failed",
        Some(Stop::Socket(_)) => "socket error",
        None => "stopped",
    };
    let mut summary =
        format!("pktlab: capture on {} stopped ({why}): {} captured", src.interface(), frames(src.frames()));
    if filter.is_some() {
        summary += &format!(", {kept} matched the filter");
    }
    if let Some(w) = &pcap {
        summary += &format!(", {} written to {}", w.written(), w.path());
    }
    summary += &format!(", {} dropped by the kernel", ks.dropped);
    fn frames(n: u64) -> String {
        format!("{n} frame{}", if n == 1 { "" } else { "s" })
    }
    eprintln!("{summary}");
    if ks.dropped > 0 {
        eprintln!("pktlab: the kernel dropped frames because pktlab fell behind; raise -B, use -q or -w, or a -Y the kernel can run");
    }
    problems.malformed(&mut out, src.interface(), pipe.malformed, kept)?;
    match stop_reason {
        Some(Stop::Output(e)) => return Err(e.into()),
        Some(Stop::Pcap(e)) => {
            eprintln!("pktlab: {e}");
            problems.ok = false;
        }
        Some(Stop::Socket(e)) => {
            eprintln!("pktlab: {e}");
            problems.ok = false;
        }
        _ => {}
    }
    if let Some(e) = pcap_error {
        eprintln!("pktlab: {e}");
        problems.ok = false;
    }
    Ok(problems.ok)
}

fn subnet_cmd(a: crate::cli::SubnetArgs) -> Result<bool> {
    use crate::cli::SubnetCommand;
    use crate::subnet::{self, render};
    let json = a.format == StatsFormat::Jsonl;
    let mut out = stdout();
    match a.command {
        None => render::write_info(&mut out, subnet::parse_net(&a.net)?, json)?,
        Some(SubnetCommand::Same { a: ha, b: hb, mask }) => {
            let split = |s: &str| -> Result<(u32, Option<u8>), subnet::SubnetError> {
                match s.split_once('/') {
                    Some((x, m)) => Ok((subnet::parse_addr(x)?, Some(subnet::parse_mask(m)?))),
                    None => Ok((subnet::parse_addr(s)?, None)),
                }
            };
            let ((aa, ap), (ba, bp)) = (split(&ha)?, split(&hb)?);
            let m = mask.as_deref().map(subnet::parse_mask).transpose()?;
            let Some(ap) = ap.or(m) else {
                anyhow::bail!("give A a prefix (A/24) or the shared mask with --mask 255.255.255.0");
            };
            let bp = bp.or(m).unwrap_or(ap);
            let s = subnet::same(subnet::Net { addr: aa, prefix: ap }, subnet::Net { addr: ba, prefix: bp });
            render::write_same(&mut out, &s, json)?;
        }
        Some(SubnetCommand::Split { net, prefix, count, hosts }) => {
            let n = subnet::parse_net(std::slice::from_ref(&net))?;
            let n = subnet::Net { addr: n.network(), prefix: n.prefix };
            if let Some(h) = hosts {
                let (allocs, left) = subnet::vlsm(n, &h)?;
                let title = format!("{n} by hosts needed (VLSM, largest first):");
                render::write_blocks(&mut out, &title, &render::allocs_to_blocks(&allocs), &left, json)?;
            } else {
                let p = match (prefix, count) {
                    (Some(p), _) => subnet::parse_mask(&p)?,
                    (None, Some(c)) => subnet::prefix_for_count(n, c)?,
                    (None, None) => anyhow::bail!("give --prefix, --count or --hosts"),
                };
                let blocks = subnet::split_prefix(n, p)?;
                let title =
                    format!("{n} in {} blocks of /{p} ({} addresses each):", blocks.len(), 1u64 << (32 - u32::from(p)));
                let rows: Vec<_> = blocks.into_iter().map(|b| (b, None)).collect();
                render::write_blocks(&mut out, &title, &rows, &[], json)?;
            }
        }
        Some(SubnetCommand::Summarize { nets }) => {
            let parsed: Vec<subnet::Net> =
                nets.iter().map(|s| subnet::parse_net(std::slice::from_ref(s))).collect::<Result<_, _>>()?;
            let (cover, exact) = subnet::summarize(&parsed)?;
            if json {
                let e: Vec<String> = exact.iter().map(|n| n.to_string()).collect();
                serde_json::to_writer(&mut out, &serde_json::json!({ "covering": cover.to_string(), "exact": e }))?;
                writeln!(out)?;
            } else {
                writeln!(out, "Smallest single block covering them: {cover} ({} addresses)", cover.size())?;
                let rows: Vec<_> = exact.into_iter().map(|b| (b, None)).collect();
                render::write_blocks(&mut out, "Exactly the same addresses, in the fewest blocks:", &rows, &[], false)?;
            }
        }
        Some(SubnetCommand::Range { range }) => {
            let Some((x, y)) = range.split_once('-') else {
                anyhow::bail!("'{range}' is not a range: write FIRST-LAST, e.g. 10.0.0.5-10.0.0.20");
            };
            let (first, last) = (subnet::parse_addr(x)?, subnet::parse_addr(y)?);
            if first > last {
                anyhow::bail!("range {range} is backwards: the first address is above the last");
            }
            let blocks = subnet::range_to_cidrs(first, last);
            let title = format!(
                "{range} ({} addresses) as {} CIDR blocks:",
                u64::from(last) - u64::from(first) + 1,
                blocks.len()
            );
            let rows: Vec<_> = blocks.into_iter().map(|b| (b, None)).collect();
            render::write_blocks(&mut out, &title, &rows, &[], json)?;
        }
    }
    out.flush()?;
    Ok(true)
}

fn gen_cmd(a: crate::cli::GenArgs) -> Result<bool> {
    use crate::cli::Scenario;
    use crate::gen::{scenarios as sc, Out, Rng};
    use crate::sink::pcap::PcapSink;
    let w: Box<dyn Write> = if a.write == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(std::fs::File::create(&a.write).with_context(|| format!("{}: cannot create", a.write))?)
    };
    // Below the size of a staged batch of generated frames, which then bypasses the
    // buffer in one vectored write.
    let w = BufWriter::with_capacity(64 << 10, w);
    let gen_link: crate::gen::Link = a.link.into();
    if a.vlan.len() > 2 || (!a.vlan.is_empty() && gen_link != crate::gen::Link::Ethernet) {
        anyhow::bail!("--vlan takes one or two ids (QinQ), and only with --link ethernet");
    }
    let snaplen = a.snaplen.unwrap_or(262_144);
    let link = gen_link.link_type();
    let sink = if a.pcapng { PcapSink::new_pcapng(w, link, snaplen)? } else { PcapSink::new(w, link, snaplen)? };
    let shape = crate::gen::Shape { link: gen_link, vlan: a.vlan.clone(), snaplen: a.snaplen };
    let mut out = Out::with_shape(sink, shape);
    out.me = crate::gen::Host::lan(10).mac;
    let mut rng = Rng::new(a.seed);
    let lines = ["hello", "how are you?", "bye"];
    match a.scenario {
        Scenario::Handshake => sc::handshake(&mut out, &mut rng, a.close.into(), a.half_close)?,
        Scenario::EchoTcp => sc::echo_tcp(&mut out, &mut rng, &lines)?,
        Scenario::EchoUdp => sc::echo_udp(&mut out, &mut rng, &lines)?,
        Scenario::Arp => sc::arp(&mut out)?,
        Scenario::Refused => sc::refused(&mut out, &mut rng)?,
        Scenario::Wrap => sc::wrap(&mut out, &mut rng)?,
        Scenario::Loss => sc::loss(&mut out, &mut rng)?,
        Scenario::ZeroWindow => sc::zero_window(&mut out, &mut rng)?,
        Scenario::Mix => sc::mix(&mut out, &mut rng, a.frames)?,
        Scenario::Scan => {
            let parsed =
                a.ports.split_once('-').and_then(|(x, y)| Some((x.parse::<u16>().ok()?, y.parse::<u16>().ok()?)));
            let Some((first, last)) = parsed.filter(|(x, y)| x <= y && y - x < 4096) else {
                anyhow::bail!("--ports takes FIRST-LAST with at most 4096 ports, e.g. 20-30; got '{}'", a.ports);
            };
            sc::scan(&mut out, &mut rng, first, last, &[22, 25, 80, 443])?
        }
        Scenario::Sticky => {
            let sizes = a.sizes.clone().unwrap_or_else(|| vec![a.size; a.messages]);
            let limit = match &a.framing {
                crate::analysis::framing::Spec::Len { int, .. } if int.width() < 4 => (1 << (8 * int.width())) - 1,
                _ => 1 << 24,
            };
            if sizes.is_empty() || sizes.iter().any(|&s| s > limit) {
                anyhow::bail!(
                    "sticky needs at least one message, each at most {limit} bytes with --framing {}",
                    a.framing
                );
            }
            let s =
                sc::Sticky { sizes, framing: a.framing, mss: usize::from(a.mss), coalesce: usize::from(a.coalesce) };
            sc::sticky(&mut out, &mut rng, &s)?;
        }
    }
    let frames = out.frames();
    out.finish()?.flush()?;
    if a.write != "-" {
        eprintln!("pktlab: wrote {frames} frames to {}", a.write);
    }
    Ok(true)
}

fn serve_cmd(a: crate::cli::ServeArgs) -> Result<bool> {
    use crate::gen::peer;
    let log: Box<dyn Write + Send> = Box::new(io::stdout());
    let opts = peer::Serve {
        udp: a.kind == crate::cli::ServeKind::UdpEcho,
        port: a.port,
        upper: a.upper,
        read_delay: std::time::Duration::from_millis(a.read_delay),
        recv_size: a.recv_size as usize,
        framing: a.framing,
        max_clients: usize::from(a.max_clients),
        duration: a.duration.map(std::time::Duration::from_secs),
    };
    peer::serve(opts, std::sync::Arc::new(std::sync::Mutex::new(log))).context("serve")?;
    Ok(true)
}

fn send_cmd(a: crate::cli::SendArgs) -> Result<bool> {
    use crate::gen::peer;
    peer::check_target(a.to.ip(), a.allow_remote)?;
    let opts = peer::SendOpts {
        udp: a.proto == crate::cli::SendProto::Udp,
        to: a.to,
        messages: a.messages.clone(),
        framing: a.framing,
        nodelay: a.nodelay,
        count: a.count as usize,
        interval: std::time::Duration::from_millis(a.interval),
    };
    let mut out = stdout();
    peer::send(&opts, &mut out).with_context(|| format!("send to {}", a.to))?;
    out.flush()?;
    Ok(true)
}

fn scan_cmd(a: crate::cli::ScanArgs) -> Result<bool> {
    use crate::gen::peer;
    peer::check_target(a.host, a.allow_remote)?;
    let range = a.ports.split_once('-').and_then(|(x, y)| Some((x.parse::<u16>().ok()?, y.parse::<u16>().ok()?)));
    let Some((first, last)) = range.filter(|(x, y)| x <= y && *x > 0) else {
        anyhow::bail!("--ports takes FIRST-LAST from 1 to 65535, e.g. 1-1024; got '{}'", a.ports);
    };
    let open = peer::scan(a.host, first, last, std::time::Duration::from_millis(a.timeout), usize::from(a.concurrency));
    let mut out = stdout();
    for p in &open {
        writeln!(out, "{}:{p} open", a.host)?;
    }
    writeln!(out, "{} of {} ports open on {}", open.len(), u32::from(last) - u32::from(first) + 1, a.host)?;
    out.flush()?;
    Ok(true)
}

/// The directions a `--dir` shows, indexed by `Dir::index`.
fn dirs_shown(d: crate::cli::DirArg) -> [bool; 2] {
    use crate::cli::DirArg;
    [d != DirArg::Server, d != DirArg::Client]
}

/// Reads `cap` once, following connection `conn`: `sink` gets every event with the
/// connection's peers. Returns the follower (counters, peers) and how many
/// connections the capture has.
fn follow_conn(
    cap: &mut CaptureFile,
    conn: u32,
    track: crate::cli::TrackArgs,
    limits: crate::analysis::reassembly::Limits,
    problems: &mut Problems,
    out: &mut impl Write,
    sink: &mut impl FnMut(
        &crate::analysis::follow::Peers,
        crate::analysis::follow::Dir,
        crate::analysis::reassembly::Event<'_>,
    ),
) -> Result<(crate::analysis::follow::Follow, u32)> {
    use crate::analysis::follow::Follow;
    let mut follow = Follow::new(conn, limits);
    let conns = each_tracked(cap, track.max_conns, problems, out, |frame, p, seen, id| {
        if id != conn {
            return;
        }
        // Known from the connection's first frame on: copied, since `follow` is busy.
        let Some(peers) = follow.peers_of(seen, p) else { return };
        follow.push(frame.number, frame.ts.0, seen, p, &mut |d, e| sink(&peers, d, e));
    })?;
    if let Some(peers) = follow.peers().copied() {
        follow.finish(&mut |d, e| sink(&peers, d, e));
    }
    Ok((follow, conns))
}

/// Each frame of `cap` that belongs to a connection, decoded and tracked (a tracker of
/// `max_conns` without summaries), with the connection's id. Returns how many
/// connections the capture has.
fn each_tracked(
    cap: &mut CaptureFile,
    max_conns: u64,
    problems: &mut Problems,
    out: &mut impl Write,
    mut f: impl FnMut(&crate::source::Frame<'_>, &decode::Packet<'_>, &crate::analysis::conn::Seen, u32),
) -> Result<u32> {
    let mut tracker = tracker(max_conns as usize, false);
    let mut conns = 0u32;
    each_frame(cap, problems, out, |frame| {
        let mut p = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
        p.decode();
        let seen = tracker.observe(frame.number, frame.ts.0, frame.orig_len, &p);
        if let Some(id) = seen.id {
            conns = conns.max(id + 1);
            f(frame, &p, &seen, id);
        }
    })?;
    Ok(conns)
}

/// Each frame of `cap` in turn; a read error ends the run and is reported as a problem
/// (the frames before it were handed on).
fn each_frame(
    cap: &mut CaptureFile,
    problems: &mut Problems,
    out: &mut impl Write,
    mut f: impl FnMut(&crate::source::Frame<'_>),
) -> Result<()> {
    loop {
        match cap.next_frame() {
            Ok(Some(frame)) => f(&frame),
            Ok(None) => return Ok(()),
            Err(e) => return problems.file_error(out, &e),
        }
    }
}

fn no_conn(file: &str, conn: u32, conns: u32) {
    eprintln!("pktlab: {file}: no connection {conn} (it has {conns}: see `pktlab conns {file}`)");
}

fn stream_cmd(a: crate::cli::StreamArgs) -> Result<bool> {
    use crate::analysis::follow::Dir;
    use crate::analysis::reassembly::Limits;
    use crate::cli::{DirArg, StreamAs};
    use crate::render::stream::{As, Printer};
    if a.how == StreamAs::Raw && a.dir == DirArg::Both {
        anyhow::bail!("--as raw writes the exact bytes of one direction: add --dir client or --dir server");
    }
    let how = match a.how {
        StreamAs::Text => As::Text,
        StreamAs::Hex => As::Hex,
        StreamAs::Raw => As::Raw,
    };
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let limits = Limits { per_direction: a.reassembly.max_held, total: a.reassembly.max_held_total };
    let mut printer = Printer::new(stdout(), how, dirs_shown(a.dir), a.ascii);
    // The printer writes stdout itself: nothing of ours to flush before an error.
    let (follow, conns) =
        follow_conn(&mut cap, a.conn, a.track, limits, &mut problems, &mut io::sink(), &mut |peers, d, e| {
            printer.event(a.conn, peers, d, &e)
        })?;
    let Some(peers) = follow.peers().copied() else {
        no_conn(&a.file, a.conn, conns);
        return Ok(false);
    };
    let udp = peers.proto == crate::analysis::conn::Proto::Udp;
    let counters = (!udp).then(|| [follow.counters(Dir::ToServer), follow.counters(Dir::ToClient)]);
    let missing = printer.missing();
    printer.finish(counters, udp)?;
    if how == As::Raw && missing > 0 {
        eprintln!(
            "pktlab: {}: {missing} bytes of this direction are missing from the capture: the output skips them",
            a.file
        );
        return Ok(false);
    }
    Ok(problems.ok)
}

fn segments_cmd(a: crate::cli::SegmentsArgs) -> Result<bool> {
    use crate::analysis::reassembly::Limits;
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let mut out = stdout();
    let view = SegmentsView {
        conn: a.conn,
        framing: a.framing,
        dirs: dirs_shown(a.dir),
        limits: Limits { per_direction: a.reassembly.max_held, total: a.reassembly.max_held_total },
        track: a.track,
        style: (a.format == StatsFormat::Table).then(|| crate::render::segments::Style {
            width: draw_width(&a.draw),
            ascii: a.draw.ascii,
            expand: a.expand,
        }),
        expand: a.expand,
    };
    let found = segments_view(&mut cap, &view, &mut out, &mut problems)?;
    out.flush()?;
    if let Err(conns) = found {
        no_conn(&a.file, a.conn, conns);
        return Ok(false);
    }
    Ok(problems.ok)
}

/// What a sticky-packet view shows.
struct SegmentsView {
    conn: u32,
    framing: crate::analysis::framing::Spec,
    dirs: [bool; 2],
    limits: crate::analysis::reassembly::Limits,
    track: crate::cli::TrackArgs,
    /// Text in this style, or JSON lines.
    style: Option<crate::render::segments::Style>,
    /// Keep every record of a long stream (memory grows with it).
    expand: bool,
}

/// Writes the sticky-packet view of one connection of `cap`; `Err(n)` when the capture
/// has no such connection (it has `n`).
fn segments_view(
    cap: &mut CaptureFile,
    v: &SegmentsView,
    out: &mut impl Write,
    problems: &mut Problems,
) -> Result<std::result::Result<(), u32>> {
    use crate::analysis::conn::Proto;
    use crate::analysis::follow::Dir;
    use crate::analysis::reassembly::{Event, Sink};
    use crate::analysis::segments::Model;
    let model = || if v.expand { Model::unbounded(v.framing.clone()) } else { Model::new(v.framing.clone()) };
    let mut models = [model(), model()];
    let (follow, conns) =
        follow_conn(cap, v.conn, v.track, v.limits, problems, out, &mut |peers, d: Dir, e: Event<'_>| {
            let m = &mut models[d.index()];
            match e {
                Event::Data { offset, bytes, frame, ts, .. } if peers.proto == Proto::Udp => {
                    m.datagram(frame, ts, offset, bytes)
                }
                e if peers.proto == Proto::Tcp => m.event(e),
                _ => {}
            }
        })?;
    let Some(peers) = follow.peers().copied() else {
        return Ok(Err(conns));
    };
    if peers.proto == Proto::Tcp {
        for m in &mut models {
            m.finish();
        }
    }
    let list: Vec<(Dir, &Model)> =
        Dir::BOTH.iter().filter(|d| v.dirs[d.index()]).map(|&d| (d, &models[d.index()])).collect();
    match v.style {
        Some(style) => crate::render::segments::write_text(out, v.conn, &peers, &list, style)?,
        None => crate::render::segments::write_jsonl(out, v.conn, &peers, &list)?,
    }
    Ok(Ok(()))
}
