//! Zeek's view of a TCP connection: each endpoint's coarse state and the `history`
//! string, from which `conn_state` (S0, S1, SF, REJ ...) is derived, so pktlab's
//! `conns` reads like Zeek's conn.log.

use std::fmt;

use super::Side;
use crate::decode::tcp;
use crate::decode::tcp_analysis::Flags;

/// Zeek's `TCP_ENDPOINT_*` states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Endpoint {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Longest history kept; Zeek's strings rarely pass 20 letters, and a hostile capture
/// must not grow one without bound.
const MAX_HISTORY: usize = 40;

/// The history string: one letter per event kind, upper case from the originator
/// (client), lower case from the responder.
#[derive(Clone, Copy)]
pub struct History {
    buf: [u8; MAX_HISTORY],
    len: u8,
    /// Letters seen once already, per direction (bit per kind; responder in the high half).
    seen: u32,
}

// By hand: serde derives arrays of at most 32 elements, and only the used part counts.
impl serde::Serialize for History {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.buf[..usize::from(self.len)], self.seen).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for History {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (letters, seen) = <(Vec<u8>, u32)>::deserialize(d)?;
        let mut h = History { seen, ..History::default() };
        for c in letters {
            h.push(c);
        }
        Ok(h)
    }
}

impl Default for History {
    fn default() -> Self {
        History { buf: [0; MAX_HISTORY], len: 0, seen: 0 }
    }
}

