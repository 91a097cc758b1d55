//! The resolver behind [`Idl::layout`]: expands named types, substitutes generic arguments
//! and refuses recursive types.

use super::error::IdlError;
use super::layout::{Layout, LayoutFields};
use super::model::{
    Idl, IdlFields, IdlGenericArg, IdlGenericParam, IdlType, IdlTypeDef, IdlTypeDefBody,
};
use super::resolve::MAX_LAYOUT_DEPTH;

/// A generic parameter bound to its (already resolved) argument.
#[derive(Debug, Clone)]
pub(super) enum Bound {
    Type(Layout),
    Const(usize),
}

pub(super) type Scope<'s> = [(&'s str, Bound)];

fn lookup<'b>(scope: &'b Scope<'_>, name: &str) -> Option<&'b Bound> {
    scope.iter().find(|(n, _)| *n == name).map(|(_, b)| b)
}

/// Walks types, keeping the chain of type definitions being expanded to detect recursion.
pub(super) struct Resolver<'a> {
    idl: &'a Idl,
    /// Type definitions being expanded, outermost first.
    stack: Vec<&'a str>,
    /// Current nesting of type uses of any kind, bounded by [`MAX_NESTING`].
    depth: usize,
}

/// Bound on the nesting of type uses (`Vec<Option<[T; 4]>>` is 3 deep), so that no input can
/// exhaust the call stack.
const MAX_NESTING: usize = 128;

impl<'a> Resolver<'a> {
    /// A resolver with an empty stack.
    pub(super) fn new(idl: &'a Idl) -> Self {
        Resolver {
            idl,
            stack: Vec::new(),
            depth: 0,
        }
    }

    /// Resolves one type use in `scope`; `at` names where it appears.
    pub(super) fn ty(
        &mut self,
        ty: &'a IdlType,
        scope: &Scope<'_>,
        at: &str,
    ) -> Result<Layout, IdlError> {
        if self.depth >= MAX_NESTING {
            let name = self.stack.last().copied().unwrap_or("type").to_string();
            let path = format!(
                "{at}: types nested deeper than {MAX_NESTING} levels (in {})",
                self.stack.join(" -> ")
            );
            return Err(IdlError::Recursive { name, path });
        }
        self.depth += 1;
        let result = self.ty_inner(ty, scope, at);
        self.depth -= 1;
        result
    }

    fn ty_inner(
        &mut self,
        ty: &'a IdlType,
        scope: &Scope<'_>,
        at: &str,
    ) -> Result<Layout, IdlError> {
        let boxed = |r: Result<Layout, IdlError>| r.map(Box::new);
        Ok(match ty {
            IdlType::Primitive(p) => Layout::Primitive(*p),
            IdlType::Option(t) => Layout::Option(boxed(self.ty(t, scope, at))?),
            IdlType::COption(t) => Layout::COption(boxed(self.ty(t, scope, at))?),
            IdlType::Vec(t) => Layout::Vec(boxed(self.ty(t, scope, at))?),
            IdlType::Array(t, n) => Layout::Array(boxed(self.ty(t, scope, at))?, *n),
            IdlType::GenericArray(t, param) => match lookup(scope, param) {
                Some(Bound::Const(n)) => Layout::Array(boxed(self.ty(t, scope, at))?, *n),
                _ => return Err(unknown_param(param, at)),
            },
            IdlType::Generic(param) => match lookup(scope, param) {
                Some(Bound::Type(layout)) => layout.clone(),
                _ => return Err(unknown_param(param, at)),
            },
            IdlType::Defined { name, generics } => {
                let args = self.args(name, generics, scope, at)?;
                return self.defined(name, &args, at);
            }
        })
    }

