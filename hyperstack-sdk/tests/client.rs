//! The client API against the real server: get, list, watch*, views, operators, merge rules,
//! lazy subscriptions shared per view and released on drop, gzip frames.

mod common;

use common::*;
use hyperstack_sdk::prelude::*;
use hyperstack_sdk::ViewContext;
use hyperstack_server::Mutation;
use pump_stack::{Token, TokenEntity, TokenViews};
use serde_json::json;

#[tokio::test]
async fn get_and_list_wait_for_the_snapshot_and_release_it() {
    let server = start().await;
    for i in 0..120u64 {
        send(
            &server,
            token(
                &format!("k{i:03}"),
                json!({"trade_count": i, "name": format!("T{i}")}),
            ),
        )
        .await;
    }
    // u64 beyond 2^53 travels as a string and is accepted.
    send(
        &server,
        token("big", json!({"volume_sol": "18446744073709551615"})),
    )
    .await;
    let hs = connect(&server).await;
    assert_eq!(hs.connection_state().await, ConnectionState::Connected);

    let all = hs.list::<TokenEntity>().await;
    assert_eq!(
        all.len(),
        121,
        "snapshot batches of 50 + 100 are all buffered"
    );
    assert_eq!(all[0].name.as_deref(), None, "key order: `big` first");
    assert_eq!(all[0].volume_sol, Some(u64::MAX));
    assert_eq!(all[1].trade_count, Some(0));

    let one = hs.get::<TokenEntity>("k007").await.expect("exists");
    assert_eq!(one.name.as_deref(), Some("T7"));
    assert_eq!(hs.get::<TokenEntity>("missing").await, None);
    assert_eq!(hs.try_get::<TokenEntity>("missing").await, Ok(None));

    // One-shot reads leave no subscription behind.
    eventually("list released", || subs(&server, "Token/list") == 0).await;
    eventually("state released", || subs(&server, "Token/state") == 0).await;
}

#[tokio::test]
async fn watch_yields_snapshot_then_upserts_patches_deletes() {
    let server = start().await;
    send(&server, token("a", json!({"name": "A"}))).await;
    let hs = connect(&server).await;
    let mut w = hs.watch::<TokenEntity>();
    let first = next(&mut w).await;
    assert!(
        matches!(&first, Update::Upsert { key, data } if key == "a" && data.name.as_deref() == Some("A"))
    );

    send(&server, token("b", json!({"name": "B", "trade_count": 1}))).await;
    send(&server, token("b", json!({"trade_count": 2}))).await;
    send(&server, Mutation::delete("Token", "a")).await;
    let u = next(&mut w).await;
    assert!(matches!(&u, Update::Upsert { key, .. } if key == "b"));
    let u = next(&mut w).await;
    assert_eq!(u.key(), "b");
    assert!(!u.is_delete() && u.has_data());
    let data = u.data().cloned().expect("patch has data");
    assert_eq!(
        (data.name.as_deref(), data.trade_count),
        (Some("B"), Some(2)),
        "patch data is the merged entity"
    );
    assert!(matches!(u, Update::Patch { .. }));
    let d = next(&mut w).await;
    assert!(d.is_delete() && !d.has_data());
    assert_eq!(d.clone().into_data(), None);
    assert_eq!(d.into_key(), "a");

    let mapped = Update::Patch {
        key: "k".to_string(),
        data: Token::default(),
    }
    .map(|t| t.name.is_none());
    assert_eq!(mapped.into_data(), Some(true));
}

