//! `Server::builder()`: configuration, start-up, the running server's handle, shutdown.

mod running;
mod spawn;

pub use running::{MutationSender, RunningServer};

use std::net::SocketAddr;

use crate::config::{
    EntityCacheConfig, HealthConfig, HttpHealthConfig, ReconnectionConfig, ServerConfig,
    StateTableConfig, WebSocketConfig, YellowstoneConfig,
};
use crate::source::replay::ReplayConfig;
use crate::source::Commitment;
use crate::spec::Stack;
use crate::store::{DataLocation, StoreConfig, StoreError};
use crate::supervise::Failure;

/// Errors of starting (or running) a server.
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
    /// A critical task failed while the server ran (see [`RunningServer::failure`]).
    #[error("{0}")]
    Failed(Failure),
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

    /// Commitment of the Yellowstone subscription and of a bootstrap (default confirmed;
    /// `processed` is rejected by [`ServerBuilder::spawn`]).
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

    /// Bootstraps the programs' existing accounts from this Solana RPC endpoint
    /// (`getProgramAccounts`) before streaming from Yellowstone on a first start, and again
    /// when the checkpoint is older than the upstream's replay window
    /// ([`RpcConfig::from_env`](crate::RpcConfig::from_env) reads `SOLANA_RPC_URL`).
    ///
    /// ```
    /// use hyperstack_server::{RpcConfig, Server};
    /// let builder = Server::builder().rpc_bootstrap(RpcConfig::new("http://127.0.0.1:8899"));
    /// assert!(builder.config().rpc_bootstrap.is_some());
    /// ```
    pub fn rpc_bootstrap(mut self, config: crate::source::rpc::RpcConfig) -> Self {
        self.config.rpc_bootstrap = Some(config);
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
    ///
    /// It returns an error when a critical task fails (see [`RunningServer::run_until_signal`]),
    /// so the process exits non-zero and its supervisor restarts it.
    pub async fn start(self) -> anyhow::Result<()> {
        let running = self.spawn().await?;
        running.run_until_signal().await?;
        Ok(())
    }
}
