//! `hs generate`: the stacks of a hyperstack workspace and their committed generated crates.

use std::path::{Path, PathBuf};

use hyperstack_spec::{load_stack, SpecErrors};

use crate::{generate, CrateOptions, DependencySource, GeneratedFile};

/// A stack spec found in the workspace, and where its crate goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTarget {
    /// The spec file, relative to the workspace root.
    pub spec: PathBuf,
    /// The generated crate's directory, relative to the workspace root.
    pub output: PathBuf,
}

/// Errors of `hs generate`.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A spec failed to load or validate.
    #[error(transparent)]
    Spec(#[from] SpecErrors),
    /// Reading or writing files failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// Finds every `*.stack.toml` under `<root>/examples`, sorted; each generates
/// `<root>/generated/<stack name>-stack`.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>, WorkspaceError> {
    let mut found = Vec::new();
    walk(&root.join("examples"), &mut found)?;
    found.sort();
    Ok(found
        .into_iter()
        .map(|p| p.strip_prefix(root).map(Path::to_path_buf).unwrap_or(p))
        .collect())
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), WorkspaceError> {
    let io = |source| WorkspaceError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&path, found)?;
            }
        } else if name.ends_with(".stack.toml") {
            found.push(path);
        }
    }
    Ok(())
}

/// The files a spec generates, with paths relative to the workspace root.
pub fn generate_for(root: &Path, spec: &Path) -> Result<Vec<GeneratedFile>, WorkspaceError> {
    let stack = load_stack(&root.join(spec))?;
    let mut opts = CrateOptions::new(&stack.name, DependencySource::Workspace);
    opts.spec_label = spec.to_string_lossy().replace('\\', "/");
    let out_dir = PathBuf::from("generated").join(&opts.crate_name);
    Ok(generate(&stack)
        .crate_files(&opts)
        .into_iter()
        .map(|f| GeneratedFile {
            path: out_dir.join(f.path),
            contents: f.contents,
        })
        .collect())
}

/// How one generated file compares with what is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    /// The file does not exist.
    Missing,
    /// The file differs; the first differing line (1-based) and both versions of it.
    Differs {
        /// First differing line.
        line: usize,
        /// That line on disk.
        on_disk: String,
        /// That line as generated.
        generated: String,
    },
}

/// Compares a generated file with the one under `root`; `None` when identical.
pub fn staleness(root: &Path, file: &GeneratedFile) -> Option<Staleness> {
    let Ok(on_disk) = std::fs::read_to_string(root.join(&file.path)) else {
        return Some(Staleness::Missing);
    };
    if on_disk == file.contents {
        return None;
    }
    let mut a = on_disk.lines();
    let mut b = file.contents.lines();
    let mut line = 1;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                return Some(Staleness::Differs {
                    line,
                    on_disk: x.unwrap_or("<end of file>").to_string(),
                    generated: y.unwrap_or("<end of file>").to_string(),
                })
            }
        }
    }
}
