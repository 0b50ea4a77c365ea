//! The connection views: `conns`, `ladder`, `stream`, `segments`, and the walks over
//! tracked frames they share.

use super::*;
use crate::analysis::conn::Header;

pub(super) fn conns_cmd(a: ConnsPlan) -> Result<bool> {
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let mut tracker = tracker(a.max_conns as usize, true);
    let want = a.proto;
    // Rows of finished connections leave the tracker as it goes, so memory follows
    // the connections in flight, not the capture's length.
    let mut store = crate::spill::rows::RowStore::default();
    let mut store_error = None;
    let keep = |store: &mut crate::spill::rows::RowStore, rows: &mut dyn Iterator<Item = _>| -> io::Result<()> {
        for r in rows.filter(|r: &crate::analysis::conn::Summary| want.is_none_or(|w| r.proto == w)) {
            store.push(r)?;
        }
        Ok(())
    };
    let mut t0 = None;
    each_frame(&mut cap, &mut problems, &mut out, |frame| {
        t0.get_or_insert(frame.ts.0);
        let mut p = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
        p.decode();
        tracker.observe(frame.number, frame.ts.0, frame.orig_len, &p);
        if frame.number % 4096 == 0 && store_error.is_none() {
            store_error = keep(&mut store, &mut tracker.drain_finished()).err();
        }
    })?;
    if let Some(e) = store_error {
        return Err(e.into());
    }
    let evicted = tracker.evicted;
    keep(&mut store, &mut tracker.close().into_iter())?;
    let mut rows = store.finish()?;
    let t0 = t0.unwrap_or(0);
    match a.print {
        Print::Table => crate::render::conns::write_table(&mut out, &mut rows, t0, term_width())?,
        Print::Jsonl => crate::render::conns::write_jsonl(&mut out, &mut rows, t0)?,
    }
    out.flush()?;
    if evicted > 0 {
        eprintln!(
            "pktlab: {}: the connection table reached --max-conns {}: {evicted} connections were closed out early \
             (their later frames count as new connections)",
            a.file, a.max_conns
        );
    }
    Ok(problems.ok)
}

pub(super) fn ladder_cmd(a: LadderPlan) -> Result<bool> {
    let mut out = stdout();
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let sel =
        LadderSel { conn: a.conn, filter: a.filter.as_ref(), expand: a.expand, max: a.max, max_conns: a.max_conns };
    let (drawn, conns) = draw_ladders(&mut cap, &sel, a.style, &mut out, &mut problems)?;
    out.flush()?;
    if drawn == 0 {
        match a.conn {
            Some(c) => eprintln!("pktlab: {}: no connection {c} (it has {conns}: see `pktlab conns`)", a.file),
            None => eprintln!("pktlab: {}: no TCP connection or UDP exchange to draw", a.file),
        }
        return Ok(false);
    }
    Ok(problems.ok)
}

/// Which connections a ladder run draws.
pub(super) struct LadderSel<'f> {
    pub(super) conn: Option<u32>,
    pub(super) filter: Option<&'f Filter>,
    pub(super) expand: bool,
    pub(super) max: usize,
    pub(super) max_conns: u64,
}

/// Draws the selected connections of `cap`; returns how many were drawn and how many
/// connections the capture has.
pub(super) fn draw_ladders(
    cap: &mut CaptureFile,
    sel: &LadderSel<'_>,
    style: crate::render::ladder::Style,
    out: &mut impl Write,
    problems: &mut Problems,
) -> Result<(usize, u32)> {
    use crate::render::ladder::Ladder;
    let mut ladders: rustc_hash::FxHashMap<u32, Ladder> = Default::default();
    let mut more = false;
    let conns = each_tracked(cap, sel.max_conns, problems, out, |frame, p, seen, header, re| {
        let Some(id) = seen.id else { return };
        if sel.conn.is_some_and(|c| c != id) || !seen.counted {
            return;
        }
        if sel.filter.is_some_and(|f| !f.matches(frame, p, &seen.ctx)) {
            return;
        }
        if !ladders.contains_key(&id) {
            if ladders.len() >= sel.max {
                more = true;
                return;
            }
            let Some(l) = Ladder::new(seen, header, re, p, frame.ts.0, sel.expand) else { return };
            ladders.insert(id, l);
        }
        if let Some(l) = ladders.get_mut(&id) {
            l.push(frame.number, frame.ts.0, seen, header, re, p, style.absolute);
        }
    })?;
    let mut all: Vec<Ladder> = ladders.into_values().collect();
    all.sort_by_key(|l| l.id);
    for (i, l) in all.iter_mut().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        l.finish();
        l.write(out, style)?;
    }
    if more {
        writeln!(
            out,
            "\n(only the first {} connections are drawn: pick one with --conn N, see `pktlab conns`)",
            sel.max
        )?;
    }
    Ok((all.len(), conns))
}

