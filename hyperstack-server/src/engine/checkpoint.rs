//! How far ingestion got: the position in the source up to which every update is applied
//! and committed. A restart resumes the source right after it.

use serde::{Deserialize, Serialize};

use crate::source::RawUpdate;
use crate::store::{codec, Store, StoreError};

const CHECKPOINT_KEY: &[u8] = b"checkpoint";

/// The committed position of ingestion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// Raw updates taken from the source and applied (a replay skips this many on restart).
    pub position: u64,
    /// The highest slot applied (a Yellowstone source resumes from it).
    pub slot: Option<u64>,
    #[serde(skip)]
    dirty: bool,
}

impl Checkpoint {
    /// The checkpoint stored, if any.
    pub fn load(store: &Store) -> Result<Option<Checkpoint>, StoreError> {
        store
            .meta(CHECKPOINT_KEY)?
            .map(|bytes| codec::parse_meta("checkpoint", &bytes))
            .transpose()
    }

    /// One more raw update was applied.
    pub fn applied(&mut self, update: &RawUpdate) {
        self.position += 1;
        let slot = update.slot();
        if self.slot.is_none_or(|s| slot > s) {
            self.slot = Some(slot);
        }
        self.dirty = true;
    }

    /// Writes the checkpoint into the batch if it moved.
    pub fn write_into(&mut self, store: &Store, batch: &mut fjall::OwnedWriteBatch) {
        if std::mem::take(&mut self.dirty) {
            batch.insert(&store.meta, CHECKPOINT_KEY.to_vec(), codec::meta(self));
        }
    }
}
