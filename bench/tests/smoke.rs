//! Every preset at a tiny scale against the in-process server: each completes and reports no
//! lost frames (the slow-client preset: none among the measured clients). Never timings.

use hyperstack_bench::{run, Config, Preset};

async fn smoke(preset: Preset) {
    let config = Config::preset(preset, 0.01);
    let report = run(&config)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", preset.name()));
    assert_eq!(
        report.lost,
        0,
        "{}: lost frames\n{}",
        preset.name(),
        report.table()
    );
    assert_eq!(
        report.failed_clients,
        0,
        "{}\n{}",
        preset.name(),
        report.table()
    );
    assert!(report.updates > 0, "{}\n{}", preset.name(), report.table());
    assert!(
        report.frames >= report.updates,
        "{}\n{}",
        preset.name(),
        report.table()
    );
    if preset == Preset::Snapshot {
        assert_eq!(report.snapshot_rows_min, Some(config.preload));
    }
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
    smoke(Preset::Snapshot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle() {
    smoke(Preset::Idle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client() {
    smoke(Preset::SlowClient).await;
}
