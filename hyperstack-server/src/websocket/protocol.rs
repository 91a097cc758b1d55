//! Client → server messages and the server's small control frames (`pong`, `error`).
//!
//! Parsing enforces the per-message limits (view and key length, the shape of `after` and
//! `id`); what a client sent is never echoed back at more than [`ECHO_MAX`] characters.

use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Most characters of client input (a view name, a parser message) quoted back in an `error`
/// frame or a log line; longer input is cut and ends with `…`.
pub const ECHO_MAX: usize = 64;

/// Longest `id` string a request may carry, in bytes.
pub const MAX_ID_LENGTH: usize = 64;

/// Longest `message` of an `error` frame, in characters.
const MESSAGE_MAX: usize = 240;

/// A request id chosen by the client: a short string or an unsigned integer, echoed as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestId {
    /// `"id":"a1"`.
    Text(String),
    /// `"id":7`.
    Number(u64),
}

impl RequestId {
    /// The id as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            RequestId::Text(s) => Value::String(s.clone()),
            RequestId::Number(n) => Value::from(*n),
        }
    }
}

/// A parsed client message.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `{"view":"Token/list","key":"*"}` (seed form) or with `"op":"subscribe"`; extensions:
    /// `after` (resume cursor), `skip` / `take` (list snapshot window), `id` (echoed),
    /// `delta` (append views: patches instead of full upserts for entities already sent).
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
        /// Echoed in the `subscribed` or `error` frame that answers it.
        id: Option<RequestId>,
        /// `"delta":true|false`: whether an append view may send the changes of an entity
        /// the client holds as a `patch` (`None`: not said, full upserts).
        delta: Option<bool>,
    },
    /// `{"op":"unsubscribe","view":..,"key"?:..}`.
    Unsubscribe {
        /// Full view name.
        view: String,
        /// Key of a state subscription.
        key: Option<String>,
        /// Echoed in an `error` frame that answers it.
        id: Option<RequestId>,
    },
    /// `{"op":"ping"}`.
    Ping,
}

/// Error codes of `error` frames (docs/PROTOCOL.md lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not JSON, or not a known message shape (a field of the wrong type, `after` that is not
    /// a number or numeric string, an `id` that is not a short string or a number).
    MalformedMessage,
    /// The view does not exist.
    UnknownView,
    /// The key does not fit the view (missing for a state view, given for a collection).
    BadKey,
    /// The `view` is longer than the server's limit.
    ViewTooLong,
    /// The `key` is longer than the server's limit.
    KeyTooLong,
    /// The client holds too many subscriptions.
    TooManySubscriptions,
    /// Subscribing faster than the server allows; retry after `retry_after_ms`.
    RateLimited,
    /// The server could not read the view's snapshot; the subscription was dropped and may
    /// be retried.
    SnapshotFailed,
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
            ErrorCode::ViewTooLong => "view_too_long",
            ErrorCode::KeyTooLong => "key_too_long",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::SnapshotFailed => "snapshot_failed",
            ErrorCode::Lagged => "lagged",
        }
    }
}

/// A refused request: what the `error` frame says.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The view concerned, when it was readable and within the length limit.
    pub view: Option<String>,
    /// The request's id, when it had a valid one.
    pub id: Option<RequestId>,
    /// The code.
    pub code: ErrorCode,
    /// The explanation (client input in it is already cut to [`ECHO_MAX`]).
    pub message: String,
    /// For `rate_limited`: when the next attempt may succeed.
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    /// A refusal without view or id.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            view: None,
            id: None,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// The `error` frame's JSON text.
    pub fn frame(&self) -> String {
        let mut map = Map::new();
        map.insert("op".into(), Value::from("error"));
        map.insert("code".into(), Value::from(self.code.as_str()));
        map.insert(
            "message".into(),
            Value::from(clip(&self.message, MESSAGE_MAX)),
        );
        if let Some(view) = &self.view {
            map.insert("view".into(), Value::from(view.as_str()));
        }
        if let Some(id) = &self.id {
            map.insert("id".into(), id.to_json());
        }
        if let Some(ms) = self.retry_after_ms {
            map.insert("retry_after_ms".into(), Value::from(ms));
        }
        Value::Object(map).to_string()
    }
}

/// An `error` frame: `{"op":"error","view"?,"code","message"}`.
pub fn error_frame(view: Option<&str>, code: ErrorCode, message: &str) -> String {
    Refusal {
        view: view.map(|v| clip(v, ECHO_MAX)),
        ..Refusal::new(code, message)
    }
    .frame()
}

