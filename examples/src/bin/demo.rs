//! The demo: starts a hyperstack server for the pump stack on generated replay data (no
//! endpoint, no download), connects a client, and prints live alerts as the market moves.
//!
//! ```sh
//! cargo run --release -p examples --bin demo
//! ```

use examples::alerts::price_alerts;
use examples::generator::{pump::PumpSim, replay::recording};
use hyperstack_sdk::prelude::*;
use hyperstack_server::source::replay::{ReplayConfig, ReplaySpeed};
use hyperstack_server::Server;
use pump_stack::{Token, TokenEntity, TokenViews};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
    println!("(the same server runs standalone with `cargo run -p examples --bin server`; Ctrl-C stops)\n");

    let hs = HyperStack::connect(&url).await?;
    let mut alerts = price_alerts(&hs, Vec::new(), 5.0);
    let mut launches = hs
        .watch_rich::<TokenEntity>()
        .filter_map(|u: RichUpdate<Token>| match u {
            RichUpdate::Created { data, .. } => Some(format!(
                "[NEW]   {} ({}) launched",
                data.name.unwrap_or_default(),
                data.symbol.unwrap_or_default()
            )),
            RichUpdate::Updated { before, after, .. }
                if before.complete != Some(true) && after.complete == Some(true) =>
            {
                Some(format!(
                    "[DONE]  {} completed its bonding curve",
                    after.name.unwrap_or_default()
                ))
            }
            _ => None,
        });
    let trending = hs.views::<TokenViews>().trending();
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(10));
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            Some(alert) = alerts.next() => println!("{alert}"),
            Some(line) = launches.next() => println!("{line}"),
            _ = ticks.tick() => {
                let top = trending.get().await;
                let names: Vec<String> = top.iter().take(3).map(|t| {
                    format!("{} ({:.1} SOL)", t.name.clone().unwrap_or_default(), t.volume_sol.unwrap_or(0) as f64 / 1e9)
                }).collect();
                println!("[TREND] top volume: {}", names.join(", "));
            }
        }
    }
    server.shutdown(std::time::Duration::from_secs(2)).await;
    Ok(())
}
