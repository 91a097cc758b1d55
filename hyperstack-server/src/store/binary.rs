//! A small binary writer and reader for store records: LEB128 varints (zigzag for signed
//! numbers), length-prefixed bytes, and JSON text blobs. Reading never panics and never
//! allocates more than the record holds: a truncated or corrupt record is a
//! [`StoreError::Corrupt`] naming the keyspace.

use serde_json::Value as Json;

use super::StoreError;

/// Appends to a record being encoded.
pub(crate) struct Writer<'a>(pub &'a mut Vec<u8>);

impl Writer<'_> {
    /// One byte.
    pub fn u8(&mut self, b: u8) {
        self.0.push(b);
    }

    /// An unsigned varint.
    pub fn uvar(&mut self, mut n: u128) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }

    /// A length or count.
    pub fn len(&mut self, n: usize) {
        self.uvar(n as u128);
    }

    /// A signed varint (zigzag).
    pub fn ivar(&mut self, n: i128) {
        self.uvar(((n << 1) ^ (n >> 127)) as u128);
    }

    /// An `f64`, bit for bit (NaN and infinities included).
    pub fn f64(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_bits().to_le_bytes());
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }

    /// Fixed-size bytes, no length.
    pub fn raw(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    /// A JSON value as text, length-prefixed (4 bytes, patched after writing).
    pub fn json(&mut self, value: &impl serde::Serialize) {
        let at = self.0.len();
        self.0.extend_from_slice(&[0; 4]);
        // JSON values and maps of them always serialize.
        let _ = serde_json::to_writer(&mut *self.0, value);
        let len = u32::try_from(self.0.len() - at - 4).unwrap_or(u32::MAX);
        self.0[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// Reads a record, front to back.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    keyspace: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`, a record of `keyspace` (named in errors).
    pub fn new(bytes: &'a [u8], keyspace: &'static str) -> Reader<'a> {
        Reader { bytes, keyspace }
    }

    /// The error of a record that cannot be read.
    pub fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            keyspace: self.keyspace,
            reason: reason.into(),
        }
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), StoreError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.corrupt(format!("{} trailing bytes", self.bytes.len())))
        }
    }

    /// `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if n > self.bytes.len() {
            return Err(self.corrupt("truncated record"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// Fixed-size bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let b = self.take(N)?;
        b.try_into().map_err(|_| self.corrupt("truncated record"))
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned varint.
    pub fn uvar(&mut self) -> Result<u128, StoreError> {
        let mut n = 0u128;
        for shift in (0..128).step_by(7) {
            let b = self.u8()?;
            let part = u128::from(b & 0x7f);
            if shift == 126 && part > 0b11 {
                return Err(self.corrupt("varint overflows 128 bits"));
            }
            n |= part << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.corrupt("varint overflows 128 bits"))
    }

    /// An unsigned varint that must fit in a `u64`.
    pub fn u64(&mut self) -> Result<u64, StoreError> {
        let n = self.uvar()?;
        u64::try_from(n).map_err(|_| self.corrupt("number out of range"))
    }

    /// A length or count. It cannot exceed the bytes left (each item takes at least one),
    /// so a corrupt count never makes a reader allocate more than the record's size.
    pub fn len(&mut self) -> Result<usize, StoreError> {
        let n = self.uvar()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.bytes.len() => Ok(n),
            _ => Err(self.corrupt("length beyond the record")),
        }
    }

    /// A signed varint (zigzag).
    pub fn ivar(&mut self) -> Result<i128, StoreError> {
        let z = self.uvar()?;
        Ok(((z >> 1) as i128) ^ -((z & 1) as i128))
    }

    /// An `f64`.
    pub fn f64(&mut self) -> Result<f64, StoreError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array()?)))
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.len()?;
        self.take(n)
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str, StoreError> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.corrupt("invalid UTF-8"))
    }

    /// A JSON blob written by [`Writer::json`].
    pub fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, StoreError> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        let text = self.take(len)?;
        serde_json::from_slice(text).map_err(|e| self.corrupt(format!("JSON: {e}")))
    }

    /// A JSON value blob.
    pub fn json_value(&mut self) -> Result<Json, StoreError> {
        self.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_at_their_limits() {
        let mut out = Vec::new();
        let mut w = Writer(&mut out);
        let unsigned = [0u128, 1, 127, 128, u128::from(u64::MAX), u128::MAX];
        let signed = [0i128, -1, 1, i128::MIN, i128::MAX, -64, 64];
        for n in unsigned {
            w.uvar(n);
        }
        for n in signed {
            w.ivar(n);
        }
        w.f64(f64::NEG_INFINITY);
        w.bytes(b"abc");
        w.json(&serde_json::json!({"a": [1, "x"]}));
        let mut r = Reader::new(&out, "test");
        for n in unsigned {
            assert_eq!(r.uvar().unwrap(), n);
        }
        for n in signed {
            assert_eq!(r.ivar().unwrap(), n);
        }
        assert_eq!(r.f64().unwrap(), f64::NEG_INFINITY);
        assert_eq!(r.bytes().unwrap(), b"abc");
        assert_eq!(r.json_value().unwrap(), serde_json::json!({"a": [1, "x"]}));
        r.finish().unwrap();
    }

    #[test]
    fn truncated_and_corrupt_input_is_an_error() {
        let mut out = Vec::new();
        Writer(&mut out).bytes(b"hello");
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut], "test");
            assert!(r.bytes().is_err(), "cut at {cut}");
        }
        // A varint that never ends, and one beyond 128 bits.
        assert!(Reader::new(&[0xff; 30], "test").uvar().is_err());
        let mut too_big = vec![0xff; 18];
        too_big.push(0x7f);
        assert!(Reader::new(&too_big, "test").uvar().is_err());
        // A length larger than the record.
        let mut r = Reader::new(&[0xff, 0xff, 0x03, 1, 2], "test");
        assert!(matches!(
            r.len(),
            Err(StoreError::Corrupt {
                keyspace: "test",
                ..
            })
        ));
        // Invalid UTF-8 and invalid JSON.
        assert!(Reader::new(&[1, 0xff], "test").str().is_err());
        assert!(Reader::new(&[2, 0, 0, 0, b'{', b'x'], "test")
            .json_value()
            .is_err());
    }
}
