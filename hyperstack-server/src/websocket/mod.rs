//! The WebSocket edge: the listener ([`accept`]: handshake timeout, TLS, token and origin
//! checks, `max_clients` and per-address limits, backoff on accept errors), one task per
//! client ([`client`]: message size and rate limits, pings, write timeouts, ordered replies,
//! flush at shutdown), and the wire messages ([`protocol`]).

mod accept;
mod client;
mod limits;
pub mod protocol;

pub(crate) use accept::{accept_loop, Edge};
pub(crate) use client::ClientContext;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Live connection count (complete handshakes only), bounded by `max_clients`.
#[derive(Default)]
pub(crate) struct Connections {
    count: AtomicUsize,
}

/// One counted connection; leaves the count on drop.
pub(crate) struct Counted(Arc<Connections>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Connections {
    /// Counts a connection unless `max` are open.
    fn enter(this: &Arc<Connections>, max: usize) -> Option<Counted> {
        this.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Counted(this.clone()))
    }

    /// Current connections.
    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}
