//! Property test of the sticky-packet view under loss: random messages in a random
//! framing, cut into random segments (coalesced, split, a header cut from its body),
//! sent as Ethernet frames with losses made good by retransmissions (re-cut at other
//! boundaries, overlapping bytes already sent), reordering and duplicates, through the
//! same objects `pktlab segments` uses (tracker, follower and reassembly, framing
//! model). The framed messages must be the messages sent, bytes and boundaries; a
//! loss never made good must report the message it cut short incomplete, and resume
//! framing at the next boundary when that is certain, or else frame nothing after it.

use std::ops::Range;

use etherparse::PacketBuilder;
use proptest::prelude::*;

use super::conn::Tracker;
use super::follow::{Dir, Follow};
use super::framing::Spec;
use super::reassembly::{Event, Limits, Sink};
use super::segments::{Model, Note};
use crate::source::LinkType;

/// One frame of the exchange: who sent it, its sequence number, flags, the stream
/// offsets of its payload (client data only).
struct Sent {
    from_client: bool,
    seq: u32,
    ack: u32,
    syn: bool,
    fin: bool,
    payload: Range<usize>,
}

fn frame(s: &Sent, stream: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if s.from_client {
        ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 9000)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 9000, 40000)
    };
    let mut b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64).tcp(sp, dp, s.seq, 64240);
    if s.syn {
        b = b.syn();
    }
    if s.fin {
        b = b.fin();
    }
    if !(s.syn && s.from_client) {
        b = b.ack(s.ack);
    }
    if !s.payload.is_empty() {
        b = b.psh();
    }
    let mut out = Vec::new();
    b.write(&mut out, &stream[s.payload.clone()]).expect("a frame of a test stream");
    out
}

/// What went through the view: the client direction's model and delivered bytes.
struct Seen {
    model: Model,
    stream: Vec<u8>,
}

/// Tracks, follows and models the frames as `pktlab segments --expand` does (every
/// record held, so the lists can be compared whole; a model that lets records go is
/// compared with it by its totals and notes).
fn view(spec: &Spec, frames: &[Vec<u8>]) -> Seen {
    view_with(Model::unbounded(spec.clone()), frames)
}

fn view_with(mut model: Model, frames: &[Vec<u8>]) -> Seen {
    struct Client<'a> {
        model: &'a mut Model,
        stream: &'a mut Vec<u8>,
    }
    impl Sink for Client<'_> {
        fn event(&mut self, e: Event<'_>) {
            match &e {
                Event::Data { offset, bytes, .. } => {
                    // Each byte once, in order: the stream the framing reads.
                    assert_eq!(*offset, self.stream.len() as u64, "data out of order");
                    self.stream.extend_from_slice(bytes);
                }
                // Missing bytes as zeros, so offsets still index the stream.
                Event::Missing { offset, len, .. } => {
                    assert_eq!(*offset, self.stream.len() as u64, "a gap out of order");
                    self.stream.resize(self.stream.len() + *len as usize, 0);
                }
                _ => {}
            }
            self.model.event(e);
        }
    }
    let mut tracker = Tracker::new(16, false);
    let mut follow = Follow::new(0, Limits::default());
    let mut stream = Vec::new();
    {
        let mut client = Client { model: &mut model, stream: &mut stream };
        let mut sink = |d: Dir, e: Event<'_>| {
            if d == Dir::ToServer {
                client.event(e)
            }
        };
        for (i, f) in frames.iter().enumerate() {
            let n = i as u64 + 1;
            let p = crate::decode::decode(LinkType::ETHERNET, f, f.len() as u32);
            let seen = tracker.observe(n, n * 1000, f.len() as u32, &p);
            follow.push(n, n * 1000, &seen, crate::analysis::conn::Header::Conn, &p, &mut sink);
        }
        follow.finish(&mut sink);
    }
    model.finish();
    Seen { model, stream }
}

