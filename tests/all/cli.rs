//! Integration tests: the real `pktlab` binary on the captures in `captures/`,
//! compared with golden files in `tests/golden/`. Refresh goldens with
//! `PKTLAB_BLESS=1 cargo test --test all cli::`, then read the diff before committing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

use crate::common::{golden, pktlab, root};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pktlab")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every capture the project ships (recorded or generated), by file name.
fn captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("captures"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    v
}

/// Captures that are damaged on purpose: a non-zero exit is their point
/// (link-types.pcapng holds one Ethernet header cut short among its link types).
fn damaged(name: &str) -> bool {
    name.contains("cut-short") || name.contains("malformed") || name == "link-types.pcapng"
}

#[test]
fn list_tree_and_json_match_golden_files_for_every_capture() {
    let caps = captures();
    assert!(caps.len() >= 4, "expected the bundled captures, found {caps:?}");
    for c in caps {
        let path = format!("captures/{c}");
        for (suffix, args) in [
            ("list", vec!["read", path.as_str()]),
            ("tree", vec!["read", "-V", "-x", path.as_str()]),
            ("jsonl", vec!["read", "--format", "jsonl", path.as_str()]),
        ] {
            let o = pktlab(&args);
            if !damaged(&c) {
                assert!(o.status.success(), "{c} {suffix}: exit {:?}, stderr: {}", o.status, stderr(&o));
            }
            assert!(!stderr(&o).contains("panicked"), "{c}: {}", stderr(&o));
            golden(&format!("{c}.{suffix}"), &stdout(&o));
        }
    }
}

/// Every bundled capture decodes as tshark decodes it: no field differs, and none that
/// tshark shows is missing (scripts/oracle_compare.py over ../shared/oracle). Among
/// them link-types.pcapng, one interface per link type pktlab reads.
#[test]
fn every_bundled_capture_decodes_as_tshark_does() {
    let has = |t: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("tshark") || !has("python3") || !root().join("../shared/oracle/tshark_fields.sh").exists() {
        crate::common::skip("tshark, python3 or ../shared/oracle is missing (.ci/run installs tshark)");
        return;
    }
    let files: Vec<String> = captures().iter().map(|c| format!("captures/{c}")).collect();
    assert!(files.iter().any(|f| f.ends_with("link-types.pcapng")));
    let o = std::process::Command::new("python3")
        .arg(root().join("scripts/oracle_compare.py"))
        .args(["--pktlab", env!("CARGO_BIN_EXE_pktlab")])
        .args(&files)
        .current_dir(root())
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "pktlab and tshark disagree:\n{out}\n{}", stderr(&o));
    let total = out.lines().last().unwrap_or("");
    assert!(
        total.contains(&format!("total: {} files", files.len()))
            && total.contains(" 0 mismatching fields, 0 fields pktlab does not decode, 0 files with problems"),
        "{out}"
    );
}

/// The protocol and info columns of a `read` or `tshark -r` listing, one string a
/// frame: what follows the destination, up to the length, then what follows the
/// length; spaces collapsed.
fn proto_and_info(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let dst = w.iter().position(|x| *x == "→").map_or(0, |i| i + 2);
            let len = dst + w[dst..].iter().position(|x| x.chars().all(|c| c.is_ascii_digit())).unwrap_or(0);
            format!("{} | {}", w[dst..len].join(" "), w[len + 1..].join(" "))
        })
        .collect()
}

/// tshark's listing of a capture, or `None` (the test skips) when tshark is missing.
fn tshark_list(cap: &str) -> Option<String> {
    let o = std::process::Command::new("tshark").args(["-r", cap]).current_dir(root()).output();
    let Some(o) = o.ok().filter(|o| o.status.success()) else {
        crate::common::skip("tshark is not installed (.ci/run installs it)");
        return None;
    };
    Some(stdout(&o))
}

