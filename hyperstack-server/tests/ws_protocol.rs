//! The WebSocket protocol over real connections: every frame type, snapshots in batches,
//! patches with append paths, derived views, gzip, unsubscribe, ping, errors, resume.

mod common;

use common::*;
use hyperstack_server::{EntityCacheConfig, Mutation, WebSocketConfig};
use serde_json::json;

#[tokio::test]
async fn subscribe_snapshot_upsert_patch_append_delete() {
    let server = start_default().await;
    let tx = server.mutations();
    let mut c = Client::connect(server.local_addr()).await;
    c.subscribe("Token/list").await;
    let mut sub = c.next_json().await;
    let epoch = sub.as_object_mut().and_then(|o| o.remove("epoch"));
    assert!(
        epoch
            .as_ref()
            .and_then(|e| e.as_str())
            .is_some_and(|e| !e.is_empty()),
        "{sub}"
    );
    assert_eq!(
        sub,
        json!({"op":"subscribed","view":"Token/list","mode":"list","resumed":false,
               "append_caps":{"last_trades":20},"append_default_cap":100,
               "limits":{"max_subscriptions":64,"max_message_size":16384}})
    );
    let snap = c.read_snapshot().await;
    assert_eq!(
        snap.len(),
        1,
        "an empty view still sends one complete snapshot"
    );
    assert_eq!(snap[0]["data"], json!([]));

    tx.send(
        token(
            "curve1",
            json!({"name": "Alpha", "virtual_sol_reserves": 30}),
        )
        .with_seq("100:1"),
    )
    .await
    .unwrap();
    let up = c.next_json().await;
    assert_eq!(up["op"], "upsert");
    assert_eq!(up["entity"], "Token/list");
    assert_eq!(up["mode"], "list");
    assert_eq!(up["key"], "curve1");
    assert_eq!(up["data"]["name"], "Alpha");
    assert_eq!(up["data"]["_seq"], "100:1");

    tx.send(
        token(
            "curve1",
            json!({"last_trades": [{"sol_amount": 5}], "trade_count": 1}),
        )
        .with_append(&["last_trades"])
        .with_seq("101:0"),
    )
    .await
    .unwrap();
    let patch = c.next_json().await;
    assert_eq!(patch["op"], "patch");
    assert_eq!(patch["append"], json!(["last_trades"]));
    assert_eq!(patch["data"]["last_trades"], json!([{"sol_amount": 5}]));
    assert!(
        patch["data"].get("name").is_none(),
        "patches carry only changed fields"
    );
    let seq_before: u64 = up["seq"].as_str().unwrap().parse().unwrap();
    let seq_after: u64 = patch["seq"].as_str().unwrap().parse().unwrap();
    assert!(seq_after > seq_before, "per-view seq is monotonic");

    tx.send(Mutation::delete("Token", "curve1")).await.unwrap();
    let del = c.next_json().await;
    assert_eq!(
        (del["op"].as_str(), del["key"].as_str()),
        (Some("delete"), Some("curve1"))
    );
}

