//! Derived views: membership (filter), order (sort field, then key) and the top-N window.
//!
//! A view's full order lives in the store ([`index::SortIndex`]: one record per member, keyed
//! by the member's rank bytes so the store's byte order is the view order). A member's
//! previous place is computed from the entity before its change, so nothing else is stored
//! per member. Memory holds only the *head*:
//! the first members of the order, between `limit + 1` and `2 × limit` of them (at least 32
//! more than `limit`), refilled from the store when it runs short. A view without a limit
//! keeps no head: its snapshot reads the order from the store. Nothing is rebuilt on start:
//! the head is read back, so memory and start-up time do not grow with the number of
//! entities.
//!
//! One mutation moves at most one entity, so the window changes by at most one entity
//! besides the mutated one, found in O(limit).

mod index;

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use hyperstack_spec::expr::{Expr, Value as ExprValue};
use hyperstack_spec::idl::{IdlPrimitive, Layout};
use hyperstack_spec::{DerivedView, Entity, SortOrder};
use serde_json::{Map, Value};

use super::store::value_at;
use crate::store::{Store, StoreError};
use index::SortIndex;

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

/// Which entities a derived view holds and in what order: its filter and sort.
pub(crate) struct Rule {
    sort: Option<(Vec<String>, SortOrder)>,
    limit: Option<usize>,
    filter: Option<Expr>,
    /// Filter references whose field is an integer: strings of digits evaluate as integers.
    int_paths: HashSet<String>,
}

