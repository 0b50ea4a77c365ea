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

pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("PKTLAB_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}: run PKTLAB_BLESS=1 cargo test", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (e, a))| e != a)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .unwrap_or_else(|| "(one is a prefix of the other)".into());
        panic!("{} differs from the output:\n{first}", path.display());
    }
}
