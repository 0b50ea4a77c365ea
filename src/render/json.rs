//! JSON lines: one object per frame, keyed like Wireshark (`{"frame":{..},"eth":{..},
//! "ip":{..},"tcp":{..}}`), written into a reused buffer without per-frame allocation.
//! Within a layer a repeated field keeps its first occurrence (tshark's
//! `-E occurrence=f`); a repeated layer (QinQ's second tag) gets a `_2` suffix.
//! The schema is documented in docs/json.md.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::ops::Range;

use super::time::{Secs, Utc};
use crate::decode::{self, Context, Packet, Proto, Value, Visitor};
use crate::source::Frame;

/// Reusable JSON writer for frames.
pub struct JsonRenderer {
    buf: String,
    keys: Vec<&'static str>,
    layers: Vec<Proto>,
    open: bool,
    pub digits: u8,
}

impl Default for JsonRenderer {
    fn default() -> Self {
        Self::new(6)
    }
}

impl JsonRenderer {
    pub fn new(digits: u8) -> Self {
        JsonRenderer {
            buf: String::with_capacity(4096),
            keys: Vec::with_capacity(64),
            layers: Vec::with_capacity(8),
            open: false,
            digits,
        }
    }

    /// Writes one frame's object (no trailing newline; the caller separates).
    pub fn write_frame<W: Write>(
        &mut self,
        out: &mut W,
        f: &Frame<'_>,
        p: &Packet<'_>,
        ctx: &Context,
        times: (i128, i128),
    ) -> io::Result<()> {
        self.buf.clear();
        self.layers.clear();
        self.open = false;
        let b = &mut self.buf;
        let _ = write!(
            b,
            "{{\"frame\":{{\"number\":{},\"time\":\"{}\",\"time_epoch\":{},\"time_relative\":{},\"time_delta\":{},\"len\":{},\"cap_len\":{},\"truncated\":{},\"link_type\":{},\"link_name\":\"{}\",\"interface_id\":{},\"protocols\":\"{}\"}}",
            f.number,
            Utc { ts: f.ts, digits: 9, iso: true },
            Secs { nanos: f.ts.0 as i128, digits: 9 },
            Secs { nanos: times.0, digits: 9 },
            Secs { nanos: times.1, digits: 9 },
            f.orig_len,
            f.data.len(),
            f.is_truncated(),
            f.link.0,
            f.link.name(),
            f.interface,
            super::tree::Protocols(p),
        );
        decode::describe(p, ctx, self);
        self.close_layer();
        if let Some(m) = p.malformed {
            let malformed = crate::analysis::stats::is_malformed(f, p);
            let _ = write!(
                self.buf,
                ",\"malformed\":{{\"layer\":\"{}\",\"offset\":{},\"reason\":\"{}\",\"cut_by_snaplen\":{},\"message\":",
                m.proto.abbrev(),
                m.offset,
                m.kind(),
                !malformed && f.is_truncated(),
            );
            write_str(&mut self.buf, format_args!("{m}"));
            self.buf.push('}');
        }
        self.buf.push('}');
        out.write_all(self.buf.as_bytes())
    }

    fn close_layer(&mut self) {
        if self.open {
            self.buf.push('}');
            self.open = false;
        }
    }

    fn key(&mut self, key: &'static str) -> bool {
        if self.keys.contains(&key) {
            return false;
        }
        self.keys.push(key);
        if !self.buf.ends_with('{') {
            self.buf.push(',');
        }
        self.buf.push('"');
        self.buf.push_str(key);
        self.buf.push_str("\":");
        true
    }
}

fn write_value(b: &mut String, v: Value<'_>) {
    match v {
        Value::U(n) => {
            let _ = write!(b, "{n}");
        }
        Value::F(x) => {
            let _ = write!(b, "{x:.9}");
        }
        Value::Bool(x) => b.push_str(if x { "true" } else { "false" }),
        Value::Str(s) => write_str(b, format_args!("{s}")),
        Value::Bytes(bytes) => {
            b.push('"');
            for x in bytes {
                let _ = write!(b, "{x:02x}");
            }
            b.push('"');
        }
        other => {
            let _ = write!(b, "\"{other}\"");
        }
    }
}

/// A JSON string with escaping (our strings are ASCII, but a message may quote anything).
fn write_str(b: &mut String, s: fmt::Arguments<'_>) {
    struct Esc<'s>(&'s mut String);
    impl fmt::Write for Esc<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                match c {
                    '"' => self.0.push_str("\\\""),
                    '\\' => self.0.push_str("\\\\"),
                    '\n' => self.0.push_str("\\n"),
                    c if (c as u32) < 0x20 => {
                        let _ = write!(self.0, "\\u{:04x}", c as u32);
                    }
                    c => self.0.push(c),
                }
            }
            Ok(())
        }
    }
    b.push('"');
    let _ = Esc(b).write_fmt(s);
    b.push('"');
}

impl Visitor for JsonRenderer {
    fn layer(&mut self, proto: Proto, _range: Range<usize>, _summary: fmt::Arguments<'_>) {
        self.close_layer();
        let n = self.layers.iter().filter(|p| **p == proto).count();
        self.layers.push(proto);
        self.keys.clear();
        self.buf.push_str(",\"");
        self.buf.push_str(proto.abbrev());
        if n > 0 {
            let _ = write!(self.buf, "_{}", n + 1);
        }
        self.buf.push_str("\":{");
        self.open = true;
    }
    fn field(
        &mut self,
        key: &'static str,
        _label: &'static str,
        _range: Range<usize>,
        value: Value<'_>,
        _meaning: Option<fmt::Arguments<'_>>,
    ) {
        if self.key(key) {
            write_value(&mut self.buf, value);
        }
    }
    fn group(
        &mut self,
        key: &'static str,
        _label: &'static str,
        _range: Range<usize>,
        value: Option<Value<'_>>,
        _meaning: Option<fmt::Arguments<'_>>,
    ) {
        if let Some(v) = value {
            if self.key(key) {
                write_value(&mut self.buf, v);
            }
        }
    }
    fn end_group(&mut self) {}
    fn note(&mut self, key: &'static str, text: fmt::Arguments<'_>) {
        if self.key(key) {
            write_str(&mut self.buf, text);
        }
    }
}
