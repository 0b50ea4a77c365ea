//! The one capture writer, over any `io::Write`, pcap or pcapng (and [`PcapFileWriter`],
//! the same records committed whole to a file, for `capture -w`). For pcap, pcap-file writes
//! the file header and records are staged here and go out in vectored writes of a few
//! hundred frames, payloads that live for good (`write_static`) by reference, so the
//! generator's millions of frames are not copied in user space; pcapng goes through
//! pcap-file's writer.

use std::io::{self, Write};

use pcap_file::pcap::{PcapHeader, PcapTsResolution, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness};

use crate::source::{LinkType, Timestamp};

enum Out<W: Write> {
    Pcap(W),
    /// The writer, and a buffer to join a frame's pieces in.
    PcapNg(PcapNgWriter<W>, Vec<u8>),
}

pub struct PcapSink<W: Write> {
    w: Out<W>,
    frames: u64,
    staged: Staged,
}

/// Frames waiting to go out in one vectored write: record headers and frame headers
/// side by side in `arena`, payloads borrowed for good (`'static`), so the bytes that
/// make up most of a generated capture are never copied in user space.
#[derive(Default)]
struct Staged {
    arena: Vec<u8>,
    items: Vec<(usize, usize, &'static [u8])>,
}

/// Frames per vectored write: two slices each, within the kernel's IOV_MAX of 1024.
const STAGED_FRAMES: usize = 500;

fn ng_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl<W: Write> PcapSink<W> {
    /// A little-endian, nanosecond-resolution pcap with this link type.
    pub fn new(w: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen,
            datalink: DataLink::from(link.0),
            ts_resolution: PcapTsResolution::NanoSecond,
            endianness: Endianness::Little,
        };
        let w = PcapWriter::with_header(w, header).map_err(ng_err)?.into_inner();
        Ok(PcapSink { w: Out::Pcap(w), frames: 0, staged: Staged::default() })
    }

    /// A pcapng file with one interface of this link type (microsecond timestamps).
    pub fn new_pcapng(w: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        let mut ng = PcapNgWriter::new(w).map_err(ng_err)?;
        let idb = InterfaceDescriptionBlock { linktype: DataLink::from(link.0), snaplen, options: Vec::new() };
        ng.write_pcapng_block(idb).map_err(ng_err)?;
        Ok(PcapSink { w: Out::PcapNg(ng, Vec::with_capacity(2048)), frames: 0, staged: Staged::default() })
    }

    /// Writes one frame; `orig_len` is its length on the wire (>= `data.len()`).
    pub fn write(&mut self, ts: Timestamp, orig_len: u32, data: &[u8]) -> io::Result<()> {
        self.write_parts(ts, orig_len, &[data])
    }

    /// Writes one frame whose payload lives for good: for pcap, it is staged and goes
    /// out with others in one vectored write, without being copied.
    pub fn write_static(
        &mut self,
        ts: Timestamp,
        orig_len: u32,
        head: &[u8],
        payload: &'static [u8],
    ) -> io::Result<()> {
        if !matches!(self.w, Out::Pcap(_)) {
            return self.write_parts(ts, orig_len, &[head, payload]);
        }
        let len = head.len() + payload.len();
        let len = u32::try_from(len).map_err(|_| io::Error::other("frame longer than 4 GiB"))?;
        let secs = u32::try_from(ts.secs()).map_err(|_| io::Error::other("timestamp beyond 2106"))?;
        let a = &mut self.staged.arena;
        let start = a.len();
        a.extend_from_slice(&secs.to_le_bytes());
        a.extend_from_slice(&ts.subsec_nanos().to_le_bytes());
        a.extend_from_slice(&len.to_le_bytes());
        a.extend_from_slice(&orig_len.max(len).to_le_bytes());
        a.extend_from_slice(head);
        self.staged.items.push((start, a.len(), payload));
        self.frames += 1;
        if self.staged.items.len() >= STAGED_FRAMES {
            self.write_staged()?;
        }
        Ok(())
    }

