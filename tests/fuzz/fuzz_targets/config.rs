//! Configuration parsing and validation on arbitrary bytes (mostly JSON, from the seeds). Never
//! panics; a configuration that compiles never pairs `*` with credentials, which the engine's
//! answers below must reflect.
#![no_main]

use edge_cors_core::testing::{respond, HeaderLines};
use edge_cors_core::{compile, decide};
use libfuzzer_sys::fuzz_target;

const PROBES: [&[(&str, &str)]; 3] = [
    &[
        (":method", "GET"),
        (":authority", "api.example.com"),
        (":path", "/api/x"),
        ("origin", "https://app.example.com"),
    ],
    &[
        (":method", "OPTIONS"),
        (":authority", "api.example.com"),
        (":path", "/api/x"),
        ("origin", "https://evil.com"),
        ("access-control-request-method", "PUT"),
    ],
    &[
        (":method", "OPTIONS"),
        (":authority", "api.example.com"),
        (":path", "/"),
        ("origin", "https://a.example.com"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type"),
    ],
];

fuzz_target!(|data: &[u8]| {
    let Ok(config) = compile(data) else { return };
    for probe in PROBES {
        let d = decide(&config, &HeaderLines(probe));
        let r = respond(&d, 200, &[]);
        let acao = r.values("access-control-allow-origin");
        let acac = r.values("access-control-allow-credentials");
        assert!(
            !(acao.contains(&"*") && acac.contains(&"true")),
            "`*` with credentials from {:?}",
            String::from_utf8_lossy(data)
        );
        assert!(acao.len() <= 1);
    }
});
