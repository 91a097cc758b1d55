//! The order of sorted views: a total order over (value, key).

use std::cmp::{Ordering, Reverse};

use serde_json::Value;

use super::number::Num;
use crate::model::SortOrder;

mod bytes;

/// A value as the view order sees it; `S` holds text (borrowed while comparing, owned in a
/// [`SortValue`]).
#[derive(Debug, Clone)]
enum Key<S> {
    Num(Num<S>),
    Str(S),
    Bool(bool),
}

impl<'a> Key<&'a str> {
    /// The key of a JSON value; `None` (sorted last) for null, arrays and objects.
    fn of(v: &'a Value) -> Option<Key<&'a str>> {
        match v {
            Value::Number(n) => Some(Key::Num(match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Num::Int(i128::from(i)),
                (None, Some(u)) => Num::Int(i128::from(u)),
                // serde_json numbers are never NaN or infinite; keep the order total if one is.
                _ => Num::Float(n.as_f64().filter(|f| f.is_finite())?),
            })),
            Value::String(s) => Some(Num::parse_digits(s).map_or(Key::Str(s), Key::Num)),
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    fn class(&self) -> u8 {
        match self {
            Key::Num(_) => 0,
            Key::Str(_) => 1,
            Key::Bool(_) => 2,
        }
    }

    /// Ascending order of present values: numbers, strings, booleans.
    fn cmp_key(&self, other: &Key<&str>) -> Ordering {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => a.cmp_num(*b),
            (Key::Str(a), Key::Str(b)) => a.cmp(b),
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            _ => self.class().cmp(&other.class()),
        }
    }
}

impl<S: AsRef<str>> Key<S> {
    fn borrowed(&self) -> Key<&str> {
        match self {
            Key::Num(n) => Key::Num(n.borrowed()),
            Key::Str(s) => Key::Str(s.as_ref()),
            Key::Bool(b) => Key::Bool(*b),
        }
    }
}

/// A present sort value (a number, a string or a boolean), owned, in ascending view order.
///
/// ```
/// use hyperstack_spec::wire::SortValue;
/// use serde_json::json;
///
/// let v = |j| SortValue::from_json(&j);
/// assert!(v(json!("9007199254740993")) > v(json!(9007199254740992u64)));
/// assert!(v(json!(1.5)) < v(json!("2")) && v(json!(2.0)) == v(json!(2)));
/// assert!(v(json!(1e300)) < v(json!("abc")) && v(json!("abc")) < v(json!(false)));
/// assert_eq!(v(json!(null)), None);
/// ```
#[derive(Debug, Clone)]
pub struct SortValue(Key<Box<str>>);

impl SortValue {
    /// The sort value of a JSON value; `None` for the missing ones (null, arrays, objects),
    /// which sort last.
    pub fn from_json(v: &Value) -> Option<SortValue> {
        Key::of(v).map(|k| {
            SortValue(match k {
                Key::Num(n) => Key::Num(n.to_owned()),
                Key::Str(s) => Key::Str(s.into()),
                Key::Bool(b) => Key::Bool(b),
            })
        })
    }
}

impl Ord for SortValue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.borrowed().cmp_key(&other.0.borrowed())
    }
}

impl PartialOrd for SortValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortValue {
    /// Equal by value: `2`, `2.0` and `"002"` are equal.
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortValue {}

/// The position of an entity's sort value in a view of one direction: usable as a `BTreeSet`
/// key together with the entity key, `(Rank, key)`, which is exactly the view order.
///
/// Ranks of one view share its direction; ranks of different directions still compare
/// (ascending ones first) so the order stays total.
///
/// ```
/// use std::collections::BTreeSet;
/// use hyperstack_spec::wire::Rank;
/// use hyperstack_spec::SortOrder;
/// use serde_json::json;
///
/// let mut view = BTreeSet::new();
/// for (key, v) in [("a", json!(null)), ("b", json!(5)), ("c", json!("18446744073709551615")), ("d", json!(5))] {
///     view.insert((Rank::new(Some(&v), SortOrder::Desc), key));
/// }
/// let keys: Vec<&str> = view.iter().map(|(_, k)| *k).collect();
/// assert_eq!(keys, ["c", "b", "d", "a"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank(RankInner);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RankInner {
    Asc(SortValue),
    Desc(Reverse<SortValue>),
    Last,
}

