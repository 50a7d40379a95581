//! Origin parsing: `parse_origin` (request values) and `parse_pattern` (configured entries)
//! on arbitrary strings. Never panics; an accepted origin is canonical, so it serializes back
//! to exactly the input.
#![no_main]

use edge_cors_core::testing::{parse_origin, parses_as_pattern};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Some((scheme, host, port)) = parse_origin(&s) {
        let serialized = match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        assert_eq!(serialized, s, "an accepted origin is its own serialization");
        assert!(!host.is_empty());
        assert!(!s.bytes().any(|b| b.is_ascii_uppercase() || b <= b' ' || b >= 0x7f));
    }
    let _ = parses_as_pattern(&s);
});
