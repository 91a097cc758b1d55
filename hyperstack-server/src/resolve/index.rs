//! The resolver state the transform keeps (single writer: the engine thread): the values
//! ([`ValueCache`]), which entity fields reference which input, and the fetches to request.
//!
//! References live in the store (`resolved` keyspace, tag 1), changes since the last commit
//! in memory beside them; so "every entity that references this input" is one prefix scan,
//! and survives restarts. Requests are kept in memory only while they are out: an input that
//! is referenced but neither known nor requested (a fetch lost to a restart, a request refused
//! by a full queue) is found again by a sweep of the references.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use fjall::Keyspace;
use serde_json::Value as Json;

use super::cache::{Found, Known, ValueCache};
use super::keys::{parse_reference, reference_key, reference_prefix, MAX_INPUT, REFERENCES};
use super::{Outcome, Request};
use crate::metrics::Metrics;
use crate::spec::Resolver;
use crate::store::{Store, StoreError};

/// Values kept in memory by default.
pub(crate) const DEFAULT_CACHE_ENTRIES: usize = 10_000;
/// Requests out at once by default (beyond, inputs wait for a sweep).
pub(crate) const DEFAULT_MAX_REQUESTED: usize = 4_096;

/// See the [module docs](self).
pub(crate) struct Index {
    keyspace: Keyspace,
    cache: ValueCache,
    /// Reference keys added / removed since the last commit.
    added: BTreeSet<Vec<u8>>,
    removed: BTreeSet<Vec<u8>>,
    /// Resolvers that fetch (an endpoint is configured).
    enabled: HashSet<Resolver>,
    outbox: Vec<Request>,
    requested: HashSet<(Resolver, Box<str>)>,
    max_requested: usize,
    /// Some referenced input may be neither known nor requested: a sweep is due.
    sweep_due: bool,
    metrics: Option<Arc<Metrics>>,
}

/// One entity field referencing an input: entity index, field index, entity key bytes.
pub(crate) type Referrer = (usize, usize, Vec<u8>);

impl Index {
    /// The index over `store` (fetching nothing until [`Index::enable`]).
    pub fn open(store: &Store) -> Index {
        Index {
            keyspace: store.resolved.clone(),
            cache: ValueCache::new(store.resolved.clone(), DEFAULT_CACHE_ENTRIES),
            added: BTreeSet::new(),
            removed: BTreeSet::new(),
            enabled: HashSet::new(),
            outbox: Vec::new(),
            requested: HashSet::new(),
            max_requested: DEFAULT_MAX_REQUESTED,
            sweep_due: false,
            metrics: None,
        }
    }

    /// Fetches values of `resolver` from now on: new inputs are requested, and the inputs
    /// referenced before (by an earlier run) are swept at the next dispatch.
    pub fn enable(&mut self, resolver: Resolver, cache_entries: usize, max_requested: usize) {
        self.enabled.insert(resolver);
        self.cache.set_capacity(cache_entries);
        self.max_requested = max_requested.max(1);
        self.sweep_due = true;
    }

    /// Counts outcomes in `metrics`.
    pub fn set_metrics(&mut self, metrics: Arc<Metrics>) {
        self.metrics = Some(metrics);
    }

    fn count(&self, resolver: Resolver, outcome: Outcome) {
        if let Some(m) = &self.metrics {
            m.resolver_event(resolver.name(), outcome.label());
        }
    }

    /// Records that entity field (`entity`, `field`, `key`) references `input`. Returns the
    /// value known for it (`Some(None)`: the resolver knows nothing for it), or `None` when it
    /// is not known yet (then it is requested).
    pub fn link(
        &mut self,
        resolver: Resolver,
        input: &str,
        entity: usize,
        field: usize,
        key: &[u8],
    ) -> Result<Option<Known>, StoreError> {
        if input.len() > MAX_INPUT {
            self.count(resolver, Outcome::InvalidInput);
            return Ok(Some(None));
        }
        let k = reference_key(resolver, input, entity, field, key);
        self.removed.remove(&k);
        self.added.insert(k);
        match self.cache.get(resolver, input)? {
            Some((value, found)) => {
                let outcome = match found {
                    Found::Memory => Outcome::CacheHit,
                    Found::Store => Outcome::StoreHit,
                };
                self.count(resolver, outcome);
                Ok(Some(value))
            }
            None => {
                self.request(resolver, input);
                Ok(None)
            }
        }
    }

