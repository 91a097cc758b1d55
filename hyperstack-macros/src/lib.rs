//! # hyperstack-macros
//!
//! `stack!("path/to/x.stack.toml")` expands, at compile time, to the same items
//! `hs sdk create rust` writes into a generated crate: the `types`, `entity` and `spec` modules
//! and their re-exports (entity structs, `<Entity>Entity` markers, `<Entity>Views` accessors,
//! `spec()`). The crate using it depends on `hyperstack-sdk`.
//!
//! ```ignore
//! mod pump {
//!     hyperstack_macros::stack!("stacks/pump.stack.toml");
//! }
//! use hyperstack_sdk::Entity;
//! assert_eq!(pump::TokenEntity::NAME, "Token");
//! ```
//!
//! The path is relative to the invoking crate's `CARGO_MANIFEST_DIR`; when no file exists
//! there, it is taken relative to the directory of the source file that invokes the macro.
//! The spec and its IDLs are tracked (`include_bytes!`), so editing them rebuilds the crate.
//! Spec errors become `compile_error!`s carrying hyperstack-spec's message (file, line,
//! column, entity and field).

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, LitStr};

/// Expands a stack spec file into its typed items. See the crate docs.
#[proc_macro]
pub fn stack(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    match expand(&lit) {
        Ok(tokens) => tokens.into(),
        Err(messages) => {
            let errors = messages.iter().map(|m| {
                let m = m.as_str();
                quote::quote_spanned!(lit.span() => ::core::compile_error!(#m);)
            });
            quote!(#(#errors)*).into()
        }
    }
}

fn expand(lit: &LitStr) -> Result<proc_macro2::TokenStream, Vec<String>> {
    let rel = lit.value();
    let (base, path) = locate(&rel)?;
    let loaded = hyperstack_spec::load_stack_with_inputs(&path).map_err(|errors| {
        // Report paths as the user wrote them, not as absolute paths.
        let prefix = format!("{}/", base.display());
        errors
            .errors()
            .iter()
            .map(|e| e.to_string().replace(&prefix, ""))
            .collect::<Vec<_>>()
    })?;
    let generated = hyperstack_codegen::generate(&loaded.stack);
    let inline = generated.inline_tokens();
    let tracked = loaded.inputs.iter().map(|p| {
        let p = p.to_string_lossy().into_owned();
        quote!(
            const _: &[u8] = ::core::include_bytes!(#p);
        )
    });
    Ok(quote! {
        #inline
        // Rebuild when the spec or an IDL changes.
        const _: () = { #(#tracked)* };
    })
}

/// Finds the spec: relative to the manifest dir, else to the invoking file's directory.
fn locate(rel: &str) -> Result<(PathBuf, PathBuf), Vec<String>> {
    let given = Path::new(rel);
    if given.is_absolute() {
        let base = given.parent().unwrap_or(Path::new("/")).to_path_buf();
        return Ok((base, given.to_path_buf()));
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let in_manifest = manifest.join(rel);
    if in_manifest.is_file() {
        return Ok((manifest, in_manifest));
    }
    if let Some(dir) = proc_macro::Span::call_site()
        .local_file()
        .and_then(|f| f.parent().map(Path::to_path_buf))
    {
        // rustc names source files relative to its working directory (under cargo, the
        // workspace root for workspace members; the macro runs in the same process).
        let dir = if dir.is_relative() {
            std::env::current_dir()
                .map(|cwd| cwd.join(&dir))
                .unwrap_or_else(|_| manifest.join(&dir))
        } else {
            dir
        };
        let candidate = dir.join(rel);
        if candidate.is_file() {
            return Ok((dir, candidate));
        }
    }
    // No paths of the build machine in the message: they would differ between machines.
    Err(vec![format!(
        "stack spec `{rel}` not found: it is looked up relative to the crate's \
         `CARGO_MANIFEST_DIR`, then relative to the directory of the source file invoking `stack!`"
    )])
}
