//! A pcap writer over any `io::Write`, through pcap-file. The generator writes
//! millions of frames with it, so a frame goes straight from the caller's buffer to
//! the writer: nothing is copied or allocated per frame.

use std::io::{self, Write};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapTsResolution, PcapWriter};
use pcap_file::{DataLink, Endianness};

use crate::source::{LinkType, Timestamp};

pub struct PcapSink<W: Write> {
    w: PcapWriter<W>,
    frames: u64,
}

fn io_err(e: impl std::fmt::Display) -> io::Error {
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
        Ok(PcapSink { w: PcapWriter::with_header(w, header).map_err(io_err)?, frames: 0 })
    }

    /// Writes one frame; `orig_len` is its length on the wire (>= `data.len()`).
    pub fn write(&mut self, ts: Timestamp, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let pkt = PcapPacket::new(Duration::from_nanos(ts.0), orig_len.max(data.len() as u32), data).map_err(io_err)?;
        self.w.write_packet(&pkt).map_err(io_err)?;
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush().map_err(io_err)
    }

    pub fn into_inner(self) -> W {
        self.w.into_inner()
    }
}
