//! An entry of an entity's `fields` table: a field, or a section (a table of entries).
//!
//! A table whose values are all tables is a section (its entries are fields or sections);
//! any other table is a field (every field has a string or list value: its source). Before
//! deserializing, [`super::parse_spec_text`] finds the sections of the parsed document and
//! marks them by the positions of their keys ([`SectionKeys`]); deserialization then reads an
//! entry's first key and either hands the whole table to [`FieldFile`]'s derived deserializer
//! (so its errors and source spans are those of any other field) or reads the section's
//! entries. Without that context (a `StackFile` deserialized by other means) a table whose
//! first key is one of the [`FIELD_KEYS`] is a field.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use schemars::gen::SchemaGenerator;
use schemars::schema::Schema;
use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::FieldFile;

/// The keys of a field table.
pub const FIELD_KEYS: [&str; 21] = [
    "from",
    "strategy",
    "count",
    "sum",
    "max",
    "min",
    "append",
    "unique_count",
    "merge",
    "computed",
    "resolve",
    "input",
    "transform",
    "when",
    "condition",
    "stop",
    "key",
    "via",
    "cap",
    "emit",
    "description",
];

thread_local! {
    static SECTION_KEYS: RefCell<Option<HashSet<usize>>> = const { RefCell::new(None) };
}

/// The byte offsets of the keys of every section table of a document, in effect (for
/// deserializing [`FieldEntry`]s on this thread) while the value lives.
pub(crate) struct SectionKeys;

impl SectionKeys {
    /// Marks the sections of `doc` (the tables under `entities.<name>.fields` whose values are
    /// all tables, at any depth).
    pub(crate) fn install(doc: &toml::de::DeTable<'_>) -> SectionKeys {
        let mut keys = HashSet::new();
        let entities = doc
            .iter()
            .find(|(k, _)| k.get_ref() == "entities")
            .and_then(|(_, v)| v.get_ref().as_table());
        for (_, entity) in entities.into_iter().flatten() {
            let fields = entity
                .get_ref()
                .as_table()
                .and_then(|t| t.iter().find(|(k, _)| k.get_ref() == "fields"))
                .and_then(|(_, v)| v.get_ref().as_table());
            for (_, entry) in fields.into_iter().flatten() {
                if let Some(table) = entry.get_ref().as_table() {
                    mark(table, &mut keys);
                }
            }
        }
        SECTION_KEYS.with(|s| *s.borrow_mut() = Some(keys));
        SectionKeys
    }
}

impl Drop for SectionKeys {
    fn drop(&mut self) {
        SECTION_KEYS.with(|s| *s.borrow_mut() = None);
    }
}

/// Marks `table`'s keys when it is a section, and its sub-sections'.
fn mark(table: &toml::de::DeTable<'_>, keys: &mut HashSet<usize>) {
    if !table.values().all(|v| v.get_ref().is_table()) {
        return;
    }
    for (k, v) in table {
        keys.insert(k.span().start);
        if let Some(child) = v.get_ref().as_table() {
            mark(child, keys);
        }
    }
}

/// Whether the table whose (first) key is at `offset` is a section: `None` without context.
fn is_section_key(offset: usize) -> Option<bool> {
    SECTION_KEYS.with(|s| s.borrow().as_ref().map(|keys| keys.contains(&offset)))
}

/// One entry of `fields`: a field, or a section of further entries (generated as a nested
/// struct).
#[derive(Debug, Clone)]
pub enum FieldEntry {
    /// A field (`motherlode = { from = "Round.motherlode" }`).
    Field(Box<FieldFile>),
    /// A section (`[entities.OreRound.fields.state]`), its entries by name.
    Section(BTreeMap<Spanned<String>, Spanned<FieldEntry>>),
}

impl<'de> Deserialize<'de> for FieldEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = FieldEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a field (a table with `from`, `count`, `sum`, `max`, `min`, `append`, \
             `unique_count`, `merge`, `computed` or `resolve`) or a section (a table of fields); \
             if the enclosing table is meant as a field, this key is not a field key ({})",
            FIELD_KEYS.join(", ")
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldEntry, A::Error> {
        let Some(first) = map.next_key::<Spanned<String>>()? else {
            return Ok(FieldEntry::Section(BTreeMap::new()));
        };
        let section = is_section_key(first.span().start)
            .unwrap_or_else(|| !FIELD_KEYS.contains(&first.get_ref().as_str()));
        if !section {
            let replay = Replay {
                first: Some(first.into_inner()),
                map,
            };
            return FieldFile::deserialize(MapAccessDeserializer::new(replay))
                .map(|f| FieldEntry::Field(Box::new(f)));
        }
        let mut entries = BTreeMap::new();
        let mut key = first;
        let checked = is_section_key(key.span().start).is_some();
        loop {
            if !checked && FIELD_KEYS.contains(&key.get_ref().as_str()) {
                return Err(de::Error::custom(format!(
                    "`{}` is a field key, but this table does not start with one, so it reads \
                     as a section whose entries are fields: put the field keys first, or do not \
                     name a field in a section after a field key ({})",
                    key.get_ref(),
                    FIELD_KEYS.join(", ")
                )));
            }
            let value = map.next_value::<Spanned<FieldEntry>>()?;
            entries.insert(key, value);
            match map.next_key::<Spanned<String>>()? {
                Some(next) => key = next,
                None => return Ok(FieldEntry::Section(entries)),
            }
        }
    }
}

