//! Failpoints: named places in the code where a test can make the server fail for real (a
//! panic inside a task, the process aborting between a store write and its commit, a stall).
//!
//! [`hit`] does nothing unless the crate is built with the `failpoints` cargo feature *and*
//! the failpoint is configured — from the `HYPERSTACK_FAILPOINTS` environment variable, read
//! once, or with [`set`]. Without the feature, [`hit`] is an empty inline function.
//!
//! `HYPERSTACK_FAILPOINTS` holds `name=action` pairs separated by `;`, where an action is
//! `panic`, `abort` (the process ends at once, like `kill -9`: nothing is flushed),
//! `sleep(<ms>)`, `pause` (the hitting thread waits until a test calls [`release`]; see
//! [`paused`]), `enospc` (a place that can fail with an I/O error fails with "no space left
//! on device", through its real error path; see [`hit_io`]; elsewhere it does nothing), or
//! any of these after `<n>*` to fire only on the `n`-th hit (`bus.publish=3*panic`). For
//! example:
//!
//! ```sh
//! HYPERSTACK_FAILPOINTS='bus.publish=panic' cargo run -p examples --bin server
//! ```
//!
//! The failpoints in the server (each a `hit("…")` or `hit_io("…")` call):
//!
//! | name | where |
//! | --- | --- |
//! | `bus.publish` | the bus, before it fans a committed batch out |
//! | `bus.command` | the bus, before it handles a client's command |
//! | `engine.commit` | the engine, after a batch is written into a store batch and before that batch is committed (`abort`: a crash between write and commit; `enospc`: the commit fails as on a full disk) |
//! | `ingest.source` | the source task, before it starts streaming (`sleep` holds a restarted server in its catch-up) |
//! | `websocket.accept` | the accept loop, after a TCP connection is accepted |
//! | `snapshot.batch` | a snapshot encoding (a blocking worker), after a batch frame other than the last was handed to the bus (`enospc`: the encoding fails as on a store read error) |

use std::time::Duration;

/// What a failpoint does when it is hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Panics (the task or thread that hit it unwinds).
    Panic,
    /// Aborts the process immediately (no destructors, no flush).
    Abort,
    /// Blocks the hitting thread for this long.
    Sleep(Duration),
    /// Blocks the hitting thread until [`release`] is called for the failpoint.
    Pause,
    /// The place fails with an I/O error "no space left on device" ([`hit_io`]); places that
    /// cannot fail ([`hit`]) ignore it.
    Enospc,
}

/// A configured failpoint: its action, on which hit it fires (`None`: every hit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What happens.
    pub action: Action,
    /// Fires only on this hit (1-based); `None` fires on every hit.
    pub on_hit: Option<u64>,
}

/// Why a failpoint specification could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad failpoint specification `{spec}`: {reason}")]
pub struct SpecError {
    /// The offending part (truncated).
    pub spec: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Parses `name=action;name=action` (see the module documentation).
pub fn parse(spec: &str) -> Result<Vec<(String, Rule)>, SpecError> {
    let mut rules = Vec::new();
    for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = |reason| SpecError {
            spec: part.chars().take(80).collect(),
            reason,
        };
        let (name, action) = part
            .split_once('=')
            .ok_or_else(|| bad("expected name=action"))?;
        let (on_hit, action) = match action.split_once('*') {
            Some((n, rest)) => (
                Some(
                    n.trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            bad("the hit count before `*` must be a positive integer")
                        })?,
                ),
                rest,
            ),
            None => (None, action),
        };
        let action = match action.trim() {
            "panic" => Action::Panic,
            "abort" => Action::Abort,
            "enospc" => Action::Enospc,
            "pause" => Action::Pause,
            other => {
                let ms = other
                    .strip_prefix("sleep(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|ms| ms.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        bad("action must be panic, abort, enospc, pause or sleep(<ms>)")
                    })?;
                Action::Sleep(Duration::from_millis(ms))
            }
        };
        rules.push((name.trim().to_string(), Rule { action, on_hit }));
    }
    Ok(rules)
}

