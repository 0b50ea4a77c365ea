//! Wiring: source -> decode -> filter -> analyses -> render, one function per command.
//! The CLI layer has already turned what the user typed into `cli` values; here they
//! become a plan, and problems that do not stop the run are counted and reported once.

use std::io::{self, BufWriter, Write};

use anyhow::{Context as _, Result};

use crate::analysis::seqrel::SeqTracker;
use crate::analysis::stats::{self, Stats};
use crate::cli::{Cli, Command, Format, ReadArgs, ShowArgs, StatsArgs, StatsFormat};
use crate::decode::{self, Context};
use crate::filter::Filter;
use crate::render::{json::JsonRenderer, list::ListRenderer, tree};
use crate::source::pcap::FileFormat;
use crate::source::CaptureFile;

/// Runs a command; `Ok(true)` when everything went well, `Ok(false)` when the run
/// finished but some frames or files had problems (exit status 2).
pub fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Read(a) => read(a),
        Command::Show(a) => show(a),
        Command::Stats(a) => stats_cmd(a),
    }
}

fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(256 * 1024, io::stdout().lock())
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

fn read(a: ReadArgs) -> Result<bool> {
    let filter = parse_filter(a.filter.as_deref())?;
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut shown = 0u64;
    let mut first_json = true;
    if a.format == Format::Json {
        out.write_all(b"[")?;
    }
    'files: for (fi, path) in a.files.iter().enumerate() {
        let mut cap = match CaptureFile::open(path) {
            Ok(c) => c,
            Err(e) => {
                problems.file_error(&mut out, &e)?;
                continue;
            }
        };
        if a.files.len() > 1 && a.format == Format::List {
            if fi > 0 {
                writeln!(out)?;
            }
            writeln!(out, "==> {path} <==")?;
        }
        let d = digits(cap.format());
        let mut list = ListRenderer::new(a.time, d);
        let mut json = JsonRenderer::new(d);
        let mut seq = SeqTracker::default();
        let mut malformed = 0u64;
        loop {
            let frame = match cap.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    list.flush(&mut out)?;
                    problems.file_error(&mut out, &e)?;
                    break;
                }
            };
            let p = decode::decode(frame.link, frame.data, frame.orig_len);
            let rel = seq.relative(&p);
            let times = list.observe(&frame);
            let ctx = if a.absolute_seq { Context::default() } else { rel };
            if filter.as_ref().is_some_and(|f| !f.matches(&frame, &p, &ctx)) {
                continue;
            }
            if stats::is_malformed(&frame, &p) {
                malformed += 1;
            }
            match a.format {
                Format::List if a.verbose || a.hex => tree::write_tree(&mut out, &frame, &p, &ctx, times.0, d, a.hex)?,
                Format::List => list.write_line(&mut out, &frame, &p, &ctx, times)?,
                Format::Jsonl => {
                    json.write_frame(&mut out, &frame, &p, &ctx, times)?;
                    out.write_all(b"\n")?;
                }
                Format::Json => {
                    out.write_all(if first_json { b"\n" } else { b",\n" })?;
                    first_json = false;
                    json.write_frame(&mut out, &frame, &p, &ctx, times)?;
                }
            }
            shown += 1;
            if a.count.is_some_and(|c| shown >= c) {
                list.flush(&mut out)?;
                problems.malformed(&mut out, path, malformed, cap.frames_read())?;
                break 'files;
            }
        }
        list.flush(&mut out)?;
        problems.malformed(&mut out, path, malformed, cap.frames_read())?;
    }
    if a.format == Format::Json {
        out.write_all(b"\n]\n")?;
    }
    out.flush()?;
    Ok(problems.ok)
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
    let mut seq = SeqTracker::default();
    let mut list = ListRenderer::new(crate::cli::TimeFormat::Relative, d);
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
        let rel = seq.relative(&p);
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
        let mut cap = match CaptureFile::open(path) {
            Ok(c) => c,
            Err(e) => {
                problems.file_error(&mut out, &e)?;
                continue;
            }
        };
        let mut st = Stats::default();
        let mut seq = SeqTracker::default();
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
            let p = decode::decode(frame.link, frame.data, frame.orig_len);
            if let Some(f) = &filter {
                let ctx = seq.relative(&p);
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
