//! Upstream stream health: status, staleness, errors, uptime.
//!
//! The query and update methods are `async` as in the documented API (they take a short,
//! uncontended lock and never wait on I/O), so code written against it compiles unchanged:
//!
//! ```
//! use hyperstack_server::{HealthConfig, HealthMonitor, StreamStatus};
//! # async fn run() {
//! let monitor = HealthMonitor::new(HealthConfig::default());
//! assert!(!monitor.is_healthy().await);
//! monitor.record_connection().await;
//! assert_eq!(monitor.status().await, StreamStatus::Connected);
//! # }
//! ```
//!
//! The source stage reports what happens to its upstream connection through a
//! [`HealthMonitor`] ([`set_status`](HealthMonitor::set_status),
//! [`record_event`](HealthMonitor::record_event), [`record_error`](HealthMonitor::record_error));
//! the HTTP endpoint reads it (`/health` shows a [`HealthSnapshot`], `/ready` needs
//! [`StreamStatus::Connected`]) and [`HealthMonitor::spawn_heartbeat`] logs it periodically.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::config::HealthConfig;

/// State of the upstream stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStatus {
    /// Connected and receiving.
    Connected,
    /// Not connected (initial state, or stopped).
    Disconnected,
    /// Connection lost; a new attempt is under way.
    Reconnecting,
    /// Failed with this message.
    Error(String),
}

impl StreamStatus {
    /// The status without its message: `connected`, `disconnected`, `reconnecting` or `error`.
    pub fn label(&self) -> &'static str {
        match self {
            StreamStatus::Connected => "connected",
            StreamStatus::Disconnected => "disconnected",
            StreamStatus::Reconnecting => "reconnecting",
            StreamStatus::Error(_) => "error",
        }
    }
}

impl fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamStatus::Error(msg) => write!(f, "error: {msg}"),
            other => f.write_str(other.label()),
        }
    }
}

/// A point-in-time view of a [`HealthMonitor`], as served by `/health` under `"stream"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSnapshot {
    /// [`StreamStatus::label`] of the current status.
    pub status: String,
    /// The most recent error: the message of an `Error` status, else the last recorded error.
    pub error: Option<String>,
    /// Errors recorded since start.
    pub error_count: u64,
    /// Milliseconds since the last event, if any arrived.
    pub last_event_age_ms: Option<u64>,
    /// Milliseconds since the stream became connected, while it is connected.
    pub uptime_ms: Option<u64>,
    /// Connected but silent for longer than the health check timeout.
    pub stale: bool,
    /// A finite source (a replay) delivered everything: the state served is final.
    #[serde(default)]
    pub completed: bool,
    /// The latest slot the upstream reached, if it said.
    #[serde(default)]
    pub latest_slot: Option<u64>,
    /// Updates the upstream could not replay (the checkpoint was older than its replay
    /// window): what was missed and what was done about it. Stays until the server restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
}

#[derive(Debug)]
struct State {
    status: StreamStatus,
    connected_since: Option<Instant>,
    last_event: Option<Instant>,
    last_error: Option<String>,
    error_count: u64,
    completed: bool,
    latest_slot: Option<u64>,
    /// Ingestion stopped for good: the `Error` status stays.
    halted: bool,
    gap: Option<String>,
}

#[derive(Debug)]
struct Inner {
    config: HealthConfig,
    state: Mutex<State>,
}

