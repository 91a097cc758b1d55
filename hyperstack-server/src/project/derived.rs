//! Derived views: membership (filter), order (sort field, then key) and the top-N window.
//!
//! Every entity that passes the filter sits in a `BTreeSet<(Rank, key)>`; the members are its
//! first `limit` entries. One mutation moves at most one entity, so the window changes by at
//! most one entity besides the mutated one, found in O(limit + log n).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use hyperstack_spec::expr::{Expr, Value as ExprValue};
use hyperstack_spec::idl::{IdlPrimitive, Layout};
use hyperstack_spec::{DerivedView, Entity, SortOrder};
use serde_json::{Map, Value};

use super::store::value_at;

/// The view order (exact numbers, then strings, then booleans; missing values last in both
/// directions) is the wire's: the SDK orders a view's rows with the same rules.
pub(crate) use hyperstack_spec::wire::Rank;
#[cfg(test)]
pub(crate) use hyperstack_spec::wire::SortValue;

/// How a mutation changed a derived view.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    /// The mutated entity was a member before.
    pub was_member: bool,
    /// The mutated entity is a member now.
    pub is_member: bool,
    /// Another entity pushed out of the window.
    pub pushed_out: Option<Arc<str>>,
    /// Another entity pulled into the window.
    pub pulled_in: Option<Arc<str>>,
}

/// The state of one derived view.
pub(crate) struct Derived {
    sort: Option<(Vec<String>, SortOrder)>,
    limit: Option<usize>,
    filter: Option<Expr>,
    /// Filter references whose field is an integer: strings of digits evaluate as integers.
    int_paths: HashSet<String>,
    order: BTreeSet<(Rank, Arc<str>)>,
    ranks: HashMap<Arc<str>, Rank>,
}

impl Derived {
    /// An empty view over `entity`.
    pub fn new(entity: &Entity, view: &DerivedView) -> Derived {
        let int_paths = view
            .filter
            .iter()
            .flat_map(|f| f.references())
            .filter(|path| is_int_path(entity, path))
            .collect();
        Derived {
            sort: view
                .sort
                .as_ref()
                .map(|s| (s.field.split('.').map(str::to_string).collect(), s.order)),
            limit: view.limit,
            filter: view.filter.clone(),
            int_paths,
            order: BTreeSet::new(),
            ranks: HashMap::new(),
        }
    }

    /// The sort field's path segments and order, if sorted.
    pub fn sort(&self) -> Option<&(Vec<String>, SortOrder)> {
        self.sort.as_ref()
    }

    /// Members in view order.
    pub fn members(&self) -> impl Iterator<Item = &Arc<str>> {
        self.order
            .iter()
            .take(self.limit.unwrap_or(usize::MAX))
            .map(|(_, k)| k)
    }

    /// Records the new state of `key` (`None`: deleted or evicted) and reports how the
    /// window changed.
    pub fn update(&mut self, key: &Arc<str>, entity: Option<&Map<String, Value>>) -> Delta {
        let old = self.ranks.get(key).cloned();
        let new = entity.and_then(|e| self.rank(e));
        if old == new {
            let member = new.is_some_and(|r| self.is_member(r, key));
            return Delta {
                was_member: member,
                is_member: member,
                ..Delta::default()
            };
        }
        let was_member = old.as_ref().is_some_and(|r| self.is_member(r.clone(), key));
        if let Some(r) = old {
            self.order.remove(&(r, key.clone()));
            self.ranks.remove(key);
        }
        if let Some(r) = &new {
            self.order.insert((r.clone(), key.clone()));
            self.ranks.insert(key.clone(), r.clone());
        }
        let is_member = new.is_some_and(|r| self.is_member(r, key));
        let mut delta = Delta {
            was_member,
            is_member,
            ..Delta::default()
        };
        if let (Some(n), true) = (self.limit, was_member != is_member) {
            // The others in the window were the first n (or n - 1) of the others; the one at
            // index n - 1 crosses the boundary the other way.
            let crossing = n.checked_sub(1).and_then(|i| {
                self.order
                    .iter()
                    .filter(|(_, k)| k != key)
                    .nth(i)
                    .map(|(_, k)| k.clone())
            });
            if is_member {
                delta.pushed_out = crossing;
            } else {
                delta.pulled_in = crossing;
            }
        }
        delta
    }

    /// Whether the entry `(rank, key)` (present in the set) is among the first `limit`.
    fn is_member(&self, rank: Rank, key: &Arc<str>) -> bool {
        match self.limit {
            None => true,
            Some(0) => false,
            Some(n) => self.order.range(..(rank, key.clone())).nth(n - 1).is_none(),
        }
    }

    /// The entity's rank, or `None` when the filter excludes it.
    fn rank(&self, entity: &Map<String, Value>) -> Option<Rank> {
        if let Some(filter) = &self.filter {
            let env = |path: &str| {
                let segments: Vec<&str> = path.split('.').collect();
                let v = value_at(entity, &segments)?;
                if let (Value::String(s), true) = (v, self.int_paths.contains(path)) {
                    if let Ok(i) = s.parse::<i128>() {
                        return Some(ExprValue::Int(i));
                    }
                }
                Some(ExprValue::from_json(v))
            };
            if !filter.eval(&env).is_truthy_filter() {
                return None;
            }
        }
        Some(match &self.sort {
            Some((path, order)) => Rank::new(value_at(entity, path), *order),
            None => Rank::last(),
        })
    }
}

/// Whether the field path names an integer (so a big integer sent as a string compares as one).
fn is_int_path(entity: &Entity, path: &str) -> bool {
    let mut segments = path.split('.');
    let Some(field) = segments.next().and_then(|f| entity.field(f)) else {
        return false;
    };
    let mut layout = &field.ty;
    for seg in segments {
        match unwrap_option(layout).field(seg) {
            Some(inner) => layout = inner,
            None => return false,
        }
    }
    use IdlPrimitive::*;
    matches!(
        unwrap_option(layout),
        Layout::Primitive(U8 | U16 | U32 | U64 | U128 | I8 | I16 | I32 | I64 | I128)
    )
}

fn unwrap_option(mut layout: &Layout) -> &Layout {
    while let Layout::Option(inner) | Layout::COption(inner) = layout {
        layout = inner;
    }
    layout
}

#[cfg(test)]
#[path = "derived_tests.rs"]
mod tests;
