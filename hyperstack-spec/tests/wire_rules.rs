//! Property tests of the wire rules against naive models written here, independently of
//! `hyperstack_spec::wire`:
//!
//! - merge: a full entity changed by path-level operations (set a field, append items, reset
//!   an append field). Each batch of operations is also sent as the patch the server would
//!   send; merging every patch into the first state must give the model's state, always.
//! - order: every value mapped to (class, exact decimal expansion / text / bool), compared
//!   naively; the wire comparator and `(Rank, key)` must agree with it on every pair.
//!
//! A small seeded generator keeps the runs reproducible (the seed is in every failure).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use hyperstack_spec::wire::{compare, merge, merge_value, AppendCaps, Rank};
use hyperstack_spec::SortOrder;
use serde_json::{json, Map, Value};

/// splitmix64: small, seeded, good enough to explore shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// Merge.

/// Plain fields (may hold anything but an object of their own).
const FIELDS: &[&str] = &["a", "b", "o.x", "o.y", "o.p.z", "q"];
/// Append fields and their caps; `u` has none (the default applies).
const APPENDS: &[(&str, Option<usize>)] = &[("t", Some(3)), ("o.h", Some(2)), ("u", None)];
const DEFAULT_CAP: usize = 4;

fn caps() -> AppendCaps {
    APPENDS.iter().fold(
        AppendCaps::new(DEFAULT_CAP),
        |caps, (path, cap)| match cap {
            Some(c) => caps.with_path(*path, *c),
            None => caps,
        },
    )
}

fn cap_of(path: &str) -> usize {
    APPENDS
        .iter()
        .find(|(p, _)| *p == path)
        .and_then(|(_, c)| *c)
        .unwrap_or(DEFAULT_CAP)
}

/// One change of the full entity.
#[derive(Debug, Clone)]
enum Op {
    /// The field now holds `value` (never an object).
    Set(&'static str, Value),
    /// Items appended to an append field; `bare` sends a single item without its array.
    Append(&'static str, Vec<Value>, bool),
    /// An append field reset to null.
    Reset(&'static str),
}

impl Op {
    fn path(&self) -> &'static str {
        match self {
            Op::Set(p, _) | Op::Append(p, _, _) | Op::Reset(p) => p,
        }
    }
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(rng.below(1000)),
        1 => json!(format!("s{}", rng.below(50))),
        2 => json!(rng.chance(50)),
        3 => Value::Null,
        4 => json!((rng.next() >> 11) as f64 / 1024.0),
        5 => json!(u64::MAX - rng.below(3) as u64),
        6 => json!(format!("{}", u128::MAX - rng.below(5) as u128)),
        _ => json!(-(rng.below(1000) as i64)),
    }
}

/// Any value, objects and arrays included (as items of arrays).
fn item(rng: &mut Rng, depth: usize) -> Value {
    if depth == 0 || rng.chance(60) {
        return scalar(rng);
    }
    if rng.chance(50) {
        Value::Array((0..rng.below(3)).map(|_| item(rng, depth - 1)).collect())
    } else {
        let mut m = Map::new();
        for _ in 0..rng.below(3) {
            m.insert(format!("k{}", rng.below(4)), item(rng, depth - 1));
        }
        Value::Object(m)
    }
}

/// A value a plain field is set to: a scalar, null, or an array (arrays replace).
fn field_value(rng: &mut Rng) -> Value {
    if rng.chance(25) {
        Value::Array((0..rng.below(4)).map(|_| item(rng, 2)).collect())
    } else {
        scalar(rng)
    }
}

fn random_op(rng: &mut Rng) -> Op {
    match rng.below(10) {
        0..=4 => Op::Set(rng.pick(FIELDS), field_value(rng)),
        // An append field set while not listed in the frame's `append`: replaced.
        5 => Op::Set(rng.pick(APPENDS).0, field_value(rng)),
        6 => Op::Reset(rng.pick(APPENDS).0),
        _ => {
            let path = rng.pick(APPENDS).0;
            let items: Vec<Value> = (0..rng.below(6)).map(|_| item(rng, 2)).collect();
            let bare =
                items.len() == 1 && !items[0].is_array() && !items[0].is_null() && rng.chance(50);
            Op::Append(path, items, bare)
        }
    }
}

fn related(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}.")) || b.starts_with(&format!("{a}."))
}

