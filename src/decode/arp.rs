//! ARP (RFC 826): who has this IP address, tell me your MAC. Also ATM ARP (RFC
//! 2225), which shares ARP's ethertype and first fields but lays its addresses out
//! otherwise.

use std::fmt::{self, Write as _};

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

    // ATM ARP (RFC 2225 section 8.7): HW_TYPE, PROTO_TYPE and OPCODE where ARP has
    // them; around the opcode, a type/length byte for each ATM number and subaddress
    // and a length for each protocol address. The sender's number, subaddress and
    // protocol address, then the target's, follow in that order.
    pub const ATM_SHTL: Field = 4..5;
    pub const ATM_SSTL: Field = 5..6;
    pub const ATM_SPLN: Field = 8..9;
    pub const ATM_THTL: Field = 9..10;
    pub const ATM_TSTL: Field = 10..11;
    pub const ATM_TPLN: Field = 11..12;
    pub const ATM_HEADER_LEN: usize = ATM_TPLN.end;
    /// In a type/length byte: the number is E.164 (IA5 digits), not an NSAP (bit 6;
    /// bit 7 is reserved, so the length is the low six bits).
    pub const ATM_E164: u8 = 0x40;
    pub const ATM_LEN_MASK: u8 = 0x3f;
}
use field::{ATM_HEADER_LEN, HEADER_LEN};

/// The six variable parts of an ATM ARP message, in wire order (indexes into
/// `Arp::atm_parts`): the sender's number, subaddress and protocol address, then the
/// target's.
pub const SHA: usize = 0;
pub const SSA: usize = 1;
pub const SPA: usize = 2;
pub const THA: usize = 3;
pub const TSA: usize = 4;
pub const TPA: usize = 5;

