//! The example server as a process: SIGTERM shuts it down gracefully (a connected client gets a
//! close frame, the process exits with code 0), and `JSON_LOGS=true` makes every log line a
//! JSON object.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{server, Proc};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn sigterm_closes_clients_and_exits_zero() {
    let (mut proc, url) = server("pump", &[]);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connects");
    ws.send(Message::text(r#"{"view":"Token/list"}"#))
        .await
        .expect("subscribes");
    // Wait until the server has answered, so the client is fully connected.
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.contains("subscribed") => break,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no `subscribed` frame: {other:?}"),
        }
    }

    let pid = proc.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success());

    let close = loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame after SIGTERM: {other:?}"),
        }
    };
    assert!(close.is_some(), "the close frame carries a code");
    let status = tokio::task::spawn_blocking(move || {
        let status = proc.child.wait().expect("waits");
        (status, proc)
    })
    .await
    .unwrap()
    .0;
    assert_eq!(status.code(), Some(0), "graceful exit: {status}");
}

#[test]
fn json_logs_are_json_lines() {
    let proc = Proc::spawn_with(
        env!("CARGO_BIN_EXE_server"),
        &[
            "--stack",
            "game",
            "--bind",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
        &[("JSON_LOGS", "true")],
    );
    proc.stdout_line("hyperstack serving on ");
    let mut seen = Vec::new();
    loop {
        let line = proc
            .stderr
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| {
                panic!("no `replaying generated data` log line: {e}; got {seen:#?}")
            });
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value["timestamp"].is_string(), "{line}");
        assert!(value["level"].is_string(), "{line}");
        assert!(value["fields"].is_object(), "{line}");
        let found = value["fields"]["message"] == "replaying generated data";
        seen.push(value);
        if found {
            let fields = &seen.last().unwrap()["fields"];
            assert_eq!(fields["seed"], 42, "{fields}");
            assert_eq!(seen.last().unwrap()["level"], "INFO");
            break;
        }
    }
}
