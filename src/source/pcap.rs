//! Capture files: pcap (either byte order, µs or ns) and pcapng (any number of
//! sections and interfaces), told apart by their magic bytes, never by the name.
//!
//! Regular files are memory-mapped and parsed in place, read ahead on another core
//! for a front-to-back pass (`open_scan`, see `ahead`); pipes, stdin, any file on a
//! single core, and files whose reader keeps both cores busy (`open_stream`) are read
//! through a buffer that holds one record at a time, so memory
//! stays bounded by the largest record, not the file. pcap-file reads the pcap file
//! header; records (and all of pcapng) are framed here, with Wireshark's leniency
//! (old files' swapped lengths, options that are not UTF-8). Every length field is
//! checked against a ceiling before it is trusted, so a hostile length can neither
//! make us allocate nor wait for gigabytes that will never come.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use pcap_file::pcap::{PcapParseError, PcapParser};
use pcap_file::Endianness;

use super::{Frame, LinkType, SourceError, SourceErrorKind, Timestamp};

/// Largest captured length accepted for one record. Wireshark refuses more than
/// 262,144 bytes per packet for most link types; we allow larger snaplens (loopback
/// GSO frames reach 65,549, D-Bus captures 128 MiB) but stop at a sane ceiling.
pub const MAX_RECORD: u64 = 16 * 1024 * 1024;

const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

const EPB: u32 = 6;
const SPB: u32 = 3;
const OBSOLETE_PB: u32 = 2;
const IDB: u32 = 1;
const SHB: u32 = 0x0A0D0D0A;

/// What kind of capture file this is, for `stats` and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pcap { big_endian: bool, nanosecond: bool, version: (u16, u16), snaplen: u32 },
    PcapNg,
}

impl FileFormat {
    pub fn describe(&self) -> String {
        match self {
            FileFormat::Pcap { big_endian, nanosecond, version, .. } => format!(
                "pcap {}.{} ({}, {} resolution)",
                version.0,
                version.1,
                if *big_endian { "big-endian" } else { "little-endian" },
                if *nanosecond { "ns" } else { "µs" }
            ),
            FileFormat::PcapNg => "pcapng".to_string(),
        }
    }
}

/// One interface of a capture (pcap files have exactly one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub link: LinkType,
    pub snaplen: u32,
    pub name: Option<String>,
    /// Decimal places of its timestamps (see [`Frame::ts_digits`]).
    pub ts_digits: u8,
}

/// Decimal places of an `if_tsresol` byte: 10^-n gives n, 2^-n the places needed to
/// show it, at most 9 (what a nanosecond timestamp holds).
fn tsresol_digits(raw: u8) -> u8 {
    let n = raw & 0x7f;
    let digits = if raw & 0x80 == 0 { n } else { (f64::from(n) * std::f64::consts::LOG10_2).ceil() as u8 };
    digits.min(9)
}

enum Input {
    Mapped(std::sync::Arc<memmap2::Mmap>),
    Stream { reader: Box<dyn Read + Send>, buf: Vec<u8>, eof: bool },
}

enum Parser {
    Pcap(Pcap),
    PcapNg(Ng),
}

/// What a pcap file's header says about its records.
struct Pcap {
    big: bool,
    nano: bool,
    snaplen: u32,
    /// Files before format 2.3 (libpcap before 0.4) store the record's two lengths
    /// the other way round; 2.3 files may hold either order. Wireshark's rule
    /// (wiretap/libpcap.c): below 2.3 always swap, at 2.3 when the captured length
    /// exceeds the original.
    swap: Swap,
    /// Bytes of pseudo-header before each frame that Wireshark does not count as the
    /// frame's (see [`LinkType::pseudo_header`]).
    pseudo: usize,
    /// The file's one link type.
    link: LinkType,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Swap {
    Never,
    Always,
    IfCapturedExceedsOriginal,
}

impl Pcap {
    /// The captured and original lengths of the record header `h` (16 bytes).
    fn lengths(&self, h: &[u8]) -> (u32, u32) {
        let (incl, orig) = (read_u32(&h[8..12], self.big), read_u32(&h[12..16], self.big));
        match self.swap {
            Swap::Always => (orig, incl),
            Swap::IfCapturedExceedsOriginal if incl > orig => (orig, incl),
            _ => (incl, orig),
        }
    }
}

/// The state of a pcapng section: its byte order and, per interface, how its
/// timestamps read. Kept here rather than in pcap-file's parser, which refuses a whole
/// file over an option it cannot decode (an `if_os` that is not UTF-8, seen in
/// tcpdump's test captures) where Wireshark reads on.
#[derive(Default)]
struct Ng {
    big: bool,
    clocks: Vec<Clock>,
}

/// How an interface's 64-bit timestamps become time (`if_tsresol`, `if_tsoffset`).
#[derive(Clone, Copy)]
struct Clock {
    /// Timestamp units per second.
    per_sec: u64,
    /// Seconds to add (RFC 9xxx-draft pcapng section 4.2: `if_tsoffset`).
    offset: i64,
}

impl Clock {
    /// `if_tsresol`: 10^-n (top bit clear) or 2^-n seconds; µs when absent.
    fn new(tsresol: u8, offset: i64) -> Clock {
        let n = u32::from(tsresol & 0x7f);
        let per_sec = if tsresol & 0x80 == 0 { 10u64.checked_pow(n) } else { 1u64.checked_shl(n) };
        // A resolution finer than 64 bits can count: treat as the finest that fits.
        Clock { per_sec: per_sec.unwrap_or(u64::MAX), offset }
    }

