//! Helpers of the hostile-client tests: a server with its HTTP endpoint, raw and slow-link
//! connections, a background reader, metric and condition waits.

#![allow(dead_code)]

#[path = "../common/text.rs"]
pub mod text;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyperstack_server::metrics::RefusalReason;
use hyperstack_server::{EntityCacheConfig, Mutation, RunningServer, Server, WebSocketConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long a test waits for an expected event before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// A server for the pump stack on 127.0.0.1:0, with its HTTP endpoint on 127.0.0.1:0.
pub async fn serve(cache: EntityCacheConfig, mut ws: WebSocketConfig) -> RunningServer {
    ws.bind_address = "127.0.0.1:0".parse().unwrap();
    Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(ws)
        .entity_cache_config(cache)
        .health_bind("127.0.0.1:0".parse().unwrap())
        .spawn()
        .await
        .expect("server starts")
}

/// A patch mutation of a Token.
pub fn token(key: &str, data: Value) -> Mutation {
    let Value::Object(map) = data else {
        panic!("token data must be an object")
    };
    Mutation::patch("Token", key, map)
}

/// Creates `n` tokens `k00000`… and waits until they are committed.
pub async fn preload(server: &RunningServer, n: usize) {
    let tx = server.mutations();
    for i in 0..n {
        tx.send(token(&format!("k{i:05}"), json!({"name": format!("t{i}")})))
            .await
            .unwrap();
    }
    tx.drained().await;
}

/// Polls `cond` until it holds; panics with `what` after [`WAIT`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Refusals for `reason` so far.
pub fn refused(server: &RunningServer, reason: RefusalReason) -> u64 {
    server.metrics().refusals(reason)
}

pub type Ws = WebSocketStream<TcpStream>;

/// A WebSocket over a plain TCP connection (never read unless the test reads it: a peer
/// that does not answer pings until it is polled).
pub async fn connect(addr: SocketAddr) -> Ws {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}"), stream)
        .await
        .expect("handshake");
    ws
}

/// A WebSocket over a connection with a 4 KiB receive buffer and a 536-byte MSS: once it
/// stops reading, the server's writes to it back up after little data.
pub async fn connect_slow_link(addr: SocketAddr) -> Ws {
    use std::os::fd::AsRawFd;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4 * 1024).unwrap();
    let mss: libc::c_int = 536;
    // SAFETY: the fd is open for the duration of the call; the option value is a c_int that
    // outlives it, and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MAXSEG,
            (&mss as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "TCP_MAXSEG");
    let stream = socket.connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}"), stream)
        .await
        .expect("handshake");
    ws
}

/// What a background reader saw.
#[derive(Debug, Clone)]
pub enum Seen {
    Frame(Value),
    Closed(Option<u16>),
}

/// A client whose frames are read by a background task (so it answers pings), with its
/// writing half kept here.
pub struct Reader {
    pub sink: SplitSink<Ws, Message>,
    pub rx: mpsc::UnboundedReceiver<Seen>,
}

impl Reader {
    pub fn spawn(ws: Ws) -> Reader {
        let (sink, stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(read_all(stream, tx));
        Reader { sink, rx }
    }

    pub async fn send(&mut self, v: Value) {
        self.sink
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// The next thing seen; panics after [`WAIT`].
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("something within the wait")
            .expect("reader alive")
    }

    pub async fn next_frame(&mut self) -> Value {
        match self.next().await {
            Seen::Frame(v) => v,
            Seen::Closed(code) => panic!("closed ({code:?}) while a frame was expected"),
        }
    }

    /// Sends `{"op":"ping"}` and returns the frames received before the `pong`.
    pub async fn until_pong(&mut self) -> Vec<Value> {
        self.send(json!({"op": "ping"})).await;
        let mut before = Vec::new();
        loop {
            let f = self.next_frame().await;
            if f["op"] == "pong" {
                return before;
            }
            before.push(f);
        }
    }
}

async fn read_all(mut stream: SplitStream<Ws>, tx: mpsc::UnboundedSender<Seen>) {
    while let Some(msg) = stream.next().await {
        let seen = match msg {
            Ok(Message::Text(t)) => Seen::Frame(serde_json::from_str(&t).expect("JSON")),
            Ok(Message::Binary(b)) => Seen::Frame(gunzip(&b)),
            Ok(Message::Close(f)) => Seen::Closed(f.map(|f| u16::from(f.code))),
            Ok(_) => continue,
            Err(_) => Seen::Closed(None),
        };
        let closed = matches!(seen, Seen::Closed(_));
        if tx.send(seen).is_err() || closed {
            return;
        }
    }
    let _ = tx.send(Seen::Closed(None));
}

pub fn gunzip(b: &[u8]) -> Value {
    use std::io::Read;
    let mut out = String::new();
    flate2::read::GzDecoder::new(b)
        .read_to_string(&mut out)
        .expect("gunzip");
    serde_json::from_str(&out).expect("JSON")
}

/// Reads a WebSocket until its close frame; returns the close code (`None` when the
/// connection ended without one).
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("closed within the wait")
        {
            Some(Ok(Message::Close(f))) => return f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// `GET path` on the HTTP endpoint: status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut buf))
        .await
        .expect("HTTP answer")
        .unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

/// The resident set size of this process, in bytes.
pub fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
