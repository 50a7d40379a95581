//! Report-only mode and percentage rollout: which requests a policy enforces.
//!
//! A policy in report-only mode (or a request from an Origin outside the rollout) is evaluated,
//! counted and logged exactly like an enforced one, but the filter changes neither the request
//! nor the response: preflights reach the upstream, the upstream's own CORS headers stay. That
//! is how a team moves CORS from its services to the gateway without breaking a page.

use crate::config::settings::RejectDisallowed;
use crate::rules::decide::RequestHeaders;
use crate::rules::hash::{fnv1a64, mix64, FNV_OFFSET_BASIS};
use crate::rules::headers;

/// Origins are hashed up to this many bytes: the work per request stays bounded, and an Origin
/// longer than this is malformed anyway (`origin::MAX_ORIGIN_LEN`).
const MAX_HASHED: usize = crate::rules::origin::MAX_ORIGIN_LEN;

/// The rollout bucket, 0 to 99, of `origin` under the policy named `key`: the same on every
/// worker and every Envoy, for every request from that origin. The key (the policy's name)
/// makes each policy's split independent of the others'. 2^64 is not a multiple of 100: the
/// bias is below 1e-17.
pub(crate) fn bucket(key: &str, origin: &str) -> u8 {
    let bytes = origin.as_bytes();
    let hashed = bytes.get(..MAX_HASHED).unwrap_or(bytes);
    // A NUL never occurs in a policy name, so (key, origin) pairs cannot run together.
    let h = fnv1a64(fnv1a64(fnv1a64(FNV_OFFSET_BASIS, key.as_bytes()), &[0]), hashed);
    u8::try_from(mix64(h) % 100).unwrap_or(0)
}

/// Is this request enforced? `percent` is the policy's effective share (0 in report-only
/// mode), `key` its name, `origin` the request's Origin (`None`: not a CORS request).
///
/// Sticky per origin: an origin whose bucket is below the percentage is enforced on every
/// request, so retries cannot find an unenforced draw, and raising the percentage only adds
/// origins. Requests without an Origin are not part of any page's CORS and cannot be broken
/// by it: they are always enforced during a partial rollout, so every response the policy
/// answers carries its `Vary` (and an any-origin policy's `*`) whatever a cache stores.
pub(crate) fn enforced(percent: u8, key: &str, origin: Option<&str>) -> bool {
    match (percent, origin) {
        (0, _) => false,
        (p, _) if p >= 100 => true,
        (_, None) => true,
        (p, Some(origin)) => bucket(key, origin) < p,
    }
}

/// Why the gateway itself refused an actual request from a rejected origin
/// (`reject_disallowed`, opt-in per policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Blocked {
    /// A method other than GET, HEAD, OPTIONS.
    UnsafeMethod,
    /// A WebSocket upgrade.
    WebSocket,
}

/// `reject_disallowed`: does the policy refuse this request from a rejected origin? Returns
/// the kind and, for an unsafe method, the method (for the log). Only read when the policy
/// opted in, so the default costs no header read.
pub(crate) fn blocked(reject: RejectDisallowed, req: &impl RequestHeaders) -> Option<(Blocked, Option<String>)> {
    if reject.websocket {
        // RFC 6455 §4.1: `Upgrade: websocket` (Envoy presents HTTP/2 extended CONNECT
        // (RFC 8441) to filters in this HTTP/1 form too).
        let upgrade = req.get(headers::UPGRADE);
        if upgrade.is_some_and(|u| u.split(',').any(|t| t.trim().eq_ignore_ascii_case("websocket"))) {
            return Some((Blocked::WebSocket, None));
        }
    }
    if reject.unsafe_methods {
        let method = req.get(headers::METHOD);
        if !matches!(method.as_deref(), Some("GET" | "HEAD" | "OPTIONS")) {
            return Some((Blocked::UnsafeMethod, method));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn buckets_are_pinned_so_every_release_and_every_envoy_agrees() {
        // Changing the hash moves origins between enforced and not in a running rollout: these
        // values may only change together with a note in CHANGELOG.md and docs/operations.md.
        // The values were computed by an independent implementation (Python, from the FNV and
        // splitmix64 definitions), not read back from this one.
        let pinned = [
            ("app", "https://app.example.com", 73),
            ("app", "https://evil.example.net", 24),
            ("rollout", "https://app.example.com", 32),
            ("app", "", 86),
        ];
        for (key, origin, want) in pinned {
            assert_eq!(bucket(key, origin), want, "{key} {origin}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn zero_percent_never_enforces_and_one_hundred_always_does() {
        for origin in [None, Some("https://a.example.com")] {
            assert!(!enforced(0, "p", origin));
            assert!(enforced(100, "p", origin));
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn requests_without_an_origin_are_always_enforced_in_a_partial_rollout() {
        for percent in [1, 50, 99] {
            assert!(enforced(percent, "p", None));
        }
    }

    fn origins(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("https://site{i}.example.net")).collect()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_origin_is_enforced_exactly_when_its_bucket_is_below_the_percentage() {
        for origin in origins(200) {
            let b = bucket("p", &origin);
            assert!(b < 100);
            for percent in 1..100 {
                assert_eq!(
                    enforced(percent, "p", Some(&origin)),
                    b < percent,
                    "{origin} at {percent}%"
                );
            }
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn half_of_a_thousand_origins_are_enforced_at_fifty_percent_within_five_standard_deviations() {
        // Binomial(1000, 0.5): standard deviation 15.8; +-79 is 5 of them.
        let all = origins(1000);
        let enforced_count = all.iter().filter(|o| enforced(50, "app", Some(o))).count();
        assert!((421..=579).contains(&enforced_count), "{enforced_count}");
        // Every bucket is used and none is crowded: 10 expected per bucket.
        let mut per_bucket = [0u32; 100];
        for o in &all {
            per_bucket[usize::from(bucket("app", o))] += 1;
        }
        assert!(per_bucket.iter().all(|&n| (1..=30).contains(&n)), "{per_bucket:?}");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn raising_the_percentage_only_adds_origins_and_each_policy_splits_independently() {
        let all = origins(1000);
        for o in &all {
            if enforced(30, "app", Some(o)) {
                assert!(enforced(60, "app", Some(o)), "{o}");
            }
        }
        // Under another policy name, about half of app's enforced origins are enforced (the
        // same names would give all of them).
        let app: Vec<&String> = all.iter().filter(|o| enforced(50, "app", Some(o))).collect();
        let both = app.iter().filter(|o| enforced(50, "admin", Some(o))).count();
        assert!(
            both * 100 / app.len() > 35 && both * 100 / app.len() < 65,
            "{both} of {}",
            app.len()
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn only_the_first_1024_bytes_of_an_origin_are_hashed() {
        let long = "x".repeat(MAX_HASHED);
        assert_eq!(bucket("p", &long), bucket("p", &format!("{long}tail")));
        assert_ne!(
            (0..20).map(|i| bucket("p", &format!("{i}{long}"))).collect::<Vec<_>>(),
            vec![bucket("p", &long); 20]
        );
    }
}
