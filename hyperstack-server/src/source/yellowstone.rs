//! The Yellowstone gRPC source: subscribe, resume with `from_slot` after any stream error,
//! back off per [`ReconnectionConfig`], drop what the resumed stream sends twice.
//!
//! Health: `Connected` while streaming; `Reconnecting` after an error, while backing off;
//! `Error` when `max_attempts` is used up or the endpoint refuses to replay from the resume
//! slot (then ingestion stops: continuing would leave a silent gap).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use yellowstone_grpc_client::{ClientTlsConfig, GeyserGrpcClient, GeyserGrpcClientError};
use yellowstone_grpc_proto::prelude::{SubscribeRequest, SubscribeRequestPing};
use yellowstone_grpc_proto::tonic::{Code, Status};

use super::yellowstone_convert::{convert, subscribe_request, Converted};
use super::{Commitment, Pubkey, RawUpdate};
use crate::config::{ReconnectionConfig, YellowstoneConfig};
use crate::health::{HealthMonitor, StreamStatus};

/// Everything the Yellowstone source needs.
#[derive(Debug, Clone)]
pub struct YellowstoneSourceConfig {
    /// Endpoint and `x-token`.
    pub endpoint: YellowstoneConfig,
    /// Commitment to subscribe at (default confirmed).
    pub commitment: Commitment,
    /// Backoff between attempts and HTTP/2 keep-alive.
    pub reconnection: ReconnectionConfig,
    /// Programs whose accounts and transactions are subscribed to.
    pub programs: Vec<Pubkey>,
    /// Timeout of one connection attempt (default 10 s).
    pub connect_timeout: Duration,
    /// Accounts / transactions the recorder (`hs replay record`) remembers to drop
    /// duplicates (default 65 536). The server drops them once, when it applies updates.
    pub dedup_capacity: usize,
    /// The slot to start from (a restarted server resumes after its checkpoint); `None`:
    /// the endpoint's current slot.
    pub from_slot: Option<u64>,
}

impl YellowstoneSourceConfig {
    /// Checks what can be checked before connecting; the one place `processed` is refused
    /// (updates of slots that die are not rolled back downstream).
    pub fn validate(&self) -> Result<(), SourceError> {
        if self.commitment == Commitment::Processed {
            return Err(SourceError::Config(
                "commitment `processed` is not supported: updates of slots that die are not rolled back; use confirmed or finalized".into(),
            ));
        }
        Ok(())
    }

    /// Defaults for `endpoint` and `programs`.
    pub fn new(endpoint: YellowstoneConfig, programs: Vec<Pubkey>) -> YellowstoneSourceConfig {
        YellowstoneSourceConfig {
            endpoint,
            commitment: Commitment::Confirmed,
            reconnection: ReconnectionConfig::default(),
            programs,
            connect_timeout: Duration::from_secs(10),
            dedup_capacity: 65_536,
            from_slot: None,
        }
    }
}

/// Why the source stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Every reconnection attempt failed.
    #[error("gave up after {attempts} reconnection attempts: {last_error}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// The endpoint refused to replay from the resume slot: updates were missed.
    #[error("the endpoint refused to replay from slot {from_slot} ({message}): updates after that slot were missed")]
    ReplayRefused {
        /// The slot asked for.
        from_slot: u64,
        /// The endpoint's message.
        message: String,
    },
    /// The configuration cannot work (bad endpoint, token or commitment).
    #[error("invalid Yellowstone configuration: {0}")]
    Config(String),
}

/// What the source is doing, for observers (tests, the recorder's progress).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// Attempting a connection, resuming from `from_slot` when set.
    Connecting {
        /// Attempt number since the last successful subscription (0 = first).
        attempt: u32,
        /// Replay start.
        from_slot: Option<u64>,
    },
    /// Subscribed.
    Connected,
    /// The connection or stream failed.
    Disconnected {
        /// Why.
        error: String,
    },
    /// Waiting before the next attempt.
    Backoff {
        /// Attempt number the delay precedes (1 = first retry).
        attempt: u32,
        /// The delay.
        delay: Duration,
    },
    /// Stopped with an error.
    Failed(SourceError),
}

/// Tracks how far the stream got: every slot before `current` was fully handed downstream
/// (updates arrive in slot order at confirmed / finalized commitment).
#[derive(Debug, Default, Clone, Copy)]
struct SlotTracker {
    current: Option<u64>,
}

impl SlotTracker {
    fn observe(&mut self, slot: u64) {
        if self.current.is_none_or(|c| slot > c) {
            self.current = Some(slot);
        }
    }

    /// Where to resume: the slot in progress, i.e. right after the last fully processed
    /// slot. Its updates that were already handed on come again and are dropped when they
    /// are applied (the server's dedup); replaying from an earlier, complete slot would only
    /// resend more duplicates (and could keep a stream that drops often from ever making
    /// progress).
    fn resume_slot(&self) -> Option<u64> {
        self.current
    }
}

