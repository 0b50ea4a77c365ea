//! Message framing: how a receiver cuts a reassembled stream back into the messages
//! the sender wrote, since TCP keeps no boundaries (the "sticky packet" lesson).
//!
//! A [`Spec`] names the framing (parsed from what the user types, printed back the
//! same way) and frames bodies for the generator ([`Spec::encode`]). A [`Framer`] is
//! fed the in-order bytes of one stream and reports each message with its header and
//! body offsets and a short preview. It keeps only the bytes of a header in progress,
//! never a body, so a 1 GiB message costs nothing; a header that cannot be right (a
//! length above the limit, a negative length, bad JSON) stops the framing of that
//! stream with the offset and the reason, instead of a huge allocation or a loop.
//!
//! Spec syntax (options after commas):
//! - `none`: no framing; only segment boundaries and PSH show.
//! - `len:INT[,offset=N][,inclusive][,max=N]`: a length field, INT one of `u8`,
//!   `u16be`, `u16le`, `u32be`, `u32le`, `u64be`, `u64le`, `i32le`, `i32be` (`i32le`
//!   is Python's `struct.pack('i', n)` on x86). `offset`: bytes of other header fields
//!   before the length; `inclusive`: the length counts the whole header too.
//! - `jsonhdr[:INT][,key=NAME][,max=N]`: a length (default `i32le`), a JSON header of
//!   that length, whose key NAME (default `total_size`) is the body's length.
//! - `line[:DELIM][,max=N]`: the body, then a delimiter (default `\n`; escapes `\n`,
//!   `\r`, `\t`, `\\`, `\xHH`; a comma is `\x2c`), e.g. `line:\r\n\r\n`.
//! - `fixed:N`: bodies of exactly N bytes.
//! - The generator's older names: `len32le`, `len32be`, `len16be`, `line`, and
//!   `json-header` (a big-endian u32 length of a JSON header whose key is `size`).
//!
//! `max` bounds a body (default 1 MiB); JSON headers are bounded by
//! [`MAX_JSON_HEADER`].

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Default bound on a body's length: above it the framing is taken as lost.
pub const DEFAULT_MAX: u64 = 1 << 20;
/// Bound on a JSON header's length (it is held whole to be parsed).
pub const MAX_JSON_HEADER: u64 = 64 << 10;
/// Bytes of each body kept for display.
pub const PREVIEW: usize = 40;
/// Characters of a JSON header kept for display.
pub const JSON_KEPT: usize = 256;
const MAX_OFFSET: u32 = 64;
const MAX_DELIM: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    Big,
    Little,
}

/// The integer type of a length field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int {
    U8,
    U16(Endian),
    U32(Endian),
    U64(Endian),
    I32(Endian),
}

impl Int {
    const ALL: [Int; 9] = [
        Int::U8,
        Int::U16(Endian::Big),
        Int::U16(Endian::Little),
        Int::U32(Endian::Big),
        Int::U32(Endian::Little),
        Int::U64(Endian::Big),
        Int::U64(Endian::Little),
        Int::I32(Endian::Little),
        Int::I32(Endian::Big),
    ];

    pub fn width(self) -> usize {
        match self {
            Int::U8 => 1,
            Int::U16(_) => 2,
            Int::U32(_) | Int::I32(_) => 4,
            Int::U64(_) => 8,
        }
    }

    pub fn name(self) -> &'static str {
        use Endian::*;
        match self {
            Int::U8 => "u8",
            Int::U16(Big) => "u16be",
            Int::U16(Little) => "u16le",
            Int::U32(Big) => "u32be",
            Int::U32(Little) => "u32le",
            Int::U64(Big) => "u64be",
            Int::U64(Little) => "u64le",
            Int::I32(Big) => "i32be",
            Int::I32(Little) => "i32le",
        }
    }

    fn parse(s: &str) -> Option<Int> {
        Int::ALL.into_iter().find(|i| i.name() == s)
    }

    /// The value of `b` (exactly `width` bytes); a negative signed value is `Err`.
    fn read(self, b: &[u8]) -> Result<u64, i64> {
        let w = self.width();
        let mut v = [0u8; 8];
        let big = matches!(
            self,
            Int::U16(Endian::Big) | Int::U32(Endian::Big) | Int::U64(Endian::Big) | Int::I32(Endian::Big)
        );
        let u = if big {
            v[8 - w..].copy_from_slice(b);
            u64::from_be_bytes(v)
        } else {
            v[..w].copy_from_slice(b);
            u64::from_le_bytes(v)
        };
        match self {
            Int::I32(_) if (u as u32 as i32) < 0 => Err(i64::from(u as u32 as i32)),
            _ => Ok(u),
        }
    }

    /// Appends `n` in this type; `false` if it does not fit.
    fn write(self, n: u64, out: &mut Vec<u8>) -> bool {
        use Endian::*;
        match self {
            Int::U8 => u8::try_from(n).map(|v| out.push(v)).is_ok(),
            Int::U16(e) => u16::try_from(n)
                .map(|v| out.extend_from_slice(&if e == Big { v.to_be_bytes() } else { v.to_le_bytes() }))
                .is_ok(),
            Int::U32(e) => u32::try_from(n)
                .map(|v| out.extend_from_slice(&if e == Big { v.to_be_bytes() } else { v.to_le_bytes() }))
                .is_ok(),
            Int::I32(e) => i32::try_from(n)
                .map(|v| out.extend_from_slice(&if e == Big { v.to_be_bytes() } else { v.to_le_bytes() }))
                .is_ok(),
            Int::U64(e) => {
                out.extend_from_slice(&if e == Big { n.to_be_bytes() } else { n.to_le_bytes() });
                true
            }
        }
    }
}

/// A framing: how message boundaries are written into a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// No framing: only segment boundaries and PSH.
    None,
    /// `offset` bytes of other fields, a length of type `int`, the body. With
    /// `inclusive`, the length counts the header (`offset` + the length field) too.
    Len { int: Int, offset: u32, inclusive: bool, max: u64 },
    /// A length of type `int`, a JSON header of that many bytes, then a body whose
    /// length is the header's `key`.
    JsonHdr { int: Int, key: String, max: u64 },
    /// The body, then the delimiter.
    Line { delim: Vec<u8>, max: u64 },
    /// Bodies of exactly this many bytes.
    Fixed(u64),
}

impl Spec {
    /// A length field of this type before each body, with the default limit.
    pub fn len_field(int: Int) -> Spec {
        Spec::Len { int, offset: 0, inclusive: false, max: DEFAULT_MAX }
    }
    /// The generator's `json-header`: a big-endian u32 length, then `{"size":N}`.
    pub fn json_header() -> Spec {
        Spec::JsonHdr { int: Int::U32(Endian::Big), key: "size".into(), max: DEFAULT_MAX }
    }
    pub fn line() -> Spec {
        Spec::Line { delim: b"\n".to_vec(), max: DEFAULT_MAX }
    }

