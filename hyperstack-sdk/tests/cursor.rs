//! The resume cursor (`seq` + epoch): committed only when a snapshot completes, cleared by a
//! `subscribed` that does not resume, so a connection lost in the middle of a re-snapshot and
//! a server restart under an append view lose nothing.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use hyperstack_sdk::prelude::*;
use pump_stack::TokenViews;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

/// What the test sends on a scripted connection.
enum Out {
    Frame(Value),
    /// A WebSocket close: the client sees the connection end after every frame before it.
    Close,
}

/// One client connection of the scripted server.
struct Conn {
    from_client: mpsc::UnboundedReceiver<Value>,
    to_client: mpsc::UnboundedSender<Out>,
}

impl Conn {
    async fn received(&mut self) -> Value {
        within("a client message", self.from_client.recv())
            .await
            .expect("client connected")
    }

    fn send(&self, v: Value) {
        self.to_client.send(Out::Frame(v)).expect("connection open");
    }

    fn close(self) {
        let _ = self.to_client.send(Out::Close);
    }
}

/// A WebSocket server whose every connection the test scripts, frame by frame.
struct Scripted {
    url: String,
    conns: mpsc::UnboundedReceiver<Conn>,
}

impl Scripted {
    async fn start() -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (conn_tx, conns) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    continue;
                };
                let (in_tx, from_client) = mpsc::unbounded_channel();
                let (to_client, mut out_rx) = mpsc::unbounded_channel::<Out>();
                if conn_tx
                    .send(Conn {
                        from_client,
                        to_client,
                    })
                    .is_err()
                {
                    return;
                }
                tokio::spawn(async move {
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
                                Some(Out::Frame(v)) => {
                                    if sink.send(Message::Text(v.to_string().into())).await.is_err() {
                                        return;
                                    }
                                }
                                Some(Out::Close) | None => {
                                    let _ = sink.send(Message::Close(None)).await;
                                    return;
                                }
                            },
                        }
                    }
                });
            }
        });
        Scripted { url, conns }
    }

    async fn accept(&mut self) -> Conn {
        within("a client connection", self.conns.recv())
            .await
            .expect("server running")
    }
}

fn summary(u: &Update<Value>) -> (String, &'static str, Option<Value>) {
    let kind = match u {
        Update::Upsert { .. } => "upsert",
        Update::Patch { .. } => "patch",
        Update::Delete { .. } => "delete",
    };
    (u.key().to_string(), kind, u.data().cloned())
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    within("an update", rx.recv()).await.expect("stream open")
}

fn list_frame(op: &str, key: &str, data: Value, seq: u64) -> Value {
    json!({"mode": "list", "entity": "Token/list", "op": op, "key": key, "data": data,
           "seq": seq.to_string()})
}

fn snapshot(rows: &[(&str, Value)], complete: bool, seq: u64) -> Value {
    let data: Vec<Value> = rows
        .iter()
        .map(|(k, d)| json!({"key": k, "data": d}))
        .collect();
    json!({"mode": "list", "entity": "Token/list", "op": "snapshot", "data": data,
           "complete": complete, "seq": seq.to_string()})
}

