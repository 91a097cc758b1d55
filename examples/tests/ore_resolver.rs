//! The `token_metadata` resolver on the ore stack (`OreRound.ore_metadata`, the ORE mint),
//! against a local DAS endpoint (tests/das_endpoint): a slow endpoint does not stall
//! ingestion, a down endpoint leaves the field null and is retried (and counted), values are
//! kept in the store and served from the cache after a restart, and the endpoint's key never
//! reaches the logs.

mod common;
mod das_endpoint;
mod ore_expect;

use std::collections::BTreeMap;
use std::time::Duration;

use das_endpoint::{Endpoint, Mode};
use examples::generator::ore::record::OreRecord;
use examples::generator::ore::{OreSim, ORE_MINT};
use examples::generator::replay::recording;
use examples::generator::Update;
use hyperstack_sdk::prelude::*;
use hyperstack_server::source::replay::ReplayConfig;
use hyperstack_server::{DasConfig, ResolverConfig, RunningServer, Server, WebSocketConfig};
use ore_expect::{differences, Expected};
use ore_stack::{OreRound, OreRoundEntity};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(120);

fn simulation() -> (Vec<Update>, OreRecord) {
    OreSim::new(42, 300_000_000).run(2_000)
}

/// Every round as computed from the simulation (tests/ore_expect), with the ORE mint's
/// metadata at `decimals` (`None`: unknown, the fallback 11 applies).
fn expected(record: &OreRecord, decimals: Option<u8>) -> BTreeMap<u64, Value> {
    let mut rounds = Expected::new(record).rounds_json();
    let Some(d) = decimals else {
        return rounds;
    };
    let scale = 10f64.powi(11 - i32::from(d));
    for round in rounds.values_mut() {
        round["ore_metadata"] = json!({
            "name": "Ore", "symbol": "ORE", "decimals": d,
            "image": "https://example.invalid/ore.png"
        });
        for (section, field) in [
            ("state", "motherlode"),
            ("results", "top_miner_reward"),
            ("treasury", "motherlode"),
        ] {
            if let Some(v) = round[section][field].as_f64() {
                round[section][field] = json!(v * scale);
            }
        }
    }
    rounds
}

/// Whether the rounds are exactly `want`.
fn all_equal(now: &BTreeMap<u64, OreRound>, want: &BTreeMap<u64, Value>) -> bool {
    now.len() == want.len()
        && want.iter().all(|(id, w)| {
            now.get(id).is_some_and(|r| {
                differences(&serde_json::to_value(r).unwrap_or_default(), w).is_empty()
            })
        })
}

/// A DAS config for the test endpoint, with short backoffs.
fn das(endpoint: &Endpoint) -> DasConfig {
    DasConfig {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..DasConfig::new(endpoint.url("TEST-KEY"))
    }
}

async fn serve(updates: &[Update], das: DasConfig, dir: Option<&std::path::Path>) -> RunningServer {
    let builder = Server::builder()
        .spec(ore_stack::spec())
        .websocket_config(WebSocketConfig::new("127.0.0.1:0".parse().unwrap()))
        .replay(ReplayConfig::text(recording(updates)))
        .resolvers(ResolverConfig {
            token_metadata: Some(das),
        });
    let builder = match dir {
        Some(d) => builder.data_dir(d),
        None => builder,
    };
    builder.spawn().await.expect("the server starts")
}

