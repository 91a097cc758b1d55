//! The ore stack (examples/ore/ore.stack.toml, embedded in generated/ore-stack, so no fixtures
//! are needed): its generated types nest sections (`round.state.motherlode`), and its joins on
//! the real steel layouts — the entropy `Var` account reused by every round, the treasury
//! handed from round to round — give each round its own values whatever order a slot's updates
//! arrive in.

use hyperstack_sdk::spec::wire::AppendCaps;
use hyperstack_sdk::store::merge_patch;
use hyperstack_server::source::{
    AccountUpdate, Commitment, IxPath, Pubkey, RawInstruction, RawUpdate, Signature,
    TransactionUpdate,
};
use hyperstack_server::{StateTableConfig, Transformer};
use ore_stack::{OreMiner, OreRound};
use serde_json::{json, Value};

const ORE: &str = "oreV3EG1i9BEgiAJ8b177Z2S2rMarzak4NMv1kULvWv";
const ENTROPY: &str = "3jSkUuYBoJzQPMEzTvkDFXCZUBksPamrVhrnHR9igu2X";

/// What a client reads from a round before and after a patch: plain field access through the
/// nested section structs.
fn motherlode(round: &OreRound) -> Option<f64> {
    round.state.motherlode
}

#[test]
fn generated_types_nest_sections_and_patches_merge_into_them() {
    let before_json = json!({
        "id": {"round_id": 12, "round_address": "11111111111111111111111111111111"},
        "state": {"motherlode": 1.5, "total_deployed": 2.25, "deployed_per_square_ui": [0.5, 1.75]},
        "results": {"rng": "18446744073709551615", "winning_square": 15}
    });
    let before: OreRound = serde_json::from_value(before_json.clone()).unwrap();
    assert_eq!(motherlode(&before), Some(1.5));
    assert_eq!(before.id.round_id, Some(12));
    assert_eq!(before.results.rng, Some(i128::from(u64::MAX)));
    assert!(before.entropy.is_empty());

    // A patch carries only the changed field of the section; merged, the rest stays.
    let mut merged = before_json;
    merge_patch(
        &mut merged,
        &json!({"state": {"motherlode": 3.0}}),
        &[] as &[String],
        &AppendCaps::default(),
    );
    let after: OreRound = serde_json::from_value(merged).unwrap();
    assert_eq!(motherlode(&after), Some(3.0));
    assert_eq!(after.state.total_deployed, before.state.total_deployed);
    // Empty sections are left out when serialized.
    let json = serde_json::to_value(&after).unwrap();
    assert!(json.get("entropy").is_none(), "{json}");

    let miner: OreMiner = serde_json::from_value(json!({
        "authority": "11111111111111111111111111111111",
        "automation": {"amount": 0.1, "strategy": 2}
    }))
    .unwrap();
    assert_eq!(miner.automation.strategy, Some(2));
}

fn program(addr: &str) -> Pubkey {
    addr.parse().unwrap()
}

fn key(n: u8) -> Pubkey {
    let mut k = [n; 32];
    k[0] = 0xCC;
    Pubkey(k)
}

fn sig(n: u8) -> Signature {
    Signature([n; 64])
}

const VAR: u8 = 40;
const TREASURY: u8 = 41;

fn round_addr(id: u64) -> Pubkey {
    key(id as u8)
}

/// Little-endian bytes of bytemuck fields.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn disc(d: u8) -> Bytes {
        Bytes(vec![d, 0, 0, 0, 0, 0, 0, 0])
    }
    fn u64(mut self, v: u64) -> Bytes {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64s(mut self, v: &[u64]) -> Bytes {
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
        self
    }
    fn raw(mut self, b: &[u8]) -> Bytes {
        self.0.extend_from_slice(b);
        self
    }
}

fn write(
    slot: u64,
    wv: u64,
    pubkey: Pubkey,
    owner: &str,
    data: Bytes,
    tx: Option<u8>,
) -> RawUpdate {
    RawUpdate::Account(AccountUpdate {
        slot,
        write_version: wv,
        pubkey,
        owner: program(owner),
        data: data.0,
        commitment: Commitment::Confirmed,
        txn_signature: tx.map(sig),
    })
}

