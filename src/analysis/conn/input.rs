//! What the tracker reads from a decoded frame: the flow key, the TCP segment's fields
//! or the UDP datagram's length, taken from the headers without touching the table.

use super::defrag::{Fragment, Id};
use super::table::Key;
use super::{Offer, Proto};
use crate::analysis::flow::{FlowKey, Located};
use crate::decode::field::get16;
use crate::decode::{ipv4, ipv6, tcp, Layer, Packet};

/// Which of a frame's transport headers a conversation is counted by: a frame in a
/// UDP tunnel counts in two (see [`Tracker::tunnel`]).
///
/// [`Tracker::tunnel`]: super::Tracker::tunnel
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// The frame's connection's own ([`FlowKey::locate`]).
    Conn,
    /// The UDP header of the tunnel that carries it ([`FlowKey::tunnel`]).
    Tunnel,
}

impl Header {
    /// The conversation this header of `p` keys, and the layers it came from.
    pub fn locate<'p>(self, p: &'p Packet<'_>) -> Option<Located<'p>> {
        match self {
            Header::Conn => FlowKey::locate(p),
            // Tunnels outside the first fragmented IP layer: the fragment's datagram is
            // counted where it is complete, the tunnel's datagram now.
            Header::Tunnel if p.fragmented => {
                FlowKey::tunnel_before(p, p.own_layers().iter().position(|l| frag_of(p, l).is_some())?)
            }
            Header::Tunnel => FlowKey::tunnel(p),
        }
    }
}

/// One frame as the tracker takes it (see [`Input::read`]): 200 bytes (a fragment's
/// `What` is the largest kind, 136; a tunnel's header 40), so a batch of them can
/// cross to another thread instead of the frames.
#[derive(Clone, Copy, Debug)]
pub struct Input {
    pub(super) number: u64,
    pub(super) ts: u64,
    pub(super) orig_len: u32,
    pub(super) what: What,
    /// The UDP tunnel carrying `what` (see [`FlowKey::tunnel`]): tshark counts the
    /// frame in the tunnel's conversation too.
    pub(super) tunnel: Option<Tunnel>,
}

/// A tunnel's UDP header, as the tracker counts it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tunnel {
    /// Always a UDP key: a `FlowKey`, not a `Key`, keeps `Input` small.
    pub(super) flow: FlowKey,
    pub(super) from_lo: bool,
    /// The datagram's payload length (from its 16-bit length field).
    pub(super) len: u16,
}

const _: () = assert!(std::mem::size_of::<Input>() <= 240);

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
        let mut i = Input { number, ts, orig_len, what: What::Nothing, tunnel: None };
        // Filled in place: a `What` built apart and then moved in is copied twice.
        match Self::v4_tcp(p, checksums) {
            Some(seg) => i.what = What::Tcp(seg),
            None => {
                i.what = Self::what(p, checksums);
                i.tunnel = Self::tunnel(p);
            }
        }
        i
    }

    /// The tunnel carrying the frame's connection, if any.
    pub(super) fn tunnel(p: &Packet<'_>) -> Option<Tunnel> {
        let at = Header::Tunnel.locate(p)?;
        let len = crate::decode::udp::Udp::new(p.bytes(at.transport)).length().map_or(0, |l| l.saturating_sub(8));
        Some(Tunnel { flow: at.key, from_lo: at.from_lo, len })
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
        let Some(FragAt { id, start, end, more, .. }) = frag else {
            return unreassembled(p, layers, at);
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
        use crate::decode::field::{get, get32, get8};
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

/// The bytes of an IP fragment the tracker would reassemble, for a follower that puts
/// the payload back together (the tracker keeps none; see `defrag`).
#[derive(Clone, Copy, Debug)]
pub struct FragmentBytes<'a> {
    pub id: Id,
    /// Where `bytes` go in the datagram's payload.
    pub start: u32,
    /// More fragments follow: the datagram does not end with these bytes.
    pub more: bool,
    /// The protocol the datagram's payload begins with (IPv4's protocol field, the
    /// fragment header's next header).
    pub proto: u8,
    pub bytes: &'a [u8],
}

/// The fragment `p` is, when the tracker would reassemble it (the layer and the rules
/// of [`Input::read`]).
pub fn fragment_bytes<'a>(p: &Packet<'a>) -> Option<FragmentBytes<'a>> {
    if !p.fragmented {
        return None;
    }
    let (l, f) = p.own_layers().iter().find_map(|l| frag_of(p, l).map(|f| (l, f)))?;
    let f = f?;
    let bytes = p.bytes(l).get(f.data..f.data + (f.end - f.start) as usize)?;
    Some(FragmentBytes { id: f.id, start: f.start, more: f.more, proto: f.proto, bytes })
}

