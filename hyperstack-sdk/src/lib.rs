//! # hyperstack-sdk
//!
//! The hyperstack client. This release holds the pieces generated stack crates build on:
//!
//! - [`Entity`]: implemented by each generated entity marker (`TokenEntity`), naming its data
//!   type and its views;
//! - [`Views`] and the typed view handles [`StateView`], [`ListView`], [`SingleView`]: the
//!   generated `<Entity>Views` accessors return them;
//! - [`json`]: deserializers that accept 64/128-bit integers as JSON numbers or strings.
//!
//! The connection, the merged store and the streams (`HyperStack::connect`, `get`, `list`,
//! `watch`, …) are built on these in the SDK issue.

#![warn(missing_docs)]

mod entity;
pub mod json;
mod view;

pub use entity::{Entity, Views};
/// The stack model (`hyperstack-spec`), re-exported so generated crates need one dependency.
pub use hyperstack_spec as spec;
#[doc(hidden)]
pub use serde as __serde;
pub use view::{ListView, SingleView, StateView, ViewContext};
