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

fn view(sort: Option<(&str, SortOrder)>, limit: Option<usize>, filter: Option<&str>) -> Derived {
    let stack = pump_stack::spec();
    let token = stack.entity("Token").expect("pump has Token");
    Derived::new(
        token,
        &DerivedView {
            sort: sort.map(|(field, order)| SortSpec {
                field: field.to_string(),
                order,
            }),
            limit,
            filter: filter.map(|f| parse(f).expect("valid filter")),
        },
    )
}

fn members(d: &Derived) -> Vec<&str> {
    d.members().map(|k| &**k).collect()
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
