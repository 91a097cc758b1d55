//! Spec file → checked [`Stack`]: resolves every path against the IDLs, types every field,
//! checks strategies, keys, lookups, computed fields and views, and reports every problem with
//! its location.

mod catalog;
mod computed;
mod diag;
mod entity;
mod evaluated;
mod lookups;
mod mapping;
mod scaled;
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
    let flat = scaled::expand(diag, &scope, flat);
    let cx = entity::FieldCtx {
        cat,
        entity: ename,
        pk: &pk,
        lookups: &lookups,
    };

    let mut fields: Vec<Option<Field>> = Vec::new();
    for ff in &flat {
        let fscope = scope.with_item(format!("field `{}`", ff.name));
        let f = &*ff.spec;
        if evaluated::is_evaluated(f) {
            // Typed in the second pass, once mapped fields are known.
            fields.push(None);
            continue;
        }
        if f.input.is_some() {
            diag.error(
                Some(&ff.span),
                &fscope,
                SpecErrorKind::Invalid(
                    "`input` belongs to resolver fields: add `resolve = \"<resolver>\"` (e.g. `token_metadata`), or remove it".into(),
                ),
            );
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

    // Computed and resolver fields: parse, order by dependency, then type-check in that order.
    let mut types: computed::FieldTypes = fields
        .iter()
        .flatten()
        .map(|f| (f.name.clone(), f.ty.clone()))
        .collect();
    let computed_order = evaluated::validate(diag, &scope, &flat, &mut fields, &mut types)?;

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
