//! The `conns` table: one row per TCP connection or UDP conversation, with tshark's
//! `-z conv` counts and Zeek's state and history; or the same facts as JSON lines.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::analysis::conn::{Proto, Summary};
use crate::spill::rows::Rows;
use crate::text::line::Line;

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Counts, times and the RTT are right-aligned so their digits line up, as in
/// tshark's conversation table.
const COLUMNS: [(&str, Align); 14] = [
    ("#", Align::Right),
    ("Proto", Align::Left),
    ("A", Align::Left),
    ("B", Align::Left),
    ("Frames A→B", Align::Right),
    ("Bytes A→B", Align::Right),
    ("Frames B→A", Align::Right),
    ("Bytes B→A", Align::Right),
    ("Start", Align::Right),
    ("Duration", Align::Right),
    ("State", Align::Left),
    ("History", Align::Left),
    ("Close", Align::Left),
    ("RTT", Align::Right),
];

/// Seconds with 6 decimals, as tshark's conversation table shows them.
fn secs(l: &mut Line, ns: u64) {
    l.secs(i128::from(ns), 6);
}

fn rtt(l: &mut Line, ns: u64) {
    use std::fmt::Write as _;
    // Writing into a Line cannot fail.
    let _ =
        if ns < 1_000_000 { write!(l, "{:.3} ms", ns as f64 / 1e6) } else { write!(l, "{:.1} ms", ns as f64 / 1e6) };
}

/// Appends cell `col` of row `s` to `l`. Both passes of [`write_table`] call it, so
/// the width measured is the width written.
fn cell(l: &mut Line, s: &Summary, t0: u64, col: usize) {
    use std::fmt::Write as _;
    let client = |is_a: bool| if s.tcp.is_some() && s.client_is_a == is_a { " (client)" } else { "" };
    // Writing into a Line cannot fail: the results of write! are dropped.
    match (col, &s.tcp) {
        (0, _) => l.num(s.id),
        (1, _) => l.str(match s.proto {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }),
        (2, _) => {
            let _ = write!(l, "{}{}", s.a, client(true));
        }
        (3, _) => {
            let _ = write!(l, "{}{}", s.b, client(false));
        }
        (4, _) => l.num(s.frames_ab),
        (5, _) => l.num(s.bytes_ab),
        (6, _) => l.num(s.frames_ba),
        (7, _) => l.num(s.bytes_ba),
        (8, _) => secs(l, s.first_ns.saturating_sub(t0)),
        (9, _) => secs(l, s.last_ns.saturating_sub(s.first_ns)),
        (13, None) => {}
        (_, None) => l.str("-"),
        (10, Some(tc)) => l.str(tc.conn_state),
        (11, Some(tc)) => l.str(tc.history.as_str()),
        (12, Some(tc)) => match tc.closed_by {
            Some(r) => {
                let _ = write!(l, "{} by {}", tc.close.name(), r.name());
            }
            None => l.str(tc.close.name()),
        },
        (_, Some(tc)) => {
            if let Some(ns) = tc.rtt_ns {
                rtt(l, ns)
            }
        }
    }
}

/// Display columns of what `l` holds. Cells are ASCII but for the header's arrows,
/// and none of them is wide, so one char is one column.
fn width(l: &Line) -> usize {
    l.as_str().chars().count()
}

/// The table; `t0` is the capture's first timestamp (start times are relative to it).
///
/// Two passes over `rows`: the first measures each column, the second writes each
/// line as soon as it is built, so memory does not grow with the table (comfy-table
/// held every cell as a String: 160 MB more than the JSON lines on 42,760 connections). `out` gets one
/// write per line: give it a buffered writer.
///
/// The layout is the one comfy-table drew with our borderless style, byte for byte,
/// so scripts that cut columns see no change: one space of padding on each side of
/// a cell, one more where the column junction would be, trailing spaces kept, and
/// under the header a rule as wide as the table.
///
/// `_width`, the terminal's width, is not used: comfy-table wrapped cells to fit it,
/// which split an address over three lines and made a narrow terminal's table
/// unreadable; a long line is better read with `less -S`.
pub fn write_table<W: Write>(out: &mut W, rows: &mut Rows, t0: u64, _width: Option<u16>) -> io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "No TCP connections or UDP conversations.");
    }
    let mut widths = COLUMNS.map(|(name, _)| name.chars().count());
    let mut l = Line::with_capacity(256);
    let (mut tcp, mut evicted) = (0, false);
    rows.each(|s| {
        for (col, w) in widths.iter_mut().enumerate() {
            l.clear();
            cell(&mut l, s, t0, col);
            *w = (*w).max(width(&l));
        }
        tcp += usize::from(s.proto == Proto::Tcp);
        evicted |= s.tcp.as_ref().is_some_and(|t| t.evicted);
        Ok(())
    })?;

    write_line(out, &mut l, &widths, |l, col| l.str(COLUMNS[col].0))?;
    l.clear();
    let rule = widths.iter().map(|w| w + 2).sum::<usize>() + widths.len() - 1;
    for _ in 0..rule {
        l.str("─");
    }
    l.byte(b'\n');
    out.write_all(l.as_bytes())?;
    rows.each(|s| write_line(out, &mut l, &widths, |l, col| cell(l, s, t0, col)))?;
    writeln!(out, "{} TCP connections, {} UDP conversations", tcp, rows.len() - tcp)?;
    if evicted {
        writeln!(out, "Some connections were closed out early because the table was full (see --max-conns).")?;
    }
    Ok(())
}

