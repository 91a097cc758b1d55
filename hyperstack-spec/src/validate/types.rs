//! Type rules: which layouts strategies, keys, sorts and expressions accept.

use crate::expr::ExprType;
use crate::idl::{IdlPrimitive, Layout};

/// Integer or float primitive.
pub(crate) fn is_numeric(ty: &Layout) -> bool {
    matches!(ty, Layout::Primitive(p) if numeric_kind(*p).is_some())
}

#[derive(Clone, Copy, PartialEq)]
enum NumKind {
    Unsigned,
    Signed,
    Float,
}

fn numeric_kind(p: IdlPrimitive) -> Option<NumKind> {
    use IdlPrimitive::*;
    match p {
        U8 | U16 | U32 | U64 | U128 | U256 => Some(NumKind::Unsigned),
        I8 | I16 | I32 | I64 | I128 | I256 => Some(NumKind::Signed),
        F32 | F64 => Some(NumKind::Float),
        _ => None,
    }
}

/// The type a sum of values of `ty` is kept in: unsigned → u64 (u128 when 128-bit),
/// signed → i64 (i128 when 128-bit), floats → f64.
pub(crate) fn sum_type(ty: &Layout) -> Layout {
    use IdlPrimitive::*;
    match ty {
        Layout::Primitive(p @ (U128 | U256 | I128 | I256)) => Layout::Primitive(*p),
        Layout::Primitive(p) => match numeric_kind(*p) {
            Some(NumKind::Unsigned) => Layout::Primitive(U64),
            Some(NumKind::Signed) => Layout::Primitive(I64),
            Some(NumKind::Float) => Layout::Primitive(F64),
            None => ty.clone(),
        },
        _ => ty.clone(),
    }
}

/// Values that can identify an entity: pubkeys, strings and integers.
pub(crate) fn is_key_type(ty: &Layout) -> bool {
    use IdlPrimitive::*;
    matches!(
        ty,
        Layout::Primitive(
            Pubkey | String | U8 | U16 | U32 | U64 | U128 | I8 | I16 | I32 | I64 | I128
        )
    )
}

/// Values a derived view can sort by: numbers, booleans, strings and pubkeys.
pub(crate) fn is_sortable(ty: &Layout) -> bool {
    use IdlPrimitive::*;
    matches!(ty, Layout::Primitive(p) if !matches!(p, Bytes | U256 | I256))
}

/// How the expression language sees a field of this layout.
pub(crate) fn expr_type(ty: &Layout) -> ExprType {
    use IdlPrimitive::*;
    match ty {
        Layout::Primitive(Bool) => ExprType::Bool,
        Layout::Primitive(String | Pubkey) => ExprType::String,
        Layout::Primitive(F32 | F64) => ExprType::Float,
        Layout::Primitive(Bytes) => ExprType::List(Box::new(ExprType::Int)),
        Layout::Primitive(U256 | I256) => ExprType::Any,
        Layout::Primitive(_) => ExprType::Int,
        Layout::Option(inner) | Layout::COption(inner) => expr_type(inner),
        Layout::Vec(inner) | Layout::Array(inner, _) => ExprType::List(Box::new(expr_type(inner))),
        _ => ExprType::Any,
    }
}

/// The layout of a computed field of this expression type, if it can be stored.
pub(crate) fn computed_layout(ty: &ExprType) -> Option<Layout> {
    match ty {
        ExprType::List(item) => computed_layout(item).map(|l| Layout::Vec(Box::new(l))),
        ExprType::Bool => Some(Layout::Primitive(IdlPrimitive::Bool)),
        ExprType::Int => Some(Layout::Primitive(IdlPrimitive::I128)),
        ExprType::Float => Some(Layout::Primitive(IdlPrimitive::F64)),
        ExprType::String => Some(Layout::Primitive(IdlPrimitive::String)),
        ExprType::Null | ExprType::Any => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdlPrimitive::*;

    #[test]
    fn sums_widen() {
        assert_eq!(sum_type(&Layout::Primitive(U8)), Layout::Primitive(U64));
        assert_eq!(sum_type(&Layout::Primitive(I32)), Layout::Primitive(I64));
        assert_eq!(sum_type(&Layout::Primitive(U128)), Layout::Primitive(U128));
        assert_eq!(sum_type(&Layout::Primitive(F32)), Layout::Primitive(F64));
    }

    #[test]
    fn sortable_and_key_types() {
        assert!(is_sortable(&Layout::Primitive(U64)));
        assert!(is_sortable(&Layout::Primitive(Pubkey)));
        assert!(is_sortable(&Layout::Primitive(Bool)));
        assert!(!is_sortable(&Layout::Primitive(Bytes)));
        assert!(!is_sortable(&Layout::Vec(Box::new(Layout::Primitive(U8)))));
        assert!(is_key_type(&Layout::Primitive(Pubkey)));
        assert!(!is_key_type(&Layout::Primitive(F64)));
        assert!(!is_key_type(&Layout::Primitive(Bool)));
    }
}
