//! ARP (RFC 826): who has this IP address, tell me your MAC.

use std::fmt;

use super::field::{get, get16, get8, Field, Fields, Value, Visitor};
use super::{arr, Packet, Problem, Proto};

/// The message (RFC 826), relative to its first byte: a fixed part, then four
/// addresses whose sizes it gives.
mod field {
    use crate::decode::field::Field;

    pub const HW_TYPE: Field = 0..2;
    pub const PROTO_TYPE: Field = 2..4;
    pub const HW_SIZE: Field = 4..5;
    pub const PROTO_SIZE: Field = 5..6;
    pub const OPCODE: Field = 6..8;
    /// The fixed part; the sender's hardware and protocol addresses, then the
    /// target's, follow.
    pub const HEADER_LEN: usize = OPCODE.end;
    /// The sender's MAC, when hardware addresses are 6 bytes.
    pub const SENDER_MAC: Field = HEADER_LEN..HEADER_LEN + 6;
    /// The target's hardware address: after the sender's hardware and protocol
    /// addresses, whatever their sizes (Wireshark's `tha_offset`).
    pub const fn target_hw(hw_size: usize, proto_size: usize) -> Field {
        let start = HEADER_LEN + hw_size + proto_size;
        start..start + hw_size
    }
    /// The target's MAC in the Ethernet/IPv4 form.
    #[cfg(test)]
    pub const TARGET_MAC: Field = target_hw(6, 4);
}
use field::HEADER_LEN;

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    let avail = b.len();
    let a = Arp::new(b);
    let need = match (a.hw_size(), a.proto_size()) {
        (Some(h), Some(l)) => HEADER_LEN + 2 * (usize::from(h) + usize::from(l)),
        _ => HEADER_LEN,
    };
    if avail < need {
        p.push(Proto::Arp, off, end, end);
        return p.fail(Proto::Arp, off, Problem::Truncated { needed: need, available: avail });
    }
    // Bytes after the ARP message are Ethernet padding, not payload.
    p.push(Proto::Arp, off, off + need, off + need);
}

/// ARP message view.
#[derive(Clone, Copy)]
pub struct Arp<'a>(&'a [u8]);

impl<'a> Arp<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Arp(b)
    }
    pub fn hw_type(&self) -> Option<u16> {
        get16(self.0, field::HW_TYPE)
    }
    pub fn proto_type(&self) -> Option<u16> {
        get16(self.0, field::PROTO_TYPE)
    }
    pub fn hw_size(&self) -> Option<u8> {
        get8(self.0, field::HW_SIZE)
    }
    pub fn proto_size(&self) -> Option<u8> {
        get8(self.0, field::PROTO_SIZE)
    }
    pub fn opcode(&self) -> Option<u16> {
        get16(self.0, field::OPCODE)
    }
    /// True for the common Ethernet/IPv4 form.
    pub fn is_eth_ipv4(&self) -> bool {
        self.hw_is_mac() && self.proto_is_ipv4()
    }
    /// Hardware addresses are MACs: Ethernet or IEEE 802, 6 bytes (Wireshark's
    /// `ARP_HW_IS_ETHER`).
    fn hw_is_mac(&self) -> bool {
        matches!(self.hw_type(), Some(1 | 6)) && self.hw_size() == Some(6)
    }
    /// Protocol addresses are IPv4: IP's ethertype or AX.25's IP PID, 4 bytes
    /// (`ARP_PRO_IS_IPv4`), whatever the hardware addresses are.
    fn proto_is_ipv4(&self) -> bool {
        matches!(self.proto_type(), Some(0x0800 | 0xcc)) && self.proto_size() == Some(4)
    }
    /// Offsets of the sender's and target's protocol addresses: each follows a
    /// hardware address of `hw_size` bytes (RFC 826).
    fn spa_at(&self) -> usize {
        HEADER_LEN + usize::from(self.hw_size().unwrap_or(0))
    }
    fn tpa_at(&self) -> usize {
        HEADER_LEN + 2 * usize::from(self.hw_size().unwrap_or(0)) + usize::from(self.proto_size().unwrap_or(0))
    }
    pub fn sender_mac(&self) -> Option<[u8; 6]> {
        self.hw_is_mac().then(|| get(self.0, field::SENDER_MAC)).flatten()
    }
    pub fn sender_ip(&self) -> Option<[u8; 4]> {
        self.proto_is_ipv4().then(|| arr(self.0, self.spa_at())).flatten()
    }
    fn tha_field(&self) -> Field {
        field::target_hw(usize::from(self.hw_size().unwrap_or(0)), usize::from(self.proto_size().unwrap_or(0)))
    }
    pub fn target_mac(&self) -> Option<[u8; 6]> {
        self.hw_is_mac().then(|| get(self.0, self.tha_field())).flatten()
    }
    pub fn target_ip(&self) -> Option<[u8; 4]> {
        self.proto_is_ipv4().then(|| arr(self.0, self.tpa_at())).flatten()
    }
    /// ATM ARP (RFC 2225, hardware type 19) lays its addresses out otherwise: like
    /// Wireshark (its `atmarp` dissector), only the hardware type is read as ARP's.
    pub fn is_atm(&self) -> bool {
        self.hw_type() == Some(ATM_HW)
    }
    /// A request for one's own address: announces it (and updates neighbours' caches).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip().is_some() && self.sender_ip() == self.target_ip()
    }
    /// RFC 5227 probe: "is anyone using this address?" from sender 0.0.0.0.
    pub fn is_probe(&self) -> bool {
        self.opcode() == Some(1) && self.sender_ip() == Some([0; 4])
    }
}