pub(crate) fn decode(p: &mut Packet<'_>, off: usize, end: usize) {
    let b = &p.data[off..end];
    let avail = b.len();
    let a = Arp::new(b);
    let need = if a.is_atm() {
        a.atm_len().unwrap_or(ATM_HEADER_LEN)
    } else {
        match (a.hw_size(), a.proto_size()) {
            (Some(h), Some(l)) => HEADER_LEN + 2 * (usize::from(h) + usize::from(l)),
            _ => HEADER_LEN,
        }
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

/// What the connection tracker found of an ARP's addresses (see
/// `analysis::conn::arp`): an IPv4 address it binds to a MAC other than the one it
/// was first seen with. Wireshark's "duplicate use of X detected!".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duplicate {
    /// The address is the target's, not the sender's.
    pub target: bool,
    /// The MAC the address was first seen with, and the last frame it was seen with it
    /// (32 bits, as Wireshark numbers frames: this rides along with every frame).
    pub mac: [u8; 6],
    pub frame: u32,
    /// Whole seconds of capture time since that frame (Wireshark's field).
    pub secs: u32,
    /// The info column says so. Wireshark's says what the last address it checked
    /// found: a reply whose sender is a duplicate and whose target is not (a spoofer
    /// answering as the gateway) is flagged in the tree only.
    pub noted: bool,
}

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
        if self.is_atm() {
            return self.atm_ipv4(SPA);
        }
        self.proto_is_ipv4().then(|| arr(self.0, self.spa_at())).flatten()
    }
    fn tha_field(&self) -> Field {
        field::target_hw(usize::from(self.hw_size().unwrap_or(0)), usize::from(self.proto_size().unwrap_or(0)))
    }
    pub fn target_mac(&self) -> Option<[u8; 6]> {
        self.hw_is_mac().then(|| get(self.0, self.tha_field())).flatten()
    }
    pub fn target_ip(&self) -> Option<[u8; 4]> {
        if self.is_atm() {
            return self.atm_ipv4(TPA);
        }
        self.proto_is_ipv4().then(|| arr(self.0, self.tpa_at())).flatten()
    }
    /// ATM ARP (RFC 2225, hardware type 19) lays its addresses out otherwise: like
    /// Wireshark (its `atmarp` dissector), the hardware type alone decides.
    pub fn is_atm(&self) -> bool {
        self.hw_type() == Some(ATM_HW)
    }
    /// A request for one's own address: announces it (and updates neighbours' caches).
    /// Wireshark's ATM ARP has no such notion.
    pub fn is_gratuitous(&self) -> bool {
        !self.is_atm() && self.sender_ip().is_some() && self.sender_ip() == self.target_ip()
    }
    /// ATM ARP's variable parts (numbers, subaddresses, protocol addresses; see SHA..TPA),
    /// each where the lengths in the fixed part put it, captured or not; `None`
    /// unless this is ATM ARP with its fixed part captured.
    pub fn atm_parts(&self) -> Option<[Field; 6]> {
        if !self.is_atm() {
            return None;
        }
        let tl = |r| get8(self.0, r).map(|x| usize::from(x & field::ATM_LEN_MASK));
        let len = |r| get8(self.0, r).map(usize::from);
        let lens = [
            tl(field::ATM_SHTL)?,
            tl(field::ATM_SSTL)?,
            len(field::ATM_SPLN)?,
            tl(field::ATM_THTL)?,
            tl(field::ATM_TSTL)?,
            len(field::ATM_TPLN)?,
        ];
        let mut at = ATM_HEADER_LEN;
        Some(lens.map(|n| {
            let r = at..at + n;
            at = r.end;
            r
        }))
    }
    /// The ATM ARP message's length as its fixed part gives it (at most 12 + 4 * 63 +
    /// 2 * 255 bytes).
    pub fn atm_len(&self) -> Option<usize> {
        self.atm_parts().map(|p| p[TPA].end)
    }
    /// All of the ATM ARP message was captured.
    pub fn atm_whole(&self) -> bool {
        self.atm_len().is_some_and(|n| n <= self.0.len())
    }
    /// Number or subaddress type/length byte of one of the four ATM addresses.
    fn atm_tl(&self, part: usize) -> Option<u8> {
        let r = match part {
            SHA => field::ATM_SHTL,
            SSA => field::ATM_SSTL,
            THA => field::ATM_THTL,
            _ => field::ATM_TSTL,
        };
        get8(self.0, r)
    }
    /// The protocol addresses are IPv4 as Wireshark's `ARP_PRO_IS_IPv4` sees it.
    fn atm_proto_is_ipv4(&self, len: usize) -> bool {
        matches!(self.proto_type(), Some(0x0800 | 0xcc)) && len == 4
    }
    fn atm_ipv4(&self, part: usize) -> Option<[u8; 4]> {
        let r = self.atm_parts()?.get(part)?.clone();
        if !self.atm_proto_is_ipv4(r.len()) {
            return None;
        }
        get(self.0, r)
    }
    /// One of ATM ARP's six parts as tshark writes it in the info column
    /// (`atmarpnum_to_str`, `atmarpsubaddr_to_str`, `tvb_arpproaddr_to_str`): a
    /// number as IA5 text when E.164, else hex; a subaddress in hex (E.164 is not
    /// legal there); a protocol address as IPv4 or hex.
    pub fn atm_addr(&self, part: usize) -> Option<Addr<'a>> {
        let r = self.atm_parts()?.get(part)?.clone();
        let kind = match part {
            SHA | THA if self.atm_tl(part)? & field::ATM_E164 != 0 => AddrKind::Ia5,
            SPA | TPA if self.atm_proto_is_ipv4(r.len()) => AddrKind::Ipv4,
            _ => AddrKind::Hex,
        };
        Some(Addr { bytes: self.0.get(r)?, kind })
    }
    /// tshark's protocol column for this message: ARP's names, or ATM ARP's when the
    /// whole ATM ARP message is there (else tshark stops before it names it).
    pub fn column_name(&self) -> &'static str {
        if !self.is_atm() {
            return column_name(self.opcode());
        }
        if !self.atm_whole() {
            return "ARP";
        }
        match self.opcode() {
            Some(3 | 4) => "ATMRARP",
            Some(8 | 9) => "Inverse ATMARP",
            Some(11..=22) => "MARS",
            Some(23) => "MAPOS",
            _ => "ATMARP",
        }
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
    /// An E.164 ATM number: IA5 (ASCII) digits.
    Ia5,
}

