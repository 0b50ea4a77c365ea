//! Wireshark's duplicate IP address detection on ARP (`check_for_duplicate_addresses`
//! in packet-arp.c, on by default): the first MAC an IPv4 address is seen with in an
//! ARP stays its owner, and a later ARP that binds it to another MAC is flagged
//! "duplicate use of X detected!" (two hosts configured alike, or ARP spoofing). The
//! owner does not change: every later frame of the other MAC is flagged again.

use rustc_hash::FxHashMap;

use crate::decode::arp::{Arp, Duplicate};

/// Addresses remembered at most: an ARP flood of random addresses must not grow the
/// table without bound. Past it, new addresses are not learnt (no capture in the
/// corpus has more than a few hundred).
const MAX_ADDRESSES: usize = 1 << 16;

/// An IPv4 address and the MAC an ARP binds it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Binding {
    mac: [u8; 6],
    ip: [u8; 4],
}

/// The bindings of one ARP that Wireshark checks: the sender's, and in anything but
/// a request (whose target hardware address means nothing) the target's; each only
/// when its MAC is unicast and not zero and its address is not 0.0.0.0. Ethernet
/// (or IEEE 802) MACs and IPv4 addresses only, in requests and replies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Bindings {
    sender: Option<Binding>,
    target: Option<Binding>,
}

impl Bindings {
    pub(super) fn of(a: &Arp<'_>) -> Bindings {
        let op = a.opcode();
        if !matches!(op, Some(1 | 2)) || !a.is_eth_ipv4() {
            return Bindings::default();
        }
        let usable = |mac: Option<[u8; 6]>, ip: Option<[u8; 4]>| match (mac, ip) {
            (Some(mac), Some(ip)) if mac[0] & 1 == 0 && mac != [0; 6] && ip != [0; 4] => Some(Binding { mac, ip }),
            _ => None,
        };
        let sender = usable(a.sender_mac(), a.sender_ip());
        let target = usable(a.target_mac(), a.target_ip()).filter(|_| op != Some(1));
        Bindings { sender, target }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.sender.is_none() && self.target.is_none()
    }
}

struct Owner {
    mac: [u8; 6],
    frame: u64,
    secs: u64,
}

#[derive(Default)]
pub(super) struct Watch {
    owners: FxHashMap<[u8; 4], Owner>,
}

impl Watch {
    /// Frame `number` at capture time `ts` (ns) binds `b`. As in Wireshark, a duplicate
    /// found for the sender is not looked for again in the target when the address is
    /// the same, and the target's answer, when it is looked at, is the info column's:
    /// a sender's duplicate it overrides stays, not `noted` (the tree shows it). When
    /// both are duplicates the target's is kept.
    pub(super) fn observe(&mut self, number: u64, ts: u64, b: &Bindings) -> Option<Duplicate> {
        let secs = ts / 1_000_000_000;
        let sender = b.sender.and_then(|s| self.check(number, secs, s, false));
        let Some(t) = b.target.filter(|t| sender.is_none() || b.sender.is_none_or(|s| s.ip != t.ip)) else {
            return sender;
        };
        match self.check(number, secs, t, true) {
            Some(d) => Some(d),
            None => sender.map(|d| Duplicate { noted: false, ..d }),
        }
    }

    fn check(&mut self, number: u64, secs: u64, b: Binding, target: bool) -> Option<Duplicate> {
        match self.owners.get_mut(&b.ip) {
            // Not later than the frame that set it: the same frame's other binding.
            Some(o) if number <= o.frame => None,
            Some(o) if o.mac == b.mac => {
                o.frame = number;
                o.secs = secs;
                None
            }
            Some(o) => {
                let secs = u32::try_from(secs.saturating_sub(o.secs)).unwrap_or(u32::MAX);
                Some(Duplicate {
                    target,
                    mac: o.mac,
                    frame: u32::try_from(o.frame).unwrap_or(u32::MAX),
                    secs,
                    noted: true,
                })
            }
            None => {
                if self.owners.len() < MAX_ADDRESSES {
                    self.owners.insert(b.ip, Owner { mac: b.mac, frame: number, secs });
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(mac: u8, ip: u8) -> Option<Binding> {
        Some(Binding { mac: [2, 0, 0, 0, 0, mac], ip: [10, 0, 0, ip] })
    }

    #[test]
    fn the_first_mac_owns_the_address_and_every_other_is_flagged_against_it() {
        let mut w = Watch::default();
        let s = |mac, ip| Bindings { sender: bind(mac, ip), target: None };
        assert_eq!(w.observe(1, 0, &s(1, 5)), None);
        assert_eq!(w.observe(2, 3_000_000_000, &s(1, 5)), None);
        let d = w.observe(3, 10_500_000_000, &s(2, 5)).expect("another MAC for 10.0.0.5");
        assert_eq!(d, Duplicate { target: false, mac: [2, 0, 0, 0, 0, 1], frame: 2, secs: 7, noted: true });
        // The owner stays: the impostor is flagged again, the owner is not.
        assert!(w.observe(4, 11_000_000_000, &s(2, 5)).is_some());
        assert_eq!(w.observe(5, 12_000_000_000, &s(1, 5)), None);
    }

    #[test]
    fn a_reply_checks_its_target_and_that_answer_stands() {
        let mut w = Watch::default();
        w.observe(1, 0, &Bindings { sender: bind(1, 1), target: None });
        w.observe(2, 0, &Bindings { sender: bind(2, 2), target: None });
        // Sender 10.0.0.1 from another MAC, target 10.0.0.2 as it was: the target's
        // answer (none) is the info column's, as Wireshark overwrites its flag; the
        // sender's duplicate stays for the tree.
        let b = Bindings { sender: bind(3, 1), target: bind(2, 2) };
        assert_eq!(w.observe(3, 0, &b).map(|d| (d.target, d.noted)), Some((false, false)));
        // Target 10.0.0.2 from another MAC: flagged as the target's, against frame 3,
        // the last that bound it to its owner.
        let b = Bindings { sender: bind(1, 1), target: bind(4, 2) };
        assert_eq!(w.observe(4, 0, &b).map(|d| (d.target, d.frame)), Some((true, 3)));
        // Both the same address, the sender a duplicate: not looked at twice.
        let b = Bindings { sender: bind(5, 2), target: bind(5, 2) };
        assert_eq!(w.observe(5, 0, &b).map(|d| (d.target, d.noted)), Some((false, true)));
    }
}
