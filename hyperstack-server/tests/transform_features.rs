//! The transform on a round-based program (tests/data/rounds): sections nested in patches,
//! a key from several sources, lookups through lookups re-pointed by instructions (the `Var`
//! account reused by every round), `when` / `condition` / `stop`, transforms, `unique_count`,
//! `merge`, the list and bit functions — and the same result whatever order a slot's updates
//! arrive in.

mod rounds_support;

use hyperstack_server::source::RawUpdate;
use hyperstack_server::{Change, StateTableConfig};
use rounds_support::*;
use serde_json::json;

/// Round 7 is live (slot 100); slot 101 reveals its var, resets it into round 8, and round 8's
/// first deploy re-opens the var. Every write carries its transaction's signature.
fn two_rounds() -> (Vec<RawUpdate>, Vec<RawUpdate>) {
    let alice = key(1);
    let before = vec![
        round(100, 1, 7, [0; 4], 40_000_000_000, None),
        tx(100, 0, 10, vec![deploy_ix(7, alice, 2_000_000_000)]),
        round(
            100,
            2,
            7,
            [2_000_000_000, 0, 0, 0],
            40_000_000_000,
            Some(10),
        ),
        var(100, 3, [0; 32], 1_000, Some(10)),
    ];
    let slot = vec![
        tx(101, 0, 11, vec![reveal_ix()]),
        var(101, 10, revealed(), 1_000, Some(11)),
        tx(101, 1, 12, vec![reset_ix(7)]),
        treasury(101, 11, 5_000_000_000, 77_000_000_000, Some(12)),
        round(101, 12, 8, [0; 4], 77_000_000_000, Some(12)),
        tx(101, 2, 13, vec![deploy_ix(8, alice, 3_000_000_000)]),
        var(101, 13, [0; 32], 2_000, Some(13)),
        round(
            101,
            14,
            8,
            [0, 3_000_000_000, 0, 0],
            77_000_000_000,
            Some(13),
        ),
    ];
    (before, slot)
}

#[test]
fn var_writes_join_the_round_their_transaction_links() {
    let mut t = transformer();
    assert!(t.is_ordered());
    let (before, slot) = two_rounds();
    // The race: round 8's Var write (made by round 8's first deploy) arrives before that
    // deploy, and every write before its transaction (each account's writes stay in version
    // order, as Geyser delivers them).
    let mut updates = before;
    updates.extend([1, 6, 4, 5, 7, 3, 2, 0].map(|i| slot[i].clone()));
    run(&mut t, &updates);

    let r7 = round_json(&mut t, 7);
    let r8 = round_json(&mut t, 8);
    assert_eq!(r7["entropy"]["end_at"], json!(1_000), "{r7}");
    assert_eq!(
        r7["entropy"]["value"],
        json!(bs58::encode(revealed()).into_string()),
        "the reveal's write joined round 7: {r7}"
    );
    let rng = rng_of(&revealed());
    assert_eq!(r7["results"]["rng"], json!(rng.to_string()), "{r7}");
    assert_eq!(r7["results"]["square"], json!(rng % 25));
    assert_eq!(
        r7["results"]["hit"],
        json!(rng.reverse_bits().is_multiple_of(625))
    );
    assert_eq!(r8["entropy"]["end_at"], json!(2_000), "{r8}");
    assert!(r8["entropy"].get("value").is_none(), "never revealed: {r8}");
    assert!(r8["results"].get("rng").is_none(), "{r8}");
    // The reset moved the treasury to round 8: the write of the reset's own transaction is
    // round 8's, resolved through the round-8 address its account registers in that
    // transaction too.
    assert_eq!(
        r8["treasury"]["motherlode"],
        json!(77_000_000_000u64),
        "{r8}"
    );
    assert_eq!(
        r8["treasury"]["snapshot"],
        json!({"balance": 5.0, "motherlode": 77_000_000_000u64})
    );
    assert!(r7.get("treasury").is_none(), "{r7}");
    assert_eq!(r8["metrics"]["deploys"], json!(1));
    assert_eq!(
        r8["state"]["deployed_ui"],
        json!([0.0, 3_000_000_000f64 * 1e-9, 0.0, 0.0])
    );
    assert_eq!(r8["state"]["motherlode"], json!(0.77));
}

