//! Evaluation. Total: every input yields a [`Value`]; undefined operations yield `Null`.

use std::cmp::Ordering;

use super::ast::{BinaryOp, Function, Node, NodeKind, UnaryOp};
use super::value::Value;

type Env<'a> = &'a dyn Fn(&str) -> Option<Value>;

/// 2^127 as a float: `i128` holds exactly the integral floats in `[-2^127, 2^127)`.
const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

/// Evaluates `node`; field values come from `env`.
pub(super) fn eval_node(node: &Node, env: Env<'_>) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Int(i) => Value::Int(*i),
        NodeKind::Float(x) => finite(*x),
        NodeKind::Str(s) => Value::Str(s.clone()),
        NodeKind::Field(path) => env(path).unwrap_or(Value::Null),
        NodeKind::Unary { op, operand } => {
            let v = eval_node(operand, env);
            match (op, v) {
                (UnaryOp::Neg, Value::Int(i)) => i.checked_neg().map_or(Value::Null, Value::Int),
                (UnaryOp::Neg, Value::Float(x)) => finite(-x),
                (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                _ => Value::Null,
            }
        }
        NodeKind::Binary { op, lhs, rhs, .. } => eval_binary(*op, lhs, rhs, env),
        NodeKind::Call { function, args } => eval_call(*function, args, env),
        // Only reachable through `map` / `any` / `all`, which evaluate the body per item.
        NodeKind::Lambda { .. } => Value::Null,
    }
}

/// Three-valued logic: `Some(Some(b))` for a boolean, `Some(None)` for null, `None` for
/// anything else.
fn logical(v: &Value) -> Option<Option<bool>> {
    match v {
        Value::Bool(b) => Some(Some(*b)),
        Value::Null => Some(None),
        _ => None,
    }
}

fn eval_binary(op: BinaryOp, lhs: &Node, rhs: &Node, env: Env<'_>) -> Value {
    let l = eval_node(lhs, env);
    match op {
        BinaryOp::Coalesce => {
            return if l.is_null() { eval_node(rhs, env) } else { l };
        }
        BinaryOp::And if l == Value::Bool(false) => return Value::Bool(false),
        BinaryOp::Or if l == Value::Bool(true) => return Value::Bool(true),
        _ => {}
    }
    let r = eval_node(rhs, env);
    match op {
        BinaryOp::And => match (logical(&l), logical(&r)) {
            (Some(_), Some(Some(false))) => Value::Bool(false),
            (Some(Some(true)), Some(Some(true))) => Value::Bool(true),
            _ => Value::Null,
        },
        BinaryOp::Or => match (logical(&l), logical(&r)) {
            (Some(_), Some(Some(true))) => Value::Bool(true),
            (Some(Some(false)), Some(Some(false))) => Value::Bool(false),
            _ => Value::Null,
        },
        BinaryOp::Eq => Value::Bool(values_equal(&l, &r)),
        BinaryOp::Ne => Value::Bool(!values_equal(&l, &r)),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => match compare(&l, &r) {
            Some(ord) => Value::Bool(match op {
                BinaryOp::Lt => ord.is_lt(),
                BinaryOp::Le => ord.is_le(),
                BinaryOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            }),
            None => Value::Null,
        },
        _ => arithmetic(op, &l, &r),
    }
}

/// A number, for arithmetic.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(v: &Value) -> Option<Num> {
        match *v {
            Value::Int(i) => Some(Num::Int(i)),
            Value::Float(x) => Some(Num::Float(x)),
            _ => None,
        }
    }

    fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(x) => x,
        }
    }
}

/// A float result: non-finite results (overflow, NaN) are `Null`.
fn finite(x: f64) -> Value {
    if x.is_finite() {
        Value::Float(x)
    } else {
        Value::Null
    }
}

