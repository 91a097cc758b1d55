//! Resolvers: entity fields filled from outside the chain (`resolve = "token_metadata"`),
//! keyed by a value of the entity (the field's `input`). docs/STACK_SPEC.md, "Resolvers".
//!
//! ```text
//!  engine thread                                    server runtime
//!  ─────────────                                    ──────────────
//!  transform: a resolver field's input changes
//!    → Index: reference (entity, field) → input     (durable, `resolved` keyspace)
//!    → value known (LRU cache / store)? set it now
//!    → else request ──── Link (try_send) ─────────► worker: task per input
//!                                                    concurrency limit, rate limit,
//!                                                    timeout, retries with backoff
//!  engine input ◄──────── Resolution ────────────── definite answer (found / none)
//!    → Index stores the value (committed with the batch)
//!    → every entity referencing the input: field set, computed fields evaluated again,
//!      one mutation each → projection → frames after the commit
//! ```
//!
//! Ingestion never waits for an endpoint: requests are offered with `try_send` (a full queue
//! defers them to a sweep of the stored references), answers arrive as one more engine
//! input. Values are kept in the store, so a restart serves what was served (and requests
//! again what was still out). Without an endpoint nothing is fetched and the fields stay null.

mod cache;
mod config;
mod das;
pub(crate) mod http;
pub(crate) mod index;
mod keys;
mod limit;
mod redact;
mod worker;

use std::sync::Arc;

use serde_json::Value as Json;
use tokio::sync::{mpsc, watch};

use crate::metrics::Metrics;
use crate::spec::{FieldKind, Resolver, Stack};
use crate::store::StoreError;

pub use config::{DasConfig, ResolverConfig, DAS_URL_ENV};
pub(crate) use index::Index;
pub use redact::Redacted;

/// A fetch the engine asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub resolver: Resolver,
    pub input: Box<str>,
}

/// A definite answer for an input: its value, or `None` when the resolver has none (an
/// unknown asset, an input that is no address).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolution {
    pub resolver: Resolver,
    pub input: Box<str>,
    pub value: Option<Json>,
}

impl Resolution {
    /// The value, if the resolver has one.
    pub fn value(&self) -> Option<&Json> {
        self.value.as_ref()
    }
}

/// What happened, for `hyperstack_resolver_events_total{resolver, outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A reference found its value in memory.
    CacheHit,
    /// A reference found its value in the store.
    StoreHit,
    /// A fetch was requested.
    Requested,
    /// A fetch could not be queued (queue full); a sweep requests it later.
    Deferred,
    /// The endpoint answered with a value.
    Found,
    /// The endpoint has no value for the input.
    NotFound,
    /// The input cannot be resolved (not an address, too long).
    InvalidInput,
    /// An attempt failed (HTTP, JSON-RPC or timeout); retried after a backoff.
    Error,
}

impl Outcome {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::CacheHit => "cache_hit",
            Outcome::StoreHit => "store_hit",
            Outcome::Requested => "requested",
            Outcome::Deferred => "deferred",
            Outcome::Found => "found",
            Outcome::NotFound => "not_found",
            Outcome::InvalidInput => "invalid_input",
            Outcome::Error => "error",
        }
    }
}

/// The resolvers a stack's fields use, with the fields (`Entity.field`) of each.
pub fn stack_resolvers(stack: &Stack) -> Vec<(Resolver, Vec<String>)> {
    let mut out: Vec<(Resolver, Vec<String>)> = Vec::new();
    for e in &stack.entities {
        for f in &e.fields {
            if let FieldKind::Resolved { resolver, .. } = &f.kind {
                let name = format!("{}.{}", e.name, f.name);
                match out.iter_mut().find(|(r, _)| r == resolver) {
                    Some((_, fields)) => fields.push(name),
                    None => out.push((*resolver, vec![name])),
                }
            }
        }
    }
    out
}

/// The engine's end of the resolvers: requests out, answers in.
pub(crate) struct Link {
    requests: mpsc::Sender<Request>,
    results: mpsc::Receiver<Resolution>,
    queue: usize,
}

impl Link {
    /// The next answer (`None` once the worker is gone).
    pub async fn recv(&mut self) -> Option<Resolution> {
        self.results.recv().await
    }

