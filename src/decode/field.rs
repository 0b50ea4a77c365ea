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

/// A header field's bytes, counted from the header's first byte. Each protocol keeps
/// its fields in one `mod field` table (smoltcp's `wire` layout) that decode, the
/// accessors and `describe` all read, so an offset is written once: the hex dump
/// then highlights exactly the bytes the accessor reads.
pub(crate) type Field = Range<usize>;

/// The byte of a one-byte field; `None` past the captured bytes.
#[inline]
pub(crate) fn get8(b: &[u8], r: Field) -> Option<u8> {
    b.get(r.start).copied()
}

/// A big-endian 16-bit field; `None` past the captured bytes.
#[inline]
pub(crate) fn get16(b: &[u8], r: Field) -> Option<u16> {
    Some(u16::from_be_bytes(get(b, r)?))
}

/// A big-endian 32-bit field; `None` past the captured bytes.
#[inline]
pub(crate) fn get32(b: &[u8], r: Field) -> Option<u32> {
    Some(u32::from_be_bytes(get(b, r)?))
}

/// A field's bytes as an array (addresses); `None` past the captured bytes or if
/// the field is not `N` bytes long.
#[inline]
pub(crate) fn get<const N: usize>(b: &[u8], r: Field) -> Option<[u8; N]> {
    b.get(r)?.try_into().ok()
}

/// Checks a protocol's field table against itself and against what `describe`
/// shows, the same way for every protocol.
#[cfg(test)]
pub(crate) mod check {
    use super::*;

    /// Every field lies within the minimum header, and two fields share bytes only
    /// if both are bitfields (listed in `bits`) or they are the same range (a value
    /// and its parts, shown under several keys).
    pub fn table(min_len: usize, fields: &[(&str, Field)], bits: &[Field]) {
        for (k, r) in fields {
            assert!(r.start < r.end && r.end <= min_len, "{k}: {r:?} not inside the {min_len}-byte header");
        }
        for (i, (ka, a)) in fields.iter().enumerate() {
            for (kb, b) in &fields[i + 1..] {
                let overlap = a.start < b.end && b.start < a.end;
                if overlap && a != b {
                    assert!(
                        bits.contains(a) && bits.contains(b),
                        "{ka} {a:?} and {kb} {b:?} overlap but are not both bitfields"
                    );
                }
            }
        }
    }

    /// The fields `describe` emitted (key, range from the header's first byte).
    #[derive(Default)]
    pub struct Seen(pub Vec<(&'static str, Range<usize>)>);

    impl Visitor for Seen {
        fn layer(&mut self, _: crate::decode::Proto, _: Range<usize>, _: fmt::Arguments<'_>) {}
        fn field(
            &mut self,
            k: &'static str,
            _: &'static str,
            r: Range<usize>,
            _: Value<'_>,
            _: Option<fmt::Arguments<'_>>,
        ) {
            self.0.push((k, r));
        }
        fn group(
            &mut self,
            k: &'static str,
            _: &'static str,
            r: Range<usize>,
            _: Option<Value<'_>>,
            _: Option<fmt::Arguments<'_>>,
        ) {
            self.0.push((k, r));
        }
        fn end_group(&mut self) {}
        fn note(&mut self, _: &'static str, _: fmt::Arguments<'_>) {}
    }

    /// Every table field was shown, at its table range shifted by `base`; every other
    /// key shown is one of `others` (fields whose bytes are not a table field:
    /// options, values computed over the whole header).
    pub fn tree(seen: &Seen, base: usize, fields: &[(&str, Field)], others: &[&str]) {
        for (k, r) in fields {
            let want = base + r.start..base + r.end;
            let got: Vec<_> = seen.0.iter().filter(|(sk, _)| sk == k).map(|(_, r)| r.clone()).collect();
            assert_eq!(got, [want], "{k}: the tree highlights other bytes than the table says");
        }
        for (k, _) in &seen.0 {
            assert!(
                fields.iter().any(|(fk, _)| fk == k) || others.contains(k),
                "{k}: shown by describe but neither in the table nor listed as computed"
            );
        }
    }
}
