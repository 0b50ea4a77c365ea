//! The `conns` table: one row per TCP connection or UDP conversation, with tshark's
//! `-z conv` counts and Zeek's state and history; or the same facts as JSON lines.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, LineStyle, Table, TableStyle};
use serde_json::{json, Map, Value};

use crate::analysis::conn::{Proto, Summary};

/// Seconds with 6 decimals, as tshark's conversation table shows them.
fn secs(ns: u64) -> String {
    format!("{}.{:06}", ns / 1_000_000_000, (ns % 1_000_000_000) / 1_000)
}

fn rtt(ns: u64) -> String {
    if ns < 1_000_000 {
        format!("{:.3} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} ms", ns as f64 / 1e6)
    }
}

/// The table; `t0` is the capture's first timestamp (start times are relative to it),
/// `width` the terminal's, when known.
pub fn write_table<W: Write>(out: &mut W, rows: &[Summary], t0: u64, width: Option<u16>) -> io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "No TCP connections or UDP conversations.");
    }
    let mut t = Table::new();
    t.load_style(TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─')));
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(vec![
        "#",
        "Proto",
        "A",
        "B",
        "Frames A→B",
        "Bytes A→B",
        "Frames B→A",
        "Bytes B→A",
        "Start",
        "Duration",
        "State",
        "History",
        "Close",
        "RTT",
    ]);
    for s in rows {
        let client = |is_a: bool| if s.client_is_a == is_a { " (client)" } else { "" };
        let (a, b) = if s.tcp.is_some() {
            (format!("{}{}", s.a, client(true)), format!("{}{}", s.b, client(false)))
        } else {
            (s.a.to_string(), s.b.to_string())
        };
        let mut row = vec![
            s.id.to_string(),
            s.proto.name().to_uppercase(),
            a,
            b,
            s.frames_ab.to_string(),
            s.bytes_ab.to_string(),
            s.frames_ba.to_string(),
            s.bytes_ba.to_string(),
            secs(s.first_ns.saturating_sub(t0)),
            secs(s.last_ns.saturating_sub(s.first_ns)),
        ];
        match &s.tcp {
            Some(tc) => {
                let close = match tc.closed_by {
                    Some(r) => format!("{} by {}", tc.close.name(), r.name()),
                    None => tc.close.name().to_string(),
                };
                row.push(tc.conn_state.to_string());
                row.push(tc.history.to_string());
                row.push(close);
                row.push(tc.rtt_ns.map_or(String::new(), rtt));
            }
            None => row.extend(["-".to_string(), "-".to_string(), "-".to_string(), String::new()]),
        }
        t.add_row(row);
    }
    for i in [0usize, 4, 5, 6, 7, 8, 9, 13] {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "{t}")?;
    let tcp = rows.iter().filter(|r| r.proto == Proto::Tcp).count();
    writeln!(out, "{} TCP connections, {} UDP conversations", tcp, rows.len() - tcp)?;
    if rows.iter().any(|r| r.tcp.as_ref().is_some_and(|t| t.evicted)) {
        writeln!(out, "Some connections were closed out early because the table was full (see --max-conns).")?;
    }
    Ok(())
}

/// One JSON object per row.
pub fn to_json(s: &Summary, t0: u64) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("proto".into(), json!(s.proto.name()));
    m.insert("stream".into(), json!(s.stream));
    m.insert("a_addr".into(), json!(s.a.ip().to_string()));
    m.insert("a_port".into(), json!(s.a.port));
    m.insert("b_addr".into(), json!(s.b.ip().to_string()));
    m.insert("b_port".into(), json!(s.b.port));
    m.insert("frames_ab".into(), json!(s.frames_ab));
    m.insert("bytes_ab".into(), json!(s.bytes_ab));
    m.insert("frames_ba".into(), json!(s.frames_ba));
    m.insert("bytes_ba".into(), json!(s.bytes_ba));
    m.insert("frames".into(), json!(s.frames_ab + s.frames_ba));
    m.insert("bytes".into(), json!(s.bytes_ab + s.bytes_ba));
    m.insert("payload_ab".into(), json!(s.payload_ab));
    m.insert("payload_ba".into(), json!(s.payload_ba));
    m.insert("first_frame".into(), json!(s.first_frame));
    m.insert("last_frame".into(), json!(s.last_frame));
    m.insert("rel_start".into(), json!(s.first_ns.saturating_sub(t0) as f64 / 1e9));
    m.insert("duration".into(), json!(s.last_ns.saturating_sub(s.first_ns) as f64 / 1e9));
    m.insert("client".into(), json!(if s.client_is_a { "a" } else { "b" }));
    if let Some(t) = &s.tcp {
        m.insert("conn_state".into(), json!(t.conn_state));
        m.insert("history".into(), json!(t.history.as_str()));
        m.insert("close".into(), json!(t.close.name()));
        m.insert("closed_by".into(), json!(t.closed_by.map(|r| r.name())));
        m.insert("rtt".into(), json!(t.rtt_ns.map(|n| n as f64 / 1e9)));
        for (side, o) in [("client", &t.client), ("server", &t.server)] {
            m.insert(format!("{side}_mss"), json!(o.mss));
            m.insert(format!("{side}_ws"), json!(o.ws));
            m.insert(format!("{side}_sack"), json!(o.sack));
            m.insert(format!("{side}_timestamps"), json!(o.timestamps));
        }
        m.insert("sack".into(), json!(t.sack));
        m.insert("timestamps".into(), json!(t.timestamps));
        m.insert("window_scaling".into(), json!(t.ws.is_some()));
        m.insert("retransmissions".into(), json!(t.retransmissions));
        m.insert("dup_acks".into(), json!(t.dup_acks));
        m.insert("lost_segments".into(), json!(t.lost));
        m.insert("client_state".into(), json!(t.client_state.name()));
        m.insert("server_state".into(), json!(t.server_state.name()));
        m.insert("evicted".into(), json!(t.evicted));
    }
    Value::Object(m)
}

pub fn write_jsonl<W: Write>(out: &mut W, rows: &[Summary], t0: u64) -> io::Result<()> {
    for s in rows {
        serde_json::to_writer(&mut *out, &to_json(s, t0))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