/// One of the four addresses, written as tshark writes it in the info column
/// (`tvb_arphrdaddr_to_str`, `tvb_arpproaddr_to_str`): a MAC or an IPv4 address when
/// the type and size say so, `<No address>` when it is empty, else its bytes in hex.
#[derive(Clone, Copy, Debug)]
pub struct Addr<'a> {
    bytes: &'a [u8],
    kind: AddrKind,
}

/// An ATM address in tshark's info column: the number, then `,subaddress` when the
/// subaddress is not empty.
pub struct AtmHw<'a>(pub Addr<'a>, pub Addr<'a>);

impl fmt::Display for AtmHw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        if !self.1.bytes.is_empty() {
            write!(f, ",{}", self.1)?;
        }
        Ok(())
    }
}

impl fmt::Display for Addr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.bytes) {
            (_, []) => f.write_str("<No address>"),
            (AddrKind::Mac, &[a, b, c, d, e, g]) => super::field::write_mac(f, &[a, b, c, d, e, g]),
            (AddrKind::Ipv4, &[a, b, c, d]) => write!(f, "{}", std::net::Ipv4Addr::new(a, b, c, d)),
            (AddrKind::Ia5, bytes) => bytes.iter().try_for_each(|&x| f.write_char(ia5(x))),
            // tshark's `bytes_to_str` stops after 36 bytes.
            (_, bytes) => {
                bytes.iter().take(36).try_for_each(|x| write!(f, "{x:02x}"))?;
                if bytes.len() > 36 {
                    f.write_str("…")?;
                }
                Ok(())
            }
        }
    }
}

/// One IA5 byte as Wireshark's ASCII decoding shows it: past 7 bits, the
/// replacement character.
fn ia5(x: u8) -> char {
    if x.is_ascii() {
        char::from(x)
    } else {
        char::REPLACEMENT_CHARACTER
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

/// ATM ARP's opcode names (Wireshark's `atmop_vals`): RFC 2225's, MARS (RFC 2022)
/// and MAPOS (RFC 2176).
pub fn atm_opcode_name(op: u16) -> Option<&'static str> {
    Some(match op {
        1 => "request",
        2 => "reply",
        8 => "inverse request",
        9 => "inverse reply",
        10 => "nak",
        11 => "mars request",
        12 => "mars multi",
        13 => "mars mserv",
        14 => "mars join",
        15 => "mars leave",
        16 => "mars nak",
        17 => "mars unserv",
        18 => "mars sjoin",
        19 => "mars sleave",
        20 => "mars grouplist request",
        21 => "mars grouplist reply",
        22 => "mars redirect map",
        23 => "mapos unarp",
        24 => "experimental 1",
        25 => "experimental 2",
        0 | 65535 => "reserved",
        _ => return None,
    })
}

/// The opcode field's meaning in an ATM ARP tree: Wireshark labels it with ARP's
/// names (`op_vals`), which differ from `atmop_vals` in the reverse forms and the NAK.
fn atm_opcode_field_name(op: u16) -> &'static str {
    match op {
        3 => "reverse request",
        4 => "reverse reply",
        5 => "drarp request",
        6 => "drarp reply",
        7 => "drarp error",
        10 => "arp nak",
        _ => atm_opcode_name(op).unwrap_or("Unknown"),
    }
}

/// The JSON keys of one ATM number's NSAP parts: the sender's, or the target's.
/// (Wireshark files the target's under `arp.src.*` too; these stay unique.)
struct NsapKeys {
    afi: &'static str,
    dcc: &'static str,
    dcc_group: &'static str,
    icd: &'static str,
    icd_group: &'static str,
    e164: &'static str,
    e164_group: &'static str,
    ho_dsp: &'static str,
    esi: &'static str,
    sel: &'static str,
    rest: &'static str,
    unknown: &'static str,
}

