//! End to end with real processes: the example server on generated replay data, and the
//! `price_alert` and `leaderboard` programs against it. Expected alerts and standings are
//! derived here, independently, from the deterministic simulators.

mod common;

use std::collections::HashSet;

use common::{server, Proc};

use examples::generator::game::GameSim;
use examples::generator::pump::PumpSim;
use examples::generator::{Pubkey, Update};

/// The server binary's defaults: seed 42, 2,000 slots from slot 300,000,000.
const SEED: u64 = 42;
const SLOTS: u64 = 2_000;
const START: u64 = 300_000_000;

/// Every alert `price_alert --threshold 5` can print for the generated pump data: consecutive
/// price pairs of each curve, including the wrap-around when the replay loops.
fn possible_alerts() -> HashSet<String> {
    let (updates, curves) = PumpSim::new(SEED, START).run(SLOTS);
    let name_of = |k: &Pubkey| {
        curves
            .iter()
            .find(|c| c.address == *k)
            .map(|c| c.name.clone())
    };
    let mut prices: std::collections::HashMap<Pubkey, Vec<f64>> = Default::default();
    for u in &updates {
        if let Update::Account(w) = u {
            let vt = u64::from_le_bytes(w.data[8..16].try_into().unwrap());
            let vs = u64::from_le_bytes(w.data[16..24].try_into().unwrap());
            prices
                .entry(w.pubkey)
                .or_default()
                .push(vs as f64 / vt as f64);
        }
    }
    let mut alerts = HashSet::new();
    for (key, series) in &prices {
        let name = name_of(key).expect("every curve has a name");
        let mut pairs: Vec<(f64, f64)> = series.windows(2).map(|w| (w[0], w[1])).collect();
        if let (Some(first), Some(last)) = (series.first(), series.last()) {
            pairs.push((*last, *first));
        }
        for (b, a) in pairs {
            let pct = (a - b) / b * 100.0;
            if pct.abs() >= 5.0 {
                alerts.insert(format!("[PRICE] {name} changed by {pct:+.2}%"));
            }
        }
    }
    alerts
}

#[test]
fn price_alert_prints_real_alerts() {
    let expected = possible_alerts();
    assert!(
        expected.len() > 50,
        "the data has price moves: {}",
        expected.len()
    );
    let (_server, url) = server("pump", &["--speed", "20"]);
    let bot = Proc::spawn(
        env!("CARGO_BIN_EXE_price_alert"),
        &["--url", &url, "--threshold", "5", "--max-alerts", "8"],
    );
    let lines = bot.finish();
    let alerts: Vec<&String> = lines.iter().filter(|l| l.starts_with("[PRICE]")).collect();
    assert_eq!(alerts.len(), 8, "{lines:?}");
    for alert in alerts {
        assert!(
            expected.contains(alert),
            "`{alert}` is not a price move of the generated data"
        );
    }
}

#[test]
fn leaderboard_prints_the_final_standings() {
    let (_, players, _) = GameSim::new(SEED, START).run(SLOTS);
    let mut ranked = players.clone();
    ranked.sort_by(|a, b| b.score.cmp(&a.score).then(a.name.cmp(&b.name)));
    let (server, url) = server("game", &["--speed", "max", "--no-loop"]);
    server.stderr_line("ingestion caught up");
    let board = Proc::spawn(
        env!("CARGO_BIN_EXE_leaderboard"),
        &["--url", &url, "--max-updates", "0"],
    );
    let lines = board.finish();
    let section = |title: &str| -> Vec<String> {
        lines
            .iter()
            .skip_while(|l| !l.starts_with(title))
            .skip(1)
            .take_while(|l| !l.starts_with("=="))
            .cloned()
            .collect()
    };
    let top = section("== top 10");
    let expected: Vec<String> = ranked
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, p)| {
            format!(
                "#{:<2} {:<10} {:>6} points  {:>3} games  {:>3} wins",
                i + 1,
                p.name,
                p.score,
                p.games_played,
                p.wins
            )
        })
        .collect();
    assert_eq!(top, expected, "{lines:#?}");
    // The server's derived view holds the same scores, sorted by the server.
    let scores = |rows: &[String]| -> Vec<u64> {
        rows.iter()
            .filter_map(|l| l.split_whitespace().nth(2).and_then(|s| s.parse().ok()))
            .collect()
    };
    let derived = section("== Player/leaderboard");
    assert_eq!(
        scores(&derived),
        ranked.iter().take(10).map(|p| p.score).collect::<Vec<_>>()
    );
    let champion = lines
        .iter()
        .find(|l| l.starts_with("== champion: "))
        .expect("champion line");
    assert!(
        champion.ends_with(&ranked[0].name) || ranked[0].score == ranked[1].score,
        "{champion}"
    );
}

/// The `Program data:` events of a simulated transaction, as raw bytes.
fn events_of(t: &examples::generator::Transaction) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    t.logs
        .iter()
        .filter_map(|l| l.strip_prefix("Program data: "))
        .filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .collect()
}

