//! Append views with deltas (the SDK's default) against full upserts (`append_deltas(false)`):
//! the same merged entities and the same stream of updates, across appends beyond the cap, a
//! delete, and a reconnect that resumes with `after` over frames missed meanwhile.

mod common;

use std::time::Duration;

use common::*;
use hyperstack_sdk::{HyperStack, RichUpdate, ViewContext, Views};
use hyperstack_server::Mutation;
use serde_json::{json, Value};

/// Raw JSON views of the Token entity (any view by name).
struct RawViews(ViewContext);

impl Views for RawViews {
    type Entity = RawToken;
    fn from_context(ctx: ViewContext) -> Self {
        RawViews(ctx)
    }
}

/// Trade `n` of `key`: two items appended to `last_trades` (cap 20), counters changed.
fn trade(key: &str, n: u64) -> Mutation {
    token(
        key,
        json!({"last_trades": [{"n": n, "user": format!("u{n}")}, {"n": n, "side": "sell"}],
               "trade_count": n, "virtual_sol_reserves": 30_000 + n, "name": key}),
    )
    .with_append(&["last_trades"])
    .with_seq(format!("{}:0", 500 + n))
}

#[tokio::test]
async fn deltas_merge_into_the_same_entities_and_updates_as_full_upserts() {
    let server = start().await;
    let proxy = Proxy::start(server.local_addr()).await;
    let deltas = HyperStack::builder()
        .url(proxy.url())
        .reconnect_intervals(vec![Duration::from_millis(20)])
        .connect()
        .await
        .expect("connects through the proxy");
    let full = HyperStack::builder()
        .url(url(server.local_addr()))
        .append_deltas(false)
        .connect()
        .await
        .expect("connects");
    let mut states = deltas.state_changes();
    let mut wd = deltas
        .views::<RawViews>()
        .0
        .list_view::<RawToken>("Token/append")
        .watch_rich();
    let mut wf = full
        .views::<RawViews>()
        .0
        .list_view::<RawToken>("Token/append")
        .watch_rich();
    // The first poll subscribes.
    let (d, f) = (
        tokio::spawn(async move {
            let u = next(&mut wd).await;
            (wd, u)
        }),
        tokio::spawn(async move {
            let u = next(&mut wf).await;
            (wf, u)
        }),
    );
    eventually("both subscribed", || subs(&server, "Token/append") == 2).await;

    let mut n = 0;
    let mut sent = 0;
    for _ in 0..12 {
        for key in ["a", "b", "c"] {
            n += 1;
            send(&server, trade(key, n)).await;
            sent += 1;
        }
    }
    send(&server, Mutation::delete("Token", "b")).await;
    n += 1;
    send(&server, trade("b", n)).await;
    sent += 2;
    let ((mut wd, first_d), (mut wf, first_f)) = (d.await.unwrap(), f.await.unwrap());
    let (mut seen_d, mut seen_f) = (vec![first_d], vec![first_f]);
    for _ in 1..sent {
        seen_d.push(next(&mut wd).await);
        seen_f.push(next(&mut wf).await);
    }

    // The delta client's connection drops; frames are published while it is away.
    proxy.block(true);
    proxy.cut();
    within(
        "the loss is noticed",
        states.wait_for(|s| *s != hyperstack_sdk::ConnectionState::Connected),
    )
    .await
    .expect("state channel open");
    eventually("the old subscription is gone", || {
        subs(&server, "Token/append") == 1
    })
    .await;
    for key in ["a", "c", "a", "d"] {
        n += 1;
        send(&server, trade(key, n)).await;
        seen_f.push(next(&mut wf).await);
    }
    proxy.block(false);
    within(
        "reconnected",
        states.wait_for(|s| *s == hyperstack_sdk::ConnectionState::Connected),
    )
    .await
    .expect("state channel open");
    for _ in 0..4 {
        seen_d.push(next(&mut wd).await);
    }
    for key in ["b", "c", "a"] {
        n += 1;
        send(&server, trade(key, n)).await;
        seen_d.push(next(&mut wd).await);
        seen_f.push(next(&mut wf).await);
    }

    assert_eq!(seen_d.len(), seen_f.len());
    for (i, (d, f)) in seen_d.iter().zip(&seen_f).enumerate() {
        assert_eq!(d, f, "update {i}");
    }
    let last: Vec<Value> = deltas
        .views::<RawViews>()
        .0
        .list_view::<RawToken>("Token/append")
        .get()
        .await;
    let last_full: Vec<Value> = full
        .views::<RawViews>()
        .0
        .list_view::<RawToken>("Token/append")
        .get()
        .await;
    assert_eq!(last, last_full, "the same merged entities");
    let a = last.iter().find(|v| v["name"] == "a").expect("a is held");
    assert_eq!(a["last_trades"].as_array().map(Vec::len), Some(20));
    assert!(
        matches!(seen_d.last(), Some(RichUpdate::Updated { patch: None, .. })),
        "an append view's change is an update of the whole entity: {:?}",
        seen_d.last()
    );
    // Deltas were used (and each key's first frame of a subscription went whole).
    let (delta_frames, full_frames, _) = server.metrics().delta_counts();
    assert!(delta_frames > 35, "{delta_frames} deltas");
    assert!(full_frames >= 8, "{full_frames} full frames");
}