const SRC_NSAP: NsapKeys = NsapKeys {
    afi: "src.atm_afi",
    dcc: "src.atm_data_country_code",
    dcc_group: "src.atm_data_country_code_group",
    icd: "src.atm_international_code_designator",
    icd_group: "src.atm_international_code_designator_group",
    e164: "src.atm_e.164_isdn",
    e164_group: "src.atm_e.164_isdn_group",
    ho_dsp: "src.atm_high_order_dsp",
    esi: "src.atm_end_system_identifier",
    sel: "src.atm_selector",
    rest: "src.atm_rest_of_address",
    unknown: "src.atm_afi.unknown",
};

const DST_NSAP: NsapKeys = NsapKeys {
    afi: "dst.atm_afi",
    dcc: "dst.atm_data_country_code",
    dcc_group: "dst.atm_data_country_code_group",
    icd: "dst.atm_international_code_designator",
    icd_group: "dst.atm_international_code_designator_group",
    e164: "dst.atm_e.164_isdn",
    e164_group: "dst.atm_e.164_isdn_group",
    ho_dsp: "dst.atm_high_order_dsp",
    esi: "dst.atm_end_system_identifier",
    sel: "dst.atm_selector",
    rest: "dst.atm_rest_of_address",
    unknown: "dst.atm_afi.unknown",
};

/// The parts of a 20-byte ATM Forum NSAP address (UNI 3.1 section 5.1.3.1), by its
/// AFI, as Wireshark's `dissect_atm_nsap` shows them; `r` is the whole address.
fn describe_nsap<V: Visitor>(f: &mut Fields<'_, V>, b: &[u8], r: Field, k: &NsapKeys) {
    let o = r.start;
    let Some(afi) = b.get(o).copied() else {
        return;
    };
    let (format, idi, idi_key, idi_len) = match afi {
        0x39 => ("DCC ATM format", "Data Country Code", k.dcc, 2),
        0xbd => ("DCC ATM group format", "Data Country Code (group)", k.dcc_group, 2),
        0x47 => ("ICD ATM format", "International Code Designator", k.icd, 2),
        0xc5 => ("ICD ATM group format", "International Code Designator (group)", k.icd_group, 2),
        0x45 => ("E.164 ATM format", "E.164 ISDN", k.e164, 8),
        0xc3 => ("E.164 ATM group format", "E.164 ISDN", k.e164_group, 8),
        _ => ("Unknown", "", "", 0),
    };
    f.f(k.afi, "AFI", o..o + 1, Some(Value::Hex(afi.into(), 2)), Some(format_args!("({format})")));
    if idi_len == 0 {
        f.v.note(k.unknown, format_args!("Unknown AFI"));
        let rest = o + 1..r.end;
        f.f(k.rest, "Rest of address", rest.clone(), b.get(rest).map(Value::Bytes), None);
        return;
    }
    let idi_r = o + 1..o + 1 + idi_len;
    let idi_v = if idi_len == 2 {
        get16(b, idi_r.clone()).map(|x| Value::Hex(x.into(), 4))
    } else {
        b.get(idi_r.clone()).map(Value::Bytes)
    };
    f.f(idi_key, idi, idi_r, idi_v, None);
    let dsp = o + 1 + idi_len..o + 13;
    f.f(k.ho_dsp, "High Order DSP", dsp.clone(), b.get(dsp).map(Value::Bytes), None);
    let esi = o + 13..o + 19;
    f.f(k.esi, "End System Identifier", esi.clone(), b.get(esi).map(Value::Bytes), None);
    f.f(k.sel, "Selector", o + 19..o + 20, b.get(o + 19).map(|&x| Value::Hex(x.into(), 2)), None);
}