    fn time(&self, units: u64) -> Timestamp {
        let ns = u128::from(units) * 1_000_000_000 / u128::from(self.per_sec.max(1));
        let ns = ns as i128 + i128::from(self.offset) * 1_000_000_000;
        Timestamp(ns.clamp(0, i128::from(u64::MAX)) as u64)
    }
}

/// A capture file being read, frame by frame.
pub struct CaptureFile {
    name: String,
    input: Input,
    /// Start of unparsed bytes in the input buffer.
    pos: usize,
    /// End of valid bytes in the input buffer.
    end: usize,
    /// File offset of the input buffer's first byte.
    base: u64,
    parser: Parser,
    format: FileFormat,
    interfaces: Vec<Interface>,
    frames: u64,
    failed: bool,
    /// Mapped bytes before this offset have been handed back to the kernel.
    released: usize,
    /// Whether to hand pages back as the reader moves on (off when another thread
    /// still reads frames behind the reader).
    release: bool,
    ahead: Option<super::ahead::ReadAhead>,
}

impl CaptureFile {
    /// `path` opened and checked (not a directory, not an empty regular file), with its
    /// metadata; `None` for `-`, standard input.
    fn open_path(path: &str) -> Result<Option<(File, std::fs::Metadata)>, SourceError> {
        let err = |kind| SourceError { file: path.to_string(), frame: 0, offset: 0, kind };
        if path == "-" {
            return Ok(None);
        }
        let p = Path::new(path);
        let meta = std::fs::metadata(p).map_err(|e| err(SourceErrorKind::Open(e)))?;
        if meta.is_dir() {
            return Err(err(SourceErrorKind::Directory));
        }
        let file = File::open(p).map_err(|e| err(SourceErrorKind::Open(e)))?;
        if meta.is_file() && meta.len() == 0 {
            return Err(err(SourceErrorKind::Empty));
        }
        Ok(Some((file, meta)))
    }

    /// Opens a file by path, or standard input for `-`.
    pub fn open(path: &str) -> Result<CaptureFile, SourceError> {
        let err = |kind| SourceError { file: path.to_string(), frame: 0, offset: 0, kind };
        let Some((file, meta)) = Self::open_path(path)? else {
            return Self::from_reader("-", Box::new(std::io::stdin()));
        };
        if !meta.is_file() {
            // FIFOs, character devices, /dev/stdin: cannot be mapped.
            return Self::from_reader(path, Box::new(file));
        }
        // SAFETY: the map is read-only; if another process truncates the file while we
        // read it, the OS may signal us, the same risk every mmap-based reader
        // (tcpdump via libpcap's buffered reads excepted) accepts for the 2x speed.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| err(SourceErrorKind::Read(e)))?;
        // Read-ahead suits a front-to-back scan; errors only lose the hint.
        let _ = map.advise(memmap2::Advice::Sequential);
        let end = map.len();
        Self::start(path, Input::Mapped(std::sync::Arc::new(map)), end)
    }

    /// Opens `path` for one front-to-back pass: mapped, and read ahead on another core
    /// (see `source::ahead`: `stats` on 2 M frames takes 0.14 s instead of 0.21 s with
    /// plain reads). On a single core a mapping without read-ahead is slower than plain
    /// reads into a small buffer (0.28 s against 0.21 s), so it streams instead.
    /// Frames are still slices of the mapping, which the list pipeline lends to its
    /// writer thread.
    pub fn open_scan(path: &str) -> Result<CaptureFile, SourceError> {
        let mut c = Self::open(path)?;
        let Input::Mapped(m) = &c.input else { return Ok(c) };
        if let Some(a) = super::ahead::ReadAhead::start(m.clone()) {
            c.ahead = Some(a);
            return Ok(c);
        }
        // A mapping read without help is slower than plain reads (one core, or no
        // thread to be had); only the header was read from it, so drop it and stream.
        drop(c);
        Self::open_stream(path)
    }

    /// Opens `path` for one front-to-back pass with plain reads into a small buffer,
    /// not mapped: for a caller that keeps the other core busy, so that no read-ahead
    /// thread would help. The kernel copying the pages costs less than mapping them
    /// and handing them back (`read -Y` with a selective filter, whose writer thread
    /// tracks the connections: 0.25 s on 2 M frames against 0.31 s mapped and read
    /// ahead, and 0.36 s mapped alone; medians of 9 or more runs).
    pub fn open_stream(path: &str) -> Result<CaptureFile, SourceError> {
        match Self::open_path(path)? {
            Some((file, _)) => Self::from_reader(path, Box::new(file)),
            None => Self::from_reader("-", Box::new(std::io::stdin())),
        }
    }

    /// Reads a capture from any byte stream (a pipe, stdin, a test buffer).
    pub fn from_reader(name: &str, reader: Box<dyn Read + Send>) -> Result<CaptureFile, SourceError> {
        let mut input = Input::Stream { reader, buf: Vec::with_capacity(256 * 1024), eof: false };
        let mut end = 0;
        fill(&mut input, 0, &mut end, 64).map_err(|e| SourceError {
            file: name.to_string(),
            frame: 0,
            offset: 0,
            kind: SourceErrorKind::Read(e),
        })?;
        if end == 0 {
            return Err(SourceError { file: name.to_string(), frame: 0, offset: 0, kind: SourceErrorKind::Empty });
        }
        Self::start(name, input, end)
    }

