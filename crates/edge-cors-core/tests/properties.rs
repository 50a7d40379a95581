//! Property tests: invariants of `decide()` checked on random policies and random requests.
//!
//! - `Access-Control-Allow-Origin: *` never goes out together with `-Allow-Credentials: true`;
//! - ACAO is only ever the request's Origin, verbatim, or `*`, and at most one line;
//! - a rejected preflight carries no `Access-Control-*` header at all, and is never forwarded;
//! - an allowed preflight or actual request names an origin the policy really trusts (checked
//!   against an independent model of the origin rules);
//! - under an any-origin policy every forwarded response, with or without an Origin, carries
//!   exactly one `*` and does not vary by Origin (Fetch "CORS protocol and HTTP caches");
//! - a path-scoped policy's headers go only to normalized paths under its prefix, segment-wise
//!   (checked against an independent normalizer), and an unnormalized path reaches no later
//!   policy.
//!
//! A small xorshift PRNG with a fixed seed keeps runs reproducible without extra crates;
//! `EDGE_CORS_PROPTEST_SEED` and `EDGE_CORS_PROPTEST_CASES` change seed and count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use edge_cors_core::testing::{respond, HeaderLines};
use edge_cors_core::{compile, decide, Config, Outcome, RequestHeaders};
use wasm_bindgen_test::wasm_bindgen_test;

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    std::env::var("EDGE_CORS_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_C0B5)
}

fn cases() -> usize {
    std::env::var("EDGE_CORS_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

const SCHEMES: &[&str] = &["https", "http", "wss", "HTTPS", "file", "null", ""];
const HOSTS: &[&str] = &[
    "app.example.com",
    "example.com",
    "a.b.example.com",
    "evilexample.com",
    "appxexample.com",
    "foo.com",
    "bar.com",
    "barfoo.com",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "app.example.com.evil.net",
    "APP.example.com",
    ".example.com",
    "a..example.com",
    "app.example.com.",
    "pr-12.preview.example.com",
    "pr-x.preview.example.com",
    "*.example.com",
    "",
];
const PORTS: &[&str] = &["", ":443", ":8443", ":80", ":3000", ":0", ":", ":65536", ":*", ":08443"];
const TAILS: &[&str] = &[
    "",
    "/",
    "/path",
    "?q",
    "#f",
    "@evil.com",
    "\\",
    "%60.evil.com",
    ", https://evil.com",
    " ",
    "\u{0}",
    "\u{fffd}",
    "é",
];

const ORIGIN_SETS: &[&[&str]] = &[
    &["https://app.example.com", "https://*.example.com"],
    &["https://foo.com", "https://bar.com"],
    &["http://localhost:*", "https://app.example.com:8443"],
    &["https://app.example.com"],
    &["*"],
];
const REGEX_SETS: &[&[&str]] = &[&[], &["^https://pr-[0-9]+\\.preview\\.example\\.com$"]];
const METHOD_SETS: &[&[&str]] = &[&[], &["PUT"], &["GET", "POST", "PUT", "DELETE", "PATCH"]];
const HEADER_SETS: &[&[&str]] = &[
    &[],
    &["content-type"],
    &["authorization", "x-custom"],
    &["*"],
    &["*", "authorization"],
];
const EXPOSE_SETS: &[&[&str]] = &[&[], &["etag"], &["*"]];

fn json_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(","))
}

/// A random policy; some combinations are refused by compile() (for example `*` with
/// credentials), and the caller tries again: only compiled policies reach decide().
fn random_config(rng: &mut Rng) -> (String, Config) {
    loop {
        let origins = ORIGIN_SETS[rng.below(ORIGIN_SETS.len())];
        let regexes = REGEX_SETS[rng.below(REGEX_SETS.len())];
        let json = format!(
            r#"{{"policies": [{{"name": "p", "allow_origins": {}, "allow_origin_regexes": {}, "allow_methods": {},
                "allow_headers": {}, "expose_headers": {}, "allow_credentials": {}, "max_age": {},
                "allow_private_network_access": {}}}], "preflight_success_status": {}}}"#,
            json_list(origins),
            json_list(regexes),
            json_list(METHOD_SETS[rng.below(METHOD_SETS.len())]),
            json_list(HEADER_SETS[rng.below(HEADER_SETS.len())]),
            json_list(EXPOSE_SETS[rng.below(EXPOSE_SETS.len())]),
            rng.chance(50),
            rng.below(1000),
            rng.chance(30),
            if rng.chance(50) { 200 } else { 204 },
        );
        if let Ok(config) = compile(json.as_bytes()) {
            return (json, config);
        }
    }
}

