//! The spec features a real program needs: sections, keys from several sources, lookups
//! through lookups, `when` / `condition` / `stop`, transforms, `unique_count`, `merge`, the
//! list and bit functions, environment variables in IDL paths — a valid spec's model, and the
//! error (file:line:column, entity, field) of each misuse.

use std::path::{Path, PathBuf};

use hyperstack_spec::file::SpecFormat;
use hyperstack_spec::idl::{IdlPrimitive, Layout, LayoutFields};
use hyperstack_spec::{
    load_stack_from_str_env, FieldKind, KeyBinding, LoadedStack, SourceKind, SpecError,
    SpecErrorKind, SpecErrors, Strategy, Transform,
};

const GAME_IDL: &str = r#"{
  "address": "Game111111111111111111111111111111111111111",
  "metadata": { "name": "game", "version": "0.1.0", "spec": "0.1.0" },
  "instructions": [
    { "name": "deploy", "discriminator": [1,0,0,0,0,0,0,0],
      "accounts": [ { "name": "round" }, { "name": "var" }, { "name": "authority" } ],
      "args": [ { "name": "amount", "type": "u64" } ] },
    { "name": "reset", "discriminator": [2,0,0,0,0,0,0,0],
      "accounts": [ { "name": "round" }, { "name": "roundNext" }, { "name": "treasury" } ],
      "args": [] },
    { "name": "reveal", "discriminator": [3,0,0,0,0,0,0,0],
      "accounts": [ { "name": "var" } ],
      "args": [ { "name": "seed", "type": { "array": ["u8", 32] } } ] }
  ],
  "accounts": [
    { "name": "Round", "discriminator": [10,0,0,0,0,0,0,0] },
    { "name": "Var", "discriminator": [11,0,0,0,0,0,0,0] },
    { "name": "Treasury", "discriminator": [12,0,0,0,0,0,0,0] },
    { "name": "Miner", "discriminator": [13,0,0,0,0,0,0,0] },
    { "name": "Automation", "discriminator": [14,0,0,0,0,0,0,0] }
  ],
  "events": [
    { "name": "Deployed", "discriminator": [20,0,0,0,0,0,0,0] },
    { "name": "Settled", "discriminator": [21,0,0,0,0,0,0,0] },
    { "name": "Claimed", "discriminator": [22,0,0,0,0,0,0,0] }
  ],
  "types": [
    { "name": "Round", "type": { "kind": "struct", "fields": [
      { "name": "id", "type": "u64" },
      { "name": "deployed", "type": { "array": ["u64", 4] } },
      { "name": "slot_hash", "type": { "array": ["u8", 32] } },
      { "name": "motherlode", "type": "u64" },
      { "name": "top_miner", "type": "pubkey" },
      { "name": "label", "type": "string" }
    ] } },
    { "name": "Var", "type": { "kind": "struct", "fields": [
      { "name": "id", "type": "u64" },
      { "name": "value", "type": { "array": ["u8", 32] } },
      { "name": "end_at", "type": "u64" }
    ] } },
    { "name": "Treasury", "type": { "kind": "struct", "fields": [
      { "name": "balance", "type": "u64" },
      { "name": "motherlode", "type": "u64" },
      { "name": "factor", "type": { "defined": { "name": "Numeric" } } }
    ] } },
    { "name": "Numeric", "type": { "kind": "struct", "fields": [
      { "name": "bits", "type": { "array": ["u8", 16] } }
    ] } },
    { "name": "Miner", "type": { "kind": "struct", "fields": [
      { "name": "authority", "type": "pubkey" }, { "name": "rewards", "type": "u64" }
    ] } },
    { "name": "Automation", "type": { "kind": "struct", "fields": [
      { "name": "authority", "type": "pubkey" }, { "name": "amount", "type": "u64" },
      { "name": "id", "type": "u64" }
    ] } },
    { "name": "Deployed", "type": { "kind": "struct", "fields": [
      { "name": "round_id", "type": "u64" }, { "name": "authority", "type": "pubkey" },
      { "name": "amount", "type": "u64" }
    ] } },
    { "name": "Settled", "type": { "kind": "struct", "fields": [
      { "name": "round_id", "type": "u64" }, { "name": "winner", "type": "pubkey" },
      { "name": "amount", "type": "i64" }
    ] } },
    { "name": "Claimed", "type": { "kind": "struct", "fields": [
      { "name": "round_id", "type": "u64" }, { "name": "winner", "type": "pubkey" },
      { "name": "pot", "type": "u64" }
    ] } }
  ]
}"#;

