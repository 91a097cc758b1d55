//! Evaluation semantics.

use super::ev;
use crate::expr::{parse, Value};

const NULL: Value = Value::Null;
const T: Value = Value::Bool(true);
const F: Value = Value::Bool(false);

fn int(i: i128) -> Value {
    Value::Int(i)
}

fn float(x: f64) -> Value {
    Value::Float(x)
}

fn cases(cases: &[(&str, Value)]) {
    for (src, expected) in cases {
        assert_eq!(ev(src), *expected, "{src}");
    }
}

#[test]
fn literals_and_fields() {
    cases(&[
        ("42", int(42)),
        ("1_000", int(1000)),
        ("1e9", float(1e9)),
        ("\"x\"", Value::Str("x".into())),
        ("true", T),
        ("null", NULL),
        ("i", int(7)),
        ("trade.amount", int(1_000_000_000)),
        ("missing", NULL),
        ("o", Value::Opaque(serde_json::json!({"x": [1, 2]}))),
    ]);
}

#[test]
fn arithmetic() {
    cases(&[
        ("i + j", int(9)),
        ("i - j", int(5)),
        ("i * j", int(14)),
        ("i % j", int(1)),
        ("-7 % 3", int(-1)),
        ("i / j", float(3.5)),
        ("6 / 3", float(2.0)),
        ("i + f", float(8.5)),
        ("f * j", float(3.0)),
        ("g % 2", float(-0.5)),
        ("-i", int(-7)),
        ("-g", float(2.5)),
        ("1 + 2 * 3 - 4", int(3)),
        ("(1 + 2) * 3", int(9)),
        ("trade.amount / 1e9", float(1.0)),
    ]);
}

#[test]
fn division_by_zero_and_overflow_are_null() {
    cases(&[
        ("i / 0", NULL),
        ("i / 0.0", NULL),
        ("f / -0.0", NULL),
        ("i % 0", NULL),
        ("f % 0", NULL),
        ("0 / 0", NULL),
        ("big + 1", NULL),
        ("small - 1", NULL),
        ("big * 2", NULL),
        ("-small", NULL),
        ("small % -1", NULL),
        ("abs(small)", NULL),
        ("1e308 * 10", NULL),
        ("-1e308 - 1e308", NULL),
        ("1e308 / 1e-308", NULL),
        ("big - 1", int(i128::MAX - 1)),
    ]);
}

#[test]
fn null_propagation() {
    cases(&[
        ("n + 1", NULL),
        ("1 - missing", NULL),
        ("null * 2.5", NULL),
        ("null / 1", NULL),
        ("-n", NULL),
        ("n < 1", NULL),
        ("\"a\" >= null", NULL),
        ("abs(n)", NULL),
        ("min(n, 1)", NULL),
        ("max(1, n)", NULL),
        ("round(n)", NULL),
        ("o + 1", NULL),
        ("s * 2", NULL),
        ("o < o", NULL),
    ]);
}

#[test]
fn equality() {
    cases(&[
        ("i == 7", T),
        ("i != 7", F),
        ("2 == 2.0", T),
        ("2.5 == 2", F),
        ("s == \"abc\"", T),
        ("s == t", F),
        ("b == true", T),
        ("null == null", T),
        ("n == null", T),
        ("missing == null", T),
        ("i == null", F),
        ("null != i", T),
        ("missing != null", F),
        ("c == null", F),
        ("o == o2", T),
        ("o == o3", F),
        ("o == 1", F),
        ("s == 1", F),
        ("big == big", T),
        ("big == 1.7014118346046923e38", F),
    ]);
}

