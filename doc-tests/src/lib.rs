//! The project's documents as doc tests: each module below is one Markdown file, so `cargo test`
//! compiles every Rust block in them (`no_run` blocks are compiled, not run). A block marked
//! `ignore` would escape that check, so [`fences`] refuses them, and refuses a document under
//! `docs/` that is not listed here.

/// `README.md`.
#[doc = include_str!("../../README.md")]
pub mod readme {}

/// `CHANGELOG.md`.
#[doc = include_str!("../../CHANGELOG.md")]
pub mod changelog {}

/// `docs/ARCHITECTURE.md`.
#[doc = include_str!("../../docs/ARCHITECTURE.md")]
pub mod architecture {}

/// `docs/PROTOCOL.md`.
#[doc = include_str!("../../docs/PROTOCOL.md")]
pub mod protocol {}

/// `docs/REPLAY.md`.
#[doc = include_str!("../../docs/REPLAY.md")]
pub mod replay {}

/// `docs/STACK_SPEC.md`.
#[doc = include_str!("../../docs/STACK_SPEC.md")]
pub mod stack_spec {}

pub mod fences;
