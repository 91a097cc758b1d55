//! Small IDLs shared by the unit tests of this module.

use super::model::Idl;

/// Parses and checks `text`, panicking with the error (tests only).
pub(crate) fn idl(text: &str) -> Idl {
    let idl = Idl::from_json_str(text).unwrap_or_else(|e| panic!("parse: {e}"));
    idl.check().unwrap_or_else(|e| panic!("check: {e}"));
    idl
}

/// An Anchor 0.30 IDL using type and const generics, aliases, enums and account groups.
pub(crate) const GENERIC_IDL: &str = r#"{
  "address": "Gen1111111111111111111111111111111111111111",
  "metadata": {"name": "gen", "version": "0.1.0", "spec": "0.1.0"},
  "instructions": [{
    "name": "setPair", "discriminator": [1, 2, 3, 4, 5, 6, 7, 8],
    "accounts": [
      {"name": "authority", "signer": true},
      {"name": "pools", "accounts": [{"name": "pool", "writable": true}]}
    ],
    "args": [{"name": "pair", "type": {"defined": {"name": "Pair", "generics": [
      {"kind": "type", "type": "u16"}, {"kind": "const", "value": "4"}]}}}]
  }],
  "accounts": [{"name": "Holder", "discriminator": [9, 9, 9, 9, 9, 9, 9, 9]}],
  "events": [{"name": "Moved", "discriminator": [7, 7, 7, 7, 7, 7, 7, 7]}],
  "types": [
    {"name": "Pair",
     "generics": [{"kind": "type", "name": "T"}, {"kind": "const", "name": "N", "type": "usize"}],
     "type": {"kind": "struct", "fields": [
       {"name": "a", "type": {"generic": "T"}},
       {"name": "b", "type": {"array": ["u8", {"generic": "N"}]}},
       {"name": "c", "type": {"vec": {"generic": "T"}}}]}},
    {"name": "Wrapper", "generics": [{"kind": "type", "name": "T"}],
     "type": {"kind": "struct", "fields": [{"generic": "T"}]}},
    {"name": "Bytes", "generics": [{"kind": "const", "name": "M", "type": "usize"}],
     "type": {"kind": "type", "alias": {"defined": {"name": "Pair", "generics": [
       {"kind": "type", "type": "u8"}, {"kind": "const", "value": "M"}]}}}},
    {"name": "Holder", "serialization": "bytemuck", "repr": {"kind": "c"},
     "type": {"kind": "struct", "fields": [
       {"name": "pair", "type": {"defined": {"name": "Pair", "generics": [
         {"kind": "type", "type": "pubkey"}, {"kind": "const", "value": "2"}]}}},
       {"name": "nested", "type": {"defined": {"name": "Wrapper", "generics": [
         {"kind": "type", "type": {"defined": {"name": "Wrapper", "generics": [
           {"kind": "type", "type": "u8"}]}}}]}}},
       {"name": "bytes", "type": {"defined": {"name": "Bytes", "generics": [
         {"kind": "const", "value": "3"}]}}},
       {"name": "side", "type": {"defined": {"name": "Side"}}}]}},
    {"name": "Side", "type": {"kind": "enum", "variants": [
      {"name": "Bid"},
      {"name": "Ask", "fields": [{"name": "price", "type": "u64"}]},
      {"name": "Both", "fields": ["u8", {"option": "i64"}]}]}},
    {"name": "Moved", "type": {"kind": "struct", "fields": [{"name": "by", "type": "pubkey"}]}}
  ]
}"#;

/// A legacy (pre-0.30) Anchor IDL: inline account and event types, `publicKey`, string
/// `defined`, `isMut` / `isSigner`.
pub(crate) const LEGACY_IDL: &str = r#"{
  "version": "0.1.0", "name": "pump",
  "instructions": [{
    "name": "buy",
    "accounts": [
      {"name": "bondingCurve", "isMut": true, "isSigner": false},
      {"name": "user", "isMut": true, "isSigner": true}],
    "args": [{"name": "amount", "type": "u64"}, {"name": "maxSolCost", "type": "u64"}]
  }],
  "accounts": [{"name": "BondingCurve", "type": {"kind": "struct", "fields": [
    {"name": "virtualSolReserves", "type": "u64"},
    {"name": "creator", "type": "publicKey"},
    {"name": "fees", "type": {"defined": "Fees"}}]}}],
  "events": [{"name": "TradeEvent", "fields": [
    {"name": "mint", "type": "publicKey", "index": false},
    {"name": "solAmount", "type": "u64", "index": false}]}],
  "types": [{"name": "Fees", "type": {"kind": "struct", "fields": [{"name": "bps", "type": "u16"}]}}]
}"#;

/// A steel IDL in the shape of ore.json / entropy.json.
pub(crate) const STEEL_IDL: &str = r#"{
  "version": "0.1.0", "name": "ore", "address": "ore1111",
  "instructions": [{
    "name": "claimSol", "discriminant": {"type": "u8", "value": 3},
    "accounts": [{"name": "signer", "isMut": true, "isSigner": true}],
    "args": [{"name": "amount", "type": "u64"}]
  }],
  "accounts": [{"name": "Miner", "discriminator": [103, 0, 0, 0, 0, 0, 0, 0],
    "type": {"kind": "struct", "fields": [
      {"name": "authority", "type": "publicKey"},
      {"name": "rewards", "type": {"defined": "Numeric"}}]}}],
  "events": [{"name": "ResetEvent", "discriminator": [0, 0, 0, 0, 0, 0, 0, 0],
    "fields": [{"name": "round_id", "type": "u64", "index": false}]}],
  "types": [{"name": "Numeric", "type": {"kind": "struct", "fields": [
    {"name": "bits", "type": {"array": ["u8", 16]}}]}}],
  "metadata": {"address": "ore1111", "origin": "steel", "spec": "0.1.0"}
}"#;

/// An Anchor 0.30 IDL named `t` with the given accounts (discriminator `[n]`) and `types` JSON.
pub(crate) fn anchor_idl(accounts: &[&str], types: &str) -> String {
    let accounts: Vec<String> = accounts
        .iter()
        .enumerate()
        .map(|(i, name)| format!(r#"{{"name": "{name}", "discriminator": [{i}]}}"#))
        .collect();
    format!(
        r#"{{"address": "T", "metadata": {{"name": "t", "spec": "0.1.0"}},
            "accounts": [{}], "types": {types}}}"#,
        accounts.join(",")
    )
}
