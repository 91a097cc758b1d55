//! Append views with `"delta":true` over real connections: a client that asked for deltas and
//! one that did not, over the same appends (beyond the cap, a delete, a resume with `after`,
//! a bound of remembered keys smaller than the keys in play), hold identical entities.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::text::pubkey;
use common::*;
use hyperstack_server::spec::wire::{self, AppendCaps};
use hyperstack_server::{EntityCacheConfig, Mutation, WebSocketConfig};
use serde_json::{json, Map, Value};

/// What a client holds of the append view, and how much came over the wire.
#[derive(Default)]
struct Held {
    rows: BTreeMap<String, Map<String, Value>>,
    caps: AppendCaps,
    /// Frames received by op.
    ops: BTreeMap<String, usize>,
    bytes: usize,
    last_seq: u64,
}

impl Held {
    /// Takes the caps announced in a `subscribed` frame.
    fn subscribed(&mut self, sub: &Value) {
        let default = sub["append_default_cap"].as_u64().expect("announced") as usize;
        let mut caps = AppendCaps::new(default);
        for (path, cap) in sub["append_caps"].as_object().expect("announced") {
            caps.set(path.clone(), cap.as_u64().expect("a number") as usize);
        }
        self.caps = caps;
    }

    /// Applies a frame as docs/PROTOCOL.md says.
    fn apply(&mut self, f: &Received) {
        let frame = &f.json;
        let op = frame["op"].as_str().expect("an op").to_string();
        let key = frame["key"].as_str().expect("a key").to_string();
        let seq: u64 = frame["seq"]
            .as_str()
            .expect("a seq")
            .parse()
            .expect("numeric");
        assert!(seq > self.last_seq, "seq {seq} after {}", self.last_seq);
        self.last_seq = seq;
        self.bytes += f.wire_len;
        *self.ops.entry(op.clone()).or_default() += 1;
        match op.as_str() {
            "upsert" => {
                self.rows.insert(key, object(&frame["data"]));
            }
            "patch" => {
                let append: Vec<&str> = frame["append"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let row = self
                    .rows
                    .get_mut(&key)
                    .unwrap_or_else(|| panic!("a patch of {key}, which was never sent whole"));
                wire::merge(row, &object(&frame["data"]), &append, &self.caps);
            }
            "delete" => {
                self.rows.remove(&key);
            }
            other => panic!("unexpected frame {other}: {frame}"),
        }
    }
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// Subscribes to `Token/append` (with `extra` fields) and returns the `subscribed` frame.
async fn subscribe(c: &mut Client, extra: Value) -> Value {
    let mut msg = json!({"view": "Token/append"});
    for (k, v) in object(&extra) {
        msg[k] = v;
    }
    c.send(msg).await;
    let sub = c.next_json().await;
    assert_eq!(sub["op"], "subscribed", "{sub}");
    sub
}

/// Trade `n` of token `key`: two trades appended (a large entity: its full frames are
/// gzip'd), reserves and counters changed.
fn trade(key: &str, n: u64) -> Mutation {
    let trades: Vec<Value> = (0..2)
        .map(|t| {
            json!({"mint": pubkey(key.len() as u64 + u64::from(key.as_bytes()[0])),
                   "user": pubkey(n * 2 + t), "signature": format!("{}{}", pubkey(n + 7), pubkey(t + 9)),
                   "sol_amount": 1_000_000 + n * 10 + t, "is_buy": t == 0})
        })
        .collect();
    token(
        key,
        json!({"last_trades": trades, "trade_count": n, "virtual_sol_reserves": 30_000 + n,
               "token_total_supply": n, "name": format!("Token {key}")}),
    )
    .with_append(&["last_trades"])
    .with_seq(format!("{}:0", 1_000 + n))
}

/// Reads one frame on each client (the same `seq`) and applies it.
async fn step(clients: &mut [(&mut Client, &mut Held)]) {
    let mut seqs = Vec::new();
    for (c, held) in clients.iter_mut() {
        let f = c.next().await;
        held.apply(&f);
        seqs.push(held.last_seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] == w[1]), "one seq: {seqs:?}");
}

#[tokio::test]
async fn delta_and_full_clients_hold_the_same_entities_through_a_resume() {
    let server = start_default().await;
    let tx = server.mutations();
    let (mut a, mut b) = (
        Client::connect(server.local_addr()).await,
        Client::connect(server.local_addr()).await,
    );
    let (mut delta, mut full) = (Held::default(), Held::default());
    let sub = subscribe(&mut a, json!({"delta": true, "id": 1})).await;
    assert_eq!(
        (sub["delta"].clone(), sub["id"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(sub["append_caps"], json!({"last_trades": 20}));
    delta.subscribed(&sub);
    let sub = subscribe(&mut b, json!({})).await;
    assert!(sub.get("delta").is_none(), "not asked, not answered: {sub}");
    full.subscribed(&sub);

    // Three tokens, 12 trades each: 24 items appended per token, beyond the cap of 20.
    let mut n = 0;
    for round in 0..12 {
        for key in ["a", "b", "c"] {
            n += 1;
            tx.send(trade(key, n)).await.unwrap();
            step(&mut [(&mut a, &mut delta), (&mut b, &mut full)]).await;
            assert_eq!(delta.rows, full.rows, "round {round} key {key}");
        }
    }
    assert_eq!(full.rows["a"]["last_trades"].as_array().unwrap().len(), 20);
    assert_eq!(delta.ops.get("upsert"), Some(&3), "one full frame per key");
    assert_eq!(delta.ops.get("patch"), Some(&33));
    assert_eq!(full.ops.get("upsert"), Some(&36));
    // A delete, and the key's return: whole again.
    tx.send(Mutation::delete("Token", "b")).await.unwrap();
    step(&mut [(&mut a, &mut delta), (&mut b, &mut full)]).await;
    n += 1;
    tx.send(trade("b", n)).await.unwrap();
    step(&mut [(&mut a, &mut delta), (&mut b, &mut full)]).await;
    assert_eq!(delta.rows, full.rows);
    assert_eq!(delta.ops.get("upsert"), Some(&4), "b came back whole");

    // The delta client goes away; frames it misses (b reads them) include new appends.
    let (cursor, epoch) = (delta.last_seq, sub["epoch"].clone());
    drop(a);
    // Until the bus lets the closed connection go, frames offered to it are still counted:
    // wait for the connection to end, then for a later command (a new subscription) to pass
    // the bus, which handles commands in order, the closed client's `Disconnect` first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.metrics().clients() > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed client is let go"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut barrier = Client::connect(server.local_addr()).await;
    barrier.subscribe_and_snapshot("Token/list").await;
    for key in ["a", "c", "a", "d", "a"] {
        n += 1;
        tx.send(trade(key, n)).await.unwrap();
        let f = b.next().await;
        full.apply(&f);
    }
    let mut a = Client::connect(server.local_addr()).await;
    let sub = subscribe(
        &mut a,
        json!({"delta": true, "after": cursor.to_string(), "epoch": epoch}),
    )
    .await;
    assert_eq!(
        (sub["resumed"].clone(), sub["delta"].clone()),
        (json!(true), json!(true))
    );
    let mut resumed = Vec::new();
    for _ in 0..5 {
        let f = a.next().await;
        resumed.push(format!(
            "{} {}",
            f.json["op"].as_str().unwrap(),
            f.json["key"].as_str().unwrap()
        ));
        delta.apply(&f);
    }
    assert_eq!(
        resumed,
        ["upsert a", "upsert c", "patch a", "upsert d", "patch a"],
        "a new subscription holds nothing it was sent: each key's first frame is whole"
    );
    assert_eq!(delta.rows, full.rows, "after the resume");
    // Live again, both ways.
    for key in ["c", "d", "b"] {
        n += 1;
        tx.send(trade(key, n)).await.unwrap();
        step(&mut [(&mut a, &mut delta), (&mut b, &mut full)]).await;
    }
    assert_eq!(delta.rows, full.rows);
    println!(
        "bytes received: delta client {}, full client {}",
        delta.bytes, full.bytes
    );
    assert!(
        delta.bytes < full.bytes,
        "{} vs {}",
        delta.bytes,
        full.bytes
    );
    // Counted: patches as deltas, upserts and the delete as full frames.
    let (deltas, fulls, _) = server.metrics().delta_counts();
    assert_eq!(
        (deltas, fulls),
        (
            delta.ops["patch"] as u64,
            (delta.ops["upsert"] + delta.ops["delete"]) as u64
        )
    );
}

#[tokio::test]
async fn beyond_its_bound_of_keys_a_delta_subscription_gets_full_upserts() {
    let ws = WebSocketConfig {
        delta_keys_per_subscription: 2,
        ..WebSocketConfig::default()
    };
    let server = start(EntityCacheConfig::default(), ws).await;
    let tx = server.mutations();
    let (mut a, mut b) = (
        Client::connect(server.local_addr()).await,
        Client::connect(server.local_addr()).await,
    );
    let (mut delta, mut full) = (Held::default(), Held::default());
    delta.subscribed(&subscribe(&mut a, json!({"delta": true})).await);
    full.subscribed(&subscribe(&mut b, json!({"delta": false})).await);
    let mut n = 0;
    // Five keys in turn: each one was forgotten by the time it comes back.
    for _ in 0..4 {
        for key in ["k1", "k2", "k3", "k4", "k5"] {
            n += 1;
            tx.send(trade(key, n)).await.unwrap();
            step(&mut [(&mut a, &mut delta), (&mut b, &mut full)]).await;
        }
    }
    assert_eq!(delta.ops.get("patch"), None, "every frame whole");
    // Two keys in turn: both remembered.
    for _ in 0..5 {
        for key in ["k1", "k2"] {
            n += 1;
            tx.send(trade(key, n)).await.unwrap();
            step(&mut [(&mut a, &mut delta), (&mut b, &mut full)]).await;
        }
    }
    assert_eq!(
        delta.rows, full.rows,
        "the bound changed bytes, not entities"
    );
    assert_eq!(delta.ops.get("patch"), Some(&8));
    let (_, _, evicted) = server.metrics().delta_counts();
    assert_eq!(
        evicted,
        18 + 2,
        "each return past the bound, then k4 and k5 make room"
    );
    let metrics = server.metrics().render_prometheus();
    assert!(
        metrics.contains("hyperstack_append_delta_keys_evicted_total 20"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_delta_option_is_checked_and_echoed() {
    let server = start_default().await;
    let mut c = Client::connect(server.local_addr()).await;
    c.send(json!({"view": "Token/append", "delta": "yes", "id": 4}))
        .await;
    let err = c.next_json().await;
    assert_eq!(
        (err["op"].clone(), err["code"].clone(), err["id"].clone()),
        (json!("error"), json!("malformed_message"), json!(4)),
        "{err}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("`delta`"),
        "{err}"
    );
    // Other views send patches anyway: deltas do not apply, and the reply says so.
    c.send(json!({"view": "Token/list", "delta": true})).await;
    let sub = c.next_json().await;
    assert_eq!(
        (sub["op"].clone(), sub["delta"].clone()),
        (json!("subscribed"), json!(false))
    );
    c.read_snapshot().await;
    let sub = subscribe(&mut c, json!({"delta": false})).await;
    assert_eq!(sub["delta"], json!(false));
}