#[cfg(feature = "failpoints")]
mod active {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Condvar, Mutex, OnceLock};

    use super::{Action, Rule};

    /// The configured failpoints and how often each was hit.
    type Table = HashMap<String, (Rule, u64)>;

    /// Whether any failpoint was ever armed: until then a hit costs one atomic load.
    static ARMED: AtomicBool = AtomicBool::new(false);

    fn table() -> &'static Mutex<Table> {
        static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut table = Table::new();
            if let Ok(spec) = std::env::var(super::ENV) {
                match super::parse(&spec) {
                    Ok(rules) => {
                        for (name, rule) in rules {
                            tracing::warn!(failpoint = %name, action = ?rule.action, "failpoint armed from the environment");
                            table.insert(name, (rule, 0));
                            ARMED.store(true, Ordering::Release);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "{} ignored", super::ENV),
                }
            }
            Mutex::new(table)
        })
    }

    /// Threads paused at each failpoint, and releases asked for (a release lets every thread
    /// paused at that moment go).
    #[derive(Default)]
    struct Pauses {
        paused: HashMap<String, usize>,
        releases: HashMap<String, u64>,
    }

    fn pauses() -> &'static (Mutex<Pauses>, Condvar) {
        static PAUSES: OnceLock<(Mutex<Pauses>, Condvar)> = OnceLock::new();
        PAUSES.get_or_init(Default::default)
    }

    fn pause(name: &str) {
        let (lock, cv) = pauses();
        let mut p = lock.lock().unwrap_or_else(|e| e.into_inner());
        let generation = p.releases.get(name).copied().unwrap_or(0);
        *p.paused.entry(name.to_string()).or_insert(0) += 1;
        cv.notify_all();
        while p.releases.get(name).copied().unwrap_or(0) == generation {
            p = cv.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        if let Some(n) = p.paused.get_mut(name) {
            *n -= 1;
        }
        cv.notify_all();
    }

    pub fn paused(name: &str) -> usize {
        let (lock, _) = pauses();
        let p = lock.lock().unwrap_or_else(|e| e.into_inner());
        p.paused.get(name).copied().unwrap_or(0)
    }

    pub fn wait_paused(name: &str) {
        let (lock, cv) = pauses();
        let mut p = lock.lock().unwrap_or_else(|e| e.into_inner());
        while p.paused.get(name).copied().unwrap_or(0) == 0 {
            p = cv.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub fn release(name: &str) {
        let (lock, cv) = pauses();
        let mut p = lock.lock().unwrap_or_else(|e| e.into_inner());
        *p.releases.entry(name.to_string()).or_insert(0) += 1;
        cv.notify_all();
    }

    pub fn hit(name: &str) -> std::io::Result<()> {
        // Reads the environment once (the first hit).
        let _ = table();
        if !ARMED.load(Ordering::Acquire) {
            return Ok(());
        }
        let action = {
            let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
            let Some((rule, hits)) = table.get_mut(name) else {
                return Ok(());
            };
            *hits += 1;
            match rule.on_hit {
                Some(n) if n != *hits => return Ok(()),
                _ => rule.action.clone(),
            }
        };
        match action {
            Action::Panic => panic!("failpoint `{name}` fired"),
            Action::Abort => {
                eprintln!("failpoint `{name}` fired: aborting the process");
                std::process::abort()
            }
            Action::Sleep(d) => std::thread::sleep(d),
            Action::Pause => pause(name),
            Action::Enospc => {
                tracing::warn!(failpoint = %name, "failpoint fired: failing with a full disk");
                return Err(super::no_space());
            }
        }
        Ok(())
    }

    pub fn set(name: &str, rule: Rule) {
        let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
        table.insert(name.to_string(), (rule, 0));
        ARMED.store(true, Ordering::Release);
    }

    pub fn clear(name: &str) {
        let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
        table.remove(name);
    }
}

/// The environment variable read for failpoints (with the `failpoints` feature).
pub const ENV: &str = "HYPERSTACK_FAILPOINTS";

/// Whether this build has failpoints (the `failpoints` cargo feature).
pub const ENABLED: bool = cfg!(feature = "failpoints");

/// Runs the failpoint `name`'s action, if it is configured; nothing otherwise.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    let _ = active::hit(name);
}

/// Runs the failpoint `name`'s action, if it is configured; nothing otherwise (this build has
/// no failpoints: the call compiles to nothing).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

/// [`hit`] at a place that can fail with an I/O error: the `enospc` action returns the error
/// a full disk gives ("no space left on device"), for the caller to handle as a real one.
#[cfg(feature = "failpoints")]
pub fn hit_io(name: &str) -> std::io::Result<()> {
    active::hit(name)
}

/// [`hit`] at a place that can fail with an I/O error (this build has no failpoints: always
/// `Ok`, compiled to nothing).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit_io(_name: &str) -> std::io::Result<()> {
    Ok(())
}

