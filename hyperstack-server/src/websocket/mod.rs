//! The WebSocket listener: accepts connections (token check before the upgrade, `max_clients`
//! enforced with a close reason) and runs one task per client.

mod client;
pub mod protocol;

pub(crate) use client::ClientContext;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

/// Live connection count, awaited at shutdown.
#[derive(Default)]
pub(crate) struct Connections {
    count: AtomicUsize,
    idle: Notify,
}

impl Connections {
    fn enter(&self) -> usize {
        self.count.fetch_add(1, Ordering::AcqRel) + 1
    }

    fn leave(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Current connections.
    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until no connection is open.
    pub async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            if self.current() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Accepts until shutdown.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    ctx: ClientContext,
    max_clients: usize,
    auth_token: Option<Arc<str>>,
    connections: Arc<Connections>,
) {
    let ids = AtomicU64::new(1);
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let ctx = ctx.clone();
        let auth = auth_token.clone();
        let connections = connections.clone();
        tokio::spawn(async move {
            let open = connections.enter();
            serve_connection(stream, id, ctx, open > max_clients, max_clients, auth).await;
            connections.leave();
            tracing::debug!(%peer, id, "connection closed");
        });
    }
}

/// Read buffer of a connection (tungstenite allocates it up front).
const READ_BUFFER: usize = 4 * 1024;

async fn serve_connection(
    stream: TcpStream,
    id: u64,
    ctx: ClientContext,
    over_limit: bool,
    max_clients: usize,
    auth: Option<Arc<str>>,
) {
    let _ = stream.set_nodelay(true);
    // The callback's signature is tungstenite's; its error type is an HTTP response.
    #[allow(clippy::result_large_err)]
    let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match &auth {
            Some(token) if !authorized(req, token) => {
                let mut err = ErrorResponse::new(Some("missing or invalid token".to_string()));
                *err.status_mut() = StatusCode::UNAUTHORIZED;
                Err(err)
            }
            _ => Ok(resp),
        }
    };
    // Clients send only small control messages: a 4 KiB read buffer instead of tungstenite's
    // 128 KiB default keeps idle connections cheap (larger messages still arrive whole).
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let mut ws =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await {
            Ok(ws) => ws,
            Err(e) => {
                tracing::debug!(error = %e, "handshake refused or failed");
                return;
            }
        };
    if over_limit {
        use futures_util::SinkExt;
        let reason = format!("server full: max_clients {max_clients} reached");
        let _ = ws
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Again,
                reason: reason.into(),
            })))
            .await;
        return;
    }
    ctx.metrics.client_connected();
    client::run(ws, id, ctx).await;
}

/// `?token=<t>` in the query, or `Authorization: Bearer <t>`.
fn authorized(req: &Request, token: &str) -> bool {
    let header_ok = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == token);
    let query_ok = req.uri().query().is_some_and(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .any(|(k, v)| k == "token" && v == token)
    });
    header_ok || query_ok
}
