//! Reading a spec file and its IDLs from disk.

use std::path::{Path, PathBuf};

use crate::error::{Location, SpecError, SpecErrorKind, SpecErrors};
use crate::file::{parse_spec_text, LineIndex, SpecFormat};
use crate::idl::Idl;
use crate::model::Stack;
use crate::validate::validate;

/// A loaded stack and every file it was read from (the spec and its IDLs), so build tools can
/// track them.
#[derive(Debug, Clone)]
pub struct LoadedStack {
    /// The checked stack.
    pub stack: Stack,
    /// The spec file followed by its IDL files, as paths on disk.
    pub inputs: Vec<PathBuf>,
}

/// Loads and validates a stack spec file (`*.toml`, or `*.json`), reading its IDLs relative to
/// the spec's directory.
///
/// ```no_run
/// let stack = hyperstack_spec::load_stack("examples/pump/pump.stack.toml".as_ref())?;
/// println!("{} entities", stack.entities.len());
/// # Ok::<(), hyperstack_spec::SpecErrors>(())
/// ```
pub fn load_stack(path: &Path) -> Result<Stack, SpecErrors> {
    load_stack_with_inputs(path).map(|l| l.stack)
}

/// Like [`load_stack`], also returning the files that were read.
pub fn load_stack_with_inputs(path: &Path) -> Result<LoadedStack, SpecErrors> {
    load_stack_with_env(path, &process_env)
}

/// The value of an environment variable as IDL paths use it: unset and empty are the same,
/// a relative value is taken relative to the current directory.
pub fn process_env(name: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
    let p = Path::new(&value);
    if p.is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            return Some(cwd.join(p).to_string_lossy().into_owned());
        }
    }
    Some(value)
}

/// Like [`load_stack_with_inputs`], with `${NAME}` in IDL paths taken from `env` instead of
/// the process environment ([`process_env`]).
///
/// ```no_run
/// let fixtures = "/work/shared/fixtures".to_string();
/// let loaded = hyperstack_spec::load_stack_with_env(
///     "examples/ore/ore.stack.toml".as_ref(),
///     &|name| (name == "HYPERSTACK_FIXTURES").then(|| fixtures.clone()),
/// )?;
/// # Ok::<(), hyperstack_spec::SpecErrors>(())
/// ```
pub fn load_stack_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LoadedStack, SpecErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| error_at(path, SpecErrorKind::Io(e.to_string())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    load_stack_from_str_env(&text, path, SpecFormat::from_path(path), env, |rel| {
        let p = dir.join(rel);
        std::fs::read_to_string(&p)
            .map(|t| (p.clone(), t))
            .map_err(|e| format!("cannot read {}: {e}", p.display()))
    })
}

/// Loads a stack from spec text. `read_idl` maps an `idl` entry of the spec (with `${NAME}`
/// replaced from the process environment) to the file's path and text (or an error message);
/// `path` is used in error messages.
pub fn load_stack_from_str(
    text: &str,
    path: &Path,
    format: SpecFormat,
    read_idl: impl Fn(&str) -> Result<(PathBuf, String), String>,
) -> Result<LoadedStack, SpecErrors> {
    load_stack_from_str_env(text, path, format, &process_env, read_idl)
}

/// Replaces each `${NAME}` of an IDL path with `env(NAME)`; `Err` names the first variable
/// that is unset (or the malformed reference).
pub fn expand_env(path: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`${{` without a closing `}}` in `{path}`"));
        };
        let name = &after[..end];
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("`${{{name}}}` is not an environment variable name"));
        }
        match env(name) {
            Some(value) => out.push_str(&value),
            None => return Err(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// [`load_stack_from_str`] with `${NAME}` in IDL paths taken from `env`.
pub fn load_stack_from_str_env(
    text: &str,
    path: &Path,
    format: SpecFormat,
    env: &dyn Fn(&str) -> Option<String>,
    read_idl: impl Fn(&str) -> Result<(PathBuf, String), String>,
) -> Result<LoadedStack, SpecErrors> {
    let index = (format == SpecFormat::Toml).then(|| LineIndex::new(text));
    let file = parse_spec_text(text, format).map_err(|e| {
        let (line, column) = match (&e.span, e.line_col, &index) {
            (Some(span), _, Some(index)) => {
                let (l, c) = index.line_col(span.start);
                (Some(l), Some(c))
            }
            (_, Some((l, c)), _) => (Some(l), Some(c)),
            _ => (None, None),
        };
        SpecErrors::from(SpecError {
            location: Location {
                file: path.to_path_buf(),
                line,
                column,
            },
            entity: None,
            item: None,
            kind: SpecErrorKind::Syntax(e.message),
        })
    })?;
    let mut inputs = vec![path.to_path_buf()];
    let mut idls = Vec::new();
    let mut errors = Vec::new();
    let idl_location = || {
        let (line, column) = match &index {
            Some(index) => {
                let (l, c) = index.line_col(file.idl.span().start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Location {
            file: path.to_path_buf(),
            line,
            column,
        }
    };
    for rel in file.idl.get_ref().as_slice() {
        let expanded = match expand_env(rel, env) {
            Ok(p) => p,
            Err(problem) => {
                let kind = if problem.contains('`') {
                    SpecErrorKind::Idl {
                        path: rel.clone(),
                        error: problem,
                    }
                } else {
                    SpecErrorKind::UnsetEnv {
                        var: problem,
                        path: rel.clone(),
                    }
                };
                errors.push(SpecError {
                    location: idl_location(),
                    entity: None,
                    item: None,
                    kind,
                });
                continue;
            }
        };
        let loaded = read_idl(&expanded).and_then(|(p, t)| {
            inputs.push(p.clone());
            Idl::from_json_str(&t)
                .and_then(|idl| idl.check().map(|()| idl))
                .map_err(|e| e.to_string())
        });
        match loaded {
            Ok(idl) => idls.push(idl),
            Err(error) => errors.push(SpecError {
                location: idl_location(),
                entity: None,
                item: None,
                kind: SpecErrorKind::Idl {
                    path: rel.clone(),
                    error,
                },
            }),
        }
    }
    if !errors.is_empty() {
        return Err(SpecErrors(errors));
    }
    let stack = validate(&file, idls, path, index)?;
    Ok(LoadedStack { stack, inputs })
}

fn error_at(path: &Path, kind: SpecErrorKind) -> SpecErrors {
    SpecErrors::from(SpecError {
        location: Location {
            file: path.to_path_buf(),
            line: None,
            column: None,
        },
        entity: None,
        item: None,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::expand_env;

    #[test]
    fn expands_variables_and_names_unset_ones() {
        let env = |name: &str| (name == "FIX").then(|| "/shared/fixtures".to_string());
        assert_eq!(
            expand_env("${FIX}/idl/ore.json", &env),
            Ok("/shared/fixtures/idl/ore.json".into())
        );
        assert_eq!(expand_env("idl/a.json", &env), Ok("idl/a.json".into()));
        assert_eq!(
            expand_env("${FIX}/${FIX}", &env),
            Ok("/shared/fixtures//shared/fixtures".into())
        );
        assert_eq!(expand_env("${NOPE}/a.json", &env), Err("NOPE".into()));
        assert!(expand_env("${FIX/a.json", &env)
            .unwrap_err()
            .contains("closing"));
        assert!(expand_env("${1X}/a.json", &env)
            .unwrap_err()
            .contains("not an environment variable name"));
        assert_eq!(
            expand_env("$FIX/a", &env),
            Ok("$FIX/a".into()),
            "only ${{NAME}} is expanded"
        );
    }
}
