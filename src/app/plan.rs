//! The plan step: what the user typed (clap's types, `cli`) becomes one typed plan per
//! command, in the vocabulary of the stages below, and is checked whole before any
//! file is opened, socket bound or output created. A wrong option therefore costs no
//! work and leaves nothing behind (no empty `-w` file, no half-read capture), and the
//! command files take plans, never `cli` types.

use super::*;
use crate::analysis::conn::Proto;
use crate::analysis::reassembly::Limits;
use crate::cli::{CaptureArgs, Command, DirArg, Format, StatsFormat, StreamAs, ViewArgs};
use crate::gen::peer;
use crate::render::stream::As;
use crate::subnet::{self, Net};

/// One command, ready to run.
pub(super) enum Plan {
    Read(ReadPlan),
    Show(ShowPlan),
    Stats(StatsPlan),
    Ifaces(Print),
    Capture(Box<CapturePlan>),
    Conns(ConnsPlan),
    Ladder(LadderPlan),
    Stream(StreamPlan),
    Segments(SegmentsPlan),
    Demo(DemoPlan),
    Subnet(SubnetPlan),
    Gen(GenPlan),
    Serve(peer::Serve),
    Send(peer::SendOpts),
    Scan(ScanPlan),
}

impl Plan {
    pub(super) fn of(c: Command) -> Result<Plan> {
        Ok(match c {
            Command::Read(a) => Plan::Read(ReadPlan {
                filter: parse_filter(a.filter.as_deref())?,
                view: View::of(&a.view),
                count: a.count,
                files: a.files,
            }),
            Command::Show(a) => {
                let mut frames = a.frames;
                frames.sort_unstable();
                frames.dedup();
                Plan::Show(ShowPlan { file: a.file, frames, hex: a.hex, absolute_seq: a.absolute_seq })
            }
            Command::Stats(a) => Plan::Stats(StatsPlan {
                filter: parse_filter(a.filter.as_deref())?,
                print: a.format.into(),
                files: a.files,
            }),
            Command::Ifaces(a) => Plan::Ifaces(a.format.into()),
            Command::Capture(a) => Plan::Capture(Box::new(CapturePlan::of(a)?)),
            Command::Conns(a) => Plan::Conns(ConnsPlan {
                print: a.format.into(),
                proto: a.proto.map(|p| match p {
                    crate::cli::ConnProto::Tcp => Proto::Tcp,
                    crate::cli::ConnProto::Udp => Proto::Udp,
                }),
                max_conns: a.track.max_conns,
                file: a.file,
            }),
            Command::Ladder(a) => Plan::Ladder(LadderPlan {
                filter: parse_filter(a.filter.as_deref())?,
                style: crate::render::ladder::Style {
                    width: draw_width(a.draw.width),
                    ascii: a.draw.ascii,
                    absolute: a.absolute,
                },
                conn: a.conn,
                expand: a.expand,
                max: a.max,
                max_conns: a.track.max_conns,
                file: a.file,
            }),
            Command::Stream(a) => Plan::Stream(StreamPlan::of(a)?),
            Command::Segments(a) => Plan::Segments(SegmentsPlan {
                view: SegmentsView {
                    conn: a.conn,
                    framing: a.framing,
                    dirs: dirs_shown(a.dir),
                    limits: Limits { per_direction: a.reassembly.max_held, total: a.reassembly.max_held_total },
                    max_conns: a.track.max_conns,
                    style: (a.format == StatsFormat::Table).then(|| crate::render::segments::Style {
                        width: draw_width(a.draw.width),
                        ascii: a.draw.ascii,
                        expand: a.expand,
                    }),
                    expand: a.expand,
                },
                file: a.file,
            }),
            Command::Demo(a) => Plan::Demo(DemoPlan {
                scenarios: match a.scenario {
                    Some(s) => vec![s.into()],
                    None => crate::gen::demo::Scenario::ALL.to_vec(),
                },
                style: crate::render::ladder::Style {
                    width: draw_width(a.draw.width),
                    ascii: a.draw.ascii,
                    absolute: false,
                },
                synthetic: a.synthetic,
            }),
            Command::Subnet(a) => Plan::Subnet(SubnetPlan::of(a)?),
            Command::Gen(a) => Plan::Gen(GenPlan::new(&a)?),
            Command::Serve(a) => Plan::Serve(peer::Serve {
                udp: a.kind == crate::cli::ServeKind::UdpEcho,
                port: a.port,
                upper: a.upper,
                read_delay: Duration::from_millis(a.read_delay),
                recv_size: a.recv_size as usize,
                framing: a.framing,
                max_clients: usize::from(a.max_clients),
                duration: a.duration.map(Duration::from_secs),
            }),
            Command::Send(a) => {
                peer::check_target(a.to.ip(), a.allow_remote)?;
                Plan::Send(peer::SendOpts {
                    udp: a.proto == crate::cli::SendProto::Udp,
                    to: a.to,
                    messages: a.messages,
                    framing: a.framing,
                    nodelay: a.nodelay,
                    count: a.count as usize,
                    interval: Duration::from_millis(a.interval),
                })
            }
            Command::Scan(a) => {
                peer::check_target(a.host, a.allow_remote)?;
                let range =
                    a.ports.split_once('-').and_then(|(x, y)| Some((x.parse::<u16>().ok()?, y.parse::<u16>().ok()?)));
                let Some((first, last)) = range.filter(|(x, y)| x <= y && *x > 0) else {
                    anyhow::bail!("--ports takes FIRST-LAST from 1 to 65535, e.g. 1-1024; got '{}'", a.ports);
                };
                Plan::Scan(ScanPlan {
                    host: a.host,
                    first,
                    last,
                    timeout: Duration::from_millis(a.timeout),
                    concurrency: usize::from(a.concurrency),
                })
            }
        })
    }

