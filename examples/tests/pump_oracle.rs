//! A 20,000-slot pump replay at realistic size: every view the server serves equals the
//! simulator's own final state, computed by an oracle from the simulator's inputs alone (its
//! curves and its trade log) — with the default bounds, and again with bounds of 10 (a hot
//! set, entity cache and state table far smaller than the data: the answers must not change).
//!
//! Each run writes about 1.4 GB through its store (journal, flushes and compactions of a
//! 76 MB state). That is beside this test's point — the answers — and on a CI disk still
//! busy writing back the build, the store's fsyncs made each run 10× slower. So the data
//! directory is RAM-backed (`/dev/shm`) where the machine has one: the store does the same
//! file I/O, only the disk's speed is out of the measurement.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::pump::{derived, oracle, same, window, RawToken, RawViews};
use examples::generator::pump::PumpSim;
use examples::generator::replay::recording;
use hyperstack_sdk::prelude::*;
use hyperstack_server::source::replay::ReplayConfig;
use hyperstack_server::{
    EntityCacheConfig, RateLimit, RunningServer, Server, StateTableConfig, WebSocketConfig,
};
use serde_json::Value;

const SLOTS: u64 = 20_000;
/// A guard against a hang, far above a normal run (30–90 s on 2 cores).
const WAIT: Duration = Duration::from_secs(600);

/// A data directory on RAM-backed storage when there is one (see the module documentation).
fn data_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    shm.is_dir()
        .then(|| tempfile::tempdir_in(shm).ok())
        .flatten()
        .unwrap_or_else(|| tempfile::tempdir().expect("a temporary directory"))
}

