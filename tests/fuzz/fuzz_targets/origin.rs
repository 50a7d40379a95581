//! Origin parsing: `parse_origin` (request values) and `parse_pattern` (configured entries)
//! on arbitrary strings. Never panics; an accepted origin is canonical, so it serializes back
//! to exactly the input.
#![no_main]

use edge_cors::core::origin::{parse_origin, parse_pattern};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Ok(o) = parse_origin(&s) {
        let serialized = match o.port {
            Some(p) => format!("{}://{}:{}", o.scheme, o.host, p),
            None => format!("{}://{}", o.scheme, o.host),
        };
        assert_eq!(serialized, s, "an accepted origin is its own serialization");
        assert!(!o.host.is_empty());
        assert!(!s.bytes().any(|b| b.is_ascii_uppercase() || b <= b' ' || b >= 0x7f));
    }
    let _ = parse_pattern(&s);
});
