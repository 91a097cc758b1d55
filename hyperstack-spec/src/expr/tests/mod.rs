//! Tests of the expression language.

mod check;
mod eval;
mod fuzz;
mod parse;

use super::{parse, ExprError, ExprType, Value};

/// The canonical, fully parenthesised rendering of `src`.
fn canon(src: &str) -> String {
    match parse(src) {
        Ok(expr) => expr.root().to_string(),
        Err(e) => panic!("parse of {src:?} failed: {e:?}"),
    }
}

/// The parse error of `src`, as `(offset, message)`.
fn parse_err(src: &str) -> (usize, String) {
    match parse(src) {
        Ok(expr) => panic!("{src:?} parsed as {}", expr.root()),
        Err(ExprError { offset, message }) => (offset, message),
    }
}

/// Field types used by the type-checking tests.
fn field_type(path: &str) -> Option<ExprType> {
    Some(match path {
        "i" | "j" | "trade.amount" => ExprType::Int,
        "f" | "g" => ExprType::Float,
        "s" | "t" => ExprType::String,
        "b" | "c" => ExprType::Bool,
        "n" => ExprType::Null,
        "o" => ExprType::Any,
        _ => return None,
    })
}

/// Field values used by the evaluation tests.
fn field_value(path: &str) -> Option<Value> {
    Some(match path {
        "i" => Value::Int(7),
        "j" => Value::Int(2),
        "trade.amount" => Value::Int(1_000_000_000),
        "big" => Value::Int(i128::MAX),
        "small" => Value::Int(i128::MIN),
        "f" => Value::Float(1.5),
        "g" => Value::Float(-2.5),
        "s" => Value::Str("abc".into()),
        "t" => Value::Str("abd".into()),
        "b" => Value::Bool(true),
        "c" => Value::Bool(false),
        "n" => Value::Null,
        "o" => Value::Opaque(serde_json::json!({"x": [1, 2]})),
        "o2" => Value::Opaque(serde_json::json!({"x": [1, 2]})),
        "o3" => Value::Opaque(serde_json::json!([1])),
        _ => return None,
    })
}

/// Evaluates `src` against [`field_value`].
fn ev(src: &str) -> Value {
    match parse(src) {
        Ok(expr) => expr.eval(&field_value),
        Err(e) => panic!("parse of {src:?} failed: {e:?}"),
    }
}

/// Type-checks `src` against [`field_type`].
fn ty(src: &str) -> Result<ExprType, (usize, String)> {
    match parse(src) {
        Ok(expr) => expr
            .check(&field_type)
            .map_err(|ExprError { offset, message }| (offset, message)),
        Err(e) => panic!("parse of {src:?} failed: {e:?}"),
    }
}
