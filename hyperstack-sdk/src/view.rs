//! Typed handles of views, as returned by generated `<Entity>Views` accessors, and the
//! [`Views`] trait those accessors implement.

use std::marker::PhantomData;

use crate::connection::{ConnectionHandle, Target};
use crate::entity::Entity;
use crate::error::HyperStackError;
use crate::stream::{ChangeStream, EntityStream, RichEntityStream};

/// A typed accessor of one entity's views, implemented by the generated `<Entity>Views`.
pub trait Views: Sized {
    /// The entity whose views these are.
    type Entity: Entity;

    /// Builds the accessor over a context (a connection, once the client binds one).
    fn from_context(ctx: ViewContext) -> Self;
}

/// What view handles are built from. Generated accessors hold one.
///
/// [`crate::HyperStack::views`] builds accessors over a context bound to the connection,
/// whose handles read (`get`) and watch (`watch`) their views. A [`ViewContext::detached`]
/// one only names views and their shapes: its handles' `try_get` / `try_watch` return
/// [`HyperStackError::Detached`], `get` returns nothing and `watch` a stream that ends at once.
#[derive(Clone, Default)]
pub struct ViewContext {
    conn: Option<ConnectionHandle>,
}

impl std::fmt::Debug for ViewContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewContext")
            .field("bound", &self.is_bound())
            .finish()
    }
}

impl ViewContext {
    /// A context not bound to any connection.
    pub fn detached() -> ViewContext {
        ViewContext { conn: None }
    }

    /// A context bound to a connection (what [`crate::HyperStack::views`] uses).
    pub(crate) fn bound(conn: ConnectionHandle) -> ViewContext {
        ViewContext { conn: Some(conn) }
    }

    /// Whether the context is bound to a connection.
    pub fn is_bound(&self) -> bool {
        self.conn.is_some()
    }

    /// A handle of a `state` view (one entity by key).
    pub fn state_view<E: Entity>(&self, name: &'static str) -> StateView<E> {
        StateView::new(name, self.conn.clone())
    }

    /// A handle of a view that holds many entities (`list`, derived collections).
    pub fn list_view<E: Entity>(&self, name: &'static str) -> ListView<E> {
        ListView::new(name, self.conn.clone())
    }

    /// A handle of a derived view that holds at most one entity (`limit = 1`).
    pub fn single_view<E: Entity>(&self, name: &'static str) -> SingleView<E> {
        SingleView::new(name, self.conn.clone())
    }
}

macro_rules! view_handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<E: Entity> {
            name: &'static str,
            conn: Option<ConnectionHandle>,
            _entity: PhantomData<fn() -> E>,
        }

        impl<E: Entity> $name<E> {
            fn new(name: &'static str, conn: Option<ConnectionHandle>) -> Self {
                Self { name, conn, _entity: PhantomData }
            }

            /// The view's full name (`Token/list`), as sent in subscriptions.
            pub fn name(&self) -> &'static str {
                self.name
            }

            fn conn(&self) -> Result<&ConnectionHandle, HyperStackError> {
                self.conn
                    .as_ref()
                    .ok_or_else(|| HyperStackError::Detached(self.name.to_string()))
            }

            fn changes(&self, key: Option<&str>, rich: bool) -> ChangeStream {
                match &self.conn {
                    Some(conn) => ChangeStream::new(conn.clone(), vec![self.target(key)], rich),
                    None => ChangeStream::detached(self.name),
                }
            }

            fn target(&self, key: Option<&str>) -> Target {
                Target { view: self.name.to_string(), key: key.map(str::to_string) }
            }
        }

        impl<E: Entity> Clone for $name<E> {
            fn clone(&self) -> Self {
                Self { name: self.name, conn: self.conn.clone(), _entity: PhantomData }
            }
        }

        impl<E: Entity> std::fmt::Debug for $name<E> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("name", &self.name)
                    .field("bound", &self.conn.is_some())
                    .finish()
            }
        }
    };
}