/// ATM ARP (RFC 2225 section 8.7), field by field as Wireshark's `dissect_atmarp`
/// shows it. With the message cut short, no field: Wireshark first trims the packet
/// to the length the fixed part gives, and that fails before it shows any.
fn describe_atm<V: Visitor>(v: &mut V, b: &[u8], base: usize) {
    let a = Arp::new(b);
    let op = a.opcode().unwrap_or(0);
    let end = base + a.atm_len().unwrap_or(b.len()).min(b.len());
    match atm_opcode_name(op) {
        Some(n) => v.layer(Proto::Arp, base..end, format_args!("ATM Address Resolution Protocol ({n})")),
        None => v.layer(Proto::Arp, base..end, format_args!("ATM Address Resolution Protocol (opcode 0x{op:04x})")),
    }
    let Some(parts) = a.atm_parts().filter(|_| a.atm_whole()) else {
        return;
    };
    let mut f = Fields { v, base, avail: b.len() };
    f.f(
        "hw.type",
        "Hardware type",
        field::HW_TYPE,
        Some(Value::U(ATM_HW.into())),
        Some(format_args!("(ATM (RFC 2225))")),
    );
    if let Some(t) = a.proto_type() {
        f.f(
            "proto.type",
            "Protocol type",
            field::PROTO_TYPE,
            Some(Value::Hex(t.into(), 4)),
            Some(super::link::EthertypeMeaning(t).args()),
        );
    }
    // A type/length byte: a group with no value of its own (so no JSON key; its label
    // carries the colon that a value would bring), then the type bit and the length.
    let tl = |f: &mut Fields<'_, V>, r: Field, labels: [&'static str; 3], keys: [&'static str; 3]| {
        let Some(x) = get8(b, r.clone()) else {
            return;
        };
        let kind = if x & field::ATM_E164 != 0 { "E.164" } else { "ATM Forum NSAPA" };
        let len = x & field::ATM_LEN_MASK;
        let abs = f.abs(r.clone());
        f.v.group(keys[0], labels[0], abs, None, Some(format_args!("{kind}/{len}")));
        let e164 = u64::from(x & field::ATM_E164 != 0);
        f.f(keys[1], labels[1], r.clone(), Some(Value::U(e164)), Some(format_args!("({kind})")));
        f.f(keys[2], labels[2], r, Some(Value::U(len.into())), None);
        f.v.end_group();
    };
    tl(
        &mut f,
        field::ATM_SHTL,
        ["Sender ATM number type/length:", "Sender ATM number type", "Sender ATM number length"],
        ["src.htl", "src.htype", "src.hlen"],
    );
    tl(
        &mut f,
        field::ATM_SSTL,
        ["Sender ATM subaddress type/length:", "Sender ATM subaddress type", "Sender ATM subaddress length"],
        ["src.stl", "src.stype", "src.slen"],
    );
    f.f(
        "opcode",
        "Opcode",
        field::OPCODE,
        a.opcode().map(|x| Value::U(x.into())),
        Some(format_args!("({})", atm_opcode_field_name(op))),
    );
    f.f("src.pln", "Sender protocol size", field::ATM_SPLN, get8(b, field::ATM_SPLN).map(|x| Value::U(x.into())), None);
    tl(
        &mut f,
        field::ATM_THTL,
        ["Target ATM number type/length:", "Target ATM number type", "Target ATM number length"],
        ["dst.htl", "dst.htype", "dst.hlen"],
    );
    tl(
        &mut f,
        field::ATM_TSTL,
        ["Target ATM subaddress type/length:", "Target ATM subaddress type", "Target ATM subaddress length"],
        ["dst.stl", "dst.stype", "dst.slen"],
    );
    f.f("dst.pln", "Target protocol size", field::ATM_TPLN, get8(b, field::ATM_TPLN).map(|x| Value::U(x.into())), None);
    let sides = [
        (SHA, "src", &SRC_NSAP, ["Sender ATM number (E.164)", "Sender ATM number (NSAP)", "Sender ATM subaddress"]),
        (THA, "dst", &DST_NSAP, ["Target ATM number (E.164)", "Target ATM number (NSAP)", "Target ATM subaddress"]),
    ];
    for (hw, side, nsap, labels) in sides {
        let src = side == "src";
        let num = parts[hw].clone();
        if !num.is_empty() {
            let Some(bytes) = b.get(num.clone()) else {
                return;
            };
            if a.atm_tl(hw).unwrap_or(0) & field::ATM_E164 != 0 {
                // IA5 digits as Wireshark decodes ASCII: at most 63 bytes, each at most
                // three in UTF-8.
                let mut buf = [0u8; 3 * 63];
                let mut n = 0;
                for &x in bytes {
                    n += ia5(x).encode_utf8(&mut buf[n..]).len();
                }
                let text = std::str::from_utf8(&buf[..n]).unwrap_or("");
                let key = if src { "src.atm_num_e164" } else { "dst.atm_num_e164" };
                f.f(key, labels[0], num, Some(Value::Str(text)), None);
            } else if num.len() >= 20 {
                let key = if src { "src.atm_num_nsap" } else { "dst.atm_num_nsap" };
                let abs = f.abs(num.clone());
                f.v.group(key, labels[1], abs, Some(Value::Bytes(bytes)), None);
                describe_nsap(&mut f, b, num, nsap);
                f.v.end_group();
            } else {
                let key = if src { "src.atm_num_nsap" } else { "dst.atm_num_nsap" };
                f.f(key, labels[1], num, Some(Value::Bytes(bytes)), None);
            }
        }
        let sub = parts[hw + 1].clone();
        if !sub.is_empty() {
            let key = if src { "src.atm_subaddr" } else { "dst.atm_subaddr" };
            f.f(key, labels[2], sub.clone(), b.get(sub).map(Value::Bytes), None);
        }
        let pa = parts[hw + 2].clone();
        if pa.is_empty() {
            continue;
        }
        let ip = if src { a.sender_ip() } else { a.target_ip() };
        match (ip, src) {
            (Some(ip), true) => f.f("src.proto_ipv4", "Sender IP address", pa, Some(Value::Ipv4(ip)), None),
            (Some(ip), false) => f.f("dst.proto_ipv4", "Target IP address", pa, Some(Value::Ipv4(ip)), None),
            (None, true) => f.f("src.proto", "Sender protocol address", pa.clone(), b.get(pa).map(Value::Bytes), None),
            (None, false) => f.f("dst.proto", "Target protocol address", pa.clone(), b.get(pa).map(Value::Bytes), None),
        }
    }
}

