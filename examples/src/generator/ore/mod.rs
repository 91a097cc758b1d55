//! The ore simulation: the real `ore` mining game (steel; accounts in C layout after their
//! 8-byte discriminators) and its `entropy` randomness, as the published IDLs describe them
//! (where mainnet differs, the IDL wins).
//!
//! Rounds `0, 1, 2, …` each live in a `Round` account. A round waits for its first `deploy`,
//! which starts it (`Board` slots, the round's `expires_at`) and, through a CPI of entropy
//! `next`, reopens the one entropy `Var` every round shares (commit = the previous seed; seed,
//! slot hash and value cleared). Miners deploy lamports on squares for `round_slots` slots,
//! some through an `Automation` whose executor deploys for them. At the round's end the
//! provider `sample`s the slot hash, then `reveal`s its seed, which sets the var's value;
//! after the intermission a crank sends `reset`, which resolves the round with that value
//! (winning square, vault, top miner reward, the motherlode), writes the `Treasury`, and
//! opens the next round. Miners `checkpoint` their last round before deploying again (in the
//! same transaction), or the crank does it for them.
//!
//! Every account write carries the signature of the transaction that made it. The writes of a
//! transaction are streamed before or after the transaction itself at random, except in each
//! round's first deploy: in odd rounds the var's `next` write comes first, so a consumer sees
//! round N+1's var before the deploy that links it to round N+1 (the race a join must
//! survive); in even rounds the deploy comes first. Accounts are written when their data
//! changes (a validator also re-sends unchanged writable accounts; the simulation does not).
//!
//! [`OreSim::run`] returns the updates and an [`OreRecord`] of what was done: enough for a test
//! to compute independently what a correct ore stack shows.

pub mod accounts;
mod emit;
pub mod instructions;
pub mod keys;
mod lifecycle;
mod miners;
pub mod program;
pub mod record;

use accounts::{Automation, Board, Miner, OreAccount, Round, Treasury, Var};
use instructions::OreIx;
use keys::OreKeys;
use record::{MinerRecord, OreRecord, RoundRecord, Sig};

use super::rng::Rng;
use super::{Pubkey, Update};

pub use keys::{ENTROPY_PROGRAM, ORE_MINT, ORE_PROGRAM};
pub use program::ONE_ORE;

/// Slots in a day: how long after its end a round can still be checkpointed.
pub const ONE_DAY_SLOTS: u64 = 216_000;
/// Lamports per SOL.
pub const LAMPORTS_PER_SOL: u64 = 1_000_000_000;
/// Lamports per square manual miners choose from.
const AMOUNTS: [u64; 6] = [
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
];

/// How the simulation plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OreConfig {
    /// Slots a round takes deploys, from its first deploy (ore: 150).
    pub round_slots: u64,
    /// Slots from a round's end to its reset (ore: 35).
    pub intermission_slots: u64,
    /// Wallets that mine.
    pub miners: usize,
    /// How many of them (the first ones) deploy through an automation.
    pub automated: usize,
    /// With `Some(n)`, every round whose id is `n - 1` modulo `n` hits the motherlode (the
    /// provider's sampled slot hash is chosen so); otherwise only chance does (1 in 625).
    pub motherlode_every: Option<u64>,
}

impl Default for OreConfig {
    fn default() -> OreConfig {
        OreConfig {
            round_slots: 150,
            intermission_slots: 35,
            miners: 24,
            automated: 6,
            motherlode_every: Some(4),
        }
    }
}

/// One wallet as the simulation tracks it.
#[derive(Debug, Clone)]
struct MinerState {
    authority: Pubkey,
    address: Pubkey,
    automation_address: Pubkey,
    miner: Option<Miner>,
    automation: Option<Automation>,
    automated: bool,
    /// Deployed in a round not checkpointed yet.
    pending_checkpoint: bool,
    /// Index in the record, once it acted.
    record: Option<usize>,
    /// Slot its automation deploys in the current round.
    auto_slot: Option<u64>,
}

/// One instruction of a transaction being built.
struct Call {
    ix: OreIx,
    accounts: Vec<Pubkey>,
    logs: Vec<String>,
    inner: Vec<(OreIx, Vec<Pubkey>)>,
}

/// The simulation's state and output.
pub struct OreSim {
    rng: Rng,
    config: OreConfig,
    keys: OreKeys,
    board: Board,
    treasury: Treasury,
    var: Var,
    rounds: Vec<Round>,
    miners: Vec<MinerState>,
    seeds: Vec<[u8; 32]>,
    slot: u64,
    tx_index: u64,
    write_version: u64,
    out: Vec<Update>,
    record: OreRecord,
}

impl OreSim {
    /// A simulation for a seed, starting at `start_slot`, with the default [`OreConfig`].
    pub fn new(seed: u64, start_slot: u64) -> OreSim {
        let mut rng = Rng::new(seed ^ 0x0E0E_5EED);
        let keys = OreKeys::new(&mut rng);
        OreSim {
            rng,
            config: OreConfig::default(),
            record: OreRecord {
                keys: keys.clone(),
                ..OreRecord::default()
            },
            keys,
            board: Board::default(),
            treasury: Treasury::default(),
            var: Var::default(),
            rounds: Vec::new(),
            miners: Vec::new(),
            seeds: Vec::new(),
            slot: start_slot,
            tx_index: 0,
            write_version: 0,
            out: Vec::new(),
        }
    }

    /// Plays with `config` instead of the default.
    pub fn with_config(mut self, config: OreConfig) -> OreSim {
        self.config = config;
        self
    }

