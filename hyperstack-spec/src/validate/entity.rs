//! Validation of one entity's key, lookups and mapped fields.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::catalog::{describe, prim, Catalog, Resolved};
use super::diag::{Diag, Scope};
use super::types::{is_key_type, is_numeric, sum_type};
use crate::error::SpecErrorKind;
use crate::file::{EntityFile, FieldFile, LookupFile, OneOrMany, StrategyName};
use crate::idl::{IdlPrimitive, Layout};
use crate::model::{KeyBinding, Lookup, PrimaryKey, SourceBinding, SourceKind, Strategy};

/// Default cap of `append` fields.
pub const DEFAULT_APPEND_CAP: usize = 100;

/// Resolves the primary key.
pub(crate) fn primary_key(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    key: &Spanned<String>,
) -> Option<PrimaryKey> {
    let scope = scope.with_item("key".to_string());
    match cat.resolve(key.get_ref()) {
        Ok(r) if is_key_type(&r.ty) && !r.nullable => Some(PrimaryKey {
            path: key.get_ref().clone(),
            source: r.source,
            value: r.value,
            ty: r.ty,
        }),
        Ok(r) => {
            diag.error(
                Some(&key.span()),
                &scope,
                SpecErrorKind::UnresolvableKey {
                    source_path: key.get_ref().clone(),
                    reason: format!(
                        "a primary key must be a non-null pubkey, string or integer, not {}{}",
                        if r.nullable { "optional " } else { "" },
                        describe(&r.ty)
                    ),
                },
            );
            None
        }
        Err(kind) => {
            diag.error(Some(&key.span()), &scope, kind);
            None
        }
    }
}

/// Resolves the lookup indexes.
pub(crate) fn lookups(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    pk: &PrimaryKey,
    file: &EntityFile,
) -> Vec<Lookup> {
    let mut out = Vec::new();
    for (name, spec) in super::in_file_order(&file.lookups) {
        let scope = scope.with_item(format!("lookup `{}`", name.get_ref()));
        let span = spec.span();
        let (paths, key): (Vec<&str>, Option<&str>) = match spec.get_ref() {
            LookupFile::Path(p) => (vec![p.as_str()], None),
            LookupFile::Table(t) => (
                t.from.as_slice().iter().map(String::as_str).collect(),
                t.key.as_deref(),
            ),
        };
        let mut ty: Option<(String, Layout)> = None;
        let mut sources = Vec::new();
        for path in paths {
            let Some(binding) = bind(cat, diag, &scope, &span, pk, path, key, None, &[]) else {
                continue;
            };
            let resolved_ty = binding.1;
            if !is_key_type(&resolved_ty) {
                diag.error(
                    Some(&span),
                    &scope,
                    SpecErrorKind::Invalid(format!(
                        "lookup values must be pubkeys, strings or integers; `{path}` is {}",
                        describe(&resolved_ty)
                    )),
                );
                continue;
            }
            match &ty {
                Some((first, t)) if *t != resolved_ty => diag.error(
                    Some(&span),
                    &scope,
                    SpecErrorKind::SourceTypeConflict {
                        first: first.clone(),
                        first_ty: describe(t),
                        other: path.to_string(),
                        other_ty: describe(&resolved_ty),
                    },
                ),
                Some(_) => {}
                None => ty = Some((path.to_string(), resolved_ty)),
            }
            sources.push(binding.0);
        }
        if let Some((_, ty)) = ty {
            out.push(Lookup {
                name: name.get_ref().clone(),
                ty,
                sources,
            });
        }
    }
    out
}

/// A mapped field after validation: strategy, sources, type, nullability.
pub(crate) struct MappedField {
    pub strategy: Strategy,
    pub sources: Vec<SourceBinding>,
    pub ty: Layout,
    pub nullable: bool,
}

/// Which strategy a field uses and the paths it reads, from the shorthand keys.
fn strategy_and_paths(
    field: &FieldFile,
) -> Result<(StrategyName, &Spanned<OneOrMany<String>>), String> {
    let shorthands = [
        (StrategyName::Count, &field.count),
        (StrategyName::Sum, &field.sum),
        (StrategyName::Max, &field.max),
        (StrategyName::Min, &field.min),
        (StrategyName::Append, &field.append),
    ];
    let given: Vec<_> = shorthands
        .iter()
        .filter_map(|(s, v)| v.as_ref().map(|v| (*s, v)))
        .collect();
    match (&field.from, given.as_slice()) {
        (Some(from), []) => Ok((
            field
                .strategy
                .as_ref()
                .map_or(StrategyName::LastWrite, |s| *s.get_ref()),
            from,
        )),
        (None, [(s, paths)]) => match &field.strategy {
            Some(explicit) if explicit.get_ref() != s => Err(format!(
                "`strategy = {:?}` contradicts the `{}` shorthand",
                explicit.get_ref(),
                shorthand_name(*s)
            )),
            _ => Ok((*s, *paths)),
        },
        (None, []) => Err(
            "a field needs one of `from`, `count`, `sum`, `max`, `min`, `append` or `computed`"
                .to_string(),
        ),
        _ => Err(
            "a field takes exactly one of `from`, `count`, `sum`, `max`, `min`, `append`, `computed`"
                .to_string(),
        ),
    }
}

