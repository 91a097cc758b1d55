//! Crash and restart, as processes: the example pump server replays a run on a data directory
//! and is killed with SIGKILL at seeded points of its progress — and once aborts itself
//! between a store batch's writes and its commit (failpoint `engine.commit=n*abort`) — then
//! restarts on the same data directory, each time, until the replay ends.
//!
//! Compared with an uninterrupted run of the same data (and with the oracle computed from the
//! simulator's own log):
//!
//! * the final state: every token in the state view, the list view, the derived views
//!   (trending, latest) and the last frame of every key in the append view;
//! * what an SDK consumer connected throughout sees (it reconnects across the restarts and
//!   resumes with its `after` cursor). **Same sequence** means: per view (list, trending,
//!   append) and per entity key, the ordered list of updates the consumer's `watch` stream
//!   yields — kind (upsert, patch, delete) and the whole merged entity after it, `_seq`
//!   included — is identical. That is the order the protocol promises (a view's frames are
//!   ordered; a consumer acts per key), and it says nothing is missing (a shorter list),
//!   nothing is seen twice (a longer one) and nothing regenerated differs (an unequal item).
//!   Both consumers subscribe before the first update is applied (the source is held back at
//!   start by the `ingest.source` failpoint, and the test checks nothing was ingested), so
//!   both start from an empty snapshot.
//!
//! After every restart the first `/ready` answer is 503 with the catch-up reason: the
//! restarted server's source is held back a second (`ingest.source=sleep`) so that is not a
//! race.
//!
//! The kill points are drawn from a seed (`HYPERSTACK_CRASH_SEED`, printed) between 10% and
//! 90% of the run; progress is read from `/metrics` (updates applied by the process, plus the
//! checkpoint it resumed after, from its log).

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use common::durable::{Node, Run};
use common::http;
use common::pump::{derived, oracle, same, window, RawToken, RawViews};
use examples::generator::pump::PumpSim;
use examples::generator::Simulation;
use hyperstack_sdk::prelude::*;
use hyperstack_server::EntityCacheConfig;
use serde_json::Value;

const RUN: Run = Run {
    seed: 42,
    slots: 400,
    speed: 100,
};
const START_SLOT: u64 = 300_000_000;
/// Holds the source back at start so that the consumer subscribes before any update.
const HOLD_SOURCE: &str = "ingest.source=sleep(1500)";
/// Holds a restarted server's source back a moment, so that `/ready` is seen catching up
/// (rather than racing the first update after the checkpoint).
const SLOW_CATCH_UP: &str = "ingest.source=sleep(1000)";
const WAIT: Duration = Duration::from_secs(60);

/// The per-view, per-key sequences a consumer saw.
type Seen = BTreeMap<&'static str, BTreeMap<String, Vec<Update<Value>>>>;

/// An SDK client watching the list, trending and append views.
struct Consumer {
    hs: HyperStack,
    task: tokio::task::JoinHandle<Seen>,
}

impl Consumer {
    async fn connect(url: &str) -> Consumer {
        let hs = HyperStack::builder()
            .url(url)
            // Restarts take a moment: retry quickly.
            .reconnect_intervals(vec![Duration::from_millis(50), Duration::from_millis(200)])
            .initial_data_timeout(Duration::from_secs(30))
            .connect()
            .await
            .expect("connect");
        let views = hs.views::<RawViews>();
        let mut list = hs.watch::<RawToken>();
        let mut trending = views.0.list_view::<RawToken>("Token/trending").watch();
        let mut append = views.0.list_view::<RawToken>("Token/append").watch();
        let task = tokio::spawn(async move {
            let mut seen = Seen::new();
            let mut record = |view: &'static str, u: Update<Value>| {
                seen.entry(view)
                    .or_default()
                    .entry(u.key().to_string())
                    .or_default()
                    .push(u);
            };
            loop {
                tokio::select! {
                    u = list.next() => match u { Some(u) => record("list", u), None => break },
                    u = trending.next() => match u { Some(u) => record("trending", u), None => break },
                    u = append.next() => match u { Some(u) => record("append", u), None => break },
                }
            }
            seen
        });
        // Every watched view is subscribed and loaded.
        hs.list::<RawToken>().await;
        views.0.list_view::<RawToken>("Token/trending").get().await;
        views.0.list_view::<RawToken>("Token/append").get().await;
        Consumer { hs, task }
    }

    /// Everything the consumer saw, once the server published its last frame. A new
    /// subscription on the same connection is answered after every frame published before
    /// it (the engine answers it after its last commit, the bus keeps the order): its answer
    /// is the barrier. It must reach the server: the SDK answers a key its list view holds
    /// locally (possibly while the append view's resume frames are still on their way after a
    /// reconnect), so the barrier asks for a key no view holds.
    async fn finish(self, any_key: &str) -> Seen {
        let barrier = format!("{any_key}-barrier");
        let none = self
            .hs
            .try_get::<RawToken>(&barrier)
            .await
            .expect("the barrier subscription");
        assert!(none.is_none(), "no such token");
        self.hs.disconnect().await;
        self.task.await.expect("the consumer task")
    }
}

