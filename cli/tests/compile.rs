//! `hs sdk create rust` as a real process, and `cargo check` of what it writes: generated
//! crates compile, without warnings, for a small spec and for a spec over the real pump IDL.
//! The small one is generated outside any workspace with no dependency flag: the default
//! source of `hyperstack-sdk` (the checkout `hs` was built from) is what gets built.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `hs sdk create rust <spec> --output <out> [--hyperstack-path <root>]` in `cwd`; returns
/// its stdout.
fn hs_create(spec: &Path, out: &Path, cwd: &Path, explicit_path: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hs"));
    cmd.args(["sdk", "create", "rust"])
        .arg(spec)
        .arg("--output")
        .arg(out)
        .current_dir(cwd);
    if explicit_path {
        cmd.arg("--hyperstack-path").arg(workspace_root());
    }
    let output = cmd.output().expect("hs runs");
    assert!(
        output.status.success(),
        "hs sdk create rust failed for {}: {}",
        spec.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `cargo check --offline` of a generated crate, sharing one target dir across runs and using
/// the workspace's lock file so no registry access is needed. Returns cargo's stderr.
fn cargo_check(crate_dir: &Path) -> String {
    std::fs::copy(
        workspace_root().join("Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .expect("copy Cargo.lock");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-check");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "check",
            "--offline",
            "--all-targets",
            "--message-format",
            "short",
        ])
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "generated crate does not compile:\n{stderr}"
    );
    stderr
}

fn assert_no_warnings(stderr: &str, crate_name: &str) {
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("warning") && !l.contains("generated-check"))
        .collect();
    assert!(
        warnings.is_empty(),
        "{crate_name} compiles with warnings:\n{}",
        warnings.join("\n")
    );
}

#[test]
fn generated_crates_compile_without_warnings() {
    let tmp = tempfile::tempdir().unwrap();

    // 1. The small spec covering every type shape, generated outside the workspace (the
    //    current directory and the output both in a temporary directory) with no flag.
    let mini_spec = workspace_root().join("codegen/tests/data/mini/mini.stack.toml");
    let mini_out = tmp.path().join("mini-stack");
    let said = hs_create(&mini_spec, &mini_out, tmp.path(), false);
    assert!(
        said.contains("the checkout this hs was built from"),
        "{said}"
    );
    let manifest = std::fs::read_to_string(mini_out.join("Cargo.toml")).unwrap();
    let sdk_path = workspace_root()
        .join("hyperstack-sdk")
        .canonicalize()
        .unwrap();
    assert!(
        manifest.contains(&format!(
            "hyperstack-sdk = {{ path = {:?} }}",
            sdk_path.display().to_string()
        )),
        "{manifest}"
    );
    assert_no_warnings(&cargo_check(&mini_out), "mini-stack");

    // 2. A spec over the real public pump IDL (when the fixtures are available).
    let Some(fixtures) = std::env::var_os("HYPERSTACK_FIXTURES") else {
        eprintln!("skipped the pump fixture part: HYPERSTACK_FIXTURES is not set (CI sets it to ../shared/fixtures)");
        return;
    };
    let fixtures = workspace_root().join(fixtures);
    let idl = fixtures
        .join("idl/pump.json")
        .canonicalize()
        .expect("pump.json fixture");
    let spec_dir = tmp.path().join("spec");
    std::fs::create_dir_all(&spec_dir).unwrap();
    let spec = spec_dir.join("real-pump.stack.toml");
    std::fs::write(
        &spec,
        format!(
            r#"name = "real-pump"
idl = {idl:?}

[entities.Token]
key = "BondingCurve.@address"

[entities.Token.fields]
virtual_token_reserves = {{ from = "BondingCurve.virtual_token_reserves" }}
virtual_sol_reserves = {{ from = "BondingCurve.virtual_sol_reserves" }}
token_total_suply = {{ from = "BondingCurve.token_total_suply" }}
complete = {{ from = "BondingCurve.complete" }}
buys = {{ count = "buy", key = "accounts.bonding_curve" }}
last_trade = {{ from = "TradeEvent", key = "data.timestamp" }}
"#,
            idl = idl.display().to_string()
        ),
    )
    .unwrap();
    let out = tmp.path().join("real-pump-stack");
    // `last_trade`'s key is an i64, the primary key a pubkey: rejected, naming the field and line.
    let rejected = Command::new(env!("CARGO_BIN_EXE_hs"))
        .args(["sdk", "create", "rust"])
        .arg(&spec)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!rejected.status.success());
    let message = String::from_utf8_lossy(&rejected.stderr);
    assert!(
        message.contains("field `last_trade`") && message.contains(":13:"),
        "{message}"
    );
    assert!(
        message.contains("is i64 but the primary key is pubkey"),
        "{message}"
    );
    assert!(!out.exists(), "nothing is written for a rejected spec");

    let fixed = std::fs::read_to_string(&spec).unwrap().replace(
        "last_trade = { from = \"TradeEvent\", key = \"data.timestamp\" }\n",
        "",
    );
    std::fs::write(&spec, fixed).unwrap();
    hs_create(&spec, &out, &workspace_root(), true);
    let types = std::fs::read_to_string(out.join("src/types.rs")).unwrap();
    for (field, ty) in [
        ("virtual_token_reserves", "u64"),
        ("virtual_sol_reserves", "u64"),
        ("token_total_suply", "u64"),
        ("complete", "bool"),
        ("buys", "u64"),
    ] {
        let decl = format!("pub {field}: ::core::option::Option<{ty}>");
        assert!(types.contains(&decl), "missing `{decl}` in:\n{types}");
    }
    assert_no_warnings(&cargo_check(&out), "real-pump-stack");
}
