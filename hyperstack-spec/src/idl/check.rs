//! Cross-reference checks of a loaded IDL ([`Idl::check`]).

use std::collections::HashMap;

use super::error::IdlError;
use super::model::{Idl, IdlFields, IdlGenericArg, IdlGenericParam, IdlType, IdlTypeDefBody};

impl Idl {
    /// Checks that the IDL is self-consistent:
    ///
    /// * type names are unique, and every account's and event's `type_name` is defined;
    /// * every `defined` reference names a declared type, with as many generic arguments as it
    ///   has parameters, each of the right kind (a type, or a length for a const parameter);
    /// * `{"generic": "T"}` and generic array lengths name a parameter of the enclosing type;
    /// * no type contains itself without indirection (`Vec`, `Option` or `COption`), which
    ///   would give it infinite size. (Generic arguments are not followed here;
    ///   [`Idl::layout`] rejects every recursive type, with or without indirection.)
    ///
    /// Errors name the account, event, instruction or type and the field they concern.
    pub fn check(&self) -> Result<(), IdlError> {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(self.types.len());
        for (i, def) in self.types.iter().enumerate() {
            if index.insert(&def.name, i).is_some() {
                let location = "the `types` section declares it twice".to_string();
                return Err(IdlError::ConflictingType {
                    name: def.name.clone(),
                    location,
                });
            }
        }
        let owners = self
            .accounts
            .iter()
            .map(|a| ("account", &a.name, &a.type_name));
        let owners = owners.chain(self.events.iter().map(|e| ("event", &e.name, &e.type_name)));
        let mut prefixes: HashMap<&str, String> = HashMap::new();
        for (kind, name, type_name) in owners {
            if !index.contains_key(type_name.as_str()) {
                return Err(IdlError::MissingTypeDef {
                    kind: kind.into(),
                    name: name.clone(),
                    type_name: type_name.clone(),
                });
            }
            prefixes
                .entry(type_name)
                .or_insert_with(|| format!("{kind} `{name}`"));
        }
        for def in &self.types {
            let prefix = prefixes.get(def.name.as_str()).cloned();
            let prefix = prefix.unwrap_or_else(|| format!("type `{}`", def.name));
            let check = |ty: &IdlType, at: String| self.check_type(ty, &def.generics, &at);
            for_each_type(&def.body, &prefix, check)?;
        }
        for ix in &self.instructions {
            for arg in &ix.args {
                let at = format!("instruction `{}` arg `{}`", ix.name, arg.name);
                self.check_type(&arg.ty, &[], &at)?;
            }
        }
        self.check_direct_cycles(&index)
    }

    fn check_type(
        &self,
        ty: &IdlType,
        params: &[IdlGenericParam],
        at: &str,
    ) -> Result<(), IdlError> {
        let unknown = |param: &str| IdlError::UnknownGenericParam {
            param: param.into(),
            location: at.into(),
        };
        match ty {
            IdlType::Primitive(_) => Ok(()),
            IdlType::Option(t) | IdlType::COption(t) | IdlType::Vec(t) | IdlType::Array(t, _) => {
                self.check_type(t, params, at)
            }
            IdlType::GenericArray(t, n) => {
                let declared = params
                    .iter()
                    .any(|p| matches!(p, IdlGenericParam::Const { name, .. } if name == n));
                if !declared {
                    return Err(unknown(n));
                }
                self.check_type(t, params, at)
            }
            IdlType::Generic(n) => {
                let declared = params
                    .iter()
                    .any(|p| matches!(p, IdlGenericParam::Type { name } if name == n));
                if declared {
                    Ok(())
                } else {
                    Err(unknown(n))
                }
            }
            IdlType::Defined { name, generics } => {
                let def = self.type_def(name).ok_or_else(|| IdlError::UnknownType {
                    name: name.clone(),
                    location: at.into(),
                })?;
                if def.generics.len() != generics.len() {
                    return Err(IdlError::GenericArity {
                        name: name.clone(),
                        expected: def.generics.len(),
                        found: generics.len(),
                        location: at.into(),
                    });
                }
                for (param, arg) in def.generics.iter().zip(generics) {
                    self.check_arg(name, param, arg, params, at)?;
                }
                Ok(())
            }
        }
    }

