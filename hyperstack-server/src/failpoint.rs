//! Failpoints: named places in the code where a test can make the server fail for real (a
//! panic inside a task, the process aborting between a store write and its commit, a stall).
//!
//! [`hit`] does nothing unless the crate is built with the `failpoints` cargo feature *and*
//! the failpoint is configured — from the `HYPERSTACK_FAILPOINTS` environment variable, read
//! once, or with [`set`]. Without the feature, [`hit`] is an empty inline function.
//!
//! `HYPERSTACK_FAILPOINTS` holds `name=action` pairs separated by `;`, where an action is
//! `panic`, `abort` (the process ends at once, like `kill -9`: nothing is flushed),
//! `sleep(<ms>)`, `enospc` (a place that can fail with an I/O error fails with "no space left
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
            other => {
                let ms = other
                    .strip_prefix("sleep(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|ms| ms.trim().parse::<u64>().ok())
                    .ok_or_else(|| bad("action must be panic, abort, enospc or sleep(<ms>)"))?;
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
    use std::sync::{Mutex, OnceLock};

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
            parse(" bus.publish=panic; store.commit = 2*abort;x=sleep(250);y=enospc").unwrap();
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
}
