//! The debug aid: `x-edge-cors-decision` on the response, explaining the decision, but only
//! for requests that carry the configured secret token header. Without the token nothing is
//! revealed (the header would tell an attacker which origins and methods a policy trusts).

use serde_json::Value;

use super::config::Fields;
use super::decide::Decision;
use super::error::ConfigErrors;
use super::metrics::outcome_name;
use super::token::is_token;

/// The response header carrying the explanation.
pub const DECISION_HEADER: &str = "x-edge-cors-decision";
/// A token shorter than this is guessable.
pub const MIN_TOKEN_LEN: usize = 16;
const MAX_TOKEN_LEN: usize = 256;

/// `decision_header`: which request header carries the token, and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionHeader {
    /// Lower-case request header name.
    pub token_header: String,
    pub token: String,
}

impl DecisionHeader {
    /// Read and validate the `decision_header` object at `path`.
    pub fn read(v: &Value, path: &str, errors: &mut ConfigErrors) -> Option<DecisionHeader> {
        let mut f = Fields::new(v, path, errors)?;
        let header = f.string("token_header", true);
        let token = f.string("token", true);
        let header_path = f.child("token_header");
        let token_path = f.child("token");
        f.finish();
        let mut ok = true;
        if let Some(h) = &header {
            let lower = h.to_ascii_lowercase();
            if !is_token(h) || lower != *h {
                errors.push_str(&header_path, h, "must be a lower-case header name");
                ok = false;
            } else if !lower.starts_with("x-") {
                errors.push_str(
                    &header_path,
                    h,
                    "use a private `x-` header, so no standard header ever carries the token",
                );
                ok = false;
            }
        }
        if let Some(t) = &token {
            let visible = t.bytes().all(|b| b.is_ascii_graphic());
            if t.len() < MIN_TOKEN_LEN || t.len() > MAX_TOKEN_LEN || !visible {
                // The value is a secret: never echo it in an error.
                errors.push(
                    &token_path,
                    None,
                    format!("must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} visible ASCII characters (it is a secret)"),
                );
                ok = false;
            }
        }
        match (header, token) {
            (Some(token_header), Some(token)) if ok => Some(DecisionHeader { token_header, token }),
            _ => None,
        }
    }

    /// Does the request's header value carry the token? Compared in constant time, so the
    /// response time does not reveal how much of a guess was right.
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (presented.as_bytes(), self.token.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The explanation, e.g. `policy=app; outcome=preflight_rejected; reason=method; mode=enforce`.
pub fn explain(decision: &Decision) -> String {
    let mut out = String::with_capacity(96);
    let outcome = outcome_name(decision.outcome, decision.blocked);
    match &decision.policy {
        None => out.push_str("policy=-; outcome=no_policy"),
        Some(p) => {
            out.push_str("policy=");
            out.push_str(&p.name);
            out.push_str("; outcome=");
            out.push_str(outcome);
            if let Some(reason) = decision.reason() {
                out.push_str("; reason=");
                out.push_str(reason.as_str());
            }
            out.push_str("; mode=");
            out.push_str(if decision.enforced { "enforce" } else { "report_only" });
            if p.enforce_percent() < 100 && p.enforce_percent() > 0 {
                out.push_str("; enforce_percent=");
                out.push_str(&p.enforce_percent().to_string());
            }
        }
    }
    out
}
