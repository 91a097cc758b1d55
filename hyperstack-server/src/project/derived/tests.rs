use super::*;
use hyperstack_spec::expr::parse;
use hyperstack_spec::SortSpec;
use serde_json::json;

fn sv(v: Value) -> Option<SortValue> {
    SortValue::from_json(&v)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("test objects only"),
    }
}

/// A derived view over a temporary store of its own.
struct TestView {
    d: Derived,
    store: Store,
    /// Each entity as last updated (the projector's entity store).
    entities: std::collections::HashMap<Arc<str>, Map<String, Value>>,
}

impl TestView {
    fn update(&mut self, key: &Arc<str>, entity: Option<&Map<String, Value>>) -> Delta {
        let old = self
            .entities
            .get(key)
            .and_then(|e| self.d.order_of(key, Some(e)));
        let new = self.d.order_of(key, entity);
        match entity {
            Some(e) => self.entities.insert(key.clone(), e.clone()),
            None => self.entities.remove(key),
        };
        self.d.update(key, old, new).expect("store reads")
    }

    fn commit(&mut self) {
        let mut batch = self.store.batch();
        self.d.write_into(&mut batch);
        self.store.commit(batch).expect("commit");
    }

    /// The same view opened again over what was committed (a restart).
    fn reopen(&mut self, spec: &DerivedView) {
        self.d = open(&self.store, spec);
    }
}

fn open(store: &Store, spec: &DerivedView) -> Derived {
    let stack = pump_stack::spec();
    let token = stack.entity("Token").expect("pump has Token");
    let mut d = Derived::new(token, spec, 3, store);
    d.load().expect("load");
    d
}

fn spec(
    sort: Option<(&str, SortOrder)>,
    limit: Option<usize>,
    filter: Option<&str>,
) -> DerivedView {
    DerivedView {
        sort: sort.map(|(field, order)| SortSpec {
            field: field.to_string(),
            order,
        }),
        limit,
        filter: filter.map(|f| parse(f).expect("valid filter")),
    }
}

fn view(sort: Option<(&str, SortOrder)>, limit: Option<usize>, filter: Option<&str>) -> TestView {
    let store = crate::store::temporary_for_tests();
    let d = open(&store, &spec(sort, limit, filter));
    TestView {
        d,
        store,
        entities: Default::default(),
    }
}

fn members(v: &TestView) -> Vec<String> {
    match v.d.window() {
        Some(keys) => keys.iter().map(|k| k.to_string()).collect(),
        None => {
            v.d.all_members()
                .expect("store reads")
                .iter()
                .map(|k| k.to_string())
                .collect()
        }
    }
}

#[test]
fn numbers_compare_by_value_across_representations() {
    assert!(sv(json!(2)) < sv(json!(10)));
    assert!(sv(json!("9007199254740993")) > sv(json!(9007199254740992u64)));
    assert!(sv(json!("18446744073709551615")) > sv(json!("9999999999999999999")));
    assert!(sv(json!("-5")) < sv(json!(1)));
    assert!(sv(json!(1.5)) > sv(json!(1)) && sv(json!(1.5)) < sv(json!("2")));
    assert_eq!(sv(json!(2.0)), sv(json!(2)));
    // Exact beyond 2^53: 2^53 + 1 is above the float 2^53.
    assert!(sv(json!("9007199254740993")) > sv(json!(9007199254740992.0)));
    // Beyond i128: still exact.
    let huge = "9".repeat(50);
    assert!(sv(json!(huge)) > sv(json!(i128::MAX.to_string())));
    assert!(sv(json!(format!("{huge}8"))) < sv(json!(format!("{huge}9"))));
    assert!(sv(json!("12a")) > sv(json!(1e300)) && sv(json!("12a")) < sv(json!("12b")));
    assert!(sv(json!("abc")) > sv(json!(1e300)), "strings after numbers");
    assert_eq!(sv(json!(null)), None);
    assert_eq!(sv(json!([1])), None);
}

