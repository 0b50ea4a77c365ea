//! `demo`: each lesson live on lo, or generated in memory when it cannot be.

use super::*;

pub(super) fn demo_cmd(a: DemoPlan) -> Result<bool> {
    use crate::gen::demo::{self, Scenario};
    let list = a.scenarios;
    let mut out = stdout();
    let style = a.style;
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
                max_conns: 1000,
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

pub(super) enum DemoError {
    NoPrivilege,
    Failed(anyhow::Error),
}

/// Runs one scenario with real sockets while capturing it on lo; the capture as pcap
/// bytes and the server's log.
pub(super) fn demo_live(s: crate::gen::demo::Scenario) -> std::result::Result<(Vec<u8>, Vec<String>), DemoError> {
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
