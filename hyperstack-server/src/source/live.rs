//! The server's live source: a bootstrap from RPC when one is due, then the Yellowstone
//! stream; when the upstream refuses to replay from the checkpoint (older than its replay
//! window) the gap is said in health, metrics and the log, then the accounts are bootstrapped
//! again (with an RPC endpoint) or the stream continues from the tip (without). Never a
//! crash loop (a restart would meet the same refusal), never a silent gap.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::bootstrap::{Bootstrap, Reason};
use super::yellowstone::{self, SourceError, YellowstoneSourceConfig};
use super::RawUpdate;
use crate::health::{HealthMonitor, StreamStatus};
use crate::metrics::Metrics;

/// Everything the live source runs with.
pub(crate) struct LiveSource {
    pub yellowstone: YellowstoneSourceConfig,
    pub bootstrap: Option<Bootstrap>,
    /// A bootstrap due before streaming (first start, or one that did not finish).
    pub pending: Option<Reason>,
    pub health: HealthMonitor,
    pub metrics: Arc<Metrics>,
}

/// What a refusal tells of the gap: yellowstone-grpc says
/// `broadcast from <from_slot> is not available, last available: <oldest slot it holds>`.
fn oldest_available(message: &str) -> Option<u64> {
    message
        .rsplit_once("last available:")
        .and_then(|(_, slot)| slot.trim().parse().ok())
}

impl LiveSource {
    /// Runs the source on a task of its own.
    pub fn spawn(
        self,
        raw: mpsc::Sender<RawUpdate>,
        shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<Result<(), crate::ingest::IngestError>> {
        tokio::spawn(async move {
            crate::failpoint::hit("ingest.source");
            self.run(raw, shutdown).await.map_err(Into::into)
        })
    }

    /// Runs until `shutdown`, the transform going away, or a source error other than a
    /// refused replay.
    pub async fn run(
        self,
        raw: mpsc::Sender<RawUpdate>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SourceError> {
        let mut config = self.yellowstone.clone();
        // The slot the last bootstrap resumes from: refused right after it, a bootstrap again
        // would only meet the same refusal (the bootstrap took longer than the window).
        let mut bootstrapped_at = None;
        match (self.pending, &self.bootstrap) {
            (Some(reason), Some(b)) => {
                let Some(slot) = b.run(reason, &raw, &mut shutdown).await else {
                    return Ok(());
                };
                config.from_slot = Some(slot);
                bootstrapped_at = Some(slot);
            }
            (Some(Reason::FirstStart), None) => tracing::info!(
                "first start without an RPC endpoint to bootstrap from: accounts written before now appear once they are written again"
            ),
            (Some(reason), None) => tracing::warn!(
                reason = reason.as_str(),
                "a bootstrap is due but no RPC endpoint is configured: accounts not written since appear once they are written again"
            ),
            (None, _) => {}
        }
        loop {
            let (from_slot, message) = match yellowstone::run(
                &config,
                raw.clone(),
                self.health.clone(),
                None,
                shutdown.clone(),
            )
            .await
            {
                Err(SourceError::ReplayRefused { from_slot, message }) => (from_slot, message),
                other => return other,
            };
            let oldest = oldest_available(&message);
            let slots = oldest.map_or(0, |o| o.saturating_sub(from_slot));
            self.metrics.checkpoint_gap(slots);
            let span = match oldest {
                Some(o) => format!("slots {from_slot}..{o} ({slots} slots)"),
                None => format!("the slots from {from_slot} on"),
            };
            let retry_bootstrap = self
                .bootstrap
                .as_ref()
                .filter(|_| bootstrapped_at != Some(from_slot));
            let Some(b) = retry_bootstrap else {
                let why = if self.bootstrap.is_some() {
                    "the bootstrap took longer than the upstream's replay window"
                } else {
                    "no RPC endpoint is configured to bootstrap from"
                };
                let gap = format!(
                    "the upstream cannot replay {span} ({message}): their updates were missed and {why}; streaming from the upstream's current slot"
                );
                tracing::error!("{gap}");
                self.health.record_gap(gap).await;
                config.from_slot = None;
                bootstrapped_at = None;
                continue;
            };
            let gap = format!(
                "the upstream cannot replay {span} ({message}): account state is bootstrapped again from RPC; instructions and events of those slots were missed"
            );
            tracing::error!("{gap}");
            self.health.record_gap(gap.clone()).await;
            self.health.set_status(StreamStatus::Error(gap)).await;
            let Some(slot) = b.run(Reason::Gap, &raw, &mut shutdown).await else {
                return Ok(());
            };
            config.from_slot = Some(slot);
            bootstrapped_at = Some(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::oldest_available;

    #[test]
    fn reads_the_oldest_slot_of_a_refusal() {
        assert_eq!(
            oldest_available("broadcast from 100 is not available, last available: 180"),
            Some(180)
        );
        assert_eq!(oldest_available("from_slot is not supported"), None);
    }
}