const ATM_HW: u16 = 19;
const DRARP_ERROR: u16 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddrKind {
    Mac,
    Ipv4,
    Hex,
}

/// One of the four addresses, written as tshark writes it in the info column
/// (`tvb_arphrdaddr_to_str`, `tvb_arpproaddr_to_str`): a MAC or an IPv4 address when
/// the type and size say so, `<No address>` when it is empty, else its bytes in hex.
#[derive(Clone, Copy, Debug)]
pub struct Addr<'a> {
    bytes: &'a [u8],
    kind: AddrKind,
}

impl fmt::Display for Addr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.bytes) {
            (_, []) => f.write_str("<No address>"),
            (AddrKind::Mac, &[a, b, c, d, e, g]) => super::field::write_mac(f, &[a, b, c, d, e, g]),
            (AddrKind::Ipv4, &[a, b, c, d]) => write!(f, "{}", std::net::Ipv4Addr::new(a, b, c, d)),
            (_, bytes) => bytes.iter().try_for_each(|x| write!(f, "{x:02x}")),
        }
    }
}

impl<'a> Arp<'a> {
    fn addr(&self, at: usize, len: u8, kind: AddrKind) -> Option<Addr<'a>> {
        Some(Addr { bytes: self.0.get(at..at + usize::from(len))?, kind })
    }
    fn hw_kind(&self) -> AddrKind {
        if self.hw_is_mac() {
            AddrKind::Mac
        } else {
            AddrKind::Hex
        }
    }
    fn proto_kind(&self) -> AddrKind {
        if self.proto_is_ipv4() {
            AddrKind::Ipv4
        } else {
            AddrKind::Hex
        }
    }
    /// The sender's hardware address, whatever its type and size.
    pub fn sha(&self) -> Option<Addr<'a>> {
        self.addr(HEADER_LEN, self.hw_size()?, self.hw_kind())
    }
    pub fn spa(&self) -> Option<Addr<'a>> {
        self.addr(self.spa_at(), self.proto_size()?, self.proto_kind())
    }
    pub fn tha(&self) -> Option<Addr<'a>> {
        self.addr(self.tha_field().start, self.hw_size()?, self.hw_kind())
    }
    pub fn tpa(&self) -> Option<Addr<'a>> {
        self.addr(self.tpa_at(), self.proto_size()?, self.proto_kind())
    }
}

/// tshark's protocol column for an ARP message: reverse (RFC 903), dynamic reverse
/// (RFC 1931) and inverse (RFC 2390) ARP go by their own names.
pub fn column_name(op: Option<u16>) -> &'static str {
    match op {
        Some(3 | 4) => "RARP",
        Some(5..=7) => "DRARP",
        Some(8 | 9) => "Inverse ARP",
        _ => "ARP",
    }
}

pub fn opcode_name(op: u16) -> &'static str {
    match op {
        1 => "request",
        2 => "reply",
        3 => "reverse request",
        4 => "reverse reply",
        8 => "inverse request",
        9 => "inverse reply",
        _ => "unknown",
    }
}

