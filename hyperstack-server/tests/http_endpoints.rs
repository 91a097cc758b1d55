//! The HTTP endpoint over real TCP: every route, readiness, metrics, errors, shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyperstack_server::config::HealthConfig;
use hyperstack_server::health::{HealthMonitor, StreamStatus};
use hyperstack_server::http::{serve, HttpState, SortDescription, ViewDescription};
use hyperstack_server::metrics::Metrics;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(10);

/// A parsed HTTP/1.1 response.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"));
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Sends raw bytes and reads until the server closes the connection.
async fn raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        out
    };
    tokio::time::timeout(LIMIT, exchange)
        .await
        .expect("server answered")
}

async fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    parse(&raw(addr, req.as_bytes()).await)
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path).await
}

struct Server {
    addr: SocketAddr,
    state: HttpState,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(health: Option<HealthMonitor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = HttpState {
        health,
        metrics: Arc::new(Metrics::new(vec![
            "Token/list".into(),
            "Token/latest".into(),
        ])),
        views: Arc::new(vec![
            ViewDescription {
                view: "Token/list".into(),
                entity: "Token".into(),
                mode: "list".into(),
                sort: None,
                fields: vec!["mint".into(), "price_sol".into()],
            },
            ViewDescription {
                view: "Token/latest".into(),
                entity: "Token".into(),
                mode: "list".into(),
                sort: Some(SortDescription {
                    field: vec!["last_trade_slot".into()],
                    order: "desc".into(),
                }),
                fields: vec!["mint".into(), "price_sol".into()],
            },
        ]),
        ready: Arc::new(AtomicBool::new(false)),
        readiness: Arc::new(hyperstack_server::ready::Readiness::ready()),
        metrics_token: None,
        failure: None,
    };
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, state.clone(), rx));
    Server {
        addr,
        state,
        shutdown,
        task,
    }
}

impl Server {
    async fn stop(self) {
        self.shutdown.send(true).unwrap();
        let result = tokio::time::timeout(LIMIT, self.task).await;
        result.expect("serve returned").unwrap().unwrap();
    }
}

#[tokio::test]
async fn health_is_ok_with_and_without_a_monitor() {
    let server = start(None).await;
    let reply = get(server.addr, "/health").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({ "status": "ok" }));
    server.stop().await;

    let monitor = HealthMonitor::new(HealthConfig::new());
    let server = start(Some(monitor.clone())).await;
    monitor.record_error("upstream hiccup").await;
    monitor.set_status(StreamStatus::Reconnecting).await;
    let body = get(server.addr, "/health").await.json();
    assert_eq!(
        body["status"], "ok",
        "liveness does not depend on the stream"
    );
    assert_eq!(body["stream"]["status"], "reconnecting");
    assert_eq!(body["stream"]["error_count"], 1);
    assert_eq!(body["stream"]["error"], "upstream hiccup");
    assert_eq!(body["stream"]["stale"], false);
    assert!(body["stream"]["uptime_ms"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn ready_follows_the_flag_and_the_stream() {
    let monitor = HealthMonitor::new(HealthConfig::new());
    let server = start(Some(monitor.clone())).await;

    let reply = get(server.addr, "/ready").await;
    assert_eq!(reply.status, 503);
    let body = reply.json();
    assert_eq!(body["ready"], false);
    assert!(body["reason"].is_string());

    server.state.ready.store(true, Ordering::Release);
    monitor.set_status(StreamStatus::Reconnecting).await;
    let reply = get(server.addr, "/ready").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["reason"], "stream reconnecting");

    monitor.set_status(StreamStatus::Connected).await;
    let reply = get(server.addr, "/ready").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({ "ready": true }));

    monitor.set_status(StreamStatus::Error("gone".into())).await;
    assert_eq!(get(server.addr, "/ready").await.status, 503);
    server.stop().await;

    // Without a monitor only the flag counts.
    let server = start(None).await;
    assert_eq!(get(server.addr, "/ready").await.status, 503);
    server.state.ready.store(true, Ordering::Release);
    assert_eq!(get(server.addr, "/ready").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn views_are_listed() {
    let server = start(None).await;
    let reply = get(server.addr, "/views").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    let views = body.as_array().unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0]["view"], "Token/list");
    assert_eq!(views[0]["sort"], Value::Null);
    assert_eq!(views[1]["entity"], "Token");
    assert_eq!(views[1]["mode"], "list");
    assert_eq!(
        views[1]["sort"],
        serde_json::json!({ "field": ["last_trade_slot"], "order": "desc" })
    );
    assert_eq!(views[1]["fields"], serde_json::json!(["mint", "price_sol"]));
    server.stop().await;
}

#[tokio::test]
async fn metrics_show_the_counters() {
    let server = start(None).await;
    let m = &server.state.metrics;
    m.client_connected();
    m.client_connected();
    m.client_connected();
    m.client_disconnected();
    m.subscribed(0);
    m.subscribed(1);
    m.subscribed(1);
    m.frame_sent(Some(1), 250);
    m.frame_sent(None, 50);
    m.decode_error("account");

    let reply = get(server.addr, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    for line in [
        "# TYPE hyperstack_websocket_clients gauge",
        "hyperstack_websocket_clients 2",
        "hyperstack_subscriptions{view=\"Token/list\"} 1",
        "hyperstack_subscriptions{view=\"Token/latest\"} 2",
        "hyperstack_frames_sent_total 2",
        "hyperstack_bytes_sent_total 300",
        "hyperstack_view_frames_sent_total{view=\"Token/latest\"} 1",
        "hyperstack_view_bytes_sent_total{view=\"Token/latest\"} 250",
        "hyperstack_view_bytes_sent_total{view=\"Token/list\"} 0",
        "hyperstack_decode_errors_total{kind=\"account\"} 1",
    ] {
        assert!(
            reply.body.lines().any(|l| l == line),
            "missing {line:?} in\n{}",
            reply.body
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_methods_and_garbage() {
    let server = start(None).await;
    let reply = get(server.addr, "/nope").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json(), serde_json::json!({ "error": "not found" }));

    let reply = request(server.addr, "POST", "/health").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET"));
    assert!(reply.json()["error"].is_string());
    assert_eq!(request(server.addr, "DELETE", "/metrics").await.status, 405);

    // Not HTTP at all: the server answers 400 or hangs up, and keeps serving.
    let answer = raw(server.addr, b"\x00\x01garbage\r\n\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 400"),
        "{answer:?}"
    );
    assert_eq!(get(server.addr, "/health").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_and_closes_idle_connections() {
    let server = start(None).await;
    let addr = server.addr;

    // A keep-alive connection, idle after its first request.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("{\"status\":\"ok\"}") {
        let n = tokio::time::timeout(LIMIT, idle.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"));

    server.stop().await;

    // The idle connection was closed and the listener is gone.
    let mut rest = Vec::new();
    let n = tokio::time::timeout(LIMIT, idle.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "no more data after shutdown");
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_shutdown_sender_stops_the_server() {
    let server = start(None).await;
    drop(server.shutdown);
    tokio::time::timeout(LIMIT, server.task)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
}
