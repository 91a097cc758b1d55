//! Counters of the RPC bootstrap and of checkpoint gaps (a checkpoint older than the
//! upstream's replay window).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{add, header};

/// Bootstrap and gap counters.
#[derive(Debug, Default)]
pub(crate) struct BootstrapMetrics {
    accounts: AtomicU64,
    errors: AtomicU64,
    completed: AtomicU64,
    gaps: AtomicU64,
    gap_slots: AtomicU64,
}

/// The families, in render order.
const FAMILIES: [&str; 5] = [
    "bootstrap_accounts_total counter Accounts read from the RPC endpoint by a bootstrap (getProgramAccounts) and handed to the transform.",
    "bootstrap_errors_total counter Failed bootstrap attempts (each retried with backoff).",
    "bootstraps_completed_total counter Bootstraps that read every account of the stack's programs.",
    "checkpoint_gaps_total counter Times the upstream refused to replay from the checkpoint (older than its replay window).",
    "checkpoint_gap_slots gauge Slots between the checkpoint and the oldest slot the upstream could replay at the last gap (0: no gap seen).",
];

impl BootstrapMetrics {
    pub fn accounts(&self, n: u64) {
        add(&self.accounts, n);
    }

    pub fn error(&self) {
        add(&self.errors, 1);
    }

    pub fn completed(&self) {
        add(&self.completed, 1);
    }

    pub fn gap(&self, slots: u64) {
        add(&self.gaps, 1);
        self.gap_slots.store(slots, Ordering::Relaxed);
    }

    /// Accounts, errors, completed bootstraps, gaps, slots of the last gap.
    pub fn counts(&self) -> [u64; 5] {
        [
            &self.accounts,
            &self.errors,
            &self.completed,
            &self.gaps,
            &self.gap_slots,
        ]
        .map(|a| a.load(Ordering::Relaxed))
    }

    pub fn render(&self, out: &mut String) {
        for (family, value) in FAMILIES.into_iter().zip(self.counts()) {
            let name = header(out, family);
            let _ = writeln!(out, "hyperstack_{name} {value}");
        }
    }
}
