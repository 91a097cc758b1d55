//! A Solana JSON-RPC endpoint as the source of a bootstrap: `getProgramAccounts` (base64,
//! `withContext: true`, a discriminator `memcmp` filter per account type), read piece by piece
//! ([`scan`]) so an answer of any size holds one account in memory at a time.
//!
//! The HTTP client is the resolvers' ([`crate::resolve::http`]); the endpoint URL (it usually
//! carries an API key) is never logged or put into an error, only [`Redacted`].

mod scan;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http_body_util::BodyExt;
use serde::Deserialize;

use super::{AccountUpdate, Commitment, Pubkey};
use crate::resolve::http::{HttpClient, HttpError};
use crate::resolve::Redacted;
use scan::{Found, ScanError, Scanner};

/// Environment variable the example server reads the bootstrap endpoint from
/// ([`RpcConfig::from_env`]).
pub const RPC_URL_ENV: &str = "SOLANA_RPC_URL";

/// A Solana JSON-RPC endpoint to bootstrap the program's existing accounts from
/// (`getProgramAccounts`) on a first start, and again when the checkpoint fell out of the
/// upstream's replay window.
///
/// The URL usually carries an API key: it is only shown redacted (scheme, host and port),
/// `Debug` included.
///
/// ```
/// use hyperstack_server::RpcConfig;
/// let rpc = RpcConfig::new("https://rpc.example.com/?api-key=secret");
/// assert!(!format!("{rpc:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq)]
pub struct RpcConfig {
    /// The endpoint URL (`http://` or `https://`).
    pub url: String,
    /// Longest wait for the answer to start, and between two pieces of it (default 60 s).
    pub idle_timeout: Duration,
    /// Delay before the first retry of a failed bootstrap; doubled each time (default 500 ms).
    pub initial_backoff: Duration,
    /// Longest delay between retries (default 30 s); retries go on until it succeeds.
    pub max_backoff: Duration,
    /// Largest account element read from the answer (default 16 MiB: a 10 MiB account in
    /// base64 with its fields).
    pub max_account_size: usize,
    /// Root certificates (DER) trusted besides the webpki roots (default none).
    pub root_certificates: Vec<Vec<u8>>,
}

impl RpcConfig {
    /// `url` with the default limits.
    pub fn new(url: impl Into<String>) -> RpcConfig {
        RpcConfig {
            url: url.into(),
            idle_timeout: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_account_size: 16 * 1024 * 1024,
            root_certificates: Vec::new(),
        }
    }

    /// The endpoint of `SOLANA_RPC_URL`, when set and not empty.
    pub fn from_env() -> Option<RpcConfig> {
        std::env::var(RPC_URL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(RpcConfig::new)
    }

    /// The URL as it may be logged (scheme, host and port).
    pub fn url_display(&self) -> Redacted<'_> {
        Redacted(&self.url)
    }
}

impl std::fmt::Debug for RpcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcConfig")
            .field("url", &self.url_display())
            .field("idle_timeout", &self.idle_timeout)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_account_size", &self.max_account_size)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

/// One `getProgramAccounts` call: a program, and the discriminator its accounts start with
/// (`None`: every account of the program).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProgramQuery {
    pub program: Pubkey,
    pub discriminator: Option<Vec<u8>>,
    /// The account type(s) asked for, for logs.
    pub label: String,
}

impl ProgramQuery {
    fn body(&self, commitment: Commitment) -> Vec<u8> {
        let mut options = serde_json::json!({
            "encoding": "base64",
            "commitment": commitment.as_str(),
            "withContext": true,
        });
        if let Some(d) = &self.discriminator {
            options["filters"] = serde_json::json!([
                { "memcmp": { "offset": 0, "bytes": bs58::encode(d).into_string() } }
            ]);
        }
        let request = serde_json::json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getProgramAccounts",
            "params": [self.program.to_base58(), options],
        });
        serde_json::to_vec(&request).unwrap_or_default()
    }
}

