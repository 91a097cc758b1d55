//! A bounded in-memory set of decoded records in front of one keyspace: reads fall through
//! to the store, writes stay in memory until the engine's next commit writes them back.
//!
//! The bound limits memory, never an answer: a record evicted while it has unwritten changes
//! is kept aside (and written by the next commit) instead of being dropped, and a record
//! evicted after its commit is simply read back from the store when needed again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fjall::Keyspace;
use lru::LruCache;

use super::StoreError;

/// How a record type is stored.
pub(crate) trait Record: Sized {
    /// The keyspace's name, for errors.
    const KEYSPACE: &'static str;
    /// Encodes the record.
    fn encode(&self) -> Vec<u8>;
    /// Decodes a stored record.
    fn decode(bytes: &[u8]) -> Result<Self, StoreError>;
}

/// Counters shared by every hot table (for `/metrics`).
#[derive(Debug, Default)]
pub(crate) struct HotStats {
    /// Records read from the store because they were not in memory.
    pub disk_reads: AtomicU64,
}

/// A cached lookup result: the record, or the knowledge that the store has none.
enum Slot<V> {
    Present(V),
    Absent,
}

/// The hot set of one keyspace (or of one key prefix of it).
pub(crate) struct HotTable<V: Record> {
    keyspace: Keyspace,
    cap: usize,
    hot: LruCache<Box<[u8]>, Slot<V>>,
    /// Keys changed since the last commit.
    dirty: HashMap<Box<[u8]>, ()>,
    /// Changed records evicted from `hot` before their commit (`None`: removed).
    spilled: HashMap<Box<[u8]>, Option<V>>,
    stats: Arc<HotStats>,
}

impl<V: Record> HotTable<V> {
    /// A hot set of at most `cap` records (between commits, changed records may exceed it
    /// until they are written).
    pub fn new(keyspace: Keyspace, cap: usize, stats: Arc<HotStats>) -> HotTable<V> {
        HotTable {
            keyspace,
            cap: cap.max(1),
            hot: LruCache::unbounded(),
            dirty: HashMap::new(),
            spilled: HashMap::new(),
            stats,
        }
    }

    /// Records in memory.
    pub fn resident(&self) -> usize {
        self.hot.len() + self.spilled.len()
    }

    fn load(&mut self, key: &[u8]) -> Result<(), StoreError> {
        if self.hot.contains(key) {
            return Ok(());
        }
        let slot = match self.spilled.remove(key) {
            Some(Some(v)) => Slot::Present(v),
            Some(None) => Slot::Absent,
            None => {
                self.stats.disk_reads.fetch_add(1, Ordering::Relaxed);
                match self.keyspace.get(key)? {
                    Some(bytes) => Slot::Present(V::decode(&bytes)?),
                    None => Slot::Absent,
                }
            }
        };
        self.put_slot(key.into(), slot);
        Ok(())
    }

    fn put_slot(&mut self, key: Box<[u8]>, slot: Slot<V>) {
        self.hot.put(key, slot);
        self.evict_over_cap();
    }

    /// Moves least recently used records out while over the bound: clean ones are dropped
    /// (the store has them), changed ones are set aside for the next commit.
    fn evict_over_cap(&mut self) {
        while self.hot.len() > self.cap {
            let Some((key, slot)) = self.hot.pop_lru() else {
                return;
            };
            if self.dirty.contains_key(&key) {
                let value = match slot {
                    Slot::Present(v) => Some(v),
                    Slot::Absent => None,
                };
                self.spilled.insert(key, value);
            }
        }
    }

