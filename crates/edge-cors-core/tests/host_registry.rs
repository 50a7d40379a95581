//! Registry sources (`allow_origins_from`) driven over the recording host: several mock workers
//! share one store of shared data, as the VMs of one Envoy do. Who fetches, what the callout
//! carries, what serves on each worker after an answer, and what a failure, a host without
//! shared data, `before_first_load` and `max_stale_seconds` do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use edge_cors_core::host::mock::{Call, CallResponse, Fail, MockHost};
use edge_cors_core::host::Root;
use edge_cors_core::metrics::{OUTCOME, POLICY, REASON, REGISTRY_ENTRIES, REGISTRY_LOADED, REGISTRY_UPDATES};
use wasm_bindgen_test::wasm_bindgen_test;

fn config(extra: &str) -> String {
    format!(
        r#"{{"policies": [{{"name": "app", "allow_origins": ["https://static.example"],
            "allow_origins_from": {{"cluster": "registry", "authority": "registry.internal", "path": "/v1/origins",
              "refresh_seconds": 10, "timeout_ms": 1000, "headers": {{"x-api-key": "k1"}} {extra}}}}}]}}"#
    )
}

/// The labels of policy `app`'s gauges.
const APP: &[(&str, &str)] = &[(POLICY, "app")];

/// The labels of one of policy `app`'s update counters.
fn updates<'a>(outcome: &'a str, reason: &'a str) -> [(&'a str, &'a str); 3] {
    [(POLICY, "app"), (OUTCOME, outcome), (REASON, reason)]
}

const DOC: &str = r#"{"version": "v1", "origins": ["https://a.example", "https://*.b.example"]}"#;

/// A configured worker.
fn worker(host: &MockHost) -> Root {
    let mut root = Root::new();
    assert!(root.on_configure(host));
    root
}

/// Does a GET from `origin` get its ACAO on this worker?
fn allows(root: &Root, host: &MockHost, origin: &str) -> bool {
    let req = MockHost::with_request(&[(":method", "GET"), ("origin", origin)]);
    let mut stream = root.new_stream();
    stream.on_request_headers(&req);
    stream.on_response_headers(&req);
    let response = req.response.borrow();
    let _ = host;
    response
        .iter()
        .any(|(n, v)| n == "access-control-allow-origin" && v == origin)
}

/// Deliver `response` for the worker's last callout.
fn answer(root: &mut Root, host: &MockHost, response: CallResponse) {
    let body = response.body.len();
    let lines = response.headers.len();
    *host.call_response.borrow_mut() = response;
    host.take_calls();
    root.on_http_call_response(host, host.last_token(), lines, body);
}

