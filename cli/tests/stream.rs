//! `hs stream` as a real process against a real server: JSON lines per frame, and
//! `--list-views` from `GET /views`.

use std::process::Command;

use hyperstack_server::{Mutation, Server};
use serde_json::{json, Value};

fn token(key: &str, data: Value) -> Mutation {
    let Value::Object(map) = data else {
        unreachable!()
    };
    Mutation::patch("Token", key, map)
}

async fn hs(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_hs"))
            .args(&args)
            .output()
            .expect("hs runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn stream_json_and_list_views() {
    let server = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse().unwrap())
        .health_bind("127.0.0.1:0".parse().unwrap())
        .spawn()
        .await
        .unwrap();
    let tx = server.mutations();
    for (k, v) in [("a", 3), ("b", 1), ("c", 2)] {
        tx.send(token(k, json!({"name": k, "volume_sol": v})))
            .await
            .unwrap();
    }
    tx.drained().await;
    let url = format!("ws://{}", server.local_addr());

    // Piped stdout: one JSON line per frame.
    let (ok, out, err) = hs(vec![
        "stream".into(),
        url.clone(),
        "Token/trending".into(),
        "--max-frames".into(),
        "2".into(),
    ])
    .await;
    assert!(ok, "{err}");
    let frames: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(frames.len(), 2, "{out}");
    assert_eq!(frames[0]["op"], "subscribed");
    assert_eq!(
        frames[0]["sort"],
        json!({"field": ["volume_sol"], "order": "desc"})
    );
    assert_eq!(frames[1]["op"], "snapshot");
    assert_eq!(frames[1]["complete"], true);
    let keys: Vec<&str> = frames[1]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a", "c", "b"], "sorted by volume, descending");

    // Views from the health address.
    let http = format!("http://{}", server.http_addr().unwrap());
    let (ok, out, err) = hs(vec![
        "stream".into(),
        url.clone(),
        "--list-views".into(),
        "--http".into(),
        http,
    ])
    .await;
    assert!(ok, "{err}");
    let trending = out
        .lines()
        .find(|l| l.starts_with("Token/trending"))
        .expect("trending listed");
    assert!(trending.contains("sorted by volume_sol desc"), "{trending}");
    assert!(trending.contains("volume_sol"), "{trending}");

    // An unknown view is reported, not hung on.
    let (ok, out, _) = hs(vec![
        "stream".into(),
        url,
        "Nope/list".into(),
        "--max-frames".into(),
        "1".into(),
    ])
    .await;
    assert!(ok);
    assert!(out.contains("\"unknown_view\""), "{out}");
}
