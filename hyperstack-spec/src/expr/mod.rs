//! The computed-field expression language.
//!
//! A stack spec writes small expressions in two places: **computed fields**, whose value is
//! derived from other fields of the same entity, and **derived-view filters**, which decide
//! whether an entity belongs to a view. Both use the language described here.
//!
//! ```text
//! price        = quote_reserve / base_reserve
//! last_sol     = last_trade.sol_amount / 1e9
//! label        = name ?? symbol ?? "unnamed"
//! spread_bps   = round(abs(ask - bid) / bid * 10_000)
//! filter       = !is_complete && market_cap_sol >= 100
//! ```
//!
//! # Syntax
//!
//! Whitespace (spaces, tabs, newlines) between tokens is ignored.
//!
//! ## Literals
//!
//! | Literal  | Examples                         | Type     |
//! |----------|----------------------------------|----------|
//! | integer  | `42`, `1_000_000`                | `int`    |
//! | float    | `1.5`, `1e9`, `2.5E-3`, `0.000_1`| `float`  |
//! | boolean  | `true`, `false`                  | `bool`   |
//! | null     | `null`                           | `null`   |
//! | string   | `"SOL"`, `"say \"hi\""`, `"a\\b"`| `string` |
//!
//! * Integers are 128-bit signed; a literal may not exceed 2^127 - 1. Negative numbers are
//!   written with the unary minus (`-5`).
//! * A number with a fraction (`1.5`) or an exponent (`1e9`) is a float; a float literal
//!   must be finite. `_` may separate digits (after the first digit).
//! * Strings are enclosed in double quotes; the only escapes are `\"` and `\\`. Any other
//!   character, including a newline, stands for itself.
//!
//! ## Field references
//!
//! An identifier (`[A-Za-z_][A-Za-z0-9_]*`) names another field of the same entity; a
//! dotted path names a nested field: `last_trade.sol_amount`. No whitespace is allowed
//! around the dots. `true`, `false` and `null` are keywords, not field names. An
//! identifier directly followed by `(` is a function call.
//!
//! ## Operators
//!
//! From lowest to highest precedence:
//!
//! | Operators              | Meaning                 | Associativity             |
//! |------------------------|-------------------------|---------------------------|
//! | `??`                   | null-coalescing         | right                     |
//! | `\|\|`                 | logical or              | left                      |
//! | `&&`                   | logical and             | left                      |
//! | `==` `!=`              | equality                | none (cannot be chained)  |
//! | `<` `<=` `>` `>=`      | ordering                | none (cannot be chained)  |
//! | `+` `-`                | addition, subtraction   | left                      |
//! | `*` `/` `%`            | multiplication, division, remainder | left          |
//! | `-` `!` (prefix)       | negation, logical not   | prefix                    |
//!
//! Parentheses group. `a < b < c` is an error (write `a < b && b < c`).
//!
//! ## Functions
//!
//! | Call                   | Result                                                     |
//! |------------------------|------------------------------------------------------------|
//! | `abs(x)`               | absolute value (`int` or `float`, like `x`)                |
//! | `min(a, b)`, `max(a, b)` | the smaller / larger number (`float` if either is)       |
//! | `round(x)`             | nearest integer, halves away from zero, as an `int`        |
//! | `floor(x)`, `ceil(x)`  | round down / up, as an `int`                               |
//! | `if(cond, a, b)`       | `a` if `cond` is `true`, otherwise (`false` or null) `b`   |
//! | `coalesce(a, b, ...)`  | the first argument that is not null (2 or more arguments)  |
//! | `u64_le(bytes, offset)`| the 8 list items from `offset` (each a byte 0–255) read as a little-endian u64 |
//! | `xor(a, b, ...)`       | bitwise exclusive or of integers (2 or more arguments)     |
//! | `reverse_bits(x)`      | the 64 bits of `x` (0 ≤ x < 2^64) in reverse order        |
//! | `map(list, x => expr)` | the list of `expr` for each item `x`                       |
//! | `any(list, x => cond)`, `all(list, x => cond)` | whether `cond` is true for some / every item |
//! | `len(x)`               | the number of items of a list, or characters of a string   |
//! | `ui_amount(amount, decimals)` | `amount / 10^decimals` as a float (an integer amount of base units in whole units: `ui_amount(lamports, 9)` is SOL) |
//!
//! `x => expr` is a *lambda*, accepted only as the second argument of `map`, `any` and `all`;
//! inside it `x` (any identifier) names the current item and shadows a field of that name,
//! `x.field` reads a field of a struct item. Modulo is the `%` operator (`rng % 25`).
//!
//! Calling an unknown function, or a function with the wrong number of arguments, is a
//! parse error. Only the arguments an evaluation needs are evaluated (`if`, `coalesce`,
//! `??`, `&&` and `||` short-circuit), which matters for nothing but speed: evaluation has
//! no side effects.
//!
//! ## Grammar
//!
//! ```text
//! expr       = or ( "??" or )*                    (right-associative)
//! or         = and ( "||" and )*
//! and        = equality ( "&&" equality )*
//! equality   = comparison ( ( "==" | "!=" ) comparison )?
//! comparison = sum ( ( "<" | "<=" | ">" | ">=" ) sum )?
//! sum        = product ( ( "+" | "-" ) product )*
//! product    = unary ( ( "*" | "/" | "%" ) unary )*
//! unary      = ( "-" | "!" ) unary | primary
//! primary    = literal | path | name "(" ( arg ( "," arg )* )? ")" | "(" expr ")"
//! arg        = expr | name "=>" expr              (a lambda: 2nd argument of map/any/all)
//! ```
//!
//! # Types
//!
//! [`Expr::check`] assigns every expression one of the types of [`ExprType`]: `bool`,
//! `int`, `float`, `string`, `list<T>` (an IDL array, `Vec` or `bytes`; lists are values of
//! computed fields too), `null` (the type of the `null` literal) or `any` (a field of
//! unknown or opaque type, such as a struct). **Every type admits null** at
//! runtime: a field may be absent, and many operations yield null (see below).
//!
//! | Expression                       | Operand types                    | Result type |
//! |----------------------------------|----------------------------------|-------------|
//! | `a + b`, `a - b`, `a * b`, `a % b` | numbers (`int`, `float`, `null`) | `int` if both are `int`, `float` if either is `float` |
//! | `a / b`                          | numbers                          | `float`     |
//! | `-a`                             | a number                         | same as `a` |
//! | `a < b` etc.                     | two numbers, or two strings      | `bool`      |
//! | `a == b`, `a != b`               | compatible types (see below)     | `bool`      |
//! | `a && b`, `a \|\| b`, `!a`        | `bool` (or `null`)               | `bool`      |
//! | `a ?? b`, `coalesce(a, b, ...)`  | compatible types                 | their join  |
//! | `if(c, a, b)`                    | `c` is `bool`; `a`, `b` compatible | their join |
//! | `abs(x)`                         | a number                         | same as `x` |
//! | `min(a, b)`, `max(a, b)`         | numbers                          | like `+`    |
//! | `round(x)`, `floor(x)`, `ceil(x)`| a number                         | `int`       |
//! | `u64_le(l, i)`, `xor(a, b, ...)`, `reverse_bits(x)`, `len(l)` | lists of ints, ints | `int` |
//! | `map(l, x => e)`                 | `l` a `list<T>`; `e` typed with `x: T` | `list<type of e>` |
//! | `any(l, x => c)`, `all(l, x => c)` | `c` is `bool`                  | `bool`      |
//! | `ui_amount(a, d)`                | two ints                         | `float`     |
//!
//! Two types are *compatible* when they are equal, when one is `int` and the other `float`
//! (join: `float`), when one is `null` (join: the other) or when one is `any` (join: `any`).
//! A `null` literal is accepted wherever a number, a string or a bool is (the result is
//! null at runtime). `any` may only be used with `==`, `!=`, `??`, `coalesce` and as a
//! branch of `if`. Everything else is a type error, reported at the byte offset of the
//! offending operand (or of the operator when the operands are only wrong together), e.g.
//! ``operator `+` cannot apply to string and int`` or ``unknown field `reserves.base` ``.
//!
//! When the joined type is `float` the value may still be an integer at runtime
//! (`if(c, 1, 2.5)` evaluates to the integer `1` when `c` is true); use
//! [`Value::as_f64`] where a float is required.
//!
//! # Evaluation
//!
//! [`Expr::eval`] never fails and never panics: operations that are undefined for their
//! operands yield **null** instead.
//!
//! * **Null propagates** through arithmetic, ordering comparisons, `-`, `abs`, `min`,
//!   `max`, `round`, `floor` and `ceil`: if an operand is null, the result is null.
//!   An absent field is null.
//! * **Integer arithmetic** (`+ - * %` on two integers) is exact on 128-bit integers;
//!   overflow yields null. `%` takes the sign of the left operand (`-7 % 3 == -1`).
//! * **Division** `/` always produces a float, even for two integers (`7 / 2 == 3.5`), so
//!   `quote_reserve / base_reserve` is a price. Use `floor(a / b)` for an integer quotient.
//! * Any **float** operand makes the result a float. A float result that is not finite
//!   (overflow) yields null; floats are 64-bit IEEE.
//! * **Division or remainder by zero** (integer or float) yields null.
//! * **Ordering** (`< <= > >=`) compares numbers numerically and exactly, also between an
//!   integer and a float (`1 < 1.5`, `2 == 2.0`), and strings lexicographically by
//!   Unicode code point (`"B" < "a"`).
//! * **Equality** (`==`, `!=`) never yields null: `null == null` is true and `x == null`
//!   is false for any non-null `x`, so `field == null` tests whether a field is absent
//!   and `field != null` whether it is present. Numbers compare numerically; struct and
//!   list values compare as JSON.
//! * **Logic** is three-valued: `&&`, `||` and `!` yield null when an operand is null,
//!   except that `false && x` (and `x && false`) is `false` and `true || x` (and
//!   `x || true`) is `true` for any `x`, including null.
//! * `a ?? b` is `a` unless `a` is null, in which case it is `b`.
//! * `round`, `floor` and `ceil` return integers unchanged; for a float they return the
//!   integer result, or null if it does not fit in 128 bits.
//! * `u64_le` is null when the list is too short, the offset negative or an item not a
//!   byte; `xor` and `reverse_bits` are null for null (or, for `reverse_bits`, out of range)
//!   operands. Lists compare item by item with `==`.
//! * `ui_amount` is null for a null operand or decimals outside 0..=38 (so
//!   `ui_amount(raw, metadata.decimals ?? 11)` falls back to 11 decimals while the
//!   metadata is unknown).
//! * `any` / `all` count a lambda result that is null as false; on a null list they are null,
//!   like `map` and `len`.
//!
//! # Filters
//!
//! A derived-view filter is an expression of type `bool`. An entity passes the filter only
//! when the expression evaluates to `true`: **a filter that evaluates to null counts as
//! false** (see [`Value::is_truthy_filter`]). So `price > 10` excludes entities whose
//! `price` is absent; write `price == null || price > 10` to include them.
//!
//! # Limits
//!
//! Expressions nest at most [`MAX_DEPTH`] (128) levels deep, counting operators,
//! parentheses and function calls; deeper expressions are rejected by [`parse`].
//!
//! # API
//!
//! ```
//! use hyperstack_spec::expr::{parse, ExprType, Value};
//!
//! let expr = parse("quote_reserve / base_reserve").unwrap();
//! assert_eq!(expr.references(), ["quote_reserve", "base_reserve"]);
//! let ty = expr.check(&|_field: &str| Some(ExprType::Int)).unwrap();
//! assert_eq!(ty, ExprType::Float);
//! let price = expr.eval(&|field: &str| match field {
//!     "quote_reserve" => Some(Value::Int(30)),
//!     "base_reserve" => Some(Value::Int(4)),
//!     _ => None,
//! });
//! assert_eq!(price, Value::Float(7.5));
//!
//! let err = parse("a + ").unwrap_err();
//! assert_eq!((err.offset, err.message.as_str()), (4, "unexpected end of input, expected an expression"));
//! ```
//!
//! An [`Expr`] serializes as its source string and deserializes by parsing one, so a spec
//! file can hold expressions as plain strings.

