//! Lookup indexes: value → entity key, directly or through another lookup.
//!
//! An entry registered by a source whose key is itself looked up (`via`) keeps the value to
//! look up, not its result: it is resolved when used, through the other index as it is then.
//! So arrival order does not matter (`reset` may name a round whose account arrives later),
//! and when the other index is re-pointed the entry follows.
//!
//! The indexes live in the state store (every entry ever registered); memory holds a bounded
//! hot set of them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::KeyVal;
use crate::store::hot::{HotStats, HotTable};
use crate::store::{lookup_key, Store, StoreError};

/// What a lookup entry points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Target {
    /// The entity's primary key.
    Key(KeyVal),
    /// A value to look up in another lookup index of the same entity.
    Via { lookup: usize, value: KeyVal },
}

/// Where a lookup led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// To the entity's primary key.
    Key(KeyVal),
    /// Nowhere yet: `value` of lookup `lookup` is not registered (the chain stops there).
    Missing { lookup: usize, value: KeyVal },
}

/// The lookup indexes of one entity type, `[lookup]`.
pub(crate) struct Indexes {
    entity: u16,
    tables: Vec<HotTable<Target>>,
}

impl Indexes {
    /// The `count` indexes of entity type `entity`, each holding at most `cap` entries in
    /// memory.
    pub fn open(
        store: &Store,
        entity: u16,
        count: usize,
        cap: usize,
        stats: &Arc<HotStats>,
    ) -> Indexes {
        Indexes {
            entity,
            tables: (0..count)
                .map(|_| HotTable::new(store.lookups.clone(), cap, stats.clone()))
                .collect(),
        }
    }

    fn key(&self, lookup: usize, value: &KeyVal) -> Vec<u8> {
        let lookup = u16::try_from(lookup).unwrap_or(u16::MAX);
        lookup_key(self.entity, lookup, &value.key_bytes())
    }

    /// Points `value` of lookup `lookup` at `target` (re-pointing it when it pointed
    /// elsewhere).
    pub fn link(&mut self, lookup: usize, value: &KeyVal, target: Target) {
        let key = self.key(lookup, value);
        if let Some(index) = self.tables.get_mut(lookup) {
            index.insert(&key, target);
        }
    }

    /// The primary key `value` maps to in lookup `lookup`, following `via` entries (at most
    /// once per index: a chain longer than the number of indexes would be a cycle, which
    /// validation refuses).
    #[cfg(test)]
    pub fn resolve(&mut self, lookup: usize, value: &KeyVal) -> Result<Option<KeyVal>, StoreError> {
        Ok(match self.follow(lookup, value)? {
            Some(Resolution::Key(k)) => Some(k),
            _ => None,
        })
    }

    /// Follows `value` of lookup `lookup` to the primary key, or to the entry that is missing;
    /// `None` for a cycle (which validation refuses).
    pub fn follow(
        &mut self,
        lookup: usize,
        value: &KeyVal,
    ) -> Result<Option<Resolution>, StoreError> {
        let mut lookup = lookup;
        let mut value = value.clone();
        for _ in 0..=self.tables.len() {
            let key = self.key(lookup, &value);
            let Some(index) = self.tables.get_mut(lookup) else {
                return Ok(None);
            };
            match index.get(&key)?.cloned() {
                None => return Ok(Some(Resolution::Missing { lookup, value })),
                Some(Target::Key(k)) => return Ok(Some(Resolution::Key(k))),
                Some(Target::Via {
                    lookup: l,
                    value: v,
                }) => {
                    lookup = l;
                    value = v;
                }
            }
        }
        Ok(None)
    }

    /// Entries in memory in the largest index.
    pub fn largest(&self) -> usize {
        self.tables
            .iter()
            .map(HotTable::resident)
            .max()
            .unwrap_or(0)
    }

    /// Entries in memory.
    pub fn resident(&self) -> usize {
        self.tables.iter().map(HotTable::resident).sum()
    }

    /// Writes the entries changed since the last commit.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        for t in &mut self.tables {
            t.write_into(batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexes(n: usize) -> (Store, Indexes) {
        let store = crate::store::temporary_for_tests();
        // A hot set of one entry: every lookup past the first reads the store.
        let ix = Indexes::open(&store, 0, n, 1, &Arc::new(HotStats::default()));
        (store, ix)
    }

    fn s(v: &str) -> KeyVal {
        KeyVal::Str(v.into())
    }

    #[test]
    fn chains_resolve_when_used_and_follow_re_pointing() {
        let (store, mut ix) = indexes(2);
        // var → (address lookup, "addr-a"), registered before "addr-a" is known.
        ix.link(
            1,
            &s("var"),
            Target::Via {
                lookup: 0,
                value: s("addr-a"),
            },
        );
        assert_eq!(ix.resolve(1, &s("var")).unwrap(), None);
        ix.link(0, &s("addr-a"), Target::Key(KeyVal::Int(7)));
        assert_eq!(ix.resolve(1, &s("var")).unwrap(), Some(KeyVal::Int(7)));
        let mut batch = store.batch();
        ix.write_into(&mut batch);
        store.commit(batch).unwrap();
        // Re-pointing the var moves it to the next round.
        ix.link(0, &s("addr-b"), Target::Key(KeyVal::Int(8)));
        ix.link(
            1,
            &s("var"),
            Target::Via {
                lookup: 0,
                value: s("addr-b"),
            },
        );
        assert_eq!(ix.resolve(1, &s("var")).unwrap(), Some(KeyVal::Int(8)));
        assert_eq!(ix.resolve(0, &s("addr-a")).unwrap(), Some(KeyVal::Int(7)));
        assert!(
            ix.resident() <= 2 + 3,
            "one per index, plus the changes not yet written"
        );
    }

    #[test]
    fn a_cycle_resolves_to_nothing() {
        let (_store, mut ix) = indexes(2);
        let v = KeyVal::Int(1);
        ix.link(
            0,
            &v,
            Target::Via {
                lookup: 1,
                value: v.clone(),
            },
        );
        ix.link(
            1,
            &v,
            Target::Via {
                lookup: 0,
                value: v.clone(),
            },
        );
        assert_eq!(ix.resolve(0, &v).unwrap(), None);
    }
}
