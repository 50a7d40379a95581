//! The bypass corpus (tests/bypass_origins.txt) through `decide()`: every hostile Origin, under
//! both policies, as an actual request and as a preflight, must get no
//! `Access-Control-Allow-Origin` and a rejected preflight (403, no `Access-Control-*` header).
//! The same file is sent through Envoy by tests/e2e/test_bypass.py. Like the spec tests, this
//! runs natively and, under wasm-bindgen-test, as wasm32-unknown-unknown in node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use edge_cors_core::testing::{respond, HeaderLines, SimulatedResponse};
use edge_cors_core::{compile, decide, Config, Outcome};
use wasm_bindgen_test::wasm_bindgen_test;

const CORPUS: &str = include_str!("../../../tests/bypass_origins.txt");

/// Policy A (`app.example.com` + `*.example.com`, credentials) for host api.example.com;
/// policy B (`foo.com` + `bar.com`) for host api.foo.com.
const POLICIES: &str = r#"{"policies": [
    {"name": "a", "match": {"hosts": ["api.example.com"]},
     "allow_origins": ["https://app.example.com", "https://*.example.com"],
     "allow_methods": ["PUT"], "allow_headers": ["content-type"], "allow_credentials": true},
    {"name": "b", "match": {"hosts": ["api.foo.com"]},
     "allow_origins": ["https://foo.com", "https://bar.com"],
     "allow_methods": ["PUT"], "allow_headers": ["content-type"]}
]}"#;

const HOSTS: [&str; 2] = ["api.example.com", "api.foo.com"];

const UPSTREAM: &[(&str, &str)] = &[
    ("access-control-allow-origin", "*"),
    ("access-control-allow-credentials", "true"),
    ("vary", "accept-encoding"),
];

/// Decode one corpus line into the values of its Origin header lines (see the file's header).
fn decode_line(line: &str) -> Vec<Vec<u8>> {
    line.split(" ||| ").map(decode_value).collect()
}

fn decode_value(s: &str) -> Vec<u8> {
    let mut expanded = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{repeat:") {
        expanded.push_str(&rest[..start]);
        let after = &rest[start + "{repeat:".len()..];
        let end = after.find('}').expect("unterminated {repeat:");
        let (count, text) = after[..end].split_once(':').expect("{repeat:N:TEXT}");
        let count: usize = count.parse().expect("repeat count");
        expanded.push_str(&text.repeat(count));
        rest = &after[end + 1..];
    }
    expanded.push_str(rest);

    let mut out = Vec::new();
    let bytes = expanded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let (byte, used) = match bytes[i + 1] {
                b'r' => (b'\r', 2),
                b'n' => (b'\n', 2),
                b't' => (b'\t', 2),
                b'0' => (0, 2),
                b'\\' => (b'\\', 2),
                b'x' => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).expect("\\xHH");
                    (u8::from_str_radix(hex, 16).expect("\\xHH"), 4)
                }
                // A lone backslash is itself hostile input (parser confusion): keep it.
                _ => (b'\\', 1),
            };
            out.push(byte);
            i += used;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn corpus() -> Vec<(String, Vec<Vec<u8>>)> {
    CORPUS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| (l.to_string(), decode_line(l)))
        .collect()
}

