//! Type definition bodies (struct fields, enum variants, aliases), generic parameter
//! declarations and `{name, type}` lists.

use serde::Deserialize;
use serde_json::Value;

use super::ty::{invalid, parse_type, show};
use crate::idl::error::IdlError;
use crate::idl::model::{IdlEnumVariant, IdlField, IdlFields, IdlGenericParam, IdlTypeDefBody};

/// The `type` object of a type definition (or of a legacy inline account).
#[derive(Debug, Deserialize)]
#[serde(expecting = "a type body `{\"kind\": \"struct\" | \"enum\" | \"type\", …}`")]
pub(crate) struct RawTypeBody {
    kind: String,
    #[serde(default)]
    fields: Option<Value>,
    #[serde(default)]
    variants: Option<Vec<RawVariant>>,
    #[serde(default)]
    alias: Option<Value>,
}

/// One enum variant: `{"name": "A", "fields": [...]}`.
#[derive(Debug, Deserialize)]
struct RawVariant {
    name: String,
    #[serde(default)]
    fields: Option<Value>,
}

/// A declared generic parameter: `{"kind": "type", "name": "T"}` or
/// `{"kind": "const", "name": "N", "type": "usize"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawGenericParam {
    kind: String,
    name: String,
    #[serde(default, rename = "type")]
    ty: Option<String>,
}

impl RawGenericParam {
    /// Normalizes the parameter; `location` names the type declaring it.
    pub(crate) fn normalize(&self, location: &str) -> Result<IdlGenericParam, IdlError> {
        match self.kind.as_str() {
            "type" => Ok(IdlGenericParam::Type {
                name: self.name.clone(),
            }),
            "const" => Ok(IdlGenericParam::Const {
                name: self.name.clone(),
                ty: self.ty.clone().unwrap_or_else(|| "usize".to_string()),
            }),
            other => Err(IdlError::InvalidShape {
                location: format!("{location} generic parameter `{}`", self.name),
                message: format!("kind `{other}` is neither `type` nor `const`"),
            }),
        }
    }
}

/// Parses the `fields` of a struct or variant: absent → unit, `[{name, type}]` → named,
/// `[type, …]` → tuple.
pub(crate) fn parse_fields(v: Option<&Value>, prefix: &str) -> Result<IdlFields, IdlError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(IdlFields::Unit),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(prefix, "`fields` must be a list")),
    };
    let is_named = |f: &Value| f.get("name").is_some() && f.get("type").is_some();
    if items.iter().all(is_named) {
        let fields = items.iter().map(|f| {
            let name = f.get("name").and_then(Value::as_str).ok_or_else(|| {
                invalid(prefix, format!("field name `{}` is not a string", show(f)))
            })?;
            let ty = f.get("type").unwrap_or(&Value::Null);
            let ty = parse_type(ty, &format!("{prefix} field `{name}`"))?;
            Ok(IdlField {
                name: name.to_string(),
                ty,
            })
        });
        return fields.collect::<Result<_, _>>().map(IdlFields::Named);
    }
    if items.iter().any(is_named) {
        return Err(invalid(
            prefix,
            "`fields` mixes named and positional fields",
        ));
    }
    let types = items.iter().enumerate();
    let types = types.map(|(i, t)| parse_type(t, &format!("{prefix} field {i}")));
    types.collect::<Result<_, _>>().map(IdlFields::Tuple)
}

/// A named, typed entry: an instruction argument or a legacy event field.
#[derive(Debug, Deserialize)]
pub(crate) struct RawField {
    name: String,
    #[serde(rename = "type")]
    ty: Value,
}

/// Parses a list of `{name, type}`; locations read ``{prefix} {what} `{name}` ``.
pub(crate) fn parse_named(
    fields: &[RawField],
    prefix: &str,
    what: &str,
) -> Result<Vec<IdlField>, IdlError> {
    let parse = |f: &RawField| {
        let ty = parse_type(&f.ty, &format!("{prefix} {what} `{}`", f.name))?;
        Ok(IdlField {
            name: f.name.clone(),
            ty,
        })
    };
    fields.iter().map(parse).collect()
}

impl RawTypeBody {
    /// Normalizes a struct, enum or alias body; `prefix` is e.g. ``type `Pool` ``.
    pub(crate) fn normalize(&self, prefix: &str) -> Result<IdlTypeDefBody, IdlError> {
        match self.kind.as_str() {
            "struct" => Ok(IdlTypeDefBody::Struct(parse_fields(
                self.fields.as_ref(),
                prefix,
            )?)),
            "enum" => {
                let variants = self
                    .variants
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|v| {
                        let at = format!("{prefix} variant `{}`", v.name);
                        let fields = parse_fields(v.fields.as_ref(), &at)?;
                        Ok(IdlEnumVariant {
                            name: v.name.clone(),
                            fields,
                        })
                    });
                Ok(IdlTypeDefBody::Enum(variants.collect::<Result<_, _>>()?))
            }
            "type" => match &self.alias {
                Some(alias) => Ok(IdlTypeDefBody::Alias(parse_type(
                    alias,
                    &format!("{prefix} alias"),
                )?)),
                None => Err(invalid(prefix, "type alias without `alias`")),
            },
            other => Err(invalid(
                prefix,
                format!("kind `{other}` is not `struct`, `enum` or `type`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idl::error::IdlError;
    use serde_json::json;

    #[test]
    fn fields_named_tuple_unit_mixed() {
        assert_eq!(parse_fields(None, "t"), Ok(IdlFields::Unit));
        let named = parse_fields(Some(&json!([{"name": "a", "type": "u8"}])), "t").unwrap();
        assert!(matches!(named, IdlFields::Named(ref f) if f.len() == 1));
        let tuple = parse_fields(Some(&json!(["u8", {"vec": "u8"}])), "t").unwrap();
        assert!(matches!(tuple, IdlFields::Tuple(ref f) if f.len() == 2));
        let mixed = parse_fields(Some(&json!([{"name": "a", "type": "u8"}, "u8"])), "t");
        assert!(matches!(mixed, Err(IdlError::InvalidShape { .. })));
        let e = parse_fields(
            Some(&json!([{"name": "fees", "type": "Foo"}])),
            "account `Pool`",
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "unsupported type `Foo` in account `Pool` field `fees`"
        );
    }
}
