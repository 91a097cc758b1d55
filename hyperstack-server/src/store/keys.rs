//! Key layouts of the store's keyspaces. Integers are big-endian so keys sort numerically.

/// `entities` / `states`: entity index, then the entity key's UTF-8.
pub(crate) fn entity_key(entity: u16, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + key.len());
    k.extend_from_slice(&entity.to_be_bytes());
    k.extend_from_slice(key.as_bytes());
    k
}

/// The prefix of every key of one entity type in `entities` / `states`.
pub(crate) fn entity_prefix(entity: u16) -> [u8; 2] {
    entity.to_be_bytes()
}

/// The entity key of an `entities` / `states` key.
pub(crate) fn entity_key_of(raw: &[u8]) -> Option<&str> {
    std::str::from_utf8(raw.get(2..)?).ok()
}

/// `lookups`: entity, lookup, then the looked-up value's bytes.
pub(crate) fn lookup_key(entity: u16, lookup: u16, value: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + value.len());
    k.extend_from_slice(&entity.to_be_bytes());
    k.extend_from_slice(&lookup.to_be_bytes());
    k.extend_from_slice(value);
    k
}

/// `log`: view index, then the frame's view seq.
pub(crate) fn log_key(view: u16, seq: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[..2].copy_from_slice(&view.to_be_bytes());
    k[2..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The view seq of a `log` key.
pub(crate) fn log_seq_of(raw: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(raw.get(2..10)?.try_into().ok()?))
}

/// `signatures`: slot, then the signature.
pub(crate) fn signature_key(slot: u64, signature: &[u8; 64]) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..8].copy_from_slice(&slot.to_be_bytes());
    k[8..].copy_from_slice(signature);
    k
}

/// The slot and signature of a `signatures` key.
pub(crate) fn signature_of(raw: &[u8]) -> Option<(u64, [u8; 64])> {
    let slot = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
    let sig: [u8; 64] = raw.get(8..72)?.try_into().ok()?;
    Some((slot, sig))
}

/// `queue`: the prefix of every item waiting for one looked-up value — entity, lookup, the
/// value's length and bytes; the item's key adds its sequence number (so one value's items
/// sort in arrival order).
pub(crate) fn queue_prefix(entity: u16, lookup: u16, value: &[u8]) -> Vec<u8> {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    let mut k = Vec::with_capacity(14 + value.len());
    k.extend_from_slice(&entity.to_be_bytes());
    k.extend_from_slice(&lookup.to_be_bytes());
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(&value[..usize::from(len)]);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_numerically_and_round_trip() {
        assert!(log_key(1, 255) < log_key(1, 256));
        assert!(log_key(1, u64::MAX) < log_key(2, 0));
        assert_eq!(log_seq_of(&log_key(3, 77)), Some(77));
        assert!(entity_key(0, "zzz") < entity_key(1, "a"));
        assert_eq!(entity_key_of(&entity_key(4, "abc")), Some("abc"));
        let sig = [7u8; 64];
        assert_eq!(signature_of(&signature_key(9, &sig)), Some((9, sig)));
        assert!(signature_key(9, &[255; 64]) < signature_key(10, &[0; 64]));
        assert!(!queue_prefix(0, 1, b"vv").starts_with(&queue_prefix(0, 1, b"v")));
    }
}
