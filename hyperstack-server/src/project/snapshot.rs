//! Snapshot jobs: the rows of a view at a committed version, read and encoded away from the
//! engine (by a worker), while the engine goes on applying updates.

use std::collections::HashSet;
use std::sync::Arc;

use fjall::{Keyspace, Readable};

use super::frame::{self, Emitted, SnapshotRow};
use super::EncodedFrame;
use crate::store::{codec, entity_key, Snapshot, StoreError};

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

/// Everything needed to encode one snapshot of one view at one committed version.
pub(crate) struct SnapshotJob {
    pub mode: &'static str,
    pub view: String,
    /// The view's sequence number at that version.
    pub seq: u64,
    /// The rows' keys, in view order.
    pub keys: Vec<Arc<str>>,
    /// The entity type's index in the store.
    pub entity: u16,
    pub hidden: Arc<HashSet<String>>,
    pub first: usize,
    pub next: usize,
    pub snapshot: Snapshot,
    pub entities: Keyspace,
}

impl SnapshotJob {
    /// Reads the rows and encodes the snapshot frames. Keys without a stored entity (a
    /// state view's unknown key) are left out.
    pub fn encode(self) -> Result<Vec<Arc<EncodedFrame>>, SnapshotError> {
        let mut objects = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            if let Some(bytes) = self
                .snapshot
                .get(&self.entities, entity_key(self.entity, key))?
            {
                objects.push((key, codec::parse_entity(&bytes)?));
            }
        }
        let rows = objects
            .iter()
            .map(|(key, obj)| SnapshotRow {
                key,
                data: Emitted {
                    obj,
                    hidden: &self.hidden,
                    seq: None,
                },
            })
            .collect();
        Ok(frame::snapshot_frames(
            self.mode, &self.view, self.seq, rows, self.first, self.next,
        ))
    }
}
