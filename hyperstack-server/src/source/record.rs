//! Recording a live Yellowstone stream into the replay format (`hs replay record`).

use std::io::Write;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::replay::to_line;
use super::yellowstone::{self, SourceError, YellowstoneSourceConfig};
use crate::config::HealthConfig;
use crate::health::HealthMonitor;

/// When a recording stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordOptions {
    /// Stop after this many updates.
    pub max_updates: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Writing the output failed.
    #[error("cannot write the recording: {0}")]
    Io(#[from] std::io::Error),
    /// The source stopped with an error (after writing what it had).
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Subscribes like the server does (with reconnection, `from_slot` resume and dedup) and
/// writes every update as one JSON line (docs/REPLAY.md) to `out` until `options` say stop
/// or `shutdown` becomes true. Returns the number of updates written.
pub async fn record(
    config: &YellowstoneSourceConfig,
    options: RecordOptions,
    mut out: impl Write,
    mut shutdown: watch::Receiver<bool>,
) -> Result<u64, RecordError> {
    config.validate()?;
    let (tx, mut rx) = mpsc::channel(1_024);
    let (stop_tx, stop_rx) = watch::channel(false);
    let health = HealthMonitor::new(HealthConfig::default());
    let source_config = config.clone();
    let source =
        tokio::spawn(
            async move { yellowstone::run(&source_config, tx, health, None, stop_rx).await },
        );
    let deadline = options.duration.map(|d| tokio::time::Instant::now() + d);
    let mut dedup = super::Dedup::new(config.dedup_capacity);
    let mut written = 0u64;
    let result = loop {
        if options.max_updates.is_some_and(|m| written >= m) {
            break Ok(());
        }
        let next = tokio::select! {
            next = rx.recv() => next,
            _ = shutdown.changed() => break Ok(()),
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => break Ok(()),
        };
        let Some(update) = next else {
            break Ok(());
        };
        // What a resumed stream sends again is written once.
        if !dedup.admit(&update) {
            continue;
        }
        if let Err(e) = writeln!(out, "{}", to_line(&update)) {
            break Err(RecordError::Io(e));
        }
        written += 1;
    };
    let _ = stop_tx.send(true);
    drop(rx);
    out.flush()?;
    result?;
    match source.await {
        Ok(Err(e)) => Err(RecordError::Source(e)),
        _ => Ok(written),
    }
}
