//! `Server::builder()`: configuration, start-up, the running server's handle, shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::bus;
use crate::config::{
    EntityCacheConfig, HealthConfig, HttpHealthConfig, ReconnectionConfig, ServerConfig,
    StateTableConfig, WebSocketConfig, YellowstoneConfig,
};
use crate::engine::{Checkpoint, Engine, EngineError, Request};
use crate::health::HealthMonitor;
use crate::http::{HttpState, SortDescription, ViewDescription};
use crate::ingest::{resolve_programs, spawn_source, SourceConfig, RAW_QUEUE};
use crate::metrics::Metrics;
use crate::mutation::Mutation;
use crate::project::Projector;
use crate::ready::{CatchUp, Readiness};
use crate::source::replay::ReplayConfig;
use crate::source::yellowstone::YellowstoneSourceConfig;
use crate::source::Commitment;
use crate::spec::Stack;
use crate::store::hot::HotStats;
use crate::store::{DataLocation, Identity, Store, StoreConfig, StoreError};
use crate::transform::Transformer;
use crate::websocket::{self, ClientContext, Connections};

/// Errors of starting a server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// No stack was given to the builder.
    #[error("no stack: call `.spec(stack)` on the builder")]
    NoStack,
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A configured part is not available in this build.
    #[error("{0}")]
    Unsupported(String),
    /// The state store cannot be opened (locked by another process, written for another
    /// stack, unreadable).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The hyperstack server. Start one with [`Server::builder`].
pub struct Server;

impl Server {
    /// A builder with the defaults (WebSocket on `[::]:8877`).
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

/// Configures and starts a server.
///
/// [`ServerBuilder::start`] runs the server until SIGINT or SIGTERM, then shuts down
/// gracefully:
///
/// ```no_run
/// use hyperstack_server::Server;
///
/// #[tokio::main]
/// async fn main() -> anyhow::Result<()> {
///     Server::builder()
///         .spec(pump_stack::spec())
///         .websocket()
///         .bind("[::]:8877".parse()?)
///         .health_monitoring()
///         .start()
///         .await
/// }
/// ```
///
/// [`ServerBuilder::spawn`] starts it and returns a handle instead (addresses, mutations,
/// metrics, shutdown), for tests and for programs that run other things beside it:
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use hyperstack_server::Server;
/// let running = Server::builder()
///     .spec(pump_stack::spec())
///     .bind("127.0.0.1:0".parse()?)
///     .spawn()
///     .await?;
/// println!("listening on {}", running.local_addr());
/// running.run_until_signal().await;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct ServerBuilder {
    stack: Option<Stack>,
    config: ServerConfig,
    replay: Option<ReplayConfig>,
    commitment: Commitment,
}

impl ServerBuilder {
    /// The stack to serve (a generated crate's `spec()`).
    pub fn spec(mut self, stack: Stack) -> Self {
        self.stack = Some(stack);
        self
    }

    /// Enables the WebSocket listener with the defaults (it is always on; this keeps an
    /// explicit configuration and exists for the documented builder chain).
    pub fn websocket(mut self) -> Self {
        self.config
            .websocket
            .get_or_insert_with(WebSocketConfig::default);
        self
    }

