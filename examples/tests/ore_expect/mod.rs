//! What a correct ore stack shows, computed here from the simulator's inputs alone (its
//! [`OreRecord`]: each round's deployments, checkpoints and entropy writes, each reset's
//! revealed value, every treasury write) with ore's rules written out again — nothing from
//! hyperstack-server and nothing from the simulator's own rule functions.
//!
//! The results are JSON objects as clients see the entities (`null` and empty sections left
//! out), compared with [`assert_close`]: floats (UI amounts) to a relative 1e-12.

#![allow(dead_code)]

use std::collections::BTreeMap;

use examples::generator::ore::accounts::Treasury;
use examples::generator::ore::instructions::OreIx;
use examples::generator::ore::record::{Deployment, OreRecord, RoundRecord, Sig, TreasuryWrite};
use examples::generator::{base58, Pubkey};
use serde_json::{json, Map, Value};

/// ORE base units per ORE (11 decimals).
pub const ONE_ORE: u64 = 100_000_000_000;
const CHECKPOINT_FEE: u64 = 10_000;

fn sol(lamports: u64) -> f64 {
    lamports as f64 / 1e9
}

fn ore(units: u64) -> f64 {
    units as f64 / 1e11
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn le_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The round's random number: the four little-endian u64s of the value XORed; none for an
/// all-zero or all-0xFF value.
pub fn rng(value: &[u8; 32]) -> Option<u64> {
    if value.iter().all(|&b| b == 0) || value.iter().all(|&b| b == 0xFF) {
        return None;
    }
    Some(
        le_u64(&value[0..8])
            ^ le_u64(&value[8..16])
            ^ le_u64(&value[16..24])
            ^ le_u64(&value[24..32]),
    )
}

/// The 64 bits of `x`, last first.
fn mirrored(x: u64) -> u64 {
    (0..64).fold(0u64, |acc, i| acc | (((x >> i) & 1) << (63 - i)))
}

fn hits_motherlode(r: u64) -> bool {
    mirrored(r).is_multiple_of(625)
}

fn splits(r: u64) -> bool {
    let m = mirrored(r);
    let folded = (m & 0xFFFF) ^ ((m >> 16) & 0xFFFF) ^ ((m >> 32) & 0xFFFF) ^ (m >> 48);
    folded.is_multiple_of(2)
}

/// A round as ore's rules leave it.
#[derive(Debug, Default, Clone)]
pub struct RoundOutcome {
    pub deployed: [u64; 25],
    pub count: [u64; 25],
    pub total_deployed: u64,
    pub total_miners: u64,
    pub total_vaulted: u64,
    pub total_winnings: u64,
    pub motherlode: u64,
    pub top_miner_reward: u64,
    pub slot_hash: [u8; 32],
    pub top_miner: Pubkey,
    /// The revealed value's random number, if the round was reset with one.
    pub rng: Option<u64>,
    /// The sampled position on the winning square that picks the top miner.
    pub sample: Option<u64>,
    pub split: bool,
}

/// Everything the run did, as the test reads it.
pub struct Expected<'r> {
    record: &'r OreRecord,
    pub rounds: Vec<RoundOutcome>,
}

