//! Client → server messages and the server's small control frames (`pong`, `error`).

use serde::Deserialize;
use serde_json::{json, Value};

/// A parsed client message.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `{"view":"Token/list","key":"*"}` (seed form) or with `"op":"subscribe"`; extensions:
    /// `after` (resume cursor), `skip` / `take` (list snapshot window).
    Subscribe {
        /// Full view name.
        view: String,
        /// Entity key (state views); `None` or `*` for collections.
        key: Option<String>,
        /// Resume after this view `seq`.
        after: Option<u64>,
        /// Snapshot rows to skip.
        skip: usize,
        /// Snapshot rows to send at most.
        take: Option<usize>,
        /// The server epoch `after` belongs to; a different epoch voids the cursor.
        epoch: Option<String>,
    },
    /// `{"op":"unsubscribe","view":..,"key"?:..}`.
    Unsubscribe {
        /// Full view name.
        view: String,
        /// Key of a state subscription.
        key: Option<String>,
    },
    /// `{"op":"ping"}`.
    Ping,
}

/// Error codes of `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not JSON, or not a known message shape.
    MalformedMessage,
    /// The view does not exist.
    UnknownView,
    /// The key does not fit the view (missing for a state view, given for a collection).
    BadKey,
    /// The client holds too many subscriptions.
    TooManySubscriptions,
    /// The client fell behind and is being disconnected.
    Lagged,
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedMessage => "malformed_message",
            ErrorCode::UnknownView => "unknown_view",
            ErrorCode::BadKey => "bad_key",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
            ErrorCode::Lagged => "lagged",
        }
    }
}

/// An `error` frame: `{"op":"error","view"?,"code","message"}`.
pub fn error_frame(view: Option<&str>, code: ErrorCode, message: &str) -> String {
    let mut frame = json!({ "op": "error", "code": code.as_str(), "message": message });
    if let (Some(view), Value::Object(map)) = (view, &mut frame) {
        map.insert("view".into(), Value::String(view.to_string()));
    }
    frame.to_string()
}

/// The `pong` frame.
pub fn pong_frame() -> &'static str {
    r#"{"op":"pong"}"#
}

#[derive(Deserialize)]
struct Raw {
    op: Option<String>,
    view: Option<String>,
    key: Option<String>,
    after: Option<Value>,
    skip: Option<usize>,
    take: Option<usize>,
    epoch: Option<String>,
}

/// Parses a text message. Errors carry the code and a message for the `error` frame.
pub fn parse(text: &str) -> Result<ClientMessage, (Option<String>, ErrorCode, String)> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        (
            None,
            ErrorCode::MalformedMessage,
            format!("cannot parse message: {e}"),
        )
    })?;
    let malformed =
        |view: Option<String>, msg: &str| Err((view, ErrorCode::MalformedMessage, msg.to_string()));
    match raw.op.as_deref() {
        Some("ping") => Ok(ClientMessage::Ping),
        Some("unsubscribe") => match raw.view {
            Some(view) => Ok(ClientMessage::Unsubscribe { view, key: raw.key }),
            None => malformed(None, "`unsubscribe` needs `view`"),
        },
        None | Some("subscribe") => {
            let Some(view) = raw.view else {
                return malformed(None, "a subscription needs `view`");
            };
            let after = match raw.after {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(n) => Some(n),
                    None => return malformed(Some(view), "`after` must be a non-negative integer"),
                },
                Some(Value::String(s)) => match s.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => return malformed(Some(view), "`after` must be a sequence number"),
                },
                Some(_) => return malformed(Some(view), "`after` must be a sequence number"),
            };
            Ok(ClientMessage::Subscribe {
                view,
                key: raw.key,
                after,
                skip: raw.skip.unwrap_or(0),
                take: raw.take,
                epoch: raw.epoch,
            })
        }
        Some(other) => malformed(raw.view, &format!("unknown op `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seed_and_extended_messages() {
        assert_eq!(
            parse(r#"{"view":"Token/list","key":"*"}"#).unwrap(),
            ClientMessage::Subscribe {
                view: "Token/list".into(),
                key: Some("*".into()),
                after: None,
                skip: 0,
                take: None,
                epoch: None
            }
        );
        assert_eq!(
            parse(r#"{"op":"subscribe","view":"Token/list","after":"42","skip":5,"take":10}"#)
                .unwrap(),
            ClientMessage::Subscribe {
                view: "Token/list".into(),
                key: None,
                after: Some(42),
                skip: 5,
                take: Some(10),
                epoch: None
            }
        );
        assert_eq!(parse(r#"{"op":"ping"}"#).unwrap(), ClientMessage::Ping);
        assert_eq!(
            parse(r#"{"op":"unsubscribe","view":"Token/state","key":"k"}"#).unwrap(),
            ClientMessage::Unsubscribe {
                view: "Token/state".into(),
                key: Some("k".into())
            }
        );
    }

    #[test]
    fn rejects_malformed_messages_with_reasons() {
        for (text, needle) in [
            ("not json", "cannot parse"),
            (r#"{"key":"*"}"#, "needs `view`"),
            (r#"{"op":"unsubscribe"}"#, "needs `view`"),
            (r#"{"op":"dance","view":"x"}"#, "unknown op"),
            (r#"{"view":"x","after":-1}"#, "`after`"),
            (r#"{"view":"x","after":"abc"}"#, "`after`"),
            (r#"{"view":7}"#, "cannot parse"),
        ] {
            let (_, code, msg) = parse(text).unwrap_err();
            assert_eq!(code, ErrorCode::MalformedMessage);
            assert!(msg.contains(needle), "{text}: {msg}");
        }
    }

    #[test]
    fn error_frames_carry_code_and_view() {
        let v: Value =
            serde_json::from_str(&error_frame(Some("X/list"), ErrorCode::UnknownView, "nope"))
                .unwrap();
        assert_eq!(
            v,
            json!({"op":"error","view":"X/list","code":"unknown_view","message":"nope"})
        );
    }
}