fn env(name: &str) -> Option<String> {
    (name == "FIXTURES").then(|| "/fixtures".to_string())
}

fn load(text: &str) -> Result<LoadedStack, SpecErrors> {
    load_stack_from_str_env(
        text,
        Path::new("specs/f.stack.toml"),
        SpecFormat::Toml,
        &env,
        |rel| match rel {
            "/fixtures/idl/game.json" | "game.json" => {
                Ok((PathBuf::from(rel), GAME_IDL.to_string()))
            }
            other => Err(format!("no such file {other}")),
        },
    )
}

const HEADER: &str = "name = \"f\"\nidl = \"${FIXTURES}/idl/game.json\"\n\n[entities.GameRound]\nkey = \"Round.id\"\nlookups.address = \"Round.@address\"\n";

/// The header plus `body`; the body starts on line 7.
fn spec(body: &str) -> String {
    format!("{HEADER}{body}")
}

fn single_error(text: &str) -> SpecError {
    let errors = load(text).expect_err("spec should be rejected").0;
    assert_eq!(errors.len(), 1, "expected one error, got: {errors:#?}");
    errors.into_iter().next().unwrap()
}

/// Asserts an error's rendering: `specs/f.stack.toml:<line>:<col>: entity `<e>`, <item>: <msg…>`.
fn assert_error(e: &SpecError, line: usize, item: &str, message: &str) {
    let text = e.to_string();
    assert_eq!(e.location.line, Some(line), "{text}");
    assert!(e.location.column.is_some(), "{text}");
    assert_eq!(e.entity.as_deref(), Some("GameRound"), "{text}");
    assert_eq!(e.item.as_deref(), Some(item), "{text}");
    assert!(text.contains(message), "`{text}` lacks `{message}`");
    assert!(
        text.starts_with(&format!("specs/f.stack.toml:{line}:")),
        "{text}"
    );
}

const VALID: &str = r#"lookups.var = { from = "deploy.accounts.var", key = "accounts.round", via = "address" }
lookups.treasury = { from = "reset.accounts.treasury", key = "accounts.roundNext", via = "address" }

[entities.GameRound.fields]
id.round_id = { from = "Round.id" }
id.address = { from = "Round.@address" }
state.motherlode = { from = "Round.motherlode", transform = "ui_amount(11)" }
state.deployed = { from = "Round.deployed" }
state.deployed_ui = { computed = "map(state.deployed, x => x * 1e-9)" }
state.label_number = { from = "Round.label", transform = "to_number" }
results.slot_hash = { from = "Round.slot_hash", transform = "base58" }
results.slot_hash_hex = { from = "Round.slot_hash", transform = "hex" }
results.top_miner = { from = "Round.top_miner", transform = "to_string" }
results.rng = { computed = "if(all(entropy.raw, b => b == 0), null, xor(u64_le(entropy.raw, 0), u64_le(entropy.raw, 8), u64_le(entropy.raw, 16), u64_le(entropy.raw, 24)))" }
results.square = { computed = "results.rng % 25" }
results.hit = { computed = "reverse_bits(results.rng) % 625 == 0" }
results.deep.nested = { from = "Round.label" }
entropy.raw = { from = "Var.value", key = "@address", via = "var", when = "reveal", condition = "any(value, b => b != 0)", emit = false }
entropy.end_at = { from = "Var.end_at", key = "@address", via = "var" }
treasury.motherlode = { from = "Treasury.motherlode", key = "@address", via = "treasury", transform = "ui_amount(11)", stop = { on = "reset", key = "accounts.round", via = "address" } }
treasury.snapshot = { from = "Treasury", key = "@address", via = "treasury", transform = { balance = "ui_amount(9)", "factor.bits" = "hex" } }
metrics.deploys = { count = "deploy", key = "accounts.round", via = "address" }
metrics.deployers = { unique_count = "Deployed.data.authority", key = "data.round_id" }
summary = { merge = ["Deployed", "Claimed"], key = "data.round_id" }

