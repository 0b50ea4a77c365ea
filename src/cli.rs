//! Command-line grammar (clap derive types only; `app` turns them into work).

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "pktlab",
    version,
    about = "Packet-level protocol inspector and simulator: read captures, decode Ethernet/ARP/IPv4/IPv6/TCP/UDP/ICMP (and the links and tunnels around them), filter, and see what the bytes mean."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the frames of capture files (pcap or pcapng; `-` reads stdin), like tshark.
    Read(ReadArgs),
    /// Show chosen frames as a layer tree (every field, its meaning and byte range).
    Show(ShowArgs),
    /// Summarize capture files: format, link types, counts, times, rates, protocols.
    Stats(StatsArgs),
    /// List network interfaces: index, name, MAC, addresses, flags (no privileges needed).
    Ifaces(IfacesArgs),
    /// Capture live from an interface (needs root or CAP_NET_RAW): show frames as they arrive, write a pcap.
    Capture(CaptureArgs),
    /// One row per TCP connection / UDP conversation: tshark's conv counts, Zeek's state and history, close, RTT.
    Conns(ConnsArgs),
    /// Ladder diagram of TCP connections / UDP exchanges: arrows with seq/ack, states entered, what each step means.
    Ladder(LadderArgs),
    /// Follow a connection's bytes (Wireshark's Follow TCP Stream): both directions in order, as text, hex or raw.
    Stream(StreamArgs),
    /// The sticky-packet view: which bytes of which message rode in which segment, for a framing you name.
    Segments(SegmentsArgs),
    /// The lessons in one command: handshake, teardown, sticky packets, UDP, with real sockets captured on lo (or generated in memory when it cannot capture there).
    Demo(DemoArgs),
    /// Subnet calculator: ADDR/PREFIX, ADDR MASK; and `same`, `split`, `summarize`, `range`.
    Subnet(SubnetArgs),
    /// Write a synthetic capture of a scenario (deterministic for a seed, no privileges).
    Gen(GenArgs),
    /// A real echo server on loopback that logs every recv() (and framed messages).
    Serve(ServeArgs),
    /// Send messages to a server with one send() each (loopback unless --allow-remote).
    Send(SendArgs),
    /// TCP connect scan of a port range, bounded (loopback unless --allow-remote).
    Scan(ScanArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ConnsArgs {
    /// Capture file (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    /// Only TCP connections or only UDP conversations.
    #[arg(long, value_enum)]
    pub proto: Option<ConnProto>,
    #[command(flatten)]
    pub track: TrackArgs,
}

#[derive(Args, Debug, Clone)]
pub struct LadderArgs {
    /// Capture file (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Draw only this connection (the `#` column of `pktlab conns`).
    #[arg(long, value_name = "N")]
    pub conn: Option<u32>,
    /// Draw only the frames matching this display filter (and so only their connections).
    #[arg(short = 'Y', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Raw sequence and acknowledgment numbers instead of relative ones.
    #[arg(long)]
    pub absolute: bool,
    #[command(flatten)]
    pub draw: DrawArgs,
    /// Draw every segment (long runs of plain data segments are folded by default).
    #[arg(long)]
    pub expand: bool,
    /// Most connections drawn when --conn is not given.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max: usize,
    #[command(flatten)]
    pub track: TrackArgs,
}

/// Which directions of a connection.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirArg {
    /// From the client (the side that opened, or sent first) to the server.
    Client,
    /// From the server to the client.
    Server,
    Both,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamAs {
    /// Printable text as is, `\n` shown then a line break, other bytes escaped (`\r`, `\xNN`).
    Text,
    /// Hex dump with stream offsets.
    Hex,
    /// The exact bytes of one direction (needs --dir client|server), for piping.
    Raw,
}

/// Stream reassembly limits, shared by `stream` and `segments`.
#[derive(Args, Debug, Clone, Copy)]
pub struct ReassemblyArgs {
    /// Most bytes held out of order per direction, waiting for a gap to fill; beyond it
    /// the gap is declared missing and the stream goes on.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_held: usize,
    /// Most bytes held out of order by all directions together.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_held_total: usize,
}

#[derive(Args, Debug, Clone)]
pub struct StreamArgs {
    /// Capture file (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The connection (the `#` column of `pktlab conns`): TCP, or a UDP conversation.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub conn: u32,
    /// Which direction(s).
    #[arg(long, value_enum, default_value_t = DirArg::Both)]
    pub dir: DirArg,
    /// How the bytes are shown.
    #[arg(long = "as", value_enum, default_value_t = StreamAs::Text)]
    pub how: StreamAs,
    /// Plain ASCII markers instead of box-drawing characters.
    #[arg(long)]
    pub ascii: bool,
    #[command(flatten)]
    pub reassembly: ReassemblyArgs,
    #[command(flatten)]
    pub track: TrackArgs,
}

#[derive(Args, Debug, Clone)]
pub struct SegmentsArgs {
    /// Capture file (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The connection (the `#` column of `pktlab conns`): TCP, or a UDP conversation.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub conn: u32,
    /// How the application frames its messages: none, len:INT[,offset=N][,inclusive][,max=N]
    /// (INT: u8, u16be, u16le, u32be, u32le, u64be, u64le, i32le = Python's struct 'i' on x86,
    /// i32be), jsonhdr[:INT][,key=NAME] (a length, a JSON header, its key = body length),
    /// line[:DELIM] (e.g. line:\r\n\r\n), fixed:N; or gen's names len32le, len32be,
    /// len16be, json-header. Ignored for UDP: a datagram is a message.
    #[arg(long, value_name = "SPEC", default_value = "none")]
    pub framing: crate::analysis::framing::Spec,
    /// Which direction(s).
    #[arg(long, value_enum, default_value_t = DirArg::Both)]
    pub dir: DirArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    #[command(flatten)]
    pub draw: DrawArgs,
    /// Every row of the segment, message and note lists, in text and JSON (long lists
    /// show their two ends; with this, memory grows with the stream).
    #[arg(long)]
    pub expand: bool,
    #[command(flatten)]
    pub reassembly: ReassemblyArgs,
    #[command(flatten)]
    pub track: TrackArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// One scenario (default: all of them, in order).
    #[arg(value_enum)]
    pub scenario: Option<DemoScenario>,
    /// Do not capture: show the scenarios generated in memory (what happens anyway when the live run cannot work).
    #[arg(long)]
    pub synthetic: bool,
    #[command(flatten)]
    pub draw: DrawArgs,
}

/// How the drawings (ladders, segment maps) are drawn.
#[derive(Args, Debug, Clone, Copy)]
pub struct DrawArgs {
    /// Plain ASCII instead of box-drawing characters.
    #[arg(long)]
    pub ascii: bool,
    /// Width in columns (default: the terminal's, or 100).
    #[arg(long, value_name = "COLS", value_parser = clap::value_parser!(u16).range(60..=1000))]
    pub width: Option<u16>,
}

/// Connection-table limits, shared by the commands that track connections.
#[derive(Args, Debug, Clone, Copy)]
pub struct TrackArgs {
    /// Most connections tracked at once (hostile captures open millions); beyond it the
    /// longest idle are closed out early, with a note.
    #[arg(long, value_name = "N", default_value_t = 500_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub max_conns: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnProto {
    Tcp,
    Udp,
}

#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Host to scan, e.g. 127.0.0.1.
    pub host: std::net::IpAddr,
    /// Port range FIRST-LAST.
    #[arg(long, default_value = "1-1024")]
    pub ports: String,
    /// Give up on a port after this long.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub timeout: u64,
    /// Ports tried at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub concurrency: u16,
    /// Allow a host outside loopback (it is your network: your call).
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServeKind {
    TcpEcho,
    UdpEcho,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// What to serve.
    #[arg(value_enum)]
    pub kind: ServeKind,
    /// Port on 127.0.0.1 (0: any free port, printed at start).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    /// Answer upper-cased.
    #[arg(long)]
    pub upper: bool,
    /// Wait this long before each recv(): a slow reader makes messages pile up (sticky packets).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub read_delay: u64,
    /// Bytes asked for per recv() (small values split messages).
    #[arg(long, value_name = "N", default_value_t = 65536, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub recv_size: u32,
    /// Reassemble and print whole messages of this framing too: none, len:INT
    /// (u8, u16be, u32le, i32le, ...), jsonhdr, line[:DELIM], fixed:N, or len32le,
    /// len32be, len16be, line, json-header.
    #[arg(long, value_name = "SPEC")]
    pub framing: Option<crate::analysis::framing::Spec>,
    /// Clients served at once; more are refused.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub max_clients: u16,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendProto {
    Tcp,
    Udp,
}

#[derive(Args, Debug, Clone)]
pub struct SendArgs {
    /// TCP or UDP.
    #[arg(value_enum)]
    pub proto: SendProto,
    /// Where to send, e.g. 127.0.0.1:9000.
    #[arg(long)]
    pub to: std::net::SocketAddr,
    /// The messages, comma separated; each goes out with one send().
    #[arg(long, value_delimiter = ',', default_value = "hello")]
    pub messages: Vec<String>,
    /// Frame each message (the receiver's fix for lost boundaries): len:INT (u8,
    /// u16be, u32le, i32le, ...), jsonhdr, line[:DELIM], fixed:N, or len32le, len32be,
    /// len16be, line, json-header.
    #[arg(long, value_name = "SPEC")]
    pub framing: Option<crate::analysis::framing::Spec>,
    /// Turn Nagle's algorithm off (TCP_NODELAY): small writes are not held back to coalesce.
    #[arg(long)]
    pub nodelay: bool,
    /// Rounds of all the messages.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    /// Pause between rounds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub interval: u64,
    /// Allow a destination outside loopback (it is your network: your call).
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Three-way handshake, a request and a reply, then a close (see --close, --half-close).
    Handshake,
    /// The echo exchange over TCP: lines sent, answered upper-cased.
    EchoTcp,
    /// The echo exchange over UDP datagrams.
    EchoUdp,
    /// Framed messages coalesced into and split across segments (the sticky-packet lesson).
    Sticky,
    /// ARP request, reply, and a gratuitous announcement.
    Arp,
    /// A connection refused: SYN answered by RST-ACK.
    Refused,
    /// SYNs to a port range: open ports answer SYN-ACK, closed ones RST-ACK.
    Scan,
    /// Sequence numbers that wrap past 2^32.
    Wrap,
    /// A lost segment: duplicate ACKs, fast retransmission, recovery.
    Loss,
    /// The receiver stalls: window shrinks to zero, probes, window update.
    ZeroWindow,
    /// A large mix of many concurrent connections, UDP and ARP, for benchmarks.
    Mix,
}

#[derive(Args, Debug, Clone)]
pub struct GenArgs {
    /// What to generate.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Output pcap file (`-` for standard output).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: String,
    /// Seed for ports, ISNs and the mix: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// handshake: how the connection ends.
    #[arg(long, value_enum, default_value_t = CloseArg::Client)]
    pub close: CloseArg,
    /// handshake: the client half-closes, the server still sends, then closes.
    #[arg(long)]
    pub half_close: bool,
    /// sticky: number of messages of --size bytes.
    #[arg(long, default_value_t = 6)]
    pub messages: usize,
    /// sticky: body size of each message.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// sticky: body sizes, one per message (instead of --messages/--size).
    #[arg(long, value_delimiter = ',')]
    pub sizes: Option<Vec<usize>>,
    /// sticky: how messages are framed: len32le, len32be, len16be, line, json-header, or
    /// any spec: none, len:INT (u8, u16be, u32le, i32le, ...), jsonhdr, line[:DELIM], fixed:N.
    #[arg(long, value_name = "SPEC", default_value = "len32le")]
    pub framing: crate::analysis::framing::Spec,
    /// sticky: maximum segment size.
    #[arg(long, default_value_t = 1460, value_parser = clap::value_parser!(u16).range(1..))]
    pub mss: u16,
    /// sticky: messages written per burst (coalesced into shared segments).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub coalesce: u16,
    /// mix: number of frames (the exchange in progress may add up to two more).
    #[arg(long, default_value_t = 100_000)]
    pub frames: u64,
    /// scan: port range FIRST-LAST.
    #[arg(long, default_value = "20-30")]
    pub ports: String,
    /// Link layer to record the frames with.
    #[arg(long, value_enum, default_value_t = LinkArg::Ethernet)]
    pub link: LinkArg,
    /// 802.1Q VLAN id(s), outermost first; two make QinQ (e.g. 100,36).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..4095))]
    pub vlan: Vec<u16>,
    /// Cut each frame to this many captured bytes (keeping its original length).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub snaplen: Option<u32>,
    /// Write pcapng instead of pcap.
    #[arg(long)]
    pub pcapng: bool,
}

#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SubnetArgs {
    #[command(subcommand)]
    pub command: Option<SubnetCommand>,
    /// ADDR/PREFIX (192.168.1.10/24), ADDR/MASK, or ADDR MASK (192.168.1.10 255.255.255.0).
    #[arg(value_name = "ADDR", num_args = 1..=2, required = true)]
    pub net: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table, global = true)]
    pub format: StatsFormat,
}

