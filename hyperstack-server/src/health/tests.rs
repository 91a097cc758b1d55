//! Unit tests of the health monitor: time is passed in to the `*_at` methods, the heartbeat is
//! observed through its log lines.

use super::*;

const S: Duration = Duration::from_secs(1);

fn monitor(timeout: Duration) -> HealthMonitor {
    HealthMonitor::new(HealthConfig::new().with_health_check_timeout(timeout))
}

#[tokio::test]
async fn status_transitions_and_display() {
    let m = monitor(10 * S);
    assert_eq!(m.status().await, StreamStatus::Disconnected);
    assert!(!m.is_healthy().await);
    m.set_status(StreamStatus::Connected).await;
    assert!(m.is_healthy().await);
    m.set_status(StreamStatus::Reconnecting).await;
    assert!(!m.is_healthy().await);
    m.set_status(StreamStatus::Error("boom".into())).await;
    assert_eq!(m.status().await.to_string(), "error: boom");
    assert_eq!(m.status().await.label(), "error");
    assert_eq!(StreamStatus::Reconnecting.to_string(), "reconnecting");
    let snap = m.snapshot().await;
    assert_eq!(
        (snap.status.as_str(), snap.error.as_deref()),
        ("error", Some("boom"))
    );
    assert_eq!(
        snap.error_count, 0,
        "an Error status is not a recorded error"
    );
}

#[tokio::test]
async fn errors_are_counted_and_the_last_one_kept() {
    let m = monitor(10 * S);
    m.record_error("first").await;
    m.record_error(String::from("second")).await;
    assert_eq!(m.error_count().await, 2);
    assert_eq!(m.last_error().await.as_deref(), Some("second"));
    let clone = m.clone();
    clone.record_error("third").await;
    assert_eq!(m.error_count().await, 3, "clones share state");
    assert_eq!(m.snapshot().await.error.as_deref(), Some("third"));
}

#[tokio::test]
async fn a_halt_keeps_the_error_status() {
    let m = monitor(10 * S);
    m.set_status(StreamStatus::Connected).await;
    m.halt("state store: disk full").await;
    m.set_status(StreamStatus::Connected).await;
    m.record_connection().await;
    m.record_completion().await;
    assert_eq!(
        m.status().await,
        StreamStatus::Error("state store: disk full".into())
    );
    assert!(!m.is_completed().await, "a halted stream never completes");
    assert_eq!(m.error_count().await, 1);
    assert!(!m.is_healthy().await);
}

#[tokio::test]
async fn staleness_counts_from_the_last_event_or_the_connection() {
    let m = monitor(10 * S);
    let t0 = Instant::now();
    assert!(!m.is_stale_at(t0 + 60 * S), "not connected: never stale");
    m.set_status_at(StreamStatus::Connected, t0);
    assert!(!m.is_stale_at(t0 + 10 * S));
    assert!(m.is_stale_at(t0 + 11 * S), "no event since connecting");
    assert!(!m.is_healthy_at(t0 + 11 * S));
    m.record_event_at(t0 + 11 * S);
    assert!(!m.is_stale_at(t0 + 12 * S));
    assert!(m.is_healthy_at(t0 + 12 * S));
    assert_eq!(m.last_event_age_at(t0 + 15 * S), Some(4 * S));
    assert!(m.is_stale_at(t0 + 22 * S));
    assert!(m.snapshot_at(t0 + 22 * S).stale);

    // Reconnecting: an old event does not make the fresh connection stale.
    m.set_status_at(StreamStatus::Reconnecting, t0 + 30 * S);
    assert!(!m.is_stale_at(t0 + 31 * S));
    m.set_status_at(StreamStatus::Connected, t0 + 40 * S);
    assert!(!m.is_stale_at(t0 + 45 * S));
    assert!(m.is_stale_at(t0 + 51 * S));
}

