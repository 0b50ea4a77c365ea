//! Real third-party captures (`../shared/corpus`, not part of the repository): every
//! file loads without a panic, and where tshark is installed, every field pktlab
//! decodes agrees with tshark's (scripts/oracle_compare.py, field by field).
//! Skips, saying why, when the corpus or the tools are not there.

use std::path::PathBuf;
use std::process::Command;

fn corpus() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ndpi");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.retain(|p| p.is_file());
    files.sort();
    Some(files)
}

fn has(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn every_corpus_file_loads_without_a_panic() {
    let Some(files) = corpus() else {
        eprintln!("skipped: ../shared/corpus/ndpi is not present beside the project");
        return;
    };
    assert!(files.len() > 500, "corpus has {} files", files.len());
    for f in &files {
        for args in [&["read", "--format", "jsonl"][..], &["stats"][..], &["read", "-V", "-x"][..]] {
            let o = Command::new(env!("CARGO_BIN_EXE_pktlab")).args(args).arg(f).output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!err.contains("panicked"), "{} {args:?}: {err}", f.display());
            assert!(matches!(o.status.code(), Some(0) | Some(2)), "{} {args:?}: {:?} {err}", f.display(), o.status);
            if args.len() > 1 && args[1] == "--format" {
                for line in String::from_utf8_lossy(&o.stdout).lines() {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("{}: invalid JSON ({e}): {line}", f.display()));
                }
            }
        }
    }
}

#[test]
fn every_decoded_field_agrees_with_tshark() {
    let Some(files) = corpus() else {
        eprintln!("skipped: ../shared/corpus/ndpi is not present beside the project");
        return;
    };
    if !has("tshark") || !has("python3") {
        eprintln!("skipped: tshark or python3 is not installed (apt-get install tshark)");
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/oracle_compare.py");
    let o = Command::new("python3")
        .arg(script)
        .args(["--pktlab", env!("CARGO_BIN_EXE_pktlab")])
        .args(&files)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    eprintln!("{}", out.lines().last().unwrap_or(""));
    assert!(o.status.success(), "pktlab and tshark disagree:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
}
