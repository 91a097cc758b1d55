//! End to end on the ore stack: the example server (`--stack ore`, a real process) replays the
//! ore simulator, and SDK clients over WebSocket read `OreRound`, `OreTreasury` and `OreMiner`
//! with the generated types. A client subscribed while the replay runs (snapshot, then nested
//! patches merged by the SDK) and a client that lists after it ended must both hold exactly
//! what this test computes on its own from the simulator's inputs (tests/ore_expect).

mod common;
mod ore_expect;

use std::collections::BTreeMap;
use std::time::Duration;

use common::server;
use examples::generator::base58;
use examples::generator::ore::record::OreRecord;
use examples::generator::ore::OreSim;
use hyperstack_sdk::prelude::*;
use ore_expect::{assert_close, differences, Expected};
use ore_stack::{OreMinerEntity, OreRoundEntity, OreTreasuryEntity};
use serde_json::Value;

/// The server binary's defaults: seed 42, 2,000 slots from slot 300,000,000.
const SEED: u64 = 42;
const SLOTS: u64 = 2_000;
const START: u64 = 300_000_000;

/// Entities as JSON objects keyed by `key_of`.
fn keyed<T: serde::Serialize>(
    items: &[T],
    key_of: impl Fn(&Value) -> String,
) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|item| {
            let v = serde_json::to_value(item).expect("generated types serialize");
            (key_of(&v), v)
        })
        .collect()
}

fn round_key(v: &Value) -> String {
    v["id"]["round_id"].to_string()
}

fn authority_key(v: &Value) -> String {
    v["authority"].as_str().unwrap_or_default().to_string()
}

fn compare(what: &str, got: &BTreeMap<String, Value>, want: &BTreeMap<String, Value>) {
    let got_keys: Vec<&String> = got.keys().collect();
    let want_keys: Vec<&String> = want.keys().collect();
    assert_eq!(got_keys, want_keys, "{what}: the same entities");
    for (k, w) in want {
        assert_close(&format!("{what} {k}"), &got[k], w);
    }
}

/// Whether every entity of `got` equals `want` (for waiting on a live client).
fn same(got: &BTreeMap<String, Value>, want: &BTreeMap<String, Value>) -> bool {
    got.len() == want.len()
        && want
            .iter()
            .all(|(k, w)| got.get(k).is_some_and(|g| differences(g, w).is_empty()))
}

#[test]
fn ore_rounds_treasury_and_miners_reach_clients_as_computed_from_the_simulation() {
    let (_, record) = OreSim::new(SEED, START).run(SLOTS);
    let expected = Expected::new(&record);
    let rounds: BTreeMap<String, Value> = expected
        .rounds_json()
        .into_iter()
        .map(|(id, v)| (id.to_string(), v))
        .collect();
    let (treasury_key, treasury) = expected.treasury_json();
    let miners = expected.miners_json();
    // The run is worth checking: rounds resolved, one hit the motherlode, a top miner was
    // found, checkpoints and automations happened.
    assert!(rounds.len() >= 8, "{} rounds", rounds.len());
    assert!(
        expected.rounds.iter().any(|r| r.motherlode > 0),
        "a motherlode hit"
    );
    assert!(expected
        .rounds
        .iter()
        .any(|r| !r.split && r.top_miner != [0; 32]));
    assert!(record.rounds.iter().any(|r| r.var_before_first_deploy));
    assert!(miners.values().any(|m| m.get("automation").is_some()));

    // `--speed 200`: 2,000 slots in about 4 s, so the live client sees the rounds change.
    let (server, url) = server("ore", &["--speed", "200", "--no-loop"]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let live = runtime
        .block_on(HyperStack::connect(&url))
        .expect("connects");
    let mut live_rounds = runtime.block_on(async { live.watch::<OreRoundEntity>() });
    // The first update: the live subscription is open (snapshot or patch).
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), live_rounds.next()).await })
        .expect("a first round update")
        .expect("the stream is open");
    server.stderr_line("ingestion caught up");

    runtime.block_on(async {
        // The live client: patches merged into its copy until it holds the final state (each
        // wait is for its next update; a stuck stream fails the test).
        loop {
            let got = keyed(&live.list::<OreRoundEntity>().await, round_key);
            if same(&got, &rounds) {
                break;
            }
            tokio::time::timeout(Duration::from_secs(30), live_rounds.next())
                .await
                .unwrap_or_else(|_| {
                    compare("live OreRound", &got, &rounds);
                    panic!("the live client stopped short of the final rounds")
                });
        }

        // A fresh client after the end: snapshots.
        let fresh = HyperStack::connect(&url).await.expect("connects");
        let got = keyed(
            &fresh.try_list::<OreRoundEntity>().await.expect("lists"),
            round_key,
        );
        compare("OreRound", &got, &rounds);

        let got = fresh.try_list::<OreTreasuryEntity>().await.expect("lists");
        assert_eq!(got.len(), 1, "one treasury");
        let got_treasury = serde_json::to_value(&got[0]).expect("serializes");
        assert_close("OreTreasury", &got_treasury, &treasury);
        let by_key = fresh
            .try_get::<OreTreasuryEntity>(&treasury_key)
            .await
            .expect("gets");
        assert!(by_key.is_some(), "the treasury is keyed by its address");

        let got = keyed(
            &fresh.try_list::<OreMinerEntity>().await.expect("lists"),
            authority_key,
        );
        compare("OreMiner", &got, &miners);

        // The latest round through the derived single-entity view.
        let latest = fresh
            .views::<ore_stack::OreRoundViews>()
            .latest()
            .try_get()
            .await
            .expect("latest")
            .expect("a latest round");
        assert_eq!(
            latest.id.round_id,
            rounds.len().checked_sub(1).map(|n| n as u64)
        );
    });
}

