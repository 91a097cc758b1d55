//! The demo's narrative: which lines a newcomer sees as the pump market moves.
//!
//! - A token is introduced by its launch line (`[NEW]`) the first time it is seen with a name;
//!   its price moves (`[PRICE]`) and bonding-curve completion (`[DONE]`) are told only after
//!   that, so every token's story starts with its launch.
//! - Lines are rate-limited (a token bucket: [`LINES_PER_SECOND`] on average, bursts of
//!   [`BURST`]) so they stay readable. What the limit holds back is not lost silently: it is
//!   counted, by kind, and [`Story::held_back`] reports it (the demo prints it under the
//!   trending table). A token whose launch was held back is not followed at all.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hyperstack_sdk::RichUpdate;
use pump_stack::Token;

use crate::alerts::price_change;

/// Average event lines per second the story allows.
pub const LINES_PER_SECOND: f64 = 2.5;
/// Lines the story may print at once after a quiet spell.
pub const BURST: f64 = 3.0;

/// A token bucket: `rate` tokens per second, at most `burst` saved.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A full bucket at `now`.
    pub fn new(rate: f64, burst: f64, now: Instant) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Lines the rate limit held back, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldBack {
    /// Launches not shown (those tokens are not followed).
    pub launches: u64,
    /// Price moves not shown (of followed tokens, or of tokens not followed).
    pub price_moves: u64,
    /// Completions not shown.
    pub completions: u64,
}

impl HeldBack {
    /// Total lines held back.
    pub fn total(&self) -> u64 {
        self.launches + self.price_moves + self.completions
    }
}

impl std::fmt::Display for HeldBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "held back to keep it readable: {} launches, {} price moves, {} completions",
            self.launches, self.price_moves, self.completions
        )
    }
}

/// The demo's story state.
#[derive(Debug, Clone)]
pub struct Story {
    threshold_pct: f64,
    followed: HashSet<String>,
    passed_over: HashSet<String>,
    limiter: RateLimiter,
    held_back: HeldBack,
}

impl Story {
    /// A story telling price moves of at least `threshold_pct` percent.
    pub fn new(threshold_pct: f64, now: Instant) -> Story {
        Story {
            threshold_pct,
            followed: HashSet::new(),
            passed_over: HashSet::new(),
            limiter: RateLimiter::new(LINES_PER_SECOND, BURST, now),
            held_back: HeldBack::default(),
        }
    }

    /// The line this update adds to the story, if any.
    pub fn on_update(&mut self, update: &RichUpdate<Token>, now: Instant) -> Option<String> {
        let (key, before, after) = match update {
            RichUpdate::Created { key, data } => (key, None, data),
            RichUpdate::Updated {
                key, before, after, ..
            } => (key, Some(before), after),
            RichUpdate::Deleted { .. } => return None,
        };
        if !self.followed.contains(key) {
            if self.passed_over.contains(key) {
                self.hold_back_moves(before, after);
                return None;
            }
            let name = after.name.as_deref()?;
            if !self.limiter.try_take(now) {
                self.passed_over.insert(key.clone());
                self.held_back.launches += 1;
                return None;
            }
            self.followed.insert(key.clone());
            return Some(format!(
                "[NEW]   {name} ({}) launched",
                after.symbol.as_deref().unwrap_or("?")
            ));
        }
        let before = before?;
        let name = after.name.as_deref().unwrap_or("?");
        let completed = before.complete != Some(true) && after.complete == Some(true);
        let line = if completed {
            format!("[DONE]  {name} completed its bonding curve")
        } else {
            let change = price_change(before, after)?;
            if change.abs() < self.threshold_pct {
                return None;
            }
            format!("[PRICE] {name} changed by {change:+.2}%")
        };
        if self.limiter.try_take(now) {
            return Some(line);
        }
        if completed {
            self.held_back.completions += 1;
        } else {
            self.held_back.price_moves += 1;
        }
        None
    }

    /// What the rate limit held back so far.
    pub fn held_back(&self) -> HeldBack {
        self.held_back
    }

    /// Tokens whose story is being told.
    pub fn followed(&self) -> usize {
        self.followed.len()
    }

