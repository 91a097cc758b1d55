//! [`HyperStack`]: the client handle, its builder, and the typed entry points.

use std::fmt;
use std::time::Duration;

use tokio::sync::watch;

use crate::connection::{self, Command, Config, ConnectionHandle, ConnectionState, Target};
use crate::entity::Entity;
use crate::error::HyperStackError;
use crate::stream::{ChangeStream, EntityStream, RichEntityStream};
use crate::view::{ViewContext, Views};

/// A connection to a hyperstack server, with one merged store per subscribed view.
///
/// Cheap to clone (clones share the connection). The connection runs in a background task
/// until [`HyperStack::disconnect`], until every handle and stream is dropped, or until
/// reconnecting gives up.
///
/// ```no_run
/// use hyperstack_sdk::prelude::*;
/// # #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct Token { volume_sol: Option<u64> }
/// # struct TokenEntity;
/// # impl Entity for TokenEntity {
/// #     type Data = Token;
/// #     const NAME: &'static str = "Token";
/// #     const VIEWS: &'static [&'static str] = &["Token/state", "Token/list"];
/// # }
/// # async fn run() -> Result<(), HyperStackError> {
/// let hs = HyperStack::connect("ws://localhost:8877").await?;
/// let all: Vec<Token> = hs.list::<TokenEntity>().await;
/// let mut big = hs
///     .watch::<TokenEntity>()
///     .filter_map(|u| u.into_data())
///     .filter(|t| t.volume_sol.unwrap_or(0) > 1_000);
/// while let Some(token) = big.next().await {
///     println!("{token:?}");
/// }
/// # let _ = all; Ok(()) }
/// ```
#[derive(Clone)]
pub struct HyperStack {
    conn: ConnectionHandle,
}

impl fmt::Debug for HyperStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperStack")
            .field("url", &self.conn.config().shown_url())
            .field("state", &*self.conn.state().borrow())
            .finish()
    }
}

impl HyperStack {
    /// Connects with the default settings (see [`HyperStackBuilder`]).
    pub async fn connect(url: impl Into<String>) -> Result<HyperStack, HyperStackError> {
        HyperStack::builder().url(url).connect().await
    }

    /// A builder to configure reconnects, pings, timeouts and TLS.
    pub fn builder() -> HyperStackBuilder {
        HyperStackBuilder::default()
    }

    /// The server URL, as given to the builder. It may hold a token (`?token=`): logs,
    /// errors and `Debug` output show it redacted, but this returns it as it is.
    pub fn url(&self) -> &str {
        &self.conn.config().url
    }

    /// The connection state now.
    pub async fn connection_state(&self) -> ConnectionState {
        self.conn.state().borrow().clone()
    }

    /// Why the connection last failed (a lost connection, or why it gave up in
    /// [`ConnectionState::Error`]); `None` while nothing failed.
    pub async fn last_error(&self) -> Option<String> {
        self.conn.last_error()
    }

