//! Domains under which a wildcard origin would trust strangers: the whole Public Suffix List
//! (PSL, <https://publicsuffix.org/>), ICANN and private sections.
//!
//! `https://*.com`, `https://*.github.io` or `https://*.myshopify.com` lets anyone who
//! registers a name there read responses. The list is vendored in
//! `third_party/publicsuffix/` and compiled by `scripts/psl.py` into
//! `public_suffix_list.bin` (refresh both with `scripts/refresh-psl.sh`); the filter and the
//! checker embed the same bytes, so they decide identically.
//!
//! The .bin is a minimized deterministic acyclic automaton over every rule, read from the
//! right: about 44 KB for 10,000 rules, where sorted strings front-coded take 77 KB and a label
//! trie with a shared label table 100 KB (`scripts/psl.py sizes`, 2026-10 list). Its layout:
//! - The automaton reads a domain's labels right to left, each label's bytes left to right,
//!   with `.` between two labels. Symbols: 0 `.`, 1-26 `a`-`z`, 27-36 `0`-`9`, 37 `-`; 38-44
//!   end a rule key, the symbol minus 37 being the rule's flags ([`NORMAL`], [`WILDCARD`]:
//!   `*.key`, [`EXCEPTION`]: `!key`).
//! - It starts with the hub table: 128 big-endian 2-byte offsets from the start of the .bin,
//!   one per hub, the 128 states most edges lead to (hub 0 the most, such as the end of a
//!   normal rule), which an edge anywhere reaches with one operand byte. The root state
//!   follows, at byte 256 ([`ROOT`]).
//! - A state is its outgoing edges, one after another.
//! - An edge is one byte: bit 7 ([`LAST`]) set on the last edge of a state, bits 0-6 a code.
//!   Codes 0-44 are the symbol itself; for a symbol below 38 the target state starts at the
//!   next byte on a state's last edge and is hub 0 on any other edge (where the next byte is
//!   another edge). Codes from [`NEAR`] (45) are the symbol + 45 followed by one byte: below
//!   128 the distance from the byte after it to the target state, from 128
//!   ([`HUB_OPERAND`]) on the hub number + 128. Codes from [`FAR`] (83) are the symbol + 83
//!   followed by two bytes (big-endian): the distance from the byte after them to the target
//!   state. (Without hubs the automaton takes 48.2 KB, and 53.0 KB with base-128 distances,
//!   which need a third byte from 16 KB on.)
//!
//! A lookup follows one edge per byte of the domain and scans at most one state's edges (at
//! most 45) per step: it is bounded by the domain's length and allocates nothing.

/// The compiled list (`scripts/psl.py build`; `scripts/psl.py check` proves it current).
static AUTOMATON: &[u8] = include_bytes!("public_suffix_list.bin");

const LAST: u8 = 0x80;
const DOT: u8 = 0;
/// Symbols above this one end a rule key; the difference is the key's flags.
const FINAL_BASE: u8 = 37;
/// Edge codes of a symbol (at most [`FINAL_BASE`]) followed by one operand byte: a distance
/// below [`HUB_OPERAND`], a hub number from it on.
const NEAR: u8 = FINAL_BASE + 8;
/// Edge codes of a symbol whose target is two bytes of distance away; codes past its symbols
/// are not used.
const FAR: u8 = NEAR + FINAL_BASE + 1;
/// Distance bytes after a [`FAR`] code (`FAR_BYTES` in scripts/psl.py).
const FAR_BYTES: usize = 2;
/// The first [`NEAR`] operand that is a hub number (the operand minus this) and not a distance.
const HUB_OPERAND: u8 = 0x80;
/// Bytes of each hub's offset in the hub table, which starts the automaton.
const HUB_BYTES: usize = 2;
/// The root state follows the hub table, which has an entry for every hub operand.
const ROOT: usize = (0x100 - HUB_OPERAND as usize) * HUB_BYTES;
const NORMAL: u8 = 1;
const WILDCARD: u8 = 2;
const EXCEPTION: u8 = 4;

/// Is `domain` (a host, lower-case ASCII, Unicode labels in their `xn--` form) a public
/// suffix, so that `*.domain` must not be used as an origin wildcard?
///
/// The PSL algorithm (<https://github.com/publicsuffix/list/wiki/Format>): the prevailing rule
/// is a matching exception rule if any, else the matching rule with the most labels, else the
/// implicit `*` (so an unknown single-label name is a public suffix); `domain` is a public
/// suffix when the prevailing rule covers all its labels. ASCII upper case compares as lower
/// case. Input that cannot be a registrable domain — empty, an empty label (`a..b`, `.com`,
/// `com.`), or non-ASCII bytes (an IDN not converted to `xn--`, which the list could only
/// answer after conversion) — counts as a public suffix: refusing is the safe answer.
pub(crate) fn is_public_suffix(domain: &str) -> bool {
    if !is_host_name(domain) {
        return true;
    }
    let labels = domain.split('.').count();
    // Labels of the prevailing rule so far: the implicit `*` rule has one.
    let mut prevailing = 1;
    for (depth, state) in rule_states(domain) {
        let flags = final_flags(state);
        if flags & EXCEPTION != 0 {
            // The exception rule prevails; the public suffix is that rule minus its leftmost
            // label, so shorter than `domain`.
            return false;
        }
        if flags & NORMAL != 0 {
            prevailing = prevailing.max(depth);
        }
        if flags & WILDCARD != 0 && depth < labels {
            prevailing = prevailing.max(depth + 1);
        }
    }
    prevailing == labels
}

