//! `types.rs` of a generated crate: one struct per entity, plus the IDL types they use in an
//! `idl` module.

use proc_macro2::TokenStream;
use quote::quote;

use hyperstack_spec::idl::{Layout, LayoutFields};
use hyperstack_spec::{Entity, Field, FieldKind, Section, Stack};

use crate::rust::names::{field_ident, snake, type_ident};
use crate::rust::types::{needs_lenient, rust_type, NamedTypes};

/// Collects the named IDL types every emitted entity field uses.
pub fn named_types(stack: &Stack) -> NamedTypes {
    let mut named = NamedTypes::default();
    for entity in &stack.entities {
        for field in entity.fields.iter().filter(|f| f.emit) {
            named.collect(&field.ty);
        }
    }
    named
}

/// The tokens of `types.rs`.
pub fn types_module(stack: &Stack, named: &NamedTypes) -> TokenStream {
    let entities = stack.entities.iter().map(|e| entity_struct(e, named));
    let idl_types = named
        .iter()
        .map(|(name, layout)| idl_type(stack, name, layout, named));
    quote! {
        #(#entities)*

        /// Types from the stack's IDLs that entity fields use.
        pub mod idl {
            #(#idl_types)*
        }
    }
}

fn serde_attrs() -> TokenStream {
    quote! {
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::cmp::PartialEq,
            ::hyperstack_sdk::__serde::Serialize, ::hyperstack_sdk::__serde::Deserialize)]
        #[serde(crate = "::hyperstack_sdk::__serde")]
    }
}

fn entity_struct(entity: &Entity, named: &NamedTypes) -> TokenStream {
    let ident = type_ident(&entity.name);
    let doc = entity.description.clone().unwrap_or_else(|| {
        format!(
            "`{}` entity data. Every field is optional: a patch carries only what changed.",
            entity.name
        )
    });
    let doc = crate::rust::doc(&doc);
    let key_doc = format!("Primary key: `{}`.", entity.key.path());
    let key_doc = crate::rust::doc(&key_doc);
    let members = members(entity, "", named);
    let sections = entity
        .sections
        .iter()
        .filter(|s| has_emitted(entity, &s.path))
        .map(|s| section_struct(entity, s, named));
    let derive = serde_attrs();
    quote! {
        #doc

        #key_doc
        #derive
        #[derive(::core::default::Default)]
        pub struct #ident {
            #(#members)*
        }

        #(#sections)*
    }
}

/// Whether the section at `path` holds an emitted field (at any depth).
fn has_emitted(entity: &Entity, path: &str) -> bool {
    let prefix = format!("{path}.");
    entity
        .fields
        .iter()
        .any(|f| f.emit && f.name.starts_with(&prefix))
}

/// The direct parent path of a dotted name (`""` at the top level).
fn parent(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(p, _)| p)
}

/// The last segment of a dotted name.
fn leaf(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, l)| l)
}

/// The members of the struct at `path` (`""` = the entity): its emitted fields and the
/// sections directly inside it, in file order.
fn members(entity: &Entity, path: &str, named: &NamedTypes) -> Vec<TokenStream> {
    let mut out: Vec<(usize, TokenStream)> = Vec::new();
    for (i, f) in entity.fields.iter().enumerate() {
        if f.emit && parent(&f.name) == path {
            out.push((i, entity_field(f, named)));
        }
    }
    for s in &entity.sections {
        if parent(&s.path) != path || !has_emitted(entity, &s.path) {
            continue;
        }
        // Place the section where its first field is written.
        let prefix = format!("{}.", s.path);
        let at = entity
            .fields
            .iter()
            .position(|f| f.name.starts_with(&prefix))
            .unwrap_or(usize::MAX);
        out.push((at, section_member(s)));
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// The member of a parent struct that holds a section.
fn section_member(section: &Section) -> TokenStream {
    let name = leaf(&section.path);
    let ident = field_ident(name);
    let ty = type_ident(&section.type_name);
    let rename = rename_attr(name);
    let doc = crate::rust::doc(&format!(
        "Section `{}` (empty until one of its fields is set).",
        section.path
    ));
    let skip = format!("{}::is_empty", ty);
    quote! {
        #doc
        #rename
        #[serde(default, skip_serializing_if = #skip)]
        pub #ident: #ty,
    }
}

fn section_struct(entity: &Entity, section: &Section, named: &NamedTypes) -> TokenStream {
    let ident = type_ident(&section.type_name);
    let doc = crate::rust::doc(&format!(
        "Section `{}` of `{}`. Every field is optional: a patch carries only what changed.",
        section.path, entity.name
    ));
    let members = members(entity, &section.path, named);
    let derive = serde_attrs();
    quote! {
        #doc
        #derive
        #[derive(::core::default::Default)]
        pub struct #ident {
            #(#members)*
        }

        impl #ident {
            /// Whether no field of the section is set (it is then left out of serialized JSON).
            pub fn is_empty(&self) -> bool {
                *self == Self::default()
            }
        }
    }
}

fn field_doc(field: &Field) -> String {
    if let Some(d) = &field.description {
        return d.clone();
    }
    match &field.kind {
        FieldKind::Mapped {
            strategy,
            sources,
            transform,
            ..
        } => {
            let paths: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
            let mut doc = format!("`{}` of `{}`", strategy.name(), paths.join("`, `"));
            if let Some(t) = transform {
                doc.push_str(&format!(", as `{}`", t.describe()));
            }
            doc.push('.');
            doc
        }
        FieldKind::Computed { source, .. } => format!("Computed: `{source}`."),
        FieldKind::Resolved {
            resolver, source, ..
        } => format!(
            "Resolved by `{}` for `{source}` (from outside the chain; absent until resolved).",
            resolver.name()
        ),
    }
}

