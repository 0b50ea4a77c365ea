use super::*;

fn net(s: &str) -> Net {
    parse_net(&[s.to_string()]).unwrap()
}

#[test]
fn a_24_and_its_figures() {
    let n = net("192.168.36.10/24");
    assert_eq!((dotted(n.network()), dotted(n.broadcast())), ("192.168.36.0".into(), "192.168.36.255".into()));
    assert_eq!((dotted(n.first_host()), dotted(n.last_host())), ("192.168.36.1".into(), "192.168.36.254".into()));
    assert_eq!((n.size(), n.usable()), (256, 254));
    assert_eq!(class(n.addr), 'C');
    assert!(kind(n.addr).starts_with("private"));
}

#[test]
fn edge_prefixes() {
    let n = net("10.0.0.7/31");
    assert_eq!(
        (n.size(), n.usable(), dotted(n.first_host()), dotted(n.last_host())),
        (2, 2, "10.0.0.6".into(), "10.0.0.7".into())
    );
    let n = net("10.0.0.7/32");
    assert_eq!((n.size(), n.usable(), dotted(n.network())), (1, 1, "10.0.0.7".into()));
    let n = net("10.0.0.7/0");
    assert_eq!((n.size(), n.usable(), dotted(n.broadcast())), (1 << 32, (1 << 32) - 2, "255.255.255.255".into()));
    let n = net("172.16.5.4/30");
    assert_eq!(
        (n.usable(), dotted(n.first_host()), dotted(n.last_host())),
        (2, "172.16.5.5".into(), "172.16.5.6".into())
    );
}

#[test]
fn masks_in_every_form() {
    for m in ["24", "/24", "255.255.255.0", "/255.255.255.0"] {
        assert_eq!(parse_mask(m), Ok(24), "{m}");
    }
    assert_eq!(parse_mask("0.0.0.0"), Ok(0));
    assert_eq!(parse_mask("255.255.255.255"), Ok(32));
    assert_eq!(parse_net(&["10.1.2.3".into(), "255.255.0.0".into()]).unwrap().prefix, 16);
    assert_eq!(net("10.1.2.3/255.255.252.0").prefix, 22);
}

#[test]
fn bad_input_says_what_is_wrong() {
    let e = |s: &str| parse_net(&[s.to_string()]).unwrap_err().to_string();
    assert!(e("300.1.1.1/24").contains("octet 1 is '300', which is not a number from 0 to 255"));
    assert!(e("1.2.3/24").contains("needs four numbers separated by dots"));
    assert_eq!(e("10.0.0.1/33"), "'/33' is not a prefix length: IPv4 prefixes go from /0 to /32");
    assert_eq!(
        e("10.0.0.1/255.0.255.0"),
        "mask 255.0.255.0 is not contiguous: bit 9 (counting from 1 at the left) is 0 but bit 17 is 1; a mask is all ones, then all zeros"
    );
    assert!(e("010.1.1.1/8").contains("octet '010' has a leading zero; pktlab reads octets as decimal (10), but some tools (inet_aton, ping) read it as octal (8)"));
    assert!(e("10.1.1.09/8").contains("as octal (invalid)"));
    assert_eq!(parse_net(&[]), Err(SubnetError::Empty));
    assert!(e("hello").contains("not an IPv4 address"));
    assert!(e("10.0.0.1/abc").contains("neither a mask"));
    assert!(e("1.2.3.4.5").contains("four numbers"));
    assert!(e("-1.2.3.4").contains("octet 1 is '-1'"));
    assert!(e("1..2.3").contains("four numbers") || e("1..2.3").contains("octet 2 is ''"));
}

#[test]
fn same_network_or_not() {
    let s = same(net("192.168.36.10/24"), net("192.168.36.200/24"));
    assert!(s.a_sees_b_local && s.b_sees_a_local);
    let s = same(net("192.168.36.10/24"), net("192.168.37.10/24"));
    assert!(!s.a_sees_b_local && !s.b_sees_a_local);
    // Different masks: A (/16) thinks B is local, B (/24) thinks A is not.
    let s = same(net("10.1.2.3/16"), net("10.1.9.9/24"));
    assert!(s.a_sees_b_local && !s.b_sees_a_local);
}

#[test]
fn splitting() {
    let b = split_prefix(net("192.168.0.0/24"), 26).unwrap();
    let s: Vec<String> = b.iter().map(|n| n.to_string()).collect();
    assert_eq!(s, ["192.168.0.0/26", "192.168.0.64/26", "192.168.0.128/26", "192.168.0.192/26"]);
    assert_eq!(prefix_for_count(net("10.0.0.0/16"), 5), Ok(19));
    assert_eq!(prefix_for_count(net("10.0.0.0/16"), 1), Ok(16));
    assert!(split_prefix(net("10.0.0.0/24"), 23).is_err());
    assert!(prefix_for_count(net("10.0.0.0/31"), 4).is_err());
}

