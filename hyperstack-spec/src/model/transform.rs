//! Per-field value transforms (`transform = "ui_amount(9)"`) and the layouts they produce.

use serde::{Deserialize, Serialize};

use crate::idl::{IdlPrimitive, Layout, LayoutFields};

/// A conversion applied to each value of a mapped field before its strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// An integer amount of base units as a float of whole units: `raw / 10^decimals`.
    UiAmount {
        /// Decimal places of the unit (SOL 9, ORE 11).
        decimals: u32,
    },
    /// Bytes (`bytes`, `[u8; N]`, `Vec<u8>`) or a pubkey as a base58 string.
    Base58,
    /// Bytes or a pubkey as a lower-case hex string.
    Hex,
    /// A number, bool, pubkey or string as a string (decimal for numbers).
    ToString,
    /// A decimal string as a number (f64; null when it does not parse); numbers unchanged.
    ToNumber,
    /// Transforms of fields of a struct value, by path.
    Fields {
        /// The transformed fields.
        fields: Vec<FieldTransform>,
    },
}

/// One field of a struct value and its transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldTransform {
    /// The field's path inside the struct (`["rewards_factor", "bits"]`).
    pub path: Vec<String>,
    /// Its transform (never [`Transform::Fields`]).
    pub transform: Transform,
}

/// Largest `ui_amount` decimals: 10^38 still fits the float conversion of a u128.
pub const MAX_DECIMALS: u32 = 38;

impl Transform {
    /// Parses one transform as written: `ui_amount(11)`, `base58`, `hex`, `to_string`,
    /// `to_number`.
    pub fn parse(text: &str) -> Result<Transform, String> {
        let text = text.trim();
        let known = "`ui_amount(<decimals>)`, `base58`, `hex`, `to_string` or `to_number`";
        if let Some(arg) = text
            .strip_prefix("ui_amount")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('('))
            .and_then(|rest| rest.strip_suffix(')'))
        {
            return match arg.trim().parse::<u32>() {
                Ok(decimals) if decimals <= MAX_DECIMALS => Ok(Transform::UiAmount { decimals }),
                _ if is_number(arg) => Err(format!(
                    "`ui_amount` takes a number of decimals from 0 to {MAX_DECIMALS}, not `{}`",
                    arg.trim()
                )),
                _ => Err(format!(
                    "`ui_amount({})`: decimals from the entity apply only to a whole field (`transform = \"ui_amount({})\"`); inside a table of field transforms, write a number of decimals from 0 to {MAX_DECIMALS}",
                    arg.trim(),
                    arg.trim()
                )),
            };
        }
        match text {
            "base58" => Ok(Transform::Base58),
            "hex" => Ok(Transform::Hex),
            "to_string" => Ok(Transform::ToString),
            "to_number" => Ok(Transform::ToNumber),
            "ui_amount" => Err("`ui_amount` needs its decimals: `ui_amount(9)`".to_string()),
            other => Err(format!("unknown transform `{other}` (expected {known})")),
        }
    }

    /// The name as written (`ui_amount(9)`), for messages.
    pub fn describe(&self) -> String {
        match self {
            Transform::UiAmount { decimals } => format!("ui_amount({decimals})"),
            Transform::Base58 => "base58".into(),
            Transform::Hex => "hex".into(),
            Transform::ToString => "to_string".into(),
            Transform::ToNumber => "to_number".into(),
            Transform::Fields { .. } => "field transforms".into(),
        }
    }

    /// The layout of the transformed value, or why the transform cannot apply to `input`.
    /// Structs changed by [`Transform::Fields`] are renamed `name` (nested ones
    /// `<name>_<field>`), since they no longer match the IDL type.
    pub fn output(&self, input: &Layout, name: &str) -> Result<Layout, String> {
        use IdlPrimitive::*;
        if let Layout::Option(inner) | Layout::COption(inner) = input {
            return Ok(Layout::Option(Box::new(self.output(inner, name)?)));
        }
        let cannot = |what: &str| {
            Err(format!(
                "`{}` applies to {what}, not {}",
                self.describe(),
                crate::validate::describe_layout(input)
            ))
        };
        match self {
            Transform::UiAmount { .. } => match input {
                Layout::Primitive(U8 | U16 | U32 | U64 | U128 | I8 | I16 | I32 | I64 | I128) => {
                    Ok(Layout::Primitive(F64))
                }
                _ => cannot("integers up to 128 bits"),
            },
            Transform::Base58 | Transform::Hex => {
                if is_bytes(input) || *input == Layout::Primitive(Pubkey) {
                    Ok(Layout::Primitive(String))
                } else {
                    cannot("bytes (`bytes`, `[u8; N]`, `Vec<u8>`) and pubkeys")
                }
            }
            Transform::ToString => match input {
                Layout::Primitive(Bytes) => cannot("numbers, bools, pubkeys and strings"),
                Layout::Primitive(_) => Ok(Layout::Primitive(String)),
                _ => cannot("numbers, bools, pubkeys and strings"),
            },
            Transform::ToNumber => match input {
                Layout::Primitive(String) => Ok(Layout::Primitive(F64)),
                Layout::Primitive(
                    U8 | U16 | U32 | U64 | U128 | I8 | I16 | I32 | I64 | I128 | F32 | F64,
                ) => Ok(input.clone()),
                _ => cannot("strings and numbers"),
            },
            Transform::Fields { fields } => {
                let mut out = input.clone();
                for f in fields {
                    out = transform_at(&out, &f.path, &f.transform, name)?;
                }
                Ok(out)
            }
        }
    }
}

