use super::*;
use crate::decode::decode;
use crate::source::{Frame, LinkType, Timestamp};

fn frame(data: &[u8]) -> Frame<'_> {
    Frame {
        number: 7,
        ts: Timestamp(0),
        link: LinkType::ETHERNET,
        orig_len: data.len() as u32,
        data,
        interface: 0,
        ts_digits: 0,
    }
}

fn syn() -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 1, 2, 3], [192, 168, 0, 9], 64)
        .tcp(51234, 80, 1000, 65535)
        .syn()
        .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1460)])
        .unwrap();
    let mut v = Vec::new();
    b.write(&mut v, &[]).unwrap();
    v
}

fn udp6() -> Vec<u8> {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[15] = 1;
    let mut b = a;
    b[15] = 2;
    let p = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6]).ipv6(a, b, 64).udp(5353, 53);
    let mut v = Vec::new();
    p.write(&mut v, b"q").unwrap();
    v
}

fn m(filter: &str, data: &[u8]) -> bool {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{}", e.render(filter)));
    let fr = frame(data);
    let p = decode(LinkType::ETHERNET, data, data.len() as u32);
    f.matches(&fr, &p, &Context { rel_seq: Some(0), ..Context::default() })
}

#[test]
fn protocols_fields_and_comparisons() {
    let s = syn();
    for yes in [
        "tcp",
        "ip and tcp",
        "eth && ip && tcp",
        "tcp.port == 80",
        "tcp.port == 51234",
        "tcp.dstport eq 80",
        "tcp.flags.syn == 1",
        "tcp.flags.syn == true",
        "tcp.flags.ack == 0",
        "tcp.flags == 0x002",
        "tcp.seq == 0",
        "tcp.seq_raw == 1000",
        "ip.addr == 10.0.0.0/8",
        "ip.src == 10.1.2.3",
        "ip.dst == 192.168.0.0/16",
        "ip.ttl >= 64 and ip.ttl <= 64",
        "ip.ttl > 1",
        "ip.ttl lt 65",
        "eth.src == 02:00:00:00:00:01",
        "eth.addr == 02-00-00-00-00-01",
        "tcp.options.mss_val == 1460",
        "tcp.options.mss_val",
        "frame.number == 7",
        "frame.len > 50",
        "not udp",
        "!(udp or arp)",
        "udp or tcp and ip",
        "(udp or tcp) and ip",
        "tcp.port != 443",
        "ip.addr != 172.16.0.0/12",
    ] {
        assert!(m(yes, &s), "{yes} should match");
    }
    for no in [
        "udp",
        "tcp.port == 443",
        "tcp.port != 80",
        "udp.port != 80",
        "ip.addr == 172.16.0.0/12",
        "tcp.flags.ack == 1",
        "not tcp",
        "tcp and udp",
        "ipv6",
        "tcp.options.wscale.shift",
        "ip.ttl < 64",
        "frame.number > 7",
    ] {
        assert!(!m(no, &s), "{no} should not match");
    }
}

#[test]
fn ipv6_and_udp() {
    let u = udp6();
    assert!(m("ipv6 and udp.port == 53", &u));
    assert!(m("ipv6.addr == fe80::/10", &u));
    assert!(m("ipv6.src == fe80::1", &u));
    assert!(!m("ipv6.dst == fe80::1", &u));
    assert!(m("udp.length == 9", &u));
    assert!(!m("ip", &u));
}

#[test]
fn precedence() {
    assert_eq!(Filter::parse("a_unknown").err().unwrap().message, "unknown field 'a_unknown'");
    let e = Filter::parse("udp or tcp and ip").unwrap().expr;
    assert!(matches!(e, Expr::Or(_, ref r) if matches!(**r, Expr::And(_, _))));
    let e = Filter::parse("not tcp and udp").unwrap().expr;
    assert!(matches!(e, Expr::And(ref l, _) if matches!(**l, Expr::Not(_))));
}

