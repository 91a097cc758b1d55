//! Bootstrapping from RPC, with real parts: the server (library) ingesting from a local
//! Geyser gRPC server through the real Yellowstone client, a local Solana JSON-RPC endpoint
//! answering `getProgramAccounts` with the pump simulator's Borsh-encoded bonding curves, and
//! SDK clients over real WebSocket connections.
//!
//! - a first start reads the curves that existed before it: every token is complete in a new
//!   client's snapshot, and the stream resumes at the answer's slot;
//! - a restart whose checkpoint is older than the upstream's replay window says so (health,
//!   metrics) and bootstraps again, then streams from the new slot;
//! - without an RPC endpoint it streams from the tip and health keeps saying what was missed;
//! - an RPC endpoint that fails is retried with backoff, said in health and metrics, and the
//!   API key in its URL never shows.

mod geyser_endpoint;
mod rpc_endpoint;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use examples::generator::pump::{PumpSim, PROGRAM};
use examples::generator::Update;
#[allow(unused_imports)]
use futures_util::StreamExt as _;
use hyperstack_sdk::prelude::*;
use hyperstack_server::{RpcConfig, RunningServer, Server, YellowstoneConfig};
use pump_stack::{Token, TokenEntity};
use rpc_endpoint::{Account, Failure};

const WAIT: Duration = Duration::from_secs(20);

fn program() -> [u8; 32] {
    examples::generator::pubkey(PROGRAM).unwrap()
}

/// The simulation's bonding curves as the chain holds them at its end: the last write of
/// each account (real Borsh bytes).
fn existing_curves() -> Vec<Account> {
    let (updates, curves) = PumpSim::new(11, 1_000).run(60);
    assert!(curves.len() >= 5, "the simulation launched tokens");
    let mut last: BTreeMap<[u8; 32], Account> = BTreeMap::new();
    for u in updates {
        if let Update::Account(a) = u {
            last.insert(
                a.pubkey,
                Account {
                    pubkey: a.pubkey,
                    owner: a.owner,
                    data: a.data,
                },
            );
        }
    }
    let accounts: Vec<Account> = last.into_values().collect();
    assert_eq!(accounts.len(), curves.len(), "one account per curve");
    accounts
}

/// A `u64` of a BondingCurve's data (after the 8-byte discriminator: virtual token, virtual
/// SOL, real token, real SOL reserves, supply).
fn field(data: &[u8], index: usize) -> u64 {
    let at = 8 + index * 8;
    u64::from_le_bytes(data[at..at + 8].try_into().unwrap())
}

fn with_virtual_sol(a: &Account, sol: u64) -> Account {
    let mut a = a.clone();
    a.data[16..24].copy_from_slice(&sol.to_le_bytes());
    a
}

/// A `Token` holds exactly what the account says.
fn assert_complete(t: &Token, a: &Account) {
    let key = bs58::encode(a.pubkey).into_string();
    assert_eq!(t.virtual_token_reserves, Some(field(&a.data, 0)), "{key}");
    assert_eq!(t.virtual_sol_reserves, Some(field(&a.data, 1)), "{key}");
    assert_eq!(t.real_sol_reserves, Some(field(&a.data, 3)), "{key}");
    assert_eq!(t.complete, Some(a.data[8 + 40] == 1), "{key}");
    let price = field(&a.data, 1) as f64 / field(&a.data, 0) as f64;
    // The stack computes the price in its own expression arithmetic: equal up to rounding.
    let got = t
        .price_sol
        .unwrap_or_else(|| panic!("{key}: price computed"));
    assert!(
        (got - price).abs() <= price * 1e-12,
        "{key}: {got} vs {price}"
    );
    assert!(
        t.market_cap_sol.is_some(),
        "{key}: the hidden supply is known"
    );
}

async fn start(
    geyser: &geyser_endpoint::Endpoint,
    rpc: Option<RpcConfig>,
    dir: &std::path::Path,
) -> RunningServer {
    let builder = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse().unwrap())
        .health_bind("127.0.0.1:0".parse().unwrap())
        .yellowstone(YellowstoneConfig::new(geyser.url.clone()))
        .reconnection()
        .data_dir(dir);
    let builder = match rpc {
        Some(rpc) => builder.rpc_bootstrap(rpc),
        None => builder,
    };
    builder.spawn().await.expect("starts")
}

fn rpc_config(rpc: &rpc_endpoint::Endpoint) -> RpcConfig {
    let mut config = RpcConfig::new(rpc.url());
    config.initial_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(40);
    config
}

