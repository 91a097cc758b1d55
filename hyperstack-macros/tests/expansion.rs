//! `stack!` expands to the same items `hs sdk create rust` writes: the macro's expansion of the
//! pump example and the committed `generated/pump-stack` crate behave identically, field for
//! field and view for view. Also: specs next to the invoking file are found, and a spec error
//! reads the same from the macro as from `hyperstack_spec::load_stack`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hyperstack_sdk::spec::Stack;
use hyperstack_sdk::{Entity, ViewContext, Views};

/// The pump example, expanded by the macro (path relative to this crate's manifest dir).
mod from_macro {
    hyperstack_macros::stack!("../examples/pump/pump.stack.toml");
}

/// A spec found relative to this file's directory (`tests/`), not the manifest dir.
mod from_source_dir {
    hyperstack_macros::stack!("ui/specs/valid.stack.toml");
}

/// A server patch of one token: `created_slot` and `volume_sol` are u64 given as strings (the
/// first beyond 2^53), `creator`, `trade_count` and `market_cap_sol` are missing, `last_trades`
/// holds two `TradeEvent`s.
const TOKEN_JSON: &str = r#"{
  "mint": "MintA1111111111111111111111111111111111111",
  "name": "Pump Token",
  "symbol": "PUMP",
  "created_slot": "18446744073709551615",
  "virtual_sol_reserves": 30000000000,
  "virtual_token_reserves": 1073000000000000,
  "real_sol_reserves": 0,
  "complete": false,
  "volume_sol": "1500000000",
  "largest_trade_sol": 1000000000,
  "last_trade_slot": 250000001,
  "last_trades": [
    { "mint": "MintA1111111111111111111111111111111111111", "sol_amount": "1000000000",
      "token_amount": 35000000000000, "is_buy": true, "user": "UserA111111111111111111111111111111111111111",
      "timestamp": "1700000000", "virtual_sol_reserves": 31000000000, "virtual_token_reserves": 1038000000000000 },
    { "mint": "MintA1111111111111111111111111111111111111", "sol_amount": 500000000,
      "token_amount": 17000000000000, "is_buy": false, "user": "UserB111111111111111111111111111111111111111",
      "timestamp": -5, "virtual_sol_reserves": 30500000000, "virtual_token_reserves": 1055000000000000 }
  ],
  "price_sol": 0.0000279,
  "stats": { "unique_traders": "2", "buys": 1 }
}"#;

/// Everything [`observe!`] reads from one module path.
type Observed = (
    serde_json::Value, // the token, deserialized then serialized
    Option<String>,    // name
    Option<u64>,       // created_slot (given as a string)
    Option<u64>,       // volume_sol (given as a string)
    Option<u64>,       // trade_count (missing)
    // creator (missing); stats: unique_traders (given as a string), buys, sells (missing)
    (Option<String>, (Option<u64>, Option<u64>, Option<u64>)),
    Vec<(u64, bool, i64)>,   // last_trades: (sol_amount, is_buy, timestamp)
    &'static str,            // Entity::NAME
    &'static [&'static str], // Entity::VIEWS
    [&'static str; 5],       // every view accessor's name()
    Stack,                   // spec()
    &'static str,            // STACK_JSON
);

/// Reads, through module path `$m`, everything the pump stack's items expose.
macro_rules! observe {
    ($m:ident) => {{
        let token: $m::Token = serde_json::from_str(TOKEN_JSON).expect("token JSON deserializes");
        let serialized = serde_json::to_value(&token).expect("token serializes");
        let back: $m::Token =
            serde_json::from_value(serialized.clone()).expect("serialized token deserializes");
        assert_eq!(
            back,
            token,
            "{} round-trips through serde_json",
            stringify!($m)
        );
        let empty: $m::Token = serde_json::from_str("{}").expect("empty patch deserializes");
        assert_eq!(empty, $m::Token::default());
        assert!(
            !serde_json::to_value(&empty)
                .unwrap()
                .as_object()
                .unwrap()
                .contains_key("stats"),
            "an empty section is left out"
        );

        let trades = token
            .last_trades
            .iter()
            .flatten()
            .map(|t: &$m::idl::TradeEvent| (t.sol_amount, t.is_buy, t.timestamp))
            .collect::<Vec<_>>();

        let views = <$m::TokenViews as Views>::from_context(ViewContext::detached());
        let view_names = [
            views.state().name(),
            views.list().name(),
            views.append().name(),
            views.trending().name(),
            views.latest().name(),
        ];
        let observed: Observed = (
            serialized,
            token.name.clone(),
            token.created_slot,
            token.volume_sol,
            token.trade_count,
            (
                token.creator.clone(),
                (
                    token.stats.unique_traders,
                    token.stats.buys,
                    token.stats.sells,
                ),
            ),
            trades,
            <$m::TokenEntity as Entity>::NAME,
            <$m::TokenEntity as Entity>::VIEWS,
            view_names,
            $m::spec(),
            $m::STACK_JSON,
        );
        observed
    }};
}

