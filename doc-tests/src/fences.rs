//! Code fences of the Markdown documents: which are Rust (as rustdoc decides), and which would
//! escape compilation.

use std::path::Path;

/// The documents compiled as doc tests, relative to the workspace root (`lib.rs` includes each).
pub const DOCUMENTS: [&str; 6] = [
    "README.md",
    "CHANGELOG.md",
    "docs/ARCHITECTURE.md",
    "docs/PROTOCOL.md",
    "docs/REPLAY.md",
    "docs/STACK_SPEC.md",
];

/// One fenced code block's opening line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// 1-based line number.
    pub line: usize,
    /// The info string (`rust,no_run`, `toml`, empty).
    pub info: String,
}

impl Fence {
    /// Whether rustdoc treats the block as Rust: an empty info string, `rust`, or only rustdoc
    /// attributes.
    pub fn is_rust(&self) -> bool {
        const ATTRIBUTES: [&str; 8] = [
            "rust",
            "ignore",
            "no_run",
            "should_panic",
            "compile_fail",
            "test_harness",
            "edition2018",
            "edition2021",
        ];
        self.words()
            .all(|w| ATTRIBUTES.contains(&w) || w.starts_with("edition"))
    }

    /// Whether the block is excluded from compilation (`ignore`, or `ignore-<target>`).
    pub fn is_ignored(&self) -> bool {
        self.words()
            .any(|w| w == "ignore" || w.starts_with("ignore-"))
    }

    fn words(&self) -> impl Iterator<Item = &str> {
        self.info
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
    }
}

/// The opening fences of a Markdown text (``` or ~~~, any indentation).
pub fn fences(markdown: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(marker) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let run = trimmed.chars().take_while(|c| *c == marker).count();
        if run < 3 {
            continue;
        }
        match open {
            Some((m, n)) if m == marker && run >= n && trimmed[run..].trim().is_empty() => {
                open = None;
            }
            Some(_) => {}
            None => {
                open = Some((marker, run));
                out.push(Fence {
                    line: i + 1,
                    info: trimmed[run..].trim().to_string(),
                });
            }
        }
    }
    out
}

/// Problems with the documents under `root`: `ignore` blocks, and documents under `docs/` that
/// are not compiled.
pub fn problems(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for doc in DOCUMENTS {
        let text = match std::fs::read_to_string(root.join(doc)) {
            Ok(t) => t,
            Err(e) => {
                out.push(format!("{doc}: {e}"));
                continue;
            }
        };
        for fence in fences(&text) {
            if fence.is_rust() && fence.is_ignored() {
                out.push(format!(
                    "{doc}:{}: a Rust block marked `{}` is never compiled: make it compile (`no_run` where it needs a server)",
                    fence.line, fence.info
                ));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .collect();
        names.sort();
        for name in names {
            let doc = format!("docs/{name}");
            if !DOCUMENTS.contains(&doc.as_str()) {
                out.push(format!(
                    "{doc} is not compiled: add it to DOCUMENTS and to doc-tests/src/lib.rs"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_have_no_ignored_rust_block_and_all_are_compiled() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let found = problems(&root);
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    #[test]
    fn an_ignore_block_is_found() {
        let dir = std::env::temp_dir().join(format!("hs-doc-fences-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("docs")).unwrap();
        for doc in DOCUMENTS {
            std::fs::write(dir.join(doc), "# title\n\n```toml\nx = 1\n```\n").unwrap();
        }
        assert!(problems(&dir).is_empty());
        std::fs::write(
            dir.join("docs/REPLAY.md"),
            "text\n\n```rust,ignore\nfn main() {}\n```\n\n````md\n```ignore\n````\n",
        )
        .unwrap();
        std::fs::write(dir.join("docs/NEW.md"), "new\n").unwrap();
        let found = problems(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("docs/REPLAY.md:3: a Rust block marked `rust,ignore`"));
        assert!(found[1].starts_with("docs/NEW.md is not compiled"));
    }

    #[test]
    fn rust_blocks_as_rustdoc_sees_them() {
        let f = |info: &str| Fence {
            line: 1,
            info: info.into(),
        };
        assert!(f("").is_rust());
        assert!(f("rust,no_run").is_rust());
        assert!(f("ignore").is_rust() && f("ignore").is_ignored());
        assert!(!f("toml").is_rust());
        assert!(!f("sh").is_rust());
        assert!(!f("text").is_rust());
        assert!(!f("rust,no_run").is_ignored());
    }
}