    pub(super) fn run(self) -> Result<bool> {
        match self {
            Plan::Read(p) => read(p),
            Plan::Show(p) => show(p),
            Plan::Stats(p) => stats_cmd(p),
            Plan::Ifaces(p) => ifaces(p),
            Plan::Capture(p) => capture(*p),
            Plan::Conns(p) => conns_cmd(p),
            Plan::Ladder(p) => ladder_cmd(p),
            Plan::Stream(p) => stream_cmd(p),
            Plan::Segments(p) => segments_cmd(p),
            Plan::Demo(p) => demo_cmd(p),
            Plan::Subnet(p) => subnet_cmd(p),
            Plan::Gen(p) => gen_cmd(p),
            Plan::Serve(p) => serve_cmd(p),
            Plan::Send(p) => send_cmd(p),
            Plan::Scan(p) => scan_cmd(p),
        }
    }
}

/// A table for people or JSON lines for scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Print {
    Table,
    Jsonl,
}

impl From<StatsFormat> for Print {
    fn from(f: StatsFormat) -> Print {
        match f {
            StatsFormat::Table => Print::Table,
            StatsFormat::Jsonl => Print::Jsonl,
        }
    }
}

/// How a frame is written by `read` and `capture`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    List,
    Tree {
        hex: bool,
    },
    Jsonl,
    /// One JSON array for the whole run.
    Json,
}

/// How `read` and `capture` show frames.
#[derive(Clone, Copy, Debug)]
pub(super) struct View {
    pub(super) shape: Shape,
    pub(super) time: crate::render::list::TimeFormat,
    pub(super) absolute_seq: bool,
}

impl View {
    fn of(v: &ViewArgs) -> View {
        let shape = match v.format {
            // -V or -x turn the list into trees; JSON stays JSON (as tshark's -T ek does).
            Format::List if v.verbose || v.hex => Shape::Tree { hex: v.hex },
            Format::List => Shape::List,
            Format::Jsonl => Shape::Jsonl,
            Format::Json => Shape::Json,
        };
        View { shape, time: v.time.into(), absolute_seq: v.absolute_seq }
    }
}

pub(super) struct ReadPlan {
    pub(super) files: Vec<String>,
    pub(super) view: View,
    pub(super) filter: Option<Filter>,
    pub(super) count: Option<u64>,
}

pub(super) struct ShowPlan {
    pub(super) file: String,
    /// Sorted, without repeats.
    pub(super) frames: Vec<u64>,
    pub(super) hex: bool,
    pub(super) absolute_seq: bool,
}

pub(super) struct StatsPlan {
    pub(super) files: Vec<String>,
    pub(super) filter: Option<Filter>,
    pub(super) print: Print,
}

pub(super) struct CapturePlan {
    pub(super) live: live::Options,
    pub(super) filter: Option<Filter>,
    pub(super) write: Option<String>,
    pub(super) count: Option<u64>,
    pub(super) quiet: bool,
    pub(super) conns: bool,
    pub(super) view: View,
}

impl CapturePlan {
    fn of(a: CaptureArgs) -> Result<CapturePlan> {
        let filter = parse_filter(a.filter.as_deref())?;
        let live = live::Options {
            snaplen: a.snaplen,
            buffer: a.buffer_kib as usize * 1024,
            promiscuous: !a.no_promiscuous,
            duration: a.duration,
            kernel_filter: a.filter.as_deref().and_then(bpf::simple),
            interface: a.interface,
        };
        Ok(CapturePlan {
            live,
            filter,
            write: a.write,
            count: a.count,
            quiet: a.quiet,
            conns: a.conns,
            view: View::of(&a.view),
        })
    }
}

