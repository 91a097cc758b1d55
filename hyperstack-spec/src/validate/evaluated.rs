//! Fields evaluated from other fields of the entity: computed fields (`computed = "…"`) and
//! resolver fields (`resolve = "…"`, whose `input` is an expression too). They are parsed,
//! ordered so each comes after the evaluated fields it reads (cycles are errors), then typed
//! in that order.

use std::collections::HashMap;

use super::computed::{self, FieldTypes};
use super::diag::{Diag, Scope};
use super::sections::FlatField;
use crate::error::SpecErrorKind;
use crate::expr::{Expr, ExprType};
use crate::file::FieldFile;
use crate::model::{Field, FieldKind, Resolver};

/// Whether the field is evaluated from other fields (validated here, not as a mapped field).
pub(crate) fn is_evaluated(f: &FieldFile) -> bool {
    f.computed.is_some() || f.resolve.is_some()
}

/// The mapping keys a field has (`from`, `key`, …): none are allowed on evaluated fields.
fn mapping_keys(f: &FieldFile) -> Vec<&'static str> {
    [
        ("from", f.from.is_some()),
        ("count", f.count.is_some()),
        ("sum", f.sum.is_some()),
        ("max", f.max.is_some()),
        ("min", f.min.is_some()),
        ("append", f.append.is_some()),
        ("unique_count", f.unique_count.is_some()),
        ("merge", f.merge.is_some()),
        ("key", f.key.is_some()),
        ("via", f.via.is_some()),
        ("strategy", f.strategy.is_some()),
        ("cap", f.cap.is_some()),
        ("transform", f.transform.is_some()),
        ("when", f.when.is_some()),
        ("condition", f.condition.is_some()),
        ("stop", f.stop.is_some()),
    ]
    .into_iter()
    .filter(|(_, given)| *given)
    .map(|(k, _)| k)
    .collect()
}

/// What one evaluated field is, once parsed.
enum Parsed {
    Computed(Expr),
    Resolved(Resolver, Expr),
}

impl Parsed {
    fn expr(&self) -> &Expr {
        match self {
            Parsed::Computed(e) | Parsed::Resolved(_, e) => e,
        }
    }
}

/// Checks the keys of an evaluated field and parses its expression.
fn parse(diag: &mut Diag, scope: &Scope, ff: &FlatField<'_>) -> Option<Parsed> {
    let f = &*ff.spec;
    let invalid = |diag: &mut Diag, message: String| {
        diag.error(Some(&ff.span), scope, SpecErrorKind::Invalid(message));
    };
    let extra = mapping_keys(f);
    match (&f.computed, &f.resolve) {
        (Some(_), Some(_)) => {
            invalid(
                diag,
                "a field takes either `computed` or `resolve`, not both".into(),
            );
            None
        }
        (Some(text), None) => {
            if !extra.is_empty() || f.input.is_some() {
                invalid(
                    diag,
                    "a computed field takes only `computed`, `emit` and `description`".into(),
                );
                return None;
            }
            computed::parse(diag, scope, text).map(Parsed::Computed)
        }
        (None, Some(name)) => {
            let resolver = match Resolver::parse(name.get_ref()) {
                Ok(r) => r,
                Err(message) => {
                    diag.error(Some(&name.span()), scope, SpecErrorKind::Invalid(message));
                    return None;
                }
            };
            if !extra.is_empty() {
                invalid(
                    diag,
                    format!(
                        "a resolver field takes only `resolve`, `input`, `emit` and `description`, not `{}` (its value comes from outside the chain)",
                        extra.join("`, `")
                    ),
                );
                return None;
            }
            let Some(input) = &f.input else {
                invalid(
                    diag,
                    format!(
                        "resolver `{}` needs an `input`: an expression giving {} (a field such as `mint`, or a constant such as '\"<address>\"')",
                        resolver.name(),
                        resolver.input_description()
                    ),
                );
                return None;
            };
            computed::parse(diag, scope, input).map(|e| Parsed::Resolved(resolver, e))
        }
        (None, None) => None,
    }
}

