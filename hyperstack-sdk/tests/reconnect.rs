//! Connection loss: resume with the `after` cursor (every change seen once, in order),
//! reconciliation against a full snapshot from a restarted server, giving up after the
//! configured attempts, dead-peer detection by application pings.

mod common;

use std::time::Duration;

use common::*;
use hyperstack_sdk::prelude::*;
use hyperstack_server::Mutation;
use pump_stack::TokenEntity;
use serde_json::json;
use tokio::sync::watch;

async fn client_via(proxy: &Proxy, ping: Duration) -> HyperStack {
    HyperStack::builder()
        .url(proxy.url())
        .reconnect_intervals(vec![Duration::from_millis(20)])
        .max_reconnect_attempts(500)
        .ping_interval(ping)
        .connect()
        .await
        .expect("connects through the proxy")
}

async fn wait_state(
    rx: &mut watch::Receiver<ConnectionState>,
    what: &str,
    f: impl FnMut(&ConnectionState) -> bool,
) -> ConnectionState {
    within(what, rx.wait_for(f))
        .await
        .expect("state channel open")
        .clone()
}

fn count(u: &Update<pump_stack::Token>) -> (String, &'static str, Option<u64>) {
    let kind = match u {
        Update::Upsert { .. } => "upsert",
        Update::Patch { .. } => "patch",
        Update::Delete { .. } => "delete",
    };
    (
        u.key().to_string(),
        kind,
        u.data().and_then(|t| t.trade_count),
    )
}

#[tokio::test]
async fn resume_after_a_dropped_connection_loses_and_repeats_nothing() {
    let server = start().await;
    let proxy = Proxy::start(server.local_addr()).await;
    send(&server, token("a", json!({"trade_count": 0}))).await;
    send(&server, token("b", json!({"trade_count": 0}))).await;
    let hs = client_via(&proxy, Duration::from_secs(30)).await;
    let mut states = hs.state_changes();
    let mut w = hs.watch::<TokenEntity>();
    let mut got = vec![count(&next(&mut w).await), count(&next(&mut w).await)];
    let mut expected = vec![
        ("a".to_string(), "upsert", Some(0)),
        ("b".to_string(), "upsert", Some(0)),
    ];
    let mut n = 0;
    for round in 0..3 {
        // Live changes, all seen.
        for _ in 0..20 {
            n += 1;
            send(&server, token("a", json!({"trade_count": n}))).await;
            expected.push(("a".into(), "patch", Some(n)));
        }
        for _ in 0..20 {
            got.push(count(&next(&mut w).await));
        }
        // Cut the connection and keep it down while the server changes: the gap.
        proxy.block(true);
        proxy.cut();
        wait_state(&mut states, "reconnecting", |s| {
            matches!(s, ConnectionState::Reconnecting { .. })
        })
        .await;
        let key = format!("new{round}");
        send(&server, token(&key, json!({"trade_count": 1}))).await;
        expected.push((key.clone(), "upsert", Some(1)));
        // A value changed and changed back: a resume replays both, a snapshot would not.
        send(&server, token("b", json!({"trade_count": 99}))).await;
        send(&server, token("b", json!({"trade_count": 0}))).await;
        expected.push(("b".into(), "patch", Some(99)));
        expected.push(("b".into(), "patch", Some(0)));
        send(&server, Mutation::delete("Token", &key)).await;
        expected.push((key, "delete", None));
        proxy.block(false);
        wait_state(&mut states, "connected again", |s| {
            *s == ConnectionState::Connected
        })
        .await;
        for _ in 0..4 {
            got.push(count(&next(&mut w).await));
        }
    }
    // A final marker proves nothing else was queued after the replayed frames.
    send(&server, token("end", json!({}))).await;
    expected.push(("end".into(), "upsert", None));
    got.push(count(&next(&mut w).await));
    assert_eq!(got, expected);
}