#[test]
fn vlsm_largest_first_with_leftovers() {
    let (a, left) = vlsm(net("192.168.1.0/24"), &[20, 50, 10]).unwrap();
    let got: Vec<(u64, String)> = a.iter().map(|x| (x.hosts, x.block.to_string())).collect();
    assert_eq!(got, [(20, "192.168.1.64/27".into()), (50, "192.168.1.0/26".into()), (10, "192.168.1.96/28".into())]);
    let l: Vec<String> = left.iter().map(|n| n.to_string()).collect();
    assert_eq!(l, ["192.168.1.112/28", "192.168.1.128/25"]);
    assert!(vlsm(net("192.168.1.0/24"), &[200, 100]).is_err());
}

#[test]
fn ranges_and_summaries() {
    let r: Vec<String> = range_to_cidrs(parse_addr("10.0.0.5").unwrap(), parse_addr("10.0.0.20").unwrap())
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(r, ["10.0.0.5/32", "10.0.0.6/31", "10.0.0.8/29", "10.0.0.16/30", "10.0.0.20/32"]);
    let all: Vec<String> = range_to_cidrs(0, u32::MAX).iter().map(|n| n.to_string()).collect();
    assert_eq!(all, ["0.0.0.0/0"]);
    let (cover, exact) = summarize(&[net("10.0.0.0/24"), net("10.0.1.0/24"), net("10.0.3.0/24")]).unwrap();
    assert_eq!(cover.to_string(), "10.0.0.0/22");
    let e: Vec<String> = exact.iter().map(|n| n.to_string()).collect();
    assert_eq!(e, ["10.0.0.0/23", "10.0.3.0/24"]);
}

#[test]
fn kinds_and_classes() {
    let k = |s: &str| kind(parse_addr(s).unwrap());
    assert!(k("127.0.0.1").starts_with("loopback"));
    assert!(k("169.254.1.1").starts_with("link-local"));
    assert!(k("100.64.0.1").starts_with("shared"));
    assert!(k("224.0.0.251").starts_with("multicast"));
    assert!(k("192.0.2.1").starts_with("documentation"));
    assert!(k("198.19.0.1").starts_with("benchmarking"));
    assert!(k("255.255.255.255").starts_with("limited broadcast"));
    assert!(k("240.0.0.1").starts_with("reserved"));
    assert!(k("8.8.8.8").starts_with("public"));
    assert_eq!(['A', 'B', 'C', 'D', 'E'], [1u32, 130, 200, 230, 250].map(|o| class(o << 24)));
}

proptest::proptest! {
    /// Every figure against a second computation that works on bit strings, not masks.
    #[test]
    fn figures_agree_with_a_bitwise_reference(addr in proptest::prelude::any::<u32>(), prefix in 0u8..=32) {
        let n = Net { addr, prefix };
        let bits: Vec<u8> = (0..32).map(|i| ((addr >> (31 - i)) & 1) as u8).collect();
        let from_bits = |b: &[u8]| b.iter().fold(0u64, |acc, x| acc << 1 | u64::from(*x)) as u32;
        let p = usize::from(prefix);
        let mut netb = bits.clone();
        let mut bcast = bits.clone();
        for i in p..32 {
            netb[i] = 0;
            bcast[i] = 1;
        }
        proptest::prop_assert_eq!(n.network(), from_bits(&netb));
        proptest::prop_assert_eq!(n.broadcast(), from_bits(&bcast));
        let count = 2u64.pow(32 - u32::from(prefix));
        proptest::prop_assert_eq!(n.size(), count);
        let usable = if prefix == 32 { 1 } else if prefix == 31 { 2 } else { count - 2 };
        proptest::prop_assert_eq!(n.usable(), usable);
        proptest::prop_assert!(n.contains(n.first_host()) && n.contains(n.last_host()));
        // Round trip through text.
        let text = format!("{}/{}", dotted(addr), prefix);
        proptest::prop_assert_eq!(parse_net(&[text]).unwrap(), n);
        let m = dotted(mask(prefix));
        proptest::prop_assert_eq!(parse_mask(&m).unwrap(), prefix);
    }

    #[test]
    fn ranges_cover_exactly(a in proptest::prelude::any::<u32>(), len in 0u32..100_000) {
        let b = a.saturating_add(len);
        let blocks = range_to_cidrs(a, b);
        let mut next = u64::from(a);
        for n in &blocks {
            proptest::prop_assert_eq!(u64::from(n.network()), next);
            proptest::prop_assert_eq!(n.addr, n.network());
            next += n.size();
        }
        proptest::prop_assert_eq!(next, u64::from(b) + 1);
        proptest::prop_assert!(blocks.len() <= 62);
    }

    #[test]
    fn garbage_never_panics(s in "[ -~]{0,30}") {
        let _ = parse_net(std::slice::from_ref(&s));
        let _ = parse_mask(&s);
    }
}
