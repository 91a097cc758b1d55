//! `bench store`: the durable state store under load, against `bench serve` child processes
//! with the server's default memory bounds and a data directory on disk:
//!
//! 1. **ingest**: `tokens` new pump tokens (one `BondingCurve` update each, every one a new
//!    entity) through the server, as fast as a probe client on `Token/list` confirms them:
//!    wall-clock rate, the server's CPU seconds (updates per core-second), its peak RSS
//!    (`VmHWM`) and the store's size on disk;
//! 2. **restart**: the server is stopped with SIGTERM (a clean shutdown), started again on the
//!    same data directory, and timed until `/ready` answers 200 (a live source counts as
//!    caught up once it applied an update, so a trickle of updates flows meanwhile);
//! 3. **snapshot**: a second server (list window `snapshot_entities`, default hot sets, so most
//!    rows are read back from disk) gets `snapshot_entities` tokens, then one client
//!    subscribes to `Token/list`: time to its first and last snapshot batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{self, SnapshotWait};
use crate::feeder::Feeder;
use crate::run::preload;
use crate::stats::{load_average, sample};
use crate::target::{spawn_serve, ServeChild, Sizing};

/// What `bench store` does.
#[derive(Debug, Clone)]
pub struct StoreBench {
    /// Tokens ingested (phase 1).
    pub tokens: u64,
    /// Entities of the snapshot phase (0: skip it).
    pub snapshot_entities: u64,
    /// Parent of the data directories (removed afterwards unless `keep`).
    pub dir: PathBuf,
    /// Keep the data directories.
    pub keep: bool,
}

/// The figures of one `bench store` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreReport {
    /// Unix seconds at the start.
    pub started_unix_s: u64,
    /// Load averages before and after.
    pub load_before: [f64; 3],
    /// …
    pub load_after: [f64; 3],
    /// Tokens ingested.
    pub tokens: u64,
    /// Seconds from the first update until the probe saw the last.
    pub ingest_s: f64,
    /// Tokens per second, wall clock.
    pub ingest_per_s: f64,
    /// Server CPU seconds (user + system) during the ingest.
    pub ingest_cpu_s: f64,
    /// Tokens per server CPU second: updates/s per core.
    pub ingest_per_core_s: f64,
    /// Server peak RSS (VmHWM) after the ingest, bytes.
    pub peak_rss: u64,
    /// RSS at the end of the ingest, bytes.
    pub rss_end: u64,
    /// Bytes in the data directory after the clean shutdown.
    pub disk_bytes: u64,
    /// Seconds from starting the process until `/ready` answered 200.
    pub restart_ready_s: f64,
    /// …of which until the server printed its address (store open, listening).
    pub restart_listening_s: f64,
    /// Peak RSS of the restarted server until ready, bytes.
    pub restart_peak_rss: u64,
    /// Entities in the snapshot view.
    pub snapshot_entities: u64,
    /// Rows the client received.
    pub snapshot_rows: u64,
    /// Seconds from subscribing to the first snapshot batch.
    pub snapshot_first_s: f64,
    /// …to the last (`complete: true`).
    pub snapshot_last_s: f64,
    /// The same, from a restarted server (every row read from disk).
    pub cold_snapshot_first_s: f64,
    /// …
    pub cold_snapshot_last_s: f64,
}

impl StoreReport {
    /// The figures as a table.
    pub fn table(&self) -> String {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        format!(
            "store bench ({} tokens; load {:.1} → {:.1})\n\
             ingest              {:.1} s, {:.0} tokens/s wall, {:.1} server CPU s → {:.0} tokens/s per core\n\
             server RSS          peak {:.0} MiB, at the end {:.0} MiB\n\
             store on disk       {:.0} MiB\n\
             restart → /ready    {:.2} s (listening after {:.2} s; peak RSS {:.0} MiB)\n\
             snapshot {} rows    first batch {:.3} s, last {:.3} s ({} rows); cold restart: first {:.3} s, last {:.3} s\n",
            self.tokens,
            self.load_before[0],
            self.load_after[0],
            self.ingest_s,
            self.ingest_per_s,
            self.ingest_cpu_s,
            self.ingest_per_core_s,
            mib(self.peak_rss),
            mib(self.rss_end),
            mib(self.disk_bytes),
            self.restart_ready_s,
            self.restart_listening_s,
            mib(self.restart_peak_rss),
            self.snapshot_entities,
            self.snapshot_first_s,
            self.snapshot_last_s,
            self.snapshot_rows,
            self.cold_snapshot_first_s,
            self.cold_snapshot_last_s,
        )
    }
}

/// Peak RSS of a process (`VmHWM`), bytes.
fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// Bytes of the files under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Stops a child with SIGTERM (a clean shutdown) and waits for it.
async fn terminate(mut child: ServeChild) -> anyhow::Result<()> {
    let pid = child.child.id() as libc::pid_t;
    // SAFETY: kill has no memory preconditions; the pid is our own child, not yet reaped.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = tokio::task::spawn_blocking(move || child.child.wait()).await??;
    if !status.success() {
        bail!("the server exited with {status} after SIGTERM");
    }
    Ok(())
}

/// The status code of `GET {http}/ready`, or `None` when the server does not answer.
async fn ready_status(http: &str) -> Option<u16> {
    let addr = http.strip_prefix("http://")?;
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET /ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).to_string();
    head.split_whitespace().nth(1)?.parse().ok()
}