/// A framing and bodies it can carry.
fn framing_and_bodies() -> impl Strategy<Value = (Spec, Vec<Vec<u8>>)> {
    let sizes = || prop::collection::vec(prop_oneof![0usize..8, 0usize..300, 0usize..3000], 1..16);
    prop_oneof![
        (Just("len:u32le"), sizes()),
        (Just("len:i32le"), sizes()),
        (Just("len:u16be"), sizes()),
        (Just("line"), sizes()),
        (Just("jsonhdr"), sizes()),
        (1usize..40, 1usize..40).prop_map(|(n, k)| ("fixed", vec![n; k])),
    ]
    .prop_flat_map(|(kind, sizes)| {
        let spec: Spec = if kind == "fixed" { format!("fixed:{}", sizes[0]).parse() } else { kind.parse() }
            .expect("a spec the test names");
        let bodies = sizes
            .into_iter()
            .map(|n| {
                // `line` bodies hold no newline; the others any byte, the length field's
                // bytes included, so a body can look like a header.
                let byte = if matches!(spec, Spec::Line { .. }) { (b' '..=b'~').boxed() } else { any::<u8>().boxed() };
                prop::collection::vec(byte, n)
            })
            .collect::<Vec<_>>();
        (Just(spec), bodies)
    })
}

/// What happens to one segment on the way.
#[derive(Clone, Copy, Debug)]
enum Fate {
    Delivered,
    /// Captured twice.
    Duplicated,
    /// Captured after the next `n` segments.
    Late(usize),
    /// Not captured: sent again later (`widen` bytes of its neighbours each side, cut
    /// into pieces of at most `piece` bytes, `after` segments later).
    Lost {
        widen: usize,
        piece: usize,
        after: usize,
    },
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        6 => Just(Fate::Delivered),
        1 => Just(Fate::Duplicated),
        1 => (1usize..4).prop_map(Fate::Late),
        2 => (0usize..700, 1usize..1500, 0usize..6).prop_map(|(widen, piece, after)| Fate::Lost { widen, piece, after }),
    ]
}

/// The client's segments, as stream offsets, in capture order.
fn schedule(len: usize, cuts: &[usize], fates: &[Fate]) -> Vec<Range<usize>> {
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
    bounds.extend([0, len]);
    bounds.sort_unstable();
    bounds.dedup();
    let segs: Vec<Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();
    // (position in the original order, tie-break, range): sorted at the end.
    let mut out: Vec<(usize, usize, Range<usize>)> = Vec::new();
    for (i, r) in segs.iter().enumerate() {
        match fates[i % fates.len()] {
            Fate::Delivered => out.push((2 * i, 0, r.clone())),
            Fate::Duplicated => {
                out.push((2 * i, 0, r.clone()));
                out.push((2 * i, 1, r.clone()));
            }
            Fate::Late(n) => out.push((2 * (i + n) + 1, 0, r.clone())),
            Fate::Lost { widen, piece, after } => {
                let again = r.start.saturating_sub(widen)..(r.end + widen).min(len);
                let mut at = again.start;
                let mut k = 0;
                while at < again.end {
                    let end = (at + piece).min(again.end);
                    out.push((2 * (i + after) + 1, k, at..end));
                    at = end;
                    k += 1;
                }
            }
        }
    }
    out.sort_by_key(|(at, k, _)| (*at, *k));
    out.into_iter().map(|(_, _, r)| r).collect()
}

/// The frames of a whole connection: handshake, the client's segments, both FINs.
fn frames(isn: u32, stream: &[u8], segs: &[Range<usize>]) -> Vec<Vec<u8>> {
    let sisn = isn ^ 0x5a5a_5a5a;
    // The SYN takes one sequence number.
    let data = isn.wrapping_add(1);
    let end = data.wrapping_add(stream.len() as u32);
    let c = |seq, payload, syn, fin| Sent { from_client: true, seq, ack: sisn.wrapping_add(1), syn, fin, payload };
    let mut sent = vec![
        Sent { ack: 0, ..c(isn, 0..0, true, false) },
        Sent { from_client: false, seq: sisn, ack: data, syn: true, fin: false, payload: 0..0 },
        c(data, 0..0, false, false),
    ];
    for r in segs {
        sent.push(c(data.wrapping_add(r.start as u32), r.clone(), false, false));
    }
    sent.push(c(end, 0..0, false, true));
    let s = |seq, ack, fin| Sent { from_client: false, seq, ack, syn: false, fin, payload: 0..0 };
    sent.push(s(sisn.wrapping_add(1), end.wrapping_add(1), true));
    sent.push(c(end.wrapping_add(1), 0..0, false, false));
    sent.iter().map(|s| frame(s, stream)).collect()
}

