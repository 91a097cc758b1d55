//! The merged entity store of one entity type: an LRU of key → merged JSON object, plus the
//! keys in order (list views and snapshots are in key order).

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::Arc;

use hyperstack_spec::wire::{self, AppendCaps};
use lru::LruCache;
use serde_json::{Map, Value};

use super::frame::SEQ_FIELD;

/// Merged entities of one type, least recently updated evicted first.
pub(crate) struct EntityStore {
    lru: LruCache<Arc<str>, Map<String, Value>>,
    keys: BTreeSet<Arc<str>>,
}

impl EntityStore {
    /// A store holding at most `capacity` entities (at least one).
    pub fn new(capacity: usize) -> EntityStore {
        EntityStore {
            lru: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
            keys: BTreeSet::new(),
        }
    }

    /// Number of entities held.
    pub fn len(&self) -> usize {
        self.lru.len()
    }

    /// Whether the entity is held.
    pub fn contains(&self, key: &str) -> bool {
        self.lru.contains(key)
    }

    /// The merged entity (does not count as a use).
    pub fn get(&self, key: &str) -> Option<&Map<String, Value>> {
        self.lru.peek(key)
    }

    /// Keys in ascending order.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<str>> {
        self.keys.iter()
    }

    /// When full, removes and returns the least recently updated entity, making room for a
    /// new key. Call only before inserting a key that is not held.
    pub fn evict_if_full(&mut self) -> Option<(Arc<str>, Map<String, Value>)> {
        if self.lru.len() < self.lru.cap().get() {
            return None;
        }
        let (key, entity) = self.lru.pop_lru()?;
        self.keys.remove(&key);
        Some((key, entity))
    }

    /// Removes an entity.
    pub fn remove(&mut self, key: &str) -> Option<Map<String, Value>> {
        let entity = self.lru.pop(key)?;
        self.keys.remove(key);
        Some(entity)
    }

    /// Merges a patch into the entity by the wire rules ([`wire::merge`]: the `append` paths
    /// keep their `caps`; created empty when new, make room first with
    /// [`EntityStore::evict_if_full`]) and stores `seq` as `_seq`. Marks it most recently used.
    pub fn apply_patch(
        &mut self,
        key: &Arc<str>,
        patch: &Map<String, Value>,
        append: &[String],
        seq: Option<&str>,
        caps: &AppendCaps,
    ) {
        if !self.lru.contains(&**key) {
            self.keys.insert(key.clone());
        }
        let entity = self.lru.get_or_insert_mut(key.clone(), Map::new);
        wire::merge(entity, patch, append, caps);
        if let Some(seq) = seq {
            entity.insert(SEQ_FIELD.to_string(), Value::String(seq.to_string()));
        }
    }
}

/// The value at a dotted path of an object.
pub(crate) fn value_at<'a>(
    obj: &'a Map<String, Value>,
    path: &[impl AsRef<str>],
) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(obj.get(first.as_ref())?, |v, seg| {
        v.as_object()?.get(seg.as_ref())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test objects only"),
        }
    }

    #[test]
    fn patches_merge_by_the_wire_rules_with_per_path_caps() {
        let mut store = EntityStore::new(4);
        let key: Arc<str> = "k".into();
        let caps = AppendCaps::new(3).with_path("t", 2);
        let append = ["t".to_string(), "u".to_string()];
        store.apply_patch(
            &key,
            &obj(json!({"t": [1, 2, 3], "u": [1], "r": {"a": 1}})),
            &append,
            None,
            &caps,
        );
        store.apply_patch(
            &key,
            &obj(json!({"t": 4, "u": [2, 3, 4], "r": {"b": 2}})),
            &append,
            Some("9:1"),
            &caps,
        );
        assert_eq!(
            store.get("k"),
            Some(&obj(
                json!({"t": [3, 4], "u": [2, 3, 4], "r": {"a": 1, "b": 2}, "_seq": "9:1"})
            ))
        );
    }

    #[test]
    fn store_evicts_least_recently_updated() {
        let mut store = EntityStore::new(2);
        let caps = AppendCaps::default();
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        store.apply_patch(&a, &obj(json!({"v": 1})), &[], Some("1:0"), &caps);
        store.apply_patch(&b, &obj(json!({"v": 2})), &[], None, &caps);
        store.apply_patch(&a, &obj(json!({"v": 3})), &[], None, &caps);
        assert!(store
            .evict_if_full()
            .is_some_and(|(k, e)| &*k == "b" && e["v"] == 2));
        store.apply_patch(&c, &obj(json!({"v": 4})), &[], None, &caps);
        assert_eq!(store.keys().map(|k| &**k).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(store.get("a"), Some(&obj(json!({"v": 3, "_seq": "1:0"}))));
        assert!(store.remove("a").is_some());
        assert_eq!((store.len(), store.contains("a")), (1, false));
        assert!(store.evict_if_full().is_none());
    }

    #[test]
    fn value_at_follows_paths() {
        let o = obj(json!({"a": {"b": {"c": 1}}, "x": 2}));
        assert_eq!(value_at(&o, &["a", "b", "c"]), Some(&json!(1)));
        assert_eq!(value_at(&o, &["x"]), Some(&json!(2)));
        assert_eq!(value_at(&o, &["x", "y"]), None);
        assert_eq!(value_at(&o, &[] as &[&str]), None);
    }
}
