//! The listener: accepts TCP connections and admits WebSocket clients.
//!
//! Order of admission: a bounded number of handshakes may be under way at once; the TLS and
//! WebSocket handshakes together must finish within the handshake timeout; the upgrade
//! request must carry an accepted token (else 401) and an allowed `Origin` (else 403); only
//! then does the connection count — against `max_clients` (else close 1013) and against its
//! address's `max_connections_per_ip` (else close 1008). Connection tasks live in a
//! `JoinSet`: they are joined at shutdown, and aborted with it if the grace period runs out.

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig as WsConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::client::{self, ClientContext};
use super::limits::{client_ip, PerIp, Slot};
use super::Connections;
use crate::auth::{bearer, query_token, Tokens};
use crate::config::WebSocketConfig;
use crate::metrics::RefusalReason;
use crate::supervise::TaskExit;

/// Read buffer of a connection (tungstenite allocates it up front). Clients send only small
/// control messages: 4 KiB instead of tungstenite's 128 KiB keeps idle connections cheap.
const READ_BUFFER: usize = 4 * 1024;
/// First pause after a failed `accept` (e.g. out of file descriptors); doubled while it
/// keeps failing, up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// What the listener shares with every connection.
pub(crate) struct Edge {
    pub ctx: ClientContext,
    pub config: WebSocketConfig,
    pub tokens: Tokens,
    pub connections: Arc<Connections>,
    pub per_ip: Arc<PerIp>,
    pub handshakes: Arc<AtomicUsize>,
    pub tls: Option<TlsAcceptor>,
}

impl Edge {
    /// Shared state for a listener with `config`.
    pub fn new(ctx: ClientContext, config: WebSocketConfig, connections: Arc<Connections>) -> Edge {
        let tokens = Tokens::new(&config.auth_tokens);
        let tls = config
            .tls
            .as_ref()
            .map(|t| TlsAcceptor::from(t.server_config()));
        Edge {
            ctx,
            tokens,
            connections,
            per_ip: Arc::new(PerIp::default()),
            handshakes: Arc::new(AtomicUsize::new(0)),
            tls,
            config,
        }
    }
}

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Accepts until `stop`, then joins the connection tasks (they flush and close when the
/// shutdown sequence tells them to; the server bounds the wait by its grace period).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    edge: Arc<Edge>,
    mut stop: watch::Receiver<bool>,
) -> TaskExit {
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut next_id: u64 = 1;
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stop) => break,
            Some(done) = tasks.join_next() => {
                report(done);
                continue;
            }
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was accepted:
                // pause (longer while it lasts) rather than spin.
                if failing {
                    tracing::debug!(error = %e, pause_ms = backoff.as_millis() as u64, "accept failed again");
                } else {
                    tracing::warn!(error = %e, "accept failed: backing off");
                }
                failing = true;
                tokio::select! {
                    _ = stopped(&mut stop) => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        if failing {
            tracing::info!("accepting again");
        }
        failing = false;
        backoff = ACCEPT_BACKOFF_MIN;
        crate::failpoint::hit("websocket.accept");
        let Some(slot) = Slot::acquire(&edge.handshakes, edge.config.limits.max_pending_handshakes)
        else {
            tracing::debug!(%peer, "too many handshakes under way: connection closed");
            edge.ctx.metrics.refused(RefusalReason::HandshakeCapacity);
            continue;
        };
        let id = next_id;
        next_id += 1;
        tasks.spawn(connection(stream, peer, id, slot, edge.clone()));
    }
    drop(listener);
    while let Some(done) = tasks.join_next().await {
        report(done);
    }
    TaskExit::Done
}

