//! Every configuration mistake the filter refuses, with the JSON path and message it reports.
//! Each case lists all the errors expected: a missing one and an extra one both fail.

use edge_cors_core::{compile, ConfigErrors};
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

/// `expected`: (path, fragment of the message or rendered value) for every error.
fn assert_errors(config: &str, expected: &[(&str, &str)]) {
    let errors = errors_of(config);
    let rendered = errors.to_string();
    for (path, needle) in expected {
        assert!(
            errors
                .errors
                .iter()
                .any(|e| e.path == *path && e.to_string().contains(needle)),
            "missing error at {path} containing {needle:?} for\n{config}\ngot:\n{rendered}"
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
    assert_errors("{not json", &[("$", "invalid JSON")]);
    assert_errors("", &[("$", "empty")]);
    assert_errors("[]", &[("$", "expected a JSON object")]);
    assert_errors("{}", &[("policies", "required")]);
    assert_errors(r#"{"policies": []}"#, &[("policies", "at least one policy")]);
}

#[wasm_bindgen_test(unsupported = test)]
fn unknown_and_mistyped_fields_are_named_with_their_path_and_value() {
    assert_errors(
        r#"{"policies": [{"name": "p", "allow_origins": ["https://a.com"], "allow_origin": ["x"], "max_age": "600",
            "allow_credentials": "yes", "allow_methods": "GET", "match": {"host": "a"}}], "preflight_status": 204}"#,
        &[
            ("policies[0].allow_origin", "unknown field"),
            ("policies[0].max_age", "\"600\""),
            ("policies[0].allow_credentials", "expected true or false"),
            ("policies[0].allow_methods", "expected a list"),
            ("policies[0].match.host", "unknown field"),
            ("preflight_status", "unknown field"),
        ],
    );
    assert_errors(
        r#"{"policies": [{"allow_origins": ["https://a.com", 7]}]}"#,
        &[
            ("policies[0].name", "required"),
            ("policies[0].allow_origins[1]", "expected a string"),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn dangerous_or_impossible_origins_are_refused() {
    let cases: &[(&str, &str)] = &[
        (r#""allow_origins": []"#, "empty"),
        (
            r#""allow_origins": ["*"], "allow_credentials": true"#,
            "cannot be combined with allow_credentials",
        ),
        (r#""allow_origins": ["null"]"#, "null"),
        (r#""allow_origins": ["file://"]"#, "file scheme"),
        (r#""allow_origins": ["https://a.com/app"]"#, "path"),
        (r#""allow_origins": ["https://a.com?x=1"]"#, "query"),
        (r#""allow_origins": ["https://a.com#top"]"#, "fragment"),
        (r#""allow_origins": ["https://user@a.com"]"#, "userinfo"),
        (r#""allow_origins": ["https://A.com"]"#, "upper-case"),
        (r#""allow_origins": ["HTTPS://a.com"]"#, "upper-case"),
        (r#""allow_origins": ["https://a.com:443"]"#, "default port 443"),
        (r#""allow_origins": ["http://a.com:80"]"#, "default port 80"),
        (r#""allow_origins": ["https://a.com/"]"#, "trailing slash"),
        (r#""allow_origins": ["https://a.com:99999"]"#, "port"),
        (r#""allow_origins": ["https://a.com:0"]"#, "port"),
        (r#""allow_origins": ["https://a.com:"]"#, "empty port"),
        (r#""allow_origins": ["https://a.com:x"]"#, "port"),
        (r#""allow_origins": ["a.com"]"#, "no scheme"),
        (r#""allow_origins": ["https://*.com"]"#, "public suffix `com`"),
        (r#""allow_origins": ["https://*.co.uk"]"#, "public suffix `co.uk`"),
        (r#""allow_origins": ["https://*.github.io"]"#, "public suffix"),
        (
            r#""allow_origins": ["http://app.example.com"], "allow_credentials": true"#,
            "plain-http",
        ),
        (
            r#""allow_origins": ["http://*.example.com"], "allow_credentials": true"#,
            "plain-http",
        ),
        (r#""allow_origins": ["https://a.com", "https://a.com"]"#, "duplicate"),
        (r#""allow_origins": ["https://a.*.com"]"#, "`*`"),
    ];
    for (fields, needle) in cases {
        // The error is on the list itself when it is empty, on the repeated entry for a
        // duplicate, and on the first entry otherwise.
        let path = match *needle {
            "empty" => O.to_string(),
            "duplicate" => format!("{O}[1]"),
            _ => format!("{O}[0]"),
        };
        assert_errors(&policy(fields), &[(&path, needle)]);
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
    let cases: &[(&str, &str)] = &[
        (r#"https://a\\.example\\.com"#, "anchored"),
        (r#"^https://a\\.example\\.com"#, "anchored"),
        (r#"https://a\\.example\\.com$"#, "anchored"),
        (r#"^https://app.example\\.com$"#, "unescaped `.`"),
        (r#"^(https://a\\.com$"#, "invalid regex"),
        (r#"^.*$"#, "matches `null`"),
        (r#"^(null|https://a\\.com)$"#, "matches `null`"),
        (r#"^\\*$"#, "matches `*`"),
    ];
    for (re, needle) in cases {
        assert_errors(&policy(&format!(r#""allow_origin_regexes": ["{re}"]"#)), &[(r, needle)]);
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
            (&format!("{m}[0]"), "forbidden"),
            (&format!("{m}[1]"), "forbidden"),
            (&format!("{m}[2]"), "forbidden"),
            (&format!("{m}[3]"), "token"),
            (&format!("{m}[4]"), "token"),
            (&format!("{m}[5]"), "wildcards"),
        ],
    );
    let h = "policies[0].allow_headers";
    assert_errors(
        &policy(
            r#""allow_origins": ["https://a.com"], "allow_headers": ["x a", "content-type", "Content-Type", "cookie", "sec-fetch-mode"]"#,
        ),
        &[
            (&format!("{h}[0]"), "token"),
            (&format!("{h}[2]"), "duplicate"),
            (&format!("{h}[3]"), "forbidden"),
            (&format!("{h}[4]"), "forbidden"),
        ],
    );
    let e = "policies[0].expose_headers";
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "expose_headers": ["x:y", "set-cookie"]"#),
        &[(&format!("{e}[0]"), "token"), (&format!("{e}[1]"), "Set-Cookie")],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn wildcard_exposure_with_credentials_is_refused() {
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "expose_headers": ["*"], "allow_credentials": true"#),
        &[("policies[0].expose_headers[0]", "allow_credentials")],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn max_age_must_be_between_zero_and_a_day() {
    let p = "policies[0].max_age";
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "max_age": -1"#),
        &[(p, "negative")],
    );
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "max_age": 86401"#),
        &[(p, "at most 86400")],
    );
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "max_age": 1.5"#),
        &[(p, "whole number")],
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
            ("policies[1].name", "duplicate policy name"),
            ("preflight_success_status", "200 or 204"),
        ],
    );
    assert_errors(
        r#"{"policies": [{"name": "has space", "allow_origins": ["https://a.com"]}]}"#,
        &[("policies[0].name", "policy names")],
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
            ("policies[0].allow_origins[0]", "allow_credentials"),
            ("policies[0].max_age", "86400"),
            ("policies[0].bogus", "unknown field"),
            ("policies[1].allow_origins[0]", "public suffix"),
            ("policies[1].allow_origins[1]", "null"),
            ("policies[1].allow_methods[0]", "forbidden"),
            ("policies[2].allow_origin_regexes[0]", "anchored"),
            ("policies[2].name", "duplicate"),
            ("preflight_success_status", "200 or 204"),
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
            ("mode", "must be \"enforce\" or \"report_only\""),
            ("policies[0].mode", "\"off\""),
            ("policies[0].enforce_percent", "from 0 to 100"),
            ("policies[0].reject_disallowed.unsafe_methods", "expected true or false"),
            ("policies[0].reject_disallowed.websockets", "unknown field"),
        ],
    );
    for bad in ["-1", "50.5", "\"50\""] {
        assert_errors(
            &policy(&format!(
                r#""allow_origins": ["https://a.com"], "enforce_percent": {bad}"#
            )),
            &[("policies[0].enforce_percent", "whole number from 0 to 100")],
        );
    }
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "reject_disallowed": true"#),
        &[("policies[0].reject_disallowed", "expected a JSON object")],
    );
    for bad in ["0", "3601", "1.5", "\"60\""] {
        assert_errors(
            &format!(
                r#"{{"policies": [{{"name": "p", "allow_origins": ["https://a.com"]}}], "rejection_log_interval_seconds": {bad}}}"#
            ),
            &[("rejection_log_interval_seconds", "from 1 to 3600")],
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_report_only_policy_cannot_also_set_a_rollout_percentage() {
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "mode": "report_only", "enforce_percent": 30"#),
        &[("policies[0].enforce_percent", "has no effect in report_only mode")],
    );
    // The mode that counts is the effective one: a top-level report_only makes the percentage
    // meaningless too, unless the policy sets its own mode to enforce.
    assert_errors(
        r#"{"mode": "report_only", "policies": [{"name": "p", "allow_origins": ["https://a.com"], "enforce_percent": 30}]}"#,
        &[("policies[0].enforce_percent", "the top-level mode is \"report_only\"")],
    );
    let ok = r#"{"mode": "report_only", "policies": [{"name": "p", "allow_origins": ["https://a.com"], "enforce_percent": 30,
        "mode": "enforce"}, {"name": "q", "allow_origins": ["https://b.com"]}]}"#;
    let config = compile(ok.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.policy(0).unwrap().enforce_percent, 30);
    assert_eq!(config.policy(1).unwrap().enforce_percent, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_decision_header_needs_a_private_header_name_and_a_long_token_that_errors_never_echo() {
    let with = |dh: &str| {
        format!(r#"{{"policies": [{{"name": "p", "allow_origins": ["https://a.com"]}}], "decision_header": {dh}}}"#)
    };
    assert_errors(
        &with(r#"{"token_header": "X-Debug", "token": "short-secret"}"#),
        &[
            ("decision_header.token_header", "lower-case header name"),
            ("decision_header.token", "16 to 256 visible ASCII characters"),
        ],
    );
    let errors = errors_of(&with(r#"{"token_header": "x-debug", "token": "short-secret"}"#)).to_string();
    assert!(
        !errors.contains("short-secret"),
        "the token leaked into the error: {errors}"
    );
    assert_errors(
        &with(r#"{"token_header": "authorization", "token": "0123456789abcdef0123"}"#),
        &[("decision_header.token_header", "private `x-` header")],
    );
    assert_errors(
        &with(r#"{"token": "0123456789abcdef0123", "extra": 1}"#),
        &[
            ("decision_header.token_header", "required"),
            ("decision_header.extra", "unknown field"),
        ],
    );
    assert_errors(
        &with(r#"{"token_header": "x-debug", "token": "0123456789 abcdef0123"}"#),
        &[("decision_header.token", "visible ASCII")],
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

    /// (regex as written in JSON, message fragment naming the failing part; "" = accepted).
    const REGEXES: &[(&str, &str)] = &[
        (r"^https?://.+$", "does not start with a literal `https://`"),
        (
            r"^https?://app\\.example\\.com$",
            "does not start with a literal `https://`",
        ),
        (r"^https://.*example\\.com$", "so https://evilexample.com matches too"),
        (r"^https://.+\\.co\\.uk$", "the domain `co.uk` is a public suffix"),
        (
            r"^https://[a-z]+\\.example\\.com(\\.evil\\.com)?$",
            "`(\\.evil\\.com)?` follows the domain",
        ),
        (r"^(?i)https://app\\.example\\.com$", "the flag group `(?i)`"),
        (
            r"^http://app\\.example\\.com$",
            "`http://` is allowed only before a literal loopback host",
        ),
        (
            r"^(https://a\\.example\\.com|https://.+)$",
            "in the alternative `https://.+`",
        ),
        (r"^https://pr-[0-9]+\\.preview\\.example\\.com$", ""),
        (r"^https://(www\\.)?example\\.com(:[0-9]+)?$", ""),
        (r"^http://localhost(:\\d+)?$", ""),
    ];

    fn config(credentials: bool) -> String {
        let list: Vec<String> = REGEXES.iter().map(|(re, _)| format!("\"{re}\"")).collect();
        policy(&format!(
            r#""allow_origins": ["https://app.example.com"], "allow_origin_regexes": [{}], "allow_credentials": {credentials}"#,
            list.join(", ")
        ))
    }

    fn expected() -> Vec<(String, &'static str)> {
        REGEXES
            .iter()
            .enumerate()
            .filter(|(_, (_, needle))| !needle.is_empty())
            .map(|(i, (_, needle))| (format!("policies[0].allow_origin_regexes[{i}]"), *needle))
            .collect()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn with_credentials_every_regex_not_confined_to_one_domains_https_origins_is_an_error_at_its_path() {
        let config = config(true);
        let expected = expected();
        let pairs: Vec<(&str, &str)> = expected.iter().map(|(p, n)| (p.as_str(), *n)).collect();
        assert_errors(&config, &pairs);
        let errors = errors_of(&config);
        for e in &errors.errors {
            assert!(
                e.to_string()
                    .contains("with allow_credentials: true an origin regex must be a literal `https://`"),
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
        for ((path, needle), warning) in expected.iter().zip(compiled.warnings()) {
            assert_eq!(&warning.path, path);
            assert!(warning.to_string().contains(needle), "{warning}");
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
            assert_errors(&config, &[("policies[0].allow_origin_regexes[0]", "invalid regex")]);
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
    let expected: Vec<(String, String)> = bases
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let suffix = b.split(':').next().unwrap_or(b);
            (format!("{O}[{i}]"), format!("public suffix `{suffix}`"))
        })
        .collect();
    let expected: Vec<(&str, &str)> = expected.iter().map(|(p, m)| (p.as_str(), m.as_str())).collect();
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
            (&format!("{O}[0]"), "under which the Public Suffix List has entries"),
            (&format!("{O}[1]"), "under which the Public Suffix List has entries"),
            (
                "policies[0].allow_origin_regexes[0]",
                "the Public Suffix List has entries under `amazonaws.com`",
            ),
        ],
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
            (
                "policies[0].reject_disallowed.unsafe_methods",
                "no origin is rejected under allow_origins [\"*\"]",
            ),
            (
                "policies[0].reject_disallowed.websocket",
                "list the trusted origins in allow_origins",
            ),
        ],
    );
    assert_errors(
        &policy(&format!(r#"{any}, "reject_disallowed": {{"websocket": true}}"#)),
        &[("policies[0].reject_disallowed.websocket", "never blocks anything")],
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
        assert_errors(
            &policy(&fields),
            &[(
                "policies[0].enforce_percent",
                "0: enforces nothing; write \"mode\": \"report_only\" instead",
            )],
        );
    }
    assert_errors(
        &policy(&format!(r#"{a}, "enforce_percent": 0, "mode": "report_only""#)),
        &[("policies[0].enforce_percent", "has no effect in report_only mode")],
    );
    assert_errors(
        &format!(r#"{{"mode": "report_only", "policies": [{{"name": "p", {a}, "enforce_percent": 50}}]}}"#),
        &[(
            "policies[0].enforce_percent",
            "50: has no effect: the top-level mode is \"report_only\"",
        )],
    );
    // A list that is there but empty would match everything: refused; omitting it says so.
    assert_errors(
        &policy(&format!(r#"{a}, "match": {{"hosts": [], "path_prefixes": []}}"#)),
        &[
            (
                "policies[0].match.hosts",
                "empty: it would match every request; omit `hosts`",
            ),
            ("policies[0].match.path_prefixes", "omit `path_prefixes` to match any"),
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
            ("policies[0].reject_disallowed.unsafe_methods", "never blocks"),
            ("policies[0].enforce_percent", "enforces nothing"),
            ("policies[1].match.path_prefixes[1]", "duplicate path prefix"),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn patch_in_another_case_is_refused_and_other_lower_case_methods_are_warned_about() {
    let m = "policies[0].allow_methods";
    assert_errors(
        &policy(r#""allow_origins": ["https://a.com"], "allow_methods": ["patch", "Patch", "PATCH", "put"]"#),
        &[
            (
                &format!("{m}[0]"),
                "write \"PATCH\": browsers send it exactly as the page writes it",
            ),
            (&format!("{m}[1]"), "fetch(url, {method: 'PATCH'}) sends PATCH"),
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
            (&format!("{h}[0]"), "not a host"),
            (&format!("{h}[1]"), "strip_trailing_host_dot"),
            (&format!("{h}[3]"), "bad port"),
            (&format!("{h}[5]"), "duplicate host"),
            (&format!("{h}[7]"), "no scheme or path"),
        ],
    );
    let p = "policies[0].match.path_prefixes";
    assert_errors(
        &policy(
            r#""allow_origins": ["https://a.com"], "match": {"path_prefixes": ["/api?v=1", "//api", "/a/../b", "/a%2Fb", "/ok/"]}"#,
        ),
        &[
            (&format!("{p}[0]"), "query"),
            (&format!("{p}[1]"), "never matches"),
            (&format!("{p}[2]"), "never matches"),
            (&format!("{p}[3]"), "never matches"),
        ],
    );
}
