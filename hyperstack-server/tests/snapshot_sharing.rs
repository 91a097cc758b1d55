//! Snapshots shared between subscribers of the same view version (the bus encodes each
//! version once): while mutations stream, waves of clients subscribe at once, and every one
//! gets a snapshot that is exactly as new as the frames after it (the first live frame's
//! `seq` is the snapshot's + 1, then no gap), ending with the same rows as a fresh
//! subscriber. Snapshots stream in small batches, so subscribers can join encodings under way.
//! Real WebSocket clients on 127.0.0.1 port 0.

mod common;

use std::collections::BTreeMap;

use common::{start, token, Client};
use hyperstack_server::{EntityCacheConfig, Mutation, WebSocketConfig};
use serde_json::{json, Map, Value};

const PRELOAD: usize = 300;
const UPDATES: u64 = 800;
const WAVES: usize = 6;
const PER_WAVE: usize = 5;

fn key(i: u64) -> String {
    format!("tok{i:04}")
}

fn seq_of(frame: &Value) -> u64 {
    frame["seq"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a frame without a seq: {frame}"))
}

/// A client's copy of the list view, built from its snapshot and the frames after it.
struct Copy {
    client: Client,
    rows: BTreeMap<String, Map<String, Value>>,
    seq: u64,
}

impl Copy {
    async fn subscribe(mut client: Client) -> Copy {
        let frames = client.subscribe_and_snapshot("Token/list").await;
        let seq = seq_of(&frames[0]);
        let mut rows = BTreeMap::new();
        for f in &frames {
            assert_eq!(seq_of(f), seq, "every batch of a snapshot has its seq");
            for row in f["data"].as_array().expect("rows") {
                let data = row["data"].as_object().expect("row data").clone();
                rows.insert(row["key"].as_str().expect("key").to_string(), data);
            }
        }
        Copy { client, rows, seq }
    }

    /// Applies live frames until the view's `seq` reaches `until`; each must follow the last
    /// without a gap.
    async fn follow(&mut self, until: u64) {
        while self.seq < until {
            let f = self.client.next_json().await;
            let seq = seq_of(&f);
            assert_eq!(
                seq,
                self.seq + 1,
                "a frame after seq {} must be {} (snapshot too old or a frame missed): {f}",
                self.seq,
                self.seq + 1
            );
            self.seq = seq;
            let key = f["key"].as_str().expect("key").to_string();
            match f["op"].as_str() {
                Some("delete") => {
                    self.rows.remove(&key);
                }
                Some("upsert") => {
                    let data = f["data"].as_object().expect("data").clone();
                    self.rows.insert(key, data);
                }
                Some("patch") => {
                    let row = self.rows.get_mut(&key).expect("a patch of a known row");
                    for (k, v) in f["data"].as_object().expect("data") {
                        row.insert(k.clone(), v.clone());
                    }
                }
                other => panic!("unexpected op {other:?}: {f}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_subscribers_share_a_snapshot_never_older_than_the_frames_after_it() {
    // Small batches: each snapshot streams as dozens of frames, so subscribers of a wave
    // can join encodings under way (they get the frames so far, then the rest).
    let cache = EntityCacheConfig {
        max_entities_per_view: 10_000,
        initial_snapshot_batch_size: 5,
        subsequent_snapshot_batch_size: 10,
        ..EntityCacheConfig::default()
    };
    let server = start(cache, WebSocketConfig::default()).await;
    let addr = server.local_addr();
    let tx = server.mutations();
    for i in 0..PRELOAD as u64 {
        let m = token(&key(i), json!({"volume_sol": i, "name": format!("t{i}")}));
        tx.send(m).await.expect("sent");
    }
    tx.drained().await;

    // Mutations stream while waves of clients subscribe at once: patches of known tokens,
    // new tokens, deletes.
    let writer = {
        let tx = server.mutations();
        tokio::spawn(async move {
            for n in 0..UPDATES {
                let m = match n % 10 {
                    7 => token(&key(PRELOAD as u64 + n), json!({"volume_sol": n})),
                    9 => Mutation::delete("Token", &key(n % PRELOAD as u64)),
                    _ => token(&key(n % PRELOAD as u64), json!({"volume_sol": n})),
                };
                tx.send(m).await.expect("sent");
                if n.is_multiple_of(50) {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut copies = Vec::new();
    for _ in 0..WAVES {
        let mut wave = Vec::new();
        for _ in 0..PER_WAVE {
            wave.push(tokio::spawn(async move {
                Copy::subscribe(Client::connect(addr).await).await
            }));
        }
        for w in wave {
            copies.push(w.await.expect("a subscriber"));
        }
    }
    writer.await.expect("the writer");
    tx.drained().await;

    // A fresh subscriber's snapshot is the truth every copy must reach.
    let fresh = Copy::subscribe(Client::connect(addr).await).await;
    for (i, copy) in copies.iter_mut().enumerate() {
        copy.follow(fresh.seq).await;
        assert_eq!(copy.seq, fresh.seq);
        assert!(
            copy.rows == fresh.rows,
            "client {i} ended with other rows than a fresh snapshot"
        );
    }
    let (encoded, shared, _) = server.metrics().snapshot_counts();
    assert_eq!(
        encoded + shared,
        (WAVES * PER_WAVE + 1) as u64,
        "every snapshot was either encoded or shared"
    );
    server.shutdown(std::time::Duration::from_secs(2)).await;
}

#[tokio::test]
async fn subscribers_of_an_unchanged_view_share_one_encoding() {
    let cache = EntityCacheConfig {
        max_entities_per_view: 10_000,
        ..EntityCacheConfig::default()
    };
    let server = start(cache, WebSocketConfig::default()).await;
    let addr = server.local_addr();
    let tx = server.mutations();
    for i in 0..PRELOAD as u64 {
        tx.send(token(&key(i), json!({"volume_sol": i})))
            .await
            .expect("sent");
    }
    tx.drained().await;
    let mut snapshots = Vec::new();
    for _ in 0..4 {
        let mut c = Client::connect(addr).await;
        snapshots.push(common::rows(&c.subscribe_and_snapshot("Token/list").await));
    }
    assert!(snapshots.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(snapshots[0].len(), PRELOAD);
    // One encoding, three subscribers served from it; a change makes a new version.
    assert_eq!(server.metrics().snapshot_counts().0, 1);
    assert_eq!(server.metrics().snapshot_counts().1, 3);
    tx.send(token(&key(1), json!({"volume_sol": 1_000})))
        .await
        .expect("sent");
    tx.drained().await;
    let mut c = Client::connect(addr).await;
    let rows = common::rows(&c.subscribe_and_snapshot("Token/list").await);
    assert_eq!(server.metrics().snapshot_counts().0, 2);
    let row = rows.iter().find(|r| r["key"] == key(1)).expect("the row");
    assert_eq!(row["data"]["volume_sol"], 1_000);
    server.shutdown(std::time::Duration::from_secs(2)).await;
}
