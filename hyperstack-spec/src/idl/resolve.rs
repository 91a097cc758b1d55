//! Lookups by name and resolution of types into concrete [`Layout`]s.

use super::error::IdlError;
use super::layout::{Layout, LayoutFields};
use super::model::{Idl, IdlAccount, IdlEvent, IdlInstruction, IdlType, IdlTypeDef};
use super::resolver::Resolver;

/// Deepest nesting of types [`Idl::layout`] follows before giving up with
/// [`IdlError::Recursive`].
pub const MAX_LAYOUT_DEPTH: usize = 64;

/// Converts `camelCase`, `PascalCase`, `kebab-case` or `snake_case` to `snake_case`, the way
/// Anchor names instructions: `claimSol` → `claim_sol`, `initializeV2` → `initialize_v2`,
/// `HTTPServer` → `http_server`.
pub fn snake_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' || c == ' ' || c == '_' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary && !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Converts a name to `UpperCamelCase` (`OreRound_state` → `OreRoundState`), word boundaries
/// as [`snake_case`] finds them.
pub fn camel_case(s: &str) -> String {
    snake_case(s)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

impl Idl {
    /// The account type named `name`.
    pub fn account(&self, name: &str) -> Option<&IdlAccount> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// The event named `name`.
    pub fn event(&self, name: &str) -> Option<&IdlEvent> {
        self.events.iter().find(|e| e.name == name)
    }

    /// The type definition named `name`.
    pub fn type_def(&self, name: &str) -> Option<&IdlTypeDef> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The instruction named `name`, spelled as in the IDL (`claimSol`) or in snake_case
    /// (`claim_sol`); an exact match wins.
    pub fn instruction(&self, name: &str) -> Option<&IdlInstruction> {
        self.instructions
            .iter()
            .find(|i| i.name == name)
            .or_else(|| {
                let wanted = snake_case(name);
                self.instructions
                    .iter()
                    .find(|i| snake_case(&i.name) == wanted)
            })
    }

    /// Resolves `ty` into a concrete [`Layout`]: named types looked up, aliases expanded,
    /// generic arguments substituted. `ty` itself must not use generic parameters.
    ///
    /// Fails on unknown types, wrong generic arguments, and recursive types (which have no
    /// finite layout), or past [`MAX_LAYOUT_DEPTH`] nested named types.
    pub fn layout(&self, ty: &IdlType) -> Result<Layout, IdlError> {
        Resolver::new(self).ty(ty, &[], "layout request")
    }

    /// The layout of an account's data (after its discriminator).
    pub fn account_layout(&self, name: &str) -> Result<Layout, IdlError> {
        let account = self
            .account(name)
            .ok_or_else(|| self.not_found("account", name))?;
        self.named_layout(&account.type_name, &format!("account `{name}`"))
    }

    /// The layout of an event's data (after its discriminator).
    pub fn event_layout(&self, name: &str) -> Result<Layout, IdlError> {
        let event = self
            .event(name)
            .ok_or_else(|| self.not_found("event", name))?;
        self.named_layout(&event.type_name, &format!("event `{name}`"))
    }

    /// The layout of an instruction's arguments, as a struct named after the instruction.
    /// `name` is looked up like [`Idl::instruction`].
    pub fn instruction_layout(&self, name: &str) -> Result<Layout, IdlError> {
        let ix = self
            .instruction(name)
            .ok_or_else(|| self.not_found("instruction", name))?;
        let mut resolver = Resolver::new(self);
        let mut fields = Vec::with_capacity(ix.args.len());
        for arg in &ix.args {
            let at = format!("instruction `{}` arg `{}`", ix.name, arg.name);
            fields.push((arg.name.clone(), resolver.ty(&arg.ty, &[], &at)?));
        }
        Ok(Layout::Struct {
            name: ix.name.clone(),
            fields: LayoutFields::Named(fields),
        })
    }

    fn named_layout(&self, type_name: &str, location: &str) -> Result<Layout, IdlError> {
        Resolver::new(self).defined(type_name, &[], location)
    }

    fn not_found(&self, kind: &str, name: &str) -> IdlError {
        IdlError::NotFound {
            kind: kind.into(),
            name: name.into(),
            idl: self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idl::test_util::{idl, GENERIC_IDL, STEEL_IDL};
    use crate::idl::{IdlGenericArg, IdlPrimitive};

    fn prim(p: IdlPrimitive) -> Layout {
        Layout::Primitive(p)
    }

    fn pair(a: Layout, n: usize) -> Layout {
        let fields = vec![
            ("a".to_string(), a.clone()),
            (
                "b".to_string(),
                Layout::Array(Box::new(prim(IdlPrimitive::U8)), n),
            ),
            ("c".to_string(), Layout::Vec(Box::new(a))),
        ];
        Layout::Struct {
            name: "Pair".into(),
            fields: LayoutFields::Named(fields),
        }
    }

    #[test]
    fn camel_case_examples() {
        assert_eq!(camel_case("OreRound_state"), "OreRoundState");
        assert_eq!(camel_case("Token_stats_inner"), "TokenStatsInner");
        assert_eq!(camel_case("claimSol"), "ClaimSol");
    }

    #[test]
    fn snake_case_examples() {
        assert_eq!(snake_case("claimSol"), "claim_sol");
        assert_eq!(snake_case("claim_sol"), "claim_sol");
        assert_eq!(snake_case("ClaimSol"), "claim_sol");
        assert_eq!(snake_case("initializeV2"), "initialize_v2");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("set-admin"), "set_admin");
        assert_eq!(snake_case(""), "");
    }

    #[test]
    fn lookups() {
        let steel = idl(STEEL_IDL);
        assert!(steel.instruction("claimSol").is_some());
        assert!(steel.instruction("claim_sol").is_some());
        assert!(steel.instruction("claim").is_none());
        assert!(steel.account("Miner").is_some() && steel.account("miner").is_none());
        assert!(steel.event("ResetEvent").is_some());
        assert!(steel.type_def("Numeric").is_some());
        let err = steel.account_layout("Nope").unwrap_err();
        assert_eq!(err.to_string(), "no account named `Nope` in IDL `ore`");
        assert!(matches!(
            steel.event_layout("Nope"),
            Err(IdlError::NotFound { .. })
        ));
    }

    #[test]
    fn generics_are_substituted() {
        let gen = idl(GENERIC_IDL);
        let holder = gen.account_layout("Holder").unwrap();
        assert_eq!(
            holder.field("pair"),
            Some(&pair(prim(IdlPrimitive::Pubkey), 2))
        );
        // An alias with a const parameter passed through to `Pair`'s const parameter.
        assert_eq!(
            holder.field("bytes"),
            Some(&pair(prim(IdlPrimitive::U8), 3))
        );
        let wrap = |l| Layout::Struct {
            name: "Wrapper".into(),
            fields: LayoutFields::Tuple(vec![l]),
        };
        // `Wrapper<Wrapper<u8>>` nests one definition in itself without being recursive.
        assert_eq!(
            holder.field("nested"),
            Some(&wrap(wrap(prim(IdlPrimitive::U8))))
        );
        let Some(Layout::Enum { variants, .. }) = holder.field("side") else {
            panic!("{holder:?}")
        };
        let kinds: Vec<(&str, usize)> = variants
            .iter()
            .map(|(n, f)| (n.as_str(), f.len()))
            .collect();
        assert_eq!(kinds, [("Bid", 0), ("Ask", 1), ("Both", 2)]);
        let args = gen.instruction_layout("set_pair").unwrap();
        assert_eq!(args.field("pair"), Some(&pair(prim(IdlPrimitive::U16), 4)));
        assert_eq!(args.type_name(), Some("setPair"));
    }

    #[test]
    fn layout_of_a_generic_use() {
        let gen = idl(GENERIC_IDL);
        let ty = IdlType::Defined {
            name: "Bytes".into(),
            generics: vec![IdlGenericArg::Const("8".into())],
        };
        assert_eq!(gen.layout(&ty), Ok(pair(prim(IdlPrimitive::U8), 8)));
        let bare = IdlType::Defined {
            name: "Pair".into(),
            generics: vec![],
        };
        let err = gen.layout(&bare).unwrap_err();
        assert!(
            matches!(
                err,
                IdlError::GenericArity {
                    expected: 2,
                    found: 0,
                    ..
                }
            ),
            "{err}"
        );
        let err = gen.layout(&IdlType::Generic("T".into())).unwrap_err();
        assert!(matches!(err, IdlError::UnknownGenericParam { .. }), "{err}");
    }
}
