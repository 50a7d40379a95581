//! The metrics: a few families, each a name and fixed label names, and the counter each
//! decision increments.
//!
//! Hosts define one metric per family and label values (`RootHost::define_counter` takes the
//! family's name and the label pairs) and render it their way: a host whose metrics carry real
//! labels uses them; the proxy-wasm host, whose metrics are plain names, writes the labels into
//! the name in the form Envoy's tag rules and Istio's `extraStatTags` turn back into labels
//! ([`tagged_name`]). Label values are the policy name (configuration-checked: 1 to 64 of
//! `A-Z a-z 0-9 _ -`), the config identity (hex digits and the checked `version`), and the
//! constants of this file, so no value can hold the `=.=` or `;.;` that delimit a label in a
//! name, and since the policy is a label of its own, no policy name can be read as a mode, an
//! outcome or another family.
//!
//! Every counter is defined once per policy at configuration time; a request then costs one
//! increment of a precomputed id (a credentialed request one more): the slot is a table lookup,
//! nothing is formatted or allocated per request. The origin never appears in a label
//! (unbounded cardinality).

use crate::rules::decide::{Outcome, Reason};

use super::rollout::Blocked;

/// Whether a family counts or holds a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only ever grows.
    Counter,
    /// Goes up and down.
    Gauge,
}

/// A metric family: a name and the names of its labels, in the order hosts render them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The name Prometheus shows (`_total` for counters, as its conventions ask).
    pub name: &'static str,
    /// Counter or gauge.
    pub metric_type: MetricType,
    /// The label names.
    pub labels: &'static [&'static str],
}

/// Label: the policy's name.
pub const POLICY: &str = "edge_cors_policy";
/// Label: `enforce` or `report_only` (report-only by `mode` or by the `enforce_percent` draw).
pub const MODE: &str = "edge_cors_mode";
/// Label: `not_cors` (no Origin), `preflight`, `actual`.
pub const KIND: &str = "edge_cors_kind";
/// Label: `allowed`, `rejected`, `blocked` (refused by `reject_disallowed`), `none` (not CORS);
/// for credentialed requests `allowed`, `rejected`, `credentials_not_allowed`.
pub const OUTCOME: &str = "edge_cors_outcome";
/// Label: `origin`, `method`, `headers`, `malformed`, `unsafe_method`, `websocket`, `none`.
pub const REASON: &str = "edge_cors_reason";
/// Label: the SHA-256 of the configuration, 64 hex digits.
pub const CONFIG_SHA256: &str = "edge_cors_config_sha256";
/// Label: the configuration's `version` (absent when it has none).
pub const CONFIG_VERSION: &str = "edge_cors_config_version";

/// Every request a policy decided, by mode, kind, outcome and reason.
pub const REQUESTS: Family = Family {
    name: "edge_cors_requests_total",
    metric_type: MetricType::Counter,
    labels: &[POLICY, MODE, KIND, OUTCOME, REASON],
};
/// Actual CORS requests that carried a `Cookie` (the browser sends cookies cross-origin only
/// in credentials mode `include`): `allowed`, `rejected` (untrusted origin, or blocked), or
/// `credentials_not_allowed` (a trusted origin, but the policy does not set
/// `allow_credentials`: the browser refuses the response).
pub const CREDENTIALED_REQUESTS: Family = Family {
    name: "edge_cors_credentialed_requests_total",
    metric_type: MetricType::Counter,
    labels: &[POLICY, MODE, OUTCOME],
};
/// Responses to actual CORS requests on which the upstream had set `Access-Control-Allow-Origin`
/// itself (enforced: edge-cors replaced it; report-only: enforcing would).
pub const UPSTREAM_CORS_REPLACED: Family = Family {
    name: "edge_cors_upstream_cors_replaced_total",
    metric_type: MetricType::Counter,
    labels: &[POLICY, MODE],
};
/// Requests no policy's `match` fits.
pub const UNMATCHED_REQUESTS: Family = Family {
    name: "edge_cors_unmatched_requests_total",
    metric_type: MetricType::Counter,
    labels: &[],
};
/// The configurations a proxy loaded: one gauge per identity (SHA-256 and `version`), holding
/// the time it was last loaded, in milliseconds since the epoch (seconds would tie two loads
/// within a second); the one with the latest time is the one served.
pub const CONFIG_LOADED: Family = Family {
    name: "edge_cors_config_loaded_timestamp_milliseconds",
    metric_type: MetricType::Gauge,
    labels: &[CONFIG_SHA256, CONFIG_VERSION],
};
/// The wasm VM's linear memory in bytes (a high-water mark: wasm memory never shrinks).
pub const VM_MEMORY_BYTES: Family = Family {
    name: "edge_cors_vm_memory_bytes",
    metric_type: MetricType::Gauge,
    labels: &[],
};

