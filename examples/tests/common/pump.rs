//! The pump stack's final state computed by an oracle from the simulator's inputs alone (its
//! curves and its trade log), and how served entities are compared with it: shared by the
//! oracle test (tests/pump_oracle.rs) and the crash test (tests/crash_restart.rs).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use examples::generator::pump::{Curve, PumpLog, TOTAL_SUPPLY};
use hyperstack_sdk::prelude::*;
use hyperstack_sdk::ViewContext;
use serde_json::{json, Map, Value};

/// The Token entity as raw JSON.
pub struct RawToken;

impl Entity for RawToken {
    type Data = Value;
    const NAME: &'static str = "Token";
    const VIEWS: &'static [&'static str] = &["Token/state", "Token/list"];
}

pub struct RawViews(pub ViewContext);

impl Views for RawViews {
    type Entity = RawToken;
    fn from_context(ctx: ViewContext) -> Self {
        RawViews(ctx)
    }
}

pub fn b58(k: &[u8; 32]) -> String {
    bs58::encode(k).into_string()
}

/// The final state of every token, as clients should see it (without `_seq`), by key.
pub fn oracle(curves: &[Curve], log: &PumpLog) -> BTreeMap<String, Value> {
    let mut by_curve: HashMap<usize, Vec<&examples::generator::pump::Trade>> = HashMap::new();
    for t in &log.trades {
        by_curve.entry(t.curve).or_default().push(t);
    }
    let mut out = BTreeMap::new();
    for (i, c) in curves.iter().enumerate() {
        let price = c.virtual_sol as f64 / c.virtual_token as f64;
        let mut e = json!({
            "mint": b58(&c.mint),
            "name": c.name,
            "symbol": c.symbol,
            "creator": b58(&c.creator),
            "created_slot": log.created[i],
            "virtual_sol_reserves": c.virtual_sol,
            "virtual_token_reserves": c.virtual_token,
            "real_sol_reserves": c.real_sol,
            "complete": c.complete,
            "price_sol": price,
            "market_cap_sol": price * TOTAL_SUPPLY as f64 / 1_000_000_000.0,
            "stats": {"real_sol": c.real_sol as f64 / 1e9},
        });
        if let Some(trades) = by_curve.get(&i) {
            let buys = trades.iter().filter(|t| t.is_buy).count();
            let users: BTreeSet<_> = trades.iter().map(|t| t.user).collect();
            let last: Vec<Value> = trades[trades.len().saturating_sub(20)..]
                .iter()
                .map(|t| {
                    json!({
                        "mint": b58(&c.mint), "sol_amount": t.sol, "token_amount": t.tokens,
                        "is_buy": t.is_buy, "user": b58(&t.user), "timestamp": t.timestamp,
                        "virtual_sol_reserves": t.virtual_sol,
                        "virtual_token_reserves": t.virtual_token,
                    })
                })
                .collect();
            let o = e.as_object_mut().unwrap();
            o.insert("trade_count".into(), json!(trades.len()));
            o.insert(
                "volume_sol".into(),
                json!(trades.iter().map(|t| t.sol).sum::<u64>()),
            );
            o.insert(
                "largest_trade_sol".into(),
                json!(trades.iter().map(|t| t.sol).max()),
            );
            o.insert(
                "last_trade_slot".into(),
                json!(trades.last().map(|t| t.slot)),
            );
            o.insert("last_trades".into(), Value::Array(last));
            let stats = o["stats"].as_object_mut().unwrap();
            stats.insert("unique_traders".into(), json!(users.len()));
            // Counts appear with their first instruction.
            let sells = trades.len() - buys;
            if buys > 0 {
                stats.insert("buys".into(), json!(buys));
            }
            if sells > 0 {
                stats.insert("sells".into(), json!(sells));
            }
        }
        out.insert(b58(&c.address), e);
    }
    out
}

/// `served` equals `expected` (floats to 12 significant digits; `_seq` ignored).
pub fn same(served: &Value, expected: &Value) -> bool {
    match (served, expected) {
        (Value::Object(a), Value::Object(b)) => {
            let a: Map<String, Value> = a
                .iter()
                .filter(|(k, _)| k.as_str() != "_seq")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Number(a), Value::Number(b)) if a.is_f64() || b.is_f64() => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (a, b) => a == b,
    }
}

/// Keys of the `n` entities touched last, per the simulator's log.
pub fn window(curves: &[Curve], log: &PumpLog, n: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut out = BTreeSet::new();
    for &i in log.touched.iter().rev() {
        if out.len() == n {
            break;
        }
        if seen.insert(i) {
            out.insert(b58(&curves[i].address));
        }
    }
    out
}

/// The view `filter → sort → limit 50` computed on the oracle's entities.
pub fn derived(
    expected: &BTreeMap<String, Value>,
    sort: &str,
    keep: impl Fn(&Value) -> bool,
) -> Vec<String> {
    let mut rows: Vec<(u64, &String)> = expected
        .iter()
        .filter(|(_, v)| keep(v))
        .map(|(k, v)| (v[sort].as_u64().unwrap_or(0), k))
        .collect();
    // Descending by value, ties by key ascending (the wire order).
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    rows.into_iter().take(50).map(|(_, k)| k.clone()).collect()
}
