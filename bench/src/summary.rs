//! `bench summary <dir>`: the side-by-side table of a comparison sitting.
//!
//! Reads the JSON reports named `<preset>.<server>.<rep>.json` (as `bench/reference/compare.sh`
//! writes them), groups them by preset and server, and prints a Markdown table with the
//! median and the spread (min–max) of each preset's figures, and the ratio of the medians of
//! `ours` to `reference`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// How a figure is read from a report.
type Figure = (&'static str, fn(&Value) -> Option<f64>);

fn num(v: &Value, path: &str) -> Option<f64> {
    v.pointer(path).and_then(Value::as_f64)
}

fn mib(v: &Value, path: &str) -> Option<f64> {
    num(v, path).map(|b| b / (1024.0 * 1024.0))
}

/// The figures shown for a preset.
fn figures(preset: &str) -> Vec<Figure> {
    let lost: Figure = ("lost", |v| num(v, "/lost"));
    let ooo: Figure = ("out of order (per key)", |v| num(v, "/out_of_order"));
    let cross: Figure = ("reordered across keys", |v| num(v, "/cross_key_reorders"));
    let fps: Figure = ("delivered frames/s", |v| num(v, "/frames_per_s"));
    let good: Figure = ("… of them new and in order per key, /s", |v| {
        num(v, "/in_order_per_s")
    });
    let cpu: Figure = ("server CPU (cores)", |v| num(v, "/cpu_cores"));
    let per_core: Figure = ("frames/s per server core", |v| {
        Some(num(v, "/frames_per_s")? / num(v, "/cpu_cores")?.max(1e-9))
    });
    let p50: Figure = ("latency p50 (ms)", |v| num(v, "/latency/p50_ms"));
    let p99: Figure = ("latency p99 (ms)", |v| num(v, "/latency/p99_ms"));
    let peak: Figure = ("server RSS peak (MiB)", |v| mib(v, "/rss_peak"));
    match preset {
        "fanout" => vec![fps, good, cpu, per_core, p99, peak, lost, ooo, cross],
        "latency" => vec![p50, p99, fps, cpu, peak, lost, ooo, cross],
        "snapshot" | "snapshot-500" => vec![
            ("snapshot complete p50 (s)", |v| num(v, "/snapshot_s/0")),
            ("snapshot complete max (s)", |v| num(v, "/snapshot_s/2")),
            ("snapshot rows (min)", |v| num(v, "/snapshot_rows_min")),
            ("server RSS before clients (MiB)", |v| mib(v, "/rss_before")),
            peak,
            p99,
            lost,
            ooo,
        ],
        "idle" => vec![
            ("memory per idle connection (kB)", |v| {
                Some(num(v, "/mem_per_connection_bytes")? / 1e3)
            }),
            ("memory per subscription (kB)", |v| {
                Some(num(v, "/mem_per_subscription_bytes")? / 1e3)
            }),
            ("server RSS subscribed (MiB)", |v| mib(v, "/rss_subscribed")),
            ("connect + load (s)", |v| num(v, "/connect_s")),
            p50,
            p99,
            lost,
        ],
        "slow-client-baseline" => vec![p50, p99, lost, ooo],
        "abuse-baseline" => vec![p50, p99, peak, lost, ooo],
        "abuse" => vec![
            p50,
            p99,
            peak,
            ("server RSS after the abusers left (MiB)", |v| {
                mib(v, "/abuse/rss_after")
            }),
            ("abusive clients", |v| num(v, "/abuse/abusers")),
            lost,
            ooo,
        ],
        "slow-client" => vec![
            p50,
            p99,
            ("slow client dropped (1 = yes)", |v| {
                v.pointer("/slow_client_dropped")
                    .and_then(Value::as_bool)
                    .map(|d| if d { 1.0 } else { 0.0 })
            }),
            lost,
            ooo,
        ],
        _ => vec![fps, good, p50, p99, cpu, peak, lost, ooo, cross],
    }
}

/// Median and (min, max) of the values.
fn stats(mut v: Vec<f64>) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[0], v[n - 1]))
}

