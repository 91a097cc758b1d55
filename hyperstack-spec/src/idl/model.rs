//! The normalized IDL model: one shape for Anchor 0.30+, legacy Anchor and steel IDLs.
//!
//! Every account and event refers to a named [`IdlTypeDef`] in [`Idl::types`], whatever the
//! source format (legacy IDLs declare them inline; the loader moves them into `types`).

use serde::{Deserialize, Serialize};

/// The format an IDL file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdlFormat {
    /// Anchor 0.30+ (`address`, `metadata.spec`, explicit `discriminator` arrays).
    Anchor,
    /// Anchor before 0.30: discriminators derived from sha256 of the item's name.
    AnchorLegacy,
    /// Steel-generated (`metadata.origin = "steel"`): explicit discriminators, one-byte
    /// instruction discriminants, bytemuck (C layout) data.
    Steel,
}

/// How a type's bytes are laid out on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Serialization {
    /// Borsh: little-endian, no padding, length-prefixed strings and vectors.
    #[default]
    Borsh,
    /// Zero-copy `#[repr(C)]` memory layout (bytemuck): fields aligned, padding included.
    Bytemuck,
    /// Zero-copy `#[repr(C, packed)]`-style layout without padding.
    BytemuckPacked,
}

/// A whole program interface, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Idl {
    /// Program name (from `metadata.name`, or the legacy top-level `name`).
    pub name: String,
    /// Program address, when the IDL declares one.
    pub address: Option<String>,
    /// Which format the file was in.
    pub format: IdlFormat,
    /// Account types, each with its discriminator and the name of its type definition.
    pub accounts: Vec<IdlAccount>,
    /// Instructions with their discriminator, account roles and arguments.
    pub instructions: Vec<IdlInstruction>,
    /// Events, each with its discriminator and the name of its type definition.
    pub events: Vec<IdlEvent>,
    /// Every named type: the `types` section plus types that were declared inline.
    pub types: Vec<IdlTypeDef>,
}

/// An account type of the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdlAccount {
    /// Account type name, e.g. `BondingCurve`.
    pub name: String,
    /// Bytes the account data starts with.
    pub discriminator: Vec<u8>,
    /// Name of the [`IdlTypeDef`] describing the data after the discriminator.
    pub type_name: String,
}

/// An event the program emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdlEvent {
    /// Event name, e.g. `TradeEvent`.
    pub name: String,
    /// Bytes the encoded event starts with.
    pub discriminator: Vec<u8>,
    /// Name of the [`IdlTypeDef`] describing the event's fields.
    pub type_name: String,
}

/// An instruction of the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdlInstruction {
    /// Instruction name as the IDL spells it (`buy`, `claimSol`).
    pub name: String,
    /// Bytes the instruction data starts with (8 for Anchor, 1 for steel).
    pub discriminator: Vec<u8>,
    /// Account roles in order; nested account groups are flattened, their names joined by `.`.
    pub accounts: Vec<IdlInstructionAccount>,
    /// Arguments after the discriminator, in order.
    pub args: Vec<IdlField>,
}

/// One account role of an instruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdlInstructionAccount {
    /// Role name, e.g. `bonding_curve`.
    pub name: String,
    /// Whether the instruction writes to it.
    pub writable: bool,
    /// Whether it must sign.
    pub signer: bool,
    /// Whether it may be omitted.
    pub optional: bool,
    /// A fixed address, when the IDL declares one.
    pub address: Option<String>,
}

/// A named field (struct field, instruction argument, event field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdlField {
    /// Field name as the IDL spells it.
    pub name: String,
    /// Field type.
    pub ty: IdlType,
}

/// A named type definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdlTypeDef {
    /// Type name.
    pub name: String,
    /// Generic parameters, in order (empty for most types).
    pub generics: Vec<IdlGenericParam>,
    /// Struct, enum or alias body.
    pub body: IdlTypeDefBody,
    /// On-chain byte layout.
    pub serialization: Serialization,
}

/// A generic parameter of a type definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdlGenericParam {
    /// A type parameter: `struct Foo<T>`.
    Type {
        /// Parameter name.
        name: String,
    },
    /// A const parameter: `struct Foo<const N: usize>`.
    Const {
        /// Parameter name.
        name: String,
        /// Declared type of the constant, e.g. `usize`.
        ty: String,
    },
}

/// The body of a type definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdlTypeDefBody {
    /// A struct.
    Struct(IdlFields),
    /// An enum; variants may carry data.
    Enum(Vec<IdlEnumVariant>),
    /// A type alias.
    Alias(IdlType),
}

/// Fields of a struct or enum variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdlFields {
    /// No fields.
    Unit,
    /// Named fields.
    Named(Vec<IdlField>),
    /// Positional fields.
    Tuple(Vec<IdlType>),
}

/// One enum variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdlEnumVariant {
    /// Variant name.
    pub name: String,
    /// Data the variant carries.
    pub fields: IdlFields,
}

/// A primitive (non-composite) IDL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdlPrimitive {
    /// `bool`
    Bool,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `u128`
    U128,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `i128`
    I128,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `u256` (32 bytes, little-endian)
    U256,
    /// `i256` (32 bytes, little-endian)
    I256,
    /// `string`: u32 length + UTF-8 bytes.
    String,
    /// `bytes`: u32 length + bytes.
    Bytes,
    /// `pubkey` / `publicKey`: 32 bytes.
    Pubkey,
}

/// A use of a type: in a field, an argument, a generic argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdlType {
    /// A primitive.
    Primitive(IdlPrimitive),
    /// `Option<T>`: one tag byte, then `T` when the tag is 1.
    Option(Box<IdlType>),
    /// `COption<T>`: four tag bytes, then `T` (always present in zero-copy layouts).
    COption(Box<IdlType>),
    /// `Vec<T>`: u32 length, then the elements.
    Vec(Box<IdlType>),
    /// `[T; N]` with a literal length.
    Array(Box<IdlType>, usize),
    /// `[T; N]` whose length is a const generic parameter of the enclosing type.
    GenericArray(Box<IdlType>, String),
    /// A named type from [`Idl::types`], with generic arguments when it has parameters.
    Defined {
        /// Type name.
        name: String,
        /// Generic arguments, in parameter order.
        generics: Vec<IdlGenericArg>,
    },
    /// A type parameter of the enclosing type definition.
    Generic(String),
}

/// An argument for a generic parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdlGenericArg {
    /// A type argument.
    Type(IdlType),
    /// A const argument (its literal value, e.g. `"32"`).
    Const(String),
}
