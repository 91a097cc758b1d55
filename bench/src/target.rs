//! The server under test: hyperstack-server in this process, in a child process (`bench
//! serve`), or an external server given by URL (and optionally pid).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context};
use hyperstack_server::{
    EntityCacheConfig, RunningServer, Server, StateTableConfig, WebSocketConfig, YellowstoneConfig,
};

/// Where the server under test comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// hyperstack-server on the pump stack, started in this process.
    InProcess,
    /// hyperstack-server on the pump stack in a child process (`bench serve`): its RSS and CPU
    /// are the server's alone, and it has its own file-descriptor limit.
    Spawn,
    /// A server already running, fed from the feeder on `--feeder-bind`.
    External {
        /// Its WebSocket URL.
        url: String,
        /// Its pid, for RSS and CPU.
        pid: Option<u32>,
    },
}

/// Sizes of the in-process (or spawned) server.
#[derive(Debug, Clone, Default)]
pub struct Sizing {
    /// Entities the caches must hold.
    pub entities: u64,
    /// Connections the server must accept.
    pub clients: usize,
    /// Keep the state in this data directory (default: a temporary one).
    pub data_dir: Option<PathBuf>,
    /// Keep the server's default memory bounds (hot sets, list window) instead of sizing them
    /// to hold every entity; `Some(n)` also sets the list window to `n` entities.
    pub defaults: Option<Option<usize>>,
    /// Serve `/health`, `/ready` and `/metrics` on 127.0.0.1 (any port).
    pub http: bool,
}

/// hyperstack-server configured for a run: caches hold every entity (unless
/// `sizing.defaults`), every client fits.
pub async fn start_hyperstack(feeder: &str, sizing: Sizing) -> anyhow::Result<RunningServer> {
    let entities = (sizing.entities as usize + 64).max(2_500);
    let mut ws = WebSocketConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    ws.max_clients = ws.max_clients.max(sizing.clients + 64);
    let mut builder = Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(ws)
        .yellowstone(YellowstoneConfig::new(feeder));
    match sizing.defaults {
        None => {
            builder = builder
                .entity_cache_config(EntityCacheConfig {
                    max_entities_per_view: entities,
                    ..EntityCacheConfig::default()
                })
                .state_table_config(StateTableConfig {
                    max_entries: entities,
                    ..StateTableConfig::default()
                });
        }
        Some(Some(window)) => {
            builder = builder.entity_cache_config(EntityCacheConfig {
                max_entities_per_view: window,
                ..EntityCacheConfig::default()
            });
        }
        Some(None) => {}
    }
    if let Some(dir) = sizing.data_dir {
        builder = builder.data_dir(dir);
    }
    if sizing.http {
        builder = builder.health_bind(SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    builder
        .spawn()
        .await
        .context("cannot start hyperstack-server")
}

/// A started server under test.
pub enum Running {
    /// In this process.
    InProcess(RunningServer),
    /// A child process (killed when the run ends).
    Child(std::process::Child),
    /// Not ours.
    External,
}

impl Running {
    /// Stops what this run started.
    pub async fn stop(self) {
        match self {
            Running::InProcess(s) => s.shutdown(Duration::from_secs(2)).await,
            Running::Child(mut c) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Running::External => {}
        }
    }
}

/// Starts (or names) the server; returns it, its WebSocket URL and its pid (`None` = this
/// process).
pub async fn start(
    target: &Target,
    feeder: &str,
    sizing: Sizing,
) -> anyhow::Result<(Running, String, Option<u32>)> {
    match target {
        Target::InProcess => {
            let s = start_hyperstack(feeder, sizing).await?;
            let url = format!("ws://{}", s.local_addr());
            Ok((Running::InProcess(s), url, None))
        }
        Target::Spawn => {
            let child = spawn_serve(feeder, &sizing).await?;
            let pid = child.child.id();
            Ok((Running::Child(child.child), child.url, Some(pid)))
        }
        Target::External { url, pid } => Ok((Running::External, url.clone(), *pid)),
    }
}

/// A `bench serve` child process.
pub struct ServeChild {
    /// The process (kill it, or SIGTERM it for a clean shutdown).
    pub child: std::process::Child,
    /// Its WebSocket URL.
    pub url: String,
    /// `http://127.0.0.1:<port>` of its health endpoint, with `sizing.http`.
    pub http: Option<String>,
}

/// Starts `bench serve` on `feeder` with `sizing`; returns once it printed its URL(s).
pub async fn spawn_serve(feeder: &str, sizing: &Sizing) -> anyhow::Result<ServeChild> {
    let exe = std::env::current_exe()?;
    let mut args = vec![
        "serve".to_string(),
        "--feeder".into(),
        feeder.into(),
        "--entities".into(),
        sizing.entities.to_string(),
        "--clients".into(),
        sizing.clients.to_string(),
    ];
    if let Some(dir) = &sizing.data_dir {
        args.push("--data-dir".into());
        args.push(dir.display().to_string());
    }
    match sizing.defaults {
        Some(Some(window)) => {
            args.push("--list-window".into());
            args.push(window.to_string());
        }
        Some(None) => args.push("--defaults".into()),
        None => {}
    }
    if sizing.http {
        args.push("--http".into());
    }
    let mut child = std::process::Command::new(exe)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot spawn `bench serve`")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let lines = if sizing.http { 2 } else { 1 };
    let read = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut out = Vec::new();
        for _ in 0..lines {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            out.push(line.trim().to_string());
        }
        Ok::<_, std::io::Error>(out)
    })
    .await??;
    let url = read.first().cloned().unwrap_or_default();
    if !url.starts_with("ws://") {
        let _ = child.kill();
        let _ = child.wait();
        return Err(anyhow!("`bench serve` printed {url:?}, not a URL"));
    }
    let http = read.get(1).filter(|h| h.starts_with("http://")).cloned();
    if sizing.http && http.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(anyhow!("`bench serve` printed no health URL"));
    }
    Ok(ServeChild { child, url, http })
}