fn base58(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

/// Lists every entity of `E` from a server with the SDK.
fn list<E: hyperstack_sdk::Entity>(url: &str) -> Vec<E::Data> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let hs = hyperstack_sdk::HyperStack::connect(url)
            .await
            .expect("connects");
        hs.try_list::<E>().await.expect("lists")
    })
}

#[test]
fn unique_count_in_a_section_reaches_sdk_clients() {
    // Independently from the simulation: the distinct traders of each mint (TradeEvent: mint,
    // sol, token, is_buy, user, …) and the buys and sells of each curve.
    let (updates, curves) = PumpSim::new(SEED, START).run(SLOTS);
    let mut traders: std::collections::HashMap<String, HashSet<String>> = Default::default();
    let mut buys: std::collections::HashMap<String, u64> = Default::default();
    let mut sells: std::collections::HashMap<String, u64> = Default::default();
    for u in &updates {
        let Update::Transaction(t) = u else { continue };
        for e in events_of(t) {
            if e.starts_with(&[189, 219, 127, 211, 78, 230, 97, 238]) {
                let mint = base58(&e[8..40]);
                let user = base58(&e[57..89]);
                traders.entry(mint).or_default().insert(user);
            }
        }
        for ix in &t.instructions {
            let curve = ix.accounts.get(3).map(|c| base58(c)).unwrap_or_default();
            if ix.data.starts_with(&[102, 6, 61, 18, 1, 218, 235, 234]) {
                *buys.entry(curve).or_default() += 1;
            } else if ix.data.starts_with(&[51, 230, 133, 164, 1, 127, 131, 173]) {
                *sells.entry(curve).or_default() += 1;
            }
        }
    }
    assert!(
        traders.values().any(|t| t.len() > 5),
        "the data has many traders"
    );

    let (server, url) = server("pump", &["--speed", "max", "--no-loop"]);
    server.stderr_line("ingestion caught up");
    // The server's entity cache holds the most recent entities (a bound of its own): check
    // every token it lists.
    let tokens = list::<pump_stack::TokenEntity>(&url);
    assert!(!tokens.is_empty());
    for token in &tokens {
        let mint = token.mint.clone().expect("every token has its mint");
        let curve = curves
            .iter()
            .find(|c| base58(&c.mint) == mint)
            .map(|c| base58(&c.address))
            .expect("a simulated curve");
        let expected = traders.get(&mint).map_or(0, |t| t.len() as u64);
        assert_eq!(token.stats.unique_traders.unwrap_or(0), expected, "{mint}");
        assert_eq!(
            token.stats.buys.unwrap_or(0),
            buys.get(&curve).copied().unwrap_or(0)
        );
        assert_eq!(
            token.stats.sells.unwrap_or(0),
            sells.get(&curve).copied().unwrap_or(0)
        );
    }
}

#[test]
fn merge_combines_two_event_types_for_sdk_clients() {
    // Independently from the simulation: per game, the latest GameEvent (game, kind, player,
    // slot) merged with its GameSettled (game, winner, loser, pot, scores).
    let (updates, _, _) = GameSim::new(SEED, START).run(SLOTS);
    let kinds = ["Created", "Joined", "Settled", "Cancelled"];
    let mut expected: std::collections::HashMap<
        String,
        serde_json::Map<String, serde_json::Value>,
    > = Default::default();
    let u64_at = |e: &[u8], at: usize| u64::from_le_bytes(e[at..at + 8].try_into().unwrap());
    for u in &updates {
        let Update::Transaction(t) = u else { continue };
        for e in events_of(t) {
            let game = base58(&e[8..40]);
            let summary = expected.entry(game.clone()).or_default();
            summary.insert("game".into(), game.into());
            if e.starts_with(&[154, 5, 234, 245, 78, 248, 61, 153]) {
                summary.insert("kind".into(), kinds[usize::from(e[40])].into());
                summary.insert("player".into(), base58(&e[41..73]).into());
                summary.insert("slot".into(), u64_at(&e, 73).into());
            } else if e.starts_with(&[63, 109, 128, 85, 229, 63, 167, 176]) {
                summary.insert("winner".into(), base58(&e[40..72]).into());
                summary.insert("loser".into(), base58(&e[72..104]).into());
                summary.insert("pot".into(), u64_at(&e, 104).into());
                summary.insert("winner_score".into(), u64_at(&e, 112).into());
                summary.insert("loser_score".into(), u64_at(&e, 120).into());
            }
        }
    }
    assert!(
        expected.values().any(|s| s.contains_key("winner")),
        "some games settle"
    );

    let (server, url) = server("game", &["--speed", "max", "--no-loop"]);
    server.stderr_line("ingestion caught up");
    // The server's entity cache holds the most recent games (a bound of its own): check every
    // game it lists, settled ones included.
    let listed = list::<game_stack::GameEntity>(&url);
    assert!(listed
        .iter()
        .any(|g| g.summary.as_ref().is_some_and(|s| s.winner.is_some())));
    for game in &listed {
        let summary = game.summary.as_ref().expect("every game has events");
        let key = summary.game.clone().expect("merged game address");
        let json = serde_json::to_value(summary).unwrap();
        let got: serde_json::Map<String, serde_json::Value> = json
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(got, expected[&key], "game {key}");
    }
}
