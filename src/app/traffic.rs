//! The traffic makers: `gen` (synthetic captures), `serve`, `send`, `scan` (real
//! sockets, loopback unless told otherwise).

use super::*;

/// What `gen` will write, checked whole before the output file is created: a wrong
/// option must not leave an empty or truncated file behind.
struct GenPlan {
    what: Scenario,
    link: crate::gen::Link,
    vlan: Vec<u16>,
    snaplen: Option<u32>,
    pcapng: bool,
    seed: u64,
}

/// A scenario with its parameters, as `gen` runs it.
enum Scenario {
    Handshake { close: crate::gen::scenarios::Close, half_close: bool },
    EchoTcp,
    EchoUdp,
    Arp,
    Refused,
    Wrap,
    Loss,
    ZeroWindow,
    Mix { frames: u64 },
    Scan { first: u16, last: u16 },
    Sticky(crate::gen::scenarios::Sticky),
}

impl GenPlan {
    fn new(a: &crate::cli::GenArgs) -> Result<GenPlan> {
        use crate::cli::Scenario as S;
        let link: crate::gen::Link = a.link.into();
        if a.vlan.len() > 2 || (!a.vlan.is_empty() && link != crate::gen::Link::Ethernet) {
            anyhow::bail!("--vlan takes one or two ids (QinQ), and only with --link ethernet");
        }
        let what = match a.scenario {
            S::Handshake => Scenario::Handshake { close: a.close.into(), half_close: a.half_close },
            S::EchoTcp => Scenario::EchoTcp,
            S::EchoUdp => Scenario::EchoUdp,
            S::Arp => Scenario::Arp,
            S::Refused => Scenario::Refused,
            S::Wrap => Scenario::Wrap,
            S::Loss => Scenario::Loss,
            S::ZeroWindow => Scenario::ZeroWindow,
            S::Mix => Scenario::Mix { frames: a.frames },
            S::Scan => {
                let parsed =
                    a.ports.split_once('-').and_then(|(x, y)| Some((x.parse::<u16>().ok()?, y.parse::<u16>().ok()?)));
                let Some((first, last)) = parsed.filter(|(x, y)| x <= y && y - x < 4096) else {
                    anyhow::bail!("--ports takes FIRST-LAST with at most 4096 ports, e.g. 20-30; got '{}'", a.ports);
                };
                Scenario::Scan { first, last }
            }
            S::Sticky => {
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
                Scenario::Sticky(crate::gen::scenarios::Sticky {
                    sizes,
                    framing: a.framing.clone(),
                    mss: usize::from(a.mss),
                    coalesce: usize::from(a.coalesce),
                })
            }
        };
        Ok(GenPlan { what, link, vlan: a.vlan.clone(), snaplen: a.snaplen, pcapng: a.pcapng, seed: a.seed })
    }
}

pub(super) fn gen_cmd(a: crate::cli::GenArgs) -> Result<bool> {
    use crate::gen::{scenarios as sc, Out, Rng};
    use crate::sink::pcap::PcapSink;
    let plan = GenPlan::new(&a)?;
    let w: Box<dyn Write> = if a.write == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(std::fs::File::create(&a.write).with_context(|| format!("{}: cannot create", a.write))?)
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
    if a.write != "-" {
        eprintln!("pktlab: wrote {frames} frames to {}", a.write);
    }
    Ok(true)
}

pub(super) fn serve_cmd(a: crate::cli::ServeArgs) -> Result<bool> {
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

pub(super) fn send_cmd(a: crate::cli::SendArgs) -> Result<bool> {
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

pub(super) fn scan_cmd(a: crate::cli::ScanArgs) -> Result<bool> {
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