#[test]
fn errors_point_at_the_column() {
    let cases: &[(&str, usize, &str)] = &[
        ("tcp.port == ", 12, "expected a value after the operator, found the end of the filter"),
        ("tcp.prot == 80", 0, "unknown field 'tcp.prot' (did you mean 'tcp.port'?)"),
        ("tcp.port = 80", 9, "'=' is not an operator: use '==' to compare"),
        ("ip.addr == 300.1.1.1", 11, "'ip.addr' is an IPv4 address: '300.1.1.1' is not one"),
        ("ip.addr == 10.0.0.0/33", 11, "'ip.addr' takes a prefix length from 0 to 32: '/33' is not one"),
        ("tcp.port == 10.0.0.1", 12, "'tcp.port' is a number: '10.0.0.1' is not one (decimal or 0x hex)"),
        ("(tcp or udp", 11, "expected ')' to close the '(' at column 1, found the end of the filter"),
        ("tcp udp", 4, "expected 'and', 'or' or the end of the filter, found 'udp'"),
        ("tcp and", 7, "expected a protocol or field name, found the end of the filter"),
        ("tcp == 1", 4, "'tcp' is a protocol: it can only be tested for presence, not compared"),
        ("eth.src == 01:02:03", 11, "'eth.src' is a MAC address (aa:bb:cc:dd:ee:ff): '01:02:03' is not one"),
        ("tcp & udp", 4, "'&' alone is not an operator: use '&&'"),
        ("tcp)", 3, "')' without a matching '('"),
        ("", 0, "the filter is empty"),
        ("ip.addr > 10.0.0.0/8", 8, "a network (address/prefix) can only be tested for equality (==, !=, ===, ~=)"),
    ];
    for (src, col, msg) in cases {
        let e = Filter::parse(src).err().unwrap_or_else(|| panic!("{src} should not parse"));
        assert_eq!((e.column, e.message.as_str()), (*col, *msg), "{src}");
    }
    let e = Filter::parse("tcp.port == and").err().unwrap();
    assert_eq!(
        e.render("tcp.port == and"),
        "filter error at column 13: expected a value after the operator, found 'and'\n  tcp.port == and\n              ^"
    );
}

proptest::proptest! {
    #[test]
    fn random_input_never_panics_the_parser(s in "[ -~]{0,40}") {
        let _ = Filter::parse(&s);
    }

    #[test]
    fn random_tokens_never_panic(s in proptest::collection::vec(proptest::sample::select(vec![
        "tcp", "ip.addr", "==", "!=", "(", ")", "and", "or", "not", "10.0.0.0/8", "80", "0x10", "!", "&&", "||", "::1", "aa:bb:cc:dd:ee:ff", "tcp.flags.syn", "true",
    ]), 0..10)) {
        let src = s.join(" ");
        if let Ok(f) = Filter::parse(&src) {
            let d = syn();
            let fr = frame(&d);
            let p = decode(LinkType::ETHERNET, &d, d.len() as u32);
            let _ = f.matches(&fr, &p, &Context::default());
        }
    }
}

/// `needs_context` is what lets `read -Y` decide a filter apart from the tracker: a
/// field left off its list would silently match against missing numbers.
#[test]
fn exactly_the_fields_read_from_tracking_need_context() {
    use crate::decode::tcp_analysis::{Analysis, Flags};
    let rich = Context {
        rel_seq: Some(5),
        rel_ack: Some(6),
        win_shift: Some(2),
        stream: Some(3),
        analysis: Analysis { flags: Flags(u16::MAX), dup_ack_num: 2, ..Analysis::default() },
        ..Context::default()
    };
    let frames = [syn(), udp6()];
    for (name, field, _) in fields::FIELDS {
        let differs = frames.iter().any(|data| {
            let fr = frame(data);
            let p = decode(fr.link, fr.data, fr.orig_len);
            let collect = |c: &Context| {
                let mut v = Vec::new();
                fields::values(field, &fr, &p, c, &mut |l| {
                    v.push(l);
                    false
                });
                v
            };
            collect(&Context::default()) != collect(&rich)
        });
        assert_eq!(differs, field.needs_context(), "{name}");
    }
}

