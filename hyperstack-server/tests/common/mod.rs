//! Shared helpers of the server's integration tests: a raw WebSocket client and a started
//! server on 127.0.0.1 port 0, serving the pump example stack.

#![allow(dead_code)]

pub mod text;

use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyperstack_server::{EntityCacheConfig, Mutation, RunningServer, Server, WebSocketConfig};
use serde_json::{json, Map, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for an expected frame before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// Starts a server for the pump stack with these settings, on 127.0.0.1:0.
pub async fn start(cache: EntityCacheConfig, mut ws: WebSocketConfig) -> RunningServer {
    ws.bind_address = "127.0.0.1:0".parse().unwrap();
    Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(ws)
        .entity_cache_config(cache)
        .spawn()
        .await
        .expect("server starts")
}

/// Starts a server with the default settings.
pub async fn start_default() -> RunningServer {
    start(EntityCacheConfig::default(), WebSocketConfig::default()).await
}

/// A patch mutation of a Token.
pub fn token(key: &str, data: Value) -> Mutation {
    let Value::Object(map) = data else {
        panic!("token data must be an object")
    };
    Mutation::patch("Token", key, map)
}

/// An empty JSON object.
pub fn empty() -> Map<String, Value> {
    Map::new()
}

/// A raw WebSocket client.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// One received frame: its JSON and whether it came as a (gzip) binary message.
#[derive(Debug, Clone)]
pub struct Received {
    pub json: Value,
    pub binary: bool,
    pub wire_len: usize,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
            .await
            .expect("connects");
        Client { ws }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn subscribe(&mut self, view: &str) {
        self.send(json!({"view": view, "key": "*"})).await;
    }

    /// The next data/control frame (skips WebSocket pings/pongs); panics after [`WAIT`].
    pub async fn next(&mut self) -> Received {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within the wait")
                .expect("stream open")
                .expect("no protocol error");
            match msg {
                Message::Text(t) => {
                    return Received {
                        wire_len: t.len(),
                        json: serde_json::from_str(&t).expect("text frames are JSON"),
                        binary: false,
                    }
                }
                Message::Binary(b) => {
                    assert_eq!(&b[..2], &[0x1f, 0x8b], "binary frames are gzip");
                    let mut out = String::new();
                    flate2::read::GzDecoder::new(&b[..])
                        .read_to_string(&mut out)
                        .expect("gunzip");
                    return Received {
                        wire_len: b.len(),
                        json: serde_json::from_str(&out).expect("gzip payload is JSON"),
                        binary: true,
                    };
                }
                Message::Close(frame) => panic!("unexpected close: {frame:?}"),
                _ => continue,
            }
        }
    }

    pub async fn next_json(&mut self) -> Value {
        self.next().await.json
    }

    /// Reads frames until the snapshot is complete; returns the snapshot frames.
    pub async fn read_snapshot(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let f = self.next_json().await;
            assert_eq!(f["op"], "snapshot", "expected a snapshot frame, got {f}");
            let done = f["complete"] == true;
            frames.push(f);
            if done {
                return frames;
            }
        }
    }

    /// Subscribes and reads the `subscribed` frame and the whole snapshot.
    pub async fn subscribe_and_snapshot(&mut self, view: &str) -> Vec<Value> {
        self.subscribe(view).await;
        let sub = self.next_json().await;
        assert_eq!(sub["op"], "subscribed", "{sub}");
        self.read_snapshot().await
    }

    /// Sends `{"op":"ping"}` and returns every frame received before the `pong`.
    pub async fn frames_until_pong(&mut self) -> Vec<Value> {
        self.send(json!({"op": "ping"})).await;
        let mut before = Vec::new();
        loop {
            let f = self.next_json().await;
            if f["op"] == "pong" {
                return before;
            }
            before.push(f);
        }
    }

    /// Waits for the close frame; returns its code and reason.
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("closes in time")
            {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// Rows (`data` arrays) of snapshot frames, flattened.
pub fn rows(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .flat_map(|f| f["data"].as_array().cloned().unwrap_or_default())
        .collect()
}
