//! Wireshark's matching of echo replies (ping) to their requests (`transaction_start`
//! and `transaction_end` in packet-icmp.c and packet-icmpv6.c): a request is kept
//! under its hosts, identifier, sequence number and the checksum its reply will have
//! (the same bytes with the type changed, so a reply echoing other data is no match);
//! the first reply with that key names it: "(request in N)" and the response time.
//! A second reply to the same request, and a reply to none, are not noted; a request
//! repeated with the same key replaces the one before. In one pass, as tshark reads a
//! file, a request cannot know its reply, so requests are never noted.

use std::num::NonZeroU32;

use rustc_hash::FxHashMap;

use crate::decode::{icmp, Note, Packet, Proto};

/// Requests remembered at most: a flood of pings that are never answered must not
/// grow the table without bound. Past it, new requests are not remembered.
const MAX_REQUESTS: usize = 1 << 16;

/// An echo request or reply, as Wireshark keys it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Echo {
    /// The two hosts, lower first (a conversation has no direction), IPv4 mapped.
    hosts: [[u8; 16]; 2],
    /// The checksum of the reply (for a request: its own, with the type changed).
    sum: u16,
    id_seq: u32,
    reply: bool,
}

impl Echo {
    /// The echo message `p`'s own ICMP or ICMPv6 layer is, if it is one (not one an
    /// ICMP error quotes), with the 8 bytes of its header captured.
    pub(super) fn of(p: &Packet<'_>) -> Option<Echo> {
        let own = p.own_layers();
        let at = own.iter().position(|l| matches!(l.proto, Proto::Icmp | Proto::Icmpv6))?;
        let l = &own[at];
        let v6 = l.proto == Proto::Icmpv6;
        let m = icmp::Icmp::new(p.bytes(l));
        let (kind, sum, id, seq) = (m.kind()?, m.checksum()?, m.ident()?, m.seq()?);
        let reply = match (v6, kind) {
            (false, 0) | (true, 129) => true,
            (false, 8) | (true, 128) => false,
            _ => return None,
        };
        let ip = own[..at].iter().rev().find(|l| matches!(l.proto, Proto::Ipv4 | Proto::Ipv6))?;
        let (src, dst) = addresses(p, ip)?;
        let sum = match (v6, reply) {
            // 0x0000 and 0xffff are one's complement zero both: Wireshark folds them
            // one way for ICMP and the other for ICMPv6.
            (false, true) if sum == 0xffff => 0,
            (false, true) | (true, false) => sum,
            // The request's checksum with the type 8 -> 0 (ICMP), its reply's with
            // 129 -> 128 (ICMPv6): what the other side's checksum is.
            (false, false) => checksum(&[!sum, !0x0800]),
            (true, true) => match checksum(&[!sum, !0x0100]) {
                0 => 0xffff,
                s => s,
            },
        };
        let hosts = if src <= dst { [src, dst] } else { [dst, src] };
        Some(Echo { hosts, sum, id_seq: u32::from(id) << 16 | u32::from(seq), reply })
    }
}

/// The Internet checksum of `words` (Wireshark's `ip_checksum` on them).
fn checksum(words: &[u16]) -> u16 {
    use etherparse::checksum::u32_16bit_word as w;
    let sum = words.iter().fold(0, |s, x| w::add_2bytes(s, x.to_be_bytes()));
    u16::from_be_bytes(w::ones_complement(sum).to_ne_bytes())
}

fn addresses(p: &Packet<'_>, ip: &crate::decode::Layer) -> Option<([u8; 16], [u8; 16])> {
    let b = p.bytes(ip);
    if ip.proto == Proto::Ipv4 {
        let v = crate::decode::ipv4::Ipv4::new(b);
        let map = |a: std::net::Ipv4Addr| a.to_ipv6_mapped().octets();
        return Some((map(v.src()?), map(v.dst()?)));
    }
    let v = crate::decode::ipv6::Ipv6::new(b);
    Some((v.src()?.octets(), v.dst()?.octets()))
}

struct Request {
    frame: u64,
    ts: u64,
    answered: bool,
}

#[derive(Default)]
pub(super) struct Watch {
    requests: FxHashMap<Echo, Request>,
}

impl Watch {
    /// Frame `number` at capture time `ts` (ns) is echo message `e`.
    pub(super) fn observe(&mut self, number: u64, ts: u64, e: &Echo) -> Option<Note> {
        if !e.reply {
            if self.requests.len() < MAX_REQUESTS || self.requests.contains_key(e) {
                self.requests.insert(*e, Request { frame: number, ts, answered: false });
            }
            return None;
        }
        let r = self.requests.get_mut(&Echo { reply: false, ..*e })?;
        if r.answered || r.frame >= number {
            return None;
        }
        r.answered = true;
        let request = NonZeroU32::new(u32::try_from(r.frame).unwrap_or(u32::MAX))?;
        let rtt_us = u32::try_from(ts.saturating_sub(r.ts) / 1000).unwrap_or(u32::MAX);
        Some(Note::EchoReply { request, rtt_us })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet, IPv4 and an echo message of type `kind` with `data`, its checksum right.
    fn ping(kind: u8, src: u8, dst: u8, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
        let mut icmp = vec![kind, 0, 0, 0];
        icmp.extend_from_slice(&id.to_be_bytes());
        icmp.extend_from_slice(&seq.to_be_bytes());
        icmp.extend_from_slice(data);
        let words: Vec<u16> = icmp.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
        icmp[2..4].copy_from_slice(&checksum(&words).to_be_bytes());
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (20 + icmp.len()) as u16;
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0, 0, 64, 1, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, src, 10, 0, 0, dst]);
        f.extend_from_slice(&icmp);
        f
    }

    fn echo(f: &[u8]) -> Echo {
        let p = crate::decode::decode(crate::source::LinkType::ETHERNET, f, f.len() as u32);
        Echo::of(&p).expect("an echo message")
    }

    #[test]
    fn a_reply_names_its_request_once_and_only_with_the_same_data() {
        let mut w = Watch::default();
        assert_eq!(w.observe(1, 0, &echo(&ping(8, 1, 2, 7, 1, b"abcdefgh"))), None);
        // Another payload: its reply's checksum differs from the one expected.
        assert_eq!(w.observe(2, 0, &echo(&ping(0, 2, 1, 7, 1, b"abcdefgX"))), None);
        let n = w.observe(3, 1_500_000, &echo(&ping(0, 2, 1, 7, 1, b"abcdefgh")));
        assert_eq!(n, Some(Note::EchoReply { request: NonZeroU32::new(1).unwrap(), rtt_us: 1500 }));
        // The same reply again: already answered.
        assert_eq!(w.observe(4, 0, &echo(&ping(0, 2, 1, 7, 1, b"abcdefgh"))), None);
        // A request repeated with the same key is the one a later reply names.
        w.observe(5, 0, &echo(&ping(8, 1, 2, 7, 2, b"x")));
        w.observe(6, 0, &echo(&ping(8, 1, 2, 7, 2, b"x")));
        let n = w.observe(7, 0, &echo(&ping(0, 2, 1, 7, 2, b"x")));
        assert!(matches!(n, Some(Note::EchoReply { request, .. }) if request.get() == 6), "{n:?}");
    }
}