/// A map access that yields an already-read first key before the rest of `map`.
struct Replay<A> {
    first: Option<String>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.first.take() {
            Some(first) => seed
                .deserialize(IntoDeserializer::<A::Error>::into_deserializer(first))
                .map(Some),
            None => self.map.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.map.next_value_seed(seed)
    }
}

/// The schema of an entry: a field or a section of entries.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum FieldEntrySchema {
    Field(Box<FieldFile>),
    Section(BTreeMap<String, FieldEntry>),
}

impl JsonSchema for FieldEntry {
    fn schema_name() -> String {
        "FieldEntry".to_string()
    }

    fn json_schema(gen: &mut SchemaGenerator) -> Schema {
        FieldEntrySchema::json_schema(gen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{parse_spec_text, SpecFormat};

    fn entries(fields: &str) -> Result<crate::file::StackFile, String> {
        let text =
            format!("name = \"s\"\nidl = \"a.json\"\n[entities.T]\nkey = \"A.@address\"\n{fields}");
        parse_spec_text(&text, SpecFormat::Toml).map_err(|e| e.message)
    }

    #[test]
    fn field_keys_are_the_field_tables_keys() {
        let schema = schemars::schema_for!(FieldFile);
        let props = schema
            .schema
            .object
            .as_ref()
            .map(|o| o.properties.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let mut keys: Vec<String> = FIELD_KEYS.iter().map(|s| s.to_string()).collect();
        keys.sort();
        let mut props = props;
        props.sort();
        assert_eq!(keys, props);
    }

    #[test]
    fn sections_nest_and_keep_spans() {
        let file = entries(
            "fields.a = { from = \"A.x\" }\n\
             [entities.T.fields.state]\n\
             b = { from = \"A.y\", strategy = \"max\" }\n\
             inner.c = { computed = \"1\" }\n",
        )
        .unwrap();
        let entity = file.entities.values().next().unwrap().get_ref();
        let names: Vec<&str> = entity.fields.keys().map(|k| k.get_ref().as_str()).collect();
        assert_eq!(names, ["a", "state"]);
        let state = entity
            .fields
            .iter()
            .find(|(k, _)| k.get_ref() == "state")
            .unwrap()
            .1;
        let FieldEntry::Section(children) = state.get_ref() else {
            panic!("state is a section")
        };
        let b = children.iter().find(|(k, _)| k.get_ref() == "b").unwrap().1;
        let FieldEntry::Field(b) = b.get_ref() else {
            panic!("b is a field")
        };
        assert!(b.from.as_ref().unwrap().span().start > 0);
        assert!(matches!(
            children
                .iter()
                .find(|(k, _)| k.get_ref() == "inner")
                .unwrap()
                .1
                .get_ref(),
            FieldEntry::Section(_)
        ));
    }

    #[test]
    fn misuse_is_explained() {
        // A table with a non-table value is a field: a mistyped key is an unknown field.
        let err = entries("fields.a = { frm = \"A.x\" }\n").unwrap_err();
        assert!(err.contains("unknown field `frm`"), "{err}");
        let err = entries("fields.a = { x = { from = \"A.x\" }, from = \"A.y\" }\n").unwrap_err();
        assert!(err.contains("unknown field `x`"), "{err}");
        let err =
            entries("[entities.T.fields.s]\nx = { from = \"A.x\" }\nfrom = \"A.y\"\n").unwrap_err();
        assert!(err.contains("unknown field `x`"), "{err}");
        let err = entries("fields.a = \"A.x\"\n").unwrap_err();
        assert!(err.contains("a field (a table with"), "{err}");
    }

    #[test]
    fn fields_in_sections_may_be_named_like_field_keys() {
        let file = entries(
            "[entities.T.fields.automation]\namount = { from = \"A.x\" }\nstrategy = { from = \"A.y\" }\nkey = { computed = \"1\" }\n",
        )
        .unwrap();
        let entity = file.entities.values().next().unwrap().get_ref();
        let (_, automation) = entity.fields.iter().next().unwrap();
        let FieldEntry::Section(children) = automation.get_ref() else {
            panic!("a section")
        };
        let names: Vec<&str> = children.keys().map(|k| k.get_ref().as_str()).collect();
        assert_eq!(names, ["amount", "key", "strategy"]);
        assert!(children
            .values()
            .all(|c| matches!(c.get_ref(), FieldEntry::Field(_))));
    }
}
