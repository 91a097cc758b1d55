//! Wire frames sent to clients and their one-time encoding.
//!
//! Every frame is serialized to JSON once; payloads of [`GZIP_THRESHOLD`] bytes or more are
//! gzip-compressed and sent as binary WebSocket messages, smaller ones as text.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
#[cfg(test)]
use std::sync::Arc;

use bytes::Bytes;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use hyperstack_spec::SortOrder;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

/// Encoded payloads of at least this many bytes are gzip-compressed (binary frames).
pub const GZIP_THRESHOLD: usize = 1024;

/// A frame encoded once, shared by every client that receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The JSON text, or its gzip compression when `binary` is set.
    pub payload: Bytes,
    /// Whether `payload` is gzip-compressed (send as a binary message) rather than JSON text.
    pub binary: bool,
}

/// Why an [`EncodedFrame`] could not be read back as JSON.
#[derive(Debug, thiserror::Error)]
pub enum FrameDecodeError {
    /// The binary payload is not valid gzip.
    #[error("frame is not valid gzip: {0}")]
    Gzip(#[from] std::io::Error),
    /// The payload is not valid JSON.
    #[error("frame is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl EncodedFrame {
    /// Serializes `value` to JSON and gzips it when the JSON is [`GZIP_THRESHOLD`] bytes or
    /// longer. Serializing the frame types of this module cannot fail; should it ever, the
    /// error is logged and the frame is an empty JSON object.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> EncodedFrame {
        let json = serde_json::to_vec(value).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot serialize a frame");
            b"{}".to_vec()
        });
        EncodedFrame::from_json(json)
    }

    /// A frame of JSON text written already: gzip'd when [`GZIP_THRESHOLD`] bytes or longer.
    pub(crate) fn from_json(json: Vec<u8>) -> EncodedFrame {
        if json.len() < GZIP_THRESHOLD {
            return EncodedFrame {
                payload: Bytes::from(json),
                binary: false,
            };
        }
        let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
        match encoder.write_all(&json).and_then(|()| encoder.finish()) {
            Ok(gz) => EncodedFrame {
                payload: Bytes::from(gz),
                binary: true,
            },
            Err(e) => {
                // Writing into a Vec does not fail; fall back to the plain text if it does.
                tracing::error!(error = %e, "cannot gzip a frame");
                EncodedFrame {
                    payload: Bytes::from(json),
                    binary: false,
                }
            }
        }
    }

    /// The frame as JSON (gunzipped first when binary). Meant for tests and diagnostics.
    pub fn json(&self) -> Result<Value, FrameDecodeError> {
        if self.binary {
            let mut text = Vec::new();
            GzDecoder::new(&self.payload[..]).read_to_end(&mut text)?;
            Ok(serde_json::from_slice(&text)?)
        } else {
            Ok(serde_json::from_slice(&self.payload)?)
        }
    }
}

/// Entity data as clients see it: `emit = false` fields left out, `_seq` added when given
/// (replacing a stored `_seq`). Serializes without copying the object.
#[derive(Clone, Copy)]
pub(crate) struct Emitted<'a> {
    /// The object (a merged entity or a patch).
    pub obj: &'a Map<String, Value>,
    /// Names of top-level fields never sent to clients.
    pub hidden: &'a HashSet<String>,
    /// `_seq` to send instead of the object's own.
    pub seq: Option<&'a str>,
}

impl Serialize for Emitted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in self.obj {
            if self.hidden.contains(k.as_str()) || (self.seq.is_some() && k == SEQ_FIELD) {
                continue;
            }
            map.serialize_entry(k, v)?;
        }
        if let Some(seq) = self.seq {
            map.serialize_entry(SEQ_FIELD, seq)?;
        }
        map.end()
    }
}

/// The entity field carrying the `"slot:index"` of the latest change.
pub(crate) const SEQ_FIELD: &str = "_seq";

/// A frame operation on one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    /// The entity's full data (client replaces its row).
    Upsert,
    /// Changed fields only (client merges).
    Patch,
    /// The entity left the view.
    Delete,
}

/// `{"mode","entity","op","key","data","append","seq"}`.
#[derive(Serialize)]
pub(crate) struct DataFrame<'a> {
    pub mode: &'a str,
    /// The view's full name (a quirk of the seed protocol).
    pub entity: &'a str,
    pub op: Op,
    pub key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Emitted<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub append: Vec<&'a str>,
    pub seq: String,
}

/// One row of a snapshot: its key and its data as clients see it (`D`: an [`Emitted`] object,
/// or the stored fields spliced as they are).
#[derive(Serialize)]
pub(crate) struct SnapshotRow<'a, D = Emitted<'a>> {
    pub key: &'a str,
    pub data: D,
}

/// `{"mode","entity","op":"snapshot","data":[rows],"complete","seq"}` (snapshots are written
/// by `snapshot::splice`; this printed form is what its tests compare with).
#[cfg(test)]
#[derive(Serialize)]
pub(crate) struct SnapshotFrame<'a, D = Emitted<'a>> {
    pub mode: &'a str,
    pub entity: &'a str,
    pub op: &'static str,
    pub data: Vec<SnapshotRow<'a, D>>,
    pub complete: bool,
    pub seq: String,
}

