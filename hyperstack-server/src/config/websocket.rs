//! WebSocket listener settings: address, capacity, limits per connection, timeouts,
//! authentication, allowed origins, TLS. Every limit is answered on the wire as documented in
//! docs/PROTOCOL.md (an `error` frame, a close code, or an HTTP status at the upgrade).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::tls::TlsConfig;

/// WebSocket listener settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSocketConfig {
    /// Address to listen on (default `[::]:8877`).
    pub bind_address: SocketAddr,
    /// Most concurrent clients (default 10 000); further connections are closed with 1013
    /// after their handshake.
    pub max_clients: usize,
    /// Frames queued per client before it counts as lagging (default 1 024).
    pub message_queue_size: usize,
    /// Most subscriptions one client may hold, counted by distinct (view, key) (default 64);
    /// more are refused with `too_many_subscriptions`.
    pub max_subscriptions_per_client: usize,
    /// Tokens accepted (any one of them, so a token can be rotated without downtime); empty
    /// (the default): no authentication. Clients present one as `Authorization: Bearer <t>`
    /// or `?token=<t>`; without a valid one the upgrade is refused with HTTP 401.
    pub auth_tokens: Vec<String>,
    /// Browser origins allowed to connect (`https://app.example.com`); empty (the default):
    /// any. A request whose `Origin` header is not listed is refused with HTTP 403; requests
    /// without `Origin` (non-browser clients) are not affected.
    pub allowed_origins: Vec<String>,
    /// Serve `wss://` with this certificate (default: plain `ws://`).
    pub tls: Option<TlsConfig>,
    /// Limits per connection and per client address.
    pub limits: ConnectionLimits,
    /// Handshake, ping and write timeouts.
    pub timeouts: ConnectionTimeouts,
    /// Behind a load balancer: where the client's address comes from (default: the TCP peer).
    pub client_ip: Option<ClientIpHeader>,
    /// Keys of an append view each subscription with `"delta":true` remembers as held whole
    /// (default 4 096): a frame about a key it does not remember (first sight, or forgotten,
    /// oldest first, beyond this bound) is sent as the full `upsert` instead of a `patch`.
    /// The bound limits memory, never correctness (docs/PROTOCOL.md, "Append deltas").
    pub delta_keys_per_subscription: usize,
}

impl WebSocketConfig {
    /// Defaults, listening on `addr`.
    pub fn new(addr: SocketAddr) -> WebSocketConfig {
        WebSocketConfig {
            bind_address: addr,
            ..WebSocketConfig::default()
        }
    }

    /// Adds an accepted token (several may be accepted at once, for rotation).
    ///
    /// ```
    /// use hyperstack_server::WebSocketConfig;
    /// let ws = WebSocketConfig::default().with_auth_token("new").with_auth_token("old");
    /// assert_eq!(ws.auth_tokens, ["new", "old"]);
    /// ```
    pub fn with_auth_token(mut self, token: impl Into<String>) -> WebSocketConfig {
        self.auth_tokens.push(token.into());
        self
    }
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        WebSocketConfig {
            bind_address: SocketAddr::from(([0u16; 8], 8877)),
            max_clients: 10_000,
            message_queue_size: 1_024,
            max_subscriptions_per_client: 64,
            auth_tokens: Vec::new(),
            allowed_origins: Vec::new(),
            tls: None,
            limits: ConnectionLimits::default(),
            timeouts: ConnectionTimeouts::default(),
            client_ip: None,
            delta_keys_per_subscription: 4_096,
        }
    }
}

/// What one connection (and one client address) may do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionLimits {
    /// Largest message (and frame) a client may send, in bytes (default 16 KiB). A larger one
    /// is refused by the WebSocket layer as soon as its header announces the size — it is
    /// never buffered — and the connection is closed with 1009.
    pub max_message_size: usize,
    /// Longest `view` name, in bytes (default 128); longer: `view_too_long`.
    pub max_view_length: usize,
    /// Longest entity `key`, in bytes (default 256); longer: `key_too_long`.
    pub max_key_length: usize,
    /// Subscribe messages per connection (a re-subscribe counts: it is a resync); beyond it
    /// they are refused with `rate_limited` (default 20/s, bursts of 128).
    pub subscribe_rate: RateLimit,
    /// Messages of any kind per connection (default 100/s, bursts of 400); a client that
    /// sends faster is closed with 1008. Pings and unsubscribes count; this bounds the work
    /// (and the `error` frames) one connection can cause.
    pub message_rate: RateLimit,
    /// Most connections from one client address (default `None`: off). Beyond it the
    /// connection is closed with 1008 after its handshake. Behind a load balancer set
    /// [`WebSocketConfig::client_ip`], or every client shares the balancer's address.
    pub max_connections_per_ip: Option<usize>,
    /// TCP connections whose handshake is still under way (default 1 024); further ones are
    /// closed at once (counted as `handshake_capacity`).
    pub max_pending_handshakes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_message_size: 16 * 1024,
            max_view_length: 128,
            max_key_length: 256,
            subscribe_rate: RateLimit::new(20.0, 128),
            message_rate: RateLimit::new(100.0, 400),
            max_connections_per_ip: None,
            max_pending_handshakes: 1_024,
        }
    }
}

/// A token bucket: `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained rate.
    pub per_second: f64,
    /// Largest burst (the bucket's size).
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` sustained, bursts of `burst`.
    pub fn new(per_second: f64, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }
}

/// Timeouts of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// From TCP accept to a completed WebSocket (and TLS) handshake (default 5 s); a
    /// connection only counts against `max_clients` once its handshake is complete.
    pub handshake: Duration,
    /// How often the server sends a WebSocket ping (default 20 s).
    pub ping_interval: Duration,
    /// How long a peer has to show life (a pong, or any message) after a ping (default
    /// 20 s); a peer that does not is closed (1008). A client that is merely quiet — it
    /// sends nothing, its views change rarely — answers pings and stays connected.
    pub pong_timeout: Duration,
    /// Longest a single write to a client may block (default 10 s): a reader that stopped
    /// reading (a zero receive window) is dropped, and never holds its task past shutdown.
    pub write: Duration,
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        ConnectionTimeouts {
            handshake: Duration::from_secs(5),
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(20),
            write: Duration::from_secs(10),
        }
    }
}

/// Deployments behind a load balancer or reverse proxy: take the client's address from a
/// request header set by the proxy, but only on connections from the proxy itself (anyone
/// else could forge the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIpHeader {
    /// The header (`x-forwarded-for`, `x-real-ip`, …); its last (rightmost) address is used,
    /// the one the trusted proxy appended.
    pub header: String,
    /// Addresses of the proxies whose header is believed. Connections from other peers are
    /// counted by their TCP address.
    pub trusted_proxies: Vec<IpAddr>,
}

impl ClientIpHeader {
    /// `X-Forwarded-For`, believed from `proxies`.
    pub fn forwarded_for(proxies: Vec<IpAddr>) -> ClientIpHeader {
        ClientIpHeader {
            header: "x-forwarded-for".into(),
            trusted_proxies: proxies,
        }
    }
}
