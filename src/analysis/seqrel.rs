//! Relative TCP sequence numbers, as Wireshark shows them: each direction's numbers
//! minus that direction's initial sequence number, so a handshake reads Seq=0,
//! then 1, whatever random ISN the hosts chose (RFC 9293 section 3.4.1).

use rustc_hash::FxHashMap;

use super::flow::FlowKey;
use crate::decode::{tcp, Context, Packet};

#[derive(Clone, Copy, Default)]
struct Bases {
    /// Base of the lo -> hi direction and of hi -> lo.
    fwd: Option<u32>,
    rev: Option<u32>,
    /// Window scale each side announced in its SYN.
    fwd_ws: Scale,
    rev_ws: Scale,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Scale {
    /// No SYN seen: the factor is unknown.
    #[default]
    Unknown,
    /// SYN without the option: this side does not scale.
    None,
    Shift(u8),
}

/// Tracks each connection's base sequence numbers.
pub struct SeqTracker {
    map: FxHashMap<FlowKey, Bases>,
    cap: usize,
    /// Times the table was full and had to be cleared.
    pub resets: u64,
}

impl Default for SeqTracker {
    fn default() -> Self {
        Self::with_capacity_limit(1 << 20)
    }
}

impl SeqTracker {
    /// `cap` bounds memory: hostile captures open millions of connections. When the
    /// table is full it starts over, so numbers after that point are relative to the
    /// first segment seen since (shown with the same rules as a capture that
    /// started mid-connection).
    pub fn with_capacity_limit(cap: usize) -> Self {
        SeqTracker { map: FxHashMap::default(), cap, resets: 0 }
    }

    /// Relative numbers for this packet's TCP segment (empty context for non-TCP).
    pub fn relative(&mut self, p: &Packet<'_>) -> Context {
        let Some(t) = p.tcp() else {
            return Context::default();
        };
        let (Some(seq), Some(ack), Some(flags)) = (t.seq(), t.ack(), t.flags()) else {
            return Context::default();
        };
        let Some((key, lo_to_hi)) = FlowKey::of(p) else {
            return Context::default();
        };
        if self.map.len() >= self.cap && !self.map.contains_key(&key) {
            self.map.clear();
            self.resets += 1;
        }
        let b = self.map.entry(key).or_default();
        let (mine, theirs, my_ws, their_ws) = if lo_to_hi {
            (&mut b.fwd, &mut b.rev, &mut b.fwd_ws, &mut b.rev_ws)
        } else {
            (&mut b.rev, &mut b.fwd, &mut b.rev_ws, &mut b.fwd_ws)
        };
        let syn = flags & tcp::SYN != 0;
        let has_ack = flags & tcp::ACK != 0;
        if syn && !has_ack && mine.is_some_and(|m| m != seq) {
            // A new SYN with another ISN on the same 4-tuple: a new connection.
            *mine = None;
            *theirs = None;
        }
        if syn {
            if mine.is_none_or(|m| m != seq) {
                *mine = Some(seq);
            }
            let shift = t.options().find_map(|(_, _, o)| match o {
                tcp::Opt::WindowScale(s) => Some(s),
                _ => None,
            });
            // RFC 7323 section 2.3: shifts above 14 are treated as 14.
            *my_ws = shift.map_or(Scale::None, |s| Scale::Shift(s.min(14)));
        } else if mine.is_none() {
            // Joined mid-connection: Wireshark numbers the first byte seen 1.
            *mine = Some(seq.wrapping_sub(1));
        }
        if has_ack && theirs.is_none() {
            *theirs = Some(ack.wrapping_sub(1));
        }
        // RFC 7323 section 2.2: windows in SYNs are never scaled, and scaling is on
        // only when both sides offered it.
        let win_shift = match (syn, *my_ws, *their_ws) {
            (true, _, _) => Some(0),
            (false, Scale::Shift(s), Scale::Shift(_)) => Some(s),
            (false, Scale::None, _) | (false, _, Scale::None) => Some(0),
            _ => None,
        };
        Context {
            win_shift,
            rel_seq: mine.map(|m| seq.wrapping_sub(m)),
            rel_ack: if has_ack { theirs.map(|t| ack.wrapping_sub(t)) } else { None },
        }
    }
}