    fn start(name: &str, input: Input, end: usize) -> Result<CaptureFile, SourceError> {
        let err = |offset: u64, kind| SourceError { file: name.to_string(), frame: 0, offset, kind };
        let bytes = buffer(&input, 0, end);
        if bytes.len() < 4 {
            return Err(err(0, SourceErrorKind::HeaderCut { needed: 4, available: bytes.len() }));
        }
        let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let (parser, format, interfaces, consumed) = if PCAP_MAGICS.contains(&magic) {
            let (rem, parser) = PcapParser::new(bytes).map_err(|e| match e {
                PcapParseError::IncompleteBuffer(needed, available) => {
                    err(0, SourceErrorKind::HeaderCut { needed, available })
                }
                other => err(0, SourceErrorKind::Corrupt(other.to_string())),
            })?;
            let h = parser.header();
            let nano = h.ts_resolution == pcap_file::pcap::PcapTsResolution::NanoSecond;
            let format = FileFormat::Pcap {
                big_endian: h.endianness == Endianness::Big,
                nanosecond: nano,
                version: (h.version_major, h.version_minor),
                snaplen: h.snaplen,
            };
            let link = pcap_link(u32::from(h.datalink), (h.version_major, h.version_minor))
                .map_err(|e| err(20, SourceErrorKind::Corrupt(e)))?;
            let digits = if nano { 9 } else { 6 };
            let iface = Interface { link, snaplen: h.snaplen, name: None, ts_digits: digits };
            let consumed = bytes.len() - rem.len();
            let swap = match (h.version_major, h.version_minor) {
                (2, 0..=2) | (0..=1, _) => Swap::Always,
                (2, 3) => Swap::IfCapturedExceedsOriginal,
                _ => Swap::Never,
            };
            let pcap = Pcap {
                big: h.endianness == Endianness::Big,
                nano,
                snaplen: h.snaplen,
                swap,
                pseudo: link.pseudo_header(),
                link,
            };
            (Parser::Pcap(pcap), format, vec![iface], consumed)
        } else if magic == PCAPNG_MAGIC {
            let Some(len) = section_header_len(bytes) else {
                return Err(err(0, SourceErrorKind::Corrupt("bad section header byte-order magic".into())));
            };
            if len > MAX_RECORD {
                return Err(err(0, SourceErrorKind::AbsurdLength { claimed: len, max: MAX_RECORD }));
            }
            // The section header is read as the first record.
            (Parser::PcapNg(Ng::default()), FileFormat::PcapNg, Vec::new(), 0)
        } else {
            return Err(err(0, SourceErrorKind::BadMagic(magic)));
        };
        Ok(CaptureFile {
            name: name.to_string(),
            input,
            pos: consumed,
            end,
            base: 0,
            parser,
            format,
            interfaces,
            frames: 0,
            failed: false,
            released: 0,
            release: true,
            ahead: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> &FileFormat {
        &self.format
    }

    /// Interfaces seen so far (pcapng files may describe more as they go).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The mapped file lent to another thread, when the input is a mapped file: frames
    /// returned by `next_frame` are slices of it, named by their offsets in it, so
    /// another thread can format them later. The reader stops handing pages back
    /// itself: the borrower does it ([`Lent::release`]) once done with them.
    pub fn lend(&mut self) -> Option<Lent> {
        match &self.input {
            Input::Mapped(m) => {
                self.release = false;
                Some(Lent { map: m.clone() })
            }
            Input::Stream { .. } => None,
        }
    }

    /// Whether the input is a mapped file (frames are slices of it).
    pub fn is_mapped(&self) -> bool {
        matches!(self.input, Input::Mapped(_))
    }

    /// Whether the reader hands read pages back to the kernel as it goes (on unless
    /// lent: the borrower may take the duty back for a while, and give it again).
    pub fn set_release(&mut self, on: bool) {
        self.release = on;
    }

    /// Frames returned so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Byte offset just past the last record read.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn error(&mut self, offset: u64, kind: SourceErrorKind) -> SourceError {
        self.failed = true;
        SourceError { file: self.name.clone(), frame: self.frames + 1, offset, kind }
    }

    /// The next frame, `Ok(None)` at a clean end of file. After an error, every call
    /// returns `Ok(None)`: a damaged file is never read past the damage.
    #[allow(clippy::should_implement_trait)]
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, SourceError> {
        if self.failed {
            return Ok(None);
        }
        if let Some((range, ts, orig_len, link, ts_digits)) = self.whole_pcap_record() {
            let data = &buffer(&self.input, 0, self.end)[range];
            return Ok(Some(Frame { number: self.frames, ts, link, orig_len, data, interface: 0, ts_digits }));
        }
        loop {
            let record_offset = self.base + self.pos as u64;
            let avail = self.end - self.pos;
            let needed = match self.record_len() {
                Ok(n) => n,
                Err(kind) => return Err(self.error(record_offset, kind)),
            };
            if avail == 0 && self.at_eof() {
                return Ok(None);
            }
            if (avail as u64) < needed {
                if self.at_eof() {
                    return Err(self.error(
                        record_offset,
                        SourceErrorKind::RecordCut { needed: needed as usize, available: avail },
                    ));
                }
                self.compact();
                if let Err(e) = fill(&mut self.input, self.pos, &mut self.end, needed as usize) {
                    return Err(self.error(record_offset, SourceErrorKind::Read(e)));
                }
                continue;
            }
            self.release_behind();
            match self.parse_record() {
                Ok(Some((range, ts, orig_len, interface, consumed))) => {
                    self.pos += consumed;
                    self.frames += 1;
                    if let Some(a) = &mut self.ahead {
                        a.reader_at(self.pos);
                    }
                    let link = self.interfaces.get(interface as usize).map(|i| i.link).unwrap_or(LinkType(u32::MAX));
                    let data = &buffer(&self.input, 0, self.end)[range];
                    return Ok(Some(Frame {
                        number: self.frames,
                        ts,
                        link,
                        // Wireshark keeps frame lengths in a signed 32-bit int.
                        orig_len: orig_len.min(i32::MAX as u32),
                        data,
                        interface,
                        ts_digits: match &self.format {
                            FileFormat::Pcap { nanosecond: true, .. } => 9,
                            FileFormat::Pcap { .. } => 6,
                            _ => self.interfaces.get(interface as usize).map_or(6, |i| i.ts_digits),
                        },
                    }));
                }
                Ok(None) => continue,
                Err(kind) => return Err(self.error(record_offset, kind)),
            }
        }
    }

    /// The usual record in one pass: a pcap record that lies whole in the buffer and
    /// fails no check. Its frame's range, time, original length, link type and time
    /// digits; `None` leaves the record (a cut, a hostile length, pcapng) to the
    /// general path in `next_frame`, which reads the header twice.
    #[inline]
    fn whole_pcap_record(&mut self) -> Option<(std::ops::Range<usize>, Timestamp, u32, LinkType, u8)> {
        let Parser::Pcap(p) = &self.parser else { return None };
        let (big, nano, pseudo, link) = (p.big, p.nano, p.pseudo, p.link);
        let start = self.pos;
        let h: [u8; 16] = buffer(&self.input, 0, self.end).get(start..start + 16)?.try_into().ok()?;
        let (incl, orig) = p.lengths(&h);
        let incl = incl as usize;
        if incl as u64 > MAX_RECORD || incl < pseudo || self.end - start - 16 < incl {
            return None;
        }
        self.release_behind();
        let (ts_sec, ts_frac) = (read_u32(&h[0..4], big), read_u32(&h[4..8], big));
        let nanos = if nano { u64::from(ts_frac) } else { u64::from(ts_frac) * 1000 };
        self.pos = start + 16 + incl;
        self.frames += 1;
        if let Some(a) = &mut self.ahead {
            a.reader_at(self.pos);
        }
        // Wireshark keeps frame lengths in a signed 32-bit int.
        let orig = orig.saturating_sub(pseudo as u32).min(i32::MAX as u32);
        let ts = Timestamp(u64::from(ts_sec) * 1_000_000_000 + nanos);
        Some((start + 16 + pseudo..self.pos, ts, orig, link, if nano { 9 } else { 6 }))
    }

    /// Hands pages already read back to the kernel, so the resident set stays the
    /// size of the frame in flight rather than growing with the file: the mapped
    /// pages of a 2 GB capture would otherwise all count as ours.
    fn release_behind(&mut self) {
        if let Input::Mapped(map) = &self.input {
            if self.release {
                self.released = release_mapped(map, self.released, self.pos);
            }
        }
    }

    fn at_eof(&self) -> bool {
        match &self.input {
            Input::Mapped(_) => true,
            Input::Stream { eof, .. } => *eof,
        }
    }

    fn compact(&mut self) {
        if let Input::Stream { buf, .. } = &mut self.input {
            if self.pos > 0 {
                buf.copy_within(self.pos..self.end, 0);
                self.base += self.pos as u64;
                self.end -= self.pos;
                self.pos = 0;
            }
        }
    }

    /// How many bytes the next record needs, from its length field, checked against
    /// the ceiling (so `fill` never grows the buffer by an unchecked length).
    fn record_len(&self) -> Result<u64, SourceErrorKind> {
        let bytes = &buffer(&self.input, 0, self.end)[self.pos..];
        match &self.parser {
            Parser::Pcap(p) => {
                if bytes.len() < 16 {
                    return Ok(16);
                }
                let (incl, _) = p.lengths(&bytes[..16]);
                let max = MAX_RECORD.max(u64::from(p.snaplen).min(MAX_RECORD));
                if u64::from(incl) > max {
                    return Err(SourceErrorKind::AbsurdLength { claimed: incl.into(), max });
                }
                Ok(16 + u64::from(incl))
            }
            Parser::PcapNg(p) => {
                if bytes.len() < 12 {
                    return Ok(12);
                }
                let len = if bytes[0..4] == PCAPNG_MAGIC {
                    match section_header_len(bytes) {
                        Some(l) => l,
                        None => return Err(SourceErrorKind::Corrupt("bad section header byte-order magic".into())),
                    }
                } else {
                    u64::from(read_u32(&bytes[4..8], p.big))
                };
                if len > MAX_RECORD {
                    return Err(SourceErrorKind::AbsurdLength { claimed: len, max: MAX_RECORD });
                }
                if len < 12 || len % 4 != 0 {
                    return Err(SourceErrorKind::Corrupt(format!(
                        "pcapng block length {len} is {}",
                        if len < 12 { "less than 12" } else { "not a multiple of 4" }
                    )));
                }
                Ok(len)
            }
        }
    }

    /// Parses the record at `pos` (which is known to be complete). Returns the frame's
    /// byte range in the buffer, or `None` for a pcapng block that carries no frame.
    #[allow(clippy::type_complexity)]
    fn parse_record(
        &mut self,
    ) -> Result<Option<(std::ops::Range<usize>, Timestamp, u32, u32, usize)>, SourceErrorKind> {
        let all = buffer(&self.input, 0, self.end);
        let bytes = &all[self.pos..];
        let start = self.pos;
        match &mut self.parser {
            Parser::Pcap(p) => {
                let (incl, orig) = p.lengths(&bytes[..16]);
                let (ts_sec, ts_frac) = (read_u32(&bytes[0..4], p.big), read_u32(&bytes[4..8], p.big));
                let nanos = if p.nano { u64::from(ts_frac) } else { u64::from(ts_frac) * 1000 };
                // Out-of-range fractions and orig_len < incl_len occur in real files;
                // like tshark, show the frame as recorded rather than reject the file.
                let ts = Timestamp(u64::from(ts_sec) * 1_000_000_000 + nanos);
                let incl = incl as usize;
                let (data_start, cap, orig) = strip_pseudo(start + 16, incl, orig, p.pseudo)?;
                Ok(Some((data_start..data_start + cap, ts, orig, 0, 16 + incl)))
            }
            Parser::PcapNg(ng) => {
                // `record_len` checked the length (and that the buffer holds it).
                let big = ng.big;
                let len = if bytes[0..4] == PCAPNG_MAGIC {
                    section_header_len(bytes).unwrap_or(0) as usize
                } else {
                    read_u32(&bytes[4..8], big) as usize
                };
                let Some(block) = bytes.get(..len).filter(|_| len >= 12) else {
                    return Err(SourceErrorKind::Corrupt(format!("pcapng block length {len} is less than 12")));
                };
                let typ = if block[0..4] == PCAPNG_MAGIC { SHB } else { read_u32(&block[0..4], big) };
                let trailing = read_u32(&block[len - 4..], if typ == SHB { block[8] == 0x1a } else { big });
                if trailing as usize != len {
                    return Err(SourceErrorKind::Corrupt(format!(
                        "pcapng block lengths disagree: {len} at the start, {trailing} at the end"
                    )));
                }
                let body = &block[8..len - 4];
                let body_start = start + 8;
                let result = match typ {
                    SHB => {
                        if body.len() < 16 {
                            return Err(SourceErrorKind::Corrupt("section header block shorter than 28 bytes".into()));
                        }
                        ng.big = body[0] == 0x1a;
                        ng.clocks.clear();
                        self.interfaces.clear();
                        None
                    }
                    IDB => {
                        if body.len() < 8 {
                            return Err(SourceErrorKind::Corrupt(format!(
                                "interface description block body of {} bytes, needed at least 8",
                                body.len()
                            )));
                        }
                        let link = LinkType(u32::from(read_u16(&body[0..2], big)));
                        let snaplen = read_u32(&body[4..8], big);
                        let (mut name, mut tsresol, mut offset) = (None, 6u8, 0i64);
                        for (code, value) in options(&body[8..], big) {
                            match (code, value.len()) {
                                (2, _) => {
                                    name = Some(String::from_utf8_lossy(value).trim_end_matches('\0').to_string())
                                }
                                (9, 1) => tsresol = value[0],
                                (14, 8) => {
                                    let b: [u8; 8] = value.try_into().unwrap_or([0; 8]);
                                    offset = if big { i64::from_be_bytes(b) } else { i64::from_le_bytes(b) };
                                }
                                _ => {}
                            }
                        }
                        ng.clocks.push(Clock::new(tsresol, offset));
                        self.interfaces.push(Interface { link, snaplen, name, ts_digits: tsresol_digits(tsresol) });
                        None
                    }
                    EPB | OBSOLETE_PB => {
                        if body.len() < 20 {
                            return Err(SourceErrorKind::Corrupt(format!(
                                "packet block body of {} bytes, needed at least 20",
                                body.len()
                            )));
                        }
                        let iface =
                            if typ == EPB { read_u32(&body[0..4], big) } else { u32::from(read_u16(&body[0..2], big)) };
                        let hi = read_u32(&body[4..8], big);
                        let lo = read_u32(&body[8..12], big);
                        let cap = read_u32(&body[12..16], big) as usize;
                        let orig = read_u32(&body[16..20], big);
                        if cap > body.len() - 20 {
                            return Err(SourceErrorKind::Corrupt(format!(
                                "packet block claims {cap} captured bytes but holds {}",
                                body.len() - 20
                            )));
                        }
                        let Some(clock) = ng.clocks.get(iface as usize) else {
                            return Err(SourceErrorKind::Corrupt(format!(
                                "packet block for interface {iface}, but the section describes {}",
                                ng.clocks.len()
                            )));
                        };
                        let ts = clock.time((u64::from(hi) << 32) | u64::from(lo));
                        let pseudo = self.interfaces.get(iface as usize).map_or(0, |i| i.link.pseudo_header());
                        let (s, cap, orig) = strip_pseudo(body_start + 20, cap, orig, pseudo)?;
                        Some((s..s + cap, ts, orig, iface, len))
                    }
                    SPB => {
                        if body.len() < 4 {
                            return Err(SourceErrorKind::Corrupt("simple packet block shorter than 4 bytes".into()));
                        }
                        if self.interfaces.is_empty() {
                            return Err(SourceErrorKind::Corrupt(
                                "simple packet block before any interface description".into(),
                            ));
                        }
                        let orig = read_u32(&body[0..4], big);
                        let cap = (orig as usize).min(body.len() - 4);
                        let (s, cap, orig) =
                            strip_pseudo(body_start + 4, cap, orig, self.interfaces[0].link.pseudo_header())?;
                        Some((s..s + cap, Timestamp(0), orig, 0, len))
                    }
                    _ => None,
                };
                if result.is_none() {
                    self.pos += len;
                }
                Ok(result)
            }
        }
    }
}

/// A record's frame without the pseudo-header its link type puts first, which
/// Wireshark does not count as the frame's (pcap and pcapng alike): its start,
/// captured and original lengths.
fn strip_pseudo(start: usize, cap: usize, orig: u32, pseudo: usize) -> Result<(usize, usize, u32), SourceErrorKind> {
    if cap < pseudo {
        return Err(SourceErrorKind::Corrupt(format!(
            "a {cap}-byte record is too short for the {pseudo}-byte pseudo-header of its link type"
        )));
    }
    Ok((start + pseudo, cap - pseudo, orig.saturating_sub(pseudo as u32)))
}

/// The options of a pcapng block (code, value), up to `opt_endofopt` or the first
/// one that runs past the block: what was readable is used, as Wireshark does.
fn options(mut b: &[u8], big: bool) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let (code, len) = (read_u16(&b[0..2], big), usize::from(read_u16(&b[2..4], big)));
        let value = b.get(4..4 + len)?;
        if code == 0 {
            return None;
        }
        b = b.get(4 + len.div_ceil(4) * 4..).unwrap_or(&[]);
        Some((code, value))
    })
}