/// Why a `getProgramAccounts` call failed (never with the endpoint's URL).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RpcError {
    /// Connecting or the HTTP exchange failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The endpoint answered with an HTTP error.
    #[error("the endpoint answered HTTP {0}")]
    Status(u16),
    /// The endpoint answered with a JSON-RPC error.
    #[error("the endpoint answered with error {code}: {message}")]
    Rpc {
        /// JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The answer is not what `getProgramAccounts` returns.
    #[error("unreadable answer: {0}")]
    Scan(#[from] ScanError),
    /// An account of the answer cannot be read.
    #[error("unreadable account in the answer: {0}")]
    Account(String),
    /// The answer lists accounts before (or without) its context slot.
    #[error("the answer has no context slot before its accounts (withContext not honoured?)")]
    NoContext,
    /// The answer stopped coming.
    #[error("no answer for {0:?}")]
    Timeout(Duration),
    /// The answer ended before the document did.
    #[error("the answer ended early")]
    Truncated,
}

/// One account element of the answer.
#[derive(Deserialize)]
struct Element {
    pubkey: String,
    account: ElementAccount,
}

#[derive(Deserialize)]
struct ElementAccount {
    /// `[data, "base64"]`.
    data: (String, String),
    owner: String,
}

fn parse_account(
    bytes: &[u8],
    slot: u64,
    commitment: Commitment,
) -> Result<AccountUpdate, RpcError> {
    let e: Element = serde_json::from_slice(bytes).map_err(|e| RpcError::Account(e.to_string()))?;
    let bad = |what: &str, err: &dyn std::fmt::Display| {
        RpcError::Account(format!("{what} of {}: {err}", e.pubkey))
    };
    let (data, encoding) = &e.account.data;
    if encoding != "base64" {
        return Err(bad("encoding", &format!("`{encoding}`, not base64")));
    }
    Ok(AccountUpdate {
        slot,
        // Newer than any write of `slot`: the answer holds the account as of the end of
        // `slot`, so the stream's writes of that slot (when it replays it) are older.
        write_version: u64::MAX,
        pubkey: e.pubkey.parse().map_err(|err| bad("address", &err))?,
        owner: e.account.owner.parse().map_err(|err| bad("owner", &err))?,
        data: BASE64.decode(data).map_err(|err| bad("data", &err))?,
        commitment,
        txn_signature: None,
    })
}

#[derive(Deserialize)]
struct RpcErrorBody {
    code: i64,
    message: String,
}

/// The accounts of one `getProgramAccounts` answer, read as they arrive.
pub(crate) struct AccountReader {
    body: hyper::body::Incoming,
    scanner: Scanner,
    found: std::collections::VecDeque<Found>,
    slot: Option<u64>,
    commitment: Commitment,
    idle_timeout: Duration,
}

impl AccountReader {
    /// Sends `query` and waits for the answer to start.
    pub async fn start(
        client: &HttpClient,
        query: &ProgramQuery,
        config: &RpcConfig,
        commitment: Commitment,
    ) -> Result<AccountReader, RpcError> {
        let sent = client.post_json_streaming(query.body(commitment));
        let (status, body) = tokio::time::timeout(config.idle_timeout, sent)
            .await
            .map_err(|_| RpcError::Timeout(config.idle_timeout))??;
        if !(200..300).contains(&status) {
            return Err(RpcError::Status(status));
        }
        Ok(AccountReader {
            body,
            scanner: Scanner::new(config.max_account_size),
            found: Default::default(),
            slot: None,
            commitment,
            idle_timeout: config.idle_timeout,
        })
    }

    /// The context slot, once read (it comes before the accounts).
    pub fn slot(&self) -> Option<u64> {
        self.slot
    }

    /// The next account, as an update at the answer's context slot; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<AccountUpdate>, RpcError> {
        loop {
            match self.found.pop_front() {
                Some(Found::Slot(slot)) => self.slot = Some(slot),
                Some(Found::Account(bytes)) => {
                    let slot = self.slot.ok_or(RpcError::NoContext)?;
                    return parse_account(&bytes, slot, self.commitment).map(Some);
                }
                Some(Found::Error(bytes)) => {
                    let e: RpcErrorBody = serde_json::from_slice(&bytes)
                        .map_err(|e| RpcError::Account(format!("error member: {e}")))?;
                    return Err(RpcError::Rpc {
                        code: e.code,
                        message: e.message,
                    });
                }
                None if self.scanner.is_done() => {
                    return match self.slot {
                        Some(_) => Ok(None),
                        None => Err(RpcError::NoContext),
                    };
                }
                None => self.read().await?,
            }
        }
    }

    async fn read(&mut self) -> Result<(), RpcError> {
        let frame = tokio::time::timeout(self.idle_timeout, self.body.frame())
            .await
            .map_err(|_| RpcError::Timeout(self.idle_timeout))?;
        match frame {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let mut found = Vec::new();
                    self.scanner.feed(&data, &mut found)?;
                    self.found.extend(found);
                }
                Ok(())
            }
            Some(Err(e)) => Err(RpcError::Http(HttpError::Http(e))),
            None => Err(RpcError::Truncated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_asks_for_base64_with_context_and_the_discriminator() {
        let q = ProgramQuery {
            program: Pubkey([1; 32]),
            discriminator: Some(vec![23, 183, 248, 55, 96, 216, 172, 96]),
            label: "BondingCurve".into(),
        };
        let v: serde_json::Value = serde_json::from_slice(&q.body(Commitment::Finalized)).unwrap();
        assert_eq!(v["method"], "getProgramAccounts");
        assert_eq!(v["params"][0], Pubkey([1; 32]).to_base58());
        let o = &v["params"][1];
        assert_eq!(
            (&o["encoding"], &o["commitment"], &o["withContext"]),
            (&"base64".into(), &"finalized".into(), &true.into())
        );
        let bytes = o["filters"][0]["memcmp"]["bytes"].as_str().unwrap();
        assert_eq!(
            bs58::decode(bytes).into_vec().unwrap(),
            vec![23, 183, 248, 55, 96, 216, 172, 96]
        );
        assert_eq!(o["filters"][0]["memcmp"]["offset"], 0);
    }

    #[test]
    fn accounts_become_updates_newer_than_any_write_of_their_slot() {
        let json = format!(
            r#"{{"pubkey":"{}","account":{{"data":["AQID","base64"],"owner":"{}","lamports":5}}}}"#,
            Pubkey([2; 32]).to_base58(),
            Pubkey([3; 32]).to_base58()
        );
        let a = parse_account(json.as_bytes(), 77, Commitment::Confirmed).unwrap();
        assert_eq!(
            (a.slot, a.write_version, a.pubkey, a.owner, a.data),
            (
                77,
                u64::MAX,
                Pubkey([2; 32]),
                Pubkey([3; 32]),
                vec![1, 2, 3]
            )
        );
        let bad = r#"{"pubkey":"nope","account":{"data":["AQID","base64"],"owner":"x"}}"#;
        assert!(parse_account(bad.as_bytes(), 1, Commitment::Confirmed).is_err());
        let json58 = r#"{"pubkey":"x","account":{"data":["abc","base58"],"owner":"x"}}"#;
        let e = parse_account(json58.as_bytes(), 1, Commitment::Confirmed).unwrap_err();
        assert!(e.to_string().contains("base58"), "{e}");
    }
}
