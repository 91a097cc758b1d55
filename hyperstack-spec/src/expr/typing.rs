//! Static type checking.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ast::{BinaryOp, Function, Node, NodeKind, Span, UnaryOp};
use super::ExprError;

/// The static type of an expression or a field. Every type also admits `null` at runtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExprType {
    /// `true` / `false`.
    Bool,
    /// A 128-bit signed integer.
    Int,
    /// A 64-bit float.
    Float,
    /// A UTF-8 string.
    String,
    /// The type of the `null` literal, compatible with every other type.
    Null,
    /// An unknown or opaque value (a struct field): usable only with `==`, `!=` and `??`.
    Any,
    /// A list (an IDL array, `Vec` or `bytes`) of items of a type.
    List(Box<ExprType>),
}

impl ExprType {
    /// The lowercase name used in error messages (`int`, `string`, `list<int>`, ...).
    pub fn name(&self) -> String {
        match self {
            ExprType::Bool => "bool".into(),
            ExprType::Int => "int".into(),
            ExprType::Float => "float".into(),
            ExprType::String => "string".into(),
            ExprType::Null => "null".into(),
            ExprType::Any => "any".into(),
            ExprType::List(item) => format!("list<{}>", item.name()),
        }
    }

    /// The type of a value that may come from either `self` or `other` (the branches of
    /// `if`, the operands of `??`): `None` if they are incompatible.
    pub fn join(&self, other: &ExprType) -> Option<ExprType> {
        use ExprType::*;
        match (self, other) {
            (a, b) if a == b => Some(a.clone()),
            (Null, t) | (t, Null) => Some(t.clone()),
            (Any, _) | (_, Any) => Some(Any),
            (Int, Float) | (Float, Int) => Some(Float),
            (List(a), List(b)) => a.join(b).map(|t| List(Box::new(t))),
            _ => None,
        }
    }
}

impl fmt::Display for ExprType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<ExprType>;

fn err(offset: usize, message: String) -> ExprError {
    ExprError { offset, message }
}

fn is_numeric(t: &ExprType) -> bool {
    matches!(t, ExprType::Int | ExprType::Float | ExprType::Null)
}

fn is_integer(t: &ExprType) -> bool {
    matches!(t, ExprType::Int | ExprType::Null)
}

fn is_logical(t: &ExprType) -> bool {
    matches!(t, ExprType::Bool | ExprType::Null)
}

fn is_orderable(t: &ExprType) -> bool {
    matches!(
        t,
        ExprType::Int | ExprType::Float | ExprType::String | ExprType::Null
    )
}

/// The item type of a list-typed operand (`any` and `null` give `any`), or `None`.
fn list_item(t: &ExprType) -> Option<ExprType> {
    match t {
        ExprType::List(item) => Some((**item).clone()),
        ExprType::Any | ExprType::Null => Some(ExprType::Any),
        _ => None,
    }
}

/// The result of an integer-preserving arithmetic operation on two numeric types.
fn numeric_result(l: &ExprType, r: &ExprType) -> ExprType {
    match (l, r) {
        (ExprType::Null, ExprType::Null) => ExprType::Null,
        (ExprType::Float, _) | (_, ExprType::Float) => ExprType::Float,
        _ => ExprType::Int,
    }
}

/// Where to report a binary operator applied to operands of types `l` and `r`: at the one
/// operand that `ok` rejects, or at the operator if both or neither are rejected.
fn blame(
    ok: fn(&ExprType) -> bool,
    l: &ExprType,
    r: &ExprType,
    lhs: &Node,
    rhs: &Node,
    op: Span,
) -> usize {
    match (ok(l), ok(r)) {
        (false, true) => lhs.span.start,
        (true, false) => rhs.span.start,
        _ => op.start,
    }
}

