//! Command-line grammar (clap derive types only; `app` turns them into work).

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "pktlab",
    version,
    about = "Packet-level protocol inspector and simulator: read captures, decode Ethernet/ARP/IPv4/IPv6/TCP/UDP/ICMP, filter, and see what the bytes mean."
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
}

#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Capture files to read (`-` for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
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
