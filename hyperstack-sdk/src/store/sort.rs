//! The order of a sorted derived view, as announced in its `subscribed` frame.

use std::cmp::Ordering;

use hyperstack_spec::{wire, SortOrder};
use serde_json::Value;

/// `{"field":["volume_sol"],"order":"desc"}` from a `subscribed` frame.
///
/// Rows are ordered by the server's rules ([`hyperstack_spec::wire`]): numbers first by exact
/// value (integers beyond 2^53 sent as strings included), then strings, then booleans, in the
/// view's direction; missing values (absent, `null`, arrays, objects) last in both directions;
/// ties by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortSpec {
    /// Path segments of the sort field.
    pub field: Vec<String>,
    /// Whether the order is descending.
    pub descending: bool,
}

impl SortSpec {
    /// Reads the `sort` object of a `subscribed` frame; `None` when absent or malformed.
    pub fn from_json(v: &Value) -> Option<SortSpec> {
        let field = v
            .get("field")?
            .as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?;
        let descending = v.get("order").and_then(Value::as_str) == Some("desc");
        Some(SortSpec { field, descending })
    }

    /// The direction.
    pub fn order(&self) -> SortOrder {
        if self.descending {
            SortOrder::Desc
        } else {
            SortOrder::Asc
        }
    }

    /// The value of an entity's sort field, if present.
    pub fn value<'a>(&self, entity: &'a Value) -> Option<&'a Value> {
        self.field.iter().try_fold(entity, |cur, seg| cur.get(seg))
    }

    /// Compares two entities by their sort values only (equal values are `Equal`).
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        wire::compare(self.order(), (self.value(a), ""), (self.value(b), ""))
    }

    /// The view order of two rows `(key, entity)`: by sort value, then by key. A total order,
    /// the server's.
    pub fn compare_rows(&self, a: (&str, &Value), b: (&str, &Value)) -> Ordering {
        wire::compare(self.order(), (self.value(a.1), a.0), (self.value(b.1), b.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_order_like_the_server() {
        let spec = SortSpec::from_json(&json!({"field": ["v"], "order": "desc"})).unwrap();
        let mut rows = [
            ("a", json!({"v": null})),
            ("b", json!({"v": "9007199254740993"})),
            ("c", json!({"v": 9007199254740992u64})),
            ("d", json!({})),
            ("e", json!({"v": "x"})),
            ("f", json!({"v": 1.5})),
            ("g", json!({"v": "18446744073709551615"})),
        ];
        rows.sort_by(|a, b| spec.compare_rows((a.0, &a.1), (b.0, &b.1)));
        let keys: Vec<&str> = rows.iter().map(|r| r.0).collect();
        assert_eq!(keys, ["e", "g", "b", "c", "f", "a", "d"]);
        assert_eq!(
            spec.compare(&json!({"v": 2}), &json!({"v": "2"})),
            Ordering::Equal
        );
    }
}
