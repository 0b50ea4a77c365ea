//! UDP (RFC 768): ports, length, checksum; the payload is a datagram, kept whole.

use super::field::{get16, Fields, Value, Visitor};
use super::{push_data, Packet, Problem, Proto};

/// The header (RFC 768), relative to its first byte.
pub(crate) mod field {
    use crate::decode::field::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    /// Both ports: Wireshark reads them together before it shows either.
    pub const PORTS: Field = SRC_PORT.start..DST_PORT.end;
    /// Header and payload, in bytes.
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const HEADER_LEN: usize = CHECKSUM.end;
}
use field::HEADER_LEN;

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let avail = end - off;
    if avail < HEADER_LEN {
        p.push(Proto::Udp, off, end, end);
        return p.fail(Proto::Udp, off, Problem::Truncated { needed: HEADER_LEN, available: avail });
    }
    let u = Udp::new(&p.data[off..end]);
    let len = usize::from(u.length().unwrap_or(0));
    let body = off + HEADER_LEN;
    if len < HEADER_LEN {
        p.push(Proto::Udp, off, body, end);
        p.fail(Proto::Udp, off, Problem::BadUdpLen { length: len, available: avail });
        return push_data(p, body, end);
    }
    let pend = end.min(off + len);
    let (sp, dp) = (u.src_port().unwrap_or(0), u.dst_port().unwrap_or(0));
    p.push(Proto::Udp, off, body, pend);
    if pend > body && p.n < super::MAX_LAYERS - 3 && !p.quoting() && super::tunnel::decode(p, sp, dp, body, pend) {
        return;
    }
    push_data(p, body, pend)
}

/// UDP header view.
#[derive(Clone, Copy)]
pub struct Udp<'a>(&'a [u8]);

impl<'a> Udp<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Udp(b)
    }
    pub fn src_port(&self) -> Option<u16> {
        get16(self.0, field::SRC_PORT)
    }
    pub fn dst_port(&self) -> Option<u16> {
        get16(self.0, field::DST_PORT)
    }
    pub fn length(&self) -> Option<u16> {
        get16(self.0, field::LENGTH)
    }
    pub fn checksum(&self) -> Option<u16> {
        get16(self.0, field::CHECKSUM)
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
    if hdr_avail < field::PORTS.end {
        return;
    }
    f.f("srcport", "Source Port", field::SRC_PORT, u.src_port().map(|x| Value::U(x.into())), None);
    f.f("dstport", "Destination Port", field::DST_PORT, u.dst_port().map(|x| Value::U(x.into())), None);
    f.f(
        "length",
        "Length",
        field::LENGTH,
        u.length().map(|x| Value::U(x.into())),
        Some(format_args!(
            "(header {HEADER_LEN} + payload {})",
            usize::from(u.length().unwrap_or(0)).saturating_sub(HEADER_LEN)
        )),
    );
    f.f(
        "checksum",
        "Checksum",
        field::CHECKSUM,
        u.checksum().map(|x| Value::Hex(x.into(), 4)),
        Some(format_args!("[{}]", cs.meaning())),
    );
    if f.has(&field::CHECKSUM) {
        let r = f.abs(field::CHECKSUM);
        f.v.field("checksum.status", "Checksum Status", r, Value::Str(cs.key()), None);
    }
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;
    use crate::decode::field::{check, Field};

    const FIELDS: &[(&str, Field)] = &[
        ("srcport", SRC_PORT),
        ("dstport", DST_PORT),
        ("length", LENGTH),
        ("checksum", CHECKSUM),
        ("checksum.status", CHECKSUM),
    ];

    #[test]
    fn field_table_is_consistent_and_is_what_the_tree_highlights() {
        check::table(HEADER_LEN, FIELDS, &[]);
        assert_eq!(PORTS, SRC_PORT.start..DST_PORT.end);
        let h = [
            0x00, 0x35, // source port 53
            0xc0, 0x00, // destination port 49152
            0x00, 0x0c, // length 12
            0x00, 0x00, // checksum
            1, 2, 3, 4, // payload
        ];
        let mut seen = check::Seen::default();
        describe(&mut seen, &h, 34, HEADER_LEN, crate::decode::Checksum::Absent);
        check::tree(&seen, 34, FIELDS, &[]);
        let u = Udp::new(&h);
        assert_eq!((u.src_port(), u.dst_port(), u.length(), u.checksum()), (Some(53), Some(49152), Some(12), Some(0)));
    }
}
