//! Spec file → checked [`Stack`]: resolves every path against the IDLs, types every field,
//! checks strategies, keys, lookups, computed fields and views, and reports every problem with
//! its location.

mod catalog;
mod computed;
mod diag;
mod entity;
mod lookups;
mod mapping;
mod sections;
mod types;
mod views;

pub(crate) use catalog::describe as describe_layout;

pub use entity::DEFAULT_APPEND_CAP;
pub use views::BUILT_IN_VIEWS;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use toml::Spanned;

use crate::error::{SpecErrorKind, SpecErrors};
use crate::file::{LineIndex, StackFile};
use crate::idl::Idl;
use crate::model::{Entity, Field, FieldKind, Stack};
use catalog::Catalog;
use diag::{Diag, Scope};

/// Validates a parsed spec file against its loaded IDLs (in the order `idl` lists them).
///
/// `index` maps spans to lines for TOML input; pass `None` for JSON input.
pub fn validate(
    file: &StackFile,
    idls: Vec<Idl>,
    spec_path: &Path,
    index: Option<LineIndex>,
) -> Result<Stack, SpecErrors> {
    let mut diag = Diag::new(spec_path.to_path_buf(), index);
    let top = Scope::default();
    let name = file.name.get_ref();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        diag.error(
            Some(&file.name.span()),
            &top,
            SpecErrorKind::Invalid(format!(
                "stack name `{name}` must be lower-case letters, digits, `-` or `_`"
            )),
        );
    }
    let mut programs: HashMap<&str, usize> = HashMap::new();
    for (i, idl) in idls.iter().enumerate() {
        if programs.insert(idl.name.as_str(), i).is_some() {
            diag.error(
                Some(&file.idl.span()),
                &top,
                SpecErrorKind::Duplicate {
                    what: "IDL program",
                    name: idl.name.clone(),
                    first: None,
                },
            );
        }
    }
    let catalog = Catalog::new(&idls);
    let mut entities = Vec::new();
    for (name, spec) in in_file_order(&file.entities) {
        if let Some(e) = validate_entity(&catalog, &mut diag, name, spec) {
            entities.push(e);
        }
    }
    if file.entities.is_empty() {
        diag.error(
            None,
            &top,
            SpecErrorKind::Invalid("a stack needs at least one entity".to_string()),
        );
    }
    check_type_names(&mut diag, file, &entities);
    let stack = Stack {
        name: name.clone(),
        description: file.description.clone(),
        idls,
        entities,
    };
    diag.finish(stack)
}

