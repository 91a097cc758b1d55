//! Frame production per view kind: `Projector::apply` of a pump `Token` patch (merge into the
//! entity store, view bookkeeping, JSON encoding of each frame once, gzip when ≥ 1 KiB), on a
//! stack reduced to one view of that kind; snapshot encoding (gzip'd batches) of a list view,
//! fresh and served again from the projector's cache;
//! `EncodedFrame::encode` alone on a small text frame and a gzip'd 100-row batch; and an
//! append view's frame, full against delta (`append_frame`).
//!
//! `cargo bench -p hyperstack-server --bench frames`

#[path = "../tests/common/text.rs"]
mod text;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hyperstack_server::project::{EncodedFrame, Projector};
use hyperstack_server::spec::{Stack, ViewKind};
use hyperstack_server::{EntityCacheConfig, Mutation, StateTableConfig};
use serde_json::{json, Map, Value};
use text::pubkey;

const ENTITIES: usize = 1_000;
const BATCH: u64 = 1_000;

/// Which views (kind, short name) a reduced stack keeps.
type Keep = dyn Fn(&ViewKind, &str) -> bool;

/// The pump stack with only the `Token` views `keep` accepts.
fn stack_with(keep: impl Fn(&ViewKind, &str) -> bool) -> Stack {
    let mut stack = pump_stack::spec();
    for e in &mut stack.entities {
        e.views.retain(|v| keep(&v.kind, &v.name));
    }
    stack
}

fn key(i: usize) -> String {
    format!("Curve{i:0>39}")
}

/// A full Token as the transform emits it on creation (with five recent trades).
fn token(i: usize) -> Map<String, Value> {
    let trades: Vec<Value> = (0..5)
        .map(|t| {
            json!({"mint": key(i), "sol_amount": 1_000_000 + t, "token_amount": 35_000_000_000u64,
            "is_buy": t % 2 == 0, "user": key(t), "timestamp": 1_700_000_000 + t})
        })
        .collect();
    let v = json!({
        "mint": key(i), "name": format!("Token {i}"), "symbol": format!("TK{i}"),
        "creator": key(i + 1), "created_slot": 300_000_000 + i,
        "virtual_sol_reserves": 30_000_000_000u64, "virtual_token_reserves": 1_073_000_000_000_000u64,
        "real_sol_reserves": 0, "token_total_supply": 1_000_000_000_000_000u64, "complete": false,
        "trade_count": 5, "volume_sol": 5_000_010 + i, "largest_trade_sol": 1_000_004,
        "last_trade_slot": 300_000_001 + i, "last_trades": trades,
        "price_sol": 2.795899e-5, "market_cap_sol": 27.95899,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// A projector holding `ENTITIES` tokens.
fn loaded(stack: &Stack, entities: usize) -> Projector {
    let cache = EntityCacheConfig {
        max_entities_per_view: entities + 16,
        ..EntityCacheConfig::default()
    };
    let mut p = Projector::new(stack, cache, StateTableConfig::default());
    for i in 0..entities {
        let m = Mutation::patch("Token", &key(i), token(i)).with_seq(format!("1:{i}"));
        p.apply(&m).expect("known entity");
    }
    p
}

/// A reserves change as a trade's account write produces it.
fn reserves_patch(n: u64) -> Mutation {
    let mut data = Map::new();
    data.insert("virtual_sol_reserves".into(), json!(30_000_000_000 + n));
    data.insert("real_sol_reserves".into(), json!(n));
    data.insert("price_sol".into(), json!(2.8e-5 + n as f64 * 1e-12));
    data.insert("market_cap_sol".into(), json!(28.0 + n as f64 * 1e-6));
    Mutation::patch("Token", &key(n as usize % ENTITIES), data).with_seq(format!("2:{n}"))
}

fn apply_per_view(c: &mut Criterion) {
    let kinds: [(&str, Box<Keep>); 5] = [
        ("state", Box::new(|k, _| matches!(k, ViewKind::State))),
        ("list", Box::new(|k, _| matches!(k, ViewKind::List))),
        ("append", Box::new(|k, _| matches!(k, ViewKind::Append))),
        (
            "derived_trending",
            Box::new(|k, n| matches!(k, ViewKind::Derived(_)) && n == "trending"),
        ),
        ("all_pump_views", Box::new(|_, _| true)),
    ];
    let mut group = c.benchmark_group("project_apply");
    group.throughput(Throughput::Elements(BATCH));
    for (name, keep) in kinds {
        let stack = stack_with(keep);
        let mut p = loaded(&stack, ENTITIES);
        let mut n = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut bytes = 0;
                for _ in 0..BATCH {
                    n += 1;
                    for f in p.apply(&reserves_patch(n)).expect("known") {
                        bytes += f.frame.payload.len();
                    }
                }
                bytes
            })
        });
    }
    group.finish();
}

fn snapshots(c: &mut Criterion) {
    let stack = stack_with(|k, _| matches!(k, ViewKind::List));
    let mut group = c.benchmark_group("snapshot_list");
    group.sample_size(10);
    for rows in [1_000usize, 10_000] {
        let mut p = loaded(&stack, rows);
        let view = p.view_id("Token/list").expect("list view");
        group.throughput(Throughput::Elements(rows as u64));
        // Every call reads the rows from the store and serializes and gzips them.
        group.bench_with_input(BenchmarkId::new("encode", rows), &rows, |b, _| {
            b.iter(|| p.snapshot(view, None, 0, None).map_or(0, |f| f.len()))
        });
    }
    group.finish();
}

