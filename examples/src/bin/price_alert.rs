//! The price-alert bot: watches tokens and prints `[PRICE] <name> changed by +7.12%` whenever a
//! watched token's price moves by at least the threshold between two updates.
//!
//! ```sh
//! cargo run -p examples --bin server -- --stack pump    # in one terminal
//! cargo run -p examples --bin price_alert -- --threshold 5 --watch "Moon 1,Frog 1"
//! ```

use anyhow::Context;
use clap::Parser;
use examples::alerts::price_alerts;
use hyperstack_sdk::prelude::*;

#[derive(Parser)]
#[command(about = "Print price alerts for pump tokens")]
struct Args {
    /// Server URL.
    #[arg(long, env = "HYPERSTACK_URL", default_value = examples::DEFAULT_URL)]
    url: String,
    /// Minimum absolute change, in percent.
    #[arg(long, env = "PRICE_ALERT_THRESHOLD", default_value_t = 5.0)]
    threshold: f64,
    /// Token names to watch, comma-separated (default: every token).
    #[arg(long, env = "PRICE_ALERT_WATCHLIST", value_delimiter = ',')]
    watch: Vec<String>,
    /// Stop after this many alerts (default: run forever).
    #[arg(long)]
    max_alerts: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let hs = examples::connect_when_up(&args.url, std::time::Duration::from_secs(60))
        .await
        .with_context(|| format!("connecting to {}", args.url))?;
    let mut alerts = price_alerts(&hs, args.watch, args.threshold);
    let mut count = 0;
    while let Some(alert) = alerts.next().await {
        println!("{alert}");
        count += 1;
        if args.max_alerts.is_some_and(|max| count >= max) {
            break;
        }
    }
    Ok(())
}
