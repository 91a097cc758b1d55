//! The feeder against a real Yellowstone gRPC client: the subscription whose account filter
//! matches the curves gets every update naming its filters and carrying a signature; a
//! slots/sysvar subscription beside it stays open and quiet; a second feed subscription is
//! refused while the first holds the feed.

use std::collections::HashMap;

use futures_util::{FutureExt, StreamExt};
use hyperstack_bench::feeder::{self, Feeder, PROGRAM};
use yellowstone_grpc_client::GeyserGrpcClient;
use yellowstone_grpc_proto::prelude::*;

fn accounts(name: &str, account: &[&str], owner: &[&str]) -> SubscribeRequest {
    SubscribeRequest {
        accounts: HashMap::from([(
            name.to_string(),
            SubscribeRequestFilterAccounts {
                account: account.iter().map(|s| s.to_string()).collect(),
                owner: owner.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        )]),
        ..Default::default()
    }
}

async fn client(url: &str) -> GeyserGrpcClient {
    GeyserGrpcClient::build_from_shared(url.to_string())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect to the feeder")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_feed_to_its_matching_subscriber_and_a_quiet_stream_to_others() {
    let mut feeder = Feeder::start("127.0.0.1:0", 10, 3).await.expect("feeder");

    // The reference server's second subscription: slots and the SlotHashes sysvar.
    let mut slots_request = accounts(
        "slot_hashes",
        &["SysvarS1otHashes111111111111111111111111111"],
        &[],
    );
    slots_request.slots =
        HashMap::from([("slots".to_string(), SubscribeRequestFilterSlots::default())]);
    let mut quiet_client = client(&feeder.url).await;
    let (_quiet_sink, mut quiet) = quiet_client
        .subscribe_with_request(Some(slots_request))
        .await
        .expect("a slots subscription is accepted");

    let mut feed_client = client(&feeder.url).await;
    let (_feed_sink, mut feed) = feed_client
        .subscribe_with_request(Some(accounts("pump_curves", &[], &[PROGRAM])))
        .await
        .expect("the feed subscription is accepted");
    feeder.wait_subscribed().await;

    let mut second = client(&feeder.url).await;
    let refused = second
        .subscribe_with_request(Some(accounts("again", &[], &[PROGRAM])))
        .await;
    assert!(refused.is_err(), "a second feed subscriber must be refused");

    for want in 1..=3u64 {
        assert_eq!(feeder.send_next().await, Some(want));
    }
    for want in 1..=3u64 {
        let u = feed.next().await.expect("an update").expect("not an error");
        assert_eq!(u.filters, ["pump_curves"]);
        let Some(subscribe_update::UpdateOneof::Account(a)) = u.update_oneof else {
            panic!("not an account update: {u:?}");
        };
        let info = a.account.expect("account info");
        assert_eq!(info.write_version, want);
        assert_eq!(
            info.txn_signature.as_deref(),
            Some(&feeder::signature(want)[..])
        );
        assert!(
            feeder.times.get(want).is_some(),
            "send time of {want} recorded"
        );
    }
    // Every update went to the feed; the quiet stream is still open and has nothing.
    assert!(
        quiet.next().now_or_never().is_none(),
        "the quiet stream must stay open and empty"
    );
}
