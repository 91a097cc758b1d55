//! Commands of `hs` that talk to a running server.

pub mod stream;
pub mod views;
