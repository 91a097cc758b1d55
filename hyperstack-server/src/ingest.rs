//! Wiring the ingestion stages: a source task feeding raw updates through a bounded channel
//! into the transform, whose mutations go to a [`MutationSink`] (the server's
//! [`MutationSender`], or a channel in tests).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::StateTableConfig;
use crate::health::{HealthMonitor, StreamStatus};
use crate::metrics::Metrics;
use crate::mutation::Mutation;
use crate::server::MutationSender;
use crate::source::replay::{self, ReplayConfig, ReplayError};
use crate::source::yellowstone::{self, SourceError, SourceEvent, YellowstoneSourceConfig};
use crate::source::RawUpdate;
use crate::spec::Stack;
use crate::transform::{PlanError, TransformStats, Transformer};

/// Raw updates buffered between the source and the transform.
pub(crate) const RAW_QUEUE: usize = 1_024;

/// Ordered stacks hold a slot's updates until an update of a later slot arrives; when the
/// source is quiet this long, the slot in progress counts as complete.
pub const SLOT_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Where mutations go.
pub trait MutationSink: Send + Sync + 'static {
    /// Sends one mutation; `false` when the receiver is gone.
    fn send_mutation(&self, m: Mutation) -> impl Future<Output = bool> + Send;

    /// Resolves once every mutation sent so far has been taken by the receiver.
    fn drained(&self) -> impl Future<Output = ()> + Send;
}

impl MutationSink for MutationSender {
    async fn send_mutation(&self, m: Mutation) -> bool {
        self.send(m).await.is_ok()
    }

    async fn drained(&self) {
        MutationSender::drained(self).await
    }
}

impl MutationSink for mpsc::Sender<Mutation> {
    async fn send_mutation(&self, m: Mutation) -> bool {
        self.send(m).await.is_ok()
    }

    async fn drained(&self) {
        while self.capacity() < self.max_capacity() && !self.is_closed() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

/// Which source to ingest from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// A live Yellowstone gRPC endpoint.
    Yellowstone(YellowstoneSourceConfig),
    /// A replay recording.
    Replay(ReplayConfig),
}

/// Why ingestion could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The stack cannot be compiled into a transform plan.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The Yellowstone source stopped with an error.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The replay could not be read.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The source needs program addresses but the stack's IDLs declare none.
    #[error("none of the stack's IDLs declares a program address to subscribe to")]
    NoPrograms,
}

/// Shared services of an ingestion pipeline.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// State table bounds.
    pub state_table: StateTableConfig,
    /// Stream health (status, errors, events).
    pub health: HealthMonitor,
    /// Counts ingested events and decode errors, when given.
    pub metrics: Option<Arc<Metrics>>,
    /// Receives the Yellowstone source's events, when given.
    pub events: Option<mpsc::UnboundedSender<SourceEvent>>,
}