/// A fragment that does not complete its datagram is listed as tshark (reassembling)
/// lists it, hosts included: for a tunnel's first fragment, the tunnel's endpoints, not
/// the hosts of the packet inside, and no "malformed" for that packet being cut where
/// the fragment ends. pktlab adds "[more fragments follow]"; completing frames differ
/// by design (the per-frame view does not reassemble), so they are left out.
#[test]
fn fragments_are_listed_with_the_fragmented_headers_hosts_as_tshark_lists_them() {
    // Frame number and time dropped, and what pktlab adds: the "more" flag and the
    // snaplen note (which tshark's list leaves to the tree).
    fn norm(l: &str) -> String {
        let l = l.replace(" [more fragments follow]", "");
        let l = l.split(" [Packet size limited").next().unwrap_or("");
        l.split_whitespace().skip(2).collect::<Vec<_>>().join(" ")
    }
    let is_fragment = |l: &&str| l.contains("Fragmented IP") || l.contains("IPv6 fragment");
    let mut compared = 0;
    for cap in ["captures/udp-tunnel-fragments.pcap", "captures/ip-fragments.pcap", "captures/ipv6-unreassembled.pcap"]
    {
        let Some(tshark) = tshark_list(cap) else { return };
        let numbers: Vec<&str> =
            tshark.lines().filter(is_fragment).filter_map(|l| l.split_whitespace().next()).collect();
        let want: Vec<String> = tshark.lines().filter(is_fragment).map(norm).collect();
        let ours = stdout(&pktlab(&["read", cap]));
        let got: Vec<String> = ours
            .lines()
            .filter(|l| l.split_whitespace().next().is_some_and(|n| numbers.contains(&n)))
            .map(norm)
            .collect();
        assert_eq!(got, want, "{cap}");
        compared += got.len();
    }
    // 5 tunnel fragments (4 first ones), 3 in ip-fragments.pcap, 6 IPv6 ones.
    assert_eq!(compared, 14);
}

/// `pktlab read cap`, once its protocol and info columns are checked to be tshark's;
/// `None` (the test skips) when tshark is missing.
fn listed_as_tshark(cap: &str) -> Option<String> {
    let tshark = tshark_list(cap)?;
    let ours = stdout(&pktlab(&["read", cap]));
    assert_eq!(proto_and_info(&ours), proto_and_info(&tshark), "{cap}");
    Some(ours)
}

/// `frame.number` and `fields` of each frame of `cap` where tshark has the first field.
fn tshark_fields(cap: &str, fields: &[&str]) -> Vec<String> {
    let mut args = vec!["-r", cap, "-T", "fields", "-e", "frame.number"];
    for f in fields {
        args.extend(["-e", f]);
    }
    let o = std::process::Command::new("tshark").args(args).current_dir(root()).output().unwrap();
    let has = |l: &&str| l.split('\t').nth(1).is_some_and(|f| !f.is_empty());
    stdout(&o).lines().filter(has).map(str::to_string).collect()
}

/// `row` of each frame of `pktlab read --format jsonl cap` it gives one for.
fn json_rows(cap: &str, row: impl Fn(&serde_json::Value) -> Option<String>) -> Vec<String> {
    let json = stdout(&pktlab(&["read", "--format", "jsonl", cap]));
    json.lines().filter_map(|l| row(&serde_json::from_str(l).unwrap())).collect()
}

/// ARP spoofing (`captures/arp-spoof.pcap`): every ARP binding an address to another
/// MAC than its first is flagged as tshark flags it, in the list (where tshark notes
/// what the last address it checked found) and in the JSON (each detection, with the
/// earlier frame and the seconds since).
#[test]
fn arp_spoofing_is_flagged_as_tshark_flags_it() {
    let cap = "captures/arp-spoof.pcap";
    let Some(ours) = listed_as_tshark(cap) else { return };
    assert!(ours.lines().nth(6).is_some_and(|l| l.ends_with("(duplicate use of 192.168.36.10 detected!)")), "{ours}");
    let want = tshark_fields(cap, &["arp.duplicate-address-frame", "arp.seconds-since-duplicate-address-frame"]);
    let got = json_rows(cap, |v| {
        let a = &v["arp"];
        let f = a["duplicate-address-frame"].as_u64()?;
        Some(format!("{}\t{f}\t{}", v["frame"]["number"], a["seconds-since-duplicate-address-frame"]))
    });
    // Frames 3 and 4 (the spoofer's replies) are flagged in the tree but not the list.
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got, want);
}

/// Headers whose length fields lie are named in tshark's words (an IPv4 header length
/// below 20, a TCP one below 20), besides pktlab's own [Malformed: ...] note.
#[test]
fn lying_header_lengths_are_listed_in_tsharks_words() {
    let cap = "captures/malformed-headers.pcap";
    let Some(tshark) = tshark_list(cap) else { return };
    let ours = stdout(&pktlab(&["read", cap]));
    let ours: String = ours.lines().map(|l| l.split(" [Malformed").next().unwrap_or("").to_string() + "\n").collect();
    let (want, got) = (proto_and_info(&tshark), proto_and_info(&ours));
    assert_eq!(got[..2], want[..2]);
    assert!(got[0].contains("Bogus IP header length (16, must be at least 20)"), "{got:?}");
}

