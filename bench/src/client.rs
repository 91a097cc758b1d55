//! WebSocket clients: connect, subscribe (timing the snapshot), then record every live frame.
//!
//! A live frame is matched to the update behind it through its `virtual_sol_reserves`
//! (the feeder writes [`feeder::SOL_BASE`]` + id` there): latency = receive time − the
//! feeder's send time of that id. The update's curve follows from its id, so order and loss
//! are tracked per key ([`Order`]): servers order frames per entity, not across entities.
//! Only substring scans are done on live frames, so a client costs little CPU. Binary frames
//! are gunzipped when they carry the gzip magic and read as UTF-8 JSON otherwise.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::feeder::{self, now_ns, SendTimes};
use crate::stats::Histogram;

/// An open connection.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a client waits after `subscribed` for the first snapshot frame of a view that may
/// be empty (a server may send nothing for an empty view).
pub const NO_SNAPSHOT_WAIT: Duration = Duration::from_secs(1);

/// How long a client waits for a snapshot that must come.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

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
}

/// What a subscription's start-up must deliver before the view counts as loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotWait {
    /// No snapshot (append views): loaded at `subscribed`.
    None,
    /// Rows exist: loaded at the snapshot frame with `complete: true`.
    Rows,
    /// The view may be empty: loaded at `complete: true`, or [`NO_SNAPSHOT_WAIT`] after
    /// `subscribed` when no snapshot frame came (then counted as loaded at `subscribed`).
    MaybeEmpty,
}

/// What a subscription's start-up delivered.
#[derive(Debug, Default)]
pub struct Subscribed {
    /// Rows in the snapshot frames.
    pub rows: u64,
    /// Nanoseconds from sending the subscribe message until the view was loaded.
    pub snapshot_ns: u64,
    /// Nanoseconds from sending the subscribe message until the first snapshot frame (0
    /// without one).
    pub first_batch_ns: u64,
    /// When it was loaded (on [`now_ns`]).
    pub loaded_at_ns: u64,
    /// Live frames that arrived before the view counted as loaded, for [`run`].
    pub early: Vec<Message>,
}

/// Per-key order of the updates a client saw.
#[derive(Debug, Default)]
pub struct Order {
    keys: u64,
    /// Last id seen per curve.
    last: HashMap<u64, u64>,
    /// Largest id seen.
    max: u64,
    /// Distinct updates seen in increasing order within their key.
    pub unique: u64,
    /// Frames repeating or preceding an already seen update of the same key.
    pub out_of_order: u64,
    /// Frames preceding an already seen update of another key (informational: ordering
    /// across keys is not promised).
    pub cross_key: u64,
}

impl Order {
    /// Tracks updates spread over `keys` curves.
    pub fn new(keys: u64) -> Order {
        Order {
            keys: keys.max(1),
            ..Order::default()
        }
    }

    /// Records update `id`; whether it was new and in order for its key.
    pub fn record(&mut self, id: u64) -> bool {
        let key = (id - 1) % self.keys;
        let last = self.last.entry(key).or_insert(0);
        if id <= *last {
            self.out_of_order += 1;
            return false;
        }
        *last = id;
        if id < self.max {
            self.cross_key += 1;
        }
        self.max = self.max.max(id);
        self.unique += 1;
        true
    }

    /// How far this client has got, as an update id: the largest id seen, or for
    /// [`Expect::Key`] the last id of its key plus the ids of other keys up to its next one.
    /// Updates a server drops do not hold it back (the closed loop paces on it); the drain
    /// waits on [`Order::unique`] instead.
    pub fn reached(&self, expect: Expect) -> u64 {
        match expect {
            Expect::All => self.max,
            Expect::Key { k, keys } => self.last.get(&k).map_or(0, |&last| last + keys.max(1) - 1),
        }
    }
}

/// What a client measured in the live phase.
#[derive(Default)]
pub struct ClientResult {
    /// Live frames matched to an update.
    pub frames: u64,
    /// Bytes of every message received in the live phase.
    pub bytes: u64,
    /// Order and distinct updates per key.
    pub order: Order,
    /// Receive − send latencies (ns).
    pub hist: Histogram,
    /// Receive time of the last live frame.
    pub last_recv_ns: u64,
    /// An error frame or early close, if any.
    pub error: Option<String>,
}

