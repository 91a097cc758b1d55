//! Text → [`StackFile`], for TOML and JSON spec files.

use std::ops::Range;
use std::path::Path;

use super::StackFile;

/// The syntax a spec file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// TOML (the documented default). Errors carry line and column.
    Toml,
    /// JSON with the same structure. Errors carry the file and the entity/field, but line and
    /// column only for syntax errors.
    Json,
}

impl SpecFormat {
    /// JSON for `*.json` files, TOML otherwise.
    pub fn from_path(path: &Path) -> SpecFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => SpecFormat::Json,
            _ => SpecFormat::Toml,
        }
    }
}

/// A syntax error: its message and where it is (a byte range of the text), when known.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// What the parser said.
    pub message: String,
    /// Byte range in the text, for TOML.
    pub span: Option<Range<usize>>,
    /// 1-based (line, column), for JSON syntax errors.
    pub line_col: Option<(usize, usize)>,
}

/// Parses spec text. For JSON the returned spans do not point into `text` (the JSON is
/// re-encoded as TOML to share one model), so callers must not use them for locations.
pub fn parse_spec_text(text: &str, format: SpecFormat) -> Result<StackFile, SyntaxError> {
    match format {
        SpecFormat::Toml => parse_toml(text).map_err(|e| SyntaxError {
            message: e.message().to_string(),
            span: e.span(),
            line_col: None,
        }),
        SpecFormat::Json => {
            let json: serde_json::Value = serde_json::from_str(text).map_err(|e| SyntaxError {
                message: e.to_string(),
                span: None,
                line_col: Some((e.line(), e.column())),
            })?;
            let plain = |message: String| SyntaxError {
                message,
                span: None,
                line_col: None,
            };
            let as_toml = toml::Value::try_from(&json)
                .map_err(|e| plain(format!("JSON spec cannot be represented: {e}")))?;
            let toml_text = toml::to_string(&as_toml)
                .map_err(|e| plain(format!("JSON spec cannot be represented: {e}")))?;
            parse_toml(&toml_text).map_err(|e| plain(e.message().to_string()))
        }
    }
}

/// Parses TOML text into the model, telling sections from fields by the parsed document.
fn parse_toml(text: &str) -> Result<StackFile, toml::de::Error> {
    use serde::Deserialize;
    let doc = toml::de::DeTable::parse(text)?;
    let _sections = super::entry::SectionKeys::install(doc.get_ref());
    StackFile::deserialize(toml::de::Deserializer::from(doc))
}

/// Maps byte offsets of a text to 1-based line and character column.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    text: String,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            line_starts,
            text: text.to_string(),
        }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end clamp to the end.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_chars() {
        let idx = LineIndex::new("ab\nçd\nx");
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(3), (2, 1));
        // `ç` is two bytes: the `d` after it is column 2.
        assert_eq!(idx.line_col(5), (2, 2));
        assert_eq!(idx.line_col(7), (3, 1));
        assert_eq!(idx.line_col(999), (3, 2));
    }

    #[test]
    fn toml_errors_carry_spans() {
        let err = parse_spec_text(
            "name = \"x\"\nidl = \"a.json\"\nbogus = 1\n",
            SpecFormat::Toml,
        )
        .unwrap_err();
        assert!(err.message.contains("bogus"), "{}", err.message);
        assert!(err.span.is_some());
    }

    #[test]
    fn json_syntax_errors_carry_line_and_column() {
        let err =
            parse_spec_text("{\n  \"name\": \"x\",\n  oops\n}", SpecFormat::Json).unwrap_err();
        assert_eq!(err.line_col.map(|(l, _)| l), Some(3));
    }

    #[test]
    fn json_specs_have_sections_too() {
        let json_text = r#"{"name":"s","idl":"a.json","entities":{"T":{"key":"Acc.@address",
            "fields":{"state":{"x":{"from":"Acc.x"},"strategy":{"from":"Acc.y"}}}}}}"#;
        let file = parse_spec_text(json_text, SpecFormat::Json).unwrap();
        let entity = file.entities.values().next().unwrap().get_ref();
        let (name, state) = entity.fields.iter().next().unwrap();
        assert_eq!(name.get_ref(), "state");
        let crate::file::FieldEntry::Section(children) = state.get_ref() else {
            panic!("a section");
        };
        assert_eq!(children.len(), 2);
    }

    #[test]
    fn json_and_toml_give_the_same_model() {
        let toml_text = r#"
name = "s"
idl = ["a.json"]
[entities.T]
key = "Acc.@address"
fields.x = { from = "Acc.x", emit = false }
views.top = { sort = "x", order = "desc", limit = 3 }
"#;
        let json_text = r#"{"name":"s","idl":["a.json"],"entities":{"T":{"key":"Acc.@address",
            "fields":{"x":{"from":"Acc.x","emit":false}},
            "views":{"top":{"sort":"x","order":"desc","limit":3}}}}}"#;
        let a = parse_spec_text(toml_text, SpecFormat::Toml).unwrap();
        let b = parse_spec_text(json_text, SpecFormat::Json).unwrap();
        assert_eq!(a.name.get_ref(), b.name.get_ref());
        let (ea, eb) = (
            a.entities.values().next().unwrap().get_ref(),
            b.entities.values().next().unwrap().get_ref(),
        );
        assert_eq!(ea.key.get_ref().as_slice(), eb.key.get_ref().as_slice());
        assert_eq!(ea.fields.len(), eb.fields.len());
        assert_eq!(ea.views.len(), eb.views.len());
    }
}
