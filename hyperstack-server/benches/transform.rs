//! Decode + transform throughput: pump `BondingCurve` account updates (Borsh, 8-byte
//! discriminator, 81 bytes) through the compiled plan, LastWrite mappings, on one core;
//! then the same with the durable store's work: a commit of the changed state every 1,000
//! updates (the engine's `max_batch`) or every 4,000 (its batch while the source is
//! backlogged; with 1,000 curves each is then written once for 4 updates), and with the
//! projection (`Projector::apply`, every pump view, frames encoded) committed too. The stores
//! are fjall data directories on disk (temporary ones), as the engine's.
//!
//! Time is the process's CPU time (every thread: the bench's and the store's flush and
//! compaction workers), so the throughput is per core, and it stays meaningful on a machine
//! shared with other work, where wall-clock time mostly measures the other work.
//!
//! `cargo bench -p hyperstack-server --bench transform`

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hyperstack_server::project::Projector;
use hyperstack_server::source::{AccountUpdate, Commitment, Pubkey, RawUpdate};
use hyperstack_server::spec::{FieldKind, Stack};
use hyperstack_server::{EntityCacheConfig, StateTableConfig, Transformer};

const CURVES: u64 = 1_000;
const BATCH: u64 = 10_000;
const PROGRAM: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";

/// The pump stack with only its LastWrite account mappings (no computed fields).
fn last_write_only() -> Stack {
    let mut stack = pump_stack::spec();
    for e in &mut stack.entities {
        e.fields
            .retain(|f| matches!(f.kind, FieldKind::Mapped { .. }));
        e.computed_order.clear();
    }
    stack
}

/// What happens after the transform.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    /// Nothing (the transform stage alone).
    Nothing,
    /// A commit of the transform's state every so many updates.
    Commit(u64),
    /// The mutations projected into every view (frames encoded), and both committed every
    /// so many updates.
    ProjectAndCommit(u64),
}

/// The engine's default `max_batch`.
const COMMIT_EVERY: u64 = 1_000;

/// The engine's largest batch, while the source is backlogged (4 × `max_batch`).
const COMMIT_EVERY_BACKLOGGED: u64 = 4_000;

/// Feeds `BATCH` updates per iteration; each changes a curve's reserves, with growing
/// slots and write versions so none is dropped as stale.
fn bench_stack(c: &mut Criterion<ProcessCpu>, name: &str, stack: Stack, then: Then) {
    let mut t = Transformer::new(&stack, StateTableConfig::default()).expect("plan");
    let cache = EntityCacheConfig {
        max_entities_per_view: CURVES as usize + 16,
        ..EntityCacheConfig::default()
    };
    let mut p = Projector::new(&stack, cache, StateTableConfig::default());
    let owner: Pubkey = PROGRAM.parse().expect("address");
    let mut data = vec![23, 183, 248, 55, 96, 216, 172, 96];
    data.resize(8 + 5 * 8 + 1 + 32, 0);
    let update = AccountUpdate {
        slot: 0,
        write_version: 0,
        pubkey: Pubkey([0; 32]),
        owner,
        data,
        commitment: Commitment::Confirmed,
        txn_signature: None,
    };
    let mut counter = 0u64;
    let mut out = Vec::with_capacity(16);
    let mut group = c.benchmark_group("decode+transform");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut raw = RawUpdate::Account(update.clone());
            for _ in 0..BATCH {
                counter += 1;
                if let RawUpdate::Account(a) = &mut raw {
                    a.slot = 1 + counter / 50;
                    a.write_version = counter;
                    let curve = counter % CURVES;
                    a.pubkey.0[..8].copy_from_slice(&curve.to_le_bytes());
                    a.data[8..16].copy_from_slice(&(1_000_000_000 - counter).to_le_bytes());
                    a.data[16..24].copy_from_slice(&(30_000_000_000 + counter).to_le_bytes());
                    a.data[32..40].copy_from_slice(&(counter * 3).to_le_bytes());
                }
                t.apply(&raw, &mut out);
                if let Then::ProjectAndCommit(_) = then {
                    for m in &out {
                        let _ = p.apply(m);
                    }
                }
                out.clear();
                match then {
                    Then::Commit(every) if counter.is_multiple_of(every) => {
                        t.commit().expect("commit");
                    }
                    Then::ProjectAndCommit(every) if counter.is_multiple_of(every) => {
                        t.commit().expect("commit");
                        p.commit().expect("commit");
                    }
                    _ => {}
                }
            }
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion<ProcessCpu>) {
    bench_stack(
        c,
        "bonding_curve_last_write",
        last_write_only(),
        Then::Nothing,
    );
    bench_stack(
        c,
        "bonding_curve_pump_stack_with_computed",
        pump_stack::spec(),
        Then::Nothing,
    );
    bench_stack(
        c,
        "bonding_curve_last_write+commit",
        last_write_only(),
        Then::Commit(COMMIT_EVERY),
    );
    bench_stack(
        c,
        "bonding_curve_pump_stack+commit",
        pump_stack::spec(),
        Then::Commit(COMMIT_EVERY),
    );
    bench_stack(
        c,
        "bonding_curve_pump_stack+commit_backlogged",
        pump_stack::spec(),
        Then::Commit(COMMIT_EVERY_BACKLOGGED),
    );
    bench_stack(
        c,
        "bonding_curve_pump_stack+project+commit",
        pump_stack::spec(),
        Then::ProjectAndCommit(COMMIT_EVERY),
    );
}

/// CPU time used by the whole process (all its threads).
struct ProcessCpu;

fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ProcessCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        process_cpu()
    }
    fn end(&self, start: Duration) -> Duration {
        process_cpu().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats CPU nanoseconds (as "cpu ms") and elements per CPU second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for v in values {
            *v /= 1e6;
        }
        "ms (cpu)"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per = match *throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => n,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => n,
        } as f64;
        for v in values {
            *v = per * 1e9 / *v / 1e3;
        }
        "K/cpu-s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

criterion_group! {
    name = transform;
    config = Criterion::default().with_measurement(ProcessCpu).sample_size(20);
    targets = benches
}
criterion_main!(transform);
