//! The server under test: hyperstack-server in this process, in a child process (`bench
//! serve`), or an external server given by URL (and optionally pid).

use std::io::BufRead;
use std::net::SocketAddr;
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
#[derive(Debug, Clone, Copy)]
pub struct Sizing {
    /// Entities the caches must hold.
    pub entities: u64,
    /// Connections the server must accept.
    pub clients: usize,
}

/// hyperstack-server configured for a run: caches hold every entity, every client fits.
pub async fn start_hyperstack(feeder: &str, sizing: Sizing) -> anyhow::Result<RunningServer> {
    let entities = (sizing.entities as usize + 64).max(2_500);
    let mut ws = WebSocketConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    ws.max_clients = ws.max_clients.max(sizing.clients + 64);
    Server::builder()
        .spec(pump_stack::spec())
        .websocket_config(ws)
        .yellowstone(YellowstoneConfig::new(feeder))
        .entity_cache_config(EntityCacheConfig {
            max_entities_per_view: entities,
            ..EntityCacheConfig::default()
        })
        .state_table_config(StateTableConfig {
            max_entries: entities,
            ..StateTableConfig::default()
        })
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
            let exe = std::env::current_exe()?;
            let mut child = std::process::Command::new(exe)
                .args([
                    "serve",
                    "--feeder",
                    feeder,
                    "--entities",
                    &sizing.entities.to_string(),
                    "--clients",
                    &sizing.clients.to_string(),
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .context("cannot spawn `bench serve`")?;
            let pid = child.id();
            let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
            let line = tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                std::io::BufReader::new(stdout)
                    .read_line(&mut line)
                    .map(|_| line)
            })
            .await??;
            let url = line.trim().to_string();
            if !url.starts_with("ws://") {
                let _ = child.kill();
                return Err(anyhow!("`bench serve` printed {url:?}, not a URL"));
            }
            Ok((Running::Child(child), url, Some(pid)))
        }
        Target::External { url, pid } => Ok((Running::External, url.clone(), *pid)),
    }
}