[entities.GameRound.views]
latest = { sort = "id.round_id", order = "desc", limit = 1 }

[entities.GameMiner]
key = ["Miner.authority", "Automation.authority"]

[entities.GameMiner.fields]
rewards = { from = "Miner.rewards", transform = "ui_amount(11)" }
automation.amount = { from = "Automation.amount" }
"#;

fn prim(p: IdlPrimitive) -> Layout {
    Layout::Primitive(p)
}

#[test]
fn a_spec_using_every_feature_resolves() {
    let loaded = load(&spec(VALID)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.inputs[1], PathBuf::from("/fixtures/idl/game.json"));
    let stack = loaded.stack;
    let round = stack.entity("GameRound").unwrap();

    // Sections: dotted field names, nested structs named after the entity and path.
    assert!(round.field("state.motherlode").is_some());
    assert!(round.field("results.deep.nested").is_some());
    let sections: Vec<(&str, &str)> = round
        .sections
        .iter()
        .map(|s| (s.path.as_str(), s.type_name.as_str()))
        .collect();
    assert_eq!(
        sections,
        [
            ("id", "GameRoundId"),
            ("state", "GameRoundState"),
            ("results", "GameRoundResults"),
            ("results.deep", "GameRoundResultsDeep"),
            ("entropy", "GameRoundEntropy"),
            ("treasury", "GameRoundTreasury"),
            ("metrics", "GameRoundMetrics"),
        ]
    );

    // Lookups through lookups are kept, each after the one it reads through.
    let lookups: Vec<&str> = round.lookups.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(lookups, ["address", "var", "treasury"]);
    assert!(matches!(
        &round.lookups[1].sources[0].key,
        KeyBinding::Lookup { index, .. } if index == "address"
    ));

    // Transforms change the field types.
    let ty = |name: &str| round.field(name).unwrap().ty.clone();
    assert_eq!(ty("state.motherlode"), prim(IdlPrimitive::F64));
    assert_eq!(ty("state.label_number"), prim(IdlPrimitive::F64));
    assert_eq!(ty("results.slot_hash"), prim(IdlPrimitive::String));
    assert_eq!(ty("results.top_miner"), prim(IdlPrimitive::String));
    assert_eq!(
        ty("state.deployed_ui"),
        Layout::Vec(Box::new(prim(IdlPrimitive::F64)))
    );
    assert_eq!(ty("results.rng"), prim(IdlPrimitive::I128));
    assert_eq!(ty("results.hit"), prim(IdlPrimitive::Bool));
    let Layout::Struct { name, fields } = ty("treasury.snapshot") else {
        panic!("a struct");
    };
    assert_eq!(name, "GameRound_treasury_snapshot");
    let LayoutFields::Named(fields) = fields else {
        panic!("named")
    };
    assert_eq!(fields[0], ("balance".to_string(), prim(IdlPrimitive::F64)));
    assert!(
        matches!(&fields[2].1, Layout::Struct { name, .. } if name == "GameRound_treasury_snapshot_factor")
    );

    // when / condition / stop.
    let FieldKind::Mapped {
        when, condition, ..
    } = &round.field("entropy.raw").unwrap().kind
    else {
        panic!("mapped");
    };
    assert_eq!(when.len(), 1);
    assert_eq!(
        (when[0].kind, when[0].name.as_str()),
        (SourceKind::Instruction, "reveal")
    );
    assert_eq!(
        condition.as_ref().unwrap().source(),
        "any(value, b => b != 0)"
    );
    let FieldKind::Mapped {
        stop, transform, ..
    } = &round.field("treasury.motherlode").unwrap().kind
    else {
        panic!("mapped");
    };
    assert_eq!(*transform, Some(Transform::UiAmount { decimals: 11 }));
    let stop = stop.as_ref().unwrap();
    assert_eq!(stop.source.name, "reset");
    assert!(matches!(&stop.key, KeyBinding::Lookup { index, .. } if index == "address"));

    // unique_count and merge.
    let strategy = |name: &str| match &round.field(name).unwrap().kind {
        FieldKind::Mapped { strategy, .. } => *strategy,
        _ => panic!("{name} is not mapped"),
    };
    assert_eq!(strategy("metrics.deployers"), Strategy::UniqueCount);
    assert_eq!(ty("metrics.deployers"), prim(IdlPrimitive::U64));
    assert_eq!(strategy("summary"), Strategy::Merge);
    let Layout::Struct { name, fields } = ty("summary") else {
        panic!("a struct");
    };
    assert_eq!(name, "GameRound_summary");
    let names: Vec<&str> = match &fields {
        LayoutFields::Named(f) => f.iter().map(|(n, _)| n.as_str()).collect(),
        _ => vec![],
    };
    assert_eq!(names, ["round_id", "authority", "amount", "winner", "pot"]);

    // Computed fields read fields of sections by their full path.
    match &round.field("results.square").unwrap().kind {
        FieldKind::Computed { depends_on, .. } => assert_eq!(depends_on, &["results.rng"]),
        _ => panic!("computed"),
    }

    // A key from several sources: fields of either find the entity directly.
    let miner = stack.entity("GameMiner").unwrap();
    assert_eq!(miner.key.path(), "Miner.authority or Automation.authority");
    assert_eq!(miner.key.sources.len(), 2);
    for f in &miner.fields {
        let FieldKind::Mapped { sources, .. } = &f.kind else {
            panic!("mapped");
        };
        assert!(
            matches!(sources[0].key, KeyBinding::Direct { .. }),
            "{}",
            f.name
        );
    }

    // The model round-trips through its JSON (what generated crates embed).
    let back = hyperstack_spec::Stack::from_json(&stack.to_json()).unwrap();
    assert_eq!(back, stack);
}