/// One line of the table, built in `l`; `put` appends the text of column `col`.
fn write_line<W: Write>(
    out: &mut W,
    l: &mut Line,
    widths: &[usize; COLUMNS.len()],
    put: impl Fn(&mut Line, usize),
) -> io::Result<()> {
    l.clear();
    for (col, (&w, (_, align))) in widths.iter().zip(COLUMNS).enumerate() {
        l.str(if col == 0 { " " } else { "  " });
        match align {
            Align::Left => l.pad_right(w, |l| put(l, col)),
            Align::Right => l.pad_left(w, |l| put(l, col)),
        }
        l.byte(b' ');
    }
    l.byte(b'\n');
    out.write_all(l.as_bytes())
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

pub fn write_jsonl<W: Write>(out: &mut W, rows: &mut Rows, t0: u64) -> io::Result<()> {
    rows.each(|s| {
        serde_json::to_writer(&mut *out, &to_json(s, t0))?;
        out.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::conn::zeek::History;
    use crate::analysis::conn::{Close, Offer, Role, State, TcpSummary};
    use crate::analysis::flow::Endpoint;

    fn v4(a: [u8; 4], port: u16) -> Endpoint {
        let mut addr = [0u8; 16];
        addr[10] = 0xff;
        addr[11] = 0xff;
        addr[12..].copy_from_slice(&a);
        Endpoint { addr, port }
    }

    fn v6(last: u8, port: u16) -> Endpoint {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        addr[15] = last;
        Endpoint { addr, port }
    }

    fn tcp(close: Close, closed_by: Option<Role>, rtt_ns: Option<u64>, history: History) -> TcpSummary {
        TcpSummary {
            conn_state: "SF",
            history,
            close,
            closed_by,
            rtt_ns,
            client: Offer::default(),
            server: Offer::default(),
            sack: false,
            timestamps: false,
            ws: None,
            retransmissions: 0,
            dup_acks: 0,
            lost: 0,
            client_state: State::TimeWait,
            server_state: State::Closed,
            evicted: false,
        }
    }

    /// Three rows whose widest cell is in a different row for each column, so a
    /// column sized from one row alone shows.
    fn rows() -> Vec<Summary> {
        let t0 = 1_000_000_000;
        let row = |id, proto, a, b, frames: (u64, u64), bytes: (u64, u64), ns: (u64, u64), client_is_a, tcp| Summary {
            id,
            proto,
            stream: id,
            a,
            b,
            frames_ab: frames.0,
            bytes_ab: bytes.0,
            frames_ba: frames.1,
            bytes_ba: bytes.1,
            payload_ab: 0,
            payload_ba: 0,
            first_frame: 1,
            last_frame: 2,
            first_ns: t0 + ns.0,
            last_ns: t0 + ns.1,
            client_is_a,
            tcp,
        };
        let mut flipped = History::default();
        flipped.flip();
        vec![
            row(
                0,
                Proto::Tcp,
                v4([10, 0, 0, 1], 40000),
                v4([10, 0, 0, 2], 80),
                (10, 5),
                (691, 361),
                (0, 67_000_000),
                true,
                Some(tcp(Close::ThreeWay, Some(Role::Client), Some(400_000), History::default())),
            ),
            row(
                1,
                Proto::Udp,
                v4([192, 168, 100, 200], 53),
                v4([8, 8, 8, 8], 5353),
                (1, 1234567),
                (72, 9_876_543_210),
                (1_500_000, 1_500_000),
                true,
                None,
            ),
            row(
                12,
                Proto::Tcp,
                v6(1, 443),
                v6(2, 51000),
                (3, 0),
                (222, 0),
                (12_000_001_000, 13_000_000_000),
                false,
                Some(tcp(Close::Open, None, Some(12_345_678), flipped)),
            ),
        ]
    }

    #[test]
    fn table_aligns_columns() {
        let mut out = Vec::new();
        write_table(&mut out, &mut Rows::new(rows()), 1_000_000_000, None).unwrap();
        // Trailing spaces are part of the layout the goldens fix.
        let expected = concat!(
            "  #   Proto   A                         B                              Frames A→B   Bytes A→B   Frames B→A    Bytes B→A       Start   Duration   State   History   Close                      RTT \n",
            "──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────\n",
            "  0   TCP     10.0.0.1:40000 (client)   10.0.0.2:80                            10         691            5          361    0.000000   0.067000   SF                three-way by client   0.400 ms \n",
            "  1   UDP     192.168.100.200:53        8.8.8.8:5353                            1          72      1234567   9876543210    0.001500   0.000000   -       -         -                              \n",
            " 12   TCP     [2001:db8::1]:443         [2001:db8::2]:51000 (client)            3         222            0            0   12.000001   0.999999   SF      ^         open                   12.3 ms \n",
            "2 TCP connections, 1 UDP conversations\n",
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