fn random_origin(rng: &mut Rng) -> String {
    // Origins some generated policy trusts, so that allowed answers are checked too.
    const TRUSTED: &[&str] = &[
        "https://app.example.com",
        "https://a.b.example.com",
        "https://foo.com",
        "https://bar.com",
        "http://localhost:3000",
        "http://localhost",
        "https://app.example.com:8443",
        "https://pr-7.preview.example.com",
    ];
    if rng.chance(40) {
        return rng.pick(TRUSTED).to_string();
    }
    if rng.chance(3) {
        // Arbitrary printable bytes.
        let len = rng.below(40);
        return (0..len).map(|_| char::from(32 + rng.below(95) as u8)).collect();
    }
    if rng.chance(3) {
        return rng.pick(&["null", "NULL", "*", ""]).to_string();
    }
    format!(
        "{}://{}{}{}",
        rng.pick(SCHEMES),
        rng.pick(HOSTS),
        rng.pick(PORTS),
        if rng.chance(25) { rng.pick(TAILS) } else { "" }
    )
}

fn random_acrh(rng: &mut Rng) -> Option<String> {
    const NAMES: &[&str] = &[
        "content-type",
        "Content-Type",
        "authorization",
        "x-custom",
        "cookie",
        "x y",
        "",
        " ",
        "*",
        "x-\u{fffd}",
    ];
    if rng.chance(40) {
        return None;
    }
    if rng.chance(40) {
        return Some(
            rng.pick(&[
                "content-type",
                "authorization",
                "x-custom",
                "Content-Type, Authorization",
            ])
            .to_string(),
        );
    }
    let n = rng.below(6);
    let names: Vec<&str> = (0..n).map(|_| rng.pick(NAMES)).collect();
    Some(names.join(if rng.chance(50) { "," } else { ", " }))
}

/// Header lines of a random request, several lines of one name possible.
fn random_request(rng: &mut Rng) -> Vec<(&'static str, String)> {
    let mut h = vec![(
        ":method",
        rng.pick(&["GET", "POST", "OPTIONS", "OPTIONS", "PUT", "options"])
            .to_string(),
    )];
    if rng.chance(90) {
        h.push(("origin", random_origin(rng)));
    }
    if rng.chance(60) {
        h.push((
            "access-control-request-method",
            rng.pick(&[
                "PUT", "PUT", "GET", "GET", "PATCH", "DELETE", "put", "", "P UT", "CONNECT",
            ])
            .to_string(),
        ));
    }
    if let Some(acrh) = random_acrh(rng) {
        h.push(("access-control-request-headers", acrh));
    }
    if rng.chance(20) {
        h.push((
            "access-control-request-private-network",
            rng.pick(&["true", "false", "TRUE"]).to_string(),
        ));
    }
    h
}

/// An independent model of which origins the generated policies trust: exact entries, one or
/// more labels under a `*.` pattern's base, `http://localhost` with any port, the preview regex.
fn model_trusts(policy_json: &str, origin: &str) -> bool {
    if policy_json.contains(r#""allow_origins": ["*"]"#) {
        return true;
    }
    let listed = |o: &str| policy_json.contains(&format!("\"{o}\""));
    if listed(origin) {
        return true;
    }
    if let Some(host) = origin.strip_prefix("https://") {
        if listed("https://*.example.com") {
            if let Some(sub) = host.strip_suffix(".example.com") {
                if !sub.is_empty()
                    && sub.split('.').all(|l| {
                        !l.is_empty()
                            && l.bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    })
                {
                    return true;
                }
            }
        }
        if policy_json.contains("preview") {
            if let Some(n) = host
                .strip_prefix("pr-")
                .and_then(|h| h.strip_suffix(".preview.example.com"))
            {
                if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                    return true;
                }
            }
        }
    }
    if listed("http://localhost:*") {
        if let Some(rest) = origin.strip_prefix("http://localhost") {
            if rest.is_empty() {
                return true;
            }
            if let Some(port) = rest.strip_prefix(':') {
                if !port.starts_with('0') && port.parse::<u16>().is_ok_and(|p| p != 0 && p != 80) {
                    return true;
                }
            }
        }
    }
    false
}

