//! `Access-Control-Request-Headers` parsing against a listed policy and a `*` policy.
//! Never panics; an accepted value echoes at most 64 lower-case tokens, comma-separated, never
//! longer than the input; `*` never lets `authorization` through; a listed policy only echoes
//! listed names.
#![no_main]

use edge_cors_core::testing::{is_tchar, AllowHeadersRule, MAX_ACRH_LEN, MAX_ACRH_NAMES};
use libfuzzer_sys::fuzz_target;

const LISTED: [&str; 3] = ["content-type", "authorization", "x-a"];

fn policy(names: &[&str]) -> AllowHeadersRule {
    AllowHeadersRule::new(names).expect("a valid allow_headers list")
}

/// The echoed names when the value is accepted, after the checks every policy shares.
fn accepted(allow: &AllowHeadersRule, acrh: &str) -> Option<Vec<String>> {
    let echo = allow.check(acrh)?;
    assert!(acrh.len() <= MAX_ACRH_LEN);
    assert!(echo.len() <= acrh.len());
    let names: Vec<String> = if echo.is_empty() {
        vec![]
    } else {
        echo.split(',').map(String::from).collect()
    };
    assert!(names.len() <= MAX_ACRH_NAMES);
    for n in &names {
        assert!(
            !n.is_empty() && n.bytes().all(|b| is_tchar(b) && !b.is_ascii_uppercase()),
            "{echo:?}"
        );
    }
    Some(names)
}

fuzz_target!(|data: &[u8]| {
    let acrh = String::from_utf8_lossy(data);
    if let Some(names) = accepted(&policy(&LISTED), &acrh) {
        assert!(
            names.iter().all(|n| LISTED.contains(&n.as_str())),
            "{acrh:?} -> {names:?}"
        );
    }
    if let Some(names) = accepted(&policy(&["*"]), &acrh) {
        assert!(
            !names.iter().any(|n| n == "authorization"),
            "{acrh:?}: `*` never covers authorization"
        );
    }
});
