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

/// A subscription receiving an encoding under way: its frames go to it as they come.
#[derive(Debug, Clone)]
pub(crate) struct Waiter {
    pub request: StartRequest,
}

enum Entry {
    /// Under way: the frames encoded so far (for subscribers joining now) and who receives
    /// the next ones.
    Encoding {
        frames: Vec<Arc<EncodedFrame>>,
        waiters: Vec<Waiter>,
    },
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
    /// An encoding is under way; the subscription was added to its waiters. These are the
    /// frames encoded so far (send them first; the rest follow as [`SnapshotCache::batch`]
    /// hands them out).
    Joined(Vec<Arc<EncodedFrame>>),
    /// Nothing: the caller encodes, and the subscription is its first waiter.
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
    /// not counted: each has subscribers receiving it).
    pub fn new(max_bytes: usize) -> SnapshotCache {
        SnapshotCache {
            entries: HashMap::new(),
            latest: HashMap::new(),
            bytes: 0,
            max_bytes,
            tick: 0,
        }
    }

    /// Looks `key` up for a subscription: finished frames, a join of an encoding under way
    /// (with its frames so far), or — registering the subscription as the first waiter — a
    /// request to encode.
    pub fn lookup(&mut self, key: SnapshotKey, waiter: Waiter) -> Lookup {
        self.tick += 1;
        match self.entries.get_mut(&key) {
            Some(Entry::Done { frames, used, .. }) => {
                *used = self.tick;
                Lookup::Ready(frames.clone())
            }
            Some(Entry::Encoding { frames, waiters }) => {
                waiters.push(waiter);
                Lookup::Joined(frames.clone())
            }
            None => {
                self.entries.insert(
                    key,
                    Entry::Encoding {
                        frames: Vec::new(),
                        waiters: vec![waiter],
                    },
                );
                Lookup::Encode
            }
        }
    }

    /// The encoding of `key` produced its next frame: keeps it for subscribers joining later
    /// and returns who receives it now.
    pub fn batch(&mut self, key: &SnapshotKey, frame: Arc<EncodedFrame>) -> &[Waiter] {
        match self.entries.get_mut(key) {
            Some(Entry::Encoding { frames, waiters }) => {
                frames.push(frame);
                waiters
            }
            // Cannot happen (a finished key gets no more frames).
            _ => &[],
        }
    }

    /// Stops handing `key`'s next frames to the waiters `gone` (unsubscribed or
    /// disconnected): nothing more is kept for them.
    pub fn forget(&mut self, key: &SnapshotKey, gone: &[u64]) {
        if let Some(Entry::Encoding { waiters, .. }) = self.entries.get_mut(key) {
            waiters.retain(|w| !gone.contains(&w.request.sub));
        }
    }

    /// The encoding of `key` ended — `ok`: its last frame (`complete`) was handed out;
    /// otherwise it failed. Returns its waiters, and keeps the frames of a complete encoding
    /// (when they fit the bound and are still current) for later subscribers. Returns the
    /// number of finished snapshots evicted to make room.
    pub fn finish(&mut self, key: &SnapshotKey, ok: bool) -> (Vec<Waiter>, u64) {
        let (frames, waiters) = match self.entries.remove(key) {
            Some(Entry::Encoding { frames, waiters }) => (frames, waiters),
            Some(done @ Entry::Done { .. }) => {
                // Cannot happen (one encoding per key); keep what is there.
                self.entries.insert(key.clone(), done);
                return (Vec::new(), 0);
            }
            None => return (Vec::new(), 0),
        };
        let mut evicted = 0;
        if ok {
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
                Entry::Encoding { .. } => None,
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
        }
    }

    fn frames(n: usize, len: usize) -> Vec<Arc<EncodedFrame>> {
        (0..n)
            .map(|i| {
                Arc::new(EncodedFrame {
                    payload: bytes::Bytes::from(vec![b'a' + (i % 26) as u8; len]),
                    binary: false,
                })
            })
            .collect()
    }

    fn key(view: ViewId, seq: u64) -> SnapshotKey {
        SnapshotKey::of(&request(0, view), seq)
    }

    /// Feeds `frames` to the encoding of `key` and finishes it (as the bus does with a
    /// worker's events); returns the evictions.
    fn encode(c: &mut SnapshotCache, key: &SnapshotKey, frames: &[Arc<EncodedFrame>]) -> u64 {
        for f in frames {
            c.batch(key, f.clone());
        }
        c.finish(key, true).1
    }

    fn subs(waiters: &[Waiter]) -> Vec<u64> {
        waiters.iter().map(|w| w.request.sub).collect()
    }

    #[test]
    fn one_encoding_serves_every_subscriber_of_a_version() {
        let mut c = SnapshotCache::new(1 << 20);
        assert!(matches!(c.lookup(key(0, 7), waiter(1, 0)), Lookup::Encode));
        assert!(matches!(c.lookup(key(0, 7), waiter(2, 0)), Lookup::Joined(f) if f.is_empty()));
        let encoded = frames(3, 10);
        for f in &encoded {
            assert_eq!(subs(c.batch(&key(0, 7), f.clone())), vec![1, 2]);
        }
        let (waiters, evicted) = c.finish(&key(0, 7), true);
        assert_eq!((subs(&waiters), evicted), (vec![1, 2], 0));
        match c.lookup(key(0, 7), waiter(3, 0)) {
            Lookup::Ready(f) => {
                assert_eq!(f.len(), 3);
                assert!(f.iter().zip(&encoded).all(|(a, b)| Arc::ptr_eq(a, b)));
            }
            _ => panic!("a finished snapshot is served from the cache"),
        }
        // Another version of the view is another snapshot.
        assert!(matches!(c.lookup(key(0, 8), waiter(4, 0)), Lookup::Encode));
    }

