//! Counters for `/metrics` (Prometheus text format).
//!
//! One [`Metrics`] value is shared as `Arc<Metrics>` by every stage; all updates are atomic and
//! never block (the one exception, decode errors by kind, takes a short mutex). Views are
//! addressed by their index in the list given to [`Metrics::new`]; an index out of range is
//! ignored rather than a panic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

mod bootstrap;
mod edge;
mod resolver;
mod resume;
mod store;

use bootstrap::BootstrapMetrics;
use edge::EdgeMetrics;
pub use edge::RefusalReason;
use resolver::ResolverMetrics;
use resume::ResumeMetrics;
pub use resume::ResumeOutcome;
use store::StoreMetrics;

/// Counters of one view.
#[derive(Debug, Default)]
struct ViewCounters {
    subscriptions: AtomicU64,
    frames_sent: AtomicU64,
    bytes_sent: AtomicU64,
}

/// Server-wide counters and gauges, rendered by [`Metrics::render_prometheus`].
#[derive(Debug)]
pub struct Metrics {
    view_names: Vec<String>,
    views: Vec<ViewCounters>,
    clients: AtomicU64,
    connections_total: AtomicU64,
    frames_sent: AtomicU64,
    bytes_sent: AtomicU64,
    dropped_lagging: AtomicU64,
    ingest_events: AtomicU64,
    ingest_lag_ms: AtomicU64,
    decode_errors: Mutex<BTreeMap<String, u64>>,
    unresolved_dropped: Mutex<BTreeMap<&'static str, u64>>,
    unresolved_waiting: AtomicU64,
    store: StoreMetrics,
    resolvers: ResolverMetrics,
    edge: EdgeMetrics,
    bootstrap: BootstrapMetrics,
    resumes: ResumeMetrics,
}

/// Adds to a counter without ever wrapping.
fn add(counter: &AtomicU64, n: u64) {
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_add(n))
    });
}

/// Decrements a gauge, stopping at zero.
fn decrement(gauge: &AtomicU64) {
    let _ = gauge.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(1))
    });
}

impl Metrics {
    /// Counters for the given views (names like `Token/list`, in the order used by the indices
    /// passed to the per-view methods).
    pub fn new(view_names: Vec<String>) -> Metrics {
        let views = view_names.iter().map(|_| ViewCounters::default()).collect();
        Metrics {
            view_names,
            views,
            clients: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            frames_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            dropped_lagging: AtomicU64::new(0),
            ingest_events: AtomicU64::new(0),
            ingest_lag_ms: AtomicU64::new(0),
            decode_errors: Mutex::new(BTreeMap::new()),
            unresolved_dropped: Mutex::new(BTreeMap::new()),
            unresolved_waiting: AtomicU64::new(0),
            store: StoreMetrics::default(),
            resolvers: ResolverMetrics::default(),
            edge: EdgeMetrics::default(),
            bootstrap: BootstrapMetrics::default(),
            resumes: ResumeMetrics::default(),
        }
    }

    /// The view names, in index order.
    pub fn view_names(&self) -> &[String] {
        &self.view_names
    }

    /// The index of the view called `name`, if it is known.
    pub fn view_index(&self, name: &str) -> Option<usize> {
        self.view_names.iter().position(|v| v == name)
    }

    /// A WebSocket client connected.
    pub fn client_connected(&self) {
        add(&self.clients, 1);
        add(&self.connections_total, 1);
    }

    /// A WebSocket client disconnected.
    pub fn client_disconnected(&self) {
        decrement(&self.clients);
    }

    /// Clients connected now.
    pub fn clients(&self) -> u64 {
        self.clients.load(Ordering::Relaxed)
    }

    /// A client subscribed to view `view`.
    pub fn subscribed(&self, view: usize) {
        if let Some(v) = self.views.get(view) {
            add(&v.subscriptions, 1);
        }
    }

    /// A client's subscription to view `view` ended.
    pub fn unsubscribed(&self, view: usize) {
        if let Some(v) = self.views.get(view) {
            decrement(&v.subscriptions);
        }
    }

    /// Subscriptions to view `view` now (0 for an unknown index).
    pub fn subscriptions(&self, view: usize) -> u64 {
        self.views
            .get(view)
            .map_or(0, |v| v.subscriptions.load(Ordering::Relaxed))
    }

