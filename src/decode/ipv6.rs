//! IPv6 (RFC 8200): fixed header and the extension-header chain up to the transport.

use super::field::{Fields, Value, Visitor};
use super::{arr, be16, be32, decode_ip_proto, push_data, Packet, Problem, Proto};

/// Extension headers we walk through (RFC 8200 section 4, RFC 4302 for AH).
fn is_extension(n: u8) -> bool {
    matches!(n, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
}

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    let avail = b.len();
    if let Some(v) = b.first().map(|x| x >> 4) {
        if v != 6 {
            p.push(Proto::Ipv6, off, off + avail.min(40), end);
            return p.fail(Proto::Ipv6, off, Problem::BadVersion { version: v });
        }
    }
    if avail < 40 {
        p.push(Proto::Ipv6, off, end, end);
        return p.fail(Proto::Ipv6, off, Problem::Truncated { needed: 40, available: avail });
    }
    let plen = usize::from(be16(b, 4).unwrap_or(0));
    // Payload length 0 is a jumbogram or a TSO-sized capture: the frame decides.
    let pend = if plen == 0 { end } else { end.min(off + 40 + plen) };
    let mut next = b[6];
    let mut cur = off + 40;
    let mut hops = 0;
    while is_extension(next) && hops < 16 {
        hops += 1;
        let h = &p.data[cur..pend];
        if h.len() < 8 {
            p.push(Proto::Ipv6, off, pend, pend);
            return p.fail(Proto::Ipv6, cur, Problem::Truncated { needed: 8, available: h.len() });
        }
        let len = match next {
            44 => 8,
            51 => (usize::from(h[1]) + 2) * 4,
            _ => (usize::from(h[1]) + 1) * 8,
        };
        if h.len() < len {
            p.push(Proto::Ipv6, off, pend, pend);
            return p.fail(Proto::Ipv6, cur, Problem::Truncated { needed: len, available: h.len() });
        }
        let this = next;
        next = h[0];
        cur += len;
        if this == 44 && be16(h, 2).unwrap_or(0) & 0xfff9 != 0 {
            // A fragment: as for IPv4, the first one's transport header is decoded
            // (tshark with defragmentation off), the others are data.
            p.unknown_ip_proto = Some(next);
            p.fragmented |= !p.quoting();
            if be16(h, 2).unwrap_or(0) & 0xfff8 != 0 || cur >= pend {
                p.push(Proto::Ipv6, off, cur, pend);
                return push_data(p, cur, pend);
            }
        }
    }
    p.push(Proto::Ipv6, off, cur, pend);
    if next == 59 {
        return push_data(p, cur, pend);
    }
    decode_ip_proto(p, next, cur, pend)
}

/// IPv6 header view.
#[derive(Clone, Copy)]
pub struct Ipv6<'a>(&'a [u8]);

impl<'a> Ipv6<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Ipv6(b)
    }
    pub fn traffic_class(&self) -> Option<u8> {
        be16(self.0, 0).map(|v| ((v >> 4) & 0xff) as u8)
    }
    pub fn flow_label(&self) -> Option<u32> {
        be32(self.0, 0).map(|v| v & 0x000f_ffff)
    }
    pub fn payload_len(&self) -> Option<u16> {
        be16(self.0, 4)
    }
    pub fn next_header(&self) -> Option<u8> {
        self.0.get(6).copied()
    }
    pub fn hop_limit(&self) -> Option<u8> {
        self.0.get(7).copied()
    }
    pub fn src(&self) -> Option<std::net::Ipv6Addr> {
        arr::<16>(self.0, 8).map(Into::into)
    }
    pub fn dst(&self) -> Option<std::net::Ipv6Addr> {
        arr::<16>(self.0, 24).map(Into::into)
    }
    pub fn src_bytes(&self) -> Option<[u8; 16]> {
        arr(self.0, 8)
    }
    pub fn dst_bytes(&self) -> Option<[u8; 16]> {
        arr(self.0, 24)
    }
}

fn ext_name(n: u8) -> &'static str {
    match n {
        0 => "Hop-by-Hop Options",
        43 => "Routing",
        44 => "Fragment",
        51 => "Authentication Header",
        60 => "Destination Options",
        135 => "Mobility",
        _ => "Extension",
    }
}

pub fn describe<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr_avail: usize) {
    let ip = Ipv6::new(b);
    match (ip.src(), ip.dst()) {
        (Some(s), Some(d)) => v.layer(
            Proto::Ipv6,
            base..base + hdr_avail,
            format_args!("Internet Protocol Version 6, Src: {s}, Dst: {d}"),
        ),
        _ => v.layer(Proto::Ipv6, base..base + hdr_avail, format_args!("Internet Protocol Version 6")),
    }
    let mut f = Fields { v, base, avail: hdr_avail };
    f.f("version", "Version", 0..1, b.first().map(|x| Value::U((x >> 4).into())), None);
    if let Some(tc) = ip.traffic_class() {
        f.f(
            "tclass",
            "Traffic Class",
            0..2,
            Some(Value::Hex(tc.into(), 2)),
            Some(format_args!("(DSCP {}, ECN {})", tc >> 2, tc & 3)),
        );
        f.f("tclass.dscp", "Differentiated Services Codepoint", 0..2, Some(Value::U((tc >> 2).into())), None);
        f.f("tclass.ecn", "Explicit Congestion Notification", 0..2, Some(Value::U((tc & 3).into())), None);
    }
    f.f("flow", "Flow Label", 1..4, ip.flow_label().map(|x| Value::Hex(x.into(), 5)), None);
    f.f("plen", "Payload Length", 4..6, ip.payload_len().map(|x| Value::U(x.into())), None);
    if let Some(n) = ip.next_header() {
        f.f(
            "nxt",
            "Next Header",
            6..7,
            Some(Value::U(n.into())),
            Some(format_args!("({})", if is_extension(n) { ext_name(n) } else { super::ip_proto_name(n) })),
        );
    }
    f.f("hlim", "Hop Limit", 7..8, ip.hop_limit().map(|x| Value::U(x.into())), None);
    f.f("src", "Source Address", 8..24, ip.src_bytes().map(Value::Ipv6), None);
    f.f("dst", "Destination Address", 24..40, ip.dst_bytes().map(Value::Ipv6), None);
    // Extension headers, as far as the decoder took them.
    let mut next = ip.next_header().unwrap_or(59);
    let mut cur = 40;
    while is_extension(next) && cur + 8 <= hdr_avail {
        let h = &b[cur..];
        let len = match next {
            44 => 8,
            51 => (usize::from(h[1]) + 2) * 4,
            _ => (usize::from(h[1]) + 1) * 8,
        };
        if cur + len > hdr_avail {
            break;
        }
        f.v.group(
            "ext",
            ext_name(next),
            f.abs(cur..cur + len),
            None,
            Some(format_args!("({len} bytes, next header {})", h[0])),
        );
        if next == 44 {
            let fo = be16(h, 2).unwrap_or(0);
            f.f(
                "fragment.offset",
                "Offset",
                cur + 2..cur + 4,
                Some(Value::U(u64::from(fo >> 3) * 8)),
                Some(format_args!("bytes")),
            );
            f.f("fragment.more", "More Fragments", cur + 3..cur + 4, Some(Value::U(u64::from(fo & 1))), None);
            f.f("fragment.id", "Identification", cur + 4..cur + 8, be32(h, 4).map(|x| Value::Hex(x.into(), 8)), None);
        }
        f.v.end_group();
        next = h[0];
        cur += len;
    }
}
