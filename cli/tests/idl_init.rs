//! `hs idl` and `hs init` as processes on the four real IDLs in `$HYPERSTACK_FIXTURES/idl`:
//! every account, instruction, event, type and error is printed with its discriminator and
//! field types, and the starter spec passes `hs check` with exactly as many mapped fields as the
//! IDL's account types have.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hyperstack_spec::idl::{Idl, IdlFields, IdlTypeDefBody};
use hyperstack_spec::FieldKind;

const FIXTURES: [&str; 4] = ["pump", "ore", "entropy", "meteora_dlmm"];

fn fixtures() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("HYPERSTACK_FIXTURES").filter(|d| !d.is_empty()) else {
        println!("skipped: HYPERSTACK_FIXTURES is not set (CI sets it to ../shared/fixtures)");
        return None;
    };
    // Relative values are taken from the workspace root, as CI sets them there.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Some(root.join(dir).join("idl"))
}

fn hs(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hs"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("hs runs")
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Named fields of every account type of the IDL (an account that is not a struct of named
/// fields counts as one value).
fn idl_account_fields(idl: &Idl) -> usize {
    idl.accounts
        .iter()
        .map(|a| match idl.type_def(&a.type_name).map(|d| &d.body) {
            Some(IdlTypeDefBody::Struct(IdlFields::Named(f))) => f.len(),
            _ => 1,
        })
        .sum()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn hs_idl_prints_every_item_of_the_real_idls() {
    let Some(dir) = fixtures() else { return };
    let cwd = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let path = dir.join(format!("{name}.json"));
        let idl = Idl::load(&path).unwrap();
        let all = ok(hs(cwd.path(), &["idl", path.to_str().unwrap()]));
        assert!(
            all.starts_with(&format!("program {}", idl.name)),
            "{name}: {all}"
        );
        for a in &idl.accounts {
            assert!(
                all.contains(&format!("  {}  discriminator [", a.name))
                    && all.contains(&hex(&a.discriminator)),
                "{name}: account {} missing",
                a.name
            );
        }
        let instructions = ok(hs(
            cwd.path(),
            &["idl", path.to_str().unwrap(), "instructions"],
        ));
        assert!(instructions.starts_with(&format!("instructions ({}):", idl.instructions.len())));
        for ix in &idl.instructions {
            let line = format!("  {}  discriminator [", ix.name);
            assert!(instructions.contains(&line), "{name}: {line} missing");
            assert!(
                instructions.contains(&hex(&ix.discriminator)),
                "{name}: {}",
                ix.name
            );
        }
        let events = ok(hs(cwd.path(), &["idl", path.to_str().unwrap(), "events"]));
        for e in &idl.events {
            assert!(
                events.contains(&format!("  {}  discriminator [", e.name)),
                "{name}: {}",
                e.name
            );
        }
        let types = ok(hs(cwd.path(), &["idl", path.to_str().unwrap(), "types"]));
        assert!(
            types.starts_with(&format!("types ({}):", idl.types.len())),
            "{types}"
        );
        let errors = ok(hs(cwd.path(), &["idl", path.to_str().unwrap(), "errors"]));
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let declared = raw["errors"].as_array().map_or(0, Vec::len);
        assert!(
            errors.starts_with(&format!("errors ({declared}):")),
            "{errors}"
        );
        assert_eq!(errors.lines().count(), declared + 1, "{name}: {errors}");
    }
    // Field types, for one account we know.
    let pump = ok(hs(
        cwd.path(),
        &["idl", dir.join("pump.json").to_str().unwrap(), "accounts"],
    ));
    assert!(pump.contains("virtual_sol_reserves    u64"), "{pump}");
    assert!(pump.contains("complete                bool"), "{pump}");
}

#[test]
fn hs_init_maps_every_account_field_and_passes_hs_check() {
    let Some(dir) = fixtures() else { return };
    for name in FIXTURES {
        let path = dir.join(format!("{name}.json"));
        let idl = Idl::load(&path).unwrap();
        let cwd = tempfile::tempdir().unwrap();
        let stack_name = name.replace('_', "-");
        let said = ok(hs(
            cwd.path(),
            &["init", &stack_name, "--idl", path.to_str().unwrap()],
        ));
        let spec = cwd.path().join(format!("{stack_name}.stack.toml"));
        assert!(said.contains(&format!("{stack_name}.stack.toml")), "{said}");
        let checked = ok(hs(cwd.path(), &["check", spec.to_str().unwrap()]));

        let stack = hyperstack_spec::load_stack(&spec).unwrap();
        assert_eq!(
            stack.entities.len(),
            idl.accounts.len(),
            "{name}: one entity per account"
        );
        let mapped: usize = stack
            .entities
            .iter()
            .map(|e| {
                e.fields
                    .iter()
                    .filter(|f| matches!(f.kind, FieldKind::Mapped { .. }))
                    .count()
            })
            .sum();
        assert_eq!(mapped, idl_account_fields(&idl), "{name}: mapped fields");
        for entity in &stack.entities {
            let list = format!("{}/list", entity.name);
            assert!(entity.view("list").is_some(), "{name}: {list}");
            assert!(
                checked.contains(&list),
                "{name}: hs check lists {list}:\n{checked}"
            );
        }
        println!("{name}: {} entities, {mapped} fields", stack.entities.len());
    }
}
