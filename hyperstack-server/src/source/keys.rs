//! Addresses and signatures: fixed-size byte arrays shown in base58.

use std::fmt;
use std::str::FromStr;

/// A base58 string that is not a valid address or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a base58 {what} of {len} bytes")]
pub struct KeyParseError {
    /// The text.
    pub text: String,
    /// `pubkey` or `signature`.
    pub what: &'static str,
    /// Expected length in bytes.
    pub len: usize,
}

/// A 32-byte account or program address.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Pubkey(pub [u8; 32]);

impl Pubkey {
    /// The address from a byte slice of exactly 32 bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Option<Pubkey> {
        <[u8; 32]>::try_from(bytes).ok().map(Pubkey)
    }

    /// Base58 form.
    pub fn to_base58(&self) -> String {
        bs58::encode(&self.0).into_string()
    }
}

impl fmt::Display for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pubkey({self})")
    }
}

impl FromStr for Pubkey {
    type Err = KeyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        match bs58::decode(s).onto(&mut out) {
            Ok(32) => Ok(Pubkey(out)),
            _ => Err(KeyParseError {
                text: s.to_string(),
                what: "pubkey",
                len: 32,
            }),
        }
    }
}

/// A 64-byte transaction signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The signature from a byte slice of exactly 64 bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Option<Signature> {
        <[u8; 64]>::try_from(bytes).ok().map(Signature)
    }

    /// Base58 form.
    pub fn to_base58(&self) -> String {
        bs58::encode(&self.0).into_string()
    }
}

impl Default for Signature {
    fn default() -> Self {
        Signature([0; 64])
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = KeyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 64];
        match bs58::decode(s).onto(&mut out) {
            Ok(64) => Ok(Signature(out)),
            _ => Err(KeyParseError {
                text: s.to_string(),
                what: "signature",
                len: 64,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_round_trip_and_errors() {
        let k: Pubkey = "11111111111111111111111111111111".parse().unwrap();
        assert_eq!(k, Pubkey([0; 32]));
        let p = Pubkey([7; 32]);
        assert_eq!(p.to_string().parse::<Pubkey>().unwrap(), p);
        assert!("abc".parse::<Pubkey>().is_err());
        assert!("0OIl".parse::<Pubkey>().is_err(), "not base58");
        let s = Signature([9; 64]);
        assert_eq!(s.to_string().parse::<Signature>().unwrap(), s);
        assert!(p.to_string().parse::<Signature>().is_err());
    }
}
