//! Every kind of spec error, with its location, plus a valid spec's resolved model.

use std::path::{Path, PathBuf};

use hyperstack_spec::file::SpecFormat;
use hyperstack_spec::idl::{IdlPrimitive, Layout};
use hyperstack_spec::{
    load_stack_from_str, FieldKind, KeyBinding, LoadedStack, SpecError, SpecErrorKind, SpecErrors,
    Strategy, ValuePath, ViewKind,
};

const MINI_IDL: &str = r#"{
  "address": "Mini111111111111111111111111111111111111111",
  "metadata": { "name": "mini", "version": "0.1.0", "spec": "0.1.0" },
  "instructions": [
    { "name": "swap", "discriminator": [1,2,3,4,5,6,7,8],
      "accounts": [ { "name": "pool", "writable": true }, { "name": "user", "signer": true } ],
      "args": [ { "name": "amount", "type": "u64" }, { "name": "memo", "type": "string" } ] }
  ],
  "accounts": [ { "name": "Pool", "discriminator": [9,9,9,9,9,9,9,9] } ],
  "events": [ { "name": "SwapEvent", "discriminator": [7,7,7,7,7,7,7,7] } ],
  "types": [
    { "name": "Pool", "type": { "kind": "struct", "fields": [
      { "name": "authority", "type": "pubkey" },
      { "name": "mint", "type": "pubkey" },
      { "name": "reserve", "type": "u64" },
      { "name": "label", "type": "string" },
      { "name": "fee", "type": { "option": "u64" } },
      { "name": "inner", "type": { "defined": { "name": "Inner" } } }
    ] } },
    { "name": "Inner", "type": { "kind": "struct", "fields": [ { "name": "a", "type": "u64" } ] } },
    { "name": "SwapEvent", "type": { "kind": "struct", "fields": [
      { "name": "mint", "type": "pubkey" }, { "name": "amount", "type": "u64" }, { "name": "memo", "type": "string" }
    ] } }
  ]
}"#;

fn load_as(text: &str, format: SpecFormat) -> Result<LoadedStack, SpecErrors> {
    let path = match format {
        SpecFormat::Toml => Path::new("specs/test.stack.toml"),
        SpecFormat::Json => Path::new("specs/test.stack.json"),
    };
    load_stack_from_str(text, path, format, |rel| match rel {
        "mini.json" => Ok((PathBuf::from("specs/mini.json"), MINI_IDL.to_string())),
        "mini2.json" => Ok((PathBuf::from("specs/mini2.json"), MINI_IDL.to_string())),
        "broken.json" => Ok((
            PathBuf::from("specs/broken.json"),
            "{\"instructions\": [".into(),
        )),
        other => Err(format!("no such file {other}")),
    })
}

fn load(text: &str) -> Result<LoadedStack, SpecErrors> {
    load_as(text, SpecFormat::Toml)
}

const HEADER: &str =
    "name = \"mini\"\nidl = \"mini.json\"\n\n[entities.Pool]\nkey = \"Pool.@address\"\n";

/// A spec made of the header plus `body`; the body starts on line 6.
fn spec(body: &str) -> String {
    format!("{HEADER}{body}")
}

