//! Per-entity state and the field strategies.

use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::decode::Value;
use crate::spec::expr::Value as ExprValue;
use crate::spec::idl::Layout;
use crate::spec::Strategy;

/// The current value of one field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum FieldState {
    /// Never set.
    Unset,
    /// `set_once` / `last_write` value (`Value::Option(None)` for null).
    Value(Value),
    /// Integer `count` / `sum` / `max` / `min`.
    Int(i128),
    /// Float `sum` / `max` / `min`.
    Float(#[serde(with = "crate::store::codec::float")] f64),
    /// `append` items, oldest first.
    List(VecDeque<Json>),
    /// `unique_count`: the distinct values seen (as JSON text).
    Distinct(BTreeSet<String>),
    /// `merge`: the merged object.
    Object(Map<String, Json>),
    /// A computed field's last result.
    Computed(ExprValue),
    /// A resolver field: the input it was last evaluated to, and the resolved value for it
    /// (`None` until resolved, or when the resolver knows none).
    Resolved {
        input: Option<Box<str>>,
        value: Option<Json>,
    },
}

/// One entity in the state table.
#[derive(Debug, Clone)]
pub(crate) struct EntityState {
    /// The key as clients see it.
    pub key: Arc<str>,
    /// One per field of the entity.
    pub fields: Vec<FieldState>,
    /// Fields whose `stop` instruction touched the entity: they keep their value.
    pub stopped: Vec<usize>,
    /// The last `(slot, write version)` applied of the account whose address is this
    /// entity's key, when this entity type holds account versions (`transform/versions.rs`).
    pub applied: Option<(u64, u64)>,
}

impl EntityState {
    /// A new entity with every field unset.
    pub fn new(key: Arc<str>, fields: usize) -> EntityState {
        EntityState {
            key,
            fields: vec![FieldState::Unset; fields],
            stopped: Vec::new(),
            applied: None,
        }
    }
}

/// What applying a value did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Unchanged,
    Changed,
    /// An item was appended (its JSON is sent under the field's append path).
    Appended(Json),
}

enum Num {
    Int(i128),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::F64(x) if x.is_finite() => Some(Num::Float(*x)),
        Value::U128(u) if i128::try_from(*u).is_err() => Some(Num::Float(*u as f64)),
        other => other.as_i128().map(Num::Int),
    }
}

fn current(state: &FieldState) -> Option<Num> {
    match state {
        FieldState::Int(i) => Some(Num::Int(*i)),
        FieldState::Float(x) => Some(Num::Float(*x)),
        _ => None,
    }
}

fn as_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(x) => *x,
    }
}

fn store(state: &mut FieldState, n: Num) -> Outcome {
    let new = match n {
        Num::Int(i) => FieldState::Int(i),
        Num::Float(x) => FieldState::Float(x),
    };
    if *state == new {
        Outcome::Unchanged
    } else {
        *state = new;
        Outcome::Changed
    }
}

/// Merges `patch` into `target`: objects key by key, recursively; any other value (arrays
/// included) replaces; a null leaves the held value alone. Returns whether anything changed.
fn merge_json(target: &mut Map<String, Json>, patch: &Map<String, Json>) -> bool {
    let mut changed = false;
    for (k, v) in patch {
        match (target.get_mut(k), v) {
            (_, Json::Null) => {}
            (Some(Json::Object(t)), Json::Object(p)) => changed |= merge_json(t, p),
            (Some(old), new) if old == new => {}
            (_, new) => {
                target.insert(k.clone(), new.clone());
                changed = true;
            }
        }
    }
    changed
}

