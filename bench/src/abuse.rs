//! Abusive clients for the `abuse` preset: they run beside the measured honest clients for the
//! whole live phase, each kind in a loop, reconnecting whenever the server closes them.
//!
//! - **oversized**: connects and streams a 15 MiB text frame (a subscribe with a huge key)
//!   from one shared 64 KiB buffer until the server cuts it off, then again;
//! - **churn**: pipelines subscribe/unsubscribe pairs of the list view (each subscribe asks
//!   for a full snapshot) as fast as the socket takes them, reading and dropping whatever
//!   comes back; refused (`rate_limited`) or closed (message rate), it reconnects at once;
//! - **silent**: connects, subscribes to a state key, and never reads its socket again (so it
//!   never answers a ping); closed by the server, it comes back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use crate::client;

/// How many abusive clients of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbuseMix {
    /// Clients sending oversized messages.
    pub oversized: usize,
    /// Clients churning subscriptions.
    pub churn: usize,
    /// Silent peers.
    pub silent: usize,
}

impl AbuseMix {
    /// Abusive clients in all.
    pub fn total(&self) -> usize {
        self.oversized + self.churn + self.silent
    }
}

/// What the abusive clients did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AbuseFigures {
    /// Abusive clients running.
    pub abusers: usize,
    /// Oversized messages started.
    pub oversized_sent: u64,
    /// …answered with close 1009.
    pub oversized_closed_1009: u64,
    /// Subscribe messages the churners sent.
    pub churn_subscribes: u64,
    /// `rate_limited` errors they received.
    pub churn_rate_limited: u64,
    /// Times the server closed a churner (message rate: 1008).
    pub churn_closed: u64,
    /// Connections the silent peers opened.
    pub silent_connections: u64,
    /// Times the server closed a silent peer.
    pub silent_closed: u64,
    /// Connection attempts refused or failed (any kind).
    pub connect_failures: u64,
    /// Server RSS once the abusers were gone.
    pub rss_after: u64,
}

#[derive(Default)]
struct Counters {
    oversized_sent: AtomicU64,
    oversized_1009: AtomicU64,
    churn_subscribes: AtomicU64,
    churn_limited: AtomicU64,
    churn_closed: AtomicU64,
    silent_connections: AtomicU64,
    silent_closed: AtomicU64,
    connect_failures: AtomicU64,
}

/// Running abusive clients.
pub struct Abusers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
    abusers: usize,
}

/// Starts `mix` against `url`; silent peers subscribe to `quiet_key` of the state view.
pub fn start(url: &str, mix: AbuseMix, quiet_key: String) -> Abusers {
    let (stop, stopped) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let mut chunk = br#"{"view":"Token/state","key":""#.to_vec();
    chunk.resize(64 * 1024, b'k');
    let chunk = Arc::new(chunk);
    let mut tasks = Vec::new();
    for _ in 0..mix.oversized {
        let (url, c, s, chunk) = (
            url.to_string(),
            counters.clone(),
            stopped.clone(),
            chunk.clone(),
        );
        tasks.push(tokio::spawn(oversized(url, chunk, c, s)));
    }
    for _ in 0..mix.churn {
        let (url, c, s) = (url.to_string(), counters.clone(), stopped.clone());
        tasks.push(tokio::spawn(churn(url, c, s)));
    }
    for _ in 0..mix.silent {
        let (url, c, s, k) = (
            url.to_string(),
            counters.clone(),
            stopped.clone(),
            quiet_key.clone(),
        );
        tasks.push(tokio::spawn(silent(url, k, c, s)));
    }
    Abusers {
        stop,
        tasks,
        counters,
        abusers: mix.total(),
    }
}

