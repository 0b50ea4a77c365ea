//! A reusable output line: numbers, addresses and padding written straight into bytes.
//! The per-frame renderers use it instead of `write!`, whose formatting machinery was
//! most of the time spent listing a large capture.

use std::fmt;

const HEX: &[u8; 16] = b"0123456789abcdef";

#[derive(Default)]
pub struct Line {
    pub buf: Vec<u8>,
}

impl Line {
    pub fn with_capacity(n: usize) -> Self {
        Line { buf: Vec::with_capacity(n) }
    }
    pub fn clear(&mut self) {
        self.buf.clear();
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf).unwrap_or("")
    }
    pub fn str(&mut self, s: &str) {
        self.put(s.as_bytes());
    }
    /// Short pieces are copied inline: a libc memcpy call per 3-byte field was a
    /// tenth of the list's time.
    #[inline]
    pub fn put(&mut self, s: &[u8]) {
        let n = s.len();
        if n > 16 {
            return self.buf.extend_from_slice(s);
        }
        self.buf.reserve(16);
        let len = self.buf.len();
        // Two overlapping word copies cover any length in a size class without a
        // loop or a call (a byte-by-byte push checked the capacity at every byte).
        let dst = self.buf.spare_capacity_mut().as_mut_ptr().cast::<u8>();
        // SAFETY: `reserve(16)` left at least 16 writable bytes past `len`; every
        // write below ends within the first `n <= 16` of them, and `set_len` covers
        // exactly the `n` bytes written.
        unsafe {
            if n >= 8 {
                dst.cast::<[u8; 8]>().write_unaligned(word(s, 0));
                dst.add(n - 8).cast::<[u8; 8]>().write_unaligned(word(s, n - 8));
            } else if n >= 4 {
                dst.cast::<[u8; 4]>().write_unaligned(word(s, 0));
                dst.add(n - 4).cast::<[u8; 4]>().write_unaligned(word(s, n - 4));
            } else if n >= 2 {
                dst.cast::<[u8; 2]>().write_unaligned(word(s, 0));
                dst.add(n - 2).cast::<[u8; 2]>().write_unaligned(word(s, n - 2));
            } else if n == 1 {
                dst.write(s[0]);
            }
            self.buf.set_len(len + n);
        }
    }
    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }
    pub fn num<I: itoa::Integer>(&mut self, n: I) {
        let mut b = itoa::Buffer::new();
        self.put(b.format(n).as_bytes());
    }
    /// Right-aligns a number in `width` columns.
    pub fn num_right<I: itoa::Integer>(&mut self, width: usize, n: I) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n).as_bytes();
        for _ in s.len()..width {
            self.buf.push(b' ');
        }
        self.put(s);
    }
    pub fn ipv4(&mut self, a: [u8; 4]) {
        let (b, n) = ipv4_bytes(a);
        self.put(&b[..n]);
    }
    /// An IPv4 address padded to `width`, on the left or right.
    pub fn ipv4_padded(&mut self, a: [u8; 4], width: usize, right: bool) {
        let (b, n) = ipv4_bytes(a);
        if right {
            for _ in n..width {
                self.buf.push(b' ');
            }
        }
        self.put(&b[..n]);
        if !right {
            for _ in n..width {
                self.buf.push(b' ');
            }
        }
    }
    pub fn mac(&mut self, m: &[u8; 6]) {
        for (i, b) in m.iter().enumerate() {
            if i > 0 {
                self.buf.push(b':');
            }
            self.buf.push(HEX[usize::from(b >> 4)]);
            self.buf.push(HEX[usize::from(b & 15)]);
        }
    }
    /// Lowercase hex of every byte, no separators.
    pub fn hex(&mut self, bytes: &[u8]) {
        let start = self.buf.len();
        self.buf.resize(start + bytes.len() * 2, 0);
        for (o, b) in self.buf[start..].chunks_exact_mut(2).zip(bytes) {
            o[0] = HEX[usize::from(b >> 4)];
            o[1] = HEX[usize::from(b & 15)];
        }
    }
    /// `0x` and `width` hex digits (more if the value needs them).
    pub fn hexnum(&mut self, v: u64, width: u8) {
        self.str("0x");
        let digits = ((64 - v.leading_zeros()).div_ceil(4) as u8).max(width).max(1);
        for i in (0..digits).rev() {
            self.buf.push(HEX[((v >> (i * 4)) & 15) as usize]);
        }
    }
    /// Seconds from nanoseconds, `digits` decimals (6 or 9), no floats.
    pub fn secs(&mut self, nanos: i128, digits: u8) {
        if nanos < 0 {
            self.buf.push(b'-');
        }
        let n = nanos.unsigned_abs();
        self.num((n / 1_000_000_000) as u64);
        self.buf.push(b'.');
        let frac = (n % 1_000_000_000) as u32;
        let (v, w) = if digits >= 9 { (frac, 9) } else { (frac / 1000, 6) };
        let mut b = itoa::Buffer::new();
        let s = b.format(v);
        for _ in s.len()..w {
            self.buf.push(b'0');
        }
        self.str(s);
    }
    /// Runs `f`, then right-aligns what it wrote in `width` columns.
    pub fn pad_left(&mut self, width: usize, f: impl FnOnce(&mut Line)) {
        let start = self.buf.len();
        f(self);
        let n = chars(&self.buf[start..]);
        if n < width {
            let k = width - n;
            self.buf.resize(self.buf.len() + k, b' ');
            self.buf[start..].rotate_right(k);
        }
    }
    /// Runs `f`, then left-aligns what it wrote in `width` columns.
    pub fn pad_right(&mut self, width: usize, f: impl FnOnce(&mut Line)) {
        let start = self.buf.len();
        f(self);
        let n = chars(&self.buf[start..]);
        for _ in n..width {
            self.buf.push(b' ');
        }
    }
}

