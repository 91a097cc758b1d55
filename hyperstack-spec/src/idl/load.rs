//! Entry points: parse IDL JSON text or load an IDL file.

use std::path::Path;

use super::error::IdlError;
use super::model::Idl;
use super::raw;

impl Idl {
    /// Parses an Anchor 0.30+, legacy Anchor or steel IDL from JSON text and normalizes it.
    ///
    /// This does not cross-check references; call [`Idl::check`] (or use [`Idl::load`], which
    /// does) before resolving layouts.
    pub fn from_json_str(s: &str) -> Result<Idl, IdlError> {
        raw::parse(s)
    }

    /// Reads, parses and [checks](Idl::check) the IDL file at `path`.
    pub fn load(path: &Path) -> Result<Idl, IdlError> {
        let text = std::fs::read_to_string(path).map_err(|e| IdlError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let idl = Idl::from_json_str(&text)?;
        idl.check()?;
        Ok(idl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idl::test_util::{idl, GENERIC_IDL, LEGACY_IDL, STEEL_IDL};
    use crate::idl::{IdlFormat, IdlPrimitive, IdlType, Serialization};

    #[test]
    fn detects_each_format() {
        let anchor = idl(GENERIC_IDL);
        assert_eq!(
            (anchor.format, anchor.name.as_str()),
            (IdlFormat::Anchor, "gen")
        );
        assert_eq!(
            anchor.address.as_deref(),
            Some("Gen1111111111111111111111111111111111111111")
        );
        let legacy = idl(LEGACY_IDL);
        assert_eq!(
            (legacy.format, legacy.name.as_str()),
            (IdlFormat::AnchorLegacy, "pump")
        );
        let steel = idl(STEEL_IDL);
        assert_eq!(
            (steel.format, steel.name.as_str()),
            (IdlFormat::Steel, "ore")
        );
    }

    #[test]
    fn legacy_types_are_moved_and_normalized() {
        let legacy = idl(LEGACY_IDL);
        let names: Vec<&str> = legacy.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Fees", "BondingCurve", "TradeEvent"]);
        assert_eq!(
            legacy.account("BondingCurve").map(|a| a.type_name.as_str()),
            Some("BondingCurve")
        );
        let curve = legacy.account_layout("BondingCurve").unwrap();
        let creator = curve.field("creator");
        assert_eq!(
            creator,
            Some(&crate::idl::Layout::Primitive(IdlPrimitive::Pubkey))
        );
        assert!(curve.field_path("fees.bps").is_some());
        let buy = legacy.instruction("buy").unwrap();
        assert!(buy.accounts[0].writable && !buy.accounts[0].signer);
        assert!(buy.accounts[1].writable && buy.accounts[1].signer);
        assert_eq!(buy.args[1].ty, IdlType::Primitive(IdlPrimitive::U64));
    }

    #[test]
    fn steel_is_bytemuck_with_one_byte_discriminants() {
        let steel = idl(STEEL_IDL);
        assert!(steel
            .types
            .iter()
            .all(|t| t.serialization == Serialization::Bytemuck));
        assert_eq!(
            steel
                .instruction("claim_sol")
                .map(|i| i.discriminator.clone()),
            Some(vec![3])
        );
        assert_eq!(
            steel.account("Miner").map(|a| a.discriminator[0]),
            Some(103)
        );
        assert!(steel.event_layout("ResetEvent").is_ok());
    }

    #[test]
    fn bad_json_reports_line_and_column() {
        let text = "{\n  \"name\": \"x\",\n  \"accounts\": [,]\n}";
        let err = Idl::from_json_str(text).unwrap_err();
        assert!(matches!(err, IdlError::Json { line: 3, .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("invalid IDL JSON at line 3, column"),
            "{err}"
        );
    }

    #[test]
    fn wrong_shapes_are_errors_with_position() {
        for text in [
            "[]",
            "null",
            "42",
            r#"{"name": 3}"#,
            r#"{"name": "x", "accounts": {}}"#,
            r#"{"name": "x", "instructions": [{"name": "a", "discriminator": [300]}]}"#,
            r#"{"name": "x", "types": [{"name": "A"}]}"#,
            r#"{"name": "x", "types": [{"name": "A", "type": {"kind": "union"}}]}"#,
        ] {
            let err = Idl::from_json_str(text).map(|_| ()).unwrap_err();
            assert!(
                matches!(err, IdlError::Json { .. } | IdlError::InvalidShape { .. }),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn unsupported_type_string_names_its_place() {
        let text = LEGACY_IDL.replace(r#""type": "u16""#, r#""type": "u512""#);
        let err = Idl::from_json_str(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported type `u512` in type `Fees` field `bps`"
        );
        let text = LEGACY_IDL.replace(
            r#""name": "maxSolCost", "type": "u64""#,
            r#""name": "maxSolCost", "type": "usize""#,
        );
        let err = Idl::from_json_str(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported type `usize` in instruction `buy` arg `maxSolCost`"
        );
    }

    /// Every prefix of a valid IDL, and byte-level mutations of it, give `Err` or an IDL whose
    /// check and layouts run to completion: never a panic.
    #[test]
    fn garbage_never_panics() {
        for source in [GENERIC_IDL, LEGACY_IDL, STEEL_IDL] {
            for end in (0..source.len()).filter(|&i| source.is_char_boundary(i)) {
                assert!(Idl::from_json_str(&source[..end]).is_err());
            }
            const ALPHABET: &[u8] = b"{}[]\",:0123456789aeuT \n";
            let mut seed = 0x2545_f491_4f6c_dd1d_u64;
            for _ in 0..2000 {
                let mut bytes = source.as_bytes().to_vec();
                for _ in 0..3 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let at = (seed as usize) % bytes.len();
                    bytes[at] = ALPHABET[(seed >> 40) as usize % ALPHABET.len()];
                }
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                if let Ok(idl) = Idl::from_json_str(&text) {
                    let _ = idl.check();
                    for def in &idl.types {
                        let _ = idl.layout(&IdlType::Defined {
                            name: def.name.clone(),
                            generics: vec![],
                        });
                    }
                    for ix in &idl.instructions {
                        let _ = idl.instruction_layout(&ix.name);
                    }
                }
            }
        }
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(Idl::from_json_str(&String::from_utf8_lossy(&noise)).is_err());
    }

    /// JSON nesting is bounded by serde_json; the deepest accepted type still resolves.
    #[test]
    fn deeply_nested_types() {
        let text = |depth: usize| {
            let ty = (0..depth).fold(r#""u8""#.to_string(), |t, _| format!(r#"{{"vec": {t}}}"#));
            format!(
                r#"{{"name": "d", "instructions": [{{"name": "a", "args": [{{"name": "x", "type": {ty}}}]}}]}}"#
            )
        };
        assert!(matches!(
            Idl::from_json_str(&text(1_000)),
            Err(IdlError::Json { .. })
        ));
        let deepest = (1..200)
            .rev()
            .find_map(|d| Idl::from_json_str(&text(d)).ok());
        let idl = deepest.unwrap_or_else(|| panic!("no depth parses"));
        assert_eq!(idl.check(), Ok(()));
        assert!(idl.instruction_layout("a").is_ok());
    }

    #[test]
    fn load_reads_checks_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.json");
        let err = Idl::load(&path).unwrap_err();
        assert!(matches!(err, IdlError::Io { .. }));
        assert!(err.to_string().contains("missing.json"), "{err}");
        std::fs::write(&path, STEEL_IDL).unwrap();
        assert_eq!(Idl::load(&path).map(|i| i.name), Ok("ore".to_string()));
        std::fs::write(&path, STEEL_IDL.replace("\"Numeric\"}", "\"Nope\"}")).unwrap();
        let err = Idl::load(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown type `Nope` referenced by account `Miner` field `rewards`"
        );
    }
}
