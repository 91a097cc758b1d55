//! How far ingestion got: the position in the source up to which every update is applied
//! and committed. A restart resumes the source right after it.

use serde::{Deserialize, Serialize};

use crate::source::RawUpdate;
use crate::store::{codec, Store, StoreError};

const CHECKPOINT_KEY: &[u8] = b"checkpoint";

/// The committed position of ingestion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// Raw updates taken from the source before the first one not applied yet: a replay
    /// skips this many on restart. (Updates an ordered stack holds until their slot is
    /// complete are not applied yet; whatever a restart sends again that was applied is
    /// dropped as a duplicate.)
    pub position: u64,
    /// Where a Yellowstone source resumes: the slot of the held updates, else the last slot
    /// applied.
    pub slot: Option<u64>,
    /// Raw updates taken from the source so far.
    #[serde(skip)]
    taken: u64,
    #[serde(skip)]
    dirty: bool,
}

impl Checkpoint {
    /// The checkpoint stored, if any.
    pub fn load(store: &Store) -> Result<Option<Checkpoint>, StoreError> {
        let mut checkpoint: Option<Checkpoint> = store
            .meta(CHECKPOINT_KEY)?
            .map(|bytes| codec::parse_meta("checkpoint", &bytes))
            .transpose()?;
        if let Some(c) = &mut checkpoint {
            c.taken = c.position;
        }
        Ok(checkpoint)
    }

    /// One more raw update was taken; `held` is the slot the transform holds updates of
    /// afterwards (if any), `held_before` before.
    pub fn taken(&mut self, update: &RawUpdate, held_before: Option<u64>, held: Option<u64>) {
        let before = self.taken;
        self.taken += 1;
        match held {
            None => {
                self.position = self.taken;
                if self.slot.is_none_or(|s| update.slot() > s) {
                    self.slot = Some(update.slot());
                }
            }
            // A new slot is held, starting with this update: everything before it is applied.
            Some(slot) if held_before != Some(slot) => {
                self.position = before;
                self.slot = Some(slot);
            }
            Some(_) => {}
        }
        self.dirty = true;
    }

    /// The transform applied the updates it held (the source ended or went quiet).
    pub fn flushed(&mut self) {
        self.position = self.taken;
        self.dirty = true;
    }

    /// Writes the checkpoint into the batch if it moved.
    pub fn write_into(&mut self, store: &Store, batch: &mut fjall::OwnedWriteBatch) {
        if std::mem::take(&mut self.dirty) {
            batch.insert(&store.meta, CHECKPOINT_KEY.to_vec(), codec::meta(self));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{AccountUpdate, Commitment, Pubkey};

    fn at(slot: u64) -> RawUpdate {
        RawUpdate::Account(AccountUpdate {
            slot,
            write_version: 0,
            pubkey: Pubkey([1; 32]),
            owner: Pubkey([2; 32]),
            data: Vec::new(),
            commitment: Commitment::Confirmed,
            txn_signature: None,
        })
    }

    #[test]
    fn the_position_stops_before_held_updates() {
        let mut c = Checkpoint::default();
        c.taken(&at(5), None, None);
        c.taken(&at(6), None, None);
        assert_eq!((c.position, c.slot), (2, Some(6)));
        // An ordered stack holds slot 7 from the third update on.
        c.taken(&at(7), None, Some(7));
        c.taken(&at(7), Some(7), Some(7));
        assert_eq!((c.position, c.slot), (2, Some(7)));
        // Slot 8 begins: slot 7 is applied, the fifth update is held.
        c.taken(&at(8), Some(7), Some(8));
        assert_eq!((c.position, c.slot), (4, Some(8)));
        c.flushed();
        assert_eq!(c.position, 5);
    }
}
