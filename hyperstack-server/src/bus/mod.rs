//! The bus: fans the engine's committed frames out to the bounded queues of subscribed
//! clients, and starts subscriptions. A client whose queue is full is marked lagging and
//! dropped from every view; the engine never waits for a client.
//!
//! Starting a subscription: the bus registers it as *starting* and asks the engine, which
//! answers — in order with the batches it publishes — with the resume frames or a snapshot
//! job at its last commit. Frames published meanwhile are held for the subscription. The bus
//! sends `subscribed` and the resume frames at once; a snapshot streams: a blocking worker,
//! off the bus and off the engine, encodes it batch by batch and hands each batch to the bus
//! through a bounded channel (the worker waits when the bus is behind), and the bus offers
//! each batch to the subscriptions receiving that encoding as it arrives ([`snapshots`]).
//! After the `complete` batch come the held frames, and the subscription goes live. An
//! encoding that fails sends an `error` frame (`snapshot_failed`, with the request's `id`)
//! to each of its subscriptions, after whatever batches they already got (never the
//! `complete` one), and drops them: no live frame follows. Replies to one client's requests
//! — `subscribed` and `error` frames alike — leave in the order of its requests
//! ([`control`]).
//!
//! Fairness: after each client command the bus serves a waiting committed batch, and after
//! each batch a waiting command, so neither a subscribe storm nor a burst of mutations
//! starves the other (`hyperstack_bus_command_streak_max` stays at 1).
//!
//! At shutdown the bus keeps serving until the engine has stopped — the engine commits and
//! publishes what it applied — so every committed frame reaches the client queues before the
//! clients are told to flush and close.

mod control;
mod delta;
mod registry;
mod snapshots;
mod stream;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, Notify};

use crate::engine::{Output, Request, Start, StartKind, StartRequest};
use crate::metrics::Metrics;
use crate::project::{EncodedFrame, Published, ViewId};
use crate::supervise::TaskExit;
use crate::websocket::protocol::RequestId;
use control::{Control, Pending};
use delta::DeltaKeys;
use registry::{Phase, Registry};
use snapshots::{Lookup, SnapshotCache, SnapshotKey, Waiter};
use stream::Encoded;

/// Encoded snapshot bytes the bus keeps for later subscribers of the same view version (a
/// 100k-row token snapshot is about 21 MB).
const SNAPSHOT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Set by the bus when a client's queue overflowed; the client's task reports and closes.
#[derive(Debug, Default)]
pub(crate) struct LagSignal {
    flag: AtomicBool,
    notify: Notify,
}

impl LagSignal {
    pub fn raise(&self) {
        if !self.flag.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    pub async fn raised(&self) {
        if self.flag.load(Ordering::Acquire) {
            return;
        }
        self.notify.notified().await;
    }
}

/// What the bus holds of a client: its queue and its lag signal.
#[derive(Clone)]
pub(crate) struct ClientHandle {
    pub id: u64,
    pub tx: mpsc::Sender<Arc<EncodedFrame>>,
    pub lag: Arc<LagSignal>,
}

impl ClientHandle {
    /// Queues a frame without waiting; a full queue marks the client lagging.
    fn offer(&self, frame: &Arc<EncodedFrame>) -> bool {
        match self.tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lag.raise();
                false
            }
            // The client is gone; its disconnect command is on its way.
            Err(mpsc::error::TrySendError::Closed(_)) => true,
        }
    }
}

/// A small JSON text frame (an `error` frame) as the clients' queues carry it.
pub(crate) fn text_frame(json: String) -> Arc<EncodedFrame> {
    Arc::new(EncodedFrame {
        payload: bytes::Bytes::from(json),
        binary: false,
    })
}

/// Requests from client tasks.
pub(crate) enum Command {
    Subscribe {
        client: ClientHandle,
        view: ViewId,
        key: Option<Arc<str>>,
        after: Option<u64>,
        skip: usize,
        take: Option<usize>,
        /// Echoed in the `subscribed` (or `error`) frame that answers it.
        id: Option<RequestId>,
        /// Whether the request asked for deltas (`None`: it did not say) and they apply (an
        /// append view): `Some(true)` turns them on; echoed in `subscribed`.
        delta: Option<bool>,
    },
    Unsubscribe {
        client: u64,
        view: ViewId,
        key: Option<Arc<str>>,
    },
    /// An `error` frame answering one of the client's requests: sent after the replies to
    /// its earlier requests.
    Reply {
        client: ClientHandle,
        frame: Arc<EncodedFrame>,
    },
    Disconnect {
        client: u64,
    },
}

