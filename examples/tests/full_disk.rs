//! A full disk, as a process: the example pump server's state store commit fails with "no
//! space left on device" in the middle of the replay. Ingestion stops — health `Error`,
//! `/ready` 503 with the reason, `/metrics` counting it — while serving goes on: the client
//! connected before keeps its connection and subscribes anew, a new client gets snapshots,
//! both of the last committed state. Stopped and started again on the same data directory
//! with room on the disk, the server resumes from its last commit and ends with the oracle's
//! state: nothing the failed batch held is lost.
//!
//! The first test injects the full disk: the `engine.commit=n*enospc` failpoint makes the n-th
//! commit return the operating system's ENOSPC error through the store's real error path. The
//! second fills a real disk — a 1 MiB tmpfs mounted in a mount namespace of the server's own —
//! where the test may mount (root); elsewhere it says it was skipped.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::durable::{Node, Run};
use common::http;
use common::pump::{oracle, same, RawToken};
use examples::generator::pump::PumpSim;
use hyperstack_sdk::prelude::*;
use hyperstack_sdk::ConnectionState;
use serde_json::Value;

const RUN: Run = Run {
    seed: 7,
    slots: 300,
    speed: 100,
};
/// The commit that fails: well inside the run (a few hundred commits).
const FULL_DISK: &str = "engine.commit=60*enospc";

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_ingestion_and_serving_goes_on() {
    let (_, curves, log) = PumpSim::new(RUN.seed, 300_000_000).run_logged(RUN.slots);
    let expected = oracle(&curves, &log);
    let dir = tempfile::tempdir().expect("data dir");
    let node = blocking(|| Node::start(RUN, dir.path(), "127.0.0.1:0", FULL_DISK));

    let early = Early::connect(&node.ws).await;
    let ingested = halted_and_serving(&node, early, expected.keys()).await;
    assert!(ingested > 0, "the failure came mid-run");

    // Stopped gracefully (SIGTERM: exit 0) and started again with room on the disk: the run
    // resumes from the last commit and ends with every token as the oracle has it.
    let pid = node.proc.child.id().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(term.success());
    let mut node = node;
    let status = blocking(|| node.proc.child.wait()).expect("wait");
    assert!(
        status.success(),
        "a halted server still stops cleanly: {status}"
    );
    let node = blocking(|| Node::start(RUN, dir.path(), "127.0.0.1:0", ""));
    assert!(node.resumed_at > 0, "resumed after the last commit");
    blocking(|| node.caught_up());
    let hs = HyperStack::connect(&node.ws).await.expect("connect");
    for (key, want) in &expected {
        let got = hs.try_get::<RawToken>(key).await.expect("state view");
        let got = got.unwrap_or_else(|| panic!("{key} missing"));
        assert!(same(&got, want), "state {key}: {got} vs {want}");
    }
    hs.disconnect().await;
}

/// A client connected before the disk fills, without reconnecting: were it closed, its
/// stream would end and its state say so.
struct Early {
    hs: HyperStack,
    watching: tokio::task::JoinHandle<usize>,
}

impl Early {
    async fn connect(url: &str) -> Early {
        let hs = HyperStack::builder()
            .url(url)
            .auto_reconnect(false)
            .initial_data_timeout(Duration::from_secs(30))
            .connect()
            .await
            .expect("connect");
        let mut watch = hs.watch::<RawToken>();
        let watching = tokio::spawn(async move {
            let mut n = 0usize;
            while watch.next().await.is_some() {
                n += 1;
            }
            n
        });
        hs.list::<RawToken>().await;
        Early { hs, watching }
    }
}

