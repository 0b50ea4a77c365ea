//! The scenarios: each writes one story of the course to `Out`.

use std::io::{self, Write};

use super::{Conn, Host, Out, Rng, ACK, FIN, PSH, RST, SYN};
use crate::analysis::framing::Spec;

/// How the TCP session of `handshake` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// The client closes first: FIN, ACK, FIN, ACK (the four-way teardown).
    Client,
    /// The server closes first.
    Server,
    /// Both send FIN before seeing the other's (RFC 9293 section 3.6, simultaneous close).
    Simultaneous,
    /// The server's ACK and FIN ride in one segment: FIN, FIN+ACK, ACK.
    ThreeWay,
    /// The client aborts with RST.
    Rst,
}

pub const RTT_US: u64 = 400;

fn client() -> Host {
    Host::lan(10)
}
fn server() -> Host {
    Host::lan(20)
}

/// Handshake, one request and its reply, then the chosen close.
pub fn handshake<W: Write>(out: &mut Out<W>, rng: &mut Rng, close: Close, half_close: bool) -> io::Result<()> {
    let mut c = Conn::new(
        client(),
        server(),
        40000 + rng.below(20000) as u16,
        8000,
        rng.next_u64() as u32,
        rng.next_u64() as u32,
    );
    c.handshake(out, RTT_US)?;
    out.wait_us(50);
    c.send(out, true, PSH | ACK, b"hello, server\n")?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, ACK, &[])?;
    out.wait_us(100);
    c.send(out, false, PSH | ACK, b"HELLO, CLIENT\n")?;
    out.wait_us(RTT_US / 2);
    c.send(out, true, ACK, &[])?;
    out.wait_us(1000);
    if half_close {
        // The client is done sending but still reads: the server answers after its FIN.
        c.send(out, true, FIN | ACK, &[])?;
        out.wait_us(RTT_US / 2);
        c.send(out, false, ACK, &[])?;
        out.wait_us(500);
        c.send(out, false, PSH | ACK, b"one more line after your FIN\n")?;
        out.wait_us(RTT_US / 2);
        c.send(out, true, ACK, &[])?;
        out.wait_us(500);
        c.send(out, false, FIN | ACK, &[])?;
        out.wait_us(RTT_US / 2);
        return c.send(out, true, ACK, &[]);
    }
    match close {
        Close::Client | Close::Server => {
            let first = close == Close::Client;
            c.send(out, first, FIN | ACK, &[])?;
            out.wait_us(RTT_US / 2);
            c.send(out, !first, ACK, &[])?;
            out.wait_us(300);
            c.send(out, !first, FIN | ACK, &[])?;
            out.wait_us(RTT_US / 2);
            c.send(out, first, ACK, &[])
        }
        Close::ThreeWay => {
            c.send(out, true, FIN | ACK, &[])?;
            out.wait_us(RTT_US / 2);
            c.send(out, false, FIN | ACK, &[])?;
            out.wait_us(RTT_US / 2);
            c.send(out, true, ACK, &[])
        }
        Close::Simultaneous => {
            // Both FINs leave before either arrives: each acks the other's FIN after.
            let (cseq, sseq) = (c.cseq, c.sseq);
            c.send(out, true, FIN | ACK, &[])?;
            c.sseq = sseq;
            out.wait_us(10);
            // The server's FIN acks only what it had seen: the client's data, not its FIN.
            let after = c.cseq;
            c.cseq = cseq;
            c.send(out, false, FIN | ACK, &[])?;
            c.cseq = after;
            out.wait_us(RTT_US / 2);
            c.send(out, true, ACK, &[])?;
            c.send(out, false, ACK, &[])
        }
        Close::Rst => c.send(out, true, RST | ACK, &[]),
    }
}