/// The updates of a policy's registry source (`allow_origins_from`): outcome `applied`,
/// `unchanged` (a 304, or the same list) or `failed`, with the failure's reason (`none`
/// otherwise). Counted by the one worker per Envoy that fetched, so each update counts once.
pub const REGISTRY_UPDATES: Family = Family {
    name: "edge_cors_registry_updates_total",
    metric_type: MetricType::Counter,
    labels: &[POLICY, OUTCOME, REASON],
};
/// The origins of the list a registry source serves.
pub const REGISTRY_ENTRIES: Family = Family {
    name: "edge_cors_registry_entries",
    metric_type: MetricType::Gauge,
    labels: &[POLICY],
};
/// Seconds since the registry last confirmed the serving list (a 200 or a 304).
pub const REGISTRY_AGE_SECONDS: Family = Family {
    name: "edge_cors_registry_age_seconds",
    metric_type: MetricType::Gauge,
    labels: &[POLICY],
};
/// The serving list's version as a number (the version itself when it is a whole number,
/// otherwise a 32-bit hash of it, equal on every Envoy serving it).
pub const REGISTRY_VERSION: Family = Family {
    name: "edge_cors_registry_version",
    metric_type: MetricType::Gauge,
    labels: &[POLICY],
};
/// 1 while a fetched list serves, 0 before the first load or when it is too stale.
pub const REGISTRY_LOADED: Family = Family {
    name: "edge_cors_registry_loaded",
    metric_type: MetricType::Gauge,
    labels: &[POLICY],
};

/// Every family, for documentation and for the list of tag rules a deployment needs.
pub const FAMILIES: [Family; 11] = [
    REQUESTS,
    CREDENTIALED_REQUESTS,
    UPSTREAM_CORS_REPLACED,
    UNMATCHED_REQUESTS,
    CONFIG_LOADED,
    VM_MEMORY_BYTES,
    REGISTRY_UPDATES,
    REGISTRY_ENTRIES,
    REGISTRY_AGE_SECONDS,
    REGISTRY_VERSION,
    REGISTRY_LOADED,
];

/// Every label name, each once: the tags to extract (Istio's `extraStatTags`).
pub const LABELS: [&str; 7] = [POLICY, MODE, KIND, OUTCOME, REASON, CONFIG_SHA256, CONFIG_VERSION];

/// The name a host without real labels gives a metric: each label as `name=.=value;.;`, then
/// the family name, e.g. `edge_cors_policy=.=app;.;edge_cors_mode=.=enforce;.;...;.;
/// edge_cors_requests_total`. This is the form of Istio's own metrics: its bootstrap turns every
/// tag listed in `meshConfig.defaultConfig.extraStatTags` into a rule with the regex
/// `(TAG=\.=(.*?);\.;)`, and a plain Envoy bootstrap carries the same rules; Envoy removes each
/// match from the name, so Prometheus sees `edge_cors_requests_total{edge_cors_policy="app",...}`.
/// Labels with an empty value are left out.
pub fn tagged_name(family: &str, labels: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(family.len() + labels.iter().map(|(n, v)| n.len() + v.len() + 6).sum::<usize>());
    for (name, value) in labels.iter().filter(|(_, v)| !v.is_empty()) {
        out.push_str(name);
        out.push_str("=.=");
        out.push_str(value);
        out.push_str(";.;");
    }
    out.push_str(family);
    out
}

/// One decision counter: the labels besides policy and mode, and the access-log details of
/// the local reply the decision sends (`None`: the request is forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecisionSlot {
    pub(crate) kind: &'static str,
    pub(crate) outcome: &'static str,
    pub(crate) reason: &'static str,
    pub(crate) details: Option<&'static str>,
}

const fn slot(
    kind: &'static str,
    outcome: &'static str,
    reason: &'static str,
    details: Option<&'static str>,
) -> DecisionSlot {
    DecisionSlot {
        kind,
        outcome,
        reason,
        details,
    }
}

/// The decision counters of a policy and mode, in slot order.
pub(crate) const DECISION_SLOTS: [DecisionSlot; 11] = [
    slot("not_cors", "none", "none", None),
    slot("preflight", "allowed", "none", Some("edge_cors.preflight_allowed")),
    slot(
        "preflight",
        "rejected",
        "origin",
        Some("edge_cors.preflight_rejected.origin"),
    ),
    slot(
        "preflight",
        "rejected",
        "method",
        Some("edge_cors.preflight_rejected.method"),
    ),
    slot(
        "preflight",
        "rejected",
        "headers",
        Some("edge_cors.preflight_rejected.headers"),
    ),
    slot(
        "preflight",
        "rejected",
        "malformed",
        Some("edge_cors.preflight_rejected.malformed"),
    ),
    slot("actual", "allowed", "none", None),
    slot("actual", "rejected", "origin", None),
    slot("actual", "rejected", "malformed", None),
    slot(
        "actual",
        "blocked",
        "unsafe_method",
        Some("edge_cors.actual_blocked.unsafe_method"),
    ),
    slot(
        "actual",
        "blocked",
        "websocket",
        Some("edge_cors.actual_blocked.websocket"),
    ),
];