/// What `ore_rounds` prints when round `id` resolves: the resolution line and the round's
/// final board, from the simulation's record.
fn resolution_lines(record: &OreRecord, expected: &Expected<'_>, id: usize) -> Vec<String> {
    let r = &record.rounds[id];
    let o = &expected.rounds[id];
    let winning = o.rng.map(|rn| (rn % 25) as usize);
    let square = match winning {
        Some(w) => format!(
            "winning square {w} (row {}, column {})",
            w / 5 + 1,
            w % 5 + 1
        ),
        None => "no winning square (no random value)".to_string(),
    };
    let top = if o.split {
        format!("top miner {}", base58(&record.keys.split_address))
    } else {
        "top miner found at its checkpoint".to_string()
    };
    let motherlode = if o.motherlode > 0 {
        format!("motherlode hit: {:.3} ORE", o.motherlode as f64 / 1e11)
    } else {
        "motherlode missed".to_string()
    };
    let mut lines = vec![
        format!("[RESOLVED] round #{id}: {square}, {top}, {motherlode}"),
        format!(
            "== round #{id} ({}): {:.3} SOL on the board, {} miners, motherlode {:.3} ORE",
            base58(&r.address),
            o.total_deployed as f64 / 1e9,
            o.total_miners,
            o.motherlode as f64 / 1e11
        ),
    ];
    for row in 0..5 {
        let cells: Vec<String> = (0..5)
            .map(|col| {
                let sq = row * 5 + col;
                let mark = if winning == Some(sq) { '*' } else { ' ' };
                format!("{:>8.3}{mark}", o.deployed[sq] as f64 / 1e9)
            })
            .collect();
        lines.push(format!("|{}|", cells.join(" ")));
    }
    lines
}

#[test]
fn ore_rounds_prints_each_resolution_with_its_board() {
    let (_, record) = OreSim::new(SEED, START).run(SLOTS);
    let expected = Expected::new(&record);
    // Rounds resolve every ~190 slots: at `--speed 100`, about every 0.8 s.
    let (_server, url) = server("ore", &["--speed", "100", "--no-loop"]);
    let client = common::Proc::spawn(
        env!("CARGO_BIN_EXE_ore_rounds"),
        &["--url", &url, "--max-resolved", "3"],
    );
    let lines = client.finish();
    assert!(
        lines[0].starts_with("== "),
        "the latest round first: {lines:#?}"
    );
    let resolved: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("[RESOLVED]"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(resolved.len(), 3, "{lines:#?}");
    for at in resolved {
        let id: usize = lines[at]
            .trim_start_matches("[RESOLVED] round #")
            .split(':')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a round id");
        let want = resolution_lines(&record, &expected, id);
        assert_eq!(&lines[at..at + want.len()], &want[..], "round {id}");
    }
}
