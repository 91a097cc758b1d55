//! Validation of one entity's primary key and mapped fields, and source binding.

use std::ops::Range;

use toml::Spanned;

use super::catalog::{describe, prim, Catalog, Resolved};
use super::diag::{Diag, Scope};
use super::mapping;
use super::types::{is_key_type, is_numeric, sum_type};
use crate::error::SpecErrorKind;
use crate::expr::Expr;
use crate::file::{FieldFile, OneOrMany, StrategyName};
use crate::idl::{IdlPrimitive, Layout, LayoutFields};
use crate::model::{
    KeyBinding, KeySource, Lookup, PrimaryKey, SourceBinding, SourceKind, SourceRef, Strategy,
    Transform,
};

/// Default cap of `append` fields.
pub const DEFAULT_APPEND_CAP: usize = 100;

/// Resolves the primary key: one or several source paths of the same type, on distinct
/// sources.
pub(crate) fn primary_key(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    key: &Spanned<OneOrMany<String>>,
) -> Option<PrimaryKey> {
    let scope = scope.with_item("key".to_string());
    let span = key.span();
    let paths = key.get_ref().as_slice();
    if paths.is_empty() {
        diag.error(
            Some(&span),
            &scope,
            SpecErrorKind::Invalid("`key` needs at least one source path".to_string()),
        );
        return None;
    }
    let mut sources: Vec<KeySource> = Vec::new();
    let mut ty: Option<(String, Layout)> = None;
    let mut ok = true;
    for path in paths {
        let r = match cat.resolve(path) {
            Ok(r) => r,
            Err(kind) => {
                diag.error(Some(&span), &scope, kind);
                ok = false;
                continue;
            }
        };
        if !is_key_type(&r.ty) || r.nullable {
            diag.error(
                Some(&span),
                &scope,
                SpecErrorKind::UnresolvableKey {
                    source_path: path.clone(),
                    reason: format!(
                        "a primary key must be a non-null pubkey, string or integer, not {}{}",
                        if r.nullable { "optional " } else { "" },
                        describe(&r.ty)
                    ),
                },
            );
            ok = false;
            continue;
        }
        if let Some(other) = sources.iter().find(|s| s.source == r.source) {
            diag.error(
                Some(&span),
                &scope,
                SpecErrorKind::Invalid(format!(
                    "`{path}` and `{}` both read the key from `{}`; a source carries the key once",
                    other.path, r.source.name
                )),
            );
            ok = false;
            continue;
        }
        match &ty {
            Some((first, t)) if *t != r.ty => {
                diag.error(
                    Some(&span),
                    &scope,
                    SpecErrorKind::SourceTypeConflict {
                        first: first.clone(),
                        first_ty: describe(t),
                        other: path.clone(),
                        other_ty: describe(&r.ty),
                    },
                );
                ok = false;
                continue;
            }
            Some(_) => {}
            None => ty = Some((path.clone(), r.ty.clone())),
        }
        sources.push(KeySource {
            path: path.clone(),
            source: r.source,
            value: r.value,
        });
    }
    let (_, ty) = ty?;
    ok.then_some(PrimaryKey { sources, ty })
}

/// A mapped field after validation.
pub(crate) struct MappedField {
    pub strategy: Strategy,
    pub sources: Vec<SourceBinding>,
    pub ty: Layout,
    pub nullable: bool,
    pub transform: Option<Transform>,
    pub when: Vec<SourceRef>,
    pub condition: Option<Expr>,
    pub stop: Option<SourceBinding>,
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
        (StrategyName::UniqueCount, &field.unique_count),
        (StrategyName::Merge, &field.merge),
    ];
    let given: Vec<_> = shorthands
        .iter()
        .filter_map(|(s, v)| v.as_ref().map(|v| (*s, v)))
        .collect();
    let one_of = "`from`, `count`, `sum`, `max`, `min`, `append`, `unique_count`, `merge`";
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
                "`strategy = \"{}\"` contradicts the `{}` shorthand",
                strategy_name(*explicit.get_ref()),
                strategy_name(*s)
            )),
            _ => Ok((*s, *paths)),
        },
        (None, []) => Err(format!("a field needs one of {one_of} or `computed`")),
        _ => Err(format!("a field takes exactly one of {one_of}, `computed`")),
    }
}

fn strategy_name(s: StrategyName) -> &'static str {
    match s {
        StrategyName::SetOnce => "set_once",
        StrategyName::LastWrite => "last_write",
        StrategyName::Append => "append",
        StrategyName::Count => "count",
        StrategyName::Sum => "sum",
        StrategyName::Max => "max",
        StrategyName::Min => "min",
        StrategyName::UniqueCount => "unique_count",
        StrategyName::Merge => "merge",
    }
}

