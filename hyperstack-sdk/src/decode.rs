//! Turning a view's JSON entities into the entity's data type.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Converts an entity; a value that does not fit the type is logged and skipped.
pub(crate) fn entity<T: DeserializeOwned>(key: &str, v: &Arc<Value>) -> Option<T> {
    match T::deserialize(&**v) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(%key, error = %e, "entity does not fit its type; skipped");
            None
        }
    }
}
