//! The merged copy of one subscribed view: entities as JSON, snapshot batches buffered until
//! `complete`, patches merged, deletes applied, and reconciliation after a full re-snapshot.
//!
//! The connection keeps one [`ViewStore`] per subscription and shares it among every stream of
//! that view. It is public for tools and benchmarks; applications use the typed streams.
//!
//! ```
//! use hyperstack_sdk::store::{Change, ViewStore};
//! use serde_json::json;
//!
//! let mut store = ViewStore::new();
//! store.begin_snapshot();
//! let changes = store.snapshot_batch(vec![("a".into(), json!({"n": 1}))], true, Some(1));
//! assert!(matches!(changes.as_deref(), Some([Change::Upsert { .. }])));
//! store.patch("a", json!({"n": 2}), &[], Some(2), false);
//! assert_eq!(store.get("a"), Some(&json!({"n": 2})));
//! ```

mod merge;
mod sort;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

pub use merge::{diff, has_path, merge_patch, SEQ_FIELD};
pub use sort::SortSpec;

/// One change of a view, as delivered to the streams sharing it.
#[derive(Debug, Clone)]
pub enum Change {
    /// An entity appeared (snapshot row, `upsert` frame, or a key new after reconciliation),
    /// or was replaced by a full `upsert`.
    Upsert {
        /// Entity key.
        key: String,
        /// The full entity.
        data: Arc<Value>,
        /// The entity before, when it was already held.
        before: Option<Arc<Value>>,
    },
    /// An entity changed.
    Patch {
        /// Entity key.
        key: String,
        /// The entity before the patch (`None` when the key was unknown or nobody asked for
        /// it, see [`ViewStore::patch`]).
        before: Option<Arc<Value>>,
        /// The merged entity.
        after: Arc<Value>,
        /// The patch as received (or the computed difference, after reconciliation).
        patch: Arc<Value>,
    },
    /// An entity was deleted or left the view.
    Delete {
        /// Entity key.
        key: String,
        /// The entity as last known, if it was held.
        last_known: Option<Arc<Value>>,
    },
}

impl Change {
    /// The entity key.
    pub fn key(&self) -> &str {
        match self {
            Change::Upsert { key, .. } | Change::Patch { key, .. } | Change::Delete { key, .. } => {
                key
            }
        }
    }
}

/// Snapshot rows received so far, waiting for the batch marked `complete`.
#[derive(Debug, Default)]
struct SnapshotBuffer {
    rows: Vec<(String, Value)>,
}

/// The merged entities of one subscribed view.
#[derive(Debug, Default)]
pub struct ViewStore {
    entities: HashMap<String, Arc<Value>>,
    seq: Option<u64>,
    snapshot: Option<SnapshotBuffer>,
    ready: bool,
}

impl ViewStore {
    /// An empty store, not ready.
    pub fn new() -> ViewStore {
        ViewStore::default()
    }

    /// Whether the first snapshot (or a resume) has completed: the store reflects the view.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Marks the store as reflecting the view without a snapshot (append views, resumes).
    pub fn set_ready(&mut self) {
        self.snapshot = None;
        self.ready = true;
    }

