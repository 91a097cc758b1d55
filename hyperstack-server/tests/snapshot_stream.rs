//! Snapshots stream: the first batch of a large snapshot reaches the client while the rest is
//! still being encoded, and every guarantee of a whole snapshot holds — frames in order,
//! the live frames published meanwhile right after the `complete` batch, a subscriber
//! joining the encoding under way gets the same frames, a later request's reply waits for
//! the streaming one, and an encoding failing part way ends in an `error` frame with the
//! request's id and nothing after it. Real WebSocket clients on 127.0.0.1 port 0.
//!
//! The encoder is held by the `snapshot.batch` failpoint (`pause`: the worker waits after
//! handing its first batch to the bus until the test releases it; `enospc`: the encoding
//! fails as on a store read error). Needs the `failpoints` feature (on in workspace builds:
//! the examples crate enables it). Failpoints are process-wide, so the scenarios run one
//! after the other in a single test.

mod common;

use std::collections::HashSet;

use common::{start, token, Client};
use hyperstack_server::failpoint::{self, Action, Rule};
use hyperstack_server::{EntityCacheConfig, RunningServer, WebSocketConfig};
use serde_json::{json, Value};

const ROWS: usize = 20_000;
const FIRST: usize = 10;
const NEXT: usize = 50;
/// Frames of a snapshot of `ROWS` rows in batches of `FIRST`, then `NEXT`.
const BATCHES: usize = 1 + (ROWS - FIRST).div_ceil(NEXT);
const POINT: &str = "snapshot.batch";

fn key(i: usize) -> String {
    format!("tok{i:05}")
}