    /// Frames one body onto `out`. Fails, writing nothing, when the body cannot be
    /// framed: too long for the length field, containing the delimiter, or not the
    /// fixed size. The limit `max` is the reader's and is not checked here.
    pub fn encode(&self, body: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let n = body.len() as u64;
        let start = out.len();
        match self {
            Spec::None => {}
            Spec::Len { int, offset, inclusive, .. } => {
                out.resize(start + *offset as usize, 0);
                let header = u64::from(*offset) + int.width() as u64;
                let v = if *inclusive { n + header } else { n };
                if !int.write(v, out) {
                    out.truncate(start);
                    return Err(EncodeError::TooLong { len: n, int: *int });
                }
            }
            Spec::JsonHdr { int, key, .. } => {
                // Written as the generator always has: `{"size":N}`, no spaces.
                let header = format!("{{{}:{n}}}", serde_json::Value::from(key.as_str()));
                if !int.write(header.len() as u64, out) {
                    out.truncate(start);
                    return Err(EncodeError::TooLong { len: header.len() as u64, int: *int });
                }
                out.extend_from_slice(header.as_bytes());
            }
            Spec::Line { delim, .. } => {
                out.extend_from_slice(body);
                out.extend_from_slice(delim);
                // The reader cuts at the first delimiter: it must be the one just added.
                let first = out[start..].windows(delim.len()).position(|w| w == delim.as_slice());
                if first != Some(body.len()) {
                    out.truncate(start);
                    return Err(EncodeError::ContainsDelimiter);
                }
                return Ok(());
            }
            Spec::Fixed(size) => {
                if n != *size {
                    return Err(EncodeError::NotFixedSize { len: n, size: *size });
                }
            }
        }
        out.extend_from_slice(body);
        Ok(())
    }
}

/// Why a body could not be framed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("a length of {len} does not fit in a {} length field", int.name())]
    TooLong { len: u64, int: Int },
    #[error("the message contains the delimiter, so a reader would cut it there")]
    ContainsDelimiter,
    #[error("the message has {len} bytes, not the fixed {size}")]
    NotFixedSize { len: u64, size: u64 },
}

/// Why a framing spec did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("framing '{input}': {why}")]
pub struct SpecError {
    pub input: String,
    pub why: String,
}

const KINDS: &str =
    "none, len:INT, jsonhdr[:INT], line[:DELIM], fixed:N, or one of len32le, len32be, len16be, json-header";

impl FromStr for Spec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Spec, SpecError> {
        let err = |why: String| SpecError { input: s.to_string(), why };
        match s {
            "len32le" => return Ok(Spec::len_field(Int::U32(Endian::Little))),
            "len32be" => return Ok(Spec::len_field(Int::U32(Endian::Big))),
            "len16be" => return Ok(Spec::len_field(Int::U16(Endian::Big))),
            "json-header" => return Ok(Spec::json_header()),
            _ => {}
        }
        let mut parts = s.split(',');
        let head = parts.next().unwrap_or_default();
        let (kind, arg) = match head.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (head, None),
        };
        let int = |a: &str| {
            Int::parse(a).ok_or_else(|| {
                let hint = match a {
                    "u16" | "u32" | "u64" | "i32" => {
                        format!(" (say the byte order: {a}be for network order, or {a}le)")
                    }
                    _ => String::new(),
                };
                let names: Vec<&str> = Int::ALL.iter().map(|i| i.name()).collect();
                err(format!("unknown length type '{a}'{hint}; expected one of {}", names.join(", ")))
            })
        };
        let mut spec = match (kind, arg) {
            ("none", None) => Spec::None,
            ("len", Some(a)) => Spec::len_field(int(a)?),
            ("len", None) => return Err(err("len needs a length type, e.g. len:u32be or len:i32le".into())),
            ("jsonhdr", a) => Spec::JsonHdr {
                int: a.map(int).transpose()?.unwrap_or(Int::I32(Endian::Little)),
                key: "total_size".into(),
                max: DEFAULT_MAX,
            },
            ("line", a) => {
                let delim = match a {
                    Some(a) => unescape(a).map_err(err)?,
                    None => b"\n".to_vec(),
                };
                if delim.is_empty() || delim.len() > MAX_DELIM {
                    return Err(err(format!("the delimiter must have 1 to {MAX_DELIM} bytes")));
                }
                Spec::Line { delim, max: DEFAULT_MAX }
            }
            ("fixed", Some(a)) => match a.parse::<u64>() {
                Ok(n) if n >= 1 => Spec::Fixed(n),
                _ => return Err(err(format!("fixed:N needs a size N of at least 1 byte, not '{a}'"))),
            },
            ("fixed", None) => return Err(err("fixed needs a size, e.g. fixed:64".into())),
            ("none", Some(_)) => return Err(err("none takes no argument".into())),
            _ => return Err(err(format!("unknown framing '{kind}'; expected {KINDS}"))),
        };
        for opt in parts {
            let (k, v) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (opt, None),
            };
            let num = |v: Option<&str>| {
                v.and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| err(format!("{k} needs a number, e.g. {k}=16")))
            };
            match (&mut spec, k) {
                (Spec::Len { offset, .. }, "offset") => {
                    *offset = num(v)?
                        .try_into()
                        .ok()
                        .filter(|&o| o <= MAX_OFFSET)
                        .ok_or_else(|| err(format!("offset must be at most {MAX_OFFSET} bytes")))?;
                }
                (Spec::Len { inclusive, .. }, "inclusive") if v.is_none() => *inclusive = true,
                (Spec::Len { max, .. } | Spec::JsonHdr { max, .. } | Spec::Line { max, .. }, "max") => *max = num(v)?,
                (Spec::JsonHdr { key, .. }, "key") => match v {
                    Some(v) if !v.is_empty() => *key = v.to_string(),
                    _ => return Err(err("key needs a name, e.g. key=total_size".into())),
                },
                (spec, _) => {
                    let takes = match spec {
                        Spec::Len { .. } => "offset=N, inclusive, max=N",
                        Spec::JsonHdr { .. } => "key=NAME, max=N",
                        Spec::Line { .. } => "max=N",
                        Spec::None | Spec::Fixed(_) => "no options",
                    };
                    return Err(err(format!("unknown option '{opt}' for {kind}, which takes {takes}")));
                }
            }
        }
        Ok(spec)
    }
}

fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let h = s.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(h.ok_or_else(|| format!("\\x needs two hex digits at byte {i} of '{s}'"))?);
                i += 2;
            }
            _ => return Err(format!("unknown escape at byte {i} of '{s}' (use \\n, \\r, \\t, \\\\ or \\xHH)")),
        }
        i += 2;
    }
    Ok(out)
}

