//! Numbers of the view order, compared exactly: integers of any size (from JSON numbers or
//! strings of decimal digits) and floats.

use std::cmp::Ordering;

/// A number. `S` holds the digits of an integer beyond `i128` (a `&str` while comparing
/// borrowed values, a `Box<str>` inside an owned [`super::SortValue`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num<S> {
    /// An integer that fits in `i128`.
    Int(i128),
    /// An integer beyond `i128`: its sign and its digits, without leading zeros.
    Big { negative: bool, digits: S },
    /// A float that is not NaN.
    Float(f64),
}

/// 2^127 as a float (exact): the floats at or beyond it in magnitude lie outside `i128`.
const TWO_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

impl<S: AsRef<str>> Num<S> {
    /// The same number borrowing its digits.
    pub fn borrowed(&self) -> Num<&str> {
        match self {
            Num::Int(i) => Num::Int(*i),
            Num::Big { negative, digits } => Num::Big {
                negative: *negative,
                digits: digits.as_ref(),
            },
            Num::Float(f) => Num::Float(*f),
        }
    }
}

impl<'a> Num<&'a str> {
    /// `-?[0-9]+` as a number; `None` for any other string.
    pub fn parse_digits(s: &'a str) -> Option<Num<&'a str>> {
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if let Ok(i) = s.parse::<i128>() {
            return Some(Num::Int(i));
        }
        let digits = digits.trim_start_matches('0');
        Some(Num::Big { negative, digits })
    }

    /// The same number owning its digits.
    pub fn to_owned(self) -> Num<Box<str>> {
        match self {
            Num::Int(i) => Num::Int(i),
            Num::Big { negative, digits } => Num::Big {
                negative,
                digits: digits.into(),
            },
            Num::Float(f) => Num::Float(f),
        }
    }

    /// Exact comparison by value.
    pub fn cmp_num(self, other: Num<&str>) -> Ordering {
        use Num::*;
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(&b),
            // Neither is NaN; -0.0 equals 0.0, as it equals the integer 0.
            (Float(a), Float(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            (Int(a), Float(b)) => cmp_int_float(a, b),
            (Float(a), Int(b)) => cmp_int_float(b, a).reverse(),
            (
                Big {
                    negative: na,
                    digits: a,
                },
                Big {
                    negative: nb,
                    digits: b,
                },
            ) => cmp_big(na, a, nb, b),
            // A big integer lies beyond every i128.
            (Big { negative, .. }, Int(_)) => beyond(negative),
            (Int(_), Big { negative, .. }) => beyond(negative).reverse(),
            (Big { negative, digits }, Float(f)) => cmp_big_float(negative, digits, f),
            (Float(f), Big { negative, digits }) => cmp_big_float(negative, digits, f).reverse(),
        }
    }
}

/// Where a value beyond the `i128` range lies relative to one inside it.
fn beyond(negative: bool) -> Ordering {
    if negative {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// Integers by sign, then magnitude (digits without leading zeros: longer is larger).
fn cmp_big(na: bool, a: &str, nb: bool, b: &str) -> Ordering {
    match (na, nb) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (negative, _) => {
            let magnitude = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
            if negative {
                magnitude.reverse()
            } else {
                magnitude
            }
        }
    }
}

/// An integer beyond `i128` against a float.
fn cmp_big_float(negative: bool, digits: &str, f: f64) -> Ordering {
    if f.abs() < TWO_127 {
        return beyond(negative);
    }
    // |f| >= 2^127 > 2^53: `f` is an integer, and `{:.0}` prints its exact decimal digits.
    let text = format!("{:.0}", f.abs());
    cmp_big(negative, digits, f < 0.0, &text)
}

/// Exact comparison of an integer with a (non-NaN) float.
fn cmp_int_float(i: i128, f: f64) -> Ordering {
    if f >= TWO_127 {
        return Ordering::Less;
    }
    if f < -TWO_127 {
        return Ordering::Greater;
    }
    let t = f.trunc();
    // In range: `t` is an integer that i128 holds exactly (-2^127 included).
    i.cmp(&(t as i128))
        .then_with(|| 0.0f64.partial_cmp(&(f - t)).unwrap_or(Ordering::Equal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Num<&str> {
        Num::parse_digits(s).expect("digits")
    }

    #[test]
    fn digits_parse_as_integers_of_any_size() {
        assert!(matches!(n("007"), Num::Int(7)));
        assert!(matches!(n("-0"), Num::Int(0)));
        let big = "1".repeat(45);
        assert!(matches!(n(&big), Num::Big { negative: false, digits } if digits.len() == 45));
        assert!(matches!(
            n(&format!("-000{big}")),
            Num::Big { negative: true, digits } if digits.len() == 45
        ));
        for bad in ["", "-", "1.5", "+1", "1e3", " 1", "0x10", "١"] {
            assert!(Num::parse_digits(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn exact_at_the_edges() {
        let max = i128::MAX.to_string();
        let above = "170141183460469231731687303715884105728"; // 2^127
        assert_eq!(n(above).cmp_num(n(&max)), Ordering::Greater);
        assert_eq!(n(above).cmp_num(Num::Float(TWO_127)), Ordering::Equal);
        assert_eq!(n(&max).cmp_num(Num::Float(TWO_127)), Ordering::Less);
        let below_min = "-170141183460469231731687303715884105729"; // -2^127 - 1
        assert_eq!(n(below_min).cmp_num(Num::Float(-TWO_127)), Ordering::Less);
        assert_eq!(
            n(&i128::MIN.to_string()).cmp_num(Num::Float(-TWO_127)),
            Ordering::Equal
        );
        assert_eq!(n(above).cmp_num(Num::Float(1e300)), Ordering::Less);
        assert_eq!(Num::Float(-1e300).cmp_num(n(below_min)), Ordering::Less);
        assert_eq!(
            n("9007199254740993").cmp_num(Num::Float(9007199254740992.0)),
            Ordering::Greater
        );
        assert_eq!(Num::Int(3).cmp_num(Num::Float(2.5)), Ordering::Greater);
        assert_eq!(Num::Int(-3).cmp_num(Num::Float(-2.5)), Ordering::Less);
        assert_eq!(Num::Int(0).cmp_num(Num::Float(-0.0)), Ordering::Equal);
        assert_eq!(Num::Float(-0.0).cmp_num(Num::Float(0.0)), Ordering::Equal);
        assert_eq!(
            n("-99999999999999999999999999999999999999999").cmp_num(n(&big_neg())),
            Ordering::Greater
        );
    }

    fn big_neg() -> String {
        format!("-{}", "9".repeat(42))
    }
}
