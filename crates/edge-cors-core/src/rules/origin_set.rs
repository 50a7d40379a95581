//! A set of origin entries fetched from a registry, laid out in one flat byte buffer that is
//! queried where it lies: one worker builds it, the host's shared data carries the bytes to every
//! other worker, and each of them serves from its copy without parsing or allocating anything
//! per entry. At 100,000 origins that is about 4 MB per worker instead of the tens of MB of a
//! hash set of boxed strings (docs/registry.md has the measurements).
//!
//! Every entry was checked by `origin_matcher::check_entry`, the rules of `allow_origins`, so it
//! is canonical: the entry's text is its key. Matching asks the same questions as
//! [`super::origin_matcher::OriginMatcher`], by key: the Origin itself (exact entries), then
//! `scheme://host:*` when the set has port wildcards, then, when it has subdomain wildcards,
//! `scheme://*.base` with the request's port (or `:*`) for each domain suffix of the host.
//!
//! Layout (little-endian): a header of eight `u32` (magic `ECOS`, format, flags, entries,
//! slots, pool bytes, and the generation the host glue stamps on a published set, low word
//! first), the pool of entries, each a `u16` length and its bytes, then an open-addressing
//! table of `slots` `u32` (a power of two, at most half full; 0 is empty, otherwise the entry's
//! pool offset plus one). The builder writes the pool where the set will keep it and appends
//! the table, so building and publishing copy no entry. A buffer that does not have this shape
//! is refused whole; a lookup never indexes unchecked, so even a corrupt pool only fails to
//! match.

use super::hash::hash64;
use super::origin::{HostPattern, Origin, OriginPattern, PortPattern, MAX_ORIGIN_LEN};

const MAGIC: [u8; 4] = *b"ECOS";
/// Changes whenever the layout does: a worker never reads a buffer of another layout (an
/// older module's, during an upgrade, shares the data of the same VM id).
const FORMAT: u32 = 2;
const HEADER_WORDS: usize = 8;
const HEADER_BYTES: usize = HEADER_WORDS * 4;
/// Some entry is `scheme://host:*`.
const ANY_PORT: u32 = 1;
/// Some entry is `scheme://*.base[...]`.
const SUBDOMAINS: u32 = 2;

/// A built set, queried in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OriginSet {
    bytes: Vec<u8>,
    flags: u32,
    entries: u32,
    /// `slots - 1`; `slots` is a power of two.
    mask: usize,
    table_start: usize,
}

/// The `u32` at byte `at`.
fn word_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]))
}

fn word(bytes: &[u8], index: usize) -> Option<u32> {
    word_at(bytes, index.checked_mul(4)?)
}

