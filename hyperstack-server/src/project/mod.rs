//! Projection: mutations → per-view frames, entity caches, snapshots, resume logs.
//!
//! The [`Projector`] is synchronous and owned by one task. For every [`Mutation`] it merges
//! the change into the entity's store and returns the frames each view of the entity
//! publishes, each encoded once ([`EncodedFrame`]) and shared by every client:
//!
//! * **state / list** views: the first time a key is held, `upsert` with the full entity;
//!   afterwards `patch` with the changed fields only (none when only `emit = false` fields
//!   changed); a delete mutation → `delete`. Evicted entities leave silently.
//! * **append** view: `upsert` with the full merged entity on every change (no snapshot).
//! * **derived** views (filter → sort → limit): `upsert` when an entity enters the window,
//!   `delete` when it leaves (also on eviction), `patch` when a member changes.
//!
//! Each frame takes the next sequence number of its view and is kept in the view's bounded
//! resume log.

mod apply;
mod derived;
mod frame;
mod log;
mod store;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use apply::Publisher;

pub use frame::{EncodedFrame, FrameDecodeError, GZIP_THRESHOLD};
pub use hyperstack_spec::SortOrder;

use hyperstack_spec::wire::AppendCaps;
use hyperstack_spec::{Stack, ViewKind};

use crate::config::{EntityCacheConfig, StateTableConfig};
use crate::mutation::Mutation;
use derived::Derived;
use frame::{Emitted, SnapshotRow, SortJson, SubscribedFrame};
use log::ResumeLog;
use store::EntityStore;

/// Index of a view in [`Projector::views`].
pub type ViewId = usize;

/// What clients need to know about a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewInfo {
    /// Its index.
    pub id: ViewId,
    /// Full name clients subscribe to (`Token/trending`).
    pub full_name: String,
    /// Entity type name (`Token`).
    pub entity: String,
    /// Wire mode: `state`, `list` (derived views too) or `append`.
    pub mode: &'static str,
    /// Sort field (path segments) and order of a sorted derived view.
    pub sort: Option<(Vec<String>, SortOrder)>,
    /// Whether subscriptions name one entity by key (state views).
    pub keyed: bool,
}

/// A frame published by [`Projector::apply`].
#[derive(Debug, Clone)]
pub struct Published {
    /// The view it belongs to.
    pub view: ViewId,
    /// The entity it is about.
    pub key: Arc<str>,
    /// Its sequence number in the view.
    pub seq: u64,
    /// The encoded frame.
    pub frame: Arc<EncodedFrame>,
}

/// Why a mutation was rejected (the projector is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// The mutation names an entity type the stack does not have.
    #[error("unknown entity `{0}`")]
    UnknownEntity(String),
}

enum Kind {
    State,
    List,
    Append,
    Derived(Box<Derived>),
}

struct ViewState {
    kind: Kind,
    seq: u64,
    log: ResumeLog,
    subscribed: [Arc<EncodedFrame>; 2],
}

struct EntityState {
    store: EntityStore,
    hidden: HashSet<String>,
    views: Vec<ViewId>,
    /// How many items each append path keeps (announced in `subscribed` frames).
    caps: AppendCaps,
}

/// Turns mutations into frames per view and serves snapshots and resumes.
pub struct Projector {
    infos: Vec<ViewInfo>,
    views: Vec<ViewState>,
    entities: Vec<EntityState>,
    entity_index: HashMap<String, usize>,
    by_name: HashMap<String, ViewId>,
    cache: EntityCacheConfig,
    epoch: String,
    /// The last snapshot served, reused while no mutation was applied (clients subscribing
    /// together share one encoding).
    last_snapshot: RefCell<Option<(SnapshotRequest, Vec<Arc<EncodedFrame>>)>>,
}

/// What a snapshot was asked for: view, key, skip, take.
type SnapshotRequest = (ViewId, Option<String>, usize, Option<usize>);

