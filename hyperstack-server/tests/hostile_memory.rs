//! Oversized messages do not grow the server's memory: 8 connections each try four 15 MiB
//! subscribe messages (the attack that took a server from 104 MB to 1.27 GB). Alone in its
//! test binary so the process's RSS is the server's (plus a client that streams from one
//! shared 64 KiB buffer).

mod hostile_support;

use std::sync::Arc;

use hostile_support::*;
use hyperstack_server::metrics::RefusalReason;
use hyperstack_server::{EntityCacheConfig, WebSocketConfig};
use tokio::io::AsyncWriteExt;

/// One attack: a 15 MiB text frame (`{"view":"Token/state","key":"kkkk…`), streamed.
async fn oversized(addr: std::net::SocketAddr, chunk: Arc<Vec<u8>>) {
    let mut ws = connect(addr).await;
    let len: u64 = 15 * 1024 * 1024;
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0]);
    let stream = ws.get_mut();
    if stream.write_all(&header).await.is_err() {
        return;
    }
    let mut sent = 0u64;
    while sent < len {
        // The server closes after the header: writes then fail, which ends the attack.
        if stream.write_all(&chunk).await.is_err() {
            return;
        }
        sent += chunk.len() as u64;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_leave_server_memory_flat() {
    let server = serve(EntityCacheConfig::default(), WebSocketConfig::default()).await;
    let addr = server.local_addr();
    let mut chunk = br#"{"view":"Token/state","key":""#.to_vec();
    chunk.resize(64 * 1024, b'k');
    let chunk = Arc::new(chunk);
    // Warm up (runtime, buffers), then measure.
    oversized(addr, chunk.clone()).await;
    until("the warm-up refusal", || {
        refused(&server, RefusalReason::MessageTooLarge) == 1
    })
    .await;
    let before = rss();
    let mut attackers = Vec::new();
    for _ in 0..8 {
        let chunk = chunk.clone();
        attackers.push(tokio::spawn(async move {
            for _ in 0..4 {
                oversized(addr, chunk.clone()).await;
            }
        }));
    }
    for a in attackers {
        a.await.unwrap();
    }
    until("every attack refused", || {
        refused(&server, RefusalReason::MessageTooLarge) == 33
    })
    .await;
    until("every attacker gone", || server.connections() == 0).await;
    let after = rss();
    let grown = after.saturating_sub(before);
    assert!(
        grown < 32 * 1024 * 1024,
        "32 × 15 MiB messages grew the process by {} MiB ({} → {} MiB)",
        grown / (1024 * 1024),
        before / (1024 * 1024),
        after / (1024 * 1024)
    );
    assert_eq!(server.metrics().subscriptions(0), 0);
    server.shutdown(WAIT).await;
}