    /// A receiver of connection state changes (await `changed()` / `wait_for(..)`); the
    /// current state counts as seen.
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        let mut rx = self.conn.state().clone();
        rx.mark_unchanged();
        rx
    }

    /// Closes the connection; streams end, later calls fail with [`HyperStackError::Closed`].
    pub async fn disconnect(&self) {
        let _ = self.conn.command(Command::Disconnect);
        let mut state = self.conn.state().clone();
        let _ = state
            .wait_for(|s| matches!(s, ConnectionState::Disconnected | ConnectionState::Error))
            .await;
    }

    /// The entity `key` of `E` (its state view), or `None` when it does not exist or the
    /// data did not arrive within `initial_data_timeout` (see [`HyperStack::try_get`]).
    pub async fn get<E: Entity>(&self, key: &str) -> Option<E::Data> {
        match self.try_get::<E>(key).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(entity = E::NAME, %key, error = %e, "get failed");
                None
            }
        }
    }

    /// [`HyperStack::get`] with the reason of a failure.
    pub async fn try_get<E: Entity>(&self, key: &str) -> Result<Option<E::Data>, HyperStackError> {
        self.conn
            .get_view::<E::Data>(E::state_view(), Some(key.to_string()))
            .await
    }

    /// Every entity of `E` (its list view, in key order) once the snapshot is complete; empty
    /// when it did not arrive within `initial_data_timeout` (see [`HyperStack::try_list`]).
    pub async fn list<E: Entity>(&self) -> Vec<E::Data> {
        match self.try_list::<E>().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(entity = E::NAME, error = %e, "list failed");
                Vec::new()
            }
        }
    }

    /// [`HyperStack::list`] with the reason of a failure.
    pub async fn try_list<E: Entity>(&self) -> Result<Vec<E::Data>, HyperStackError> {
        self.conn.list_view::<E::Data>(E::list_view()).await
    }

    /// Every change of every entity of `E` (its list view).
    pub fn watch<E: Entity>(&self) -> EntityStream<E::Data> {
        EntityStream::new(self.changes(vec![target(E::list_view(), None)], false))
    }

    /// Every change of the entity `key` of `E` (its state view).
    pub fn watch_key<E: Entity>(&self, key: &str) -> EntityStream<E::Data> {
        EntityStream::new(self.changes(vec![target(E::state_view(), Some(key))], false))
    }

    /// Every change of the entities `keys` of `E` (one state subscription per distinct key,
    /// one stream).
    pub fn watch_keys<E: Entity>(&self, keys: &[impl AsRef<str>]) -> EntityStream<E::Data> {
        let mut targets: Vec<Target> = Vec::with_capacity(keys.len());
        for k in keys {
            let t = target(E::state_view(), Some(k.as_ref()));
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        EntityStream::new(self.changes(targets, false))
    }

    /// Every change of every entity of `E`, with before/after and the patch.
    pub fn watch_rich<E: Entity>(&self) -> RichEntityStream<E::Data> {
        RichEntityStream::new(self.changes(vec![target(E::list_view(), None)], true))
    }

    /// Every change of the entity `key` of `E`, with before/after and the patch.
    pub fn watch_key_rich<E: Entity>(&self, key: &str) -> RichEntityStream<E::Data> {
        RichEntityStream::new(self.changes(vec![target(E::state_view(), Some(key))], true))
    }

    /// The generated typed accessor of an entity's views, bound to this connection.
    ///
    /// ```no_run
    /// # async fn run(hs: hyperstack_sdk::HyperStack) {
    /// use pump_stack::{Token, TokenViews};
    /// let views = hs.views::<TokenViews>();
    /// let trending: Vec<Token> = views.trending().get().await;
    /// let one: Option<Token> = views.state().get("<bonding curve>").await;
    /// # let _ = (trending, one); }
    /// ```
    pub fn views<V: Views>(&self) -> V {
        V::from_context(ViewContext::bound(self.conn.clone()))
    }

    fn changes(&self, targets: Vec<Target>, rich: bool) -> ChangeStream {
        ChangeStream::new(self.conn.clone(), targets, rich)
    }
}

fn target(view: String, key: Option<&str>) -> Target {
    Target {
        view,
        key: key.map(str::to_string),
    }
}

/// Configures a [`HyperStack`] connection.
///
/// Defaults: `auto_reconnect(true)` with no limit on attempts (`max_reconnect_attempts(n)`
/// sets one), delays of 1 s doubling up to 30 s (`reconnect_intervals(..)` replaces that base
/// schedule) with full jitter on top — each delay drawn uniformly between zero and its base,
/// so clients of a restarted server do not reconnect in lockstep — `ping_interval(15s)` (a
/// connection silent for twice that is dead), `initial_data_timeout(10s)`,
/// `connect_timeout(10s)`, the webpki root certificates, no token, `append_deltas(true)`.
/// Tokens (`auth_token`, or `?token=` in the URL) are redacted from logs, errors and `Debug`
/// output.
///
/// ```no_run
/// # async fn run() -> Result<(), hyperstack_sdk::HyperStackError> {
/// use std::time::Duration;
/// let hs = hyperstack_sdk::HyperStack::builder()
///     .url("wss://stack.example.com")
///     .auto_reconnect(true)
///     .max_reconnect_attempts(5)
///     .reconnect_intervals(vec![Duration::from_millis(500), Duration::from_secs(2)])
///     .ping_interval(Duration::from_secs(10))
///     .initial_data_timeout(Duration::from_secs(5))
///     .connect()
///     .await?;
/// # let _ = hs; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HyperStackBuilder {
    config: Config,
}