/// Opens a connection (`TCP_NODELAY` set).
pub async fn connect(url: &str) -> anyhow::Result<Ws> {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    Ok(ws)
}

/// Opens a plain `ws://` connection like one over a slow link: a socket receive buffer of
/// `rcvbuf` bytes and a segment size (MSS) of `mss` bytes advertised to the server. When the
/// client stops reading, the server's writes back up after little data: the server's send
/// buffer grows with its segment size (about 64 KiB on loopback, where it can absorb
/// megabytes), so the small MSS keeps it small.
pub async fn connect_slow_link(url: &str, rcvbuf: u32, mss: u32) -> anyhow::Result<Ws> {
    let request = url.into_client_request()?;
    let host = request
        .uri()
        .host()
        .ok_or_else(|| anyhow!("no host in {url}"))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let port = request.uri().port_u16().unwrap_or(80);
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .ok_or_else(|| anyhow!("{url} resolves to nothing"))?;
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_recv_buffer_size(rcvbuf)?;
    set_mss(&socket, mss)?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    Ok(ws)
}

/// Sets `TCP_MAXSEG` on a socket before it connects.
fn set_mss(socket: &tokio::net::TcpSocket, mss: u32) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = mss as libc::c_int;
    // SAFETY: the fd is open for the duration of the call; the option value is a c_int that
    // outlives it, and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MAXSEG,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Text of a message: text as is; binary gunzipped when it starts with the gzip magic,
/// otherwise read as UTF-8.
fn text_of(m: &Message) -> anyhow::Result<Option<std::borrow::Cow<'_, str>>> {
    Ok(match m {
        Message::Text(t) => Some(std::borrow::Cow::Borrowed(t.as_str())),
        Message::Binary(b) if b.starts_with(&[0x1f, 0x8b]) => {
            let mut s = String::new();
            flate2::read::GzDecoder::new(&b[..])
                .read_to_string(&mut s)
                .context("a gzip'd binary frame does not hold UTF-8")?;
            Some(std::borrow::Cow::Owned(s))
        }
        Message::Binary(b) => Some(std::borrow::Cow::Borrowed(
            std::str::from_utf8(b).context("a binary frame is neither gzip nor UTF-8")?,
        )),
        _ => None,
    })
}

/// Frames up to this size are parsed to find their `op`; longer ones are data frames.
const CONTROL_FRAME_MAX: usize = 16 * 1024;

/// The `op` of a frame while subscribing. Control frames (`subscribed`, `error`) are small and
/// put `op` wherever their serializer does (ours sorts keys, so `op` follows `append_caps`,
/// `epoch`, `limits`… well past the start): they are parsed. Larger frames — snapshot batches
/// of up to tens of MiB — name `op` before their rows, so only the first `op` is read, keeping the
/// tool's own CPU off the measured snapshot path.
fn op_of(text: &str) -> Option<&'static str> {
    const KNOWN: [&str; 3] = ["error", "subscribed", "snapshot"];
    if text.len() > CONTROL_FRAME_MAX {
        // The first `"op":"` is the frame's own: it comes before `data`.
        let rest = &text[text.find("\"op\":\"")? + 6..];
        let value = &rest[..rest.find('"')?];
        return KNOWN.into_iter().find(|known| *known == value);
    }
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        op: Option<&'a str>,
    }
    let head: Head<'_> = serde_json::from_str(text).ok()?;
    KNOWN.into_iter().find(|known| head.op == Some(known))
}

