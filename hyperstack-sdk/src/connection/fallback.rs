//! Watching more keys than the server allows subscriptions: the keys of a state view are
//! served from the entity's list view (one subscription) and filtered here — up front when
//! the limit (announced by the server in `subscribed`, else the configured assumption) is
//! known to be exceeded, or when the server refuses a key with `too_many_subscriptions`.
//! A key is never silently dropped.

use std::collections::{HashMap, HashSet};

use super::actor::{Actor, Listener, Through};
use super::Target;
use crate::store::Change;

/// The list view holding every entity of a state view's entity (`Token/state` →
/// `Token/list`).
fn list_of(view: &str) -> Option<Target> {
    let entity = view.strip_suffix("/state")?;
    Some(Target {
        view: format!("{entity}/list"),
        key: None,
    })
}

impl Listener {
    /// Whether `change` of `target` is for this listener: on a list it watches keys through,
    /// only those keys, and not an unchanged repeat of what it already holds.
    pub(super) fn lets_through(&mut self, target: &Target, change: &Change) -> bool {
        let Some(through) = &mut self.filtered else {
            return true;
        };
        if through.list != *target {
            return true;
        }
        let key = change.key();
        if !through.keys.contains(key) {
            return false;
        }
        match (through.held.remove(key), change) {
            (Some(held), Change::Upsert { data, .. }) => **data != held,
            _ => true,
        }
    }
}

impl Actor {
    /// The list target to use instead, when `targets` — keys of one state view — would take
    /// more subscriptions than the server allows.
    pub(super) fn over_the_limit(&self, targets: &[Target]) -> Option<Target> {
        let first = targets.first()?;
        if targets.len() < 2
            || targets
                .iter()
                .any(|t| t.key.is_none() || t.view != first.view)
        {
            return None;
        }
        let limit = self.server_limit.unwrap_or(self.config.max_subscriptions);
        let new = targets
            .iter()
            .filter(|t| !self.subs.contains_key(t))
            .count();
        if self.subs.len() + new <= limit {
            return None;
        }
        let list = list_of(&first.view)?;
        tracing::info!(
            view = %first.view,
            keys = targets.len(),
            limit,
            list = %list.view,
            "more keys than the server's subscription limit: watching them through the list view"
        );
        Some(list)
    }

    /// Adds `target` to listener `id`: subscribes if needed, and hands over what is already
    /// loaded.
    pub(super) fn attach(&mut self, id: u64, target: &Target) {
        self.ensure_sub(target);
        let Some(listener) = self.listeners.get_mut(&id) else {
            return;
        };
        listener.targets.push(target.clone());
        let rich = listener.rich;
        let Some(sub) = self.subs.get_mut(target) else {
            return;
        };
        sub.listeners.push(id);
        sub.rich += usize::from(rich);
        if sub.store.is_ready() {
            for (key, data) in sub.store.rows(sub.sort.as_ref()) {
                let change = Change::Upsert {
                    key,
                    data,
                    before: None,
                };
                if listener.lets_through(target, &change) {
                    let _ = listener.tx.send(change);
                }
            }
        }
    }

    /// A state key's streams refused for the subscription limit: every stream of that state
    /// view on this connection is served from the list view instead (one subscription in
    /// place of one per key: the state subscriptions are released first, making room).
    /// Returns false when the view has no list view to fall back to (then the refusal is
    /// reported as any other).
    pub(super) fn fall_back(&mut self, refused: &Target) -> bool {
        let Some(list) = list_of(&refused.view) else {
            return false;
        };
        let keyed: Vec<Target> = self
            .subs
            .keys()
            .filter(|t| t.view == refused.view && t.key.is_some())
            .cloned()
            .collect();
        tracing::info!(view = %refused.view, keys = keyed.len(), list = %list.view, "subscription limit reached: watching the view's keys through the list view");
        let mut moved: Vec<u64> = Vec::new();
        let mut fetchers: Vec<u64> = Vec::new();
        for target in &keyed {
            let Some(key) = target.key.clone() else {
                continue;
            };
            let Some(sub) = self.subs.get_mut(target) else {
                continue;
            };
            let held = sub
                .store
                .is_ready()
                .then(|| sub.store.get(&key).cloned())
                .flatten();
            for id in std::mem::take(&mut sub.listeners) {
                let Some(l) = self.listeners.get_mut(&id) else {
                    continue;
                };
                l.targets.retain(|t| t != target);
                let through = l.filtered.get_or_insert_with(|| Through {
                    list: list.clone(),
                    keys: HashSet::new(),
                    held: HashMap::new(),
                });
                through.keys.insert(key.clone());
                if let Some(data) = &held {
                    through.held.insert(key.clone(), data.clone());
                }
                if !moved.contains(&id) {
                    moved.push(id);
                }
            }
            sub.rich = 0;
            for fid in std::mem::take(&mut sub.fetchers) {
                if let Some(f) = self.fetches.get_mut(&fid) {
                    f.target = list.clone();
                    f.only = Some(key.clone());
                    fetchers.push(fid);
                }
            }
        }
        // Unsubscribe the keys first, then subscribe the list: the server makes room in order.
        for target in &keyed {
            self.release_if_unused(target);
        }
        for id in moved {
            let through_list = self
                .listeners
                .get(&id)
                .is_some_and(|l| l.targets.contains(&list));
            if !through_list {
                self.attach(id, &list);
            }
        }
        if !fetchers.is_empty() {
            self.ensure_sub(&list);
            let ready = match self.subs.get_mut(&list) {
                Some(s) => {
                    s.fetchers.extend(fetchers);
                    s.store.is_ready()
                }
                None => false,
            };
            if ready {
                self.became_ready(&list);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_views_fall_back_to_their_list() {
        assert_eq!(
            list_of("Token/state"),
            Some(Target {
                view: "Token/list".into(),
                key: None
            })
        );
        assert_eq!(list_of("Token/trending"), None);
    }
}
