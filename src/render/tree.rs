//! The layer tree (`read -V`, `show`): every field of every header with its value,
//! what it means, and the bytes it came from.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::ops::Range;

use super::time::{Secs, Utc};
use crate::decode::{self, Context, Packet, Proto, Value, Visitor};
use crate::source::Frame;

/// Column where byte ranges start, so they line up down the tree.
const RANGE_COL: usize = 72;

struct TreeVisitor<'w, W: Write> {
    out: &'w mut W,
    depth: usize,
    line: String,
    err: Option<io::Error>,
}

impl<W: Write> TreeVisitor<'_, W> {
    fn emit(&mut self, range: Option<Range<usize>>) {
        if let Some(r) = range {
            let width = self.line.chars().count();
            for _ in width..RANGE_COL {
                self.line.push(' ');
            }
            let last = r.end.saturating_sub(1).max(r.start);
            let _ = write!(self.line, " [{}-{}]", r.start, last);
        }
        self.line.push('\n');
        if self.err.is_none() {
            if let Err(e) = self.out.write_all(self.line.as_bytes()) {
                self.err = Some(e);
            }
        }
        self.line.clear();
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.line.push_str("    ");
        }
    }

    fn labelled(
        &mut self,
        label: &str,
        value: Option<Value<'_>>,
        meaning: Option<fmt::Arguments<'_>>,
        range: Range<usize>,
    ) {
        self.indent();
        self.line.push_str(label);
        if let Some(v) = value {
            let _ = write!(self.line, ": {v}");
        }
        if let Some(m) = meaning {
            let _ = write!(self.line, " {m}");
        }
        self.emit(Some(range));
    }
}

impl<W: Write> Visitor for TreeVisitor<'_, W> {
    fn layer(&mut self, _proto: Proto, range: Range<usize>, summary: fmt::Arguments<'_>) {
        self.depth = 0;
        let _ = self.line.write_fmt(summary);
        self.emit(Some(range));
        self.depth = 1;
    }
    fn field(
        &mut self,
        _key: &'static str,
        label: &'static str,
        range: Range<usize>,
        value: Value<'_>,
        meaning: Option<fmt::Arguments<'_>>,
    ) {
        if let Value::Bytes(b) = value {
            self.indent();
            let _ = write!(self.line, "{label}: {value} ({} bytes)", b.len());
            return self.emit(Some(range));
        }
        self.labelled(label, Some(value), meaning, range);
    }
    fn group(
        &mut self,
        _key: &'static str,
        label: &'static str,
        range: Range<usize>,
        value: Option<Value<'_>>,
        meaning: Option<fmt::Arguments<'_>>,
    ) {
        self.labelled(label, value, meaning, range);
        self.depth += 1;
    }
    fn end_group(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
    fn note(&mut self, _key: &'static str, text: fmt::Arguments<'_>) {
        self.indent();
        let _ = write!(self.line, "[{text}]");
        self.emit(None);
    }
}

/// Writes the tree of one frame (and its hex dump when `hex`).
#[allow(clippy::too_many_arguments)]
pub fn write_tree<W: Write>(
    out: &mut W,
    f: &Frame<'_>,
    p: &Packet<'_>,
    ctx: &Context,
    rel_nanos: i128,
    digits: u8,
    hex: bool,
) -> io::Result<()> {
    let cap = f.data.len();
    writeln!(
        out,
        "Frame {}: {} bytes on wire ({} bits), {} bytes captured ({} bits)",
        f.number,
        f.orig_len,
        u64::from(f.orig_len) * 8,
        cap,
        cap * 8
    )?;
    writeln!(out, "    Arrival Time: {} UTC", Utc { ts: f.ts, digits, iso: false })?;
    writeln!(out, "    Epoch Arrival Time: {}", Secs { nanos: f.ts.0 as i128, digits: 9 })?;
    writeln!(out, "    Time since first frame: {} seconds", Secs { nanos: rel_nanos, digits })?;
    writeln!(out, "    Frame Number: {}", f.number)?;
    writeln!(out, "    Frame Length: {} bytes", f.orig_len)?;
    writeln!(out, "    Capture Length: {} bytes", cap)?;
    if f.is_truncated() {
        writeln!(out, "    [Packet size limited during capture: {} of {} bytes captured]", cap, f.orig_len)?;
    }
    writeln!(out, "    Link Type: {}", f.link)?;
    writeln!(out, "    Protocols in frame: {}", Protocols(p))?;
    let mut v = TreeVisitor { out, depth: 0, line: String::with_capacity(128), err: None };
    decode::describe(p, ctx, &mut v);
    if let Some(e) = v.err {
        return Err(e);
    }
    if let Some(m) = p.malformed {
        let kind = if crate::analysis::stats::is_malformed(f, p) { "Malformed" } else { "Decoding stopped" };
        writeln!(out, "[{kind}: {m}]")?;
    }
    if hex {
        writeln!(out)?;
        super::hex::write_dump(out, p)?;
    }
    writeln!(out)
}

/// `eth:ip:tcp:data`, like Wireshark's `frame.protocols`.
pub struct Protocols<'p, 'a>(pub &'p Packet<'a>);

impl fmt::Display for Protocols<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.0.layers().iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            f.write_str(l.proto.abbrev())?;
        }
        Ok(())
    }
}