/// Whether a transform argument is written as a (possibly negative) integer.
pub(crate) fn is_number(arg: &str) -> bool {
    let digits = arg.trim().trim_start_matches('-');
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// `bytes`, `[u8; N]` or `Vec<u8>`.
pub(crate) fn is_bytes(ty: &Layout) -> bool {
    match ty {
        Layout::Primitive(IdlPrimitive::Bytes) => true,
        Layout::Array(item, _) | Layout::Vec(item) => **item == Layout::Primitive(IdlPrimitive::U8),
        _ => false,
    }
}

/// `layout` with the value at `path` transformed; the structs on the way are renamed.
fn transform_at(
    layout: &Layout,
    path: &[String],
    transform: &Transform,
    name: &str,
) -> Result<Layout, String> {
    let Some((head, rest)) = path.split_first() else {
        return transform.output(layout, name);
    };
    match layout {
        Layout::Option(inner) | Layout::COption(inner) => Ok(Layout::Option(Box::new(
            transform_at(inner, path, transform, name)?,
        ))),
        Layout::Struct {
            fields: LayoutFields::Named(fields),
            ..
        } => {
            let Some(i) = fields.iter().position(|(n, _)| n == head) else {
                let known: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                return Err(format!(
                    "no field `{head}` to transform (fields: {})",
                    known.join(", ")
                ));
            };
            let mut fields = fields.clone();
            let inner_name = format!("{name}_{head}");
            fields[i].1 = transform_at(&fields[i].1, rest, transform, &inner_name)?;
            Ok(Layout::Struct {
                name: name.to_string(),
                fields: LayoutFields::Named(fields),
            })
        }
        other => Err(format!(
            "cannot take field `{head}` of {}",
            crate::validate::describe_layout(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prim(p: IdlPrimitive) -> Layout {
        Layout::Primitive(p)
    }

    #[test]
    fn parses_every_transform() {
        assert_eq!(
            Transform::parse(" ui_amount( 11 ) "),
            Ok(Transform::UiAmount { decimals: 11 })
        );
        assert_eq!(Transform::parse("base58"), Ok(Transform::Base58));
        assert_eq!(Transform::parse("hex"), Ok(Transform::Hex));
        assert_eq!(Transform::parse("to_string"), Ok(Transform::ToString));
        assert_eq!(Transform::parse("to_number"), Ok(Transform::ToNumber));
        assert!(Transform::parse("ui_amount")
            .unwrap_err()
            .contains("decimals"));
        assert!(Transform::parse("ui_amount(x)")
            .unwrap_err()
            .contains("apply only to a whole field"));
        assert!(Transform::parse("ui_amount(-1)")
            .unwrap_err()
            .contains("0 to 38"));
        assert!(Transform::parse("ui_amount(39)").is_err());
        assert!(Transform::parse("b58")
            .unwrap_err()
            .contains("unknown transform `b58`"));
    }

    #[test]
    fn output_layouts() {
        use IdlPrimitive::*;
        let ui = Transform::UiAmount { decimals: 9 };
        assert_eq!(ui.output(&prim(U64), "X"), Ok(prim(F64)));
        assert_eq!(
            ui.output(&Layout::Option(Box::new(prim(U64))), "X"),
            Ok(Layout::Option(Box::new(prim(F64))))
        );
        assert!(ui
            .output(&prim(String), "X")
            .unwrap_err()
            .contains("not string"));
        let bytes32 = Layout::Array(Box::new(prim(U8)), 32);
        assert_eq!(Transform::Base58.output(&bytes32, "X"), Ok(prim(String)));
        assert_eq!(Transform::Hex.output(&prim(Bytes), "X"), Ok(prim(String)));
        assert!(Transform::Hex
            .output(&Layout::Array(Box::new(prim(U64)), 25), "X")
            .is_err());
        assert_eq!(
            Transform::ToString.output(&prim(Pubkey), "X"),
            Ok(prim(String))
        );
        assert_eq!(
            Transform::ToNumber.output(&prim(String), "X"),
            Ok(prim(F64))
        );
        assert_eq!(Transform::ToNumber.output(&prim(U64), "X"), Ok(prim(U64)));

        let numeric = Layout::Struct {
            name: "Numeric".into(),
            fields: LayoutFields::Named(vec![(
                "bits".into(),
                Layout::Array(Box::new(prim(U8)), 16),
            )]),
        };
        let treasury = Layout::Struct {
            name: "Treasury".into(),
            fields: LayoutFields::Named(vec![
                ("balance".into(), prim(U64)),
                ("factor".into(), numeric),
            ]),
        };
        let t = Transform::Fields {
            fields: vec![
                FieldTransform {
                    path: vec!["balance".into()],
                    transform: ui,
                },
                FieldTransform {
                    path: vec!["factor".into(), "bits".into()],
                    transform: Transform::Hex,
                },
            ],
        };
        let out = t.output(&treasury, "TSnapshot").unwrap();
        let expected = Layout::Struct {
            name: "TSnapshot".into(),
            fields: LayoutFields::Named(vec![
                ("balance".into(), prim(F64)),
                (
                    "factor".into(),
                    Layout::Struct {
                        name: "TSnapshot_factor".into(),
                        fields: LayoutFields::Named(vec![("bits".into(), prim(String))]),
                    },
                ),
            ]),
        };
        assert_eq!(out, expected);
        let missing = Transform::Fields {
            fields: vec![FieldTransform {
                path: vec!["nope".into()],
                transform: Transform::Hex,
            }],
        };
        assert!(missing
            .output(&treasury, "T")
            .unwrap_err()
            .contains("no field `nope` to transform (fields: balance, factor)"));
    }
}
