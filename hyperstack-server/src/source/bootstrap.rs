//! Bootstrapping from a Solana RPC endpoint: the program's existing accounts, read with
//! `getProgramAccounts` and handed to the transform as account updates, so entities that
//! existed before the first start are complete.
//!
//! Every account goes out as an update at the first answer's context slot `S` with the
//! largest write version: it holds the account as of the end of `S`, so writes of `S` that
//! the stream replays afterwards (it resumes with `from_slot = S`) are dropped as older, and
//! every later write applies. Accounts flow one at a time through the same bounded channel
//! as the stream's updates: memory holds one account of the answer however large it is.
//!
//! A bootstrap is durable: before its first account it records `S` in the store (`meta`
//! key `bootstrap`); it counts as finished once the checkpoint passed `S` (an update of a
//! later slot was applied and committed, so every update of `S` was). A server stopped
//! in the middle bootstraps again on its next start.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::rpc::{AccountReader, ProgramQuery, RpcConfig, RpcError};
use super::{Commitment, RawUpdate};
use crate::engine::Checkpoint;
use crate::health::{HealthMonitor, StreamStatus};
use crate::metrics::Metrics;
use crate::resolve::http::HttpClient;
use crate::store::{codec, Store, StoreError};
use crate::transform::Transformer;

const BOOTSTRAP_KEY: &[u8] = b"bootstrap";

/// The record of the last bootstrap started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Started {
    slot: u64,
}

/// Why a bootstrap runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Nothing was ingested yet.
    FirstStart,
    /// The last bootstrap did not finish (the server stopped in the middle).
    Unfinished,
    /// The upstream cannot replay from the checkpoint.
    Gap,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::FirstStart => "first start",
            Reason::Unfinished => "the last bootstrap did not finish",
            Reason::Gap => "the checkpoint is older than the upstream's replay window",
        }
    }
}

/// Whether the store needs a bootstrap before streaming: nothing ingested yet, or a bootstrap
/// that did not finish.
pub(crate) fn pending(
    store: &Store,
    checkpoint: Option<&Checkpoint>,
) -> Result<Option<Reason>, StoreError> {
    let Some(checkpoint) = checkpoint else {
        return Ok(Some(Reason::FirstStart));
    };
    let started: Option<Started> = store
        .meta(BOOTSTRAP_KEY)?
        .map(|b| codec::parse_meta("bootstrap", &b))
        .transpose()?;
    Ok(match started {
        Some(s) if checkpoint.slot.is_none_or(|c| c <= s.slot) => Some(Reason::Unfinished),
        _ => None,
    })
}

/// The `getProgramAccounts` calls that read every account type `transformer`'s stack reads:
/// one per account type with a discriminator (a `memcmp` filter at offset 0), or one for the
/// whole program when one of its types has none.
pub(crate) fn queries(transformer: &Transformer) -> Vec<ProgramQuery> {
    let decoder = transformer.decoder();
    let mut out: Vec<ProgramQuery> = Vec::new();
    for (program, account) in transformer.account_sources() {
        let Some(p) = decoder.programs.get(program) else {
            continue;
        };
        let Some(address) = p.address else {
            tracing::warn!(
                program,
                "a program without an address in its IDL cannot be bootstrapped"
            );
            continue;
        };
        let Some(Some(item)) = p.accounts.get(account) else {
            continue;
        };
        let whole = out
            .iter()
            .any(|q| q.program == address && q.discriminator.is_none());
        if whole {
            continue;
        }
        if item.discriminator.is_empty() {
            out.retain(|q| q.program != address);
            out.push(ProgramQuery {
                program: address,
                discriminator: None,
                label: format!("every account (`{}` has no discriminator)", item.name),
            });
        } else {
            out.push(ProgramQuery {
                program: address,
                discriminator: Some(item.discriminator.clone()),
                label: item.name.clone(),
            });
        }
    }
    out
}

