//! The connection task: one per [`crate::HyperStack`], owning the WebSocket, every
//! subscription's merged store, and the streams' channels.
//!
//! The public handle talks to it over an unbounded command channel (so streams can register
//! and unregister from `poll_next` and `Drop` without awaiting). Everything else — frames,
//! reconnects, pings — happens inside the task, so the stores need no locks.

mod actor;
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
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub url: String,
    pub auto_reconnect: bool,
    pub max_reconnect_attempts: u32,
    pub reconnect_intervals: Vec<Duration>,
    pub ping_interval: Duration,
    pub initial_data_timeout: Duration,
    pub connect_timeout: Duration,
    pub tls_roots: Vec<Vec<u8>>,
}

impl Config {
    /// The delay before reconnect attempt `attempt` (1-based): the intervals in turn, then the
    /// last one repeatedly.
    pub fn reconnect_delay(&self, attempt: u32) -> Duration {
        let i = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        self.reconnect_intervals
            .get(i)
            .or(self.reconnect_intervals.last())
            .copied()
            .unwrap_or(Duration::from_secs(1))
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
