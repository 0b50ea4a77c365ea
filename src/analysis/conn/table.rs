//! What the table keeps of connections that left it: one small [`Retired`] record per
//! key, packed for IPv4, so their later frames get the same numbers; past
//! [`SPILL_AT`] records they go to a [`RecordStore`].

use rustc_hash::FxHashMap;

use super::state::{Conn, Scale};
use super::Proto;
use crate::analysis::flow::FlowKey;

/// A table key: TCP and UDP between the same two ports are different conversations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) flow: FlowKey,
    pub(super) proto: Proto,
}

/// What is kept of a connection that left the table: enough to give its later frames
/// the same numbers. 24 bytes (ISNs without `Option`'s padding: their presence is in
/// `bits`), 40 with an IPv4 key, against ~0.6 KB for the full state. One is kept per
/// connection that ever finished: past a few thousand they go to a [`RecordStore`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Retired {
    pub(super) id: u32,
    pub(super) stream: u32,
    pub(super) base: [u32; 2],
    pub(super) scale: [Scale; 2],
    /// `A_IS_LO`, `CLIENT_IS_LO`, and `HAS_BASE << side`.
    pub(super) bits: u8,
}

const _: () = assert!(std::mem::size_of::<Retired>() == 24);

impl Retired {
    pub(super) const A_IS_LO: u8 = 1;
    pub(super) const CLIENT_IS_LO: u8 = 2;
    pub(super) const HAS_BASE: u8 = 4;

    pub(super) fn of(c: &Conn) -> Retired {
        let has = |b: Option<u32>, side: u8| if b.is_some() { Self::HAS_BASE << side } else { 0 };
        Retired {
            id: c.id,
            stream: c.stream,
            base: [c.lo.base.unwrap_or(0), c.hi.base.unwrap_or(0)],
            scale: [c.lo.scale, c.hi.scale],
            bits: (u8::from(c.a_is_lo) * Self::A_IS_LO)
                | (u8::from(c.client_is_lo) * Self::CLIENT_IS_LO)
                | has(c.lo.base, 0)
                | has(c.hi.base, 1),
        }
    }

    /// The ISN of side 0 (lo) or 1 (hi), when its SYN was seen.
    pub(super) fn base(&self, side: usize) -> Option<u32> {
        (self.bits & (Self::HAS_BASE << side) != 0).then_some(self.base[side])
    }

    /// The record as a [`RecordStore`] keeps it.
    pub(super) fn to_bytes(self) -> [u8; RECORD] {
        let mut b = [0u8; RECORD];
        b[0..4].copy_from_slice(&self.id.to_le_bytes());
        b[4..8].copy_from_slice(&self.stream.to_le_bytes());
        b[8..12].copy_from_slice(&self.base[0].to_le_bytes());
        b[12..16].copy_from_slice(&self.base[1].to_le_bytes());
        b[16] = self.scale[0].to_byte();
        b[17] = self.scale[1].to_byte();
        b[18] = self.bits;
        b
    }

    pub(super) fn from_bytes(b: &[u8; RECORD]) -> Retired {
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Retired {
            id: w(0),
            stream: w(4),
            base: [w(8), w(12)],
            scale: [Scale::from_byte(b[16]), Scale::from_byte(b[17])],
            bits: b[18],
        }
    }
}

/// Bytes of a retired record in a [`RecordStore`].
pub const RECORD: usize = 24;

/// Where the tracker's retired IPv4 records go once it holds [`SPILL_AT`] of them: a
/// capture of millions of connections would otherwise keep one in memory for each
/// (see [`Retired`]). Keys are packed 4-tuples with the protocol, records opaque.
/// The tracker never puts a key the store holds a record for.
pub trait RecordStore: Send {
    /// Takes records, sorted by key.
    fn put(&mut self, records: &[([u64; 2], [u8; RECORD])]);
    /// Removes and returns the record under `key`.
    fn take(&mut self, key: &[u64; 2]) -> Option<[u8; RECORD]>;
    fn clear(&mut self);
}

/// Retired IPv4 records held in memory before they go to the store, when there is one.
pub const SPILL_AT: usize = 4096;

impl Scale {
    pub(super) fn to_byte(self) -> u8 {
        match self {
            Scale::Unknown => 0,
            Scale::None => 1,
            Scale::Shift(s) => 2 + s,
        }
    }

    pub(super) fn from_byte(b: u8) -> Scale {
        match b {
            0 => Scale::Unknown,
            1 => Scale::None,
            s => Scale::Shift(s - 2),
        }
    }
}

/// Retired records by key. IPv4 keys, nearly all of them, are packed into 16 bytes
/// (addresses, ports and protocol: exact, no hashing), against 38 for a [`Key`]; past
/// [`SPILL_AT`] they go to the store, when the tracker was given one. IPv6 keys stay
/// in memory.
#[derive(Default)]
pub(super) struct RetiredTable {
    pub(super) v4: FxHashMap<[u64; 2], Retired>,
    pub(super) other: FxHashMap<Key, Retired>,
    pub(super) store: Option<Box<dyn RecordStore>>,
    /// IPv4 records held here before they go to the store.
    pub(super) spill_at: usize,
    /// Records held, here and in the store.
    pub(super) count: usize,
}

impl RetiredTable {
    pub(super) fn pack(key: &Key) -> Option<[u64; 2]> {
        let v4 = |a: &[u8; 16]| std::net::Ipv6Addr::from(*a).to_ipv4_mapped().map(u32::from);
        let (lo, hi) = (v4(&key.flow.lo.addr)?, v4(&key.flow.hi.addr)?);
        let proto = match key.proto {
            Proto::Tcp => 0,
            Proto::Udp => 1,
        };
        Some([
            u64::from(lo) << 32 | u64::from(hi),
            u64::from(key.flow.lo.port) << 32 | u64::from(key.flow.hi.port) << 16 | proto,
        ])
    }

    pub(super) fn insert(&mut self, key: Key, r: Retired) {
        self.count += 1;
        let Some(k) = Self::pack(&key) else {
            self.other.insert(key, r);
            return;
        };
        self.v4.insert(k, r);
        if self.v4.len() >= self.spill_at {
            if let Some(store) = self.store.as_mut() {
                let mut out: Vec<([u64; 2], [u8; RECORD])> = self.v4.drain().map(|(k, r)| (k, r.to_bytes())).collect();
                out.sort_unstable_by_key(|(k, _)| *k);
                store.put(&out);
            }
        }
    }

    pub(super) fn remove(&mut self, key: &Key) -> Option<Retired> {
        let r = match Self::pack(key) {
            Some(k) => self
                .v4
                .remove(&k)
                .or_else(|| self.store.as_mut().and_then(|s| s.take(&k)).map(|b| Retired::from_bytes(&b))),
            None => self.other.remove(key),
        };
        if r.is_some() {
            self.count -= 1;
        }
        r
    }

    pub(super) fn len(&self) -> usize {
        self.count
    }

    pub(super) fn clear(&mut self) {
        self.v4.clear();
        self.other.clear();
        if let Some(s) = self.store.as_mut() {
            s.clear();
        }
        self.count = 0;
    }
}