fn single_error(text: &str) -> SpecError {
    let errors = load(text).expect_err("spec should be rejected").0;
    assert_eq!(errors.len(), 1, "expected one error, got: {errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn valid_spec_resolves_types_keys_and_views() {
    let text = spec(
        r#"lookups.mint = "Pool.mint"
fields.reserve = { from = "Pool.reserve" }
fields.fee = { from = "Pool.fee" }
fields.a = { from = "Pool.inner.a", emit = false }
fields.swaps = { count = "swap", key = "accounts.pool" }
fields.volume = { sum = "SwapEvent.data.amount", key = "data.mint", via = "mint" }
fields.memos = { append = "swap.args.memo", key = "accounts.pool", cap = 3 }
fields.first_slot = { from = "swap.@slot", key = "accounts.pool", strategy = "set_once" }
fields.double = { computed = "half * 4" }
fields.half = { computed = "reserve / 2" }
views.top = { sort = "volume", order = "desc", limit = 1, filter = "reserve > 0" }
"#,
    );
    let stack = load(&text).unwrap().stack;
    let pool = stack.entity("Pool").unwrap();
    let names: Vec<&str> = pool.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "reserve",
            "fee",
            "a",
            "swaps",
            "volume",
            "memos",
            "first_slot",
            "double",
            "half"
        ]
    );
    assert_eq!(
        pool.field("reserve").unwrap().ty,
        Layout::Primitive(IdlPrimitive::U64)
    );
    let fee = pool.field("fee").unwrap();
    assert!(fee.nullable, "an IDL option makes null meaningful");
    assert!(!pool.field("a").unwrap().emit);
    let volume = pool.field("volume").unwrap();
    match &volume.kind {
        FieldKind::Mapped {
            strategy, sources, ..
        } => {
            assert_eq!(*strategy, Strategy::Sum);
            assert_eq!(sources[0].value, ValuePath::Data(vec!["amount".into()]));
            assert_eq!(
                sources[0].key,
                KeyBinding::Lookup {
                    path: ValuePath::Data(vec!["mint".into()]),
                    index: "mint".into()
                }
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let memos = pool.field("memos").unwrap();
    assert_eq!(
        memos.ty,
        Layout::Vec(Box::new(Layout::Primitive(IdlPrimitive::String)))
    );
    assert!(matches!(
        &memos.kind,
        FieldKind::Mapped {
            strategy: Strategy::Append { cap: 3 },
            ..
        }
    ));
    // `double` reads `half`: half is evaluated first.
    let order: Vec<&str> = pool
        .computed_order
        .iter()
        .map(|&i| pool.fields[i].name.as_str())
        .collect();
    assert_eq!(order, ["half", "double"]);
    assert_eq!(
        pool.field("half").unwrap().ty,
        Layout::Primitive(IdlPrimitive::F64)
    );
    let views: Vec<&str> = pool.views.iter().map(|v| v.full_name.as_str()).collect();
    assert_eq!(views, ["Pool/state", "Pool/list", "Pool/top"]);
    match &pool.view("top").unwrap().kind {
        ViewKind::Derived(d) => assert!(d.is_single()),
        other => panic!("unexpected {other:?}"),
    }
    // The model survives its JSON form (generated crates embed it).
    let back = hyperstack_spec::Stack::from_json(&stack.to_json()).unwrap();
    assert_eq!(back, stack);
}

#[test]
fn unknown_account_names_file_line_column_and_field() {
    let e = single_error(&spec("fields.x = { from = \"Poool.reserve\" }\n"));
    assert!(matches!(&e.kind, SpecErrorKind::UnknownSource { name, .. } if name == "Poool"));
    assert_eq!(e.location.file, Path::new("specs/test.stack.toml"));
    assert_eq!((e.location.line, e.location.column), (Some(6), Some(21)));
    assert_eq!(e.entity.as_deref(), Some("Pool"));
    assert_eq!(e.item.as_deref(), Some("field `x`"));
    let shown = e.to_string();
    assert!(
        shown.starts_with("specs/test.stack.toml:6:21: entity `Pool`, field `x`: unknown account"),
        "{shown}"
    );
    assert!(shown.contains("known: Pool, SwapEvent, swap"), "{shown}");
}

#[test]
fn unknown_instruction_and_unknown_account_field() {
    let e = single_error(&spec(
        "fields.x = { count = \"swop\", key = \"accounts.pool\" }\n",
    ));
    assert!(matches!(&e.kind, SpecErrorKind::UnknownSource { name, .. } if name == "swop"));

    let e = single_error(&spec("fields.x = { from = \"Pool.reserves\" }\n"));
    match &e.kind {
        SpecErrorKind::UnknownField {
            what,
            name,
            available,
            ..
        } => {
            assert_eq!((*what, name.as_str()), ("field", "reserves"));
            assert!(available.contains("reserve"), "{available}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let e = single_error(&spec(
        "fields.x = { from = \"swap.accounts.pol\", key = \"accounts.pool\" }\n",
    ));
    assert!(matches!(
        &e.kind,
        SpecErrorKind::UnknownField {
            what: "account role",
            ..
        }
    ));
    let e = single_error(&spec(
        "fields.x = { from = \"swap.args.amt\", key = \"accounts.pool\" }\n",
    ));
    assert!(matches!(
        &e.kind,
        SpecErrorKind::UnknownField {
            what: "argument",
            ..
        }
    ));
    let e = single_error(&spec(
        "fields.x = { from = \"swap.data.amount\", key = \"accounts.pool\" }\n",
    ));
    assert!(matches!(&e.kind, SpecErrorKind::BadPath { .. }), "{e}");
}

#[test]
fn strategy_type_mismatches() {
    let e = single_error(&spec("fields.x = { sum = \"Pool.label\" }\n"));
    match &e.kind {
        SpecErrorKind::TypeMismatch {
            strategy, found, ..
        } => {
            assert_eq!(*strategy, "sum");
            assert_eq!(found, "string");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.location.line, Some(6));
    let e = single_error(&spec("fields.x = { max = \"Pool.authority\" }\n"));
    assert!(matches!(
        &e.kind,
        SpecErrorKind::TypeMismatch {
            strategy: "max",
            ..
        }
    ));
    let e = single_error(&spec("fields.x = { count = \"Pool\" }\n"));
    assert!(matches!(
        &e.kind,
        SpecErrorKind::TypeMismatch {
            strategy: "count",
            ..
        }
    ));
    let e = single_error(&spec(
        "fields.x = { from = [\"Pool.reserve\", \"Pool.label\"] }\n",
    ));
    assert!(
        matches!(&e.kind, SpecErrorKind::SourceTypeConflict { .. }),
        "{e}"
    );
}

#[test]
fn keys_that_cannot_be_resolved() {
    // An instruction source without `key`.
    let e = single_error(&spec("fields.x = { count = \"swap\" }\n"));
    assert!(
        matches!(&e.kind, SpecErrorKind::UnresolvableKey { .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("add a `key` path (`accounts.<role>` or `args.<arg>`)"),
        "{e}"
    );
    // A key of the wrong type (string vs the pubkey primary key).
    let e = single_error(&spec(
        "fields.x = { count = \"swap\", key = \"args.memo\" }\n",
    ));
    assert!(
        e.to_string()
            .contains("is string but the primary key is pubkey"),
        "{e}"
    );
    // An unknown lookup index.
    let e = single_error(&spec(
        "fields.x = { sum = \"SwapEvent.data.amount\", key = \"data.mint\", via = \"mint\" }\n",
    ));
    assert!(e.to_string().contains("no lookup `mint`"), "{e}");
    // A primary key that is not an identifier type.
    let errors =
        load("name = \"mini\"\nidl = \"mini.json\"\n[entities.Pool]\nkey = \"Pool.inner\"\n")
            .unwrap_err()
            .0;
    assert!(matches!(
        &errors[0].kind,
        SpecErrorKind::UnresolvableKey { .. }
    ));
    assert_eq!(errors[0].item.as_deref(), Some("key"));
    assert_eq!(errors[0].location.line, Some(4));
    // `via` without `key`.
    let e = single_error(&spec(
        "fields.x = { from = \"Pool.reserve\", via = \"mint\" }\n",
    ));
    assert!(e.to_string().contains("`via` needs `key`"), "{e}");
}

#[test]
fn computed_cycles_are_reported_with_the_cycle() {
    let e = single_error(&spec(
        "fields.a = { computed = \"b + 1\" }\nfields.b = { computed = \"c + 1\" }\nfields.c = { computed = \"a + 1\" }\n",
    ));
    match &e.kind {
        SpecErrorKind::ComputedCycle { cycle } => assert_eq!(cycle, &["a", "b", "c", "a"]),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.location.line, Some(6));
    let e = single_error(&spec("fields.a = { computed = \"a * 2\" }\n"));
    assert!(matches!(&e.kind, SpecErrorKind::ComputedCycle { cycle } if cycle == &["a", "a"]));
}

#[test]
fn expression_errors_point_into_the_expression() {
    // The second `+` is byte 10 of the expression, whose quote is at column 25.
    let text = spec(
        "fields.r = { from = \"Pool.reserve\" }\nfields.x = { computed = \"reserve + + 1\" }\n",
    );
    let e = single_error(&text);
    assert!(matches!(&e.kind, SpecErrorKind::Expression { .. }), "{e}");
    assert_eq!(e.location.line, Some(7));
    assert_eq!(e.location.column, Some(36));
    // Unknown field in an expression.
    let e = single_error(&spec("fields.x = { computed = \"nope * 2\" }\n"));
    assert!(e.to_string().contains("nope"), "{e}");
    // Type error: arithmetic on a string.
    let e = single_error(&spec(
        "fields.l = { from = \"Pool.label\" }\nfields.x = { computed = \"l + 1\" }\n",
    ));
    assert!(matches!(&e.kind, SpecErrorKind::Expression { .. }), "{e}");
}

#[test]
fn duplicate_names() {
    // Two fields that generate the same Rust identifier.
    let e = single_error(&spec(
        "fields.reserveA = { from = \"Pool.reserve\" }\nfields.reserve_a = { from = \"Pool.reserve\" }\n",
    ));
    match &e.kind {
        SpecErrorKind::Duplicate { what, first, .. } => {
            assert_eq!(*what, "field");
            assert_eq!(first.as_ref().and_then(|l| l.line), Some(6));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.location.line, Some(7));
    // Two IDLs of the same program.
    let errors = load("name = \"mini\"\nidl = [\"mini.json\", \"mini2.json\"]\n[entities.Pool]\nkey = \"Pool.@address\"\n")
        .unwrap_err()
        .0;
    assert!(errors.iter().any(|e| matches!(
        &e.kind,
        SpecErrorKind::Duplicate {
            what: "IDL program",
            ..
        }
    )));
    // A TOML key given twice is a syntax error with its line.
    let e = single_error(&spec(
        "fields.x = { from = \"Pool.reserve\" }\nfields.x = { from = \"Pool.reserve\" }\n",
    ));
    assert!(matches!(&e.kind, SpecErrorKind::Syntax(_)), "{e}");
    assert_eq!(e.location.line, Some(7));
    // A derived view named like a built-in one.
    let e = single_error(&spec(
        "views.list = { sort = \"x\" }\nfields.x = { from = \"Pool.reserve\" }\n",
    ));
    assert!(e.to_string().contains("`list` is a built-in view"), "{e}");
}

#[test]
fn derived_views_sorting_by_unknown_or_unsortable_fields() {
    let e = single_error(&spec(
        "fields.x = { from = \"Pool.reserve\" }\nviews.top = { sort = \"y\" }\n",
    ));
    match &e.kind {
        SpecErrorKind::BadSortField { field, reason } => {
            assert_eq!(field, "y");
            assert!(reason.contains("fields: x"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.item.as_deref(), Some("view `top`"));
    assert_eq!((e.location.line, e.location.column), (Some(7), Some(22)));
    let e = single_error(&spec(
        "fields.m = { append = \"swap.args.memo\", key = \"accounts.pool\" }\nviews.top = { sort = \"m\" }\n",
    ));
    assert!(matches!(&e.kind, SpecErrorKind::BadSortField { .. }), "{e}");
    let e = single_error(&spec(
        "fields.x = { from = \"Pool.reserve\" }\nviews.top = { filter = \"x + 1\" }\n",
    ));
    assert!(
        e.to_string()
            .contains("a filter must be a boolean expression"),
        "{e}"
    );
    let e = single_error(&spec(
        "fields.x = { from = \"Pool.reserve\" }\nviews.top = { limit = 0 }\n",
    ));
    assert!(e.to_string().contains("`limit` must be at least 1"), "{e}");
}

#[test]
fn shape_errors_are_syntax_errors_with_lines() {
    let e = single_error(&spec("fields.x = { form = \"Pool.reserve\" }\n"));
    assert!(
        matches!(&e.kind, SpecErrorKind::Syntax(m) if m.contains("form")),
        "{e}"
    );
    assert_eq!(e.location.line, Some(6));
    let e = single_error("name = \"mini\"\nidl = \"mini.json\n");
    assert!(matches!(&e.kind, SpecErrorKind::Syntax(_)), "{e}");
    assert_eq!(e.location.line, Some(2));
    let e = single_error(&spec("fields.x = { }\n"));
    assert!(e.to_string().contains("a field needs one of"), "{e}");
    let e = single_error(&spec(
        "fields.x = { from = \"Pool.reserve\", sum = \"Pool.reserve\" }\n",
    ));
    assert!(e.to_string().contains("exactly one of"), "{e}");
    let e = single_error(&spec("fields.x = { from = \"Pool.reserve\", cap = 3 }\n"));
    assert!(
        e.to_string().contains("`cap` applies only to `append`"),
        "{e}"
    );
}

#[test]
fn broken_and_missing_idls() {
    let errors = load("name = \"mini\"\nidl = [\"broken.json\", \"nope.json\"]\n[entities.Pool]\nkey = \"Pool.@address\"\n")
        .unwrap_err()
        .0;
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(matches!(&errors[0].kind, SpecErrorKind::Idl { path, .. } if path == "broken.json"));
    assert!(
        matches!(&errors[1].kind, SpecErrorKind::Idl { error, .. } if error.contains("no such file"))
    );
    assert_eq!(errors[0].location.line, Some(2));
}

#[test]
fn json_specs_work_and_errors_name_entity_and_field() {
    let ok = r#"{"name":"mini","idl":"mini.json","entities":{"Pool":{"key":"Pool.@address",
        "fields":{"reserve":{"from":"Pool.reserve"}}}}}"#;
    let stack = load_as(ok, SpecFormat::Json).unwrap().stack;
    assert_eq!(stack.entities[0].fields[0].name, "reserve");
    let bad = r#"{"name":"mini","idl":"mini.json","entities":{"Pool":{"key":"Pool.@address",
        "fields":{"reserve":{"sum":"Pool.label"}}}}}"#;
    let e = load_as(bad, SpecFormat::Json).unwrap_err().0.remove(0);
    assert_eq!(e.location.line, None);
    assert_eq!(e.item.as_deref(), Some("field `reserve`"));
    assert!(
        e.to_string()
            .starts_with("specs/test.stack.json: entity `Pool`, field `reserve`"),
        "{e}"
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let errors = load(&spec(
        "fields.a = { from = \"Nope.x\" }\nfields.b = { sum = \"Pool.label\" }\nviews.v = { sort = \"zz\" }\n",
    ))
    .unwrap_err();
    assert_eq!(errors.0.len(), 3, "{errors}");
    let text = errors.to_string();
    assert_eq!(text.lines().count(), 3);
    assert!(text
        .lines()
        .all(|l| l.starts_with("error: specs/test.stack.toml:")));
}
