//! The checked model of a stack, produced by [`crate::load_stack`] / [`crate::validate`].
//!
//! Everything here is resolved: source paths point at real IDL items, every field has a
//! concrete [`Layout`], computed fields are parsed and ordered. It serializes to JSON (generated
//! crates embed it so a server can run the stack without the spec file).

mod resolver;
mod source;
mod transform;

pub use resolver::{Resolver, TOKEN_METADATA_TYPE};
pub use source::{KeyBinding, SourceKind, SourceRef, ValuePath};
pub(crate) use transform::is_number;
pub use transform::{FieldTransform, Transform};

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
    /// Fields in file order (a section's fields where the section is written, depth first).
    pub fields: Vec<Field>,
    /// Sections (nested objects of fields), outer ones first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    /// Indexes into `fields` of the computed and resolved fields (the fields evaluated from
    /// other fields), dependencies first.
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

/// A section of an entity: a nested object of fields, generated as a nested struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Dotted path of the section (`state`, `results.rng`).
    pub path: String,
    /// Name of the generated struct (`OreRoundState`), unique in the stack.
    pub type_name: String,
}

/// The primary key of an entity: one or several sources carrying it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// The sources that define entities (`Miner.authority`, `Automation.authority`), in the
    /// order written.
    pub sources: Vec<KeySource>,
    /// The key's type (pubkey, integer or string), the same for every source.
    pub ty: Layout,
}

impl PrimaryKey {
    /// The key as written, several sources joined with ` or `.
    pub fn path(&self) -> String {
        let paths: Vec<&str> = self.sources.iter().map(|s| s.path.as_str()).collect();
        paths.join(" or ")
    }

    /// The key source of this account type, instruction or event, if it is one.
    pub fn source_for(&self, source: &SourceRef) -> Option<&KeySource> {
        self.sources.iter().find(|k| k.source == *source)
    }
}

/// One source of the primary key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeySource {
    /// The path as written (`BondingCurve.@address`).
    pub path: String,
    /// The account type, instruction or event.
    pub source: SourceRef,
    /// The value of that source that is the key.
    pub value: ValuePath,
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
    /// Counts distinct values.
    UniqueCount,
    /// Merges struct values field by field into one object.
    Merge,
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
            Strategy::UniqueCount => "unique_count",
            Strategy::Merge => "merge",
        }
    }
}

/// One field of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Field name, as clients see it in JSON; a field in a section is named by its dotted
    /// path (`state.motherlode`: the `motherlode` key of the `state` object).
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

impl Field {
    /// The path segments of the name (`["state", "motherlode"]`).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.name.split('.')
    }
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
        /// Converts each value before the strategy applies.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transform: Option<Transform>,
        /// Account sources: a write counts only when one of these instructions named the
        /// account in the same transaction (same slot when its transaction is unknown).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        when: Vec<SourceRef>,
        /// A value counts only when this expression over it (`value`) is true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        condition: Option<Expr>,
        /// The field stops changing once this instruction or event touched the entity
        /// (`value` of the binding is unused; `key` finds the entity).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop: Option<SourceBinding>,
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
    /// Filled from outside the chain by a resolver, keyed by a value of the entity: the field
    /// holds the resolver's value for the entity's current `input` (absent until resolved).
    Resolved {
        /// Which resolver.
        resolver: Resolver,
        /// The input as written (an expression over the entity's fields).
        source: String,
        /// The parsed input expression.
        input: Expr,
        /// Names of the fields it reads.
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