    fn check_arg(
        &self,
        name: &str,
        param: &IdlGenericParam,
        arg: &IdlGenericArg,
        params: &[IdlGenericParam],
        at: &str,
    ) -> Result<(), IdlError> {
        let bad = |param: &str, message: String| IdlError::GenericArgument {
            name: name.into(),
            param: param.into(),
            location: at.into(),
            message,
        };
        match (param, arg) {
            (IdlGenericParam::Type { .. }, IdlGenericArg::Type(t)) => {
                self.check_type(t, params, at)
            }
            (IdlGenericParam::Const { name: p, .. }, IdlGenericArg::Const(v)) => {
                let is_param = params
                    .iter()
                    .any(|d| matches!(d, IdlGenericParam::Const { name, .. } if name == v));
                if v.trim().parse::<usize>().is_ok() || is_param {
                    Ok(())
                } else {
                    Err(bad(p, format!("`{v}` is not a length")))
                }
            }
            (IdlGenericParam::Type { name: p }, IdlGenericArg::Const(_)) => {
                Err(bad(p, "a constant was given for a type parameter".into()))
            }
            (IdlGenericParam::Const { name: p, .. }, IdlGenericArg::Type(_)) => {
                Err(bad(p, "a type was given for a const parameter".into()))
            }
        }
    }

