//! Parser from tokens to a syntax tree: recursive descent for primaries, precedence
//! climbing for infix operators.

use super::ast::{BinaryOp, Function, Node, NodeKind, Span, UnaryOp};
use super::lexer::{tokenize, Tok, Token};
use super::ExprError;

/// The deepest nesting accepted, counted both in syntax tree levels and in parentheses,
/// prefix operators and call arguments. Deeper input is an error, never a stack overflow.
pub const MAX_DEPTH: usize = 128;

/// Parses `src` into the root node of its syntax tree.
pub(super) fn parse_root(src: &str) -> Result<Node, ExprError> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        nesting: 0,
    };
    if parser.peek().tok == Tok::Eof {
        return Err(err(0, "empty expression"));
    }
    let root = parser.expr_bp(0)?;
    let next = parser.peek();
    if next.tok != Tok::Eof {
        return Err(err(
            next.span.start,
            format!(
                "unexpected {} after the end of the expression (trailing input)",
                next.tok.describe()
            ),
        ));
    }
    Ok(*root.node)
}

fn err(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

fn too_deep(offset: usize) -> ExprError {
    err(
        offset,
        format!("expression is nested too deeply (the limit is {MAX_DEPTH} levels)"),
    )
}

const PREC_EQUALITY: u8 = 4;
const PREC_ORDERING: u8 = 5;

/// The infix operator a token stands for, with its precedence (higher binds tighter).
fn infix(tok: &Tok) -> Option<(BinaryOp, u8)> {
    Some(match tok {
        Tok::QuestionQuestion => (BinaryOp::Coalesce, 1),
        Tok::OrOr => (BinaryOp::Or, 2),
        Tok::AndAnd => (BinaryOp::And, 3),
        Tok::EqEq => (BinaryOp::Eq, PREC_EQUALITY),
        Tok::NotEq => (BinaryOp::Ne, PREC_EQUALITY),
        Tok::Lt => (BinaryOp::Lt, PREC_ORDERING),
        Tok::Le => (BinaryOp::Le, PREC_ORDERING),
        Tok::Gt => (BinaryOp::Gt, PREC_ORDERING),
        Tok::Ge => (BinaryOp::Ge, PREC_ORDERING),
        Tok::Plus => (BinaryOp::Add, 6),
        Tok::Minus => (BinaryOp::Sub, 6),
        Tok::Star => (BinaryOp::Mul, 7),
        Tok::Slash => (BinaryOp::Div, 7),
        Tok::Percent => (BinaryOp::Rem, 7),
        _ => return None,
    })
}

/// A parsed node with the depth of its tree (boxed, to keep parser stack frames small).
struct Parsed {
    node: Box<Node>,
    depth: usize,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current recursion depth through parentheses, prefix operators and call arguments.
    nesting: usize,
}

static EOF: Token = Token {
    tok: Tok::Eof,
    span: Span { start: 0, end: 0 },
};

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with `Eof` and `bump` never moves past it.
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .unwrap_or(&EOF)
    }

    fn bump(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    /// Consumes the next token if it is `tok`, returning its span.
    fn eat(&mut self, tok: &Tok) -> Option<Span> {
        let span = self.peek().span;
        if self.peek().tok == *tok {
            self.bump();
            Some(span)
        } else {
            None
        }
    }

    fn enter(&mut self, offset: usize) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(offset));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    fn binary(op: BinaryOp, op_span: Span, lhs: Parsed, rhs: Parsed) -> Result<Parsed, ExprError> {
        let depth = 1 + lhs.depth.max(rhs.depth);
        if depth > MAX_DEPTH {
            return Err(too_deep(op_span.start));
        }
        Ok(Parsed {
            node: Box::new(Node {
                span: lhs.node.span.to(rhs.node.span),
                kind: NodeKind::Binary {
                    op,
                    op_span,
                    lhs: lhs.node,
                    rhs: rhs.node,
                },
            }),
            depth,
        })
    }

    /// Precedence climbing: a unary expression followed by infix operators binding at
    /// least as tightly as `min_prec`. `expr_bp(0)` parses a whole expression.
    ///
    /// The functions on the recursion path (`expr_bp`, `unary`, `primary`, `paren`, `call`)
    /// keep few locals and build error messages out of line, so deep nesting stays cheap
    /// in stack space even in unoptimised builds.
    fn expr_bp(&mut self, min_prec: u8) -> Result<Parsed, ExprError> {
        let mut lhs = self.unary()?;
        // The last comparison operator of this chain, to reject `a < b < c`.
        let mut comparison: Option<(u8, BinaryOp)> = None;
        while let Some((op, prec)) = infix(&self.peek().tok) {
            if prec < min_prec {
                break;
            }
            let op_span = self.peek().span;
            self.bump();
            if let Some((_, previous)) = comparison.filter(|&(p, _)| p == prec) {
                return Err(chained(op_span, op, previous));
            }
            let rhs = if op == BinaryOp::Coalesce {
                // Right-associative: recurse at the same precedence.
                self.enter(op_span.start)?;
                let rhs = self.expr_bp(prec);
                self.leave();
                rhs?
            } else {
                self.expr_bp(prec + 1)?
            };
            if matches!(prec, PREC_EQUALITY | PREC_ORDERING) {
                comparison = Some((prec, op));
            }
            lhs = Self::binary(op, op_span, lhs, rhs)?;
        }
        Ok(lhs)
    }

    /// `unary = ( "-" | "!" ) unary | primary`
    fn unary(&mut self) -> Result<Parsed, ExprError> {
        let op = match self.peek().tok {
            Tok::Minus => UnaryOp::Neg,
            Tok::Bang => UnaryOp::Not,
            _ => return self.primary(),
        };
        let op_span = self.peek().span;
        self.bump();
        self.enter(op_span.start)?;
        let operand = self.unary();
        self.leave();
        let operand = operand?;
        let depth = operand.depth + 1;
        if depth > MAX_DEPTH {
            return Err(too_deep(op_span.start));
        }
        Ok(Parsed {
            node: Box::new(Node {
                span: op_span.to(operand.node.span),
                kind: NodeKind::Unary {
                    op,
                    operand: operand.node,
                },
            }),
            depth,
        })
    }

    /// A literal, a field, a call or a parenthesised expression.
    fn primary(&mut self) -> Result<Parsed, ExprError> {
        let next_is_paren = self.tokens.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::LParen);
        match self.peek().tok {
            Tok::Ident(_) if next_is_paren => self.call(),
            Tok::LParen => self.paren(),
            _ => self.leaf(),
        }
    }

    /// A literal or a field reference.
    fn leaf(&mut self) -> Result<Parsed, ExprError> {
        let kind = match &self.peek().tok {
            Tok::Int(i) => NodeKind::Int(*i),
            Tok::Float(x) => NodeKind::Float(*x),
            Tok::Str(s) => NodeKind::Str(s.clone()),
            Tok::True => NodeKind::Bool(true),
            Tok::False => NodeKind::Bool(false),
            Tok::Null => NodeKind::Null,
            Tok::Ident(path) => NodeKind::Field(path.clone()),
            _ => return Err(expected("an expression", self.peek())),
        };
        let span = self.peek().span;
        self.bump();
        Ok(Parsed {
            node: Box::new(Node { kind, span }),
            depth: 1,
        })
    }

    /// `"(" expr ")"`
    fn paren(&mut self) -> Result<Parsed, ExprError> {
        let open = self.peek().span;
        self.bump();
        self.enter(open.start)?;
        let inner = self.expr_bp(0);
        self.leave();
        let mut inner = inner?;
        let Some(close) = self.eat(&Tok::RParen) else {
            return Err(unclosed(self.peek(), open));
        };
        inner.node.span = open.to(close);
        Ok(inner)
    }

    /// `call = name "(" ( expr ( "," expr )* )? ")"`
    fn call(&mut self) -> Result<Parsed, ExprError> {
        let name_span = self.peek().span;
        let function = match &self.peek().tok {
            Tok::Ident(name) => {
                Function::from_name(name).ok_or_else(|| unknown_function(name, name_span))?
            }
            _ => return Err(expected("a function name", self.peek())),
        };
        self.bump();
        let open = self.peek().span;
        self.bump();
        self.enter(open.start)?;
        let args = self.call_args(function);
        self.leave();
        let (args, depth, close) = args?;
        check_arity(function, args.len(), name_span)?;
        Ok(Parsed {
            node: Box::new(Node {
                kind: NodeKind::Call { function, args },
                span: name_span.to(close),
            }),
            depth,
        })
    }

    /// The arguments of a call after its `(`, the tree depth of the call and the span of `)`.
    fn call_args(&mut self, function: Function) -> Result<(Vec<Node>, usize, Span), ExprError> {
        let mut args = Vec::new();
        let mut depth = 1;
        if let Some(close) = self.eat(&Tok::RParen) {
            return Ok((args, depth, close));
        }
        loop {
            let arg = if function.takes_lambda() && args.len() == 1 {
                self.lambda(function)?
            } else {
                self.expr_bp(0)?
            };
            depth = depth.max(arg.depth + 1);
            if depth > MAX_DEPTH {
                return Err(too_deep(arg.node.span.start));
            }
            args.push(*arg.node);
            if let Some(close) = self.eat(&Tok::RParen) {
                return Ok((args, depth, close));
            }
            if self.eat(&Tok::Comma).is_none() {
                return Err(bad_argument_separator(self.peek(), function));
            }
        }
    }
}

