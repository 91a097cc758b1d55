//! Field transforms (`transform = "ui_amount(9)"`, …) compiled against a source layout and
//! applied to decoded values.

use crate::decode::Value;
use crate::spec::idl::{Layout, LayoutFields};
use crate::spec::Transform;

/// A compiled transform: struct paths resolved to field positions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Conv {
    /// Divide by this power of ten, as a float.
    UiAmount(f64),
    Base58,
    Hex,
    ToString,
    ToNumber,
    /// Field positions (through `Option`s) and their conversions.
    Fields(Vec<(Vec<usize>, Conv)>),
}

impl Conv {
    /// Compiles `t` for values of `layout`; `Err` names what does not resolve (validation
    /// already refused such specs, so this only guards hand-built models).
    pub fn compile(t: &Transform, layout: &Layout) -> Result<Conv, String> {
        Ok(match t {
            Transform::UiAmount { decimals } => {
                Conv::UiAmount(10f64.powi(i32::try_from(*decimals).unwrap_or(i32::MAX)))
            }
            Transform::Base58 => Conv::Base58,
            Transform::Hex => Conv::Hex,
            Transform::ToString => Conv::ToString,
            Transform::ToNumber => Conv::ToNumber,
            Transform::Fields { fields } => {
                let mut out = Vec::with_capacity(fields.len());
                for f in fields {
                    let mut current = layout;
                    let mut indices = Vec::with_capacity(f.path.len());
                    for part in &f.path {
                        while let Layout::Option(inner) | Layout::COption(inner) = current {
                            current = inner;
                        }
                        let Layout::Struct {
                            fields: LayoutFields::Named(named),
                            ..
                        } = current
                        else {
                            return Err(format!("`{part}` is not a field of a struct"));
                        };
                        let i = named
                            .iter()
                            .position(|(n, _)| n == part)
                            .ok_or_else(|| format!("no field `{part}`"))?;
                        indices.push(i);
                        current = &named[i].1;
                    }
                    out.push((indices, Conv::compile(&f.transform, current)?));
                }
                Conv::Fields(out)
            }
        })
    }

    /// The converted value; `None` (null) when the value does not fit the conversion (a
    /// string `to_number` cannot parse, a list item that is not a byte).
    pub fn apply(&self, value: Value) -> Option<Value> {
        match (self, value) {
            (_, Value::Option(None)) => None,
            (Conv::Fields(fields), mut v) => {
                for (path, conv) in fields {
                    convert_at(&mut v, path, conv);
                }
                Some(v)
            }
            (conv, Value::Option(Some(inner))) => conv.apply(*inner),
            (Conv::UiAmount(divisor), v) => v.as_f64().map(|x| Value::F64(x / divisor)),
            (Conv::Base58, v) => bytes_of(&v).map(|b| Value::String(bs58::encode(b).into_string())),
            (Conv::Hex, v) => bytes_of(&v).map(|b| Value::String(hex(&b))),
            (Conv::ToString, v) => to_string(&v).map(Value::String),
            (Conv::ToNumber, Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Value::F64),
            (Conv::ToNumber, v) => Some(v),
        }
    }
}

/// Converts the value at `path` in place (a missing or null value stays as it is).
fn convert_at(v: &mut Value, path: &[usize], conv: &Conv) {
    let Some((first, rest)) = path.split_first() else {
        let taken = std::mem::replace(v, Value::Option(None));
        *v = conv.apply(taken).unwrap_or(Value::Option(None));
        return;
    };
    match v {
        Value::Option(Some(inner)) => convert_at(inner, path, conv),
        Value::Struct(fields) => {
            if let Some(field) = fields.get_mut(*first) {
                convert_at(field, rest, conv);
            }
        }
        _ => {}
    }
}

