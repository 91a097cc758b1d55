//! # hyperstack-spec
//!
//! The model of a hyperstack *stack*: the stack spec file (TOML or JSON), the Anchor / steel
//! IDLs it reads, the computed-field expression language, and the validation that turns a spec
//! file into a checked [`Stack`] the code generator and the server consume, and the [`wire`]
//! rules (merge with append paths, view order) that the server and the SDK both apply.
//!
//! This crate is deliberately light (serde, toml, sha2, schemars): it is a dependency of the
//! proc-macro, the code generator, the server and generated crates alike.
//!
//! ```no_run
//! let stack = hyperstack_spec::load_stack("examples/pump/pump.stack.toml".as_ref())
//!     .map_err(|errors| eprintln!("{errors}"))
//!     .expect("valid spec");
//! for entity in &stack.entities {
//!     for view in &entity.views {
//!         println!("{}", view.full_name);
//!     }
//! }
//! ```

#![warn(missing_docs)]

mod error;
pub mod expr;
pub mod file;
pub mod idl;
mod load;
mod model;
mod schema;
pub mod validate;
pub mod wire;

pub use error::{Location, SpecError, SpecErrorKind, SpecErrors};
pub use load::{
    expand_env, load_stack, load_stack_from_str, load_stack_from_str_env, load_stack_with_env,
    load_stack_with_inputs, process_env, LoadedStack,
};
pub use model::*;
pub use schema::json_schema;
