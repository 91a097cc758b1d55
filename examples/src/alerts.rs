//! The price-alert logic shared by the `price_alert` bot and the demo.

use hyperstack_sdk::prelude::*;
use pump_stack::{Token, TokenEntity};

/// Percent change of the price between two versions of a token, when both are known.
pub fn price_change(before: &Token, after: &Token) -> Option<f64> {
    let (b, a) = (before.price_sol?, after.price_sol?);
    (b > 0.0).then(|| (a - b) / b * 100.0)
}

/// A price alert: token name and percent change.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceAlert {
    /// Token name.
    pub name: String,
    /// Change in percent (positive: up).
    pub change_pct: f64,
}

impl std::fmt::Display for PriceAlert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[PRICE] {} changed by {:+.2}%",
            self.name, self.change_pct
        )
    }
}

/// Alerts for watched tokens (every token when `watchlist` is empty) whose price moves by at
/// least `threshold_pct` between two updates: `watch_rich` + `filter` + `filter_map`.
pub fn price_alerts(
    hs: &HyperStack,
    watchlist: Vec<String>,
    threshold_pct: f64,
) -> impl Stream<Item = PriceAlert> + Unpin {
    hs.watch_rich::<TokenEntity>()
        .filter(move |u: &RichUpdate<Token>| {
            let name = match u {
                RichUpdate::Created { data, .. } => data.name.as_ref(),
                RichUpdate::Updated { after, .. } => after.name.as_ref(),
                RichUpdate::Deleted { .. } => None,
            };
            watchlist.is_empty() || name.is_some_and(|n| watchlist.contains(n))
        })
        .filter_map(move |u: RichUpdate<Token>| match u {
            RichUpdate::Updated { before, after, .. } => {
                let change_pct = price_change(&before, &after)?;
                (change_pct.abs() >= threshold_pct).then(|| PriceAlert {
                    name: after.name.unwrap_or_default(),
                    change_pct,
                })
            }
            _ => None,
        })
}