/// Type-checks `node`; field types come from `env`.
pub(super) fn check_node(node: &Node, env: Env<'_>) -> Result<ExprType, ExprError> {
    match &node.kind {
        NodeKind::Null => Ok(ExprType::Null),
        NodeKind::Bool(_) => Ok(ExprType::Bool),
        NodeKind::Int(_) => Ok(ExprType::Int),
        NodeKind::Float(_) => Ok(ExprType::Float),
        NodeKind::Str(_) => Ok(ExprType::String),
        NodeKind::Field(path) => {
            env(path).ok_or_else(|| err(node.span.start, format!("unknown field `{path}`")))
        }
        NodeKind::Unary { op, operand } => {
            let t = check_node(operand, env)?;
            let result = match op {
                UnaryOp::Neg if is_numeric(&t) => Some(t.clone()),
                UnaryOp::Not if is_logical(&t) => Some(ExprType::Bool),
                _ => None,
            };
            result.ok_or_else(|| {
                err(
                    operand.span.start,
                    format!("operator `{}` cannot apply to {t}", op.symbol()),
                )
            })
        }
        NodeKind::Binary {
            op,
            op_span,
            lhs,
            rhs,
        } => {
            let l = check_node(lhs, env)?;
            let r = check_node(rhs, env)?;
            check_binary(*op, &l, &r, lhs, rhs, *op_span)
        }
        NodeKind::Call { function, args } if function.takes_lambda() => {
            check_lambda_call(*function, args, node.span, env)
        }
        NodeKind::Call { function, args } => {
            let mut types = Vec::with_capacity(args.len());
            for arg in args {
                types.push(check_node(arg, env)?);
            }
            check_call(*function, &types, args, node.span)
        }
        NodeKind::Lambda { .. } => Err(err(
            node.span.start,
            "a lambda is only allowed as the second argument of `map`, `any` or `all`".into(),
        )),
    }
}

/// The type of a path under a lambda's parameter: the item itself, or a field of it when the
/// item is opaque (a struct).
fn param_path_type(item: &ExprType, rest: Option<&str>) -> Option<ExprType> {
    match rest {
        None => Some(item.clone()),
        Some(_) if *item == ExprType::Any => Some(ExprType::Any),
        Some(_) => None,
    }
}

/// `map(list, x => expr)`, `any(list, x => cond)`, `all(list, x => cond)`.
fn check_lambda_call(
    function: Function,
    args: &[Node],
    span: Span,
    env: Env<'_>,
) -> Result<ExprType, ExprError> {
    let name = function.name();
    let [list, lambda] = args else {
        return Err(err(
            span.start,
            format!("function `{name}` takes 2 arguments"),
        ));
    };
    let list_ty = check_node(list, env)?;
    let item = list_item(&list_ty).ok_or_else(|| {
        err(
            list.span.start,
            format!("function `{name}` needs a list, found {list_ty}"),
        )
    })?;
    let NodeKind::Lambda { param, body } = &lambda.kind else {
        return Err(err(
            lambda.span.start,
            format!("the second argument of `{name}` must be a lambda `x => …`"),
        ));
    };
    let inner = |path: &str| -> Option<ExprType> {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        if head == param {
            param_path_type(&item, rest)
        } else {
            env(path)
        }
    };
    let body_ty = check_node(body, &inner)?;
    match function {
        Function::Map => Ok(ExprType::List(Box::new(body_ty))),
        _ if is_logical(&body_ty) => Ok(ExprType::Bool),
        _ => Err(err(
            body.span.start,
            format!("the lambda of `{name}` must give a bool, found {body_ty}"),
        )),
    }
}

fn check_binary(
    op: BinaryOp,
    l: &ExprType,
    r: &ExprType,
    lhs: &Node,
    rhs: &Node,
    op_span: Span,
) -> Result<ExprType, ExprError> {
    let result = match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Rem
            if is_numeric(l) && is_numeric(r) =>
        {
            Ok(numeric_result(l, r))
        }
        BinaryOp::Div if is_numeric(l) && is_numeric(r) => Ok(ExprType::Float),
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Rem | BinaryOp::Div => {
            Err(blame(is_numeric, l, r, lhs, rhs, op_span))
        }
        BinaryOp::And | BinaryOp::Or if is_logical(l) && is_logical(r) => Ok(ExprType::Bool),
        BinaryOp::And | BinaryOp::Or => Err(blame(is_logical, l, r, lhs, rhs, op_span)),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let comparable = (is_numeric(l) && is_numeric(r))
                || (matches!(l, ExprType::String | ExprType::Null)
                    && matches!(r, ExprType::String | ExprType::Null));
            if comparable {
                Ok(ExprType::Bool)
            } else {
                Err(blame(is_orderable, l, r, lhs, rhs, op_span))
            }
        }
        BinaryOp::Eq | BinaryOp::Ne => match l.join(r) {
            Some(_) => Ok(ExprType::Bool),
            None => Err(op_span.start),
        },
        BinaryOp::Coalesce => l.join(r).ok_or(op_span.start),
    };
    result.map_err(|offset| {
        err(
            offset,
            format!("operator `{}` cannot apply to {l} and {r}", op.symbol()),
        )
    })
}

