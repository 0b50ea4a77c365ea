//! A pcap writer over any `io::Write`. pcap-file writes the file header; records are
//! written here, from several slices, so a generated frame's header and payload go
//! to the writer without being joined first (the generator writes millions of them).

use std::io::{self, Write};

use pcap_file::pcap::{PcapHeader, PcapTsResolution, PcapWriter};
use pcap_file::{DataLink, Endianness};

use crate::source::{LinkType, Timestamp};

pub struct PcapSink<W: Write> {
    w: W,
    frames: u64,
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
        let w = PcapWriter::with_header(w, header).map_err(|e| io::Error::other(e.to_string()))?.into_inner();
        Ok(PcapSink { w, frames: 0 })
    }

    /// Writes one frame; `orig_len` is its length on the wire (>= `data.len()`).
    pub fn write(&mut self, ts: Timestamp, orig_len: u32, data: &[u8]) -> io::Result<()> {
        self.write_parts(ts, orig_len, &[data])
    }

    /// Writes one frame given in pieces (header bytes, then payload).
    pub fn write_parts(&mut self, ts: Timestamp, orig_len: u32, parts: &[&[u8]]) -> io::Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u32::try_from(len).map_err(|_| io::Error::other("frame longer than 4 GiB"))?;
        let secs = u32::try_from(ts.secs()).map_err(|_| io::Error::other("timestamp beyond 2106"))?;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..8].copy_from_slice(&ts.subsec_nanos().to_le_bytes());
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&orig_len.max(len).to_le_bytes());
        self.w.write_all(&rec)?;
        for p in parts {
            self.w.write_all(p)?;
        }
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}
