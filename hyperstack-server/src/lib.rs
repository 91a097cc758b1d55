//! # hyperstack-server
//!
//! The hyperstack runtime: source → decode → transform → project → bus → websocket.
//!
//! Only the stack model is wired in so far: the ingestion, projection and WebSocket stages are
//! built by their own issues. [`load_stack`] is the entry point they share.

#![warn(missing_docs)]

pub use hyperstack_spec as spec;
