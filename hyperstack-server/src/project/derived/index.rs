//! The full order of one derived view, kept in the store's `derived` keyspace: one record per
//! member, keyed `0x00, view, rank bytes, entity key` (so the keyspace's byte order is the
//! view order), valued with the entity key. Changes since the last commit wait in memory (an
//! overlay that reads see through) and are written by the engine's next commit.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use fjall::Keyspace;

use crate::store::StoreError;

/// One derived view's sorted members, on disk, with the uncommitted changes in front.
pub(crate) struct SortIndex {
    keyspace: Keyspace,
    /// `0x00, view`: the first bytes of every order key of this view.
    prefix: Box<[u8]>,
    /// Changes since the last commit (`None`: removed).
    pending: BTreeMap<Box<[u8]>, Option<Arc<str>>>,
}

/// An order key and the entity key it belongs to.
pub(crate) type Entry = (Box<[u8]>, Arc<str>);

impl SortIndex {
    /// The index of `view` in `keyspace`.
    pub fn new(keyspace: Keyspace, view: u16) -> SortIndex {
        let mut prefix = vec![0u8];
        prefix.extend_from_slice(&view.to_be_bytes());
        SortIndex {
            keyspace,
            prefix: prefix.into(),
            pending: BTreeMap::new(),
        }
    }

    /// The bytes every order key of this view starts with.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Adds a member.
    pub fn insert(&mut self, order: Box<[u8]>, key: Arc<str>) {
        self.pending.insert(order, Some(key));
    }

    /// Removes a member.
    pub fn remove(&mut self, order: &[u8]) {
        self.pending.insert(order.into(), None);
    }

    /// Up to `n` members after `after` (from the first when `None`), in view order: the
    /// committed ones with the pending changes applied.
    pub fn scan_after(&self, after: Option<&[u8]>, n: usize) -> Result<Vec<Entry>, StoreError> {
        let start: Bound<&[u8]> = match after {
            Some(k) => Bound::Excluded(k),
            None => Bound::Included(&self.prefix),
        };
        let end = prefix_end(&self.prefix);
        let end_bound: Bound<&[u8]> = match &end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        let mut stored = self.keyspace.range::<&[u8], _>((start, end_bound));
        let mut next_stored = || -> Result<Option<(fjall::Slice, fjall::Slice)>, StoreError> {
            Ok(match stored.next() {
                Some(item) => Some(item.into_inner()?),
                None => None,
            })
        };
        let mut pending = self.pending.range::<[u8], _>((start, end_bound));
        let (mut s, mut p) = (next_stored()?, pending.next());
        let mut out = Vec::new();
        while out.len() < n {
            match (s.take(), p) {
                (None, None) => break,
                // A pending change first when its key comes first; it overrides a stored
                // record of the same key.
                (Some((sk, sv)), Some((pk, change))) if **pk <= *sk => {
                    s = if **pk == *sk {
                        next_stored()?
                    } else {
                        Some((sk, sv))
                    };
                    if let Some(key) = change {
                        out.push((pk.clone(), key.clone()));
                    }
                    p = pending.next();
                }
                (None, Some((pk, change))) => {
                    if let Some(key) = change {
                        out.push((pk.clone(), key.clone()));
                    }
                    p = pending.next();
                }
                (Some((sk, sv)), pend) => {
                    out.push((Box::from(&*sk), entity_key(&sv)?));
                    s = next_stored()?;
                    p = pend;
                }
            }
        }
        Ok(out)
    }

    /// Writes the pending changes into `batch`.
    pub fn write_into(&mut self, batch: &mut fjall::OwnedWriteBatch) {
        for (order, change) in std::mem::take(&mut self.pending) {
            match change {
                Some(key) => batch.insert(&self.keyspace, order.to_vec(), key.as_bytes()),
                None => batch.remove(&self.keyspace, order.to_vec()),
            }
        }
    }

    /// Changes not yet written.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

fn entity_key(value: &[u8]) -> Result<Arc<str>, StoreError> {
    std::str::from_utf8(value)
        .map(Arc::from)
        .map_err(|e| StoreError::Corrupt {
            keyspace: "derived",
            reason: format!("entity key is not UTF-8: {e}"),
        })
}

/// The smallest byte string after every string starting with `prefix` (`None`: there is
/// none, every byte is 0xFF).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store() -> Store {
        crate::store::temporary_for_tests()
    }

    fn key(view: u16, n: u32) -> Box<[u8]> {
        let mut k = vec![0u8];
        k.extend_from_slice(&view.to_be_bytes());
        k.extend_from_slice(&n.to_be_bytes());
        k.into()
    }

    #[test]
    fn scans_merge_pending_changes_over_committed_ones() {
        let store = store();
        let mut index = SortIndex::new(store.derived.clone(), 1);
        let mut other = SortIndex::new(store.derived.clone(), 2);
        let mut model = BTreeMap::new();
        let mut rng = 7u64;
        for round in 0..20 {
            for _ in 0..50 {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let n = (rng >> 33) as u32 % 120;
                let k = key(1, n);
                if rng.is_multiple_of(3) {
                    index.remove(&k);
                    model.remove(&k);
                } else {
                    let v: Arc<str> = Arc::from(format!("e{n}"));
                    index.insert(k.clone(), v.clone());
                    model.insert(k, v);
                }
                other.insert(key(2, n), Arc::from("other view"));
            }
            // Every scan position and length, before and after the commit.
            for committed in [false, true] {
                if committed {
                    let mut batch = store.batch();
                    index.write_into(&mut batch);
                    other.write_into(&mut batch);
                    store.commit(batch).expect("commit");
                    assert_eq!(index.pending(), 0);
                }
                let all: Vec<Entry> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                assert_eq!(
                    index.scan_after(None, usize::MAX).unwrap(),
                    all,
                    "round {round}"
                );
                for start in [0usize, 1, 17, 60, all.len()] {
                    if start > all.len() {
                        continue;
                    }
                    let after = start.checked_sub(1).and_then(|i| all.get(i));
                    for n in [1usize, 5, 1000] {
                        let got = index.scan_after(after.map(|(k, _)| &**k), n).expect("scan");
                        let want: Vec<Entry> = all.iter().skip(start).take(n).cloned().collect();
                        assert_eq!(got, want, "round {round} start {start} n {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_stored_key_that_is_not_utf8_is_a_corrupt_record_not_a_panic() {
        let store = store();
        let index = SortIndex::new(store.derived.clone(), 1);
        let mut batch = store.batch();
        batch.insert(&store.derived, key(1, 5).to_vec(), vec![0xFF, 0xFE]);
        store.commit(batch).expect("commit");
        match index.scan_after(None, 10) {
            Err(StoreError::Corrupt { keyspace, reason }) => {
                assert_eq!(keyspace, "derived");
                assert!(reason.contains("UTF-8"), "{reason}");
            }
            other => panic!("expected a corrupt record, got {other:?}"),
        }
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(&[0, 1, 2]), Some(vec![0, 1, 3]));
        assert_eq!(prefix_end(&[0, 1, 255]), Some(vec![0, 2]));
        assert_eq!(prefix_end(&[255, 255]), None);
    }
}
