//! Runtime values.

use serde::{Deserialize, Serialize};

use super::typing::ExprType;

/// The largest integer magnitude a JSON number carries exactly in JavaScript (2^53).
const JSON_SAFE_INT: u128 = 1 << 53;

/// A runtime value: the value of a field, or the result of evaluating an expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// No value: an absent field, or the result of an undefined operation.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float. Evaluation never produces a non-finite float (it produces [`Value::Null`]).
    Float(f64),
    /// A string.
    Str(String),
    /// A list (an IDL array, `Vec` or `bytes`): read by `map`, `any`, `all`, `len` and
    /// `u64_le`, compared item by item with `==` / `!=`.
    List(Vec<Value>),
    /// A JSON object (a struct field): only compared with `==` / `!=` (as JSON) and passed
    /// through `??`; any other use yields [`Value::Null`].
    Opaque(serde_json::Value),
}

impl Value {
    /// Whether a derived-view filter that evaluated to this value lets the entity through:
    /// only `Bool(true)` does; `false`, `null` and anything else do not.
    pub fn is_truthy_filter(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// Whether the value is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The static type the value belongs to ([`ExprType::Any`] for [`Value::Opaque`]; a
    /// list's item type is the join of its items' types, `any` when they disagree).
    pub fn expr_type(&self) -> ExprType {
        match self {
            Value::Null => ExprType::Null,
            Value::Bool(_) => ExprType::Bool,
            Value::Int(_) => ExprType::Int,
            Value::Float(_) => ExprType::Float,
            Value::Str(_) => ExprType::String,
            Value::List(items) => {
                let item = items
                    .iter()
                    .map(Value::expr_type)
                    .try_fold(ExprType::Null, |acc, t| acc.join(&t))
                    .unwrap_or(ExprType::Any);
                ExprType::List(Box::new(item))
            }
            Value::Opaque(_) => ExprType::Any,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) => Some(x),
            _ => None,
        }
    }

    /// Converts a JSON value: integral numbers (those serde_json holds as `i64` / `u64`)
    /// become [`Value::Int`], other numbers [`Value::Float`], strings [`Value::Str`]
    /// (strings of digits are *not* converted to numbers), arrays [`Value::List`] and objects
    /// [`Value::Opaque`].
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i128::from(i))
                } else if let Some(u) = n.as_u64() {
                    Value::Int(i128::from(u))
                } else {
                    n.as_f64().map_or(Value::Null, Value::Float)
                }
            }
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(_) => Value::Opaque(v.clone()),
        }
    }

    /// Converts to JSON: integers of magnitude up to 2^53 become JSON numbers, larger ones
    /// a JSON string of their decimal digits (so JavaScript clients lose no precision);
    /// finite floats become numbers and non-finite ones `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(small) if i.unsigned_abs() <= JSON_SAFE_INT => serde_json::Value::from(small),
                _ => serde_json::Value::String(i.to_string()),
            },
            Value::Float(x) => serde_json::Number::from_f64(*x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Opaque(v) => v.clone(),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i128> for Value {
    fn from(i: i128) -> Self {
        Value::Int(i)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i128::from(i))
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::Int(i128::from(u))
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
