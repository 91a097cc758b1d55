//! Counters of the resolvers: `hyperstack_resolver_events_total{resolver, outcome}`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use super::{escape_label, header};

/// Events per (resolver, outcome).
#[derive(Debug, Default)]
pub(crate) struct ResolverMetrics {
    events: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl ResolverMetrics {
    /// One event of `resolver` with `outcome`.
    pub fn event(&self, resolver: &'static str, outcome: &'static str) {
        let mut map = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry((resolver, outcome)).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Events of `resolver` with `outcome` so far.
    pub fn events(&self, resolver: &str, outcome: &str) -> u64 {
        let map = self.events.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .find(|((r, o), _)| *r == resolver && *o == outcome)
            .map_or(0, |(_, n)| *n)
    }

    /// The family, with every (resolver, outcome) seen so far.
    pub fn render(&self, out: &mut String) {
        let name = header(
            out,
            "resolver_events_total counter Resolver events by outcome: cache_hit, store_hit, requested, deferred, found, not_found, invalid_input, error (a failed attempt, retried).",
        );
        let map = self.events.lock().unwrap_or_else(|e| e.into_inner());
        for ((resolver, outcome), n) in map.iter() {
            let _ = writeln!(
                out,
                "hyperstack_{name}{{resolver=\"{}\",outcome=\"{}\"}} {n}",
                escape_label(resolver),
                escape_label(outcome)
            );
        }
    }
}
