//! The ladder (sequence) diagram: client and server as two lifelines, one arrow per
//! segment with its flags and numbers, the TCP state each side enters beside the
//! arrow that moves it, and a short explanation a student can follow. Long runs of
//! plain data segments fold into one line, so memory stays bounded whatever the
//! connection's length.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::analysis::conn::{Header, Proto, Reassembled, Seen, State};
use crate::analysis::flow::Endpoint;
use crate::decode::tcp_analysis::{Analysis, Flags};
use crate::decode::{tcp, Packet};

/// One segment or datagram, as drawn.
#[derive(Clone, Debug)]
pub struct Arrow {
    pub frame: u64,
    /// Nanoseconds since the connection's first frame.
    pub t: u64,
    pub from_client: bool,
    pub flags: u16,
    pub seq: u32,
    pub raw_seq: u32,
    pub ack: Option<u32>,
    pub len: u32,
    pub win: Option<u64>,
    pub mss: Option<u16>,
    pub ws: Option<u8>,
    pub sack: bool,
    pub sender_enters: Option<State>,
    pub receiver_enters: Option<State>,
    pub analysis: Analysis,
}

/// A run of plain data segments folded into one line.
#[derive(Clone, Debug, Default)]
pub struct Fold {
    pub segments: u64,
    pub c2s_segments: u64,
    pub s2c_segments: u64,
    pub c2s_bytes: u64,
    pub s2c_bytes: u64,
    pub first_frame: u64,
    pub last_frame: u64,
}

#[derive(Clone, Debug)]
pub enum Row {
    Arrow(Arrow),
    Fold(Fold),
}

/// Plain segments kept at each end of a folded run.
const KEEP: usize = 2;
/// Fewer plain segments than this between the ends are drawn, not folded.
const MIN_FOLD: usize = 3;

/// Collects one connection's rows, folding long plain runs as they go.
#[derive(Debug)]
pub struct Ladder {
    pub id: u32,
    pub stream: u32,
    pub proto: Proto,
    pub client: Endpoint,
    pub server: Endpoint,
    pub client_start: State,
    pub server_start: State,
    pub rows: Vec<Row>,
    start_ns: u64,
    expand: bool,
    /// The plain run being collected: its first `KEEP` arrows, the fold between, and
    /// the last `KEEP` (a ring).
    head: Vec<Arrow>,
    /// Arrows past the head, kept until there are enough to be worth folding.
    pending: Vec<Arrow>,
    middle: Fold,
    tail: std::collections::VecDeque<Arrow>,
    rtt_ns: Option<u64>,
}

impl Ladder {
    /// A ladder starting with this frame, whose transport header `header` the tracker
    /// saw as `seen`; `re`: the header of the datagram it completed, when it did
    /// ([`Tracker::reassembled`]).
    ///
    /// [`Tracker::reassembled`]: crate::analysis::conn::Tracker::reassembled
    pub fn new(
        seen: &Seen,
        header: Header,
        re: Option<&Reassembled>,
        p: &Packet<'_>,
        ts: u64,
        expand: bool,
    ) -> Option<Ladder> {
        // A datagram put together from fragments has its header in an earlier frame.
        let (key, from_lo) = header.locate(p).map(|l| (l.key, l.from_lo)).or(re.map(|r| (r.key, r.from_lo)))?;
        let (src, dst) = if from_lo { (key.lo, key.hi) } else { (key.hi, key.lo) };
        let (client, server) = if seen.from_client { (src, dst) } else { (dst, src) };
        let proto = seen.proto?;
        // A tunnel's datagrams are UDP, whatever they carry.
        let tcp = (header == Header::Conn).then(|| p.tcp()).flatten();
        let flags = tcp.and_then(|t| t.flags()).or(re.filter(|_| seen.proto == Some(Proto::Tcp)).map(|r| r.flags));
        let (client_start, server_start) = match flags {
            Some(f) if f & tcp::SYN != 0 && f & tcp::ACK == 0 => (State::Closed, State::Listen),
            Some(f) if f & tcp::SYN != 0 => (State::SynSent, State::Listen),
            Some(_) => (State::Established, State::Established),
            None => (State::Closed, State::Closed),
        };
        Some(Ladder {
            id: seen.id?,
            stream: seen.ctx.stream.unwrap_or(0),
            proto,
            client,
            server,
            client_start,
            server_start,
            rows: Vec::new(),
            start_ns: ts,
            expand,
            head: Vec::new(),
            pending: Vec::new(),
            middle: Fold::default(),
            tail: Default::default(),
            rtt_ns: None,
        })
    }

