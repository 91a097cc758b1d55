//! Lookup indexes: value → entity key, directly or through another lookup.
//!
//! An entry registered by a source whose key is itself looked up (`via`) keeps the value to
//! look up, not its result: it is resolved when used, through the other index as it is then.
//! So arrival order does not matter (`reset` may name a round whose account arrives later),
//! and when the other index is re-pointed the entry follows.

use lru::LruCache;

use super::KeyVal;

/// What a lookup entry points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The entity's primary key.
    Key(KeyVal),
    /// A value to look up in another lookup index of the same entity.
    Via { lookup: usize, value: KeyVal },
}

/// The lookup indexes of one entity type, `[lookup]`.
pub(crate) type Indexes = Vec<LruCache<KeyVal, Target>>;

/// Points `value` of lookup `lookup` at `target` (re-pointing it when it pointed elsewhere).
pub(crate) fn link(indexes: &mut Indexes, lookup: usize, value: KeyVal, target: Target) {
    if let Some(index) = indexes.get_mut(lookup) {
        index.put(value, target);
    }
}

/// The primary key `value` maps to in lookup `lookup`, following `via` entries (at most once
/// per index: a chain longer than the number of indexes would be a cycle, which validation
/// refuses).
pub(crate) fn resolve(indexes: &mut Indexes, lookup: usize, value: &KeyVal) -> Option<KeyVal> {
    let mut lookup = lookup;
    let mut value = value.clone();
    for _ in 0..=indexes.len() {
        match indexes.get_mut(lookup)?.get(&value)?.clone() {
            Target::Key(k) => return Some(k),
            Target::Via {
                lookup: l,
                value: v,
            } => {
                lookup = l;
                value = v;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;

    fn indexes(n: usize) -> Indexes {
        (0..n)
            .map(|_| LruCache::new(NonZeroUsize::new(8).unwrap()))
            .collect()
    }

    #[test]
    fn chains_resolve_when_used_and_follow_re_pointing() {
        let mut ix = indexes(2);
        // var → (address lookup, "addr-a"), registered before "addr-a" is known.
        link(
            &mut ix,
            1,
            KeyVal::Str("var".into()),
            Target::Via {
                lookup: 0,
                value: KeyVal::Str("addr-a".into()),
            },
        );
        assert_eq!(resolve(&mut ix, 1, &KeyVal::Str("var".into())), None);
        link(
            &mut ix,
            0,
            KeyVal::Str("addr-a".into()),
            Target::Key(KeyVal::Int(7)),
        );
        assert_eq!(
            resolve(&mut ix, 1, &KeyVal::Str("var".into())),
            Some(KeyVal::Int(7))
        );
        // Re-pointing the var moves it to the next round.
        link(
            &mut ix,
            0,
            KeyVal::Str("addr-b".into()),
            Target::Key(KeyVal::Int(8)),
        );
        link(
            &mut ix,
            1,
            KeyVal::Str("var".into()),
            Target::Via {
                lookup: 0,
                value: KeyVal::Str("addr-b".into()),
            },
        );
        assert_eq!(
            resolve(&mut ix, 1, &KeyVal::Str("var".into())),
            Some(KeyVal::Int(8))
        );
    }

    #[test]
    fn a_cycle_resolves_to_nothing() {
        let mut ix = indexes(2);
        let v = KeyVal::Int(1);
        link(
            &mut ix,
            0,
            v.clone(),
            Target::Via {
                lookup: 1,
                value: v.clone(),
            },
        );
        link(
            &mut ix,
            1,
            v.clone(),
            Target::Via {
                lookup: 0,
                value: v.clone(),
            },
        );
        assert_eq!(resolve(&mut ix, 0, &v), None);
    }
}
