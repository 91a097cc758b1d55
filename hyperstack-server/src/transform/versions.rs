//! Where an account's last applied `(slot, write version)` is kept (exact dedup of account
//! writes, across restarts).
//!
//! Every account's version can live in the `accounts` keyspace, one record per account. When
//! the stack has an entity keyed by an account's own address (pump's `Token`, keyed by its
//! bonding curve), that entity type is the stack's *version holder*: an account whose holder
//! state exists keeps its version in that state record instead, so an update to it writes one
//! record (the state it changes anyway) instead of two.
//!
//! The applied version of an account is the later of its `accounts` record and its holder
//! state's `applied`. Each applied write records its version in one of the two (the holder
//! state when it exists at that moment, otherwise `accounts`), and a write is applied only
//! when it is later than both, so the later of the two is always the last applied, whatever
//! the account's type, owner or the entity its writes feed. States are never removed, so a
//! version stored in one is never lost. Stores of formats 1 and 2 have every version in
//! `accounts`, which is still read.

use super::access::Access;
use super::plan::{KeyAccess, Plan};
use super::{state_key, KeyVal, Transformer};
use crate::source::AccountUpdate;
use crate::store::StoreError;

/// The stack's version holder: the first entity type keyed by the address of an account
/// that feeds it, if any.
pub(super) fn holder(plan: &Plan) -> Option<usize> {
    plan.accounts
        .iter()
        .flatten()
        .flat_map(|item| &item.fields)
        .filter(|b| matches!(&b.key, KeyAccess::Direct(a) if matches!(a.access, Access::Address)))
        .map(|b| b.entity)
        .min()
}

impl Transformer {
    /// The last `(slot, write_version)` applied of the account `a` writes.
    fn applied_version(&mut self, a: &AccountUpdate) -> Result<Option<(u64, u64)>, StoreError> {
        let stored = self.dedup.account_version(&a.pubkey)?;
        let Some(holder) = self.version_holder else {
            return Ok(stored);
        };
        let key = state_key(holder, &KeyVal::Pubkey(a.pubkey));
        let held = match self.tables.get_mut(holder) {
            Some(table) => table.get(&key)?.and_then(|s| s.applied),
            None => None,
        };
        Ok(stored.max(held))
    }

    /// Whether account write `a` is later than every write of its account applied so far.
    pub(super) fn account_is_new(&mut self, a: &AccountUpdate) -> Result<bool, StoreError> {
        Ok(self
            .applied_version(a)?
            .is_none_or(|v| (a.slot, a.write_version) > v))
    }

