//! Stream operators with plain (non-async) closures: `filter`, `filter_map`, `map`.
//!
//! Every stream of this crate, and every operator's output, has the three as inherent
//! methods, so they chain (`watch().filter(..).map(..).filter_map(..)`) and take precedence
//! over the async-closure methods of the same names in [`futures_util::StreamExt`] (whose
//! `next()` and other methods stay available).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

/// Yields the items for which the predicate holds. See [`EntityStream::filter`](crate::EntityStream::filter).
pub struct Filter<S, F> {
    inner: S,
    f: F,
}

/// Yields `f(item)` where it is `Some`. See [`EntityStream::filter_map`](crate::EntityStream::filter_map).
pub struct FilterMap<S, F> {
    inner: S,
    f: F,
}

/// Yields `f(item)`. See [`EntityStream::map`](crate::EntityStream::map).
pub struct Map<S, F> {
    inner: S,
    f: F,
}

// The closures are never pinned: the wrappers are Unpin whenever the inner stream is.
impl<S: Unpin, F> Unpin for Filter<S, F> {}
impl<S: Unpin, F> Unpin for FilterMap<S, F> {}
impl<S: Unpin, F> Unpin for Map<S, F> {}

impl<S, F> Stream for Filter<S, F>
where
    S: Stream + Unpin,
    F: FnMut(&S::Item) -> bool,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if (this.f)(&item) {
                        return Poll::Ready(Some(item));
                    }
                }
                other => return other,
            }
        }
    }
}

impl<S, F, U> Stream for FilterMap<S, F>
where
    S: Stream + Unpin,
    F: FnMut(S::Item) -> Option<U>,
{
    type Item = U;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<U>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if let Some(out) = (this.f)(item) {
                        return Poll::Ready(Some(out));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S, F, U> Stream for Map<S, F>
where
    S: Stream + Unpin,
    F: FnMut(S::Item) -> U,
{
    type Item = U;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<U>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some((this.f)(item))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Adds `filter`, `filter_map` and `map` as inherent methods of a stream type.
macro_rules! impl_operators {
    ([$($gen:ident),*] $ty:ty) => {
        impl<$($gen),*> $ty
        where
            $ty: ::futures_util::Stream + Unpin,
        {
            /// Keeps the items for which `f` returns true.
            pub fn filter<Pred>(self, f: Pred) -> $crate::stream::ops::Filter<Self, Pred>
            where
                Pred: FnMut(&<Self as ::futures_util::Stream>::Item) -> bool,
            {
                $crate::stream::ops::Filter::new(self, f)
            }

            /// Maps each item with `f`, dropping those mapped to `None`.
            pub fn filter_map<Out, Fun>(self, f: Fun) -> $crate::stream::ops::FilterMap<Self, Fun>
            where
                Fun: FnMut(<Self as ::futures_util::Stream>::Item) -> Option<Out>,
            {
                $crate::stream::ops::FilterMap::new(self, f)
            }

            /// Maps each item with `f`.
            pub fn map<Out, Fun>(self, f: Fun) -> $crate::stream::ops::Map<Self, Fun>
            where
                Fun: FnMut(<Self as ::futures_util::Stream>::Item) -> Out,
            {
                $crate::stream::ops::Map::new(self, f)
            }
        }
    };
}
pub(crate) use impl_operators;

impl<S, F> Filter<S, F> {
    pub(crate) fn new(inner: S, f: F) -> Self {
        Filter { inner, f }
    }
}

impl<S, F> FilterMap<S, F> {
    pub(crate) fn new(inner: S, f: F) -> Self {
        FilterMap { inner, f }
    }
}

impl<S, F> Map<S, F> {
    pub(crate) fn new(inner: S, f: F) -> Self {
        Map { inner, f }
    }
}

impl_operators!([S, F] Filter<S, F>);
impl_operators!([S, F] FilterMap<S, F>);
impl_operators!([S, F] Map<S, F>);
