//! The demo: starts a hyperstack server for the pump stack on generated replay data (no
//! endpoint, no download), connects a client, and tells the market's story: each token's launch,
//! then its price moves and its bonding-curve completion, at a readable pace, under a small
//! trending table (refreshed in place on a terminal).
//!
//! ```sh
//! cargo run --release -p examples --bin demo
//! ```

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Parser;
use examples::generator::{pump::PumpSim, replay::recording};
use examples::screen::{trending_table, Screen};
use examples::story::{Story, LINES_PER_SECOND, TABLE_REFRESH_PIPE, TABLE_REFRESH_TTY};
use hyperstack_sdk::prelude::*;
use hyperstack_server::source::replay::{ReplayConfig, ReplaySpeed};
use hyperstack_server::Server;
use pump_stack::{TokenEntity, TokenViews};

#[derive(Parser)]
#[command(about = "hyperstack demo: a live pump market, told as it happens")]
struct Args {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
    /// Smallest price move worth a line, in percent.
    #[arg(long, default_value_t = 5.0)]
    threshold: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let updates = PumpSim::new(42, 300_000_000).run(3_000).0;
    let server = Server::builder()
        .spec(pump_stack::spec())
        .bind("127.0.0.1:0".parse()?)
        .replay(
            ReplayConfig::text(recording(&updates))
                .with_speed(ReplaySpeed::Factor(4.0))
                .looping(true),
        )
        .spawn()
        .await?;
    let url = format!("ws://{}", server.local_addr());
    println!(
        "hyperstack demo: pump stack replaying {} generated updates, serving {url}",
        updates.len()
    );
    println!(
        "each token's launch, then its {}%+ price moves and completion; {LINES_PER_SECOND} lines/s at most on average; Ctrl-C stops\n",
        args.threshold
    );

    let hs = HyperStack::connect(&url).await?;
    let terminal = std::io::stdout().is_terminal();
    let mut screen = Screen::new(std::io::stdout(), terminal);
    let mut story = Story::new(args.threshold, Instant::now());
    let mut changes = hs.watch_rich::<TokenEntity>();
    let trending = hs.views::<TokenViews>().trending();
    // The first table comes after one period, once there is a story to go with it.
    let period = if terminal {
        TABLE_REFRESH_TTY
    } else {
        TABLE_REFRESH_PIPE
    };
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let stop = async {
        match args.seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = &mut stop => break,
            Some(update) = changes.next() => {
                if let Some(line) = story.on_update(&update, Instant::now()) {
                    screen.event(&line)?;
                }
            }
            _ = ticks.tick() => {
                let top = trending.get().await;
                let held = story.held_back();
                let note = (held.total() > 0).then(|| held.to_string());
                screen.table(trending_table(&top, note.as_deref()))?;
            }
        }
    }
    server.shutdown(Duration::from_secs(2)).await;
    Ok(())
}
