//! Connection rows for `conns`, kept without holding them all in memory: a capture
//! of millions of connections would otherwise need a row (about 0.35 KB) for each
//! until the end. Past a few thousand, rows go to an unnamed temporary file (removed
//! by the system when pktlab exits, however it exits; without one, they stay in
//! memory), with an index entry of 24 bytes
//! each, which orders and merges them as [`order`](crate::analysis::conn::order) does
//! in memory. Past 65,536 entries the index goes to a second file too, in sorted runs
//! merged when the rows are read: memory then stays flat however many rows there are.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;

use super::SlotReader;
use crate::analysis::conn::{merge_key, order, Summary};

/// Rows held in memory before they go to the file.
pub const IN_MEMORY: usize = 4096;

/// Index entries held in memory before a sorted run of them goes to the index file.
pub const INDEX_RUN: usize = 1 << 16;

/// Where one row lies in the file, with the keys that order it.
#[derive(Clone, Copy)]
struct Entry {
    id: u32,
    len: u32,
    first_frame: u64,
    off: u64,
}

impl Entry {
    fn merge_key(&self) -> (u32, u64) {
        (self.id, self.first_frame)
    }
    fn order_key(&self) -> (u64, u32) {
        (self.first_frame, self.id)
    }

    const SIZE: usize = 24;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.first_frame.to_le_bytes());
        out.extend_from_slice(&self.off.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Entry {
        let w4 = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]));
        let w8 = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        Entry { id: w4(0), len: w4(4), first_frame: w8(8), off: w8(16) }
    }
}

/// Sorted runs of index entries in a file of their own.
#[derive(Default)]
struct Runs {
    file: Option<File>,
    end: u64,
    buf: Vec<u8>,
}

/// Where a run lies: offset and entries.
type Run = (u64, usize);

impl Runs {
    /// Appends `entries` (sorted by the caller) as a run.
    fn write(&mut self, entries: &[Entry]) -> io::Result<Run> {
        let Some(file) = &self.file else { return Err(io::Error::other("no index file")) };
        let at = self.end;
        for chunk in entries.chunks(4096) {
            self.buf.clear();
            chunk.iter().for_each(|e| e.encode(&mut self.buf));
            file.write_all_at(&self.buf, self.end)?;
            self.end += self.buf.len() as u64;
        }
        Ok((at, entries.len()))
    }
}

/// Entries of several runs, in the order of `key`, read a few KB at a time per run.
struct Merge<K> {
    cursors: Vec<SlotReader>,
    heap: BinaryHeap<Reverse<(K, usize)>>,
    key: fn(&Entry) -> K,
}

impl<K: Ord + Copy> Merge<K> {
    fn new(file: &File, runs: &[Run], key: fn(&Entry) -> K) -> io::Result<Merge<K>> {
        let mut m = Merge { cursors: Vec::with_capacity(runs.len()), heap: BinaryHeap::new(), key };
        for (i, &(at, len)) in runs.iter().enumerate() {
            // 256 entries (6 KB) a read per run.
            let mut c = SlotReader::new(at, len, Entry::SIZE, 256);
            if let Some(e) = c.peek(file)?.map(Entry::decode) {
                m.heap.push(Reverse((key(&e), i)));
            }
            m.cursors.push(c);
        }
        Ok(m)
    }

    fn next(&mut self, file: &File) -> io::Result<Option<Entry>> {
        let Some(Reverse((_, i))) = self.heap.pop() else { return Ok(None) };
        // A run is in the heap only while its reader has a slot to give.
        let Some(c) = self.cursors.get_mut(i) else { return Ok(None) };
        let Some(e) = c.peek(file)?.map(Entry::decode) else { return Ok(None) };
        c.advance();
        if let Some(n) = c.peek(file)?.map(Entry::decode) {
            self.heap.push(Reverse(((self.key)(&n), i)));
        }
        Ok(Some(e))
    }
}

struct Spill {
    file: BufWriter<File>,
    end: u64,
    index: Vec<Entry>,
    buf: Vec<u8>,
    /// Where `index` goes, sorted by merge key, each time it holds `index_run` entries.
    runs: Runs,
    merge_runs: Vec<Run>,
}

