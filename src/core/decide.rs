//! The per-request decision: `decide(&config, &request) -> Decision`.
//!
//! Request headers are read through [`RequestHeaders`] in the order the decision needs them,
//! so a request that is not CORS costs one (absent) header read, and an actual request from an
//! allowed origin two (Origin, then an absent ACRM): every read costs a host call in Envoy.

use std::rc::Rc;

use super::allow_headers::AcrhRejection;
use super::config::Config;
use super::decision_header::{explain, DECISION_HEADER};
use super::headers::{self, ACAC, ACAH, ACAM, ACAO, ACAPN, ACEH, ACMA, CACHE_CONTROL, CORS_RESPONSE_HEADERS, VARY};
use super::origin::{self, OriginError, MAX_ORIGIN_LEN};
use super::policy::Policy;
use super::rollout;
use super::route_match;
use super::token::is_token;

/// Source of request header values (the glue reads them from Envoy; tests from a list).
/// Names are lower-case; pseudo-headers are `:method`, `:authority`, `:path`.
pub trait RequestHeaders {
    fn get(&self, name: &str) -> Option<String>;
}

/// Why a request was refused; used for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Origin,
    Method,
    Headers,
    Malformed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Origin => "origin",
            Reason::Method => "method",
            Reason::Headers => "headers",
            Reason::Malformed => "malformed",
        }
    }
}

/// What the filter concluded about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// No policy's `match` fits: the filter stays out of the way.
    NoPolicy,
    /// No Origin header: not a CORS request.
    NotCors,
    PreflightAllowed,
    PreflightRejected(Reason),
    ActualAllowed,
    ActualRejected(Reason),
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

/// A response header value: precomputed (`Static`, `Shared`) or taken from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Static(&'static str),
    Shared(Rc<str>),
    Owned(String),
}

impl HeaderValue {
    pub fn as_str(&self) -> &str {
        match self {
            HeaderValue::Static(s) => s,
            HeaderValue::Shared(s) => s,
            HeaderValue::Owned(s) => s,
        }
    }
}

/// `Cache-Control` of responses carrying the decision header (RFC 9111 §5.2.2.5: no cache,
/// shared or private, stores them).
const NO_STORE: &str = "no-store";

/// How to decorate the response of a forwarded request (or of a later filter's local reply).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponsePlan {
    /// Remove every CORS header the upstream set before adding ours.
    pub strip_cors: bool,
    /// ACAO: `*`, or the request's Origin echoed.
    pub allow_origin: Option<HeaderValue>,
    pub allow_credentials: bool,
    pub expose_headers: Option<Rc<str>>,
    /// Appended to `Vary`, never replacing what the upstream put there.
    pub vary: Option<&'static str>,
    /// `x-edge-cors-decision`, only for requests carrying the configured debug token (with
    /// `cache-control: no-store`, so no cache serves the explanation to anyone else).
    pub decision: Option<String>,
}

/// One change to the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderOp<'a> {
    /// Replace every value of the header with this one.
    Set(&'static str, &'a str),
    Remove(&'static str),
    /// Add one more line of the header (for `Vary`, which is a list).
    Append(&'static str, &'a str),
}

impl ResponsePlan {
    /// The header changes, in order. A header we set replaces the upstream's; the other CORS
    /// headers are removed; `Vary` is appended.
    pub fn for_each_op<'a>(&'a self, mut f: impl FnMut(HeaderOp<'a>)) {
        if self.strip_cors {
            for name in CORS_RESPONSE_HEADERS {
                let value = match name {
                    ACAO => self.allow_origin.as_ref().map(HeaderValue::as_str),
                    ACAC => self.allow_credentials.then_some("true"),
                    ACEH => self.expose_headers.as_deref(),
                    _ => None,
                };
                f(match value {
                    Some(v) => HeaderOp::Set(name, v),
                    None => HeaderOp::Remove(name),
                });
            }
        }
        if let Some(v) = self.vary {
            f(HeaderOp::Append(VARY, v));
        }
        if let Some(d) = &self.decision {
            f(HeaderOp::Set(DECISION_HEADER, d));
            f(HeaderOp::Set(CACHE_CONTROL, NO_STORE));
        }
    }

    pub fn is_noop(&self) -> bool {
        !self.strip_cors && self.vary.is_none() && self.decision.is_none()
    }
}