#[test]
fn macro_expansion_matches_the_generated_crate() {
    let from_macro = observe!(from_macro);
    let generated = observe!(pump_stack);
    assert_eq!(from_macro, generated);

    // Concrete values, so the comparison above cannot hold vacuously.
    let (
        json,
        name,
        created_slot,
        volume,
        trade_count,
        (creator, stats),
        trades,
        entity,
        views,
        names,
        spec,
        _,
    ) = &from_macro;
    assert_eq!(name.as_deref(), Some("Pump Token"));
    assert_eq!(*created_slot, Some(u64::MAX));
    assert_eq!(*volume, Some(1_500_000_000));
    assert_eq!(*trade_count, None);
    assert_eq!(*creator, None);
    // A section: nested in JSON, a nested struct in Rust (`token.stats.buys`), its missing
    // fields `None` and an empty section left out when serialized.
    assert_eq!(*stats, (Some(2), Some(1), None));
    assert_eq!(
        trades,
        &[
            (1_000_000_000, true, 1_700_000_000),
            (500_000_000, false, -5)
        ]
    );
    assert_eq!(*entity, "Token");
    let expected_views = [
        "Token/state",
        "Token/list",
        "Token/append",
        "Token/trending",
        "Token/latest",
    ];
    assert_eq!(*views, expected_views);
    assert_eq!(*names, expected_views);
    // Missing fields are not serialized; strings became numbers.
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        !keys.contains(&"trade_count") && !keys.contains(&"creator"),
        "{keys:?}"
    );
    assert_eq!(json["created_slot"], serde_json::json!(u64::MAX));
    assert_eq!(
        json["last_trades"][0]["sol_amount"],
        serde_json::json!(1_000_000_000u64)
    );
    // The embedded model is the example spec as hyperstack-spec loads it today.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded =
        hyperstack_sdk::spec::load_stack(&manifest.join("../examples/pump/pump.stack.toml"))
            .expect("the pump example is valid");
    assert_eq!(*spec, loaded);
    let token = spec.entity("Token").expect("Token entity");
    assert!(token.field("volume_sol").is_some());
}

/// Builds a `$m::Token` with every field set. The literal has no `..`: it only compiles when
/// `$m::Token` has exactly these fields.
macro_rules! full_token {
    ($m:ident) => {
        $m::Token {
            mint: Some("MintF1111111111111111111111111111111111111".into()),
            name: Some("Full".into()),
            symbol: Some("FULL".into()),
            creator: Some("Creator11111111111111111111111111111111111".into()),
            created_slot: Some(9_007_199_254_740_993),
            virtual_sol_reserves: Some(1),
            virtual_token_reserves: Some(2),
            real_sol_reserves: Some(3),
            complete: Some(true),
            trade_count: Some(4),
            volume_sol: Some(u64::MAX),
            largest_trade_sol: Some(6),
            last_trade_slot: Some(7),
            last_trades: Some(vec![$m::idl::TradeEvent {
                mint: "MintF1111111111111111111111111111111111111".into(),
                sol_amount: 8,
                token_amount: 9,
                is_buy: false,
                user: "UserF111111111111111111111111111111111111111".into(),
                timestamp: -10,
                virtual_sol_reserves: 11,
                virtual_token_reserves: 12,
            }]),
            price_sol: Some(0.5),
            market_cap_sol: Some(1.25),
            stats: $m::TokenStats {
                unique_traders: Some(3),
                buys: Some(2),
                sells: Some(1),
                real_sol: Some(1.5),
            },
        }
    };
}