#[tokio::test]
async fn watch_key_and_watch_keys_follow_only_their_keys() {
    let server = start().await;
    send(&server, token("x", json!({"trade_count": 0}))).await;
    let hs = connect(&server).await;
    let mut one = hs.watch_key::<TokenEntity>("x");
    let mut two = hs.watch_keys::<TokenEntity>(&["x", "y"]);
    assert_eq!(next(&mut one).await.key(), "x");
    assert_eq!(next(&mut two).await.key(), "x");
    // `y` is loaded (so live on the server) before it changes: a change committed while its
    // snapshot is still on the way could arrive after later changes of `x`.
    assert!(hs.get::<TokenEntity>("y").await.is_none());
    for (k, n) in [("z", 1), ("y", 2), ("x", 3), ("z", 4)] {
        send(&server, token(k, json!({"trade_count": n}))).await;
    }
    let u = next(&mut one).await;
    assert_eq!(
        (u.key(), u.data().and_then(|t| t.trade_count)),
        ("x", Some(3))
    );
    let got: Vec<(String, Option<u64>)> = vec![next(&mut two).await, next(&mut two).await]
        .into_iter()
        .map(|u| (u.key().to_string(), u.data().and_then(|t| t.trade_count)))
        .collect();
    assert_eq!(
        got,
        vec![("y".to_string(), Some(2)), ("x".to_string(), Some(3))]
    );
    assert_eq!(
        subs(&server, "Token/state"),
        2,
        "x and y: the two streams share the subscription of x"
    );
}

#[tokio::test]
async fn rich_updates_carry_before_after_and_patch() {
    let server = start().await;
    let hs = connect(&server).await;
    let mut all = hs.watch_rich::<TokenEntity>();
    let mut key = hs.watch_key_rich::<TokenEntity>("r");
    send(&server, token("r", json!({"name": "R", "trade_count": 1}))).await;
    let c = next(&mut all).await;
    assert!(
        matches!(&c, RichUpdate::Created { key, data } if key == "r" && data.trade_count == Some(1))
    );
    assert!(!c.has_patch_field("name"));
    assert!(matches!(next(&mut key).await, RichUpdate::Created { .. }));

    send(
        &server,
        token("r", json!({"trade_count": 5, "volume_sol": 7})),
    )
    .await;
    for u in [next(&mut all).await, next(&mut key).await] {
        match &u {
            RichUpdate::Updated {
                key,
                before,
                after,
                patch,
            } => {
                assert_eq!(key, "r");
                assert_eq!(before.trade_count, Some(1));
                assert_eq!(after.trade_count, Some(5));
                assert_eq!(after.name.as_deref(), Some("R"));
                assert_eq!(patch.as_ref().expect("came as a patch")["trade_count"], 5);
            }
            other => panic!("expected Updated, got {other:?}"),
        }
        assert!(u.has_patch_field("trade_count") && u.has_patch_field("volume_sol"));
        assert!(!u.has_patch_field("name"));
        assert!(!u.has_patch_field("trade_count.x"));
    }
    send(&server, Mutation::delete("Token", "r")).await;
    let d = next(&mut all).await;
    assert!(
        matches!(&d, RichUpdate::Deleted { key, last_known: Some(t) } if key == "r" && t.trade_count == Some(5))
    );
}

#[tokio::test]
async fn operators_chain_three_deep_on_every_stream_type() {
    let server = start().await;
    send(&server, token("seed", json!({"trade_count": 0}))).await;
    let hs = connect(&server).await;
    // Start both subscriptions (streams are lazy) before the changes under test.
    let mut plain = hs.watch::<TokenEntity>();
    let mut rich = hs.watch_rich::<TokenEntity>();
    assert_eq!(next(&mut plain).await.key(), "seed");
    assert_eq!(next(&mut rich).await.key(), "seed");
    let mut evens = plain
        .filter(|u| u.has_data())
        .filter_map(|u| u.into_data().and_then(|t| t.trade_count))
        .filter(|n| n.is_multiple_of(2))
        .map(|n| n * 10);
    let mut rich = rich
        .filter(|u| u.has_patch_field("trade_count"))
        .map(|u| u.key().to_string())
        .filter_map(|k| k.strip_prefix("op").map(str::to_string));
    send(&server, token("op1", json!({"name": "first"}))).await;
    for n in 1..=6u64 {
        send(&server, token("op1", json!({"trade_count": n}))).await;
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut evens).await);
    }
    assert_eq!(got, vec![20, 40, 60]);
    assert_eq!(next(&mut rich).await, "1");
    // Views' streams have the operators too.
    let views = hs.views::<TokenViews>();
    let mut names = views
        .list()
        .watch()
        .filter_map(|u| u.into_data())
        .map(|t| t.name)
        .filter(|n| n.is_some());
    assert_eq!(next(&mut names).await.as_deref(), Some("first"));
}

