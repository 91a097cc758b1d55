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
    let text = std::fs::read_to_string(path)
        .map_err(|e| error_at(path, SpecErrorKind::Io(e.to_string())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    load_stack_from_str(&text, path, SpecFormat::from_path(path), |rel| {
        let p = dir.join(rel);
        std::fs::read_to_string(&p)
            .map(|t| (p.clone(), t))
            .map_err(|e| format!("cannot read {}: {e}", p.display()))
    })
}

/// Loads a stack from spec text. `read_idl` maps an `idl` entry of the spec to the file's path
/// and text (or an error message); `path` is used in error messages.
pub fn load_stack_from_str(
    text: &str,
    path: &Path,
    format: SpecFormat,
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
        let loaded = read_idl(rel).and_then(|(p, t)| {
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
