//! The bounded per-view log of recent frames, for clients resuming with an `after` cursor.
//! It is durable: with every commit the engine writes the view's new entries as one chunk
//! record and deletes the chunks whose entries all fell out; a restarted server restores it,
//! so a client resumes across a restart. The store may hold up to one chunk's entries more
//! than the log keeps (a chunk is deleted once its last entry is out).

use std::collections::VecDeque;
use std::sync::Arc;

use fjall::Keyspace;

use super::frame::EncodedFrame;
use crate::store::{codec, log_key, log_seq_of, StoreError};

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
    /// The chunks in the store, oldest first: their first and last sequence numbers.
    chunks: VecDeque<(u64, u64)>,
}

impl ResumeLog {
    /// An empty log keeping at most `capacity` frames (0: resuming only works at the head).
    pub fn new(capacity: usize) -> ResumeLog {
        ResumeLog {
            capacity,
            entries: VecDeque::with_capacity(capacity.min(4096)),
            unwritten: 0,
            chunks: VecDeque::new(),
        }
    }

    /// The log of view `view` as the store holds it (keeping its last `capacity` entries).
    pub fn load(capacity: usize, view: u16, keyspace: &Keyspace) -> Result<ResumeLog, StoreError> {
        let mut log = ResumeLog::new(capacity);
        for item in keyspace.prefix(view.to_be_bytes()) {
            let (k, v) = item.into_inner()?;
            let first = log_seq_of(&k).ok_or_else(|| StoreError::Corrupt {
                keyspace: "log",
                reason: "short key".into(),
            })?;
            let mut seq = first;
            for (key, full, delta) in codec::parse_log_record(&v)? {
                let frame = LogFrame {
                    key,
                    full: Arc::new(full),
                    delta: delta.map(Arc::new),
                };
                log.push(seq, frame);
                seq += 1;
            }
            log.chunks
                .push_back((first, seq.saturating_sub(1).max(first)));
        }
        log.unwritten = log.entries.len();
        Ok(log)
    }

    /// Records a frame; sequence numbers must increase by one per frame.
    pub fn push(&mut self, seq: u64, frame: LogFrame) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity && self.entries.pop_front().is_some() {
            // An entry not written yet that falls out is never written.
            self.unwritten = self.unwritten.saturating_sub(1);
        }
        self.entries.push_back((seq, frame));
    }

    /// Writes the entries added since the last commit as one chunk, and deletes the chunks
    /// whose entries all fell out.
    pub fn write_into(
        &mut self,
        view: u16,
        keyspace: &Keyspace,
        batch: &mut fjall::OwnedWriteBatch,
    ) {
        let oldest = self.entries.front().map(|(seq, _)| *seq);
        while let Some(&(first, last)) = self.chunks.front() {
            if oldest.is_some_and(|oldest| last >= oldest) {
                break;
            }
            batch.remove(keyspace, log_key(view, first).to_vec());
            self.chunks.pop_front();
        }
        let (Some((first, _)), Some((last, _))) =
            (self.entries.get(self.unwritten), self.entries.back())
        else {
            return;
        };
        let (first, last) = (*first, *last);
        let chunk = codec::log_chunk(
            self.entries
                .range(self.unwritten..)
                .map(|(_, f)| (&*f.key, &*f.full, f.delta.as_deref())),
        );
        batch.insert(keyspace, log_key(view, first).to_vec(), chunk);
        self.chunks.push_back((first, last));
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

    /// Commits of 3 frames into a log of 5: the store holds the log's frames plus at most
    /// one chunk's older ones, and a log loaded back answers every cursor as the live one.
    #[test]
    fn chunks_in_the_store_follow_the_log() {
        let store = crate::store::temporary_for_tests();
        let mut log = ResumeLog::new(5);
        let mut seq = 0;
        for _ in 0..7 {
            for _ in 0..3 {
                seq += 1;
                log.push(seq, frame(seq, if seq % 2 == 0 { "even" } else { "odd" }));
            }
            let mut batch = store.batch();
            log.write_into(2, &store.log, &mut batch);
            store.commit(batch).unwrap();
            let records = store.log.prefix(2u16.to_be_bytes()).count();
            assert!(records <= 3, "{records} chunks for 5 frames");
            let loaded = ResumeLog::load(5, 2, &store.log).unwrap();
            for after in 0..=seq {
                for key in [None, Some("odd")] {
                    assert_eq!(
                        seqs(loaded.after(after, seq, key)),
                        seqs(log.after(after, seq, key)),
                        "after {after} of {seq}, {key:?}"
                    );
                }
            }
        }
        assert_eq!(
            seqs(log.after(16, 21, None)),
            Some(vec![17, 18, 19, 20, 21])
        );
        assert_eq!(seqs(log.after(15, 21, None)), None, "frame 16 fell out");
        // A record of an older build (one entry per record) loads as a chunk of one, and is
        // deleted like one.
        let f = frame(9, "k");
        let mut batch = store.batch();
        batch.insert(
            &store.log,
            log_key(3, 9).to_vec(),
            codec::log_entry("k", &f.full, None),
        );
        store.commit(batch).unwrap();
        let mut old = ResumeLog::load(1, 3, &store.log).unwrap();
        assert_eq!(seqs(old.after(8, 9, None)), Some(vec![9]));
        old.push(10, frame(10, "k"));
        let mut batch = store.batch();
        old.write_into(3, &store.log, &mut batch);
        store.commit(batch).unwrap();
        let keys: Vec<u64> = store
            .log
            .prefix(3u16.to_be_bytes())
            .map(|i| log_seq_of(&i.key().unwrap()).unwrap())
            .collect();
        assert_eq!(
            keys,
            vec![10],
            "the old record is gone once its entry fell out"
        );
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