impl Spill {
    fn put(&mut self, s: &Summary) -> io::Result<Entry> {
        self.buf.clear();
        let bytes = postcard::to_extend(s, std::mem::take(&mut self.buf)).map_err(io::Error::other)?;
        self.file.write_all(&bytes)?;
        let e = Entry { id: s.id, len: bytes.len() as u32, first_frame: s.first_frame, off: self.end };
        self.end += bytes.len() as u64;
        self.buf = bytes;
        Ok(e)
    }
}

/// Collects rows as connections finish; [`RowStore::finish`] orders them.
pub struct RowStore {
    mem: Vec<Summary>,
    limit: usize,
    index_run: usize,
    spill: Option<Spill>,
}

impl Default for RowStore {
    fn default() -> Self {
        RowStore::new(IN_MEMORY)
    }
}

impl RowStore {
    /// Spills to a file once more than `limit` rows are held.
    pub fn new(limit: usize) -> RowStore {
        RowStore::with_index_run(limit, INDEX_RUN)
    }

    /// [`RowStore::new`], the index going to a file in runs of `index_run` entries.
    fn with_index_run(limit: usize, index_run: usize) -> RowStore {
        RowStore { mem: Vec::new(), limit: limit.max(1), index_run: index_run.max(1), spill: None }
    }

    pub fn push(&mut self, s: Summary) -> io::Result<()> {
        self.mem.push(s);
        if self.mem.len() >= self.limit {
            self.spill_mem()?;
        }
        Ok(())
    }

    fn spill_mem(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            // No temporary file to be had (an unwritable TMPDIR): the rows stay in memory.
            let Ok(file) = tempfile::tempfile() else {
                self.limit = usize::MAX;
                return Ok(());
            };
            self.spill = Some(Spill {
                file: BufWriter::with_capacity(256 * 1024, file),
                end: 0,
                index: Vec::new(),
                buf: Vec::new(),
                runs: Runs::default(),
                merge_runs: Vec::new(),
            });
        }
        let Some(sp) = self.spill.as_mut() else { return Ok(()) };
        for s in self.mem.drain(..) {
            let e = sp.put(&s)?;
            sp.index.push(e);
            if sp.index.len() >= self.index_run {
                if sp.runs.file.is_none() {
                    match tempfile::tempfile() {
                        Ok(f) => sp.runs.file = Some(f),
                        // The index stays in memory, as the rows would without a file.
                        Err(_) => {
                            self.index_run = usize::MAX;
                            continue;
                        }
                    }
                }
                sp.index.sort_unstable_by_key(Entry::merge_key);
                let run = sp.runs.write(&sp.index)?;
                sp.merge_runs.push(run);
                sp.index.clear();
            }
        }
        Ok(())
    }

    /// All rows, one per connection, in tshark's order.
    pub fn finish(mut self) -> io::Result<Rows> {
        let Some(_) = self.spill else {
            return Ok(Rows::new(order(self.mem)));
        };
        self.spill_mem()?;
        let Some(mut sp) = self.spill.take() else { return Ok(Rows::new(Vec::new())) };
        sp.file.flush()?;
        if !sp.merge_runs.is_empty() {
            return Self::finish_runs(sp, self.index_run);
        }
        let mut index = std::mem::take(&mut sp.index);
        index.sort_unstable_by_key(Entry::merge_key);
        // A revived connection left more than one row: merge them into one new record.
        let mut merged: Vec<Entry> = Vec::with_capacity(index.len());
        let mut window = Window::new();
        let mut i = 0;
        while i < index.len() {
            let mut j = i + 1;
            while j < index.len() && index[j].id == index[i].id {
                j += 1;
            }
            if j - i == 1 {
                merged.push(index[i]);
            } else {
                // Appending below moves the end of the file: what the window holds stays valid.
                sp.file.flush()?;
                let file = sp.file.get_ref();
                let mut first = window.read(file, &index[i])?;
                for e in &index[i + 1..j] {
                    first.merge(&window.read(file, e)?);
                }
                debug_assert_eq!(merge_key(&first).0, index[i].id);
                merged.push(sp.put(&first)?);
            }
            i = j;
        }
        sp.file.flush()?;
        merged.sort_unstable_by_key(Entry::order_key);
        let file = sp.file.into_inner().map_err(|e| e.into_error())?;
        Ok(Rows { inner: RowsInner::File { file, index: merged }, window })
    }

    /// [`RowStore::finish`] with the index in runs: one pass merges the runs by
    /// connection (merging the rows of a revived one) into runs ordered for the table,
    /// which [`Rows::each`] merges in turn.
    fn finish_runs(mut sp: Spill, index_run: usize) -> io::Result<Rows> {
        if !sp.index.is_empty() {
            sp.index.sort_unstable_by_key(Entry::merge_key);
            let run = sp.runs.write(&sp.index)?;
            sp.merge_runs.push(run);
        }
        sp.index = Vec::new();
        let Some(index_file) = sp.runs.file.take() else { return Err(io::Error::other("no index file")) };
        let mut merge = Merge::new(&index_file, &sp.merge_runs, Entry::merge_key)?;
        let mut window = Window::new();
        let mut order_runs = Runs { file: Some(index_file.try_clone()?), end: sp.runs.end, buf: Vec::new() };
        let mut order: Vec<Run> = Vec::new();
        let mut pending: Vec<Entry> = Vec::new();
        let mut group: Vec<Entry> = Vec::new();
        let mut len = 0;
        loop {
            let next = merge.next(&index_file)?;
            if group.first().is_some_and(|g| next.is_none_or(|n| n.id != g.id)) {
                let e = if group.len() == 1 {
                    group[0]
                } else {
                    sp.file.flush()?;
                    let file = sp.file.get_ref();
                    let mut first = window.read(file, &group[0])?;
                    for e in &group[1..] {
                        first.merge(&window.read(file, e)?);
                    }
                    sp.put(&first)?
                };
                group.clear();
                pending.push(e);
                len += 1;
                if pending.len() >= index_run {
                    pending.sort_unstable_by_key(Entry::order_key);
                    order.push(order_runs.write(&pending)?);
                    pending.clear();
                }
            }
            match next {
                Some(n) => group.push(n),
                None => break,
            }
        }
        if !pending.is_empty() {
            pending.sort_unstable_by_key(Entry::order_key);
            order.push(order_runs.write(&pending)?);
        }
        sp.file.flush()?;
        let file = sp.file.into_inner().map_err(|e| e.into_error())?;
        Ok(Rows { inner: RowsInner::Runs { file, index: index_file, runs: order, len }, window })
    }
}

