//! Streams of a view's changes: lazy (nothing is subscribed before the first poll), sharing
//! one subscription and one merged store per view, unsubscribing when the last one is
//! dropped; typed ([`EntityStream`], [`RichEntityStream`]) and composable with the
//! operators in [`ops`].

pub mod ops;
mod typed;

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use crate::connection::{Command, ConnectionHandle, Target};
use crate::store::Change;

pub use typed::{EntityStream, RichEntityStream};

enum Phase {
    Idle,
    Active {
        id: u64,
        rx: mpsc::UnboundedReceiver<Change>,
    },
    Done,
}

/// The untyped stream of changes of one or more subscriptions, registered on first poll.
pub(crate) struct ChangeStream {
    conn: Option<ConnectionHandle>,
    targets: Vec<Target>,
    rich: bool,
    phase: Phase,
}

impl ChangeStream {
    pub(crate) fn new(conn: ConnectionHandle, targets: Vec<Target>, rich: bool) -> ChangeStream {
        ChangeStream {
            conn: Some(conn),
            targets,
            rich,
            phase: Phase::Idle,
        }
    }

    /// A stream of a view handle bound to no connection: it ends at once (after a warning).
    pub(crate) fn detached(view: &str) -> ChangeStream {
        tracing::warn!(%view, "watching a view of a detached ViewContext: the stream ends at once (use HyperStack::views)");
        ChangeStream {
            conn: None,
            targets: Vec::new(),
            rich: false,
            phase: Phase::Done,
        }
    }
}

impl Stream for ChangeStream {
    type Item = Change;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        let this = self.get_mut();
        if let (Phase::Idle, Some(conn)) = (&this.phase, &this.conn) {
            let (tx, rx) = mpsc::unbounded_channel();
            let id = conn.next_id();
            let cmd = Command::Listen {
                id,
                targets: std::mem::take(&mut this.targets),
                tx,
                rich: this.rich,
            };
            this.phase = if conn.command(cmd).is_ok() {
                Phase::Active { id, rx }
            } else {
                Phase::Done
            };
        }
        match &mut this.phase {
            Phase::Active { rx, .. } => rx.poll_recv(cx),
            _ => Poll::Ready(None),
        }
    }
}

impl Drop for ChangeStream {
    fn drop(&mut self) {
        if let (Phase::Active { id, .. }, Some(conn)) = (&self.phase, &self.conn) {
            let _ = conn.command(Command::Unlisten { id: *id });
        }
    }
}
