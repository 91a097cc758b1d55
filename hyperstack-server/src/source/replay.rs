//! The replay recording format (JSON Lines, documented in docs/REPLAY.md) and the replay
//! source that plays a recording at a chosen speed, optionally in a loop.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::{
    AccountUpdate, Commitment, IxPath, KeyParseError, Pubkey, RawInstruction, RawUpdate,
    TransactionUpdate,
};

/// Wall-clock time of one slot when pacing a replay (Solana's target slot time).
pub const SLOT_TIME: Duration = Duration::from_millis(400);

/// Errors of reading a recording.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("cannot read replay file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not valid JSON of the format.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// What to replay.
#[derive(Debug, Clone)]
pub enum ReplayInput {
    /// A JSON Lines file (read once at start).
    File(PathBuf),
    /// JSON Lines text in memory (embedded recordings, tests).
    Text(Arc<str>),
}

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplaySpeed {
    /// No pauses.
    AsFastAsPossible,
    /// Pause [`SLOT_TIME`] / factor per slot between updates (`1.0` = real time).
    Factor(f64),
}

/// The replay source's settings.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// The recording.
    pub input: ReplayInput,
    /// Pacing.
    pub speed: ReplaySpeed,
    /// Start over at the end. Later passes shift slots, write versions and signatures so
    /// their updates count as new.
    pub looping: bool,
}

impl ReplayConfig {
    /// Replays `path` once, as fast as possible.
    pub fn file(path: impl Into<PathBuf>) -> ReplayConfig {
        ReplayConfig {
            input: ReplayInput::File(path.into()),
            speed: ReplaySpeed::AsFastAsPossible,
            looping: false,
        }
    }

    /// Replays JSON Lines `text` once, as fast as possible.
    pub fn text(text: impl Into<Arc<str>>) -> ReplayConfig {
        ReplayConfig {
            input: ReplayInput::Text(text.into()),
            speed: ReplaySpeed::AsFastAsPossible,
            looping: false,
        }
    }

    /// Sets the pacing.
    pub fn with_speed(mut self, speed: ReplaySpeed) -> ReplayConfig {
        self.speed = speed;
        self
    }

    /// Loops forever.
    pub fn looping(mut self, looping: bool) -> ReplayConfig {
        self.looping = looping;
        self
    }
}

