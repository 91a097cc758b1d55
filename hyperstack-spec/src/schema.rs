//! The JSON Schema of the stack spec format, generated from [`crate::file::StackFile`].

/// The JSON Schema (draft-07) of stack spec files, pretty-printed with a trailing newline.
/// `schema/stack.schema.json` in the repository is this text; a test keeps them equal.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(crate::file::StackFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
