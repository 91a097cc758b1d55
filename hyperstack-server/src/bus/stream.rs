//! Streamed snapshots: a blocking worker encodes a snapshot batch by batch and hands each
//! frame to the bus through a bounded channel; the bus offers it to every subscription
//! receiving that encoding (see [`super::snapshots`]) as it arrives, in order, and ends each
//! reply with the encoding: whole (the held live frames follow, the subscription goes live)
//! or failed (an `error` frame after the batches already sent, the subscription dropped).

use std::sync::Arc;

use tokio::sync::mpsc;

use super::control::{subscribed_reply, Pending, Reply};
use super::snapshots::SnapshotKey;
use super::{text_frame, Bus};
use crate::engine::StartRequest;
use crate::metrics::RefusalReason;
use crate::project::{EncodedFrame, SnapshotError, SnapshotJob};
use crate::websocket::protocol::{ErrorCode, Refusal};

/// Snapshot frames on their way from the encoding workers to the bus, for all encodings
/// together: a worker waits when the bus has not taken them yet.
pub(super) const SNAPSHOT_FRAMES_IN_FLIGHT: usize = 32;

/// What a snapshot worker tells the bus about the encoding of `key`.
pub(super) struct Encoded {
    key: SnapshotKey,
    event: Event,
}

enum Event {
    /// The next batch frame.
    Frame(Arc<EncodedFrame>),
    /// The encoding ended: after the `complete` frame, or failed.
    End(Result<(), SnapshotError>),
}

/// Encodes `job` on a blocking worker, off the bus and off the engine, sending each frame,
/// then the end, to the bus as the encoding of `key` (the worker waits while the channel is
/// full; it stops when the bus is gone).
pub(super) fn encode(job: SnapshotJob, key: SnapshotKey, encoded: mpsc::Sender<Encoded>) {
    tokio::task::spawn_blocking(move || {
        let frame_key = key.clone();
        let sent = job.encode_each(|frame| {
            encoded
                .blocking_send(Encoded {
                    key: frame_key.clone(),
                    event: Event::Frame(frame),
                })
                .is_ok()
        });
        let end = match sent {
            Ok(true) => Ok(()),
            Err(e) => Err(e),
            // The bus is gone (shutdown): nobody to tell.
            Ok(false) => return,
        };
        let _ = encoded.blocking_send(Encoded {
            key,
            event: Event::End(end),
        });
    });
}

impl Bus {
    /// A snapshot worker's frame or end, for the subscriptions receiving that encoding.
    pub(super) fn snapshot_event(&mut self, Encoded { key, event }: Encoded) {
        match event {
            Event::Frame(frame) => {
                let waiters = self.snapshots.batch(&key, frame.clone()).to_vec();
                let mut gone = Vec::new();
                for w in &waiters {
                    if !self.more(&w.request, &frame) {
                        gone.push(w.request.sub);
                    }
                }
                if !gone.is_empty() {
                    self.snapshots.forget(&key, &gone);
                }
            }
            Event::End(Ok(())) => {
                let (waiters, evicted) = self.snapshots.finish(&key, true);
                self.metrics.snapshot_cache_evicted(evicted);
                for w in waiters {
                    self.end(&w.request);
                }
            }
            Event::End(Err(e)) => {
                let (waiters, _) = self.snapshots.finish(&key, false);
                tracing::error!(error = %e, view = key.view, seq = key.seq, subscribers = waiters.len(), "cannot read a snapshot: its subscriptions are dropped and their clients told");
                for w in waiters {
                    self.fail(&w.request);
                }
            }
        }
    }

    /// A subscription's reply starts: `subscribed` and the first frames, all of them when
    /// `done`; sends what can go.
    pub(super) fn begin(
        &mut self,
        request: &StartRequest,
        subscribed: &EncodedFrame,
        frames: Vec<Arc<EncodedFrame>>,
        done: bool,
    ) {
        let Some(Pending::Start {
            reply, id, delta, ..
        }) = self.control.start_mut(request.client, request.sub)
        else {
            return; // the client is gone
        };
        let mut all = Vec::with_capacity(frames.len() + 1);
        all.push(subscribed_reply(
            subscribed,
            id.as_ref(),
            &self.limits,
            *delta,
        ));
        all.extend(frames);
        *reply = Some(Reply { frames: all, done });
        self.flush(request.client);
    }

    /// Whether the subscription a snapshot is for still exists (not unsubscribed, replaced,
    /// or its client gone).
    fn is_current(&mut self, request: &StartRequest) -> bool {
        self.registry
            .get_mut(
                request.client,
                request.view,
                request.key.as_deref(),
                request.sub,
            )
            .is_some()
    }

    /// The next snapshot frame of a subscription's reply. Returns `false` when the
    /// subscription no longer takes it (unsubscribed, replaced, or its client gone).
    fn more(&mut self, request: &StartRequest, frame: &Arc<EncodedFrame>) -> bool {
        let current = self.is_current(request);
        let Some(Pending::Start {
            reply: Some(reply), ..
        }) = self.control.start_mut(request.client, request.sub)
        else {
            return false;
        };
        if !current {
            // Its reply is skipped when it reaches the front: keep nothing for it.
            *reply = Reply::default();
            return false;
        }
        reply.frames.push(frame.clone());
        self.flush(request.client);
        true
    }

    /// A subscription's snapshot is whole: the rest of its reply goes, then it is live.
    fn end(&mut self, request: &StartRequest) {
        if let Some(Pending::Start {
            reply: Some(reply), ..
        }) = self.control.start_mut(request.client, request.sub)
        {
            reply.done = true;
            self.flush(request.client);
        }
    }

    /// A subscription's snapshot could not be made: its reply becomes an `error` frame —
    /// after the batches it may have sent already — and the subscription is dropped.
    fn fail(&mut self, request: &StartRequest) {
        let current = self.is_current(request);
        let Some(pending) = self.control.start_mut(request.client, request.sub) else {
            return; // the client is gone
        };
        let Pending::Start { id, .. } = pending else {
            return;
        };
        self.metrics.refused(RefusalReason::SnapshotFailed);
        let refusal = Refusal {
            view: self.metrics.view_names().get(request.view).cloned(),
            id: id.take(),
            ..Refusal::new(
                ErrorCode::SnapshotFailed,
                "the server could not read this view's snapshot; subscribe again",
            )
        };
        *pending = Pending::Frame(text_frame(refusal.frame()));
        // A newer subscription that replaced it stays.
        if current
            && self
                .registry
                .remove(request.client, request.view, request.key.as_deref())
        {
            self.metrics.unsubscribed(request.view);
        }
        self.flush(request.client);
    }
}
