//! The traffic of `pktlab demo`: each lesson scenario once with real sockets on
//! loopback (to be captured live) and once synthetically, in memory (when there is no
//! capture privilege). The server's side of each story, what its `recv()` calls
//! returned, is logged so it can be shown next to the capture.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use super::scenarios::{self, Close, Sticky};
use super::{Out, Rng};
use crate::analysis::framing::{self, Spec};
use crate::sink::pcap::PcapSink;
use crate::source::LinkType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// connect()/accept(): the three-way handshake, one request and its answer, close().
    Handshake,
    /// The close in detail: the client shuts down its sending side first and still
    /// reads the server's last words (half-close), then both FINs.
    Teardown,
    /// Small framed messages sent fast and one large one: where the boundaries go.
    Sticky,
    /// The same exchange over UDP: datagrams keep their boundaries.
    Udp,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [Scenario::Handshake, Scenario::Teardown, Scenario::Sticky, Scenario::Udp];

    pub fn title(self) -> &'static str {
        match self {
            Scenario::Handshake => "handshake: connect() and accept()",
            Scenario::Teardown => "teardown: close(), FIN and TIME-WAIT",
            Scenario::Sticky => "sticky packets: TCP is a byte stream",
            Scenario::Udp => "UDP: one sendto() is one datagram",
        }
    }
}

/// The messages of the sticky scenario: small ones a program writes in a burst,
/// then one larger than a segment.
pub fn sticky_sizes() -> Vec<usize> {
    vec![12, 5, 30, 7, 18, 3, 25, 9, 4000]
}

/// The framing the sticky scenario uses: Python's `struct.pack('i', n)` header.
pub fn sticky_spec() -> Spec {
    "len32le".parse().expect("a valid spec")
}

/// The scenario as a pcap file in memory, as `pktlab gen` would write it.
pub fn synthetic(s: Scenario) -> io::Result<Vec<u8>> {
    let sink = PcapSink::new(Vec::new(), LinkType::ETHERNET, 262_144)?;
    let mut out = Out::new(sink);
    let mut rng = Rng::new(1);
    match s {
        Scenario::Handshake => scenarios::handshake(&mut out, &mut rng, Close::Client, false)?,
        Scenario::Teardown => scenarios::handshake(&mut out, &mut rng, Close::Server, true)?,
        Scenario::Sticky => {
            let st = Sticky { sizes: sticky_sizes(), framing: sticky_spec(), mss: 1460, coalesce: 4 };
            scenarios::sticky(&mut out, &mut rng, &st)?;
        }
        Scenario::Udp => scenarios::echo_udp(&mut out, &mut rng, &["hello", "how are you?", "bye"])?,
    }
    out.finish()
}

/// Sockets bound before the capture starts, so its filter can name the port.
pub enum Prepared {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

impl Prepared {
    pub fn bind(s: Scenario) -> io::Result<Prepared> {
        Ok(match s {
            Scenario::Udp => Prepared::Udp(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?),
            _ => Prepared::Tcp(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?),
        })
    }

    pub fn port(&self) -> io::Result<u16> {
        Ok(match self {
            Prepared::Tcp(l) => l.local_addr()?.port(),
            Prepared::Udp(u) => u.local_addr()?.port(),
        })
    }

