//! UDP (RFC 768): ports, length, checksum; the payload is a datagram, kept whole.

use super::field::{Fields, Value, Visitor};
use super::{be16, push_data, Packet, Problem, Proto};

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let avail = end - off;
    if avail < 8 {
        p.push(Proto::Udp, off, end, end);
        return p.fail(Proto::Udp, off, Problem::Truncated { needed: 8, available: avail });
    }
    let len = usize::from(be16(p.data, off + 4).unwrap_or(0));
    if len < 8 {
        p.push(Proto::Udp, off, off + 8, end);
        p.fail(Proto::Udp, off, Problem::BadUdpLen { length: len, available: avail });
        return push_data(p, off + 8, end);
    }
    let pend = end.min(off + len);
    p.push(Proto::Udp, off, off + 8, pend);
    let (sp, dp) = (be16(p.data, off).unwrap_or(0), be16(p.data, off + 2).unwrap_or(0));
    if pend > off + 8 && p.n < super::MAX_LAYERS - 3 && !p.quoting() && super::tunnel::decode(p, sp, dp, off + 8, pend)
    {
        return;
    }
    push_data(p, off + 8, pend)
}

/// UDP header view.
#[derive(Clone, Copy)]
pub struct Udp<'a>(&'a [u8]);

impl<'a> Udp<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Udp(b)
    }
    pub fn src_port(&self) -> Option<u16> {
        be16(self.0, 0)
    }
    pub fn dst_port(&self) -> Option<u16> {
        be16(self.0, 2)
    }
    pub fn length(&self) -> Option<u16> {
        be16(self.0, 4)
    }
    pub fn checksum(&self) -> Option<u16> {
        be16(self.0, 6)
    }
}

pub fn describe<V: Visitor>(v: &mut V, b: &[u8], base: usize, hdr_avail: usize, cs: super::Checksum) {
    let u = Udp::new(b);
    v.layer(
        Proto::Udp,
        base..base + hdr_avail,
        format_args!(
            "User Datagram Protocol, Src Port: {}, Dst Port: {}",
            u.src_port().unwrap_or(0),
            u.dst_port().unwrap_or(0)
        ),
    );
    let mut f = Fields { v, base, avail: hdr_avail };
    // Wireshark reads both ports before it shows either.
    if hdr_avail < 4 {
        return;
    }
    f.f("srcport", "Source Port", 0..2, u.src_port().map(|x| Value::U(x.into())), None);
    f.f("dstport", "Destination Port", 2..4, u.dst_port().map(|x| Value::U(x.into())), None);
    f.f(
        "length",
        "Length",
        4..6,
        u.length().map(|x| Value::U(x.into())),
        Some(format_args!("(header 8 + payload {})", u.length().unwrap_or(8).saturating_sub(8))),
    );
    f.f(
        "checksum",
        "Checksum",
        6..8,
        u.checksum().map(|x| Value::Hex(x.into(), 4)),
        Some(format_args!("[{}]", cs.meaning())),
    );
    if f.has(&(6..8)) {
        let r = f.abs(6..8);
        f.v.field("checksum.status", "Checksum Status", r, Value::Str(cs.key()), None);
    }
}
