//! The binary encoding of an entity's transform state (`states` keyspace).
//!
//! A record starts with [`TAG`], then the entity key, the fields and the stopped fields; a
//! record starting with [`TAG_APPLIED`] (store format 3) ends with the `(slot, write version)`
//! last applied of the entity's own account (`transform/versions.rs`).
//! Numbers are varints, decoded values are written item by item, and what is JSON anyway
//! (append lists, merged objects, resolved values) is kept as JSON text. Records written by
//! format 1 stores are JSON objects (they start with `{`, never [`TAG`]) and are still read.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::Value as Json;

use super::state::{EntityState, FieldState};
use crate::decode::Value;
use crate::source::Pubkey;
use crate::spec::expr::Value as ExprValue;
use crate::store::binary::{Reader, Writer};
use crate::store::StoreError;

/// First byte of a binary state record (a JSON record starts with `{`).
pub(crate) const TAG: u8 = 0xB1;

/// First byte of a binary state record that ends with its account's applied version.
pub(crate) const TAG_APPLIED: u8 = 0xB2;

/// How deep values may nest in a record (decoded values nest as deep as their IDL types).
const MAX_DEPTH: usize = 64;

/// Encodes `state`.
pub(crate) fn encode(state: &EntityState) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + state.key.len() + 12 * state.fields.len());
    let mut w = Writer(&mut out);
    w.u8(if state.applied.is_some() {
        TAG_APPLIED
    } else {
        TAG
    });
    w.bytes(state.key.as_bytes());
    w.len(state.fields.len());
    for f in &state.fields {
        field(&mut w, f);
    }
    w.len(state.stopped.len());
    for &i in &state.stopped {
        w.len(i);
    }
    if let Some((slot, write_version)) = state.applied {
        w.uvar(u128::from(slot));
        w.uvar(u128::from(write_version));
    }
    out
}

/// Decodes a record written by [`encode`].
pub(crate) fn decode(bytes: &[u8]) -> Result<EntityState, StoreError> {
    let mut r = Reader::new(bytes, "states");
    let tag = r.u8()?;
    if tag != TAG && tag != TAG_APPLIED {
        return Err(r.corrupt("not a state record"));
    }
    let key: Arc<str> = Arc::from(r.str()?);
    let n = r.len()?;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        fields.push(read_field(&mut r)?);
    }
    let n = r.len()?;
    let mut stopped = Vec::with_capacity(n);
    for _ in 0..n {
        let i = r.u64()?;
        stopped.push(usize::try_from(i).map_err(|_| r.corrupt("field index out of range"))?);
    }
    let applied = if tag == TAG_APPLIED {
        Some((r.u64()?, r.u64()?))
    } else {
        None
    };
    r.finish()?;
    Ok(EntityState {
        key,
        fields,
        stopped,
        applied,
    })
}

fn field(w: &mut Writer<'_>, f: &FieldState) {
    match f {
        FieldState::Unset => w.u8(0),
        FieldState::Value(v) => {
            w.u8(1);
            value(w, v);
        }
        FieldState::Int(i) => {
            w.u8(2);
            w.ivar(*i);
        }
        FieldState::Float(x) => {
            w.u8(3);
            w.f64(*x);
        }
        FieldState::List(items) => {
            w.u8(4);
            w.len(items.len());
            for item in items {
                w.json(item);
            }
        }
        FieldState::Distinct(seen) => {
            w.u8(5);
            w.len(seen.len());
            for s in seen {
                w.bytes(s.as_bytes());
            }
        }
        FieldState::Object(map) => {
            w.u8(6);
            w.json(map);
        }
        FieldState::Computed(v) => {
            w.u8(7);
            expr(w, v);
        }
        FieldState::Resolved { input, value } => {
            w.u8(8);
            match input {
                None => w.u8(0),
                Some(s) => {
                    w.u8(1);
                    w.bytes(s.as_bytes());
                }
            }
            match value {
                None => w.u8(0),
                Some(v) => {
                    w.u8(1);
                    w.json(v);
                }
            }
        }
    }
}

fn read_field(r: &mut Reader<'_>) -> Result<FieldState, StoreError> {
    Ok(match r.u8()? {
        0 => FieldState::Unset,
        1 => FieldState::Value(read_value(r, 0)?),
        2 => FieldState::Int(r.ivar()?),
        3 => FieldState::Float(r.f64()?),
        4 => {
            let n = r.len()?;
            let mut items = VecDeque::with_capacity(n);
            for _ in 0..n {
                items.push_back(r.json_value()?);
            }
            FieldState::List(items)
        }
        5 => {
            let n = r.len()?;
            let mut seen = BTreeSet::new();
            for _ in 0..n {
                seen.insert(r.str()?.to_owned());
            }
            FieldState::Distinct(seen)
        }
        6 => FieldState::Object(r.json()?),
        7 => FieldState::Computed(read_expr(r, 0)?),
        8 => {
            let input = match r.u8()? {
                0 => None,
                1 => Some(Box::from(r.str()?)),
                t => return Err(r.corrupt(format!("resolved input tag {t}"))),
            };
            let value = match r.u8()? {
                0 => None,
                1 => Some(r.json_value()?),
                t => return Err(r.corrupt(format!("resolved value tag {t}"))),
            };
            FieldState::Resolved { input, value }
        }
        t => return Err(r.corrupt(format!("field tag {t}"))),
    })
}

