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

use crate::client::HyperStack;
use crate::connection::{Command, Target};
use crate::store::Change;

pub(crate) use typed::decode;
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
    conn: HyperStack,
    targets: Vec<Target>,
    rich: bool,
    phase: Phase,
}

impl ChangeStream {
    pub(crate) fn new(conn: HyperStack, targets: Vec<Target>, rich: bool) -> ChangeStream {
        ChangeStream {
            conn,
            targets,
            rich,
            phase: Phase::Idle,
        }
    }
}

impl Stream for ChangeStream {
    type Item = Change;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        let this = self.get_mut();
        if let Phase::Idle = this.phase {
            let (tx, rx) = mpsc::unbounded_channel();
            let id = this.conn.next_id();
            let cmd = Command::Listen {
                id,
                targets: std::mem::take(&mut this.targets),
                tx,
                rich: this.rich,
            };
            this.phase = if this.conn.command(cmd).is_ok() {
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
        if let Phase::Active { id, .. } = self.phase {
            let _ = self.conn.command(Command::Unlisten { id });
        }
    }
}
