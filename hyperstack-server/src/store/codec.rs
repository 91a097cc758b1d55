//! Encodings of what the store holds. Meta records are JSON (small, rarely written, readable
//! with any tool); entities are their JSON object; resume-log entries a small binary header
//! followed by the encoded frame.

use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Identity, StoreError};
use crate::project::EncodedFrame;

/// Serializes a meta record.
pub(crate) fn meta<T: Serialize>(value: &T) -> Vec<u8> {
    // Meta records are plain structs of numbers and strings: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Reads a meta record.
pub(crate) fn parse_meta<T: DeserializeOwned>(
    name: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        keyspace: "meta",
        reason: format!("{name}: {e}"),
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct IdentityRecord {
    stack: String,
    fingerprint: String,
    format: u32,
}

/// Version of the store's layout this build writes. Format 2 writes the transform's entity
/// states in a binary encoding (format 1: JSON). Format 3 keeps the applied version of an
/// account in its entity's state record where the stack has a version holder
/// (`transform/versions.rs`) instead of updating its `accounts` record, which a format-2
/// build would not see. Format 4 writes a view's resume-log entries of one commit as one
/// record (a chunk: [`log_chunk`]) instead of one record per frame. A store of a newer format
/// is refused.
pub(crate) const FORMAT: u32 = 4;

/// Oldest format this build reads: its records are read as they are, and the identity is
/// rewritten with [`FORMAT`] when the store is opened, so that an older build, which could not
/// read the records written from then on, refuses the directory instead of misreading it.
pub(crate) const OLDEST_FORMAT: u32 = 1;

/// The identity record of a data directory.
pub(crate) fn identity(identity: &Identity) -> Vec<u8> {
    meta(&IdentityRecord {
        stack: identity.stack_name.clone(),
        fingerprint: identity.fingerprint.clone(),
        format: FORMAT,
    })
}

/// The stack name, fingerprint and format a data directory was written for.
pub(crate) fn parse_identity(bytes: &[u8]) -> Result<(String, String, u32), StoreError> {
    let r: IdentityRecord = parse_meta("identity", bytes)?;
    if !(OLDEST_FORMAT..=FORMAT).contains(&r.format) {
        return Err(StoreError::Corrupt {
            keyspace: "meta",
            reason: format!(
                "store format {} (this server reads formats {OLDEST_FORMAT} to {FORMAT})",
                r.format
            ),
        });
    }
    Ok((r.stack, r.fingerprint, r.format))
}

/// An entity as clients see it.
pub(crate) fn entity(obj: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(obj).unwrap_or_else(|_| b"{}".to_vec())
}

/// Reads an entity.
pub(crate) fn parse_entity(bytes: &[u8]) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        keyspace: "entities",
        reason: e.to_string(),
    })
}

/// Flag bits of a resume-log entry's first byte.
const LOG_FULL_GZIP: u8 = 1;
const LOG_HAS_DELTA: u8 = 2;
const LOG_DELTA_GZIP: u8 = 4;

/// A resume-log entry: the frame's entity key, the encoded frame and, for append views, its
/// delta encoding. Layout: flags (bit 0: the frame is gzip'd, bit 1: a delta follows the key,
/// bit 2: the delta is gzip'd), the key's length (u16 BE) and bytes, then — with a delta —
/// its length (u32 BE) and bytes, then the frame. Entries written before deltas existed
/// (flags 0 or 1) read back unchanged.
#[cfg(test)]
pub(crate) fn log_entry(key: &str, frame: &EncodedFrame, delta: Option<&EncodedFrame>) -> Vec<u8> {
    let mut out = Vec::new();
    write_log_entry(&mut out, key, frame, delta);
    out
}

/// Appends a resume-log entry ([`log_entry`]'s layout) to `out`.
fn write_log_entry(
    out: &mut Vec<u8>,
    key: &str,
    frame: &EncodedFrame,
    delta: Option<&EncodedFrame>,
) {
    let len = u16::try_from(key.len()).unwrap_or(u16::MAX);
    let mut flags = if frame.binary { LOG_FULL_GZIP } else { 0 };
    if let Some(d) = delta {
        flags |= LOG_HAS_DELTA;
        if d.binary {
            flags |= LOG_DELTA_GZIP;
        }
    }
    out.push(flags);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&key.as_bytes()[..usize::from(len)]);
    if let Some(d) = delta {
        let dlen = u32::try_from(d.payload.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&dlen.to_be_bytes());
        out.extend_from_slice(&d.payload[..dlen as usize]);
    }
    out.extend_from_slice(&frame.payload);
}

/// First byte of a resume-log chunk (entry flags use the low bits only).
const LOG_CHUNK: u8 = 0x80;