    #[test]
    fn a_subscriber_joining_mid_encoding_gets_the_frames_so_far_then_the_rest() {
        let mut c = SnapshotCache::new(1 << 20);
        let encoded = frames(5, 10);
        c.lookup(key(0, 3), waiter(1, 0));
        for f in &encoded[..2] {
            assert_eq!(subs(c.batch(&key(0, 3), f.clone())), vec![1]);
        }
        // Joins after two frames: gets those two, then receives the other three.
        let so_far = match c.lookup(key(0, 3), waiter(2, 0)) {
            Lookup::Joined(f) => f,
            _ => panic!("an encoding under way is joined"),
        };
        let mut received = so_far;
        for f in &encoded[2..] {
            let to = subs(c.batch(&key(0, 3), f.clone()));
            assert_eq!(to, vec![1, 2]);
            received.push(f.clone());
        }
        assert_eq!(received.len(), encoded.len());
        assert!(received
            .iter()
            .zip(&encoded)
            .all(|(a, b)| Arc::ptr_eq(a, b)));
        // A subscriber gone mid-encoding receives nothing more, and is not handed back.
        c.lookup(key(0, 3), waiter(3, 0));
        c.forget(&key(0, 3), &[1]);
        let (waiters, _) = c.finish(&key(0, 3), true);
        assert_eq!(subs(&waiters), vec![2, 3]);
    }

    #[test]
    fn a_failure_after_partial_frames_reaches_every_waiter_and_keeps_nothing() {
        let mut c = SnapshotCache::new(1 << 20);
        c.lookup(key(0, 1), waiter(1, 0));
        c.batch(&key(0, 1), frames(1, 10)[0].clone());
        // Joins after the first frame; then the encoding fails.
        assert!(matches!(c.lookup(key(0, 1), waiter(2, 0)), Lookup::Joined(f) if f.len() == 1));
        c.batch(&key(0, 1), frames(1, 10)[0].clone());
        let (waiters, evicted) = c.finish(&key(0, 1), false);
        assert_eq!((subs(&waiters), evicted), (vec![1, 2], 0));
        assert_eq!(c.bytes(), 0);
        // The next subscriber encodes again, from nothing.
        assert!(matches!(c.lookup(key(0, 1), waiter(3, 0)), Lookup::Encode));
        assert!(matches!(c.lookup(key(0, 1), waiter(4, 0)), Lookup::Joined(f) if f.is_empty()));
    }

    #[test]
    fn a_publish_drops_the_views_finished_snapshots_only() {
        let mut c = SnapshotCache::new(1 << 20);
        for view in [0, 1] {
            c.lookup(key(view, 5), waiter(1, view));
            encode(&mut c, &key(view, 5), &frames(1, 100));
        }
        c.lookup(key(0, 6), waiter(2, 0));
        c.batch(&key(0, 6), frames(1, 100)[0].clone());
        c.published(0, 6);
        assert_eq!(c.bytes(), 100);
        assert!(matches!(
            c.lookup(key(1, 5), waiter(3, 1)),
            Lookup::Ready(_)
        ));
        assert!(matches!(c.lookup(key(0, 5), waiter(4, 0)), Lookup::Encode));
        // The encoding under way of seq 6 kept its waiter and its frames.
        assert!(matches!(c.lookup(key(0, 6), waiter(5, 0)), Lookup::Joined(f) if f.len() == 1));
        let (waiters, _) = c.finish(&key(0, 6), true);
        assert_eq!(subs(&waiters), vec![2, 5]);
    }

    #[test]
    fn an_encoding_outdated_while_streaming_is_handed_out_but_not_kept() {
        let mut c = SnapshotCache::new(1 << 20);
        c.lookup(key(0, 5), waiter(1, 0));
        c.batch(&key(0, 5), frames(1, 10)[0].clone());
        c.published(0, 6);
        // Still streamed to its waiters, and joinable until it ends.
        assert_eq!(subs(c.batch(&key(0, 5), frames(1, 10)[0].clone())), vec![1]);
        let (waiters, _) = c.finish(&key(0, 5), true);
        assert_eq!(waiters.len(), 1);
        assert_eq!(c.bytes(), 0);
        assert!(matches!(c.lookup(key(0, 5), waiter(2, 0)), Lookup::Encode));
        // The current version is kept.
        c.lookup(key(0, 6), waiter(3, 0));
        encode(&mut c, &key(0, 6), &frames(1, 10));
        assert_eq!(c.bytes(), 10);
    }

    #[test]
    fn beyond_its_bound_the_cache_evicts_and_answers_stay_the_same() {
        // Room for two snapshots of 400 bytes; five views each get one.
        let mut c = SnapshotCache::new(1_000);
        let mut evictions = 0;
        for view in 0..5 {
            c.lookup(key(view, 1), waiter(1, view));
            evictions += encode(&mut c, &key(view, 1), &frames(4, 100));
            assert!(c.bytes() <= 1_000);
        }
        assert_eq!(evictions, 3);
        // The evicted ones are encoded again; the kept ones are served as they were.
        for view in 0..3 {
            assert!(matches!(
                c.lookup(key(view, 1), waiter(2, view)),
                Lookup::Encode
            ));
        }
        for view in 3..5 {
            match c.lookup(key(view, 1), waiter(2, view)) {
                Lookup::Ready(f) => assert_eq!(f.len(), 4),
                _ => panic!("a kept snapshot is served"),
            }
        }
        // A snapshot larger than the whole bound is streamed to its waiters, never kept.
        for f in frames(20, 100) {
            assert_eq!(subs(c.batch(&key(0, 1), f)), vec![2]);
        }
        let (w, _) = c.finish(&key(0, 1), true);
        assert_eq!((w.len(), c.bytes()), (1, 800));
    }
}
