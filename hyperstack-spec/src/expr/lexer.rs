//! Turns source text into tokens.

use super::ast::Span;
use super::ExprError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Int(i128),
    Float(f64),
    Str(String),
    /// An identifier or a dotted path of identifiers (`a`, `a.b.c`).
    Ident(String),
    True,
    False,
    Null,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    QuestionQuestion,
    /// `=>`, between a lambda's parameter and its body.
    FatArrow,
    Eof,
}

impl Tok {
    /// How the token is named in error messages.
    pub(super) fn describe(&self) -> String {
        let symbol = match self {
            Tok::Int(i) => return format!("number `{i}`"),
            Tok::Float(x) => return format!("number `{x:?}`"),
            Tok::Str(_) => return "a string".to_string(),
            Tok::Ident(name) => return format!("`{name}`"),
            Tok::Eof => return "end of input".to_string(),
            Tok::True => "true",
            Tok::False => "false",
            Tok::Null => "null",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Bang => "!",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::QuestionQuestion => "??",
            Tok::FatArrow => "=>",
        };
        format!("`{symbol}`")
    }
}

/// A token with its byte span.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn err(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `src` into tokens; the last token is always [`Tok::Eof`].
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.tok == Tok::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn skip_while(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek_at(0).is_some_and(&pred) {
            self.pos += 1;
        }
    }

    /// The (possibly multi-byte) character at byte offset `at`, for error messages.
    fn char_at(&self, at: usize) -> char {
        self.src
            .get(at..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or('\u{FFFD}')
    }

    fn next_token(&mut self) -> Result<Token, ExprError> {
        self.skip_while(|b| b.is_ascii_whitespace());
        let start = self.pos;
        let Some(b) = self.peek_at(0) else {
            return Ok(Token {
                tok: Tok::Eof,
                span: Span { start, end: start },
            });
        };
        let next = self.peek_at(1);
        let (tok, len) = match (b, next) {
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            (b',', _) => (Tok::Comma, 1),
            (b'+', _) => (Tok::Plus, 1),
            (b'-', _) => (Tok::Minus, 1),
            (b'*', _) => (Tok::Star, 1),
            (b'/', _) => (Tok::Slash, 1),
            (b'%', _) => (Tok::Percent, 1),
            (b'=', Some(b'=')) => (Tok::EqEq, 2),
            (b'=', Some(b'>')) => (Tok::FatArrow, 2),
            (b'!', Some(b'=')) => (Tok::NotEq, 2),
            (b'!', _) => (Tok::Bang, 1),
            (b'<', Some(b'=')) => (Tok::Le, 2),
            (b'<', _) => (Tok::Lt, 1),
            (b'>', Some(b'=')) => (Tok::Ge, 2),
            (b'>', _) => (Tok::Gt, 1),
            (b'&', Some(b'&')) => (Tok::AndAnd, 2),
            (b'|', Some(b'|')) => (Tok::OrOr, 2),
            (b'?', Some(b'?')) => (Tok::QuestionQuestion, 2),
            (b'=', _) => return Err(err(start, "unexpected character `=`; use `==` to compare")),
            (b'&', _) => return Err(err(start, "unexpected character `&`; use `&&`")),
            (b'|', _) => return Err(err(start, "unexpected character `|`; use `||`")),
            (b'?', _) => return Err(err(start, "unexpected character `?`; use `??`")),
            (b'"', _) => return self.string(),
            (b, _) if b.is_ascii_digit() => return self.number(),
            (b, _) if is_ident_start(b) => return self.ident(),
            _ => {
                let c = self.char_at(start);
                return Err(err(start, format!("unexpected character `{c}`")));
            }
        };
        self.pos += len;
        Ok(Token {
            tok,
            span: Span {
                start,
                end: self.pos,
            },
        })
    }

    fn token(&self, tok: Tok, start: usize) -> Result<Token, ExprError> {
        Ok(Token {
            tok,
            span: Span {
                start,
                end: self.pos,
            },
        })
    }

    fn string(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        let mut chunk_start = self.pos;
        loop {
            match self.peek_at(0) {
                None => return Err(err(start, "unterminated string")),
                Some(b'"') => {
                    value.push_str(self.src.get(chunk_start..self.pos).unwrap_or_default());
                    self.pos += 1;
                    return self.token(Tok::Str(value), start);
                }
                Some(b'\\') => {
                    value.push_str(self.src.get(chunk_start..self.pos).unwrap_or_default());
                    match self.peek_at(1) {
                        Some(b'"') => value.push('"'),
                        Some(b'\\') => value.push('\\'),
                        None => return Err(err(start, "unterminated string")),
                        Some(_) => {
                            let c = self.char_at(self.pos + 1);
                            return Err(err(
                                self.pos,
                                format!(
                                    "unknown escape `\\{c}` in string (only `\\\"` and `\\\\` are supported)"
                                ),
                            ));
                        }
                    }
                    self.pos += 2;
                    chunk_start = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn number(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        let digits = |b: u8| b.is_ascii_digit() || b == b'_';
        self.skip_while(digits);
        let mut is_float = false;
        if self.peek_at(0) == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            is_float = true;
            self.pos += 1;
            self.skip_while(digits);
        }
        if matches!(self.peek_at(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some(b'+' | b'-')));
            if !self.peek_at(1 + sign).is_some_and(|b| b.is_ascii_digit()) {
                return Err(err(
                    self.pos,
                    "missing digits after the exponent of a number",
                ));
            }
            is_float = true;
            self.pos += 1 + sign;
            self.skip_while(digits);
        }
        if let Some(b) = self.peek_at(0) {
            if is_ident_continue(b) || b == b'.' {
                let c = self.char_at(self.pos);
                return Err(err(
                    self.pos,
                    format!("unexpected character `{c}` after a number"),
                ));
            }
        }
        let text: String = self
            .src
            .get(start..self.pos)
            .unwrap_or_default()
            .chars()
            .filter(|&c| c != '_')
            .collect();
        let tok = if is_float {
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Tok::Float(x),
                _ => return Err(err(start, "number literal is too large")),
            }
        } else {
            match text.parse::<i128>() {
                Ok(i) => Tok::Int(i),
                Err(_) => {
                    return Err(err(
                        start,
                        "integer literal is too large (the maximum is 2^127 - 1)",
                    ))
                }
            }
        };
        self.token(tok, start)
    }

    fn ident(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        self.skip_while(is_ident_continue);
        let first = self.src.get(start..self.pos).unwrap_or_default();
        let keyword = match first {
            "true" => Some(Tok::True),
            "false" => Some(Tok::False),
            "null" => Some(Tok::Null),
            _ => None,
        };
        if let Some(tok) = keyword {
            return self.token(tok, start);
        }
        while self.peek_at(0) == Some(b'.') {
            if !self.peek_at(1).is_some_and(is_ident_start) {
                return Err(err(self.pos + 1, "expected a field name after `.`"));
            }
            self.pos += 1;
            self.skip_while(is_ident_continue);
        }
        let path = self.src.get(start..self.pos).unwrap_or_default();
        self.token(Tok::Ident(path.to_string()), start)
    }
}
