//! IDL layouts → Rust types, and the named IDL types an entity needs.

use proc_macro2::TokenStream;
use quote::quote;

use hyperstack_spec::idl::{IdlPrimitive, Layout, LayoutFields};

use super::names::type_ident;

/// Named struct/enum layouts used by a stack, deduplicated, each with its Rust name.
#[derive(Default)]
pub struct NamedTypes {
    /// (rust name, layout) in first-use order.
    entries: Vec<(String, Layout)>,
}

impl NamedTypes {
    /// Registers every named layout inside `ty` (depth-first, dependencies first).
    pub fn collect(&mut self, ty: &Layout) {
        match ty {
            Layout::Primitive(_) => {}
            Layout::Option(t) | Layout::COption(t) | Layout::Vec(t) | Layout::Array(t, _) => {
                self.collect(t)
            }
            Layout::Struct { name, fields } => {
                if self.position(ty).is_none() {
                    self.collect_fields(fields);
                    self.push(name, ty);
                }
            }
            Layout::Enum { name, variants } => {
                if self.position(ty).is_none() {
                    variants.iter().for_each(|(_, f)| self.collect_fields(f));
                    self.push(name, ty);
                }
            }
        }
    }

    fn push(&mut self, idl_name: &str, ty: &Layout) {
        let base = super::names::camel(idl_name);
        let mut name = base.clone();
        let mut n = 2;
        while self.entries.iter().any(|(existing, _)| *existing == name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.entries.push((name, ty.clone()));
    }

    fn collect_fields(&mut self, fields: &LayoutFields) {
        match fields {
            LayoutFields::Unit => {}
            LayoutFields::Named(named) => named.iter().for_each(|(_, t)| self.collect(t)),
            LayoutFields::Tuple(items) => items.iter().for_each(|t| self.collect(t)),
        }
    }

    fn position(&self, ty: &Layout) -> Option<usize> {
        self.entries.iter().position(|(_, l)| l == ty)
    }

    /// The Rust name given to a named layout.
    pub fn name_of(&self, ty: &Layout) -> Option<&str> {
        self.position(ty).map(|i| self.entries[i].0.as_str())
    }

    /// Every named layout with its Rust name, dependencies first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Layout)> {
        self.entries.iter().map(|(n, l)| (n.as_str(), l))
    }
}

/// The Rust type of a layout. Named types are referred to as `idl::<Name>` (entity structs live
/// beside the `idl` module; IDL types refer to each other inside it with `prefix` empty).
pub fn rust_type(ty: &Layout, named: &NamedTypes, in_idl_module: bool) -> TokenStream {
    match ty {
        Layout::Primitive(p) => primitive(*p),
        Layout::Option(t) | Layout::COption(t) => {
            let inner = rust_type(t, named, in_idl_module);
            quote!(::core::option::Option<#inner>)
        }
        Layout::Vec(t) | Layout::Array(t, _) => {
            let inner = rust_type(t, named, in_idl_module);
            quote!(::std::vec::Vec<#inner>)
        }
        Layout::Struct { .. } | Layout::Enum { .. } => {
            let ident = type_ident(named.name_of(ty).unwrap_or("Unknown"));
            if in_idl_module {
                quote!(#ident)
            } else {
                quote!(idl::#ident)
            }
        }
    }
}

fn primitive(p: IdlPrimitive) -> TokenStream {
    use IdlPrimitive::*;
    match p {
        Bool => quote!(bool),
        U8 => quote!(u8),
        U16 => quote!(u16),
        U32 => quote!(u32),
        U64 => quote!(u64),
        U128 => quote!(u128),
        I8 => quote!(i8),
        I16 => quote!(i16),
        I32 => quote!(i32),
        I64 => quote!(i64),
        I128 => quote!(i128),
        F32 => quote!(f32),
        F64 => quote!(f64),
        // 256-bit integers travel as decimal strings; pubkeys as base58.
        U256 | I256 | String | Pubkey => quote!(::std::string::String),
        Bytes => quote!(::std::vec::Vec<u8>),
    }
}

/// Whether the Rust type of `ty` needs the SDK's lenient (number-or-string) deserializer:
/// 64/128-bit integers, possibly inside `Option`/`Vec`.
pub fn needs_lenient(ty: &Layout) -> bool {
    use IdlPrimitive::*;
    match ty {
        Layout::Primitive(U64 | I64 | U128 | I128) => true,
        Layout::Option(t) | Layout::COption(t) | Layout::Vec(t) | Layout::Array(t, _) => {
            needs_lenient(t)
        }
        _ => false,
    }
}
