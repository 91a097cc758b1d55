//! [`ServerBuilder::spawn`]: opens the store, binds the listeners and starts every task under
//! supervision.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::running::{MutationSender, RunningServer, Tasks};
use super::{ServerBuilder, ServerError};
use crate::bus::{self, BusConfig};
use crate::engine::{Checkpoint, Engine};
use crate::health::HealthMonitor;
use crate::http::{HttpState, SortDescription, ViewDescription};
use crate::ingest::{prepare_source, spawn_source, SourceConfig, RAW_QUEUE};
use crate::metrics::Metrics;
use crate::project::Projector;
use crate::ready::{CatchUp, Readiness};
use crate::source::bootstrap::{self, Bootstrap};
use crate::source::live::LiveSource;
use crate::source::yellowstone::YellowstoneSourceConfig;
use crate::spec::Stack;
use crate::store::hot::HotStats;
use crate::store::{Identity, Store};
use crate::supervise::{Supervisor, TaskExit};
use crate::transform::Transformer;
use crate::websocket::{self, protocol, ClientContext, Connections, Edge};

impl ServerBuilder {
    /// Binds the listeners, starts every task and returns the running server's handle.
    pub async fn spawn(self) -> Result<RunningServer, ServerError> {
        let stack = self.stack.ok_or(ServerError::NoStack)?;
        let config = self.config;
        let ws_config = config.websocket.clone().unwrap_or_default();
        let health_config = config.health.unwrap_or_default();
        let source = match (&config.yellowstone, self.replay) {
            (Some(y), _) => {
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
        let (stop_tx, stop_rx) = watch::channel(false);
        let (stop_http_tx, stop_http_rx) = watch::channel(false);
        let (bus_tx, bus_rx) = mpsc::channel(4_096);
        let (mutation_tx, mutation_rx) = mpsc::channel(ws_config.message_queue_size.max(64));
        let (request_tx, request_rx) = mpsc::channel(1_024);
        let (output_tx, output_rx) = mpsc::channel(256);

        let ws_addr = ws_config.bind_address;
        let bind_error = |source| ServerError::Bind {
            addr: ws_addr,
            source,
        };
        let listener = TcpListener::bind(ws_addr).await.map_err(bind_error)?;
        let ws_local = listener.local_addr().map_err(bind_error)?;

        let ready = Arc::new(AtomicBool::new(true));
        let supervisor = Supervisor::new(health.clone(), ready.clone());
        let mut http_local = None;
        let mut http_task = None;
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
                metrics_token: http.metrics_token.as_deref().map(Arc::from),
                failure: Some(supervisor.failures()),
                readiness: readiness.clone(),
            };
            let stop = stop_http_rx.clone();
            http_task = Some(supervisor.spawn("http", async move {
                match crate::http::serve(http_listener, state, stop).await {
                    Ok(()) => TaskExit::Done,
                    Err(e) => TaskExit::Failed(format!("HTTP endpoint failed: {e}")),
                }
            }));
        }
        // The store opens once `/ready` can say so (opening a large store takes a while).
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
        let reopen: crate::engine::Reopen = {
            let (stack, cache, table) = (stack.clone(), config.cache, config.state_table);
            let (store, stats) = (store.clone(), stats.clone());
            Box::new(move || Projector::open(&stack, cache, table, store.clone(), stats.clone()))
        };
        let epoch: Arc<str> = Arc::from(projector.epoch());
        metrics.attach_store(store.clone(), stats.clone());
        let heartbeat = health.spawn_heartbeat(stop_http_rx);

        let limits = match protocol::limits_json(
            ws_config.max_subscriptions_per_client,
            ws_config.limits.max_message_size,
        ) {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        let bus_task = supervisor.spawn(
            "bus",
            bus::run(
                bus_rx,
                output_rx,
                request_tx.clone(),
                BusConfig {
                    view_count: views.len(),
                    queue_size: ws_config.message_queue_size,
                    limits,
                    delta_keys: ws_config.delta_keys_per_subscription,
                },
                metrics.clone(),
            ),
        );

        let mut transformer = None;
        let mut raw = None;
        let mut replay_events = false;
        let mut ingest_task = None;
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
            prepare_source(&mut source, &t)
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
            let task = match source {
                SourceConfig::Yellowstone(yellowstone) => {
                    let bootstrap = match &config.rpc_bootstrap {
                        Some(rpc) => Some(
                            Bootstrap::new(
                                rpc.clone(),
                                &t,
                                yellowstone.commitment,
                                metrics.clone(),
                                health.clone(),
                                store.clone(),
                            )
                            .map_err(|e| {
                                ServerError::Unsupported(format!("cannot bootstrap from RPC: {e}"))
                            })?,
                        ),
                        None => None,
                    };
                    let live = LiveSource {
                        yellowstone,
                        bootstrap,
                        pending: bootstrap::pending(&store, checkpoint.as_ref())?,
                        health: health.clone(),
                        metrics: metrics.clone(),
                    };
                    live.spawn(raw_tx, stop_rx.clone())
                }
                replay => spawn_source(replay, raw_tx, health.clone(), None, stop_rx.clone()),
            };
            ingest_task = Some(supervisor.spawn("ingest", async move {
                match task.await {
                    // A finite replay that delivered everything, or a stop: not a failure.
                    Ok(Ok(())) => TaskExit::Finished,
                    Ok(Err(e)) => TaskExit::Failed(format!("ingestion stopped: {e}")),
                    Err(e) => TaskExit::Failed(format!("the source task failed: {e}")),
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
                stop_rx.clone(),
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
        // A batch's frames of one view must fit a client's queue with room to spare.
        let mut store_config = config.store.clone();
        store_config.max_view_frames = store_config
            .max_view_frames
            .min(ws_config.message_queue_size / 2)
            .max(1);
        let engine = Engine {
            store: store.clone(),
            store_config,
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
            reopen,
        };
        let engine_thread = engine.spawn(stop_rx.clone()).map_err(|e| {
            ServerError::Unsupported(format!("cannot start the engine thread: {e}"))
        })?;
        let engine_task = supervisor.watch_thread("engine", engine_thread);
        readiness.opened(catch_up);

        let connections = Arc::new(Connections::default());
        let ctx = ClientContext {
            bus: bus_tx,
            views: views.clone(),
            metrics: metrics.clone(),
            close: supervisor.close_signal(),
            queue_size: ws_config.message_queue_size,
            max_subscriptions: ws_config.max_subscriptions_per_client,
            limits: ws_config.limits,
            timeouts: ws_config.timeouts,
            epoch,
        };
        let tls = ws_config.tls.is_some();
        let edge = Arc::new(Edge::new(ctx, ws_config, connections.clone()));
        let websocket_task =
            supervisor.spawn("websocket", websocket::accept_loop(listener, edge, stop_rx));
        let mutations = MutationSender {
            tx: mutation_tx,
            engine: request_tx,
        };
        let scheme = if tls { "wss" } else { "ws" };
        tracing::info!(websocket = %format!("{scheme}://{ws_local}"), http = ?http_local, stack = %stack.name, "hyperstack server listening");
        Ok(RunningServer {
            caught_up,
            ws_addr: ws_local,
            http_addr: http_local,
            mutations,
            health,
            metrics,
            ready,
            stop: stop_tx,
            stop_http: stop_http_tx,
            supervisor,
            connections,
            tasks: Tasks {
                engine: engine_task,
                bus: bus_task,
                websocket: websocket_task,
                ingest: ingest_task,
                http: http_task,
                heartbeat,
            },
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

/// A fingerprint of the checked stack model: a data directory is only reopened for the stack
/// it was written for.
fn fingerprint(stack: &Stack) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(stack).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}
