//! Metric names and the counter slot of each decision.
//!
//! Every counter is defined once per policy at configuration time; a request then costs one
//! increment of a precomputed id: `slot()` is a table lookup, nothing is formatted or
//! allocated per request. The origin never appears in a name (unbounded cardinality).
//!
//! Names: `edge_cors.<policy>.<slot>` for enforced requests and
//! `edge_cors.<policy>.report_only.<slot>` for requests evaluated in report-only mode (by
//! `mode` or by the `enforce_percent` draw), plus `edge_cors.no_policy`. Envoy 1.40 puts wasm
//! metrics in its `wasmcustom` namespace: `/stats` shows `wasmcustom.edge_cors.app.not_cors`,
//! `/stats/prometheus` strips the namespace (`edge_cors_app_not_cors`, no `envoy_` prefix), and
//! bootstrap `stats_tags` regexes can turn policy, mode and reason into labels (docs/operations.md, "Metrics").

use crate::rules::decide::{Outcome, Reason};

use super::rollout::Blocked;

/// The per-policy counters, in slot order.
pub(crate) const SLOT_NAMES: [&str; SLOTS] = [
    "not_cors",
    "preflight_allowed",
    "preflight_rejected.origin",
    "preflight_rejected.method",
    "preflight_rejected.headers",
    "preflight_rejected.malformed",
    "actual_allowed",
    "actual_rejected.origin",
    "actual_rejected.malformed",
    "blocked.unsafe_method",
    "blocked.websocket",
    "upstream_cors_replaced",
];

/// Counters per policy and mode.
pub(crate) const SLOTS: usize = 12;
/// The slot counted on the response when the upstream had set `Access-Control-Allow-Origin`
/// itself (in report-only mode: the upstream's headers a switch to enforcement would replace).
pub(crate) const UPSTREAM_CORS_SLOT: usize = 11;
/// Counters per policy: every slot, once enforced and once report-only.
pub(crate) const COUNTERS_PER_POLICY: usize = 2 * SLOTS;
/// Requests that no policy's `match` fits.
pub(crate) const NO_POLICY_METRIC: &str = "edge_cors.no_policy";

/// Outcome names as they appear in slot names, logs and the decision header.
pub(crate) fn outcome_name(outcome: Outcome, blocked: Option<Blocked>) -> &'static str {
    match (outcome, blocked) {
        (_, Some(Blocked::UnsafeMethod)) => "blocked_unsafe_method",
        (_, Some(Blocked::WebSocket)) => "blocked_websocket",
        (Outcome::NoPolicy, None) => "no_policy",
        (Outcome::NotCors, None) => "not_cors",
        (Outcome::PreflightAllowed, None) => "preflight_allowed",
        (Outcome::PreflightRejected(_), None) => "preflight_rejected",
        (Outcome::ActualAllowed, None) => "actual_allowed",
        (Outcome::ActualRejected(_), None) => "actual_rejected",
    }
}

/// The slot (0..SLOTS) of a decision's outcome; `None` when no policy applied.
pub(crate) fn outcome_slot(outcome: Outcome, blocked: Option<Blocked>) -> Option<usize> {
    Some(match (outcome, blocked) {
        (Outcome::NoPolicy, _) => return None,
        (_, Some(Blocked::UnsafeMethod)) => 9,
        (_, Some(Blocked::WebSocket)) => 10,
        (Outcome::NotCors, None) => 0,
        (Outcome::PreflightAllowed, None) => 1,
        (Outcome::PreflightRejected(Reason::Origin), None) => 2,
        (Outcome::PreflightRejected(Reason::Method), None) => 3,
        (Outcome::PreflightRejected(Reason::Headers), None) => 4,
        (Outcome::PreflightRejected(Reason::Malformed), None) => 5,
        (Outcome::ActualAllowed, None) => 6,
        // An actual request is only ever refused for its origin; method and headers are
        // preflight reasons.
        (Outcome::ActualRejected(Reason::Malformed), None) => 8,
        (Outcome::ActualRejected(_), None) => 7,
    })
}

/// Offset of a counter in a policy's block of `COUNTERS_PER_POLICY`.
pub(crate) fn counter_offset(slot: usize, enforced: bool) -> usize {
    if enforced {
        slot
    } else {
        SLOTS + slot
    }
}

/// Index of a counter in a flat table of `COUNTERS_PER_POLICY` ids per policy (in
/// configuration order): the policy's block, then the slot, enforced or report-only.
pub(crate) fn counter_index(policy: usize, slot: usize, enforced: bool) -> usize {
    policy * COUNTERS_PER_POLICY + counter_offset(slot, enforced)
}

/// Every metric name of a policy, in counter-index order (for `define_metric` at start).
pub(crate) fn policy_metric_names(policy: &str) -> Vec<String> {
    let enforced = SLOT_NAMES.iter().map(|s| format!("edge_cors.{policy}.{s}"));
    let report_only = SLOT_NAMES.iter().map(|s| format!("edge_cors.{policy}.report_only.{s}"));
    enforced.chain(report_only).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_outcome_has_its_own_slot_and_slot_names_line_up() {
        let all = [
            (Outcome::NotCors, None, "not_cors"),
            (Outcome::PreflightAllowed, None, "preflight_allowed"),
            (
                Outcome::PreflightRejected(Reason::Origin),
                None,
                "preflight_rejected.origin",
            ),
            (
                Outcome::PreflightRejected(Reason::Method),
                None,
                "preflight_rejected.method",
            ),
            (
                Outcome::PreflightRejected(Reason::Headers),
                None,
                "preflight_rejected.headers",
            ),
            (
                Outcome::PreflightRejected(Reason::Malformed),
                None,
                "preflight_rejected.malformed",
            ),
            (Outcome::ActualAllowed, None, "actual_allowed"),
            (Outcome::ActualRejected(Reason::Origin), None, "actual_rejected.origin"),
            (
                Outcome::ActualRejected(Reason::Malformed),
                None,
                "actual_rejected.malformed",
            ),
            (
                Outcome::ActualRejected(Reason::Origin),
                Some(Blocked::UnsafeMethod),
                "blocked.unsafe_method",
            ),
            (
                Outcome::ActualRejected(Reason::Malformed),
                Some(Blocked::WebSocket),
                "blocked.websocket",
            ),
        ];
        for (outcome, blocked, name) in all {
            let slot = outcome_slot(outcome, blocked).unwrap();
            assert_eq!(SLOT_NAMES[slot], name);
        }
        assert_eq!(SLOT_NAMES[UPSTREAM_CORS_SLOT], "upstream_cors_replaced");
        assert_eq!(outcome_slot(Outcome::NoPolicy, None), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn metric_names_are_enforced_then_report_only() {
        let names = policy_metric_names("app");
        assert_eq!(names.len(), COUNTERS_PER_POLICY);
        assert_eq!(
            names[counter_offset(2, true)],
            "edge_cors.app.preflight_rejected.origin"
        );
        assert_eq!(
            names[counter_offset(2, false)],
            "edge_cors.app.report_only.preflight_rejected.origin"
        );
    }
}
