//! Deterministic data generators for the example stacks: simulations of the pump market, the
//! settlement game and the real `ore` mining game (with its `entropy` randomness) that emit what
//! a validator would stream — account updates (Borsh, or steel's C layout for ore) carrying the
//! signature of the transaction that wrote them, and transactions with their instructions and
//! logs — so the demo and the tests run without any endpoint or download.
//!
//! Same seed and length → the same updates, byte for byte.

pub mod encode;
pub mod game;
pub mod ore;
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
    /// Account data (discriminator + Borsh, or + C layout for steel programs).
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
    /// Instruction data (discriminator + Borsh args, or steel's packed args).
    pub data: Vec<u8>,
    /// Instructions it invoked (CPIs), in order; their own CPIs are not modelled.
    pub inner: Vec<Instruction>,
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
                inner: Vec::new(),
            }],
            logs,
        }
    }

    /// A transaction of a steel program: each top-level instruction logged as invoked at
    /// depth 1 (its CPIs at depth 2) with the given `Program log:` lines, then its success.
    /// Steel programs log no instruction names and, here, no events.
    pub fn steel(
        slot: u64,
        index: u64,
        signature: [u8; 64],
        instructions: Vec<(Instruction, Vec<String>)>,
    ) -> Transaction {
        let mut logs = Vec::new();
        for (ix, lines) in &instructions {
            let id = base58(&ix.program);
            logs.push(format!("Program {id} invoke [1]"));
            logs.extend(lines.iter().map(|l| format!("Program log: {l}")));
            for cpi in &ix.inner {
                let cpi_id = base58(&cpi.program);
                logs.push(format!("Program {cpi_id} invoke [2]"));
                logs.push(format!("Program {cpi_id} success"));
            }
            logs.push(format!("Program {id} success"));
        }
        Transaction {
            slot,
            index,
            signature,
            instructions: instructions.into_iter().map(|(ix, _)| ix).collect(),
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

/// The simulations, for the binaries that generate or serve their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulation {
    /// [`pump::PumpSim`]
    Pump,
    /// [`game::GameSim`]
    Game,
    /// [`ore::OreSim`] (default configuration)
    Ore,
}

impl Simulation {
    /// The updates of `slots` slots from `start_slot` for `seed`.
    pub fn updates(self, seed: u64, start_slot: u64, slots: u64) -> Vec<Update> {
        match self {
            Simulation::Pump => pump::PumpSim::new(seed, start_slot).run(slots).0,
            Simulation::Game => game::GameSim::new(seed, start_slot).run(slots).0,
            Simulation::Ore => ore::OreSim::new(seed, start_slot).run(slots).0,
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
