//! The host-agnostic filter, call by call: every host call the filter makes for a request, in
//! order, against the recording host. These calls are what a request costs in Envoy (the
//! benchmark counts them), so each test pins the whole sequence: a read added, reordered or
//! no longer skipped fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use edge_cors_core::host::mock::{Call, Fail, MockHost};
use edge_cors_core::host::{Level, Root, Verdict};
use wasm_bindgen_test::wasm_bindgen_test;

/// One strict policy, one public one, and a report-only one, by path.
const CONFIG: &str = r#"{"policies": [
    {"name": "app", "match": {"path_prefixes": ["/app/"]}, "allow_origins": ["https://app.example.com"],
     "allow_methods": ["PUT"], "allow_credentials": true, "max_age": 600,
     "reject_disallowed": {"unsafe_methods": true, "websocket": true}},
    {"name": "legacy", "match": {"path_prefixes": ["/legacy/"]}, "allow_origins": ["https://app.example.com"],
     "mode": "report_only"},
    {"name": "rollout", "match": {"path_prefixes": ["/rollout/"]}, "allow_origins": ["https://app.example.com"],
     "enforce_percent": 30}
], "decision_header": {"token_header": "x-debug", "token": "0123456789abcdef"}}"#;

/// Metric ids as the mock hands them out: 30 counters per policy in configuration order, then
/// the unmatched requests' counter, then the configuration's gauge. Slots: see `ops::metrics`.
const APP: u32 = 0;
const LEGACY: u32 = 30;
const ROLLOUT: u32 = 60;
const UNMATCHED: u32 = 90;
const CONFIG_GAUGE: u32 = 91;
const REPORT_ONLY: u32 = 15;
const NOT_CORS: u32 = 0;
const PREFLIGHT_ALLOWED: u32 = 1;
const PREFLIGHT_REJECTED_METHOD: u32 = 3;
const ACTUAL_ALLOWED: u32 = 6;
const ACTUAL_REJECTED_ORIGIN: u32 = 7;
const BLOCKED_UNSAFE_METHOD: u32 = 9;
const BLOCKED_WEBSOCKET: u32 = 10;
const CREDENTIALED_ALLOWED: u32 = 11;
const CREDENTIALED_REJECTED: u32 = 12;
const CREDENTIALS_NOT_ALLOWED: u32 = 13;
const UPSTREAM_CORS_REPLACED: u32 = 14;

/// An upstream answer with its own CORS header.
const UPSTREAM_CORS: &[(&str, &str)] = &[("content-type", "text/plain"), ("access-control-allow-origin", "*")];
const UPSTREAM_PLAIN: &[(&str, &str)] = &[("content-type", "text/plain")];

fn get(name: &str) -> Call {
    Call::GetRequestHeader(name.to_string())
}
fn get_response(name: &str) -> Call {
    Call::GetResponseHeader(name.to_string())
}
fn set(name: &str, value: &str) -> Call {
    Call::SetResponseHeader(name.to_string(), value.to_string())
}
fn remove(name: &str) -> Call {
    Call::RemoveResponseHeader(name.to_string())
}
fn add(name: &str, value: &str) -> Call {
    Call::AddResponseHeader(name.to_string(), value.to_string())
}
fn warn(line: &str) -> Call {
    Call::Log(Level::Warn, line.to_string())
}
/// The filter state a decision leaves: its counter's labels.
fn state(text: &str) -> Call {
    Call::SetFilterState("edge_cors".to_string(), text.to_string())
}
fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}
fn reply(status: u16, headers: &[(&str, &str)], details: &str) -> Call {
    Call::SendLocalReply {
        status,
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        details: details.to_string(),
    }
}

/// A root configured with `config`, its configuration calls forgotten.
fn configured(config: &str) -> Root {
    let host = MockHost::with_config(config);
    let mut root = Root::new();
    assert!(root.on_configure(&host), "{:?}", host.logged());
    root
}

/// What one request did: the verdict, the calls of the request phase, the calls of the
/// response phase, and the response the client gets.
struct Seen {
    verdict: Verdict,
    request: Vec<Call>,
    response: Vec<Call>,
    headers: Vec<(String, String)>,
}

fn run_on(root: &Root, host: &MockHost, upstream: &[(&str, &str)]) -> Seen {
    let mut stream = root.new_stream();
    let verdict = stream.on_request_headers(host);
    let request = host.take_calls();
    *host.response.borrow_mut() = upstream.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    if verdict == Verdict::Continue {
        stream.on_response_headers(host);
    }
    Seen {
        verdict,
        request,
        response: host.take_calls(),
        headers: host.response.borrow().clone(),
    }
}

fn run(root: &Root, request: &[(&str, &str)], upstream: &[(&str, &str)]) -> Seen {
    run_on(root, &MockHost::with_request(request), upstream)
}

/// The CORS response headers a forwarded request's edit removes or sets, in order.
const STRIPPED: [&str; 7] = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-private-network",
];

