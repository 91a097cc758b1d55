//! A small property test: random input never panics, and well-typed expressions evaluate
//! to values of their checked type (or null).

use crate::expr::{parse, ExprType, Value};

/// xorshift64: a tiny deterministic pseudo-random generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn field_type(path: &str) -> Option<ExprType> {
    Some(match path {
        "a" | "x.y" => ExprType::Int,
        "b" => ExprType::Float,
        "c" => ExprType::Bool,
        "d" => ExprType::String,
        "e" => ExprType::Any,
        "n" => ExprType::Null,
        _ => return None,
    })
}

const INTS: [i128; 7] = [0, 1, -1, 7, i128::MAX, i128::MIN, 1 << 64];
const FLOATS: [f64; 9] = [
    0.0,
    -0.0,
    0.5,
    -2.5,
    1e308,
    -1e308,
    f64::MIN_POSITIVE,
    f64::NAN,
    f64::INFINITY,
];

/// A random value of the type `field_type` gives `path` (or null).
fn random_value(rng: &mut Rng, path: &str) -> Value {
    if rng.below(8) == 0 {
        return Value::Null;
    }
    match field_type(path) {
        Some(ExprType::Int) => Value::Int(*rng.pick(&INTS)),
        Some(ExprType::Float) => Value::Float(*rng.pick(&FLOATS)),
        Some(ExprType::Bool) => Value::Bool(rng.below(2) == 0),
        Some(ExprType::String) => Value::Str(rng.pick(&["", "a", "b", "ab"]).to_string()),
        Some(ExprType::Any) => Value::Opaque(serde_json::json!([rng.below(2)])),
        Some(ExprType::Null) => Value::Null,
        // Unknown fields get values of arbitrary type.
        _ => match rng.below(5) {
            0 => Value::Int(*rng.pick(&INTS)),
            1 => Value::Float(*rng.pick(&FLOATS)),
            2 => Value::Str("z".into()),
            3 => Value::Bool(true),
            _ => Value::Opaque(serde_json::json!({})),
        },
    }
}

/// Whether `value` may be the result of an expression of static type `ty`.
fn conforms(value: &Value, ty: &ExprType) -> bool {
    match (value, ty) {
        (Value::List(items), ExprType::List(item)) => items.iter().all(|v| conforms(v, item)),
        _ => matches!(
            (value, ty),
            (Value::Null, _)
                | (_, ExprType::Any)
                | (Value::Int(_), ExprType::Int | ExprType::Float)
                | (Value::Float(_), ExprType::Float)
                | (Value::Bool(_), ExprType::Bool)
                | (Value::Str(_), ExprType::String)
        ),
    }
}

/// Parses, checks and evaluates `src`; asserts type soundness for well-typed input.
fn exercise(rng: &mut Rng, src: &str) -> bool {
    let Ok(expr) = parse(src) else {
        return false;
    };
    let _ = expr.references();
    let _ = expr.root().to_string();
    let checked = expr.check(&field_type);
    let values: Vec<(String, Value)> = expr
        .references()
        .into_iter()
        .map(|path| {
            let value = random_value(rng, &path);
            (path, value)
        })
        .collect();
    let env = |path: &str| {
        values
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
    };
    let value = expr.eval(&env);
    let _ = value.to_json();
    let _ = value.is_truthy_filter();
    if let Ok(ty) = checked {
        assert!(
            conforms(&value, &ty),
            "{src:?}: value {value:?} does not conform to {ty} (env {values:?})"
        );
    }
    true
}

const TOKENS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "n",
    "x.y",
    "zz",
    "1",
    "0",
    "2.5",
    "1e3",
    "170141183460469231731687303715884105727",
    "\"s\"",
    "\"\\\"\"",
    "true",
    "false",
    "null",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "??",
    "(",
    ")",
    ",",
    "abs(",
    "min(",
    "max(",
    "round(",
    "floor(",
    "ceil(",
    "if(",
    "coalesce(",
    "foo(",
    " ",
    "\"",
    "\\",
    ".",
    "=",
    "é",
    "_",
];

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let alphabet = b"abn19.e_+-*/%!=<>&|?()\", \\x";
    for i in 0..4000 {
        let len = rng.below(24);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if i % 2 == 0 {
                    rng.next() as u8
                } else {
                    *rng.pick(alphabet)
                }
            })
            .collect();
        let src = String::from_utf8_lossy(&bytes);
        exercise(&mut rng, &src);
    }
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut parsed = 0;
    for _ in 0..6000 {
        let len = 1 + rng.below(12);
        let src: String = (0..len)
            .map(|_| *rng.pick(TOKENS))
            .collect::<Vec<_>>()
            .join(" ");
        if exercise(&mut rng, &src) {
            parsed += 1;
        }
    }
    assert!(parsed > 100, "only {parsed} inputs parsed");
}

/// A random syntactically valid expression of at most `depth` levels.
fn random_expr(rng: &mut Rng, depth: usize) -> String {
    const LEAVES: &[&str] = &[
        "a",
        "b",
        "c",
        "d",
        "e",
        "n",
        "x.y",
        "1",
        "0",
        "-1",
        "2.5",
        "0.0",
        "1e300",
        "\"a\"",
        "true",
        "false",
        "null",
        "170141183460469231731687303715884105727",
    ];
    const BINARY: &[&str] = &[
        "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "??",
    ];
    if depth == 0 || rng.below(4) == 0 {
        return rng.pick(LEAVES).to_string();
    }
    match rng.below(7) {
        0 => format!("-({})", random_expr(rng, depth - 1)),
        1 => format!("!({})", random_expr(rng, depth - 1)),
        2 => {
            let f = *rng.pick(&["abs", "round", "floor", "ceil"]);
            format!("{f}({})", random_expr(rng, depth - 1))
        }
        3 => {
            let f = *rng.pick(&["min", "max", "coalesce"]);
            format!(
                "{f}({}, {})",
                random_expr(rng, depth - 1),
                random_expr(rng, depth - 1)
            )
        }
        4 => format!(
            "if({}, {}, {})",
            random_expr(rng, depth - 1),
            random_expr(rng, depth - 1),
            random_expr(rng, depth - 1)
        ),
        _ => {
            let op = *rng.pick(BINARY);
            format!(
                "({}) {op} ({})",
                random_expr(rng, depth - 1),
                random_expr(rng, depth - 1)
            )
        }
    }
}

#[test]
fn random_valid_expressions_are_sound() {
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    let mut well_typed = 0;
    for _ in 0..5000 {
        let src = random_expr(&mut rng, 5);
        let expr = match parse(&src) {
            Ok(expr) => expr,
            Err(e) => panic!("{src:?} should parse: {e:?}"),
        };
        if expr.check(&field_type).is_ok() {
            well_typed += 1;
        }
        // Repeat with several environments.
        for _ in 0..3 {
            exercise(&mut rng, &src);
        }
    }
    assert!(well_typed > 500, "only {well_typed} well-typed expressions");
}
