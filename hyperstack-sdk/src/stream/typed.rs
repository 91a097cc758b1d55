//! Typed streams: JSON changes converted into the entity's data type.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::de::DeserializeOwned;

use super::ChangeStream;
use crate::decode::entity as decode;
use crate::store::Change;
use crate::update::{RichUpdate, Update};

/// A stream of [`Update`]s of one view (or several keys of a state view).
///
/// Returned by `HyperStack::watch*` and the views' `watch()`. Lazy: it subscribes on first
/// poll, first yields every entity already held as [`Update::Upsert`], then every change.
/// Dropping the last stream of a view unsubscribes it. Ends when the connection closes for
/// good. Changes are queued for each stream without bound (none is ever dropped), so a stream
/// that is kept but not polled holds memory. Operators: [`EntityStream::filter`], [`EntityStream::filter_map`],
/// [`EntityStream::map`].
pub struct EntityStream<T> {
    inner: ChangeStream,
    _data: PhantomData<fn() -> T>,
}

impl<T> EntityStream<T> {
    pub(crate) fn new(inner: ChangeStream) -> EntityStream<T> {
        EntityStream {
            inner,
            _data: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Stream for EntityStream<T> {
    type Item = Update<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Update<T>>> {
        loop {
            let change = match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(c)) => c,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            let update = match change {
                Change::Upsert { key, data, .. } => {
                    decode(&key, &data).map(|data| Update::Upsert { key, data })
                }
                Change::Patch { key, after, .. } => {
                    decode(&key, &after).map(|data| Update::Patch { key, data })
                }
                Change::Delete { key, .. } => Some(Update::Delete { key }),
            };
            if let Some(u) = update {
                return Poll::Ready(Some(u));
            }
        }
    }
}

/// A stream of [`RichUpdate`]s: each change with the entity before and after, and the patch.
///
/// Same life cycle as [`EntityStream`]; entities already held are yielded as
/// [`RichUpdate::Created`].
pub struct RichEntityStream<T> {
    inner: ChangeStream,
    _data: PhantomData<fn() -> T>,
}

impl<T> RichEntityStream<T> {
    pub(crate) fn new(inner: ChangeStream) -> RichEntityStream<T> {
        RichEntityStream {
            inner,
            _data: PhantomData,
        }
    }
}

fn rich<T: DeserializeOwned>(change: Change) -> Option<RichUpdate<T>> {
    Some(match change {
        Change::Upsert {
            key,
            data,
            before: None,
        } => RichUpdate::Created {
            data: decode(&key, &data)?,
            key,
        },
        Change::Upsert {
            key,
            data,
            before: Some(before),
        } => RichUpdate::Updated {
            before: decode(&key, &before)?,
            after: decode(&key, &data)?,
            patch: None,
            key,
        },
        Change::Patch {
            key,
            before: Some(before),
            after,
            patch,
        } => RichUpdate::Updated {
            before: decode(&key, &before)?,
            after: decode(&key, &after)?,
            patch: Some((*patch).clone()),
            key,
        },
        Change::Patch {
            key,
            before: None,
            after,
            ..
        } => RichUpdate::Created {
            data: decode(&key, &after)?,
            key,
        },
        Change::Delete { key, last_known } => RichUpdate::Deleted {
            last_known: last_known.and_then(|v| decode(&key, &v)),
            key,
        },
    })
}

impl<T: DeserializeOwned> Stream for RichEntityStream<T> {
    type Item = RichUpdate<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RichUpdate<T>>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(c)) => {
                    if let Some(u) = rich(c) {
                        return Poll::Ready(Some(u));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

crate::stream::ops::impl_operators!([T] EntityStream<T>);
crate::stream::ops::impl_operators!([T] RichEntityStream<T>);