/// The error of a full disk, as the operating system reports it (`ENOSPC` on Unix).
#[cfg(feature = "failpoints")]
fn no_space() -> std::io::Error {
    #[cfg(unix)]
    {
        // ENOSPC: "No space left on device", kind StorageFull.
        std::io::Error::from_raw_os_error(28)
    }
    #[cfg(not(unix))]
    {
        std::io::Error::from(std::io::ErrorKind::StorageFull)
    }
}

/// Arms the failpoint `name` (replacing its rule and hit count). Without the `failpoints`
/// feature this does nothing.
pub fn set(name: &str, rule: Rule) {
    #[cfg(feature = "failpoints")]
    active::set(name, rule);
    #[cfg(not(feature = "failpoints"))]
    let _ = (name, rule);
}

/// How many threads are paused at the failpoint `name` now (its `pause` action). Always 0
/// without the `failpoints` feature.
pub fn paused(name: &str) -> usize {
    #[cfg(feature = "failpoints")]
    return active::paused(name);
    #[cfg(not(feature = "failpoints"))]
    {
        let _ = name;
        0
    }
}

/// Blocks until a thread is paused at the failpoint `name` (its `pause` action). Without
/// the `failpoints` feature nothing ever pauses: do not call it then (it returns at once).
pub fn wait_paused(name: &str) {
    #[cfg(feature = "failpoints")]
    active::wait_paused(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Lets every thread paused at the failpoint `name` go on. Without the `failpoints` feature
/// this does nothing.
pub fn release(name: &str) {
    #[cfg(feature = "failpoints")]
    active::release(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Disarms the failpoint `name`. Without the `failpoints` feature this does nothing.
pub fn clear(name: &str) {
    #[cfg(feature = "failpoints")]
    active::clear(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_actions_and_hit_counts() {
        let rules =
            parse(" bus.publish=panic; store.commit = 2*abort;x=sleep(250);y=enospc;z=pause")
                .unwrap();
        assert_eq!(
            rules,
            vec![
                (
                    "bus.publish".to_string(),
                    Rule {
                        action: Action::Panic,
                        on_hit: None
                    }
                ),
                (
                    "store.commit".to_string(),
                    Rule {
                        action: Action::Abort,
                        on_hit: Some(2)
                    }
                ),
                (
                    "x".to_string(),
                    Rule {
                        action: Action::Sleep(Duration::from_millis(250)),
                        on_hit: None
                    }
                ),
                (
                    "y".to_string(),
                    Rule {
                        action: Action::Enospc,
                        on_hit: None
                    }
                ),
                (
                    "z".to_string(),
                    Rule {
                        action: Action::Pause,
                        on_hit: None
                    }
                ),
            ]
        );
        for bad in ["nope", "a=explode", "a=0*panic", "a=sleep(x)"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "failpoints")]
    #[test]
    fn fires_on_the_configured_hit_only() {
        set(
            "test.second",
            Rule {
                action: Action::Panic,
                on_hit: Some(2),
            },
        );
        hit("test.second");
        let second = std::panic::catch_unwind(|| hit("test.second"));
        assert!(second.is_err(), "the second hit panics");
        hit("test.second");
        clear("test.second");
        hit("unconfigured");
        set(
            "test.full",
            Rule {
                action: Action::Enospc,
                on_hit: None,
            },
        );
        let e = hit_io("test.full").expect_err("a full disk");
        assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
        hit("test.full");
        clear("test.full");
        assert!(hit_io("test.full").is_ok());
    }

    #[cfg(feature = "failpoints")]
    #[test]
    fn a_paused_thread_waits_for_its_release() {
        set(
            "test.pause",
            Rule {
                action: Action::Pause,
                on_hit: Some(1),
            },
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            hit("test.pause");
            tx.send(()).expect("the test waits");
            // The rule fires on the first hit only.
            hit("test.pause");
        });
        wait_paused("test.pause");
        assert_eq!(paused("test.pause"), 1);
        assert!(rx.try_recv().is_err(), "still paused until released");
        release("test.pause");
        rx.recv().expect("went on after the release");
        worker.join().expect("no panic");
        assert_eq!(paused("test.pause"), 0);
        clear("test.pause");
    }
}