/// An echo reply names its request as tshark names it ("(request in N)"), and the
/// JSON carries tshark's `icmp.resp_to` and the response time.
#[test]
fn echo_replies_name_their_requests_as_tshark_does() {
    let cap = "captures/lo-icmp.pcap";
    if listed_as_tshark(cap).is_none() {
        return;
    }
    let want = tshark_fields(cap, &["icmp.resp_to"]);
    let got = json_rows(cap, |v| {
        let to = v["icmp"]["resp_to"].as_u64()?;
        assert!(v["icmp"]["resptime"].as_f64().is_some_and(|ms| ms > 0.0), "{v}");
        Some(format!("{}\t{to}", v["frame"]["number"]))
    });
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got, want);
}

/// Teredo (`captures/teredo.pcap`): the IPv6 inside UDP port 3544 is decoded after the
/// authentication and origin indication headers, and listed as tshark lists it (a
/// direct connectivity test is Teredo's, a bubble has no next header).
#[test]
fn teredo_is_listed_as_tshark_lists_it() {
    let cap = "captures/teredo.pcap";
    if listed_as_tshark(cap).is_none() {
        return;
    }
    let json = stdout(&pktlab(&["read", "--format", "jsonl", cap]));
    let second: serde_json::Value = serde_json::from_str(json.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["teredo"]["orig.port"], 52513);
    assert_eq!(second["teredo"]["orig.addr"], "198.51.100.7");
}

/// ARP's reverse, dynamic-reverse and inverse forms, its NAK, an unknown opcode and
/// addresses that are not MACs or IPv4 (`captures/arp-forms.pcap`) are listed as tshark
/// lists them: protocol column and info, frame by frame.
#[test]
fn arp_forms_are_listed_as_tshark_lists_them() {
    let cap = "captures/arp-forms.pcap";
    let Some(tshark) = tshark_list(cap) else {
        return;
    };
    let ours = pktlab(&["read", cap]);
    let (want, got) = (proto_and_info(&tshark), proto_and_info(&stdout(&ours)));
    assert_eq!(got.len(), 14);
    assert_eq!(got, want);
    assert!(got.iter().any(|l| l == "Inverse ARP | Who is 02:00:00:00:00:02? Tell 02:00:00:00:00:01"), "{got:?}");
}

/// ATM ARP (RFC 2225; `captures/atm-arp.pcap`: requests, replies, InATMARP, a NAK, a
/// MARS request; NSAP and E.164 numbers, with and without subaddresses; IPv4, IPv6 and
/// empty protocol addresses) is listed as tshark lists it, frame by frame. Cut short
/// (`captures/atm-arp-cut-short.pcap`), it is ARP in the protocol column, as in tshark,
/// and a malformed frame that does not stop the run.
#[test]
fn atm_arp_is_listed_as_tshark_lists_it() {
    let cap = "captures/atm-arp.pcap";
    let Some(tshark) = tshark_list(cap) else {
        return;
    };
    let ours = pktlab(&["read", cap]);
    assert!(ours.status.success(), "{}", stderr(&ours));
    let (want, got) = (proto_and_info(&tshark), proto_and_info(&stdout(&ours)));
    assert_eq!(got.len(), 13);
    assert_eq!(got, want);
    let nsap = ("39840f80113800000000000000020000ab1234ff", "47000580ffe1000000f21a1d540020481a2b3c00");
    assert_eq!(got[5], format!("Inverse ATMARP | Who is {}? Tell {}", nsap.0, nsap.1));
    assert_eq!(got[4], "ATMARP | 192.168.36.20 is at 15557654321,47000580ffe1000000f21a1d540020481a2b3c99");

    let cut = "captures/atm-arp-cut-short.pcap";
    let Some(tshark) = tshark_list(cut) else {
        return;
    };
    let ours = pktlab(&["read", cut]);
    assert_eq!(ours.status.code(), Some(2), "{}", stderr(&ours));
    assert!(stderr(&ours).contains("2 of 2 frames are malformed"), "{}", stderr(&ours));
    let (want, got) = (proto_and_info(&tshark), proto_and_info(&stdout(&ours)));
    assert_eq!(want, ["ARP | [Malformed Packet]", "ARP | [Malformed Packet]"]);
    assert_eq!(
        got,
        [
            "ARP | ATMARP (truncated) [Malformed: arp header truncated at byte 14: needed 40 bytes, 30 captured]",
            "ARP | ATMARP (truncated) [Malformed: arp header truncated at byte 14: needed 12 bytes, 10 captured]",
        ]
    );
}

