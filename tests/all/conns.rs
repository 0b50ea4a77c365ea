//! `conns` and `ladder` on the bundled captures: golden outputs for every capture,
//! JSON lines read back into typed rows, the lesson scenarios checked fact by fact,
//! and (where tshark is installed) the counts compared with `tshark -z conv,tcp`.
//! Refresh goldens with `PKTLAB_BLESS=1 cargo test --test all conns::`, read the diff, commit.

use std::process::Command;

use crate::common::{golden, pktlab, root};

use serde::Deserialize;

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

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Row {
    id: u32,
    proto: String,
    stream: u32,
    a_addr: String,
    a_port: u16,
    b_addr: String,
    b_port: u16,
    frames_ab: u64,
    bytes_ab: u64,
    frames_ba: u64,
    bytes_ba: u64,
    frames: u64,
    bytes: u64,
    payload_ab: u64,
    payload_ba: u64,
    first_frame: u64,
    last_frame: u64,
    rel_start: f64,
    duration: f64,
    client: String,
    #[serde(flatten)]
    tcp: Option<TcpRow>,
}

#[derive(Deserialize, Debug)]
struct TcpRow {
    conn_state: String,
    history: String,
    close: String,
    closed_by: Option<String>,
    rtt: Option<f64>,
    client_mss: Option<u16>,
    server_mss: Option<u16>,
    client_ws: Option<u8>,
    server_ws: Option<u8>,
    client_sack: bool,
    server_sack: bool,
    client_timestamps: bool,
    server_timestamps: bool,
    sack: bool,
    timestamps: bool,
    window_scaling: bool,
    retransmissions: u64,
    dup_acks: u64,
    lost_segments: u64,
    client_state: String,
    server_state: String,
    evicted: bool,
}

fn rows(capture: &str) -> Vec<Row> {
    let o = pktlab(&["conns", "--format", "jsonl", &format!("captures/{capture}")]);
    assert!(o.status.success(), "{capture}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{capture}: {e}: {l}")))
        .collect()
}

fn tcp(r: &Row) -> &TcpRow {
    r.tcp.as_ref().expect("a TCP row")
}

