//! ICMP (RFC 792) and ICMPv6 (RFC 4443, neighbour discovery RFC 4861): type, code,
//! checksum and the fields of the common messages.

use std::fmt;

use super::field::{get, get16, get8, Fields, Value, Visitor};
use super::{push_data, Packet, Problem, Proto};

/// ICMP (RFC 792) and ICMPv6 (RFC 4443 section 2.1) share the first bytes; the
/// rest depends on the type. Relative to the message's first byte.
pub(super) mod field {
    use crate::decode::field::Field;

    pub const TYPE: Field = 0..1;
    pub const CODE: Field = 1..2;
    pub const CHECKSUM: Field = 2..4;
    /// Type, code and checksum: what every message has.
    pub const MIN_LEN: usize = CHECKSUM.end;
    /// Echo request and reply (RFC 792, RFC 4443 section 4).
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
    /// The header as the layer shows it: an error's quoted datagram follows it
    /// (RFC 792, RFC 4443 section 2.4), as do the echo data and ND's bodies.
    pub const HEADER_LEN: usize = ECHO_SEQ.end;
    /// Neighbour advertisement flags: router, solicited, override (RFC 4861 section 4.4).
    pub const NA_FLAGS: Field = 4..5;
    /// Neighbour solicitation and advertisement target (RFC 4861 sections 4.3, 4.4).
    pub const ND_TARGET: Field = HEADER_LEN..HEADER_LEN + 16;
    /// Where the options begin: router solicitation, router advertisement (after hop
    /// limit, flags, lifetime, reachable time and retransmit timer), NS and NA.
    pub const RS_OPTIONS: usize = HEADER_LEN;
    pub const RA_OPTIONS: usize = 16;
    pub const NS_NA_OPTIONS: usize = ND_TARGET.end;

    /// A neighbour-discovery option (RFC 4861 section 4.6), relative to its first byte.
    pub mod nd_opt {
        use crate::decode::field::Field;

        pub const TYPE: Field = 0..1;
        /// In units of 8 bytes, type and length included.
        pub const LEN: Field = 1..2;
        /// A source or target link-layer address option's address, when a MAC
        /// (length 1: 8 bytes in all).
        pub const MAC: Field = 2..8;
    }
}
use field::{HEADER_LEN, MIN_LEN};

pub(crate) fn decode(p: &mut Packet<'_>, proto: Proto, off: usize, end: usize) {
    let avail = end - off;
    if avail < MIN_LEN {
        p.push(proto, off, end, end);
        return p.fail(proto, off, Problem::Truncated { needed: MIN_LEN, available: avail });
    }
    let hdr = avail.min(HEADER_LEN);
    p.push(proto, off, off + hdr, end);
    // An error quotes the IP header and the first bytes of the datagram that caused
    // it (RFC 792, RFC 4443 section 2.4): decoded as tshark does, so a port
    // unreachable names the UDP ports it refers to. Never an error inside a quote.
    let kind = p.data[off + field::TYPE.start];
    let error = match proto {
        Proto::Icmp => matches!(kind, 3 | 4 | 5 | 11 | 12),
        _ => matches!(kind, 1..=4),
    };
    if error && !p.quoting() && avail > HEADER_LEN && p.n < super::MAX_LAYERS - 3 {
        p.quote = p.n;
        let inner = off + HEADER_LEN;
        match (proto, p.data[inner] >> 4) {
            (Proto::Icmp, 4) => return super::ipv4::decode(p, inner, end),
            (Proto::Icmpv6, 6) => return super::ipv6::decode(p, inner, end),
            _ => p.quote = 0,
        }
    }
    push_data(p, off + hdr, end)
}

/// ICMP or ICMPv6 message view (both start type, code, checksum).
#[derive(Clone, Copy)]
pub struct Icmp<'a>(&'a [u8]);