/// The bus's settings.
pub(crate) struct BusConfig {
    pub view_count: usize,
    /// Frames a starting subscription may hold (the client queue's size).
    pub queue_size: usize,
    /// The `limits` announced in `subscribed` frames.
    pub limits: Map<String, Value>,
    /// Keys each delta subscription remembers as held whole (beyond it: full upserts).
    pub delta_keys: usize,
}

/// Runs the bus until the engine has stopped (its output closed): at shutdown, after the
/// engine published its last batch.
pub(crate) async fn run(
    mut commands: mpsc::Receiver<Command>,
    mut engine_out: mpsc::Receiver<Output>,
    engine: mpsc::Sender<Request>,
    config: BusConfig,
    metrics: Arc<Metrics>,
) -> TaskExit {
    let mut bus = Bus {
        registry: Registry::new(config.view_count),
        control: Control::default(),
        metrics,
        next_sub: 1,
        queue_size: config.queue_size,
        limits: config.limits,
        delta_keys: config.delta_keys,
        outbox: VecDeque::new(),
        engine: engine.clone(),
        streak: 0,
        snapshots: SnapshotCache::new(SNAPSHOT_CACHE_BYTES),
    };
    let (encoded_tx, mut encoded) = mpsc::channel::<Encoded>(stream::SNAPSHOT_FRAMES_IN_FLIGHT);
    let mut commands_open = true;
    loop {
        tokio::select! {
            out = engine_out.recv() => {
                let Some(out) = out else { break };
                bus.output(out, &encoded_tx);
                if let Ok(cmd) = commands.try_recv() {
                    bus.command(cmd, &engine_out);
                }
            }
            cmd = commands.recv(), if commands_open => match cmd {
                Some(cmd) => {
                    // A command was just handled (after a batch): a waiting batch goes first.
                    if bus.streak > 0 {
                        if let Ok(out) = engine_out.try_recv() {
                            bus.output(out, &encoded_tx);
                        }
                    }
                    bus.command(cmd, &engine_out);
                    if let Ok(out) = engine_out.try_recv() {
                        bus.output(out, &encoded_tx);
                    }
                }
                None => commands_open = false,
            },
            Some(event) = encoded.recv() => bus.snapshot_event(event),
            permit = engine.reserve(), if !bus.outbox.is_empty() => match permit {
                Ok(permit) => {
                    if let Some(request) = bus.outbox.pop_front() {
                        permit.send(request);
                    }
                }
                // The engine is gone: its output closes next.
                Err(_) => bus.outbox.clear(),
            },
        }
    }
    // The engine ended (at shutdown, or it failed: its own watcher judges that).
    TaskExit::Finished
}

struct Bus {
    registry: Registry,
    control: Control,
    metrics: Arc<Metrics>,
    next_sub: u64,
    queue_size: usize,
    limits: Map<String, Value>,
    delta_keys: usize,
    /// Start requests the engine's queue had no room for yet (the bus never waits on it: the
    /// engine may be waiting on the bus).
    outbox: VecDeque<Request>,
    engine: mpsc::Sender<Request>,
    /// Commands handled in a row while a committed batch waited.
    streak: u64,
    /// Snapshots encoded once per view version, shared by its subscribers.
    snapshots: SnapshotCache,
}

impl Bus {
    fn output(&mut self, out: Output, encoded: &mpsc::Sender<Encoded>) {
        self.streak = 0;
        match out {
            Output::Frames(frames) => {
                crate::failpoint::hit("bus.publish");
                self.metrics.bus_batch();
                self.publish(&frames);
            }
            Output::Start(start) => self.start(*start, encoded),
        }
    }

