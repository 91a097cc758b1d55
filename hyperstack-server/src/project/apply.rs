//! How one mutation changes the views of its entity.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::derived::Delta;
use super::frame::{self, DataFrame, Emitted, Op};
use super::log::LogFrame;
use super::store::value_at;
use super::{EncodedFrame, EntityJson, EntityState, Kind, Published, ViewId, ViewInfo, ViewState};
use crate::mutation::{Change, Mutation};
use crate::store::{entity_key, StoreError};
use hyperstack_spec::wire;

/// Merges `m` into the stored entity and publishes the resulting frames through `out`.
pub(super) fn apply_change(
    entity: &mut EntityState,
    out: &mut Publisher<'_>,
    m: &Mutation,
) -> Result<(), StoreError> {
    let store_key = entity_key(entity.index, &m.key);
    match &m.change {
        Change::Patch { data, append } => {
            let mut before = Vec::new();
            let existed = match entity.store.get_mut(&store_key)? {
                Some(EntityJson(obj)) => {
                    // Where the entity stood in each derived view before this change.
                    before = out.derived_orders(&entity.views, &m.key, obj);
                    wire::merge(obj, data, append, &entity.caps);
                    set_seq(obj, m.seq.as_deref());
                    true
                }
                None => {
                    let mut obj = Map::new();
                    wire::merge(&mut obj, data, append, &entity.caps);
                    set_seq(&mut obj, m.seq.as_deref());
                    entity.store.insert(&store_key, EntityJson(obj));
                    false
                }
            };
            let views = entity.views.clone();
            let hidden = entity.hidden.clone();
            let append: Vec<&str> = append
                .iter()
                .filter(|p| !hidden.contains(p.split('.').next().unwrap_or_default()))
                .filter(|p| value_at(data, &p.split('.').collect::<Vec<_>>()).is_some())
                .map(String::as_str)
                .collect();
            let visible = data
                .keys()
                .any(|k| k != frame::SEQ_FIELD && !hidden.contains(k));
            let patch = Emitted {
                obj: data,
                hidden: &hidden,
                seq: m.seq.as_deref(),
            };
            // The whole entity, copied once for the views that send it whole.
            let mut full: Option<Map<String, Value>> = None;
            for &v in &views {
                match out.tag(v) {
                    Tag::State if !existed => {
                        let full = whole(&mut full, entity, &store_key)?;
                        out.publish(v, &m.key, Op::Upsert, Some(emitted(full, &hidden)), vec![]);
                    }
                    Tag::State if visible => {
                        out.publish(v, &m.key, Op::Patch, Some(patch), append.clone())
                    }
                    Tag::State => {}
                    Tag::List => {
                        let touch = out.touch(v, &m.key);
                        if let Some(left) = &touch.left {
                            out.publish(v, left, Op::Delete, None, vec![]);
                        }
                        if touch.entered {
                            let full = whole(&mut full, entity, &store_key)?;
                            out.publish(
                                v,
                                &m.key,
                                Op::Upsert,
                                Some(emitted(full, &hidden)),
                                vec![],
                            );
                        } else if visible {
                            out.publish(v, &m.key, Op::Patch, Some(patch), append.clone());
                        }
                    }
                    Tag::Append => {
                        // Every client can take the full entity; clients that asked for
                        // deltas and hold the entity take the patch of the same `seq`.
                        let full = whole(&mut full, entity, &store_key)?;
                        let delta = existed.then(|| (patch, append.clone()));
                        out.publish_full_and_delta(v, &m.key, emitted(full, &hidden), delta);
                    }
                    Tag::Derived => {
                        let full = whole(&mut full, entity, &store_key)?;
                        let old = take_order(&mut before, v);
                        let delta = out.derived_change(v, &m.key, old, Some(full), entity)?;
                        if delta.was_member && delta.is_member && visible {
                            out.publish(v, &m.key, Op::Patch, Some(patch), append.clone());
                        }
                    }
                }
            }
        }
        Change::Delete => {
            let mut before = match entity.store.get(&store_key)? {
                Some(EntityJson(obj)) => out.derived_orders(&entity.views, &m.key, obj),
                None => return Ok(()),
            };
            entity.store.remove(&store_key);
            for v in entity.views.clone() {
                match out.tag(v) {
                    Tag::Derived => {
                        let old = take_order(&mut before, v);
                        out.derived_change(v, &m.key, old, None, entity)?;
                    }
                    Tag::List => {
                        if out.untouch(v, &m.key) {
                            out.publish(v, &m.key, Op::Delete, None, vec![]);
                        }
                    }
                    Tag::State | Tag::Append => out.publish(v, &m.key, Op::Delete, None, vec![]),
                }
            }
        }
    }
    Ok(())
}

