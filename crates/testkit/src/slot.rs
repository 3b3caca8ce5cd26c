//! [`key_slot`]: which of the 16384 cluster hash slots a key belongs to.
//!
//! Cluster tests must choose keys that live on a given node (to kill that node, or to
//! migrate that slot); computing the slot locally avoids a round trip per key.

/// Number of hash slots in a Redis cluster.
pub const SLOTS: u16 = 16384;

/// CRC16-CCITT (XMODEM), the checksum Redis Cluster uses.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The hash slot of `key`, honouring `{hash tags}` exactly like `CLUSTER KEYSLOT`.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(key);
    crc16(hashed) % SLOTS
}

/// A key (`prefix` plus a counter) that hashes to `slot`, for tests that need data on a
/// particular node.
pub fn key_in_slot(prefix: &str, slot: u16) -> String {
    (0u64..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| key_slot(k.as_bytes()) == slot % SLOTS)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_values_from_the_cluster_spec() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
    }

    #[test]
    fn key_in_slot_finds_a_key_for_any_slot() {
        let k = key_in_slot("k", 42);
        assert_eq!(key_slot(k.as_bytes()), 42);
    }
}
