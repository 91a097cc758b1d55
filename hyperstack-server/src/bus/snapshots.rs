//! Snapshot encodings shared between subscribers of the same view version.
//!
//! A snapshot job is taken at a commit, at the view's sequence number `seq` then. Every frame
//! of a view raises its `seq`, so two jobs of the same view, key and range at the same `seq`
//! hold the same rows as clients see them (the one exception is the `_seq` stamp of a row
//! whose entity changed only in hidden fields since: no frame told any client of that change
//! either). The bus therefore encodes a snapshot once per (view, key, skip, take, seq):
//! subscribers arriving while it is encoded wait for that encoding, later ones get the
//! finished frames, and the frames that follow are those after the same `seq` for all of
//! them — nothing older, nothing missing.
//!
//! The cache is bounded by the encoded bytes it keeps ([`SnapshotCache::new`]); the least
//! recently used finished snapshot goes first, and every eviction is counted
//! (`hyperstack_snapshot_cache_evictions_total`). A bound never changes an answer: an evicted
//! snapshot is encoded again when asked for. Entries of a view are dropped as soon as a frame
//! of that view is published (no later subscriber can be at their `seq` again).

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::StartRequest;
use crate::project::{EncodedFrame, ViewId};

/// What identifies one encoded snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SnapshotKey {
    pub view: ViewId,
    pub key: Option<Arc<str>>,
    pub skip: usize,
    pub take: Option<usize>,
    pub seq: u64,
}

impl SnapshotKey {
    /// The key of `request`'s snapshot taken at `seq`.
    pub fn of(request: &StartRequest, seq: u64) -> SnapshotKey {
        SnapshotKey {
            view: request.view,
            key: request.key.clone(),
            skip: request.skip,
            take: request.take,
            seq,
        }
    }
}

/// A subscription waiting for an encoding under way.
pub(crate) struct Waiter {
    pub request: StartRequest,
    pub subscribed: Arc<EncodedFrame>,
}

enum Entry {
    Encoding(Vec<Waiter>),
    Done {
        frames: Arc<[Arc<EncodedFrame>]>,
        bytes: usize,
        used: u64,
    },
}

/// What the cache has for a key.
pub(crate) enum Lookup {
    /// The finished frames: send them.
    Ready(Arc<[Arc<EncodedFrame>]>),
    /// An encoding is under way; the subscription was added to its waiters.
    Joined,
    /// Nothing: the caller encodes, and the subscription waits for it.
    Encode,
}

/// Shared snapshot encodings, owned by the bus task.
pub(crate) struct SnapshotCache {
    entries: HashMap<SnapshotKey, Entry>,
    /// The latest `seq` published of each view.
    latest: HashMap<ViewId, u64>,
    /// Encoded bytes of the finished entries.
    bytes: usize,
    max_bytes: usize,
    tick: u64,
}

impl SnapshotCache {
    /// A cache keeping at most `max_bytes` of finished encodings (encodings under way are
    /// not counted: each has subscribers about to receive it).
    pub fn new(max_bytes: usize) -> SnapshotCache {
        SnapshotCache {
            entries: HashMap::new(),
            latest: HashMap::new(),
            bytes: 0,
            max_bytes,
            tick: 0,
        }
    }

    /// Looks `key` up for a subscription: finished frames, a join of an encoding under way,
    /// or — registering the subscription as the first waiter — a request to encode.
    pub fn lookup(&mut self, key: SnapshotKey, waiter: Waiter) -> (Lookup, Option<Waiter>) {
        self.tick += 1;
        match self.entries.get_mut(&key) {
            Some(Entry::Done { frames, used, .. }) => {
                *used = self.tick;
                (Lookup::Ready(frames.clone()), Some(waiter))
            }
            Some(Entry::Encoding(waiters)) => {
                waiters.push(waiter);
                (Lookup::Joined, None)
            }
            None => {
                self.entries.insert(key, Entry::Encoding(vec![waiter]));
                (Lookup::Encode, None)
            }
        }
    }