    /// Records that the entity field no longer references `input`.
    pub fn unlink(
        &mut self,
        resolver: Resolver,
        input: &str,
        entity: usize,
        field: usize,
        key: &[u8],
    ) {
        if input.len() > MAX_INPUT {
            return;
        }
        let k = reference_key(resolver, input, entity, field, key);
        if !self.added.remove(&k) {
            self.removed.insert(k);
        }
    }

    fn request(&mut self, resolver: Resolver, input: &str) {
        if !self.enabled.contains(&resolver) {
            return;
        }
        let id = (resolver, Box::<str>::from(input));
        if self.requested.contains(&id) {
            return;
        }
        if self.requested.len() >= self.max_requested {
            self.deferred(resolver, input);
            return;
        }
        self.requested.insert(id);
        self.outbox.push(Request {
            resolver,
            input: input.into(),
        });
        self.count(resolver, Outcome::Requested);
    }

    /// The requests made since the last call.
    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.outbox)
    }

    /// `input` could not be requested now (the queue was full): a later sweep will.
    pub fn deferred(&mut self, resolver: Resolver, input: &str) {
        self.requested.remove(&(resolver, Box::<str>::from(input)));
        self.sweep_due = true;
        self.count(resolver, Outcome::Deferred);
    }

    /// Whether some referenced input may be neither known nor requested.
    pub fn sweep_due(&self) -> bool {
        self.sweep_due && !self.enabled.is_empty()
    }

    /// Requests up to `limit` referenced inputs that are neither known nor requested. The
    /// sweep is done when it found fewer.
    pub fn sweep(&mut self, limit: usize) -> Result<(), StoreError> {
        let mut candidates: BTreeSet<(Resolver, String)> = BTreeSet::new();
        let mut last: Option<(Resolver, String)> = None;
        let mut complete = true;
        let keyspace = self.keyspace.clone();
        for raw in keyspace.prefix(REFERENCES).map(|item| item.key()) {
            let raw = raw?;
            if self.removed.contains(&*raw) {
                continue;
            }
            let Some(r) = parse_reference(&raw) else {
                continue;
            };
            let id = (r.resolver, r.input);
            if last.as_ref() == Some(&id) {
                continue;
            }
            last = Some(id.clone());
            if self.wanted(&id)? {
                candidates.insert(id);
                if candidates.len() >= limit {
                    complete = false;
                    break;
                }
            }
        }
        for raw in self.added.clone() {
            if candidates.len() >= limit {
                complete = false;
                break;
            }
            if let Some(r) = parse_reference(&raw) {
                let id = (r.resolver, r.input);
                if self.wanted(&id)? {
                    candidates.insert(id);
                }
            }
        }
        // Due again when this sweep stopped short, or a request it makes is deferred.
        self.sweep_due = !complete;
        for (resolver, input) in candidates {
            self.request(resolver, &input);
        }
        Ok(())
    }

    /// Whether a referenced input should be requested by a sweep.
    fn wanted(&self, (resolver, input): &(Resolver, String)) -> Result<bool, StoreError> {
        let id = (*resolver, Box::<str>::from(input.as_str()));
        Ok(self.enabled.contains(resolver)
            && !self.requested.contains(&id)
            && !self.cache.is_known(*resolver, input)?)
    }

    /// Stores `input`'s value; returns the entity fields that reference it.
    pub fn resolved(
        &mut self,
        resolver: Resolver,
        input: &str,
        value: Option<Json>,
    ) -> Result<Vec<Referrer>, StoreError> {
        self.requested.remove(&(resolver, Box::<str>::from(input)));
        self.cache.insert(resolver, input, value);
        let prefix = reference_prefix(resolver, input);
        let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
        let keyspace = self.keyspace.clone();
        for item in keyspace.prefix(&prefix) {
            let raw = item.key()?;
            if !self.removed.contains(&*raw) {
                keys.insert(raw.to_vec());
            }
        }
        keys.extend(
            self.added
                .range(prefix.clone()..)
                .take_while(|k| k.starts_with(&prefix))
                .cloned(),
        );
        Ok(keys
            .iter()
            .filter_map(|k| parse_reference(k))
            .filter(|r| r.input == input)
            .map(|r| (r.entity, r.field, r.key))
            .collect())
    }

    /// Values and reference changes in memory.
    pub fn resident(&self) -> usize {
        self.cache.resident() + self.added.len() + self.removed.len() + self.requested.len()
    }

    /// Writes the values and reference changes since the last commit into `batch`.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        self.cache.write_into(batch);
        for k in std::mem::take(&mut self.added) {
            batch.insert(&self.keyspace, k, []);
        }
        for k in std::mem::take(&mut self.removed) {
            batch.remove(&self.keyspace, k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::cache::tests::store;
    use serde_json::json;

    const R: Resolver = Resolver::TokenMetadata;

    fn commit(index: &mut Index, store: &Store) {
        let mut batch = store.batch();
        index.write_into(&mut batch);
        store.commit(batch).unwrap();
    }

    #[test]
    fn references_find_their_entities_before_and_after_commits() {
        let store = store();
        let mut index = Index::open(&store);
        index.enable(R, 2, 100);
        assert_eq!(index.link(R, "m1", 0, 3, b"a").unwrap(), None);
        assert_eq!(index.link(R, "m1", 0, 3, b"b").unwrap(), None);
        assert_eq!(index.link(R, "m2", 0, 3, b"c").unwrap(), None);
        let requests = index.take_requests();
        assert_eq!(requests.len(), 2, "one request per input: {requests:?}");
        commit(&mut index, &store);
        // `b` moves to m2 (uncommitted), `d` joins m1 (uncommitted).
        index.unlink(R, "m1", 0, 3, b"b");
        index.link(R, "m2", 0, 3, b"b").unwrap();
        index.link(R, "m1", 0, 3, b"d").unwrap();
        assert!(index.take_requests().is_empty(), "already requested");
        let found = index
            .resolved(R, "m1", Some(json!({"decimals": 6})))
            .unwrap();
        assert_eq!(found, vec![(0, 3, b"a".to_vec()), (0, 3, b"d".to_vec())]);
        commit(&mut index, &store);
        let found = index.resolved(R, "m2", None).unwrap();
        assert_eq!(found, vec![(0, 3, b"b".to_vec()), (0, 3, b"c".to_vec())]);
        // Known now: a new reference gets the value at once.
        assert_eq!(
            index.link(R, "m1", 1, 0, b"e").unwrap(),
            Some(Some(json!({"decimals": 6})))
        );
        assert_eq!(index.link(R, "m2", 1, 0, b"f").unwrap(), Some(None));
        assert!(index.take_requests().is_empty());
    }

    #[test]
    fn a_sweep_requests_what_a_full_queue_deferred_and_what_a_restart_lost() {
        let store = store();
        let mut index = Index::open(&store);
        index.enable(R, 10, 2);
        for i in 0..5 {
            index.link(R, &format!("m{i}"), 0, 0, &[i]).unwrap();
        }
        // Two out, three deferred (the bound of requests out at once).
        let first: Vec<String> = index
            .take_requests()
            .into_iter()
            .map(|r| r.input.to_string())
            .collect();
        assert_eq!(first.len(), 2);
        assert!(index.sweep_due());
        for input in &first {
            index.resolved(R, input, Some(json!({}))).unwrap();
        }
        commit(&mut index, &store);
        index.sweep(10).unwrap();
        let second = index.take_requests();
        assert_eq!(second.len(), 2, "again bounded by the requests out");
        assert!(index.sweep_due(), "one more to go");
        for r in &second {
            index.resolved(R, &r.input, Some(json!({}))).unwrap();
        }
        index.sweep(10).unwrap();
        assert_eq!(index.take_requests().len(), 1);
        assert!(!index.sweep_due());
        commit(&mut index, &store);

        // A restart: a new index over the same store, with requests lost.
        let mut restarted = Index::open(&store);
        restarted.enable(R, 10, 100);
        assert!(restarted.sweep_due());
        restarted.sweep(100).unwrap();
        let lost: Vec<String> = restarted
            .take_requests()
            .into_iter()
            .map(|r| r.input.to_string())
            .collect();
        assert_eq!(lost.len(), 1, "only the one never resolved: {lost:?}");
        assert!(!first.contains(&lost[0]));
    }

    #[test]
    fn nothing_is_requested_without_an_endpoint() {
        let store = store();
        let mut index = Index::open(&store);
        assert_eq!(index.link(R, "m", 0, 0, b"k").unwrap(), None);
        assert!(index.take_requests().is_empty());
        assert!(!index.sweep_due());
        let long = "x".repeat(MAX_INPUT + 1);
        assert_eq!(index.link(R, &long, 0, 0, b"k").unwrap(), Some(None));
    }
}