fn escape(b: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for &c in b {
        match c {
            b'\n' => f.write_str("\\n")?,
            b'\r' => f.write_str("\\r")?,
            b'\t' => f.write_str("\\t")?,
            b'\\' => f.write_str("\\\\")?,
            b',' => f.write_str("\\x2c")?,
            0x21..=0x7e => write!(f, "{}", c as char)?,
            _ => write!(f, "\\x{c:02x}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = |f: &mut fmt::Formatter<'_>, m: u64| if m != DEFAULT_MAX { write!(f, ",max={m}") } else { Ok(()) };
        match self {
            Spec::None => f.write_str("none"),
            Spec::Len { int, offset, inclusive, max: m } => {
                write!(f, "len:{int}")?;
                if *offset > 0 {
                    write!(f, ",offset={offset}")?;
                }
                if *inclusive {
                    f.write_str(",inclusive")?;
                }
                max(f, *m)
            }
            Spec::JsonHdr { int, key, max: m } => {
                f.write_str("jsonhdr")?;
                if *int != Int::I32(Endian::Little) {
                    write!(f, ":{int}")?;
                }
                if key != "total_size" {
                    write!(f, ",key={key}")?;
                }
                max(f, *m)
            }
            Spec::Line { delim, max: m } => {
                f.write_str("line")?;
                if delim != b"\n" {
                    f.write_str(":")?;
                    escape(delim, f)?;
                }
                max(f, *m)
            }
            Spec::Fixed(n) => write!(f, "fixed:{n}"),
        }
    }
}

/// The first bytes of a body, copied for display.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Preview {
    buf: [u8; PREVIEW],
    len: u8,
}

impl Default for Preview {
    fn default() -> Self {
        Preview { buf: [0; PREVIEW], len: 0 }
    }
}

impl Preview {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
    /// The first [`PREVIEW`] bytes of `b`.
    pub fn of(b: &[u8]) -> Self {
        let mut p = Preview::default();
        p.add(b);
        p
    }
    fn add(&mut self, b: &[u8]) {
        let have = usize::from(self.len);
        let n = (PREVIEW - have).min(b.len());
        self.buf[have..have + n].copy_from_slice(&b[..n]);
        self.len += n as u8;
    }
    fn truncate(&mut self, n: u64) {
        self.len = self.len.min(n.min(PREVIEW as u64) as u8);
    }
}

impl fmt::Debug for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// One message, by stream offsets. `header`, `body` and `trailer` follow each other;
/// each may be empty (`line` has no header, only `line` has a trailer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// 1 for the stream's first message.
    pub number: u64,
    pub header: Range<u64>,
    pub body: Range<u64>,
    pub trailer: Range<u64>,
    pub preview: Preview,
    /// `jsonhdr`: the JSON header, cut to [`JSON_KEPT`] characters.
    pub json: Option<String>,
}

impl Message {
    /// The body's length.
    pub fn len(&self) -> u64 {
        self.body.end - self.body.start
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The whole message: header, body and trailer.
    pub fn span(&self) -> Range<u64> {
        self.header.start..self.trailer.end
    }
}

/// Why framing stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    TooLong { len: u64, max: u64 },
    Negative(i64),
    ShorterThanHeader { len: u64, header: u64 },
    JsonTooLong { len: u64, max: u64 },
    BadJson(String),
    NoSize { key: String },
    NoDelimiter { max: u64 },
    Gap { len: u64 },
}

/// Framing stopped at `offset` while reading message `message`; nothing after it is
/// framed (a wrong guess at one boundary makes every later one wrong).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    pub offset: u64,
    pub message: u64,
    pub why: Why,
}

/// The stream ended inside message `number`, which began at `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomplete {
    pub number: u64,
    pub start: u64,
    /// Bytes of it received.
    pub received: u64,
    /// Its whole length (header, body and trailer), when the header was complete.
    pub expected: Option<u64>,
}

/// Framing went on past a gap, at a boundary the framing is sure of (see
/// [`Framer::resume_after_gaps`]): message `message` starts at `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resumed {
    /// Where the missing bytes began.
    pub gap: u64,
    pub offset: u64,
    pub message: u64,
    /// The numbers of messages the gap swallowed that no `Incomplete` reports: none of
    /// their bytes came before it (only `fixed:N` can skip messages).
    pub skipped: Range<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Message(Message),
    Lost(Lost),
    Incomplete(Incomplete),
    Resumed(Resumed),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading a header: `need` bytes in all (more once a JSON header's length is known).
    Header {
        need: usize,
    },
    Body {
        remaining: u64,
    },
    /// Looking for the delimiter; `matched` bytes of it seen.
    Line {
        matched: usize,
    },
    /// `none`, lost, or finished: nothing more to frame.
    Off,
}

/// Frames one stream.
pub struct Framer {
    spec: Spec,
    /// `line`: for each prefix of the delimiter, the longest proper prefix that is
    /// also its suffix (Knuth-Morris-Pratt), so a delimiter split anywhere, or
    /// overlapping a false start, is found.
    fail: Vec<usize>,
    /// The offset of the next byte expected.
    pos: u64,
    number: u64,
    start: u64,
    header_end: u64,
    phase: Phase,
    /// The header so far: never more than the header itself.
    hdr: Vec<u8>,
    preview: Preview,
    json: Option<String>,
    /// Resume after a gap inside a body of known length (see [`Framer::resume_after_gaps`]).
    resume: bool,
    /// The message in progress lost bytes to a gap and was already reported incomplete:
    /// its end is only the boundary to resume at.
    cut: bool,
}

