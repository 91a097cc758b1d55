//! Rust-specific building blocks: identifiers and type mapping.

pub mod names;
pub mod types;

use proc_macro2::TokenStream;
use quote::quote;

/// A `#[doc]` attribute that pretty-prints as `/// text` (one line per line of `text`).
pub fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|l| {
        let l = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#[doc = #l])
    });
    quote!(#(#lines)*)
}
