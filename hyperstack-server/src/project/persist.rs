//! What the projector keeps in the store besides entities: the epoch, each view's sequence
//! number and list window, the resume logs; and rebuilding derived views on start.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::log::{LogFrame, ResumeLog};
use super::window::ListWindow;
use super::{Kind, Projector};
use crate::store::{codec, entity_key_of, entity_prefix, log_seq_of, Store, StoreError};

const EPOCH_KEY: &[u8] = b"epoch";

#[derive(Serialize, Deserialize)]
struct ViewRecord {
    seq: u64,
    /// List views: the window, least recently updated first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    window: Vec<String>,
}

fn view_key(name: &str) -> Vec<u8> {
    format!("view/{name}").into_bytes()
}

/// The store's epoch, created (and committed) with the store.
pub(super) fn load_or_create_epoch(store: &Store) -> Result<String, StoreError> {
    if let Some(bytes) = store.meta(EPOCH_KEY)? {
        return codec::parse_meta("epoch", &bytes);
    }
    let epoch = new_epoch();
    let mut batch = store.batch();
    batch.insert(&store.meta, EPOCH_KEY.to_vec(), codec::meta(&epoch));
    store.commit(batch)?;
    Ok(epoch)
}

/// A value unique to this store (creation time and process id), so cursors of another data
/// directory are never mistaken for this one's.
fn new_epoch() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}", nanos, std::process::id())
}

/// Restores sequence numbers, list windows and resume logs, and rebuilds derived views from
/// every stored entity.
pub(super) fn restore(p: &mut Projector) -> Result<(), StoreError> {
    let store = p.store.clone();
    for (id, view) in p.views.iter_mut().enumerate() {
        let name = &p.infos[id].full_name;
        if let Some(bytes) = store.meta(&view_key(name))? {
            let record: ViewRecord = codec::parse_meta("view", &bytes)?;
            view.seq = record.seq;
            view.written_seq = record.seq;
            if let Kind::List(w) = &mut view.kind {
                *w = ListWindow::restore(
                    p.cache.max_entities_per_view,
                    record.window.into_iter().map(Arc::from),
                );
            }
        }
        let index = u16::try_from(id).unwrap_or(u16::MAX);
        let mut entries = Vec::new();
        for item in store.log.prefix(index.to_be_bytes()) {
            let (k, v) = item.into_inner()?;
            let seq = log_seq_of(&k).ok_or_else(|| StoreError::Corrupt {
                keyspace: "log",
                reason: "short key".into(),
            })?;
            let (key, full, delta) = codec::parse_log_entry(&v)?;
            let frame = LogFrame {
                key,
                full: Arc::new(full),
                delta: delta.map(Arc::new),
            };
            entries.push((seq, frame));
        }
        view.log = ResumeLog::restore(p.cache.resume_log_size, entries);
    }
    for entity in &p.entities {
        let derived: Vec<usize> = entity
            .views
            .iter()
            .copied()
            .filter(|&v| matches!(p.views[v].kind, Kind::Derived(_)))
            .collect();
        if derived.is_empty() {
            continue;
        }
        for item in store.entities.prefix(entity_prefix(entity.index)) {
            let (k, v) = item.into_inner()?;
            let Some(key) = entity_key_of(&k) else {
                continue;
            };
            let key: Arc<str> = Arc::from(key);
            let obj = codec::parse_entity(&v)?;
            for &view in &derived {
                if let Kind::Derived(d) = &mut p.views[view].kind {
                    d.update(&key, Some(&obj));
                }
            }
        }
    }
    Ok(())
}

/// Writes the resume-log entries, sequence numbers and list windows changed since the last
/// commit.
pub(super) fn write_views(p: &mut Projector, batch: &mut fjall::OwnedWriteBatch) {
    for (id, view) in p.views.iter_mut().enumerate() {
        let index = u16::try_from(id).unwrap_or(u16::MAX);
        view.log.write_into(index, &p.store.log, batch);
        let window_changed = match &mut view.kind {
            Kind::List(w) => w.take_changed(),
            _ => false,
        };
        if view.seq == view.written_seq && !window_changed {
            continue;
        }
        let window = match &view.kind {
            Kind::List(w) => w.by_recency().iter().map(|k| k.to_string()).collect(),
            _ => Vec::new(),
        };
        let record = ViewRecord {
            seq: view.seq,
            window,
        };
        batch.insert(
            &p.store.meta,
            view_key(&p.infos[id].full_name),
            codec::meta(&record),
        );
        view.written_seq = view.seq;
    }
}