#[test]
fn unset_environment_variables_are_named() {
    let text = "name = \"f\"\nidl = [\"${NOPE}/game.json\"]\n[entities.E]\nkey = \"Round.id\"\n";
    let errors = load(text).unwrap_err();
    assert_eq!(errors.only_unset_env(), Some(vec!["NOPE"]));
    let e = &errors.errors()[0];
    assert_eq!(e.location.line, Some(2));
    assert_eq!(
        e.to_string(),
        "specs/f.stack.toml:2:7: IDL path `${NOPE}/game.json` uses the environment variable `NOPE`, which is not set"
    );
}

#[test]
fn section_misuse() {
    let e = single_error(&spec(
        "[entities.GameRound.fields.state]\n\"not-an-ident\" = { from = \"Round.id\" }\n",
    ));
    assert_error(&e, 8, "field `state.not-an-ident`", "must be an identifier");
    let e = single_error(&spec("[entities.GameRound.fields]\nstate = { }\n"));
    assert_error(&e, 8, "section `state`", "empty table");
    let e = single_error(&spec(
        "[entities.GameRound.fields]\nstate.fooBar = { from = \"Round.id\" }\nstate.foo_bar = { from = \"Round.id\" }\n",
    ));
    assert_error(&e, 9, "field `state.foo_bar`", "duplicate field");
    // `GameRound` + section `state` and an entity `GameRoundState` generate one struct name.
    let text = spec(
        "fields.state.x = { from = \"Round.id\" }\n[entities.GameRoundState]\nkey = \"Round.id\"\nfields.y = { from = \"Round.id\" }\n",
    );
    let e = single_error(&text);
    assert_eq!(e.item, None);
    assert!(
        e.to_string()
            .contains("section `state` of entity `GameRound` generates the struct `GameRoundState`, like entity `GameRoundState`"),
        "{e}"
    );
    // A table mixing a field key and a field name is refused by the parser, with its line.
    let e = single_error(&spec(
        "[entities.GameRound.fields.s]\nx = { from = \"Round.id\" }\nfrom = \"Round.id\"\n",
    ));
    assert!(matches!(e.kind, SpecErrorKind::Syntax(_)), "{e}");
    assert!(e.location.line.is_some(), "{e}");
}

