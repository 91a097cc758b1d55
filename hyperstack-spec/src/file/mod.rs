//! The stack spec file as written: a serde model of the TOML (or JSON) text, with source spans.
//!
//! This is the *unchecked* shape; [`crate::validate`] turns it into a [`crate::Stack`].
//! See the crate's `docs/STACK_SPEC.md` for the user-facing reference of every key.

mod entry;
mod parse;

pub use entry::{FieldEntry, FIELD_KEYS};
pub use parse::{parse_spec_text, LineIndex, SpecFormat};

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

/// A stack spec file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "hyperstack stack spec")]
pub struct StackFile {
    /// Stack name: lower-case letters, digits, `-` and `_`; names the generated crate
    /// (`<name>-stack`).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Anchor / steel IDL JSON files, relative to the spec file. `${NAME}` is replaced by the
    /// environment variable `NAME` (a relative value is taken from the current directory),
    /// e.g. `"${HYPERSTACK_FIXTURES}/idl/ore.json"`.
    #[schemars(with = "OneOrMany<String>")]
    pub idl: Spanned<OneOrMany<String>>,
    /// Free-form description, copied into the generated crate's docs.
    #[serde(default)]
    pub description: Option<String>,
    /// The entities, by name (`[entities.Token]`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, EntityFile>")]
    pub entities: BTreeMap<Spanned<String>, Spanned<EntityFile>>,
}

/// One entity: its identity, fields, lookup indexes and views.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityFile {
    /// Primary key: the source path whose value identifies an entity, e.g.
    /// `"BondingCurve.@address"` (the account's address) or `"BondingCurve.mint"` (a field);
    /// a list when several sources carry it (`["Miner.authority", "Automation.authority"]`).
    #[schemars(with = "OneOrMany<String>")]
    pub key: Spanned<OneOrMany<String>>,
    /// Free-form description, copied into the generated struct's docs.
    #[serde(default)]
    pub description: Option<String>,
    /// Offer the `<Entity>/append` view (every mutation delivered as an appended event).
    #[serde(default)]
    pub append: bool,
    /// Secondary indexes: name → source paths whose values map to this entity's key, so that
    /// instructions and events carrying that value (`via = "<name>"`) find the entity.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, LookupFile>")]
    pub lookups: BTreeMap<Spanned<String>, Spanned<LookupFile>>,
    /// Fields by name; a table of fields is a section (`state.motherlode = { … }`), generated
    /// as a nested struct.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, FieldEntry>")]
    pub fields: BTreeMap<Spanned<String>, Spanned<FieldEntry>>,
    /// Derived views by name (`state`, `list` and `append` are built in).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, ViewFile>")]
    pub views: BTreeMap<Spanned<String>, Spanned<ViewFile>>,
}

/// A lookup index: a path string (an account field of the key's own account), or a table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LookupFile {
    /// `mint = "BondingCurve.mint"`: values of this path on the key's account map to its key.
    Path(String),
    /// `mint = { from = "create.accounts.mint", key = "accounts.bonding_curve" }`.
    Table(LookupTable),
}

/// The table form of a lookup index.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupTable {
    /// Source paths giving the indexed value.
    pub from: OneOrMany<String>,
    /// Path (relative to each source) giving the entity's primary key.
    #[serde(default)]
    pub key: Option<String>,
    /// Resolve `key`'s value through this other lookup index instead of using it as the
    /// primary key.
    #[serde(default)]
    pub via: Option<String>,
}