pub fn describe<V: Visitor>(v: &mut V, b: &[u8], base: usize, dup: Option<&Duplicate>) {
    let a = Arp::new(b);
    if a.is_atm() {
        return describe_atm(v, b, base);
    }
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
    if let Some(d) = dup {
        describe_duplicate(v, &a, base..base + b.len(), d);
    }
}

/// Wireshark's words and field names for a duplicate, the evidence as values.
#[cold]
#[inline(never)]
fn describe_duplicate<V: Visitor>(v: &mut V, a: &Arp<'_>, r: std::ops::Range<usize>, d: &Duplicate) {
    let (ip, mac) = if d.target { (a.target_ip(), a.target_mac()) } else { (a.sender_ip(), a.sender_mac()) };
    let (Some(ip), Some(mac)) = (ip, mac) else { return };
    let (ip, mac, then) = (Value::Ipv4(ip), Value::Mac(mac), Value::Mac(d.mac));
    v.group(
        "duplicate-address-detected",
        "Duplicate IP address detected",
        r.clone(),
        Some(ip),
        Some(format_args!(
            "({mac}) - also in use by {then} (frame {}): two hosts claim it (misconfigured, or ARP spoofing)",
            d.frame
        )),
    );
    v.field(
        "duplicate-address-frame",
        "Frame showing earlier use of IP address",
        r.clone(),
        Value::U(d.frame.into()),
        None,
    );
    v.field(
        "seconds-since-duplicate-address-frame",
        "Seconds since earlier frame seen",
        r,
        Value::U(d.secs.into()),
        None,
    );
    v.end_group();
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
        describe(&mut seen, &m, 14, None);
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
        describe(&mut seen, &b, 0, None);
        let tha = target_hw(6, 16);
        assert_eq!(tha, 30..36);
        let mut fields = FIELDS.to_vec();
        fields.retain(|(k, _)| *k != "dst.hw_mac");
        fields.push(("dst.hw_mac", tha));
        check::tree(&seen, 0, &fields, &["src.proto_ipv4", "dst.proto_ipv4"]);
        // Cut inside the target MAC: no MAC, no panic.
        assert_eq!(Arp::new(&b[..33]).target_mac(), None);
    }

    /// ATM ARP's fixed part (RFC 2225 section 8.7.1).
    const ATM_FIELDS: &[(&str, Field)] = &[
        ("hw.type", HW_TYPE),
        ("proto.type", PROTO_TYPE),
        ("src.htype", ATM_SHTL),
        ("src.hlen", ATM_SHTL),
        ("src.stype", ATM_SSTL),
        ("src.slen", ATM_SSTL),
        ("opcode", OPCODE),
        ("src.pln", ATM_SPLN),
        ("dst.htype", ATM_THTL),
        ("dst.hlen", ATM_THTL),
        ("dst.stype", ATM_TSTL),
        ("dst.slen", ATM_TSTL),
        ("dst.pln", ATM_TPLN),
    ];

    /// An ATM ARP reply: an NSAP (ICD) sender with a subaddress, an E.164 target.
    fn atm_reply() -> Vec<u8> {
        let mut b = vec![
            0x00, 0x13, // ATM (RFC 2225)
            0x08, 0x00, // IPv4
            20,   // sender number: NSAP, 20 bytes
            3,    // sender subaddress: 3 bytes
            0x00, 0x02, // reply
            4,    // sender protocol address: 4 bytes
            0x45, // target number: E.164, 5 bytes
            0,    // no target subaddress
            4,    // target protocol address: 4 bytes
        ];
        b.extend_from_slice(&[
            0x47, 0, 5, 0x80, 0xff, 0xe1, 0, 0, 0, 0xf2, 0x1a, 0x1d, 0x54, 0, 0x20, 0x48, 0x1a, 0x2b, 0x3c, 0,
        ]);
        b.extend_from_slice(&[0xaa, 0xbb, 0xcc]); // sender subaddress
        b.extend_from_slice(&[10, 0, 0, 1]); // sender IP
        b.extend_from_slice(b"15551"); // target number
        b.extend_from_slice(&[10, 0, 0, 2]); // target IP
        b
    }

    #[test]
    fn atm_fixed_part_is_its_own_table_and_is_what_the_tree_highlights() {
        check::table(ATM_HEADER_LEN, ATM_FIELDS, &[]);
        let b = atm_reply();
        let a = Arp::new(&b);
        assert!(a.is_atm() && !a.is_eth_ipv4() && !a.is_gratuitous());
        let parts = a.atm_parts().unwrap();
        assert_eq!(parts, [12..32, 32..35, 35..39, 39..44, 44..44, 44..48]);
        assert_eq!(a.atm_len(), Some(b.len()));
        assert_eq!((a.sender_ip(), a.target_ip()), (Some([10, 0, 0, 1]), Some([10, 0, 0, 2])));
        assert_eq!((a.sender_mac(), a.target_mac()), (None, None));
        let mut seen = check::Seen::default();
        describe(&mut seen, &b, 14, None);
        let nsap = [
            "src.atm_num_nsap",
            "src.atm_afi",
            "src.atm_international_code_designator",
            "src.atm_high_order_dsp",
            "src.atm_end_system_identifier",
            "src.atm_selector",
        ];
        let groups = ["src.htl", "src.stl", "dst.htl", "dst.stl"];
        let addrs = ["src.atm_subaddr", "src.proto_ipv4", "dst.atm_num_e164", "dst.proto_ipv4"];
        check::tree(&seen, 14, ATM_FIELDS, &[&nsap[..], &groups, &addrs].concat());
        let at = |k: &str| seen.0.iter().find(|(sk, _)| *sk == k).map(|(_, r)| r.clone());
        assert_eq!(at("src.atm_num_nsap"), Some(14 + 12..14 + 32));
        assert_eq!(at("src.atm_selector"), Some(14 + 31..14 + 32));
        assert_eq!(at("src.atm_subaddr"), Some(14 + 32..14 + 35));
        assert_eq!(at("dst.atm_num_e164"), Some(14 + 39..14 + 44));
        assert_eq!(at("dst.proto_ipv4"), Some(14 + 44..14 + 48));
    }

    #[test]
    fn atm_addresses_read_as_tshark_writes_them_in_the_info_column() {
        let b = atm_reply();
        let a = Arp::new(&b);
        let show = |i| a.atm_addr(i).map(|x| x.to_string());
        assert_eq!(show(SHA).as_deref(), Some("47000580ffe1000000f21a1d540020481a2b3c00"));
        assert_eq!(show(SSA).as_deref(), Some("aabbcc"));
        assert_eq!(show(SPA).as_deref(), Some("10.0.0.1"));
        assert_eq!(show(THA).as_deref(), Some("15551"));
        assert_eq!(show(TSA).as_deref(), Some("<No address>"));
        let (sh, th) = (
            AtmHw(a.atm_addr(SHA).unwrap(), a.atm_addr(SSA).unwrap()),
            AtmHw(a.atm_addr(THA).unwrap(), a.atm_addr(TSA).unwrap()),
        );
        assert_eq!(sh.to_string(), "47000580ffe1000000f21a1d540020481a2b3c00,aabbcc");
        assert_eq!(th.to_string(), "15551", "no comma without a subaddress");
        assert_eq!(a.column_name(), "ATMARP");
        // E.164 digits past 7 bits are shown as Wireshark's ASCII decoding shows them.
        let mut odd = b.clone();
        odd[39] = 0xff;
        assert_eq!(Arp::new(&odd).atm_addr(THA).unwrap().to_string(), "\u{fffd}5551");
        // IPv6 protocol addresses (or any but 4-byte IPv4) are hex; more than 36 bytes end in an ellipsis.
        let long = Addr { bytes: &[0xab; 40], kind: AddrKind::Hex };
        assert_eq!(long.to_string(), format!("{}…", "ab".repeat(36)));
        let mut op = b.clone();
        for (code, name) in [(8u8, "Inverse ATMARP"), (3, "ATMRARP"), (11, "MARS"), (23, "MAPOS"), (99, "ATMARP")] {
            op[7] = code;
            assert_eq!(Arp::new(&op).column_name(), name);
        }
    }

    #[test]
    fn atm_cut_short_or_absurd_lengths_never_panic() {
        let b = atm_reply();
        for n in 0..b.len() {
            let a = Arp::new(&b[..n]);
            // Cut anywhere: tshark names it ARP and shows no field.
            assert_eq!(a.column_name(), "ARP");
            assert!(!a.atm_whole(), "{n}");
            let mut seen = check::Seen::default();
            describe(&mut seen, &b[..n], 0, None);
            assert!(seen.0.is_empty(), "{n}: {:?}", seen.0);
            let _ = (a.sender_ip(), a.target_ip(), a.atm_addr(TPA).map(|x| x.to_string()));
        }
        // Every length at its maximum: 12 + 4 * 63 + 2 * 255 bytes wanted, 12 there.
        let mut absurd = b[..12].to_vec();
        for r in [ATM_SHTL, ATM_SSTL, ATM_SPLN, ATM_THTL, ATM_TSTL, ATM_TPLN] {
            absurd[r.start] = 0xff;
        }
        let a = Arp::new(&absurd);
        assert_eq!(a.atm_len(), Some(12 + 4 * 63 + 2 * 255));
        assert_eq!((a.sender_ip(), a.atm_addr(SHA).map(|_| ()), a.column_name()), (None, None, "ARP"));
        let mut frame = vec![0; 12];
        frame.extend_from_slice(&[0x08, 0x06]);
        frame.extend_from_slice(&absurd);
        let p = crate::decode::decode(crate::source::LinkType::ETHERNET, &frame, frame.len() as u32);
        assert!(p.malformed.is_some(), "reported as truncated");
        assert_eq!(p.arp().map(|a| a.column_name()), Some("ARP"));
    }
}
