//! The transform's state in the store: entity states, lookup entries, which updates were
//! applied (dedup), and the slot counter behind `_seq`. Memory holds bounded hot sets of
//! them; the store holds all of them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use fjall::Keyspace;
use serde::{Deserialize, Serialize};

use super::lookup::Target;
use super::state::{EntityState, FieldState};
use super::state_codec;
use super::KeyVal;
use crate::source::{Pubkey, Signature, TransactionUpdate};
use crate::store::hot::{HotStats, HotTable, Record};
use crate::store::{codec, signature_key, signature_of, Store, StoreError};

fn corrupt(keyspace: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        keyspace,
        reason: e.to_string(),
    }
}

/// A state record as format 1 stores wrote it (JSON); read, never written any more.
#[derive(Deserialize)]
struct StoredState {
    key: String,
    fields: Vec<FieldState>,
    #[serde(default)]
    stopped: Vec<usize>,
}

impl Record for EntityState {
    const KEYSPACE: &'static str = "states";

    fn encode(&self) -> Vec<u8> {
        state_codec::encode(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        if bytes.first() != Some(&b'{') {
            return state_codec::decode(bytes);
        }
        let s: StoredState =
            serde_json::from_slice(bytes).map_err(|e| corrupt(Self::KEYSPACE, e))?;
        Ok(EntityState {
            key: Arc::from(s.key),
            fields: s.fields,
            stopped: s.stopped,
            applied: None,
        })
    }
}

impl Record for Target {
    const KEYSPACE: &'static str = "lookups";

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| corrupt(Self::KEYSPACE, e))
    }
}