/// The floor of a 100k-row snapshot: its 1,000 batches (first 50 rows, then 100) as JSON
/// alone, then gzip (level 1, as frames use) of that JSON alone, then both as
/// `EncodedFrame::encode` does them. No store read, no entity parse.
fn snapshot_floor(c: &mut Criterion) {
    const ROWS: usize = 100_000;
    let batches: Vec<Value> = std::iter::once(0..50)
        .chain((50..ROWS).step_by(100).map(|s| s..(s + 100).min(ROWS)))
        .map(|r| {
            let rows: Vec<Value> = r
                .map(|i| json!({"key": key(i), "data": Value::Object(token(i))}))
                .collect();
            json!({"mode": "list", "entity": "Token/list", "op": "snapshot", "data": rows,
                "complete": false, "seq": "17"})
        })
        .collect();
    let json: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| serde_json::to_vec(b).expect("json"))
        .collect();
    let mut group = c.benchmark_group("snapshot_floor_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("json", |b| {
        b.iter(|| {
            batches
                .iter()
                .map(|v| serde_json::to_vec(v).map_or(0, |j| j.len()))
                .sum::<usize>()
        })
    });
    group.bench_function("gzip_fast", |b| {
        b.iter(|| {
            json.iter()
                .map(|j| {
                    use std::io::Write;
                    let mut gz = flate2::write::GzEncoder::new(
                        Vec::with_capacity(j.len() / 4),
                        flate2::Compression::fast(),
                    );
                    let _ = gz.write_all(j);
                    gz.finish().map_or(0, |z| z.len())
                })
                .sum::<usize>()
        })
    });
    group.bench_function("encoded_frame", |b| {
        b.iter(|| {
            batches
                .iter()
                .map(|v| EncodedFrame::encode(v).payload.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let small = json!({"mode": "list", "entity": "Token/list", "op": "patch", "key": key(1),
        "data": {"virtual_sol_reserves": 30_000_000_001u64, "price_sol": 2.8e-5, "_seq": "2:1"},
        "seq": "17"});
    let rows: Vec<Value> = (0..100)
        .map(|i| json!({"key": key(i), "data": Value::Object(token(i))}))
        .collect();
    let batch = json!({"mode": "list", "entity": "Token/list", "op": "snapshot", "data": rows,
        "complete": false, "seq": "17"});
    let mut group = c.benchmark_group("encoded_frame");
    for (name, v) in [("patch_text", &small), ("snapshot_100_rows_gzip", &batch)] {
        let len = serde_json::to_vec(v).expect("json").len();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(name, |b| b.iter(|| EncodedFrame::encode(v).payload.len()));
    }
    group.finish();
}

/// One pump `TradeEvent` as the append field keeps it.
fn trade_item(n: u64) -> Value {
    json!({"mint": pubkey(1), "sol_amount": 1_000_000 + n, "token_amount": 35_000_000_000u64 + n,
        "is_buy": !n.is_multiple_of(3), "user": pubkey(n + 100), "timestamp": 1_700_000_000 + n,
        "virtual_sol_reserves": 30_000_000_000u64 + n,
        "virtual_token_reserves": 1_073_000_000_000_000u64 - n})
}

/// A trade's change of a token: one trade appended (`last_trades`, cap 20), reserves, counters.
fn trade_patch(n: u64) -> Mutation {
    let mut data = Map::new();
    data.insert("last_trades".into(), json!([trade_item(n)]));
    data.insert("virtual_sol_reserves".into(), json!(30_000_000_000 + n));
    data.insert("trade_count".into(), json!(n));
    data.insert("volume_sol".into(), json!(5_000_000 + n * 1_000));
    data.insert("last_trade_slot".into(), json!(300_000_000 + n));
    data.insert("price_sol".into(), json!(2.8e-5 + n as f64 * 1e-12));
    Mutation::patch("Token", &key(n as usize % 16), data)
        .with_append(&["last_trades"])
        .with_seq(format!("3:{n}"))
}

/// An append view's frame for a pump token with its 20 last trades: the full `upsert` every
/// client got before deltas (JSON + gzip) against the `patch` of one trade (what a delta
/// subscription gets); and `Projector::apply` on a stack with only the append view, which now
/// encodes both for every change of an existing entity.
fn append_deltas(c: &mut Criterion) {
    let stack = stack_with(|k, _| matches!(k, ViewKind::Append));
    let mut p = loaded(&stack, 16);
    let mut n = 0u64;
    // Fill every token's last_trades to the cap.
    for _ in 0..16 * 20 {
        n += 1;
        p.apply(&trade_patch(n)).expect("known");
    }
    n += 1;
    let out = p.apply(&trade_patch(n)).expect("known");
    let (full, delta) = (
        out[0].frame.json().expect("full"),
        out[0]
            .delta
            .as_ref()
            .expect("a delta")
            .json()
            .expect("delta"),
    );
    let mut group = c.benchmark_group("append_frame");
    for (name, v) in [("full_upsert", &full), ("delta_patch", &delta)] {
        let len = serde_json::to_vec(v).expect("json").len();
        let sent = EncodedFrame::encode(v).payload.len();
        println!("append_frame/{name}: {len} bytes of JSON, {sent} bytes sent");
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| b.iter(|| EncodedFrame::encode(v).payload.len()));
    }
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("apply_trade_both_encodings", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for _ in 0..BATCH {
                n += 1;
                for f in p.apply(&trade_patch(n)).expect("known") {
                    bytes += f.frame.payload.len() + f.delta.map_or(0, |d| d.payload.len());
                }
            }
            bytes
        })
    });
    group.finish();
}

criterion_group! {
    name = frames;
    config = Criterion::default().sample_size(20);
    targets = apply_per_view, snapshots, snapshot_floor, encode, append_deltas
}
criterion_main!(frames);
