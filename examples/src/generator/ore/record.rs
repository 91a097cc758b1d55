//! What the ore simulation did, recorded as it did it: the inputs a test needs to compute,
//! on its own, what a correct stack shows (per round: deployments by square and miner, the
//! entropy samples and the revealed value, the reset, the checkpoints; every treasury write),
//! and every account and instruction it encoded with the typed value it meant, so a test can
//! check the bytes against an independent encoder.

use super::accounts::{OreAccount, Treasury, Var};
use super::instructions::OreIx;
use super::keys::OreKeys;
use crate::generator::Pubkey;

/// A transaction signature.
pub type Sig = [u8; 64];

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OreRecord {
    /// The fixed addresses (programs, board, treasury, var, signers).
    pub keys: OreKeys,
    /// Every round opened, by id (`rounds[i].id == i`).
    pub rounds: Vec<RoundRecord>,
    /// Every miner that appeared, in order of appearance.
    pub miners: Vec<MinerRecord>,
    /// Every write of the treasury, in stream order.
    pub treasury: Vec<TreasuryWrite>,
    /// Every account write, with the typed value it encodes, in stream order.
    pub writes: Vec<WriteRecord>,
    /// Every instruction sent (inner ones included), in stream order of their transactions.
    pub instructions: Vec<IxRecord>,
}

/// One round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundRecord {
    /// Round number.
    pub id: u64,
    /// The `Round` account's address.
    pub address: Pubkey,
    /// Slot its account was created (by the previous round's reset, or the initial state).
    pub opened_slot: u64,
    /// The reset that created it (`None` for the first round, part of the initial state).
    pub opened_by: Option<Sig>,
    /// Who paid its rent.
    pub rent_payer: Pubkey,
    /// Slot of the first deploy, which started the round.
    pub start_slot: Option<u64>,
    /// Last slot for deploys + 1 (`start_slot + round_slots`).
    pub end_slot: Option<u64>,
    /// The round's `expires_at` once started (`u64::MAX` before).
    pub expires_at: u64,
    /// Every `deploy` naming this round, in order.
    pub deployments: Vec<Deployment>,
    /// Every `checkpoint` naming this round, in order.
    pub checkpoints: Vec<CheckpointRecord>,
    /// The entropy var as each step of this round's sample left it.
    pub entropy: EntropyRecord,
    /// Whether the var's `next` write (in the first deploy's transaction) was streamed before
    /// that deploy's transaction (the race a join must survive).
    pub var_before_first_deploy: bool,
    /// The reset that resolved the round, once it happened.
    pub reset: Option<ResetRecord>,
    /// The `top_miner` the Round account holds at the end of the run.
    pub top_miner: Pubkey,
}

/// One `deploy` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Slot of the transaction.
    pub slot: u64,
    /// Its signature.
    pub signature: Sig,
    /// The miner's wallet.
    pub authority: Pubkey,
    /// Who signed: the authority, or the automation's executor.
    pub signer: Pubkey,
    /// Whether the executor deployed for an automation.
    pub automated: bool,
    /// The instruction's `amount` argument (lamports per square).
    pub amount: u64,
    /// The instruction's `squares` argument.
    pub mask: u32,
    /// Lamports actually deployed on each square (squares the miner already held this round,
    /// and squares an automation could no longer pay for, are skipped, as the program does).
    pub amounts: [u64; 25],
}

/// One `checkpoint` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    /// Slot of the transaction.
    pub slot: u64,
    /// Its signature.
    pub signature: Sig,
    /// The miner's wallet.
    pub authority: Pubkey,
    /// Lamports credited.
    pub rewards_sol: u64,
    /// ORE credited.
    pub rewards_ore: u64,
    /// Whether this miner was found to be the top miner (the Round's `top_miner` was set).
    pub top_miner: bool,
}

/// The var's sample for one round: `next` (in the first deploy), `sample`, `reveal`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntropyRecord {
    /// The var after `next` opened this round's sample (value cleared).
    pub next: Option<VarWrite>,
    /// The var after `sample` recorded the slot hash (value still zero).
    pub sample: Option<VarWrite>,
    /// The var after `reveal` set seed and value.
    pub reveal: Option<VarWrite>,
}

impl EntropyRecord {
    /// The revealed value, once `reveal` ran.
    pub fn value(&self) -> Option<[u8; 32]> {
        self.reveal.as_ref().map(|w| w.var.value)
    }
}

/// A write of the entropy var.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarWrite {
    /// Slot.
    pub slot: u64,
    /// The transaction that made it.
    pub signature: Sig,
    /// The var as written.
    pub var: Var,
}

/// One `reset`: the round resolved with the revealed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetRecord {
    /// Slot of the transaction.
    pub slot: u64,
    /// Its signature.
    pub signature: Sig,
    /// Who signed (and paid the next round's rent).
    pub signer: Pubkey,
    /// The value read from the var (the Round's `slot_hash` from now on).
    pub value: [u8; 32],
    /// The treasury's motherlode before the reset.
    pub motherlode_before: u64,
    /// ... and after it (zeroed when the round hit, plus this round's addition).
    pub motherlode_after: u64,
    /// Derived by the simulator with ore's rules (a test should recompute what the stack
    /// computes): the winning square (`None` when the value gave no random number).
    pub winning_square: Option<usize>,
    /// Derived: whether the motherlode paid out.
    pub motherlode_hit: bool,
    /// Derived: whether the top miner reward is split among the winners.
    pub split: bool,
}

/// A miner (one authority).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerRecord {
    /// The wallet.
    pub authority: Pubkey,
    /// Its `Miner` account's address.
    pub miner_address: Pubkey,
    /// Its `Automation` account's address (passed to every deploy, even without one).
    pub automation_address: Pubkey,
    /// The `automate` instruction that opened its automation, if any.
    pub automate: Option<(u64, Sig, OreIx)>,
}

/// A write of the treasury.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasuryWrite {
    /// Slot.
    pub slot: u64,
    /// The transaction that made it (`None` for the initial state).
    pub signature: Option<Sig>,
    /// `initial`, `reset` or `checkpoint`.
    pub cause: &'static str,
    /// The round that transaction named (`reset`: the round resolved; `checkpoint`: the
    /// miner's round).
    pub round: Option<u64>,
    /// The treasury as written.
    pub treasury: Treasury,
}

/// An account write: its place in the stream and the typed value its data encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    /// Write version (unique in a run).
    pub write_version: u64,
    /// The account's address.
    pub pubkey: Pubkey,
    /// The value.
    pub account: OreAccount,
}

/// An instruction sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IxRecord {
    /// Its transaction.
    pub signature: Sig,
    /// Top-level index, and index among that instruction's inner instructions for a CPI.
    pub path: (u32, Option<u32>),
    /// The instruction.
    pub ix: OreIx,
    /// Its accounts, in the IDL's role order.
    pub accounts: Vec<Pubkey>,
}