/// Applies `value` (`None` = null) to a field with `strategy`; `layout` is the value's.
pub(crate) fn apply(
    strategy: Strategy,
    layout: &Layout,
    state: &mut FieldState,
    value: Option<Cow<'_, Value>>,
) -> Outcome {
    match strategy {
        Strategy::SetOnce => {
            if *state != FieldState::Unset {
                return Outcome::Unchanged;
            }
            *state = FieldState::Value(value.map_or(Value::Option(None), Cow::into_owned));
            Outcome::Changed
        }
        Strategy::LastWrite => {
            let value = value.as_deref().unwrap_or(&Value::Option(None));
            if matches!(state, FieldState::Value(v) if v == value) {
                return Outcome::Unchanged;
            }
            *state = FieldState::Value(value.clone());
            Outcome::Changed
        }
        Strategy::Count => {
            let n = match state {
                FieldState::Int(i) => i.saturating_add(1),
                _ => 1,
            };
            *state = FieldState::Int(n);
            Outcome::Changed
        }
        Strategy::Sum => {
            let Some(v) = value.as_deref().and_then(num) else {
                return Outcome::Unchanged;
            };
            let sum = match (current(state), v) {
                (None, v) => v,
                (Some(Num::Int(a)), Num::Int(b)) => match a.checked_add(b) {
                    Some(s) => Num::Int(s),
                    None => Num::Float(a as f64 + b as f64),
                },
                (Some(a), b) => Num::Float(as_f64(&a) + as_f64(&b)),
            };
            store(state, sum)
        }
        Strategy::Max | Strategy::Min => {
            let Some(v) = value.as_deref().and_then(num) else {
                return Outcome::Unchanged;
            };
            let better = match current(state) {
                None => true,
                Some(Num::Int(a)) if matches!(v, Num::Int(_)) => {
                    let Num::Int(b) = v else {
                        return Outcome::Unchanged;
                    };
                    if strategy == Strategy::Max {
                        b > a
                    } else {
                        b < a
                    }
                }
                Some(a) => {
                    let (a, b) = (as_f64(&a), as_f64(&v));
                    if strategy == Strategy::Max {
                        b > a
                    } else {
                        b < a
                    }
                }
            };
            if better {
                store(state, v)
            } else {
                Outcome::Unchanged
            }
        }
        Strategy::UniqueCount => {
            let Some(v) = value else {
                return Outcome::Unchanged;
            };
            let text = v.to_json(Some(layout)).to_string();
            if !matches!(state, FieldState::Distinct(_)) {
                *state = FieldState::Distinct(BTreeSet::new());
            }
            match state {
                FieldState::Distinct(seen) => {
                    if seen.insert(text) {
                        Outcome::Changed
                    } else {
                        Outcome::Unchanged
                    }
                }
                _ => Outcome::Unchanged,
            }
        }
        Strategy::Merge => {
            let Some(Json::Object(patch)) = value.map(|v| v.to_json(Some(layout))) else {
                return Outcome::Unchanged;
            };
            match state {
                FieldState::Object(held) => {
                    if merge_json(held, &patch) {
                        Outcome::Changed
                    } else {
                        Outcome::Unchanged
                    }
                }
                _ => {
                    let mut held = Map::new();
                    merge_json(&mut held, &patch);
                    *state = FieldState::Object(held);
                    Outcome::Changed
                }
            }
        }
        Strategy::Append { cap } => {
            let item = value.map_or(Json::Null, |v| v.to_json(Some(layout)));
            if !matches!(state, FieldState::List(_)) {
                *state = FieldState::List(VecDeque::new());
            }
            if let FieldState::List(list) = state {
                list.push_back(item.clone());
                while list.len() > cap {
                    list.pop_front();
                }
            }
            Outcome::Appended(item)
        }
    }
}

impl FieldState {
    /// The field's JSON; `layout` is its source values' layout.
    pub fn to_json(&self, layout: Option<&Layout>) -> Json {
        match self {
            FieldState::Unset => Json::Null,
            FieldState::Value(v) => v.to_json(layout),
            FieldState::Int(i) => ExprValue::Int(*i).to_json(),
            FieldState::Float(x) => ExprValue::Float(*x).to_json(),
            FieldState::List(items) => Json::Array(items.iter().cloned().collect()),
            FieldState::Distinct(seen) => Json::from(seen.len()),
            FieldState::Object(map) => Json::Object(map.clone()),
            FieldState::Computed(v) => v.to_json(),
            FieldState::Resolved { value, .. } => value.clone().unwrap_or(Json::Null),
        }
    }