/// One line of a recording.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Account {
        slot: u64,
        write_version: u64,
        pubkey: String,
        owner: String,
        data: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commitment: Option<String>,
    },
    Transaction {
        slot: u64,
        index: u64,
        signature: String,
        account_keys: Vec<String>,
        instructions: Vec<IxLine>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        logs: Vec<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        failed: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commitment: Option<String>,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IxLine {
    path: Vec<u32>,
    program: u8,
    accounts: Vec<u8>,
    data: String,
}

fn key_err(e: KeyParseError) -> String {
    e.to_string()
}

fn commitment(c: Option<String>) -> Result<Commitment, String> {
    c.map_or(Ok(Commitment::Confirmed), |c| c.parse())
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    BASE64
        .decode(s)
        .map_err(|e| format!("invalid base64 data: {e}"))
}

/// Parses one line of a recording (`line_no` is used in errors).
pub fn parse_line(text: &str, line_no: usize) -> Result<RawUpdate, ReplayError> {
    let err = |message: String| ReplayError::Line {
        line: line_no,
        message,
    };
    let line: Line = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    match line {
        Line::Account {
            slot,
            write_version,
            pubkey,
            owner,
            data,
            commitment: c,
        } => Ok(RawUpdate::Account(AccountUpdate {
            slot,
            write_version,
            pubkey: pubkey.parse().map_err(key_err).map_err(err)?,
            owner: owner.parse().map_err(key_err).map_err(err)?,
            data: b64(&data).map_err(err)?,
            commitment: commitment(c).map_err(err)?,
            txn_signature: None,
        })),
        Line::Transaction {
            slot,
            index,
            signature,
            account_keys,
            instructions,
            logs,
            failed,
            commitment: c,
        } => {
            let account_keys = account_keys
                .iter()
                .map(|k| k.parse::<Pubkey>().map_err(key_err))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            let mut ixs = Vec::with_capacity(instructions.len());
            for ix in instructions {
                let path = match ix.path[..] {
                    [outer] => IxPath { outer, inner: None },
                    [outer, inner] => IxPath {
                        outer,
                        inner: Some(inner),
                    },
                    _ => return Err(err(format!("bad instruction path {:?}", ix.path))),
                };
                ixs.push(RawInstruction {
                    path,
                    program_index: ix.program,
                    accounts: ix.accounts,
                    data: b64(&ix.data).map_err(err)?,
                });
            }
            Ok(RawUpdate::Transaction(TransactionUpdate {
                slot,
                index,
                signature: signature.parse().map_err(key_err).map_err(err)?,
                account_keys,
                instructions: ixs,
                log_messages: logs,
                failed,
                commitment: commitment(c).map_err(err)?,
            }))
        }
    }
}

/// Writes `update` as one line of the recording format (without the newline).
pub fn to_line(update: &RawUpdate) -> String {
    let line = match update {
        RawUpdate::Account(a) => Line::Account {
            slot: a.slot,
            write_version: a.write_version,
            pubkey: a.pubkey.to_base58(),
            owner: a.owner.to_base58(),
            data: BASE64.encode(&a.data),
            commitment: Some(a.commitment.as_str().to_string()),
        },
        RawUpdate::Transaction(t) => Line::Transaction {
            slot: t.slot,
            index: t.index,
            signature: t.signature.to_base58(),
            account_keys: t.account_keys.iter().map(Pubkey::to_base58).collect(),
            instructions: t
                .instructions
                .iter()
                .map(|ix| IxLine {
                    path: match ix.path.inner {
                        Some(inner) => vec![ix.path.outer, inner],
                        None => vec![ix.path.outer],
                    },
                    program: ix.program_index,
                    accounts: ix.accounts.clone(),
                    data: BASE64.encode(&ix.data),
                })
                .collect(),
            logs: t.log_messages.clone(),
            failed: t.failed,
            commitment: Some(t.commitment.as_str().to_string()),
        },
    };
    // Plain data with string keys always serializes.
    serde_json::to_string(&line).unwrap_or_default()
}

/// Parses a whole recording (empty lines are skipped).
pub fn parse_all(text: &str) -> Result<Vec<RawUpdate>, ReplayError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(l, i + 1))
        .collect()
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Updates sent downstream.
    pub updates: u64,
    /// Lines skipped because they could not be parsed.
    pub bad_lines: u64,
    /// Completed passes over the recording.
    pub passes: u64,
}

/// Shifts an update into loop pass `pass` so it counts as new.
fn shift(update: &mut RawUpdate, pass: u64, slot_span: u64, wv_span: u64) {
    match update {
        RawUpdate::Account(a) => {
            a.slot = a.slot.saturating_add(pass.saturating_mul(slot_span));
            a.write_version = a.write_version.saturating_add(pass.saturating_mul(wv_span));
        }
        RawUpdate::Transaction(t) => {
            t.slot = t.slot.saturating_add(pass.saturating_mul(slot_span));
            let mut tail = [0u8; 8];
            tail.copy_from_slice(&t.signature.0[56..]);
            let tail = u64::from_le_bytes(tail).wrapping_add(pass);
            t.signature.0[56..].copy_from_slice(&tail.to_le_bytes());
        }
    }
}