/// The `edge_cors_outcome` values of credentialed requests, in slot order.
pub(crate) const CREDENTIALED_OUTCOMES: [&str; 3] = ["allowed", "rejected", "credentials_not_allowed"];

/// Slots per policy and mode: the decision slots, then the credentialed outcomes, then
/// `upstream_cors_replaced`.
pub(crate) const SLOTS: usize = DECISION_SLOTS.len() + CREDENTIALED_OUTCOMES.len() + 1;
/// The first credentialed slot.
const CREDENTIALED_SLOT: usize = DECISION_SLOTS.len();
/// The slot counted on the response when the upstream had set `Access-Control-Allow-Origin`.
pub(crate) const UPSTREAM_CORS_SLOT: usize = SLOTS - 1;
/// Counters per policy: every slot, once enforced and once report-only.
pub(crate) const COUNTERS_PER_POLICY: usize = 2 * SLOTS;

/// Outcome names as logs and the decision header write them.
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

/// The decision slot (index into [`DECISION_SLOTS`]) of an outcome; `None` when no policy
/// applied.
pub(crate) fn decision_slot(outcome: Outcome, blocked: Option<Blocked>) -> Option<usize> {
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

/// The credentialed slot of an actual request that carried credentials: `allowed` only when
/// the browser will accept the answer, which takes `Access-Control-Allow-Credentials: true`
/// (Fetch §4.9 "CORS check", step 7) as well as a trusted origin.
pub(crate) fn credentialed_slot(outcome: Outcome, blocked: Option<Blocked>, policy_credentials: bool) -> Option<usize> {
    let index = match (outcome, blocked) {
        (Outcome::ActualAllowed, None) if policy_credentials => 0,
        (Outcome::ActualAllowed, None) => 2,
        (Outcome::ActualRejected(_), _) | (Outcome::ActualAllowed, Some(_)) => 1,
        _ => return None,
    };
    Some(CREDENTIALED_SLOT + index)
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

fn mode_name(enforced: bool) -> &'static str {
    if enforced {
        "enforce"
    } else {
        "report_only"
    }
}

/// The labels of one counter: up to five `(name, value)` pairs, `len` of them used.
pub(crate) struct Labels<'a> {
    pairs: [(&'static str, &'a str); 5],
    len: usize,
}

impl<'a> Labels<'a> {
    /// The pairs in use.
    pub(crate) fn pairs(&self) -> &[(&'static str, &'a str)] {
        self.pairs.get(..self.len).unwrap_or_default()
    }
}

/// The family and labels of counter `offset` of a policy's block.
pub(crate) fn counter_at(policy: &str, offset: usize) -> Option<(&'static Family, Labels<'_>)> {
    if offset >= COUNTERS_PER_POLICY {
        return None;
    }
    let slot = offset % SLOTS;
    let head = [(POLICY, policy), (MODE, mode_name(offset < SLOTS))];
    let none = ("", "");
    Some(match DECISION_SLOTS.get(slot) {
        Some(d) => (
            &REQUESTS,
            Labels {
                pairs: [
                    head[0],
                    head[1],
                    (KIND, d.kind),
                    (OUTCOME, d.outcome),
                    (REASON, d.reason),
                ],
                len: 5,
            },
        ),
        None => match CREDENTIALED_OUTCOMES.get(slot - CREDENTIALED_SLOT) {
            Some(outcome) => (
                &CREDENTIALED_REQUESTS,
                Labels {
                    pairs: [head[0], head[1], (OUTCOME, outcome), none, none],
                    len: 3,
                },
            ),
            None => (
                &UPSTREAM_CORS_REPLACED,
                Labels {
                    pairs: [head[0], head[1], none, none, none],
                    len: 2,
                },
            ),
        },
    })
}

