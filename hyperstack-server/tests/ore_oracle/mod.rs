//! Hand-written encoders of the real `ore` and `entropy` (steel) accounts and instructions:
//! every field is written at an explicit byte offset, worked out by hand from the published
//! IDLs ($HYPERSTACK_FIXTURES/idl/ore.json, entropy.json) under steel's rules: an account is
//! an 8-byte discriminator followed by a `#[repr(C)]` bytemuck struct; instruction data is a
//! one-byte discriminant followed by the packed arguments.
//!
//! This module is the independent oracle of the decode tests: it shares no code with the
//! project's layout engine (hyperstack-spec) or decoder (hyperstack-server), nor with the ore
//! simulator (examples/src/generator/ore). It is also compiled into the examples' tests
//! (`#[path]`), where the simulator's bytes must equal what it writes.
//!
//! Each `*_json` function gives the JSON a client sees for the decoded account (names as in
//! the IDL, integers above 2^53 as strings, byte arrays as arrays of numbers, public keys in
//! base58), so a test can compare the decoder's output field by field.

#![allow(dead_code)]

use serde_json::{json, Map, Value};

/// A 32-byte public key.
pub type Key = [u8; 32];

/// Size of `Round` data: 8 (discriminator) + 560.
pub const ROUND_SIZE: usize = 568;
/// Size of `Treasury` data: 8 + 88.
pub const TREASURY_SIZE: usize = 96;
/// Size of `Miner` data: 8 + 536.
pub const MINER_SIZE: usize = 544;
/// Size of `Automation` data: 8 + 112.
pub const AUTOMATION_SIZE: usize = 120;
/// Size of `Board` data: 8 + 32.
pub const BOARD_SIZE: usize = 40;
/// Size of entropy `Var` data: 8 + 232.
pub const VAR_SIZE: usize = 240;

fn put_u64(d: &mut [u8], at: usize, v: u64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_i64(d: &mut [u8], at: usize, v: i64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put(d: &mut [u8], at: usize, bytes: &[u8]) {
    d[at..at + bytes.len()].copy_from_slice(bytes);
}

fn put_u64s(d: &mut [u8], at: usize, values: &[u64; 25]) {
    for (i, v) in values.iter().enumerate() {
        put_u64(d, at + 8 * i, *v);
    }
}

/// An account buffer of `size` bytes starting with the steel discriminator `[tag, 0 × 7]`.
fn account(tag: u8, size: usize) -> Vec<u8> {
    let mut d = vec![0u8; size];
    d[0] = tag;
    d
}

/// A u64 as a client sees it: a number up to 2^53, a decimal string beyond.
pub fn int(v: u64) -> Value {
    if v <= 1 << 53 {
        json!(v)
    } else {
        json!(v.to_string())
    }
}

/// An i64 as a client sees it.
pub fn sint(v: i64) -> Value {
    if v.unsigned_abs() <= 1 << 53 {
        json!(v)
    } else {
        json!(v.to_string())
    }
}

/// A public key as a client sees it (base58).
pub fn key(k: &Key) -> Value {
    json!(bs58::encode(k).into_string())
}

fn ints(values: &[u64; 25]) -> Value {
    Value::Array(values.iter().map(|&v| int(v)).collect())
}

fn bytes(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|&v| json!(v)).collect())
}

/// ore `Round` (discriminator 109).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Round {
    pub id: u64,
    pub deployed: [u64; 25],
    pub slot_hash: [u8; 32],
    pub count: [u64; 25],
    pub expires_at: u64,
    pub motherlode: u64,
    pub rent_payer: Key,
    pub top_miner: Key,
    pub top_miner_reward: u64,
    pub total_deployed: u64,
    pub total_miners: u64,
    pub total_vaulted: u64,
    pub total_winnings: u64,
}

/// Bytes of a `Round` account.
pub fn round(r: &Round) -> Vec<u8> {
    let mut d = account(109, ROUND_SIZE);
    put_u64(&mut d, 8, r.id);
    put_u64s(&mut d, 16, &r.deployed);
    put(&mut d, 216, &r.slot_hash);
    put_u64s(&mut d, 248, &r.count);
    put_u64(&mut d, 448, r.expires_at);
    put_u64(&mut d, 456, r.motherlode);
    put(&mut d, 464, &r.rent_payer);
    put(&mut d, 496, &r.top_miner);
    put_u64(&mut d, 528, r.top_miner_reward);
    put_u64(&mut d, 536, r.total_deployed);
    put_u64(&mut d, 544, r.total_miners);
    put_u64(&mut d, 552, r.total_vaulted);
    put_u64(&mut d, 560, r.total_winnings);
    d
}

