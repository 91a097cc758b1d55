//! The leaderboard: prints the top 10 players from the initial list, the server's derived
//! `leaderboard` view through the Views API, then every score gain as it happens.
//!
//! ```sh
//! cargo run -p examples --bin server -- --stack game    # in one terminal
//! cargo run -p examples --bin leaderboard               # in another
//! ```

use anyhow::Context;
use clap::Parser;
use game_stack::{Player, PlayerEntity, PlayerViews};
use hyperstack_sdk::prelude::*;

#[derive(Parser)]
#[command(about = "Show the settlement game's leaderboard live")]
struct Args {
    /// Server URL.
    #[arg(long, env = "HYPERSTACK_URL", default_value = examples::DEFAULT_URL)]
    url: String,
    /// Stop after this many score changes (0: print the standings only; default: run forever).
    #[arg(long)]
    max_updates: Option<usize>,
}

fn show(rank: usize, p: &Player) {
    println!(
        "#{rank:<2} {:<10} {:>6} points  {:>3} games  {:>3} wins",
        p.name.as_deref().unwrap_or("?"),
        p.score.unwrap_or(0),
        p.games_played.unwrap_or(0),
        p.wins.unwrap_or(0)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let hs = examples::connect_when_up(&args.url, std::time::Duration::from_secs(60))
        .await
        .with_context(|| format!("connecting to {}", args.url))?;

    let mut players = hs.try_list::<PlayerEntity>().await?;
    players.sort_by(|a, b| b.score.cmp(&a.score).then(a.name.cmp(&b.name)));
    println!("== top 10 (from the list view)");
    for (i, p) in players.iter().take(10).enumerate() {
        show(i + 1, p);
    }

    let views = hs.views::<PlayerViews>();
    let board = views.leaderboard().try_get().await?;
    println!("== Player/leaderboard (derived view, sorted by the server)");
    for (i, p) in board.iter().enumerate() {
        show(i + 1, p);
    }
    if let Some(champion) = views.champion().try_get().await? {
        println!("== champion: {}", champion.name.as_deref().unwrap_or("?"));
    }

    if args.max_updates == Some(0) {
        return Ok(());
    }
    println!("== live score changes");
    let mut gains = hs
        .watch_rich::<PlayerEntity>()
        .filter_map(|u: RichUpdate<Player>| match u {
            RichUpdate::Updated { before, after, .. } => {
                let (b, a) = (before.score?, after.score?);
                (a != b).then(|| (after.name.unwrap_or_default(), a as i64 - b as i64, a))
            }
            _ => None,
        });
    let mut count = 0;
    while let Some((name, delta, now)) = gains.next().await {
        println!("[SCORE] {name} {delta:+} (now {now})");
        count += 1;
        if args.max_updates.is_some_and(|max| count >= max) {
            break;
        }
    }
    Ok(())
}
