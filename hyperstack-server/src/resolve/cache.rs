//! Resolved values: durable in the store's `resolved` keyspace, the most recently used ones in
//! a bounded LRU cache in memory.
//!
//! The bound limits memory, never an answer: a value not in memory is read back from the
//! store, and a value resolved since the last commit stays in memory (outside the LRU) until
//! the commit writes it.

use std::collections::HashMap;

use fjall::Keyspace;
use lru::LruCache;
use serde_json::Value as Json;

use super::keys::value_key;
use crate::spec::Resolver;
use crate::store::StoreError;

/// Where a known value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// In memory.
    Memory,
    /// Read back from the store.
    Store,
}

/// A known value: the resolver's answer, `None` when it knows nothing for the input.
pub(crate) type Known = Option<Json>;

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        keyspace: "resolved",
        reason: e.to_string(),
    }
}

/// Encodes a known value for the store.
fn encode(value: &Known) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "value": value })).unwrap_or_default()
}

fn decode(bytes: &[u8]) -> Result<Known, StoreError> {
    let record: Json = serde_json::from_slice(bytes).map_err(corrupt)?;
    match record.get("value") {
        Some(Json::Null) => Ok(None),
        Some(v) => Ok(Some(v.clone())),
        None => Err(corrupt("a record without `value`")),
    }
}

/// The values, bounded in memory by a capacity.
pub(crate) struct ValueCache {
    keyspace: Keyspace,
    lru: LruCache<Vec<u8>, Known>,
    cap: usize,
    /// Resolved since the last commit (written by the next one).
    unwritten: HashMap<Vec<u8>, Known>,
}

impl ValueCache {
    /// A cache of at most `cap` values in memory (beyond those not yet committed).
    pub fn new(keyspace: Keyspace, cap: usize) -> ValueCache {
        ValueCache {
            keyspace,
            lru: LruCache::unbounded(),
            cap: cap.max(1),
            unwritten: HashMap::new(),
        }
    }

    /// Changes the capacity (evicting the least recently used values beyond it).
    pub fn set_capacity(&mut self, cap: usize) {
        self.cap = cap.max(1);
        self.evict();
    }

    fn evict(&mut self) {
        while self.lru.len() > self.cap {
            self.lru.pop_lru();
        }
    }

    /// The value known for `input`, and where it was found; `None` when none is known.
    pub fn get(
        &mut self,
        resolver: Resolver,
        input: &str,
    ) -> Result<Option<(Known, Found)>, StoreError> {
        let key = value_key(resolver, input);
        if let Some(v) = self.unwritten.get(&key) {
            return Ok(Some((v.clone(), Found::Memory)));
        }
        if let Some(v) = self.lru.get(&key) {
            return Ok(Some((v.clone(), Found::Memory)));
        }
        let Some(bytes) = self.keyspace.get(&key)? else {
            return Ok(None);
        };
        let value = decode(&bytes)?;
        self.lru.put(key, value.clone());
        self.evict();
        Ok(Some((value, Found::Store)))
    }

    /// Whether a value is known for `input` (without bringing it into memory).
    pub fn is_known(&self, resolver: Resolver, input: &str) -> Result<bool, StoreError> {
        let key = value_key(resolver, input);
        Ok(self.unwritten.contains_key(&key)
            || self.lru.contains(&key)
            || self.keyspace.contains_key(&key)?)
    }

    /// Records the value of `input`.
    pub fn insert(&mut self, resolver: Resolver, input: &str, value: Known) {
        let key = value_key(resolver, input);
        self.lru.put(key.clone(), value.clone());
        self.evict();
        self.unwritten.insert(key, value);
    }

    /// Values in memory.
    pub fn resident(&self) -> usize {
        self.lru.len() + self.unwritten.len()
    }

    /// Writes the values resolved since the last commit into `batch`.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        for (key, value) in self.unwritten.drain() {
            batch.insert(&self.keyspace, key, encode(&value));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::Store;
    use serde_json::json;

    pub(crate) fn store() -> Store {
        crate::store::temporary_for_tests()
    }

    #[test]
    fn a_bound_of_two_answers_like_an_unbounded_map() {
        let store = store();
        let mut cache = ValueCache::new(store.resolved.clone(), 2);
        let r = Resolver::TokenMetadata;
        let value = |i: usize| (!i.is_multiple_of(3)).then(|| json!({ "decimals": i }));
        // Ten values across commits, far beyond the bound of two.
        for round in 0..2 {
            for i in 0..10 {
                if round == 0 {
                    cache.insert(r, &format!("mint{i}"), value(i));
                    assert!(cache.resident() <= 2 + i + 1);
                }
            }
            let mut batch = store.batch();
            cache.write_into(&mut batch);
            store.commit(batch).unwrap();
            assert!(cache.resident() <= 2, "{} resident", cache.resident());
            for i in 0..10 {
                let (known, _) = cache.get(r, &format!("mint{i}")).unwrap().expect("known");
                assert_eq!(known, value(i), "mint{i} in round {round}");
            }
        }
        assert_eq!(cache.get(r, "unknown").unwrap(), None);
        assert!(!cache.is_known(r, "unknown").unwrap());
        assert!(cache.is_known(r, "mint1").unwrap());
        // The most recent ones are in memory; older ones come back from the store.
        assert_eq!(cache.get(r, "mint9").unwrap().unwrap().1, Found::Memory);
        assert_eq!(cache.get(r, "mint0").unwrap().unwrap().1, Found::Store);
        // A fresh cache over the same store knows every committed value.
        let mut fresh = ValueCache::new(store.resolved.clone(), 2);
        assert_eq!(
            fresh.get(r, "mint4").unwrap(),
            Some((value(4), Found::Store))
        );
    }

    #[test]
    fn a_value_not_yet_committed_survives_eviction() {
        let store = store();
        let mut cache = ValueCache::new(store.resolved.clone(), 1);
        let r = Resolver::TokenMetadata;
        cache.insert(r, "a", Some(json!({"name": "A"})));
        cache.insert(r, "b", Some(json!({"name": "B"})));
        cache.insert(r, "c", None);
        assert_eq!(
            cache.get(r, "a").unwrap(),
            Some((Some(json!({"name": "A"})), Found::Memory))
        );
        let mut batch = store.batch();
        cache.write_into(&mut batch);
        store.commit(batch).unwrap();
        assert_eq!(cache.get(r, "c").unwrap().map(|v| v.0), Some(None));
        assert!(
            decode(b"{}").is_err(),
            "a record without a value is corrupt"
        );
    }
}
