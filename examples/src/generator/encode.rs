//! Borsh encoding of the example programs' data, and Anchor discriminators.

use sha2::{Digest, Sha256};

/// Anchor's 8-byte discriminator: `sha256("<namespace>:<name>")[..8]`.
pub fn discriminator(namespace: &str, name: &str) -> [u8; 8] {
    let hash = Sha256::digest(format!("{namespace}:{name}").as_bytes());
    let mut d = [0u8; 8];
    d.copy_from_slice(&hash[..8]);
    d
}

/// A Borsh writer.
#[derive(Debug, Default, Clone)]
pub struct Borsh(pub Vec<u8>);

impl Borsh {
    /// Starts with an Anchor discriminator.
    pub fn with_discriminator(namespace: &str, name: &str) -> Borsh {
        Borsh(discriminator(namespace, name).to_vec())
    }

    /// `u8`
    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }

    /// `u32`, little-endian.
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// `u64`, little-endian.
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// `i64`, little-endian.
    pub fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// `bool`
    pub fn bool(self, v: bool) -> Self {
        self.u8(u8::from(v))
    }

    /// `string`: u32 length + UTF-8.
    pub fn string(self, s: &str) -> Self {
        let mut w = self.u32(s.len() as u32);
        w.0.extend_from_slice(s.as_bytes());
        w
    }

    /// `pubkey`: 32 bytes.
    pub fn pubkey(mut self, k: &[u8; 32]) -> Self {
        self.0.extend_from_slice(k);
        self
    }

    /// `Option<pubkey>`
    pub fn opt_pubkey(self, k: Option<&[u8; 32]>) -> Self {
        match k {
            Some(k) => self.u8(1).pubkey(k),
            None => self.u8(0),
        }
    }

    /// A unit enum variant (its index as u8).
    pub fn variant(self, index: u8) -> Self {
        self.u8(index)
    }

    /// The bytes.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// An Anchor event log line: `Program data: <base64(discriminator + borsh)>`.
pub fn event_log(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "Program data: {}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discriminators_match_the_pump_idl() {
        // From examples/pump/idl/pump.json (Anchor's own derivation).
        assert_eq!(
            discriminator("account", "BondingCurve"),
            [23, 183, 248, 55, 96, 216, 172, 96]
        );
        assert_eq!(
            discriminator("global", "buy"),
            [102, 6, 61, 18, 1, 218, 235, 234]
        );
    }

    #[test]
    fn borsh_layout() {
        let b = Borsh::default()
            .u64(1)
            .string("ab")
            .bool(true)
            .opt_pubkey(None)
            .finish();
        assert_eq!(b, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 1, 0]);
    }
}
