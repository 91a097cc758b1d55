//! The connection task's life: sessions over a socket, reconnects with the configured
//! intervals, application pings and dead-peer detection, shutdown.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

use super::backoff;
use super::socket::{self, Incoming, Ws};
use super::{Command, Config, ConnectionState, Rows, Target};
use crate::error::HyperStackError;
use crate::store::{Change, SortSpec, ViewStore};

/// One subscription's shared state.
pub(super) struct Sub {
    pub store: ViewStore,
    pub sort: Option<SortSpec>,
    pub listeners: Vec<u64>,
    pub rich: usize,
    pub fetchers: Vec<u64>,
    /// Set when `subscribed` arrived and no snapshot batch yet: a server that sends no
    /// snapshot of an empty view (the reference server) leaves it loaded at this instant.
    pub loaded_at: Option<Instant>,
}

/// A registered stream.
pub(super) struct Listener {
    pub targets: Vec<Target>,
    pub tx: mpsc::UnboundedSender<Change>,
    pub rich: bool,
    /// Keys of a state view served from the entity's list view instead (more keys than the
    /// server's subscription limit).
    pub filtered: Option<Through>,
}

/// A stream's keys served through a list view.
pub(super) struct Through {
    /// The list view.
    pub list: Target,
    /// The keys let through.
    pub keys: HashSet<String>,
    /// What the stream already holds of keys it watched on their own before: the list's
    /// snapshot repeating it unchanged is not delivered again.
    pub held: HashMap<String, Value>,
}

/// A `get` / `list` waiting for its subscription's snapshot.
pub(super) struct Fetch {
    pub target: Target,
    /// Only this key of the target's rows (a state key fetched through the list view).
    pub only: Option<String>,
    pub reply: oneshot::Sender<Result<Rows, HyperStackError>>,
    /// When it fails with a timeout, unless its subscription was answered and is waiting
    /// for `loaded_at`.
    pub deadline: Instant,
}

/// How a session or a wait ended.
pub(super) enum End {
    /// The user disconnected, or every handle is gone.
    Stop,
    /// The connection broke.
    Lost(String),
}

/// The connection task.
pub(crate) struct Actor {
    pub(super) config: Arc<Config>,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    pub(super) state: watch::Sender<ConnectionState>,
    /// The last connection failure, read by [`crate::HyperStack::last_error`].
    pub(super) last_error: Arc<Mutex<Option<String>>>,
    pub(super) subs: HashMap<Target, Sub>,
    pub(super) listeners: HashMap<u64, Listener>,
    pub(super) fetches: HashMap<u64, Fetch>,
    /// Subscriptions sent and not yet answered, per view, in send order, with the id each
    /// was sent with. Replies echoing an id are matched by it; replies without one (older
    /// servers) are matched in order — the server answers in order, and `subscribed` frames
    /// of state views carry no key.
    pub(super) pending: HashMap<String, VecDeque<(u64, Target)>>,
    /// The id of the next subscribe message.
    pub(super) next_request: u64,
    /// The server's subscriptions-per-connection limit, once announced.
    pub(super) server_limit: Option<usize>,
    /// Subscriptions refused as `rate_limited`, to send again at the instant given.
    pub(super) retries: Vec<(Instant, Target)>,
    /// Draws the reconnect jitter.
    rng: fastrand::Rng,
    /// The subscription whose snapshot is being received, per view.
    pub(super) receiving: HashMap<String, Target>,
    /// Messages to send on the current socket.
    pub(super) out: VecDeque<String>,
    pub(super) connected: bool,
}

