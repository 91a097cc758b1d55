//! Counters of the network edge: refusals by reason, and the bus's fairness.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{add, header};

/// Why a connection, a message or a request was refused (label `reason` of
/// `hyperstack_websocket_refused_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// A message larger than `max_message_size` (closed 1009).
    MessageTooLarge,
    /// A message that is not valid JSON or not a known shape.
    MalformedMessage,
    /// A subscription to a view that does not exist.
    UnknownView,
    /// A key that does not fit its view.
    BadKey,
    /// A `view` longer than `max_view_length`.
    ViewTooLong,
    /// A `key` longer than `max_key_length`.
    KeyTooLong,
    /// A subscription beyond `max_subscriptions_per_client`.
    TooManySubscriptions,
    /// A subscribe beyond `subscribe_rate`.
    RateLimited,
    /// Messages beyond `message_rate` (closed 1008).
    MessageRate,
    /// A connection beyond `max_clients` (closed 1013).
    ServerFull,
    /// A connection beyond `max_connections_per_ip` (closed 1008).
    IpLimit,
    /// A handshake that did not complete within the handshake timeout.
    HandshakeTimeout,
    /// A handshake that failed (not a WebSocket upgrade, TLS error, connection reset).
    HandshakeFailed,
    /// A TCP connection closed at once: `max_pending_handshakes` were under way.
    HandshakeCapacity,
    /// An upgrade without a valid token (HTTP 401).
    Unauthorized,
    /// An upgrade from a browser origin not allowed (HTTP 403).
    OriginNotAllowed,
    /// A peer that did not answer a ping in time (closed 1008).
    PingTimeout,
    /// A write that blocked longer than the write timeout (connection dropped).
    WriteTimeout,
    /// A subscription whose snapshot could not be read.
    SnapshotFailed,
}

