//! Spill storage: temporary files (unnamed, removed by the system when pktlab exits,
//! however it exits) that keep what would otherwise grow with the capture out of
//! memory: `conns` rows (`rows`) and the tracker's retired connection records
//! (`records`). Not a sink: nothing here is output; it is read back by the same run.

pub mod records;
pub mod rows;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Reads a run of fixed-size slots back from a temporary file in order, a chunk of
/// slots at a time.
struct SlotReader {
    at: u64,
    left: usize,
    size: usize,
    chunk: usize,
    buf: Vec<u8>,
    pos: usize,
}

impl SlotReader {
    /// `slots` slots of `size` bytes from offset `at`, read `chunk` at a time.
    fn new(at: u64, slots: usize, size: usize, chunk: usize) -> SlotReader {
        SlotReader { at, left: slots, size, chunk: chunk.max(1), buf: Vec::new(), pos: 0 }
    }

    /// The next slot, or `None` at the end of the run.
    fn peek(&mut self, file: &File) -> io::Result<Option<&[u8]>> {
        if self.pos == self.buf.len() {
            let n = self.left.min(self.chunk);
            if n == 0 {
                return Ok(None);
            }
            self.buf.resize(n * self.size, 0);
            file.read_exact_at(&mut self.buf, self.at)?;
            self.at += self.buf.len() as u64;
            self.left -= n;
            self.pos = 0;
        }
        Ok(Some(&self.buf[self.pos..self.pos + self.size]))
    }

    fn advance(&mut self) {
        self.pos += self.size;
    }
}
