//! A real panic inside a critical task (the bus, through the `bus.publish` failpoint): the
//! server must not turn zombie. `/ready` and `/health` answer 503, clients are closed with
//! 1011, and the run call returns the failure. Needs the `failpoints` feature (on in
//! workspace builds: the examples crate enables it). Failpoints are process-wide, so the
//! scenarios run one after the other in a single test.

mod hostile_support;

use hostile_support::*;
use hyperstack_server::failpoint::{self, Action, Rule};
use hyperstack_server::{EntityCacheConfig, ServerError, WebSocketConfig};
use serde_json::json;

#[tokio::test]
async fn panicking_tasks_fail_the_server_loudly() {
    a_panicking_bus_fails_the_server().await;
    a_panicking_listener_makes_http_answer_503().await;
    a_failed_commit_still_answers_the_waiting_subscription().await;
}

async fn a_panicking_bus_fails_the_server() {
    let server = serve(EntityCacheConfig::default(), WebSocketConfig::default()).await;
    let http = server.http_addr().expect("HTTP endpoint");
    let tx = server.mutations();
    let mut client = Reader::spawn(connect(server.local_addr()).await);
    client.send(json!({"view": "Token/list"})).await;
    assert_eq!(client.next_frame().await["op"], "subscribed");
    assert_eq!(client.next_frame().await["complete"], true);
    assert_eq!(http_get(http, "/ready").await.0, 200);

    let run = tokio::spawn(server.run_until_signal());
    failpoint::set(
        "bus.publish",
        Rule {
            action: Action::Panic,
            on_hit: Some(1),
        },
    );
    tx.send(token("k1", json!({"name": "boom"}))).await.unwrap();

    let closed = loop {
        if let Seen::Closed(code) = client.next().await {
            break code;
        }
    };
    assert_eq!(closed, Some(1011), "clients are closed with 1011");
    let result = tokio::time::timeout(WAIT, run)
        .await
        .expect("the run call returns")
        .unwrap();
    failpoint::clear("bus.publish");
    match result {
        Err(ServerError::Failed(f)) => {
            assert_eq!(f.task, "bus");
            assert!(
                f.reason.contains("failpoint `bus.publish` fired"),
                "{}",
                f.reason
            );
        }
        other => panic!("the run call must fail, got {other:?}"),
    }
}

async fn a_panicking_listener_makes_http_answer_503() {
    let server = serve(EntityCacheConfig::default(), WebSocketConfig::default()).await;
    let http = server.http_addr().expect("HTTP endpoint");
    assert_eq!(http_get(http, "/health").await.0, 200);
    // The listener task panics at its next accepted connection.
    failpoint::set(
        "websocket.accept",
        Rule {
            action: Action::Panic,
            on_hit: Some(1),
        },
    );
    let _victim = tokio::net::TcpStream::connect(server.local_addr()).await;
    let failure = tokio::time::timeout(WAIT, server.failed())
        .await
        .expect("the failure is noticed");
    failpoint::clear("websocket.accept");
    assert_eq!(failure.task, "websocket");
    let (status, body) = http_get(http, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("the websocket task failed"), "{body}");
    let (status, body) = http_get(http, "/health").await;
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"status":"failed","task":"websocket"}"#)
    );
    assert!(
        matches!(
            server.health().status().await,
            hyperstack_server::StreamStatus::Error(_)
        ),
        "health is Error"
    );
    server.shutdown(WAIT).await;
}

/// The state store's commit fails (ENOSPC, as on a full disk) while mutations stream and a
/// client subscribes. A subscription is answered after a commit of what was applied before
/// it, so it is usually the request whose commit fails (the engine then answers it once
/// halted; seen in 5 of 6 runs while writing this test), or else one answered before or after
/// the failure. In every case it is answered, from the last committed state (nothing of the
/// failed batch), ingestion halts and serving goes on.
async fn a_failed_commit_still_answers_the_waiting_subscription() {
    let server = serve(EntityCacheConfig::default(), WebSocketConfig::default()).await;
    let http = server.http_addr().expect("HTTP endpoint");
    let tx = server.mutations();
    // Committed: ten tokens, seen live by a client (frames are published after their commit).
    let mut early = Reader::spawn(connect(server.local_addr()).await);
    early.send(json!({"view": "Token/list"})).await;
    assert_eq!(early.next_frame().await["op"], "subscribed");
    assert_eq!(early.next_frame().await["complete"], true);
    for i in 0..10 {
        tx.send(token(&format!("c{i}"), json!({"name": "committed"})))
            .await
            .unwrap();
    }
    for _ in 0..10 {
        assert_eq!(early.next_frame().await["op"], "upsert");
    }

    // From now on every commit fails. The subscription is sent while the burst fills a batch.
    let mut late = Reader::spawn(connect(server.local_addr()).await);
    failpoint::set(
        "engine.commit",
        Rule {
            action: Action::Enospc,
            on_hit: None,
        },
    );
    let burst = tokio::spawn(async move {
        for i in 0..5_000 {
            if tx
                .send(token(&format!("f{i}"), json!({"name": "failed"})))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    late.send(json!({"view": "Token/list", "id": 7})).await;
    let subscribed = late.next_frame().await;
    assert_eq!(
        (subscribed["op"].clone(), subscribed["id"].clone()),
        (json!("subscribed"), json!(7))
    );
    let mut keys = Vec::new();
    loop {
        let batch = late.next_frame().await;
        for row in batch["data"].as_array().cloned().unwrap_or_default() {
            keys.push(row["key"].as_str().unwrap_or_default().to_string());
        }
        if batch["complete"] == true {
            break;
        }
    }
    keys.sort();
    let committed: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    assert_eq!(
        keys, committed,
        "the last committed state, nothing of the failed batch"
    );

    until("ingestion halts", || server.metrics().store_errors() == 1).await;
    let (status, body) = http_get(http, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("No space left on device"), "{body}");
    // Serving goes on: another subscription on the same connection is answered.
    late.send(json!({"view": "Token/state", "key": "c3", "id": 8}))
        .await;
    assert_eq!(late.next_frame().await["id"], 8);
    let rows = late.next_frame().await;
    assert_eq!(rows["data"][0]["data"]["name"], "committed", "{rows}");
    failpoint::clear("engine.commit");
    burst.abort();
    server.shutdown(WAIT).await;
}
