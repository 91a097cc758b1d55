//! The real Yellowstone client against a local Geyser gRPC server (the tonic `Geyser` service
//! of `yellowstone-grpc-proto`) on 127.0.0.1:0: stream drops with `from_slot` resume and
//! dedup, an unreachable endpoint's backoff schedule, a refused replay, and a recording that
//! keeps every field (account writes' transaction signatures included).

mod ingest_support;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{stream, Stream, StreamExt};
use hyperstack_server::source::yellowstone::SourceError;
use hyperstack_server::source::{record, replay, RawUpdate, RecordOptions};
use hyperstack_server::{
    spawn_ingest, HealthConfig, HealthMonitor, IngestOptions, Mutation, ReconnectionConfig,
    SourceConfig, SourceEvent, StateTableConfig, StreamStatus, Transformer, YellowstoneConfig,
    YellowstoneSourceConfig,
};
use ingest_support::*;
use tokio::sync::{mpsc, watch};
use yellowstone_grpc_proto::prelude::geyser_server::{Geyser, GeyserServer};
use yellowstone_grpc_proto::prelude::*;
use yellowstone_grpc_proto::tonic::transport::server::TcpIncoming;
use yellowstone_grpc_proto::tonic::{self, Request, Response, Status, Streaming};

type UpdateStream = Pin<Box<dyn Stream<Item = Result<SubscribeUpdate, Status>> + Send>>;

const WAIT: Duration = Duration::from_secs(20);

/// A scripted Geyser server: replays its script from the requested `from_slot`, drops the
/// stream after `drop_every` messages, optionally refuses any replay.
#[derive(Clone)]
struct MockGeyser {
    script: Arc<Vec<SubscribeUpdate>>,
    drop_every: Option<usize>,
    refuse_replay: bool,
    from_slots: Arc<Mutex<Vec<Option<u64>>>>,
}

fn slot_of(u: &SubscribeUpdate) -> u64 {
    match &u.update_oneof {
        Some(subscribe_update::UpdateOneof::Account(a)) => a.slot,
        Some(subscribe_update::UpdateOneof::Transaction(t)) => t.slot,
        Some(subscribe_update::UpdateOneof::Slot(s)) => s.slot,
        _ => 0,
    }
}

#[tonic::async_trait]
impl Geyser for MockGeyser {
    type SubscribeStream = UpdateStream;
    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<UpdateStream>, Status> {
        let first = request.into_inner().message().await?.unwrap_or_default();
        self.from_slots.lock().unwrap().push(first.from_slot);
        if first.from_slot.is_some() && self.refuse_replay {
            return Err(Status::invalid_argument(
                "from_slot is not available: too old",
            ));
        }
        let start = first.from_slot.map_or(0, |from| {
            self.script
                .iter()
                .position(|u| slot_of(u) >= from)
                .unwrap_or(self.script.len())
        });
        let rest: Vec<SubscribeUpdate> = self.script[start..].to_vec();
        let stream: UpdateStream = match self.drop_every {
            Some(n) if rest.len() > n => Box::pin(
                stream::iter(rest.into_iter().take(n).map(Ok)).chain(stream::iter([Err(
                    Status::unavailable("connection dropped"),
                )])),
            ),
            _ => Box::pin(stream::iter(rest.into_iter().map(Ok)).chain(stream::pending())),
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

/// Serves `mock` on 127.0.0.1:0; returns the endpoint URL and a stop switch.
async fn serve(mock: MockGeyser) -> (String, watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(GeyserServer::new(mock))
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
                let _ = stopped.changed().await;
            })
            .await;
    });
    (format!("http://{addr}"), stop)
}