/// Waits until the replay is applied, committed and published.
async fn ingested(server: &RunningServer) {
    let health = server.health().clone();
    tokio::time::timeout(WAIT, async {
        while !health.is_completed().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the replay ends");
    server.mutations().drained().await;
}

async fn client(server: &RunningServer) -> HyperStack {
    HyperStack::connect(format!("ws://{}", server.local_addr()))
        .await
        .expect("connects")
}

/// Every round, by id.
async fn rounds(hs: &HyperStack) -> BTreeMap<u64, OreRound> {
    hs.list::<OreRoundEntity>()
        .await
        .into_iter()
        .filter_map(|r| r.id.round_id.map(|id| (id, r)))
        .collect()
}

/// Waits (on the client's live subscription) until `done` holds for the rounds.
async fn until(
    hs: &HyperStack,
    done: impl Fn(&BTreeMap<u64, OreRound>) -> bool,
) -> BTreeMap<u64, OreRound> {
    let mut live = hs.watch::<OreRoundEntity>();
    tokio::time::timeout(WAIT, async {
        loop {
            let now = rounds(hs).await;
            if done(&now) {
                return now;
            }
            live.next().await;
        }
    })
    .await
    .expect("the rounds reach the expected state")
}

fn has_metadata(r: &OreRound, decimals: u8) -> bool {
    r.ore_metadata.as_ref().and_then(|m| m.decimals) == Some(decimals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_does_not_stall_ingestion() {
    // The endpoint holds every request until the test releases it: ingestion must reach the
    // final state while the ORE mint's request is out.
    let endpoint = Endpoint::start(Mode::Hold { decimals: 10 }).await;
    let (updates, record) = simulation();
    let server = serve(&updates, das(&endpoint), None).await;
    ingested(&server).await;
    let hs = client(&server).await;
    let unresolved = expected(&record, None);
    assert!(unresolved.len() >= 8, "{} rounds", unresolved.len());
    until(&hs, |now| all_equal(now, &unresolved)).await;
    endpoint.received_at_least(1).await;
    assert_eq!(
        endpoint.total(),
        1,
        "one request for the one mint, still held"
    );

    // Released: every round gets the metadata, and its ORE amounts follow the mint's
    // decimals (10, not the fallback 11: ten times the amounts); SOL amounts stay.
    endpoint.release();
    let resolved = expected(&record, Some(10));
    until(&hs, |now| all_equal(now, &resolved)).await;
    assert_eq!(endpoint.requests().get(ORE_MINT), Some(&1));
    let m = server.metrics();
    assert_eq!(m.resolver_events("token_metadata", "requested"), 1);
    assert_eq!(m.resolver_events("token_metadata", "found"), 1);
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_endpoint_leaves_the_field_null_and_is_retried_until_it_answers() {
    let endpoint = Endpoint::start(Mode::Down).await;
    let (updates, record) = simulation();
    let server = serve(&updates, das(&endpoint), None).await;
    ingested(&server).await;
    let hs = client(&server).await;
    // Null while down, the amounts at the fallback decimals.
    until(&hs, |now| all_equal(now, &expected(&record, None))).await;
    // Retried with backoff, each failure counted.
    endpoint.received_at_least(3).await;
    let m = server.metrics().clone();
    tokio::time::timeout(WAIT, async {
        while m.resolver_events("token_metadata", "error") < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("failed attempts are counted");
    assert_eq!(m.resolver_events("token_metadata", "found"), 0);
    assert!(m.render_prometheus().lines().any(|l| l.starts_with(
        "hyperstack_resolver_events_total{resolver=\"token_metadata\",outcome=\"error\"}"
    )));
    assert!(rounds(&hs).await.values().all(|r| r.ore_metadata.is_none()));
    assert_eq!(
        endpoint.requests().keys().collect::<Vec<_>>(),
        vec![ORE_MINT],
        "only the ORE mint is asked for"
    );

    // Back up: the next retry fills the field in.
    endpoint.set_mode(Mode::Answer { decimals: 11 });
    until(&hs, |now| all_equal(now, &expected(&record, Some(11)))).await;
    assert_eq!(m.resolver_events("token_metadata", "found"), 1);
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_values_survive_a_restart_and_later_entities_take_them_from_the_cache() {
    let dir = tempfile::tempdir().expect("a data directory");
    let (updates, record) = simulation();
    // The first run ingests the slots up to round 2's reset (rounds 0 to 3); the endpoint
    // answers.
    let reset = record.rounds[2]
        .reset
        .as_ref()
        .expect("round 2 was reset")
        .slot;
    let first_part = updates.iter().take_while(|u| u.slot() <= reset).count();
    let endpoint = Endpoint::start(Mode::Answer { decimals: 10 }).await;
    let server = serve(&updates[..first_part], das(&endpoint), Some(dir.path())).await;
    ingested(&server).await;
    let hs = client(&server).await;
    let first = until(&hs, |now| {
        now.len() == 4 && now.values().all(|r| has_metadata(r, 10))
    })
    .await;
    assert_eq!(endpoint.total(), 1);
    drop(hs);
    server.shutdown(Duration::from_secs(5)).await;

    // The restart resumes the replay after the first part, with the endpoint down: later
    // rounds take the stored value, nothing is fetched, and the result is what one
    // uninterrupted run with the metadata gives.
    let down = Endpoint::start(Mode::Down).await;
    let server = serve(&updates, das(&down), Some(dir.path())).await;
    ingested(&server).await;
    let hs = client(&server).await;
    let all = until(&hs, |now| all_equal(now, &expected(&record, Some(10)))).await;
    for (id, r) in &first {
        assert_eq!(all[id].ore_metadata, r.ore_metadata, "round {id}");
    }
    assert_eq!(down.total(), 0, "nothing fetched again");
    let m = server.metrics();
    assert_eq!(m.resolver_events("token_metadata", "requested"), 0);
    assert_eq!(
        m.resolver_events("token_metadata", "store_hit"),
        1,
        "read back once"
    );
    assert!(
        m.resolver_events("token_metadata", "cache_hit") >= 1,
        "later rounds hit the cache"
    );
    server.shutdown(Duration::from_secs(5)).await;
}

#[test]
fn the_endpoint_key_never_reaches_the_logs() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let endpoint = runtime.block_on(Endpoint::start(Mode::Down));
    let secret = "SECRET-KEY-2f9c";
    let url = endpoint.url(secret);
    let (server, _url) = common::server_env(
        "ore",
        &["--speed", "max", "--no-loop"],
        &[("HYPERSTACK_DAS_URL", url.as_str()), ("RUST_LOG", "debug")],
    );
    // Every line up to the warning that the endpoint fails (and the one that says where it
    // fetches from) must not hold the key.
    let mut seen_endpoint = false;
    loop {
        let line = server
            .stderr
            .recv_timeout(WAIT)
            .expect("the server logs the failing endpoint");
        assert!(!line.contains(secret), "the key in a log line: {line}");
        seen_endpoint |= line.contains("fetches from a DAS endpoint");
        if line.contains("getAsset failed") {
            break;
        }
    }
    assert!(seen_endpoint);
    runtime.block_on(endpoint.received_at_least(1));
}
