//! Ranks as byte strings whose lexicographic order is the view order, so an ordered
//! key-value store can keep a sorted view on disk: `rank bytes ++ entity key` sorts exactly
//! like `(Rank, key)`.
//!
//! The encoding is prefix-free (no rank's bytes are a proper prefix of another's), which is
//! what lets the entity key follow it directly and lets a descending rank be the bytewise
//! complement of the ascending one. Values equal in the view order (`2`, `2.0`, `"002"`)
//! encode to the same bytes.
//!
//! | rank | bytes |
//! | --- | --- |
//! | ascending value `v` | `0x01`, `value(v)` |
//! | descending value `v` | `0x02`, `!value(v)` (every byte complemented) |
//! | missing | `0x03` |
//!
//! `value`: a number is `0x10` then its sign (`0x01` negative, `0x02` zero, `0x03` positive)
//! and, unless zero, its magnitude as `0.d₁d₂…dₙ × 10^E` (d₁ ≠ 0, no trailing zeros): `E` as
//! a big-endian `u64` biased by 2^63, then the ASCII digits, then `0x00` — complemented for a
//! negative number. A string is `0x20`, its bytes with `0x00` escaped as `0x00 0xFF`, then
//! `0x00 0x00`. A boolean is `0x30` and `0x00` or `0x01`.
//!
//! Floats that are not integers use their shortest round-trip decimal digits: distinct
//! floats keep distinct, ordered digits, and (below 2^53, where every integer is a float) no
//! integer lies between a float and its shortest digits, so comparisons with integers stay
//! exact. Integral floats use their exact digits.

use super::{Key, Num, Rank, RankInner, SortValue};

const ASC: u8 = 0x01;
const DESC: u8 = 0x02;
const LAST: u8 = 0x03;

const NUM: u8 = 0x10;
const STR: u8 = 0x20;
const BOOL: u8 = 0x30;

const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;

impl Rank {
    /// Appends the rank's bytes to `out`: byte strings compare like ranks, and
    /// `bytes ++ key` compares like `(Rank, key)` (see the module documentation).
    ///
    /// ```
    /// use hyperstack_spec::wire::Rank;
    /// use hyperstack_spec::SortOrder;
    /// use serde_json::json;
    ///
    /// let bytes = |v| {
    ///     let mut out = Vec::new();
    ///     Rank::new(Some(&v), SortOrder::Desc).write_bytes(&mut out);
    ///     out
    /// };
    /// assert!(bytes(json!("18446744073709551616")) < bytes(json!(5.5)));
    /// assert_eq!(bytes(json!(2)), bytes(json!("002")));
    /// assert!(bytes(json!(-1)) < bytes(json!(null)), "missing values last");
    /// ```
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        match &self.0 {
            RankInner::Asc(v) => {
                out.push(ASC);
                v.write_bytes(out);
            }
            RankInner::Desc(v) => {
                out.push(DESC);
                let start = out.len();
                v.0.write_bytes(out);
                complement(&mut out[start..]);
            }
            RankInner::Last => out.push(LAST),
        }
    }
}

impl SortValue {
    /// Appends the value's ascending-order bytes (prefix-free).
    fn write_bytes(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Key::Num(n) => {
                out.push(NUM);
                write_num(n.borrowed(), out);
            }
            Key::Str(s) => {
                out.push(STR);
                for &b in s.as_bytes() {
                    out.push(b);
                    if b == 0 {
                        out.push(0xFF);
                    }
                }
                out.extend_from_slice(&[0, 0]);
            }
            Key::Bool(b) => {
                out.push(BOOL);
                out.push(u8::from(*b));
            }
        }
    }
}

