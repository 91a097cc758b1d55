//! Every preset at a tiny scale against the in-process server: each completes and reports no
//! lost frames (the slow-client preset: none among the measured clients), no frame out of
//! order within a key, and every snapshot row; the slow client is dropped. Never timings.

use hyperstack_bench::{run, Config, Preset, Report};

fn check(ok: bool, what: &str, preset: Preset, report: &Report) {
    assert!(ok, "{}: {what}\n{}", preset.name(), report.table());
}

async fn smoke(preset: Preset) -> Report {
    let config = Config::preset(preset, 0.01);
    let report = run(&config)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", preset.name()));
    check(report.lost == 0, "lost frames", preset, &report);
    check(
        report.out_of_order == 0,
        "frames out of order within a key",
        preset,
        &report,
    );
    check(
        report.failed_clients == 0,
        "failed clients",
        preset,
        &report,
    );
    check(report.updates > 0, "no updates", preset, &report);
    check(
        report.frames >= report.updates,
        "fewer frames than updates",
        preset,
        &report,
    );
    check(
        report.per_view.len() == config.views.len()
            && report
                .per_view
                .iter()
                .all(|v| v.clients > 0 && v.frames > 0 && v.lost == 0),
        "a view without clients, frames, or with losses",
        preset,
        &report,
    );
    if config.preload > 0 && !config.views.is_empty() {
        check(
            report.snapshot_rows_min.is_some_and(|r| r > 0),
            "a client got no snapshot rows",
            preset,
            &report,
        );
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout() {
    smoke(Preset::Fanout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency() {
    smoke(Preset::Latency).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot() {
    let report = smoke(Preset::Snapshot).await;
    let config = Config::preset(Preset::Snapshot, 0.01);
    check(
        report.snapshot_rows_min == Some(config.preload),
        "a snapshot missed rows",
        Preset::Snapshot,
        &report,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle() {
    smoke(Preset::Idle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client() {
    let report = smoke(Preset::SlowClient).await;
    check(
        report.slow_client_dropped == Some(true),
        "the client that never reads was not dropped",
        Preset::SlowClient,
        &report,
    );
    check(
        report.baseline_p99_ms.is_some(),
        "no baseline run",
        Preset::SlowClient,
        &report,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed() {
    let report = smoke(Preset::Mixed).await;
    check(
        report.per_view.len() == 4,
        "the mixed preset has four views",
        Preset::Mixed,
        &report,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse() {
    let report = smoke(Preset::Abuse).await;
    let figures = report.abuse.clone().unwrap_or_default();
    check(
        report.baseline_p99_ms.is_some() && report.baseline_rss_peak.is_some(),
        "no baseline run",
        Preset::Abuse,
        &report,
    );
    check(
        figures.abusers == 3
            && figures.oversized_sent > 0
            && figures.churn_subscribes > 0
            && figures.silent_connections > 0,
        "an abusive client kind did not run",
        Preset::Abuse,
        &report,
    );
}
