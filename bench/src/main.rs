//! `bench`: load a hyperstack-protocol server and report throughput, latency, losses,
//! connection setup and server RSS/CPU. `bench --help` lists the options; `bench summary
//! <dir>` tabulates a comparison sitting (see `bench/reference/compare.sh`).

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use hyperstack_bench::target::{start_hyperstack, Sizing};
use hyperstack_bench::{raise_fd_limit, run, Config, Preset, Target, ViewChoice};

/// `bench serve`: hyperstack-server on the pump stack fed by `--feeder`; prints its WebSocket
/// URL (what `--spawn` starts).
#[derive(Parser)]
#[command(name = "bench serve")]
struct ServeArgs {
    #[arg(long)]
    feeder: String,
    #[arg(long, default_value_t = 0)]
    entities: u64,
    #[arg(long, default_value_t = 0)]
    clients: usize,
    /// Keep the state in this data directory (default: a temporary one).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Keep the default memory bounds (hot sets, list window of 500).
    #[arg(long)]
    defaults: bool,
    /// The default memory bounds, but a list window of this many entities.
    #[arg(long, conflicts_with = "defaults")]
    list_window: Option<usize>,
    /// Serve /health and /ready on 127.0.0.1 (any port); printed on a second line.
    #[arg(long)]
    http: bool,
}