#[tokio::test]
async fn views_api_reads_and_watches_generated_accessors() {
    let server = start().await;
    for (k, slot, vol, complete) in [
        ("t1", 10, 5, false),
        ("t2", 30, 50, false),
        ("t3", 20, 500, true),
    ] {
        send(
            &server,
            token(
                k,
                json!({"created_slot": slot, "volume_sol": vol, "complete": complete}),
            ),
        )
        .await;
    }
    let hs = connect(&server).await;
    let views = hs.views::<TokenViews>();
    let trending: Vec<Option<u64>> = views
        .trending()
        .get()
        .await
        .iter()
        .map(|t| t.volume_sol)
        .collect();
    assert_eq!(
        trending,
        vec![Some(500), Some(50), Some(5)],
        "view order (volume desc)"
    );
    let latest: Vec<Option<u64>> = views
        .latest()
        .get()
        .await
        .iter()
        .map(|t| t.created_slot)
        .collect();
    assert_eq!(
        latest,
        vec![Some(30), Some(10)],
        "filtered (complete == false), slot desc"
    );
    assert_eq!(views.list().get().await.len(), 3);
    assert_eq!(views.list().try_get().await.map(|l| l.len()), Ok(3));
    let t2 = views.state().get("t2").await.expect("t2");
    assert_eq!(t2.created_slot, Some(30));

    let mut latest_w = views.latest().watch();
    let mut state_w = views.state().try_watch("t1").expect("bound");
    assert_eq!(next(&mut state_w).await.key(), "t1");
    let mut seen = vec![
        next(&mut latest_w).await.into_key(),
        next(&mut latest_w).await.into_key(),
    ];
    seen.sort();
    assert_eq!(seen, vec!["t1", "t2"]);
    // t1 completes: it leaves `latest` (delete there) and patches its state view.
    send(&server, token("t1", json!({"complete": true}))).await;
    let left = next(&mut latest_w).await;
    assert!(left.is_delete() && left.key() == "t1");
    let patched = next(&mut state_w).await;
    assert_eq!(patched.data().and_then(|t| t.complete), Some(true));
}

#[tokio::test]
async fn detached_views_fail_clearly() {
    let views = <TokenViews as Views>::from_context(ViewContext::detached());
    assert_eq!(views.list().name(), "Token/list");
    let err = views.list().try_get().await.unwrap_err();
    assert!(
        matches!(err, HyperStackError::Detached(ref v) if v == "Token/list"),
        "{err}"
    );
    assert!(views.list().get().await.is_empty());
    assert!(views.state().try_get("k").await.is_err());
    assert_eq!(views.state().get("k").await, None);
    assert!(views.trending().try_watch().is_err());
    assert!(views.state().try_watch("k").is_err());
    // The infallible watch of a detached handle is a stream that ends at once.
    assert!(views.trending().watch().next().await.is_none());
}

