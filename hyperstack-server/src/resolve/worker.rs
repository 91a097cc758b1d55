//! The fetching side, on the server's runtime (never on the engine thread): each request is
//! fetched in a task of its own, at most `max_concurrency` at once and `requests_per_second`
//! started per second; a failed attempt is retried after a backoff (doubling up to
//! `max_backoff`) until the endpoint gives a definite answer, which goes back to the engine.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, watch, Semaphore};

use super::config::DasConfig;
use super::das::{self, Answer};
use super::http::HttpClient;
use super::limit::RateLimit;
use super::{Outcome, Request, Resolution};
use crate::metrics::Metrics;
use crate::spec::Resolver;

/// Fetches token metadata from one DAS endpoint.
pub(crate) struct DasFetcher {
    config: DasConfig,
    client: HttpClient,
    concurrency: Semaphore,
    limit: RateLimit,
    ids: AtomicU64,
    metrics: Arc<Metrics>,
    /// Whether a failure was logged (later ones are counted only).
    failure_logged: AtomicBool,
}

impl DasFetcher {
    /// A fetcher for `config` (its endpoint must be a usable URL).
    pub fn new(config: DasConfig, metrics: Arc<Metrics>) -> Result<DasFetcher, String> {
        let client = HttpClient::new(
            &config.endpoint,
            config.max_concurrency,
            &config.root_certificates,
        )
        .map_err(|e| format!("token_metadata endpoint {}: {e}", config.endpoint_display()))?;
        Ok(DasFetcher {
            concurrency: Semaphore::new(config.max_concurrency.max(1)),
            limit: RateLimit::new(config.requests_per_second),
            client,
            ids: AtomicU64::new(1),
            metrics,
            failure_logged: AtomicBool::new(false),
            config,
        })
    }

    fn count(&self, outcome: Outcome) {
        self.metrics
            .resolver_event(Resolver::TokenMetadata.name(), outcome.label());
    }

    /// One attempt: a request in turn (concurrency, rate), with the time limit.
    async fn attempt(&self, mint: &str) -> Answer {
        let Ok(_permit) = self.concurrency.acquire().await else {
            return Answer::Failed("shutting down".into());
        };
        self.limit.wait().await;
        let body = das::request_body(self.ids.fetch_add(1, Ordering::Relaxed), mint);
        match tokio::time::timeout(self.config.timeout, self.client.post_json(body)).await {
            Err(_) => Answer::Failed(format!("no answer within {:?}", self.config.timeout)),
            Ok(Err(e)) => Answer::Failed(e.to_string()),
            Ok(Ok((status, bytes))) => das::parse_answer(status, &bytes),
        }
    }

    /// The metadata of `mint` (`None`: the endpoint has none), retrying failures until a
    /// definite answer; `None` as well when shutdown comes first.
    async fn fetch(&self, mint: &str, shutdown: &mut watch::Receiver<bool>) -> Option<Answer> {
        if !das::is_address(mint) {
            self.count(Outcome::InvalidInput);
            return Some(Answer::NotFound);
        }
        let mut delay = self.config.initial_backoff;
        let mut failures = 0u32;
        loop {
            match self.attempt(mint).await {
                Answer::Failed(reason) => {
                    self.count(Outcome::Error);
                    failures += 1;
                    let warn = failures == self.config.warn_after_attempts.max(1);
                    if !self.failure_logged.swap(true, Ordering::Relaxed) || warn {
                        tracing::warn!(
                            resolver = "token_metadata",
                            endpoint = %self.config.endpoint_display(),
                            failures,
                            error = %reason,
                            "getAsset failed; retrying with backoff (the field stays null meanwhile; failures are counted in hyperstack_resolver_events_total{{outcome=\"error\"}})"
                        );
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.changed() => return None,
                    }
                    delay = (delay * 2).min(self.config.max_backoff.max(delay));
                }
                answer => {
                    self.count(match answer {
                        Answer::Found(_) => Outcome::Found,
                        _ => Outcome::NotFound,
                    });
                    return Some(answer);
                }
            }
        }
    }
}

/// Runs until shutdown or until the engine goes away: fetches each request in a task of its
/// own and sends the answers back.
pub(crate) async fn run(
    fetcher: Arc<DasFetcher>,
    mut requests: mpsc::Receiver<Request>,
    results: mpsc::Sender<Resolution>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                let fetcher = fetcher.clone();
                let results = results.clone();
                let mut shutdown = shutdown.clone();
                tasks.spawn(async move {
                    let Some(answer) = fetcher.fetch(&request.input, &mut shutdown).await else {
                        return;
                    };
                    let value = match answer {
                        Answer::Found(v) => Some(v),
                        _ => None,
                    };
                    let resolution = Resolution {
                        resolver: request.resolver,
                        input: request.input,
                        value,
                    };
                    // The engine only goes away at shutdown.
                    let _ = results.send(resolution).await;
                });
            }
            // Reap finished tasks so the set stays small.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    tasks.abort_all();
}