/// The course's echo exchange: lines sent, answered upper-cased.
pub fn echo_tcp<W: Write>(out: &mut Out<W>, rng: &mut Rng, lines: &[&str]) -> io::Result<()> {
    let mut c =
        Conn::new(client(), server(), 40000 + rng.below(20000) as u16, 7, rng.next_u64() as u32, rng.next_u64() as u32);
    c.handshake(out, RTT_US)?;
    for l in lines {
        out.wait_us(20_000);
        let line = format!("{l}\n");
        c.send(out, true, PSH | ACK, line.as_bytes())?;
        out.wait_us(RTT_US / 2);
        c.send(out, false, PSH | ACK, line.to_uppercase().as_bytes())?;
        out.wait_us(RTT_US / 2);
        c.send(out, true, ACK, &[])?;
    }
    out.wait_us(5000);
    c.send(out, true, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, true, ACK, &[])
}

pub fn echo_udp<W: Write>(out: &mut Out<W>, rng: &mut Rng, lines: &[&str]) -> io::Result<()> {
    let port = 40000 + rng.below(20000) as u16;
    for l in lines {
        out.wait_us(20_000);
        out.udp(client(), server(), port, 7, l.as_bytes())?;
        out.wait_us(RTT_US / 2);
        out.udp(server(), client(), 7, port, l.to_uppercase().as_bytes())?;
    }
    Ok(())
}

/// Who-has and is-at, then a gratuitous announcement.
pub fn arp<W: Write>(out: &mut Out<W>) -> io::Result<()> {
    out.arp(1, client(), server(), [0; 6])?;
    out.wait_us(150);
    out.arp(2, server(), client(), client().mac)?;
    out.wait_us(1_000_000);
    out.arp(1, server(), server(), [0; 6])
}

/// A SYN to a closed port, answered by RST-ACK: the refused `connect()`.
pub fn refused<W: Write>(out: &mut Out<W>, rng: &mut Rng) -> io::Result<()> {
    let mut c = Conn::new(client(), server(), 40000 + rng.below(20000) as u16, 9999, rng.next_u64() as u32, 0);
    c.send(out, true, SYN, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, RST | ACK, &[])
}

/// SYNs to a port range: open ports answer SYN-ACK (and the scanner resets), closed
/// ones RST-ACK.
pub fn scan<W: Write>(out: &mut Out<W>, rng: &mut Rng, first: u16, last: u16, open: &[u16]) -> io::Result<()> {
    let sport = 40000 + rng.below(20000) as u16;
    for port in first..=last {
        let mut c = Conn::new(client(), server(), sport, port, rng.next_u64() as u32, rng.next_u64() as u32);
        c.send(out, true, SYN, &[])?;
        out.wait_us(RTT_US / 2);
        if open.contains(&port) {
            c.send(out, false, SYN | ACK, &[])?;
            out.wait_us(RTT_US / 2);
            c.send(out, true, RST, &[])?;
        } else {
            c.send(out, false, RST | ACK, &[])?;
        }
        out.wait_us(100);
    }
    Ok(())
}

/// A transfer whose sequence numbers wrap past 2^32 (RFC 9293 section 3.4: modulo 2^32).
pub fn wrap<W: Write>(out: &mut Out<W>, rng: &mut Rng) -> io::Result<()> {
    let mut c = Conn::new(client(), server(), 40000 + rng.below(20000) as u16, 8000, u32::MAX - 1500, u32::MAX - 10);
    c.handshake(out, RTT_US)?;
    let body = vec![b'w'; 1000];
    for _ in 0..3 {
        out.wait_us(100);
        c.send(out, true, PSH | ACK, &body)?;
        out.wait_us(RTT_US / 2);
        c.send(out, false, ACK, &[])?;
    }
    c.send(out, true, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, true, ACK, &[])
}

/// Options of the sticky-packet scenario.
#[derive(Clone, Debug)]
pub struct Sticky {
    pub sizes: Vec<usize>,
    /// How messages are framed (the receiver's fix for lost boundaries).
    pub framing: Spec,
    pub mss: usize,
    /// Messages written in one burst, which Nagle coalesces into shared segments.
    pub coalesce: usize,
}