    fn write_staged(&mut self) -> io::Result<()> {
        let Out::Pcap(w) = &mut self.w else { return Ok(()) };
        if self.staged.items.is_empty() {
            return Ok(());
        }
        let arena = &self.staged.arena;
        let mut slices: Vec<io::IoSlice<'_>> = Vec::with_capacity(2 * self.staged.items.len());
        for &(a, b, p) in &self.staged.items {
            slices.push(io::IoSlice::new(&arena[a..b]));
            if !p.is_empty() {
                slices.push(io::IoSlice::new(p));
            }
        }
        let mut bufs = &mut slices[..];
        while !bufs.is_empty() {
            match w.write_vectored(bufs) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => io::IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.staged.arena.clear();
        self.staged.items.clear();
        Ok(())
    }

    /// Writes one frame given in pieces (header bytes, then payload).
    pub fn write_parts(&mut self, ts: Timestamp, orig_len: u32, parts: &[&[u8]]) -> io::Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u32::try_from(len).map_err(|_| io::Error::other("frame longer than 4 GiB"))?;
        let secs = u32::try_from(ts.secs()).map_err(|_| io::Error::other("timestamp beyond 2106"))?;
        match &mut self.w {
            Out::Pcap(_) => {
                // Staged in order with the static frames, copied (these are short).
                let a = &mut self.staged.arena;
                let start = a.len();
                a.extend_from_slice(&secs.to_le_bytes());
                a.extend_from_slice(&ts.subsec_nanos().to_le_bytes());
                a.extend_from_slice(&len.to_le_bytes());
                a.extend_from_slice(&orig_len.max(len).to_le_bytes());
                for p in parts {
                    a.extend_from_slice(p);
                }
                self.staged.items.push((start, a.len(), &[]));
                if self.staged.items.len() >= STAGED_FRAMES {
                    self.write_staged()?;
                }
            }
            Out::PcapNg(ng, buf) => {
                buf.clear();
                for p in parts {
                    buf.extend_from_slice(p);
                }
                let epb = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: std::time::Duration::from_nanos(ts.0),
                    original_len: orig_len.max(len),
                    data: std::borrow::Cow::Borrowed(&buf[..]),
                    options: Vec::new(),
                };
                ng.write_pcapng_block(epb).map_err(ng_err)?;
            }
        }
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.write_staged()?;
        match &mut self.w {
            Out::Pcap(w) => w.flush(),
            Out::PcapNg(ng, _) => ng.get_mut().flush(),
        }
    }

    /// The writer back; call `flush` first (staged frames are lost otherwise).
    pub fn into_inner(self) -> W {
        match self.w {
            Out::Pcap(w) => w,
            Out::PcapNg(ng, _) => ng.into_inner(),
        }
    }
}

/// Why a capture file could not take more frames.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: cannot create: {error}")]
    Create { path: String, error: io::Error },
    #[error("{path}: write failed after {frames} frames ({error}); the file holds those {frames} frames and is valid")]
    Write { path: String, frames: u64, error: io::Error },
    #[error("{path}: frame {number} cannot be stored: {reason}")]
    Frame { path: String, number: u64, reason: String },
}

/// A file that takes bytes in memory first; `flush` moves them to the file or, when the
/// file refuses them halfway (disk full, quota), cuts the file back to the last
/// committed record, so what is on disk always ends on a record boundary and reads
/// back as a valid capture.
struct Committed {
    file: std::fs::File,
    buf: Vec<u8>,
    /// File length up to the end of the last committed record.
    committed: u64,
}