#[tokio::test]
async fn a_connection_lost_during_a_re_snapshot_does_not_resume_past_it() {
    let mut server = Scripted::start().await;
    let hs = HyperStack::builder()
        .url(&server.url)
        .reconnect_intervals(vec![Duration::from_millis(20)])
        .connect()
        .await
        .expect("connects");
    let mut w = hs.watch::<RawToken>();
    let (got_tx, mut got) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(u) = w.next().await {
            if got_tx.send(summary(&u)).is_err() {
                return;
            }
        }
    });

    // First connection: a snapshot at seq 10, then frame 11.
    let mut c1 = server.accept().await;
    let sub = c1.received().await;
    assert_eq!(sub["view"], "Token/list");
    assert!(sub.get("after").is_none(), "{sub}");
    c1.send(json!({"op": "subscribed", "view": "Token/list", "mode": "list", "resumed": false, "epoch": "e1"}));
    c1.send(snapshot(
        &[("a", json!({"n": 1})), ("b", json!({"n": 1}))],
        true,
        10,
    ));
    c1.send(list_frame("patch", "a", json!({"n": 2}), 11));
    assert_eq!(
        recv(&mut got).await,
        ("a".into(), "upsert", Some(json!({"n": 1})))
    );
    assert_eq!(
        recv(&mut got).await,
        ("b".into(), "upsert", Some(json!({"n": 1})))
    );
    assert_eq!(
        recv(&mut got).await,
        ("a".into(), "patch", Some(json!({"n": 2})))
    );
    c1.close();

    // Second connection: the client resumes after 11; the server's log no longer reaches
    // back there (frames 12..=50 happened meanwhile: `a` changed, `b` was deleted), so it
    // answers with a full snapshot at seq 50 — and the connection drops after its first batch.
    let mut c2 = server.accept().await;
    let sub = c2.received().await;
    assert_eq!((&sub["after"], &sub["epoch"]), (&json!("11"), &json!("e1")));
    c2.send(json!({"op": "subscribed", "view": "Token/list", "mode": "list", "resumed": false, "epoch": "e1"}));
    c2.send(snapshot(&[("a", json!({"n": 3}))], false, 50));
    c2.close();

    // Third connection. The client never applied the snapshot at 50: resuming after 50 would
    // skip it for good. This server honours any cursor its log covers, as a real one does.
    let mut c3 = server.accept().await;
    let sub = c3.received().await;
    let frame_51 = list_frame("patch", "a", json!({"m": 1}), 51);
    if sub.get("after").is_some() {
        c3.send(json!({"op": "subscribed", "view": "Token/list", "mode": "list", "resumed": true, "epoch": "e1"}));
        c3.send(frame_51);
    } else {
        c3.send(json!({"op": "subscribed", "view": "Token/list", "mode": "list", "resumed": false, "epoch": "e1"}));
        c3.send(snapshot(&[("a", json!({"n": 3, "m": 1}))], true, 51));
    }
    // A marker: everything before it has been applied when it arrives.
    c3.send(list_frame("upsert", "z", json!({}), 52));
    let mut changes = Vec::new();
    loop {
        let u = recv(&mut got).await;
        let done = u.0 == "z";
        changes.push(u);
        if done {
            break;
        }
    }
    assert_eq!(
        changes,
        vec![
            ("a".into(), "patch", Some(json!({"n": 3, "m": 1}))),
            ("b".into(), "delete", None),
            ("z".into(), "upsert", Some(json!({}))),
        ],
        "resumed with {sub}"
    );
    assert_eq!(
        hs.list::<RawToken>().await,
        vec![json!({"n": 3, "m": 1}), json!({})]
    );

    // The completed snapshot's cursor is the one resumed from next time.
    c3.close();
    let mut c4 = server.accept().await;
    let sub = c4.received().await;
    assert_eq!((&sub["after"], &sub["epoch"]), (&json!("52"), &json!("e1")));
}

async fn wait_connected(rx: &mut watch::Receiver<ConnectionState>) {
    within(
        "connected",
        rx.wait_for(|s| *s == ConnectionState::Connected),
    )
    .await
    .expect("state channel open");
}

#[tokio::test]
async fn an_append_view_delivers_every_frame_after_a_server_restart() {
    let old = start().await;
    let proxy = Proxy::start(old.local_addr()).await;
    let hs = HyperStack::builder()
        .url(proxy.url())
        .reconnect_intervals(vec![Duration::from_millis(20)])
        .max_reconnect_attempts(500)
        .connect()
        .await
        .expect("connects through the proxy");
    let mut states = hs.state_changes();
    let mut w = hs.views::<TokenViews>().append().watch();
    // The first poll subscribes; nothing is sent before the server counts the subscription.
    let first = tokio::spawn(async move {
        let u = next(&mut w).await;
        (w, u)
    });
    eventually("subscribed to the old server", || {
        subs(&old, "Token/append") == 1
    })
    .await;
    for n in 0..30u64 {
        send(&old, token("a", json!({"trade_count": n}))).await;
    }
    let (mut w, u) = first.await.expect("watcher");
    assert_eq!(u.data().and_then(|t| t.trade_count), Some(0));
    for n in 1..30u64 {
        let u = next(&mut w).await;
        assert_eq!(u.data().and_then(|t| t.trade_count), Some(n));
    }

    // Restart: a new server run behind the same address counts `seq` from 1 again.
    let new = start().await;
    proxy.set_upstream(new.local_addr());
    proxy.cut();
    old.shutdown(WAIT).await;
    wait_connected(&mut states).await;
    eventually("subscribed to the new server", || {
        subs(&new, "Token/append") == 1
    })
    .await;
    for n in 100..103u64 {
        send(&new, token("b", json!({"trade_count": n}))).await;
    }
    for n in 100..103u64 {
        let u = next(&mut w).await;
        assert_eq!(
            (u.key(), u.data().and_then(|t| t.trade_count)),
            ("b", Some(n)),
            "frame {} of the new run",
            n - 99
        );
    }
}