    /// The encoding of `key` finished: returns its waiters, and keeps the frames (when they
    /// fit the bound and are still current) for later subscribers. Returns the number of
    /// finished snapshots evicted to make room.
    pub fn finish(
        &mut self,
        key: &SnapshotKey,
        frames: Option<&[Arc<EncodedFrame>]>,
    ) -> (Vec<Waiter>, u64) {
        let waiters = match self.entries.remove(key) {
            Some(Entry::Encoding(w)) => w,
            Some(done @ Entry::Done { .. }) => {
                // Cannot happen (one encoding per key); keep what is there.
                self.entries.insert(key.clone(), done);
                Vec::new()
            }
            None => Vec::new(),
        };
        let mut evicted = 0;
        if let Some(frames) = frames {
            let bytes: usize = frames.iter().map(|f| f.payload.len()).sum();
            if bytes <= self.max_bytes && !self.stale(key) {
                while self.bytes + bytes > self.max_bytes && self.evict_lru() {
                    evicted += 1;
                }
                self.tick += 1;
                self.bytes += bytes;
                self.entries.insert(
                    key.clone(),
                    Entry::Done {
                        frames: frames.into(),
                        bytes,
                        used: self.tick,
                    },
                );
            }
        }
        (waiters, evicted)
    }

    /// A newer version of the view was published while `key` was encoded (see
    /// [`SnapshotCache::published`]): nobody can ask for it again.
    fn stale(&self, key: &SnapshotKey) -> bool {
        self.latest.get(&key.view).is_some_and(|&s| s > key.seq)
    }

    /// A frame of `view` with sequence number `seq` was published: its finished snapshots of
    /// earlier versions are outdated. Encodings under way stay (their waiters hold the
    /// matching frames after them) but are not kept when they finish.
    pub fn published(&mut self, view: ViewId, seq: u64) {
        let latest = self.latest.entry(view).or_insert(0);
        if *latest >= seq {
            return;
        }
        *latest = seq;
        let mut freed = 0;
        self.entries.retain(|k, e| match e {
            Entry::Done { bytes, .. } if k.view == view && k.seq < seq => {
                freed += *bytes;
                false
            }
            _ => true,
        });
        self.bytes -= freed;
    }

    fn evict_lru(&mut self) -> bool {
        let oldest = self
            .entries
            .iter()
            .filter_map(|(k, e)| match e {
                Entry::Done { used, .. } => Some((*used, k)),
                Entry::Encoding(_) => None,
            })
            .min_by_key(|(used, _)| *used)
            .map(|(_, k)| k.clone());
        match oldest.and_then(|k| self.entries.remove(&k)) {
            Some(Entry::Done { bytes, .. }) => {
                self.bytes -= bytes;
                true
            }
            _ => false,
        }
    }

