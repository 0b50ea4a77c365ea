//! `stream` and `segments` on the bundled captures: golden outputs (the sticky-packet
//! captures recorded between namespaces, one of them behind real loss, the generated
//! ones, UDP, loss, a capture starting mid-connection), the raw bytes framed back into
//! the messages that were sent, JSON lines read back into typed records that add up, bad requests refused
//! clearly, and (where tshark is installed) the raw bytes of every direction compared
//! with `tshark -z follow,tcp,raw`.
//! Refresh goldens with `PKTLAB_BLESS=1 cargo test --test all segments::`, read the diff, commit.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{golden, pktlab, root};

use serde::Deserialize;

fn ok(args: &[&str]) -> Vec<u8> {
    let o = pktlab(args);
    assert!(o.status.success(), "pktlab {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// Captures with a connection worth following, and the framing their bytes use.
const CASES: &[(&str, &str)] = &[
    ("ns-sticky-i32.pcap", "len:i32le"),
    ("ns-sticky-jsonhdr.pcap", "jsonhdr"),
    ("ns-sticky-loss.pcap", "len:i32le"),
    ("gen-sticky-len32le.pcap", "len32le"),
    ("gen-sticky-line.pcap", "line"),
    ("gen-sticky-json-header.pcap", "json-header"),
    ("lo-tcp-session.pcap", "line"),
    ("gen-echo-tcp.pcap", "line"),
    ("lo-udp.pcap", "none"),
    ("gen-echo-udp.pcap", "none"),
    ("gen-loss.pcap", "none"),
    ("gen-wrap.pcap", "none"),
    ("tcp-midstream.pcap", "none"),
    ("tcp-capture-drops.pcap", "len:i32le"),
    ("tcp-fixed-drops.pcap", "fixed:24"),
    ("tcp-fragments.pcap", "none"),
    // Conversation 0 is a GTP-U tunnel: its datagrams are the encapsulation and the
    // packets inside.
    ("udp-tunnels.pcap", "none"),
    // Tunnels whose outer datagrams are fragmented: each followed, and the TCP
    // connection inside, from the datagrams put back together.
    ("udp-tunnel-fragments.pcap", "none"),
];

#[test]
fn stream_and_segments_match_golden_files() {
    for (file, framing) in CASES {
        let path = format!("captures/{file}");
        let text = ok(&["stream", &path]);
        golden(&format!("{file}.stream"), &String::from_utf8(text).unwrap());
        let seg = ok(&["segments", &path, "--framing", framing, "--width", "100"]);
        golden(&format!("{file}.segments"), &String::from_utf8(seg).unwrap());
        let jsonl = ok(&["segments", &path, "--framing", framing, "--format", "jsonl"]);
        golden(&format!("{file}.segments.jsonl"), &String::from_utf8(jsonl).unwrap());
    }
    let hex = ok(&["stream", "captures/ns-sticky-jsonhdr.pcap", "--as", "hex"]);
    golden("ns-sticky-jsonhdr.pcap.stream-hex", &String::from_utf8(hex).unwrap());
    // A VXLAN tunnel's one datagram: the VXLAN header, the Ethernet frame inside.
    let hex = ok(&["stream", "captures/udp-tunnels.pcap", "--conn", "3", "--as", "hex"]);
    golden("udp-tunnels.pcap.stream-hex", &String::from_utf8(hex).unwrap());
    let ascii = ok(&["segments", "captures/ns-sticky-i32.pcap", "--framing", "len:i32le", "--ascii", "--width", "80"]);
    golden("ns-sticky-i32.pcap.segments-ascii", &String::from_utf8(ascii).unwrap());
}

/// The client's raw bytes, framed as the course's receiver does (`struct.unpack('i')`),
/// give back exactly the messages the recording script sent.
#[test]
fn raw_bytes_frame_back_into_the_messages_sent() {
    let raw = ok(&["stream", "captures/ns-sticky-i32.pcap", "--as", "raw", "--dir", "client"]);
    let mut bodies = Vec::new();
    let mut rest = &raw[..];
    while rest.len() >= 4 {
        let n = i32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        bodies.push(rest[4..4 + n].to_vec());
        rest = &rest[4 + n..];
    }
    assert!(rest.is_empty());
    assert_eq!(bodies.len(), 61);
    for (i, b) in bodies[..60].iter().enumerate() {
        assert_eq!(b, format!("msg {i}: hello").as_bytes());
    }
    assert_eq!(bodies[60], vec![b'B'; 3000]);
    // The server sent nothing.
    assert!(ok(&["stream", "captures/ns-sticky-i32.pcap", "--as", "raw", "--dir", "server"]).is_empty());
}

// Every field is listed so that `deny_unknown_fields` checks the schema; not all are read.
#[allow(dead_code)]
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Record {
    Conn {
        conn: u32,
        proto: String,
        stream: u32,
        client: String,
        server: String,
        framing: String,
    },
    Segment {
        dir: String,
        number: u64,
        frame: u64,
        ts_ns: u64,
        start: u64,
        end: u64,
        len: u64,
        psh: bool,
    },
    Message {
        dir: String,
        number: u64,
        start: u64,
        end: u64,
        header: [u64; 2],
        body: [u64; 2],
        len: u64,
        preview: String,
        json: Option<String>,
    },
    Note {
        dir: String,
        kind: String,
        text: String,
        // `resumed` notes only.
        offset: Option<u64>,
        message: Option<u64>,
        skipped: Option<[u64; 2]>,
    },
    Totals {
        dir: String,
        messages: u64,
        segments: u64,
        coalesced: u64,
        split: u64,
        header_split: u64,
        incomplete: bool,
        incomplete_messages: u64,
        skipped_messages: u64,
        bytes: u64,
        outside: u64,
        missing: u64,
        retransmitted: u64,
        conflicts: u64,
    },
}

fn records(file: &str, framing: &str) -> Vec<Record> {
    let out = ok(&["segments", &format!("captures/{file}"), "--framing", framing, "--format", "jsonl"]);
    String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Per direction, the records add up: segments tile the bytes, messages follow each
/// other, totals count what the lines show.
#[test]
fn json_records_add_up() {
    for (file, framing) in CASES {
        let recs = records(file, framing);
        let Some(Record::Conn { conn: 0, proto, .. }) = recs.first() else { panic!("{file}: no conn record first") };
        for dir in ["client_to_server", "server_to_client"] {
            let (mut bytes, mut segs, mut msgs, mut next_msg, mut coalesced, mut split) = (0, 0, 0, None, 0, 0);
            let mut totals = None;
            // After a gap, framing may resume further on: the next message starts there.
            let resumed: Vec<u64> = recs
                .iter()
                .filter_map(|r| match r {
                    Record::Note { dir: d, offset, .. } if d == dir => *offset,
                    _ => None,
                })
                .collect();
            for r in &recs {
                match r {
                    Record::Segment { dir: d, len, start, end, .. } if d == dir => {
                        assert_eq!(end - start, *len);
                        bytes += len;
                        segs += 1;
                    }
                    Record::Message { dir: d, start, end, header, body, len, .. } if d == dir => {
                        assert!(start <= &header[0] && header[1] <= body[0] && body[1] <= *end);
                        assert_eq!(body[1] - body[0], *len);
                        if let Some(n) = next_msg {
                            assert!(*start == n || resumed.contains(start), "{file}: messages follow each other");
                        }
                        next_msg = Some(*end);
                        msgs += 1;
                    }
                    Record::Note { dir: d, kind, .. } if d == dir => match kind.as_str() {
                        "coalesced" => coalesced += 1,
                        "split" => split += 1,
                        _ => {}
                    },
                    Record::Totals { dir: d, .. } if d == dir => totals = Some(r),
                    _ => {}
                }
            }
            let Some(Record::Totals { messages, segments, bytes: b, coalesced: c, split: s, .. }) = totals else {
                panic!("{file} {dir}: no totals")
            };
            assert_eq!((*segments, *b, *messages, *c, *s), (segs, bytes, msgs, coalesced, split), "{file} {dir}");
            if proto == "udp" {
                assert_eq!(segs, msgs, "{file}: a datagram is a message");
            }
        }
    }
}

/// Segments the capture missed for good (`captures/craft.py`): each message framed is
/// the one sent, numbered as sent; framing resumes after a gap inside a body of known
/// length, and after any gap in fixed-size records, naming the records it swallowed;
/// a gap over a header stops it.
#[test]
fn framing_resumes_after_segments_the_capture_missed() {
    let bodies = |recs: &[Record]| -> Vec<(u64, String)> {
        recs.iter()
            .filter_map(|r| match r {
                Record::Message { number, preview, dir, .. } if dir == "client_to_server" => {
                    Some((*number, preview.clone()))
                }
                _ => None,
            })
            .collect()
    };
    let totals = |recs: &[Record]| -> (u64, u64, u64) {
        recs.iter()
            .find_map(|r| match r {
                Record::Totals { dir, messages, incomplete_messages, skipped_messages, .. }
                    if dir == "client_to_server" =>
                {
                    Some((*messages, *incomplete_messages, *skipped_messages))
                }
                _ => None,
            })
            .unwrap()
    };
    let resumed = |recs: &[Record]| -> Vec<(u64, u64, [u64; 2])> {
        recs.iter()
            .filter_map(|r| match r {
                Record::Note { kind, offset: Some(o), message: Some(m), skipped: Some(s), .. } if kind == "resumed" => {
                    Some((*o, *m, *s))
                }
                _ => None,
            })
            .collect()
    };
    // Messages of 150, 40, 260, 30, 90 bytes of 'A', 'B', ... at 0, 154, 198, 462, 496.
    let recs = records("tcp-capture-drops.pcap", "len:i32le");
    let got = bodies(&recs);
    let numbers: Vec<u64> = got.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [1, 2, 4]);
    for (n, preview) in &got {
        let letter = char::from(b'A' + *n as u8 - 1);
        assert!(preview.chars().all(|c| c == letter), "message {n}: {preview}");
    }
    assert_eq!(resumed(&recs), [(462, 4, [4, 4])]);
    assert_eq!(totals(&recs), (3, 2, 0));
    let notes: Vec<&str> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Note { kind, text, .. } if kind == "framing_lost" || kind == "incomplete" => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        notes,
        [
            "message 3 at offset 198 is incomplete: 102 bytes of 264",
            "message 5 at offset 496 is incomplete: 4 bytes of 94",
            "framing lost at stream offset 500 in message 5: 100 bytes missing from the stream",
        ]
    );
    // 20 records of 24 bytes; the capture lacks offsets 200-299.
    let recs = records("tcp-fixed-drops.pcap", "fixed:24");
    let got = bodies(&recs);
    let want: Vec<u64> = (1..=8).chain(14..=20).collect();
    assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), want);
    for (n, preview) in &got {
        assert_eq!(preview, &format!("record {n:02} of twenty....\n"));
    }
    assert_eq!(resumed(&recs), [(312, 14, [10, 14])]);
    assert_eq!(totals(&recs), (15, 1, 4));
}