/// The link type of a pcap file's header field, which also carries an FCS length
/// in its top bits (Wireshark's LT_* macros, wiretap/libpcap.c): the low 16 bits are
/// the type. Files with the reserved bits between set are refused, as Wireshark does.
/// AIX's libpcap (format 2.2) wrote interface types instead, mapped as Wireshark maps
/// them.
fn pcap_link(network: u32, version: (u16, u16)) -> Result<LinkType, String> {
    if version == (2, 2) {
        match network {
            6 => return Ok(LinkType::ETHERNET),
            9 => return Ok(LinkType(6)),
            15 => return Ok(LinkType(10)),
            24 => return Ok(LinkType::NULL),
            _ => {}
        }
    }
    if network & 0x03ff_0000 != 0 {
        return Err(format!("link-type field 0x{network:08x} has reserved bits set (0x{:08x})", network & 0x03ff_0000));
    }
    Ok(LinkType(network & 0xffff))
}

/// Hands the pages of `map` between `released` and `upto` (rounded down to 2 MiB
/// steps) back to the kernel; returns the new `released`. The caller must be done with
/// every frame in that range.
pub fn release_mapped(map: &memmap2::Mmap, released: usize, upto: usize) -> usize {
    // Small enough that the pages read but not yet released stay a minor part of the
    // memory a run needs; large enough that madvise calls cost nothing.
    const STEP: usize = 2 << 20;
    let upto = upto & !(STEP - 1);
    if upto <= released {
        return released;
    }
    // SAFETY: no frame in the range is borrowed any more (the caller's contract), and
    // MADV_DONTNEED on a read-only file mapping only drops pages from memory: a later
    // access would read the same bytes from the file again.
    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, released, upto - released) };
    upto
}

