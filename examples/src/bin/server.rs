//! Serves an example stack. With `YELLOWSTONE_ENDPOINT` (and `YELLOWSTONE_X_TOKEN`) set it
//! ingests live from that endpoint; otherwise it replays data generated for the stack
//! (deterministic, Borsh-encoded account updates and transactions), at a realistic pace,
//! looping. State is kept in `--data-dir` (default `./hyperstack-data`, one store per stack
//! in it): stopped and started again, the server resumes where it was. SIGINT or SIGTERM shut
//! it down gracefully (close frames to every client, exit code 0). With `HYPERSTACK_DAS_URL` set,
//! resolver fields (the ore stack's `ore_metadata`) fetch token metadata from that DAS endpoint.
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
use hyperstack_server::{ResolverConfig, Server, YellowstoneConfig};

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
    let builder = Server::builder()
        .spec(spec)
        .websocket()
        .bind(args.bind)
        .health_monitoring()
        .health_bind(args.http)
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
            builder.yellowstone(y)
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
    println!(
        "hyperstack serving on ws://{} (health and metrics on http://{})",
        server.local_addr(),
        server
            .http_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    server.run_until_signal().await;
    Ok(())
}
