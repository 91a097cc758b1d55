//! One run: feeder → server → clients, preload, connect, live phase, drain, report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use tokio::sync::{watch, Semaphore};

use crate::client::{self, ClientResult, Expect, Live};
use crate::feeder::{curve_key, now_ns, Feeder};
use crate::stats::{sample, Histogram, Latency, Report};
use crate::target::{self, Sizing, Target};
use crate::{Config, ViewChoice};

/// How long the drain waits without any client making progress.
const STALL: Duration = Duration::from_secs(5);

/// Runs `config`; with `baseline`, first the same run without the slow client.
pub async fn run(config: &Config) -> anyhow::Result<Report> {
    if config.slow_client && config.baseline {
        let mut base = config.clone();
        base.slow_client = false;
        let b = run_once(&base).await.context("baseline run")?;
        let mut r = run_once(config).await?;
        r.baseline_p99_ms = Some(b.latency.p99_ms);
        return Ok(r);
    }
    run_once(config).await
}

/// Sends updates until `until` ids are out or `deadline` passes: at `rate`, or (closed loop)
/// never more than `window` ahead of the slowest tracked client. Returns the last id sent.
async fn feed(
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

/// Waits until every tracked client has seen everything up to `last` (or stalls).
async fn drain(progress: &[AtomicU64], last: u64) {
    let mut seen = 0u64;
    let mut since = Instant::now();
    loop {
        let (min, sum) = progress.iter().fold((u64::MAX, 0u64), |(m, s), p| {
            let v = p.load(Ordering::Acquire);
            (m.min(v), s.wrapping_add(v))
        });
        if progress.is_empty() || min >= last {
            return;
        }
        if sum != seen {
            seen = sum;
            since = Instant::now();
        } else if since.elapsed() > STALL {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn subscribe_message(view: ViewChoice, key: Option<&str>) -> String {
    match key {
        Some(k) => format!(r#"{{"view":"{}","key":"{k}"}}"#, view.name()),
        None => format!(r#"{{"view":"{}","key":"*"}}"#, view.name()),
    }
}

async fn run_once(config: &Config) -> anyhow::Result<Report> {
    let keys = match config.view {
        ViewChoice::Trending => config.effective_keys(),
        _ => config.effective_keys().max(config.preload),
    };
    let capacity = config.preload + config.max_updates + 1;
    let mut feeder = Feeder::start(&config.feeder_bind, capacity, keys).await?;
    let sizing = Sizing {
        entities: keys,
        clients: config.clients + 2,
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

    // Preload: create entities, confirmed by a probe client seeing the last one.
    if config.preload > 0 {
        let progress = Arc::new(vec![AtomicU64::new(0)]);
        let mut probe = client::connect(&url).await?;
        client::subscribe(&mut probe, &subscribe_message(ViewChoice::List, None), true).await?;
        let live = Arc::new(Live {
            times: feeder.times.clone(),
            from_id: 1,
            progress: progress.clone(),
        });
        let (probe_stop, probe_rx) = watch::channel(false);
        let task = tokio::spawn(client::run(probe, 0, Expect::All, live, probe_rx));
        let far = Instant::now() + Duration::from_secs(600);
        let last = feed(&mut feeder, config.preload, None, 1_024, &progress, far).await;
        drain(&progress, last).await;
        let _ = probe_stop.send(true);
        let r = task.await?;
        if r.unique < config.preload {
            return Err(anyhow!(
                "preload: the probe saw {} of {} entities",
                r.unique,
                config.preload
            ));
        }
    }
    // Update `id` goes to curve `(id - 1) % keys`; client `i` watches curve `i % keys`.
    let from_id = feeder.next_id();
    let curve_of = |id: u64| (id - 1) % keys;
    // A state client of curve k has seen everything before its curve's first live update.
    let first_of = |k: u64| from_id + (k + keys - curve_of(from_id)) % keys;

    let rss_before = sample(pid).rss;
    let t0 = Instant::now();
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
    let snapshot = !matches!(config.view, ViewChoice::Append);
    let mut subscribing = Vec::with_capacity(config.clients);
    for (i, mut ws) in sockets.into_iter().enumerate() {
        let k = i as u64 % keys;
        let key = matches!(config.view, ViewChoice::State).then(|| curve_key(k));
        let msg = subscribe_message(config.view, key.as_deref());
        subscribing.push(tokio::spawn(async move {
            let s = client::subscribe(&mut ws, &msg, snapshot).await;
            s.map(|s| (ws, s))
        }));
    }
    let mut clients = Vec::with_capacity(config.clients);
    for s in subscribing {
        clients.push(s.await??);
    }
    let connect_s = t0.elapsed().as_secs_f64();

    let slow = if config.slow_client {
        let mut ws = client::connect(&url).await?;
        client::subscribe(&mut ws, &subscribe_message(config.view, None), snapshot).await?;
        Some(tokio::spawn(client::hold_unread(ws, stop_rx.clone())))
    } else {
        None
    };

    // Live phase.
    let progress: Arc<Vec<AtomicU64>> = Arc::new(
        (0..config.clients)
            .map(|i| {
                let start = match config.view {
                    ViewChoice::State => first_of(i as u64 % keys) - 1,
                    _ => from_id - 1,
                };
                AtomicU64::new(start)
            })
            .collect(),
    );
    let live = Arc::new(Live {
        times: feeder.times.clone(),
        from_id,
        progress: progress.clone(),
    });
    let mut snapshot_rows = Vec::new();
    let mut snapshot_ns = Vec::new();
    let mut tasks = Vec::with_capacity(clients.len());
    for (i, (ws, sub)) in clients.into_iter().enumerate() {
        snapshot_rows.push(sub.rows);
        snapshot_ns.push(sub.snapshot_ns);
        let expect = match config.view {
            ViewChoice::State => Expect::Key {
                k: i as u64 % keys,
                keys,
            },
            _ => Expect::All,
        };
        tasks.push(tokio::spawn(client::run(
            ws,
            i,
            expect,
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
    drain(&progress, last).await;
    let cpu1 = sample(pid).cpu_s;
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
    let (mut frames, mut bytes, mut lost, mut ooo, mut failed) = (0, 0, 0, 0, 0);
    for (i, r) in results.iter().enumerate() {
        hist.merge(&r.hist);
        frames += r.frames;
        bytes += r.bytes;
        ooo += r.out_of_order;
        let expected = match config.view {
            ViewChoice::State => {
                let k = i as u64 % keys;
                (from_id..=last).filter(|&id| curve_of(id) == k).count() as u64
            }
            _ => updates,
        };
        lost += expected.saturating_sub(r.unique);
        if r.error.is_some() {
            failed += 1;
        }
    }
    snapshot_ns.sort_unstable();
    let q = |v: &[u64], q: f64| {
        v.get(((v.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |&ns| ns as f64 / 1e9)
    };
    let cpu_s = cpu1 - cpu0;
    Ok(Report {
        preset: config.name.clone(),
        server: match &config.target {
            Target::InProcess => "in-process".into(),
            Target::Spawn => "spawned".into(),
            Target::External { url, .. } => url.clone(),
        },
        view: config.view.name().into(),
        clients: config.clients,
        keys,
        target_rate: config.rate,
        updates,
        window_s,
        ingest_updates_per_s: updates as f64 / window_s,
        frames,
        frames_per_s: frames as f64 / window_s,
        bytes_per_s: bytes as f64 / window_s,
        latency: Latency::of(&hist),
        lost,
        out_of_order: ooo,
        failed_clients: failed,
        connect_s,
        snapshot_rows_min: snapshot.then(|| snapshot_rows.iter().copied().min().unwrap_or(0)),
        snapshot_s: (config.preload > 0).then(|| {
            [
                q(&snapshot_ns, 0.5),
                q(&snapshot_ns, 0.99),
                q(&snapshot_ns, 1.0),
            ]
        }),
        rss_before,
        rss_peak: peak.load(Ordering::Relaxed),
        cpu_s,
        cpu_cores: cpu_s / window_s,
        rss_includes_load_tool: pid.is_none(),
        baseline_p99_ms: None,
        slow_client_dropped,
    })
}
