//! Live capture on `lo`, checked against traffic the test itself sends to 127.0.0.1.
//! These need root (CI is root); elsewhere they print why and pass without running.
//! Every wait is bounded, so a capture that hangs fails the test instead of CI.
//! Tests run in parallel on the same `lo`: each one recognizes its own traffic by
//! the ports it bound, never by counting everything.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pktlab::source::live::{bpf, LiveSource, Options};
use pktlab::source::CaptureFile;

const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

macro_rules! need_root {
    () => {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            crate::common::skip("live capture needs root (CAP_NET_RAW); CI runs as root");
            return;
        }
    };
}

/// A frame as the test keeps it: owned, with the fields it checks.
#[derive(Clone, Debug)]
struct Seen {
    ts: u64,
    orig_len: u32,
    data: Vec<u8>,
}

/// The parts of an Ethernet/IPv4/{TCP,UDP} frame on lo the checks look at.
#[derive(Debug, PartialEq)]
struct L4<'a> {
    proto: u8,
    src: u16,
    dst: u16,
    flags: u8,
    payload: &'a [u8],
}

fn l4(f: &[u8]) -> Option<L4<'_>> {
    if f.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = f.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let proto = *ip.get(9)?;
    let t = ip.get(ihl..total)?;
    let (src, dst) = (u16::from_be_bytes([t[0], t[1]]), u16::from_be_bytes([*t.get(2)?, *t.get(3)?]));
    match proto {
        17 => Some(L4 { proto, src, dst, flags: 0, payload: t.get(8..)? }),
        6 => {
            let off = usize::from(t.get(12)? >> 4) * 4;
            Some(L4 { proto, src, dst, flags: *t.get(13)?, payload: t.get(off..)? })
        }
        _ => None,
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// Captures on lo in a thread until `stop` is set; the frames come back on the channel.
fn capture_in_thread(opts: Options) -> (Arc<AtomicBool>, mpsc::Receiver<Vec<Seen>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut src = LiveSource::open(&opts, Arc::clone(&stop)).expect("open lo");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut v = Vec::new();
        while let Some(f) = src.next_frame().expect("next_frame") {
            v.push(Seen { ts: f.ts.0, orig_len: f.orig_len, data: f.data.to_vec() });
        }
        let st = src.kernel_stats();
        assert_eq!(st.dropped, 0, "kernel dropped frames: {st:?}");
        let _ = tx.send(v);
    });
    (stop, rx)
}

fn finish(stop: Arc<AtomicBool>, rx: mpsc::Receiver<Vec<Seen>>) -> Vec<Seen> {
    // Let the last frames of the sender's traffic reach the socket.
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    rx.recv_timeout(Duration::from_secs(5)).expect("capture thread did not stop within 5 s")
}

/// A UDP receiver on 127.0.0.1 (bound, so no ICMP port-unreachable comes back).
fn udp_pair() -> (UdpSocket, UdpSocket) {
    let rx = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let tx = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    tx.connect(rx.local_addr().unwrap()).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    (tx, rx)
}

/// One TCP connection: handshake, `data` from client to server, both sides close.
fn tcp_exchange(data: &[u8]) -> (u16, u16) {
    let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let server_port = listener.local_addr().unwrap().port();
    let expected = data.len();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), expected);
    });
    let mut c = TcpStream::connect_timeout(&(LOCALHOST, server_port).into(), Duration::from_secs(2)).unwrap();
    let client_port = c.local_addr().unwrap().port();
    c.write_all(data).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    server.join().unwrap();
    drop(c);
    (client_port, server_port)
}

