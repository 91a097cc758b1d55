//! Key layouts of the `resolved` keyspace: values (tag 0) and references (tag 1).
//!
//! - value: `0, resolver, input` → the value;
//! - reference: `1, resolver, input length (u16 BE), input, entity (u16 BE), field (u16 BE),
//!   entity key bytes` → empty. One input's references share a prefix, so the entities that
//!   reference an input are one prefix scan.

use crate::spec::Resolver;

/// Longest input kept (bytes); longer ones are not resolved.
pub(crate) const MAX_INPUT: usize = 1_024;

fn tag(resolver: Resolver) -> u8 {
    Resolver::ALL
        .iter()
        .position(|r| *r == resolver)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

fn resolver_of(tag: u8) -> Option<Resolver> {
    Resolver::ALL.get(usize::from(tag)).copied()
}

/// The key of `input`'s value.
pub(crate) fn value_key(resolver: Resolver, input: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + input.len());
    k.push(0);
    k.push(tag(resolver));
    k.extend_from_slice(input.as_bytes());
    k
}

/// The prefix of every reference to `input`.
pub(crate) fn reference_prefix(resolver: Resolver, input: &str) -> Vec<u8> {
    let bytes = &input.as_bytes()[..input.len().min(MAX_INPUT)];
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    let mut k = Vec::with_capacity(4 + bytes.len() + 4 + 40);
    k.push(1);
    k.push(tag(resolver));
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(bytes);
    k
}

/// The prefix of every reference.
pub(crate) const REFERENCES: [u8; 1] = [1];

/// The key of one entity field's reference to `input`.
pub(crate) fn reference_key(
    resolver: Resolver,
    input: &str,
    entity: usize,
    field: usize,
    key: &[u8],
) -> Vec<u8> {
    let mut k = reference_prefix(resolver, input);
    k.extend_from_slice(&u16::try_from(entity).unwrap_or(u16::MAX).to_be_bytes());
    k.extend_from_slice(&u16::try_from(field).unwrap_or(u16::MAX).to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// A reference key taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub resolver: Resolver,
    pub input: String,
    pub entity: usize,
    pub field: usize,
    pub key: Vec<u8>,
}

/// Reads a reference key.
pub(crate) fn parse_reference(raw: &[u8]) -> Option<Reference> {
    let (&first, rest) = raw.split_first()?;
    if first != 1 {
        return None;
    }
    let (&tag, rest) = rest.split_first()?;
    let len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
    let input = std::str::from_utf8(rest.get(2..2 + len)?).ok()?.to_string();
    let rest = rest.get(2 + len..)?;
    let entity = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
    let field = usize::from(u16::from_be_bytes(rest.get(2..4)?.try_into().ok()?));
    Some(Reference {
        resolver: resolver_of(tag)?,
        input,
        entity,
        field,
        key: rest.get(4..)?.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_share_their_input_prefix() {
        let r = Resolver::TokenMetadata;
        let k = reference_key(r, "Mint", 3, 7, b"\x02round");
        assert!(k.starts_with(&reference_prefix(r, "Mint")));
        assert!(
            !k.starts_with(&reference_prefix(r, "Min")),
            "lengths differ"
        );
        assert!(k.starts_with(&REFERENCES));
        assert_eq!(
            parse_reference(&k),
            Some(Reference {
                resolver: r,
                input: "Mint".into(),
                entity: 3,
                field: 7,
                key: b"\x02round".to_vec(),
            })
        );
        assert_eq!(parse_reference(&value_key(r, "Mint")), None);
        assert_eq!(parse_reference(&k[..5]), None, "truncated");
    }
}