impl Write for Committed {
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

/// Bytes waiting above this are committed without waiting for the caller's flush.
const COMMIT_LIMIT: usize = 1 << 20;

/// A pcap file being written by `capture -w`: the same [`PcapSink`] records, committed
/// to the file whole, so an interrupted capture leaves a valid file with every frame
/// committed so far.
pub struct PcapFileWriter {
    path: String,
    sink: Option<PcapSink<Committed>>,
    pending_frames: u64,
    pending_bytes: usize,
    written: u64,
}

impl PcapFileWriter {
    /// Creates (or truncates) `path` and commits the file header at once, so an
    /// unwritable path fails before the capture starts.
    pub fn create(path: &str, link: LinkType, snaplen: u32) -> Result<PcapFileWriter, WriteError> {
        let create = |error| WriteError::Create { path: path.to_string(), error };
        let file = std::fs::File::create(path).map_err(create)?;
        let out = Committed { file, buf: Vec::with_capacity(64 * 1024), committed: 0 };
        let mut sink = PcapSink::new(out, link, snaplen).map_err(create)?;
        sink.flush().map_err(create)?;
        Ok(PcapFileWriter { path: path.to_string(), sink: Some(sink), pending_frames: 0, pending_bytes: 0, written: 0 })
    }

    /// Takes one frame; commits when enough has piled up.
    pub fn write(&mut self, f: &crate::source::Frame<'_>) -> Result<(), WriteError> {
        let Some(sink) = self.sink.as_mut() else { return Ok(()) };
        // Bytes go to memory until `flush`: an error here is the frame's (a timestamp
        // or length pcap cannot hold), and the file goes on.
        if let Err(e) = sink.write(f.ts, f.orig_len, f.data) {
            return Err(WriteError::Frame { path: self.path.clone(), number: f.number, reason: e.to_string() });
        }
        self.pending_frames += 1;
        self.pending_bytes += 16 + f.data.len();
        if self.pending_bytes >= COMMIT_LIMIT {
            self.flush()?;
        }
        Ok(())
    }

    /// Commits the frames taken to the file. After an error the writer takes no more.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        let Some(sink) = self.sink.as_mut() else { return Ok(()) };
        match sink.flush() {
            Ok(()) => {
                self.written += self.pending_frames;
                self.pending_frames = 0;
                self.pending_bytes = 0;
                Ok(())
            }
            Err(error) => {
                self.sink = None;
                self.pending_frames = 0;
                Err(WriteError::Write { path: self.path.clone(), frames: self.written, error })
            }
        }
    }

    /// Frames that are in the file (committed), not counting pending ones.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_writer_commits_whole_records_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.pcap");
        let path = path.to_str().unwrap();
        let mut w = PcapFileWriter::create(path, LinkType::ETHERNET, 65535).unwrap();
        assert_eq!(std::fs::metadata(path).unwrap().len(), 24, "the header is committed at once");
        let data = [7u8; 60];
        for n in 1..=3 {
            let ts = Timestamp(1_000_000_000 * n + 5);
            let f = crate::source::Frame {
                number: n,
                ts,
                link: LinkType::ETHERNET,
                orig_len: 60,
                data: &data,
                interface: 0,
                ts_digits: 9,
            };
            w.write(&f).unwrap();
        }
        assert_eq!(w.written(), 0);
        w.flush().unwrap();
        assert_eq!(w.written(), 3);
        let mut c = crate::source::CaptureFile::open(path).unwrap();
        let mut n = 0;
        while let Some(f) = c.next_frame().unwrap() {
            n += 1;
            assert_eq!((f.ts, f.data.len()), (Timestamp(1_000_000_000 * n + 5), 60));
        }
        assert_eq!(n, 3);
    }

    #[test]
    fn a_file_that_refuses_the_header_fails_before_any_frame() {
        // /dev/full opens, and refuses every byte: the capture must fail at once, not
        // after it has started (a full disk mid-capture: tests/all/live.rs).
        let e = PcapFileWriter::create("/dev/full", LinkType::ETHERNET, 65535).err().expect("the header was refused");
        assert!(matches!(e, WriteError::Create { .. }), "{e}");
    }
}
