//! Fan-out under pressure and connection policy: a slow client is dropped while a fast one
//! keeps every frame; max_clients; token auth; graceful shutdown.

mod common;

use std::time::Duration;

use common::text::noise;
use common::*;
use hyperstack_server::{ConnectionTimeouts, EntityCacheConfig, WebSocketConfig};
use serde_json::json;
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::test]
async fn slow_client_is_dropped_and_fast_client_gets_every_frame() {
    // A list window larger than the keys written: one frame per mutation.
    let server = start(
        EntityCacheConfig {
            max_entities_per_view: 5_000,
            ..EntityCacheConfig::default()
        },
        WebSocketConfig {
            message_queue_size: 16,
            // This test is about lagging: the slow client's blocked writes must not hit the
            // write timeout first (tests/hostile covers that one).
            timeouts: ConnectionTimeouts {
                write: Duration::from_secs(300),
                ..ConnectionTimeouts::default()
            },
            ..WebSocketConfig::default()
        },
    )
    .await;
    let tx = server.mutations();
    let mut fast = Client::connect(server.local_addr()).await;
    let mut slow = Client::connect(server.local_addr()).await;
    fast.subscribe_and_snapshot("Token/list").await;
    slow.subscribe_and_snapshot("Token/list").await;
    // `slow` now stops reading. ~12 MB of frames overflow its socket buffers and its queue,
    // while the feeder stays at most 8 frames ahead of what `fast` has read (a client that
    // keeps up), so only the slow one can lag.
    let total = 3_000;
    let (progress_tx, mut progress) = tokio::sync::watch::channel(0usize);
    let reader = tokio::spawn(async move {
        let mut seen = Vec::with_capacity(total);
        while seen.len() < total {
            let f = fast.next_json().await;
            seen.push(f["key"].as_str().unwrap_or_default().to_string());
            let _ = progress_tx.send(seen.len());
        }
        seen
    });
    for i in 0..total {
        progress
            .wait_for(|&read| read + 8 >= i)
            .await
            .expect("the fast reader is alive");
        tx.send(token(
            &format!("k{i:05}"),
            json!({"name": noise(i as u64, 4_000)}),
        ))
        .await
        .unwrap();
    }
    let seen = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("fast client keeps up")
        .unwrap();
    let expected: Vec<String> = (0..total).map(|i| format!("k{i:05}")).collect();
    assert_eq!(seen, expected, "the fast client saw every frame, in order");
    assert_eq!(
        server.metrics().clients_dropped_lagging(),
        1,
        "the drop is counted"
    );

    // The slow client, reading at last, finds frames, then the `lagged` error, then a close.
    let mut saw_lagged = false;
    loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut slow.ws)).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                if t.contains("\"lagged\"") {
                    saw_lagged = true;
                }
            }
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))))
            | Ok(None)
            | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("slow client was never closed"),
        }
    }
    assert!(saw_lagged, "the slow client is told why it is dropped");
}

#[tokio::test]
async fn max_clients_refuses_with_a_close_reason() {
    let server = start(
        EntityCacheConfig::default(),
        WebSocketConfig {
            max_clients: 1,
            ..WebSocketConfig::default()
        },
    )
    .await;
    let mut first = Client::connect(server.local_addr()).await;
    first.subscribe_and_snapshot("Token/list").await;
    let mut second = Client::connect(server.local_addr()).await;
    let (code, reason) = second.closed().await.expect("a close frame");
    assert_eq!(code, 1013);
    assert!(reason.contains("max_clients 1"), "{reason}");
    assert!(
        first.frames_until_pong().await.is_empty(),
        "the first client is unaffected"
    );
}

#[tokio::test]
async fn token_auth_refuses_before_upgrade() {
    let server = start(
        EntityCacheConfig::default(),
        WebSocketConfig {
            auth_tokens: vec!["s3cret".into()],
            ..WebSocketConfig::default()
        },
    )
    .await;
    let addr = server.local_addr();
    match tokio_tungstenite::connect_async(format!("ws://{addr}")).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(format!("ws://{addr}/?token=wrong")).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/?token=s3cret"))
        .await
        .expect("query token accepted");
    futures_util::SinkExt::close(&mut ws).await.ok();
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .expect("header token accepted");
}

#[tokio::test]
async fn graceful_shutdown_sends_close_frames() {
    let server = start_default().await;
    let mut c = Client::connect(server.local_addr()).await;
    c.subscribe_and_snapshot("Token/list").await;
    let addr = server.local_addr();
    let stop = tokio::spawn(server.shutdown(WAIT));
    let (code, reason) = c.closed().await.expect("a close frame");
    assert_eq!(code, 1001);
    assert_eq!(reason, "server shutting down");
    stop.await.unwrap();
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{addr}"))
            .await
            .is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn http_endpoints_through_the_builder() {
    use hyperstack_server::Server;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse().unwrap())
        .health_bind("127.0.0.1:0".parse().unwrap())
        .spawn()
        .await
        .unwrap();
    let http = server.http_addr().expect("http enabled");
    let get = |path: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(http).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    assert!(get("/health").await.contains("{\"status\":\"ok\""));
    let views = get("/views").await;
    assert!(
        views.contains("\"Token/trending\"") && views.contains("volume_sol"),
        "{views}"
    );
    let mut c = Client::connect(server.local_addr()).await;
    c.subscribe_and_snapshot("Token/list").await;
    let metrics = get("/metrics").await;
    assert!(metrics.contains("view=\"Token/list\""), "{metrics}");
}
