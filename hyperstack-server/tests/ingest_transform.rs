//! The transform over the pump stack: strategies, lookups, computed fields, dedup, ordering,
//! LRU bounds, `_seq`, and typed decode errors counted in the metrics.

mod ingest_support;

use std::sync::Arc;

use hyperstack_server::metrics::Metrics;
use hyperstack_server::source::{IxPath, RawInstruction, RawUpdate};
use hyperstack_server::{Change, Mutation, StateTableConfig, Transformer};
use ingest_support::*;
use serde_json::{json, Map, Value};

fn transformer(config: StateTableConfig) -> (Transformer, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new(vec![]));
    let t = Transformer::new(&pump_stack::spec(), config)
        .unwrap()
        .with_metrics(metrics.clone());
    (t, metrics)
}

fn apply(t: &mut Transformer, u: &RawUpdate) -> Vec<Mutation> {
    let mut out = Vec::new();
    t.apply(u, &mut out);
    out
}

fn data(m: &Mutation) -> (&Map<String, Value>, &Vec<String>) {
    match &m.change {
        Change::Patch { data, append } => (data, append),
        Change::Delete => panic!("no deletes expected"),
    }
}

#[test]
fn account_last_write_emits_changed_fields_and_computed_ones() {
    let (mut t, _) = transformer(StateTableConfig::default());
    let curve = key(1);
    let out = apply(
        &mut t,
        &curve_update(curve, 10, 1, Curve::new(30_000, 1_000)),
    );
    assert_eq!(out.len(), 1);
    let m = &out[0];
    assert_eq!((&*m.entity, &*m.key), ("Token", &*curve.to_base58()));
    assert_eq!(m.seq.as_deref(), Some("10:0"));
    let (d, append) = data(m);
    assert!(append.is_empty());
    assert_eq!(d["virtual_sol_reserves"], json!(30_000));
    assert_eq!(d["virtual_token_reserves"], json!(1_000));
    assert_eq!(d["complete"], json!(false));
    assert_eq!(d["price_sol"], json!(30.0));
    assert_eq!(d["market_cap_sol"], json!(30_000_000.0));
    assert!(
        !d.contains_key("token_total_supply"),
        "emit = false is not sent"
    );
    assert!(
        t.entity_json("Token", &curve.to_base58()).unwrap()["token_total_supply"].is_number(),
        "but kept"
    );

    // Same values, newer version: nothing changed, nothing sent.
    assert!(apply(
        &mut t,
        &curve_update(curve, 11, 2, Curve::new(30_000, 1_000))
    )
    .is_empty());
    // One reserve changes: that field and the computed ones reading it.
    let out = apply(
        &mut t,
        &curve_update(
            curve,
            12,
            3,
            Curve {
                virtual_sol: 60_000,
                ..Curve::new(30_000, 1_000)
            },
        ),
    );
    let (d, _) = data(&out[0]);
    let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["market_cap_sol", "price_sol", "virtual_sol_reserves"]
    );
    assert_eq!(out[0].seq.as_deref(), Some("12:0"));
}

#[test]
fn stale_and_duplicate_account_writes_are_dropped() {
    let (mut t, _) = transformer(StateTableConfig::default());
    let curve = key(1);
    assert_eq!(
        apply(&mut t, &curve_update(curve, 10, 5, Curve::new(1, 1))).len(),
        1
    );
    assert!(
        apply(&mut t, &curve_update(curve, 10, 5, Curve::new(2, 2))).is_empty(),
        "same version"
    );
    assert!(
        apply(&mut t, &curve_update(curve, 9, 99, Curve::new(3, 3))).is_empty(),
        "older slot"
    );
    assert_eq!(t.stats().duplicates, 2);
    let state = t.entity_json("Token", &curve.to_base58()).unwrap();
    assert_eq!(state["virtual_sol_reserves"], json!(1));
}

