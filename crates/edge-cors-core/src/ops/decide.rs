//! The decision the filter acts on: `decide(&config, &request) -> Decision`. The pure CORS
//! decision (`rules::decide`) wrapped with operations: `reject_disallowed`, report-only mode and
//! the rollout (sticky per origin: [`rollout::enforced`]), then the debug header.
//!
//! Request headers are read through [`RequestHeaders`] in the order the decision needs them,
//! so a request that is not CORS costs one (absent) header read, and an actual request from an
//! allowed origin two (Origin, then an absent ACRM): every read costs a host call in Envoy.

use crate::config::compile::Config;
use crate::rules::decide::{
    self as cors, refused_actual_reply, CorsDecision, FetchedOrigins, Outcome, Reason, RequestHeaders,
};
use crate::rules::decide::{HeaderOp, HeaderValue, LocalReply, ResponsePlan};
use crate::rules::headers::{CACHE_CONTROL, COOKIE};

use super::decision_header::{explain, token_matches, Explained, DECISION_HEADER, NO_STORE};
use super::metrics;
use super::rollout::{self, Blocked};

/// What the filter does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave request and response alone.
    Untouched,
    /// Let the request through and change the response as the edit says.
    Forward(ResponseEdit),
    /// Answer locally.
    Reply(LocalReply),
}

/// How to change the response of a forwarded request (or of a later filter's local reply):
/// the CORS plan, then the debug header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseEdit {
    /// The CORS headers.
    pub plan: ResponsePlan,
    /// `x-edge-cors-decision`, only for requests carrying the configured debug token (with
    /// `cache-control: no-store`, so no cache serves the explanation to anyone else).
    pub decision: Option<String>,
}

impl ResponseEdit {
    /// The header changes, in order: the plan's, then the debug header's.
    pub fn for_each_op<'a>(&'a self, mut f: impl FnMut(HeaderOp<'a>)) {
        self.plan.for_each_op(&mut f);
        if let Some(d) = &self.decision {
            f(HeaderOp::Set(DECISION_HEADER, d));
            f(HeaderOp::Set(CACHE_CONTROL, NO_STORE));
        }
    }

    /// True when the edit changes nothing.
    pub fn is_noop(&self) -> bool {
        self.plan.is_noop() && self.decision.is_none()
    }
}

/// What the filter concluded about a request and what it does.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Index of the policy that decided, in configuration order; `None`: no policy matched.
    pub policy: Option<usize>,
    /// The CORS outcome (as if enforced).
    pub outcome: Outcome,
    /// The request's Origin, as received (for logs).
    pub origin: Option<String>,
    /// What the filter does. For a request not enforced (report-only mode, or an Origin outside
    /// `enforce_percent`) this is `Untouched` (or only the debug header): the outcome still
    /// says what enforcement would have done.
    pub action: Action,
    /// `false` when the policy evaluated the request in report-only mode.
    pub enforced: bool,
    /// Set when `reject_disallowed` refuses (or, not enforced, would refuse) the request.
    pub blocked: Option<Blocked>,
    /// For the rejection log: a rejected preflight's requested method and headers, or the
    /// method of a request blocked as unsafe.
    pub requested_method: Option<String>,
    /// See `requested_method`.
    pub requested_headers: Option<String>,
    /// The request carried the `decision_header` token header (any value): the host removes
    /// it before the request goes upstream, so the secret never reaches upstream logs.
    pub token_header_present: bool,
    /// An actual CORS request that carried a `Cookie`: sent in credentials mode `include`
    /// (Fetch §4.5 "HTTP-network-or-cache fetch": a cross-origin request includes credentials
    /// in that mode only).
    pub credentialed: bool,
    /// The policy sets `allow_credentials`.
    policy_credentials: bool,
}

impl Decision {
    /// The rejection reason, for rejected outcomes.
    pub fn reason(&self) -> Option<Reason> {
        match self.outcome {
            Outcome::PreflightRejected(r) | Outcome::ActualRejected(r) => Some(r),
            _ => None,
        }
    }

    /// Index of this decision's counter in a flat table of 30 ids per policy (in configuration
    /// order: every slot enforced, then report-only; `metrics`); `None` for the unmatched
    /// requests' counter.
    pub fn counter_index(&self) -> Option<usize> {
        let slot = metrics::decision_slot(self.outcome, self.blocked)?;
        Some(metrics::counter_index(self.policy?, slot, self.enforced))
    }