/// A window of the file: rows come back in nearly the order they were written (first
/// frame, against leaving the table), so most are read from memory, not by a call.
struct Window {
    /// Allocated once; `valid` bytes of it, from file offset `at`, are the file's.
    bytes: Vec<u8>,
    valid: usize,
    at: u64,
}

impl Window {
    const SIZE: usize = 1 << 20;

    fn new() -> Window {
        Window { bytes: Vec::new(), valid: 0, at: 0 }
    }

    fn read(&mut self, file: &File, e: &Entry) -> io::Result<Summary> {
        let (start, len) = (e.off, e.len as usize);
        let inside = start >= self.at && start + len as u64 <= self.at + self.valid as u64;
        if !inside {
            if self.bytes.len() < Self::SIZE.max(len) {
                self.bytes.resize(Self::SIZE.max(len), 0);
            }
            // Rows written near this one are likely read next, on either side of it.
            let from = start.saturating_sub(Self::SIZE as u64 / 4);
            let need = (start - from) as usize + len;
            self.valid = 0;
            while self.valid < need {
                match file.read_at(&mut self.bytes[self.valid..], from + self.valid as u64)? {
                    0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the rows file is cut short")),
                    n => self.valid += n,
                }
            }
            self.at = from;
        }
        let from = (start - self.at) as usize;
        postcard::from_bytes(&self.bytes[from..from + len]).map_err(io::Error::other)
    }
}

enum RowsInner {
    Mem(Vec<Summary>),
    File {
        file: File,
        index: Vec<Entry>,
    },
    /// The index in runs sorted by order key, in their own file.
    Runs {
        file: File,
        index: File,
        runs: Vec<Run>,
        len: usize,
    },
}