/// The decoded `Round` as JSON.
pub fn round_json(r: &Round) -> Value {
    json!({
        "id": int(r.id),
        "deployed": ints(&r.deployed),
        "slot_hash": bytes(&r.slot_hash),
        "count": ints(&r.count),
        "expires_at": int(r.expires_at),
        "motherlode": int(r.motherlode),
        "rent_payer": key(&r.rent_payer),
        "top_miner": key(&r.top_miner),
        "top_miner_reward": int(r.top_miner_reward),
        "total_deployed": int(r.total_deployed),
        "total_miners": int(r.total_miners),
        "total_vaulted": int(r.total_vaulted),
        "total_winnings": int(r.total_winnings),
    })
}

/// ore `Treasury` (discriminator 104). The reward factors are steel `Numeric`s (I80F48 bits).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Treasury {
    pub balance: u64,
    pub buffer_a: u64,
    pub motherlode: u64,
    pub miner_rewards_factor: [u8; 16],
    pub stake_rewards_factor: [u8; 16],
    pub buffer_b: u64,
    pub total_refined: u64,
    pub total_staked: u64,
    pub total_unclaimed: u64,
}

/// Bytes of a `Treasury` account.
pub fn treasury(t: &Treasury) -> Vec<u8> {
    let mut d = account(104, TREASURY_SIZE);
    put_u64(&mut d, 8, t.balance);
    put_u64(&mut d, 16, t.buffer_a);
    put_u64(&mut d, 24, t.motherlode);
    put(&mut d, 32, &t.miner_rewards_factor);
    put(&mut d, 48, &t.stake_rewards_factor);
    put_u64(&mut d, 64, t.buffer_b);
    put_u64(&mut d, 72, t.total_refined);
    put_u64(&mut d, 80, t.total_staked);
    put_u64(&mut d, 88, t.total_unclaimed);
    d
}

/// The decoded `Treasury` as JSON.
pub fn treasury_json(t: &Treasury) -> Value {
    json!({
        "balance": int(t.balance),
        "buffer_a": int(t.buffer_a),
        "motherlode": int(t.motherlode),
        "miner_rewards_factor": {"bits": bytes(&t.miner_rewards_factor)},
        "stake_rewards_factor": {"bits": bytes(&t.stake_rewards_factor)},
        "buffer_b": int(t.buffer_b),
        "total_refined": int(t.total_refined),
        "total_staked": int(t.total_staked),
        "total_unclaimed": int(t.total_unclaimed),
    })
}

/// ore `Miner` (discriminator 103).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Miner {
    pub authority: Key,
    pub deployed: [u64; 25],
    pub cumulative: [u64; 25],
    pub checkpoint_fee: u64,
    pub checkpoint_id: u64,
    pub last_claim_ore_at: i64,
    pub last_claim_sol_at: i64,
    pub rewards_factor: [u8; 16],
    pub rewards_sol: u64,
    pub rewards_ore: u64,
    pub refined_ore: u64,
    pub round_id: u64,
    pub lifetime_rewards_sol: u64,
    pub lifetime_rewards_ore: u64,
    pub lifetime_deployed: u64,
}

/// Bytes of a `Miner` account.
pub fn miner(m: &Miner) -> Vec<u8> {
    let mut d = account(103, MINER_SIZE);
    put(&mut d, 8, &m.authority);
    put_u64s(&mut d, 40, &m.deployed);
    put_u64s(&mut d, 240, &m.cumulative);
    put_u64(&mut d, 440, m.checkpoint_fee);
    put_u64(&mut d, 448, m.checkpoint_id);
    put_i64(&mut d, 456, m.last_claim_ore_at);
    put_i64(&mut d, 464, m.last_claim_sol_at);
    put(&mut d, 472, &m.rewards_factor);
    put_u64(&mut d, 488, m.rewards_sol);
    put_u64(&mut d, 496, m.rewards_ore);
    put_u64(&mut d, 504, m.refined_ore);
    put_u64(&mut d, 512, m.round_id);
    put_u64(&mut d, 520, m.lifetime_rewards_sol);
    put_u64(&mut d, 528, m.lifetime_rewards_ore);
    put_u64(&mut d, 536, m.lifetime_deployed);
    d
}

