//! Server → client frames (docs/PROTOCOL.md), parsed leniently: unknown fields are ignored,
//! malformed frames become an error string the connection logs before skipping the frame.

use hyperstack_spec::wire::AppendCaps;
use serde::Deserialize;
use serde_json::Value;

use crate::store::{announced_caps, SortSpec};

/// A frame from the server.
#[derive(Debug)]
pub(crate) enum ServerFrame {
    Subscribed {
        view: String,
        /// The id of the subscribe it answers (ours are numbers), when the server echoes it.
        id: Option<u64>,
        /// The server's subscriptions-per-connection limit, when it announces it.
        max_subscriptions: Option<usize>,
        resumed: bool,
        epoch: Option<String>,
        append_mode: bool,
        sort: Option<SortSpec>,
        append_caps: AppendCaps,
    },
    Snapshot {
        view: String,
        rows: Vec<(String, Value)>,
        complete: bool,
        seq: Option<u64>,
    },
    Upsert {
        view: String,
        key: String,
        keyed: bool,
        data: Value,
        seq: Option<u64>,
    },
    Patch {
        view: String,
        key: String,
        keyed: bool,
        data: Value,
        append: Vec<String>,
        seq: Option<u64>,
    },
    Delete {
        view: String,
        key: String,
        keyed: bool,
        seq: Option<u64>,
    },
    Error {
        view: Option<String>,
        id: Option<u64>,
        code: String,
        message: String,
        retry_after_ms: Option<u64>,
    },
    Pong,
}

#[derive(Deserialize)]
struct Raw {
    op: Option<String>,
    mode: Option<String>,
    entity: Option<String>,
    view: Option<String>,
    key: Option<String>,
    #[serde(default)]
    data: Value,
    #[serde(default)]
    append: Vec<String>,
    #[serde(default)]
    complete: bool,
    seq: Option<Value>,
    #[serde(default)]
    resumed: bool,
    sort: Option<Value>,
    epoch: Option<String>,
    append_caps: Option<Value>,
    append_default_cap: Option<Value>,
    code: Option<String>,
    message: Option<String>,
    id: Option<Value>,
    limits: Option<Value>,
    retry_after_ms: Option<u64>,
}

