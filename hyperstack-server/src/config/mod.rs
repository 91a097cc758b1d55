//! Server configuration: every knob with the documented defaults.

use std::net::SocketAddr;
use std::time::Duration;

mod tls;
mod websocket;

pub use tls::{TlsConfig, TlsError};
pub use websocket::{
    ClientIpHeader, ConnectionLimits, ConnectionTimeouts, RateLimit, WebSocketConfig,
};

/// Per-view entity cache and snapshot batching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityCacheConfig {
    /// Entities kept per entity type (least recently updated evicted first).
    pub max_entities_per_view: usize,
    /// Entities in the first snapshot batch.
    pub initial_snapshot_batch_size: usize,
    /// Entities in each later snapshot batch.
    pub subsequent_snapshot_batch_size: usize,
    /// Frames kept per view for clients resuming with `after`.
    pub resume_log_size: usize,
}

impl Default for EntityCacheConfig {
    fn default() -> Self {
        EntityCacheConfig {
            max_entities_per_view: 500,
            initial_snapshot_batch_size: 50,
            subsequent_snapshot_batch_size: 100,
            resume_log_size: 1_024,
        }
    }
}

/// Memory bounds of the transform stage's state. They limit memory only: every entity,
/// lookup entry and account version is kept in the state store, and read back when it is
/// needed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateTableConfig {
    /// Records of each kind (entity states per entity type, lookup entries per index,
    /// account versions) held in memory.
    pub max_entries: usize,
    /// Longest array an `append` field keeps.
    pub max_array_length: usize,
}

impl Default for StateTableConfig {
    fn default() -> Self {
        StateTableConfig {
            max_entries: 2_500,
            max_array_length: 100,
        }
    }
}

/// How long events and instructions whose lookup key is not registered yet wait for it
/// (e.g. trades of a token whose `create` was not seen yet). They are applied, in order, when
/// the lookup arrives; what exceeds a bound is dropped, counted in
/// `hyperstack_unresolved_dropped_total{reason}` and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnresolvedConfig {
    /// Items waiting for one looked-up value (default 256; the oldest are dropped first).
    pub max_per_key: usize,
    /// Items waiting in all (default 50 000).
    pub max_total: usize,
    /// Slots an item may wait (default 9 000, about an hour); counted in slots so a replay
    /// at any speed drops the same items.
    pub max_age_slots: u64,
}

impl Default for UnresolvedConfig {
    fn default() -> Self {
        UnresolvedConfig {
            max_per_key: 256,
            max_total: 50_000,
            max_age_slots: 9_000,
        }
    }
}

/// Health monitoring of the upstream stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// How often the monitor checks the stream (default 30 s).
    pub heartbeat_interval: Duration,
    /// How long without events before the stream counts as stale (default 10 s).
    pub health_check_timeout: Duration,
}

impl HealthConfig {
    /// Defaults: heartbeat 30 s, timeout 10 s.
    pub fn new() -> HealthConfig {
        HealthConfig::default()
    }

    /// Sets the heartbeat interval.
    pub fn with_heartbeat_interval(mut self, d: Duration) -> HealthConfig {
        self.heartbeat_interval = d;
        self
    }

    /// Sets the staleness timeout.
    pub fn with_health_check_timeout(mut self, d: Duration) -> HealthConfig {
        self.health_check_timeout = d;
        self
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            heartbeat_interval: Duration::from_secs(30),
            health_check_timeout: Duration::from_secs(10),
        }
    }
}

/// The HTTP endpoint for `/health`, `/ready`, `/views`, `/metrics`.
///
/// `/health` and `/ready` stay open on the default address — orchestrator probes need them
/// and they carry nothing secret — while `/metrics` and `/views` can require a token.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpHealthConfig {
    /// Address to listen on (default `0.0.0.0:8081`).
    pub bind_address: SocketAddr,
    /// When set, `/metrics` and `/views` need `Authorization: Bearer <token>` (else 401).
    pub metrics_token: Option<String>,
}

impl HttpHealthConfig {
    /// Listening on `addr`, no token.
    pub fn new(addr: SocketAddr) -> HttpHealthConfig {
        HttpHealthConfig {
            bind_address: addr,
            metrics_token: None,
        }
    }

    /// Requires `token` for `/metrics` and `/views`.
    pub fn with_metrics_token(mut self, token: impl Into<String>) -> HttpHealthConfig {
        self.metrics_token = Some(token.into());
        self
    }
}

