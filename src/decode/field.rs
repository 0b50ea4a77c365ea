//! The one description of a header's fields that the tree, the hex dump and JSON
//! all read: each protocol walks its fields and calls a `Visitor` with the field's
//! key (Wireshark's name without the protocol prefix), label, byte range in the
//! frame, value and, for the tree, what the value means.

use std::fmt;
use std::ops::Range;

/// A field value, borrowed or small enough to copy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// An unsigned number.
    U(u64),
    /// A number Wireshark shows in hex (ethertypes, flags, checksums): value and digit count.
    Hex(u64, u8),
    Bool(bool),
    Mac([u8; 6]),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    Str(&'a str),
    /// A float (seconds).
    F(f64),
    /// Raw bytes (payload, unknown option data): JSON shows them as hex.
    Bytes(&'a [u8]),
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::U(v) => write!(f, "{v}"),
            Value::Hex(v, w) => write!(f, "0x{:0w$x}", v, w = w as usize),
            Value::Bool(b) => write!(f, "{}", if b { "True" } else { "False" }),
            Value::Mac(m) => write_mac(f, &m),
            Value::Ipv4(a) => write!(f, "{}", std::net::Ipv4Addr::from(a)),
            Value::Ipv6(a) => write!(f, "{}", std::net::Ipv6Addr::from(a)),
            Value::Str(s) => f.write_str(s),
            Value::F(x) => write!(f, "{x:.9}"),
            Value::Bytes(b) => {
                for x in b.iter().take(32) {
                    write!(f, "{x:02x}")?;
                }
                if b.len() > 32 {
                    f.write_str("…")?;
                }
                Ok(())
            }
        }
    }
}

pub fn write_mac(f: &mut impl fmt::Write, m: &[u8; 6]) -> fmt::Result {
    write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}

/// Receives a layer's fields in order. Groups (flags, options) nest.
pub trait Visitor {
    /// A layer begins: its protocol, byte range and one-line summary for the tree.
    fn layer(&mut self, proto: super::Proto, range: Range<usize>, summary: fmt::Arguments<'_>);
    /// One field. `meaning` is the tree's explanation ("(SYN, ACK)", "[correct]").
    fn field(
        &mut self,
        key: &'static str,
        label: &'static str,
        range: Range<usize>,
        value: Value<'_>,
        meaning: Option<fmt::Arguments<'_>>,
    );
    /// A group whose fields follow until `end_group`; its own value may be `None`.
    fn group(
        &mut self,
        key: &'static str,
        label: &'static str,
        range: Range<usize>,
        value: Option<Value<'_>>,
        meaning: Option<fmt::Arguments<'_>>,
    );
    fn end_group(&mut self);
    /// A note with no value of its own (an expert remark: "header truncated").
    fn note(&mut self, key: &'static str, text: fmt::Arguments<'_>);
}

/// Emits a field only when its bytes were captured; most describe code goes through it.
pub(crate) struct Fields<'v, V: Visitor> {
    pub v: &'v mut V,
    /// Frame offset of the header's first byte.
    pub base: usize,
    /// Header bytes captured.
    pub avail: usize,
}

impl<V: Visitor> Fields<'_, V> {
    pub fn has(&self, r: &Range<usize>) -> bool {
        r.end <= self.avail
    }
    pub fn abs(&self, r: Range<usize>) -> Range<usize> {
        self.base + r.start..self.base + r.end
    }
    pub fn f(
        &mut self,
        key: &'static str,
        label: &'static str,
        r: Range<usize>,
        value: Option<Value<'_>>,
        meaning: Option<fmt::Arguments<'_>>,
    ) {
        if let (true, Some(val)) = (self.has(&r), value) {
            let a = self.abs(r);
            self.v.field(key, label, a, val, meaning);
        }
    }
}
