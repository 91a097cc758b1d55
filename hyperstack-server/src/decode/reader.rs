//! Layout-driven decoding of bytes: Borsh, C layout (bytemuck, with alignment and padding)
//! and packed C layout. Never panics; every failure is a [`DecodeError`].

use crate::source::Pubkey;
use crate::spec::idl::{IdlPrimitive, Layout, LayoutFields, Serialization};

use super::value::Value;

/// Largest input decoded (Solana's maximum account size, 10 MiB).
pub const MAX_DATA_LEN: usize = 10 * 1024 * 1024;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The data ends before the layout does.
    #[error("data ends at byte {at}: {needed} more bytes needed")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
        /// How many.
        needed: usize,
    },
    /// A length is larger than the data could hold, or the data exceeds [`MAX_DATA_LEN`].
    #[error("length {len} at byte {at} exceeds the {limit} bytes available")]
    Oversized {
        /// Offset of the length (0 for the whole input).
        at: usize,
        /// The length.
        len: usize,
        /// What was available.
        limit: usize,
    },
    /// No account / instruction / event of the program starts with these bytes.
    #[error("unknown {item} discriminator {prefix}")]
    UnknownDiscriminator {
        /// `account`, `instruction` or `event`.
        item: &'static str,
        /// Hex of the first bytes.
        prefix: String,
    },
    /// A byte that must be 0 or 1 (bool, option tag) is not.
    #[error("invalid {what} tag {tag} at byte {at}")]
    InvalidTag {
        /// `bool`, `option` or `enum`.
        what: &'static str,
        /// The tag.
        tag: u32,
        /// Its offset.
        at: usize,
    },
    /// A string is not UTF-8.
    #[error("string at byte {at} is not UTF-8")]
    InvalidUtf8 {
        /// Offset of the string's bytes.
        at: usize,
    },
    /// The layout cannot be decoded in this serialization (e.g. a `Vec` in a C layout).
    #[error("{what} cannot be decoded from a {mode} layout")]
    Unsupported {
        /// The type.
        what: &'static str,
        /// The serialization.
        mode: &'static str,
    },
    /// A base64 event payload in the logs is malformed.
    #[error("invalid base64 in a `Program data:` log line")]
    InvalidBase64,
}

impl DecodeError {
    /// A short class for metrics and logs: `truncated`, `oversized`, `unknown`, `invalid`,
    /// `unsupported`.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::Oversized { .. } => "oversized",
            DecodeError::UnknownDiscriminator { .. } => "unknown",
            DecodeError::InvalidTag { .. }
            | DecodeError::InvalidUtf8 { .. }
            | DecodeError::InvalidBase64 => "invalid",
            DecodeError::Unsupported { .. } => "unsupported",
        }
    }
}

/// How a type's bytes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Borsh.
    Borsh,
    /// `#[repr(C)]`: fields aligned, structs padded to their alignment.
    C,
    /// C layout without padding.
    Packed,
}

impl Mode {
    /// The mode of a type definition's serialization.
    pub fn of(s: Serialization) -> Mode {
        match s {
            Serialization::Borsh => Mode::Borsh,
            Serialization::Bytemuck => Mode::C,
            Serialization::BytemuckPacked => Mode::Packed,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Borsh => "borsh",
            Mode::C => "C (bytemuck)",
            Mode::Packed => "packed C",
        }
    }
}

/// Decodes `data` as `layout`. Trailing bytes are ignored (accounts are often allocated
/// larger than their type, and Anchor reads instruction data the same way).
pub fn decode(layout: &Layout, mode: Mode, data: &[u8]) -> Result<Value, DecodeError> {
    if data.len() > MAX_DATA_LEN {
        return Err(DecodeError::Oversized {
            at: 0,
            len: data.len(),
            limit: MAX_DATA_LEN,
        });
    }
    let mut r = Reader { data, pos: 0 };
    r.value(layout, mode)
}

