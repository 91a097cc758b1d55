//! The client at the server's edge: reconnecting with no limit (jittered schedule, see also
//! the unit tests of `connection::backoff`), bearer header auth, replies matched by id,
//! watching more keys than the server's subscription limit, rate-limited subscriptions
//! retried. (Tokens kept out of logs and errors: tests/redaction.rs.)

mod common;

use std::time::Duration;

use common::*;
use hyperstack_sdk::prelude::*;
use hyperstack_server::{
    ConnectionLimits, EntityCacheConfig, RateLimit, RunningServer, Server, WebSocketConfig,
};
use pump_stack::TokenEntity;
use serde_json::json;

async fn serve(ws: WebSocketConfig) -> RunningServer {
    Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(WebSocketConfig {
            bind_address: "127.0.0.1:0".parse().unwrap(),
            ..ws
        })
        .entity_cache_config(EntityCacheConfig::default())
        .spawn()
        .await
        .expect("server starts")
}

#[tokio::test]
async fn reconnects_with_no_limit_by_default() {
    let server = start().await;
    let proxy = Proxy::start(server.local_addr()).await;
    // No `max_reconnect_attempts`: the default never gives up. Tiny bases keep it quick.
    let hs = HyperStack::builder()
        .url(proxy.url())
        .reconnect_intervals(vec![Duration::from_millis(2)])
        .connect()
        .await
        .unwrap();
    let mut w = hs.watch::<TokenEntity>();
    send(&server, token("a", json!({"trade_count": 1}))).await;
    assert_eq!(next(&mut w).await.key(), "a");
    let mut states = hs.state_changes();
    proxy.block(true);
    proxy.cut();
    // Far more attempts than the old default of 10, and never `Error`.
    within("40 reconnect attempts", async {
        loop {
            states.changed().await.expect("open");
            match states.borrow_and_update().clone() {
                ConnectionState::Reconnecting { attempt } if attempt >= 40 => return,
                ConnectionState::Error => panic!("gave up"),
                _ => {}
            }
        }
    })
    .await;
    send(&server, token("a", json!({"trade_count": 2}))).await;
    proxy.block(false);
    let u = next(&mut w).await;
    assert_eq!(
        (u.key(), u.data().and_then(|t| t.trade_count)),
        ("a", Some(2)),
        "reconnected and resumed"
    );
    assert_eq!(hs.connection_state().await, ConnectionState::Connected);
}

#[tokio::test]
async fn a_bearer_token_in_the_header_authenticates() {
    let server = serve(WebSocketConfig::default().with_auth_token("t0k3n-abc")).await;
    send(&server, token("a", json!({"name": "alpha"}))).await;
    let url = url(server.local_addr());
    let hs = HyperStack::builder()
        .url(url.clone())
        .auth_token("t0k3n-abc")
        .connect()
        .await
        .expect("the header token is accepted");
    let a = hs.get::<TokenEntity>("a").await.expect("served");
    assert_eq!(a.name.as_deref(), Some("alpha"));
    assert!(!format!("{hs:?}").contains("t0k3n"), "{hs:?}");

    let none = HyperStack::connect(url.clone()).await.unwrap_err();
    assert!(none.to_string().contains("401"), "{none}");
    let wrong = HyperStack::builder()
        .url(url)
        .auth_token("wrong-secret-xyz")
        .connect()
        .await
        .unwrap_err();
    let shown = format!("{wrong} {wrong:?}");
    assert!(shown.contains("401"), "{shown}");
    assert!(!shown.contains("wrong-secret-xyz"), "{shown}");
}

