//! JSON lines: one object per frame, keyed like Wireshark (`{"frame":{..},"eth":{..},
//! "ip":{..},"tcp":{..}}`), written into a reused buffer without per-frame allocation.
//! Within a layer a repeated field keeps its first occurrence (tshark's
//! `-E occurrence=f`); a repeated layer (QinQ's second tag) gets a `_2` suffix.
//! The schema is documented in docs/json.md.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::ops::Range;

use super::time::Utc;
use crate::decode::{self, Context, Packet, Proto, Value, Visitor};
use crate::source::Frame;
use crate::text::line::Line;

/// Reusable JSON writer for frames.
pub struct JsonRenderer {
    buf: Line,
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
            buf: Line::with_capacity(4096),
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
        b.str("{\"frame\":{\"number\":");
        b.num(f.number);
        let _ = write!(b, ",\"time\":\"{}\"", Utc { ts: f.ts, digits: 9, iso: true });
        b.str(",\"time_epoch\":");
        b.secs(f.ts.0 as i128, 9);
        b.str(",\"time_relative\":");
        b.secs(times.0, 9);
        b.str(",\"time_delta\":");
        b.secs(times.1, 9);
        b.str(",\"len\":");
        b.num(f.orig_len);
        b.str(",\"cap_len\":");
        b.num(f.data.len());
        b.str(if f.is_truncated() { ",\"truncated\":true" } else { ",\"truncated\":false" });
        b.str(",\"link_type\":");
        b.num(f.link.0);
        b.str(",\"link_name\":\"");
        b.str(f.link.name());
        b.str("\",\"interface_id\":");
        b.num(f.interface);
        let _ = write!(b, ",\"protocols\":\"{}\"}}", super::tree::Protocols(p));
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
            self.buf.byte(b'}');
        }
        self.buf.byte(b'}');
        out.write_all(self.buf.as_bytes())
    }

    fn close_layer(&mut self) {
        if self.open {
            self.buf.byte(b'}');
            self.open = false;
        }
    }

    fn key(&mut self, key: &'static str) -> bool {
        // Only options repeat within a header (NOPs, SACK edges, IPv4 options).
        if key.starts_with("option") {
            if self.keys.contains(&key) {
                return false;
            }
            self.keys.push(key);
        }
        if self.buf.as_bytes().last() != Some(&b'{') {
            self.buf.byte(b',');
        }
        self.buf.byte(b'"');
        self.buf.str(key);
        self.buf.str("\":");
        true
    }
}

fn write_value(b: &mut Line, v: Value<'_>) {
    match v {
        Value::U(n) => b.num(n),
        Value::F(x) => {
            let _ = write!(b, "{x:.9}");
        }
        Value::Bool(x) => b.str(if x { "true" } else { "false" }),
        Value::Str(s) => write_str(b, format_args!("{s}")),
        Value::Bytes(bytes) => {
            b.byte(b'"');
            b.hex(bytes);
            b.byte(b'"');
        }
        Value::Hex(n, w) => {
            b.byte(b'"');
            b.hexnum(n, w);
            b.byte(b'"');
        }
        Value::Mac(m) => {
            b.byte(b'"');
            b.mac(&m);
            b.byte(b'"');
        }
        Value::Ipv4(a) => {
            b.byte(b'"');
            b.ipv4(a);
            b.byte(b'"');
        }
        other => {
            let _ = write!(b, "\"{other}\"");
        }
    }
}

/// A JSON string with escaping (our strings are ASCII, but a message may quote anything).
fn write_str(b: &mut Line, s: fmt::Arguments<'_>) {
    struct Esc<'s>(&'s mut Line);
    impl fmt::Write for Esc<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                match c {
                    '"' => self.0.str("\\\""),
                    '\\' => self.0.str("\\\\"),
                    '\n' => self.0.str("\\n"),
                    c if (c as u32) < 0x20 => {
                        let _ = write!(self.0, "\\u{:04x}", c as u32);
                    }
                    c => {
                        let mut tmp = [0u8; 4];
                        self.0.str(c.encode_utf8(&mut tmp));
                    }
                }
            }
            Ok(())
        }
    }
    b.byte(b'"');
    let _ = Esc(b).write_fmt(s);
    b.byte(b'"');
}

impl Visitor for JsonRenderer {
    fn layer(&mut self, proto: Proto, _range: Range<usize>, _summary: fmt::Arguments<'_>) {
        self.close_layer();
        let n = self.layers.iter().filter(|p| **p == proto).count();
        self.layers.push(proto);
        self.keys.clear();
        self.buf.str(",\"");
        self.buf.str(proto.abbrev());
        if n > 0 {
            let _ = write!(self.buf, "_{}", n + 1);
        }
        self.buf.str("\":{");
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