mod ast;
mod eval;
mod lexer;
mod parser;
mod typing;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use ast::{BinaryOp, Function, Node, NodeKind, Span, UnaryOp};
pub use parser::MAX_DEPTH;
pub use typing::ExprType;
pub use value::Value;

/// An error in an expression: where it is (a byte offset into the source) and what it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    /// Byte offset into the source text of the expression.
    pub offset: usize,
    /// What is wrong, in a sentence without trailing period.
    pub message: String,
}

/// A parsed expression: its source text and its syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: String,
    root: Node,
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    Ok(Expr {
        root: parser::parse_root(src)?,
        source: src.to_string(),
    })
}

impl Expr {
    /// The source text the expression was parsed from (error offsets index into it).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The root of the syntax tree.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Every field path the expression references, deduplicated, in first-seen order.
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.root.collect_references(&mut Vec::new(), &mut out);
        out
    }

    /// Static type check. `env` gives the type of a referenced field path (`None` = unknown
    /// field, which is an error naming the path). Returns the type of the expression.
    pub fn check(&self, env: &dyn Fn(&str) -> Option<ExprType>) -> Result<ExprType, ExprError> {
        typing::check_node(&self.root, env)
    }

    /// Evaluates the expression; `env` gives a field's current value (`None` is the same as
    /// [`Value::Null`]). Never panics; see the [module documentation](self) for semantics.
    pub fn eval(&self, env: &dyn Fn(&str) -> Option<Value>) -> Value {
        eval::eval_node(&self.root, env)
    }
}

/// Displays the source text.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Expr {
    type Err = ExprError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        match parser::parse_root(&source) {
            Ok(root) => Ok(Expr { source, root }),
            Err(e) => Err(serde::de::Error::custom(format_args!(
                "invalid expression `{source}`: {} (at byte {})",
                e.message, e.offset
            ))),
        }
    }
}
