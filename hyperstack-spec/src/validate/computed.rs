//! Computed fields and view filters: parse, type-check, order, detect cycles.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::catalog::describe;
use super::diag::{Diag, Scope};
use super::types::{computed_layout, expr_type};
use crate::error::SpecErrorKind;
use crate::expr::{self, Expr, ExprError, ExprType};
use crate::idl::{Layout, LayoutFields};

/// Field types known to expressions: name → (layout, nullable).
pub(crate) type FieldTypes = HashMap<String, Layout>;

/// Parses an expression, reporting errors at the character they point to (TOML input).
pub(crate) fn parse(diag: &mut Diag, scope: &Scope, text: &Spanned<String>) -> Option<Expr> {
    match expr::parse(text.get_ref()) {
        Ok(e) => Some(e),
        Err(error) => {
            report(diag, scope, text, error);
            None
        }
    }
}

fn report(diag: &mut Diag, scope: &Scope, text: &Spanned<String>, error: ExprError) {
    // Point into the string: skip the opening quote, then the error's byte offset.
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
}

/// The field a (dotted) path reads: the longest field name that is the path or a prefix of it
/// at a `.` (`state.motherlode` in a section, `last_trade` for `last_trade.sol_amount`).
pub(crate) fn field_of_path<'a>(names: &'a [String], path: &str) -> Option<&'a str> {
    names
        .iter()
        .filter(|n| {
            path == n.as_str()
                || (path.starts_with(n.as_str()) && path.as_bytes().get(n.len()) == Some(&b'.'))
        })
        .max_by_key(|n| n.len())
        .map(String::as_str)
}

/// The expression type of a (possibly dotted) field path.
fn path_type(fields: &FieldTypes, path: &str) -> Option<ExprType> {
    let names: Vec<String> = fields.keys().cloned().collect();
    let field = field_of_path(&names, path)?;
    let mut current = fields.get(field)?;
    let rest = path.get(field.len()..).unwrap_or_default();
    for seg in rest.split('.').filter(|s| !s.is_empty()) {
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

/// Type-checks an expression against the entity's field types.
pub(crate) fn check(
    diag: &mut Diag,
    scope: &Scope,
    text: &Spanned<String>,
    expr: &Expr,
    fields: &FieldTypes,
) -> Option<ExprType> {
    match expr.check(&|path| path_type(fields, path)) {
        Ok(t) => Some(t),
        Err(error) => {
            report(diag, scope, text, error);
            None
        }
    }
}

/// Checks a computed field's result type and returns its layout.
pub(crate) fn result_layout(
    diag: &mut Diag,
    scope: &Scope,
    span: &Range<usize>,
    ty: ExprType,
) -> Option<Layout> {
    let layout = computed_layout(&ty);
    if layout.is_none() {
        diag.error(
            Some(span),
            scope,
            SpecErrorKind::Invalid(format!(
                "a computed field must produce a number, boolean, string or a list of them, not {}",
                match ty {
                    ExprType::Null => "always null".to_string(),
                    other => format!("an opaque value ({other})"),
                }
            )),
        );
    }
    layout
}

/// Orders computed fields so each comes after the computed fields it reads; reports cycles.
/// `deps[i]` lists the computed-field indexes field `i` reads.
pub(crate) fn order(names: &[String], deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Active => {
                let start = stack.iter().position(|&s| s == i).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(i);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[i] = Mark::Active;
        stack.push(i);
        for &d in &deps[i] {
            visit(d, deps, marks, stack, out)?;
        }
        stack.pop();
        marks[i] = Mark::Done;
        out.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; deps.len()];
    let mut out = Vec::with_capacity(deps.len());
    for i in 0..deps.len() {
        let mut stack = Vec::new();
        visit(i, deps, &mut marks, &mut stack, &mut out)
            .map_err(|cycle| cycle.iter().map(|&c| names[c].clone()).collect::<Vec<_>>())?;
    }
    Ok(out)
}

/// Describes a layout for messages (re-exported for views).
pub(crate) fn describe_layout(ty: &Layout) -> String {
    describe(ty)
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn paths_read_the_longest_field() {
        let names: Vec<String> = ["state", "state.motherlode", "last"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            super::field_of_path(&names, "state.motherlode"),
            Some("state.motherlode")
        );
        assert_eq!(super::field_of_path(&names, "last.x.y"), Some("last"));
        assert_eq!(super::field_of_path(&names, "lastx"), None);
        assert_eq!(super::field_of_path(&names, "stat"), None);
    }

    #[test]
    fn orders_dependencies_first_and_finds_cycles() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // a reads b, b reads c.
        assert_eq!(
            order(&names, &[vec![1], vec![2], vec![]]),
            Ok(vec![2, 1, 0])
        );
        // a -> b -> c -> a
        let err = order(&names, &[vec![1], vec![2], vec![0]]).unwrap_err();
        assert_eq!(err, vec!["a", "b", "c", "a"]);
        // self-reference
        assert_eq!(order(&names[..1], &[vec![0]]).unwrap_err(), vec!["a", "a"]);
    }
}
