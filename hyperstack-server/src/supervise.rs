//! Supervision: the server's critical tasks (engine, bus, ingestion, HTTP endpoint, WebSocket
//! listener) are watched, and the first one that fails — panics, returns an error, or stops
//! while the server is not stopping — makes the whole server fail loudly: the stream health
//! becomes `Error`, `/ready` answers 503, every client is closed with 1011, and the run call
//! (`run_until_signal`, `start`) returns the failure so a process supervisor restarts the
//! process. A finite source (a replay without looping) that delivered everything is not a
//! failure, and neither is a state store that cannot be written (a full disk): the engine
//! halts ingestion and keeps serving the last commit (crate::engine, halt.rs), since a
//! restart would not make room on the disk.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::health::{HealthMonitor, StreamStatus};

/// Which critical task failed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The task: `engine`, `bus`, `ingest`, `http`, `websocket`.
    pub task: &'static str,
    /// What happened (a panic's message, the error).
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} task failed: {}", self.task, self.reason)
    }
}

/// How client connections are told to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseAll {
    /// Serving.
    Open,
    /// Graceful shutdown: flush what is queued, then close with 1001.
    Shutdown,
    /// A critical task failed: close with 1011 now.
    Failure,
}

/// How a critical task ended.
#[derive(Debug)]
pub(crate) enum TaskExit {
    /// It stopped because the server is stopping (or it is done and may be).
    Done,
    /// A finite job that is allowed to end at any time (a replay that delivered everything).
    Finished,
    /// It failed.
    Failed(String),
}

struct Inner {
    failure: watch::Sender<Option<Failure>>,
    stopping: AtomicBool,
    health: HealthMonitor,
    ready: Arc<AtomicBool>,
    close: watch::Sender<CloseAll>,
}

/// Watches the critical tasks; clones share everything.
#[derive(Clone)]
pub(crate) struct Supervisor {
    inner: Arc<Inner>,
}

impl Supervisor {
    pub fn new(health: HealthMonitor, ready: Arc<AtomicBool>) -> Supervisor {
        Supervisor {
            inner: Arc::new(Inner {
                failure: watch::channel(None).0,
                stopping: AtomicBool::new(false),
                health,
                ready,
                close: watch::channel(CloseAll::Open).0,
            }),
        }
    }

    /// What client tasks watch to know when to close.
    pub fn close_signal(&self) -> watch::Receiver<CloseAll> {
        self.inner.close.subscribe()
    }

    /// Tells every client to close (`Shutdown` once the bus is drained).
    pub fn close_clients(&self, how: CloseAll) {
        self.inner.close.send_if_modified(|cur| {
            // A failure's 1011 is never downgraded to a shutdown's 1001.
            let change = *cur != how && *cur != CloseAll::Failure;
            if change {
                *cur = how;
            }
            change
        });
    }

    /// The first failure, once there is one.
    pub fn failure(&self) -> Option<Failure> {
        self.inner.failure.borrow().clone()
    }

    /// A receiver of the failure (for `/ready`, `/health` and the run call).
    pub fn failures(&self) -> watch::Receiver<Option<Failure>> {
        self.inner.failure.subscribe()
    }

    /// From now on, tasks that end are not failures.
    pub fn stopping(&self) {
        self.inner.stopping.store(true, Ordering::Release);
    }

    fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Acquire)
    }

    /// Records a failure (the first one wins) and makes it visible everywhere.
    pub async fn fail(&self, task: &'static str, reason: String) {
        let failure = Failure { task, reason };
        let first = self.inner.failure.send_if_modified(|cur| {
            let first = cur.is_none();
            if first {
                *cur = Some(failure.clone());
            }
            first
        });
        if !first {
            tracing::error!(task, reason = %failure.reason, "another critical task failed");
            return;
        }
        tracing::error!(task, reason = %failure.reason, "critical task failed: the server is failing (health error, /ready 503, clients closed with 1011)");
        self.inner.ready.store(false, Ordering::Release);
        let status = format!("server failed: the {task} task failed");
        self.inner.health.record_error(status.clone()).await;
        self.inner
            .health
            .set_status(StreamStatus::Error(status))
            .await;
        self.close_clients(CloseAll::Failure);
    }

    /// Judges how a task ended.
    async fn judge(&self, task: &'static str, exit: Result<TaskExit, String>) {
        match exit {
            Ok(TaskExit::Finished) => {
                tracing::debug!(task, "task finished its finite work")
            }
            Ok(TaskExit::Done) if self.is_stopping() => {}
            Ok(TaskExit::Done) => {
                self.fail(task, "stopped while the server was running".into())
                    .await
            }
            Ok(TaskExit::Failed(reason)) => self.fail(task, reason).await,
            Err(panic) => self.fail(task, panic).await,
        }
    }

    /// Spawns a critical task; its end is judged (a panic is caught and is a failure).
    pub fn spawn<F>(&self, task: &'static str, fut: F) -> JoinHandle<()>
    where
        F: Future<Output = TaskExit> + Send + 'static,
    {
        let this = self.clone();
        tokio::spawn(async move {
            let exit = AssertUnwindSafe(fut)
                .catch_unwind()
                .await
                .map_err(|p| format!("panicked: {}", panic_message(&*p)));
            this.judge(task, exit).await;
        })
    }

    /// Watches a critical thread (the engine) from a blocking worker; the returned task ends
    /// when the thread does.
    pub fn watch_thread<E: fmt::Display + Send + 'static>(
        &self,
        task: &'static str,
        thread: std::thread::JoinHandle<Result<(), E>>,
    ) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            let exit = match joined {
                Ok(Ok(Ok(()))) => Ok(TaskExit::Done),
                Ok(Ok(Err(e))) => Ok(TaskExit::Failed(e.to_string())),
                Ok(Err(p)) => Err(format!("panicked: {}", panic_message(&*p))),
                Err(e) => Err(format!("could not be watched: {e}")),
            };
            this.judge(task, exit).await;
        })
    }
}

/// The message of a panic payload.
fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HealthConfig;

    fn supervisor() -> (Supervisor, HealthMonitor, Arc<AtomicBool>) {
        let health = HealthMonitor::new(HealthConfig::default());
        let ready = Arc::new(AtomicBool::new(true));
        (
            Supervisor::new(health.clone(), ready.clone()),
            health,
            ready,
        )
    }

    #[tokio::test]
    async fn a_panicking_task_fails_the_server() {
        let (s, health, ready) = supervisor();
        let close = s.close_signal();
        s.spawn("bus", async { panic!("boom") }).await.unwrap();
        let f = s.failure().expect("a failure");
        assert_eq!(f.task, "bus");
        assert!(f.reason.contains("boom"), "{}", f.reason);
        assert!(!ready.load(Ordering::Acquire));
        assert!(matches!(health.status().await, StreamStatus::Error(_)));
        assert_eq!(*close.borrow(), CloseAll::Failure);
        s.close_clients(CloseAll::Shutdown);
        assert_eq!(*close.borrow(), CloseAll::Failure, "never downgraded");
    }

    #[tokio::test]
    async fn ends_are_judged_by_kind_and_phase() {
        let (s, _, ready) = supervisor();
        s.spawn("ingest", async { TaskExit::Finished })
            .await
            .unwrap();
        assert_eq!(s.failure(), None, "a finished replay is no failure");
        s.stopping();
        s.spawn("http", async { TaskExit::Done }).await.unwrap();
        assert_eq!(s.failure(), None, "stopping while stopping is no failure");
        assert!(ready.load(Ordering::Acquire));
        s.spawn("ingest", async { TaskExit::Failed("gave up".into()) })
            .await
            .unwrap();
        assert_eq!(s.failure().map(|f| f.task), Some("ingest"));

        let (s, _, _) = supervisor();
        s.spawn("websocket", async { TaskExit::Done })
            .await
            .unwrap();
        assert!(
            s.failure().is_some_and(|f| f.reason.contains("stopped")),
            "stopping unasked is a failure"
        );
    }

    #[tokio::test]
    async fn a_thread_that_errs_or_panics_fails_the_server() {
        let (s, _, _) = supervisor();
        let t = std::thread::spawn(|| -> Result<(), String> { Err("disk full".into()) });
        s.watch_thread("engine", t).await.unwrap();
        assert_eq!(s.failure().map(|f| f.reason), Some("disk full".into()));
        let (s, _, _) = supervisor();
        let t = std::thread::spawn(|| -> Result<(), String> { panic!("engine boom") });
        s.watch_thread("engine", t).await.unwrap();
        assert!(s
            .failure()
            .is_some_and(|f| f.reason.contains("engine boom")));
    }
}
