//! The running server's handle: addresses, mutations, metrics, failure, shutdown.
//!
//! Shutdown, within one grace period in total:
//!
//! 1. `/ready` answers 503 (load balancers stop sending new clients);
//! 2. the listener stops accepting, ingestion stops, the engine commits what it applied,
//!    publishes it and fsyncs the store;
//! 3. the bus fans the engine's last batches out to the client queues;
//! 4. every client writes what is queued for it, then is closed with 1001; the connection
//!    tasks are joined (aborted when the grace period runs out);
//! 5. the HTTP endpoint and the remaining tasks stop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

use super::ServerError;
use crate::engine::Request;
use crate::health::HealthMonitor;
use crate::metrics::Metrics;
use crate::mutation::Mutation;
use crate::supervise::{CloseAll, Failure, Supervisor};
use crate::websocket::Connections;

/// Sends mutations into a running server (a custom transform's output, or a test's input).
#[derive(Clone, Debug)]
pub struct MutationSender {
    pub(super) tx: mpsc::Sender<Mutation>,
    pub(super) engine: mpsc::Sender<Request>,
}

impl MutationSender {
    /// Sends a mutation, waiting while the engine is busy. Errors when the server has shut
    /// down.
    pub async fn send(&self, m: Mutation) -> Result<(), Mutation> {
        self.tx.send(m).await.map_err(|e| e.0)
    }

    /// Resolves once every mutation sent so far is applied, committed and published (or the
    /// server is gone). Subscriptions made afterwards see their effects.
    pub async fn drained(&self) {
        while self.tx.capacity() < self.tx.max_capacity() && !self.tx.is_closed() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let (reply, done) = tokio::sync::oneshot::channel();
        if self.engine.send(Request::Sync(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}

/// The server's tasks, each supervised (see [`crate::supervise`]).
pub(super) struct Tasks {
    /// Watches the engine thread; ends when the thread does.
    pub engine: JoinHandle<()>,
    pub bus: JoinHandle<()>,
    /// The listener; after it stops accepting it joins the connection tasks.
    pub websocket: JoinHandle<()>,
    pub ingest: Option<JoinHandle<()>>,
    pub http: Option<JoinHandle<()>>,
    pub heartbeat: JoinHandle<()>,
}

/// A started server.
pub struct RunningServer {
    /// Becomes true once a finite source's updates are all applied, committed and published.
    pub(super) caught_up: watch::Receiver<bool>,
    pub(super) ws_addr: SocketAddr,
    pub(super) http_addr: Option<SocketAddr>,
    pub(super) mutations: MutationSender,
    pub(super) health: HealthMonitor,
    pub(super) metrics: Arc<Metrics>,
    pub(super) ready: Arc<AtomicBool>,
    /// Stops the listener, ingestion and the engine.
    pub(super) stop: watch::Sender<bool>,
    /// Stops the HTTP endpoint and the heartbeat (last).
    pub(super) stop_http: watch::Sender<bool>,
    pub(super) supervisor: Supervisor,
    pub(super) connections: Arc<Connections>,
    pub(super) tasks: Tasks,
}

impl RunningServer {
    /// Where the WebSocket listener listens (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.ws_addr
    }

    /// Where the HTTP health endpoint listens, when enabled.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Resolves once a finite source (a replay without looping) has ended and every one of
    /// its updates is applied, committed and published; never for a live or looping source.
    pub async fn caught_up(&self) {
        let mut rx = self.caught_up.clone();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// The entry point of mutations.
    pub fn mutations(&self) -> MutationSender {
        self.mutations.clone()
    }

    /// The upstream health monitor (what `/health` and `/ready` report).
    pub fn health(&self) -> &HealthMonitor {
        &self.health
    }

    /// The metrics behind `/metrics`.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Sets what `/ready` reports (together with the stream status).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Open WebSocket connections (complete handshakes).
    pub fn connections(&self) -> usize {
        self.connections.current()
    }

    /// The failure of a critical task, once one failed (the server is then failing: health
    /// `Error`, `/ready` 503, clients closed with 1011).
    pub fn failure(&self) -> Option<Failure> {
        self.supervisor.failure()
    }

    /// Resolves when a critical task fails.
    pub async fn failed(&self) -> Failure {
        let mut rx = self.supervisor.failures();
        loop {
            if let Some(f) = rx.borrow_and_update().clone() {
                return f;
            }
            if rx.changed().await.is_err() {
                // The supervisor lives as long as this handle: not reached.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Graceful shutdown within `grace` in total (see the module documentation): `/ready`
    /// 503, ingestion stopped, the engine's last batches committed and delivered to the
    /// client queues, every client flushed and closed with 1001, every task joined.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop(grace).await;
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully (5 s grace). Returns an error
    /// when a critical task failed — before the signal or while stopping — so a process
    /// supervisor restarts the process (the server never runs on as a zombie).
    pub async fn run_until_signal(self) -> Result<(), ServerError> {
        tokio::select! {
            _ = wait_for_signal() => tracing::info!("signal received: shutting down"),
            f = self.failed() => tracing::error!(failure = %f, "shutting down after a failure"),
        }
        match self.stop(Duration::from_secs(5)).await {
            Some(f) => Err(ServerError::Failed(f)),
            None => Ok(()),
        }
    }

    /// The shutdown sequence; returns the failure, if there was one.
    async fn stop(self, grace: Duration) -> Option<Failure> {
        let deadline = Instant::now() + grace;
        let RunningServer {
            ready,
            stop,
            stop_http,
            supervisor,
            mut tasks,
            ..
        } = self;
        supervisor.stopping();
        // 1. Load balancers drain first.
        ready.store(false, Ordering::Release);
        // 2. Stop accepting and ingesting; the engine commits, publishes and fsyncs.
        let _ = stop.send(true);
        if timeout_at(deadline, &mut tasks.engine).await.is_err() {
            tracing::warn!("the engine did not stop within the grace period");
        }
        // 3. The bus delivers the engine's last batches, then ends.
        if timeout_at(deadline, &mut tasks.bus).await.is_err() {
            tracing::warn!("the bus did not drain within the grace period");
            tasks.bus.abort();
        }
        // 4. Clients flush and close with 1001; the listener joins their tasks.
        supervisor.close_clients(CloseAll::Shutdown);
        if timeout_at(deadline, &mut tasks.websocket).await.is_err() {
            tracing::warn!("clients did not finish flushing within the grace period: closing them");
            tasks.websocket.abort();
        }
        // 5. The rest.
        if let Some(mut ingest) = tasks.ingest.take() {
            if timeout_at(deadline, &mut ingest).await.is_err() {
                ingest.abort();
            }
        }
        let _ = stop_http.send(true);
        if let Some(mut http) = tasks.http.take() {
            if timeout_at(deadline, &mut http).await.is_err() {
                http.abort();
            }
        }
        tasks.heartbeat.abort();
        crate::telemetry::flush_telemetry();
        let failure = supervisor.failure();
        match &failure {
            Some(f) => tracing::error!(failure = %f, "hyperstack server stopped after a failure"),
            None => tracing::info!("hyperstack server stopped"),
        }
        failure
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
