//! The `ore` and `entropy` accounts as the published IDLs declare them, and their steel
//! encoding: an 8-byte discriminator followed by the `#[repr(C)]` (bytemuck) struct, each
//! field aligned to its natural alignment and the struct padded to its largest one.

use super::super::Pubkey;

/// Discriminators (first byte; the other seven are zero) of the ore accounts.
pub mod discriminator {
    /// `Automation`
    pub const AUTOMATION: u8 = 100;
    /// `Miner`
    pub const MINER: u8 = 103;
    /// `Treasury`
    pub const TREASURY: u8 = 104;
    /// `Board`
    pub const BOARD: u8 = 105;
    /// `Round`
    pub const ROUND: u8 = 109;
    /// entropy `Var` (eight zero bytes).
    pub const VAR: u8 = 0;
}

/// A C-layout writer: fields aligned from the start of the struct (after the discriminator).
struct CLayout {
    out: Vec<u8>,
    start: usize,
    align: usize,
}

impl CLayout {
    fn new(discriminator: u8) -> CLayout {
        let mut out = vec![0u8; 8];
        out[0] = discriminator;
        CLayout {
            out,
            start: 8,
            align: 1,
        }
    }

    fn pad_to(&mut self, align: usize) {
        self.align = self.align.max(align);
        while !(self.out.len() - self.start).is_multiple_of(align) {
            self.out.push(0);
        }
    }

    fn u64(mut self, v: u64) -> Self {
        self.pad_to(8);
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn i64(mut self, v: i64) -> Self {
        self.pad_to(8);
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn u64s(self, values: &[u64]) -> Self {
        values.iter().fold(self, |w, &v| w.u64(v))
    }

    /// Byte arrays and public keys (alignment 1); a steel `Numeric` is `{ bits: [u8; 16] }`.
    fn bytes(mut self, b: &[u8]) -> Self {
        self.pad_to(1);
        self.out.extend_from_slice(b);
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let align = self.align;
        self.pad_to(align);
        self.out
    }
}

/// ore `Round`: one mining round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Round number.
    pub id: u64,
    /// Lamports deployed on each square.
    pub deployed: [u64; 25],
    /// The revealed entropy value the round was resolved with (zero until `reset`).
    pub slot_hash: [u8; 32],
    /// Miners on each square.
    pub count: [u64; 25],
    /// Slot after which the round can no longer be checkpointed (`u64::MAX` until the first
    /// deploy starts the round).
    pub expires_at: u64,
    /// ORE paid from the motherlode (when it hit).
    pub motherlode: u64,
    /// Who paid the account's rent.
    pub rent_payer: Pubkey,
    /// The top miner (set by the checkpoint that finds them, or the split address).
    pub top_miner: Pubkey,
    /// ORE for the top miner.
    pub top_miner_reward: u64,
    /// Lamports deployed in total.
    pub total_deployed: u64,
    /// Miners that deployed in the round.
    pub total_miners: u64,
    /// Lamports sent to the treasury.
    pub total_vaulted: u64,
    /// Lamports won by the miners on the winning square.
    pub total_winnings: u64,
}

impl Round {
    /// Account data.
    pub fn encode(&self) -> Vec<u8> {
        CLayout::new(discriminator::ROUND)
            .u64(self.id)
            .u64s(&self.deployed)
            .bytes(&self.slot_hash)
            .u64s(&self.count)
            .u64(self.expires_at)
            .u64(self.motherlode)
            .bytes(&self.rent_payer)
            .bytes(&self.top_miner)
            .u64(self.top_miner_reward)
            .u64(self.total_deployed)
            .u64(self.total_miners)
            .u64(self.total_vaulted)
            .u64(self.total_winnings)
            .finish()
    }
}

/// ore `Treasury`: the protocol's balances (a singleton).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Treasury {
    /// Lamports held.
    pub balance: u64,
    /// Reserved.
    pub buffer_a: u64,
    /// ORE accumulated in the motherlode pool.
    pub motherlode: u64,
    /// Steel `Numeric` (I80F48 bits, little-endian): refining rewards per unclaimed ORE.
    pub miner_rewards_factor: [u8; 16],
    /// Steel `Numeric`: staking rewards per staked ORE.
    pub stake_rewards_factor: [u8; 16],
    /// Reserved.
    pub buffer_b: u64,
    /// ORE refined in total.
    pub total_refined: u64,
    /// ORE staked.
    pub total_staked: u64,
    /// ORE rewards not yet claimed.
    pub total_unclaimed: u64,
}