    /// Index of the credentialed requests' counter this decision also increments, for a
    /// credentialed actual request.
    pub fn credentialed_counter_index(&self) -> Option<usize> {
        if !self.credentialed {
            return None;
        }
        let slot = metrics::credentialed_slot(self.outcome, self.blocked, self.policy_credentials)?;
        Some(metrics::counter_index(self.policy?, slot, self.enforced))
    }

    /// Index of the `upstream_cors_replaced` counter to count on the response, for requests
    /// whose response edge-cors owns (actual CORS requests that were forwarded).
    pub fn upstream_cors_counter_index(&self) -> Option<usize> {
        let policy = self.policy?;
        let forwarded_actual = matches!(self.outcome, Outcome::ActualAllowed | Outcome::ActualRejected(_))
            && (self.blocked.is_none() || !self.enforced);
        forwarded_actual.then(|| metrics::counter_index(policy, metrics::UPSTREAM_CORS_SLOT, self.enforced))
    }
}

/// Decide what to do with one request: the CORS decision as if enforced, the requests the
/// policy refuses itself, then report-only mode and the rollout, then the debug header.
pub fn decide(config: &Config, req: &impl RequestHeaders) -> Decision {
    decide_with(config, &(), req)
}

/// [`decide`] with the lists fetched by the policies' registry sources in force (a policy
/// with a source acts under plain [`decide`] as before its first load).
pub(crate) fn decide_with(config: &Config, fetched: &impl FetchedOrigins, req: &impl RequestHeaders) -> Decision {
    let CorsDecision {
        policy,
        outcome,
        origin,
        action,
        requested_method,
        requested_headers,
    } = cors::decide(&config.cors, fetched, req);
    let mut decision = Decision {
        policy,
        outcome,
        origin,
        action: match action {
            cors::Action::Untouched => Action::Untouched,
            cors::Action::Forward(plan) => Action::Forward(ResponseEdit { plan, decision: None }),
            cors::Action::Reply(reply) => Action::Reply(reply),
        },
        enforced: true,
        blocked: None,
        requested_method,
        requested_headers,
        token_header_present: false,
        credentialed: false,
        policy_credentials: false,
    };
    let selected = policy.and_then(|i| config.cors.list.get(i).zip(config.settings.get(i)));
    if let Some((rules, settings)) = selected {
        decision.policy_credentials = rules.credentials;
        if matches!(outcome, Outcome::ActualAllowed | Outcome::ActualRejected(_)) {
            // Only actual CORS requests: preflights never carry credentials (Fetch §4.8), and
            // requests without an Origin are no page's CORS. An absent Cookie is a cheap miss.
            decision.credentialed = req.has(COOKIE);
        }
        if matches!(outcome, Outcome::ActualRejected(_)) && settings.reject_disallowed.any() {
            if let Some((blocked, method)) = rollout::blocked(settings.reject_disallowed, req) {
                // The browser would hide the response, but only after the upstream acted on
                // the request: refuse it here.
                decision.blocked = Some(blocked);
                decision.requested_method = method;
                decision.action = Action::Reply(refused_actual_reply(rules));
            }
        }
        if !rollout::enforced(settings.enforce_percent, &rules.name, decision.origin.as_deref()) {
            // Report-only: count and log what would have happened, change nothing.
            decision.enforced = false;
            decision.action = Action::Untouched;
        }
    }
    if let Some(debug) = &config.decision_header {
        let presented = req.get(&debug.token_header);
        decision.token_header_present = presented.is_some();
        if presented.is_some_and(|t| token_matches(debug, &t)) {
            let text = explain(&Explained {
                policy: selected.map(|(rules, _)| &*rules.name),
                outcome: decision.outcome,
                reason: decision.reason(),
                blocked: decision.blocked,
                enforced: decision.enforced,
                enforce_percent: selected.map_or(100, |(_, s)| s.enforce_percent),
            });
            attach_decision_header(&mut decision.action, text);
        }
    }
    decision
}

fn attach_decision_header(action: &mut Action, text: String) {
    match action {
        Action::Reply(reply) => {
            reply.headers.push((DECISION_HEADER, HeaderValue::Owned(text)));
            reply.headers.push((CACHE_CONTROL, HeaderValue::Static(NO_STORE)));
        }
        Action::Forward(edit) => edit.decision = Some(text),
        Action::Untouched => {
            *action = Action::Forward(ResponseEdit {
                decision: Some(text),
                ..ResponseEdit::default()
            })
        }
    }
}