async fn run(
    cache: EntityCacheConfig,
    table: StateTableConfig,
    dir: &std::path::Path,
) -> (RunningServer, HyperStack) {
    let (updates, _, _) = PumpSim::new(42, 300_000_000).run_logged(SLOTS);
    // The watching client reads every frame of a replay at full speed: a queue deep enough
    // that it is never dropped for lagging (asserted below). It also reads every one of
    // thousands of keys one by one: rates far above the defaults (20 subscriptions/s),
    // which are for untrusted clients.
    let mut ws = WebSocketConfig::new("127.0.0.1:0".parse().unwrap());
    ws.message_queue_size = 1_000_000;
    ws.limits.subscribe_rate = RateLimit::new(100_000.0, 100_000);
    ws.limits.message_rate = RateLimit::new(200_000.0, 200_000);
    let server = Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(ws)
        .entity_cache_config(cache)
        .state_table_config(table)
        .data_dir(dir)
        .replay(ReplayConfig::text(recording(&updates)))
        .spawn()
        .await
        .unwrap();
    let hs = HyperStack::builder()
        .url(format!("ws://{}", server.local_addr()))
        .initial_data_timeout(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    (server, hs)
}

/// Runs the replay and checks every view; returns the server (still running) and its data
/// directory (removed when dropped: keep it until the server is shut down).
async fn check(
    cache: EntityCacheConfig,
    table: StateTableConfig,
) -> (RunningServer, tempfile::TempDir) {
    let (_, curves, log) = PumpSim::new(42, 300_000_000).run_logged(SLOTS);
    let expected = oracle(&curves, &log);
    assert!(expected.len() > 2_000, "{} tokens", expected.len());
    let dir = data_dir();
    let (server, hs) = run(cache, table, dir.path()).await;
    // Watch the list and append views while the replay runs.
    let mut list = hs.watch::<RawToken>();
    let views = hs.views::<RawViews>();
    let mut append = views.0.list_view::<RawToken>("Token/append").watch();
    let watching = tokio::spawn(async move {
        let (mut deletes, mut last) = (BTreeSet::new(), BTreeMap::new());
        loop {
            tokio::select! {
                u = list.next() => match u {
                    Some(Update::Delete { key }) => { deletes.insert(key); }
                    Some(_) => {}
                    None => return (deletes, last),
                },
                u = append.next() => match u {
                    Some(Update::Upsert { key, data }) => { last.insert(key, data); }
                    Some(_) => {}
                    None => return (deletes, last),
                },
            }
        }
    });
    if tokio::time::timeout(WAIT, server.caught_up())
        .await
        .is_err()
    {
        // Say where the server stood: a halted store, a stalled engine, or a slow machine.
        panic!(
            "the replay was not applied within {WAIT:?}: health {:?}, failure {:?}, metrics:\n{}",
            server.health().snapshot().await,
            server.failure(),
            server.metrics().render_prometheus()
        );
    }

    // state: every key the simulator created. Each answer is a subscription's reply on the
    // watching connection, which the server queues after every frame it published before:
    // once the first one is here, the watched views have received everything (without this,
    // a watcher still catching up on a loaded machine would compare a stale list).
    for (key, want) in &expected {
        let got = hs.try_get::<RawToken>(key).await.unwrap();
        let got = got.unwrap_or_else(|| panic!("{key} is missing"));
        assert!(same(&got, want), "state {key}: {got} vs {want}");
    }
    // list: exactly the window of the most recently updated entities, each complete — read
    // by a new subscription, and by the one that watched throughout.
    let window_keys = window(&curves, &log, cache.max_entities_per_view);
    let fresh = HyperStack::connect(format!("ws://{}", server.local_addr()))
        .await
        .unwrap();
    let snapshot: Vec<Value> = fresh.list::<RawToken>().await;
    let listed: Vec<Value> = views.0.list_view::<RawToken>("Token/list").get().await;
    assert_eq!(
        snapshot.len(),
        listed.len(),
        "the watching client's list equals a new snapshot"
    );
    let listed_keys: BTreeSet<String> = listed
        .iter()
        .filter_map(|v| v["mint"].as_str())
        .filter_map(|mint| {
            expected
                .iter()
                .find(|(_, e)| e["mint"] == mint)
                .map(|(k, _)| k.clone())
        })
        .collect();
    assert_eq!(listed_keys, window_keys, "the list holds the window");
    for v in &listed {
        let key = expected
            .iter()
            .find(|(_, e)| e["mint"] == v["mint"])
            .map(|(k, _)| k.clone())
            .unwrap();
        assert!(
            same(v, &expected[&key]),
            "list row {key}: {v} vs {}",
            expected[&key]
        );
    }
    // trending and latest: filter → sort → limit over every entity.
    let key_of = |v: &Value| {
        expected
            .iter()
            .find(|(_, e)| e["mint"] == v["mint"])
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    };
    let trending: Vec<String> = views
        .0
        .list_view::<RawToken>("Token/trending")
        .get()
        .await
        .iter()
        .map(key_of)
        .collect();
    assert_eq!(trending, derived(&expected, "volume_sol", |_| true));
    let latest: Vec<String> = views
        .0
        .list_view::<RawToken>("Token/latest")
        .get()
        .await
        .iter()
        .map(key_of)
        .collect();
    assert_eq!(
        latest,
        derived(&expected, "created_slot", |v| v["complete"] == false)
    );
    hs.disconnect().await;
    let (deletes, last) = watching.await.unwrap();
    // The list read above came from the store of the watched subscription: its snapshot and
    // every frame since, deletes included. That it equals the window means every entity
    // that left the window while watched was deleted on the client.
    assert!(
        !deletes.is_empty(),
        "entities left the window while watched"
    );
    assert_eq!(
        server.metrics().clients_dropped_lagging(),
        0,
        "the watcher kept up"
    );
    // append: the last frame per key is the final entity.
    assert!(
        last.len() > 1_000,
        "{} keys seen on the append view",
        last.len()
    );
    for (key, v) in &last {
        assert!(
            same(v, &expected[key]),
            "append {key}: {v} vs {}",
            expected[key]
        );
    }
    (server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20000_slot_replay_serves_the_simulators_state_in_every_view() {
    let (server, _dir) = check(EntityCacheConfig::default(), StateTableConfig::default()).await;
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounds_of_ten_give_the_same_answers() {
    let cache = EntityCacheConfig {
        max_entities_per_view: 10,
        ..EntityCacheConfig::default()
    };
    let table = StateTableConfig {
        max_entries: 10,
        ..StateTableConfig::default()
    };
    let (server, _dir) = check(cache, table).await;
    let m = server.metrics();
    for kind in ["entities", "states", "lookups", "accounts"] {
        let n = m.store_hot_records(kind);
        assert!(n <= 10, "{n} {kind} in memory");
    }
    assert!(m.store_disk_reads() > 0, "the bounds were in force");
    server.shutdown(Duration::from_secs(5)).await;
}
