//! Commands from handles and streams, and frames from the server, applied to the
//! subscriptions' stores.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use std::collections::HashMap;

use super::actor::{Actor, Fetch, Listener, Sub, Through};
use super::frame::{self, ServerFrame};
use super::{Command, Rows, Target};
use crate::error::HyperStackError;
use crate::store::{Change, ViewStore};

/// How long a fetch refused for the subscription limit waits before trying again.
const FETCH_RETRY: Duration = Duration::from_millis(50);

impl Actor {
    pub(super) fn handle_command(&mut self, cmd: Command) {
        match cmd {
            Command::Listen {
                id,
                targets,
                tx,
                rich,
            } => {
                let listener = Listener {
                    targets: Vec::new(),
                    tx,
                    rich,
                    filtered: None,
                };
                self.listeners.insert(id, listener);
                // More keys of a state view than the server allows subscriptions: one list
                // subscription, filtered here, instead of keys silently refused.
                let targets = match self.over_the_limit(&targets) {
                    Some(list) => {
                        let keys = targets.iter().filter_map(|t| t.key.clone()).collect();
                        if let Some(l) = self.listeners.get_mut(&id) {
                            l.filtered = Some(Through {
                                list: list.clone(),
                                keys,
                                held: HashMap::new(),
                            });
                        }
                        vec![list]
                    }
                    None => targets,
                };
                for target in &targets {
                    self.attach(id, target);
                }
            }
            Command::Unlisten { id } => {
                if let Some(listener) = self.listeners.remove(&id) {
                    for target in listener.targets {
                        if let Some(sub) = self.subs.get_mut(&target) {
                            sub.listeners.retain(|l| *l != id);
                            sub.rich = sub.rich.saturating_sub(usize::from(listener.rich));
                        }
                        self.release_if_unused(&target);
                    }
                }
            }
            Command::Fetch { id, target, reply } => {
                if let Some(rows) = self.ready_rows(&target) {
                    let _ = reply.send(Ok(rows));
                    return;
                }
                self.ensure_sub(&target);
                if let Some(sub) = self.subs.get_mut(&target) {
                    sub.fetchers.push(id);
                }
                let deadline = Instant::now() + self.config.initial_data_timeout;
                self.fetches.insert(
                    id,
                    Fetch {
                        target,
                        only: None,
                        reply,
                        deadline,
                    },
                );
            }
            // Handled by the session / idle loops.
            Command::Disconnect => {}
        }
    }

    /// Rows answerable now: the subscription's own complete store, or for a state key, a
    /// complete `<Entity>/list` subscription that holds every entity anyway.
    fn ready_rows(&self, target: &Target) -> Option<Rows> {
        if let Some(sub) = self.subs.get(target).filter(|_| self.current(target)) {
            return Some(sub.store.rows(sub.sort.as_ref()));
        }
        // A state key held by a current `<Entity>/list` subscription: its entity is complete
        // there. (A list holds only its window of entities: a key it lacks is asked of the
        // state view, which knows every entity.)
        let key = target.key.as_ref()?;
        let (entity, _) = target.view.split_once('/')?;
        let list = Target {
            view: format!("{entity}/list"),
            key: None,
        };
        let store = &self.subs.get(&list).filter(|_| self.current(&list))?.store;
        let row = store.get(key)?;
        Some(vec![(key.clone(), std::sync::Arc::new(row.clone()))])
    }

    /// Whether the store of `target` reflects the view now: connected, loaded, and not
    /// waiting for a (re)subscription or in the middle of a new snapshot.
    fn current(&self, target: &Target) -> bool {
        self.connected
            && self
                .subs
                .get(target)
                .is_some_and(|s| s.store.is_ready() && !s.store.in_snapshot())
            && !self
                .pending
                .get(&target.view)
                .is_some_and(|q| q.iter().any(|(_, t)| t == target))
    }

    /// Creates the subscription of `target` if needed (subscribing when connected).
    pub(super) fn ensure_sub(&mut self, target: &Target) {
        if !self.subs.contains_key(target) {
            self.subs.insert(
                target.clone(),
                Sub {
                    store: ViewStore::new(),
                    sort: None,
                    listeners: Vec::new(),
                    rich: 0,
                    fetchers: Vec::new(),
                    loaded_at: None,
                },
            );
            if self.connected {
                self.send_subscribe(target);
            }
        }
    }

