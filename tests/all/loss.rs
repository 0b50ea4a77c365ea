//! The sticky-packet view on a live transfer with real loss and duplicates: three
//! network namespaces the test creates (client, router, server; a veth pair each side
//! of the router, 600-byte MTU, offloads off), an nft rule in the router that drops
//! data segments to the server in a fixed pattern and another that duplicates some,
//! two connections from Python (a 2-byte length framing, then the course's JSON-header
//! framing) captured at the server's end by `pktlab capture`. `pktlab segments` must
//! frame exactly the messages the client wrote. Needs root, `ip`, `nft`, `ethtool` and
//! python3; skips, saying why, without them (fails under CI=true). The namespaces are
//! always removed (Drop guard), also when a check fails.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::netns::{has, interrupt, run, spawn_in, wait_bounded};
use crate::segments::Record;

const PORT: u16 = 5007;

/// The namespaces and the scratch directory; removed on drop.
struct Path3 {
    client: String,
    router: String,
    server: String,
    dev_c: String,
    dev_s: String,
    dir: PathBuf,
}

impl Drop for Path3 {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth ends inside it, and with them the pairs.
        for ns in [&self.client, &self.router, &self.server] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Path3 {
    fn new() -> Path3 {
        let id = std::process::id() % 100_000;
        let p = Path3 {
            client: format!("pktlab-lc-{id}"),
            router: format!("pktlab-lr-{id}"),
            server: format!("pktlab-ls-{id}"),
            dev_c: format!("plc{id}"),
            dev_s: format!("pls{id}"),
            dir: std::env::temp_dir().join(format!("pktlab-loss-{id}")),
        };
        std::fs::create_dir_all(&p.dir).unwrap();
        for ns in [&p.client, &p.router, &p.server] {
            run(&["ip", "netns", "add", ns]);
        }
        let (rc, rs) = (format!("plrc{id}"), format!("plrs{id}"));
        for (dev, ns, peer) in [(&p.dev_c, &p.client, &rc), (&p.dev_s, &p.server, &rs)] {
            run(&["ip", "link", "add", dev, "netns", ns, "type", "veth", "peer", "name", peer, "netns", &p.router]);
        }
        for (ns, dev, addr) in [
            (&p.client, &p.dev_c, "10.207.1.1/24"),
            (&p.router, &rc, "10.207.1.2/24"),
            (&p.router, &rs, "10.207.2.2/24"),
            (&p.server, &p.dev_s, "10.207.2.1/24"),
        ] {
            run(&["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            run(&["ip", "-n", ns, "link", "set", dev, "mtu", "600", "up"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            // Without offloads the frames captured are the segments sent (no GSO
            // super-frames, no GRO merging at the receiver).
            run(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx", "off",
            ]);
        }
        run(&["ip", "-n", &p.client, "route", "add", "default", "via", "10.207.1.2"]);
        run(&["ip", "-n", &p.server, "route", "add", "default", "via", "10.207.2.2"]);
        run(&["ip", "netns", "exec", &p.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        // Data segments only ("ip length > 64": a bare ACK with timestamps is 52 bytes):
        // two in a row of every 11 dropped, one of every 7 of those left sent twice.
        let rules = format!(
            "table ip pktlab_loss {{\n  chain forward {{\n    type filter hook forward priority 0;\n    \
             ip daddr 10.207.2.1 tcp dport {PORT} ip length > 64 numgen inc mod 11 {{ 3, 4 }} drop\n    \
             ip daddr 10.207.2.1 tcp dport {PORT} ip length > 64 numgen inc mod 7 == 2 dup to 10.207.2.1 device \"{rs}\"\n  \
             }}\n}}\n"
        );
        let rules_file = p.dir.join("loss.nft");
        std::fs::write(&rules_file, rules).unwrap();
        run(&["ip", "netns", "exec", &p.router, "nft", "-f", rules_file.to_str().unwrap()]);
        p
    }
}

const SERVER: &str = r#"
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("10.207.2.1", int(sys.argv[1]))); s.listen(2); s.settimeout(20)
for _ in range(2):
    c, _ = s.accept(); n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    print(n); c.close()
"#;

/// Two connections, each writing 60 messages of random sizes (a fixed seed), a third
/// of them in two `send()`s cut at a random byte (a header cut from its body, say).
/// Each body is printable ASCII and goes to the file named for its connection, one
/// per line.
const CLIENT: &str = r#"
import socket, struct, json, sys, random, time
r = random.Random(5)
def conn(frame, path):
    c = socket.create_connection(("10.207.2.1", int(sys.argv[1])), timeout=20)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with open(path, "w") as out:
        for i in range(60):
            n = r.choice([0, 3, 12, 100, 700, 2000])
            body = b"m%d:" % i + bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(n))
            m = frame(body)
            k = r.randrange(1, len(m)) if r.random() < 0.3 else len(m)
            c.sendall(m[:k]); c.sendall(m[k:])
            out.write(body.decode() + "\n")
            if i % 8 == 0: time.sleep(0.01)
    c.close()
def u16be(b): return struct.pack(">H", len(b)) + b
def jsonhdr(b):
    h = json.dumps({"total_size": len(b)}).encode()
    return struct.pack("i", len(h)) + h + b
conn(u16be, sys.argv[2]); conn(jsonhdr, sys.argv[3])
"#;

fn ok(args: &[&str]) -> Vec<u8> {
    let o = crate::common::pktlab(args);
    assert!(o.status.success(), "pktlab {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// Checks that connection `conn` of `cap` frames, with `framing`, exactly the bodies
/// in `sent`; returns the bytes the view saw twice (duplicates, retransmissions).
fn frames_exactly(cap: &str, conn: u32, framing: &str, sent: &std::path::Path) -> u64 {
    let sent = std::fs::read_to_string(sent).unwrap();
    let sent: Vec<&str> = sent.lines().collect();
    let c = conn.to_string();
    let raw = ok(&["stream", cap, "--conn", &c, "--as", "raw", "--dir", "client"]);
    let out = ok(&["segments", cap, "--conn", &c, "--framing", framing, "--dir", "client", "--format", "jsonl"]);
    let recs: Vec<Record> = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut bodies = Vec::new();
    let mut at = 0;
    for r in &recs {
        if let Record::Message { number, start, end, body, .. } = r {
            assert_eq!(*start, at, "conn {conn}: message {number} starts where the one before ended");
            bodies.push(&raw[body[0] as usize..body[1] as usize]);
            at = *end;
        }
    }
    let want: Vec<&[u8]> = sent.iter().map(|s| s.as_bytes()).collect();
    assert_eq!(bodies.len(), want.len(), "conn {conn} ({framing}): messages framed");
    for (i, (got, want)) in bodies.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "conn {conn} ({framing}): message {}", i + 1);
    }
    assert_eq!(at, raw.len() as u64, "conn {conn}: the messages cover the stream");
    let Some(Record::Totals { messages, missing, outside, incomplete, retransmitted, .. }) =
        recs.iter().find(|r| matches!(r, Record::Totals { .. }))
    else {
        panic!("conn {conn}: no totals")
    };
    assert_eq!((*messages, *missing, *outside, *incomplete), (want.len() as u64, 0, 0, false), "conn {conn}");
    *retransmitted
}

#[test]
fn messages_come_out_exactly_as_sent_through_real_loss_and_duplicates() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        crate::common::skip("creating network namespaces needs root; CI runs as root");
        return;
    }
    for tool in ["ip", "nft", "ethtool", "python3"] {
        if !has(tool) {
            crate::common::skip(&format!("{tool} is not installed (.ci/run installs iproute2, nftables and ethtool)"));
            return;
        }
    }
    let path = Path3::new();
    let cap = path.dir.join("loss.pcap");
    let sent = [path.dir.join("sent-0.txt"), path.dir.join("sent-1.txt")];
    let bin = env!("CARGO_BIN_EXE_pktlab");
    let filter = format!("tcp.port == {PORT}");
    let pk = spawn_in(
        &path.server,
        &[bin, "capture", "-i", &path.dev_s, "-q", "--duration", "40", "-Y", &filter, "-w", cap.to_str().unwrap()],
    );
    std::thread::sleep(Duration::from_millis(800));
    let port = PORT.to_string();
    let server = spawn_in(&path.server, &["python3", "-c", SERVER, &port]);
    std::thread::sleep(Duration::from_millis(300));
    let client =
        spawn_in(&path.client, &["python3", "-c", CLIENT, &port, sent[0].to_str().unwrap(), sent[1].to_str().unwrap()]);
    let c = wait_bounded(client, Duration::from_secs(30));
    assert!(c.status.success(), "client: {}", String::from_utf8_lossy(&c.stderr));
    let s = wait_bounded(server, Duration::from_secs(10));
    assert!(s.status.success(), "server: {}", String::from_utf8_lossy(&s.stderr));
    std::thread::sleep(Duration::from_millis(500));
    interrupt(&pk);
    let pk_out = wait_bounded(pk, Duration::from_secs(10));
    assert!(pk_out.status.success(), "{}", String::from_utf8_lossy(&pk_out.stderr));

    let cap = cap.to_str().unwrap();
    let twice = frames_exactly(cap, 0, "len:u16be", &sent[0]) + frames_exactly(cap, 1, "jsonhdr", &sent[1]);
    // The loss was real: segments sent again, and copies the router made seen twice.
    let conns = ok(&["conns", cap, "--format", "jsonl"]);
    let rows: Vec<serde_json::Value> =
        String::from_utf8(conns).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "two connections: {rows:?}");
    for r in &rows {
        assert!(r["retransmissions"].as_u64().unwrap() >= 1, "no retransmission: {r}");
        assert!(r["lost_segments"].as_u64().unwrap() >= 1, "no segment lost before the capture: {r}");
    }
    assert!(twice > 0, "the router's duplicates were seen twice");
    let n = |k: &str| rows.iter().map(|r| r[k].as_u64().unwrap()).sum::<u64>();
    println!(
        "120 messages framed exactly through {} retransmissions, {} segments lost before the capture, {twice} bytes seen twice",
        n("retransmissions"),
        n("lost_segments")
    );
}
