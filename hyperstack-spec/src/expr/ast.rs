//! The syntax tree of an expression.

use std::fmt;

/// A byte range `start..end` into the source text of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span from the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`: numeric negation.
    Neg,
    /// `!x`: boolean negation.
    Not,
}

impl UnaryOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Not => "!",
        }
    }
}

/// An infix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `??`: null-coalescing.
    Coalesce,
    /// `||`: logical or.
    Or,
    /// `&&`: logical and.
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`: always produces a float.
    Div,
    /// `%`: remainder.
    Rem,
}

impl BinaryOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Coalesce => "??",
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `abs(x)`
    Abs,
    /// `min(a, b)`
    Min,
    /// `max(a, b)`
    Max,
    /// `round(x)`
    Round,
    /// `floor(x)`
    Floor,
    /// `ceil(x)`
    Ceil,
    /// `if(cond, then, else)`
    If,
    /// `coalesce(a, b, ...)`
    Coalesce,
    /// `u64_le(bytes, offset)`: eight bytes of a list, little-endian.
    U64Le,
    /// `xor(a, b, ...)`: bitwise exclusive or.
    Xor,
    /// `reverse_bits(x)`: the 64 bits of `x` in reverse order.
    ReverseBits,
    /// `map(list, x => expr)`
    Map,
    /// `any(list, x => cond)`
    Any,
    /// `all(list, x => cond)`
    All,
    /// `len(list or string)`
    Len,
    /// `ui_amount(amount, decimals)`: an integer amount of base units in whole units.
    UiAmount,
}

impl Function {
    /// Every built-in function, in documentation order.
    pub const ALL: [Function; 16] = [
        Function::Abs,
        Function::Min,
        Function::Max,
        Function::Round,
        Function::Floor,
        Function::Ceil,
        Function::If,
        Function::Coalesce,
        Function::U64Le,
        Function::Xor,
        Function::ReverseBits,
        Function::Map,
        Function::Any,
        Function::All,
        Function::Len,
        Function::UiAmount,
    ];

    /// The function's name as written in source.
    pub fn name(self) -> &'static str {
        match self {
            Function::Abs => "abs",
            Function::Min => "min",
            Function::Max => "max",
            Function::Round => "round",
            Function::Floor => "floor",
            Function::Ceil => "ceil",
            Function::If => "if",
            Function::Coalesce => "coalesce",
            Function::U64Le => "u64_le",
            Function::Xor => "xor",
            Function::ReverseBits => "reverse_bits",
            Function::Map => "map",
            Function::Any => "any",
            Function::All => "all",
            Function::Len => "len",
            Function::UiAmount => "ui_amount",
        }
    }

    /// Whether the second argument is a lambda (`x => expr`) applied to each list item.
    pub fn takes_lambda(self) -> bool {
        matches!(self, Function::Map | Function::Any | Function::All)
    }

    /// Looks a function up by name.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The accepted number of arguments: a minimum and, unless variadic, a maximum.
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            Function::Abs
            | Function::Round
            | Function::Floor
            | Function::Ceil
            | Function::ReverseBits
            | Function::Len => (1, Some(1)),
            Function::Min
            | Function::Max
            | Function::U64Le
            | Function::Map
            | Function::Any
            | Function::All
            | Function::UiAmount => (2, Some(2)),
            Function::If => (3, Some(3)),
            Function::Coalesce | Function::Xor => (2, None),
        }
    }
}

/// A node of the syntax tree, with the byte span of the source text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// Where the node is in the source text.
    pub span: Span,
}

/// The kinds of syntax tree node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// The `null` literal.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer literal (always non-negative; `-1` is a negation).
    Int(i128),
    /// A float literal (always finite and non-negative).
    Float(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// A reference to a field of the entity, by dotted path (`last_trade.sol_amount`).
    Field(String),
    /// A prefix operator applied to an operand.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Node>,
    },
    /// An infix operator applied to two operands.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Where the operator itself is.
        op_span: Span,
        /// The left operand.
        lhs: Box<Node>,
        /// The right operand.
        rhs: Box<Node>,
    },
    /// A call of a built-in function (the parser guarantees the arity).
    Call {
        /// The function.
        function: Function,
        /// The arguments.
        args: Vec<Node>,
    },
    /// `x => body`: the function applied to each item by `map`, `any` and `all` (only valid
    /// as their second argument). Inside `body`, `x` (and `x.field`) names the item.
    Lambda {
        /// The parameter's name.
        param: String,
        /// The body.
        body: Box<Node>,
    },
}

impl Node {
    /// Appends every field path referenced below this node to `out`, skipping duplicates and
    /// the parameters of enclosing lambdas (`bound`).
    pub(super) fn collect_references(&self, bound: &mut Vec<String>, out: &mut Vec<String>) {
        match &self.kind {
            NodeKind::Field(path) => {
                let head = path.split('.').next().unwrap_or_default();
                if !bound.iter().any(|b| b == head) && !out.iter().any(|p| p == path) {
                    out.push(path.clone());
                }
            }
            NodeKind::Unary { operand, .. } => operand.collect_references(bound, out),
            NodeKind::Binary { lhs, rhs, .. } => {
                lhs.collect_references(bound, out);
                rhs.collect_references(bound, out);
            }
            NodeKind::Call { args, .. } => {
                for arg in args {
                    arg.collect_references(bound, out);
                }
            }
            NodeKind::Lambda { param, body } => {
                bound.push(param.clone());
                body.collect_references(bound, out);
                bound.pop();
            }
            NodeKind::Null
            | NodeKind::Bool(_)
            | NodeKind::Int(_)
            | NodeKind::Float(_)
            | NodeKind::Str(_) => {}
        }
    }
}

/// Writes `s` as a string literal of the language.
pub(super) fn write_string_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// A canonical, fully parenthesised rendering that parses back to the same tree shape
/// (`a + b * c` renders as `(a + (b * c))`).
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            NodeKind::Null => f.write_str("null"),
            NodeKind::Bool(b) => write!(f, "{b}"),
            NodeKind::Int(i) => write!(f, "{i}"),
            // `{:?}` always includes a `.` or an exponent, so it reads back as a float.
            NodeKind::Float(x) => write!(f, "{x:?}"),
            NodeKind::Str(s) => write_string_literal(f, s),
            NodeKind::Field(path) => f.write_str(path),
            NodeKind::Unary { op, operand } => write!(f, "({}{operand})", op.symbol()),
            NodeKind::Binary { op, lhs, rhs, .. } => write!(f, "({lhs} {} {rhs})", op.symbol()),
            NodeKind::Call { function, args } => {
                write!(f, "{}(", function.name())?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
            NodeKind::Lambda { param, body } => write!(f, "{param} => {body}"),
        }
    }
}