/// A `tcp.flags.*` comparison is compiled to a straight read of the header's flags:
/// it must answer as the general rule over occurrences does, for every flag, operator
/// and value, on a frame with TCP (flag set and clear) and one without.
#[test]
fn flag_comparisons_answer_as_the_general_rule() {
    let frames = [syn(), udp6()];
    let mut checked = 0;
    for (name, field, _) in fields::FIELDS {
        if fields::tcp_flag_bit(field).is_none() {
            continue;
        }
        let ops = [
            (Op::Eq, "=="),
            (Op::Ne, "!="),
            (Op::AllEq, "==="),
            (Op::AnyNe, "~="),
            (Op::Lt, "<"),
            (Op::Le, "<="),
            (Op::Gt, ">"),
            (Op::Ge, ">="),
        ];
        for (op, text) in ops {
            for n in 0..3u64 {
                let f = Filter::parse(&format!("{name} {text} {n}")).unwrap();
                for data in &frames {
                    let fr = frame(data);
                    let p = decode(fr.link, fr.data, fr.orig_len);
                    let ctx = Context::default();
                    assert_eq!(
                        f.matches(&fr, &p, &ctx),
                        cmp(field, op, Lit::Num(n), &fr, &p, &ctx),
                        "{name} {text} {n}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 9 * 8 * 3 * 2, "{checked}");
}

/// A field with several values in one frame: `udp.stream` of a UDP datagram in a
/// tunnel, the tunnel's first. Each operator as tshark 4.0 answers on such frames
/// (`udp-tunnels.pcap`'s frame 1, `udp.stream` 0 and 1).
#[test]
fn several_values_any_and_all() {
    let u = udp6();
    let fr = frame(&u);
    let p = decode(fr.link, fr.data, fr.orig_len);
    let mut tunnelled = Context { stream: Some(1), stream_of: crate::decode::StreamOf::Udp, ..Context::default() };
    tunnelled.tunnels.push(0);
    let plain = Context { stream: Some(0), ..Context::default() };
    let cases = [
        // (filter, on the tunnelled frame, on the plain one)
        ("udp.stream == 0", true, true),
        ("udp.stream == 1", true, false),
        ("udp.stream any_eq 1", true, false),
        ("udp.stream != 0", false, false),
        ("udp.stream != 2", true, true),
        ("udp.stream all_ne 1", false, true),
        ("udp.stream === 0", false, true),
        ("udp.stream all_eq 1", false, false),
        ("udp.stream ~= 0", true, false),
        ("udp.stream !== 1", true, true),
        ("udp.stream any_ne 0", true, false),
        ("udp.stream > 0", true, false),
        ("udp.stream < 1", true, true),
        ("udp.stream", true, true),
        ("tcp.stream", false, false),
        ("not udp.stream === 0", true, false),
    ];
    for (f, on_tunnelled, on_plain) in cases {
        let flt = Filter::parse(f).unwrap_or_else(|e| panic!("{}", e.render(f)));
        assert_eq!(flt.matches(&fr, &p, &tunnelled), on_tunnelled, "{f} in a tunnel");
        assert_eq!(flt.matches(&fr, &p, &plain), on_plain, "{f} plain");
    }
    // An "all" on a field the frame lacks is false, as `==` is.
    assert!(!m("udp.port === 53", &syn()));
    assert!(!m("udp.port ~= 53", &syn()));
    assert!(m("ipv6.addr ~= fe80::1", &u));
    assert!(!m("ipv6.addr === fe80::1", &u));
    assert!(m("ipv6.addr === fe80::/64", &u));
    assert!(!m("ipv6.addr ~= fe80::/64", &u));
}

/// A frame that completes a fragmented datagram has no transport header of its own:
/// the tracker's word on which protocol its stream is decides.
#[test]
fn a_stream_without_its_header_is_the_trackers() {
    let u = udp6();
    let fr = frame(&u);
    let p = decode(fr.link, fr.data, fr.orig_len);
    let tcp = Context { stream: Some(4), stream_of: crate::decode::StreamOf::Tcp, ..Context::default() };
    let flt = |f: &str| Filter::parse(f).unwrap().matches(&fr, &p, &tcp);
    assert!(flt("tcp.stream == 4"));
    assert!(!flt("udp.stream"));
}