#[test]
fn ordering() {
    cases(&[
        ("i > j", T),
        ("i <= 7", T),
        ("i < 7", F),
        ("i >= 7.5", F),
        ("j < f * 2", T),
        ("1 < 1.5", T),
        ("2 > 1.5", T),
        ("-1 < -0.5", T),
        ("big < 1.7014118346046923e38", T),
        ("small >= -1.7014118346046923e38", T),
        ("small > -1e39", T),
        ("9007199254740993 > 9007199254740992.0", T),
        ("s < t", T),
        ("\"B\" < \"a\"", T),
        ("\"ab\" < \"abc\"", T),
        ("s >= s", T),
    ]);
}

#[test]
fn three_valued_logic() {
    cases(&[
        ("b && b", T),
        ("b && c", F),
        ("c || b", T),
        ("c || c", F),
        ("!b", F),
        ("!c", T),
        ("!n", NULL),
        ("c && n", F),
        ("n && c", F),
        ("b && n", NULL),
        ("n && b", NULL),
        ("n && n", NULL),
        ("b || n", T),
        ("n || b", T),
        ("c || n", NULL),
        ("n || c", NULL),
        ("n || n", NULL),
        ("c && (1 / 0 > 1)", F),
        ("i && b", NULL),
    ]);
}

#[test]
fn null_coalescing() {
    cases(&[
        ("n ?? 1", int(1)),
        ("missing ?? s", Value::Str("abc".into())),
        ("i ?? 1", int(7)),
        ("c ?? true", F),
        ("n ?? missing ?? 3", int(3)),
        ("n ?? null", NULL),
        ("i / 0 ?? -1", int(-1)),
        ("o ?? 1", Value::Opaque(serde_json::json!({"x": [1, 2]}))),
    ]);
}

#[test]
fn functions() {
    cases(&[
        ("abs(-3)", int(3)),
        ("abs(g)", float(2.5)),
        ("min(i, j)", int(2)),
        ("max(i, j)", int(7)),
        ("min(i, f)", float(1.5)),
        ("max(i, f)", float(7.0)),
        ("max(2, 2.0)", float(2.0)),
        ("if(b, 1, 2)", int(1)),
        ("if(c, 1, 2)", int(2)),
        ("if(n, 1, 2)", int(2)),
        (
            "if(i > 100, \"big\", \"small\")",
            Value::Str("small".into()),
        ),
        ("if(1, 2, 3)", NULL),
        ("coalesce(n, missing, i, 1)", int(7)),
        ("coalesce(n, null)", NULL),
        ("coalesce(c, b)", F),
    ]);
}

#[test]
fn rounding() {
    cases(&[
        ("round(2.5)", int(3)),
        ("round(-2.5)", int(-3)),
        ("round(2.4)", int(2)),
        ("floor(-1.5)", int(-2)),
        ("ceil(-1.5)", int(-1)),
        ("floor(1.5)", int(1)),
        ("ceil(1.2)", int(2)),
        ("round(i)", int(7)),
        ("floor(big)", int(i128::MAX)),
        ("round(1e18)", int(1_000_000_000_000_000_000)),
        ("round(1.7014118346046923e38)", NULL),
        ("floor(-1.7014118346046923e38)", int(i128::MIN)),
        ("ceil(-1e39)", NULL),
        ("round(i / j)", int(4)),
    ]);
    let nan = parse("round(x)")
        .unwrap()
        .eval(&|_: &str| Some(float(f64::NAN)));
    assert_eq!(nan, NULL);
    let inf = parse("floor(x)")
        .unwrap()
        .eval(&|_: &str| Some(float(f64::INFINITY)));
    assert_eq!(inf, NULL);
}

#[test]
fn filters() {
    let filter = parse("price > 10").unwrap();
    let pass = |price: Option<Value>| filter.eval(&|_: &str| price.clone()).is_truthy_filter();
    assert!(pass(Some(int(11))));
    assert!(!pass(Some(int(10))));
    assert!(
        !pass(None),
        "a filter on an absent field evaluates to null: false"
    );
    assert!(!pass(Some(NULL)));
    assert!(T.is_truthy_filter());
    for v in [F, NULL, int(1), float(1.0), Value::Str("true".into())] {
        assert!(!v.is_truthy_filter(), "{v:?}");
    }
    let lenient = parse("price == null || price > 10").unwrap();
    assert!(lenient.eval(&|_: &str| None).is_truthy_filter());
}

