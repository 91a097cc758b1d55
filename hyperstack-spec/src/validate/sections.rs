//! Sections: the tree of `fields` entries flattened into fields named by dotted paths.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::diag::{Diag, Scope};
use crate::error::SpecErrorKind;
use crate::file::{FieldEntry, FieldFile};
use crate::model::Section;

/// One field of the tree, named by its dotted path.
pub(crate) struct FlatField<'a> {
    /// `state.motherlode`.
    pub name: String,
    /// Where the field's table is written.
    pub span: Range<usize>,
    /// The field as written (or as [`super::scaled`] rewrote it).
    pub spec: Cow<'a, FieldFile>,
}

/// Flattens an entity's `fields` depth first in file order, checking names (identifiers,
/// distinct once snake_cased, sections not empty). Returns the fields and the sections.
pub(crate) fn flatten<'a>(
    diag: &mut Diag,
    scope: &Scope,
    entity: &str,
    fields: &'a std::collections::BTreeMap<Spanned<String>, Spanned<FieldEntry>>,
) -> (Vec<FlatField<'a>>, Vec<Section>) {
    let mut out = Flattened {
        fields: Vec::new(),
        sections: Vec::new(),
        seen: HashMap::new(),
    };
    walk(diag, scope, entity, "", fields, &mut out);
    (out.fields, out.sections)
}

struct Flattened<'a> {
    fields: Vec<FlatField<'a>>,
    sections: Vec<Section>,
    /// snake_cased path → (path as written, span), to find names that collide in generated code.
    seen: HashMap<String, (String, Range<usize>)>,
}

fn walk<'a>(
    diag: &mut Diag,
    scope: &Scope,
    entity: &str,
    prefix: &str,
    entries: &'a std::collections::BTreeMap<Spanned<String>, Spanned<FieldEntry>>,
    out: &mut Flattened<'a>,
) {
    for (name, entry) in super::in_file_order(entries) {
        let path = if prefix.is_empty() {
            name.get_ref().clone()
        } else {
            format!("{prefix}.{}", name.get_ref())
        };
        let is_section = matches!(entry.get_ref(), FieldEntry::Section(_));
        let what = if is_section { "section" } else { "field" };
        let item_scope = scope.with_item(format!("{what} `{path}`"));
        if !check_name(diag, &item_scope, what, name, &path, out) {
            continue;
        }
        match entry.get_ref() {
            FieldEntry::Field(spec) => out.fields.push(FlatField {
                name: path,
                span: entry.span(),
                spec: Cow::Borrowed(&**spec),
            }),
            FieldEntry::Section(children) => {
                if children.is_empty() {
                    diag.error(
                        Some(&entry.span()),
                        &item_scope,
                        SpecErrorKind::Invalid(
                            "empty table: a field needs one of `from`, `count`, `sum`, `max`, \
                             `min`, `append`, `unique_count`, `merge`, `computed` or `resolve`, and a \
                             section needs at least one field"
                                .to_string(),
                        ),
                    );
                    continue;
                }
                out.sections.push(Section {
                    type_name: crate::idl::camel_case(&format!(
                        "{entity}_{}",
                        path.replace('.', "_")
                    )),
                    path: path.clone(),
                });
                walk(diag, scope, entity, &path, children, out);
            }
        }
    }
}

/// Names must be identifiers, unique once snake_cased (generated code snake-cases them).
fn check_name(
    diag: &mut Diag,
    scope: &Scope,
    what: &str,
    name: &Spanned<String>,
    path: &str,
    out: &mut Flattened<'_>,
) -> bool {
    let n = name.get_ref();
    if !super::is_identifier(n) {
        diag.error(
            Some(&name.span()),
            scope,
            SpecErrorKind::Invalid(format!(
                "{what} name `{n}` must be an identifier (letters, digits, `_`; not starting with a digit)"
            )),
        );
        return false;
    }
    let folded: Vec<String> = path.split('.').map(crate::idl::snake_case).collect();
    let folded = folded.join(".");
    if let Some((first, first_span)) = out.seen.get(&folded) {
        let first_location = diag.location(Some(first_span));
        diag.error(
            Some(&name.span()),
            scope,
            SpecErrorKind::Duplicate {
                what: if what == "section" {
                    "section"
                } else {
                    "field"
                },
                name: if first == path {
                    path.to_string()
                } else {
                    format!("{path}` / `{first}")
                },
                first: Some(first_location),
            },
        );
        return false;
    }
    out.seen.insert(folded, (path.to_string(), name.span()));
    true
}
