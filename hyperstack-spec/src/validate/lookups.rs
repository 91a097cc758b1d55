//! Lookup indexes: their sources, and lookups resolved through other lookups (`via`).

use toml::Spanned;

use super::catalog::{describe, Catalog};
use super::diag::{Diag, Scope};
use super::entity::bind;
use super::types::is_key_type;
use crate::error::SpecErrorKind;
use crate::file::{EntityFile, LookupFile};
use crate::idl::Layout;
use crate::model::{Lookup, PrimaryKey};

/// A lookup as written: name, span, source paths, key path, `via`.
struct Written<'a> {
    name: &'a Spanned<String>,
    span: std::ops::Range<usize>,
    paths: Vec<&'a str>,
    key: Option<&'a str>,
    via: Option<&'a str>,
}

/// Resolves the lookup indexes, each after the lookups it reads through (`via`); reports
/// unknown `via`s and cycles. The result lists every lookup after those it depends on.
pub(crate) fn lookups(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    pk: &PrimaryKey,
    file: &EntityFile,
) -> Vec<Lookup> {
    let written: Vec<Written> = super::in_file_order(&file.lookups)
        .into_iter()
        .map(|(name, spec)| {
            let (paths, key, via) = match spec.get_ref() {
                LookupFile::Path(p) => (vec![p.as_str()], None, None),
                LookupFile::Table(t) => (
                    t.from.as_slice().iter().map(String::as_str).collect(),
                    t.key.as_deref(),
                    t.via.as_deref(),
                ),
            };
            Written {
                name,
                span: spec.span(),
                paths,
                key,
                via,
            }
        })
        .collect();
    let mut out: Vec<Lookup> = Vec::new();
    let mut failed: Vec<&str> = Vec::new();
    // Resolve in rounds: each round takes the lookups whose `via` is already resolved.
    let mut pending: Vec<&Written> = written.iter().collect();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<&Written>, Vec<&Written>) = pending.into_iter().partition(|w| {
            w.via
                .is_none_or(|v| out.iter().any(|l| l.name == v) || failed.contains(&v))
        });
        if ready.is_empty() {
            for w in &waiting {
                let via = w.via.unwrap_or_default();
                let lscope = scope.with_item(format!("lookup `{}`", w.name.get_ref()));
                let message = if written.iter().any(|o| o.name.get_ref() == via) {
                    format!(
                        "lookups resolve through each other in a cycle (`{}` via `{via}`)",
                        w.name.get_ref()
                    )
                } else {
                    let known: Vec<&str> =
                        written.iter().map(|o| o.name.get_ref().as_str()).collect();
                    format!(
                        "`via = \"{via}\"` names no lookup of this entity (lookups: {})",
                        known.join(", ")
                    )
                };
                diag.error(Some(&w.span), &lscope, SpecErrorKind::Invalid(message));
            }
            break;
        }
        for w in ready {
            if w.via.is_some_and(|v| failed.contains(&v)) {
                // Its `via` already has an error; do not report a second one.
                failed.push(w.name.get_ref());
                continue;
            }
            match resolve(cat, diag, scope, pk, &out, w) {
                Some(l) => out.push(l),
                None => failed.push(w.name.get_ref()),
            }
        }
        pending = waiting;
    }
    out
}

fn resolve(
    cat: &Catalog,
    diag: &mut Diag,
    scope: &Scope,
    pk: &PrimaryKey,
    known: &[Lookup],
    w: &Written,
) -> Option<Lookup> {
    let scope = scope.with_item(format!("lookup `{}`", w.name.get_ref()));
    if w.via.is_some() && w.key.is_none() {
        diag.error(
            Some(&w.span),
            &scope,
            SpecErrorKind::Invalid("`via` needs `key`: the path whose value is looked up".into()),
        );
        return None;
    }
    if w.via == Some(w.name.get_ref().as_str()) {
        diag.error(
            Some(&w.span),
            &scope,
            SpecErrorKind::Invalid("a lookup cannot resolve through itself".into()),
        );
        return None;
    }
    let mut ty: Option<(String, Layout)> = None;
    let mut sources = Vec::new();
    for path in &w.paths {
        let Some((binding, resolved_ty, _)) =
            bind(cat, diag, &scope, &w.span, pk, path, w.key, w.via, known)
        else {
            continue;
        };
        if !is_key_type(&resolved_ty) {
            diag.error(
                Some(&w.span),
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
                Some(&w.span),
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
        sources.push(binding);
    }
    let (_, ty) = ty?;
    Some(Lookup {
        name: w.name.get_ref().clone(),
        ty,
        sources,
    })
}
