//! Projection: mutations → per-view frames, snapshots and resumes, over the durable store.
//!
//! The [`Projector`] is synchronous and owned by the engine. For every [`Mutation`] it merges
//! the change into the entity as clients see it (kept in the state store, a bounded hot set
//! in memory) and returns the frames each view of the entity publishes, each encoded once
//! ([`EncodedFrame`]) and shared by every client:
//!
//! * **state** view: any entity in the store, by key. The first change of a key → `upsert`
//!   with the full entity; later ones → `patch` with the changed fields only (none when only
//!   `emit = false` fields changed); a delete mutation → `delete`.
//! * **list** view: the window of the `max_entities_per_view` most recently updated entities.
//!   An entity entering it → `upsert` with the complete entity; a change inside it → `patch`;
//!   the least recently updated one pushed out → `delete` (it stays in the store and in the
//!   state view, and comes back whole when it is updated again).
//! * **append** view: `upsert` with the full merged entity on every change (no snapshot);
//!   a change of an entity that existed is also encoded as a `patch` with the changed fields
//!   and appended items under the same `seq` ([`Published::delta`]), for clients that asked
//!   for deltas (the bus picks one encoding per client; the resume log keeps both).
//! * **derived** views (filter → sort → limit): `upsert` when an entity enters the window,
//!   `delete` when it leaves, `patch` when a member changes. Their order covers every entity
//!   of the store, whatever is in memory.
//!
//! Each frame takes the next sequence number of its view and is kept in the view's bounded
//! resume log. Sequence numbers, the epoch, list windows and logs are durable: a restarted
//! server continues them, so clients resume across restarts.

mod apply;
mod derived;
mod frame;
mod log;
mod persist;
mod snapshot;
mod store;
mod window;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use apply::Publisher;

pub use frame::{EncodedFrame, FrameDecodeError, GZIP_THRESHOLD};
pub use hyperstack_spec::SortOrder;
use snapshot::Rows;
pub use snapshot::SnapshotError;
pub(crate) use snapshot::SnapshotJob;

use hyperstack_spec::wire::AppendCaps;
use hyperstack_spec::{Stack, ViewKind};
use serde_json::{Map, Value};

use crate::config::{EntityCacheConfig, StateTableConfig};
use crate::mutation::Mutation;
use crate::store::hot::{HotStats, HotTable, Record};
use crate::store::{DataLocation, Identity, Store, StoreConfig, StoreError};
use derived::Derived;
use frame::{SortJson, SubscribedFrame};
pub(crate) use log::LogFrame;
use log::ResumeLog;
use window::ListWindow;

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
    /// Append views: the same change as a `patch` (changed fields, appended items at their
    /// append paths) under the same `seq`, for clients that asked for deltas and already
    /// hold the entity. `None` for other views and for an entity's first frame.
    pub delta: Option<Arc<EncodedFrame>>,
}

/// Why a mutation was rejected (the projector is unchanged).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// The mutation names an entity type the stack does not have.
    #[error("unknown entity `{0}`")]
    UnknownEntity(String),
    /// The state store failed (reading an entity that is not in memory).
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Kind {
    State,
    List(ListWindow),
    Append,
    Derived(Box<Derived>),
}

struct ViewState {
    kind: Kind,
    seq: u64,
    /// `seq` as last written to the store.
    written_seq: u64,
    log: ResumeLog,
    subscribed: [Arc<EncodedFrame>; 2],
}

/// An entity as clients see it, as the store keeps it.
pub(crate) struct EntityJson(pub Map<String, Value>);

impl Record for EntityJson {
    const KEYSPACE: &'static str = "entities";

    fn encode(&self) -> Vec<u8> {
        crate::store::codec::entity(&self.0)
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        crate::store::codec::parse_entity(bytes).map(EntityJson)
    }
}

struct EntityState {
    /// Index of the entity type in the store's keys.
    index: u16,
    store: HotTable<EntityJson>,
    hidden: Arc<HashSet<String>>,
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
    store: Store,
    stats: Arc<HotStats>,
}

