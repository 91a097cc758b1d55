//! The documented server API, written exactly as the documentation writes it: each form must
//! compile as is, and runs against a live server where it can.

use std::time::Duration;

use hyperstack_server::{
    HealthConfig, HealthMonitor, HttpHealthConfig, ReconnectionConfig, Server, ServerConfig, Spec,
    StreamStatus, WebSocketConfig, YellowstoneConfig,
};

fn my_spec() -> Spec {
    pump_stack::spec()
}

/// The documented `main`: runs until SIGINT/SIGTERM (exercised as a process by the example
/// server's SIGTERM test); here it must compile with exactly this shape.
#[allow(dead_code)]
async fn documented_main() -> anyhow::Result<()> {
    Server::builder()
        .spec(my_spec())
        .websocket()
        .bind("[::]:8877".parse()?)
        .health_monitoring()
        .start()
        .await
}

#[test]
fn yellowstone_config_has_endpoint_and_x_token() {
    let config = YellowstoneConfig {
        endpoint: "https://example.rpcpool.com:443".to_string(),
        x_token: Some("secret".to_string()),
    };
    assert_eq!(
        YellowstoneConfig::new("https://example.rpcpool.com:443").with_x_token("secret"),
        config
    );
}

#[test]
fn reconnection_config_is_plain_public_data() {
    let config = ReconnectionConfig {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(60),
        max_attempts: None,
        backoff_multiplier: 2.0,
        http2_keep_alive_interval: Some(Duration::from_secs(30)),
    };
    assert_eq!(config, ReconnectionConfig::default());
    let next: Duration = config.next_backoff(Duration::from_secs(40));
    assert_eq!(
        next,
        Duration::from_secs(60),
        "multiplied, capped at max_delay"
    );
    assert_eq!(
        config.next_backoff(Duration::from_millis(250)),
        Duration::from_millis(500)
    );
}

#[tokio::test]
async fn health_monitor_is_async() {
    let monitor = HealthMonitor::new(HealthConfig::default());
    let healthy: bool = monitor.is_healthy().await;
    assert!(!healthy);
    let status: StreamStatus = monitor.status().await;
    assert_eq!(status, StreamStatus::Disconnected);
    monitor.record_connection().await;
    monitor.record_event().await;
    assert!(monitor.is_healthy().await);
    assert!(matches!(
        monitor.status().await,
        StreamStatus::Connected
            | StreamStatus::Disconnected
            | StreamStatus::Reconnecting
            | StreamStatus::Error(_)
    ));
}

#[tokio::test]
async fn server_config_as_a_whole_runs_a_server() {
    let config = ServerConfig {
        websocket: Some(WebSocketConfig::new("127.0.0.1:0".parse().unwrap())),
        yellowstone: None,
        health: Some(HealthConfig::default()),
        http_health: Some(HttpHealthConfig::new("127.0.0.1:0".parse().unwrap())),
        reconnection: Some(ReconnectionConfig::default()),
        ..ServerConfig::default()
    };
    let running = Server::builder()
        .spec(my_spec())
        .with_config(config)
        .spawn()
        .await
        .expect("starts");
    assert_ne!(running.local_addr().port(), 0);
    let http = running.http_addr().expect("HTTP endpoint enabled");
    // Without a source there is no stream to wait for: the server is ready at once.
    let body = http_get(http, "/ready").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    running.shutdown(Duration::from_secs(5)).await;

    // `None` everywhere means every component's default (HTTP endpoint off).
    let defaults = ServerConfig {
        websocket: Some(WebSocketConfig::new("127.0.0.1:0".parse().unwrap())),
        ..ServerConfig::default()
    };
    let running = Server::builder()
        .spec(my_spec())
        .with_config(defaults)
        .spawn()
        .await
        .expect("starts");
    assert_eq!(running.http_addr(), None);
    assert!(!running.health().is_healthy().await, "no source connected");
    running.shutdown(Duration::from_secs(5)).await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