/// Framed messages on one connection: `coalesce` messages per burst share segments,
/// and a burst longer than the MSS is split. Returns the framed client stream.
pub fn sticky<W: Write>(out: &mut Out<W>, rng: &mut Rng, s: &Sticky) -> io::Result<Vec<u8>> {
    let mut c = Conn::new(
        client(),
        server(),
        40000 + rng.below(20000) as u16,
        9000,
        rng.next_u64() as u32,
        rng.next_u64() as u32,
    );
    c.handshake(out, RTT_US)?;
    let mut stream = Vec::new();
    let mut burst = Vec::new();
    for (k, chunk) in s.sizes.chunks(s.coalesce.max(1)).enumerate() {
        burst.clear();
        for (i, &size) in chunk.iter().enumerate() {
            let n = k * s.coalesce.max(1) + i;
            // Bodies say which message they are, so a reader can check the reassembly.
            let mut body = format!("msg{n}:").into_bytes();
            body.resize(size.max(body.len()), b'a' + (n % 26) as u8);
            body.truncate(size);
            s.framing.encode(&body, &mut burst).map_err(|e| io::Error::other(format!("message {n}: {e}")))?;
        }
        stream.extend_from_slice(&burst);
        out.wait_us(2000);
        for seg in burst.chunks(s.mss.max(1)) {
            c.send(out, true, PSH | ACK, seg)?;
            out.wait_us(20);
        }
        out.wait_us(RTT_US / 2);
        c.send(out, false, ACK, &[])?;
    }
    out.wait_us(1000);
    c.send(out, true, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, true, ACK, &[])?;
    Ok(stream)
}

/// A large mix for benchmarks: many concurrent connections moving data with ACKs,
/// new connections replacing finished ones, UDP queries and ARP in between.
pub fn mix<W: Write>(out: &mut Out<W>, rng: &mut Rng, frames: u64) -> io::Result<()> {
    const CONNS: usize = 512;
    static PAYLOAD: [u8; 1460] = [b'm'; 1460];
    let payload: &'static [u8] = &PAYLOAD;
    // Partial checksums of every payload length, so data segments are not summed per frame.
    let mut sums = vec![0u32; payload.len() + 1];
    for len in 1..=payload.len() {
        sums[len] = if len % 2 == 0 { sums[len - 2] + 0x6d6d } else { sums[len - 1] + 0x6d00 };
    }
    let ack_sum = 0;
    let mut conns: Vec<(Conn, u32)> = Vec::with_capacity(CONNS);
    let mut next_port: u16 = 20000;
    let new_conn = |rng: &mut Rng, port: u16| {
        let c = Host::lan(10 + (rng.below(100) as u8));
        let s = Host::lan(150 + (rng.below(100) as u8));
        (
            Conn::new(
                c,
                s,
                port,
                [80, 443, 8080, 9000][rng.below(4) as usize],
                rng.next_u64() as u32,
                rng.next_u64() as u32,
            ),
            0u32,
        )
    };
    while out.frames() < frames {
        out.wait_us(5);
        let r = rng.below(100);
        if r < 2 {
            let (a, b) = (Host::lan(10 + rng.below(100) as u8), Host::lan(1));
            out.udp(
                a,
                b,
                30000 + rng.below(30000) as u16,
                53,
                b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01",
            )?;
            continue;
        }
        if r < 3 {
            out.arp(1, Host::lan(10 + rng.below(100) as u8), Host::lan(1), [0; 6])?;
            continue;
        }
        if conns.len() < CONNS {
            next_port = if next_port >= 65000 { 20000 } else { next_port + 1 };
            let mut c = new_conn(rng, next_port);
            c.0.handshake(out, 100)?;
            conns.push(c);
            continue;
        }
        let i = rng.below(CONNS as u64) as usize;
        let (c, sent) = &mut conns[i];
        if *sent >= 40 {
            c.send(out, true, FIN | ACK, &[])?;
            c.send(out, false, FIN | ACK, &[])?;
            c.send(out, true, ACK, &[])?;
            conns.swap_remove(i);
            continue;
        }
        let len = 1 + rng.below(payload.len() as u64) as usize;
        c.send_fast(out, false, PSH | ACK, &payload[..len], sums[len])?;
        c.send_fast(out, true, ACK, &[], ack_sum)?;
        *sent += 1;
    }
    Ok(())
}

