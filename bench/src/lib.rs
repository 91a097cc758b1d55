//! # hyperstack-bench
//!
//! A load tool for any server speaking docs/PROTOCOL.md and ingesting Yellowstone gRPC: a
//! local Geyser feeder ([`feeder`]) streams pump `BondingCurve` updates, N WebSocket clients
//! ([`client`]) subscribe to one or more views and time every frame, and a [`Report`] gives
//! throughput, latency, per-key order and losses, connection setup, memory per connection and
//! per subscription, and server RSS/CPU. [`Config::preset`] holds
//! the named scenarios; [`run::run`] executes one.

#![warn(missing_docs)]

pub mod abuse;
pub mod client;
pub mod feeder;
pub mod report;
pub mod run;
pub mod stats;
pub mod store;
pub mod summary;
pub mod target;

use std::time::Duration;

pub use abuse::AbuseMix;
pub use report::Report;
pub use run::run;
pub use target::Target;

/// The named scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// 1,000 clients on one list view, updates as fast as delivery allows.
    Fanout,
    /// 100 clients, a fixed 1,000 updates/s on one list view: 100,000 frames/s.
    Latency,
    /// 100,000 entities, then 100 clients subscribing at once.
    Snapshot,
    /// 10,000 idle subscribed connections: memory.
    Idle,
    /// One client that stops reading while 100 others are measured (and a baseline run).
    SlowClient,
    /// 200 clients spread over a list, a state, an append and a derived view of 50 entities
    /// at 1,000 updates/s: several views and modes at once.
    Mixed,
    /// 100 honest clients at 1,000 updates/s (as `latency`) while abusive clients run
    /// (oversized messages, subscription churn, silent peers), and a baseline run without
    /// them.
    Abuse,
}

impl Preset {
    /// The preset's command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Fanout => "fanout",
            Preset::Latency => "latency",
            Preset::Snapshot => "snapshot",
            Preset::Idle => "idle",
            Preset::SlowClient => "slow-client",
            Preset::Mixed => "mixed",
            Preset::Abuse => "abuse",
        }
    }
}

/// The view clients subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ViewChoice {
    /// `Token/list`: every entity.
    List,
    /// `Token/state` with one key per client (spread over the keys).
    State,
    /// `Token/trending`: derived (sort + limit 50); keys are capped at 50 so every update
    /// reaches the view.
    Trending,
    /// `Token/append`: the full entity on every change, no snapshot.
    Append,
}

impl ViewChoice {
    /// The full view name.
    pub fn name(self) -> &'static str {
        match self {
            ViewChoice::List => "Token/list",
            ViewChoice::State => "Token/state",
            ViewChoice::Trending => "Token/trending",
            ViewChoice::Append => "Token/append",
        }
    }
}

/// One run's parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name in the report.
    pub name: String,
    /// Measured clients.
    pub clients: usize,
    /// Their views: client `i` subscribes to `views[i % views.len()]`.
    pub views: Vec<ViewChoice>,
    /// Curves the live updates rotate over.
    pub keys: u64,
    /// Entities created (and confirmed delivered) before the clients subscribe.
    pub preload: u64,
    /// Updates/s of the live phase; `None` = closed loop: as fast as the slowest client
    /// keeps within `window` updates.
    pub rate: Option<f64>,
    /// Longest live phase.
    pub duration: Duration,
    /// Most live updates.
    pub max_updates: u64,
    /// Closed-loop window: updates sent ahead of the slowest measured client.
    pub window: u64,
    /// Add one client that subscribes and never reads.
    pub slow_client: bool,
    /// Abusive clients running beside the measured ones during the live phase.
    pub abuse: Option<AbuseMix>,
    /// Also run without the slow client (or the abusive clients) first and report its p99
    /// as the baseline.
    pub baseline: bool,
    /// Connections opened at the same time while connecting.
    pub connect_concurrency: usize,
    /// The server under test.
    pub target: Target,
    /// Feeder listen address (`127.0.0.1:0` = any port; fix it for an external server).
    pub feeder_bind: String,
}

impl Config {
    /// A preset at `scale` (1.0 = full size; 0.01 for a smoke run): clients, entities,
    /// updates and duration shrink with it, rates stay.
    pub fn preset(p: Preset, scale: f64) -> Config {
        let n = |v: f64, min: f64| (v * scale).round().max(min);
        let mut c = Config {
            name: p.name().to_string(),
            clients: n(100.0, 1.0) as usize,
            views: vec![ViewChoice::List],
            keys: 100,
            preload: 0,
            rate: None,
            duration: Duration::from_secs_f64(n(10.0, 0.3)),
            max_updates: n(5_000_000.0, 200.0) as u64,
            window: 256,
            slow_client: false,
            abuse: None,
            baseline: false,
            connect_concurrency: 256,
            target: Target::InProcess,
            feeder_bind: "127.0.0.1:0".to_string(),
        };
        // Durations: scale them without rounding to whole seconds.
        let secs = |s: f64| Duration::from_secs_f64((s * scale).max(0.3));
        match p {
            Preset::Fanout => {
                c.clients = n(1_000.0, 2.0) as usize;
                c.duration = secs(10.0);
            }
            Preset::Latency => {
                c.rate = Some(1_000.0);
                c.duration = secs(10.0);
            }
            Preset::Snapshot => {
                c.preload = n(100_000.0, 100.0) as u64;
                c.keys = c.preload;
                c.max_updates = n(10_000.0, 100.0) as u64;
                c.duration = secs(5.0);
            }
            Preset::Idle => {
                c.clients = n(10_000.0, 10.0) as usize;
                c.keys = 10;
                c.preload = 10;
                c.max_updates = 10;
                c.duration = Duration::from_secs(5);
            }
            Preset::SlowClient => {
                c.rate = Some(2_000.0);
                // At least 2 s (4,000 updates), so even a smoke run overflows a server's
                // per-client queue and socket buffers behind the client that never reads.
                c.duration = Duration::from_secs_f64((15.0 * scale).max(2.0));
                c.slow_client = true;
                c.baseline = true;
            }
            Preset::Mixed => {
                c.clients = n(200.0, 4.0) as usize;
                c.views = vec![
                    ViewChoice::List,
                    ViewChoice::State,
                    ViewChoice::Append,
                    ViewChoice::Trending,
                ];
                c.keys = 50;
                c.preload = 50;
                c.rate = Some(1_000.0);
                c.duration = secs(10.0);
            }
            Preset::Abuse => {
                c.rate = Some(1_000.0);
                c.duration = Duration::from_secs_f64((15.0 * scale).max(2.0));
                let each = n(10.0, 1.0) as usize;
                c.abuse = Some(AbuseMix {
                    oversized: each,
                    churn: each,
                    silent: each,
                });
                c.baseline = true;
            }
        }
        c.clients = c.clients.max(1);
        c
    }

    /// Keys actually used (the trending view holds at most 50).
    pub fn effective_keys(&self) -> u64 {
        if self.views.contains(&ViewChoice::Trending) {
            self.keys.clamp(1, 50)
        } else {
            self.keys.max(1)
        }
    }

    /// The view of measured client `i`.
    pub fn view_of(&self, i: usize) -> ViewChoice {
        self.views
            .get(i % self.views.len().max(1))
            .copied()
            .unwrap_or(ViewChoice::List)
    }
}

/// Raises the soft open-files limit to the hard one; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write/read only the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}
