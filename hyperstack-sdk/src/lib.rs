//! # hyperstack-sdk
//!
//! The hyperstack client: typed, live entity streams from a hyperstack server.
//!
//! - [`HyperStack`]: the connection (`connect`, `builder`, `get`, `list`, `watch*`, `views`),
//!   with one merged store per subscribed view, transparent gzip, reconnects that resume
//!   every subscription without loss, application pings, TLS;
//! - [`Update`] / [`RichUpdate`]: what the streams yield; [`EntityStream`] /
//!   [`RichEntityStream`] and the [`ops`] operators (`filter`, `filter_map`, `map`);
//! - [`Entity`], [`Views`] and the typed view handles [`StateView`], [`ListView`],
//!   [`SingleView`]: what generated stack crates implement and return;
//! - [`json`]: deserializers that accept 64/128-bit integers as JSON numbers or strings;
//! - [`store`]: the merge and reconciliation rules, usable on their own.
//!
//! ```no_run
//! use hyperstack_sdk::prelude::*;
//! # #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
//! # struct Token { name: Option<String> }
//! # struct TokenEntity;
//! # impl Entity for TokenEntity {
//! #     type Data = Token;
//! #     const NAME: &'static str = "Token";
//! #     const VIEWS: &'static [&'static str] = &["Token/state", "Token/list"];
//! # }
//!
//! # async fn run() -> Result<(), HyperStackError> {
//! let hs = HyperStack::connect("ws://localhost:8877").await?;
//! let mut updates = hs.watch::<TokenEntity>();
//! while let Some(update) = updates.next().await {
//!     match update {
//!         Update::Upsert { key, data } | Update::Patch { key, data } => println!("{key}: {data:?}"),
//!         Update::Delete { key } => println!("{key} deleted"),
//!     }
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod client;
mod connection;
mod decode;
mod entity;
mod error;
pub mod json;
mod redact;
pub mod store;
mod stream;
mod update;
mod view;

pub use client::{HyperStack, HyperStackBuilder};
pub use connection::ConnectionState;
pub use entity::Entity;
pub use error::HyperStackError;
/// The stack model (`hyperstack-spec`), re-exported so generated crates need one dependency.
pub use hyperstack_spec as spec;
#[doc(hidden)]
pub use serde as __serde;
pub use stream::ops;
pub use stream::{EntityStream, RichEntityStream};
pub use update::{RichUpdate, Update};
pub use view::{ListView, SingleView, StateView, ViewContext, Views};

/// Everything an application needs: `use hyperstack_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::ops::{Filter, FilterMap, Map};
    pub use crate::{
        ConnectionState, Entity, EntityStream, HyperStack, HyperStackBuilder, HyperStackError,
        ListView, RichEntityStream, RichUpdate, SingleView, StateView, Update, Views,
    };
    pub use futures_util::{Stream, StreamExt};
}