impl std::fmt::Debug for HttpHealthConfig {
    // The token is a secret: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpHealthConfig")
            .field("bind_address", &self.bind_address)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Default for HttpHealthConfig {
    fn default() -> Self {
        HttpHealthConfig::new(SocketAddr::from(([0, 0, 0, 0], 8081)))
    }
}

/// Reconnection policy of the upstream client. Plain data: the reconnect loop keeps its own
/// state (attempt count, current delay) and asks [`ReconnectionConfig::next_backoff`] for the
/// next delay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectionConfig {
    /// First delay (default 100 ms).
    pub initial_delay: Duration,
    /// Longest delay (default 60 s).
    pub max_delay: Duration,
    /// Attempts before giving up (default `None`: unlimited).
    pub max_attempts: Option<u32>,
    /// Growth per attempt (default ×2.0; values below 1 count as 1).
    pub backoff_multiplier: f64,
    /// HTTP/2 keep-alive interval of the gRPC connection (default 30 s; `None` disables it).
    pub http2_keep_alive_interval: Option<Duration>,
}

impl ReconnectionConfig {
    /// The defaults: 100 ms, 60 s, unlimited attempts, ×2.0, keep-alive 30 s.
    pub fn new() -> ReconnectionConfig {
        ReconnectionConfig::default()
    }

    /// Sets the first delay.
    pub fn with_initial_delay(mut self, d: Duration) -> Self {
        self.initial_delay = d;
        self
    }

    /// Sets the longest delay.
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Sets the growth factor per attempt.
    pub fn with_backoff_multiplier(mut self, m: f64) -> Self {
        self.backoff_multiplier = m;
        self
    }

    /// Sets the attempt limit.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Sets the HTTP/2 keep-alive interval.
    pub fn with_http2_keep_alive_interval(mut self, d: Duration) -> Self {
        self.http2_keep_alive_interval = Some(d);
        self
    }

    /// The delay after `current`: multiplied by `backoff_multiplier`, capped at `max_delay`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hyperstack_server::ReconnectionConfig;
    /// let r = ReconnectionConfig::default();
    /// assert_eq!(r.next_backoff(Duration::from_millis(100)), Duration::from_millis(200));
    /// assert_eq!(r.next_backoff(Duration::from_secs(50)), Duration::from_secs(60));
    /// ```
    pub fn next_backoff(&self, current: Duration) -> Duration {
        let factor = if self.backoff_multiplier.is_finite() {
            self.backoff_multiplier.max(1.0)
        } else {
            1.0
        };
        let next = current.as_secs_f64() * factor;
        if next >= self.max_delay.as_secs_f64() {
            self.max_delay
        } else {
            Duration::from_secs_f64(next)
        }
    }
}

impl Default for ReconnectionConfig {
    fn default() -> Self {
        ReconnectionConfig {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(60),
            max_attempts: None,
            backoff_multiplier: 2.0,
            http2_keep_alive_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// Upstream Yellowstone gRPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YellowstoneConfig {
    /// Endpoint URL (`https://…:443`).
    pub endpoint: String,
    /// `x-token`, if the endpoint needs one.
    pub x_token: Option<String>,
}

impl YellowstoneConfig {
    /// An endpoint without token.
    pub fn new(endpoint: impl Into<String>) -> YellowstoneConfig {
        YellowstoneConfig {
            endpoint: endpoint.into(),
            x_token: None,
        }
    }

    /// Sets the `x-token`.
    pub fn with_x_token(mut self, token: impl Into<String>) -> YellowstoneConfig {
        self.x_token = Some(token.into());
        self
    }

    /// Sets the `x-token`.
    #[deprecated(
        since = "0.2.0",
        note = "renamed to `with_x_token` (the field is `x_token`)"
    )]
    pub fn with_token(self, token: impl Into<String>) -> YellowstoneConfig {
        self.with_x_token(token)
    }

    /// From `YELLOWSTONE_ENDPOINT` (+ `YELLOWSTONE_X_TOKEN`, or the older `YELLOWSTONE_TOKEN`),
    /// if set.
    pub fn from_env() -> Option<YellowstoneConfig> {
        let endpoint = std::env::var("YELLOWSTONE_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())?;
        let mut config = YellowstoneConfig::new(endpoint);
        let token = ["YELLOWSTONE_X_TOKEN", "YELLOWSTONE_TOKEN"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|t| !t.is_empty()));
        if let Some(token) = token {
            config = config.with_x_token(token);
        }
        Some(config)
    }
}

