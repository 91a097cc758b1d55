//! A sorted derived view reads the same on both ends: the SDK's `ListView::get()` of the pump
//! stack's `Token/trending` (volume_sol desc, limit 50) equals the server's own snapshot of the
//! view, read with a raw WebSocket — with integers beyond 2^53 sent as strings, equal values
//! in different representations, floats, nulls and missing values among the rows. Also after
//! live changes have moved rows in and out of the window; and append fields stay within the
//! caps the server announced.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use hyperstack_sdk::prelude::*;
use hyperstack_sdk::ViewContext;
use hyperstack_server::RunningServer;
use pump_stack::TokenEntity;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Raw-JSON handles of the Token views.
struct RawViews(ViewContext);

impl Views for RawViews {
    type Entity = RawToken;

    fn from_context(ctx: ViewContext) -> Self {
        RawViews(ctx)
    }
}

const TWO_53: u64 = 1 << 53;

/// The value of `volume_sol` of entity `i`: every kind the view order distinguishes.
fn volume(i: u64) -> Option<Value> {
    Some(match i % 7 {
        0 => json!((u64::MAX - i).to_string()),
        1 => json!(TWO_53 - i),
        2 => json!((TWO_53 + i).to_string()),
        3 => Value::Null,
        4 => return None,
        5 => json!(i as f64 + 0.5),
        _ => json!(TWO_53 as f64 + 2.0 * i as f64),
    })
}

/// The server's snapshot of a view, as rows of data, read over a plain WebSocket.
async fn server_snapshot(server: &RunningServer, view: &str) -> Vec<Value> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url(server.local_addr()))
        .await
        .expect("raw connection");
    ws.send(Message::Text(json!({"view": view}).to_string().into()))
        .await
        .expect("subscribe");
    let mut rows = Vec::new();
    loop {
        let msg = within("a snapshot frame", ws.next())
            .await
            .expect("open")
            .expect("frame");
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => {
                let mut out = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&b[..]), &mut out)
                    .expect("gzip");
                out
            }
            _ => continue,
        };
        let frame: Value = serde_json::from_str(&text).expect("JSON");
        if frame["op"] != "snapshot" {
            continue;
        }
        for row in frame["data"].as_array().expect("rows") {
            rows.push(row["data"].clone());
        }
        if frame["complete"] == true {
            return rows;
        }
    }
}

fn names(rows: &[Value]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["name"].as_str().unwrap_or("?"))
        .collect()
}

#[tokio::test]
async fn sorted_view_reads_identically_on_both_ends() {
    let server = start().await;
    for i in 0..56u64 {
        let mut data = json!({"name": format!("k{i:02}")});
        if let Some(v) = volume(i) {
            data["volume_sol"] = v;
        }
        send(&server, token(&format!("k{i:02}"), data)).await;
    }
    // Equal values in three representations: ties broken by key.
    for (key, v) in [
        ("t1", json!(TWO_53)),
        ("t2", json!(TWO_53.to_string())),
        ("t3", json!(TWO_53 as f64)),
    ] {
        send(&server, token(key, json!({"name": key, "volume_sol": v}))).await;
    }
    let hs = connect(&server).await;
    let trending = hs
        .views::<RawViews>()
        .0
        .list_view::<RawToken>("Token/trending");

    let expected = server_snapshot(&server, "Token/trending").await;
    assert_eq!(expected.len(), 50, "the window is full");
    let missing = expected
        .iter()
        .filter(|r| r["volume_sol"].is_null())
        .count();
    assert!(missing > 0, "nulls and missing values are in the window");
    let got = trending.get().await;
    assert_eq!(names(&got), names(&expected));
    assert_eq!(got, expected);
    // Spot checks of the server's order itself: the largest integer (a string) first; the
    // three equal values together in key order; floats below 2^53 after every larger value.
    assert_eq!(names(&expected)[0], "k00");
    let ties: Vec<&str> = names(&expected)
        .into_iter()
        .filter(|n| n.starts_with('t'))
        .collect();
    assert_eq!(ties, ["t1", "t2", "t3"]);

    // Live: keep a watcher so the SDK's copy follows the frames, move rows in and out of the
    // window (nulls, big strings, missing), then compare again.
    let mut w = trending.watch();
    for _ in 0..50 {
        next(&mut w).await; // the snapshot
    }
    let moves = [
        ("k03", json!("99999999999999999999")), // null → beyond u64: enters at the top
        ("k00", Value::Null),                   // the top → null: leaves (or sinks)
        ("k01", json!(TWO_53 + 1)),             // a number just above 2^53
        ("k04", json!(1.25)),                   // missing → a small float
        ("t2", json!("9007199254740993")),      // breaks the tie
        ("k55", json!(-1)),
    ];
    for (key, v) in moves {
        send(&server, token(key, json!({ "volume_sol": v }))).await;
    }
    // A marker that enters the window last: every frame before it has been applied.
    send(
        &server,
        token(
            "zz",
            json!({"name": "zz", "volume_sol": "100000000000000000000"}),
        ),
    )
    .await;
    while next(&mut w).await.key() != "zz" {}
    let expected = server_snapshot(&server, "Token/trending").await;
    let got = trending.get().await;
    assert_eq!(names(&got), names(&expected));
    assert_eq!(got, expected);
    assert_eq!(&names(&got)[..2], ["zz", "k03"], "1e20 above 1e20 - 1");
}

#[tokio::test]
async fn append_fields_stay_within_the_announced_cap() {
    let server = start().await;
    let hs = connect(&server).await;
    let mut w = hs.watch::<TokenEntity>();
    send(&server, token("a", json!({"name": "A"}))).await;
    next(&mut w).await;
    // pump declares `last_trades … cap = 20`; the server announces it, the SDK keeps to it.
    for i in 0..45u64 {
        let trade = json!({"sol_amount": i, "token_amount": i, "is_buy": true, "user": "u",
                           "timestamp": i, "mint": "m", "virtual_sol_reserves": 1,
                           "virtual_token_reserves": 1});
        let m = token("a", json!({ "last_trades": [trade] })).with_append(&["last_trades"]);
        send(&server, m).await;
    }
    let mut last = None;
    for _ in 0..45 {
        last = Some(next(&mut w).await);
    }
    let trades = last
        .and_then(|u| u.data().cloned())
        .and_then(|t| t.last_trades)
        .expect("trades");
    let amounts: Vec<u64> = trades.iter().map(|t| t.sol_amount).collect();
    assert_eq!(amounts, (25..45).collect::<Vec<u64>>());
    // The server's snapshot holds the same 20.
    let list = hs.list::<RawToken>().await;
    assert_eq!(list[0]["last_trades"].as_array().map(Vec::len), Some(20));
}