/// Why an attempt ended without reading everything.
enum Failed {
    Rpc(RpcError),
    Store(StoreError),
    /// A later answer came from an older slot than the first (a lagging node behind a load
    /// balancer): its accounts could be older than the updates the stream resumes after.
    Behind {
        slot: u64,
        first: u64,
    },
    /// The transform went away (shutdown).
    Closed,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Rpc(e) => write!(f, "{e}"),
            Failed::Store(e) => write!(f, "cannot record the bootstrap in the store: {e}"),
            Failed::Behind { slot, first } => write!(
                f,
                "an answer came from slot {slot}, older than the first answer's slot {first}"
            ),
            Failed::Closed => f.write_str("ingestion stopped"),
        }
    }
}

impl From<RpcError> for Failed {
    fn from(e: RpcError) -> Self {
        Failed::Rpc(e)
    }
}

/// Reads the stack's accounts from an RPC endpoint into the transform.
pub(crate) struct Bootstrap {
    config: RpcConfig,
    client: HttpClient,
    queries: Vec<ProgramQuery>,
    commitment: Commitment,
    metrics: Arc<Metrics>,
    health: HealthMonitor,
    store: Store,
}

impl Bootstrap {
    /// A bootstrap of `transformer`'s account types from `config`'s endpoint.
    pub fn new(
        config: RpcConfig,
        transformer: &Transformer,
        commitment: Commitment,
        metrics: Arc<Metrics>,
        health: HealthMonitor,
        store: Store,
    ) -> Result<Bootstrap, String> {
        let client = HttpClient::new(&config.url, 1, &config.root_certificates)
            .map_err(|e| format!("RPC endpoint {}: {e}", config.url_display()))?;
        let queries = queries(transformer);
        if queries.is_empty() {
            return Err(
                "the stack reads no account of a program with an address: nothing to bootstrap"
                    .into(),
            );
        }
        Ok(Bootstrap {
            config,
            client,
            queries,
            commitment,
            metrics,
            health,
            store,
        })
    }

    /// Reads every account into `raw`, retrying with backoff until it succeeds. Returns the
    /// slot the stream resumes from, or `None` when `shutdown` came first (or the transform
    /// went away).
    pub async fn run(
        &self,
        reason: Reason,
        raw: &mpsc::Sender<RawUpdate>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<u64> {
        let endpoint = self.config.url_display();
        let mut delay = self.config.initial_backoff;
        let mut floor = None;
        for attempt in 1u32.. {
            tracing::info!(%endpoint, reason = reason.as_str(), attempt, queries = self.queries.len(), "bootstrapping the programs' accounts from RPC");
            let started = std::time::Instant::now();
            let mut sent = 0u64;
            let result = tokio::select! {
                r = self.attempt(raw, &mut floor, &mut sent) => r,
                _ = stopped(shutdown) => return None,
            };
            match result {
                Ok(slot) => {
                    self.metrics.bootstrap_completed();
                    tracing::info!(%endpoint, slot, accounts = sent, took_ms = started.elapsed().as_millis() as u64, "bootstrap complete: streaming from its slot");
                    return Some(slot);
                }
                Err(Failed::Closed) => return None,
                Err(e) => {
                    self.metrics.bootstrap_error();
                    let message = format!(
                        "bootstrap from RPC {endpoint} failed (attempt {attempt}, {sent} accounts read): {e}; retrying in {delay:?}"
                    );
                    tracing::warn!("{message}");
                    self.health.record_error(message.clone()).await;
                    self.health.set_status(StreamStatus::Error(message)).await;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stopped(shutdown) => return None,
            }
            delay = next_delay(delay, self.config.initial_backoff, self.config.max_backoff);
        }
        None
    }

    /// One pass over every query. `floor`: the slot of an earlier attempt's first answer
    /// (answers never go back behind it).
    async fn attempt(
        &self,
        raw: &mpsc::Sender<RawUpdate>,
        floor: &mut Option<u64>,
        sent: &mut u64,
    ) -> Result<u64, Failed> {
        let mut first: Option<u64> = None;
        for query in &self.queries {
            let mut reader =
                AccountReader::start(&self.client, query, &self.config, self.commitment).await?;
            let mut accounts = 0u64;
            loop {
                let next = reader.next().await?;
                if let Some(slot) = reader.slot() {
                    if first.is_none() {
                        if let Some(f) = *floor {
                            if slot < f {
                                return Err(Failed::Behind { slot, first: f });
                            }
                        }
                        self.record_start(slot)?;
                        *floor = Some(slot);
                        first = Some(slot);
                    }
                    if let Some(f) = first.filter(|f| slot < *f) {
                        return Err(Failed::Behind { slot, first: f });
                    }
                }
                let Some(mut account) = next else {
                    break;
                };
                // Every account at the first answer's slot: the stream resumes there.
                account.slot = first.unwrap_or(account.slot);
                raw.send(RawUpdate::Account(account))
                    .await
                    .map_err(|_| Failed::Closed)?;
                accounts += 1;
                *sent += 1;
                self.metrics.bootstrap_accounts(1);
            }
            tracing::info!(program = %query.program.to_base58(), accounts = query.label.as_str(), read = accounts, slot = ?reader.slot(), "bootstrap query done");
        }
        first.ok_or(Failed::Rpc(RpcError::NoContext))
    }

    /// Records that a bootstrap at `slot` started (durably, before its first account).
    fn record_start(&self, slot: u64) -> Result<(), Failed> {
        let mut batch = self.store.batch();
        batch.insert(
            &self.store.meta,
            BOOTSTRAP_KEY.to_vec(),
            codec::meta(&Started { slot }),
        );
        self.store
            .commit(batch)
            .and_then(|()| self.store.sync())
            .map_err(Failed::Store)
    }
}

/// Resolves when `shutdown` is (or becomes) true, or its sender is gone.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// The delay after `delay`: doubled, at most `max` (and never below `initial`).
fn next_delay(delay: Duration, initial: Duration, max: Duration) -> Duration {
    (delay * 2).min(max.max(initial))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StateTableConfig;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let ms = Duration::from_millis;
        let mut d = ms(100);
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(d);
            d = next_delay(d, ms(100), ms(500));
        }
        assert_eq!(seen, vec![ms(100), ms(200), ms(400), ms(500), ms(500)]);
    }

