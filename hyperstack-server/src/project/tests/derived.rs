//! Derived views through the projector: enter, leave, push-out, pull-in, filters.

use super::*;
use crate::mutation::Change;
use crate::store::{DataLocation, Identity, Store, StoreConfig};

#[test]
fn trending_window_with_limit() {
    let mut p = small(2, 100);
    let trending = id(&p, "Token/trending");
    assert_eq!(
        ops(
            &apply(&mut p, patch("a", json!({"volume_sol": 10}))),
            trending
        ),
        ["upsert a"]
    );
    assert_eq!(
        ops(
            &apply(&mut p, patch("b", json!({"volume_sol": 20}))),
            trending
        ),
        ["upsert b"]
    );
    // Below the window: nothing.
    assert!(ops(
        &apply(&mut p, patch("c", json!({"volume_sol": 5}))),
        trending
    )
    .is_empty());
    // c enters and pushes a out (the leaving frame first).
    let out = apply(
        &mut p,
        patch("c", json!({"volume_sol": 30})).with_seq("4:0"),
    );
    assert_eq!(ops(&out, trending), ["delete a", "upsert c"]);
    assert_eq!(
        frames_of(&out, trending)[1]["data"],
        json!({"volume_sol": 30, "_seq": "4:0"}),
        "full entity"
    );
    // A member that stays gets a patch of the changed fields.
    let out = apply(&mut p, patch("c", json!({"volume_sol": 25, "name": "C"})));
    assert_eq!(ops(&out, trending), ["patch c"]);
    assert_eq!(
        frames_of(&out, trending)[0]["data"],
        json!({"volume_sol": 25, "name": "C"})
    );
    // A non-member's change publishes nothing.
    assert!(ops(&apply(&mut p, patch("a", json!({"name": "A"}))), trending).is_empty());
    // b leaves the window: a is pulled in with its full data.
    let out = apply(&mut p, patch("b", json!({"volume_sol": 1})));
    assert_eq!(ops(&out, trending), ["delete b", "upsert a"]);
    assert_eq!(
        frames_of(&out, trending)[1]["data"],
        json!({"volume_sol": 10, "name": "A"})
    );
    // Deleting a member pulls the next one in.
    let out = apply(&mut p, Mutation::delete("Token", "c"));
    assert_eq!(ops(&out, trending), ["delete c", "upsert b"]);
    let rows = &json_frames(&snap(&mut p, trending, None, 0, None))[0]["data"];
    assert_eq!(
        rows,
        &json!([{"key": "a", "data": {"volume_sol": 10, "name": "A"}},
                             {"key": "b", "data": {"volume_sol": 1}}])
    );
}

#[test]
fn filter_toggling_enters_and_leaves() {
    let mut p = projector();
    let latest = id(&p, "Token/latest");
    assert!(ops(
        &apply(&mut p, patch("t", json!({"created_slot": 5}))),
        latest
    )
    .is_empty());
    let out = apply(&mut p, patch("t", json!({"complete": false})));
    assert_eq!(ops(&out, latest), ["upsert t"]);
    assert_eq!(
        frames_of(&out, latest)[0]["data"],
        json!({"created_slot": 5, "complete": false})
    );
    assert_eq!(
        ops(
            &apply(&mut p, patch("t", json!({"complete": true}))),
            latest
        ),
        ["delete t"]
    );
    assert_eq!(
        ops(
            &apply(&mut p, patch("t", json!({"complete": false}))),
            latest
        ),
        ["upsert t"]
    );
    // Null is not `false`: the filter excludes it.
    assert_eq!(
        ops(
            &apply(&mut p, patch("t", json!({"complete": null}))),
            latest
        ),
        ["delete t"]
    );
}

#[test]
fn desc_order_ties_by_key_and_big_numbers() {
    let mut p = projector();
    let trending = id(&p, "Token/trending");
    for (key, vol) in [
        ("b", json!(7)),
        ("a", json!(7)),
        ("big", json!("18446744073709551615")),
        ("bigger", json!("18446744073709551616")),
        ("none", json!(null)),
        ("mid", json!(9007199254740993u64)),
    ] {
        apply(&mut p, patch(key, json!({"volume_sol": vol})));
    }
    apply(&mut p, patch("absent", json!({"name": "x"})));
    let keys: Vec<String> = json_frames(&snap(&mut p, trending, None, 0, None))[0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["bigger", "big", "mid", "a", "b", "absent", "none"]);
}

