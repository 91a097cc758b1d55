//! Example programs as child processes: spawned, their output lines read as they come, killed
//! when dropped.

#![allow(dead_code)] // each test file uses a part of it

pub mod durable;
pub mod http;
pub mod pump;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A child process killed on drop, with its stdout/stderr lines arriving on channels.
pub struct Proc {
    /// The process.
    pub child: Child,
    /// Its stdout lines.
    pub stdout: mpsc::Receiver<String>,
    /// Its stderr lines.
    pub stderr: mpsc::Receiver<String>,
    /// The data directory given to it (a server keeps its state there), removed on drop.
    pub data_dir: tempfile::TempDir,
}

impl Proc {
    pub fn spawn(bin: &str, args: &[&str]) -> Proc {
        Proc::spawn_with(bin, args, &[])
    }

    /// Spawns `bin` with extra environment variables. Each process gets a data directory of
    /// its own (`HYPERSTACK_DATA_DIR`), so servers of concurrent tests never share a store.
    pub fn spawn_with(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let data_dir = tempfile::tempdir().expect("data directory");
        let mut child = Command::new(bin)
            .args(args)
            .env("HYPERSTACK_DATA_DIR", data_dir.path())
            .env("RUST_LOG", "info")
            .env_remove("YELLOWSTONE_ENDPOINT")
            .env_remove("HYPERSTACK_DAS_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let lines = |r: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let stdout = lines(Box::new(child.stdout.take().expect("stdout")));
        let stderr = lines(Box::new(child.stderr.take().expect("stderr")));
        Proc {
            child,
            stdout,
            stderr,
            data_dir,
        }
    }

    /// Waits for a stdout line containing `needle`.
    pub fn stdout_line(&self, needle: &str) -> String {
        wait_line(&self.stdout, needle)
    }

    /// Waits for a stderr line containing `needle`.
    pub fn stderr_line(&self, needle: &str) -> String {
        wait_line(&self.stderr, needle)
    }

    /// Waits for the process to exit successfully; returns its stdout lines.
    pub fn finish(mut self) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(
                    status.success(),
                    "exited with {status}: {:?}",
                    self.stderr.try_iter().collect::<Vec<_>>()
                );
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "process did not finish in time"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stdout.try_iter().collect()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_line(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => continue,
            Err(e) => panic!("no line containing `{needle}`: {e}"),
        }
    }
}

/// Starts the example server; returns it and its WebSocket URL.
pub fn server(stack: &str, extra: &[&str]) -> (Proc, String) {
    server_env(stack, extra, &[])
}

/// [`server`] with extra environment variables.
pub fn server_env(stack: &str, extra: &[&str], env: &[(&str, &str)]) -> (Proc, String) {
    let mut args = vec![
        "--stack",
        stack,
        "--bind",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let p = Proc::spawn_with(env!("CARGO_BIN_EXE_server"), &args, env);
    let line = p.stdout_line("hyperstack serving on ");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .expect("a ws:// address")
        .to_string();
    (p, url)
}