#[test]
fn instructions_events_lookups_and_strategies() {
    let (mut t, _) = transformer(StateTableConfig::default());
    let (mint, curve, user) = (key(2), key(3), key(4));
    let out = apply(
        &mut t,
        &create_tx(20, 0, sig(1), mint, curve, user, "alpha"),
    );
    assert_eq!(out.len(), 1);
    let (d, _) = data(&out[0]);
    assert_eq!(d["name"], json!("alpha"));
    assert_eq!(d["symbol"], json!("ALPHA"));
    assert_eq!(d["mint"], json!(mint.to_base58()));
    assert_eq!(d["creator"], json!(user.to_base58()));
    assert_eq!(d["created_slot"], json!(20));

    // A buy: count via the account role, sum/max/append/last_write via the mint lookup.
    let out = apply(
        &mut t,
        &trade_tx(21, 3, sig(2), mint, curve, user, 500, true),
    );
    assert_eq!(out.len(), 2, "instruction, then its event: {out:?}");
    assert_eq!(data(&out[0]).0["trade_count"], json!(1));
    assert_eq!(out[0].seq.as_deref(), Some("21:0"));
    let (d, append) = data(&out[1]);
    assert_eq!(out[1].seq.as_deref(), Some("21:1"));
    assert_eq!(d["volume_sol"], json!(500));
    assert_eq!(d["largest_trade_sol"], json!(500));
    assert_eq!(d["last_trade_slot"], json!(21));
    assert_eq!(append, &vec!["last_trades".to_string()]);
    assert_eq!(d["last_trades"][0]["sol_amount"], json!(500));
    assert_eq!(d["last_trades"][0]["mint"], json!(mint.to_base58()));
    assert_eq!(d["last_trades"][0]["is_buy"], json!(true));

    // A smaller sell: sum grows, max stays (not sent), count grows.
    let out = apply(
        &mut t,
        &trade_tx(22, 0, sig(3), mint, curve, user, 200, false),
    );
    assert_eq!(data(&out[0]).0["trade_count"], json!(2));
    let (d, _) = data(&out[1]);
    assert_eq!(d["volume_sol"], json!(700));
    assert!(!d.contains_key("largest_trade_sol"), "max unchanged");
    // The same transaction again (a resumed stream): nothing.
    assert!(apply(
        &mut t,
        &trade_tx(22, 0, sig(3), mint, curve, user, 200, false)
    )
    .is_empty());
    // set_once: a second create for the same curve does not rename it.
    assert!(apply(&mut t, &create_tx(23, 0, sig(4), mint, curve, user, "beta")).is_empty());
    let state = t.entity_json("Token", &curve.to_base58()).unwrap();
    assert_eq!(state["name"], json!("alpha"));
    assert_eq!(state["trade_count"], json!(2));
    assert_eq!(state["last_trades"].as_array().unwrap().len(), 2);
}

#[test]
fn events_before_their_lookup_entry_wait_for_it() {
    let (mut t, _) = transformer(StateTableConfig::default());
    let (mint, curve, user) = (key(7), key(8), key(9));
    let out = apply(&mut t, &trade_tx(5, 0, sig(9), mint, curve, user, 1, true));
    assert_eq!(
        out.len(),
        1,
        "the instruction's count resolves through its account role"
    );
    assert_eq!(t.stats().queued, 1, "the event waits: {:?}", t.stats());
    // The create registers the mint: the waiting event is applied right after it.
    let out = apply(&mut t, &create_tx(6, 0, sig(10), mint, curve, user, "late"));
    let state = t.entity_json("Token", &curve.to_base58()).unwrap();
    assert_eq!(state["volume_sol"], json!(1));
    assert_eq!(state["name"], json!("late"));
    assert!(out.len() >= 2, "the create's change, then the event's");
}

#[test]
fn failed_transactions_are_ignored() {
    let (mut t, _) = transformer(StateTableConfig::default());
    let mut tx = create_tx(5, 0, sig(1), key(2), key(3), key(4), "x");
    if let RawUpdate::Transaction(t) = &mut tx {
        t.failed = true;
    }
    assert!(apply(&mut t, &tx).is_empty());
}