    /// Queues the subscribe message of `target` (with `after` and `epoch` when its store is
    /// complete and has a cursor).
    pub(super) fn send_subscribe(&mut self, target: &Target) {
        let resume = self.subs.get(target).and_then(|s| {
            s.store
                .resume_cursor()
                .map(|(seq, epoch)| (seq, epoch.map(str::to_string)))
        });
        // Collections are subscribed without a key: the reference server takes `"*"` as a
        // literal key (ours accepts both forms). The `id` comes back in the reply.
        let id = self.next_request;
        self.next_request += 1;
        let mut msg = json!({"view": target.view, "id": id});
        if let (Some(key), Value::Object(m)) = (&target.key, &mut msg) {
            m.insert("key".into(), Value::String(key.clone()));
        }
        if let (true, Value::Object(m)) = (self.config.append_deltas, &mut msg) {
            // Append views answer with patches for entities this subscription holds; other
            // views send patches anyway (the server answers `"delta":false` for them).
            m.insert("delta".into(), Value::Bool(true));
        }
        if let (Some((after, epoch)), Value::Object(m)) = (resume, &mut msg) {
            m.insert("after".into(), Value::String(after.to_string()));
            if let Some(epoch) = epoch {
                m.insert("epoch".into(), Value::String(epoch));
            }
        }
        self.out.push_back(msg.to_string());
        self.pending
            .entry(target.view.clone())
            .or_default()
            .push_back((id, target.clone()));
    }

    /// The pending subscription a reply answers: by its echoed id, else the oldest of its view.
    pub(super) fn answered(&mut self, view: Option<&str>, id: Option<u64>) -> Option<Target> {
        match id {
            Some(id) => {
                let views: Vec<String> = match view {
                    Some(v) => vec![v.to_string()],
                    None => self.pending.keys().cloned().collect(),
                };
                for v in views {
                    if let Some(q) = self.pending.get_mut(&v) {
                        if let Some(at) = q.iter().position(|(i, _)| *i == id) {
                            return q.remove(at).map(|(_, t)| t);
                        }
                    }
                }
                None
            }
            None => self.pending.get_mut(view?)?.pop_front().map(|(_, t)| t),
        }
    }

    /// Drops a subscription nobody uses any more, and unsubscribes on the server.
    pub(super) fn release_if_unused(&mut self, target: &Target) {
        let unused = self
            .subs
            .get(target)
            .is_some_and(|s| s.listeners.is_empty() && s.fetchers.is_empty());
        if !unused {
            return;
        }
        self.subs.remove(target);
        if self.connected {
            let mut msg = json!({"op": "unsubscribe", "view": target.view});
            if let (Some(key), Value::Object(m)) = (&target.key, &mut msg) {
                m.insert("key".into(), Value::String(key.clone()));
            }
            self.out.push_back(msg.to_string());
        }
    }

    pub(super) fn handle_text(&mut self, text: &str) {
        let frame = match frame::parse(text) {
            Ok(f) => f,
            Err(e) => {
                let head: String = text.chars().take(200).collect();
                tracing::warn!(error = %e, frame = %head, "skipping malformed frame");
                return;
            }
        };
        match frame {
            ServerFrame::Subscribed {
                view,
                id,
                max_subscriptions,
                resumed,
                epoch,
                append_mode,
                sort,
                append_caps,
            } => {
                if max_subscriptions.is_some() {
                    self.server_limit = max_subscriptions;
                }
                let Some(target) = self.answered(Some(&view), id) else {
                    tracing::debug!(%view, "`subscribed` for no pending subscription");
                    return;
                };
                let Some(sub) = self.subs.get_mut(&target) else {
                    return; // released meanwhile
                };
                sub.sort = sort;
                sub.store.set_append_caps(append_caps);
                sub.store.subscribed(epoch, resumed, append_mode);
                if append_mode || resumed {
                    self.became_ready(&target);
                } else {
                    sub.loaded_at = Some(Instant::now() + self.config.initial_data_timeout);
                    self.receiving.insert(view, target);
                }
            }
            ServerFrame::Snapshot {
                view,
                rows,
                complete,
                seq,
            } => {
                let target = if complete {
                    self.receiving.remove(&view)
                } else {
                    self.receiving.get(&view).cloned()
                };
                let Some(target) = target else {
                    tracing::debug!(%view, "snapshot for no pending subscription");
                    return;
                };
                let Some(sub) = self.subs.get_mut(&target) else {
                    return;
                };
                sub.loaded_at = None;
                if let Some(changes) = sub.store.snapshot_batch(rows, complete, seq) {
                    self.dispatch(&target, changes);
                    self.became_ready(&target);
                }
            }
            ServerFrame::Upsert {
                view,
                key,
                keyed,
                data,
                seq,
            } => {
                let target = target_of(view, &key, keyed);
                let change = self
                    .subs
                    .get_mut(&target)
                    .and_then(|s| s.store.upsert(&key, data, seq));
                self.dispatch(&target, change);
            }
            ServerFrame::Patch {
                view,
                key,
                keyed,
                data,
                append,
                seq,
            } => {
                let target = target_of(view, &key, keyed);
                let change = self.subs.get_mut(&target).and_then(|s| {
                    let rich = s.rich > 0;
                    s.store.patch(&key, data, &append, seq, rich)
                });
                self.dispatch(&target, change);
            }
            ServerFrame::Delete {
                view,
                key,
                keyed,
                seq,
            } => {
                let target = target_of(view, &key, keyed);
                let change = self
                    .subs
                    .get_mut(&target)
                    .and_then(|s| s.store.delete(&key, seq));
                self.dispatch(&target, change);
            }
            ServerFrame::Error {
                view,
                id,
                code,
                message,
                retry_after_ms,
            } => self.server_error(view, id, code, message, retry_after_ms),
            ServerFrame::Pong => {}
        }
    }