/// Each message's span and the offset its body starts at, as sent.
fn layout(spec: &Spec, bodies: &[Vec<u8>]) -> Vec<(Range<u64>, u64)> {
    let mut at = 0;
    let mut one = Vec::new();
    bodies
        .iter()
        .map(|b| {
            one.clear();
            spec.encode(b, &mut one).expect("bodies made for the spec");
            let len = one.len() as u64;
            // `line` puts its delimiter after the body; the others their header before it.
            let body = if matches!(spec, Spec::Line { .. }) { at } else { at + len - b.len() as u64 };
            at += len;
            (at - len..at, body)
        })
        .collect()
}

fn encode(spec: &Spec, bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut stream = Vec::new();
    for b in bodies {
        spec.encode(b, &mut stream).expect("bodies made for the spec");
    }
    stream
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every loss made good: the messages are exactly the ones sent.
    #[test]
    fn messages_come_out_exactly_as_sent_under_loss_reordering_and_duplication(
        (spec, bodies) in framing_and_bodies(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
        fates in prop::collection::vec(fate(), 1..12),
        isn in any::<u32>(),
    ) {
        let stream = encode(&spec, &bodies);
        let segs = schedule(stream.len(), &cuts, &fates);
        let all = frames(isn, &stream, &segs);
        let seen = view(&spec, &all);
        let m = &seen.model;
        prop_assert_eq!(&seen.stream, &stream, "the reassembled stream");
        // A model that lets settled records go every few segments (what a long stream
        // does) tells the same facts.
        let small = view_with(Model::with_window(spec.clone(), 3), &all).model;
        prop_assert_eq!(small.totals(), m.totals());
        prop_assert_eq!(small.notes(), m.notes());
        let got: Vec<&[u8]> =
            m.messages().iter().map(|x| &seen.stream[x.body.start as usize..x.body.end as usize]).collect();
        let want: Vec<&[u8]> = bodies.iter().map(|b| b.as_slice()).collect();
        prop_assert_eq!(got, want, "the message bodies ({})", spec);
        // Boundaries: the messages tile the stream, each header and trailer in place.
        let mut at = 0;
        for (x, b) in m.messages().iter().zip(&bodies) {
            prop_assert_eq!(x.span().start, at);
            let mut one = Vec::new();
            spec.encode(b, &mut one).unwrap();
            prop_assert_eq!(&stream[x.span().start as usize..x.span().end as usize], one.as_slice());
            at = x.span().end;
        }
        prop_assert_eq!(at, stream.len() as u64);
        let t = m.totals();
        prop_assert_eq!((t.messages, t.missing, t.outside, t.incomplete), (bodies.len() as u64, 0, 0, 0));
        prop_assert!(m.lost().is_none() && m.gaps().is_empty());
        // Segments tile the stream too, and a split note's frames are its segments' first
        // and last frame in capture order.
        let mut at = 0;
        for s in m.segments() {
            prop_assert_eq!(s.range.start, at);
            at = s.range.end;
        }
        prop_assert_eq!(at, stream.len() as u64);
        for n in m.notes() {
            if let Note::Split { segments, frames, .. } = n {
                let of = m.segments().iter().filter(|s| segments.contains(&s.number)).map(|s| s.frame);
                let (lo, hi) = (of.clone().min().unwrap(), of.max().unwrap());
                prop_assert_eq!(frames, lo..=hi);
            }
        }
    }

    /// One segment lost for good: the messages before the gap come out exactly and the
    /// one it cut short is incomplete. Where the next boundary is certain (the gap lies
    /// inside a body whose header came whole, or the messages are `fixed:N`), framing
    /// resumes there and every message after it comes out exactly, numbered as sent;
    /// otherwise nothing is framed after the gap.
    #[test]
    fn a_loss_never_made_good_resumes_at_a_certain_boundary_or_stops_the_framing(
        (spec, bodies) in framing_and_bodies(),
        cuts in prop::collection::vec(any::<usize>(), 1..40),
        fates in prop::collection::vec(fate(), 1..12),
        lose in any::<prop::sample::Index>(),
        isn in any::<u32>(),
    ) {
        let stream = encode(&spec, &bodies);
        let segs = schedule(stream.len(), &cuts, &fates);
        // Drop every copy of some bytes: the ones of one scheduled segment.
        let gone = segs[lose.index(segs.len())].clone();
        prop_assume!(!gone.is_empty());
        let kept: Vec<Range<usize>> = segs
            .iter()
            .flat_map(|r| {
                // What is left of `r` without `gone`: up to two pieces.
                [r.start..r.end.min(gone.start), r.start.max(gone.end)..r.end]
            })
            .filter(|r| !r.is_empty())
            .collect();
        let all = frames(isn, &stream, &kept);
        let seen = view(&spec, &all);
        let m = &seen.model;
        let small = view_with(Model::with_window(spec.clone(), 3), &all).model;
        prop_assert_eq!(small.totals(), m.totals());
        prop_assert_eq!(small.notes(), m.notes());
        prop_assert_eq!(m.gaps().first().map(|g| g.range.clone()), Some(gone.start as u64..gone.end as u64));
        let (g0, g1) = (gone.start as u64, gone.end as u64);
        let sent = layout(&spec, &bodies);
        // The message the gap begins in (index), and how many came whole before it.
        let k = sent.iter().position(|(s, _)| s.start <= g0 && g0 < s.end);
        let before = sent.partition_point(|(s, _)| s.end <= g0);
        // Where framing must resume: the boundary, and the index of the message there.
        let resume = match &spec {
            _ if g1 == stream.len() as u64 => None,
            Spec::Fixed(n) => Some((g1.div_ceil(*n) * n, (g1.div_ceil(*n)) as usize)),
            Spec::Len { .. } | Spec::JsonHdr { .. } => {
                k.filter(|&k| g0 >= sent[k].1 && g1 <= sent[k].0.end).map(|k| (sent[k].0.end, k + 1))
            }
            _ => None,
        };
        // Each framed message is the one sent, in its place, numbered as sent.
        let want: Vec<u64> = (1..=before as u64)
            .chain(resume.iter().flat_map(|&(_, i)| i as u64 + 1..=bodies.len() as u64))
            .collect();
        let got: Vec<u64> = m.messages().iter().map(|x| x.number).collect();
        prop_assert_eq!(got, want, "message numbers ({}, gap {}..{})", spec, g0, g1);
        for x in m.messages() {
            let i = x.number as usize - 1;
            prop_assert_eq!(x.span(), sent[i].0.clone());
            prop_assert_eq!(&stream[x.body.start as usize..x.body.end as usize], bodies[i].as_slice());
        }
        // The message cut short, if any of it came before the gap.
        let at = if before == 0 { 0 } else { sent[before - 1].0.end };
        let cut: Vec<(u64, u64)> = m.incomplete().iter().map(|i| (i.start, i.start + i.received)).collect();
        prop_assert_eq!(cut, if at < g0 { vec![(at, g0)] } else { vec![] });
        prop_assert_eq!(m.totals().incomplete, u64::from(at < g0));
        match (resume, k) {
            (Some((offset, i)), Some(k)) => {
                let first = if g0 > sent[k].0.start { k as u64 + 2 } else { k as u64 + 1 };
                let message = i as u64 + 1;
                let r = crate::analysis::framing::Resumed { gap: g0, offset, message, skipped: first..message };
                prop_assert_eq!(m.resumed(), &[r][..]);
                prop_assert_eq!(m.totals().skipped, message - first);
                prop_assert!(m.lost().is_none());
            }
            _ => {
                prop_assert!(m.resumed().is_empty());
                if g1 < stream.len() as u64 {
                    prop_assert!(m.lost().is_some(), "framing went on across the missing bytes at {}", g0);
                }
            }
        }
    }
}
