//! The JSON shapes of Anchor 0.30+, legacy Anchor and steel IDLs, and their normalization into
//! [`Idl`].
//!
//! One lenient set of serde structs reads all three formats (every format-specific key is
//! optional); [`RawIdl::normalize`] then detects the format and fills in what the format leaves
//! implicit:
//!
//! * **discriminators** — explicit arrays are kept; legacy Anchor ones are derived as the first
//!   8 bytes of `sha256("account:<Name>")`, `sha256("event:<Name>")` and
//!   `sha256("global:<snake_case_name>")`; steel instruction `discriminant`s are encoded
//!   little-endian in the width of their integer type (`u8` → 1 byte);
//! * **inline types** — legacy and steel accounts / events declare their type inline; it is moved
//!   into [`Idl::types`] under the account's or event's name;
//! * **serialization** — Anchor 0.30 `serialization` + `repr.packed` are mapped to
//!   [`Serialization`]; every steel type (the `types` section included) is
//!   [`Serialization::Bytemuck`], since steel accounts and events are `#[repr(C)]` `Pod` structs
//!   read with bytemuck.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::IdlError;
use super::model::{
    Idl, IdlAccount, IdlEvent, IdlFields, IdlFormat, IdlTypeDef, IdlTypeDefBody, Serialization,
};
use body::{parse_named, RawField, RawGenericParam, RawTypeBody};
use instruction::RawInstruction;

mod body;
mod instruction;
mod ty;

/// Parses IDL JSON text into the normalized model (no cross-reference checks).
pub(crate) fn parse(text: &str) -> Result<Idl, IdlError> {
    let raw: RawIdl = serde_json::from_str(text).map_err(|e| IdlError::json(&e))?;
    raw.normalize()
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "an IDL object")]
struct RawIdl {
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    metadata: Option<RawMetadata>,
    #[serde(default)]
    instructions: Vec<RawInstruction>,
    #[serde(default)]
    accounts: Vec<RawAccount>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    types: Vec<RawTypeDef>,
}

#[derive(Debug, Default, Deserialize)]
struct RawMetadata {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    spec: Option<Value>,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawAccount {
    name: String,
    #[serde(default)]
    discriminator: Option<Vec<u8>>,
    #[serde(default, rename = "type")]
    ty: Option<RawTypeBody>,
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    name: String,
    #[serde(default)]
    discriminator: Option<Vec<u8>>,
    #[serde(default)]
    fields: Option<Vec<RawField>>,
    #[serde(default, rename = "type")]
    ty: Option<RawTypeBody>,
}

#[derive(Debug, Deserialize)]
struct RawTypeDef {
    name: String,
    #[serde(default)]
    generics: Vec<RawGenericParam>,
    #[serde(rename = "type")]
    ty: RawTypeBody,
    #[serde(default)]
    serialization: Option<Value>,
    #[serde(default)]
    repr: Option<RawRepr>,
}

#[derive(Debug, Deserialize)]
struct RawRepr {
    #[serde(default)]
    packed: bool,
}

/// First 8 bytes of `sha256(preimage)`: Anchor's discriminator derivation.
pub(crate) fn sighash(preimage: &str) -> Vec<u8> {
    Sha256::digest(preimage.as_bytes())[..8].to_vec()
}

impl RawIdl {
    /// Steel if `metadata.origin == "steel"`; Anchor when `metadata.spec` or any explicit
    /// `discriminator` is present; legacy Anchor otherwise.
    fn format(&self) -> IdlFormat {
        let meta = self.metadata.as_ref();
        if meta.and_then(|m| m.origin.as_deref()) == Some("steel") {
            return IdlFormat::Steel;
        }
        let explicit = self.accounts.iter().any(|a| a.discriminator.is_some())
            || self
                .instructions
                .iter()
                .any(RawInstruction::has_discriminator)
            || self.events.iter().any(|e| e.discriminator.is_some());
        if explicit || meta.is_some_and(|m| m.spec.is_some()) {
            IdlFormat::Anchor
        } else {
            IdlFormat::AnchorLegacy
        }
    }