    /// Finds a cycle of type definitions that contain each other directly (iterative DFS).
    fn check_direct_cycles(&self, index: &HashMap<&str, usize>) -> Result<(), IdlError> {
        let edges: Vec<Vec<usize>> = self
            .types
            .iter()
            .map(|def| {
                let mut out = Vec::new();
                let _ = for_each_type(&def.body, "", |ty, _| {
                    direct_refs(ty, &mut |n| out.extend(index.get(n).copied()));
                    Ok(())
                });
                out
            })
            .collect();
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; self.types.len()];
        for root in 0..self.types.len() {
            if state[root] != 0 {
                continue;
            }
            let mut path: Vec<(usize, usize)> = vec![(root, 0)];
            state[root] = 1;
            while let Some(&mut (node, ref mut next)) = path.last_mut() {
                let Some(&child) = edges[node].get(*next) else {
                    state[node] = 2;
                    path.pop();
                    continue;
                };
                *next += 1;
                match state[child] {
                    0 => {
                        state[child] = 1;
                        path.push((child, 0));
                    }
                    1 => {
                        let start = path.iter().position(|&(n, _)| n == child).unwrap_or(0);
                        let mut names: Vec<&str> = path[start..]
                            .iter()
                            .map(|&(n, _)| self.types[n].name.as_str())
                            .collect();
                        names.push(&self.types[child].name);
                        let path = format!(
                            "{} (contained without Vec/Option indirection)",
                            names.join(" -> ")
                        );
                        return Err(IdlError::Recursive {
                            name: self.types[child].name.clone(),
                            path,
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Calls `f` with every type used directly in a definition body and its location.
fn for_each_type(
    body: &IdlTypeDefBody,
    prefix: &str,
    mut f: impl FnMut(&IdlType, String) -> Result<(), IdlError>,
) -> Result<(), IdlError> {
    match body {
        IdlTypeDefBody::Struct(fields) => for_each_field(fields, prefix, &mut f),
        IdlTypeDefBody::Enum(variants) => variants.iter().try_for_each(|v| {
            for_each_field(&v.fields, &format!("{prefix} variant `{}`", v.name), &mut f)
        }),
        IdlTypeDefBody::Alias(t) => f(t, format!("{prefix} alias")),
    }
}

fn for_each_field(
    fields: &IdlFields,
    prefix: &str,
    f: &mut impl FnMut(&IdlType, String) -> Result<(), IdlError>,
) -> Result<(), IdlError> {
    match fields {
        IdlFields::Unit => Ok(()),
        IdlFields::Named(named) => named
            .iter()
            .try_for_each(|fd| f(&fd.ty, format!("{prefix} field `{}`", fd.name))),
        IdlFields::Tuple(types) => types
            .iter()
            .enumerate()
            .try_for_each(|(i, t)| f(t, format!("{prefix} field {i}"))),
    }
}

/// Names of types `ty` contains by value (through arrays, not through `Vec` / `Option`).
fn direct_refs(ty: &IdlType, out: &mut impl FnMut(&str)) {
    match ty {
        IdlType::Array(t, _) | IdlType::GenericArray(t, _) => direct_refs(t, out),
        IdlType::Defined { name, .. } => out(name),
        IdlType::Primitive(_)
        | IdlType::Option(_)
        | IdlType::COption(_)
        | IdlType::Vec(_)
        | IdlType::Generic(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idl::test_util::{anchor_idl, LEGACY_IDL};

    fn check(accounts: &[&str], types: &str) -> Result<(), IdlError> {
        Idl::from_json_str(&anchor_idl(accounts, types))?.check()
    }

    const POOL_FOO: &str = r#"[{"name": "Pool", "type": {"kind": "struct", "fields": [
        {"name": "fees", "type": {"defined": {"name": "Foo"}}}]}}]"#;

    #[test]
    fn unknown_type_names_account_and_field() {
        let err = check(&["Pool"], POOL_FOO).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown type `Foo` referenced by account `Pool` field `fees`"
        );
        let err = check(&[], POOL_FOO).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown type `Foo` referenced by type `Pool` field `fees`"
        );
        let text = LEGACY_IDL.replace(
            r#""type": "u64"}, {"name": "maxSolCost""#,
            r#""type": {"defined": "Gone"}}, {"name": "maxSolCost""#,
        );
        let err = Idl::from_json_str(&text)
            .and_then(|i| i.check())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown type `Gone` referenced by instruction `buy` arg `amount`"
        );
    }

    #[test]
    fn missing_type_definition_for_account() {
        let err = check(&["Pool", "Vault"], POOL_FOO.replace("Foo", "Pool").as_str()).unwrap_err();
        assert!(
            matches!(err, IdlError::MissingTypeDef { ref name, .. } if name == "Vault"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "account `Vault` has no type definition `Vault` in `types`"
        );
    }

    #[test]
    fn duplicate_type_names() {
        let types = r#"[{"name": "A", "type": {"kind": "struct"}}, {"name": "A", "type": {"kind": "struct"}}]"#;
        assert!(matches!(
            check(&[], types),
            Err(IdlError::ConflictingType { .. })
        ));
    }

    const GENERIC: &str = r#"{"name": "G", "generics": [{"kind": "type", "name": "T"},
        {"kind": "const", "name": "N", "type": "usize"}],
        "type": {"kind": "struct", "fields": [{"name": "x", "type": {"array": [{"generic": "T"}, {"generic": "N"}]}}]}}"#;

    fn user(args: &str) -> String {
        format!(
            r#"[{GENERIC}, {{"name": "U", "type": {{"kind": "struct", "fields": [
                {{"name": "g", "type": {{"defined": {{"name": "G", "generics": {args}}}}}}}]}}}}]"#
        )
    }

    #[test]
    fn generic_arguments() {
        let ok = user(r#"[{"kind": "type", "type": "u8"}, {"kind": "const", "value": "3"}]"#);
        assert_eq!(check(&["U"], &ok), Ok(()));
        let err = check(&["U"], &user(r#"[{"kind": "type", "type": "u8"}]"#)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "type `G` takes 2 generic argument(s) but 1 were given in account `U` field `g`"
        );
        let swapped = user(r#"[{"kind": "const", "value": "3"}, {"kind": "type", "type": "u8"}]"#);
        assert!(matches!(
            check(&["U"], &swapped),
            Err(IdlError::GenericArgument { .. })
        ));
        let not_len = user(r#"[{"kind": "type", "type": "u8"}, {"kind": "const", "value": "M"}]"#);
        let err = check(&["U"], &not_len).unwrap_err();
        assert!(
            matches!(err, IdlError::GenericArgument { ref param, .. } if param == "N"),
            "{err}"
        );
    }

    #[test]
    fn unknown_generic_parameter() {
        let types = GENERIC.replace(r#"{"generic": "N"}"#, r#"{"generic": "K"}"#);
        let err = check(&[], &format!("[{types}]")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown generic parameter `K` in type `G` field `x`"
        );
        let types = GENERIC.replace(r#"[{"generic": "T"}"#, r#"[{"generic": "N"}"#);
        assert!(matches!(
            check(&[], &format!("[{types}]")),
            Err(IdlError::UnknownGenericParam { .. })
        ));
    }

    #[test]
    fn recursion_without_indirection() {
        let types = r#"[
            {"name": "A", "type": {"kind": "struct", "fields": [{"name": "b", "type": {"array": [{"defined": {"name": "B"}}, 2]}}]}},
            {"name": "B", "type": {"kind": "enum", "variants": [{"name": "X", "fields": [{"defined": {"name": "A"}}]}]}}]"#;
        let err = check(&[], types).unwrap_err();
        assert_eq!(
            err.to_string(),
            "recursive type `A`: A -> B -> A (contained without Vec/Option indirection)"
        );
        // Through a Vec the type is finite in Rust, so `check` accepts it.
        assert_eq!(
            check(
                &[],
                &types.replace(
                    r#"{"array": [{"defined": {"name": "B"}}, 2]}"#,
                    r#"{"vec": {"defined": {"name": "B"}}}"#
                )
            ),
            Ok(())
        );
    }
}