#[test]
fn loopback_frames_once_whole_and_kernel_stamped() {
    need_root!();
    let t0 = now_ns();
    let (stop, rx) = capture_in_thread(Options::new("lo"));

    let (tx, udp_rx) = udp_pair();
    let (udp_src, udp_dst) = (tx.local_addr().unwrap().port(), udp_rx.local_addr().unwrap().port());
    let mut sent: Vec<Vec<u8>> = (0..5u8).map(|i| vec![b'a' + i; 10 + usize::from(i)]).collect();
    sent.push((0..60_000u32).map(|i| (i % 251) as u8).collect());
    let mut buf = vec![0; 65_536];
    for d in &sent {
        tx.send(d).unwrap();
        assert_eq!(udp_rx.recv(&mut buf).unwrap(), d.len());
    }
    let stream: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let (cport, sport) = tcp_exchange(&stream);

    let frames = finish(stop, rx);
    let t1 = now_ns();

    // Timestamps: the kernel's, in order, within the test's run.
    for w in frames.windows(2) {
        assert!(w[0].ts <= w[1].ts, "timestamps go backwards: {} then {}", w[0].ts, w[1].ts);
    }
    for f in &frames {
        assert!(f.ts + 1_000_000_000 >= t0 && f.ts <= t1 + 1_000_000_000, "timestamp {} outside the run", f.ts);
    }

    // UDP: each datagram exactly once, not cut, with the right original length.
    let ours: Vec<L4<'_>> = frames
        .iter()
        .filter_map(|f| l4(&f.data))
        .filter(|l| l.proto == 17 && l.src == udp_src && l.dst == udp_dst)
        .collect();
    assert_eq!(ours.len(), sent.len(), "each datagram once (lo shows outgoing and incoming copies)");
    for (l, d) in ours.iter().zip(&sent) {
        assert_eq!(l.payload, &d[..]);
    }
    let big = frames.iter().find(|f| l4(&f.data).is_some_and(|l| l.proto == 17 && l.payload.len() == 60_000)).unwrap();
    assert_eq!(big.orig_len as usize, 14 + 20 + 8 + 60_000);
    assert_eq!(big.data.len(), big.orig_len as usize, "a 60 KB frame must not be cut");

    // TCP: handshake and teardown once each, the stream's bytes exact, in order.
    let tcp: Vec<L4<'_>> = frames
        .iter()
        .filter_map(|f| l4(&f.data))
        .filter(|l| l.proto == 6 && ((l.src, l.dst) == (cport, sport) || (l.src, l.dst) == (sport, cport)))
        .collect();
    let count = |from: u16, mask: u8, want: u8| tcp.iter().filter(|l| l.src == from && l.flags & mask == want).count();
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const FIN: u8 = 0x01;
    assert_eq!(count(cport, SYN | ACK, SYN), 1, "one SYN: {tcp:?}");
    assert_eq!(count(sport, SYN | ACK, SYN | ACK), 1, "one SYN-ACK");
    assert_eq!(count(cport, FIN, FIN), 1, "one FIN from the client");
    assert_eq!(count(sport, FIN, FIN), 1, "one FIN from the server");
    let payload: Vec<u8> = tcp.iter().filter(|l| l.src == cport).flat_map(|l| l.payload.iter().copied()).collect();
    assert_eq!(payload.len(), stream.len());
    assert!(payload == stream, "the captured stream differs from what was sent");
    assert!(tcp.iter().any(|l| l.payload.len() > 4096), "expected segments above 4096 bytes on lo");
}

#[test]
fn kernel_filter_passes_only_the_port_asked_for() {
    need_root!();
    let (tx, rx_wanted) = udp_pair();
    let other = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let port = rx_wanted.local_addr().unwrap().port();
    let mut opts = Options::new("lo");
    opts.kernel_filter = Some(bpf::Simple::UdpPort(port));
    let (stop, rx) = capture_in_thread(opts);
    for i in 0..10u8 {
        tx.send(&[i; 20]).unwrap();
        tx.send_to(&[i; 30], other.local_addr().unwrap()).unwrap();
    }
    let frames = finish(stop, rx);
    assert!(!frames.is_empty());
    for f in &frames {
        let l = l4(&f.data).unwrap_or_else(|| panic!("frame the filter should have dropped: {:02x?}", &f.data));
        assert!(l.src == port || l.dst == port, "port {port} wanted, got {l:?}");
    }
    assert_eq!(frames.len(), 10);
}

