//! The traffic makers: `gen` (synthetic captures), `serve`, `send`, `scan` (real
//! sockets, loopback unless told otherwise).

use super::*;

pub(super) fn gen_cmd(plan: GenPlan) -> Result<bool> {
    use crate::gen::{scenarios as sc, Out, Rng};
    use crate::sink::pcap::PcapSink;
    use GenScenario as Scenario;
    let write = plan.write.clone();
    let w: Box<dyn Write> = if write == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(std::fs::File::create(&write).with_context(|| format!("{write}: cannot create"))?)
    };
    // Below the size of a staged batch of generated frames, which then bypasses the
    // buffer in one vectored write.
    let w = BufWriter::with_capacity(64 << 10, w);
    let snaplen = plan.snaplen.unwrap_or(262_144);
    let link = plan.link.link_type();
    let sink = if plan.pcapng { PcapSink::new_pcapng(w, link, snaplen)? } else { PcapSink::new(w, link, snaplen)? };
    let shape = crate::gen::Shape { link: plan.link, vlan: plan.vlan, snaplen: plan.snaplen };
    let mut out = Out::with_shape(sink, shape);
    out.me = crate::gen::Host::lan(10).mac;
    let mut rng = Rng::new(plan.seed);
    let lines = ["hello", "how are you?", "bye"];
    match plan.what {
        Scenario::Handshake { close, half_close } => sc::handshake(&mut out, &mut rng, close, half_close)?,
        Scenario::EchoTcp => sc::echo_tcp(&mut out, &mut rng, &lines)?,
        Scenario::EchoUdp => sc::echo_udp(&mut out, &mut rng, &lines)?,
        Scenario::Arp => sc::arp(&mut out)?,
        Scenario::Refused => sc::refused(&mut out, &mut rng)?,
        Scenario::Wrap => sc::wrap(&mut out, &mut rng)?,
        Scenario::Loss => sc::loss(&mut out, &mut rng)?,
        Scenario::ZeroWindow => sc::zero_window(&mut out, &mut rng)?,
        Scenario::Mix { frames } => sc::mix(&mut out, &mut rng, frames)?,
        Scenario::Scan { first, last } => sc::scan(&mut out, &mut rng, first, last, &[22, 25, 80, 443])?,
        Scenario::Sticky(s) => {
            sc::sticky(&mut out, &mut rng, &s)?;
        }
    }
    let frames = out.frames();
    out.finish()?.flush()?;
    if write != "-" {
        eprintln!("pktlab: wrote {frames} frames to {write}");
    }
    Ok(true)
}

pub(super) fn serve_cmd(opts: crate::gen::peer::Serve) -> Result<bool> {
    let log: Box<dyn Write + Send> = Box::new(io::stdout());
    crate::gen::peer::serve(opts, std::sync::Arc::new(std::sync::Mutex::new(log))).context("serve")?;
    Ok(true)
}

pub(super) fn send_cmd(opts: crate::gen::peer::SendOpts) -> Result<bool> {
    let mut out = stdout();
    crate::gen::peer::send(&opts, &mut out).with_context(|| format!("send to {}", opts.to))?;
    out.flush()?;
    Ok(true)
}

pub(super) fn scan_cmd(a: ScanPlan) -> Result<bool> {
    let (first, last) = (a.first, a.last);
    let open = crate::gen::peer::scan(a.host, first, last, a.timeout, a.concurrency);
    let mut out = stdout();
    for p in &open {
        writeln!(out, "{}:{p} open", a.host)?;
    }
    writeln!(out, "{} of {} ports open on {}", open.len(), u32::from(last) - u32::from(first) + 1, a.host)?;
    out.flush()?;
    Ok(true)
}