/// Reads `cap` once, following connection `conn`: `sink` gets every event with the
/// connection's peers. Returns the follower (counters, peers) and how many
/// connections the capture has.
pub(super) fn follow_conn(
    cap: &mut CaptureFile,
    conn: u32,
    max_conns: u64,
    limits: crate::analysis::reassembly::Limits,
    problems: &mut Problems,
    out: &mut impl Write,
    sink: &mut impl FnMut(
        &crate::analysis::follow::Peers,
        crate::analysis::follow::Dir,
        crate::analysis::reassembly::Event<'_>,
    ),
) -> Result<(crate::analysis::follow::Follow, u32)> {
    use crate::analysis::follow::Follow;
    let mut follow = Follow::new(conn, limits);
    let conns = each_tracked(cap, max_conns, problems, out, |frame, p, seen, header, re| {
        if seen.id != Some(conn) {
            // A fragment of a datagram the connection may get once it is whole.
            if p.fragmented {
                follow.hold(frame.number, p);
            }
            return;
        }
        // Known from the connection's first frame on: copied, since `follow` is busy.
        let Some(peers) = follow.peers_of(seen, header, p, re) else { return };
        follow.push(frame.number, frame.ts.0, seen, header, p, &mut |d, e| sink(&peers, d, e));
    })?;
    if let Some(peers) = follow.peers().copied() {
        follow.finish(&mut |d, e| sink(&peers, d, e));
    }
    Ok((follow, conns))
}

/// Each frame of `cap` that belongs to a connection, decoded and tracked (a tracker of
/// `max_conns` without summaries), with what the tracker said of it (the connection's
/// id) and which transport header that was about; and each IP fragment, whose id is
/// `None` until one completes its datagram. A frame in a UDP tunnel comes twice, first
/// as the tunnel's (a conversation of its own in `conns`, numbered first), then as
/// what it carries. Returns how many connections the capture has.
pub(super) fn each_tracked(
    cap: &mut CaptureFile,
    max_conns: u64,
    problems: &mut Problems,
    out: &mut impl Write,
    mut f: impl FnMut(
        &crate::source::Frame<'_>,
        &decode::Packet<'_>,
        &crate::analysis::conn::Seen,
        Header,
        Option<&crate::analysis::conn::Reassembled>,
    ),
) -> Result<u32> {
    let mut tracker = tracker(max_conns as usize, false);
    let mut conns = 0u32;
    each_frame(cap, problems, out, |frame| {
        let mut p = decode::Packet::undecoded(frame.link, frame.data, frame.orig_len);
        p.decode();
        let mut seen = tracker.observe(frame.number, frame.ts.0, frame.orig_len, &p);
        // A filter on `udp.stream` sees the tunnels' streams too, as `read -Y` does.
        super::complete(&tracker, frame.number, &mut seen);
        for (t, header, re) in tracker.tunnels(frame.number) {
            if let Some(id) = t.id {
                conns = conns.max(id + 1);
                f(frame, &p, t, header, re);
            }
        }
        if let Some(id) = seen.id {
            conns = conns.max(id + 1);
        }
        // Fragments belong to no connection until the one that completes a datagram,
        // but a follower needs their bytes.
        if seen.id.is_some() || p.fragmented {
            f(frame, &p, &seen, Header::Conn, tracker.reassembled(frame.number));
        }
    })?;
    Ok(conns)
}

