//! A capture writer over any `io::Write`, pcap or pcapng. For pcap, pcap-file writes
//! the file header and records are written here, from several slices, so a generated
//! frame's header and payload reach the writer without being joined first (the
//! generator writes millions of them); pcapng goes through pcap-file's writer.

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
}

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
        Ok(PcapSink { w: Out::Pcap(w), frames: 0 })
    }

    /// A pcapng file with one interface of this link type (microsecond timestamps).
    pub fn new_pcapng(w: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        let mut ng = PcapNgWriter::new(w).map_err(ng_err)?;
        let idb = InterfaceDescriptionBlock { linktype: DataLink::from(link.0), snaplen, options: Vec::new() };
        ng.write_pcapng_block(idb).map_err(ng_err)?;
        Ok(PcapSink { w: Out::PcapNg(ng, Vec::with_capacity(2048)), frames: 0 })
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
        match &mut self.w {
            Out::Pcap(w) => {
                let mut rec = [0u8; 16];
                rec[0..4].copy_from_slice(&secs.to_le_bytes());
                rec[4..8].copy_from_slice(&ts.subsec_nanos().to_le_bytes());
                rec[8..12].copy_from_slice(&len.to_le_bytes());
                rec[12..16].copy_from_slice(&orig_len.max(len).to_le_bytes());
                w.write_all(&rec)?;
                for p in parts {
                    w.write_all(p)?;
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
        match &mut self.w {
            Out::Pcap(w) => w.flush(),
            Out::PcapNg(ng, _) => ng.get_mut().flush(),
        }
    }

    pub fn into_inner(self) -> W {
        match self.w {
            Out::Pcap(w) => w,
            Out::PcapNg(ng, _) => ng.into_inner(),
        }
    }
}
