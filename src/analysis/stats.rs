//! Capture summary, as capinfos gives it, plus frame counts per protocol.

use crate::decode::{Packet, Proto};
use crate::source::{Frame, Timestamp};

/// Protocols counted, in the order the summary lists them.
pub const COUNTED: [Proto; 12] = [
    Proto::Eth,
    Proto::Sll,
    Proto::Sll2,
    Proto::Null,
    Proto::Vlan,
    Proto::Arp,
    Proto::Ipv4,
    Proto::Ipv6,
    Proto::Tcp,
    Proto::Udp,
    Proto::Icmp,
    Proto::Icmpv6,
];

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub frames: u64,
    /// Sum of original (wire) lengths.
    pub bytes: u64,
    /// Sum of captured lengths.
    pub captured_bytes: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Frames cut by the snaplen.
    pub truncated: u64,
    /// Frames whose headers contradict themselves (decoding stopped on a bad field).
    pub malformed: u64,
    pub min_len: Option<u32>,
    pub max_len: u32,
    /// Frames containing each protocol in `COUNTED`.
    pub per_proto: [u64; COUNTED.len()],
    /// IPv4 fragments (MF set or offset > 0).
    pub fragments: u64,
    /// Frames of link types pktlab does not decode.
    pub undecoded: u64,
    /// Frames with an ethertype or IP protocol pktlab does not decode.
    pub other: u64,
}

impl Stats {
    pub fn add(&mut self, f: &Frame<'_>, p: &Packet<'_>) {
        self.frames += 1;
        self.bytes += u64::from(f.orig_len);
        self.captured_bytes += f.data.len() as u64;
        if self.first.is_none_or(|t| f.ts < t) {
            self.first = Some(f.ts);
        }
        if self.last.is_none_or(|t| f.ts > t) {
            self.last = Some(f.ts);
        }
        if f.is_truncated() {
            self.truncated += 1;
        }
        if is_malformed(f, p) {
            self.malformed += 1;
        }
        self.min_len = Some(self.min_len.map_or(f.orig_len, |m| m.min(f.orig_len)));
        self.max_len = self.max_len.max(f.orig_len);
        for l in p.layers() {
            if let Some(i) = COUNTED.iter().position(|c| *c == l.proto) {
                // Count frames, not layers: QinQ has two VLAN tags.
                if p.layers().iter().find(|x| x.proto == l.proto).map(|x| x.start) == Some(l.start) {
                    self.per_proto[i] += 1;
                }
            }
        }
        if p.ipv4().is_some_and(|ip| ip.is_fragment()) {
            self.fragments += 1;
        }
        if !f.link.is_supported() {
            self.undecoded += 1;
        } else if p.unknown_ethertype != 0 || p.unknown_ip_proto.is_some() {
            self.other += 1;
        }
    }

    /// Seconds from the first to the last frame.
    pub fn duration(&self) -> f64 {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.since(a) as f64 / 1e9,
            _ => 0.0,
        }
    }
}

/// A frame whose decoding stopped on a contradiction, not merely on the snaplen.
pub fn is_malformed(f: &Frame<'_>, p: &Packet<'_>) -> bool {
    match p.malformed {
        None => false,
        Some(m) => match m.problem {
            crate::decode::Problem::Truncated { .. } => !f.is_truncated(),
            crate::decode::Problem::UnsupportedLink { .. } => false,
            _ => true,
        },
    }
}