    /// An `error` frame. A subscription refused as `rate_limited` is sent again when the
    /// server says; one refused as `too_many_subscriptions` for a state key falls back to the
    /// entity's list view, filtered here; any other refusal fails its fetches and drops it
    /// from its streams. `snapshot_failed` after `subscribed` (the snapshot failed part way)
    /// is such a refusal: the batches received are thrown away with the subscription. Errors of no request (`lagged`) are logged: the close that follows
    /// reconnects.
    fn server_error(
        &mut self,
        view: Option<String>,
        id: Option<u64>,
        code: String,
        message: String,
        retry_after_ms: Option<u64>,
    ) {
        tracing::warn!(?view, ?id, %code, %message, "server error");
        let target = match self.answered(view.as_deref(), id) {
            Some(target) => target,
            // The server streams snapshots: its encoding can fail after `subscribed` and some
            // batches. The server dropped the subscription; the batches received are thrown
            // away with it (they never said `complete`, so nothing was applied).
            None if code == "snapshot_failed" => {
                match view.as_deref().and_then(|v| self.receiving.remove(v)) {
                    Some(target) => target,
                    None => return,
                }
            }
            None => return,
        };
        if !self.subs.contains_key(&target) {
            return; // released meanwhile
        }
        let only_fetches = self
            .subs
            .get(&target)
            .is_some_and(|s| s.listeners.is_empty());
        match code.as_str() {
            "rate_limited" => {
                let wait = Duration::from_millis(retry_after_ms.unwrap_or(1_000));
                self.retries.push((Instant::now() + wait, target));
                return;
            }
            // Fetches only: room frees as other fetches finish; retried until their deadline.
            "too_many_subscriptions" if only_fetches => {
                self.retries.push((Instant::now() + FETCH_RETRY, target));
                return;
            }
            "too_many_subscriptions" if self.fall_back(&target) => return,
            _ => {}
        }
        let Some(sub) = self.subs.remove(&target) else {
            return;
        };
        let err = HyperStackError::Server {
            view,
            code,
            message,
        };
        for id in sub.fetchers {
            if let Some(f) = self.fetches.remove(&id) {
                let _ = f.reply.send(Err(err.clone()));
            }
        }
        for id in sub.listeners {
            let now_empty = self.listeners.get_mut(&id).is_some_and(|l| {
                l.targets.retain(|t| *t != target);
                l.targets.is_empty()
            });
            if now_empty {
                self.listeners.remove(&id);
            }
        }
    }

    /// Answers the fetches waiting for `target` and releases it if they were its only users.
    pub(super) fn became_ready(&mut self, target: &Target) {
        let Some(sub) = self.subs.get_mut(target) else {
            return;
        };
        if sub.fetchers.is_empty() {
            return;
        }
        let rows = sub.store.rows(sub.sort.as_ref());
        for id in std::mem::take(&mut sub.fetchers) {
            if let Some(f) = self.fetches.remove(&id) {
                let rows = match &f.only {
                    Some(key) => rows.iter().filter(|(k, _)| k == key).cloned().collect(),
                    None => rows.clone(),
                };
                let _ = f.reply.send(Ok(rows));
            }
        }
        self.release_if_unused(target);
    }

    /// Delivers changes of `target` to its streams.
    fn dispatch(&mut self, target: &Target, changes: impl IntoIterator<Item = Change>) {
        let Some(sub) = self.subs.get(target) else {
            return;
        };
        for change in changes {
            for id in &sub.listeners {
                if let Some(l) = self.listeners.get_mut(id) {
                    if l.lets_through(target, &change) {
                        let _ = l.tx.send(change.clone());
                    }
                }
            }
        }
    }
}

fn target_of(view: String, key: &str, keyed: bool) -> Target {
    Target {
        view,
        key: keyed.then(|| key.to_string()),
    }
}
