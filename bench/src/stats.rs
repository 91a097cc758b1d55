//! Measurement helpers: a log-linear latency histogram, `/proc` sampling of a process's RSS and
//! CPU time, and the run [`Report`] with its table form.

use serde::Serialize;

/// Sub-buckets per power of two (relative error below 1/64).
const SUB_BITS: u32 = 6;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) << SUB_BITS;

/// A log-linear histogram of nanosecond values (about 1.6 % resolution).
#[derive(Clone, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

fn bucket_of(v: u64) -> usize {
    if v < (1 << SUB_BITS) {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let shift = exp - SUB_BITS;
    let mantissa = (v >> shift) as usize & ((1 << SUB_BITS) - 1);
    (((shift + 1) as usize) << SUB_BITS) + mantissa
}

fn bucket_floor(b: usize) -> u64 {
    let group = b >> SUB_BITS;
    let mantissa = (b & ((1 << SUB_BITS) - 1)) as u64;
    if group == 0 {
        return mantissa;
    }
    let shift = (group - 1) as u32;
    ((1u64 << SUB_BITS) | mantissa) << shift
}

impl Histogram {
    /// Records one value.
    pub fn record(&mut self, v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket_of(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1), as the lower bound of its bucket; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_floor(b).min(self.max);
            }
        }
        self.max
    }

    /// The largest value recorded.
    pub fn max(&self) -> u64 {
        self.max
    }
}

/// A process's resource use read from `/proc/<pid>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// Resident set size in bytes.
    pub rss: u64,
    /// User + system CPU time in seconds.
    pub cpu_s: f64,
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat` (`None` = this process).
pub fn sample(pid: Option<u32>) -> ProcSample {
    let dir = pid.map_or_else(|| "/proc/self".to_string(), |p| format!("/proc/{p}"));
    let rss = std::fs::read_to_string(format!("{dir}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024);
    let cpu_s = std::fs::read_to_string(format!("{dir}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the `(comm)`: state is field 3; utime 14, stime 15.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            // SAFETY: sysconf has no preconditions.
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
            Some(ticks as f64 / hz)
        })
        .unwrap_or(0.0);
    ProcSample { rss, cpu_s }
}

/// Latency quantiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Frames measured.
    pub samples: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    /// Quantiles of a histogram of nanoseconds.
    pub fn of(h: &Histogram) -> Latency {
        let ms = |ns: u64| ns as f64 / 1e6;
        Latency {
            samples: h.count(),
            p50_ms: ms(h.quantile(0.50)),
            p90_ms: ms(h.quantile(0.90)),
            p99_ms: ms(h.quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Preset name.
    pub preset: String,
    /// Server: `in-process`, `spawned` or the external URL.
    pub server: String,
    /// Subscribed view.
    pub view: String,
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
    /// Message bytes per second over the window (as received: gzip'd frames compressed).
    pub bytes_per_s: f64,
    /// Receive time − feeder send time of the matching update.
    pub latency: Latency,
    /// Frames expected by subscribed measured clients but never seen.
    pub lost: u64,
    /// Frames seen twice or out of order.
    pub out_of_order: u64,
    /// Measured clients that got an error frame or were closed early.
    pub failed_clients: usize,
    /// Seconds until all clients were connected and subscribed (snapshot complete).
    pub connect_s: f64,
    /// Snapshot: rows each client received (minimum over clients).
    pub snapshot_rows_min: Option<u64>,
    /// Snapshot: seconds from subscribe to `complete: true`, p50 / p99 / max over clients.
    pub snapshot_s: Option<[f64; 3]>,
    /// Server RSS (bytes) before the clients connected.
    pub rss_before: u64,
    /// Server RSS (bytes) at the end of the measured phase (peak of the samples).
    pub rss_peak: u64,
    /// Server CPU seconds used during the measured phase.
    pub cpu_s: f64,
    /// Server CPU use during the window, in cores (cpu_s / window_s).
    pub cpu_cores: f64,
    /// Whether RSS/CPU include the load generator (in-process server).
    pub rss_includes_load_tool: bool,
    /// Slow-client preset: p99 of the same run without the slow client (ms).
    pub baseline_p99_ms: Option<f64>,
    /// Slow-client preset: whether the server dropped the slow client (lagged).
    pub slow_client_dropped: Option<bool>,
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

impl Report {
    /// A two-column text table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(&str, String)> = vec![
            ("preset", self.preset.clone()),
            ("server", self.server.clone()),
            ("view", self.view.clone()),
            ("clients", self.clients.to_string()),
            ("keys", self.keys.to_string()),
            (
                "target rate",
                self.target_rate
                    .map_or("max (closed loop)".into(), |r| format!("{r:.0} updates/s")),
            ),
            ("updates", self.updates.to_string()),
            ("window", format!("{:.3} s", self.window_s)),
            (
                "ingest",
                format!("{:.0} updates/s", self.ingest_updates_per_s),
            ),
            ("frames", self.frames.to_string()),
            ("delivered", format!("{:.0} frames/s", self.frames_per_s)),
            (
                "delivered bytes",
                format!("{:.1} MB/s", self.bytes_per_s / 1e6),
            ),
            (
                "latency p50/p90/p99/max",
                format!(
                    "{:.3} / {:.3} / {:.3} / {:.3} ms ({} samples)",
                    self.latency.p50_ms,
                    self.latency.p90_ms,
                    self.latency.p99_ms,
                    self.latency.max_ms,
                    self.latency.samples
                ),
            ),
            ("lost", self.lost.to_string()),
            ("out of order", self.out_of_order.to_string()),
            ("failed clients", self.failed_clients.to_string()),
            ("connect + subscribe", format!("{:.3} s", self.connect_s)),
        ];
        if let Some(r) = self.snapshot_rows_min {
            rows.push(("snapshot rows (min)", r.to_string()));
        }
        if let Some([p50, p99, max]) = self.snapshot_s {
            rows.push((
                "snapshot p50/p99/max",
                format!("{p50:.3} / {p99:.3} / {max:.3} s"),
            ));
        }
        rows.push((
            "server RSS before/peak",
            format!("{} / {}", mib(self.rss_before), mib(self.rss_peak)),
        ));
        rows.push((
            "server CPU",
            format!("{:.2} s ({:.2} cores)", self.cpu_s, self.cpu_cores),
        ));
        if self.rss_includes_load_tool {
            rows.push(("note", "in-process: RSS/CPU include the load tool".into()));
        }
        if let Some(p) = self.baseline_p99_ms {
            rows.push(("baseline p99 (no slow client)", format!("{p:.3} ms")));
        }
        if let Some(d) = self.slow_client_dropped {
            rows.push(("slow client dropped", d.to_string()));
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
    fn histogram_quantiles_are_within_two_percent() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1_000);
        }
        for (q, want) in [(0.5, 50_000_000.0), (0.99, 99_000_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.02, "{q}: {got} vs {want}");
        }
        assert_eq!(h.max(), 100_000_000);
        assert_eq!(bucket_floor(bucket_of(37)), 37);
    }

    #[test]
    fn this_process_has_rss() {
        assert!(sample(None).rss > 0);
    }
}
