//! The tracker's retired records (see [`RecordStore`]) kept in an unnamed temporary
//! file, so that memory stays flat however many connections a capture holds: one
//! record per connection that ever finished would otherwise stay in memory to the end
//! (40 bytes, and twice that while its hash table grows).
//!
//! The records go in sorted runs, as a log-structured merge tree keeps them: each run
//! has in memory a Bloom filter (16 to 32 bits a record: a key the run lacks costs a
//! read at most six times in ten thousand) and the first key of each 4 KB block (0.16
//! bytes a record). A lookup reads at most one block per run that may hold the key, newest
//! run first. Runs merge as a binary counter does (a run merges with the one before it
//! once as large), so there are at most log2(records / 4096) + 1 of them and each
//! record is rewritten that many times; merged-away space is handed back to the file
//! system. A record taken out is remembered as gone until its key comes back.
//!
//! The file cannot be created, written or read (a full disk): the store keeps what it
//! still has in memory, and a record lost to a failed read is one whose connection's
//! later frames get new numbers. Either way the run goes on, and the first failure is
//! kept ([`FileRecords::failure`]) and said on stderr when the store is dropped, at the
//! end of the run: results that may differ from a run with a working disk never pass
//! silently.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

use rustc_hash::{FxHashMap, FxHashSet};

use super::SlotReader;
use crate::analysis::conn::{RecordStore, RECORD};

type Key = [u64; 2];

/// Bytes per record in the file: the key, then the record.
const SLOT: usize = 16 + RECORD;
/// Records per block: a lookup reads one block.
const BLOCK: usize = 4096 / SLOT;
/// Records per read while merging.
const CHUNK: usize = BLOCK * 16;

#[derive(Default)]
pub struct FileRecords {
    file: Option<File>,
    /// The file could not be created or written: records stay in `mem`.
    failed: bool,
    mem: FxHashMap<Key, [u8; RECORD]>,
    end: u64,
    /// Oldest first.
    runs: Vec<Run>,
    /// Keys taken out: no run holds a valid record for them.
    gone: FxHashSet<Key>,
    block: Vec<u8>,
    /// The first failure of the file, and what it costs.
    error: Option<String>,
}

struct Run {
    at: u64,
    len: usize,
    bloom: Bloom,
    /// First key of each block.
    fences: Vec<Key>,
}

impl RecordStore for FileRecords {
    fn put(&mut self, records: &[(Key, [u8; RECORD])]) {
        for (k, _) in records {
            self.gone.remove(k);
        }
        if !self.failed {
            match self.write_run(records) {
                Ok(()) => {
                    self.merge_runs();
                    return;
                }
                Err(e) => self.fail(&e, "finished connections are kept in memory from then on"),
            }
        }
        self.failed = true;
        self.mem.extend(records.iter().copied());
    }

    fn take(&mut self, key: &Key) -> Option<[u8; RECORD]> {
        if let Some(r) = self.mem.remove(key) {
            return Some(r);
        }
        if self.runs.is_empty() || self.gone.contains(key) {
            return None;
        }
        let file = self.file.as_ref()?;
        for run in self.runs.iter().rev() {
            if !run.bloom.may_hold(key) {
                continue;
            }
            let i = run.fences.partition_point(|f| f <= key);
            if i == 0 {
                continue;
            }
            let first = (i - 1) * BLOCK;
            let n = BLOCK.min(run.len - first);
            self.block.resize(n * SLOT, 0);
            if let Err(e) = file.read_exact_at(&mut self.block, run.at + (first * SLOT) as u64) {
                self.fail(&e, "a connection seen again after it finished may have been counted as a new one");
                return None;
            }
            if let Some(j) = find(&self.block, key) {
                let mut r = [0u8; RECORD];
                r.copy_from_slice(&self.block[j * SLOT + 16..(j + 1) * SLOT]);
                self.gone.insert(*key);
                return Some(r);
            }
        }
        None
    }

    fn clear(&mut self) {
        self.mem.clear();
        self.runs.clear();
        self.gone.clear();
        self.end = 0;
        if let Some(f) = &self.file {
            if let Err(e) = f.set_len(0) {
                self.file = None;
                self.fail(&e, "its space is not handed back before the end of the run");
            }
        }
    }
}

