//! Canonical order within a slot, for stacks whose results depend on it.
//!
//! Account writes and transactions of one slot reach the server on separate paths and in no
//! fixed order. When a stack joins accounts through lookups that instructions re-point, or
//! conditions a field on the instruction that wrote an account (`when`) or stops it after one
//! (`stop`), the transform holds a slot's updates until the slot is complete (an update of a
//! later slot arrives, or the source ends) and then applies them in this order:
//!
//! 1. transactions by their index in the block; right after each, the account writes it made
//!    (matched by `txn_signature`), by write version;
//! 2. account writes whose transaction is unknown (no signature, or a transaction the source
//!    did not deliver) at their write version's place: before the first transaction that
//!    made a later write (write versions grow in execution order), else at the end of the
//!    slot. The lookup entries such writes register (identities such as an account's address
//!    → its id) take effect at the start of the slot, so the slot's instructions find them.
//!
//! The writes of one transaction register their lookup entries before any of their values
//! apply. So an account write sees the links made by its own transaction and by earlier
//! ones, never those of later transactions, whatever order the updates arrived in.

use std::collections::{HashMap, HashSet};

use crate::source::{AccountUpdate, Pubkey, Signature, TransactionUpdate};

/// The updates of one slot, held until the slot is complete.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotBuffer {
    pub slot: u64,
    pub transactions: Vec<TransactionUpdate>,
    pub accounts: Vec<AccountUpdate>,
}

/// One step of a slot in canonical order.
#[derive(Debug)]
pub(crate) enum Step {
    Transaction(TransactionUpdate),
    /// An account write; `in_transaction` when it follows the transaction that wrote it.
    Account {
        update: AccountUpdate,
        in_transaction: bool,
    },
}

impl SlotBuffer {
    /// A buffer for `slot`.
    pub fn new(slot: u64) -> SlotBuffer {
        SlotBuffer {
            slot,
            ..SlotBuffer::default()
        }
    }

    /// Updates held.
    pub fn len(&self) -> usize {
        self.transactions.len() + self.accounts.len()
    }

    /// The held updates in canonical order (see the [module docs](self)).
    pub fn into_steps(self) -> Vec<Step> {
        let SlotBuffer {
            mut transactions,
            mut accounts,
            ..
        } = self;
        transactions.sort_by_key(|t| t.index);
        accounts.sort_by_key(|a| a.write_version);
        let known: HashSet<Signature> = transactions.iter().map(|t| t.signature).collect();
        let mut by_tx: HashMap<Signature, Vec<AccountUpdate>> = HashMap::new();
        let mut unknown = std::collections::VecDeque::new();
        for a in accounts {
            match a.txn_signature {
                Some(sig) if known.contains(&sig) => by_tx.entry(sig).or_default().push(a),
                _ => unknown.push_back(a),
            }
        }
        let mut steps = Vec::with_capacity(transactions.len() + by_tx.len() + unknown.len());
        let unknown_step = |update| Step::Account {
            update,
            in_transaction: false,
        };
        for t in transactions {
            let writes = by_tx.remove(&t.signature).unwrap_or_default();
            if let Some(first) = writes.first() {
                while unknown
                    .front()
                    .is_some_and(|u: &AccountUpdate| u.write_version < first.write_version)
                {
                    steps.extend(unknown.pop_front().map(unknown_step));
                }
            }
            steps.push(Step::Transaction(t));
            steps.extend(writes.into_iter().map(|update| Step::Account {
                update,
                in_transaction: true,
            }));
        }
        steps.extend(unknown.into_iter().map(unknown_step));
        steps
    }
}

/// Which instructions named which accounts: in the transaction being applied, and anywhere in
/// the slot. Only instructions some `when` names are recorded.
#[derive(Debug, Default)]
pub(crate) struct Touches {
    transaction: HashSet<(Pubkey, usize, usize)>,
    slot: HashSet<(Pubkey, usize, usize)>,
}

impl Touches {
    /// A transaction begins.
    pub fn begin_transaction(&mut self) {
        self.transaction.clear();
    }

    /// Instruction `(program, instruction)` named `account`.
    pub fn record(&mut self, account: Pubkey, program: usize, instruction: usize) {
        self.transaction.insert((account, program, instruction));
        self.slot.insert((account, program, instruction));
    }

    /// Whether the instruction named `account` in the current transaction
    /// (`in_transaction`), or in the slot so far.
    pub fn touched(
        &self,
        account: &Pubkey,
        in_transaction: bool,
        program: usize,
        instruction: usize,
    ) -> bool {
        let key = (*account, program, instruction);
        if in_transaction {
            self.transaction.contains(&key)
        } else {
            self.slot.contains(&key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Commitment;

    fn tx(index: u64, sig: u8) -> TransactionUpdate {
        TransactionUpdate {
            slot: 5,
            index,
            signature: Signature([sig; 64]),
            account_keys: vec![],
            instructions: vec![],
            log_messages: vec![],
            failed: false,
            commitment: Commitment::Confirmed,
        }
    }

    fn write(wv: u64, sig: Option<u8>) -> AccountUpdate {
        AccountUpdate {
            slot: 5,
            write_version: wv,
            pubkey: Pubkey([1; 32]),
            owner: Pubkey([2; 32]),
            data: vec![],
            commitment: Commitment::Confirmed,
            txn_signature: sig.map(|s| Signature([s; 64])),
        }
    }

    fn describe(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Transaction(t) => format!("tx{}", t.index),
                Step::Account {
                    update,
                    in_transaction,
                } => format!(
                    "w{}{}",
                    update.write_version,
                    if *in_transaction { "" } else { "?" }
                ),
            })
            .collect()
    }

    #[test]
    fn transactions_then_their_writes_then_unknown_writes() {
        let mut b = SlotBuffer::new(5);
        // Arrival order: writes first, transactions out of index order.
        b.accounts.push(write(30, Some(2)));
        b.accounts.push(write(10, None));
        b.accounts.push(write(20, Some(1)));
        b.accounts.push(write(25, Some(9))); // a transaction never delivered
        b.accounts.push(write(21, Some(1)));
        b.transactions.push(tx(7, 2));
        b.transactions.push(tx(3, 1));
        assert_eq!(b.len(), 7);
        // w10 happened before tx3's writes, w25 between tx3's and tx7's.
        assert_eq!(
            describe(&b.into_steps()),
            ["w10?", "tx3", "w20", "w21", "w25?", "tx7", "w30"]
        );
    }

    #[test]
    fn without_signatures_writes_come_after_every_transaction() {
        let mut b = SlotBuffer::new(5);
        b.accounts.push(write(2, None));
        b.accounts.push(write(1, None));
        b.transactions.push(tx(1, 1));
        b.transactions.push(tx(0, 2));
        assert_eq!(describe(&b.into_steps()), ["tx0", "tx1", "w1?", "w2?"]);
    }

    #[test]
    fn touches_are_scoped_to_the_transaction_or_the_slot() {
        let mut t = Touches::default();
        let a = Pubkey([3; 32]);
        t.begin_transaction();
        t.record(a, 0, 4);
        assert!(t.touched(&a, true, 0, 4));
        assert!(!t.touched(&a, true, 0, 5));
        t.begin_transaction();
        assert!(!t.touched(&a, true, 0, 4), "another transaction");
        assert!(t.touched(&a, false, 0, 4), "but the same slot");
    }
}
