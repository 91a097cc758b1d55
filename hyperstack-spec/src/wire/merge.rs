//! Deep merge of a patch into an entity, with append paths and their caps.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::DEFAULT_APPEND_CAP;
use crate::model::{Entity, FieldKind, Strategy};

/// How many items each append path keeps: a cap per dotted path, and a default for paths
/// without one. Caps are at least 1 (a cap of 0 is taken as 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendCaps {
    paths: BTreeMap<String, usize>,
    default: usize,
}

impl Default for AppendCaps {
    /// No path caps; the default is [`DEFAULT_APPEND_CAP`].
    fn default() -> AppendCaps {
        AppendCaps::new(DEFAULT_APPEND_CAP)
    }
}

impl AppendCaps {
    /// No path caps; paths keep `default_cap` items.
    pub fn new(default_cap: usize) -> AppendCaps {
        AppendCaps {
            paths: BTreeMap::new(),
            default: default_cap.max(1),
        }
    }

    /// The caps of an entity's `append` fields as the spec declares them, each limited to
    /// `limit` (the server's `max_array_length`), which is also the default.
    pub fn for_entity(entity: &Entity, limit: usize) -> AppendCaps {
        let mut caps = AppendCaps::new(limit);
        for field in &entity.fields {
            if let FieldKind::Mapped {
                strategy: Strategy::Append { cap },
                ..
            } = field.kind
            {
                caps.set(field.name.clone(), cap.min(limit));
            }
        }
        caps
    }

    /// Adds (or replaces) the cap of `path`.
    pub fn with_path(mut self, path: impl Into<String>, cap: usize) -> AppendCaps {
        self.set(path, cap);
        self
    }

    /// Sets the cap of `path`.
    pub fn set(&mut self, path: impl Into<String>, cap: usize) {
        self.paths.insert(path.into(), cap.max(1));
    }

    /// The cap of `path`: its own, else the default.
    pub fn cap(&self, path: &str) -> usize {
        self.paths.get(path).copied().unwrap_or(self.default)
    }

    /// The cap of paths without one.
    pub fn default_cap(&self) -> usize {
        self.default
    }

    /// The paths with a cap of their own.
    pub fn paths(&self) -> &BTreeMap<String, usize> {
        &self.paths
    }

    /// Keeps only the paths whose first segment passes `keep` (the server leaves out fields
    /// clients never see).
    pub fn retain_fields(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.paths
            .retain(|path, _| keep(path.split('.').next().unwrap_or_default()));
    }
}

/// Merges `patch` into `target` by the wire rules (see [the module](super)): objects merge key
/// by key, other values replace, and the values at the dotted `append` paths are appended,
/// keeping the last [`AppendCaps::cap`] items.
///
/// ```
/// use hyperstack_spec::wire::{merge, AppendCaps};
/// use serde_json::{json, Map, Value};
///
/// let obj = |v: Value| -> Map<String, Value> { serde_json::from_value(v).unwrap() };
/// let mut entity = obj(json!({"a": {"b": 1, "c": 2}, "list": [1], "log": [1], "gone": 5}));
/// let patch = obj(json!({"a": {"b": 10}, "list": [2], "log": {"n": 2}, "gone": null}));
/// merge(&mut entity, &patch, &["log"], &AppendCaps::default());
/// assert_eq!(
///     Value::Object(entity),
///     json!({"a": {"b": 10, "c": 2}, "list": [2], "log": [1, {"n": 2}], "gone": null})
/// );
/// ```
pub fn merge(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    append: &[impl AsRef<str>],
    caps: &AppendCaps,
) {
    let mut path = String::new();
    merge_at(target, patch, &mut path, append, caps);
}

/// [`merge`] over any JSON value: an object patch merges into an object target (a target that
/// is not an object becomes one first); any other patch replaces the target.
pub fn merge_value(
    target: &mut Value,
    patch: &Value,
    append: &[impl AsRef<str>],
    caps: &AppendCaps,
) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    make_object(target);
    if let Value::Object(target) = target {
        merge(target, patch, append, caps);
    }
}