/// A fragment, as [`frag_of`] finds it in its IP layer's bytes.
struct FragAt {
    id: Id,
    /// The payload bytes it holds, as datagram offsets.
    start: u32,
    end: u32,
    more: bool,
    /// Where its payload begins in the layer's bytes, and what protocol that is.
    data: usize,
    proto: u8,
}

/// `Some` when `l` is an IP layer that is a fragment: `Some(None)` when it cannot be
/// reassembled, else its datagram, the payload bytes it holds and whether more follow.
fn frag_of(p: &Packet<'_>, l: &Layer) -> Option<Option<FragAt>> {
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
                // under the header length, so it must wait for the check.
                (total > ihl && b.len() >= total).then(|| FragAt {
                    id,
                    start,
                    end: start + (total - ihl) as u32,
                    more: ip.more_fragments(),
                    data: ihl,
                    proto: id.proto,
                })
            };
            Some(whole())
        }
        crate::decode::Proto::Ipv6 => {
            let ip = ipv6::Ipv6::new(b);
            // Only a fragment header among the extension headers the decoder walked.
            let f = ip.fragment().filter(|f| f.data <= l.hdr_end - l.start)?;
            let whole = || {
                let plen = usize::from(ip.payload_len()?);
                let data = (ipv6::field::HEADER_LEN + plen).checked_sub(f.data)?;
                let id = Id { src: ip.src_bytes()?, dst: ip.dst_bytes()?, ident: f.id, proto: 0, v6: true };
                (plen > 0 && b.len() >= ipv6::field::HEADER_LEN + plen).then(|| FragAt {
                    id,
                    start: f.offset,
                    end: f.offset + data as u32,
                    more: f.more,
                    data: f.data,
                    proto: f.next,
                })
            };
            Some(whole())
        }
        _ => None,
    }
}

/// A fragment that cannot be reassembled (not captured whole). tshark dissects the
/// payload of such an IPv4 first fragment as it stands (packet-ip.c: "First fragment,
/// or not fragmented. Dissect what we have here."), so its conversation counts it,
/// with the lengths its headers give; later fragments are only data. (IPv6 fragments
/// are left alone: none in the corpus to check tshark against.)
#[cold]
#[inline(never)]
fn unreassembled(p: &Packet<'_>, layers: &[Layer], at: usize) -> What {
    let Some(l) = layers.get(at).filter(|l| l.proto == crate::decode::Proto::Ipv4) else {
        return What::Nothing;
    };
    let ip = ipv4::Ipv4::new(p.bytes(l));
    if ip.fragment_offset() != Some(0) {
        return What::Nothing;
    }
    match head(p, layers, at) {
        Some(Head::Udp { key, from_lo, len }) => What::Udp { key, from_lo, len },
        Some(Head::Tcp { mut seg, hl }) => {
            // The datagram's length as its header gives it, as for a reassembled one.
            let len = match (ip.total_len(), ip.header_len()) {
                (Some(t), Some(h)) => u32::from(t).saturating_sub(h as u32),
                _ => 0,
            };
            seg.whole = hl >= 20 && len >= hl;
            seg.seglen = if seg.whole { len - hl } else { 0 };
            What::Tcp(seg)
        }
        None => What::Nothing,
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
    // UDP puts its ports where TCP does (RFC 768).
    let (sport, dport) = (get16(tb, tcp::field::SRC_PORT)?, get16(tb, tcp::field::DST_PORT)?);
    let (key, from_lo) = if ip.proto == crate::decode::Proto::Ipv4 {
        let h = ipv4::Ipv4::new(p.bytes(ip));
        FlowKey::v4(h.src_bytes()?, sport, h.dst_bytes()?, dport)
    } else {
        let h = ipv6::Ipv6::new(p.bytes(ip));
        FlowKey::v6(h.src_bytes()?, sport, h.dst_bytes()?, dport)
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
