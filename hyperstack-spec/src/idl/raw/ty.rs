//! Parsing of one type use (`"u64"`, `{"vec": T}`, `{"array": [T, N]}`, `{"defined": …}`)
//! into [`IdlType`], keeping its location for error messages.
//!
//! Types are parsed from [`serde_json::Value`] by hand rather than through an untagged serde
//! enum so that an unknown type names the exact field it appears in.

use serde_json::Value;

use crate::idl::error::IdlError;
use crate::idl::model::{IdlGenericArg, IdlPrimitive, IdlType};

/// Maps a primitive type string (`u64`, `publicKey`, …) to its primitive.
pub(crate) fn primitive(s: &str) -> Option<IdlPrimitive> {
    use IdlPrimitive::*;
    Some(match s {
        "bool" => Bool,
        "u8" => U8,
        "u16" => U16,
        "u32" => U32,
        "u64" => U64,
        "u128" => U128,
        "i8" => I8,
        "i16" => I16,
        "i32" => I32,
        "i64" => I64,
        "i128" => I128,
        "f32" => F32,
        "f64" => F64,
        "u256" => U256,
        "i256" => I256,
        "string" => String,
        "bytes" => Bytes,
        "pubkey" | "publicKey" => Pubkey,
        _ => return None,
    })
}

/// Short JSON text of a value for messages (strings unquoted, long values cut).
pub(super) fn show(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

pub(super) fn unsupported(v: &Value, location: &str) -> IdlError {
    IdlError::UnsupportedType {
        ty: show(v),
        location: location.to_string(),
    }
}

pub(super) fn invalid(location: &str, message: impl Into<String>) -> IdlError {
    IdlError::InvalidShape {
        location: location.to_string(),
        message: message.into(),
    }
}

/// Parses one type use, e.g. `"u64"`, `{"option": "pubkey"}`, `{"array": ["u8", 32]}`.
pub(crate) fn parse_type(v: &Value, location: &str) -> Result<IdlType, IdlError> {
    let (key, inner) = match v {
        Value::String(s) => {
            return primitive(s)
                .map(IdlType::Primitive)
                .ok_or_else(|| unsupported(v, location))
        }
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some(entry) => entry,
            None => return Err(unsupported(v, location)),
        },
        _ => return Err(unsupported(v, location)),
    };
    let boxed = |inner: &Value| parse_type(inner, location).map(Box::new);
    match key.as_str() {
        "option" => Ok(IdlType::Option(boxed(inner)?)),
        "coption" => Ok(IdlType::COption(boxed(inner)?)),
        "vec" => Ok(IdlType::Vec(boxed(inner)?)),
        "array" => parse_array(inner, location),
        "defined" => parse_defined(inner, location),
        "generic" => match inner {
            Value::String(name) => Ok(IdlType::Generic(name.clone())),
            _ => Err(invalid(location, "`generic` must name a parameter")),
        },
        _ => Err(unsupported(v, location)),
    }
}

/// `[T, 32]` or `[T, {"generic": "N"}]`.
fn parse_array(v: &Value, location: &str) -> Result<IdlType, IdlError> {
    let [elem, len] = v.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err(invalid(
            location,
            "`array` must be `[element type, length]`",
        ));
    };
    let elem = Box::new(parse_type(elem, location)?);
    if let Some(n) = len.as_u64() {
        let n = usize::try_from(n).map_err(|_| invalid(location, "array length too large"))?;
        return Ok(IdlType::Array(elem, n));
    }
    match len.get("generic").and_then(Value::as_str) {
        Some(name) => Ok(IdlType::GenericArray(elem, name.to_string())),
        None => Err(invalid(
            location,
            format!(
                "array length `{}` is neither a number nor `{{\"generic\": …}}`",
                show(len)
            ),
        )),
    }
}

/// `"Name"` (legacy) or `{"name": "Name", "generics": [...]}` (Anchor 0.30).
fn parse_defined(v: &Value, location: &str) -> Result<IdlType, IdlError> {
    let (name, generics) = match v {
        Value::String(name) => (name.clone(), Vec::new()),
        Value::Object(map) => {
            let Some(Value::String(name)) = map.get("name") else {
                return Err(invalid(
                    location,
                    "`defined` object without a `name` string",
                ));
            };
            let generics = match map.get("generics") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(args)) => args
                    .iter()
                    .map(|a| parse_generic_arg(a, location))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(invalid(location, "`generics` of `defined` must be a list")),
            };
            (name.clone(), generics)
        }
        _ => {
            return Err(invalid(
                location,
                "`defined` must be a name or `{\"name\": …}`",
            ))
        }
    };
    Ok(IdlType::Defined { name, generics })
}

