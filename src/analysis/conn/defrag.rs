//! IP fragments, put back together far enough to find the transport header of a
//! fragmented datagram. tshark reassembles by default, and its conversations count a
//! fragmented datagram once, in the frame that completes it, with that frame's length;
//! the tracker does the same. Only what it needs is kept per datagram: the byte ranges
//! that have arrived, where the datagram ends, and what the first fragment's transport
//! header says (`H`). No payload bytes are kept.
//!
//! Bounded: at most [`MAX_DATAGRAMS`] datagrams in flight, each with at most
//! [`MAX_RANGES`] separate ranges, each forgotten [`TIMEOUT_NS`] (capture time) after
//! its first fragment. Past the cap the quarter that began the longest ago goes.

use rustc_hash::FxHashMap;

/// Datagrams being reassembled at most.
pub const MAX_DATAGRAMS: usize = 4096;

/// A datagram still incomplete this long after its first fragment (capture time) is
/// forgotten. Linux's
/// `ipfrag_time` (30 s); RFC 791 section 3.2 suggests 15 s for the first timer, and
/// tshark has none, so fragments further apart than this are counted by tshark alone.
pub const TIMEOUT_NS: u64 = 30_000_000_000;

/// Separate ranges kept per datagram. Fragments in order, or reordered a little,
/// make one or two; a datagram needing more is dropped (hostile input: RFC 815's hole
/// list is unbounded).
pub const MAX_RANGES: usize = 8;

/// Which datagram a fragment belongs to. IPv4: source, destination, protocol and
/// identification (RFC 791 section 3.2). IPv6: source, destination and
/// identification (RFC 8200 section 4.5); `proto` is 0 there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Id {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub ident: u32,
    pub proto: u8,
    pub v6: bool,
}

/// One fragment: the bytes `start..end` of its datagram's payload (offsets after the
/// IP header, or after the fragment header for IPv6), and `head`, what its transport
/// header says, when it is the first fragment and has one the tracker follows.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<H> {
    pub id: Id,
    pub start: u32,
    pub end: u32,
    /// More fragments follow (MF, or the M flag): `end` is not the datagram's end.
    pub more: bool,
    pub head: Option<H>,
}

#[derive(Clone, Copy, Debug)]
struct Pending<H> {
    first_ts: u64,
    head: Option<H>,
    /// The datagram's payload length, once its last fragment came.
    len: Option<u32>,
    /// Disjoint, sorted, not touching.
    ranges: [(u32, u32); MAX_RANGES],
    n: usize,
}