#[derive(Subcommand, Debug, Clone)]
pub enum SubnetCommand {
    /// Are two hosts on the same network? `same A B --mask M`, `same A/P B`, or `same A/P B/Q`.
    Same {
        /// First host, with its prefix or mask (A/24), or alone with --mask.
        a: String,
        /// Second host; without a prefix it takes A's (or --mask).
        b: String,
        /// The mask both hosts use (255.255.255.0 or /24).
        #[arg(long)]
        mask: Option<String>,
    },
    /// Split a network: into /P blocks, into N blocks, or by host counts (VLSM, largest first).
    #[command(group(clap::ArgGroup::new("how").required(true).args(["prefix", "count", "hosts"])))]
    Split {
        /// The network to split, e.g. 192.168.0.0/24.
        net: String,
        /// Prefix of the blocks (26 or /26).
        #[arg(long)]
        prefix: Option<String>,
        /// Number of equal blocks wanted (rounded up to a power of two).
        #[arg(long)]
        count: Option<u64>,
        /// Hosts needed per subnet, e.g. 50,20,10.
        #[arg(long, value_delimiter = ',')]
        hosts: Option<Vec<u64>>,
    },
    /// The smallest block covering networks, and the exact minimal set of blocks.
    Summarize {
        /// Networks, e.g. 10.0.0.0/24 10.0.1.0/24.
        #[arg(required = true)]
        nets: Vec<String>,
    },
    /// An address range as CIDR blocks: A-B.
    Range {
        /// First and last address, e.g. 10.0.0.5-10.0.0.20.
        range: String,
    },
}