fn check_call(
    function: Function,
    types: &[ExprType],
    args: &[Node],
    span: Span,
) -> Result<ExprType, ExprError> {
    let name = function.name();
    let offset_of = |i: usize| args.get(i).map_or(span.start, |a| a.span.start);
    let cannot = |i: usize, t: &ExprType| {
        err(
            offset_of(i),
            format!("function `{name}` cannot apply to {t}"),
        )
    };
    match (function, types) {
        (Function::Abs, [t]) => match t {
            ExprType::Int | ExprType::Float | ExprType::Null => Ok(t.clone()),
            _ => Err(cannot(0, t)),
        },
        (Function::Round | Function::Floor | Function::Ceil, [t]) => {
            if is_numeric(t) {
                Ok(ExprType::Int)
            } else {
                Err(cannot(0, t))
            }
        }
        (Function::Min | Function::Max, [a, b]) => {
            if is_numeric(a) && is_numeric(b) {
                Ok(numeric_result(a, b))
            } else {
                let offset = match (is_numeric(a), is_numeric(b)) {
                    (true, false) => offset_of(1),
                    (false, true) => offset_of(0),
                    _ => span.start,
                };
                Err(err(
                    offset,
                    format!("function `{name}` cannot apply to {a} and {b}"),
                ))
            }
        }
        (Function::If, [c, a, b]) => {
            if !is_logical(c) {
                return Err(err(
                    offset_of(0),
                    format!("the condition of `if` must be bool, found {c}"),
                ));
            }
            a.join(b).ok_or_else(|| {
                err(
                    offset_of(2),
                    format!("the branches of `if` have incompatible types {a} and {b}"),
                )
            })
        }
        (Function::Coalesce, [first, rest @ ..]) if !rest.is_empty() => {
            let mut acc = first.clone();
            for (i, t) in rest.iter().enumerate() {
                acc = acc.join(t).ok_or_else(|| {
                    err(
                        offset_of(i + 1),
                        format!(
                            "the arguments of `coalesce` have incompatible types {acc} and {t}"
                        ),
                    )
                })?;
            }
            Ok(acc)
        }
        (Function::U64Le, [bytes, offset]) => {
            match list_item(bytes) {
                Some(ExprType::Int | ExprType::Any | ExprType::Null) => {}
                _ => {
                    return Err(err(
                        offset_of(0),
                        format!("function `u64_le` needs a list of bytes, found {bytes}"),
                    ))
                }
            }
            if is_integer(offset) {
                Ok(ExprType::Int)
            } else {
                Err(err(
                    offset_of(1),
                    format!("the offset of `u64_le` must be an int, found {offset}"),
                ))
            }
        }
        (Function::Xor, [_, _, ..]) => match types.iter().position(|t| !is_integer(t)) {
            Some(i) => Err(cannot(i, &types[i])),
            None => Ok(ExprType::Int),
        },
        (Function::ReverseBits, [t]) => {
            if is_integer(t) {
                Ok(ExprType::Int)
            } else {
                Err(cannot(0, t))
            }
        }
        (Function::UiAmount, [amount, decimals]) => {
            if !is_integer(amount) {
                return Err(err(
                    offset_of(0),
                    format!(
                        "the amount of `ui_amount` must be an int (base units), found {amount}"
                    ),
                ));
            }
            if is_integer(decimals) {
                Ok(ExprType::Float)
            } else {
                Err(err(
                    offset_of(1),
                    format!("the decimals of `ui_amount` must be an int, found {decimals}"),
                ))
            }
        }
        (Function::Len, [t]) => {
            if matches!(t, ExprType::String) || list_item(t).is_some() {
                Ok(ExprType::Int)
            } else {
                Err(cannot(0, t))
            }
        }
        _ => Err(err(
            span.start,
            format!("function `{name}` cannot take {} arguments", types.len()),
        )),
    }
}
