//! Resolver fields (`resolve = "token_metadata"`, keyed by an `input` expression) and UI
//! amounts whose decimals come from the entity (`ui_amount(meta.decimals ?? 6)`): a valid
//! spec's model, and the error (file:line:column, entity, field) of each misuse.

use std::path::{Path, PathBuf};

use hyperstack_spec::file::SpecFormat;
use hyperstack_spec::idl::{IdlPrimitive, Layout};
use hyperstack_spec::{
    load_stack_from_str, FieldKind, LoadedStack, Resolver, SpecError, SpecErrors, Strategy,
    TOKEN_METADATA_TYPE,
};

const IDL: &str = r#"{
  "address": "Pool111111111111111111111111111111111111111",
  "metadata": { "name": "pool", "version": "0.1.0", "spec": "0.1.0" },
  "instructions": [
    { "name": "swap", "discriminator": [1,0,0,0,0,0,0,0],
      "accounts": [ { "name": "pool" } ],
      "args": [ { "name": "amount", "type": "u64" } ] }
  ],
  "accounts": [ { "name": "Pool", "discriminator": [10,0,0,0,0,0,0,0] } ],
  "types": [
    { "name": "Pool", "type": { "kind": "struct", "fields": [
      { "name": "mint", "type": "pubkey" },
      { "name": "reserve", "type": "u64" },
      { "name": "label", "type": "string" }
    ] } }
  ]
}"#;

fn load(text: &str) -> Result<LoadedStack, SpecErrors> {
    load_stack_from_str(
        text,
        Path::new("specs/r.stack.toml"),
        SpecFormat::Toml,
        |rel| match rel {
            "pool.json" => Ok((PathBuf::from(rel), IDL.to_string())),
            other => Err(format!("no such file {other}")),
        },
    )
}

/// The header; the body starts on line 6.
fn spec(body: &str) -> String {
    format!("name = \"r\"\nidl = \"pool.json\"\n\n[entities.Pool]\nkey = \"Pool.@address\"\n{body}")
}

fn single_error(body: &str) -> SpecError {
    let errors = load(&spec(body)).expect_err("spec should be rejected").0;
    assert_eq!(errors.len(), 1, "expected one error, got: {errors:#?}");
    errors.into_iter().next().unwrap()
}

/// Asserts `specs/r.stack.toml:<line>:<column>: entity `Pool`, <item>: …<message>…`.
fn assert_error(e: &SpecError, line: usize, column: Option<usize>, item: &str, message: &str) {
    let text = e.to_string();
    assert_eq!(e.location.line, Some(line), "{text}");
    if let Some(column) = column {
        assert_eq!(e.location.column, Some(column), "{text}");
    }
    assert_eq!(e.entity.as_deref(), Some("Pool"), "{text}");
    assert_eq!(e.item.as_deref(), Some(item), "{text}");
    assert!(text.contains(message), "`{text}` lacks `{message}`");
}

const VALID: &str = r#"
[entities.Pool.fields]
mint = { from = "Pool.mint" }
meta = { resolve = "token_metadata", input = "mint" }
usdc = { resolve = "token_metadata", input = '"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"' }
reserve = { from = "Pool.reserve", transform = "ui_amount(meta.decimals ?? 6)", description = "Reserve in tokens." }
volume = { sum = "swap.args.amount", key = "accounts.pool", transform = "ui_amount(usdc.decimals ?? 6)" }
symbol = { computed = "meta.symbol ?? \"?\"" }
"#;

#[test]
fn resolver_fields_and_entity_decimals_resolve() {
    let stack = load(&spec(VALID)).unwrap_or_else(|e| panic!("{e}")).stack;
    let pool = stack.entity("Pool").unwrap();

    let meta = pool.field("meta").unwrap();
    let FieldKind::Resolved {
        resolver,
        source,
        depends_on,
        ..
    } = &meta.kind
    else {
        panic!("resolved: {:?}", meta.kind);
    };
    assert_eq!(
        (*resolver, source.as_str()),
        (Resolver::TokenMetadata, "mint")
    );
    assert_eq!(depends_on, &["mint"]);
    let Layout::Struct { name, .. } = &meta.ty else {
        panic!("a struct");
    };
    assert_eq!(name, TOKEN_METADATA_TYPE);
    let FieldKind::Resolved { depends_on, .. } = &pool.field("usdc").unwrap().kind else {
        panic!("resolved");
    };
    assert!(depends_on.is_empty(), "a constant input");

    // `ui_amount(<expression>)`: a hidden raw field and a computed UI amount.
    let raw = pool.field("reserve_raw").unwrap();
    assert!(!raw.emit);
    assert!(matches!(
        raw.kind,
        FieldKind::Mapped {
            strategy: Strategy::LastWrite,
            transform: None,
            ..
        }
    ));
    assert_eq!(raw.ty, Layout::Primitive(IdlPrimitive::U64));
    let reserve = pool.field("reserve").unwrap();
    assert!(reserve.emit);
    assert_eq!(reserve.ty, Layout::Primitive(IdlPrimitive::F64));
    assert_eq!(reserve.description.as_deref(), Some("Reserve in tokens."));
    let FieldKind::Computed {
        source, depends_on, ..
    } = &reserve.kind
    else {
        panic!("computed");
    };
    assert_eq!(source, "ui_amount(reserve_raw, meta.decimals ?? 6)");
    assert_eq!(depends_on, &["reserve_raw", "meta"]);
    let volume_raw = pool.field("volume_raw").unwrap();
    assert!(matches!(
        volume_raw.kind,
        FieldKind::Mapped {
            strategy: Strategy::Sum,
            ..
        }
    ));

    // Resolver fields are ordered with computed fields: before the fields that read them.
    let order: Vec<&str> = pool
        .computed_order
        .iter()
        .map(|&i| pool.fields[i].name.as_str())
        .collect();
    let at = |n: &str| order.iter().position(|o| *o == n).unwrap();
    assert!(
        at("meta") < at("reserve") && at("meta") < at("symbol"),
        "{order:?}"
    );
    assert!(at("usdc") < at("volume"), "{order:?}");

    let back = hyperstack_spec::Stack::from_json(&stack.to_json()).unwrap();
    assert_eq!(back, stack);
}

