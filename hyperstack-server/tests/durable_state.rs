//! State that survives a restart: entities, sequence numbers, the epoch and resume logs live
//! in the data directory; a client resumes across the restart without a snapshot; the
//! directory is locked against a second server and refused to another stack.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use hyperstack_server::{RunningServer, Server, ServerError, StoreError, WebSocketConfig};
use serde_json::json;

async fn start_in(dir: &Path) -> Result<RunningServer, ServerError> {
    Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(WebSocketConfig::new("127.0.0.1:0".parse().unwrap()))
        .data_dir(dir)
        .spawn()
        .await
}

async fn send_all(server: &RunningServer, keys: std::ops::Range<u64>) {
    let tx = server.mutations();
    for i in keys {
        tx.send(token(
            &format!("k{i:03}"),
            json!({"trade_count": i, "name": format!("T{i}")}),
        ))
        .await
        .unwrap();
    }
    tx.drained().await;
}

#[tokio::test]
async fn a_restart_continues_entities_sequence_numbers_and_resume_logs() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path()).await.unwrap();
    send_all(&server, 0..30).await;
    let mut client = Client::connect(server.local_addr()).await;
    client.subscribe("Token/list").await;
    let subscribed = client.next_json().await;
    let epoch = subscribed["epoch"].as_str().unwrap().to_string();
    let snapshot = client.read_snapshot().await;
    let seq: u64 = snapshot.last().unwrap()["seq"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(seq, 30, "one upsert per entity so far");
    server.shutdown(Duration::from_secs(5)).await;

    // Frames published while the client was away, by the restarted server.
    let server = start_in(dir.path()).await.unwrap();
    send_all(&server, 30..35).await;
    let mut again = Client::connect(server.local_addr()).await;
    again
        .send(json!({"view": "Token/list", "after": seq.to_string(), "epoch": epoch}))
        .await;
    let subscribed = again.next_json().await;
    assert_eq!(subscribed["epoch"], epoch.as_str(), "the epoch survives");
    assert_eq!(subscribed["resumed"], true, "resumed, no snapshot");
    let mut missed = Vec::new();
    for _ in 30..35 {
        let f = again.next_json().await;
        missed.push((f["op"].clone(), f["key"].clone(), f["seq"].clone()));
    }
    let expected: Vec<_> = (30..35u64)
        .map(|i| {
            (
                json!("upsert"),
                json!(format!("k{i:03}")),
                json!((i + 1).to_string()),
            )
        })
        .collect();
    assert_eq!(
        missed, expected,
        "exactly the frames it missed, numbered on"
    );

    // Every entity is still complete: a state snapshot after the restart.
    let mut reader = Client::connect(server.local_addr()).await;
    reader
        .send(json!({"view": "Token/state", "key": "k007"}))
        .await;
    reader.next_json().await;
    let rows = rows(&reader.read_snapshot().await);
    assert_eq!(
        rows,
        vec![json!({"key": "k007", "data": {"trade_count": 7, "name": "T7"}})]
    );
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_data_directory_is_locked_and_tied_to_its_stack() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path()).await.unwrap();
    match start_in(dir.path()).await {
        Err(ServerError::Store(StoreError::Locked(d))) => assert_eq!(d, dir.path()),
        Err(e) => panic!("expected a lock error, got {e}"),
        Ok(_) => panic!("a second server opened a locked data directory"),
    }
    server.shutdown(Duration::from_secs(5)).await;

    let other = Server::builder()
        .spec(game_stack())
        .websocket_config(WebSocketConfig::new("127.0.0.1:0".parse().unwrap()))
        .data_dir(dir.path())
        .spawn()
        .await;
    match other {
        Err(ServerError::Store(e @ StoreError::StackMismatch(_))) => {
            let msg = e.to_string();
            assert!(
                msg.contains("`pump`") && msg.contains("--data-dir"),
                "{msg}"
            );
        }
        Err(e) => panic!("expected a stack mismatch, got {e}"),
        Ok(_) => panic!("a data directory of another stack was reused"),
    }
}

/// A different stack: pump with one more view, so its fingerprint differs.
fn game_stack() -> hyperstack_server::Spec {
    let mut stack = pump_stack::spec();
    let mut view = stack.entities[0].views[0].clone();
    view.name = "extra".into();
    view.full_name = "Token/extra".into();
    stack.entities[0].views.push(view);
    stack.name = "pump-variant".into();
    stack
}