/// One field. Exactly one of `from`, `count`, `sum`, `max`, `min`, `append`, `unique_count`,
/// `merge`, `computed`, `resolve`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldFile {
    /// Source path(s) of the value, e.g. `"BondingCurve.complete"`, `"buy.args.amount"`,
    /// `"TradeEvent.data.sol_amount"`, `"create.@slot"`.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub from: Option<Spanned<OneOrMany<String>>>,
    /// How values combine: `last_write` (default), `set_once`, `append`, `count`, `sum`,
    /// `max`, `min`, `unique_count`, `merge`.
    #[serde(default)]
    #[schemars(with = "Option<StrategyName>")]
    pub strategy: Option<Spanned<StrategyName>>,
    /// Shorthand for `from = [...]` + `strategy = "count"`: instructions or events to count.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub count: Option<Spanned<OneOrMany<String>>>,
    /// Shorthand for `from` + `strategy = "sum"`.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub sum: Option<Spanned<OneOrMany<String>>>,
    /// Shorthand for `from` + `strategy = "max"`.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub max: Option<Spanned<OneOrMany<String>>>,
    /// Shorthand for `from` + `strategy = "min"`.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub min: Option<Spanned<OneOrMany<String>>>,
    /// Shorthand for `from` + `strategy = "append"`; a bare event/instruction name appends the
    /// whole event data / argument struct.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub append: Option<Spanned<OneOrMany<String>>>,
    /// Shorthand for `from` + `strategy = "unique_count"`: the number of distinct values.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub unique_count: Option<Spanned<OneOrMany<String>>>,
    /// Shorthand for `from` + `strategy = "merge"`: struct values (of one or several types)
    /// merged field by field into one object.
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub merge: Option<Spanned<OneOrMany<String>>>,
    /// An expression over other fields of the entity (see the expression language reference).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub computed: Option<Spanned<String>>,
    /// Fills the field from outside the chain with this resolver (`token_metadata`), keyed
    /// by `input`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub resolve: Option<Spanned<String>>,
    /// A resolver's input: an expression over the entity's fields giving the value to resolve
    /// (`mint`, or a constant: `'"oreoU2P8bN6jkk3jbaiVxYnG1dCXcYxwhwyK9jSybcp"'`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub input: Option<Spanned<String>>,
    /// Converts each value before its strategy applies: `ui_amount(<decimals>)`, `base58`,
    /// `hex`, `to_string`, `to_number`; for a struct value, a table of field path →
    /// transform (`{ balance = "ui_amount(9)", "rewards_factor.bits" = "hex" }`). The
    /// decimals of a whole field's `ui_amount` may be an expression over the entity's fields
    /// (`ui_amount(ore_metadata.decimals ?? 11)`).
    #[serde(default)]
    #[schemars(with = "Option<TransformFile>")]
    pub transform: Option<Spanned<TransformFile>>,
    /// Account sources only: take a write only when one of these instructions named the
    /// account in the same transaction (the same slot when the write's transaction is unknown).
    #[serde(default)]
    #[schemars(with = "Option<OneOrMany<String>>")]
    pub when: Option<Spanned<OneOrMany<String>>>,
    /// Take a value only when this boolean expression over it (`value`) is true.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub condition: Option<Spanned<String>>,
    /// Stop updating the field once this instruction (or event) touched the entity.
    #[serde(default)]
    #[schemars(with = "Option<StopFile>")]
    pub stop: Option<Spanned<StopFile>>,
    /// Path relative to the source that identifies the entity: `accounts.<role>`,
    /// `args.<arg>`, `data.<field>`, `<account field>` or `@address`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub key: Option<Spanned<String>>,
    /// Resolve `key`'s value through this lookup index instead of using it as the primary key.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub via: Option<Spanned<String>>,
    /// For `append`: keep at most this many items (oldest dropped); default 100.
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    pub cap: Option<Spanned<u64>>,
    /// `false` keeps the field for computations but never sends it to clients.
    #[serde(default)]
    pub emit: Option<bool>,
    /// Free-form description, copied into the generated field's docs.
    #[serde(default)]
    pub description: Option<String>,
}

/// Field strategy names as written in spec files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    /// Keep the first value ever seen.
    SetOnce,
    /// Keep the newest value (the default).
    LastWrite,
    /// Append values to a list, capped.
    Append,
    /// Count occurrences.
    Count,
    /// Sum values.
    Sum,
    /// Keep the largest value.
    Max,
    /// Keep the smallest value.
    Min,
    /// Count distinct values.
    UniqueCount,
    /// Merge struct values field by field.
    Merge,
}

/// A field's `transform`: one transform, or a table of field path → transform for a struct.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TransformFile {
    /// `"ui_amount(9)"`, `"base58"`, `"hex"`, `"to_string"`, `"to_number"`.
    One(String),
    /// `{ balance = "ui_amount(9)", "inner.bytes" = "hex" }`.
    Fields(BTreeMap<String, String>),
}

/// A field's `stop`: the instruction (or event) after which the field keeps its value, and how
/// it finds the entity.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopFile {
    /// Instruction or event name.
    pub on: String,
    /// Path relative to it giving the entity key (`accounts.round`).
    pub key: String,
    /// Resolve `key`'s value through this lookup index.
    #[serde(default)]
    pub via: Option<String>,
}

/// A derived view: the entity's rows, optionally filtered, sorted and limited.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewFile {
    /// Field to sort by (ties broken by key).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub sort: Option<Spanned<String>>,
    /// `asc` (default) or `desc`.
    #[serde(default)]
    pub order: Option<SortOrderName>,
    /// Keep only the first N rows after sorting. `limit = 1` makes a single-entity view.
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    pub limit: Option<Spanned<u64>>,
    /// Keep only rows for which this boolean expression is true (null counts as false).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub filter: Option<Spanned<String>>,
    /// Free-form description, copied into the generated accessor's docs.
    #[serde(default)]
    pub description: Option<String>,
}

/// Sort order names as written in spec files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrderName {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A value written either alone or as a list: `idl = "a.json"` or `idl = ["a.json", "b.json"]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list of values.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
}
