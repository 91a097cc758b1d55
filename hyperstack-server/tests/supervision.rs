//! Supervision without failpoints: an upstream that gave up after its maximum attempts fails
//! the server loudly; a finite replay that delivered everything does not.

mod hostile_support;
mod ingest_support;

use std::time::Duration;

use hostile_support::{connect, http_get, Reader, Seen, WAIT};
use hyperstack_server::source::replay::to_line;
use hyperstack_server::{ReconnectionConfig, ReplayConfig, ReplaySpeed, Server, YellowstoneConfig};
use ingest_support::*;

#[tokio::test]
async fn an_upstream_that_gave_up_fails_the_server() {
    // Nothing listens on port 1: every attempt is refused at once.
    let endpoint = "http://127.0.0.1:1";
    let server = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse().unwrap())
        .health_bind("127.0.0.1:0".parse().unwrap())
        .yellowstone(YellowstoneConfig::new(endpoint))
        .reconnection_config(
            ReconnectionConfig::new()
                .with_initial_delay(Duration::from_millis(10))
                .with_max_attempts(2),
        )
        .spawn()
        .await
        .unwrap();
    let http = server.http_addr().unwrap();
    let failure = tokio::time::timeout(WAIT, server.failed())
        .await
        .expect("the failure is noticed");
    assert_eq!(failure.task, "ingest");
    assert!(
        failure.reason.contains("gave up after 2"),
        "{}",
        failure.reason
    );
    let (status, body) = http_get(http, "/ready").await;
    assert_eq!(status, 503, "{body}");
    let (status, body) = http_get(http, "/health").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        !body.contains("127.0.0.1:1"),
        "no endpoint in /health: {body}"
    );
    // A client of the failed server is closed with 1011 at once.
    let mut late = Reader::spawn(connect(server.local_addr()).await);
    let code = loop {
        if let Seen::Closed(code) = late.next().await {
            break code;
        }
    };
    assert_eq!(code, Some(1011));
    server.shutdown(WAIT).await;
}

#[tokio::test]
async fn a_finished_replay_is_not_a_failure() {
    let (mint, curve, user) = (key(2), key(3), key(4));
    let updates = [
        create_tx(100, 0, sig(1), mint, curve, user, "alpha"),
        curve_update(curve, 101, 1, Curve::new(30_000, 1_000)),
    ];
    let text: String = updates.iter().map(|u| to_line(u) + "\n").collect();
    let server = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse().unwrap())
        .health_bind("127.0.0.1:0".parse().unwrap())
        .replay(ReplayConfig::text(text).with_speed(ReplaySpeed::AsFastAsPossible))
        .spawn()
        .await
        .unwrap();
    let http = server.http_addr().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !server.health().is_completed().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replay completes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The source ended when it marked the completion; its end is judged right after, well
    // before this round trip is over.
    let mut client = Reader::spawn(connect(server.local_addr()).await);
    assert!(client.until_pong().await.is_empty());
    assert_eq!(server.failure(), None);
    assert_eq!(http_get(http, "/ready").await.0, 200);
    assert_eq!(http_get(http, "/health").await.0, 200);
    server.shutdown(WAIT).await;
}