/// What a mapped field is validated against.
pub(crate) struct FieldCtx<'a> {
    pub cat: &'a Catalog<'a>,
    pub entity: &'a str,
    pub pk: &'a PrimaryKey,
    pub lookups: &'a [Lookup],
}

/// Validates a mapped (non-computed) field named `name` (dotted in a section).
pub(crate) fn mapped_field(
    cx: &FieldCtx<'_>,
    diag: &mut Diag,
    scope: &Scope,
    name: &str,
    span: &Range<usize>,
    f: &FieldFile,
) -> Option<MappedField> {
    let (strategy_name, paths) = match strategy_and_paths(f) {
        Ok(v) => v,
        Err(msg) => {
            diag.error(Some(span), scope, SpecErrorKind::Invalid(msg));
            return None;
        }
    };
    let paths_span = paths.span();
    if f.cap.is_some() && strategy_name != StrategyName::Append {
        diag.error(
            Some(span),
            scope,
            SpecErrorKind::Invalid("`cap` applies only to `append` fields".to_string()),
        );
    }
    if f.via.is_some() && f.key.is_none() {
        diag.error(
            Some(span),
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
        StrategyName::UniqueCount => Strategy::UniqueCount,
        StrategyName::Merge => Strategy::Merge,
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
    let transform = mapping::transform(diag, scope, f, strategy)?;
    let key = f.key.as_ref().map(|k| k.get_ref().as_str());
    let via = f.via.as_ref().map(|v| v.get_ref().as_str());
    let type_name = format!("{}_{}", cx.entity, name.replace('.', "_"));
    let mut sources = Vec::new();
    let mut value_types: Vec<(String, Layout)> = Vec::new();
    let mut ty: Option<(String, Layout)> = None;
    let mut nullable = false;
    for path in paths.get_ref().as_slice() {
        let Some((binding, value_ty, value_nullable)) = bind(
            cx.cat,
            diag,
            scope,
            &paths_span,
            cx.pk,
            path,
            key,
            via,
            cx.lookups,
        ) else {
            continue;
        };
        value_types.push((path.clone(), value_ty.clone()));
        let value_ty = match &transform {
            Some((t, t_span)) => match t.output(&value_ty, &type_name) {
                Ok(out) => out,
                Err(reason) => {
                    diag.error(
                        Some(t_span),
                        scope,
                        SpecErrorKind::Invalid(format!("transform of `{path}`: {reason}")),
                    );
                    continue;
                }
            },
            None => value_ty,
        };
        let Some(field_ty) = strategy_type(diag, scope, &paths_span, strategy, &binding, &value_ty)
        else {
            continue;
        };
        nullable |= value_nullable && matches!(strategy, Strategy::SetOnce | Strategy::LastWrite);
        match &ty {
            _ if strategy == Strategy::Merge => {
                ty.get_or_insert_with(|| (path.clone(), field_ty));
            }
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
    let (_, mut ty) = ty?;
    if strategy == Strategy::Merge && value_types.len() > 1 {
        ty = mapping::merged_type(diag, scope, &paths_span, &type_name, &value_types)?;
    }
    let when = mapping::when(cx.cat, diag, scope, f, &sources)?;
    let condition = mapping::condition(diag, scope, f, &value_types)?;
    let stop = mapping::stop(cx.cat, diag, scope, f, cx.pk, cx.lookups)?;
    Some(MappedField {
        strategy,
        sources,
        ty,
        nullable,
        transform: transform.map(|(t, _)| t),
        when,
        condition,
        stop,
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
        Strategy::UniqueCount => Some(prim(IdlPrimitive::U64)),
        Strategy::Merge => match value_ty {
            Layout::Struct {
                fields: LayoutFields::Named(_),
                ..
            } => Some(value_ty.clone()),
            _ => {
                diag.error(
                    Some(span),
                    scope,
                    mismatch("a struct with named fields (a whole account, event or instruction)"),
                );
                None
            }
        },
        Strategy::Append { .. } => Some(Layout::Vec(Box::new(value_ty.clone()))),
        Strategy::SetOnce | Strategy::LastWrite => Some(value_ty.clone()),
    }
}

/// Resolves one source path and how it finds its entity. Returns the binding, the value's type
/// and whether the value may be null.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bind(
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
        None if pk.source_for(&resolved.source).is_some() => KeyBinding::Direct {
            path: pk
                .source_for(&resolved.source)
                .map(|k| k.value.clone())
                .unwrap_or(crate::model::ValuePath::Whole),
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
                    pk.sources
                        .iter()
                        .map(|k| k.source.name.as_str())
                        .collect::<Vec<_>>()
                        .join("` or `")
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
