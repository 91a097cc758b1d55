//! One run: feeder → server → clients, preload, connect, subscribe, live phase, drain, report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use tokio::sync::{watch, Semaphore};

use crate::abuse;
use crate::client::{self, ClientResult, Expect, Live, SnapshotWait, Subscribed};
use crate::feeder::{curve_key, now_ns, Feeder};
use crate::report::{Report, ViewFigures};
use crate::stats::{load_average, sample, Histogram, Latency};
use crate::target::{self, Sizing, Target};
use crate::{Config, ViewChoice};

/// How long the drain waits without any client making progress.
const STALL: Duration = Duration::from_secs(5);

/// Receive buffer of the slow client's socket: small, so the server's writes to it back up
/// after little data.
const SLOW_CLIENT_RCVBUF: u32 = 4 * 1024;
/// Segment size the slow client advertises (the classic minimum-MTU MSS), which keeps the
/// server's send buffer for it small.
const SLOW_CLIENT_MSS: u32 = 536;

/// Runs `config`; with `baseline`, first the same run without the slow client.
pub async fn run(config: &Config) -> anyhow::Result<Report> {
    if (config.slow_client || config.abuse.is_some()) && config.baseline {
        if let Target::External { .. } = config.target {
            return Err(anyhow!(
                "a baseline run needs a fresh server: against an external server, run \
                 `--baseline-only` and `--no-baseline` separately, each on a new server"
            ));
        }
        let mut base = config.clone();
        base.slow_client = false;
        base.abuse = None;
        let b = run_once(&base).await.context("baseline run")?;
        let mut r = run_once(config).await?;
        r.baseline_p99_ms = Some(b.latency.p99_ms);
        if config.abuse.is_some() {
            r.baseline_rss_peak = Some(b.rss_peak);
        }
        return Ok(r);
    }
    run_once(config).await
}

