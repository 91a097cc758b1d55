//! Hostile and broken clients over real sockets: each attack is answered with its documented
//! error frame or close code, counted by reason, and costs honest clients nothing.
//! (Memory under oversized messages: tests/hostile_memory.rs; a panicking task:
//! tests/hostile_failure.rs.)

mod hostile_support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hostile_support::text::noise;
use hostile_support::*;
use hyperstack_server::metrics::RefusalReason;
use hyperstack_server::{
    ClientIpHeader, ConnectionLimits, ConnectionTimeouts, EntityCacheConfig, WebSocketConfig,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
}

/// The frame header of a masked text frame announcing `len` payload bytes (mask key zero).
fn frame_header(len: u64) -> Vec<u8> {
    let mut h = vec![0x81, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

#[tokio::test]
async fn an_oversized_message_is_refused_from_its_header_with_1009() {
    let server = serve(EntityCacheConfig::default(), ws_config()).await;
    let mut ws = connect(server.local_addr()).await;
    // Only the header of a 15 MiB frame: the server must refuse without waiting for (or
    // buffering) a single byte of its payload.
    ws.get_mut()
        .write_all(&frame_header(15 * 1024 * 1024))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1009));
    assert_eq!(refused(&server, RefusalReason::MessageTooLarge), 1);

    // Just over the 16 KiB limit, as a real message: also 1009.
    let mut ws = connect(server.local_addr()).await;
    let key = "k".repeat(16 * 1024);
    let text = json!({"view": "Token/state", "key": key}).to_string();
    let _ = ws.send(Message::Text(text.into())).await;
    assert_eq!(close_code(&mut ws).await, Some(1009));
    until("two refusals", || {
        refused(&server, RefusalReason::MessageTooLarge) == 2
    })
    .await;
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn long_views_and_keys_are_refused_with_their_id_and_not_echoed() {
    let server = serve(EntityCacheConfig::default(), ws_config()).await;
    let mut c = Reader::spawn(connect(server.local_addr()).await);
    let key = format!("K{}", "x".repeat(299));
    c.send(json!({"view": "Token/state", "key": key, "id": 1}))
        .await;
    let view = format!("V{}", "y".repeat(199));
    c.send(json!({"view": view, "id": "two"})).await;
    let e1 = c.next_frame().await;
    assert_eq!(
        (e1["op"].as_str(), e1["code"].as_str(), &e1["id"]),
        (Some("error"), Some("key_too_long"), &json!(1))
    );
    let e2 = c.next_frame().await;
    assert_eq!(
        (e2["code"].as_str(), &e2["id"]),
        (Some("view_too_long"), &json!("two"))
    );
    for e in [&e1, &e2] {
        let text = e.to_string();
        assert!(
            !text.contains("xxxxxxxx") && !text.contains("yyyyyyyy"),
            "{text}"
        );
    }
    assert!(e2.get("view").is_none(), "an over-long view is not echoed");
    assert_eq!(server.metrics().subscriptions(0), 0);
    assert_eq!(refused(&server, RefusalReason::KeyTooLong), 1);
    assert_eq!(refused(&server, RefusalReason::ViewTooLong), 1);
    // The connection is still served.
    assert!(c.until_pong().await.is_empty());
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn a_slow_handshake_times_out_and_never_counts_against_max_clients() {
    let ws = WebSocketConfig {
        max_clients: 1,
        timeouts: ConnectionTimeouts {
            handshake: Duration::from_millis(300),
            ..ConnectionTimeouts::default()
        },
        ..ws_config()
    };
    let server = serve(EntityCacheConfig::default(), ws).await;
    // Slowloris: half a request, then nothing.
    let mut slow = TcpStream::connect(server.local_addr()).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // An honest client gets the one place while the slow handshake is pending.
    let mut honest = Reader::spawn(connect(server.local_addr()).await);
    assert!(honest.until_pong().await.is_empty());
    assert_eq!(server.connections(), 1);
    // The slow one is closed once its handshake time is up.
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(WAIT, slow.read(&mut buf))
        .await
        .expect("closed by the server")
        .unwrap_or(0);
    assert_eq!(n, 0, "no upgrade answer, just a close");
    assert_eq!(refused(&server, RefusalReason::HandshakeTimeout), 1);
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn handshakes_under_way_are_bounded() {
    let ws = WebSocketConfig {
        limits: ConnectionLimits {
            max_pending_handshakes: 1,
            ..ConnectionLimits::default()
        },
        ..ws_config()
    };
    let server = serve(EntityCacheConfig::default(), ws).await;
    // Accepted in order: the first takes the only place and keeps it (5 s handshake time).
    let _pending = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut second = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(WAIT, second.read(&mut buf))
        .await
        .expect("closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert_eq!(refused(&server, RefusalReason::HandshakeCapacity), 1);
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn a_silent_peer_is_closed_while_a_quiet_client_stays() {
    let ws = WebSocketConfig {
        timeouts: ConnectionTimeouts {
            ping_interval: Duration::from_millis(100),
            pong_timeout: Duration::from_millis(300),
            ..ConnectionTimeouts::default()
        },
        ..ws_config()
    };
    let server = serve(EntityCacheConfig::default(), ws).await;
    // Quiet: subscribed to a view nothing happens on, sends nothing, but its socket is read
    // (so WebSocket pings are answered).
    let mut quiet = Reader::spawn(connect(server.local_addr()).await);
    quiet
        .send(json!({"view": "Token/state", "key": "nobody"}))
        .await;
    assert_eq!(quiet.next_frame().await["op"], "subscribed");
    // Silent: never reads its socket again, so never answers a ping.
    let mut silent = connect(server.local_addr()).await;
    silent
        .send(Message::Text(r#"{"view":"Token/list"}"#.into()))
        .await
        .unwrap();
    until("the silent peer's eviction", || {
        refused(&server, RefusalReason::PingTimeout) == 1
    })
    .await;
    until("one connection left", || server.connections() == 1).await;
    // The quiet client was pinged through all of it and is still served.
    assert!(quiet
        .until_pong()
        .await
        .iter()
        .all(|f| f["op"] == "snapshot"));
    assert_eq!(refused(&server, RefusalReason::PingTimeout), 1);
    drop(silent);
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn a_zero_window_reader_is_dropped_by_the_write_timeout() {
    let ws = WebSocketConfig {
        // Large enough that lagging does not trigger first: this is about blocked writes.
        message_queue_size: 100_000,
        timeouts: ConnectionTimeouts {
            write: Duration::from_millis(500),
            ..ConnectionTimeouts::default()
        },
        ..ws_config()
    };
    let cache = EntityCacheConfig {
        max_entities_per_view: 5_000,
        ..EntityCacheConfig::default()
    };
    let server = serve(cache, ws).await;
    let mut honest = Reader::spawn(connect(server.local_addr()).await);
    honest.send(json!({"view": "Token/list"})).await;
    assert_eq!(honest.next_frame().await["op"], "subscribed");
    assert_eq!(honest.next_frame().await["complete"], true);
    let mut stuck = connect_slow_link(server.local_addr()).await;
    stuck
        .send(Message::Text(r#"{"view":"Token/list"}"#.into()))
        .await
        .unwrap();
    // It never reads again. ~6 MB of poorly compressible frames fill its window.
    let total = 1_500;
    let tx = server.mutations();
    let feeder = tokio::spawn(async move {
        for i in 0..total {
            let data = json!({"name": noise(i as u64, 4_000)});
            tx.send(token(&format!("k{i:05}"), data)).await.unwrap();
        }
    });
    for i in 0..total {
        let f = honest.next_frame().await;
        assert_eq!(f["key"], format!("k{i:05}"), "every frame, in order");
    }
    feeder.await.unwrap();
    until("the stuck reader's eviction", || {
        refused(&server, RefusalReason::WriteTimeout) == 1
    })
    .await;
    until("one connection left", || server.connections() == 1).await;
    assert_eq!(server.metrics().clients_dropped_lagging(), 0);
    drop(stuck);
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn a_stuck_reader_does_not_hold_shutdown_past_the_grace_period() {
    let ws = WebSocketConfig {
        message_queue_size: 100_000,
        timeouts: ConnectionTimeouts {
            write: Duration::from_secs(600),
            ..ConnectionTimeouts::default()
        },
        ..ws_config()
    };
    let cache = EntityCacheConfig {
        max_entities_per_view: 5_000,
        ..EntityCacheConfig::default()
    };
    let server = serve(cache, ws).await;
    let mut stuck = connect_slow_link(server.local_addr()).await;
    stuck
        .send(Message::Text(r#"{"view":"Token/list"}"#.into()))
        .await
        .unwrap();
    let tx = server.mutations();
    for i in 0..1_000 {
        let data = json!({"name": noise(i, 4_000)});
        tx.send(token(&format!("k{i:05}"), data)).await.unwrap();
    }
    tx.drained().await;
    let grace = Duration::from_secs(1);
    let started = std::time::Instant::now();
    server.shutdown(grace).await;
    let took = started.elapsed();
    assert!(
        took < grace + Duration::from_millis(750),
        "shutdown took {took:?} with a {grace:?} grace"
    );
    drop(stuck);
}

#[tokio::test]
async fn a_subscribe_flood_is_rate_limited_bounded_and_closed() {
    let server = serve(EntityCacheConfig::default(), ws_config()).await;
    let state_view = server.metrics().view_index("Token/state").unwrap();
    let mut honest = Reader::spawn(connect(server.local_addr()).await);
    honest.send(json!({"view": "Token/list"})).await;
    assert_eq!(honest.next_frame().await["op"], "subscribed");
    assert_eq!(honest.next_frame().await["complete"], true);

    // 200 subscribes at once (within the message burst): 64 held, the rest of the subscribe
    // burst (128) refused by count, the remainder by rate — each answered, in order.
    let mut flood = Reader::spawn(connect(server.local_addr()).await);
    for i in 0..200 {
        flood
            .send(json!({"view": "Token/state", "key": format!("k{i}"), "id": i}))
            .await;
    }
    let (mut subscribed, mut too_many, mut limited) = (0, 0, 0);
    let mut last_id = -1i64;
    while subscribed + too_many + limited < 200 {
        let f = flood.next_frame().await;
        match (f["op"].as_str(), f["code"].as_str()) {
            (Some("subscribed"), _) => subscribed += 1,
            (Some("error"), Some("too_many_subscriptions")) => too_many += 1,
            (Some("error"), Some("rate_limited")) => {
                assert!(f["retry_after_ms"].as_u64().is_some(), "{f}");
                limited += 1
            }
            (Some("snapshot"), _) => continue,
            _ => panic!("unexpected {f}"),
        }
        let id = f["id"].as_i64().expect("every reply carries its id");
        assert!(
            id > last_id,
            "replies in request order: {id} after {last_id}"
        );
        last_id = id;
    }
    assert_eq!(
        subscribed, 64,
        "never more than max_subscriptions_per_client"
    );
    assert!(
        too_many >= 64,
        "the rest of the subscribe burst refused by count"
    );
    assert!(limited > 0, "then by rate");
    assert_eq!(server.metrics().subscriptions(state_view), 64);
    assert_eq!(refused(&server, RefusalReason::RateLimited), limited);

    // Keeping on far beyond the message rate: closed with 1008.
    let mut closed = None;
    for i in 0..2_000 {
        let msg = json!({"view": "Token/state", "key": format!("x{i}")}).to_string();
        if flood.sink.send(Message::Text(msg.into())).await.is_err() {
            break;
        }
    }
    while closed.is_none() {
        if let Seen::Closed(code) = flood.next().await {
            closed = Some(code);
        }
    }
    assert_eq!(closed, Some(Some(1008)), "closed for its message rate");
    assert_eq!(refused(&server, RefusalReason::MessageRate), 1);
    // Its subscriptions are gone with it; the honest client never noticed.
    until("the flood's subscriptions released", || {
        server.metrics().subscriptions(state_view) == 0
    })
    .await;
    assert!(honest.until_pong().await.is_empty());
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn subscribe_churn_never_starves_mutation_delivery() {
    let cache = EntityCacheConfig {
        max_entities_per_view: 5_000,
        ..EntityCacheConfig::default()
    };
    // Rate limits off: this is about the bus itself under as much churn as it is sent.
    let unlimited = hyperstack_server::RateLimit::new(1e9, 1_000_000);
    let ws = WebSocketConfig {
        limits: ConnectionLimits {
            subscribe_rate: unlimited,
            message_rate: unlimited,
            ..ConnectionLimits::default()
        },
        ..ws_config()
    };
    let server = serve(cache, ws).await;
    preload(&server, 2_000).await;
    let mut honest = Reader::spawn(connect(server.local_addr()).await);
    honest.send(json!({"view": "Token/list"})).await;
    assert_eq!(honest.next_frame().await["op"], "subscribed");
    loop {
        if honest.next_frame().await["complete"] == true {
            break;
        }
    }
    // Four churners pipeline subscribe/unsubscribe pairs of the 2,000-row list view (each
    // subscribe costs a full snapshot) for as long as the mutations flow. (They read — and
    // drop — what they get, so they do not lag themselves.)
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut churners = Vec::new();
    for _ in 0..4 {
        let mut churner = Reader::spawn(connect(server.local_addr()).await);
        let stopped = stopped.clone();
        churners.push(tokio::spawn(async move {
            while !*stopped.borrow() {
                for _ in 0..16 {
                    let sub = Message::Text(r#"{"view":"Token/list"}"#.into());
                    let unsub = Message::Text(r#"{"op":"unsubscribe","view":"Token/list"}"#.into());
                    churner.sink.feed(sub).await.unwrap();
                    churner.sink.feed(unsub).await.unwrap();
                }
                churner.sink.flush().await.unwrap();
                // Drop what arrived meanwhile.
                while churner.rx.try_recv().is_ok() {}
            }
            churner
        }));
    }
    let (commands_before, batches_before, _) = server.metrics().bus_counts();
    let tx = server.mutations();
    let total = 2_000;
    let feeder = tokio::spawn(async move {
        for i in 0..total {
            let key = format!("k{:05}", i % 2_000);
            tx.send(token(&key, json!({"trade_count": i})))
                .await
                .unwrap();
        }
    });
    for i in 0..total {
        let f = honest.next_frame().await;
        assert_eq!(f["op"], "patch", "{f}");
        assert_eq!(f["data"]["trade_count"], i, "every mutation, in order");
    }
    feeder.await.unwrap();
    let (commands, batches, streak) = server.metrics().bus_counts();
    stop.send_replace(true);
    let mut held = Vec::new();
    for c in churners {
        held.push(c.await.unwrap());
    }
    assert!(
        commands - commands_before >= 400,
        "the churn kept the bus busy while the mutations flowed ({} commands)",
        commands - commands_before
    );
    assert!(batches > batches_before);
    assert!(
        streak <= 1,
        "committed batches kept flowing between commands: at most {streak} command(s) in a row while a batch waited"
    );
    assert_eq!(
        server.metrics().clients_dropped_lagging(),
        0,
        "nobody lagged"
    );
    for mut churner in held {
        assert!(churner
            .until_pong()
            .await
            .iter()
            .all(|f| f["op"] != "error"));
    }
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn replies_keep_request_order_and_echo_ids() {
    let cache = EntityCacheConfig {
        max_entities_per_view: 5_000,
        ..EntityCacheConfig::default()
    };
    let server = serve(cache, ws_config()).await;
    preload(&server, 1_000).await;
    let mut c = Reader::spawn(connect(server.local_addr()).await);
    for msg in [
        json!({"view": "Token/list", "id": 1}),
        json!({"view": "Nope/list", "id": 2}),
        json!({"view": "Token/state", "key": "k00001", "id": "three"}),
        json!({"view": "Token/state", "id": 4}),
        json!({"view": "Token/state", "key": "k00002"}),
    ] {
        c.send(msg).await;
    }
    // (op, id) of each reply's first frame, in arrival order; snapshots checked on the way.
    let mut replies: Vec<(String, Value)> = Vec::new();
    while replies.len() < 5 {
        let f = c.next_frame().await;
        let op = f["op"].as_str().unwrap_or_default().to_string();
        match op.as_str() {
            "subscribed" => {
                assert_eq!(f["limits"]["max_subscriptions"], 64, "{f}");
                assert_eq!(f["limits"]["max_message_size"], 16_384, "{f}");
                replies.push((op, f.get("id").cloned().unwrap_or(Value::Null)));
                // Its snapshot follows, before anything else.
                loop {
                    let s = c.next_frame().await;
                    assert_eq!(s["op"], "snapshot", "{s}");
                    if s["complete"] == true {
                        break;
                    }
                }
            }
            "error" => replies.push((
                format!("error:{}", f["code"].as_str().unwrap_or_default()),
                f["id"].clone(),
            )),
            other => panic!("unexpected {other}: {f}"),
        }
    }
    assert_eq!(
        replies,
        vec![
            ("subscribed".to_string(), json!(1)),
            ("error:unknown_view".to_string(), json!(2)),
            ("subscribed".to_string(), json!("three")),
            ("error:bad_key".to_string(), json!(4)),
            ("subscribed".to_string(), Value::Null),
        ]
    );
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn subscriptions_beyond_the_limit_are_refused_in_order_by_id() {
    let ws = WebSocketConfig {
        max_subscriptions_per_client: 3,
        ..ws_config()
    };
    let server = serve(EntityCacheConfig::default(), ws).await;
    preload(&server, 10).await;
    let mut c = Reader::spawn(connect(server.local_addr()).await);
    for i in 0..5 {
        c.send(json!({"view": "Token/state", "key": format!("k{i:05}"), "id": 10 + i}))
            .await;
    }
    // A re-subscribe of a held (view, key) is a resync, not a new subscription.
    c.send(json!({"view": "Token/state", "key": "k00000", "id": 20}))
        .await;
    let mut replies = Vec::new();
    while replies.len() < 6 {
        let f = c.next_frame().await;
        match f["op"].as_str() {
            Some("subscribed") => replies.push((f["id"].clone(), "subscribed".to_string())),
            Some("error") => replies.push((f["id"].clone(), f["code"].as_str().unwrap().into())),
            _ => {}
        }
    }
    let expect = |id: i32, what: &str| (json!(id), what.to_string());
    assert_eq!(
        replies,
        vec![
            expect(10, "subscribed"),
            expect(11, "subscribed"),
            expect(12, "subscribed"),
            expect(13, "too_many_subscriptions"),
            expect(14, "too_many_subscriptions"),
            expect(20, "subscribed"),
        ]
    );
    assert_eq!(refused(&server, RefusalReason::TooManySubscriptions), 2);
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn shutdown_delivers_the_frames_already_queued_then_closes_1001() {
    let cache = EntityCacheConfig {
        max_entities_per_view: 5_000,
        ..EntityCacheConfig::default()
    };
    let ws = WebSocketConfig {
        timeouts: ConnectionTimeouts {
            write: Duration::from_secs(120),
            ..ConnectionTimeouts::default()
        },
        ..ws_config()
    };
    let server = serve(cache, ws).await;
    let mut ws = connect_slow_link(server.local_addr()).await;
    ws.send(Message::Text(r#"{"view":"Token/list"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["op"], "subscribed");
    assert_eq!(next_json(&mut ws).await["complete"], true);
    // 300 frames of ~4 KB while the client does not read: far more than the slow link's
    // buffers, so most wait in the server's queue for this client when the shutdown starts.
    let total = 300;
    let tx = server.mutations();
    for i in 0..total {
        let data = json!({"name": noise(i as u64, 4_000)});
        tx.send(token(&format!("k{i:05}"), data)).await.unwrap();
    }
    tx.drained().await;
    let stop = tokio::spawn(server.shutdown(Duration::from_secs(60)));
    let mut keys = Vec::new();
    let code = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.expect("frames") {
            Some(Ok(Message::Binary(b))) => keys.push(gunzip(&b)["key"].clone()),
            Some(Ok(Message::Text(t))) => {
                let f: Value = serde_json::from_str(&t).unwrap();
                keys.push(f["key"].clone());
            }
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    let expected: Vec<Value> = (0..total).map(|i| json!(format!("k{i:05}"))).collect();
    assert_eq!(keys, expected, "every committed frame, then the close");
    assert_eq!(code, Some(1001));
    stop.await.unwrap();
}

/// The next data frame of a WebSocket read directly.
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame")
        {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Binary(b))) => return gunzip(&b),
            Some(Ok(Message::Close(f))) => panic!("closed: {f:?}"),
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn connections_per_address_behind_a_trusted_proxy() {
    let ws = WebSocketConfig {
        limits: ConnectionLimits {
            max_connections_per_ip: Some(1),
            ..ConnectionLimits::default()
        },
        client_ip: Some(ClientIpHeader::forwarded_for(vec!["127.0.0.1"
            .parse()
            .unwrap()])),
        ..ws_config()
    };
    let server = serve(EntityCacheConfig::default(), ws).await;
    let addr = server.local_addr();
    let via_proxy = |client: &str| {
        let mut req = format!("ws://{addr}").into_client_request().unwrap();
        req.headers_mut().insert(
            "x-forwarded-for",
            format!("198.51.100.1, {client}").parse().unwrap(),
        );
        req
    };
    let open = |req| async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        tokio_tungstenite::client_async(req, stream)
            .await
            .unwrap()
            .0
    };
    let mut a = Reader::spawn(open(via_proxy("203.0.113.1")).await);
    let mut again = open(via_proxy("203.0.113.1")).await;
    assert_eq!(
        close_code(&mut again).await,
        Some(1008),
        "same client address"
    );
    let mut b = Reader::spawn(open(via_proxy("203.0.113.2")).await);
    assert!(a.until_pong().await.is_empty());
    assert!(b.until_pong().await.is_empty());
    assert_eq!(refused(&server, RefusalReason::IpLimit), 1);
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn tokens_rotate_and_origins_are_checked() {
    let ws = WebSocketConfig {
        auth_tokens: vec!["new-token".into(), "old-token".into()],
        allowed_origins: vec!["https://app.example".into()],
        ..ws_config()
    };
    let server = serve(EntityCacheConfig::default(), ws).await;
    let addr = server.local_addr();
    let attempt = |query: &str, bearer: Option<&str>, origin: Option<&str>| {
        let mut req = format!("ws://{addr}/{query}")
            .into_client_request()
            .unwrap();
        if let Some(t) = bearer {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            match tokio_tungstenite::client_async(req, stream).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
                Err(e) => panic!("{e}"),
            }
        }
    };
    assert_eq!(attempt("", Some("new-token"), None).await, 101);
    assert_eq!(attempt("?token=old-token", None, None).await, 101);
    assert_eq!(attempt("", Some("new-toke"), None).await, 401);
    assert_eq!(attempt("", None, None).await, 401);
    let allowed = Some("https://app.example");
    assert_eq!(attempt("", Some("new-token"), allowed).await, 101);
    let evil = Some("https://evil.example");
    assert_eq!(attempt("", Some("new-token"), evil).await, 403);
    assert_eq!(refused(&server, RefusalReason::Unauthorized), 2);
    assert_eq!(refused(&server, RefusalReason::OriginNotAllowed), 1);
    server.shutdown(WAIT).await;
}