/// Sends `subscribe` and reads until the view is loaded (see [`SnapshotWait`]).
pub async fn subscribe(
    ws: &mut Ws,
    subscribe: &str,
    wait: SnapshotWait,
) -> anyhow::Result<Subscribed> {
    let start = now_ns();
    ws.send(Message::Text(subscribe.into())).await?;
    let mut s = Subscribed::default();
    let mut subscribed_at = None;
    let mut in_snapshot = false;
    let loaded = loop {
        let limit = match (subscribed_at, in_snapshot, wait) {
            (Some(_), false, SnapshotWait::MaybeEmpty) => NO_SNAPSHOT_WAIT,
            _ => SNAPSHOT_TIMEOUT,
        };
        let m = match tokio::time::timeout(limit, ws.next()).await {
            Ok(m) => m.ok_or_else(|| anyhow!("closed while subscribing"))??,
            Err(_) => match subscribed_at {
                Some(at) if !in_snapshot && wait == SnapshotWait::MaybeEmpty => break at,
                _ => bail!("the view did not load within {} s", limit.as_secs()),
            },
        };
        let Some(text) = text_of(&m)? else { continue };
        let op = op_of(&text);
        if op == Some("error") {
            bail!("subscription refused: {text}");
        }
        if op == Some("subscribed") {
            let now = now_ns();
            subscribed_at = Some(now);
            if wait == SnapshotWait::None {
                break now;
            }
        } else if op == Some("snapshot") {
            if !in_snapshot {
                s.first_batch_ns = now_ns() - start;
            }
            in_snapshot = true;
            s.rows += text.matches("{\"key\":").count() as u64;
            if text.contains("\"complete\":true") {
                break now_ns();
            }
        } else if subscribed_at.is_some() {
            // A live frame: the view is loaded, and the frame belongs to the live phase.
            drop(text);
            s.early.push(m);
            if !in_snapshot {
                break now_ns();
            }
        }
    };
    s.snapshot_ns = loaded - start;
    s.loaded_at_ns = loaded;
    Ok(s)
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
    /// Curves the updates rotate over.
    pub keys: u64,
    /// Per tracked client: how far it has got ([`Order::reached`]).
    pub progress: Arc<Vec<AtomicU64>>,
    /// Per tracked client: distinct updates seen in order within their key.
    pub seen: Arc<Vec<AtomicU64>>,
}

/// One live client: what it expects and what it recorded.
struct Recorder<'a> {
    live: &'a Live,
    index: usize,
    expect: Expect,
    r: ClientResult,
}

impl Recorder<'_> {
    /// Records one message; `Err` ends the client (error frame or close).
    fn message(&mut self, m: &Message, recv: u64) -> Result<(), String> {
        if let Message::Close(c) = m {
            return Err(format!("closed by the server: {c:?}"));
        }
        let len = match m {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            _ => return Ok(()),
        };
        let Ok(Some(text)) = text_of(m) else {
            return Ok(());
        };
        self.r.bytes += len as u64;
        let Some(id) = frame_id(&text) else {
            if text.contains("\"op\":\"error\"") {
                return Err(text.into_owned());
            }
            return Ok(());
        };
        if id < self.live.from_id {
            return Ok(());
        }
        self.r.frames += 1;
        self.r.last_recv_ns = recv;
        if let Some(sent) = self.live.times.get(id) {
            self.r.hist.record(recv.saturating_sub(sent));
        }
        if self.r.order.record(id) {
            if let Some(p) = self.live.progress.get(self.index) {
                p.store(self.r.order.reached(self.expect), Ordering::Release);
            }
            if let Some(n) = self.live.seen.get(self.index) {
                n.store(self.r.order.unique, Ordering::Release);
            }
        }
        Ok(())
    }
}

/// Reads live frames until `stop`, recording them (`early`: frames read while subscribing).
pub async fn run(
    mut ws: Ws,
    index: usize,
    expect: Expect,
    early: Vec<Message>,
    live: Arc<Live>,
    mut stop: watch::Receiver<bool>,
) -> ClientResult {
    let mut rec = Recorder {
        live: &live,
        index,
        expect,
        r: ClientResult {
            order: Order::new(live.keys),
            ..ClientResult::default()
        },
    };
    for m in &early {
        if let Err(e) = rec.message(m, now_ns()) {
            rec.r.error = Some(e);
            return rec.r;
        }
    }
    loop {
        let m = tokio::select! {
            biased;
            m = ws.next() => m,
            _ = stop.changed() => break,
        };
        let m = match m {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                rec.r.error = Some(format!("connection error: {e}"));
                break;
            }
            None => {
                rec.r.error = Some("closed by the server".into());
                break;
            }
        };
        if let Err(e) = rec.message(&m, now_ns()) {
            rec.r.error = Some(e);
            break;
        }
    }
    rec.r
}

