//! A Geyser gRPC server for tests (the tonic `Geyser` service of yellowstone-grpc-proto) on
//! 127.0.0.1 port 0. It streams its script from the requested `from_slot` and then stays
//! open; a `from_slot` older than its replay window is refused the way yellowstone-grpc does
//! (an `OutOfRange` status on the stream: "broadcast from <slot> is not available, last
//! available: <oldest slot>"). It tells whoever waits which `from_slot`s were asked for.

#![allow(dead_code)]

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::{stream, Stream, StreamExt};
use tokio::sync::watch;
use yellowstone_grpc_proto::prelude::geyser_server::{Geyser, GeyserServer};
use yellowstone_grpc_proto::prelude::*;
use yellowstone_grpc_proto::tonic::transport::server::TcpIncoming;
use yellowstone_grpc_proto::tonic::{self, Request, Response, Status, Streaming};

type UpdateStream = Pin<Box<dyn Stream<Item = Result<SubscribeUpdate, Status>> + Send>>;

struct State {
    /// The oldest slot it can replay from.
    oldest: u64,
    script: Vec<SubscribeUpdate>,
}

/// The server's handle.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    state: Arc<Mutex<State>>,
    from_slots: watch::Sender<Vec<Option<u64>>>,
}

#[derive(Clone)]
struct Service(Endpoint);

fn slot_of(u: &SubscribeUpdate) -> u64 {
    match &u.update_oneof {
        Some(subscribe_update::UpdateOneof::Account(a)) => a.slot,
        Some(subscribe_update::UpdateOneof::Slot(s)) => s.slot,
        _ => 0,
    }
}

/// An account write, then its slot's confirmation.
pub fn account_write(
    slot: u64,
    write_version: u64,
    pubkey: [u8; 32],
    owner: [u8; 32],
    data: Vec<u8>,
) -> Vec<SubscribeUpdate> {
    let write = SubscribeUpdate {
        update_oneof: Some(subscribe_update::UpdateOneof::Account(
            SubscribeUpdateAccount {
                account: Some(SubscribeUpdateAccountInfo {
                    pubkey: pubkey.to_vec(),
                    owner: owner.to_vec(),
                    data,
                    write_version,
                    lamports: 1_461_600,
                    ..Default::default()
                }),
                slot,
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    let confirmed = SubscribeUpdate {
        update_oneof: Some(subscribe_update::UpdateOneof::Slot(SubscribeUpdateSlot {
            slot,
            status: SlotStatus::SlotConfirmed as i32,
            ..Default::default()
        })),
        ..Default::default()
    };
    vec![write, confirmed]
}

impl Endpoint {
    /// Serves `script`, replaying from `oldest` on.
    pub async fn start(oldest: u64, script: Vec<SubscribeUpdate>) -> Endpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint {
            url: format!("http://{}", listener.local_addr().unwrap()),
            state: Arc::new(Mutex::new(State { oldest, script })),
            from_slots: watch::channel(Vec::new()).0,
        };
        let service = Service(endpoint.clone());
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(GeyserServer::new(service))
                .serve_with_incoming(TcpIncoming::from(listener))
                .await;
        });
        endpoint
    }

    /// From now on: replays from `oldest` on, and serves `script`.
    pub fn set(&self, oldest: u64, script: Vec<SubscribeUpdate>) {
        *self.state.lock().unwrap() = State { oldest, script };
    }

    /// Waits until `n` subscriptions came; returns every `from_slot` asked for.
    pub async fn subscriptions(&self, n: usize) -> Vec<Option<u64>> {
        let mut rx = self.from_slots.subscribe();
        let seen = rx.wait_for(|v| v.len() >= n).await.unwrap().clone();
        seen
    }
}

#[tonic::async_trait]
impl Geyser for Service {
    type SubscribeStream = UpdateStream;
    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<UpdateStream>, Status> {
        let first = request.into_inner().message().await?.unwrap_or_default();
        let (oldest, script) = {
            let s = self.0.state.lock().unwrap();
            (s.oldest, s.script.clone())
        };
        self.0.from_slots.send_modify(|v| v.push(first.from_slot));
        let stream: UpdateStream = match first.from_slot {
            Some(from) if from < oldest => {
                let message =
                    format!("broadcast from {from} is not available, last available: {oldest}");
                Box::pin(stream::iter([Err(Status::out_of_range(message))]))
            }
            from => {
                let from = from.unwrap_or(0);
                let rest: Vec<_> = script
                    .into_iter()
                    .filter(|u| slot_of(u) >= from)
                    .map(Ok)
                    .collect();
                Box::pin(stream::iter(rest).chain(stream::pending()))
            }
        };
        Ok(Response::new(stream))
    }
    type SubscribeDeshredStream =
        Pin<Box<dyn Stream<Item = Result<SubscribeUpdateDeshred, Status>> + Send>>;
    async fn subscribe_deshred(
        &self,
        _: Request<Streaming<SubscribeDeshredRequest>>,
    ) -> Result<Response<Self::SubscribeDeshredStream>, Status> {
        Err(Status::unimplemented("test server"))
    }
    type SubscribeGossipStream =
        Pin<Box<dyn Stream<Item = Result<SubscribeUpdateGossip, Status>> + Send>>;
    async fn subscribe_gossip(
        &self,
        _: Request<SubscribeGossipRequest>,
    ) -> Result<Response<Self::SubscribeGossipStream>, Status> {
        Err(Status::unimplemented("test server"))
    }
    async fn subscribe_replay_info(
        &self,
        _: Request<SubscribeReplayInfoRequest>,
    ) -> Result<Response<SubscribeReplayInfoResponse>, Status> {
        Err(Status::unimplemented("test server"))
    }
    async fn ping(&self, _: Request<PingRequest>) -> Result<Response<PongResponse>, Status> {
        Err(Status::unimplemented("test server"))
    }
    async fn get_latest_blockhash(
        &self,
        _: Request<GetLatestBlockhashRequest>,
    ) -> Result<Response<GetLatestBlockhashResponse>, Status> {
        Err(Status::unimplemented("test server"))
    }
    async fn get_block_height(
        &self,
        _: Request<GetBlockHeightRequest>,
    ) -> Result<Response<GetBlockHeightResponse>, Status> {
        Err(Status::unimplemented("test server"))
    }
    async fn get_slot(
        &self,
        _: Request<GetSlotRequest>,
    ) -> Result<Response<GetSlotResponse>, Status> {
        Err(Status::unimplemented("test server"))
    }
    async fn is_blockhash_valid(
        &self,
        _: Request<IsBlockhashValidRequest>,
    ) -> Result<Response<IsBlockhashValidResponse>, Status> {
        Err(Status::unimplemented("test server"))
    }
    async fn get_version(
        &self,
        _: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Err(Status::unimplemented("test server"))
    }
}
