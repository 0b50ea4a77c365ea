//! Flow keys: the address/port pair of a conversation, in a canonical order so both
//! directions map to the same key.

use crate::decode::{Layer, Packet, Proto};

/// An endpoint: IPv4 addresses are stored mapped into 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub addr: [u8; 16],
    pub port: u16,
}

/// Canonical 4-tuple: `lo` is the smaller endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

/// Where a packet's flow was found: its key and direction, and the transport and IP
/// layers it came from, so the tracker need not search the layers again.
pub struct Located<'p> {
    pub key: FlowKey,
    pub from_lo: bool,
    pub transport: &'p Layer,
    pub ip: &'p Layer,
}

impl Located<'_> {
    /// Source and destination port of the frame.
    pub fn ports(&self) -> (u16, u16) {
        let (s, d) = if self.from_lo { (self.key.lo, self.key.hi) } else { (self.key.hi, self.key.lo) };
        (s.port, d.port)
    }
}

impl FlowKey {
    /// The key of a TCP or UDP packet, and whether the packet travels lo -> hi.
    pub fn of(p: &Packet<'_>) -> Option<(FlowKey, bool)> {
        Self::locate(p).map(|l| (l.key, l.from_lo))
    }

    /// [`FlowKey::of`], with the layers the key came from.
    pub fn locate<'p>(p: &'p Packet<'_>) -> Option<Located<'p>> {
        // The innermost TCP or UDP header (a tunnel's UDP comes before what it carries),
        // and the IP header that carries it.
        // Not what an ICMP error quotes: the error is not part of that connection.
        // Not a first fragment's header (IPv4 or IPv6, at any depth): tshark's
        // conversations count the datagram where it is reassembled.
        if p.fragmented {
            return None;
        }
        let layers = p.own_layers();
        Self::at(p, layers, transport_index(layers)?)
    }

    /// The UDP header of the tunnel that carries the frame's connection (GTP-U,
    /// VXLAN, Geneve, CAPWAP: a UDP layer with an IP layer after it), which
    /// tshark's conversation table counts as a UDP conversation of its own besides
    /// the connection inside. The innermost such tunnel; not the connection's own
    /// header (a tunnel carrying ICMP is counted once, as the tunnel). For a fragment,
    /// and for the tunnel outside this one, see [`FlowKey::tunnel_before`].
    pub fn tunnel<'p>(p: &'p Packet<'_>) -> Option<Located<'p>> {
        if p.fragmented {
            return None;
        }
        Self::tunnel_before(p, transport_index(p.own_layers())?)
    }

    /// The innermost tunnel's UDP header among `p.own_layers()[..end]`, where `end`
    /// is the connection's transport header or a fragmented IP layer with no
    /// fragmented one before it.
    pub fn tunnel_before<'p>(p: &'p Packet<'_>, end: usize) -> Option<Located<'p>> {
        let layers = p.own_layers();
        let u = layers.get(..end)?.iter().rposition(|l| l.proto == Proto::Udp)?;
        if !layers.get(u + 1..)?.iter().any(|l| matches!(l.proto, Proto::Ipv4 | Proto::Ipv6)) {
            return None;
        }
        Self::at(p, layers, u)
    }

    /// The key of the transport header `p.own_layers()[t]`, from the IP header nearest
    /// before it, which may be a fragment: a first fragment's header, for the tracker
    /// to count where the datagram is complete.
    pub fn header_at<'p>(p: &'p Packet<'_>, t: usize) -> Option<Located<'p>> {
        Self::key_at(p, p.own_layers(), t, true)
    }

