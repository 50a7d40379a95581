//! The native module's hooks, host code and all, over the fake Envoy
//! (crates/edge-cors-native/src/fake_envoy.rs): arbitrary request and upstream-response header
//! lines through Envoy's callbacks as the module really makes them (unsafe buffers, the header
//! list read once, tracked CORS headers, direct preflight answers).
//!
//! Input layout, as the decide target's (whose seeds it reuses): header lines separated by
//! `\n`, the first byte of each picking the name (below 0x80: a request header the filter reads;
//! from 0x80: an upstream response header), the rest the value. The input's length picks the
//! worker thread.
//! Invariants: no panic, not even a caught one; a stopped request has a reply of 200, 204 or 403
//! and no response phase; when the module changed the response's ACAO, one line is left, `*` or
//! the request's Origin.
#![no_main]

use edge_cors_native::abi;
use edge_cors_native::fake_envoy::{take_log, Filter, Line};
use libfuzzer_sys::fuzz_target;

/// The decide target's names first (same indices, so its seeds mean the same requests here),
/// then the headers only the host logic reads.
const REQUEST: [&str; 10] = [
    ":method",
    ":authority",
    ":path",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "access-control-request-private-network",
    "x-other",
    "x-debug",
    "upgrade",
];

const RESPONSE: [&str; 6] = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-expose-headers",
    "vary",
    "content-type",
];

const POLICY: &str = r#"{"policies": [
    {"name": "app", "match": {"hosts": ["api.example.com"], "path_prefixes": ["/api/"]},
     "allow_origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
     "allow_origin_regexes": ["^https://pr-[0-9]+\\.preview\\.example\\.com$"],
     "allow_methods": ["GET", "POST", "PUT", "DELETE"], "allow_headers": ["authorization", "content-type"],
     "expose_headers": ["etag"], "allow_credentials": true, "max_age": 600,
     "reject_disallowed": {"unsafe_methods": true, "websocket": true}},
    {"name": "public", "allow_origins": ["*"], "allow_headers": ["*"], "mode": "report_only"}
], "decision_header": {"token_header": "x-debug", "token": "0123456789abcdef"}}"#;

thread_local! {
    // Configured once per thread (libFuzzer runs one), through the module's config hook.
    static FILTER: Filter = Filter::configure("edge-cors", POLICY.as_bytes()).expect("the policy configures");
}

fn values<'a>(lines: &'a [Line], name: &str) -> Vec<&'a [u8]> {
    lines.iter().filter(|(k, _)| k == name.as_bytes()).map(|(_, v)| v.as_slice()).collect()
}

fuzz_target!(|data: &[u8]| {
    let (mut request, mut upstream) = (Vec::new(), Vec::new());
    for line in data.split(|&b| b == b'\n') {
        let Some((&index, value)) = line.split_first() else {
            continue;
        };
        if index < 0x80 {
            request.push((REQUEST[usize::from(index) % REQUEST.len()].as_bytes().to_vec(), value.to_vec()));
        } else {
            upstream.push((RESPONSE[usize::from(index) % RESPONSE.len()].as_bytes().to_vec(), value.to_vec()));
        }
    }
    let origin = values(&request, "origin").join(&b","[..]);
    let worker = u32::try_from(data.len() % 2).unwrap_or(0);
    let sent = upstream.clone();
    let (status, seen) = FILTER.with(|f| f.stream(request, upstream, worker));
    let log = take_log();
    assert!(!log.iter().any(|(_, l)| l.contains("panic")), "{log:?}");
    if status == abi::STOP_ITERATION {
        let reply = seen.reply.expect("a stopped request has a reply");
        assert!([200, 204, 403].contains(&reply.status), "{reply:?}");
    } else {
        assert!(seen.reply.is_none());
        let before = values(&sent, "access-control-allow-origin");
        let after = values(&seen.response, "access-control-allow-origin");
        if after != before {
            assert!(after.len() <= 1, "{:?}", seen.response);
            if let Some(v) = after.first() {
                assert!(*v == b"*" || *v == origin.as_slice(), "{v:?} for Origin {origin:?}");
            }
        }
    }
});
