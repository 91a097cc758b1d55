//! Decoded values: positional (struct fields by index, enum variants by tag), converted to
//! JSON with their [`Layout`] following docs/ARCHITECTURE.md's value encoding.

use serde_json::{Map, Number, Value as Json};

use crate::source::Pubkey;
use crate::spec::expr::Value as ExprValue;
use crate::spec::idl::{Layout, LayoutFields};

/// Largest integer magnitude sent as a JSON number (2^53).
const JSON_SAFE: u128 = 1 << 53;

/// A decoded value. Struct fields and enum data are positional: their names live in the
/// [`Layout`] the value was decoded with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// Unsigned integers up to 64 bits.
    U64(u64),
    /// Signed integers up to 64 bits.
    I64(i64),
    /// `u128`
    U128(u128),
    /// `i128`
    I128(i128),
    /// `f32` / `f64`
    F64(#[serde(with = "crate::store::codec::float")] f64),
    /// `u256` / `i256`, little-endian bytes; `true` when signed.
    Wide([u8; 32], bool),
    /// `string`
    String(String),
    /// `bytes`
    Bytes(Vec<u8>),
    /// `pubkey`
    Pubkey(Pubkey),
    /// `Option` / `COption`.
    Option(Option<Box<Value>>),
    /// `Vec` and fixed arrays.
    List(Vec<Value>),
    /// Struct fields (or enum variant data) in layout order.
    Struct(Vec<Value>),
    /// An enum: variant index and its fields.
    Enum(u32, Vec<Value>),
}

fn int_json(i: i128) -> Json {
    match i64::try_from(i) {
        Ok(small) if i.unsigned_abs() <= JSON_SAFE => Json::from(small),
        _ => Json::String(i.to_string()),
    }
}

fn fields_json(values: &[Value], fields: Option<&LayoutFields>) -> Json {
    match fields {
        Some(LayoutFields::Named(named)) if named.len() == values.len() => {
            let mut map = Map::with_capacity(named.len());
            for ((name, layout), v) in named.iter().zip(values) {
                map.insert(name.clone(), v.to_json(Some(layout)));
            }
            Json::Object(map)
        }
        Some(LayoutFields::Tuple(tuple)) if tuple.len() == values.len() => Json::Array(
            values
                .iter()
                .zip(tuple)
                .map(|(v, l)| v.to_json(Some(l)))
                .collect(),
        ),
        _ => Json::Array(values.iter().map(|v| v.to_json(None)).collect()),
    }
}

/// Decimal digits of a 256-bit little-endian unsigned integer.
fn u256_decimal(bytes: &[u8; 32]) -> String {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        *limb = u64::from_le_bytes(b);
    }
    if limbs.iter().all(|&l| l == 0) {
        return "0".to_string();
    }
    let mut digits = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem: u128 = 0;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*limb);
            *limb = (cur / 10) as u64;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

fn wide_decimal(bytes: &[u8; 32], signed: bool) -> String {
    if signed && bytes[31] & 0x80 != 0 {
        // Two's complement negation: invert and add one.
        let mut neg = [0u8; 32];
        let mut carry = 1u16;
        for (o, b) in neg.iter_mut().zip(bytes) {
            let v = u16::from(!b) + carry;
            *o = v as u8;
            carry = v >> 8;
        }
        format!("-{}", u256_decimal(&neg))
    } else {
        u256_decimal(bytes)
    }
}

impl Value {
    /// JSON as clients see it: pubkeys base58, 64-bit integers as numbers up to 2^53 and
    /// strings beyond, 128/256-bit integers as decimal strings, bytes and arrays as arrays
    /// of numbers, structs as objects (`layout` gives the names), enums externally tagged.
    /// Without a matching layout, structs become arrays.
    pub fn to_json(&self, layout: Option<&Layout>) -> Json {
        match self {
            Value::Bool(b) => Json::Bool(*b),
            Value::U64(u) => int_json(i128::from(*u)),
            Value::I64(i) => int_json(i128::from(*i)),
            Value::U128(u) => Json::String(u.to_string()),
            Value::I128(i) => Json::String(i.to_string()),
            Value::F64(x) => Number::from_f64(*x).map_or(Json::Null, Json::Number),
            Value::Wide(b, signed) => Json::String(wide_decimal(b, *signed)),
            Value::String(s) => Json::String(s.clone()),
            Value::Bytes(b) => Json::Array(b.iter().map(|&x| Json::from(x)).collect()),
            Value::Pubkey(p) => Json::String(p.to_base58()),
            Value::Option(None) => Json::Null,
            Value::Option(Some(v)) => {
                let inner = match layout {
                    Some(Layout::Option(l)) | Some(Layout::COption(l)) => Some(&**l),
                    _ => None,
                };
                v.to_json(inner)
            }
            Value::List(items) => {
                let inner = match layout {
                    Some(Layout::Vec(l)) | Some(Layout::Array(l, _)) => Some(&**l),
                    _ => None,
                };
                Json::Array(items.iter().map(|v| v.to_json(inner)).collect())
            }
            Value::Struct(values) => {
                let fields = match layout {
                    Some(Layout::Struct { fields, .. }) => Some(fields),
                    _ => None,
                };
                fields_json(values, fields)
            }
            Value::Enum(tag, values) => {
                let variant = match layout {
                    Some(Layout::Enum { variants, .. }) => variants.get(*tag as usize),
                    _ => None,
                };
                let name = variant.map_or_else(|| tag.to_string(), |(n, _)| n.clone());
                match variant.map(|(_, f)| f) {
                    Some(LayoutFields::Unit) | None if values.is_empty() => Json::String(name),
                    fields => {
                        let mut map = Map::with_capacity(1);
                        map.insert(name, fields_json(values, fields));
                        Json::Object(map)
                    }
                }
            }
        }
    }

