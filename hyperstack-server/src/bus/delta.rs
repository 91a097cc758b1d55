//! Which encoding of an append view's frame a subscription that asked for deltas gets.
//!
//! An append view publishes every change as a full `upsert` and, for an entity that existed,
//! also as a `patch` of the same `seq` (the changed fields and the appended items). A `patch`
//! is only correct for a client that holds the entity as of the frame before it, so each
//! delta subscription remembers the keys it was sent a frame of — by this subscription, in
//! order, since every frame of the view reaches it or the client is dropped — and gets the
//! full `upsert` for any other key. The memory is bounded: past `cap` keys the oldest is
//! forgotten and its next frame is a full `upsert` again, so the bound costs bytes, never
//! correctness. A key stays remembered after a `delete` frame: harmless, since the projector
//! gives no delta to the frame of an entity that did not exist before its change.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use crate::project::EncodedFrame;

/// Keys a delta subscription holds whole, bounded (oldest forgotten first).
#[derive(Debug)]
pub(crate) struct DeltaKeys {
    cap: usize,
    held: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
}

/// What [`DeltaKeys::pick`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Picked {
    /// The delta encoding was chosen (else the full frame).
    pub delta: bool,
    /// A key was forgotten to stay within the bound.
    pub evicted: bool,
}

impl DeltaKeys {
    /// Remembers at most `cap` keys (0: every frame is sent full).
    pub fn new(cap: usize) -> DeltaKeys {
        DeltaKeys {
            cap,
            held: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// The encoding of a frame about `key` for this subscription: the delta when the frame
    /// has one and the subscription was sent an earlier frame of `key`, else the full frame
    /// (after which the client holds `key` whole).
    pub fn pick<'a>(
        &mut self,
        key: &Arc<str>,
        full: &'a Arc<EncodedFrame>,
        delta: Option<&'a Arc<EncodedFrame>>,
    ) -> (&'a Arc<EncodedFrame>, Picked) {
        let mut picked = Picked {
            delta: false,
            evicted: false,
        };
        if let Some(delta) = delta {
            if self.held.contains(key) {
                picked.delta = true;
                return (delta, picked);
            }
        }
        if self.cap > 0 && !self.held.contains(key) {
            if self.order.len() >= self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.held.remove(&old);
                    picked.evicted = true;
                }
            }
            self.held.insert(key.clone());
            self.order.push_back(key.clone());
        }
        (full, picked)
    }

    /// Keys remembered now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn frame(tag: &str) -> Arc<EncodedFrame> {
        Arc::new(EncodedFrame::encode(&json!(tag)))
    }

    fn tag(f: &EncodedFrame) -> String {
        f.json().unwrap().as_str().unwrap().to_string()
    }

    #[test]
    fn full_first_then_deltas() {
        let (full, delta) = (frame("full"), frame("delta"));
        let mut keys = DeltaKeys::new(8);
        let k: Arc<str> = Arc::from("k");
        let (f, p) = keys.pick(&k, &full, Some(&delta));
        assert_eq!(
            (tag(f), p.delta),
            ("full".into(), false),
            "never sent: full"
        );
        let (f, p) = keys.pick(&k, &full, Some(&delta));
        assert_eq!((tag(f), p.delta), ("delta".into(), true));
        // A frame without a delta (an entity's first frame, a delete) goes full.
        let (f, _) = keys.pick(&k, &full, None);
        assert_eq!(tag(f), "full");
        let other: Arc<str> = Arc::from("other");
        assert_eq!(tag(keys.pick(&other, &full, Some(&delta)).0), "full");
    }

    #[test]
    fn beyond_the_bound_keys_are_sent_full_again() {
        let (full, delta) = (frame("full"), frame("delta"));
        let cap = 3;
        let mut keys = DeltaKeys::new(cap);
        let key = |i: usize| -> Arc<str> { Arc::from(format!("k{i}")) };
        let mut evicted = 0;
        for i in 0..cap * 4 {
            let (f, p) = keys.pick(&key(i), &full, Some(&delta));
            assert_eq!(tag(f), "full");
            evicted += usize::from(p.evicted);
            assert!(keys.len() <= cap);
        }
        assert_eq!(evicted, cap * 3);
        // The last `cap` keys are held; older ones get the full frame again.
        for i in cap * 3..cap * 4 {
            assert_eq!(tag(keys.pick(&key(i), &full, Some(&delta)).0), "delta");
        }
        assert_eq!(tag(keys.pick(&key(0), &full, Some(&delta)).0), "full");
        assert_eq!(tag(keys.pick(&key(0), &full, Some(&delta)).0), "delta");
        // A bound of 0 holds nothing: always full.
        let mut none = DeltaKeys::new(0);
        for _ in 0..3 {
            assert_eq!(tag(none.pick(&key(1), &full, Some(&delta)).0), "full");
        }
    }
}
