//! The two encodings a tar-split uses that no dependency here provides: Go's CRC-64 (ISO) of
//! each file, and standard base64 (Go's JSON encoding of `[]byte`).

/// CRC-64 with the ISO polynomial, reflected, as Go's `hash/crc64` computes it (tar-split's
/// checksum of each file).
#[derive(Clone, Copy)]
pub struct Crc64(u64);

static CRC_TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();

fn crc_table() -> &'static [u64; 256] {
    CRC_TABLE.get_or_init(|| {
        const POLY: u64 = 0xD800_0000_0000_0000;
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            }
            *slot = c;
        }
        table
    })
}

impl Crc64 {
    pub fn new() -> Crc64 {
        Crc64(0)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let table = crc_table();
        let mut c = !self.0;
        for &b in bytes {
            c = table[((c as u8) ^ b) as usize] ^ (c >> 8);
        }
        self.0 = !c;
    }

    pub fn value(self) -> u64 {
        self.0
    }
}

impl Default for Crc64 {
    fn default() -> Self {
        Crc64::new()
    }
}

/// Standard base64 with padding (what Go's JSON encoding of `[]byte` writes).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (n, chunk) in bytes.chunks(4).enumerate() {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && n + 1 != chunks) {
            return None;
        }
        let mut acc = 0u32;
        for &c in &chunk[..4 - pad] {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * pad as u32;
        let three = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_gos_iso_crc() {
        // CRC-64/GO-ISO check value.
        let mut c = Crc64::new();
        c.update(b"123456789");
        assert_eq!(c.value(), 0xb909_56c7_75a4_1001);
        let mut split = Crc64::new();
        split.update(b"1234");
        split.update(b"56789");
        assert_eq!(split.value(), c.value());
    }

    #[test]
    fn base64_round_trips_and_refuses_junk() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert!(base64_decode("aGk").is_none());
        assert!(base64_decode("a=Gk").is_none());
        assert!(base64_decode("aG=k").is_none());
        assert!(base64_decode("aGk=aGk=").is_none());
        assert!(base64_decode("a*k=").is_none());
    }
}