impl Projector {
    /// A projector for every view of `stack`; entity stores hold
    /// `cache.max_entities_per_view` entities; appended arrays keep their field's `cap`, at most
    /// `table.max_array_length` items (also the cap of append paths the spec does not declare).
    pub fn new(stack: &Stack, cache: EntityCacheConfig, table: StateTableConfig) -> Projector {
        let mut p = Projector {
            infos: Vec::new(),
            views: Vec::new(),
            entities: Vec::new(),
            entity_index: HashMap::new(),
            by_name: HashMap::new(),
            cache,
            epoch: new_epoch(),
            last_snapshot: RefCell::new(None),
        };
        for entity in &stack.entities {
            let hidden: HashSet<String> = entity
                .fields
                .iter()
                .filter(|f| !f.emit)
                .map(|f| f.name.clone())
                .collect();
            let caps = AppendCaps::for_entity(entity, table.max_array_length);
            let mut announced = caps.clone();
            announced.retain_fields(|field| !hidden.contains(field));
            let mut views = Vec::new();
            for view in &entity.views {
                let id = p.infos.len();
                let (kind, mode) = match &view.kind {
                    ViewKind::State => (Kind::State, "state"),
                    ViewKind::List => (Kind::List, "list"),
                    ViewKind::Append => (Kind::Append, "append"),
                    ViewKind::Derived(d) => {
                        (Kind::Derived(Box::new(Derived::new(entity, d))), "list")
                    }
                };
                let sort = match &kind {
                    Kind::Derived(d) => d.sort().cloned(),
                    _ => None,
                };
                let info = ViewInfo {
                    id,
                    full_name: view.full_name.clone(),
                    entity: entity.name.clone(),
                    mode,
                    sort,
                    keyed: matches!(kind, Kind::State),
                };
                let subscribed = [false, true].map(|resumed| {
                    Arc::new(subscribed_frame(&info, resumed, &p.epoch, &announced))
                });
                p.by_name.insert(info.full_name.clone(), id);
                p.infos.push(info);
                p.views.push(ViewState {
                    kind,
                    seq: 0,
                    log: ResumeLog::new(cache.resume_log_size),
                    subscribed,
                });
                views.push(id);
            }
            p.entity_index.insert(entity.name.clone(), p.entities.len());
            p.entities.push(EntityState {
                store: EntityStore::new(cache.max_entities_per_view),
                hidden,
                views,
                caps,
            });
        }
        p
    }

    /// Every view, indexed by [`ViewId`].
    pub fn views(&self) -> &[ViewInfo] {
        &self.infos
    }

    /// The view with this full name (`Token/list`).
    pub fn view_id(&self, full_name: &str) -> Option<ViewId> {
        self.by_name.get(full_name).copied()
    }

    /// The latest sequence number of a view (0 before its first frame or for an unknown id).
    pub fn current_seq(&self, view: ViewId) -> u64 {
        self.views.get(view).map_or(0, |v| v.seq)
    }

    /// Entities of this type currently held.
    pub fn entity_count(&self, entity: &str) -> usize {
        self.entity_index
            .get(entity)
            .map_or(0, |&i| self.entities[i].store.len())
    }

    /// The `subscribed` frame of a view (an unknown id yields one with an empty view name).
    pub fn subscribed_frame(&self, view: ViewId, resumed: bool) -> Arc<EncodedFrame> {
        match self.views.get(view) {
            Some(v) => v.subscribed[usize::from(resumed)].clone(),
            None => Arc::new(EncodedFrame::encode(&SubscribedFrame {
                op: "subscribed",
                view: "",
                mode: "",
                sort: None,
                resumed,
                epoch: &self.epoch,
                append_caps: None,
                append_default_cap: None,
            })),
        }
    }

    /// This run's epoch, sent in `subscribed` frames: a client resuming with a cursor of
    /// another epoch (a restarted server) gets a full snapshot instead of a replay.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Applies a mutation; returns the frames published, in order (frames of an entity leaving
    /// a view before those of one entering it). Unknown entity types are rejected unchanged.
    pub fn apply(&mut self, m: &Mutation) -> Result<Vec<Published>, ProjectError> {
        let &ei = self
            .entity_index
            .get(&*m.entity)
            .ok_or_else(|| ProjectError::UnknownEntity(m.entity.to_string()))?;
        let Projector {
            infos,
            views,
            entities,
            ..
        } = self;
        self.last_snapshot.get_mut().take();
        let mut out = Publisher::new(infos, views);
        apply::apply_change(&mut entities[ei], &mut out, m);
        Ok(out.into_frames())
    }