impl Treasury {
    /// Account data.
    pub fn encode(&self) -> Vec<u8> {
        CLayout::new(discriminator::TREASURY)
            .u64(self.balance)
            .u64(self.buffer_a)
            .u64(self.motherlode)
            .bytes(&self.miner_rewards_factor)
            .bytes(&self.stake_rewards_factor)
            .u64(self.buffer_b)
            .u64(self.total_refined)
            .u64(self.total_staked)
            .u64(self.total_unclaimed)
            .finish()
    }
}

/// ore `Miner`: one authority's deployments and rewards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Miner {
    /// The wallet that owns it.
    pub authority: Pubkey,
    /// Lamports deployed on each square in `round_id`.
    pub deployed: [u64; 25],
    /// The round's deployed lamports on each square before this miner's deployment.
    pub cumulative: [u64; 25],
    /// Lamports kept for the checkpoint bot fee.
    pub checkpoint_fee: u64,
    /// Last round checkpointed.
    pub checkpoint_id: u64,
    /// Unix time of the last ORE claim.
    pub last_claim_ore_at: i64,
    /// Unix time of the last SOL claim.
    pub last_claim_sol_at: i64,
    /// Steel `Numeric`: the treasury's factor when last refined.
    pub rewards_factor: [u8; 16],
    /// Claimable lamports.
    pub rewards_sol: u64,
    /// Claimable ORE.
    pub rewards_ore: u64,
    /// ORE refined.
    pub refined_ore: u64,
    /// Round of `deployed`.
    pub round_id: u64,
    /// Lamports won, ever.
    pub lifetime_rewards_sol: u64,
    /// ORE won, ever.
    pub lifetime_rewards_ore: u64,
    /// Lamports deployed, ever.
    pub lifetime_deployed: u64,
}

impl Miner {
    /// Account data.
    pub fn encode(&self) -> Vec<u8> {
        CLayout::new(discriminator::MINER)
            .bytes(&self.authority)
            .u64s(&self.deployed)
            .u64s(&self.cumulative)
            .u64(self.checkpoint_fee)
            .u64(self.checkpoint_id)
            .i64(self.last_claim_ore_at)
            .i64(self.last_claim_sol_at)
            .bytes(&self.rewards_factor)
            .u64(self.rewards_sol)
            .u64(self.rewards_ore)
            .u64(self.refined_ore)
            .u64(self.round_id)
            .u64(self.lifetime_rewards_sol)
            .u64(self.lifetime_rewards_ore)
            .u64(self.lifetime_deployed)
            .finish()
    }
}

/// ore `Automation`: deployments an executor makes on an authority's behalf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Automation {
    /// Lamports per square.
    pub amount: u64,
    /// The wallet automated.
    pub authority: Pubkey,
    /// Lamports left to deploy.
    pub balance: u64,
    /// Who may deploy.
    pub executor: Pubkey,
    /// Lamports paid to the executor per deployment.
    pub fee: u64,
    /// 0 random squares (`mask & 0xFF` of them), 1 the squares of `mask`.
    pub strategy: u64,
    /// Square mask or count, per `strategy`.
    pub mask: u64,
    /// Whether SOL rewards are redeployed.
    pub reload: u64,
}

impl Automation {
    /// Account data.
    pub fn encode(&self) -> Vec<u8> {
        CLayout::new(discriminator::AUTOMATION)
            .u64(self.amount)
            .bytes(&self.authority)
            .u64(self.balance)
            .bytes(&self.executor)
            .u64(self.fee)
            .u64(self.strategy)
            .u64(self.mask)
            .u64(self.reload)
            .finish()
    }
}