#[test]
fn conns_and_ladder_match_golden_files_for_every_capture() {
    for c in captures() {
        let path = format!("captures/{c}");
        let damaged = c.contains("cut-short") || c.contains("malformed");
        let o = pktlab(&["conns", &path]);
        assert!(damaged || o.status.success(), "{c}: {}", String::from_utf8_lossy(&o.stderr));
        golden(&format!("{c}.conns"), &String::from_utf8_lossy(&o.stdout));
        let o = pktlab(&["conns", "--format", "jsonl", &path]);
        golden(&format!("{c}.conns.jsonl"), &String::from_utf8_lossy(&o.stdout));
        let o = pktlab(&["ladder", "--width", "100", &path]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{c}: {err}");
        golden(&format!("{c}.ladder"), &String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn json_rows_add_up() {
    for c in captures() {
        let o = pktlab(&["conns", "--format", "jsonl", &format!("captures/{c}")]);
        for l in String::from_utf8_lossy(&o.stdout).lines() {
            let r: Row = serde_json::from_str(l).unwrap_or_else(|e| panic!("{c}: {e}: {l}"));
            assert_eq!(r.frames, r.frames_ab + r.frames_ba, "{c}");
            assert_eq!(r.bytes, r.bytes_ab + r.bytes_ba, "{c}");
            assert!(r.first_frame <= r.last_frame && r.duration >= 0.0 && r.rel_start >= 0.0, "{c}");
            assert!(r.client == "a" || r.client == "b");
            assert!(r.a_port > 0 || r.b_port > 0 || r.proto == "udp");
            assert_eq!(r.tcp.is_some(), r.proto == "tcp", "{c}: {l}");
            let _ = (r.id, r.stream, &r.a_addr, &r.b_addr, r.payload_ab, r.payload_ba);
            if let Some(t) = &r.tcp {
                assert!(!t.evicted);
                assert!(t.history.len() <= 40);
                let _ = (&t.client_state, &t.server_state, t.dup_acks, t.lost_segments, t.timestamps);
                let _ = (t.client_sack, t.server_sack, t.client_timestamps, t.server_timestamps, t.window_scaling);
                let _ = (t.client_ws, t.server_ws, t.server_mss, t.sack);
            }
        }
    }
}

/// A capture with more connections than `conns` keeps in memory (4,096 rows): the
/// rows that went through its temporary file come back complete and in order, and
/// `--proto` selects from them.
#[test]
fn many_connections_through_the_row_file() {
    let dir = std::env::temp_dir().join(format!("pktlab-rows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("mix.pcap");
    let cap = cap.to_str().unwrap();
    let o = pktlab(&["gen", "mix", "--frames", "300000", "-w", cap]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = pktlab(&["conns", "--format", "jsonl", cap]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<Row> =
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(rows.len() > 4096, "{} rows: too few to leave memory", rows.len());
    // Ordered by first frame; one row per connection, numbered without a gap.
    assert!(rows.windows(2).all(|w| w[0].first_frame < w[1].first_frame));
    let mut ids: Vec<u32> = rows.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    assert!(ids.iter().enumerate().all(|(i, id)| *id as usize == i));
    // Every TCP and UDP frame is in exactly one row.
    let o = pktlab(&["read", "-Y", "tcp or udp", cap]);
    let frames = String::from_utf8_lossy(&o.stdout).lines().count() as u64;
    assert_eq!(rows.iter().map(|r| r.frames).sum::<u64>(), frames);
    // The table and `--proto` read the same file.
    let o = pktlab(&["conns", cap]);
    let table = String::from_utf8_lossy(&o.stdout);
    let udp = rows.iter().filter(|r| r.proto == "udp").count();
    let footer = format!("{} TCP connections, {udp} UDP conversations", rows.len() - udp);
    assert!(table.contains(&footer), "{footer}");
    assert_eq!(table.lines().count(), rows.len() + 3);
    let o = pktlab(&["conns", "--proto", "udp", "--format", "jsonl", cap]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), udp);
    // Without a temporary directory to write to, rows and retired records stay in
    // memory: the same rows.
    let o = Command::new(env!("CARGO_BIN_EXE_pktlab"))
        .args(["conns", "--format", "jsonl", cap])
        .env("TMPDIR", dir.join("missing"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again: Vec<Row> =
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(format!("{again:?}"), format!("{rows:?}"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn normal_session() {
    let r = rows("gen-handshake.pcap");
    assert_eq!(r.len(), 1);
    let t = tcp(&r[0]);
    assert_eq!((t.conn_state.as_str(), t.history.as_str()), ("SF", "ShADadFf"));
    assert_eq!((t.close.as_str(), t.closed_by.as_deref()), ("four-way", Some("client")));
    assert_eq!((t.client_state.as_str(), t.server_state.as_str()), ("TIME-WAIT", "CLOSED"));
    assert_eq!(t.client_mss, Some(1460));
    assert!(t.rtt.unwrap() > 0.0);
}

#[test]
fn refused_connection() {
    let r = rows("gen-refused.pcap");
    let t = tcp(&r[0]);
    assert_eq!((t.conn_state.as_str(), t.close.as_str(), t.closed_by.as_deref()), ("REJ", "refused", Some("server")));
    let o = pktlab(&["ladder", "--width", "100", "captures/gen-refused.pcap"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("ECONNREFUSED"));
}

#[test]
fn rst_abort() {
    let r = rows("gen-handshake-rst.pcap");
    let t = tcp(&r[0]);
    assert_eq!((t.conn_state.as_str(), t.close.as_str()), ("RSTO", "reset"));
    assert!(t.history.ends_with('R'));
}

#[test]
fn half_close_then_data_then_close() {
    let r = rows("gen-handshake-half-close.pcap");
    let t = tcp(&r[0]);
    assert_eq!(t.conn_state, "SF");
    // The server kept sending after the client's FIN.
    assert!(r[0].payload_ba > 0);
}

#[test]
fn simultaneous_and_three_segment_close() {
    assert_eq!(tcp(&rows("gen-handshake-simultaneous.pcap")[0]).close, "simultaneous");
    assert_eq!(tcp(&rows("gen-handshake-three-way.pcap")[0]).close, "three-way");
    let o = pktlab(&["ladder", "--width", "100", "captures/gen-handshake-simultaneous.pcap"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("CLOSING"));
}

#[test]
fn retransmission_after_loss() {
    let t = rows("gen-loss.pcap");
    let t = tcp(&t[0]);
    assert!(t.retransmissions >= 1 && t.dup_acks >= 3, "{t:?}");
    assert!(t.history.contains('T'));
    let o = pktlab(&["read", "-Y", "tcp.analysis.fast_retransmission", "captures/gen-loss.pcap"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
}

#[test]
fn capture_starting_mid_connection() {
    let r = rows("tcp-midstream.pcap");
    assert_eq!(r.len(), 1);
    let t = tcp(&r[0]);
    assert!(!t.history.contains('S') && t.rtt.is_none(), "{t:?}");
    let o = pktlab(&["read", "captures/tcp-midstream.pcap"]);
    assert!(String::from_utf8_lossy(&o.stdout).lines().next().unwrap().contains("Seq=1 Ack=1"));
}

#[test]
fn isn_wrap() {
    let r = rows("gen-wrap.pcap");
    assert_eq!(r.len(), 1);
    assert_eq!(tcp(&r[0]).conn_state, "SF");
    assert_eq!(tcp(&r[0]).retransmissions, 0);
    let o = pktlab(&["read", "-Y", "tcp.analysis.flags", "captures/gen-wrap.pcap"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "", "crossing 2^32 raises no verdict");
}

#[test]
fn port_reuse_is_a_new_connection() {
    let r = rows("tcp-port-reuse.pcap");
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].stream, r[1].stream), (0, 1));
    let o = pktlab(&["read", "-Y", "tcp.analysis.reused_ports", "captures/tcp-port-reuse.pcap"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("[TCP Port numbers reused]"));
    let o = pktlab(&["ladder", "--conn", "1", "--width", "100", "captures/tcp-port-reuse.pcap"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("Connection 1 (tcp.stream 1)"));
}

#[test]
fn ladder_options() {
    let o = pktlab(&["ladder", "--ascii", "--width", "80", "captures/gen-handshake.pcap"]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.is_ascii() || !s.contains('─'), "--ascii draws no box characters");
    assert!(s.lines().filter(|l| l.contains("->|") || l.contains("|<-")).count() >= 8);
    let o = pktlab(&["ladder", "--absolute", "--width", "100", "captures/gen-handshake.pcap"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("seq=1703865447"));
    let folded = pktlab(&["ladder", "--width", "100", "captures/gen-sticky-len32le.pcap"]);
    let expanded = pktlab(&["ladder", "--expand", "--width", "100", "captures/gen-sticky-len32le.pcap"]);
    assert!(String::from_utf8_lossy(&folded.stdout).contains("folded"));
    assert!(!String::from_utf8_lossy(&expanded.stdout).contains("folded"));
    let o = pktlab(&["ladder", "--conn", "99", "captures/gen-handshake.pcap"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no connection 99"));
}

/// Our counts against tshark's own conversation table, on every bundled capture.
/// Runs `scripts/NAME PKTLAB CAPTURES...` (the tshark comparisons) from the project root.
fn compare_script(name: &str, opts: &[&str], caps: Vec<String>) -> std::process::Output {
    let mut args = vec![root().join("scripts").join(name).to_string_lossy().into_owned()];
    args.extend(opts.iter().map(|o| o.to_string()));
    args.push(env!("CARGO_BIN_EXE_pktlab").into());
    args.extend(caps);
    Command::new("python3").args(&args).current_dir(root()).output().unwrap()
}

#[test]
fn conns_agree_with_tshark() {
    let oracle = root().join("../shared/oracle/tshark_conv.sh");
    if Command::new("tshark").arg("--version").output().is_err() || !oracle.exists() {
        crate::common::skip("tshark or ../shared/oracle/tshark_conv.sh not available");
        return;
    }
    let caps: Vec<String> = captures().iter().map(|c| format!("captures/{c}")).collect();
    let o = compare_script("conv_compare.py", &[], caps);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains(" 0 differ"), "{out}");
}

/// The same for UDP, against `tshark -z conv,udp`: tunnels included (udp-tunnels.pcap).
#[test]
fn udp_conns_agree_with_tshark() {
    if Command::new("tshark").arg("--version").output().is_err() {
        crate::common::skip("tshark is not installed");
        return;
    }
    let caps: Vec<String> = captures().iter().map(|c| format!("captures/{c}")).collect();
    let o = compare_script("conv_compare.py", &["--proto", "udp"], caps);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    // Every capture has an exact reference (no SKIP), and some have UDP rows to compare.
    assert!(!out.contains("SKIP"), "{out}");
    assert!(out.contains(" 0 differ") && !out.contains("; 0 tshark rows"), "{out}");
}

/// A UDP tunnel is a conversation of its own, numbered before what it carries, and
/// counts every frame it carries (a ping too); what it carries keeps its own rows.
#[test]
fn udp_tunnels_are_conversations_of_their_own() {
    let r = rows("udp-tunnels.pcap");
    let got: Vec<(&str, u32, String, String, u64, u64)> = r
        .iter()
        .map(|r| {
            let a = format!("{}:{}", r.a_addr, r.a_port);
            (r.proto.as_str(), r.stream, a, format!("{}:{}", r.b_addr, r.b_port), r.frames_ab, r.frames_ba)
        })
        .collect();
    let want = [
        ("udp", 0, "192.168.36.50:2152", "192.168.36.60:2152", 3, 3),
        ("udp", 1, "172.16.0.2:40000", "172.16.9.9:7777", 1, 1),
        ("tcp", 0, "172.16.0.2:41000", "172.16.9.9:8000", 1, 1),
        ("udp", 2, "192.168.36.10:50000", "192.168.36.20:4789", 1, 0),
        ("udp", 3, "10.36.0.1:5000", "10.36.0.2:6000", 1, 1),
        ("udp", 4, "192.168.36.20:50001", "192.168.36.10:4789", 1, 0),
    ];
    let want: Vec<_> = want.iter().map(|&(p, s, a, b, f, g)| (p, s, a.to_string(), b.to_string(), f, g)).collect();
    assert_eq!(got, want);
    // Frames 1, 3 and 5 (83 + 94 + 82 bytes) up the GTP-U tunnel; its payload is the
    // GTP header with the inner packet.
    assert_eq!((r[0].bytes_ab, r[0].payload_ab), (259, 3 * 8 + 33 + 44 + 32));
    assert_eq!((r[1].bytes_ab, r[1].payload_ab), (83, 5));
}

/// `ladder --conn N` and `stream --conn N` pick the row `#` N of `conns`, a tunnel's
/// too, at every level of a tunnel in a tunnel: a ladder with an arrow for each of its
/// frames, the datagrams' payloads (a tunnel's: the encapsulation and the packet
/// inside) adding up to its payload bytes.
#[test]
fn selection_by_number_agrees_with_conns_for_tunnels() {
    for capture in ["udp-tunnels.pcap", "udp-tunnels-nested.pcap"] {
        let path = format!("captures/{capture}");
        let path = path.as_str();
        let rows = rows(capture);
        for r in &rows {
            ladder_has_every_frame(capture, r);
            if r.proto != "udp" {
                continue;
            }
            // Tunnels are A→B and stream-client→server alike here (their first frame is A's).
            let id = r.id.to_string();
            assert_eq!(followed(path, r.id), [r.payload_ab, r.payload_ba], "{capture} conn {id}");
        }
        // Past the last row: refused, counting every row.
        let n = rows.len().to_string();
        let o = pktlab(&["stream", path, "--conn", &n]);
        let want = format!("no connection {n} (it has {n}:");
        assert!(String::from_utf8_lossy(&o.stderr).contains(&want), "{capture}: {o:?}");
    }
}

/// `ladder --conn N` of row `r` of `capture`'s conns: drawn as in the ladder of every
/// connection, with one arrow per frame (per header: a frame in a tunnel of the same
/// conversation as what it carries counts twice, as in tshark's table), from the
/// conversation's first frame to its last.
fn ladder_has_every_frame(capture: &str, r: &Row) {
    let path = format!("captures/{capture}");
    let all = String::from_utf8(pktlab(&["ladder", "--expand", "--width", "100", &path]).stdout).unwrap();
    let id = r.id.to_string();
    let o = pktlab(&["ladder", "--expand", "--conn", &id, "--width", "100", &path]);
    assert!(o.status.success(), "{capture} conn {id}: {}", String::from_utf8_lossy(&o.stderr));
    let ladder = String::from_utf8(o.stdout).unwrap();
    let head = format!("Connection {id} ({}.stream {}): {} ", r.proto, r.stream, r.proto.to_uppercase());
    assert!(ladder.starts_with(&head), "{capture} conn {id}: {ladder}");
    assert!(all.contains(ladder.trim_end()), "{capture} conn {id}: {ladder}");
    let arrows: Vec<u64> = ladder
        .lines()
        .filter(|l| l.contains('▶') || l.contains('◀'))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(arrows.len() as u64, r.frames, "{capture} conn {id}: {ladder}");
    assert_eq!((arrows[0], *arrows.last().unwrap()), (r.first_frame, r.last_frame), "{capture} conn {id}");
}

/// The bytes `stream --conn N --as raw` gives from the client and from the server.
fn followed(path: &str, conn: u32) -> [u64; 2] {
    let id = conn.to_string();
    ["client", "server"].map(|dir| {
        let o = pktlab(&["stream", path, "--conn", &id, "--as", "raw", "--dir", dir]);
        assert!(o.status.success(), "{path} conn {id}: {}", String::from_utf8_lossy(&o.stderr));
        o.stdout.len() as u64
    })
}

/// Every conversation of udp-tunnel-fragments.pcap is drawn and followed: a tunnel
/// whose datagram was put together from fragments in the frame that completed it, and
/// what it carries from inside that datagram (segments.rs compares the bytes with
/// tshark's follow).
#[test]
fn fragmented_tunnel_datagrams_are_drawn_and_followed() {
    let capture = "udp-tunnel-fragments.pcap";
    let rows = rows(capture);
    assert_eq!(rows.len(), 5);
    for r in &rows {
        ladder_has_every_frame(capture, r);
    }
    let path = format!("captures/{capture}");
    let got: Vec<[u64; 2]> = rows.iter().map(|r| followed(&path, r.id)).collect();
    // The first fragment cut by the snaplen (frame 10) counts as its headers say, but
    // only its captured bytes are followed, as in tshark: 158 of the tunnel's 1,648,
    // 110 of the segment's 1,424.
    let cut = |payload: u64, counted: u64, captured: u64| payload - counted + captured;
    let want = vec![
        [cut(rows[0].payload_ab, 1648, 158), rows[0].payload_ba],
        [cut(rows[1].payload_ab, 1424, 110), rows[1].payload_ba],
        [rows[2].payload_ab, 0],
        [rows[3].payload_ab, 0],
        [rows[4].payload_ab, 0],
    ];
    assert_eq!(got, want);
    assert_eq!(got[1][0], 1600 + 110);
}

/// Rows as (proto, stream, A, B, frames A to B, frames B to A); an address and its port
/// joined by a colon, IPv6 ones too.
fn conv_rows(capture: &str) -> Vec<(String, u32, String, String, u64, u64)> {
    rows(capture)
        .iter()
        .map(|r| {
            let (a, b) = (format!("{}:{}", r.a_addr, r.a_port), format!("{}:{}", r.b_addr, r.b_port));
            (r.proto.clone(), r.stream, a, b, r.frames_ab, r.frames_ba)
        })
        .collect()
}

fn want(rows: &[(&str, u32, &str, &str, u64, u64)]) -> Vec<(String, u32, String, String, u64, u64)> {
    rows.iter().map(|&(p, s, a, b, f, g)| (p.to_string(), s, a.to_string(), b.to_string(), f, g)).collect()
}

/// Each level of a tunnel inside a tunnel is a conversation, outermost first, as in
/// tshark's table (udp_conns_agree_with_tshark compares the bytes too).
#[test]
fn nested_tunnels_count_every_level() {
    let got = conv_rows("udp-tunnels-nested.pcap");
    let expected = want(&[
        // Frames 1-5 and 8 go up GTP-U, 6-7 up and down it inside VXLAN over IPv6; frame
        // 8 carries it twice (GTP-U in VXLAN in GTP-U between the same two ends).
        ("udp", 0, "192.168.36.50:2152", "192.168.36.60:2152", 6, 3),
        // VXLAN inside GTP-U, from each end's own source port: 1, 3, 5, 8 and 2, 4.
        ("udp", 1, "10.36.1.1:50000", "10.36.1.2:4789", 4, 0),
        ("udp", 2, "172.16.0.2:40000", "172.16.9.9:7777", 2, 2),
        ("udp", 3, "10.36.1.2:50001", "10.36.1.1:4789", 2, 0),
        ("tcp", 0, "172.16.0.2:41000", "172.16.9.9:8000", 1, 1),
        ("udp", 4, "2001:db8:36::1:50002", "2001:db8:36::2:4789", 1, 0),
        ("udp", 5, "2001:db8:36::2:50002", "2001:db8:36::1:4789", 1, 0),
    ]);
    assert_eq!(got, expected);
    let r = rows("udp-tunnels-nested.pcap");
    // Each tunnel's payload is its own datagram's: VXLAN over IPv6 carries its header
    // (8), Ethernet (14), IPv4 (20) and UDP (8) to GTP-U (8), which carries the UE's
    // IPv4 and UDP headers (28) and "over v6".
    assert_eq!(r[5].payload_ab, 8 + 14 + 20 + 8 + 8 + 28 + 7);
}

/// A tunnel whose outer IPv4 datagram is fragmented counts, with what it carries, in
/// the frame that completes the datagram; a first fragment cut short counts as it
/// stands; a datagram that never completes counts nowhere.
#[test]
fn fragmented_tunnel_datagrams_count_where_reassembled() {
    let got = conv_rows("udp-tunnel-fragments.pcap");
    let expected = want(&[
        // Up: the SYN, the ACK, the segment (frame 5), the UDP datagram (7), the ping
        // (9) and the cut first fragment (10); not frame 11, whose rest never came.
        ("udp", 0, "192.168.36.50:2152", "192.168.36.60:2152", 6, 1),
        ("tcp", 0, "172.16.0.2:41000", "172.16.9.9:8000", 4, 1),
        ("udp", 1, "172.16.0.2:40000", "172.16.9.9:7777", 1, 0),
        ("udp", 2, "192.168.36.10:50000", "192.168.36.20:4789", 1, 0),
        ("udp", 3, "10.36.0.1:5000", "10.36.0.2:6000", 1, 0),
    ]);
    assert_eq!(got, expected);
    let r = rows("udp-tunnel-fragments.pcap");
    // 1,600 bytes reassembled, and 1,424 of the cut segment (tshark's tcp.len: the
    // fragment ends there).
    assert_eq!((r[1].payload_ab, r[1].last_frame), (1600 + 1424, 10));
    // Counted with the length of the frame that completed each datagram.
    assert_eq!((r[2].bytes_ab, r[2].first_frame), (1514, 7));
    assert_eq!(r[0].bytes_ab, 94 + 90 + 210 + 1514 + 398 + 1514);
}

/// IPv6 fragments that are not reassembled count nowhere, first fragments too (unlike
/// IPv4's cut first fragments): tshark shows them as data.
#[test]
fn ipv6_fragments_not_reassembled_are_data() {
    let got = conv_rows("ipv6-unreassembled.pcap");
    let expected = want(&[
        ("tcp", 0, "2001:db8::30:40001", "2001:db8::40:8080", 2, 1),
        ("udp", 0, "2001:db8::40:5001", "2001:db8::30:5000", 1, 0),
    ]);
    assert_eq!(got, expected);
    let r = rows("ipv6-unreassembled.pcap");
    assert_eq!((r[0].last_frame, r[0].payload_ab + r[0].payload_ba, r[1].first_frame), (3, 0, 10));
}

/// The analysis verdicts in the info column against tshark's, frame by frame, on every
/// bundled capture (`scripts/flags_compare.py`; run it on `../shared/corpus` for the
/// wider picture, see README).
#[test]
fn analysis_verdicts_agree_with_tshark() {
    if Command::new("tshark").arg("--version").output().is_err() {
        crate::common::skip("tshark is not installed");
        return;
    }
    // tshark leaves a frame whose IP length overruns the capture out of its sequence
    // analysis, so the next identical ACK is no duplicate for it; pktlab analyses it.
    const KNOWN: &[&str] = &["malformed-headers.pcap"];
    let caps: Vec<String> =
        captures().iter().filter(|c| !KNOWN.contains(&c.as_str())).map(|c| format!("captures/{c}")).collect();
    let o = compare_script("flags_compare.py", &[], caps);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
}

/// A fragmented segment counts once, in the frame that completes its datagram (with
/// that frame's length), as in tshark's conversation table: reordered, duplicated and
/// overlapping fragments included; a datagram missing its last fragment not at all.
#[test]
fn fragmented_segments_count_where_reassembled() {
    let r = rows("tcp-fragments.pcap");
    assert_eq!(r.len(), 3, "{r:?}");
    let v4 = &r[0];
    assert_eq!((v4.a_addr.as_str(), v4.a_port, v4.b_port), ("192.168.36.30", 40001, 8080));
    // SYN, ACK, the reassembled segment (frame 7, 102 bytes), FIN, last ACK.
    assert_eq!((v4.frames_ab, v4.bytes_ab, v4.frames_ba, v4.bytes_ba), (5, 58 + 54 + 102 + 54 + 54, 3, 166));
    assert_eq!(v4.payload_ab, 3000, "only the completed segment's payload");
    assert_eq!(tcp(v4).lost_segments, 1, "the segment missing its last fragment is a gap");
    let v6 = &r[1];
    assert_eq!(
        (v6.a_addr.as_str(), v6.frames_ab, v6.bytes_ab, v6.payload_ab),
        ("2001:db8::30", 3, 78 + 74 + 1510, 2000)
    );
    assert_eq!(v6.last_frame, 19);
    let udp = &r[2];
    assert_eq!(
        (udp.proto.as_str(), udp.frames_ab, udp.bytes_ab, udp.payload_ab, udp.first_frame),
        ("udp", 1, 422, 1800, 21)
    );
    // The UDP datagram of ip-fragments.pcap: its sender is A, in frame 3 (82 bytes).
    let r = rows("ip-fragments.pcap");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].a_port, r[0].frames_ab, r[0].bytes_ab, r[0].first_frame), (40000, 1, 82, 3));
    assert_eq!((r[0].frames_ba, r[0].bytes_ba), (1, 44));
}
