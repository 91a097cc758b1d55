//! Reconnect delays: a base schedule (exponential by default, or the configured
//! `reconnect_intervals`), with full jitter on top — each delay is drawn uniformly between
//! zero and the base — so clients that lost the same server do not come back in lockstep.

use std::time::Duration;

/// The default schedule's first base delay.
pub(crate) const FIRST: Duration = Duration::from_secs(1);
/// The default schedule's longest base delay.
pub(crate) const MAX: Duration = Duration::from_secs(30);

/// The base delay before reconnect attempt `attempt` (1-based): the configured intervals in
/// turn, then the last one repeatedly; without any, 1 s doubling up to 30 s.
pub(crate) fn base(intervals: Option<&[Duration]>, attempt: u32) -> Duration {
    let i = attempt.saturating_sub(1);
    match intervals {
        Some(list) => {
            let at = usize::try_from(i).unwrap_or(usize::MAX);
            list.get(at).or(list.last()).copied().unwrap_or(FIRST)
        }
        None => {
            let doubled = FIRST.saturating_mul(1u32.checked_shl(i.min(31)).unwrap_or(u32::MAX));
            doubled.min(MAX)
        }
    }
}

/// Full jitter: uniform in `[0, base]`.
pub(crate) fn jitter(base: Duration, rng: &mut fastrand::Rng) -> Duration {
    let nanos = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.u64(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_base_doubles_to_a_cap_and_never_overflows() {
        let secs: Vec<u64> = (1..=7).map(|a| base(None, a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(base(None, u32::MAX), MAX);
        assert_eq!(base(None, 0), FIRST);
    }

    #[test]
    fn configured_intervals_are_the_base_schedule() {
        let list = [Duration::from_millis(500), Duration::from_secs(2)];
        assert_eq!(base(Some(&list), 1), Duration::from_millis(500));
        assert_eq!(base(Some(&list), 2), Duration::from_secs(2));
        assert_eq!(base(Some(&list), 1_000), Duration::from_secs(2));
        assert_eq!(base(Some(&[]), 3), FIRST);
    }

    #[test]
    fn jitter_spreads_delays_over_zero_to_base() {
        let mut rng = fastrand::Rng::with_seed(7);
        let b = Duration::from_secs(8);
        let delays: Vec<Duration> = (0..1_000).map(|_| jitter(b, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= b));
        let (lo, hi) = (
            delays.iter().filter(|d| **d < b / 4).count(),
            delays.iter().filter(|d| **d > b * 3 / 4).count(),
        );
        // Uniform: about a quarter in each end (a lockstep schedule would put all in one).
        assert!(
            (150..350).contains(&lo) && (150..350).contains(&hi),
            "{lo} {hi}"
        );
        assert_eq!(jitter(Duration::ZERO, &mut rng), Duration::ZERO);
    }
}