impl Projector {
    /// A projector for every view of `stack` over a temporary store of its own (complete,
    /// not durable): list windows hold `cache.max_entities_per_view` entities, appended
    /// arrays `table.max_array_length` items.
    ///
    /// # Panics
    ///
    /// When no temporary directory can be created for the store (use [`Projector::open`] to
    /// handle that as an error).
    pub fn new(stack: &Stack, cache: EntityCacheConfig, table: StateTableConfig) -> Projector {
        let config = StoreConfig {
            location: DataLocation::Temporary,
            ..StoreConfig::default()
        };
        let identity = Identity {
            stack_name: stack.name.clone(),
            fingerprint: String::from("temporary"),
        };
        #[allow(clippy::expect_used)]
        let (store, _) = Store::open(&config, &identity).expect("a temporary state store");
        #[allow(clippy::expect_used)]
        Projector::open(stack, cache, table, store, Arc::new(HotStats::default()))
            .expect("a new temporary store reads back")
    }

    /// A projector over `store`, continuing what it holds (epoch, sequence numbers, list
    /// windows, resume logs; derived views are rebuilt from the stored entities). The hot
    /// set of entities in memory is bounded by `table.max_entries` per entity type.
    pub(crate) fn open(
        stack: &Stack,
        cache: EntityCacheConfig,
        table: StateTableConfig,
        store: Store,
        stats: Arc<HotStats>,
    ) -> Result<Projector, StoreError> {
        let epoch = persist::load_or_create_epoch(&store)?;
        let mut p = Projector {
            infos: Vec::new(),
            views: Vec::new(),
            entities: Vec::new(),
            entity_index: HashMap::new(),
            by_name: HashMap::new(),
            cache,
            epoch,
            store: store.clone(),
            stats: stats.clone(),
        };
        for (ei, entity) in stack.entities.iter().enumerate() {
            let index = u16::try_from(ei).unwrap_or(u16::MAX);
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
                let info = info_of(id, entity, view);
                let kind = match &view.kind {
                    ViewKind::State => Kind::State,
                    ViewKind::List => Kind::List(ListWindow::new(cache.max_entities_per_view)),
                    ViewKind::Append => Kind::Append,
                    ViewKind::Derived(d) => Kind::Derived(Box::new(Derived::new(
                        entity,
                        d,
                        u16::try_from(id).unwrap_or(u16::MAX),
                        &store,
                    ))),
                };
                let subscribed = [false, true].map(|resumed| {
                    Arc::new(subscribed_frame(&info, resumed, &p.epoch, &announced))
                });
                p.by_name.insert(info.full_name.clone(), id);
                p.infos.push(info);
                p.views.push(ViewState {
                    kind,
                    seq: 0,
                    written_seq: 0,
                    log: ResumeLog::new(cache.resume_log_size),
                    subscribed,
                });
                views.push(id);
            }
            p.entity_index.insert(entity.name.clone(), p.entities.len());
            p.entities.push(EntityState {
                index,
                store: HotTable::new(store.entities.clone(), table.max_entries, stats.clone()),
                hidden: Arc::new(hidden),
                views,
                caps,
            });
        }
        persist::restore(&mut p)?;
        Ok(p)
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

    /// Entities of this type in memory now (the hot set; the store holds every one).
    pub fn entity_count(&self, entity: &str) -> usize {
        self.entity_index
            .get(entity)
            .map_or(0, |&i| self.entities[i].store.resident())
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

    /// This store's epoch, sent in `subscribed` frames. It is created with the data
    /// directory and survives restarts (sequence numbers continue), so a client's cursor
    /// stays valid; a new data directory is a new epoch, and its cursors are not resumed.
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
        let mut out = Publisher::new(infos, views);
        apply::apply_change(&mut entities[ei], &mut out, m)?;
        Ok(out.into_frames())
    }

