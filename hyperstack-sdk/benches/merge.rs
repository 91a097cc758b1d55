//! Store throughput: merging patches into a 20-field entity, applying a 100,000-entity
//! snapshot. Run: `cargo bench -p hyperstack-sdk --bench merge`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hyperstack_sdk::store::ViewStore;
use serde_json::{json, Map, Value};

/// A 20-field entity like a Token: strings, numbers, bools, a small array and an object.
fn entity(i: u64) -> Value {
    let mut m = Map::new();
    for f in 0..12 {
        m.insert(format!("num_{f}"), json!(i * 31 + f));
    }
    for f in 0..4 {
        m.insert(format!("str_{f}"), json!(format!("value-{i}-{f}")));
    }
    m.insert("flag".into(), json!(i.is_multiple_of(2)));
    m.insert("price".into(), json!(i as f64 / 7.0));
    m.insert("recent".into(), json!([1, 2, 3]));
    m.insert("stats".into(), json!({"high": i, "low": 0}));
    Value::Object(m)
}

fn patch_merge(c: &mut Criterion) {
    let mut store = ViewStore::new();
    store.begin_snapshot();
    store.snapshot_batch(vec![("k".to_string(), entity(1))], true, Some(0));
    // Typical trade patch: a few numbers, a float, a nested field.
    let patches: Vec<Value> = (0..64u64)
        .map(|i| json!({"num_0": i, "num_5": i * 3, "price": i as f64 / 3.0, "stats": {"high": i}}))
        .collect();
    let mut g = c.benchmark_group("merge");
    g.throughput(Throughput::Elements(1));
    let mut seq = 1u64;
    g.bench_function("patch_20_field_entity", |b| {
        b.iter(|| {
            seq += 1;
            let p = patches[(seq % 64) as usize].clone();
            black_box(store.patch("k", p, &[], Some(seq), false));
        })
    });
    g.finish();
}

fn snapshot(c: &mut Criterion) {
    let rows: Vec<(String, Value)> = (0..100_000u64)
        .map(|i| (format!("key{i:06}"), entity(i)))
        .collect();
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("apply_100k_entities", |b| {
        b.iter_batched(
            || rows.clone(),
            |rows| {
                let mut store = ViewStore::new();
                store.begin_snapshot();
                let mut it = rows.into_iter().peekable();
                let mut batch_size = 50;
                while it.peek().is_some() {
                    let batch: Vec<_> = it.by_ref().take(batch_size).collect();
                    let complete = it.peek().is_none();
                    black_box(store.snapshot_batch(batch, complete, Some(1)));
                    batch_size = 100;
                }
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = patch_merge, snapshot
}
criterion_main!(benches);