/// Plays the recording into `tx` until it ends (or forever when looping), `tx` closes or
/// `shutdown` becomes true. Unparseable lines are logged and skipped.
pub async fn run(
    config: &ReplayConfig,
    tx: mpsc::Sender<RawUpdate>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<ReplayStats, ReplayError> {
    let text: Arc<str> = match &config.input {
        ReplayInput::Text(t) => t.clone(),
        ReplayInput::File(path) => std::fs::read_to_string(path)
            .map_err(|source| ReplayError::Io {
                path: path.clone(),
                source,
            })?
            .into(),
    };
    let mut stats = ReplayStats::default();
    let (mut min_slot, mut max_slot, mut max_wv) = (u64::MAX, 0u64, 0u64);
    let mut pass = 0u64;
    loop {
        let mut prev_slot: Option<u64> = None;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut update = match parse_line(line, i + 1) {
                Ok(u) => u,
                Err(e) => {
                    stats.bad_lines += 1;
                    tracing::warn!(error = %e, "skipping a replay line");
                    continue;
                }
            };
            if pass == 0 {
                min_slot = min_slot.min(update.slot());
                max_slot = max_slot.max(update.slot());
                if let RawUpdate::Account(a) = &update {
                    max_wv = max_wv.max(a.write_version);
                }
            } else {
                let span = max_slot.saturating_sub(min_slot).saturating_add(1);
                shift(&mut update, pass, span, max_wv.saturating_add(1));
            }
            if let (ReplaySpeed::Factor(f), Some(prev)) = (config.speed, prev_slot) {
                let slots = update.slot().saturating_sub(prev);
                if slots > 0 && f > 0.0 {
                    let pause = SLOT_TIME.mul_f64(slots as f64 / f);
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => return Ok(stats),
                    }
                }
            }
            prev_slot = Some(update.slot());
            tokio::select! {
                sent = tx.send(update) => if sent.is_err() { return Ok(stats) },
                _ = shutdown.changed() => return Ok(stats),
            }
            stats.updates += 1;
            if *shutdown.borrow() {
                return Ok(stats);
            }
        }
        stats.passes += 1;
        pass += 1;
        if !config.looping || stats.updates == 0 {
            return Ok(stats);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Signature;

    fn sample() -> Vec<RawUpdate> {
        vec![
            RawUpdate::Account(AccountUpdate {
                slot: 10,
                write_version: 3,
                pubkey: Pubkey([1; 32]),
                owner: Pubkey([2; 32]),
                data: vec![1, 2, 3],
                commitment: Commitment::Finalized,
                txn_signature: None,
            }),
            RawUpdate::Transaction(TransactionUpdate {
                slot: 12,
                index: 4,
                signature: Signature([5; 64]),
                account_keys: vec![Pubkey([1; 32]), Pubkey([2; 32])],
                instructions: vec![
                    RawInstruction {
                        path: IxPath {
                            outer: 0,
                            inner: None,
                        },
                        program_index: 1,
                        accounts: vec![0],
                        data: vec![9, 9],
                    },
                    RawInstruction {
                        path: IxPath {
                            outer: 0,
                            inner: Some(0),
                        },
                        program_index: 1,
                        accounts: vec![],
                        data: vec![],
                    },
                ],
                log_messages: vec!["Program log: hi".into()],
                failed: true,
                commitment: Commitment::Confirmed,
            }),
        ]
    }

    #[test]
    fn lines_round_trip() {
        let text: String = sample().iter().map(|u| to_line(u) + "\n").collect();
        assert_eq!(parse_all(&text).unwrap(), sample());
    }

    #[test]
    fn bad_lines_name_their_number() {
        let err = parse_all("\n{\"type\":\"account\"}").unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        let line = to_line(&sample()[0]).replace("AQID", "!!");
        assert!(parse_line(&line, 1)
            .unwrap_err()
            .to_string()
            .contains("base64"));
    }

    #[tokio::test]
    async fn loops_shift_slots_and_signatures() {
        let text: String = sample().iter().map(|u| to_line(u) + "\n").collect();
        let (tx, mut rx) = mpsc::channel(16);
        let (_stop, shutdown) = watch::channel(false);
        let config = ReplayConfig::text(text).looping(true);
        let task = tokio::spawn(async move { run(&config, tx, shutdown).await });
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(rx.recv().await.unwrap());
        }
        drop(rx);
        let stats = task.await.unwrap().unwrap();
        assert!(stats.passes >= 1);
        assert_eq!(
            got[2].slot(),
            10 + 3,
            "second pass shifted by the slot span"
        );
        let (RawUpdate::Transaction(a), RawUpdate::Transaction(b)) = (&got[1], &got[3]) else {
            panic!("transactions expected")
        };
        assert_ne!(a.signature, b.signature);
    }
}
