//! The ore simulator against the independent oracle: every account it writes and every
//! instruction it sends must have exactly the bytes the hand-written encoders of
//! hyperstack-server/tests/ore_oracle give for the values it meant, and the server's decoder,
//! on the real IDLs, must read those values back, field by field. The replay recording of the
//! run must decode without a single error and keep each write's transaction signature.
//!
//! Decoding needs `HYPERSTACK_FIXTURES` (CI sets it to ../shared/fixtures) and is skipped
//! with a note otherwise; the byte comparison always runs.

#[path = "../../hyperstack-server/tests/ore_oracle/mod.rs"]
mod ore_oracle;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use examples::generator::ore::accounts::OreAccount;
use examples::generator::ore::instructions::{OreIx, Program};
use examples::generator::ore::OreSim;
use examples::generator::replay::recording;
use examples::generator::Update;
use hyperstack_server::decode::{ProgramDecoder, StackDecoder, TxItem};
use hyperstack_server::source::{replay, RawUpdate};
use hyperstack_server::spec::idl::Idl;
use ore_oracle as oracle;
use serde_json::{json, Value};

fn decoders() -> Option<(ProgramDecoder, ProgramDecoder)> {
    let Some(dir) = std::env::var_os("HYPERSTACK_FIXTURES").filter(|d| !d.is_empty()) else {
        println!("skipped: HYPERSTACK_FIXTURES is not set (CI sets it to ../shared/fixtures)");
        return None;
    };
    let dir = PathBuf::from(dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = if dir.is_relative() {
        root.join(dir)
    } else {
        dir
    }
    .join("idl");
    let load = |name: &str| {
        let path = dir.join(format!("{name}.json"));
        let idl = Idl::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        ProgramDecoder::new(&idl)
    };
    Some((load("ore"), load("entropy")))
}

/// The oracle's bytes and decoded JSON for a value the simulator meant.
fn oracle_of(account: &OreAccount) -> (Vec<u8>, Value, &'static str) {
    match account {
        OreAccount::Round(r) => {
            let o = oracle::Round {
                id: r.id,
                deployed: r.deployed,
                slot_hash: r.slot_hash,
                count: r.count,
                expires_at: r.expires_at,
                motherlode: r.motherlode,
                rent_payer: r.rent_payer,
                top_miner: r.top_miner,
                top_miner_reward: r.top_miner_reward,
                total_deployed: r.total_deployed,
                total_miners: r.total_miners,
                total_vaulted: r.total_vaulted,
                total_winnings: r.total_winnings,
            };
            (oracle::round(&o), oracle::round_json(&o), "Round")
        }
        OreAccount::Treasury(t) => {
            let o = oracle::Treasury {
                balance: t.balance,
                buffer_a: t.buffer_a,
                motherlode: t.motherlode,
                miner_rewards_factor: t.miner_rewards_factor,
                stake_rewards_factor: t.stake_rewards_factor,
                buffer_b: t.buffer_b,
                total_refined: t.total_refined,
                total_staked: t.total_staked,
                total_unclaimed: t.total_unclaimed,
            };
            (oracle::treasury(&o), oracle::treasury_json(&o), "Treasury")
        }
        OreAccount::Miner(m) => {
            let o = oracle::Miner {
                authority: m.authority,
                deployed: m.deployed,
                cumulative: m.cumulative,
                checkpoint_fee: m.checkpoint_fee,
                checkpoint_id: m.checkpoint_id,
                last_claim_ore_at: m.last_claim_ore_at,
                last_claim_sol_at: m.last_claim_sol_at,
                rewards_factor: m.rewards_factor,
                rewards_sol: m.rewards_sol,
                rewards_ore: m.rewards_ore,
                refined_ore: m.refined_ore,
                round_id: m.round_id,
                lifetime_rewards_sol: m.lifetime_rewards_sol,
                lifetime_rewards_ore: m.lifetime_rewards_ore,
                lifetime_deployed: m.lifetime_deployed,
            };
            (oracle::miner(&o), oracle::miner_json(&o), "Miner")
        }
        OreAccount::Automation(a) => {
            let o = oracle::Automation {
                amount: a.amount,
                authority: a.authority,
                balance: a.balance,
                executor: a.executor,
                fee: a.fee,
                strategy: a.strategy,
                mask: a.mask,
                reload: a.reload,
            };
            (
                oracle::automation(&o),
                oracle::automation_json(&o),
                "Automation",
            )
        }
        OreAccount::Board(b) => {
            let o = oracle::Board {
                round_id: b.round_id,
                start_slot: b.start_slot,
                end_slot: b.end_slot,
                epoch_id: b.epoch_id,
            };
            (oracle::board(&o), oracle::board_json(&o), "Board")
        }
        OreAccount::Var(v) => {
            let o = oracle::Var {
                authority: v.authority,
                id: v.id,
                provider: v.provider,
                commit: v.commit,
                seed: v.seed,
                slot_hash: v.slot_hash,
                value: v.value,
                samples: v.samples,
                is_auto: v.is_auto,
                start_at: v.start_at,
                end_at: v.end_at,
            };
            (oracle::var(&o), oracle::var_json(&o), "Var")
        }
    }
}

/// The oracle's bytes and decoded arguments for an instruction the simulator meant.
fn oracle_ix(ix: &OreIx) -> (Vec<u8>, Value) {
    match ix {
        OreIx::Automate {
            amount,
            deposit,
            fee,
            mask,
            strategy,
            reload,
        } => (
            oracle::automate_ix(*amount, *deposit, *fee, *mask, *strategy, *reload),
            json!({"amount": oracle::int(*amount), "deposit": oracle::int(*deposit),
                   "fee": oracle::int(*fee), "mask": oracle::int(*mask),
                   "strategy": strategy, "reload": oracle::int(*reload)}),
        ),
        OreIx::Checkpoint => (oracle::checkpoint_ix(), json!({})),
        OreIx::Deploy { amount, squares } => (
            oracle::deploy_ix(*amount, *squares),
            json!({"amount": oracle::int(*amount), "squares": squares}),
        ),
        OreIx::Reset => (oracle::reset_ix(), json!({})),
        OreIx::Next { end_at } => (
            oracle::next_ix(*end_at),
            json!({"endAt": oracle::int(*end_at)}),
        ),
        OreIx::Reveal { seed } => (oracle::reveal_ix(seed), json!({"seed": seed.to_vec()})),
        OreIx::Sample => (oracle::sample_ix(), json!({})),
    }
}

/// The bytes need no IDL: checked always. Decoding them needs the fixtures.
#[test]
fn simulator_bytes_match_the_oracle_and_decode_to_what_it_meant() {
    let decoders = decoders();
    let (updates, record) = OreSim::new(7, 300_000_000).run(1_200);
    let data: HashMap<u64, &[u8]> = updates
        .iter()
        .filter_map(|u| match u {
            Update::Account(a) => Some((a.write_version, a.data.as_slice())),
            Update::Transaction(_) => None,
        })
        .collect();
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for w in &record.writes {
        let (bytes, expected, name) = oracle_of(&w.account);
        let streamed = data[&w.write_version];
        assert_eq!(
            streamed,
            bytes.as_slice(),
            "{name} write {}",
            w.write_version
        );
        *kinds.entry(name).or_default() += 1;
        let Some((ore, entropy)) = &decoders else {
            continue;
        };
        let program = if name == "Var" { entropy } else { ore };
        let (index, value) = program.decode_account(streamed).expect(name);
        let item = program.accounts[index].as_ref().unwrap();
        assert_eq!(item.name, name);
        let got = value.to_json(Some(&item.layout));
        assert_eq!(oracle::keys(&got), oracle::keys(&expected), "{name}");
        for field in oracle::keys(&expected) {
            assert_eq!(got[&field], expected[&field], "{name}.{field}");
        }
    }
    for name in ["Round", "Treasury", "Miner", "Automation", "Board", "Var"] {
        assert!(
            kinds.get(name).is_some_and(|&n| n > 0),
            "{name} written: {kinds:?}"
        );
    }
    for i in &record.instructions {
        let (bytes, expected) = oracle_ix(&i.ix);
        assert_eq!(i.ix.encode(), bytes, "{}", i.ix.name());
        let Some((ore, entropy)) = &decoders else {
            continue;
        };
        let program = match i.ix.program() {
            Program::Ore => ore,
            Program::Entropy => entropy,
        };
        let decoded = program.decode_instruction(&bytes);
        let (index, args) = decoded.unwrap_or_else(|e| panic!("{}: {e}", i.ix.name()));
        let item = program.instructions[index].as_ref().unwrap();
        assert_eq!(item.name, i.ix.name());
        assert_eq!(
            args.to_json(Some(&item.layout)),
            expected,
            "{}",
            i.ix.name()
        );
        assert_eq!(
            i.accounts.len(),
            item.roles,
            "{} names every role",
            i.ix.name()
        );
    }
}

#[test]
fn the_recording_decodes_without_errors() {
    let Some((ore, entropy)) = decoders() else {
        return;
    };
    let stack = StackDecoder {
        programs: vec![ore, entropy],
    };
    let (updates, record) = OreSim::new(7, 300_000_000).run(1_200);
    let raw = replay::parse_all(&recording(&updates)).expect("the recording parses");
    assert_eq!(raw.len(), updates.len());
    let (mut accounts, mut instructions) = (0, 0);
    let mut signed = 0;
    for (u, original) in raw.iter().zip(&updates) {
        match (u, original) {
            (RawUpdate::Account(a), Update::Account(w)) => {
                assert!(stack.decode_account(a).expect("decodes").is_some());
                assert_eq!(a.txn_signature.map(|s| s.0), w.txn_signature);
                signed += usize::from(a.txn_signature.is_some());
                accounts += 1;
            }
            (RawUpdate::Transaction(t), Update::Transaction(_)) => {
                let mut items = Vec::new();
                let mut errors = Vec::new();
                stack.decode_transaction(t, &mut items, &mut |kind, e| errors.push((kind, e)));
                assert!(errors.is_empty(), "{errors:?}");
                assert!(items.iter().all(|i| matches!(i, TxItem::Instruction(_))));
                instructions += items.len();
            }
            other => panic!("the recording reordered updates: {other:?}"),
        }
    }
    assert_eq!(instructions, record.instructions.len());
    assert_eq!(accounts, record.writes.len());
    assert_eq!(
        signed,
        accounts - 4,
        "every write but the initial state is signed"
    );
}
