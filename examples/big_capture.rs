//! Writes a large capture for benchmarks: the frames of the bundled captures (and any
//! given on the command line), repeated with advancing timestamps and shifted ports so
//! the result holds many concurrent connections.
//!
//! usage: cargo run --release --example big_capture -- OUT.pcap FRAMES [CAPTURE...]

use std::io::{BufWriter, Write};

use pktlab::source::CaptureFile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(n)) = (args.first(), args.get(1)) else {
        eprintln!("usage: big_capture OUT.pcap FRAMES [CAPTURE...]");
        std::process::exit(2);
    };
    let n: u64 = n.parse()?;
    let mut inputs: Vec<String> = args[2..].to_vec();
    if inputs.is_empty() {
        for name in ["lo-tcp-session.pcap", "lo-udp.pcap", "lo-icmp.pcap", "vlan-qinq.pcap", "arp-lan.pcap"] {
            inputs.push(format!("{}/captures/{name}", env!("CARGO_MANIFEST_DIR")));
        }
    }
    // Ethernet frames only, so one pcap link type fits them all.
    let mut frames: Vec<(u32, Vec<u8>)> = Vec::new();
    for path in &inputs {
        let mut cap = CaptureFile::open(path)?;
        while let Ok(Some(f)) = cap.next_frame() {
            if f.link == pktlab::source::LinkType::ETHERNET {
                frames.push((f.orig_len, f.data.to_vec()));
            }
        }
    }
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    w.write_all(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0])?;
    let mut buf = Vec::new();
    for i in 0..n {
        let (orig, data) = &frames[(i % frames.len() as u64) as usize];
        buf.clear();
        buf.extend_from_slice(data);
        // Shift both TCP/UDP ports of IPv4 frames by the round, so rounds are distinct
        // connections (checksums go stale; decoding does not care).
        let round = (i / frames.len() as u64) as u16;
        if buf.len() >= 38 && buf[12..14] == [0x08, 0x00] && matches!(buf[23], 6 | 17) {
            let ihl = usize::from(buf[14] & 0x0f) * 4;
            for off in [14 + ihl, 16 + ihl] {
                if off + 2 <= buf.len() {
                    let p = u16::from_be_bytes([buf[off], buf[off + 1]]);
                    let shifted = if p >= 1024 { 1024 + (p - 1024).wrapping_add(round) % 60000 } else { p };
                    buf[off..off + 2].copy_from_slice(&shifted.to_be_bytes());
                }
            }
        }
        let t = 1_700_000_000u64 * 1_000_000 + i * 10;
        w.write_all(&((t / 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&((t % 1_000_000) as u32).to_le_bytes())?;
        w.write_all(&(buf.len() as u32).to_le_bytes())?;
        w.write_all(&orig.to_le_bytes())?;
        w.write_all(&buf)?;
    }
    w.flush()?;
    Ok(())
}