impl<H: Copy> Pending<H> {
    /// Adds `start..end`; false when that would take more than [`MAX_RANGES`] ranges.
    fn add(&mut self, start: u32, end: u32) -> bool {
        if start >= end {
            return true;
        }
        let (mut s, mut e) = (start, end);
        let mut out = [(0u32, 0u32); MAX_RANGES];
        let mut n = 0;
        let mut placed = false;
        let mut push = |r: (u32, u32), n: &mut usize| {
            if *n == MAX_RANGES {
                return false;
            }
            out[*n] = r;
            *n += 1;
            true
        };
        for &(a, b) in &self.ranges[..self.n] {
            if b < s {
                if !push((a, b), &mut n) {
                    return false;
                }
            } else if e < a {
                if !placed {
                    if !push((s, e), &mut n) {
                        return false;
                    }
                    placed = true;
                }
                if !push((a, b), &mut n) {
                    return false;
                }
            } else {
                // Overlapping or touching: one range. Overlapping bytes that differ are
                // not our concern: only the transport header's fragment is read.
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed && !push((s, e), &mut n) {
            return false;
        }
        self.ranges = out;
        self.n = n;
        true
    }

    fn complete(&self) -> Option<u32> {
        let len = self.len?;
        (self.n > 0 && self.ranges[0].0 == 0 && self.ranges[0].1 >= len).then_some(len)
    }
}

/// Datagrams being put back together.
pub struct Defrag<H> {
    map: FxHashMap<Id, Pending<H>>,
    cap: usize,
    /// Datagrams given up: too many in flight, or too many ranges.
    pub dropped: u64,
}

impl<H: Copy> Default for Defrag<H> {
    fn default() -> Self {
        Defrag::new(MAX_DATAGRAMS)
    }
}

impl<H: Copy> Defrag<H> {
    pub fn new(cap: usize) -> Defrag<H> {
        Defrag { map: FxHashMap::default(), cap: cap.max(1), dropped: 0 }
    }

    pub fn in_flight(&self) -> usize {
        self.map.len()
    }

    /// Takes one fragment seen at `ts`. When it completes its datagram: the first
    /// fragment's `head` and the datagram's payload length.
    pub fn add(&mut self, ts: u64, f: &Fragment<H>) -> Option<(H, u32)> {
        if let Some(p) = self.map.get(&f.id) {
            if ts.saturating_sub(p.first_ts) > TIMEOUT_NS {
                // The identification came round again, or the rest never came.
                self.map.remove(&f.id);
            }
        }
        if !self.map.contains_key(&f.id) {
            self.make_room(ts);
        }
        let p = self.map.entry(f.id).or_insert(Pending {
            first_ts: ts,
            head: None,
            len: None,
            ranges: [(0, 0); MAX_RANGES],
            n: 0,
        });
        if p.head.is_none() {
            p.head = f.head;
        }
        if !f.more && p.len.is_none() {
            // A second, different last fragment does not move the end: the first one
            // seen decides, as in Wireshark.
            p.len = Some(f.end);
        }
        if !p.add(f.start, f.end) {
            self.map.remove(&f.id);
            self.dropped += 1;
            return None;
        }
        let len = p.complete()?;
        let head = p.head;
        // Done: Wireshark moves a reassembled datagram out of its table of reassemblies
        // in progress (`fragment_unhash` in reassemble.c), so a fragment with the same
        // identification afterwards, a duplicate included, begins a new datagram.
        self.map.remove(&f.id);
        head.map(|h| (h, len))
    }

    /// Forgets datagrams whose first fragment came more than [`TIMEOUT_NS`] before `now`.
    pub fn expire(&mut self, now: u64) {
        self.map.retain(|_, p| now.saturating_sub(p.first_ts) <= TIMEOUT_NS);
    }

    fn make_room(&mut self, now: u64) {
        if self.map.len() < self.cap {
            return;
        }
        self.expire(now);
        if self.map.len() < self.cap {
            return;
        }
        let mut starts: Vec<u64> = self.map.values().map(|p| p.first_ts).collect();
        let n = (starts.len() / 4).max(1).min(starts.len() - 1);
        let (_, cut, _) = starts.select_nth_unstable(n);
        let cut = *cut;
        let mut gone = 0u64;
        self.map.retain(|_, p| {
            let keep = p.first_ts > cut;
            gone += u64::from(!keep);
            keep
        });
        self.dropped += gone;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: Id = Id { src: [1; 16], dst: [2; 16], ident: 7, proto: 17, v6: false };

    fn frag(start: u32, end: u32, more: bool) -> Fragment<u32> {
        Fragment { id: ID, start, end, more, head: (start == 0).then_some(99) }
    }

    /// Feeds the fragments in order, one per millisecond; returns what each gave.
    fn feed(d: &mut Defrag<u32>, frags: &[Fragment<u32>]) -> Vec<Option<(u32, u32)>> {
        frags.iter().enumerate().map(|(i, f)| d.add(i as u64 * 1_000_000, f)).collect()
    }

    #[test]
    fn in_order_completes_on_the_last_fragment() {
        let mut d = Defrag::default();
        let got = feed(&mut d, &[frag(0, 1480, true), frag(1480, 2960, true), frag(2960, 3008, false)]);
        assert_eq!(got, vec![None, None, Some((99, 3008))]);
    }

    #[test]
    fn out_of_order_completes_on_the_fragment_that_fills_the_last_hole() {
        let mut d = Defrag::default();
        // Last first, then the first, then the middle one: the middle one completes it.
        let got = feed(&mut d, &[frag(2960, 3008, false), frag(0, 1480, true), frag(1480, 2960, true)]);
        assert_eq!(got, vec![None, None, Some((99, 3008))]);
    }

    #[test]
    fn overlapping_fragments_still_complete() {
        let mut d = Defrag::default();
        let got = feed(&mut d, &[frag(0, 1000, true), frag(800, 2000, true), frag(1500, 2500, false)]);
        assert_eq!(got, vec![None, None, Some((99, 2500))]);
        // A fragment reaching past the end and a second, shorter, last one change nothing.
        let mut d = Defrag::default();
        let got = feed(&mut d, &[frag(0, 1000, true), frag(1000, 1200, false), frag(900, 1100, false)]);
        assert_eq!(got, vec![None, Some((99, 1200)), None]);
    }

    #[test]
    fn a_duplicate_after_reassembly_begins_a_new_datagram() {
        // As in Wireshark: the repeated fragments form a second datagram, which
        // completes (and counts) again.
        let mut d = Defrag::default();
        let got = feed(&mut d, &[frag(0, 8, true), frag(8, 16, false), frag(8, 16, false), frag(0, 8, true)]);
        assert_eq!(got, vec![None, Some((99, 16)), None, Some((99, 16))]);
        assert_eq!(d.in_flight(), 0);
        // Duplicates before completion are harmless too.
        let mut d = Defrag::default();
        let got = feed(&mut d, &[frag(0, 8, true), frag(0, 8, true), frag(8, 16, false)]);
        assert_eq!(got, vec![None, None, Some((99, 16))]);
    }

    #[test]
    fn missing_last_fragment_never_completes_and_times_out() {
        let mut d = Defrag::default();
        let got = feed(&mut d, &[frag(0, 1480, true), frag(1480, 2960, true)]);
        assert_eq!(got, vec![None, None]);
        assert_eq!(d.in_flight(), 1);
        d.expire(TIMEOUT_NS + 2_000_000);
        assert_eq!(d.in_flight(), 0);
        // The same identification long after: a new datagram, which completes alone.
        let late = TIMEOUT_NS * 3;
        assert_eq!(d.add(late, &frag(0, 8, true)), None);
        assert_eq!(d.add(late, &frag(8, 9, false)), Some((99, 9)));
    }

    #[test]
    fn missing_first_fragment_completes_without_a_header() {
        // All bytes but the head: a first fragment with no transport header we follow.
        let mut d = Defrag::default();
        let mut f0 = frag(0, 8, true);
        f0.head = None;
        assert_eq!(feed(&mut d, &[f0, frag(8, 16, false)]), vec![None, None]);
    }

    #[test]
    fn too_many_ranges_drops_the_datagram() {
        let mut d = Defrag::default();
        // Every other 8-byte block: MAX_RANGES + 1 separate ranges.
        for i in 0..=MAX_RANGES as u32 {
            assert_eq!(d.add(0, &frag(16 * i + 8, 16 * i + 16, true)), None);
        }
        assert_eq!(d.dropped, 1);
        assert_eq!(d.in_flight(), 0);
    }

    #[test]
    fn cap_exceeded_drops_the_oldest() {
        let mut d: Defrag<u32> = Defrag::new(8);
        for ident in 0..8u32 {
            d.add(u64::from(ident), &Fragment { id: Id { ident, ..ID }, ..frag(0, 8, true) });
        }
        assert_eq!(d.in_flight(), 8);
        d.add(100, &Fragment { id: Id { ident: 100, ..ID }, ..frag(0, 8, true) });
        assert!(d.in_flight() <= 8);
        assert!(d.dropped >= 2, "the oldest quarter went: {}", d.dropped);
        // The oldest is gone: its last fragment starts afresh instead of completing it.
        assert_eq!(d.add(101, &Fragment { id: Id { ident: 0, ..ID }, ..frag(8, 16, false) }), None);
        // The newest is still there.
        assert_eq!(d.add(102, &Fragment { id: Id { ident: 100, ..ID }, ..frag(8, 16, false) }), Some((99, 16)));
    }

    #[test]
    fn garbage_never_panics() {
        let mut d: Defrag<u32> = Defrag::new(16);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let start = (x & 0xffff) as u32;
            let end = start.wrapping_add(((x >> 16) & 0x7ff) as u32);
            let f = Fragment {
                id: Id { ident: ((x >> 32) & 7) as u32, ..ID },
                start,
                end,
                more: x & (1 << 40) != 0,
                head: Some(1),
            };
            d.add(i * 1000, &f);
            assert!(d.in_flight() <= 16);
        }
    }
}
