//! Every configuration mistake the filter refuses, with the JSON path and the kind of error it
//! reports. Each case lists all the errors expected: a missing one and an extra one both fail.
//! The words of every message are pinned once, in `readme_messages`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use edge_cors_core::IssueKind;
use edge_cors_core::IssueKind::{self as K, *};
use edge_cors_core::{
    compile, AllowHeaderIssue, ConfigErrors, ExposeHeaderIssue, HostIssue, MethodIssue, OriginError, OriginIssue,
    PathPrefixIssue, RegexIssue, RouteNameIssue, Why,
};
use wasm_bindgen_test::wasm_bindgen_test;

/// Wrap one policy's fields (JSON object body) into a full config.
fn policy(fields: &str) -> String {
    format!(r#"{{"policies": [{{"name": "p", {fields}}}]}}"#)
}

fn errors_of(config: &str) -> ConfigErrors {
    match compile(config.as_bytes()) {
        Ok(_) => panic!("config was accepted but must be refused:\n{config}"),
        Err(e) => e,
    }
}

/// Does the error `got` have the kind `want`? Data a test leaves empty is not compared: the
/// text of serde_json's and regex-lite's errors, the list of known fields, the wording of a
/// regex finding (its `why` is compared).
fn same_kind(want: &IssueKind, got: &IssueKind) -> bool {
    match (want, got) {
        (InvalidJson { error: w }, InvalidJson { error: g }) => w.is_empty() || w == g,
        (UnknownField { expected: w }, UnknownField { expected: g }) => w.is_empty() || w == g,
        (OriginRegex(RegexIssue::Invalid { error: w }), OriginRegex(RegexIssue::Invalid { error: g })) => {
            w.is_empty() || w == g
        }
        (
            OriginRegex(RegexIssue::NotConfined {
                why: w,
                detail: wd,
                credentials: wc,
            }),
            OriginRegex(RegexIssue::NotConfined {
                why: g,
                detail: gd,
                credentials: gc,
            }),
        ) => w == g && wc == gc && (wd.is_empty() || wd == gd),
        _ => want == got,
    }
}

/// An unknown field, whatever the object's known fields are.
fn unknown() -> IssueKind {
    UnknownField {
        expected: String::new(),
    }
}

/// A regex not confined to one domain's https origins, for the part of the rule it breaks.
fn not_confined(why: Why, credentials: bool) -> IssueKind {
    OriginRegex(RegexIssue::NotConfined {
        why,
        detail: String::new(),
        credentials,
    })
}

/// `expected`: (path, kind) for every error.
fn assert_errors(config: &str, expected: &[(&str, IssueKind)]) {
    let errors = errors_of(config);
    let rendered = errors.to_string();
    for (path, kind) in expected {
        assert!(
            errors
                .errors
                .iter()
                .any(|e| e.path == *path && same_kind(kind, &e.kind)),
            "missing error at {path} of kind {kind:?} for\n{config}\ngot:\n{rendered}\n{:?}",
            errors.errors
        );
    }
    assert_eq!(
        errors.total,
        expected.len(),
        "wrong number of errors for\n{config}\ngot:\n{rendered}"
    );
}

const O: &str = "policies[0].allow_origins";

#[wasm_bindgen_test(unsupported = test)]
fn unreadable_configurations_are_refused_with_one_clear_error() {
    assert_errors("{not json", &[("$", InvalidJson { error: String::new() })]);
    assert_errors("", &[("$", Empty)]);
    assert_errors("[]", &[("$", NotAnObject { found: "a list" })]);
    assert_errors("{}", &[("policies", Missing)]);
    assert_errors(r#"{"policies": []}"#, &[("policies", NoPolicies)]);
}

#[wasm_bindgen_test(unsupported = test)]
fn unknown_and_mistyped_fields_are_named_with_their_path_and_value() {
    assert_errors(
        r#"{"policies": [{"name": "p", "allow_origins": ["https://a.com"], "allow_origin": ["x"], "max_age": "600",
            "allow_credentials": "yes", "allow_methods": "GET", "match": {"host": "a"}}], "preflight_status": 204}"#,
        &[
            ("policies[0].allow_origin", unknown()),
            ("policies[0].max_age", MaxAgeNotWhole),
            (
                "policies[0].allow_credentials",
                WrongType {
                    expected: "true or false",
                    found: "a string",
                },
            ),
            (
                "policies[0].allow_methods",
                WrongType {
                    expected: "a list",
                    found: "a string",
                },
            ),
            ("policies[0].match.host", unknown()),
            ("preflight_status", unknown()),
        ],
    );
    let errors = errors_of(
        r#"{"policies": [{"name": "p", "allow_origins": ["https://a.com"], "max_age": "600", "match": {"host": "a"}}]}"#,
    );
    let value_at = |path: &str| {
        errors
            .errors
            .iter()
            .find(|e| e.path == path)
            .and_then(|e| e.value.clone())
    };
    assert_eq!(value_at("policies[0].max_age").as_deref(), Some("\"600\""));
    assert_eq!(value_at("policies[0].match.host").as_deref(), Some("\"a\""));
    assert_errors(
        r#"{"policies": [{"allow_origins": ["https://a.com", 7]}]}"#,
        &[
            ("policies[0].name", Missing),
            (
                "policies[0].allow_origins[1]",
                WrongType {
                    expected: "a string",
                    found: "a number",
                },
            ),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn dangerous_or_impossible_origins_are_refused() {
    let invalid = |e: OriginError| Origin(OriginIssue::Invalid(e));
    let under = |base: &str| Origin(OriginIssue::WildcardUnderPublicSuffix { base: base.to_string() });
    let cases: Vec<(&str, IssueKind)> = vec![
        (r#""allow_origins": []"#, OriginsEmpty),
        (
            r#""allow_origins": ["*"], "allow_credentials": true"#,
            Origin(OriginIssue::StarWithCredentials),
        ),
        (r#""allow_origins": ["null"]"#, invalid(OriginError::Null)),
        (r#""allow_origins": ["file://"]"#, invalid(OriginError::FileScheme)),
        (r#""allow_origins": ["https://a.com/app"]"#, invalid(OriginError::Path)),
        (r#""allow_origins": ["https://a.com?x=1"]"#, invalid(OriginError::Query)),
        (
            r#""allow_origins": ["https://a.com#top"]"#,
            invalid(OriginError::Fragment),
        ),
        (
            r#""allow_origins": ["https://user@a.com"]"#,
            invalid(OriginError::Userinfo),
        ),
        (r#""allow_origins": ["https://A.com"]"#, invalid(OriginError::UpperCase)),
        (r#""allow_origins": ["HTTPS://a.com"]"#, invalid(OriginError::UpperCase)),
        (
            r#""allow_origins": ["https://a.com:443"]"#,
            invalid(OriginError::DefaultPort(443)),
        ),
        (
            r#""allow_origins": ["http://a.com:80"]"#,
            invalid(OriginError::DefaultPort(80)),
        ),
        (
            r#""allow_origins": ["https://a.com/"]"#,
            invalid(OriginError::TrailingSlash),
        ),
        (
            r#""allow_origins": ["https://a.com:99999"]"#,
            invalid(OriginError::BadPort),
        ),
        (r#""allow_origins": ["https://a.com:0"]"#, invalid(OriginError::BadPort)),
        (
            r#""allow_origins": ["https://a.com:"]"#,
            invalid(OriginError::EmptyPort),
        ),
        (r#""allow_origins": ["https://a.com:x"]"#, invalid(OriginError::BadPort)),
        (r#""allow_origins": ["a.com"]"#, invalid(OriginError::MissingScheme)),
        (r#""allow_origins": ["https://*.com"]"#, under("com")),
        (r#""allow_origins": ["https://*.co.uk"]"#, under("co.uk")),
        (r#""allow_origins": ["https://*.github.io"]"#, under("github.io")),
        (
            r#""allow_origins": ["http://app.example.com"], "allow_credentials": true"#,
            Origin(OriginIssue::PlainHttpWithCredentials),
        ),
        (
            r#""allow_origins": ["http://*.example.com"], "allow_credentials": true"#,
            Origin(OriginIssue::PlainHttpWithCredentials),
        ),
        (
            r#""allow_origins": ["https://a.com", "https://a.com"]"#,
            Origin(OriginIssue::Duplicate),
        ),
        (
            r#""allow_origins": ["https://a.*.com"]"#,
            invalid(OriginError::Wildcard),
        ),
    ];
    for (fields, kind) in cases {
        // The error is on the list itself when it is empty, on the repeated entry for a
        // duplicate, and on the first entry otherwise.
        let path = match kind {
            OriginsEmpty => O.to_string(),
            Origin(OriginIssue::Duplicate) => format!("{O}[1]"),
            _ => format!("{O}[0]"),
        };
        assert_errors(&policy(fields), &[(&path, kind)]);
    }
    // Plain http is fine for loopback development origins, with credentials too.
    for ok in [
        "http://localhost:*",
        "http://127.0.0.1:3000",
        "http://[::1]:8080",
        "http://app.localhost",
    ] {
        let config = policy(&format!(r#""allow_origins": ["{ok}"], "allow_credentials": true"#));
        assert!(compile(config.as_bytes()).is_ok(), "{ok} must be accepted");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn origin_regexes_must_be_anchored_valid_and_safe() {
    let r = "policies[0].allow_origin_regexes[0]";
    let regex = OriginRegex;
    let cases: Vec<(&str, IssueKind)> = vec![
        (r#"https://a\\.example\\.com"#, regex(RegexIssue::NotAnchored)),
        (r#"^https://a\\.example\\.com"#, regex(RegexIssue::NotAnchored)),
        (r#"https://a\\.example\\.com$"#, regex(RegexIssue::NotAnchored)),
        (
            r#"^https://app.example\\.com$"#,
            regex(RegexIssue::UnescapedDot { next: 'e' }),
        ),
        (
            r#"^(https://a\\.com$"#,
            regex(RegexIssue::Invalid { error: String::new() }),
        ),
        (r#"^.*$"#, regex(RegexIssue::MatchesDangerous { text: "null" })),
        (
            r#"^(null|https://a\\.com)$"#,
            regex(RegexIssue::MatchesDangerous { text: "null" }),
        ),
        (r#"^\\*$"#, regex(RegexIssue::MatchesDangerous { text: "*" })),
    ];
    for (re, kind) in cases {
        assert_errors(&policy(&format!(r#""allow_origin_regexes": ["{re}"]"#)), &[(r, kind)]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn methods_and_header_names_must_be_tokens_and_not_forbidden() {
    let m = "policies[0].allow_methods";
    assert_errors(
        &policy(
            r#""allow_origins": ["https://a.com"], "allow_methods": ["CONNECT", "TRACE", "track", "GET POST", "", "*"]"#,
        ),
        &[
            (&format!("{m}[0]"), Method(MethodIssue::Forbidden)),
            (&format!("{m}[1]"), Method(MethodIssue::Forbidden)),
            (&format!("{m}[2]"), Method(MethodIssue::Forbidden)),
            (&format!("{m}[3]"), Method(MethodIssue::NotToken)),
            (&format!("{m}[4]"), Method(MethodIssue::NotToken)),
            (&format!("{m}[5]"), Method(MethodIssue::Wildcard)),
        ],
    );
    let h = "policies[0].allow_headers";
    assert_errors(
        &policy(
            r#""allow_origins": ["https://a.com"], "allow_headers": ["x a", "content-type", "Content-Type", "cookie", "sec-fetch-mode"]"#,
        ),
        &[
            (&format!("{h}[0]"), AllowHeader(AllowHeaderIssue::NotToken)),
            (&format!("{h}[2]"), AllowHeader(AllowHeaderIssue::Duplicate)),
            (&format!("{h}[3]"), AllowHeader(AllowHeaderIssue::Forbidden)),
            (&format!("{h}[4]"), AllowHeader(AllowHeaderIssue::Forbidden)),
        ],
    );
    let e = "policies[0].expose_headers";
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "expose_headers": ["x:y", "set-cookie"]"#),
        &[
            (&format!("{e}[0]"), ExposeHeader(ExposeHeaderIssue::NotToken)),
            (&format!("{e}[1]"), ExposeHeader(ExposeHeaderIssue::SetCookie)),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn wildcard_exposure_with_credentials_is_refused() {
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "expose_headers": ["*"], "allow_credentials": true"#),
        &[(
            "policies[0].expose_headers[0]",
            ExposeHeader(ExposeHeaderIssue::StarWithCredentials),
        )],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn max_age_must_be_between_zero_and_a_day() {
    let p = "policies[0].max_age";
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "max_age": -1"#),
        &[(p, MaxAgeNegative)],
    );
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "max_age": 86401"#),
        &[(p, MaxAgeTooLarge)],
    );
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "max_age": 1.5"#),
        &[(p, MaxAgeNotWhole)],
    );
    assert!(compile(policy(r#""allow_origins": ["https://a.com"], "max_age": 86400"#).as_bytes()).is_ok());
    assert!(compile(policy(r#""allow_origins": ["https://a.com"], "max_age": 0"#).as_bytes()).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn policy_names_are_unique_and_the_preflight_status_is_200_or_204() {
    assert_errors(
        r#"{"policies": [{"name": "a", "allow_origins": ["https://a.com"]}, {"name": "a", "allow_origins": ["https://b.com"]}],
            "preflight_success_status": 201}"#,
        &[
            ("policies[1].name", DuplicatePolicyName),
            ("preflight_success_status", PreflightStatus),
        ],
    );
    assert_errors(
        r#"{"policies": [{"name": "has space", "allow_origins": ["https://a.com"]}]}"#,
        &[("policies[0].name", PolicyName)],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn every_error_is_reported_at_once() {
    let config = r#"{"policies": [
        {"name": "a", "allow_origins": ["*"], "allow_credentials": true, "max_age": 100000, "bogus": 1},
        {"name": "b", "allow_origins": ["https://*.com", "null"], "allow_methods": ["TRACE"]},
        {"name": "a", "allow_origin_regexes": ["x"]}
    ], "preflight_success_status": 500}"#;
    assert_errors(
        config,
        &[
            ("policies[0].allow_origins[0]", Origin(OriginIssue::StarWithCredentials)),
            ("policies[0].max_age", MaxAgeTooLarge),
            ("policies[0].bogus", unknown()),
            (
                "policies[1].allow_origins[0]",
                Origin(OriginIssue::WildcardUnderPublicSuffix { base: "com".into() }),
            ),
            (
                "policies[1].allow_origins[1]",
                Origin(OriginIssue::Invalid(OriginError::Null)),
            ),
            ("policies[1].allow_methods[0]", Method(MethodIssue::Forbidden)),
            (
                "policies[2].allow_origin_regexes[0]",
                OriginRegex(RegexIssue::NotAnchored),
            ),
            ("policies[2].name", DuplicatePolicyName),
            ("preflight_success_status", PreflightStatus),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_documented_example_policy_is_accepted() {
    let example = r#"{
      "policies": [{
          "name": "app",
          "match": { "hosts": ["api.example.com", "*.example.com"], "path_prefixes": ["/api/"] },
          "allow_origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
          "allow_origin_regexes": ["^https://pr-[0-9]+\\.preview\\.example\\.com$"],
          "allow_methods": ["GET", "POST", "PUT", "DELETE"],
          "allow_headers": ["authorization", "content-type"],
          "expose_headers": ["etag", "x-request-id"],
          "allow_credentials": true,
          "max_age": 600,
          "allow_private_network_access": false
      }],
      "preflight_success_status": 204
    }"#;
    let config = compile(example.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.policy_count(), 1);
    assert_eq!(config.policy(0).unwrap().origin_entries, 4);
}

#[wasm_bindgen_test(unsupported = test)]
fn operations_fields_are_checked_mode_percent_and_reject_disallowed() {
    assert_errors(
        r#"{"mode": "audit", "policies": [{"name": "p", "allow_origins": ["https://a.com"], "mode": "off",
            "enforce_percent": 101, "reject_disallowed": {"unsafe_methods": "yes", "websockets": true}}]}"#,
        &[
            ("mode", K::Mode),
            ("policies[0].mode", K::Mode),
            ("policies[0].enforce_percent", EnforcePercent),
            (
                "policies[0].reject_disallowed.unsafe_methods",
                WrongType {
                    expected: "true or false",
                    found: "a string",
                },
            ),
            ("policies[0].reject_disallowed.websockets", unknown()),
        ],
    );
    for bad in ["-1", "50.5", "\"50\""] {
        assert_errors(
            &policy(&format!(
                r#""allow_origins": ["https://a.com"], "enforce_percent": {bad}"#
            )),
            &[("policies[0].enforce_percent", EnforcePercent)],
        );
    }
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "reject_disallowed": true"#),
        &[("policies[0].reject_disallowed", NotAnObject { found: "a boolean" })],
    );
    for bad in ["0", "3601", "1.5", "\"60\""] {
        assert_errors(
            &format!(
                r#"{{"policies": [{{"name": "p", "allow_origins": ["https://a.com"]}}], "rejection_log_interval_seconds": {bad}}}"#
            ),
            &[("rejection_log_interval_seconds", RejectionLogInterval)],
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_report_only_policy_cannot_also_set_a_rollout_percentage() {
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "mode": "report_only", "enforce_percent": 30"#),
        &[("policies[0].enforce_percent", PercentInReportOnly)],
    );
    // The mode that counts is the effective one: a top-level report_only makes the percentage
    // meaningless too, unless the policy sets its own mode to enforce.
    assert_errors(
        r#"{"mode": "report_only", "policies": [{"name": "p", "allow_origins": ["https://a.com"], "enforce_percent": 30}]}"#,
        &[("policies[0].enforce_percent", PercentUnderReportOnlyDefault)],
    );
    let ok = r#"{"mode": "report_only", "policies": [{"name": "p", "allow_origins": ["https://a.com"], "enforce_percent": 30,
        "mode": "enforce"}, {"name": "q", "allow_origins": ["https://b.com"]}]}"#;
    let config = compile(ok.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.policy(0).unwrap().enforce_percent, 30);
    assert_eq!(config.policy(1).unwrap().enforce_percent, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_version_must_be_a_plain_label_value_and_policy_names_need_no_reservation() {
    // The version is a metric label value, delimited by `=.=` and `;.;` in the names Envoy's
    // tag rules read: nothing but letters, digits and `. _ + -`, 1 to 64 of them.
    for bad in [
        r#""""#,
        r#""v 1""#,
        r#""a;.;b""#,
        r#""k=v""#,
        r#""é""#,
        &format!("\"{}\"", "1".repeat(65)),
    ] {
        assert_errors(
            &format!(r#"{{"version": {bad}, "policies": [{{"name": "p", "allow_origins": ["*"]}}]}}"#),
            &[("version", Version)],
        );
    }
    assert_errors(
        r#"{"version": 7, "policies": [{"name": "p", "allow_origins": ["*"]}]}"#,
        &[(
            "version",
            WrongType {
                expected: "a string",
                found: "a number",
            },
        )],
    );
    let config =
        compile(br#"{"version": "2026-12-01.3+g1a2b", "policies": [{"name": "p", "allow_origins": ["*"]}]}"#).unwrap();
    assert_eq!(config.identity().version.as_deref(), Some("2026-12-01.3+g1a2b"));
    // The policy is a label of its own: names that are also label values or family names are
    // ordinary names (the metrics keep them apart: tests/e2e/test_sre_metrics.py).
    let names = [
        "report_only",
        "enforce",
        "no_policy",
        "none",
        "allowed",
        "edge_cors_requests_total",
        "-",
    ];
    let policies: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!(r#"{{"name": "{n}", "match": {{"path_prefixes": ["/{i}/"]}}, "allow_origins": ["*"]}}"#))
        .collect();
    let config = compile(format!(r#"{{"policies": [{}]}}"#, policies.join(",")).as_bytes()).unwrap();
    assert_eq!(config.policy_count(), names.len());
}

#[wasm_bindgen_test(unsupported = test)]
fn the_decision_header_needs_a_private_header_name_and_a_long_token_that_errors_never_echo() {
    let with = |dh: &str| {
        format!(r#"{{"policies": [{{"name": "p", "allow_origins": ["https://a.com"]}}], "decision_header": {dh}}}"#)
    };
    assert_errors(
        &with(r#"{"token_header": "X-Debug", "token": "short-secret"}"#),
        &[
            ("decision_header.token_header", TokenHeaderNotLowerCase),
            ("decision_header.token", TokenLength),
        ],
    );
    let errors = errors_of(&with(r#"{"token_header": "x-debug", "token": "short-secret"}"#)).to_string();
    assert!(
        !errors.contains("short-secret"),
        "the token leaked into the error: {errors}"
    );
    assert_errors(
        &with(r#"{"token_header": "authorization", "token": "0123456789abcdef0123"}"#),
        &[("decision_header.token_header", TokenHeaderNotPrivate)],
    );
    assert_errors(
        &with(r#"{"token": "0123456789abcdef0123", "extra": 1}"#),
        &[
            ("decision_header.token_header", Missing),
            ("decision_header.extra", unknown()),
        ],
    );
    assert_errors(
        &with(r#"{"token_header": "x-debug", "token": "0123456789 abcdef0123"}"#),
        &[("decision_header.token", TokenLength)],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn the_documented_operations_example_is_accepted() {
    let example = r#"{
      "mode": "enforce",
      "rejection_log_interval_seconds": 60,
      "decision_header": { "token_header": "x-edge-cors-debug", "token": "change-me-to-a-long-random-secret" },
      "policies": [
        { "name": "app", "allow_origins": ["https://app.example.com"], "enforce_percent": 25,
          "reject_disallowed": { "unsafe_methods": true, "websocket": true } },
        { "name": "legacy", "allow_origins": ["https://old.example.com"], "mode": "report_only" }
      ]
    }"#;
    let config = compile(example.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.policy(0).unwrap().enforce_percent, 25);
    assert!(config.policy(0).unwrap().reject_unsafe_methods);
    assert!(config.policy(0).unwrap().reject_websocket);
    assert_eq!(config.policy(1).unwrap().enforce_percent, 0);
}

/// Origin regexes with credentials (issue 11, item 1): each broad regex of one policy, the
/// part of the rule it breaks, and the same regexes without credentials as warnings.
mod credentialed_origin_regexes {
    use super::*;

    /// (regex as written in JSON, the part of the rule it breaks and a fragment of the words
    /// naming it; `None` = accepted).
    const REGEXES: &[(&str, Option<(Why, &str)>)] = &[
        (
            r"^https?://.+$",
            Some((Why::Scheme, "does not start with a literal `https://`")),
        ),
        (
            r"^https?://app\\.example\\.com$",
            Some((Why::Scheme, "does not start with a literal `https://`")),
        ),
        (
            r"^https://.*example\\.com$",
            Some((Why::HostEnd, "so https://evilexample.com matches too")),
        ),
        (
            r"^https://.+\\.co\\.uk$",
            Some((Why::PublicSuffix, "the domain `co.uk` is a public suffix")),
        ),
        (
            r"^https://[a-z]+\\.example\\.com(\\.evil\\.com)?$",
            Some((Why::AfterDomain, "`(\\.evil\\.com)?` follows the domain")),
        ),
        (
            r"^(?i)https://app\\.example\\.com$",
            Some((Why::FlagGroup, "the flag group `(?i)`")),
        ),
        (
            r"^http://app\\.example\\.com$",
            Some((
                Why::PlainHttp,
                "`http://` is allowed only before a literal loopback host",
            )),
        ),
        (
            r"^(https://a\\.example\\.com|https://.+)$",
            Some((Why::HostEnd, "in the alternative `https://.+`")),
        ),
        (r"^https://pr-[0-9]+\\.preview\\.example\\.com$", None),
        (r"^https://(www\\.)?example\\.com(:[0-9]+)?$", None),
        (r"^http://localhost(:\\d+)?$", None),
    ];

    fn config(credentials: bool) -> String {
        let list: Vec<String> = REGEXES.iter().map(|(re, _)| format!("\"{re}\"")).collect();
        policy(&format!(
            r#""allow_origins": ["https://app.example.com"], "allow_origin_regexes": [{}], "allow_credentials": {credentials}"#,
            list.join(", ")
        ))
    }

    /// (path, the part of the rule broken, the words naming it) of every refused regex.
    fn expected() -> Vec<(String, Why, &'static str)> {
        REGEXES
            .iter()
            .enumerate()
            .filter_map(|(i, (_, finding))| {
                finding.map(|(why, words)| (format!("policies[0].allow_origin_regexes[{i}]"), why, words))
            })
            .collect()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn with_credentials_every_regex_not_confined_to_one_domains_https_origins_is_an_error_at_its_path() {
        let config = config(true);
        let expected = expected();
        let pairs: Vec<(&str, IssueKind)> = expected
            .iter()
            .map(|(p, why, _)| (p.as_str(), not_confined(*why, true)))
            .collect();
        assert_errors(&config, &pairs);
        let errors = errors_of(&config);
        for (e, (_, _, words)) in errors.errors.iter().zip(&expected) {
            let rendered = e.to_string();
            assert!(rendered.contains(words), "the error names the failing part: {e}");
            assert!(
                rendered.contains("with allow_credentials: true an origin regex must be a literal `https://`"),
                "every error states the rule: {e}"
            );
            assert!(e.value.as_deref().is_some_and(|v| v.starts_with("\"^")), "{e}");
        }
        assert!(errors.warnings.is_empty(), "{:?}", errors.warnings);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn without_credentials_the_same_regexes_load_with_one_warning_each() {
        let compiled = compile(config(false).as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let expected = expected();
        assert_eq!(compiled.warnings().len(), expected.len(), "{:?}", compiled.warnings());
        for ((path, why, words), warning) in expected.iter().zip(compiled.warnings()) {
            assert_eq!(&warning.path, path);
            assert!(same_kind(&not_confined(*why, false), &warning.kind), "{warning:?}");
            assert!(warning.to_string().contains(words), "{warning}");
            assert!(
                warning.to_string().contains("refused with allow_credentials: true"),
                "{warning}"
            );
        }
        assert_eq!(compiled.policy(0).unwrap().origin_entries, 1 + REGEXES.len());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_regex_only_valid_once_wrapped_in_a_group_is_refused_with_or_without_credentials() {
        for credentials in [true, false] {
            let config = policy(&format!(
                r#""allow_origin_regexes": ["^https://a\\.example\\.com)|(https://.*$"], "allow_credentials": {credentials}"#
            ));
            assert_errors(
                &config,
                &[(
                    "policies[0].allow_origin_regexes[0]",
                    OriginRegex(RegexIssue::Invalid { error: String::new() }),
                )],
            );
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn wildcards_directly_under_any_entry_of_the_public_suffix_list_are_refused_each_at_its_path() {
    // The issue's five, then a wildcard rule's child (`*.kawasaki.jp`), an IDN suffix in its
    // punycode form (公司.cn) and a private hosting suffix with a port.
    let bases = [
        "myshopify.com",
        "duckdns.org",
        "r2.dev",
        "k12.ca.us",
        "translate.goog",
        "nakahara.kawasaki.jp",
        "xn--55qx5d.cn",
        "s3.amazonaws.com:8443",
    ];
    let origins: Vec<String> = bases.iter().map(|b| format!(r#""https://*.{b}""#)).collect();
    let config = policy(&format!(r#""allow_origins": [{}]"#, origins.join(", ")));
    let expected: Vec<(String, IssueKind)> = bases
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let suffix = b.split(':').next().unwrap_or(b);
            (
                format!("{O}[{i}]"),
                Origin(OriginIssue::WildcardUnderPublicSuffix {
                    base: suffix.to_string(),
                }),
            )
        })
        .collect();
    let expected: Vec<(&str, IssueKind)> = expected.iter().map(|(p, k)| (p.as_str(), k.clone())).collect();
    assert_errors(&config, &expected);
    // One label further down, each is a registrable domain someone owns: accepted.
    let owned = r#""allow_origins": ["https://*.shop.myshopify.com", "https://*.city.kawasaki.jp",
        "https://*.example.co.uk", "https://*.bucket.r2.dev", "https://*.example.xn--55qx5d.cn"]"#;
    let config = policy(owned);
    assert!(compile(config.as_bytes()).is_ok(), "must be accepted:\n{config}");
}

#[wasm_bindgen_test(unsupported = test)]
fn wildcards_and_regexes_over_a_domain_with_public_suffixes_below_it_are_refused() {
    // `amazonaws.com` is no public suffix, but `s3.amazonaws.com` (and many more) under it are:
    // `https://*.amazonaws.com` would trust every bucket site anyone can create.
    let config = policy(
        r#""allow_origins": ["https://*.amazonaws.com", "https://*.kawasaki.jp", "https://*.example.com"],
           "allow_origin_regexes": ["^https://[a-z0-9-]+\\.amazonaws\\.com$"], "allow_credentials": true"#,
    );
    assert_errors(
        &config,
        &[
            (
                &format!("{O}[0]"),
                Origin(OriginIssue::WildcardOverPublicSuffixes {
                    base: "amazonaws.com".into(),
                }),
            ),
            (
                &format!("{O}[1]"),
                Origin(OriginIssue::WildcardOverPublicSuffixes {
                    base: "kawasaki.jp".into(),
                }),
            ),
            (
                "policies[0].allow_origin_regexes[0]",
                not_confined(Why::PublicSuffix, true),
            ),
        ],
    );
    let errors = errors_of(&config).to_string();
    assert!(
        errors.contains("the Public Suffix List has entries under `amazonaws.com`"),
        "{errors}"
    );
}

// ---- issue 11 (hardening): contradictions, methods browsers never send, shadowed policies,
// hosts and path prefixes as the router reads them ----

/// The warnings of a configuration that loads, rendered as the filter logs them.
fn warnings_of_accepted(config: &str) -> Vec<String> {
    match compile(config.as_bytes()) {
        Ok(c) => c.warnings().iter().map(ToString::to_string).collect(),
        Err(e) => panic!("config was refused but must load:\n{config}\n{e}"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn settings_that_contradict_each_other_are_refused_with_the_path_and_a_fix() {
    let any = r#""allow_origins": ["*"]"#;
    assert_errors(
        &policy(&format!(
            r#"{any}, "reject_disallowed": {{"unsafe_methods": true, "websocket": true}}"#
        )),
        &[
            ("policies[0].reject_disallowed.unsafe_methods", RejectNeverBlocks),
            ("policies[0].reject_disallowed.websocket", RejectNeverBlocks),
        ],
    );
    assert_errors(
        &policy(&format!(r#"{any}, "reject_disallowed": {{"websocket": true}}"#)),
        &[("policies[0].reject_disallowed.websocket", RejectNeverBlocks)],
    );
    // Writing the defaults out is not a contradiction.
    assert!(warnings_of_accepted(&policy(&format!(
        r#"{any}, "reject_disallowed": {{"unsafe_methods": false, "websocket": false}}, "enforce_percent": 100"#
    )))
    .is_empty());
    let a = r#""allow_origins": ["https://a.com"]"#;
    for fields in [
        format!(r#"{a}, "enforce_percent": 0"#),
        format!(r#"{a}, "enforce_percent": 0, "mode": "enforce""#),
    ] {
        assert_errors(&policy(&fields), &[("policies[0].enforce_percent", PercentZero)]);
    }
    assert_errors(
        &policy(&format!(r#"{a}, "enforce_percent": 0, "mode": "report_only""#)),
        &[("policies[0].enforce_percent", PercentInReportOnly)],
    );
    assert_errors(
        &format!(r#"{{"mode": "report_only", "policies": [{{"name": "p", {a}, "enforce_percent": 50}}]}}"#),
        &[("policies[0].enforce_percent", PercentUnderReportOnlyDefault)],
    );
    // A list that is there but empty would match everything: refused; omitting it says so.
    assert_errors(
        &policy(&format!(r#"{a}, "match": {{"hosts": [], "path_prefixes": []}}"#)),
        &[
            ("policies[0].match.hosts", EmptyMatchList { key: "hosts" }),
            (
                "policies[0].match.path_prefixes",
                EmptyMatchList { key: "path_prefixes" },
            ),
        ],
    );
    assert!(warnings_of_accepted(&policy(&format!(r#"{a}, "match": {{}}"#))).is_empty());
    // All of them at once.
    assert_errors(
        &format!(
            r#"{{"policies": [{{"name": "p", {any}, "reject_disallowed": {{"unsafe_methods": true}}, "enforce_percent": 0}},
                {{"name": "q", {a}, "match": {{"path_prefixes": ["/api", "/api/"]}}}}]}}"#
        ),
        &[
            ("policies[0].reject_disallowed.unsafe_methods", RejectNeverBlocks),
            ("policies[0].enforce_percent", PercentZero),
            (
                "policies[1].match.path_prefixes[1]",
                PathPrefix(PathPrefixIssue::Duplicate),
            ),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn patch_in_another_case_is_refused_and_other_lower_case_methods_are_warned_about() {
    let m = "policies[0].allow_methods";
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "allow_methods": ["patch", "Patch", "PATCH", "put"]"#),
        &[
            (&format!("{m}[0]"), Method(MethodIssue::PatchCase)),
            (&format!("{m}[1]"), Method(MethodIssue::PatchCase)),
        ],
    );
    let warnings = warnings_of_accepted(&policy(
        r#""allow_origins": ["https://a.com"], "allow_methods": ["PATCH", "purge", "MkCol", "PROPFIND", "delete"]"#,
    ));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("{m}[1]: \"purge\": not upper-case")),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with(&format!("{m}[2]: \"MkCol\": not upper-case")),
        "{warnings:?}"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_policy_no_request_can_reach_is_a_warning_naming_the_policies_that_cover_it() {
    let config = |policies: &str| format!(r#"{{"policies": [{policies}]}}"#);
    let p = |name: &str, m: &str| format!(r#"{{"name": "{name}", "match": {m}, "allow_origins": ["https://a.com"]}}"#);
    let all = r#"{"name": "all", "allow_origins": ["https://a.com"]}"#;
    // (policies, warnings)
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("{all}, {}", p("api", r#"{"hosts": ["api.example.com"]}"#)),
            vec![r#"policies[1]: never selected: policies[0] ("all") matches every request it matches"#],
        ),
        (
            format!(
                "{}, {}",
                p("wild", r#"{"hosts": ["*.example.com:*", "*.example.org"]}"#),
                p(
                    "narrow",
                    r#"{"hosts": ["a.b.example.com:8443", "x.example.org"], "path_prefixes": ["/v1"]}"#
                )
            ),
            vec![r#"policies[1]: never selected: policies[0] ("wild") matches every request it matches"#],
        ),
        (
            format!(
                "{}, {}",
                p("api", r#"{"path_prefixes": ["/api/"]}"#),
                p("v1", r#"{"path_prefixes": ["/api/v1", "/api"]}"#)
            ),
            vec![r#"policies[1]: never selected: policies[0] ("api") matches every request it matches"#],
        ),
        (
            format!(
                "{}, {}, {}",
                p("a", r#"{"hosts": ["a.example.com"]}"#),
                p("b", r#"{"hosts": ["b.example.com"]}"#),
                p(
                    "ab",
                    r#"{"hosts": ["a.example.com", "b.example.com"], "path_prefixes": ["/x"]}"#
                )
            ),
            vec![
                r#"policies[2]: never selected: policies[0] ("a") and policies[1] ("b") together match every request it matches"#,
            ],
        ),
        (
            format!("{}, {all}", p("root", r#"{"path_prefixes": ["/"]}"#)),
            vec![r#"policies[1]: never selected: policies[0] ("root") matches every request it matches"#],
        ),
        // Reachable: narrower first, another port, the apex, a longer word, no host at all.
        (
            format!(
                "{}, {}, {}, {}, {all}",
                p("one", r#"{"hosts": ["a.example.com"], "path_prefixes": ["/api/v1"]}"#),
                p("ported", r#"{"hosts": ["a.example.com:8443"]}"#),
                p("wild", r#"{"hosts": ["*.example.com"], "path_prefixes": ["/api"]}"#),
                p("apex", r#"{"hosts": ["example.com"], "path_prefixes": ["/apix"]}"#)
            ),
            vec![],
        ),
    ];
    for (policies, want) in cases {
        assert_eq!(warnings_of_accepted(&config(&policies)), want, "{policies}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn hosts_and_path_prefixes_are_checked_as_the_router_reads_them() {
    let h = "policies[0].match.hosts";
    assert_errors(
        &policy(
            r#""allow_origins": ["https://a.com"], "match": {"hosts": ["API.example.com", "api.example.com.", "api.example.com:443",
                "api.example.com:0443", "[::1]:*", "[::1]:*", "*.example.com:*", "https://x.com"]}"#,
        ),
        &[
            (&format!("{h}[0]"), Host(HostIssue::NotAHost)),
            (&format!("{h}[1]"), Host(HostIssue::TrailingDot)),
            (&format!("{h}[3]"), Host(HostIssue::BadPort)),
            (&format!("{h}[5]"), Host(HostIssue::Duplicate)),
            (&format!("{h}[7]"), Host(HostIssue::NotAHost)),
        ],
    );
    let p = "policies[0].match.path_prefixes";
    assert_errors(
        &policy(
            r#""allow_origins": ["https://a.com"], "match": {"path_prefixes": ["/api?v=1", "//api", "/a/../b", "/a%2Fb", "/ok/"]}"#,
        ),
        &[
            (&format!("{p}[0]"), PathPrefix(PathPrefixIssue::QueryOrFragment)),
            (&format!("{p}[1]"), PathPrefix(PathPrefixIssue::NeverMatches)),
            (&format!("{p}[2]"), PathPrefix(PathPrefixIssue::NeverMatches)),
            (&format!("{p}[3]"), PathPrefix(PathPrefixIssue::NeverMatches)),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn route_names_are_checked_and_a_bound_policy_covered_by_earlier_ones_is_a_warning() {
    let r = "policies[0].match.route_names";
    let long = "r".repeat(1025);
    assert_errors(
        &policy(&format!(
            r#""allow_origins": ["https://a.com"], "match": {{"route_names": ["api", "", " api", "a\u0000b", "api", "{long}", 7]}}"#
        )),
        &[
            (&format!("{r}[1]"), RouteName(RouteNameIssue::Empty)),
            (&format!("{r}[2]"), RouteName(RouteNameIssue::NotAName)),
            (&format!("{r}[3]"), RouteName(RouteNameIssue::NotAName)),
            (&format!("{r}[4]"), RouteName(RouteNameIssue::Duplicate)),
            (&format!("{r}[5]"), RouteName(RouteNameIssue::TooLong)),
            (
                &format!("{r}[6]"),
                WrongType {
                    expected: "a string",
                    found: "a number",
                },
            ),
        ],
    );
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "match": {"route_names": []}"#),
        &[(r, EmptyMatchList { key: "route_names" })],
    );
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "match": {"route_names": "api"}"#),
        &[(
            r,
            WrongType {
                expected: "a list",
                found: "a string",
            },
        )],
    );
    // Combined with hosts and paths (every constraint must fit): accepted; covered: a warning.
    let config = |policies: &str| format!(r#"{{"policies": [{policies}]}}"#);
    let p = |name: &str, m: &str| format!(r#"{{"name": "{name}", "match": {m}, "allow_origins": ["https://a.com"]}}"#);
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!(
                "{}, {}",
                p("api", r#"{"route_names": ["api", "web"]}"#),
                p(
                    "api-v1",
                    r#"{"route_names": ["api"], "hosts": ["a.example.com"], "path_prefixes": ["/v1"]}"#
                )
            ),
            vec![r#"policies[1]: never selected: policies[0] ("api") matches every request it matches"#],
        ),
        (
            format!(
                "{}, {}",
                p("host", r#"{"hosts": ["a.example.com"]}"#),
                p("bound", r#"{"route_names": ["api"], "hosts": ["a.example.com"]}"#)
            ),
            vec![r#"policies[1]: never selected: policies[0] ("host") matches every request it matches"#],
        ),
        (
            format!(
                "{}, {}, {}",
                p("api", r#"{"route_names": ["api"], "hosts": ["a.example.com"]}"#),
                p("other", r#"{"route_names": ["api", "web"]}"#),
                p("host", r#"{"hosts": ["a.example.com"]}"#)
            ),
            vec![],
        ),
    ];
    for (policies, want) in cases {
        assert_eq!(warnings_of_accepted(&config(&policies)), want, "{policies}");
    }
}

/// The words of every message, pinned: the README quotes them, operators search for them, and
/// the filter's log and the checker print exactly these (one renderer).
mod readme_messages {
    use super::*;

    /// The README's example of a refused configuration, and its warning example.
    #[wasm_bindgen_test(unsupported = test)]
    fn the_examples_of_the_readme_are_rendered_word_for_word() {
        let errors = errors_of(
            r#"{"policies": [{"name": "p", "allow_origins": ["*"], "allow_credentials": true, "max_age": -1,
                "allow_methods": ["TRACE"], "colour": "red"}]}"#,
        );
        let expected = [
            "edge-cors: invalid configuration (4 errors):",
            "  - policies[0].colour: \"red\": unknown field; expected one of: name, match, allow_origins, allow_origin_regexes, allow_origins_from, allow_methods, allow_headers, expose_headers, allow_credentials, max_age, allow_private_network_access, mode, enforce_percent, reject_disallowed",
            "  - policies[0].allow_origins[0]: \"*\": `*` cannot be combined with allow_credentials: true; list the trusted origins",
            "  - policies[0].allow_methods[0]: \"TRACE\": forbidden method: browsers never send it cross-origin (Fetch §2.2.1)",
            "  - policies[0].max_age: -1: must not be negative",
        ];
        assert_eq!(errors.to_string().lines().collect::<Vec<_>>(), expected);
        // The checker prints the same lines after the file and the location.
        let checker = errors.render("policy.json: policy: invalid");
        assert_eq!(checker.lines().next(), Some("policy.json: policy: invalid (4 errors):"));
        assert_eq!(checker.lines().skip(1).collect::<Vec<_>>(), expected[1..]);
        let loaded = compile(
            br#"{"policies": [{"name": "all", "allow_origins": ["https://a.com"]},
                {"name": "api", "match": {"hosts": ["api.example.com"]}, "allow_origins": ["https://a.com"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            edge_cors_core::render_warnings("edge-cors: ", loaded.warnings()),
            "edge-cors: warning: policies[1]: never selected: policies[0] (\"all\") matches every request it matches\n"
        );
    }

    /// A configuration with an error of nearly every kind.
    const EVERY_KIND: &str = r##"{"mode": "audit", "rejection_log_interval_seconds": 0, "preflight_success_status": 201,
            "decision_header": {"token_header": "X-Debug", "token": "short"},
            "policies": [{"name": "bad name",
                "match": {"hosts": ["A.com", "a.com.", "[::g]", "a.com:0", "b.com", "b.com"],
                          "path_prefixes": ["api", "/a?x", "//a", "/b", "/b/"]},
                "allow_origins": ["https://*.com", "https://*.amazonaws.com", "https://*.10.0.0.1", "http://a.example",
                    "https://a.example", "https://a.example", "https://a.com:443", "*"],
                "allow_origin_regexes": ["x", "^https://app.example\\.com$", "^(a$", "^.*$", "^\\*$", "^https?://.+$"],
                "allow_credentials": true, "allow_methods": ["*", "a b", "CONNECT", "patch", "PUT", "put"],
                "allow_headers": ["*", "x a", "cookie", "x-a", "authorization", "Authorization"],
                "expose_headers": ["*", "x:y", "set-cookie", "etag", "ETag"], "max_age": 86401, "mode": "off",
                "enforce_percent": 101, "x": 1},
              {"name": "q", "allow_origins": [], "max_age": 1.5, "match": {"hosts": []}, "allow_methods": "GET",
               "enforce_percent": 0},
              {"name": "q", "reject_disallowed": true}, 7]}"##;

    /// Every kind has a machine name for the checker's JSON findings: `snake_case`, dotted for
    /// entry-level issues, one name per kind (two errors of one name render the same kind).
    #[wasm_bindgen_test(unsupported = test)]
    fn every_kind_of_error_has_one_stable_machine_name() {
        let errors = errors_of(EVERY_KIND);
        let mut by_code: std::collections::BTreeMap<&str, std::collections::BTreeSet<String>> = Default::default();
        for e in &errors.errors {
            let code = e.kind.code();
            assert!(
                code.split('.').all(|w| !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
                "{code}"
            );
            // The kind without its data: the variant names of its Debug form.
            let debug = format!("{:?}", e.kind);
            let shape: String = debug.split(['{', ' ']).next().unwrap_or("").to_string();
            let shape = shape.split('(').take(2).collect::<Vec<_>>().join("(");
            by_code.entry(code).or_default().insert(shape);
        }
        assert!(by_code.len() >= 40, "{by_code:?}");
        for (code, shapes) in &by_code {
            assert_eq!(shapes.len(), 1, "{code} names several kinds: {shapes:?}");
        }
        assert_eq!(by_code.get("origin.star_with_credentials").map(|s| s.len()), Some(1));
        assert_eq!(K::MaxAgeTooLarge.code(), "max_age_too_large");
        assert_eq!(K::Shadowed { by: vec![] }.code(), "shadowed");
    }

    /// One configuration with an error of nearly every kind: the whole report, line by line.
    #[wasm_bindgen_test(unsupported = test)]
    fn every_kind_of_error_renders_its_words_exactly() {
        let config = EVERY_KIND;
        let expected = [
            r##"edge-cors: invalid configuration (56 errors):"##,
            r##"  - mode: "audit": must be "enforce" or "report_only""##,
            r##"  - rejection_log_interval_seconds: 0: must be a whole number of seconds from 1 to 3600"##,
            r##"  - decision_header.token_header: "X-Debug": must be a lower-case header name"##,
            r##"  - decision_header.token: must be 16 to 256 visible ASCII characters (it is a secret)"##,
            r##"  - policies[0].mode: "off": must be "enforce" or "report_only""##,
            r##"  - policies[0].enforce_percent: 101: must be a whole number from 0 to 100"##,
            r##"  - policies[0].x: 1: unknown field; expected one of: name, match, allow_origins, allow_origin_regexes, allow_origins_from, allow_methods, allow_headers, expose_headers, allow_credentials, max_age, allow_private_network_access, mode, enforce_percent, reject_disallowed"##,
            r##"  - policies[1].match.hosts: []: empty: it would match every request; omit `hosts` to match any, or list at least one"##,
            r##"  - policies[1].allow_methods: "GET": expected a list, found a string"##,
            r##"  - policies[2].reject_disallowed: true: expected a JSON object, found a boolean"##,
            r##"  - policies[3]: 7: expected a JSON object, found a number"##,
            r##"  - preflight_success_status: 201: must be 200 or 204"##,
            r##"  - policies[0].name: "bad name": policy names are 1 to 64 characters of a-z, A-Z, 0-9, `_` and `-` (they appear in metric names)"##,
            r##"  - policies[0].allow_origins[0]: "https://*.com": wildcard directly under the public suffix `com` would trust sites anyone can register; use a domain you own"##,
            r##"  - policies[0].allow_origins[1]: "https://*.amazonaws.com": wildcard over `amazonaws.com`, under which the Public Suffix List has entries (names anyone can register); list the subdomains you own"##,
            r##"  - policies[0].allow_origins[2]: "https://*.10.0.0.1": a subdomain wildcard over an IP address matches nothing meaningful"##,
            r##"  - policies[0].allow_origins[3]: "http://a.example": plain-http origin with allow_credentials: true lets a network attacker read credentialed responses; use https (http is allowed only for localhost and loopback)"##,
            r##"  - policies[0].allow_origins[5]: "https://a.example": duplicate origin"##,
            r##"  - policies[0].allow_origins[6]: "https://a.com:443": not a valid origin: it includes the scheme's default port 443; browsers omit it, so this can never match"##,
            r##"  - policies[0].allow_origins[7]: "*": `*` allows every origin and must be the only entry of allow_origins"##,
            r##"  - policies[0].allow_origins[7]: "*": `*` cannot be combined with allow_credentials: true; list the trusted origins"##,
            r##"  - policies[0].allow_origin_regexes[0]: "x": regex must be anchored: start with `^` and end with `$`, or it matches look-alike origins such as https://app.example.com.evil.net"##,
            r##"  - policies[0].allow_origin_regexes[1]: "^https://app.example\\.com$": unescaped `.` before `e` matches any character (https://appxexample.com); write `\.`"##,
            r##"  - policies[0].allow_origin_regexes[2]: "^(a$": invalid regex: a group is not closed with `)` (at byte 4)"##,
            r##"  - policies[0].allow_origin_regexes[3]: "^.*$": regex matches `null`, which must never be trusted"##,
            r##"  - policies[0].allow_origin_regexes[4]: "^\\*$": regex matches `*`, which must never be trusted"##,
            r##"  - policies[0].allow_origin_regexes[5]: "^https?://.+$": `https?://.+` does not start with a literal `https://`; with allow_credentials: true an origin regex must be a literal `https://` (`http://` only before a literal loopback host), then a literal host or one ending in an escaped `\.` + a registrable domain (`[a-z0-9-]+\.example\.com`), then at most a port (`:[0-9]+`, `(:[0-9]+)?`), so that it matches only that domain's https origins"##,
            r##"  - policies[0].allow_methods[0]: "*": method wildcards are not supported; list each method"##,
            r##"  - policies[0].allow_methods[1]: "a b": not a valid method name (RFC 9110 token)"##,
            r##"  - policies[0].allow_methods[2]: "CONNECT": forbidden method: browsers never send it cross-origin (Fetch §2.2.1)"##,
            r##"  - policies[0].allow_methods[3]: "patch": write "PATCH": browsers send it exactly as the page writes it (Fetch §2.2.1 upper-cases only DELETE, GET, HEAD, OPTIONS, POST, PUT), and fetch(url, {method: 'PATCH'}) sends PATCH"##,
            r##"  - policies[0].allow_methods[5]: "put": duplicate method"##,
            r##"  - policies[0].allow_headers[1]: "x a": not a valid header name (RFC 9110 token)"##,
            r##"  - policies[0].allow_headers[2]: "cookie": forbidden request header: browsers never let scripts set it (Fetch §2.2.2)"##,
            r##"  - policies[0].allow_headers[3]: "x-a": redundant next to `*`; only `authorization` may be listed with `*`"##,
            r##"  - policies[0].allow_headers[5]: "Authorization": duplicate header name (names compare case-insensitively)"##,
            r##"  - policies[0].expose_headers[0]: "*": `*` exposes every header and must be the only entry"##,
            r##"  - policies[0].expose_headers[0]: "*": `*` does not work with allow_credentials: true (browsers read it as a header named `*`); list the headers"##,
            r##"  - policies[0].expose_headers[1]: "x:y": not a valid header name (RFC 9110 token)"##,
            r##"  - policies[0].expose_headers[2]: "set-cookie": browsers never expose Set-Cookie to scripts (Fetch §2.2.6)"##,
            r##"  - policies[0].expose_headers[4]: "ETag": duplicate header name (names compare case-insensitively)"##,
            r##"  - policies[0].max_age: 86401: must be at most 86400 seconds (one day)"##,
            r##"  - policies[0].match.hosts[0]: "A.com": not a host: expected a lower-case host name or [IPv6] literal, optionally `*.` for subdomains, then optionally `:port` or `:*` (any explicit port); no scheme or path"##,
            r##"  - policies[0].match.hosts[1]: "a.com.": trailing dot: the router compares the Host as sent, so `name.` is another host; set `strip_trailing_host_dot` on the connection manager and list the name without the dot"##,
            r##"  - policies[0].match.hosts[2]: "[::g]": not an IPv6 literal: expected a lower-case host name or [IPv6] literal, optionally `*.` for subdomains, then optionally `:port` or `:*` (any explicit port); no scheme or path"##,
            r##"  - policies[0].match.hosts[3]: "a.com:0": bad port: expected 1 to 65535 without leading zeros, or `*` for any explicit port"##,
            r##"  - policies[0].match.hosts[5]: "b.com": duplicate host"##,
            r##"  - policies[0].match.path_prefixes[0]: "api": a path prefix must start with `/` and contain no spaces or control characters"##,
            r##"  - policies[0].match.path_prefixes[1]: "/a?x": the query and fragment never take part in matching: give the path only"##,
            r##"  - policies[0].match.path_prefixes[2]: "//a": never matches: it holds `//`, a `.` or `..` segment, `\` or an encoded `/`, `\` or `.`, and requests whose path holds one are refused as malformed on path-scoped policies"##,
            r##"  - policies[0].match.path_prefixes[4]: "/b/": duplicate path prefix (a trailing `/` makes no difference: prefixes match whole segments)"##,
            r##"  - policies[1].allow_origins: []: empty: a policy must allow at least one origin"##,
            r##"  - policies[1].max_age: 1.5: must be a whole number of seconds from 0 to 86400"##,
            r##"  - policies[1].enforce_percent: 0: enforces nothing; write "mode": "report_only" instead"##,
            r##"  - policies[2].allow_origins: required: list the trusted origins (or give allow_origin_regexes or allow_origins_from)"##,
            r##"  - policies[2].name: "q": duplicate policy name"##,
        ];
        assert_eq!(errors_of(config).to_string().lines().collect::<Vec<_>>(), expected);
    }

    /// The operations settings that contradict each other, and the warnings a loading
    /// configuration logs.
    #[wasm_bindgen_test(unsupported = test)]
    fn contradictions_and_warnings_render_their_words_exactly() {
        let config = r##"{"mode": "report_only", "decision_header": {"token_header": "authorization", "token": "0123456789abcdef"},
            "policies": [{"name": "a", "allow_origins": ["*"], "enforce_percent": 5, "reject_disallowed": {"websocket": true}},
              {"name": "b", "mode": "report_only", "enforce_percent": 5, "allow_origins": ["https://a.com"]},
              {"name": "c", "allow_origin_regexes": ["^https?://.+$", "^https://.+\\.co\\.uk$"], "allow_methods": ["purge"],
               "match": {"path_prefixes": ["/x"]}}]}"##;
        let errors = errors_of(config);
        let mut rendered = errors.to_string();
        rendered.push_str(&edge_cors_core::render_warnings("edge-cors: ", &errors.warnings));
        let expected = [
            r##"edge-cors: invalid configuration (4 errors):"##,
            r##"  - decision_header.token_header: "authorization": use a private `x-` header, so no standard header ever carries the token"##,
            r##"  - policies[0].enforce_percent: 5: has no effect: the top-level mode is "report_only" and this policy sets no mode of its own; remove it, or set this policy's mode to "enforce""##,
            r##"  - policies[0].reject_disallowed.websocket: true: never blocks anything: no origin is rejected under allow_origins ["*"]; list the trusted origins in allow_origins to block the others, or remove it"##,
            r##"  - policies[1].enforce_percent: 5: has no effect in report_only mode; remove it, or set mode to "enforce""##,
            r##"edge-cors: warning: policies[2].allow_origin_regexes[0]: "^https?://.+$": `https?://.+` does not start with a literal `https://`; allowed without credentials, refused with allow_credentials: true, where an origin regex must be a literal `https://` (`http://` only before a literal loopback host), then a literal host or one ending in an escaped `\.` + a registrable domain (`[a-z0-9-]+\.example\.com`), then at most a port (`:[0-9]+`, `(:[0-9]+)?`), so that it matches only that domain's https origins"##,
            r##"edge-cors: warning: policies[2].allow_origin_regexes[1]: "^https://.+\\.co\\.uk$": the domain `co.uk` is a public suffix, under which anyone can register a name; allowed without credentials, refused with allow_credentials: true, where an origin regex must be a literal `https://` (`http://` only before a literal loopback host), then a literal host or one ending in an escaped `\.` + a registrable domain (`[a-z0-9-]+\.example\.com`), then at most a port (`:[0-9]+`, `(:[0-9]+)?`), so that it matches only that domain's https origins"##,
            r##"edge-cors: warning: policies[2].allow_methods[0]: "purge": not upper-case: browsers send custom methods exactly as the page writes them (Fetch §2.2.1), so this allows only a page that writes it in exactly this case"##,
        ];
        assert_eq!(rendered.lines().collect::<Vec<_>>(), expected);
        assert_eq!(
            errors_of(r#"{"version": "v 1", "policies": [{"name": "p", "allow_origins": ["*"]}]}"#).errors[0]
                .to_string(),
            r#"version: "v 1": must be 1 to 64 characters of a-z, A-Z, 0-9, `.`, `_`, `+` and `-` (it is a metric label value)"#
        );
        assert_errors("", &[("$", Empty)]);
        assert_eq!(
            errors_of("").to_string(),
            "edge-cors: invalid configuration (1 error):\n  - $: configuration is empty; expected a JSON object with `policies`\n"
        );
        let too_large = format!("{{\"policies\": \"{}\"}}", "x".repeat(16 << 20));
        assert_eq!(
            errors_of(&too_large).errors[0].to_string(),
            format!("$: configuration is {} bytes; the limit is 16777216", too_large.len())
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn route_name_errors_render_their_words_exactly() {
        let config = r#"{"policies": [{"name": "p", "allow_origins": ["https://a.com"],
            "match": {"route_names": ["", " api", "api", "api"]}},
            {"name": "q", "allow_origins": ["https://a.com"], "match": {"route_names": []}}]}"#;
        let expected = [
            r#"edge-cors: invalid configuration (4 errors):"#,
            r#"  - policies[1].match.route_names: []: empty: it would match every request; omit `route_names` to match any, or list at least one"#,
            r#"  - policies[0].match.route_names[0]: "": empty: every route without a name has it; give the `name` of the route to bind"#,
            r#"  - policies[0].match.route_names[1]: " api": not a route name: it holds a control character or starts or ends with whitespace"#,
            r#"  - policies[0].match.route_names[3]: "api": duplicate route name"#,
        ];
        assert_eq!(errors_of(config).to_string().lines().collect::<Vec<_>>(), expected);
        let codes: Vec<&str> = errors_of(config).errors.iter().map(|e| e.kind.code()).collect();
        assert_eq!(
            codes,
            [
                "empty_match_list",
                "route_name.empty",
                "route_name.not_a_name",
                "route_name.duplicate"
            ]
        );
        let long = format!(
            r#"{{"policies": [{{"name": "p", "allow_origins": ["https://a.com"], "match": {{"route_names": ["{}"]}}}}]}}"#,
            "r".repeat(1025)
        );
        assert!(errors_of(&long).errors[0]
            .to_string()
            .ends_with(": a route name is at most 1024 bytes"));
    }
}
