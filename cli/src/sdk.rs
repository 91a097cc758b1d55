//! `hs sdk create rust <spec or stack name>`: a typed crate for a stack, and where that crate
//! takes `hyperstack-sdk` from.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hyperstack_codegen::{generate, write_crate, CrateOptions, DependencySource};

use crate::locate;

/// How the user said where `hyperstack-sdk` comes from (at most one of these is set).
#[derive(Debug, Default, Clone)]
pub struct SdkSource {
    /// `--hyperstack-path <checkout>`.
    pub path: Option<PathBuf>,
    /// `--hyperstack-git <url>`.
    pub git: Option<String>,
    /// `--hyperstack-rev <rev>` (with `--hyperstack-git`).
    pub rev: Option<String>,
    /// `--hyperstack-version <version>`.
    pub version: Option<String>,
    /// `--workspace-deps`.
    pub workspace: bool,
}

/// Arguments of `hs sdk create rust`.
pub struct CreateArgs {
    /// A spec path or a stack name.
    pub spec: String,
    /// `--output`.
    pub output: Option<PathBuf>,
    /// `--crate-name`.
    pub crate_name: Option<String>,
    /// Where the SDK comes from.
    pub source: SdkSource,
}

/// The checkout this `hs` was built from (`cargo install --path cli` or `cargo run`), while it
/// still exists.
pub fn build_checkout() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let dir = dir.canonicalize().ok()?;
    locate::is_hyperstack_checkout(&dir).then_some(dir)
}

/// Runs `hs sdk create rust`.
pub fn create(args: CreateArgs) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let spec = locate::resolve_spec(&args.spec, &cwd)?;
    let stack = hyperstack_spec::load_stack(&spec).map_err(anyhow::Error::msg)?;
    let crate_name = args
        .crate_name
        .unwrap_or_else(|| format!("{}-stack", stack.name));
    let dir = args
        .output
        .unwrap_or_else(|| Path::new("generated").join(&crate_name));
    let (dependency, why) = dependency_source(
        &args.source,
        &locate::absolute(&dir, &cwd),
        &cwd,
        build_checkout().as_deref(),
    )?;
    let mut opts = CrateOptions::new(&stack.name, dependency);
    opts.crate_name = crate_name;
    opts.spec_label = spec.to_string_lossy().replace('\\', "/");
    let files = generate(&stack).crate_files(&opts);
    write_crate(&dir, &files).with_context(|| format!("writing {}", dir.display()))?;
    println!(
        "wrote crate `{}` to {} ({} {}; hyperstack-sdk {why})",
        opts.crate_name,
        dir.display(),
        stack.entities.len(),
        if stack.entities.len() == 1 {
            "entity"
        } else {
            "entities"
        }
    );
    Ok(())
}

