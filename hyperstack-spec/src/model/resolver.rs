//! Resolvers: fields filled from outside the chain (`resolve = "token_metadata"`), keyed by a
//! value of the entity (the resolver's `input`).

use serde::{Deserialize, Serialize};

use crate::idl::{IdlPrimitive, Layout, LayoutFields};

/// What a resolver field is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolver {
    /// Token metadata of a mint (name, symbol, decimals, image URI), from a DAS-compatible
    /// JSON-RPC endpoint's `getAsset`. Input: the mint's base58 address.
    TokenMetadata,
}

/// The name of the struct a `token_metadata` field is generated as.
pub const TOKEN_METADATA_TYPE: &str = "TokenMetadata";

impl Resolver {
    /// Every resolver, in documentation order.
    pub const ALL: [Resolver; 1] = [Resolver::TokenMetadata];

    /// The name written in spec files.
    pub fn name(self) -> &'static str {
        match self {
            Resolver::TokenMetadata => "token_metadata",
        }
    }

    /// The resolver called `name`, or an error listing the known ones.
    pub fn parse(name: &str) -> Result<Resolver, String> {
        Resolver::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Resolver::ALL.iter().map(|r| r.name()).collect();
                format!(
                    "unknown resolver `{name}` (known resolvers: {})",
                    known.join(", ")
                )
            })
    }

    /// What the input names, for messages (`a mint address`).
    pub fn input_description(self) -> &'static str {
        match self {
            Resolver::TokenMetadata => "a mint address (a base58 string or pubkey)",
        }
    }

    /// The layout of a resolved value: every field optional (the endpoint may not know it).
    pub fn layout(self) -> Layout {
        let opt = |p| Layout::Option(Box::new(Layout::Primitive(p)));
        match self {
            Resolver::TokenMetadata => Layout::Struct {
                name: TOKEN_METADATA_TYPE.to_string(),
                fields: LayoutFields::Named(vec![
                    ("name".into(), opt(IdlPrimitive::String)),
                    ("symbol".into(), opt(IdlPrimitive::String)),
                    ("decimals".into(), opt(IdlPrimitive::U8)),
                    ("image".into(), opt(IdlPrimitive::String)),
                ]),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_listed() {
        for r in Resolver::ALL {
            assert_eq!(Resolver::parse(r.name()), Ok(r));
        }
        assert_eq!(
            Resolver::parse("metadata"),
            Err("unknown resolver `metadata` (known resolvers: token_metadata)".into())
        );
        let json = serde_json::to_string(&Resolver::TokenMetadata).unwrap();
        assert_eq!(json, "\"token_metadata\"");
    }
}