/// The order key a derived view had for the entity before the change (`None`: not a member,
/// or a new entity).
fn take_order(before: &mut [(ViewId, Option<Box<[u8]>>)], view: ViewId) -> Option<Box<[u8]>> {
    before
        .iter_mut()
        .find(|(v, _)| *v == view)
        .and_then(|(_, order)| order.take())
}

fn set_seq(obj: &mut Map<String, Value>, seq: Option<&str>) {
    if let Some(seq) = seq {
        obj.insert(frame::SEQ_FIELD.to_string(), Value::String(seq.to_string()));
    }
}

/// The whole entity, copied from the store the first time a view needs it.
fn whole<'f>(
    full: &'f mut Option<Map<String, Value>>,
    entity: &mut EntityState,
    store_key: &[u8],
) -> Result<&'f Map<String, Value>, StoreError> {
    if full.is_none() {
        *full = Some(full_of(entity, store_key)?);
    }
    Ok(full.get_or_insert_with(Map::new))
}

/// A copy of the stored entity (views that send it whole need it while the store is
/// borrowed again).
fn full_of(entity: &mut EntityState, store_key: &[u8]) -> Result<Map<String, Value>, StoreError> {
    Ok(entity
        .store
        .get(store_key)?
        .map(|e| e.0.clone())
        .unwrap_or_default())
}

fn emitted<'a>(obj: &'a Map<String, Value>, hidden: &'a HashSet<String>) -> Emitted<'a> {
    Emitted {
        obj,
        hidden,
        seq: None,
    }
}

/// Builds, numbers and logs frames while [`super::Projector::apply`] holds the entity
/// borrowed.
pub(super) struct Publisher<'a> {
    infos: &'a [ViewInfo],
    views: &'a mut [ViewState],
    out: Vec<Published>,
}

/// The operation, data and append paths of a frame to encode.
type FrameParts<'a> = (Op, Option<Emitted<'a>>, Vec<&'a str>);

/// What [`super::Projector::apply`] does for a view.
#[derive(Clone, Copy)]
enum Tag {
    State,
    List,
    Append,
    Derived,
}

