//! A DAS-compatible JSON-RPC endpoint for tests, on 127.0.0.1 port 0: it answers `getAsset`
//! with token metadata, holds requests until released, or fails, as the test sets it; it
//! counts the requests it received (and tells whoever waits for a count).

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Token metadata with these decimals, at once.
    Answer { decimals: u8 },
    /// Nothing until [`Endpoint::release`]; then as `Answer`.
    Hold { decimals: u8 },
    /// HTTP 503 to every request.
    Down,
}

struct State {
    mode: Mode,
    /// Requests per mint.
    requests: HashMap<String, u64>,
}

/// The running endpoint (stopped when dropped with its runtime).
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    released: watch::Sender<bool>,
    received: watch::Sender<u64>,
}

/// The metadata the endpoint gives a mint.
pub fn metadata(mint: &str, decimals: u8) -> Value {
    json!({
        "interface": "FungibleToken",
        "id": mint,
        "content": {
            "metadata": {"name": "Ore", "symbol": "ORE"},
            "links": {"image": "https://example.invalid/ore.png"}
        },
        "token_info": {"decimals": decimals, "symbol": "ORE"}
    })
}

impl Endpoint {
    /// Starts an endpoint answering as `mode`.
    pub async fn start(mode: Mode) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (released, _) = watch::channel(false);
        let (received, _) = watch::channel(0u64);
        let endpoint = Endpoint {
            addr,
            state: Arc::new(Mutex::new(State {
                mode,
                requests: HashMap::new(),
            })),
            released,
            received,
        };
        let server = endpoint.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let server = server.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.handle(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        endpoint
    }

    /// The URL, with an API key in the query as providers do.
    pub fn url(&self, key: &str) -> String {
        format!("http://{}/?api-key={key}", self.addr)
    }

    /// Answers held requests, and later ones at once.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Changes how later requests are answered.
    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut s) = self.state.lock() {
            s.mode = mode;
        }
    }

    /// Requests received, per mint.
    pub fn requests(&self) -> HashMap<String, u64> {
        self.state
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }

    /// Requests received in total.
    pub fn total(&self) -> u64 {
        *self.received.borrow()
    }

    /// Waits until at least `n` requests were received.
    pub async fn received_at_least(&self, n: u64) {
        let mut rx = self.received.subscribe();
        let _ = rx.wait_for(|&count| count >= n).await;
    }

    async fn handle(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let call: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mint = call["params"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mode = {
            let Ok(mut s) = self.state.lock() else {
                return reply(500, json!({}));
            };
            *s.requests.entry(mint.clone()).or_insert(0) += 1;
            s.mode.clone()
        };
        self.received.send_modify(|n| *n += 1);
        let decimals = match mode {
            Mode::Down => return reply(503, json!({"error": "unavailable"})),
            Mode::Answer { decimals } => decimals,
            Mode::Hold { decimals } => {
                let mut released = self.released.subscribe();
                let _ = released.wait_for(|&r| r).await;
                decimals
            }
        };
        if call["method"] != "getAsset" {
            return reply(
                200,
                json!({"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32601, "message": "method not found"}}),
            );
        }
        reply(
            200,
            json!({"jsonrpc": "2.0", "id": call["id"], "result": metadata(&mint, decimals)}),
        )
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}
