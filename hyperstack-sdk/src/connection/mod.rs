//! The connection task: one per [`crate::HyperStack`], owning the WebSocket, every
//! subscription's merged store, and the streams' channels.
//!
//! The public handle talks to it over an unbounded command channel (so streams can register
//! and unregister from `poll_next` and `Drop` without awaiting). Everything else — frames,
//! reconnects, pings — happens inside the task, so the stores need no locks.

mod actor;
mod backoff;
mod fallback;
mod frame;
mod handle;
mod handlers;
mod socket;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::HyperStackError;
use crate::store::Change;

pub(crate) use handle::ConnectionHandle;
pub(crate) use socket::open;

/// Settings of a connection (the builder's output).
#[derive(Clone)]
pub(crate) struct Config {
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub auth_token: Option<String>,
    pub auto_reconnect: bool,
    /// `None`: never give up.
    pub max_reconnect_attempts: Option<u32>,
    /// The base schedule; `None`: 1 s doubling to 30 s.
    pub reconnect_intervals: Option<Vec<Duration>>,
    pub ping_interval: Duration,
    pub initial_data_timeout: Duration,
    pub connect_timeout: Duration,
    pub tls_roots: Vec<Vec<u8>>,
    /// Subscriptions per connection assumed until the server announces its limit.
    pub max_subscriptions: usize,
    /// Ask for append views' deltas (`"delta":true` in every subscribe).
    pub append_deltas: bool,
}

impl std::fmt::Debug for Config {
    // Tokens never appear: the URL is shown redacted, the bearer token not at all.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.shown_url())
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("auto_reconnect", &self.auto_reconnect)
            .field("max_reconnect_attempts", &self.max_reconnect_attempts)
            .field("reconnect_intervals", &self.reconnect_intervals)
            .field("ping_interval", &self.ping_interval)
            .field("initial_data_timeout", &self.initial_data_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("tls_roots", &self.tls_roots.len())
            .field("append_deltas", &self.append_deltas)
            .finish()
    }
}

impl Config {
    /// The base delay before reconnect attempt `attempt` (1-based), before jitter.
    pub fn reconnect_base(&self, attempt: u32) -> Duration {
        backoff::base(self.reconnect_intervals.as_deref(), attempt)
    }

    fn redactor(&self) -> crate::redact::Redactor {
        crate::redact::Redactor::new(&self.url, self.auth_token.as_deref())
    }

    /// The URL as logs and errors show it (tokens redacted).
    pub fn shown_url(&self) -> String {
        self.redactor().url().to_string()
    }

    /// `text` with this connection's tokens redacted.
    pub fn redact(&self, text: &str) -> String {
        self.redactor().redact(text)
    }
}

/// The state of a client's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// The WebSocket is open; subscriptions are live.
    Connected,
    /// The first connection is being opened.
    Connecting,
    /// The connection was lost; reconnect attempt `attempt` (1-based) is pending or running.
    Reconnecting {
        /// Which attempt.
        attempt: u32,
    },
    /// Closed by [`crate::HyperStack::disconnect`] (or every handle was dropped).
    Disconnected,
    /// Closed for good: reconnect attempts exhausted, or the connection was lost with
    /// `auto_reconnect(false)`. [`crate::HyperStack::last_error`] says why.
    Error,
}

/// A subscription: a view, and the key for state views.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub view: String,
    pub key: Option<String>,
}

/// Rows answered to a fetch.
pub(crate) type Rows = Vec<(String, Arc<Value>)>;

/// Requests from handles and streams to the connection task.
pub(crate) enum Command {
    /// A stream's first poll: deliver the changes of `targets` to `tx`.
    Listen {
        id: u64,
        targets: Vec<Target>,
        tx: mpsc::UnboundedSender<Change>,
        rich: bool,
    },
    /// A stream was dropped.
    Unlisten { id: u64 },
    /// `get` / `list`: the rows of `target` once it is loaded (or an error when it is not
    /// within `initial_data_timeout`).
    Fetch {
        id: u64,
        target: Target,
        reply: oneshot::Sender<Result<Rows, HyperStackError>>,
    },
    /// Close the connection.
    Disconnect,
}

/// Spawns the task over an opened socket; returns its handle.
pub(crate) fn spawn(config: Config, ws: socket::Ws) -> ConnectionHandle {
    let config = Arc::new(config);
    let (tx, rx) = mpsc::unbounded_channel();
    let (state_tx, state_rx) = watch::channel(ConnectionState::Connected);
    let last_error = Arc::new(Mutex::new(None));
    let actor = actor::Actor::new(config.clone(), rx, state_tx, last_error.clone());
    tokio::spawn(actor.run(ws));
    ConnectionHandle::new(tx, state_rx, last_error, config)
}
