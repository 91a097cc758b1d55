//! [`ConnectionHandle`]: what streams, views and the [`crate::HyperStack`] facade hold of a
//! connection — the command channel to its task, its state, its settings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};

use super::{Command, Config, ConnectionState, Rows, Target};
use crate::error::HyperStackError;

struct Shared {
    commands: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<ConnectionState>,
    last_error: Arc<Mutex<Option<String>>>,
    config: Arc<Config>,
    next_id: AtomicU64,
}

/// A cheap, cloneable handle of one connection task.
#[derive(Clone)]
pub(crate) struct ConnectionHandle {
    shared: Arc<Shared>,
}

impl ConnectionHandle {
    pub(crate) fn new(
        commands: mpsc::UnboundedSender<Command>,
        state: watch::Receiver<ConnectionState>,
        last_error: Arc<Mutex<Option<String>>>,
        config: Arc<Config>,
    ) -> ConnectionHandle {
        ConnectionHandle {
            shared: Arc::new(Shared {
                commands,
                state,
                last_error,
                config,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.shared.config
    }

    pub(crate) fn state(&self) -> &watch::Receiver<ConnectionState> {
        &self.shared.state
    }

    /// The message of the last connection failure, if any.
    pub(crate) fn last_error(&self) -> Option<String> {
        // Every write is one assignment: a poisoned lock still holds a consistent value.
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn command(&self, cmd: Command) -> Result<(), HyperStackError> {
        self.shared
            .commands
            .send(cmd)
            .map_err(|_| HyperStackError::Closed(self.closed_reason()))
    }

    pub(crate) fn closed_reason(&self) -> String {
        match &*self.shared.state.borrow() {
            ConnectionState::Error => self
                .last_error()
                .unwrap_or_else(|| "connection failed".into()),
            _ => "disconnected".into(),
        }
    }

    /// The rows of a subscription once it is loaded: its snapshot complete, or — from a server
    /// that sends no snapshot of an empty view — `initial_data_timeout` after `subscribed`.
    /// Fails with [`HyperStackError::Timeout`] when the server has not even answered the
    /// subscription by then. The subscription is released afterwards unless streams use it.
    pub(crate) async fn fetch(&self, target: Target) -> Result<Rows, HyperStackError> {
        let id = self.next_id();
        let (reply, rx) = oneshot::channel();
        self.command(Command::Fetch { id, target, reply })?;
        match rx.await {
            Ok(result) => result,
            Err(_) => Err(HyperStackError::Closed(self.closed_reason())),
        }
    }

    /// Every entity of a collection view, decoded (entities that do not fit `T` are skipped).
    pub(crate) async fn list_view<T: serde::de::DeserializeOwned>(
        &self,
        view: String,
    ) -> Result<Vec<T>, HyperStackError> {
        let rows = self.fetch(Target { view, key: None }).await?;
        Ok(rows
            .iter()
            .filter_map(|(k, v)| crate::decode::entity(k, v))
            .collect())
    }

    /// The entity `key` of a state view (or the one entity of a single-entity view).
    pub(crate) async fn get_view<T: serde::de::DeserializeOwned>(
        &self,
        view: String,
        key: Option<String>,
    ) -> Result<Option<T>, HyperStackError> {
        let rows = self
            .fetch(Target {
                view,
                key: key.clone(),
            })
            .await?;
        Ok(rows
            .iter()
            .find(|(k, _)| key.as_ref().is_none_or(|key| k == key))
            .and_then(|(k, v)| crate::decode::entity(k, v)))
    }
}
