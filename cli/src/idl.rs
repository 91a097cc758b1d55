//! `hs idl <idl.json> [accounts|instructions|events|types|errors]`: a program's interface in a
//! readable form — every account, instruction, event and type with its fields' types and
//! discriminators, and the program's error codes — to write a stack spec against.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;
use hyperstack_spec::idl::{
    Idl, IdlEnumVariant, IdlField, IdlFields, IdlGenericArg, IdlPrimitive, IdlType, IdlTypeDefBody,
    Serialization,
};

/// A part of the IDL to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Section {
    /// Account types and their fields.
    Accounts,
    /// Instructions: account roles and arguments.
    Instructions,
    /// Events and their fields.
    Events,
    /// Named types (structs, enums, aliases).
    Types,
    /// Error codes.
    Errors,
}

/// One error code the program declares (not part of the normalized [`Idl`]: read from the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdlErrorCode {
    /// Numeric code.
    pub code: i64,
    /// Name, e.g. `NotAuthorized`.
    pub name: String,
    /// Message, when given.
    pub msg: Option<String>,
}

/// A loaded IDL file: the normalized model plus its error codes.
pub struct IdlFile {
    /// The normalized interface.
    pub idl: Idl,
    /// The `errors` section.
    pub errors: Vec<IdlErrorCode>,
}