    /// Resolves generic arguments in the caller's scope, before entering the callee, so that
    /// the stack only ever holds definitions nested inside each other.
    fn args(
        &mut self,
        name: &str,
        args: &'a [IdlGenericArg],
        scope: &Scope<'_>,
        at: &str,
    ) -> Result<Vec<Bound>, IdlError> {
        let def = self.def(name, at)?;
        if def.generics.len() != args.len() {
            return Err(IdlError::GenericArity {
                name: name.into(),
                expected: def.generics.len(),
                found: args.len(),
                location: at.into(),
            });
        }
        let bind = |(param, arg): (&IdlGenericParam, &'a IdlGenericArg)| match (param, arg) {
            (IdlGenericParam::Type { .. }, IdlGenericArg::Type(t)) => {
                self.ty(t, scope, at).map(Bound::Type)
            }
            (IdlGenericParam::Const { name: param, .. }, IdlGenericArg::Const(v)) => {
                match (v.trim().parse::<usize>(), lookup(scope, v)) {
                    (Ok(n), _) | (Err(_), Some(&Bound::Const(n))) => Ok(Bound::Const(n)),
                    _ => Err(bad_arg(name, param, at, format!("`{v}` is not a length"))),
                }
            }
            (IdlGenericParam::Type { name: param }, IdlGenericArg::Const(_)) => Err(bad_arg(
                name,
                param,
                at,
                "a constant was given for a type parameter".into(),
            )),
            (IdlGenericParam::Const { name: param, .. }, IdlGenericArg::Type(_)) => Err(bad_arg(
                name,
                param,
                at,
                "a type was given for a const parameter".into(),
            )),
        };
        def.generics.iter().zip(args).map(bind).collect()
    }

