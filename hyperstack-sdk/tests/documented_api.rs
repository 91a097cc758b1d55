//! The documented SDK API, written exactly as the documentation writes it, run against a live
//! server.

mod common;

use common::*;
use hyperstack_sdk::prelude::*;
use pump_stack::{Token, TokenEntity, TokenViews};
use serde_json::json;

fn describe(state: &ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connected => "connected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Reconnecting { attempt: _ } => "reconnecting",
        ConnectionState::Disconnected => "disconnected",
        ConnectionState::Error => "error",
    }
}

#[tokio::test]
async fn connection_state_and_last_error() {
    let server = start().await;
    let hs = HyperStack::connect(url(server.local_addr())).await.unwrap();
    assert_eq!(describe(&hs.connection_state().await), "connected");
    let last: Option<String> = hs.last_error().await;
    assert_eq!(last, None);
    hs.disconnect().await;
    assert_eq!(describe(&hs.connection_state().await), "disconnected");
}

#[tokio::test]
async fn views_get_and_watch_return_values_and_streams() {
    let server = start().await;
    send(
        &server,
        token("t1", json!({"name": "One", "volume_sol": 5})),
    )
    .await;
    let hs = connect(&server).await;
    let views = hs.views::<TokenViews>();

    let all: Vec<Token> = views.list().get().await;
    assert_eq!(all.len(), 1);
    let one: Option<Token> = views.state().get("t1").await;
    assert_eq!(one.and_then(|t| t.name).as_deref(), Some("One"));
    let trending: Vec<Token> = views.trending().get().await;
    assert_eq!(trending.len(), 1);

    let mut stream = views.list().watch();
    let first = next(&mut stream).await;
    assert_eq!(first.key(), "t1");
    let mut rich = hs.watch_rich::<TokenEntity>();
    assert!(matches!(next(&mut rich).await, RichUpdate::Created { .. }));
    send(&server, token("t1", json!({"volume_sol": 9}))).await;
    match next(&mut rich).await {
        RichUpdate::Updated {
            key,
            before,
            after,
            patch,
        } => {
            let patch: Option<serde_json::Value> = patch;
            assert_eq!(key, "t1");
            assert_eq!((before.volume_sol, after.volume_sol), (Some(5), Some(9)));
            assert_eq!(patch.expect("a patch frame")["volume_sol"], 9);
        }
        other => panic!("expected Updated, got {other:?}"),
    }
}
