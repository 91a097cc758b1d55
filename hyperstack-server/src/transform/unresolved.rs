//! Values whose entity is found through a lookup that is not registered yet wait here, in
//! arrival order, until it is — then they are applied. A trade seen before its token's
//! `create` is applied when the `create` arrives, instead of being lost.
//!
//! The queue is bounded per looked-up value, in total and in age (in slots, so a replay at
//! any speed drops the same items); what is dropped is counted by reason. It lives in the
//! state store (and, bounded, in memory), so a restart keeps what was waiting.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fjall::Keyspace;
use serde::{Deserialize, Serialize};

use super::access::ItemCtx;
use super::plan::ItemId;
use super::KeyVal;
use crate::config::UnresolvedConfig;
use crate::decode::Value;
use crate::source::{Pubkey, Signature};
use crate::store::{queue_prefix, Store, StoreError};

/// A decoded item whose field bindings wait for their entity's key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Queued {
    pub item: ItemId,
    /// Indices of the waiting bindings in the item plan's `fields`.
    pub bindings: Vec<usize>,
    pub value: Value,
    pub address: Option<Pubkey>,
    pub roles: Vec<Option<Pubkey>>,
    pub slot: u64,
    pub signature: Option<Vec<u8>>,
}

impl Queued {
    /// The `bindings` of the item decoded as `ctx`.
    pub fn new(item: ItemId, bindings: Vec<usize>, ctx: &ItemCtx<'_>) -> Queued {
        Queued {
            item,
            bindings,
            value: ctx.value.clone(),
            address: ctx.address.copied(),
            roles: ctx.roles.to_vec(),
            slot: ctx.slot,
            signature: ctx.signature.map(|s| s.0.to_vec()),
        }
    }

    /// The item's signature.
    pub fn signature(&self) -> Option<Signature> {
        self.signature
            .as_deref()
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
            .map(Signature)
    }
}

/// Why a waiting item was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// It waited longer than `max_age_slots`.
    Expired,
    /// More than `max_per_key` items waited for its value.
    PerKeyLimit,
    /// More than `max_total` items waited.
    TotalLimit,
}

impl DropReason {
    /// The `reason` label of the metric.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::Expired => "expired",
            DropReason::PerKeyLimit => "per_key_limit",
            DropReason::TotalLimit => "total_limit",
        }
    }
}

/// The queue.
pub(crate) struct Unresolved {
    config: UnresolvedConfig,
    keyspace: Keyspace,
    /// Every waiting item by its store key (prefix = the looked-up value; then arrival).
    items: BTreeMap<Vec<u8>, Queued>,
    per_value: HashMap<Vec<u8>, usize>,
    by_slot: BTreeSet<(u64, Vec<u8>)>,
    next: u64,
    added: BTreeSet<Vec<u8>>,
    removed: BTreeSet<Vec<u8>>,
    /// Values whose lookup was just registered while items waited for them.
    ready: Vec<Vec<u8>>,
}

