//! Error collection with locations.

use std::ops::Range;
use std::path::PathBuf;

use crate::error::{Location, SpecError, SpecErrorKind, SpecErrors};
use crate::file::LineIndex;

/// Collects errors for one spec file, turning byte spans into locations.
pub(crate) struct Diag {
    file: PathBuf,
    /// Present for TOML input, where spans point into the file.
    index: Option<LineIndex>,
    errors: Vec<SpecError>,
}

/// What an error concerns: an entity and an item of it (`field x`, `view y`).
#[derive(Clone, Default)]
pub(crate) struct Scope {
    pub entity: Option<String>,
    pub item: Option<String>,
}

impl Scope {
    pub fn entity(name: &str) -> Scope {
        Scope {
            entity: Some(name.to_string()),
            item: None,
        }
    }

    pub fn with_item(&self, item: String) -> Scope {
        Scope {
            entity: self.entity.clone(),
            item: Some(item),
        }
    }
}

impl Diag {
    pub fn new(file: PathBuf, index: Option<LineIndex>) -> Diag {
        Diag {
            file,
            index,
            errors: Vec::new(),
        }
    }

    pub fn location(&self, span: Option<&Range<usize>>) -> Location {
        let (line, column) = match (&self.index, span) {
            (Some(index), Some(span)) => {
                let (l, c) = index.line_col(span.start);
                (Some(l), Some(c))
            }
            _ => (None, None),
        };
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }

    pub fn error(&mut self, span: Option<&Range<usize>>, scope: &Scope, kind: SpecErrorKind) {
        let location = self.location(span);
        self.errors.push(SpecError {
            location,
            entity: scope.entity.clone(),
            item: scope.item.clone(),
            kind,
        });
    }

    pub fn finish<T>(self, value: T) -> Result<T, SpecErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(SpecErrors(self.errors))
        }
    }
}
