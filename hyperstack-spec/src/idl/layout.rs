//! Fully concrete type layouts: what [`Idl::layout`](super::Idl::layout) resolves a type to.

use serde::{Deserialize, Serialize};

use super::model::IdlPrimitive;

/// A type with every name resolved: aliases expanded, generic parameters substituted, array
/// lengths known. A decoder or code generator walks it without looking anything up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A primitive value.
    Primitive(IdlPrimitive),
    /// `Option<T>` (one tag byte in Borsh).
    Option(Box<Layout>),
    /// `COption<T>` (four tag bytes).
    COption(Box<Layout>),
    /// `Vec<T>` (u32 length prefix in Borsh).
    Vec(Box<Layout>),
    /// `[T; N]`.
    Array(Box<Layout>, usize),
    /// A named struct.
    Struct {
        /// The type definition's name (without generic arguments).
        name: String,
        /// Its fields.
        fields: LayoutFields,
    },
    /// A named enum.
    Enum {
        /// The type definition's name (without generic arguments).
        name: String,
        /// Variants in declaration order (the Borsh tag is the index), with their data.
        variants: Vec<(String, LayoutFields)>,
    },
}

/// Fields of a struct or enum variant layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutFields {
    /// No fields.
    Unit,
    /// Named fields, in order.
    Named(Vec<(String, Layout)>),
    /// Positional fields, in order.
    Tuple(Vec<Layout>),
}

impl Layout {
    /// The named field `name` of a struct layout; `None` for other layouts or a missing field.
    pub fn field(&self, name: &str) -> Option<&Layout> {
        match self {
            Layout::Struct { fields, .. } => fields.get(name),
            _ => None,
        }
    }

    /// Follows a dotted path of named struct fields, e.g. `"reserves.sol"`; the empty path is
    /// the layout itself.
    pub fn field_path(&self, path: &str) -> Option<&Layout> {
        if path.is_empty() {
            return Some(self);
        }
        path.split('.')
            .try_fold(self, |layout, part| layout.field(part))
    }

    /// The name of a struct or enum layout.
    pub fn type_name(&self) -> Option<&str> {
        match self {
            Layout::Struct { name, .. } | Layout::Enum { name, .. } => Some(name),
            _ => None,
        }
    }
}

impl LayoutFields {
    /// The named field `name`; `None` for unit or tuple fields.
    pub fn get(&self, name: &str) -> Option<&Layout> {
        match self {
            LayoutFields::Named(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, l)| l),
            LayoutFields::Unit | LayoutFields::Tuple(_) => None,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            LayoutFields::Unit => 0,
            LayoutFields::Named(f) => f.len(),
            LayoutFields::Tuple(f) => f.len(),
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_and_path() {
        let u64l = Layout::Primitive(IdlPrimitive::U64);
        let inner = Layout::Struct {
            name: "Reserves".into(),
            fields: LayoutFields::Named(vec![("sol".into(), u64l.clone())]),
        };
        let outer = Layout::Struct {
            name: "Curve".into(),
            fields: LayoutFields::Named(vec![("reserves".into(), inner.clone())]),
        };
        assert_eq!(outer.field("reserves"), Some(&inner));
        assert_eq!(outer.field_path("reserves.sol"), Some(&u64l));
        assert_eq!(outer.field_path(""), Some(&outer));
        assert_eq!(outer.field_path("reserves.token"), None);
        assert_eq!(u64l.field("x"), None);
        assert_eq!(outer.type_name(), Some("Curve"));
        assert!(LayoutFields::Unit.is_empty());
    }
}
