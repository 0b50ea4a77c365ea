//! Helpers the integration tests share: the project root, running the binary, and
//! golden files (refreshed with `PKTLAB_BLESS=1`, then read and committed).

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pktlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pktlab"))
        .args(args)
        .current_dir(root())
        .env_remove("COLUMNS")
        .output()
        .expect("run pktlab")
}

/// Compares with (or, under PKTLAB_BLESS=1, writes) a golden file.
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("PKTLAB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}: run PKTLAB_BLESS=1 cargo test", path.display()));
    if expected != actual {
        let mut diff = String::new();
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                diff.push_str(&format!("line {}:\n  expected: {e}\n  actual:   {a}\n", i + 1));
                if diff.len() > 2000 {
                    break;
                }
            }
        }
        panic!(
            "{} differs from the output ({} vs {} lines):\n{diff}",
            path.display(),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

/// Says why a test (or part of one) cannot run here, e.g. without root or a tool.
/// Under `CI=true` that is a failure instead: CI has everything installed and runs as
/// root, so a skip there would pass green what was never checked.
pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true, and this test cannot run here: {reason}");
    }
    eprintln!("skipped: {reason}");
}
