//! Replies to a client's requests, in the order of the requests.
//!
//! A subscription's reply (`subscribed`, its snapshot or resume frames, and the live frames
//! held meanwhile) starts once the engine answered; a snapshot's batches join it as a
//! blocking worker encodes them, and the reply is whole with the `complete` batch. An `error`
//! frame is ready at once. Each client's replies wait in a queue and leave it from the front
//! only: the front reply sends what it has so far and holds back the replies behind it until
//! it is whole. So a client sees the answers to its requests in the order it sent them — an
//! `error` never overtakes the `subscribed` of an earlier request, and a small snapshot never
//! overtakes (or interleaves with) a large one requested before it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::ClientHandle;
use crate::project::{EncodedFrame, ViewId};
use crate::websocket::protocol::RequestId;

/// One reply in a client's queue.
pub(super) enum Pending {
    /// The reply to a subscribe: started once the engine answered, whole once its snapshot
    /// is encoded.
    Start {
        view: ViewId,
        key: Option<Arc<str>>,
        /// The bus's id of the subscription (a re-subscribe gets a new one: an entry whose id
        /// no longer matches was replaced or removed, and its reply is skipped).
        sub: u64,
        id: Option<RequestId>,
        /// Whether the request asked for deltas (`None`: it did not say), and whether they
        /// are on: echoed as `delta` in `subscribed`.
        delta: Option<bool>,
        /// `None` until the engine answered.
        reply: Option<Reply>,
    },
    /// A frame ready to go (an `error` frame).
    Frame(Arc<EncodedFrame>),
}

/// The frames of a subscribe reply known so far.
#[derive(Default)]
pub(super) struct Reply {
    /// Not sent yet, in order: `subscribed` first, then the snapshot (or resume) frames.
    pub frames: Vec<Arc<EncodedFrame>>,
    /// Whether every frame of the reply is in (a snapshot still being encoded: not yet).
    pub done: bool,
}

/// One client's queue.
pub(super) struct Queue {
    pub client: ClientHandle,
    pub items: VecDeque<Pending>,
}

/// Every client's queue (only clients with replies outstanding have one).
#[derive(Default)]
pub(super) struct Control {
    queues: HashMap<u64, Queue>,
}

impl Control {
    /// Appends a reply to `client`'s queue.
    pub fn push(&mut self, client: &ClientHandle, item: Pending) {
        self.queues
            .entry(client.id)
            .or_insert_with(|| Queue {
                client: client.clone(),
                items: VecDeque::new(),
            })
            .items
            .push_back(item);
    }

    pub fn queue_mut(&mut self, client: u64) -> Option<&mut Queue> {
        self.queues.get_mut(&client)
    }

    pub fn remove(&mut self, client: u64) {
        self.queues.remove(&client);
    }

    /// The subscribe reply `sub` of `client`, if it is still waiting.
    pub fn start_mut(&mut self, client: u64, sub: u64) -> Option<&mut Pending> {
        self.queues
            .get_mut(&client)?
            .items
            .iter_mut()
            .find(|p| matches!(p, Pending::Start { sub: s, .. } if *s == sub))
    }
}

/// The `subscribed` frame as this request gets it: with its `id` echoed, the server's
/// `limits` announced, and — when the request said `delta` — whether deltas are on (all
/// additive fields).
pub(super) fn subscribed_reply(
    subscribed: &EncodedFrame,
    id: Option<&RequestId>,
    limits: &Map<String, Value>,
    delta: Option<bool>,
) -> Arc<EncodedFrame> {
    let mut value = match subscribed.json() {
        Ok(Value::Object(map)) => map,
        // Cannot happen for frames the projector encoded; sent as it is should it ever.
        _ => return Arc::new(subscribed.clone()),
    };
    if let Some(id) = id {
        value.insert("id".into(), id.to_json());
    }
    value.insert("limits".into(), Value::Object(limits.clone()));
    if let Some(on) = delta {
        value.insert("delta".into(), Value::Bool(on));
    }
    Arc::new(EncodedFrame::encode(&Value::Object(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscribed_reply_adds_id_and_limits() {
        let base = EncodedFrame::encode(&json!({"op":"subscribed","view":"T/list"}));
        let limits = match json!({"max_subscriptions": 64}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let reply = subscribed_reply(&base, Some(&RequestId::Text("a".into())), &limits, None);
        assert_eq!(
            reply.json().unwrap(),
            json!({"op":"subscribed","view":"T/list","id":"a","limits":{"max_subscriptions":64}})
        );
        let reply = subscribed_reply(&base, None, &limits, Some(true));
        let reply = reply.json().unwrap();
        assert!(reply.get("id").is_none());
        assert_eq!(reply["delta"], json!(true));
    }
}