/// A chunk of consecutive resume-log entries of one view, stored under the first entry's
/// sequence number: the marker byte `0x80`, the number of entries (u32 BE), then each entry
/// as its length (u32 BE) and its bytes ([`log_entry`]'s layout). One record per view and
/// commit instead of one per frame: a 20,000-slot pump replay wrote 515k log records.
pub(crate) fn log_chunk<'a>(
    entries: impl ExactSizeIterator<Item = (&'a str, &'a EncodedFrame, Option<&'a EncodedFrame>)>,
) -> Vec<u8> {
    let mut out = vec![LOG_CHUNK];
    out.extend_from_slice(
        &u32::try_from(entries.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for (key, frame, delta) in entries {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        write_log_entry(&mut out, key, frame, delta);
        let len = u32::try_from(out.len() - at - 4).unwrap_or(u32::MAX);
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
    out
}

/// The entries of a resume-log record, in order: a chunk's, or the one entry of a record
/// written by an older build (format 3 or earlier).
pub(crate) fn parse_log_record(bytes: &[u8]) -> Result<Vec<LogEntry>, StoreError> {
    let corrupt = || StoreError::Corrupt {
        keyspace: "log",
        reason: "truncated chunk".into(),
    };
    let Some(rest) = bytes.strip_prefix(&[LOG_CHUNK]) else {
        return Ok(vec![parse_log_entry(bytes)?]);
    };
    let count: [u8; 4] = rest
        .get(..4)
        .ok_or_else(corrupt)?
        .try_into()
        .map_err(|_| corrupt())?;
    let count = u32::from_be_bytes(count);
    let mut rest = &rest[4..];
    let mut entries = Vec::new();
    for _ in 0..count {
        let len: [u8; 4] = rest
            .get(..4)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?;
        let len = usize::try_from(u32::from_be_bytes(len)).map_err(|_| corrupt())?;
        entries.push(parse_log_entry(rest.get(4..4 + len).ok_or_else(corrupt)?)?);
        rest = &rest[4 + len..];
    }
    if !rest.is_empty() {
        return Err(corrupt());
    }
    Ok(entries)
}

/// A resume-log entry read back: key, frame, and the delta encoding when it has one.
pub(crate) type LogEntry = (Arc<str>, EncodedFrame, Option<EncodedFrame>);

/// Reads a resume-log entry.
fn parse_log_entry(bytes: &[u8]) -> Result<LogEntry, StoreError> {
    let corrupt = || StoreError::Corrupt {
        keyspace: "log",
        reason: "truncated entry".into(),
    };
    let (&flags, rest) = bytes.split_first().ok_or_else(corrupt)?;
    if flags & !(LOG_FULL_GZIP | LOG_HAS_DELTA | LOG_DELTA_GZIP) != 0 {
        return Err(StoreError::Corrupt {
            keyspace: "log",
            reason: format!("unknown entry flags {flags:#x}"),
        });
    }
    let len = usize::from(u16::from_be_bytes(
        rest.get(..2)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    ));
    let key = rest.get(2..2 + len).ok_or_else(corrupt)?;
    let key = std::str::from_utf8(key).map_err(|_| corrupt())?;
    let mut rest = rest.get(2 + len..).ok_or_else(corrupt)?;
    let delta = if flags & LOG_HAS_DELTA != 0 {
        let dlen: [u8; 4] = rest
            .get(..4)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?;
        let dlen = usize::try_from(u32::from_be_bytes(dlen)).map_err(|_| corrupt())?;
        let payload = rest.get(4..4 + dlen).ok_or_else(corrupt)?;
        rest = rest.get(4 + dlen..).ok_or_else(corrupt)?;
        Some(EncodedFrame {
            payload: Bytes::copy_from_slice(payload),
            binary: flags & LOG_DELTA_GZIP != 0,
        })
    } else {
        None
    };
    Ok((
        Arc::from(key),
        EncodedFrame {
            payload: Bytes::copy_from_slice(rest),
            binary: flags & LOG_FULL_GZIP != 0,
        },
        delta,
    ))
}

/// (De)serializes an `f64` that may be non-finite (JSON has no NaN or infinity): finite
/// values as numbers, the others as the strings `"NaN"`, `"inf"`, `"-inf"`.
pub(crate) mod float {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Text(String),
    }

    /// Serializes `x`.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if *x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    /// Deserializes what [`serialize`] wrote.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Num(x) => Ok(x),
            Repr::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!("not a float: {other}"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_round_trip() {
        let id = Identity {
            stack_name: "pump".into(),
            fingerprint: "abc".into(),
        };
        assert_eq!(
            parse_identity(&identity(&id)).unwrap(),
            ("pump".to_string(), "abc".to_string(), FORMAT)
        );
        let frame = EncodedFrame::encode(&json!({"op": "patch", "data": {"a": 1}}));
        let (key, back, delta) = parse_log_entry(&log_entry("k1", &frame, None)).unwrap();
        assert_eq!((&*key, back, delta), ("k1", frame.clone(), None));
        let small = EncodedFrame::encode(&json!({"op": "patch"}));
        for (full, d) in [(&frame, &small), (&small, &frame)] {
            let (key, back, delta) = parse_log_entry(&log_entry("k2", full, Some(d))).unwrap();
            assert_eq!((&*key, &back, delta.as_ref()), ("k2", full, Some(d)));
        }
        let bytes = log_entry("k3", &small, Some(&frame));
        for cut in 1..bytes.len() - small.payload.len() {
            assert!(parse_log_entry(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_log_entry(&[8, 0, 0]).is_err(), "unknown flags");
        let Value::Object(obj) = json!({"a": [1, 2], "b": null}) else {
            unreachable!()
        };
        assert_eq!(parse_entity(&entity(&obj)).unwrap(), obj);
        assert!(parse_log_entry(&[1, 0]).is_err());
        assert!(parse_entity(b"not json").is_err());
        let old = meta(&IdentityRecord {
            stack: "pump".into(),
            fingerprint: "abc".into(),
            format: FORMAT + 1,
        });
        assert!(parse_identity(&old).is_err());
        let older = meta(&IdentityRecord {
            stack: "pump".into(),
            fingerprint: "abc".into(),
            format: OLDEST_FORMAT,
        });
        assert_eq!(parse_identity(&older).unwrap().2, OLDEST_FORMAT);
        let unknown = meta(&IdentityRecord {
            stack: "pump".into(),
            fingerprint: "abc".into(),
            format: 0,
        });
        assert!(parse_identity(&unknown).is_err());
    }

    #[test]
    fn log_chunks_round_trip_and_refuse_truncation() {
        let small = EncodedFrame::encode(&serde_json::json!({"op": "patch"}));
        let big = EncodedFrame {
            payload: Bytes::from_static(&[0x1f, 0x8b, 1, 2, 3]),
            binary: true,
        };
        let entries = [
            ("a", &small, None),
            ("bb", &big, Some(&small)),
            ("c", &small, None),
        ];
        let bytes = log_chunk(entries.iter().copied());
        let back = parse_log_record(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        for ((key, frame, delta), (k, f, d)) in entries.iter().zip(&back) {
            assert_eq!(&**k, *key);
            assert_eq!(f, *frame);
            assert_eq!(d.as_ref(), *delta);
        }
        for cut in 1..bytes.len() {
            assert!(parse_log_record(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(
            parse_log_record(&longer).is_err(),
            "bytes after the last entry"
        );
        // A record of an older build: one entry.
        let one = parse_log_record(&log_entry("k", &small, None)).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(&*one[0].0, "k");
    }

    #[test]
    fn an_older_store_is_opened_and_marked_with_the_current_format() {
        use crate::store::{DataLocation, Store, StoreConfig, IDENTITY_KEY};
        let id = Identity {
            stack_name: "pump".into(),
            fingerprint: "abc".into(),
        };
        for format in OLDEST_FORMAT..FORMAT {
            let dir = tempfile::tempdir().unwrap();
            let config = StoreConfig {
                location: DataLocation::Dir(dir.path().to_path_buf()),
                ..StoreConfig::default()
            };
            let older = meta(&IdentityRecord {
                stack: "pump".into(),
                fingerprint: "abc".into(),
                format,
            });
            {
                let (store, created) = Store::open(&config, &id).unwrap();
                assert!(created);
                let mut batch = store.batch();
                batch.insert(&store.meta, IDENTITY_KEY, older);
                store.commit(batch).unwrap();
            }
            let (store, created) = Store::open(&config, &id).unwrap();
            assert!(!created);
            let stored = store.meta(IDENTITY_KEY).unwrap().unwrap();
            assert_eq!(parse_identity(&stored).unwrap().2, FORMAT);
        }
    }

    #[test]
    fn floats_round_trip_even_when_not_finite() {
        #[derive(serde::Serialize, serde::Deserialize, Debug)]
        struct F(#[serde(with = "float")] f64);
        for x in [1.5, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1e300] {
            let back: F = serde_json::from_str(&serde_json::to_string(&F(x)).unwrap()).unwrap();
            assert_eq!(back.0.to_bits(), x.to_bits());
        }
        let nan: F = serde_json::from_str(&serde_json::to_string(&F(f64::NAN)).unwrap()).unwrap();
        assert!(nan.0.is_nan());
    }
}
