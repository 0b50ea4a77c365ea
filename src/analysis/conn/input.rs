//! What the tracker reads from a decoded frame: the flow key, the TCP segment's fields
//! or the UDP datagram's length, taken from the headers without touching the table.

use super::table::Key;
use super::{Offer, Proto};
use crate::analysis::flow::FlowKey;
use crate::decode::{tcp, Packet};

/// One frame as the tracker takes it (see [`Input::read`]): about 100 bytes, so a
/// batch of them can cross to another thread instead of the frames.
#[derive(Clone, Copy, Debug)]
pub struct Input {
    pub(super) number: u64,
    pub(super) ts: u64,
    pub(super) orig_len: u32,
    pub(super) what: What,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum What {
    /// Neither TCP nor UDP the tracker follows (or a TCP header too short to read).
    Nothing,
    Udp {
        key: Key,
        from_lo: bool,
        len: u64,
    },
    Tcp(Seg),
}

impl Input {
    /// What [`Tracker::apply`] needs from a frame, read from its headers without
    /// touching the table, so that the reading can be done on one thread and the
    /// tracking on another. `checksums`: verify TCP checksums, which only the
    /// summaries' Zeek view uses (a tenth of `read -Y`'s work).
    pub fn read(number: u64, ts: u64, orig_len: u32, p: &Packet<'_>, checksums: bool) -> Input {
        let mut i = Input { number, ts, orig_len, what: What::Nothing };
        // Filled in place: a `What` built apart and then moved in is copied twice.
        match Self::v4_tcp(p, checksums) {
            Some(seg) => i.what = What::Tcp(seg),
            None => i.what = Self::what(p, checksums),
        }
        i
    }

    /// The general path of [`Input::read`]: any frame.
    pub(super) fn what(p: &Packet<'_>, checksums: bool) -> What {
        match FlowKey::locate(p) {
            None => What::Nothing,
            Some(at) if at.transport.proto == crate::decode::Proto::Tcp => {
                let t = tcp::Tcp::new(p.bytes(at.transport));
                match (t.seq(), t.ack(), t.flags(), t.window()) {
                    (Some(seq), Some(ack), Some(flags), Some(win)) => {
                        let seglen = p.tcp_len_in(at.transport, at.ip);
                        let (sport, dport) = at.ports();
                        let offer = if flags & tcp::SYN != 0 { Offer::of(&t) } else { Offer::default() };
                        // Zeek marks a segment whose checksum is wrong and otherwise
                        // ignores it. Only a checksum verified wrong counts: offloaded and
                        // cut segments cannot be checked.
                        let bad = checksums
                            && crate::decode::transport_checksum(p, at.transport) == crate::decode::Checksum::Bad;
                        What::Tcp(Seg {
                            key: Key { flow: at.key, proto: Proto::Tcp },
                            from_lo: at.from_lo,
                            seq,
                            ack,
                            flags,
                            win,
                            seglen: seglen.unwrap_or(0),
                            whole: seglen.is_some() && t.header_len().is_some_and(|h| h >= 20),
                            sport,
                            dport,
                            offer,
                            bad,
                        })
                    }
                    _ => What::Nothing,
                }
            }
            Some(at) => {
                let len = crate::decode::udp::Udp::new(p.bytes(at.transport))
                    .length()
                    .map_or(0, |l| u64::from(l.saturating_sub(8)));
                What::Udp { key: Key { flow: at.key, proto: Proto::Udp }, from_lo: at.from_lo, len }
            }
        }
    }

    /// [`Input::read`]'s answer for the usual frame (a link header, IPv4, TCP, neither
    /// header cut short, not a fragment) read with two fixed-size copies instead of
    /// field by field: `read -Y`'s reader does this for every frame while the writer
    /// tracks. `None`: another kind of frame, for the general path.
    #[inline]
    pub(super) fn v4_tcp(p: &Packet<'_>, checksums: bool) -> Option<Seg> {
        let (ip, t) = match p.own_layers() {
            [_, ip, t, ..] if ip.proto == crate::decode::Proto::Ipv4 && t.proto == crate::decode::Proto::Tcp => (ip, t),
            _ => return None,
        };
        let h: [u8; 20] = crate::decode::arr(p.bytes(ip), 0)?;
        let tb = p.bytes(t);
        let s: [u8; 20] = crate::decode::arr(tb, 0)?;
        // More fragments, or an offset: see `FlowKey::locate`.
        if h[6] & 0x3f != 0 || h[7] != 0 {
            return None;
        }
        let be16 = |i: usize| u16::from_be_bytes([s[i], s[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
        let (sport, dport) = (be16(0), be16(2));
        let (flow, from_lo) = FlowKey::v4([h[12], h[13], h[14], h[15]], sport, [h[16], h[17], h[18], h[19]], dport);
        let flags = be16(12) & 0x0fff;
        let seglen = p.tcp_len_in(t, ip);
        Some(Seg {
            key: Key { flow, proto: Proto::Tcp },
            from_lo,
            seq: be32(4),
            ack: be32(8),
            flags,
            win: be16(14),
            seglen: seglen.unwrap_or(0),
            whole: seglen.is_some() && s[12] >> 4 >= 5,
            sport,
            dport,
            offer: if flags & tcp::SYN != 0 { Offer::of(&tcp::Tcp::new(tb)) } else { Offer::default() },
            bad: checksums && crate::decode::transport_checksum(p, t) == crate::decode::Checksum::Bad,
        })
    }
}

/// A TCP segment's fields, as the tracker uses them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Seg {
    pub(super) key: Key,
    pub(super) from_lo: bool,
    pub(super) seq: u32,
    pub(super) ack: u32,
    pub(super) flags: u16,
    pub(super) win: u16,
    /// Payload length (0 when unknown).
    pub(super) seglen: u32,
    /// The length is known and the header whole: tshark analyses the segment.
    pub(super) whole: bool,
    pub(super) sport: u16,
    pub(super) dport: u16,
    /// Options of a SYN.
    pub(super) offer: Offer,
    /// Checksum verified wrong (only looked at when summaries are kept).
    pub(super) bad: bool,
}