#[test]
fn nested_sort_field_without_limit() {
    let mut p = small(2, 100);
    let all = id(&p, "Token/all");
    for (key, rank) in [("x", 3), ("y", 1), ("z", 2)] {
        let out = apply(&mut p, patch(key, json!({"stats": {"rank": rank}})));
        assert_eq!(ops(&out, all), [format!("upsert {key}")]);
    }
    let out = apply(&mut p, patch("y", json!({"stats": {"rank": 9}})));
    assert_eq!(
        ops(&out, all),
        ["patch y"],
        "no limit: reordering is a patch"
    );
    let keys: Vec<Value> = json_frames(&snap(&mut p, all, None, 0, None))[0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].clone())
        .collect();
    assert_eq!(keys, [json!("z"), json!("x"), json!("y")]);
}

/// A client applying every published frame of a view, as the SDK would.
fn replay(frames: &[Value]) -> std::collections::BTreeMap<String, Map<String, Value>> {
    let mut rows = std::collections::BTreeMap::new();
    for f in frames {
        let key = f["key"].as_str().unwrap_or_default().to_string();
        match f["op"].as_str() {
            Some("upsert") => {
                rows.insert(key, obj(f["data"].clone()));
            }
            Some("patch") => {
                let row = rows.get_mut(&key).expect("patch of a held row");
                let caps = hyperstack_spec::wire::AppendCaps::default();
                hyperstack_spec::wire::merge(row, &obj(f["data"].clone()), &[] as &[&str], &caps);
            }
            Some("delete") => {
                rows.remove(&key).expect("delete of a held row");
            }
            other => panic!("unexpected op {other:?}"),
        }
    }
    rows
}

fn snapshot_rows(p: &mut Projector, view: ViewId) -> Vec<(String, Map<String, Value>)> {
    json_frames(&snap(p, view, None, 0, None))
        .iter()
        .flat_map(|f| f["data"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            (
                r["key"].as_str().unwrap_or_default().to_string(),
                obj(r["data"].clone()),
            )
        })
        .collect()
}

#[test]
fn clients_following_the_frames_match_a_brute_force_recompute() {
    let mut p = small(4, 12);
    let views = ["Token/list", "Token/trending", "Token/latest", "Token/all"].map(|n| id(&p, n));
    let mut published: Vec<Vec<Value>> = vec![Vec::new(); views.len()];
    // The naive model: every live entity, and the list window by last update (latest last):
    // 12 keys at most; a deleted key leaves a gap until the next update fills it.
    let mut model: std::collections::BTreeMap<String, Map<String, Value>> = Default::default();
    let mut recency: Vec<String> = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for step in 0..3000 {
        let key = format!("k{}", next(20));
        let m = match next(10) {
            0 => Mutation::delete("Token", &key),
            1 => patch(
                &key,
                json!({"complete": next(2) == 0, "created_slot": next(8)}),
            ),
            2 => patch(&key, json!({"volume_sol": null})),
            3 => patch(
                &key,
                json!({"volume_sol": (u64::MAX - next(5)).to_string()}),
            ),
            4 => patch(
                &key,
                json!({"name": format!("n{step}"), "token_total_supply": step}),
            ),
            5 => patch(&key, json!({"stats": {"rank": next(6)}})),
            _ => patch(&key, json!({"volume_sol": next(6)})),
        };
        match &m.change {
            Change::Delete => {
                model.remove(&key);
                recency.retain(|k| *k != key);
            }
            Change::Patch { data, .. } => {
                let row = model.entry(key.clone()).or_default();
                for (k, v) in data {
                    match (row.get_mut(k), v) {
                        (Some(Value::Object(old)), Value::Object(new)) => {
                            old.extend(new.clone());
                        }
                        _ => {
                            row.insert(k.clone(), v.clone());
                        }
                    }
                }
                recency.retain(|k| *k != key);
                recency.push(key.clone());
                if recency.len() > 12 {
                    recency.remove(0);
                }
            }
        }
        for f in apply(&mut p, m) {
            if let Some(i) = views.iter().position(|&v| v == f.view) {
                published[i].push(f.frame.json().unwrap());
            }
        }
        if step % 97 != 0 {
            continue;
        }
        // Every derived view equals filter → sort → limit over every entity; the list is the
        // 12 most recently updated.
        // Clients never see `token_total_supply` (emit = false).
        let seen = |row: &Map<String, Value>| {
            let mut row = row.clone();
            row.remove("token_total_supply");
            row
        };
        let all: Vec<(String, Map<String, Value>)> =
            model.iter().map(|(k, v)| (k.clone(), seen(v))).collect();
        let mut window: Vec<_> = recency
            .iter()
            .map(|k| (k.clone(), seen(&model[k])))
            .collect();
        window.sort_by(|a, b| a.0.cmp(&b.0));
        let rank = |row: &Map<String, Value>, path: &[&str]| {
            crate::project::store::value_at(row, path)
                .and_then(crate::project::derived::SortValue::from_json)
        };
        let mut trending: Vec<_> = all.clone();
        trending.sort_by(|(ka, a), (kb, b)| {
            let (ra, rb) = (rank(a, &["volume_sol"]), rank(b, &["volume_sol"]));
            (ra.is_none(), std::cmp::Reverse(ra), ka).cmp(&(
                rb.is_none(),
                std::cmp::Reverse(rb),
                kb,
            ))
        });
        trending.truncate(4);
        let mut latest: Vec<_> = all
            .iter()
            .filter(|(_, r)| r.get("complete") == Some(&json!(false)))
            .cloned()
            .collect();
        latest.sort_by(|(ka, a), (kb, b)| {
            let (ra, rb) = (rank(a, &["created_slot"]), rank(b, &["created_slot"]));
            (ra.is_none(), std::cmp::Reverse(ra), ka).cmp(&(
                rb.is_none(),
                std::cmp::Reverse(rb),
                kb,
            ))
        });
        latest.truncate(4);
        let mut by_rank = all.clone();
        by_rank.sort_by(|(ka, a), (kb, b)| {
            let (ra, rb) = (rank(a, &["stats", "rank"]), rank(b, &["stats", "rank"]));
            (ra.is_none(), ra, ka).cmp(&(rb.is_none(), rb, kb))
        });
        let expected = [window, trending, latest, by_rank];
        for (i, view) in views.iter().enumerate() {
            assert_eq!(
                snapshot_rows(&mut p, *view),
                expected[i],
                "step {step}, view {view}"
            );
            // A client applying the frames holds exactly the view.
            let client: Vec<_> = replay(&published[i]).into_iter().collect();
            let mut want = expected[i].clone();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(client, want, "client of view {view} at step {step}");
        }
        assert!(p.entity_count("Token") <= 12, "the hot set stays bounded");
    }
}