/// How frames are shown: the same for `read` and `capture`.
#[derive(Args, Debug, Clone, Copy)]
pub struct ViewArgs {
    /// Layer tree for every frame instead of one line per frame.
    #[arg(short = 'V', long = "verbose")]
    pub verbose: bool,
    /// Add a hex + ASCII dump of each frame, marking each layer's bytes.
    #[arg(short = 'x', long = "hex")]
    pub hex: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::List)]
    pub format: Format,
    /// Time column: seconds since the first frame, since the previous frame, UTC date and time, or Unix epoch.
    #[arg(long, value_enum, default_value_t = TimeFormat::Relative)]
    pub time: TimeFormat,
    /// Show raw TCP sequence numbers instead of numbers relative to each connection's first.
    #[arg(long)]
    pub absolute_seq: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Capture files to read (`-` for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    #[command(flatten)]
    pub view: ViewArgs,
    /// Display filter, e.g. 'tcp.port == 80 and ip.addr == 10.0.0.0/8'.
    #[arg(short = 'Y', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Stop after this many frames have been shown.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,
}

#[derive(Args, Debug, Clone)]
pub struct ShowArgs {
    /// Capture file to read (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Frame numbers to show, e.g. `3` or `1,4,7`.
    #[arg(long = "frame", short = 'f', value_delimiter = ',', required = true, value_name = "N")]
    pub frames: Vec<u64>,
    /// Add a hex + ASCII dump marking each layer's bytes.
    #[arg(short = 'x', long = "hex")]
    pub hex: bool,
    /// Show raw TCP sequence numbers.
    #[arg(long)]
    pub absolute_seq: bool,
}

