//! The checked model of a stack, produced by [`crate::load_stack`] / [`crate::validate`].
//!
//! Everything here is resolved: source paths point at real IDL items, every field has a
//! concrete [`Layout`], computed fields are parsed and ordered. It serializes to JSON (generated
//! crates embed it so a server can run the stack without the spec file).

mod source;

pub use source::{KeyBinding, SourceKind, SourceRef, ValuePath};

use serde::{Deserialize, Serialize};

use crate::expr::Expr;
use crate::idl::{Idl, Layout};

/// A whole stack: its programs and entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    /// Stack name (`pump`); the generated crate is `<name>-stack`.
    pub name: String,
    /// Description from the spec, if any.
    pub description: Option<String>,
    /// The programs' interfaces, in the order the spec lists them.
    pub idls: Vec<Idl>,
    /// Entities in file order.
    pub entities: Vec<Entity>,
}

impl Stack {
    /// The entity with this name.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// The stack as pretty JSON (stable: same stack → same bytes).
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stack back from [`Stack::to_json`] output.
    pub fn from_json(json: &str) -> Result<Stack, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Every view of every entity, in order.
    pub fn views(&self) -> impl Iterator<Item = (&Entity, &View)> {
        self.entities
            .iter()
            .flat_map(|e| e.views.iter().map(move |v| (e, v)))
    }
}

/// One entity type: identity, lookup indexes, fields and views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Entity name (`Token`).
    pub name: String,
    /// Description from the spec, if any.
    pub description: Option<String>,
    /// Where an entity's primary key comes from.
    pub key: PrimaryKey,
    /// Secondary indexes that map other values to the primary key.
    pub lookups: Vec<Lookup>,
    /// Fields in file order.
    pub fields: Vec<Field>,
    /// Indexes into `fields` of the computed fields, dependencies first.
    pub computed_order: Vec<usize>,
    /// Views: `state`, `list`, `append` (when enabled), then derived views in file order.
    pub views: Vec<View>,
}

impl Entity {
    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The view with this short name (`list`, `trending`).
    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|v| v.name == name)
    }
}

/// The primary key of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// The key as written (`BondingCurve.@address`).
    pub path: String,
    /// The source that defines entities.
    pub source: SourceRef,
    /// The value of that source that is the key.
    pub value: ValuePath,
    /// The key's type (pubkey, integer or string).
    pub ty: Layout,
}

/// A lookup index: values from its sources map to the entity's primary key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// Index name, referenced by fields' `via`.
    pub name: String,
    /// Type of the indexed values.
    pub ty: Layout,
    /// Where index entries come from.
    pub sources: Vec<SourceBinding>,
}

/// A source of values for a field or lookup, with how to find the entity it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceBinding {
    /// The path as written (`buy.args.amount`).
    pub path: String,
    /// The account, instruction or event.
    pub source: SourceRef,
    /// The value taken from it.
    pub value: ValuePath,
    /// How the entity key is found.
    pub key: KeyBinding,
}

/// How a field's values combine over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    /// The first value wins; later ones are ignored.
    SetOnce,
    /// The newest value wins.
    LastWrite,
    /// Values are appended to a list of at most `cap` items (oldest dropped first).
    Append {
        /// Maximum list length.
        cap: usize,
    },
    /// Counts occurrences of the sources.
    Count,
    /// Sums the values.
    Sum,
    /// Keeps the largest value.
    Max,
    /// Keeps the smallest value.
    Min,
}

impl Strategy {
    /// The name used in spec files.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::SetOnce => "set_once",
            Strategy::LastWrite => "last_write",
            Strategy::Append { .. } => "append",
            Strategy::Count => "count",
            Strategy::Sum => "sum",
            Strategy::Max => "max",
            Strategy::Min => "min",
        }
    }
}

/// One field of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Field name, as clients see it in JSON.
    pub name: String,
    /// Description from the spec, if any.
    pub description: Option<String>,
    /// The field's value type (for `append`, the list's type).
    pub ty: Layout,
    /// Whether `null` is a meaningful value (an IDL `Option`, a computed result), so clients
    /// must tell "absent" from "null".
    pub nullable: bool,
    /// Whether the field is sent to clients (`emit = false` keeps it server-side).
    pub emit: bool,
    /// Where values come from.
    pub kind: FieldKind,
}

/// Where a field's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// Mapped from on-chain sources with a strategy.
    Mapped {
        /// How values combine.
        strategy: Strategy,
        /// Where values come from.
        sources: Vec<SourceBinding>,
    },
    /// Computed from other fields.
    Computed {
        /// The expression as written.
        source: String,
        /// The parsed expression.
        expr: Expr,
        /// Names of the fields it reads (their first path segment).
        depends_on: Vec<String>,
    },
}

/// The kinds of views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ViewKind {
    /// One entity by key (`key` in the subscription).
    State,
    /// All entities.
    List,
    /// Every mutation as an appended event.
    Append,
    /// A derived view over the entity's rows.
    Derived(DerivedView),
}

impl ViewKind {
    /// `state`, `list`, `append` or `derived`.
    pub fn mode(&self) -> &'static str {
        match self {
            ViewKind::State => "state",
            ViewKind::List => "list",
            ViewKind::Append => "append",
            ViewKind::Derived(_) => "derived",
        }
    }
}

/// Sort order of a derived view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// How a derived view sorts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortSpec {
    /// Field to sort by; ties are broken by the entity key.
    pub field: String,
    /// Direction.
    pub order: SortOrder,
}

/// A derived view: filter, then sort, then limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedView {
    /// Sort, if any (otherwise key order).
    pub sort: Option<SortSpec>,
    /// Maximum number of rows.
    pub limit: Option<usize>,
    /// Filter expression (it keeps its source text: `filter.source()`).
    pub filter: Option<Expr>,
}

impl DerivedView {
    /// A view limited to one row yields a single entity rather than a collection.
    pub fn is_single(&self) -> bool {
        self.limit == Some(1)
    }
}

/// A view clients subscribe to as `<Entity>/<name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// Short name (`list`, `trending`).
    pub name: String,
    /// Full name clients use (`Token/trending`).
    pub full_name: String,
    /// Description from the spec, if any.
    pub description: Option<String>,
    /// What the view is.
    pub kind: ViewKind,
}
