//! Static type checking.

use super::ty;
use crate::expr::ExprType::{self, Any, Bool, Float, Int, Null, String};

fn ok(src: &str, expected: ExprType) {
    assert_eq!(ty(src), Ok(expected), "{src}");
}

fn fails(src: &str, offset: usize, message: &str) {
    assert_eq!(ty(src), Err((offset, message.to_string())), "{src}");
}

#[test]
fn literals_and_fields() {
    ok("1", Int);
    ok("1.0", Float);
    ok("true", Bool);
    ok("\"x\"", String);
    ok("null", Null);
    ok("i", Int);
    ok("trade.amount", Int);
    ok("o", Any);
    fails("1 + missing.field", 4, "unknown field `missing.field`");
}

#[test]
fn arithmetic() {
    ok("i + j", Int);
    ok("i - j * i % j", Int);
    ok("i + f", Float);
    ok("f * i", Float);
    ok("i / j", Float);
    ok("f / f", Float);
    ok("i + null", Int);
    ok("f + n", Float);
    ok("null + null", Null);
    ok("null / null", Float);
    ok("-i", Int);
    ok("-f", Float);
    ok("-null", Null);
    fails("s + i", 0, "operator `+` cannot apply to string and int");
    fails("i + s", 4, "operator `+` cannot apply to int and string");
    fails("s + t", 2, "operator `+` cannot apply to string and string");
    fails(
        "i * (b && c)",
        4,
        "operator `*` cannot apply to int and bool",
    );
    fails("o / 2", 0, "operator `/` cannot apply to any and int");
    fails("i % o", 4, "operator `%` cannot apply to int and any");
    fails("1 + -s", 5, "operator `-` cannot apply to string");
}

#[test]
fn comparisons() {
    ok("i < j", Bool);
    ok("i <= f", Bool);
    ok("s > t", Bool);
    ok("s >= null", Bool);
    ok("null < i", Bool);
    fails("s < i", 2, "operator `<` cannot apply to string and int");
    fails("b > c", 2, "operator `>` cannot apply to bool and bool");
    fails("i >= b", 5, "operator `>=` cannot apply to int and bool");
    fails("o <= 1", 0, "operator `<=` cannot apply to any and int");
}

#[test]
fn equality() {
    ok("i == j", Bool);
    ok("i == f", Bool);
    ok("s != t", Bool);
    ok("b == c", Bool);
    ok("i == null", Bool);
    ok("null != s", Bool);
    ok("o == o", Bool);
    ok("o == 1", Bool);
    ok("s == o", Bool);
    fails("s == i", 2, "operator `==` cannot apply to string and int");
    fails(
        "b != 1.5",
        2,
        "operator `!=` cannot apply to bool and float",
    );
}

#[test]
fn logic() {
    ok("b && c", Bool);
    ok("b || null", Bool);
    ok("!b", Bool);
    ok("!null", Bool);
    ok("i > 1 && s == \"x\" || !c", Bool);
    fails("b && i", 5, "operator `&&` cannot apply to bool and int");
    fails("s || c", 0, "operator `||` cannot apply to string and bool");
    fails("i && f", 2, "operator `&&` cannot apply to int and float");
    fails("!i", 1, "operator `!` cannot apply to int");
}

#[test]
fn null_coalescing() {
    ok("i ?? 0", Int);
    ok("i ?? j", Int);
    ok("i ?? 0.5", Float);
    ok("f ?? 0", Float);
    ok("null ?? s", String);
    ok("s ?? null", String);
    ok("o ?? 1", Any);
    ok("n ?? n", Null);
    ok("i ?? f ?? 0", Float);
    fails("s ?? 0", 2, "operator `??` cannot apply to string and int");
    fails(
        "b ?? i ?? s",
        7,
        "operator `??` cannot apply to int and string",
    );
}