/// What a fresh client reads of every view at the end.
#[derive(Debug, PartialEq)]
struct Final {
    state: BTreeMap<String, Value>,
    list: Vec<Value>,
    trending: Vec<Value>,
    latest: Vec<Value>,
}

async fn read_final(url: &str, keys: impl Iterator<Item = &String>) -> Final {
    let hs = HyperStack::builder()
        .url(url)
        .initial_data_timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("connect");
    let views = hs.views::<RawViews>();
    let mut state = BTreeMap::new();
    for key in keys {
        let v = hs.try_get::<RawToken>(key).await.expect("state view");
        state.insert(key.clone(), v.unwrap_or_else(|| panic!("{key} missing")));
    }
    let out = Final {
        state,
        list: hs.list::<RawToken>().await,
        trending: views.0.list_view::<RawToken>("Token/trending").get().await,
        latest: views.0.list_view::<RawToken>("Token/latest").get().await,
    };
    hs.disconnect().await;
    out
}

/// Blocks the calling worker on a child process without starving the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Polls `/metrics` until the run reached `target` updates (or the process ended).
fn wait_progress(node: &Node, target: u64) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let at = node.resumed_at + node.ingested();
        if at >= target {
            return at;
        }
        assert!(Instant::now() < deadline, "stuck at {at} of {target}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The first `/ready` answer of a restarted server: 503, catching up.
fn assert_catching_up(node: &Node) {
    let (status, body) = http::get(node.http, "/ready");
    assert_eq!(status, 503, "the first /ready after a restart: {body}");
    assert!(body.contains("catching up"), "the reason is given: {body}");
}

/// A deterministic generator for the kill points (splitmix64).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Three kill points in [10%, 90%] of `total`, at least 10% apart, ascending; and which one
/// is the failpoint's abort.
fn kill_points(seed: u64, total: u64) -> (Vec<u64>, usize) {
    let mut s = seed;
    loop {
        let mut f: Vec<u64> = (0..3).map(|_| 10 + next(&mut s) % 81).collect();
        f.sort_unstable();
        if f.windows(2).all(|w| w[1] - w[0] >= 10) {
            let points = f.iter().map(|p| total * p / 100).collect();
            return (points, (next(&mut s) % 3) as usize);
        }
    }
}

fn first_difference(a: &Seen, b: &Seen) -> String {
    for (view, keys) in a {
        let Some(other) = b.get(view) else {
            return format!("view {view} not seen by the crashed run's consumer");
        };
        for (key, ua) in keys {
            let ub = other.get(key).map(Vec::as_slice).unwrap_or_default();
            if ua.as_slice() != ub {
                let i = ua.iter().zip(ub).take_while(|(x, y)| x == y).count();
                return format!(
                    "{view} {key}: {} updates uninterrupted vs {} across crashes; first difference at #{i}: {:?} vs {:?}",
                    ua.len(),
                    ub.len(),
                    ua.get(i),
                    ub.get(i)
                );
            }
        }
        if let Some(extra) = other.keys().find(|k| !keys.contains_key(*k)) {
            return format!(
                "{view} {extra}: seen only across crashes: {:?}",
                other[extra]
            );
        }
    }
    "none".into()
}

fn assert_matches_oracle(
    f: &Final,
    expected: &BTreeMap<String, Value>,
    keys_of: &dyn Fn(&[Value]) -> Vec<String>,
    window_keys: Vec<String>,
) {
    for (key, want) in expected {
        assert!(
            same(&f.state[key], want),
            "state {key}: {} vs {want}",
            f.state[key]
        );
    }
    let mut listed = keys_of(&f.list);
    listed.sort();
    assert_eq!(listed, window_keys, "the list holds the window");
    assert_eq!(
        keys_of(&f.trending),
        derived(expected, "volume_sol", |_| true)
    );
    assert_eq!(
        keys_of(&f.latest),
        derived(expected, "created_slot", |v| v["complete"] == false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_restart_serve_the_same_state_and_the_same_updates() {
    let seed = std::env::var("HYPERSTACK_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let total = Simulation::Pump
        .updates(RUN.seed, START_SLOT, RUN.slots)
        .len() as u64;
    let (points, abort_at) = kill_points(seed, total);
    println!("HYPERSTACK_CRASH_SEED={seed}: {total} updates, kills at {points:?}, the #{abort_at} by the engine.commit failpoint");
    let (_, curves, log) = PumpSim::new(RUN.seed, START_SLOT).run_logged(RUN.slots);
    let expected = oracle(&curves, &log);
    let mint_to_key: BTreeMap<String, String> = expected
        .iter()
        .map(|(k, v)| {
            (
                v["mint"].as_str().unwrap_or_default().to_string(),
                k.clone(),
            )
        })
        .collect();
    let keys_of = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|v| mint_to_key[v["mint"].as_str().expect("a mint")].clone())
            .collect()
    };
    let any_key = expected.keys().next().expect("tokens").clone();
    let window_keys: Vec<String> = window(
        &curves,
        &log,
        EntityCacheConfig::default().max_entities_per_view,
    )
    .into_iter()
    .collect();

    // The uninterrupted run.
    let dir = tempfile::tempdir().expect("data dir");
    let started = Instant::now();
    let node = blocking(|| Node::start(RUN, dir.path(), "127.0.0.1:0", HOLD_SOURCE));
    let consumer = Consumer::connect(&node.ws).await;
    assert_eq!(
        blocking(|| node.ingested()),
        0,
        "subscribed before the first update"
    );
    blocking(|| node.caught_up());
    let commits = blocking(|| http::metric(node.http, "hyperstack_store_commits_total"));
    let uninterrupted = read_final(&node.ws, expected.keys()).await;
    let seen_uninterrupted = consumer.finish(&any_key).await;
    drop(node);
    println!(
        "uninterrupted run: {:?}, {commits} commits",
        started.elapsed()
    );

    // The run killed three times. The process that is to abort by the failpoint is armed to
    // do so in the commit that takes it past its point, estimated from the uninterrupted
    // run's commits per update.
    let abort = |from: u64, point: u64| {
        let nth = (point.saturating_sub(from) * commits / total).max(1);
        format!("engine.commit={nth}*abort")
    };
    let dir = tempfile::tempdir().expect("data dir");
    let started = Instant::now();
    let first = match abort_at {
        0 => format!("{HOLD_SOURCE};{}", abort(0, points[0])),
        _ => HOLD_SOURCE.to_string(),
    };
    let mut node = blocking(|| Node::start(RUN, dir.path(), "127.0.0.1:0", &first));
    let bind = node.ws_addr();
    let consumer = Consumer::connect(&node.ws).await;
    assert_eq!(
        blocking(|| node.ingested()),
        0,
        "subscribed before the first update"
    );
    let mut restarts = 0;
    for (i, &point) in points.iter().enumerate() {
        let at = if i == abort_at {
            let status = blocking(|| node.proc.child.wait()).expect("wait");
            assert_eq!(
                status.signal(),
                Some(6),
                "aborted by the failpoint: {status}"
            );
            blocking(|| node.proc.stderr_line("failpoint `engine.commit` fired"));
            println!("aborted between a batch's writes and its commit, aiming at {point}");
            point
        } else {
            let at = blocking(|| wait_progress(&node, point));
            node.proc.child.kill().expect("SIGKILL");
            blocking(|| node.proc.child.wait()).expect("wait");
            println!("killed at {at} of {total} updates");
            at
        };
        let failpoints = match i + 1 == abort_at {
            true => format!("{SLOW_CATCH_UP};{}", abort(at, points[i + 1])),
            false => SLOW_CATCH_UP.to_string(),
        };
        node = blocking(|| Node::start(RUN, dir.path(), &bind, &failpoints));
        restarts += 1;
        println!(
            "restarted after the checkpoint at {} of {total}",
            node.resumed_at
        );
        assert!(
            node.resumed_at > 0 && node.resumed_at < total,
            "restarted mid-run: {}",
            node.resumed_at
        );
        if i == abort_at {
            assert!(
                node.resumed_at * 100 >= total * 5 && node.resumed_at * 100 <= total * 95,
                "the abort came mid-run: at {} of {total}",
                node.resumed_at
            );
        }
        assert_catching_up(&node);
    }
    blocking(|| node.caught_up());
    let crashed = read_final(&node.ws, expected.keys()).await;
    let seen_crashed = consumer.finish(&any_key).await;
    println!("crashed run: {:?}, {restarts} restarts", started.elapsed());

    // The final state: the same as the uninterrupted run's, and the oracle's.
    assert_eq!(crashed, uninterrupted, "the final state after crashes");
    assert_matches_oracle(&uninterrupted, &expected, &keys_of, window_keys);
    // The updates seen: the same per view and key.
    for view in ["list", "trending", "append"] {
        let n: usize = seen_uninterrupted
            .get(view)
            .map_or(0, |keys| keys.values().map(Vec::len).sum());
        assert!(n > 100, "{n} updates of {view} seen");
    }
    assert!(
        seen_crashed == seen_uninterrupted,
        "the consumer across crashes saw other updates; first difference: {}",
        first_difference(&seen_uninterrupted, &seen_crashed)
    );
    // The append view's last frame per key is the final entity.
    for (key, updates) in &seen_crashed["append"] {
        let last = updates.last().and_then(Update::data).expect("an upsert");
        assert!(
            same(last, &expected[key]),
            "append {key}: {last} vs {}",
            expected[key]
        );
    }
}