/// The object holding the last segment of `path`, objects made along the way (a non-object
/// in the way is replaced, as the new value of a field inside it implies).
fn parent_of<'a>(state: &'a mut Value, path: &'a str) -> (&'a mut Map<String, Value>, &'a str) {
    let mut segments: Vec<&str> = path.split('.').collect();
    let last = segments.pop().expect("non-empty path");
    let mut cur = state;
    for seg in segments {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .expect("object")
            .entry(seg.to_string())
            .or_insert(Value::Null);
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    (cur.as_object_mut().expect("object"), last)
}

/// The naive model: what the full entity is after `op`.
fn model_apply(state: &mut Value, op: &Op) {
    match op {
        Op::Set(path, v) => {
            let (parent, last) = parent_of(state, path);
            parent.insert(last.to_string(), v.clone());
        }
        Op::Reset(path) => {
            let (parent, last) = parent_of(state, path);
            parent.insert(last.to_string(), Value::Null);
        }
        Op::Append(path, items, _) => {
            let (parent, last) = parent_of(state, path);
            let mut list = match parent.get(last) {
                Some(Value::Array(old)) => old.clone(),
                _ => Vec::new(),
            };
            list.extend(items.iter().cloned());
            while list.len() > cap_of(path) {
                list.remove(0);
            }
            parent.insert(last.to_string(), Value::Array(list));
        }
    }
}

/// The patch a server sends for a batch of unrelated operations, and its `append` list.
fn patch_of(ops: &[Op], rng: &mut Rng) -> (Value, Vec<String>) {
    let mut patch = json!({});
    let mut append = Vec::new();
    for op in ops {
        let value = match op {
            Op::Set(_, v) => v.clone(),
            Op::Reset(_) => Value::Null,
            Op::Append(_, items, true) => items[0].clone(),
            Op::Append(_, items, false) => Value::Array(items.clone()),
        };
        let (parent, last) = parent_of(&mut patch, op.path());
        parent.insert(last.to_string(), value);
        // Appends are listed; a reset may be listed or not (null resets either way).
        if matches!(op, Op::Append(..)) || (matches!(op, Op::Reset(_)) && rng.chance(50)) {
            append.push(op.path().to_string());
        }
    }
    // Append paths absent from the patch may be listed too: they change nothing.
    if rng.chance(20) {
        let extra = rng.pick(APPENDS).0;
        if !ops.iter().any(|op| related(op.path(), extra)) {
            append.push(extra.to_string());
        }
    }
    (patch, append)
}

fn batch(rng: &mut Rng) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let op = random_op(rng);
        if ops.iter().all(|o| !related(o.path(), op.path())) {
            ops.push(op);
        }
    }
    ops
}

#[test]
fn merging_patches_equals_the_full_state_model() {
    let caps = caps();
    for seed in 0..400u64 {
        let mut rng = Rng(seed);
        // The state when the client subscribed: anything the operations can produce,
        // including non-arrays at append paths and arrays longer than their caps.
        let mut model = json!({});
        for _ in 0..rng.below(8) {
            match rng.below(3) {
                0 => {
                    let path = rng.pick(APPENDS).0;
                    let long: Vec<Value> = (0..rng.below(8)).map(|i| json!(i)).collect();
                    let (parent, last) = parent_of(&mut model, path);
                    parent.insert(last.to_string(), Value::Array(long));
                }
                _ => model_apply(&mut model, &random_op(&mut rng)),
            }
        }
        let mut as_value = model.clone();
        let mut as_map = model.as_object().cloned().expect("object");
        for step in 0..40 {
            let ops = batch(&mut rng);
            let (patch, append) = patch_of(&ops, &mut rng);
            for op in &ops {
                model_apply(&mut model, op);
            }
            merge_value(&mut as_value, &patch, &append, &caps);
            merge(
                &mut as_map,
                patch.as_object().expect("object"),
                &append,
                &caps,
            );
            assert_eq!(
                as_value, model,
                "seed {seed} step {step}: ops {ops:?}\npatch {patch} append {append:?}"
            );
            assert_eq!(
                Value::Object(as_map.clone()),
                model,
                "seed {seed} step {step}"
            );
        }
    }
}

