//! The hasher of the maps built from a configuration (allowed origins, hosts, header names).
//!
//! Every request with an Origin looks one or more of these up, and the standard library's
//! SipHash is keyed against collision flooding, which only matters when an attacker chooses the
//! keys that are inserted. Here the keys come from the operator's configuration; a request only
//! looks keys up, so it can at worst land in the longest chain the configuration itself built.
//! FNV-1a (64-bit) is a fraction of SipHash's cost on these short keys. The rejection log's
//! table, whose keys come from requests, keeps SipHash.

use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a, 64-bit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The `S` of `HashMap<K, V, S>` for configuration-keyed maps.
pub(crate) type ConfigHash = BuildHasherDefault<Fnv>;

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn fnv_1a_matches_its_published_test_vectors() {
        let hash = |s: &str| {
            let mut h = Fnv::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }
}
