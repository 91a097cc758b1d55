//! Typed handles of views, as returned by generated `<Entity>Views` accessors.

use std::marker::PhantomData;

use crate::client::{target, HyperStack};
use crate::entity::Entity;
use crate::error::HyperStackError;
use crate::stream::{EntityStream, RichEntityStream};

/// What view handles are built from. Generated accessors hold one.
///
/// [`HyperStack::views`] builds accessors over a context bound to the connection, whose
/// handles read (`get`) and watch (`watch`) their views. A [`ViewContext::detached`] one only
/// names views and their shapes; its handles' `get` / `watch` return
/// [`HyperStackError::Detached`].
#[derive(Debug, Clone, Default)]
pub struct ViewContext {
    conn: Option<HyperStack>,
}

impl ViewContext {
    /// A context not bound to any connection.
    pub fn detached() -> ViewContext {
        ViewContext { conn: None }
    }

    /// A context bound to a connection (what [`HyperStack::views`] uses).
    pub fn bound(conn: HyperStack) -> ViewContext {
        ViewContext { conn: Some(conn) }
    }

    /// The connection, if bound.
    pub fn connection(&self) -> Option<&HyperStack> {
        self.conn.as_ref()
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
            conn: Option<HyperStack>,
            _entity: PhantomData<fn() -> E>,
        }

        impl<E: Entity> $name<E> {
            fn new(name: &'static str, conn: Option<HyperStack>) -> Self {
                Self { name, conn, _entity: PhantomData }
            }

            /// The view's full name (`Token/list`), as sent in subscriptions.
            pub fn name(&self) -> &'static str {
                self.name
            }

            fn conn(&self) -> Result<&HyperStack, HyperStackError> {
                self.conn
                    .as_ref()
                    .ok_or_else(|| HyperStackError::Detached(self.name.to_string()))
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

impl<E: Entity> StateView<E> {
    /// The entity `key`, once its snapshot arrived (`None` when it does not exist).
    pub async fn get(&self, key: &str) -> Result<Option<E::Data>, HyperStackError> {
        self.conn()?
            .get_view(self.name.to_string(), Some(key.to_string()))
            .await
    }

    /// Every change of the entity `key`.
    pub fn watch(&self, key: &str) -> Result<EntityStream<E::Data>, HyperStackError> {
        let t = target(self.name.to_string(), Some(key));
        Ok(EntityStream::new(self.conn()?.changes(vec![t], false)))
    }

    /// Every change of the entity `key`, with before/after and the patch.
    pub fn watch_rich(&self, key: &str) -> Result<RichEntityStream<E::Data>, HyperStackError> {
        let t = target(self.name.to_string(), Some(key));
        Ok(RichEntityStream::new(self.conn()?.changes(vec![t], true)))
    }
}

impl<E: Entity> ListView<E> {
    /// Every entity of the view once its snapshot is complete, in view order (the sort of a
    /// sorted derived view, else key order).
    pub async fn get(&self) -> Result<Vec<E::Data>, HyperStackError> {
        self.conn()?.list_view(self.name.to_string()).await
    }

    /// Every change of the view (entities entering it as upserts, leaving it as deletes).
    pub fn watch(&self) -> Result<EntityStream<E::Data>, HyperStackError> {
        let t = target(self.name.to_string(), None);
        Ok(EntityStream::new(self.conn()?.changes(vec![t], false)))
    }

    /// Every change of the view, with before/after and the patch.
    pub fn watch_rich(&self) -> Result<RichEntityStream<E::Data>, HyperStackError> {
        let t = target(self.name.to_string(), None);
        Ok(RichEntityStream::new(self.conn()?.changes(vec![t], true)))
    }
}

impl<E: Entity> SingleView<E> {
    /// The view's entity, if it holds one.
    pub async fn get(&self) -> Result<Option<E::Data>, HyperStackError> {
        self.conn()?.get_view(self.name.to_string(), None).await
    }

    /// Every change of the view.
    pub fn watch(&self) -> Result<EntityStream<E::Data>, HyperStackError> {
        let t = target(self.name.to_string(), None);
        Ok(EntityStream::new(self.conn()?.changes(vec![t], false)))
    }
}