/// The reconnect loop's backoff state: attempts since the last successful subscription and
/// the delay before the next one, grown per [`ReconnectionConfig::next_backoff`].
#[derive(Debug, Clone)]
struct Backoff {
    attempts: u32,
    next: Duration,
}

impl Backoff {
    fn new(policy: &ReconnectionConfig) -> Backoff {
        Backoff {
            attempts: 0,
            next: policy.initial_delay,
        }
    }

    /// The delay before the next attempt, or `None` when `max_attempts` is used up.
    fn next_delay(&mut self, policy: &ReconnectionConfig) -> Option<Duration> {
        if policy.max_attempts.is_some_and(|max| self.attempts >= max) {
            return None;
        }
        let delay = self.next.min(policy.max_delay);
        self.next = policy.next_backoff(delay);
        self.attempts = self.attempts.saturating_add(1);
        Some(delay)
    }

    /// Starts over after a successful subscription.
    fn reset(&mut self, policy: &ReconnectionConfig) {
        *self = Backoff::new(policy);
    }
}

enum End {
    /// Shutdown requested or the consumer went away.
    Stop,
    /// The connection or stream failed.
    Failed(String),
    Refused(SourceError),
}

/// Whether `status` refuses the replay asked for (rather than a failure worth retrying).
/// yellowstone-grpc answers `OutOfRange` (`Internal` before v5) with "broadcast from <slot> is
/// not available, last available: <slot>", or "from_slot is not supported" when replay is
/// off; other Geyser servers answer `InvalidArgument`, `FailedPrecondition` or `DataLoss`.
fn is_refusal(status: &Status) -> bool {
    match status.code() {
        Code::InvalidArgument
        | Code::OutOfRange
        | Code::FailedPrecondition
        | Code::Unimplemented
        | Code::DataLoss => true,
        Code::Internal => {
            let m = status.message();
            m.contains("is not available, last available")
                || m.contains("from_slot is not supported")
        }
        _ => false,
    }
}

fn status_of(e: &GeyserGrpcClientError) -> Option<&Status> {
    match e {
        GeyserGrpcClientError::TonicStatus(s) => Some(s),
        GeyserGrpcClientError::TransportError(_) => None,
    }
}

struct Runner<'a> {
    config: &'a YellowstoneSourceConfig,
    tx: mpsc::Sender<RawUpdate>,
    health: HealthMonitor,
    events: Option<mpsc::UnboundedSender<SourceEvent>>,
    slots: SlotTracker,
}

impl Runner<'_> {
    fn emit(&self, event: SourceEvent) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }

    async fn session(
        &mut self,
        from_slot: Option<u64>,
        backoff: &mut Backoff,
        shutdown: &mut watch::Receiver<bool>,
    ) -> End {
        let c = self.config;
        let mut builder = match GeyserGrpcClient::build_from_shared(c.endpoint.endpoint.clone())
            .and_then(|b| b.x_token(c.endpoint.x_token.clone()))
        {
            Ok(b) => {
                let b = b.connect_timeout(c.connect_timeout);
                match c.reconnection.http2_keep_alive_interval {
                    Some(interval) => b
                        .http2_keep_alive_interval(interval)
                        .keep_alive_while_idle(true),
                    None => b,
                }
            }
            Err(e) => return End::Refused(SourceError::Config(e.to_string())),
        };
        if c.endpoint.endpoint.starts_with("https") {
            builder = match builder.tls_config(ClientTlsConfig::new().with_native_roots()) {
                Ok(b) => b,
                Err(e) => return End::Refused(SourceError::Config(e.to_string())),
            };
        }
        let mut client = match builder.connect().await {
            Ok(client) => client,
            Err(e) => return End::Failed(format!("connect to {}: {e}", c.endpoint.endpoint)),
        };
        let request = subscribe_request(&c.programs, c.commitment, from_slot);
        let (mut sink, mut stream) = match client.subscribe_with_request(Some(request)).await {
            Ok(pair) => pair,
            Err(e) => return self.failure(from_slot, status_of(&e).cloned(), e.to_string()),
        };
        let mut connected = false;
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                _ = shutdown.changed() => return End::Stop,
            };
            let update = match next {
                Some(Ok(update)) => update,
                Some(Err(status)) => {
                    let msg = status.to_string();
                    return self.failure(from_slot.filter(|_| !connected), Some(status), msg);
                }
                None => return End::Failed("the endpoint closed the stream".into()),
            };
            if !connected {
                // The first message proves the subscription (and any replay) was accepted.
                connected = true;
                backoff.reset(&c.reconnection);
                self.health.set_status(StreamStatus::Connected).await;
                self.emit(SourceEvent::Connected);
            }
            self.health.record_event().await;
            match convert(update, c.commitment) {
                Converted::Update(u) => {
                    let slot = u.slot();
                    if self.tx.send(u).await.is_err() {
                        return End::Stop;
                    }
                    self.slots.observe(slot);
                    self.health.record_slot(slot).await;
                }
                Converted::Slot(slot) => {
                    self.slots.observe(slot);
                    self.health.record_slot(slot).await;
                }
                Converted::Ping => {
                    let ping = SubscribeRequest {
                        ping: Some(SubscribeRequestPing { id: 1 }),
                        ..Default::default()
                    };
                    if let Err(e) = sink.send(ping).await {
                        return End::Failed(format!("cannot answer a ping: {e}"));
                    }
                }
                Converted::Skip => {}
            }
        }
    }

    fn failure(&self, from_slot: Option<u64>, status: Option<Status>, msg: String) -> End {
        match (from_slot, status) {
            (Some(from_slot), Some(status)) if is_refusal(&status) => {
                End::Refused(SourceError::ReplayRefused {
                    from_slot,
                    message: status.message().to_string(),
                })
            }
            _ => End::Failed(msg),
        }
    }
}