/// Serializes a full `$from::Token`, deserializes it into `$to::Token`, and returns both JSON
/// forms (a field only `$from` has would be dropped; one only `$to` has would stay `None`).
macro_rules! cross {
    ($from:ident => $to:ident) => {{
        let original = full_token!($from);
        let json = serde_json::to_value(&original).unwrap();
        let other: $to::Token = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(other, full_token!($to));
        (json, serde_json::to_value(&other).unwrap())
    }};
}

#[test]
fn types_are_interchangeable_through_json() {
    let (macro_json, into_generated) = cross!(from_macro => pump_stack);
    assert_eq!(macro_json, into_generated);
    let (generated_json, into_macro) = cross!(pump_stack => from_macro);
    assert_eq!(generated_json, into_macro);
    assert_eq!(macro_json, generated_json);
    // Every field was populated, so every field is in the JSON; the section is nested.
    assert_eq!(macro_json.as_object().unwrap().len(), 17);
    assert_eq!(macro_json["volume_sol"], serde_json::json!(u64::MAX));
    assert_eq!(
        macro_json["stats"],
        serde_json::json!({"unique_traders": 3, "buys": 2, "sells": 1, "real_sol": 1.5})
    );
}

#[test]
fn spec_next_to_the_invoking_file_is_found() {
    use from_source_dir::{Pool, PoolEntity, PoolViews};
    assert_eq!(PoolEntity::NAME, "Pool");
    assert_eq!(
        PoolEntity::VIEWS,
        ["Pool/state", "Pool/list", "Pool/top", "Pool/busiest"]
    );
    let views = PoolViews::from_context(ViewContext::detached());
    // `limit = 1`: a single-entity view.
    let top: hyperstack_sdk::SingleView<PoolEntity> = views.top();
    assert_eq!(top.name(), "Pool/top");
    assert_eq!(views.busiest().name(), "Pool/busiest");
    let pool: Pool =
        serde_json::from_str(r#"{"reserve": "42", "swaps": 3, "memos": ["a", "b"]}"#).unwrap();
    assert_eq!(pool.reserve, Some(42));
    assert_eq!(pool.swaps, Some(3));
    assert_eq!(pool.memos, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(from_source_dir::spec().name, "mini");
}

/// The `error: ...` messages of a trybuild `.stderr` (each ends at its ` --> ` line).
fn compile_errors(stderr: &str) -> Vec<String> {
    stderr
        .split("\nerror: ")
        .map(|chunk| chunk.strip_prefix("error: ").unwrap_or(chunk))
        .map(|chunk| chunk.split("\n --> ").next().unwrap().to_string())
        .collect()
}

#[test]
fn macro_errors_read_like_load_stack_errors() {
    // The `.stderr` files hold what rustc printed for the macro (the `ui` test checks they are
    // current); hyperstack-spec must say the same, relative to the spec's base directory.
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&ui)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "stderr"))
        .collect();
    cases.sort();
    let mut checked = BTreeSet::new();
    for stderr_path in cases {
        let case = stderr_path
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let spec = ui.join(format!("specs/{case}.stack.toml"));
        if !spec.is_file() {
            continue; // the not-found case has no spec
        }
        let from_macro = compile_errors(&std::fs::read_to_string(&stderr_path).unwrap());
        let errors = hyperstack_sdk::spec::load_stack(&spec).expect_err(&case);
        let prefix = format!("{}/", ui.display());
        let from_spec: Vec<String> = errors
            .errors()
            .iter()
            .map(|e| e.to_string().replace(&prefix, ""))
            .collect();
        assert_eq!(from_macro, from_spec, "{case}");
        assert!(
            from_spec
                .iter()
                .all(|m| m.starts_with(&format!("specs/{case}.stack.toml:"))),
            "{from_spec:?}"
        );
        checked.insert(case);
    }
    let expected = [
        "computed_cycle",
        "feature_misuse",
        "several_errors",
        "sort_unknown_field",
        "sum_of_string",
        "toml_syntax",
        "unknown_field",
        "unresolvable_key",
    ];
    assert_eq!(checked, expected.iter().map(|s| s.to_string()).collect());
}
