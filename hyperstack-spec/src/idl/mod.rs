//! Anchor / steel IDL loading and type resolution.
//!
//! [`Idl::load`] reads an Anchor 0.30+, legacy Anchor or steel IDL file into one normalized
//! [`Idl`], derives what the format leaves implicit (discriminators, inline types) and checks
//! its references; [`Idl::layout`] then resolves any type into a concrete [`Layout`].

mod check;
mod error;
mod layout;
mod load;
mod model;
mod raw;
mod resolve;
mod resolver;
#[cfg(test)]
mod test_util;

pub use error::IdlError;
pub use layout::{Layout, LayoutFields};
pub use model::*;
pub use resolve::{camel_case, snake_case, MAX_LAYOUT_DEPTH};