/// Is some name strictly under `domain` a public suffix (`*.kawasaki.jp` makes every
/// `x.kawasaki.jp` one; `s3.amazonaws.com` lies under `amazonaws.com`)? A wildcard origin
/// over such a domain also covers sites anyone can register there. Same input rules as
/// [`is_public_suffix`]: input that cannot be a registrable domain answers true.
pub(crate) fn has_public_suffix_below(domain: &str) -> bool {
    if !is_host_name(domain) {
        return true;
    }
    let labels = domain.split('.').count();
    rule_states(domain)
        .last()
        .filter(|(depth, _)| *depth == labels)
        .is_some_and(|(_, state)| final_flags(state) & WILDCARD != 0 || follow(state, DOT).is_some())
}

/// ASCII labels, none empty: the only input the list can answer for.
fn is_host_name(domain: &str) -> bool {
    domain.is_ascii() && !domain.split('.').any(str::is_empty)
}

/// For each suffix of `domain` the automaton knows (a rule key or the start of a longer one),
/// from the shortest: (its number of labels, its state). Stops at the first suffix that
/// begins no rule key.
fn rule_states(domain: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut state = Some(ROOT);
    domain.rsplit('.').enumerate().map_while(move |(index, label)| {
        let mut at = state?;
        if index > 0 {
            at = follow(at, DOT)?;
        }
        for byte in label.bytes() {
            at = follow(at, symbol(byte)?)?;
        }
        state = Some(at);
        Some((index + 1, at))
    })
}

/// The automaton's symbol for a host byte; `None` for bytes no rule contains.
fn symbol(byte: u8) -> Option<u8> {
    match byte.to_ascii_lowercase() {
        b @ b'a'..=b'z' => Some(b - b'a' + 1),
        b @ b'0'..=b'9' => Some(b - b'0' + 27),
        b'-' => Some(37),
        _ => None,
    }
}

/// The state reached from `state` by the edge labelled `wanted`.
fn follow(state: usize, wanted: u8) -> Option<usize> {
    Edges { at: Some(state) }.find(|e| e.0 == wanted).and_then(|e| e.1)
}

/// The flags of the rule key ending at `state` (0: no key ends there).
fn final_flags(state: usize) -> u8 {
    Edges { at: Some(state) }
        .find_map(|(symbol, _)| symbol.checked_sub(FINAL_BASE).filter(|flags| *flags > 0))
        .unwrap_or(0)
}

/// The edges of one state: (symbol, target state; `None` for a final symbol). A malformed
/// automaton ends the iteration instead of reading out of bounds.
struct Edges {
    at: Option<usize>,
}

impl Iterator for Edges {
    type Item = (u8, Option<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut pos = self.at?;
        let byte = *AUTOMATON.get(pos)?;
        pos += 1;
        let code = byte & !LAST;
        let (symbol, target) = match code {
            // No operand: a final symbol, or a symbol whose target starts at the next byte on a
            // state's last edge (where the next byte cannot be another edge) and is hub 0 on
            // any other edge.
            ..NEAR if code > FINAL_BASE => (code, None),
            ..NEAR if byte & LAST != 0 => (code, Some(pos)),
            ..NEAR => (code, Some(hub(0)?)),
            NEAR..FAR => {
                let operand = *AUTOMATON.get(pos)?;
                pos += 1;
                let target = match operand.checked_sub(HUB_OPERAND) {
                    None => pos + usize::from(operand),
                    Some(number) => hub(number)?,
                };
                (code - NEAR, Some(target))
            }
            FAR.. if code - FAR <= FINAL_BASE => {
                let distance = big_endian(pos, FAR_BYTES)?;
                pos += FAR_BYTES;
                (code - FAR, Some(pos + distance))
            }
            // Codes past the last symbol + FAR are not used.
            _ => return None,
        };
        self.at = if byte & LAST != 0 { None } else { Some(pos) };
        Some((symbol, target))
    }
}

/// The state of hub `number`, from the hub table.
fn hub(number: u8) -> Option<usize> {
    big_endian(usize::from(number) * HUB_BYTES, HUB_BYTES)
}

