//! One client connection: reads its messages (within the size and rate limits), keeps its
//! subscriptions, writes its frames (each write bounded by the write timeout), pings it, and
//! closes it — 1001 after flushing at shutdown, 1011 when the server fails, 1013 when it
//! lagged, 1008 when it broke a rule, 1009 for an oversized message.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::{timeout, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::limits::Bucket;
use super::protocol::{self, ClientMessage, ErrorCode, ParseLimits, Refusal, RequestId};
use crate::bus::{text_frame, ClientHandle, Command, LagSignal};
use crate::config::{ConnectionLimits, ConnectionTimeouts};
use crate::metrics::{Metrics, RefusalReason, ResumeOutcome};
use crate::project::{EncodedFrame, ViewInfo};
use crate::supervise::CloseAll;

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

fn close_message(code: CloseCode, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(reason.to_string()),
    }))
}

/// What a connection task needs from the server.
#[derive(Clone)]
pub(crate) struct ClientContext {
    pub bus: mpsc::Sender<Command>,
    pub views: Arc<Vec<ViewInfo>>,
    pub metrics: Arc<Metrics>,
    /// When to close every client, and how.
    pub close: watch::Receiver<CloseAll>,
    pub queue_size: usize,
    pub max_subscriptions: usize,
    pub limits: ConnectionLimits,
    pub timeouts: ConnectionTimeouts,
    /// The projector's epoch: cursors of another epoch are not resumed.
    pub epoch: Arc<str>,
}

/// Why writing stopped.
enum WriteError {
    /// The connection is broken.
    Broken,
    /// A write blocked longer than the write timeout.
    TimedOut,
}

