//! The engine: the one writer of the state store. It runs on a thread of its own and turns
//! inputs — raw updates from the source (through the transform) and mutations fed directly —
//! into frames, in batches:
//!
//! 1. apply inputs (transform → projection) while more are waiting, for at most
//!    [`StoreConfig::commit_interval`], [`StoreConfig::max_batch`] updates, or until one view
//!    has [`StoreConfig::max_view_frames`] frames (a batch reaches each client's queue at
//!    once: it must fit);
//! 2. commit everything the batch changed — entities, transform state, lookups, sequence
//!    numbers, resume logs, the checkpoint — in one atomic store batch;
//! 3. only then publish the batch's frames to the bus.
//!
//! Publishing after the commit means no client ever sees a frame a restart could not
//! reproduce: after `kill -9` the engine resumes from the last commit, and every frame it
//! published is in the store's resume logs. The cost is the commit's latency, paid once per
//! batch (see BENCHMARKS.md).
//!
//! Subscriptions are answered here, between batches and after a commit, so a snapshot is
//! taken exactly at the version whose frames were published last: the bus then sends the
//! snapshot and every frame after it, nothing twice, nothing missing.

mod checkpoint;
mod halt;
mod resolve;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::health::{HealthMonitor, StreamStatus};
use crate::metrics::{Metrics, ResumeOutcome};
use crate::mutation::Mutation;
use crate::project::{EncodedFrame, LogFrame, Projector, Published, SnapshotJob, ViewId};
use crate::ready::Readiness;
use crate::source::RawUpdate;
use crate::store::{Store, StoreConfig, StoreError};
use crate::transform::Transformer;

pub(crate) use checkpoint::Checkpoint;

/// A subscription the bus asks the engine to start.
#[derive(Debug, Clone)]
pub(crate) struct StartRequest {
    /// The bus's id of this subscription (a re-subscribe gets a new one).
    pub sub: u64,
    pub client: u64,
    pub view: ViewId,
    pub key: Option<Arc<str>>,
    pub after: Option<u64>,
    pub skip: usize,
    pub take: Option<usize>,
}

/// How a subscription starts.
pub(crate) enum StartKind {
    /// Resumed: the frames after the client's cursor (both encodings of append views').
    Resumed(Vec<LogFrame>),
    /// A snapshot to encode (none for append views).
    Snapshot(Option<SnapshotJob>),
}

/// The engine's answer to a [`StartRequest`], in order with the published batches.
pub(crate) struct Start {
    pub request: StartRequest,
    pub subscribed: Arc<EncodedFrame>,
    pub kind: StartKind,
}

/// What the engine sends the bus, in order.
pub(crate) enum Output {
    /// The frames of one committed batch.
    Frames(Vec<Published>),
    /// A subscription's starting point at the last commit.
    Start(Box<Start>),
}

/// Requests from other tasks.
pub(crate) enum Request {
    Start(StartRequest),
    /// Resolves once everything received so far is applied, committed and published.
    Sync(oneshot::Sender<()>),
}

/// Everything the engine runs with.
pub(crate) struct Engine {
    pub store: Store,
    pub store_config: StoreConfig,
    pub projector: Projector,
    pub transformer: Option<Transformer>,
    pub raw: Option<mpsc::Receiver<RawUpdate>>,
    /// The source is a replay: each update it hands on counts as the stream's event (a
    /// replay has no connection to watch), so a streaming replay is not reported stale.
    pub replay_events: bool,
    pub mutations: mpsc::Receiver<Mutation>,
    /// Resolvers: fetch requests out, answers in (`None` when nothing is fetched).
    pub resolve: Option<crate::resolve::Link>,
    pub requests: mpsc::Receiver<Request>,
    pub output: mpsc::Sender<Output>,
    pub metrics: Arc<Metrics>,
    pub health: HealthMonitor,
    /// What `/ready` reports of catching up.
    pub readiness: Arc<Readiness>,
    /// Set once a finite source ended and all of its updates are applied and published.
    pub caught_up: watch::Sender<bool>,
    pub checkpoint: Checkpoint,
    /// Opens the projector again from the last commit (after a store error: see halt.rs).
    pub reopen: Reopen,
}

/// How the engine gets a projector of the last commit.
pub(crate) type Reopen = Box<dyn Fn() -> Result<Projector, StoreError> + Send>;

/// Why the engine stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    /// The state store failed (e.g. a full disk): ingestion stops (halt.rs); an engine error
    /// only when the last commit cannot even be read back.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// The engine thread's runtime could not start.
    #[error("cannot start the engine's runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(Box::new(e))
    }
}

/// The batch being built.
#[derive(Default)]
struct Batch {
    frames: Vec<Published>,
    /// Frames per view among `frames` (indexed by view).
    view_frames: Vec<usize>,
    /// The most frames one view has in this batch.
    busiest: usize,
    updates: usize,
    /// Raw updates from the source among `updates`.
    raw: usize,
    opened: Option<Instant>,
}