/// Sends updates until `until` ids are out or `deadline` passes: at `rate`, or (closed loop)
/// never more than `window` ahead of the slowest tracked client. Returns the last id sent.
pub(crate) async fn feed(
    feeder: &mut Feeder,
    until: u64,
    rate: Option<f64>,
    window: u64,
    progress: &[AtomicU64],
    deadline: Instant,
) -> u64 {
    let start = Instant::now();
    let first = feeder.next_id();
    let mut last = first - 1;
    let mut floor = 0u64;
    while feeder.next_id() <= until && Instant::now() < deadline {
        let id = feeder.next_id();
        match rate {
            Some(r) => {
                let due = start + Duration::from_secs_f64((id - first) as f64 / r);
                let now = Instant::now();
                if due > now + Duration::from_micros(500) {
                    tokio::time::sleep_until(due.into()).await;
                }
            }
            None => {
                while id > floor + window {
                    floor = progress
                        .iter()
                        .map(|p| p.load(Ordering::Acquire))
                        .min()
                        .unwrap_or(u64::MAX);
                    if id > floor + window {
                        if Instant::now() >= deadline {
                            return last;
                        }
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                }
            }
        }
        match feeder.send_next().await {
            Some(id) => last = id,
            None => break,
        }
    }
    last
}

/// Waits until every tracked client has seen the updates it expects (`seen[i] >=
/// expected[i]`), or until none has seen anything new for [`STALL`] (a server that dropped
/// updates).
async fn drain(seen: &[AtomicU64], expected: &[u64]) {
    let mut total = 0u64;
    let mut since = Instant::now();
    loop {
        let mut done = true;
        let mut sum = 0u64;
        for (s, e) in seen.iter().zip(expected) {
            let v = s.load(Ordering::Acquire);
            done &= v >= *e;
            sum = sum.wrapping_add(v);
        }
        if done {
            return;
        }
        if sum != total {
            total = sum;
            since = Instant::now();
        } else if since.elapsed() > STALL {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The subscribe message: a key for state views; collections name none (servers differ on
/// what `"key":"*"` means).
fn subscribe_message(view: ViewChoice, key: Option<&str>) -> String {
    match key {
        Some(k) => format!(r#"{{"view":"{}","key":"{k}"}}"#, view.name()),
        None => format!(r#"{{"view":"{}"}}"#, view.name()),
    }
}

/// What a client of `view` (on curve `k` for state views) waits for while subscribing, with
/// `preload` entities created.
fn snapshot_wait(view: ViewChoice, k: u64, preload: u64) -> SnapshotWait {
    match view {
        ViewChoice::Append => SnapshotWait::None,
        ViewChoice::State if k < preload => SnapshotWait::Rows,
        ViewChoice::List | ViewChoice::Trending if preload > 0 => SnapshotWait::Rows,
        _ => SnapshotWait::MaybeEmpty,
    }
}

/// Updates among ids `a..=b` that go to curve `k` of `keys` (id `i` goes to `(i-1) % keys`).
fn updates_of_key(a: u64, b: u64, k: u64, keys: u64) -> u64 {
    // Ids up to n of curve k: those i in 1..=n with (i - 1) % keys == k.
    let upto = |n: u64| if n <= k { 0 } else { (n - 1 - k) / keys + 1 };
    if b < a {
        return 0;
    }
    upto(b) - upto(a - 1)
}

/// Creates `preload` entities, confirmed by a probe client on the list view seeing the last.
pub(crate) async fn preload(
    feeder: &mut Feeder,
    url: &str,
    keys: u64,
    count: u64,
) -> anyhow::Result<()> {
    let progress = Arc::new(vec![AtomicU64::new(0)]);
    let seen = Arc::new(vec![AtomicU64::new(0)]);
    let mut probe = client::connect(url).await?;
    let msg = subscribe_message(ViewChoice::List, None);
    let sub = client::subscribe(&mut probe, &msg, SnapshotWait::MaybeEmpty).await?;
    let live = Arc::new(Live {
        times: feeder.times.clone(),
        from_id: 1,
        keys,
        progress: progress.clone(),
        seen: seen.clone(),
    });
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(client::run(probe, 0, Expect::All, sub.early, live, stop_rx));
    let far = Instant::now() + Duration::from_secs(600);
    let last = feed(feeder, count, None, 1_024, &progress, far).await;
    drain(&seen, &[last]).await;
    let _ = stop.send(true);
    let r = task.await?;
    if r.order.unique < count {
        return Err(anyhow!(
            "preload: the probe saw {} of {count} entities",
            r.order.unique
        ));
    }
    Ok(())
}

async fn run_once(config: &Config) -> anyhow::Result<Report> {
    let started_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let load_before = load_average();
    let has_trending = config.views.contains(&ViewChoice::Trending);
    let keys = if has_trending {
        config.effective_keys()
    } else {
        config.effective_keys().max(config.preload)
    };
    let capacity = config.preload + config.max_updates + 1;
    let mut feeder = Feeder::start(&config.feeder_bind, capacity, keys).await?;
    let sizing = Sizing {
        entities: keys,
        clients: config.clients + 2,
        ..Sizing::default()
    };
    if let Target::External { .. } = config.target {
        eprintln!(
            "feeder at {}: waiting for the server to subscribe",
            feeder.url
        );
    }
    let (server, url, pid) = target::start(&config.target, &feeder.url, sizing).await?;
    tokio::time::timeout(Duration::from_secs(60), feeder.wait_subscribed())
        .await
        .map_err(|_| anyhow!("the server did not subscribe to the feeder within 60 s"))?;
    let (stop_tx, stop_rx) = watch::channel(false);

    if config.preload > 0 {
        preload(&mut feeder, &url, keys, config.preload).await?;
    }
    // Update `id` goes to curve `(id - 1) % keys`; client `i` watches curve `i % keys`.
    let from_id = feeder.next_id();
    let curve_of = |id: u64| (id - 1) % keys;
    // A state client of curve k has seen everything before its curve's first live update.
    let first_of = |k: u64| from_id + (k + keys - curve_of(from_id)) % keys;

    // Connect every client, then subscribe them all: memory per connection, then per
    // subscription.
    let rss_before = sample(pid).rss;
    let t0 = now_ns();
    let sem = Arc::new(Semaphore::new(config.connect_concurrency.max(1)));
    let mut connecting = Vec::with_capacity(config.clients);
    for _ in 0..config.clients {
        let (url, sem) = (url.clone(), sem.clone());
        connecting.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            client::connect(&url).await
        }));
    }
    let mut sockets = Vec::with_capacity(config.clients);
    for c in connecting {
        sockets.push(c.await??);
    }
    let rss_connected = sample(pid).rss;
    let mut subscribing = Vec::with_capacity(config.clients);
    for (i, mut ws) in sockets.into_iter().enumerate() {
        let view = config.view_of(i);
        let k = i as u64 % keys;
        let key = matches!(view, ViewChoice::State).then(|| curve_key(k));
        let msg = subscribe_message(view, key.as_deref());
        let wait = snapshot_wait(view, k, config.preload);
        subscribing.push(tokio::spawn(async move {
            let s = client::subscribe(&mut ws, &msg, wait).await;
            s.map(|s| (ws, s))
        }));
    }
    let mut clients: Vec<(client::Ws, Subscribed)> = Vec::with_capacity(config.clients);
    for s in subscribing {
        clients.push(s.await??);
    }
    let rss_subscribed = sample(pid).rss;
    let loaded_ns = clients
        .iter()
        .map(|(_, s)| s.loaded_at_ns)
        .max()
        .unwrap_or(t0);
    let connect_s = loaded_ns.saturating_sub(t0) as f64 / 1e9;

    let slow = if config.slow_client {
        let mut ws = client::connect_slow_link(&url, SLOW_CLIENT_RCVBUF, SLOW_CLIENT_MSS).await?;
        let view = config.view_of(0);
        let msg = subscribe_message(
            view,
            matches!(view, ViewChoice::State)
                .then(|| curve_key(0))
                .as_deref(),
        );
        client::subscribe(&mut ws, &msg, snapshot_wait(view, 0, config.preload)).await?;
        Some(tokio::spawn(client::hold_unread(ws, stop_rx.clone())))
    } else {
        None
    };

    // Abusive clients run through the live phase; they subscribe to a key no update goes to.
    let abusers = config
        .abuse
        .map(|mix| abuse::start(&url, mix, curve_key(keys + 1)));

    // Live phase.
    let expect_of = |i: usize| match config.view_of(i) {
        ViewChoice::State => Expect::Key {
            k: i as u64 % keys,
            keys,
        },
        _ => Expect::All,
    };
    // Updates client `i` expects when ids up to `last` went out.
    let expected_of = |i: usize, last: u64| match expect_of(i) {
        Expect::Key { k, keys } => updates_of_key(from_id, last, k, keys),
        Expect::All => last + 1 - from_id,
    };
    let progress: Arc<Vec<AtomicU64>> = Arc::new(
        (0..config.clients)
            .map(|i| {
                let start = match expect_of(i) {
                    Expect::Key { k, .. } => first_of(k) - 1,
                    Expect::All => from_id - 1,
                };
                AtomicU64::new(start)
            })
            .collect(),
    );
    let seen: Arc<Vec<AtomicU64>> =
        Arc::new((0..config.clients).map(|_| AtomicU64::new(0)).collect());
    let live = Arc::new(Live {
        times: feeder.times.clone(),
        from_id,
        keys,
        progress: progress.clone(),
        seen: seen.clone(),
    });
    let mut snapshot_rows = Vec::new();
    let mut snapshot_ns = Vec::new();
    let mut tasks = Vec::with_capacity(clients.len());
    for (i, (ws, sub)) in clients.into_iter().enumerate() {
        if config.view_of(i) != ViewChoice::Append {
            snapshot_rows.push(sub.rows);
        }
        snapshot_ns.push(sub.snapshot_ns);
        tasks.push(tokio::spawn(client::run(
            ws,
            i,
            expect_of(i),
            sub.early,
            live.clone(),
            stop_rx.clone(),
        )));
    }
    let peak = Arc::new(AtomicU64::new(sample(pid).rss));
    let (sampler_stop, mut sampler_rx) = watch::channel(false);
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(sample(pid).rss, Ordering::Relaxed);
                tokio::select! {
                    _ = sampler_rx.changed() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        })
    };
    let cpu0 = sample(pid).cpu_s;
    let start_ns = now_ns();
    let until = from_id + config.max_updates - 1;
    let deadline = Instant::now() + config.duration;
    let last = feed(
        &mut feeder,
        until,
        config.rate,
        config.window,
        &progress,
        deadline,
    )
    .await;
    let expected: Vec<u64> = (0..config.clients).map(|i| expected_of(i, last)).collect();
    drain(&seen, &expected).await;
    let cpu1 = sample(pid).cpu_s;
    let abuse = match abusers {
        Some(a) => {
            let mut figures = a.stop().await;
            // The server notices the closed connections and frees what they held.
            tokio::time::sleep(Duration::from_secs(1)).await;
            figures.rss_after = sample(pid).rss;
            Some(figures)
        }
        None => None,
    };
    let _ = sampler_stop.send(true);
    let _ = sampler.await;
    let _ = stop_tx.send(true);
    let mut results: Vec<ClientResult> = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await?);
    }
    let slow_client_dropped = match slow {
        Some(t) => Some(t.await?),
        None => None,
    };
    server.stop().await;

    // Aggregate.
    let updates = last + 1 - from_id;
    let end_ns = results
        .iter()
        .map(|r| r.last_recv_ns)
        .max()
        .unwrap_or(start_ns)
        .max(start_ns + 1);
    let window_s = (end_ns - start_ns) as f64 / 1e9;
    let mut hist = Histogram::default();
    let (mut frames, mut bytes, mut lost, mut ooo, mut cross, mut failed) = (0, 0, 0, 0, 0, 0);
    let mut per_view: Vec<(ViewFigures, Histogram)> = config
        .views
        .iter()
        .map(|v| {
            let figures = ViewFigures {
                view: v.name().to_string(),
                ..ViewFigures::default()
            };
            (figures, Histogram::default())
        })
        .collect();
    let mut in_order = 0;
    for (i, r) in results.iter().enumerate() {
        let missing = expected[i].saturating_sub(r.order.unique);
        in_order += r.order.unique;
        hist.merge(&r.hist);
        frames += r.frames;
        bytes += r.bytes;
        ooo += r.order.out_of_order;
        cross += r.order.cross_key;
        lost += missing;
        if r.error.is_some() {
            failed += 1;
        }
        if let Some((v, h)) = per_view.get_mut(i % config.views.len().max(1)) {
            v.clients += 1;
            v.frames += r.frames;
            v.lost += missing;
            v.out_of_order += r.order.out_of_order;
            h.merge(&r.hist);
        }
    }
    let per_view = per_view
        .into_iter()
        .map(|(mut v, h)| {
            v.frames_per_s = v.frames as f64 / window_s;
            v.latency = Latency::of(&h);
            v
        })
        .collect();
    snapshot_ns.sort_unstable();
    let q = |v: &[u64], q: f64| {
        v.get(((v.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |&ns| ns as f64 / 1e9)
    };
    let cpu_s = cpu1 - cpu0;
    let per_client = |a: u64, b: u64| (b as f64 - a as f64) / config.clients.max(1) as f64;
    Ok(Report {
        preset: config.name.clone(),
        server: match &config.target {
            Target::InProcess => "in-process".into(),
            Target::Spawn => "spawned".into(),
            Target::External { url, .. } => url.clone(),
        },
        started_unix_s,
        load_before,
        load_after: load_average(),
        views: config.views.iter().map(|v| v.name().to_string()).collect(),
        clients: config.clients,
        keys,
        target_rate: config.rate,
        updates,
        window_s,
        ingest_updates_per_s: updates as f64 / window_s,
        frames,
        frames_per_s: frames as f64 / window_s,
        in_order_per_s: in_order as f64 / window_s,
        bytes_per_s: bytes as f64 / window_s,
        latency: Latency::of(&hist),
        lost,
        out_of_order: ooo,
        cross_key_reorders: cross,
        failed_clients: failed,
        connect_s,
        snapshot_rows_min: snapshot_rows.iter().copied().min(),
        snapshot_s: (config.preload > 0).then(|| {
            [
                q(&snapshot_ns, 0.5),
                q(&snapshot_ns, 0.99),
                q(&snapshot_ns, 1.0),
            ]
        }),
        rss_before,
        rss_connected,
        rss_subscribed,
        rss_peak: peak.load(Ordering::Relaxed),
        mem_per_connection_bytes: per_client(rss_before, rss_connected),
        mem_per_subscription_bytes: per_client(rss_connected, rss_subscribed),
        cpu_s,
        cpu_cores: cpu_s / window_s,
        rss_includes_load_tool: pid.is_none(),
        per_view,
        baseline_p99_ms: None,
        slow_client_dropped,
        baseline_rss_peak: None,
        abuse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_of_a_key_are_counted_by_arithmetic() {
        for keys in 1..6u64 {
            for a in 1..12u64 {
                for b in a - 1..20 {
                    for k in 0..keys {
                        let want = (a..=b).filter(|id| (id - 1) % keys == k).count() as u64;
                        assert_eq!(updates_of_key(a, b, k, keys), want, "{a}..={b} k{k}/{keys}");
                    }
                }
            }
        }
    }

    #[test]
    fn collections_subscribe_without_a_wildcard_key() {
        assert_eq!(
            subscribe_message(ViewChoice::List, None),
            r#"{"view":"Token/list"}"#
        );
        assert_eq!(
            subscribe_message(ViewChoice::State, Some("k")),
            r#"{"view":"Token/state","key":"k"}"#
        );
    }
}
