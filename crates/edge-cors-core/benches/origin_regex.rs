//! The origin-regex engine against regex-lite, its reference, in the same run
//! (`cargo bench -p edge-cors-core --bench origin_regex`): nanoseconds per match of each engine
//! on the patterns and origins a filter sees (median of 7 batches), and the ratio. Each
//! pattern is compiled as the filter matches it, whole-origin (`^(?:pattern)$` for regex-lite).
//! The filter tries a regex only after its literal prefix matched, so these are the costs of
//! the origins that get that far.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;

use edge_cors_core::testing::OriginRegex;

#[path = "support/timing.rs"]
mod timing;
use timing::time_per_call;

/// (pattern, origin, does it match)
const CASES: &[(&str, &str, bool)] = &[
    (
        r"https://pr-[0-9]+\.preview3\.example\.com",
        "https://pr-1234.preview3.example.com",
        true,
    ),
    (
        r"https://pr-[0-9]+\.preview3\.example\.com",
        "https://pr-1234.preview4.example.com",
        false,
    ),
    (
        r"https://([a-z0-9-]+\.)*example\.com(:[0-9]+)?",
        "https://a.b.c.example.com:8443",
        true,
    ),
    (
        r"https://([a-z0-9-]+\.)*example\.com(:[0-9]+)?",
        "https://a.b.c.example.org:8443",
        false,
    ),
    (
        r"https://(app|admin|api)\.example\.com",
        "https://admin.example.com",
        true,
    ),
    (r"http://localhost(:\d{1,5})?", "http://localhost:3000", true),
    (
        r"https://.*\.example\.com",
        "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.co",
        false,
    ),
];

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: then one match per case
    // proves the cases still hold.
    let smoke = !std::env::args().any(|a| a == "--bench");
    println!("origin regex: ns per whole-origin match (median of 7 batches), this engine and regex-lite");
    println!(
        "{:<52} {:>6} {:>8} {:>10} {:>6}",
        "pattern / origin", "match", "ours ns", "regex-lite", "ratio"
    );
    for &(pattern, origin, expected) in CASES {
        let ours = OriginRegex::new(pattern).unwrap();
        let theirs = regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap();
        assert_eq!(ours.is_match(origin), expected, "{pattern} on {origin}");
        assert_eq!(theirs.is_match(origin), expected, "{pattern} on {origin}");
        if smoke {
            continue;
        }
        let ours_ns = time_per_call(|| {
            black_box(ours.is_match(black_box(origin)));
        });
        let theirs_ns = time_per_call(|| {
            black_box(theirs.is_match(black_box(origin)));
        });
        let label: String = format!("{pattern} / {origin}").chars().take(52).collect();
        println!(
            "{label:<52} {:>6} {ours_ns:>8.0} {theirs_ns:>10.0} {:>6.2}",
            expected,
            ours_ns / theirs_ns
        );
    }
}