#[test]
fn key_misuse() {
    let text = "name = \"f\"\nidl = \"game.json\"\n[entities.E]\nkey = [\"Miner.authority\", \"Automation.id\"]\nfields.x = { from = \"Miner.rewards\" }\n";
    let e = single_error(text);
    assert_eq!((e.location.line, e.item.as_deref()), (Some(4), Some("key")));
    assert!(
        e.to_string().contains("sources disagree on the field's type: `Miner.authority` is pubkey but `Automation.id` is u64"),
        "{e}"
    );
    let text = "name = \"f\"\nidl = \"game.json\"\n[entities.E]\nkey = [\"Miner.authority\", \"Miner.authority\"]\nfields.x = { from = \"Miner.rewards\" }\n";
    let e = single_error(text);
    assert!(
        e.to_string().contains("both read the key from `Miner`"),
        "{e}"
    );
    let text = "name = \"f\"\nidl = \"game.json\"\n[entities.E]\nkey = []\nfields.x = { from = \"Miner.rewards\" }\n";
    let e = single_error(text);
    assert!(
        e.to_string()
            .contains("`key` needs at least one source path"),
        "{e}"
    );
}

#[test]
fn lookup_misuse() {
    let e = single_error(&spec(
        "lookups.var = { from = \"deploy.accounts.var\", key = \"accounts.round\", via = \"nope\" }\nfields.x = { from = \"Round.id\" }\n",
    ));
    assert_error(
        &e,
        7,
        "lookup `var`",
        "`via = \"nope\"` names no lookup of this entity (lookups: address, var)",
    );
    let errors = load(&spec(
        "lookups.a2 = { from = \"deploy.accounts.var\", key = \"accounts.round\", via = \"b2\" }\nlookups.b2 = { from = \"reset.accounts.treasury\", key = \"accounts.round\", via = \"a2\" }\nfields.x = { from = \"Round.id\" }\n",
    ))
    .unwrap_err();
    assert_eq!(
        errors.errors().len(),
        2,
        "both lookups of the cycle: {errors}"
    );
    assert_error(
        &errors.errors()[0],
        7,
        "lookup `a2`",
        "lookups resolve through each other in a cycle (`a2` via `b2`)",
    );
    let e = single_error(&spec(
        "lookups.v = { from = \"deploy.accounts.var\", via = \"address\" }\nfields.x = { from = \"Round.id\" }\n",
    ));
    assert_error(&e, 7, "lookup `v`", "`via` needs `key`");
}

#[test]
fn transform_misuse() {
    let field = |f: &str| spec(&format!("fields.x = {f}\n"));
    let e = single_error(&field("{ from = \"Round.id\", transform = \"ui_amount\" }"));
    assert_error(&e, 7, "field `x`", "`ui_amount` needs its decimals");
    let e = single_error(&field("{ from = \"Round.id\", transform = \"b58\" }"));
    assert_error(&e, 7, "field `x`", "unknown transform `b58`");
    let e = single_error(&field(
        "{ from = \"Round.label\", transform = \"ui_amount(9)\" }",
    ));
    assert_error(
        &e,
        7,
        "field `x`",
        "transform of `Round.label`: `ui_amount(9)` applies to integers up to 128 bits, not string",
    );
    let e = single_error(&field("{ from = \"Round.id\", transform = \"base58\" }"));
    assert_error(&e, 7, "field `x`", "`base58` applies to bytes");
    let e = single_error(&field("{ from = \"Round.deployed\", transform = \"hex\" }"));
    assert_error(&e, 7, "field `x`", "not [u64; 4]");
    let e = single_error(&field("{ count = \"deploy\", key = \"accounts.round\", via = \"address\", transform = \"to_string\" }"));
    assert_error(
        &e,
        7,
        "field `x`",
        "`transform` does not apply to `count` fields",
    );
    let e = single_error(&field(
        "{ from = \"Round\", transform = { nope = \"hex\" } }",
    ));
    assert_error(&e, 7, "field `x`", "no field `nope` to transform (fields: id, deployed, slot_hash, motherlode, top_miner, label)");
    let e = single_error(&field(
        "{ from = \"Round\", transform = { id = \"hexx\" } }",
    ));
    assert_error(&e, 7, "field `x`", "`id`: unknown transform `hexx`");
    // A transformed value feeds the strategy: a sum of UI amounts is a float sum.
    let stack = load(&field("{ sum = \"deploy.args.amount\", key = \"accounts.round\", via = \"address\", transform = \"ui_amount(9)\" }")).unwrap().stack;
    assert_eq!(
        stack.entity("GameRound").unwrap().field("x").unwrap().ty,
        prim(IdlPrimitive::F64)
    );
    let e = single_error(&field("{ sum = \"Round.id\", transform = \"to_string\" }"));
    assert_error(
        &e,
        7,
        "field `x`",
        "strategy `sum` needs a numeric value, but `Round.id` is string",
    );
}

