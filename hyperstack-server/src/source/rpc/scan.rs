//! An incremental reader of a `getProgramAccounts` answer (`withContext: true`): it is fed the
//! body piece by piece and hands out the context slot and each account of `result.value` as
//! soon as its closing brace arrives, so memory holds one account at a time however large the
//! answer is. Everything else of the document is walked without being kept.
//!
//! It checks the structure only as far as it needs to (brackets, strings, escapes); each
//! account it hands out is then parsed by serde_json, which checks the rest.

/// What the reader found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// `result.context.slot`.
    Slot(u64),
    /// One element of `result.value` (its JSON text).
    Account(Vec<u8>),
    /// The JSON-RPC `error` member (its JSON text).
    Error(Vec<u8>),
}

/// Why the answer cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScanError {
    /// One element is larger than the bound.
    #[error("an element of the answer is larger than {0} bytes")]
    TooLarge(usize),
    /// The bytes are not the JSON structure expected.
    #[error("malformed answer at byte {offset}: {what}")]
    Malformed {
        /// Offset in the body.
        offset: u64,
        /// What was wrong.
        what: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
}

#[derive(Debug)]
struct Frame {
    kind: Kind,
    /// Objects: the key of the member being read (`None` before the first key, and always for
    /// arrays).
    key: Option<Box<str>>,
    /// Objects: a key comes next (after `{` or `,`).
    expects_key: bool,
    /// Objects: the `:` after the key was read and its value has not started yet.
    colon: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Between tokens.
    Normal,
    /// Inside a string; `escaped` after a backslash.
    String { escaped: bool, key: bool },
    /// Inside a number or a literal.
    Scalar,
}

/// What a value starting at the current place is to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Walk,
    Slot,
    Account,
    Error,
}

/// Keys are kept only as far as they can matter.
const MAX_KEY: usize = 32;

/// The reader's state.
#[derive(Debug)]
pub(crate) struct Scanner {
    stack: Vec<Frame>,
    lex: Lex,
    key: Vec<u8>,
    /// Bytes of the element being kept, and the stack depth it started at.
    kept: Vec<u8>,
    keeping: Option<(usize, Role)>,
    slot_digits: Option<Vec<u8>>,
    max_element: usize,
    offset: u64,
    done: bool,
}

impl Scanner {
    /// A reader keeping at most `max_element` bytes of one element.
    pub fn new(max_element: usize) -> Scanner {
        Scanner {
            stack: Vec::new(),
            lex: Lex::Normal,
            key: Vec::new(),
            kept: Vec::new(),
            keeping: None,
            slot_digits: None,
            max_element,
            offset: 0,
            done: false,
        }
    }

