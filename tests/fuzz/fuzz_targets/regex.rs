//! The origin-regex engine against regex-lite, its reference: input is `pattern \0 text`.
//! Never panics; a pattern the engine accepts regex-lite accepts too (as written and as the
//! filter matches it, `^(?:pattern)$`), and then both answer alike on every text a canonical
//! origin can be (ASCII without line breaks). The engine refuses more only on purpose: the `x`
//! flag, capture names outside ASCII, and patterns past its state limit.
#![no_main]

use edge_cors_core::testing::OriginRegex;
use libfuzzer_sys::fuzz_target;

const REFUSED_ON_PURPOSE: [&str; 3] = [
    "the `x` flag is not supported",
    "a capture group name may hold",
    "the pattern is too large",
];

fuzz_target!(|data: &[u8]| {
    let data = String::from_utf8_lossy(data);
    let (pattern, text) = data.split_once('\0').unwrap_or((&data, ""));
    if pattern.len() > 1000 {
        return;
    }
    let build = |p: &str| {
        regex_lite::RegexBuilder::new(p)
            .nest_limit(50)
            .size_limit(1 << 20)
            .build()
    };
    let reference = build(pattern).and_then(|_| build(&format!("^(?:{pattern})$")));
    match (OriginRegex::new(pattern).map(|r| r.is_match(text)), reference) {
        (Ok(ours), Ok(theirs)) => {
            if text.bytes().all(|b| b.is_ascii() && b != b'\n' && b != b'\r') {
                assert_eq!(ours, theirs.is_match(text), "{pattern:?} on {text:?}");
            }
        }
        (Ok(_), Err(e)) => panic!("{pattern:?}: accepted, but regex-lite refuses it: {e}"),
        (Err(e), Ok(_)) => assert!(
            REFUSED_ON_PURPOSE.iter().any(|p| e.starts_with(p)),
            "{pattern:?}: refused ({e}), but regex-lite accepts it"
        ),
        (Err(_), Err(_)) => {}
    }
});
