//! Counters of subscriptions that carried a cursor (`after`): resumed from the resume log, or
//! answered with a full snapshot (`resumed: false`) and why.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{add, header};

/// What became of a subscription's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeOutcome {
    /// The frames after the cursor were sent from the resume log.
    Resumed,
    /// The cursor belongs to another epoch (another data directory): a snapshot was sent.
    OtherEpoch,
    /// The resume log no longer holds every frame after the cursor: a snapshot was sent.
    Expired,
    /// The cursor is ahead of the view (a store restored from an older copy): a snapshot was
    /// sent.
    Ahead,
}

impl ResumeOutcome {
    /// Every outcome, in render order.
    pub const ALL: [ResumeOutcome; 4] = [
        ResumeOutcome::Resumed,
        ResumeOutcome::OtherEpoch,
        ResumeOutcome::Expired,
        ResumeOutcome::Ahead,
    ];

    /// Its label value.
    pub fn label(self) -> &'static str {
        match self {
            ResumeOutcome::Resumed => "resumed",
            ResumeOutcome::OtherEpoch => "other_epoch",
            ResumeOutcome::Expired => "expired",
            ResumeOutcome::Ahead => "ahead",
        }
    }
}

/// Counters per [`ResumeOutcome`].
#[derive(Debug, Default)]
pub(crate) struct ResumeMetrics {
    counts: [AtomicU64; ResumeOutcome::ALL.len()],
    /// Whether the first re-snapshot was logged.
    logged: AtomicU64,
}

const FAMILY: &str = "resumes_total counter Subscriptions with a cursor (`after`), by outcome: resumed from the resume log, or sent a full snapshot because the cursor was of another epoch, older than the log, or ahead of the view.";

impl ResumeMetrics {
    pub fn record(&self, outcome: ResumeOutcome) {
        let i = ResumeOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(0);
        add(&self.counts[i], 1);
        if outcome != ResumeOutcome::Resumed && self.logged.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::info!(
                reason = outcome.label(),
                "first cursor that could not be resumed: the client got a full snapshot instead (every one is counted in hyperstack_resumes_total)"
            );
        }
    }

    pub fn count(&self, outcome: ResumeOutcome) -> u64 {
        ResumeOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .map_or(0, |i| self.counts[i].load(Ordering::Relaxed))
    }

    pub fn render(&self, out: &mut String) {
        let name = header(out, FAMILY);
        for outcome in ResumeOutcome::ALL {
            let _ = writeln!(
                out,
                "hyperstack_{name}{{outcome=\"{}\"}} {}",
                outcome.label(),
                self.count(outcome)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders_every_outcome() {
        let m = ResumeMetrics::default();
        m.record(ResumeOutcome::Resumed);
        m.record(ResumeOutcome::Resumed);
        m.record(ResumeOutcome::Expired);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("hyperstack_resumes_total{outcome=\"resumed\"} 2"));
        assert!(out.contains("hyperstack_resumes_total{outcome=\"expired\"} 1"));
        assert!(out.contains("hyperstack_resumes_total{outcome=\"other_epoch\"} 0"));
        assert!(out.contains("hyperstack_resumes_total{outcome=\"ahead\"} 0"));
        assert!(out.contains("# TYPE hyperstack_resumes_total counter"));
    }
}