impl<'a> Icmp<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Icmp(b)
    }
    pub fn kind(&self) -> Option<u8> {
        get8(self.0, field::TYPE)
    }
    pub fn code(&self) -> Option<u8> {
        get8(self.0, field::CODE)
    }
    pub fn checksum(&self) -> Option<u16> {
        get16(self.0, field::CHECKSUM)
    }
    pub fn ident(&self) -> Option<u16> {
        get16(self.0, field::ECHO_IDENT)
    }
    pub fn seq(&self) -> Option<u16> {
        get16(self.0, field::ECHO_SEQ)
    }
    /// Neighbour solicitation/advertisement target (ICMPv6 types 135, 136).
    pub fn nd_target(&self) -> Option<std::net::Ipv6Addr> {
        get::<16>(self.0, field::ND_TARGET).map(Into::into)
    }
    /// The link-layer address option of a neighbour-discovery message (RFC 4861
    /// section 4.6.1): source address in solicitations and adverts, target in NAs.
    pub fn nd_link_addr(&self, kind: u8) -> Option<[u8; 6]> {
        let (mut off, want) = match kind {
            133 => (field::RS_OPTIONS, 1),
            134 => (field::RA_OPTIONS, 1),
            135 => (field::NS_NA_OPTIONS, 1),
            136 => (field::NS_NA_OPTIONS, 2),
            _ => return None,
        };
        use field::nd_opt;
        let at = |off: usize, r: super::field::Field| off + r.start..off + r.end;
        while let (Some(t), Some(len)) = (get8(self.0, at(off, nd_opt::TYPE)), get8(self.0, at(off, nd_opt::LEN))) {
            if len == 0 {
                return None;
            }
            if t == want && len == 1 {
                return get(self.0, at(off, nd_opt::MAC));
            }
            off += usize::from(len) * 8;
        }
        None
    }
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Neighbour advertisement flags (router 0x80, solicited 0x40, override 0x20).
    pub fn na_flags(&self) -> Option<u8> {
        get8(self.0, field::NA_FLAGS)
    }
}

pub fn is_echo(v6: bool, kind: u8) -> bool {
    if v6 {
        kind == 128 || kind == 129
    } else {
        kind == 0 || kind == 8
    }
}

pub fn type_name(v6: bool, t: u8) -> &'static str {
    if v6 {
        return match t {
            1 => "Destination Unreachable",
            2 => "Packet Too Big",
            3 => "Time Exceeded",
            4 => "Parameter Problem",
            128 => "Echo (ping) request",
            129 => "Echo (ping) reply",
            130 => "Multicast Listener Query",
            131 => "Multicast Listener Report",
            133 => "Router Solicitation",
            134 => "Router Advertisement",
            135 => "Neighbor Solicitation",
            136 => "Neighbor Advertisement",
            137 => "Redirect",
            143 => "Multicast Listener Report Message v2",
            _ => "Unknown ICMPv6 type",
        };
    }
    // packet-icmp.c's icmp_type_str.
    match t {
        0 => "Echo (ping) reply",
        1 | 2 => "Reserved",
        3 => "Destination unreachable",
        4 => "Source quench (flow control)",
        5 => "Redirect",
        6 => "Alternate host address",
        8 => "Echo (ping) request",
        9 => "Router advertisement",
        10 => "Router solicitation",
        11 => "Time-to-live exceeded",
        12 => "Parameter problem",
        13 => "Timestamp request",
        14 => "Timestamp reply",
        15 => "Information request",
        16 => "Information reply",
        17 => "Address mask request",
        18 => "Address mask reply",
        19 => "Reserved (for security)",
        30 => "Traceroute",
        31 => "Datagram Conversion Error",
        32 => "Mobile Host Redirect",
        33 => "IPv6 Where-Are-You",
        34 => "IPv6 I-Am-Here",
        35 => "Mobile Registration Request",
        36 => "Mobile Registration Reply",
        37 => "Domain Name Request",
        38 => "Domain Name Reply",
        39 => "SKIP",
        40 => "Photuris",
        41 => "Experimental mobility protocols",
        42 => "Extended Echo request",
        43 => "Extended Echo reply",
        _ => "Unknown ICMP (obsolete or malformed?)",
    }
}

