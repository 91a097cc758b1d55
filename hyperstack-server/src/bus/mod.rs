//! The bus: fans the engine's committed frames out to the bounded queues of subscribed
//! clients, and starts subscriptions. A client whose queue is full is marked lagging and
//! dropped from every view; the engine never waits for a client.
//!
//! Starting a subscription: the bus registers it as *starting* and asks the engine, which
//! answers — in order with the batches it publishes — with the resume frames or a snapshot
//! job at its last commit. Frames published meanwhile are held for the subscription; a
//! snapshot is encoded by a blocking worker, off the bus and off the engine; then the bus
//! sends `subscribed`, the snapshot (or resume frames) and the held frames, and the
//! subscription goes live.

mod registry;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, watch, Notify};

use crate::engine::{Output, Request, Start, StartKind, StartRequest};
use crate::metrics::Metrics;
use crate::project::{EncodedFrame, Published, SnapshotError, ViewId};
use registry::{Phase, Registry};

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

/// Requests from client tasks.
pub(crate) enum Command {
    Subscribe {
        client: ClientHandle,
        view: ViewId,
        key: Option<Arc<str>>,
        after: Option<u64>,
        skip: usize,
        take: Option<usize>,
    },
    Unsubscribe {
        client: u64,
        view: ViewId,
        key: Option<Arc<str>>,
    },
    Disconnect {
        client: u64,
    },
}

/// A snapshot encoded by a worker, for the subscription that asked.
struct Encoded {
    request: StartRequest,
    frames: Result<Vec<Arc<EncodedFrame>>, SnapshotError>,
}

/// Runs the bus until shutdown, or until the engine and every command sender are gone.
pub(crate) async fn run(
    mut commands: mpsc::Receiver<Command>,
    mut engine_out: mpsc::Receiver<Output>,
    engine: mpsc::Sender<Request>,
    view_count: usize,
    queue_size: usize,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut bus = Bus {
        registry: Registry::new(view_count),
        metrics,
        next_sub: 1,
        queue_size,
    };
    let (encoded_tx, mut encoded) = mpsc::unbounded_channel::<Encoded>();
    let mut engine_open = true;
    let mut commands_open = true;
    while engine_open || commands_open {
        tokio::select! {
            _ = shutdown.changed() => break,
            out = engine_out.recv(), if engine_open => match out {
                Some(Output::Frames(frames)) => bus.publish(&frames),
                Some(Output::Start(start)) => bus.start(*start, &encoded_tx),
                None => engine_open = false,
            },
            cmd = commands.recv(), if commands_open => match cmd {
                Some(cmd) => bus.handle(cmd, &engine).await,
                None => commands_open = false,
            },
            Some(done) = encoded.recv() => bus.snapshot_done(done),
        }
    }
}

struct Bus {
    registry: Registry,
    metrics: Arc<Metrics>,
    next_sub: u64,
    queue_size: usize,
}

impl Bus {
    async fn handle(&mut self, cmd: Command, engine: &mpsc::Sender<Request>) {
        match cmd {
            Command::Subscribe {
                client,
                view,
                key,
                after,
                skip,
                take,
            } => {
                let sub = self.next_sub;
                self.next_sub += 1;
                let id = client.id;
                if self.registry.add(view, key.clone(), client, sub) {
                    self.metrics.subscribed(view);
                }
                let request = StartRequest {
                    sub,
                    client: id,
                    view,
                    key,
                    after,
                    skip,
                    take,
                };
                // Without the engine nothing is published any more: the server is stopping.
                let _ = engine.send(Request::Start(request)).await;
            }
            Command::Unsubscribe { client, view, key } => {
                if self.registry.remove(client, view, key.as_deref()) {
                    self.metrics.unsubscribed(view);
                }
            }
            Command::Disconnect { client } => self.drop_client(client),
        }
    }

    fn drop_client(&mut self, client: u64) {
        for view in self.registry.remove_client(client) {
            self.metrics.unsubscribed(view);
        }
    }

    /// Offers a committed batch to live subscriptions and holds it for starting ones.
    fn publish(&mut self, frames: &[Published]) {
        let mut lagging: Vec<u64> = Vec::new();
        let cap = self.queue_size;
        for p in frames {
            for entry in self.registry.recipients_mut(p.view, &p.key) {
                if lagging.contains(&entry.client.id) {
                    continue;
                }
                match &mut entry.phase {
                    Phase::Live => {
                        if !entry.client.offer(&p.frame) {
                            lagging.push(entry.client.id);
                        }
                    }
                    Phase::Requested => {}
                    Phase::Starting(held) if held.len() < cap => held.push(p.frame.clone()),
                    // More held frames than its queue holds: it could not take them anyway.
                    Phase::Starting(_) => {
                        entry.client.lag.raise();
                        lagging.push(entry.client.id);
                    }
                }
            }
        }
        for id in lagging {
            self.metrics.client_dropped_lagging();
            self.drop_client(id);
        }
    }

    /// The engine's starting point of a subscription.
    fn start(&mut self, start: Start, encoded: &mpsc::UnboundedSender<Encoded>) {
        let Start {
            request,
            subscribed,
            kind,
        } = start;
        // From the engine's answer on, frames come after the starting version: hold them.
        match self.registry.get_mut(
            request.client,
            request.view,
            request.key.as_deref(),
            request.sub,
        ) {
            Some(entry) => entry.phase = Phase::Starting(Vec::new()),
            None => return, // replaced or gone meanwhile
        }
        match kind {
            StartKind::Resumed(frames) => {
                let mut all = vec![subscribed];
                all.extend(frames);
                self.go_live(&request, Ok(all));
            }
            StartKind::Snapshot(None) => self.go_live(&request, Ok(vec![subscribed])),
            StartKind::Snapshot(Some(job)) => {
                let encoded = encoded.clone();
                tokio::task::spawn_blocking(move || {
                    let frames = job.encode().map(|snapshot| {
                        let mut all = Vec::with_capacity(snapshot.len() + 1);
                        all.push(subscribed);
                        all.extend(snapshot);
                        all
                    });
                    let _ = encoded.send(Encoded { request, frames });
                });
            }
        }
    }

    fn snapshot_done(&mut self, done: Encoded) {
        self.go_live(&done.request, done.frames);
    }

    /// Sends a starting subscription its first frames and the frames held since, then makes
    /// it live. A subscription replaced or removed meanwhile is left alone.
    fn go_live(
        &mut self,
        request: &StartRequest,
        frames: Result<Vec<Arc<EncodedFrame>>, SnapshotError>,
    ) {
        let Some(entry) = self.registry.get_mut(
            request.client,
            request.view,
            request.key.as_deref(),
            request.sub,
        ) else {
            return;
        };
        let frames = match frames {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, view = request.view, "cannot read a snapshot: the subscription is dropped");
                let client = entry.client.id;
                self.registry
                    .remove(client, request.view, request.key.as_deref());
                self.metrics.unsubscribed(request.view);
                return;
            }
        };
        let held = match std::mem::replace(&mut entry.phase, Phase::Live) {
            Phase::Starting(held) => held,
            Phase::Requested | Phase::Live => Vec::new(),
        };
        let client = entry.client.clone();
        for frame in frames.iter().chain(&held) {
            if !client.offer(frame) {
                self.metrics.client_dropped_lagging();
                self.drop_client(client.id);
                return;
            }
        }
    }
}