    fn normalize(self) -> Result<Idl, IdlError> {
        let format = self.format();
        let meta = self.metadata.unwrap_or_default();
        let name = meta
            .name
            .or(self.name)
            .ok_or_else(|| IdlError::InvalidShape {
                location: "IDL".into(),
                message: "no program name (`metadata.name` or `name`)".into(),
            })?;
        let default_ser = match format {
            IdlFormat::Steel => Serialization::Bytemuck,
            IdlFormat::Anchor | IdlFormat::AnchorLegacy => Serialization::Borsh,
        };
        let mut types = Vec::with_capacity(self.types.len() + self.accounts.len());
        for def in &self.types {
            types.push(def.normalize(default_ser)?);
        }
        let mut accounts = Vec::with_capacity(self.accounts.len());
        for acc in &self.accounts {
            let at = format!("account `{}`", acc.name);
            if let Some(body) = &acc.ty {
                add_inline(
                    &mut types,
                    &acc.name,
                    body.normalize(&at)?,
                    default_ser,
                    &at,
                )?;
            }
            let discriminator =
                explicit_or(acc.discriminator.as_deref(), format, "account", &acc.name)?;
            let type_name = acc.name.clone();
            accounts.push(IdlAccount {
                name: acc.name.clone(),
                discriminator,
                type_name,
            });
        }
        let mut events = Vec::with_capacity(self.events.len());
        for ev in &self.events {
            let at = format!("event `{}`", ev.name);
            let body = match (&ev.ty, &ev.fields) {
                (Some(body), _) => Some(body.normalize(&at)?),
                (None, Some(fields)) => Some(IdlTypeDefBody::Struct(IdlFields::Named(
                    parse_named(fields, &at, "field")?,
                ))),
                (None, None) => None,
            };
            if let Some(body) = body {
                add_inline(&mut types, &ev.name, body, default_ser, &at)?;
            }
            let discriminator =
                explicit_or(ev.discriminator.as_deref(), format, "event", &ev.name)?;
            events.push(IdlEvent {
                name: ev.name.clone(),
                discriminator,
                type_name: ev.name.clone(),
            });
        }
        let instructions = self.instructions.iter().map(|ix| ix.normalize(format));
        Ok(Idl {
            name,
            address: self.address.or(meta.address),
            format,
            accounts,
            instructions: instructions.collect::<Result<_, _>>()?,
            events,
            types,
        })
    }
}

/// The explicit discriminator, or the legacy Anchor `sha256("<kind>:<Name>")` one.
fn explicit_or(
    explicit: Option<&[u8]>,
    format: IdlFormat,
    kind: &str,
    name: &str,
) -> Result<Vec<u8>, IdlError> {
    match explicit {
        Some([]) => Err(IdlError::InvalidShape {
            location: format!("{kind} `{name}`"),
            message: "empty discriminator".into(),
        }),
        Some(d) => Ok(d.to_vec()),
        None if format == IdlFormat::Steel => Err(IdlError::MissingDiscriminator {
            kind: kind.into(),
            name: name.into(),
        }),
        None => Ok(sighash(&format!("{kind}:{name}"))),
    }
}

/// Adds an inline account / event type to `types`, unless an identical one is already there.
fn add_inline(
    types: &mut Vec<IdlTypeDef>,
    name: &str,
    body: IdlTypeDefBody,
    serialization: Serialization,
    location: &str,
) -> Result<(), IdlError> {
    match types.iter().find(|t| t.name == name) {
        Some(existing) if existing.body == body && existing.generics.is_empty() => Ok(()),
        Some(_) => Err(IdlError::ConflictingType {
            name: name.into(),
            location: format!("{location} declares a different type of the same name"),
        }),
        None => {
            let generics = Vec::new();
            types.push(IdlTypeDef {
                name: name.into(),
                generics,
                body,
                serialization,
            });
            Ok(())
        }
    }
}

impl RawTypeDef {
    fn normalize(&self, default_ser: Serialization) -> Result<IdlTypeDef, IdlError> {
        let at = format!("type `{}`", self.name);
        let generics = self.generics.iter().map(|g| g.normalize(&at));
        // Anything but bytemuck (borsh, custom, absent) is decoded as borsh.
        let serialization = match self.serialization.as_ref().and_then(Value::as_str) {
            Some("bytemuck" | "bytemuckunsafe") if self.repr.as_ref().is_some_and(|r| r.packed) => {
                Serialization::BytemuckPacked
            }
            Some("bytemuck" | "bytemuckunsafe") => Serialization::Bytemuck,
            Some(_) => Serialization::Borsh,
            None => default_ser,
        };
        Ok(IdlTypeDef {
            name: self.name.clone(),
            generics: generics.collect::<Result<_, _>>()?,
            body: self.ty.normalize(&at)?,
            serialization,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Discriminators copied from the real pump.fun IDL, which Anchor derived by name.
    #[test]
    fn sighash_matches_anchor() {
        assert_eq!(
            sighash("account:BondingCurve"),
            [23, 183, 248, 55, 96, 216, 172, 96]
        );
        assert_eq!(sighash("global:buy"), [102, 6, 61, 18, 1, 218, 235, 234]);
        assert_eq!(
            sighash("event:TradeEvent"),
            [189, 219, 127, 211, 78, 230, 97, 238]
        );
    }

    #[test]
    fn legacy_discriminators_are_derived() {
        let idl = parse(
            r#"{"name": "pump", "version": "0.1.0",
                "instructions": [{"name": "buy", "accounts": [], "args": []},
                                 {"name": "setParams", "accounts": [], "args": []}],
                "accounts": [{"name": "BondingCurve", "type": {"kind": "struct", "fields": []}}],
                "events": [{"name": "TradeEvent", "fields": [{"name": "sol", "type": "u64", "index": false}]}]}"#,
        )
        .unwrap();
        assert_eq!(idl.format, IdlFormat::AnchorLegacy);
        assert_eq!(
            idl.accounts[0].discriminator,
            [23, 183, 248, 55, 96, 216, 172, 96]
        );
        assert_eq!(
            idl.instructions[0].discriminator,
            [102, 6, 61, 18, 1, 218, 235, 234]
        );
        assert_eq!(
            idl.instructions[1].discriminator,
            sighash("global:set_params")
        );
        assert_eq!(
            idl.events[0].discriminator,
            [189, 219, 127, 211, 78, 230, 97, 238]
        );
        assert_eq!(
            idl.types.len(),
            2,
            "inline account and event types moved into `types`"
        );
    }

    #[test]
    fn steel_requires_explicit_discriminators() {
        let text = r#"{"name": "s", "metadata": {"origin": "steel"},
            "accounts": [{"name": "A", "type": {"kind": "struct", "fields": []}}]}"#;
        let err = parse(text).unwrap_err();
        assert_eq!(err.to_string(), "account `A` has no discriminator");
        let text = r#"{"name": "s", "metadata": {"origin": "steel"},
            "instructions": [{"name": "go", "accounts": [], "args": []}]}"#;
        assert!(matches!(
            parse(text),
            Err(IdlError::MissingDiscriminator { .. })
        ));
    }

