//! One client connection: reads its messages, keeps its subscriptions, writes its frames.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::protocol::{self, ClientMessage, ErrorCode};
use crate::bus::{ClientHandle, Command, LagSignal};
use crate::metrics::Metrics;
use crate::project::{EncodedFrame, ViewInfo};

/// Most frames written to a connection between two flushes.
const WRITE_BATCH: usize = 64;

/// The WebSocket message of a frame: binary when gzip'd, text otherwise.
fn message_of(frame: &EncodedFrame) -> Message {
    if frame.binary {
        return Message::Binary(frame.payload.clone());
    }
    match Utf8Bytes::try_from(frame.payload.clone()) {
        Ok(text) => Message::Text(text),
        Err(_) => Message::Binary(frame.payload.clone()),
    }
}

/// What a connection task needs from the server.
#[derive(Clone)]
pub(crate) struct ClientContext {
    pub bus: mpsc::Sender<Command>,
    pub views: Arc<Vec<ViewInfo>>,
    pub metrics: Arc<Metrics>,
    pub shutdown: watch::Receiver<bool>,
    pub queue_size: usize,
    pub max_subscriptions: usize,
    /// The projector's epoch: cursors of another epoch are not resumed.
    pub epoch: Arc<str>,
}

type Ws = WebSocketStream<TcpStream>;

/// Serves one connection until it closes, lags, or the server shuts down.
pub(crate) async fn run(ws: Ws, id: u64, mut ctx: ClientContext) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Arc<EncodedFrame>>(ctx.queue_size.max(1));
    let lag = Arc::new(LagSignal::default());
    let handle = ClientHandle {
        id,
        tx,
        lag: lag.clone(),
    };
    let mut subscriptions: HashSet<(usize, Option<String>)> = HashSet::new();
    let close = |code: CloseCode, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_string()),
        }))
    };
    loop {
        tokio::select! {
            biased;
            _ = ctx.shutdown.changed() => {
                let _ = sink.send(close(CloseCode::Away, "server shutting down")).await;
                break;
            }
            _ = lag.raised() => {
                let text = protocol::error_frame(None, ErrorCode::Lagged, "client fell behind: its queue is full; reconnect and resume with `after`");
                let _ = sink.send(Message::Text(text.into())).await;
                let _ = sink.send(close(CloseCode::Again, "lagged")).await;
                break;
            }
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                // Write this frame and those already queued behind it, then flush once: one
                // socket write per batch instead of one per frame.
                let mut next = Some(frame);
                let mut written = 0;
                let mut failed = false;
                while let Some(frame) = next.take() {
                    let len = frame.payload.len();
                    if sink.feed(message_of(&frame)).await.is_err() {
                        failed = true;
                        break;
                    }
                    ctx.metrics.frame_sent(None, len);
                    written += 1;
                    if written < WRITE_BATCH {
                        next = rx.try_recv().ok();
                    }
                }
                if failed || sink.flush().await.is_err() {
                    break;
                }
            }
            incoming = stream.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                        Ok(t) => t,
                        Err(_) => {
                            let e = protocol::error_frame(None, ErrorCode::MalformedMessage, "binary messages must be UTF-8 JSON");
                            if sink.send(Message::Text(e.into())).await.is_err() { break; }
                            continue;
                        }
                    },
                    // tungstenite answers pings itself; flush so the pong goes out now.
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) | Some(Ok(Message::Frame(_))) => {
                        if sink.flush().await.is_err() { break; }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                let reply = handle_text(&text, &handle, &mut subscriptions, &ctx).await;
                if let Some(reply) = reply {
                    if sink.send(Message::Text(reply.into())).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let _ = ctx.bus.send(Command::Disconnect { client: id }).await;
    let _ = sink.close().await;
    ctx.metrics.client_disconnected();
}

/// Handles one text message; returns a control frame to send back, if any.
async fn handle_text(
    text: &str,
    handle: &ClientHandle,
    subscriptions: &mut HashSet<(usize, Option<String>)>,
    ctx: &ClientContext,
) -> Option<String> {
    let message = match protocol::parse(text) {
        Ok(m) => m,
        Err((view, code, msg)) => return Some(protocol::error_frame(view.as_deref(), code, &msg)),
    };
    match message {
        ClientMessage::Ping => Some(protocol::pong_frame().to_string()),
        ClientMessage::Subscribe {
            view,
            key,
            after,
            skip,
            take,
            epoch,
        } => {
            // A cursor from another server run would replay a different history.
            let after = after.filter(|_| epoch.as_deref().is_none_or(|e| e == &*ctx.epoch));
            let info = match lookup(&ctx.views, &view) {
                Ok(info) => info,
                Err(e) => return Some(e),
            };
            let key = match normalize_key(info, key) {
                Ok(k) => k,
                Err(msg) => {
                    return Some(protocol::error_frame(Some(&view), ErrorCode::BadKey, &msg))
                }
            };
            let entry = (info.id, key.clone());
            if !subscriptions.contains(&entry) && subscriptions.len() >= ctx.max_subscriptions {
                return Some(protocol::error_frame(
                    Some(&view),
                    ErrorCode::TooManySubscriptions,
                    &format!(
                        "at most {} subscriptions per connection",
                        ctx.max_subscriptions
                    ),
                ));
            }
            subscriptions.insert(entry);
            let cmd = Command::Subscribe {
                client: handle.clone(),
                view: info.id,
                key: key.map(Arc::from),
                after,
                skip,
                take,
            };
            let _ = ctx.bus.send(cmd).await;
            None
        }
        ClientMessage::Unsubscribe { view, key } => {
            let info = match lookup(&ctx.views, &view) {
                Ok(info) => info,
                Err(e) => return Some(e),
            };
            let key = normalize_key(info, key).ok().flatten();
            subscriptions.remove(&(info.id, key.clone()));
            let cmd = Command::Unsubscribe {
                client: handle.id,
                view: info.id,
                key: key.map(Arc::from),
            };
            let _ = ctx.bus.send(cmd).await;
            None
        }
    }
}

fn lookup<'a>(views: &'a [ViewInfo], view: &str) -> Result<&'a ViewInfo, String> {
    views.iter().find(|v| v.full_name == view).ok_or_else(|| {
        protocol::error_frame(
            Some(view),
            ErrorCode::UnknownView,
            &format!("unknown view `{view}` (GET /views lists them)"),
        )
    })
}

/// State views need a concrete key; collections take none (or `*`).
fn normalize_key(info: &ViewInfo, key: Option<String>) -> Result<Option<String>, String> {
    match (info.keyed, key) {
        (true, Some(k)) if k != "*" && !k.is_empty() => Ok(Some(k)),
        (true, _) => Err(format!("`{}` is a state view: subscribe with a `key`", info.full_name)),
        (false, None) => Ok(None),
        (false, Some(k)) if k == "*" => Ok(None),
        (false, Some(k)) => Err(format!(
            "`{}` holds every entity: use key `*` (or none), not `{k}`; subscribe to the state view for one key",
            info.full_name
        )),
    }
}
