//! Tokens never reach logs or errors: a token in the URL (`?token=`) or the bearer header
//! is redacted from log lines, `last_error`, `Debug` output and connection errors. Alone in
//! its binary: the log capture is this thread's subscriber, and other tests' threads would
//! race it for the log call sites' interest.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hyperstack_sdk::prelude::*;
use hyperstack_server::{EntityCacheConfig, RunningServer, Server, WebSocketConfig};
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

/// Log lines captured from `tracing`.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_never_reach_logs_or_errors() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    // This test's runtime runs on this thread: the connection task logs here too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let secret = "qu3ry-s3cret-42";
    let server = serve(WebSocketConfig::default().with_auth_token(secret)).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let with_token = format!("{}/?token={secret}", proxy.url());
    let hs = HyperStack::builder()
        .url(with_token.clone())
        .reconnect_intervals(vec![Duration::from_millis(2)])
        .max_reconnect_attempts(3)
        .connect()
        .await
        .expect("the query token is accepted");
    let mut w = hs.watch::<TokenEntity>();
    send(&server, token("a", json!({}))).await;
    next(&mut w).await;
    // Lose the connection for good: warnings, reconnect attempts, the final error.
    proxy.block(true);
    proxy.cut();
    let mut states = hs.state_changes();
    within(
        "the error state",
        states.wait_for(|s| *s == ConnectionState::Error),
    )
    .await
    .unwrap();
    let last = hs.last_error().await.unwrap_or_default();
    let debug = format!("{hs:?}");
    let refused = HyperStack::connect(format!("ws://{}/?token=not-{secret}", server.local_addr()))
        .await
        .unwrap_err();
    let err = format!("{refused} {refused:?}");
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("connection lost"),
        "the loss was logged: {logs}"
    );
    for (what, text) in [
        ("logs", &logs),
        ("last_error", &last),
        ("Debug", &debug),
        ("error", &err),
    ] {
        assert!(!text.contains(secret), "{what} shows the token: {text}");
    }
    assert!(debug.contains("token=<redacted>"), "{debug}");
}
