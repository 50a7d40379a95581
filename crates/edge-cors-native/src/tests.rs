//! The hooks and the host over the fake Envoy (src/fake_envoy.rs), callback by callback: what
//! the native host adds to the core's calls (one header-map read per hook, adds for absent CORS
//! headers, no removal of absent ones, direct preflight answers) and the configuration paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::abi;
use crate::fake_envoy::{counter_names, gauges, set_route, take_log, Filter, Line};

const POLICY: &str = r#"{"policies": [{"name": "app", "allow_origins": ["https://app.example.com"],
    "allow_methods": ["PUT"], "allow_headers": ["content-type", "authorization"], "allow_credentials": true,
    "expose_headers": ["etag"], "max_age": 600, "reject_disallowed": {"unsafe_methods": true}}],
    "decision_header": {"token_header": "x-debug", "token": "0123456789abcdef"}}"#;

fn lines(pairs: &[(&str, &str)]) -> Vec<Line> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn filter() -> Filter {
    let f = Filter::configure("edge-cors", POLICY.as_bytes()).expect("configured");
    take_log();
    f
}

fn counter(name: &str) -> usize {
    counter_names().iter().position(|n| n == name).expect(name)
}

/// The id of policy `app`'s decision counter with these labels.
fn requests(kind: &str, outcome: &str, reason: &str) -> usize {
    let labels = [
        ("edge_cors_policy", "app"),
        ("edge_cors_mode", "enforce"),
        ("edge_cors_kind", kind),
        ("edge_cors_outcome", outcome),
        ("edge_cors_reason", reason),
    ];
    counter(&edge_cors_core::metrics::tagged_name(
        "edge_cors_requests_total",
        &labels,
    ))
}

fn get(headers: &[Line], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k == name.as_bytes())
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[test]
fn a_preflight_is_answered_directly_with_its_status_first_after_one_read_of_the_request() {
    let f = filter();
    let request = lines(&[
        (":method", "OPTIONS"),
        (":path", "/"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type"),
    ]);
    let (status, seen) = f.stream(request, Vec::new(), 0);
    assert_eq!(status, abi::STOP_ITERATION);
    assert_eq!(
        seen.calls,
        [
            "get_headers_size",
            "get_headers",
            "increment_counter",
            "set_filter_state_bytes",
            "send_response_headers"
        ]
    );
    let reply = seen.reply.unwrap();
    assert!(reply.direct);
    assert_eq!(
        (reply.status, &reply.headers[0]),
        (204, &(b":status".to_vec(), b"204".to_vec()))
    );
    assert_eq!(get(&reply.headers, "access-control-allow-headers"), ["content-type"]);
    assert_eq!(seen.increments, [requests("preflight", "allowed", "none")]);
}

#[test]
fn several_lines_of_a_request_header_are_read_as_one_comma_joined_value() {
    let f = filter();
    let request = lines(&[
        (":method", "OPTIONS"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type"),
        ("access-control-request-headers", "Authorization"),
    ]);
    let (_, seen) = f.stream(request, Vec::new(), 0);
    let reply = seen.reply.unwrap();
    assert_eq!(
        get(&reply.headers, "access-control-allow-headers"),
        ["content-type,authorization"]
    );
}

#[test]
fn a_request_with_more_lines_than_the_stack_holds_is_read_whole_from_the_heap() {
    let f = filter();
    let padding: Vec<(String, String)> = (0..40).map(|i| (format!("x-pad-{i}"), "v".to_string())).collect();
    let mut pairs: Vec<(&str, &str)> = padding.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.extend([
        (":method", "OPTIONS"),
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "Content-Type"),
    ]);
    let (status, seen) = f.stream(lines(&pairs), Vec::new(), 0);
    assert_eq!(status, abi::STOP_ITERATION);
    assert_eq!(&seen.calls[..2], ["get_headers_size", "get_headers"]);
    let reply = seen.reply.unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(get(&reply.headers, "access-control-allow-headers"), ["content-type"]);
}

#[test]
fn an_allowed_get_adds_the_cors_headers_the_response_lacks_and_removes_nothing_absent() {
    let f = filter();
    let request = lines(&[
        (":method", "GET"),
        (":path", "/"),
        ("origin", "https://app.example.com"),
    ]);
    let upstream = lines(&[(":status", "200"), ("content-type", "text/plain")]);
    let (status, seen) = f.stream(request, upstream, 0);
    assert_eq!(status, abi::CONTINUE);
    assert_eq!(
        seen.calls,
        [
            "get_headers_size",
            "get_headers",
            "increment_counter",
            "set_filter_state_bytes",
            // The response: its lines read once, then three adds and the Vary append.
            "get_headers_size",
            "get_headers",
            "add_header",
            "add_header",
            "add_header",
            "add_header",
        ]
    );
    assert_eq!(
        get(&seen.response, "access-control-allow-origin"),
        ["https://app.example.com"]
    );
    assert_eq!(get(&seen.response, "access-control-allow-credentials"), ["true"]);
    assert_eq!(get(&seen.response, "access-control-expose-headers"), ["etag"]);
    assert_eq!(get(&seen.response, "vary"), ["origin"]);
}

#[test]
fn the_upstreams_own_cors_headers_are_replaced_or_removed_and_counted() {
    let f = filter();
    let request = lines(&[(":method", "GET"), ("origin", "https://app.example.com")]);
    let upstream = lines(&[
        (":status", "200"),
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET"),
        ("access-control-allow-methods", "POST"),
    ]);
    let (_, seen) = f.stream(request, upstream, 0);
    assert_eq!(
        get(&seen.response, "access-control-allow-origin"),
        ["https://app.example.com"]
    );
    assert!(get(&seen.response, "access-control-allow-methods").is_empty());
    let response_calls = &seen.calls[4..];
    assert_eq!(
        response_calls,
        [
            "get_headers_size",
            "get_headers",
            "get_header", // the upstream's ACAO, for upstream_cors_replaced
            "increment_counter",
            "set_header",    // ACAO replaced
            "add_header",    // ACAC, absent
            "remove_header", // ACAM, present
            "add_header",    // ACEH, absent
            "add_header",    // Vary
        ]
    );
    assert_eq!(
        seen.increments,
        [
            requests("actual", "allowed", "none"),
            counter("edge_cors_policy=.=app;.;edge_cors_mode=.=enforce;.;edge_cors_upstream_cors_replaced_total")
        ]
    );
}

#[test]
fn a_request_blocked_by_reject_disallowed_is_envoys_local_reply_with_its_details() {
    let f = filter();
    let request = lines(&[(":method", "POST"), ("origin", "https://evil.example")]);
    let (status, seen) = f.stream(request, Vec::new(), 0);
    assert_eq!(status, abi::STOP_ITERATION);
    let reply = seen.reply.unwrap();
    assert!(!reply.direct);
    assert_eq!(
        (reply.status, reply.details.as_slice()),
        (403, &b"edge_cors.actual_blocked.unsafe_method"[..])
    );
}

#[test]
fn the_token_header_is_removed_before_the_request_goes_on() {
    let f = filter();
    let request = lines(&[
        (":method", "GET"),
        ("origin", "https://app.example.com"),
        ("x-debug", "0123456789abcdef"),
    ]);
    let (_, seen) = f.stream(request, lines(&[(":status", "200")]), 0);
    assert!(seen.calls.contains(&"remove_header"));
    assert!(get(&seen.request, "x-debug").is_empty());
    assert_eq!(get(&seen.response, "x-edge-cors-decision").len(), 1);
}

#[test]
fn a_rejected_origin_is_logged_once_per_worker() {
    let f = filter();
    let request = || lines(&[(":method", "GET"), ("origin", "https://evil.example")]);
    for worker in [0, 0, 1, 1, 0] {
        f.stream(request(), lines(&[(":status", "200")]), worker);
    }
    let rejected: Vec<_> = take_log()
        .into_iter()
        .filter(|(_, l)| l.starts_with("rejected: "))
        .collect();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected.iter().all(|(level, _)| *level == abi::LOG_WARN));
}

