//! `spec.rs` of a generated crate: the checked stack model, embedded as JSON.

use proc_macro2::TokenStream;
use quote::quote;

use hyperstack_spec::Stack;

/// The tokens of `spec.rs`.
pub fn spec_module(stack: &Stack) -> TokenStream {
    // A Stack is plain data with string keys: serializing it cannot fail.
    let json = serde_json::to_string_pretty(stack).unwrap_or_default();
    let literal = raw_string_literal(&json);
    let name = &stack.name;
    let doc = format!(
        "The `{name}` stack model (entities, views, IDLs), for a hyperstack server.\n\n\
         # Panics\n\nNever for generated code: the embedded JSON was written by the same \
         `hyperstack-spec` version this crate depends on (a test of the generated crate \
         checks it)."
    );
    let doc = crate::rust::doc(&doc);
    quote! {
        /// The checked stack model as JSON, as written by the code generator.
        pub const STACK_JSON: &str = #literal;

        #doc
        pub fn spec() -> ::hyperstack_sdk::spec::Stack {
            match ::hyperstack_sdk::spec::Stack::from_json(STACK_JSON) {
                ::core::result::Result::Ok(stack) => stack,
                ::core::result::Result::Err(e) => {
                    ::core::panic!("embedded stack JSON does not match hyperstack-spec: {e}")
                }
            }
        }
    }
}

/// A raw string literal (`r#"…"#`) holding `text`, with enough `#`s to be unambiguous.
fn raw_string_literal(text: &str) -> TokenStream {
    let mut hashes = 1;
    while text.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    let source = format!("r{h}\"{text}\"{h}");
    source.parse::<TokenStream>().unwrap_or_else(|_| {
        let lit = proc_macro2::Literal::string(text);
        quote!(#lit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_literal_survives_hashes_in_text() {
        let text = "has \"# and \"## inside";
        let lit: syn::LitStr = syn::parse2(raw_string_literal(text)).unwrap();
        assert_eq!(lit.value(), text);
    }
}