    /// Marks account write `a` applied if it is new; returns whether it was.
    pub(super) fn admit_account(&mut self, a: &AccountUpdate) -> Result<bool, StoreError> {
        if !self.account_is_new(a)? {
            return Ok(false);
        }
        let version = (a.slot, a.write_version);
        if let Some(holder) = self.version_holder {
            let key = state_key(holder, &KeyVal::Pubkey(a.pubkey));
            if let Some(table) = self.tables.get_mut(holder) {
                // `applied_version` loaded the state (or its absence): no store read here.
                if let Some(state) = table.get_mut(&key)? {
                    state.applied = Some(version);
                    return Ok(true);
                }
            }
        }
        self.dedup.set_account_version(&a.pubkey, version)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{StateTableConfig, UnresolvedConfig};
    use crate::source::{Commitment, Pubkey, RawUpdate};
    use crate::store::hot::{HotStats, Record};
    use crate::store::{DataLocation, Identity, Store, StoreConfig};
    use crate::transform::persist::Version;
    use crate::transform::state::EntityState;

    const PROGRAM: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";

    fn open(dir: &std::path::Path) -> (Transformer, Store) {
        let config = StoreConfig {
            location: DataLocation::Dir(dir.to_path_buf()),
            ..StoreConfig::default()
        };
        let id = Identity {
            stack_name: "pump".into(),
            fingerprint: "test".into(),
        };
        let (store, _) = Store::open(&config, &id).unwrap();
        // Hot sets of one record: every other account's version and state is read back.
        let tables = StateTableConfig {
            max_entries: 1,
            ..StateTableConfig::default()
        };
        let t = Transformer::open(
            &pump_stack::spec(),
            tables,
            UnresolvedConfig::default(),
            store.clone(),
            Arc::new(HotStats::default()),
        )
        .unwrap();
        (t, store)
    }

    /// A write of bonding curve `curve` (pump's `Token` is keyed by the curve's address).
    fn curve(curve: u8, slot: u64, write_version: u64) -> RawUpdate {
        let mut data = vec![23, 183, 248, 55, 96, 216, 172, 96];
        data.resize(8 + 5 * 8 + 1 + 32, 0);
        data[8..16].copy_from_slice(&write_version.to_le_bytes());
        RawUpdate::Account(crate::source::AccountUpdate {
            slot,
            write_version,
            pubkey: Pubkey([curve; 32]),
            owner: PROGRAM.parse().unwrap(),
            data,
            commitment: Commitment::Confirmed,
            txn_signature: None,
        })
    }

    /// Applies `update`; whether it was applied (not dropped as a duplicate or stale).
    fn applied(t: &mut Transformer, update: &RawUpdate) -> bool {
        let before = t.stats().duplicates;
        t.apply(update, &mut Vec::new());
        t.stats().duplicates == before
    }

    fn stored_version(store: &Store, curve: u8) -> Option<(u64, u64)> {
        let bytes = store.accounts.get([curve; 32]).unwrap()?;
        let v = Version::decode(&bytes).unwrap();
        Some((v.0, v.1))
    }

    fn held_version(store: &Store, holder: usize, curve: u8) -> Option<(u64, u64)> {
        let key = state_key(holder, &KeyVal::Pubkey(Pubkey([curve; 32])));
        let bytes = store.states.get(key).unwrap()?;
        EntityState::decode(&bytes).unwrap().applied
    }

    #[test]
    fn pump_curves_keep_their_versions_in_their_token_state() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, store) = open(dir.path());
        let holder = t
            .version_holder
            .expect("Token is keyed by its curve's address");
        assert_eq!(&*t.plan.entities[holder].name, "Token");
        // A first write: no state to hold the version yet, so `accounts` does.
        assert!(applied(&mut t, &curve(1, 10, 1)));
        assert!(applied(&mut t, &curve(2, 10, 2)));
        assert!(!applied(&mut t, &curve(1, 10, 1)), "a duplicate");
        t.commit().unwrap();
        assert_eq!(stored_version(&store, 1), Some((10, 1)));
        assert_eq!(held_version(&store, holder, 1), None);
        // Later writes: the state holds it, `accounts` is not written again.
        assert!(applied(&mut t, &curve(1, 11, 3)));
        assert!(applied(&mut t, &curve(2, 11, 4)));
        assert!(!applied(&mut t, &curve(1, 11, 3)), "a duplicate");
        assert!(
            !applied(&mut t, &curve(1, 10, 9)),
            "older than the last applied"
        );
        assert!(applied(&mut t, &curve(1, 11, 5)));
        t.commit().unwrap();
        assert_eq!(stored_version(&store, 1), Some((10, 1)));
        assert_eq!(held_version(&store, holder, 1), Some((11, 5)));
        assert_eq!(held_version(&store, holder, 2), Some((11, 4)));
        drop(t);
        drop(store);

        // After a restart (every record read back from the store): the same answers.
        let (mut t, _store) = open(dir.path());
        for (c, slot, wv) in [(1, 11, 5), (1, 11, 3), (1, 10, 1), (2, 11, 4), (2, 10, 2)] {
            assert!(
                !applied(&mut t, &curve(c, slot, wv)),
                "{c}@{slot}/{wv} again"
            );
        }
        assert!(applied(&mut t, &curve(1, 11, 6)));
        assert!(applied(&mut t, &curve(2, 12, 0)));
        assert!(!applied(&mut t, &curve(2, 12, 0)));
    }

    #[test]
    fn versions_a_format_2_store_kept_in_accounts_still_count() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, store) = open(dir.path());
        let holder = t.version_holder.unwrap();
        assert!(applied(&mut t, &curve(1, 10, 1)));
        assert!(applied(&mut t, &curve(1, 10, 2)));
        t.commit().unwrap();
        drop(t);
        // As a format 2 build left it: the state without a version, the last version applied
        // in `accounts`.
        let key = state_key(holder, &KeyVal::Pubkey(Pubkey([1; 32])));
        let mut state = EntityState::decode(&store.states.get(&key).unwrap().unwrap()).unwrap();
        state.applied = None;
        let mut batch = store.batch();
        batch.insert(&store.states, key, state.encode());
        batch.insert(&store.accounts, [1u8; 32], Version(20, 7).encode());
        store.commit(batch).unwrap();
        drop(store);

        let (mut t, store) = open(dir.path());
        assert!(
            !applied(&mut t, &curve(1, 20, 7)),
            "applied by the older build"
        );
        assert!(!applied(&mut t, &curve(1, 15, 9)), "older than that");
        assert!(applied(&mut t, &curve(1, 20, 8)));
        t.commit().unwrap();
        assert_eq!(held_version(&store, holder, 1), Some((20, 8)));
        assert!(!applied(&mut t, &curve(1, 20, 8)));
    }

    #[test]
    fn a_stack_without_an_address_keyed_entity_has_no_holder() {
        let mut stack = pump_stack::spec();
        let t = Transformer::new(&stack, StateTableConfig::default()).unwrap();
        assert!(t.version_holder.is_some());
        // Without fields, no entity is fed by an account's address.
        for e in &mut stack.entities {
            e.fields.clear();
            e.computed_order.clear();
        }
        let t = Transformer::new(&stack, StateTableConfig::default()).unwrap();
        assert_eq!(t.version_holder, None);
    }
}