fn arithmetic(op: BinaryOp, l: &Value, r: &Value) -> Value {
    let (Some(a), Some(b)) = (Num::of(l), Num::of(r)) else {
        return Value::Null;
    };
    if op == BinaryOp::Div {
        let divisor = b.to_f64();
        return if divisor == 0.0 {
            Value::Null
        } else {
            finite(a.to_f64() / divisor)
        };
    }
    if let (Num::Int(x), Num::Int(y)) = (a, b) {
        let result = match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            BinaryOp::Rem => x.checked_rem(y),
            _ => None,
        };
        return result.map_or(Value::Null, Value::Int);
    }
    let (x, y) = (a.to_f64(), b.to_f64());
    match op {
        BinaryOp::Add => finite(x + y),
        BinaryOp::Sub => finite(x - y),
        BinaryOp::Mul => finite(x * y),
        BinaryOp::Rem if y != 0.0 => finite(x % y),
        _ => Value::Null,
    }
}

/// Exact comparison of an integer with a float (no rounding of the integer).
fn cmp_int_float(i: i128, x: f64) -> Option<Ordering> {
    if x.is_nan() {
        return None;
    }
    if x >= TWO_POW_127 {
        return Some(Ordering::Less);
    }
    if x < -TWO_POW_127 {
        return Some(Ordering::Greater);
    }
    let floor = x.floor();
    // In range, and integral, so the conversion is exact.
    let whole = floor as i128;
    Some(i.cmp(&whole).then(if x > floor {
        Ordering::Less
    } else {
        Ordering::Equal
    }))
}

fn compare_nums(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
    }
}

/// Ordering of two numbers or two strings; `None` for anything else (including null).
fn compare(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        _ => compare_nums(Num::of(l)?, Num::of(r)?),
    }
}

fn values_equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Opaque(a), Value::Opaque(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_equal(x, y))
        }
        _ => match (Num::of(l), Num::of(r)) {
            (Some(a), Some(b)) => compare_nums(a, b) == Some(Ordering::Equal),
            _ => false,
        },
    }
}

/// Rounds with `f` and converts to an integer; `Null` when the result does not fit.
fn to_int(v: &Value, f: fn(f64) -> f64) -> Value {
    match *v {
        Value::Int(i) => Value::Int(i),
        Value::Float(x) => {
            let rounded = f(x);
            if rounded.is_finite() && (-TWO_POW_127..TWO_POW_127).contains(&rounded) {
                Value::Int(rounded as i128)
            } else {
                Value::Null
            }
        }
        _ => Value::Null,
    }
}

fn min_max(a: &Value, b: &Value, want: Ordering) -> Value {
    let (Some(x), Some(y)) = (Num::of(a), Num::of(b)) else {
        return Value::Null;
    };
    let Some(ord) = compare_nums(x, y) else {
        return Value::Null;
    };
    let chosen = if ord == want { x } else { y };
    match (x, y, chosen) {
        (Num::Int(_), Num::Int(_), Num::Int(i)) => Value::Int(i),
        _ => finite(chosen.to_f64()),
    }
}

fn eval_call(function: Function, args: &[Node], env: Env<'_>) -> Value {
    match (function, args) {
        (Function::Abs, [x]) => match eval_node(x, env) {
            Value::Int(i) => i.checked_abs().map_or(Value::Null, Value::Int),
            Value::Float(x) => finite(x.abs()),
            _ => Value::Null,
        },
        (Function::Round, [x]) => to_int(&eval_node(x, env), f64::round),
        (Function::Floor, [x]) => to_int(&eval_node(x, env), f64::floor),
        (Function::Ceil, [x]) => to_int(&eval_node(x, env), f64::ceil),
        (Function::Min, [a, b]) => min_max(&eval_node(a, env), &eval_node(b, env), Ordering::Less),
        (Function::Max, [a, b]) => {
            min_max(&eval_node(a, env), &eval_node(b, env), Ordering::Greater)
        }
        (Function::If, [c, a, b]) => match eval_node(c, env) {
            Value::Bool(true) => eval_node(a, env),
            Value::Bool(false) | Value::Null => eval_node(b, env),
            _ => Value::Null,
        },
        (Function::Coalesce, _) => args
            .iter()
            .map(|arg| eval_node(arg, env))
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
        (Function::U64Le, [bytes, offset]) => {
            u64_le(&eval_node(bytes, env), &eval_node(offset, env))
        }
        (Function::Xor, _) => args
            .iter()
            .try_fold(0i128, |acc, arg| match eval_node(arg, env) {
                Value::Int(i) => Some(acc ^ i),
                _ => None,
            })
            .map_or(Value::Null, Value::Int),
        (Function::ReverseBits, [x]) => match eval_node(x, env) {
            Value::Int(i) => {
                u64::try_from(i).map_or(Value::Null, |u| Value::Int(i128::from(u.reverse_bits())))
            }
            _ => Value::Null,
        },
        (Function::UiAmount, [amount, decimals]) => {
            ui_amount(&eval_node(amount, env), &eval_node(decimals, env))
        }
        (Function::Len, [x]) => match eval_node(x, env) {
            Value::List(items) => Value::Int(items.len() as i128),
            Value::Str(s) => Value::Int(s.chars().count() as i128),
            _ => Value::Null,
        },
        (Function::Map | Function::Any | Function::All, [list, lambda]) => {
            let (Value::List(items), NodeKind::Lambda { param, body }) =
                (eval_node(list, env), &lambda.kind)
            else {
                return Value::Null;
            };
            each_item(function, &items, param, body, env)
        }
        _ => Value::Null,
    }
}