fn actual(config: &Config, host: &str, origins: &[Vec<u8>]) -> (Outcome, SimulatedResponse) {
    let mut h: Vec<(&'static str, Vec<u8>)> = vec![(":method", b"GET".to_vec()), (":authority", host.into())];
    h.extend(origins.iter().map(|o| ("origin", o.clone())));
    let d = decide(config, &HeaderLines(&h));
    (d.outcome, respond(&d, 200, UPSTREAM))
}

fn preflight(config: &Config, host: &str, origins: &[Vec<u8>]) -> (Outcome, SimulatedResponse) {
    let mut h: Vec<(&'static str, Vec<u8>)> = vec![
        (":method", b"OPTIONS".to_vec()),
        (":authority", host.into()),
        ("access-control-request-method", b"PUT".to_vec()),
        ("access-control-request-headers", b"content-type".to_vec()),
    ];
    h.extend(origins.iter().map(|o| ("origin", o.clone())));
    let d = decide(config, &HeaderLines(&h));
    (d.outcome, respond(&d, 200, UPSTREAM))
}

fn cors_headers(r: &SimulatedResponse) -> Vec<&(String, String)> {
    r.headers
        .iter()
        .filter(|(n, _)| n.starts_with("access-control-"))
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn no_origin_of_the_bypass_corpus_is_allowed_by_either_policy() {
    let config = compile(POLICIES.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let cases = corpus();
    assert!(
        cases.len() >= 60,
        "the corpus must hold at least 60 hostile origins, has {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut tried = 0;
    for (line, origins) in &cases {
        for host in HOSTS {
            tried += 1;
            let (outcome, r) = actual(&config, host, origins);
            if !matches!(outcome, Outcome::ActualRejected(_)) || !r.values("access-control-allow-origin").is_empty() {
                failures.push(format!("actual    {host} {line:?}: {outcome:?} {:?}", cors_headers(&r)));
            }
            // The upstream's own CORS headers must be gone too: they would answer for us.
            if !cors_headers(&r).is_empty() {
                failures.push(format!(
                    "actual    {host} {line:?}: upstream CORS headers kept {:?}",
                    cors_headers(&r)
                ));
            }
            let (outcome, r) = preflight(&config, host, origins);
            if !matches!(outcome, Outcome::PreflightRejected(_))
                || r.status != 403
                || r.forwarded
                || !cors_headers(&r).is_empty()
            {
                failures.push(format!(
                    "preflight {host} {line:?}: {outcome:?} status {} forwarded {} {:?}",
                    r.status,
                    r.forwarded,
                    cors_headers(&r)
                ));
            }
        }
    }
    println!(
        "bypass corpus: {} hostile origins tried under 2 policies as actual requests and preflights ({} requests); {} allowed",
        cases.len(),
        tried * 2,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} bypasses:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The check above must be able to fail: the same request forms from trusted origins are
/// allowed, so a rejection in the corpus is the origin's doing.
#[wasm_bindgen_test(unsupported = test)]
fn the_same_requests_from_trusted_origins_are_allowed() {
    let config = compile(POLICIES.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    for (host, origin) in [
        ("api.example.com", "https://app.example.com"),
        ("api.example.com", "https://a.b.example.com"),
        ("api.foo.com", "https://foo.com"),
        ("api.foo.com", "https://bar.com"),
    ] {
        let origins = [origin.as_bytes().to_vec()];
        let (outcome, r) = actual(&config, host, &origins);
        assert_eq!(outcome, Outcome::ActualAllowed, "{host} {origin}");
        assert_eq!(r.values("access-control-allow-origin"), [origin]);
        let (outcome, r) = preflight(&config, host, &origins);
        assert_eq!(outcome, Outcome::PreflightAllowed, "{host} {origin}");
        assert_eq!(r.values("access-control-allow-origin"), [origin]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_corpus_decoder_expands_escapes_repeats_and_header_lines() {
    assert_eq!(decode_line(r"a\r\n\0\x7f\\b"), vec![b"a\r\n\0\x7f\\b".to_vec()]);
    assert_eq!(decode_line(r"\xff"), vec![vec![0xff]]);
    assert_eq!(decode_line("x{repeat:3:ab}y"), vec![b"xabababy".to_vec()]);
    assert_eq!(decode_line("a ||| b"), vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(decode_line(r"a\.b"), vec![br"a\.b".to_vec()]);
    let long = corpus().into_iter().map(|(_, v)| v[0].len()).max().unwrap_or(0);
    assert!(
        long >= 8192,
        "the corpus holds an origin of at least 8 KB, longest {long}"
    );
}