impl Default for HyperStackBuilder {
    fn default() -> Self {
        HyperStackBuilder {
            config: Config {
                url: String::new(),
                auth_token: None,
                auto_reconnect: true,
                max_reconnect_attempts: None,
                reconnect_intervals: None,
                ping_interval: Duration::from_secs(15),
                initial_data_timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(10),
                tls_roots: Vec::new(),
                max_subscriptions: 64,
                append_deltas: true,
            },
        }
    }
}

impl HyperStackBuilder {
    /// The server URL (`ws://host:port` or `wss://host:port`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.config.url = url.into();
        self
    }

    /// Whether to reconnect (and resume every subscription) when the connection is lost.
    pub fn auto_reconnect(mut self, on: bool) -> Self {
        self.config.auto_reconnect = on;
        self
    }

    /// Reconnect attempts after a loss before giving up with [`ConnectionState::Error`]
    /// (default: no limit).
    pub fn max_reconnect_attempts(mut self, n: u32) -> Self {
        self.config.max_reconnect_attempts = Some(n);
        self
    }

    /// Base delays before reconnect attempts 1, 2, …; the last one repeats (an empty list
    /// means 1 s). Jitter applies on top: each delay is drawn between zero and its base.
    pub fn reconnect_intervals(mut self, intervals: Vec<Duration>) -> Self {
        self.config.reconnect_intervals = Some(intervals);
        self
    }

    /// Presents `token` as `Authorization: Bearer <token>` when connecting (rather than in
    /// the URL, where proxies and access logs may record it).
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.config.auth_token = Some(token.into());
        self
    }

    /// The subscriptions per connection assumed until the server announces its limit
    /// (default 64, the hyperstack server's default): watching more keys of one state view
    /// than this uses the list view instead, filtered on the client.
    pub fn subscription_limit(mut self, n: usize) -> Self {
        self.config.max_subscriptions = n.max(1);
        self
    }

    /// Whether append views send the changes of an entity already held (the changed fields
    /// and the appended items) instead of the whole entity every time (default `true`: the
    /// subscribe says `"delta":true`; docs/PROTOCOL.md, "Append deltas"). Either way the
    /// merged copy, and what `watch` streams yield, are the same: each change of an append
    /// view is an [`Update::Upsert`](crate::Update::Upsert) of the whole entity. `false`
    /// asks for full upserts, as servers without deltas send anyway.
    pub fn append_deltas(mut self, on: bool) -> Self {
        self.config.append_deltas = on;
        self
    }

    /// How often to send `{"op":"ping"}`; no frame for twice this long means the peer is dead.
    pub fn ping_interval(mut self, every: Duration) -> Self {
        self.config.ping_interval = every.max(Duration::from_millis(1));
        self
    }

    /// How long `get` / `list` wait for a view's snapshot.
    pub fn initial_data_timeout(mut self, limit: Duration) -> Self {
        self.config.initial_data_timeout = limit;
        self
    }

    /// How long one connection attempt may take.
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.config.connect_timeout = limit;
        self
    }

    /// Trusts this root certificate (DER) for `wss://`, besides the built-in roots; e.g. a
    /// private CA or a development server's self-signed certificate.
    pub fn tls_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.config.tls_roots.push(der.into());
        self
    }

    /// Opens the connection (failing if the first attempt fails) and starts its task.
    pub async fn connect(self) -> Result<HyperStack, HyperStackError> {
        let config = self.config;
        if !(config.url.starts_with("ws://") || config.url.starts_with("wss://")) {
            return Err(HyperStackError::InvalidUrl(config.shown_url()));
        }
        let ws = match tokio::time::timeout(config.connect_timeout, connection::open(&config)).await
        {
            Ok(r) => r?,
            Err(_) => {
                return Err(HyperStackError::Connect {
                    url: config.shown_url(),
                    message: "timed out".into(),
                })
            }
        };
        Ok(HyperStack {
            conn: connection::spawn(config, ws),
        })
    }
}
