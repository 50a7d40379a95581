//! The debug aid: `x-edge-cors-decision` on the response, explaining the decision, but only
//! for requests that carry the configured secret token header. Without the token nothing is
//! revealed (the header would tell an attacker which origins and methods a policy trusts).

use crate::config::settings::DecisionHeader;
use crate::rules::decide::{Outcome, Reason};

use super::metrics::outcome_name;
use super::rollout::Blocked;

/// The response header carrying the explanation.
pub(crate) const DECISION_HEADER: &str = "x-edge-cors-decision";

/// `Cache-Control` of responses carrying the decision header (RFC 9111 §5.2.2.5: no cache,
/// shared or private, stores them).
pub(crate) const NO_STORE: &str = "no-store";

/// Does the request's header value carry the token? Compared in constant time, so the
/// response time does not reveal how much of a guess was right.
pub(crate) fn token_matches(settings: &DecisionHeader, presented: &str) -> bool {
    let (a, b) = (presented.as_bytes(), settings.token.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the explanation says of a decision.
pub(crate) struct Explained<'a> {
    /// The policy's name; `None`: no policy matched.
    pub(crate) policy: Option<&'a str>,
    pub(crate) outcome: Outcome,
    pub(crate) reason: Option<Reason>,
    pub(crate) blocked: Option<Blocked>,
    pub(crate) enforced: bool,
    pub(crate) enforce_percent: u8,
}

/// The explanation, e.g. `policy=app; outcome=preflight_rejected; reason=method; mode=enforce`.
pub(crate) fn explain(d: &Explained<'_>) -> String {
    let mut out = String::with_capacity(96);
    let outcome = outcome_name(d.outcome, d.blocked);
    match d.policy {
        None => out.push_str("policy=-; outcome=no_policy"),
        Some(name) => {
            out.push_str("policy=");
            out.push_str(name);
            out.push_str("; outcome=");
            out.push_str(outcome);
            if let Some(reason) = d.reason {
                out.push_str("; reason=");
                out.push_str(reason.as_str());
            }
            out.push_str("; mode=");
            out.push_str(if d.enforced { "enforce" } else { "report_only" });
            if d.enforce_percent < 100 && d.enforce_percent > 0 {
                out.push_str("; enforce_percent=");
                out.push_str(&d.enforce_percent.to_string());
            }
        }
    }
    out
}