/// Largest number of decimals `ui_amount` accepts (10^38 still converts exactly enough to a
/// float divisor).
const MAX_DECIMALS: i128 = 38;

/// `ui_amount(amount, decimals)`: `amount / 10^decimals` as a float; null for a null operand
/// or decimals outside 0..=38.
fn ui_amount(amount: &Value, decimals: &Value) -> Value {
    let (Value::Int(amount), Value::Int(decimals)) = (amount, decimals) else {
        return Value::Null;
    };
    if !(0..=MAX_DECIMALS).contains(decimals) {
        return Value::Null;
    }
    let divisor = 10f64.powi(*decimals as i32);
    Value::Float(*amount as f64 / divisor)
}

/// `u64_le(bytes, offset)`: the eight list items from `offset`, each a byte, little-endian.
fn u64_le(bytes: &Value, offset: &Value) -> Value {
    let (Value::List(items), Value::Int(offset)) = (bytes, offset) else {
        return Value::Null;
    };
    let Some(window) = usize::try_from(*offset)
        .ok()
        .and_then(|o| items.get(o..o.checked_add(8)?))
    else {
        return Value::Null;
    };
    let mut le = [0u8; 8];
    for (b, item) in le.iter_mut().zip(window) {
        match item {
            Value::Int(i) => match u8::try_from(*i) {
                Ok(byte) => *b = byte,
                Err(_) => return Value::Null,
            },
            _ => return Value::Null,
        }
    }
    Value::Int(i128::from(u64::from_le_bytes(le)))
}

/// The value of `path` inside a lambda whose parameter `param` is bound to `item`.
fn param_value(item: &Value, rest: Option<&str>) -> Option<Value> {
    let Some(rest) = rest else {
        return Some(item.clone());
    };
    let mut json = item.to_json();
    for part in rest.split('.') {
        json = json.get(part)?.clone();
    }
    Some(Value::from_json(&json))
}

/// Applies a lambda to every item: `map` collects the results, `any` / `all` test them (a
/// null result counts as false).
fn each_item(function: Function, items: &[Value], param: &str, body: &Node, env: Env<'_>) -> Value {
    let mut mapped = Vec::new();
    for item in items {
        let inner = |path: &str| -> Option<Value> {
            let (head, rest) = match path.split_once('.') {
                Some((h, r)) => (h, Some(r)),
                None => (path, None),
            };
            if head == param {
                param_value(item, rest)
            } else {
                env(path)
            }
        };
        let result = eval_node(body, &inner);
        match function {
            Function::Any if result == Value::Bool(true) => return Value::Bool(true),
            Function::All if result != Value::Bool(true) => return Value::Bool(false),
            Function::Map => mapped.push(result),
            _ => {}
        }
    }
    match function {
        Function::Any => Value::Bool(false),
        Function::All => Value::Bool(true),
        _ => Value::List(mapped),
    }
}