pub fn describe<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let a = Arp::new(b);
    let op = a.opcode().unwrap_or(0);
    let extra = if a.is_gratuitous() { ", gratuitous" } else { "" };
    v.layer(Proto::Arp, base..base + b.len(), format_args!("Address Resolution Protocol ({}{extra})", opcode_name(op)));
    let mut f = Fields { v, base, avail: b.len() };
    if let Some(h) = a.hw_type() {
        let m = if h == 1 { "(Ethernet)" } else { "" };
        f.f("hw.type", "Hardware type", field::HW_TYPE, Some(Value::U(h.into())), Some(format_args!("{m}")));
    }
    if let Some(t) = a.proto_type() {
        f.f(
            "proto.type",
            "Protocol type",
            field::PROTO_TYPE,
            Some(Value::Hex(t.into(), 4)),
            Some(super::link::EthertypeMeaning(t).args()),
        );
    }
    if a.is_atm() {
        v.note("atmarp", format_args!("ATM ARP (RFC 2225): its variable-length addresses are not decoded"));
        return;
    }
    f.f("hw.size", "Hardware size", field::HW_SIZE, a.hw_size().map(|x| Value::U(x.into())), None);
    f.f("proto.size", "Protocol size", field::PROTO_SIZE, a.proto_size().map(|x| Value::U(x.into())), None);
    f.f(
        "opcode",
        "Opcode",
        field::OPCODE,
        a.opcode().map(|x| Value::U(x.into())),
        Some(format_args!("({})", opcode_name(op))),
    );
    let (spa, tpa) = (a.spa_at(), a.tpa_at());
    if b.len() < tpa + usize::from(a.proto_size().unwrap_or(0)) {
        // Wireshark reads all four addresses for the info column before it shows
        // any: with the message cut short, none is shown.
        return;
    }
    f.f("src.hw_mac", "Sender MAC address", field::SENDER_MAC, a.sender_mac().map(Value::Mac), None);
    f.f("src.proto_ipv4", "Sender IP address", spa..spa + 4, a.sender_ip().map(Value::Ipv4), None);
    let tm = if op == 1 { Some(format_args!("(unknown yet: that is what the request asks)")) } else { None };
    f.f("dst.hw_mac", "Target MAC address", a.tha_field(), a.target_mac().map(Value::Mac), tm);
    if op == DRARP_ERROR {
        // RFC 1931 section 4: an error puts its status where the target address was.
        let status = b.get(tpa).copied();
        let name = match status {
            Some(1) => "restricted",
            Some(2) => "no address",
            Some(3) => "serverdown",
            Some(4) => "moved",
            Some(5) => "failure",
            _ => "unknown",
        };
        let value = status.map(|x| Value::U(x.into()));
        f.f("dst.drarp_error_status", "DRARP error status", tpa..tpa + 1, value, Some(format_args!("({name})")));
    } else {
        f.f("dst.proto_ipv4", "Target IP address", tpa..tpa + 4, a.target_ip().map(Value::Ipv4), None);
    }
    if a.is_gratuitous() {
        v.note("isgratuitous", format_args!("Gratuitous ARP: sender announces its own address"));
    }
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;
    use crate::decode::field::{check, Field};

    #[test]
    fn addresses_read_as_tshark_writes_them_in_the_info_column() {
        let msg = |hw: u16, pro: u16, sha: &[u8], spa: &[u8]| {
            let mut b = vec![0, 0, 0, 0, sha.len() as u8, spa.len() as u8, 0, 1];
            b[..2].copy_from_slice(&hw.to_be_bytes());
            b[2..4].copy_from_slice(&pro.to_be_bytes());
            for _ in 0..2 {
                b.extend_from_slice(sha);
                b.extend_from_slice(spa);
            }
            b
        };
        let show = |b: &[u8]| {
            let a = Arp::new(b);
            format!("{} {} {} {}", a.sha().unwrap(), a.spa().unwrap(), a.tha().unwrap(), a.tpa().unwrap())
        };
        let mac = [2, 0, 0, 0, 0, 1];
        assert_eq!(
            show(&msg(1, 0x0800, &mac, &[10, 0, 0, 1])),
            "02:00:00:00:00:01 10.0.0.1 02:00:00:00:00:01 10.0.0.1"
        );
        // IEEE 802 hardware is a MAC too; 8 bytes of hardware address or IPv6 are hex.
        assert!(show(&msg(6, 0x0800, &mac, &[10, 0, 0, 1])).starts_with("02:00:00:00:00:01 "));
        assert!(
            show(&msg(1, 0x0800, &[1, 2, 3, 4, 5, 6, 7, 8], &[10, 0, 0, 1])).starts_with("0102030405060708 10.0.0.1")
        );
        assert!(show(&msg(1, 0x86dd, &mac, &[0x20, 1, 0x0d, 0xb8])).contains(" 20010db8 "));
        assert_eq!(show(&msg(1, 0x0800, &[], &[])), "<No address> <No address> <No address> <No address>");
        // Cut short: no address past the end.
        let b = msg(1, 0x0800, &mac, &[10, 0, 0, 1]);
        assert!(Arp::new(&b[..b.len() - 1]).tpa().is_none());
        assert_eq!(
            (column_name(Some(3)), column_name(Some(6)), column_name(Some(9)), column_name(Some(1))),
            ("RARP", "DRARP", "Inverse ARP", "ARP")
        );
    }

    /// The fixed part, and the MACs where the Ethernet/IPv4 form has them.
    const FIELDS: &[(&str, Field)] = &[
        ("hw.type", HW_TYPE),
        ("proto.type", PROTO_TYPE),
        ("hw.size", HW_SIZE),
        ("proto.size", PROTO_SIZE),
        ("opcode", OPCODE),
        ("src.hw_mac", SENDER_MAC),
        ("dst.hw_mac", TARGET_MAC),
    ];

    #[test]
    fn field_table_is_consistent_and_is_what_the_tree_highlights() {
        check::table(HEADER_LEN, &FIELDS[..5], &[]);
        let m = [
            0x00, 0x01, // Ethernet
            0x08, 0x00, // IPv4
            6, 4, // address sizes
            0x00, 0x01, // request
            2, 0, 0, 0, 0, 1, // sender MAC
            10, 0, 0, 1, // sender IP
            0, 0, 0, 0, 0, 0, // target MAC
            10, 0, 0, 2, // target IP
        ];
        // The Ethernet/IPv4 form's four addresses fill the message, without overlap.
        let addrs = [("spa", SENDER_MAC.end..TARGET_MAC.start), ("tpa", TARGET_MAC.end..m.len())];
        check::table(m.len(), &[FIELDS, &addrs].concat(), &[]);
        let mut seen = check::Seen::default();
        describe(&mut seen, &m, 14);
        check::tree(&seen, 14, FIELDS, &["src.proto_ipv4", "dst.proto_ipv4"]);
        let a = Arp::new(&m);
        assert_eq!(a.sender_ip().map(|_| a.spa_at()), Some(SENDER_MAC.end));
        assert_eq!(a.target_ip().map(|_| a.tpa_at()), Some(TARGET_MAC.end));
        assert_eq!((a.sender_mac(), a.target_mac()), (Some([2, 0, 0, 0, 0, 1]), Some([0; 6])));
    }

    #[test]
    fn ipv4_addresses_follow_hardware_addresses_of_any_length() {
        // Hardware type 32 (InfiniBand), IPv4, 20-byte hardware addresses, request.
        let mut b = vec![0, 32, 0x08, 0x00, 20, 4, 0, 1];
        b.extend_from_slice(&[0xaa; 20]);
        b.extend_from_slice(&[192, 168, 56, 10]);
        b.extend_from_slice(&[0; 20]);
        b.extend_from_slice(&[192, 168, 56, 24]);
        let a = Arp::new(&b);
        assert_eq!((a.sender_ip(), a.target_ip()), (Some([192, 168, 56, 10]), Some([192, 168, 56, 24])));
        assert_eq!(a.sender_mac(), None, "not a MAC");
        assert!(!a.is_eth_ipv4());
        // Cut short: the accessors say None, never panic.
        let a = Arp::new(&b[..40]);
        assert_eq!((a.sender_ip(), a.target_ip()), (Some([192, 168, 56, 10]), None));
        // ATM ARP is its own layout.
        b[1] = 19;
        assert!(Arp::new(&b).is_atm());
    }

    #[test]
    fn the_target_mac_follows_a_protocol_address_of_any_length() {
        // Ethernet hardware, IPv6-sized (16-byte) protocol addresses: the target MAC
        // is at 8 + 6 + 16, not where the IPv4 form puts it.
        let mut b = vec![0, 1, 0x86, 0xdd, 6, 16, 0, 2];
        b.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[0xfe; 16]);
        b.extend_from_slice(&[2, 0, 0, 0, 0, 2]);
        b.extend_from_slice(&[0xfd; 16]);
        let a = Arp::new(&b);
        assert_eq!((a.sender_mac(), a.target_mac()), (Some([2, 0, 0, 0, 0, 1]), Some([2, 0, 0, 0, 0, 2])));
        assert_eq!((a.sender_ip(), a.target_ip()), (None, None), "not IPv4");
        let mut seen = check::Seen::default();
        describe(&mut seen, &b, 0);
        let tha = target_hw(6, 16);
        assert_eq!(tha, 30..36);
        let mut fields = FIELDS.to_vec();
        fields.retain(|(k, _)| *k != "dst.hw_mac");
        fields.push(("dst.hw_mac", tha));
        check::tree(&seen, 0, &fields, &["src.proto_ipv4", "dst.proto_ipv4"]);
        // Cut inside the target MAC: no MAC, no panic.
        assert_eq!(Arp::new(&b[..33]).target_mac(), None);
    }
}
