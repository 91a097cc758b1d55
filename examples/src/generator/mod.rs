//! Deterministic data generators for the example stacks: simulations of the pump market and the
//! settlement game that emit what a validator would stream — account updates with Borsh-encoded
//! data and transactions with their instructions and event logs — so the demo and the tests run
//! without any endpoint or download.
//!
//! Same seed and length → the same updates, byte for byte.

pub mod encode;
pub mod game;
pub mod pump;
pub mod replay;
pub mod rng;

/// A 32-byte public key.
pub type Pubkey = [u8; 32];

/// One account write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWrite {
    /// Slot of the write.
    pub slot: u64,
    /// Order of writes within the slot (globally increasing in a run).
    pub write_version: u64,
    /// The account's address.
    pub pubkey: Pubkey,
    /// The program owning it.
    pub owner: Pubkey,
    /// Account data (discriminator + Borsh).
    pub data: Vec<u8>,
    /// Signature of the transaction that made the write.
    pub txn_signature: Option<[u8; 64]>,
}

/// One instruction of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The program it calls.
    pub program: Pubkey,
    /// Its accounts, in the IDL's role order.
    pub accounts: Vec<Pubkey>,
    /// Instruction data (discriminator + Borsh args).
    pub data: Vec<u8>,
}

/// One transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Slot it landed in.
    pub slot: u64,
    /// Index within the slot.
    pub index: u64,
    /// 64-byte signature.
    pub signature: [u8; 64],
    /// Top-level instructions.
    pub instructions: Vec<Instruction>,
    /// Log lines, including `Program data: <base64>` event lines.
    pub logs: Vec<String>,
}

impl Transaction {
    /// A transaction with one instruction of `program`, logged as an Anchor program logs it:
    /// invoke, `Instruction: <name>`, one `Program data:` line per event, success.
    #[allow(clippy::too_many_arguments)]
    pub fn anchor(
        slot: u64,
        index: u64,
        signature: [u8; 64],
        program: Pubkey,
        instruction: &str,
        accounts: Vec<Pubkey>,
        data: Vec<u8>,
        events: &[Vec<u8>],
    ) -> Transaction {
        let id = base58(&program);
        let mut logs = vec![
            format!("Program {id} invoke [1]"),
            format!("Program log: Instruction: {instruction}"),
        ];
        logs.extend(events.iter().map(|e| encode::event_log(e)));
        logs.push(format!("Program {id} success"));
        Transaction {
            slot,
            index,
            signature,
            instructions: vec![Instruction {
                program,
                accounts,
                data,
            }],
            logs,
        }
    }
}

/// What a simulation emits, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// An account changed.
    Account(AccountWrite),
    /// A transaction executed.
    Transaction(Transaction),
}

impl Update {
    /// The update's slot.
    pub fn slot(&self) -> u64 {
        match self {
            Update::Account(a) => a.slot,
            Update::Transaction(t) => t.slot,
        }
    }
}

/// Base58 text of a key (addresses as clients see them).
pub fn base58(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

/// Parses a base58 address into 32 bytes.
pub fn pubkey(text: &str) -> Option<Pubkey> {
    let bytes = bs58::decode(text).into_vec().ok()?;
    bytes.try_into().ok()
}