    /// The value as the expression language sees it: integers exact (u128 beyond i128 as a
    /// float), pubkeys as base58 strings, `None` as null, composite values as JSON.
    pub fn to_expr(&self, layout: Option<&Layout>) -> ExprValue {
        match self {
            Value::Bool(b) => ExprValue::Bool(*b),
            Value::U64(u) => ExprValue::Int(i128::from(*u)),
            Value::I64(i) => ExprValue::Int(i128::from(*i)),
            Value::U128(u) => {
                i128::try_from(*u).map_or(ExprValue::Float(*u as f64), ExprValue::Int)
            }
            Value::I128(i) => ExprValue::Int(*i),
            Value::F64(x) if x.is_finite() => ExprValue::Float(*x),
            Value::F64(_) => ExprValue::Null,
            Value::String(s) => ExprValue::Str(s.clone()),
            Value::Pubkey(p) => ExprValue::Str(p.to_base58()),
            Value::Option(None) => ExprValue::Null,
            Value::Option(Some(v)) => {
                let inner = match layout {
                    Some(Layout::Option(l)) | Some(Layout::COption(l)) => Some(&**l),
                    _ => None,
                };
                v.to_expr(inner)
            }
            Value::Bytes(b) => {
                ExprValue::List(b.iter().map(|&x| ExprValue::Int(i128::from(x))).collect())
            }
            Value::List(items) => {
                let inner = match layout {
                    Some(Layout::Vec(l)) | Some(Layout::Array(l, _)) => Some(&**l),
                    _ => None,
                };
                ExprValue::List(items.iter().map(|v| v.to_expr(inner)).collect())
            }
            other => ExprValue::from_json(&other.to_json(layout)),
        }
    }

    /// The value as an exact integer, if it is one.
    pub fn as_i128(&self) -> Option<i128> {
        match self {
            Value::U64(u) => Some(i128::from(*u)),
            Value::I64(i) => Some(i128::from(*i)),
            Value::U128(u) => i128::try_from(*u).ok(),
            Value::I128(i) => Some(*i),
            Value::Option(Some(v)) => v.as_i128(),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::F64(x) => Some(*x),
            Value::U128(u) => Some(*u as f64),
            Value::Option(Some(v)) => v.as_f64(),
            other => other.as_i128().map(|i| i as f64),
        }
    }

    /// The struct field / enum datum / list item at `index`.
    pub fn child(&self, index: usize) -> Option<&Value> {
        match self {
            Value::Struct(v) | Value::List(v) | Value::Enum(_, v) => v.get(index),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::idl::IdlPrimitive;
    use serde_json::json;

    #[test]
    fn json_encoding_follows_the_architecture() {
        assert_eq!(
            Value::U64(1 << 53).to_json(None),
            json!(9007199254740992u64)
        );
        assert_eq!(
            Value::U64((1 << 53) + 1).to_json(None),
            json!("9007199254740993")
        );
        assert_eq!(Value::I64(-5).to_json(None), json!(-5));
        assert_eq!(Value::U128(7).to_json(None), json!("7"));
        assert_eq!(Value::Bytes(vec![1, 2]).to_json(None), json!([1, 2]));
        assert_eq!(
            Value::Pubkey(Pubkey([0; 32])).to_json(None),
            json!("11111111111111111111111111111111")
        );
        assert_eq!(Value::F64(f64::NAN).to_json(None), Json::Null);
        let mut max = [0xffu8; 32];
        assert_eq!(
            Value::Wide(max, false).to_json(None),
            json!("115792089237316195423570985008687907853269984665640564039457584007913129639935")
        );
        assert_eq!(Value::Wide(max, true).to_json(None), json!("-1"));
        max = [0; 32];
        max[0] = 42;
        assert_eq!(Value::Wide(max, true).to_json(None), json!("42"));
        let enum_layout = Layout::Enum {
            name: "S".into(),
            variants: vec![
                ("Active".into(), LayoutFields::Unit),
                (
                    "Paused".into(),
                    LayoutFields::Named(vec![(
                        "reason".into(),
                        Layout::Primitive(IdlPrimitive::U8),
                    )]),
                ),
            ],
        };
        assert_eq!(
            Value::Enum(0, vec![]).to_json(Some(&enum_layout)),
            json!("Active")
        );
        assert_eq!(
            Value::Enum(1, vec![Value::U64(3)]).to_json(Some(&enum_layout)),
            json!({"Paused": {"reason": 3}})
        );
        assert_eq!(
            Value::Struct(vec![Value::Bool(true)]).to_json(None),
            json!([true])
        );
    }

    #[test]
    fn expr_values() {
        assert_eq!(Value::U64(3).to_expr(None), ExprValue::Int(3));
        assert_eq!(Value::Option(None).to_expr(None), ExprValue::Null);
        assert_eq!(
            Value::Pubkey(Pubkey([0; 32])).to_expr(None),
            ExprValue::Str("11111111111111111111111111111111".into())
        );
        assert_eq!(Value::U128(u128::MAX).as_i128(), None);
        assert_eq!(Value::I64(-2).as_f64(), Some(-2.0));
    }
}