/// ATM ARP's fields in JSON carry tshark's `arp.*` names and values: the type/length
/// bytes, the numbers (E.164 as text, NSAPs in hex and in parts), the subaddresses and
/// the protocol addresses; and the display filter reads its IPv4 addresses.
#[test]
fn atm_arp_fields_in_json_and_filters() {
    let o = pktlab(&["read", "--format", "jsonl", "captures/atm-arp.pcap"]);
    let frames: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let arp = |n: usize| frames[n - 1]["arp"].clone();
    // Frame 5: E.164 reply with a sender subaddress.
    let a = arp(5);
    assert_eq!((a["hw.type"].as_u64(), a["opcode"].as_u64()), (Some(19), Some(2)));
    assert_eq!(
        (a["src.htype"].as_u64(), a["src.hlen"].as_u64(), a["src.slen"].as_u64()),
        (Some(1), Some(11), Some(20))
    );
    assert_eq!(a["src.atm_num_e164"], "15557654321");
    assert_eq!(a["src.atm_subaddr"], "47000580ffe1000000f21a1d540020481a2b3c99");
    assert_eq!(
        (a["src.proto_ipv4"].as_str(), a["dst.proto_ipv4"].as_str()),
        (Some("192.168.36.20"), Some("192.168.36.10"))
    );
    assert_eq!(a["dst.atm_num_e164"], "15551234567");
    assert!(a.get("dst.atm_subaddr").is_none() && a.get("src.hw_mac").is_none(), "{a}");
    // Frame 9: an E.164-format NSAP and one of an unknown AFI.
    let a = arp(9);
    assert_eq!(a["src.atm_afi"], "0x45");
    assert_eq!(a["src.atm_e.164_isdn"], "000015551234567f");
    assert_eq!(
        (a["src.atm_high_order_dsp"].as_str(), a["src.atm_selector"].as_str()),
        (Some("00000000"), Some("0x01"))
    );
    assert_eq!((a["dst.atm_afi"].as_str(), a["dst.atm_afi.unknown"].as_str()), (Some("0x11"), Some("Unknown AFI")));
    assert_eq!(a["dst.atm_rest_of_address"], "0102030405060708090a0b0c0d0e0f1011121314");
    // Frame 12: IPv6 protocol addresses are bytes.
    assert_eq!(arp(12)["src.proto"], "20010db8000000000000000000000001");
    let o = pktlab(&["read", "-Y", "arp.dst.proto_ipv4 == 192.168.36.10 and arp.opcode == 9", "captures/atm-arp.pcap"]);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
}

#[test]
fn stats_match_golden_files() {
    for c in captures() {
        let o = pktlab(&["stats", "--format", "jsonl", &format!("captures/{c}")]);
        // File size and name are in the JSON; both are stable for committed captures.
        golden(&format!("{c}.stats.jsonl"), &stdout(&o));
    }
    let o = pktlab(&["stats", "captures/lo-tcp-session.pcap"]);
    assert!(o.status.success());
    golden("lo-tcp-session.pcap.stats.txt", &stdout(&o));
}

// ---- JSON parsed back into typed structs -------------------------------------

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FrameInfo {
    number: u64,
    time: String,
    time_epoch: f64,
    time_relative: f64,
    time_delta: f64,
    len: u32,
    cap_len: u32,
    truncated: bool,
    link_type: u32,
    link_name: String,
    interface_id: u32,
    protocols: String,
}

#[derive(Deserialize, Debug)]
struct Eth {
    src: String,
    dst: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Debug)]
struct Ip {
    version: u8,
    hdr_len: u8,
    // Absent when the header is malformed (IHL < 5): only what tshark shows then.
    src: Option<String>,
    dst: Option<String>,
    ttl: Option<u8>,
    proto: Option<u8>,
    len: Option<u16>,
    #[serde(rename = "checksum.status")]
    checksum_status: Option<String>,
}

#[derive(Deserialize, Debug)]
struct Tcp {
    srcport: u16,
    dstport: u16,
    seq: u32,
    seq_raw: u32,
    ack: u32,
    ack_raw: u32,
    len: u32,
    flags: String,
    #[serde(rename = "flags.syn")]
    syn: u8,
    #[serde(rename = "flags.ack")]
    ack_flag: u8,
    #[serde(rename = "checksum.status")]
    checksum_status: String,
}

#[derive(Deserialize, Debug)]
struct Udp {
    srcport: u16,
    dstport: u16,
    length: u16,
}

#[derive(Deserialize, Debug)]
struct Malformed {
    layer: String,
    offset: usize,
    reason: String,
    message: String,
}

#[derive(Deserialize, Debug)]
struct JsonFrame {
    frame: FrameInfo,
    eth: Option<Eth>,
    ip: Option<Ip>,
    ipv6: Option<serde_json::Value>,
    tcp: Option<Tcp>,
    udp: Option<Udp>,
    malformed: Option<Malformed>,
}

