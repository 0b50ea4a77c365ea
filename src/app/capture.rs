//! `ifaces` and `capture`: live frames, which take the same path as frames from a file.

use super::*;

pub(super) fn ifaces(print: Print) -> Result<bool> {
    let mut out = stdout();
    let all = live::interfaces();
    match print {
        Print::Table => {
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
        Print::Jsonl => {
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
pub(super) enum Stop {
    Signal,
    Count,
    Duration,
    Output(io::Error),
    Pcap(crate::sink::pcap::WriteError),
    Socket(live::LiveError),
}

/// Whether output goes to a regular file; anything else (terminal, pipe, socket)
/// gets each frame at once, so `pktlab capture ... | head` shows frames as they come.
pub(super) fn stdout_is_file() -> bool {
    use std::os::fd::AsFd as _;
    io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.is_file())
}

pub(super) fn capture(a: CapturePlan) -> Result<bool> {
    let filter = a.filter;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once, in case stopping ever hangs;
        // the conditional shutdown must be registered before the flag it reads.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let mut src = LiveSource::open(&a.live, Arc::clone(&stop))?;
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
    pub(super) fn frames(n: u64) -> String {
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