/// The name the info column gives an ICMP type: tshark calls a router advertisement
/// of code 0 or 16 a Mobile IP one.
fn info_type_name(v6: bool, t: u8, c: u8) -> &'static str {
    match (v6, t, c) {
        (false, 9, 0 | 16) => "Mobile IP Advertisement",
        _ => type_name(v6, t),
    }
}

/// ICMP types whose code tshark names, "Unknown code: N" when it has no name for it.
fn has_code_names(v6: bool, t: u8) -> bool {
    !v6 && matches!(t, 3 | 5 | 6 | 9 | 11 | 12 | 40 | 42 | 43)
}

pub fn code_name(v6: bool, t: u8, c: u8) -> Option<&'static str> {
    Some(match (v6, t, c) {
        // packet-icmp.c's unreach_code_str, redir_code_str, alt_host_code_str,
        // rtradvert_code_str, ttl_code_str, par_code_str, photuris_code_str and the
        // extended echo tables.
        (false, 3, 0) => "Network unreachable",
        (false, 3, 1) => "Host unreachable",
        (false, 3, 2) => "Protocol unreachable",
        (false, 3, 3) => "Port unreachable",
        (false, 3, 4) => "Fragmentation needed",
        (false, 3, 5) => "Source route failed",
        (false, 3, 6) => "Destination network unknown",
        (false, 3, 7) => "Destination host unknown",
        (false, 3, 8) => "Source host isolated",
        (false, 3, 9) => "Network administratively prohibited",
        (false, 3, 10) => "Host administratively prohibited",
        (false, 3, 11) => "Network unreachable for TOS",
        (false, 3, 12) => "Host unreachable for TOS",
        (false, 3, 13) => "Communication administratively filtered",
        (false, 3, 14) => "Host precedence violation",
        (false, 3, 15) => "Precedence cutoff in effect",
        (false, 5, 0) => "Redirect for network",
        (false, 5, 1) => "Redirect for host",
        (false, 5, 2) => "Redirect for TOS and network",
        (false, 5, 3) => "Redirect for TOS and host",
        (false, 6, 0) => "Alternate address for host",
        (false, 9, 0) => "Normal router advertisement",
        (false, 9, 16) => "Does not route common traffic",
        (false, 11, 0) => "Time to live exceeded in transit",
        (false, 11, 1) => "Fragment reassembly time exceeded",
        (false, 12, 0) => "Pointer indicates the error",
        (false, 12, 1) => "Required option missing",
        (false, 12, 2) => "Bad length",
        (false, 40, 0) => "Bad SPI",
        (false, 40, 1) => "Authentication Failed",
        (false, 40, 2) => "Decompression Failed",
        (false, 40, 3) => "Decryption Failed",
        (false, 40, 4) => "Need Authentication",
        (false, 40, 5) => "Need Authorization",
        (false, 42, 0) | (false, 43, 0) => "No error",
        (false, 43, 1) => "Malformed Query",
        (false, 43, 2) => "No Such Interface",
        (false, 43, 3) => "No Such Table Entry",
        (false, 43, 4) => "Multiple Interfaces Satisfy Query",
        (true, 1, 0) => "no route to destination",
        (true, 1, 1) => "communication with destination administratively prohibited",
        (true, 1, 3) => "Address unreachable",
        (true, 1, 4) => "Port unreachable",
        (true, 3, 0) => "hop limit exceeded in transit",
        _ => return None,
    })
}

/// Summary line the packet list shows for an ICMP/ICMPv6 message.
pub struct Info<'a> {
    pub v6: bool,
    pub msg: Icmp<'a>,
    pub hop: Option<u8>,
}