fn jsonl(path: &str) -> Vec<JsonFrame> {
    let o = pktlab(&["read", "--format", "jsonl", path]);
    stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn json_of_a_tcp_session_has_the_handshake_and_teardown() {
    let frames = jsonl("captures/lo-tcp-session.pcap");
    assert_eq!(frames.len(), 10);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.frame.number, i as u64 + 1);
        assert!(f.frame.cap_len <= f.frame.len && !f.frame.truncated);
        assert_eq!((f.frame.link_type, f.frame.link_name.as_str(), f.frame.interface_id), (1, "EN10MB", 0));
        assert!(f.frame.time.ends_with('Z') && f.frame.time_epoch > 1.7e9 && f.frame.time_delta >= 0.0);
        assert!(f.frame.time_relative >= f.frame.time_delta);
        assert!(f.frame.protocols.starts_with("eth:ip:tcp"));
        let eth = f.eth.as_ref().unwrap();
        assert_eq!(
            (eth.src.as_str(), eth.dst.as_str(), eth.kind.as_deref()),
            ("00:00:00:00:00:00", "00:00:00:00:00:00", Some("0x0800"))
        );
        let ip = f.ip.as_ref().unwrap();
        assert_eq!((ip.version, ip.hdr_len), (4, 20));
        assert_eq!(
            (ip.src.as_deref(), ip.dst.as_deref(), ip.ttl, ip.proto),
            (Some("127.0.0.1"), Some("127.0.0.1"), Some(64), Some(6))
        );
        assert_eq!(ip.checksum_status.as_deref(), Some("good"));
        assert_eq!(u32::from(ip.len.unwrap()) + 14, f.frame.len);
        let t = f.tcp.as_ref().unwrap();
        // Loopback checksums are left to the (absent) NIC: partial, flagged as offload.
        assert!(t.checksum_status == "good" || t.checksum_status.contains("offload"), "{}", t.checksum_status);
        assert!(f.udp.is_none() && f.malformed.is_none() && f.ipv6.is_none());
    }
    let t: Vec<&Tcp> = frames.iter().map(|f| f.tcp.as_ref().unwrap()).collect();
    // SYN: relative seq 0; SYN-ACK acks ISN + 1; the third segment completes the handshake.
    assert_eq!((t[0].syn, t[0].ack_flag, t[0].seq, t[0].flags.as_str()), (1, 0, 0, "0x002"));
    assert_eq!((t[1].syn, t[1].ack_flag, t[1].seq, t[1].ack, t[1].flags.as_str()), (1, 1, 0, 1, "0x012"));
    assert_eq!(t[1].ack_raw, t[0].seq_raw.wrapping_add(1));
    assert_eq!((t[2].seq, t[2].ack, t[2].len), (1, 1, 0));
    assert_eq!((t[3].len, t[3].srcport, t[3].dstport), (14, t[0].srcport, 40001));
    // FIN from the client, FIN from the server, last ACK: each FIN consumes one number.
    assert_eq!((t[7].flags.as_str(), t[8].flags.as_str(), t[9].flags.as_str()), ("0x011", "0x011", "0x010"));
    assert_eq!((t[9].seq, t[9].ack), (16, 16));
}

#[test]
fn json_array_format_is_one_valid_document() {
    let o = pktlab(&["read", "--format", "json", "captures/lo-udp.pcap"]);
    let v: Vec<JsonFrame> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.len(), 2);
    let u = v[0].udp.as_ref().unwrap();
    assert_eq!((u.dstport, u.length), (40002, 14));
    assert_eq!(v[1].udp.as_ref().unwrap().srcport, 40002);
}

#[test]
fn absolute_seq_shows_raw_numbers() {
    let o = pktlab(&["read", "--absolute-seq", "--format", "jsonl", "captures/lo-tcp-session.pcap"]);
    let f: JsonFrame = serde_json::from_str(stdout(&o).lines().nth(1).unwrap()).unwrap();
    let t = f.tcp.unwrap();
    assert_eq!((t.seq, t.ack), (t.seq_raw, t.ack_raw));
    let o = pktlab(&["read", "--absolute-seq", "captures/lo-tcp-session.pcap"]);
    assert!(stdout(&o).lines().nth(1).unwrap().contains(&format!("Seq={}", t.seq_raw)));
}

#[test]
fn time_formats() {
    let run = |t: &str| stdout(&pktlab(&["read", "--time", t, "-c", "2", "captures/lo-tcp-session.pcap"]));
    let rel = run("relative");
    assert!(rel.lines().next().unwrap().contains(" 0.000000 "), "{rel}");
    let abs = run("absolute");
    assert!(abs.lines().next().unwrap().contains("2026-11-22 "), "{abs}");
    let epoch = run("epoch");
    assert!(epoch.lines().next().unwrap().contains(" 1795"), "{epoch}");
    let delta = run("delta");
    assert!(delta.lines().nth(1).unwrap().contains("0.000021"), "{delta}");
}

