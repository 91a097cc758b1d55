//! `entity.rs` of a generated crate: an `Entity` marker and a `<Entity>Views` accessor per
//! entity.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use hyperstack_spec::{Entity, SortOrder, Stack, View, ViewKind};

use crate::rust::names::{field_ident, type_ident};

/// The tokens of `entity.rs`.
pub fn entity_module(stack: &Stack) -> TokenStream {
    let items = stack.entities.iter().map(entity_items);
    quote!(#(#items)*)
}

fn entity_items(entity: &Entity) -> TokenStream {
    let data = type_ident(&entity.name);
    let marker = Ident::new(&format!("{data}Entity"), Span::call_site());
    let views_ty = Ident::new(&format!("{data}Views"), Span::call_site());
    let name = &entity.name;
    let view_names = entity.views.iter().map(|v| v.full_name.as_str());
    let marker_doc = format!("The `{name}` entity: its data type and its views.");
    let marker_doc = crate::rust::doc(&marker_doc);
    let views_doc = format!("Typed access to the views of `{name}`.");
    let views_doc = crate::rust::doc(&views_doc);
    let accessors = entity.views.iter().map(|v| view_accessor(v, &marker));
    quote! {
        #marker_doc
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy)]
        pub struct #marker;

        impl ::hyperstack_sdk::Entity for #marker {
            type Data = super::types::#data;
            const NAME: &'static str = #name;
            const VIEWS: &'static [&'static str] = &[#(#view_names),*];
        }

        #views_doc
        #[derive(::core::fmt::Debug, ::core::clone::Clone)]
        pub struct #views_ty {
            ctx: ::hyperstack_sdk::ViewContext,
        }

        impl ::hyperstack_sdk::Views for #views_ty {
            type Entity = #marker;

            fn from_context(ctx: ::hyperstack_sdk::ViewContext) -> Self {
                Self { ctx }
            }
        }

        impl #views_ty {
            #(#accessors)*
        }
    }
}

fn view_accessor(view: &View, marker: &Ident) -> TokenStream {
    let method = field_ident(&view.name);
    let full = &view.full_name;
    let (ret, ctor, doc) = match &view.kind {
        ViewKind::State => (
            quote!(StateView),
            quote!(state_view),
            format!("`{full}`: one entity by key."),
        ),
        ViewKind::List => (
            quote!(ListView),
            quote!(list_view),
            format!("`{full}`: every entity."),
        ),
        ViewKind::Append => (
            quote!(ListView),
            quote!(list_view),
            format!("`{full}`: every change, appended."),
        ),
        ViewKind::Derived(d) => {
            let mut doc = format!("`{full}`");
            if let Some(sort) = &d.sort {
                let order = match sort.order {
                    SortOrder::Asc => "ascending",
                    SortOrder::Desc => "descending",
                };
                doc.push_str(&format!(": sorted by `{}` {order}", sort.field));
            }
            if let Some(limit) = d.limit {
                doc.push_str(&format!(", top {limit}"));
            }
            if let Some(filter) = &d.filter {
                doc.push_str(&format!(", where `{}`", filter.source()));
            }
            doc.push('.');
            if let Some(desc) = &view.description {
                doc.push_str(&format!(" {desc}"));
            }
            if d.is_single() {
                (quote!(SingleView), quote!(single_view), doc)
            } else {
                (quote!(ListView), quote!(list_view), doc)
            }
        }
    };
    let doc = crate::rust::doc(&doc);
    quote! {
        #doc
        pub fn #method(&self) -> ::hyperstack_sdk::#ret<#marker> {
            self.ctx.#ctor(#full)
        }
    }
}
