//! Serves an example stack. With `YELLOWSTONE_ENDPOINT` (and `YELLOWSTONE_TOKEN`) set it ingests
//! live from that endpoint; otherwise it replays data generated for the stack (deterministic,
//! Borsh-encoded account updates and transactions), at a realistic pace, looping.
//!
//! ```sh
//! cargo run --release -p examples --bin server -- --stack pump
//! ```

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use examples::generator::{replay::recording, Simulation};
use hyperstack_server::source::replay::{ReplayConfig, ReplaySpeed};
use hyperstack_server::{HttpHealthConfig, Server, TlsConfig, WebSocketConfig, YellowstoneConfig};

#[derive(Clone, Copy, ValueEnum)]
enum Stack {
    Pump,
    Game,
}

#[derive(Parser)]
#[command(about = "Serve an example hyperstack stack")]
struct Args {
    /// Which example stack.
    #[arg(long, value_enum, default_value = "pump")]
    stack: Stack,
    /// WebSocket address.
    #[arg(long, default_value = "0.0.0.0:8877")]
    bind: SocketAddr,
    /// HTTP health/metrics address.
    #[arg(long, default_value = "0.0.0.0:8081")]
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
    };
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
        .reconnection();
    let builder = match YellowstoneConfig::from_env() {
        Some(y) => {
            tracing::info!(endpoint = %y.endpoint, "live ingestion from Yellowstone");
            builder.yellowstone(y)
        }
        None => {
            let simulation = match args.stack {
                Stack::Pump => Simulation::Pump,
                Stack::Game => Simulation::Game,
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
