//! Parsing: every construct, precedence, spans and every error kind.

use super::{canon, parse_err};
use crate::expr::{parse, BinaryOp, Expr, Function, NodeKind, Span, MAX_DEPTH};

#[test]
fn literals() {
    assert_eq!(canon("42"), "42");
    assert_eq!(canon("1_000_000"), "1000000");
    assert_eq!(canon("1.5"), "1.5");
    assert_eq!(canon("1e9"), "1000000000.0");
    assert_eq!(canon("2.5E-3"), "0.0025");
    assert_eq!(canon("1e+2"), "100.0");
    assert_eq!(canon("0.000_1"), "0.0001");
    assert_eq!(canon("true"), "true");
    assert_eq!(canon("false"), "false");
    assert_eq!(canon("null"), "null");
    assert_eq!(canon(r#""SOL""#), r#""SOL""#);
    assert_eq!(
        canon("170141183460469231731687303715884105727"),
        i128::MAX.to_string()
    );
}

#[test]
fn string_escapes_and_unicode() {
    let expr = parse(r#""say \"hi\" \\ é€""#).unwrap();
    assert_eq!(
        expr.root().kind,
        NodeKind::Str(r#"say "hi" \ é€"#.to_string())
    );
    assert_eq!(expr.root().to_string(), r#""say \"hi\" \\ é€""#);
    assert_eq!(
        parse("\"a\nb\"").unwrap().root().kind,
        NodeKind::Str("a\nb".into())
    );
    assert_eq!(
        parse(r#""""#).unwrap().root().kind,
        NodeKind::Str(String::new())
    );
}

#[test]
fn fields_and_calls() {
    assert_eq!(canon("last_trade.sol_amount"), "last_trade.sol_amount");
    assert_eq!(canon("_a1.B_2.c"), "_a1.B_2.c");
    assert_eq!(
        canon("abs"),
        "abs",
        "a function name without `(` is a field"
    );
    assert_eq!(canon("nullable + truth"), "(nullable + truth)");
    assert_eq!(canon("abs(-x)"), "abs((-x))");
    assert_eq!(canon("min(a, b)"), "min(a, b)");
    assert_eq!(canon("max( a ,b )"), "max(a, b)");
    assert_eq!(canon("round(x)"), "round(x)");
    assert_eq!(canon("floor(x) + ceil(y)"), "(floor(x) + ceil(y))");
    assert_eq!(canon("if(a > 1, b, c)"), "if((a > 1), b, c)");
    assert_eq!(canon("coalesce(a, b, c, 0)"), "coalesce(a, b, c, 0)");
    assert_eq!(canon("coalesce(a, (b ?? c))"), "coalesce(a, (b ?? c))");
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(canon("a + b * c"), "(a + (b * c))");
    assert_eq!(canon("a * b + c"), "((a * b) + c)");
    assert_eq!(canon("a - b - c"), "((a - b) - c)");
    assert_eq!(canon("a / b % c * d"), "(((a / b) % c) * d)");
    assert_eq!(canon("(a + b) * c"), "((a + b) * c)");
    assert_eq!(canon("-a * b"), "((-a) * b)");
    assert_eq!(canon("- - a"), "(-(-a))");
    assert_eq!(canon("!a && b"), "((!a) && b)");
    assert_eq!(canon("a + b < c * d"), "((a + b) < (c * d))");
    assert_eq!(canon("a < b == c >= d"), "((a < b) == (c >= d))");
    assert_eq!(canon("a == b && c != d"), "((a == b) && (c != d))");
    assert_eq!(canon("a || b && c"), "(a || (b && c))");
    assert_eq!(canon("a && b || c && d"), "((a && b) || (c && d))");
    assert_eq!(canon("a || b || c"), "((a || b) || c)");
    assert_eq!(canon("a ?? b || c"), "(a ?? (b || c))");
    assert_eq!(canon("a ?? b ?? c"), "(a ?? (b ?? c))");
    assert_eq!(canon("(a ?? b) ?? c"), "((a ?? b) ?? c)");
    assert_eq!(canon("a?? b+1 ==2"), "(a ?? ((b + 1) == 2))");
}

#[test]
fn canonical_form_reparses_to_the_same_shape() {
    for src in [
        "a + b * -c / (d - 1.5e-7) % 3",
        "x ?? y ?? if(!b || c, \"q\\\"\", null)",
        "min(a, b) <= max(1, 2.0) && s != \"z\"",
    ] {
        let once = canon(src);
        assert_eq!(canon(&once), once, "{src}");
    }
}

#[test]
fn spans() {
    let expr = parse(" a + min(b, 2) ").unwrap();
    let root = expr.root();
    assert_eq!(root.span, Span { start: 1, end: 14 });
    let NodeKind::Binary {
        op,
        op_span,
        lhs,
        rhs,
    } = &root.kind
    else {
        panic!("not binary: {root:?}");
    };
    assert_eq!(*op, BinaryOp::Add);
    assert_eq!(*op_span, Span { start: 3, end: 4 });
    assert_eq!(lhs.span, Span { start: 1, end: 2 });
    assert_eq!(rhs.span, Span { start: 5, end: 14 });
    let NodeKind::Call { function, args } = &rhs.kind else {
        panic!("not a call: {rhs:?}");
    };
    assert_eq!(*function, Function::Min);
    assert_eq!(args[1].span, Span { start: 12, end: 13 });
    // Parentheses belong to the span of what they enclose.
    assert_eq!(parse("(a)").unwrap().root().span, Span { start: 0, end: 3 });
}

#[test]
fn equal_sources_give_equal_exprs() {
    assert_eq!(parse("a + 1").unwrap(), parse("a + 1").unwrap());
    assert_ne!(parse("a + 1").unwrap(), parse("a + 2").unwrap());
    let expr: Expr = "a ?? 0".parse().unwrap();
    assert_eq!(expr.to_string(), "a ?? 0");
    assert_eq!(expr.source(), "a ?? 0");
}

#[test]
fn serde_round_trip_as_source_string() {
    let expr = parse("price * 2 ?? 0").unwrap();
    let json = serde_json::to_string(&expr).unwrap();
    assert_eq!(json, r#""price * 2 ?? 0""#);
    let back: Expr = serde_json::from_str(&json).unwrap();
    assert_eq!(back, expr);
    let bad = serde_json::from_str::<Expr>(r#""a +""#)
        .unwrap_err()
        .to_string();
    assert!(bad.contains("unexpected end of input"), "{bad}");
    assert!(bad.contains("at byte 3"), "{bad}");
}

#[test]
fn lexical_errors() {
    let cases: &[(&str, usize, &str)] = &[
        ("a # b", 2, "unexpected character `#`"),
        ("a + é", 4, "unexpected character `é`"),
        ("a = b", 2, "unexpected character `=`; use `==` to compare"),
        ("a & b", 2, "unexpected character `&`; use `&&`"),
        ("a | b", 2, "unexpected character `|`; use `||`"),
        ("a ? b", 2, "unexpected character `?`; use `??`"),
        ("a.", 2, "expected a field name after `.`"),
        ("a.1", 2, "expected a field name after `.`"),
        ("a . b", 2, "unexpected character `.`"),
        ("true.x", 4, "unexpected character `.`"),
        (r#"x == "abc"#, 5, "unterminated string"),
        (r#""abc\"#, 0, "unterminated string"),
        (
            r#""a\nb""#,
            2,
            r#"unknown escape `\n` in string (only `\"` and `\\` are supported)"#,
        ),
        ("1e", 1, "missing digits after the exponent of a number"),
        ("1.5e+", 3, "missing digits after the exponent of a number"),
        ("12abc", 2, "unexpected character `a` after a number"),
        ("1.", 1, "unexpected character `.` after a number"),
        ("1.2.3", 3, "unexpected character `.` after a number"),
        ("1e999", 0, "number literal is too large"),
        (
            "170141183460469231731687303715884105728",
            0,
            "integer literal is too large (the maximum is 2^127 - 1)",
        ),
    ];
    for &(src, offset, message) in cases {
        assert_eq!(parse_err(src), (offset, message.to_string()), "{src}");
    }
}

#[test]
fn syntax_errors() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty expression"),
        ("  \n\t", 0, "empty expression"),
        ("a +", 3, "unexpected end of input, expected an expression"),
        ("-", 1, "unexpected end of input, expected an expression"),
        ("* a", 0, "expected an expression, found `*`"),
        ("a + )", 4, "expected an expression, found `)`"),
        ("()", 1, "expected an expression, found `)`"),
        ("a b", 2, "unexpected `b` after the end of the expression (trailing input)"),
        ("a)", 1, "unexpected `)` after the end of the expression (trailing input)"),
        ("1 2", 2, "unexpected number `2` after the end of the expression (trailing input)"),
        ("(a + b", 6, "unexpected end of input, expected `)` to close the `(` at byte 0"),
        ("(a b)", 3, "expected `)` to close the `(` at byte 0, found `b`"),
        ("min(a b)", 6, "expected `,` or `)` in the arguments of `min`, found `b`"),
        ("min(a,", 6, "unexpected end of input, expected an expression"),
        ("min(a, b", 8, "unexpected end of input, expected `,` or `)` in the arguments of `min`"),
        ("max(a,)", 6, "expected an expression, found `)`"),
        (
            "1 + foo(2)",
            4,
            "unknown function `foo` (known functions: abs, min, max, round, floor, ceil, if, coalesce, u64_le, xor, reverse_bits, map, any, all, len, ui_amount)",
        ),
        ("a.b(1)", 0, "`a.b` is a field path, not a function"),
        ("abs()", 0, "function `abs` takes 1 argument, got 0"),
        ("x + abs(1, 2)", 4, "function `abs` takes 1 argument, got 2"),
        ("min(1)", 0, "function `min` takes 2 arguments, got 1"),
        ("if(a, b)", 0, "function `if` takes 3 arguments, got 2"),
        ("coalesce(a)", 0, "function `coalesce` takes at least 2 arguments, got 1"),
        (
            "a < b < c",
            6,
            "comparison operators cannot be chained: `<` follows `<`; combine comparisons with `&&`",
        ),
        (
            "a == b != c",
            7,
            "comparison operators cannot be chained: `!=` follows `==`; combine comparisons with `&&`",
        ),
    ];
    for &(src, offset, message) in cases {
        assert_eq!(parse_err(src), (offset, message.to_string()), "{src}");
    }
}

#[test]
fn depth_limit() {
    let too_deep = |offset: usize| {
        (
            offset,
            format!("expression is nested too deeply (the limit is {MAX_DEPTH} levels)"),
        )
    };
    // Right at the limit is fine.
    let ok = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert!(parse(&ok).is_ok());
    let ok = format!("{}1", "-".repeat(MAX_DEPTH - 1));
    assert!(parse(&ok).is_ok());

    // Deeply nested input of every kind is rejected without overflowing the stack.
    let n = 100_000;
    let parens = format!("{}1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(parse_err(&parens), too_deep(MAX_DEPTH));
    assert_eq!(
        parse_err(&format!("{}1", "-".repeat(n))),
        too_deep(MAX_DEPTH)
    );
    assert_eq!(
        parse_err(&format!("{}1", "!".repeat(n))),
        too_deep(MAX_DEPTH)
    );
    let sum = format!("1{}", " + 1".repeat(n));
    assert_eq!(parse_err(&sum).1, too_deep(0).1);
    let coalesce = format!("a{}", " ?? a".repeat(n));
    assert_eq!(parse_err(&coalesce).1, too_deep(0).1);
    let calls = format!("{}1{}", "abs(".repeat(n), ")".repeat(n));
    assert_eq!(parse_err(&calls), too_deep(MAX_DEPTH * 4 + 3));
    let mixed = "(-abs(1 + ".repeat(n);
    assert_eq!(parse_err(&mixed).1, too_deep(0).1);
}

#[test]
fn deepest_accepted_expressions_check_and_evaluate() {
    let deepest = [
        format!(
            "{}1{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        ),
        format!("{}i", "-".repeat(MAX_DEPTH - 1)),
        format!("i{}", " + i".repeat(MAX_DEPTH - 1)),
        format!("n{}", " ?? n".repeat(MAX_DEPTH - 2)),
        format!(
            "{}i{}",
            "abs(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        ),
        format!("{}i{}", "(-abs(".repeat(42), "))".repeat(42)),
    ];
    for src in &deepest {
        let expr = match parse(src) {
            Ok(expr) => expr,
            Err(e) => panic!("{src}: {e:?}"),
        };
        assert!(expr.check(&super::field_type).is_ok(), "{src}");
        let _ = expr.eval(&super::field_value);
        let _ = expr.root().to_string();
        let _ = expr.references();
        let _ = expr.clone() == expr;
    }
    // One level more is rejected.
    assert!(parse(&format!("{}i", "-".repeat(MAX_DEPTH))).is_err());
    assert!(parse(&format!("i{}", " + i".repeat(MAX_DEPTH))).is_err());
    assert!(parse(&format!("n{}", " ?? n".repeat(MAX_DEPTH))).is_err());
}

#[test]
fn lambdas() {
    assert_eq!(
        canon("map(l, x => x * 2 + k)"),
        "map(l, x => ((x * 2) + k))"
    );
    assert_eq!(
        crate::expr::parse("map(l, x => x.a + k.b)")
            .unwrap()
            .references(),
        ["l", "k.b"],
        "the parameter is not a field reference"
    );
    assert_eq!(
        parse_err("map(l, 2)"),
        (
            7,
            "expected a lambda `x => …` as the second argument of `map`, found number `2`".into()
        )
    );
    assert_eq!(
        parse_err("map(l, x.y => 1)"),
        (
            7,
            "expected a lambda `x => …` as the second argument of `map`, found `x.y`".into()
        )
    );
    assert_eq!(
        parse_err("any(l, x)"),
        (
            8,
            "expected a lambda `x => …` as the second argument of `any`, found `)`".into()
        )
    );
    assert_eq!(parse_err("x => 1").0, 2);
    // The canonical form re-parses.
    let c = canon("all(l, b => b == 0 || b == 255)");
    assert_eq!(canon(&c), c);
}