/// The `pong` frame.
pub fn pong_frame() -> &'static str {
    r#"{"op":"pong"}"#
}

/// `s` cut to at most `max` characters (at a character boundary), with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Longest `view`, in bytes.
    pub max_view_length: usize,
    /// Longest `key`, in bytes.
    pub max_key_length: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_view_length: 128,
            max_key_length: 256,
        }
    }
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
    id: Option<Value>,
    delta: Option<Value>,
}

/// Parses a text message. Errors are the `error` frame to answer with.
pub fn parse(text: &str, limits: &ParseLimits) -> Result<ClientMessage, Box<Refusal>> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        Box::new(Refusal::new(
            ErrorCode::MalformedMessage,
            format!("cannot parse message: {}", clip(&e.to_string(), ECHO_MAX)),
        ))
    })?;
    let id = match raw.id {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) => Some(RequestId::Number(n)),
            None => {
                return Err(malformed(
                    None,
                    None,
                    "`id` must be a non-negative integer or a short string",
                ))
            }
        },
        Some(Value::String(s)) if s.len() <= MAX_ID_LENGTH => Some(RequestId::Text(s)),
        Some(_) => {
            return Err(malformed(
                None,
                None,
                &format!(
                "`id` must be a non-negative integer or a string of at most {MAX_ID_LENGTH} bytes"
            ),
            ))
        }
    };
    let view = match raw.view {
        Some(v) if v.len() > limits.max_view_length => {
            return Err(Box::new(Refusal {
                id,
                ..Refusal::new(
                    ErrorCode::ViewTooLong,
                    format!("`view` is longer than {} bytes", limits.max_view_length),
                )
            }))
        }
        v => v,
    };
    if raw
        .key
        .as_ref()
        .is_some_and(|k| k.len() > limits.max_key_length)
    {
        return Err(Box::new(Refusal {
            view,
            id,
            ..Refusal::new(
                ErrorCode::KeyTooLong,
                format!("`key` is longer than {} bytes", limits.max_key_length),
            )
        }));
    }
    match raw.op.as_deref() {
        Some("ping") => Ok(ClientMessage::Ping),
        Some("unsubscribe") => match view {
            Some(view) => Ok(ClientMessage::Unsubscribe {
                view,
                key: raw.key,
                id,
            }),
            None => Err(malformed(None, id, "`unsubscribe` needs `view`")),
        },
        None | Some("subscribe") => {
            let Some(view) = view else {
                return Err(malformed(None, id, "a subscription needs `view`"));
            };
            let after = match raw.after {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(n) => Some(n),
                    None => {
                        return Err(malformed(
                            Some(view),
                            id,
                            "`after` must be a non-negative integer",
                        ))
                    }
                },
                Some(Value::String(s)) => match s.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        return Err(malformed(
                            Some(view),
                            id,
                            "`after` must be a sequence number",
                        ))
                    }
                },
                Some(_) => {
                    return Err(malformed(
                        Some(view),
                        id,
                        "`after` must be a sequence number",
                    ))
                }
            };
            let delta = match raw.delta {
                None | Some(Value::Null) => None,
                Some(Value::Bool(on)) => Some(on),
                Some(_) => return Err(malformed(Some(view), id, "`delta` must be true or false")),
            };
            Ok(ClientMessage::Subscribe {
                view,
                key: raw.key,
                after,
                skip: raw.skip.unwrap_or(0),
                take: raw.take,
                epoch: raw.epoch,
                id,
                delta,
            })
        }
        Some(other) => Err(malformed(
            view,
            id,
            &format!("unknown op `{}`", clip(other, ECHO_MAX)),
        )),
    }
}

fn malformed(view: Option<String>, id: Option<RequestId>, message: &str) -> Box<Refusal> {
    Box::new(Refusal {
        view,
        id,
        ..Refusal::new(ErrorCode::MalformedMessage, message)
    })
}