#[test]
fn references() {
    let expr = parse("a + b.c * a - if(d, b.c, min(e, a)) ?? f").unwrap();
    assert_eq!(expr.references(), ["a", "b.c", "d", "e", "f"]);
    assert!(parse("1 + 2").unwrap().references().is_empty());
}

#[test]
fn json_conversion() {
    use serde_json::json;
    assert_eq!(Value::from_json(&json!(null)), NULL);
    assert_eq!(Value::from_json(&json!(true)), T);
    assert_eq!(Value::from_json(&json!(-5)), int(-5));
    assert_eq!(Value::from_json(&json!(u64::MAX)), int(u64::MAX.into()));
    assert_eq!(Value::from_json(&json!(2.5)), float(2.5));
    assert_eq!(Value::from_json(&json!(2.0)), float(2.0));
    assert_eq!(Value::from_json(&json!("123")), Value::Str("123".into()));
    assert_eq!(
        Value::from_json(&json!([1, "a"])),
        Value::List(vec![int(1), Value::Str("a".into())])
    );
    assert_eq!(
        Value::from_json(&json!({"a": 1})),
        Value::Opaque(json!({"a": 1}))
    );

    let limit: i128 = 1 << 53;
    assert_eq!(int(limit).to_json(), json!(9_007_199_254_740_992_i64));
    assert_eq!(int(-limit).to_json(), json!(-9_007_199_254_740_992_i64));
    assert_eq!(int(limit + 1).to_json(), json!("9007199254740993"));
    assert_eq!(int(-limit - 1).to_json(), json!("-9007199254740993"));
    assert_eq!(int(i128::MIN).to_json(), json!(i128::MIN.to_string()));
    assert_eq!(float(1.5).to_json(), json!(1.5));
    assert_eq!(float(f64::NAN).to_json(), json!(null));
    assert_eq!(float(f64::NEG_INFINITY).to_json(), json!(null));
    assert_eq!(Value::Str("x".into()).to_json(), json!("x"));
    assert_eq!(NULL.to_json(), json!(null));
    assert_eq!(
        Value::Opaque(json!([1, {"b": 2}])).to_json(),
        json!([1, {"b": 2}])
    );
    assert_eq!(
        Value::List(vec![int(1 << 60), float(0.5)]).to_json(),
        json!(["1152921504606846976", 0.5])
    );

    let v = Value::Int(i128::MAX);
    let round_trip: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(round_trip, v);
}

/// Evaluates `src` with `bytes` bound to a list of byte values and `amounts` to `[1e9, 2e9, 5]`.
fn ev_lists(src: &str, bytes: &[u8]) -> Value {
    let bytes = Value::List(bytes.iter().map(|&b| int(i128::from(b))).collect());
    let amounts = Value::List(vec![int(1_000_000_000), int(2_000_000_000), int(5)]);
    let rows = Value::from_json(&serde_json::json!([{"n": 1}, {"n": 4}]));
    parse(src).unwrap().eval(&|path: &str| match path {
        "bytes" => Some(bytes.clone()),
        "amounts" => Some(amounts.clone()),
        "rows" => Some(rows.clone()),
        "k" => Some(int(3)),
        _ => None,
    })
}

