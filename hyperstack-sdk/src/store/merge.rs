//! Deep merge of patches into entities, and the difference of two versions of an entity.

use serde_json::{Map, Value};

/// The field the server stamps on frames with the on-chain position of the change
/// (`"slot:index"`); it is left out when comparing versions during reconciliation.
pub const SEQ_FIELD: &str = "_seq";

/// Merges `patch` into `target` as the protocol defines it:
///
/// - objects merge key by key, recursively;
/// - any other value (arrays included) replaces the old one, and an explicit `null` is kept as
///   `null` (absent keys leave the old value alone);
/// - arrays at a dotted path listed in `append` (`"last_trades"`, `"stats.history"`) are extended
///   with the patch's items instead of replaced.
///
/// ```
/// use serde_json::json;
/// let mut entity = json!({"a": {"b": 1, "c": 2}, "list": [1], "gone": 5});
/// hyperstack_sdk::store::merge_patch(
///     &mut entity,
///     &json!({"a": {"b": 10}, "list": [2, 3], "gone": null}),
///     &["list".to_string()],
/// );
/// assert_eq!(entity, json!({"a": {"b": 10, "c": 2}, "list": [1, 2, 3], "gone": null}));
/// ```
pub fn merge_patch(target: &mut Value, patch: &Value, append: &[String]) {
    if append.is_empty() {
        merge_plain(target, patch);
    } else {
        let mut path = String::new();
        merge_with_append(target, patch, &mut path, append);
    }
}

fn merge_plain(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, pv) in p {
                match t.get_mut(k) {
                    Some(tv) => merge_plain(tv, pv),
                    None => {
                        t.insert(k.clone(), pv.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn merge_with_append(target: &mut Value, patch: &Value, path: &mut String, append: &[String]) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, pv) in p {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match t.get_mut(k) {
                    Some(tv) => {
                        let appended = match (&mut *tv, pv) {
                            (Value::Array(items), Value::Array(new)) if is_append(path, append) => {
                                items.extend(new.iter().cloned());
                                true
                            }
                            _ => false,
                        };
                        if !appended {
                            merge_with_append(tv, pv, path, append);
                        }
                    }
                    None => {
                        t.insert(k.clone(), pv.clone());
                    }
                }
                path.truncate(len);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn is_append(path: &str, append: &[String]) -> bool {
    append.iter().any(|a| a == path)
}

/// What changed from `old` to `new`, as a patch: keys whose values differ (nested objects
/// diffed recursively), keys that disappeared as `null`. `None` when they are equal. The
/// top-level [`SEQ_FIELD`] is ignored.
///
/// ```
/// use serde_json::json;
/// let d = hyperstack_sdk::store::diff(&json!({"a": 1, "b": {"c": 1, "d": 2}, "e": 1}),
///                                     &json!({"a": 1, "b": {"c": 1, "d": 3}}));
/// assert_eq!(d, Some(json!({"b": {"d": 3}, "e": null})));
/// ```
pub fn diff(old: &Value, new: &Value) -> Option<Value> {
    diff_at(old, new, true)
}

fn diff_at(old: &Value, new: &Value, top: bool) -> Option<Value> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut out = Map::new();
            for (k, nv) in n {
                if top && k == SEQ_FIELD {
                    continue;
                }
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = diff_at(ov, nv, false) {
                            out.insert(k.clone(), d);
                        }
                    }
                    None => {
                        out.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                let skipped = top && k == SEQ_FIELD;
                if !skipped && !n.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (o, n) if o == n => None,
        (_, n) => Some(n.clone()),
    }
}

/// Whether a patch touches the dotted `path` (`"a"`, `"a.b"`): every segment is present.
pub fn has_path(patch: &Value, path: &str) -> bool {
    let mut cur = patch;
    for seg in path.split('.') {
        match cur.get(seg) {
            Some(v) => cur = v,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_append_and_null() {
        let mut e = json!({"s": {"h": [1], "x": 1}, "arr": [1, 2], "n": 1});
        merge_patch(
            &mut e,
            &json!({"s": {"h": [2]}, "arr": [9], "n": null, "new": {"k": 1}}),
            &["s.h".to_string()],
        );
        assert_eq!(
            e,
            json!({"s": {"h": [1, 2], "x": 1}, "arr": [9], "n": null, "new": {"k": 1}})
        );
    }

    #[test]
    fn diff_ignores_seq_and_reports_equal() {
        assert_eq!(
            diff(&json!({"a": 1, "_seq": "1:0"}), &json!({"a": 1})),
            None
        );
        assert_eq!(diff(&json!([1]), &json!([1, 2])), Some(json!([1, 2])));
    }

    #[test]
    fn paths() {
        let p = json!({"a": {"b": null}});
        assert!(has_path(&p, "a"));
        assert!(has_path(&p, "a.b"));
        assert!(!has_path(&p, "a.c"));
        assert!(!has_path(&p, "z"));
    }
}