/// Each frame of `cap` in turn; a read error ends the run and is reported as a problem
/// (the frames before it were handed on).
pub(super) fn each_frame(
    cap: &mut CaptureFile,
    problems: &mut Problems,
    out: &mut impl Write,
    mut f: impl FnMut(&crate::source::Frame<'_>),
) -> Result<()> {
    loop {
        match cap.next_frame() {
            Ok(Some(frame)) => f(&frame),
            Ok(None) => return Ok(()),
            Err(e) => return problems.file_error(out, &e),
        }
    }
}

pub(super) fn no_conn(file: &str, conn: u32, conns: u32) {
    eprintln!("pktlab: {file}: no connection {conn} (it has {conns}: see `pktlab conns {file}`)");
}

pub(super) fn stream_cmd(a: StreamPlan) -> Result<bool> {
    use crate::analysis::follow::Dir;
    use crate::render::stream::{As, Printer};
    let how = a.how;
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let mut printer = Printer::new(stdout(), how, a.dirs, a.ascii);
    // The printer writes stdout itself: nothing of ours to flush before an error.
    let (follow, conns) =
        follow_conn(&mut cap, a.conn, a.max_conns, a.limits, &mut problems, &mut io::sink(), &mut |peers, d, e| {
            printer.event(a.conn, peers, d, &e)
        })?;
    let Some(peers) = follow.peers().copied() else {
        no_conn(&a.file, a.conn, conns);
        return Ok(false);
    };
    let udp = peers.proto == crate::analysis::conn::Proto::Udp;
    let counters = (!udp).then(|| [follow.counters(Dir::ToServer), follow.counters(Dir::ToClient)]);
    let missing = printer.missing();
    printer.finish(counters, udp)?;
    if how == As::Raw && missing > 0 {
        eprintln!(
            "pktlab: {}: {missing} bytes of this direction are missing from the capture: the output skips them",
            a.file
        );
        return Ok(false);
    }
    Ok(problems.ok)
}

pub(super) fn segments_cmd(a: SegmentsPlan) -> Result<bool> {
    let mut problems = Problems { ok: true };
    let mut cap = CaptureFile::open_scan(&a.file)?;
    let mut out = stdout();
    let view = a.view;
    let found = segments_view(&mut cap, &view, &mut out, &mut problems)?;
    out.flush()?;
    if let Err(conns) = found {
        no_conn(&a.file, view.conn, conns);
        return Ok(false);
    }
    Ok(problems.ok)
}

/// What a sticky-packet view shows.
pub(super) struct SegmentsView {
    pub(super) conn: u32,
    pub(super) framing: crate::analysis::framing::Spec,
    pub(super) dirs: [bool; 2],
    pub(super) limits: crate::analysis::reassembly::Limits,
    pub(super) max_conns: u64,
    /// Text in this style, or JSON lines.
    pub(super) style: Option<crate::render::segments::Style>,
    /// Keep every record of a long stream (memory grows with it).
    pub(super) expand: bool,
}

/// Writes the sticky-packet view of one connection of `cap`; `Err(n)` when the capture
/// has no such connection (it has `n`).
pub(super) fn segments_view(
    cap: &mut CaptureFile,
    v: &SegmentsView,
    out: &mut impl Write,
    problems: &mut Problems,
) -> Result<std::result::Result<(), u32>> {
    use crate::analysis::conn::Proto;
    use crate::analysis::follow::Dir;
    use crate::analysis::reassembly::{Event, Sink};
    use crate::analysis::segments::Model;
    let model = || if v.expand { Model::unbounded(v.framing.clone()) } else { Model::new(v.framing.clone()) };
    let mut models = [model(), model()];
    let (follow, conns) =
        follow_conn(cap, v.conn, v.max_conns, v.limits, problems, out, &mut |peers, d: Dir, e: Event<'_>| {
            let m = &mut models[d.index()];
            match e {
                Event::Data { offset, bytes, frame, ts, .. } if peers.proto == Proto::Udp => {
                    m.datagram(frame, ts, offset, bytes)
                }
                e if peers.proto == Proto::Tcp => m.event(e),
                _ => {}
            }
        })?;
    let Some(peers) = follow.peers().copied() else {
        return Ok(Err(conns));
    };
    if peers.proto == Proto::Tcp {
        for m in &mut models {
            m.finish();
        }
    }
    let list: Vec<(Dir, &Model)> =
        Dir::BOTH.iter().filter(|d| v.dirs[d.index()]).map(|&d| (d, &models[d.index()])).collect();
    match v.style {
        Some(style) => crate::render::segments::write_text(out, v.conn, &peers, &list, style)?,
        None => crate::render::segments::write_jsonl(out, v.conn, &peers, &list)?,
    }
    Ok(Ok(()))
}