#[test]
fn appended_arrays_stay_within_their_caps() {
    let caps = caps();
    let mut rng = Rng(7);
    let mut entity = json!({});
    for _ in 0..5_000 {
        let path = rng.pick(APPENDS).0;
        let items: Vec<Value> = (0..rng.below(7)).map(|_| scalar(&mut rng)).collect();
        let (patch, _) = patch_of(&[Op::Append(path, items, false)], &mut rng);
        merge_value(&mut entity, &patch, &[path], &caps);
    }
    assert_eq!(entity["t"].as_array().map(Vec::len), Some(3));
    assert_eq!(entity["o"]["h"].as_array().map(Vec::len), Some(2));
    assert_eq!(entity["u"].as_array().map(Vec::len), Some(DEFAULT_CAP));
}

// ---------------------------------------------------------------------------------------------
// Order.

/// An exact decimal: sign, integer digits (no leading zeros), fraction digits (no trailing).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

impl Decimal {
    /// Parses `-?digits(.digits)?` (what `{:.N}` prints and what digit strings are).
    fn parse(s: &str) -> Decimal {
        let (negative, rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
        let int = int.trim_start_matches('0').to_string();
        let frac = frac.trim_end_matches('0').to_string();
        let zero = int.is_empty() && frac.is_empty();
        Decimal {
            negative: negative && !zero,
            int,
            frac,
        }
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        (self.int.len(), &self.int, &self.frac).cmp(&(other.int.len(), &other.int, &other.frac))
    }

    fn cmp_exact(&self, other: &Decimal) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

/// The naive view of a sort value.
#[derive(Debug, Clone)]
enum Naive {
    Number(Decimal),
    Text(String),
    Flag(bool),
    Missing,
}

fn naive(v: Option<&Value>) -> Naive {
    match v {
        Some(Value::Number(n)) => Naive::Number(match n.as_f64() {
            _ if n.is_i64() || n.is_u64() => Decimal::parse(&n.to_string()),
            // Every f64 has a finite decimal expansion of at most 1074 fraction digits.
            Some(f) => Decimal::parse(&format!("{f:.1100}")),
            None => unreachable!("serde_json numbers are i64, u64 or f64"),
        }),
        Some(Value::String(s)) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Naive::Number(Decimal::parse(s))
            } else {
                Naive::Text(s.clone())
            }
        }
        Some(Value::Bool(b)) => Naive::Flag(*b),
        _ => Naive::Missing,
    }
}

fn naive_cmp(order: SortOrder, a: (&Naive, &str), b: (&Naive, &str)) -> Ordering {
    let class = |n: &Naive| match n {
        Naive::Number(_) => 0,
        Naive::Text(_) => 1,
        Naive::Flag(_) => 2,
        Naive::Missing => 3,
    };
    let by_value = match (a.0, b.0) {
        (Naive::Missing, Naive::Missing) => Ordering::Equal,
        (Naive::Missing, _) => Ordering::Greater,
        (_, Naive::Missing) => Ordering::Less,
        (x, y) => {
            let asc = match (x, y) {
                (Naive::Number(p), Naive::Number(q)) => p.cmp_exact(q),
                (Naive::Text(p), Naive::Text(q)) => p.as_bytes().cmp(q.as_bytes()),
                (Naive::Flag(p), Naive::Flag(q)) => p.cmp(q),
                _ => class(x).cmp(&class(y)),
            };
            match order {
                SortOrder::Asc => asc,
                SortOrder::Desc => asc.reverse(),
            }
        }
    };
    by_value.then_with(|| a.1.cmp(b.1))
}

const TWO_53: u64 = 1 << 53;

/// Values near the hard edges: 2^53, u64, i128 and 2^127, floats of every size, digit strings
/// with leading zeros, non-digit strings, booleans, and the missing kinds.
fn sort_value(rng: &mut Rng) -> Option<Value> {
    let near = |rng: &mut Rng, base: u64| base - 3 + rng.below(7) as u64;
    Some(match rng.below(20) {
        0 => return None,
        1 => Value::Null,
        2 => json!([rng.below(3)]),
        3 => json!({"v": 1}),
        4 => json!(near(rng, TWO_53)),
        5 => json!(near(rng, TWO_53).to_string()),
        6 => json!(near(rng, TWO_53) as f64 + if rng.chance(50) { 0.5 } else { 0.0 }),
        7 => json!(u64::MAX - rng.below(3) as u64),
        8 => json!((u64::MAX - rng.below(3) as u64).to_string()),
        9 => json!((u128::MAX - rng.below(3) as u128).to_string()),
        10 => json!(format!("-{}", u128::MAX - rng.below(3) as u128)),
        11 => {
            // i128::MAX - 1 ..= 2^127 + 1, either sign.
            let n = u128::try_from(i128::MAX).unwrap_or_default() - 1 + rng.below(4) as u128;
            json!(format!("{}{n}", if rng.chance(50) { "-" } else { "" }))
        }
        // ±2^127 (the edge of i128), 2^128 (beyond u128), and far beyond.
        12 => json!(rng.pick(&[
            2f64.powi(127),
            -(2f64.powi(127)),
            2f64.powi(128),
            1e300,
            -1e300
        ])),
        13 => {
            let f = f64::from_bits(rng.next());
            if f.is_finite() {
                json!(f)
            } else {
                json!(0.0)
            }
        }
        14 => json!(rng.pick(&["007", "7", "-0", "0", "-7", "000"])),
        15 => json!(rng.pick(&[-0.0, 0.0, 7.0, -7.0, 0.5, -0.5])),
        16 => json!(rng.pick(&["abc", "12a", "", "-", "Zeta", "zeta", "1.5", "é"])),
        17 => json!(rng.chance(50)),
        18 => json!(rng.below(100) as i64 - 50),
        _ => json!(i64::MIN + rng.below(3) as i64),
    })
}