/// The `limits` object announced in `subscribed` frames.
pub fn limits_json(max_subscriptions: usize, max_message_size: usize) -> Value {
    json!({
        "max_subscriptions": max_subscriptions,
        "max_message_size": max_message_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<ClientMessage, Box<Refusal>> {
        parse(text, &ParseLimits::default())
    }

    #[test]
    fn parses_seed_and_extended_messages() {
        assert_eq!(
            p(r#"{"view":"Token/list","key":"*"}"#).unwrap(),
            ClientMessage::Subscribe {
                view: "Token/list".into(),
                key: Some("*".into()),
                after: None,
                skip: 0,
                take: None,
                epoch: None,
                id: None,
                delta: None,
            }
        );
        assert_eq!(
            p(r#"{"op":"subscribe","view":"Token/list","after":"42","skip":5,"take":10,"id":7,"delta":true}"#)
                .unwrap(),
            ClientMessage::Subscribe {
                view: "Token/list".into(),
                key: None,
                after: Some(42),
                skip: 5,
                take: Some(10),
                epoch: None,
                id: Some(RequestId::Number(7)),
                delta: Some(true),
            }
        );
        assert_eq!(p(r#"{"op":"ping"}"#).unwrap(), ClientMessage::Ping);
        assert_eq!(
            p(r#"{"op":"unsubscribe","view":"Token/state","key":"k","id":"u1"}"#).unwrap(),
            ClientMessage::Unsubscribe {
                view: "Token/state".into(),
                key: Some("k".into()),
                id: Some(RequestId::Text("u1".into())),
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
            (r#"{"view":"x","after":[1]}"#, "`after`"),
            (r#"{"view":"x","after":{"a":1}}"#, "`after`"),
            (r#"{"view":7}"#, "cannot parse"),
            (r#"{"view":"x","id":-3}"#, "`id`"),
            (r#"{"view":"x","id":[1]}"#, "`id`"),
            (r#"{"view":"x","delta":1}"#, "`delta`"),
            (r#"{"view":"x","delta":"yes"}"#, "`delta`"),
        ] {
            let r = p(text).unwrap_err();
            assert_eq!(r.code, ErrorCode::MalformedMessage);
            assert!(r.message.contains(needle), "{text}: {}", r.message);
        }
        let long_id = format!(r#"{{"view":"x","id":"{}"}}"#, "i".repeat(MAX_ID_LENGTH + 1));
        assert_eq!(p(&long_id).unwrap_err().code, ErrorCode::MalformedMessage);
    }

    #[test]
    fn long_views_and_keys_are_refused_without_echo() {
        let limits = ParseLimits {
            max_view_length: 16,
            max_key_length: 8,
        };
        let long_view = format!(r#"{{"view":"{}","id":1}}"#, "v".repeat(17));
        let r = parse(&long_view, &limits).unwrap_err();
        assert_eq!((r.code, r.view.as_deref()), (ErrorCode::ViewTooLong, None));
        assert_eq!(r.id, Some(RequestId::Number(1)));
        let long_key = format!(r#"{{"view":"Token/state","key":"{}"}}"#, "k".repeat(9));
        let r = parse(&long_key, &limits).unwrap_err();
        assert_eq!(r.code, ErrorCode::KeyTooLong);
        assert_eq!(r.view.as_deref(), Some("Token/state"));
        assert!(!r.frame().contains("kkkkkkkkk"), "{}", r.frame());
    }

    #[test]
    fn bad_input_is_never_echoed_at_length() {
        // A wrong-typed field: serde's message quotes the value; it is cut.
        let big = "x".repeat(10_000);
        let text = format!(r#"{{"view":"T/list","skip":"{big}"}}"#);
        let r = p(&text).unwrap_err();
        assert!(r.message.contains("invalid type"), "{}", r.message);
        assert!(r.frame().len() < 400, "{}", r.frame());
        let text = format!(r#"{{"op":"{big}","view":"T/list"}}"#);
        let frame = p(&text).unwrap_err().frame();
        assert!(frame.len() < 400 && frame.contains('…'), "{frame}");
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hé", 2), "hé");
    }

    #[test]
    fn error_frames_carry_code_view_and_id() {
        let v: Value =
            serde_json::from_str(&error_frame(Some("X/list"), ErrorCode::UnknownView, "nope"))
                .unwrap();
        assert_eq!(
            v,
            json!({"op":"error","view":"X/list","code":"unknown_view","message":"nope"})
        );
        let r = Refusal {
            id: Some(RequestId::Text("a".into())),
            retry_after_ms: Some(50),
            ..Refusal::new(ErrorCode::RateLimited, "slow down")
        };
        let v: Value = serde_json::from_str(&r.frame()).unwrap();
        assert_eq!(
            v,
            json!({"op":"error","code":"rate_limited","message":"slow down","id":"a","retry_after_ms":50})
        );
    }
}