#[test]
fn list_and_bit_functions() {
    let mut le = Vec::new();
    for word in [1u64, 0x0102_0304_0506_0708, u64::MAX, 1 << 63] {
        le.extend_from_slice(&word.to_le_bytes());
    }
    assert_eq!(ev_lists("u64_le(bytes, 0)", &le), int(1));
    assert_eq!(
        ev_lists("u64_le(bytes, 8)", &le),
        int(0x0102_0304_0506_0708)
    );
    assert_eq!(ev_lists("u64_le(bytes, 16)", &le), int(u64::MAX.into()));
    assert_eq!(ev_lists("u64_le(bytes, 25)", &le), NULL, "past the end");
    assert_eq!(ev_lists("u64_le(bytes, -1)", &le), NULL);
    assert_eq!(
        ev_lists("u64_le(amounts, 0)", &le),
        NULL,
        "items beyond a byte"
    );
    let xor = 1 ^ 0x0102_0304_0506_0708 ^ u64::MAX ^ (1 << 63);
    assert_eq!(
        ev_lists(
            "xor(u64_le(bytes, 0), u64_le(bytes, 8), u64_le(bytes, 16), u64_le(bytes, 24))",
            &le
        ),
        int(i128::from(xor))
    );
    assert_eq!(ev_lists("xor(6, 3)", &[]), int(5));
    assert_eq!(ev_lists("xor(6, null)", &[]), NULL);
    assert_eq!(ev_lists("reverse_bits(1)", &[]), int(1 << 63));
    assert_eq!(
        ev_lists("reverse_bits(reverse_bits(12345))", &[]),
        int(12345)
    );
    assert_eq!(ev_lists("reverse_bits(-1)", &[]), NULL);
    assert_eq!(
        ev_lists("reverse_bits(18446744073709551616)", &[]),
        NULL,
        "beyond 64 bits"
    );
    assert_eq!(ev_lists("len(bytes)", &le), int(32));
    assert_eq!(ev_lists("ui_amount(1500000000, 9)", &[]), float(1.5));
    assert_eq!(ev_lists("ui_amount(250, 0)", &[]), float(250.0));
    assert_eq!(ev_lists("ui_amount(-5, 1)", &[]), float(-0.5));
    assert_eq!(
        ev_lists("ui_amount(300000000000, missing ?? 11)", &[]),
        float(3.0)
    );
    assert_eq!(ev_lists("ui_amount(null, 9)", &[]), NULL);
    assert_eq!(
        ev_lists("ui_amount(1, missing)", &[]),
        NULL,
        "unknown decimals"
    );
    assert_eq!(
        ev_lists("ui_amount(1, 39)", &[]),
        NULL,
        "beyond 38 decimals"
    );
    assert_eq!(ev_lists("ui_amount(1, -1)", &[]), NULL);
    assert_eq!(ev_lists("len(\"héllo\")", &[]), int(5));
    assert_eq!(
        ev_lists("map(amounts, x => x * 1e-9)", &[]),
        Value::List(vec![float(1.0), float(2.0), float(5e-9)])
    );
    assert_eq!(
        ev_lists("map(amounts, x => x % k)", &[]),
        Value::List(vec![int(1), int(2), int(2)]),
        "fields stay visible in the lambda"
    );
    assert_eq!(
        ev_lists("map(rows, r => r.n * 2)", &[]),
        Value::List(vec![int(2), int(8)])
    );
    assert_eq!(ev_lists("any(bytes, b => b != 0)", &[0, 0, 3]), T);
    assert_eq!(ev_lists("any(bytes, b => b != 0)", &[0, 0]), F);
    assert_eq!(ev_lists("all(bytes, b => b == 255)", &[255, 255]), T);
    assert_eq!(ev_lists("all(bytes, b => b == 255)", &[255, 0]), F);
    assert_eq!(
        ev_lists("all(bytes, b => null)", &[1]),
        F,
        "null counts as false"
    );
    assert_eq!(ev_lists("any(missing, b => true)", &[]), NULL);
    assert_eq!(ev_lists("map(bytes, x => x) == bytes", &[1, 2]), T);
    // The parameter shadows a field of the same name.
    assert_eq!(
        ev_lists("map(amounts, k => k + 1)", &[]),
        Value::List(vec![int(1_000_000_001), int(2_000_000_001), int(6)])
    );
}
