//! Spec errors: what went wrong, in which file, where, and for which entity/field.

use std::fmt;
use std::path::PathBuf;

use crate::expr::ExprError;

/// A place in a spec file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The spec file (or IDL file) the error is in.
    pub file: PathBuf,
    /// 1-based line, when known (TOML input gives it; JSON input does not).
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// One problem found in a stack spec.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// Where the problem is.
    pub location: Location,
    /// The entity it concerns, if any.
    pub entity: Option<String>,
    /// The field, lookup or view of that entity it concerns, if any (`field x`, `view y`).
    pub item: Option<String>,
    /// What is wrong.
    pub kind: SpecErrorKind,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        match (&self.entity, &self.item) {
            (Some(e), Some(i)) => write!(f, "entity `{e}`, {i}: ")?,
            (Some(e), None) => write!(f, "entity `{e}`: ")?,
            (None, Some(i)) => write!(f, "{i}: ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for SpecError {}

/// The kinds of spec errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecErrorKind {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The file is not valid TOML/JSON or does not have the spec's shape.
    #[error("{0}")]
    Syntax(String),
    /// An IDL file failed to load.
    #[error("IDL `{path}`: {error}")]
    Idl {
        /// The IDL path as written in the spec.
        path: String,
        /// What the IDL loader said.
        error: String,
    },
    /// An IDL path names an environment variable that is not set.
    #[error("IDL path `{path}` uses the environment variable `{var}`, which is not set")]
    UnsetEnv {
        /// The variable.
        var: String,
        /// The IDL path as written.
        path: String,
    },
    /// A path names no account, instruction or event of the stack's IDLs.
    #[error("unknown account, instruction or event `{name}` (known: {known})")]
    UnknownSource {
        /// The name that was not found.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// A path names something defined by more than one IDL.
    #[error("`{name}` is defined by more than one IDL ({programs}); stacks must not mix programs that share item names")]
    AmbiguousSource {
        /// The ambiguous name.
        name: String,
        /// The programs that define it.
        programs: String,
    },
    /// A path names a field, argument or account role that does not exist.
    #[error("`{path}`: {what} `{name}` does not exist (available: {available})")]
    UnknownField {
        /// The full path as written.
        path: String,
        /// `field`, `argument`, `account role`.
        what: &'static str,
        /// The missing name.
        name: String,
        /// What exists there, comma-separated.
        available: String,
    },
    /// A path is malformed for the kind of source it names.
    #[error("`{path}`: {reason}")]
    BadPath {
        /// The path as written.
        path: String,
        /// What is expected instead.
        reason: String,
    },
    /// A strategy cannot apply to the type of its value.
    #[error("strategy `{strategy}` needs {expected}, but `{path}` is {found}")]
    TypeMismatch {
        /// The strategy (`sum`, `max`, ...).
        strategy: &'static str,
        /// What it needs.
        expected: &'static str,
        /// The value path.
        path: String,
        /// The type the path has.
        found: String,
    },
    /// Sources of one field disagree on the type.
    #[error(
        "sources disagree on the field's type: `{first}` is {first_ty} but `{other}` is {other_ty}"
    )]
    SourceTypeConflict {
        /// First source path.
        first: String,
        /// Its type.
        first_ty: String,
        /// The conflicting source path.
        other: String,
        /// Its type.
        other_ty: String,
    },
    /// The entity a source touches cannot be determined.
    #[error("cannot resolve the entity key for `{source_path}`: {reason}")]
    UnresolvableKey {
        /// The source the key is needed for.
        source_path: String,
        /// Why.
        reason: String,
    },
    /// Computed fields depend on each other in a cycle.
    #[error("computed fields form a cycle: {}", .cycle.join(" -> "))]
    ComputedCycle {
        /// The fields of the cycle, first repeated at the end.
        cycle: Vec<String>,
    },
    /// An expression does not parse or does not type-check.
    #[error("expression `{source_text}`: {error}")]
    Expression {
        /// The expression text.
        source_text: String,
        /// The parser's / checker's message.
        error: ExprError,
    },
    /// A name is used twice where names must be unique.
    #[error("duplicate {what} `{name}`{}", .first.as_ref().map(|l| format!(" (first defined at {l})")).unwrap_or_default())]
    Duplicate {
        /// `entity`, `field`, `view`, `IDL program`.
        what: &'static str,
        /// The repeated name.
        name: String,
        /// Where it was first defined.
        first: Option<Location>,
    },
    /// A derived view names a field its entity does not have, or cannot sort by.
    #[error("view sorts by `{field}`, {reason}")]
    BadSortField {
        /// The sort field.
        field: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Something is invalid in a way the other kinds do not describe.
    #[error("{0}")]
    Invalid(String),
}

/// Every problem found in one spec: validation reports all of them, not just the first.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    /// The errors, in the order they were found.
    pub fn errors(&self) -> &[SpecError] {
        &self.0
    }

    /// When every error is an unset environment variable in an IDL path: those variables
    /// (deduplicated), so tools can skip the stack and say why.
    pub fn only_unset_env(&self) -> Option<Vec<&str>> {
        let mut vars = Vec::new();
        for e in &self.0 {
            match &e.kind {
                SpecErrorKind::UnsetEnv { var, .. } => {
                    if !vars.contains(&var.as_str()) {
                        vars.push(var.as_str());
                    }
                }
                _ => return None,
            }
        }
        (!vars.is_empty()).then_some(vars)
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> Self {
        SpecErrors(vec![e])
    }
}
