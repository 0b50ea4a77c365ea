//! Follow stream: the bytes of one connection as each side received them, both
//! directions interleaved in the order the capture delivered them (Wireshark's
//! Follow TCP Stream), as escaped text, a hex dump, or the exact bytes of one
//! direction. Written as events arrive: nothing is kept but the current direction.

use std::io::{self, Write};

use crate::analysis::follow::{Dir, Peers};
use crate::analysis::reassembly::{Counters, Event};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    /// Printable characters as they are, `\n` shown and then broken, the rest escaped.
    Text,
    /// Offset, hex bytes and ASCII, 16 bytes a line.
    Hex,
    /// The exact bytes of one direction, nothing else.
    Raw,
}

/// Writes one connection's stream as events arrive.
pub struct Printer<W: Write> {
    out: W,
    how: As,
    /// Directions shown.
    dirs: [bool; 2],
    ascii: bool,
    /// The connection's heading is written (before its first event).
    headed: bool,
    /// The direction of the block being written, and whether its text ended a line.
    block: Option<Dir>,
    at_line_start: bool,
    /// Per direction: bytes delivered, data segments (datagrams), bytes missing.
    bytes: [u64; 2],
    pieces: [u64; 2],
    missing: [u64; 2],
    error: Option<io::Error>,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, how: As, dirs: [bool; 2], ascii: bool) -> Self {
        Printer {
            out,
            how,
            dirs,
            ascii,
            headed: false,
            block: None,
            at_line_start: true,
            bytes: [0; 2],
            pieces: [0; 2],
            missing: [0; 2],
            error: None,
        }
    }

    /// One reassembly event of direction `dir` of connection `conn`. An output error is
    /// kept and returned by [`Printer::finish`], since a sink cannot return one.
    pub fn event(&mut self, conn: u32, peers: &Peers, dir: Dir, e: &Event<'_>) {
        if self.error.is_some() {
            return;
        }
        if !self.headed && self.how != As::Raw {
            self.headed = true;
            if let Err(err) = heading(&mut self.out, conn, peers, self.ascii) {
                self.error = Some(err);
                return;
            }
        }
        if let Err(err) = self.try_event(dir, e) {
            self.error = Some(err);
        }
    }

    fn try_event(&mut self, dir: Dir, e: &Event<'_>) -> io::Result<()> {
        let i = dir.index();
        match e {
            Event::Data { bytes, .. } => {
                self.bytes[i] += bytes.len() as u64;
                self.pieces[i] += 1;
            }
            Event::Missing { len, .. } => self.missing[i] += len,
            _ => {}
        }
        if !self.dirs[i] {
            return Ok(());
        }
        match (self.how, e) {
            (As::Raw, Event::Data { bytes, .. }) => self.out.write_all(bytes),
            (As::Raw, _) => Ok(()),
            (_, Event::Data { offset, bytes, frame, .. }) => {
                if self.block != Some(dir) {
                    self.end_line()?;
                    let rule = if self.ascii { "--" } else { "──" };
                    writeln!(self.out, "{rule} {} · frame {frame} · offset {offset} {rule}", dir.arrow(self.ascii))?;
                    self.block = Some(dir);
                }
                match self.how {
                    As::Hex => hex(&mut self.out, *offset, bytes),
                    _ => {
                        escape(&mut self.out, bytes)?;
                        self.at_line_start = bytes.last() == Some(&b'\n');
                        Ok(())
                    }
                }
            }
            (_, Event::Missing { .. } | Event::Conflict { .. } | Event::Fin { .. } | Event::Rst { .. }) => {
                self.end_line()?;
                let arrow = dir.arrow(self.ascii);
                match e {
                    Event::Fin { frame, offset } => {
                        writeln!(self.out, "[{arrow}: FIN in frame {frame}: this direction ends at offset {offset}]")?
                    }
                    Event::Rst { frame, offset } => writeln!(
                        self.out,
                        "[{arrow}: RST in frame {frame} at offset {offset}: the connection is aborted]"
                    )?,
                    e => writeln!(self.out, "[{arrow}: {e}]")?,
                }
                // What follows starts a new block, with its own header.
                self.block = None;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn end_line(&mut self) -> io::Result<()> {
        if !self.at_line_start {
            writeln!(self.out)?;
            self.at_line_start = true;
        }
        Ok(())
    }

    /// The totals per direction (not for `raw`), and any output error met on the way.
    /// `counters` are the reassembly's, for TCP.
    pub fn finish(mut self, counters: Option<[Counters; 2]>, udp: bool) -> io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.how != As::Raw {
            self.end_line()?;
            writeln!(self.out, "{}", if self.ascii { "-- end --" } else { "── end ──" })?;
            for dir in Dir::BOTH {
                let i = dir.index();
                let what = if udp { "datagram" } else { "segment" };
                let s = if self.pieces[i] == 1 { "" } else { "s" };
                write!(self.out, "{}: {} bytes in {} {what}{s}", dir.arrow(self.ascii), self.bytes[i], self.pieces[i])?;
                if let Some(c) = counters {
                    let c = c[i];
                    if c.retransmitted > 0 {
                        write!(self.out, ", {} bytes retransmitted (not repeated)", c.retransmitted)?;
                    }
                    if c.conflicting > 0 {
                        write!(self.out, ", {} bytes conflicting (first copy kept)", c.conflicting)?;
                    }
                }
                if self.missing[i] > 0 {
                    write!(self.out, ", {} bytes missing", self.missing[i])?;
                }
                writeln!(self.out)?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// Bytes missing in the directions shown.
    pub fn missing(&self) -> u64 {
        (0..2).filter(|&i| self.dirs[i]).map(|i| self.missing[i]).sum()
    }
}

/// The first line of `stream` and `segments`: which connection this is.
pub fn heading(out: &mut impl Write, conn: u32, peers: &Peers, ascii: bool) -> io::Result<()> {
    writeln!(
        out,
        "{} stream {} (conn {conn}): client {} {} server {}",
        peers.proto.name().to_uppercase(),
        peers.stream,
        peers.client,
        if ascii { "<->" } else { "⇄" },
        peers.server
    )
}

/// Printable text as it is (UTF-8 included), `\n` shown as `\n` and then a line break,
/// tabs kept, every other control or invalid byte escaped as `\r`, `\0` or `\xNN`.
/// A character cut across two segments shows as its escaped bytes.
pub fn escape(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.char_indices() {
            if !c.is_control() || c == '\t' {
                continue;
            }
            out.write_all(&valid.as_bytes()[start..i])?;
            start = i + c.len_utf8();
            match c {
                '\n' => out.write_all(b"\\n\n")?,
                '\r' => out.write_all(b"\\r")?,
                '\0' => out.write_all(b"\\0")?,
                c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32)?,
                c => write!(out, "\\u{{{:x}}}", c as u32)?,
            }
        }
        out.write_all(&valid.as_bytes()[start..])?;
        for b in chunk.invalid() {
            write!(out, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

/// `xxd`-style lines with stream offsets.
fn hex(out: &mut impl Write, offset: u64, bytes: &[u8]) -> io::Result<()> {
    for (k, line) in bytes.chunks(16).enumerate() {
        write!(out, "{:08x} ", offset + 16 * k as u64)?;
        for i in 0..16 {
            if i == 8 {
                out.write_all(b" ")?;
            }
            match line.get(i) {
                Some(b) => write!(out, " {b:02x}")?,
                None => out.write_all(b"   ")?,
            }
        }
        out.write_all(b"  |")?;
        for &b in line {
            out.write_all(&[if b.is_ascii_graphic() || b == b' ' { b } else { b'.' }])?;
        }
        out.write_all(b"|\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(b: &[u8]) -> String {
        let mut out = Vec::new();
        escape(&mut out, b).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_escapes_what_a_terminal_would_hide() {
        assert_eq!(esc(b"GET / HTTP/1.1\r\nHost: x\r\n"), "GET / HTTP/1.1\\r\\n\nHost: x\\r\\n\n");
        assert_eq!(esc(b"a\tb\0c\x1b[0m"), "a\tb\\0c\\x1b[0m");
        assert_eq!(esc("你好\n".as_bytes()), "你好\\n\n");
        assert_eq!(esc(b"\x00\x00\x00\x05hello"), "\\0\\0\\0\\x05hello");
        assert_eq!(esc(b"\xff\xfe"), "\\xff\\xfe");
        // Half of a two-byte character.
        assert_eq!(esc(&"é".as_bytes()[..1]), "\\xc3");
    }

    #[test]
    fn hex_lines_carry_stream_offsets() {
        let mut out = Vec::new();
        hex(&mut out, 16, b"0123456789abcdefXY").unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "00000010  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n\
             00000020  58 59                                             |XY|\n"
        );
    }
}