impl Rule {
    /// The rule of `view` over `entity`.
    pub fn new(entity: &Entity, view: &DerivedView) -> Rule {
        let int_paths = view
            .filter
            .iter()
            .flat_map(|f| f.references())
            .filter(|path| is_int_path(entity, path))
            .collect();
        Rule {
            sort: sort_of(view),
            limit: view.limit,
            filter: view.filter.clone(),
            int_paths,
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

/// The sort field's path segments and order of a derived view, if sorted.
pub(crate) fn sort_of(view: &DerivedView) -> Option<(Vec<String>, SortOrder)> {
    view.sort
        .as_ref()
        .map(|s| (s.field.split('.').map(str::to_string).collect(), s.order))
}

/// The state of one derived view.
pub(crate) struct Derived {
    rule: Rule,
    /// Every member in view order, in the store.
    index: SortIndex,
    /// Limited views: the first members of the order, at most `cap` (a prefix of it).
    head: BTreeMap<Box<[u8]>, Arc<str>>,
    /// Whether `head` holds every member.
    complete: bool,
    /// Most members `head` holds.
    cap: usize,
}

impl Derived {
    /// The view `id` (its index) of `entity` over `store`, as committed. Call
    /// [`Derived::load`] before use.
    pub fn new(entity: &Entity, view: &DerivedView, id: u16, store: &Store) -> Derived {
        let rule = Rule::new(entity, view);
        let cap = rule.limit.map_or(0, |n| n.saturating_mul(2).max(n + 32));
        Derived {
            rule,
            index: SortIndex::new(store.derived.clone(), id),
            head: BTreeMap::new(),
            complete: false,
            cap,
        }
    }

    /// Reads the head back from the store.
    pub fn load(&mut self) -> Result<(), StoreError> {
        self.head.clear();
        self.complete = false;
        self.refill()
    }

    /// The members in view order when the view has a limit (they are in memory); `None` for
    /// a view without one (read its order from the store: [`Derived::order_prefix`]).
    pub fn window(&self) -> Option<Vec<Arc<str>>> {
        let limit = self.rule.limit?;
        Some(self.head.values().take(limit).cloned().collect())
    }

    /// The bytes every key of this view's order starts with in the `derived` keyspace.
    pub fn order_prefix(&self) -> &[u8] {
        self.index.prefix()
    }

    /// Every member in view order, uncommitted changes included (reads the store).
    #[cfg(test)]
    pub fn all_members(&self) -> Result<Vec<Arc<str>>, StoreError> {
        Ok(self
            .index
            .scan_after(None, usize::MAX)?
            .into_iter()
            .map(|(_, k)| k)
            .collect())
    }

    /// Where an entity stands in the view: its order key (`0x00, view, rank bytes, entity
    /// key`), or `None` when it is not a member (filtered out, or `entity` is `None`).
    pub fn order_of(&self, key: &str, entity: Option<&Map<String, Value>>) -> Option<Box<[u8]>> {
        let rank = self.rule.rank(entity?)?;
        let mut k = self.index.prefix().to_vec();
        rank.write_bytes(&mut k);
        k.extend_from_slice(key.as_bytes());
        Some(k.into())
    }

    /// Moves `key` from order key `old` to `new` (as [`Derived::order_of`] gave them for the
    /// entity before and after its change) and reports how the window changed.
    pub fn update(
        &mut self,
        key: &Arc<str>,
        old: Option<Box<[u8]>>,
        new: Option<Box<[u8]>>,
    ) -> Result<Delta, StoreError> {
        if old == new {
            let member = new.as_deref().is_some_and(|k| self.is_member(k));
            return Ok(Delta {
                was_member: member,
                is_member: member,
                ..Delta::default()
            });
        }
        let was_member = old.as_deref().is_some_and(|k| self.is_member(k));
        if let Some(old) = &old {
            self.index.remove(old);
            self.head.remove(old);
        }
        if let Some(new) = &new {
            self.index.insert(new.clone(), key.clone());
            // The head stays a prefix of the order: it takes a key only before its end.
            let in_head = self.complete
                || self
                    .head
                    .last_key_value()
                    .is_some_and(|(last, _)| new < last);
            if self.rule.limit.is_some() && in_head {
                self.head.insert(new.clone(), key.clone());
            }
        }
        self.settle()?;
        let is_member = new.as_deref().is_some_and(|k| self.is_member(k));
        let mut delta = Delta {
            was_member,
            is_member,
            ..Delta::default()
        };
        if let (Some(n), true) = (self.rule.limit, was_member != is_member) {
            // The others in the window were the first n (or n - 1) of the others; the one at
            // index n - 1 crosses the boundary the other way. The head holds at least n + 1
            // members unless it holds them all.
            let crossing = n
                .checked_sub(1)
                .and_then(|i| self.head.values().filter(|k| *k != key).nth(i).cloned());
            if is_member {
                delta.pushed_out = crossing;
            } else {
                delta.pulled_in = crossing;
            }
        }
        Ok(delta)
    }

    /// Writes the changes since the last commit into `batch`.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        self.index.write_into(batch);
    }

    /// Refills a head that is short, then trims one over its bound.
    fn settle(&mut self) -> Result<(), StoreError> {
        let Some(limit) = self.rule.limit else {
            return Ok(());
        };
        if !self.complete && self.head.len() <= limit {
            self.refill()?;
        }
        while self.head.len() > self.cap {
            self.head.pop_last();
            self.complete = false;
        }
        Ok(())
    }

    /// Reads the members after the head from the store until it holds `cap`.
    fn refill(&mut self) -> Result<(), StoreError> {
        if self.rule.limit.is_none() {
            return Ok(());
        }
        let wanted = self.cap - self.head.len().min(self.cap);
        let after = self.head.last_key_value().map(|(k, _)| k.clone());
        let more = self.index.scan_after(after.as_deref(), wanted)?;
        self.complete = more.len() < wanted;
        self.head.extend(more);
        Ok(())
    }

    /// Whether the member with order key `order` is in the window.
    fn is_member(&self, order: &[u8]) -> bool {
        match self.rule.limit {
            None => true,
            Some(0) => false,
            Some(n) => {
                self.head.contains_key(order)
                    && self
                        .head
                        .range::<[u8], _>((Bound::Unbounded, Bound::Excluded(order)))
                        .nth(n - 1)
                        .is_none()
            }
        }
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
mod tests;