/// Streams updates into `tx` until `shutdown`, `tx` closing, or a fatal error (returned, and
/// shown as `Error` in `health`). The configuration is expected to be
/// [validated](YellowstoneSourceConfig::validate) (the server, [`crate::spawn_ingest`] and
/// [`super::record`] do). `events`, when given, receives every [`SourceEvent`].
pub async fn run(
    config: &YellowstoneSourceConfig,
    tx: mpsc::Sender<RawUpdate>,
    health: HealthMonitor,
    events: Option<mpsc::UnboundedSender<SourceEvent>>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SourceError> {
    let mut runner = Runner {
        config,
        tx,
        health: health.clone(),
        events,
        slots: SlotTracker {
            current: config.from_slot,
        },
    };
    let mut backoff = Backoff::new(&config.reconnection);
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let from_slot = runner.slots.resume_slot();
        runner.emit(SourceEvent::Connecting {
            attempt: backoff.attempts,
            from_slot,
        });
        tracing::info!(endpoint = %config.endpoint.endpoint, ?from_slot, attempt = backoff.attempts, "subscribing to Yellowstone");
        let error = match runner.session(from_slot, &mut backoff, &mut shutdown).await {
            End::Stop => {
                health.set_status(StreamStatus::Disconnected).await;
                return Ok(());
            }
            End::Refused(e) => {
                tracing::error!(error = %e, "Yellowstone ingestion stopped");
                health.record_error(e.to_string()).await;
                health.set_status(StreamStatus::Error(e.to_string())).await;
                runner.emit(SourceEvent::Failed(e.clone()));
                return Err(e);
            }
            End::Failed(error) => error,
        };
        tracing::warn!(%error, "Yellowstone stream failed");
        health.record_error(error.clone()).await;
        health.set_status(StreamStatus::Reconnecting).await;
        runner.emit(SourceEvent::Disconnected {
            error: error.clone(),
        });
        let Some(delay) = backoff.next_delay(&config.reconnection) else {
            let e = SourceError::GaveUp {
                attempts: backoff.attempts,
                last_error: error,
            };
            tracing::error!(error = %e, "Yellowstone ingestion stopped");
            health.set_status(StreamStatus::Error(e.to_string())).await;
            runner.emit(SourceEvent::Failed(e.clone()));
            return Err(e);
        };
        runner.emit(SourceEvent::Backoff {
            attempt: backoff.attempts,
            delay,
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => {
                health.set_status(StreamStatus::Disconnected).await;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_slot_is_the_slot_in_progress() {
        let mut t = SlotTracker::default();
        assert_eq!(t.resume_slot(), None);
        t.observe(10);
        assert_eq!(t.resume_slot(), Some(10));
        t.observe(12);
        t.observe(11);
        assert_eq!(t.resume_slot(), Some(12), "older slots do not move it back");
    }

    #[test]
    fn processed_is_refused_with_one_error() {
        let mut c = YellowstoneSourceConfig::new(YellowstoneConfig::new("http://x"), vec![]);
        assert_eq!(c.validate(), Ok(()));
        c.commitment = Commitment::Processed;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("`processed` is not supported"), "{e}");
    }

    #[test]
    fn refusals_of_yellowstone_grpc_and_others_are_told_from_failures() {
        let window = "broadcast from 5 is not available, last available: 9";
        assert!(is_refusal(&Status::out_of_range(window)));
        assert!(
            is_refusal(&Status::internal(window)),
            "yellowstone-grpc before v5"
        );
        assert!(is_refusal(&Status::internal("from_slot is not supported")));
        assert!(is_refusal(&Status::data_loss("gap")));
        assert!(!is_refusal(&Status::internal("stream reset")));
        assert!(!is_refusal(&Status::unavailable("connection dropped")));
    }

    #[test]
    fn request_filters_programs_at_commitment() {
        let req = subscribe_request(&[Pubkey([1; 32])], Commitment::Finalized, Some(5));
        assert_eq!(req.from_slot, Some(5));
        assert_eq!(req.commitment, Some(2));
        let f = &req.accounts["hyperstack"];
        assert_eq!(f.owner, vec![Pubkey([1; 32]).to_base58()]);
        assert_eq!(req.transactions["hyperstack"].account_include.len(), 1);
    }
}