    fn store() -> Store {
        let config = crate::store::StoreConfig {
            location: crate::store::DataLocation::Temporary,
            ..Default::default()
        };
        let id = crate::store::Identity {
            stack_name: "t".into(),
            fingerprint: "f".into(),
        };
        Store::open(&config, &id).unwrap().0
    }

    fn record(store: &Store, slot: u64) {
        let mut batch = store.batch();
        batch.insert(
            &store.meta,
            BOOTSTRAP_KEY.to_vec(),
            codec::meta(&Started { slot }),
        );
        store.commit(batch).unwrap();
    }

    #[test]
    fn a_bootstrap_is_due_until_the_checkpoint_passes_its_slot() {
        let store = store();
        let at = |slot| {
            let mut c = Checkpoint::default();
            c.slot = slot;
            c
        };
        assert_eq!(pending(&store, None).unwrap(), Some(Reason::FirstStart));
        // Ingested without a bootstrap (no RPC endpoint then): none is due.
        assert_eq!(pending(&store, Some(&at(Some(50)))).unwrap(), None);
        record(&store, 100);
        // Stopped in the middle: the checkpoint holds some of slot 100's accounts, or none.
        assert_eq!(
            pending(&store, Some(&at(Some(100)))).unwrap(),
            Some(Reason::Unfinished)
        );
        assert_eq!(
            pending(&store, Some(&at(None))).unwrap(),
            Some(Reason::Unfinished)
        );
        // An update of a later slot was applied: every account of slot 100 was.
        assert_eq!(pending(&store, Some(&at(Some(101)))).unwrap(), None);
    }

    #[test]
    fn pump_asks_for_bonding_curves_by_discriminator() {
        let t = Transformer::new(&pump_stack::spec(), StateTableConfig::default()).unwrap();
        let q = queries(&t);
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(
            q[0].program.to_base58(),
            "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
        );
        assert_eq!(
            q[0].discriminator.as_deref(),
            Some(&[23, 183, 248, 55, 96, 216, 172, 96][..])
        );
        assert_eq!(q[0].label, "BondingCurve");
    }
}
