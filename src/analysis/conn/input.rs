//! What the tracker reads from a decoded frame: the flow key, the TCP segment's fields
//! or the UDP datagram's length, taken from the headers without touching the table.

use super::defrag::{Fragment, Id};
use super::table::Key;
use super::{Offer, Proto};
use crate::analysis::flow::{FlowKey, Located};
use crate::decode::field::get16;
use crate::decode::{ipv4, ipv6, tcp, Layer, Packet};

/// Which of a frame's transport headers a conversation is counted by: a frame in a
/// UDP tunnel counts in two, in a tunnel in a tunnel in three (see
/// [`Tracker::tunnels`]).
///
/// [`Tracker::tunnels`]: super::Tracker::tunnels
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// The frame's connection's own ([`FlowKey::locate`]).
    Conn,
    /// The UDP header of the tunnel that carries it ([`FlowKey::tunnel`]).
    Tunnel,
    /// The UDP header of the tunnel around that tunnel, in a tunnel in a tunnel.
    Outer,
}

impl Header {
    /// The conversation this header of `p` keys, and the layers it came from.
    pub fn locate<'p>(self, p: &'p Packet<'_>) -> Option<Located<'p>> {
        match self {
            // The header a first fragment that cannot be reassembled is counted by, as
            // it stands.
            Header::Conn if p.fragmented => unreassembled_at(p),
            Header::Conn => FlowKey::locate(p),
            // Tunnels outside the first fragmented IP layer: the fragment's datagram is
            // counted where it is complete, the tunnel's datagram now.
            // The tunnel the tracker counted in this frame; one counted with the
            // datagram is not this frame's.
            Header::Tunnel if p.fragmented => fragment_tunnel_at(p).filter(|(_, deferred)| !deferred).map(|(at, _)| at),
            Header::Tunnel => FlowKey::tunnel(p),
            // As `Input::outer` finds it: in whole frames only.
            Header::Outer if p.fragmented => None,
            Header::Outer => {
                let inner = FlowKey::tunnel(p)?.transport;
                FlowKey::tunnel_before(p, p.own_layers().iter().position(|l| std::ptr::eq(l, inner))?)
            }
        }
    }
}

/// One frame as the tracker takes it (see [`Input::read`]): 200 bytes (a fragment's
/// `What` is the largest kind, 136, and a frame in two tunnels fits in it too; a
/// tunnel's header 40), so a batch of them can cross to another thread instead of the
/// frames.
#[derive(Clone, Copy, Debug)]
pub struct Input {
    pub(super) number: u64,
    pub(super) ts: u64,
    pub(super) orig_len: u32,
    pub(super) what: What,
    /// The UDP tunnel carrying `what` (see [`FlowKey::tunnel`]): tshark counts the
    /// frame in the tunnel's conversation too. The innermost one: a tunnel outside it
    /// is in `What::Nested`.
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
    /// The tunnel's UDP header begins a fragmented datagram (this frame is its first
    /// fragment): counted where the datagram is complete, with what it carries.
    pub(super) deferred: bool,
}

impl Tunnel {
    fn of(p: &Packet<'_>, at: &crate::analysis::flow::Located<'_>, deferred: bool) -> Tunnel {
        let len = crate::decode::udp::Udp::new(p.bytes(at.transport)).length().map_or(0, |l| l.saturating_sub(8));
        Tunnel { flow: at.key, from_lo: at.from_lo, len, deferred }
    }
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
    /// A frame in a tunnel inside another (VXLAN in GTP-U, say): the outer tunnel's
    /// header, which tshark counts as a conversation too, before the inner one
    /// (`Input::tunnel`), and what the frame is. Two tunnels at most: the decoder
    /// stops before a third one's payload (`decode::MAX_LAYERS`), and a frame in a
    /// third tunnel is keyed by that tunnel's UDP header as its connection, so every
    /// UDP header it decodes is counted, as in tshark. Not for a fragment, whose
    /// `What` has no room: a fragment in two tunnels counts the inner one only.
    Nested(Tunnel, Inner),
    /// An ARP whose addresses the duplicate-address watch looks at (see `arp`).
    Arp(super::arp::Bindings),
    /// An echo request or reply (ping), matched as tshark matches them (see `echo`).
    Echo(super::echo::Echo),
}