impl RefusalReason {
    /// Every reason, in the order of the rendered samples.
    pub const ALL: [RefusalReason; 19] = [
        RefusalReason::MessageTooLarge,
        RefusalReason::MalformedMessage,
        RefusalReason::UnknownView,
        RefusalReason::BadKey,
        RefusalReason::ViewTooLong,
        RefusalReason::KeyTooLong,
        RefusalReason::TooManySubscriptions,
        RefusalReason::RateLimited,
        RefusalReason::MessageRate,
        RefusalReason::ServerFull,
        RefusalReason::IpLimit,
        RefusalReason::HandshakeTimeout,
        RefusalReason::HandshakeFailed,
        RefusalReason::HandshakeCapacity,
        RefusalReason::Unauthorized,
        RefusalReason::OriginNotAllowed,
        RefusalReason::PingTimeout,
        RefusalReason::WriteTimeout,
        RefusalReason::SnapshotFailed,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::MessageTooLarge => "message_too_large",
            RefusalReason::MalformedMessage => "malformed_message",
            RefusalReason::UnknownView => "unknown_view",
            RefusalReason::BadKey => "bad_key",
            RefusalReason::ViewTooLong => "view_too_long",
            RefusalReason::KeyTooLong => "key_too_long",
            RefusalReason::TooManySubscriptions => "too_many_subscriptions",
            RefusalReason::RateLimited => "rate_limited",
            RefusalReason::MessageRate => "message_rate",
            RefusalReason::ServerFull => "server_full",
            RefusalReason::IpLimit => "ip_limit",
            RefusalReason::HandshakeTimeout => "handshake_timeout",
            RefusalReason::HandshakeFailed => "handshake_failed",
            RefusalReason::HandshakeCapacity => "handshake_capacity",
            RefusalReason::Unauthorized => "unauthorized",
            RefusalReason::OriginNotAllowed => "origin_not_allowed",
            RefusalReason::PingTimeout => "ping_timeout",
            RefusalReason::WriteTimeout => "write_timeout",
            RefusalReason::SnapshotFailed => "snapshot_failed",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// The edge's counters.
#[derive(Debug, Default)]
pub(super) struct EdgeMetrics {
    refused: [AtomicU64; RefusalReason::ALL.len()],
    bus_commands: AtomicU64,
    bus_batches: AtomicU64,
    bus_streak_max: AtomicU64,
    snapshots_encoded: AtomicU64,
    snapshots_shared: AtomicU64,
    snapshot_evictions: AtomicU64,
    delta_sent: AtomicU64,
    delta_full: AtomicU64,
    delta_evicted: AtomicU64,
}

impl EdgeMetrics {
    /// Counts a refusal; the first of each reason is logged (each one is logged at debug
    /// level where it happens).
    pub fn refused(&self, reason: RefusalReason) {
        let counter = &self.refused[reason.index()];
        if counter.load(Ordering::Relaxed) == 0 {
            tracing::info!(
                reason = reason.as_str(),
                "first refusal of this kind; all are counted in hyperstack_websocket_refused_total"
            );
        }
        add(counter, 1);
    }

    pub fn refusals(&self, reason: RefusalReason) -> u64 {
        self.refused[reason.index()].load(Ordering::Relaxed)
    }

    pub fn bus_command(&self, streak: u64) {
        add(&self.bus_commands, 1);
        self.bus_streak_max.fetch_max(streak, Ordering::Relaxed);
    }

    pub fn bus_batch(&self) {
        add(&self.bus_batches, 1);
    }

    pub fn bus_counts(&self) -> (u64, u64, u64) {
        (
            self.bus_commands.load(Ordering::Relaxed),
            self.bus_batches.load(Ordering::Relaxed),
            self.bus_streak_max.load(Ordering::Relaxed),
        )
    }

    pub fn snapshot_encoded(&self) {
        add(&self.snapshots_encoded, 1);
    }

    pub fn snapshot_shared(&self) {
        add(&self.snapshots_shared, 1);
    }

    pub fn snapshot_cache_evicted(&self, n: u64) {
        if n > 0 && self.snapshot_evictions.fetch_add(n, Ordering::Relaxed) == 0 {
            tracing::info!(
                "first eviction from the snapshot cache (its byte bound is reached; an evicted snapshot is encoded again when asked for); all are counted in hyperstack_snapshot_cache_evictions_total"
            );
        }
    }

    pub fn delta_frames(&self, deltas: u64, full: u64, evicted: u64) {
        add(&self.delta_sent, deltas);
        add(&self.delta_full, full);
        if evicted > 0 && self.delta_evicted.fetch_add(evicted, Ordering::Relaxed) == 0 {
            tracing::info!(
                "first key forgotten by a delta subscription (its bound of keys held is reached; that key's next frame is sent as a full upsert); all are counted in hyperstack_append_delta_keys_evicted_total"
            );
        }
    }

    pub fn delta_counts(&self) -> (u64, u64, u64) {
        (
            self.delta_sent.load(Ordering::Relaxed),
            self.delta_full.load(Ordering::Relaxed),
            self.delta_evicted.load(Ordering::Relaxed),
        )
    }

    pub fn snapshot_counts(&self) -> (u64, u64, u64) {
        (
            self.snapshots_encoded.load(Ordering::Relaxed),
            self.snapshots_shared.load(Ordering::Relaxed),
            self.snapshot_evictions.load(Ordering::Relaxed),
        )
    }

    pub fn render(&self, out: &mut String) {
        let name = header(
            out,
            "websocket_refused_total counter Connections, messages and requests refused, by reason.",
        );
        for reason in RefusalReason::ALL {
            let _ = writeln!(
                out,
                "hyperstack_{name}{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.refusals(reason)
            );
        }
        let (commands, batches, streak) = self.bus_counts();
        let (encoded, shared, evicted) = self.snapshot_counts();
        let (deltas, full, forgotten) = self.delta_counts();
        let name = header(
            out,
            "append_delta_frames_total counter Append-view frames sent to subscriptions that asked for deltas, by encoding (full: the entity's first frame for the subscription, or a key it no longer remembers).",
        );
        for (encoding, value) in [("delta", deltas), ("full", full)] {
            let _ = writeln!(out, "hyperstack_{name}{{encoding=\"{encoding}\"}} {value}");
        }
        for (family, value) in [
            ("snapshots_encoded_total counter Snapshots encoded (once per view version and range).", encoded),
            ("snapshots_shared_total counter Subscriptions served a snapshot encoded for another subscription of the same view version.", shared),
            ("snapshot_cache_evictions_total counter Encoded snapshots evicted from the bus's bounded cache (encoded again when asked for).", evicted),
            ("append_delta_keys_evicted_total counter Keys a delta subscription forgot at its bound (their next frame is a full upsert).", forgotten),
            ("bus_commands_total counter Client commands the bus handled.", commands),
            ("bus_batches_total counter Committed batches the bus fanned out.", batches),
            (
                "bus_command_streak_max gauge Most client commands the bus handled in a row while a committed batch waited.",
                streak,
            ),
        ] {
            let name = header(out, family);
            let _ = writeln!(out, "hyperstack_{name} {value}");
        }
    }
}
