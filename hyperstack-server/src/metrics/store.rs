//! Counters of the state store: commits and their latency, records in memory, reads from
//! disk, size on disk.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{add, header, Metrics};
use crate::store::hot::HotStats;
use crate::store::Store;

/// Upper bounds (seconds) of the commit latency histogram's buckets.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The store's counters; the store itself is attached once it is open.
#[derive(Debug, Default)]
pub(crate) struct StoreMetrics {
    attached: OnceLock<(Store, Arc<HotStats>)>,
    commits: AtomicU64,
    updates: AtomicU64,
    commit_micros: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    /// Per kind of record, in the order of [`KINDS`].
    hot_records: [AtomicU64; KINDS.len()],
    /// Store errors that stopped ingestion.
    errors: AtomicU64,
    /// The most frames one view received in one committed batch.
    view_frames_max: AtomicU64,
}

/// Kinds of records held in memory in front of the store.
pub(crate) const KINDS: [&str; 5] = ["entities", "states", "lookups", "accounts", "signatures"];

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir()).finish()
    }
}

impl StoreMetrics {
    pub fn attach(&self, store: Store, stats: Arc<HotStats>) {
        let _ = self.attached.set((store, stats));
    }

    /// A batch of `updates` updates was committed in `took`.
    pub fn committed(&self, took: Duration, updates: usize) {
        add(&self.commits, 1);
        add(&self.updates, updates as u64);
        add(
            &self.commit_micros,
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        );
        let secs = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                add(count, 1);
            }
        }
    }

    /// A committed batch gave one view `n` frames (its busiest view).
    pub fn view_frames(&self, n: usize) {
        self.view_frames_max.fetch_max(n as u64, Ordering::Relaxed);
    }

    /// Records of `kind` (one of [`KINDS`]) held in memory now, the largest set of that kind.
    pub fn set_hot_records(&self, kind: &str, n: usize) {
        if let Some(i) = KINDS.iter().position(|k| *k == kind) {
            self.hot_records[i].store(n as u64, Ordering::Relaxed);
        }
    }

    /// A store error stopped ingestion.
    pub fn halted(&self) {
        add(&self.errors, 1);
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    pub fn hot_records(&self, kind: &str) -> u64 {
        KINDS
            .iter()
            .position(|k| *k == kind)
            .map_or(0, |i| self.hot_records[i].load(Ordering::Relaxed))
    }

    pub fn disk_reads(&self) -> u64 {
        self.attached
            .get()
            .map_or(0, |(_, s)| s.disk_reads.load(Ordering::Relaxed))
    }

    pub fn render(&self, out: &mut String) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let name = header(
            out,
            "store_commits_total counter State store commits (one per batch).",
        );
        let _ = writeln!(out, "hyperstack_{name} {}", load(&self.commits));
        let name = header(
            out,
            "store_errors_total counter State store errors (a failed commit: a full or failing disk); the first stops ingestion while clients are still served.",
        );
        let _ = writeln!(out, "hyperstack_{name} {}", load(&self.errors));
        let errors = load(&self.errors);
        let name = header(
            out,
            "ingestion_halted gauge 1 once ingestion stopped because the state store failed.",
        );
        let _ = writeln!(out, "hyperstack_{name} {}", u8::from(errors > 0));
        let name = header(
            out,
            "store_updates_committed_total counter Updates and mutations committed to the state store.",
        );
        let _ = writeln!(out, "hyperstack_{name} {}", load(&self.updates));
        let name = header(
            out,
            "store_commit_seconds histogram Time to commit one batch to the state store.",
        );
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "hyperstack_{name}_bucket{{le=\"{bound}\"}} {}",
                load(count)
            );
        }
        let commits = load(&self.commits);
        let _ = writeln!(out, "hyperstack_{name}_bucket{{le=\"+Inf\"}} {commits}");
        let _ = writeln!(
            out,
            "hyperstack_{name}_sum {}",
            load(&self.commit_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "hyperstack_{name}_count {commits}");
        let name = header(
            out,
            "batch_view_frames_max gauge The most frames one view received in one committed batch (bounded by the store's max_view_frames, except for one update's or one slot's frames).",
        );
        let _ = writeln!(out, "hyperstack_{name} {}", load(&self.view_frames_max));
        let name = header(
            out,
            "store_hot_records gauge Records of the state store held in memory (the largest hot set of each kind).",
        );
        for (kind, n) in KINDS.iter().zip(&self.hot_records) {
            let _ = writeln!(out, "hyperstack_{name}{{kind=\"{kind}\"}} {}", load(n));
        }
        let name = header(
            out,
            "store_disk_reads_total counter Records read from disk because they were not in memory.",
        );
        let _ = writeln!(out, "hyperstack_{name} {}", self.disk_reads());
        let name = header(
            out,
            "store_disk_bytes gauge Size of the state store on disk.",
        );
        let bytes = self.attached.get().map_or(0, |(s, _)| s.disk_space());
        let _ = writeln!(out, "hyperstack_{name} {bytes}");
    }
}

impl Metrics {
    /// A committed batch gave its busiest view `n` frames.
    pub fn batch_view_frames(&self, n: usize) {
        self.store.view_frames(n);
    }

    /// The most frames one view received in one committed batch so far.
    pub fn batch_view_frames_max(&self) -> u64 {
        self.store.view_frames_max.load(Ordering::Relaxed)
    }
}
