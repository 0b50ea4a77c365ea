//! A minimal pcap writer for `capture -w`, until `sink::pcap` lands: it takes the
//! same frames and can be swapped for the sink without touching the capture loop.
//!
//! Records are staged in memory and committed to the file on `flush`. If the file
//! refuses bytes halfway (disk full, quota), the file is cut back to the last
//! committed record, so what is on disk always ends on a record boundary and reads
//! back as a valid capture.

use std::fs::File;
use std::io::{self, Write};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapTsResolution, PcapWriter};
use pcap_file::{DataLink, Endianness};

use crate::source::{Frame, LinkType};

/// Why the pcap file could not take more frames.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: cannot create: {error}")]
    Create { path: String, error: io::Error },
    #[error("{path}: write failed after {frames} frames ({error}); the file holds those {frames} frames and is valid")]
    Write { path: String, frames: u64, error: io::Error },
    #[error("{path}: frame {number} cannot be stored: {reason}")]
    Frame { path: String, number: u64, reason: String },
}

/// Bytes go to memory first; `flush` moves them to the file or rolls the file back.
struct Staged {
    file: File,
    buf: Vec<u8>,
    /// File length up to the end of the last committed record.
    committed: u64,
}

impl Write for Staged {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => {
                self.committed += self.buf.len() as u64;
                self.buf.clear();
                Ok(())
            }
            Err(e) => {
                // Best effort: a device like /dev/full cannot be truncated, a file can.
                let _ = self.file.set_len(self.committed);
                self.buf.clear();
                Err(e)
            }
        }
    }
}

/// Staged bytes above this are committed without waiting for the timer.
const STAGE_LIMIT: usize = 1 << 20;

/// A pcap file (nanosecond timestamps, native byte order) being written.
pub struct PcapFileWriter {
    path: String,
    inner: Option<PcapWriter<Staged>>,
    staged_frames: u64,
    staged_bytes: usize,
    written: u64,
}

impl PcapFileWriter {
    /// Creates (or truncates) `path` and commits the file header at once, so an
    /// unwritable path fails before the capture starts.
    pub fn create(path: &str, link: LinkType, snaplen: u32) -> Result<PcapFileWriter, WriteError> {
        let create = |error| WriteError::Create { path: path.to_string(), error };
        let file = File::create(path).map_err(create)?;
        let header = PcapHeader {
            snaplen,
            datalink: DataLink::from(link.0),
            ts_resolution: PcapTsResolution::NanoSecond,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let staged = Staged { file, buf: Vec::with_capacity(64 * 1024), committed: 0 };
        let mut inner = PcapWriter::with_header(staged, header).map_err(|e| create(to_io(e)))?;
        inner.flush().map_err(|e| create(to_io(e)))?;
        Ok(PcapFileWriter { path: path.to_string(), inner: Some(inner), staged_frames: 0, staged_bytes: 0, written: 0 })
    }

    /// Stages one frame; commits when enough has piled up.
    pub fn write(&mut self, f: &Frame<'_>) -> Result<(), WriteError> {
        let Some(w) = self.inner.as_mut() else { return Ok(()) };
        let ts = Duration::new(f.ts.secs(), f.ts.subsec_nanos());
        let bad = |reason: String| WriteError::Frame { path: self.path.clone(), number: f.number, reason };
        let pkt = PcapPacket::new(ts, f.orig_len, f.data).map_err(|e| bad(e.to_string()))?;
        w.write_packet(&pkt).map_err(|e| bad(e.to_string()))?;
        self.staged_frames += 1;
        // PcapWriter does not lend its writer back, so count the record size here: 16-byte header + data.
        self.staged_bytes += 16 + f.data.len();
        if self.staged_bytes >= STAGE_LIMIT {
            self.flush()?;
        }
        Ok(())
    }

    /// Commits staged frames to the file. After an error the writer takes no more.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        let Some(w) = self.inner.as_mut() else { return Ok(()) };
        match w.flush() {
            Ok(()) => {
                self.written += self.staged_frames;
                self.staged_frames = 0;
                self.staged_bytes = 0;
                Ok(())
            }
            Err(e) => {
                self.inner = None;
                self.staged_frames = 0;
                Err(WriteError::Write { path: self.path.clone(), frames: self.written, error: to_io(e) })
            }
        }
    }

    /// Frames that are in the file (committed), not counting staged ones.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

fn to_io(e: pcap_file::pcap::PcapWriteError) -> io::Error {
    match e {
        pcap_file::pcap::PcapWriteError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}
