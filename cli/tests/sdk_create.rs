//! `hs sdk create rust` as a process: a stack named instead of a path, the default output
//! `generated/<name>-stack`, ambiguous names, and the dependency it writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
}

fn hs(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hs"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("hs runs")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// A project of the user's (not a hyperstack checkout) with the mini spec in `stacks/`.
fn user_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("Cargo.toml"),
        "[workspace]\nmembers = []\nresolver = \"2\"\n",
    )
    .unwrap();
    let data = workspace_root().join("codegen/tests/data/mini");
    let stacks = tmp.path().join("stacks");
    std::fs::create_dir_all(&stacks).unwrap();
    for f in ["mini.stack.toml", "mini.json"] {
        std::fs::copy(data.join(f), stacks.join(f)).unwrap();
    }
    tmp
}

#[test]
fn a_stack_name_is_found_under_examples_in_the_hyperstack_workspace() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("pump-stack");
    let run = hs(
        &workspace_root(),
        &[
            "sdk",
            "create",
            "rust",
            "pump",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(run.status.success(), "{}", text(&run));
    let lib = std::fs::read_to_string(out.join("src/lib.rs")).unwrap();
    assert!(lib.contains("examples/pump/pump.stack.toml"), "{lib}");
    // The current directory is the checkout: its path, never a registry version.
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
    let sdk = workspace_root().join("hyperstack-sdk");
    assert!(
        manifest.contains(&format!("path = {:?}", sdk.display().to_string())),
        "{manifest}"
    );
}

#[test]
fn default_output_is_generated_name_stack() {
    let project = user_project();
    let run = hs(
        project.path(),
        &[
            "sdk",
            "create",
            "rust",
            "mini",
            "--hyperstack-version",
            "0.1.0",
        ],
    );
    assert!(run.status.success(), "{}", text(&run));
    let manifest =
        std::fs::read_to_string(project.path().join("generated/mini-stack/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("hyperstack-sdk = \"0.1.0\""),
        "{manifest}"
    );
    assert!(
        text(&run).contains("0.1.0 from the registry"),
        "{}",
        text(&run)
    );
}

#[test]
fn an_ambiguous_name_lists_the_matches_and_writes_nothing() {
    let project = user_project();
    let other = project.path().join("examples/again");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(
        project.path().join("stacks/mini.stack.toml"),
        other.join("mini.stack.toml"),
    )
    .unwrap();
    let run = hs(
        project.path(),
        &[
            "sdk",
            "create",
            "rust",
            "mini",
            "--hyperstack-version",
            "0.1.0",
        ],
    );
    assert!(!run.status.success());
    let said = text(&run);
    assert!(said.contains("stack name `mini` is ambiguous"), "{said}");
    assert!(said.contains("  examples/again/mini.stack.toml"), "{said}");
    assert!(said.contains("  stacks/mini.stack.toml"), "{said}");
    assert!(!project.path().join("generated").exists());
}

#[test]
fn an_unknown_name_says_where_it_looked() {
    let project = user_project();
    let run = hs(project.path(), &["sdk", "create", "rust", "nope"]);
    assert!(!run.status.success());
    let said = text(&run);
    assert!(
        said.contains("no stack `nope`: looked for ./nope.stack.toml and nope.stack.toml under examples/ and stacks/"),
        "{said}"
    );
}

#[test]
fn dependency_flags_exclude_each_other() {
    let project = user_project();
    let run = hs(
        project.path(),
        &[
            "sdk",
            "create",
            "rust",
            "mini",
            "--hyperstack-version",
            "0.1.0",
            "--hyperstack-git",
            "https://example.invalid/x.git",
        ],
    );
    assert!(!run.status.success());
    assert!(text(&run).contains("cannot be used with"), "{}", text(&run));
}
