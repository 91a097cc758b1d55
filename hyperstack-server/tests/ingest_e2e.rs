//! End to end: a replay file → the real server (replay source, transform, projection) → a
//! raw WebSocket client that sees the pump stack's entity arrive as upserts and patches.

mod common;
mod ingest_support;

use common::*;
use hyperstack_server::source::replay::to_line;
use hyperstack_server::{ReplayConfig, ReplaySpeed, Server};
use ingest_support::*;
use serde_json::{json, Map, Value};

/// Applies a list-view frame to the client's copy of the entities.
fn merge(rows: &mut Map<String, Value>, frame: &Value) {
    let key = frame["key"].as_str().unwrap_or_default().to_string();
    match frame["op"].as_str() {
        Some("upsert") => {
            rows.insert(key, frame["data"].clone());
        }
        Some("patch") => {
            let appends: Vec<&str> = frame["append"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let row = rows.entry(key).or_insert_with(|| json!({}));
            for (field, value) in frame["data"].as_object().unwrap() {
                match (appends.contains(&field.as_str()), row.get_mut(field)) {
                    (true, Some(Value::Array(items))) => {
                        items.extend(value.as_array().unwrap().iter().cloned())
                    }
                    _ => {
                        row[field] = value.clone();
                    }
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn replay_file_reaches_websocket_clients_as_patches() {
    let (mint, curve, user) = (key(2), key(3), key(4));
    let updates = [
        create_tx(100, 0, sig(1), mint, curve, user, "alpha"),
        curve_update(curve, 101, 1, Curve::new(30_000, 1_000)),
        // 10 slots later (1 s at 4x): the client is subscribed by then.
        trade_tx(111, 0, sig(2), mint, curve, user, 500, true),
        curve_update(curve, 111, 2, Curve::new(30_500, 990)),
        trade_tx(112, 0, sig(3), mint, curve, user, 200, false),
        // Replays re-send: duplicates are dropped.
        trade_tx(112, 0, sig(3), mint, curve, user, 200, false),
    ];
    let text: String = updates.iter().map(|u| to_line(u) + "\n").collect();
    let path = std::env::temp_dir().join(format!("hyperstack-e2e-{}.jsonl", std::process::id()));
    std::fs::write(&path, text).unwrap();

    let server = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse().unwrap())
        .health_monitoring()
        .replay(ReplayConfig::file(&path).with_speed(ReplaySpeed::Factor(4.0)))
        .spawn()
        .await
        .expect("server starts");
    let mut c = Client::connect(server.local_addr()).await;
    let snapshot = c.subscribe_and_snapshot("Token/list").await;
    let mut rows = Map::new();
    for row in common::rows(&snapshot) {
        rows.insert(
            row["key"].as_str().unwrap().to_string(),
            row["data"].clone(),
        );
    }
    let curve_key = curve.to_base58();
    let mut saw_trade_patch = false;
    while rows.get(&curve_key).and_then(|r| r["volume_sol"].as_u64()) != Some(700) {
        let frame = c.next_json().await;
        assert_eq!(frame["entity"], "Token/list", "{frame}");
        if frame["op"] == "patch" && frame["append"] == json!(["last_trades"]) {
            saw_trade_patch = true;
            assert!(
                frame["data"]["_seq"].as_str().unwrap().starts_with("11"),
                "{frame}"
            );
        }
        merge(&mut rows, &frame);
    }
    assert!(saw_trade_patch, "trades arrived as append patches");
    let row = &rows[&curve_key];
    assert_eq!(row["name"], "alpha");
    assert_eq!(row["symbol"], "ALPHA");
    assert_eq!(row["mint"], mint.to_base58());
    assert_eq!(row["trade_count"], 2);
    assert_eq!(row["largest_trade_sol"], 500);
    assert_eq!(row["virtual_sol_reserves"], 30_500);
    assert_eq!(row["last_trade_slot"], 112);
    assert_eq!(row["last_trades"].as_array().unwrap().len(), 2);
    assert!(row["price_sol"].as_f64().unwrap() > 30.0);
    assert!(
        row.get("token_total_supply").is_none(),
        "emit = false never reaches clients"
    );
    let frames = c.frames_until_pong().await;
    assert!(
        frames.is_empty(),
        "the duplicate produced nothing: {frames:?}"
    );
    server.shutdown(std::time::Duration::from_secs(1)).await;
    let _ = std::fs::remove_file(&path);
}