    /// Runs the exchange with real sockets on 127.0.0.1; returns the server's log.
    pub fn run(self, s: Scenario) -> io::Result<Vec<String>> {
        const LIMIT: Duration = Duration::from_secs(5);
        match self {
            Prepared::Udp(server) => {
                server.set_read_timeout(Some(LIMIT))?;
                let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
                client.set_read_timeout(Some(LIMIT))?;
                client.connect(server.local_addr()?)?;
                let mut log = Vec::new();
                let mut buf = [0u8; 2048];
                for line in ["hello", "how are you?", "bye"] {
                    client.send(line.as_bytes())?;
                    let (n, from) = server.recv_from(&mut buf)?;
                    log.push(format!("server recvfrom() -> {n} bytes: {:?} (one datagram, boundary kept)", line));
                    server.send_to(&buf[..n].to_ascii_uppercase(), from)?;
                    client.recv(&mut buf)?;
                }
                Ok(log)
            }
            Prepared::Tcp(listener) => {
                let addr = listener.local_addr()?;
                let server = std::thread::spawn(move || serve_one(listener, s));
                let mut c = TcpStream::connect_timeout(&addr, LIMIT)?;
                c.set_read_timeout(Some(LIMIT))?;
                let mut buf = [0u8; 4096];
                match s {
                    Scenario::Handshake => {
                        c.write_all(b"hello, server\n")?;
                        let _ = c.read(&mut buf)?;
                        drop(c);
                    }
                    Scenario::Teardown => {
                        c.write_all(b"hello, server\n")?;
                        // Done sending; keep reading until the server closes too.
                        c.shutdown(Shutdown::Write)?;
                        let mut rest = Vec::new();
                        c.read_to_end(&mut rest)?;
                    }
                    Scenario::Sticky => {
                        // Nagle stays on: small writes while one is unacknowledged wait and
                        // leave together.
                        let spec = sticky_spec();
                        let mut framed = Vec::new();
                        for (i, n) in sticky_sizes().into_iter().enumerate() {
                            framed.clear();
                            let body: Vec<u8> = (0..n).map(|k| b'a' + ((i + k) % 26) as u8).collect();
                            spec.encode(&body, &mut framed).map_err(io::Error::other)?;
                            c.write_all(&framed)?;
                        }
                        c.shutdown(Shutdown::Write)?;
                        let mut rest = Vec::new();
                        c.read_to_end(&mut rest)?;
                    }
                    Scenario::Udp => unreachable!("bound as UDP"),
                }
                server.join().map_err(|_| io::Error::other("the demo server thread failed"))?
            }
        }
    }
}

fn serve_one(listener: TcpListener, s: Scenario) -> io::Result<Vec<String>> {
    let (mut conn, peer) = listener.accept()?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut log = vec![format!("server accept() -> connection from {peer}")];
    let mut buf = vec![0u8; 4096];
    match s {
        Scenario::Handshake => {
            let n = conn.read(&mut buf)?;
            log.push(format!("server recv() -> {n} bytes"));
            conn.write_all(&buf[..n].to_ascii_uppercase())?;
            let n = conn.read(&mut buf)?;
            log.push(format!("server recv() -> {n} bytes: the client closed (end of file)"));
        }
        Scenario::Teardown => {
            let n = conn.read(&mut buf)?;
            log.push(format!("server recv() -> {n} bytes"));
            let n = conn.read(&mut buf)?;
            log.push(format!("server recv() -> {n} bytes: end of file, the client sent its FIN"));
            conn.write_all(b"still here: a half-closed connection can carry data the other way\n")?;
            log.push("server send() after the client's FIN, then close()".into());
        }
        Scenario::Sticky => {
            // A slow reader: by the time it reads, several messages wait in its buffer.
            std::thread::sleep(Duration::from_millis(50));
            let mut framer = framing::Framer::new(sticky_spec());
            let mut offset = 0u64;
            let mut last_end = 0u64;
            let mut next_msg = 1u64;
            loop {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    log.push("server recv() -> 0 bytes: end of file".into());
                    break;
                }
                let mut done = Vec::new();
                framer.feed(offset, &buf[..n], &mut |e| {
                    if let framing::Event::Message(m) = e {
                        done.push(m.number);
                        last_end = m.body.end;
                    }
                });
                offset += n as u64;
                let mut msgs = match (done.first(), done.last()) {
                    (Some(a), Some(b)) if a == b => format!("completes message {a}"),
                    (Some(a), Some(b)) => format!("completes messages {a}-{b}"),
                    _ => "completes no message".into(),
                };
                if offset > last_end {
                    let next = done.last().map_or(next_msg, |m| m + 1);
                    msgs +=
                        &format!(", and holds {} bytes of message {next}", offset - last_end.max(offset - n as u64));
                }
                next_msg = done.last().map_or(next_msg, |m| m + 1);
                log.push(format!("server recv() -> {n} bytes: {msgs}"));
            }
        }
        Scenario::Udp => {}
    }
    drop(conn);
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_synthetic_scenario_is_a_readable_capture() {
        for s in Scenario::ALL {
            let bytes = synthetic(s).unwrap();
            let mut cap =
                crate::source::CaptureFile::from_reader("demo", Box::new(std::io::Cursor::new(bytes))).unwrap();
            let mut n = 0;
            while cap.next_frame().unwrap().is_some() {
                n += 1;
            }
            assert!(n >= 3, "{s:?}: {n} frames");
        }
    }

    #[test]
    fn real_sockets_on_loopback() {
        for s in Scenario::ALL {
            let p = Prepared::bind(s).unwrap();
            assert!(p.port().unwrap() > 0);
            let log = p.run(s).unwrap();
            assert!(!log.is_empty(), "{s:?}");
            if s == Scenario::Sticky {
                assert!(log.iter().any(|l| l.contains("messages")), "{log:?}");
            }
        }
    }
}