#[wasm_bindgen_test(unsupported = test)]
fn configuring_logs_the_policies_defines_every_metric_and_starts_the_tick() {
    let host = MockHost::with_config(CONFIG);
    let mut root = Root::new();
    assert!(root.on_configure(&host));
    let calls = host.take_calls();
    assert_eq!(calls[..3], [Call::PluginConfig, Call::Now, Call::Now]);
    assert_eq!(calls[3], Call::MemoryPages);
    let Call::Log(Level::Info, line) = &calls[4] else {
        panic!("{:?}", calls[4]);
    };
    let identity = edge_cors_core::compile(CONFIG.as_bytes())
        .unwrap()
        .identity()
        .sha256
        .clone();
    assert_eq!(
        *line,
        format!(
            "edge-cors: configured 3 policies: app (1 origin entries, mode=enforce, enforce_percent=100), \
             legacy (1 origin entries, mode=report_only, enforce_percent=0), \
             rollout (1 origin entries, mode=enforce, enforce_percent=30) in 0 us, wasm memory 17 pages, \
             config sha256={identity}"
        )
    );
    assert_eq!(
        calls[5],
        Call::Log(
            Level::Info,
            "edge-cors: x-edge-cors-decision enabled for requests carrying the token in x-debug".to_string()
        )
    );
    let defined: Vec<&Call> = calls[6..]
        .iter()
        .take_while(|c| matches!(c, Call::DefineCounter(..)))
        .collect();
    assert_eq!(defined.len(), 3 * 30 + 1);
    assert_eq!(
        defined[0],
        &Call::DefineCounter(
            "edge_cors_requests_total".to_string(),
            labels(&[
                ("edge_cors_policy", "app"),
                ("edge_cors_mode", "enforce"),
                ("edge_cors_kind", "not_cors"),
                ("edge_cors_outcome", "none"),
                ("edge_cors_reason", "none"),
            ])
        )
    );
    assert_eq!(
        defined[(LEGACY + REPORT_ONLY + ACTUAL_REJECTED_ORIGIN) as usize],
        &Call::DefineCounter(
            "edge_cors_requests_total".to_string(),
            labels(&[
                ("edge_cors_policy", "legacy"),
                ("edge_cors_mode", "report_only"),
                ("edge_cors_kind", "actual"),
                ("edge_cors_outcome", "rejected"),
                ("edge_cors_reason", "origin"),
            ])
        )
    );
    assert_eq!(
        defined[(APP + CREDENTIALS_NOT_ALLOWED) as usize],
        &Call::DefineCounter(
            "edge_cors_credentialed_requests_total".to_string(),
            labels(&[
                ("edge_cors_policy", "app"),
                ("edge_cors_mode", "enforce"),
                ("edge_cors_outcome", "credentials_not_allowed"),
            ])
        )
    );
    assert_eq!(
        defined[(ROLLOUT + REPORT_ONLY + UPSTREAM_CORS_REPLACED) as usize],
        &Call::DefineCounter(
            "edge_cors_upstream_cors_replaced_total".to_string(),
            labels(&[("edge_cors_policy", "rollout"), ("edge_cors_mode", "report_only")])
        )
    );
    assert_eq!(
        defined[UNMATCHED as usize],
        &Call::DefineCounter("edge_cors_unmatched_requests_total".to_string(), vec![])
    );
    // The configuration's identity, with the time it was loaded (the mock's clock: 1e6 s, in ms).
    assert_eq!(
        calls[6 + defined.len()..],
        [
            Call::DefineGauge(
                "edge_cors_config_loaded_timestamp_milliseconds".to_string(),
                labels(&[("edge_cors_config_sha256", &identity), ("edge_cors_config_version", "")])
            ),
            Call::Now,
            Call::SetGauge(CONFIG_GAUGE, 1_000_000_000),
            Call::SetTickPeriod(Duration::from_secs(60))
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_identity_gauge_names_the_version_and_a_refused_configuration_leaves_it_alone() {
    let host = MockHost::with_config(r#"{"version": "v7", "policies": [{"name": "a", "allow_origins": ["*"]}]}"#);
    let mut root = Root::new();
    assert!(root.on_configure(&host));
    let calls = host.take_calls();
    let gauges: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c, Call::DefineGauge(..) | Call::SetGauge(..)))
        .collect();
    assert!(
        matches!(gauges[0], Call::DefineGauge(_, l) if l[1] == ("edge_cors_config_version".to_string(), "v7".to_string()))
    );
    assert_eq!(gauges[1], &Call::SetGauge(31, 1_000_000_000));
    let bad = MockHost::with_config(r#"{"version": "a b", "policies": []}"#);
    assert!(!root.on_configure(&bad));
    assert!(!bad
        .take_calls()
        .iter()
        .any(|c| matches!(c, Call::DefineGauge(..) | Call::SetGauge(..))));
    // A gauge the host refuses is reported, and the filter still loads.
    let failing =
        MockHost::with_config(r#"{"policies": [{"name": "a", "allow_origins": ["*"]}]}"#).failing(&[Fail::SetGauge]);
    assert!(Root::new().on_configure(&failing));
    assert!(failing.logged().contains(&(
        Level::Warn,
        "edge-cors: could not set the configuration's gauge: MockError".to_string()
    )));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refused_configuration_logs_every_error_defines_nothing_and_is_refused() {
    let host = MockHost::with_config(r#"{"policies": [{"name": "p", "allow_origins": ["*"], "max_age": -1}], "x": 1}"#);
    let mut root = Root::new();
    assert!(!root.on_configure(&host));
    let error = |line: &str| Call::Log(Level::Error, line.to_string());
    assert_eq!(
        host.take_calls(),
        [
            Call::PluginConfig,
            Call::Now,
            error("edge-cors: invalid configuration (2 errors):"),
            error("  - x: 1: unknown field; expected one of: preflight_success_status, mode, rejection_log_interval_seconds, decision_header, version, policies"),
            error("  - policies[0].max_age: -1: must not be negative"),
        ]
    );
    // Without a configuration, requests are left alone without a single host call.
    let seen = run(
        &root,
        &[(":path", "/"), ("origin", "https://evil.example")],
        UPSTREAM_CORS,
    );
    assert_eq!(seen.verdict, Verdict::Continue);
    assert_eq!(seen.request, []);
    assert_eq!(seen.response, []);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_warning_is_logged_at_load_and_a_refused_counter_or_tick_is_reported() {
    let config = r#"{"policies": [{"name": "all", "allow_origins": ["https://a.com"]},
        {"name": "api", "match": {"hosts": ["api.example.com"]}, "allow_origins": ["https://a.com"]}]}"#;
    let host = MockHost::with_config(config).failing(&[Fail::DefineCounter, Fail::Tick]);
    let mut root = Root::new();
    assert!(root.on_configure(&host));
    let logged = host.logged();
    assert_eq!(
        logged[1],
        (
            Level::Warn,
            r#"edge-cors: warning: policies[1]: never selected: policies[0] ("all") matches every request it matches"#
                .to_string()
        )
    );
    assert_eq!(
        logged[2],
        (
            Level::Warn,
            "edge-cors: could not define metric edge_cors_policy=.=all;.;edge_cors_mode=.=enforce;.;\
             edge_cors_kind=.=not_cors;.;edge_cors_outcome=.=none;.;edge_cors_reason=.=none;.;edge_cors_requests_total: \
             MockError"
                .to_string()
        )
    );
    assert_eq!(
        logged.last().unwrap(),
        &(
            Level::Warn,
            "edge-cors: no tick for the log summary: MockError".to_string()
        )
    );
    // No counter id: requests count nothing, and still get their CORS headers.
    let seen = run(&root, &[("origin", "https://a.com")], UPSTREAM_PLAIN);
    assert_eq!(
        seen.request,
        [
            get("origin"),
            get("access-control-request-method"),
            get("cookie"),
            state("policy=all; mode=enforce; kind=actual; outcome=allowed; reason=none")
        ]
    );
    assert_eq!(
        seen.headers
            .iter()
            .filter(|(n, _)| n == "access-control-allow-origin")
            .count(),
        1
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_request_no_policy_matches_costs_its_route_reads_and_one_increment() {
    let root = configured(CONFIG);
    let seen = run(
        &root,
        &[(":path", "/other"), ("origin", "https://app.example.com")],
        UPSTREAM_CORS,
    );
    assert_eq!(seen.verdict, Verdict::Continue);
    assert_eq!(
        seen.request,
        [get(":path"), get("x-debug"), Call::IncrementCounter(UNMATCHED)]
    );
    assert_eq!(seen.response, [], "the response is not touched");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_request_without_origin_is_counted_and_gets_vary_only() {
    let root = configured(CONFIG);
    let seen = run(&root, &[(":path", "/app/x")], UPSTREAM_CORS);
    assert_eq!(seen.verdict, Verdict::Continue);
    // Counted, but no filter state: it is not a CORS request, and the host call would be
    // most of what it costs.
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("x-debug"),
            Call::IncrementCounter(APP + NOT_CORS),
        ]
    );
    assert_eq!(seen.response, [add("vary", "origin")]);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_allowed_preflight_is_answered_locally_with_the_policy_headers() {
    let root = configured(CONFIG);
    let seen = run(
        &root,
        &[
            (":method", "OPTIONS"),
            (":path", "/app/x"),
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"),
        ],
        UPSTREAM_CORS,
    );
    assert_eq!(seen.verdict, Verdict::Pause);
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("access-control-request-method"),
            get(":method"),
            get("access-control-request-headers"),
            get("x-debug"),
            Call::IncrementCounter(APP + PREFLIGHT_ALLOWED),
            state("policy=app; mode=enforce; kind=preflight; outcome=allowed; reason=none"),
            reply(
                204,
                &[
                    ("access-control-allow-origin", "https://app.example.com"),
                    ("access-control-allow-credentials", "true"),
                    ("access-control-allow-methods", "PUT"),
                    ("access-control-max-age", "600"),
                    (
                        "vary",
                        "origin, access-control-request-method, access-control-request-headers"
                    ),
                ],
                "edge_cors.preflight_allowed"
            ),
        ]
    );
    assert_eq!(seen.response, [], "a paused stream gets no response callback");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_rejected_preflight_is_logged_counted_and_answered_403() {
    let root = configured(CONFIG);
    let seen = run(
        &root,
        &[
            (":method", "OPTIONS"),
            (":path", "/app/x"),
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PATCH"),
        ],
        UPSTREAM_CORS,
    );
    assert_eq!(seen.verdict, Verdict::Pause);
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("access-control-request-method"),
            get(":method"),
            get("access-control-request-headers"),
            get("x-debug"),
            Call::IncrementCounter(APP + PREFLIGHT_REJECTED_METHOD),
            state("policy=app; mode=enforce; kind=preflight; outcome=rejected; reason=method"),
            Call::WorkerIndex,
            Call::Now,
            get("x-request-id"),
            warn(
                "rejected: policy=app mode=enforce outcome=preflight_rejected reason=method \
                 origin=\"https://app.example.com\" method=\"PATCH\" suppressed=0"
            ),
            reply(
                403,
                &[(
                    "vary",
                    "origin, access-control-request-method, access-control-request-headers"
                )],
                "edge_cors.preflight_rejected.method"
            ),
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn an_allowed_actual_request_replaces_the_upstreams_cors_headers_and_counts_them() {
    let root = configured(CONFIG);
    let request = [
        (":method", "GET"),
        (":path", "/app/x"),
        ("origin", "https://app.example.com"),
    ];
    let seen = run(&root, &request, UPSTREAM_CORS);
    assert_eq!(seen.verdict, Verdict::Continue);
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("access-control-request-method"),
            get("cookie"),
            get("x-debug"),
            Call::IncrementCounter(APP + ACTUAL_ALLOWED),
            state("policy=app; mode=enforce; kind=actual; outcome=allowed; reason=none"),
        ]
    );
    let mut response = vec![
        get_response("access-control-allow-origin"),
        Call::IncrementCounter(APP + UPSTREAM_CORS_REPLACED),
        set("access-control-allow-origin", "https://app.example.com"),
        set("access-control-allow-credentials", "true"),
    ];
    response.extend(STRIPPED[2..].iter().map(|n| remove(n)));
    response.push(add("vary", "origin"));
    assert_eq!(seen.response, response);
    // Without the upstream's ACAO, nothing more is counted (and the headers are the same).
    let seen = run(&root, &request, UPSTREAM_PLAIN);
    assert_eq!(seen.response[0], get_response("access-control-allow-origin"));
    assert_eq!(
        seen.response[1],
        set("access-control-allow-origin", "https://app.example.com")
    );
    assert_eq!(seen.response.len(), response.len() - 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_rejected_actual_request_loses_every_cors_header_and_skips_removing_an_absent_acao() {
    let root = configured(CONFIG);
    let request = [
        (":method", "GET"),
        (":path", "/app/x"),
        ("origin", "https://evil.example"),
    ];
    let seen = run(&root, &request, UPSTREAM_PLAIN);
    assert_eq!(seen.verdict, Verdict::Continue);
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("access-control-request-method"),
            get("cookie"),
            // `reject_disallowed`: a WebSocket upgrade or an unsafe method would be refused.
            get("upgrade"),
            get(":method"),
            get("x-debug"),
            Call::IncrementCounter(APP + ACTUAL_REJECTED_ORIGIN),
            state("policy=app; mode=enforce; kind=actual; outcome=rejected; reason=origin"),
            Call::WorkerIndex,
            Call::Now,
            get("x-request-id"),
            warn(
                "rejected: policy=app mode=enforce outcome=actual_rejected reason=origin \
                 origin=\"https://evil.example\" suppressed=0"
            ),
        ]
    );
    let mut response = vec![get_response("access-control-allow-origin")];
    // ACAO was read as absent: its removal is skipped.
    response.extend(STRIPPED[1..].iter().map(|n| remove(n)));
    response.push(add("vary", "origin"));
    assert_eq!(seen.response, response);
    assert_eq!(
        seen.headers,
        [
            ("content-type".to_string(), "text/plain".to_string()),
            ("vary".to_string(), "origin".to_string())
        ]
    );
    // The upstream's own ACAO is removed, and counted.
    let seen = run(&root, &request, UPSTREAM_CORS);
    assert_eq!(
        seen.response[..3],
        [
            get_response("access-control-allow-origin"),
            Call::IncrementCounter(APP + UPSTREAM_CORS_REPLACED),
            remove("access-control-allow-origin"),
        ]
    );
    assert!(!seen.headers.iter().any(|(n, _)| n.starts_with("access-control-")));
}

#[wasm_bindgen_test(unsupported = test)]
fn websockets_and_unsafe_methods_from_rejected_origins_are_refused_403_by_the_gateway() {
    let root = configured(CONFIG);
    let seen = run(
        &root,
        &[
            (":method", "GET"),
            (":path", "/app/ws"),
            ("origin", "https://evil.example"),
            ("upgrade", "websocket"),
        ],
        UPSTREAM_PLAIN,
    );
    assert_eq!(seen.verdict, Verdict::Pause);
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("access-control-request-method"),
            get("cookie"),
            get("upgrade"),
            get("x-debug"),
            Call::IncrementCounter(APP + BLOCKED_WEBSOCKET),
            state("policy=app; mode=enforce; kind=actual; outcome=blocked; reason=websocket"),
            Call::WorkerIndex,
            Call::Now,
            get("x-request-id"),
            warn(
                "rejected: policy=app mode=enforce outcome=blocked_websocket reason=origin \
                 origin=\"https://evil.example\" suppressed=0"
            ),
            reply(403, &[("vary", "origin")], "edge_cors.actual_blocked.websocket"),
        ]
    );
    let seen = run(
        &root,
        &[
            (":method", "DELETE"),
            (":path", "/app/x"),
            ("origin", "https://evil2.example"),
        ],
        UPSTREAM_PLAIN,
    );
    assert_eq!(seen.verdict, Verdict::Pause);
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("access-control-request-method"),
            get("cookie"),
            get("upgrade"),
            get(":method"),
            get("x-debug"),
            Call::IncrementCounter(APP + BLOCKED_UNSAFE_METHOD),
            state("policy=app; mode=enforce; kind=actual; outcome=blocked; reason=unsafe_method"),
            Call::WorkerIndex,
            Call::Now,
            get("x-request-id"),
            warn(
                "rejected: policy=app mode=enforce outcome=blocked_unsafe_method reason=origin \
                 origin=\"https://evil2.example\" method=\"DELETE\" suppressed=0"
            ),
            reply(403, &[("vary", "origin")], "edge_cors.actual_blocked.unsafe_method"),
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn report_only_counts_and_logs_but_leaves_the_response_alone() {
    let root = configured(CONFIG);
    let seen = run(
        &root,
        &[
            (":method", "GET"),
            (":path", "/legacy/x"),
            ("origin", "https://evil.example"),
        ],
        UPSTREAM_CORS,
    );
    assert_eq!(seen.verdict, Verdict::Continue);
    assert_eq!(
        seen.request,
        [
            get(":path"),
            get("origin"),
            get("access-control-request-method"),
            get("cookie"),
            get("x-debug"),
            Call::IncrementCounter(LEGACY + REPORT_ONLY + ACTUAL_REJECTED_ORIGIN),
            state("policy=legacy; mode=report_only; kind=actual; outcome=rejected; reason=origin"),
            Call::WorkerIndex,
            Call::Now,
            get("x-request-id"),
            warn(
                "rejected: policy=legacy mode=report_only outcome=actual_rejected reason=origin \
                 origin=\"https://evil.example\" suppressed=0"
            ),
        ]
    );
    // Only the read that counts what enforcement would replace.
    assert_eq!(
        seen.response,
        [
            get_response("access-control-allow-origin"),
            Call::IncrementCounter(LEGACY + REPORT_ONLY + UPSTREAM_CORS_REPLACED),
        ]
    );
    assert_eq!(seen.headers.len(), UPSTREAM_CORS.len());
}

#[wasm_bindgen_test(unsupported = test)]
fn an_origin_outside_the_rollout_is_handled_as_report_only() {
    let root = configured(CONFIG);
    // Its bucket under `rollout` is 32, outside the 30% enforced.
    assert_eq!(
        edge_cors_core::testing::bucket("rollout", "https://app.example.com"),
        32
    );
    let seen = run(
        &root,
        &[
            (":method", "GET"),
            (":path", "/rollout/x"),
            ("origin", "https://app.example.com"),
        ],
        UPSTREAM_CORS,
    );
    assert_eq!(seen.verdict, Verdict::Continue);
    assert_eq!(
        seen.request[4..],
        [
            get("x-debug"),
            Call::IncrementCounter(ROLLOUT + REPORT_ONLY + ACTUAL_ALLOWED),
            state("policy=rollout; mode=report_only; kind=actual; outcome=allowed; reason=none"),
        ]
    );
    assert_eq!(
        seen.response,
        [
            get_response("access-control-allow-origin"),
            Call::IncrementCounter(ROLLOUT + REPORT_ONLY + UPSTREAM_CORS_REPLACED),
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_token_header_is_removed_and_the_decision_explained_only_with_the_exact_token() {
    let root = configured(CONFIG);
    let request = |token: &'static str| {
        [
            (":method", "GET"),
            (":path", "/app/x"),
            ("origin", "https://app.example.com"),
            ("x-debug", token),
        ]
    };
    let seen = run(&root, &request("0123456789abcdef"), UPSTREAM_PLAIN);
    assert_eq!(
        seen.request[4..],
        [
            get("x-debug"),
            Call::IncrementCounter(APP + ACTUAL_ALLOWED),
            state("policy=app; mode=enforce; kind=actual; outcome=allowed; reason=none"),
            Call::RemoveRequestHeader("x-debug".to_string()),
        ]
    );
    assert_eq!(
        seen.response[seen.response.len() - 3..],
        [
            add("vary", "origin"),
            set(
                "x-edge-cors-decision",
                "policy=app; outcome=actual_allowed; mode=enforce"
            ),
            set("cache-control", "no-store"),
        ]
    );
    // A wrong token is removed too, and explains nothing.
    let seen = run(&root, &request("wrong"), UPSTREAM_PLAIN);
    assert_eq!(
        seen.request.last(),
        Some(&Call::RemoveRequestHeader("x-debug".to_string()))
    );
    assert!(!seen
        .response
        .iter()
        .any(|c| matches!(c, Call::SetResponseHeader(n, _) if n == "x-edge-cors-decision")));
}

#[wasm_bindgen_test(unsupported = test)]
fn failed_host_calls_are_logged_and_never_stop_the_request() {
    let root = configured(CONFIG);
    let preflight = [
        (":method", "OPTIONS"),
        (":path", "/app/x"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
        ("x-debug", "0123456789abcdef"),
    ];
    let host = MockHost::with_request(&preflight).failing(&[
        Fail::LocalReply,
        Fail::IncrementCounter,
        Fail::RequestHeaderRemove,
        Fail::FilterState,
    ]);
    let seen = run_on(&root, &host, UPSTREAM_PLAIN);
    assert_eq!(seen.verdict, Verdict::Pause);
    let logged: Vec<&Call> = seen.request.iter().filter(|c| matches!(c, Call::Log(..))).collect();
    assert_eq!(
        logged,
        [
            &warn("edge-cors: could not increment metric 1: MockError"),
            &warn("edge-cors: could not set the filter state: MockError"),
            &warn("edge-cors: could not remove the token header: MockError"),
            &Call::Log(
                Level::Error,
                "edge-cors: could not send the local reply: MockError".to_string()
            ),
        ]
    );
    // A header read the host cannot answer is an absent header: here, not a CORS request.
    let host = MockHost::with_request(&[(":path", "/app/x"), ("origin", "https://app.example.com")])
        .failing(&[Fail::RequestHeaderRead, Fail::ResponseHeaderWrite]);
    let seen = run_on(&root, &host, UPSTREAM_PLAIN);
    assert_eq!(seen.verdict, Verdict::Continue);
    assert_eq!(
        seen.request,
        [get(":path"), get("x-debug"), Call::IncrementCounter(UNMATCHED)]
    );
    // A response header the host refuses to change is logged, and the rest still applied.
    let host = MockHost::with_request(&[(":path", "/app/x")]).failing(&[Fail::ResponseHeaderWrite]);
    let seen = run_on(&root, &host, UPSTREAM_PLAIN);
    assert_eq!(
        seen.response,
        [
            add("vary", "origin"),
            warn("edge-cors: could not change response header: MockError")
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn rejections_are_logged_once_per_origin_and_window_across_streams_and_summarised_on_tick() {
    let config = r#"{"policies": [{"name": "app", "allow_origins": ["https://app.example.com"]}],
        "rejection_log_interval_seconds": 10}"#;
    let host = MockHost::with_config(config);
    let mut root = Root::new();
    assert!(root.on_configure(&host));
    assert_eq!(
        host.take_calls().last(),
        Some(&Call::SetTickPeriod(Duration::from_secs(10)))
    );
    let at = |seconds: u64, origin: &'static str| {
        let stream_host = MockHost::with_request(&[("origin", origin)]);
        stream_host.time.set(Some(Duration::from_secs(seconds)));
        let seen = run_on(&root, &stream_host, UPSTREAM_PLAIN);
        seen.request
            .into_iter()
            .filter_map(|c| match c {
                Call::Log(_, line) => Some(line),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let line = |origin: &str, suppressed: u32| {
        vec![format!(
            "rejected: policy=app mode=enforce outcome=actual_rejected reason=origin origin=\"{origin}\" suppressed={suppressed}"
        )]
    };
    assert_eq!(at(100, "https://a.example"), line("https://a.example", 0));
    assert_eq!(at(101, "https://a.example"), Vec::<String>::new());
    assert_eq!(at(109, "https://a.example"), Vec::<String>::new());
    assert_eq!(at(109, "https://b.example"), line("https://b.example", 2));
    assert_eq!(at(110, "https://a.example"), line("https://a.example", 0));
    assert_eq!(at(111, "https://b.example"), Vec::<String>::new());
    // The tick reports what was held back since the last line, and the origins still fresh.
    host.time.set(Some(Duration::from_secs(112)));
    root.on_tick(&host);
    assert_eq!(
        host.take_calls(),
        [
            Call::Now,
            warn("suppressed 1 rejection log lines in the last 10s (2 origins logged recently)")
        ]
    );
    root.on_tick(&host);
    assert_eq!(host.take_calls(), [Call::Now], "nothing suppressed since: no line");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_root_for_several_workers_limits_each_workers_rejection_lines_and_sums_them_on_tick() {
    let config = r#"{"policies": [{"name": "app", "allow_origins": ["https://app.example.com"]}],
        "rejection_log_interval_seconds": 10}"#;
    let host = MockHost::with_config(config);
    let mut root = Root::with_workers(3);
    assert!(root.on_configure(&host));
    host.take_calls();
    // The same origin, rejected twice on each of two workers and once on a worker the root
    // does not know (it shares the first worker's table): one line per worker and window.
    let lines_on = |worker: usize| {
        let mut stream_host = MockHost::with_request(&[("origin", "https://evil.example")]);
        stream_host.worker = worker;
        let seen = run_on(&root, &stream_host, UPSTREAM_PLAIN);
        seen.request.iter().filter(|c| matches!(c, Call::Log(..))).count()
    };
    assert_eq!(
        [lines_on(0), lines_on(0), lines_on(2), lines_on(2), lines_on(7)],
        [1, 0, 1, 0, 0]
    );
    root.on_tick(&host);
    assert_eq!(
        host.take_calls(),
        [
            Call::Now,
            warn("suppressed 3 rejection log lines in the last 10s (2 origins logged recently)")
        ]
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_host_without_a_vm_logs_the_configuration_without_a_memory_figure() {
    let mut host = MockHost::with_config(r#"{"policies": [{"name": "app", "allow_origins": ["https://a.com"]}]}"#);
    host.without_vm = true;
    let mut root = Root::new();
    assert!(root.on_configure(&host));
    let line = &host.logged()[0].1;
    assert!(
        line.starts_with(
            "edge-cors: configured 1 policies: app (1 origin entries, mode=enforce, enforce_percent=100) in 0 us, config sha256="
        ),
        "{line}"
    );
}

/// A native host shares one root, and the streams it makes, across worker threads.
#[wasm_bindgen_test(unsupported = test)]
fn a_configured_root_and_its_streams_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let root = configured(CONFIG);
    shareable(&root);
    shareable(&root.new_stream());
}

#[wasm_bindgen_test(unsupported = test)]
fn the_route_name_is_read_once_and_only_when_a_policy_is_bound_to_route_names() {
    // No policy names a route (CONFIG): the property is never read.
    let root = configured(CONFIG);
    let seen = run(
        &root,
        &[(":path", "/app/x"), ("origin", "https://app.example.com")],
        UPSTREAM_PLAIN,
    );
    assert!(!seen.request.contains(&Call::GetRouteName), "{:?}", seen.request);

    let bound = r#"{"policies": [
        {"name": "api", "match": {"route_names": ["api", "api-v2"]}, "allow_origins": ["https://app.example.com"]},
        {"name": "web", "match": {"route_names": ["web"], "path_prefixes": ["/web/"]}, "allow_origins": ["https://app.example.com"]},
        {"name": "rest", "allow_origins": ["https://app.example.com"]}]}"#;
    let root = configured(bound);
    let request = [
        (":path", "/web/page"),
        (":method", "OPTIONS"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
    ];
    // (route name, policy that answers: its counter base)
    for (route, base) in [(Some("api-v2"), 0), (Some("web"), 30), (Some("other"), 60), (None, 60)] {
        let host = match route {
            Some(name) => MockHost::with_request(&request).on_route(name),
            None => MockHost::with_request(&request),
        };
        let seen = run_on(&root, &host, UPSTREAM_PLAIN);
        // The route constraints first (the path, which a policy also constrains, then the
        // route name), then the CORS headers.
        assert_eq!(
            seen.request.get(..3),
            Some(&[get(":path"), Call::GetRouteName, get("origin")][..]),
            "{route:?}: {:?}",
            seen.request
        );
        assert_eq!(
            seen.request.iter().filter(|c| **c == Call::GetRouteName).count(),
            1,
            "{route:?}: {:?}",
            seen.request
        );
        let counted = seen.request.iter().find_map(|c| match c {
            Call::IncrementCounter(id) => Some(*id),
            _ => None,
        });
        // The preflight asks for PUT, which no policy allows: each answers 403 under its own counters.
        assert_eq!(
            counted,
            Some(base + PREFLIGHT_REJECTED_METHOD),
            "{route:?}: {:?}",
            seen.request
        );
    }

    // A failed read is no route: the request falls to the next policy, nothing is logged.
    let host = MockHost::with_request(&request)
        .on_route("api")
        .failing(&[Fail::RouteNameRead]);
    let seen = run_on(&root, &host, UPSTREAM_PLAIN);
    assert!(
        seen.request
            .contains(&Call::IncrementCounter(60 + PREFLIGHT_REJECTED_METHOD)),
        "{:?}",
        seen.request
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_request_carrying_a_cookie_also_counts_as_credentialed_by_whether_the_browser_accepts_it() {
    let root = configured(CONFIG);
    let cookie = |path: &'static str, origin: &'static str| {
        let seen = run(
            &root,
            &[
                (":method", "GET"),
                (":path", path),
                ("origin", origin),
                ("cookie", "session=1"),
            ],
            UPSTREAM_PLAIN,
        );
        seen.request
            .into_iter()
            .filter(|c| matches!(c, Call::IncrementCounter(_)))
            .collect::<Vec<_>>()
    };
    // `app` sets allow_credentials: its trusted origin is allowed, an untrusted one rejected.
    assert_eq!(
        cookie("/app/x", "https://app.example.com"),
        [
            Call::IncrementCounter(APP + ACTUAL_ALLOWED),
            Call::IncrementCounter(APP + CREDENTIALED_ALLOWED)
        ]
    );
    assert_eq!(
        cookie("/app/x", "https://evil.example"),
        [
            Call::IncrementCounter(APP + ACTUAL_REJECTED_ORIGIN),
            Call::IncrementCounter(APP + CREDENTIALED_REJECTED)
        ]
    );
    // `legacy` does not: the browser refuses a credentialed answer even for its trusted origin
    // (counted under report_only, legacy's mode).
    assert_eq!(
        cookie("/legacy/x", "https://app.example.com"),
        [
            Call::IncrementCounter(LEGACY + REPORT_ONLY + ACTUAL_ALLOWED),
            Call::IncrementCounter(LEGACY + REPORT_ONLY + CREDENTIALS_NOT_ALLOWED)
        ]
    );
    // A blocked credentialed request is a rejected one.
    let seen = run(
        &root,
        &[
            (":method", "POST"),
            (":path", "/app/x"),
            ("origin", "https://evil.example"),
            ("cookie", "s=1"),
        ],
        UPSTREAM_PLAIN,
    );
    assert!(seen
        .request
        .contains(&Call::IncrementCounter(APP + CREDENTIALED_REJECTED)));
    assert!(seen
        .request
        .contains(&Call::IncrementCounter(APP + BLOCKED_UNSAFE_METHOD)));
    // Preflights (never credentialed) and requests without Origin do not read the cookie.
    for request in [
        &[
            (":method", "OPTIONS"),
            (":path", "/app/x"),
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "PUT"),
            ("cookie", "s=1"),
        ][..],
        &[(":method", "GET"), (":path", "/app/x"), ("cookie", "s=1")][..],
    ] {
        let seen = run(&root, request, UPSTREAM_PLAIN);
        assert!(!seen.request.contains(&get("cookie")), "{request:?}");
        assert_eq!(
            seen.request
                .iter()
                .filter(|c| matches!(c, Call::IncrementCounter(_)))
                .count(),
            1
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_rejection_line_carries_the_request_id_escaped_and_capped() {
    let root = configured(CONFIG);
    let id = "4b1c\"x\n".to_string() + &"z".repeat(200);
    let host = MockHost::with_request(&[
        (":method", "OPTIONS"),
        (":path", "/app/x"),
        ("origin", "https://evil.example"),
        ("access-control-request-method", "PUT"),
        ("x-request-id", Box::leak(id.into_boxed_str())),
    ]);
    let seen = run_on(&root, &host, UPSTREAM_PLAIN);
    let line = seen
        .request
        .iter()
        .find_map(|c| match c {
            Call::Log(Level::Warn, line) => Some(line.clone()),
            _ => None,
        })
        .unwrap();
    // 7 bytes escape to 13, then 115 of the `z` fill the 128 bytes kept: 85 bytes left.
    let capped = format!("4b1c\\x22x\\x0a{}...(207 bytes, 85 more)", "z".repeat(115));
    assert_eq!(
        line,
        format!(
            "rejected: policy=app mode=enforce outcome=preflight_rejected reason=origin \
             origin=\"https://evil.example\" method=\"PUT\" request_id=\"{capped}\" suppressed=0"
        )
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_summary_interval_is_the_rejection_log_interval_even_when_registry_sources_tick_faster() {
    assert_eq!(
        Root::new().summary_interval(),
        None,
        "nothing to summarize before a configuration"
    );
    let with_source = r#"{"rejection_log_interval_seconds": 7, "policies": [{"name": "app",
        "allow_origins": ["https://app.example.com"],
        "allow_origins_from": {"cluster": "registry", "authority": "registry.internal", "path": "/o",
                               "refresh_seconds": 30, "timeout_ms": 1000}}]}"#;
    let root = configured(with_source);
    assert_eq!(root.summary_interval(), Some(Duration::from_secs(7)));
}