#[test]
fn self_cpi_events_are_decoded() {
    let (mut t, _) = transformer(StateTableConfig::default());
    let (mint, curve, user) = (key(2), key(3), key(4));
    apply(
        &mut t,
        &create_tx(20, 0, sig(1), mint, curve, user, "alpha"),
    );
    let mut tx = trade_tx(21, 0, sig(2), mint, curve, user, 42, true);
    if let RawUpdate::Transaction(t) = &mut tx {
        t.log_messages.clear();
        let mut data = hyperstack_server::decode::EVENT_IX_TAG.to_vec();
        data.extend(trade_event(mint, 42, 1, true, user));
        t.instructions.push(RawInstruction {
            path: IxPath {
                outer: 0,
                inner: Some(0),
            },
            program_index: 7,
            accounts: vec![],
            data,
        });
    }
    let out = apply(&mut t, &tx);
    assert_eq!(data(&out[1]).0["volume_sol"], json!(42));
}

#[test]
fn state_table_bounds_memory_not_state_and_append_lists_are_capped() {
    let (mut t, _) = transformer(StateTableConfig {
        max_entries: 2,
        max_array_length: 3,
    });
    for i in 0..3 {
        apply(
            &mut t,
            &curve_update(key(10 + i), 1, u64::from(i), Curve::new(1, 1)),
        );
    }
    let keys = t.keys("Token");
    assert_eq!(keys.len(), 3, "every entity is kept (in the store)");
    assert!(
        t.resident() <= 2 * 3,
        "at most 2 records of each kind in memory, got {}",
        t.resident()
    );
    // The least recently used entity left memory; its state reads back whole.
    let first = t.entity_json("Token", &key(10).to_base58()).unwrap();
    assert_eq!(first["virtual_sol_reserves"], json!(1));

    let (mint, curve, user) = (key(2), key(3), key(4));
    apply(
        &mut t,
        &create_tx(20, 0, sig(1), mint, curve, user, "alpha"),
    );
    for i in 0..5u64 {
        apply(
            &mut t,
            &trade_tx(21 + i, 0, sig(10 + i), mint, curve, user, i, true),
        );
    }
    let state = t.entity_json("Token", &curve.to_base58()).unwrap();
    let amounts: Vec<u64> = state["last_trades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["sol_amount"].as_u64().unwrap())
        .collect();
    assert_eq!(
        amounts,
        [2, 3, 4],
        "capped at max_array_length, oldest dropped"
    );
}

#[test]
fn decode_errors_are_typed_counted_and_never_fatal() {
    let (mut t, metrics) = transformer(StateTableConfig::default());
    let curve = key(1);
    let mut truncated = curve_update(curve, 1, 1, Curve::new(1, 1));
    if let RawUpdate::Account(a) = &mut truncated {
        a.data.truncate(20);
    }
    assert!(apply(&mut t, &truncated).is_empty());
    let mut unknown = curve_update(curve, 2, 2, Curve::new(1, 1));
    if let RawUpdate::Account(a) = &mut unknown {
        a.data[0] ^= 0xff;
    }
    assert!(apply(&mut t, &unknown).is_empty());
    let mut bad_ix = trade_tx(3, 0, sig(1), key(2), curve, key(4), 1, true);
    if let RawUpdate::Transaction(tx) = &mut bad_ix {
        tx.instructions[0].data.truncate(12);
        tx.log_messages[2] = "Program data: !!!not base64".into();
    }
    assert!(apply(&mut t, &bad_ix).is_empty());
    assert_eq!(metrics.decode_errors("account_truncated"), 1);
    assert_eq!(metrics.decode_errors("account_unknown"), 1);
    assert_eq!(metrics.decode_errors("instruction_truncated"), 1);
    assert_eq!(metrics.decode_errors("event_invalid"), 1);
    assert_eq!(t.stats().decode_errors, 4);
    // The stream goes on.
    assert_eq!(
        apply(&mut t, &curve_update(curve, 4, 4, Curve::new(1, 1))).len(),
        1
    );
}