/// Tracks the health of the upstream stream; cheap to clone (clones share the same state).
#[derive(Debug, Clone)]
pub struct HealthMonitor {
    inner: Arc<Inner>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl HealthMonitor {
    /// A monitor in the [`Disconnected`](StreamStatus::Disconnected) state.
    pub fn new(config: HealthConfig) -> HealthMonitor {
        let state = State {
            status: StreamStatus::Disconnected,
            connected_since: None,
            last_event: None,
            last_error: None,
            error_count: 0,
            completed: false,
            latest_slot: None,
            halted: false,
            gap: None,
        };
        HealthMonitor {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(state),
            }),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> HealthConfig {
        self.inner.config
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current status.
    pub async fn status(&self) -> StreamStatus {
        self.state().status.clone()
    }

    /// Connected and not stale.
    pub async fn is_healthy(&self) -> bool {
        self.is_healthy_at(Instant::now())
    }

    fn is_healthy_at(&self, now: Instant) -> bool {
        let state = self.state();
        state.status == StreamStatus::Connected && !self.stale(&state, now)
    }

    /// Sets the status; becoming [`Connected`](StreamStatus::Connected) starts the uptime clock,
    /// leaving it stops it.
    pub async fn set_status(&self, status: StreamStatus) {
        self.set_status_at(status, Instant::now());
    }

    fn set_status_at(&self, status: StreamStatus, now: Instant) {
        let mut state = self.state();
        if state.halted {
            return;
        }
        let connected = status == StreamStatus::Connected;
        if !connected {
            state.connected_since = None;
        } else if state.status != StreamStatus::Connected {
            state.connected_since = Some(now);
        }
        state.status = status;
    }

    /// The stream connected (status [`Connected`](StreamStatus::Connected)).
    pub async fn record_connection(&self) {
        self.set_status_at(StreamStatus::Connected, Instant::now());
    }

    /// The stream disconnected (status [`Disconnected`](StreamStatus::Disconnected)).
    pub async fn record_disconnection(&self) {
        self.set_status_at(StreamStatus::Disconnected, Instant::now());
    }

    /// A reconnect is under way (status [`Reconnecting`](StreamStatus::Reconnecting)).
    pub async fn record_reconnecting(&self) {
        self.set_status_at(StreamStatus::Reconnecting, Instant::now());
    }

    /// A finite source (a replay without looping) delivered everything: the stream is
    /// [`Disconnected`](StreamStatus::Disconnected), and [`HealthMonitor::is_completed`] says the
    /// state served is final rather than missing.
    pub async fn record_completion(&self) {
        self.set_status_at(StreamStatus::Disconnected, Instant::now());
        let mut state = self.state();
        // A halted stream never completes: its updates were not all applied.
        state.completed = !state.halted;
    }

    /// Ingestion stopped for good (the state store cannot be written): the status becomes
    /// [`Error`](StreamStatus::Error) with `reason` and stays so, whatever the source reports
    /// afterwards; the error is counted.
    pub async fn halt(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.set_status_at(StreamStatus::Error(reason.clone()), Instant::now());
        let mut state = self.state();
        state.halted = true;
        state.error_count = state.error_count.saturating_add(1);
        state.last_error = Some(reason);
    }

    /// Whether a finite source has delivered everything (see
    /// [`HealthMonitor::record_completion`]).
    pub async fn is_completed(&self) -> bool {
        self.state().completed
    }

    /// The upstream reached `slot` (its slot updates, or the slot of any update).
    pub async fn record_slot(&self, slot: u64) {
        let mut state = self.state();
        if state.latest_slot.is_none_or(|s| slot > s) {
            state.latest_slot = Some(slot);
        }
    }

    /// The latest slot the upstream reached, if it said.
    pub async fn latest_slot(&self) -> Option<u64> {
        self.state().latest_slot
    }

    /// An upstream event arrived.
    pub async fn record_event(&self) {
        self.record_event_at(Instant::now());
    }

    fn record_event_at(&self, now: Instant) {
        self.state().last_event = Some(now);
    }

    /// An upstream error happened; counts it and keeps its message.
    pub async fn record_error(&self, msg: impl Into<String>) {
        let mut state = self.state();
        state.error_count = state.error_count.saturating_add(1);
        state.last_error = Some(msg.into());
    }

    /// Updates were missed (the upstream could not replay from the checkpoint): `what` says
    /// which and what was done about it; `/health` shows it under `gap` from now on. Counts as
    /// an error too.
    pub async fn record_gap(&self, what: impl Into<String>) {
        let what = what.into();
        let mut state = self.state();
        state.error_count = state.error_count.saturating_add(1);
        state.last_error = Some(what.clone());
        state.gap = Some(what);
    }

    /// What [`HealthMonitor::record_gap`] said last, if anything.
    pub async fn gap(&self) -> Option<String> {
        self.state().gap.clone()
    }

    /// Errors recorded since start.
    pub async fn error_count(&self) -> u64 {
        self.state().error_count
    }

    /// The message of the last recorded error.
    pub async fn last_error(&self) -> Option<String> {
        self.state().last_error.clone()
    }

    /// Time since the last event, if any arrived.
    pub async fn last_event_age(&self) -> Option<Duration> {
        self.last_event_age_at(Instant::now())
    }

    fn last_event_age_at(&self, now: Instant) -> Option<Duration> {
        self.state()
            .last_event
            .map(|t| now.saturating_duration_since(t))
    }

    /// Connected, and no event for longer than the health check timeout (counted from the
    /// connection when no event came since).
    pub async fn is_stale(&self) -> bool {
        self.is_stale_at(Instant::now())
    }

    fn is_stale_at(&self, now: Instant) -> bool {
        let state = self.state();
        self.stale(&state, now)
    }

    fn stale(&self, state: &State, now: Instant) -> bool {
        if state.status != StreamStatus::Connected {
            return false;
        }
        let since = match (state.last_event, state.connected_since) {
            (Some(event), Some(connected)) => event.max(connected),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => return false,
        };
        now.saturating_duration_since(since) > self.inner.config.health_check_timeout
    }

    /// Time since the stream became connected, while it is connected.
    pub async fn uptime(&self) -> Option<Duration> {
        self.uptime_at(Instant::now())
    }

    fn uptime_at(&self, now: Instant) -> Option<Duration> {
        self.state()
            .connected_since
            .map(|t| now.saturating_duration_since(t))
    }

    /// Everything above, at once.
    pub async fn snapshot(&self) -> HealthSnapshot {
        self.snapshot_at(Instant::now())
    }

    fn snapshot_at(&self, now: Instant) -> HealthSnapshot {
        let state = self.state();
        let error = match &state.status {
            StreamStatus::Error(msg) => Some(msg.clone()),
            _ => state.last_error.clone(),
        };
        HealthSnapshot {
            status: state.status.label().to_string(),
            error,
            error_count: state.error_count,
            last_event_age_ms: state
                .last_event
                .map(|t| millis(now.saturating_duration_since(t))),
            uptime_ms: state
                .connected_since
                .map(|t| millis(now.saturating_duration_since(t))),
            stale: self.stale(&state, now),
            completed: state.completed,
            latest_slot: state.latest_slot,
            gap: state.gap.clone(),
        }
    }

    /// Logs the status every `heartbeat_interval` (a warning when stale, info otherwise) until
    /// `shutdown` becomes true or its sender is dropped. Must be called inside a Tokio runtime.
    pub fn spawn_heartbeat(&self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let monitor = self.clone();
        let period = self
            .inner
            .config
            .heartbeat_interval
            .max(Duration::from_millis(1));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                if *shutdown.borrow_and_update() {
                    return;
                }
                tokio::select! {
                    _ = ticker.tick() => monitor.log_heartbeat(),
                    changed = shutdown.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        })
    }

    fn log_heartbeat(&self) {
        let snap = self.snapshot_at(Instant::now());
        if snap.stale {
            tracing::warn!(
                last_event_age_ms = snap.last_event_age_ms,
                timeout_ms = millis(self.inner.config.health_check_timeout),
                "upstream stream is stale: no events within the health check timeout"
            );
        } else {
            tracing::info!(
                status = %self.state().status,
                error_count = snap.error_count,
                last_event_age_ms = snap.last_event_age_ms,
                uptime_ms = snap.uptime_ms,
                "upstream stream heartbeat"
            );
        }
    }
}

#[cfg(test)]
mod tests;