/// Everything the server runs with. `None` means that component's default: the WebSocket
/// listener always runs (default [`WebSocketConfig`]); health monitoring, the HTTP endpoint
/// and reconnection run with their defaults; without `yellowstone` the server ingests the
/// builder's replay source, if any.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// WebSocket listener.
    pub websocket: Option<WebSocketConfig>,
    /// Upstream endpoint; `None` uses the embedded replay source (when one is given).
    pub yellowstone: Option<YellowstoneConfig>,
    /// Health monitoring of the upstream stream.
    pub health: Option<HealthConfig>,
    /// HTTP endpoint (`/health`, `/ready`, `/views`, `/metrics`); `None` disables it.
    pub http_health: Option<HttpHealthConfig>,
    /// Upstream reconnection policy.
    pub reconnection: Option<ReconnectionConfig>,
    /// Entity cache and snapshots.
    pub cache: EntityCacheConfig,
    /// State table bounds.
    pub state_table: StateTableConfig,
    /// The state store (default: a temporary directory).
    pub store: crate::store::StoreConfig,
    /// Items waiting for a lookup.
    pub unresolved: UnresolvedConfig,
    /// With a live source, `/ready` needs ingestion within this many slots of the
    /// upstream's latest slot (default 32, about 13 s).
    pub ready_max_lag_slots: u64,
    /// Endpoints of the resolvers (fields filled from outside the chain); none by default.
    pub resolvers: crate::resolve::ResolverConfig,
    /// A Solana JSON-RPC endpoint the Yellowstone source bootstraps the programs' existing
    /// accounts from (`getProgramAccounts`) on a first start, and again when the checkpoint
    /// is older than the upstream's replay window; none by default.
    pub rpc_bootstrap: Option<crate::source::rpc::RpcConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            websocket: None,
            yellowstone: None,
            health: None,
            http_health: None,
            reconnection: None,
            cache: EntityCacheConfig::default(),
            state_table: StateTableConfig::default(),
            store: crate::store::StoreConfig::default(),
            unresolved: UnresolvedConfig::default(),
            ready_max_lag_slots: 32,
            resolvers: crate::resolve::ResolverConfig::default(),
            rpc_bootstrap: None,
        }
    }
}

impl ServerConfig {
    /// The defaults.
    pub fn new() -> ServerConfig {
        ServerConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let ws = WebSocketConfig::default();
        assert_eq!(ws.bind_address.to_string(), "[::]:8877");
        assert_eq!(
            (
                ws.max_clients,
                ws.message_queue_size,
                ws.max_subscriptions_per_client
            ),
            (10_000, 1_024, 64)
        );
        let l = ws.limits;
        assert_eq!(
            (l.max_message_size, l.max_view_length, l.max_key_length),
            (16 * 1024, 128, 256)
        );
        assert_eq!(l.subscribe_rate, RateLimit::new(20.0, 128));
        assert_eq!(l.message_rate, RateLimit::new(100.0, 400));
        assert_eq!(
            (l.max_connections_per_ip, l.max_pending_handshakes),
            (None, 1_024)
        );
        let t = ws.timeouts;
        assert_eq!(
            (t.handshake, t.ping_interval, t.pong_timeout, t.write),
            (
                Duration::from_secs(5),
                Duration::from_secs(20),
                Duration::from_secs(20),
                Duration::from_secs(10)
            )
        );
        assert!(ws.auth_tokens.is_empty() && ws.allowed_origins.is_empty());
        assert!(ws.tls.is_none() && ws.client_ip.is_none());
        let cache = EntityCacheConfig::default();
        assert_eq!(
            (
                cache.max_entities_per_view,
                cache.initial_snapshot_batch_size,
                cache.subsequent_snapshot_batch_size
            ),
            (500, 50, 100)
        );
        let table = StateTableConfig::default();
        assert_eq!((table.max_entries, table.max_array_length), (2_500, 100));
        let health = HealthConfig::new();
        assert_eq!(health.heartbeat_interval, Duration::from_secs(30));
        assert_eq!(health.health_check_timeout, Duration::from_secs(10));
        assert_eq!(
            HttpHealthConfig::default().bind_address.to_string(),
            "0.0.0.0:8081"
        );
    }

    #[test]
    fn reconnection_defaults_and_backoff() {
        let r = ReconnectionConfig::default();
        assert_eq!(
            (
                r.initial_delay,
                r.max_delay,
                r.max_attempts,
                r.backoff_multiplier
            ),
            (
                Duration::from_millis(100),
                Duration::from_secs(60),
                None,
                2.0
            )
        );
        assert_eq!(r.http2_keep_alive_interval, Some(Duration::from_secs(30)));
        let mut d = r.initial_delay;
        let mut delays = Vec::new();
        for _ in 0..12 {
            delays.push(d.as_millis() as u64);
            d = r.next_backoff(d);
        }
        assert_eq!(&delays[..4], &[100, 200, 400, 800]);
        assert_eq!(delays[11], 60_000, "capped at max_delay");
        let odd = ReconnectionConfig {
            backoff_multiplier: f64::NAN,
            ..ReconnectionConfig::default()
        };
        assert_eq!(
            odd.next_backoff(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        let shrink = ReconnectionConfig::new().with_backoff_multiplier(0.5);
        assert_eq!(
            shrink.next_backoff(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
