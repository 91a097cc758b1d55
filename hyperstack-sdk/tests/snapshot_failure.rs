//! A snapshot that fails part way (the server streams snapshots, so `subscribed` and some
//! batches may have arrived before the `error` frame): the read fails with the server's
//! error, nothing of the partial snapshot is returned, and the next read gets the whole view.
//! The real server, its encoder failed through the `snapshot.batch` failpoint (`enospc`).

mod common;

use common::*;
use hyperstack_sdk::HyperStackError;
use hyperstack_server::failpoint::{self, Action, Rule};
use hyperstack_server::EntityCacheConfig;
use serde_json::json;

const ROWS: usize = 500;

#[tokio::test]
async fn a_snapshot_failing_after_some_batches_fails_the_read_and_keeps_nothing() {
    let server = start_with(EntityCacheConfig {
        initial_snapshot_batch_size: 10,
        subsequent_snapshot_batch_size: 50,
        ..EntityCacheConfig::default()
    })
    .await;
    let tx = server.mutations();
    for i in 0..ROWS {
        tx.send(token(&format!("k{i:04}"), json!({"trade_count": i})))
            .await
            .expect("sent");
    }
    tx.drained().await;
    let hs = connect(&server).await;

    // The encoder fails after handing over its second batch.
    failpoint::set(
        "snapshot.batch",
        Rule {
            action: Action::Enospc,
            on_hit: Some(2),
        },
    );
    let failed = within("the failed read", hs.try_list::<RawToken>()).await;
    match failed {
        Err(HyperStackError::Server { code, view, .. }) => {
            assert_eq!(code, "snapshot_failed");
            assert_eq!(view.as_deref(), Some("Token/list"));
        }
        other => panic!("expected the server's snapshot_failed, got {other:?}"),
    }
    failpoint::clear("snapshot.batch");

    let rows = within("the next read", hs.try_list::<RawToken>())
        .await
        .expect("a whole snapshot");
    assert_eq!(rows.len(), ROWS);
}
