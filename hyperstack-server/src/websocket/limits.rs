//! Admission bookkeeping: token buckets (message and subscribe rates), connections per client
//! address, handshakes under way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// A token bucket.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Full at first.
    pub fn new(limit: RateLimit, now: Instant) -> Bucket {
        let burst = f64::from(limit.burst.max(1));
        Bucket {
            rate: if limit.per_second.is_finite() {
                limit.per_second.max(0.0)
            } else {
                0.0
            },
            burst,
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
    }

    /// Takes a token; when there is none, how long until there is one.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if self.rate <= 0.0 {
            return Err(Duration::from_secs(3_600));
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
    }
}

/// Connections per client address.
#[derive(Debug, Default)]
pub(crate) struct PerIp {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// Holds one connection's place in its address's count; released on drop.
pub(crate) struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// Takes a place for `ip` unless `max` are taken.
    pub fn acquire(table: &Arc<PerIp>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut counts = table.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            table: table.clone(),
            ip,
        })
    }

    /// Connections counted for `ip` now.
    #[cfg(test)]
    pub fn count(&self, ip: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.table.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// A counted place among a bounded number (handshakes under way); released on drop.
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// Takes a place unless `max` are taken.
    pub fn acquire(count: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(count.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client's address: the last address in `header` when the peer is a trusted proxy that
/// sent one, else the peer's.
pub(crate) fn client_ip(peer: IpAddr, header: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    header
        .and_then(|h| h.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(RateLimit::new(10.0, 3), t0);
        for _ in 0..3 {
            assert!(b.take(t0).is_ok());
        }
        let wait = b.take(t0).unwrap_err();
        assert!(
            wait <= Duration::from_millis(100) && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert!(b.take(t0 + Duration::from_millis(100)).is_ok());
        assert!(b.take(t0 + Duration::from_millis(100)).is_err());
        // Refill stops at the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(b.take(later).is_ok());
        }
        assert!(b.take(later).is_err());
        let mut never = Bucket::new(RateLimit::new(f64::NAN, 1), t0);
        assert!(never.take(t0).is_ok());
        assert!(never.take(later).is_err());
    }

    #[test]
    fn per_ip_counts_and_releases_beyond_the_bound() {
        let table = Arc::new(PerIp::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let a = PerIp::acquire(&table, ip, 2).unwrap();
        let b = PerIp::acquire(&table, ip, 2).unwrap();
        assert!(PerIp::acquire(&table, ip, 2).is_none());
        let c = PerIp::acquire(&table, other, 2).expect("another address is not affected");
        drop(a);
        assert_eq!(table.count(ip), 1);
        let d = PerIp::acquire(&table, ip, 2).expect("a released place is free again");
        drop((b, c, d));
        assert_eq!((table.count(ip), table.count(other)), (0, 0));
    }

    #[test]
    fn slots_are_bounded() {
        let count = Arc::new(AtomicUsize::new(0));
        let a = Slot::acquire(&count, 1).unwrap();
        assert!(Slot::acquire(&count, 1).is_none());
        drop(a);
        assert!(Slot::acquire(&count, 1).is_some());
    }

    #[test]
    fn the_forwarded_address_is_believed_from_trusted_proxies_only() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let header = Some("198.51.100.1, 203.0.113.7");
        assert_eq!(client_ip(proxy, header, &[proxy]), client);
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_ip(stranger, header, &[proxy]), stranger, "forged");
        assert_eq!(client_ip(proxy, None, &[proxy]), proxy);
        assert_eq!(client_ip(proxy, Some("garbage"), &[proxy]), proxy);
    }
}
