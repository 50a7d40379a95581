//! The whole `decide()` with arbitrary request headers, under two representative policies.
//!
//! Input layout: header lines separated by `\n`, each `NAME-INDEX VALUE` where the first byte
//! picks one of the header names the filter reads (so the fuzzer spends its time on values),
//! and the rest is the value; several lines of one name are comma-joined as Envoy does.
//! Invariants: no panic; ACAO only `*` or the request Origin, at most one line; never `*` with
//! credentials; a rejected preflight has no `Access-Control-*` header and is not forwarded.
#![no_main]

use edge_cors_core::testing::{respond, HeaderLines};
use edge_cors_core::{compile, decide, Config, Outcome, RequestHeaders};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    ":method",
    ":authority",
    ":path",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "access-control-request-private-network",
    "x-other",
];

const POLICIES: [&str; 2] = [
    r#"{"policies": [
        {"name": "app", "match": {"hosts": ["api.example.com", "*.example.com"], "path_prefixes": ["/api/"]},
         "allow_origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
         "allow_origin_regexes": ["^https://pr-[0-9]+\\.preview\\.example\\.com$"],
         "allow_methods": ["GET", "POST", "PUT", "DELETE"], "allow_headers": ["authorization", "content-type"],
         "expose_headers": ["etag"], "allow_credentials": true, "max_age": 600},
        {"name": "foobar", "allow_origins": ["https://foo.com", "https://bar.com"], "allow_headers": ["*"],
         "allow_private_network_access": true}
    ]}"#,
    r#"{"policies": [{"name": "public", "allow_origins": ["*"], "allow_headers": ["*"], "expose_headers": ["*"],
        "allow_private_network_access": true}], "preflight_success_status": 200}"#,
];

thread_local! {
    // Compiled once, per thread (libFuzzer runs one).
    static CONFIGS: Vec<Config> = POLICIES.iter().filter_map(|p| compile(p.as_bytes()).ok()).collect();
}

fuzz_target!(|data: &[u8]| {
    let mut headers = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let Some((&index, value)) = line.split_first() else {
            continue;
        };
        let name = NAMES[usize::from(index) % NAMES.len()];
        headers.push((name, value));
    }
    let req = HeaderLines(&headers);
    let origin = req.get("origin");
    CONFIGS.with(|configs| check(configs, &req, origin.as_deref()));
});

fn check(configs: &[Config], req: &HeaderLines<&str, &[u8]>, origin: Option<&str>) {
    assert_eq!(configs.len(), POLICIES.len());
    for config in configs {
        let d = decide(config, req);
        let r = respond(
            &d,
            200,
            &[
                ("access-control-allow-origin", "https://upstream.example"),
                ("vary", "accept"),
            ],
        );
        if matches!(d.outcome, Outcome::NotCors | Outcome::NoPolicy) {
            continue;
        }
        let violations = r.cors_violations(d.outcome, origin);
        assert!(violations.is_empty(), "{violations:?} for origin {origin:?}: {r:?}");
    }
}
