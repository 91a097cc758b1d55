//! ORE rounds in the terminal: the latest round with the SOL deployed on each of its 25
//! squares as a 5×5 grid, then a line whenever a round resolves (its winning square and top
//! miner, with its final grid) and when a round's top miner is found.
//!
//! ```sh
//! cargo run --release -p examples --bin server -- --stack ore        # terminal 1
//! cargo run --release -p examples --bin ore_rounds                   # terminal 2
//! ```

use anyhow::Context;
use clap::Parser;
use hyperstack_sdk::prelude::*;
use ore_stack::{OreRound, OreRoundEntity, OreRoundViews};

/// The all-zero address: a `top_miner` or `slot_hash` not set yet.
const UNSET: &str = "11111111111111111111111111111111";

#[derive(Parser)]
#[command(about = "Show ORE rounds live: the board of the latest round, and each resolution")]
struct Args {
    /// Server URL.
    #[arg(long, env = "HYPERSTACK_URL", default_value = "ws://127.0.0.1:8877")]
    url: String,
    /// Stop after this many rounds resolved (0: print the latest round only; default: run
    /// forever).
    #[arg(long)]
    max_resolved: Option<usize>,
}

fn set(address: Option<&str>) -> Option<&str> {
    address.filter(|a| *a != UNSET)
}

/// Whether the round was reset (its `slot_hash` holds the revealed value).
fn resolved(r: &OreRound) -> bool {
    set(r.results.slot_hash.as_deref()).is_some()
}

fn ore_symbol(r: &OreRound) -> &str {
    r.ore_metadata
        .as_ref()
        .and_then(|m| m.symbol.as_deref())
        .unwrap_or("ORE")
}

fn id(r: &OreRound) -> String {
    r.id.round_id.map_or("?".into(), |id| id.to_string())
}

/// The round's header and its board: SOL per square, five squares a row; the winning square
/// (once known) marked with `*`.
fn print_board(r: &OreRound) {
    println!(
        "== round #{} ({}): {:.3} SOL on the board, {} miners, motherlode {:.3} {}",
        id(r),
        r.id.round_address.as_deref().unwrap_or("?"),
        r.state.total_deployed.unwrap_or(0.0),
        r.state.total_miners.unwrap_or(0),
        r.state.motherlode.unwrap_or(0.0),
        ore_symbol(r)
    );
    let squares = r.state.deployed_per_square_ui.clone().unwrap_or_default();
    let winning = r
        .results
        .winning_square
        .and_then(|w| usize::try_from(w).ok());
    for row in 0..5 {
        let cells: Vec<String> = (0..5)
            .map(|col| {
                let square = row * 5 + col;
                let sol = squares.get(square).copied().unwrap_or(0.0);
                let mark = if winning == Some(square) { '*' } else { ' ' };
                format!("{sol:>8.3}{mark}")
            })
            .collect();
        println!("|{}|", cells.join(" "));
    }
}

/// `[RESOLVED] round #12: winning square 7 (row 2, column 3), top miner …, motherlode …`.
fn print_resolution(r: &OreRound) {
    let square = match r.results.winning_square {
        Some(w) => format!(
            "winning square {w} (row {}, column {})",
            w / 5 + 1,
            w % 5 + 1
        ),
        None => "no winning square (no random value)".to_string(),
    };
    let top = match set(r.results.top_miner.as_deref()) {
        Some(miner) => format!("top miner {miner}"),
        None => "top miner found at its checkpoint".to_string(),
    };
    let motherlode = if r.results.did_hit_motherlode == Some(true) {
        format!(
            "motherlode hit: {:.3} {}",
            r.state.motherlode.unwrap_or(0.0),
            ore_symbol(r)
        )
    } else {
        "motherlode missed".to_string()
    };
    println!("[RESOLVED] round #{}: {square}, {top}, {motherlode}", id(r));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let hs = HyperStack::connect(&args.url)
        .await
        .with_context(|| format!("connecting to {}", args.url))?;
    match hs.views::<OreRoundViews>().latest().try_get().await? {
        Some(latest) => print_board(&latest),
        None => println!("== no round yet"),
    }
    if args.max_resolved == Some(0) {
        return Ok(());
    }
    let mut updates = hs.watch_rich::<OreRoundEntity>();
    let mut count = 0;
    while let Some(update) = updates.next().await {
        let RichUpdate::Updated { before, after, .. } = update else {
            continue;
        };
        if !resolved(&before) && resolved(&after) {
            print_resolution(&after);
            print_board(&after);
            count += 1;
            if args.max_resolved.is_some_and(|max| count >= max) {
                break;
            }
        } else if resolved(&after)
            && set(before.results.top_miner.as_deref()).is_none()
            && set(after.results.top_miner.as_deref()).is_some()
        {
            println!(
                "[TOP MINER] round #{}: {}",
                id(&after),
                after.results.top_miner.as_deref().unwrap_or("?")
            );
        }
    }
    Ok(())
}