#[wasm_bindgen_test(unsupported = test)]
fn one_worker_fetches_and_every_worker_serves_the_list_it_published() {
    let first = MockHost::with_config(&config(""));
    let second = MockHost::sibling(&first, 2);
    let mut w1 = worker(&first);
    let mut w2 = worker(&second);
    first.take_calls();
    second.take_calls();
    w1.on_tick(&first);
    w2.on_tick(&second);
    assert_eq!(first.callouts().len(), 1, "the first worker claims the fetch");
    assert!(second.callouts().is_empty(), "the claim keeps the second from fetching");
    let (cluster, headers) = first.callouts().remove(0);
    assert_eq!(cluster, "registry");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        headers,
        [
            (":method", "GET"),
            (":path", "/v1/origins"),
            (":authority", "registry.internal"),
            ("accept", "application/json"),
            ("x-api-key", "k1")
        ]
    );
    assert!(!allows(&w1, &first, "https://a.example"));
    answer(&mut w1, &first, CallResponse::new(200, &[("etag", "\"e1\"")], DOC));
    assert_eq!(first.counted(&REGISTRY_UPDATES, &updates("applied", "none")), 1);
    assert!(allows(&w1, &first, "https://a.example"));
    assert!(allows(&w1, &first, "https://x.b.example"));
    assert!(allows(&w1, &first, "https://static.example"));
    assert!(!allows(&w2, &second, "https://a.example"), "not until its next tick");
    second.advance(Duration::from_millis(500));
    w2.on_tick(&second);
    assert!(allows(&w2, &second, "https://a.example"));
    assert!(second.callouts().is_empty());
    assert_eq!(second.gauge(&REGISTRY_ENTRIES, APP), Some(2));
    assert_eq!(second.gauge(&REGISTRY_LOADED, APP), Some(1));
    // The next fetch is due after 5 to 10 s and carries the ETag.
    first.advance(Duration::from_secs(4));
    w1.on_tick(&first);
    assert!(first.callouts().is_empty());
    first.advance(Duration::from_secs(7));
    w1.on_tick(&first);
    let (_, headers) = first.callouts().remove(0);
    assert!(headers.contains(&("if-none-match".to_string(), "\"e1\"".to_string())));
    answer(&mut w1, &first, CallResponse::new(304, &[], ""));
    assert_eq!(first.counted(&REGISTRY_UPDATES, &updates("unchanged", "none")), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_failed_update_keeps_the_last_list_counts_its_reason_and_backs_off() {
    let host = MockHost::with_config(&config(""));
    let mut w = worker(&host);
    w.on_tick(&host);
    answer(&mut w, &host, CallResponse::new(200, &[], DOC));
    for (response, reason) in [
        (CallResponse::new(500, &[], "down"), "status"),
        (
            CallResponse::new(200, &[], r#"{"version": "v2", "origins": ["*"]}"#),
            "dangerous",
        ),
        (CallResponse::new(200, &[], "{"), "invalid"),
        (
            CallResponse::new(503, &[], "upstream connect error or disconnect/reset before headers"),
            "unreachable",
        ),
    ] {
        host.advance(Duration::from_secs(400));
        w.on_tick(&host);
        assert_eq!(host.callouts().len(), 1, "{reason}");
        answer(&mut w, &host, response);
        assert_eq!(
            host.counted(&REGISTRY_UPDATES, &updates("failed", reason)),
            1,
            "{reason}"
        );
        assert!(allows(&w, &host, "https://a.example"), "{reason}: the last list serves");
        assert!(host.logged().iter().any(
            |(_, l)| l.contains(&format!("update failed ({reason})")) && l.contains("keeps serving version \"v1\"")
        ));
    }
    // Four failures in a row: the next attempt waits at least half of 10 s x 2^4 (capped at 300 s).
    host.take_calls();
    host.advance(Duration::from_secs(80));
    w.on_tick(&host);
    assert!(host.callouts().is_empty(), "backed off");
    host.advance(Duration::from_secs(80));
    w.on_tick(&host);
    assert_eq!(host.callouts().len(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_timeout_is_told_from_envoys_504_by_the_time_it_took() {
    let host = MockHost::with_config(&config(""));
    let mut w = worker(&host);
    w.on_tick(&host);
    host.advance(Duration::from_millis(1000));
    answer(&mut w, &host, CallResponse::new(504, &[], "upstream request timeout"));
    assert_eq!(host.counted(&REGISTRY_UPDATES, &updates("failed", "timeout")), 1);
    assert!(!allows(&w, &host, "https://a.example"));
    assert!(
        allows(&w, &host, "https://static.example"),
        "static_only before the first load"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn without_shared_data_each_worker_fetches_for_itself() {
    let first = MockHost::with_config(&config("")).failing(&[Fail::SharedDataUnsupported]);
    let second = MockHost::sibling(&first, 2).failing(&[Fail::SharedDataUnsupported]);
    let mut w1 = worker(&first);
    let mut w2 = worker(&second);
    w1.on_tick(&first);
    w2.on_tick(&second);
    assert_eq!(first.callouts().len(), 1);
    assert_eq!(second.callouts().len(), 1);
    answer(&mut w2, &second, CallResponse::new(200, &[], DOC));
    assert!(allows(&w2, &second, "https://a.example"));
    assert!(!allows(&w1, &first, "https://a.example"));
}

#[wasm_bindgen_test(unsupported = test)]
fn reject_all_refuses_even_the_configured_origins_until_a_list_is_loaded() {
    let host = MockHost::with_config(&config(r#", "before_first_load": "reject_all""#));
    let mut w = worker(&host);
    assert!(!allows(&w, &host, "https://static.example"));
    w.on_tick(&host);
    answer(&mut w, &host, CallResponse::new(200, &[], DOC));
    assert!(allows(&w, &host, "https://static.example"));
    assert!(allows(&w, &host, "https://a.example"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_list_not_confirmed_for_max_stale_seconds_stops_serving_until_confirmed_again() {
    let host = MockHost::with_config(&config(r#", "max_stale_seconds": 60"#));
    let mut w = worker(&host);
    w.on_tick(&host);
    answer(&mut w, &host, CallResponse::new(200, &[("etag", "\"e1\"")], DOC));
    // The registry goes quiet: every fetch fails.
    for _ in 0..3 {
        host.advance(Duration::from_secs(25));
        w.on_tick(&host);
        if !host.callouts().is_empty() {
            answer(&mut w, &host, CallResponse::new(500, &[], "down"));
        }
    }
    assert!(!allows(&w, &host, "https://a.example"), "stale");
    assert!(allows(&w, &host, "https://static.example"));
    assert_eq!(host.gauge(&REGISTRY_LOADED, APP), Some(0));
    assert!(host
        .logged()
        .iter()
        .any(|(_, l)| l.contains("over max_stale_seconds 60")));
    host.advance(Duration::from_secs(400));
    w.on_tick(&host);
    answer(&mut w, &host, CallResponse::new(304, &[], ""));
    host.advance(Duration::from_millis(500));
    w.on_tick(&host);
    assert!(allows(&w, &host, "https://a.example"), "confirmed again");
    assert_eq!(host.gauge(&REGISTRY_LOADED, APP), Some(1));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_configuration_without_sources_ticks_at_the_log_interval_and_touches_no_shared_data() {
    let host = MockHost::with_config(r#"{"policies": [{"name": "app", "allow_origins": ["https://a.example"]}]}"#);
    let mut w = worker(&host);
    w.on_tick(&host);
    let calls = host.take_calls();
    assert!(calls.contains(&Call::SetTickPeriod(Duration::from_secs(60))));
    assert!(!calls.iter().any(|c| matches!(
        c,
        Call::SharedData(_) | Call::SetSharedData(_) | Call::DispatchHttpCall { .. }
    )));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_callout_that_ended_without_an_answer_is_unreachable_and_reads_nothing() {
    let host = MockHost::with_config(&config(""));
    let mut w = worker(&host);
    w.on_tick(&host);
    host.take_calls();
    // Envoy calls back with no header lines when the stream was reset or its response buffer
    // limit was exceeded: reading the answer then would panic the VM in the SDK.
    *host.call_response.borrow_mut() = CallResponse::new(200, &[], DOC);
    w.on_http_call_response(&host, host.last_token(), 0, 0);
    assert_eq!(host.counted(&REGISTRY_UPDATES, &updates("failed", "unreachable")), 1);
    assert!(!allows(&w, &host, "https://a.example"));
}
