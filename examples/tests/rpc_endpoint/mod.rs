//! A Solana JSON-RPC endpoint for tests, on 127.0.0.1 port 0: it answers `getProgramAccounts`
//! (base64, `withContext`, `memcmp` filters applied) with the accounts the test gives it, or
//! fails the next requests as the test sets it (HTTP 503, a JSON-RPC error); it keeps every
//! request's parameters and tells whoever waits how many it received.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// One account the endpoint holds.
#[derive(Debug, Clone)]
pub struct Account {
    pub pubkey: [u8; 32],
    pub owner: [u8; 32],
    pub data: Vec<u8>,
}

/// How the next request is failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Http503,
    RpcError,
}

struct State {
    slot: u64,
    accounts: Vec<Account>,
    failures: Vec<Failure>,
    params: Vec<Value>,
}

/// The running endpoint.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    received: watch::Sender<u64>,
}

impl Endpoint {
    /// Starts an endpoint answering with `accounts` at context slot `slot`.
    pub async fn start(slot: u64, accounts: Vec<Account>) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint {
            addr: listener.local_addr().unwrap(),
            state: Arc::new(Mutex::new(State {
                slot,
                accounts,
                failures: Vec::new(),
                params: Vec::new(),
            })),
            received: watch::channel(0).0,
        };
        let served = endpoint.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let e = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let e = e.clone();
                        async move { Ok::<_, Infallible>(e.answer(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        endpoint
    }

    /// The URL, with an API key in its query (which must never be logged).
    pub fn url(&self) -> String {
        format!("http://{}/?api-key=SECRET-RPC-KEY", self.addr)
    }

    /// Answers from now on with `accounts` at `slot`.
    pub fn set(&self, slot: u64, accounts: Vec<Account>) {
        let mut s = self.state.lock().unwrap();
        s.slot = slot;
        s.accounts = accounts;
    }

    /// Fails the next requests, in this order.
    pub fn fail_next(&self, failures: &[Failure]) {
        self.state.lock().unwrap().failures = failures.to_vec();
    }

    /// The parameters of every request so far.
    pub fn params(&self) -> Vec<Value> {
        self.state.lock().unwrap().params.clone()
    }

    /// Waits until `n` requests arrived.
    pub async fn received(&self, n: u64) {
        let mut rx = self.received.subscribe();
        rx.wait_for(|got| *got >= n).await.unwrap();
    }

    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, answer) = self.reply(&request);
        self.received.send_modify(|n| *n += 1);
        let mut response = Response::new(Full::new(Bytes::from(answer)));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        response
    }

    fn reply(&self, request: &Value) -> (u16, String) {
        let mut s = self.state.lock().unwrap();
        s.params.push(request["params"].clone());
        if !s.failures.is_empty() {
            return match s.failures.remove(0) {
                Failure::Http503 => (503, "unavailable".into()),
                Failure::RpcError => (
                    200,
                    json!({"jsonrpc":"2.0","id":request["id"],"error":{"code":-32010,"message":"scan aborted"}})
                        .to_string(),
                ),
            };
        }
        let options = &request["params"][1];
        if request["method"] != "getProgramAccounts"
            || options["encoding"] != "base64"
            || options["withContext"] != true
        {
            return (
                200,
                json!({"jsonrpc":"2.0","id":request["id"],"error":{"code":-32602,"message":"this endpoint wants getProgramAccounts, base64, withContext"}})
                    .to_string(),
            );
        }
        let program = request["params"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let filters: Vec<(usize, Vec<u8>)> = options["filters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let m = &f["memcmp"];
                (
                    m["offset"].as_u64().unwrap() as usize,
                    bs58::decode(m["bytes"].as_str().unwrap())
                        .into_vec()
                        .unwrap(),
                )
            })
            .collect();
        let value: Vec<Value> = s
            .accounts
            .iter()
            .filter(|a| bs58::encode(a.owner).into_string() == program)
            .filter(|a| {
                filters
                    .iter()
                    .all(|(offset, bytes)| a.data.get(*offset..*offset + bytes.len()) == Some(bytes))
            })
            .map(|a| {
                json!({
                    "pubkey": bs58::encode(a.pubkey).into_string(),
                    "account": {
                        "data": [base64::engine::general_purpose::STANDARD.encode(&a.data), "base64"],
                        "executable": false,
                        "lamports": 1_461_600,
                        "owner": program,
                        "rentEpoch": 18_446_744_073_709_551_615u64,
                        "space": a.data.len(),
                    }
                })
            })
            .collect();
        let answer = json!({
            "jsonrpc": "2.0",
            "result": {"context": {"apiVersion": "2.2.0", "slot": s.slot}, "value": value},
            "id": request["id"],
        });
        (200, answer.to_string())
    }
}