impl Actor {
    pub(super) fn new(
        config: Arc<Config>,
        commands: mpsc::UnboundedReceiver<Command>,
        state: watch::Sender<ConnectionState>,
        last_error: Arc<Mutex<Option<String>>>,
    ) -> Actor {
        Actor {
            config,
            commands,
            state,
            last_error,
            subs: HashMap::new(),
            listeners: HashMap::new(),
            fetches: HashMap::new(),
            pending: HashMap::new(),
            next_request: 1,
            server_limit: None,
            retries: Vec::new(),
            rng: fastrand::Rng::new(),
            receiving: HashMap::new(),
            out: VecDeque::new(),
            connected: false,
        }
    }

    fn record_error(&self, message: &str) {
        let message = self.config.redact(message);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }

    fn set_state(&self, s: ConnectionState) {
        tracing::debug!(state = ?s, url = %self.config.shown_url(), "connection state");
        self.state.send_if_modified(|cur| {
            let changed = *cur != s;
            *cur = s;
            changed
        });
    }

    /// Runs until disconnected, or out of reconnect attempts when a limit is set.
    pub(super) async fn run(mut self, first: Ws) {
        let mut socket = Some(first);
        let mut attempt: u32 = 0;
        let mut last_error = String::new();
        loop {
            if let Some(ws) = socket.take() {
                attempt = 0;
                match self.session(ws).await {
                    End::Stop => return self.shutdown(ConnectionState::Disconnected),
                    End::Lost(reason) => {
                        let reason = self.config.redact(&reason);
                        tracing::warn!(url = %self.config.shown_url(), %reason, "connection lost");
                        self.connection_lost();
                        self.record_error(&format!("connection lost: {reason}"));
                        if !self.config.auto_reconnect {
                            return self.shutdown(ConnectionState::Error);
                        }
                        last_error = reason;
                    }
                }
            }
            attempt = attempt.saturating_add(1);
            if let Some(max) = self.config.max_reconnect_attempts {
                if attempt > max {
                    self.record_error(&format!(
                        "gave up after {max} reconnect attempts: {last_error}"
                    ));
                    return self.shutdown(ConnectionState::Error);
                }
            }
            self.set_state(ConnectionState::Reconnecting { attempt });
            let delay = backoff::jitter(self.config.reconnect_base(attempt), &mut self.rng);
            if let End::Stop = self.idle(delay).await {
                return self.shutdown(ConnectionState::Disconnected);
            }
            match timeout(self.config.connect_timeout, socket::open(&self.config)).await {
                Ok(Ok(ws)) => socket = Some(ws),
                Ok(Err(e)) => last_error = e.to_string(),
                Err(_) => last_error = "connect timed out".into(),
            }
            if socket.is_none() {
                tracing::info!(attempt, error = %last_error, "reconnect attempt failed");
            }
        }
    }

