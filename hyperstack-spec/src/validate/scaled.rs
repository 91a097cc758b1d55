//! `transform = "ui_amount(<expression>)"`: a UI amount whose decimals come from the entity
//! (`ui_amount(ore_metadata.decimals ?? 11)`, decimals a resolver fills in later).
//!
//! Such a field cannot be converted once, when its value arrives: the decimals may change
//! after. It is rewritten into two fields, which the rest of validation (and the server)
//! treat like any others:
//!
//! - `<name>_raw`: the field as written without the transform, `emit = false` (the amount in
//!   base units, kept for the conversion; computed fields may read it);
//! - `<name>`: computed, `ui_amount(<name>_raw, <expression>)`, so it is converted again
//!   whenever the amount or the decimals change.

use std::borrow::Cow;

use toml::Spanned;

use super::diag::{Diag, Scope};
use super::sections::FlatField;
use crate::error::SpecErrorKind;
use crate::file::{FieldFile, StrategyName, TransformFile};

/// Suffix of the hidden raw field.
pub(crate) const RAW_SUFFIX: &str = "_raw";

/// The argument of `ui_amount(<arg>)` when it is not a number of decimals, and its byte
/// offset in `text`.
fn dynamic_decimals(text: &str) -> Option<(&str, usize)> {
    let open = text.find('(')?;
    if text[..open].trim() != "ui_amount" {
        return None;
    }
    let close = text.rfind(')')?;
    if close < open || !text[close + 1..].trim().is_empty() {
        return None;
    }
    let inner = &text[open + 1..close];
    let arg = inner.trim();
    if arg.is_empty() || crate::model::is_number(arg) {
        return None;
    }
    let offset = open + 1 + (inner.len() - inner.trim_start().len());
    Some((arg, offset))
}

/// Rewrites every field with a `ui_amount(<expression>)` transform into its raw field and
/// its computed UI amount (see the module docs); other fields pass unchanged.
pub(crate) fn expand<'a>(
    diag: &mut Diag,
    scope: &Scope,
    flat: Vec<FlatField<'a>>,
) -> Vec<FlatField<'a>> {
    let names: Vec<String> = flat.iter().map(|f| f.name.clone()).collect();
    let mut out = Vec::with_capacity(flat.len());
    for ff in flat {
        let Some(transform) = &ff.spec.transform else {
            out.push(ff);
            continue;
        };
        let TransformFile::One(text) = transform.get_ref() else {
            out.push(ff);
            continue;
        };
        let Some((arg, arg_offset)) = dynamic_decimals(text) else {
            out.push(ff);
            continue;
        };
        let fscope = scope.with_item(format!("field `{}`", ff.name));
        let span = transform.span();
        let f = &*ff.spec;
        let invalid = |diag: &mut Diag, message: String| {
            diag.error(Some(&span), &fscope, SpecErrorKind::Invalid(message));
        };
        let shorthand = [
            ("count", f.count.is_some()),
            ("append", f.append.is_some()),
            ("unique_count", f.unique_count.is_some()),
            ("merge", f.merge.is_some()),
        ]
        .into_iter()
        .find(|(_, given)| *given)
        .map(|(name, _)| name);
        let explicit = f.strategy.as_ref().and_then(|s| match s.get_ref() {
            StrategyName::Append => Some("append"),
            StrategyName::Count => Some("count"),
            StrategyName::UniqueCount => Some("unique_count"),
            StrategyName::Merge => Some("merge"),
            _ => None,
        });
        let aggregate = shorthand.or(explicit);
        if let Some(strategy) = aggregate {
            invalid(
                diag,
                format!(
                    "`ui_amount({arg})` (decimals from the entity) applies to fields whose value is one number (`from`, `sum`, `max`, `min`), not to `{strategy}` fields"
                ),
            );
            continue;
        }
        if f.computed.is_some() || f.resolve.is_some() {
            // Reported with the field's other keys.
            out.push(ff);
            continue;
        }
        let raw = format!("{}{RAW_SUFFIX}", ff.name);
        if names.contains(&raw) {
            invalid(
                diag,
                format!(
                    "`ui_amount({arg})` keeps the raw amount in a hidden field `{raw}`, but the entity already has a field of that name; rename it"
                ),
            );
            continue;
        }
        let hidden = FieldFile {
            transform: None,
            emit: Some(false),
            description: Some(format!("`{}` in base units (before `ui_amount`).", ff.name)),
            ..f.clone()
        };
        // The computed text is `ui_amount(<raw>, <arg>)`; its span is placed so that an error
        // inside `<arg>` points at the same character of the transform as written.
        let prefix = format!("ui_amount({raw}, ");
        let start = (span.start + arg_offset).saturating_sub(prefix.len());
        let computed = Spanned::new(start..span.end, format!("{prefix}{arg})"));
        let visible = FieldFile {
            computed: Some(computed),
            description: f.description.clone(),
            emit: f.emit,
            ..FieldFile::default()
        };
        out.push(FlatField {
            name: raw,
            span: ff.span.clone(),
            spec: Cow::Owned(hidden),
        });
        out.push(FlatField {
            name: ff.name,
            span: ff.span,
            spec: Cow::Owned(visible),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dynamic_decimals;

    #[test]
    fn tells_expressions_from_numbers() {
        assert_eq!(dynamic_decimals("ui_amount(9)"), None);
        assert_eq!(dynamic_decimals("ui_amount( 11 )"), None);
        assert_eq!(dynamic_decimals("base58"), None);
        assert_eq!(dynamic_decimals("ui_amount()"), None);
        assert_eq!(
            dynamic_decimals("ui_amount(-1)"),
            None,
            "a number (out of range)"
        );
        assert_eq!(
            dynamic_decimals("ui_amount(meta.decimals ?? 11)"),
            Some(("meta.decimals ?? 11", 10))
        );
        assert_eq!(dynamic_decimals("ui_amount(  d )"), Some(("d", 12)));
        assert_eq!(dynamic_decimals("ui_amount(d) x"), None);
    }
}