    /// Writes everything changed since the last commit (entities, resume logs, sequence
    /// numbers, list windows) into `batch`.
    pub(crate) fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        for e in &mut self.entities {
            e.store.write_into(batch);
        }
        persist::write_views(self, batch);
    }

    /// Commits what changed to the store (the engine batches this with the transform's
    /// state; this stand-alone form is for tests and tools).
    pub fn commit(&mut self) -> Result<(), StoreError> {
        let mut batch = self.store.batch();
        self.write_into(&mut batch);
        self.store.commit(batch)
    }

    /// The snapshot of a view as of the last commit, to encode off the engine: state views
    /// only the row of `key` (every row when `None`), list and derived views their rows in
    /// view order (key order for lists; `key` ignored), append views nothing. Rows
    /// `skip..skip + take` are sent in batches of `initial_snapshot_batch_size`, then
    /// `subsequent_snapshot_batch_size`; the last says `complete: true`, and an empty result
    /// is still one frame. `seq` is the view's current sequence number.
    ///
    /// Call after a commit: the job reads the committed entities.
    pub(crate) fn snapshot_job(
        &self,
        view: ViewId,
        key: Option<&str>,
        skip: usize,
        take: Option<usize>,
    ) -> Option<SnapshotJob> {
        let (state, info) = (self.views.get(view)?, self.infos.get(view)?);
        let entity = self
            .entity_index
            .get(&info.entity)
            .map(|&i| &self.entities[i])?;
        let take = take.unwrap_or(usize::MAX);
        let page =
            |keys: Vec<Arc<str>>| Rows::Keys(keys.into_iter().skip(skip).take(take).collect());
        let rows = match (&state.kind, key) {
            (Kind::Append, _) => return None,
            (Kind::State, Some(key)) => page(vec![Arc::from(key)]),
            (Kind::State, None) => return None,
            (Kind::List(w), _) => page(w.sorted()),
            (Kind::Derived(d), _) => match d.window() {
                Some(keys) => page(keys),
                None => Rows::Ordered {
                    keyspace: self.store.derived.clone(),
                    prefix: d.order_prefix().into(),
                    skip,
                    take,
                },
            },
        };
        Some(SnapshotJob {
            mode: info.mode,
            view: info.full_name.clone(),
            seq: state.seq,
            rows,
            entity: entity.index,
            hidden: entity.hidden.clone(),
            first: self.cache.initial_snapshot_batch_size,
            next: self.cache.subsequent_snapshot_batch_size,
            snapshot: self.store.snapshot(),
            entities: self.store.entities.clone(),
        })
    }

    /// Snapshot frames of a view (see [`Projector::snapshot_job`]), committing first and
    /// encoding right here: for tests and tools (the server encodes off the engine).
    pub fn snapshot(
        &mut self,
        view: ViewId,
        key: Option<&str>,
        skip: usize,
        take: Option<usize>,
    ) -> Result<Vec<Arc<EncodedFrame>>, SnapshotError> {
        self.commit()?;
        match self.snapshot_job(view, key, skip, take) {
            Some(job) => job.encode(),
            None => Ok(Vec::new()),
        }
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
        self.resume_frames(view, key, after)
            .map(|frames| frames.into_iter().map(|f| f.full).collect())
    }

    /// Like [`Projector::resume`], with each frame's key and delta encoding (append views),
    /// so a client that asked for deltas can be served either encoding.
    pub(crate) fn resume_frames(
        &self,
        view: ViewId,
        key: Option<&str>,
        after: u64,
    ) -> Option<Vec<LogFrame>> {
        let state = self.views.get(view)?;
        let key = if matches!(state.kind, Kind::State) {
            key
        } else {
            None
        };
        state.log.after(after, state.seq, key)
    }

    /// Records of entities held in memory now, over every entity type.
    pub fn resident(&self) -> usize {
        self.entities.iter().map(|e| e.store.resident()).sum()
    }

    /// The largest hot set of entities of one type (each is bounded by
    /// `StateTableConfig::max_entries`).
    pub(crate) fn largest_hot_set(&self) -> usize {
        self.entities
            .iter()
            .map(|e| e.store.resident())
            .max()
            .unwrap_or(0)
    }

    /// Entities (JSON) read from the store because they were not in memory, so far.
    pub fn disk_reads(&self) -> u64 {
        self.stats
            .disk_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The description of view `id`.
fn info_of(id: ViewId, entity: &hyperstack_spec::Entity, view: &hyperstack_spec::View) -> ViewInfo {
    let (mode, sort) = match &view.kind {
        ViewKind::State => ("state", None),
        ViewKind::List => ("list", None),
        ViewKind::Append => ("append", None),
        ViewKind::Derived(d) => ("list", derived::sort_of(d)),
    };
    ViewInfo {
        id,
        full_name: view.full_name.clone(),
        entity: entity.name.clone(),
        mode,
        sort,
        keyed: matches!(view.kind, ViewKind::State),
    }
}

/// Every view of `stack`, as [`Projector::views`] lists them (without opening a store).
pub fn view_infos(stack: &Stack) -> Vec<ViewInfo> {
    let views = stack
        .entities
        .iter()
        .flat_map(|e| e.views.iter().map(move |v| (e, v)));
    views
        .enumerate()
        .map(|(id, (entity, view))| info_of(id, entity, view))
        .collect()
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
