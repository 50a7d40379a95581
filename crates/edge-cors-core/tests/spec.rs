//! Table-driven spec tests of `decide()`: every case asserts the outcome, whether the request
//! was forwarded, the status, and the exact set of `access-control-*` and `vary` lines the
//! client receives (a missing header and an extra one both fail). Run natively and, under
//! wasm-bindgen-test, as wasm32-unknown-unknown in node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use edge_cors_core::testing::{respond, SimulatedResponse};
use edge_cors_core::{compile, decide, Outcome, Reason};
use wasm_bindgen_test::wasm_bindgen_test;

/// Request headers as a client sent them, seen as Envoy presents them to the filter.
use edge_cors_core::testing::HeaderLines as Req;

/// What the upstream answers: its own, wrong CORS headers included.
const UPSTREAM: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "*"),
    ("access-control-max-age", "86400"),
    ("vary", "accept-encoding"),
];

const APP: &str = r#"{"policies": [{
    "name": "app",
    "allow_origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*", "https://api.partner.io:8443"],
    "allow_origin_regexes": ["^https://pr-[0-9]+\\.preview\\.example\\.org$"],
    "allow_methods": ["GET", "POST", "PUT", "DELETE", "PATCH"],
    "allow_headers": ["authorization", "content-type"],
    "expose_headers": ["etag", "x-request-id"],
    "allow_credentials": true,
    "max_age": 600
}]}"#;

const PUBLIC: &str = r#"{"policies": [{
    "name": "public",
    "allow_origins": ["*"],
    "allow_headers": ["*"],
    "expose_headers": ["*"],
    "allow_private_network_access": true
}]}"#;

const STAR_HEADERS_WITH_CREDENTIALS: &str = r#"{"policies": [{
    "name": "star",
    "allow_origins": ["https://app.example.com"],
    "allow_methods": ["PUT"],
    "allow_headers": ["*"],
    "allow_credentials": true
}], "preflight_success_status": 200}"#;

const ROUTED: &str = r#"{"policies": [
    {"name": "admin", "match": {"hosts": ["admin.example.com"], "path_prefixes": ["/api/"]},
     "allow_origins": ["https://admin-ui.example.com"]},
    {"name": "api", "match": {"hosts": ["*.example.com"]},
     "allow_origins": ["https://app.example.com"]}
]}"#;

const PREFLIGHT_VARY: &str = "origin, access-control-request-method, access-control-request-headers";

struct Case<'a> {
    name: &'a str,
    config: &'a str,
    request: &'a [(&'a str, &'a str)],
    outcome: Outcome,
    forwarded: bool,
    status: u16,
    headers: &'a [(&'a str, &'a str)],
}

fn run(config: &str, request: &[(&str, &str)], upstream_status: u16) -> (Outcome, SimulatedResponse) {
    let config = compile(config.as_bytes()).unwrap_or_else(|e| panic!("test config refused:\n{e}"));
    let decision = decide(&config, &Req(request));
    let response = respond(&decision, upstream_status, UPSTREAM);
    (decision.outcome, response)
}