    /// The field as the expression language sees it (`None` when unset).
    pub fn to_expr(&self, layout: Option<&Layout>) -> Option<ExprValue> {
        match self {
            FieldState::Unset => None,
            FieldState::Value(v) => Some(v.to_expr(layout)),
            FieldState::Int(i) => Some(ExprValue::Int(*i)),
            FieldState::Float(x) => Some(ExprValue::Float(*x)),
            FieldState::List(_) | FieldState::Object(_) => {
                Some(ExprValue::from_json(&self.to_json(layout)))
            }
            FieldState::Distinct(seen) => Some(ExprValue::Int(seen.len() as i128)),
            FieldState::Computed(v) => Some(v.clone()),
            FieldState::Resolved { value, .. } => value.as_ref().map(ExprValue::from_json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::idl::IdlPrimitive;
    use serde_json::json;

    fn u64l() -> Layout {
        Layout::Primitive(IdlPrimitive::U64)
    }

    fn run(strategy: Strategy, values: &[Option<Value>]) -> (FieldState, Vec<Outcome>) {
        let mut state = FieldState::Unset;
        let outcomes = values
            .iter()
            .map(|v| apply(strategy, &u64l(), &mut state, v.as_ref().map(Cow::Borrowed)))
            .collect();
        (state, outcomes)
    }

    #[test]
    fn set_once_keeps_the_first_value() {
        let (s, o) = run(
            Strategy::SetOnce,
            &[Some(Value::U64(1)), Some(Value::U64(2))],
        );
        assert_eq!(s, FieldState::Value(Value::U64(1)));
        assert_eq!(o, vec![Outcome::Changed, Outcome::Unchanged]);
    }

    #[test]
    fn last_write_reports_only_changes() {
        let vals = [
            Some(Value::U64(1)),
            Some(Value::U64(1)),
            Some(Value::U64(3)),
            None,
        ];
        let (s, o) = run(Strategy::LastWrite, &vals);
        assert_eq!(s.to_json(None), Json::Null, "null overwrites");
        assert_eq!(
            o,
            vec![
                Outcome::Changed,
                Outcome::Unchanged,
                Outcome::Changed,
                Outcome::Changed
            ]
        );
    }

    #[test]
    fn count_sum_max_min() {
        let vals = [
            Some(Value::U64(5)),
            None,
            Some(Value::U64(2)),
            Some(Value::U64(9)),
        ];
        assert_eq!(run(Strategy::Count, &vals).0, FieldState::Int(4));
        assert_eq!(run(Strategy::Sum, &vals).0, FieldState::Int(16));
        assert_eq!(run(Strategy::Max, &vals).0, FieldState::Int(9));
        let (min, o) = run(Strategy::Min, &vals);
        assert_eq!(min, FieldState::Int(2));
        assert_eq!(o[3], Outcome::Unchanged);
        let floats = [Some(Value::F64(1.5)), Some(Value::U64(2))];
        assert_eq!(run(Strategy::Sum, &floats).0, FieldState::Float(3.5));
        let big = [Some(Value::U64(u64::MAX)), Some(Value::U64(u64::MAX))];
        assert_eq!(
            run(Strategy::Sum, &big).0.to_json(None),
            json!("36893488147419103230"),
            "beyond 2^53 as a string"
        );
    }

    #[test]
    fn unique_count_counts_distinct_values() {
        let vals = [
            Some(Value::U64(5)),
            Some(Value::U64(7)),
            None,
            Some(Value::U64(5)),
        ];
        let (s, o) = run(Strategy::UniqueCount, &vals);
        assert_eq!(s.to_json(None), json!(2));
        assert_eq!(
            o,
            vec![
                Outcome::Changed,
                Outcome::Changed,
                Outcome::Unchanged,
                Outcome::Unchanged
            ]
        );
    }

    #[test]
    fn merge_combines_objects_and_keeps_what_a_value_lacks() {
        use crate::spec::idl::LayoutFields;
        let a = Layout::Struct {
            name: "A".into(),
            fields: LayoutFields::Named(vec![
                ("id".into(), u64l()),
                ("kind".into(), Layout::Primitive(IdlPrimitive::String)),
            ]),
        };
        let b = Layout::Struct {
            name: "B".into(),
            fields: LayoutFields::Named(vec![
                ("id".into(), u64l()),
                ("pot".into(), Layout::Option(Box::new(u64l()))),
            ]),
        };
        let mut state = FieldState::Unset;
        let va = Value::Struct(vec![Value::U64(1), Value::String("join".into())]);
        let vb = Value::Struct(vec![
            Value::U64(1),
            Value::Option(Some(Box::new(Value::U64(9)))),
        ]);
        let vb_null = Value::Struct(vec![Value::U64(1), Value::Option(None)]);
        assert_eq!(
            apply(Strategy::Merge, &a, &mut state, Some(Cow::Borrowed(&va))),
            Outcome::Changed
        );
        assert_eq!(
            apply(Strategy::Merge, &b, &mut state, Some(Cow::Borrowed(&vb))),
            Outcome::Changed
        );
        assert_eq!(
            state.to_json(None),
            json!({"id": 1, "kind": "join", "pot": 9})
        );
        assert_eq!(
            apply(
                Strategy::Merge,
                &b,
                &mut state,
                Some(Cow::Borrowed(&vb_null))
            ),
            Outcome::Unchanged,
            "null keeps the held value"
        );
        assert_eq!(
            apply(Strategy::Merge, &a, &mut state, Some(Cow::Borrowed(&va))),
            Outcome::Unchanged
        );
    }

    #[test]
    fn append_caps_the_list() {
        let vals: Vec<Option<Value>> = (0..5).map(|i| Some(Value::U64(i))).collect();
        let (s, o) = run(Strategy::Append { cap: 3 }, &vals);
        assert_eq!(s.to_json(None), json!([2, 3, 4]));
        assert_eq!(o[4], Outcome::Appended(json!(4)));
    }
}
