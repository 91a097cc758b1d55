//! A 20,000-slot pump replay at realistic size: every view the server serves equals the
//! simulator's own final state, computed by an oracle from the simulator's inputs alone (its
//! curves and its trade log) — with the default bounds, and again with bounds of 10 (a hot
//! set, entity cache and state table far smaller than the data: the answers must not change).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use examples::generator::pump::{Curve, PumpLog, PumpSim, TOTAL_SUPPLY};
use examples::generator::replay::recording;
use hyperstack_sdk::prelude::*;
use hyperstack_sdk::ViewContext;
use hyperstack_server::source::replay::ReplayConfig;
use hyperstack_server::{
    EntityCacheConfig, RunningServer, Server, StateTableConfig, WebSocketConfig,
};
use serde_json::{json, Map, Value};

const SLOTS: u64 = 20_000;
const WAIT: Duration = Duration::from_secs(300);

/// The Token entity as raw JSON.
struct RawToken;

impl Entity for RawToken {
    type Data = Value;
    const NAME: &'static str = "Token";
    const VIEWS: &'static [&'static str] = &["Token/state", "Token/list"];
}

struct RawViews(ViewContext);

impl Views for RawViews {
    type Entity = RawToken;
    fn from_context(ctx: ViewContext) -> Self {
        RawViews(ctx)
    }
}

fn b58(k: &[u8; 32]) -> String {
    bs58::encode(k).into_string()
}

/// The final state of every token, as clients should see it (without `_seq`), by key.
fn oracle(curves: &[Curve], log: &PumpLog) -> BTreeMap<String, Value> {
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
fn same(served: &Value, expected: &Value) -> bool {
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
fn window(curves: &[Curve], log: &PumpLog, n: usize) -> BTreeSet<String> {
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
fn derived(
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

async fn run(cache: EntityCacheConfig, table: StateTableConfig) -> (RunningServer, HyperStack) {
    let (updates, _, _) = PumpSim::new(42, 300_000_000).run_logged(SLOTS);
    // The watching client reads every frame of a replay at full speed: a queue deep enough
    // that it is never dropped for lagging (asserted below).
    let server = Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(WebSocketConfig {
            message_queue_size: 1_000_000,
            ..WebSocketConfig::new("127.0.0.1:0".parse().unwrap())
        })
        .entity_cache_config(cache)
        .state_table_config(table)
        .replay(ReplayConfig::text(recording(&updates)))
        .spawn()
        .await
        .unwrap();
    let hs = HyperStack::builder()
        .url(format!("ws://{}", server.local_addr()))
        .initial_data_timeout(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    (server, hs)
}

async fn check(cache: EntityCacheConfig, table: StateTableConfig) -> RunningServer {
    let (_, curves, log) = PumpSim::new(42, 300_000_000).run_logged(SLOTS);
    let expected = oracle(&curves, &log);
    assert!(expected.len() > 2_000, "{} tokens", expected.len());
    let (server, hs) = run(cache, table).await;
    // Watch the list and append views while the replay runs.
    let mut list = hs.watch::<RawToken>();
    let views = hs.views::<RawViews>();
    let mut append = views.0.list_view::<RawToken>("Token/append").watch();
    let watching = tokio::spawn(async move {
        let (mut deletes, mut last) = (BTreeSet::new(), BTreeMap::new());
        loop {
            tokio::select! {
                u = list.next() => match u {
                    Some(Update::Delete { key }) => { deletes.insert(key); }
                    Some(_) => {}
                    None => return (deletes, last),
                },
                u = append.next() => match u {
                    Some(Update::Upsert { key, data }) => { last.insert(key, data); }
                    Some(_) => {}
                    None => return (deletes, last),
                },
            }
        }
    });
    tokio::time::timeout(WAIT, server.caught_up())
        .await
        .expect("the replay is applied");

    // list: exactly the window of the most recently updated entities, each complete — read
    // by a new subscription, and by the one that watched throughout.
    let window_keys = window(&curves, &log, cache.max_entities_per_view);
    let fresh = HyperStack::connect(format!("ws://{}", server.local_addr()))
        .await
        .unwrap();
    let snapshot: Vec<Value> = fresh.list::<RawToken>().await;
    let listed: Vec<Value> = views.0.list_view::<RawToken>("Token/list").get().await;
    assert_eq!(
        snapshot.len(),
        listed.len(),
        "the watching client's list equals a new snapshot"
    );
    let listed_keys: BTreeSet<String> = listed
        .iter()
        .filter_map(|v| v["mint"].as_str())
        .filter_map(|mint| {
            expected
                .iter()
                .find(|(_, e)| e["mint"] == mint)
                .map(|(k, _)| k.clone())
        })
        .collect();
    assert_eq!(listed_keys, window_keys, "the list holds the window");
    for v in &listed {
        let key = expected
            .iter()
            .find(|(_, e)| e["mint"] == v["mint"])
            .map(|(k, _)| k.clone())
            .unwrap();
        assert!(
            same(v, &expected[&key]),
            "list row {key}: {v} vs {}",
            expected[&key]
        );
    }
    // state: every key the simulator created.
    for (key, want) in &expected {
        let got = hs.try_get::<RawToken>(key).await.unwrap();
        let got = got.unwrap_or_else(|| panic!("{key} is missing"));
        assert!(same(&got, want), "state {key}: {got} vs {want}");
    }
    // trending and latest: filter → sort → limit over every entity.
    let key_of = |v: &Value| {
        expected
            .iter()
            .find(|(_, e)| e["mint"] == v["mint"])
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    };
    let trending: Vec<String> = views
        .0
        .list_view::<RawToken>("Token/trending")
        .get()
        .await
        .iter()
        .map(key_of)
        .collect();
    assert_eq!(trending, derived(&expected, "volume_sol", |_| true));
    let latest: Vec<String> = views
        .0
        .list_view::<RawToken>("Token/latest")
        .get()
        .await
        .iter()
        .map(key_of)
        .collect();
    assert_eq!(
        latest,
        derived(&expected, "created_slot", |v| v["complete"] == false)
    );
    hs.disconnect().await;
    let (deletes, last) = watching.await.unwrap();
    // The list read above came from the store of the watched subscription: its snapshot and
    // every frame since, deletes included. That it equals the window means every entity
    // that left the window while watched was deleted on the client.
    assert!(
        !deletes.is_empty(),
        "entities left the window while watched"
    );
    assert_eq!(
        server.metrics().clients_dropped_lagging(),
        0,
        "the watcher kept up"
    );
    // append: the last frame per key is the final entity.
    assert!(
        last.len() > 1_000,
        "{} keys seen on the append view",
        last.len()
    );
    for (key, v) in &last {
        assert!(
            same(v, &expected[key]),
            "append {key}: {v} vs {}",
            expected[key]
        );
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20000_slot_replay_serves_the_simulators_state_in_every_view() {
    let server = check(EntityCacheConfig::default(), StateTableConfig::default()).await;
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounds_of_ten_give_the_same_answers() {
    let cache = EntityCacheConfig {
        max_entities_per_view: 10,
        ..EntityCacheConfig::default()
    };
    let table = StateTableConfig {
        max_entries: 10,
        ..StateTableConfig::default()
    };
    let server = check(cache, table).await;
    let m = server.metrics();
    for kind in ["entities", "states", "lookups", "accounts"] {
        let n = m.store_hot_records(kind);
        assert!(n <= 10, "{n} {kind} in memory");
    }
    assert!(m.store_disk_reads() > 0, "the bounds were in force");
    server.shutdown(Duration::from_secs(5)).await;
}