fn seq_of(frame: &Value) -> u64 {
    frame["seq"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a frame without a seq: {frame}"))
}

/// Blocks (off the runtime) until the encoder is paused at the failpoint.
async fn encoder_paused() {
    tokio::task::spawn_blocking(|| failpoint::wait_paused(POINT))
        .await
        .expect("waited");
}

/// Reads `subscribed` (with `id`) and the first snapshot batch of `Token/list`.
async fn subscribed_and_first_batch(c: &mut Client, id: u64) -> Value {
    let sub = c.next_json().await;
    assert_eq!(
        (&sub["op"], &sub["id"]),
        (&json!("subscribed"), &json!(id)),
        "{sub}"
    );
    let first = c.next_json().await;
    assert_eq!(first["op"], "snapshot", "{first}");
    assert_eq!(first["entity"], "Token/list");
    assert_eq!(first["data"].as_array().map(Vec::len), Some(FIRST));
    assert_eq!(first["complete"], false);
    first
}

/// Reads the rest of a `Token/list` snapshot after its first batch; checks every batch has
/// the first one's `seq`, the batch sizes, and that the rows are every key exactly once.
async fn rest_of_snapshot(c: &mut Client, first: &Value) -> u64 {
    let seq = seq_of(first);
    let mut keys: HashSet<String> = HashSet::new();
    let mut frames = 1;
    let mut batch = first.clone();
    loop {
        assert_eq!(batch["entity"], "Token/list", "{batch}");
        assert_eq!(seq_of(&batch), seq, "every batch of a snapshot has its seq");
        for row in batch["data"].as_array().expect("rows") {
            let k = row["key"].as_str().expect("key").to_string();
            assert!(keys.insert(k), "a row sent twice");
        }
        if batch["complete"] == true {
            break;
        }
        batch = c.next_json().await;
        assert_eq!(batch["op"], "snapshot", "{batch}");
        frames += 1;
    }
    assert_eq!((frames, keys.len()), (BATCHES, ROWS));
    seq
}

async fn server() -> RunningServer {
    let cache = EntityCacheConfig {
        max_entities_per_view: ROWS,
        initial_snapshot_batch_size: FIRST,
        subsequent_snapshot_batch_size: NEXT,
        ..EntityCacheConfig::default()
    };
    let server = start(cache, WebSocketConfig::default()).await;
    let tx = server.mutations();
    for i in 0..ROWS {
        tx.send(token(&key(i), json!({"volume_sol": i})))
            .await
            .expect("sent");
    }
    tx.drained().await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_stream_in_order_and_fail_visibly() {
    let server = server().await;
    the_first_batch_leaves_before_the_encoding_ends(&server).await;
    an_encoding_failing_part_way_ends_in_an_error_frame(&server).await;
    server.shutdown(std::time::Duration::from_secs(2)).await;
}

async fn the_first_batch_leaves_before_the_encoding_ends(server: &RunningServer) {
    let addr = server.local_addr();
    // A witness: its live frames show when the bus has fanned a publish out.
    let mut witness = Client::connect(addr).await;
    witness
        .send(json!({"view": "Token/state", "key": key(5)}))
        .await;
    assert_eq!(witness.next_json().await["op"], "subscribed");
    assert_eq!(witness.next_json().await["complete"], true);
    let (encoded_before, shared_before, _) = server.metrics().snapshot_counts();

    failpoint::set(
        POINT,
        Rule {
            action: Action::Pause,
            on_hit: Some(1),
        },
    );
    let mut a = Client::connect(addr).await;
    a.send(json!({"view": "Token/list", "id": 1})).await;
    encoder_paused().await;
    // The encoder waits after its first batch until released below: this batch can only
    // have come before the encoding ended.
    let first_a = subscribed_and_first_batch(&mut a, 1).await;
    assert_eq!(
        failpoint::paused(POINT),
        1,
        "the encoding is still under way"
    );

    // Joins the encoding under way: gets the batch encoded so far, then the rest.
    let mut b = Client::connect(addr).await;
    b.send(json!({"view": "Token/list", "id": 7})).await;
    let first_b = subscribed_and_first_batch(&mut b, 7).await;
    assert_eq!(first_a, first_b);
    let (encoded, shared, _) = server.metrics().snapshot_counts();
    assert_eq!(
        (encoded, shared),
        (encoded_before + 1, shared_before + 1),
        "one encoding, joined"
    );

    // A client that leaves in the middle of the stream.
    let mut gone = Client::connect(addr).await;
    gone.send(json!({"view": "Token/list", "id": 9})).await;
    subscribed_and_first_batch(&mut gone, 9).await;
    drop(gone);

    // A second request of `a`: its reply waits for the snapshot streaming before it.
    a.send(json!({"view": "Token/state", "key": key(9), "id": 2}))
        .await;
    // A change while the snapshot streams: held for `a` and `b` until their snapshot is
    // whole (the witness seeing it shows the bus has fanned it out).
    let tx = server.mutations();
    tx.send(token(&key(5), json!({"volume_sol": 1_000_000})))
        .await
        .expect("sent");
    let change = witness.next_json().await;
    assert_eq!(change["key"], key(5), "{change}");
    assert_eq!(failpoint::paused(POINT), 1, "still under way");

    failpoint::clear(POINT);
    failpoint::release(POINT);
    for (c, first) in [(&mut a, &first_a), (&mut b, &first_b)] {
        let seq = rest_of_snapshot(c, first).await;
        let live = c.next_json().await;
        assert_eq!(live["entity"], "Token/list", "{live}");
        assert_eq!(live["key"], key(5), "{live}");
        assert_eq!(
            seq_of(&live),
            seq + 1,
            "the first live frame follows the snapshot"
        );
    }
    let sub = a.next_json().await;
    assert_eq!(
        (&sub["op"], &sub["id"]),
        (&json!("subscribed"), &json!(2)),
        "{sub}"
    );
    let state = a.next_json().await;
    assert_eq!(
        (&state["op"], &state["complete"]),
        (&json!("snapshot"), &json!(true))
    );
    assert_eq!(state["data"][0]["key"], key(9));

    // The change made the streamed version outdated: it was handed out, not kept. A later
    // subscriber gets a new encoding, whole.
    let mut later = Client::connect(addr).await;
    later.send(json!({"view": "Token/list", "id": 3})).await;
    let first = subscribed_and_first_batch(&mut later, 3).await;
    assert!(seq_of(&first) > seq_of(&first_a));
    rest_of_snapshot(&mut later, &first).await;
    let (encoded, _, _) = server.metrics().snapshot_counts();
    assert_eq!(
        encoded,
        encoded_before + 3,
        "the list twice, the state key once"
    );
}

async fn an_encoding_failing_part_way_ends_in_an_error_frame(server: &RunningServer) {
    let addr = server.local_addr();
    let tx = server.mutations();
    let mut witness = Client::connect(addr).await;
    witness.subscribe("Token/list").await;
    assert_eq!(witness.next_json().await["op"], "subscribed");
    witness.read_snapshot().await;
    // A new version of the view, so that the next subscriber encodes it.
    tx.send(token(&key(1), json!({"volume_sol": 7})))
        .await
        .expect("sent");
    assert_eq!(witness.next_json().await["key"], key(1));

    // Fails after the second batch was handed over.
    failpoint::set(
        POINT,
        Rule {
            action: Action::Enospc,
            on_hit: Some(2),
        },
    );
    let mut c = Client::connect(addr).await;
    c.send(json!({"view": "Token/list", "id": 4})).await;
    let first = subscribed_and_first_batch(&mut c, 4).await;
    let second = c.next_json().await;
    assert_eq!(
        (&second["op"], &second["complete"]),
        (&json!("snapshot"), &json!(false))
    );
    assert_eq!(seq_of(&second), seq_of(&first));
    let error = c.next_json().await;
    assert_eq!(error["op"], "error", "after partial batches: {error}");
    assert_eq!(error["code"], "snapshot_failed");
    assert_eq!(error["id"], 4);
    assert_eq!(error["view"], "Token/list");
    failpoint::clear(POINT);

    // The subscription was dropped: a change reaches the witness, not `c`, whose next
    // frame is the answer to its next request.
    tx.send(token(&key(2), json!({"volume_sol": 8})))
        .await
        .expect("sent");
    assert_eq!(witness.next_json().await["key"], key(2));
    c.send(json!({"view": "Token/list", "id": 5})).await;
    let first = subscribed_and_first_batch(&mut c, 5).await;
    // A failed encoding is not kept: this one is whole.
    rest_of_snapshot(&mut c, &first).await;
}