#[test]
fn show_selects_frames_and_reports_missing_ones() {
    let o = pktlab(&["show", "captures/lo-tcp-session.pcap", "--frame", "2,9"]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.starts_with("Frame 2: 74 bytes on wire"));
    assert!(s.contains("\nFrame 9: 66 bytes on wire"));
    assert!(!s.contains("Frame 3:"));
    let o = pktlab(&["show", "captures/lo-tcp-session.pcap", "--frame", "99"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no frame 99 (the file has 10 frames)"), "{}", stderr(&o));
}

#[test]
fn stdin_and_several_files() {
    let mut child =
        Command::new(bin()).args(["read", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let bytes = std::fs::read(root().join("captures/lo-udp.pcap")).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o), stdout(&pktlab(&["read", "captures/lo-udp.pcap"])));
    let o = pktlab(&["read", "captures/lo-udp.pcap", "captures/lo-icmp.pcap"]);
    let s = stdout(&o);
    assert!(s.starts_with("==> captures/lo-udp.pcap <==\n"));
    assert!(s.contains("\n==> captures/lo-icmp.pcap <==\n    1 "));
}

/// A mapped file and the same bytes on a pipe take the two-core list in its two
/// modes (frames lent from the mapping, frames copied into batches): same lines. A
/// selective filter on a file has it read plainly; on a pipe, it must not be looked
/// at first (that would eat the bytes the read needs): stdin, and a named pipe.
#[test]
fn a_pipe_lists_exactly_what_the_file_lists() {
    let path = std::env::temp_dir().join(format!("pktlab-pipe-{}.pcap", std::process::id()));
    let path_s = path.to_str().unwrap();
    assert!(pktlab(&["gen", "mix", "--frames", "12000", "-w", path_s]).status.success());
    let bytes = std::fs::read(&path).unwrap();
    for extra in [&[][..], &["-Y", "tcp.flags.syn == 1"][..], &["-c", "5000"][..]] {
        let mut args = vec!["read", "-"];
        args.extend_from_slice(extra);
        let mut child = Command::new(bin()).args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        let feed = std::thread::spawn({
            let bytes = bytes.clone();
            move || {
                let _ = input.write_all(&bytes);
            }
        });
        let o = child.wait_with_output().unwrap();
        feed.join().unwrap();
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        args[1] = path_s;
        let from_file = stdout(&pktlab(&args));
        assert!(from_file.lines().count() > 100, "{extra:?}");
        assert_eq!(stdout(&o), from_file, "{extra:?}");
        let fifo = std::env::temp_dir().join(format!("pktlab-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let feed = std::thread::spawn({
            let (bytes, fifo) = (bytes.clone(), fifo.clone());
            move || {
                let _ = std::fs::OpenOptions::new().write(true).open(&fifo).and_then(|mut f| f.write_all(&bytes));
            }
        });
        args[1] = fifo.to_str().unwrap();
        // Read twice, a named pipe would block the second open for good: fail, not hang.
        let child = Command::new(bin()).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait_with_output()));
        let Ok(o) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let _ = std::fs::remove_file(&fifo);
            panic!("{extra:?}: reading a named pipe did not finish in 60 s");
        };
        let o = o.unwrap();
        feed.join().unwrap();
        let _ = std::fs::remove_file(&fifo);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), from_file, "{extra:?} from a named pipe");
    }
    let _ = std::fs::remove_file(&path);
}

/// JSON lines are formatted on two cores, in batches split between the threads; the
/// JSON array on one, frame after frame. Over enough frames for both threads to
/// format many batches, they must give the same objects in the same order.
#[test]
fn json_lines_on_two_cores_match_the_one_core_json_array() {
    let path = std::env::temp_dir().join(format!("pktlab-jsonl-{}.pcap", std::process::id()));
    let path_s = path.to_str().unwrap();
    assert!(pktlab(&["gen", "mix", "--frames", "20000", "-w", path_s]).status.success());
    for extra in [&[][..], &["-Y", "tcp.len > 0 or udp"][..], &["-c", "9000"][..]] {
        jsonl_equals_json_array(path_s, extra);
    }
    let _ = std::fs::remove_file(&path);
}