/// A connection task that panicked is a bug confined to that client: logged, not fatal.
fn report(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!(error = %e, "a connection task panicked; the connection was dropped");
        }
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, id: u64, slot: Slot, edge: Arc<Edge>) {
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + edge.config.timeouts.handshake;
    let metrics = &edge.ctx.metrics;
    match edge.tls.clone() {
        None => handshake(stream, peer, id, slot, deadline, edge).await,
        Some(acceptor) => match timeout_at(deadline, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => handshake(tls, peer, id, slot, deadline, edge).await,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                metrics.refused(RefusalReason::HandshakeFailed);
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                metrics.refused(RefusalReason::HandshakeTimeout);
            }
        },
    }
}

/// What the upgrade request said, read by the handshake callback.
#[derive(Default)]
struct Upgrade {
    refused: Option<RefusalReason>,
    forwarded: Option<String>,
}

async fn handshake<S>(
    stream: S,
    peer: SocketAddr,
    id: u64,
    slot: Slot,
    deadline: Instant,
    edge: Arc<Edge>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let upgrade = Mutex::new(Upgrade::default());
    let metrics = edge.ctx.metrics.clone();
    // The callback's signature is tungstenite's; its error type is an HTTP response.
    #[allow(clippy::result_large_err)]
    let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let mut up = upgrade.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(proxy) = &edge.config.client_ip {
            up.forwarded = req
                .headers()
                .get(proxy.header.as_str())
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(256).collect());
        }
        let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
        let allowed = &edge.config.allowed_origins;
        if let Some(origin) = origin {
            if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
                up.refused = Some(RefusalReason::OriginNotAllowed);
                return Err(refuse(StatusCode::FORBIDDEN, "origin not allowed"));
            }
        }
        let header = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let presented = bearer(header).or_else(|| query_token(req.uri().query()));
        if !edge.tokens.accepts(presented) {
            up.refused = Some(RefusalReason::Unauthorized);
            return Err(refuse(StatusCode::UNAUTHORIZED, "missing or invalid token"));
        }
        Ok(resp)
    };
    let limit = edge.config.limits.max_message_size.max(64);
    let config = WsConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let accepted = timeout_at(
        deadline,
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)),
    )
    .await;
    let up = upgrade.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut ws = match accepted {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            let reason = up.refused.unwrap_or(RefusalReason::HandshakeFailed);
            tracing::debug!(%peer, error = %e, reason = reason.as_str(), "handshake refused or failed");
            metrics.refused(reason);
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "handshake timed out");
            metrics.refused(RefusalReason::HandshakeTimeout);
            return;
        }
    };
    drop(slot);
    let write_timeout = edge.config.timeouts.write;
    let Some(_counted) = Connections::enter(&edge.connections, edge.config.max_clients) else {
        let reason = format!(
            "server full: max_clients {} reached",
            edge.config.max_clients
        );
        metrics.refused(RefusalReason::ServerFull);
        close(&mut ws, CloseCode::Again, reason, write_timeout).await;
        return;
    };
    let _ip_slot = match edge.config.limits.max_connections_per_ip {
        None => None,
        Some(max) => {
            let trusted = edge
                .config
                .client_ip
                .as_ref()
                .map_or(&[][..], |c| &c.trusted_proxies[..]);
            let ip = client_ip(peer.ip(), up.forwarded.as_deref(), trusted);
            match PerIp::acquire(&edge.per_ip, ip, max) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!(%ip, max, "too many connections from one address");
                    metrics.refused(RefusalReason::IpLimit);
                    let reason = format!("too many connections from your address (at most {max})");
                    close(&mut ws, CloseCode::Policy, reason, write_timeout).await;
                    return;
                }
            }
        }
    };
    metrics.client_connected();
    client::run(ws, id, edge.ctx.clone()).await;
    metrics.client_disconnected();
    tracing::debug!(%peer, id, "connection closed");
}

#[allow(clippy::result_large_err)]
fn refuse(status: StatusCode, why: &str) -> ErrorResponse {
    let mut err = ErrorResponse::new(Some(why.to_string()));
    *err.status_mut() = status;
    err
}

/// Sends a close frame, giving up after `limit`.
async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: String, limit: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = timeout(limit, ws.send(frame)).await;
}