/// The text a decision leaves for access logs and tracing (the host's filter state): its
/// counter's labels, `policy=app; mode=enforce; kind=preflight; outcome=rejected; reason=origin`.
/// Built once per policy and slot at configuration.
pub(crate) fn decision_text(policy: &str, slot: usize, enforced: bool) -> Option<String> {
    let d = DECISION_SLOTS.get(slot)?;
    let parts = [
        "policy=",
        policy,
        "; mode=",
        mode_name(enforced),
        "; kind=",
        d.kind,
        "; outcome=",
        d.outcome,
        "; reason=",
        d.reason,
    ];
    Some(parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_of(offset: usize) -> String {
        let (family, labels) = counter_at("app", offset).unwrap();
        let values: Vec<&str> = labels.pairs().iter().skip(1).map(|(_, v)| *v).collect();
        format!("{} {}", family.name, values.join(" "))
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_outcome_has_its_own_slot_and_the_slot_labels_line_up() {
        let all = [
            (Outcome::NotCors, None, "not_cors none none"),
            (Outcome::PreflightAllowed, None, "preflight allowed none"),
            (
                Outcome::PreflightRejected(Reason::Origin),
                None,
                "preflight rejected origin",
            ),
            (
                Outcome::PreflightRejected(Reason::Method),
                None,
                "preflight rejected method",
            ),
            (
                Outcome::PreflightRejected(Reason::Headers),
                None,
                "preflight rejected headers",
            ),
            (
                Outcome::PreflightRejected(Reason::Malformed),
                None,
                "preflight rejected malformed",
            ),
            (Outcome::ActualAllowed, None, "actual allowed none"),
            (Outcome::ActualRejected(Reason::Origin), None, "actual rejected origin"),
            (
                Outcome::ActualRejected(Reason::Malformed),
                None,
                "actual rejected malformed",
            ),
            (
                Outcome::ActualRejected(Reason::Origin),
                Some(Blocked::UnsafeMethod),
                "actual blocked unsafe_method",
            ),
            (
                Outcome::ActualRejected(Reason::Malformed),
                Some(Blocked::WebSocket),
                "actual blocked websocket",
            ),
        ];
        let mut seen = Vec::new();
        for (outcome, blocked, labels) in all {
            let slot = decision_slot(outcome, blocked).unwrap();
            assert_eq!(labels_of(slot), format!("edge_cors_requests_total enforce {labels}"));
            assert!(!seen.contains(&slot));
            seen.push(slot);
        }
        assert_eq!(seen.len(), DECISION_SLOTS.len());
        assert_eq!(decision_slot(Outcome::NoPolicy, None), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_policy_block_is_the_enforced_slots_then_the_report_only_ones() {
        assert_eq!(COUNTERS_PER_POLICY, 30);
        assert_eq!(
            labels_of(counter_offset(2, false)),
            "edge_cors_requests_total report_only preflight rejected origin"
        );
        let credentialed = credentialed_slot(Outcome::ActualAllowed, None, false).unwrap();
        assert_eq!(
            labels_of(counter_offset(credentialed, true)),
            "edge_cors_credentialed_requests_total enforce credentials_not_allowed"
        );
        assert_eq!(
            labels_of(counter_offset(UPSTREAM_CORS_SLOT, false)),
            "edge_cors_upstream_cors_replaced_total report_only"
        );
        assert!(counter_at("app", COUNTERS_PER_POLICY).is_none());
        assert_eq!(counter_index(2, 3, false), 2 * 30 + 15 + 3);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn credentialed_requests_are_allowed_only_by_a_trusted_origin_under_a_credentials_policy() {
        let allowed = |o, b, c| credentialed_slot(o, b, c).map(|s| CREDENTIALED_OUTCOMES[s - CREDENTIALED_SLOT]);
        assert_eq!(allowed(Outcome::ActualAllowed, None, true), Some("allowed"));
        assert_eq!(
            allowed(Outcome::ActualAllowed, None, false),
            Some("credentials_not_allowed")
        );
        assert_eq!(
            allowed(Outcome::ActualRejected(Reason::Origin), None, true),
            Some("rejected")
        );
        assert_eq!(
            allowed(
                Outcome::ActualRejected(Reason::Malformed),
                Some(Blocked::UnsafeMethod),
                true
            ),
            Some("rejected")
        );
        assert_eq!(allowed(Outcome::PreflightAllowed, None, true), None);
        assert_eq!(allowed(Outcome::NotCors, None, true), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_carry_each_label_in_the_form_istio_tag_rules_extract() {
        assert_eq!(
            tagged_name("edge_cors_requests_total", &[(POLICY, "app"), (MODE, "enforce")]),
            "edge_cors_policy=.=app;.;edge_cors_mode=.=enforce;.;edge_cors_requests_total"
        );
        assert_eq!(
            tagged_name("edge_cors_unmatched_requests_total", &[]),
            "edge_cors_unmatched_requests_total"
        );
        assert_eq!(
            tagged_name("edge_cors_config_info", &[(CONFIG_SHA256, "ab"), (CONFIG_VERSION, "")]),
            "edge_cors_config_sha256=.=ab;.;edge_cors_config_info"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_family_label_is_in_the_list_of_tags_to_extract() {
        for family in FAMILIES {
            for label in family.labels {
                assert!(LABELS.contains(label), "{label}");
            }
        }
        assert_eq!(
            decision_text("app", 2, true).unwrap(),
            "policy=app; mode=enforce; kind=preflight; outcome=rejected; reason=origin"
        );
    }
}