impl IdlFile {
    /// Reads and checks an IDL file (Anchor, legacy Anchor or steel).
    pub fn load(path: &Path) -> anyhow::Result<IdlFile> {
        let idl = Idl::load(path).with_context(|| format!("{}", path.display()))?;
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let raw: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
        let errors = raw
            .get("errors")
            .and_then(serde_json::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|e| {
                        Some(IdlErrorCode {
                            code: e.get("code")?.as_i64()?,
                            name: e.get("name")?.as_str()?.to_string(),
                            msg: e.get("msg").and_then(|m| m.as_str()).map(str::to_string),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(IdlFile { idl, errors })
    }
}

/// The readable form of the chosen sections (all of them when `only` is `None`).
pub fn render(file: &IdlFile, only: Option<Section>) -> String {
    let idl = &file.idl;
    let mut out = String::new();
    let show = |s: Section| only.is_none_or(|o| o == s);
    if only.is_none() {
        let _ = writeln!(
            out,
            "program {} ({}{})",
            idl.name,
            match idl.format {
                hyperstack_spec::idl::IdlFormat::Anchor => "Anchor",
                hyperstack_spec::idl::IdlFormat::AnchorLegacy => "legacy Anchor",
                hyperstack_spec::idl::IdlFormat::Steel => "steel",
            },
            idl.address
                .as_deref()
                .map(|a| format!(", address {a}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "{} accounts, {} instructions, {} events, {} types, {} errors\n",
            idl.accounts.len(),
            idl.instructions.len(),
            idl.events.len(),
            idl.types.len(),
            file.errors.len()
        );
    }
    if show(Section::Accounts) {
        heading(&mut out, "accounts", idl.accounts.len(), only.is_some());
        for a in &idl.accounts {
            let _ = writeln!(out, "  {}  {}", a.name, discriminator(&a.discriminator));
            type_body(&mut out, idl, &a.type_name, "    ");
        }
    }
    if show(Section::Instructions) {
        heading(
            &mut out,
            "instructions",
            idl.instructions.len(),
            only.is_some(),
        );
        for ix in &idl.instructions {
            let _ = writeln!(out, "  {}  {}", ix.name, discriminator(&ix.discriminator));
            let roles: Vec<String> = ix
                .accounts
                .iter()
                .map(|a| {
                    let mut flags = Vec::new();
                    if a.writable {
                        flags.push("writable");
                    }
                    if a.signer {
                        flags.push("signer");
                    }
                    if a.optional {
                        flags.push("optional");
                    }
                    if flags.is_empty() {
                        a.name.clone()
                    } else {
                        format!("{} ({})", a.name, flags.join(", "))
                    }
                })
                .collect();
            if !roles.is_empty() {
                let _ = writeln!(out, "    accounts: {}", roles.join(", "));
            }
            if ix.args.is_empty() {
                let _ = writeln!(out, "    args: none");
            } else {
                let _ = writeln!(out, "    args:");
                fields(&mut out, &ix.args, "      ");
            }
        }
    }
    if show(Section::Events) {
        heading(&mut out, "events", idl.events.len(), only.is_some());
        for e in &idl.events {
            let _ = writeln!(out, "  {}  {}", e.name, discriminator(&e.discriminator));
            type_body(&mut out, idl, &e.type_name, "    ");
        }
    }
    if show(Section::Types) {
        heading(&mut out, "types", idl.types.len(), only.is_some());
        for t in &idl.types {
            let generics = if t.generics.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = t
                    .generics
                    .iter()
                    .map(|g| match g {
                        hyperstack_spec::idl::IdlGenericParam::Type { name } => name.clone(),
                        hyperstack_spec::idl::IdlGenericParam::Const { name, ty } => {
                            format!("const {name}: {ty}")
                        }
                    })
                    .collect();
                format!("<{}>", names.join(", "))
            };
            let kind = match &t.body {
                IdlTypeDefBody::Struct(_) => "struct",
                IdlTypeDefBody::Enum(_) => "enum",
                IdlTypeDefBody::Alias(_) => "alias",
            };
            let layout = match t.serialization {
                Serialization::Borsh => "",
                Serialization::Bytemuck => ", zero-copy",
                Serialization::BytemuckPacked => ", zero-copy packed",
            };
            let _ = writeln!(out, "  {}{generics} ({kind}{layout})", t.name);
            body(&mut out, &t.body, "    ");
        }
    }
    if show(Section::Errors) {
        heading(&mut out, "errors", file.errors.len(), only.is_some());
        for e in &file.errors {
            let msg = e
                .msg
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            let _ = writeln!(out, "  {} {}{msg}", e.code, e.name);
        }
    }
    out
}

fn heading(out: &mut String, name: &str, count: usize, alone: bool) {
    if !alone && !out.ends_with("\n\n") {
        out.push('\n');
    }
    let _ = writeln!(out, "{name} ({count}):");
}

/// `discriminator [23, 183, …] (0x17b7…)`, or a note when there is none.
fn discriminator(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "no discriminator".into();
    }
    let list: Vec<String> = bytes.iter().map(u8::to_string).collect();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("discriminator [{}] (0x{hex})", list.join(", "))
}

fn type_body(out: &mut String, idl: &Idl, type_name: &str, indent: &str) {
    match idl.type_def(type_name) {
        Some(def) => body(out, &def.body, indent),
        None => {
            let _ = writeln!(
                out,
                "{indent}(type `{type_name}` is not defined in the IDL)"
            );
        }
    }
}

fn body(out: &mut String, body: &IdlTypeDefBody, indent: &str) {
    match body {
        IdlTypeDefBody::Struct(f) => struct_fields(out, f, indent),
        IdlTypeDefBody::Enum(variants) => {
            for v in variants {
                let _ = writeln!(out, "{indent}{}", variant(v));
            }
        }
        IdlTypeDefBody::Alias(ty) => {
            let _ = writeln!(out, "{indent}= {}", type_name(ty));
        }
    }
}

fn struct_fields(out: &mut String, f: &IdlFields, indent: &str) {
    match f {
        IdlFields::Unit => {
            let _ = writeln!(out, "{indent}(no fields)");
        }
        IdlFields::Named(list) => fields(out, list, indent),
        IdlFields::Tuple(types) => {
            for (i, ty) in types.iter().enumerate() {
                let _ = writeln!(out, "{indent}{i}: {}", type_name(ty));
            }
        }
    }
}

fn fields(out: &mut String, list: &[IdlField], indent: &str) {
    let width = list.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in list {
        let _ = writeln!(out, "{indent}{:<width$}  {}", f.name, type_name(&f.ty));
    }
}

fn variant(v: &IdlEnumVariant) -> String {
    match &v.fields {
        IdlFields::Unit => v.name.clone(),
        IdlFields::Named(list) => {
            let inner: Vec<String> = list
                .iter()
                .map(|f| format!("{}: {}", f.name, type_name(&f.ty)))
                .collect();
            format!("{} {{ {} }}", v.name, inner.join(", "))
        }
        IdlFields::Tuple(types) => {
            let inner: Vec<String> = types.iter().map(type_name).collect();
            format!("{}({})", v.name, inner.join(", "))
        }
    }
}

/// A type as Rust-like text: `u64`, `Option<pubkey>`, `[u8; 32]`, `Vec<Trade>`, `Foo<u8, 4>`.
pub fn type_name(ty: &IdlType) -> String {
    match ty {
        IdlType::Primitive(p) => primitive(*p).to_string(),
        IdlType::Option(inner) => format!("Option<{}>", type_name(inner)),
        IdlType::COption(inner) => format!("COption<{}>", type_name(inner)),
        IdlType::Vec(inner) => format!("Vec<{}>", type_name(inner)),
        IdlType::Array(inner, n) => format!("[{}; {n}]", type_name(inner)),
        IdlType::GenericArray(inner, n) => format!("[{}; {n}]", type_name(inner)),
        IdlType::Defined { name, generics } if generics.is_empty() => name.clone(),
        IdlType::Defined { name, generics } => {
            let args: Vec<String> = generics
                .iter()
                .map(|g| match g {
                    IdlGenericArg::Type(t) => type_name(t),
                    IdlGenericArg::Const(c) => c.clone(),
                })
                .collect();
            format!("{name}<{}>", args.join(", "))
        }
        IdlType::Generic(name) => name.clone(),
    }
}

fn primitive(p: IdlPrimitive) -> &'static str {
    match p {
        IdlPrimitive::Bool => "bool",
        IdlPrimitive::U8 => "u8",
        IdlPrimitive::U16 => "u16",
        IdlPrimitive::U32 => "u32",
        IdlPrimitive::U64 => "u64",
        IdlPrimitive::U128 => "u128",
        IdlPrimitive::I8 => "i8",
        IdlPrimitive::I16 => "i16",
        IdlPrimitive::I32 => "i32",
        IdlPrimitive::I64 => "i64",
        IdlPrimitive::I128 => "i128",
        IdlPrimitive::F32 => "f32",
        IdlPrimitive::F64 => "f64",
        IdlPrimitive::U256 => "u256",
        IdlPrimitive::I256 => "i256",
        IdlPrimitive::String => "string",
        IdlPrimitive::Bytes => "bytes",
        IdlPrimitive::Pubkey => "pubkey",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDL: &str = r#"{
      "address": "11111111111111111111111111111111",
      "metadata": {"name": "mini", "version": "0.1.0", "spec": "0.1.0"},
      "instructions": [{"name": "doIt", "discriminator": [1,2,3,4,5,6,7,8],
        "accounts": [{"name": "pool", "writable": true}, {"name": "user", "signer": true}],
        "args": [{"name": "amount", "type": "u64"}, {"name": "memo", "type": {"option": "string"}}]}],
      "accounts": [{"name": "Pool", "discriminator": [9,9,9,9,9,9,9,9]}],
      "events": [],
      "errors": [{"code": 6000, "name": "Bad", "msg": "Bad input"}],
      "types": [
        {"name": "Pool", "type": {"kind": "struct", "fields": [
          {"name": "owner", "type": "pubkey"},
          {"name": "bins", "type": {"array": [{"defined": {"name": "Side"}}, 2]}},
          {"name": "history", "type": {"vec": "u32"}}]}},
        {"name": "Side", "type": {"kind": "enum", "variants": [{"name": "Bid"}, {"name": "Ask", "fields": [{"name": "price", "type": "u64"}]}]}}
      ]
    }"#;

    fn file() -> IdlFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mini.json");
        std::fs::write(&path, IDL).unwrap();
        IdlFile::load(&path).unwrap()
    }

    #[test]
    fn renders_every_section_with_types_and_discriminators() {
        let text = render(&file(), None);
        assert!(
            text.starts_with("program mini (Anchor, address 11111111111111111111111111111111)\n"),
            "{text}"
        );
        assert!(
            text.contains("1 accounts, 1 instructions, 0 events, 2 types, 1 errors"),
            "{text}"
        );
        assert!(
            text.contains("  Pool  discriminator [9, 9, 9, 9, 9, 9, 9, 9] (0x0909090909090909)"),
            "{text}"
        );
        assert!(text.contains("    owner    pubkey\n"), "{text}");
        assert!(text.contains("    bins     [Side; 2]\n"), "{text}");
        assert!(text.contains("    history  Vec<u32>\n"), "{text}");
        assert!(
            text.contains("    accounts: pool (writable), user (signer)"),
            "{text}"
        );
        assert!(text.contains("      memo    Option<string>"), "{text}");
        assert!(
            text.contains("  Side (enum)\n    Bid\n    Ask { price: u64 }"),
            "{text}"
        );
        assert!(text.contains("  6000 Bad: Bad input"), "{text}");
    }

    #[test]
    fn one_section_alone() {
        let text = render(&file(), Some(Section::Errors));
        assert_eq!(text, "errors (1):\n  6000 Bad: Bad input\n");
    }
}
