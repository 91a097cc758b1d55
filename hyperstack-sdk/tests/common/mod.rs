//! Shared helpers: a real server for the pump stack, a cuttable TCP proxy, a raw-JSON entity.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use hyperstack_sdk::{Entity, HyperStack};
use hyperstack_server::{EntityCacheConfig, Mutation, RunningServer, Server, WebSocketConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Failure guard for anything awaited.
pub const WAIT: Duration = Duration::from_secs(10);

/// The Token entity seen as raw merged JSON (to check merge results exactly).
pub struct RawToken;

impl Entity for RawToken {
    type Data = Value;
    const NAME: &'static str = "Token";
    const VIEWS: &'static [&'static str] = &["Token/state", "Token/list"];
}

pub async fn start_with(cache: EntityCacheConfig) -> RunningServer {
    Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(WebSocketConfig::new("127.0.0.1:0".parse().unwrap()))
        .entity_cache_config(cache)
        .spawn()
        .await
        .expect("server starts")
}

pub async fn start() -> RunningServer {
    start_with(EntityCacheConfig::default()).await
}

pub fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}")
}

pub async fn connect(server: &RunningServer) -> HyperStack {
    HyperStack::connect(url(server.local_addr()))
        .await
        .expect("connects")
}

/// A patch mutation of a Token.
pub fn token(key: &str, data: Value) -> Mutation {
    let Value::Object(map) = data else {
        panic!("token data must be an object")
    };
    Mutation::patch("Token", key, map)
}

/// Sends a mutation and waits until it is applied and published (so a subscription made
/// next sees it).
pub async fn send(server: &RunningServer, m: Mutation) {
    let tx = server.mutations();
    tx.send(m).await.expect("server accepts");
    tx.drained().await;
}

/// Awaits `f` with the failure guard.
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next item of a stream, within the guard.
pub async fn next<S: Stream + Unpin>(s: &mut S) -> S::Item {
    within("a stream item", s.next())
        .await
        .expect("stream still open")
}

/// Polls a condition that has no signal (server metrics gauges) until it holds.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    within(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Subscriptions the server counts on a view.
pub fn subs(server: &RunningServer, view: &str) -> u64 {
    let m = server.metrics();
    m.view_index(view).map_or(0, |i| m.subscriptions(i))
}

/// A TCP proxy between the client and the server that tests can cut, block, freeze and
/// point at another upstream (a "restarted" server).
pub struct Proxy {
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    blocked: watch::Sender<bool>,
    frozen: watch::Sender<bool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = Arc::new(Mutex::new(upstream));
        let (blocked, blocked_rx) = watch::channel(false);
        let (frozen, frozen_rx) = watch::channel(false);
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let upstream = upstream.clone();
            let conns = conns.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    if *blocked_rx.borrow() {
                        drop(client);
                        continue;
                    }
                    let up = *upstream.lock().unwrap();
                    let frozen = frozen_rx.clone();
                    let task = tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(up).await else {
                            return;
                        };
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        tokio::select! {
                            _ = pump(cr, sw, frozen.clone()) => {}
                            _ = pump(sr, cw, frozen) => {}
                        }
                    });
                    conns.lock().unwrap().push(task);
                }
            })
        };
        Proxy {
            addr,
            upstream,
            blocked,
            frozen,
            conns,
            accept,
        }
    }

    pub fn url(&self) -> String {
        url(self.addr)
    }

    /// Drops every proxied connection (both sides see the TCP connection end).
    pub fn cut(&self) {
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Refuses (accepts and drops) new connections while `on`.
    pub fn block(&self, on: bool) {
        self.blocked.send_replace(on);
    }

    /// Stops forwarding bytes (connections stay open) while `on`.
    pub fn freeze(&self, on: bool) {
        self.frozen.send_replace(on);
    }

    pub fn set_upstream(&self, addr: SocketAddr) {
        *self.upstream.lock().unwrap() = addr;
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