    /// Encoded bytes kept now.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(sub: u64, view: ViewId) -> StartRequest {
        StartRequest {
            sub,
            client: sub,
            view,
            key: None,
            after: None,
            skip: 0,
            take: None,
        }
    }

    fn waiter(sub: u64, view: ViewId) -> Waiter {
        Waiter {
            request: request(sub, view),
            subscribed: Arc::new(EncodedFrame {
                payload: bytes::Bytes::from_static(b"{}"),
                binary: false,
            }),
        }
    }

    fn frames(n: usize, len: usize) -> Vec<Arc<EncodedFrame>> {
        (0..n)
            .map(|_| {
                Arc::new(EncodedFrame {
                    payload: bytes::Bytes::from(vec![b'x'; len]),
                    binary: false,
                })
            })
            .collect()
    }

    fn key(view: ViewId, seq: u64) -> SnapshotKey {
        SnapshotKey::of(&request(0, view), seq)
    }

    #[test]
    fn one_encoding_serves_every_subscriber_of_a_version() {
        let mut c = SnapshotCache::new(1 << 20);
        let (first, _) = c.lookup(key(0, 7), waiter(1, 0));
        assert!(matches!(first, Lookup::Encode));
        let (second, _) = c.lookup(key(0, 7), waiter(2, 0));
        assert!(matches!(second, Lookup::Joined));
        let encoded = frames(3, 10);
        let (waiters, evicted) = c.finish(&key(0, 7), Some(&encoded));
        let subs: Vec<u64> = waiters.iter().map(|w| w.request.sub).collect();
        assert_eq!((subs, evicted), (vec![1, 2], 0));
        match c.lookup(key(0, 7), waiter(3, 0)) {
            (Lookup::Ready(f), Some(w)) => {
                assert_eq!(w.request.sub, 3);
                assert!(f.iter().zip(&encoded).all(|(a, b)| Arc::ptr_eq(a, b)));
            }
            _ => panic!("a finished snapshot is served from the cache"),
        }
        // Another version of the view is another snapshot.
        assert!(matches!(
            c.lookup(key(0, 8), waiter(4, 0)).0,
            Lookup::Encode
        ));
    }

    #[test]
    fn a_publish_drops_the_views_finished_snapshots_only() {
        let mut c = SnapshotCache::new(1 << 20);
        for view in [0, 1] {
            c.lookup(key(view, 5), waiter(1, view));
            c.finish(&key(view, 5), Some(&frames(1, 100)));
        }
        c.lookup(key(0, 6), waiter(2, 0));
        c.published(0, 6);
        assert_eq!(c.bytes(), 100);
        assert!(matches!(
            c.lookup(key(1, 5), waiter(3, 1)).0,
            Lookup::Ready(_)
        ));
        assert!(matches!(
            c.lookup(key(0, 5), waiter(4, 0)).0,
            Lookup::Encode
        ));
        // The encoding under way of seq 6 kept its waiter.
        let (waiters, _) = c.finish(&key(0, 6), Some(&frames(1, 100)));
        assert_eq!(waiters.len(), 1);
    }

    #[test]
    fn an_outdated_encoding_is_handed_out_but_not_kept() {
        let mut c = SnapshotCache::new(1 << 20);
        c.lookup(key(0, 5), waiter(1, 0));
        c.published(0, 6);
        let (waiters, _) = c.finish(&key(0, 5), Some(&frames(1, 10)));
        assert_eq!(waiters.len(), 1);
        assert_eq!(c.bytes(), 0);
        // The current version is kept.
        c.lookup(key(0, 6), waiter(2, 0));
        c.finish(&key(0, 6), Some(&frames(1, 10)));
        assert_eq!(c.bytes(), 10);
    }

    #[test]
    fn beyond_its_bound_the_cache_evicts_and_answers_stay_the_same() {
        // Room for two snapshots of 400 bytes; five views each get one.
        let mut c = SnapshotCache::new(1_000);
        let mut evictions = 0;
        for view in 0..5 {
            c.lookup(key(view, 1), waiter(1, view));
            evictions += c.finish(&key(view, 1), Some(&frames(4, 100))).1;
            assert!(c.bytes() <= 1_000);
        }
        assert_eq!(evictions, 3);
        // The evicted ones are encoded again; the kept ones are served as they were.
        for view in 0..3 {
            assert!(matches!(
                c.lookup(key(view, 1), waiter(2, view)).0,
                Lookup::Encode
            ));
        }
        for view in 3..5 {
            assert!(matches!(
                c.lookup(key(view, 1), waiter(2, view)).0,
                Lookup::Ready(_)
            ));
        }
        // A snapshot larger than the whole bound is handed to its waiters, never kept.
        let (w, _) = c.finish(&key(0, 1), Some(&frames(20, 100)));
        assert_eq!((w.len(), c.bytes()), (1, 800));
    }

    #[test]
    fn a_failed_encoding_is_not_kept() {
        let mut c = SnapshotCache::new(1 << 20);
        c.lookup(key(0, 1), waiter(1, 0));
        c.lookup(key(0, 1), waiter(2, 0));
        let (waiters, _) = c.finish(&key(0, 1), None);
        assert_eq!(waiters.len(), 2);
        assert!(matches!(
            c.lookup(key(0, 1), waiter(3, 0)).0,
            Lookup::Encode
        ));
    }
}