/// ore `Board`: which round is current and its slots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    /// The current round.
    pub round_id: u64,
    /// Its first slot.
    pub start_slot: u64,
    /// Its end (`u64::MAX` until the first deploy).
    pub end_slot: u64,
    /// Epoch counter.
    pub epoch_id: u64,
}

impl Board {
    /// Account data.
    pub fn encode(&self) -> Vec<u8> {
        CLayout::new(discriminator::BOARD)
            .u64(self.round_id)
            .u64(self.start_slot)
            .u64(self.end_slot)
            .u64(self.epoch_id)
            .finish()
    }
}

/// entropy `Var`: a commit-reveal random variable, reused by every ore round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Var {
    /// Its creator (the ore board).
    pub authority: Pubkey,
    /// Its number.
    pub id: u64,
    /// The entropy provider.
    pub provider: Pubkey,
    /// The provider's commitment: the hash of the seed it will reveal.
    pub commit: [u8; 32],
    /// The revealed seed (zero until `reveal`).
    pub seed: [u8; 32],
    /// The slot hash sampled at `end_at` (zero until `sample`).
    pub slot_hash: [u8; 32],
    /// The random value (zero until `reveal`).
    pub value: [u8; 32],
    /// Samples left.
    pub samples: u64,
    /// Whether the provider samples automatically.
    pub is_auto: u64,
    /// Slot the current sample was opened.
    pub start_at: u64,
    /// Slot whose hash is sampled.
    pub end_at: u64,
}

impl Var {
    /// Account data.
    pub fn encode(&self) -> Vec<u8> {
        CLayout::new(discriminator::VAR)
            .bytes(&self.authority)
            .u64(self.id)
            .bytes(&self.provider)
            .bytes(&self.commit)
            .bytes(&self.seed)
            .bytes(&self.slot_hash)
            .bytes(&self.value)
            .u64(self.samples)
            .u64(self.is_auto)
            .u64(self.start_at)
            .u64(self.end_at)
            .finish()
    }
}

/// Any account the simulation writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OreAccount {
    /// A `Round`.
    Round(Round),
    /// The `Treasury`.
    Treasury(Treasury),
    /// A `Miner`.
    Miner(Miner),
    /// An `Automation`.
    Automation(Automation),
    /// The `Board`.
    Board(Board),
    /// The entropy `Var`.
    Var(Var),
}

impl OreAccount {
    /// Account data.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            OreAccount::Round(a) => a.encode(),
            OreAccount::Treasury(a) => a.encode(),
            OreAccount::Miner(a) => a.encode(),
            OreAccount::Automation(a) => a.encode(),
            OreAccount::Board(a) => a.encode(),
            OreAccount::Var(a) => a.encode(),
        }
    }
}

/// A steel `Numeric` (I80F48) from its raw bits.
pub fn numeric(bits: i128) -> [u8; 16] {
    bits.to_le_bytes()
}

/// The raw bits of a steel `Numeric`.
pub fn numeric_bits(n: &[u8; 16]) -> i128 {
    i128::from_le_bytes(*n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_c_layout() {
        assert_eq!(Round::default().encode().len(), 8 + 560);
        assert_eq!(Treasury::default().encode().len(), 8 + 88);
        assert_eq!(Miner::default().encode().len(), 8 + 536);
        assert_eq!(Automation::default().encode().len(), 8 + 112);
        assert_eq!(Board::default().encode().len(), 8 + 32);
        assert_eq!(Var::default().encode().len(), 8 + 232);
        assert_eq!(&Round::default().encode()[..8], &[109, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn c_layout_pads_between_and_after_fields() {
        // { a: [u8; 3], b: u64, c: [u8; 1] } = 3 + 5 pad + 8 + 1 + 7 pad.
        let d = CLayout::new(7)
            .bytes(&[1, 2, 3])
            .u64(9)
            .bytes(&[4])
            .finish();
        assert_eq!(d.len(), 8 + 24);
        assert_eq!(&d[8..11], &[1, 2, 3]);
        assert_eq!(&d[16..24], &9u64.to_le_bytes());
        assert_eq!(d[24], 4);
    }
}