fn entity_field(field: &Field, named: &NamedTypes) -> TokenStream {
    let json_name = leaf(&field.name);
    let ident = field_ident(json_name);
    let ty = rust_type(&field.ty, named, false);
    let doc = field_doc(field);
    let doc = crate::rust::doc(&doc);
    let rename = rename_attr(json_name);
    let lenient = needs_lenient(&field.ty);
    let (ty, with) = match (field.nullable, lenient) {
        (true, true) => (
            quote!(::core::option::Option<::core::option::Option<#ty>>),
            quote!(deserialize_with = "::hyperstack_sdk::json::nullable_lenient",),
        ),
        (true, false) => (
            quote!(::core::option::Option<::core::option::Option<#ty>>),
            quote!(deserialize_with = "::hyperstack_sdk::json::nullable",),
        ),
        (false, true) => (
            quote!(::core::option::Option<#ty>),
            quote!(deserialize_with = "::hyperstack_sdk::json::lenient",),
        ),
        (false, false) => (quote!(::core::option::Option<#ty>), quote!()),
    };
    quote! {
        #doc
        #rename
        #[serde(default, #with skip_serializing_if = "::core::option::Option::is_none")]
        pub #ident: #ty,
    }
}

fn rename_attr(json_name: &str) -> TokenStream {
    if snake(json_name) == json_name {
        quote!()
    } else {
        quote!(#[serde(rename = #json_name)])
    }
}

fn lenient_attr(ty: &Layout) -> TokenStream {
    if needs_lenient(ty) {
        quote!(#[serde(deserialize_with = "::hyperstack_sdk::json::lenient")])
    } else {
        quote!()
    }
}

/// The body of a struct or enum variant: `{ named fields }`, `(tuple fields)` or nothing.
/// Struct fields are `pub`; variant fields cannot carry visibility.
fn fields_body(fields: &LayoutFields, named: &NamedTypes, public: bool) -> TokenStream {
    let vis = if public { quote!(pub) } else { quote!() };
    match fields {
        LayoutFields::Unit => quote!(),
        LayoutFields::Named(named_fields) => {
            let fields = named_fields.iter().map(|(n, t)| {
                let f = field_ident(n);
                let ty = rust_type(t, named, true);
                let rename = rename_attr(n);
                let lenient = lenient_attr(t);
                // An optional field may be absent (a merged object lacks what no source gave).
                let default = match t {
                    Layout::Option(_) | Layout::COption(_) => quote!(#[serde(default)]),
                    _ => quote!(),
                };
                let doc = crate::rust::doc(&format!("`{n}`"));
                quote!(#doc #rename #default #lenient #vis #f: #ty,)
            });
            quote!({ #(#fields)* })
        }
        LayoutFields::Tuple(items) => {
            let items = items.iter().map(|t| {
                let ty = rust_type(t, named, true);
                let lenient = lenient_attr(t);
                quote!(#lenient #vis #ty)
            });
            quote!(( #(#items),* ))
        }
    }
}

/// Whether a struct name was made by the spec (a `merge` of several sources, a struct with
/// transformed fields: `<Entity>_<field>`) rather than taken from an IDL.
fn is_built(stack: &Stack, name: &str) -> bool {
    stack
        .entities
        .iter()
        .any(|e| name.starts_with(&format!("{}_", e.name)))
}

fn idl_type(stack: &Stack, name: &str, layout: &Layout, named: &NamedTypes) -> TokenStream {
    let ident = type_ident(name);
    let derive = serde_attrs();
    match layout {
        Layout::Struct {
            name: idl_name,
            fields,
        } => {
            let resolved =
                stack
                    .entities
                    .iter()
                    .flat_map(|e| &e.fields)
                    .find_map(|f| match &f.kind {
                        FieldKind::Resolved { resolver, .. } if f.ty == *layout => Some(*resolver),
                        _ => None,
                    });
            let doc = if let Some(resolver) = resolved {
                format!(
                    "`{idl_name}`: the value of resolver `{}` (filled from outside the chain; each field null when the source lacks it).",
                    resolver.name()
                )
            } else if is_built(stack, idl_name) {
                format!("`{idl_name}`: built by the spec from IDL types (a merge, or transformed fields).")
            } else {
                format!("IDL type `{idl_name}`.")
            };
            let doc = crate::rust::doc(&doc);
            let body = fields_body(fields, named, true);
            // Only a braced body needs no `;`.
            let semi = match fields {
                LayoutFields::Named(_) => quote!(),
                _ => quote!(;),
            };
            quote! {
                #doc
                #derive
                pub struct #ident #body #semi
            }
        }
        Layout::Enum {
            name: idl_name,
            variants,
        } => {
            let doc = crate::rust::doc(&format!("IDL enum `{idl_name}`."));
            let variants = variants.iter().map(|(vname, fields)| {
                let v = type_ident(vname);
                let rename = if crate::rust::names::camel(vname) == *vname {
                    quote!()
                } else {
                    quote!(#[serde(rename = #vname)])
                };
                let vdoc = crate::rust::doc(&format!("`{vname}`"));
                let body = fields_body(fields, named, false);
                quote!(#vdoc #rename #v #body,)
            });
            quote! {
                #doc
                #derive
                pub enum #ident { #(#variants)* }
            }
        }
        _ => quote!(),
    }
}