impl<'a> Publisher<'a> {
    /// Publishes into these views.
    pub fn new(infos: &'a [ViewInfo], views: &'a mut [ViewState]) -> Publisher<'a> {
        Publisher {
            infos,
            views,
            out: Vec::new(),
        }
    }

    /// The frames published, in order.
    pub fn into_frames(self) -> Vec<Published> {
        self.out
    }

    fn tag(&self, view: ViewId) -> Tag {
        match self.views[view].kind {
            Kind::State => Tag::State,
            Kind::List(_) => Tag::List,
            Kind::Append => Tag::Append,
            Kind::Derived(_) => Tag::Derived,
        }
    }

    fn touch(&mut self, view: ViewId, key: &Arc<str>) -> super::window::Touch {
        match &mut self.views[view].kind {
            Kind::List(w) => w.touch(key),
            _ => super::window::Touch {
                entered: false,
                left: None,
            },
        }
    }

    fn untouch(&mut self, view: ViewId, key: &str) -> bool {
        match &mut self.views[view].kind {
            Kind::List(w) => w.remove(key),
            _ => false,
        }
    }

    fn publish(
        &mut self,
        view: ViewId,
        key: &Arc<str>,
        op: Op,
        data: Option<Emitted<'_>>,
        append: Vec<&str>,
    ) {
        self.publish_encoded(view, key, (op, data, append), None);
    }

    /// Publishes an append view's frame: the full `upsert`, and with `delta` (the changed
    /// fields and append paths of an entity that existed) its `patch` encoding under the same
    /// `seq`.
    fn publish_full_and_delta(
        &mut self,
        view: ViewId,
        key: &Arc<str>,
        full: Emitted<'_>,
        delta: Option<(Emitted<'_>, Vec<&str>)>,
    ) {
        let delta = delta.map(|(data, append)| (Op::Patch, Some(data), append));
        self.publish_encoded(view, key, (Op::Upsert, Some(full), Vec::new()), delta);
    }

    fn publish_encoded(
        &mut self,
        view: ViewId,
        key: &Arc<str>,
        frame: FrameParts<'_>,
        delta: Option<FrameParts<'_>>,
    ) {
        let info = &self.infos[view];
        let state = &mut self.views[view];
        state.seq += 1;
        let seq = state.seq.to_string();
        let encode = |(op, data, append): FrameParts<'_>| {
            Arc::new(EncodedFrame::encode(&DataFrame {
                mode: info.mode,
                entity: &info.full_name,
                op,
                key,
                data,
                append,
                seq: seq.clone(),
            }))
        };
        let frame = LogFrame {
            key: key.clone(),
            full: encode(frame),
            delta: delta.map(encode),
        };
        state.log.push(state.seq, frame.clone());
        self.out.push(Published {
            view,
            key: key.clone(),
            seq: state.seq,
            frame: frame.full,
            delta: frame.delta,
        });
    }

    /// Where `obj` (the entity of `key`) stands in each derived view among `views`.
    fn derived_orders(
        &self,
        views: &[ViewId],
        key: &str,
        obj: &Map<String, Value>,
    ) -> Vec<(ViewId, Option<Box<[u8]>>)> {
        views
            .iter()
            .filter_map(|&v| match &self.views[v].kind {
                Kind::Derived(d) => Some((v, d.order_of(key, Some(obj)))),
                _ => None,
            })
            .collect()
    }

    /// Moves `key` in a derived view from order key `old` to where `obj` stands (`obj`
    /// `None`: gone) and publishes the window's changes except a member's patch: deletes of
    /// leaving entities, then upserts of entering ones (an entity pulled in from the rest of
    /// the order is read from the store).
    fn derived_change(
        &mut self,
        view: ViewId,
        key: &Arc<str>,
        old: Option<Box<[u8]>>,
        obj: Option<&Map<String, Value>>,
        entity: &mut EntityState,
    ) -> Result<Delta, StoreError> {
        let Kind::Derived(d) = &mut self.views[view].kind else {
            return Ok(Delta::default());
        };
        let new = d.order_of(key, obj);
        let delta = d.update(key, old, new)?;
        let hidden = entity.hidden.clone();
        if let Some(out) = &delta.pushed_out {
            self.publish(view, out, Op::Delete, None, vec![]);
        }
        if delta.was_member && !delta.is_member {
            self.publish(view, key, Op::Delete, None, vec![]);
        }
        if !delta.was_member && delta.is_member {
            if let Some(obj) = obj {
                self.publish(view, key, Op::Upsert, Some(emitted(obj, &hidden)), vec![]);
            }
        }
        if let Some(pulled) = &delta.pulled_in {
            let pulled_obj = full_of(entity, &entity_key(entity.index, pulled))?;
            self.publish(
                view,
                pulled,
                Op::Upsert,
                Some(emitted(&pulled_obj, &hidden)),
                vec![],
            );
        }
        Ok(delta)
    }
}