/// Runs `read` with `extra` as JSON lines (the two-core pipeline) and as a JSON array
/// (one thread), checks that they give the same objects, more than 1,000, and returns
/// the lines.
fn jsonl_equals_json_array(path: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let run = |format: &str| {
        let mut args = vec!["read", "--format", format, path];
        args.extend_from_slice(extra);
        let o = pktlab(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        o.stdout
    };
    let array: Vec<serde_json::Value> = serde_json::from_slice(&run("json")).unwrap();
    let lines: Vec<serde_json::Value> = run("jsonl")
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(array.len() > 1000, "{extra:?}: only {} frames", array.len());
    assert_eq!(array.len(), lines.len(), "{extra:?}");
    for (a, l) in array.iter().zip(&lines) {
        assert_eq!(a, l, "{extra:?}");
    }
    lines
}

/// A filter that names no tracked field is decided on the reader's thread while the
/// writer tracks connections (a FIN's verdicts depend on every segment before it). The
/// tracker moves back when the filter shows most frames (here frames 40,001-65,999:
/// at the end of the window of 32,768 frames they fill) and forth again when it shows
/// few. Every number the tracker gives must be what the one-core JSON array (tracker
/// and filter on one thread) gives, whether the file is mapped or read plainly.
#[test]
fn tracking_on_the_writer_thread_and_back_gives_the_same_numbers() {
    let path = std::env::temp_dir().join(format!("pktlab-split-{}.pcap", std::process::id()));
    let path_s = path.to_str().unwrap();
    assert!(pktlab(&["gen", "mix", "--frames", "110000", "-w", path_s]).status.success());
    let filter = "tcp.flags.fin == 1 || frame.number > 40000 && frame.number < 66000";
    let lines = jsonl_equals_json_array(path_s, &["-Y", filter]);
    // Frames past the second switch (at frame 98,305) are there, with their stream
    // numbers.
    let last = &lines[lines.len() - 1];
    assert!(last["frame"]["number"].as_u64().unwrap() > 98_305, "{last}");
    assert!(last["tcp"]["stream"].is_u64(), "{last}");
    jsonl_equals_json_array(path_s, &["-Y", filter, "-c", "20000"]);
    // A filter selective from its first frames has the file read plainly; one that
    // shows all of them has it mapped, and the writer tracks only from frame 65,537.
    jsonl_equals_json_array(path_s, &["-Y", "frame.number < 33000 || tcp.flags.fin == 1"]);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn count_stops_early() {
    let o = pktlab(&["read", "-c", "3", "captures/lo-tcp-session.pcap"]);
    assert_eq!(stdout(&o).lines().count(), 3);
}

// ---- bad input is normal input ----------------------------------------------

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pktlab-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn read_err(path: &Path) -> (Option<i32>, String, String) {
    let o = pktlab(&["read", path.to_str().unwrap()]);
    (o.status.code(), stdout(&o), stderr(&o))
}

#[test]
fn missing_empty_directory_and_bad_magic_files_fail_clearly() {
    let (code, _, err) = read_err(Path::new("/nonexistent/x.pcap"));
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/x.pcap: at byte offset 0: cannot open"), "{err}");
    let (code, _, err) = read_err(&temp("empty.pcap", b""));
    assert_eq!(code, Some(2));
    assert!(err.contains("file is empty (0 bytes)"), "{err}");
    let (code, _, err) = read_err(&std::env::temp_dir());
    assert_eq!(code, Some(2));
    assert!(err.contains("is a directory"), "{err}");
    let (code, _, err) = read_err(&temp("text.pcap", b"hello world, not a capture"));
    assert_eq!(code, Some(2));
    assert!(err.contains("not a pcap or pcapng file (magic bytes [68, 65, 6c, 6c])"), "{err}");
    let (code, _, err) = read_err(&temp("tiny.pcap", &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]));
    assert_eq!(code, Some(2));
    assert!(err.contains("file header cut short: needed 24 bytes, 6 available"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn a_file_cut_in_a_record_keeps_every_frame_before_the_damage() {
    let full = std::fs::read(root().join("captures/lo-tcp-session.pcap")).unwrap();
    // Cut 10 bytes into the last record's data.
    let cut = temp("cut.pcap", &full[..full.len() - 60]);
    let (code, out, err) = read_err(&cut);
    assert_eq!(code, Some(2));
    assert_eq!(out.lines().count(), 9, "{out}");
    assert!(err.contains("cut.pcap: frame 10 at byte offset 806: file cut short in the middle of a record: needed 82 bytes, 22 available"), "{err}");
}

#[test]
fn a_malformed_frame_is_shown_counted_and_the_run_goes_on() {
    let mut b = std::fs::read(root().join("captures/lo-udp.pcap")).unwrap();
    // First record's data starts at 24 + 16; the IPv4 header at +14: IHL 4 (16 bytes).
    b[24 + 16 + 14] = 0x44;
    let path = temp("ihl.pcap", &b);
    let o = pktlab(&["read", "--format", "jsonl", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("1 of 2 frames are malformed"), "{}", stderr(&o));
    let frames: Vec<JsonFrame> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(frames.len(), 2);
    let m = frames[0].malformed.as_ref().unwrap();
    assert_eq!((m.layer.as_str(), m.offset, m.reason.as_str()), ("ip", 14, "bad-header-length"));
    assert_eq!(m.message, "ip header length 16 at byte 14 is below the minimum 20");
    let ip = frames[0].ip.as_ref().unwrap();
    assert_eq!((ip.version, ip.hdr_len, ip.src.as_ref()), (4, 16, None));
    assert!(frames[1].malformed.is_none() && frames[1].udp.is_some());
    let o = pktlab(&["read", path.to_str().unwrap()]);
    assert!(stdout(&o)
        .lines()
        .next()
        .unwrap()
        .ends_with("[Malformed: ip header length 16 at byte 14 is below the minimum 20]"));
}

#[test]
fn an_absurd_record_length_is_refused_without_allocating_it() {
    let mut b = std::fs::read(root().join("captures/lo-udp.pcap")).unwrap();
    // incl_len of the first record (offset 24 + 8) = 0xffffff00.
    b[32..36].copy_from_slice(&0xffff_ff00u32.to_le_bytes());
    let (code, out, err) = read_err(&temp("absurd.pcap", &b));
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(err.contains("frame 1 at byte offset 24: record claims 4294967040 captured bytes"), "{err}");
}

#[test]
fn a_broken_pipe_ends_quietly() {
    let mut child = Command::new(bin())
        .args(["read", "captures/lo-tcp6.pcap", "captures/lo-tcp6.pcap", "captures/lo-tcp6.pcap"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn help_lists_the_commands() {
    let o = pktlab(&["--help"]);
    let s = stdout(&o);
    for c in ["read", "show", "stats"] {
        assert!(s.contains(c), "{s}");
    }
}

#[test]
fn display_filter_selects_frames_and_keeps_numbering() {
    let o = pktlab(&["read", "-Y", "tcp.flags.syn == 1 or tcp.flags.fin == 1", "captures/vlan-qinq.pcap"]);
    assert!(o.status.success());
    let out = stdout(&o);
    golden("filter-syn-fin.list", &out);
    let nums: Vec<&str> = out.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(nums, ["1", "2", "6", "7"]);
    let o = pktlab(&["read", "--format", "jsonl", "-Y", "vlan.id == 100", "captures/vlan-qinq.pcap"]);
    let frames: Vec<JsonFrame> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].frame.number, 9);
    assert_eq!(frames[0].udp.as_ref().unwrap().dstport, 40353);
    let o = pktlab(&["stats", "--format", "jsonl", "-Y", "arp", "captures/sll2-cooked.pcap"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["frames"], 1);
}

/// Frame numbers `read -Y` selects, checked against tshark's where it is installed.
fn selected(filter: &str, capture: &str) -> Vec<u64> {
    let o = pktlab(&["read", "-Y", filter, capture]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    stdout(&o).lines().map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect()
}

#[test]
fn filters_see_first_fragments_and_icmp_quotes_as_tshark_does() {
    // tshark with defragmentation off (its oracle settings) for fragments; its default
    // for ICMP quotes.
    let cases: [(&str, &str, &[u64], &[&str]); 4] = [
        ("udp.port == 33434", "captures/icmp-errors.pcap", &[1, 2], &[]),
        ("tcp.dstport == 8000", "captures/icmp-errors.pcap", &[3, 4], &[]),
        ("udp.srcport == 40000", "captures/ip-fragments.pcap", &[1], &["-o", "ip.defragment:FALSE"]),
        ("icmp.type == 8", "captures/ip-fragments.pcap", &[5], &["-o", "ip.defragment:FALSE"]),
    ];
    for (filter, capture, want, prefs) in cases {
        assert_eq!(selected(filter, capture), want, "{filter} on {capture}");
        let Ok(t) = std::process::Command::new("tshark")
            .args(["-n", "-r", capture, "-Y", filter])
            .args(prefs)
            .args(["-T", "fields", "-e", "frame.number"])
            .current_dir(root())
            .output()
        else {
            continue;
        };
        let theirs: Vec<u64> =
            String::from_utf8_lossy(&t.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(theirs, want, "tshark: {filter} on {capture}");
    }
}

#[test]
fn a_bad_filter_is_refused_with_its_column() {
    let o = pktlab(&["read", "-Y", "ip.addr == 10.0.0.0/33", "captures/lo-udp.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(
        stderr(&o),
        "pktlab: filter error at column 12: 'ip.addr' takes a prefix length from 0 to 32: '/33' is not one\n  ip.addr == 10.0.0.0/33\n             ^\n"
    );
}
