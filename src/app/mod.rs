//! Wiring: source -> decode -> filter -> analyses -> render, one function per command.
//! The CLI layer has already turned what the user typed into `cli` values; `plan` turns
//! them into a typed plan, checked whole before any work, which the command then runs;
//! problems that do not stop the run are counted and reported once.
//!
//! This file dispatches and holds what every command shares (the tracker with its
//! spill store, buffered stdout, the filter parse, the problem counts); each command
//! family has its file: `read` (read, show, stats, and `pipeline`, the two-thread list
//! pipeline), `capture` (ifaces, capture), `conns` (conns, ladder, stream, segments),
//! `demo`, `traffic` (gen, serve, send, scan), `subnet`, and `term` (drawing width).

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::analysis::conn::{Proto, Seen, Tracker, DEFAULT_MAX_CONNS};
use crate::analysis::stats::{self, Stats};
use crate::cli::Cli;
use crate::decode::{self, Context, StreamOf};
use crate::filter::Filter;
use crate::render::{json::JsonRenderer, list::ListRenderer, tree};
use crate::sink::pcap::PcapFileWriter;
use crate::source::live::{self, bpf, Event, LiveSource};
use crate::source::pcap::FileFormat;
use crate::source::{CaptureFile, Frame};

mod capture;
mod conns;
mod demo;
mod pipeline;
mod plan;
mod read;
mod subnet;
mod term;
mod traffic;

use capture::*;
use conns::*;
use demo::*;
use plan::*;
use read::*;
use subnet::*;
pub use term::term_width;
use term::*;
use traffic::*;

/// Runs a command; `Ok(true)` when everything went well, `Ok(false)` when the run
/// finished but some frames or files had problems (exit status 2).
pub fn run(cli: Cli) -> Result<bool> {
    Plan::of(cli.command)?.run()
}

/// A connection tracker whose retired records, past a few thousand, go to a temporary
/// file (see `spill::records`): memory stays flat however many connections a capture
/// (or a live capture left running) holds.
fn tracker(cap: usize, keep: bool) -> Tracker {
    let mut t = Tracker::new(cap, keep);
    t.store_retired(Box::new(crate::spill::records::FileRecords::default()));
    t
}

/// Completes what the tracker said of frame `number`, the latest one it took
/// (`seen`), where its `ctx` leaves out what tshark gives the frame: the streams of
/// the UDP tunnels it rides in (`udp.stream` once per UDP header), and for a frame
/// completing a fragmented datagram, which protocol its stream is. The usual frame
/// costs two comparisons: a frame in two tunnels is in the inner one
/// (`Tracker::tunnel`), and a tunnel counted with a datagram is counted where it is
/// complete.
#[inline]
fn complete(t: &Tracker, number: u64, seen: &mut Seen) {
    if t.tunnel(number).is_some() || t.reassembled(number).is_some() {
        complete_rare(t, number, seen);
    }
}

/// Whether frames shown with `view` and tested by `filter` need [`complete`]: the
/// list shows no stream, and the usual filter names none.
fn shows_streams(view: &View, filter: Option<&Filter>) -> bool {
    view.shape != Shape::List || filter.is_some_and(Filter::names_streams)
}

#[cold]
#[inline(never)]
fn complete_rare(t: &Tracker, number: u64, seen: &mut Seen) {
    for (s, _, _) in t.tunnels(number) {
        if let Some(stream) = s.ctx.stream {
            seen.ctx.tunnels.push(stream);
        }
    }
    seen.ctx.stream_of = match seen.proto {
        Some(Proto::Tcp) => StreamOf::Tcp,
        Some(Proto::Udp) => StreamOf::Udp,
        None => StreamOf::Layers,
    };
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
