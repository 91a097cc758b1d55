//! The feeder: a local Geyser-compatible gRPC endpoint (the tonic `Geyser` service of
//! `yellowstone-grpc-proto`) streaming generated pump `BondingCurve` account updates.
//!
//! Update `id` (1, 2, …) goes to curve `(id - 1) % keys`, at slot `SLOT0 + id / 64` with
//! write version `id`, so every update has a distinct (slot, write_version). Its
//! `virtual_sol_reserves` is [`SOL_BASE`]` + id`: clients read the id back from any frame
//! carrying the field (see [`id_of_reserves`]). The time each update is handed to the gRPC
//! stream is recorded in [`SendTimes`]. Each account update carries a `txn_signature`
//! derived from its id (servers may key on it), and names the subscriber's matching account
//! filters (see [`service`]).

mod service;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, Notify};
use yellowstone_grpc_proto::prelude::geyser_server::GeyserServer;
use yellowstone_grpc_proto::prelude::*;
use yellowstone_grpc_proto::tonic;
use yellowstone_grpc_proto::tonic::transport::server::TcpIncoming;

pub use service::feed_filters;
use service::FeedService;

/// The pump example program that owns the bonding curves.
pub const PROGRAM: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
/// `virtual_sol_reserves` of update `id` is `SOL_BASE + id`.
pub const SOL_BASE: u64 = 30_000_000_000;
/// Slot of update 0.
const SLOT0: u64 = 300_000_000;
/// Anchor discriminator of the `BondingCurve` account.
const DISCRIMINATOR: [u8; 8] = [23, 183, 248, 55, 96, 216, 172, 96];

/// The process-wide clock all send and receive times are measured on.
pub fn now_ns() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Address bytes of curve `k`.
pub fn curve_address(k: u64) -> [u8; 32] {
    let mut a = [0x5Au8; 32];
    a[0] = 0xB0;
    a[1..9].copy_from_slice(&k.to_le_bytes());
    a
}

/// The entity key (base58 address) of curve `k`.
pub fn curve_key(k: u64) -> String {
    bs58::encode(curve_address(k)).into_string()
}

/// The update id encoded in a frame's `virtual_sol_reserves`.
pub fn id_of_reserves(reserves: u64) -> Option<u64> {
    reserves.checked_sub(SOL_BASE).filter(|&id| id > 0)
}

/// Borsh `BondingCurve` account data (discriminator, five u64, bool, unused tail).
pub fn curve_data(id: u64) -> Vec<u8> {
    let mut d = Vec::with_capacity(8 + 40 + 1 + 32);
    d.extend_from_slice(&DISCRIMINATOR);
    let virtual_token = 1_073_000_000_000_000 - (id % 1_000_000);
    for v in [
        virtual_token,
        SOL_BASE + id,
        virtual_token / 2,
        id,
        1_000_000_000_000_000,
    ] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    d.push(0);
    d.extend_from_slice(&[0; 32]);
    d
}

/// The (made-up, unique) transaction signature behind update `id`.
pub fn signature(id: u64) -> [u8; 64] {
    let mut s = [0xA5u8; 64];
    s[..8].copy_from_slice(&id.to_le_bytes());
    s
}

/// The gRPC message of update `id` over `keys` curves (`filters` is left empty: the stream
/// names its subscriber's filters).
pub fn update(id: u64, keys: u64, owner: &[u8]) -> SubscribeUpdate {
    SubscribeUpdate {
        update_oneof: Some(subscribe_update::UpdateOneof::Account(
            SubscribeUpdateAccount {
                account: Some(SubscribeUpdateAccountInfo {
                    pubkey: curve_address((id - 1) % keys.max(1)).to_vec(),
                    owner: owner.to_vec(),
                    data: curve_data(id),
                    write_version: id,
                    txn_signature: Some(signature(id).to_vec()),
                    lamports: 1_500_000,
                    ..Default::default()
                }),
                slot: SLOT0 + id / 64,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// Send time (ns on [`now_ns`]) of each update id; 0 = not sent.
pub struct SendTimes(Vec<AtomicU64>);

impl SendTimes {
    /// Room for ids `1..=max`.
    pub fn new(max: u64) -> SendTimes {
        SendTimes((0..=max).map(|_| AtomicU64::new(0)).collect())
    }

    /// When `id` was sent, if it was.
    pub fn get(&self, id: u64) -> Option<u64> {
        let t = self.0.get(id as usize)?.load(Ordering::Acquire);
        (t != 0).then_some(t)
    }

    fn set(&self, id: u64, t: u64) {
        if let Some(slot) = self.0.get(id as usize) {
            slot.store(t.max(1), Ordering::Release);
        }
    }

    /// The largest id there is room for.
    pub fn capacity(&self) -> u64 {
        self.0.len() as u64 - 1
    }
}

/// Updates (with their ids) on their way to the gRPC stream.
type FeedReceiver = mpsc::Receiver<(u64, SubscribeUpdate)>;

/// A running feeder endpoint.
pub struct Feeder {
    /// `http://127.0.0.1:<port>`: the Yellowstone endpoint to give the server.
    pub url: String,
    /// Send times of the updates.
    pub times: Arc<SendTimes>,
    tx: mpsc::Sender<(u64, SubscribeUpdate)>,
    subscribed: Arc<Notify>,
    owner: Vec<u8>,
    keys: u64,
    next_id: u64,
}

impl Feeder {
    /// Serves on `bind` (port 0 for any; `TCP_NODELAY` set on accepted connections); room for
    /// `max_updates` ids; updates spread over `keys` curves.
    pub async fn start(bind: &str, max_updates: u64, keys: u64) -> anyhow::Result<Feeder> {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(1_024);
        let times = Arc::new(SendTimes::new(max_updates));
        let subscribed = Arc::new(Notify::new());
        let service = FeedService {
            feed: Arc::new(Mutex::new(Some(rx))),
            times: times.clone(),
            subscribed: subscribed.clone(),
        };
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(GeyserServer::new(service))
                .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
                .await;
        });
        Ok(Feeder {
            url: format!("http://{addr}"),
            times,
            tx,
            subscribed,
            owner: bs58::decode(PROGRAM).into_vec()?,
            keys: keys.max(1),
            next_id: 1,
        })
    }

    /// Waits until the server under test subscribed.
    pub async fn wait_subscribed(&self) {
        self.subscribed.notified().await;
    }

    /// The id the next update will carry.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Number of curves the updates go to.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// Queues the next update (waits while the stream's buffer is full); returns its id, or
    /// `None` when the ids are exhausted or the server went away.
    pub async fn send_next(&mut self) -> Option<u64> {
        let id = self.next_id;
        if id > self.times.capacity() {
            return None;
        }
        let u = update(id, self.keys, &self.owner);
        self.tx.send((id, u)).await.ok()?;
        self.next_id += 1;
        Some(id)
    }
}