#[test]
fn desc_order_missing_last_ties_by_key() {
    let mut d = view(Some(("volume_sol", SortOrder::Desc)), None, None);
    for (key, data) in [
        ("e", json!({})),
        ("b", json!({"volume_sol": 5})),
        ("a", json!({"volume_sol": 5})),
        ("d", json!({"volume_sol": null})),
        ("c", json!({"volume_sol": "18446744073709551615"})),
        ("f", json!({"volume_sol": 7})),
    ] {
        let delta = d.update(&Arc::from(key), Some(&obj(data)));
        assert!(delta.is_member && !delta.was_member);
        assert_eq!(
            (delta.pushed_out, delta.pulled_in),
            (None, None),
            "no limit"
        );
    }
    assert_eq!(members(&d), ["c", "f", "a", "b", "d", "e"]);

    let mut asc = view(Some(("volume_sol", SortOrder::Asc)), None, None);
    for (key, v) in [
        ("x", json!(3)),
        ("y", json!(null)),
        ("z", json!(1)),
        ("w", json!(3)),
    ] {
        asc.update(&Arc::from(key), Some(&obj(json!({"volume_sol": v}))));
    }
    assert_eq!(
        members(&asc),
        ["z", "w", "x", "y"],
        "nulls last in ascending order too"
    );

    let mut unsorted = view(None, None, None);
    for key in ["b", "c", "a"] {
        unsorted.update(&Arc::from(key), Some(&Map::new()));
    }
    assert_eq!(
        members(&unsorted),
        ["a", "b", "c"],
        "key order without sort"
    );
}

#[test]
fn window_enter_leave_push_out_pull_in() {
    let mut d = view(Some(("volume_sol", SortOrder::Desc)), Some(2), None);
    let key = |k: &str| Arc::<str>::from(k);
    let vol = |v: i64| obj(json!({"volume_sol": v}));
    d.update(&key("a"), Some(&vol(10)));
    d.update(&key("b"), Some(&vol(20)));
    // c is below the window: nothing changes for the others.
    let c = d.update(&key("c"), Some(&vol(5)));
    assert_eq!(c, Delta::default());
    assert_eq!(members(&d), ["b", "a"]);
    // c jumps to the top: a is pushed out.
    let c = d.update(&key("c"), Some(&vol(30)));
    assert_eq!(
        (
            c.was_member,
            c.is_member,
            c.pushed_out.as_deref(),
            c.pulled_in
        ),
        (false, true, Some("a"), None)
    );
    // c moves inside the window: stays a member.
    let c = d.update(&key("c"), Some(&vol(25)));
    assert_eq!(
        (c.was_member, c.is_member, c.pushed_out, c.pulled_in),
        (true, true, None, None)
    );
    // b is deleted: a comes back.
    let b = d.update(&key("b"), None);
    assert_eq!(
        (b.was_member, b.is_member, b.pulled_in.as_deref()),
        (true, false, Some("a"))
    );
    assert_eq!(members(&d), ["c", "a"]);
    // d enters above a and pushes it out; then c drops to the bottom and a comes back.
    let d_in = d.update(&key("d"), Some(&vol(15)));
    assert_eq!(d_in.pushed_out.as_deref(), Some("a"));
    let c = d.update(&key("c"), Some(&vol(1)));
    assert_eq!(
        (c.was_member, c.is_member, c.pulled_in.as_deref()),
        (true, false, Some("a"))
    );
    assert_eq!(members(&d), ["d", "a"]);
}

#[test]
fn filter_toggles_membership() {
    let mut d = view(
        Some(("created_slot", SortOrder::Desc)),
        Some(50),
        Some("complete == false"),
    );
    let k: Arc<str> = Arc::from("t");
    assert!(
        !d.update(&k, Some(&obj(json!({"created_slot": 1}))))
            .is_member,
        "absent ≠ false"
    );
    assert!(
        d.update(
            &k,
            Some(&obj(json!({"created_slot": 1, "complete": false})))
        )
        .is_member
    );
    let left = d.update(&k, Some(&obj(json!({"created_slot": 1, "complete": true}))));
    assert!(left.was_member && !left.is_member);
    assert!(members(&d).is_empty());
}

#[test]
fn integer_fields_sent_as_strings_filter_numerically() {
    let mut d = view(None, None, Some("volume_sol > 9007199254740992"));
    let k: Arc<str> = Arc::from("t");
    assert!(
        d.update(&k, Some(&obj(json!({"volume_sol": "9007199254740993"}))))
            .is_member
    );
    assert!(
        !d.update(&k, Some(&obj(json!({"volume_sol": "9007199254740992"}))))
            .is_member
    );
    // A string field is not converted.
    let mut s = view(None, None, Some("symbol == \"123\""));
    assert!(s.update(&k, Some(&obj(json!({"symbol": "123"})))).is_member);
}