#[tokio::test]
async fn watch_keys_beyond_the_limit_falls_back_to_the_list_view() {
    let server = serve(WebSocketConfig {
        max_subscriptions_per_client: 3,
        ..WebSocketConfig::default()
    })
    .await;
    for i in 0..8 {
        send(&server, token(&format!("k{i}"), json!({"trade_count": 0}))).await;
    }
    let keys: Vec<String> = (0..5).map(|i| format!("k{i}")).collect();

    // Before any reply, the client assumes 64: the server refuses two keys, and the stream's
    // keys move to the list view (the key subscriptions released first, to make room).
    let hs = connect(&server).await;
    let mut w = hs.watch_keys::<TokenEntity>(&keys);
    let mut first: Vec<String> = Vec::new();
    for _ in 0..5 {
        first.push(next(&mut w).await.key().to_string());
    }
    first.sort();
    assert_eq!(first, keys, "every key, none dropped");
    for (i, n) in [(7, 1), (4, 2), (0, 3), (6, 4), (3, 5)] {
        send(&server, token(&format!("k{i}"), json!({"trade_count": n}))).await;
    }
    let got: Vec<(String, Option<u64>)> =
        [next(&mut w).await, next(&mut w).await, next(&mut w).await]
            .iter()
            .map(|u| (u.key().to_string(), u.data().and_then(|t| t.trade_count)))
            .collect();
    assert_eq!(
        got,
        vec![
            ("k4".to_string(), Some(2)),
            ("k0".to_string(), Some(3)),
            ("k3".to_string(), Some(5)),
        ],
        "only the watched keys, whichever path they come by"
    );

    // Once the limit is announced, a new client goes through the list view at once.
    let hs2 = connect(&server).await;
    assert!(hs2.get::<TokenEntity>("k7").await.is_some());
    let mut w2 = hs2.watch_keys::<TokenEntity>(&keys);
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..5 {
        seen.push(next(&mut w2).await.key().to_string());
    }
    seen.sort();
    assert_eq!(seen, keys);
    eventually(
        "no state subscription left: both clients moved to the list view",
        || subs(&server, "Token/state") == 0,
    )
    .await;
    eventually("one list subscription per client", || {
        subs(&server, "Token/list") == 2
    })
    .await;
}

#[tokio::test]
async fn gets_beyond_the_limit_are_answered_through_the_list_view() {
    let server = serve(WebSocketConfig {
        max_subscriptions_per_client: 2,
        ..WebSocketConfig::default()
    })
    .await;
    for i in 0..5 {
        send(&server, token(&format!("g{i}"), json!({"trade_count": i}))).await;
    }
    let hs = connect(&server).await;
    // Five gets at once: those beyond the limit are answered through the list view.
    let gets = (0..5).map(|i| {
        let hs = hs.clone();
        async move { hs.try_get::<TokenEntity>(&format!("g{i}")).await }
    });
    for (i, got) in futures_util::future::join_all(gets)
        .await
        .into_iter()
        .enumerate()
    {
        let t = got.expect("answered").expect("found");
        assert_eq!(t.trade_count, Some(i as u64));
    }
    // Five single-key streams: likewise.
    let mut held: Vec<_> = (0..5)
        .map(|i| hs.watch_key::<TokenEntity>(&format!("g{i}")))
        .collect();
    for (i, w) in held.iter_mut().enumerate() {
        let u = next(w).await;
        assert_eq!(u.key(), format!("g{i}"));
    }
    send(&server, token("g4", json!({"trade_count": 40}))).await;
    let u = next(&mut held[4]).await;
    assert_eq!(u.data().and_then(|t| t.trade_count), Some(40));
}

#[tokio::test]
async fn rate_limited_subscriptions_are_retried() {
    let server = serve(WebSocketConfig {
        limits: ConnectionLimits {
            subscribe_rate: RateLimit::new(50.0, 2),
            ..ConnectionLimits::default()
        },
        ..WebSocketConfig::default()
    })
    .await;
    for i in 0..6 {
        send(&server, token(&format!("r{i}"), json!({}))).await;
    }
    let hs = connect(&server).await;
    let keys: Vec<String> = (0..6).map(|i| format!("r{i}")).collect();
    let mut w = hs.watch_keys::<TokenEntity>(&keys);
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(next(&mut w).await.key().to_string());
    }
    seen.sort();
    assert_eq!(seen, keys, "every key arrives once its retry is allowed");
    eventually("six state subscriptions", || {
        subs(&server, "Token/state") == 6
    })
    .await;
}
