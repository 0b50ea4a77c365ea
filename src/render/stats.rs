//! The `stats` summary: capinfos' figures and frames per protocol, as a table or JSON.

use std::io::{self, Write};

use comfy_table::{presets, Table};

use super::time::Utc;
use crate::analysis::stats::{Stats, COUNTED};
use crate::source::pcap::{FileFormat, Interface};

/// What the summary says about one file.
pub struct Summary<'a> {
    pub file: &'a str,
    pub file_size: Option<u64>,
    pub format: &'a FileFormat,
    pub interfaces: &'a [Interface],
    pub stats: &'a Stats,
    /// The file ended in damage after these frames.
    pub error: Option<String>,
}

fn rate(x: f64, secs: f64) -> Option<f64> {
    (secs > 0.0).then(|| x / secs)
}

pub fn write_table<W: Write>(out: &mut W, s: &Summary<'_>) -> io::Result<()> {
    let st = s.stats;
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    let mut row = |k: &str, v: String| {
        t.add_row(vec![format!("{k}:"), v]);
    };
    row("File name", s.file.to_string());
    row("File type", s.format.describe());
    let links: Vec<String> = s.interfaces.iter().map(|i| i.link.to_string()).collect();
    row("File encapsulation", if links.is_empty() { "(no interfaces)".into() } else { dedup(links).join(", ") });
    if let FileFormat::Pcap { snaplen, .. } = s.format {
        row("Packet size limit", format!("file hdr: {snaplen} bytes"));
    } else if let Some(i) = s.interfaces.first() {
        row("Packet size limit", if i.snaplen == 0 { "none".into() } else { format!("{} bytes", i.snaplen) });
    }
    if s.interfaces.len() > 1 {
        row("Interfaces", s.interfaces.len().to_string());
    }
    row("Number of packets", st.frames.to_string());
    if let Some(sz) = s.file_size {
        row("File size", format!("{sz} bytes"));
    }
    row("Data size", format!("{} bytes", st.bytes));
    row("Captured data size", format!("{} bytes", st.captured_bytes));
    let d = st.duration();
    row("Capture duration", format!("{d:.6} seconds"));
    if let Some(t0) = st.first {
        row("First packet time", Utc { ts: t0, digits: 6, iso: false }.to_string());
    }
    if let Some(t1) = st.last {
        row("Last packet time", Utc { ts: t1, digits: 6, iso: false }.to_string());
    }
    let fmt_rate = |r: Option<f64>, unit: &str| r.map_or("n/a".to_string(), |r| format!("{r:.2} {unit}"));
    row("Data byte rate", fmt_rate(rate(st.bytes as f64, d), "bytes/s"));
    row("Data bit rate", fmt_rate(rate(st.bytes as f64 * 8.0, d), "bits/s"));
    row(
        "Average packet size",
        if st.frames > 0 { format!("{:.2} bytes", st.bytes as f64 / st.frames as f64) } else { "n/a".into() },
    );
    row("Average packet rate", fmt_rate(rate(st.frames as f64, d), "packets/s"));
    row("Truncated frames", format!("{} (cut by the snaplen)", st.truncated));
    row("Malformed frames", st.malformed.to_string());
    if let Some(e) = &s.error {
        row("Read error", e.clone());
    }
    writeln!(out, "{t}")?;
    let mut p = Table::new();
    p.load_style(presets::UTF8_FULL_CONDENSED);
    p.set_header(vec!["Protocol", "Frames", "% of frames"]);
    for (i, proto) in COUNTED.iter().enumerate() {
        let n = st.per_proto[i];
        if n > 0 {
            p.add_row(vec![proto.abbrev().to_string(), n.to_string(), pct(n, st.frames)]);
        }
    }
    if st.fragments > 0 {
        p.add_row(vec!["ip fragments".to_string(), st.fragments.to_string(), pct(st.fragments, st.frames)]);
    }
    if st.other > 0 {
        p.add_row(vec!["other (not decoded)".to_string(), st.other.to_string(), pct(st.other, st.frames)]);
    }
    if st.undecoded > 0 {
        p.add_row(vec!["unsupported link type".to_string(), st.undecoded.to_string(), pct(st.undecoded, st.frames)]);
    }
    writeln!(out, "{p}")
}

fn pct(n: u64, total: u64) -> String {
    if total == 0 {
        return "0.0".into();
    }
    format!("{:.1}", n as f64 * 100.0 / total as f64)
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(x.clone());
            true
        }
    });
    v
}

pub fn write_json<W: Write>(out: &mut W, s: &Summary<'_>) -> io::Result<()> {
    let st = s.stats;
    let mut protos = serde_json::Map::new();
    for (i, proto) in COUNTED.iter().enumerate() {
        protos.insert(proto.abbrev().to_string(), st.per_proto[i].into());
    }
    protos.insert("ip_fragments".into(), st.fragments.into());
    protos.insert("other".into(), st.other.into());
    protos.insert("unsupported_link".into(), st.undecoded.into());
    let d = st.duration();
    let v = serde_json::json!({
        "file": s.file,
        "file_size": s.file_size,
        "format": s.format.describe(),
        "link_types": s.interfaces.iter().map(|i| i.link.0).collect::<Vec<_>>(),
        "link_names": s.interfaces.iter().map(|i| i.link.name()).collect::<Vec<_>>(),
        "snaplen": match s.format { FileFormat::Pcap { snaplen, .. } => Some(*snaplen), _ => s.interfaces.first().map(|i| i.snaplen) },
        "frames": st.frames,
        "bytes": st.bytes,
        "captured_bytes": st.captured_bytes,
        "first_time": st.first.map(|t| Utc { ts: t, digits: 9, iso: true }.to_string()),
        "last_time": st.last.map(|t| Utc { ts: t, digits: 9, iso: true }.to_string()),
        "duration": d,
        "byte_rate": rate(st.bytes as f64, d),
        "bit_rate": rate(st.bytes as f64 * 8.0, d),
        "packet_rate": rate(st.frames as f64, d),
        "avg_packet_size": if st.frames > 0 { Some(st.bytes as f64 / st.frames as f64) } else { None },
        "truncated": st.truncated,
        "malformed": st.malformed,
        "protocols": protos,
        "error": s.error,
    });
    serde_json::to_writer(&mut *out, &v)?;
    writeln!(out)
}