    fn def(&self, name: &str, at: &str) -> Result<&'a IdlTypeDef, IdlError> {
        let unknown = || IdlError::UnknownType {
            name: name.into(),
            location: at.into(),
        };
        self.idl.type_def(name).ok_or_else(unknown)
    }

    /// Expands the definition `name` with its parameters bound to `bound`.
    pub(super) fn defined(
        &mut self,
        name: &str,
        bound: &[Bound],
        at: &str,
    ) -> Result<Layout, IdlError> {
        let def = self.def(name, at)?;
        if def.generics.len() != bound.len() {
            return Err(IdlError::GenericArity {
                name: name.into(),
                expected: def.generics.len(),
                found: bound.len(),
                location: at.into(),
            });
        }
        let looped = self.stack.contains(&def.name.as_str());
        if looped || self.stack.len() >= MAX_LAYOUT_DEPTH {
            let mut path = self.stack.join(" -> ");
            path.push_str(&format!(" -> {name}"));
            if !looped {
                path.push_str(&format!(" (deeper than {MAX_LAYOUT_DEPTH} types)"));
            }
            return Err(IdlError::Recursive {
                name: name.into(),
                path,
            });
        }
        let names = def.generics.iter().map(|g| match g {
            IdlGenericParam::Type { name } | IdlGenericParam::Const { name, .. } => name.as_str(),
        });
        let scope: Vec<(&str, Bound)> = names.zip(bound.iter().cloned()).collect();
        self.stack.push(&def.name);
        let prefix = format!("type `{}`", def.name);
        let result = match &def.body {
            IdlTypeDefBody::Struct(fields) => {
                self.fields(fields, &scope, &prefix)
                    .map(|fields| Layout::Struct {
                        name: def.name.clone(),
                        fields,
                    })
            }
            IdlTypeDefBody::Enum(variants) => {
                let mut out = Vec::with_capacity(variants.len());
                for v in variants {
                    let at = format!("{prefix} variant `{}`", v.name);
                    out.push((v.name.clone(), self.fields(&v.fields, &scope, &at)?));
                }
                Ok(Layout::Enum {
                    name: def.name.clone(),
                    variants: out,
                })
            }
            IdlTypeDefBody::Alias(t) => self.ty(t, &scope, &format!("{prefix} alias")),
        };
        self.stack.pop();
        result
    }

    fn fields(
        &mut self,
        fields: &'a IdlFields,
        scope: &Scope<'_>,
        prefix: &str,
    ) -> Result<LayoutFields, IdlError> {
        Ok(match fields {
            IdlFields::Unit => LayoutFields::Unit,
            IdlFields::Named(fields) => LayoutFields::Named(
                fields
                    .iter()
                    .map(|f| {
                        let at = format!("{prefix} field `{}`", f.name);
                        Ok((f.name.clone(), self.ty(&f.ty, scope, &at)?))
                    })
                    .collect::<Result<_, IdlError>>()?,
            ),
            IdlFields::Tuple(types) => LayoutFields::Tuple(
                types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| self.ty(t, scope, &format!("{prefix} field {i}")))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

fn unknown_param(param: &str, at: &str) -> IdlError {
    IdlError::UnknownGenericParam {
        param: param.into(),
        location: at.into(),
    }
}

fn bad_arg(name: &str, param: &str, at: &str, message: String) -> IdlError {
    IdlError::GenericArgument {
        name: name.into(),
        param: param.into(),
        location: at.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use crate::idl::test_util::anchor_idl;
    use crate::idl::{Idl, IdlError};

    fn load(accounts: &[&str], types: &str) -> Idl {
        Idl::from_json_str(&anchor_idl(accounts, types)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn recursion_through_vec_has_no_layout() {
        let types = r#"[
            {"name": "Node", "type": {"kind": "struct", "fields": [
                {"name": "children", "type": {"vec": {"defined": {"name": "Node"}}}}]}}]"#;
        let idl = load(&["Node"], types);
        assert_eq!(idl.check(), Ok(()));
        let err = idl.account_layout("Node").unwrap_err();
        assert_eq!(
            err,
            IdlError::Recursive {
                name: "Node".into(),
                path: "Node -> Node".into()
            }
        );
    }

    #[test]
    fn depth_limit() {
        // T0 -> T1 -> … -> T69: not recursive, but deeper than the limit.
        let types: Vec<String> = (0..70)
            .map(|i| {
                let field = if i == 69 {
                    r#""u8""#.to_string()
                } else {
                    format!(r#"{{"defined": {{"name": "T{}"}}}}"#, i + 1)
                };
                format!(r#"{{"name": "T{i}", "type": {{"kind": "struct", "fields": [{field}]}}}}"#)
            })
            .collect();
        let idl = load(&["T0", "T10"], &format!("[{}]", types.join(",")));
        assert_eq!(idl.check(), Ok(()));
        let err = idl.account_layout("T0").unwrap_err();
        assert!(
            matches!(err, IdlError::Recursive { ref name, .. } if name == "T64"),
            "{err}"
        );
        assert!(err.to_string().contains("deeper than 64"), "{err}");
        assert!(idl.account_layout("T10").is_ok());
    }

    /// Deep nesting inside every one of many chained types stays within the call stack.
    #[test]
    fn deep_nesting_is_bounded() {
        let nested = |inner: String| (0..55).fold(inner, |t, _| format!(r#"{{"vec": {t}}}"#));
        let types: Vec<String> = (0..64)
            .map(|i| {
                let leaf = if i == 63 {
                    r#""u8""#.to_string()
                } else {
                    format!(r#"{{"defined": {{"name": "T{}"}}}}"#, i + 1)
                };
                let field = nested(leaf);
                format!(r#"{{"name": "T{i}", "type": {{"kind": "struct", "fields": [{field}]}}}}"#)
            })
            .collect();
        let text = anchor_idl(&["T0"], &format!("[{}]", types.join(",")));
        let idl = Idl::from_json_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let err = idl.account_layout("T0").unwrap_err();
        assert!(matches!(err, IdlError::Recursive { .. }), "{err}");
        assert!(
            err.to_string().contains("nested deeper than 128 levels"),
            "{err}"
        );
    }

    #[test]
    fn generic_errors_in_layout() {
        let types = r#"[
            {"name": "W", "generics": [{"kind": "const", "name": "N", "type": "usize"}],
             "type": {"kind": "struct", "fields": [{"array": ["u8", {"generic": "N"}]}]}},
            {"name": "U", "type": {"kind": "struct", "fields": [
                {"defined": {"name": "W", "generics": [{"kind": "type", "type": "u8"}]}}]}},
            {"name": "V", "type": {"kind": "struct", "fields": [
                {"defined": {"name": "W", "generics": [{"kind": "const", "value": "x"}]}}]}}]"#;
        let idl = load(&["U", "V"], types);
        let err = idl.account_layout("U").unwrap_err();
        assert_eq!(
            err.to_string(),
            "generic argument for parameter `N` of type `W` in type `U` field 0: \
             a type was given for a const parameter"
        );
        let err = idl.account_layout("V").unwrap_err();
        assert!(matches!(err, IdlError::GenericArgument { .. }), "{err}");
    }
}