#[test]
fn resolver_misuse() {
    let e = single_error(
        "\n[entities.Pool.fields]\nmint = { from = \"Pool.mint\" }\nmeta = { resolve = \"metadata\", input = \"mint\" }\n",
    );
    assert_error(
        &e,
        9,
        Some(20),
        "field `meta`",
        "unknown resolver `metadata` (known resolvers: token_metadata)",
    );

    let e = single_error("\n[entities.Pool.fields]\nmeta = { resolve = \"token_metadata\" }\n");
    assert_error(
        &e,
        8,
        None,
        "field `meta`",
        "resolver `token_metadata` needs an `input`",
    );

    let e = single_error(
        "\n[entities.Pool.fields]\nreserve = { from = \"Pool.reserve\" }\nmeta = { resolve = \"token_metadata\", input = \"reserve\" }\n",
    );
    assert_error(
        &e,
        9,
        None,
        "field `meta`",
        "the `input` of resolver `token_metadata` must give a mint address (a base58 string or pubkey), but `reserve` gives int",
    );

    let e = single_error(
        "\n[entities.Pool.fields]\nmeta = { resolve = \"token_metadata\", input = \"mnt\" }\n",
    );
    assert_error(&e, 8, Some(47), "field `meta`", "unknown field `mnt`");

    let e = single_error(
        "\n[entities.Pool.fields]\nmeta = { resolve = \"token_metadata\", input = \"\\\"x\\\"\", from = \"Pool.mint\" }\n",
    );
    assert_error(
        &e,
        8,
        None,
        "field `meta`",
        "a resolver field takes only `resolve`, `input`, `emit` and `description`, not `from`",
    );

    let e = single_error(
        "\n[entities.Pool.fields]\nmint = { from = \"Pool.mint\", input = \"mint\" }\n",
    );
    assert_error(
        &e,
        8,
        None,
        "field `mint`",
        "`input` belongs to resolver fields",
    );

    let e = single_error(
        "\n[entities.Pool.fields]\nmeta = { resolve = \"token_metadata\", input = \"\\\"x\\\"\", computed = \"1\" }\n",
    );
    assert_error(
        &e,
        8,
        None,
        "field `meta`",
        "either `computed` or `resolve`, not both",
    );

    // A resolver whose input reads a field that reads the resolver.
    let errors = load(&spec(
        "\n[entities.Pool.fields]\nmeta = { resolve = \"token_metadata\", input = \"sym\" }\nsym = { computed = \"meta.symbol\" }\n",
    ))
    .expect_err("a cycle")
    .0;
    assert!(
        errors[0].to_string().contains("meta") && errors[0].to_string().contains("sym"),
        "{}",
        errors[0]
    );
}

#[test]
fn entity_decimals_misuse() {
    let e = single_error(
        "\n[entities.Pool.fields]\nswaps = { count = \"swap\", key = \"accounts.pool\", transform = \"ui_amount(d)\" }\n",
    );
    assert_error(
        &e,
        8,
        None,
        "field `swaps`",
        "applies to fields whose value is one number (`from`, `sum`, `max`, `min`), not to `count` fields",
    );

    let e = single_error(
        "\n[entities.Pool.fields]\nreserve = { from = \"Pool.reserve\", transform = \"ui_amount(d ?? 6)\" }\nreserve_raw = { from = \"Pool.reserve\" }\n",
    );
    assert_error(
        &e,
        8,
        None,
        "field `reserve`",
        "keeps the raw amount in a hidden field `reserve_raw`, but the entity already has a field of that name",
    );

    // An unknown field in the decimals points into the transform as written.
    let e = single_error(
        "\n[entities.Pool.fields]\nreserve = { from = \"Pool.reserve\", transform = \"ui_amount(dec ?? 6)\" }\n",
    );
    assert_error(&e, 8, Some(59), "field `reserve`", "unknown field `dec`");

    let e = single_error(
        "\n[entities.Pool.fields]\nmint = { from = \"Pool.mint\" }\nmeta = { resolve = \"token_metadata\", input = \"mint\" }\nreserve = { from = \"Pool.reserve\", transform = \"ui_amount(meta.symbol)\" }\n",
    );
    assert_error(
        &e,
        10,
        None,
        "field `reserve`",
        "the decimals of `ui_amount` must be an int, found string",
    );

    let e = single_error(
        "\n[entities.Pool.fields]\nlabel = { from = \"Pool.label\", transform = \"ui_amount(3 + 3)\" }\n",
    );
    assert_error(
        &e,
        8,
        None,
        "field `label`",
        "the amount of `ui_amount` must be an int (base units), found string",
    );

    let e = single_error(
        "\n[entities.Pool.fields]\nsnap = { from = \"Pool\", transform = { reserve = \"ui_amount(d)\" } }\n",
    );
    assert_error(
        &e,
        8,
        None,
        "field `snap`",
        "decimals from the entity apply only to a whole field",
    );
}