fn shorthand_name(s: StrategyName) -> &'static str {
    match s {
        StrategyName::SetOnce => "set_once",
        StrategyName::LastWrite => "last_write",
        StrategyName::Append => "append",
        StrategyName::Count => "count",
        StrategyName::Sum => "sum",
        StrategyName::Max => "max",
        StrategyName::Min => "min",
    }
}

/// Validates a mapped (non-computed) field.
pub(crate) fn mapped_field(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    pk: &PrimaryKey,
    lookups: &[Lookup],
    field: &Spanned<FieldFile>,
) -> Option<MappedField> {
    let span = field.span();
    let f = field.get_ref();
    let (strategy_name, paths) = match strategy_and_paths(f) {
        Ok(v) => v,
        Err(msg) => {
            diag.error(Some(&span), scope, SpecErrorKind::Invalid(msg));
            return None;
        }
    };
    let paths_span = paths.span();
    if f.cap.is_some() && strategy_name != StrategyName::Append {
        diag.error(
            Some(&span),
            scope,
            SpecErrorKind::Invalid("`cap` applies only to `append` fields".to_string()),
        );
    }
    if f.via.is_some() && f.key.is_none() {
        diag.error(
            Some(&span),
            scope,
            SpecErrorKind::Invalid("`via` needs `key`: the path whose value is looked up".into()),
        );
        return None;
    }
    let strategy = match strategy_name {
        StrategyName::SetOnce => Strategy::SetOnce,
        StrategyName::LastWrite => Strategy::LastWrite,
        StrategyName::Count => Strategy::Count,
        StrategyName::Sum => Strategy::Sum,
        StrategyName::Max => Strategy::Max,
        StrategyName::Min => Strategy::Min,
        StrategyName::Append => {
            let cap = f
                .cap
                .as_ref()
                .map_or(DEFAULT_APPEND_CAP as u64, |c| *c.get_ref());
            if cap == 0 {
                diag.error(
                    f.cap.as_ref().map(|c| c.span()).as_ref(),
                    scope,
                    SpecErrorKind::Invalid("`cap` must be at least 1".to_string()),
                );
            }
            Strategy::Append {
                cap: usize::try_from(cap).unwrap_or(usize::MAX),
            }
        }
    };
    let key = f.key.as_ref().map(|k| k.get_ref().as_str());
    let via = f.via.as_ref().map(|v| v.get_ref().as_str());
    let mut sources = Vec::new();
    let mut ty: Option<(String, Layout)> = None;
    let mut nullable = false;
    for path in paths.get_ref().as_slice() {
        let Some((binding, value_ty, value_nullable)) =
            bind(cat, diag, scope, &paths_span, pk, path, key, via, lookups)
        else {
            continue;
        };
        let Some(field_ty) = strategy_type(diag, scope, &paths_span, strategy, &binding, &value_ty)
        else {
            continue;
        };
        nullable |= value_nullable && matches!(strategy, Strategy::SetOnce | Strategy::LastWrite);
        match &ty {
            Some((first, t)) if *t != field_ty => diag.error(
                Some(&paths_span),
                scope,
                SpecErrorKind::SourceTypeConflict {
                    first: first.clone(),
                    first_ty: describe(t),
                    other: path.clone(),
                    other_ty: describe(&field_ty),
                },
            ),
            Some(_) => {}
            None => ty = Some((path.clone(), field_ty)),
        }
        sources.push(binding);
    }
    let (_, ty) = ty?;
    Some(MappedField {
        strategy,
        sources,
        ty,
        nullable,
    })
}

/// The field type a strategy produces from a value type, or an error.
fn strategy_type(
    diag: &mut Diag,
    scope: &Scope,
    span: &Range<usize>,
    strategy: Strategy,
    binding: &SourceBinding,
    value_ty: &Layout,
) -> Option<Layout> {
    let mismatch = |expected| SpecErrorKind::TypeMismatch {
        strategy: strategy.name(),
        expected,
        path: binding.path.clone(),
        found: describe(value_ty),
    };
    match strategy {
        Strategy::Count => {
            if binding.source.kind == SourceKind::Account
                || binding.value != crate::model::ValuePath::Whole
            {
                diag.error(
                    Some(span),
                    scope,
                    mismatch("a bare instruction or event name (each occurrence counts once)"),
                );
                return None;
            }
            Some(prim(IdlPrimitive::U64))
        }
        Strategy::Sum if is_numeric(value_ty) => Some(sum_type(value_ty)),
        Strategy::Max | Strategy::Min if is_numeric(value_ty) => Some(value_ty.clone()),
        Strategy::Sum | Strategy::Max | Strategy::Min => {
            diag.error(Some(span), scope, mismatch("a numeric value"));
            None
        }
        Strategy::Append { .. } => Some(Layout::Vec(Box::new(value_ty.clone()))),
        Strategy::SetOnce | Strategy::LastWrite => Some(value_ty.clone()),
    }
}