/// Ordered rows, in memory or in the file; they can be walked more than once (the
/// table measures its columns, then writes).
pub struct Rows {
    inner: RowsInner,
    window: Window,
}

impl Rows {
    pub fn new(rows: Vec<Summary>) -> Rows {
        Rows { inner: RowsInner::Mem(rows), window: Window::new() }
    }

    pub fn len(&self) -> usize {
        match &self.inner {
            RowsInner::Mem(v) => v.len(),
            RowsInner::File { index, .. } => index.len(),
            RowsInner::Runs { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with each row, in order.
    pub fn each(&mut self, mut f: impl FnMut(&Summary) -> io::Result<()>) -> io::Result<()> {
        match &self.inner {
            RowsInner::Mem(v) => v.iter().try_for_each(f),
            RowsInner::File { file, index } => {
                for e in index {
                    f(&self.window.read(file, e)?)?;
                }
                Ok(())
            }
            RowsInner::Runs { file, index, runs, .. } => {
                let mut m = Merge::new(index, runs, Entry::order_key)?;
                while let Some(e) = m.next(index)? {
                    f(&self.window.read(file, &e)?)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::conn::Tracker;
    use crate::decode;
    use crate::source::CaptureFile;

    fn summaries(path: &str) -> Vec<Summary> {
        let mut cap = CaptureFile::open(path).unwrap();
        let mut t = Tracker::new(1000, true);
        while let Some(f) = cap.next_frame().unwrap() {
            let p = decode::decode(f.link, f.data, f.orig_len);
            t.observe(f.number, f.ts.0, f.orig_len, &p);
        }
        t.close()
    }

    fn all(rows: &mut Rows) -> Vec<String> {
        let mut v = Vec::new();
        rows.each(|s| {
            v.push(format!("{s:?}"));
            Ok(())
        })
        .unwrap();
        v
    }

    /// Spilled or not, the same rows in the same order, merged the same way, and
    /// walkable twice.
    #[test]
    fn spilled_rows_read_back_as_ordered_in_memory() {
        for cap in ["captures/gen-mix-300.pcap", "captures/tcp-port-reuse.pcap", "captures/gen-scan.pcap"] {
            let rows = summaries(cap);
            assert!(rows.len() > 1, "{cap}");
            let want: Vec<String> = order(rows.clone()).iter().map(|s| format!("{s:?}")).collect();
            for (limit, index_run) in
                [(1, INDEX_RUN), (2, INDEX_RUN), (3, INDEX_RUN), (IN_MEMORY, INDEX_RUN), (1, 1), (2, 3), (1, 7)]
            {
                let mut store = RowStore::with_index_run(limit, index_run);
                // Pushed in reverse: the store must not rely on arrival order.
                for s in rows.iter().rev() {
                    store.push(s.clone()).unwrap();
                }
                let mut got = store.finish().unwrap();
                assert_eq!(got.len(), want.len(), "{cap} limit {limit} index run {index_run}");
                assert_eq!(all(&mut got), want, "{cap} limit {limit} index run {index_run}");
                assert_eq!(all(&mut got), want, "{cap} limit {limit} index run {index_run}, second walk");
            }
        }
    }

    /// A revived connection's two rows, spilled apart, come back as one.
    #[test]
    fn rows_of_one_connection_merge_across_the_file() {
        let rows = summaries("captures/gen-mix-300.pcap");
        let mut a = rows[0].clone();
        let mut b = rows[0].clone();
        a.first_frame = 1;
        a.last_frame = 5;
        b.first_frame = 9;
        b.last_frame = 12;
        let mut want = a.clone();
        want.merge(&b);
        for index_run in [INDEX_RUN, 1] {
            let mut store = RowStore::with_index_run(1, index_run);
            store.push(b.clone()).unwrap();
            store.push(a.clone()).unwrap();
            let mut got = store.finish().unwrap();
            assert_eq!(all(&mut got), vec![format!("{want:?}")], "index run {index_run}");
        }
        assert_eq!(want.frames_ab, 2 * rows[0].frames_ab);
        assert_eq!(want.last_frame, 12);
    }
}
