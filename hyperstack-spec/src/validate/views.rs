//! Views: the built-in ones and derived (filtered, sorted, limited) ones.

use toml::Spanned;

use super::computed::{self, describe_layout, FieldTypes};
use super::diag::{Diag, Scope};
use super::types::is_sortable;
use crate::error::SpecErrorKind;
use crate::expr::ExprType;
use crate::file::{SortOrderName, ViewFile};
use crate::model::{DerivedView, SortOrder, SortSpec, View, ViewKind};

/// Names of the built-in views; derived views may not use them.
pub const BUILT_IN_VIEWS: [&str; 3] = ["state", "list", "append"];

fn view(entity: &str, name: &str, description: Option<String>, kind: ViewKind) -> View {
    View {
        name: name.to_string(),
        full_name: format!("{entity}/{name}"),
        description,
        kind,
    }
}

/// The built-in views of an entity.
pub(crate) fn built_in(entity: &str, append: bool) -> Vec<View> {
    let mut views = vec![
        view(entity, "state", None, ViewKind::State),
        view(entity, "list", None, ViewKind::List),
    ];
    if append {
        views.push(view(entity, "append", None, ViewKind::Append));
    }
    views
}

/// Validates one derived view.
pub(crate) fn derived(
    diag: &mut Diag,
    scope: &Scope,
    entity: &str,
    fields: &FieldTypes,
    name: &Spanned<String>,
    spec: &Spanned<ViewFile>,
) -> Option<View> {
    let scope = scope.with_item(format!("view `{}`", name.get_ref()));
    let v = spec.get_ref();
    let n = name.get_ref();
    if BUILT_IN_VIEWS.contains(&n.as_str()) {
        diag.error(
            Some(&name.span()),
            &scope,
            SpecErrorKind::Invalid(format!(
                "`{n}` is a built-in view; derived views need another name (built-in: {})",
                BUILT_IN_VIEWS.join(", ")
            )),
        );
        return None;
    }
    if !super::is_identifier(n) {
        diag.error(
            Some(&name.span()),
            &scope,
            SpecErrorKind::Invalid(format!("view name `{n}` must be an identifier")),
        );
        return None;
    }
    let mut ok = true;
    let sort = match &v.sort {
        Some(field) => {
            let f = field.get_ref();
            match fields.get(f) {
                None => {
                    let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    diag.error(
                        Some(&field.span()),
                        &scope,
                        SpecErrorKind::BadSortField {
                            field: f.clone(),
                            reason: format!("which is not a field (fields: {})", known.join(", ")),
                        },
                    );
                    ok = false;
                    None
                }
                Some(ty) if !is_sortable(ty) => {
                    diag.error(
                        Some(&field.span()),
                        &scope,
                        SpecErrorKind::BadSortField {
                            field: f.clone(),
                            reason: format!(
                                "which is {}; views sort by numbers, booleans, strings or pubkeys",
                                describe_layout(ty)
                            ),
                        },
                    );
                    ok = false;
                    None
                }
                Some(_) => Some(SortSpec {
                    field: f.clone(),
                    order: match v.order {
                        Some(SortOrderName::Desc) => SortOrder::Desc,
                        _ => SortOrder::Asc,
                    },
                }),
            }
        }
        None => {
            if v.order.is_some() {
                diag.error(
                    Some(&spec.span()),
                    &scope,
                    SpecErrorKind::Invalid("`order` needs `sort`".to_string()),
                );
                ok = false;
            }
            None
        }
    };
    let limit = match &v.limit {
        Some(l) if *l.get_ref() == 0 => {
            diag.error(
                Some(&l.span()),
                &scope,
                SpecErrorKind::Invalid("`limit` must be at least 1".to_string()),
            );
            ok = false;
            None
        }
        Some(l) => Some(usize::try_from(*l.get_ref()).unwrap_or(usize::MAX)),
        None => None,
    };
    let filter = match &v.filter {
        Some(text) => {
            let parsed = computed::parse(diag, &scope, text);
            let checked = parsed
                .as_ref()
                .and_then(|e| computed::check(diag, &scope, text, e, fields));
            match (parsed, checked) {
                (Some(e), Some(ExprType::Bool | ExprType::Null)) => Some(e),
                (Some(_), Some(other)) => {
                    diag.error(
                        Some(&text.span()),
                        &scope,
                        SpecErrorKind::Invalid(format!(
                            "a filter must be a boolean expression, this one gives {other:?}"
                        )),
                    );
                    ok = false;
                    None
                }
                _ => {
                    ok = false;
                    None
                }
            }
        }
        None => None,
    };
    ok.then(|| {
        view(
            entity,
            n,
            v.description.clone(),
            ViewKind::Derived(DerivedView {
                sort,
                limit,
                filter,
            }),
        )
    })
}