fn values(w: &mut Writer<'_>, items: &[Value]) {
    w.len(items.len());
    for v in items {
        value(w, v);
    }
}

fn value(w: &mut Writer<'_>, v: &Value) {
    match v {
        Value::Bool(b) => {
            w.u8(0);
            w.u8(u8::from(*b));
        }
        Value::U64(n) => {
            w.u8(1);
            w.uvar(u128::from(*n));
        }
        Value::I64(n) => {
            w.u8(2);
            w.ivar(i128::from(*n));
        }
        Value::U128(n) => {
            w.u8(3);
            w.uvar(*n);
        }
        Value::I128(n) => {
            w.u8(4);
            w.ivar(*n);
        }
        Value::F64(x) => {
            w.u8(5);
            w.f64(*x);
        }
        Value::Wide(bytes, signed) => {
            w.u8(6);
            w.raw(bytes);
            w.u8(u8::from(*signed));
        }
        Value::String(s) => {
            w.u8(7);
            w.bytes(s.as_bytes());
        }
        Value::Bytes(b) => {
            w.u8(8);
            w.bytes(b);
        }
        Value::Pubkey(p) => {
            w.u8(9);
            w.raw(&p.0);
        }
        Value::Option(None) => w.u8(10),
        Value::Option(Some(inner)) => {
            w.u8(11);
            value(w, inner);
        }
        Value::List(items) => {
            w.u8(12);
            values(w, items);
        }
        Value::Struct(items) => {
            w.u8(13);
            values(w, items);
        }
        Value::Enum(variant, items) => {
            w.u8(14);
            w.uvar(u128::from(*variant));
            values(w, items);
        }
    }
}

fn read_bool(r: &mut Reader<'_>) -> Result<bool, StoreError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(r.corrupt(format!("boolean {b}"))),
    }
}

fn read_values(r: &mut Reader<'_>, depth: usize) -> Result<Vec<Value>, StoreError> {
    let n = r.len()?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(read_value(r, depth + 1)?);
    }
    Ok(items)
}

fn read_value(r: &mut Reader<'_>, depth: usize) -> Result<Value, StoreError> {
    if depth > MAX_DEPTH {
        return Err(r.corrupt("values nested too deep"));
    }
    Ok(match r.u8()? {
        0 => Value::Bool(read_bool(r)?),
        1 => Value::U64(r.u64()?),
        2 => {
            let n = r.ivar()?;
            Value::I64(i64::try_from(n).map_err(|_| r.corrupt("i64 out of range"))?)
        }
        3 => Value::U128(r.uvar()?),
        4 => Value::I128(r.ivar()?),
        5 => Value::F64(r.f64()?),
        6 => {
            let bytes = r.array::<32>()?;
            Value::Wide(bytes, read_bool(r)?)
        }
        7 => Value::String(r.str()?.to_owned()),
        8 => Value::Bytes(r.bytes()?.to_vec()),
        9 => Value::Pubkey(Pubkey(r.array()?)),
        10 => Value::Option(None),
        11 => Value::Option(Some(Box::new(read_value(r, depth + 1)?))),
        12 => Value::List(read_values(r, depth)?),
        13 => Value::Struct(read_values(r, depth)?),
        14 => {
            let variant = u32::try_from(r.uvar()?).map_err(|_| r.corrupt("enum variant"))?;
            Value::Enum(variant, read_values(r, depth)?)
        }
        t => return Err(r.corrupt(format!("value tag {t}"))),
    })
}

fn expr(w: &mut Writer<'_>, v: &ExprValue) {
    match v {
        ExprValue::Null => w.u8(0),
        ExprValue::Bool(b) => {
            w.u8(1);
            w.u8(u8::from(*b));
        }
        ExprValue::Int(i) => {
            w.u8(2);
            w.ivar(*i);
        }
        ExprValue::Float(x) => {
            w.u8(3);
            w.f64(*x);
        }
        ExprValue::Str(s) => {
            w.u8(4);
            w.bytes(s.as_bytes());
        }
        ExprValue::List(items) => {
            w.u8(5);
            w.len(items.len());
            for v in items {
                expr(w, v);
            }
        }
        ExprValue::Opaque(j) => {
            w.u8(6);
            w.json(j);
        }
    }
}