#[tokio::test]
async fn uptime_runs_while_connected() {
    let m = monitor(10 * S);
    let t0 = Instant::now();
    assert_eq!(m.uptime_at(t0), None);
    m.set_status_at(StreamStatus::Connected, t0);
    m.set_status_at(StreamStatus::Connected, t0 + 5 * S);
    assert_eq!(
        m.uptime_at(t0 + 7 * S),
        Some(7 * S),
        "staying connected keeps the start"
    );
    let snap = m.snapshot_at(t0 + 7 * S);
    assert_eq!(
        (snap.uptime_ms, snap.last_event_age_ms),
        (Some(7_000), None)
    );
    m.set_status_at(StreamStatus::Disconnected, t0 + 8 * S);
    assert_eq!(m.uptime_at(t0 + 9 * S), None);
    m.set_status_at(StreamStatus::Connected, t0 + 10 * S);
    assert_eq!(m.uptime_at(t0 + 12 * S), Some(2 * S));
}

#[tokio::test]
async fn snapshot_serializes() {
    let m = monitor(10 * S);
    m.set_status(StreamStatus::Connected).await;
    let json = serde_json::to_value(m.snapshot().await).unwrap();
    assert_eq!(json["status"], "connected");
    assert_eq!(json["error"], serde_json::Value::Null);
    assert_eq!(json["stale"], false);
    assert!(json["uptime_ms"].is_u64());
    let back: HealthSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back.status, "connected");
}

#[tokio::test]
async fn heartbeat_ends_on_shutdown() {
    let m = HealthMonitor::new(
        HealthConfig::new()
            .with_heartbeat_interval(Duration::from_millis(1))
            .with_health_check_timeout(Duration::ZERO),
    );
    m.set_status(StreamStatus::Connected).await;
    let (tx, rx) = watch::channel(false);
    let handle = m.spawn_heartbeat(rx);
    tx.send(true).unwrap();
    tokio::time::timeout(10 * S, handle).await.unwrap().unwrap();

    // Already shut down before it starts, and a dropped sender, both end it too.
    let (tx, rx) = watch::channel(true);
    tokio::time::timeout(10 * S, m.spawn_heartbeat(rx))
        .await
        .unwrap()
        .unwrap();
    drop(tx);
    let (tx, rx) = watch::channel(false);
    let handle = m.spawn_heartbeat(rx);
    drop(tx);
    tokio::time::timeout(10 * S, handle).await.unwrap().unwrap();
}

/// Collects formatted log output and wakes whoever waits for a line.
#[derive(Clone, Default)]
struct Capture(Arc<(Mutex<Vec<u8>>, tokio::sync::Notify)>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 .0.lock().unwrap().extend_from_slice(buf);
        self.0 .1.notify_waiters();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0 .0.lock().unwrap()).into_owned()
    }

    async fn wait_for(&self, needle: &str) {
        let wait = async {
            loop {
                // Registered before the check, so a write in between still wakes it.
                let written = self.0 .1.notified();
                if self.text().contains(needle) {
                    return;
                }
                written.await;
            }
        };
        tokio::time::timeout(10 * S, wait).await.expect(needle);
    }
}

#[tokio::test]
async fn heartbeat_logs_stale_as_warning_and_status_as_info() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let m = HealthMonitor::new(
        HealthConfig::new()
            .with_heartbeat_interval(Duration::from_millis(1))
            .with_health_check_timeout(Duration::from_secs(3600)),
    );
    m.set_status(StreamStatus::Reconnecting).await;
    let (tx, rx) = watch::channel(false);
    let handle = m.spawn_heartbeat(rx);
    capture.wait_for("status=reconnecting").await;
    assert!(capture.text().contains("INFO"));
    tx.send(true).unwrap();
    handle.await.unwrap();

    let m = HealthMonitor::new(
        HealthConfig::new()
            .with_heartbeat_interval(Duration::from_millis(1))
            .with_health_check_timeout(Duration::ZERO),
    );
    m.set_status(StreamStatus::Connected).await;
    let (tx, rx) = watch::channel(false);
    let handle = m.spawn_heartbeat(rx);
    capture.wait_for("stream is stale").await;
    assert!(capture.text().contains("WARN"));
    tx.send(true).unwrap();
    handle.await.unwrap();
}
