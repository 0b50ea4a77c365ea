//! Real loopback peers for the sticky-packet lesson: `serve` logs every `recv()` with
//! its size (the receiver's view of message boundaries) and, with a framing, also
//! the whole messages it reassembles; `send` writes each message with one `send()`.
//! Bounded: a client limit, a count, a duration; loopback unless the user allows more.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::framing::{self, Framer, Spec};

/// Refuses a non-loopback address unless the user said so: the tool must not
/// surprise anyone's network.
pub fn check_target(addr: IpAddr, allow_remote: bool) -> io::Result<()> {
    if addr.is_loopback() || allow_remote {
        Ok(())
    } else {
        Err(io::Error::other(format!("{addr} is not a loopback address: add --allow-remote to use the network")))
    }
}

/// Options of `serve`.
pub struct Serve {
    pub udp: bool,
    pub port: u16,
    pub upper: bool,
    pub read_delay: Duration,
    pub recv_size: usize,
    pub framing: Option<Spec>,
    pub max_clients: usize,
    pub duration: Option<Duration>,
}

fn preview(b: &[u8]) -> String {
    preview_of(b, b.len() as u64)
}

/// The first 40 bytes of something `len` bytes long, printable.
fn preview_of(b: &[u8], len: u64) -> String {
    let s: String = b.iter().take(40).map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { '.' }).collect();
    if len > 40 {
        format!("{s}…")
    } else {
        s
    }
}

/// Runs the echo server until the duration ends (or forever without one), logging to
/// `log` (one line per event; shared by the client threads).
pub fn serve(opts: Serve, log: Arc<std::sync::Mutex<Box<dyn Write + Send>>>) -> io::Result<()> {
    let started = Instant::now();
    let say = |line: String| {
        if let Ok(mut l) = log.lock() {
            let _ = writeln!(l, "{line}");
            let _ = l.flush();
        }
    };
    let up = |b: &[u8]| if opts.upper { b.to_ascii_uppercase() } else { b.to_vec() };
    if opts.udp {
        let sock = UdpSocket::bind(("127.0.0.1", opts.port))?;
        say(format!("listening on udp {}", sock.local_addr()?));
        sock.set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut buf = vec![0u8; 65_536];
        while opts.duration.is_none_or(|d| started.elapsed() < d) {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    say(format!("recv {n} bytes from {from}: {}", preview(&buf[..n])));
                    sock.send_to(&up(&buf[..n]), from)?;
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        return Ok(());
    }
    let listener = TcpListener::bind(("127.0.0.1", opts.port))?;
    say(format!("listening on tcp {}", listener.local_addr()?));
    listener.set_nonblocking(true)?;
    let active = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| -> io::Result<()> {
        while opts.duration.is_none_or(|d| started.elapsed() < d) {
            match listener.accept() {
                Ok((mut stream, from)) => {
                    if active.load(Ordering::SeqCst) >= opts.max_clients {
                        say(format!("refused {from}: already {} clients", opts.max_clients));
                        continue;
                    }
                    active.fetch_add(1, Ordering::SeqCst);
                    let (active, say, up, opts) = (active.clone(), &say, &up, &opts);
                    s.spawn(move || {
                        say(format!("accepted {from}"));
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                        let mut buf = vec![0u8; opts.recv_size.max(1)];
                        // The framer keeps only a header in progress, never a whole message.
                        let mut framer = opts.framing.clone().map(Framer::new);
                        let mut at = 0u64;
                        let mut report = |e: framing::Event| match e {
                            framing::Event::Message(m) => say(format!(
                                "message of {} bytes: {}",
                                m.len(),
                                preview_of(m.preview.as_bytes(), m.len())
                            )),
                            other => say(format!("{from}: {other}")),
                        };
                        loop {
                            if opts.duration.is_some_and(|d| started.elapsed() >= d) {
                                break;
                            }
                            std::thread::sleep(opts.read_delay);
                            match stream.read(&mut buf) {
                                Ok(0) => {
                                    if let Some(f) = &mut framer {
                                        f.finish(&mut report);
                                    }
                                    say(format!("{from} closed"));
                                    break;
                                }
                                Ok(n) => {
                                    say(format!("recv {n} bytes from {from}: {}", preview(&buf[..n])));
                                    if let Some(f) = &mut framer {
                                        f.feed(at, &buf[..n], &mut report);
                                        at += n as u64;
                                    }
                                    if stream.write_all(&up(&buf[..n])).is_err() {
                                        break;
                                    }
                                }
                                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                                Err(_) => break,
                            }
                        }
                        active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
}

/// Options of `send`.
pub struct SendOpts {
    pub udp: bool,
    pub to: SocketAddr,
    pub messages: Vec<String>,
    pub framing: Option<Spec>,
    pub nodelay: bool,
    pub count: usize,
    pub interval: Duration,
}

/// Sends each message with one `send()`, `count` rounds; returns what it printed.
pub fn send(opts: &SendOpts, out: &mut dyn Write) -> io::Result<()> {
    let frame = |m: &str| -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        match &opts.framing {
            Some(f) => f.encode(m.as_bytes(), &mut v).map_err(|e| io::Error::other(format!("'{m}': {e}")))?,
            None => v.extend_from_slice(m.as_bytes()),
        }
        Ok(v)
    };
    if opts.udp {
        let sock = UdpSocket::bind(("127.0.0.1", 0))?;
        for round in 0..opts.count {
            for m in &opts.messages {
                let b = frame(m)?;
                sock.send_to(&b, opts.to)?;
                writeln!(out, "sent {} bytes (round {}): {}", b.len(), round + 1, preview(&b))?;
            }
            std::thread::sleep(opts.interval);
        }
        return Ok(());
    }
    let mut s = TcpStream::connect_timeout(&opts.to, Duration::from_secs(5))?;
    s.set_nodelay(opts.nodelay)?;
    for round in 0..opts.count {
        for m in &opts.messages {
            let b = frame(m)?;
            s.write_all(&b)?;
            writeln!(out, "sent {} bytes (round {}): {}", b.len(), round + 1, preview(&b))?;
        }
        std::thread::sleep(opts.interval);
    }
    s.shutdown(std::net::Shutdown::Write)?;
    // Read the echoes until the server closes or goes quiet, so the capture shows both sides.
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut buf = [0u8; 65_536];
    let mut total = 0;
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n;
    }
    writeln!(out, "received {total} bytes back")?;
    Ok(())
}

/// A TCP connect scan: tries each port with a timeout, `concurrency` at a time, and
/// returns the open ones in order. Closed ports answer RST at once; filtered ones time out.
pub fn scan(host: IpAddr, first: u16, last: u16, timeout: Duration, concurrency: usize) -> Vec<u16> {
    let ports: Vec<u16> = (first..=last).collect();
    let mut open = Vec::new();
    for chunk in ports.chunks(concurrency.max(1)) {
        let found: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&p| {
                    s.spawn(move || TcpStream::connect_timeout(&SocketAddr::new(host, p), timeout).is_ok().then_some(p))
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok().flatten()).collect()
        });
        open.extend(found);
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_permission() {
        assert!(check_target("127.0.0.1".parse().unwrap(), false).is_ok());
        assert!(check_target("::1".parse().unwrap(), false).is_ok());
        assert!(check_target("192.0.2.1".parse().unwrap(), false).is_err());
        assert!(check_target("192.0.2.1".parse().unwrap(), true).is_ok());
    }
}