/// The frame's view sequence number, the resume cursor. A `seq` that is not an unsigned
/// integer (the reference server sends `"slot:index"` strings) is no cursor: the frame is
/// applied all the same, and the view resumes by snapshot.
fn seq_of(v: Option<Value>) -> Option<u64> {
    match v {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

/// Parses one text frame.
pub(crate) fn parse(text: &str) -> Result<ServerFrame, String> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| format!("not a frame: {e}"))?;
    let op = raw.op.as_deref().unwrap_or("");
    let keyed = raw.mode.as_deref() == Some("state");
    let view = raw.entity.or(raw.view);
    let need_view = |v: Option<String>| v.ok_or_else(|| format!("`{op}` frame without a view"));
    let need_key = |k: Option<String>| k.ok_or_else(|| format!("`{op}` frame without a key"));
    Ok(match op {
        "subscribed" => ServerFrame::Subscribed {
            id: raw.id.as_ref().and_then(Value::as_u64),
            max_subscriptions: raw
                .limits
                .as_ref()
                .and_then(|l| l.get("max_subscriptions"))
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            resumed: raw.resumed,
            epoch: raw.epoch.clone(),
            append_mode: raw.mode.as_deref() == Some("append"),
            sort: raw.sort.as_ref().and_then(SortSpec::from_json),
            append_caps: announced_caps(raw.append_caps.as_ref(), raw.append_default_cap.as_ref()),
            view: need_view(view)?,
        },
        "snapshot" => {
            let Value::Array(items) = raw.data else {
                return Err("snapshot `data` is not a list".into());
            };
            let mut rows = Vec::with_capacity(items.len());
            for item in items {
                let Value::Object(mut row) = item else {
                    return Err("snapshot row is not an object".into());
                };
                let Some(Value::String(key)) = row.remove("key") else {
                    return Err("snapshot row without a string key".into());
                };
                rows.push((key, row.remove("data").unwrap_or(Value::Null)));
            }
            ServerFrame::Snapshot {
                view: need_view(view)?,
                rows,
                complete: raw.complete,
                seq: seq_of(raw.seq),
            }
        }
        "upsert" => ServerFrame::Upsert {
            view: need_view(view)?,
            key: need_key(raw.key)?,
            keyed,
            data: raw.data,
            seq: seq_of(raw.seq),
        },
        "patch" => ServerFrame::Patch {
            view: need_view(view)?,
            key: need_key(raw.key)?,
            keyed,
            data: raw.data,
            append: raw.append,
            seq: seq_of(raw.seq),
        },
        "delete" => ServerFrame::Delete {
            view: need_view(view)?,
            key: need_key(raw.key)?,
            keyed,
            seq: seq_of(raw.seq),
        },
        "error" => ServerFrame::Error {
            view,
            id: raw.id.as_ref().and_then(Value::as_u64),
            code: raw.code.unwrap_or_default(),
            message: raw.message.unwrap_or_default(),
            retry_after_ms: raw.retry_after_ms,
        },
        "pong" => ServerFrame::Pong,
        other => return Err(format!("unknown op `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames_and_rejects_garbage() {
        let f = parse(r#"{"mode":"list","entity":"Token/list","op":"snapshot","data":[{"key":"k","data":{"a":1}}],"complete":true,"seq":"17"}"#).unwrap();
        assert!(
            matches!(f, ServerFrame::Snapshot { complete: true, seq: Some(17), ref rows, .. } if rows.len() == 1)
        );
        let f = parse(
            r#"{"mode":"state","entity":"Token/state","op":"patch","key":"k","data":{},"seq":3}"#,
        )
        .unwrap();
        assert!(matches!(
            f,
            ServerFrame::Patch {
                keyed: true,
                seq: Some(3),
                ..
            }
        ));
        assert!(parse("{nope").is_err());
        assert!(parse(r#"{"op":"patch","entity":"Token/list"}"#).is_err());
        assert!(parse(r#"{"op":"snapshot","entity":"Token/list","data":{}}"#).is_err());
        // The reference server's `"slot:index"` seq is applied, without a cursor.
        let f = parse(r#"{"op":"upsert","mode":"list","entity":"T/list","key":"k","data":{"a":1},"seq":"300:2"}"#).unwrap();
        assert!(matches!(f, ServerFrame::Upsert { seq: None, .. }));
        assert!(parse(r#"{"op":"what"}"#).is_err());
    }

    #[test]
    fn replies_carry_ids_and_limits() {
        let f = parse(r#"{"op":"subscribed","view":"T/state","mode":"state","id":7,"limits":{"max_subscriptions":3,"max_message_size":16384}}"#).unwrap();
        assert!(matches!(
            f,
            ServerFrame::Subscribed {
                id: Some(7),
                max_subscriptions: Some(3),
                ..
            }
        ));
        let f = parse(
            r#"{"op":"error","code":"rate_limited","message":"m","id":8,"retry_after_ms":40}"#,
        )
        .unwrap();
        assert!(matches!(
            f,
            ServerFrame::Error {
                id: Some(8),
                retry_after_ms: Some(40),
                ..
            }
        ));
        // A server that echoes nothing (the reference server): no id, no limit.
        let f = parse(r#"{"op":"subscribed","view":"T/list","mode":"list","id":"other"}"#).unwrap();
        assert!(matches!(
            f,
            ServerFrame::Subscribed {
                id: None,
                max_subscriptions: None,
                ..
            }
        ));
    }

    #[test]
    fn subscribed_carries_append_caps() {
        let f = parse(r#"{"op":"subscribed","view":"T/list","mode":"list","append_caps":{"a":20,"b":"x"},"append_default_cap":50}"#).unwrap();
        let ServerFrame::Subscribed { append_caps, .. } = f else {
            panic!("subscribed expected");
        };
        assert_eq!(
            (
                append_caps.cap("a"),
                append_caps.cap("b"),
                append_caps.cap("c")
            ),
            (20, 50, 50)
        );
        // A server that announces nothing: the spec's default cap.
        let f = parse(r#"{"op":"subscribed","view":"T/list","mode":"list","append_caps":[1]}"#)
            .unwrap();
        let ServerFrame::Subscribed { append_caps, .. } = f else {
            panic!("subscribed expected");
        };
        assert_eq!(append_caps, AppendCaps::default());
    }
}