    /// The key of the transport header `layers[t]`, from the IP header nearest before
    /// it.
    fn at<'p>(p: &'p Packet<'_>, layers: &'p [Layer], t: usize) -> Option<Located<'p>> {
        Self::key_at(p, layers, t, false)
    }

    #[inline]
    fn key_at<'p>(p: &'p Packet<'_>, layers: &'p [Layer], t: usize, fragment: bool) -> Option<Located<'p>> {
        let b = p.bytes(layers.get(t)?);
        // UDP puts its ports where TCP does (RFC 768).
        use crate::decode::{field::get16, tcp::field as tf};
        let (sp, dp) = (get16(b, tf::SRC_PORT)?, get16(b, tf::DST_PORT)?);
        let ip = layers.get(..t)?.iter().rev().find(|l| matches!(l.proto, Proto::Ipv4 | Proto::Ipv6))?;
        let (sa, da) = if ip.proto == Proto::Ipv4 {
            let h = crate::decode::ipv4::Ipv4::new(p.bytes(ip));
            // A first fragment's header: tshark's conversations count the datagram
            // where it is reassembled, and its analyses never see the fragment.
            if h.is_fragment() && !fragment {
                return None;
            }
            let (key, from_lo) = Self::v4(h.src_bytes()?, sp, h.dst_bytes()?, dp);
            return Some(Located { key, from_lo, transport: layers.get(t)?, ip });
        } else {
            let ip = crate::decode::ipv6::Ipv6::new(p.bytes(ip));
            (ip.src_bytes()?, ip.dst_bytes()?)
        };
        let (key, from_lo) = Self::v6(sa, sp, da, dp);
        Some(Located { key, from_lo, transport: layers.get(t)?, ip })
    }

    /// The key of an IPv6 packet from `sa:sp` to `da:dp`, and whether it travels lo -> hi.
    pub fn v6(sa: [u8; 16], sp: u16, da: [u8; 16], dp: u16) -> (FlowKey, bool) {
        let s = Endpoint { addr: sa, port: sp };
        let d = Endpoint { addr: da, port: dp };
        // The derived order (address bytes, then port), compared as integers.
        if (u128::from_be_bytes(sa), sp) <= (u128::from_be_bytes(da), dp) {
            (FlowKey { lo: s, hi: d }, true)
        } else {
            (FlowKey { lo: d, hi: s }, false)
        }
    }

    /// The key of an IPv4 packet from `sa:sp` to `da:dp`, and whether it travels lo -> hi.
    #[inline]
    pub fn v4(sa: [u8; 4], sp: u16, da: [u8; 4], dp: u16) -> (FlowKey, bool) {
        // Nearly every frame: the mapped addresses share their first 12 bytes, so
        // the order is that of the IPv4 address and port, in one comparison.
        let key = |a: [u8; 4], port: u16| u64::from(u32::from_be_bytes(a)) << 16 | u64::from(port);
        let from_lo = key(sa, sp) <= key(da, dp);
        let s = Endpoint { addr: v4_mapped(sa), port: sp };
        let d = Endpoint { addr: v4_mapped(da), port: dp };
        (if from_lo { FlowKey { lo: s, hi: d } } else { FlowKey { lo: d, hi: s } }, from_lo)
    }
}

/// The transport header a frame's connection is keyed by: the first TCP header, else
/// the innermost UDP one (a tunnel's UDP comes before what it carries).
fn transport_index(layers: &[Layer]) -> Option<usize> {
    layers.iter().position(|l| l.proto == Proto::Tcp).or_else(|| layers.iter().rposition(|l| l.proto == Proto::Udp))
}

/// An IPv4 address as an endpoint holds it: IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
pub(crate) fn v4_mapped(a: [u8; 4]) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[10] = 0xff;
    m[11] = 0xff;
    m[12..].copy_from_slice(&a);
    m
}

impl Endpoint {
    /// The address, IPv4 when it is stored mapped.
    pub fn ip(&self) -> std::net::IpAddr {
        let v6 = std::net::Ipv6Addr::from(self.addr);
        match v6.to_ipv4_mapped() {
            Some(v4) => v4.into(),
            None => v6.into(),
        }
    }
}

impl std::fmt::Display for Endpoint {
    /// `10.0.0.1:80`, `[::1]:80`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip() {
            std::net::IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            std::net::IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}