/// The protobuf form of a raw update.
fn to_proto(u: &RawUpdate) -> SubscribeUpdate {
    let update = match u {
        RawUpdate::Account(a) => subscribe_update::UpdateOneof::Account(SubscribeUpdateAccount {
            account: Some(SubscribeUpdateAccountInfo {
                pubkey: a.pubkey.0.to_vec(),
                owner: a.owner.0.to_vec(),
                data: a.data.clone(),
                write_version: a.write_version,
                lamports: 1_000_000,
                txn_signature: a.txn_signature.map(|s| s.0.to_vec()),
                ..Default::default()
            }),
            slot: a.slot,
            ..Default::default()
        }),
        RawUpdate::Transaction(t) => {
            subscribe_update::UpdateOneof::Transaction(SubscribeUpdateTransaction {
                transaction: Some(SubscribeUpdateTransactionInfo {
                    signature: t.signature.0.to_vec(),
                    is_vote: false,
                    transaction: Some(Transaction {
                        signatures: vec![t.signature.0.to_vec()],
                        message: Some(Message {
                            account_keys: t.account_keys.iter().map(|k| k.0.to_vec()).collect(),
                            instructions: t
                                .instructions
                                .iter()
                                .map(|ix| CompiledInstruction {
                                    program_id_index: u32::from(ix.program_index),
                                    accounts: ix.accounts.clone(),
                                    data: ix.data.clone(),
                                })
                                .collect(),
                            ..Default::default()
                        }),
                    }),
                    meta: Some(TransactionStatusMeta {
                        log_messages: t.log_messages.clone(),
                        ..Default::default()
                    }),
                    index: t.index,
                }),
                slot: t.slot,
                ..Default::default()
            })
        }
    };
    SubscribeUpdate {
        update_oneof: Some(update),
        ..Default::default()
    }
}

/// 30 slots of pump traffic over three tokens, as raw updates.
fn traffic() -> Vec<RawUpdate> {
    let mut out = Vec::new();
    let mut wv = 0;
    for slot in 100..130u64 {
        let i = (slot % 3) as u8;
        let (mint, curve, user) = (key(20 + i), key(30 + i), key(40 + i));
        if slot < 103 {
            out.push(create_tx(
                slot,
                0,
                sig(slot * 10),
                mint,
                curve,
                user,
                &format!("tok{i}"),
            ));
        }
        wv += 1;
        let mut write = curve_update(curve, slot, wv, Curve::new(30_000 + slot, 1_000 + slot % 7));
        // The trade below wrote the curve; every fourth write comes without its signature.
        if let RawUpdate::Account(a) = &mut write {
            a.txn_signature = (slot % 4 != 0).then(|| sig(slot * 10 + 1));
        }
        out.push(write);
        out.push(trade_tx(
            slot,
            1,
            sig(slot * 10 + 1),
            mint,
            curve,
            user,
            slot * 3,
            slot % 2 == 0,
        ));
    }
    out
}

/// The script: each slot's updates, then its confirmation.
fn script(updates: &[RawUpdate]) -> Vec<SubscribeUpdate> {
    let mut out = Vec::new();
    for (i, u) in updates.iter().enumerate() {
        out.push(to_proto(u));
        if updates.get(i + 1).is_none_or(|n| n.slot() != u.slot()) {
            out.push(SubscribeUpdate {
                update_oneof: Some(subscribe_update::UpdateOneof::Slot(SubscribeUpdateSlot {
                    slot: u.slot(),
                    status: SlotStatus::SlotConfirmed as i32,
                    ..Default::default()
                })),
                ..Default::default()
            });
        }
    }
    out
}

fn source(endpoint: &str, reconnection: ReconnectionConfig) -> SourceConfig {
    let mut config = YellowstoneSourceConfig::new(YellowstoneConfig::new(endpoint), vec![]);
    config.reconnection = reconnection;
    config.connect_timeout = Duration::from_secs(2);
    SourceConfig::Yellowstone(config)
}

struct Run {
    mutations: Vec<Mutation>,
    from_slots: Vec<Option<u64>>,
}