/// `x` rounded, with thousands separators.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::from(if x < 0.0 { "-" } else { "" });
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt(x: f64) -> String {
    let a = x.abs();
    if a >= 10_000.0 {
        thousands(x)
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn cell(s: Option<(f64, f64, f64)>, runs: usize) -> String {
    match s {
        Some((m, lo, hi)) if runs > 1 => format!("{} ({}–{})", fmt(m), fmt(lo), fmt(hi)),
        Some((m, _, _)) => fmt(m),
        None => "—".into(),
    }
}

/// The Markdown table of the reports in `dir`.
pub fn summarize(dir: &Path) -> anyhow::Result<String> {
    // preset → server → reports
    let mut runs: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let parts: Vec<&str> = stem.rsplitn(3, '.').collect();
        let [_rep, server, preset] = parts[..] else {
            continue;
        };
        let text = std::fs::read_to_string(&path)?;
        if text.trim().is_empty() {
            continue; // a failed run leaves an empty file; the run's log says why
        }
        let report: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a report", path.display()))?;
        if !order.iter().any(|p| p == preset) {
            order.push(preset.to_string());
        }
        runs.entry(preset.to_string())
            .or_default()
            .entry(server.to_string())
            .or_default()
            .push(report);
    }
    let rank = |p: &str| {
        [
            "fanout",
            "latency",
            "snapshot",
            "snapshot-500",
            "idle",
            "slow-client-baseline",
            "slow-client",
            "mixed",
            "abuse-baseline",
            "abuse",
        ]
        .iter()
        .position(|q| *q == p)
        .unwrap_or(usize::MAX)
    };
    order.sort_by_key(|p| (rank(p), p.clone()));
    let mut out = String::from(
        "| preset | figure | ours: median (min–max) | reference: median (min–max) | ours / reference |\n| --- | --- | --- | --- | --- |\n",
    );
    for preset in &order {
        let servers = &runs[preset];
        let empty = Vec::new();
        let ours = servers.get("ours").unwrap_or(&empty);
        let reference = servers.get("reference").unwrap_or(&empty);
        let load: Figure = ("machine load (1 min) at start", |v| {
            num(v, "/load_before/0")
        });
        for (label, read) in figures(preset).into_iter().chain([load]) {
            let a = stats(ours.iter().filter_map(read).collect());
            let b = stats(reference.iter().filter_map(read).collect());
            let ratio = match (a, b) {
                (Some((x, _, _)), Some((y, _, _))) if y != 0.0 => format!("{:.2}", x / y),
                _ => "—".into(),
            };
            out.push_str(&format!(
                "| {preset} ({}/{} runs) | {label} | {} | {} | {ratio} |\n",
                ours.len(),
                reference.len(),
                cell(a, ours.len()),
                cell(b, reference.len()),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_spreads_and_ratios_come_from_the_files() {
        let dir = std::env::temp_dir().join(format!("bench-summary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (server, rep, fps) in [
            ("ours", 1, 300.0),
            ("ours", 2, 100.0),
            ("ours", 3, 200.0),
            ("reference", 1, 50.0),
            ("reference", 2, 150.0),
        ] {
            let r = serde_json::json!({"frames_per_s": fps, "cpu_cores": 1.0, "lost": 0});
            std::fs::write(
                dir.join(format!("fanout.{server}.{rep}.json")),
                r.to_string(),
            )
            .unwrap();
        }
        std::fs::write(dir.join("fanout.reference.3.json"), "").unwrap();
        let table = summarize(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let row = table
            .lines()
            .find(|l| l.contains("delivered frames/s"))
            .unwrap();
        assert_eq!(
            row,
            "| fanout (3/2 runs) | delivered frames/s | 200 (100–300) | 100 (50.00–150) | 2.00 |"
        );
        assert_eq!(fmt(1_234_567.0), "1,234,567");
        assert_eq!(fmt(-12_345.0), "-12,345");
    }
}
