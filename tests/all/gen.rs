//! `pktlab gen`: every scenario in captures/gen.list regenerates byte for byte (so the
//! committed captures are what the code makes, and the same seed gives the same
//! bytes), decodes back with every checksum right and every TCP segment consistent,
//! and, where tshark is installed, tshark finds no bad checksum or malformed frame.

use std::path::PathBuf;
use std::process::Command;

use pktlab::analysis::conn::Tracker;
use pktlab::decode::{self, Checksum, Proto};
use pktlab::source::CaptureFile;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenarios() -> Vec<(String, Vec<String>)> {
    let list = std::fs::read_to_string(root().join("captures/gen.list")).unwrap();
    list.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut w = l.split_whitespace().map(String::from);
            let name = w.next().unwrap();
            (name, w.collect())
        })
        .collect()
}

#[test]
fn every_scenario_regenerates_the_committed_capture_byte_for_byte() {
    let dir = std::env::temp_dir().join(format!("pktlab-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let all = scenarios();
    assert!(all.len() >= 10);
    for (name, args) in all {
        let out = dir.join(&name);
        let o = Command::new(env!("CARGO_BIN_EXE_pktlab")).arg("gen").args(&args).arg("-w").arg(&out).output().unwrap();
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let made = std::fs::read(&out).unwrap();
        let committed = std::fs::read(root().join("captures").join(&name)).unwrap();
        assert!(made == committed, "{name}: differs from captures/{name} (run captures/gen.sh and review)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generated_frames_decode_with_good_checksums_and_consistent_sequence_numbers() {
    for (name, _) in scenarios() {
        let mut cap = CaptureFile::open(root().join("captures").join(&name).to_str().unwrap()).unwrap();
        let mut seq = Tracker::default();
        let mut n = 0;
        while let Some(f) = cap.next_frame().unwrap() {
            n += 1;
            let p = decode::decode(f.link, f.data, f.orig_len);
            if f.is_truncated() {
                // Cut by --snaplen on purpose: nothing past the cut to verify.
                continue;
            }
            assert!(p.malformed.is_none(), "{name} frame {n}: {:?}", p.malformed);
            if let Some(ip) = p.ipv4() {
                assert_eq!(ip.checksum_ok(), Some(true), "{name} frame {n}");
            }
            for l in p.layers().iter().filter(|l| matches!(l.proto, Proto::Tcp | Proto::Udp)) {
                assert_eq!(decode::transport_checksum(&p, l), Checksum::Good, "{name} frame {n}");
            }
            let ctx = seq.observe(n, f.ts.0, f.orig_len, &p).ctx;
            if let (Some(t), Some(rel)) = (p.tcp(), ctx.rel_seq) {
                // A handshake's SYN starts at relative 0; everything after it at 1 or more.
                if t.has(decode::tcp::SYN) {
                    assert_eq!(rel, 0, "{name} frame {n}");
                } else if !t.has(decode::tcp::RST) {
                    assert!(rel >= 1, "{name} frame {n}: seq {rel}");
                }
            }
        }
        assert!(n > 0, "{name} is empty");
    }
}

#[test]
fn the_sticky_stream_is_the_framed_messages_in_order() {
    let mut cap = CaptureFile::open(root().join("captures/gen-sticky-len32le.pcap").to_str().unwrap()).unwrap();
    let mut stream = Vec::new();
    while let Some(f) = cap.next_frame().unwrap() {
        let p = decode::decode(f.link, f.data, f.orig_len);
        if p.tcp().is_some_and(|t| t.dst_port() == Some(9000)) {
            stream.extend_from_slice(p.payload());
        }
    }
    // 8 messages of 700 bytes, each after a 4-byte little-endian length.
    let mut off = 0;
    for i in 0..8 {
        let len = u32::from_le_bytes(stream[off..off + 4].try_into().unwrap()) as usize;
        assert_eq!(len, 700);
        assert!(stream[off + 4..].starts_with(format!("msg{i}:").as_bytes()));
        off += 4 + len;
    }
    assert_eq!(off, stream.len());
}

#[test]
fn tshark_finds_no_bad_checksum_or_malformed_frame() {
    if !Command::new("sh").args(["-c", "command -v tshark"]).output().is_ok_and(|o| o.status.success()) {
        crate::common::skip("tshark is not installed");
        return;
    }
    for (name, _) in scenarios() {
        let o = Command::new("tshark")
            .args(["-r", root().join("captures").join(&name).to_str().unwrap()])
            .args(["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
            .args(["-Y", "tcp.checksum.status==0 || ip.checksum.status==0 || udp.checksum.status==0 || _ws.malformed"])
            .output()
            .unwrap();
        assert!(o.stdout.is_empty(), "{name}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

/// Every option is checked before the output file is touched: a mistake leaves the
/// file that was there as it was, not cut to an empty capture.
#[test]
fn a_bad_option_leaves_the_output_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.pcap");
    for args in [
        &["scan", "--ports", "30-20"][..],
        &["sticky", "--framing", "len:u8", "--sizes", "300"][..],
        &["sticky", "--sizes", ""][..],
        &["echo-tcp", "--link", "raw", "--vlan", "100"][..],
    ] {
        std::fs::write(&out, b"precious").unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_pktlab")).arg("gen").args(args).arg("-w").arg(&out).output().unwrap();
        assert!(!o.status.success(), "{args:?} was accepted");
        assert!(!o.stderr.is_empty(), "{args:?} failed without saying why");
        assert_eq!(std::fs::read(&out).unwrap(), b"precious", "{args:?} touched the file");
    }
}