/// The bytes of `bytes`, a list of byte-sized integers, or a pubkey.
fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Bytes(b) => Some(b.clone()),
        Value::Pubkey(p) => Some(p.0.to_vec()),
        Value::List(items) => items
            .iter()
            .map(|i| i.as_i128().and_then(|x| u8::try_from(x).ok()))
            .collect(),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn to_string(v: &Value) -> Option<String> {
    Some(match v {
        Value::Bool(b) => b.to_string(),
        Value::U64(u) => u.to_string(),
        Value::I64(i) => i.to_string(),
        Value::U128(u) => u.to_string(),
        Value::I128(i) => i.to_string(),
        Value::F64(x) => x.to_string(),
        Value::String(s) => s.clone(),
        Value::Pubkey(p) => p.to_base58(),
        Value::Wide(..) => match v.to_json(None) {
            serde_json::Value::String(s) => s,
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Pubkey;
    use crate::spec::idl::IdlPrimitive;
    use crate::spec::FieldTransform;

    fn conv(t: Transform) -> Conv {
        Conv::compile(&t, &Layout::Primitive(IdlPrimitive::U64)).unwrap()
    }

    #[test]
    fn each_transform() {
        let ui = conv(Transform::UiAmount { decimals: 9 });
        assert_eq!(ui.apply(Value::U64(1_500_000_000)), Some(Value::F64(1.5)));
        assert_eq!(ui.apply(Value::I64(-2_000_000_000)), Some(Value::F64(-2.0)));
        assert_eq!(ui.apply(Value::Option(None)), None);
        assert_eq!(
            ui.apply(Value::Option(Some(Box::new(Value::U64(1_000_000_000))))),
            Some(Value::F64(1.0))
        );
        let bytes = Value::List((0u64..4).map(Value::U64).collect());
        assert_eq!(
            conv(Transform::Hex).apply(bytes.clone()),
            Some(Value::String("00010203".into()))
        );
        assert_eq!(
            conv(Transform::Base58).apply(Value::List(vec![Value::U64(0); 32])),
            Some(Value::String("11111111111111111111111111111111".into()))
        );
        assert_eq!(
            conv(Transform::Base58).apply(Value::Pubkey(Pubkey([0; 32]))),
            Some(Value::String("11111111111111111111111111111111".into()))
        );
        assert_eq!(
            conv(Transform::Hex).apply(Value::List(vec![Value::U64(256)])),
            None,
            "not a byte"
        );
        assert_eq!(
            conv(Transform::ToString).apply(Value::U64(42)),
            Some(Value::String("42".into()))
        );
        assert_eq!(
            conv(Transform::ToNumber).apply(Value::String(" 2.5 ".into())),
            Some(Value::F64(2.5))
        );
        assert_eq!(
            conv(Transform::ToNumber).apply(Value::String("x".into())),
            None
        );
        assert_eq!(
            conv(Transform::ToNumber).apply(Value::U64(3)),
            Some(Value::U64(3))
        );
    }

    #[test]
    fn field_transforms_reach_into_structs() {
        let inner = Layout::Struct {
            name: "Numeric".into(),
            fields: LayoutFields::Named(vec![(
                "bits".into(),
                Layout::Array(Box::new(Layout::Primitive(IdlPrimitive::U8)), 2),
            )]),
        };
        let layout = Layout::Struct {
            name: "T".into(),
            fields: LayoutFields::Named(vec![
                ("balance".into(), Layout::Primitive(IdlPrimitive::U64)),
                ("factor".into(), Layout::Option(Box::new(inner))),
            ]),
        };
        let t = Transform::Fields {
            fields: vec![
                FieldTransform {
                    path: vec!["balance".into()],
                    transform: Transform::UiAmount { decimals: 2 },
                },
                FieldTransform {
                    path: vec!["factor".into(), "bits".into()],
                    transform: Transform::Hex,
                },
            ],
        };
        let c = Conv::compile(&t, &layout).unwrap();
        let v = Value::Struct(vec![
            Value::U64(250),
            Value::Option(Some(Box::new(Value::Struct(vec![Value::List(vec![
                Value::U64(1),
                Value::U64(255),
            ])])))),
        ]);
        let out = c.apply(v).unwrap();
        assert_eq!(
            out,
            Value::Struct(vec![
                Value::F64(2.5),
                Value::Option(Some(Box::new(Value::Struct(vec![Value::String(
                    "01ff".into()
                )])))),
            ])
        );
        assert!(Conv::compile(
            &Transform::Fields {
                fields: vec![FieldTransform {
                    path: vec!["nope".into()],
                    transform: Transform::Hex
                }]
            },
            &layout
        )
        .is_err());
    }
}