impl Parser {
    /// `lambda = name "=>" expr`, the second argument of `map`, `any` and `all`.
    fn lambda(&mut self, function: Function) -> Result<Parsed, ExprError> {
        let start = self.peek().span;
        let param = match &self.peek().tok {
            Tok::Ident(name) if !name.contains('.') => name.clone(),
            _ => return Err(expected_lambda(self.peek(), function)),
        };
        self.bump();
        if self.eat(&Tok::FatArrow).is_none() {
            return Err(expected_lambda(self.peek(), function));
        }
        let body = self.expr_bp(0)?;
        let depth = body.depth + 1;
        if depth > MAX_DEPTH {
            return Err(too_deep(start.start));
        }
        Ok(Parsed {
            node: Box::new(Node {
                span: start.to(body.node.span),
                kind: NodeKind::Lambda {
                    param,
                    body: body.node,
                },
            }),
            depth,
        })
    }
}

#[cold]
#[inline(never)]
fn expected_lambda(found: &Token, function: Function) -> ExprError {
    expected(
        &format!(
            "a lambda `x => …` as the second argument of `{}`",
            function.name()
        ),
        found,
    )
}

/// "expected X, found Y" (or "unexpected end of input, expected X").
#[cold]
#[inline(never)]
fn expected(what: &str, found: &Token) -> ExprError {
    let message = if found.tok == Tok::Eof {
        format!("unexpected end of input, expected {what}")
    } else {
        format!("expected {what}, found {}", found.tok.describe())
    };
    err(found.span.start, message)
}

