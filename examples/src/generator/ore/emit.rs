//! Streaming: a transaction and its account writes, each write carrying the transaction's
//! signature, and the record of both.

use super::accounts::OreAccount;
use super::instructions::{OreIx, Program};
use super::record::{IxRecord, Sig, TreasuryWrite, WriteRecord};
use super::{Call, OreSim};
use crate::generator::{AccountWrite, Instruction, Pubkey, Transaction, Update};

impl OreSim {
    /// The program an instruction calls.
    pub(super) fn program_key(&self, ix: &OreIx) -> Pubkey {
        match ix.program() {
            Program::Ore => self.keys.ore_program,
            Program::Entropy => self.keys.entropy_program,
        }
    }

    /// Streams a transaction and its account writes (one write per account, its final value),
    /// writes first or last; records both.
    pub(super) fn emit(
        &mut self,
        index: u64,
        sig: Sig,
        calls: Vec<Call>,
        writes: Vec<(Pubkey, OreAccount)>,
        writes_first: bool,
        treasury_cause: Option<(&'static str, u64)>,
    ) {
        let mut instructions = Vec::with_capacity(calls.len());
        for (outer, call) in calls.into_iter().enumerate() {
            let outer = outer as u32;
            let mut inner = Vec::new();
            for (j, (ix, accounts)) in call.inner.into_iter().enumerate() {
                inner.push(Instruction {
                    program: self.program_key(&ix),
                    accounts: accounts.clone(),
                    data: ix.encode(),
                    inner: Vec::new(),
                });
                self.record.instructions.push(IxRecord {
                    signature: sig,
                    path: (outer, Some(j as u32)),
                    ix,
                    accounts,
                });
            }
            // The record lists the outer instruction before its CPIs, as the stream does.
            let at = self.record.instructions.len() - inner.len();
            self.record.instructions.insert(
                at,
                IxRecord {
                    signature: sig,
                    path: (outer, None),
                    ix: call.ix.clone(),
                    accounts: call.accounts.clone(),
                },
            );
            let ix = Instruction {
                program: self.program_key(&call.ix),
                accounts: call.accounts,
                data: call.ix.encode(),
                inner,
            };
            instructions.push((ix, call.logs));
        }
        let tx = Update::Transaction(Transaction::steel(self.slot, index, sig, instructions));
        let mut unique: Vec<(Pubkey, OreAccount)> = Vec::with_capacity(writes.len());
        for (key, account) in writes {
            match unique.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = account,
                None => unique.push((key, account)),
            }
        }
        if !writes_first {
            self.out.push(tx.clone());
        }
        for (key, account) in unique {
            self.write(key, account, Some(sig), treasury_cause);
        }
        if writes_first {
            self.out.push(tx);
        }
    }

    /// A write of the initial state (no transaction made it).
    pub(super) fn initial_write(&mut self, key: Pubkey, account: OreAccount) {
        self.write(key, account, None, None);
    }

    /// Streams one account write and records it (treasury writes with their cause).
    pub(super) fn write(
        &mut self,
        pubkey: Pubkey,
        account: OreAccount,
        sig: Option<Sig>,
        treasury_cause: Option<(&'static str, u64)>,
    ) {
        self.write_version += 1;
        if let OreAccount::Treasury(t) = &account {
            self.record.treasury.push(TreasuryWrite {
                slot: self.slot,
                signature: sig,
                cause: treasury_cause.map_or("initial", |(c, _)| c),
                round: treasury_cause.map(|(_, r)| r),
                treasury: t.clone(),
            });
        }
        let owner = match account {
            OreAccount::Var(_) => self.keys.entropy_program,
            _ => self.keys.ore_program,
        };
        self.out.push(Update::Account(AccountWrite {
            slot: self.slot,
            write_version: self.write_version,
            pubkey,
            owner,
            data: account.encode(),
            txn_signature: sig,
        }));
        self.record.writes.push(WriteRecord {
            write_version: self.write_version,
            pubkey,
            account,
        });
    }
}