/// The decoded `Miner` as JSON.
pub fn miner_json(m: &Miner) -> Value {
    json!({
        "authority": key(&m.authority),
        "deployed": ints(&m.deployed),
        "cumulative": ints(&m.cumulative),
        "checkpoint_fee": int(m.checkpoint_fee),
        "checkpoint_id": int(m.checkpoint_id),
        "last_claim_ore_at": sint(m.last_claim_ore_at),
        "last_claim_sol_at": sint(m.last_claim_sol_at),
        "rewards_factor": {"bits": bytes(&m.rewards_factor)},
        "rewards_sol": int(m.rewards_sol),
        "rewards_ore": int(m.rewards_ore),
        "refined_ore": int(m.refined_ore),
        "round_id": int(m.round_id),
        "lifetime_rewards_sol": int(m.lifetime_rewards_sol),
        "lifetime_rewards_ore": int(m.lifetime_rewards_ore),
        "lifetime_deployed": int(m.lifetime_deployed),
    })
}

/// ore `Automation` (discriminator 100).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Automation {
    pub amount: u64,
    pub authority: Key,
    pub balance: u64,
    pub executor: Key,
    pub fee: u64,
    pub strategy: u64,
    pub mask: u64,
    pub reload: u64,
}

/// Bytes of an `Automation` account.
pub fn automation(a: &Automation) -> Vec<u8> {
    let mut d = account(100, AUTOMATION_SIZE);
    put_u64(&mut d, 8, a.amount);
    put(&mut d, 16, &a.authority);
    put_u64(&mut d, 48, a.balance);
    put(&mut d, 56, &a.executor);
    put_u64(&mut d, 88, a.fee);
    put_u64(&mut d, 96, a.strategy);
    put_u64(&mut d, 104, a.mask);
    put_u64(&mut d, 112, a.reload);
    d
}

/// The decoded `Automation` as JSON.
pub fn automation_json(a: &Automation) -> Value {
    json!({
        "amount": int(a.amount),
        "authority": key(&a.authority),
        "balance": int(a.balance),
        "executor": key(&a.executor),
        "fee": int(a.fee),
        "strategy": int(a.strategy),
        "mask": int(a.mask),
        "reload": int(a.reload),
    })
}

/// ore `Board` (discriminator 105).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Board {
    pub round_id: u64,
    pub start_slot: u64,
    pub end_slot: u64,
    pub epoch_id: u64,
}

/// Bytes of the `Board` account.
pub fn board(b: &Board) -> Vec<u8> {
    let mut d = account(105, BOARD_SIZE);
    put_u64(&mut d, 8, b.round_id);
    put_u64(&mut d, 16, b.start_slot);
    put_u64(&mut d, 24, b.end_slot);
    put_u64(&mut d, 32, b.epoch_id);
    d
}

/// The decoded `Board` as JSON.
pub fn board_json(b: &Board) -> Value {
    json!({
        "round_id": int(b.round_id),
        "start_slot": int(b.start_slot),
        "end_slot": int(b.end_slot),
        "epoch_id": int(b.epoch_id),
    })
}

/// entropy `Var` (discriminator eight zero bytes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Var {
    pub authority: Key,
    pub id: u64,
    pub provider: Key,
    pub commit: [u8; 32],
    pub seed: [u8; 32],
    pub slot_hash: [u8; 32],
    pub value: [u8; 32],
    pub samples: u64,
    pub is_auto: u64,
    pub start_at: u64,
    pub end_at: u64,
}

