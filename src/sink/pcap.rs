//! A capture writer over any `io::Write`, pcap or pcapng. For pcap, pcap-file writes
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
