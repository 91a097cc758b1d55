//! # hyperstack-codegen
//!
//! One generator, two fronts: [`generate`] turns a checked [`Stack`] into Rust tokens
//! (entity structs, `Entity` impls, `<Entity>Views` accessors, the embedded stack model). The
//! `hs` command line (crate `hyperstack-cli`) pretty-prints them into a crate
//! ([`write_crate`]); `hyperstack-macros` emits the same tokens at compile time
//! ([`GeneratedStack::inline_tokens`]). This crate is a pure library: it depends on the spec
//! crate and the token tools, never on the server or the SDK.
//!
//! ```no_run
//! let stack = hyperstack_spec::load_stack("examples/pump/pump.stack.toml".as_ref()).unwrap();
//! let generated = hyperstack_codegen::generate(&stack);
//! let dependency = hyperstack_codegen::DependencySource::Path("/src/hyperstack".into());
//! let options = hyperstack_codegen::CrateOptions::new(&stack.name, dependency);
//! let files = generated.crate_files(&options);
//! for file in &files {
//!     println!("{} ({} bytes)", file.path.display(), file.contents.len());
//! }
//! ```

#![warn(missing_docs)]

mod crate_files;
mod gen_entity;
mod gen_spec;
mod gen_types;
mod rust;
pub mod workspace;

pub use crate_files::{write_crate, CrateOptions, DependencySource, GeneratedFile};

use proc_macro2::TokenStream;
use quote::quote;

use hyperstack_spec::Stack;

/// The generated tokens of one stack, one stream per module of the generated crate.
#[derive(Debug, Clone)]
pub struct GeneratedStack {
    /// `types.rs`: entity structs and the `idl` module of IDL types.
    pub types: TokenStream,
    /// `entity.rs`: `Entity` markers and `<Entity>Views` accessors.
    pub entity: TokenStream,
    /// `spec.rs`: `STACK_JSON` and `spec()`.
    pub spec: TokenStream,
}

/// Generates the Rust code of a stack. Deterministic: the same stack gives the same tokens.
pub fn generate(stack: &Stack) -> GeneratedStack {
    let named = gen_types::named_types(stack);
    GeneratedStack {
        types: gen_types::types_module(stack, &named),
        entity: gen_entity::entity_module(stack),
        spec: gen_spec::spec_module(stack),
    }
}

impl GeneratedStack {
    /// Every module inline, with the re-exports `lib.rs` has: what `stack!` expands to.
    pub fn inline_tokens(&self) -> TokenStream {
        let GeneratedStack {
            types,
            entity,
            spec,
        } = self;
        quote! {
            /// Entity data structs and the IDL types they use.
            #[rustfmt::skip]
            pub mod types { #types }
            /// `Entity` markers and typed view accessors.
            #[rustfmt::skip]
            pub mod entity { #entity }
            /// The embedded stack model.
            #[rustfmt::skip]
            pub mod spec { #spec }
            pub use self::entity::*;
            pub use self::spec::{spec, STACK_JSON};
            pub use self::types::*;
        }
    }

    /// The module declarations and re-exports of the crate root (`lib.rs` after its docs).
    pub fn lib_tokens() -> TokenStream {
        quote! {
            /// Entity data structs and the IDL types they use.
            #[rustfmt::skip]
            pub mod types;
            /// `Entity` markers and typed view accessors.
            #[rustfmt::skip]
            pub mod entity;
            /// The embedded stack model.
            #[rustfmt::skip]
            pub mod spec;
            pub use self::entity::*;
            pub use self::spec::{spec, STACK_JSON};
            pub use self::types::*;
        }
    }
}

/// Pretty-prints tokens as a Rust file.
pub fn pretty(tokens: TokenStream) -> Result<String, syn::Error> {
    let file: syn::File = syn::parse2(tokens)?;
    Ok(prettyplease::unparse(&file))
}
