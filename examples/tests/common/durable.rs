//! The example pump server as a process over a data directory that outlives it (killed,
//! restarted, failed on purpose), its addresses and its JSON log lines.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Proc;

/// Generated data of every run: its seed, slots and replay pace (a factor of real time: 400
/// slots at 100× take 1.6 s).
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub seed: u64,
    pub slots: u64,
    pub speed: u32,
}

/// One server process.
pub struct Node {
    pub proc: Proc,
    /// `ws://…`
    pub ws: String,
    pub http: SocketAddr,
    /// Updates already applied by earlier processes (the checkpoint it resumed after).
    pub resumed_at: u64,
}

impl Node {
    /// Starts the pump server on `data_dir`, WebSocket on `bind`, with `failpoints`
    /// (`HYPERSTACK_FAILPOINTS`, empty for none).
    pub fn start(run: Run, data_dir: &Path, bind: &str, failpoints: &str) -> Node {
        let args = Node::args(run, data_dir, bind);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Node::spawn(env!("CARGO_BIN_EXE_server"), &args, failpoints)
    }

    /// [`Node::start`] in a mount namespace of its own where `data_dir` is a tmpfs of
    /// `size` (`1m`): a disk that really fills up. Needs the right to mount (root);
    /// `None` when this process has not got it.
    pub fn start_on_tmpfs(run: Run, data_dir: &Path, size: &str) -> Option<Node> {
        let dir = data_dir.to_str().expect("a UTF-8 path");
        let probe = std::process::Command::new("unshare")
            .args(["-m", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir])
            .stderr(std::process::Stdio::null())
            .status();
        if !probe.is_ok_and(|s| s.success()) {
            return None;
        }
        let mount = format!("mount -t tmpfs -o size={size} tmpfs \"$0\" && exec \"$@\"");
        let mut args = vec![
            "-m".to_string(),
            "sh".into(),
            "-c".into(),
            mount,
            dir.into(),
            env!("CARGO_BIN_EXE_server").into(),
        ];
        args.extend(Node::args(run, data_dir, "127.0.0.1:0"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Some(Node::spawn("unshare", &args, ""))
    }

    fn args(run: Run, data_dir: &Path, bind: &str) -> Vec<String> {
        let dir = data_dir.to_str().expect("a UTF-8 path");
        [
            "--stack",
            "pump",
            "--no-loop",
            "--seed",
            &run.seed.to_string(),
            "--slots",
            &run.slots.to_string(),
            "--speed",
            &run.speed.to_string(),
            "--data-dir",
            dir,
            "--bind",
            bind,
            "--http",
            "127.0.0.1:0",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    }

    fn spawn(program: &str, args: &[&str], failpoints: &str) -> Node {
        let proc = Proc::spawn_with(
            program,
            args,
            &[("HYPERSTACK_FAILPOINTS", failpoints), ("JSON_LOGS", "true")],
        );
        let line = proc.stdout_line("hyperstack serving on ");
        let word = |prefix: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(prefix))
                .map(|w| w.trim_end_matches(')').to_string())
                .unwrap_or_else(|| panic!("no {prefix} address in {line}"))
        };
        let ws = format!("ws://{}", word("ws://"));
        let http = word("http://").parse().expect("the HTTP address");
        let opened = proc.log("state store ");
        let resumed_at = opened["fields"]["position"].as_u64().unwrap_or(0);
        Node {
            proc,
            ws,
            http,
            resumed_at,
        }
    }

    /// The WebSocket address (`127.0.0.1:port`), for a restart on the same port.
    pub fn ws_addr(&self) -> String {
        self.ws.trim_start_matches("ws://").to_string()
    }

    /// `hyperstack_ingest_events_total`: updates this process applied.
    pub fn ingested(&self) -> u64 {
        super::http::metric(self.http, "hyperstack_ingest_events_total")
    }

    /// Waits until every update of the replay is applied, committed and published.
    pub fn caught_up(&self) {
        self.proc.log("ingestion caught up");
    }
}

impl Proc {
    /// Waits for a JSON log line (stderr, `JSON_LOGS=true`) whose message starts with
    /// `message`; returns it parsed.
    pub fn log(&self, message: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .stderr
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no log line `{message}`: {e}"));
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))
            {
                return v;
            }
        }
    }
}