async fn client(server: &RunningServer) -> HyperStack {
    HyperStack::connect(format!("ws://{}", server.local_addr()))
        .await
        .expect("connects")
}

/// Waits until the token at `a`'s address holds `a`'s state, on a live subscription: every
/// update handed to the engine before it is then applied and published.
async fn until_token_is(server: &RunningServer, a: &Account) {
    let hs = client(server).await;
    let key = bs58::encode(a.pubkey).into_string();
    let sol = field(&a.data, 1);
    let mut live = hs.watch::<TokenEntity>();
    tokio::time::timeout(WAIT, async {
        loop {
            if hs
                .get::<TokenEntity>(&key)
                .await
                .and_then(|t| t.virtual_sol_reserves)
                == Some(sol)
            {
                return;
            }
            live.next().await;
        }
    })
    .await
    .expect("the stream's update arrives");
}

/// Every token, read by a new client's snapshot, holds its account's state.
async fn assert_all_complete(server: &RunningServer, accounts: &[Account]) {
    let fresh = client(server).await;
    for a in accounts {
        let key = bs58::encode(a.pubkey).into_string();
        let token = fresh.get::<TokenEntity>(&key).await;
        let token = token.unwrap_or_else(|| panic!("token {key} is in the snapshot"));
        assert_complete(&token, a);
    }
    assert_eq!(fresh.list::<TokenEntity>().await.len(), accounts.len());
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn metric(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_bootstraps_the_tokens_that_exist_and_a_gap_bootstraps_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = existing_curves();
    let rpc = rpc_endpoint::Endpoint::start(2_000, accounts.clone()).await;
    // After the bootstrap, one curve is written at slot 2_001.
    let moved = with_virtual_sol(&accounts[0], field(&accounts[0].data, 1) + 777);
    let script =
        geyser_endpoint::account_write(2_001, 1, moved.pubkey, program(), moved.data.clone());
    let geyser = geyser_endpoint::Endpoint::start(0, script).await;

    let server = start(&geyser, Some(rpc_config(&rpc)), dir.path()).await;
    assert_eq!(
        geyser.subscriptions(1).await,
        vec![Some(2_000)],
        "streams from the answer's slot"
    );
    until_token_is(&server, &moved).await;
    accounts[0] = moved;
    assert_all_complete(&server, &accounts).await;

    // What was asked: the pump program's bonding curves by discriminator, base64, with context.
    let params = rpc.params();
    assert_eq!(params.len(), 1);
    assert_eq!(params[0][0], PROGRAM);
    let memcmp = &params[0][1]["filters"][0]["memcmp"];
    assert_eq!(
        bs58::decode(memcmp["bytes"].as_str().unwrap())
            .into_vec()
            .unwrap(),
        accounts[0].data[..8].to_vec()
    );
    assert_eq!(params[0][1]["commitment"], "confirmed");
    let http = server.http_addr().unwrap();
    let metrics = http_get(http, "/metrics").await;
    assert_eq!(
        metric(&metrics, "hyperstack_bootstrap_accounts_total"),
        accounts.len() as u64
    );
    assert_eq!(metric(&metrics, "hyperstack_bootstraps_completed_total"), 1);
    assert_eq!(metric(&metrics, "hyperstack_checkpoint_gaps_total"), 0);
    server.shutdown(Duration::from_secs(5)).await;

    // Restarted much later: the upstream replays from slot 8_000 on only, the checkpoint is
    // at 2_001. The chain moved meanwhile: every curve has new reserves at slot 9_000.
    let later: Vec<Account> = accounts
        .iter()
        .map(|a| with_virtual_sol(a, field(&a.data, 1) + 5_000))
        .collect();
    rpc.set(9_000, later.clone());
    let moved = with_virtual_sol(&later[1], field(&later[1].data, 1) + 1);
    geyser.set(
        8_000,
        geyser_endpoint::account_write(9_001, 1, moved.pubkey, program(), moved.data.clone()),
    );
    let server = start(&geyser, Some(rpc_config(&rpc)), dir.path()).await;
    assert_eq!(
        geyser.subscriptions(3).await[1..],
        [Some(2_001), Some(9_000)],
        "resumed after the checkpoint, refused, bootstrapped again, streamed from its slot"
    );
    until_token_is(&server, &moved).await;
    let mut expected = later;
    expected[1] = moved;
    assert_all_complete(&server, &expected).await;
    let metrics = http_get(http_addr(&server), "/metrics").await;
    assert_eq!(metric(&metrics, "hyperstack_checkpoint_gaps_total"), 1);
    assert_eq!(
        metric(&metrics, "hyperstack_checkpoint_gap_slots"),
        8_000 - 2_001
    );
    assert_eq!(metric(&metrics, "hyperstack_bootstraps_completed_total"), 1);
    let gap = server
        .health()
        .gap()
        .await
        .expect("health says what was missed");
    assert!(
        gap.contains("2001..8000") && gap.contains("bootstrapped again"),
        "{gap}"
    );
    let health = http_get(http_addr(&server), "/health").await;
    assert!(health.contains("\"gap\""), "{health}");
    assert!(server.failure().is_none(), "no failure, no crash loop");
    server.shutdown(Duration::from_secs(5)).await;
}

fn http_addr(server: &RunningServer) -> SocketAddr {
    server.http_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rpc_a_gap_streams_from_the_tip_and_health_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = existing_curves();
    let a = &accounts[0];
    let geyser = geyser_endpoint::Endpoint::start(
        0,
        geyser_endpoint::account_write(100, 1, a.pubkey, program(), a.data.clone()),
    )
    .await;
    let server = start(&geyser, None, dir.path()).await;
    until_token_is(&server, a).await;
    server.shutdown(Duration::from_secs(5)).await;

    let b = with_virtual_sol(a, field(&a.data, 1) + 9);
    geyser.set(
        500,
        geyser_endpoint::account_write(600, 1, b.pubkey, program(), b.data.clone()),
    );
    let server = start(&geyser, None, dir.path()).await;
    assert_eq!(
        geyser.subscriptions(3).await[1..],
        [Some(100), None],
        "refused, then the tip"
    );
    until_token_is(&server, &b).await;
    let gap = server
        .health()
        .gap()
        .await
        .expect("health says what was missed");
    assert!(
        gap.contains("100..500") && gap.contains("no RPC endpoint"),
        "{gap}"
    );
    let metrics = http_get(http_addr(&server), "/metrics").await;
    assert_eq!(metric(&metrics, "hyperstack_checkpoint_gaps_total"), 1);
    assert_eq!(metric(&metrics, "hyperstack_checkpoint_gap_slots"), 400);
    assert!(server.failure().is_none(), "no failure, no crash loop");
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_rpc_endpoint_is_retried_with_backoff_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = existing_curves();
    let rpc = rpc_endpoint::Endpoint::start(3_000, accounts.clone()).await;
    rpc.fail_next(&[Failure::Http503, Failure::RpcError, Failure::Http503]);
    let geyser = geyser_endpoint::Endpoint::start(0, Vec::new()).await;
    let server = start(&geyser, Some(rpc_config(&rpc)), dir.path()).await;

    // The third request started: the first two failures were recorded before it.
    rpc.received(3).await;
    let metrics = http_get(http_addr(&server), "/metrics").await;
    assert!(
        metric(&metrics, "hyperstack_bootstrap_errors_total") >= 2,
        "{metrics}"
    );
    let error = server.health().last_error().await.expect("health says why");
    assert!(
        error.contains("bootstrap from RPC") && error.contains("retrying"),
        "{error}"
    );
    let health = http_get(http_addr(&server), "/health").await;
    assert!(health.contains("bootstrap from RPC"), "{health}");
    for text in [&error, &health, &metrics] {
        assert!(
            !text.contains("SECRET-RPC-KEY"),
            "the API key never shows: {text}"
        );
    }

    // The fourth answer is good: the stream starts at its slot, every token is complete.
    assert_eq!(geyser.subscriptions(1).await, vec![Some(3_000)]);
    assert_eq!(rpc.params().len(), 4);
    let metrics = http_get(http_addr(&server), "/metrics").await;
    assert_eq!(metric(&metrics, "hyperstack_bootstrap_errors_total"), 3);
    assert_all_complete_eventually(&server, &accounts).await;
    assert!(server.failure().is_none());
    server.shutdown(Duration::from_secs(5)).await;
}

/// Every token complete once the engine applied the bootstrap (nothing follows it on the
/// stream, so a live subscription is watched until the last account's token is there).
async fn assert_all_complete_eventually(server: &RunningServer, accounts: &[Account]) {
    for a in accounts {
        until_token_is(server, a).await;
    }
    assert_all_complete(server, accounts).await;
}

#[tokio::test]
async fn processed_commitment_is_refused_at_start_with_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let result = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse().unwrap())
        .yellowstone(YellowstoneConfig::new("http://127.0.0.1:1"))
        .commitment(hyperstack_server::Commitment::Processed)
        .data_dir(dir.path())
        .spawn()
        .await;
    let error = result.err().expect("refused").to_string();
    assert!(error.contains("`processed` is not supported"), "{error}");
}
