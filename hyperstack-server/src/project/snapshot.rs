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
        let keys = match &self.rows {
            Rows::Keys(keys) => keys.clone(),
            Rows::Ordered {
                keyspace,
                prefix,
                skip,
                take,
            } => {
                let mut keys = Vec::new();
                for item in self
                    .snapshot
                    .prefix(keyspace, prefix)
                    .skip(*skip)
                    .take(*take)
                {
                    let (_, value) = item.into_inner()?;
                    let key = std::str::from_utf8(&value).map_err(|e| StoreError::Corrupt {
                        keyspace: "derived",
                        reason: format!("entity key is not UTF-8: {e}"),
                    })?;
                    keys.push(Arc::from(key));
                }
                keys
            }
        };
        let mut stored = Vec::with_capacity(keys.len());
        for key in &keys {
            if let Some(bytes) = self
                .snapshot
                .get(&self.entities, entity_key(self.entity, key))?
            {
                stored.push((key, bytes));
            }
        }
        let head = splice::head(self.mode, &self.view);
        let mut frames = Vec::new();
        let mut rows = stored.iter().peekable();
        loop {
            let size = if frames.is_empty() {
                self.first
            } else {
                self.next
            };
            let mut json = head.clone();
            for (i, (key, bytes)) in rows.by_ref().take(size.max(1)).enumerate() {
                if i > 0 {
                    json.push(b',');
                }
                if !splice::row(&mut json, key, bytes, &self.hidden) {
                    // Not the compact object the store writes: parse and print it.
                    let obj = codec::parse_entity(bytes)?;
                    let data = Emitted {
                        obj: &obj,
                        hidden: &self.hidden,
                        seq: None,
                    };
                    serde_json::to_writer(&mut json, &SnapshotRow { key, data }).map_err(|e| {
                        StoreError::Corrupt {
                            keyspace: "entities",
                            reason: e.to_string(),
                        }
                    })?;
                }
            }
            let complete = rows.peek().is_none();
            json.extend_from_slice(&splice::tail(complete, self.seq));
            frames.push(Arc::new(EncodedFrame::from_json(json)));
            if complete {
                return Ok(frames);
            }
        }
    }
}