impl Rank {
    /// The rank of the value at an entity's sort field (`None`: the field is absent).
    pub fn new(value: Option<&Value>, order: SortOrder) -> Rank {
        match (value.and_then(SortValue::from_json), order) {
            (None, _) => Rank::last(),
            (Some(v), SortOrder::Asc) => Rank(RankInner::Asc(v)),
            (Some(v), SortOrder::Desc) => Rank(RankInner::Desc(Reverse(v))),
        }
    }

    /// The rank of a missing value, after every present one; every entity of a view without
    /// a sort field has it (the view is then in key order).
    pub fn last() -> Rank {
        Rank(RankInner::Last)
    }

    /// Whether this is the rank of a missing value.
    pub fn is_last(&self) -> bool {
        self.0 == RankInner::Last
    }
}

/// The view order of two entities given as (value at the sort field, key): the same order
/// as `(Rank::new(value, order), key)`, without copying anything.
///
/// ```
/// use std::cmp::Ordering;
/// use hyperstack_spec::wire::compare;
/// use hyperstack_spec::SortOrder;
/// use serde_json::json;
///
/// let (null, two, big) = (json!(null), json!(2.0), json!("9007199254740993"));
/// assert_eq!(compare(SortOrder::Asc, (Some(&two), "b"), (Some(&big), "a")), Ordering::Less);
/// assert_eq!(compare(SortOrder::Desc, (Some(&null), "a"), (Some(&two), "b")), Ordering::Greater);
/// assert_eq!(compare(SortOrder::Desc, (None, "a"), (Some(&null), "b")), Ordering::Less);
/// ```
pub fn compare(order: SortOrder, a: (Option<&Value>, &str), b: (Option<&Value>, &str)) -> Ordering {
    let (ka, kb) = (a.0.and_then(Key::of), b.0.and_then(Key::of));
    let by_value = match (&ka, &kb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match order {
            SortOrder::Asc => x.cmp_key(y),
            SortOrder::Desc => y.cmp_key(x),
        },
    };
    by_value.then_with(|| a.1.cmp(b.1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classes_in_both_directions() {
        let values = [
            json!(true),
            json!(null),
            json!("zz"),
            json!([1]),
            json!(-1),
            json!({"a": 1}),
            json!(false),
            json!("18446744073709551616"),
            json!(0.5),
            json!("abc"),
        ];
        let sorted = |order| {
            let mut keys: Vec<usize> = (0..values.len()).collect();
            let key = |i: usize| format!("k{i}");
            keys.sort_by(|&i, &j| {
                compare(
                    order,
                    (Some(&values[i]), &key(i)),
                    (Some(&values[j]), &key(j)),
                )
            });
            keys.iter().map(|&i| values[i].clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            sorted(SortOrder::Asc),
            [
                json!(-1),
                json!(0.5),
                json!("18446744073709551616"),
                json!("abc"),
                json!("zz"),
                json!(false),
                json!(true),
                json!(null),
                json!([1]),
                json!({"a": 1}),
            ]
        );
        assert_eq!(
            sorted(SortOrder::Desc),
            [
                json!(true),
                json!(false),
                json!("zz"),
                json!("abc"),
                json!("18446744073709551616"),
                json!(0.5),
                json!(-1),
                json!(null),
                json!([1]),
                json!({"a": 1}),
            ]
        );
    }

    #[test]
    fn rank_agrees_with_compare() {
        let values = [
            json!(null),
            json!(3),
            json!("3"),
            json!(3.5),
            json!("x"),
            json!(true),
        ];
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for (i, a) in values.iter().enumerate() {
                for (j, b) in values.iter().enumerate() {
                    let (ka, kb) = (format!("{i}"), format!("{j}"));
                    let by_rank =
                        (Rank::new(Some(a), order), &ka).cmp(&(Rank::new(Some(b), order), &kb));
                    assert_eq!(
                        by_rank,
                        compare(order, (Some(a), &ka), (Some(b), &kb)),
                        "{a} {b}"
                    );
                }
            }
        }
        assert!(Rank::new(None, SortOrder::Asc).is_last());
        assert!(!Rank::new(Some(&json!(false)), SortOrder::Asc).is_last());
    }
}