/// A mapped capture's bytes, shared with a thread that formats its frames after the
/// reader has moved on: frames travel as offsets, and the pages behind what every
/// thread is done with go back to the kernel.
#[derive(Clone)]
pub struct Lent {
    map: std::sync::Arc<memmap2::Mmap>,
}

impl Lent {
    /// Where `data`, a frame returned by the reader this was lent by, lies in the file.
    pub fn offset_of(&self, data: &[u8]) -> usize {
        data.as_ptr() as usize - self.map.as_ptr() as usize
    }

    /// The `len` bytes at `off` (an offset from [`Lent::offset_of`]).
    pub fn bytes(&self, off: usize, len: usize) -> &[u8] {
        &self.map[off..off + len]
    }

    /// Hands back the pages between `released` and `upto`, as [`release_mapped`].
    pub fn release(&self, released: usize, upto: usize) -> usize {
        release_mapped(&self.map, released, upto)
    }
}

/// Block Total Length of a pcapng Section Header Block, whose byte order is
/// given by its own byte-order magic rather than by the section before it.
fn section_header_len(bytes: &[u8]) -> Option<u64> {
    if bytes.len() < 12 {
        return Some(12);
    }
    match bytes[8..12] {
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(u64::from(read_u32(&bytes[4..8], true))),
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(u64::from(read_u32(&bytes[4..8], false))),
        _ => None,
    }
}

