//! A rate limit shared by the requests of one endpoint: starts spaced at least `1 / rate`
//! apart, in the order they asked.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces request starts to at most `rate` per second.
#[derive(Debug)]
pub(crate) struct RateLimit {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimit {
    /// At most `per_second` starts per second (at least one per hour for tiny rates; no limit
    /// for a rate that is not a positive number).
    pub fn new(per_second: f64) -> RateLimit {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::from_secs_f64((1.0 / per_second).min(3_600.0))
        } else {
            Duration::ZERO
        };
        RateLimit {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this request's turn.
    pub async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_starts_by_the_interval() {
        let limit = RateLimit::new(4.0);
        let start = Instant::now();
        for i in 0..5u32 {
            limit.wait().await;
            assert_eq!(start.elapsed(), Duration::from_millis(250) * i, "start {i}");
        }
        // An idle period does not bank starts: the next one waits for nothing, the one after
        // for the interval.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t = Instant::now();
        limit.wait().await;
        limit.wait().await;
        assert_eq!(t.elapsed(), Duration::from_millis(250));
        let unlimited = RateLimit::new(0.0);
        let t = Instant::now();
        for _ in 0..100 {
            unlimited.wait().await;
        }
        assert_eq!(t.elapsed(), Duration::ZERO);
    }
}