    /// Whether the document is complete (its outer object closed).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Reads `chunk`, appending what it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Found>) -> Result<(), ScanError> {
        for &b in chunk {
            self.byte(b, out)?;
            self.offset += 1;
        }
        Ok(())
    }

    fn malformed(&self, what: &'static str) -> ScanError {
        ScanError::Malformed {
            offset: self.offset,
            what,
        }
    }

    fn keep(&mut self, b: u8) -> Result<(), ScanError> {
        if self.keeping.is_some() {
            if self.kept.len() >= self.max_element {
                return Err(ScanError::TooLarge(self.max_element));
            }
            self.kept.push(b);
        }
        Ok(())
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Found>) -> Result<(), ScanError> {
        match self.lex {
            Lex::String { escaped, key } => {
                self.keep(b)?;
                if escaped {
                    self.lex = Lex::String {
                        escaped: false,
                        key,
                    };
                } else if b == b'\\' {
                    self.lex = Lex::String { escaped: true, key };
                } else if b == b'"' {
                    self.lex = Lex::Normal;
                    if key {
                        self.end_key();
                    } else {
                        self.end_value(out);
                    }
                } else if key && self.key.len() < MAX_KEY {
                    self.key.push(b);
                }
                Ok(())
            }
            Lex::Scalar => {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    self.lex = Lex::Normal;
                    self.end_scalar(out)?;
                    return self.byte(b, out);
                }
                self.keep(b)?;
                if let Some(digits) = &mut self.slot_digits {
                    if !b.is_ascii_digit() || digits.len() >= 20 {
                        return Err(self.malformed("the context slot is not a number"));
                    }
                    digits.push(b);
                }
                Ok(())
            }
            Lex::Normal => self.structural(b, out),
        }
    }

    fn structural(&mut self, b: u8, out: &mut Vec<Found>) -> Result<(), ScanError> {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => self.keep(b),
            b'{' | b'[' => {
                self.begin_value(b)?;
                self.keep(b)?;
                self.stack.push(Frame {
                    kind: if b == b'{' { Kind::Object } else { Kind::Array },
                    key: None,
                    expects_key: b == b'{',
                    colon: false,
                });
                Ok(())
            }
            b'}' | b']' => {
                let kind = if b == b'}' { Kind::Object } else { Kind::Array };
                match self.stack.pop() {
                    Some(f) if f.kind == kind => {}
                    _ => return Err(self.malformed("an unmatched closing bracket")),
                }
                self.keep(b)?;
                self.end_value(out);
                if self.stack.is_empty() {
                    self.done = true;
                }
                Ok(())
            }
            b'"' => {
                let key = self
                    .stack
                    .last()
                    .is_some_and(|f| f.kind == Kind::Object && f.expects_key);
                if key {
                    self.key.clear();
                } else {
                    self.begin_value(b)?;
                }
                self.keep(b)?;
                self.lex = Lex::String {
                    escaped: false,
                    key,
                };
                Ok(())
            }
            b':' => {
                match self.stack.last_mut() {
                    Some(f) if f.kind == Kind::Object && !f.expects_key && !f.colon => {
                        f.colon = true;
                    }
                    _ => return Err(self.malformed("a `:` out of place")),
                }
                self.keep(b)
            }
            b',' => {
                match self.stack.last_mut() {
                    Some(f) if f.kind == Kind::Object => {
                        f.expects_key = true;
                        f.colon = false;
                        f.key = None;
                    }
                    Some(_) => {}
                    None => return Err(self.malformed("a `,` outside the document")),
                }
                self.keep(b)
            }
            _ => {
                self.begin_value(b)?;
                self.keep(b)?;
                self.lex = Lex::Scalar;
                if self.keeping.is_none() && self.role() == Role::Slot {
                    self.slot_digits = Some(vec![b]);
                }
                Ok(())
            }
        }
    }

    fn end_key(&mut self) {
        let key = String::from_utf8_lossy(&self.key)
            .into_owned()
            .into_boxed_str();
        if let Some(f) = self.stack.last_mut() {
            f.key = Some(key);
            f.expects_key = false;
        }
    }

    /// Where a value starting now sits in the document.
    fn role(&self) -> Role {
        let mut path = [""; 4];
        if self.stack.len() > path.len() {
            return Role::Walk;
        }
        for (slot, frame) in path.iter_mut().zip(&self.stack) {
            *slot = match (&frame.kind, &frame.key) {
                (Kind::Object, Some(k)) => k,
                (Kind::Object, None) => "{}",
                (Kind::Array, _) => "[]",
            };
        }
        match &path[..self.stack.len()] {
            ["result", "context", "slot"] => Role::Slot,
            ["result", "value", "[]"] => Role::Account,
            ["error"] => Role::Error,
            _ => Role::Walk,
        }
    }

    /// A value starts with byte `first`.
    fn begin_value(&mut self, first: u8) -> Result<(), ScanError> {
        if self.done {
            return Err(self.malformed("bytes after the end of the document"));
        }
        if let Some(f) = self.stack.last_mut() {
            if f.kind == Kind::Object {
                if !f.colon {
                    return Err(self.malformed("a value where a key was expected"));
                }
                f.colon = false;
            }
        }
        if self.keeping.is_none() {
            let role = self.role();
            if role == Role::Slot && !first.is_ascii_digit() {
                return Err(self.malformed("the context slot is not a number"));
            }
            if matches!(role, Role::Account | Role::Error) {
                self.keeping = Some((self.stack.len(), role));
                self.kept.clear();
            }
        }
        Ok(())
    }

    fn end_scalar(&mut self, out: &mut Vec<Found>) -> Result<(), ScanError> {
        if let Some(digits) = self.slot_digits.take() {
            let slot = std::str::from_utf8(&digits)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| self.malformed("the context slot is not a number"))?;
            out.push(Found::Slot(slot));
        }
        self.end_value(out);
        Ok(())
    }

    /// A value ended at the current depth: hands out the kept element if it was this one.
    fn end_value(&mut self, out: &mut Vec<Found>) {
        if let Some((depth, role)) = self.keeping {
            if self.stack.len() == depth {
                self.keeping = None;
                let bytes = std::mem::take(&mut self.kept);
                out.push(match role {
                    Role::Error => Found::Error(bytes),
                    _ => Found::Account(bytes),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_pieces(doc: &str, piece: usize) -> Result<Vec<Found>, ScanError> {
        let mut s = Scanner::new(1_024);
        let mut out = Vec::new();
        for chunk in doc.as_bytes().chunks(piece) {
            s.feed(chunk, &mut out)?;
        }
        assert!(s.is_done(), "document complete");
        Ok(out)
    }

    const DOC: &str = r#"{"jsonrpc":"2.0","result":{"context":{"apiVersion":"2.1.0","slot":345},
        "value":[{"pubkey":"A","account":{"data":["AQI=","base64"],"owner":"P","note":"}]\"{"}},
                 {"pubkey":"B","account":{"data":["","base64"],"owner":"P","space":0}}]},"id":1}"#;

    #[test]
    fn hands_out_the_slot_and_each_account_whatever_the_pieces() {
        for piece in [1, 2, 3, 7, 64, DOC.len()] {
            let found = scan_in_pieces(DOC, piece).unwrap();
            assert_eq!(found.len(), 3, "piece {piece}");
            assert_eq!(found[0], Found::Slot(345));
            let Found::Account(a) = &found[1] else {
                panic!("{found:?}")
            };
            let v: serde_json::Value = serde_json::from_slice(a).unwrap();
            assert_eq!(v["pubkey"], "A");
            assert_eq!(v["account"]["note"], "}]\"{");
            let Found::Account(b) = &found[2] else {
                panic!("{found:?}")
            };
            let v: serde_json::Value = serde_json::from_slice(b).unwrap();
            assert_eq!(v["account"]["space"], 0);
        }
    }

    #[test]
    fn hands_out_an_error_member() {
        let doc = r#"{"jsonrpc":"2.0","error":{"code":-32010,"message":"excluded"},"id":1}"#;
        let found = scan_in_pieces(doc, 5).unwrap();
        let [Found::Error(e)] = found.as_slice() else {
            panic!("{found:?}")
        };
        let v: serde_json::Value = serde_json::from_slice(e).unwrap();
        assert_eq!(v["code"], -32010);
    }

    #[test]
    fn an_element_beyond_the_bound_is_refused_not_kept() {
        let big = format!(
            r#"{{"result":{{"context":{{"slot":1}},"value":[{{"pubkey":"{}"}}]}}}}"#,
            "x".repeat(2_000)
        );
        assert_eq!(
            scan_in_pieces(&big, 100).unwrap_err(),
            ScanError::TooLarge(1_024)
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        for doc in [
            r#"{"result":]"#,
            r#"{"result":{"context":{"slot":"x"}}}"#,
            r#"{"result":{"context":{"slot":-1}}}"#,
            r#"{"a" 1:}"#,
            r#"{} {}"#,
        ] {
            let mut s = Scanner::new(1_024);
            let mut out = Vec::new();
            assert!(s.feed(doc.as_bytes(), &mut out).is_err(), "{doc}");
        }
    }
}