#[tokio::test]
async fn patches_merge_nested_append_and_null_versus_absent() {
    let server = start().await;
    let hs = connect(&server).await;
    let mut w = hs.watch_key::<RawToken>("m");
    let mut typed = hs.watch_key::<TokenEntity>("m");
    send(
        &server,
        token(
            "m",
            json!({"name": "M", "symbol": "S", "meta": {"a": 1, "inner": {"x": 1, "y": 2}},
                   "history": [{"n": 1}], "tags": [1, 2]}),
        ),
    )
    .await;
    next(&mut w).await;
    next(&mut typed).await;
    send(
        &server,
        token(
            "m",
            json!({"meta": {"inner": {"y": 3}}, "history": [{"n": 2}], "tags": [9], "name": null}),
        )
        .with_append(&["history"]),
    )
    .await;
    let merged = next(&mut w).await.into_data().unwrap();
    let mut expected = json!({
        "name": null, "symbol": "S",
        "meta": {"a": 1, "inner": {"x": 1, "y": 3}},
        "history": [{"n": 1}, {"n": 2}], "tags": [9]
    });
    if let Some(seq) = merged.get("_seq") {
        expected["_seq"] = seq.clone();
    }
    assert_eq!(
        merged, expected,
        "nested merge, append extends, arrays replace, null kept"
    );
    let t = next(&mut typed).await.into_data().unwrap();
    assert_eq!(t.name, None, "explicit null clears");
    assert_eq!(
        t.symbol.as_deref(),
        Some("S"),
        "absent leaves the old value"
    );
}

#[tokio::test]
async fn streams_are_lazy_shared_and_unsubscribe_when_the_last_is_dropped() {
    let server = start().await;
    send(&server, token("s", json!({"name": "S"}))).await;
    let hs = connect(&server).await;
    let mut w1 = hs.watch::<TokenEntity>();
    let mut w2 = hs.watch::<TokenEntity>();
    // A round trip through the server: had the streams subscribed, it would be counted now.
    assert!(hs.get::<TokenEntity>("s").await.is_some());
    assert_eq!(
        subs(&server, "Token/list"),
        0,
        "nothing subscribed before the first poll"
    );

    assert_eq!(next(&mut w1).await.key(), "s");
    assert_eq!(subs(&server, "Token/list"), 1);
    assert_eq!(
        next(&mut w2).await.key(),
        "s",
        "a late stream gets the held entities"
    );
    send(&server, token("s", json!({"trade_count": 1}))).await;
    assert!(matches!(next(&mut w1).await, Update::Patch { .. }));
    assert!(matches!(next(&mut w2).await, Update::Patch { .. }));
    assert_eq!(subs(&server, "Token/list"), 1, "one subscription shared");

    drop(w1);
    send(&server, token("s", json!({"trade_count": 2}))).await;
    assert!(matches!(next(&mut w2).await, Update::Patch { .. }));
    assert_eq!(subs(&server, "Token/list"), 1, "still used by w2");
    drop(w2);
    eventually("unsubscribed", || subs(&server, "Token/list") == 0).await;

    // Subscribing again starts afresh from a snapshot.
    let mut w3 = hs.watch::<TokenEntity>();
    let u = next(&mut w3).await;
    assert_eq!(u.data().and_then(|t| t.trade_count), Some(2));
}

#[tokio::test]
async fn gzip_binary_frames_are_decompressed() {
    let server = start().await;
    let hs = connect(&server).await;
    let mut w = hs.watch::<TokenEntity>();
    let long: String = (0..5000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    send(&server, token("big", json!({"name": long}))).await;
    let u = next(&mut w).await;
    assert_eq!(
        u.data().and_then(|t| t.name.as_ref()).map(String::len),
        Some(5000)
    );
    let listed = hs.list::<TokenEntity>().await;
    assert_eq!(
        listed[0].name.as_ref().map(String::len),
        Some(5000),
        "gzip snapshot too"
    );
}

#[tokio::test]
async fn disconnect_ends_streams_and_fails_later_calls() {
    let server = start().await;
    let hs = connect(&server).await;
    let mut w = hs.watch::<TokenEntity>();
    send(&server, token("d", json!({}))).await;
    next(&mut w).await;
    hs.disconnect().await;
    assert_eq!(hs.connection_state().await, ConnectionState::Disconnected);
    assert!(within("stream end", w.next()).await.is_none());
    assert!(matches!(
        hs.try_list::<TokenEntity>().await,
        Err(HyperStackError::Closed(_))
    ));
    assert!(HyperStack::connect("http://nope").await.is_err());
}
