//! Merging changes into an entity as clients see it, and reading values at dotted paths.

use serde_json::{Map, Value};

/// Deep-merges `patch` into `target`: objects merge key by key, other values (arrays
/// included, and explicit nulls) replace, except at the dotted `append` paths, whose items are
/// appended to the stored array (a non-array, non-null value counts as one item; null resets
/// the field to null), keeping the last `max_array_length` items.
pub(crate) fn merge(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    append: &[String],
    max_array_length: usize,
) {
    merge_at(target, patch, "", append, max_array_length);
}

fn merge_at(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    prefix: &str,
    append: &[String],
    cap: usize,
) {
    for (k, v) in patch {
        let path = if append.is_empty() {
            String::new()
        } else if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let appending = !append.is_empty() && append.contains(&path);
        match v {
            Value::Null => {
                target.insert(k.clone(), Value::Null);
            }
            _ if appending => {
                let slot = target.entry(k.clone()).or_insert(Value::Null);
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Value::Array(items) = slot {
                    match v {
                        Value::Array(new) => items.extend(new.iter().cloned()),
                        other => items.push(other.clone()),
                    }
                    if items.len() > cap {
                        let excess = items.len() - cap;
                        items.drain(..excess);
                    }
                }
            }
            Value::Object(inner) => {
                let slot = target.entry(k.clone()).or_insert(Value::Null);
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(obj) = slot {
                    merge_at(obj, inner, &path, append, cap);
                }
            }
            _ => {
                target.insert(k.clone(), v.clone());
            }
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

    fn merged(base: Value, patch: Value, append: &[&str], cap: usize) -> Value {
        let mut target = obj(base);
        let append: Vec<String> = append.iter().map(|s| s.to_string()).collect();
        merge(&mut target, &obj(patch), &append, cap);
        Value::Object(target)
    }

    #[test]
    fn nested_objects_merge_deeply() {
        let out = merged(
            json!({"a": 1, "r": {"sol": 1, "tok": 2, "deep": {"x": 1}}, "list": [1, 2]}),
            json!({"r": {"sol": 5, "deep": {"y": 2}}, "list": [9], "new": "n"}),
            &[],
            100,
        );
        assert_eq!(
            out,
            json!({"a": 1, "r": {"sol": 5, "tok": 2, "deep": {"x": 1, "y": 2}}, "list": [9], "new": "n"})
        );
    }

    #[test]
    fn object_replaces_scalar_and_scalar_replaces_object() {
        let out = merged(
            json!({"a": 1, "b": {"x": 1}}),
            json!({"a": {"y": 2}, "b": 3}),
            &[],
            10,
        );
        assert_eq!(out, json!({"a": {"y": 2}, "b": 3}));
    }

    #[test]
    fn explicit_null_is_stored() {
        let out = merged(
            json!({"a": 1, "r": {"x": 1}}),
            json!({"a": null, "r": {"x": null}}),
            &[],
            10,
        );
        assert_eq!(out, json!({"a": null, "r": {"x": null}}));
    }

    #[test]
    fn append_extends_and_caps() {
        let out = merged(json!({"t": [1, 2, 3]}), json!({"t": [4, 5]}), &["t"], 4);
        assert_eq!(out, json!({"t": [2, 3, 4, 5]}));
        let fresh = merged(json!({}), json!({"t": [1, 2, 3]}), &["t"], 2);
        assert_eq!(fresh, json!({"t": [2, 3]}));
        let single = merged(json!({"t": [1]}), json!({"t": {"sol": 2}}), &["t"], 10);
        assert_eq!(single, json!({"t": [1, {"sol": 2}]}));
        let not_listed = merged(json!({"t": [1]}), json!({"t": [2]}), &["other"], 10);
        assert_eq!(not_listed, json!({"t": [2]}));
    }

    #[test]
    fn nested_append_path() {
        let out = merged(
            json!({"stats": {"history": [1, 2], "n": 2}}),
            json!({"stats": {"history": [3], "n": 3}}),
            &["stats.history"],
            2,
        );
        assert_eq!(out, json!({"stats": {"history": [2, 3], "n": 3}}));
        let created = merged(
            json!({}),
            json!({"stats": {"history": [1, 2, 3]}}),
            &["stats.history"],
            2,
        );
        assert_eq!(created, json!({"stats": {"history": [2, 3]}}));
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
