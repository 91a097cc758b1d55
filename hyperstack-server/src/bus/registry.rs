//! Who is subscribed to what: per view, unkeyed subscribers and subscribers by entity key;
//! each subscription either live or still starting (its frames held until its snapshot or
//! resume is sent).

use std::collections::HashMap;
use std::sync::Arc;

use super::delta::DeltaKeys;
use super::ClientHandle;
use crate::project::{EncodedFrame, ViewId};

/// Where a subscription is in its start.
pub(crate) enum Phase {
    /// Asked of the engine, not answered yet: frames published now are older than its
    /// starting version (its snapshot or resume includes them) and are not sent.
    Requested,
    /// The engine answered; its first frames are being prepared: frames published now come
    /// after them and are held.
    Starting(Vec<Arc<EncodedFrame>>),
    /// Receiving every frame.
    Live,
}

/// One client's subscription to one view (and key).
pub(crate) struct Entry {
    pub client: ClientHandle,
    /// The bus's id of this subscription; a re-subscribe replaces it.
    pub sub: u64,
    pub phase: Phase,
    /// An append-view subscription that asked for deltas: the keys it holds whole.
    pub delta: Option<DeltaKeys>,
}

/// Subscribers of one view.
#[derive(Default)]
pub(crate) struct ViewSubscribers {
    /// Subscribed to every key (list, derived and append views).
    pub all: HashMap<u64, Entry>,
    /// Subscribed to one key (state views).
    pub by_key: HashMap<Arc<str>, HashMap<u64, Entry>>,
}

/// One subscription of a client: a view, and the key for state views.
type Subscription = (ViewId, Option<Arc<str>>);

/// Every subscription, indexed for publishing (by view) and for cleanup (by client).
pub(crate) struct Registry {
    views: Vec<ViewSubscribers>,
    by_client: HashMap<u64, Vec<Subscription>>,
}

impl Registry {
    pub fn new(view_count: usize) -> Registry {
        Registry {
            views: (0..view_count)
                .map(|_| ViewSubscribers::default())
                .collect(),
            by_client: HashMap::new(),
        }
    }

    /// Adds (or restarts) a subscription, starting: returns whether it is new.
    pub fn add(
        &mut self,
        view: ViewId,
        key: Option<Arc<str>>,
        client: ClientHandle,
        sub: u64,
        delta: Option<DeltaKeys>,
    ) -> bool {
        let Some(subs) = self.views.get_mut(view) else {
            return false;
        };
        let id = client.id;
        let entry = Entry {
            client,
            sub,
            phase: Phase::Requested,
            delta,
        };
        let fresh = match &key {
            None => subs.all.insert(id, entry).is_none(),
            Some(k) => subs
                .by_key
                .entry(k.clone())
                .or_default()
                .insert(id, entry)
                .is_none(),
        };
        if fresh {
            self.by_client.entry(id).or_default().push((view, key));
        }
        fresh
    }

    /// The subscription `sub` of `client`, if it is still the current one.
    pub fn get_mut(
        &mut self,
        client: u64,
        view: ViewId,
        key: Option<&str>,
        sub: u64,
    ) -> Option<&mut Entry> {
        let subs = self.views.get_mut(view)?;
        let entry = match key {
            None => subs.all.get_mut(&client),
            Some(k) => subs.by_key.get_mut(k)?.get_mut(&client),
        }?;
        (entry.sub == sub).then_some(entry)
    }

    /// Removes one subscription; returns whether it existed.
    pub fn remove(&mut self, client: u64, view: ViewId, key: Option<&str>) -> bool {
        let Some(subs) = self.views.get_mut(view) else {
            return false;
        };
        let removed = match key {
            None => subs.all.remove(&client).is_some(),
            Some(k) => {
                let removed = subs
                    .by_key
                    .get_mut(k)
                    .is_some_and(|m| m.remove(&client).is_some());
                if subs.by_key.get(k).is_some_and(HashMap::is_empty) {
                    subs.by_key.remove(k);
                }
                removed
            }
        };
        if removed {
            if let Some(list) = self.by_client.get_mut(&client) {
                list.retain(|(v, k)| !(*v == view && k.as_deref() == key));
            }
        }
        removed
    }

    /// Removes every subscription of a client; returns the views it was subscribed to.
    pub fn remove_client(&mut self, client: u64) -> Vec<ViewId> {
        let subs = self.by_client.remove(&client).unwrap_or_default();
        let mut views = Vec::with_capacity(subs.len());
        for (view, key) in subs {
            if let Some(s) = self.views.get_mut(view) {
                match &key {
                    None => {
                        s.all.remove(&client);
                    }
                    Some(k) => {
                        if let Some(m) = s.by_key.get_mut(k) {
                            m.remove(&client);
                            if m.is_empty() {
                                s.by_key.remove(k);
                            }
                        }
                    }
                }
            }
            views.push(view);
        }
        views
    }

    /// The subscriptions a frame of `view` about `key` goes to.
    pub fn recipients_mut<'a>(
        &'a mut self,
        view: ViewId,
        key: &str,
    ) -> impl Iterator<Item = &'a mut Entry> + 'a {
        let subs = self.views.get_mut(view);
        let (all, by_key) = match subs {
            Some(s) => (Some(&mut s.all), Some(&mut s.by_key)),
            None => (None, None),
        };
        let keyed = by_key.and_then(|m| m.get_mut(key));
        all.into_iter()
            .flat_map(|m| m.values_mut())
            .chain(keyed.into_iter().flat_map(|m| m.values_mut()))
    }
}
