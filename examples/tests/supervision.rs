//! The example server as a real process: a critical task that panics (a failpoint armed
//! through `HYPERSTACK_FAILPOINTS`) makes it exit non-zero — a process supervisor restarts
//! it — while SIGTERM stops it cleanly with status 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

fn server(failpoints: Option<&str>) -> (Child, mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.args([
        "--bind",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--slots",
        "200",
        // Throwaway state: the default data directory would be shared between the tests.
        "--in-memory",
    ])
    .env("RUST_LOG", "info")
    .env_remove("YELLOWSTONE_ENDPOINT")
    .env_remove("HYPERSTACK_FAILPOINTS")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if let Some(f) = failpoints {
        cmd.env("HYPERSTACK_FAILPOINTS", f);
    }
    let mut child = cmd.spawn().expect("spawn the example server");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for the process to end; its exit code.
fn exit_code(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_panicking_task_makes_the_process_exit_non_zero() {
    // The bus panics at the first batch it fans out (the replay starts at once).
    let (mut child, _stdout) = server(Some("bus.publish=panic"));
    let code = exit_code(&mut child);
    assert!(
        matches!(code, Some(c) if c != 0),
        "a failed server exits non-zero, got {code:?}"
    );
}

#[test]
fn sigterm_stops_the_process_with_status_zero() {
    let (mut child, stdout) = server(None);
    let line = stdout
        .recv_timeout(WAIT)
        .expect("the server announces its address");
    assert!(line.contains("hyperstack serving on"), "{line}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(exit_code(&mut child), Some(0));
}