/// The writing half, every write bounded by the write timeout.
struct Writer<S> {
    sink: SplitSink<WebSocketStream<S>, Message>,
    limit: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Writer<S> {
    async fn send(&mut self, msg: Message) -> Result<(), WriteError> {
        let limit = self.limit;
        match timeout(limit, self.sink.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(WriteError::Broken),
            Err(_) => Err(WriteError::TimedOut),
        }
    }

    async fn feed(&mut self, msg: Message) -> Result<(), WriteError> {
        let limit = self.limit;
        match timeout(limit, self.sink.feed(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(WriteError::Broken),
            Err(_) => Err(WriteError::TimedOut),
        }
    }

    async fn flush(&mut self) -> Result<(), WriteError> {
        let limit = self.limit;
        match timeout(limit, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(WriteError::Broken),
            Err(_) => Err(WriteError::TimedOut),
        }
    }

    /// Sends a close frame (best effort, bounded).
    async fn close(&mut self, code: CloseCode, reason: &str) {
        if self.send(close_message(code, reason)).await.is_ok() {
            let _ = timeout(self.limit, self.sink.close()).await;
        }
    }
}

/// The connection's own state.
struct Session {
    handle: ClientHandle,
    subscriptions: HashSet<(usize, Option<String>)>,
    messages: Bucket,
    subscribes: Bucket,
    parse: ParseLimits,
}

/// Serves one connection until it closes, lags, breaks a rule, or the server closes it.
pub(crate) async fn run<S>(ws: WebSocketStream<S>, id: u64, ctx: ClientContext)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (sink, mut stream) = ws.split();
    let mut writer = Writer {
        sink,
        limit: ctx.timeouts.write,
    };
    let (tx, mut rx) = mpsc::channel::<Arc<EncodedFrame>>(ctx.queue_size.max(1));
    let lag = Arc::new(LagSignal::default());
    let now = Instant::now();
    let mut session = Session {
        handle: ClientHandle {
            id,
            tx,
            lag: lag.clone(),
        },
        subscriptions: HashSet::new(),
        messages: Bucket::new(ctx.limits.message_rate, now.into_std()),
        subscribes: Bucket::new(ctx.limits.subscribe_rate, now.into_std()),
        parse: ParseLimits {
            max_view_length: ctx.limits.max_view_length,
            max_key_length: ctx.limits.max_key_length,
        },
    };
    let every = ctx.timeouts.ping_interval.max(Duration::from_millis(10));
    let mut ping = tokio::time::interval_at(now + every, every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // When a ping went out that the peer has not shown life after yet.
    let mut unanswered: Option<Instant> = None;
    let mut close = ctx.close.clone();
    loop {
        let pong_due = unanswered.map(|t| t + ctx.timeouts.pong_timeout);
        tokio::select! {
            biased;
            how = closing(&mut close) => {
                if how == CloseAll::Shutdown {
                    // The bus is drained: everything committed for this client is queued.
                    flush_queue(&mut writer, &mut rx, &ctx.metrics).await;
                    writer.close(CloseCode::Away, "server shutting down").await;
                } else {
                    writer.close(CloseCode::Error, "server failure").await;
                }
                break;
            }
            _ = lag.raised() => {
                let text = protocol::error_frame(None, ErrorCode::Lagged, "client fell behind: its queue is full; reconnect and resume with `after`");
                if writer.send(Message::Text(text.into())).await.is_ok() {
                    writer.close(CloseCode::Again, "lagged").await;
                }
                break;
            }
            _ = sleep_until(pong_due), if pong_due.is_some() => {
                tracing::debug!(id, "no answer to a ping: closing");
                ctx.metrics.refused(RefusalReason::PingTimeout);
                writer.close(CloseCode::Policy, "no answer to ping").await;
                break;
            }
            _ = ping.tick() => {
                if let Err(e) = writer.send(Message::Ping(Default::default())).await {
                    stop_writing(e, id, &ctx.metrics);
                    break;
                }
                unanswered.get_or_insert_with(Instant::now);
            }
            incoming = stream.next() => {
                // Any message shows the peer is alive.
                unanswered = None;
                match read(incoming, &mut session, &mut writer, &ctx).await {
                    Ok(()) => {}
                    Err(Stop) => break,
                }
            }
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if let Err(e) = write_batch(&mut writer, frame, &mut rx, &ctx.metrics).await {
                    stop_writing(e, id, &ctx.metrics);
                    break;
                }
            }
        }
    }
    let _ = ctx.bus.send(Command::Disconnect { client: id }).await;
}

/// The connection is to end.
struct Stop;

/// Resolves with how every client is to close, once they are.
async fn closing(close: &mut watch::Receiver<CloseAll>) -> CloseAll {
    match close.wait_for(|c| *c != CloseAll::Open).await {
        Ok(how) => *how,
        // The server is gone without a word: close as at shutdown.
        Err(_) => CloseAll::Shutdown,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn stop_writing(e: WriteError, id: u64, metrics: &Metrics) {
    if let WriteError::TimedOut = e {
        tracing::debug!(
            id,
            "a write blocked past the write timeout: dropping the connection"
        );
        metrics.refused(RefusalReason::WriteTimeout);
    }
}

/// Writes `first` and the frames queued behind it, then flushes once: one socket write per
/// batch instead of one per frame.
async fn write_batch<S: AsyncRead + AsyncWrite + Unpin>(
    writer: &mut Writer<S>,
    first: Arc<EncodedFrame>,
    rx: &mut mpsc::Receiver<Arc<EncodedFrame>>,
    metrics: &Metrics,
) -> Result<(), WriteError> {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(frame) = next.take() {
        writer.feed(message_of(&frame)).await?;
        metrics.frame_sent(None, frame.payload.len());
        written += 1;
        if written < WRITE_BATCH {
            next = rx.try_recv().ok();
        }
    }
    writer.flush().await
}

/// Writes every frame still queued (at shutdown, once the bus is drained).
async fn flush_queue<S: AsyncRead + AsyncWrite + Unpin>(
    writer: &mut Writer<S>,
    rx: &mut mpsc::Receiver<Arc<EncodedFrame>>,
    metrics: &Metrics,
) {
    while let Ok(frame) = rx.try_recv() {
        if write_batch(writer, frame, rx, metrics).await.is_err() {
            return;
        }
    }
}

/// Handles what the stream yielded.
async fn read<S: AsyncRead + AsyncWrite + Unpin>(
    incoming: Option<Result<Message, WsError>>,
    session: &mut Session,
    writer: &mut Writer<S>,
    ctx: &ClientContext,
) -> Result<(), Stop> {
    let text = match incoming {
        Some(Ok(Message::Text(t))) => Some(t.to_string()),
        Some(Ok(Message::Binary(b))) => Some(String::from_utf8(b.to_vec()).unwrap_or_default()),
        Some(Ok(Message::Ping(_))) => None,
        // Pongs answer our pings; raw frames are not yielded by the stream.
        Some(Ok(Message::Pong(_))) | Some(Ok(Message::Frame(_))) => return Ok(()),
        Some(Ok(Message::Close(_))) | None => return Err(Stop),
        Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => {
            // Refused by tungstenite as soon as the frame header announced the size: the
            // payload was never buffered.
            ctx.metrics.refused(RefusalReason::MessageTooLarge);
            let reason = format!(
                "message too big: at most {} bytes",
                ctx.limits.max_message_size
            );
            writer.close(CloseCode::Size, &reason).await;
            return Err(Stop);
        }
        Some(Err(e)) => {
            tracing::debug!(error = %e, "connection read failed");
            return Err(Stop);
        }
    };
    if session.messages.take(std::time::Instant::now()).is_err() {
        ctx.metrics.refused(RefusalReason::MessageRate);
        let reason = format!(
            "message rate exceeded: at most {}/s",
            ctx.limits.message_rate.per_second
        );
        writer.close(CloseCode::Policy, &reason).await;
        return Err(Stop);
    }
    let Some(text) = text else {
        // A WebSocket ping: tungstenite queued the pong; flush so it goes out now.
        return writer.flush().await.map_err(|_| Stop);
    };
    match handle_text(&text, session, ctx).await {
        Reply::None => Ok(()),
        Reply::Pong => writer
            .send(Message::Text(protocol::pong_frame().into()))
            .await
            .map_err(|_| Stop),
        Reply::Refused(refusal) => {
            ctx.metrics.refused(reason_of(refusal.code));
            tracing::debug!(code = refusal.code.as_str(), message = %refusal.message, "request refused");
            let cmd = Command::Reply {
                client: session.handle.clone(),
                frame: text_frame(refusal.frame()),
            };
            // Through the bus: after the replies to the client's earlier requests.
            let _ = ctx.bus.send(cmd).await;
            Ok(())
        }
    }
}

fn reason_of(code: ErrorCode) -> RefusalReason {
    match code {
        ErrorCode::MalformedMessage => RefusalReason::MalformedMessage,
        ErrorCode::UnknownView => RefusalReason::UnknownView,
        ErrorCode::BadKey => RefusalReason::BadKey,
        ErrorCode::ViewTooLong => RefusalReason::ViewTooLong,
        ErrorCode::KeyTooLong => RefusalReason::KeyTooLong,
        ErrorCode::TooManySubscriptions => RefusalReason::TooManySubscriptions,
        ErrorCode::RateLimited => RefusalReason::RateLimited,
        ErrorCode::SnapshotFailed | ErrorCode::Lagged => RefusalReason::SnapshotFailed,
    }
}

/// What to answer a message with directly.
enum Reply {
    None,
    Pong,
    Refused(Box<Refusal>),
}

/// Handles one text message.
async fn handle_text(text: &str, session: &mut Session, ctx: &ClientContext) -> Reply {
    let message = match protocol::parse(text, &session.parse) {
        Ok(m) => m,
        Err(refusal) => return Reply::Refused(refusal),
    };
    match message {
        ClientMessage::Ping => Reply::Pong,
        ClientMessage::Subscribe {
            view,
            key,
            after,
            skip,
            take,
            epoch,
            id,
            delta,
        } => {
            // A cursor from another server run would replay a different history.
            let same_epoch = epoch.as_deref().is_none_or(|e| e == &*ctx.epoch);
            if after.is_some() && !same_epoch {
                ctx.metrics.resume(ResumeOutcome::OtherEpoch);
            }
            let after = after.filter(|_| same_epoch);
            let info = match lookup(&ctx.views, &view, &id) {
                Ok(info) => info,
                Err(r) => return Reply::Refused(r),
            };
            let key = match normalize_key(info, key) {
                Ok(k) => k,
                Err(msg) => return Reply::Refused(refused(&view, id, ErrorCode::BadKey, msg)),
            };
            if let Err(wait) = session.subscribes.take(std::time::Instant::now()) {
                let mut r = refused(
                    &view,
                    id,
                    ErrorCode::RateLimited,
                    format!(
                        "at most {}/s subscriptions (bursts of {})",
                        ctx.limits.subscribe_rate.per_second, ctx.limits.subscribe_rate.burst
                    ),
                );
                r.retry_after_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
                return Reply::Refused(r);
            }
            let entry = (info.id, key.clone());
            if !session.subscriptions.contains(&entry)
                && session.subscriptions.len() >= ctx.max_subscriptions
            {
                let msg = format!(
                    "at most {} subscriptions per connection",
                    ctx.max_subscriptions
                );
                return Reply::Refused(refused(&view, id, ErrorCode::TooManySubscriptions, msg));
            }
            session.subscriptions.insert(entry);
            let cmd = Command::Subscribe {
                client: session.handle.clone(),
                view: info.id,
                key: key.map(Arc::from),
                after,
                skip,
                take,
                id,
                // Deltas apply to append views only; others always send patches.
                delta: delta.map(|on| on && info.mode == "append"),
            };
            let _ = ctx.bus.send(cmd).await;
            Reply::None
        }
        ClientMessage::Unsubscribe { view, key, id } => {
            let info = match lookup(&ctx.views, &view, &id) {
                Ok(info) => info,
                Err(r) => return Reply::Refused(r),
            };
            let key = normalize_key(info, key).ok().flatten();
            session.subscriptions.remove(&(info.id, key.clone()));
            let cmd = Command::Unsubscribe {
                client: session.handle.id,
                view: info.id,
                key: key.map(Arc::from),
            };
            let _ = ctx.bus.send(cmd).await;
            Reply::None
        }
    }
}

fn refused(view: &str, id: Option<RequestId>, code: ErrorCode, message: String) -> Box<Refusal> {
    Box::new(Refusal {
        view: Some(view.to_string()),
        id,
        ..Refusal::new(code, message)
    })
}

fn lookup<'a>(
    views: &'a [ViewInfo],
    view: &str,
    id: &Option<RequestId>,
) -> Result<&'a ViewInfo, Box<Refusal>> {
    views.iter().find(|v| v.full_name == view).ok_or_else(|| {
        let message = format!(
            "unknown view `{}` (GET /views lists them)",
            protocol::clip(view, protocol::ECHO_MAX)
        );
        refused(view, id.clone(), ErrorCode::UnknownView, message)
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
            "`{}` holds every entity: use key `*` (or none), not `{}`; subscribe to the state view for one key",
            info.full_name,
            protocol::clip(&k, protocol::ECHO_MAX)
        )),
    }
}