    /// Runs `slots` slots; returns the updates, in stream order, and the record.
    pub fn run(mut self, slots: u64) -> (Vec<Update>, OreRecord) {
        let end = self.slot.saturating_add(slots);
        self.setup(slots);
        while self.slot < end {
            self.step();
            self.slot += 1;
        }
        for (round, state) in self.record.rounds.iter_mut().zip(&self.rounds) {
            round.top_miner = state.top_miner;
        }
        (self.out, self.record)
    }

    /// Wallets, the provider's seeds, and the initial accounts (written without a signature).
    fn setup(&mut self, slots: u64) {
        for i in 0..self.config.miners {
            let authority = self.rng.key();
            self.miners.push(MinerState {
                address: self.keys.miner(&authority),
                automation_address: self.keys.automation(&authority),
                authority,
                miner: None,
                automation: None,
                automated: i < self.config.automated,
                pending_checkpoint: false,
                record: None,
                auto_slot: None,
            });
        }
        // The provider reveals a hash chain backwards: each seed hashes to the one before,
        // so `next` can commit to the previous seed.
        let rounds = slots / (self.config.round_slots + 3) + 2;
        let mut seed = self.rng.key();
        self.seeds = vec![[0; 32]; rounds as usize];
        for s in self.seeds.iter_mut().rev() {
            *s = seed;
            seed = program::hash32(&seed);
        }
        self.board = Board {
            round_id: 0,
            start_slot: self.slot,
            end_slot: u64::MAX,
            epoch_id: 0,
        };
        self.treasury = Treasury {
            balance: 250 * LAMPORTS_PER_SOL,
            motherlode: 3 * ONE_ORE,
            total_staked: 120_000 * ONE_ORE,
            ..Treasury::default()
        };
        self.var = Var {
            authority: self.keys.board,
            provider: self.keys.provider,
            commit: program::hash32(&self.seed(0)),
            samples: 100_000,
            start_at: self.slot,
            ..Var::default()
        };
        self.open_round(None);
        let board = OreAccount::Board(self.board.clone());
        self.initial_write(self.keys.board, board);
        let round = OreAccount::Round(self.rounds[0].clone());
        self.initial_write(self.keys.round(0), round);
        let treasury = OreAccount::Treasury(self.treasury.clone());
        self.initial_write(self.keys.treasury, treasury);
        let var = OreAccount::Var(self.var.clone());
        self.initial_write(self.keys.var, var);
    }

    /// The provider's seed for round `round`.
    fn seed(&self, round: u64) -> [u8; 32] {
        match self.seeds.get(round as usize) {
            Some(s) => *s,
            // Unreachable with the estimate above; still a valid (if unchained) seed.
            None => program::hash32(&[round as u8; 32]),
        }
    }

    /// One slot: automations opening, the round's phase (waiting for its first deploy,
    /// deploys, sample, reveal, reset), a crank checkpoint.
    fn step(&mut self) {
        self.tx_index = 0;
        let unopened = self
            .miners
            .iter()
            .position(|m| m.automated && m.automation.is_none());
        if let Some(m) = unopened {
            if self.rng.chance(0.1) {
                self.automate(m);
            }
        }
        if self.board.end_slot == u64::MAX {
            if self.rng.chance(0.5) {
                self.manual_deploy();
            }
        } else if self.slot < self.board.end_slot {
            let due: Vec<usize> = (0..self.miners.len())
                .filter(|&m| self.miners[m].auto_slot == Some(self.slot))
                .collect();
            for m in due {
                self.automated_deploy(m);
            }
            for _ in 0..self.rng.below(3) {
                self.manual_deploy();
            }
        } else {
            let entropy = &self.record.rounds[self.board.round_id as usize].entropy;
            if entropy.sample.is_none() {
                self.sample();
            } else if entropy.reveal.is_none() {
                self.reveal();
            } else if self.slot >= self.board.end_slot + self.config.intermission_slots {
                self.reset();
            }
        }
        if self.rng.chance(0.35) {
            self.crank_checkpoint();
        }
    }

    /// The next transaction's index in the slot and its signature.
    fn next_tx(&mut self) -> (u64, Sig) {
        let index = self.tx_index;
        self.tx_index += 1;
        (index, self.rng.signature())
    }

    /// The current round's id, as an index.
    fn current(&self) -> usize {
        self.board.round_id as usize
    }

    /// Opens round `rounds.len()` (by the reset `by`, or as the initial state).
    fn open_round(&mut self, by: Option<Sig>) {
        let id = self.rounds.len() as u64;
        self.rounds.push(Round {
            id,
            expires_at: u64::MAX,
            rent_payer: self.keys.crank,
            ..Round::default()
        });
        self.record.rounds.push(RoundRecord {
            id,
            address: self.keys.round(id),
            opened_slot: self.slot,
            opened_by: by,
            rent_payer: self.keys.crank,
            expires_at: u64::MAX,
            ..RoundRecord::default()
        });
    }

    /// The miner's index in the record, adding it on its first action.
    fn appear(&mut self, m: usize) -> usize {
        if let Some(i) = self.miners[m].record {
            return i;
        }
        let s = &self.miners[m];
        self.record.miners.push(MinerRecord {
            authority: s.authority,
            miner_address: s.address,
            automation_address: s.automation_address,
            automate: None,
        });
        let i = self.record.miners.len() - 1;
        self.miners[m].record = Some(i);
        i
    }
}

#[cfg(test)]
mod tests;
