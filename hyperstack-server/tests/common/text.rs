//! Deterministic, poorly compressible text for test and bench payloads (frames that stay
//! large after gzip, pubkey-like strings). Shared by the integration tests (`common`,
//! `hostile_support`) and `benches/frames.rs` (included by path).

#![allow(dead_code)]

/// `len` characters drawn by a xorshift generator seeded with `seed` from `alphabet`.
fn scramble(seed: u64, len: usize, alphabet: &[u8]) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(alphabet[(x % alphabet.len() as u64) as usize])
        })
        .collect()
}

/// Printable ASCII from `!` to `z` (90 characters): frames stay large after gzip.
pub fn noise(seed: u64, len: usize) -> String {
    scramble(seed, len, &(b'!'..=b'z').collect::<Vec<u8>>())
}

/// A base58-looking string of 44 characters, different for each `seed` (pubkeys and
/// signatures compress about as badly).
pub fn pubkey(seed: u64) -> String {
    scramble(
        seed,
        44,
        b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
    )
}