fn merge_at(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &mut String,
    append: &[impl AsRef<str>],
    caps: &AppendCaps,
) {
    for (key, value) in patch {
        let parent = path.len();
        if !append.is_empty() {
            if parent > 0 {
                path.push('.');
            }
            path.push_str(key);
        }
        let appending =
            !append.is_empty() && !value.is_null() && append.iter().any(|a| a.as_ref() == path);
        if appending {
            let slot = target.entry(key.clone()).or_insert(Value::Null);
            append_items(slot, value, caps.cap(path));
        } else if let Value::Object(inner) = value {
            let slot = target.entry(key.clone()).or_insert(Value::Null);
            make_object(slot);
            if let Value::Object(obj) = slot {
                merge_at(obj, inner, path, append, caps);
            }
        } else {
            target.insert(key.clone(), value.clone());
        }
        path.truncate(parent);
    }
}

/// Replaces a non-object in `slot` with an empty object.
fn make_object(slot: &mut Value) {
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
}

/// Appends the items of `value` (an array's elements, or the value itself) to the array in
/// `slot` (a non-array is replaced by an empty one) and keeps the last `cap`.
fn append_items(slot: &mut Value, value: &Value, cap: usize) {
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Value::Array(items) = slot else {
        return;
    };
    match value {
        Value::Array(new) => {
            // Items that would be dropped at once are never copied.
            let skip = new.len().saturating_sub(cap);
            items.extend(new[skip..].iter().cloned());
        }
        item => items.push(item.clone()),
    }
    if items.len() > cap {
        items.drain(..items.len() - cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(base: Value, patch: Value, append: &[&str], caps: &AppendCaps) -> Value {
        let mut target = base;
        merge_value(&mut target, &patch, append, caps);
        target
    }

    #[test]
    fn objects_merge_other_values_replace() {
        let none = AppendCaps::default();
        let out = merged(
            json!({"a": 1, "r": {"sol": 1, "tok": 2, "deep": {"x": 1}}, "list": [1, 2]}),
            json!({"r": {"sol": 5, "deep": {"y": 2}}, "list": [9], "new": "n"}),
            &[],
            &none,
        );
        assert_eq!(
            out,
            json!({"a": 1, "r": {"sol": 5, "tok": 2, "deep": {"x": 1, "y": 2}}, "list": [9], "new": "n"})
        );
        let out = merged(
            json!({"a": 1, "b": {"x": 1}}),
            json!({"a": {"y": 2}, "b": 3, "c": null}),
            &[],
            &none,
        );
        assert_eq!(out, json!({"a": {"y": 2}, "b": 3, "c": null}));
        assert_eq!(merged(json!({"a": 1}), json!([1]), &[], &none), json!([1]));
        assert_eq!(
            merged(json!(5), json!({"a": 1}), &[], &none),
            json!({"a": 1})
        );
    }

    #[test]
    fn append_paths_extend_and_cap_per_path() {
        let caps = AppendCaps::new(3).with_path("t", 2).with_path("s.h", 4);
        let out = merged(
            json!({"t": [1, 2], "u": [1, 2, 3], "s": {"h": [1], "x": 1}}),
            json!({"t": [3], "u": [4], "s": {"h": [2, 3]}}),
            &["t", "u", "s.h"],
            &caps,
        );
        assert_eq!(
            out,
            json!({"t": [2, 3], "u": [2, 3, 4], "s": {"h": [1, 2, 3], "x": 1}})
        );
        // A path not listed in the frame's `append` is replaced, whatever its cap.
        let out = merged(json!({"t": [1]}), json!({"t": [2]}), &["u"], &caps);
        assert_eq!(out, json!({"t": [2]}));
        // Created fresh, and more items at once than the cap.
        let out = merged(
            json!({}),
            json!({"s": {"h": [1, 2, 3, 4, 5]}}),
            &["s.h"],
            &caps,
        );
        assert_eq!(out, json!({"s": {"h": [2, 3, 4, 5]}}));
    }

    #[test]
    fn non_arrays_and_null_at_an_append_path() {
        let caps = AppendCaps::new(10);
        let one = merged(json!({"t": [1]}), json!({"t": {"sol": 2}}), &["t"], &caps);
        assert_eq!(one, json!({"t": [1, {"sol": 2}]}));
        let over_scalar = merged(json!({"t": "old"}), json!({"t": 7}), &["t"], &caps);
        assert_eq!(over_scalar, json!({"t": [7]}));
        let nested = merged(json!({"t": [[1]]}), json!({"t": [[2]]}), &["t"], &caps);
        assert_eq!(nested, json!({"t": [[1], [2]]}), "array items stay arrays");
        let reset = merged(json!({"t": [1, 2]}), json!({"t": null}), &["t"], &caps);
        assert_eq!(reset, json!({"t": null}));
        let again = merged(reset, json!({"t": [3]}), &["t"], &caps);
        assert_eq!(again, json!({"t": [3]}));
    }

    #[test]
    fn caps_are_at_least_one() {
        let caps = AppendCaps::new(0).with_path("t", 0);
        assert_eq!(
            (caps.cap("t"), caps.cap("other"), caps.default_cap()),
            (1, 1, 1)
        );
        let out = merged(json!({"t": [1]}), json!({"t": [2, 3]}), &["t"], &caps);
        assert_eq!(out, json!({"t": [3]}));
    }

    #[test]
    fn caps_of_an_entity_follow_the_spec() {
        const IDL: &str = r#"{
          "address": "Mini111111111111111111111111111111111111111",
          "metadata": {"name": "mini", "version": "0.1.0", "spec": "0.1.0"},
          "instructions": [{"name": "swap", "discriminator": [1,2,3,4,5,6,7,8],
            "accounts": [{"name": "pool", "writable": true}],
            "args": [{"name": "amount", "type": "u64"}]}],
          "accounts": [{"name": "Pool", "discriminator": [9,9,9,9,9,9,9,9]}],
          "types": [{"name": "Pool", "type": {"kind": "struct",
            "fields": [{"name": "reserve", "type": "u64"}]}}]
        }"#;
        let spec = r#"
name = "mini"
idl = "mini.json"
[entities.Thing]
key = "Pool.@address"
fields.reserve = { from = "Pool.reserve" }
fields.recent = { append = "swap.args.amount", key = "accounts.pool", cap = 20 }
fields.many = { append = "swap.args.amount", key = "accounts.pool", cap = 500 }
fields.all = { append = "swap.args.amount", key = "accounts.pool" }
"#;
        let loaded = crate::load_stack_from_str(
            spec,
            std::path::Path::new("mini.stack.toml"),
            crate::file::SpecFormat::Toml,
            |_| Ok(("mini.json".into(), IDL.to_string())),
        );
        let stack = match loaded {
            Ok(loaded) => loaded.stack,
            Err(e) => panic!("test spec is valid: {e}"),
        };
        let entity = stack.entity("Thing").expect("declared");
        let caps = AppendCaps::for_entity(entity, 100);
        assert_eq!(caps.cap("recent"), 20);
        assert_eq!(caps.cap("many"), 100, "limited by the server's max");
        assert_eq!(caps.cap("all"), DEFAULT_APPEND_CAP.min(100));
        assert_eq!(caps.cap("reserve"), 100, "no cap of its own: the default");
        let mut shown = caps.clone();
        shown.retain_fields(|f| f != "many");
        assert_eq!(shown.paths().keys().collect::<Vec<_>>(), ["all", "recent"]);
    }
}