/// Decides where the generated crate takes `hyperstack-sdk` from, and says why:
///
/// 1. an explicit `--hyperstack-path`, `--hyperstack-git`, `--hyperstack-version` or
///    `--workspace-deps`;
/// 2. the hyperstack checkout around the output directory: `workspace = true` when the crate
///    becomes one of its members (`generated/<name>`), its path otherwise;
/// 3. the hyperstack checkout around the current directory;
/// 4. the checkout this `hs` was built from.
///
/// Otherwise it is an error: never a registry crate nobody asked for.
pub fn dependency_source(
    source: &SdkSource,
    output: &Path,
    cwd: &Path,
    build_checkout: Option<&Path>,
) -> anyhow::Result<(DependencySource, String)> {
    if source.workspace {
        return Ok((
            DependencySource::Workspace,
            "from the enclosing workspace (--workspace-deps)".into(),
        ));
    }
    if let Some(p) = &source.path {
        let abs = std::fs::canonicalize(p)
            .with_context(|| format!("--hyperstack-path {}", p.display()))?;
        if !locate::is_hyperstack_checkout(&abs) {
            bail!(
                "--hyperstack-path {}: not a hyperstack checkout (no hyperstack-sdk/Cargo.toml in a Cargo workspace)",
                p.display()
            );
        }
        let why = format!("from {}", abs.display());
        return Ok((DependencySource::Path(abs), why));
    }
    if let Some(url) = &source.git {
        let why = format!("from git {url}");
        return Ok((
            DependencySource::Git {
                url: url.clone(),
                rev: source.rev.clone(),
            },
            why,
        ));
    }
    if let Some(v) = &source.version {
        return Ok((
            DependencySource::Registry(v.clone()),
            format!("{v} from the registry"),
        ));
    }
    let output_parent = output.parent().unwrap_or(output);
    if let Some(root) = locate::enclosing_checkout(output_parent) {
        if locate::is_workspace_member(&root, output) {
            let why = format!("from the workspace at {}", root.display());
            return Ok((DependencySource::Workspace, why));
        }
        let why = format!("from the checkout around the output, {}", root.display());
        return Ok((DependencySource::Path(root), why));
    }
    if let Some(root) = locate::enclosing_checkout(cwd) {
        let why = format!(
            "from the checkout around the current directory, {}",
            root.display()
        );
        return Ok((DependencySource::Path(root), why));
    }
    if let Some(root) = build_checkout {
        let why = format!(
            "from {}, the checkout this hs was built from",
            root.display()
        );
        return Ok((DependencySource::Path(root.to_path_buf()), why));
    }
    bail!(
        "where should the generated crate take hyperstack-sdk from? No hyperstack checkout is around {} or the current directory: pass --hyperstack-path <checkout>, --hyperstack-git <url> [--hyperstack-rev <rev>] or --hyperstack-version <version>",
        output.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"hyperstack-sdk\", \"generated/*\"]\n",
        )
        .unwrap();
        std::fs::create_dir_all(tmp.path().join("hyperstack-sdk")).unwrap();
        std::fs::write(
            tmp.path().join("hyperstack-sdk/Cargo.toml"),
            "[package]\nname = \"hyperstack-sdk\"\n",
        )
        .unwrap();
        tmp
    }

    #[test]
    fn without_any_checkout_or_flag_it_is_an_error() {
        let elsewhere = tempfile::tempdir().unwrap();
        let out = elsewhere.path().join("x-stack");
        let err = dependency_source(&SdkSource::default(), &out, elsewhere.path(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--hyperstack-path"), "{err}");
        assert!(err.contains("--hyperstack-git"), "{err}");
        assert!(err.contains("--hyperstack-version"), "{err}");
    }

    #[test]
    fn explicit_flags_win() {
        let elsewhere = tempfile::tempdir().unwrap();
        let out = elsewhere.path().join("x-stack");
        let git = SdkSource {
            git: Some("https://example.invalid/hyperstack.git".into()),
            rev: Some("v0.1.0".into()),
            ..SdkSource::default()
        };
        assert_eq!(
            dependency_source(&git, &out, elsewhere.path(), None)
                .unwrap()
                .0,
            DependencySource::Git {
                url: "https://example.invalid/hyperstack.git".into(),
                rev: Some("v0.1.0".into())
            }
        );
        let version = SdkSource {
            version: Some("0.1.0".into()),
            ..SdkSource::default()
        };
        assert_eq!(
            dependency_source(&version, &out, elsewhere.path(), None)
                .unwrap()
                .0,
            DependencySource::Registry("0.1.0".into())
        );
        let not_a_checkout = SdkSource {
            path: Some(elsewhere.path().to_path_buf()),
            ..SdkSource::default()
        };
        let err = dependency_source(&not_a_checkout, &out, elsewhere.path(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a hyperstack checkout"), "{err}");
    }

    #[test]
    fn checkouts_are_detected_around_the_output_the_cwd_and_the_build() {
        let hs = checkout();
        let root = hs.path();
        let elsewhere = tempfile::tempdir().unwrap();
        let none = SdkSource::default();
        // A member under generated/: workspace dependencies.
        let member = root.join("generated/x-stack");
        assert_eq!(
            dependency_source(&none, &member, elsewhere.path(), None)
                .unwrap()
                .0,
            DependencySource::Workspace
        );
        // Elsewhere in the checkout: its path.
        let inside = root.join("scratch/x-stack");
        assert_eq!(
            dependency_source(&none, &inside, elsewhere.path(), None)
                .unwrap()
                .0,
            DependencySource::Path(root.to_path_buf())
        );
        // Output outside, current directory inside.
        let out = elsewhere.path().join("x-stack");
        assert_eq!(
            dependency_source(&none, &out, &root.join("examples"), None)
                .unwrap()
                .0,
            DependencySource::Path(root.to_path_buf())
        );
        // Both outside: the checkout hs was built from.
        assert_eq!(
            dependency_source(&none, &out, elsewhere.path(), Some(root))
                .unwrap()
                .0,
            DependencySource::Path(root.to_path_buf())
        );
    }
}
