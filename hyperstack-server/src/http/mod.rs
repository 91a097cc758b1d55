//! The HTTP endpoint: `/health`, `/ready`, `/views`, `/metrics`.
//!
//! - `GET /health`: 200 `{"status":"ok"}` (liveness), plus `"stream"`, a
//!   [`HealthSnapshot`](crate::health::HealthSnapshot), when a monitor is present (its error
//!   text with endpoint URLs replaced by `<endpoint>`: no secrets, no addresses); 503
//!   `{"status":"failed","task":"…"}` once a critical task failed;
//! - `GET /ready`: 200 `{"ready":true}` once [`HttpState::ready`] is set and the stream (if
//!   monitored) is healthy — connected and not stale — or a finite source has delivered
//!   everything; else 503 `{"ready":false,"reason":"…"}` (also while shutting down, and after
//!   a failure);
//! - `GET /views`: 200, a JSON array of [`ViewDescription`];
//! - `GET /metrics`: 200, [`Metrics::render_prometheus`] as `text/plain; version=0.0.4`.
//!
//! With [`HttpState::metrics_token`] set, `/views` and `/metrics` need
//! `Authorization: Bearer <token>` (else 401); `/health` and `/ready` stay open for probes.
//!
//! Any other path is 404 `{"error":"not found"}`; another method on a known path is 405.
//! [`serve`] runs it: HTTP/1.1, one task per connection, graceful shutdown.

mod routes;

use std::convert::Infallible;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::health::HealthMonitor;
use crate::metrics::Metrics;

/// How long a client may take to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`serve`] waits for open connections to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the endpoint reports on; clones share everything.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// The upstream monitor, when health monitoring is enabled.
    pub health: Option<HealthMonitor>,
    /// The server's counters.
    pub metrics: Arc<Metrics>,
    /// The views served, for `/views`.
    pub views: Arc<Vec<ViewDescription>>,
    /// Set once the server is up (listeners bound, stack loaded); `/ready` needs it.
    pub ready: Arc<AtomicBool>,
    /// The state store opening, ingestion catching up after a restart.
    pub readiness: Arc<crate::ready::Readiness>,
    /// When set, `/views` and `/metrics` need `Authorization: Bearer <token>`.
    pub metrics_token: Option<Arc<str>>,
    /// The server's failure, once a critical task failed (`/health` and `/ready` answer 503).
    pub failure: Option<watch::Receiver<Option<crate::Failure>>>,
}

/// One view as listed by `GET /views`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ViewDescription {
    /// The name clients subscribe to, e.g. `Token/list`.
    pub view: String,
    /// The entity it shows, e.g. `Token`.
    pub entity: String,
    /// `state`, `list`, `append` or a derived mode.
    pub mode: String,
    /// The order of a sorted view.
    pub sort: Option<SortDescription>,
    /// The entity's fields.
    pub fields: Vec<String>,
}

/// The order of a sorted view.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SortDescription {
    /// Path of the sort field (`["last_trade_slot"]`, or nested segments).
    pub field: Vec<String>,
    /// `asc` or `desc`.
    pub order: String,
}

/// Serves the endpoint on `listener` until `shutdown` becomes true (or its sender is dropped).
///
/// Then it stops accepting, asks open connections to close after their current request and
/// waits for them (at most a few seconds). Failed accepts are logged and retried, so this
/// returns `Ok(())` once shut down.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP health endpoint listening");
    }
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "HTTP connection");
                    connections.spawn(serve_connection(stream, state.clone(), shutdown.clone()));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "HTTP accept failed");
                    tokio::select! {
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        _ = wait_for_shutdown(shutdown.clone()) => {}
                    }
                }
            },
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        tracing::debug!(
            open = connections.len(),
            "closing HTTP connections still open"
        );
        connections.shutdown().await;
    }
    tracing::info!("HTTP health endpoint stopped");
    Ok(())
}

/// Resolves once `shutdown` is true or its sender is gone.
async fn wait_for_shutdown(mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 connection; finishes the request in flight, then closes, on shutdown.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    state: HttpState,
    shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(routes::route(&state, &req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = wait_for_shutdown(shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "HTTP connection ended with an error");
    }
}