#[wasm_bindgen_test(unsupported = test)]
fn random_requests_never_break_the_cors_invariants() {
    let mut rng = Rng::new(seed());
    let n = cases();
    let (mut json, mut config) = random_config(&mut rng);
    let mut counts = [0usize; 4];
    let mut failures: Vec<String> = Vec::new();
    for i in 0..n {
        if i % 100 == 0 {
            (json, config) = random_config(&mut rng);
        }
        let lines = random_request(&mut rng);
        let req = HeaderLines(&lines);
        let d = decide(&config, &req);
        let r = respond(
            &d,
            200,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
            ],
        );
        let origin = req.get("origin");
        let acao = r.values("access-control-allow-origin");
        let cors: Vec<&(String, String)> = r
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-"))
            .collect();
        let mut fail = |what: &str| {
            failures.push(format!(
                "{what}\n  policy {json}\n  request {:?}\n  outcome {:?}\n  response {:?}",
                lines, d.outcome, r
            ))
        };
        let any_origin = json.contains(r#""allow_origins": ["*"]"#);
        if any_origin && r.forwarded {
            if acao != ["*"] {
                fail("an any-origin policy forwarded a response without exactly one ACAO `*`");
            }
            if r.values("vary").iter().any(|v| v.contains("origin")) {
                fail("an any-origin response varies by Origin");
            }
        }
        // Without an Origin the request is not CORS and, unless the policy answers `*` to
        // everyone, the upstream's answer (here a wrong `*` + credentials on purpose) passes
        // untouched: only Vary may be added.
        if matches!(d.outcome, Outcome::NotCors | Outcome::NoPolicy) && !any_origin {
            if cors.len() != 2 {
                fail("a non-CORS response had its CORS headers changed");
            }
            continue;
        }

        for violation in r.cors_violations(d.outcome, origin.as_deref()) {
            fail(violation);
        }
        if acao
            .first()
            .is_some_and(|v| *v != "*" && !origin.as_deref().is_some_and(|o| model_trusts(&json, o)))
        {
            fail("ACAO names an origin the policy does not trust");
        }
        match d.outcome {
            Outcome::PreflightRejected(_) => counts[0] += 1,
            Outcome::PreflightAllowed => counts[1] += 1,
            Outcome::ActualRejected(_) => counts[2] += 1,
            Outcome::ActualAllowed => counts[3] += 1,
            Outcome::NotCors | Outcome::NoPolicy => {}
        }
        if failures.len() > 20 {
            break;
        }
    }
    println!(
        "properties: {n} random requests (seed {:#x}): {} preflights rejected, {} allowed, {} actual rejected, {} allowed",
        seed(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    assert!(
        failures.is_empty(),
        "{} invariant violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The generator must reach every branch, or the invariants were checked on nothing.
    assert!(
        counts.iter().all(|&c| c > n / 200),
        "some outcome was barely generated: {counts:?}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_origin_model_agrees_with_decide_on_plain_cases() {
    // The model is the oracle above; it is itself checked against known answers.
    let json =
        r#"{"policies": [{"name": "p", "allow_origins": ["https://app.example.com", "https://*.example.com"]}]}"#;
    assert!(model_trusts(json, "https://app.example.com"));
    assert!(model_trusts(json, "https://a.b.example.com"));
    assert!(!model_trusts(json, "https://example.com"));
    assert!(!model_trusts(json, "https://evilexample.com"));
    assert!(!model_trusts(json, "http://app.example.com"));
}

/// An independent normalizer, the way a normalizing router or upstream reads a path: decode
/// `%2E`, `%2F`, `%5C` (any case), read `\` as `/`, merge slashes, remove dot segments
/// (RFC 3986 §5.2.4). A path it changes is not normalized.
fn normalized(path: &str) -> String {
    let mut decoded = String::new();
    let mut rest = path;
    while let Some(c) = rest.chars().next() {
        let lower = rest.get(..3).map(str::to_ascii_lowercase);
        match lower.as_deref() {
            Some("%2e") => decoded.push('.'),
            Some("%2f" | "%5c") => decoded.push('/'),
            _ => {
                decoded.push(if c == '\\' { '/' } else { c });
                rest = &rest[c.len_utf8()..];
                continue;
            }
        }
        rest = &rest[3..];
    }
    while decoded.contains("//") {
        decoded = decoded.replace("//", "/");
    }
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = decoded.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." if last => out.push(""),
            "." => {}
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    format!("/{}", out.join("/"))
}

#[wasm_bindgen_test(unsupported = test)]
fn the_path_normalizer_oracle_agrees_with_rfc_3986_examples() {
    assert_eq!(normalized("/a/b/c/./../../g"), "/a/g");
    assert_eq!(normalized("/mid/content=5/../6"), "/mid/6");
    assert_eq!(normalized("/partner/..%2fapi/users"), "/api/users");
    assert_eq!(normalized("//api/users"), "/api/users");
    assert_eq!(normalized("/a/."), "/a/");
    assert_eq!(normalized("/api/users"), "/api/users");
    assert_eq!(normalized("/a/...b"), "/a/...b");
}

const PATH_SCOPED: &str = r#"{"policies": [
    {"name": "scoped", "match": {"path_prefixes": ["/api"]}, "allow_origins": ["https://app.example.com"],
     "allow_credentials": true},
    {"name": "all", "allow_origins": ["*"]}
]}"#;

#[wasm_bindgen_test(unsupported = test)]
fn path_scoped_headers_go_only_to_normalized_paths_under_the_prefix() {
    const SEGMENTS: &[&str] = &[
        "api",
        "api",
        "apix",
        "API",
        "x",
        "",
        ".",
        "..",
        "...",
        "%2e",
        "%2E%2e",
        "%2f",
        "a%2Fb",
        "%5c",
        "a\\b",
        ".well-known",
        "api-internal",
    ];
    const TAILS: &[&str] = &["", "", "?next=/../api", "?a=%2f", "#/..", "/"];
    let mut rng = Rng::new(seed() ^ 0x9A7B);
    let config = compile(PATH_SCOPED.as_bytes()).unwrap();
    let (mut scoped_allowed, mut malformed, mut elsewhere) = (0, 0, 0);
    let mut failures = Vec::new();
    for _ in 0..cases() / 4 {
        let n = 1 + rng.below(4);
        let segments: Vec<&str> = (0..n).map(|_| rng.pick(SEGMENTS)).collect();
        let path = format!("/{}{}", segments.join("/"), rng.pick(TAILS));
        let lines = [
            (":method", "GET"),
            (":path", path.as_str()),
            ("origin", "https://app.example.com"),
        ];
        let d = decide(&config, &HeaderLines(&lines));
        let r = respond(&d, 200, &[("access-control-allow-origin", "https://upstream.example")]);
        let route = path.split(['?', '#']).next().unwrap_or_default();
        let under_api = route == "/api" || route.starts_with("/api/");
        let policy = d.policy.and_then(|i| config.policy_name(i)).map(str::to_string);
        let (want_policy, want_acao): (&str, &[&str]) = if normalized(route) != route {
            malformed += 1;
            ("scoped", &[])
        } else if under_api {
            scoped_allowed += 1;
            ("scoped", &["https://app.example.com"])
        } else {
            elsewhere += 1;
            ("all", &["*"])
        };
        if policy.as_deref() != Some(want_policy) || r.values("access-control-allow-origin") != want_acao {
            failures.push(format!(
                "{path:?}: policy {policy:?} outcome {:?} response {r:?}",
                d.outcome
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("properties: paths: {scoped_allowed} allowed under /api, {malformed} unnormalized, {elsewhere} elsewhere");
    assert!(scoped_allowed > 50 && malformed > 50 && elsewhere > 50);
}