#[test]
fn a_refused_policy_and_another_filter_name_are_refused_with_the_reason_logged() {
    take_log();
    assert!(Filter::configure(
        "edge-cors",
        br#"{"policies": [{"name": "x", "allow_origins": ["https://*.com"]}]}"#
    )
    .is_none());
    let log = take_log();
    assert!(
        log.iter()
            .any(|(level, l)| *level == abi::LOG_ERROR && l.contains("policies[0].allow_origins[0]")),
        "{log:?}"
    );
    assert!(Filter::configure("cors", POLICY.as_bytes()).is_none());
    assert_eq!(
        take_log(),
        [(
            abi::LOG_ERROR,
            r#"edge-cors: unknown filter_name "cors": this module has one filter, "edge-cors""#.to_string()
        )]
    );
}

#[test]
fn a_route_bound_policy_follows_the_route_name_envoy_reports_and_no_route_is_none() {
    let config = r#"{"policies": [
        {"name": "api", "match": {"route_names": ["api"]}, "allow_origins": ["https://app.example.com"]},
        {"name": "rest", "allow_origins": ["https://other.example.com"]}]}"#;
    let f = Filter::configure("edge-cors", config.as_bytes()).expect("configured");
    let request = || {
        lines(&[
            (":method", "GET"),
            (":path", "/"),
            ("origin", "https://app.example.com"),
        ])
    };
    let upstream = || lines(&[(":status", "200")]);
    let allowed = |seen: &crate::fake_envoy::Exchange| get(&seen.response, "access-control-allow-origin");
    set_route("api");
    let (_, seen) = f.stream(request(), upstream(), 0);
    assert!(seen.calls.contains(&"get_attribute_string"), "{:?}", seen.calls);
    assert_eq!(allowed(&seen), ["https://app.example.com"]);
    // Another route, and no route at all (Envoy answers an empty name): the catch-all policy.
    for route in ["web", ""] {
        set_route(route);
        let (_, seen) = f.stream(request(), upstream(), 0);
        assert!(allowed(&seen).is_empty(), "route {route:?}: {:?}", seen.response);
    }
    set_route("");
}

#[test]
fn the_decision_is_left_in_envoys_filter_state_under_edge_cors() {
    let f = filter();
    let request = lines(&[(":method", "GET"), (":path", "/"), ("origin", "https://evil.example")]);
    let (_, seen) = f.stream(request, lines(&[(":status", "200")]), 0);
    assert_eq!(
        seen.filter_state,
        [(
            b"edge_cors".to_vec(),
            b"policy=app; mode=enforce; kind=actual; outcome=rejected; reason=origin".to_vec()
        )]
    );
}

#[test]
fn the_configuration_identity_gauge_is_defined_with_its_labels_in_the_name_and_set_to_the_load_time() {
    let _f = filter();
    let identity: Vec<(String, u64)> = gauges()
        .into_iter()
        .filter(|(name, _)| name.ends_with("edge_cors_config_loaded_timestamp_milliseconds"))
        .collect();
    let (name, value) = identity.last().expect("the identity gauge");
    assert!(name.starts_with("edge_cors_config_sha256=.="), "{name}");
    // Set to the load time in milliseconds since the epoch: after 2020.
    assert!(*value > 1_577_836_800_000, "{value}");
}