/// The `length`-byte big-endian number at `at` in the automaton (`None` past its end).
fn big_endian(at: usize, length: usize) -> Option<usize> {
    let bytes = AUTOMATON.get(at..at + length)?;
    Some(bytes.iter().fold(0, |n, b| n << 8 | usize::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_all(expected: bool, domains: &[&str]) {
        for d in domains {
            assert_eq!(is_public_suffix(d), expected, "is_public_suffix({d:?})");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_suffixes_the_issue_found_accepted_are_public_suffixes() {
        assert_all(
            true,
            &["myshopify.com", "duckdns.org", "r2.dev", "k12.ca.us", "translate.goog"],
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn icann_suffixes_of_several_labels_are_public_suffixes() {
        assert_all(
            true,
            &[
                "com",
                "uk",
                "co.uk",
                "ac.uk",
                "ca.us",
                "k12.ca.us",
                "com.au",
                "jp",
                "kyoto.jp",
            ],
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_wildcard_rule_makes_every_label_under_it_a_suffix_except_its_exceptions() {
        // `*.kawasaki.jp` and `!city.kawasaki.jp`; `*.ck` and `!www.ck`.
        assert_all(
            true,
            &[
                "anything.kawasaki.jp",
                "nakahara.kawasaki.jp",
                "ck",
                "example.ck",
                "co.ck",
            ],
        );
        assert_all(false, &["city.kawasaki.jp", "www.ck", "a.city.kawasaki.jp", "a.www.ck"]);
        // The wildcard covers one label: a name under that label is registrable.
        assert_all(false, &["shop.nakahara.kawasaki.jp", "b.example.ck"]);
        // No rule names `kawasaki.jp` itself: under the algorithm it is registrable under `jp`.
        assert_all(false, &["kawasaki.jp"]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn private_section_hosting_suffixes_are_public_suffixes() {
        assert_all(
            true,
            &[
                "github.io",
                "myshopify.com",
                "r2.dev",
                "translate.goog",
                "duckdns.org",
                "vercel.app",
                "s3.amazonaws.com",
                "blogspot.com",
            ],
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn internationalized_suffixes_match_in_their_punycode_form_only() {
        // 公司.cn, 政府.香港, ελ (Greece), and the Unicode rule セール (a TLD).
        assert_all(
            true,
            &["xn--55qx5d.cn", "xn--mxtq1m.xn--j6w193g", "xn--qxam", "xn--1ck2e1b"],
        );
        assert_all(false, &["example.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"]);
        // The Unicode spelling is refused (it must be converted before asking).
        assert_all(true, &["公司.cn", "example.公司.cn"]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn registrable_domains_and_names_under_them_are_not_public_suffixes() {
        assert_all(
            false,
            &[
                "example.com",
                "shop.myshopify.com",
                "city.kawasaki.jp",
                "example.co.uk",
                "app.github.io",
                "a.b.example.co.uk",
                "school.k12.ca.us",
                "bucket.r2.dev",
            ],
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_unknown_top_level_domain_is_a_suffix_and_a_name_under_it_is_not() {
        assert_all(true, &["localhost", "example", "zz-unknown-tld", "internal"]);
        assert_all(false, &["example.example", "app.localhost", "a.b.zz-unknown-tld"]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn empty_and_odd_input_is_refused_and_never_panics() {
        assert_all(
            true,
            &["", ".", "..", ".com", "com.", "example..com", "a.b.", "公司", "é.com"],
        );
        // Bytes no rule contains are an unknown label, as the algorithm says.
        assert_all(false, &["my_app.example.com", "a b.com", "example.c_m.uk"]);
        assert_all(true, &["under_score", "x_y.kawasaki.jp"]);
        // Upper case compares as lower case.
        assert_all(true, &["COM", "Co.Uk", "MyShopify.com"]);
        assert_all(false, &["Example.COM"]);
        let long = "a.".repeat(2000) + "com";
        assert!(!is_public_suffix(&long));
        let long_label = "b".repeat(10_000);
        assert!(is_public_suffix(&long_label));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_with_public_suffixes_below_them_are_told_apart_from_plain_registrable_domains() {
        for d in [
            "kawasaki.jp",
            "amazonaws.com",
            "com",
            "uk",
            "co.uk",
            "ck",
            "公司.cn",
            "a..b",
        ] {
            assert!(has_public_suffix_below(d), "{d}");
        }
        for d in [
            "example.com",
            "example.co.uk",
            "city.kawasaki.jp",
            "shop.myshopify.com",
            "r2.dev",
            "blogspot.com",
            "unknown-tld",
        ] {
            assert!(!has_public_suffix_below(d), "{d}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_automaton_is_read_within_its_bounds() {
        // Every state reachable from the root decodes to edges whose targets lie inside the
        // automaton, past the hub table: a walk over all of it (each state once) finds no
        // target out of range.
        let mut seen = vec![false; AUTOMATON.len()];
        let mut stack = vec![ROOT];
        let mut states = 0;
        while let Some(state) = stack.pop() {
            if std::mem::replace(&mut seen[state], true) {
                continue;
            }
            states += 1;
            let edges: Vec<_> = Edges { at: Some(state) }.collect();
            assert!(!edges.is_empty(), "state at {state} has no edge");
            for (symbol, target) in edges {
                assert!(symbol <= FINAL_BASE + EXCEPTION, "symbol {symbol} at {state}");
                if let Some(t) = target {
                    assert!((ROOT..AUTOMATON.len()).contains(&t), "edge from {state} to {t}");
                    stack.push(t);
                }
            }
        }
        assert!(states > 10_000, "only {states} states reachable");
    }
}