impl<'r> Expected<'r> {
    pub fn new(record: &'r OreRecord) -> Expected<'r> {
        let mut e = Expected {
            record,
            rounds: Vec::new(),
        };
        for r in &record.rounds {
            let outcome = e.resolve(r);
            e.rounds.push(outcome);
        }
        e
    }

    /// The treasury's motherlode just before round `id`'s reset.
    fn motherlode_before_reset(&self, id: u64) -> u64 {
        let writes = &self.record.treasury;
        let at = writes
            .iter()
            .position(|w| w.cause == "reset" && w.round == Some(id))
            .expect("the reset wrote the treasury");
        writes[..at]
            .last()
            .map_or(0, |w: &TreasuryWrite| w.treasury.motherlode)
    }

    fn resolve(&self, r: &RoundRecord) -> RoundOutcome {
        let mut o = RoundOutcome::default();
        let mut miners: Vec<Pubkey> = Vec::new();
        for d in &r.deployments {
            for sq in 0..25 {
                o.deployed[sq] += d.amounts[sq];
                o.count[sq] += u64::from(d.amounts[sq] > 0);
            }
            o.total_deployed += d.amounts.iter().sum::<u64>();
            if !miners.contains(&d.authority) {
                miners.push(d.authority);
            }
        }
        o.total_miners = miners.len() as u64;
        let Some(reset) = &r.reset else {
            return o;
        };
        // The reset reads the value the provider revealed for this round.
        let revealed = r
            .entropy
            .reveal
            .as_ref()
            .map(|w| w.var.value)
            .expect("a reset round was revealed");
        assert_eq!(
            reset.value, revealed,
            "round {} reset with its reveal",
            r.id
        );
        o.slot_hash = revealed;
        o.rng = rng(&revealed);
        let Some(rn) = o.rng else {
            o.total_deployed = 0;
            return o;
        };
        let w = (rn % 25) as usize;
        let admin_fee = o.total_deployed / 100;
        if o.deployed[w] == 0 {
            o.total_vaulted = o.total_deployed - admin_fee;
            return o;
        }
        let losing = o.total_deployed - o.deployed[w];
        let winnings = losing - losing / 100;
        let vault = winnings / 10;
        o.total_winnings = winnings - vault;
        o.total_vaulted = vault;
        o.top_miner_reward = ONE_ORE;
        o.sample = Some(mirrored(rn) % o.deployed[w]);
        o.split = splits(rn);
        if hits_motherlode(rn) {
            o.motherlode = self.motherlode_before_reset(r.id);
        }
        o.top_miner = if o.split {
            self.record.keys.split_address
        } else {
            // The deployer whose slice of the winning square holds the sample, once their
            // checkpoint found it.
            let sample = o.sample.unwrap_or(0);
            let mut from = 0;
            let mut winner = None;
            for d in &r.deployments {
                let amount = d.amounts[w];
                if amount > 0 && (from..from + amount).contains(&sample) {
                    winner = Some(d.authority);
                }
                from += amount;
            }
            winner
                .filter(|a| r.checkpoints.iter().any(|c| c.authority == *a))
                .unwrap_or_default()
        };
        o
    }

    /// Round `id`'s var writes, last one last: `next`, `sample`, `reveal`.
    fn last_var(&self, id: usize) -> Option<&examples::generator::ore::accounts::Var> {
        let e = &self.record.rounds[id].entropy;
        e.reveal
            .as_ref()
            .or(e.sample.as_ref())
            .or(e.next.as_ref())
            .map(|w| &w.var)
    }

    /// The treasury's motherlode while round `id` ran: the last treasury write from the
    /// previous round's reset (inclusive) to this round's reset (exclusive).
    fn round_treasury_motherlode(&self, id: u64) -> Option<u64> {
        let writes = &self.record.treasury;
        let previous = id.checked_sub(1)?;
        let from = writes
            .iter()
            .position(|w| w.cause == "reset" && w.round == Some(previous))?;
        let to = writes
            .iter()
            .position(|w| w.cause == "reset" && w.round == Some(id))
            .unwrap_or(writes.len());
        writes[from..to].last().map(|w| w.treasury.motherlode)
    }

    /// Every round as `OreRound` JSON, by round id.
    pub fn rounds_json(&self) -> BTreeMap<u64, Value> {
        let mut out = BTreeMap::new();
        for (i, r) in self.record.rounds.iter().enumerate() {
            let o = &self.rounds[i];
            let mut round = json!({
                "id": {"round_id": r.id, "round_address": base58(&r.address)},
                "state": {
                    "expires_at": r.expires_at,
                    "motherlode": ore(o.motherlode),
                    "total_deployed": sol(o.total_deployed),
                    "total_vaulted": sol(o.total_vaulted),
                    "total_winnings": sol(o.total_winnings),
                    "total_miners": o.total_miners,
                    "deployed_per_square": o.deployed.to_vec(),
                    "deployed_per_square_ui": o.deployed.iter().map(|&x| sol(x)).collect::<Vec<_>>(),
                    "count_per_square": o.count.to_vec(),
                },
                "results": {
                    "top_miner": base58(&o.top_miner),
                    "rent_payer": base58(&r.rent_payer),
                    "slot_hash": base58(&o.slot_hash),
                    "top_miner_reward": ore(o.top_miner_reward),
                },
            });
            let revealed = r.entropy.value().filter(|v| v.iter().any(|&b| b != 0));
            if let Some(value) = revealed {
                let results = round["results"].as_object_mut().expect("results");
                if let Some(rn) = rng(&value) {
                    results.insert("rng".into(), json!(rn));
                    results.insert("winning_square".into(), json!(rn % 25));
                    results.insert("did_hit_motherlode".into(), json!(hits_motherlode(rn)));
                }
            }
            let metrics = round.as_object_mut().expect("round");
            let mut counts = Map::new();
            if !r.deployments.is_empty() {
                counts.insert("deploy_count".into(), json!(r.deployments.len()));
            }
            if !r.checkpoints.is_empty() {
                counts.insert("checkpoint_count".into(), json!(r.checkpoints.len()));
            }
            metrics.insert("metrics".into(), Value::Object(counts));
            if let Some(m) = self.round_treasury_motherlode(r.id) {
                metrics.insert("treasury".into(), json!({"motherlode": ore(m)}));
            }
            if let Some(var) = self.last_var(i) {
                let mut entropy = json!({
                    "entropy_seed": base58(&var.seed),
                    "entropy_slot_hash": base58(&var.slot_hash),
                    "entropy_start_at": var.start_at,
                    "entropy_end_at": var.end_at,
                    "entropy_samples": var.samples,
                    "entropy_var_address": base58(&self.record.keys.var),
                });
                if let Some(value) = revealed {
                    entropy["entropy_value"] = json!(base58(&value));
                }
                metrics.insert("entropy".into(), entropy);
            }
            out.insert(r.id, round);
        }
        out
    }

    /// The treasury as `OreTreasury` JSON, with its key.
    pub fn treasury_json(&self) -> (String, Value) {
        let t: &Treasury = &self
            .record
            .treasury
            .last()
            .expect("the treasury was written")
            .treasury;
        let value = json!({
            "balance": sol(t.balance),
            "motherlode": ore(t.motherlode),
            "total_refined": ore(t.total_refined),
            "total_staked": ore(t.total_staked),
            "total_unclaimed": ore(t.total_unclaimed),
            "snapshot": {
                "balance": sol(t.balance),
                "buffer_a": t.buffer_a,
                "motherlode": ore(t.motherlode),
                "miner_rewards_factor": {"bits": hex(&t.miner_rewards_factor)},
                "stake_rewards_factor": {"bits": hex(&t.stake_rewards_factor)},
                "buffer_b": t.buffer_b,
                "total_refined": ore(t.total_refined),
                "total_staked": ore(t.total_staked),
                "total_unclaimed": ore(t.total_unclaimed),
            },
        });
        (base58(&self.record.keys.treasury), value)
    }

    /// The treasury's refining factor as the transaction `sig` wrote it.
    fn factor_at(&self, sig: &Sig) -> i128 {
        let w = self
            .record
            .treasury
            .iter()
            .find(|w| w.signature.as_ref() == Some(sig))
            .expect("a checkpoint writes the treasury");
        i128::from_le_bytes(w.treasury.miner_rewards_factor)
    }

    /// What a checkpoint of `authority` in round `id` credits: (lamports, ORE).
    fn settle(&self, id: usize, authority: &Pubkey) -> (u64, u64) {
        let r = &self.record.rounds[id];
        let o = &self.rounds[id];
        let mine_of = |w: usize| -> u64 {
            r.deployments
                .iter()
                .filter(|d| d.authority == *authority)
                .map(|d| d.amounts[w])
                .sum()
        };
        let Some(rn) = o.rng else {
            let all: u64 = (0..25).map(mine_of).sum();
            return (all, 0);
        };
        let w = (rn % 25) as usize;
        let mine = mine_of(w);
        if mine == 0 {
            return (0, 0);
        }
        let on_square = u128::from(o.deployed[w]);
        let share = |total: u64| (u128::from(total) * u128::from(mine) / on_square) as u64;
        let sol = mine - (mine / 100).max(1) + share(o.total_winnings);
        let mut ore = 0;
        if o.split {
            ore += share(o.top_miner_reward);
        } else {
            let from = cumulative_before(&r.deployments, authority, w);
            let sample = o.sample.unwrap_or(0);
            if sample >= from && sample < from + mine {
                ore += o.top_miner_reward;
            }
        }
        if o.motherlode > 0 {
            ore += share(o.motherlode);
        }
        (sol, ore)
    }

    /// Every miner as `OreMiner` JSON, by authority.
    pub fn miners_json(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for m in &self.record.miners {
            let a = m.authority;
            let deploys: Vec<(usize, &Deployment)> = self
                .record
                .rounds
                .iter()
                .enumerate()
                .flat_map(|(i, r)| r.deployments.iter().map(move |d| (i, d)))
                .filter(|(_, d)| d.authority == a)
                .collect();
            let mut checkpoints: Vec<(usize, &examples::generator::ore::record::CheckpointRecord)> =
                self.record
                    .rounds
                    .iter()
                    .enumerate()
                    .flat_map(|(i, r)| r.checkpoints.iter().map(move |c| (i, c)))
                    .filter(|(_, c)| c.authority == a)
                    .collect();
            checkpoints.sort_by_key(|(_, c)| c.slot);
            let round_id = deploys.last().map_or(0, |(i, _)| *i);
            let mut deployed = [0u64; 25];
            let mut cumulative = [0u64; 25];
            if let Some((i, _)) = deploys.last() {
                let round = &self.record.rounds[*i];
                let mut totals = [0u64; 25];
                let mut seen = false;
                for d in &round.deployments {
                    if d.authority == a {
                        if !seen {
                            cumulative = totals;
                            seen = true;
                        }
                        for sq in 0..25 {
                            if d.amounts[sq] > 0 {
                                cumulative[sq] = totals[sq];
                                deployed[sq] = d.amounts[sq];
                            }
                        }
                    }
                    for (total, amount) in totals.iter_mut().zip(d.amounts) {
                        *total += amount;
                    }
                }
            }
            let lifetime_deployed: u64 = deploys
                .iter()
                .map(|(_, d)| d.amounts.iter().sum::<u64>())
                .sum();
            let (mut rewards_sol, mut rewards_ore, mut refined) = (0u64, 0u64, 0u64);
            let mut factor = 0i128;
            for (i, c) in &checkpoints {
                let (s, o) = self.settle(*i, &a);
                assert_eq!(
                    (s, o),
                    (c.rewards_sol, c.rewards_ore),
                    "the checkpoint of {} in round {i} follows ore's rules",
                    base58(&a)
                );
                let treasury = self.factor_at(&c.signature);
                let gain = (treasury - factor).max(0);
                refined += ((gain * i128::from(rewards_ore)) >> 48) as u64;
                factor = treasury;
                rewards_sol += s;
                rewards_ore += o;
            }
            let checkpoint_id = checkpoints.last().map_or(0, |(i, _)| *i as u64);
            let fee = if deploys.is_empty() {
                0
            } else {
                CHECKPOINT_FEE
            };
            let mut miner = json!({
                "authority": base58(&a),
                "rewards": {
                    "rewards_sol": sol(rewards_sol),
                    "rewards_ore": ore(rewards_ore),
                    "refined_ore": ore(refined),
                    "lifetime_rewards_sol": sol(rewards_sol),
                    "lifetime_rewards_ore": ore(rewards_ore),
                },
                "state": {
                    "round_id": round_id,
                    "checkpoint_id": checkpoint_id,
                    "checkpoint_fee": sol(fee),
                    "last_claim_ore_at": 0,
                    "last_claim_sol_at": 0,
                    "lifetime_deployed": sol(lifetime_deployed),
                    "deployed": deployed.to_vec(),
                    "cumulative": cumulative.to_vec(),
                },
                "miner_snapshot": {
                    "authority": base58(&a),
                    "deployed": deployed.to_vec(),
                    "cumulative": cumulative.to_vec(),
                    "checkpoint_fee": fee,
                    "checkpoint_id": checkpoint_id,
                    "last_claim_ore_at": 0,
                    "last_claim_sol_at": 0,
                    "rewards_factor": {"bits": hex(&factor.to_le_bytes())},
                    "rewards_sol": sol(rewards_sol),
                    "rewards_ore": ore(rewards_ore),
                    "refined_ore": ore(refined),
                    "round_id": round_id,
                    "lifetime_rewards_sol": rewards_sol,
                    "lifetime_rewards_ore": rewards_ore,
                    "lifetime_deployed": lifetime_deployed,
                },
            });
            if let Some((
                _,
                _,
                OreIx::Automate {
                    amount,
                    deposit,
                    fee,
                    mask,
                    strategy,
                    reload,
                },
            )) = &m.automate
            {
                let spent: u64 = deploys
                    .iter()
                    .filter(|(_, d)| d.automated)
                    .map(|(_, d)| d.amounts.iter().sum::<u64>() + fee)
                    .sum();
                let balance = deposit - spent;
                let executor = base58(&self.record.keys.executor);
                let fields = miner.as_object_mut().expect("miner");
                fields.insert(
                    "automation".into(),
                    json!({
                        "amount": sol(*amount),
                        "balance": sol(balance),
                        "executor": executor,
                        "fee": sol(*fee),
                        "strategy": strategy,
                        "mask": mask,
                        "reload": reload,
                    }),
                );
                fields.insert(
                    "automation_snapshot".into(),
                    json!({
                        "amount": amount,
                        "authority": base58(&a),
                        "balance": balance,
                        "executor": executor,
                        "fee": fee,
                        "strategy": strategy,
                        "mask": mask,
                        "reload": reload,
                    }),
                );
            }
            out.insert(base58(&a), miner);
        }
        out
    }
}

/// Lamports on square `w` deployed before `authority`'s deployment on it.
fn cumulative_before(deployments: &[Deployment], authority: &Pubkey, w: usize) -> u64 {
    let mut from = 0;
    for d in deployments {
        if d.authority == *authority && d.amounts[w] > 0 {
            return from;
        }
        from += d.amounts[w];
    }
    from
}

/// `value` without nulls and empty objects (what generated types leave out).
pub fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter_map(|(k, v)| {
                    let v = normalized(v);
                    let empty = v.is_null() || v.as_object().is_some_and(Map::is_empty);
                    (!empty).then(|| (k.clone(), v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

/// Where `got` differs from `want` (nulls and empty objects left out; floats to a relative
/// 1e-12).
pub fn differences(got: &Value, want: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    diff("", &normalized(got), &normalized(want), &mut diffs);
    diffs
}

/// Asserts `got` equals `want`: same keys, same values, floats to a relative 1e-12.
pub fn assert_close(what: &str, got: &Value, want: &Value) {
    let diffs = differences(got, want);
    let (got, want) = (normalized(got), normalized(want));
    assert!(
        diffs.is_empty(),
        "{what} differs:\n  {}\ngot:  {got}\nwant: {want}",
        diffs.join("\n  ")
    );
}

fn diff(path: &str, got: &Value, want: &Value, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => diff(&p, gv, wv, out),
                    None => out.push(format!("{p}: missing, want {wv}")),
                }
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected {}", g[k]));
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                diff(&format!("{path}[{i}]"), gv, wv, out);
            }
        }
        (Value::Number(g), Value::Number(w)) if g.is_f64() || w.is_f64() => {
            let (a, b) = (
                g.as_f64().unwrap_or(f64::NAN),
                w.as_f64().unwrap_or(f64::NAN),
            );
            let close = a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
            if !close {
                out.push(format!("{path}: got {a}, want {b}"));
            }
        }
        (g, w) if g == w => {}
        (g, w) => out.push(format!("{path}: got {g}, want {w}")),
    }
}