/// A response the filter sends itself (preflights), which never reaches the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u16,
    pub headers: Vec<(&'static str, HeaderValue)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave request and response alone.
    Untouched,
    /// Let the request through and decorate the response with the plan.
    Forward(ResponsePlan),
    /// Answer locally.
    Reply(LocalReply),
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub policy: Option<Rc<Policy>>,
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
    pub requested_headers: Option<String>,
    /// The request carried the `decision_header` token header (any value): the glue removes
    /// it before the request goes upstream, so the secret never reaches upstream logs.
    pub token_header_present: bool,
}

impl Decision {
    fn new(policy: Option<Rc<Policy>>, outcome: Outcome, origin: Option<String>, action: Action) -> Decision {
        Decision {
            policy,
            outcome,
            origin,
            action,
            enforced: true,
            blocked: None,
            requested_method: None,
            requested_headers: None,
            token_header_present: false,
        }
    }

    /// The rejection reason, for rejected outcomes.
    pub fn reason(&self) -> Option<Reason> {
        match self.outcome {
            Outcome::PreflightRejected(r) | Outcome::ActualRejected(r) => Some(r),
            _ => None,
        }
    }
}

/// Decide what to do with one request: evaluate it as if enforced, then apply report-only mode
/// and the rollout (sticky per origin: [`rollout::enforced`]), then the debug header.
pub fn decide(config: &Config, req: &impl RequestHeaders) -> Decision {
    let mut decision = evaluate(config, req);
    if let Some(policy) = &decision.policy {
        if !rollout::enforced(policy.enforce_percent(), &policy.name, decision.origin.as_deref()) {
            // Report-only: count and log what would have happened, change nothing.
            decision.enforced = false;
            decision.action = Action::Untouched;
        }
    }
    if let Some(debug) = &config.decision_header {
        let presented = req.get(&debug.token_header);
        decision.token_header_present = presented.is_some();
        if presented.is_some_and(|t| debug.matches(&t)) {
            let text = explain(&decision);
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
        Action::Forward(plan) => plan.decision = Some(text),
        Action::Untouched => {
            *action = Action::Forward(ResponsePlan {
                decision: Some(text),
                ..ResponsePlan::default()
            })
        }
    }
}

/// The decision as if enforced.
fn evaluate(config: &Config, req: &impl RequestHeaders) -> Decision {
    let Some(Selected {
        policy,
        path_unnormalized,
    }) = select_policy(config, req)
    else {
        return Decision::new(None, Outcome::NoPolicy, None, Action::Untouched);
    };
    // Fetch §3.2.5: a request without an Origin header (or with an empty one) is not a CORS
    // request.
    let origin = match req.get(headers::ORIGIN) {
        Some(o) if !o.is_empty() => o,
        _ => return not_cors(policy, path_unnormalized),
    };
    // Fetch §3.2.2 / §4.8: a CORS-preflight request is an OPTIONS request carrying Origin and
    // a non-empty ACRM. ACRM is read first: absent (the common case) it is a cheap miss and
    // the method need not be read at all.
    if let Some(acrm) = req.get(headers::ACRM).filter(|m| !m.is_empty()) {
        if req.get(headers::METHOD).as_deref() == Some("OPTIONS") {
            return preflight(config, policy, origin, acrm, req, path_unnormalized);
        }
    }
    actual(policy, origin, req, path_unnormalized)
}

/// The policy a request is decided by.
struct Selected {
    policy: Rc<Policy>,
    /// The `:path` may mean another path to the router or the upstream (see
    /// [`route_match::is_unnormalized`]): the policy answers as for a malformed request.
    path_unnormalized: bool,
}

/// The first policy whose `match` fits. A path the router or a normalizing upstream may read
/// as another (`/partner/..%2fapi/users` is `/api/users` to them) cannot be trusted to pick a
/// path-scoped policy, nor to skip one: the first path-scoped policy whose hosts match takes
/// it and answers as for a malformed request, so the request neither gets that policy's CORS
/// headers nor falls through to a broader policy after it. Policies without a path
/// constraint match such a path as any other.
fn select_policy(config: &Config, req: &impl RequestHeaders) -> Option<Selected> {
    let authority = if config.reads_authority {
        req.get(headers::AUTHORITY)
    } else {
        None
    };
    let raw_path = if config.reads_path {
        req.get(headers::PATH)
    } else {
        None
    };
    let path = raw_path.as_deref().map(route_match::route_path);
    // Scanned once, and only when a path-scoped policy's hosts match.
    let mut unnormalized: Option<bool> = None;
    for p in &config.policies {
        if !p.route.matches_host(authority.as_deref()) {
            continue;
        }
        let path_unnormalized = p.route.constrains_path()
            && *unnormalized.get_or_insert_with(|| path.is_some_and(route_match::is_unnormalized));
        if path_unnormalized || p.route.matches_path(path) {
            return Some(Selected {
                policy: Rc::clone(p),
                path_unnormalized,
            });
        }
    }
    None
}

/// Is the request's Origin trusted by the policy? Errors carry the rejection reason.
fn check_origin(policy: &Policy, origin: &str) -> Result<(), Reason> {
    // An any-origin policy answers `*` whoever asks: the response is public, and the answer
    // being the same for every origin is what lets it go without `Vary: Origin`.
    if policy.origins.is_any() {
        return Ok(());
    }
    match origin::parse_origin(origin) {
        Ok(parsed) if policy.origins.matches(origin, &parsed) => Ok(()),
        Ok(_) | Err(OriginError::Null) => Err(Reason::Origin),
        Err(_) => Err(Reason::Malformed),
    }
}

fn allow_origin_value(policy: &Policy, origin: &str) -> HeaderValue {
    // Fetch §3.2.3: ACAO is `*` or the exact request origin. `*` only ever for an any-origin
    // policy, which configuration validation forbids together with credentials.
    if policy.origins.is_any() && !policy.credentials {
        HeaderValue::Static("*")
    } else {
        HeaderValue::Owned(origin.to_string())
    }
}

/// The response of an allowed request: the upstream's CORS headers replaced by the policy's.
fn allowed_plan(policy: &Policy, allow_origin: HeaderValue) -> ResponsePlan {
    ResponsePlan {
        strip_cors: true,
        allow_origin: Some(allow_origin),
        allow_credentials: policy.credentials,
        expose_headers: policy.expose.header_value().cloned(),
        vary: policy.vary_actual,
        decision: None,
    }
}

/// The response of a refused request: no CORS header at all. Fetch §4.9 "CORS check": without
/// ACAO the browser refuses the response to the page; the upstream's own CORS headers are
/// removed too, or they would answer for us.
fn refused_plan(policy: &Policy) -> ResponsePlan {
    ResponsePlan {
        strip_cors: true,
        vary: policy.vary_actual,
        ..ResponsePlan::default()
    }
}

/// A request without an Origin. Fetch, "CORS protocol and HTTP caches": an any-origin policy's
/// answer is the same for every request, so it goes on this response too, without `Vary`: a
/// cache may store the response of an `<img>` or a navigation and hand it to a later
/// `fetch()`, which would fail without ACAO. Other policies' answers depend on the Origin, so
/// the response varies by it. On a path that is not normalized the policy grants nothing.
fn not_cors(policy: Rc<Policy>, path_unnormalized: bool) -> Decision {
    let plan = if path_unnormalized {
        refused_plan(&policy)
    } else if policy.origins.is_any() {
        allowed_plan(&policy, HeaderValue::Static("*"))
    } else {
        ResponsePlan {
            vary: policy.vary_actual,
            ..ResponsePlan::default()
        }
    };
    Decision::new(Some(policy), Outcome::NotCors, None, Action::Forward(plan))
}

fn actual(policy: Rc<Policy>, origin: String, req: &impl RequestHeaders, path_unnormalized: bool) -> Decision {
    let checked = if path_unnormalized {
        Err(Reason::Malformed)
    } else if policy.origins.is_any() {
        // Nothing is parsed: the answer is `*` whatever the Origin (oversized, malformed,
        // `null`), the same as without one (Fetch "CORS protocol and HTTP caches"). The length
        // cap below exists to bound parsing, which an any-origin policy does not do.
        Ok(())
    } else if origin.len() > MAX_ORIGIN_LEN {
        Err(Reason::Malformed)
    } else {
        check_origin(&policy, &origin)
    };
    let (outcome, plan) = match checked {
        Ok(()) => (
            Outcome::ActualAllowed,
            allowed_plan(&policy, allow_origin_value(&policy, &origin)),
        ),
        Err(reason) => {
            if let Some((blocked, method)) = blocked(&policy, req) {
                // The browser would hide the response, but only after the upstream acted on
                // the request: refuse it here. 403 with no CORS header, like a rejected
                // preflight.
                let reply = LocalReply {
                    status: 403,
                    headers: policy
                        .vary_actual
                        .map(|v| (VARY, HeaderValue::Static(v)))
                        .into_iter()
                        .collect(),
                };
                let mut d = Decision::new(
                    Some(policy),
                    Outcome::ActualRejected(reason),
                    Some(origin),
                    Action::Reply(reply),
                );
                d.blocked = Some(blocked);
                d.requested_method = method;
                return d;
            }
            (Outcome::ActualRejected(reason), refused_plan(&policy))
        }
    };
    Decision::new(Some(policy), outcome, Some(origin), Action::Forward(plan))
}

/// `reject_disallowed`: does the policy refuse this request from a rejected origin? Returns
/// the kind and, for an unsafe method, the method (for the log). Only read when the policy
/// opted in, so the default costs no header read.
fn blocked(policy: &Policy, req: &impl RequestHeaders) -> Option<(Blocked, Option<String>)> {
    let reject = policy.reject_disallowed;
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

fn preflight(
    config: &Config,
    policy: Rc<Policy>,
    origin: String,
    acrm: String,
    req: &impl RequestHeaders,
    path_unnormalized: bool,
) -> Decision {
    let acrh = req.get(headers::ACRH);
    let checked = if path_unnormalized {
        Err(Reason::Malformed)
    } else {
        check_preflight(config, &policy, &origin, &acrm, acrh.as_deref(), req)
    };
    match checked {
        Ok(reply) => Decision::new(
            Some(policy),
            Outcome::PreflightAllowed,
            Some(origin),
            Action::Reply(reply),
        ),
        // A refused preflight reveals nothing of the policy: 403, no CORS header at all.
        Err(reason) => {
            let reply = LocalReply {
                status: 403,
                headers: vec![(VARY, HeaderValue::Static(policy.vary_preflight))],
            };
            let mut d = Decision::new(
                Some(policy),
                Outcome::PreflightRejected(reason),
                Some(origin),
                Action::Reply(reply),
            );
            d.requested_method = Some(acrm);
            d.requested_headers = acrh;
            d
        }
    }
}

/// Fetch §4.8 "CORS-preflight fetch", steps 6-8, from the server's side: the origin, the
/// requested method and every requested header must be allowed.
fn check_preflight(
    config: &Config,
    policy: &Policy,
    origin: &str,
    acrm: &str,
    acrh: Option<&str>,
    req: &impl RequestHeaders,
) -> Result<LocalReply, Reason> {
    if origin.len() > MAX_ORIGIN_LEN {
        return Err(Reason::Malformed);
    }
    check_origin(policy, origin)?;
    if !is_token(acrm) {
        return Err(Reason::Malformed);
    }
    if !policy.methods.allows(acrm) {
        return Err(Reason::Method);
    }
    let mut requested_headers = String::new();
    if let Some(acrh) = acrh {
        policy
            .headers
            .check_request(acrh, &mut requested_headers)
            .map_err(|r| match r {
                AcrhRejection::Malformed => Reason::Malformed,
                AcrhRejection::NotAllowed => Reason::Headers,
            })?;
    }
    let mut out: Vec<(&'static str, HeaderValue)> = Vec::with_capacity(8);
    out.push((ACAO, allow_origin_value(policy, origin)));
    if policy.credentials {
        out.push((ACAC, HeaderValue::Static("true")));
    }
    out.push((ACAM, HeaderValue::Shared(Rc::clone(policy.methods.header_value()))));
    if !requested_headers.is_empty() {
        // Echo the validated names: never a literal `*`, which credentialed requests would
        // read as a header named `*` (Fetch §3.2.3).
        out.push((ACAH, HeaderValue::Owned(requested_headers)));
    }
    if let Some(max_age) = policy.max_age.header_value() {
        out.push((ACMA, HeaderValue::Shared(Rc::clone(max_age))));
    }
    // Private Network Access: grant only when enabled and explicitly requested.
    if policy.private_network && req.get(headers::ACRPN).as_deref() == Some("true") {
        out.push((ACAPN, HeaderValue::Static("true")));
    }
    out.push((VARY, HeaderValue::Static(policy.vary_preflight)));
    Ok(LocalReply {
        status: config.preflight_status,
        headers: out,
    })
}