impl Unresolved {
    /// The queue of `store`.
    pub fn open(store: &Store, config: UnresolvedConfig) -> Result<Unresolved, StoreError> {
        let mut q = Unresolved {
            config,
            keyspace: store.queue.clone(),
            items: BTreeMap::new(),
            per_value: HashMap::new(),
            by_slot: BTreeSet::new(),
            next: 0,
            added: BTreeSet::new(),
            removed: BTreeSet::new(),
            ready: Vec::new(),
        };
        for item in store.queue.iter() {
            let (k, v) = item.into_inner()?;
            let queued: Queued = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                keyspace: "queue",
                reason: e.to_string(),
            })?;
            let key = k.to_vec();
            let seq = key
                .len()
                .checked_sub(8)
                .and_then(|i| key.get(i..))
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_be_bytes);
            q.next = q.next.max(seq + 1);
            q.index(key, queued);
        }
        Ok(q)
    }

    fn index(&mut self, key: Vec<u8>, queued: Queued) {
        *self.per_value.entry(prefix_of(&key).to_vec()).or_default() += 1;
        self.by_slot.insert((queued.slot, key.clone()));
        self.items.insert(key, queued);
    }

    fn drop_key(&mut self, key: &[u8]) -> Option<Queued> {
        let queued = self.items.remove(key)?;
        self.by_slot.remove(&(queued.slot, key.to_vec()));
        let prefix = prefix_of(key).to_vec();
        if let Some(n) = self.per_value.get_mut(&prefix) {
            *n -= 1;
            if *n == 0 {
                self.per_value.remove(&prefix);
            }
        }
        if !self.added.remove(key) {
            self.removed.insert(key.to_vec());
        }
        Some(queued)
    }

    /// Queues an item for `value` of lookup `lookup` of entity type `entity`; returns what
    /// the bounds dropped to make room.
    pub fn push(
        &mut self,
        entity: usize,
        lookup: usize,
        value: &KeyVal,
        queued: Queued,
    ) -> Vec<DropReason> {
        let mut dropped = Vec::new();
        let prefix = prefix(entity, lookup, value);
        while self.per_value.get(&prefix).copied().unwrap_or(0) >= self.config.max_per_key.max(1) {
            let oldest = self
                .items
                .range(prefix.clone()..)
                .next()
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) if k.starts_with(&prefix) => {
                    self.drop_key(&k);
                    dropped.push(DropReason::PerKeyLimit);
                }
                _ => break,
            }
        }
        while self.items.len() >= self.config.max_total.max(1) {
            let Some((_, oldest)) = self.by_slot.first().cloned() else {
                break;
            };
            self.drop_key(&oldest);
            dropped.push(DropReason::TotalLimit);
        }
        let key = [prefix, self.next.to_be_bytes().to_vec()].concat();
        self.next += 1;
        self.added.insert(key.clone());
        self.index(key, queued);
        dropped
    }

    /// The lookup `value` of `lookup` was registered: items waiting for it become ready.
    pub fn linked(&mut self, entity: usize, lookup: usize, value: &KeyVal) {
        let prefix = prefix(entity, lookup, value);
        if self.per_value.contains_key(&prefix) {
            self.ready.push(prefix);
        }
    }

    /// The items whose lookup arrived, in arrival order (taken out of the queue).
    pub fn take_ready(&mut self) -> Vec<Queued> {
        let mut out = Vec::new();
        for prefix in std::mem::take(&mut self.ready) {
            let keys: Vec<Vec<u8>> = self
                .items
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                if let Some(q) = self.drop_key(&k) {
                    out.push(q);
                }
            }
        }
        out
    }

    /// Drops the items older than `max_age_slots` before `slot`; returns how many.
    pub fn expire(&mut self, slot: u64) -> usize {
        let floor = slot.saturating_sub(self.config.max_age_slots);
        let mut n = 0;
        while let Some((s, key)) = self.by_slot.first().cloned() {
            if s >= floor {
                break;
            }
            self.drop_key(&key);
            n += 1;
        }
        n
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Writes what changed since the last commit.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        for key in std::mem::take(&mut self.removed) {
            batch.remove(&self.keyspace, key);
        }
        for key in std::mem::take(&mut self.added) {
            if let Some(q) = self.items.get(&key) {
                batch.insert(
                    &self.keyspace,
                    key,
                    serde_json::to_vec(q).unwrap_or_default(),
                );
            }
        }
    }
}

fn prefix(entity: usize, lookup: usize, value: &KeyVal) -> Vec<u8> {
    queue_prefix(
        u16::try_from(entity).unwrap_or(u16::MAX),
        u16::try_from(lookup).unwrap_or(u16::MAX),
        &value.key_bytes(),
    )
}

/// The value part of a queue key (everything before the 8-byte sequence number).
fn prefix_of(key: &[u8]) -> &[u8] {
    &key[..key.len().saturating_sub(8)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        crate::store::temporary_for_tests()
    }

    fn item(slot: u64, n: u64) -> Queued {
        Queued {
            item: ItemId::default(),
            bindings: vec![0],
            value: Value::U64(n),
            address: None,
            roles: Vec::new(),
            slot,
            signature: None,
        }
    }

    fn values(items: &[Queued]) -> Vec<u64> {
        items
            .iter()
            .map(|q| match q.value {
                Value::U64(n) => n,
                _ => u64::MAX,
            })
            .collect()
    }

    #[test]
    fn items_wait_for_their_value_and_come_out_in_order() {
        let store = store();
        let config = UnresolvedConfig {
            max_per_key: 3,
            max_total: 5,
            max_age_slots: 100,
        };
        let mut q = Unresolved::open(&store, config).unwrap();
        let (a, b) = (KeyVal::Str("a".into()), KeyVal::Str("b".into()));
        for n in 0..4 {
            let dropped = q.push(0, 0, &a, item(10 + n, n));
            assert_eq!(
                dropped,
                if n == 3 {
                    vec![DropReason::PerKeyLimit]
                } else {
                    vec![]
                }
            );
        }
        q.push(0, 0, &b, item(20, 100));
        q.push(0, 0, &b, item(21, 101));
        assert_eq!(q.len(), 5);
        assert_eq!(
            q.push(0, 0, &b, item(22, 102)),
            vec![DropReason::TotalLimit]
        );
        // Committed and reopened: the queue survives a restart.
        let mut batch = store.batch();
        q.write_into(&mut batch);
        store.commit(batch).unwrap();
        let mut q = Unresolved::open(&store, config).unwrap();
        assert_eq!(q.len(), 5);
        q.linked(0, 1, &a); // another lookup: nothing
        assert!(q.take_ready().is_empty());
        q.linked(0, 0, &a);
        assert_eq!(
            values(&q.take_ready()),
            vec![2, 3],
            "0 and 1 were dropped, in order"
        );
        assert_eq!(
            q.expire(121),
            1,
            "b's item of slot 20 is older than 100 slots"
        );
        q.linked(0, 0, &b);
        assert_eq!(values(&q.take_ready()), vec![101, 102]);
        assert_eq!(q.len(), 0);
        let mut batch = store.batch();
        q.write_into(&mut batch);
        store.commit(batch).unwrap();
        assert_eq!(Unresolved::open(&store, config).unwrap().len(), 0);
    }
}
