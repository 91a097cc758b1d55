//! Trades seen before their token's `create` wait for the mint lookup and are applied when it
//! arrives; one that waits too long is dropped and counted.

mod common;
mod ingest_support;

use std::time::Duration;

use common::*;
use hyperstack_server::source::replay::{to_line, ReplayConfig};
use hyperstack_server::{Server, UnresolvedConfig, WebSocketConfig};
use ingest_support::*;
use serde_json::{json, Value};

#[tokio::test]
async fn events_wait_for_their_lookup_and_expired_ones_are_counted() {
    let (early_mint, early_curve) = (key(1), key(2));
    let (late_mint, late_curve) = (key(3), key(4));
    let user = key(5);
    let updates = [
        // Two trades of `early` before its create: they wait, then apply in order.
        trade_tx(10, 0, sig(1), early_mint, early_curve, user, 7, true),
        trade_tx(11, 0, sig(2), early_mint, early_curve, user, 5, false),
        // A trade of `late` whose create comes 500 slots later: too old by then.
        trade_tx(12, 0, sig(3), late_mint, late_curve, user, 100, true),
        create_tx(20, 0, sig(4), early_mint, early_curve, user, "early"),
        create_tx(512, 0, sig(5), late_mint, late_curve, user, "late"),
    ];
    let text: String = updates.iter().map(|u| to_line(u) + "\n").collect();
    let server = Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(WebSocketConfig::new("127.0.0.1:0".parse().unwrap()))
        .unresolved_config(UnresolvedConfig {
            max_age_slots: 100,
            ..UnresolvedConfig::default()
        })
        .replay(ReplayConfig::text(text))
        .spawn()
        .await
        .unwrap();
    tokio::time::timeout(WAIT, server.caught_up())
        .await
        .expect("the replay ends");

    let mut c = Client::connect(server.local_addr()).await;
    c.send(json!({"view": "Token/state", "key": early_curve.to_base58()}))
        .await;
    c.next_json().await;
    let early = rows(&c.read_snapshot().await);
    let data = &early[0]["data"];
    assert_eq!(data["name"], "early");
    assert_eq!(data["volume_sol"], json!(12), "both waiting trades applied");
    assert_eq!(data["last_trade_slot"], json!(11));
    let trades: Vec<Value> = data["last_trades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["sol_amount"].clone())
        .collect();
    assert_eq!(trades, vec![json!(7), json!(5)], "in arrival order");

    let mut c = Client::connect(server.local_addr()).await;
    c.send(json!({"view": "Token/state", "key": late_curve.to_base58()}))
        .await;
    c.next_json().await;
    let late = rows(&c.read_snapshot().await);
    assert_eq!(late[0]["data"]["name"], "late");
    assert_eq!(
        late[0]["data"].get("volume_sol"),
        None,
        "the expired trade was not applied"
    );
    let metrics = server.metrics();
    assert_eq!(metrics.unresolved_dropped_total("expired"), 1);
    let text = metrics.render_prometheus();
    assert!(
        text.contains("hyperstack_unresolved_dropped_total{reason=\"expired\"} 1"),
        "{text}"
    );
    server.shutdown(Duration::from_secs(5)).await;
}
