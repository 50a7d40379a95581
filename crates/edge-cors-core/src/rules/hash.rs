//! The one hash of the crate: FNV-1a 64 with the splitmix64 finalizer. Written here rather than
//! taken from `std`, whose `DefaultHasher` algorithm may change between Rust releases, while
//! every worker and every Envoy of a fleet must agree on it: the rollout's buckets
//! (`ops::rollout`) and the slots of a fetched origin list shared between workers
//! ([`super::origin_set`]) are computed with it.

use std::hash::{BuildHasherDefault, Hasher};

pub(crate) const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits (Fowler, Noll, Vo), continued from `state`.
pub(crate) fn fnv1a64(state: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(state, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

/// The splitmix64 finalizer (Steele, Lea, Flood): spreads FNV's weak low bits over the word,
/// so `% 100` and a power-of-two mask see all of them.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `bytes` hashed from the offset basis and finalized.
pub(crate) fn hash64(bytes: &[u8]) -> u64 {
    mix64(fnv1a64(FNV_OFFSET_BASIS, bytes))
}

/// FNV-1a as a [`Hasher`], for the maps built from a configuration (allowed origins, hosts,
/// header names). Every request with an Origin looks one or more of these up, and the standard
/// library's SipHash is keyed against collision flooding, which only matters when an attacker
/// chooses the keys that are inserted. Here the keys come from the operator's configuration; a
/// request only looks keys up, so it can at worst land in the longest chain the configuration
/// itself built. FNV-1a is a fraction of SipHash's cost on these short keys. The rejection log's
/// table, whose keys come from requests, keeps SipHash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET_BASIS)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a64(self.0, bytes);
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
    fn fnv1a64_and_the_splitmix64_finalizer_reproduce_their_published_values() {
        // FNV-1a 64 test vectors (the FNV authors' reference list).
        assert_eq!(fnv1a64(FNV_OFFSET_BASIS, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(FNV_OFFSET_BASIS, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(FNV_OFFSET_BASIS, b"foobar"), 0x8594_4171_f739_67e8);
        // splitmix64 seeded with 0: its first output is the finalizer of the golden gamma.
        assert_eq!(mix64(0x9e37_79b9_7f4a_7c15), 0xe220_a839_7b1d_cdaf);
        // The hasher of configuration-keyed maps is the same FNV-1a, unfinalized.
        let mut h = Fnv::default();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0x8594_4171_f739_67e8);
    }
}