    /// Snapshot frames of a view: state views only the row of `key` (every row when `None`),
    /// list and derived views their rows in view order (key order for lists; `key` ignored),
    /// append views nothing. Rows `skip..skip + take` are sent in batches of
    /// `initial_snapshot_batch_size`, then `subsequent_snapshot_batch_size`; the last batch
    /// says `complete: true`, and an empty result is still one frame. `seq` is the view's
    /// current sequence number.
    ///
    /// Until the next [`Projector::apply`], the same request returns the same (shared) frames
    /// without encoding them again.
    pub fn snapshot(
        &self,
        view: ViewId,
        key: Option<&str>,
        skip: usize,
        take: Option<usize>,
    ) -> Vec<Arc<EncodedFrame>> {
        let request = (view, key.map(str::to_string), skip, take);
        if let Some((last, frames)) = &*self.last_snapshot.borrow() {
            if *last == request {
                return frames.clone();
            }
        }
        let frames = self.encode_snapshot(view, key, skip, take);
        *self.last_snapshot.borrow_mut() = Some((request, frames.clone()));
        frames
    }

    fn encode_snapshot(
        &self,
        view: ViewId,
        key: Option<&str>,
        skip: usize,
        take: Option<usize>,
    ) -> Vec<Arc<EncodedFrame>> {
        let (Some(state), Some(info)) = (self.views.get(view), self.infos.get(view)) else {
            return Vec::new();
        };
        let Some(entity) = self
            .entity_index
            .get(&info.entity)
            .map(|&i| &self.entities[i])
        else {
            return Vec::new();
        };
        let store = &entity.store;
        let keys: Box<dyn Iterator<Item = &Arc<str>>> = match (&state.kind, key) {
            (Kind::Append, _) => return Vec::new(),
            (Kind::State, Some(key)) => Box::new(store.keys().filter(move |k| &***k == key)),
            (Kind::State | Kind::List, _) => Box::new(store.keys()),
            (Kind::Derived(d), _) => Box::new(d.members()),
        };
        let rows: Vec<SnapshotRow<'_>> = keys
            .skip(skip)
            .take(take.unwrap_or(usize::MAX))
            .filter_map(|k| {
                Some(SnapshotRow {
                    key: k,
                    data: Emitted {
                        obj: store.get(k)?,
                        hidden: &entity.hidden,
                        seq: None,
                    },
                })
            })
            .collect();
        frame::snapshot_frames(
            info.mode,
            &info.full_name,
            state.seq,
            rows,
            self.cache.initial_snapshot_batch_size,
            self.cache.subsequent_snapshot_batch_size,
        )
    }

    /// The frames of a view after sequence number `after` (only those of `key` for a state
    /// view when given). `None` when the log no longer holds them all or `after` is ahead of
    /// the view: the client needs a snapshot.
    pub fn resume(
        &self,
        view: ViewId,
        key: Option<&str>,
        after: u64,
    ) -> Option<Vec<Arc<EncodedFrame>>> {
        let state = self.views.get(view)?;
        let key = if matches!(state.kind, Kind::State) {
            key
        } else {
            None
        };
        state.log.after(after, state.seq, key)
    }
}

fn subscribed_frame(
    info: &ViewInfo,
    resumed: bool,
    epoch: &str,
    caps: &AppendCaps,
) -> EncodedFrame {
    EncodedFrame::encode(&SubscribedFrame {
        op: "subscribed",
        view: &info.full_name,
        mode: info.mode,
        sort: info.sort.as_ref().map(|(field, order)| SortJson {
            field,
            order: *order,
        }),
        resumed,
        epoch,
        append_caps: Some(caps.paths()),
        append_default_cap: Some(caps.default_cap()),
    })
}

/// A value unique to this projector's run (start time and process id), so cursors of an
/// earlier run are never mistaken for this one's.
fn new_epoch() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}", nanos, std::process::id())
}