    /// Adds one frame of this connection, whose transport header `header` the tracker
    /// saw as `seen`; `absolute` keeps raw sequence numbers.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        number: u64,
        ts: u64,
        seen: &Seen,
        header: Header,
        re: Option<&Reassembled>,
        p: &Packet<'_>,
        absolute: bool,
    ) {
        let mut a = Arrow {
            frame: number,
            t: ts.saturating_sub(self.start_ns),
            from_client: seen.from_client,
            flags: 0,
            seq: 0,
            raw_seq: 0,
            ack: None,
            len: 0,
            win: None,
            mss: None,
            ws: None,
            sack: false,
            sender_enters: seen.sender_enters,
            receiver_enters: seen.receiver_enters,
            analysis: seen.ctx.analysis,
        };
        // A datagram put together from fragments: its header says more than the
        // frame's own (a first fragment's header has no length of its own).
        if header != Header::Conn {
            // The tunnel's datagram, not the TCP or UDP header it carries.
            let len = header.locate(p).and_then(|at| crate::decode::udp::Udp::new(p.bytes(at.transport)).length());
            // Its datagram put together from fragments: the header is in the first.
            a.len = match (len, re) {
                (None, Some(r)) => r.len,
                (len, _) => u32::from(len.unwrap_or(8).saturating_sub(8)),
            };
        } else if let Some(r) = re {
            a.flags = r.flags;
            a.raw_seq = r.seq;
            a.seq = if absolute { a.raw_seq } else { seen.ctx.rel_seq.unwrap_or(a.raw_seq) };
            if a.flags & tcp::ACK != 0 {
                a.ack = if absolute { Some(r.ack) } else { seen.ctx.rel_ack.or(Some(r.ack)) };
            }
            a.len = r.len;
            if self.proto == Proto::Tcp {
                a.win = Some(u64::from(r.win) << seen.ctx.win_shift.unwrap_or(0));
            }
        } else if let Some(t) = p.tcp() {
            a.flags = t.flags().unwrap_or(0);
            a.raw_seq = t.seq().unwrap_or(0);
            a.seq = if absolute { a.raw_seq } else { seen.ctx.rel_seq.unwrap_or(a.raw_seq) };
            if a.flags & tcp::ACK != 0 {
                a.ack = if absolute { t.ack() } else { seen.ctx.rel_ack.or(t.ack()) };
            }
            a.len = p.tcp_len().unwrap_or(0);
            a.win = t.window().map(|w| u64::from(w) << seen.ctx.win_shift.unwrap_or(0));
            for (_, _, o) in t.options() {
                match o {
                    tcp::Opt::Mss(m) => a.mss = Some(m),
                    tcp::Opt::WindowScale(s) => a.ws = Some(s),
                    tcp::Opt::SackPermitted => a.sack = true,
                    _ => {}
                }
            }
            if a.flags & tcp::SYN == 0 && a.flags & tcp::ACK != 0 && seen.receiver_enters == Some(State::Established) {
                self.rtt_ns = Some(a.t);
            }
        } else if let Some(u) = p.inner_udp() {
            a.len = u32::from(u.length().unwrap_or(8).saturating_sub(8));
        }
        let plain = a.flags & (tcp::SYN | tcp::FIN | tcp::RST) == 0
            && a.sender_enters.is_none()
            && a.receiver_enters.is_none()
            && Flags(a.analysis.flags.0 & !Flags::WINDOW_UPDATE.0).is_empty()
            && !(self.proto == Proto::Udp && self.rows.is_empty() && self.head.is_empty());
        if !plain || self.expand {
            self.flush_run();
            self.rows.push(Row::Arrow(a));
            return;
        }
        if self.head.len() < KEEP {
            self.head.push(a);
            return;
        }
        if self.tail.len() == KEEP {
            let old = self.tail.pop_front().expect("full");
            self.pending.push(old);
            if self.pending.len() > MIN_FOLD {
                for old in std::mem::take(&mut self.pending) {
                    self.fold(&old);
                }
            } else if self.middle.segments > 0 {
                let old = self.pending.pop().expect("just pushed");
                self.fold(&old);
            }
        }
        self.tail.push_back(a);
    }

    fn fold(&mut self, old: &Arrow) {
        let m = &mut self.middle;
        if m.segments == 0 {
            m.first_frame = old.frame;
        }
        m.segments += 1;
        m.last_frame = old.frame;
        if old.from_client {
            m.c2s_segments += 1;
            m.c2s_bytes += u64::from(old.len);
        } else {
            m.s2c_segments += 1;
            m.s2c_bytes += u64::from(old.len);
        }
    }

    fn flush_run(&mut self) {
        for a in self.head.drain(..) {
            self.rows.push(Row::Arrow(a));
        }
        for a in self.pending.drain(..) {
            self.rows.push(Row::Arrow(a));
        }
        if self.middle.segments > 0 {
            self.rows.push(Row::Fold(std::mem::take(&mut self.middle)));
        }
        for a in self.tail.drain(..) {
            self.rows.push(Row::Arrow(a));
        }
    }

    /// Ends the connection's collection.
    pub fn finish(&mut self) {
        self.flush_run();
        // A RST as the server's first answer: nothing was listening after all.
        let first_reply = self.rows.iter_mut().find_map(|r| match r {
            Row::Arrow(a) if !a.from_client => Some(a),
            _ => None,
        });
        if let Some(a) = first_reply {
            if self.proto == Proto::Tcp && a.flags & tcp::RST != 0 && self.server_start == State::Listen {
                self.server_start = State::Closed;
                a.sender_enters = None;
            }
        }
        // A simultaneous close: the first FIN reached a side that had sent its own, so
        // it never was in CLOSE-WAIT.
        for i in 0..self.rows.len() {
            let Row::Arrow(a) = &self.rows[i] else { continue };
            if a.sender_enters != Some(State::Closing) {
                continue;
            }
            let from = a.from_client;
            for r in self.rows[..i].iter_mut().rev() {
                if let Row::Arrow(b) = r {
                    if b.from_client != from && b.flags & tcp::FIN != 0 {
                        if b.receiver_enters == Some(State::CloseWait) {
                            b.receiver_enters = None;
                        }
                        break;
                    }
                }
            }
        }
    }
}

