//! `read` on two cores: list lines, layer trees or JSON lines. The reader thread keeps
//! the sequential state (times, the filter, usually the connection tracker) and formats
//! a share of the batches itself (`Fmt::reader_share`); the writer thread formats the
//! others and writes every batch in order. Under a selective filter that names no
//! tracked field the writer would idle: the tracker moves to it, fed each frame's
//! [`Input`], and moves back when the filter starts showing most frames.
//! Frames travel as offsets into the mapped file the reader lends (`source::pcap::Lent`:
//! the executor never touches the mapping itself), or, read from a
//! stream, copied into the batch's byte buffer; nothing is allocated per frame
//! (batches and buffers are recycled).

use std::io::{self, Write};
use std::sync::mpsc;

use super::Fmt;
use crate::analysis::conn::{Input, Tracker};
use crate::analysis::stats;
use crate::decode::{self, Context};
use crate::filter::Filter;
use crate::render::list::ListRenderer;
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

pub fn list<W: Write + Send>(
    cap: &mut CaptureFile,
    mut out: W,
    filter: Option<&Filter>,
    view: super::plan::View,
    digits: u8,
    limit: Option<u64>,
) -> anyhow::Result<Run> {
    let map = cap.lend();
    let copy = map.is_none();
    let (tx, rx) = mpsc::sync_channel::<Batch>(4);
    let (back_tx, back_rx) = mpsc::channel::<Batch>();
    let (tracker_tx, tracker_rx) = mpsc::channel::<Box<Tracker>>();
    let time = view.time;
    let absolute = view.absolute_seq;
    let streams = super::shows_streams(&view, filter);
    std::thread::scope(|s| {
        let writer_map = map.clone();
        let writer = s.spawn(move || -> io::Result<()> {
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
                                    let mut seen = t.apply(i);
                                    if k == at as usize {
                                        if streams {
                                            super::complete(t, j.number, &mut seen);
                                        }
                                        ctx = seen.ctx;
                                        break;
                                    }
                                }
                            }
                            let data = match &writer_map {
                                Some(m) if !b.copied => m.bytes(j.off, j.len),
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
                            released = m.release(released, done);
                        }
                        let _ = back_tx.send(Batch::Jobs(b, 0));
                    }
                    Batch::Text(text, done) => {
                        out.write_all(&text)?;
                        if let Some(m) = &writer_map {
                            released = m.release(released, done);
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
        let mut list = ListRenderer::new(time, digits);
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
            let off = match &map {
                Some(m) => m.offset_of(frame.data),
                None => here,
            };
            // A selective filter fills batches slowly (or never): send what there
            // is every 4 MiB of file, so the writer can release the pages behind.
            if off - b.start >= 4 << 20 && !b.send(off) {
                break;
            }
            window += 1;
            let mut p = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
            p.decode();
            let ctx = match seq.as_mut() {
                Some(t) => {
                    let mut seen = t.observe(frame.number, frame.ts.0, frame.orig_len, &p);
                    if streams {
                        super::complete(t, frame.number, &mut seen);
                    }
                    seen.ctx
                }
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