impl KeyVal {
    /// Bytes that identify the value in store keys (a tag, then the value).
    pub(crate) fn key_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(33);
        self.write_key_bytes(&mut out);
        out
    }

    /// Appends [`KeyVal::key_bytes`] to `out`.
    pub(crate) fn write_key_bytes(&self, out: &mut Vec<u8>) {
        match self {
            KeyVal::Pubkey(p) => {
                out.push(0);
                out.extend_from_slice(&p.0);
            }
            KeyVal::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
            KeyVal::Str(s) => {
                out.push(2);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// The last `(slot, write_version)` applied of an account.
pub(crate) struct Version(pub u64, pub u64);

impl Record for Version {
    const KEYSPACE: &'static str = "accounts";

    fn encode(&self) -> Vec<u8> {
        [self.0.to_be_bytes(), self.1.to_be_bytes()].concat()
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let n = |r: std::ops::Range<usize>| {
            bytes
                .get(r)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
        };
        match (n(0..8), n(8..16)) {
            (Some(a), Some(b)) => Ok(Version(a, b)),
            _ => Err(corrupt(Self::KEYSPACE, "short version")),
        }
    }
}

/// Which updates were applied, so a source that sends some again (a Yellowstone stream
/// resumed with `from_slot`, a replay restarted mid-way) applies nothing twice: per account the
/// last `(slot, write_version)` applied — exact, for every account ever seen; together with
/// the versions entity states hold (`versions.rs`) — and the signatures of the transactions
/// of the last `window` slots.
pub(crate) struct Dedup {
    accounts: HotTable<Version>,
    signatures: HashMap<Signature, u64>,
    by_slot: BTreeSet<(u64, Signature)>,
    added: Vec<(u64, Signature)>,
    trimmed: Vec<(u64, Signature)>,
    window: u64,
    keyspace: Keyspace,
}

/// Slots of transaction signatures remembered (a resumed stream re-sends from the slot in
/// progress, so a few slots would do; this is generous).
pub(crate) const SIGNATURE_WINDOW: u64 = 512;

impl Dedup {
    /// The dedup state of `store`, its account versions bounded in memory by `cap`.
    pub fn open(store: &Store, cap: usize, stats: Arc<HotStats>) -> Result<Dedup, StoreError> {
        let mut d = Dedup {
            accounts: HotTable::new(store.accounts.clone(), cap, stats),
            signatures: HashMap::new(),
            by_slot: BTreeSet::new(),
            added: Vec::new(),
            trimmed: Vec::new(),
            window: SIGNATURE_WINDOW,
            keyspace: store.signatures.clone(),
        };
        for item in store.signatures.iter() {
            let key = item.key()?;
            let (slot, sig) =
                signature_of(&key).ok_or_else(|| corrupt("signatures", "short key"))?;
            d.signatures.insert(Signature(sig), slot);
            d.by_slot.insert((slot, Signature(sig)));
        }
        Ok(d)
    }

    /// Whether transaction `t` was not applied yet.
    pub fn is_new_transaction(&self, t: &TransactionUpdate) -> bool {
        !self.signatures.contains_key(&t.signature)
    }

    /// The last `(slot, write_version)` of `account` recorded in the `accounts` keyspace.
    /// Where an entity state holds the account's versions, the state may have a later one
    /// (`transform/versions.rs`).
    pub fn account_version(&mut self, account: &Pubkey) -> Result<Option<(u64, u64)>, StoreError> {
        Ok(self.accounts.get(&account.0)?.map(|v| (v.0, v.1)))
    }

    /// Records `(slot, write_version)` as the last applied of `account`.
    pub fn set_account_version(
        &mut self,
        account: &Pubkey,
        (slot, write_version): (u64, u64),
    ) -> Result<(), StoreError> {
        // Updated in place when known (no new hot-set entry, no key copy).
        match self.accounts.get_mut(&account.0)? {
            Some(v) => *v = Version(slot, write_version),
            None => self
                .accounts
                .insert(&account.0, Version(slot, write_version)),
        }
        Ok(())
    }

    /// Marks transaction `t` applied; returns whether it was new (not applied before).
    pub fn admit_transaction(&mut self, t: &TransactionUpdate) -> bool {
        if self.signatures.contains_key(&t.signature) {
            return false;
        }
        self.signatures.insert(t.signature, t.slot);
        self.by_slot.insert((t.slot, t.signature));
        self.added.push((t.slot, t.signature));
        self.trim(t.slot);
        true
    }

    /// Forgets signatures more than `window` slots older than `newest`.
    fn trim(&mut self, newest: u64) {
        let floor = newest.saturating_sub(self.window);
        while let Some(&(slot, sig)) = self.by_slot.first() {
            if slot >= floor {
                break;
            }
            self.by_slot.remove(&(slot, sig));
            self.signatures.remove(&sig);
            self.trimmed.push((slot, sig));
        }
    }

    /// Records in memory.
    pub fn resident(&self) -> usize {
        self.accounts.resident() + self.signatures.len()
    }

    /// Account versions in memory.
    pub fn accounts_resident(&self) -> usize {
        self.accounts.resident()
    }

    /// Transaction signatures remembered (those of the last slots, all in memory).
    pub fn signatures_resident(&self) -> usize {
        self.signatures.len()
    }

    /// Writes what changed since the last commit.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        self.accounts.write_into(batch);
        for (slot, sig) in self.trimmed.drain(..) {
            batch.remove(&self.keyspace, signature_key(slot, &sig.0).to_vec());
        }
        for (slot, sig) in self.added.drain(..) {
            if self.signatures.contains_key(&sig) {
                batch.insert(&self.keyspace, signature_key(slot, &sig.0).to_vec(), []);
            }
        }
    }
}

/// The transform's counters that must survive a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Progress {
    /// The `_seq` counter: slot and updates applied in it.
    pub seq: (u64, u64),
    /// Ordered stacks: the last slot completed.
    pub completed: Option<u64>,
}

const PROGRESS_KEY: &[u8] = b"transform";

impl Progress {
    /// The stored progress (default on a first start).
    pub fn load(store: &Store) -> Result<Progress, StoreError> {
        Ok(match store.meta(PROGRESS_KEY)? {
            Some(bytes) => codec::parse_meta("transform", &bytes)?,
            None => Progress::default(),
        })
    }

    /// Writes the progress.
    pub fn write_into(&self, store: &Store, batch: &mut fjall::OwnedWriteBatch) {
        batch.insert(&store.meta, PROGRESS_KEY.to_vec(), codec::meta(self));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Value;

    #[test]
    fn a_state_written_by_a_format_1_store_is_still_read() {
        // Format 1 wrote the state as this JSON object.
        let fields = vec![
            FieldState::Value(Value::U64(5)),
            FieldState::Unset,
            FieldState::Int(-2),
        ];
        let legacy = serde_json::json!({"key": "k1", "fields": fields, "stopped": [1]});
        let back = EntityState::decode(&serde_json::to_vec(&legacy).unwrap()).unwrap();
        assert_eq!(&*back.key, "k1");
        assert_eq!(back.fields, fields);
        assert_eq!(back.stopped, vec![1]);
        // Written again, it is in the binary format, and reads back the same.
        let bytes = back.encode();
        assert_eq!(bytes[0], state_codec::TAG);
        let again = EntityState::decode(&bytes).unwrap();
        assert_eq!((again.key, again.fields), (back.key, back.fields));
        assert!(matches!(
            EntityState::decode(b"{\"key\": 1}"),
            Err(StoreError::Corrupt {
                keyspace: "states",
                ..
            })
        ));
        assert!(EntityState::decode(&[]).is_err());
    }
}