    fn command(&mut self, cmd: Command, engine_out: &mpsc::Receiver<Output>) {
        crate::failpoint::hit("bus.command");
        self.streak = if engine_out.is_empty() {
            0
        } else {
            self.streak + 1
        };
        self.metrics.bus_command(self.streak);
        match cmd {
            Command::Subscribe {
                client,
                view,
                key,
                after,
                skip,
                take,
                id,
                delta,
            } => {
                let sub = self.next_sub;
                self.next_sub += 1;
                let client_id = client.id;
                let keys = (delta == Some(true)).then(|| DeltaKeys::new(self.delta_keys));
                if self
                    .registry
                    .add(view, key.clone(), client.clone(), sub, keys)
                {
                    self.metrics.subscribed(view);
                }
                self.control.push(
                    &client,
                    Pending::Start {
                        view,
                        key: key.clone(),
                        sub,
                        id,
                        delta,
                        reply: None,
                    },
                );
                self.ask_engine(Request::Start(StartRequest {
                    sub,
                    client: client_id,
                    view,
                    key,
                    after,
                    skip,
                    take,
                }));
                // A re-subscribe replaced an older one, whose reply is skipped now.
                self.flush(client_id);
            }
            Command::Unsubscribe { client, view, key } => {
                if self.registry.remove(client, view, key.as_deref()) {
                    self.metrics.unsubscribed(view);
                }
                self.flush(client);
            }
            Command::Reply { client, frame } => {
                let id = client.id;
                self.control.push(&client, Pending::Frame(frame));
                self.flush(id);
            }
            Command::Disconnect { client } => self.drop_client(client),
        }
    }

