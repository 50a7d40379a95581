//! The operations settings as configured: report-only mode, the rollout share, which requests
//! from rejected origins the gateway refuses itself, and the debug header. Plain data, built
//! by the configuration's compile step; what they do to a request is the operations layer's (`ops`).

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
    /// The name in the configuration, metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::ReportOnly => "report_only",
        }
    }
}

/// `reject_disallowed`: the gateway refuses some requests from untrusted origins itself
/// instead of leaving the browser to hide the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RejectDisallowed {
    /// 403 for methods other than GET, HEAD and OPTIONS (the request would change state before
    /// the browser hides the answer: a CSRF defence, as OWASP recommends).
    pub(crate) unsafe_methods: bool,
    /// 403 for WebSocket upgrades (browsers apply no CORS to WebSocket: cross-site WebSocket
    /// hijacking).
    pub(crate) websocket: bool,
}

impl RejectDisallowed {
    pub(crate) fn any(self) -> bool {
        self.unsafe_methods || self.websocket
    }
}

/// The operations settings of one policy (the CORS rules of the same policy are in
/// `rules::policy::Policy`, at the same index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PolicySettings {
    pub(crate) mode: Mode,
    /// Share of requests enforced: 0 in report-only mode, else `enforce_percent` (100).
    pub(crate) enforce_percent: u8,
    pub(crate) reject_disallowed: RejectDisallowed,
}

/// `decision_header`: which request header carries the token, and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecisionHeader {
    /// Lower-case request header name.
    pub(crate) token_header: String,
    pub(crate) token: String,
}