    /// Whether answers are waiting.
    pub fn has_results(&self) -> bool {
        !self.results.is_empty()
    }

    /// Offers the index's new requests to the worker without waiting (a full queue defers
    /// them), then sweeps for referenced inputs that are neither known nor requested when a
    /// sweep is due and the queue has room.
    pub fn dispatch(&self, index: &mut Index) -> Result<(), StoreError> {
        self.offer(index);
        if index.sweep_due() && self.requests.capacity() * 2 >= self.queue {
            index.sweep(self.requests.capacity())?;
            self.offer(index);
        }
        Ok(())
    }

    fn offer(&self, index: &mut Index) {
        for request in index.take_requests() {
            if let Err(e) = self.requests.try_send(request) {
                let r = e.into_inner();
                index.deferred(r.resolver, &r.input);
            }
        }
    }
}

/// Why resolvers cannot start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ResolveError(String);

/// Starts the worker of every resolver `stack` uses and `config` configures; says once which
/// resolvers have no endpoint (their fields stay null). Enables fetching in `index`. `None`
/// when nothing is fetched.
pub(crate) fn start(
    stack: &Stack,
    config: &ResolverConfig,
    index: &mut Index,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<Link>, ResolveError> {
    index.set_metrics(metrics.clone());
    let mut link = None;
    for (resolver, fields) in stack_resolvers(stack) {
        match (resolver, &config.token_metadata) {
            (Resolver::TokenMetadata, None) => {
                tracing::warn!(
                    resolver = resolver.name(),
                    fields = %fields.join(", "),
                    "no endpoint configured for resolver `token_metadata` (set {DAS_URL_ENV}, or ServerBuilder::resolvers): these fields stay null"
                );
            }
            (Resolver::TokenMetadata, Some(das)) => {
                let fetcher =
                    worker::DasFetcher::new(das.clone(), metrics.clone()).map_err(ResolveError)?;
                let queue = das.max_pending.max(1);
                let (request_tx, request_rx) = mpsc::channel(queue);
                let (result_tx, result_rx) = mpsc::channel(queue);
                index.enable(resolver, das.cache_entries, queue);
                tokio::spawn(worker::run(
                    Arc::new(fetcher),
                    request_rx,
                    result_tx,
                    shutdown.clone(),
                ));
                tracing::info!(
                    resolver = resolver.name(),
                    endpoint = %das.endpoint_display(),
                    fields = %fields.join(", "),
                    "resolver `token_metadata` fetches from a DAS endpoint"
                );
                link = Some(Link {
                    requests: request_tx,
                    results: result_rx,
                    queue,
                });
            }
        }
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::cache::tests::store;

    /// A link over channels of `queue` places, and the worker's ends.
    fn link(queue: usize) -> (Link, mpsc::Receiver<Request>, mpsc::Sender<Resolution>) {
        let (request_tx, request_rx) = mpsc::channel(queue);
        let (result_tx, result_rx) = mpsc::channel(queue);
        let link = Link {
            requests: request_tx,
            results: result_rx,
            queue,
        };
        (link, request_rx, result_tx)
    }

    #[test]
    fn a_full_queue_defers_requests_to_a_sweep_and_nothing_is_lost() {
        let store = store();
        let mut index = Index::open(&store);
        index.enable(Resolver::TokenMetadata, 10, 100);
        // A queue of 2 and 7 inputs: far beyond the bound.
        let (link, mut worker, _results) = link(2);
        for i in 0..7u8 {
            index
                .link(Resolver::TokenMetadata, &format!("m{i}"), 0, 0, &[i])
                .unwrap();
        }
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10 {
            link.dispatch(&mut index).unwrap();
            while let Ok(r) = worker.try_recv() {
                assert!(
                    seen.insert(r.input.to_string()),
                    "requested twice: {}",
                    r.input
                );
                // The worker answers; the engine applies it.
                index
                    .resolved(r.resolver, &r.input, Some(serde_json::json!({})))
                    .unwrap();
            }
        }
        assert_eq!(seen.len(), 7, "every input requested once: {seen:?}");
        assert!(!index.sweep_due());
    }
}
