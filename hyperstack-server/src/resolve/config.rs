//! Configuration of the resolvers: where each fetches from, and how hard.

use std::time::Duration;

use super::redact::Redacted;

/// Environment variable naming the DAS endpoint of `token_metadata` (read by
/// [`ResolverConfig::from_env`]).
pub const DAS_URL_ENV: &str = "HYPERSTACK_DAS_URL";

/// The resolvers' endpoints. A resolver without one leaves its fields null (the server says so
/// once at start).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolverConfig {
    /// `token_metadata`: a DAS-compatible JSON-RPC endpoint (`getAsset`).
    pub token_metadata: Option<DasConfig>,
}

impl ResolverConfig {
    /// `token_metadata` from `HYPERSTACK_DAS_URL` (when set and not empty), with the default
    /// limits.
    pub fn from_env() -> ResolverConfig {
        ResolverConfig {
            token_metadata: std::env::var(DAS_URL_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(DasConfig::new),
        }
    }
}

/// A DAS-compatible JSON-RPC endpoint and the limits of fetching from it.
///
/// The endpoint URL usually carries an API key (`…/?api-key=…`): it is only ever logged as
/// [`DasConfig::endpoint_display`] (scheme, host and port), and `Debug` redacts it too.
#[derive(Clone, PartialEq)]
pub struct DasConfig {
    /// The endpoint URL (`http://` or `https://`).
    pub endpoint: String,
    /// Requests in flight at once (default 4).
    pub max_concurrency: usize,
    /// Requests started per second at most (default 10).
    pub requests_per_second: f64,
    /// Time limit of one request, connection included (default 10 s).
    pub timeout: Duration,
    /// Delay before the first retry of a failed request; doubled each time (default 500 ms).
    pub initial_backoff: Duration,
    /// Longest delay between retries (default 60 s): a failing input is retried at this pace
    /// for as long as the server runs (its field stays null meanwhile).
    pub max_backoff: Duration,
    /// Failed attempts of one input after which a warning says the endpoint is failing
    /// (default 4; retries go on).
    pub warn_after_attempts: u32,
    /// Resolved values kept in memory (default 10 000; the store keeps all of them).
    pub cache_entries: usize,
    /// Inputs queued or being fetched at most (default 4 096); beyond, inputs wait for a
    /// sweep of the stored references once the queue has room (counted as `deferred`).
    pub max_pending: usize,
    /// Root certificates (DER) trusted besides the webpki roots, for an endpoint with a
    /// private certificate authority (default none).
    pub root_certificates: Vec<Vec<u8>>,
}

impl DasConfig {
    /// `endpoint` with the default limits.
    pub fn new(endpoint: impl Into<String>) -> DasConfig {
        DasConfig {
            endpoint: endpoint.into(),
            max_concurrency: 4,
            requests_per_second: 10.0,
            timeout: Duration::from_secs(10),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            warn_after_attempts: 4,
            cache_entries: super::index::DEFAULT_CACHE_ENTRIES,
            max_pending: super::index::DEFAULT_MAX_REQUESTED,
            root_certificates: Vec::new(),
        }
    }

    /// The endpoint without what may be secret (path, query, user info).
    pub fn endpoint_display(&self) -> String {
        Redacted(&self.endpoint).to_string()
    }
}

impl std::fmt::Debug for DasConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DasConfig")
            .field("endpoint", &Redacted(&self.endpoint))
            .field("max_concurrency", &self.max_concurrency)
            .field("requests_per_second", &self.requests_per_second)
            .field("timeout", &self.timeout)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("warn_after_attempts", &self.warn_after_attempts)
            .field("cache_entries", &self.cache_entries)
            .field("max_pending", &self.max_pending)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_key() {
        let c = DasConfig::new("https://mainnet.example-rpc.com/?api-key=SECRET123");
        let debug = format!("{c:?}");
        assert!(!debug.contains("SECRET123"), "{debug}");
        assert!(
            debug.contains("https://mainnet.example-rpc.com/…"),
            "{debug}"
        );
        assert!(!c.endpoint_display().contains("SECRET123"));
    }
}