fn read_u32(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

fn read_u16(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn buffer(input: &Input, start: usize, end: usize) -> &[u8] {
    match input {
        Input::Mapped(m) => &m[start..end],
        Input::Stream { buf, .. } => &buf[start..end],
    }
}

/// Reads until `want` bytes are available from `pos`, or end of stream.
fn fill(input: &mut Input, pos: usize, end: &mut usize, want: usize) -> std::io::Result<()> {
    let Input::Stream { reader, buf, eof } = input else {
        return Ok(());
    };
    let target = pos + want;
    if buf.len() < target.max(64 * 1024) {
        buf.resize(target.max(64 * 1024), 0);
    }
    while *end < target && !*eof {
        let room = buf.len();
        match reader.read(&mut buf[*end..room]) {
            Ok(0) => *eof = true,
            Ok(n) => *end += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(big: bool, nano: bool, link: u32, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let w32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&if big { x.to_be_bytes() } else { x.to_le_bytes() });
        let w16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&if big { x.to_be_bytes() } else { x.to_le_bytes() });
        let mut v = Vec::new();
        w32(&mut v, if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, link);
        for (s, frac, data, orig) in records {
            w32(&mut v, *s);
            w32(&mut v, *frac);
            w32(&mut v, data.len() as u32);
            w32(&mut v, *orig);
            v.extend_from_slice(data);
        }
        v
    }

    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()).div_ceil(4) * 4;
        let mut v = Vec::new();
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v.extend_from_slice(body);
        v.resize(len - 4, 0);
        v.extend_from_slice(&(len as u32).to_le_bytes());
        v
    }

    fn pcapng_two_interfaces() -> Vec<u8> {
        let mut v = block(SHB, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        // Interface 0: Ethernet, default µs resolution.
        v.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
        // Interface 1: raw IP, if_tsresol = 9 (ns).
        v.extend(block(1, &[101, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]));
        let epb = |iface: u32, ts: u64, data: &[u8]| {
            let mut b = Vec::new();
            b.extend_from_slice(&iface.to_le_bytes());
            b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            b.extend_from_slice(&(ts as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32 + 10).to_le_bytes());
            b.extend_from_slice(data);
            block(EPB, &b)
        };
        v.extend(epb(0, 1_700_000_000_000_001, b"abc"));
        v.extend(epb(1, 1_700_000_000_000_000_002, b"defgh"));
        v
    }

    type Owned = (u64, Timestamp, LinkType, u32, Vec<u8>);

    fn all(mut c: CaptureFile) -> (Vec<Owned>, Option<SourceError>) {
        let mut v = Vec::new();
        loop {
            match c.next_frame() {
                Ok(Some(f)) => v.push((f.number, f.ts, f.link, f.orig_len, f.data.to_vec())),
                Ok(None) => return (v, None),
                Err(e) => return (v, Some(e)),
            }
        }
    }

    fn stream(b: Vec<u8>) -> CaptureFile {
        CaptureFile::from_reader("t", Box::new(std::io::Cursor::new(b))).unwrap()
    }

    /// A file several times the read-ahead window, read with read-ahead (mapped, on two
    /// cores) and streamed: the same frames, and a cut at the end reported the same.
    #[test]
    fn read_ahead_gives_the_frames_a_stream_gives() {
        let frames: Vec<Vec<u8>> = (0..40_000u32).map(|i| vec![(i % 251) as u8; 60 + (i % 1400) as usize]).collect();
        let records: Vec<(u32, u32, &[u8], u32)> =
            frames.iter().enumerate().map(|(i, d)| (i as u32, 0, d.as_slice(), d.len() as u32)).collect();
        let mut bytes = pcap(false, false, 1, &records);
        bytes.truncate(bytes.len() - 7);
        assert!(bytes.len() > 24 << 20, "the file must span many read-ahead steps");
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, &bytes).unwrap();
        let path = f.path().to_str().unwrap();
        let mapped = CaptureFile::open_scan(path).unwrap();
        if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            assert!(mapped.ahead.is_some());
        }
        let (a, ea) = all(mapped);
        let (b, eb) = all(stream(bytes));
        assert_eq!(a.len(), 39_999);
        assert!(a == b, "read-ahead changed the frames");
        let (ea, eb) = (ea.unwrap(), eb.unwrap());
        assert_eq!((ea.frame, ea.offset), (eb.frame, eb.offset));
        assert_eq!(ea.frame, 40_000);
    }

    #[test]
    fn tsresol_gives_decimal_places() {
        assert_eq!(tsresol_digits(6), 6);
        assert_eq!(tsresol_digits(9), 9);
        assert_eq!(tsresol_digits(3), 3);
        assert_eq!(tsresol_digits(12), 9, "finer than ns shows as ns");
        assert_eq!(tsresol_digits(0x80 | 10), 4, "2^-10 s is about 1 ms: 4 places");
        assert_eq!(tsresol_digits(0x80 | 30), 9);
    }

    #[test]
    fn pcap_in_both_byte_orders_and_resolutions() {
        for (big, nano) in [(false, false), (true, false), (false, true), (true, true)] {
            let b = pcap(big, nano, 1, &[(10, 500, b"xy", 60), (11, 7, b"z", 1)]);
            let c = stream(b);
            assert_eq!(
                c.format(),
                &FileFormat::Pcap { big_endian: big, nanosecond: nano, version: (2, 4), snaplen: 65535 }
            );
            let (frames, err) = all(c);
            assert!(err.is_none());
            let scale = if nano { 1 } else { 1000 };
            assert_eq!(frames[0], (1, Timestamp(10_000_000_000 + 500 * scale), LinkType::ETHERNET, 60, b"xy".to_vec()));
            assert_eq!(frames[1].1, Timestamp(11_000_000_000 + 7 * scale));
        }
    }

    #[test]
    fn pcapng_interfaces_keep_their_link_types_and_resolutions() {
        let (frames, err) = all(stream(pcapng_two_interfaces()));
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].2, frames[0].1), (LinkType::ETHERNET, Timestamp(1_700_000_000_000_001_000)));
        assert_eq!((frames[1].2, frames[1].1), (LinkType::RAW, Timestamp(1_700_000_000_000_000_002)));
        assert_eq!((frames[1].3, frames[1].4.as_slice()), (15, &b"defgh"[..]));
    }

    #[test]
    fn cut_files_report_frame_and_offset() {
        let b = pcap(false, false, 1, &[(1, 0, b"hello", 5), (2, 0, b"world!", 6)]);
        for cut in [1, 5, 10, 21] {
            let (frames, err) = all(stream(b[..b.len() - cut].to_vec()));
            assert_eq!(frames.len(), 1, "cut {cut}");
            let e = err.unwrap();
            assert_eq!((e.frame, e.offset), (2, 24 + 16 + 5), "cut {cut}");
            assert!(matches!(e.kind, SourceErrorKind::RecordCut { .. }), "{e}");
        }
        let ng = pcapng_two_interfaces();
        let (frames, err) = all(stream(ng[..ng.len() - 3].to_vec()));
        assert_eq!(frames.len(), 1);
        assert!(matches!(err.unwrap().kind, SourceErrorKind::RecordCut { .. }));
    }

    #[test]
    fn hostile_lengths_are_refused() {
        let mut b = pcap(false, false, 1, &[(1, 0, b"hello", 5)]);
        b[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, err) = all(stream(b));
        assert!(matches!(err.unwrap().kind, SourceErrorKind::AbsurdLength { .. }));
        let mut ng = pcapng_two_interfaces();
        // The first EPB (after a 28-byte SHB and IDBs of 20 and 32 bytes) claims 2 GiB.
        let epb_start = 28 + 20 + 32;
        ng[epb_start + 4..epb_start + 8].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        let (frames, err) = all(stream(ng));
        assert!(frames.is_empty());
        assert!(matches!(err.unwrap().kind, SourceErrorKind::AbsurdLength { .. }));
    }

    #[test]
    fn bad_magic_and_empty_input() {
        let e = CaptureFile::from_reader("x", Box::new(std::io::Cursor::new(b"GIF89a....".to_vec()))).err().unwrap();
        assert!(matches!(e.kind, SourceErrorKind::BadMagic(_)));
        let e = CaptureFile::from_reader("x", Box::new(std::io::Cursor::new(Vec::new()))).err().unwrap();
        assert!(matches!(e.kind, SourceErrorKind::Empty));
    }

    #[test]
    fn old_pcap_versions_have_their_record_lengths_swapped() {
        // 2.2 (libpcap before 0.4) always stores original, then captured.
        let mut b = pcap(false, false, 1, &[(1, 0, b"abcd", 4)]);
        b[6..8].copy_from_slice(&2u16.to_le_bytes());
        // Captured 4 stored second, original 60 first.
        b[32..36].copy_from_slice(&60u32.to_le_bytes());
        b[36..40].copy_from_slice(&4u32.to_le_bytes());
        let (frames, err) = all(stream(b.clone()));
        assert!(err.is_none(), "{err:?}");
        assert_eq!((frames[0].3, frames[0].4.as_slice()), (60, &b"abcd"[..]));
        // 2.3 swaps only when "captured" exceeds "original".
        b[6..8].copy_from_slice(&3u16.to_le_bytes());
        let (frames, _) = all(stream(b.clone()));
        assert_eq!((frames[0].3, frames[0].4.as_slice()), (60, &b"abcd"[..]));
        // 2.4 never: the same record is captured 60 bytes of a 4-byte frame, cut.
        b[6..8].copy_from_slice(&4u16.to_le_bytes());
        let (frames, err) = all(stream(b));
        assert!(frames.is_empty());
        assert!(matches!(err.unwrap().kind, SourceErrorKind::RecordCut { .. }));
    }

    #[test]
    fn the_link_type_field_keeps_its_low_16_bits_and_refuses_reserved_ones() {
        // FCS-length bits (28-31, with bit 26 saying they are there): still Ethernet.
        let b = pcap(false, false, 0x1400_0001, &[(1, 0, b"abcd", 4)]);
        let (frames, err) = all(stream(b));
        assert!(err.is_none());
        assert_eq!(frames[0].2, LinkType::ETHERNET);
        let b = pcap(false, false, 0x0001_0001, &[(1, 0, b"abcd", 4)]);
        let e = CaptureFile::from_reader("x", Box::new(std::io::Cursor::new(b))).err().unwrap();
        assert_eq!(e.offset, 20);
        assert!(e.to_string().contains("reserved bits"), "{e}");
        // A 2.2 file's own numbering: 6 was Ethernet there.
        let mut b = pcap(false, false, 6, &[(1, 0, b"abcd", 4)]);
        b[6..8].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(all(stream(b)).0[0].2, LinkType::ETHERNET);
    }

    #[test]
    fn a_pseudo_header_wireshark_does_not_count_is_not_part_of_the_frame() {
        // Link 204 (PPP with direction): one byte of direction before the PPP frame.
        let (frames, err) = all(stream(pcap(false, false, 204, &[(1, 0, b"\x01\xff\x03\x00\x21", 5)])));
        assert!(err.is_none());
        assert_eq!((frames[0].3, frames[0].4.as_slice()), (4, &b"\xff\x03\x00\x21"[..]));
    }

    #[test]
    fn pcapng_reads_on_past_options_it_cannot_read_and_applies_tsoffset() {
        let mut v = block(SHB, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        // Ethernet; if_name (2) of bytes that are not UTF-8; if_tsoffset (14) = 100 s.
        let mut idb = vec![1, 0, 0, 0, 0, 0, 0, 0];
        idb.extend_from_slice(&[2, 0, 3, 0, b'e', 0xff, b'0', 0]);
        idb.extend_from_slice(&[14, 0, 8, 0]);
        idb.extend_from_slice(&100u64.to_le_bytes());
        idb.extend_from_slice(&[0, 0, 0, 0]);
        v.extend(block(IDB, &idb));
        let mut epb = vec![0, 0, 0, 0, 0, 0, 0, 0];
        epb.extend_from_slice(&5u32.to_le_bytes()); // 5 µs
        epb.extend_from_slice(&3u32.to_le_bytes());
        epb.extend_from_slice(&3u32.to_le_bytes());
        epb.extend_from_slice(b"abc");
        v.extend(block(EPB, &epb));
        let c = stream(v);
        let (frames, err) = all(c);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(frames[0].1, Timestamp(100_000_005_000));
        assert_eq!(frames[0].4, b"abc");
    }

    #[test]
    fn a_stream_fed_one_byte_at_a_time_gives_the_same_frames() {
        struct Trickle(std::io::Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(1);
                self.0.read(&mut buf[..n])
            }
        }
        let ng = pcapng_two_interfaces();
        let a = all(stream(ng.clone())).0;
        let b = all(CaptureFile::from_reader("t", Box::new(Trickle(std::io::Cursor::new(ng)))).unwrap()).0;
        assert_eq!(a, b);
    }
}