fn validate_entity(
    cat: &Catalog,
    diag: &mut Diag,
    name: &Spanned<String>,
    spec: &Spanned<crate::file::EntityFile>,
) -> Option<Entity> {
    let ename = name.get_ref();
    let scope = Scope::entity(ename);
    if !is_identifier(ename) {
        diag.error(
            Some(&name.span()),
            &scope,
            SpecErrorKind::Invalid(format!("entity name `{ename}` must be an identifier")),
        );
        return None;
    }
    let file = spec.get_ref();
    let pk = entity::primary_key(cat, diag, &scope, &file.key)?;
    let lookups = lookups::lookups(cat, diag, &scope, &pk, file);
    let (flat, sections) = sections::flatten(diag, &scope, ename, &file.fields);
    let cx = entity::FieldCtx {
        cat,
        entity: ename,
        pk: &pk,
        lookups: &lookups,
    };

    let mut fields: Vec<Option<Field>> = Vec::new();
    for ff in &flat {
        let fscope = scope.with_item(format!("field `{}`", ff.name));
        let f = ff.spec;
        if f.computed.is_some() {
            // Typed in the second pass, once mapped fields are known.
            fields.push(None);
            continue;
        }
        fields.push(
            entity::mapped_field(&cx, diag, &fscope, &ff.name, &ff.span, f).map(|m| Field {
                name: ff.name.clone(),
                description: f.description.clone(),
                ty: m.ty,
                nullable: m.nullable,
                emit: f.emit.unwrap_or(true),
                kind: FieldKind::Mapped {
                    strategy: m.strategy,
                    sources: m.sources,
                    transform: m.transform,
                    when: m.when,
                    condition: m.condition,
                    stop: m.stop,
                },
            }),
        );
    }

    // Computed fields: parse, order by dependency, then type-check in that order.
    let mut types: computed::FieldTypes = fields
        .iter()
        .flatten()
        .map(|f| (f.name.clone(), f.ty.clone()))
        .collect();
    let all_names: Vec<String> = flat.iter().map(|f| f.name.clone()).collect();
    let computed_idx: Vec<usize> = flat
        .iter()
        .enumerate()
        .filter(|(_, f)| f.spec.computed.is_some())
        .map(|(i, _)| i)
        .collect();
    let mut parsed = HashMap::new();
    for &i in &computed_idx {
        let ff = &flat[i];
        let f = ff.spec;
        let fscope = scope.with_item(format!("field `{}`", ff.name));
        let other_keys = f.from.is_some()
            || f.count.is_some()
            || f.sum.is_some()
            || f.max.is_some()
            || f.min.is_some()
            || f.append.is_some()
            || f.unique_count.is_some()
            || f.merge.is_some()
            || f.key.is_some()
            || f.via.is_some()
            || f.strategy.is_some()
            || f.cap.is_some()
            || f.transform.is_some()
            || f.when.is_some()
            || f.condition.is_some()
            || f.stop.is_some();
        if other_keys {
            diag.error(
                Some(&ff.span),
                &fscope,
                SpecErrorKind::Invalid(
                    "a computed field takes only `computed`, `emit` and `description`".to_string(),
                ),
            );
            continue;
        }
        if let Some(text) = &f.computed {
            if let Some(e) = computed::parse(diag, &fscope, text) {
                parsed.insert(i, e);
            }
        }
    }
    let cnames: Vec<String> = computed_idx.iter().map(|&i| flat[i].name.clone()).collect();
    let deps: Vec<Vec<usize>> = computed_idx
        .iter()
        .map(|i| {
            parsed.get(i).map_or_else(Vec::new, |e| {
                e.references()
                    .iter()
                    .filter_map(|r| {
                        let field = computed::field_of_path(&all_names, r)?;
                        cnames.iter().position(|c| c == field)
                    })
                    .collect()
            })
        })
        .collect();
    let order = match computed::order(&cnames, &deps) {
        Ok(order) => order,
        Err(cycle) => {
            let at = computed_idx[cnames.iter().position(|c| *c == cycle[0]).unwrap_or(0)];
            let ff = &flat[at];
            diag.error(
                Some(&ff.span),
                &scope.with_item(format!("field `{}`", ff.name)),
                SpecErrorKind::ComputedCycle { cycle },
            );
            return None;
        }
    };
    let mut computed_order = Vec::new();
    for k in order {
        let i = computed_idx[k];
        let ff = &flat[i];
        let f = ff.spec;
        let fscope = scope.with_item(format!("field `{}`", ff.name));
        let (Some(expr), Some(text)) = (parsed.remove(&i), f.computed.as_ref()) else {
            continue;
        };
        let Some(ety) = computed::check(diag, &fscope, text, &expr, &types) else {
            continue;
        };
        let Some(ty) = computed::result_layout(diag, &fscope, &ff.span, ety) else {
            continue;
        };
        types.insert(ff.name.clone(), ty.clone());
        let depends_on = expr
            .references()
            .iter()
            .filter_map(|r| computed::field_of_path(&all_names, r))
            .fold(Vec::<String>::new(), |mut acc, r| {
                if !acc.iter().any(|a| a == r) {
                    acc.push(r.to_string());
                }
                acc
            });
        fields[i] = Some(Field {
            name: ff.name.clone(),
            description: f.description.clone(),
            ty,
            nullable: false,
            emit: f.emit.unwrap_or(true),
            kind: FieldKind::Computed {
                source: text.get_ref().clone(),
                expr,
                depends_on,
            },
        });
        computed_order.push(i);
    }

    let mut views = views::built_in(ename, file.append);
    if file.append
        && !fields.iter().flatten().any(|f| {
            matches!(&f.kind, FieldKind::Mapped { sources, .. }
                if sources.iter().any(|s| s.source.kind != crate::model::SourceKind::Account))
        })
    {
        diag.error(
            Some(&spec.span()),
            &scope,
            SpecErrorKind::Invalid(
                "`append = true` needs at least one field fed by an instruction or event".into(),
            ),
        );
    }
    for (vname, vspec) in in_file_order(&file.views) {
        if let Some(v) = views::derived(diag, &scope, ename, &types, vname, vspec) {
            views.push(v);
        }
    }
    if fields.iter().any(Option::is_none) {
        return None;
    }
    Some(Entity {
        name: ename.clone(),
        description: file.description.clone(),
        key: pk,
        lookups,
        fields: fields.into_iter().flatten().collect(),
        sections,
        computed_order,
        views,
    })
}

/// Generated struct names (entities and their sections) must be distinct across the stack.
fn check_type_names(diag: &mut Diag, file: &StackFile, entities: &[Entity]) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for e in entities {
        seen.insert(
            crate::idl::camel_case(&e.name),
            format!("entity `{}`", e.name),
        );
    }
    for e in entities {
        for s in &e.sections {
            let this = format!("section `{}` of entity `{}`", s.path, e.name);
            if let Some(other) = seen.insert(s.type_name.clone(), this.clone()) {
                let span = file
                    .entities
                    .iter()
                    .find(|(n, _)| *n.get_ref() == e.name)
                    .map(|(n, _)| n.span());
                diag.error(
                    span.as_ref(),
                    &Scope::entity(&e.name),
                    SpecErrorKind::Invalid(format!(
                        "{this} generates the struct `{}`, like {other}; rename one of them",
                        s.type_name
                    )),
                );
            }
        }
    }
}

/// Map entries in the order they appear in the file (TOML tables are parsed into sorted maps).
pub(crate) fn in_file_order<V>(map: &BTreeMap<Spanned<String>, V>) -> Vec<(&Spanned<String>, &V)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