/// `N` bytes of `s` from `at` (bounds-checked: the caller's lengths keep it inside).
#[inline(always)]
fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    let mut w = [0u8; N];
    w.copy_from_slice(&s[at..at + N]);
    w
}

/// Each octet's digits and a dot, with their count.
static OCTETS: [([u8; 4], u8); 256] = {
    let mut t = [([0u8; 4], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let o = i as u8;
        let mut d = [0u8; 4];
        let mut n = 0;
        if o >= 100 {
            d[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            d[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        d[n] = b'0' + o % 10;
        d[n + 1] = b'.';
        t[i] = (d, n as u8 + 2);
        i += 1;
    }
    t
};

/// Dotted quad in `out[..n]`: four fixed 4-byte copies from a table.
fn ipv4_bytes(a: [u8; 4]) -> ([u8; 16], usize) {
    let mut out = [0u8; 16];
    let mut n = 0;
    for o in a {
        let (d, len) = OCTETS[usize::from(o)];
        out[n..n + 4].copy_from_slice(&d);
        n += usize::from(len);
    }
    // The last dot is not part of the address.
    (out, n - 1)
}

fn chars(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c & 0xc0 != 0x80).count()
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_like_the_formatter() {
        let mut l = Line::default();
        l.pad_left(5, |l| l.num(42u32));
        l.byte(b'|');
        l.pad_right(16, |l| l.ipv4([192, 168, 0, 1]));
        l.byte(b'|');
        l.secs(1_500_000_001, 9);
        l.byte(b' ');
        l.secs(-2_000, 6);
        l.byte(b' ');
        l.hexnum(0x12, 3);
        l.byte(b' ');
        l.mac(&[0, 0x1b, 0xff, 1, 2, 3]);
        l.byte(b' ');
        l.hex(&[0xde, 0xad]);
        assert_eq!(l.as_str(), "   42|192.168.0.1     |1.500000001 -0.000002 0x012 00:1b:ff:01:02:03 dead");
        l.clear();
        l.pad_left(4, |l| l.str("→"));
        assert_eq!(l.as_str(), "   →");
    }

    #[test]
    fn every_octet_and_every_short_length() {
        let mut l = Line::default();
        for o in 0..=255u8 {
            for a in [[o, 0, 255, o], [10, o, o, 1]] {
                l.clear();
                l.ipv4(a);
                assert_eq!(l.as_str(), std::net::Ipv4Addr::from(a).to_string());
            }
        }
        let src: Vec<u8> = (b'a'..=b'z').collect();
        let mut want = Vec::new();
        l.clear();
        for n in 0..=src.len() {
            l.put(&src[..n]);
            want.extend_from_slice(&src[..n]);
        }
        assert_eq!(l.as_bytes(), &want[..]);
    }
}
