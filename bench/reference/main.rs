//! The reference server (HyperTekOrg/hyperstack) on the smallest pump stack its DSL needs to
//! serve the load tool's `BondingCurve` updates: one `Token` entity keyed by the curve's
//! address, with three of the curve's fields, and a sorted top-50 view (`Token/trending`) for
//! the mixed preset (`Token/list`, `Token/state` and `Token/append` come by default). A template: `bench/reference/build.sh` copies it
//! into a scratch crate outside the workspace and builds it against a checkout of the
//! reference; it is never compiled as part of this workspace.
//!
//! Environment: `YELLOWSTONE_ENDPOINT` (the load tool's feeder, e.g. `http://127.0.0.1:50051`),
//! `REFERENCE_BIND` (WebSocket address, default `127.0.0.1:8878`), `REFERENCE_MAX_CLIENTS`
//! (default 100000).

use std::net::SocketAddr;

use hyperstack::prelude::*;
use hyperstack_server::Server;

#[hyperstack(idl = "idl/pump.json")]
pub mod bench_stream {
    use hyperstack::macros::Stream;
    use serde::{Deserialize, Serialize};

    #[entity(name = "Token")]
    #[view(name = "trending", sort_by = "reserves.virtual_sol_reserves", order = "desc", take = 50)]
    pub struct Token {
        pub id: TokenId,
        pub reserves: Reserves,
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Stream)]
    pub struct TokenId {
        #[map(pump_sdk::accounts::BondingCurve::__account_address, primary_key, strategy = SetOnce)]
        pub bonding_curve: String,
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Stream)]
    pub struct Reserves {
        #[map(pump_sdk::accounts::BondingCurve::virtual_token_reserves, strategy = LastWrite)]
        pub virtual_token_reserves: Option<u64>,

        #[map(pump_sdk::accounts::BondingCurve::virtual_sol_reserves, strategy = LastWrite)]
        pub virtual_sol_reserves: Option<u64>,

        #[map(pump_sdk::accounts::BondingCurve::real_sol_reserves, strategy = LastWrite)]
        pub real_sol_reserves: Option<u64>,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // tonic (through yellowstone-vixen) needs a process-wide rustls provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let bind: SocketAddr = std::env::var("REFERENCE_BIND")
        .unwrap_or_else(|_| "127.0.0.1:8878".into())
        .parse()?;
    let max_clients: usize = std::env::var("REFERENCE_MAX_CLIENTS")
        .unwrap_or_else(|_| "100000".into())
        .parse()?;
    println!("ws://{bind} (pid {})", std::process::id());
    Server::builder()
        .spec(bench_stream::spec())
        .websocket()
        .bind(bind)
        .websocket_max_clients(max_clients)
        .start()
        .await
}