impl OriginSet {
    /// The set laid out in `bytes`, or `None` when they do not have the layout of this format.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Option<OriginSet> {
        if bytes.get(..4)? != MAGIC || word(&bytes, 1)? != FORMAT {
            return None;
        }
        let flags = word(&bytes, 2)?;
        let entries = word(&bytes, 3)?;
        let slots = usize::try_from(word(&bytes, 4)?).ok()?;
        let pool = usize::try_from(word(&bytes, 5)?).ok()?;
        let table_start = HEADER_BYTES.checked_add(pool)?;
        if !slots.is_power_of_two() || table_start.checked_add(slots.checked_mul(4)?)? != bytes.len() {
            return None;
        }
        Some(OriginSet {
            bytes,
            flags,
            entries,
            mask: slots - 1,
            table_start,
        })
    }

    /// The generation stamped by [`OriginSet::set_generation`] (0 before).
    pub(crate) fn generation(&self) -> u64 {
        let low = word(&self.bytes, 6).unwrap_or(0);
        let high = word(&self.bytes, 7).unwrap_or(0);
        u64::from(low) | (u64::from(high) << 32)
    }

    /// Stamp the generation under which the set is published.
    pub(crate) fn set_generation(&mut self, generation: u64) {
        if let Some(header) = self.bytes.get_mut(24..HEADER_BYTES) {
            header.copy_from_slice(&generation.to_le_bytes());
        }
    }

    /// The bytes [`OriginSet::from_bytes`] reads back.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        usize::try_from(self.entries).unwrap_or(usize::MAX)
    }

    /// The entry at pool offset `at`.
    fn entry(&self, at: usize) -> Option<&[u8]> {
        let start = HEADER_BYTES.checked_add(at)?;
        let len = self.bytes.get(start..start + 2)?;
        let len = usize::from(u16::from_le_bytes([*len.first()?, *len.get(1)?]));
        self.bytes.get(start + 2..start + 2 + len)
    }

    fn contains(&self, key: &[u8]) -> bool {
        let mut slot = slot_of(key, self.mask);
        // At most half the slots are used, so an empty slot ends every probe; the bound only
        // guards a buffer that was not built here.
        for _ in 0..=self.mask {
            match word_at(&self.bytes, self.table_start + slot * 4) {
                None | Some(0) => return false,
                Some(v) => {
                    if self.entry(v as usize - 1) == Some(key) {
                        return true;
                    }
                }
            }
            slot = (slot + 1) & self.mask;
        }
        false
    }

    /// Does the set trust `origin`? `raw` is the header value it was parsed from.
    pub(crate) fn matches(&self, raw: &str, origin: &Origin<'_>) -> bool {
        if self.contains(raw.as_bytes()) {
            return true;
        }
        if self.flags & (ANY_PORT | SUBDOMAINS) == 0 {
            return false;
        }
        let mut key = String::with_capacity(raw.len() + 8);
        let mut probe = |head: &[&str], port: Option<u16>| {
            key.clear();
            head.iter().for_each(|part| key.push_str(part));
            if let Some(p) = port {
                key.push(':');
                key.push_str(&p.to_string());
            }
            self.contains(key.as_bytes())
        };
        let scheme = origin.scheme;
        if self.flags & ANY_PORT != 0 && probe(&[scheme, "://", origin.host, ":*"], None) {
            return true;
        }
        if self.flags & SUBDOMAINS == 0 {
            return false;
        }
        // Each proper suffix of the host that starts after a dot, as `matches_subdomain` of
        // the configured matcher walks them.
        let host = origin.host;
        host.match_indices('.').any(|(i, _)| {
            let base = host.get(i + 1..).unwrap_or_default();
            probe(&[scheme, "://*.", base], origin.port) || probe(&[scheme, "://*.", base, ":*"], None)
        })
    }
}

fn slot_of(key: &[u8], mask: usize) -> usize {
    // Truncation keeps the low bits, which the finalizer has mixed.
    (hash64(key) as usize) & mask
}

/// Builds an [`OriginSet`] from checked entries; a duplicate is refused.
#[derive(Debug, Default)]
pub(crate) struct OriginSetBuilder {
    /// The header (written by `finish`), then the entries.
    pool: Vec<u8>,
    /// Pool offset plus one per slot, 0 for empty; a power of two, at most half full.
    table: Vec<u32>,
    entries: u32,
    flags: u32,
}

impl OriginSetBuilder {
    /// A builder whose pool holds `bytes` of entries without growing: a document of that size
    /// never has more (each entry takes at least its quotes and a comma, the pool two bytes of
    /// length), and a pool that doubles as it grows would hold twice what it needs.
    pub(crate) fn with_capacity(bytes: usize) -> OriginSetBuilder {
        OriginSetBuilder {
            pool: Vec::with_capacity(HEADER_BYTES.saturating_add(bytes)),
            ..OriginSetBuilder::default()
        }
    }