impl History {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
    fn push(&mut self, c: u8) {
        if usize::from(self.len) < MAX_HISTORY {
            self.buf[usize::from(self.len)] = c;
            self.len += 1;
        }
    }
    /// Zeek's `^`: the originator is not the sender of the first packet.
    pub fn flip(&mut self) {
        self.push(b'^');
    }
    /// Records `code` the first time this kind is seen from this side; true when it
    /// had been seen before (Zeek's `CheckHistory`).
    fn check(&mut self, kind: u32, code: u8, orig: bool) -> bool {
        let mask = if orig { 1 << kind } else { 1 << (kind + 16) };
        if self.seen & mask == 0 {
            self.seen |= mask;
            self.push(if orig { code } else { code.to_ascii_lowercase() });
            false
        } else {
            true
        }
    }
    fn add(&mut self, code: u8, orig: bool) {
        self.push(if orig { code } else { code.to_ascii_lowercase() });
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const SYN_PKT: u32 = 0;
const FIN_PKT: u32 = 1;
const RST_PKT: u32 = 2;
const DATA_PKT: u32 = 3;
const ACK_PKT: u32 = 4;
const MULTI_FLAG: u32 = 5;
const FIN_RST: u32 = 6;

/// Counters for the letters Zeek records on a log scale (1st, 10th, 100th ... time).
#[derive(Clone, Copy, Debug)]
pub struct Scaled {
    count: u32,
    threshold: u32,
}

impl Default for Scaled {
    fn default() -> Self {
        Scaled { count: 0, threshold: 1 }
    }
}

impl Scaled {
    fn hit(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        if self.count == self.threshold {
            self.threshold = self.threshold.saturating_mul(10);
            true
        } else {
            false
        }
    }
}

/// Per-side history bookkeeping.
#[derive(Clone, Copy, Debug, Default)]
pub struct Marks {
    last_syn: Option<u32>,
    last_fin: Option<u32>,
    last_rst: Option<u32>,
    rexmit: Scaled,
    zero_win: Scaled,
    gap: Scaled,
    bad_checksum: Scaled,
}

/// One segment from `mine` (the client when `orig`).
#[allow(clippy::too_many_arguments)]
pub(super) fn update(
    mine: &mut Side,
    theirs: &mut Side,
    orig: bool,
    flags: u16,
    len: u32,
    win: u16,
    rel_seq: u32,
    verdicts: &Flags,
    bad_checksum: bool,
    hist: &mut History,
) {
    if bad_checksum {
        // Zeek's TCP analyzer records it (`c`, on its log scale) and goes no further.
        if mine.marks.bad_checksum.hit() {
            hist.add(b'C', orig);
        }
        return;
    }
    let syn = flags & tcp::SYN != 0;
    let fin = flags & tcp::FIN != 0;
    let rst = flags & tcp::RST != 0;
    let ack = flags & tcp::ACK != 0;

    // Endpoint states (Zeek's TCPSessionAdapter state machine, in outline).
    if rst {
        mine.zeek = Endpoint::Reset;
    } else if fin {
        mine.zeek = Endpoint::Closed;
    } else if syn && !ack {
        if matches!(mine.zeek, Endpoint::Inactive) {
            mine.zeek = Endpoint::SynSent;
        }
    } else if syn {
        if orig {
            if mine.zeek == Endpoint::Inactive {
                mine.zeek = Endpoint::SynAckSent;
            }
        } else {
            match theirs.zeek {
                Endpoint::SynSent => theirs.zeek = Endpoint::Established,
                Endpoint::Inactive => theirs.zeek = Endpoint::Partial,
                _ => {}
            }
            if matches!(mine.zeek, Endpoint::Inactive | Endpoint::SynSent | Endpoint::SynAckSent) {
                mine.zeek = Endpoint::Established;
            }
        }
    } else {
        match mine.zeek {
            Endpoint::Inactive => mine.zeek = Endpoint::Partial,
            Endpoint::SynSent | Endpoint::SynAckSent if ack => {
                if matches!(theirs.zeek, Endpoint::Established | Endpoint::SynAckSent | Endpoint::Partial) {
                    mine.zeek = Endpoint::Established;
                }
            }
            _ => {}
        }
    }

    // History letters (Zeek's update_history).
    let m = &mut mine.marks;
    let bits = u8::from(syn) + u8::from(fin) + u8::from(rst);
    if bits > 1 {
        if fin && rst {
            hist.check(FIN_RST, b'I', orig);
        } else {
            hist.check(MULTI_FLAG, b'Q', orig);
        }
    } else if bits == 1 {
        if syn {
            let code = if ack { b'H' } else { b'S' };
            if hist.check(SYN_PKT, code, orig) && m.last_syn != Some(rel_seq) {
                hist.add(code, orig);
            }
            m.last_syn = Some(rel_seq);
        }
        if fin {
            // A FIN's number comes after its data.
            let s = rel_seq.wrapping_add(len);
            if hist.check(FIN_PKT, b'F', orig) && m.last_fin != Some(s) {
                hist.add(b'F', orig);
            }
            m.last_fin = Some(s);
        }
        if rst {
            if hist.check(RST_PKT, b'R', orig) && m.last_rst != Some(rel_seq) {
                hist.add(b'R', orig);
            }
            m.last_rst = Some(rel_seq);
        }
    } else if len > 0 {
        hist.check(DATA_PKT, b'D', orig);
    } else if ack {
        hist.check(ACK_PKT, b'A', orig);
    }
    if verdicts.is_retransmission() && m.rexmit.hit() {
        hist.add(b'T', orig);
    }
    if win == 0 && !syn && !rst && m.zero_win.hit() {
        hist.add(b'W', orig);
    }
    if verdicts.contains(Flags::ACKED_UNSEEN) && m.gap.hit() {
        hist.add(b'G', orig);
    }
}

/// Zeek's `conn_state` (base/protocols/conn/main.zeek), from the originator's and
/// responder's endpoint states, payload sizes and history.
pub fn conn_state(o: Endpoint, r: Endpoint, o_size: u64, r_size: u64, hist: &History) -> &'static str {
    let o_inactive = matches!(o, Endpoint::Inactive | Endpoint::Partial);
    let r_inactive = matches!(r, Endpoint::Inactive | Endpoint::Partial);
    if r == Endpoint::Reset {
        if matches!(o, Endpoint::SynSent | Endpoint::SynAckSent) || (o == Endpoint::Reset && o_size == 0 && r_size == 0)
        {
            "REJ"
        } else if o_inactive {
            "RSTRH"
        } else {
            "RSTR"
        }
    } else if o == Endpoint::Reset {
        if r_inactive {
            if syn_then_reset(hist.as_str()) {
                "RSTOS0"
            } else {
                "OTH"
            }
        } else {
            "RSTO"
        }
    } else if r == Endpoint::Closed && o == Endpoint::Closed {
        "SF"
    } else if o == Endpoint::Closed {
        if r_inactive {
            "SH"
        } else {
            "S2"
        }
    } else if r == Endpoint::Closed {
        if o_inactive {
            "SHR"
        } else {
            "S3"
        }
    } else if o == Endpoint::SynSent && r == Endpoint::Inactive {
        "S0"
    } else if o == Endpoint::Established && r == Endpoint::Established {
        "S1"
    } else {
        "OTH"
    }
}

/// A `conn_state`. An alias, so that serde's derive does not take the field for a
/// string borrowed from its input.
pub type StateName = &'static str;

/// Every `conn_state` name, for reading one back as the static string it was.
const STATES: [&str; 13] = ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"];

/// (De)serializes a `conn_state`.
pub mod state_name {
    pub fn serialize<S: serde::Serializer>(v: &&'static str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        super::STATES
            .iter()
            .find(|s| **s == name)
            .copied()
            .ok_or_else(|| serde::de::Error::custom(format!("unknown conn_state {name}")))
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/`: a SYN, then a RST before any answer.
fn syn_then_reset(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else { return false };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_letters_at_powers_of_ten() {
        let mut s = Scaled::default();
        let hits: Vec<u32> = (1..=1000).filter(|_| s.hit()).collect::<Vec<_>>().into_iter().collect();
        assert_eq!(hits.len(), 4);
    }

    #[test]
    fn rstos0_pattern() {
        let mut h = History::default();
        for c in b"SR" {
            h.push(*c);
        }
        assert!(syn_then_reset(h.as_str()));
        let mut h = History::default();
        for c in b"ShR" {
            h.push(*c);
        }
        assert!(syn_then_reset(h.as_str()));
        let mut h = History::default();
        for c in b"SHR" {
            h.push(*c);
        }
        assert!(!syn_then_reset(h.as_str()));
    }
}