/// Starts the pipeline: source → transform → `sink`, until the source ends, the sink closes
/// or `shutdown` becomes true. The task returns the transform's counters.
pub fn spawn_ingest<S: MutationSink>(
    stack: &Stack,
    source: SourceConfig,
    options: IngestOptions,
    sink: S,
    shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<Result<TransformStats, IngestError>>, IngestError> {
    let mut transformer = Transformer::new(stack, options.state_table)?;
    if let Some(m) = &options.metrics {
        transformer = transformer.with_metrics(m.clone());
    }
    let mut source = source;
    prepare_source(&mut source, &transformer)?;
    let (raw_tx, raw_rx) = mpsc::channel::<RawUpdate>(RAW_QUEUE);
    // A replay has no upstream connection to watch: each update it hands on counts as the
    // stream's event, so a streaming replay is not reported stale.
    let event_health = matches!(source, SourceConfig::Replay(_)).then(|| options.health.clone());
    let source_task = spawn_source(
        source,
        raw_tx,
        options.health.clone(),
        options.events,
        shutdown.clone(),
    );
    Ok(tokio::spawn(transform_loop(
        transformer,
        raw_rx,
        sink,
        shutdown,
        source_task,
        event_health,
    )))
}

/// Checks a Yellowstone source's configuration ([`YellowstoneSourceConfig::validate`]) and
/// fills in the programs it subscribes to (every program of the stack's IDLs) when none are
/// configured.
pub(crate) fn prepare_source(
    source: &mut SourceConfig,
    transformer: &Transformer,
) -> Result<(), IngestError> {
    if let SourceConfig::Yellowstone(y) = source {
        y.validate()?;
        if y.programs.is_empty() {
            y.programs = transformer.decoder().program_addresses();
        }
        if y.programs.is_empty() {
            return Err(IngestError::NoPrograms);
        }
    }
    Ok(())
}

/// Runs the source on a task of its own, handing its raw updates to `raw_tx` and reporting
/// to `health`: a replay is `Connected` while it streams and completed when it ends; a
/// Yellowstone source reports its connection.
pub(crate) fn spawn_source(
    source: SourceConfig,
    raw_tx: mpsc::Sender<RawUpdate>,
    health: HealthMonitor,
    events: Option<mpsc::UnboundedSender<SourceEvent>>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<Result<(), IngestError>> {
    tokio::spawn(async move {
        crate::failpoint::hit("ingest.source");
        match source {
            SourceConfig::Yellowstone(config) => {
                yellowstone::run(&config, raw_tx, health, events, shutdown)
                    .await
                    .map_err(IngestError::from)
            }
            SourceConfig::Replay(config) => {
                health.set_status(StreamStatus::Connected).await;
                // The channel closes only once the outcome is recorded (`raw_tx` is dropped
                // last): the engine, seeing it closed, asks whether the replay completed.
                let result = replay::run(&config, raw_tx.clone(), shutdown).await;
                match &result {
                    Ok(stats) => {
                        tracing::info!(
                            updates = stats.updates,
                            bad_lines = stats.bad_lines,
                            "replay finished"
                        );
                        health.record_completion().await;
                    }
                    Err(e) => {
                        health.record_error(e.to_string()).await;
                        health.set_status(StreamStatus::Error(e.to_string())).await;
                    }
                }
                drop(raw_tx);
                result.map(|_| ()).map_err(IngestError::from)
            }
        }
    })
}

async fn transform_loop<S: MutationSink>(
    mut transformer: Transformer,
    mut raw_rx: mpsc::Receiver<RawUpdate>,
    sink: S,
    mut shutdown: watch::Receiver<bool>,
    source_task: JoinHandle<Result<(), IngestError>>,
    event_health: Option<HealthMonitor>,
) -> Result<TransformStats, IngestError> {
    let mut out = Vec::new();
    let mut stopped = false;
    loop {
        let held = transformer.held() > 0;
        let update = tokio::select! {
            u = raw_rx.recv() => u,
            _ = shutdown.changed() => {
                stopped = true;
                None
            }
            _ = tokio::time::sleep(SLOT_IDLE), if held => {
                transformer.flush(&mut out);
                if !send_all(&sink, &mut out).await {
                    source_task.abort();
                    return Ok(transformer.stats());
                }
                continue;
            }
        };
        let Some(update) = update else {
            break;
        };
        if let Some(health) = &event_health {
            health.record_event().await;
        }
        transformer.apply(&update, &mut out);
        if !send_all(&sink, &mut out).await {
            source_task.abort();
            return Ok(transformer.stats());
        }
    }
    if !stopped {
        // The source ended: the slot in progress is complete.
        transformer.flush(&mut out);
        if !send_all(&sink, &mut out).await {
            source_task.abort();
            return Ok(transformer.stats());
        }
    } else if transformer.held() > 0 {
        // Shutting down mid-slot: the slot's updates were never applied (a resumed source
        // sends them again from that slot).
        tracing::warn!(
            held = transformer.held(),
            "shutdown before the slot in progress completed; its updates were not applied"
        );
    }
    drop(raw_rx);
    let stats = transformer.stats();
    let source_result = source_task.await;
    if !stopped && matches!(source_result, Ok(Ok(()))) {
        // A finite source (a replay without loop) ended: report once everything is applied.
        tokio::select! {
            _ = sink.drained() => {
                tracing::info!(?stats, "ingestion caught up: every update of the source is applied");
            }
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(?stats, "ingestion stopped");
    match source_result {
        Ok(Err(e)) => Err(e),
        _ => Ok(stats),
    }
}

/// Sends and drains `out`; `false` when the sink is gone.
async fn send_all<S: MutationSink>(sink: &S, out: &mut Vec<Mutation>) -> bool {
    for m in out.drain(..) {
        if !sink.send_mutation(m).await {
            return false;
        }
    }
    true
}
