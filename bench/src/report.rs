//! The run [`Report`] (JSON via serde) and its table form.

use serde::Serialize;

use crate::stats::Latency;

/// The figures of the clients on one view.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ViewFigures {
    /// Full view name.
    pub view: String,
    /// Measured clients on it.
    pub clients: usize,
    /// Live frames they received.
    pub frames: u64,
    /// Frames per second over the run's window.
    pub frames_per_s: f64,
    /// Receive − send latency of its frames.
    pub latency: Latency,
    /// Updates expected but never seen.
    pub lost: u64,
    /// Frames repeating or preceding a seen update of the same key.
    pub out_of_order: u64,
}

/// What one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Preset name.
    pub preset: String,
    /// Server: `in-process`, `spawned` or the external URL.
    pub server: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix_s: u64,
    /// Machine load averages (1, 5, 15 min) when the run started.
    pub load_before: [f64; 3],
    /// … and when it ended.
    pub load_after: [f64; 3],
    /// Subscribed views (client `i` on `views[i % len]`).
    pub views: Vec<String>,
    /// Measured clients (excluding a slow client).
    pub clients: usize,
    /// Curves the updates were spread over.
    pub keys: u64,
    /// Target rate (updates/s), `None` = as fast as delivery allows.
    pub target_rate: Option<f64>,
    /// Updates sent in the measured phase.
    pub updates: u64,
    /// Seconds from the first measured send to the last frame received (or the drain end).
    pub window_s: f64,
    /// Updates per second over the window.
    pub ingest_updates_per_s: f64,
    /// Live frames received by the measured clients.
    pub frames: u64,
    /// Frames per second over the window.
    pub frames_per_s: f64,
    /// Distinct updates delivered in order within their key, per second over the window (frames
    /// without the repeats and the out-of-order ones).
    pub in_order_per_s: f64,
    /// Message bytes per second over the window (as received: gzip'd frames compressed).
    pub bytes_per_s: f64,
    /// Receive time − feeder send time of the matching update.
    pub latency: Latency,
    /// Updates expected by the measured clients but never seen (per key: an update counts as
    /// seen when it arrives after every earlier update of its key that arrived).
    pub lost: u64,
    /// Frames repeating or preceding an already seen update of the same key.
    pub out_of_order: u64,
    /// Frames preceding an already seen update of another key. Informational: servers order
    /// frames per key only.
    pub cross_key_reorders: u64,
    /// Measured clients that got an error frame or were closed early.
    pub failed_clients: usize,
    /// Seconds until all clients were connected and their views loaded.
    pub connect_s: f64,
    /// Snapshot: rows each client of a view with a snapshot received (minimum over them).
    pub snapshot_rows_min: Option<u64>,
    /// Snapshot: seconds from subscribe to `complete: true`, p50 / p99 / max over clients.
    pub snapshot_s: Option<[f64; 3]>,
    /// Server RSS (bytes) before the clients connected.
    pub rss_before: u64,
    /// Server RSS (bytes) with every client connected, none subscribed.
    pub rss_connected: u64,
    /// Server RSS (bytes) with every client subscribed and its view loaded.
    pub rss_subscribed: u64,
    /// Server RSS (bytes) at the end of the measured phase (peak of the samples).
    pub rss_peak: u64,
    /// (rss_connected − rss_before) / clients: memory per idle connection.
    pub mem_per_connection_bytes: f64,
    /// (rss_subscribed − rss_connected) / clients: memory per subscription (with its snapshot
    /// delivered).
    pub mem_per_subscription_bytes: f64,
    /// Server CPU seconds used during the measured phase.
    pub cpu_s: f64,
    /// Server CPU use during the window, in cores (cpu_s / window_s).
    pub cpu_cores: f64,
    /// Whether RSS/CPU include the load generator (in-process server).
    pub rss_includes_load_tool: bool,
    /// Per view, when there are several.
    pub per_view: Vec<ViewFigures>,
    /// Slow-client preset: p99 of the same run without the slow client (ms).
    pub baseline_p99_ms: Option<f64>,
    /// Slow-client preset: whether the server dropped the slow client (lagged).
    pub slow_client_dropped: Option<bool>,
    /// Abuse preset: server RSS peak of the baseline run (no abusive clients).
    pub baseline_rss_peak: Option<u64>,
    /// Abuse preset: what the abusive clients did.
    pub abuse: Option<crate::abuse::AbuseFigures>,
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn latency(l: &Latency) -> String {
    format!(
        "{:.3} / {:.3} / {:.3} / {:.3} ms ({} samples)",
        l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.samples
    )
}

