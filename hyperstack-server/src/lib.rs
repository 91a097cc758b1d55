//! # hyperstack-server
//!
//! The hyperstack runtime: source → decode → transform → project → bus → websocket.
//!
//! Not built yet: this crate only re-exports the stack model it will consume
//! ([`spec::Stack`], as returned by a generated crate's `spec()`). The ingestion, projection and
//! WebSocket stages arrive with their own issues.

#![warn(missing_docs)]

pub use hyperstack_spec as spec;