fn check(cases: &[Case<'_>]) {
    let mut failures = Vec::new();
    for c in cases {
        let (outcome, response) = run(c.config, c.request, 200);
        let mut want: Vec<(String, String)> = c.headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        want.sort();
        let got = response.cors_and_vary();
        if outcome != c.outcome || response.forwarded != c.forwarded || response.status != c.status || got != want {
            failures.push(format!(
                "{}:\n  outcome   {:?} (want {:?})\n  forwarded {} (want {})\n  status    {} (want {})\n  headers   {:?}\n  want      {:?}",
                c.name, outcome, c.outcome, response.forwarded, c.forwarded, response.status, c.status, got, want
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const fn preflight(origin: &'static str, method: &'static str) -> [(&'static str, &'static str); 3] {
    [
        (":method", "OPTIONS"),
        ("origin", origin),
        ("access-control-request-method", method),
    ]
}

// Rule 1: no Origin (or an empty one) is not CORS; an any-origin policy answers it like any other.
#[wasm_bindgen_test(unsupported = test)]
fn requests_without_origin_vary_by_origin_or_get_the_any_origin_policys_constant_answer() {
    const UPSTREAM_CORS: [(&str, &str); 3] = [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "*"),
        ("access-control-max-age", "86400"),
    ];
    check(&[
        Case {
            name: "no origin, origin-dependent policy",
            config: APP,
            request: &[(":method", "GET")],
            outcome: Outcome::NotCors,
            forwarded: true,
            status: 200,
            headers: &[
                UPSTREAM_CORS[0],
                UPSTREAM_CORS[1],
                UPSTREAM_CORS[2],
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
        Case {
            name: "empty origin",
            config: APP,
            request: &[(":method", "GET"), ("origin", "")],
            outcome: Outcome::NotCors,
            forwarded: true,
            status: 200,
            headers: &[
                UPSTREAM_CORS[0],
                UPSTREAM_CORS[1],
                UPSTREAM_CORS[2],
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
        Case {
            name: "no origin, any-origin policy: the same `*` answer as with one, no Vary added",
            config: PUBLIC,
            request: &[(":method", "GET")],
            outcome: Outcome::NotCors,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "*"),
                ("access-control-expose-headers", "*"),
                ("vary", "accept-encoding"),
            ],
        },
        Case {
            name: "OPTIONS with ACRM but no Origin is not a preflight",
            config: APP,
            request: &[(":method", "OPTIONS"), ("access-control-request-method", "PUT")],
            outcome: Outcome::NotCors,
            forwarded: true,
            status: 200,
            headers: &[
                UPSTREAM_CORS[0],
                UPSTREAM_CORS[1],
                UPSTREAM_CORS[2],
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
    ]);
}

// Rule 2: preflights are answered locally.
#[wasm_bindgen_test(unsupported = test)]
fn allowed_preflights_are_answered_locally_with_exactly_the_policy_headers() {
    check(&[
        Case {
            name: "exact origin, listed method and headers",
            config: APP,
            request: &[
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type,authorization"),
            ],
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 204,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST, PUT, DELETE, PATCH"),
                ("access-control-allow-headers", "content-type,authorization"),
                ("access-control-max-age", "600"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
        Case {
            name: "subdomain wildcard, no requested headers: no ACAH",
            config: APP,
            request: &const { preflight("https://a.b.example.com", "DELETE") },
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 204,
            headers: &[
                ("access-control-allow-origin", "https://a.b.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST, PUT, DELETE, PATCH"),
                ("access-control-max-age", "600"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
        Case {
            name: "localhost any port, regex origin, explicit port",
            config: APP,
            request: &const { preflight("http://localhost:5173", "PATCH") },
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 204,
            headers: &[
                ("access-control-allow-origin", "http://localhost:5173"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST, PUT, DELETE, PATCH"),
                ("access-control-max-age", "600"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
        Case {
            name: "regex origin",
            config: APP,
            request: &const { preflight("https://pr-17.preview.example.org", "GET") },
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 204,
            headers: &[
                ("access-control-allow-origin", "https://pr-17.preview.example.org"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST, PUT, DELETE, PATCH"),
                ("access-control-max-age", "600"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
        Case {
            name: "any-origin policy: literal *, requested headers echoed, PNA granted when asked",
            config: PUBLIC,
            request: &[
                (":method", "OPTIONS"),
                ("origin", "https://whoever.net"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "X-Trace, x-b3"),
                ("access-control-request-private-network", "true"),
            ],
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 204,
            headers: &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "GET, HEAD, POST"),
                ("access-control-allow-headers", "x-trace,x-b3"),
                ("access-control-allow-private-network", "true"),
                (
                    "vary",
                    "access-control-request-method, access-control-request-headers, access-control-request-private-network",
                ),
            ],
        },
        Case {
            name: "PNA not granted when the policy does not enable it",
            config: APP,
            request: &[
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "GET"),
                ("access-control-request-private-network", "true"),
            ],
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 204,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST, PUT, DELETE, PATCH"),
                ("access-control-max-age", "600"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
        Case {
            name: "`*` headers with credentials are echoed, never sent as `*`; status 200 configured",
            config: STAR_HEADERS_WITH_CREDENTIALS,
            request: &[
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "x-a, , x-b,,"),
            ],
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-headers", "x-a,x-b"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
        Case {
            name: "GET, HEAD and POST are always acceptable requested methods",
            config: STAR_HEADERS_WITH_CREDENTIALS,
            request: &const { preflight("https://app.example.com", "HEAD") },
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "PUT"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
    ]);
}

/// (case name, request headers, expected reason)
type RejectedCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, Reason);

/// A refused preflight: 403 from the filter, only `Vary`, no `access-control-*` at all.
fn check_rejected_preflights(config: &str, cases: &[RejectedCase<'_>]) {
    check_rejected_preflights_varying(config, PREFLIGHT_VARY, cases);
}

/// [`check_rejected_preflights`] for a policy whose preflight `Vary` is `vary`.
fn check_rejected_preflights_varying(config: &str, vary: &str, cases: &[RejectedCase<'_>]) {
    for (name, request, reason) in cases {
        let (outcome, response) = run(config, request, 200);
        assert_eq!(outcome, Outcome::PreflightRejected(*reason), "{name}");
        assert!(!response.forwarded, "{name}: a preflight must never reach the upstream");
        assert_eq!(response.status, 403, "{name}");
        assert_eq!(
            response.cors_and_vary(),
            vec![("vary".to_string(), vary.to_string())],
            "{name}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn refused_preflights_get_403_and_reveal_nothing_of_the_policy() {
    let long_acrh = "x-a,".repeat(600);
    let many_names = "a,".repeat(65);
    let cases: Vec<RejectedCase<'_>> = vec![
        (
            "untrusted origin",
            preflight("https://evil.com", "PUT").to_vec(),
            Reason::Origin,
        ),
        (
            "suffix look-alike",
            preflight("https://evilexample.com", "PUT").to_vec(),
            Reason::Origin,
        ),
        (
            "prefix look-alike",
            preflight("https://app.example.com.evil.net", "PUT").to_vec(),
            Reason::Origin,
        ),
        (
            "apex under a subdomain wildcard",
            preflight("https://example.com", "PUT").to_vec(),
            Reason::Origin,
        ),
        (
            "scheme downgrade",
            preflight("http://app.example.com", "PUT").to_vec(),
            Reason::Origin,
        ),
        (
            "other port",
            preflight("https://app.example.com:8443", "PUT").to_vec(),
            Reason::Origin,
        ),
        (
            "port of another entry",
            preflight("https://api.partner.io", "PUT").to_vec(),
            Reason::Origin,
        ),
        ("null origin", preflight("null", "PUT").to_vec(), Reason::Origin),
        (
            "regex look-alike",
            preflight("https://pr-1.preview.example.org.evil.net", "PUT").to_vec(),
            Reason::Origin,
        ),
        (
            "upper-case origin",
            preflight("https://APP.example.com", "PUT").to_vec(),
            Reason::Malformed,
        ),
        (
            "default port written",
            preflight("https://app.example.com:443", "PUT").to_vec(),
            Reason::Malformed,
        ),
        (
            "trailing slash",
            preflight("https://app.example.com/", "PUT").to_vec(),
            Reason::Malformed,
        ),
        (
            "comma-joined origins",
            preflight("https://app.example.com,https://evil.com", "PUT").to_vec(),
            Reason::Malformed,
        ),
        (
            "method not allowed",
            preflight("https://app.example.com", "OPTIONS").to_vec(),
            Reason::Method,
        ),
        (
            "methods compare case-sensitively",
            preflight("https://app.example.com", "patch").to_vec(),
            Reason::Method,
        ),
        (
            "non-token method",
            preflight("https://app.example.com", "PU T").to_vec(),
            Reason::Malformed,
        ),
        (
            "header not allowed",
            vec![
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type,x-secret"),
            ],
            Reason::Headers,
        ),
        (
            "non-token header name",
            vec![
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type,x secret"),
            ],
            Reason::Malformed,
        ),
        (
            "ACRH past the length bound",
            vec![
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", long_acrh.as_str()),
            ],
            Reason::Malformed,
        ),
        (
            "ACRH past the element bound",
            vec![
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", many_names.as_str()),
            ],
            Reason::Malformed,
        ),
    ];
    check_rejected_preflights(APP, &cases);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_header_wildcard_never_covers_authorization() {
    let request = [
        (":method", "OPTIONS"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "x-a,authorization"),
    ];
    check_rejected_preflights(
        STAR_HEADERS_WITH_CREDENTIALS,
        &[("authorization under *", request.to_vec(), Reason::Headers)],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn several_request_header_lines_are_one_list() {
    let (outcome, response) = run(
        APP,
        &[
            (":method", "OPTIONS"),
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type"),
            ("access-control-request-headers", "Authorization"),
        ],
        200,
    );
    assert_eq!(outcome, Outcome::PreflightAllowed);
    assert_eq!(
        response.values("access-control-allow-headers"),
        vec!["content-type,authorization"]
    );
}

// Rule 3: actual requests are forwarded; edge-cors owns the CORS headers of the response.
#[wasm_bindgen_test(unsupported = test)]
fn actual_requests_get_the_policy_headers_in_place_of_the_upstreams() {
    check(&[
        Case {
            name: "allowed origin with credentials and exposed headers",
            config: APP,
            request: &[(":method", "GET"), ("origin", "https://app.example.com")],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "etag, x-request-id"),
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
        Case {
            name: "rejected origin: the upstream's CORS headers are removed too",
            config: APP,
            request: &[(":method", "POST"), ("origin", "https://evil.com")],
            outcome: Outcome::ActualRejected(Reason::Origin),
            forwarded: true,
            status: 200,
            headers: &[("vary", "accept-encoding"), ("vary", "origin")],
        },
        Case {
            name: "malformed origin on an actual request",
            config: APP,
            request: &[(":method", "GET"), ("origin", "https://app.example.com/")],
            outcome: Outcome::ActualRejected(Reason::Malformed),
            forwarded: true,
            status: 200,
            headers: &[("vary", "accept-encoding"), ("vary", "origin")],
        },
        Case {
            name: "null origin on an actual request",
            config: APP,
            request: &[(":method", "GET"), ("origin", "null")],
            outcome: Outcome::ActualRejected(Reason::Origin),
            forwarded: true,
            status: 200,
            headers: &[("vary", "accept-encoding"), ("vary", "origin")],
        },
        Case {
            name: "OPTIONS with Origin but no ACRM is an actual request",
            config: APP,
            request: &[(":method", "OPTIONS"), ("origin", "https://app.example.com")],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "etag, x-request-id"),
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
        Case {
            name: "an empty ACRM does not make a preflight",
            config: APP,
            request: &[
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", ""),
            ],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-expose-headers", "etag, x-request-id"),
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
        Case {
            name: "a PUT with ACRM is an actual request (only OPTIONS preflights)",
            config: APP,
            request: &[
                (":method", "PUT"),
                ("origin", "https://evil.com"),
                ("access-control-request-method", "PUT"),
            ],
            outcome: Outcome::ActualRejected(Reason::Origin),
            forwarded: true,
            status: 200,
            headers: &[("vary", "accept-encoding"), ("vary", "origin")],
        },
        Case {
            name: "any-origin policy: literal *, expose *, no Vary added",
            config: PUBLIC,
            request: &[(":method", "GET"), ("origin", "https://whoever.net")],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "*"),
                ("access-control-expose-headers", "*"),
                ("vary", "accept-encoding"),
            ],
        },
    ]);
}

// Rule 4: the same plan decorates any response status, including later filters' local replies.
#[wasm_bindgen_test(unsupported = test)]
fn error_responses_are_decorated_like_any_other() {
    for status in [401, 403, 404, 500, 503] {
        let (_, response) = run(
            APP,
            &[(":method", "GET"), ("origin", "https://app.example.com")],
            status,
        );
        assert_eq!(response.status, status);
        assert_eq!(
            response.values("access-control-allow-origin"),
            vec!["https://app.example.com"]
        );
        assert_eq!(response.values("access-control-allow-credentials"), vec!["true"]);
    }
}

// Rule 5: exact comparison against canonical forms.
#[wasm_bindgen_test(unsupported = test)]
fn origins_are_compared_exactly_against_their_canonical_form() {
    let allowed = [
        "https://app.example.com",
        "https://x.example.com",
        "http://localhost",
        "https://api.partner.io:8443",
    ];
    for origin in allowed {
        let (outcome, response) = run(APP, &[(":method", "GET"), ("origin", origin)], 200);
        assert_eq!(outcome, Outcome::ActualAllowed, "{origin}");
        assert_eq!(response.values("access-control-allow-origin"), vec![origin]);
    }
    let refused = [
        "https://app.example.com.",
        "https://app.example.com:443",
        "https://App.example.com",
        "https://app.example.com/",
        "https://api.partner.io:08443",
        " https://app.example.com",
        "null",
        "NULL",
    ];
    for origin in refused {
        let (outcome, response) = run(APP, &[(":method", "GET"), ("origin", origin)], 200);
        assert!(matches!(outcome, Outcome::ActualRejected(_)), "{origin}: {outcome:?}");
        assert!(response.values("access-control-allow-origin").is_empty(), "{origin}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_first_policy_whose_match_fits_applies_and_no_match_leaves_everything_alone() {
    let get = |authority: &'static str, path: &'static str, origin: &'static str| {
        let request = [
            (":method", "GET"),
            (":authority", authority),
            (":path", path),
            ("origin", origin),
        ];
        let config = compile(ROUTED.as_bytes()).expect("valid");
        let decision = decide(&config, &Req(&request));
        (
            decision.policy.and_then(|i| config.policy_name(i)).map(str::to_string),
            decision.outcome,
        )
    };
    assert_eq!(
        get("admin.example.com", "/api/x", "https://admin-ui.example.com"),
        (Some("admin".into()), Outcome::ActualAllowed)
    );
    assert_eq!(
        get("admin.example.com", "/api/x", "https://app.example.com"),
        (Some("admin".into()), Outcome::ActualRejected(Reason::Origin))
    );
    // The router compares the Host with its port: so do policies (rule 6).
    assert_eq!(
        get("admin.example.com:8443", "/api/x", "https://admin-ui.example.com"),
        (None, Outcome::NoPolicy)
    );
    assert_eq!(
        get("admin.example.com", "/other", "https://app.example.com"),
        (Some("api".into()), Outcome::ActualAllowed)
    );
    assert_eq!(
        get("example.com", "/api/x", "https://app.example.com"),
        (None, Outcome::NoPolicy)
    );
    let (outcome, response) = run(
        ROUTED,
        &[
            (":method", "OPTIONS"),
            (":authority", "other.org"),
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"),
        ],
        200,
    );
    assert_eq!(outcome, Outcome::NoPolicy);
    assert!(response.forwarded, "a preflight no policy matches goes on untouched");
    assert_eq!(response.headers.len(), UPSTREAM.len());
}

// ---- operations: report-only, rollout, reject_disallowed, the decision header ----

use edge_cors_core::testing::bucket;
use edge_cors_core::Blocked;

const OPS: &str = r#"{"policies": [
    {"name": "strict", "match": {"path_prefixes": ["/strict/"]}, "allow_origins": ["https://app.example.com"],
     "reject_disallowed": {"unsafe_methods": true, "websocket": true}},
    {"name": "rollout", "match": {"path_prefixes": ["/rollout/"]}, "allow_origins": ["https://app.example.com"],
     "enforce_percent": 30},
    {"name": "legacy", "allow_origins": ["https://app.example.com"], "mode": "report_only"}
], "decision_header": {"token_header": "x-debug", "token": "0123456789abcdef"}}"#;

#[wasm_bindgen_test(unsupported = test)]
fn report_only_decides_and_counts_but_leaves_request_and_response_untouched() {
    let config = compile(OPS.as_bytes()).unwrap();
    let req = [
        (":method", "OPTIONS"),
        (":path", "/legacy"),
        ("origin", "https://evil.com"),
        ("access-control-request-method", "PUT"),
    ];
    let decision = decide(&config, &Req(&req));
    assert_eq!(decision.outcome, Outcome::PreflightRejected(Reason::Origin));
    assert!(!decision.enforced);
    let response = respond(&decision, 200, UPSTREAM);
    assert!(response.forwarded);
    let upstream: Vec<(String, String)> = UPSTREAM.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    assert_eq!(
        response.headers, upstream,
        "report-only must leave the upstream's answer exactly as it was"
    );
    assert_eq!(
        decision.counter_index(),
        Some(2 * 30 + 15 + 2),
        "legacy.report_only.preflight_rejected.origin"
    );
}

/// Origins of the form `https://siteN.example.net` whose bucket under `policy` is below (or, with
/// `enforced` false, at or above) `percent`.
fn origins_in_bucket(policy: &str, percent: u8, enforced: bool, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("https://site{i}.example.net"))
        .filter(|o| (bucket(policy, o) < percent) == enforced)
        .take(n)
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn the_rollout_enforces_an_origin_on_every_request_or_on_none_and_counts_it_so() {
    let config = compile(OPS.as_bytes()).unwrap();
    let decide_for = |origin: &str| {
        let req = [(":method", "GET"), (":path", "/rollout/x"), ("origin", origin)];
        decide(&config, &Req(&req))
    };
    for origin in origins_in_bucket("rollout", 30, true, 5) {
        for _ in 0..20 {
            let d = decide_for(&origin);
            assert!(d.enforced, "{origin}");
            assert_eq!(d.counter_index(), Some(30 + 7), "rollout.actual_rejected.origin");
            assert_eq!(
                respond(&d, 200, UPSTREAM).values("access-control-allow-origin"),
                Vec::<&str>::new()
            );
        }
    }
    for origin in origins_in_bucket("rollout", 30, false, 5) {
        for _ in 0..20 {
            let d = decide_for(&origin);
            assert!(!d.enforced, "{origin}");
            assert_eq!(
                d.counter_index(),
                Some(30 + 15 + 7),
                "rollout.report_only.actual_rejected.origin"
            );
            assert_eq!(
                respond(&d, 200, UPSTREAM).values("access-control-allow-origin"),
                vec!["*"]
            );
        }
    }
    // Without an Origin the request is not part of the rollout: always handled as enforced.
    let d = decide(&config, &Req(&[(":method", "GET"), (":path", "/rollout/x")]));
    assert!(d.enforced);
    assert_eq!(d.counter_index(), Some(30), "rollout.not_cors");
}

/// (request headers, expected block, expected status)
type BlockCase = (&'static [(&'static str, &'static str)], Option<Blocked>, u16);

#[wasm_bindgen_test(unsupported = test)]
fn reject_disallowed_answers_403_to_unsafe_methods_and_websockets_from_rejected_origins_only() {
    let config = compile(OPS.as_bytes()).unwrap();
    let cases: &[BlockCase] = &[
        (
            &[
                (":method", "POST"),
                (":path", "/strict/"),
                ("origin", "https://evil.com"),
            ],
            Some(Blocked::UnsafeMethod),
            403,
        ),
        (
            &[(":method", "PATCH"), (":path", "/strict/"), ("origin", "null")],
            Some(Blocked::UnsafeMethod),
            403,
        ),
        (
            &[
                (":method", "GET"),
                (":path", "/strict/"),
                ("origin", "https://evil.com"),
                ("upgrade", "WebSocket"),
            ],
            Some(Blocked::WebSocket),
            403,
        ),
        (
            &[
                (":method", "GET"),
                (":path", "/strict/"),
                ("origin", "https://evil.com"),
            ],
            None,
            200,
        ),
        (
            &[
                (":method", "HEAD"),
                (":path", "/strict/"),
                ("origin", "https://evil.com"),
            ],
            None,
            200,
        ),
        (
            &[
                (":method", "POST"),
                (":path", "/strict/"),
                ("origin", "https://app.example.com"),
            ],
            None,
            200,
        ),
        (
            &[
                (":method", "GET"),
                (":path", "/strict/"),
                ("origin", "https://app.example.com"),
                ("upgrade", "websocket"),
            ],
            None,
            200,
        ),
        (&[(":method", "POST"), (":path", "/strict/")], None, 200),
    ];
    for (req, blocked, status) in cases {
        let decision = decide(&config, &Req(req));
        assert_eq!(decision.blocked, *blocked, "{req:?}");
        let response = respond(&decision, 200, UPSTREAM);
        assert_eq!(response.status, *status, "{req:?}");
        if blocked.is_some() {
            assert!(!response.forwarded);
            assert_eq!(
                response.cors_and_vary(),
                vec![("vary".to_string(), "origin".to_string())]
            );
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_decision_header_is_sent_only_with_the_exact_token() {
    let config = compile(OPS.as_bytes()).unwrap();
    let base = [
        (":method", "OPTIONS"),
        (":path", "/strict/"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
    ];
    let with = |token: &'static str| {
        let mut r = base.to_vec();
        r.push(("x-debug", token));
        r
    };
    let header = |req: &[(&str, &str)]| {
        let d = decide(&config, &Req(req));
        respond(&d, 200, UPSTREAM)
            .values("x-edge-cors-decision")
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        header(&with("0123456789abcdef")),
        vec!["policy=strict; outcome=preflight_rejected; reason=method; mode=enforce"]
    );
    assert_eq!(header(&base), Vec::<String>::new());
    assert!(
        decide(&config, &Req(&with("wrong"))).token_header_present,
        "any value is removed before going upstream"
    );
    assert!(!decide(&config, &Req(&base)).token_header_present);
    assert_eq!(header(&with("0123456789abcdeX")), Vec::<String>::new());
    assert_eq!(header(&with("0123456789abcdef0")), Vec::<String>::new());
    let rollout = [
        (":method", "GET"),
        (":path", "/rollout/"),
        ("origin", "https://app.example.com"),
        ("x-debug", "0123456789abcdef"),
    ];
    assert!(
        bucket("rollout", "https://app.example.com") >= 30,
        "this origin is outside the 30% rollout"
    );
    let d = decide(&config, &Req(&rollout));
    assert_eq!(
        respond(&d, 200, UPSTREAM).values("x-edge-cors-decision"),
        vec!["policy=rollout; outcome=actual_allowed; mode=report_only; enforce_percent=30"]
    );
}

// ---- hardening (issue 11): any-origin answers, `*` in ACRH, path segments, unnormalized
// paths, hosts as the router sees them, uncacheable explanations ----

/// An upstream answer a shared cache may store, with its own CORS headers.
const UPSTREAM_CACHEABLE: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("cache-control", "public, max-age=600"),
    ("access-control-allow-origin", "https://reflected.example"),
    ("access-control-allow-credentials", "true"),
    ("vary", "accept-encoding"),
];

const PUBLIC_PLAIN: &str = r#"{"policies": [{"name": "public", "allow_origins": ["*"]}]}"#;

#[wasm_bindgen_test(unsupported = test)]
fn an_any_origin_policy_answers_star_on_every_forwarded_response_whatever_the_origin() {
    let oversized = format!("https://{}.example", "a".repeat(1031 - "https://.example".len()));
    assert_eq!(oversized.len(), 1031);
    const STAR_EXPOSED: &[(&str, &str)] = &[
        ("access-control-allow-origin", "*"),
        ("access-control-expose-headers", "*"),
        ("vary", "accept-encoding"),
    ];
    const STAR: &[(&str, &str)] = &[("access-control-allow-origin", "*"), ("vary", "accept-encoding")];
    let allowed = |name, request| Case {
        name,
        config: PUBLIC,
        request,
        outcome: Outcome::ActualAllowed,
        forwarded: true,
        status: 200,
        headers: STAR_EXPOSED,
    };
    let not_cors = |name, request| Case {
        name,
        config: PUBLIC,
        request,
        outcome: Outcome::NotCors,
        forwarded: true,
        status: 200,
        headers: STAR_EXPOSED,
    };
    check(&[
        not_cors("no Origin", &[(":method", "GET")]),
        not_cors("empty Origin", &[(":method", "GET"), ("origin", "")]),
        not_cors("HEAD without Origin", &[(":method", "HEAD")]),
        not_cors(
            "OPTIONS with ACRM but no Origin",
            &[(":method", "OPTIONS"), ("access-control-request-method", "PUT")],
        ),
        allowed("a 1,031-byte Origin", &[(":method", "GET"), ("origin", &oversized)]),
        allowed("`null`", &[(":method", "GET"), ("origin", "null")]),
        allowed(
            "trailing slash",
            &[(":method", "GET"), ("origin", "https://a.example/")],
        ),
        allowed("upper case", &[(":method", "GET"), ("origin", "HTTPS://A.EXAMPLE")]),
        allowed(
            "two origins comma-joined",
            &[
                (":method", "POST"),
                ("origin", "https://a.example"),
                ("origin", "https://b.example"),
            ],
        ),
        allowed("not an origin at all", &[(":method", "PUT"), ("origin", "\u{fffd} x")]),
        Case {
            name: "no expose_headers: ACAO alone",
            config: PUBLIC_PLAIN,
            request: &[(":method", "GET")],
            outcome: Outcome::NotCors,
            forwarded: true,
            status: 200,
            headers: STAR,
        },
        Case {
            name: "no expose_headers, oversized Origin",
            config: PUBLIC_PLAIN,
            request: &[(":method", "GET"), ("origin", &oversized)],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: STAR,
        },
        Case {
            name: "preflights are unchanged: an oversized Origin is still refused",
            config: PUBLIC_PLAIN,
            request: &[
                (":method", "OPTIONS"),
                ("origin", &oversized),
                ("access-control-request-method", "PUT"),
            ],
            outcome: Outcome::PreflightRejected(Reason::Malformed),
            forwarded: false,
            status: 403,
            headers: &[("vary", "access-control-request-method, access-control-request-headers")],
        },
        Case {
            name: "report-only: nothing changes, not even without an Origin",
            config: r#"{"mode": "report_only", "policies": [{"name": "public", "allow_origins": ["*"]}]}"#,
            request: &[(":method", "GET")],
            outcome: Outcome::NotCors,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "*"),
                ("access-control-max-age", "86400"),
                ("vary", "accept-encoding"),
            ],
        },
    ]);
    // The repro: a cacheable upstream answer to a request without an Origin (an `<img>`, a
    // navigation) must carry exactly one `*`, no reflected origin, no credentials, no Vary.
    for request in [
        vec![(":method", "GET")],
        vec![(":method", "GET"), ("origin", oversized.as_str())],
    ] {
        let config = compile(PUBLIC_PLAIN.as_bytes()).unwrap();
        let response = respond(&decide(&config, &Req(&request)), 200, UPSTREAM_CACHEABLE);
        assert_eq!(response.values("access-control-allow-origin"), vec!["*"]);
        assert!(response.values("access-control-allow-credentials").is_empty());
        assert_eq!(response.values("vary"), vec!["accept-encoding"]);
        assert_eq!(response.values("cache-control"), vec!["public, max-age=600"]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_requested_star_header_is_refused_as_malformed_and_never_echoed() {
    let with_acrh = |origin: &'static str, acrh: &'static str| {
        vec![
            (":method", "OPTIONS"),
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", acrh),
        ]
    };
    for acrh in ["*", "x-a,*", "*, x-a", " * ", "content-type,,*"] {
        check_rejected_preflights_varying(
            PUBLIC,
            "access-control-request-method, access-control-request-headers, access-control-request-private-network",
            &[(
                "any origin, `*` headers",
                with_acrh("https://whoever.net", acrh),
                Reason::Malformed,
            )],
        );
        check_rejected_preflights(
            STAR_HEADERS_WITH_CREDENTIALS,
            &[(
                "credentials, `*` headers",
                with_acrh("https://app.example.com", acrh),
                Reason::Malformed,
            )],
        );
        check_rejected_preflights(
            APP,
            &[(
                "listed headers",
                with_acrh("https://app.example.com", acrh),
                Reason::Malformed,
            )],
        );
    }
}

const STATUS_AND_API: &str = r#"{"policies": [
    {"name": "status", "match": {"path_prefixes": ["/status"]}, "allow_origins": ["*"]},
    {"name": "api", "match": {"path_prefixes": ["/api/"]}, "allow_origins": ["https://app.example.com"]},
    {"name": "strict", "allow_origins": ["https://www.example.com"]}
]}"#;

#[wasm_bindgen_test(unsupported = test)]
fn path_prefixes_cover_whole_segments_and_never_the_query() {
    // (path, policy, ACAO for a request from https://app.example.com)
    let table: &[(&str, &str, Option<&str>)] = &[
        ("/status", "status", Some("*")),
        ("/status/", "status", Some("*")),
        ("/status/health", "status", Some("*")),
        ("/status?verbose=1", "status", Some("*")),
        ("/status-internal/secrets", "strict", None),
        ("/statusx", "strict", None),
        ("/Status", "strict", None),
        ("/other?next=/status", "strict", None),
        ("/api", "api", Some("https://app.example.com")),
        ("/api?x=1", "api", Some("https://app.example.com")),
        ("/api/users", "api", Some("https://app.example.com")),
        ("/apix", "strict", None),
        ("/API/users", "strict", None),
    ];
    let config = compile(STATUS_AND_API.as_bytes()).unwrap();
    for (path, policy, acao) in table {
        let request = [
            (":method", "GET"),
            (":path", *path),
            ("origin", "https://app.example.com"),
        ];
        let d = decide(&config, &Req(&request));
        assert_eq!(d.policy.and_then(|i| config.policy_name(i)), Some(*policy), "{path}");
        let response = respond(&d, 200, UPSTREAM);
        let want: Vec<&str> = acao.iter().copied().collect();
        assert_eq!(response.values("access-control-allow-origin"), want, "{path}");
    }
    // The issue's repro, exactly: the internal path gets no `*` and none of the upstream's.
    check(&[Case {
        name: "/status-internal/secrets is not under /status",
        config: STATUS_AND_API,
        request: &[
            (":method", "GET"),
            (":path", "/status-internal/secrets"),
            ("origin", "https://evil.example"),
        ],
        outcome: Outcome::ActualRejected(Reason::Origin),
        forwarded: true,
        status: 200,
        headers: &[("vary", "accept-encoding"), ("vary", "origin")],
    }]);
}

const PARTNER: &str = r#"{"policies": [
    {"name": "api", "match": {"hosts": ["api.example.com"]}, "allow_origins": ["https://app.example.com"]},
    {"name": "partner", "match": {"path_prefixes": ["/partner/"]}, "allow_origins": ["https://partner.example.com"],
     "allow_credentials": true, "reject_disallowed": {"unsafe_methods": true}},
    {"name": "public", "allow_origins": ["*"]}
]}"#;

#[wasm_bindgen_test(unsupported = test)]
fn an_unnormalized_path_gets_no_path_scoped_policys_headers_and_falls_through_to_no_other() {
    const REFUSED: &[(&str, &str)] = &[("vary", "accept-encoding"), ("vary", "origin")];
    let mut cases = Vec::new();
    let unnormalized = [
        "/partner/..%2fapi/users",
        "/partner/..%2Fapi/users",
        "/partner/../api/users",
        "/partner/./users",
        "//api/users",
        "/api//users",
        "/api/..%5cpartner",
        "/partner/%2e%2e/api/users",
        "/partner\\..\\api",
        "/elsewhere/..",
    ];
    let requests: Vec<[(&str, &str); 4]> = unnormalized
        .iter()
        .map(|path| {
            [
                (":method", "GET"),
                (":authority", "other.example.com"),
                (":path", *path),
                ("origin", "https://partner.example.com"),
            ]
        })
        .collect();
    for (path, request) in unnormalized.iter().zip(&requests) {
        cases.push(Case {
            name: path,
            config: PARTNER,
            request,
            outcome: Outcome::ActualRejected(Reason::Malformed),
            forwarded: true,
            status: 200,
            headers: REFUSED,
        });
    }
    cases.extend([
        Case {
            name: "a normalized partner path is allowed with credentials",
            config: PARTNER,
            request: &[
                (":method", "GET"),
                (":path", "/partner/users?next=/../x"),
                ("origin", "https://partner.example.com"),
            ],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "https://partner.example.com"),
                ("access-control-allow-credentials", "true"),
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
        Case {
            name: "a preflight on an unnormalized path: 403 malformed",
            config: PARTNER,
            request: &[
                (":method", "OPTIONS"),
                (":path", "/partner/..%2fapi/users"),
                ("origin", "https://partner.example.com"),
                ("access-control-request-method", "GET"),
            ],
            outcome: Outcome::PreflightRejected(Reason::Malformed),
            forwarded: false,
            status: 403,
            headers: &[("vary", PREFLIGHT_VARY)],
        },
        Case {
            name: "without an Origin: not CORS, the upstream's CORS headers removed",
            config: PARTNER,
            request: &[(":method", "GET"), (":path", "/partner/../api/users")],
            outcome: Outcome::NotCors,
            forwarded: true,
            status: 200,
            headers: REFUSED,
        },
        Case {
            name: "a policy without a path constraint reached first is unaffected",
            config: PARTNER,
            request: &[
                (":method", "GET"),
                (":authority", "api.example.com"),
                (":path", "//api/users"),
                ("origin", "https://app.example.com"),
            ],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("vary", "accept-encoding"),
                ("vary", "origin"),
            ],
        },
        Case {
            name: "a normalized path outside every prefix reaches the catch-all",
            config: PARTNER,
            request: &[
                (":method", "GET"),
                (":path", "/api/users"),
                ("origin", "https://x.example"),
            ],
            outcome: Outcome::ActualAllowed,
            forwarded: true,
            status: 200,
            headers: &[("access-control-allow-origin", "*"), ("vary", "accept-encoding")],
        },
    ]);
    check(&cases);
    // Answered as for a malformed Origin, `reject_disallowed` included: an unsafe method is
    // refused before it reaches the upstream.
    let config = compile(PARTNER.as_bytes()).unwrap();
    let post = [
        (":method", "POST"),
        (":path", "/partner/..%2fapi/users"),
        ("origin", "https://partner.example.com"),
    ];
    let d = decide(&config, &Req(&post));
    assert_eq!(d.blocked, Some(Blocked::UnsafeMethod));
    assert_eq!(d.policy.and_then(|i| config.policy_name(i)), Some("partner"));
    let r = respond(&d, 200, UPSTREAM);
    assert_eq!((r.forwarded, r.status), (false, 403));
    // Counted under the policy that took it, as malformed.
    let d = decide(&config, &Req(&requests[0]));
    assert_eq!(d.counter_index(), Some(30 + 8), "partner.actual_rejected.malformed");
}

const HOSTS: &str = r#"{"policies": [
    {"name": "partner", "match": {"hosts": ["partner.example.com"]}, "allow_origins": ["https://partner.example.com"],
     "allow_credentials": true},
    {"name": "ported", "match": {"hosts": ["api.example.com:8443", "*.example.org:*", "[::1]:10000", "[2001:db8::1]"]},
     "allow_origins": ["https://partner.example.com"]},
    {"name": "strict", "allow_origins": ["https://www.example.com"]}
]}"#;

#[wasm_bindgen_test(unsupported = test)]
fn hosts_are_matched_as_the_router_sees_them() {
    // (:authority, policy): case-insensitive; port and trailing dot compared, never stripped.
    let table: &[(&str, &str)] = &[
        ("partner.example.com", "partner"),
        ("PARTNER.Example.COM", "partner"),
        ("partner.example.com.", "strict"),
        ("partner.example.com:8443", "strict"),
        ("partner.example.com:443", "strict"),
        ("api.example.com:8443", "ported"),
        ("API.example.com:8443", "ported"),
        ("api.example.com", "strict"),
        ("api.example.com:443", "strict"),
        ("api.example.com.:8443", "strict"),
        ("a.example.org:9000", "ported"),
        ("a.b.example.org:1", "ported"),
        ("a.example.org", "strict"),
        ("example.org:9000", "strict"),
        ("[::1]:10000", "ported"),
        ("[::1]", "strict"),
        ("[::1]:10001", "strict"),
        ("[2001:DB8::1]", "ported"),
        ("[2001:db8::1]:443", "strict"),
        ("", "strict"),
    ];
    let config = compile(HOSTS.as_bytes()).unwrap();
    for (authority, policy) in table {
        let request = [
            (":method", "GET"),
            (":authority", *authority),
            ("origin", "https://partner.example.com"),
        ];
        let d = decide(&config, &Req(&request));
        assert_eq!(
            d.policy.and_then(|i| config.policy_name(i)),
            Some(*policy),
            "{authority:?}"
        );
    }
    // The issue's repro: with a port or a trailing dot the partner policy does not answer,
    // and the strict catch-all removes the upstream's reflected headers.
    for authority in ["partner.example.com:8443", "partner.example.com."] {
        check(&[Case {
            name: authority,
            config: HOSTS,
            request: &[
                (":method", "GET"),
                (":authority", authority),
                ("origin", "https://partner.example.com"),
            ],
            outcome: Outcome::ActualRejected(Reason::Origin),
            forwarded: true,
            status: 200,
            headers: &[("vary", "accept-encoding"), ("vary", "origin")],
        }]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_response_carrying_the_decision_explains_itself_to_no_cache() {
    let config = compile(OPS.as_bytes()).unwrap();
    let token = ("x-debug", "0123456789abcdef");
    // (request, forwarded): every kind of response the header can go on.
    let allowed_get = [
        (":method", "GET"),
        (":path", "/strict/"),
        ("origin", "https://app.example.com"),
        token,
    ];
    let blocked_post = [
        (":method", "POST"),
        (":path", "/strict/"),
        ("origin", "https://evil.com"),
        token,
    ];
    let preflight_ok = [
        (":method", "OPTIONS"),
        (":path", "/strict/"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "GET"),
        token,
    ];
    let preflight_refused = [
        (":method", "OPTIONS"),
        (":path", "/strict/"),
        ("origin", "https://evil.com"),
        ("access-control-request-method", "GET"),
        token,
    ];
    let report_only = [
        (":method", "GET"),
        (":path", "/legacy"),
        ("origin", "https://evil.com"),
        token,
    ];
    let no_origin = [(":method", "GET"), (":path", "/strict/"), token];
    let cases: [(&[(&str, &str)], bool); 6] = [
        (&allowed_get, true),
        (&blocked_post, false),
        (&preflight_ok, false),
        (&preflight_refused, false),
        (&report_only, true),
        (&no_origin, true),
    ];
    for (request, forwarded) in cases {
        let r = respond(&decide(&config, &Req(request)), 200, UPSTREAM_CACHEABLE);
        assert_eq!(r.forwarded, forwarded, "{request:?}");
        assert_eq!(r.values("x-edge-cors-decision").len(), 1, "{request:?}");
        assert_eq!(r.values("cache-control"), vec!["no-store"], "{request:?}");
        // Without the token, the upstream's caching is left alone.
        let without: Vec<(&str, &str)> = request.iter().copied().filter(|h| *h != token).collect();
        let r = respond(&decide(&config, &Req(&without)), 200, UPSTREAM_CACHEABLE);
        assert!(r.values("x-edge-cors-decision").is_empty());
        let want: Vec<&str> = if forwarded { vec!["public, max-age=600"] } else { vec![] };
        assert_eq!(r.values("cache-control"), want, "{request:?}");
    }
    // No policy: the filter explains that, and marks that response too.
    let no_policy_ops = r#"{"policies": [{"name": "p", "match": {"hosts": ["a.example.com"]},
        "allow_origins": ["https://app.example.com"]}],
        "decision_header": {"token_header": "x-debug", "token": "0123456789abcdef"}}"#;
    let config = compile(no_policy_ops.as_bytes()).unwrap();
    let r = respond(
        &decide(
            &config,
            &Req(&[(":method", "GET"), (":authority", "b.example.com"), token]),
        ),
        200,
        UPSTREAM_CACHEABLE,
    );
    assert_eq!(r.values("x-edge-cors-decision"), vec!["policy=-; outcome=no_policy"]);
    assert_eq!(r.values("cache-control"), vec!["no-store"]);
}

/// A native host shares one compiled configuration across its worker threads.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn one_compiled_configuration_decides_on_several_threads_at_once() {
    let config = std::sync::Arc::new(compile(APP.as_bytes()).unwrap());
    let workers: Vec<_> = ["https://app.example.com", "https://evil.example"]
        .into_iter()
        .map(|origin| {
            let config = std::sync::Arc::clone(&config);
            std::thread::spawn(move || decide(&config, &Req(&[(":method", "GET"), ("origin", origin)])).outcome)
        })
        .collect();
    let outcomes: Vec<Outcome> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(
        outcomes,
        [Outcome::ActualAllowed, Outcome::ActualRejected(Reason::Origin)]
    );
}

/// Policies bound to the routes the router matched, alone and together with hosts and paths.
const ROUTES: &str = r#"{"policies": [
    {"name": "api", "match": {"route_names": ["api", "reviews.v2-match"]}, "allow_origins": ["https://app.example.com"]},
    {"name": "partner", "match": {"route_names": ["partner"], "hosts": ["partner.example.com"], "path_prefixes": ["/p/"]},
     "allow_origins": ["https://partner.example.com"]},
    {"name": "strict", "allow_origins": ["https://www.example.com"]}
]}"#;

#[wasm_bindgen_test(unsupported = test)]
fn route_names_select_the_policy_of_the_matched_route_and_combine_with_hosts_and_paths() {
    // (route name, :authority, :path, policy): every constraint of a policy must fit.
    let table: &[(Option<&str>, &str, &str, &str)] = &[
        (Some("api"), "any.example.com", "/anything", "api"),
        (Some("reviews.v2-match"), "x", "/", "api"),
        (Some("API"), "any.example.com", "/anything", "strict"),
        (Some("ap"), "any.example.com", "/anything", "strict"),
        (None, "any.example.com", "/anything", "strict"),
        (Some("partner"), "partner.example.com", "/p/x", "partner"),
        (Some("partner"), "other.example.com", "/p/x", "strict"),
        (Some("partner"), "partner.example.com", "/q", "strict"),
        (Some("api"), "partner.example.com", "/p/x", "api"),
        (None, "partner.example.com", "/p/x", "strict"),
        // An unnormalized path: the route-bound, path-scoped policy whose route and host match
        // takes it as malformed, as without route names.
        (Some("partner"), "partner.example.com", "/p/..%2fx", "partner"),
    ];
    let config = compile(ROUTES.as_bytes()).unwrap();
    for (route, authority, path, policy) in table {
        let mut request = vec![
            (":method", "GET"),
            (":authority", *authority),
            (":path", *path),
            ("origin", "https://partner.example.com"),
        ];
        if let Some(r) = route {
            request.push((edge_cors_core::testing::ROUTE_NAME, r));
        }
        let d = decide(&config, &Req(&request));
        assert_eq!(
            d.policy.and_then(|i| config.policy_name(i)),
            Some(*policy),
            "{route:?} {authority:?} {path:?}"
        );
    }
    check(&[
        Case {
            name: "a preflight on the api route gets the api policy's answer",
            config: ROUTES,
            request: &[
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "GET"),
                ("xds.route_name", "api"),
            ],
            outcome: Outcome::PreflightAllowed,
            forwarded: false,
            status: 204,
            headers: &[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-methods", "GET, HEAD, POST"),
                ("vary", PREFLIGHT_VARY),
            ],
        },
        Case {
            name: "the same preflight on no route falls to the strict catch-all",
            config: ROUTES,
            request: &[
                (":method", "OPTIONS"),
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "GET"),
            ],
            outcome: Outcome::PreflightRejected(Reason::Origin),
            forwarded: false,
            status: 403,
            headers: &[("vary", PREFLIGHT_VARY)],
        },
    ]);
}