pub(super) struct ConnsPlan {
    pub(super) file: String,
    pub(super) print: Print,
    /// Only this protocol's rows.
    pub(super) proto: Option<Proto>,
    pub(super) max_conns: u64,
}

pub(super) struct LadderPlan {
    pub(super) file: String,
    pub(super) conn: Option<u32>,
    pub(super) filter: Option<Filter>,
    pub(super) style: crate::render::ladder::Style,
    pub(super) expand: bool,
    pub(super) max: usize,
    pub(super) max_conns: u64,
}

pub(super) struct StreamPlan {
    pub(super) file: String,
    pub(super) conn: u32,
    pub(super) dirs: [bool; 2],
    pub(super) how: As,
    pub(super) ascii: bool,
    pub(super) limits: Limits,
    pub(super) max_conns: u64,
}

impl StreamPlan {
    fn of(a: crate::cli::StreamArgs) -> Result<StreamPlan> {
        if a.how == StreamAs::Raw && a.dir == DirArg::Both {
            anyhow::bail!("--as raw writes the exact bytes of one direction: add --dir client or --dir server");
        }
        Ok(StreamPlan {
            conn: a.conn,
            dirs: dirs_shown(a.dir),
            how: match a.how {
                StreamAs::Text => As::Text,
                StreamAs::Hex => As::Hex,
                StreamAs::Raw => As::Raw,
            },
            ascii: a.ascii,
            limits: Limits { per_direction: a.reassembly.max_held, total: a.reassembly.max_held_total },
            max_conns: a.track.max_conns,
            file: a.file,
        })
    }
}

/// The directions a `--dir` shows, indexed by `Dir::index`.
fn dirs_shown(d: DirArg) -> [bool; 2] {
    [d != DirArg::Server, d != DirArg::Client]
}

pub(super) struct SegmentsPlan {
    pub(super) file: String,
    pub(super) view: SegmentsView,
}

pub(super) struct DemoPlan {
    pub(super) scenarios: Vec<crate::gen::demo::Scenario>,
    pub(super) style: crate::render::ladder::Style,
    /// Generated in memory even where a live run would work.
    pub(super) synthetic: bool,
}

pub(super) struct SubnetPlan {
    pub(super) json: bool,
    pub(super) query: Query,
}

/// A `subnet` question with its addresses parsed.
pub(super) enum Query {
    Info(Net),
    Same(Net, Net),
    /// Blocks for these host counts, largest first (VLSM).
    Hosts(Net, Vec<u64>),
    /// Blocks of this prefix length.
    Prefix(Net, u8),
    Summarize(Vec<Net>),
    Range {
        text: String,
        first: u32,
        last: u32,
    },
}

impl SubnetPlan {
    fn of(a: crate::cli::SubnetArgs) -> Result<SubnetPlan> {
        use crate::cli::SubnetCommand;
        let query = match a.command {
            None => Query::Info(subnet::parse_net(&a.net)?),
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
                Query::Same(Net { addr: aa, prefix: ap }, Net { addr: ba, prefix: bp })
            }
            Some(SubnetCommand::Split { net, prefix, count, hosts }) => {
                let n = subnet::parse_net(std::slice::from_ref(&net))?;
                let n = Net { addr: n.network(), prefix: n.prefix };
                match (hosts, prefix, count) {
                    (Some(h), _, _) => Query::Hosts(n, h),
                    (None, Some(p), _) => Query::Prefix(n, subnet::parse_mask(&p)?),
                    (None, None, Some(c)) => Query::Prefix(n, subnet::prefix_for_count(n, c)?),
                    (None, None, None) => anyhow::bail!("give --prefix, --count or --hosts"),
                }
            }
            Some(SubnetCommand::Summarize { nets }) => Query::Summarize(
                nets.iter().map(|s| subnet::parse_net(std::slice::from_ref(s))).collect::<Result<_, _>>()?,
            ),
            Some(SubnetCommand::Range { range }) => {
                let Some((x, y)) = range.split_once('-') else {
                    anyhow::bail!("'{range}' is not a range: write FIRST-LAST, e.g. 10.0.0.5-10.0.0.20");
                };
                let (first, last) = (subnet::parse_addr(x)?, subnet::parse_addr(y)?);
                if first > last {
                    anyhow::bail!("range {range} is backwards: the first address is above the last");
                }
                Query::Range { text: range, first, last }
            }
        };
        Ok(SubnetPlan { json: a.format == StatsFormat::Jsonl, query })
    }
}

pub(super) struct ScanPlan {
    pub(super) host: std::net::IpAddr,
    pub(super) first: u16,
    pub(super) last: u16,
    pub(super) timeout: Duration,
    pub(super) concurrency: usize,
}