impl Batch {
    /// Adds one update's frames.
    fn push(&mut self, frames: Vec<Published>) {
        for f in &frames {
            if self.view_frames.len() <= f.view {
                self.view_frames.resize(f.view + 1, 0);
            }
            self.view_frames[f.view] += 1;
            self.busiest = self.busiest.max(self.view_frames[f.view]);
        }
        self.frames.extend(frames);
    }
}

impl Engine {
    /// Runs the engine on a thread of its own until `shutdown`, or until every input is
    /// closed. The returned handle resolves to how it ended.
    pub fn spawn(
        self,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<std::thread::JoinHandle<Result<(), EngineError>>> {
        std::thread::Builder::new()
            .name("hyperstack-engine".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()?;
                runtime.block_on(self.run(shutdown))
            })
    }

    async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), EngineError> {
        let mut unanswered = None;
        let result = self.ingest(&mut shutdown, &mut unanswered).await;
        let result = match result {
            Err(EngineError::Store(e)) => self.halt(*e, unanswered, &mut shutdown).await,
            other => other,
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "the engine stopped");
            let message = format!("the engine stopped: {e}");
            self.health.record_error(message.clone()).await;
            self.health.set_status(StreamStatus::Error(message)).await;
        }
        if let Err(e) = self.store.sync() {
            tracing::warn!(error = %e, "could not fsync the state store at shutdown");
        }
        result
    }

    /// Applies, commits and publishes inputs until shutdown, every input's end, or an error
    /// (with the request being answered then, if any, in `unanswered`).
    async fn ingest(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        unanswered: &mut Option<Request>,
    ) -> Result<(), EngineError> {
        let mut batch = Batch::default();
        let mut raw_open = self.raw.is_some();
        let mut last_sync = std::time::Instant::now();
        let mut mutations_open = true;
        let mut resolve_open = self.resolve.is_some();
        // Inputs referenced by an earlier run but never resolved are requested again.
        self.dispatch_resolve()?;
        loop {
            let (max_batch, interval) = (
                self.store_config.max_batch,
                self.store_config.commit_interval,
            );
            let deadline = batch.opened.map(|t| t + interval);
            let idle = batch.opened.is_some()
                && self.raw.as_ref().is_none_or(|r| r.is_empty())
                && self.mutations.is_empty()
                && self.resolve.as_ref().is_none_or(|l| !l.has_results());
            let holding = self.transformer.as_ref().is_some_and(|t| t.held() > 0);
            let full =
                batch.updates >= max_batch || batch.busiest >= self.store_config.max_view_frames;
            if idle || full {
                if let Err(e) = self.commit(&mut batch).await {
                    break Err(e);
                }
                if idle && !holding && self.transformer.is_some() {
                    // Everything the source handed over is applied and committed: as far as
                    // ingestion goes, the server is at the upstream's latest slot.
                    let tip = self.health.latest_slot().await;
                    self.readiness.progress(tip.or(self.checkpoint.slot), tip);
                }
                if let Some(every) = self.store_config.fsync_interval {
                    if last_sync.elapsed() >= every {
                        if let Err(e) = self.store.sync() {
                            break Err(e.into());
                        }
                        last_sync = std::time::Instant::now();
                    }
                }
                continue;
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break self.commit(&mut batch).await;
                    }
                }
                raw = recv_opt(&mut self.raw), if raw_open => match raw {
                    Some(update) => {
                        if let Err(e) = self.apply_raw(&update, &mut batch).await {
                            break Err(e);
                        }
                        if let Err(e) = self.dispatch_resolve() {
                            break Err(e);
                        }
                    }
                    None => {
                        raw_open = false;
                        // The source ended: the slot in progress is complete.
                        if let Err(e) = self.flush(&mut batch) {
                            break Err(e);
                        }
                        if let Err(e) = self.dispatch_resolve() {
                            break Err(e);
                        }
                        if let Err(e) = self.commit(&mut batch).await {
                            break Err(e);
                        }
                        self.readiness.source_ended();
                        if self.health.is_completed().await {
                            let stats = self.transformer.as_ref().map(Transformer::stats);
                            tracing::info!(?stats, position = self.checkpoint.position, "ingestion caught up: every update of the source is applied");
                            self.caught_up.send_replace(true);
                        }
                    }
                },
                r = resolve::recv(&mut self.resolve), if resolve_open => match r {
                    Some(r) => {
                        if let Err(e) = self.apply_resolution(&r, &mut batch) {
                            break Err(e);
                        }
                    }
                    None => resolve_open = false,
                },
                m = self.mutations.recv(), if mutations_open => match m {
                    Some(m) => {
                        if let Err(e) = self.apply_mutation(&m, &mut batch) {
                            break Err(e);
                        }
                    }
                    None => mutations_open = false,
                },
                req = self.requests.recv() => match req {
                    Some(req) => {
                        if let Err(e) = self.commit(&mut batch).await {
                            // Answered once ingestion halted, from the last commit.
                            *unanswered = Some(req);
                            break Err(e);
                        }
                        self.answer(req).await;
                    }
                    None => break self.commit(&mut batch).await,
                },
                _ = sleep_until(deadline), if deadline.is_some() => {
                    if let Err(e) = self.commit(&mut batch).await {
                        break Err(e);
                    }
                }
                // A quiet source: the slot whose updates an ordered stack holds is complete.
                _ = tokio::time::sleep(crate::ingest::SLOT_IDLE), if holding => {
                    if let Err(e) = self.flush(&mut batch) {
                        break Err(e);
                    }
                    if let Err(e) = self.dispatch_resolve() {
                        break Err(e);
                    }
                }
            }
        }
    }

    async fn apply_raw(
        &mut self,
        update: &RawUpdate,
        batch: &mut Batch,
    ) -> Result<(), EngineError> {
        let Some(transformer) = self.transformer.as_mut() else {
            return Ok(());
        };
        if self.replay_events {
            self.health.record_event().await;
        }
        self.metrics.ingest_event(None);
        let mut out = Vec::new();
        let held_before = transformer.held_slot();
        transformer.apply(update, &mut out);
        if let Some(e) = transformer.take_error() {
            return Err(e.into());
        }
        self.checkpoint
            .taken(update, held_before, transformer.held_slot());
        batch.opened.get_or_insert_with(Instant::now);
        batch.updates += 1;
        batch.raw += 1;
        for m in &out {
            self.project(m, batch)?;
        }
        Ok(())
    }

    /// Applies the updates the transform holds (ordered stacks), as when their slot is
    /// complete.
    fn flush(&mut self, batch: &mut Batch) -> Result<(), EngineError> {
        let Some(transformer) = self.transformer.as_mut() else {
            return Ok(());
        };
        if transformer.held() == 0 {
            return Ok(());
        }
        let mut out = Vec::new();
        transformer.flush(&mut out);
        if let Some(e) = transformer.take_error() {
            return Err(e.into());
        }
        self.checkpoint.flushed();
        batch.opened.get_or_insert_with(Instant::now);
        for m in &out {
            self.project(m, batch)?;
        }
        Ok(())
    }

    fn apply_mutation(&mut self, m: &Mutation, batch: &mut Batch) -> Result<(), EngineError> {
        self.metrics.ingest_event(None);
        batch.opened.get_or_insert_with(Instant::now);
        batch.updates += 1;
        self.project(m, batch)
    }

    fn project(&mut self, m: &Mutation, batch: &mut Batch) -> Result<(), EngineError> {
        match self.projector.apply(m) {
            Ok(frames) => batch.push(frames),
            Err(crate::project::ProjectError::Store(e)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(entity = %m.entity, key = %m.key, error = %e, "mutation rejected");
            }
        }
        Ok(())
    }

    /// Commits the batch (if it changed anything) and publishes its frames.
    async fn commit(&mut self, batch: &mut Batch) -> Result<(), EngineError> {
        if batch.opened.is_none() {
            return Ok(());
        }
        let mut write = self.store.batch();
        self.projector.write_into(&mut write);
        if let Some(t) = self.transformer.as_mut() {
            t.write_into(&mut write);
        }
        self.checkpoint.write_into(&self.store, &mut write);
        let (result, took) = crate::store::timed(|| {
            // A crash between the batch's writes and its commit, or a commit that fails.
            crate::failpoint::hit_io("engine.commit")
                .map_err(|e| StoreError::Db(fjall::Error::Io(e)))?;
            self.store.commit(write)
        });
        result?;
        self.metrics.store_committed(took, batch.updates);
        self.metrics.batch_view_frames(batch.busiest);
        self.metrics
            .set_store_hot_records("entities", self.projector.largest_hot_set());
        if let Some(t) = &self.transformer {
            for (kind, n) in t.hot_sets() {
                self.metrics.set_store_hot_records(kind, n);
            }
        }
        let frames = std::mem::take(&mut batch.frames);
        *batch = Batch::default();
        if !frames.is_empty() {
            // The bus only goes away at shutdown; then nobody is left to publish to.
            let _ = self.output.send(Output::Frames(frames)).await;
        }
        Ok(())
    }

    async fn answer(&mut self, request: Request) {
        match request {
            Request::Sync(reply) => {
                let _ = reply.send(());
            }
            Request::Start(request) => {
                let resumed = request.after.and_then(|after| {
                    let frames =
                        self.projector
                            .resume_frames(request.view, request.key.as_deref(), after);
                    self.metrics.resume(match &frames {
                        Some(_) => ResumeOutcome::Resumed,
                        None if after > self.projector.current_seq(request.view) => {
                            ResumeOutcome::Ahead
                        }
                        None => ResumeOutcome::Expired,
                    });
                    frames
                });
                let subscribed = self
                    .projector
                    .subscribed_frame(request.view, resumed.is_some());
                let kind = match resumed {
                    Some(frames) => StartKind::Resumed(frames),
                    None => StartKind::Snapshot(self.projector.snapshot_job(
                        request.view,
                        request.key.as_deref(),
                        request.skip,
                        request.take,
                    )),
                };
                let start = Start {
                    request,
                    subscribed,
                    kind,
                };
                let _ = self.output.send(Output::Start(Box::new(start))).await;
            }
        }
    }
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