/// Resolves one source path and how it finds its entity. Returns the binding, the value's type
/// and whether the value may be null.
#[allow(clippy::too_many_arguments)]
fn bind(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    span: &Range<usize>,
    pk: &PrimaryKey,
    path: &str,
    key: Option<&str>,
    via: Option<&str>,
    lookups: &[Lookup],
) -> Option<(SourceBinding, Layout, bool)> {
    let resolved: Resolved = match cat.resolve(path) {
        Ok(r) => r,
        Err(kind) => {
            diag.error(Some(span), scope, kind);
            return None;
        }
    };
    let unresolvable = |reason: String| SpecErrorKind::UnresolvableKey {
        source_path: path.to_string(),
        reason,
    };
    let key_binding = match key {
        None if resolved.source == pk.source => KeyBinding::Direct {
            path: pk.value.clone(),
        },
        None => {
            let hint = match resolved.source.kind {
                SourceKind::Instruction => "`accounts.<role>` or `args.<arg>`",
                SourceKind::Event => "`data.<field>`",
                SourceKind::Account => "`@address` or `<field>`",
            };
            diag.error(
                Some(span),
                scope,
                unresolvable(format!(
                    "it is not the key's source `{}`; add a `key` path ({hint}), with `via = \"<lookup>\"` when that value is not the primary key",
                    pk.source.name
                )),
            );
            return None;
        }
        Some(rel) => {
            let key_resolved = match cat.resolve_relative(&resolved.source, rel) {
                Ok(k) => k,
                Err(kind) => {
                    diag.error(Some(span), scope, kind);
                    return None;
                }
            };
            let (expected, binding) = match via {
                None => (
                    pk.ty.clone(),
                    KeyBinding::Direct {
                        path: key_resolved.value.clone(),
                    },
                ),
                Some(index) => match lookups.iter().find(|l| l.name == index) {
                    Some(l) => (
                        l.ty.clone(),
                        KeyBinding::Lookup {
                            path: key_resolved.value.clone(),
                            index: index.to_string(),
                        },
                    ),
                    None => {
                        let known: Vec<&str> = lookups.iter().map(|l| l.name.as_str()).collect();
                        diag.error(
                            Some(span),
                            scope,
                            unresolvable(format!(
                                "no lookup `{index}` (this entity's lookups: {})",
                                if known.is_empty() {
                                    "none".to_string()
                                } else {
                                    known.join(", ")
                                }
                            )),
                        );
                        return None;
                    }
                },
            };
            if key_resolved.ty != expected {
                diag.error(
                    Some(span),
                    scope,
                    unresolvable(format!(
                        "`{rel}` is {} but {} is {}",
                        describe(&key_resolved.ty),
                        via.map_or("the primary key".to_string(), |v| format!("lookup `{v}`")),
                        describe(&expected)
                    )),
                );
                return None;
            }
            binding
        }
    };
    let binding = SourceBinding {
        path: path.to_string(),
        source: resolved.source,
        value: resolved.value,
        key: key_binding,
    };
    Some((binding, resolved.ty, resolved.nullable))
}

/// Field names must be identifiers, unique once case and `_` are ignored (generated code
/// snake-cases them).
pub(crate) fn check_field_name(
    diag: &mut Diag,
    scope: &Scope,
    seen: &mut HashMap<String, (String, Range<usize>)>,
    name: &Spanned<String>,
) {
    let n = name.get_ref();
    if !super::is_identifier(n) {
        diag.error(
            Some(&name.span()),
            scope,
            SpecErrorKind::Invalid(format!(
                "field name `{n}` must be an identifier (letters, digits, `_`; not starting with a digit)"
            )),
        );
        return;
    }
    let folded = crate::idl::snake_case(n);
    if let Some((first, first_span)) = seen.get(&folded) {
        let first_location = diag.location(Some(first_span));
        diag.error(
            Some(&name.span()),
            scope,
            SpecErrorKind::Duplicate {
                what: "field",
                name: if first == n {
                    n.clone()
                } else {
                    format!("{n}` / `{first}")
                },
                first: Some(first_location),
            },
        );
    } else {
        seen.insert(folded, (n.clone(), name.span()));
    }
}
