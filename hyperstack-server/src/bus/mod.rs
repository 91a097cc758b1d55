//! The bus: one task owns the projector and every subscription, applies mutations, and fans
//! each encoded frame out to the bounded queues of subscribed clients. A client whose queue is
//! full is marked lagging and dropped from every view; the pipeline never waits for a client.

mod registry;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, watch, Notify};

use crate::metrics::Metrics;
use crate::mutation::Mutation;
use crate::project::{EncodedFrame, Projector, ViewId};
use registry::Registry;

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

/// Runs the bus until shutdown, or until every command sender is gone.
pub(crate) async fn run(
    mut projector: Projector,
    mut commands: mpsc::Receiver<Command>,
    mut mutations: mpsc::Receiver<Mutation>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut registry = Registry::new(projector.views().len());
    let mut mutations_open = true;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            cmd = commands.recv() => match cmd {
                Some(cmd) => handle(&projector, &mut registry, &metrics, cmd),
                None => break,
            },
            m = mutations.recv(), if mutations_open => match m {
                Some(m) => publish(&mut projector, &mut registry, &metrics, &m),
                None => mutations_open = false,
            },
        }
    }
}

fn handle(projector: &Projector, registry: &mut Registry, metrics: &Metrics, cmd: Command) {
    match cmd {
        Command::Subscribe {
            client,
            view,
            key,
            after,
            skip,
            take,
        } => {
            let resumed = after.and_then(|after| projector.resume(view, key.as_deref(), after));
            let mut frames = vec![projector.subscribed_frame(view, resumed.is_some())];
            match resumed {
                Some(replay) => frames.extend(replay),
                None => frames.extend(projector.snapshot(view, key.as_deref(), skip, take)),
            }
            if registry.add(view, key, client.clone()) {
                metrics.subscribed(view);
            }
            for frame in &frames {
                if !client.offer(frame) {
                    metrics.client_dropped_lagging();
                    drop_client(registry, metrics, client.id);
                    return;
                }
            }
        }
        Command::Unsubscribe { client, view, key } => {
            if registry.remove(client, view, key.as_deref()) {
                metrics.unsubscribed(view);
            }
        }
        Command::Disconnect { client } => drop_client(registry, metrics, client),
    }
}

fn drop_client(registry: &mut Registry, metrics: &Metrics, client: u64) {
    for view in registry.remove_client(client) {
        metrics.unsubscribed(view);
    }
}

fn publish(projector: &mut Projector, registry: &mut Registry, metrics: &Metrics, m: &Mutation) {
    metrics.ingest_event(None);
    let published = match projector.apply(m) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(entity = %m.entity, key = %m.key, error = %e, "mutation rejected");
            return;
        }
    };
    let mut lagging = Vec::new();
    for p in &published {
        for client in registry.recipients(p.view, &p.key) {
            if !client.offer(&p.frame) {
                lagging.push(client.id);
            }
        }
    }
    for id in lagging {
        metrics.client_dropped_lagging();
        drop_client(registry, metrics, id);
    }
}