impl Abusers {
    /// Stops every abusive client (their connections close) and returns what they did.
    pub async fn stop(self) -> AbuseFigures {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        let c = &self.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        AbuseFigures {
            abusers: self.abusers,
            oversized_sent: n(&c.oversized_sent),
            oversized_closed_1009: n(&c.oversized_1009),
            churn_subscribes: n(&c.churn_subscribes),
            churn_rate_limited: n(&c.churn_limited),
            churn_closed: n(&c.churn_closed),
            silent_connections: n(&c.silent_connections),
            silent_closed: n(&c.silent_closed),
            connect_failures: n(&c.connect_failures),
            rss_after: 0,
        }
    }
}

fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// A pause after a failed connect, so a refusing server is not hammered by a spin.
const RETRY: Duration = Duration::from_millis(20);

async fn oversized(
    url: String,
    chunk: Arc<Vec<u8>>,
    c: Arc<Counters>,
    stop: watch::Receiver<bool>,
) {
    let len: u64 = 15 * 1024 * 1024;
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0]);
    while !stopping(&stop) {
        let Ok(mut ws) = client::connect(&url).await else {
            c.connect_failures.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(RETRY).await;
            continue;
        };
        c.oversized_sent.fetch_add(1, Ordering::Relaxed);
        let MaybeTlsStream::Plain(stream) = ws.get_mut() else {
            return;
        };
        let mut sent = 0u64;
        let mut ok = stream.write_all(&header).await.is_ok();
        while ok && sent < len && !stopping(&stop) {
            ok = stream.write_all(&chunk).await.is_ok();
            sent += chunk.len() as u64;
        }
        // Whatever the server answered (its close frame may be lost to the reset).
        if let Ok(Some(Ok(Message::Close(Some(f))))) =
            tokio::time::timeout(Duration::from_millis(200), ws.next()).await
        {
            if u16::from(f.code) == 1009 {
                c.oversized_1009.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn churn(url: String, c: Arc<Counters>, stop: watch::Receiver<bool>) {
    let sub = r#"{"view":"Token/list"}"#;
    let unsub = r#"{"op":"unsubscribe","view":"Token/list"}"#;
    while !stopping(&stop) {
        let Ok(ws) = client::connect(&url).await else {
            c.connect_failures.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(RETRY).await;
            continue;
        };
        let (mut sink, mut stream) = ws.split();
        let counters = c.clone();
        // Reads and drops what comes back; notes refusals and the close.
        let reader = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Text(t) if t.contains("\"rate_limited\"") => {
                        counters.churn_limited.fetch_add(1, Ordering::Relaxed);
                    }
                    Message::Close(_) => {
                        counters.churn_closed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    _ => {}
                }
            }
        });
        'conn: while !stopping(&stop) && !reader.is_finished() {
            for _ in 0..16 {
                if sink.feed(Message::Text(sub.into())).await.is_err()
                    || sink.feed(Message::Text(unsub.into())).await.is_err()
                {
                    break 'conn;
                }
                c.churn_subscribes.fetch_add(1, Ordering::Relaxed);
            }
            if sink.flush().await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
        let _ = sink.close().await;
        reader.abort();
    }
}

async fn silent(url: String, key: String, c: Arc<Counters>, mut stop: watch::Receiver<bool>) {
    let msg = format!(r#"{{"view":"Token/state","key":"{key}"}}"#);
    while !stopping(&stop) {
        let Ok(mut ws) = client::connect(&url).await else {
            c.connect_failures.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(RETRY).await;
            continue;
        };
        c.silent_connections.fetch_add(1, Ordering::Relaxed);
        if ws.send(Message::Text(msg.as_str().into())).await.is_err() {
            continue;
        }
        // Never read again: wait until the run ends, or until a write shows the server has
        // closed the connection (a write to a closed socket fails).
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            let MaybeTlsStream::Plain(s) = ws.get_mut() else {
                return;
            };
            if s.peer_addr().is_err() || probe_closed(s).await {
                c.silent_closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Whether the server closed the connection: a readable zero-length read (EOF) after its
/// close, without consuming the frames waiting (peeking).
async fn probe_closed(s: &tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(1), s.peek(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}
