//! What streams yield: [`Update`] (the entity after each change) and [`RichUpdate`] (with the
//! version before and the raw patch).

use serde_json::Value;

use crate::store::has_path;

/// One change of an entity, as yielded by `watch` streams.
#[derive(Debug, Clone, PartialEq)]
pub enum Update<T> {
    /// The entity appeared in the view (snapshot row, first sight, or entering a derived view),
    /// or was replaced whole.
    Upsert {
        /// Entity key.
        key: String,
        /// The full entity.
        data: T,
    },
    /// The entity changed; `data` is the full entity with the patch merged in.
    Patch {
        /// Entity key.
        key: String,
        /// The merged entity.
        data: T,
    },
    /// The entity was deleted, or left the view.
    Delete {
        /// Entity key.
        key: String,
    },
}

impl<T> Update<T> {
    /// The entity key.
    pub fn key(&self) -> &str {
        match self {
            Update::Upsert { key, .. } | Update::Patch { key, .. } | Update::Delete { key } => key,
        }
    }

    /// The entity, unless this is a delete.
    pub fn data(&self) -> Option<&T> {
        match self {
            Update::Upsert { data, .. } | Update::Patch { data, .. } => Some(data),
            Update::Delete { .. } => None,
        }
    }

    /// Whether this is a delete.
    pub fn is_delete(&self) -> bool {
        matches!(self, Update::Delete { .. })
    }

    /// Whether this carries the entity (upsert or patch).
    pub fn has_data(&self) -> bool {
        !self.is_delete()
    }

    /// The entity, unless this is a delete.
    pub fn into_data(self) -> Option<T> {
        match self {
            Update::Upsert { data, .. } | Update::Patch { data, .. } => Some(data),
            Update::Delete { .. } => None,
        }
    }

    /// The entity key.
    pub fn into_key(self) -> String {
        match self {
            Update::Upsert { key, .. } | Update::Patch { key, .. } | Update::Delete { key } => key,
        }
    }

    /// The same update with the entity transformed.
    ///
    /// ```
    /// use hyperstack_sdk::Update;
    /// let u = Update::Patch { key: "k".to_string(), data: 2 };
    /// assert_eq!(u.map(|n| n * 10), Update::Patch { key: "k".to_string(), data: 20 });
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Update<U> {
        match self {
            Update::Upsert { key, data } => Update::Upsert { key, data: f(data) },
            Update::Patch { key, data } => Update::Patch { key, data: f(data) },
            Update::Delete { key } => Update::Delete { key },
        }
    }
}

/// One change of an entity with its history, as yielded by `watch_rich` streams.
#[derive(Debug, Clone, PartialEq)]
pub enum RichUpdate<T> {
    /// The entity appeared in the view.
    Created {
        /// Entity key.
        key: String,
        /// The entity.
        data: T,
    },
    /// The entity changed.
    Updated {
        /// Entity key.
        key: String,
        /// The entity before the change.
        before: T,
        /// The entity after the change.
        after: T,
        /// The JSON patch received (after a reconnect with a full snapshot: the computed
        /// difference); `None` when the change came as a whole-entity `upsert` of a known key.
        patch: Option<Value>,
    },
    /// The entity was deleted, or left the view.
    Deleted {
        /// Entity key.
        key: String,
        /// The entity as last known, if it was held.
        last_known: Option<T>,
    },
}

impl<T> RichUpdate<T> {
    /// The entity key.
    pub fn key(&self) -> &str {
        match self {
            RichUpdate::Created { key, .. }
            | RichUpdate::Updated { key, .. }
            | RichUpdate::Deleted { key, .. } => key,
        }
    }

    /// Whether the patch of an [`RichUpdate::Updated`] carried the field at the dotted `path`
    /// (`"volume_sol"`, `"stats.history"`); a field set to `null` counts. Always `false` for
    /// `Created` and `Deleted`.
    pub fn has_patch_field(&self, path: &str) -> bool {
        match self {
            RichUpdate::Updated {
                patch: Some(patch), ..
            } => has_path(patch, path),
            _ => false,
        }
    }

    /// The patch of an `Updated` that came as one.
    pub fn patch(&self) -> Option<&Value> {
        match self {
            RichUpdate::Updated { patch, .. } => patch.as_ref(),
            _ => None,
        }
    }

    /// The entity after the change (`None` for a delete).
    pub fn data(&self) -> Option<&T> {
        match self {
            RichUpdate::Created { data, .. } => Some(data),
            RichUpdate::Updated { after, .. } => Some(after),
            RichUpdate::Deleted { .. } => None,
        }
    }

    /// Whether this is a delete.
    pub fn is_delete(&self) -> bool {
        matches!(self, RichUpdate::Deleted { .. })
    }
}
