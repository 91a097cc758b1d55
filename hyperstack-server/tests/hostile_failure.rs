//! A real panic inside a critical task (the bus, through the `bus.publish` failpoint): the
//! server must not turn zombie. `/ready` and `/health` answer 503, clients are closed with
//! 1011, and the run call returns the failure. Needs the `failpoints` feature (on in
//! workspace builds: the examples crate enables it). Failpoints are process-wide, so the
//! scenarios run one after the other in a single test.

mod hostile_support;

use hostile_support::*;
use hyperstack_server::failpoint::{self, Action, Rule};
use hyperstack_server::{EntityCacheConfig, ServerError, WebSocketConfig};
use serde_json::json;

#[tokio::test]
async fn panicking_tasks_fail_the_server_loudly() {
    a_panicking_bus_fails_the_server().await;
    a_panicking_listener_makes_http_answer_503().await;
}

async fn a_panicking_bus_fails_the_server() {
    let server = serve(EntityCacheConfig::default(), WebSocketConfig::default()).await;
    let http = server.http_addr().expect("HTTP endpoint");
    let tx = server.mutations();
    let mut client = Reader::spawn(connect(server.local_addr()).await);
    client.send(json!({"view": "Token/list"})).await;
    assert_eq!(client.next_frame().await["op"], "subscribed");
    assert_eq!(client.next_frame().await["complete"], true);
    assert_eq!(http_get(http, "/ready").await.0, 200);

    let run = tokio::spawn(server.run_until_signal());
    failpoint::set(
        "bus.publish",
        Rule {
            action: Action::Panic,
            on_hit: Some(1),
        },
    );
    tx.send(token("k1", json!({"name": "boom"}))).await.unwrap();

    let closed = loop {
        if let Seen::Closed(code) = client.next().await {
            break code;
        }
    };
    assert_eq!(closed, Some(1011), "clients are closed with 1011");
    let result = tokio::time::timeout(WAIT, run)
        .await
        .expect("the run call returns")
        .unwrap();
    failpoint::clear("bus.publish");
    match result {
        Err(ServerError::Failed(f)) => {
            assert_eq!(f.task, "bus");
            assert!(
                f.reason.contains("failpoint `bus.publish` fired"),
                "{}",
                f.reason
            );
        }
        other => panic!("the run call must fail, got {other:?}"),
    }
}

async fn a_panicking_listener_makes_http_answer_503() {
    let server = serve(EntityCacheConfig::default(), WebSocketConfig::default()).await;
    let http = server.http_addr().expect("HTTP endpoint");
    assert_eq!(http_get(http, "/health").await.0, 200);
    // The listener task panics at its next accepted connection.
    failpoint::set(
        "websocket.accept",
        Rule {
            action: Action::Panic,
            on_hit: Some(1),
        },
    );
    let _victim = tokio::net::TcpStream::connect(server.local_addr()).await;
    let failure = tokio::time::timeout(WAIT, server.failed())
        .await
        .expect("the failure is noticed");
    failpoint::clear("websocket.accept");
    assert_eq!(failure.task, "websocket");
    let (status, body) = http_get(http, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("the websocket task failed"), "{body}");
    let (status, body) = http_get(http, "/health").await;
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"status":"failed","task":"websocket"}"#)
    );
    assert!(
        matches!(
            server.health().status().await,
            hyperstack_server::StreamStatus::Error(_)
        ),
        "health is Error"
    );
    server.shutdown(WAIT).await;
}
