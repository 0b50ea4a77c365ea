//! What the tracker reads from a decoded frame: the flow key, the TCP segment's fields
//! or the UDP datagram's length, taken from the headers without touching the table.

use super::defrag::{Fragment, Id};
use super::table::Key;
use super::{Offer, Proto};
use crate::analysis::flow::{Endpoint, FlowKey};
use crate::decode::{be16, be32, ipv4, tcp, Layer, Packet};

/// One frame as the tracker takes it (see [`Input::read`]): under 200 bytes (a
/// fragment's is the largest kind), so a batch of them can cross to another thread
/// instead of the frames.
#[derive(Clone, Copy, Debug)]
pub struct Input {
    pub(super) number: u64,
    pub(super) ts: u64,
    pub(super) orig_len: u32,
    pub(super) what: What,
}

const _: () = assert!(std::mem::size_of::<Input>() < 200);

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
    /// An IP fragment (of the layer that carries the transport header, or of one
    /// outside it): counted where its datagram is complete (see `defrag`).
    Frag(Fragment<Head>),
}

/// What a first fragment's transport header says, for when its datagram is complete.
#[derive(Clone, Copy, Debug)]
pub(super) enum Head {
    /// `seg` lacks its length, which the reassembled datagram gives: its payload
    /// length less `hl`, the TCP header's.
    Tcp {
        seg: Seg,
        hl: u32,
    },
    Udp {
        key: Key,
        from_lo: bool,
        len: u64,
    },
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
        if p.fragmented {
            return Self::fragment(p);
        }
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