/// Ingests `count` new tokens through a fresh server on `dir`; returns it still running.
async fn ingest(
    feeder: &mut Feeder,
    sizing: &Sizing,
    count: u64,
    report: &mut StoreReport,
) -> anyhow::Result<ServeChild> {
    let child = spawn_serve(&feeder.url, sizing).await?;
    tokio::time::timeout(Duration::from_secs(60), feeder.wait_subscribed())
        .await
        .map_err(|_| anyhow!("the server did not subscribe to the feeder"))?;
    let pid = child.child.id();
    let cpu0 = sample(Some(pid)).cpu_s;
    let t0 = Instant::now();
    preload(feeder, &child.url, feeder.keys(), count).await?;
    report.ingest_s = t0.elapsed().as_secs_f64();
    report.ingest_cpu_s = sample(Some(pid)).cpu_s - cpu0;
    report.rss_end = sample(Some(pid)).rss;
    report.peak_rss = peak_rss(pid);
    Ok(child)
}

/// One client's snapshot of `Token/list`: seconds to the first and the last batch, rows.
async fn snapshot_once(url: &str) -> anyhow::Result<(f64, f64, u64)> {
    let mut ws = client::connect(url).await?;
    let s = client::subscribe(&mut ws, r#"{"view":"Token/list"}"#, SnapshotWait::Rows).await?;
    Ok((
        s.first_batch_ns as f64 / 1e9,
        s.snapshot_ns as f64 / 1e9,
        s.rows,
    ))
}

/// Runs the three phases.
pub async fn run(b: &StoreBench) -> anyhow::Result<StoreReport> {
    let mut report = StoreReport {
        started_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        load_before: load_average(),
        tokens: b.tokens,
        snapshot_entities: b.snapshot_entities,
        ..StoreReport::default()
    };
    std::fs::create_dir_all(&b.dir).with_context(|| format!("{}", b.dir.display()))?;
    let run_dir = b.dir.join(format!("store-bench-{}", std::process::id()));
    let result = phases(b, &run_dir, &mut report).await;
    if !b.keep {
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    result?;
    report.load_after = load_average();
    Ok(report)
}

async fn phases(b: &StoreBench, run_dir: &Path, report: &mut StoreReport) -> anyhow::Result<()> {
    // 1. Ingest with the defaults.
    let trickle = 100_000;
    let mut feeder = Feeder::start("127.0.0.1:0", b.tokens + trickle, b.tokens).await?;
    let sizing = Sizing {
        entities: b.tokens,
        clients: 4,
        data_dir: Some(run_dir.join("ingest")),
        defaults: Some(None),
        http: true,
    };
    let child = ingest(&mut feeder, &sizing, b.tokens, report).await?;
    report.ingest_per_s = b.tokens as f64 / report.ingest_s.max(1e-9);
    report.ingest_per_core_s = b.tokens as f64 / report.ingest_cpu_s.max(1e-9);
    terminate(child).await?;
    report.disk_bytes = disk_bytes(&run_dir.join("ingest"));

    // 2. Restart on the same directory until /ready is 200, with a trickle of updates.
    let t0 = Instant::now();
    let child = spawn_serve(&feeder.url, &sizing).await?;
    report.restart_listening_s = t0.elapsed().as_secs_f64();
    let http = child.http.clone().unwrap_or_default();
    let pid = child.child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let ready = loop {
        if ready_status(&http).await == Some(200) {
            break t0.elapsed().as_secs_f64();
        }
        if t0.elapsed() > Duration::from_secs(300) {
            break f64::NAN;
        }
        peak.fetch_max(sample(Some(pid)).rss, Ordering::Relaxed);
        // A live chain never stands still: one update per poll (the feed buffers it until
        // the server subscribes).
        if feeder.next_id() <= b.tokens + trickle {
            let _ = tokio::time::timeout(Duration::from_millis(5), feeder.send_next()).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    report.restart_ready_s = ready;
    report.restart_peak_rss = peak_rss(pid).max(peak.load(Ordering::Relaxed));
    terminate(child).await?;
    if ready.is_nan() {
        bail!("the restarted server was not ready within 300 s");
    }
    drop(feeder);

    // 3. A 100k-entity view, partly from disk.
    if b.snapshot_entities == 0 {
        return Ok(());
    }
    let n = b.snapshot_entities;
    let mut feeder = Feeder::start("127.0.0.1:0", n + trickle, n).await?;
    let sizing = Sizing {
        entities: n,
        clients: 4,
        data_dir: Some(run_dir.join("snapshot")),
        defaults: Some(Some(n as usize)),
        http: false,
    };
    let mut ignored = StoreReport::default();
    let child = ingest(&mut feeder, &sizing, n, &mut ignored).await?;
    let (first, last, rows) = snapshot_once(&child.url).await?;
    report.snapshot_first_s = first;
    report.snapshot_last_s = last;
    report.snapshot_rows = rows;
    terminate(child).await?;
    let child = spawn_serve(&feeder.url, &sizing).await?;
    let (first, last, rows) = snapshot_once(&child.url).await?;
    report.cold_snapshot_first_s = first;
    report.cold_snapshot_last_s = last;
    terminate(child).await?;
    if rows != report.snapshot_rows {
        bail!(
            "the restarted server's snapshot had {rows} rows, {} before",
            report.snapshot_rows
        );
    }
    Ok(())
}