#[tokio::test]
async fn full_snapshot_after_restart_is_reconciled() {
    let old = start().await;
    let proxy = Proxy::start(old.local_addr()).await;
    for (k, n) in [("keep", 1), ("change", 1), ("gone", 1)] {
        send(&old, token(k, json!({"trade_count": n}))).await;
    }
    // Push the old server's seq beyond what the new one will have.
    for n in 0..30 {
        send(&old, token("keep", json!({"name": "K", "volume_sol": n}))).await;
    }
    let hs = client_via(&proxy, Duration::from_secs(30)).await;
    let mut states = hs.state_changes();
    let mut w = hs.watch::<TokenEntity>();
    let mut rich = hs.watch_rich::<TokenEntity>();
    for _ in 0..3 {
        next(&mut w).await;
        next(&mut rich).await;
    }
    let keep_before = hs.get::<TokenEntity>("keep").await.expect("keep");

    // "Restart": a new server with partly different data behind the same address. Its log
    // reaches past the client's cursor, so only the epoch tells the cursor is from another
    // run: the client must get (and reconcile) a full snapshot, not a replay.
    let new = start().await;
    send(&new, token("change", json!({"trade_count": 2}))).await;
    send(&new, token("fresh", json!({"trade_count": 3}))).await;
    for _ in 0..60 {
        send(
            &new,
            token(
                "keep",
                json!({"trade_count": 1, "name": "K", "volume_sol": 29}),
            ),
        )
        .await;
    }
    proxy.set_upstream(new.local_addr());
    proxy.cut();
    old.shutdown(WAIT).await;
    wait_state(&mut states, "reconnected", |s| {
        *s == ConnectionState::Connected
    })
    .await;

    let mut got = vec![
        count(&next(&mut w).await),
        count(&next(&mut w).await),
        count(&next(&mut w).await),
    ];
    got.sort();
    assert_eq!(
        got,
        vec![
            ("change".to_string(), "patch", Some(2)),
            ("fresh".to_string(), "upsert", Some(3)),
            ("gone".to_string(), "delete", None),
        ],
        "unchanged `keep` emits nothing"
    );
    let mut rich_got = Vec::new();
    for _ in 0..3 {
        rich_got.push(next(&mut rich).await);
    }
    let change = rich_got
        .iter()
        .find(|u| u.key() == "change")
        .expect("change");
    assert!(change.has_patch_field("trade_count"));
    assert!(matches!(change, RichUpdate::Updated { before, after, .. }
        if before.trade_count == Some(1) && after.trade_count == Some(2)));
    let gone = rich_got.iter().find(|u| u.key() == "gone").expect("gone");
    assert!(
        matches!(gone, RichUpdate::Deleted { last_known: Some(t), .. } if t.trade_count == Some(1))
    );

    // Nothing else pending: the next event is a new change.
    send(&new, token("end", json!({}))).await;
    assert_eq!(next(&mut w).await.key(), "end");
    let keep_after = hs.get::<TokenEntity>("keep").await.expect("keep");
    assert_eq!(keep_before, keep_after);
}

#[tokio::test]
async fn gives_up_with_error_after_max_attempts() {
    let server = start().await;
    let proxy = Proxy::start(server.local_addr()).await;
    let hs = HyperStack::builder()
        .url(proxy.url())
        .reconnect_intervals(vec![Duration::from_millis(5), Duration::from_millis(10)])
        .max_reconnect_attempts(3)
        .connect()
        .await
        .unwrap();
    let mut w = hs.watch::<TokenEntity>();
    send(&server, token("a", json!({}))).await;
    next(&mut w).await;
    let mut states = hs.state_changes();
    proxy.block(true);
    proxy.cut();
    let mut attempts = Vec::new();
    let last = within("error state", async {
        loop {
            states.changed().await.expect("open");
            let s = states.borrow_and_update().clone();
            match s {
                ConnectionState::Reconnecting { attempt } => attempts.push(attempt),
                ConnectionState::Error => return s,
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(last, ConnectionState::Error);
    let why = hs.last_error().await.unwrap_or_default();
    assert!(why.contains("3 reconnect attempts"), "{why}");
    assert_eq!(hs.connection_state().await, last);
    assert!(attempts.iter().all(|a| (1..=3).contains(a)));
    assert!(
        within("stream end", w.next()).await.is_none(),
        "streams end"
    );
    assert!(matches!(
        hs.try_get::<TokenEntity>("a").await,
        Err(HyperStackError::Closed(m)) if m.contains("3 reconnect attempts")
    ));

    // Without auto-reconnect, a loss is final at once.
    let hs = HyperStack::builder()
        .url(proxy.url())
        .auto_reconnect(false)
        .connect()
        .await;
    assert!(hs.is_err(), "the proxy refuses while blocked");
    proxy.block(false);
    let hs = HyperStack::builder()
        .url(proxy.url())
        .auto_reconnect(false)
        .connect()
        .await
        .unwrap();
    let mut states = hs.state_changes();
    proxy.cut();
    wait_state(&mut states, "error", |s| {
        matches!(s, ConnectionState::Error)
    })
    .await;
    let why = hs.last_error().await.unwrap_or_default();
    assert!(why.starts_with("connection lost"), "{why}");
}

#[tokio::test]
async fn a_silent_peer_is_detected_by_pings_and_replaced() {
    let server = start().await;
    let proxy = Proxy::start(server.local_addr()).await;
    let ping = Duration::from_millis(200);
    let hs = client_via(&proxy, ping).await;
    let mut states = hs.state_changes();
    let mut w = hs.watch::<TokenEntity>();
    send(&server, token("p", json!({"trade_count": 1}))).await;
    next(&mut w).await;
    // Pings keep a quiet connection alive.
    let quiet = tokio::time::timeout(ping * 5, states.changed()).await;
    assert!(
        quiet.is_err(),
        "no state change while pongs arrive: {:?}",
        *states.borrow()
    );
    // Freeze the proxy: the socket stays open but nothing flows.
    proxy.freeze(true);
    let started = tokio::time::Instant::now();
    wait_state(&mut states, "dead peer detected", |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    let took = started.elapsed();
    assert!(
        took <= ping * 2 + Duration::from_millis(300),
        "detected in {took:?}"
    );
    proxy.cut();
    proxy.freeze(false);
    wait_state(&mut states, "reconnected", |s| {
        *s == ConnectionState::Connected
    })
    .await;
    send(&server, token("p", json!({"trade_count": 2}))).await;
    let u = next(&mut w).await;
    assert_eq!(u.data().and_then(|t| t.trade_count), Some(2));
}
