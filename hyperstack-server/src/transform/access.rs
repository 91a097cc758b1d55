//! Reading values out of a decoded item: accessors compiled from value paths, and the
//! context of the item being applied.

use std::borrow::Cow;

use crate::decode::Value;
use crate::source::{Pubkey, Signature};
use crate::spec::idl::Layout;

/// How a value is read from a decoded item.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    Whole,
    Address,
    Slot,
    Signature,
    /// Struct field indices (through `Option`s, which give null when empty).
    Path(Vec<usize>),
    Role(usize),
}

/// A value accessor and the layout of what it yields.
#[derive(Debug, Clone)]
pub(crate) struct Accessor {
    pub access: Access,
    pub layout: Layout,
}

/// Whether an instruction (`program`, `instruction` index) named the account being applied,
/// in its transaction (or slot).
pub(crate) type Touched<'a> = &'a dyn Fn(usize, usize) -> bool;

/// The decoded item a binding reads from.
pub(crate) struct ItemCtx<'a> {
    pub value: &'a Value,
    pub address: Option<&'a Pubkey>,
    pub roles: &'a [Option<Pubkey>],
    pub slot: u64,
    pub signature: Option<&'a Signature>,
    /// Account writes: which instructions named the account (for `when`).
    pub touched: Option<Touched<'a>>,
}

impl Accessor {
    /// The value, `None` for null (an empty `Option` on the way, an absent role).
    pub fn get<'a>(&self, ctx: &ItemCtx<'a>) -> Option<Cow<'a, Value>> {
        match &self.access {
            Access::Whole => Some(Cow::Borrowed(ctx.value)),
            Access::Address => ctx.address.map(|a| Cow::Owned(Value::Pubkey(*a))),
            Access::Slot => Some(Cow::Owned(Value::U64(ctx.slot))),
            Access::Signature => ctx
                .signature
                .map(|s| Cow::Owned(Value::String(s.to_base58()))),
            Access::Role(i) => ctx
                .roles
                .get(*i)
                .copied()
                .flatten()
                .map(|k| Cow::Owned(Value::Pubkey(k))),
            Access::Path(path) => {
                let mut v = ctx.value;
                for &i in path {
                    while let Value::Option(inner) = v {
                        v = inner.as_deref()?;
                    }
                    v = v.child(i)?;
                }
                match v {
                    Value::Option(None) => None,
                    v => Some(Cow::Borrowed(v)),
                }
            }
        }
    }
}
