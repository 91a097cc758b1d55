//! `hs generate --check` on this workspace, as a process: the committed generated crates are
//! fresh, and the ore stack (whose IDLs are named through `${HYPERSTACK_FIXTURES}`) is checked
//! when the fixtures are available and skipped, with the reason, when they are not.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn generate_check(fixtures: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hs"));
    cmd.args(["generate", "--check", "--root"])
        .arg(workspace_root())
        .env_remove("HYPERSTACK_FIXTURES");
    if let Some(f) = fixtures {
        cmd.env("HYPERSTACK_FIXTURES", f);
    }
    let out = cmd.output().expect("hs runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn without_the_fixtures_the_ore_stack_is_skipped_and_said_so() {
    let (ok, output) = generate_check(None);
    assert!(ok, "{output}");
    assert!(
        output.contains("skipped examples/ore/ore.stack.toml: its IDL paths use HYPERSTACK_FIXTURES, which is not set"),
        "{output}"
    );
    assert!(output.contains("(1 skipped, see above)"), "{output}");
}

#[test]
fn with_the_fixtures_the_ore_stack_is_checked() {
    let Some(fixtures) = std::env::var_os("HYPERSTACK_FIXTURES").filter(|f| !f.is_empty()) else {
        println!("skipped: HYPERSTACK_FIXTURES is not set (CI sets it to ../shared/fixtures)");
        return;
    };
    // Relative values are taken from the workspace root, as CI runs `hs` there.
    let fixtures = workspace_root().join(fixtures);
    let (ok, output) = generate_check(Some(&fixtures));
    assert!(ok, "{output}");
    assert!(!output.contains("skipped"), "{output}");
    assert!(
        output.contains("3 stack(s): generated crates are fresh"),
        "{output}"
    );
}
