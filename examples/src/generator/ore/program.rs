//! The rules of the ore program as the simulation applies them to its accounts: deploying on
//! squares, resolving a round with the entropy value (`reset`), settling a miner
//! (`checkpoint`). They follow ore's published program where the IDL has the same fields;
//! refining (`rewards_factor`) is a simplified model of it.

use sha2::{Digest, Sha256};

use super::accounts::{numeric, numeric_bits, Automation, Miner, Round, Treasury};
use crate::generator::Pubkey;

/// ORE base units per ORE (11 decimals).
pub const ONE_ORE: u64 = 100_000_000_000;
/// Lamports a miner keeps for the checkpoint bot fee.
pub const CHECKPOINT_FEE: u64 = 10_000;

/// The round's random number: the XOR of the value's four little-endian u64s; `None` for an
/// all-zero or all-0xFF value.
pub fn rng(value: &[u8; 32]) -> Option<u64> {
    if value.iter().all(|&b| b == 0) || value.iter().all(|&b| b == 0xFF) {
        return None;
    }
    Some(value.chunks_exact(8).fold(0u64, |acc, chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        acc ^ u64::from_le_bytes(word)
    }))
}

/// The winning square: `rng % 25`.
pub fn winning_square(rng: u64) -> usize {
    (rng % 25) as usize
}

/// Whether the motherlode pays out: `reverse_bits(rng) % 625 == 0`.
pub fn hit_motherlode(rng: u64) -> bool {
    rng.reverse_bits().is_multiple_of(625)
}

/// Whether the top miner reward is split among the winning square's miners: the XOR of the
/// four u16s of `reverse_bits(rng)` is even.
pub fn split_reward(rng: u64) -> bool {
    let r = rng.reverse_bits();
    let folded = (r ^ (r >> 16) ^ (r >> 32) ^ (r >> 48)) as u16;
    folded.is_multiple_of(2)
}

/// The point in the winning square's deployments that picks the top miner.
pub fn top_miner_sample(rng: u64, deployed_on_square: u64) -> u64 {
    if deployed_on_square == 0 {
        0
    } else {
        rng.reverse_bits() % deployed_on_square
    }
}

/// The entropy value revealed from a sampled slot hash and the provider's seed (SHA-256 here;
/// the entropy program's own hash is not in its IDL).
pub fn entropy_value(slot_hash: &[u8; 32], seed: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(slot_hash);
    h.update(seed);
    h.finalize().into()
}

/// SHA-256 of 32 bytes (the provider's seed commitments).
pub fn hash32(bytes: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `deploy`: `amount` lamports on each square of `mask` the miner does not hold yet in this
/// round; an automation pays (and stops when it cannot pay one more square). Returns the
/// lamports deployed per square.
pub fn deploy(
    round: &mut Round,
    miner: &mut Miner,
    automation: Option<&mut Automation>,
    amount: u64,
    mask: u32,
) -> [u64; 25] {
    if miner.round_id != round.id {
        miner.deployed = [0; 25];
        miner.cumulative = round.deployed;
        miner.round_id = round.id;
    }
    let (fee, balance) = automation
        .as_ref()
        .map_or((0, None), |a| (a.fee, Some(a.balance)));
    let mut amounts = [0u64; 25];
    let mut total = 0u64;
    for (square, deployed) in amounts.iter_mut().enumerate() {
        if mask & (1 << square) == 0 || miner.deployed[square] > 0 {
            continue;
        }
        if balance.is_some_and(|b| total + fee + amount > b) {
            break;
        }
        miner.cumulative[square] = round.deployed[square];
        miner.deployed[square] = amount;
        round.deployed[square] += amount;
        round.count[square] += 1;
        round.total_deployed += amount;
        *deployed = amount;
        total += amount;
    }
    if miner.checkpoint_fee == 0 {
        miner.checkpoint_fee = CHECKPOINT_FEE;
    }
    miner.lifetime_deployed += total;
    if let Some(a) = automation {
        a.balance -= total + fee;
    }
    amounts
}

/// What `reset` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// The winning square (`None` when the value gave no random number).
    pub winning_square: Option<usize>,
    /// Whether the motherlode paid out.
    pub motherlode_hit: bool,
    /// Whether the top miner reward is split.
    pub split: bool,
}