    /// A frame of `bytes` bytes was sent to one client; `view` names the view it belongs to,
    /// `None` for frames of no view (pong, errors).
    pub fn frame_sent(&self, view: Option<usize>, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        add(&self.frames_sent, 1);
        add(&self.bytes_sent, bytes);
        if let Some(v) = view.and_then(|i| self.views.get(i)) {
            add(&v.frames_sent, 1);
            add(&v.bytes_sent, bytes);
        }
    }

    /// Frames sent to clients, all views together.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent.load(Ordering::Relaxed)
    }

    /// Bytes sent to clients, all views together.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// A client was dropped because its queue was full.
    pub fn client_dropped_lagging(&self) {
        add(&self.dropped_lagging, 1);
    }

    /// A subscription carried a cursor; what became of it.
    pub(crate) fn resume(&self, outcome: ResumeOutcome) {
        self.resumes.record(outcome);
    }

    /// Subscriptions whose cursor had this outcome so far.
    pub fn resumes(&self, outcome: ResumeOutcome) -> u64 {
        self.resumes.count(outcome)
    }

    /// Clients dropped for lagging so far.
    pub fn clients_dropped_lagging(&self) -> u64 {
        self.dropped_lagging.load(Ordering::Relaxed)
    }

    /// An upstream event was ingested; `lag` is its delay behind the chain, when known.
    pub fn ingest_event(&self, lag: Option<Duration>) {
        add(&self.ingest_events, 1);
        if let Some(lag) = lag {
            let ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX);
            self.ingest_lag_ms.store(ms, Ordering::Relaxed);
        }
    }

    /// Upstream events ingested so far.
    pub fn ingest_events(&self) -> u64 {
        self.ingest_events.load(Ordering::Relaxed)
    }

    /// An update could not be decoded; `kind` is a short class (`account`, `instruction`, …).
    pub fn decode_error(&self, kind: &str) {
        let mut map = self.decode_errors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(kind) {
            *n = n.saturating_add(1);
        } else {
            map.insert(kind.to_string(), 1);
        }
    }

    /// Decode errors of `kind` so far.
    pub fn decode_errors(&self, kind: &str) -> u64 {
        let map = self.decode_errors.lock().unwrap_or_else(|e| e.into_inner());
        map.get(kind).copied().unwrap_or(0)
    }

    /// `n` items that waited for a lookup were dropped, for `reason` (`expired`,
    /// `per_key_limit`, `total_limit`).
    pub fn unresolved_dropped(&self, reason: &'static str, n: u64) {
        let mut map = self
            .unresolved_dropped
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let v = map.entry(reason).or_insert(0);
        *v = v.saturating_add(n);
    }

    /// Items dropped for `reason` so far.
    pub fn unresolved_dropped_total(&self, reason: &str) -> u64 {
        let map = self
            .unresolved_dropped
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.get(reason).copied().unwrap_or(0)
    }

    /// Items waiting for a lookup now.
    pub fn set_unresolved_waiting(&self, n: usize) {
        self.unresolved_waiting.store(n as u64, Ordering::Relaxed);
    }

    /// Reports the state store's size and reads (read when `/metrics` is rendered).
    pub(crate) fn attach_store(
        &self,
        store: crate::store::Store,
        stats: std::sync::Arc<crate::store::hot::HotStats>,
    ) {
        self.store.attach(store, stats);
    }

    /// The engine committed a batch of `updates` updates in `took`.
    pub fn store_committed(&self, took: Duration, updates: usize) {
        self.store.committed(took, updates);
    }

    /// Records of `kind` (`entities`, `states`, `lookups`, `accounts`, `signatures`) held in
    /// memory now: the largest hot set of that kind.
    pub fn set_store_hot_records(&self, kind: &str, n: usize) {
        self.store.set_hot_records(kind, n);
    }

    /// A store error stopped ingestion (a failed commit: a full or failing disk).
    pub fn ingestion_halted(&self) {
        self.store.halted();
    }

    /// Store errors that stopped ingestion so far (0 or 1 per run: ingestion stops at the
    /// first).
    pub fn store_errors(&self) -> u64 {
        self.store.errors()
    }

    /// State store commits so far.
    pub fn store_commits(&self) -> u64 {
        self.store.commits()
    }

    /// Records of `kind` of the state store in memory, as last reported.
    pub fn store_hot_records(&self, kind: &str) -> u64 {
        self.store.hot_records(kind)
    }

    /// Records read from disk because they were not in memory, so far.
    pub fn store_disk_reads(&self) -> u64 {
        self.store.disk_reads()
    }

    /// A resolver event: `resolver` (`token_metadata`) had `outcome` (`cache_hit`,
    /// `store_hit`, `requested`, `deferred`, `found`, `not_found`, `invalid_input`, `error`).
    pub fn resolver_event(&self, resolver: &'static str, outcome: &'static str) {
        self.resolvers.event(resolver, outcome);
    }

    /// Resolver events of `resolver` with `outcome` so far.
    pub fn resolver_events(&self, resolver: &str, outcome: &str) -> u64 {
        self.resolvers.events(resolver, outcome)
    }

    /// `n` accounts read from the RPC endpoint by a bootstrap.
    pub fn bootstrap_accounts(&self, n: u64) {
        self.bootstrap.accounts(n);
    }

    /// A bootstrap attempt failed (it is retried).
    pub fn bootstrap_error(&self) {
        self.bootstrap.error();
    }

    /// A bootstrap read every account.
    pub fn bootstrap_completed(&self) {
        self.bootstrap.completed();
    }

    /// The upstream refused to replay from the checkpoint; `slots` it could not replay.
    pub fn checkpoint_gap(&self, slots: u64) {
        self.bootstrap.gap(slots);
    }

    /// Bootstrap counters: accounts, failed attempts, completed bootstraps, checkpoint gaps,
    /// slots of the last gap.
    pub fn bootstrap_counts(&self) -> [u64; 5] {
        self.bootstrap.counts()
    }

    /// A connection, message or request was refused for `reason` (the first of each reason
    /// is logged).
    pub fn refused(&self, reason: RefusalReason) {
        self.edge.refused(reason);
    }

    /// Refusals for `reason` so far.
    pub fn refusals(&self, reason: RefusalReason) -> u64 {
        self.edge.refusals(reason)
    }

    /// The bus handled a client command; `streak` is how many it handled in a row while a
    /// committed batch waited.
    pub(crate) fn bus_command(&self, streak: u64) {
        self.edge.bus_command(streak);
    }

    /// The bus fanned out a committed batch.
    pub(crate) fn bus_batch(&self) {
        self.edge.bus_batch();
    }

    /// Commands handled, batches fanned out, and the longest run of commands handled while a
    /// batch waited (the bus's fairness: 1 when it alternates).
    pub fn bus_counts(&self) -> (u64, u64, u64) {
        self.edge.bus_counts()
    }

    /// A snapshot was encoded for a subscription (no encoding of its view version was kept
    /// or under way).
    pub(crate) fn snapshot_encoded(&self) {
        self.edge.snapshot_encoded();
    }

    /// A subscription got a snapshot encoded for another one of the same view version.
    pub(crate) fn snapshot_shared(&self) {
        self.edge.snapshot_shared();
    }

    /// `n` finished snapshots were evicted from the bus's bounded cache (logged once).
    pub(crate) fn snapshot_cache_evicted(&self, n: u64) {
        self.edge.snapshot_cache_evicted(n);
    }

    /// Append-view frames sent to delta subscriptions as deltas and as full upserts, and keys
    /// those subscriptions forgot at their bound (logged once).
    pub(crate) fn delta_frames(&self, deltas: u64, full: u64, evicted: u64) {
        self.edge.delta_frames(deltas, full, evicted);
    }

    /// Append-view frames sent to delta subscriptions as deltas, as full upserts, and keys
    /// forgotten at the bound, so far.
    pub fn delta_counts(&self) -> (u64, u64, u64) {
        self.edge.delta_counts()
    }

    /// Snapshots encoded, snapshots shared, and cached snapshots evicted, so far.
    pub fn snapshot_counts(&self) -> (u64, u64, u64) {
        self.edge.snapshot_counts()
    }

    /// All counters in the Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(2048 + self.view_names.len() * 256);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let values = [
            &self.clients,
            &self.connections_total,
            &self.frames_sent,
            &self.bytes_sent,
            &self.dropped_lagging,
            &self.ingest_events,
            &self.ingest_lag_ms,
        ]
        .map(load);
        for (family, value) in SIMPLE.into_iter().zip(values) {
            let name = header(&mut out, family);
            let _ = writeln!(out, "hyperstack_{name} {value}");
        }

        type ViewField = fn(&ViewCounters) -> &AtomicU64;
        let fields: [ViewField; 3] = [|v| &v.subscriptions, |v| &v.frames_sent, |v| &v.bytes_sent];
        for (family, field) in PER_VIEW.into_iter().zip(fields) {
            let name = header(&mut out, family);
            for (view, counters) in self.view_names.iter().zip(&self.views) {
                let _ = writeln!(
                    out,
                    "hyperstack_{name}{{view=\"{}\"}} {}",
                    escape_label(view),
                    load(field(counters))
                );
            }
        }

        header(&mut out, DECODE_ERRORS);
        let map = self.decode_errors.lock().unwrap_or_else(|e| e.into_inner());
        for (kind, n) in map.iter() {
            let _ = writeln!(
                out,
                "hyperstack_decode_errors_total{{kind=\"{}\"}} {n}",
                escape_label(kind)
            );
        }
        drop(map);
        let name = header(
            &mut out,
            "unresolved_waiting gauge Events and instructions waiting for a lookup entry.",
        );
        let _ = writeln!(
            out,
            "hyperstack_{name} {}",
            self.unresolved_waiting.load(Ordering::Relaxed)
        );
        let name = header(
            &mut out,
            "unresolved_dropped_total counter Items that waited for a lookup entry and were dropped, by reason.",
        );
        let dropped = self
            .unresolved_dropped
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for reason in ["expired", "per_key_limit", "total_limit"] {
            let _ = writeln!(
                out,
                "hyperstack_{name}{{reason=\"{reason}\"}} {}",
                dropped.get(reason).copied().unwrap_or(0)
            );
        }
        drop(dropped);
        self.store.render(&mut out);
        self.resolvers.render(&mut out);
        self.edge.render(&mut out);
        self.bootstrap.render(&mut out);
        self.resumes.render(&mut out);
        out
    }
}