/// What a frame in two tunnels is besides them (the kinds of [`What`] it can be).
#[derive(Clone, Copy, Debug)]
pub(super) enum Inner {
    Nothing,
    Udp { key: Key, from_lo: bool, len: u64 },
    Tcp(Seg),
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
    /// A segment carried by a tunnel inside the datagram (GTP-U in a fragmented
    /// datagram, say): its length is its own IP header's, read from the first
    /// fragment, not the reassembled datagram's.
    Carried(Seg),
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
        if p.fragmented {
            let (at, deferred) = fragment_tunnel_at(p)?;
            return Some(Tunnel::of(p, &at, deferred));
        }
        Some(Tunnel::of(p, &FlowKey::tunnel(p)?, false))
    }

    /// `what` of a frame in two tunnels: with the outer one's header, in
    /// `What::Nested`; else `what`.
    #[cold]
    #[inline(never)]
    fn outer(p: &Packet<'_>, what: What) -> What {
        let layers = p.own_layers();
        let Some(inner) = FlowKey::tunnel(p) else { return what };
        let Some(u) = layers.iter().position(|l| std::ptr::eq(l, inner.transport)) else { return what };
        let Some(at) = FlowKey::tunnel_before(p, u) else { return what };
        let inner = match what {
            What::Nothing => Inner::Nothing,
            What::Udp { key, from_lo, len } => Inner::Udp { key, from_lo, len },
            What::Tcp(s) => Inner::Tcp(s),
            _ => return what,
        };
        What::Nested(Tunnel::of(p, &at, false), inner)
    }

    /// The general path of [`Input::read`]: any frame.
    pub(super) fn what(p: &Packet<'_>, checksums: bool) -> What {
        if p.fragmented {
            return Self::fragment(p);
        }
        let Some(at) = FlowKey::locate(p) else { return Self::other(p) };
        // Two UDP headers before the connection's: perhaps a tunnel in a tunnel.
        let layers = p.own_layers().iter().take_while(|l| !std::ptr::eq(*l, at.transport));
        let nested = layers.filter(|l| l.proto == crate::decode::Proto::Udp).count() >= 2;
        let what = if at.transport.proto == crate::decode::Proto::Tcp {
            let t = tcp::Tcp::new(p.bytes(at.transport));
            match (t.seq(), t.ack(), t.flags(), t.window()) {
                (Some(seq), Some(ack), Some(flags), Some(win)) => {
                    let seglen = p.tcp_len_in(at.transport, at.ip);
                    let (sport, dport) = at.ports();
                    let offer = if flags & tcp::SYN != 0 { Offer::of(&t) } else { Offer::default() };
                    // Zeek marks a segment whose checksum is wrong and otherwise
                    // ignores it. Only a checksum verified wrong counts: offloaded and
                    // cut segments cannot be checked.
                    let bad =
                        checksums && crate::decode::transport_checksum(p, at.transport) == crate::decode::Checksum::Bad;
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
        } else {
            let len = crate::decode::udp::Udp::new(p.bytes(at.transport))
                .length()
                .map_or(0, |l| u64::from(l.saturating_sub(8)));
            What::Udp { key: Key { flow: at.key, proto: Proto::Udp }, from_lo: at.from_lo, len }
        };
        if nested {
            return Self::outer(p, what);
        }
        what
    }

    /// A frame with no connection: an ARP the duplicate-address watch wants, a ping,
    /// or nothing.
    #[cold]
    #[inline(never)]
    fn other(p: &Packet<'_>) -> What {
        if let Some(e) = super::echo::Echo::of(p) {
            return What::Echo(e);
        }
        match p.arp().map(|a| super::arp::Bindings::of(&a)) {
            Some(b) if !b.is_empty() => What::Arp(b),
            _ => What::Nothing,
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
        let head = if start == 0 { head(p, layers, at, false) } else { None };
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
    /// In a first fragment whose datagram is a tunnel's: where the transport header
    /// of the connection inside begins, and where its IP header says it ends, as
    /// offsets in the datagram's payload (the tracker counts that connection when the
    /// datagram is complete: see `head`).
    pub carried: Option<(u32, u32)>,
}

/// The fragment `p` is, when the tracker would reassemble it (the layer and the rules
/// of [`Input::read`]).
pub fn fragment_bytes<'a>(p: &Packet<'a>) -> Option<FragmentBytes<'a>> {
    if !p.fragmented {
        return None;
    }
    let layers = p.own_layers();
    let (at, f) = layers.iter().enumerate().find_map(|(i, l)| frag_of(p, l).map(|f| (i, f)))?;
    let f = f?;
    let l = layers.get(at)?;
    let bytes = p.bytes(l).get(f.data..f.data + (f.end - f.start) as usize)?;
    let carried = if f.start == 0 { carried_at(p, layers, at, l.start + f.data) } else { None };
    Some(FragmentBytes { id: f.id, start: f.start, more: f.more, proto: f.proto, bytes, carried })
}

/// [`FragmentBytes::carried`], for the first fragment `layers[at]` whose payload
/// begins at `base` in the frame.
#[cold]
#[inline(never)]
fn carried_at(p: &Packet<'_>, layers: &[Layer], at: usize, base: usize) -> Option<(u32, u32)> {
    let (t, ip) = pick(p, layers, at)?;
    let t = layers.get(at + 1 + t)?;
    let start = u32::try_from(t.start.checked_sub(base)?).ok()?;
    let end = u32::try_from(claimed_end(p, ip?)?.checked_sub(base)?).ok()?;
    Some((start, end))
}

/// The transport header an IPv4 first fragment that cannot be reassembled is counted
/// by, as it stands (see [`unreassembled`]): the views find its bytes there.
#[cold]
#[inline(never)]
fn unreassembled_at<'p>(p: &'p Packet<'_>) -> Option<Located<'p>> {
    let layers = p.own_layers();
    let (at, frag) = layers.iter().enumerate().find_map(|(i, l)| frag_of(p, l).map(|f| (i, f)))?;
    let l = layers.get(at)?;
    if frag.is_some()
        || l.proto != crate::decode::Proto::Ipv4
        || ipv4::Ipv4::new(p.bytes(l)).fragment_offset() != Some(0)
    {
        return None;
    }
    let (t, _) = pick(p, layers, at)?;
    FlowKey::header_at(p, at + 1 + t)
}

/// A fragment's tunnel: one outside the first fragmented IP layer, whose datagram
/// is counted now (the fragment's where it is complete); else, in a first
/// fragment, the one the fragmented datagram itself is (its UDP header carries
/// IP): tshark counts it where it reassembles the datagram, or, when the datagram
/// cannot be reassembled, in the IPv4 first fragment as it stands (see
/// [`unreassembled`]). One tunnel only, where tshark counts each: a fragment inside
/// a tunnel whose datagram is a tunnel too counts the outer one, and a tunnel inside
/// the fragmented datagram's own is not counted (`Input` has room for one tunnel
/// beside a fragment; none in the corpus).
///
/// Returns where its UDP header is, and whether it is counted later, with the
/// datagram (`deferred`): [`Input::tunnel`] counts by it and [`Header::Tunnel`] finds
/// it for the views.
#[cold]
#[inline(never)]
fn fragment_tunnel_at<'p>(p: &'p Packet<'_>) -> Option<(Located<'p>, bool)> {
    let layers = p.own_layers();
    let (at, frag) = layers.iter().enumerate().find_map(|(i, l)| frag_of(p, l).map(|f| (i, f)))?;
    if let Some(t) = FlowKey::tunnel_before(p, at) {
        return Some((t, false));
    }
    let deferred = match frag {
        Some(f) if f.start == 0 => true,
        // Not reassembled: an IPv4 first fragment is dissected as it stands.
        None if layers.get(at)?.proto == crate::decode::Proto::Ipv4
            && ipv4::Ipv4::new(p.bytes(layers.get(at)?)).fragment_offset() == Some(0) =>
        {
            false
        }
        _ => return None,
    };
    // The datagram's own UDP header, when it carries IP: the tunnel's header is
    // then in its first fragment.
    let u = at + 1;
    let inner = layers.get(u + 1..)?;
    if layers.get(u)?.proto != crate::decode::Proto::Udp
        || !inner.iter().any(|l| matches!(l.proto, crate::decode::Proto::Ipv4 | crate::decode::Proto::Ipv6))
    {
        return None;
    }
    let t = FlowKey::header_at(p, u)?;
    if !deferred {
        // Counted now: when it carries nothing the tracker follows, the tunnel's
        // header is the frame's connection instead (`unreassembled`), as in a
        // whole frame.
        if let Some(Head::Udp { key, .. }) = head(p, layers, at, true) {
            if key.flow == t.key {
                return None;
            }
        }
    }
    Some((t, deferred))
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
/// with the lengths its headers give (a tunnel's datagram too: the tunnel and what it
/// carries, see `Input::fragment_tunnel`); later fragments are only data.
/// An IPv6 fragment is only data, the first one too: packet-ipv6.c's
/// `ipv6_reassemble_do` sets `show_data` for every fragment it does not reassemble
/// while reassembly is on (the default), whether it was not captured whole or its
/// datagram never completes; only with reassembly off is a first fragment's payload
/// dissected. (captures/ipv6-unreassembled.pcap shows both kinds, TCP and UDP.)
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
    match head(p, layers, at, true) {
        Some(Head::Udp { key, from_lo, len }) => What::Udp { key, from_lo, len },
        Some(Head::Carried(seg)) => What::Tcp(seg),
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
/// (`layers[at]`) carries it itself, or when the datagram is a tunnel's (its UDP
/// header carries IP: GTP-U, VXLAN) and the header is the connection the tunnel
/// carries, in the same fragment: tshark dissects what the reassembled datagram
/// carries, tunnel and connection alike.
/// `cut`: the datagram is not reassembled, so a tunnelled segment ends where the
/// fragment does, at the latest (tshark dissects the fragment as it stands).
fn head(p: &Packet<'_>, layers: &[Layer], at: usize, cut: bool) -> Option<Head> {
    use crate::decode::Proto as P;
    let frag = layers.get(at)?;
    let inner = layers.get(at + 1..)?;
    let (t, carrier) = pick(p, layers, at)?;
    if t == 0 && !cut && inner.get(1..)?.iter().any(|l| matches!(l.proto, P::Ipv4 | P::Ipv6)) {
        // The datagram's own UDP header, a tunnel's carrying what the tracker does not
        // follow (a ping): it is `Input::tunnel`, deferred, not the connection.
        return None;
    }
    let h = FlowKey::header_at(p, at + 1 + t)?;
    let tb = p.bytes(h.transport);
    let (key, from_lo) = (h.key, h.from_lo);
    if h.transport.proto == P::Udp {
        let len = crate::decode::udp::Udp::new(tb).length().map_or(0, |l| u64::from(l.saturating_sub(8)));
        return Some(Head::Udp { key: Key { flow: key, proto: Proto::Udp }, from_lo, len });
    }
    let t = tcp::Tcp::new(tb);
    let (seq, ack, flags, win, hl) = (t.seq()?, t.ack()?, t.flags()?, t.window()?, t.header_len()?);
    let (sport, dport) = h.ports();
    let mut seg = Seg {
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
    if carrier.is_none() {
        return Some(Head::Tcp { seg, hl: hl as u32 });
    }
    // Its length, as its own IP header gives it: the rest of the segment is in later
    // fragments (`Packet::tcp_len_in` ends it where this fragment ends).
    let mut end = claimed_end(p, h.ip)?;
    if cut {
        end = end.min(claimed_end(p, frag)?);
    }
    let payload = u32::try_from(end.checked_sub(h.transport.start)?).ok()?;
    let hl = hl as u32;
    seg.whole = hl >= 20 && payload >= hl;
    seg.seglen = if seg.whole { payload - hl } else { 0 };
    Some(Head::Carried(seg))
}

/// The transport header a fragmented datagram (`layers[at]`'s payload) is keyed by,
/// as an index in the layers after `layers[at]` ([`FlowKey::locate`]'s choice), and
/// the IP layer carrying it when that is inside a tunnel the datagram is.
fn pick<'l>(p: &Packet<'_>, layers: &'l [Layer], at: usize) -> Option<(usize, Option<&'l Layer>)> {
    use crate::decode::Proto as P;
    let inner = layers.get(at + 1..)?;
    let t = inner.iter().position(|l| l.proto == P::Tcp).or_else(|| inner.iter().rposition(|l| l.proto == P::Udp))?;
    let carrier = inner.get(..t)?.iter().rev().find(|l| matches!(l.proto, P::Ipv4 | P::Ipv6));
    if let Some(ip) = carrier {
        // The connection inside the tunnel: the datagram must begin with the tunnel's
        // UDP header, and the IP layer carrying the connection must be no fragment
        // (fragments inside fragments are nothing to follow).
        if inner.first()?.proto != P::Udp || frag_of(p, ip).is_some() {
            return None;
        }
    }
    Some((t, carrier))
}

/// Where the IP layer `ip` ends by its own length field, in the frame's bytes (past
/// what was captured, when the snaplen cut it).
fn claimed_end(p: &Packet<'_>, ip: &Layer) -> Option<usize> {
    match ip.proto {
        crate::decode::Proto::Ipv4 => Some(ip.start + usize::from(ipv4::Ipv4::new(p.bytes(ip)).total_len()?)),
        _ => Some(ip.start + ipv6::field::HEADER_LEN + usize::from(ipv6::Ipv6::new(p.bytes(ip)).payload_len()?)),
    }
}