fn complement(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

/// Sign, then the magnitude's exponent and digits (complemented when negative).
fn write_num(n: Num<&str>, out: &mut Vec<u8>) {
    let (negative, digits, exponent) = match n {
        Num::Int(0) => return out.push(ZERO),
        Num::Int(i) => {
            let digits = i.unsigned_abs().to_string();
            let e = digits.len() as i64;
            (i < 0, digits, e)
        }
        Num::Big { negative, digits } => (negative, digits.to_string(), digits.len() as i64),
        Num::Float(f) if f.abs() == 0.0 => return out.push(ZERO),
        Num::Float(f) if f.fract() == 0.0 => {
            // Integral: `{:.0}` prints its exact digits.
            let digits = format!("{:.0}", f.abs());
            let e = digits.len() as i64;
            (f < 0.0, digits, e)
        }
        Num::Float(f) => {
            // `d.ddd…e±x` (shortest round trip) = 0.dddd… × 10^(x + 1).
            let text = format!("{:e}", f.abs());
            let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
            let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
            let x: i64 = exp.parse().unwrap_or(0);
            (f < 0.0, digits, x + 1)
        }
    };
    let digits = digits.trim_end_matches('0');
    out.push(if negative { NEGATIVE } else { POSITIVE });
    let start = out.len();
    out.extend_from_slice(&((exponent as u64) ^ (1 << 63)).to_be_bytes());
    out.extend_from_slice(digits.as_bytes());
    out.push(0);
    if negative {
        complement(&mut out[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SortOrder;
    use serde_json::{json, Value};

    /// A deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Values chosen to collide: near-equal numbers in every representation, strings with
    /// NUL bytes and common prefixes, booleans and missing values.
    fn value(rng: &mut Rng) -> Value {
        let small = rng.below(41) as i64 - 20;
        match rng.below(14) {
            0 => json!(small),
            1 => json!(small as f64),
            2 => json!(small as f64 + [0.5, 0.25, 1e-9, -0.1][rng.below(4) as usize]),
            3 => json!(small.to_string()),
            4 => json!(format!(
                "{}{}",
                "9".repeat(rng.below(45) as usize),
                small.abs()
            )),
            5 => json!(format!("-{}", "9".repeat(30 + rng.below(15) as usize))),
            6 => json!(f64::from_bits(rng.next() & !(1 << 63))),
            7 => json!(-f64::from_bits(rng.next() >> 2)),
            8 => json!((2u128.pow(53) as f64) * small as f64),
            9 => json!(["", "a", "a\u{0}", "a\u{0}b", "ab", "b", "\u{0}"][rng.below(7) as usize]),
            10 => json!(rng.below(2) == 0),
            11 => json!(null),
            12 => json!(u64::MAX - rng.below(3)),
            _ => json!(i64::MIN + rng.below(3) as i64),
        }
    }

    fn bytes(rank: &Rank, key: &str) -> Vec<u8> {
        let mut out = Vec::new();
        rank.write_bytes(&mut out);
        out.extend_from_slice(key.as_bytes());
        out
    }

    #[test]
    fn byte_order_is_the_rank_order() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let items: Vec<(Value, String)> = (0..400)
                .map(|_| (value(&mut rng), format!("k{}", rng.below(4))))
                .collect();
            let ranked: Vec<(Rank, &str, Vec<u8>)> = items
                .iter()
                .map(|(v, k)| {
                    let r = Rank::new(Some(v), order);
                    let b = bytes(&r, k);
                    (r, k.as_str(), b)
                })
                .collect();
            for (i, a) in ranked.iter().enumerate() {
                for (j, b) in ranked.iter().enumerate() {
                    assert_eq!(
                        (&a.0, a.1).cmp(&(&b.0, b.1)),
                        a.2.cmp(&b.2),
                        "{order:?}: {} {:?} vs {} {:?}",
                        items[i].0,
                        a.1,
                        items[j].0,
                        b.1
                    );
                }
            }
        }
    }

    #[test]
    fn equal_values_encode_equally() {
        let enc = |v: Value| bytes(&Rank::new(Some(&v), SortOrder::Asc), "");
        assert_eq!(enc(json!(2)), enc(json!(2.0)));
        assert_eq!(enc(json!(2)), enc(json!("0002")));
        assert_eq!(enc(json!(0)), enc(json!(-0.0)));
        assert_eq!(enc(json!(-1000)), enc(json!("-1000")));
        assert_eq!(
            enc(json!(1e300)),
            enc(json!(format!("{:.0}", 1e300))),
            "an integral float equals its digits"
        );
        assert_ne!(enc(json!(0.1)), enc(json!(0.1 + 1e-17)));
        assert_eq!(enc(json!(null)), enc(json!([1])));
    }
}
