//! Snapshot of the code generated for a small spec covering every type shape, and determinism.
//!
//! To accept intended changes: `UPDATE_SNAPSHOTS=1 cargo test -p hyperstack-codegen --test snapshot`.

use std::path::{Path, PathBuf};

use hyperstack_codegen::{generate, CrateOptions, DependencySource, GeneratedFile};

fn mini_files() -> Vec<GeneratedFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini");
    let stack =
        hyperstack_spec::load_stack(&dir.join("mini.stack.toml")).expect("mini spec is valid");
    let mut opts = CrateOptions::new(&stack.name, DependencySource::Registry("0.1.0".into()));
    opts.spec_label = "tests/data/mini/mini.stack.toml".into();
    generate(&stack).crate_files(&opts)
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/mini")
}

#[test]
fn generated_code_matches_the_snapshot() {
    let files = mini_files();
    let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "Cargo.toml",
            "src/lib.rs",
            "src/types.rs",
            "src/entity.rs",
            "src/spec.rs"
        ]
    );
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut mismatched = Vec::new();
    for file in &files {
        // Snapshots are stored flat, with a suffix so the workspace never compiles them.
        let name = file.path.display().to_string().replace('/', "__") + ".snap";
        let path = snapshot_dir().join(name);
        if update {
            std::fs::create_dir_all(snapshot_dir()).unwrap();
            std::fs::write(&path, &file.contents).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != file.contents {
            mismatched.push(path.display().to_string());
        }
    }
    assert!(
        mismatched.is_empty(),
        "generated code differs from {mismatched:?}; review and rerun with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(mini_files(), mini_files());
}

#[test]
fn generated_types_follow_the_idl_and_the_spec() {
    let files = mini_files();
    let types = &files
        .iter()
        .find(|f| f.path.ends_with("types.rs"))
        .unwrap()
        .contents;
    // IDL u64 → Option<u64> read leniently; u128 likewise; optional IDL field → Option<Option<_>>.
    assert!(
        types.contains("pub reserve: ::core::option::Option<u64>"),
        "{types}"
    );
    assert!(
        types.contains("pub total_shares: ::core::option::Option<u128>"),
        "{types}"
    );
    assert!(
        types.contains("#[serde(rename = \"totalShares\")]"),
        "{types}"
    );
    assert!(
        types.contains("pub fee: ::core::option::Option<::core::option::Option<u16>>"),
        "{types}"
    );
    assert!(
        types.contains("deserialize_with = \"::hyperstack_sdk::json::nullable\""),
        "{types}"
    );
    // Sections are nested structs, always present (default: empty), skipped when empty.
    assert!(types.contains("pub stats: PoolStats,"), "{types}");
    assert!(
        types.contains("#[serde(default, skip_serializing_if = \"PoolStats::is_empty\")]"),
        "{types}"
    );
    assert!(types.contains("pub struct PoolStatsInner {"), "{types}");
    assert!(types.contains("pub inner: PoolStatsInner,"), "{types}");
    assert!(
        types.contains("pub users: ::core::option::Option<u64>"),
        "{types}"
    );
    assert!(
        types.contains("pub reserve_ui: ::core::option::Option<f64>"),
        "{types}"
    );
    assert!(
        types.contains("pub seed_hex: ::core::option::Option<::std::string::String>"),
        "{types}"
    );
    assert!(!types.contains("secret"), "emit = false stays out: {types}");
    assert!(
        types.contains("#[serde(rename = \"oddSection\")]"),
        "{types}"
    );
    assert!(
        types.contains("pub odd_section: PoolOddSection,"),
        "{types}"
    );
    // Named IDL types live in `idl`, enums keep their data.
    assert!(
        types.contains("pub status: ::core::option::Option<idl::Status>"),
        "{types}"
    );
    assert!(
        types.contains(
            "Paused {\n            /// `reason`\n            reason: ::std::string::String,"
        ),
        "{types}"
    );
    assert!(
        types.contains("Migrated(\n            ::std::string::String,\n            #[serde(deserialize_with = \"::hyperstack_sdk::json::lenient\")]\n            u64,"),
        "{types}"
    );
    // Keywords become raw identifiers; emit = false fields are not generated.
    assert!(
        types.contains("pub r#type: ::core::option::Option<::std::string::String>"),
        "{types}"
    );
    assert!(!types.contains("pub seed:"), "{types}");
    // Sum of i64 stays i64; count is u64; append is a list of the event type; computed is f64.
    assert!(
        types.contains("pub net_flow: ::core::option::Option<i64>"),
        "{types}"
    );
    assert!(
        types.contains("pub swaps: ::core::option::Option<u64>"),
        "{types}"
    );
    assert!(
        types.contains("pub events: ::core::option::Option<::std::vec::Vec<idl::SwapEvent>>"),
        "{types}"
    );
    assert!(types.contains("/// Half the reserve.\n"), "{types}");
    assert!(
        types.contains("pub half: ::core::option::Option<f64>"),
        "{types}"
    );
    let entity = &files
        .iter()
        .find(|f| f.path.ends_with("entity.rs"))
        .unwrap()
        .contents;
    assert!(
        entity.contains("pub fn biggest(&self) -> ::hyperstack_sdk::SingleView<PoolEntity>"),
        "{entity}"
    );
    assert!(
        entity.contains("pub fn append(&self) -> ::hyperstack_sdk::ListView<PoolEntity>"),
        "{entity}"
    );
}