#[tokio::test]
async fn snapshots_come_in_batches_of_50_then_100() {
    for (n, expected) in [
        (0usize, vec![0usize]),
        (1, vec![1]),
        (50, vec![50]),
        (51, vec![50, 1]),
        (150, vec![50, 100]),
        (151, vec![50, 100, 1]),
        (500, vec![50, 100, 100, 100, 100, 50]),
    ] {
        let server = start_default().await;
        let tx = server.mutations();
        for i in 0..n {
            tx.send(token(&format!("k{i:04}"), json!({"trade_count": i})))
                .await
                .unwrap();
        }
        tx.drained().await;
        // A subscription after the writes are applied sees them all.
        let mut c = Client::connect(server.local_addr()).await;
        let frames = c.subscribe_and_snapshot("Token/list").await;
        let sizes: Vec<usize> = frames
            .iter()
            .map(|f| f["data"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, expected, "{n} entities");
        let completes: Vec<bool> = frames.iter().map(|f| f["complete"] == true).collect();
        assert_eq!(completes.iter().filter(|c| **c).count(), 1);
        assert!(completes.last().copied().unwrap());
        server.shutdown(WAIT).await;
    }
}

#[tokio::test]
async fn state_view_by_key_and_bad_keys() {
    let server = start_default().await;
    let tx = server.mutations();
    tx.send(token("a", json!({"name": "A"}))).await.unwrap();
    tx.send(token("b", json!({"name": "B"}))).await.unwrap();
    // Applied (and committed) before the subscription: the engine takes mutations and
    // subscriptions from different queues, in no fixed order between them.
    tx.drained().await;
    let mut c = Client::connect(server.local_addr()).await;
    c.send(json!({"view": "Token/state", "key": "b"})).await;
    assert_eq!(c.next_json().await["mode"], "state");
    let rows = rows(&c.read_snapshot().await);
    assert_eq!(rows, vec![json!({"key": "b", "data": {"name": "B"}})]);
    tx.send(token("a", json!({"name": "A2"}))).await.unwrap();
    tx.send(token("b", json!({"name": "B2"}))).await.unwrap();
    let f = c.next_json().await;
    assert_eq!(
        (f["key"].as_str(), f["data"]["name"].as_str()),
        (Some("b"), Some("B2"))
    );

    c.send(json!({"view": "Token/state"})).await;
    let e = c.next_json().await;
    assert_eq!(
        (e["op"].as_str(), e["code"].as_str()),
        (Some("error"), Some("bad_key"))
    );
    c.send(json!({"view": "Token/list", "key": "a"})).await;
    assert_eq!(c.next_json().await["code"], "bad_key");
}

#[tokio::test]
async fn derived_view_enter_and_leave() {
    let server = start_default().await;
    let tx = server.mutations();
    let mut c = Client::connect(server.local_addr()).await;
    c.subscribe("Token/latest").await;
    let sub = c.next_json().await;
    assert_eq!(
        sub["sort"],
        json!({"field": ["created_slot"], "order": "desc"})
    );
    c.read_snapshot().await;
    tx.send(token("t1", json!({"created_slot": 10, "complete": false})))
        .await
        .unwrap();
    let enter = c.next_json().await;
    assert_eq!(
        (enter["op"].as_str(), enter["key"].as_str()),
        (Some("upsert"), Some("t1"))
    );
    // The filter `complete == false` stops matching: the token leaves the view.
    tx.send(token("t1", json!({"complete": true})))
        .await
        .unwrap();
    let leave = c.next_json().await;
    assert_eq!(
        (leave["op"].as_str(), leave["key"].as_str()),
        (Some("delete"), Some("t1"))
    );
}

#[tokio::test]
async fn large_frames_are_gzip_binary_small_ones_text() {
    let server = start_default().await;
    let tx = server.mutations();
    let mut c = Client::connect(server.local_addr()).await;
    c.subscribe_and_snapshot("Token/list").await;
    tx.send(token("small", json!({"name": "x"}))).await.unwrap();
    let small = c.next().await;
    assert!(!small.binary && small.wire_len < 1024);
    let long: String = (0..2000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    tx.send(token("big", json!({"name": long}))).await.unwrap();
    let big = c.next().await;
    assert!(
        big.binary,
        "a payload of >= 1 KiB is sent gzip-compressed as binary"
    );
    assert_eq!(big.json["data"]["name"].as_str().map(str::len), Some(2000));
}

#[tokio::test]
async fn unsubscribe_stops_frames_and_ping_pongs() {
    let server = start_default().await;
    let tx = server.mutations();
    let mut c = Client::connect(server.local_addr()).await;
    let mut witness = Client::connect(server.local_addr()).await;
    c.subscribe_and_snapshot("Token/list").await;
    witness.subscribe_and_snapshot("Token/list").await;
    c.send(json!({"op": "unsubscribe", "view": "Token/list"}))
        .await;
    assert!(c.frames_until_pong().await.is_empty());
    tx.send(token("k", json!({"name": "after"}))).await.unwrap();
    // Once the witness has the frame, the bus has offered it to every subscriber.
    assert_eq!(witness.next_json().await["key"], "k");
    assert!(
        c.frames_until_pong().await.is_empty(),
        "no frame after unsubscribe"
    );
}

#[tokio::test]
async fn error_frames_for_bad_messages_keep_the_connection() {
    let server = start(
        EntityCacheConfig::default(),
        WebSocketConfig {
            max_subscriptions_per_client: 2,
            ..WebSocketConfig::default()
        },
    )
    .await;
    let mut c = Client::connect(server.local_addr()).await;
    c.send_text("{not json").await;
    assert_eq!(c.next_json().await["code"], "malformed_message");
    c.send(json!({"view": "Nope/list"})).await;
    let e = c.next_json().await;
    assert_eq!(
        (e["code"].as_str(), e["view"].as_str()),
        (Some("unknown_view"), Some("Nope/list"))
    );
    c.subscribe_and_snapshot("Token/list").await;
    c.subscribe_and_snapshot("Token/trending").await;
    c.send(json!({"view": "Token/latest"})).await;
    assert_eq!(c.next_json().await["code"], "too_many_subscriptions");
    // Still served.
    assert!(c.frames_until_pong().await.is_empty());
}

#[tokio::test]
async fn resume_after_cursor_replays_the_gap_including_deletes() {
    let server = start_default().await;
    let tx = server.mutations();
    let mut c = Client::connect(server.local_addr()).await;
    c.subscribe_and_snapshot("Token/list").await;
    tx.send(token("a", json!({"name": "A"}))).await.unwrap();
    tx.send(token("b", json!({"name": "B"}))).await.unwrap();
    let _a = c.next_json().await;
    let last = c.next_json().await["seq"].clone();
    drop(c);
    // The gap: a patch and a delete.
    tx.send(token("a", json!({"name": "A2"}))).await.unwrap();
    tx.send(Mutation::delete("Token", "b")).await.unwrap();
    tx.drained().await;
    let mut c = Client::connect(server.local_addr()).await;
    c.send(json!({"view": "Token/list", "key": "*", "after": last}))
        .await;
    let sub = c.next_json().await;
    assert_eq!(sub["resumed"], true, "{sub}");
    let a = c.next_json().await;
    assert_eq!(
        (a["op"].as_str(), a["key"].as_str()),
        (Some("patch"), Some("a"))
    );
    let b = c.next_json().await;
    assert_eq!(
        (b["op"].as_str(), b["key"].as_str()),
        (Some("delete"), Some("b"))
    );
    assert!(
        c.frames_until_pong().await.is_empty(),
        "nothing else replayed"
    );

    // A cursor older than the log gets a full snapshot instead.
    let small_log = start(
        EntityCacheConfig {
            resume_log_size: 2,
            ..EntityCacheConfig::default()
        },
        WebSocketConfig::default(),
    )
    .await;
    let tx = small_log.mutations();
    for i in 0..5 {
        tx.send(token(&format!("k{i}"), json!({"trade_count": i})))
            .await
            .unwrap();
    }
    // Applied before the subscription (else the log may still reach back to the cursor).
    tx.drained().await;
    let mut c = Client::connect(small_log.local_addr()).await;
    c.send(json!({"view": "Token/list", "after": "1"})).await;
    assert_eq!(c.next_json().await["resumed"], false);
    assert_eq!(rows(&c.read_snapshot().await).len(), 5);
}

#[tokio::test]
async fn websocket_level_ping_is_answered() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let server = start_default().await;
    let mut c = Client::connect(server.local_addr()).await;
    c.ws.send(Message::Ping(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(WAIT, c.ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(vec![1, 2, 3].into()));
}
