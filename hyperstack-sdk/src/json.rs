//! Lenient JSON deserializers for generated types.
//!
//! The server writes 64-bit integers as JSON numbers while they fit in 2^53 (what JavaScript
//! can hold exactly) and as strings of digits beyond that; 128-bit integers may come either way.
//! Generated structs route such fields through these functions:
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Token {
//!     #[serde(default, deserialize_with = "hyperstack_sdk::json::lenient")]
//!     supply: Option<u64>,
//!     #[serde(default, deserialize_with = "hyperstack_sdk::json::nullable_lenient")]
//!     cap: Option<Option<u128>>,
//! }
//!
//! let t: Token = serde_json::from_str(r#"{"supply": "18446744073709551615", "cap": null}"#).unwrap();
//! assert_eq!(t.supply, Some(u64::MAX));
//! assert_eq!(t.cap, Some(None)); // present and null, unlike an absent field (None)
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// A type that deserializes from a JSON number or a string of digits.
pub trait Lenient: Sized {
    /// Deserializes `Self`, accepting numbers or numeric strings.
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

struct IntVisitor<T>(PhantomData<T>);

macro_rules! lenient_int {
    ($($t:ty),*) => {$(
        impl<'de> Visitor<'de> for IntVisitor<$t> {
            type Value = $t;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} as a number or a string of digits", stringify!($t))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<$t, E> {
                <$t>::try_from(v).map_err(|_| E::custom(format!("{v} is out of range for {}", stringify!($t))))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<$t, E> {
                <$t>::try_from(v).map_err(|_| E::custom(format!("{v} is out of range for {}", stringify!($t))))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<$t, E> {
                <$t>::try_from(v).map_err(|_| E::custom(format!("{v} is out of range for {}", stringify!($t))))
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<$t, E> {
                <$t>::try_from(v).map_err(|_| E::custom(format!("{v} is out of range for {}", stringify!($t))))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<$t, E> {
                if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
                    self.visit_i128(v as i128)
                } else {
                    Err(E::custom(format!("{v} is not an exact integer")))
                }
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<$t, E> {
                v.trim().parse::<$t>().map_err(|e| E::custom(format!("`{v}` is not a {}: {e}", stringify!($t))))
            }
        }

        impl Lenient for $t {
            fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(IntVisitor::<$t>(PhantomData))
            }
        }
    )*};
}

lenient_int!(u64, i64, u128, i128);

struct Wrap<T>(T);

impl<'de, T: Lenient> Deserialize<'de> for Wrap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize_lenient(d).map(Wrap)
    }
}

impl<T: Lenient> Lenient for Option<T> {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Wrap<T>>::deserialize(d).map(|o| o.map(|w| w.0))
    }
}

impl<T: Lenient> Lenient for Vec<T> {
    fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T>(PhantomData<T>);
        impl<'de, T: Lenient> Visitor<'de> for SeqVisitor<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(Wrap(v)) = seq.next_element::<Wrap<T>>()? {
                    out.push(v);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(SeqVisitor(PhantomData))
    }
}

/// `deserialize_with` for a field whose type is (or contains) a 64/128-bit integer.
pub fn lenient<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<T, D::Error> {
    T::deserialize_lenient(d)
}

/// `deserialize_with` for an `Option<Option<T>>` field where null is meaningful: absent stays
/// `None` (with `#[serde(default)]`), `null` becomes `Some(None)`.
pub fn nullable<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// [`nullable`] for 64/128-bit integers (numbers or strings).
pub fn nullable_lenient<'de, D: Deserializer<'de>, T: Lenient>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize_lenient(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    struct Sample {
        #[serde(default, deserialize_with = "lenient")]
        a: Option<u64>,
        #[serde(default, deserialize_with = "lenient")]
        b: Option<Vec<i128>>,
        #[serde(default, deserialize_with = "nullable_lenient")]
        c: Option<Option<i64>>,
        #[serde(default, deserialize_with = "nullable")]
        d: Option<Option<String>>,
    }

    #[test]
    fn accepts_numbers_and_strings() {
        let s: Sample = serde_json::from_str(
            r#"{"a": 5, "b": ["-170141183460469231731687303715884105728", 7], "c": "-3"}"#,
        )
        .unwrap();
        assert_eq!(s.a, Some(5));
        assert_eq!(s.b, Some(vec![i128::MIN, 7]));
        assert_eq!(s.c, Some(Some(-3)));
        assert_eq!(s.d, None);
    }

    #[test]
    fn null_and_absent_differ() {
        let s: Sample = serde_json::from_str(r#"{"a": null, "c": null, "d": null}"#).unwrap();
        assert_eq!(s.a, None);
        assert_eq!(s.c, Some(None));
        assert_eq!(s.d, Some(None));
        let s: Sample = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Sample::default());
    }

    #[test]
    fn rejects_bad_values_with_a_message() {
        let e = serde_json::from_str::<Sample>(r#"{"a": -1}"#).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = serde_json::from_str::<Sample>(r#"{"a": "12x"}"#).unwrap_err();
        assert!(e.to_string().contains("not a u64"), "{e}");
        let e = serde_json::from_str::<Sample>(r#"{"a": 1.5}"#).unwrap_err();
        assert!(e.to_string().contains("not an exact integer"), "{e}");
        assert!(serde_json::from_str::<Sample>(r#"{"a": true}"#).is_err());
    }
}