fn loads(l: [f64; 3]) -> String {
    format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
}

impl Report {
    /// A two-column text table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut row = |k: &str, v: String| rows.push((k.to_string(), v));
        row("preset", self.preset.clone());
        row("server", self.server.clone());
        row(
            "load before/after",
            format!("{} / {}", loads(self.load_before), loads(self.load_after)),
        );
        row("views", self.views.join(", "));
        row("clients", self.clients.to_string());
        row("keys", self.keys.to_string());
        row(
            "target rate",
            self.target_rate
                .map_or("max (closed loop)".into(), |r| format!("{r:.0} updates/s")),
        );
        row("updates", self.updates.to_string());
        row("window", format!("{:.3} s", self.window_s));
        row(
            "ingest",
            format!("{:.0} updates/s", self.ingest_updates_per_s),
        );
        row("frames", self.frames.to_string());
        row("delivered", format!("{:.0} frames/s", self.frames_per_s));
        row(
            "delivered in order",
            format!("{:.0} updates/s", self.in_order_per_s),
        );
        row(
            "delivered bytes",
            format!("{:.1} MB/s", self.bytes_per_s / 1e6),
        );
        row("latency p50/p90/p99/max", latency(&self.latency));
        row("lost", self.lost.to_string());
        row("out of order (per key)", self.out_of_order.to_string());
        row("reordered across keys", self.cross_key_reorders.to_string());
        row("failed clients", self.failed_clients.to_string());
        row("connect + load views", format!("{:.3} s", self.connect_s));
        if let Some(r) = self.snapshot_rows_min {
            row("snapshot rows (min)", r.to_string());
        }
        if let Some([p50, p99, max]) = self.snapshot_s {
            row(
                "snapshot p50/p99/max",
                format!("{p50:.3} / {p99:.3} / {max:.3} s"),
            );
        }
        row(
            "server RSS before/connected/subscribed/peak",
            format!(
                "{} / {} / {} / {}",
                mib(self.rss_before),
                mib(self.rss_connected),
                mib(self.rss_subscribed),
                mib(self.rss_peak)
            ),
        );
        row(
            "memory per connection/subscription",
            format!(
                "{:.1} / {:.1} kB",
                self.mem_per_connection_bytes / 1e3,
                self.mem_per_subscription_bytes / 1e3
            ),
        );
        row(
            "server CPU",
            format!("{:.2} s ({:.2} cores)", self.cpu_s, self.cpu_cores),
        );
        if self.rss_includes_load_tool {
            row("note", "in-process: RSS/CPU include the load tool".into());
        }
        if self.per_view.len() > 1 {
            for v in &self.per_view {
                row(
                    &format!("{} ({} clients)", v.view, v.clients),
                    format!(
                        "{:.0} frames/s, lost {}, out of order {}, latency {}",
                        v.frames_per_s,
                        v.lost,
                        v.out_of_order,
                        latency(&v.latency)
                    ),
                );
            }
        }
        if let Some(p) = self.baseline_p99_ms {
            let what = if self.abuse.is_some() {
                "baseline p99 (no abusive clients)"
            } else {
                "baseline p99 (no slow client)"
            };
            row(what, format!("{p:.3} ms"));
        }
        if let Some(b) = self.baseline_rss_peak {
            row("baseline server RSS peak", mib(b));
        }
        if let Some(a) = &self.abuse {
            row(
                "abusive clients",
                format!(
                    "{}: oversized {} sent / {} closed 1009; churn {} subscribes, {} rate_limited, {} closed; silent {} connections, {} closed; {} connects failed",
                    a.abusers,
                    a.oversized_sent,
                    a.oversized_closed_1009,
                    a.churn_subscribes,
                    a.churn_rate_limited,
                    a.churn_closed,
                    a.silent_connections,
                    a.silent_closed,
                    a.connect_failures
                ),
            );
            row("server RSS after the abusers left", mib(a.rss_after));
        }
        if let Some(d) = self.slow_client_dropped {
            row("slow client dropped", d.to_string());
        }
        let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{k:<w$}  {v}\n"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_every_view_of_a_mixed_run() {
        let mut r = Report {
            preset: "mixed".into(),
            views: vec!["Token/list".into(), "Token/state".into()],
            ..Report::default()
        };
        for v in &r.views.clone() {
            r.per_view.push(ViewFigures {
                view: v.clone(),
                clients: 1,
                ..ViewFigures::default()
            });
        }
        let t = r.table();
        assert!(t.contains("Token/list (1 clients)") && t.contains("Token/state (1 clients)"));
        assert!(t.contains("out of order (per key)"));
    }
}
