//! State, list and append views: upsert / patch / delete, emit = false, seq.

use super::*;

#[test]
fn first_seen_upsert_then_patch() {
    let mut p = projector();
    let (state, list) = (id(&p, "Token/state"), id(&p, "Token/list"));
    let first = apply(
        &mut p,
        patch("t1", json!({"name": "One", "virtual_sol_reserves": 10})).with_seq("5:0"),
    );
    for view in [state, list] {
        assert_eq!(frames_of(&first, view).len(), 1);
    }
    assert_eq!(
        frames_of(&first, list)[0],
        json!({"mode": "list", "entity": "Token/list", "op": "upsert", "key": "t1",
               "data": {"name": "One", "virtual_sol_reserves": 10, "_seq": "5:0"}, "seq": "1"})
    );
    assert_eq!(frames_of(&first, state)[0]["mode"], "state");
    assert_eq!(frames_of(&first, state)[0]["entity"], "Token/state");

    let second = apply(
        &mut p,
        patch("t1", json!({"virtual_sol_reserves": 11})).with_seq("6:1"),
    );
    assert_eq!(
        frames_of(&second, list)[0],
        json!({"mode": "list", "entity": "Token/list", "op": "patch", "key": "t1",
               "data": {"virtual_sol_reserves": 11, "_seq": "6:1"}, "seq": "2"})
    );
    let third = apply(&mut p, patch("t1", json!({"complete": true})));
    assert_eq!(
        frames_of(&third, state)[0]["data"],
        json!({"complete": true}),
        "no _seq without one"
    );
    assert_eq!(p.entity_count("Token"), 1);
}

#[test]
fn append_fields_keep_the_cap_of_the_spec() {
    // pump: `last_trades = { append = …, cap = 20 }`, under a `max_array_length` of 100;
    // `extra` is not declared: the default (`max_array_length`) applies.
    let mut p = projector();
    let list = id(&p, "Token/list");
    for i in 0..150 {
        apply(
            &mut p,
            patch("t", json!({"last_trades": [i], "extra": [i]}))
                .with_append(&["last_trades", "extra"]),
        );
    }
    let snap = json_frames(&snap(&mut p, list, None, 0, None));
    let row = &snap[0]["data"][0]["data"];
    let expected: Vec<u64> = (130..150).collect();
    assert_eq!(row["last_trades"], json!(expected));
    let extra = row["extra"].as_array().expect("array");
    assert_eq!((extra.len(), &extra[0]), (100, &json!(50)));
}

#[test]
fn append_paths_are_sent_with_the_appended_items() {
    let mut p = projector();
    let list = id(&p, "Token/list");
    apply(
        &mut p,
        patch("t", json!({"last_trades": [{"sol": 1}]})).with_append(&["last_trades"]),
    );
    let out = apply(
        &mut p,
        patch("t", json!({"last_trades": [{"sol": 2}], "trade_count": 2})).with_append(&[
            "last_trades",
            "absent",
            "token_total_supply",
        ]),
    );
    let frame = &frames_of(&out, list)[0];
    assert_eq!(
        frame["data"],
        json!({"last_trades": [{"sol": 2}], "trade_count": 2})
    );
    assert_eq!(
        frame["append"],
        json!(["last_trades"]),
        "only present, emitted paths"
    );
    let snap = json_frames(&snap(&mut p, list, None, 0, None));
    assert_eq!(
        snap[0]["data"][0]["data"]["last_trades"],
        json!([{"sol": 1}, {"sol": 2}])
    );
}

#[test]
fn emit_false_fields_are_stored_but_never_sent() {
    let mut p = projector();
    let (state, append, trending) = (
        id(&p, "Token/state"),
        id(&p, "Token/append"),
        id(&p, "Token/trending"),
    );
    let out = apply(
        &mut p,
        patch("t", json!({"volume_sol": 3, "token_total_supply": 1000})),
    );
    for view in [state, append, trending] {
        let data = &frames_of(&out, view)[0]["data"];
        assert_eq!(data, &json!({"volume_sol": 3}), "view {view}");
    }
    // A patch of hidden fields only publishes nothing on state/list/derived views.
    let hidden_only = apply(
        &mut p,
        patch("t", json!({"token_total_supply": 2000})).with_seq("9:0"),
    );
    assert_eq!(ops(&hidden_only, state), Vec::<String>::new());
    assert_eq!(ops(&hidden_only, trending), Vec::<String>::new());
    assert_eq!(
        frames_of(&hidden_only, append)[0]["data"],
        json!({"volume_sol": 3, "_seq": "9:0"})
    );
    let snap = json_frames(&snap(&mut p, state, Some("t"), 0, None));
    assert_eq!(
        snap[0]["data"],
        json!([{"key": "t", "data": {"volume_sol": 3, "_seq": "9:0"}}])
    );
}

