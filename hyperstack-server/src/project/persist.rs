//! What the projector keeps in the store besides entities: the epoch, each view's sequence
//! number and list window, the resume logs; and building a derived view's order once, when a
//! store has entities but not that order yet (a store written before orders were stored).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::log::ResumeLog;
use super::window::ListWindow;
use super::{Kind, Projector};
use crate::store::{codec, entity_key_of, entity_prefix, Store, StoreError};

const EPOCH_KEY: &[u8] = b"epoch";

/// The version of a derived view's stored order, recorded (in `meta`) once it is complete.
const ORDER_FORMAT: u32 = 1;

/// Entities indexed per commit while a derived view's order is built.
const BUILD_BATCH: usize = 10_000;

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

fn order_key(name: &str) -> Vec<u8> {
    format!("order/{name}").into_bytes()
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

/// Restores sequence numbers, list windows, resume logs and the heads of derived views
/// (building a derived view's stored order first if the store does not have it).
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
        view.log = ResumeLog::load(p.cache.resume_log_size, index, &store.log)?;
    }
    build_missing_orders(p)?;
    for view in &mut p.views {
        if let Kind::Derived(d) = &mut view.kind {
            d.load()?;
        }
    }
    Ok(())
}

/// Builds the stored order of every derived view that has none yet from the stored
/// entities, committing every [`BUILD_BATCH`] entities, and records it complete.
fn build_missing_orders(p: &mut Projector) -> Result<(), StoreError> {
    let store = p.store.clone();
    let entities: Vec<(u16, Vec<usize>)> = p
        .entities
        .iter()
        .map(|e| (e.index, e.views.clone()))
        .collect();
    for (index, views) in entities {
        let mut missing = Vec::new();
        for &view in &views {
            if let Kind::Derived(d) = &p.views[view].kind {
                if store.meta(&order_key(&p.infos[view].full_name))?.is_none() {
                    missing.push(view);
                    clear(&store, d.order_prefix())?;
                }
            }
        }
        if missing.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let mut count = 0usize;
        for item in store.entities.prefix(entity_prefix(index)) {
            let (k, v) = item.into_inner()?;
            let Some(key) = entity_key_of(&k) else {
                continue;
            };
            let key: Arc<str> = Arc::from(key);
            let obj = codec::parse_entity(&v)?;
            for &view in &missing {
                if let Kind::Derived(d) = &mut p.views[view].kind {
                    let order = d.order_of(&key, Some(&obj));
                    d.update(&key, None, order)?;
                }
            }
            count += 1;
            if count.is_multiple_of(BUILD_BATCH) {
                commit_orders(p, &missing, false)?;
            }
        }
        commit_orders(p, &missing, true)?;
        tracing::info!(
            entity = %p.infos[missing[0]].entity,
            entities = count,
            views = missing.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "built the stored order of derived views"
        );
    }
    Ok(())
}

/// Commits what the derived views `views` changed, marking their order complete when `done`.
fn commit_orders(p: &mut Projector, views: &[usize], done: bool) -> Result<(), StoreError> {
    let mut batch = p.store.batch();
    for &view in views {
        if let Kind::Derived(d) = &mut p.views[view].kind {
            d.write_into(&mut batch);
        }
        if done {
            batch.insert(
                &p.store.meta,
                order_key(&p.infos[view].full_name),
                codec::meta(&ORDER_FORMAT),
            );
        }
    }
    p.store.commit(batch)
}

/// Removes every record under this prefix of the `derived` keyspace (what an interrupted
/// build left).
fn clear(store: &Store, prefix: &[u8]) -> Result<(), StoreError> {
    let mut batch = store.batch();
    for item in store.derived.prefix(prefix) {
        batch.remove(&store.derived, item.key()?.to_vec());
    }
    store.commit(batch)
}

/// Writes the resume-log entries, sequence numbers and list windows changed since the last
/// commit.
pub(super) fn write_views(p: &mut Projector, batch: &mut fjall::OwnedWriteBatch) {
    for (id, view) in p.views.iter_mut().enumerate() {
        let index = u16::try_from(id).unwrap_or(u16::MAX);
        view.log.write_into(index, &p.store.log, batch);
        if let Kind::Derived(d) = &mut view.kind {
            d.write_into(batch);
        }
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