#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// Capture files to summarize (`-` for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Count only frames matching this display filter.
    #[arg(short = 'Y', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
}

#[derive(Args, Debug, Clone)]
pub struct IfacesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
}

#[derive(Args, Debug, Clone)]
pub struct CaptureArgs {
    /// Interface to capture on (see `pktlab ifaces`).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,
    /// Stop after this many frames (those matching -Y, if given).
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<std::time::Duration>,
    /// Write the frames (those matching -Y, if given) to this pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<String>,
    /// Display filter; simple ones (tcp, udp, arp, icmp, tcp.port == N, udp.port == N, ip.addr == A) also run in the kernel.
    #[arg(short = 'Y', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Bytes kept of each frame (the original length is always recorded).
    #[arg(short = 's', long, value_name = "N", default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(64..=262_144))]
    pub snaplen: u32,
    /// Kernel receive buffer in KiB (raise it if the summary reports drops).
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB", default_value_t = 32 * 1024, value_parser = clap::value_parser!(u32).range(64..=2_097_152))]
    pub buffer_kib: u32,
    /// Do not put the interface into promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous")]
    pub no_promiscuous: bool,
    /// Do not show frames (only write them and print the summary).
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// When the capture stops, print the connection table of what it saw (as `pktlab conns`).
    #[arg(long)]
    pub conns: bool,
    #[command(flatten)]
    pub view: ViewArgs,
}

