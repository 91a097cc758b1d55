//! A burst of updates is committed and published in batches that fit a client's queue: the
//! engine closes a batch once one view has half a queue of frames, whatever the batch's
//! update count. (A batch's frames reach each subscriber's queue at once; a batch of 1,000
//! new entities is ~2,000 list frames, twice the default queue of a healthy client.)
//!
//! Its own test binary: the `engine.commit` failpoint it pauses is process-wide.

mod common;

use common::*;
use hyperstack_server::failpoint::{self, Action, Rule};
use hyperstack_server::{EntityCacheConfig, WebSocketConfig};
use serde_json::json;

const POINT: &str = "engine.commit";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_published_in_batches_of_half_a_queue_per_view() {
    let queue = 64;
    let server = start(
        EntityCacheConfig {
            max_entities_per_view: 100,
            ..EntityCacheConfig::default()
        },
        WebSocketConfig {
            message_queue_size: queue,
            ..WebSocketConfig::default()
        },
    )
    .await;
    let tx = server.mutations();
    // A full list window: from now on each new entity is two list frames (it enters, the
    // oldest leaves).
    for i in 0..100 {
        tx.send(token(&format!("a{i:03}"), json!({"n": i})))
            .await
            .unwrap();
    }
    tx.drained().await;

    // Hold the engine at its next commit, and queue a burst behind it.
    failpoint::set(
        POINT,
        Rule {
            action: Action::Pause,
            on_hit: None,
        },
    );
    tx.send(token("b000", json!({"n": 0}))).await.unwrap();
    tokio::task::spawn_blocking(|| failpoint::wait_paused(POINT))
        .await
        .unwrap();
    let burst = 60; // within the mutation queue (64): every one is waiting when released
    for i in 1..=burst {
        tx.send(token(&format!("b{i:03}"), json!({"n": i})))
            .await
            .unwrap();
    }
    let commits_before = server.metrics().store_commits();
    failpoint::clear(POINT);
    failpoint::release(POINT);
    tx.drained().await;

    // 120 list frames were waiting at once; no batch gave the list view more than half a
    // queue (32), plus the frames of the update that reached it (2).
    let most = server.metrics().batch_view_frames_max();
    assert!(
        (32..=(queue as u64 / 2 + 1)).contains(&most),
        "the busiest view got {most} frames in one batch"
    );
    let commits = server.metrics().store_commits() - commits_before;
    assert!(commits >= 4, "the burst took {commits} commits");
    server.shutdown(std::time::Duration::from_secs(5)).await;
}