/// Holds a connection without reading it until `stop`; then reads what is left and reports
/// whether the server told it `lagged` or closed it.
pub async fn hold_unread(mut ws: Ws, mut stop: watch::Receiver<bool>) -> bool {
    let _ = stop.changed().await;
    loop {
        match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(m))) => {
                if let Ok(Some(t)) = text_of(&m) {
                    if t.contains("\"lagged\"") {
                        return true;
                    }
                }
            }
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_op_of_a_control_frame_is_found_wherever_it_is() {
        let subscribed = r#"{"append_caps":{"last_trades":20},"append_default_cap":100,"epoch":"18ecdda2b339-7b44","limits":{"max_message_size":16384,"max_subscriptions":64},"mode":"append","op":"subscribed","resumed":false,"view":"Token/append"}"#;
        assert!(subscribed.find("\"op\"").unwrap() > 160);
        assert_eq!(op_of(subscribed), Some("subscribed"));
        assert_eq!(
            op_of(r#"{"op":"snapshot","data":[{"key":"a","data":{"op":"x"}}]}"#),
            Some("snapshot")
        );
        assert_eq!(op_of(r#"{"op":"patch","data":{}}"#), None);
        assert_eq!(op_of("not json"), None);
        let mut big =
            String::from(r#"{"mode":"list","entity":"Token/list","op":"snapshot","data":["#);
        while big.len() <= CONTROL_FRAME_MAX {
            big.push_str(r#"{"key":"k","data":{"op":"subscribed"}},"#);
        }
        big.push_str(r#"{"key":"z","data":{}}],"complete":true}"#);
        assert_eq!(op_of(&big), Some("snapshot"), "a large batch by its head");
    }

    #[test]
    fn ids_come_back_from_frames() {
        let t = r#"{"op":"patch","data":{"virtual_sol_reserves":30000000042,"_seq":"1:0"}}"#;
        assert_eq!(frame_id(t), Some(42));
        let nested =
            r#"{"op":"upsert","data":{"reserves":{"virtual_sol_reserves":"30000000007"}}}"#;
        assert_eq!(frame_id(nested), Some(7));
        assert_eq!(frame_id(r#"{"op":"subscribed"}"#), None);
        let e = Expect::Key { k: 2, keys: 5 };
        assert!(e.wants(3) && e.wants(8) && !e.wants(4));
    }

    #[test]
    fn order_is_kept_per_key() {
        // Keys 0 and 1 alternate: ids 1, 3, 5 are key 0; 2, 4, 6 key 1.
        let mut o = Order::new(2);
        for id in [2, 1, 4, 3, 6, 5] {
            assert!(o.record(id), "{id}");
        }
        assert_eq!((o.unique, o.out_of_order, o.cross_key), (6, 0, 3));
        assert!(!o.record(3), "a repeat of key 0");
        assert!(!o.record(1), "older than key 0's last");
        assert_eq!((o.unique, o.out_of_order), (6, 2));
        assert_eq!(o.reached(Expect::All), 6);
        assert_eq!(o.reached(Expect::Key { k: 1, keys: 2 }), 7);
        let mut lossy = Order::new(2);
        lossy.record(4);
        assert_eq!((lossy.reached(Expect::All), lossy.unique), (4, 1));
    }

    #[test]
    fn binary_frames_may_be_plain_json() {
        let plain = Message::Binary(br#"{"op":"subscribed"}"#.to_vec().into());
        assert_eq!(
            text_of(&plain).unwrap().as_deref(),
            Some(r#"{"op":"subscribed"}"#)
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"{\"op\":\"snapshot\"}").unwrap();
        let zipped = Message::Binary(gz.finish().unwrap().into());
        assert_eq!(
            text_of(&zipped).unwrap().as_deref(),
            Some(r#"{"op":"snapshot"}"#)
        );
        assert!(text_of(&Message::Binary(vec![0xff, 0xfe].into())).is_err());
    }
}
