//! `pktlab demo`: the synthetic run is deterministic and compared with a golden file;
//! the live run (real sockets on 127.0.0.1, captured on lo) needs root and runs in CI,
//! elsewhere it is skipped with the reason printed. Wherever the live run cannot work
//! (no privilege, loopback down, nothing captured) the demo still passes, showing the
//! synthetic scenarios with the reason; and it passes run from a script, without a
//! terminal.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo(args: &[&str]) -> (bool, String, String) {
    demo_via(&[], args)
}

/// `pktlab demo ARGS`, started through the command `wrap` (e.g. `unshare -n`) when given.
fn demo_via(wrap: &[&str], args: &[&str]) -> (bool, String, String) {
    let bin = env!("CARGO_BIN_EXE_pktlab");
    let mut c = match wrap.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let o = c.arg("demo").args(args).env_remove("COLUMNS").output().expect("run pktlab");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn synthetic_golden() -> String {
    std::fs::read_to_string(root().join("tests/golden/demo-synthetic.txt"))
        .expect("golden file: run PKTLAB_BLESS=1 cargo test --test all demo::")
}

/// The output of a demo that fell back: the reason, a blank line, then exactly the
/// synthetic run.
fn assert_fell_back(out: &str, reason: &str) {
    let (first, rest) = out.split_once("\n\n").unwrap_or_else(|| panic!("no reason paragraph: {out}"));
    assert!(first.starts_with("pktlab demo: ") && first.contains(reason), "{first}");
    assert!(first.contains("generated in memory instead"), "{first}");
    assert_eq!(rest, synthetic_golden(), "the fallback is not the synthetic run");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// As CI runs it: no terminal (a new session, so no controlling one), nothing on
/// stdin, no COLUMNS or TERM. Live or synthetic, whichever this machine allows, the
/// demo shows all four scenarios and succeeds.
#[test]
fn demo_passes_run_from_a_script_without_a_terminal() {
    use std::os::unix::process::CommandExt as _;
    let mut c = Command::new(env!("CARGO_BIN_EXE_pktlab"));
    c.arg("demo").env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").stdin(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let o = c.output().expect("run pktlab");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}{out}", String::from_utf8_lossy(&o.stderr));
    for title in ["handshake", "teardown", "sticky packets", "UDP"] {
        assert!(out.contains(&format!("=== {title}")), "{title} missing: {out}");
    }
    let live = out.matches("captured live on lo").count();
    assert!(live == 4 || (live == 0 && out.starts_with("pktlab demo: ")), "{out}");
}

#[test]
fn demo_without_capture_privilege_shows_the_synthetic_run() {
    if !is_root() || !have("setpriv") {
        crate::common::skip("dropping CAP_NET_RAW needs root and setpriv (util-linux); CI runs as root");
        return;
    }
    // Root without CAP_NET_RAW: as a user without privileges, packet sockets are refused.
    let (ok, out, err) = demo_via(&["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw"], &["--width", "100"]);
    assert!(ok, "{err}");
    assert_fell_back(&out, "capturing on lo needs root or CAP_NET_RAW");
}

#[test]
fn demo_with_loopback_down_or_silent_shows_the_synthetic_run() {
    if !is_root() || !have("unshare") {
        crate::common::skip("a network namespace of its own needs root and unshare (util-linux); CI runs as root");
        return;
    }
    // A new network namespace's lo is down.
    let (ok, out, err) = demo_via(&["unshare", "-n"], &["--width", "100"]);
    assert!(ok, "{err}");
    assert_fell_back(&out, "interface lo is down");

    if !have("nft") {
        crate::common::skip("nft is not installed (.ci/run installs nftables); the silent-loopback case was skipped");
        return;
    }
    // lo up, but every packet dropped before it reaches lo: nothing to capture, and the
    // exchange times out.
    let script = format!(
        "ip link set lo up && nft add table inet t && \
         nft add chain inet t o '{{ type filter hook output priority 0; }}' && nft add rule inet t o drop && \
         exec {} demo --width 100",
        env!("CARGO_BIN_EXE_pktlab")
    );
    let o = Command::new("unshare").args(["-n", "sh", "-c", &script]).env_remove("COLUMNS").output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_fell_back(&out, "the live run did not work");
}

#[test]
fn synthetic_demo_matches_golden() {
    let (ok, out, err) = demo(&["--synthetic", "--width", "100"]);
    assert!(ok, "{err}");
    let path = root().join("tests/golden/demo-synthetic.txt");
    if std::env::var_os("PKTLAB_BLESS").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).expect("golden file: run PKTLAB_BLESS=1 cargo test --test all demo::");
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
        crate::common::skip("needs root (CI runs as root)");
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