impl fmt::Display for Info<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(t) = self.msg.kind() else {
            return f.write_str("ICMP (truncated)");
        };
        let code = self.msg.code().unwrap_or(0);
        let name = info_type_name(self.v6, t, code);
        if self.v6 {
            f.write_str(name)?;
        } else {
            // tshark writes the type "%-20s".
            write!(f, "{name:<20}")?;
        }
        if has_code_names(self.v6, t) {
            match code_name(self.v6, t, code) {
                Some(c) => write!(f, " ({c})")?,
                None => write!(f, " (Unknown code: {code})")?,
            }
        } else if is_echo(self.v6, t) {
            if let (Some(id), Some(seq)) = (self.msg.ident(), self.msg.seq()) {
                if self.v6 {
                    write!(f, " id=0x{id:04x}, seq={seq}")?;
                } else {
                    write!(f, " id=0x{id:04x}, seq={seq}/{}", seq.swap_bytes())?;
                }
                if let Some(h) = self.hop {
                    write!(f, ", {}={h}", if self.v6 { "hop limit" } else { "ttl" })?;
                }
            }
        } else if self.v6 && (133..=136).contains(&t) {
            let mut mac = crate::text::StackStr::<17>::new();
            let ll = self.msg.nd_link_addr(t).and_then(|m| super::field::write_mac(&mut mac, &m).ok());
            match (t, self.msg.nd_target()) {
                (135, Some(tg)) => {
                    write!(f, " for {tg}")?;
                    if ll.is_some() {
                        write!(f, " from {}", mac.as_str())?;
                    }
                }
                (136, Some(tg)) => {
                    let fl = self.msg.na_flags().unwrap_or(0);
                    write!(f, " {tg}")?;
                    let names = [(0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")];
                    let mut sep = " (";
                    for (_, n) in names.iter().filter(|(b, _)| fl & b != 0) {
                        write!(f, "{sep}{n}")?;
                        sep = ", ";
                    }
                    if sep == ", " {
                        f.write_str(")")?;
                    }
                    if ll.is_some() {
                        write!(f, " is at {}", mac.as_str())?;
                    }
                }
                _ if ll.is_some() => write!(f, " from {}", mac.as_str())?,
                _ => {}
            }
        } else if let Some(c) = code_name(self.v6, t, code).filter(|_| self.v6) {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

pub fn describe<V: Visitor>(
    v: &mut V,
    proto: Proto,
    b: &[u8],
    base: usize,
    hdr_avail: usize,
    cs: super::Checksum,
    request: Option<(u32, u32)>,
) {
    let v6 = proto == Proto::Icmpv6;
    let m = Icmp::new(b);
    v.layer(proto, base..base + hdr_avail, format_args!("{}", proto.name()));
    let mut f = Fields { v, base, avail: hdr_avail };
    if let Some(t) = m.kind() {
        f.f("type", "Type", field::TYPE, Some(Value::U(t.into())), Some(format_args!("({})", type_name(v6, t))));
        if let Some(c) = m.code() {
            let cn = code_name(v6, t, c);
            match cn {
                Some(s) => f.f("code", "Code", field::CODE, Some(Value::U(c.into())), Some(format_args!("({s})"))),
                None => f.f("code", "Code", field::CODE, Some(Value::U(c.into())), None),
            }
        }
        f.f(
            "checksum",
            "Checksum",
            field::CHECKSUM,
            m.checksum().map(|x| Value::Hex(x.into(), 4)),
            Some(format_args!("[{}]", cs.meaning())),
        );
        if f.has(&field::CHECKSUM) {
            let r = f.abs(field::CHECKSUM);
            f.v.field("checksum.status", "Checksum Status", r, Value::Str(cs.key()), None);
        }
        if is_echo(v6, t) {
            f.f("ident", "Identifier", field::ECHO_IDENT, m.ident().map(|x| Value::U(x.into())), None);
            f.f("seq", "Sequence Number", field::ECHO_SEQ, m.seq().map(|x| Value::U(x.into())), None);
            if let Some((frame, rtt_us)) = request {
                let r = base..base + hdr_avail;
                f.v.field("resp_to", "Request frame", r.clone(), Value::U(frame.into()), None);
                let ms = f64::from(rtt_us) / 1000.0;
                f.v.field("resptime", "Response time", r, Value::F(ms), Some(format_args!("ms after the request")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;
    use crate::decode::field::{check, Field};

    #[test]
    fn the_info_column_names_types_and_codes_as_tshark_does() {
        let info = |t: u8, c: u8| {
            let b = [t, c, 0, 0, 0, 7, 0, 1];
            Info { v6: false, msg: Icmp::new(&b), hop: Some(64) }.to_string()
        };
        // The type is padded to 20 characters, then the code's name.
        assert_eq!(info(5, 1), "Redirect             (Redirect for host)");
        assert_eq!(info(3, 10), "Destination unreachable (Host administratively prohibited)");
        assert_eq!(info(3, 99), "Destination unreachable (Unknown code: 99)");
        assert_eq!(info(9, 0), "Mobile IP Advertisement (Normal router advertisement)");
        assert_eq!(info(10, 0), "Router solicitation ");
        assert_eq!(info(8, 0), "Echo (ping) request  id=0x0007, seq=1/256, ttl=64");
        assert_eq!(info(0, 0), "Echo (ping) reply    id=0x0007, seq=1/256, ttl=64");
        assert_eq!(info(77, 0), "Unknown ICMP (obsolete or malformed?)");
    }

    const FIELDS: &[(&str, Field)] = &[
        ("type", TYPE),
        ("code", CODE),
        ("checksum", CHECKSUM),
        ("checksum.status", CHECKSUM),
        ("ident", ECHO_IDENT),
        ("seq", ECHO_SEQ),
    ];

    #[test]
    fn field_table_is_consistent_and_is_what_the_tree_highlights() {
        check::table(HEADER_LEN, FIELDS, &[]);
        check::table(MIN_LEN, &FIELDS[..4], &[]);
        // Neighbour discovery: the flags share the bytes an echo's identifier uses
        // in other messages; the options follow the target.
        let nd = [("type", TYPE), ("code", CODE), ("checksum", CHECKSUM), ("flags", NA_FLAGS), ("target", ND_TARGET)];
        check::table(NS_NA_OPTIONS, &nd, &[]);
        check::table(8, &[("type", nd_opt::TYPE), ("length", nd_opt::LEN), ("mac", nd_opt::MAC)], &[]);
        // A neighbour solicitation with a source link-layer address option.
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]); // target
        ns.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 9]); // source link-layer address
        let m = Icmp::new(&ns);
        assert_eq!((m.nd_target().map(|a| a.segments()[7]), m.nd_link_addr(135)), (Some(1), Some([2, 0, 0, 0, 0, 9])));
        assert_eq!(Icmp::new(&ns[..30]).nd_link_addr(135), None, "cut short: no address, no panic");
        let echo = [
            8, // echo request
            0, // code
            0xf7, 0xfd, // checksum
            0x00, 0x01, // identifier
            0x00, 0x01, // sequence number
            b'h', b'i', // data
        ];
        for proto in [Proto::Icmp, Proto::Icmpv6] {
            let mut m = echo;
            m[0] = if proto == Proto::Icmp { 8 } else { 128 };
            let mut seen = check::Seen::default();
            describe(&mut seen, proto, &m, 34, HEADER_LEN, crate::decode::Checksum::Good, None);
            check::tree(&seen, 34, FIELDS, &[]);
        }
        let m = Icmp::new(&echo);
        assert_eq!(
            (m.kind(), m.code(), m.checksum(), m.ident(), m.seq()),
            (Some(8), Some(0), Some(0xf7fd), Some(1), Some(1))
        );
    }

    #[test]
    fn an_advertisement_lists_its_flags_as_tshark_does() {
        let na = |flags: u8| {
            let mut b = vec![136, 0, 0, 0, flags, 0, 0, 0];
            b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            b.extend_from_slice(&[2, 1, 2, 0, 0, 0, 0, 9]);
            Info { v6: true, msg: Icmp::new(&b), hop: None }.to_string()
        };
        assert_eq!(na(0xe0), "Neighbor Advertisement fe80::1 (rtr, sol, ovr) is at 02:00:00:00:00:09");
        assert_eq!(na(0x60), "Neighbor Advertisement fe80::1 (sol, ovr) is at 02:00:00:00:00:09");
        assert_eq!(na(0x80), "Neighbor Advertisement fe80::1 (rtr) is at 02:00:00:00:00:09");
        assert_eq!(na(0), "Neighbor Advertisement fe80::1 is at 02:00:00:00:00:09");
    }
}