/// What the lesson is about, said in the recorded captures themselves.
#[test]
fn the_recorded_captures_show_coalescing_splitting_and_split_headers() {
    let recs = records("ns-sticky-i32.pcap", "len:i32le");
    let totals: Vec<&Record> = recs.iter().filter(|r| matches!(r, Record::Totals { .. })).collect();
    let Record::Totals { messages, coalesced, split, missing, .. } = totals[0] else { unreachable!() };
    assert_eq!(*messages, 61);
    assert!(*coalesced >= 2, "a slow reader makes the sender coalesce: {coalesced}");
    assert!(*split >= 1, "the 3,000-byte message crosses the MSS");
    assert_eq!(*missing, 0);
    let recs = records("ns-sticky-jsonhdr.pcap", "jsonhdr");
    let notes: Vec<&str> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Note { kind, text, .. } if kind == "header_split" => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(notes.iter().any(|t| t.contains("header of message 2 is itself split")), "{notes:?}");
    let json: Vec<&str> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Message { json: Some(j), dir, .. } if dir == "server_to_client" => Some(j.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(json.len(), 3);
    assert!(json[1].contains("\"total_size\": 1800"));
}

/// The capture recorded behind real loss (`captures/record-sticky.sh`: an nft rule in a
/// router drops data segments, the kernel sends them again, merged at new boundaries)
/// frames back into exactly the messages the client sent (`ns-sticky-loss.sent`, one
/// body per line): bytes, boundaries and count. And the capture does show the loss:
/// retransmissions, segments that came after the ones behind them, and split notes
/// that name the frames which carried each message.
#[test]
fn the_lossy_capture_frames_exactly_the_messages_sent() {
    let file = "ns-sticky-loss.pcap";
    let sent = std::fs::read_to_string(root().join("captures/ns-sticky-loss.sent")).unwrap();
    let sent: Vec<&str> = sent.lines().collect();
    let raw = ok(&["stream", "captures/ns-sticky-loss.pcap", "--as", "raw", "--dir", "client"]);
    let recs = records(file, "len:i32le");
    let client = |d: &str| d == "client_to_server";
    // (number, start, end, header, body) of each client message.
    type Framed = (u64, u64, u64, [u64; 2], [u64; 2]);
    let msgs: Vec<Framed> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Message { dir, number, start, end, header, body, .. } if client(dir) => {
                Some((*number, *start, *end, *header, *body))
            }
            _ => None,
        })
        .collect();
    assert_eq!(msgs.len(), sent.len(), "one message framed per message sent");
    let mut at = 0;
    for ((number, start, end, header, body), want) in msgs.iter().zip(&sent) {
        assert_eq!(*start, at, "message {number} starts where the one before ended");
        let len = i32::from_le_bytes(raw[header[0] as usize..header[1] as usize].try_into().unwrap());
        assert_eq!(len as usize, want.len(), "message {number}: its length field");
        assert_eq!(&raw[body[0] as usize..body[1] as usize], want.as_bytes(), "message {number}: its body");
        assert_eq!(body[1], *end);
        at = *end;
    }
    assert_eq!(at, raw.len() as u64, "the messages cover the stream");
    let totals = recs.iter().find(|r| matches!(r, Record::Totals { dir, .. } if client(dir))).unwrap();
    let Record::Totals { messages, missing, outside, incomplete, .. } = totals else { unreachable!() };
    assert_eq!((*messages, *missing, *outside, *incomplete), (sent.len() as u64, 0, 0, false));

    // The loss, as the connection table counts it (tshark's numbers)...
    let conns = ok(&["conns", "captures/ns-sticky-loss.pcap", "--format", "jsonl"]);
    let row: serde_json::Value = serde_json::from_slice(conns.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert!(row["retransmissions"].as_u64().unwrap() >= 5, "{row}");
    assert!(row["lost_segments"].as_u64().unwrap() >= 3, "{row}");
    let rt = ok(&["read", "captures/ns-sticky-loss.pcap", "-Y", "tcp.analysis.retransmission"]);
    assert!(rt.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() >= 5);
    // ...and as the messages saw it: segments in stream order whose frames go back, and
    // split notes naming the first and the last frame that carried the message.
    let segs: Vec<(u64, u64, u64)> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Segment { dir, frame, start, end, .. } if client(dir) => Some((*frame, *start, *end)),
            _ => None,
        })
        .collect();
    assert!(segs.windows(2).filter(|w| w[1].0 < w[0].0).count() >= 3, "segments that came late: {segs:?}");
    // The text view marks exactly those that came after bytes behind them.
    let late: Vec<usize> =
        (0..segs.len()).filter(|&k| segs[k + 1..].iter().any(|s| s.0 < segs[k].0)).map(|k| k + 1).collect();
    let text = String::from_utf8(ok(&[
        "segments",
        "captures/ns-sticky-loss.pcap",
        "--framing",
        "len:i32le",
        "--dir",
        "client",
        "--expand",
    ]))
    .unwrap();
    let marked: Vec<usize> = text
        .lines()
        .filter(|l| l.ends_with("(late: fills a gap)"))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(marked, late);
    assert!(late.len() >= 5, "{late:?}");
    let notes: Vec<&str> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Note { dir, kind, text, .. } if client(dir) && kind == "split" => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let mut reordered = 0;
    for (number, start, end, ..) in &msgs {
        let frames: Vec<u64> = segs.iter().filter(|s| s.1 < *end && *start < s.2).map(|s| s.0).collect();
        if frames.len() < 2 {
            continue;
        }
        let (lo, hi) = (frames.iter().min().unwrap(), frames.iter().max().unwrap());
        let note = notes.iter().find(|t| t.starts_with(&format!("message {number} ("))).unwrap();
        assert!(note.ends_with(&format!("(frames {lo}-{hi}): split")), "{note} ({frames:?})");
        reordered += usize::from(frames.windows(2).any(|w| w[1] < w[0]));
    }
    assert!(reordered >= 2, "messages carried out of order: {reordered}");
}