/// A running `pktlab capture`, killed if the test ends first.
struct Capture {
    child: Child,
    stderr: mpsc::Receiver<String>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Capture {
    /// Starts the binary and waits until it says it is capturing.
    fn start(args: &[&str]) -> Capture {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pktlab"))
            .arg("capture")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Drained as it comes: a full pipe would block the capture (other tests fill lo too).
        let mut out = child.stdout.take().unwrap();
        let stdout = Some(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        }));
        let banner = rx.recv_timeout(Duration::from_secs(5)).expect("no banner within 5 s");
        assert!(banner.contains("capturing on lo"), "{banner}");
        Capture { child, stderr: rx, stdout }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    /// Waits (bounded) for the exit; returns the status, stdout and stderr lines.
    fn wait(mut self, limit: Duration) -> (std::process::ExitStatus, String, Vec<String>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "pktlab capture did not stop within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self.stdout.take().unwrap().join().unwrap();
        let mut err = Vec::new();
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_secs(2)) {
            err.push(l);
        }
        (status, out, err)
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pktlab-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The number before `what` in the summary line.
fn summary_number(err: &[String], what: &str) -> u64 {
    let line = err.iter().find(|l| l.contains("stopped (")).unwrap_or_else(|| panic!("no summary in {err:?}"));
    let before = &line[..line.find(what).unwrap_or_else(|| panic!("no {what:?} in {line}"))];
    // "8 frames captured", "1 frame captured", "8 written": the last number before `what`.
    before.split_whitespace().rev().find_map(|w| w.parse().ok()).unwrap()
}

fn frames_in(path: &std::path::Path) -> Vec<(u32, Vec<u8>)> {
    let mut cap = CaptureFile::open(path.to_str().unwrap()).unwrap();
    let mut v = Vec::new();
    while let Some(f) = cap.next_frame().unwrap() {
        v.push((f.orig_len, f.data.to_vec()));
    }
    v
}

fn send_udp(n: usize) -> (u16, Vec<Vec<u8>>) {
    let (tx, rx) = udp_pair();
    let mut sent = Vec::new();
    let mut buf = [0u8; 2048];
    for i in 0..n {
        let d = format!("pktlab live test datagram {i}").into_bytes();
        tx.send(&d).unwrap();
        rx.recv(&mut buf).unwrap();
        sent.push(d);
    }
    (rx.local_addr().unwrap().port(), sent)
}

#[test]
fn sigint_leaves_a_complete_pcap_with_every_reported_frame() {
    need_root!();
    let path = tmp("sigint.pcap");
    let cap = Capture::start(&["-i", "lo", "-w", path.to_str().unwrap(), "--format", "jsonl"]);
    let (port, sent) = send_udp(20);
    std::thread::sleep(Duration::from_millis(300));
    cap.signal(libc::SIGINT);
    let (status, out, err) = cap.wait(Duration::from_secs(5));
    assert!(status.success(), "{status:?} {err:?}");
    let written = summary_number(&err, "written");
    assert_eq!(summary_number(&err, "captured"), written);
    let file = frames_in(&path);
    assert_eq!(file.len() as u64, written, "{err:?}");
    // What was shown is what was written, frame for frame.
    let shown: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(shown.len(), file.len());
    for (i, (j, (orig_len, data))) in shown.iter().zip(&file).enumerate() {
        assert_eq!(j["frame"]["number"], i as u64 + 1);
        assert_eq!(j["frame"]["len"], u64::from(*orig_len));
        assert_eq!(j["frame"]["cap_len"], data.len() as u64);
    }
    // Our datagrams, each once.
    for d in &sent {
        let n = file.iter().filter(|(_, f)| l4(f).is_some_and(|l| l.dst == port && l.payload == &d[..])).count();
        assert_eq!(n, 1, "datagram {:?}", String::from_utf8_lossy(d));
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn sigterm_stops_cleanly_too() {
    need_root!();
    let path = tmp("sigterm.pcap");
    let cap = Capture::start(&["-i", "lo", "-q", "-w", path.to_str().unwrap()]);
    send_udp(5);
    std::thread::sleep(Duration::from_millis(200));
    cap.signal(libc::SIGTERM);
    let (status, out, err) = cap.wait(Duration::from_secs(5));
    assert!(status.success(), "{status:?} {err:?}");
    assert!(out.is_empty(), "-q shows nothing: {out}");
    assert!(err.iter().any(|l| l.contains("(interrupted)")), "{err:?}");
    assert_eq!(frames_in(&path).len() as u64, summary_number(&err, "written"));
    let _ = std::fs::remove_file(path);
}

/// Keeps sending datagrams until `done` is set (bounded by the caller's wait).
fn background_traffic(done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let (tx, _rx) = udp_pair();
        let start = Instant::now();
        while !done.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(15) {
            let _ = tx.send(b"tick");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn count_stops_by_itself() {
    need_root!();
    let path = tmp("count.pcap");
    let done = Arc::new(AtomicBool::new(false));
    let cap = Capture::start(&["-i", "lo", "-c", "3", "-w", path.to_str().unwrap()]);
    let traffic = background_traffic(Arc::clone(&done));
    let (status, out, err) = cap.wait(Duration::from_secs(10));
    done.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
    assert!(status.success(), "{status:?} {err:?}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(err.iter().any(|l| l.contains("(count reached)")), "{err:?}");
    assert_eq!(summary_number(&err, "written"), 3);
    assert_eq!(frames_in(&path).len(), 3);
    let _ = std::fs::remove_file(path);
}

#[test]
fn duration_stops_by_itself() {
    need_root!();
    let t = Instant::now();
    let cap = Capture::start(&["-i", "lo", "-q", "--duration", "0.5"]);
    let (status, _, err) = cap.wait(Duration::from_secs(5));
    assert!(status.success(), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(4));
    assert!(err.iter().any(|l| l.contains("(duration over)")), "{err:?}");
}

#[test]
fn tshark_and_tcpdump_open_the_written_pcap() {
    need_root!();
    let path = tmp("tools.pcap");
    let done = Arc::new(AtomicBool::new(false));
    let cap = Capture::start(&["-i", "lo", "-q", "-c", "5", "-w", path.to_str().unwrap()]);
    let traffic = background_traffic(Arc::clone(&done));
    let (status, _, err) = cap.wait(Duration::from_secs(10));
    done.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
    assert!(status.success(), "{err:?}");
    let p = path.to_str().unwrap();
    for (tool, args) in
        [("tshark", vec!["-r", p, "-T", "fields", "-e", "frame.len"]), ("tcpdump", vec!["-nn", "-r", p])]
    {
        let Ok(o) = Command::new(tool).args(&args).stdin(Stdio::null()).output() else {
            eprintln!("{tool} not installed: not checked");
            continue;
        };
        assert!(o.status.success(), "{tool}: {}", String::from_utf8_lossy(&o.stderr));
        let lines = String::from_utf8_lossy(&o.stdout).lines().count();
        assert_eq!(lines, 5, "{tool} output: {}", String::from_utf8_lossy(&o.stdout));
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn without_cap_net_raw_says_how_to_get_it() {
    need_root!();
    use std::os::unix::process::CommandExt;
    let o = Command::new(env!("CARGO_BIN_EXE_pktlab"))
        .args(["capture", "-i", "lo", "-c", "1"])
        .uid(65534)
        .gid(65534)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("CAP_NET_RAW") && err.contains("setcap cap_net_raw,cap_net_admin=eip"), "{err}");
    assert!(!err.contains("os error"), "no OS error text: {err}");
}

#[test]
fn unknown_interface_lists_the_existing_ones() {
    // Needs no privileges: the name is checked before any socket is opened.
    let o = Command::new(env!("CARGO_BIN_EXE_pktlab"))
        .args(["capture", "-i", "no-such-if0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("no interface named \"no-such-if0\"") && err.contains("lo"), "{err}");
}

#[test]
fn ifaces_lists_loopback_without_privileges() {
    let o = Command::new(env!("CARGO_BIN_EXE_pktlab")).args(["ifaces", "--format", "jsonl"]).output().unwrap();
    assert!(o.status.success());
    let all: Vec<serde_json::Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let lo = all.iter().find(|i| i["name"] == "lo").unwrap();
    assert_eq!(lo["loopback"], true);
    assert!(lo["ipv4"].as_array().unwrap().iter().any(|a| a == "127.0.0.1/8"), "{lo}");
    let table = Command::new(env!("CARGO_BIN_EXE_pktlab")).arg("ifaces").output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Index") && text.contains("127.0.0.1/8") && text.contains("loopback"), "{text}");
}

#[test]
fn full_disk_keeps_what_was_written_valid() {
    need_root!();
    // A private mount namespace with a tiny tmpfs: gone when the command ends, even on failure.
    if Command::new("unshare").arg("--version").output().is_err() {
        crate::common::skip("unshare not installed");
        return;
    }
    let dir = tmp("full");
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=64k none {d} || exit 90; {b} capture -i lo -q --duration 3 -w {d}/f.pcap; \
         echo rc=$?; {b} read {d}/f.pcap >/dev/null; echo read=$?; {b} stats --format jsonl {d}/f.pcap",
        d = dir.display(),
        b = env!("CARGO_BIN_EXE_pktlab")
    );
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (tx, rx) = udp_pair();
    let start = Instant::now();
    let mut buf = vec![0; 65_536];
    while start.elapsed() < Duration::from_millis(1500) {
        let _ = tx.send(&[7u8; 8000]);
        let _ = rx.recv(&mut buf);
        std::thread::sleep(Duration::from_millis(5));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "capture on a full disk did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    if out.is_empty() && o.status.code() == Some(90) {
        crate::common::skip(&format!("cannot mount tmpfs here: {err}"));
        return;
    }
    assert!(out.contains("rc=2"), "a failed write exits non-zero: {out} {err}");
    assert!(out.contains("read=0"), "the file must stay readable: {out} {err}");
    assert!(err.contains("write failed after") && err.contains("is valid"), "{err}");
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn conns_table_after_a_live_capture() {
    need_root!();
    // The server's port is unknown until it listens: capture all TCP on lo and look
    // for our connection's row.
    let cap = Capture::start(&["-i", "lo", "-q", "--conns", "-Y", "tcp", "--duration", "1.5"]);
    let (client, server) = tcp_exchange(b"hello over a real socket");
    let (status, out, err) = cap.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?} {err:?}");
    let row = out
        .lines()
        .find(|l| l.contains(&format!(":{client} ")) && l.contains(&format!(":{server} ")))
        .unwrap_or_else(|| panic!("no row for ports {client}/{server} in {out}"));
    // A full session on a real stack: handshake, data, both FINs.
    assert!(row.contains(" SF "), "{row}");
    assert!(row.contains("(client)"), "{row}");
}