fn parse_secs(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_nan() || v <= 0.0 {
        return Err("the duration must be more than 0 seconds".into());
    }
    std::time::Duration::try_from_secs_f64(v).map_err(|_| format!("{s} seconds is too long"))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One line per frame (tshark's default view).
    List,
    /// One JSON object per frame, one per line.
    Jsonl,
    /// A single JSON array of frame objects.
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    Table,
    Jsonl,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    Relative,
    Delta,
    Absolute,
    Epoch,
}

impl From<TimeFormat> for crate::render::list::TimeFormat {
    fn from(t: TimeFormat) -> Self {
        use crate::render::list::TimeFormat as T;
        match t {
            TimeFormat::Relative => T::Relative,
            TimeFormat::Delta => T::Delta,
            TimeFormat::Absolute => T::Absolute,
            TimeFormat::Epoch => T::Epoch,
        }
    }
}

/// `demo`'s scenarios (see `gen::demo::Scenario`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoScenario {
    /// connect()/accept(): the three-way handshake, one request and its answer, close().
    Handshake,
    /// The close in detail: the client shuts down its sending side first and still
    /// reads the server's last words (half-close), then both FINs.
    Teardown,
    /// Small framed messages sent fast and one large one: where the boundaries go.
    Sticky,
    /// The same exchange over UDP: datagrams keep their boundaries.
    Udp,
}

impl From<DemoScenario> for crate::gen::demo::Scenario {
    fn from(s: DemoScenario) -> Self {
        use crate::gen::demo::Scenario as S;
        match s {
            DemoScenario::Handshake => S::Handshake,
            DemoScenario::Teardown => S::Teardown,
            DemoScenario::Sticky => S::Sticky,
            DemoScenario::Udp => S::Udp,
        }
    }
}

