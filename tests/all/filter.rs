//! Display filters on the fields connection tracking gives (`tcp.stream`,
//! `udp.stream`) select the frames tshark selects: in UDP tunnels (a value per UDP
//! header), in frames completing fragmented datagrams, with every operator tshark 4.0
//! has for fields that occur more than once.

use std::collections::BTreeSet;
use std::process::Command;

use crate::common::{pktlab, root, skip};

/// Captures compared, and frames left out of the comparison where pktlab is known
/// to give fewer `udp.stream` values than tshark, each with why.
const CAPTURES: &[(&str, &[u64], &str)] = &[
    ("captures/udp-tunnels.pcap", &[], ""),
    ("captures/udp-tunnels-nested.pcap", &[], ""),
    ("captures/udp-tunnel-fragments.pcap", &[], ""),
    ("captures/teredo.pcap", &[], ""),
    ("captures/ip-fragments.pcap", &[], ""),
    ("captures/tcp-fragments.pcap", &[], ""),
    ("captures/ipv6-unreassembled.pcap", &[], ""),
    ("captures/tcp-port-reuse.pcap", &[], ""),
    ("captures/icmp-errors.pcap", &[2], "the UDP datagram an ICMP error quotes has no udp.stream yet"),
];

/// The frame numbers `tshark -Y filter` shows, or `None` when tshark fails.
fn tshark(cap: &str, filter: &str) -> Option<BTreeSet<u64>> {
    let o = Command::new("tshark")
        .args(["-n", "-r", cap, "-Y", filter, "-T", "fields", "-e", "frame.number"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// The frame numbers `pktlab read -Y filter` lists.
fn ours(cap: &str, filter: &str) -> BTreeSet<u64> {
    let o = pktlab(&["read", "-Y", filter, cap]);
    assert_ran(&o, cap, filter);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().and_then(|n| n.parse().ok()))
        .collect()
}

/// Every `tcp.stream` and `udp.stream` value tshark gives some frame of `cap`.
fn streams(cap: &str) -> Option<(BTreeSet<u64>, BTreeSet<u64>)> {
    let o = Command::new("tshark")
        .args(["-n", "-r", cap, "-T", "fields", "-e", "tcp.stream", "-e", "udp.stream"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let (mut tcp, mut udp) = (BTreeSet::new(), BTreeSet::new());
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let mut cols = l.split('\t');
        for set in [&mut tcp, &mut udp] {
            set.extend(cols.next().unwrap_or("").split(',').filter_map(|v| v.parse::<u64>().ok()));
        }
    }
    Some((tcp, udp))
}

#[test]
fn stream_filters_select_what_tshark_selects() {
    if streams("captures/udp-tunnels.pcap").is_none() {
        skip("tshark is not installed (.ci/run installs it)");
        return;
    }
    // One thread a capture: tshark takes a while to start, and runs once a filter.
    let failures: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = CAPTURES.iter().map(|c| s.spawn(move || compare(c))).collect();
        runs.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "pktlab and tshark disagree:\n{}", failures.join("\n"));
}

fn compare(&(cap, known, why): &(&str, &[u64], &str)) -> Vec<String> {
    let (tcp, udp) = streams(cap).unwrap_or_default();
    assert!(!tcp.is_empty() || !udp.is_empty(), "{cap}: tshark gives no stream");
    let mut filters: Vec<String> = Vec::new();
    filters.extend(tcp.iter().map(|k| format!("tcp.stream == {k}")));
    filters.extend(udp.iter().map(|k| format!("udp.stream == {k}")));
    // The operators that tell "any" from "all", on a value every capture has.
    let k = udp.iter().next().or(tcp.iter().next()).copied().unwrap_or(0);
    for op in ["!=", "===", "~=", "!==", "all_eq", "any_ne", "all_ne", "any_eq", ">", "<="] {
        filters.push(format!("udp.stream {op} {k}"));
    }
    filters.extend(
        [
            "tcp.stream",
            "udp.stream",
            "udp.stream && tcp.stream",
            "udp.stream && !tcp.stream",
            "not udp.stream === 0",
            "tcp.stream == 0 || udp.stream == 1",
            "udp.stream >= 1 and udp.stream <= 2",
            "udp.stream ~= 0 and ip.proto == 17",
        ]
        .map(String::from),
    );
    if !known.is_empty() {
        eprintln!("{cap}: frames {known:?} left out: {why}");
    }
    let mut failures = Vec::new();
    for f in &filters {
        let Some(want) = tshark(cap, f) else {
            failures.push(format!("{cap}: tshark rejects '{f}'"));
            continue;
        };
        let want: BTreeSet<u64> = want.into_iter().filter(|n| !known.contains(n)).collect();
        // The two-thread reader (a list), and the one-thread one (a JSON array).
        for (how, got) in [("list", ours(cap, f)), ("json", json_frames(cap, f))] {
            let got: BTreeSet<u64> = got.into_iter().filter(|n| !known.contains(n)).collect();
            if got != want {
                failures.push(format!("{cap} -Y '{f}' ({how}): tshark {want:?}, pktlab {got:?}"));
            }
        }
    }
    failures
}

/// The frame numbers of `pktlab read --format json -Y filter`.
fn json_frames(cap: &str, filter: &str) -> BTreeSet<u64> {
    let o = pktlab(&["read", "--format", "json", "-Y", filter, cap]);
    assert_ran(&o, cap, filter);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array().unwrap().iter().filter_map(|f| f["frame"]["number"].as_u64()).collect()
}

/// The run went through: a malformed frame turns the exit code, nothing else may.
fn assert_ran(o: &std::process::Output, cap: &str, filter: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() || err.lines().all(|l| l.contains("malformed")),
        "pktlab read -Y '{filter}' {cap}: {err}"
    );
}