    /// WebSocket listen address.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.config
            .websocket
            .get_or_insert_with(WebSocketConfig::default)
            .bind_address = addr;
        self
    }

    /// Full WebSocket configuration.
    pub fn websocket_config(mut self, config: WebSocketConfig) -> Self {
        self.config.websocket = Some(config);
        self
    }

    /// Replaces the whole configuration (what the other methods set piece by piece).
    ///
    /// ```
    /// use hyperstack_server::{Server, ServerConfig, WebSocketConfig};
    /// let builder = Server::builder().with_config(ServerConfig {
    ///     websocket: Some(WebSocketConfig::new("127.0.0.1:9000".parse().unwrap())),
    ///     ..ServerConfig::default()
    /// });
    /// assert_eq!(builder.config().websocket.as_ref().unwrap().bind_address.port(), 9000);
    /// ```
    pub fn with_config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Upstream Yellowstone endpoint.
    pub fn yellowstone(mut self, config: YellowstoneConfig) -> Self {
        self.config.yellowstone = Some(config);
        self
    }

    /// Ingests this replay recording when no Yellowstone endpoint is configured.
    pub fn replay(mut self, config: ReplayConfig) -> Self {
        self.replay = Some(config);
        self
    }

    /// Commitment of the Yellowstone subscription (default confirmed; `processed` is rejected
    /// by [`ServerBuilder::spawn`]).
    pub fn commitment(mut self, commitment: Commitment) -> Self {
        self.commitment = commitment;
        self
    }

    /// Enables health monitoring with the defaults.
    pub fn health_monitoring(mut self) -> Self {
        self.config.health.get_or_insert_with(HealthConfig::default);
        self
    }

    /// Health monitoring with this configuration.
    pub fn health_config(mut self, config: HealthConfig) -> Self {
        self.config.health = Some(config);
        self
    }

    /// Enables the HTTP health endpoint on the default `0.0.0.0:8081`.
    pub fn http_health(mut self) -> Self {
        self.config
            .http_health
            .get_or_insert_with(HttpHealthConfig::default);
        self
    }

    /// Enables the HTTP health endpoint on `addr`.
    pub fn health_bind(mut self, addr: SocketAddr) -> Self {
        self.config.http_health = Some(HttpHealthConfig::new(addr));
        self
    }

    /// HTTP health endpoint with this configuration.
    pub fn http_health_config(mut self, config: HttpHealthConfig) -> Self {
        self.config.http_health = Some(config);
        self
    }

    /// Enables upstream reconnection with the defaults.
    pub fn reconnection(mut self) -> Self {
        self.config
            .reconnection
            .get_or_insert_with(ReconnectionConfig::default);
        self
    }

    /// Upstream reconnection with this policy.
    pub fn reconnection_config(mut self, config: ReconnectionConfig) -> Self {
        self.config.reconnection = Some(config);
        self
    }

    /// Entity cache and snapshot batching.
    pub fn entity_cache_config(mut self, config: EntityCacheConfig) -> Self {
        self.config.cache = config;
        self
    }

    /// State table bounds.
    pub fn state_table_config(mut self, config: StateTableConfig) -> Self {
        self.config.state_table = config;
        self
    }

    /// Keeps the state in the data directory `dir` (created if needed; locked against a
    /// second process): a restart resumes where the last run stopped.
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.store.location = DataLocation::Dir(dir.into());
        self
    }

    /// Keeps the state in a temporary directory removed at shutdown (the default): complete
    /// — the bounds of [`StateTableConfig`] and [`EntityCacheConfig`] still only limit memory
    /// — but not durable. For tests and throwaway runs.
    pub fn in_memory(mut self) -> Self {
        self.config.store.location = DataLocation::Temporary;
        self
    }

    /// How long items wait for a lookup that is not registered yet.
    pub fn unresolved_config(mut self, config: crate::config::UnresolvedConfig) -> Self {
        self.config.unresolved = config;
        self
    }

    /// Where resolver fields fetch from (`ResolverConfig::from_env()` reads
    /// `HYPERSTACK_DAS_URL`); without an endpoint their fields stay null.
    pub fn resolvers(mut self, config: crate::resolve::ResolverConfig) -> Self {
        self.config.resolvers = config;
        self
    }

    /// The state store's settings (location, batching, fsync interval).
    pub fn store_config(mut self, config: StoreConfig) -> Self {
        self.config.store = config;
        self
    }

    /// The configuration as built so far.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Starts the server and runs it until SIGINT or SIGTERM, then shuts down gracefully
    /// (close frames, queued frames flushed, at most 5 s); see [`RunningServer::run_until_signal`].
    ///
    /// This is the documented run-to-completion entry point, hence `anyhow::Result` (the one
    /// place the library does not return its typed [`ServerError`]; use
    /// [`ServerBuilder::spawn`] for a handle and typed errors).
    pub async fn start(self) -> anyhow::Result<()> {
        let running = self.spawn().await?;
        running.run_until_signal().await;
        Ok(())
    }

    /// Binds the listeners, starts every task and returns the running server's handle.
    pub async fn spawn(self) -> Result<RunningServer, ServerError> {
        let stack = self.stack.ok_or(ServerError::NoStack)?;
        let config = self.config;
        let ws_config = config.websocket.clone().unwrap_or_default();
        let health_config = config.health.unwrap_or_default();
        let source = match (&config.yellowstone, self.replay) {
            (Some(y), _) => {
                if self.commitment == Commitment::Processed {
                    return Err(ServerError::Unsupported(
                        "commitment `processed` is not supported: updates of dead slots are not rolled back; use confirmed or finalized".into(),
                    ));
                }
                let mut source = YellowstoneSourceConfig::new(y.clone(), Vec::new());
                source.commitment = self.commitment;
                source.reconnection = config.reconnection.clone().unwrap_or_default();
                Some(SourceConfig::Yellowstone(source))
            }
            (None, Some(replay)) => Some(SourceConfig::Replay(replay)),
            (None, None) => None,
        };
        let health = HealthMonitor::new(health_config);
        let views = Arc::new(crate::project::view_infos(&stack));
        let metrics = Arc::new(Metrics::new(
            views.iter().map(|v| v.full_name.clone()).collect(),
        ));
        #[cfg(feature = "otel")]
        crate::telemetry::export_metrics(metrics.clone());
        let readiness = Arc::new(Readiness::new());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (bus_tx, bus_rx) = mpsc::channel(4_096);
        let (mutation_tx, mutation_rx) = mpsc::channel(ws_config.message_queue_size.max(64));
        let (request_tx, request_rx) = mpsc::channel(1_024);
        let (output_tx, output_rx) = mpsc::channel(256);

        let ws_addr = ws_config.bind_address;
        let listener = TcpListener::bind(ws_addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: ws_addr,
                source,
            })?;
        let ws_local = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: ws_addr,
            source,
        })?;

        let ready = Arc::new(AtomicBool::new(true));
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        let mut http_local = None;
        if let Some(http) = config.http_health {
            let http_listener = TcpListener::bind(http.bind_address)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: http.bind_address,
                    source,
                })?;
            http_local = http_listener.local_addr().ok();
            let state = HttpState {
                // Without a source there is no stream to be healthy: `/ready` needs only the server.
                health: source.is_some().then(|| health.clone()),
                metrics: metrics.clone(),
                views: Arc::new(describe_views(&stack, &views)),
                ready: ready.clone(),
                readiness: readiness.clone(),
            };
            let shutdown = shutdown_rx.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = crate::http::serve(http_listener, state, shutdown).await {
                    tracing::error!(error = %e, "HTTP health endpoint failed");
                }
            }));
        }
        let stats = Arc::new(HotStats::default());
        let identity = Identity {
            stack_name: stack.name.clone(),
            fingerprint: fingerprint(&stack),
        };
        let (store, created) = Store::open(&config.store, &identity)?;
        let checkpoint = Checkpoint::load(&store)?;
        if let Some(dir) = store.dir() {
            match &checkpoint {
                Some(c) => {
                    tracing::info!(dir = %dir.display(), position = c.position, slot = ?c.slot, "state store opened: resuming after the checkpoint")
                }
                None if created => tracing::info!(dir = %dir.display(), "state store created"),
                None => {
                    tracing::info!(dir = %dir.display(), "state store opened (nothing ingested yet)")
                }
            }
        }
        let projector = Projector::open(
            &stack,
            config.cache,
            config.state_table,
            store.clone(),
            stats.clone(),
        )?;
        let epoch: Arc<str> = Arc::from(projector.epoch());
        metrics.attach_store(store.clone(), stats.clone());
        tasks.push(health.spawn_heartbeat(shutdown_rx.clone()));

        tasks.push(tokio::spawn(bus::run(
            bus_rx,
            output_rx,
            request_tx.clone(),
            views.len(),
            ws_config.message_queue_size,
            metrics.clone(),
            shutdown_rx.clone(),
        )));

        let mut transformer = None;
        let mut raw = None;
        let mut replay_events = false;
        if let Some(mut source) = source {
            let t = Transformer::open(
                &stack,
                config.state_table,
                config.unresolved,
                store.clone(),
                stats.clone(),
            )
            .map_err(|e| ServerError::Unsupported(format!("cannot start ingestion: {e}")))?
            .with_metrics(metrics.clone());
            resolve_programs(&mut source, &t)
                .map_err(|e| ServerError::Unsupported(format!("cannot start ingestion: {e}")))?;
            let position = checkpoint.as_ref().map_or(0, |c| c.position);
            match &mut source {
                SourceConfig::Replay(r) => {
                    r.skip = position;
                    replay_events = true;
                }
                SourceConfig::Yellowstone(y) => {
                    y.from_slot = checkpoint.as_ref().and_then(|c| c.slot);
                }
            }
            let (raw_tx, raw_rx) = mpsc::channel(RAW_QUEUE);
            let task = spawn_source(source, raw_tx, health.clone(), None, shutdown_rx.clone());
            tasks.push(tokio::spawn(async move {
                match task.await {
                    Ok(Err(e)) => tracing::error!(error = %e, "ingestion stopped with an error"),
                    Err(e) => tracing::error!(error = %e, "ingestion task failed"),
                    Ok(Ok(())) => {}
                }
            }));
            transformer = Some(t);
            raw = Some(raw_rx);
        }
        let resolve = match transformer.as_mut() {
            Some(t) => crate::resolve::start(
                &stack,
                &config.resolvers,
                t.resolve_index(),
                metrics.clone(),
                shutdown_rx.clone(),
            )
            .map_err(|e| ServerError::Unsupported(format!("cannot start the resolvers: {e}")))?,
            None => None,
        };
        let (caught_up_tx, caught_up) = watch::channel(false);
        let catch_up = match (&raw, &checkpoint) {
            (Some(_), _) if config.yellowstone.is_some() => CatchUp::Live {
                max_lag: config.ready_max_lag_slots,
            },
            (Some(_), Some(c)) => CatchUp::Replay {
                position: c.position,
            },
            _ => CatchUp::Nothing,
        };
        let engine = Engine {
            store: store.clone(),
            store_config: config.store.clone(),
            projector,
            transformer,
            raw,
            replay_events,
            mutations: mutation_rx,
            resolve,
            requests: request_rx,
            output: output_tx,
            metrics: metrics.clone(),
            health: health.clone(),
            readiness: readiness.clone(),
            caught_up: caught_up_tx,
            checkpoint: checkpoint.unwrap_or_default(),
        };
        let engine_thread = engine.spawn(shutdown_rx.clone()).map_err(|e| {
            ServerError::Unsupported(format!("cannot start the engine thread: {e}"))
        })?;
        readiness.opened(catch_up);

        let connections = Arc::new(Connections::default());
        let ctx = ClientContext {
            bus: bus_tx,
            views: views.clone(),
            metrics: metrics.clone(),
            shutdown: shutdown_rx.clone(),
            queue_size: ws_config.message_queue_size,
            max_subscriptions: ws_config.max_subscriptions_per_client,
            epoch,
        };
        tasks.push(tokio::spawn(websocket::accept_loop(
            listener,
            ctx,
            ws_config.max_clients,
            ws_config.auth_token.as_deref().map(Arc::from),
            connections.clone(),
        )));
        let mutations = MutationSender {
            tx: mutation_tx,
            engine: request_tx,
        };
        tracing::info!(websocket = %ws_local, http = ?http_local, stack = %stack.name, "hyperstack server listening");
        Ok(RunningServer {
            engine: Some(engine_thread),
            caught_up,
            ws_addr: ws_local,
            http_addr: http_local,
            mutations,
            health,
            metrics,
            ready,
            shutdown: shutdown_tx,
            connections,
            tasks,
        })
    }
}

