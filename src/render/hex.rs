//! Hex + ASCII dump in which every byte is marked with the layer it belongs to, so
//! the tree's byte ranges can be found in the raw frame.

use std::io::{self, Write};

use crate::decode::{Packet, Proto};

/// One letter per layer in the marker row under each line of hex.
pub fn mark(p: Proto) -> u8 {
    match p {
        Proto::Eth => b'e',
        Proto::Cfp => b'f',
        Proto::Vlan => b'v',
        Proto::Sll | Proto::Sll2 => b's',
        Proto::Null => b'n',
        Proto::Arp => b'a',
        Proto::Ipv4 => b'4',
        Proto::Ipv6 => b'6',
        Proto::Tcp => b't',
        Proto::Udp => b'u',
        Proto::Icmp | Proto::Icmpv6 => b'i',
        Proto::Gtp | Proto::Vxlan | Proto::Geneve | Proto::Teredo | Proto::Pim | Proto::Gre => b'g',
        Proto::Ipnet | Proto::Ipoib | Proto::Nflog | Proto::Juniper => b'c',
        Proto::Avsp | Proto::Macsec | Proto::Nsh => b'x',
        Proto::Llc => b'l',
        Proto::Capwap => b'g',
        Proto::Wlan => b'w',
        Proto::Isl | Proto::Fddi | Proto::Tr | Proto::Fr => b'k',
        Proto::Pppoe | Proto::Ppp => b'p',
        Proto::Chdlc => b'h',
        Proto::Ppi => b'r',
        Proto::Mpls => b'm',
        Proto::Data => b'd',
    }
}

/// Writes the dump, then a legend naming the marks used.
pub fn write_dump<W: Write>(out: &mut W, p: &Packet<'_>) -> io::Result<()> {
    let data = p.data;
    let owner = |i: usize| -> u8 {
        // The innermost header claims a byte first: a layer's `end` spans its payload.
        for l in p.layers().iter().rev() {
            let r = if l.proto == Proto::Data { l.start..l.end } else { l.start..l.hdr_end };
            if r.contains(&i) {
                return mark(l.proto);
            }
        }
        b'.'
    };
    let mut hex = String::with_capacity(64);
    let mut marks = String::with_capacity(64);
    for (row, chunk) in data.chunks(16).enumerate() {
        hex.clear();
        marks.clear();
        let base = row * 16;
        for (i, b) in chunk.iter().enumerate() {
            if i == 8 {
                hex.push(' ');
                marks.push(' ');
            }
            hex.push_str(&format!("{b:02x} "));
            let m = owner(base + i) as char;
            marks.push(m);
            marks.push(m);
            marks.push(' ');
        }
        let ascii: String = chunk.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }).collect();
        writeln!(out, "{base:04x}  {hex:<49} {ascii}")?;
        writeln!(out, "      {}", marks.trim_end())?;
    }
    let mut legend = Vec::new();
    for l in p.layers() {
        let m = mark(l.proto) as char;
        let s = format!("{m}={}", l.proto.abbrev());
        if !legend.contains(&s) {
            legend.push(s);
        }
    }
    if p.layers().last().is_some_and(|l| l.end < data.len()) || p.layers().is_empty() {
        legend.push(".=not decoded (padding, trailer)".to_string());
    }
    writeln!(out, "      ({})", legend.join(", "))
}
