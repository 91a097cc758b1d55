//! The order of a sorted derived view, as announced in its `subscribed` frame.

use std::cmp::Ordering;

use serde_json::Value;

/// `{"field":["volume_sol"],"order":"desc"}` from a `subscribed` frame.
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

    fn value<'a>(&self, entity: &'a Value) -> Option<&'a Value> {
        self.field.iter().try_fold(entity, |cur, seg| cur.get(seg))
    }

    /// Compares two entities in view order (missing values last).
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        match (self.value(a), self.value(b)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = compare_values(x, y);
                if self.descending {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    }
}

/// Numbers (also numbers written as strings) compare numerically, strings lexically.
fn compare_values(x: &Value, y: &Value) -> Ordering {
    match (as_number(x), as_number(y)) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => match (x, y) {
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            _ => Ordering::Equal,
        },
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    }
}
