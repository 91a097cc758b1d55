//! The durable state store: every piece of state an uninterrupted run depends on, in one
//! embedded database (fjall: an LSM tree with a write-ahead journal, pure Rust) in a data
//! directory.
//!
//! One writer — the engine thread — commits batches atomically across the store's keyspaces;
//! each commit is flushed to the operating system (it survives a process crash, `kill -9`),
//! and fsynced every [`StoreConfig::fsync_interval`] (an OS crash or power loss can lose the
//! commits since the last fsync, never consistency). Readers (snapshot workers) read a
//! consistent [`Snapshot`] of the last commit while the writer goes on.
//!
//! Keyspaces and their keys (`u16`/`u64` big-endian, so keys sort in numeric order):
//!
//! | keyspace | key | value |
//! | --- | --- | --- |
//! | `meta` | name | identity, epoch, checkpoint, view state |
//! | `entities` | entity index, entity key | the entity as clients see it (JSON) |
//! | `states` | entity index, entity key | the transform's typed state of the entity (with its own account's last applied version, `transform/versions.rs`) |
//! | `lookups` | entity, lookup, looked-up value | primary key |
//! | `queue` | entity, lookup, value, sequence | an unresolved item |
//! | `accounts` | account address | last (slot, write version) applied, unless a later one is in the account's state |
//! | `signatures` | slot, signature | (empty) |
//! | `log` | view index, view seq | encoded frame (resume log) |
//! | `resolved` | 0, resolver, input / 1, resolver, input, entity, field, entity key | a resolver's value / a reference to it (crate::resolve) |
//! | `derived` | 0, view, rank bytes, entity key | entity key (a derived view's order) |

pub(crate) mod binary;
pub(crate) mod codec;
pub(crate) mod hot;
mod keys;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

pub(crate) use keys::*;

/// Where the state store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLocation {
    /// A data directory: state survives restarts.
    Dir(PathBuf),
    /// A temporary directory removed when the server stops: complete (nothing is evicted
    /// that cannot be read back) but not durable. For tests and throwaway runs.
    Temporary,
}

/// Settings of the state store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Where the data lives (default: a temporary directory).
    pub location: DataLocation,
    /// Longest time a batch of applied updates stays uncommitted (default 5 ms). A batch is
    /// also committed as soon as no input is waiting, so a quiet stream commits (and
    /// publishes) each update at once.
    pub commit_interval: Duration,
    /// Most updates in one batch (default 1 000: larger batches lengthen the commit's tail,
    /// and a batch's frames reach each client's queue at once).
    pub max_batch: usize,
    /// Most frames one view receives in one batch (default 512, half the default client
    /// queue). A batch's frames reach each subscriber's queue at once: a batch of 1,000 new
    /// entities is about 2,000 frames of a list view (each entry, and the entry it pushes out
    /// of the window), more than a healthy client's queue holds. The server lowers it to half
    /// of [`WebSocketConfig::message_queue_size`](crate::WebSocketConfig) when that is
    /// smaller. One update's frames (or one slot's, for an ordered stack) are never split.
    pub max_view_frames: usize,
    /// How often commits are fsynced (default every second; `None`: only at shutdown; a
    /// temporary store never).
    /// Every commit survives a process crash regardless.
    pub fsync_interval: Option<Duration>,
    /// Block cache of the store, in bytes (default 32 MiB).
    pub cache_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            location: DataLocation::Temporary,
            commit_interval: Duration::from_millis(5),
            max_batch: 1_000,
            max_view_frames: 512,
            fsync_interval: Some(Duration::from_secs(1)),
            cache_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error("data directory {0} is in use by another process (it is locked)")]
    Locked(PathBuf),
    /// The data directory was written for another stack.
    #[error("data directory {} was written for stack `{}` ({}), not for this stack `{}` ({}): use another --data-dir, or remove it to start over", .0.dir.display(), .0.found_name, .0.found, .0.expected_name, .0.expected)]
    StackMismatch(Box<StackMismatch>),
    /// The stored data cannot be read (a record in an unknown format).
    #[error("corrupt store record in `{keyspace}`: {reason}")]
    Corrupt {
        /// The keyspace.
        keyspace: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An I/O error of the database (a full disk shows up here).
    #[error("state store: {0}")]
    Db(#[from] fjall::Error),
    /// The directory cannot be created.
    #[error("cannot create data directory {dir}: {source}")]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the error comes from the disk (full, failing) rather than from the data.
    pub fn is_io(&self) -> bool {
        matches!(self, StoreError::Db(_) | StoreError::CreateDir { .. })
    }
}

/// A data directory written for another stack than the one being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackMismatch {
    /// The directory.
    pub dir: PathBuf,
    /// Fingerprint of the stack being served.
    pub expected: String,
    /// Its name.
    pub expected_name: String,
    /// Fingerprint recorded in the directory.
    pub found: String,
    /// The name recorded.
    pub found_name: String,
}

/// What a data directory must have been written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The stack's name.
    pub stack_name: String,
    /// A fingerprint of the checked stack model.
    pub fingerprint: String,
}

/// A consistent read view of the last commit; cheap to clone, usable from any thread.
pub(crate) type Snapshot = fjall::Snapshot;

/// The open store.
#[derive(Clone)]
pub(crate) struct Store {
    db: Database,
    dir: Option<PathBuf>,
    pub meta: Keyspace,
    pub entities: Keyspace,
    pub states: Keyspace,
    pub lookups: Keyspace,
    pub queue: Keyspace,
    pub accounts: Keyspace,
    pub signatures: Keyspace,
    pub log: Keyspace,
    pub resolved: Keyspace,
    pub derived: Keyspace,
}

