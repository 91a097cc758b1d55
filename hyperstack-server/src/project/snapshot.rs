//! Snapshot jobs: the rows of a view at a committed version, read and encoded away from the
//! engine (by a worker), while the engine goes on applying updates.
//!
//! Each row's data is spliced from the stored entity JSON (written by `serde_json`, compact)
//! field by field ([`splice`]): only `emit = false` fields are left out, so no JSON tree is
//! built and printed again. An entity the splicer does not recognise (it never happens with
//! what the store writes) is parsed and printed instead, with the same result.

use std::collections::HashSet;
use std::sync::Arc;

use fjall::{Keyspace, Readable};

use super::frame::{Emitted, SnapshotRow};
use super::EncodedFrame;
use crate::store::{codec, entity_key, Snapshot, StoreError};

mod splice;

/// Why a snapshot could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The state store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<fjall::Error> for SnapshotError {
    fn from(e: fjall::Error) -> Self {
        SnapshotError::Store(StoreError::Db(e))
    }
}

/// Which rows a snapshot holds.
pub(crate) enum Rows {
    /// These keys, in view order.
    Keys(Vec<Arc<str>>),
    /// Rows `skip..skip + take` of a derived view's order as the store holds it (a view
    /// without a limit: its order is not in memory).
    Ordered {
        keyspace: Keyspace,
        /// The first bytes of every key of the view's order.
        prefix: Box<[u8]>,
        skip: usize,
        take: usize,
    },
}

/// Everything needed to encode one snapshot of one view at one committed version.
pub(crate) struct SnapshotJob {
    pub mode: &'static str,
    pub view: String,
    /// The view's sequence number at that version.
    pub seq: u64,
    /// The rows, in view order.
    pub rows: Rows,
    /// The entity type's index in the store.
    pub entity: u16,
    pub hidden: Arc<HashSet<String>>,
    pub first: usize,
    pub next: usize,
    pub snapshot: Snapshot,
    pub entities: Keyspace,
}

impl SnapshotJob {
    /// Reads the rows and encodes the snapshot frames: a first batch of `first` rows, then
    /// batches of `next` (sizes of 0 count as 1); the last says `complete`, and no rows still
    /// make one frame. Keys without a stored entity (a state view's unknown key) are left
    /// out. The frames are those of [`frame::snapshot_frames`](super::frame) byte for byte.
    pub fn encode(self) -> Result<Vec<Arc<EncodedFrame>>, SnapshotError> {
        let mut frames = Vec::new();
        self.encode_each(|frame| {
            frames.push(frame);
            true
        })?;
        Ok(frames)
    }

    /// Encodes the same frames as [`SnapshotJob::encode`], handing each to `sink` as soon
    /// as it is encoded, in order; rows are read from the store as they are encoded (one
    /// ahead, to know whether a batch is the last), so the first frame leaves before the
    /// later rows are read. `sink` returning `false` stops the
    /// encoding (nobody takes the frames any more): `Ok(false)`. `Ok(true)` once the
    /// `complete` frame was handed over. On an error, the frames handed over so far are a
    /// part of the snapshot only (none of them says `complete`).
    ///
    /// The failpoint `snapshot.batch` is hit after every frame but the last was handed over
    /// (`enospc` there fails the encoding as a store read error would).
    pub fn encode_each(
        self,
        mut sink: impl FnMut(Arc<EncodedFrame>) -> bool,
    ) -> Result<bool, SnapshotError> {
        let mut rows = self.stored_rows();
        let mut next = rows.next().transpose()?;
        let head = splice::head(self.mode, &self.view);
        let mut first = true;
        loop {
            let size = if first { self.first } else { self.next }.max(1);
            first = false;
            let mut json = head.clone();
            let mut n = 0;
            while n < size {
                let Some((key, bytes)) = next.take() else {
                    break;
                };
                if n > 0 {
                    json.push(b',');
                }
                self.row(&mut json, &key, &bytes)?;
                n += 1;
                next = rows.next().transpose()?;
            }
            let complete = next.is_none();
            json.extend_from_slice(&splice::tail(complete, self.seq));
            if !sink(Arc::new(EncodedFrame::from_json(json))) {
                return Ok(false);
            }
            if complete {
                return Ok(true);
            }
            crate::failpoint::hit_io("snapshot.batch")
                .map_err(|e| StoreError::Db(fjall::Error::Io(e)))?;
        }
    }

    /// The keys of the rows, in view order.
    fn keys(&self) -> Box<dyn Iterator<Item = Result<Arc<str>, SnapshotError>> + '_> {
        match &self.rows {
            Rows::Keys(keys) => Box::new(keys.iter().cloned().map(Ok)),
            Rows::Ordered {
                keyspace,
                prefix,
                skip,
                take,
            } => Box::new(
                self.snapshot
                    .prefix(keyspace, prefix)
                    .skip(*skip)
                    .take(*take)
                    .map(|item| {
                        let (_, value) = item.into_inner()?;
                        let key = std::str::from_utf8(&value).map_err(|e| StoreError::Corrupt {
                            keyspace: "derived",
                            reason: format!("entity key is not UTF-8: {e}"),
                        })?;
                        Ok(Arc::from(key))
                    }),
            ),
        }
    }

    /// The rows with a stored entity, in view order, read as they are asked for.
    fn stored_rows(
        &self,
    ) -> impl Iterator<Item = Result<(Arc<str>, fjall::Slice), SnapshotError>> + '_ {
        self.keys().filter_map(move |key| {
            let key = match key {
                Ok(key) => key,
                Err(e) => return Some(Err(e)),
            };
            match self
                .snapshot
                .get(&self.entities, entity_key(self.entity, &key))
            {
                Ok(Some(bytes)) => Some(Ok((key, bytes))),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            }
        })
    }

    /// Appends one row (`{"key":…,"data":…}`) to a batch.
    fn row(&self, json: &mut Vec<u8>, key: &str, bytes: &[u8]) -> Result<(), SnapshotError> {
        if splice::row(json, key, bytes, &self.hidden) {
            return Ok(());
        }
        // Not the compact object the store writes: parse and print it.
        let obj = codec::parse_entity(bytes)?;
        let data = Emitted {
            obj: &obj,
            hidden: &self.hidden,
            seq: None,
        };
        serde_json::to_writer(json, &SnapshotRow { key, data }).map_err(|e| {
            StoreError::Corrupt {
                keyspace: "entities",
                reason: e.to_string(),
            }
            .into()
        })
    }
}