/// Bytes of a `Var` account.
pub fn var(v: &Var) -> Vec<u8> {
    let mut d = vec![0u8; VAR_SIZE];
    put(&mut d, 8, &v.authority);
    put_u64(&mut d, 40, v.id);
    put(&mut d, 48, &v.provider);
    put(&mut d, 80, &v.commit);
    put(&mut d, 112, &v.seed);
    put(&mut d, 144, &v.slot_hash);
    put(&mut d, 176, &v.value);
    put_u64(&mut d, 208, v.samples);
    put_u64(&mut d, 216, v.is_auto);
    put_u64(&mut d, 224, v.start_at);
    put_u64(&mut d, 232, v.end_at);
    d
}

/// The decoded `Var` as JSON.
pub fn var_json(v: &Var) -> Value {
    json!({
        "authority": key(&v.authority),
        "id": int(v.id),
        "provider": key(&v.provider),
        "commit": bytes(&v.commit),
        "seed": bytes(&v.seed),
        "slot_hash": bytes(&v.slot_hash),
        "value": bytes(&v.value),
        "samples": int(v.samples),
        "is_auto": int(v.is_auto),
        "start_at": int(v.start_at),
        "end_at": int(v.end_at),
    })
}

/// ore `deploy` data: discriminant 6, then `amount: u64` at 1 and `squares: u32` at 9.
pub fn deploy_ix(amount: u64, squares: u32) -> Vec<u8> {
    let mut d = vec![0u8; 13];
    d[0] = 6;
    put_u64(&mut d, 1, amount);
    d[9..13].copy_from_slice(&squares.to_le_bytes());
    d
}

/// ore `checkpoint` data: discriminant 2, no arguments.
pub fn checkpoint_ix() -> Vec<u8> {
    vec![2]
}

/// ore `reset` data: discriminant 9, no arguments.
pub fn reset_ix() -> Vec<u8> {
    vec![9]
}

/// ore `automate` data: discriminant 0, then amount (1), deposit (9), fee (17), mask (25),
/// `strategy: u8` (33) and reload (34).
pub fn automate_ix(
    amount: u64,
    deposit: u64,
    fee: u64,
    mask: u64,
    strategy: u8,
    reload: u64,
) -> Vec<u8> {
    let mut d = vec![0u8; 42];
    put_u64(&mut d, 1, amount);
    put_u64(&mut d, 9, deposit);
    put_u64(&mut d, 17, fee);
    put_u64(&mut d, 25, mask);
    d[33] = strategy;
    put_u64(&mut d, 34, reload);
    d
}

/// entropy `reveal` data: discriminant 4, then `seed: [u8; 32]` at 1.
pub fn reveal_ix(seed: &[u8; 32]) -> Vec<u8> {
    let mut d = vec![0u8; 33];
    d[0] = 4;
    put(&mut d, 1, seed);
    d
}

/// entropy `sample` data: discriminant 5, no arguments.
pub fn sample_ix() -> Vec<u8> {
    vec![5]
}

/// entropy `next` data: discriminant 2, then `endAt: u64` at 1.
pub fn next_ix(end_at: u64) -> Vec<u8> {
    let mut d = vec![0u8; 9];
    d[0] = 2;
    put_u64(&mut d, 1, end_at);
    d
}

/// The account roles of the instructions the ore stack reads, in the IDLs' order.
pub const DEPLOY_ACCOUNTS: [&str; 11] = [
    "signer",
    "authority",
    "automation",
    "board",
    "config",
    "miner",
    "round",
    "systemProgram",
    "oreProgram",
    "entropyVar",
    "entropyProgram",
];
/// `checkpoint`'s account roles.
pub const CHECKPOINT_ACCOUNTS: [&str; 6] = [
    "signer",
    "board",
    "miner",
    "round",
    "treasury",
    "systemProgram",
];
/// `reset`'s account roles.
pub const RESET_ACCOUNTS: [&str; 18] = [
    "signer",
    "board",
    "config",
    "feeCollector",
    "mint",
    "round",
    "roundNext",
    "topMiner",
    "treasury",
    "treasuryTokens",
    "systemProgram",
    "tokenProgram",
    "oreProgram",
    "slotHashesSysvar",
    "entropyVar",
    "entropyProgram",
    "mintAuthority",
    "oreMintProgram",
];
/// entropy `reveal`'s account roles.
pub const REVEAL_ACCOUNTS: [&str; 2] = ["signer", "var"];

/// Object keys of `v` (for comparing decoded and expected field sets).
pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(Map::keys)
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}