#[test]
fn when_condition_and_stop_misuse() {
    let field = |f: &str| {
        spec(&format!("lookups.var = {{ from = \"deploy.accounts.var\", key = \"accounts.round\", via = \"address\" }}\nfields.x = {f}\n"))
    };
    let e = single_error(&field("{ from = \"deploy.args.amount\", key = \"accounts.round\", via = \"address\", when = \"reveal\" }"));
    assert_error(&e, 8, "field `x`", "`when` applies to account sources");
    let e = single_error(&field(
        "{ from = \"Var.end_at\", key = \"@address\", via = \"var\", when = \"Settled\" }",
    ));
    assert_error(
        &e,
        8,
        "field `x`",
        "`when` names instructions; `Settled` is an event",
    );
    let e = single_error(&field(
        "{ from = \"Var.end_at\", key = \"@address\", via = \"var\", when = \"revael\" }",
    ));
    assert_error(
        &e,
        8,
        "field `x`",
        "unknown account, instruction or event `revael`",
    );
    let e = single_error(&field(
        "{ from = \"Var.end_at\", key = \"@address\", via = \"var\", condition = \"value + 1\" }",
    ));
    assert_error(
        &e,
        8,
        "field `x`",
        "a condition must be a boolean expression over `value`, this one gives int",
    );
    let e = single_error(&field(
        "{ from = \"Var.end_at\", key = \"@address\", via = \"var\", condition = \"valeu > 1\" }",
    ));
    assert_error(&e, 8, "field `x`", "unknown field `valeu`");
    // A condition reads the fields of a struct value.
    load(&field("{ from = \"Var\", key = \"@address\", via = \"var\", condition = \"value.end_at > 5 && any(value.value, b => b != 0)\", strategy = \"set_once\" }"))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn stop_and_merge_misuse() {
    let field = |f: &str| spec(&format!("fields.x = {f}\n"));
    let e = single_error(&field(
        "{ from = \"Round.id\", stop = { on = \"Round\", key = \"id\" } }",
    ));
    assert_error(
        &e,
        7,
        "field `x`",
        "`stop.on` names an instruction or event; `Round` is an account",
    );
    let e = single_error(&field(
        "{ from = \"Round.id\", stop = { on = \"reset\", key = \"accounts.nope\" } }",
    ));
    assert_error(&e, 7, "field `x`", "account role `nope` does not exist");
    let e = single_error(&field("{ from = \"Round.id\", stop = { on = \"reset\" } }"));
    assert!(
        matches!(e.kind, SpecErrorKind::Syntax(_)),
        "`key` is required: {e}"
    );
    let e = single_error(&field("{ merge = \"Round.id\" }"));
    assert_error(
        &e,
        7,
        "field `x`",
        "strategy `merge` needs a struct with named fields",
    );
    let e = single_error(&field(
        "{ merge = [\"Deployed\", \"Settled\"], key = \"data.round_id\", strategy = \"sum\" }",
    ));
    assert_error(&e, 7, "field `x`", "contradicts the `merge` shorthand");
    // `amount` is u64 in one source and i64 in the other.
    let text = spec("fields.x = { merge = [\"Deployed\", \"Settled\", \"Deployed\"], key = \"data.round_id\" }\n");
    let ok = load(&text);
    assert!(ok.is_err());
    let e = ok.unwrap_err().0.remove(0);
    assert_error(&e, 7, "field `x`", "merged sources disagree on field `amount`: `Deployed` has option<u64> but `Settled` has option<i64>");
}
