//! References to on-chain sources and the values taken from them.

use serde::{Deserialize, Serialize};

/// Whether a source is an account, an instruction or an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Account updates of one account type.
    Account,
    /// Executions of one instruction.
    Instruction,
    /// Emissions of one event.
    Event,
}

/// One account type, instruction or event of one of the stack's programs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// Index of the program in [`crate::Stack::idls`].
    pub program: usize,
    /// What it is.
    pub kind: SourceKind,
    /// Its name as the IDL spells it.
    pub name: String,
}

/// A value taken from a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum ValuePath {
    /// The whole decoded item (account data, instruction arguments, event data).
    Whole,
    /// `@address`: the account's address (accounts only).
    Address,
    /// `@slot`: the slot of the update or transaction.
    Slot,
    /// `@signature`: the transaction signature (instructions and events).
    Signature,
    /// A (nested) field of an account: `BondingCurve.virtual_sol_reserves`.
    Field(Vec<String>),
    /// A (nested) instruction argument: `buy.args.amount`.
    Arg(Vec<String>),
    /// The address in an instruction's account role: `buy.accounts.bonding_curve`.
    AccountRole(String),
    /// A (nested) event field: `TradeEvent.data.mint`.
    Data(Vec<String>),
}

/// How a source finds the entity it contributes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyBinding {
    /// The value at this path is the entity's primary key.
    Direct {
        /// Path relative to the source.
        path: ValuePath,
    },
    /// The value at this path is looked up in the named lookup index.
    Lookup {
        /// Path relative to the source.
        path: ValuePath,
        /// Lookup index name.
        index: String,
    },
}