#[test]
fn append_view_upserts_the_full_entity_every_time() {
    let mut p = projector();
    let append = id(&p, "Token/append");
    apply(&mut p, patch("t", json!({"name": "A", "trade_count": 1})));
    let out = apply(
        &mut p,
        patch("t", json!({"trade_count": 2})).with_seq("3:4"),
    );
    assert_eq!(
        frames_of(&out, append),
        [
            json!({"mode": "append", "entity": "Token/append", "op": "upsert", "key": "t",
                "data": {"name": "A", "trade_count": 2, "_seq": "3:4"}, "seq": "2"})
        ]
    );
    assert!(
        snap(&mut p, append, None, 0, None).is_empty(),
        "append views have no snapshot"
    );
}

#[test]
fn delete_reaches_every_view_that_had_the_entity() {
    let mut p = projector();
    apply(
        &mut p,
        patch(
            "t",
            json!({"volume_sol": 1, "created_slot": 7, "complete": false}),
        ),
    );
    apply(
        &mut p,
        patch("u", json!({"volume_sol": 2, "complete": true})),
    );
    let out = apply(&mut p, Mutation::delete("Token", "t"));
    for view in p.views() {
        assert_eq!(ops(&out, view.id), ["delete t"], "{}", view.full_name);
        assert_eq!(
            frames_of(&out, view.id)[0].get("data"),
            None,
            "delete has no data"
        );
    }
    // u is not in Token/latest (complete): no delete there.
    let out = apply(&mut p, Mutation::delete("Token", "u"));
    assert_eq!(ops(&out, id(&p, "Token/latest")), Vec::<String>::new());
    assert_eq!(out.len(), 4);
    // Deleting an unknown key publishes nothing; the next patch is a fresh upsert.
    assert!(apply(&mut p, Mutation::delete("Token", "t")).is_empty());
    let again = apply(&mut p, patch("t", json!({"trade_count": 1})));
    assert_eq!(ops(&again, id(&p, "Token/list")), ["upsert t"]);
    assert_eq!(
        frames_of(&again, id(&p, "Token/list"))[0]["data"],
        json!({"trade_count": 1})
    );
}

#[test]
fn seq_is_monotonic_per_view() {
    let mut p = projector();
    let mut all = Vec::new();
    for i in 0..20 {
        let key = format!("t{}", i % 3);
        all.extend(apply(
            &mut p,
            patch(&key, json!({"volume_sol": i, "complete": i % 2 == 0})),
        ));
    }
    all.extend(apply(&mut p, Mutation::delete("Token", "t1")));
    for view in p.views() {
        let seqs: Vec<u64> = all
            .iter()
            .filter(|f| f.view == view.id)
            .map(|f| f.seq)
            .collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "{}",
            view.full_name
        );
        assert_eq!(p.current_seq(view.id), seqs.len() as u64);
        for (f, seq) in all.iter().filter(|f| f.view == view.id).zip(&seqs) {
            assert_eq!(f.frame.json().unwrap()["seq"], seq.to_string());
        }
    }
    assert_eq!(p.current_seq(id(&p, "Token/append")), 21);
}

#[test]
fn list_window_holds_the_most_recently_updated_and_derived_views_every_entity() {
    let mut p = small(50, 3);
    let (list, trending, state) = (
        id(&p, "Token/list"),
        id(&p, "Token/trending"),
        id(&p, "Token/state"),
    );
    for (i, key) in ["a", "b", "c"].iter().enumerate() {
        apply(&mut p, patch(key, json!({"volume_sol": i, "name": key})));
    }
    apply(&mut p, patch("a", json!({"trade_count": 1}))); // b is now least recently updated
    let out = apply(&mut p, patch("d", json!({"volume_sol": 9})));
    assert_eq!(
        ops(&out, list),
        ["delete b", "upsert d"],
        "b leaves the window"
    );
    assert_eq!(
        ops(&out, trending),
        ["upsert d"],
        "b stays in derived views"
    );
    let keys: Vec<Value> = json_frames(&snap(&mut p, list, None, 0, None))[0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].clone())
        .collect();
    assert_eq!(keys, [json!("a"), json!("c"), json!("d")]);
    // b is still complete in the store: its state view answers, and when it is updated
    // again it comes back to the list whole, not as a partial patch.
    let b = json_frames(&snap(&mut p, state, Some("b"), 0, None));
    assert_eq!(
        b[0]["data"][0]["data"],
        json!({"volume_sol": 1, "name": "b"})
    );
    let back = apply(&mut p, patch("b", json!({"trade_count": 5})));
    assert_eq!(ops(&back, list), ["delete c", "upsert b"]);
    assert_eq!(
        frames_of(&back, list)[1]["data"],
        json!({"volume_sol": 1, "name": "b", "trade_count": 5})
    );
    assert_eq!(ops(&back, state), ["patch b"], "state views know b");
    assert!(p.entity_count("Token") <= 3, "the hot set stays bounded");
}