/// Validates the evaluated fields among `flat` into `fields` (same indices), adding their
/// types to `types`. Returns their indices, dependencies first (`None`: a cycle).
pub(crate) fn validate(
    diag: &mut Diag,
    scope: &Scope,
    flat: &[FlatField<'_>],
    fields: &mut [Option<Field>],
    types: &mut FieldTypes,
) -> Option<Vec<usize>> {
    let all_names: Vec<String> = flat.iter().map(|f| f.name.clone()).collect();
    let evaluated: Vec<usize> = flat
        .iter()
        .enumerate()
        .filter(|(_, f)| is_evaluated(&f.spec))
        .map(|(i, _)| i)
        .collect();
    let mut parsed: HashMap<usize, Parsed> = HashMap::new();
    for &i in &evaluated {
        let fscope = scope.with_item(format!("field `{}`", flat[i].name));
        if let Some(p) = parse(diag, &fscope, &flat[i]) {
            // A resolver's value type does not depend on its input: known to every
            // expression from the start.
            if let Parsed::Resolved(r, _) = &p {
                types.insert(flat[i].name.clone(), r.layout());
            }
            parsed.insert(i, p);
        }
    }
    let names: Vec<String> = evaluated.iter().map(|&i| flat[i].name.clone()).collect();
    let deps: Vec<Vec<usize>> = evaluated
        .iter()
        .map(|i| {
            parsed.get(i).map_or_else(Vec::new, |p| {
                p.expr()
                    .references()
                    .iter()
                    .filter_map(|r| {
                        let field = computed::field_of_path(&all_names, r)?;
                        names.iter().position(|c| c == field)
                    })
                    .collect()
            })
        })
        .collect();
    let order = match computed::order(&names, &deps) {
        Ok(order) => order,
        Err(cycle) => {
            let at = evaluated[names.iter().position(|c| *c == cycle[0]).unwrap_or(0)];
            let ff = &flat[at];
            diag.error(
                Some(&ff.span),
                &scope.with_item(format!("field `{}`", ff.name)),
                SpecErrorKind::ComputedCycle { cycle },
            );
            return None;
        }
    };
    let mut out = Vec::new();
    for k in order {
        let i = evaluated[k];
        let ff = &flat[i];
        let f = &*ff.spec;
        let fscope = scope.with_item(format!("field `{}`", ff.name));
        let Some(p) = parsed.remove(&i) else {
            continue;
        };
        let text = match (&p, &f.computed, &f.input) {
            (Parsed::Computed(_), Some(text), _) | (Parsed::Resolved(..), _, Some(text)) => text,
            _ => continue,
        };
        let Some(ety) = computed::check(diag, &fscope, text, p.expr(), types) else {
            continue;
        };
        let depends_on = p
            .expr()
            .references()
            .iter()
            .filter_map(|r| computed::field_of_path(&all_names, r))
            .fold(Vec::<String>::new(), |mut acc, r| {
                if !acc.iter().any(|a| a == r) {
                    acc.push(r.to_string());
                }
                acc
            });
        let (ty, kind) = match p {
            Parsed::Computed(expr) => {
                let Some(ty) = computed::result_layout(diag, &fscope, &ff.span, ety) else {
                    continue;
                };
                let kind = FieldKind::Computed {
                    source: text.get_ref().clone(),
                    expr,
                    depends_on,
                };
                (ty, kind)
            }
            Parsed::Resolved(resolver, input) => {
                if ety != ExprType::String {
                    let found = match ety {
                        ExprType::Null => "always null".to_string(),
                        other => other.to_string(),
                    };
                    diag.error(
                        Some(&text.span()),
                        &fscope,
                        SpecErrorKind::Invalid(format!(
                            "the `input` of resolver `{}` must give {}, but `{}` gives {found}",
                            resolver.name(),
                            resolver.input_description(),
                            text.get_ref()
                        )),
                    );
                    continue;
                }
                let kind = FieldKind::Resolved {
                    resolver,
                    source: text.get_ref().clone(),
                    input,
                    depends_on,
                };
                (resolver.layout(), kind)
            }
        };
        types.insert(ff.name.clone(), ty.clone());
        fields[i] = Some(Field {
            name: ff.name.clone(),
            description: f.description.clone(),
            ty,
            nullable: false,
            emit: f.emit.unwrap_or(true),
            kind,
        });
        out.push(i);
    }
    Some(out)
}
