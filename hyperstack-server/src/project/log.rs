//! The bounded per-view log of recent frames, for clients resuming with an `after` cursor.
//! It is durable: the engine writes new entries (and deletes the ones that fell out) with
//! every commit, and a restarted server restores it, so a client resumes across a restart.

use std::collections::VecDeque;
use std::sync::Arc;

use fjall::Keyspace;

use super::frame::EncodedFrame;
use crate::store::{codec, log_key};

/// One frame of a view as the log keeps it: both encodings of an append view's frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFrame {
    /// The entity the frame is about.
    pub key: Arc<str>,
    /// The frame every client can take (an append view's full `upsert`).
    pub full: Arc<EncodedFrame>,
    /// An append view's `patch` of the same change and `seq`, for clients that asked for
    /// deltas and hold the entity already (`None`: the frame has no delta encoding).
    pub delta: Option<Arc<EncodedFrame>>,
}

/// The last `capacity` frames of one view, with their sequence numbers and entity keys.
pub(crate) struct ResumeLog {
    capacity: usize,
    entries: VecDeque<(u64, LogFrame)>,
    /// Entries from this index on are not written to the store yet.
    unwritten: usize,
    /// Sequence numbers that fell out of the log and are still in the store.
    dropped: Vec<u64>,
}

impl ResumeLog {
    /// An empty log keeping at most `capacity` frames (0: resuming only works at the head).
    pub fn new(capacity: usize) -> ResumeLog {
        ResumeLog {
            capacity,
            entries: VecDeque::with_capacity(capacity.min(4096)),
            unwritten: 0,
            dropped: Vec::new(),
        }
    }

    /// A log holding stored entries (oldest first), all already written.
    pub fn restore(
        capacity: usize,
        stored: impl IntoIterator<Item = (u64, LogFrame)>,
    ) -> ResumeLog {
        let mut log = ResumeLog::new(capacity);
        for (seq, frame) in stored {
            log.push(seq, frame);
        }
        log.unwritten = log.entries.len();
        log
    }

    /// Records a frame; sequence numbers must increase by one per frame.
    pub fn push(&mut self, seq: u64, frame: LogFrame) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            if let Some((old, _)) = self.entries.pop_front() {
                // Entries before `unwritten` are in the store: delete this one there too.
                if self.unwritten > 0 {
                    self.unwritten -= 1;
                    self.dropped.push(old);
                }
            }
        }
        self.entries.push_back((seq, frame));
    }

    /// Writes the entries added since the last commit and deletes those that fell out.
    pub fn write_into(
        &mut self,
        view: u16,
        keyspace: &Keyspace,
        batch: &mut fjall::OwnedWriteBatch,
    ) {
        for seq in self.dropped.drain(..) {
            batch.remove(keyspace, log_key(view, seq).to_vec());
        }
        for (seq, f) in self.entries.range(self.unwritten..) {
            batch.insert(
                keyspace,
                log_key(view, *seq).to_vec(),
                codec::log_entry(&f.key, &f.full, f.delta.as_deref()),
            );
        }
        self.unwritten = self.entries.len();
    }

    /// The frames with a sequence number above `after`, up to `current` (the view's latest),
    /// restricted to `key` when given. `None` when `after` is ahead of `current` or some of
    /// those frames have already been dropped.
    pub fn after(&self, after: u64, current: u64, key: Option<&str>) -> Option<Vec<LogFrame>> {
        if after > current {
            return None;
        }
        if after == current {
            return Some(Vec::new());
        }
        let oldest = self.entries.front()?.0;
        if oldest > after + 1 {
            return None;
        }
        let start = self.entries.partition_point(|(seq, _)| *seq <= after);
        Some(
            self.entries
                .range(start..)
                .filter(|(_, f)| key.is_none_or(|key| &*f.key == key))
                .map(|(_, f)| f.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64, key: &str) -> LogFrame {
        LogFrame {
            key: Arc::from(key),
            full: Arc::new(EncodedFrame::encode(&n)),
            delta: None,
        }
    }

    fn seqs(frames: Option<Vec<LogFrame>>) -> Option<Vec<u64>> {
        frames.map(|f| {
            f.iter()
                .map(|f| f.full.json().unwrap().as_u64().unwrap())
                .collect()
        })
    }

    #[test]
    fn keeps_the_last_frames() {
        let mut log = ResumeLog::new(3);
        for seq in 1..=5 {
            log.push(seq, frame(seq, if seq % 2 == 0 { "even" } else { "odd" }));
        }
        assert_eq!(seqs(log.after(2, 5, None)), Some(vec![3, 4, 5]));
        assert_eq!(seqs(log.after(3, 5, None)), Some(vec![4, 5]));
        assert_eq!(seqs(log.after(2, 5, Some("odd"))), Some(vec![3, 5]));
        assert_eq!(seqs(log.after(5, 5, None)), Some(vec![]));
        assert_eq!(seqs(log.after(1, 5, None)), None, "frame 2 was dropped");
        assert_eq!(seqs(log.after(6, 5, None)), None, "cursor from the future");
    }

    #[test]
    fn empty_and_zero_capacity() {
        let mut log = ResumeLog::new(0);
        assert_eq!(seqs(log.after(0, 0, None)), Some(vec![]));
        log.push(1, frame(1, "k"));
        assert_eq!(seqs(log.after(0, 1, None)), None);
        assert_eq!(seqs(log.after(1, 1, None)), Some(vec![]));
    }
}