    /// Serves commands while waiting `delay` between reconnect attempts.
    async fn idle(&mut self, delay: std::time::Duration) -> End {
        let wake = sleep(delay);
        tokio::pin!(wake);
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                _ = &mut wake => return End::Lost(String::new()),
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Disconnect) => return End::Stop,
                    Some(cmd) => self.handle_command(cmd),
                },
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.expire(Instant::now());
                }
            }
        }
    }

    /// One connected session: resubscribe, then serve frames, commands and pings until the
    /// socket breaks or the user disconnects.
    async fn session(&mut self, ws: Ws) -> End {
        let (mut sink, mut stream) = ws.split();
        self.connection_opened();
        self.set_state(ConnectionState::Connected);
        let every = self.config.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + every, every);
        let mut last_rx = Instant::now();
        loop {
            while let Some(text) = self.out.pop_front() {
                if let Err(e) = sink.send(Message::Text(text.into())).await {
                    return End::Lost(format!("send failed: {e}"));
                }
            }
            let dead_at = last_rx + every * 2;
            let deadline = self.next_deadline();
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Disconnect) => {
                        let _ = sink.send(Message::Close(None)).await;
                        let _ = sink.close().await;
                        return End::Stop;
                    }
                    Some(cmd) => self.handle_command(cmd),
                },
                msg = stream.next() => {
                    last_rx = Instant::now();
                    match msg {
                        Some(Ok(msg)) => match socket::decode(msg) {
                            Incoming::Text(text) => self.handle_text(&text),
                            Incoming::Closed(reason) => return End::Lost(reason),
                            Incoming::Skip => {}
                        },
                        Some(Err(e)) => return End::Lost(e.to_string()),
                        None => return End::Lost("connection closed".into()),
                    }
                }
                _ = ping.tick() => self.out.push_back(r#"{"op":"ping"}"#.to_string()),
                _ = sleep_until(dead_at) => {
                    return End::Lost(format!("no frame or pong within {:?}", every * 2));
                }
                _ = sleep_until(deadline.unwrap_or(dead_at)), if deadline.is_some() => {
                    self.expire(Instant::now());
                }
            }
        }
    }

    /// A socket is open: forget the old socket's bookkeeping and subscribe every active view
    /// again, resuming after the last `seq` seen where the store is complete.
    fn connection_opened(&mut self) {
        self.connected = true;
        self.out.clear();
        self.pending.clear();
        self.retries.clear();
        self.receiving.clear();
        let targets: Vec<Target> = self.subs.keys().cloned().collect();
        for target in targets {
            self.send_subscribe(&target);
        }
    }

    fn connection_lost(&mut self) {
        self.connected = false;
        for sub in self.subs.values_mut() {
            sub.store.abort_snapshot();
            sub.loaded_at = None;
        }
    }

    /// The earliest instant a fetch or a subscription's load is due.
    fn next_deadline(&self) -> Option<Instant> {
        let fetches = self.fetches.values().map(|f| f.deadline);
        let loads = self.subs.values().filter_map(|s| s.loaded_at);
        let retries = self.retries.iter().map(|(at, _)| *at);
        fetches.chain(loads).chain(retries).min()
    }

    /// Subscriptions answered with `subscribed` but no snapshot for `initial_data_timeout`
    /// count as loaded (a server that sends no snapshot of an empty view); fetches past their
    /// deadline whose subscription was not even answered fail with a timeout.
    pub(super) fn expire(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retries)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.retries = later;
        for (_, target) in due {
            if self.connected && self.subs.contains_key(&target) {
                self.send_subscribe(&target);
            }
        }
        let loaded: Vec<Target> = self
            .subs
            .iter()
            .filter(|(_, s)| s.loaded_at.is_some_and(|t| t <= now))
            .map(|(t, _)| t.clone())
            .collect();
        for target in loaded {
            if let Some(sub) = self.subs.get_mut(&target) {
                sub.loaded_at = None;
                sub.store.set_ready();
            }
            self.receiving.remove(&target.view);
            self.became_ready(&target);
        }
        let limit = self.config.initial_data_timeout;
        let late: Vec<u64> = self
            .fetches
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .filter(|(_, f)| {
                self.subs
                    .get(&f.target)
                    .is_none_or(|s| s.loaded_at.is_none())
            })
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            let Some(fetch) = self.fetches.remove(&id) else {
                continue;
            };
            if let Some(sub) = self.subs.get_mut(&fetch.target) {
                sub.fetchers.retain(|f| *f != id);
            }
            let _ = fetch.reply.send(Err(HyperStackError::Timeout {
                what: format!("snapshot of {}", fetch.target.view),
                after: limit,
            }));
            self.release_if_unused(&fetch.target);
        }
    }

    /// Closes for good: sets the final state, fails waiting fetches, ends every stream.
    fn shutdown(mut self, state: ConnectionState) {
        let message = match &state {
            ConnectionState::Error => self
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_else(|| "connection failed".into()),
            _ => "disconnected".to_string(),
        };
        for (_, fetch) in self.fetches.drain() {
            let _ = fetch
                .reply
                .send(Err(HyperStackError::Closed(message.clone())));
        }
        self.listeners.clear();
        self.set_state(state);
    }
}