#[cold]
#[inline(never)]
fn unclosed(found: &Token, open: Span) -> ExprError {
    expected(
        &format!("`)` to close the `(` at byte {}", open.start),
        found,
    )
}

#[cold]
#[inline(never)]
fn bad_argument_separator(found: &Token, function: Function) -> ExprError {
    expected(
        &format!("`,` or `)` in the arguments of `{}`", function.name()),
        found,
    )
}

#[cold]
#[inline(never)]
fn chained(op_span: Span, op: BinaryOp, previous: BinaryOp) -> ExprError {
    err(
        op_span.start,
        format!(
            "comparison operators cannot be chained: `{}` follows `{}`; combine comparisons with `&&`",
            op.symbol(),
            previous.symbol()
        ),
    )
}

#[cold]
#[inline(never)]
fn unknown_function(name: &str, span: Span) -> ExprError {
    let message = if name.contains('.') {
        format!("`{name}` is a field path, not a function")
    } else {
        let known: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        format!(
            "unknown function `{name}` (known functions: {})",
            known.join(", ")
        )
    };
    err(span.start, message)
}

fn check_arity(function: Function, got: usize, name_span: Span) -> Result<(), ExprError> {
    let (min, max) = function.arity();
    if got >= min && max.is_none_or(|max| got <= max) {
        return Ok(());
    }
    let expected = match max {
        Some(max) if max == min => format!("{min}"),
        _ => format!("at least {min}"),
    };
    let plural = if expected == "1" { "" } else { "s" };
    Err(err(
        name_span.start,
        format!(
            "function `{}` takes {expected} argument{plural}, got {got}",
            function.name()
        ),
    ))
}
