//! Report-only mode and percentage rollout: which requests a policy enforces.
//!
//! A policy in report-only mode (or a request not drawn for enforcement) is evaluated, counted
//! and logged exactly like an enforced one, but the filter changes neither the request nor the
//! response: preflights reach the upstream, the upstream's own CORS headers stay. That is how a
//! team moves CORS from its services to the gateway without breaking a page.

use serde_json::Value;

use super::error::ConfigErrors;

/// How a policy treats the requests it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Decide and apply (subject to `enforce_percent`).
    #[default]
    Enforce,
    /// Decide, count and log; change nothing.
    ReportOnly,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::ReportOnly => "report_only",
        }
    }

    /// Parse a `mode` field; unknown values are recorded as errors at `path`.
    pub fn parse(path: &str, value: Option<&Value>, errors: &mut ConfigErrors) -> Option<Mode> {
        match value? {
            Value::String(s) if s == "enforce" => Some(Mode::Enforce),
            Value::String(s) if s == "report_only" => Some(Mode::ReportOnly),
            other => {
                errors.push(path, Some(other), "must be \"enforce\" or \"report_only\"");
                None
            }
        }
    }
}

/// Parse `enforce_percent`: a whole number from 0 to 100.
pub fn parse_percent(path: &str, value: Option<&Value>, errors: &mut ConfigErrors) -> Option<u8> {
    let v = value?;
    match v.as_u64() {
        Some(n) if n <= 100 => u8::try_from(n).ok(),
        _ => {
            errors.push(path, Some(v), "must be a whole number from 0 to 100");
            None
        }
    }
}

/// Is this request enforced? `percent` is the policy's effective share (0 in report-only
/// mode). `draw` is only called for a partial rollout, so the common 0 and 100 cases cost
/// no random number (a host call in Envoy).
pub fn enforced(percent: u8, draw: impl FnOnce() -> u32) -> bool {
    match percent {
        0 => false,
        p if p >= 100 => true,
        // 2^32 is not a multiple of 100: the bias is below 1e-7, far under any rollout's
        // precision.
        p => draw() % 100 < u32::from(p),
    }
}

/// `reject_disallowed`: the gateway refuses some requests from untrusted origins itself
/// instead of leaving the browser to hide the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RejectDisallowed {
    /// 403 for methods other than GET, HEAD and OPTIONS (the request would change state before
    /// the browser hides the answer: a CSRF defence, as OWASP recommends).
    pub unsafe_methods: bool,
    /// 403 for WebSocket upgrades (browsers apply no CORS to WebSocket: cross-site WebSocket
    /// hijacking).
    pub websocket: bool,
}

impl RejectDisallowed {
    pub fn any(self) -> bool {
        self.unsafe_methods || self.websocket
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_percent_never_enforces_and_never_draws() {
        assert!(!enforced(0, || unreachable!("no draw for 0%")));
    }

    #[test]
    fn one_hundred_percent_always_enforces_and_never_draws() {
        assert!(enforced(100, || unreachable!("no draw for 100%")));
    }

    #[test]
    fn a_partial_rollout_enforces_draws_below_the_percentage() {
        assert!(enforced(30, || 29));
        assert!(!enforced(30, || 30));
        assert!(enforced(30, || 100 + 29));
        assert!(!enforced(30, || u32::MAX)); // 4294967295 % 100 = 95
        let share = (0..10_000u32).filter(|&i| enforced(25, || i)).count();
        assert_eq!(share, 2_500);
    }
}
