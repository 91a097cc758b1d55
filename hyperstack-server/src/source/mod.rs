//! The source stage: raw Solana updates from Yellowstone gRPC or a replay recording.
//!
//! Every source produces [`RawUpdate`]s: account writes (slot, write version, address, owner,
//! data, and the signature of the transaction that made the write when known) and
//! transactions (slot, index, signature, account keys, top-level and inner instructions with
//! their path, log messages). [`replay`] reads and writes the JSON Lines
//! recording format (docs/REPLAY.md); [`yellowstone`] subscribes to a Geyser endpoint with
//! `from_slot` resume and backoff; [`Dedup`] drops what a resumed stream sends twice;
//! [`rpc`] reads a program's existing accounts from a Solana RPC endpoint, which the server
//! bootstraps from on a first start and when the checkpoint fell out of the upstream's replay
//! window (`bootstrap`, `live`).

pub(crate) mod bootstrap;
mod dedup;
mod keys;
pub(crate) mod live;
mod record;
pub mod replay;
pub mod rpc;
pub mod yellowstone;
mod yellowstone_convert;

use std::fmt;
use std::str::FromStr;

pub use dedup::Dedup;
pub use keys::{KeyParseError, Pubkey, Signature};
pub use record::{record, RecordError, RecordOptions};

/// The commitment level updates are delivered at.
///
/// Only `confirmed` (the default) and `finalized` are supported for ingestion: the transform
/// does not roll back updates of slots that die later, so `processed` is rejected when the
/// server starts (see docs/REPLAY.md, "Commitment").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Commitment {
    /// Processed by the node; the slot may still be skipped (not supported for ingestion).
    Processed,
    /// Voted on by a supermajority (the default).
    #[default]
    Confirmed,
    /// Rooted.
    Finalized,
}

impl Commitment {
    /// `processed`, `confirmed` or `finalized`.
    pub fn as_str(self) -> &'static str {
        match self {
            Commitment::Processed => "processed",
            Commitment::Confirmed => "confirmed",
            Commitment::Finalized => "finalized",
        }
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Commitment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "processed" => Ok(Commitment::Processed),
            "confirmed" => Ok(Commitment::Confirmed),
            "finalized" => Ok(Commitment::Finalized),
            other => Err(format!(
                "unknown commitment `{other}` (expected processed, confirmed or finalized)"
            )),
        }
    }
}

/// One update from a source.
#[derive(Debug, Clone, PartialEq)]
pub enum RawUpdate {
    /// An account was written.
    Account(AccountUpdate),
    /// A transaction touching one of the stack's programs.
    Transaction(TransactionUpdate),
}

impl RawUpdate {
    /// The slot of the update.
    pub fn slot(&self) -> u64 {
        match self {
            RawUpdate::Account(a) => a.slot,
            RawUpdate::Transaction(t) => t.slot,
        }
    }
}

/// An account write.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountUpdate {
    /// Slot of the write.
    pub slot: u64,
    /// Validator-wide write counter; orders writes of one account within a slot.
    pub write_version: u64,
    /// The account's address.
    pub pubkey: Pubkey,
    /// The program owning the account.
    pub owner: Pubkey,
    /// The account data.
    pub data: Vec<u8>,
    /// Commitment the update was delivered at.
    pub commitment: Commitment,
    /// Signature of the transaction that made this write, when the source knows it.
    /// Yellowstone sends it with each account update; it is `None` when the source does not
    /// say (and in recordings made before the field existed).
    /// Matching it against [`TransactionUpdate::signature`] tells which instructions
    /// produced the write.
    pub txn_signature: Option<Signature>,
}

/// Where an instruction sits in its transaction: the top-level index, and for an inner
/// (CPI) instruction its index in that top-level instruction's inner list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IxPath {
    /// Index of the top-level instruction.
    pub outer: u32,
    /// Index among the inner instructions of `outer`, for a CPI.
    pub inner: Option<u32>,
}

impl fmt::Display for IxPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner {
            Some(i) => write!(f, "{}.{}", self.outer, i),
            None => write!(f, "{}", self.outer),
        }
    }
}

/// One instruction of a transaction, compiled against the transaction's account keys.
#[derive(Debug, Clone, PartialEq)]
pub struct RawInstruction {
    /// Position in the transaction.
    pub path: IxPath,
    /// Index of the program in [`TransactionUpdate::account_keys`].
    pub program_index: u8,
    /// Indexes of the instruction's accounts in [`TransactionUpdate::account_keys`].
    pub accounts: Vec<u8>,
    /// Instruction data.
    pub data: Vec<u8>,
}

/// A transaction that mentions one of the stack's programs.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionUpdate {
    /// Slot of the transaction.
    pub slot: u64,
    /// Index of the transaction in its block.
    pub index: u64,
    /// First signature (the transaction id).
    pub signature: Signature,
    /// Static account keys, then addresses loaded from lookup tables (writable, then
    /// read-only), as instructions index them.
    pub account_keys: Vec<Pubkey>,
    /// Top-level instructions, each followed by its inner instructions, in execution order.
    pub instructions: Vec<RawInstruction>,
    /// Log messages (events are read from `Program data:` lines).
    pub log_messages: Vec<String>,
    /// Whether the transaction failed (its instructions and events are ignored).
    pub failed: bool,
    /// Commitment the update was delivered at.
    pub commitment: Commitment,
}

impl TransactionUpdate {
    /// The account key at `index`, if the transaction has one.
    pub fn key(&self, index: u8) -> Option<&Pubkey> {
        self.account_keys.get(usize::from(index))
    }
}