/// Ingests the traffic through the mock until the expected number of mutations arrived, then
/// checks that nothing more comes.
async fn ingest(drop_every: Option<usize>, expected: usize) -> Run {
    let mock = MockGeyser {
        script: Arc::new(script(&traffic())),
        drop_every,
        refuse_replay: false,
        from_slots: Arc::default(),
    };
    let from_slots = mock.from_slots.clone();
    let (endpoint, stop_server) = serve(mock).await;
    let (tx, mut rx) = mpsc::channel(4_096);
    let (stop, shutdown) = watch::channel(false);
    let options = IngestOptions {
        state_table: StateTableConfig::default(),
        health: HealthMonitor::new(HealthConfig::default()),
        metrics: None,
        events: None,
    };
    let reconnection = ReconnectionConfig::new()
        .with_initial_delay(Duration::from_millis(1))
        .with_max_attempts(50);
    let task = spawn_ingest(
        &pump_stack::spec(),
        source(&endpoint, reconnection),
        options.clone(),
        tx,
        shutdown,
    )
    .unwrap();
    let mut mutations = Vec::new();
    while mutations.len() < expected {
        let m = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("mutations keep coming")
            .expect("open");
        mutations.push(m);
    }
    // Nothing beyond the expected: no duplicates trickle in after the last reconnect.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err(),
        "an unexpected extra mutation"
    );
    assert_eq!(options.health.status().await, StreamStatus::Connected);
    let _ = stop.send(true);
    let _ = task.await;
    let _ = stop_server.send(true);
    let from_slots = from_slots.lock().unwrap().clone();
    Run {
        mutations,
        from_slots,
    }
}

fn offline_expectation() -> Vec<Mutation> {
    let mut t = Transformer::new(&pump_stack::spec(), StateTableConfig::default()).unwrap();
    let mut out = Vec::new();
    for u in traffic() {
        t.apply(&u, &mut out);
    }
    out
}

#[tokio::test]
async fn dropped_streams_resume_from_slot_without_gaps_or_duplicates() {
    let expected = offline_expectation();
    assert!(expected.len() > 60, "the traffic produces mutations");
    let clean = ingest(None, expected.len()).await;
    assert_eq!(
        clean.mutations, expected,
        "fault-free run equals the offline transform"
    );
    assert_eq!(clean.from_slots, vec![None]);

    let faulty = ingest(Some(7), expected.len()).await;
    assert_eq!(
        faulty.mutations, expected,
        "same mutations, same order, none twice"
    );
    assert!(
        faulty.from_slots.len() > 5,
        "reconnected: {:?}",
        faulty.from_slots
    );
    assert_eq!(faulty.from_slots[0], None);
    let resumed: Vec<u64> = faulty.from_slots[1..]
        .iter()
        .map(|s| s.expect("resumed with from_slot"))
        .collect();
    assert!(
        resumed.windows(2).all(|w| w[0] <= w[1]),
        "resume slots advance: {resumed:?}"
    );
}

#[tokio::test]
async fn unreachable_endpoint_backs_off_then_reports_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let health = HealthMonitor::new(HealthConfig::default());
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (tx, _rx) = mpsc::channel::<Mutation>(16);
    let (_stop, shutdown) = watch::channel(false);
    let reconnection = ReconnectionConfig::new()
        .with_initial_delay(Duration::from_millis(10))
        .with_backoff_multiplier(2.0)
        .with_max_attempts(3);
    let options = IngestOptions {
        state_table: StateTableConfig::default(),
        health: health.clone(),
        metrics: None,
        events: Some(events_tx),
    };
    // Watch the status transitions while the source retries.
    let watcher_health = health.clone();
    let watcher = tokio::spawn(async move {
        let mut seen: Vec<String> = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let label = watcher_health.status().await.label().to_string();
            if seen.last() != Some(&label) {
                seen.push(label.clone());
            }
            if label == "error" || Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let started = Instant::now();
    let task = spawn_ingest(
        &pump_stack::spec(),
        source(&format!("http://127.0.0.1:{port}"), reconnection),
        options,
        tx,
        shutdown,
    )
    .unwrap();
    let result = tokio::time::timeout(WAIT, task)
        .await
        .expect("gives up in time")
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            result,
            Err(hyperstack_server::IngestError::Source(
                SourceError::GaveUp { attempts: 3, .. }
            ))
        ),
        "{result:?}"
    );
    let mut delays = Vec::new();
    let mut connects = 0;
    while let Ok(e) = events.try_recv() {
        match e {
            SourceEvent::Backoff { attempt, delay } => delays.push((attempt, delay.as_millis())),
            SourceEvent::Connecting { .. } => connects += 1,
            _ => {}
        }
    }
    assert_eq!(
        delays,
        vec![(1, 10), (2, 20), (3, 40)],
        "the configured schedule"
    );
    assert_eq!(connects, 4, "the first attempt and three retries");
    assert!(
        elapsed >= Duration::from_millis(70),
        "the delays were waited: {elapsed:?}"
    );
    assert_eq!(health.error_count().await, 4);
    assert!(
        matches!(health.status().await, StreamStatus::Error(m) if m.contains("gave up after 3"))
    );
    let seen = watcher.await.unwrap();
    assert!(seen.contains(&"reconnecting".to_string()), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("error"), "{seen:?}");
}