const IDENTITY_KEY: &[u8] = b"identity";

/// One keyspace's memtable before it is flushed to disk. Inserting into the memtable (a skip
/// list) is most of a commit's cost, and it grows with the memtable: with 4 MiB it was faster
/// than with 8 or 32 MiB (BENCHMARKS.md, issue 11 (b)), and uses less memory.
const MEMTABLE: u64 = 4 * 1024 * 1024;
/// Journal kept before memtables are flushed (what a restart replays at most).
const JOURNAL: u64 = 128 * 1024 * 1024;

impl Store {
    /// Opens (or creates) the store and checks it belongs to `identity`. Returns whether it
    /// was created now (a first start).
    pub fn open(config: &StoreConfig, identity: &Identity) -> Result<(Store, bool), StoreError> {
        let (builder, dir) = match &config.location {
            DataLocation::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                    dir: dir.clone(),
                    source,
                })?;
                (Database::builder(dir.join("state")), Some(dir.clone()))
            }
            DataLocation::Temporary => {
                let tmp = std::env::temp_dir().join(format!(
                    "hyperstack-{}-{:x}",
                    std::process::id(),
                    rand_suffix()
                ));
                (Database::builder(tmp).temporary(true), None)
            }
        };
        // Memory: the block cache, plus one bounded memtable per keyspace; a smaller journal
        // bounds the replay time of a restart.
        let db = builder
            .cache_size(config.cache_bytes)
            .max_journaling_size(JOURNAL)
            .open()
            .map_err(|e| match (e, &dir) {
                (fjall::Error::Locked, Some(d)) => StoreError::Locked(d.clone()),
                (e, _) => StoreError::Db(e),
            })?;
        let ks = |name: &str| {
            // Table blocks lz4-compressed at every level (fjall's journal compresses values
            // of 4 KiB and more): with resume-log chunks, a 20,000-slot pump replay writes
            // 0.83 GB instead of 1.40 (BENCHMARKS.md). Keyspaces of earlier builds keep theirs.
            db.keyspace(name, || {
                KeyspaceCreateOptions::default()
                    .max_memtable_size(MEMTABLE)
                    .data_block_compression_policy(fjall::config::CompressionPolicy::all(
                        fjall::CompressionType::Lz4,
                    ))
            })
        };
        let store = Store {
            meta: ks("meta")?,
            entities: ks("entities")?,
            states: ks("states")?,
            lookups: ks("lookups")?,
            queue: ks("queue")?,
            accounts: ks("accounts")?,
            signatures: ks("signatures")?,
            log: ks("log")?,
            resolved: ks("resolved")?,
            derived: ks("derived")?,
            db,
            dir,
        };
        let created = match store.meta.get(IDENTITY_KEY)? {
            None => {
                let mut batch = store.db.batch();
                batch.insert(&store.meta, IDENTITY_KEY, codec::identity(identity));
                store.commit(batch)?;
                true
            }
            Some(found) => {
                let (found_name, found, format) = codec::parse_identity(&found)?;
                if found != identity.fingerprint {
                    return Err(StoreError::StackMismatch(Box::new(StackMismatch {
                        dir: store.dir.clone().unwrap_or_default(),
                        expected: identity.fingerprint.clone(),
                        expected_name: identity.stack_name.clone(),
                        found,
                        found_name,
                    })));
                }
                if format < codec::FORMAT {
                    // Records are written in the current format from now on: say so, for
                    // older builds to refuse the directory.
                    let mut batch = store.db.batch();
                    batch.insert(&store.meta, IDENTITY_KEY, codec::identity(identity));
                    store.commit(batch)?;
                }
                false
            }
        };
        Ok((store, created))
    }

    /// The data directory, unless temporary.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// A new atomic batch across keyspaces.
    pub fn batch(&self) -> fjall::OwnedWriteBatch {
        self.db.batch()
    }

    /// Commits a batch: atomic, flushed to the OS (survives a process crash).
    pub fn commit(&self, batch: fjall::OwnedWriteBatch) -> Result<(), StoreError> {
        batch.durability(Some(PersistMode::Buffer)).commit()?;
        Ok(())
    }

    /// Forces every commit so far to disk (fsync). A temporary store is never synced: it does
    /// not outlive the process, and on a busy disk an fsync can stall the engine for seconds.
    pub fn sync(&self) -> Result<(), StoreError> {
        if self.dir.is_none() {
            return Ok(());
        }
        self.db.persist(PersistMode::SyncData)?;
        Ok(())
    }

    /// A consistent view of the last commit.
    pub fn snapshot(&self) -> Snapshot {
        self.db.snapshot()
    }

    /// Bytes on disk.
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }

    /// A value of `meta`.
    pub fn meta(&self, key: &[u8]) -> Result<Option<fjall::Slice>, StoreError> {
        Ok(self.meta.get(key)?)
    }
}

/// A store in a temporary directory for unit tests (removed when the last handle drops).
#[cfg(test)]
#[allow(clippy::expect_used)]
pub(crate) fn temporary_for_tests() -> Store {
    let config = StoreConfig {
        location: DataLocation::Temporary,
        ..StoreConfig::default()
    };
    let id = Identity {
        stack_name: "t".into(),
        fingerprint: "f".into(),
    };
    Store::open(&config, &id).expect("a temporary store").0
}

/// A per-process unique suffix for temporary directories.
fn rand_suffix() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos ^ u128::from(NEXT.fetch_add(1, Ordering::Relaxed)) << 100
}

/// Times a store operation for the commit-latency metric.
pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}
