//! Rust identifiers for spec and IDL names.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// A field / function identifier: snake_case, raw (`r#type`) when it is a keyword.
pub fn field_ident(name: &str) -> Ident {
    let snake = snake(name);
    ident(&snake)
}

/// The snake_case form used for fields.
pub fn snake(name: &str) -> String {
    let s = name.to_snake_case();
    if s.is_empty() {
        "field".to_string()
    } else if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

/// A type / variant identifier: UpperCamelCase.
pub fn type_ident(name: &str) -> Ident {
    let camel = camel(name);
    ident(&camel)
}

/// The UpperCamelCase form used for types.
pub fn camel(name: &str) -> String {
    let s = name.to_upper_camel_case();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("T{s}")
    } else {
        s
    }
}

fn ident(s: &str) -> Ident {
    // `self`, `Self`, `super`, `crate` cannot be raw identifiers.
    match s {
        "self" | "Self" | "super" | "crate" => Ident::new(&format!("{s}_"), Span::call_site()),
        _ if is_keyword(s) => Ident::new_raw(s, Span::call_site()),
        _ => Ident::new(s, Span::call_site()),
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        assert_eq!(
            field_ident("virtualSolReserves").to_string(),
            "virtual_sol_reserves"
        );
        assert_eq!(field_ident("type").to_string(), "r#type");
        assert_eq!(field_ident("self").to_string(), "self_");
        assert_eq!(field_ident("1st").to_string(), "_1st");
        assert_eq!(type_ident("trade_event").to_string(), "TradeEvent");
        assert_eq!(type_ident("Self").to_string(), "Self_");
    }
}