#[test]
fn a_slot_gives_the_same_result_whatever_its_arrival_order() {
    let (before, slot) = two_rounds();
    let reference = {
        let mut t = transformer();
        let mut all = before.clone();
        all.extend(slot.clone());
        let out = run(&mut t, &all);
        (out, round_json(&mut t, 7), round_json(&mut t, 8))
    };
    // Arrival orders of the slot's 8 updates: 400 random ones, each account's writes kept in
    // version order (as Geyser delivers them; the Var and round-8 accounts are written twice).
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut seen = std::collections::HashSet::new();
    for _ in 0..400 {
        let mut arrival: Vec<RawUpdate> = slot.clone();
        for i in (1..arrival.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            arrival.swap(i, j);
        }
        // Restore version order among each account's writes, keeping their positions.
        let positions: Vec<usize> = (0..arrival.len())
            .filter(|&i| matches!(arrival[i], RawUpdate::Account(_)))
            .collect();
        for (n, &i) in positions.iter().enumerate() {
            for &j in &positions[n + 1..] {
                let swap = match (&arrival[i], &arrival[j]) {
                    (RawUpdate::Account(a), RawUpdate::Account(b)) => {
                        a.pubkey == b.pubkey && a.write_version > b.write_version
                    }
                    _ => false,
                };
                if swap {
                    arrival.swap(i, j);
                }
            }
        }
        seen.insert(format!(
            "{:?}",
            arrival.iter().map(order_id).collect::<Vec<_>>()
        ));
        let mut t = transformer();
        let mut all = before.clone();
        all.extend(arrival);
        let out = run(&mut t, &all);
        assert_eq!(out, reference.0, "mutations differ for an arrival order");
        assert_eq!(round_json(&mut t, 7), reference.1);
        assert_eq!(round_json(&mut t, 8), reference.2);
    }
    assert!(seen.len() > 300, "{} distinct orders", seen.len());
}

/// Identifies an update of [`two_rounds`]'s slot: its write version or transaction index.
fn order_id(u: &RawUpdate) -> u64 {
    match u {
        RawUpdate::Account(a) => a.write_version,
        RawUpdate::Transaction(t) => 1_000 + t.index,
    }
}

#[test]
fn without_signatures_writes_join_as_of_the_end_of_their_slot() {
    let mut t = transformer();
    let (before, slot) = two_rounds();
    let strip = |u: RawUpdate| match u {
        RawUpdate::Account(mut a) => {
            a.txn_signature = None;
            RawUpdate::Account(a)
        }
        other => other,
    };
    let mut all = before;
    all.extend(slot.into_iter().map(strip));
    run(&mut t, &all);
    // The slot's writes come after all its transactions: the var is round 8's by then, so the
    // revealed value (a `reveal` ran in the slot: `when` falls back to the slot) lands there.
    let r8 = round_json(&mut t, 8);
    assert_eq!(r8["entropy"]["end_at"], json!(2_000), "{r8}");
    assert_eq!(round_json(&mut t, 7)["entropy"]["end_at"], json!(1_000));
}

#[test]
fn when_condition_and_stop() {
    let mut t = transformer();
    let alice = key(1);
    let mut value = [0u8; 32];
    value[3] = 9;
    let updates = vec![
        round(200, 1, 20, [0; 4], 0, None),
        tx(200, 0, 30, vec![deploy_ix(20, alice, 1_000_000_000)]),
        // A non-zero value written by a deploy, not a reveal: not taken (`when`).
        var(200, 2, value, 5, Some(30)),
        // Written by a reveal but all zero: not taken (`condition`).
        tx(201, 0, 31, vec![reveal_ix()]),
        var(201, 3, [0; 32], 5, Some(31)),
    ];
    run(&mut t, &updates);
    let r = round_json(&mut t, 20);
    assert!(r["entropy"].get("value").is_none(), "{r}");
    assert_eq!(t.stats().conditions_unmet, 4, "two fields, two writes");
    run(
        &mut t,
        &[
            tx(202, 0, 32, vec![reveal_ix()]),
            var(202, 4, value, 5, Some(32)),
        ],
    );
    let mut expected = [0u8; 32];
    expected[3] = 9;
    assert_eq!(
        round_json(&mut t, 20)["entropy"]["value"],
        json!(bs58::encode(expected).into_string())
    );

    // Each reset hands the treasury to the next round.
    run(
        &mut t,
        &[
            tx(210, 0, 40, vec![reset_ix(20)]),
            round(210, 10, 21, [0; 4], 0, Some(40)),
            treasury(210, 11, 1, 100, Some(40)),
            treasury(211, 12, 1, 150, None),
            tx(212, 0, 41, vec![reset_ix(21)]),
            round(212, 13, 22, [0; 4], 0, Some(41)),
            treasury(212, 14, 1, 0, Some(41)),
        ],
    );
    assert_eq!(round_json(&mut t, 21)["treasury"]["motherlode"], json!(150));
    assert_eq!(round_json(&mut t, 22)["treasury"]["motherlode"], json!(0));
    // `stop`: a reset of round 22 that hands the treasury back to round 22 itself stops the
    // field; the treasury's later writes no longer change it (the snapshot has no stop).
    run(
        &mut t,
        &[
            tx(213, 0, 42, vec![reset_to(22, 22)]),
            treasury(213, 15, 2_000_000_000, 999, Some(42)),
        ],
    );
    let r22 = round_json(&mut t, 22);
    assert_eq!(r22["treasury"]["motherlode"], json!(0), "{r22}");
    assert_eq!(
        r22["treasury"]["snapshot"]["motherlode"],
        json!(999),
        "{r22}"
    );
}