/// How the diagram is drawn.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub width: usize,
    pub ascii: bool,
    pub absolute: bool,
}

struct Glyphs {
    line: char,
    life: char,
    right: char,
    left: char,
    fold: char,
}

const UNICODE: Glyphs = Glyphs { line: '─', life: '│', right: '▶', left: '◀', fold: '┆' };
const ASCII: Glyphs = Glyphs { line: '-', life: '|', right: '>', left: '<', fold: ':' };

/// Left margin: frame number (5), time (11), two spaces, the client's state (12), a
/// space; then the client's lifeline.
const PREFIX: usize = 31;
/// The server's state, right of its lifeline.
const STATE_W: usize = 13;

fn pad(s: &mut String, n: usize) {
    for _ in 0..n {
        s.push(' ');
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn secs(ns: u64) -> String {
    format!("{}.{:06}", ns / 1_000_000_000, (ns % 1_000_000_000) / 1_000)
}

fn human(n: u64) -> String {
    if n >= 10_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else if n >= 10_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else {
        format!("{n} B")
    }
}

/// Greedy word wrap.
fn wrap(text: &str, w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        if !cur.is_empty() && width(&cur) + 1 + width(word) > w {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

impl Ladder {
    fn role(&self, client: bool) -> &'static str {
        if client {
            "client"
        } else {
            "server"
        }
    }

    /// What this arrow means, for a student.
    fn notes(&self, a: &Arrow, out: &mut Vec<String>) {
        let me = self.role(a.from_client);
        let peer = self.role(!a.from_client);
        let syn = a.flags & tcp::SYN != 0;
        let ack = a.flags & tcp::ACK != 0;
        let fin = a.flags & tcp::FIN != 0;
        let rst = a.flags & tcp::RST != 0;
        if self.proto == Proto::Udp {
            if matches!(self.rows.first(), Some(Row::Arrow(f)) if f.frame == a.frame) {
                out.push(
                    "UDP: no handshake and no connection state; each sendto() is one datagram and each recvfrom() \
                     receives exactly one, boundaries kept"
                        .into(),
                );
            }
            return;
        }
        let mut offers = String::new();
        if let Some(m) = a.mss {
            let _ = write!(offers, ", MSS {m}");
        }
        if let Some(s) = a.ws {
            let _ = write!(offers, ", window scale x{}", 1u32 << s.min(14));
        }
        if a.sack {
            offers.push_str(", SACK");
        }
        let shown = if self.absolute_hint(a) { String::new() } else { " (shown as 0)".to_string() };
        if rst {
            if a.receiver_enters == Some(State::Closed) && !ack_established(self, a) {
                out.push(format!(
                    "RST: nothing listens on port {}: the kernel refuses; connect() fails with ECONNREFUSED",
                    self.server.port
                ));
            } else {
                out.push(format!(
                    "RST: the {me} aborts the connection: no FIN exchange, no TIME-WAIT; the {peer}'s next recv() \
                     or send() fails with ECONNRESET"
                ));
            }
        } else if syn && !ack {
            out.push(format!(
                "SYN: connect() on the {me}: it picks its initial sequence number, ISN {}{shown}{offers}",
                a.raw_seq
            ));
        } else if syn {
            out.push(format!(
                "SYN-ACK: the {me} picks its own ISN {}{shown}{offers}; ack = {peer}'s ISN + 1: a SYN takes one \
                 sequence number",
                a.raw_seq
            ));
        }
        if fin {
            let first = a.sender_enters == Some(State::FinWait1) || a.sender_enters == Some(State::Closing);
            if first {
                out.push(format!(
                    "FIN: close() or shutdown(SHUT_WR) on the {me}: it will send no more data; the FIN takes one \
                     sequence number"
                ));
            } else if a.sender_enters == Some(State::LastAck) {
                out.push(format!("FIN: the {me} closes its side too, and waits for the last ACK"));
            }
        }
        match a.receiver_enters {
            Some(State::Established) if !syn => out.push(format!(
                "ACK of the SYN-ACK: handshake complete; connect() returned on the client, accept() returns on the \
                 server{}",
                self.rtt_ns.map(|r| format!(" (handshake RTT {:.3} ms)", r as f64 / 1e6)).unwrap_or_default()
            )),
            Some(State::Established) => out.push(format!("the {peer} is ESTABLISHED: connect() returns")),
            Some(State::CloseWait) => {
                out.push(format!("the {peer} reads end-of-file (recv() returns 0) and should close() its side"))
            }
            Some(State::FinWait2) => out.push(format!(
                "ack = FIN + 1: the {peer}'s FIN is acknowledged; it waits for the {me}'s FIN (half-closed until then)"
            )),
            Some(State::TimeWait) => out.push(format!(
                "TIME-WAIT: the {peer} waits 2MSL (RFC 9293: 4 minutes; Linux: 60 s) before the port can be \
                 reused, so stray segments of this connection die out"
            )),
            Some(State::Closing) => out.push(format!(
                "both sides sent a FIN before seeing the other's: simultaneous close, the {peer} is CLOSING"
            )),
            Some(State::Closed) if !rst => {
                out.push(format!("last ACK: the {peer} is CLOSED and forgets the connection"))
            }
            _ => {}
        }
        for (flag, _, label) in a.analysis.flags.iter() {
            if flag == Flags::RST {
                continue;
            }
            out.push(format!("[{label}] {}", a.analysis.evidence(flag)));
        }
    }

    fn absolute_hint(&self, a: &Arrow) -> bool {
        a.seq == a.raw_seq && a.raw_seq != 0
    }

    /// Draws the diagram.
    pub fn write<W: Write>(&self, out: &mut W, st: Style) -> io::Result<()> {
        let g = if st.ascii { &ASCII } else { &UNICODE };
        let left = PREFIX;
        let arrow_w = st.width.saturating_sub(left + 2 + STATE_W).clamp(30, 200);
        let proto = if self.proto == Proto::Tcp { "TCP" } else { "UDP" };
        writeln!(
            out,
            "Connection {} ({}.stream {}): {proto} {} (client) ⇄ {} (server)",
            self.id,
            self.proto.name(),
            self.stream,
            self.client,
            self.server
        )?;
        let mut l = String::new();
        let c = format!("client {}", self.client);
        let s = format!("server {}", self.server);
        pad(&mut l, (PREFIX + 1).saturating_sub(width(&c) / 2).max(PREFIX.saturating_sub(width(&c))));
        l.push_str(&c);
        // The server's label ends over its lifeline.
        let end = PREFIX + arrow_w + 2;
        let used = width(&l) + width(&s);
        pad(&mut l, end.saturating_sub(used).max(2));
        l.push_str(&s);
        writeln!(out, "{}", l.trim_end())?;
        let (cs, ss) =
            if self.proto == Proto::Tcp { (self.client_start.name(), self.server_start.name()) } else { ("", "") };
        let mut l = String::new();
        let _ = write!(l, "{:>5}{:>11}  {:<12} ", "No.", "Time", cs);
        l.push(g.life);
        pad(&mut l, arrow_w);
        l.push(g.life);
        l.push(' ');
        l.push_str(ss);
        writeln!(out, "{}", l.trim_end())?;
        let mut notes = Vec::new();
        for row in &self.rows {
            match row {
                Row::Arrow(a) => {
                    self.write_arrow(out, a, g, arrow_w, st)?;
                    notes.clear();
                    self.notes(a, &mut notes);
                    for n in &notes {
                        for line in wrap(n, arrow_w.saturating_sub(3).max(20)) {
                            let mut l = String::new();
                            pad(&mut l, left);
                            l.push(g.life);
                            l.push_str("  ");
                            let used = 2 + width(&line);
                            l.push_str(&line);
                            pad(&mut l, arrow_w.saturating_sub(used));
                            l.push(g.life);
                            writeln!(out, "{}", l.trim_end())?;
                        }
                    }
                }
                Row::Fold(f) => {
                    let text = if self.proto == Proto::Tcp {
                        format!(
                            "… {} data segments folded (frames {}-{}): {} from the client, {} from the server …",
                            f.segments,
                            f.first_frame,
                            f.last_frame,
                            human(f.c2s_bytes),
                            human(f.s2c_bytes)
                        )
                    } else {
                        format!(
                            "… {} datagrams folded (frames {}-{}): {} from the client, {} from the server …",
                            f.segments,
                            f.first_frame,
                            f.last_frame,
                            human(f.c2s_bytes),
                            human(f.s2c_bytes)
                        )
                    };
                    for line in wrap(&text, arrow_w.saturating_sub(3).max(20)) {
                        let mut l = String::new();
                        pad(&mut l, left);
                        l.push(g.fold);
                        l.push_str("  ");
                        let used = 2 + width(&line);
                        l.push_str(&line);
                        pad(&mut l, arrow_w.saturating_sub(used));
                        l.push(g.fold);
                        writeln!(out, "{}", l.trim_end())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn write_arrow<W: Write>(&self, out: &mut W, a: &Arrow, g: &Glyphs, arrow_w: usize, st: Style) -> io::Result<()> {
        let mut label = String::new();
        if self.proto == Proto::Tcp {
            let _ = write!(label, "[{}]", tcp::FlagList(a.flags));
            let _ = write!(label, " seq={}", a.seq);
            if let Some(k) = a.ack {
                let _ = write!(label, " ack={k}");
            }
            let _ = write!(label, " len={}", a.len);
            if let Some(w) = a.win {
                let _ = write!(label, " win={w}");
            }
        } else {
            let _ = write!(label, "UDP len={}", a.len);
        }
        let _ = st;
        // Leave room for the arrow's head and a little shaft on each side.
        let room = arrow_w.saturating_sub(6);
        if width(&label) > room {
            label = label.chars().take(room).collect();
        }
        let shaft = arrow_w - width(&label) - 2;
        let lead = 2.min(shaft);
        let mut body = String::new();
        if a.from_client {
            for _ in 0..lead {
                body.push(g.line);
            }
            body.push(' ');
            body.push_str(&label);
            body.push(' ');
            for _ in 0..shaft.saturating_sub(lead + 1) {
                body.push(g.line);
            }
            body.push(g.right);
        } else {
            body.push(g.left);
            for _ in 0..lead {
                body.push(g.line);
            }
            body.push(' ');
            body.push_str(&label);
            body.push(' ');
            for _ in 0..shaft.saturating_sub(lead + 1) {
                body.push(g.line);
            }
        }
        let (cstate, sstate) =
            if a.from_client { (a.sender_enters, a.receiver_enters) } else { (a.receiver_enters, a.sender_enters) };
        let mut l = String::new();
        let _ = write!(l, "{:>5}{:>11}  {:<12} ", a.frame, secs(a.t), cstate.map_or("", |s| s.name()));
        l.push(g.life);
        l.push_str(&body);
        pad(&mut l, arrow_w.saturating_sub(width(&body)));
        l.push(g.life);
        if let Some(s) = sstate {
            l.push(' ');
            l.push_str(s.name());
        }
        writeln!(out, "{}", l.trim_end())
    }
}

/// Whether the connection got as far as a SYN-ACK before this arrow.
fn ack_established(l: &Ladder, a: &Arrow) -> bool {
    l.rows.iter().any(|r| match r {
        Row::Arrow(x) => x.frame < a.frame && x.flags & tcp::SYN != 0 && x.flags & tcp::ACK != 0,
        Row::Fold(_) => true,
    }) || l.client_start == State::Established
}
