//! The feeder's Geyser gRPC service.
//!
//! Servers open more than one subscription: hyperstack-server one per source, the reference
//! server one per parser plus one for slots and the SlotHashes sysvar. Each subscription is
//! matched against the feed by its account filters ([`feed_filters`]):
//!
//! - the first subscription with an account filter that matches the bench curves (owner list
//!   empty or naming the pump program, no explicit account list) gets the feed, each update
//!   naming those filters in its `filters` (servers route updates by filter name);
//! - every other subscription gets a quiet stream that stays open until the client closes it;
//! - a second subscription matching the feed while the first is live is refused
//!   (`resource_exhausted`): the feed has one consumer, so no update is ever split between two.
//!
//! When the feed's subscriber goes away, the feed is handed back, so a reconnecting server
//! resumes it (updates already taken off the queue by the old stream are not resent).

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use tokio::sync::Notify;
use yellowstone_grpc_proto::prelude::geyser_server::Geyser;
use yellowstone_grpc_proto::prelude::*;
use yellowstone_grpc_proto::tonic::{self, Request, Response, Status, Streaming};

use super::{now_ns, FeedReceiver, SendTimes, PROGRAM};

type UpdateStream = Pin<Box<dyn Stream<Item = Result<SubscribeUpdate, Status>> + Send>>;

/// The names of `request`'s account filters that the bench curves (owned by [`PROGRAM`])
/// match, sorted; empty when the subscription does not want them.
pub fn feed_filters(request: &SubscribeRequest) -> Vec<String> {
    let mut names: Vec<String> = request
        .accounts
        .iter()
        .filter(|(_, f)| {
            f.account.is_empty() && (f.owner.is_empty() || f.owner.iter().any(|o| o == PROGRAM))
        })
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names
}

/// The Geyser service.
#[derive(Clone)]
pub(super) struct FeedService {
    /// The feed, while no subscriber holds it.
    pub feed: Arc<Mutex<Option<FeedReceiver>>>,
    /// Send times, stamped as each update is handed to the stream.
    pub times: Arc<SendTimes>,
    /// Notified when a subscriber takes the feed.
    pub subscribed: Arc<Notify>,
}

/// Holds the feed while a subscriber streams it; hands it back when the stream is dropped.
struct Lease {
    rx: Option<FeedReceiver>,
    home: Arc<Mutex<Option<FeedReceiver>>>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(rx), Ok(mut home)) = (self.rx.take(), self.home.lock()) {
            *home = Some(rx);
        }
    }
}

impl FeedService {
    fn take_feed(&self) -> Result<Option<FeedReceiver>, Status> {
        Ok(self
            .feed
            .lock()
            .map_err(|_| Status::internal("feeder state poisoned"))?
            .take())
    }

    fn feed_stream(&self, rx: FeedReceiver, filters: Vec<String>) -> UpdateStream {
        let lease = Lease {
            rx: Some(rx),
            home: self.feed.clone(),
        };
        let state = (lease, self.times.clone(), filters);
        Box::pin(futures_util::stream::unfold(
            state,
            |(mut lease, times, filters)| async move {
                let (id, mut u) = lease.rx.as_mut()?.recv().await?;
                u.filters.clone_from(&filters);
                times.set(id, now_ns());
                Some((Ok(u), (lease, times, filters)))
            },
        ))
    }
}

#[tonic::async_trait]
impl Geyser for FeedService {
    type SubscribeStream = UpdateStream;
    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<UpdateStream>, Status> {
        let mut requests = request.into_inner();
        let first = requests
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no subscribe request"))?;
        // Keep reading (and ignoring) the request stream so the client's pings are consumed.
        tokio::spawn(async move { while let Ok(Some(_)) = requests.message().await {} });
        let filters = feed_filters(&first);
        if filters.is_empty() {
            // Slots, sysvars, transactions: nothing the bench produces. Keep it open, quiet.
            return Ok(Response::new(Box::pin(futures_util::stream::pending())));
        }
        let Some(rx) = self.take_feed()? else {
            return Err(Status::resource_exhausted(
                "the bench feed already has a subscriber",
            ));
        };
        self.subscribed.notify_one();
        Ok(Response::new(self.feed_stream(rx, filters)))
    }
    type SubscribeDeshredStream =
        Pin<Box<dyn Stream<Item = Result<SubscribeUpdateDeshred, Status>> + Send>>;
    async fn subscribe_deshred(
        &self,
        _: Request<Streaming<SubscribeDeshredRequest>>,
    ) -> Result<Response<Self::SubscribeDeshredStream>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
    type SubscribeGossipStream =
        Pin<Box<dyn Stream<Item = Result<SubscribeUpdateGossip, Status>> + Send>>;
    async fn subscribe_gossip(
        &self,
        _: Request<SubscribeGossipRequest>,
    ) -> Result<Response<Self::SubscribeGossipStream>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
    async fn subscribe_replay_info(
        &self,
        _: Request<SubscribeReplayInfoRequest>,
    ) -> Result<Response<SubscribeReplayInfoResponse>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
    async fn ping(&self, _: Request<PingRequest>) -> Result<Response<PongResponse>, Status> {
        Ok(Response::new(PongResponse { count: 0 }))
    }
    async fn get_latest_blockhash(
        &self,
        _: Request<GetLatestBlockhashRequest>,
    ) -> Result<Response<GetLatestBlockhashResponse>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
    async fn get_block_height(
        &self,
        _: Request<GetBlockHeightRequest>,
    ) -> Result<Response<GetBlockHeightResponse>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
    async fn get_slot(
        &self,
        _: Request<GetSlotRequest>,
    ) -> Result<Response<GetSlotResponse>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
    async fn is_blockhash_valid(
        &self,
        _: Request<IsBlockhashValidRequest>,
    ) -> Result<Response<IsBlockhashValidResponse>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
    async fn get_version(
        &self,
        _: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Err(Status::unimplemented("bench feeder"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn accounts(account: &[&str], owner: &[&str]) -> SubscribeRequestFilterAccounts {
        SubscribeRequestFilterAccounts {
            account: account.iter().map(|s| s.to_string()).collect(),
            owner: owner.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn only_filters_matching_the_curves_are_named() {
        let slot_hashes = "SysvarS1otHashes111111111111111111111111111";
        let request = SubscribeRequest {
            accounts: HashMap::from([
                ("parser".to_string(), accounts(&[], &[PROGRAM])),
                ("all".to_string(), accounts(&[], &[])),
                ("sysvar".to_string(), accounts(&[slot_hashes], &[])),
                (
                    "other".to_string(),
                    accounts(&[], &["11111111111111111111111111111111"]),
                ),
            ]),
            ..Default::default()
        };
        assert_eq!(feed_filters(&request), ["all", "parser"]);
        let slots_only = SubscribeRequest {
            accounts: HashMap::from([("sysvar".to_string(), accounts(&[slot_hashes], &[]))]),
            ..Default::default()
        };
        assert!(feed_filters(&slots_only).is_empty());
    }

    #[test]
    fn a_dropped_stream_hands_the_feed_back() {
        let (_tx, rx) = tokio::sync::mpsc::channel(1);
        let home = Arc::new(Mutex::new(None));
        let lease = Lease {
            rx: Some(rx),
            home: home.clone(),
        };
        assert!(home.lock().unwrap().is_none());
        drop(lease);
        assert!(
            home.lock().unwrap().is_some(),
            "the next subscriber can take it"
        );
    }
}