/// `{"kind": "type", "type": T}` or `{"kind": "const", "value": "32"}`.
fn parse_generic_arg(v: &Value, location: &str) -> Result<IdlGenericArg, IdlError> {
    match v.get("kind").and_then(Value::as_str) {
        Some("type") => match v.get("type") {
            Some(ty) => Ok(IdlGenericArg::Type(parse_type(ty, location)?)),
            None => Err(invalid(location, "generic type argument without `type`")),
        },
        Some("const") => match v.get("value") {
            Some(Value::String(s)) => Ok(IdlGenericArg::Const(s.clone())),
            Some(Value::Number(n)) => Ok(IdlGenericArg::Const(n.to_string())),
            _ => Err(invalid(
                location,
                "generic const argument without a `value`",
            )),
        },
        _ => Err(invalid(
            location,
            format!(
                "generic argument `{}` has no kind `type` or `const`",
                show(v)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(v: Value) -> Result<IdlType, IdlError> {
        parse_type(&v, "here")
    }

    #[test]
    fn primitives_and_containers() {
        assert_eq!(
            ty(json!("publicKey")),
            Ok(IdlType::Primitive(IdlPrimitive::Pubkey))
        );
        assert_eq!(
            ty(json!("pubkey")),
            Ok(IdlType::Primitive(IdlPrimitive::Pubkey))
        );
        let u8t = Box::new(IdlType::Primitive(IdlPrimitive::U8));
        assert_eq!(
            ty(json!({"array": ["u8", 32]})),
            Ok(IdlType::Array(u8t.clone(), 32))
        );
        assert_eq!(
            ty(json!({"array": ["u8", {"generic": "N"}]})),
            Ok(IdlType::GenericArray(u8t.clone(), "N".into()))
        );
        assert_eq!(
            ty(json!({"coption": "u8"})),
            Ok(IdlType::COption(u8t.clone()))
        );
        assert_eq!(
            ty(json!({"vec": {"option": "u8"}})),
            Ok(IdlType::Vec(Box::new(IdlType::Option(u8t))))
        );
        assert_eq!(
            ty(json!({"generic": "T"})),
            Ok(IdlType::Generic("T".into()))
        );
    }

    #[test]
    fn defined_both_shapes() {
        let plain = IdlType::Defined {
            name: "Foo".into(),
            generics: vec![],
        };
        assert_eq!(ty(json!({"defined": "Foo"})), Ok(plain.clone()));
        assert_eq!(ty(json!({"defined": {"name": "Foo"}})), Ok(plain));
        let g = ty(json!({"defined": {"name": "Foo", "generics": [
            {"kind": "type", "type": "u16"}, {"kind": "const", "value": "4"}]}}));
        let expected = IdlType::Defined {
            name: "Foo".into(),
            generics: vec![
                IdlGenericArg::Type(IdlType::Primitive(IdlPrimitive::U16)),
                IdlGenericArg::Const("4".into()),
            ],
        };
        assert_eq!(g, Ok(expected));
    }

    #[test]
    fn unsupported_types_name_their_location() {
        let e = ty(json!("u512")).unwrap_err();
        assert_eq!(e.to_string(), "unsupported type `u512` in here");
        assert!(matches!(
            ty(json!({"hashMap": ["u8", "u8"]})),
            Err(IdlError::UnsupportedType { .. })
        ));
        assert!(matches!(
            ty(json!(42)),
            Err(IdlError::UnsupportedType { .. })
        ));
        assert!(matches!(
            ty(json!({"array": ["u8"]})),
            Err(IdlError::InvalidShape { .. })
        ));
        assert!(matches!(
            ty(json!({"array": ["u8", -1]})),
            Err(IdlError::InvalidShape { .. })
        ));
        assert!(matches!(
            ty(json!({"defined": 3})),
            Err(IdlError::InvalidShape { .. })
        ));
        let long = "x".repeat(500);
        let IdlError::UnsupportedType { ty: shown, .. } = ty(json!(long)).unwrap_err() else {
            panic!()
        };
        assert!(shown.len() < 100);
    }
}