/// Alignment of a layout in C mode (Solana's SBF target aligns 128-bit integers to 8).
fn c_align(layout: &Layout) -> usize {
    match layout {
        Layout::Primitive(p) => match p {
            IdlPrimitive::U16 | IdlPrimitive::I16 => 2,
            IdlPrimitive::U32 | IdlPrimitive::I32 | IdlPrimitive::F32 => 4,
            IdlPrimitive::U64
            | IdlPrimitive::I64
            | IdlPrimitive::F64
            | IdlPrimitive::U128
            | IdlPrimitive::I128 => 8,
            _ => 1,
        },
        Layout::COption(inner) => c_align(inner).max(4),
        Layout::Array(inner, _) => c_align(inner),
        Layout::Struct { fields, .. } => fields_align(fields),
        Layout::Option(_) | Layout::Vec(_) | Layout::Enum { .. } => 1,
    }
}

fn fields_align(fields: &LayoutFields) -> usize {
    match fields {
        LayoutFields::Unit => 1,
        LayoutFields::Named(f) => f.iter().map(|(_, l)| c_align(l)).max().unwrap_or(1),
        LayoutFields::Tuple(f) => f.iter().map(c_align).max().unwrap_or(1),
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let out = &self.data[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => Err(DecodeError::Truncated {
                at: self.pos,
                needed: n.saturating_sub(self.data.len().saturating_sub(self.pos)),
            }),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn len_prefix(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let len = self.u32()? as usize;
        let limit = self.data.len().saturating_sub(self.pos);
        if len > limit {
            return Err(DecodeError::Oversized { at, len, limit });
        }
        Ok(len)
    }

    fn pad_to(&mut self, start: usize, align: usize) -> Result<(), DecodeError> {
        let rel = self.pos.saturating_sub(start) % align.max(1);
        if rel != 0 {
            self.take(align - rel)?;
        }
        Ok(())
    }

    fn primitive(&mut self, p: IdlPrimitive, mode: Mode) -> Result<Value, DecodeError> {
        Ok(match p {
            IdlPrimitive::Bool => {
                let at = self.pos;
                match self.u8()? {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    tag => {
                        return Err(DecodeError::InvalidTag {
                            what: "bool",
                            tag: u32::from(tag),
                            at,
                        })
                    }
                }
            }
            IdlPrimitive::U8 => Value::U64(u64::from(self.u8()?)),
            IdlPrimitive::U16 => Value::U64(u64::from(u16::from_le_bytes(self.array()?))),
            IdlPrimitive::U32 => Value::U64(u64::from(self.u32()?)),
            IdlPrimitive::U64 => Value::U64(u64::from_le_bytes(self.array()?)),
            IdlPrimitive::U128 => Value::U128(u128::from_le_bytes(self.array()?)),
            IdlPrimitive::I8 => Value::I64(i64::from(i8::from_le_bytes(self.array()?))),
            IdlPrimitive::I16 => Value::I64(i64::from(i16::from_le_bytes(self.array()?))),
            IdlPrimitive::I32 => Value::I64(i64::from(i32::from_le_bytes(self.array()?))),
            IdlPrimitive::I64 => Value::I64(i64::from_le_bytes(self.array()?)),
            IdlPrimitive::I128 => Value::I128(i128::from_le_bytes(self.array()?)),
            IdlPrimitive::F32 => Value::F64(f64::from(f32::from_le_bytes(self.array()?))),
            IdlPrimitive::F64 => Value::F64(f64::from_le_bytes(self.array()?)),
            IdlPrimitive::U256 => Value::Wide(self.array()?, false),
            IdlPrimitive::I256 => Value::Wide(self.array()?, true),
            IdlPrimitive::Pubkey => Value::Pubkey(Pubkey(self.array()?)),
            IdlPrimitive::String | IdlPrimitive::Bytes if mode != Mode::Borsh => {
                return Err(DecodeError::Unsupported {
                    what: "a variable-length string or bytes",
                    mode: mode.name(),
                })
            }
            IdlPrimitive::String => {
                let len = self.len_prefix()?;
                let at = self.pos;
                let bytes = self.take(len)?;
                match std::str::from_utf8(bytes) {
                    Ok(s) => Value::String(s.to_string()),
                    Err(_) => return Err(DecodeError::InvalidUtf8 { at }),
                }
            }
            IdlPrimitive::Bytes => {
                let len = self.len_prefix()?;
                Value::Bytes(self.take(len)?.to_vec())
            }
        })
    }

    fn fields(&mut self, fields: &LayoutFields, mode: Mode) -> Result<Vec<Value>, DecodeError> {
        let layouts: Vec<&Layout> = match fields {
            LayoutFields::Unit => return Ok(Vec::new()),
            LayoutFields::Named(f) => f.iter().map(|(_, l)| l).collect(),
            LayoutFields::Tuple(f) => f.iter().collect(),
        };
        let start = self.pos;
        let mut out = Vec::with_capacity(layouts.len());
        for l in layouts {
            if mode == Mode::C {
                self.pad_to(start, c_align(l))?;
            }
            out.push(self.value(l, mode)?);
        }
        if mode == Mode::C {
            self.pad_to(start, fields_align(fields))?;
        }
        Ok(out)
    }

    fn value(&mut self, layout: &Layout, mode: Mode) -> Result<Value, DecodeError> {
        match layout {
            Layout::Primitive(p) => self.primitive(*p, mode),
            Layout::Option(inner) => {
                if mode != Mode::Borsh {
                    return Err(DecodeError::Unsupported {
                        what: "an Option",
                        mode: mode.name(),
                    });
                }
                let at = self.pos;
                match self.u8()? {
                    0 => Ok(Value::Option(None)),
                    1 => Ok(Value::Option(Some(Box::new(self.value(inner, mode)?)))),
                    tag => Err(DecodeError::InvalidTag {
                        what: "option",
                        tag: u32::from(tag),
                        at,
                    }),
                }
            }
            Layout::COption(inner) => {
                let start = self.pos;
                let tag = self.u32()?;
                if mode == Mode::C {
                    self.pad_to(start, c_align(inner))?;
                }
                let present = match tag {
                    0 => false,
                    1 => true,
                    tag => {
                        return Err(DecodeError::InvalidTag {
                            what: "option",
                            tag,
                            at: start,
                        })
                    }
                };
                if mode == Mode::Borsh && !present {
                    return Ok(Value::Option(None));
                }
                // Zero-copy layouts always hold the value, present or not.
                let v = self.value(inner, mode)?;
                if mode == Mode::C {
                    self.pad_to(start, c_align(layout))?;
                }
                Ok(Value::Option(present.then(|| Box::new(v))))
            }
            Layout::Vec(inner) => {
                if mode != Mode::Borsh {
                    return Err(DecodeError::Unsupported {
                        what: "a Vec",
                        mode: mode.name(),
                    });
                }
                let len = self.len_prefix()?;
                let mut items = Vec::with_capacity(len.min(1024));
                for _ in 0..len {
                    items.push(self.value(inner, mode)?);
                }
                Ok(Value::List(items))
            }
            Layout::Array(inner, n) => {
                if matches!(**inner, Layout::Primitive(IdlPrimitive::U8)) {
                    let bytes = self.take(*n)?;
                    return Ok(Value::List(
                        bytes.iter().map(|&b| Value::U64(u64::from(b))).collect(),
                    ));
                }
                let limit = self.data.len().saturating_sub(self.pos);
                if *n > limit {
                    return Err(DecodeError::Oversized {
                        at: self.pos,
                        len: *n,
                        limit,
                    });
                }
                let mut items = Vec::with_capacity(*n);
                for _ in 0..*n {
                    items.push(self.value(inner, mode)?);
                }
                Ok(Value::List(items))
            }
            Layout::Struct { fields, .. } => Ok(Value::Struct(self.fields(fields, mode)?)),
            Layout::Enum { variants, .. } => {
                let at = self.pos;
                let tag = self.u8()?;
                let Some((_, fields)) = variants.get(usize::from(tag)) else {
                    return Err(DecodeError::InvalidTag {
                        what: "enum",
                        tag: u32::from(tag),
                        at,
                    });
                };
                if mode != Mode::Borsh && !fields.is_empty() {
                    return Err(DecodeError::Unsupported {
                        what: "an enum with data",
                        mode: mode.name(),
                    });
                }
                Ok(Value::Enum(u32::from(tag), self.fields(fields, mode)?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(p: IdlPrimitive) -> Layout {
        Layout::Primitive(p)
    }

    fn st(fields: Vec<Layout>) -> Layout {
        Layout::Struct {
            name: "S".into(),
            fields: LayoutFields::Named(
                fields
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (format!("f{i}"), l))
                    .collect(),
            ),
        }
    }

    #[test]
    fn borsh_struct_with_string_vec_option() {
        let layout = st(vec![
            p(IdlPrimitive::U8),
            p(IdlPrimitive::String),
            Layout::Vec(Box::new(p(IdlPrimitive::U16))),
            Layout::Option(Box::new(p(IdlPrimitive::U64))),
        ]);
        let mut data = vec![7u8, 2, 0, 0, 0, b'h', b'i', 2, 0, 0, 0, 1, 0, 2, 0, 1];
        data.extend_from_slice(&9u64.to_le_bytes());
        let v = decode(&layout, Mode::Borsh, &data).unwrap();
        assert_eq!(
            v,
            Value::Struct(vec![
                Value::U64(7),
                Value::String("hi".into()),
                Value::List(vec![Value::U64(1), Value::U64(2)]),
                Value::Option(Some(Box::new(Value::U64(9)))),
            ])
        );
    }

    #[test]
    fn c_layout_aligns_and_pads() {
        // struct { a: u8, b: u64, c: u16 } = 1 + 7 pad + 8 + 2 + 6 pad = 24 bytes
        let layout = st(vec![
            p(IdlPrimitive::U8),
            p(IdlPrimitive::U64),
            p(IdlPrimitive::U16),
        ]);
        let mut data = vec![1u8, 0, 0, 0, 0, 0, 0, 0];
        data.extend_from_slice(&5u64.to_le_bytes());
        data.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0]);
        let arr = Layout::Array(Box::new(layout.clone()), 2);
        let mut two = data.clone();
        two.extend_from_slice(&data);
        match decode(&arr, Mode::C, &two).unwrap() {
            Value::List(items) => {
                assert_eq!(items.len(), 2);
                assert_eq!(items[1].child(1), Some(&Value::U64(5)));
                assert_eq!(items[1].child(2), Some(&Value::U64(3)));
            }
            other => panic!("{other:?}"),
        }
        // Packed: no padding.
        let packed = [1u8, 5, 0, 0, 0, 0, 0, 0, 0, 3, 0];
        assert_eq!(
            decode(&layout, Mode::Packed, &packed).unwrap().child(2),
            Some(&Value::U64(3))
        );
        assert!(matches!(
            decode(&st(vec![p(IdlPrimitive::String)]), Mode::C, &[0; 8]),
            Err(DecodeError::Unsupported { .. })
        ));
    }

    #[test]
    fn errors_are_typed() {
        let layout = st(vec![p(IdlPrimitive::U64)]);
        assert_eq!(
            decode(&layout, Mode::Borsh, &[1, 2, 3]),
            Err(DecodeError::Truncated { at: 0, needed: 5 })
        );
        let s = st(vec![p(IdlPrimitive::String)]);
        assert!(matches!(
            decode(&s, Mode::Borsh, &[255, 255, 255, 255]),
            Err(DecodeError::Oversized {
                len: 4294967295,
                ..
            })
        ));
        assert!(matches!(
            decode(&s, Mode::Borsh, &[1, 0, 0, 0, 0xff]),
            Err(DecodeError::InvalidUtf8 { at: 4 })
        ));
        assert!(matches!(
            decode(&st(vec![p(IdlPrimitive::Bool)]), Mode::Borsh, &[2]),
            Err(DecodeError::InvalidTag { what: "bool", .. })
        ));
        let e = Layout::Enum {
            name: "E".into(),
            variants: vec![("A".into(), LayoutFields::Unit)],
        };
        assert_eq!(decode(&e, Mode::Borsh, &[1]).unwrap_err().kind(), "invalid");
        assert_eq!(
            decode(&layout, Mode::Borsh, &vec![0; MAX_DATA_LEN + 1])
                .unwrap_err()
                .kind(),
            "oversized"
        );
    }
}
