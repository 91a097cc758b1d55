//! How one mutation changes the views of its entity.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::derived::Delta;
use super::frame::{self, DataFrame, Emitted, Op};
use super::store::{value_at, EntityStore};
use super::{EncodedFrame, EntityState, Kind, Published, ViewId, ViewInfo, ViewState};
use crate::mutation::{Change, Mutation};

/// Merges `m` into the entity's store (append paths keep the entity's caps) and publishes the
/// resulting frames through `out`.
pub(super) fn apply_change(entity: &mut EntityState, out: &mut Publisher<'_>, m: &Mutation) {
    match &m.change {
        Change::Patch { data, append } => {
            let existed = entity.store.contains(&m.key);
            if !existed {
                if let Some((gone, _)) = entity.store.evict_if_full() {
                    for &v in &entity.views {
                        out.derived_change(v, &gone, None, &entity.store, &entity.hidden);
                    }
                }
            }
            entity
                .store
                .apply_patch(&m.key, data, append, m.seq.as_deref(), &entity.caps);
            let Some(merged) = entity.store.get(&m.key) else {
                return;
            };
            let patch = Emitted {
                obj: data,
                hidden: &entity.hidden,
                seq: m.seq.as_deref(),
            };
            let append: Vec<&str> = append
                .iter()
                .filter(|p| {
                    !entity
                        .hidden
                        .contains(p.split('.').next().unwrap_or_default())
                })
                .filter(|p| value_at(data, &p.split('.').collect::<Vec<_>>()).is_some())
                .map(String::as_str)
                .collect();
            let visible = data
                .keys()
                .any(|k| k != frame::SEQ_FIELD && !entity.hidden.contains(k));
            let full = Emitted {
                obj: merged,
                hidden: &entity.hidden,
                seq: None,
            };
            for &v in &entity.views {
                match out.tag(v) {
                    Tag::StateOrList if !existed => {
                        out.publish(v, &m.key, Op::Upsert, Some(full), vec![])
                    }
                    Tag::StateOrList if visible => {
                        out.publish(v, &m.key, Op::Patch, Some(patch), append.clone())
                    }
                    Tag::StateOrList => {}
                    Tag::Append => out.publish(v, &m.key, Op::Upsert, Some(full), vec![]),
                    Tag::Derived => {
                        let delta = out.derived_change(
                            v,
                            &m.key,
                            Some(merged),
                            &entity.store,
                            &entity.hidden,
                        );
                        if delta.was_member && delta.is_member && visible {
                            out.publish(v, &m.key, Op::Patch, Some(patch), append.clone());
                        }
                    }
                }
            }
        }
        Change::Delete => {
            if entity.store.remove(&m.key).is_none() {
                return;
            }
            for &v in &entity.views {
                match out.tag(v) {
                    Tag::Derived => {
                        out.derived_change(v, &m.key, None, &entity.store, &entity.hidden);
                    }
                    _ => out.publish(v, &m.key, Op::Delete, None, vec![]),
                }
            }
        }
    }
}

/// Builds, numbers and logs frames while [`super::Projector::apply`] holds the entity
/// borrowed.
pub(super) struct Publisher<'a> {
    infos: &'a [ViewInfo],
    views: &'a mut [ViewState],
    out: Vec<Published>,
}

/// What [`super::Projector::apply`] does for a view: state and list views behave alike.
#[derive(Clone, Copy)]
enum Tag {
    StateOrList,
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
            Kind::State | Kind::List => Tag::StateOrList,
            Kind::Append => Tag::Append,
            Kind::Derived(_) => Tag::Derived,
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
        let info = &self.infos[view];
        let state = &mut self.views[view];
        state.seq += 1;
        let frame = Arc::new(EncodedFrame::encode(&DataFrame {
            mode: info.mode,
            entity: &info.full_name,
            op,
            key,
            data,
            append,
            seq: state.seq.to_string(),
        }));
        state.log.push(state.seq, key.clone(), frame.clone());
        self.out.push(Published {
            view,
            key: key.clone(),
            seq: state.seq,
            frame,
        });
    }

    /// Moves `key` in a derived view (`entity` `None`: gone) and publishes the window's
    /// changes except a member's patch: deletes of leaving entities, then upserts of entering
    /// ones. Other view kinds are left alone.
    fn derived_change(
        &mut self,
        view: ViewId,
        key: &Arc<str>,
        entity: Option<&Map<String, Value>>,
        store: &EntityStore,
        hidden: &HashSet<String>,
    ) -> Delta {
        let Kind::Derived(d) = &mut self.views[view].kind else {
            return Delta::default();
        };
        let delta = d.update(key, entity);
        if let Some(out) = &delta.pushed_out {
            self.publish(view, out, Op::Delete, None, vec![]);
        }
        if delta.was_member && !delta.is_member {
            self.publish(view, key, Op::Delete, None, vec![]);
        }
        let full = |obj| Emitted {
            obj,
            hidden,
            seq: None,
        };
        if !delta.was_member && delta.is_member {
            if let Some(obj) = entity {
                self.publish(view, key, Op::Upsert, Some(full(obj)), vec![]);
            }
        }
        if let Some(obj) = delta
            .pulled_in
            .as_ref()
            .and_then(|k| store.get(k).map(|o| (k, o)))
        {
            self.publish(view, obj.0, Op::Upsert, Some(full(obj.1)), vec![]);
        }
        delta
    }
}
