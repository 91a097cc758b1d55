//! The merged copy of one subscribed view: entities as JSON, snapshot batches buffered until
//! `complete`, patches merged (with the view's append caps), deletes applied, reconciliation
//! after a full re-snapshot, and the resume cursor (`seq` and epoch).
//!
//! The cursor always describes what the held entities reflect: a snapshot's `seq` and epoch
//! are committed only when its last batch arrives, and a `subscribed` answer that does not
//! resume (`resumed: false`, or another epoch: a restarted server) clears it, so a connection
//! lost in the middle of a snapshot asks for a full snapshot again rather than resuming past
//! frames that were never applied, and an append view delivers every frame of a new server run.
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
//! assert_eq!(store.resume_cursor(), Some((2, None)));
//! ```

mod merge;
mod sort;

use std::collections::HashMap;
use std::sync::Arc;

use hyperstack_spec::wire::AppendCaps;
use serde_json::Value;

pub use merge::{announced_caps, diff, has_path, merge_patch, SEQ_FIELD};
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

/// Snapshot rows received so far, waiting for the batch marked `complete`, with the cursor
/// the snapshot brings (committed with it).
#[derive(Debug)]
struct SnapshotBuffer {
    rows: Vec<(String, Value)>,
    seq: Option<u64>,
    epoch: Option<String>,
}

impl SnapshotBuffer {
    fn new(epoch: Option<String>) -> SnapshotBuffer {
        SnapshotBuffer {
            rows: Vec::new(),
            seq: None,
            epoch,
        }
    }
}

/// The merged entities of one subscribed view.
#[derive(Debug, Default)]
pub struct ViewStore {
    entities: HashMap<String, Arc<Value>>,
    /// The `seq` of the last frame the entities reflect (the resume cursor).
    seq: Option<u64>,
    /// The server run `seq` belongs to.
    epoch: Option<String>,
    snapshot: Option<SnapshotBuffer>,
    ready: bool,
    caps: AppendCaps,
    /// An append view: every change is an upsert of the whole entity, whether the server
    /// sent it whole or as a delta.
    append_mode: bool,
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

    /// The highest `seq` the entities reflect (the resume cursor; a snapshot being received
    /// does not count until it completes).
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// The server run (epoch) the cursor belongs to.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// Where to resume after a lost connection (`after` and `epoch` of the next subscribe):
    /// only when the store is complete and has a cursor.
    pub fn resume_cursor(&self) -> Option<(u64, Option<&str>)> {
        match (self.ready, &self.snapshot, self.seq) {
            (true, None, Some(seq)) => Some((seq, self.epoch.as_deref())),
            _ => None,
        }
    }

    /// Applies the server's `subscribed` answer. A resume of the same server run keeps the
    /// cursor; anything else clears it (the server will not replay the frames it covered, or
    /// the server restarted and counts `seq` anew). Then the store is ready at once for a
    /// resume or an append view (no snapshot), or buffers the snapshot that follows, whose
    /// `seq` and `epoch` are committed when it completes.
    pub fn subscribed(&mut self, epoch: Option<String>, resumed: bool, append_mode: bool) {
        self.append_mode = append_mode;
        if !resumed || epoch != self.epoch {
            self.seq = None;
        }
        if resumed || append_mode {
            self.epoch = epoch;
            self.set_ready();
        } else {
            self.snapshot = Some(SnapshotBuffer::new(epoch));
        }
    }

    /// The caps of append paths used by [`ViewStore::patch`] (announced by the server in
    /// `subscribed`; [`AppendCaps::default`] until then).
    pub fn set_append_caps(&mut self, caps: AppendCaps) {
        self.caps = caps;
    }