#[tokio::test]
async fn refused_replay_is_an_error_not_a_gap() {
    let mock = MockGeyser {
        script: Arc::new(script(&traffic())),
        drop_every: Some(10),
        refuse_replay: true,
        from_slots: Arc::default(),
    };
    let (endpoint, _stop_server) = serve(mock).await;
    let health = HealthMonitor::new(HealthConfig::default());
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (tx, mut rx) = mpsc::channel::<Mutation>(1_024);
    let (_stop, shutdown) = watch::channel(false);
    let options = IngestOptions {
        state_table: StateTableConfig::default(),
        health: health.clone(),
        metrics: None,
        events: Some(events_tx),
    };
    let reconnection = ReconnectionConfig::new().with_initial_delay(Duration::from_millis(1));
    let task = spawn_ingest(
        &pump_stack::spec(),
        source(&endpoint, reconnection),
        options,
        tx,
        shutdown,
    )
    .unwrap();
    let result = tokio::time::timeout(WAIT, task)
        .await
        .expect("stops")
        .unwrap();
    assert!(
        matches!(
            result,
            Err(hyperstack_server::IngestError::Source(
                SourceError::ReplayRefused { .. }
            ))
        ),
        "{result:?}"
    );
    assert!(
        matches!(health.status().await, StreamStatus::Error(m) if m.contains("refused to replay"))
    );
    let mut failed = false;
    while let Ok(e) = events.try_recv() {
        failed |= matches!(e, SourceEvent::Failed(SourceError::ReplayRefused { .. }));
    }
    assert!(failed);
    let mut got = 0;
    while rx.try_recv().is_ok() {
        got += 1;
    }
    assert!(got > 0, "what arrived before the drop was ingested");
}

/// The recorder over the real client writes exactly what the endpoint sent: reading the
/// recording back gives the original updates, the account writes' `txn_signature` included.
#[tokio::test]
async fn recording_keeps_every_field() {
    let traffic = traffic();
    let mock = MockGeyser {
        script: Arc::new(script(&traffic)),
        drop_every: None,
        refuse_replay: false,
        from_slots: Arc::default(),
    };
    let (endpoint, _stop_server) = serve(mock).await;
    let config = YellowstoneSourceConfig::new(YellowstoneConfig::new(&endpoint), vec![]);
    let (_stop, shutdown) = watch::channel(false);
    let mut out = Vec::new();
    let options = RecordOptions {
        max_updates: Some(traffic.len() as u64),
        duration: None,
    };
    let written = tokio::time::timeout(WAIT, record(&config, options, &mut out, shutdown))
        .await
        .expect("records")
        .expect("no error");
    assert_eq!(written, traffic.len() as u64);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(replay::parse_all(&text).unwrap(), traffic);
    let attributed = traffic
        .iter()
        .filter(|u| matches!(u, RawUpdate::Account(a) if a.txn_signature.is_some()))
        .count();
    assert!(attributed > 0 && text.matches("txn_signature").count() == attributed);
}
