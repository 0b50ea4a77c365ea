//! `pktlab demo`: the synthetic run is deterministic and compared with a golden file;
//! the live run (real sockets on 127.0.0.1, captured on lo) needs root and runs in CI,
//! elsewhere it is skipped with the reason printed.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_pktlab"))
        .arg("demo")
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .expect("run pktlab");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn synthetic_demo_matches_golden() {
    let (ok, out, err) = demo(&["--synthetic", "--width", "100"]);
    assert!(ok, "{err}");
    let path = root().join("tests/golden/demo-synthetic.txt");
    if std::env::var_os("PKTLAB_BLESS").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let expected = std::fs::read_to_string(&path).expect("golden file: run PKTLAB_BLESS=1 cargo test --test demo");
    assert_eq!(out, expected);
    for title in ["handshake", "teardown", "sticky packets", "UDP"] {
        assert!(out.contains(&format!("=== {title}")), "{title} missing");
    }
    assert!(out.contains("TIME-WAIT") && out.contains("SYN-SENT"));
}

#[test]
fn live_demo_captures_real_sockets() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping live_demo_captures_real_sockets: needs root (CI runs as root)");
        return;
    }
    for s in ["handshake", "teardown", "sticky", "udp"] {
        let (ok, out, err) = demo(&[s, "--width", "100"]);
        assert!(ok, "{s}: {err}");
        assert!(out.contains("captured live on lo"), "{s}: {out}");
        assert!(out.contains("127.0.0.1:"), "{s}: {out}");
        assert!(out.contains("What the server's socket calls returned"), "{s}: {out}");
        if s == "handshake" || s == "teardown" {
            assert!(out.contains("SYN-SENT") && out.contains("ESTABLISHED"), "{s}: {out}");
            assert!(out.contains("FIN"), "{s}: {out}");
        }
        if s == "sticky" {
            // The segment map of the 9 messages the demo client sends, and the server's reads.
            assert!(out.contains("client → server: 4145 bytes in"), "{s}: {out}");
            assert!(out.contains("9 messages"), "{s}: {out}");
            assert!(out.contains("completes messages"), "{s}: {out}");
        }
    }
}
