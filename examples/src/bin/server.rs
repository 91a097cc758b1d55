//! Serves an example stack. With `YELLOWSTONE_ENDPOINT` (and `YELLOWSTONE_X_TOKEN`) set it
//! ingests live from that endpoint; otherwise it replays data generated for the stack
//! (deterministic, Borsh-encoded account updates and transactions), at a realistic pace,
//! looping. State is kept in `--data-dir` (default `./hyperstack-data`, one store per stack
//! in it): stopped and started again, the server resumes where it was. SIGINT or SIGTERM shut
//! it down gracefully (close frames to every client, exit code 0). With `HYPERSTACK_DAS_URL` set,
//! resolver fields (the ore stack's `ore_metadata`) fetch token metadata from that DAS endpoint.
//! With `SOLANA_RPC_URL` set as well as `YELLOWSTONE_ENDPOINT`, a first start reads the
//! programs' existing accounts from that RPC endpoint (`getProgramAccounts`) before streaming.
//!
//! ```sh
//! cargo run --release -p examples --bin server -- --stack pump
//! cargo run --release -p examples --bin server -- --stack ore
//! ```
//!
//! `--stack ore` serves the ore stack (generated/ore-stack, on the real `ore` and `entropy`
//! IDLs) over the ore simulator's replay: rounds, deploys, entropy reveals and resets in the
//! programs' real account layouts.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use examples::generator::{replay::recording, Simulation};
use hyperstack_server::source::replay::{ReplayConfig, ReplaySpeed};
use hyperstack_server::{
    HttpHealthConfig, ResolverConfig, RpcConfig, Server, TlsConfig, WebSocketConfig,
    YellowstoneConfig,
};

#[derive(Clone, Copy, ValueEnum)]
enum Stack {
    Pump,
    Game,
    /// ORE mining rounds, the treasury and miners (the real ore + entropy programs).
    Ore,
}

#[derive(Parser)]
#[command(about = "Serve an example hyperstack stack")]
struct Args {
    /// Which example stack.
    #[arg(long, value_enum, default_value = "pump")]
    stack: Stack,
    /// WebSocket address (the example clients' default URL points at its port).
    #[arg(long, env = "HYPERSTACK_BIND", default_value_t = SocketAddr::from(([0, 0, 0, 0], examples::DEFAULT_PORT)))]
    bind: SocketAddr,
    /// HTTP health/metrics address.
    #[arg(long, env = "HYPERSTACK_HTTP", default_value_t = SocketAddr::from(([0, 0, 0, 0], examples::DEFAULT_HTTP_PORT)))]
    http: SocketAddr,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Slots of generated data.
    #[arg(long, default_value_t = 2_000)]
    slots: u64,
    /// Replay pace: a factor of real time (1 = 400 ms per slot), or `max`.
    #[arg(long, default_value = "4")]
    speed: String,
    /// Replay once instead of looping.
    #[arg(long)]
    no_loop: bool,
    /// Where the state lives (each stack in a directory of its own inside), so a restart
    /// resumes where the last run stopped.
    #[arg(
        long,
        env = "HYPERSTACK_DATA_DIR",
        default_value = "./hyperstack-data",
        conflicts_with = "in_memory"
    )]
    data_dir: PathBuf,
    /// Keep the state in a temporary directory removed at exit instead (nothing survives).
    #[arg(long)]
    in_memory: bool,
    /// Tokens a WebSocket client may present (comma-separated: several for rotation).
    #[arg(
        long,
        env = "HYPERSTACK_AUTH_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    auth_token: Vec<String>,
    /// Token `/metrics` and `/views` require (`/health` and `/ready` stay open).
    #[arg(long, env = "HYPERSTACK_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Serve `wss://` with this PEM certificate chain (needs `--tls-key`).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Browser origins allowed to connect (repeatable; default: any).
    #[arg(long)]
    allowed_origin: Vec<String>,
    /// Most WebSocket connections from one address (default: no limit).
    #[arg(long)]
    max_connections_per_ip: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hyperstack_server::init_tracing();
    let args = Args::parse();
    let spec = match args.stack {
        Stack::Pump => pump_stack::spec(),
        Stack::Game => game_stack::spec(),
        Stack::Ore => ore_stack::spec(),
    };
    let stack_dir = args.data_dir.join(&spec.name);
    let mut ws = WebSocketConfig::new(args.bind);
    ws.auth_tokens = args.auth_token.clone();
    ws.allowed_origins = args.allowed_origin.clone();
    ws.limits.max_connections_per_ip = args.max_connections_per_ip;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        ws.tls = Some(TlsConfig::from_pem_files(cert, key)?);
    }
    let mut http = HttpHealthConfig::new(args.http);
    http.metrics_token = args.metrics_token.clone();
    let builder = Server::builder()
        .spec(spec)
        .websocket_config(ws)
        .health_monitoring()
        .http_health_config(http)
        .reconnection()
        .resolvers(ResolverConfig::from_env());
    let builder = if args.in_memory {
        builder.in_memory()
    } else {
        tracing::info!(dir = %stack_dir.display(), "state kept in the data directory");
        builder.data_dir(stack_dir)
    };
    let builder = match YellowstoneConfig::from_env() {
        Some(y) => {
            tracing::info!(endpoint = %y.endpoint, "live ingestion from Yellowstone");
            let builder = builder.yellowstone(y);
            match RpcConfig::from_env() {
                Some(rpc) => {
                    tracing::info!(rpc = %rpc.url_display(), "existing accounts bootstrapped from this RPC endpoint when due");
                    builder.rpc_bootstrap(rpc)
                }
                None => builder,
            }
        }
        None => {
            let simulation = match args.stack {
                Stack::Pump => Simulation::Pump,
                Stack::Game => Simulation::Game,
                Stack::Ore => Simulation::Ore,
            };
            let updates = simulation.updates(args.seed, 300_000_000, args.slots);
            let speed = if args.speed == "max" {
                ReplaySpeed::AsFastAsPossible
            } else {
                ReplaySpeed::Factor(
                    args.speed
                        .parse()
                        .context("--speed takes a number or `max`")?,
                )
            };
            tracing::info!(
                updates = updates.len(),
                seed = args.seed,
                "replaying generated data"
            );
            builder.replay(
                ReplayConfig::text(recording(&updates))
                    .with_speed(speed)
                    .looping(!args.no_loop),
            )
        }
    };
    let server = builder.spawn().await?;
    let scheme = if args.tls_cert.is_some() { "wss" } else { "ws" };
    println!(
        "hyperstack serving on {scheme}://{} (health and metrics on http://{})",
        server.local_addr(),
        server
            .http_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    // A failed critical task ends the process with an error: its supervisor restarts it.
    server.run_until_signal().await?;
    Ok(())
}