#[test]
fn functions() {
    ok("abs(i)", Int);
    ok("abs(f)", Float);
    ok("abs(null)", Null);
    ok("round(f)", Int);
    ok("floor(i)", Int);
    ok("ceil(null)", Int);
    ok("min(i, j)", Int);
    ok("max(i, f)", Float);
    ok("min(null, i)", Int);
    ok("if(b, i, j)", Int);
    ok("if(null, i, f)", Float);
    ok("if(b, s, null)", String);
    ok("if(b, o, i)", Any);
    ok("coalesce(i, j)", Int);
    ok("coalesce(n, i, f, 0)", Float);
    ok("coalesce(o, s)", Any);
    fails("abs(s)", 4, "function `abs` cannot apply to string");
    fails("round(b)", 6, "function `round` cannot apply to bool");
    fails("floor(o)", 6, "function `floor` cannot apply to any");
    fails(
        "min(i, s)",
        7,
        "function `min` cannot apply to int and string",
    );
    fails(
        "max(s, 1)",
        4,
        "function `max` cannot apply to string and int",
    );
    fails(
        "max(s, t)",
        0,
        "function `max` cannot apply to string and string",
    );
    fails(
        "if(i, 1, 2)",
        3,
        "the condition of `if` must be bool, found int",
    );
    fails(
        "if(b, 1, s)",
        9,
        "the branches of `if` have incompatible types int and string",
    );
    fails(
        "coalesce(i, f, s)",
        15,
        "the arguments of `coalesce` have incompatible types float and string",
    );
}

#[test]
fn errors_in_operands_come_first() {
    fails(
        "(s + 1) == unknown",
        1,
        "operator `+` cannot apply to string and int",
    );
    fails("abs(x) + s", 4, "unknown field `x`");
}

#[test]
fn list_functions() {
    let env = |path: &str| -> Option<ExprType> {
        Some(match path {
            "bytes" => ExprType::List(Box::new(ExprType::Int)),
            "rows" => ExprType::List(Box::new(ExprType::Any)),
            "i" => ExprType::Int,
            "s" => ExprType::String,
            _ => return None,
        })
    };
    let check = |src: &str| {
        crate::expr::parse(src)
            .unwrap()
            .check(&env)
            .map_err(|e| (e.offset, e.message))
    };
    let list = |t| ExprType::List(Box::new(t));
    assert_eq!(
        check("map(bytes, x => x * 1e-9)"),
        Ok(list(ExprType::Float))
    );
    assert_eq!(check("map(bytes, x => x % 25)"), Ok(list(ExprType::Int)));
    assert_eq!(check("map(rows, r => r.amount)"), Ok(list(ExprType::Any)));
    assert_eq!(check("any(bytes, b => b != 0)"), Ok(ExprType::Bool));
    assert_eq!(
        check("xor(u64_le(bytes, 0), u64_le(bytes, 8))"),
        Ok(ExprType::Int)
    );
    assert_eq!(check("reverse_bits(i) % 625 == 0"), Ok(ExprType::Bool));
    assert_eq!(check("len(s) + len(bytes)"), Ok(ExprType::Int));
    assert_eq!(check("ui_amount(i, 9)"), Ok(ExprType::Float));
    assert_eq!(check("ui_amount(i, i ?? 11)"), Ok(ExprType::Float));
    assert_eq!(
        check("ui_amount(1.5, 9)"),
        Err((
            10,
            "the amount of `ui_amount` must be an int (base units), found float".into()
        ))
    );
    assert_eq!(
        check("ui_amount(i, s)"),
        Err((
            13,
            "the decimals of `ui_amount` must be an int, found string".into()
        ))
    );
    assert_eq!(
        check("map(i, x => x)"),
        Err((4, "function `map` needs a list, found int".into()))
    );
    assert_eq!(
        check("any(bytes, b => b + 1)"),
        Err((16, "the lambda of `any` must give a bool, found int".into()))
    );
    assert_eq!(
        check("map(bytes, b => b.x)"),
        Err((16, "unknown field `b.x`".into()))
    );
    assert_eq!(
        check("u64_le(s, 0)"),
        Err((
            7,
            "function `u64_le` needs a list of bytes, found string".into()
        ))
    );
    assert_eq!(
        check("u64_le(bytes, 1.5)"),
        Err((
            14,
            "the offset of `u64_le` must be an int, found float".into()
        ))
    );
    assert_eq!(
        check("xor(i, s)"),
        Err((7, "function `xor` cannot apply to string".into()))
    );
    assert_eq!(
        check("reverse_bits(s)"),
        Err((13, "function `reverse_bits` cannot apply to string".into()))
    );
    assert_eq!(
        check("map(bytes, x => x) + 1"),
        Err((0, "operator `+` cannot apply to list<int> and int".into()))
    );
}
