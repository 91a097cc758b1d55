//! The options of a mapped field beyond its sources: `transform`, `when`, `condition`,
//! `stop`, and the merged type of a `merge` field.

use std::ops::Range;

use super::catalog::{describe, Catalog};
use super::computed;
use super::diag::{Diag, Scope};
use super::entity::bind;
use super::types::expr_type;
use crate::error::SpecErrorKind;
use crate::expr::{Expr, ExprType};
use crate::file::{FieldFile, TransformFile};
use crate::idl::{Layout, LayoutFields};
use crate::model::{
    FieldTransform, Lookup, PrimaryKey, SourceBinding, SourceKind, SourceRef, Strategy, Transform,
};

fn invalid(diag: &mut Diag, scope: &Scope, span: &Range<usize>, message: String) {
    diag.error(Some(span), scope, SpecErrorKind::Invalid(message));
}

/// Parses `transform`. `None` on an error; `Some(None)` when there is none.
pub(crate) fn transform(
    diag: &mut Diag,
    scope: &Scope,
    f: &FieldFile,
    strategy: Strategy,
) -> Option<Option<(Transform, Range<usize>)>> {
    let Some(written) = &f.transform else {
        return Some(None);
    };
    let span = written.span();
    if matches!(strategy, Strategy::Count | Strategy::Merge) {
        invalid(
            diag,
            scope,
            &span,
            format!("`transform` does not apply to `{}` fields", strategy.name()),
        );
        return None;
    }
    let parsed = match written.get_ref() {
        TransformFile::One(text) => Transform::parse(text),
        TransformFile::Fields(map) if map.is_empty() => {
            Err("a table of field transforms needs at least one field".to_string())
        }
        TransformFile::Fields(map) => map
            .iter()
            .map(|(path, text)| {
                let segments: Vec<String> = path.split('.').map(str::to_string).collect();
                if segments.iter().any(String::is_empty) {
                    return Err(format!("`{path}` is not a field path"));
                }
                Transform::parse(text)
                    .map(|transform| FieldTransform {
                        path: segments,
                        transform,
                    })
                    .map_err(|e| format!("`{path}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|fields| Transform::Fields { fields }),
    };
    match parsed {
        Ok(t) => Some(Some((t, span))),
        Err(message) => {
            invalid(diag, scope, &span, message);
            None
        }
    }
}

/// Resolves `when`: instructions, on a field whose sources are all accounts.
pub(crate) fn when(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    f: &FieldFile,
    sources: &[SourceBinding],
) -> Option<Vec<SourceRef>> {
    let Some(written) = &f.when else {
        return Some(Vec::new());
    };
    let span = written.span();
    if let Some(other) = sources
        .iter()
        .find(|s| s.source.kind != SourceKind::Account)
    {
        invalid(
            diag,
            scope,
            &span,
            format!(
                "`when` applies to account sources (it asks which instruction wrote the account), but `{}` is not an account",
                other.path
            ),
        );
        return None;
    }
    let mut out = Vec::new();
    for name in written.get_ref().as_slice() {
        match cat.source(name) {
            Ok(r) if r.kind == SourceKind::Instruction => out.push(r),
            Ok(r) => {
                invalid(
                    diag,
                    scope,
                    &span,
                    format!(
                        "`when` names instructions; `{name}` is {}",
                        match r.kind {
                            SourceKind::Account => "an account",
                            _ => "an event",
                        }
                    ),
                );
                return None;
            }
            Err(kind) => {
                diag.error(Some(&span), scope, kind);
                return None;
            }
        }
    }
    if out.is_empty() {
        invalid(
            diag,
            scope,
            &span,
            "`when` needs at least one instruction".into(),
        );
        return None;
    }
    Some(out)
}

/// The expression type of `value` (and `value.<field>`) in a condition.
fn value_type(ty: &Layout, path: &str) -> Option<ExprType> {
    let mut segments = path.split('.');
    if segments.next()? != "value" {
        return None;
    }
    let mut current = ty;
    for seg in segments {
        while let Layout::Option(inner) | Layout::COption(inner) = current {
            current = inner;
        }
        let Layout::Struct {
            fields: LayoutFields::Named(named),
            ..
        } = current
        else {
            return None;
        };
        current = &named.iter().find(|(n, _)| n == seg)?.1;
    }
    Some(expr_type(current))
}

/// Parses and type-checks `condition` over the source value (`value`, before any transform).
pub(crate) fn condition(
    diag: &mut Diag,
    scope: &Scope,
    f: &FieldFile,
    value_types: &[(String, Layout)],
) -> Option<Option<Expr>> {
    let Some(text) = &f.condition else {
        return Some(None);
    };
    let expr = computed::parse(diag, scope, text)?;
    let same_type = value_types.windows(2).all(|w| w[0].1 == w[1].1);
    let env = |path: &str| -> Option<ExprType> {
        match value_types.first() {
            Some((_, ty)) if same_type => value_type(ty, path),
            // Sources of different types (a merge): `value` is opaque.
            _ => (path == "value" || path.starts_with("value.")).then_some(ExprType::Any),
        }
    };
    match expr.check(&env) {
        Ok(ExprType::Bool | ExprType::Null) => Some(Some(expr)),
        Ok(other) => {
            invalid(
                diag,
                scope,
                &text.span(),
                format!(
                    "a condition must be a boolean expression over `value`, this one gives {other}"
                ),
            );
            None
        }
        Err(error) => {
            let span = text.span();
            let at = span.start + 1 + error.offset;
            diag.error(
                Some(&(at..span.end)),
                scope,
                SpecErrorKind::Expression {
                    source_text: text.get_ref().clone(),
                    error,
                },
            );
            None
        }
    }
}

/// Resolves `stop`: the instruction or event, and how it finds the entity.
pub(crate) fn stop(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    f: &FieldFile,
    pk: &PrimaryKey,
    lookups: &[Lookup],
) -> Option<Option<SourceBinding>> {
    let Some(written) = &f.stop else {
        return Some(None);
    };
    let span = written.span();
    let stop = written.get_ref();
    match cat.source(&stop.on) {
        Ok(r) if r.kind == SourceKind::Account => {
            invalid(
                diag,
                scope,
                &span,
                format!(
                    "`stop.on` names an instruction or event; `{}` is an account",
                    stop.on
                ),
            );
            return None;
        }
        Ok(_) => {}
        Err(kind) => {
            diag.error(Some(&span), scope, kind);
            return None;
        }
    }
    let (binding, _, _) = bind(
        cat,
        diag,
        scope,
        &span,
        pk,
        &stop.on,
        Some(&stop.key),
        stop.via.as_deref(),
        lookups,
    )?;
    Some(Some(binding))
}

/// The type of a `merge` field fed by several struct types: a struct with every field of
/// every source (each optional), fields of one name agreeing on their type.
pub(crate) fn merged_type(
    diag: &mut Diag,
    scope: &Scope,
    span: &Range<usize>,
    name: &str,
    value_types: &[(String, Layout)],
) -> Option<Layout> {
    let mut fields: Vec<(String, Layout, String)> = Vec::new();
    for (path, ty) in value_types {
        let Layout::Struct {
            fields: LayoutFields::Named(named),
            ..
        } = ty
        else {
            return None;
        };
        for (field, fty) in named {
            let optional = match fty {
                Layout::Option(_) | Layout::COption(_) => fty.clone(),
                other => Layout::Option(Box::new(other.clone())),
            };
            match fields.iter().find(|(n, _, _)| n == field) {
                Some((_, existing, first)) if *existing != optional => {
                    invalid(
                        diag,
                        scope,
                        span,
                        format!(
                            "merged sources disagree on field `{field}`: `{first}` has {} but `{path}` has {}",
                            describe(existing),
                            describe(&optional)
                        ),
                    );
                    return None;
                }
                Some(_) => {}
                None => fields.push((field.clone(), optional, path.clone())),
            }
        }
    }
    Some(Layout::Struct {
        name: name.to_string(),
        fields: LayoutFields::Named(fields.into_iter().map(|(n, t, _)| (n, t)).collect()),
    })
}