view_handle!(
    /// A `state` view: one entity, addressed by key.
    StateView
);
view_handle!(
    /// A view of many entities: `list`, or a derived (sorted / filtered / limited) view.
    ListView
);
view_handle!(
    /// A derived view holding at most one entity (`limit = 1`).
    SingleView
);

/// Logs a failed read of a view handle (the infallible forms return nothing instead).
fn logged<T>(view: &str, result: Result<T, HyperStackError>, empty: T) -> T {
    result.unwrap_or_else(|e| {
        tracing::warn!(%view, error = %e, "view read failed");
        empty
    })
}

impl<E: Entity> StateView<E> {
    /// The entity `key` once its view is loaded; `None` when it does not exist or the read
    /// failed (logged; [`StateView::try_get`] says why).
    pub async fn get(&self, key: &str) -> Option<E::Data> {
        logged(self.name, self.try_get(key).await, None)
    }

    /// [`StateView::get`] with the reason of a failure.
    pub async fn try_get(&self, key: &str) -> Result<Option<E::Data>, HyperStackError> {
        self.conn()?
            .get_view(self.name.to_string(), Some(key.to_string()))
            .await
    }

    /// Every change of the entity `key` (lazy: subscribes on first poll).
    pub fn watch(&self, key: &str) -> EntityStream<E::Data> {
        EntityStream::new(self.changes(Some(key), false))
    }

    /// [`StateView::watch`], failing at once on a detached handle.
    pub fn try_watch(&self, key: &str) -> Result<EntityStream<E::Data>, HyperStackError> {
        self.conn()?;
        Ok(self.watch(key))
    }

    /// Every change of the entity `key`, with before/after and the patch.
    pub fn watch_rich(&self, key: &str) -> RichEntityStream<E::Data> {
        RichEntityStream::new(self.changes(Some(key), true))
    }
}

impl<E: Entity> ListView<E> {
    /// Every entity of the view once it is loaded, in view order (the sort of a sorted derived
    /// view, else key order); empty when the read failed (logged; [`ListView::try_get`] says
    /// why).
    pub async fn get(&self) -> Vec<E::Data> {
        logged(self.name, self.try_get().await, Vec::new())
    }

    /// [`ListView::get`] with the reason of a failure.
    pub async fn try_get(&self) -> Result<Vec<E::Data>, HyperStackError> {
        self.conn()?.list_view(self.name.to_string()).await
    }

    /// Every change of the view (entities entering it as upserts, leaving it as deletes).
    pub fn watch(&self) -> EntityStream<E::Data> {
        EntityStream::new(self.changes(None, false))
    }

    /// [`ListView::watch`], failing at once on a detached handle.
    pub fn try_watch(&self) -> Result<EntityStream<E::Data>, HyperStackError> {
        self.conn()?;
        Ok(self.watch())
    }

    /// Every change of the view, with before/after and the patch.
    pub fn watch_rich(&self) -> RichEntityStream<E::Data> {
        RichEntityStream::new(self.changes(None, true))
    }
}

impl<E: Entity> SingleView<E> {
    /// The view's entity, if it holds one (`None` too when the read failed: logged;
    /// [`SingleView::try_get`] says why).
    pub async fn get(&self) -> Option<E::Data> {
        logged(self.name, self.try_get().await, None)
    }

    /// [`SingleView::get`] with the reason of a failure.
    pub async fn try_get(&self) -> Result<Option<E::Data>, HyperStackError> {
        self.conn()?.get_view(self.name.to_string(), None).await
    }

    /// Every change of the view.
    pub fn watch(&self) -> EntityStream<E::Data> {
        EntityStream::new(self.changes(None, false))
    }

    /// [`SingleView::watch`], failing at once on a detached handle.
    pub fn try_watch(&self) -> Result<EntityStream<E::Data>, HyperStackError> {
        self.conn()?;
        Ok(self.watch())
    }

    /// Every change of the view, with before/after and the patch.
    pub fn watch_rich(&self) -> RichEntityStream<E::Data> {
        RichEntityStream::new(self.changes(None, true))
    }
}
