//! `serve` and `send` on 127.0.0.1 with ephemeral ports, bounded in time: the server
//! logs each recv() and the whole messages its framing recovers, however the bytes
//! were coalesced; UDP keeps datagram boundaries; non-loopback targets are refused.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pktlab")
}

struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Server {
    let mut child = Command::new(bin())
        .arg("serve")
        .args(args)
        .args(["--port", "0", "--duration", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(5)).expect("no 'listening' line");
    let port = first.rsplit(':').next().unwrap().parse().unwrap();
    Server { child, lines: rx, port }
}

fn collect(s: &Server, until: &str) -> Vec<String> {
    let mut v = Vec::new();
    while let Ok(l) = s.lines.recv_timeout(Duration::from_secs(5)) {
        let done = l.contains(until);
        v.push(l);
        if done {
            break;
        }
    }
    v
}

#[test]
fn a_slow_reader_gets_coalesced_bytes_and_framing_recovers_every_message() {
    let s = serve(&["tcp-echo", "--framing", "len32be", "--read-delay", "300", "--upper"]);
    let o = Command::new(bin())
        .args([
            "send",
            "tcp",
            "--to",
            &format!("127.0.0.1:{}", s.port),
            "--messages",
            "aa,bbb,cccc",
            "--framing",
            "len32be",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sent = String::from_utf8_lossy(&o.stdout);
    assert_eq!(sent.lines().filter(|l| l.starts_with("sent ")).count(), 3, "{sent}");
    assert!(sent.contains("received 21 bytes back"), "{sent}");
    let log = collect(&s, "closed");
    let recvs: Vec<&String> = log.iter().filter(|l| l.starts_with("recv ")).collect();
    // Three send()s, fewer recv()s: the boundaries are gone on the wire.
    assert!(recvs.len() < 3, "{log:?}");
    let msgs: Vec<&String> = log.iter().filter(|l| l.starts_with("message of ")).collect();
    assert_eq!(msgs.len(), 3, "{log:?}");
    assert!(msgs[0].ends_with(": aa") && msgs[1].ends_with(": bbb") && msgs[2].ends_with(": cccc"), "{msgs:?}");
}

#[test]
fn udp_keeps_datagram_boundaries() {
    let s = serve(&["udp-echo"]);
    let o = Command::new(bin())
        .args(["send", "udp", "--to", &format!("127.0.0.1:{}", s.port), "--messages", "one,two,three"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut got = Vec::new();
    while got.len() < 3 {
        let l = s.lines.recv_timeout(Duration::from_secs(5)).expect("server logged too few datagrams");
        if l.starts_with("recv ") {
            got.push(l);
        }
    }
    assert!(
        got[0].starts_with("recv 3 bytes") && got[1].starts_with("recv 3 bytes") && got[2].starts_with("recv 5 bytes"),
        "{got:?}"
    );
}

#[test]
fn remote_targets_need_permission() {
    let o = Command::new(bin()).args(["send", "tcp", "--to", "192.0.2.1:80"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a loopback address: add --allow-remote"));
}

#[test]
fn scan_finds_the_listening_port() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let range = format!("{}-{}", port.saturating_sub(5).max(1), port.saturating_add(5));
    let o = Command::new(bin()).args(["scan", "127.0.0.1", "--ports", &range, "--timeout", "300"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("127.0.0.1:{port} open")), "{out}");
    let o = Command::new(bin()).args(["scan", "198.51.100.7"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}
