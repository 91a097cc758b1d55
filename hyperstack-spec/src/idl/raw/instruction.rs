//! Instructions: discriminators (explicit, steel `discriminant`, or derived from the name),
//! account roles with nested groups flattened, and arguments.

use serde::Deserialize;

use super::body::{parse_named, RawField};
use super::{explicit_or, sighash};
use crate::idl::error::IdlError;
use crate::idl::model::{IdlFormat, IdlInstruction, IdlInstructionAccount};
use crate::idl::resolve::snake_case;

#[derive(Debug, Deserialize)]
pub(super) struct RawInstruction {
    name: String,
    #[serde(default)]
    discriminator: Option<Vec<u8>>,
    #[serde(default)]
    discriminant: Option<RawDiscriminant>,
    #[serde(default)]
    accounts: Vec<RawIxAccount>,
    #[serde(default)]
    args: Vec<RawField>,
}

/// Steel's `{"type": "u8", "value": 3}`.
#[derive(Debug, Deserialize)]
struct RawDiscriminant {
    #[serde(rename = "type")]
    ty: String,
    value: u64,
}

/// An instruction account, or a group `{name, accounts: [...]}` of them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIxAccount {
    name: String,
    #[serde(default)]
    accounts: Option<Vec<RawIxAccount>>,
    #[serde(default)]
    writable: bool,
    #[serde(default)]
    is_mut: bool,
    #[serde(default)]
    signer: bool,
    #[serde(default)]
    is_signer: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    is_optional: bool,
    #[serde(default)]
    address: Option<String>,
}

impl RawInstruction {
    /// Whether the instruction carries an explicit Anchor 0.30 `discriminator`.
    pub(super) fn has_discriminator(&self) -> bool {
        self.discriminator.is_some()
    }

    /// Normalizes the instruction; derives its discriminator when the format allows.
    pub(super) fn normalize(&self, format: IdlFormat) -> Result<IdlInstruction, IdlError> {
        let at = format!("instruction `{}`", self.name);
        let discriminator = match (self.discriminator.as_deref(), &self.discriminant) {
            (Some(d), _) => explicit_or(Some(d), format, "instruction", &self.name)?,
            (None, Some(d)) => d.encode(&at)?,
            (None, None) if format == IdlFormat::Steel => {
                return Err(IdlError::MissingDiscriminator {
                    kind: "instruction".into(),
                    name: self.name.clone(),
                })
            }
            (None, None) => sighash(&format!("global:{}", snake_case(&self.name))),
        };
        let mut accounts = Vec::with_capacity(self.accounts.len());
        flatten(&self.accounts, "", &mut accounts);
        let args = parse_named(&self.args, &at, "arg")?;
        Ok(IdlInstruction {
            name: self.name.clone(),
            discriminator,
            accounts,
            args,
        })
    }
}

/// Flattens nested account groups, joining group and member names with `.`.
fn flatten(items: &[RawIxAccount], prefix: &str, out: &mut Vec<IdlInstructionAccount>) {
    for item in items {
        let name = if prefix.is_empty() {
            item.name.clone()
        } else {
            format!("{prefix}.{}", item.name)
        };
        match &item.accounts {
            Some(group) => flatten(group, &name, out),
            None => out.push(IdlInstructionAccount {
                name,
                writable: item.writable || item.is_mut,
                signer: item.signer || item.is_signer,
                optional: item.optional || item.is_optional,
                address: item.address.clone(),
            }),
        }
    }
}

impl RawDiscriminant {
    /// The value little-endian in the width of its integer type.
    fn encode(&self, location: &str) -> Result<Vec<u8>, IdlError> {
        let width = match self.ty.as_str() {
            "u8" => 1,
            "u16" => 2,
            "u32" => 4,
            "u64" => 8,
            other => {
                return Err(IdlError::UnsupportedType {
                    ty: other.into(),
                    location: format!("{location} discriminant"),
                })
            }
        };
        let bytes = self.value.to_le_bytes();
        let (kept, rest) = bytes.split_at(width);
        if rest.iter().any(|&b| b != 0) {
            return Err(IdlError::InvalidShape {
                location: format!("{location} discriminant"),
                message: format!("value {} does not fit in {}", self.value, self.ty),
            });
        }
        Ok(kept.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idl::raw::parse;

    #[test]
    fn steel_discriminants_are_little_endian() {
        let d = |ty: &str, value| {
            RawDiscriminant {
                ty: ty.into(),
                value,
            }
            .encode("ix")
        };
        assert_eq!(d("u8", 7), Ok(vec![7]));
        assert_eq!(d("u16", 0x0102), Ok(vec![2, 1]));
        assert_eq!(d("u32", 1), Ok(vec![1, 0, 0, 0]));
        assert_eq!(d("u64", 1).map(|v| v.len()), Ok(8));
        assert!(matches!(d("u8", 256), Err(IdlError::InvalidShape { .. })));
        assert!(matches!(d("i8", 1), Err(IdlError::UnsupportedType { .. })));
    }

    #[test]
    fn nested_account_groups_are_flattened() {
        let idl = parse(
            r#"{"address": "P", "metadata": {"name": "p", "spec": "0.1.0"},
                "instructions": [{"name": "swap", "discriminator": [1], "args": [],
                  "accounts": [
                    {"name": "user", "signer": true},
                    {"name": "pool", "accounts": [
                        {"name": "state", "writable": true},
                        {"name": "vaults", "accounts": [{"name": "a", "optional": true, "address": "X"}]}]},
                    {"name": "legacy", "isMut": true, "isSigner": true, "isOptional": true}]}]}"#,
        )
        .unwrap();
        let accounts = &idl.instructions[0].accounts;
        let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["user", "pool.state", "pool.vaults.a", "legacy"]);
        assert!(accounts[0].signer && !accounts[0].writable);
        assert!(accounts[1].writable && !accounts[1].signer);
        assert!(accounts[2].optional && accounts[2].address.as_deref() == Some("X"));
        assert!(accounts[3].writable && accounts[3].signer && accounts[3].optional);
    }
}