impl Framer {
    /// A framer for a stream starting at offset 0.
    pub fn new(spec: Spec) -> Self {
        let fail = match &spec {
            Spec::Line { delim, .. } => {
                let mut fail = vec![0; delim.len()];
                let mut k = 0;
                for i in 1..delim.len() {
                    while k > 0 && delim[i] != delim[k] {
                        k = fail[k - 1];
                    }
                    if delim[i] == delim[k] {
                        k += 1;
                    }
                    fail[i] = k;
                }
                fail
            }
            _ => Vec::new(),
        };
        let mut f = Framer {
            spec,
            fail,
            pos: 0,
            number: 0,
            start: 0,
            header_end: 0,
            phase: Phase::Off,
            hdr: Vec::new(),
            preview: Preview::default(),
            json: None,
            resume: false,
            cut: false,
        };
        f.next_message();
        f
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// When a permanent gap lies inside a body whose length is known (its header was
    /// whole), or the messages are `fixed:N`, the next boundary is certain: report the
    /// cut message incomplete and frame on from there (an [`Event::Resumed`]) instead of
    /// stopping. Off by default; a gap over a header, a delimiter or past the body's end
    /// still stops the framing, since no later boundary can be trusted.
    pub fn resume_after_gaps(mut self, on: bool) -> Self {
        self.resume = on;
        self
    }

    /// The number of the message being read (after a resumption, the numbers skip
    /// the messages the gap took: this is not a count).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Where the message being read starts: every byte before it is in a complete
    /// message or in none ever. While the tail of a message cut by a gap is skipped,
    /// that is the boundary framing resumes at.
    pub fn settled_to(&self) -> u64 {
        match self.phase {
            Phase::Body { remaining } if self.cut => self.pos.saturating_add(remaining),
            _ => self.start,
        }
    }

    /// True once framing stopped (or the spec is `none`).
    pub fn is_off(&self) -> bool {
        self.phase == Phase::Off
    }

    fn next_message(&mut self) {
        self.number += 1;
        self.cut = false;
        self.start = self.pos;
        self.header_end = self.pos;
        self.hdr.clear();
        self.preview = Preview::default();
        self.json = None;
        self.phase = match &self.spec {
            Spec::None => Phase::Off,
            Spec::Len { int, offset, .. } => Phase::Header { need: *offset as usize + int.width() },
            Spec::JsonHdr { int, .. } => Phase::Header { need: int.width() },
            Spec::Line { .. } => Phase::Line { matched: 0 },
            Spec::Fixed(n) => Phase::Body { remaining: *n },
        };
    }

    fn lose(&mut self, offset: u64, why: Why, out: &mut impl FnMut(Event)) {
        out(Event::Lost(Lost { offset, message: self.number, why }));
        self.phase = Phase::Off;
        self.hdr = Vec::new();
    }

    fn complete(&mut self, trailer: u64, out: &mut impl FnMut(Event)) {
        if self.cut {
            return self.next_message();
        }
        let body = self.header_end..self.pos - trailer;
        let mut preview = self.preview;
        preview.truncate(body.end - body.start);
        out(Event::Message(Message {
            number: self.number,
            header: self.start..self.header_end,
            body: body.clone(),
            trailer: body.end..self.pos,
            preview,
            json: self.json.take(),
        }));
        self.next_message();
    }

    /// The body's length is known: read it (or complete an empty one now).
    fn begin_body(&mut self, len: u64, out: &mut impl FnMut(Event)) {
        self.header_end = self.pos;
        if len == 0 {
            self.complete(0, out);
        } else {
            self.phase = Phase::Body { remaining: len };
        }
    }

    /// The `need` bytes of header are in.
    fn header_done(&mut self, out: &mut impl FnMut(Event)) {
        let start = self.start;
        match &self.spec {
            Spec::Len { int, offset, inclusive, max } => {
                let (int, offset, inclusive, max) = (*int, *offset as usize, *inclusive, *max);
                let len = match int.read(&self.hdr[offset..]) {
                    Ok(v) => v,
                    Err(neg) => return self.lose(start, Why::Negative(neg), out),
                };
                let header = (offset + int.width()) as u64;
                let body = if inclusive {
                    match len.checked_sub(header) {
                        Some(b) => b,
                        None => return self.lose(start, Why::ShorterThanHeader { len, header }, out),
                    }
                } else {
                    len
                };
                if body > max {
                    return self.lose(start, Why::TooLong { len: body, max }, out);
                }
                self.begin_body(body, out);
            }
            Spec::JsonHdr { int, key, max } => {
                let (w, max) = (int.width(), *max);
                if self.hdr.len() == w {
                    let len = match int.read(&self.hdr) {
                        Ok(v) => v,
                        Err(neg) => return self.lose(start, Why::Negative(neg), out),
                    };
                    if len > MAX_JSON_HEADER {
                        return self.lose(start, Why::JsonTooLong { len, max: MAX_JSON_HEADER }, out);
                    }
                    self.phase = Phase::Header { need: w + len as usize };
                    if len > 0 {
                        return;
                    }
                }
                let json = &self.hdr[w..];
                let size = match serde_json::from_slice::<serde_json::Value>(json) {
                    Ok(v) => v.get(key.as_str()).and_then(|s| s.as_u64()),
                    Err(e) => return self.lose(start, Why::BadJson(e.to_string()), out),
                };
                let Some(size) = size else {
                    let key = key.clone();
                    return self.lose(start, Why::NoSize { key }, out);
                };
                if size > max {
                    return self.lose(start, Why::TooLong { len: size, max }, out);
                }
                self.json = Some(String::from_utf8_lossy(json).chars().take(JSON_KEPT).collect());
                self.begin_body(size, out);
            }
            // These specs never enter the header phase; stopping is safer than a panic
            // should that ever change.
            Spec::None | Spec::Line { .. } | Spec::Fixed(_) => self.phase = Phase::Off,
        }
    }

    /// Feeds the stream's bytes at `offset`, in order. Bytes already fed are skipped;
    /// a jump ahead (bytes missing from the stream) stops the framing.
    pub fn feed(&mut self, offset: u64, bytes: &[u8], out: &mut impl FnMut(Event)) {
        if self.phase == Phase::Off {
            return;
        }
        if offset > self.pos {
            // The message in progress can never be whole: say so, rather than leave it to
            // be read off the offsets (bytes missing from it would make it silently wrong).
            // Reported now, or at an earlier gap (`cut`): either way the skipped ones
            // start after it.
            let reported = self.cut || self.pos > self.start;
            self.report_incomplete(out);
            let Some((at, number)) = self.boundary_after(offset).filter(|_| self.resume) else {
                return self.lose(self.pos, Why::Gap { len: offset - self.pos }, out);
            };
            let cut_end = match self.phase {
                Phase::Body { remaining } if self.cut => self.pos.checked_add(remaining),
                _ => None,
            };
            // A second gap before the boundary already announced changes nothing.
            if cut_end != Some(at) {
                let first = if reported { self.number + 1 } else { self.number };
                let skipped = first.min(number)..number;
                out(Event::Resumed(Resumed { gap: self.pos, offset: at, message: number, skipped }));
            }
            // The bytes up to `at` end message `number - 1`, already accounted for.
            self.number = number - 1;
            self.pos = offset;
            if at == offset {
                self.next_message();
            } else {
                self.cut = true;
                self.phase = Phase::Body { remaining: at - offset };
            }
            return self.feed(offset, bytes, out);
        }
        let seen = (self.pos - offset).min(bytes.len() as u64) as usize;
        let mut bytes = &bytes[seen..];
        while !bytes.is_empty() {
            match self.phase {
                Phase::Off => return,
                Phase::Header { need } => {
                    let take = (need - self.hdr.len()).min(bytes.len());
                    self.hdr.extend_from_slice(&bytes[..take]);
                    self.pos += take as u64;
                    bytes = &bytes[take..];
                    if self.hdr.len() == need {
                        self.header_done(out);
                    }
                }
                Phase::Body { remaining } => {
                    let take = remaining.min(bytes.len() as u64) as usize;
                    self.preview.add(&bytes[..take]);
                    self.pos += take as u64;
                    bytes = &bytes[take..];
                    if remaining == take as u64 {
                        self.complete(0, out);
                    } else {
                        self.phase = Phase::Body { remaining: remaining - take as u64 };
                    }
                }
                Phase::Line { mut matched } => {
                    // Only a line spec enters this phase (see `next_message`); anything else stops.
                    let Spec::Line { delim, max } = &self.spec else {
                        self.phase = Phase::Off;
                        return;
                    };
                    let (dl, max) = (delim.len(), *max);
                    let mut found = None;
                    for (i, &c) in bytes.iter().enumerate() {
                        while matched > 0 && delim[matched] != c {
                            matched = self.fail[matched - 1];
                        }
                        if delim[matched] == c {
                            matched += 1;
                        }
                        if matched == dl {
                            found = Some(i + 1);
                            break;
                        }
                    }
                    let take = found.unwrap_or(bytes.len());
                    self.preview.add(&bytes[..take]);
                    self.pos += take as u64;
                    bytes = &bytes[take..];
                    if found.is_some() {
                        self.complete(dl as u64, out);
                    } else if self.pos - self.start - matched as u64 > max {
                        // Bytes that can no longer be part of a delimiter are body bytes.
                        let start = self.start;
                        return self.lose(start, Why::NoDelimiter { max }, out);
                    } else {
                        self.phase = Phase::Line { matched };
                    }
                }
            }
        }
    }

    /// The first boundary at or after `offset` known without reading the bytes before
    /// it, and the number of the message starting there.
    fn boundary_after(&self, offset: u64) -> Option<(u64, u64)> {
        match (&self.spec, self.phase) {
            // Message k starts at (k - 1) * n: the stream starts at offset 0.
            (Spec::Fixed(n), Phase::Body { .. }) if *n > 0 => {
                let at = offset.div_ceil(*n).checked_mul(*n)?;
                Some((at, at / n + 1))
            }
            (Spec::Len { .. } | Spec::JsonHdr { .. }, Phase::Body { remaining }) => {
                let end = self.pos.checked_add(remaining).filter(|&end| offset <= end)?;
                Some((end, self.number + 1))
            }
            _ => None,
        }
    }

    /// The stream ended: reports a message left incomplete. Nothing is framed after.
    pub fn finish(&mut self, out: &mut impl FnMut(Event)) {
        self.report_incomplete(out);
        self.phase = Phase::Off;
    }

    /// Reports the message in progress, if any of it was received, as incomplete.
    fn report_incomplete(&mut self, out: &mut impl FnMut(Event)) {
        if self.cut {
            return;
        }
        let received = self.pos - self.start;
        let expected = match self.phase {
            Phase::Off => return,
            Phase::Body { remaining } => received.checked_add(remaining),
            Phase::Header { .. } | Phase::Line { .. } => None,
        };
        if received > 0 {
            out(Event::Incomplete(Incomplete { number: self.number, start: self.start, received, expected }));
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::TooLong { len, max } => {
                write!(f, "a body of {len} bytes is above the limit of {max} (wrong framing, or raise max=)")
            }
            Why::Negative(n) => write!(f, "the length is negative ({n})"),
            Why::ShorterThanHeader { len, header } => {
                write!(f, "the length {len} counts the header but is shorter than the {header}-byte header")
            }
            Why::JsonTooLong { len, max } => write!(f, "a JSON header of {len} bytes is above the limit of {max}"),
            Why::BadJson(e) => write!(f, "the JSON header is not valid JSON ({e})"),
            Why::NoSize { key } => write!(f, "the JSON header has no \"{key}\" holding a non-negative integer"),
            Why::NoDelimiter { max } => write!(f, "no delimiter after more than {max} bytes"),
            Why::Gap { len } => write!(f, "{len} bytes missing from the stream"),
        }
    }
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "framing lost at stream offset {} in message {}: {}", self.offset, self.message, self.why)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Message(m) => write!(f, "message {}: {} bytes at offset {}", m.number, m.len(), m.body.start),
            Event::Lost(l) => l.fmt(f),
            Event::Incomplete(i) => i.fmt(f),
            Event::Resumed(r) => r.fmt(f),
        }
    }
}

