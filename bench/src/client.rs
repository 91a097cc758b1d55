//! WebSocket clients: connect, subscribe (timing the snapshot), then record every live frame.
//!
//! A live frame is matched to the update behind it through its `virtual_sol_reserves`
//! (the feeder writes [`feeder::SOL_BASE`]` + id` there): latency = receive time − the
//! feeder's send time of that id. Only substring scans are done on live frames, so a client
//! costs little CPU; snapshot frames (gzip'd when ≥ 1 KiB) are gunzipped and their rows
//! counted.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::feeder::{self, now_ns, SendTimes};
use crate::stats::Histogram;

/// An open connection.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which updates a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every update (list, append, derived views holding every key).
    All,
    /// Only those of curve `k` of `keys` (a state view).
    Key {
        /// The curve.
        k: u64,
        /// Curves in rotation.
        keys: u64,
    },
}

impl Expect {
    /// Whether update `id` concerns this client.
    pub fn wants(self, id: u64) -> bool {
        match self {
            Expect::All => true,
            Expect::Key { k, keys } => (id - 1) % keys == k,
        }
    }

    /// Highest id the client has seen everything up to, having last seen `id`.
    fn caught_up(self, id: u64) -> u64 {
        match self {
            Expect::All => id,
            Expect::Key { keys, .. } => id + keys - 1,
        }
    }
}

/// What a subscription's start-up delivered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subscribed {
    /// Rows in the snapshot frames.
    pub rows: u64,
    /// Nanoseconds from sending the subscribe message to the complete snapshot.
    pub snapshot_ns: u64,
}

/// What a client measured in the live phase.
#[derive(Default)]
pub struct ClientResult {
    /// Live frames matched to an update.
    pub frames: u64,
    /// Bytes of every message received in the live phase.
    pub bytes: u64,
    /// Distinct updates seen in increasing order.
    pub unique: u64,
    /// Frames repeating or preceding an already seen update.
    pub out_of_order: u64,
    /// Receive − send latencies (ns).
    pub hist: Histogram,
    /// Receive time of the last live frame.
    pub last_recv_ns: u64,
    /// An error frame or early close, if any.
    pub error: Option<String>,
}

/// Opens a connection.
pub async fn connect(url: &str) -> anyhow::Result<Ws> {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    Ok(ws)
}

/// Text of a message (gunzipped when binary).
fn text_of(m: &Message) -> anyhow::Result<Option<String>> {
    Ok(match m {
        Message::Text(t) => Some(t.as_str().to_string()),
        Message::Binary(b) => {
            let mut s = String::new();
            flate2::read::GzDecoder::new(&b[..])
                .read_to_string(&mut s)
                .context("a binary frame is not gzip'd UTF-8")?;
            Some(s)
        }
        _ => None,
    })
}

/// Sends `subscribe` and reads until the snapshot is complete (or, for views without a
/// snapshot, the `subscribed` frame arrived).
pub async fn subscribe(ws: &mut Ws, subscribe: &str, snapshot: bool) -> anyhow::Result<Subscribed> {
    let start = now_ns();
    ws.send(Message::Text(subscribe.into())).await?;
    let mut rows = 0;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(120), ws.next())
            .await
            .map_err(|_| anyhow!("no snapshot within 120 s"))?
            .ok_or_else(|| anyhow!("closed while subscribing"))??;
        let Some(text) = text_of(&m)? else { continue };
        let head = &text[..text.len().min(120)];
        if head.contains("\"op\":\"error\"") {
            bail!("subscription refused: {text}");
        }
        if head.contains("\"op\":\"subscribed\"") && !snapshot {
            break;
        }
        if head.contains("\"op\":\"snapshot\"") {
            rows += text.matches("{\"key\":").count() as u64;
            if text.contains("\"complete\":true") {
                break;
            }
        }
    }
    Ok(Subscribed {
        rows,
        snapshot_ns: now_ns() - start,
    })
}

/// The update id a live frame is about: its `virtual_sol_reserves` minus the base.
pub fn frame_id(text: &str) -> Option<u64> {
    const FIELD: &str = "\"virtual_sol_reserves\":";
    let at = text.find(FIELD)? + FIELD.len();
    let digits = text[at..].trim_start_matches('"');
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    feeder::id_of_reserves(digits[..end].parse().ok()?)
}

/// What the live loop shares with the feeder.
pub struct Live {
    /// Send times of the updates.
    pub times: Arc<SendTimes>,
    /// First id of the measured phase (earlier ids are ignored).
    pub from_id: u64,
    /// Per tracked client: the id it has seen everything up to.
    pub progress: Arc<Vec<AtomicU64>>,
}

/// Reads live frames until `stop`, recording them.
pub async fn run(
    mut ws: Ws,
    index: usize,
    expect: Expect,
    live: Arc<Live>,
    mut stop: watch::Receiver<bool>,
) -> ClientResult {
    let mut r = ClientResult::default();
    let mut last = 0u64;
    loop {
        let m = tokio::select! {
            biased;
            m = ws.next() => m,
            _ = stop.changed() => break,
        };
        let m = match m {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                r.error = Some(format!("connection error: {e}"));
                break;
            }
            None => {
                r.error = Some("closed by the server".into());
                break;
            }
        };
        let recv = now_ns();
        let (text, len) = match &m {
            Message::Text(t) => (std::borrow::Cow::Borrowed(t.as_str()), t.len()),
            Message::Binary(b) => match text_of(&m) {
                Ok(Some(t)) => (std::borrow::Cow::Owned(t), b.len()),
                _ => continue,
            },
            Message::Close(c) => {
                r.error = Some(format!("closed by the server: {c:?}"));
                break;
            }
            _ => continue,
        };
        r.bytes += len as u64;
        let Some(id) = frame_id(&text) else {
            if text.contains("\"op\":\"error\"") {
                r.error = Some(text.into_owned());
                break;
            }
            continue;
        };
        if id < live.from_id {
            continue;
        }
        r.frames += 1;
        r.last_recv_ns = recv;
        if let Some(sent) = live.times.get(id) {
            r.hist.record(recv.saturating_sub(sent));
        }
        if id > last {
            last = id;
            r.unique += 1;
            if let Some(p) = live.progress.get(index) {
                p.store(expect.caught_up(id), Ordering::Release);
            }
        } else {
            r.out_of_order += 1;
        }
    }
    r
}

/// Holds a connection without reading it until `stop`; then reads what is left and reports
/// whether the server told it `lagged` or closed it.
pub async fn hold_unread(mut ws: Ws, mut stop: watch::Receiver<bool>) -> bool {
    let _ = stop.changed().await;
    loop {
        match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("\"lagged\"") => return true,
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(_))) => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_back_from_frames() {
        let t = r#"{"op":"patch","data":{"virtual_sol_reserves":30000000042,"_seq":"1:0"}}"#;
        assert_eq!(frame_id(t), Some(42));
        assert_eq!(frame_id(r#"{"op":"subscribed"}"#), None);
        let e = Expect::Key { k: 2, keys: 5 };
        assert!(e.wants(3) && e.wants(8) && !e.wants(4));
    }
}