/// `bench store`: the durable store under load (ingest, restart, snapshot from disk).
#[derive(Parser)]
#[command(name = "bench store")]
struct StoreArgs {
    /// Tokens ingested.
    #[arg(long, default_value_t = 1_000_000)]
    tokens: u64,
    /// Entities of the snapshot phase (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    snapshot_entities: u64,
    /// Where the data directories go (removed afterwards unless --keep).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    dir: std::path::PathBuf,
    /// Keep the data directories.
    #[arg(long)]
    keep: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// `bench <preset> [options]`.
#[derive(Parser)]
#[command(
    name = "bench",
    about = "Load tool for hyperstack-protocol servers fed by Yellowstone gRPC"
)]
struct RunArgs {
    /// The scenario.
    #[arg(value_enum)]
    preset: Preset,
    /// Size factor: clients, entities, updates and duration (0.01 for a smoke run).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Measured clients.
    #[arg(long)]
    clients: Option<usize>,
    /// View(s) to subscribe to; repeat for several (client `i` takes the `i % n`-th).
    #[arg(long, value_enum)]
    view: Vec<ViewChoice>,
    /// Curves the updates rotate over.
    #[arg(long)]
    keys: Option<u64>,
    /// Updates per second (0 = closed loop, as fast as the slowest client allows).
    #[arg(long)]
    rate: Option<f64>,
    /// Longest live phase in seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Most live updates.
    #[arg(long)]
    updates: Option<u64>,
    /// Entities created before the clients subscribe.
    #[arg(long)]
    preload: Option<u64>,
    /// Closed-loop window (updates ahead of the slowest client).
    #[arg(long)]
    window: Option<u64>,
    /// Run hyperstack-server as a child process (own RSS/CPU figures and fd limit).
    #[arg(long, conflicts_with = "url")]
    spawn: bool,
    /// Measure an external server at this WebSocket URL instead (feed it from
    /// `--feeder-bind`).
    #[arg(long)]
    url: Option<String>,
    /// The external server's pid, for RSS and CPU.
    #[arg(long, requires = "url")]
    pid: Option<u32>,
    /// Feeder listen address.
    #[arg(long, default_value = "127.0.0.1:0")]
    feeder_bind: String,
    /// Abuse preset: abusive clients of each kind (oversized, churn, silent).
    #[arg(long)]
    abusers: Option<usize>,
    /// Slow-client and abuse presets: skip the baseline run (an external server needs a fresh start per
    /// run, so measure the baseline separately with `--baseline-only`).
    #[arg(long)]
    no_baseline: bool,
    /// Slow-client and abuse presets: only the baseline run, without the slow client or the
    /// abusive clients.
    #[arg(long, conflicts_with = "no_baseline")]
    baseline_only: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    fn config(&self) -> anyhow::Result<Config> {
        if self.scale.is_nan() || self.scale <= 0.0 {
            bail!("--scale must be positive");
        }
        let mut c = Config::preset(self.preset, self.scale);
        if let Some(v) = self.clients {
            c.clients = v.max(1);
        }
        if !self.view.is_empty() {
            c.views.clone_from(&self.view);
        }
        if let Some(v) = self.keys {
            c.keys = v.max(1);
        }
        if let Some(r) = self.rate {
            c.rate = (r > 0.0).then_some(r);
        }
        if let Some(d) = self.duration {
            c.duration = Duration::from_secs_f64(d);
        }
        if let Some(u) = self.updates {
            c.max_updates = u.max(1);
        }
        if let Some(p) = self.preload {
            c.preload = p;
        }
        if let Some(w) = self.window {
            c.window = w.max(1);
        }
        if self.no_baseline {
            c.baseline = false;
        }
        if let (Some(n), Some(mix)) = (self.abusers, c.abuse.as_mut()) {
            *mix = hyperstack_bench::AbuseMix {
                oversized: n,
                churn: n,
                silent: n,
            };
        }
        if self.baseline_only {
            c.baseline = false;
            c.slow_client = false;
            c.abuse = None;
        }
        c.feeder_bind = self.feeder_bind.clone();
        c.target = match (&self.url, self.spawn) {
            (Some(url), _) => Target::External {
                url: url.clone(),
                pid: self.pid,
            },
            (None, true) => Target::Spawn,
            (None, false) => Target::InProcess,
        };
        Ok(c)
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("summary") {
        let Some(dir) = std::env::args().nth(2) else {
            bail!("usage: bench summary <directory of <preset>.<server>.<rep>.json reports>");
        };
        print!(
            "{}",
            hyperstack_bench::summary::summarize(std::path::Path::new(&dir))?
        );
        return Ok(());
    }
    let serve = std::env::args().nth(1).as_deref() == Some("serve");
    let limit = raise_fd_limit();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if serve {
        let a = ServeArgs::parse_from(std::env::args().skip(1));
        return rt.block_on(async move {
            let defaults = match (a.defaults, a.list_window) {
                (_, Some(w)) => Some(Some(w)),
                (true, None) => Some(None),
                (false, None) => None,
            };
            let sizing = Sizing {
                entities: a.entities,
                clients: a.clients,
                data_dir: a.data_dir,
                defaults,
                http: a.http,
            };
            let server = start_hyperstack(&a.feeder, sizing).await?;
            println!("ws://{}", server.local_addr());
            if let Some(http) = server.http_addr() {
                println!("http://{http}");
            }
            server.run_until_signal().await?;
            Ok(())
        });
    }
    if std::env::args().nth(1).as_deref() == Some("store") {
        let a = StoreArgs::parse_from(std::env::args().skip(1));
        let b = hyperstack_bench::store::StoreBench {
            tokens: a.tokens.max(1),
            snapshot_entities: a.snapshot_entities,
            dir: a.dir,
            keep: a.keep,
        };
        let report = rt.block_on(hyperstack_bench::store::run(&b))?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.table());
        }
        return Ok(());
    }
    let args = RunArgs::parse();
    let config = args.config()?;
    // Each in-process connection takes two descriptors (client and server side).
    let per_client = if config.target == Target::InProcess {
        2
    } else {
        1
    };
    if (config.clients as u64 + 2) * per_client + 256 > limit {
        eprintln!(
            "warning: {} clients may exceed the open-files limit ({limit}); raise `ulimit -n` or use --spawn",
            config.clients
        );
    }
    let report = rt.block_on(run(&config)).context("run failed")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
