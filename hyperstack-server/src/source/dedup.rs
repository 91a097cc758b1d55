//! Dropping updates seen before: what a stream resumed with `from_slot` sends again, and
//! account writes that arrive out of order.

use std::num::NonZeroUsize;

use lru::LruCache;

use super::{Pubkey, RawUpdate, Signature};

/// Admits each account write only when its `(slot, write_version)` is newer than the last one
/// admitted for that account, and each transaction (so each of its instructions and events,
/// identified by `(signature, path)`) only once.
///
/// Transactions are always delivered whole, so remembering the signature covers every
/// `(signature, instruction path)` pair of the transaction. Memory is bounded: both tables
/// are LRUs of `capacity` entries; an entry evicted long ago can no longer be recognized.
#[derive(Debug)]
pub struct Dedup {
    accounts: LruCache<Pubkey, (u64, u64)>,
    transactions: LruCache<Signature, ()>,
    dropped: u64,
}

impl Dedup {
    /// Remembers up to `capacity` accounts and `capacity` transactions (at least 1).
    pub fn new(capacity: usize) -> Dedup {
        let cap = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Dedup {
            accounts: LruCache::new(cap),
            transactions: LruCache::new(cap),
            dropped: 0,
        }
    }

    /// Whether `update` is new; marks it seen.
    pub fn admit(&mut self, update: &RawUpdate) -> bool {
        let new = match update {
            RawUpdate::Account(a) => {
                let version = (a.slot, a.write_version);
                match self.accounts.get_mut(&a.pubkey) {
                    Some(last) if *last >= version => false,
                    Some(last) => {
                        *last = version;
                        true
                    }
                    None => {
                        self.accounts.put(a.pubkey, version);
                        true
                    }
                }
            }
            RawUpdate::Transaction(t) => self.transactions.put(t.signature, ()).is_none(),
        };
        if !new {
            self.dropped = self.dropped.saturating_add(1);
        }
        new
    }

    /// Updates dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{AccountUpdate, Commitment, TransactionUpdate};

    fn account(slot: u64, wv: u64) -> RawUpdate {
        RawUpdate::Account(AccountUpdate {
            slot,
            write_version: wv,
            pubkey: Pubkey([1; 32]),
            owner: Pubkey([2; 32]),
            data: vec![],
            commitment: Commitment::Confirmed,
            txn_signature: None,
        })
    }

    fn tx(sig: u8) -> RawUpdate {
        RawUpdate::Transaction(TransactionUpdate {
            slot: 1,
            index: 0,
            signature: Signature([sig; 64]),
            account_keys: vec![],
            instructions: vec![],
            log_messages: vec![],
            failed: false,
            commitment: Commitment::Confirmed,
        })
    }

    #[test]
    fn accounts_only_newer_transactions_once() {
        let mut d = Dedup::new(8);
        assert!(d.admit(&account(5, 10)));
        assert!(!d.admit(&account(5, 10)), "same version");
        assert!(!d.admit(&account(4, 99)), "older slot");
        assert!(d.admit(&account(5, 11)));
        assert!(d.admit(&account(6, 1)));
        assert!(d.admit(&tx(1)));
        assert!(!d.admit(&tx(1)));
        assert!(d.admit(&tx(2)));
        assert_eq!(d.dropped(), 3);
    }
}
