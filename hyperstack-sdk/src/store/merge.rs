//! Deep merge of patches into entities, and the difference of two versions of an entity.

use hyperstack_spec::wire::{self, AppendCaps, DEFAULT_APPEND_CAP};
use serde_json::{Map, Value};

/// The field the server stamps on frames with the on-chain position of the change
/// (`"slot:index"`); it is left out when comparing versions during reconciliation.
pub const SEQ_FIELD: &str = "_seq";

/// Merges `patch` into `target` as the protocol defines it, by the same rules the server
/// applies ([`hyperstack_spec::wire`]):
///
/// - objects merge key by key, recursively;
/// - any other value (arrays included) replaces the old one, and an explicit `null` is kept as
///   `null` (absent keys leave the old value alone);
/// - at a dotted path listed in `append` (`"last_trades"`, `"stats.history"`) the patch's
///   items are appended instead: an array's elements, or any other non-null value as one item
///   (a stored non-array becomes an empty array first; `null` resets the field to `null`).
///   Only the last `caps.cap(path)` items are kept: the caps the server announced in its
///   `subscribed` frame, so arrays stay bounded however long the store lives.
///
/// ```
/// use hyperstack_sdk::store::merge_patch;
/// use hyperstack_spec::wire::AppendCaps;
/// use serde_json::json;
///
/// let caps = AppendCaps::default().with_path("list", 2);
/// let mut entity = json!({"a": {"b": 1, "c": 2}, "list": [1], "gone": 5});
/// merge_patch(
///     &mut entity,
///     &json!({"a": {"b": 10}, "list": [2, 3], "gone": null}),
///     &["list".to_string()],
///     &caps,
/// );
/// assert_eq!(entity, json!({"a": {"b": 10, "c": 2}, "list": [2, 3], "gone": null}));
/// ```
pub fn merge_patch(target: &mut Value, patch: &Value, append: &[String], caps: &AppendCaps) {
    wire::merge_value(target, patch, append, caps);
}

/// The append caps a `subscribed` frame announces, from its `append_caps`
/// (`{"last_trades": 20}`) and `append_default_cap` (`100`) fields; a path without a cap keeps
/// [`DEFAULT_APPEND_CAP`] items when the server announces no default. Entries that are not
/// unsigned integers are skipped with a warning.
///
/// ```
/// use serde_json::json;
/// let caps = hyperstack_sdk::store::announced_caps(Some(&json!({"last_trades": 20})), None);
/// assert_eq!((caps.cap("last_trades"), caps.cap("other")), (20, 100));
/// ```
pub fn announced_caps(caps: Option<&Value>, default: Option<&Value>) -> AppendCaps {
    let as_cap = |v: &Value| v.as_u64().map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let default = match default {
        None => DEFAULT_APPEND_CAP,
        Some(v) => as_cap(v).unwrap_or_else(|| {
            tracing::warn!(value = %v, "ignoring a malformed `append_default_cap`");
            DEFAULT_APPEND_CAP
        }),
    };
    let mut out = AppendCaps::new(default);
    match caps {
        None => {}
        Some(Value::Object(paths)) => {
            for (path, v) in paths {
                match as_cap(v) {
                    Some(cap) => out.set(path.clone(), cap),
                    None => tracing::warn!(%path, value = %v, "ignoring a malformed append cap"),
                }
            }
        }
        Some(other) => tracing::warn!(value = %other, "ignoring malformed `append_caps`"),
    }
    out
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
        let mut e = json!({"s": {"h": [1], "x": 1}, "arr": [1, 2], "n": 1, "t": [1]});
        merge_patch(
            &mut e,
            &json!({"s": {"h": [2]}, "arr": [9], "n": null, "new": {"k": 1}, "t": {"v": 2}}),
            &["s.h".to_string(), "t".to_string()],
            &AppendCaps::default(),
        );
        assert_eq!(
            e,
            json!({"s": {"h": [1, 2], "x": 1}, "arr": [9], "n": null, "new": {"k": 1},
                   "t": [1, {"v": 2}]})
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