/// The snapshot frames of `rows`: a first batch of `first` rows, then batches of `next`
/// (sizes of 0 count as 1); the last says `complete`. No rows still make one frame.
#[cfg(test)]
pub(crate) fn snapshot_frames<D: Serialize>(
    mode: &str,
    view: &str,
    seq: u64,
    rows: Vec<SnapshotRow<'_, D>>,
    first: usize,
    next: usize,
) -> Vec<Arc<EncodedFrame>> {
    let seq = seq.to_string();
    let mut frames = Vec::new();
    let mut rows = rows.into_iter().peekable();
    loop {
        let size = if frames.is_empty() { first } else { next };
        let batch: Vec<_> = rows.by_ref().take(size.max(1)).collect();
        let complete = rows.peek().is_none();
        frames.push(Arc::new(EncodedFrame::encode(&SnapshotFrame {
            mode,
            entity: view,
            op: "snapshot",
            data: batch,
            complete,
            seq: seq.clone(),
        })));
        if complete {
            return frames;
        }
    }
}

/// `{"field":["a","b"],"order":"desc"}`.
#[derive(Serialize)]
pub(crate) struct SortJson<'a> {
    pub field: &'a [String],
    pub order: SortOrder,
}

/// `{"op":"subscribed","view","mode","sort","resumed","epoch","append_caps","append_default_cap"}`.
#[derive(Serialize)]
pub(crate) struct SubscribedFrame<'a> {
    pub op: &'static str,
    pub view: &'a str,
    pub mode: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<SortJson<'a>>,
    pub resumed: bool,
    /// Identifies this server run: `seq` cursors are only valid within one epoch.
    pub epoch: &'a str,
    /// How many items each append path of the entity keeps (`{"last_trades": 20}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub append_caps: Option<&'a BTreeMap<String, usize>>,
    /// How many items an append path without a cap of its own keeps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub append_default_cap: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test objects only"),
        }
    }

    #[test]
    fn small_frames_are_text_large_ones_gzip() {
        let small = EncodedFrame::encode(&json!({"op": "ping"}));
        assert!(!small.binary);
        assert_eq!(&small.payload[..], br#"{"op":"ping"}"#);
        assert_eq!(small.json().unwrap(), json!({"op": "ping"}));

        let big_value = json!({"data": "x".repeat(2000)});
        let big = EncodedFrame::encode(&big_value);
        assert!(big.binary);
        assert_eq!(&big.payload[..2], &[0x1f, 0x8b], "gzip magic");
        assert!(big.payload.len() < 1024);
        assert_eq!(big.json().unwrap(), big_value);
    }

    #[test]
    fn threshold_is_inclusive() {
        // {"a":"xxx…"} is 8 bytes of overhead.
        let at = EncodedFrame::encode(&json!({"a": "x".repeat(GZIP_THRESHOLD - 8)}));
        assert!(at.binary);
        let below = EncodedFrame::encode(&json!({"a": "x".repeat(GZIP_THRESHOLD - 9)}));
        assert!(!below.binary);
        assert_eq!(below.payload.len(), GZIP_THRESHOLD - 1);
    }

    #[test]
    fn emitted_hides_fields_and_sets_seq() {
        let hidden: HashSet<String> = ["secret".to_string()].into();
        let data = obj(json!({"a": 1, "secret": 2, "_seq": "1:0"}));
        let plain = Emitted {
            obj: &data,
            hidden: &hidden,
            seq: None,
        };
        assert_eq!(
            serde_json::to_value(plain).unwrap(),
            json!({"a": 1, "_seq": "1:0"})
        );
        let seq = Emitted {
            obj: &data,
            hidden: &hidden,
            seq: Some("9:3"),
        };
        assert_eq!(
            serde_json::to_value(seq).unwrap(),
            json!({"a": 1, "_seq": "9:3"})
        );
    }

    #[test]
    fn data_frame_shape() {
        let hidden = HashSet::new();
        let data = obj(json!({"x": 1}));
        let frame = DataFrame {
            mode: "list",
            entity: "Token/list",
            op: Op::Patch,
            key: "k",
            data: Some(Emitted {
                obj: &data,
                hidden: &hidden,
                seq: None,
            }),
            append: vec!["last_trades"],
            seq: 17.to_string(),
        };
        assert_eq!(
            EncodedFrame::encode(&frame).json().unwrap(),
            json!({"mode": "list", "entity": "Token/list", "op": "patch", "key": "k",
                   "data": {"x": 1}, "append": ["last_trades"], "seq": "17"})
        );
        let delete = DataFrame {
            mode: "state",
            entity: "Token/state",
            op: Op::Delete,
            key: "k",
            data: None,
            append: Vec::new(),
            seq: "3".into(),
        };
        assert_eq!(
            EncodedFrame::encode(&delete).json().unwrap(),
            json!({"mode": "state", "entity": "Token/state", "op": "delete", "key": "k", "seq": "3"})
        );
    }
}