/// Waits for ingestion to stop on a full disk, then checks what is reported and that every
/// client is still served the last committed state. Returns the updates ingested.
async fn halted_and_serving<'a>(
    node: &Node,
    early: Early,
    keys: impl Iterator<Item = &'a String> + Clone,
) -> u64 {
    let halted = blocking(|| node.proc.log("ingestion stopped"));
    println!("{halted}");
    assert!(
        halted.to_string().contains("No space left on device"),
        "the error is the disk's: {halted}"
    );
    let (status, body) = blocking(|| http::get(node.http, "/ready"));
    assert_eq!(status, 503, "{body}");
    let ready: Value = serde_json::from_str(&body).expect("JSON");
    let reason = ready["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("ingestion stopped: state store failed")
            && reason.contains("No space left on device"),
        "{reason}"
    );
    let (status, body) = blocking(|| http::get(node.http, "/health"));
    assert_eq!(status, 200, "the server itself has not failed: {body}");
    let health: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["stream"]["status"], "error", "{health}");
    assert!(health["stream"]["error_count"].as_u64() >= Some(1));
    let metric = |name: &str| blocking(|| http::metric(node.http, name));
    assert_eq!(metric("hyperstack_store_errors_total"), 1);
    assert_eq!(metric("hyperstack_ingestion_halted"), 1);
    let ingested = metric("hyperstack_ingest_events_total");

    // The early client is still connected and served: a new subscription on its connection
    // is answered, after every frame published before it.
    let Early {
        hs: early,
        watching,
    } = early;
    let any = keys.clone().next().expect("tokens");
    early.try_get::<RawToken>(any).await.expect("served");
    assert_eq!(early.connection_state().await, ConnectionState::Connected);
    let early_list: Vec<Value> = early.list::<RawToken>().await;
    assert!(
        !early_list.is_empty(),
        "tokens were committed before the disk filled"
    );

    // A new client gets snapshots of the last committed state: the state the early client
    // holds (every frame it got was published after its commit, the failed batch's never).
    let fresh = HyperStack::builder()
        .url(&node.ws)
        .initial_data_timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("a new client is accepted");
    let fresh_list: Vec<Value> = fresh.list::<RawToken>().await;
    let by_mint = |rows: &[Value]| -> BTreeMap<String, Value> {
        rows.iter()
            .map(|v| {
                (
                    v["mint"].as_str().unwrap_or_default().to_string(),
                    v.clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        by_mint(&fresh_list),
        by_mint(&early_list),
        "the new snapshot is the state the early client was sent"
    );
    for key in keys {
        let a = fresh.try_get::<RawToken>(key).await.expect("state view");
        let b = early.try_get::<RawToken>(key).await.expect("state view");
        assert_eq!(a, b, "state {key}");
    }
    fresh.disconnect().await;
    assert_eq!(
        metric("hyperstack_ingest_events_total"),
        ingested,
        "ingestion stays stopped"
    );
    assert_eq!(metric("hyperstack_websocket_connections_total"), 2);
    assert_eq!(early.connection_state().await, ConnectionState::Connected);
    early.disconnect().await;
    assert!(watching.await.expect("watcher") > 0);
    ingested
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tmpfs_that_fills_up_stops_ingestion_and_serving_goes_on() {
    // A paced run far larger than the 1 MiB disk.
    let run = Run {
        seed: 9,
        slots: 3_000,
        speed: 400,
    };
    let dir = tempfile::tempdir().expect("mount point");
    let Some(node) = blocking(|| Node::start_on_tmpfs(run, dir.path(), "1m")) else {
        println!("skipped: this process may not mount a tmpfs (unshare -m needs root); the injected full disk above covers the path");
        return;
    };
    let (_, curves, log) = PumpSim::new(run.seed, 300_000_000).run_logged(run.slots);
    let expected = oracle(&curves, &log);
    let early = Early::connect(&node.ws).await;
    let ingested = halted_and_serving(&node, early, expected.keys()).await;
    let total = examples::generator::Simulation::Pump
        .updates(run.seed, 300_000_000, run.slots)
        .len() as u64;
    assert!(
        ingested < total,
        "the disk filled before the end: {ingested} of {total}"
    );
}
