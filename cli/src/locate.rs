//! Finding things on disk: a stack spec named by its stack name, the enclosing workspace, and
//! the hyperstack checkout a generated crate takes `hyperstack-sdk` from.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Folders under a workspace root searched for `<name>.stack.toml`, in order.
pub const STACK_FOLDERS: [&str; 2] = ["examples", "stacks"];

/// Resolves the `spec` argument of `hs sdk create rust`: an existing file, or a stack name found
/// as `./<name>.stack.toml`, then as `<name>.stack.toml` anywhere under the workspace's
/// `examples/` and `stacks/` folders. Several matches are an error that lists them.
pub fn resolve_spec(arg: &str, cwd: &Path) -> anyhow::Result<PathBuf> {
    let as_path = cwd.join(arg);
    if as_path.is_file() {
        return Ok(PathBuf::from(arg));
    }
    if !is_stack_name(arg) {
        bail!("{arg}: no such file (a stack name is letters, digits, `-` and `_`)");
    }
    let local = PathBuf::from(format!("{arg}.stack.toml"));
    if cwd.join(&local).is_file() {
        return Ok(local);
    }
    let root = workspace_root(cwd);
    let file_name = format!("{arg}.stack.toml");
    let mut found = Vec::new();
    for folder in STACK_FOLDERS {
        find_named(&root.join(folder), &file_name, &mut found)
            .with_context(|| format!("searching {}", root.join(folder).display()))?;
    }
    found.sort();
    let shown = |p: &Path| relative_to(p, cwd).display().to_string();
    match found.len() {
        0 => bail!(
            "no stack `{arg}`: looked for ./{file_name} and {file_name} under {} (pass the spec's path instead)",
            STACK_FOLDERS
                .iter()
                .map(|f| format!("{}/", shown(&root.join(f))))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        1 => Ok(relative_to(&found[0], cwd)),
        _ => bail!(
            "stack name `{arg}` is ambiguous, it matches:\n{}\npass one of these paths instead",
            found
                .iter()
                .map(|p| format!("  {}", shown(p)))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// A stack name as the spec format allows it (and nothing that looks like a path).
fn is_stack_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn find_named(dir: &Path, file_name: &str, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                find_named(&path, file_name, found)?;
            }
        } else if name == file_name {
            found.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `base` when it lies under it, else `path` unchanged.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The root of the Cargo workspace around `dir`: the nearest ancestor whose `Cargo.toml` has a
/// `[workspace]` table, else the nearest ancestor with a `Cargo.toml`, else `dir` itself.
pub fn workspace_root(dir: &Path) -> PathBuf {
    let mut nearest_package = None;
    for ancestor in dir.ancestors() {
        let Ok(text) = std::fs::read_to_string(ancestor.join("Cargo.toml")) else {
            continue;
        };
        if has_workspace_table(&text) {
            return ancestor.to_path_buf();
        }
        nearest_package.get_or_insert_with(|| ancestor.to_path_buf());
    }
    nearest_package.unwrap_or_else(|| dir.to_path_buf())
}

fn has_workspace_table(manifest: &str) -> bool {
    manifest
        .parse::<toml::Table>()
        .is_ok_and(|t| t.get("workspace").is_some_and(toml::Value::is_table))
}

/// A hyperstack checkout: a Cargo workspace whose `hyperstack-sdk/Cargo.toml` is the package
/// `hyperstack-sdk`.
pub fn is_hyperstack_checkout(dir: &Path) -> bool {
    let Ok(root) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return false;
    };
    let Ok(sdk) = std::fs::read_to_string(dir.join("hyperstack-sdk/Cargo.toml")) else {
        return false;
    };
    has_workspace_table(&root)
        && sdk.parse::<toml::Table>().is_ok_and(|t| {
            t.get("package")
                .and_then(|p| p.get("name"))
                .and_then(toml::Value::as_str)
                == Some("hyperstack-sdk")
        })
}

/// The hyperstack checkout enclosing `dir` (or one of its ancestors), if any.
pub fn enclosing_checkout(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|a| is_hyperstack_checkout(a))
        .map(Path::to_path_buf)
}

/// Whether `crate_dir` would be a member of the workspace at `root` through a `members` glob
/// such as `generated/*` (only the `<folder>/*` form, which is what hyperstack uses).
pub fn is_workspace_member(root: &Path, crate_dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return false;
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return false;
    };
    let Some(members) = table
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
    else {
        return false;
    };
    let Ok(rel) = crate_dir.strip_prefix(root) else {
        return false;
    };
    members.iter().filter_map(toml::Value::as_str).any(|m| {
        let member = Path::new(m);
        rel == member
            || (m.ends_with("/*")
                && rel.parent() == member.parent()
                && rel.components().count() == member.components().count())
    })
}

/// `path` made absolute against `cwd`, with `.` and `..` components folded (the path need not
/// exist).
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = cwd.join(path);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn project() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        write(
            &tmp.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"generated/*\", \"app\"]\n",
        );
        write(
            &tmp.path().join("app/Cargo.toml"),
            "[package]\nname = \"app\"\n",
        );
        tmp
    }

    #[test]
    fn a_path_is_taken_as_is() {
        let tmp = project();
        write(&tmp.path().join("specs/x.stack.toml"), "");
        assert_eq!(
            resolve_spec("specs/x.stack.toml", tmp.path()).unwrap(),
            PathBuf::from("specs/x.stack.toml")
        );
    }

    #[test]
    fn a_name_prefers_the_current_directory_then_examples_and_stacks() {
        let tmp = project();
        write(&tmp.path().join("examples/deep/pump/pump.stack.toml"), "");
        // From a member package's directory the workspace's examples/ are searched.
        let app = tmp.path().join("app");
        assert_eq!(
            resolve_spec("pump", &app).unwrap(),
            tmp.path().join("examples/deep/pump/pump.stack.toml")
        );
        assert_eq!(
            resolve_spec("pump", tmp.path()).unwrap(),
            PathBuf::from("examples/deep/pump/pump.stack.toml")
        );
        write(&tmp.path().join("pump.stack.toml"), "");
        assert_eq!(
            resolve_spec("pump", tmp.path()).unwrap(),
            PathBuf::from("pump.stack.toml")
        );
        write(&tmp.path().join("stacks/game.stack.toml"), "");
        assert_eq!(
            resolve_spec("game", tmp.path()).unwrap(),
            PathBuf::from("stacks/game.stack.toml")
        );
    }

    #[test]
    fn several_matches_are_listed() {
        let tmp = project();
        write(&tmp.path().join("examples/a/ore.stack.toml"), "");
        write(&tmp.path().join("stacks/ore.stack.toml"), "");
        let err = resolve_spec("ore", tmp.path()).unwrap_err().to_string();
        assert!(err.contains("ambiguous"), "{err}");
        assert!(err.contains("  examples/a/ore.stack.toml"), "{err}");
        assert!(err.contains("  stacks/ore.stack.toml"), "{err}");
    }

    #[test]
    fn no_match_says_where_it_looked() {
        let tmp = project();
        let err = resolve_spec("nope", tmp.path()).unwrap_err().to_string();
        assert!(err.contains("no stack `nope`"), "{err}");
        assert!(err.contains("./nope.stack.toml"), "{err}");
        assert!(err.contains("examples/ and stacks/"), "{err}");
        let err = resolve_spec("no/such.toml", tmp.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
    }

    #[test]
    fn hyperstack_checkouts_and_members() {
        let tmp = project();
        assert!(!is_hyperstack_checkout(tmp.path()));
        write(
            &tmp.path().join("hyperstack-sdk/Cargo.toml"),
            "[package]\nname = \"hyperstack-sdk\"\n",
        );
        assert!(is_hyperstack_checkout(tmp.path()));
        assert_eq!(
            enclosing_checkout(&tmp.path().join("app/src")),
            Some(tmp.path().to_path_buf())
        );
        assert!(is_workspace_member(
            tmp.path(),
            &tmp.path().join("generated/x-stack")
        ));
        assert!(is_workspace_member(tmp.path(), &tmp.path().join("app")));
        assert!(!is_workspace_member(
            tmp.path(),
            &tmp.path().join("generated/x/y")
        ));
        assert!(!is_workspace_member(tmp.path(), &tmp.path().join("other")));
    }

    #[test]
    fn absolute_folds_dots() {
        assert_eq!(
            absolute(Path::new("../b/./c"), Path::new("/x/a")),
            PathBuf::from("/x/b/c")
        );
    }
}
