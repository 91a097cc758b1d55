//! The mutation API: what the transform stage (and tests) feed the server.

use std::sync::Arc;

use serde_json::{Map, Value};

/// A change to one entity, as produced by the transform stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// Entity type name (`Token`).
    pub entity: Arc<str>,
    /// Primary key of the entity.
    pub key: Arc<str>,
    /// Position of the on-chain change that caused it, `"slot:index"`; sent as `_seq` in the
    /// entity data.
    pub seq: Option<String>,
    /// What changed.
    pub change: Change,
}

/// What a mutation does to its entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Fields that changed, with their new values. Objects merge deeply; a field listed in
    /// `append` (dotted path, e.g. `last_trades` or `stats.history`) holds new items to append
    /// to the array at that path instead of replacing it.
    Patch {
        /// Changed fields only.
        data: Map<String, Value>,
        /// Paths whose arrays are extended by the items in `data`.
        append: Vec<String>,
    },
    /// The entity is gone.
    Delete,
}

impl Mutation {
    /// A patch mutation.
    pub fn patch(entity: &str, key: &str, data: Map<String, Value>) -> Mutation {
        Mutation {
            entity: Arc::from(entity),
            key: Arc::from(key),
            seq: None,
            change: Change::Patch {
                data,
                append: Vec::new(),
            },
        }
    }

    /// A delete mutation.
    pub fn delete(entity: &str, key: &str) -> Mutation {
        Mutation {
            entity: Arc::from(entity),
            key: Arc::from(key),
            seq: None,
            change: Change::Delete,
        }
    }

    /// Sets the paths whose arrays the patch appends to.
    pub fn with_append(mut self, paths: &[&str]) -> Mutation {
        if let Change::Patch { append, .. } = &mut self.change {
            *append = paths.iter().map(|p| p.to_string()).collect();
        }
        self
    }

    /// Sets the `"slot:index"` sequence of the change.
    pub fn with_seq(mut self, seq: impl Into<String>) -> Mutation {
        self.seq = Some(seq.into());
        self
    }
}