    /// The record of `key`, if any.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<&V>, StoreError> {
        self.load(key)?;
        Ok(match self.hot.get(key) {
            Some(Slot::Present(v)) => Some(v),
            _ => None,
        })
    }

    /// The record of `key` for changing it (it will be written by the next commit).
    pub fn get_mut(&mut self, key: &[u8]) -> Result<Option<&mut V>, StoreError> {
        self.load(key)?;
        match self.hot.get_mut(key) {
            Some(Slot::Present(v)) => {
                if !self.dirty.contains_key(key) {
                    self.dirty.insert(key.into(), ());
                }
                Ok(Some(v))
            }
            _ => Ok(None),
        }
    }

    /// Whether a record of `key` exists.
    pub fn contains(&mut self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }

    /// Sets the record of `key`.
    pub fn insert(&mut self, key: &[u8], value: V) {
        self.spilled.remove(key);
        self.dirty.insert(key.into(), ());
        self.put_slot(key.into(), Slot::Present(value));
    }

    /// Removes the record of `key`.
    pub fn remove(&mut self, key: &[u8]) {
        self.spilled.remove(key);
        self.dirty.insert(key.into(), ());
        self.put_slot(key.into(), Slot::Absent);
    }

    /// Writes every change since the last commit into `batch` and marks them written.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        for (key, ()) in self.dirty.drain() {
            let value = match self.spilled.remove(&key) {
                Some(v) => v.map(|v| v.encode()),
                None => match self.hot.peek(&key) {
                    Some(Slot::Present(v)) => Some(v.encode()),
                    Some(Slot::Absent) | None => None,
                },
            };
            match value {
                Some(bytes) => batch.insert(&self.keyspace, key.to_vec(), bytes),
                None => batch.remove(&self.keyspace, key.to_vec()),
            }
        }
        self.spilled.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    struct Num(u64);

    impl Record for Num {
        const KEYSPACE: &'static str = "test";
        fn encode(&self) -> Vec<u8> {
            self.0.to_be_bytes().to_vec()
        }
        fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
            let arr: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
                keyspace: Self::KEYSPACE,
                reason: "length".into(),
            })?;
            Ok(Num(u64::from_be_bytes(arr)))
        }
    }

    fn store() -> Store {
        crate::store::temporary_for_tests()
    }

    #[test]
    fn a_bound_of_two_answers_like_an_unbounded_map() {
        let store = store();
        let stats = Arc::new(HotStats::default());
        let mut table: HotTable<Num> = HotTable::new(store.entities.clone(), 2, stats.clone());
        let mut model = std::collections::BTreeMap::new();
        // 50 keys written across 5 commits, with reads, updates and removals in between:
        // far beyond the bound, and every answer must equal the model's.
        for round in 0..5u64 {
            for i in 0..50u64 {
                let key = i.to_be_bytes();
                match (i + round) % 4 {
                    0 => {
                        table.insert(&key, Num(i * 100 + round));
                        model.insert(i, i * 100 + round);
                    }
                    1 => {
                        if let Some(v) = table.get_mut(&key).unwrap() {
                            v.0 += 1;
                        }
                        if let Some(v) = model.get_mut(&i) {
                            *v += 1;
                        }
                    }
                    2 if round % 2 == 1 => {
                        table.remove(&key);
                        model.remove(&i);
                    }
                    _ => {}
                }
                assert!(
                    table.resident() <= 2 + 50,
                    "bounded by the batch between commits"
                );
            }
            let mut batch = store.batch();
            table.write_into(&mut batch);
            store.commit(batch).unwrap();
            assert!(
                table.resident() <= 2,
                "{} resident after commit",
                table.resident()
            );
            for i in 0..50u64 {
                let got = table.get(&i.to_be_bytes()).unwrap().map(|n| n.0);
                assert_eq!(got, model.get(&i).copied(), "key {i} after round {round}");
            }
        }
        assert!(stats.disk_reads.load(Ordering::Relaxed) > 0);
        // A fresh table over the same store reads what was committed.
        let mut fresh: HotTable<Num> = HotTable::new(store.entities.clone(), 2, stats);
        for (k, v) in &model {
            assert_eq!(fresh.get(&k.to_be_bytes()).unwrap().map(|n| n.0), Some(*v));
        }
    }
}