fn read_expr(r: &mut Reader<'_>, depth: usize) -> Result<ExprValue, StoreError> {
    if depth > MAX_DEPTH {
        return Err(r.corrupt("values nested too deep"));
    }
    Ok(match r.u8()? {
        0 => ExprValue::Null,
        1 => ExprValue::Bool(read_bool(r)?),
        2 => ExprValue::Int(r.ivar()?),
        3 => ExprValue::Float(r.f64()?),
        4 => ExprValue::Str(r.str()?.to_owned()),
        5 => {
            let n = r.len()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(read_expr(r, depth + 1)?);
            }
            ExprValue::List(items)
        }
        6 => ExprValue::Opaque(r.json::<Json>()?),
        t => return Err(r.corrupt(format!("expression value tag {t}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn every_kind() -> EntityState {
        let nested = Value::Struct(vec![
            Value::Bool(true),
            Value::U64(u64::MAX),
            Value::I64(i64::MIN),
            Value::U128(u128::MAX),
            Value::I128(i128::MIN),
            Value::F64(f64::NAN),
            Value::Wide([7; 32], true),
            Value::String("é ✓".into()),
            Value::Bytes(vec![0, 255]),
            Value::Pubkey(Pubkey([9; 32])),
            Value::Option(None),
            Value::Option(Some(Box::new(Value::U64(3)))),
            Value::List(vec![Value::I64(-5)]),
            Value::Enum(u32::MAX, vec![Value::Bool(false)]),
        ]);
        let Json::Object(obj) = json!({"a": {"b": [1, null]}}) else {
            unreachable!()
        };
        EntityState {
            key: Arc::from("8xKey"),
            fields: vec![
                FieldState::Unset,
                FieldState::Value(nested),
                FieldState::Int(-(1 << 100)),
                FieldState::Float(f64::INFINITY),
                FieldState::List(VecDeque::from(vec![json!({"t": 1}), json!("x")])),
                FieldState::Distinct(BTreeSet::from(["1".to_string(), "\"b\"".to_string()])),
                FieldState::Object(obj),
                FieldState::Computed(ExprValue::List(vec![
                    ExprValue::Null,
                    ExprValue::Bool(true),
                    ExprValue::Int(-3),
                    ExprValue::Float(0.5),
                    ExprValue::Str("s".into()),
                    ExprValue::Opaque(json!({"o": 1})),
                ])),
                FieldState::Resolved {
                    input: Some("mint".into()),
                    value: Some(json!({"decimals": 6})),
                },
                FieldState::Resolved {
                    input: None,
                    value: None,
                },
            ],
            stopped: vec![0, 300],
            applied: Some((u64::MAX, 1 << 40)),
        }
    }

    /// Equality that treats NaN as equal to itself (the derived one does not).
    fn same(a: &EntityState, b: &EntityState) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn every_kind_of_field_round_trips() {
        let state = every_kind();
        let back = decode(&encode(&state)).unwrap();
        assert!(same(&state, &back), "{state:?}\n{back:?}");
        let empty = EntityState::new(Arc::from(""), 0);
        assert!(same(&empty, &decode(&encode(&empty)).unwrap()));
    }

    #[test]
    fn a_state_without_an_applied_version_is_written_as_format_2_wrote_it() {
        let mut state = every_kind();
        let with = encode(&state);
        assert_eq!(with[0], TAG_APPLIED);
        state.applied = None;
        let without = encode(&state);
        // Format 2's records: the same bytes, minus the tag's difference and the version.
        assert_eq!(without[0], TAG);
        assert_eq!(without[1..], with[1..without.len()]);
        assert_eq!(decode(&without).unwrap().applied, None);
        assert_eq!(decode(&with).unwrap().applied, Some((u64::MAX, 1 << 40)));
    }

    #[test]
    fn a_truncated_or_corrupt_record_is_a_typed_error() {
        let bytes = encode(&every_kind());
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut]) {
                Err(StoreError::Corrupt { keyspace, .. }) => assert_eq!(keyspace, "states"),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err(), "trailing bytes");
        // Every single-byte corruption either fails with a typed error or decodes to some
        // state; it never panics.
        for i in 0..bytes.len() {
            for b in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] = b;
                let _ = decode(&bad);
            }
        }
        // Nesting beyond the limit (a corrupt record could claim any depth).
        let mut deep = vec![TAG, 0, 1, 1];
        deep.extend(std::iter::repeat_n(11, 10_000));
        deep.push(10);
        deep.push(0);
        assert!(matches!(decode(&deep), Err(StoreError::Corrupt { .. })));
    }
}