impl FileRecords {
    /// The first failure of the temporary file, with what it cost; `None` while it works.
    pub fn failure(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn fail(&mut self, e: &std::io::Error, cost: &str) {
        if self.error.is_none() {
            self.error = Some(format!("the temporary file for finished connections failed ({e}): {cost}"));
        }
    }

    /// A store over `file` (tests: a file that refuses writes or reads).
    #[cfg(test)]
    fn over(file: File) -> FileRecords {
        let mut s = FileRecords::default();
        s.file = Some(file);
        s
    }
}

impl Drop for FileRecords {
    fn drop(&mut self) {
        if let Some(e) = &self.error {
            eprintln!("pktlab: warning: {e}");
        }
    }
}

/// The slot holding `key` in a block of sorted slots.
fn find(block: &[u8], key: &Key) -> Option<usize> {
    let (mut lo, mut hi) = (0, block.len() / SLOT);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match key_of(&block[mid * SLOT..]).cmp(key) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

fn key_of(slot: &[u8]) -> Key {
    let w = |i: usize| u64::from_le_bytes(slot[i..i + 8].try_into().unwrap_or([0; 8]));
    [w(0), w(8)]
}

/// Encodes records into slots and builds the run's filter and fences as they go out.
struct RunWriter {
    at: u64,
    len: usize,
    bloom: Bloom,
    fences: Vec<Key>,
    buf: Vec<u8>,
}

impl RunWriter {
    fn new(at: u64, max: usize) -> RunWriter {
        RunWriter { at, len: 0, bloom: Bloom::new(max), fences: Vec::new(), buf: Vec::with_capacity(CHUNK * SLOT) }
    }

    fn push(&mut self, file: &File, key: Key, rec: &[u8]) -> std::io::Result<()> {
        if self.len.is_multiple_of(BLOCK) {
            self.fences.push(key);
        }
        self.bloom.add(&key);
        self.buf.extend_from_slice(&key[0].to_le_bytes());
        self.buf.extend_from_slice(&key[1].to_le_bytes());
        self.buf.extend_from_slice(rec);
        self.len += 1;
        if self.buf.len() >= CHUNK * SLOT {
            self.flush(file)?;
        }
        Ok(())
    }

    fn flush(&mut self, file: &File) -> std::io::Result<()> {
        let written = (self.len * SLOT - self.buf.len()) as u64;
        file.write_all_at(&self.buf, self.at + written)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self, file: &File) -> std::io::Result<Run> {
        self.flush(file)?;
        Ok(Run { at: self.at, len: self.len, bloom: self.bloom, fences: self.fences })
    }
}

impl FileRecords {
    fn write_run(&mut self, records: &[(Key, [u8; RECORD])]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile()?);
        }
        let Some(file) = self.file.as_ref() else { return Ok(()) };
        let mut w = RunWriter::new(self.end, records.len());
        for (k, r) in records {
            w.push(file, *k, r)?;
        }
        let run = w.finish(file)?;
        self.end += (run.len * SLOT) as u64;
        self.runs.push(run);
        Ok(())
    }

    /// Merges the newest run into the one before it while that one is no larger.
    fn merge_runs(&mut self) {
        while self.runs.len() >= 2 && self.runs[self.runs.len() - 2].len <= self.runs[self.runs.len() - 1].len {
            let newer = self.runs.pop();
            let older = self.runs.pop();
            let (Some(newer), Some(older)) = (newer, older) else { return };
            match self.merge(&older, &newer) {
                Ok(run) => {
                    self.punch(&older);
                    self.punch(&newer);
                    self.runs.push(run);
                }
                Err(e) => {
                    self.fail(&e, "its runs stay unmerged (lookups read more)");
                    // Both runs are still whole in the file: keep them unmerged.
                    self.runs.push(older);
                    self.runs.push(newer);
                    return;
                }
            }
        }
    }

    /// One run from two, the newer record winning a key both hold; records of keys
    /// taken out are left behind.
    fn merge(&mut self, older: &Run, newer: &Run) -> std::io::Result<Run> {
        let Some(file) = self.file.as_ref() else { return Err(std::io::Error::other("no file")) };
        let mut w = RunWriter::new(self.end, older.len + newer.len);
        let reader = |r: &Run| SlotReader::new(r.at, r.len, SLOT, CHUNK);
        let (mut a, mut b) = (reader(older), reader(newer));
        loop {
            let ka = a.peek(file)?.map(key_of);
            let kb = b.peek(file)?.map(key_of);
            let (from_a, skip_a) = match (ka, kb) {
                (None, None) => break,
                (Some(_), None) => (true, false),
                (None, Some(_)) => (false, false),
                (Some(x), Some(y)) => (x < y, x == y),
            };
            if skip_a {
                a.advance();
            }
            let (r, key) = if from_a { (&mut a, ka) } else { (&mut b, kb) };
            let Some(key) = key else { break };
            if !self.gone.contains(&key) {
                let mut rec = [0u8; RECORD];
                if let Some(s) = r.peek(file)? {
                    rec.copy_from_slice(&s[16..]);
                }
                w.push(file, key, &rec)?;
            }
            r.advance();
        }
        let run = w.finish(file)?;
        self.end += (run.len * SLOT) as u64;
        Ok(run)
    }

    /// Hands a merged-away run's disk space back (the file keeps its length).
    fn punch(&self, run: &Run) {
        let Some(file) = &self.file else { return };
        // SAFETY: fallocate on a file descriptor we own, over a range of it; failure
        // (a file system without hole punching) only leaves the space in use.
        unsafe {
            libc::fallocate(
                file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                run.at as libc::off_t,
                (run.len * SLOT) as libc::off_t,
            );
        }
    }
}

/// A Bloom filter over keys: no false negatives.
struct Bloom {
    words: Vec<u64>,
    mask: u64,
}

const PROBES: u32 = 8;