    /// A frame whose IP layer is a fragment: which datagram, which bytes of it, and for
    /// the first fragment what its transport header says. tshark reassembles only a
    /// fragment captured whole (`tvb_bytes_exist` in packet-ip.c and packet-ipv6.c);
    /// other fragments, and fragments inside fragments, are nothing to follow.
    #[cold]
    #[inline(never)]
    fn fragment(p: &Packet<'_>) -> What {
        let layers = p.own_layers();
        let Some((at, frag)) = layers.iter().enumerate().find_map(|(i, l)| frag_of(p, l).map(|f| (i, f))) else {
            return What::Nothing;
        };
        let Some((id, start, end, more)) = frag else {
            return What::Nothing;
        };
        let head = if start == 0 { head(p, layers, at) } else { None };
        What::Frag(Fragment { id, start, end, more, head })
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
        use crate::decode::field::{get, get16, get32, get8};
        use crate::decode::{ipv4::field as i4, tcp::field as tf};
        // Fixed-size copies of the two headers: the tables' constant ranges into them
        // need no bounds checks at run time.
        let h: [u8; i4::HEADER_LEN] = crate::decode::arr(p.bytes(ip), 0)?;
        let tb = p.bytes(t);
        let s: [u8; tf::HEADER_LEN] = crate::decode::arr(tb, 0)?;
        // More fragments, or an offset: see `FlowKey::locate`.
        if get16(&h, i4::FLG_OFF)? & 0x3fff != 0 {
            return None;
        }
        let (sport, dport) = (get16(&s, tf::SRC_PORT)?, get16(&s, tf::DST_PORT)?);
        let (flow, from_lo) = FlowKey::v4(get(&h, i4::SRC_ADDR)?, sport, get(&h, i4::DST_ADDR)?, dport);
        let flags = get16(&s, tf::FLAGS)? & 0x0fff;
        let seglen = p.tcp_len_in(t, ip);
        Some(Seg {
            key: Key { flow, proto: Proto::Tcp },
            from_lo,
            seq: get32(&s, tf::SEQ_NUM)?,
            ack: get32(&s, tf::ACK_NUM)?,
            flags,
            win: get16(&s, tf::WINDOW)?,
            seglen: seglen.unwrap_or(0),
            whole: seglen.is_some() && get8(&s, tf::DATA_OFF)? >> 4 >= 5,
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

/// `Some` when `l` is an IP layer that is a fragment: `Some(None)` when it cannot be
/// reassembled, else its datagram, the payload bytes it holds and whether more follow.
fn frag_of(p: &Packet<'_>, l: &Layer) -> Option<Option<(Id, u32, u32, bool)>> {
    let b = p.bytes(l);
    match l.proto {
        crate::decode::Proto::Ipv4 => {
            let ip = ipv4::Ipv4::new(b);
            if !ip.is_fragment() {
                return None;
            }
            let whole = || {
                let (ihl, total) = (ip.header_len()?, usize::from(ip.total_len()?));
                let mut id =
                    Id { src: [0; 16], dst: [0; 16], ident: u32::from(ip.id()?), proto: ip.protocol()?, v6: false };
                id.src[..4].copy_from_slice(&ip.src_bytes()?);
                id.dst[..4].copy_from_slice(&ip.dst_bytes()?);
                let start = ip.fragment_offset()?;
                // `then`, not `then_some`: the end underflows when the total length is
                // under the header length, so it waits for the check.
                (total > ihl && b.len() >= total)
                    .then(|| (id, start, start + (total - ihl) as u32, ip.more_fragments()))
            };
            Some(whole())
        }
        crate::decode::Proto::Ipv6 => {
            // The fragment header among the extension headers the decoder walked
            // (RFC 8200 section 4.5); the decoder's list of extension header numbers.
            let hdr = l.hdr_end - l.start;
            let (mut next, mut cur) = (*b.get(6)?, 40usize);
            while matches!(next, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140) && cur + 8 <= hdr {
                if next == 44 {
                    let fo = be16(b, cur + 2)?;
                    if fo & 0xfff9 == 0 {
                        // An atomic fragment (offset 0, no more): a whole datagram.
                        return None;
                    }
                    let whole = || {
                        let plen = usize::from(be16(b, 4)?);
                        let data = (40 + plen).checked_sub(cur + 8)?;
                        let id = Id {
                            src: crate::decode::arr(b, 8)?,
                            dst: crate::decode::arr(b, 24)?,
                            ident: be32(b, cur + 4)?,
                            proto: 0,
                            v6: true,
                        };
                        let start = u32::from(fo & 0xfff8);
                        (plen > 0 && b.len() >= 40 + plen).then_some((id, start, start + data as u32, fo & 1 != 0))
                    };
                    return Some(whole());
                }
                let len = match next {
                    51 => (usize::from(*b.get(cur + 1)?) + 2) * 4,
                    _ => (usize::from(*b.get(cur + 1)?) + 1) * 8,
                };
                next = b[cur];
                cur += len;
            }
            None
        }
        _ => None,
    }
}

/// The transport header a first fragment begins with, when the fragmented layer
/// (`layers[at]`) carries it itself; a tunnel's inner header, whose length is not the
/// reassembled datagram's, is left alone.
fn head(p: &Packet<'_>, layers: &[Layer], at: usize) -> Option<Head> {
    let inner = &layers[at + 1..];
    let t = inner
        .iter()
        .position(|l| l.proto == crate::decode::Proto::Tcp)
        .or_else(|| inner.iter().rposition(|l| l.proto == crate::decode::Proto::Udp))?;
    if inner[..t].iter().any(|l| matches!(l.proto, crate::decode::Proto::Ipv4 | crate::decode::Proto::Ipv6)) {
        return None;
    }
    let (tl, ip) = (&inner[t], &layers[at]);
    let tb = p.bytes(tl);
    let (sport, dport) = (be16(tb, 0)?, be16(tb, 2)?);
    let (key, from_lo) = if ip.proto == crate::decode::Proto::Ipv4 {
        let h = ipv4::Ipv4::new(p.bytes(ip));
        FlowKey::v4(h.src_bytes()?, sport, h.dst_bytes()?, dport)
    } else {
        let b = p.bytes(ip);
        let (sa, da): ([u8; 16], [u8; 16]) = (crate::decode::arr(b, 8)?, crate::decode::arr(b, 24)?);
        let s = Endpoint { addr: sa, port: sport };
        let d = Endpoint { addr: da, port: dport };
        // The order `FlowKey::locate` gives.
        if (u128::from_be_bytes(sa), sport) <= (u128::from_be_bytes(da), dport) {
            (FlowKey { lo: s, hi: d }, true)
        } else {
            (FlowKey { lo: d, hi: s }, false)
        }
    };
    if tl.proto == crate::decode::Proto::Udp {
        let len = crate::decode::udp::Udp::new(tb).length().map_or(0, |l| u64::from(l.saturating_sub(8)));
        return Some(Head::Udp { key: Key { flow: key, proto: Proto::Udp }, from_lo, len });
    }
    let t = tcp::Tcp::new(tb);
    let (seq, ack, flags, win, hl) = (t.seq()?, t.ack()?, t.flags()?, t.window()?, t.header_len()?);
    let seg = Seg {
        key: Key { flow: key, proto: Proto::Tcp },
        from_lo,
        seq,
        ack,
        flags,
        win,
        seglen: 0,
        whole: false,
        sport,
        dport,
        offer: if flags & tcp::SYN != 0 { Offer::of(&t) } else { Offer::default() },
        // The checksum covers fragments this frame lacks, and their bytes are not kept.
        bad: false,
    };
    Some(Head::Tcp { seg, hl: hl as u32 })
}
