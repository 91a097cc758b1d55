//! Writes deterministic replay data for an example stack (JSON Lines, docs/REPLAY.md):
//! account updates (Borsh for pump and game, steel's C layout for ore) and transactions with
//! their logs.
//!
//! ```sh
//! cargo run -p examples --bin generate -- pump --seed 42 --slots 2000 --out pump.jsonl
//! ```

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use examples::generator::{replay::recording, Simulation};

#[derive(Clone, Copy, ValueEnum)]
enum Stack {
    Pump,
    Game,
    /// The real ore + entropy programs (their published IDLs).
    Ore,
}

#[derive(Parser)]
#[command(about = "Generate replay data for an example stack")]
struct Args {
    /// Which example stack.
    stack: Stack,
    /// Seed (same seed and slots → same bytes).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Slots to simulate.
    #[arg(long, default_value_t = 2_000)]
    slots: u64,
    /// First slot.
    #[arg(long, default_value_t = 300_000_000)]
    start_slot: u64,
    /// Output file (default: stdout).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let simulation = match args.stack {
        Stack::Pump => Simulation::Pump,
        Stack::Game => Simulation::Game,
        Stack::Ore => Simulation::Ore,
    };
    let updates = simulation.updates(args.seed, args.start_slot, args.slots);
    let text = recording(&updates);
    match &args.out {
        Some(path) => std::fs::write(path, text)?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    eprintln!("{} updates", updates.len());
    Ok(())
}