#[test]
fn bad_requests_are_refused_clearly() {
    let o = pktlab(&["stream", "captures/lo-tcp-session.pcap", "--as", "raw"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("add --dir client or --dir server"));
    let o = pktlab(&["segments", "captures/lo-tcp-session.pcap", "--conn", "7"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no connection 7 (it has 1"), "{o:?}");
    let o = pktlab(&["segments", "captures/lo-tcp-session.pcap", "--framing", "len:u24"]);
    assert!(!o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
    // A capture cut inside a record: what was read is shown, the damage reported, exit non-zero.
    let o = pktlab(&["stream", "captures/cut-short-record.pcap"]);
    assert!(!o.status.success());
}

/// The raw bytes of each direction of every TCP stream of `file` against tshark's
/// follow; returns (streams compared, differences as text).
fn compare_with_tshark_follow(file: &str) -> (usize, Vec<String>) {
    struct Row {
        id: u32,
        first_frame: u64,
        /// tshark's tcp.stream of the connection's first frame.
        stream: u32,
    }
    // A damaged file exits non-zero after the rows it could read: compare those.
    let conns = pktlab(&["conns", file, "--format", "jsonl"]).stdout;
    // tshark's own stream numbers (they can skip numbers pktlab's do not, e.g. where a
    // dissector opens a conversation of its own), by frame.
    let fields = Command::new("tshark")
        .args(["-n", "-r", file, "-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream"])
        .current_dir(root())
        .output()
        .expect("run tshark");
    let by_frame: std::collections::HashMap<u64, u32> = String::from_utf8_lossy(&fields.stdout)
        .lines()
        .filter_map(|l| {
            let (f, s) = l.split_once('\t')?;
            Some((f.parse().ok()?, s.split(',').next()?.parse().ok()?))
        })
        .collect();
    let rows: Vec<Row> = String::from_utf8(conns)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["proto"] == "tcp")
        .filter_map(|v| {
            let first_frame = v["first_frame"].as_u64().unwrap();
            Some(Row { id: v["id"].as_u64().unwrap() as u32, first_frame, stream: *by_frame.get(&first_frame)? })
        })
        .take(20)
        .collect();
    if rows.is_empty() {
        return (0, vec![]);
    }
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-q", "-r", file]);
    for r in &rows {
        cmd.args(["-z", &format!("follow,tcp,raw,{}", r.stream)]);
    }
    let out = cmd.current_dir(root()).output().expect("run tshark");
    // Each datagram or segment of a direction on a line of its own: one stream's bytes
    // per direction.
    let blocks: std::collections::HashMap<u32, [Vec<u8>; 2]> = follow_blocks(&out.stdout, "tcp")
        .into_iter()
        .map(|(n, lines)| {
            let mut b: [Vec<u8>; 2] = Default::default();
            for (side, bytes) in lines {
                b[side].extend_from_slice(&bytes);
            }
            (n, b)
        })
        .collect();
    let mut diffs = Vec::new();
    let mut compared = 0;
    for r in &rows {
        let Some(tshark) = blocks.get(&r.stream) else {
            diffs.push(format!(
                "{file} tcp.stream {} (frame {}): tshark printed no follow block",
                r.stream, r.first_frame
            ));
            continue;
        };
        compared += 1;
        // tshark writes "[N bytes missing in capture file]\0" into the bytes where a gap
        // is; pktlab's raw output skips the gap (and says so on stderr).
        let tshark = tshark.clone().map(|b| strip_missing_markers(&b));
        let id = r.id.to_string();
        // Exit status aside: with bytes missing, raw still writes what there is.
        // Each direction's bytes, and whether pktlab found bytes missing in it.
        let ours = |d: &str| {
            let o = pktlab(&["stream", file, "--conn", &id, "--as", "raw", "--dir", d]);
            (o.stdout, String::from_utf8_lossy(&o.stderr).contains("missing"))
        };
        let (c, s) = (ours("client"), ours("server"));
        // Where a gap is never filled (nor acknowledged), tshark's follow stops at it and
        // drops what came after; pktlab reports the gap and goes on. Then tshark's bytes
        // are where pktlab's begin.
        let agrees = |ours: &(Vec<u8>, bool), theirs: &Vec<u8>| {
            ours.0 == *theirs
                || (ours.1 && !theirs.is_empty() && ours.0.len() > theirs.len() && ours.0.starts_with(theirs))
        };
        if !((agrees(&c, &tshark[0]) && agrees(&s, &tshark[1])) || (agrees(&c, &tshark[1]) && agrees(&s, &tshark[0]))) {
            diffs.push(format!(
                "{file} tcp.stream {}: pktlab client {} B, server {} B; tshark node 0 {} B, node 1 {} B",
                r.stream,
                c.0.len(),
                s.0.len(),
                tshark[0].len(),
                tshark[1].len()
            ));
        }
    }
    (compared, diffs)
}

/// The blocks of tshark's `-z follow,PROTO,raw,N` output, by stream: each line's node
/// (0 flush left, 1 indented) and bytes. tshark prints the blocks in its own order,
/// each keyed by its filter line.
/// One block of tshark's follow output: each line's node and bytes.
type FollowLines = Vec<(usize, Vec<u8>)>;

fn follow_blocks(stdout: &[u8], proto: &str) -> std::collections::HashMap<u32, FollowLines> {
    let text = String::from_utf8_lossy(stdout);
    let filter = format!("Filter: {proto}.stream eq ");
    let mut blocks = std::collections::HashMap::new();
    let mut cur: Option<(Option<u32>, FollowLines)> = None;
    for line in text.lines() {
        if line.starts_with("=====") {
            match cur.take() {
                Some((Some(n), b)) => {
                    blocks.insert(n, b);
                }
                Some((None, _)) => {}
                None => cur = Some((None, vec![])),
            }
            continue;
        }
        let Some((stream, b)) = cur.as_mut() else { continue };
        if let Some(n) = line.strip_prefix(filter.as_str()) {
            *stream = n.trim().parse().ok();
            continue;
        }
        if line.starts_with("Follow:") || line.starts_with("Node ") {
            continue;
        }
        let (side, hex) = match line.strip_prefix('\t') {
            Some(h) => (1, h),
            None => (0, line),
        };
        let bytes: Vec<u8> =
            (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
        b.push((side, bytes));
    }
    blocks
}

fn strip_missing_markers(b: &[u8]) -> Vec<u8> {
    const TAIL: &[u8] = b" bytes missing in capture file]\0";
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'[' {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let at = i + 1 + digits;
            if digits > 0 && b[at..].starts_with(TAIL) {
                i = at + TAIL.len();
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[test]
fn raw_streams_agree_with_tshark_follow() {
    if Command::new("tshark").arg("-v").output().is_err() {
        crate::common::skip("tshark is not installed (the comparison needs it)");
        return;
    }
    let mut compared = 0;
    let mut diffs = Vec::new();
    for (file, _) in CASES {
        let (n, d) = compare_with_tshark_follow(&format!("captures/{file}"));
        compared += n;
        diffs.extend(d);
    }
    println!("{compared} TCP streams compared with tshark follow, {} differ", diffs.len());
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Every UDP conversation of `file` (tunnels included) against tshark's `-z
/// follow,udp,raw`, datagram by datagram; returns (conversations compared,
/// differences as text).
///
/// tshark's UDP follow taps every UDP header of a frame the stream's filter matches:
/// a frame in a tunnel gives the tunnel's datagram and the one inside, whichever
/// stream is followed, and its node (direction) is taken from the innermost IP
/// addresses with each header's ports, so it cannot be trusted there. The lines are
/// matched to frames instead (`udp.stream` lists a frame's headers outermost first,
/// as the tap sees them), each frame's own header's line kept, and compared with the
/// datagram pktlab delivers in that frame, whichever direction.
fn compare_udp_with_tshark_follow(file: &str) -> (usize, Vec<String>) {
    let conns = pktlab(&["conns", file, "--format", "jsonl", "--proto", "udp"]).stdout;
    let rows: Vec<(u64, u64)> = String::from_utf8(conns)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["id"].as_u64().unwrap(), v["stream"].as_u64().unwrap()))
        .collect();
    if rows.is_empty() {
        return (0, vec![]);
    }
    let fields = Command::new("tshark")
        .args(["-n", "-r", file, "-Y", "udp", "-T", "fields", "-e", "frame.number", "-e", "udp.stream"])
        .current_dir(root())
        .output()
        .expect("run tshark");
    let frames: Vec<(u64, Vec<u64>)> = String::from_utf8_lossy(&fields.stdout)
        .lines()
        .filter_map(|l| {
            let (f, s) = l.split_once('\t')?;
            Some((f.parse().ok()?, s.split(',').filter_map(|n| n.parse().ok()).collect()))
        })
        .collect();
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-q", "-r", file]);
    for (_, stream) in &rows {
        cmd.args(["-z", &format!("follow,udp,raw,{stream}")]);
    }
    let blocks = follow_blocks(&cmd.current_dir(root()).output().expect("run tshark").stdout, "udp");
    let mut diffs = Vec::new();
    for (id, stream) in &rows {
        let Some(lines) = blocks.get(&(*stream as u32)) else {
            diffs.push(format!("{file} udp.stream {stream}: tshark printed no follow block"));
            continue;
        };
        // tshark's datagram of this stream in each frame it matched.
        let mut theirs = std::collections::BTreeMap::new();
        let mut lines = lines.iter().map(|(_, b)| b);
        for (frame, streams) in frames.iter().filter(|(_, s)| s.contains(stream)) {
            for s in streams {
                let Some(line) = lines.next() else { break };
                if s == stream {
                    theirs.insert(*frame, line.clone());
                }
            }
        }
        if lines.next().is_some() {
            diffs.push(format!("{file} udp.stream {stream}: tshark printed more lines than the frames have headers"));
            continue;
        }
        // pktlab's, from the datagrams' frames and offsets and each direction's bytes.
        let id = id.to_string();
        let recs: Vec<Record> = String::from_utf8(ok(&["segments", file, "--conn", &id, "--format", "jsonl"]))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let raw = |d: &str| ok(&["stream", file, "--conn", &id, "--as", "raw", "--dir", d]);
        let (client, server) = (raw("client"), raw("server"));
        let mut ours = std::collections::BTreeMap::new();
        for r in &recs {
            if let Record::Segment { dir, frame, start, end, .. } = r {
                let bytes = if dir == "client_to_server" { &client } else { &server };
                ours.insert(*frame, bytes[*start as usize..*end as usize].to_vec());
            }
        }
        if ours != theirs {
            let frames = |m: &std::collections::BTreeMap<u64, Vec<u8>>| {
                m.iter().map(|(f, b)| format!("{f}:{}B", b.len())).collect::<Vec<_>>().join(" ")
            };
            diffs.push(format!(
                "{file} udp.stream {stream} (conn {id}): pktlab {}; tshark {}",
                frames(&ours),
                frames(&theirs)
            ));
        }
    }
    (rows.len(), diffs)
}

/// UDP conversations, a tunnel's among them, against tshark's follow.
#[test]
fn udp_datagrams_agree_with_tshark_follow() {
    if Command::new("tshark").arg("-v").output().is_err() {
        crate::common::skip("tshark is not installed (the comparison needs it)");
        return;
    }
    let (mut compared, mut diffs) = (0, Vec::new());
    let files = [
        "udp-tunnels.pcap",
        "udp-tunnels-nested.pcap",
        "udp-tunnel-fragments.pcap",
        "lo-udp.pcap",
        "gen-echo-udp.pcap",
        "ip-fragments.pcap",
    ];
    for file in files {
        let (n, d) = compare_udp_with_tshark_follow(&format!("captures/{file}"));
        compared += n;
        diffs.extend(d);
    }
    println!("{compared} UDP conversations compared with tshark follow, {} differ", diffs.len());
    // udp-tunnels.pcap alone has five: a GTP-U tunnel, two VXLAN ones (a source port
    // each way), and the two UDP conversations inside; udp-tunnels-nested.pcap six, the
    // outer levels of its tunnels in tunnels among them; udp-tunnel-fragments.pcap
    // four, a GTP-U and a VXLAN tunnel in fragmented datagrams and the UDP inside each.
    assert!(compared >= 18, "{compared}");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The same on the corpus captures with UDP tunnels (CAPWAP, VXLAN, GTP-U).
#[test]
fn udp_tunnel_datagrams_agree_with_tshark_follow_on_the_corpus() {
    if Command::new("tshark").arg("-v").output().is_err() {
        crate::common::skip("tshark is not installed (the comparison needs it)");
        return;
    }
    let dir = root().join("../shared/corpus/ndpi");
    if !dir.is_dir() {
        crate::common::skip("../shared/corpus/ndpi is not present beside the project");
        return;
    }
    let (mut compared, mut diffs) = (0, Vec::new());
    for file in ["capwap.pcap", "capwap_data.pcapng", "vxlan.pcap", "ipv6_in_gtp.pcap", "gtp_false_positive.pcapng"] {
        let (n, d) = compare_udp_with_tshark_follow(dir.join(file).to_str().unwrap());
        compared += n;
        diffs.extend(d);
    }
    println!("{compared} UDP conversations of the corpus compared with tshark follow, {} differ", diffs.len());
    assert!(compared > 0);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Known differences from tshark's follow on the corpus, with their reason.
const FOLLOW_KNOWN: &[(&str, &str)] = &[
    (
        "ndpi_match_string_subprotocol__error.pcapng",
        "the 4-tuple is reused without the client's SYN in the capture: tshark keeps one stream and its follow \
         restarts the server's bytes at the new SYN-ACK; pktlab keeps the bytes of both",
    ),
    (
        "fuzz-2006-06-26-2594.pcap",
        "a fuzzed capture: sequence numbers jump about and the two tools place the bytes after the jumps differently",
    ),
    ("vnc.pcap", "tshark's VNC dissector starts a new conversation mid-connection; pktlab follows TCP"),
];

#[test]
fn raw_streams_agree_with_tshark_follow_on_a_sample_of_the_corpus() {
    if Command::new("tshark").arg("-v").output().is_err() {
        crate::common::skip("tshark is not installed (the comparison needs it)");
        return;
    }
    let dir = root().join("../shared/corpus/ndpi");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        crate::common::skip("../shared/corpus/ndpi is not present beside the project");
        return;
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let (mut compared, mut diffs) = (0, Vec::new());
    // PKTLAB_FOLLOW_ALL=1 compares every file (a few minutes).
    let step = if std::env::var_os("PKTLAB_FOLLOW_ALL").is_some() { 1 } else { 12 };
    // PKTLAB_FOLLOW_ONLY=a,b compares only the files whose names contain a or b.
    let only = std::env::var("PKTLAB_FOLLOW_ONLY").ok();
    let picked = |f: &PathBuf| only.as_deref().is_none_or(|o| o.split(',').any(|w| f.to_string_lossy().contains(w)));
    let step = if only.is_some() { 1 } else { step };
    for f in files.iter().step_by(step).filter(|f| picked(f)) {
        let (n, d) = compare_with_tshark_follow(f.to_str().unwrap());
        compared += n;
        diffs.extend(d.into_iter().filter(|d| !FOLLOW_KNOWN.iter().any(|(k, _)| d.contains(k))));
    }
    println!("{compared} TCP streams of the corpus compared with tshark follow, {} differ", diffs.len());
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
