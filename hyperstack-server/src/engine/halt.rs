//! A store that cannot be written (a full disk, a failing one) stops ingestion, not the server.
//!
//! The last commit is intact and readable, so the engine drops everything applied since (the
//! projector is opened again from the store: sequence numbers, list windows, resume logs and
//! derived views as committed; the batch's frames were never published) and from then on only
//! answers subscriptions: existing clients keep their connections and new ones get snapshots
//! and resumes of the last committed state. Health becomes `Error` for good, `/ready` answers
//! 503 with the reason, `/metrics` counts the error (`hyperstack_store_errors_total`,
//! `hyperstack_ingestion_halted`). The source is no longer read (it waits, and stops at
//! shutdown), mutations sent into the server are refused, and nothing is retried: once the
//! disk has room again, a restart resumes ingestion from the last commit (the checkpoint), so
//! nothing the source delivered is lost.
//!
//! Anything else that stops the engine (its runtime, or a store that cannot even be read
//! back) is a failure of the server (crate::supervise).

use tokio::sync::watch;

use super::{Engine, EngineError, Request};
use crate::store::StoreError;

impl Engine {
    /// Stops ingestion after `error` and serves the last committed state until shutdown,
    /// starting with `unanswered` (the request whose commit failed).
    pub(super) async fn halt(
        &mut self,
        error: StoreError,
        unanswered: Option<Request>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        let reason = format!("state store failed: {error}");
        self.metrics.ingestion_halted();
        self.health.halt(reason.clone()).await;
        self.readiness.halted(reason);
        // Logged once every report above is made: whoever reads the log finds them all.
        tracing::error!(error = %error, "ingestion stopped: the state store cannot be written; clients are still served the last committed state; restart the server once the disk is repaired or has room (ingestion resumes from the last commit)");
        // What was applied since the last commit is dropped with the projector that holds it.
        self.projector = (self.reopen)()?;
        self.transformer = None;
        // Senders of mutations are told: their sends fail from now on.
        self.mutations.close();
        while self.mutations.try_recv().is_ok() {}
        if let Some(req) = unanswered {
            self.answer(req).await;
        }
        if *shutdown.borrow() {
            return Ok(());
        }
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return Ok(());
                    }
                }
                req = self.requests.recv() => match req {
                    Some(req) => self.answer(req).await,
                    None => return Ok(()),
                },
            }
        }
    }
}