/// What `gen` will write, checked whole before the output file is created: a wrong
/// option must not leave an empty or truncated file behind.
pub(super) struct GenPlan {
    pub(super) what: GenScenario,
    pub(super) write: String,
    pub(super) link: crate::gen::Link,
    pub(super) vlan: Vec<u16>,
    pub(super) snaplen: Option<u32>,
    pub(super) pcapng: bool,
    pub(super) seed: u64,
}

/// A scenario with its parameters, as `gen` runs it.
pub(super) enum GenScenario {
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
        use GenScenario as G;
        let link: crate::gen::Link = a.link.into();
        if a.vlan.len() > 2 || (!a.vlan.is_empty() && link != crate::gen::Link::Ethernet) {
            anyhow::bail!("--vlan takes one or two ids (QinQ), and only with --link ethernet");
        }
        let what = match a.scenario {
            S::Handshake => G::Handshake { close: a.close.into(), half_close: a.half_close },
            S::EchoTcp => G::EchoTcp,
            S::EchoUdp => G::EchoUdp,
            S::Arp => G::Arp,
            S::Refused => G::Refused,
            S::Wrap => G::Wrap,
            S::Loss => G::Loss,
            S::ZeroWindow => G::ZeroWindow,
            S::Mix => G::Mix { frames: a.frames },
            S::Scan => {
                let parsed =
                    a.ports.split_once('-').and_then(|(x, y)| Some((x.parse::<u16>().ok()?, y.parse::<u16>().ok()?)));
                let Some((first, last)) = parsed.filter(|(x, y)| x <= y && y - x < 4096) else {
                    anyhow::bail!("--ports takes FIRST-LAST with at most 4096 ports, e.g. 20-30; got '{}'", a.ports);
                };
                G::Scan { first, last }
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
                G::Sticky(crate::gen::scenarios::Sticky {
                    sizes,
                    framing: a.framing.clone(),
                    mss: usize::from(a.mss),
                    coalesce: usize::from(a.coalesce),
                })
            }
        };
        Ok(GenPlan {
            what,
            write: a.write.clone(),
            link,
            vlan: a.vlan.clone(),
            snaplen: a.snaplen,
            pcapng: a.pcapng,
            seed: a.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn plan(args: &str) -> Result<Plan> {
        let cli = Cli::try_parse_from(args.split(' ')).map_err(|e| anyhow::anyhow!("{e}"))?;
        Plan::of(cli.command)
    }

    fn refused(args: &str) -> String {
        match plan(args) {
            Ok(_) => panic!("{args}: planned"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn bad_options_are_refused_before_any_file_is_touched() {
        // None of these files exist: the plan never looks.
        assert!(refused("pktlab read -Y tcp.port== /nonexistent.pcap").contains("tcp.port"));
        assert!(refused("pktlab stream --as raw /nonexistent.pcap").contains("add --dir client"));
        assert!(refused("pktlab gen scan --ports 30-20 -w /nonexistent/x.pcap").contains("--ports"));
        assert!(refused("pktlab gen handshake --link raw --vlan 5 -w /nonexistent/x.pcap").contains("--vlan"));
        assert!(refused("pktlab scan 192.0.2.1").contains("loopback"));
        assert!(refused("pktlab subnet range 10.0.0.9-10.0.0.1").contains("backwards"));
        assert!(refused("pktlab subnet same 10.0.0.1 10.0.0.2").contains("give A a prefix"));
        assert!(refused("pktlab capture -i lo -Y ip.src== -w /nonexistent/x.pcap").contains("ip.src"));
    }

    #[test]
    fn plans_speak_the_stages_language() {
        let Plan::Read(r) = plan("pktlab read -x --format list f.pcap").unwrap() else { panic!("not a read plan") };
        assert_eq!(r.view.shape, Shape::Tree { hex: true });
        let Plan::Read(r) = plan("pktlab read -V --format jsonl f.pcap").unwrap() else { panic!("not a read plan") };
        assert_eq!(r.view.shape, Shape::Jsonl);
        let Plan::Show(s) = plan("pktlab show f.pcap --frame 9,2,9").unwrap() else { panic!("not a show plan") };
        assert_eq!(s.frames, [2, 9]);
        let Plan::Stream(s) = plan("pktlab stream --dir server --as raw f.pcap").unwrap() else {
            panic!("not a stream plan")
        };
        assert_eq!((s.dirs, s.how), ([false, true], As::Raw));
        let Plan::Capture(c) = plan("pktlab capture -i lo -Y tcp.port==80").unwrap() else {
            panic!("not a capture plan")
        };
        assert_eq!(c.live.kernel_filter.map(|f| f.to_string()), Some("tcp port 80".to_string()));
        let Plan::Subnet(s) = plan("pktlab subnet split 10.0.0.7/24 --count 4").unwrap() else {
            panic!("not a subnet plan")
        };
        assert!(matches!(s.query, Query::Prefix(n, 26) if n.addr == 0x0a00_0000));
    }
}