/// A bulk transfer that loses one segment: the receiver's duplicate ACKs, the
/// sender's fast retransmission after the third (RFC 5681 section 3.2), and the
/// cumulative ACK once the gap is filled.
pub fn loss<W: Write>(out: &mut Out<W>, rng: &mut Rng) -> io::Result<()> {
    let mut c = Conn::new(
        client(),
        server(),
        40000 + rng.below(20000) as u16,
        8000,
        rng.next_u64() as u32,
        rng.next_u64() as u32,
    );
    c.handshake(out, RTT_US)?;
    let seg = vec![b'd'; 1000];
    for i in 0..8 {
        out.wait_us(50);
        if i == 2 {
            // Lost on the way: the sender's sequence moves on, the wire never sees it.
            let lost_at = c.cseq;
            c.cseq = c.cseq.wrapping_add(seg.len() as u32);
            out.wait_us(50);
            c.send(out, true, PSH | ACK, &seg)?;
            // Every later segment makes the receiver repeat its ACK for the gap.
            let resume = c.cseq;
            c.cseq = lost_at;
            out.wait_us(RTT_US / 2);
            for _ in 0..3 {
                c.send(out, false, ACK, &[])?;
                out.wait_us(30);
            }
            // Three duplicates: fast retransmission of the missing segment.
            c.send(out, true, PSH | ACK, &seg)?;
            c.cseq = resume;
            out.wait_us(RTT_US / 2);
            c.send(out, false, ACK, &[])?;
            continue;
        }
        c.send(out, true, PSH | ACK, &seg)?;
        if i % 2 == 1 {
            out.wait_us(RTT_US / 2);
            c.send(out, false, ACK, &[])?;
        }
    }
    out.wait_us(RTT_US / 2);
    c.send(out, false, ACK, &[])?;
    c.send(out, true, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, true, ACK, &[])
}

/// A receiver that stops reading: its window shrinks to zero, the sender probes
/// (RFC 9293 section 3.8.6.1), and a window update lets the transfer go on.
pub fn zero_window<W: Write>(out: &mut Out<W>, rng: &mut Rng) -> io::Result<()> {
    let mut c = Conn::new(
        client(),
        server(),
        40000 + rng.below(20000) as u16,
        8000,
        rng.next_u64() as u32,
        rng.next_u64() as u32,
    );
    c.handshake(out, RTT_US)?;
    let seg = vec![b'z'; 1000];
    // The receiver advertises less room after each segment it does not read.
    for win in [16u16, 8, 0] {
        out.wait_us(100);
        c.window = 501;
        c.send(out, true, PSH | ACK, &seg)?;
        out.wait_us(RTT_US / 2);
        c.window = win;
        c.send(out, false, ACK, &[])?;
    }
    // Zero-window probes with growing backoff, each answered with the window still 0.
    for backoff in [200_000u64, 400_000, 800_000] {
        out.wait_us(backoff);
        c.window = 501;
        let probe_at = c.cseq;
        c.send(out, true, ACK, &seg[..1])?;
        c.cseq = probe_at;
        out.wait_us(RTT_US / 2);
        c.window = 0;
        c.send(out, false, ACK, &[])?;
    }
    // The application reads: a window update, and data flows again.
    out.wait_us(50_000);
    c.window = 501;
    c.send(out, false, ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, true, PSH | ACK, &seg)?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, ACK, &[])?;
    c.send(out, true, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, false, FIN | ACK, &[])?;
    out.wait_us(RTT_US / 2);
    c.send(out, true, ACK, &[])
}