impl Bloom {
    fn new(n: usize) -> Bloom {
        let bits = (n.max(1) * 16).next_power_of_two().max(64);
        Bloom { words: vec![0; bits / 64], mask: bits as u64 - 1 }
    }

    fn hashes(key: &Key) -> (u64, u64) {
        // Two independent 64-bit mixes (splitmix64's finalizer) of the key's words.
        let mix = |mut z: u64| {
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let h = mix(key[0] ^ mix(key[1].wrapping_add(0x9e37_79b9_7f4a_7c15)));
        (h, mix(h) | 1)
    }

    fn add(&mut self, key: &Key) {
        let (h1, h2) = Self::hashes(key);
        for i in 0..u64::from(PROBES) {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) & self.mask;
            self.words[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    fn may_hold(&self, key: &Key) -> bool {
        let (h1, h2) = Self::hashes(key);
        (0..u64::from(PROBES)).all(|i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) & self.mask;
            self.words[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rec(v: u8) -> [u8; RECORD] {
        [v; RECORD]
    }

    /// Puts `keys` (any order, no key held twice) as the tracker does: sorted batches.
    fn put(s: &mut FileRecords, keys: &[(Key, u8)]) {
        let mut v: Vec<(Key, [u8; RECORD])> = keys.iter().map(|(k, r)| (*k, rec(*r))).collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        s.put(&v);
    }

    #[test]
    fn a_file_that_refuses_writes_keeps_records_in_memory_and_says_so() {
        let ro = File::open("/dev/null").unwrap();
        let mut s = FileRecords::over(ro);
        assert!(s.failure().is_none());
        put(&mut s, &[([1, 2], 7), ([3, 4], 8)]);
        let why = s.failure().expect("the failed write is kept").to_string();
        assert!(why.contains("kept in memory"), "{why}");
        assert_eq!(s.take(&[1, 2]), Some(rec(7)));
        assert_eq!(s.take(&[3, 4]), Some(rec(8)));
        assert_eq!(s.take(&[3, 4]), None);
    }

    #[test]
    fn runs_merge_as_a_binary_counter_and_every_record_comes_back_once() {
        let mut s = FileRecords::default();
        let key = |i: u64| [i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i];
        for batch in 0..7u64 {
            let keys: Vec<(Key, u8)> = (0..1000).map(|i| (key(batch * 1000 + i), batch as u8)).collect();
            put(&mut s, &keys);
        }
        // 7 batches of 1,000: runs of 4,000, 2,000 and 1,000 records.
        assert_eq!(s.runs.iter().map(|r| r.len).collect::<Vec<_>>(), [4000, 2000, 1000]);
        for i in 0..7000 {
            assert_eq!(s.take(&key(i)), Some(rec((i / 1000) as u8)), "{i}");
            assert_eq!(s.take(&key(i)), None, "{i} twice");
        }
        assert_eq!(s.take(&key(7000)), None);
    }

    #[test]
    fn clear_forgets_everything() {
        let mut s = FileRecords::default();
        put(&mut s, &[([1, 2], 1), ([3, 4], 2)]);
        s.clear();
        assert_eq!(s.take(&[1, 2]), None);
        put(&mut s, &[([3, 4], 3)]);
        assert_eq!(s.take(&[3, 4]), Some(rec(3)));
    }

    #[test]
    fn bloom_filter_has_no_false_negatives_and_few_false_positives() {
        let mut b = Bloom::new(4096);
        for i in 0..4096u64 {
            b.add(&[i, !i]);
        }
        assert!((0..4096u64).all(|i| b.may_hold(&[i, !i])));
        let false_pos = (0..100_000u64).filter(|i| b.may_hold(&[i + 1_000_000, *i])).count();
        assert!(false_pos < 100, "{false_pos} in 100,000");
    }

    proptest! {
        /// Against a map: puts of keys not held (new ones, or ones taken before),
        /// takes of any key, clears.
        #[test]
        fn behaves_as_a_map(ops in proptest::collection::vec((0u8..4, proptest::collection::vec(0u64..300, 1..40)), 1..60)) {
            let mut s = FileRecords::default();
            let mut model: FxHashMap<Key, [u8; RECORD]> = FxHashMap::default();
            for (n, (op, keys)) in ops.into_iter().enumerate() {
                match op {
                    0 | 1 => {
                        let mut batch: Vec<(Key, u8)> = Vec::new();
                        for k in keys {
                            let key = [k % 7, k];
                            if !model.contains_key(&key) && !batch.iter().any(|(b, _)| *b == key) {
                                batch.push((key, n as u8));
                            }
                        }
                        for (k, r) in &batch {
                            model.insert(*k, rec(*r));
                        }
                        put(&mut s, &batch);
                    }
                    2 => {
                        for k in keys {
                            let key = [k % 7, k];
                            prop_assert_eq!(s.take(&key), model.remove(&key));
                        }
                    }
                    _ => {
                        if keys[0] < 20 {
                            s.clear();
                            model.clear();
                        }
                    }
                }
            }
            let mut left: Vec<Key> = model.keys().copied().collect();
            left.sort_unstable();
            for k in left {
                prop_assert_eq!(s.take(&k), model.remove(&k));
            }
        }
    }
}