impl fmt::Display for Resumed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "framing resumed at stream offset {} with message {}", self.offset, self.message)?;
        let (a, b) = (self.skipped.start, self.skipped.end);
        match b.saturating_sub(a) {
            0 => Ok(()),
            1 => write!(f, " (message {a} lay wholly or partly in the missing bytes)"),
            2 => write!(f, " (messages {a} and {} lay wholly or partly in the missing bytes)", a + 1),
            _ => write!(f, " (messages {a}-{} lay wholly or partly in the missing bytes)", b - 1),
        }
    }
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.received == 1 { "" } else { "s" };
        write!(f, "message {} at offset {} is incomplete: {} byte{s}", self.number, self.start, self.received)?;
        match self.expected {
            Some(e) => write!(f, " of {e}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::reassembly::{self, Budget, Limits, Segment, Stream};

    fn spec(s: &str) -> Spec {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn encode_all(spec: &Spec, bodies: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for b in bodies {
            spec.encode(b, &mut v).unwrap();
        }
        v
    }

    /// Feeds `chunks` (consecutive pieces of one stream), then finishes.
    fn frame_chunks<'a>(spec: &Spec, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Event> {
        let mut f = Framer::new(spec.clone());
        let mut got = Vec::new();
        let mut at = 0;
        for c in chunks {
            f.feed(at, c, &mut |e| got.push(e));
            at += c.len() as u64;
            // Never more than one header held, never a body.
            assert!(f.hdr.len() as u64 <= 8 + u64::from(MAX_OFFSET) + MAX_JSON_HEADER);
        }
        f.finish(&mut |e| got.push(e));
        got
    }

    /// A small deterministic generator for random chunkings.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    /// The sticky-packet test: the same stream fed in one piece, byte by byte, split
    /// at every position, in random chunks, and as TCP segments delivered out of
    /// order with retransmissions through reassembly, gives the same events.
    fn same_every_way(spec: &Spec, stream: &[u8]) -> Vec<Event> {
        let whole = frame_chunks(spec, [stream]);
        assert_eq!(frame_chunks(spec, stream.chunks(1)), whole, "{spec}: byte by byte");
        for i in 0..=stream.len() {
            let (a, b) = stream.split_at(i);
            assert_eq!(frame_chunks(spec, [a, b]), whole, "{spec}: split at {i}");
        }
        let mut rng = Lcg(stream.len() as u64);
        for round in 0..50 {
            let mut chunks = Vec::new();
            let mut rest = stream;
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(1 + round * 3));
                chunks.push(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(frame_chunks(spec, chunks.iter().copied()), whole, "{spec}: random chunks {round}");
            // The same chunks as segments: shuffled, some sent twice.
            let mut order: Vec<usize> = (0..chunks.len()).collect();
            for i in 0..order.len() {
                let j = rng.below(order.len());
                order.swap(i, j);
            }
            for _ in 0..rng.below(4) {
                order.push(rng.below(chunks.len()));
            }
            let isn = rng.below(1 << 31) as u32 * 2;
            let mut seq = Vec::new();
            let mut at = isn.wrapping_add(1);
            for c in &chunks {
                seq.push(at);
                at = at.wrapping_add(c.len() as u32);
            }
            let mut budget = Budget::new(1 << 20);
            let mut s = Stream::new(Limits::default());
            let mut f = Framer::new(spec.clone());
            let mut got = Vec::new();
            let mut sink = |e: reassembly::Event<'_>| {
                if let reassembly::Event::Data { offset, bytes, .. } = e {
                    f.feed(offset, bytes, &mut |e| got.push(e));
                }
            };
            let syn =
                Segment { frame: 0, ts: 0, seq: isn, syn: true, fin: false, rst: false, psh: false, payload: &[] };
            s.push(&syn, &mut budget, &mut sink);
            for (n, &k) in order.iter().enumerate() {
                let seg = Segment { frame: n as u64 + 1, seq: seq[k], syn: false, payload: chunks[k], ..syn };
                s.push(&seg, &mut budget, &mut sink);
            }
            s.finish(&mut budget, &mut sink);
            f.finish(&mut |e| got.push(e));
            assert_eq!(got, whole, "{spec}: segments out of order {round}");
        }
        whole
    }

    fn bodies(events: &[Event], stream: &[u8]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(stream[m.body.start as usize..m.body.end as usize].to_vec()),
                _ => None,
            })
            .collect()
    }

    const MESSAGES: [&[u8]; 5] = [b"a", b"hello", b"", b"0123456789012345678901234567890123456789012345", b"bye"];

    #[test]
    fn every_length_type_split_every_way() {
        for s in ["len:u8", "len:u16be", "len:u16le", "len:u32be", "len:u32le", "len:u64be", "len:u64le", "len:i32le"] {
            let spec = spec(s);
            let stream = encode_all(&spec, &MESSAGES);
            let got = same_every_way(&spec, &stream);
            assert_eq!(bodies(&got, &stream), MESSAGES.map(<[u8]>::to_vec), "{s}");
            assert_eq!(got.len(), MESSAGES.len(), "{s}: no incomplete message, no loss");
        }
    }

    #[test]
    fn message_offsets_and_preview() {
        let spec = spec("len:u16be");
        let stream = encode_all(&spec, &MESSAGES);
        let got = frame_chunks(&spec, [stream.as_slice()]);
        let Event::Message(m) = &got[3] else { panic!() };
        // a (2+1), hello (2+5), empty (2): message 4 starts at 12.
        assert_eq!((m.number, m.header.clone(), m.body.clone(), m.trailer.clone()), (4, 12..14, 14..60, 60..60));
        assert_eq!(m.preview.as_bytes(), &MESSAGES[3][..PREVIEW]);
        let Event::Message(m) = &got[2] else { panic!() };
        assert!(m.is_empty() && m.preview.as_bytes().is_empty());
    }

    #[test]
    fn header_offset_and_inclusive_length() {
        // A type byte, then a u16le length counting the 3-byte header.
        let spec = spec("len:u16le,offset=1,inclusive");
        let stream = b"\x07\x05\x00hi\x09\x03\x00".to_vec();
        let got = same_every_way(&spec, &stream);
        assert_eq!(bodies(&got, &stream), vec![b"hi".to_vec(), vec![]]);
        let Event::Message(m) = &got[0] else { panic!() };
        assert_eq!((m.header.clone(), m.body.clone()), (0..3, 3..5));
        let mut enc = Vec::new();
        spec.encode(b"hi", &mut enc).unwrap();
        assert_eq!(enc, b"\x00\x05\x00hi");
        // A length shorter than the header it counts.
        let got = frame_chunks(&spec, [b"\x07\x02\x00".as_slice()]);
        assert_eq!(
            got,
            vec![Event::Lost(Lost { offset: 0, message: 1, why: Why::ShorterThanHeader { len: 2, header: 3 } })]
        );
    }

    #[test]
    fn python_struct_i_is_little_endian_and_signed() {
        let spec = spec("len:i32le");
        let mut v = Vec::new();
        spec.encode(b"xyz", &mut v).unwrap();
        assert_eq!(v, b"\x03\x00\x00\x00xyz");
        let got = frame_chunks(&spec, [b"\x02\x00\x00\x00ok\xfe\xff\xff\xffzz".as_slice()]);
        assert_eq!(got[1], Event::Lost(Lost { offset: 6, message: 2, why: Why::Negative(-2) }));
        assert_eq!(got.len(), 2, "nothing after the loss");
        if let Event::Lost(l) = &got[1] {
            assert_eq!(l.to_string(), "framing lost at stream offset 6 in message 2: the length is negative (-2)");
        }
    }

    #[test]
    fn a_huge_length_stops_framing_without_allocating() {
        let spec = spec("len:u32be");
        let stream = b"\x00\x00\x00\x01a\xff\xff\xff\xffrest of the stream";
        let got = frame_chunks(&spec, [stream.as_slice()]);
        assert_eq!(
            got[1],
            Event::Lost(Lost { offset: 5, message: 2, why: Why::TooLong { len: u32::MAX as u64, max: DEFAULT_MAX } })
        );
        // A raised limit lets it through, still holding nothing of the body.
        let spec = Spec::Len { int: Int::U64(Endian::Big), offset: 0, inclusive: false, max: u64::MAX };
        let mut f = Framer::new(spec);
        let mut got = Vec::new();
        f.feed(0, &u64::MAX.to_be_bytes(), &mut |e| got.push(e));
        f.feed(8, &[0; 4096], &mut |e| got.push(e));
        assert!(f.hdr.capacity() <= 8);
        f.finish(&mut |e| got.push(e));
        assert_eq!(
            got,
            vec![Event::Incomplete(Incomplete { number: 1, start: 0, received: 8 + 4096, expected: None })]
        );
    }

    #[test]
    fn json_header_as_the_course_writes_it() {
        // header = json.dumps({...}).encode(); struct.pack('i', len(header)) + header + body
        let spec = spec("jsonhdr");
        let mut stream = Vec::new();
        for (h, body) in
            [(r#"{"filename": "a.txt", "total_size": 5}"#, b"hello".as_slice()), (r#"{"total_size": 0}"#, b"")]
        {
            stream.extend_from_slice(&(h.len() as i32).to_le_bytes());
            stream.extend_from_slice(h.as_bytes());
            stream.extend_from_slice(body);
        }
        let got = same_every_way(&spec, &stream);
        assert_eq!(bodies(&got, &stream), vec![b"hello".to_vec(), vec![]]);
        let Event::Message(m) = &got[0] else { panic!() };
        assert_eq!(m.json.as_deref(), Some(r#"{"filename": "a.txt", "total_size": 5}"#));
        assert_eq!(m.header, 0..42);
        // Our own encoding reads back too.
        let enc = encode_all(&spec, &MESSAGES);
        assert_eq!(bodies(&same_every_way(&spec, &enc), &enc), MESSAGES.map(<[u8]>::to_vec));
    }

    #[test]
    fn bad_json_headers_stop_framing() {
        let spec = spec("jsonhdr:u32be,key=size");
        let cases: [(&[u8], Why); 4] = [
            (b"\x00\x00\x00\x03{x}", Why::BadJson(String::new())),
            (b"\x00\x00\x00\x0c{\"sz\":5}    ", Why::NoSize { key: "size".into() }),
            (b"\x00\x00\x00\x0b{\"size\":-1}", Why::NoSize { key: "size".into() }),
            (b"\x7f\x00\x00\x00", Why::JsonTooLong { len: 0x7f00_0000, max: MAX_JSON_HEADER }),
        ];
        for (stream, why) in cases {
            let got = frame_chunks(&spec, [stream]);
            let [Event::Lost(l)] = got.as_slice() else { panic!("{got:?}") };
            assert_eq!(l.offset, 0);
            match (&l.why, &why) {
                (Why::BadJson(_), Why::BadJson(_)) => assert!(l.to_string().contains("not valid JSON"), "{l}"),
                _ => assert_eq!(l.why, why),
            }
        }
    }

    #[test]
    fn lines_with_any_delimiter() {
        let spec_nl = spec("line");
        let msgs: [&[u8]; 4] =
            [b"GET / HTTP/1.0", b"", b"x", b"a line longer than the forty bytes of a preview, to cut"];
        let stream = encode_all(&spec_nl, &msgs);
        assert_eq!(bodies(&same_every_way(&spec_nl, &stream), &stream), msgs.map(<[u8]>::to_vec));
        // A delimiter whose start repeats inside it: a false start must not hide it.
        let crlf2 = spec(r"line:\r\n\r\n");
        let stream = b"x\r\n\r\r\n\r\nhead\r\n\r\n".to_vec();
        let got = same_every_way(&crlf2, &stream);
        assert_eq!(bodies(&got, &stream), vec![b"x\r\n\r".to_vec(), b"head".to_vec()]);
        let Event::Message(m) = &got[0] else { panic!() };
        assert_eq!((m.body.clone(), m.trailer.clone()), (0..4, 4..8));
        assert_eq!(m.preview.as_bytes(), b"x\r\n\r", "the preview stops where the delimiter starts");
        let aab = spec("line:aab");
        let stream = b"aaab|aab".to_vec();
        assert_eq!(bodies(&same_every_way(&aab, &stream), &stream), vec![b"a".to_vec(), b"|".to_vec()]);
    }

    #[test]
    fn a_line_without_delimiter_stops_at_the_limit() {
        let spec = spec("line,max=10");
        let got = frame_chunks(&spec, [b"0123456789\n0123456789X".as_slice()]);
        assert_eq!(got[1], Event::Lost(Lost { offset: 11, message: 2, why: Why::NoDelimiter { max: 10 } }));
    }

    fn frame_with_gap(spec: &Spec, stream: &[u8], gap: Range<usize>, resume: bool) -> Vec<Event> {
        let mut f = Framer::new(spec.clone()).resume_after_gaps(resume);
        let mut got = Vec::new();
        f.feed(0, &stream[..gap.start], &mut |e| got.push(e));
        f.feed(gap.end as u64, &stream[gap.end..], &mut |e| got.push(e));
        f.finish(&mut |e| got.push(e));
        got
    }

    #[test]
    fn a_gap_inside_a_known_body_resumes_at_the_next_boundary() {
        let spec = spec("len:u16be");
        let stream = encode_all(&spec, &[b"abcd", b"efghij", b"kl"]);
        // Message 2's body is 8..14; lose 9..12, and 9..14 (ending at the boundary).
        for end in [12, 14] {
            let got = frame_with_gap(&spec, &stream, 9..end, true);
            assert_eq!(got[1], Event::Incomplete(Incomplete { number: 2, start: 6, received: 3, expected: Some(8) }));
            assert_eq!(got[2], Event::Resumed(Resumed { gap: 9, offset: 14, message: 3, skipped: 3..3 }));
            assert_eq!(got[2].to_string(), "framing resumed at stream offset 14 with message 3");
            let Event::Message(m) = &got[3] else { panic!("{got:?}") };
            assert_eq!((m.number, m.span(), m.preview.as_bytes()), (3, 14..18, &b"kl"[..]));
            assert_eq!(got.len(), 4);
        }
        // Two gaps inside one body: one report, one resumption.
        let mut f = Framer::new(spec.clone()).resume_after_gaps(true);
        let mut got = Vec::new();
        for r in [0..9, 10..11, 12..stream.len()] {
            f.feed(r.start as u64, &stream[r], &mut |e| got.push(e));
        }
        f.finish(&mut |e| got.push(e));
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(got[3], Event::Message(Message { number: 3, .. })), "{got:?}");
        // Off by default, and a gap over the next header still stops.
        let got = frame_with_gap(&spec, &stream, 9..12, false);
        assert!(matches!(got.last(), Some(Event::Lost(Lost { offset: 9, message: 2, .. }))), "{got:?}");
        let got = frame_with_gap(&spec, &stream, 9..15, true);
        assert!(matches!(got.last(), Some(Event::Lost(Lost { offset: 9, message: 2, .. }))), "{got:?}");
        let got = frame_with_gap(&Spec::Fixed(3), b"abcdefghi", 4..5, true);
        assert_eq!(bodies(&got, b"abcdefghi"), vec![b"abc".to_vec(), b"ghi".to_vec()]);
    }

    #[test]
    fn a_gap_over_fixed_size_messages_names_each_one_it_swallowed() {
        let stream = b"aaabbbcccdddeeefff";
        let fixed = Spec::Fixed(3);
        // 4..10: message 2 cut after 1 byte, 3 (6..9) gone, 4 (9..12) lost its head.
        let got = frame_with_gap(&fixed, stream, 4..10, true);
        assert_eq!(got[1], Event::Incomplete(Incomplete { number: 2, start: 3, received: 1, expected: Some(3) }));
        assert_eq!(got[2], Event::Resumed(Resumed { gap: 4, offset: 12, message: 5, skipped: 3..5 }));
        assert_eq!(
            got[2].to_string(),
            "framing resumed at stream offset 12 with message 5 (messages 3 and 4 lay wholly or partly in the missing bytes)"
        );
        assert_eq!(bodies(&got, stream), vec![b"aaa".to_vec(), b"eee".to_vec(), b"fff".to_vec()]);
        let numbers: Vec<u64> =
            got.iter().filter_map(|e| if let Event::Message(m) = e { Some(m.number) } else { None }).collect();
        assert_eq!(numbers, vec![1, 5, 6]);
        // A gap from a boundary: no byte of message 2 came, so it is skipped, not incomplete.
        let got = frame_with_gap(&fixed, stream, 3..5, true);
        assert_eq!(got[1], Event::Resumed(Resumed { gap: 3, offset: 6, message: 3, skipped: 2..3 }));
        assert_eq!(bodies(&got, stream).len(), 5);
        // Boundary to boundary.
        let got = frame_with_gap(&fixed, stream, 3..12, true);
        assert_eq!(got[1], Event::Resumed(Resumed { gap: 3, offset: 12, message: 5, skipped: 2..5 }));
        assert_eq!(got.len(), 4, "{got:?}");
    }

    #[test]
    fn fixed_size_messages() {
        let spec = spec("fixed:3");
        let stream = b"abcdefgh".to_vec();
        let got = same_every_way(&spec, &stream);
        assert_eq!(bodies(&got, &stream), vec![b"abc".to_vec(), b"def".to_vec()]);
        assert_eq!(got[2], Event::Incomplete(Incomplete { number: 3, start: 6, received: 2, expected: Some(3) }));
    }

    #[test]
    fn an_incomplete_trailing_message_is_reported_at_finish() {
        let spec = spec("len:u32be");
        let mut stream = encode_all(&spec, &[b"one"]);
        stream.extend_from_slice(b"\x00\x00\x00\x0ahalf");
        let got = same_every_way(&spec, &stream);
        assert_eq!(got[1], Event::Incomplete(Incomplete { number: 2, start: 7, received: 8, expected: Some(14) }));
        assert_eq!(got[1].to_string(), "message 2 at offset 7 is incomplete: 8 bytes of 14");
        // Inside the header: the whole length is not known yet.
        let got = frame_chunks(&spec, [b"\x00\x00".as_slice()]);
        assert_eq!(got, vec![Event::Incomplete(Incomplete { number: 1, start: 0, received: 2, expected: None })]);
    }

    #[test]
    fn missing_bytes_stop_framing() {
        let spec = spec("len:u8");
        let mut f = Framer::new(spec.clone());
        let mut got = Vec::new();
        f.feed(0, b"\x02ab\x02", &mut |e| got.push(e));
        f.feed(4, b"a", &mut |e| got.push(e));
        f.feed(4, b"a", &mut |e| got.push(e)); // fed twice: ignored
        f.feed(9, b"zz", &mut |e| got.push(e));
        f.feed(11, b"\x01q", &mut |e| got.push(e));
        f.finish(&mut |e| got.push(e));
        assert_eq!(got.len(), 3);
        // Message 2 (offsets 3..6) got 2 of its 3 bytes before the gap: it is reported
        // incomplete, not left to be read off the offsets.
        assert_eq!(got[1], Event::Incomplete(Incomplete { number: 2, start: 3, received: 2, expected: Some(3) }));
        assert_eq!(got[2], Event::Lost(Lost { offset: 5, message: 2, why: Why::Gap { len: 4 } }));
        // A gap right at a boundary cuts no message short: framing stops, nothing is incomplete.
        let mut f = Framer::new(spec.clone());
        let mut got = Vec::new();
        f.feed(0, b"\x01a", &mut |e| got.push(e));
        f.feed(5, b"\x01b", &mut |e| got.push(e));
        f.finish(&mut |e| got.push(e));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1], Event::Lost(Lost { offset: 2, message: 2, why: Why::Gap { len: 3 } }));
    }

    #[test]
    fn none_frames_nothing() {
        assert!(frame_chunks(&Spec::None, [b"anything".as_slice()]).is_empty());
    }

    #[test]
    fn specs_print_as_they_parse() {
        for s in [
            "none",
            "len:u8",
            "len:u32be",
            "len:i32le",
            "len:u16le,offset=2,inclusive,max=4096",
            "jsonhdr",
            "jsonhdr:u32be,key=size",
            "jsonhdr,key=len,max=10",
            "line",
            r"line:\r\n\r\n",
            r"line:\x00\x2c,max=5",
            "fixed:64",
        ] {
            let spec = spec(s);
            assert_eq!(spec.to_string(), s);
            assert_eq!(spec.to_string().parse::<Spec>().unwrap(), spec);
        }
        assert_eq!(spec("len32le"), Spec::len_field(Int::U32(Endian::Little)));
        assert_eq!(spec("len32be").to_string(), "len:u32be");
        assert_eq!(spec("len16be").to_string(), "len:u16be");
        assert_eq!(spec("json-header").to_string(), "jsonhdr:u32be,key=size");
        assert_eq!(spec("jsonhdr:i32le,key=total_size"), spec("jsonhdr"));
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        for (s, says) in [
            ("len", "len needs a length type"),
            ("len:u32", "say the byte order: u32be"),
            ("len:u24be", "unknown length type 'u24be'"),
            ("len:u8,offset=100", "at most 64"),
            ("len:u8,key=x", "unknown option 'key=x' for len, which takes offset=N, inclusive, max=N"),
            ("fixed:0", "at least 1 byte"),
            ("line:", "1 to 64 bytes"),
            (r"line:\q", "unknown escape"),
            ("lines", "unknown framing 'lines'; expected none"),
            ("jsonhdr,max=lots", "max needs a number"),
        ] {
            let e = s.parse::<Spec>().unwrap_err().to_string();
            assert!(e.contains(says), "{s}: {e}");
            assert!(e.starts_with(&format!("framing '{s}': ")), "{e}");
        }
    }

    #[test]
    fn the_generators_names_encode_the_bytes_they_always_did() {
        let mut v = Vec::new();
        for s in ["len32le", "len32be", "len16be", "line"] {
            spec(s).encode(b"hi", &mut v).unwrap();
        }
        assert_eq!(v, b"\x02\x00\x00\x00hi\x00\x00\x00\x02hi\x00\x02hihi\n");
        v.clear();
        spec("json-header").encode(b"hi", &mut v).unwrap();
        assert_eq!(v, b"\x00\x00\x00\x0a{\"size\":2}hi");
    }

    #[test]
    fn bodies_that_cannot_be_framed() {
        let mut v = b"kept".to_vec();
        assert_eq!(spec("len:u8").encode(&[0; 256], &mut v), Err(EncodeError::TooLong { len: 256, int: Int::U8 }));
        assert_eq!(spec("line").encode(b"a\nb", &mut v), Err(EncodeError::ContainsDelimiter));
        assert_eq!(spec(r"line:\r\n\r\n").encode(b"ab\r\n", &mut v), Err(EncodeError::ContainsDelimiter));
        assert_eq!(spec("fixed:2").encode(b"abc", &mut v), Err(EncodeError::NotFixedSize { len: 3, size: 2 }));
        assert_eq!(v, b"kept", "nothing written on failure");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Random bytes under any framing never panic, and every message found
            /// lies inside the stream, in order.
            #[test]
            fn random_bytes_never_panic(
                bytes in proptest::collection::vec(any::<u8>(), 0..300),
                cut in 0usize..300,
                which in 0usize..6,
            ) {
                let spec = spec(["len:u8", "len:u16le,offset=1,inclusive", "jsonhdr:u8", "line:ab", "fixed:7", "len:i32be"][which]);
                let cut = cut.min(bytes.len());
                let got = frame_chunks(&spec, [&bytes[..cut], &bytes[cut..]]);
                let mut at = 0;
                for e in &got {
                    if let Event::Message(m) = e {
                        prop_assert_eq!(m.header.start, at);
                        prop_assert!(m.trailer.end <= bytes.len() as u64);
                        at = m.trailer.end;
                    }
                }
            }
        }
    }
}
