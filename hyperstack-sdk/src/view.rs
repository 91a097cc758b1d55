//! Typed handles of views, as returned by generated `<Entity>Views` accessors.

use std::marker::PhantomData;

use crate::entity::Entity;

/// What view handles are built from. Generated accessors hold one.
///
/// A detached context (the only kind in this release) yields handles that name their view and
/// its shape; the client binds contexts to a connection to read and watch the views.
#[derive(Debug, Clone, Default)]
pub struct ViewContext {
    _private: (),
}

impl ViewContext {
    /// A context not bound to any connection.
    pub fn detached() -> ViewContext {
        ViewContext { _private: () }
    }

    /// A handle of a `state` view (one entity by key).
    pub fn state_view<E: Entity>(&self, name: &'static str) -> StateView<E> {
        StateView {
            name,
            _entity: PhantomData,
        }
    }

    /// A handle of a view that holds many entities (`list`, derived collections).
    pub fn list_view<E: Entity>(&self, name: &'static str) -> ListView<E> {
        ListView {
            name,
            _entity: PhantomData,
        }
    }

    /// A handle of a derived view that holds at most one entity (`limit = 1`).
    pub fn single_view<E: Entity>(&self, name: &'static str) -> SingleView<E> {
        SingleView {
            name,
            _entity: PhantomData,
        }
    }
}

macro_rules! view_handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<E: Entity> {
            name: &'static str,
            _entity: PhantomData<fn() -> E>,
        }

        impl<E: Entity> $name<E> {
            /// The view's full name (`Token/list`), as sent in subscriptions.
            pub fn name(&self) -> &'static str {
                self.name
            }
        }

        impl<E: Entity> Clone for $name<E> {
            fn clone(&self) -> Self {
                Self { name: self.name, _entity: PhantomData }
            }
        }

        impl<E: Entity> std::fmt::Debug for $name<E> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("name", &self.name).finish()
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