    /// The highest `seq` applied (the resume cursor).
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// Number of entities held.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether no entity is held.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// One entity.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entities.get(key).map(|v| &**v)
    }

    /// Every entity: by `sort` when given (the derived view's order), else by key.
    pub fn rows(&self, sort: Option<&SortSpec>) -> Vec<(String, Arc<Value>)> {
        let mut rows: Vec<(String, Arc<Value>)> = self
            .entities
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        match sort {
            Some(s) => rows.sort_by(|a, b| s.compare(&a.1, &b.1).then_with(|| a.0.cmp(&b.0))),
            None => rows.sort_by(|a, b| a.0.cmp(&b.0)),
        }
        rows
    }

    /// Starts buffering a snapshot (after `subscribed` with `resumed: false`). Entities held so
    /// far stay visible until the snapshot completes.
    pub fn begin_snapshot(&mut self) {
        self.snapshot = Some(SnapshotBuffer::default());
    }

    /// Whether a snapshot is being received.
    pub fn in_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Drops a partly received snapshot (the connection was lost in the middle of it).
    pub fn abort_snapshot(&mut self) {
        self.snapshot = None;
    }

    /// Adds a snapshot batch. On the `complete` batch the snapshot replaces the held entities
    /// and the changes are returned: every row as an [`Change::Upsert`] the first time;
    /// after that (a re-snapshot when resuming was not possible), only the differences —
    /// keys gone as deletes, changed entities as patches, new ones as upserts, unchanged ones
    /// nothing.
    pub fn snapshot_batch(
        &mut self,
        rows: Vec<(String, Value)>,
        complete: bool,
        seq: Option<u64>,
    ) -> Option<Vec<Change>> {
        let buffer = self.snapshot.get_or_insert_with(SnapshotBuffer::default);
        buffer.rows.extend(rows);
        if let Some(seq) = seq {
            self.seq = Some(seq);
        }
        if !complete {
            return None;
        }
        let rows = self.snapshot.take().map(|b| b.rows).unwrap_or_default();
        let reconcile = self.ready;
        self.ready = true;
        let mut old = std::mem::take(&mut self.entities);
        self.entities.reserve(rows.len());
        let mut changes = Vec::new();
        for (key, data) in rows {
            let data = Arc::new(data);
            match old.remove(&key) {
                Some(before) if reconcile => {
                    if let Some(patch) = diff(&before, &data) {
                        changes.push(Change::Patch {
                            key: key.clone(),
                            before: Some(before),
                            after: data.clone(),
                            patch: Arc::new(patch),
                        });
                    }
                }
                _ => changes.push(Change::Upsert {
                    key: key.clone(),
                    data: data.clone(),
                    before: None,
                }),
            }
            self.entities.insert(key, data);
        }
        let mut gone: Vec<(String, Arc<Value>)> = old.into_iter().collect();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        changes.extend(gone.into_iter().map(|(key, v)| Change::Delete {
            key,
            last_known: Some(v),
        }));
        Some(changes)
    }

    /// Whether a frame with this `seq` was already applied (replays are skipped).
    fn seen(&mut self, seq: Option<u64>) -> bool {
        match (seq, self.seq) {
            (Some(s), Some(cur)) if s <= cur => true,
            (Some(s), _) => {
                self.seq = Some(s);
                false
            }
            (None, _) => false,
        }
    }

    /// Applies an `upsert` (full entity). `None` when the frame was already applied.
    pub fn upsert(&mut self, key: &str, data: Value, seq: Option<u64>) -> Option<Change> {
        if self.seen(seq) {
            return None;
        }
        let data = Arc::new(data);
        let before = self.entities.insert(key.to_string(), data.clone());
        Some(Change::Upsert {
            key: key.to_string(),
            data,
            before,
        })
    }

    /// Merges a `patch` (see [`merge_patch`]). `keep_before` keeps a copy of the entity before
    /// the patch in the change (rich streams need it). `None` when already applied.
    pub fn patch(
        &mut self,
        key: &str,
        patch: Value,
        append: &[String],
        seq: Option<u64>,
        keep_before: bool,
    ) -> Option<Change> {
        if self.seen(seq) {
            return None;
        }
        let (before, after) = match self.entities.get_mut(key) {
            Some(entry) => {
                let before = keep_before.then(|| entry.clone());
                merge_patch(Arc::make_mut(entry), &patch, append);
                (before, entry.clone())
            }
            None => {
                let mut fresh = Value::Object(serde_json::Map::new());
                merge_patch(&mut fresh, &patch, append);
                let fresh = Arc::new(fresh);
                self.entities.insert(key.to_string(), fresh.clone());
                (None, fresh)
            }
        };
        Some(Change::Patch {
            key: key.to_string(),
            before,
            after,
            patch: Arc::new(patch),
        })
    }

    /// Applies a `delete`. `None` when already applied.
    pub fn delete(&mut self, key: &str, seq: Option<u64>) -> Option<Change> {
        if self.seen(seq) {
            return None;
        }
        let last_known = self.entities.remove(key);
        Some(Change::Delete {
            key: key.to_string(),
            last_known,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reconcile_emits_only_differences() {
        let mut s = ViewStore::new();
        s.begin_snapshot();
        s.snapshot_batch(
            vec![
                ("a".into(), json!({"n": 1})),
                ("b".into(), json!({"n": 1})),
                ("c".into(), json!({"n": 1})),
            ],
            true,
            Some(3),
        );
        s.begin_snapshot();
        let ch = s
            .snapshot_batch(
                vec![("a".into(), json!({"n": 1})), ("b".into(), json!({"n": 2}))],
                false,
                Some(1),
            )
            .is_none();
        assert!(ch, "buffered until complete");
        let ch = s
            .snapshot_batch(vec![("d".into(), json!({}))], true, Some(1))
            .unwrap();
        let kinds: Vec<(String, &str)> = ch
            .iter()
            .map(|c| {
                let kind = match c {
                    Change::Upsert { .. } => "upsert",
                    Change::Patch { .. } => "patch",
                    Change::Delete { .. } => "delete",
                };
                (c.key().to_string(), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("b".to_string(), "patch"),
                ("d".to_string(), "upsert"),
                ("c".to_string(), "delete")
            ]
        );
    }

    #[test]
    fn replayed_seq_is_skipped() {
        let mut s = ViewStore::new();
        assert!(s.upsert("a", json!({}), Some(5)).is_some());
        assert!(s.patch("a", json!({"x": 1}), &[], Some(5), false).is_none());
        assert!(s.delete("a", Some(4)).is_none());
        assert!(s.delete("a", Some(6)).is_some());
    }
}
