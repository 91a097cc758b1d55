//! Resolves source paths (`BondingCurve.complete`, `buy.args.amount`, `TradeEvent.data.mint`)
//! against the stack's IDLs.

use crate::error::SpecErrorKind;
use crate::idl::{Idl, IdlPrimitive, Layout, LayoutFields};
use crate::model::{SourceKind, SourceRef, ValuePath};

/// A resolved value: where it comes from and its type.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub source: SourceRef,
    pub value: ValuePath,
    pub ty: Layout,
    /// The value may be null (it is, or passes through, an IDL `Option`).
    pub nullable: bool,
}

/// Every nameable source of the stack's programs.
pub(crate) struct Catalog<'a> {
    idls: &'a [Idl],
    entries: Vec<(String, SourceRef)>,
}

impl<'a> Catalog<'a> {
    pub fn new(idls: &'a [Idl]) -> Catalog<'a> {
        let mut entries = Vec::new();
        for (program, idl) in idls.iter().enumerate() {
            let mut add = |name: &str, kind| {
                entries.push((
                    name.to_string(),
                    SourceRef {
                        program,
                        kind,
                        name: name.to_string(),
                    },
                ))
            };
            for a in &idl.accounts {
                add(&a.name, SourceKind::Account);
            }
            for i in &idl.instructions {
                add(&i.name, SourceKind::Instruction);
            }
            for e in &idl.events {
                add(&e.name, SourceKind::Event);
            }
        }
        Catalog { idls, entries }
    }

    /// Finds a source by name; instructions also match by their snake_case name.
    pub fn source(&self, name: &str) -> Result<SourceRef, SpecErrorKind> {
        let mut found: Vec<&SourceRef> = self
            .entries
            .iter()
            .filter(|(n, r)| {
                n == name
                    || (r.kind == SourceKind::Instruction && crate::idl::snake_case(n) == name)
            })
            .map(|(_, r)| r)
            .collect();
        found.dedup();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(SpecErrorKind::UnknownSource {
                name: name.to_string(),
                known: self.known_names(),
            }),
            many => Err(SpecErrorKind::AmbiguousSource {
                name: name.to_string(),
                programs: many
                    .iter()
                    .map(|r| self.idls.get(r.program).map_or("?", |i| i.name.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn known_names(&self) -> String {
        let mut names: Vec<&str> = self.entries.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.join(", ")
    }

    /// Resolves a full path `<Source>[.<rest>]`.
    pub fn resolve(&self, path: &str) -> Result<Resolved, SpecErrorKind> {
        let mut segments = path.split('.');
        let first = segments.next().unwrap_or_default();
        if first.is_empty() {
            return Err(bad(path, "expected `<Account|instruction|Event>[.<path>]`"));
        }
        let source = self.source(first)?;
        let rest: Vec<&str> = segments.collect();
        self.resolve_in(&source, &rest, path)
    }

    /// Resolves a path relative to a known source (a `key = "accounts.bonding_curve"`).
    pub fn resolve_relative(
        &self,
        source: &SourceRef,
        rel: &str,
    ) -> Result<Resolved, SpecErrorKind> {
        let rest: Vec<&str> = rel.split('.').collect();
        self.resolve_in(source, &rest, rel)
    }

    fn resolve_in(
        &self,
        source: &SourceRef,
        rest: &[&str],
        full: &str,
    ) -> Result<Resolved, SpecErrorKind> {
        let idl = self
            .idls
            .get(source.program)
            .ok_or_else(|| bad(full, "unknown program"))?;
        let idl_err = |e: crate::idl::IdlError| bad(full, &e.to_string());
        let done = |value, ty, nullable| {
            Ok(Resolved {
                source: source.clone(),
                value,
                ty,
                nullable,
            })
        };
        if rest.iter().any(|s| s.is_empty()) {
            return Err(bad(full, "empty path segment"));
        }
        match (source.kind, rest) {
            (_, []) => {
                let ty = whole_layout(idl, source).map_err(idl_err)?;
                done(ValuePath::Whole, ty, false)
            }
            (_, ["@slot"]) => done(ValuePath::Slot, prim(IdlPrimitive::U64), false),
            (SourceKind::Account, ["@address"]) => {
                done(ValuePath::Address, prim(IdlPrimitive::Pubkey), false)
            }
            (SourceKind::Instruction | SourceKind::Event, ["@signature"]) => {
                done(ValuePath::Signature, prim(IdlPrimitive::String), false)
            }
            (_, [special, ..]) if special.starts_with('@') => Err(bad(
                full,
                match source.kind {
                    SourceKind::Account => "accounts offer `@address` and `@slot`",
                    _ => "instructions and events offer `@slot` and `@signature`",
                },
            )),
            (SourceKind::Account, fields) => {
                let ty = whole_layout(idl, source).map_err(idl_err)?;
                let (ty, nullable) = walk(&ty, fields, full, "field")?;
                done(ValuePath::Field(owned(fields)), ty, nullable)
            }
            (SourceKind::Instruction, ["accounts", role]) => {
                let ix = idl
                    .instruction(&source.name)
                    .ok_or_else(|| bad(full, "unknown instruction"))?;
                if ix.accounts.iter().any(|a| a.name == *role) {
                    done(
                        ValuePath::AccountRole(role.to_string()),
                        prim(IdlPrimitive::Pubkey),
                        false,
                    )
                } else {
                    Err(SpecErrorKind::UnknownField {
                        path: full.to_string(),
                        what: "account role",
                        name: role.to_string(),
                        available: join(ix.accounts.iter().map(|a| a.name.as_str())),
                    })
                }
            }
            (SourceKind::Instruction, ["args", fields @ ..]) if !fields.is_empty() => {
                let ty = whole_layout(idl, source).map_err(idl_err)?;
                let (ty, nullable) = walk(&ty, fields, full, "argument")?;
                done(ValuePath::Arg(owned(fields)), ty, nullable)
            }
            (SourceKind::Instruction, _) => Err(bad(
                full,
                "instruction paths are `<ix>.accounts.<role>`, `<ix>.args.<arg>`, `<ix>.@slot` or `<ix>.@signature`",
            )),
            (SourceKind::Event, ["data", fields @ ..]) if !fields.is_empty() => {
                let ty = whole_layout(idl, source).map_err(idl_err)?;
                let (ty, nullable) = walk(&ty, fields, full, "field")?;
                done(ValuePath::Data(owned(fields)), ty, nullable)
            }
            (SourceKind::Event, _) => Err(bad(
                full,
                "event paths are `<Event>.data.<field>`, `<Event>.@slot` or `<Event>.@signature`",
            )),
        }
    }
}

fn owned(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|s| s.to_string()).collect()
}

fn join<'s>(names: impl Iterator<Item = &'s str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

fn bad(path: &str, reason: &str) -> SpecErrorKind {
    SpecErrorKind::BadPath {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

pub(crate) fn prim(p: IdlPrimitive) -> Layout {
    Layout::Primitive(p)
}

/// The layout of a whole source: account data, event data, or the instruction's arguments as a
/// struct named `<ix>Args`.
fn whole_layout(idl: &Idl, source: &SourceRef) -> Result<Layout, crate::idl::IdlError> {
    match source.kind {
        SourceKind::Account => idl.account_layout(&source.name),
        SourceKind::Event => idl.event_layout(&source.name),
        SourceKind::Instruction => {
            let mut fields = Vec::new();
            if let Some(ix) = idl.instruction(&source.name) {
                for arg in &ix.args {
                    fields.push((arg.name.clone(), idl.layout(&arg.ty)?));
                }
            }
            Ok(Layout::Struct {
                name: format!("{}Args", source.name),
                fields: LayoutFields::Named(fields),
            })
        }
    }
}

/// Walks named fields through structs (and through `Option`s, which make the result nullable).
fn walk(
    ty: &Layout,
    fields: &[&str],
    full: &str,
    what: &'static str,
) -> Result<(Layout, bool), SpecErrorKind> {
    let mut current = ty;
    let mut nullable = false;
    for name in fields {
        while let Layout::Option(inner) | Layout::COption(inner) = current {
            nullable = true;
            current = inner;
        }
        let Layout::Struct {
            fields: LayoutFields::Named(named),
            ..
        } = current
        else {
            return Err(bad(
                full,
                &format!("cannot take `{name}` of a value that is not a struct with named fields"),
            ));
        };
        match named.iter().find(|(n, _)| n == name) {
            Some((_, inner)) => current = inner,
            None => {
                return Err(SpecErrorKind::UnknownField {
                    path: full.to_string(),
                    what,
                    name: name.to_string(),
                    available: join(named.iter().map(|(n, _)| n.as_str())),
                })
            }
        }
    }
    while let Layout::Option(inner) | Layout::COption(inner) = current {
        nullable = true;
        current = inner;
    }
    Ok((current.clone(), nullable))
}

/// A short human description of a layout for error messages (`u64`, `string`, `struct Foo`).
pub(crate) fn describe(ty: &Layout) -> String {
    match ty {
        Layout::Primitive(p) => format!("{p:?}").to_lowercase(),
        Layout::Option(t) | Layout::COption(t) => format!("option<{}>", describe(t)),
        Layout::Vec(t) => format!("vec<{}>", describe(t)),
        Layout::Array(t, n) => format!("[{}; {n}]", describe(t)),
        Layout::Struct { name, .. } => format!("struct {name}"),
        Layout::Enum { name, .. } => format!("enum {name}"),
    }
}