#[test]
fn patches_nest_sections_and_strategies_combine() {
    let mut t = transformer();
    let (alice, bob) = (key(1), key(2));
    let mut third = deploy_ix(30, alice, 3);
    third.events.push(claimed_event(30, bob, 99));
    let out = run(
        &mut t,
        &[
            round(300, 1, 30, [1_000_000_000, 0, 0, 0], 11_000_000_000, None),
            tx(300, 0, 50, vec![deploy_ix(30, alice, 1)]),
            tx(300, 1, 51, vec![deploy_ix(30, bob, 2)]),
            tx(300, 2, 52, vec![third]),
        ],
    );
    // Patches nest sections: the one of the round's account write, for instance.
    let data = out
        .iter()
        .filter(|m| &*m.key == "30")
        .find_map(|m| match &m.change {
            Change::Patch { data, .. } if data.contains_key("id") => Some(data),
            _ => None,
        })
        .expect("the round account's patch");
    assert_eq!(data["id"]["round_id"], json!(30));
    assert_eq!(data["state"]["motherlode"], json!(0.11));
    assert!(!data.contains_key("state.motherlode"));

    // `emit = false` fields are kept but never sent.
    let entropy_sent = out.iter().any(|m| match &m.change {
        Change::Patch { data, .. } => data.get("entropy").is_some_and(|e| e.get("raw").is_some()),
        Change::Delete => false,
    });
    assert!(!entropy_sent);
    let r = round_json(&mut t, 30);
    assert_eq!(r["metrics"]["deploys"], json!(3));
    assert_eq!(r["metrics"]["deployers"], json!(2), "alice and bob");
    assert_eq!(
        r["summary"],
        json!({
            "round_id": 30,
            "authority": alice.to_base58(),
            "amount": 3,
            "winner": bob.to_base58(),
            "pot": 99
        }),
        "the last Deployed merged with the Claimed"
    );
}

#[test]
fn a_key_from_several_sources_joins_both_accounts() {
    let mut t = transformer();
    let authority = key(9);
    run(
        &mut t,
        &[
            miner(400, 1, key(70), authority, 250_000_000_000),
            automation(400, 2, key(71), authority, 42),
        ],
    );
    assert_eq!(
        t.entity_json("Miner", &authority.to_base58()),
        Some(json!({"rewards": 2.5, "automation": {"amount": 42}}))
    );
    assert_eq!(t.keys("Miner").len(), 1);
}

#[test]
fn ordered_stacks_hold_a_slot_until_it_completes_and_count_late_updates() {
    let mut t = transformer();
    let mut out = Vec::new();
    t.apply(&round(500, 1, 50, [0; 4], 0, None), &mut out);
    assert!(out.is_empty(), "held");
    assert_eq!(t.held(), 1);
    t.apply(&round(501, 2, 51, [0; 4], 0, None), &mut out);
    assert_eq!(out.len(), 1, "slot 500 completed by an update of slot 501");
    assert_eq!(&*out[0].key, "50");
    t.apply(&round(500, 3, 52, [0; 4], 0, None), &mut out);
    assert_eq!(out.len(), 2, "a late update is applied on arrival");
    assert_eq!(t.stats().late_updates, 1);
    t.flush(&mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(t.held(), 0);
}

#[tokio::test]
async fn ingestion_applies_the_last_slot_when_the_source_ends() {
    use hyperstack_server::source::replay::to_line;
    use hyperstack_server::HealthConfig;
    use hyperstack_server::{
        spawn_ingest, HealthMonitor, IngestOptions, ReplayConfig, SourceConfig,
    };
    // One slot only: nothing completes it but the end of the source.
    let text: String = [
        round(600, 1, 60, [0; 4], 0, None),
        round(600, 2, 61, [0; 4], 0, None),
    ]
    .iter()
    .map(|u| to_line(u) + "\n")
    .collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let options = IngestOptions {
        state_table: StateTableConfig::default(),
        health: HealthMonitor::new(HealthConfig::default()),
        metrics: None,
        events: None,
    };
    let task = spawn_ingest(
        stack(),
        SourceConfig::Replay(ReplayConfig::text(text)),
        options,
        tx,
        stop_rx,
    )
    .unwrap();
    let mut keys = Vec::new();
    while let Some(m) = rx.recv().await {
        keys.push(m.key.to_string());
        if keys.len() == 2 {
            break;
        }
    }
    assert_eq!(keys, ["60", "61"]);
    let stats = task.await.unwrap().unwrap();
    assert_eq!((stats.updates, stats.mutations), (2, 2));
}