    fn hold_back_moves(&mut self, before: Option<&Token>, after: &Token) {
        let Some(before) = before else { return };
        if before.complete != Some(true) && after.complete == Some(true) {
            self.held_back.completions += 1;
        } else if price_change(before, after).is_some_and(|c| c.abs() >= self.threshold_pct) {
            self.held_back.price_moves += 1;
        }
    }
}

/// How often the demo refreshes its trending table on a terminal.
pub const TABLE_REFRESH_TTY: Duration = Duration::from_secs(1);
/// How often the demo prints its trending table when stdout is not a terminal.
pub const TABLE_REFRESH_PIPE: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: Option<&str>, price: f64, complete: bool) -> Token {
        Token {
            name: name.map(str::to_string),
            symbol: name.map(|n| n.to_uppercase()),
            price_sol: Some(price),
            complete: Some(complete),
            ..Token::default()
        }
    }

    fn created(key: &str, t: Token) -> RichUpdate<Token> {
        RichUpdate::Created {
            key: key.into(),
            data: t,
        }
    }

    fn updated(key: &str, before: Token, after: Token) -> RichUpdate<Token> {
        RichUpdate::Updated {
            key: key.into(),
            before,
            after,
            patch: None,
        }
    }

    #[test]
    fn launch_comes_first_even_when_the_name_arrives_later() {
        let t0 = Instant::now();
        let mut story = Story::new(5.0, t0);
        assert_eq!(
            story.on_update(&created("a", token(None, 1.0, false)), t0),
            None
        );
        let line = story.on_update(
            &updated(
                "a",
                token(None, 1.0, false),
                token(Some("moon"), 1.0, false),
            ),
            t0,
        );
        assert_eq!(line.as_deref(), Some("[NEW]   moon (MOON) launched"));
        let line = story.on_update(
            &updated(
                "a",
                token(Some("moon"), 1.0, false),
                token(Some("moon"), 1.1, false),
            ),
            t0,
        );
        assert_eq!(line.as_deref(), Some("[PRICE] moon changed by +10.00%"));
        let small = story.on_update(
            &updated(
                "a",
                token(Some("moon"), 1.1, false),
                token(Some("moon"), 1.11, false),
            ),
            t0,
        );
        assert_eq!(small, None, "below the threshold");
        let done = story.on_update(
            &updated(
                "a",
                token(Some("moon"), 1.11, false),
                token(Some("moon"), 1.11, true),
            ),
            t0 + Duration::from_secs(1),
        );
        assert_eq!(
            done.as_deref(),
            Some("[DONE]  moon completed its bonding curve")
        );
        assert_eq!(story.held_back(), HeldBack::default());
    }

    #[test]
    fn the_rate_limit_holds_lines_back_and_counts_them() {
        let t0 = Instant::now();
        let mut story = Story::new(5.0, t0);
        let mut shown = 0;
        for i in 0..10 {
            let key = format!("k{i}");
            let name = format!("t{i}");
            if story
                .on_update(&created(&key, token(Some(&name), 1.0, false)), t0)
                .is_some()
            {
                shown += 1;
            }
        }
        assert_eq!(shown, 3, "a burst of three");
        assert_eq!(story.followed(), 3);
        // A token whose launch was held back is not followed: its moves are only counted.
        let line = story.on_update(
            &updated(
                "k9",
                token(Some("t9"), 1.0, false),
                token(Some("t9"), 2.0, false),
            ),
            t0 + Duration::from_secs(10),
        );
        assert_eq!(line, None);
        let held = story.held_back();
        assert_eq!(
            held,
            HeldBack {
                launches: 7,
                price_moves: 1,
                completions: 0
            }
        );
        assert_eq!(held.total(), 8);
    }

    #[test]
    fn the_average_rate_holds_over_time() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(LINES_PER_SECOND, BURST, t0);
        // Ask 100 times a second for 20 seconds.
        let taken = (0..2_000)
            .filter(|i| limiter.try_take(t0 + Duration::from_millis(10 * i)))
            .count();
        assert!(
            taken as f64 <= BURST + 20.0 * LINES_PER_SECOND + 1.0,
            "{taken}"
        );
        assert!(taken as f64 >= 20.0 * LINES_PER_SECOND - 1.0, "{taken}");
    }
}
