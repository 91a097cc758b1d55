//! # hyperstack-server
//!
//! The hyperstack runtime: source → decode → transform → project → bus → websocket.
//!
//! The transform stage (or a test) feeds [`Mutation`]s through [`RunningServer::mutations`];
//! the projection stage ([`project`]) turns them into frames per view, each encoded once; the
//! bus fans them out to the bounded queues of subscribed clients; the WebSocket stage writes
//! them. Health and metrics are served over HTTP ([`http`]).

#![warn(missing_docs)]

mod auth;
mod bus;
pub mod config;
pub mod decode;
mod engine;
pub mod failpoint;
pub mod health;
pub mod http;
pub mod ingest;
pub mod metrics;
mod mutation;
pub mod project;
pub mod ready;
pub mod resolve;
mod server;
pub mod source;
pub mod store;
mod supervise;
mod telemetry;
pub mod transform;
pub mod websocket;

pub use config::{
    ClientIpHeader, ConnectionLimits, ConnectionTimeouts, EntityCacheConfig, HealthConfig,
    HttpHealthConfig, RateLimit, ReconnectionConfig, ServerConfig, StateTableConfig, TlsConfig,
    TlsError, UnresolvedConfig, WebSocketConfig, YellowstoneConfig,
};
pub use health::{HealthMonitor, StreamStatus};
pub use hyperstack_spec as spec;
pub use store::{DataLocation, StoreConfig, StoreError};

/// The checked model of a stack, as a generated crate's `spec()` returns it and
/// [`ServerBuilder::spec`] takes it.
pub type Spec = hyperstack_spec::Stack;
pub use ingest::{spawn_ingest, IngestError, IngestOptions, MutationSink, SourceConfig};
pub use mutation::{Change, Mutation};
pub use resolve::{DasConfig, ResolverConfig};
pub use server::{MutationSender, RunningServer, Server, ServerBuilder, ServerError};
pub use source::replay::{ReplayConfig, ReplayInput, ReplaySpeed};
pub use source::rpc::RpcConfig;
pub use source::yellowstone::{SourceError, SourceEvent, YellowstoneSourceConfig};
pub use source::{Commitment, RawUpdate};
pub use supervise::Failure;
pub use telemetry::{flush_telemetry, init_tracing};
pub use transform::{TransformStats, Transformer};