/// A Round account (ore.json's layout: id, deployed[25], slot_hash, count[25], expires_at,
/// motherlode, rent_payer, top_miner, top_miner_reward, total_deployed, total_miners,
/// total_vaulted, total_winnings).
fn round(slot: u64, wv: u64, id: u64, deployed: u64, motherlode: u64, tx: Option<u8>) -> RawUpdate {
    let mut per_square = [0u64; 25];
    per_square[3] = deployed;
    let data = Bytes::disc(109)
        .u64(id)
        .u64s(&per_square)
        .raw(&[7; 32])
        .u64s(&[0; 25])
        .u64s(&[1_000 + id, motherlode])
        .raw(&key(90).0)
        .raw(&key(91).0)
        .u64s(&[0, deployed, 1, 0, 0]);
    write(slot, wv, round_addr(id), ORE, data, tx)
}

/// The entropy Var account (authority, id, provider, commit, seed, slot_hash, value, samples,
/// is_auto, start_at, end_at).
fn var(slot: u64, wv: u64, value: [u8; 32], end_at: u64, tx: Option<u8>) -> RawUpdate {
    let data = Bytes::disc(0)
        .raw(&key(92).0)
        .u64(1)
        .raw(&key(93).0)
        .raw(&[1; 32])
        .raw(&[2; 32])
        .raw(&[3; 32])
        .raw(&value)
        .u64s(&[0, 1, end_at - 100, end_at]);
    write(slot, wv, key(VAR), ENTROPY, data, tx)
}

/// The Treasury (balance, buffer_a, motherlode, miner_rewards_factor, stake_rewards_factor,
/// buffer_b, total_refined, total_staked, total_unclaimed).
fn treasury(slot: u64, wv: u64, motherlode: u64, tx: Option<u8>) -> RawUpdate {
    let data = Bytes::disc(104)
        .u64s(&[2_500_000_000, 0, motherlode])
        .raw(&[0xAB; 16])
        .raw(&[0; 16])
        .u64s(&[0, 100_000_000_000, 0, 0]);
    write(slot, wv, key(TREASURY), ORE, data, tx)
}

/// A steel instruction: one discriminant byte, packed arguments, accounts by role (roles not
/// given get filler keys).
fn ix(
    program_key: &str,
    discriminant: u8,
    args: &[u8],
    roles: &[&str],
    given: &[(&str, Pubkey)],
) -> (Pubkey, Vec<Pubkey>, Vec<u8>) {
    let accounts = roles
        .iter()
        .enumerate()
        .map(|(i, role)| {
            given
                .iter()
                .find(|(r, _)| r == role)
                .map_or(key(200 + i as u8), |(_, k)| *k)
        })
        .collect();
    let mut data = vec![discriminant];
    data.extend_from_slice(args);
    (program(program_key), accounts, data)
}