/// The stack of [`small`] over a data directory (a store that outlives the projector).
fn durable(dir: &std::path::Path, limit: usize, cap: usize) -> Projector {
    let (stack, cache, table) = small_parts(limit, cap);
    let config = StoreConfig {
        location: DataLocation::Dir(dir.to_path_buf()),
        ..StoreConfig::default()
    };
    let identity = Identity {
        stack_name: "pump".into(),
        fingerprint: "test".into(),
    };
    let (store, _) = Store::open(&config, &identity).expect("store");
    Projector::open(&stack, cache, table, store, Arc::new(HotStats::default())).expect("open")
}

/// Derived views' orders are stored, not rebuilt: a restart reads their heads back with the
/// same rows; a store without them (written before orders were stored, or whose build was
/// interrupted) has them built once from its entities, with the same result.
#[test]
fn derived_orders_survive_restarts_and_are_built_when_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let views = ["Token/trending", "Token/latest", "Token/all"];
    let rows = |p: &mut Projector| -> Vec<Value> {
        views
            .iter()
            .map(|name| {
                let view = id(p, name);
                json_frames(&snap(p, view, None, 0, None))
                    .iter()
                    .flat_map(|f| f["data"].as_array().cloned().unwrap_or_default())
                    .collect()
            })
            .collect()
    };
    let before = {
        let mut p = durable(dir.path(), 3, 4);
        for i in 0..300u64 {
            let key = format!("t{}", i % 120);
            let data = json!({
                "volume_sol": (i * 7919) % 1000,
                "created_slot": i,
                "complete": i % 5 == 0,
                "stats": {"rank": (i * 31) % 97},
            });
            apply(&mut p, patch(&key, data));
            if i % 50 == 0 {
                apply(&mut p, Mutation::delete("Token", &format!("t{}", i % 17)));
            }
        }
        p.commit().expect("commit");
        rows(&mut p)
    };
    assert_eq!(
        before[0].as_array().map(Vec::len),
        Some(3),
        "trending holds its limit"
    );
    assert!(
        before[2].as_array().map_or(0, Vec::len) > 100,
        "`all` has no limit"
    );

    let mut p = durable(dir.path(), 3, 4);
    assert_eq!(rows(&mut p), before, "read back after a restart");
    // Forget the orders, as a store written before they were stored.
    let store = p.store.clone();
    drop(p);
    let mut batch = store.batch();
    for name in views {
        batch.remove(&store.meta, format!("order/{name}").into_bytes());
    }
    for item in store.derived.iter() {
        batch.remove(&store.derived, item.key().expect("key").to_vec());
    }
    store.commit(batch).expect("commit");
    drop(store);
    let mut p = durable(dir.path(), 3, 4);
    assert_eq!(rows(&mut p), before, "built from the entities");
    for name in views {
        assert!(p
            .store
            .meta(format!("order/{name}").as_bytes())
            .unwrap()
            .is_some());
    }
}