#[test]
fn view_order_is_the_naive_exact_order() {
    for seed in 0..60u64 {
        let mut rng = Rng(1_000 + seed);
        let rows: Vec<(Option<Value>, String)> = (0..60)
            .map(|i| (sort_value(&mut rng), format!("k{:02}", (i * 37) % 60)))
            .collect();
        let naives: Vec<Naive> = rows.iter().map(|(v, _)| naive(v.as_ref())).collect();
        for order in [SortOrder::Asc, SortOrder::Desc] {
            // Every pair, both ways.
            for (i, (va, ka)) in rows.iter().enumerate() {
                for (j, (vb, kb)) in rows.iter().enumerate() {
                    let wire = compare(order, (va.as_ref(), ka), (vb.as_ref(), kb));
                    let expected = naive_cmp(order, (&naives[i], ka), (&naives[j], kb));
                    assert_eq!(
                        wire, expected,
                        "seed {seed} {order:?}: {va:?}/{ka} vs {vb:?}/{kb}"
                    );
                }
            }
            // The sorted view, by the comparator and as a BTreeSet of ranks.
            let mut by_compare: Vec<usize> = (0..rows.len()).collect();
            by_compare.sort_by(|&i, &j| {
                compare(
                    order,
                    (rows[i].0.as_ref(), &rows[i].1),
                    (rows[j].0.as_ref(), &rows[j].1),
                )
            });
            let mut by_naive: Vec<usize> = (0..rows.len()).collect();
            by_naive.sort_by(|&i, &j| {
                naive_cmp(order, (&naives[i], &rows[i].1), (&naives[j], &rows[j].1))
            });
            let set: BTreeSet<(Rank, &str, usize)> = rows
                .iter()
                .enumerate()
                .map(|(i, (v, k))| (Rank::new(v.as_ref(), order), k.as_str(), i))
                .collect();
            let by_rank: Vec<usize> = set.iter().map(|(_, _, i)| *i).collect();
            assert_eq!(by_compare, by_naive, "seed {seed} {order:?}");
            assert_eq!(by_rank, by_naive, "seed {seed} {order:?}");
        }
    }
}

#[test]
fn sorted_view_with_nulls_mixed_types_and_big_integers() {
    let rows = [
        ("a", json!(null)),
        ("b", json!("9007199254740993")),
        ("c", json!(9007199254740992u64)),
        ("d", json!(9007199254740992.0)),
        ("e", json!("18446744073709551615")),
        ("f", json!("abc")),
        ("g", json!(true)),
        ("h", json!(1.5)),
        ("i", json!([1, 2])),
        ("j", json!("18446744073709551614")),
        ("k", json!(-3)),
    ];
    let sorted = |order| {
        let mut keys: Vec<&str> = rows.iter().map(|(k, _)| *k).collect();
        let value = |k: &str| rows.iter().find(|(r, _)| *r == k).map(|(_, v)| v);
        keys.sort_by(|a, b| compare(order, (value(a), a), (value(b), b)));
        keys
    };
    // c and d are equal (2^53): ties by key.
    assert_eq!(
        sorted(SortOrder::Asc),
        ["k", "h", "c", "d", "b", "j", "e", "f", "g", "a", "i"]
    );
    assert_eq!(
        sorted(SortOrder::Desc),
        ["g", "f", "e", "j", "b", "c", "d", "h", "k", "a", "i"]
    );
}
