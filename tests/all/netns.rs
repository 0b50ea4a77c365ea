//! Live capture on a real (virtual) link: two network namespaces the test creates,
//! joined by a veth pair, offloads off and a small MTU, a bounded TCP transfer
//! between them, captured on one end by pktlab and, when installed, by tcpdump.
//! Needs root, `ip` (iproute2), `ethtool` and python3; skips, saying why, without
//! them. The namespaces are always removed (Drop guard), also when a check fails.
//! Only addresses inside the namespaces are used.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pktlab::decode::{self, Proto};
use pktlab::source::CaptureFile;

const MTU: u32 = 1200;
const BYTES: usize = 20_000;

pub(crate) fn has(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

pub(crate) fn run(args: &[&str]) -> Output {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// Two namespaces and the veth between them; removed on drop.
struct Link {
    a: String,
    b: String,
    dev_a: String,
    dev_b: String,
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it the pair.
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

impl Link {
    fn new() -> Link {
        let id = std::process::id() % 100_000;
        let link = Link {
            a: format!("pktlab-a-{id}"),
            b: format!("pktlab-b-{id}"),
            dev_a: format!("pkla{id}"),
            dev_b: format!("pklb{id}"),
        };
        run(&["ip", "netns", "add", &link.a]);
        run(&["ip", "netns", "add", &link.b]);
        run(&[
            "ip",
            "link",
            "add",
            &link.dev_a,
            "netns",
            &link.a,
            "type",
            "veth",
            "peer",
            "name",
            &link.dev_b,
            "netns",
            &link.b,
        ]);
        for (ns, dev, addr) in [(&link.a, &link.dev_a, "10.203.0.1/24"), (&link.b, &link.dev_b, "10.203.0.2/24")] {
            run(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            run(&["ip", "-n", ns, "link", "set", dev, "mtu", &MTU.to_string(), "up"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            // Without offloads the frames on the wire are the frames captured (no
            // 64 KB GSO super-frames, no checksums left to the NIC).
            run(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx", "off",
                "rx", "off",
            ]);
        }
        link
    }

    fn mac(&self, ns: &str, dev: &str) -> [u8; 6] {
        let o = run(&["ip", "netns", "exec", ns, "cat", &format!("/sys/class/net/{dev}/address")]);
        let s = String::from_utf8_lossy(&o.stdout);
        let v: Vec<u8> = s.trim().split(':').map(|x| u8::from_str_radix(x, 16).unwrap()).collect();
        [v[0], v[1], v[2], v[3], v[4], v[5]]
    }
}

pub(crate) fn spawn_in(ns: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub(crate) fn wait_bounded(mut c: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while c.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("a child did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    c.wait_with_output().unwrap()
}

pub(crate) fn interrupt(c: &Child) {
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
}

/// Frames of the test's own traffic: ARP, and TCP to or from port 5001.
fn ours(path: &Path) -> Vec<(u32, Vec<u8>)> {
    let mut cap = CaptureFile::open(path.to_str().unwrap()).unwrap();
    let mut v = Vec::new();
    while let Some(f) = cap.next_frame().unwrap() {
        let p = decode::decode(f.link, f.data, f.orig_len);
        let tcp5001 = p.tcp().is_some_and(|t| t.src_port() == Some(5001) || t.dst_port() == Some(5001));
        if p.has(Proto::Arp) || tcp5001 {
            v.push((f.orig_len, f.data.to_vec()));
        }
    }
    v
}

#[test]
fn veth_between_namespaces_shows_arp_real_macs_and_mtu_sized_frames() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        crate::common::skip("creating network namespaces needs root; CI runs as root");
        return;
    }
    for tool in ["ip", "ethtool", "python3"] {
        if !has(tool) {
            crate::common::skip(&format!("{tool} is not installed (.ci/run installs iproute2 and ethtool)"));
            return;
        }
    }
    let link = Link::new();
    let dir = std::env::temp_dir().join(format!("pktlab-netns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours_file: PathBuf = dir.join("pktlab.pcap");
    let theirs_file: PathBuf = dir.join("tcpdump.pcap");

    let bin = env!("CARGO_BIN_EXE_pktlab");
    let pk = spawn_in(
        &link.a,
        &[bin, "capture", "-i", &link.dev_a, "-q", "--duration", "20", "-w", ours_file.to_str().unwrap()],
    );
    let td = has("tcpdump").then(|| {
        spawn_in(
            &link.a,
            &[
                "tcpdump",
                "--immediate-mode",
                "-Z",
                "root",
                "-i",
                &link.dev_a,
                "-U",
                "-w",
                theirs_file.to_str().unwrap(),
            ],
        )
    });
    // tcpdump says when it is capturing; on a loaded machine a fixed pause was once not
    // enough and it missed the first frames. Its stderr is collected by a thread.
    let td = td.map(|mut c| {
        let stderr = c.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        if rx.recv_timeout(Duration::from_secs(10)).is_err() {
            eprintln!("note: tcpdump did not say it was listening within 10 s");
        }
        (c, reader)
    });
    std::thread::sleep(Duration::from_millis(800));

    let server = spawn_in(
        &link.b,
        &["python3", "-c", "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('10.203.0.2', 5001)); s.listen(1); s.settimeout(10)\nc,_=s.accept(); n=0\nwhile True:\n    d=c.recv(65536)\n    if not d: break\n    n+=len(d)\nc.sendall(str(n).encode()); c.close()"],
    );
    std::thread::sleep(Duration::from_millis(300));
    let client = spawn_in(
        &link.a,
        &["python3", "-c", &format!("import socket\nc=socket.create_connection(('10.203.0.2', 5001), timeout=10)\nc.sendall(b'x'*{BYTES}); c.shutdown(socket.SHUT_WR)\nprint(c.recv(100).decode()); c.close()")],
    );
    let reply = wait_bounded(client, Duration::from_secs(15));
    assert_eq!(
        String::from_utf8_lossy(&reply.stdout).trim(),
        BYTES.to_string(),
        "{}",
        String::from_utf8_lossy(&reply.stderr)
    );
    wait_bounded(server, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));

    interrupt(&pk);
    let pk_out = wait_bounded(pk, Duration::from_secs(10));
    assert!(pk_out.status.success(), "{}", String::from_utf8_lossy(&pk_out.stderr));
    let mut td_err = String::new();
    if let Some((td, reader)) = td {
        interrupt(&td);
        wait_bounded(td, Duration::from_secs(10));
        td_err = reader.join().unwrap_or_default();
    }

    let mac_a = link.mac(&link.a, &link.dev_a);
    let mac_b = link.mac(&link.b, &link.dev_b);
    let frames = ours(&ours_file);
    let mut arp_request = false;
    let mut arp_reply = false;
    let mut syn = false;
    let mut payload_a_to_b = 0;
    for (orig, data) in &frames {
        assert_eq!(*orig as usize, data.len(), "a frame was cut");
        assert!(*orig <= MTU + 14, "a {orig}-byte frame on a {MTU}-byte MTU link: offloads were not off");
        let p = decode::decode(pktlab::source::LinkType::ETHERNET, data, *orig);
        let e = p.eth().unwrap();
        assert!([mac_a, mac_b].contains(&e.src().unwrap()), "unexpected source MAC");
        if let Some(a) = p.arp() {
            match a.opcode() {
                Some(1) if a.sender_mac() == Some(mac_a) && a.target_ip() == Some([10, 203, 0, 2]) => {
                    arp_request = true
                }
                Some(2) if a.sender_mac() == Some(mac_b) && a.target_mac() == Some(mac_a) => arp_reply = true,
                _ => {}
            }
        }
        if let Some(t) = p.tcp() {
            if t.has(decode::tcp::SYN) && !t.has(decode::tcp::ACK) && e.src() == Some(mac_a) && e.dst() == Some(mac_b) {
                syn = true;
            }
            if t.dst_port() == Some(5001) {
                payload_a_to_b += p.payload().len();
            }
            // Offloads off: checksums are the sender's, and they verify.
            let l = p.layer(Proto::Tcp).unwrap();
            assert_eq!(decode::transport_checksum(&p, l), decode::Checksum::Good);
        }
    }
    assert!(arp_request && arp_reply, "ARP who-has from A and is-at from B expected");
    assert!(syn, "the client's SYN from A's MAC to B's MAC expected");
    assert_eq!(payload_a_to_b, BYTES, "every payload byte once");
    if theirs_file.exists() {
        // The TCP connection, frame for frame. Not ARP: the kernel may revalidate the
        // neighbour (a unicast ARP probe) while pktlab has stopped and tcpdump, stopped
        // after it, still runs; seen once on a loaded machine.
        let tcp_only = |v: Vec<(u32, Vec<u8>)>| -> Vec<Vec<u8>> {
            v.into_iter()
                .map(|(_, d)| d)
                .filter(|d| !decode::decode(pktlab::source::LinkType::ETHERNET, d, d.len() as u32).has(Proto::Arp))
                .collect()
        };
        let (mine, theirs) = (tcp_only(frames.clone()), tcp_only(ours(&theirs_file)));
        assert_eq!(
            mine.len(),
            theirs.len(),
            "pktlab and tcpdump saw different numbers of the test's TCP frames; tcpdump said: {td_err}"
        );
        for (a, b) in mine.iter().zip(&theirs) {
            assert_eq!(a, b, "pktlab and tcpdump captured different bytes");
        }
    } else {
        crate::common::skip("tcpdump is not installed; the frame-count comparison was skipped");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