#[test]
fn limit_zero_has_no_members() {
    let mut d = view(Some(("volume_sol", SortOrder::Desc)), Some(0), None);
    let delta = d.update(&Arc::from("a"), Some(&obj(json!({"volume_sol": 1}))));
    assert_eq!(delta, Delta::default());
    assert!(members(&d).is_empty());
}

/// Naive model: every member in a `BTreeSet` of `(Rank, key)`, the window its first `limit`.
struct Model {
    order: std::collections::BTreeSet<(Rank, String)>,
    ranks: std::collections::HashMap<String, Rank>,
}

impl Model {
    fn set(&mut self, key: &str, rank: Option<Rank>) {
        if let Some(old) = self.ranks.remove(key) {
            self.order.remove(&(old, key.to_string()));
        }
        if let Some(r) = rank {
            self.order.insert((r.clone(), key.to_string()));
            self.ranks.insert(key.to_string(), r);
        }
    }

    fn window(&self, limit: usize) -> Vec<String> {
        self.order
            .iter()
            .take(limit)
            .map(|(_, k)| k.clone())
            .collect()
    }
}

/// Far more entities than the head holds (limit 3: a head of 35), commits and restarts in
/// between: the window, every delta and the full order
/// always equal a naive in-memory model's, and a client applying the deltas holds the window.
#[test]
fn a_window_over_the_store_answers_like_the_naive_model() {
    let limit = 3;
    let spec = spec(
        Some(("volume_sol", SortOrder::Desc)),
        Some(limit),
        Some("complete == false"),
    );
    let mut v = view(None, None, None);
    v.reopen(&spec);
    let mut model = Model {
        order: Default::default(),
        ranks: Default::default(),
    };
    let mut client: std::collections::BTreeSet<String> = Default::default();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for step in 0..6_000u32 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let key = format!("k{}", rng % 400);
        let entity = match (rng >> 20) % 10 {
            0 => None,
            1 => Some(obj(json!({"volume_sol": 5, "complete": true}))),
            2 => Some(obj(json!({"complete": false}))),
            _ => Some(obj(
                json!({"volume_sol": (rng >> 32) % 1000, "complete": false}),
            )),
        };
        let rank = entity
            .as_ref()
            .filter(|e| e.get("complete") == Some(&json!(false)))
            .map(|e| Rank::new(e.get("volume_sol"), SortOrder::Desc));
        let before = model.window(limit);
        model.set(&key, rank);
        let after = model.window(limit);
        let delta = v.update(&Arc::from(key.as_str()), entity.as_ref());
        assert_eq!(delta.was_member, before.contains(&key), "step {step}");
        assert_eq!(delta.is_member, after.contains(&key), "step {step}");
        if delta.was_member && !delta.is_member {
            client.remove(&key);
        }
        if !delta.was_member && delta.is_member {
            client.insert(key.clone());
        }
        if let Some(out) = &delta.pushed_out {
            assert!(
                client.remove(&**out),
                "step {step}: pushed out a non-member"
            );
        }
        if let Some(pulled) = &delta.pulled_in {
            assert!(
                client.insert(pulled.to_string()),
                "step {step}: pulled in a member"
            );
        }
        assert_eq!(members(&v), after, "step {step}");
        let mut sorted_after = after.clone();
        sorted_after.sort();
        assert_eq!(
            client.iter().cloned().collect::<Vec<_>>(),
            sorted_after,
            "step {step}"
        );
        assert!(v.d.head.len() <= v.d.cap, "the head stays bounded");
        if step % 97 == 0 {
            v.commit();
        }
        if step % 1_013 == 0 {
            v.commit();
            v.reopen(&spec);
            assert_eq!(members(&v), after, "after a restart at step {step}");
        }
    }
    let all: Vec<String> = model.order.iter().map(|(_, k)| k.clone()).collect();
    let stored: Vec<String> =
        v.d.all_members()
            .unwrap()
            .iter()
            .map(|k| k.to_string())
            .collect();
    assert_eq!(stored, all, "the full order");
    assert!(all.len() > v.d.cap, "more members than the head holds");
}
