//! Frames in. A source lends one frame at a time (timestamp, link type, original
//! length, borrowed bytes) and hands it to decode; files and live interfaces give
//! the same `Frame`, so everything downstream works the same on both.

mod ahead;
#[cfg(target_os = "linux")]
pub mod live;
pub mod pcap;

use std::fmt;

pub use self::pcap::{CaptureFile, FileFormat};

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// DLT_RAW as OpenBSD (14) and most others (12) number it in old files.
    pub const RAW_12: LinkType = LinkType(12);
    pub const RAW_14: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
    pub const PPP: LinkType = LinkType(9);
    /// PPP in HDLC-like framing (RFC 1662): read as PPP, as Wireshark does.
    pub const PPP_HDLC: LinkType = LinkType(50);
    /// PPP with a direction byte first (stripped as a pseudo-header): then PPP.
    pub const PPP_WITH_DIR: LinkType = LinkType(204);
    pub const C_HDLC: LinkType = LinkType(104);
    pub const PPI: LinkType = LinkType(192);
    pub const TOKEN_RING: LinkType = LinkType(6);
    pub const FDDI: LinkType = LinkType(10);
    pub const FRELAY: LinkType = LinkType(107);
    pub const JUNIPER_ETHER: LinkType = LinkType(178);
    pub const IPNET: LinkType = LinkType(226);
    pub const NFLOG: LinkType = LinkType(239);
    pub const IPOIB: LinkType = LinkType(242);

    /// The name tcpdump and Wireshark use for this link type.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL",
            1 => "EN10MB",
            6 => "IEEE802",
            9 => "PPP",
            10 => "FDDI",
            50 => "PPP_HDLC",
            12 | 14 | 101 => "RAW",
            105 => "IEEE802_11",
            107 => "FRELAY",
            108 => "LOOP",
            104 => "C_HDLC",
            113 => "LINUX_SLL",
            127 => "IEEE802_11_RADIOTAP",
            178 => "JUNIPER_ETHER",
            192 => "PPI",
            204 => "PPP_WITH_DIR",
            226 => "IPNET",
            228 => "IPV4",
            229 => "IPV6",
            239 => "NFLOG",
            242 => "IPOIB",
            276 => "LINUX_SLL2",
            _ => "UNKNOWN",
        }
    }

    /// Bytes of pseudo-header at the start of each record that Wireshark reads as
    /// metadata, not as the frame's (wiretap/pcap-common.c): a frame's length and
    /// captured length leave them out, so they are not shown as its bytes either.
    pub fn pseudo_header(self) -> usize {
        match self.0 {
            // SUNATM, MTP2_WITH_PHDR, BLUETOOTH_HCI_H4_WITH_PHDR, I2C_LINUX,
            // BLUETOOTH_LINUX_MONITOR
            123 | 139 | 201 | 209 | 254 => 4,
            // IRDA, LINUX_LAPD
            144 | 177 => 16,
            // SITA
            196 => 5,
            // PPP_WITH_DIR
            204 => 1,
            // NFC_LLCP
            245 => 2,
            _ => 0,
        }
    }

    /// Whether pktlab decodes frames of this link type.
    pub fn is_supported(self) -> bool {
        matches!(
            self.0,
            0 | 1
                | 6
                | 9
                | 10
                | 12
                | 14
                | 50
                | 101
                | 104
                | 107
                | 108
                | 113
                | 178
                | 192
                | 204
                | 226
                | 228
                | 229
                | 239
                | 242
                | 276
        )
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// Capture time, nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn from_duration(d: std::time::Duration) -> Timestamp {
        Timestamp(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }
    pub fn subsec_nanos(self) -> u32 {
        (self.0 % 1_000_000_000) as u32
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Signed difference `self - earlier` in nanoseconds.
    pub fn since(self, earlier: Timestamp) -> i128 {
        self.0 as i128 - earlier.0 as i128
    }
}

/// One frame, borrowed from its source until the next one is asked for.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based position in the capture (across all files given on the command line).
    pub number: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    /// Length on the wire; `data.len()` is what was captured.
    pub orig_len: u32,
    pub data: &'a [u8],
    pub interface: u32,
    /// Decimal places the timestamp's resolution gives (6 for µs, 9 for ns; a pcapng
    /// interface may say 3 or 1): tshark shows each frame's time with its own. 0:
    /// unknown, the renderer decides.
    pub ts_digits: u8,
}

impl Frame<'_> {
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

/// Why a source could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SourceErrorKind {
    #[error("cannot open: {0}")]
    Open(std::io::Error),
    #[error("is a directory, not a capture file")]
    Directory,
    #[error("file is empty (0 bytes): not a capture")]
    Empty,
    #[error("read error: {0}")]
    Read(std::io::Error),
    #[error("not a pcap or pcapng file (magic bytes {0:02x?})")]
    BadMagic([u8; 4]),
    #[error("file header cut short: needed {needed} bytes, {available} available")]
    HeaderCut { needed: usize, available: usize },
    #[error("file cut short in the middle of a record: needed {needed} bytes, {available} available")]
    RecordCut { needed: usize, available: usize },
    #[error("record claims {claimed} captured bytes, more than the maximum of {max}")]
    AbsurdLength { claimed: u64, max: u64 },
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// An error that stopped a source, with where it happened.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {}{kind}", position(*.frame, *.offset))]
pub struct SourceError {
    pub file: String,
    /// Number of the frame that could not be read (0: before the first frame).
    pub frame: u64,
    /// Byte offset in the file of the record (or header) that failed.
    pub offset: u64,
    pub kind: SourceErrorKind,
}

fn position(frame: u64, offset: u64) -> String {
    if frame == 0 {
        format!("at byte offset {offset}: ")
    } else {
        format!("frame {frame} at byte offset {offset}: ")
    }
}
