//! The committed JSON Schema of spec files is the one generated from the model.

#[test]
fn committed_schema_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/stack.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == hyperstack_spec::json_schema(),
        "schema/stack.schema.json is stale: run `cargo run -p hyperstack-cli --bin hs -- schema > schema/stack.schema.json`"
    );
}

#[test]
fn schema_describes_the_spec_keys() {
    let schema: serde_json::Value = serde_json::from_str(&hyperstack_spec::json_schema()).unwrap();
    let root = &schema["properties"];
    for key in ["name", "idl", "entities", "description"] {
        assert!(root.get(key).is_some(), "missing top-level `{key}`");
    }
    let field = &schema["definitions"]["FieldFile"]["properties"];
    for key in [
        "from",
        "strategy",
        "count",
        "sum",
        "max",
        "min",
        "append",
        "unique_count",
        "merge",
        "computed",
        "resolve",
        "input",
        "transform",
        "when",
        "condition",
        "stop",
        "key",
        "via",
        "cap",
        "emit",
    ] {
        assert!(field.get(key).is_some(), "FieldFile lacks `{key}`: {field}");
    }
    let strategies = serde_json::to_string(&schema["definitions"]["StrategyName"]).unwrap();
    for s in [
        "set_once",
        "last_write",
        "append",
        "count",
        "sum",
        "max",
        "min",
        "unique_count",
        "merge",
    ] {
        assert!(strategies.contains(s), "{strategies}");
    }
    // Entries of `fields` are fields or sections (tables of entries).
    let entry = serde_json::to_string(&schema["definitions"]["FieldEntry"]).unwrap();
    assert!(
        entry.contains("FieldFile") && entry.contains("FieldEntry"),
        "{entry}"
    );
}
