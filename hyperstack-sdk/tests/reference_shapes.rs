//! The SDK against a server speaking in the reference server's frame shapes: uncompressed JSON
//! in binary frames, `subscribed` without epoch, no snapshot for an empty view, snapshot
//! frames without `seq`, `"slot:index"` string sequence numbers, and collections subscribed
//! without a key (the reference takes `"*"` as a literal key).

mod common;

use std::time::Duration;

use common::{next, within, RawToken};
use futures_util::{SinkExt, StreamExt};
use hyperstack_sdk::prelude::*;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A scripted server: forwards each client message to the test, sends what the test queues.
struct Scripted {
    url: String,
    from_client: mpsc::UnboundedReceiver<Value>,
    to_client: mpsc::UnboundedSender<Value>,
}

impl Scripted {
    async fn start() -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (in_tx, from_client) = mpsc::unbounded_channel();
        let (to_client, mut out_rx) = mpsc::unbounded_channel::<Value>();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let (mut sink, mut stream) = ws.split();
            loop {
                tokio::select! {
                    msg = stream.next() => match msg {
                        Some(Ok(Message::Text(t))) => {
                            let v: Value = serde_json::from_str(&t).unwrap();
                            if v["op"] != "ping" {
                                let _ = in_tx.send(v);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                    out = out_rx.recv() => match out {
                        // The reference sends uncompressed JSON in binary frames.
                        Some(v) => sink.send(Message::Binary(v.to_string().into_bytes().into())).await.unwrap(),
                        None => return,
                    },
                }
            }
        });
        Scripted {
            url,
            from_client,
            to_client,
        }
    }

    async fn received(&mut self) -> Value {
        within("a client message", self.from_client.recv())
            .await
            .expect("client connected")
    }

    fn send(&self, v: Value) {
        self.to_client.send(v).unwrap();
    }
}

async fn client(url: &str) -> HyperStack {
    HyperStack::builder()
        .url(url)
        .initial_data_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_empty_view_without_snapshot_loads_after_subscribed() {
    let mut server = Scripted::start().await;
    let hs = client(&server.url).await;
    let list = tokio::spawn({
        let hs = hs.clone();
        async move { hs.try_list::<RawToken>().await }
    });
    let sub = server.received().await;
    assert_eq!(sub["view"], "Token/list");
    assert!(
        sub.get("key").is_none(),
        "collections are subscribed without a key: {sub}"
    );
    server.send(json!({"op": "subscribed", "view": "Token/list", "mode": "list"}));
    // No snapshot follows: the view counts as loaded (empty) after the initial-data timeout.
    let rows = within("list", list).await.unwrap();
    assert_eq!(rows, Ok(vec![]));
}

#[tokio::test]
async fn a_view_never_answered_fails_with_a_timeout() {
    let mut server = Scripted::start().await;
    let hs = client(&server.url).await;
    let list = tokio::spawn({
        let hs = hs.clone();
        async move { hs.try_list::<RawToken>().await }
    });
    server.received().await;
    let result = within("list", list).await.unwrap();
    assert!(
        matches!(result, Err(HyperStackError::Timeout { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn string_seq_frames_are_applied_not_dropped() {
    let mut server = Scripted::start().await;
    let hs = client(&server.url).await;
    let mut w = hs.watch::<RawToken>();
    let poll = tokio::spawn(async move {
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(next(&mut w).await);
        }
        got
    });
    let sub = server.received().await;
    assert!(sub.get("key").is_none(), "{sub}");
    assert!(sub.get("after").is_none(), "nothing to resume yet");
    server.send(json!({"op": "subscribed", "view": "Token/list", "mode": "list"}));
    // A snapshot batch in the reference's shape: no seq.
    server.send(
        json!({"mode": "list", "entity": "Token/list", "op": "snapshot",
        "data": [{"key": "a", "data": {"name": "A", "trades": [1]}}], "complete": true}),
    );
    server.send(
        json!({"mode": "list", "entity": "Token/list", "op": "upsert", "key": "b",
        "data": {"name": "B"}, "seq": "300:0"}),
    );
    server.send(
        json!({"mode": "list", "entity": "Token/list", "op": "patch", "key": "a",
        "data": {"trades": [2]}, "append": ["trades"], "seq": "300:1"}),
    );
    server.send(
        json!({"mode": "list", "entity": "Token/list", "op": "delete", "key": "b",
        "data": null, "seq": "301:0"}),
    );
    let got = within("updates", poll).await.unwrap();
    let summary: Vec<(String, &str, Option<Value>)> = got
        .iter()
        .map(|u| {
            let kind = match u {
                Update::Upsert { .. } => "upsert",
                Update::Patch { .. } => "patch",
                Update::Delete { .. } => "delete",
            };
            (u.key().to_string(), kind, u.data().cloned())
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "a".into(),
                "upsert",
                Some(json!({"name": "A", "trades": [1]}))
            ),
            ("b".into(), "upsert", Some(json!({"name": "B"}))),
            (
                "a".into(),
                "patch",
                Some(json!({"name": "A", "trades": [1, 2]}))
            ),
            ("b".into(), "delete", None),
        ]
    );
}