/// `reset`: resolves `round` with the revealed `value` — admin fee 1 %, the losing squares'
/// lamports to the winners less 1 % and a 10 % vault share, +1 ORE for the top miner, the
/// motherlode when it hits, +0.2 ORE into the motherlode.
pub fn reset(
    round: &mut Round,
    treasury: &mut Treasury,
    value: [u8; 32],
    split_address: Pubkey,
) -> Resolution {
    round.slot_hash = value;
    let Some(r) = rng(&value) else {
        round.total_vaulted = 0;
        round.total_winnings = 0;
        round.total_deployed = 0;
        return Resolution {
            winning_square: None,
            motherlode_hit: false,
            split: false,
        };
    };
    let admin_fee = round.total_deployed / 100;
    let winning = winning_square(r);
    if round.deployed[winning] == 0 {
        round.total_vaulted = round.total_deployed - admin_fee;
        treasury.balance += round.total_vaulted;
        return Resolution {
            winning_square: Some(winning),
            motherlode_hit: false,
            split: false,
        };
    }
    let losing: u64 = round.total_deployed - round.deployed[winning];
    let winnings = losing - losing / 100;
    let vault = winnings / 10;
    round.total_winnings = winnings - vault;
    round.total_vaulted = vault;
    treasury.balance += vault;
    round.top_miner_reward = ONE_ORE;
    let split = split_reward(r);
    if split {
        round.top_miner = split_address;
    }
    let motherlode_hit = hit_motherlode(r);
    if motherlode_hit {
        round.motherlode = treasury.motherlode;
        treasury.motherlode = 0;
    }
    treasury.motherlode += ONE_ORE / 5;
    // Refining: a tenth of the ORE minted this round accrues to unclaimed ORE holders.
    let per_unclaimed =
        (i128::from(ONE_ORE / 10) << 48) / i128::from(treasury.total_unclaimed.max(ONE_ORE));
    let factor = numeric_bits(&treasury.miner_rewards_factor) + per_unclaimed;
    treasury.miner_rewards_factor = numeric(factor);
    Resolution {
        winning_square: Some(winning),
        motherlode_hit,
        split,
    }
}

/// What `checkpoint` credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// Lamports.
    pub rewards_sol: u64,
    /// ORE.
    pub rewards_ore: u64,
    /// Whether the miner was the top miner (the round's `top_miner` now names it).
    pub top_miner: bool,
}

/// `checkpoint`: settles `miner`'s deployments in `round` (already reset).
pub fn checkpoint(
    round: &mut Round,
    miner: &mut Miner,
    treasury: &mut Treasury,
    split_address: Pubkey,
) -> Settlement {
    let mut s = Settlement {
        rewards_sol: 0,
        rewards_ore: 0,
        top_miner: false,
    };
    match rng(&round.slot_hash) {
        Some(r) => {
            let w = winning_square(r);
            let mine = miner.deployed[w];
            if mine > 0 {
                let on_square = u128::from(round.deployed[w]);
                let share = |total: u64| (u128::from(total) * u128::from(mine) / on_square) as u64;
                s.rewards_sol = mine - (mine / 100).max(1) + share(round.total_winnings);
                if round.top_miner == split_address {
                    s.rewards_ore = share(round.top_miner_reward);
                } else {
                    let sample = top_miner_sample(r, round.deployed[w]);
                    let from = miner.cumulative[w];
                    if sample >= from && sample < from + mine {
                        s.rewards_ore = round.top_miner_reward;
                        round.top_miner = miner.authority;
                        s.top_miner = true;
                    }
                }
                if round.motherlode > 0 {
                    s.rewards_ore += share(round.motherlode);
                }
            }
        }
        None => s.rewards_sol = miner.deployed.iter().sum(),
    }
    // Refine the ORE already held before crediting the new rewards.
    let factor = numeric_bits(&treasury.miner_rewards_factor);
    let gain = (factor - numeric_bits(&miner.rewards_factor)).max(0);
    let refined = ((gain * i128::from(miner.rewards_ore)) >> 48) as u64;
    miner.refined_ore += refined;
    treasury.total_refined += refined;
    miner.rewards_factor = numeric(factor);
    miner.checkpoint_id = round.id;
    miner.rewards_ore += s.rewards_ore;
    miner.lifetime_rewards_ore += s.rewards_ore;
    miner.rewards_sol += s.rewards_sol;
    miner.lifetime_rewards_sol += s.rewards_sol;
    treasury.total_unclaimed += s.rewards_ore;
    s
}
