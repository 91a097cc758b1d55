//! The connection task: one per [`crate::HyperStack`], owning the WebSocket, every
//! subscription's merged store, and the streams' channels.
//!
//! The public handle talks to it over an unbounded command channel (so streams can register
//! and unregister from `poll_next` and `Drop` without awaiting). Everything else — frames,
//! reconnects, pings — happens inside the task, so the stores need no locks.

mod actor;
mod frame;
mod handlers;
mod socket;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::HyperStackError;
use crate::store::Change;

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
    /// `auto_reconnect(false)`. `message` says why.
    Error {
        /// Why the connection gave up.
        message: String,
    },
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
    /// `get` / `list`: the rows of `target` once its snapshot is complete.
    Fetch {
        id: u64,
        target: Target,
        reply: oneshot::Sender<Result<Rows, HyperStackError>>,
    },
    /// A fetch timed out.
    CancelFetch { id: u64 },
    /// Close the connection.
    Disconnect,
}

/// Spawns the task over an opened socket; returns the command sender.
pub(crate) fn spawn(
    config: Arc<Config>,
    ws: socket::Ws,
    state: watch::Sender<ConnectionState>,
) -> mpsc::UnboundedSender<Command> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(actor::Actor::new(config, rx, state).run(ws));
    tx
}