    /// Add `entry`, which `origin_matcher::check_entry` turned into `pattern`. `false`: it is
    /// already in the set (or the set is full: 2^32 bytes of entries).
    pub(crate) fn insert(&mut self, entry: &str, pattern: &OriginPattern<'_>) -> bool {
        if entry.len() > MAX_ORIGIN_LEN {
            return false;
        }
        if (self.entries as usize + 1) * 2 > self.table.len() {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut slot = slot_of(entry.as_bytes(), mask);
        loop {
            match self.table.get(slot).copied() {
                Some(0) => break,
                Some(v) => {
                    if self.pool_entry(v as usize - 1) == Some(entry.as_bytes()) {
                        return false;
                    }
                }
                None => return false,
            }
            slot = (slot + 1) & mask;
        }
        if self.pool.is_empty() {
            self.pool.resize(HEADER_BYTES, 0);
        }
        let Ok(offset) = u32::try_from(self.pool.len() - HEADER_BYTES + 1) else {
            return false;
        };
        self.pool.extend_from_slice(&(entry.len() as u16).to_le_bytes());
        self.pool.extend_from_slice(entry.as_bytes());
        if let Some(s) = self.table.get_mut(slot) {
            *s = offset;
        }
        self.entries += 1;
        self.flags |= match (&pattern.host, pattern.port) {
            (HostPattern::Exact(_), PortPattern::Any) => ANY_PORT,
            (HostPattern::Subdomains(_), _) => SUBDOMAINS,
            _ => 0,
        };
        true
    }

    fn pool_entry(&self, at: usize) -> Option<&[u8]> {
        let at = at + HEADER_BYTES;
        let len = self.pool.get(at..at + 2)?;
        let len = usize::from(u16::from_le_bytes([*len.first()?, *len.get(1)?]));
        self.pool.get(at + 2..at + 2 + len)
    }

    /// Double the table (16 slots at first) and place every entry again.
    fn grow(&mut self) {
        let slots = (self.table.len() * 2).max(16);
        let old = std::mem::replace(&mut self.table, vec![0; slots]);
        let mask = slots - 1;
        for v in old.into_iter().filter(|&v| v != 0) {
            let Some(key) = self.pool_entry(v as usize - 1) else {
                continue;
            };
            let mut slot = slot_of(key, mask);
            while self.table.get(slot).is_some_and(|&s| s != 0) {
                slot = (slot + 1) & mask;
            }
            if let Some(s) = self.table.get_mut(slot) {
                *s = v;
            }
        }
    }

    /// The set, laid out: the header written over its place at the front of the pool, the
    /// table appended.
    pub(crate) fn finish(mut self) -> OriginSet {
        if self.table.is_empty() {
            self.grow();
        }
        if self.pool.is_empty() {
            self.pool.resize(HEADER_BYTES, 0);
        }
        let slots = self.table.len();
        let pool_len = self.pool.len() - HEADER_BYTES;
        let mut bytes = self.pool;
        let header = [FORMAT, self.flags, self.entries, slots as u32, pool_len as u32, 0, 0];
        for (i, w) in header.iter().enumerate() {
            if let Some(at) = bytes.get_mut(4 + i * 4..8 + i * 4) {
                at.copy_from_slice(&w.to_le_bytes());
            }
        }
        if let Some(magic) = bytes.get_mut(..4) {
            magic.copy_from_slice(&MAGIC);
        }
        bytes.reserve_exact(slots * 4);
        for v in &self.table {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        OriginSet {
            bytes,
            flags: self.flags,
            entries: self.entries,
            mask: slots - 1,
            table_start: HEADER_BYTES + pool_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::origin::{parse_origin, parse_pattern};
    use crate::rules::origin_matcher::OriginMatcher;
    use crate::rules::Collected;

    fn set(entries: &[&str]) -> OriginSet {
        let mut b = OriginSetBuilder::default();
        for e in entries {
            assert!(b.insert(e, &parse_pattern(e).unwrap()), "{e}");
        }
        b.finish()
    }

    fn matcher(entries: &[&str]) -> OriginMatcher {
        let o: Vec<_> = entries.iter().map(|s| ("o".to_string(), s.to_string())).collect();
        let mut errors = Collected::<crate::rules::origin_matcher::Issue>::default();
        OriginMatcher::build(&o, &[], false, &mut errors)
    }

    const ENTRIES: &[&str] = &[
        "https://app.example.com",
        "https://*.tenant.example.org",
        "https://*.ports.example.org:8443",
        "https://*.any.example.org:*",
        "http://localhost:*",
        "http://[::1]:3000",
    ];

    const ORIGINS: &[&str] = &[
        "https://app.example.com",
        "https://app.example.com:8443",
        "http://app.example.com",
        "https://a.tenant.example.org",
        "https://a.b.tenant.example.org",
        "https://tenant.example.org",
        "https://a.tenant.example.org:8443",
        "http://a.tenant.example.org",
        "https://x.ports.example.org:8443",
        "https://x.ports.example.org",
        "https://x.any.example.org",
        "https://x.any.example.org:1",
        "https://any.example.org",
        "http://localhost",
        "http://localhost:5173",
        "https://localhost:5173",
        "http://[::1]:3000",
        "http://[::1]:3001",
        "https://evil.example.com",
        "https://app.example.com.evil.net",
    ];

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_set_matches_exactly_the_origins_the_configured_matcher_matches() {
        let s = set(ENTRIES);
        let m = matcher(ENTRIES);
        for raw in ORIGINS {
            let o = parse_origin(raw).unwrap();
            assert_eq!(s.matches(raw, &o), m.matches(raw, &o), "{raw}");
        }
        assert!(s.matches(
            "https://a.tenant.example.org",
            &parse_origin("https://a.tenant.example.org").unwrap()
        ));
        assert!(!s.matches(
            "https://tenant.example.org",
            &parse_origin("https://tenant.example.org").unwrap()
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_set_read_back_from_its_bytes_is_the_same_set() {
        let s = set(ENTRIES);
        let back = OriginSet::from_bytes(s.as_bytes().to_vec()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.len(), ENTRIES.len());
        let mut stamped = s.clone();
        stamped.set_generation(0x1_0000_0002);
        assert_eq!(
            OriginSet::from_bytes(stamped.as_bytes().to_vec()).unwrap().generation(),
            0x1_0000_0002
        );
        assert_eq!(s.generation(), 0);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_duplicate_entry_is_refused_and_thousands_of_entries_all_match() {
        let mut b = OriginSetBuilder::default();
        let all: Vec<String> = (0..5000).map(|i| format!("https://t{i}.example.com")).collect();
        for e in &all {
            assert!(b.insert(e, &parse_pattern(e).unwrap()));
        }
        assert!(!b.insert(&all[17], &parse_pattern(&all[17]).unwrap()));
        let s = b.finish();
        assert_eq!(s.len(), 5000);
        for e in &all {
            assert!(s.matches(e, &parse_origin(e).unwrap()), "{e}");
        }
        assert!(!s.matches(
            "https://t5000.example.com",
            &parse_origin("https://t5000.example.com").unwrap()
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn buffers_of_another_shape_are_refused_and_an_empty_set_matches_nothing() {
        let s = set(ENTRIES);
        let mut bytes = s.as_bytes().to_vec();
        bytes.pop();
        assert!(OriginSet::from_bytes(bytes).is_none());
        let mut other_format = s.as_bytes().to_vec();
        other_format[4] = 1;
        assert!(OriginSet::from_bytes(other_format).is_none());
        assert!(OriginSet::from_bytes(b"ECOS".to_vec()).is_none());
        assert!(OriginSet::from_bytes(Vec::new()).is_none());
        let empty = OriginSetBuilder::default().finish();
        assert_eq!(empty.len(), 0);
        assert!(!empty.matches("https://a.com", &parse_origin("https://a.com").unwrap()));
        assert!(OriginSet::from_bytes(empty.as_bytes().to_vec()).is_some());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_corrupt_pool_never_panics_a_lookup() {
        let s = set(ENTRIES);
        let mut bytes = s.as_bytes().to_vec();
        for b in bytes.iter_mut().take(s.table_start).skip(HEADER_BYTES) {
            *b = 0xff;
        }
        let corrupt = OriginSet::from_bytes(bytes).unwrap();
        for raw in ORIGINS {
            let o = parse_origin(raw).unwrap();
            let _ = corrupt.matches(raw, &o);
        }
    }
}