const DEPLOY_ROLES: [&str; 11] = [
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

fn deploy(round: u64, amount: u64) -> (Pubkey, Vec<Pubkey>, Vec<u8>) {
    let mut args = amount.to_le_bytes().to_vec();
    args.extend_from_slice(&8u32.to_le_bytes());
    ix(
        ORE,
        6,
        &args,
        &DEPLOY_ROLES,
        &[("round", round_addr(round)), ("entropyVar", key(VAR))],
    )
}

fn reset(round: u64) -> (Pubkey, Vec<Pubkey>, Vec<u8>) {
    let roles = [
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
    ix(
        ORE,
        9,
        &[],
        &roles,
        &[
            ("round", round_addr(round)),
            ("roundNext", round_addr(round + 1)),
            ("treasury", key(TREASURY)),
            ("entropyVar", key(VAR)),
        ],
    )
}

fn reveal(seed: [u8; 32]) -> (Pubkey, Vec<Pubkey>, Vec<u8>) {
    ix(ENTROPY, 4, &seed, &["signer", "var"], &[("var", key(VAR))])
}

fn tx(slot: u64, index: u64, s: u8, ixs: Vec<(Pubkey, Vec<Pubkey>, Vec<u8>)>) -> RawUpdate {
    let mut keys: Vec<Pubkey> = Vec::new();
    let mut index_of = |k: Pubkey| -> u8 {
        match keys.iter().position(|x| *x == k) {
            Some(i) => i as u8,
            None => {
                keys.push(k);
                (keys.len() - 1) as u8
            }
        }
    };
    let instructions = ixs
        .into_iter()
        .enumerate()
        .map(|(outer, (prog, accounts, data))| RawInstruction {
            path: IxPath {
                outer: outer as u32,
                inner: None,
            },
            program_index: index_of(prog),
            accounts: accounts.into_iter().map(&mut index_of).collect(),
            data,
        })
        .collect();
    RawUpdate::Transaction(TransactionUpdate {
        slot,
        index,
        signature: sig(s),
        account_keys: keys,
        instructions,
        log_messages: vec![],
        failed: false,
        commitment: Commitment::Confirmed,
    })
}

fn revealed() -> [u8; 32] {
    let mut v = [0u8; 32];
    for (i, b) in v.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(29).wrapping_add(5);
    }
    v
}

fn round_json(t: &mut Transformer, id: u64) -> Value {
    t.entity_json("OreRound", &id.to_string())
        .unwrap_or_else(|| panic!("round {id}"))
}

#[test]
fn rounds_get_their_own_entropy_and_treasury_on_the_real_layouts() {
    let stack = ore_stack::spec();
    let mut t = Transformer::new(&stack, StateTableConfig::default()).unwrap();
    assert!(
        t.is_ordered(),
        "the ore stack needs the canonical slot order"
    );
    let updates = vec![
        // Slot 10: round 5 exists, gets a deploy (which opens the Var for it).
        round(10, 1, 5, 0, 0, None),
        tx(10, 0, 1, vec![deploy(5, 1_000_000_000)]),
        round(10, 2, 5, 1_000_000_000, 0, Some(1)),
        var(10, 3, [0; 32], 500, Some(1)),
        // Slot 11, delivered writes first: the reveal of round 5's value, round 5's reset
        // (creating round 6 and raising the motherlode), and round 6's first deploy, which
        // re-opens the Var for round 6 — its write arrives before the deploy itself.
        var(11, 10, revealed(), 500, Some(2)),
        var(11, 13, [0; 32], 600, Some(4)),
        round(11, 11, 6, 0, 30_000_000_000, Some(3)),
        treasury(11, 12, 30_000_000_000, Some(3)),
        tx(11, 2, 4, vec![deploy(6, 2_000_000_000)]),
        tx(11, 1, 3, vec![reset(5)]),
        tx(11, 0, 2, vec![reveal([9; 32])]),
    ];
    let mut out = Vec::new();
    for u in &updates {
        t.apply(u, &mut out);
    }
    t.flush(&mut out);

    let r5 = round_json(&mut t, 5);
    let r6 = round_json(&mut t, 6);
    let value = revealed();
    let rng = value
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .fold(0, |a, b| a ^ b);
    assert_eq!(r5["entropy"]["entropy_end_at"], json!(500), "{r5}");
    assert_eq!(
        r5["entropy"]["entropy_value"],
        json!(bs58::encode(value).into_string())
    );
    assert_eq!(r5["results"]["rng"], json!(rng.to_string()));
    assert_eq!(r5["results"]["winning_square"], json!(rng % 25));
    assert_eq!(
        r5["results"]["did_hit_motherlode"],
        json!(rng.reverse_bits().is_multiple_of(625))
    );
    assert_eq!(r5["metrics"]["deploy_count"], json!(1));
    assert_eq!(r5["state"]["total_deployed"], json!(1.0));
    assert_eq!(
        r5["results"]["slot_hash"],
        json!(bs58::encode([7u8; 32]).into_string())
    );

    assert_eq!(r6["entropy"]["entropy_end_at"], json!(600), "{r6}");
    assert!(r6["entropy"].get("entropy_value").is_none(), "{r6}");
    assert_eq!(r6["treasury"]["motherlode"], json!(0.3), "{r6}");
    assert!(r5.get("treasury").is_none(), "{r5}");
    assert_eq!(r6["metrics"]["deploy_count"], json!(1));
    assert_eq!(r6["state"]["motherlode"], json!(0.3));

    let treasury = t
        .entity_json("OreTreasury", &key(TREASURY).to_base58())
        .unwrap();
    assert_eq!(treasury["balance"], json!(2.5));
    assert_eq!(treasury["total_refined"], json!(1.0));
    assert_eq!(
        treasury["snapshot"]["miner_rewards_factor"],
        json!({"bits": "ab".repeat(16)})
    );
}