/// Server-wide families, each `"name type help"` (name after `hyperstack_`), in the order of
/// the values gathered by [`Metrics::render_prometheus`].
const SIMPLE: [&str; 7] = [
    "websocket_clients gauge WebSocket clients connected now.",
    "websocket_connections_total counter WebSocket clients accepted since start.",
    "frames_sent_total counter Frames sent to clients.",
    "bytes_sent_total counter Bytes of frames sent to clients.",
    "clients_dropped_lagging_total counter Clients dropped because their queue was full.",
    "ingest_events_total counter Upstream events ingested.",
    "ingest_lag_milliseconds gauge Delay of the last ingested event behind the chain.",
];

/// Per-view families (label `view`), in the order of the fields in `render_prometheus`.
const PER_VIEW: [&str; 3] = [
    "subscriptions gauge Active subscriptions per view.",
    "view_frames_sent_total counter Frames sent per view.",
    "view_bytes_sent_total counter Bytes sent per view.",
];

/// Decode errors (label `kind`).
const DECODE_ERRORS: &str =
    "decode_errors_total counter Updates that could not be decoded, by kind.";

/// Writes the `# HELP` and `# TYPE` lines of `family` (`"name type help"`); returns the name.
fn header<'a>(out: &mut String, family: &'a str) -> &'a str {
    let mut parts = family.splitn(3, ' ');
    let (name, kind, help) = (parts.next(), parts.next(), parts.next());
    let (name, kind, help) = (
        name.unwrap_or(""),
        kind.unwrap_or("untyped"),
        help.unwrap_or(""),
    );
    let _ = writeln!(out, "# HELP hyperstack_{name} {help}");
    let _ = writeln!(out, "# TYPE hyperstack_{name} {kind}");
    name
}
/// Escapes a label value: backslash, double quote and line feed.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(vec!["Token/list".into(), "Token/state".into()])
    }

    #[test]
    fn gauges_go_up_and_down_without_underflow() {
        let m = metrics();
        m.client_connected();
        m.client_connected();
        m.client_disconnected();
        assert_eq!(m.clients(), 1);
        m.client_disconnected();
        m.client_disconnected();
        assert_eq!(m.clients(), 0, "never below zero");

        m.subscribed(0);
        m.subscribed(0);
        m.subscribed(1);
        m.unsubscribed(0);
        assert_eq!((m.subscriptions(0), m.subscriptions(1)), (1, 1));
        m.unsubscribed(1);
        m.unsubscribed(1);
        assert_eq!(m.subscriptions(1), 0);
    }

    #[test]
    fn unknown_view_indices_are_ignored() {
        let m = metrics();
        m.subscribed(7);
        m.unsubscribed(7);
        m.frame_sent(Some(7), 10);
        assert_eq!(m.subscriptions(7), 0);
        assert_eq!(
            (m.frames_sent(), m.bytes_sent()),
            (1, 10),
            "still counted in the totals"
        );
        assert_eq!(m.view_index("Token/state"), Some(1));
        assert_eq!(m.view_index("Nope/list"), None);
    }

    #[test]
    fn renders_every_family_with_help_type_and_labels() {
        let m = metrics();
        m.client_connected();
        m.subscribed(0);
        m.frame_sent(Some(0), 100);
        m.frame_sent(Some(1), 20);
        m.frame_sent(None, 3);
        m.client_dropped_lagging();
        m.ingest_event(Some(Duration::from_millis(1_500)));
        m.ingest_event(None);
        m.decode_error("account");
        m.decode_error("account");
        m.decode_error("instruction");
        m.resolver_event("token_metadata", "found");
        m.resolver_event("token_metadata", "found");
        m.resolver_event("token_metadata", "error");
        let text = m.render_prometheus();
        for line in [
            "# HELP hyperstack_websocket_clients ",
            "# TYPE hyperstack_websocket_clients gauge",
            "hyperstack_websocket_clients 1",
            "hyperstack_websocket_connections_total 1",
            "# TYPE hyperstack_frames_sent_total counter",
            "hyperstack_frames_sent_total 3",
            "hyperstack_bytes_sent_total 123",
            "hyperstack_clients_dropped_lagging_total 1",
            "hyperstack_ingest_events_total 2",
            "hyperstack_ingest_lag_milliseconds 1500",
            "hyperstack_subscriptions{view=\"Token/list\"} 1",
            "hyperstack_subscriptions{view=\"Token/state\"} 0",
            "hyperstack_view_frames_sent_total{view=\"Token/list\"} 1",
            "hyperstack_view_bytes_sent_total{view=\"Token/list\"} 100",
            "hyperstack_view_bytes_sent_total{view=\"Token/state\"} 20",
            "hyperstack_decode_errors_total{kind=\"account\"} 2",
            "hyperstack_decode_errors_total{kind=\"instruction\"} 1",
            "# TYPE hyperstack_resolver_events_total counter",
            "hyperstack_resolver_events_total{resolver=\"token_metadata\",outcome=\"found\"} 2",
            "hyperstack_resolver_events_total{resolver=\"token_metadata\",outcome=\"error\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(line)),
                "missing {line:?} in\n{text}"
            );
        }
        assert_eq!(m.decode_errors("account"), 2);
        assert_eq!(m.decode_errors("other"), 0);
        assert_eq!(m.resolver_events("token_metadata", "found"), 2);
        assert_eq!(m.resolver_events("token_metadata", "cache_hit"), 0);
        // Every sample line is `name{labels} value` or `name value`, and every family is typed once.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<u64>().is_ok(), "bad sample {line:?}");
            assert!(line.starts_with("hyperstack_"));
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new(vec!["a\"b\\c\nd".into()]);
        m.decode_error("x\"y");
        let text = m.render_prometheus();
        assert!(
            text.contains("hyperstack_subscriptions{view=\"a\\\"b\\\\c\\nd\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("hyperstack_decode_errors_total{kind=\"x\\\"y\"} 1"),
            "{text}"
        );
    }
}