    /// The caps of append paths.
    pub fn append_caps(&self) -> &AppendCaps {
        &self.caps
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
            Some(s) => rows.sort_by(|a, b| s.compare_rows((&a.0, &a.1), (&b.0, &b.1))),
            None => rows.sort_by(|a, b| a.0.cmp(&b.0)),
        }
        rows
    }

    /// Starts buffering a snapshot ([`ViewStore::subscribed`] does, for `resumed: false`).
    /// Entities held so far, and the cursor, stay as they are until the snapshot completes.
    pub fn begin_snapshot(&mut self) {
        self.snapshot = Some(SnapshotBuffer::new(self.epoch.clone()));
    }

    /// Whether a snapshot is being received.
    pub fn in_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Drops a partly received snapshot (the connection was lost in the middle of it); the
    /// cursor is left as it was before the snapshot.
    pub fn abort_snapshot(&mut self) {
        self.snapshot = None;
    }

    /// Adds a snapshot batch. On the `complete` batch the snapshot replaces the held entities,
    /// its `seq` (the last batch's that has one) and epoch become the cursor, and the changes
    /// are returned: every row as an [`Change::Upsert`] the first time; after that (a
    /// re-snapshot when resuming was not possible), only the differences — keys gone as
    /// deletes, changed entities as patches, new ones as upserts, unchanged ones nothing.
    pub fn snapshot_batch(
        &mut self,
        rows: Vec<(String, Value)>,
        complete: bool,
        seq: Option<u64>,
    ) -> Option<Vec<Change>> {
        let epoch = &self.epoch;
        let buffer = self
            .snapshot
            .get_or_insert_with(|| SnapshotBuffer::new(epoch.clone()));
        buffer.rows.extend(rows);
        if seq.is_some() {
            buffer.seq = seq;
        }
        if !complete {
            return None;
        }
        let buffer = self.snapshot.take()?;
        self.seq = buffer.seq;
        self.epoch = buffer.epoch;
        let rows = buffer.rows;
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

    /// Whether a frame with this `seq` was already applied (replays are skipped); otherwise
    /// it becomes the cursor (not while a snapshot is buffered: its completion sets it).
    fn seen(&mut self, seq: Option<u64>) -> bool {
        match (seq, self.seq) {
            (Some(s), Some(cur)) if s <= cur => true,
            (Some(s), _) if self.snapshot.is_none() => {
                self.seq = Some(s);
                false
            }
            _ => false,
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

    /// Merges a `patch` (see [`merge_patch`]; append paths keep the store's
    /// [`ViewStore::append_caps`]). `keep_before` keeps a copy of the entity before the patch in
    /// the change (rich streams need it). `None` when already applied.
    ///
    /// In an append view (`subscribed` said `mode: append`) a patch is the delta of a full
    /// upsert: the change is the [`Change::Upsert`] of the merged entity that the full frame
    /// would have made, with the entity before it, so streams see the same either way.
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
        if self.append_mode {
            let before = self.entities.get(key).cloned();
            let mut data = before
                .as_deref()
                .cloned()
                .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
            merge_patch(&mut data, &patch, append, &self.caps);
            let data = Arc::new(data);
            self.entities.insert(key.to_string(), data.clone());
            return Some(Change::Upsert {
                key: key.to_string(),
                data,
                before,
            });
        }
        let (before, after) = match self.entities.get_mut(key) {
            Some(entry) => {
                let before = keep_before.then(|| entry.clone());
                merge_patch(Arc::make_mut(entry), &patch, append, &self.caps);
                (before, entry.clone())
            }
            None => {
                let mut fresh = Value::Object(serde_json::Map::new());
                merge_patch(&mut fresh, &patch, append, &self.caps);
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
    fn the_cursor_is_committed_only_with_its_snapshot() {
        let mut s = ViewStore::new();
        s.subscribed(Some("e1".into()), false, false);
        assert_eq!(s.resume_cursor(), None, "nothing applied yet");
        s.snapshot_batch(vec![("a".into(), json!({"n": 1}))], false, Some(10));
        assert_eq!((s.seq(), s.resume_cursor()), (None, None));
        s.snapshot_batch(vec![("b".into(), json!({"n": 1}))], true, Some(10));
        assert_eq!(s.resume_cursor(), Some((10, Some("e1"))));
        assert!(s
            .patch("a", json!({"n": 2}), &[], Some(11), false)
            .is_some());
        assert_eq!(s.resume_cursor(), Some((11, Some("e1"))));

        // A re-snapshot of the same run (the log no longer covered the cursor), cut short:
        // the store holds what frame 11 left, so it must not resume after the new snapshot's
        // seq, nor after 11 (the server said it cannot replay from there).
        s.subscribed(Some("e1".into()), false, false);
        s.snapshot_batch(vec![("a".into(), json!({"n": 3}))], false, Some(50));
        s.abort_snapshot();
        assert_eq!((s.seq(), s.resume_cursor()), (None, None));
        assert_eq!(s.get("a"), Some(&json!({"n": 2})), "old rows stay visible");

        // The next snapshot completes: its cursor and epoch are committed.
        s.subscribed(Some("e2".into()), false, false);
        let changes = s
            .snapshot_batch(vec![("a".into(), json!({"n": 3}))], true, Some(52))
            .expect("complete");
        assert_eq!(changes.len(), 2, "a patched, b deleted");
        assert_eq!(s.resume_cursor(), Some((52, Some("e2"))));

        // A snapshot begun by hand and aborted leaves the cursor as it was.
        s.begin_snapshot();
        s.snapshot_batch(vec![], false, Some(70));
        assert_eq!(s.resume_cursor(), None, "not while a snapshot is buffered");
        s.abort_snapshot();
        assert_eq!(s.resume_cursor(), Some((52, Some("e2"))));
    }

    #[test]
    fn a_resume_keeps_the_cursor_a_new_epoch_clears_it() {
        let mut s = ViewStore::new();
        s.subscribed(Some("e1".into()), false, true);
        assert!(s.is_ready(), "append views have no snapshot");
        for seq in 1..=30 {
            assert!(s.upsert("k", json!({ "n": seq }), Some(seq)).is_some());
        }
        s.subscribed(Some("e1".into()), true, true);
        assert!(
            s.upsert("k", json!({}), Some(30)).is_none(),
            "replay skipped"
        );
        assert_eq!(s.resume_cursor(), Some((30, Some("e1"))));
        // The server restarted: its counter starts again, every frame is new.
        s.subscribed(Some("e2".into()), false, true);
        assert_eq!(s.resume_cursor(), None);
        for seq in 1..=3 {
            assert!(s.upsert("k", json!({ "n": seq }), Some(seq)).is_some());
        }
        assert_eq!(s.resume_cursor(), Some((3, Some("e2"))));
        // `resumed` with another epoch than the cursor's (never sent by a correct server)
        // is not trusted either.
        s.subscribed(Some("e3".into()), true, true);
        assert_eq!(s.seq(), None);
    }

    #[test]
    fn patches_keep_the_announced_caps() {
        let mut s = ViewStore::new();
        s.set_append_caps(AppendCaps::new(3).with_path("t", 2));
        let append = ["t".to_string(), "u".to_string()];
        for i in 0..10 {
            s.patch("k", json!({"t": [i], "u": [i]}), &append, None, false);
        }
        assert_eq!(s.get("k"), Some(&json!({"t": [8, 9], "u": [7, 8, 9]})));
    }

    #[test]
    fn append_deltas_merge_into_the_same_upserts_as_full_frames() {
        let caps = AppendCaps::new(100).with_path("t", 3);
        let (mut full, mut delta) = (ViewStore::new(), ViewStore::new());
        for s in [&mut full, &mut delta] {
            s.subscribed(Some("e".into()), false, true);
            s.set_append_caps(caps.clone());
        }
        let append = ["t".to_string()];
        // What the server holds, and sends whole to one store and as a delta to the other.
        let mut server = json!({});
        for i in 0..8u64 {
            let patch = if i == 5 {
                json!({"t": null, "n": i})
            } else {
                json!({"t": [{"i": i}], "n": i, "o": {"x": i}})
            };
            merge_patch(&mut server, &patch, &append, &caps);
            let seq = Some(i + 1);
            let a = full.upsert("k", server.clone(), seq).expect("new seq");
            let b = if i == 0 {
                delta.upsert("k", server.clone(), seq)
            } else {
                delta.patch("k", patch, &append, seq, false)
            }
            .expect("new seq");
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "frame {i}");
            assert!(matches!(b, Change::Upsert { .. }), "an upsert either way");
        }
        assert_eq!(full.get("k"), delta.get("k"));
        assert_eq!(
            delta.get("k"),
            Some(&json!({"t": [{"i": 6}, {"i": 7}], "n": 7, "o": {"x": 7}}))
        );
        // Outside append views a patch stays a patch.
        let mut list = ViewStore::new();
        list.subscribed(None, false, false);
        list.patch("k", json!({"n": 1}), &[], None, false);
        assert!(matches!(
            list.patch("k", json!({"n": 2}), &[], None, false),
            Some(Change::Patch { .. })
        ));
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
