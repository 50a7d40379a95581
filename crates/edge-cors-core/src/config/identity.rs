//! The identity of a configuration: the SHA-256 of its bytes, exactly as the host handed them
//! over, and its optional top-level `version`. The filter logs it at load and publishes it as
//! a metric; the checker prints it for a file; so an operator can tell which configuration
//! each proxy serves and whether it is the one in the repository.
//!
//! SHA-256 is written here (FIPS 180-4, §6.2) rather than taken from a crate: the engine keeps
//! its dependencies to serde_json and regex-lite (and the module small), and this is about
//! eighty lines, checked against the standard's test vectors.

/// What identifies a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIdentity {
    /// The SHA-256 of the configuration bytes, 64 lower-case hex digits.
    pub sha256: String,
    /// The top-level `version` field, when the configuration has one.
    pub version: Option<String>,
}

impl ConfigIdentity {
    /// The identity of `bytes` with `version`.
    pub(crate) fn of(bytes: &[u8], version: Option<String>) -> ConfigIdentity {
        ConfigIdentity {
            sha256: hex(&sha256(bytes)),
            version,
        }
    }

    /// `sha256=<hex>` and, when there is one, ` version=<version>`: the form of the load log
    /// line and the checker's report.
    pub fn describe(&self) -> String {
        match &self.version {
            Some(v) => format!("sha256={} version={v}", self.sha256),
            None => format!("sha256={}", self.sha256),
        }
    }
}

/// The longest `version`.
pub(crate) const MAX_VERSION_LEN: usize = 64;

/// A `version` appears as a metric label value: 1 to 64 of `A-Z a-z 0-9 . _ + -` (what release
/// names, dates, semantic versions and commit hashes are written with), never the `=` or `;`
/// that delimit labels in a metric name.
pub(crate) fn valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_VERSION_LEN
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    out
}

/// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
/// 64 primes.
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
];

/// FIPS 180-4 §5.3.3: the initial hash value.
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The SHA-256 digest of `data`. Bytes go through one 64-byte block buffer, so the §5.1.1
/// padding (a 1 bit, zeros, the length in bits as a 64-bit big-endian number) is fed the same
/// way as the message: one short loop, a small module.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut state = Sha256 {
        h: H0,
        block: [0; 64],
        filled: 0,
    };
    for &b in data {
        state.push(b);
    }
    let bit_len = (data.len() as u64).wrapping_mul(8);
    state.push(0x80);
    while state.filled != 56 {
        state.push(0);
    }
    for b in bit_len.to_be_bytes() {
        state.push(b);
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state.h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

struct Sha256 {
    h: [u32; 8],
    block: [u8; 64],
    filled: usize,
}

impl Sha256 {
    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.block.get_mut(self.filled) {
            *slot = byte;
        }
        self.filled += 1;
        if self.filled == 64 {
            self.filled = 0;
            self.compress();
        }
    }

    /// §6.2.2: the full block into the hash state.
    fn compress(&mut self) {
        // The message schedule, kept as a ring of 16 words (§6.2.2 step 1, W[t] for t >= 16
        // depends on W[t-16..t] only).
        let mut w = [0u32; 16];
        for (word, bytes) in w.iter_mut().zip(self.block.chunks_exact(4)) {
            *word = bytes.iter().fold(0, |acc, &b| (acc << 8) | u32::from(b));
        }
        let mut v = self.h;
        for (t, k) in K.iter().enumerate() {
            let at = |i: usize| w.get(i & 15).copied().unwrap_or(0);
            let wt = if t < 16 {
                at(t)
            } else {
                let (w2, w15) = (at(t + 14), at(t + 1));
                let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ (w15 >> 3);
                let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ (w2 >> 10);
                let next = s1.wrapping_add(at(t + 9)).wrapping_add(s0).wrapping_add(at(t));
                if let Some(slot) = w.get_mut(t & 15) {
                    *slot = next;
                }
                next
            };
            let [a, b, c, d, e, f, g, h] = v;
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(*k).wrapping_add(wt);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            v = [
                t1.wrapping_add(s0).wrapping_add(maj),
                a,
                b,
                c,
                d.wrapping_add(t1),
                e,
                f,
                g,
            ];
        }
        for (state, value) in self.h.iter_mut().zip(v) {
            *state = state.wrapping_add(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn sha256_gives_the_digests_of_the_standards_examples() {
        // FIPS 180-4's examples (NIST CSRC "SHA256.pdf", "SHA256_2.pdf") and the empty message.
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // One million `a`: many full blocks before the tail.
        assert_eq!(
            hex(&sha256(&vec![b'a'; 1_000_000])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn messages_around_the_padding_boundaries_hash_differently_and_consistently() {
        // 55, 56 and 64 bytes: the length fits the last block, needs one more, fills one.
        let digests: Vec<String> = [55, 56, 63, 64, 65]
            .iter()
            .map(|&n| hex(&sha256(&vec![b'x'; n])))
            .collect();
        for (i, d) in digests.iter().enumerate() {
            assert_eq!(d.len(), 64);
            assert!(!digests[..i].contains(d));
        }
        assert_eq!(hex(&sha256(&[b'x'; 64])), digests[3]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn versions_are_plain_label_values() {
        for ok in ["1", "2026-12-01.3", "v1.2.3+build_7", "0a1b2c3d"] {
            assert!(valid_version(ok), "{ok}");
        }
        for bad in ["", "a b", "x;.;y", "k=v", "é", &"1".repeat(65)] {
            assert!(!valid_version(bad), "{bad}");
        }
        assert_eq!(
            ConfigIdentity::of(b"abc", Some("7".to_string())).describe(),
            "sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad version=7"
        );
    }
}
