//! Errors of IDL loading, checking and resolution.
//!
//! Every variant says *where* the problem is: a file path, a line and column, or a location
//! such as ``account `Pool` field `fees` `` built while walking the IDL.

use thiserror::Error;

/// Why an IDL could not be loaded, checked or resolved.
///
/// Variants carry plain strings so the error is `Clone + PartialEq` and can be embedded in
/// other errors (spec validation, code generation) without losing its context.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdlError {
    /// The IDL file could not be read.
    #[error("cannot read IDL file `{path}`: {message}")]
    Io {
        /// The path that was read.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// The text is not JSON, or its JSON does not have the shape of an IDL.
    #[error("invalid IDL JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// 1-based column of the error (0 when unknown).
        column: usize,
        /// What serde_json reported.
        message: String,
    },
    /// A type string or type object this loader does not know.
    #[error("unsupported type `{ty}` in {location}")]
    UnsupportedType {
        /// The offending type, as JSON text.
        ty: String,
        /// Where it was found, e.g. ``instruction `buy` arg `amount` ``.
        location: String,
    },
    /// A value has the wrong shape for where it appears (an array without a length, a
    /// discriminant that does not fit its integer type, fields mixing names and positions…).
    #[error("invalid {location}: {message}")]
    InvalidShape {
        /// Where it was found.
        location: String,
        /// What was expected.
        message: String,
    },
    /// A `defined` reference to a type that is not declared in `types`.
    #[error("unknown type `{name}` referenced by {location}")]
    UnknownType {
        /// The missing type's name.
        name: String,
        /// Where it was referenced.
        location: String,
    },
    /// An account or event whose type definition is missing from `types`.
    #[error("{kind} `{name}` has no type definition `{type_name}` in `types`")]
    MissingTypeDef {
        /// `account` or `event`.
        kind: String,
        /// The account or event name.
        name: String,
        /// The type name that was looked for.
        type_name: String,
    },
    /// An account or event has no discriminator and the format gives no way to derive one.
    #[error("{kind} `{name}` has no discriminator")]
    MissingDiscriminator {
        /// `account`, `event` or `instruction`.
        kind: String,
        /// The item's name.
        name: String,
    },
    /// A generic type used with the wrong number of arguments.
    #[error(
        "type `{name}` takes {expected} generic argument(s) but {found} were given in {location}"
    )]
    GenericArity {
        /// The generic type's name.
        name: String,
        /// Number of declared parameters.
        expected: usize,
        /// Number of arguments given.
        found: usize,
        /// Where it was used.
        location: String,
    },
    /// A generic argument of the wrong kind (a type for a const parameter or the reverse), or a
    /// const argument that is not a length.
    #[error("generic argument for parameter `{param}` of type `{name}` in {location}: {message}")]
    GenericArgument {
        /// The generic type's name.
        name: String,
        /// The parameter's name.
        param: String,
        /// Where it was used.
        location: String,
        /// What was wrong.
        message: String,
    },
    /// `{"generic": "T"}` or an array length naming no parameter of the enclosing type.
    #[error("unknown generic parameter `{param}` in {location}")]
    UnknownGenericParam {
        /// The parameter name used.
        param: String,
        /// Where it was used.
        location: String,
    },
    /// A type that contains itself, so it has no finite layout.
    #[error("recursive type `{name}`: {path}")]
    Recursive {
        /// The type found inside itself (or where the depth limit was reached).
        name: String,
        /// The chain of types that leads back to it, e.g. `A -> B -> A`.
        path: String,
    },
    /// Two different definitions under one type name.
    #[error("conflicting definitions of type `{name}`: {location}")]
    ConflictingType {
        /// The type name.
        name: String,
        /// Where the second definition comes from.
        location: String,
    },
    /// A looked-up account, event, instruction or type does not exist.
    #[error("no {kind} named `{name}` in IDL `{idl}`")]
    NotFound {
        /// `account`, `event`, `instruction` or `type`.
        kind: String,
        /// The name looked for.
        name: String,
        /// The IDL's program name.
        idl: String,
    },
}

impl IdlError {
    /// Converts a serde_json error into [`IdlError::Json`], keeping its line and column.
    pub(crate) fn json(err: &serde_json::Error) -> Self {
        let message = err.to_string();
        // serde_json appends " at line L column C"; the position is carried separately.
        let message = match message.rfind(" at line ") {
            Some(i) if err.line() > 0 => message[..i].to_string(),
            _ => message,
        };
        IdlError::Json {
            line: err.line(),
            column: err.column(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_keeps_position() {
        let err = serde_json::from_str::<serde_json::Value>("{\n  \"a\": ,\n}").unwrap_err();
        let e = IdlError::json(&err);
        let IdlError::Json {
            line,
            column,
            ref message,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(line, 2);
        assert!(column > 0);
        assert!(!message.contains("at line"), "{message}");
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn messages_name_the_location() {
        let e = IdlError::UnknownType {
            name: "Foo".into(),
            location: "account `Pool` field `fees`".into(),
        };
        assert_eq!(
            e.to_string(),
            "unknown type `Foo` referenced by account `Pool` field `fees`"
        );
    }
}
