//! The traits generated stack crates implement.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// An entity type of a stack, implemented by the generated marker type (`TokenEntity`).
///
/// ```
/// use hyperstack_sdk::Entity;
///
/// #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Token { volume: Option<u64> }
///
/// struct TokenEntity;
/// impl Entity for TokenEntity {
///     type Data = Token;
///     const NAME: &'static str = "Token";
///     const VIEWS: &'static [&'static str] = &["Token/state", "Token/list"];
/// }
///
/// assert_eq!(TokenEntity::state_view(), "Token/state");
/// ```
pub trait Entity: Send + Sync + 'static {
    /// The entity's data as clients see it (every field optional: patches carry only changes).
    type Data: Serialize
        + DeserializeOwned
        + Clone
        + Debug
        + Default
        + PartialEq
        + Send
        + Sync
        + 'static;
    /// The entity's name, the first half of its view names (`Token` in `Token/list`).
    const NAME: &'static str;
    /// Full names of every view of the entity, built-in ones first.
    const VIEWS: &'static [&'static str];

    /// The `<Entity>/state` view: one entity by key.
    fn state_view() -> String {
        format!("{}/state", Self::NAME)
    }

    /// The `<Entity>/list` view: every entity.
    fn list_view() -> String {
        format!("{}/list", Self::NAME)
    }
}
