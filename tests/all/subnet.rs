//! `pktlab subnet` through the real binary: golden tables, JSON parsed back into typed
//! structs, bad input, and every figure cross-checked with Python's `ipaddress`
//! module when python3 is installed.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde::Deserialize;

fn pktlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pktlab")).args(args).output().unwrap()
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/subnet").join(name);
    if std::env::var_os("PKTLAB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}: PKTLAB_BLESS=1", path.display()));
    assert_eq!(expected, actual, "{} differs", path.display());
}

#[test]
fn table_views_match_golden_files() {
    let cases: &[(&str, &[&str])] = &[
        ("info-24.txt", &["subnet", "192.168.36.10/24"]),
        ("info-mask.txt", &["subnet", "172.20.5.9", "255.255.240.0"]),
        ("info-31.txt", &["subnet", "10.0.0.1/31"]),
        ("info-32.txt", &["subnet", "8.8.8.8/32"]),
        ("same-yes.txt", &["subnet", "same", "192.168.36.10", "192.168.36.200", "--mask", "255.255.255.0"]),
        ("same-no.txt", &["subnet", "same", "192.168.36.10/24", "192.168.37.10"]),
        ("same-mixed.txt", &["subnet", "same", "10.1.2.3/16", "10.1.9.9/24"]),
        ("split-prefix.txt", &["subnet", "split", "192.168.0.0/24", "--prefix", "26"]),
        ("split-count.txt", &["subnet", "split", "10.0.0.0/16", "--count", "5"]),
        ("split-hosts.txt", &["subnet", "split", "192.168.1.0/24", "--hosts", "50,20,10"]),
        ("summarize.txt", &["subnet", "summarize", "10.0.0.0/24", "10.0.1.0/24", "10.0.3.0/24"]),
        ("range.txt", &["subnet", "range", "10.0.0.5-10.0.0.20"]),
    ];
    for (name, args) in cases {
        let o = pktlab(args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        golden(name, &String::from_utf8_lossy(&o.stdout));
    }
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Info {
    address: String,
    prefix: u8,
    netmask: String,
    netmask_hex: String,
    wildcard: String,
    network: String,
    cidr: String,
    broadcast: Option<String>,
    first_host: String,
    last_host: String,
    addresses: u64,
    usable_hosts: u64,
    note: Option<String>,
    class: String,
    kind: String,
}

fn info(arg: &str) -> Info {
    let o = pktlab(&["subnet", arg, "--format", "jsonl"]);
    assert!(o.status.success(), "{arg}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn json_is_typed_and_right() {
    let i = info("192.168.36.10/24");
    assert_eq!(
        (i.address.as_str(), i.prefix, i.netmask.as_str(), i.netmask_hex.as_str()),
        ("192.168.36.10", 24, "255.255.255.0", "0xffffff00")
    );
    assert_eq!(
        (i.wildcard.as_str(), i.network.as_str(), i.cidr.as_str()),
        ("0.0.0.255", "192.168.36.0", "192.168.36.0/24")
    );
    assert_eq!(i.broadcast.as_deref(), Some("192.168.36.255"));
    assert_eq!(
        (i.first_host.as_str(), i.last_host.as_str(), i.addresses, i.usable_hosts),
        ("192.168.36.1", "192.168.36.254", 256, 254)
    );
    assert_eq!((i.note, i.class.as_str()), (None, "C"));
    assert!(i.kind.starts_with("private"));
    let i = info("10.9.8.7/32");
    assert!(i.note.unwrap().contains("host route"));
    assert_eq!((i.broadcast, i.addresses, i.usable_hosts), (None, 1, 1));
    let o = pktlab(&["subnet", "same", "10.1.2.3/16", "10.1.9.9/24", "--format", "jsonl"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["a_sees_b_local"].as_bool(), v["b_sees_a_local"].as_bool(), v["same_network"].as_bool()),
        (Some(true), Some(false), Some(false))
    );
    let o = pktlab(&["subnet", "split", "10.0.0.0/22", "--prefix", "/24", "--format", "jsonl"]);
    let nets: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["network"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(nets, ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]);
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    for (args, msg) in [
        (&["subnet", "300.1.1.1/24"][..], "octet 1 is '300', which is not a number from 0 to 255"),
        (&["subnet", "1.2.3/24"][..], "needs four numbers"),
        (&["subnet", "10.0.0.1/33"][..], "'/33' is not a prefix length"),
        (&["subnet", "10.0.0.1", "255.0.255.0"][..], "mask 255.0.255.0 is not contiguous: bit 9"),
        (&["subnet", "010.0.0.1/8"][..], "leading zero"),
        (&["subnet", ""][..], "nothing given"),
        (&["subnet", "range", "10.0.0.9-10.0.0.1"][..], "backwards"),
        (&["subnet", "split", "10.0.0.0/24", "--hosts", "300"][..], "do not fit"),
        (&["subnet", "same", "10.0.0.1", "10.0.0.2"][..], "give A a prefix"),
    ] {
        let o = pktlab(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn figures_agree_with_python_ipaddress() {
    if !Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success()) {
        crate::common::skip("python3 is not installed");
        return;
    }
    // Deterministic pseudo-random cases (xorshift), every prefix several times.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut cases = Vec::new();
    for i in 0..198u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cases.push(format!("{}/{}", std::net::Ipv4Addr::from(x as u32), i % 33));
    }
    let script = "import ipaddress, sys\nfor c in sys.argv[1:]:\n    n = ipaddress.ip_interface(c).network\n    print(c, n.network_address, n.broadcast_address, n.num_addresses, n.netmask, n.hostmask)";
    let o = Command::new("python3").arg("-c").arg(script).args(&cases).output().unwrap();
    let py = String::from_utf8_lossy(&o.stdout);
    assert_eq!(py.lines().count(), cases.len());
    for line in py.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let i = info(f[0]);
        assert_eq!(i.network, f[1], "{line}");
        assert_eq!(i.addresses.to_string(), f[3], "{line}");
        assert_eq!((i.netmask.as_str(), i.wildcard.as_str()), (f[4], f[5]), "{line}");
        if i.prefix < 31 {
            assert_eq!(i.broadcast.as_deref(), Some(f[2]), "{line}");
            assert_eq!(i.usable_hosts, f[3].parse::<u64>().unwrap() - 2, "{line}");
        } else {
            assert_eq!(i.last_host, f[2], "{line}");
        }
    }
}