/// `gen handshake --close` (see `gen::scenarios::Close`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseArg {
    /// The client closes first: FIN, ACK, FIN, ACK (the four-way teardown).
    Client,
    /// The server closes first.
    Server,
    /// Both send FIN before seeing the other's (RFC 9293 section 3.6, simultaneous close).
    Simultaneous,
    /// The server's ACK and FIN ride in one segment: FIN, FIN+ACK, ACK.
    ThreeWay,
    /// The client aborts with RST.
    Rst,
}

impl From<CloseArg> for crate::gen::scenarios::Close {
    fn from(c: CloseArg) -> Self {
        use crate::gen::scenarios::Close as C;
        match c {
            CloseArg::Client => C::Client,
            CloseArg::Server => C::Server,
            CloseArg::Simultaneous => C::Simultaneous,
            CloseArg::ThreeWay => C::ThreeWay,
            CloseArg::Rst => C::Rst,
        }
    }
}

/// `gen --link` (see `gen::Link`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkArg {
    /// Ethernet II (with --vlan tags, if any).
    Ethernet,
    /// Linux cooked capture v1 (what `tcpdump -i any` wrote before 2021).
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// Raw IP, no link header (tun devices, VPNs).
    Raw,
    /// BSD null/loopback: a 4-byte address family.
    Null,
}

impl From<LinkArg> for crate::gen::Link {
    fn from(l: LinkArg) -> Self {
        use crate::gen::Link as L;
        match l {
            LinkArg::Ethernet => L::Ethernet,
            LinkArg::Sll => L::Sll,
            LinkArg::Sll2 => L::Sll2,
            LinkArg::Raw => L::Raw,
            LinkArg::Null => L::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(args: &[&str]) -> Result<CaptureArgs, clap::Error> {
        let mut v = vec!["pktlab", "capture"];
        v.extend_from_slice(args);
        match Cli::try_parse_from(v)?.command {
            Command::Capture(a) => Ok(a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn capture_defaults() {
        let a = capture(&["-i", "lo"]).unwrap();
        assert_eq!(a.interface, "lo");
        assert_eq!((a.count, a.duration, a.write.as_deref()), (None, None, None));
        assert_eq!((a.snaplen, a.buffer_kib, a.quiet, a.no_promiscuous), (262_144, 32 * 1024, false, false));
        assert_eq!(a.view.format, Format::List);
    }

    #[test]
    fn capture_full_grammar() {
        let a = capture(&[
            "-i",
            "eth0",
            "-c",
            "3",
            "--duration",
            "2.5",
            "-w",
            "x.pcap",
            "-Y",
            "udp",
            "-s",
            "1500",
            "-q",
            "-V",
            "--format",
            "jsonl",
            "-B",
            "1024",
            "-p",
        ])
        .unwrap();
        assert_eq!(a.count, Some(3));
        assert_eq!(a.duration, Some(std::time::Duration::from_millis(2500)));
        assert_eq!(a.write.as_deref(), Some("x.pcap"));
        assert_eq!(a.filter.as_deref(), Some("udp"));
        assert_eq!((a.snaplen, a.buffer_kib), (1500, 1024));
        assert!(a.quiet && a.view.verbose && a.no_promiscuous);
        assert_eq!(a.view.format, Format::Jsonl);
    }

    #[test]
    fn capture_rejects_bad_values() {
        assert!(capture(&[]).is_err(), "interface is required");
        for bad in [
            &["-i", "lo", "-c", "0"][..],
            &["-i", "lo", "-c", "-1"],
            &["-i", "lo", "--duration", "0"],
            &["-i", "lo", "--duration", "-2"],
            &["-i", "lo", "--duration", "NaN"],
            &["-i", "lo", "--duration", "soon"],
            &["-i", "lo", "-s", "10"],
            &["-i", "lo", "-s", "300000"],
            &["-i", "lo", "--format", "xml"],
        ] {
            assert!(capture(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ifaces_formats() {
        let Command::Ifaces(a) = Cli::try_parse_from(["pktlab", "ifaces", "--format", "jsonl"]).unwrap().command else {
            panic!()
        };
        assert_eq!(a.format, StatsFormat::Jsonl);
    }
}