fn describe_views(stack: &Stack, views: &[crate::project::ViewInfo]) -> Vec<ViewDescription> {
    views
        .iter()
        .map(|v| ViewDescription {
            view: v.full_name.clone(),
            entity: v.entity.clone(),
            mode: v.mode.to_string(),
            sort: v.sort.as_ref().map(|(field, order)| SortDescription {
                field: field.clone(),
                order: match order {
                    crate::spec::SortOrder::Asc => "asc".to_string(),
                    crate::spec::SortOrder::Desc => "desc".to_string(),
                },
            }),
            fields: stack
                .entity(&v.entity)
                .map(|e| {
                    e.fields
                        .iter()
                        .filter(|f| f.emit)
                        .map(|f| f.name.clone())
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Sends mutations into a running server (a custom transform's output, or a test's input).
#[derive(Clone, Debug)]
pub struct MutationSender {
    tx: mpsc::Sender<Mutation>,
    engine: mpsc::Sender<Request>,
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

/// A fingerprint of the checked stack model: a data directory is only reopened for the stack
/// it was written for.
fn fingerprint(stack: &Stack) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(stack).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A started server.
pub struct RunningServer {
    engine: Option<std::thread::JoinHandle<Result<(), EngineError>>>,
    caught_up: watch::Receiver<bool>,
    ws_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    mutations: MutationSender,
    health: HealthMonitor,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    shutdown: watch::Sender<bool>,
    connections: Arc<Connections>,
    tasks: Vec<JoinHandle<()>>,
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

    /// Open WebSocket connections.
    pub fn connections(&self) -> usize {
        self.connections.current()
    }

    /// Graceful shutdown: stop accepting, send close frames, let clients flush (at most
    /// `grace`), stop every task.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(grace, self.connections.drained()).await;
        for task in self.tasks {
            let _ = tokio::time::timeout(grace, task).await;
        }
        if let Some(engine) = self.engine.take() {
            // The engine commits what it applied and fsyncs the store before it ends.
            let joined = tokio::task::spawn_blocking(move || engine.join());
            match tokio::time::timeout(grace, joined).await {
                Ok(Ok(Ok(Err(e)))) => {
                    tracing::error!(error = %e, "the engine had stopped with an error")
                }
                Ok(Ok(Err(_))) => tracing::error!("the engine thread panicked"),
                Ok(_) => {}
                Err(_) => tracing::warn!("the engine did not stop within the grace period"),
            }
        }
        crate::telemetry::flush_telemetry();
        tracing::info!("hyperstack server stopped");
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully (5 s grace).
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("signal received: shutting down");
        self.shutdown(Duration::from_secs(5)).await;
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