    /// Sends a request to the engine without waiting: queued here when its queue is full.
    fn ask_engine(&mut self, request: Request) {
        if !self.outbox.is_empty() {
            self.outbox.push_back(request);
            return;
        }
        match self.engine.try_send(request) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(request)) => self.outbox.push_back(request),
            // Without the engine nothing is published any more: the server is stopping.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn drop_client(&mut self, client: u64) {
        for view in self.registry.remove_client(client) {
            self.metrics.unsubscribed(view);
        }
        self.control.remove(client);
    }

    /// Offers a committed batch to live subscriptions and holds it for starting ones.
    fn publish(&mut self, frames: &[Published]) {
        let mut lagging: Vec<u64> = Vec::new();
        let cap = self.queue_size;
        let mut tally = DeltaTally::default();
        for p in frames {
            self.snapshots.published(p.view, p.seq);
            for entry in self.registry.recipients_mut(p.view, &p.key) {
                if lagging.contains(&entry.client.id) || matches!(entry.phase, Phase::Requested) {
                    continue;
                }
                let frame = match &mut entry.delta {
                    Some(keys) => tally.pick(keys, &p.key, &p.frame, p.delta.as_ref()),
                    None => &p.frame,
                };
                match &mut entry.phase {
                    Phase::Live => {
                        if !entry.client.offer(frame) {
                            lagging.push(entry.client.id);
                        }
                    }
                    Phase::Requested => {}
                    Phase::Starting(held) if held.len() < cap => held.push(frame.clone()),
                    // More held frames than its queue holds: it could not take them anyway.
                    Phase::Starting(_) => {
                        entry.client.lag.raise();
                        lagging.push(entry.client.id);
                    }
                }
            }
        }
        tally.report(&self.metrics);
        for id in lagging {
            self.metrics.client_dropped_lagging();
            self.drop_client(id);
        }
    }

    /// The engine's starting point of a subscription.
    fn start(&mut self, start: Start, encoded: &mpsc::Sender<Encoded>) {
        let Start {
            request,
            subscribed,
            kind,
        } = start;
        // From the engine's answer on, frames come after the starting version: hold them.
        let mut tally = DeltaTally::default();
        let resumed = match self.registry.get_mut(
            request.client,
            request.view,
            request.key.as_deref(),
            request.sub,
        ) {
            Some(entry) => {
                entry.phase = Phase::Starting(Vec::new());
                // Resume frames in order, each in the encoding this subscription takes.
                match &kind {
                    StartKind::Resumed(frames) => Some(
                        frames
                            .iter()
                            .map(|f| match &mut entry.delta {
                                Some(keys) => {
                                    tally.pick(keys, &f.key, &f.full, f.delta.as_ref()).clone()
                                }
                                None => f.full.clone(),
                            })
                            .collect::<Vec<_>>(),
                    ),
                    StartKind::Snapshot(_) => None,
                }
            }
            None => {
                // Replaced or gone meanwhile: its reply is skipped.
                self.flush(request.client);
                return;
            }
        };
        tally.report(&self.metrics);
        match kind {
            StartKind::Resumed(_) => {
                let frames = resumed.unwrap_or_default();
                self.begin(&request, &subscribed, frames, true)
            }
            StartKind::Snapshot(None) => self.begin(&request, &subscribed, Vec::new(), true),
            StartKind::Snapshot(Some(job)) => {
                let key = SnapshotKey::of(&request, job.seq);
                let waiter = Waiter {
                    request: request.clone(),
                };
                match self.snapshots.lookup(key.clone(), waiter) {
                    Lookup::Ready(frames) => {
                        self.metrics.snapshot_shared();
                        self.begin(&request, &subscribed, frames.to_vec(), true);
                    }
                    Lookup::Joined(so_far) => {
                        self.metrics.snapshot_shared();
                        self.begin(&request, &subscribed, so_far, false);
                    }
                    Lookup::Encode => {
                        self.metrics.snapshot_encoded();
                        self.begin(&request, &subscribed, Vec::new(), false);
                        stream::encode(job, key, encoded.clone());
                    }
                }
            }
        }
    }

    /// Sends the client's replies that are ready, from the front of its queue, stopping at
    /// the first that is not; a subscription whose reply is sent goes live.
    fn flush(&mut self, client: u64) {
        loop {
            let Some(queue) = self.control.queue_mut(client) else {
                return;
            };
            let Some(front) = queue.items.front_mut() else {
                self.control.remove(client);
                return;
            };
            let handle = queue.client.clone();
            let (frames, whole) = match front {
                Pending::Frame(frame) => (vec![frame.clone()], true),
                Pending::Start {
                    view,
                    key,
                    sub,
                    reply,
                    ..
                } => match (
                    self.registry.get_mut(client, *view, key.as_deref(), *sub),
                    reply,
                ) {
                    // Unsubscribed or replaced before its reply was whole: the rest is
                    // skipped.
                    (None, _) => (Vec::new(), true),
                    (Some(_), None) => return,
                    // Streaming: what is in goes now; the replies behind it wait.
                    (Some(_), Some(reply)) if !reply.done => {
                        (std::mem::take(&mut reply.frames), false)
                    }
                    (Some(entry), Some(reply)) => {
                        let held = match std::mem::replace(&mut entry.phase, Phase::Live) {
                            Phase::Starting(held) => held,
                            Phase::Requested | Phase::Live => Vec::new(),
                        };
                        let mut frames = std::mem::take(&mut reply.frames);
                        frames.extend(held);
                        (frames, true)
                    }
                },
            };
            if whole {
                queue.items.pop_front();
            }
            for frame in &frames {
                if !handle.offer(frame) {
                    self.metrics.client_dropped_lagging();
                    self.drop_client(client);
                    return;
                }
            }
            if !whole {
                return;
            }
        }
    }
}

/// Counts of the encodings picked for delta subscriptions, reported once per batch.
#[derive(Default)]
struct DeltaTally {
    deltas: u64,
    full: u64,
    evicted: u64,
}

impl DeltaTally {
    /// The frame `keys`' subscription gets (see [`DeltaKeys::pick`]), counted.
    fn pick<'a>(
        &mut self,
        keys: &mut DeltaKeys,
        key: &Arc<str>,
        full: &'a Arc<EncodedFrame>,
        delta: Option<&'a Arc<EncodedFrame>>,
    ) -> &'a Arc<EncodedFrame> {
        let (frame, picked) = keys.pick(key, full, delta);
        if picked.delta {
            self.deltas += 1;
        } else {
            self.full += 1;
        }
        self.evicted += u64::from(picked.evicted);
        frame
    }

    fn report(&self, metrics: &Metrics) {
        if self.deltas + self.full > 0 {
            metrics.delta_frames(self.deltas, self.full, self.evicted);
        }
    }
}