    #[test]
    fn inline_type_conflicting_with_types_section_is_an_error() {
        let text = r#"{"name": "p",
            "accounts": [{"name": "A", "type": {"kind": "struct", "fields": [{"name": "x", "type": "u8"}]}}],
            "types": [{"name": "A", "type": {"kind": "struct", "fields": [{"name": "x", "type": "u16"}]}}]}"#;
        let err = parse(text).unwrap_err();
        assert!(
            matches!(err, IdlError::ConflictingType { ref name, .. } if name == "A"),
            "{err}"
        );
        let same = text.replace("u16", "u8");
        assert_eq!(parse(&same).map(|idl| idl.types.len()), Ok(1));
    }

    #[test]
    fn serialization_mapping() {
        let text = r#"{"address": "P", "metadata": {"name": "p", "spec": "0.1.0"}, "types": [
            {"name": "A", "serialization": "bytemuck", "repr": {"kind": "c"}, "type": {"kind": "struct"}},
            {"name": "B", "serialization": "bytemuckunsafe", "repr": {"kind": "c", "packed": true}, "type": {"kind": "struct"}},
            {"name": "C", "repr": {"kind": "rust"}, "type": {"kind": "enum", "variants": [{"name": "X"}]}},
            {"name": "D", "serialization": {"custom": "x"}, "type": {"kind": "type", "alias": "u8"}}]}"#;
        let sers: Vec<_> = parse(text)
            .unwrap()
            .types
            .iter()
            .map(|t| t.serialization)
            .collect();
        use Serialization::*;
        assert_eq!(sers, [Bytemuck, BytemuckPacked, Borsh, Borsh]);
    }

    #[test]
    fn missing_program_name() {
        assert!(matches!(parse("{}"), Err(IdlError::InvalidShape { .. })));
    }
}
