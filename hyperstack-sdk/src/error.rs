//! Errors of the client.

use std::time::Duration;

/// Everything that can go wrong talking to a hyperstack server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HyperStackError {
    /// The builder was not given a URL, or the URL is not `ws://` / `wss://`.
    #[error("invalid URL `{0}`: expected ws://host:port or wss://host:port")]
    InvalidUrl(String),
    /// The WebSocket connection could not be opened.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// TLS could not be set up (bad root certificate, no TLS support compiled in).
    #[error("TLS: {0}")]
    Tls(String),
    /// Waiting for data took longer than allowed (`initial_data_timeout`).
    #[error("{what} did not arrive within {after:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        after: Duration,
    },
    /// The server refused a request with an `error` frame.
    #[error("server error {code} for {view:?}: {message}")]
    Server {
        /// The view concerned, when the server named one.
        view: Option<String>,
        /// The error code (`unknown_view`, `bad_key`, `too_many_subscriptions`, …).
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The connection is closed for good: disconnected, or reconnect attempts exhausted.
    #[error("connection closed: {0}")]
    Closed(String),
    /// A view handle from a detached [`crate::ViewContext`] was asked for data; get handles from
    /// `HyperStack::views()` instead.
    #[error("view `{0}` is not bound to a connection: use `HyperStack::views::<V>()`")]
    Detached(String),
}
