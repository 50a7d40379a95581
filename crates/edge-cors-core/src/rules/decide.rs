//! The pure CORS decision of one request: `decide(&policies, &request) -> CorsDecision`. Which
//! policy applies, the outcome, and what to send; report-only mode, the rollout, blocking and
//! the debug header are the operations layer's (`ops::decide`), which wraps this one.
//!
//! Request headers are read through [`RequestHeaders`] in the order the decision needs them,
//! so a request that is not CORS costs one (absent) header read, and an actual request from an
//! allowed origin two (Origin, then an absent ACRM): every read costs a host call in Envoy.

use std::sync::Arc;

use super::allow_headers::{AcrhRejection, Echo};
use super::headers::{self, ACAC, ACAH, ACAM, ACAO, ACAPN, ACEH, ACMA, CORS_RESPONSE_HEADERS, VARY};
use super::origin::{self, OriginError, MAX_ORIGIN_LEN};
use super::origin_set::OriginSet;
use super::policy::{Policies, Policy};
use super::route_match;
use super::token::is_token;

/// Source of request header values (the host glue reads them from Envoy; tests from a list).
/// Names are lower-case; pseudo-headers are `:method`, `:authority`, `:path`.
pub trait RequestHeaders {
    /// The value of `name` (several lines of one name comma-joined), `None` when absent.
    fn get(&self, name: &str) -> Option<String>;

    /// The name of the route the router matched (Envoy's `xds.route_name` property); `None`
    /// when no route matched, or when the source cannot tell, so that a policy bound to route
    /// names never applies.
    fn route_name(&self) -> Option<String> {
        None
    }

    /// Is `name` present? For headers whose value does not matter.
    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Is the value of `name` exactly `value`? For headers only compared (a source that
    /// can compare in place saves the copy [`RequestHeaders::get`] makes).
    fn is(&self, name: &str, value: &str) -> bool {
        self.get(name).as_deref() == Some(value)
    }
}

/// Why a request was refused; used for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The Origin is not one the policy trusts (or `null`).
    Origin,
    /// A preflight requested a method the policy does not allow.
    Method,
    /// A preflight requested a header the policy does not allow.
    Headers,
    /// A value no browser sends: an oversized or non-canonical Origin, a bad method or header
    /// list, a path that is not normalized.
    Malformed,
}

impl Reason {
    /// The name in metrics, logs and the decision header.
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
    /// A preflight the policy allows: answered locally with the policy's headers.
    PreflightAllowed,
    /// A preflight the policy refuses: answered locally with 403 and no CORS header.
    PreflightRejected(Reason),
    /// An actual request from a trusted origin: forwarded, the response gets the CORS headers.
    ActualAllowed,
    /// An actual request from an untrusted origin: forwarded, the response keeps no CORS header.
    ActualRejected(Reason),
}

/// A response header value: precomputed (`Static`, `Shared`) or taken from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// A constant.
    Static(&'static str),
    /// Computed once per policy at configuration.
    Shared(Arc<str>),
    /// Built for this request (an echoed Origin or header list).
    Owned(String),
}

impl HeaderValue {
    /// The value.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderValue::Static(s) => s,
            HeaderValue::Shared(s) => s,
            HeaderValue::Owned(s) => s,
        }
    }
}

/// How to decorate the response of a forwarded request (or of a later filter's local reply).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponsePlan {
    /// Remove every CORS header the upstream set before adding ours.
    pub strip_cors: bool,
    /// ACAO: `*`, or the request's Origin echoed.
    pub allow_origin: Option<HeaderValue>,
    /// ACAC: `true`.
    pub allow_credentials: bool,
    /// ACEH.
    pub expose_headers: Option<Arc<str>>,
    /// Appended to `Vary`, never replacing what the upstream put there.
    pub vary: Option<&'static str>,
}

/// One change to the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderOp<'a> {
    /// Replace every value of the header with this one.
    Set(&'static str, &'a str),
    /// Remove every value of the header.
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
    }

    /// True when the plan changes nothing.
    pub fn is_noop(&self) -> bool {
        !self.strip_cors && self.vary.is_none()
    }
}

/// A response the filter sends itself (preflights), which never reaches the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// The HTTP status.
    pub status: u16,
    /// The header lines, in order.
    pub headers: Vec<(&'static str, HeaderValue)>,
}

/// What the CORS rules do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Leave request and response alone.
    Untouched,
    /// Let the request through and decorate the response with the plan.
    Forward(ResponsePlan),
    /// Answer locally.
    Reply(LocalReply),
}

/// The pure CORS decision of one request.
#[derive(Debug, Clone)]
pub(crate) struct CorsDecision {
    /// Index of the policy that decided, in configuration order; `None`: no policy matched.
    pub(crate) policy: Option<usize>,
    pub(crate) outcome: Outcome,
    /// The request's Origin, as received.
    pub(crate) origin: Option<String>,
    pub(crate) action: Action,
    /// What a rejected preflight asked for: its ACRM and ACRH.
    pub(crate) requested_method: Option<String>,
    pub(crate) requested_headers: Option<String>,
}

impl CorsDecision {
    fn new(policy: Option<usize>, outcome: Outcome, origin: Option<String>, action: Action) -> CorsDecision {
        CorsDecision {
            policy,
            outcome,
            origin,
            action,
            requested_method: None,
            requested_headers: None,
        }
    }
}

/// What a policy's registry source (`allow_origins_from`) contributes to the origin check of a
/// request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fetched<'a> {
    /// Nothing: the policy has no source, or the source's list does not serve and the policy
    /// trusts its configured origins only.
    Nothing,
    /// The fetched list serving now, trusted next to the configured origins.
    List(&'a OriginSet),
    /// No origin at all until a list is loaded (`before_first_load: "reject_all"`).
    RejectAll,
}

/// The fetched lists in force, by policy index.
pub(crate) trait FetchedOrigins {
    fn for_policy(&self, index: usize) -> Fetched<'_>;
}

/// No policy has a fetched list.
impl FetchedOrigins for () {
    fn for_policy(&self, _index: usize) -> Fetched<'_> {
        Fetched::Nothing
    }
}

/// Decide one request under `policies` and the fetched lists in force, reading its headers in
/// the order the decision needs them.
pub(crate) fn decide(policies: &Policies, fetched: &impl FetchedOrigins, req: &impl RequestHeaders) -> CorsDecision {
    let Some(Selected {
        index,
        policy,
        path_unnormalized,
    }) = select_policy(policies, req)
    else {
        return CorsDecision::new(None, Outcome::NoPolicy, None, Action::Untouched);
    };
    // Fetch §3.2.5: a request without an Origin header (or with an empty one) is not a CORS
    // request.
    let origin = match req.get(headers::ORIGIN) {
        Some(o) if !o.is_empty() => o,
        _ => return not_cors(index, policy, path_unnormalized),
    };
    // Fetch §3.2.2 / §4.8: a CORS-preflight request is an OPTIONS request carrying Origin and
    // a non-empty ACRM. ACRM is read first: absent (the common case) it is a cheap miss and
    // the method need not be read at all.
    if let Some(acrm) = req.get(headers::ACRM).filter(|m| !m.is_empty()) {
        if req.is(headers::METHOD, "OPTIONS") {
            return preflight(
                policies,
                index,
                policy,
                fetched.for_policy(index),
                origin,
                acrm,
                req,
                path_unnormalized,
            );
        }
    }
    actual(index, policy, fetched.for_policy(index), origin, path_unnormalized)
}

/// The policy a request is decided by.
struct Selected<'p> {
    index: usize,
    policy: &'p Policy,
    /// The `:path` may mean another path to the router or the upstream (see
    /// [`route_match::is_unnormalized`]): the policy answers as for a malformed request.
    path_unnormalized: bool,
}

/// The first policy whose `match` fits: its route names, hosts and path prefixes all do. A
/// path the router or a normalizing upstream may read as another (`/partner/..%2fapi/users` is
/// `/api/users` to them) cannot be trusted to pick a path-scoped policy, nor to skip one: the
/// first path-scoped policy whose route names and hosts match takes it and answers as for a
/// malformed request, so the request neither gets that policy's CORS headers nor falls through
/// to a broader policy after it. Policies without a path constraint match such a path as any
/// other.
fn select_policy<'p>(policies: &'p Policies, req: &impl RequestHeaders) -> Option<Selected<'p>> {
    let authority = if policies.reads_authority {
        req.get(headers::AUTHORITY)
    } else {
        None
    };
    let raw_path = if policies.reads_path {
        req.get(headers::PATH)
    } else {
        None
    };
    let path = raw_path.as_deref().map(route_match::route_path);
    let route_name = if policies.reads_route_name {
        req.route_name()
    } else {
        None
    };
    // Scanned once, and only when a path-scoped policy's hosts match.
    let mut unnormalized: Option<bool> = None;
    for (index, p) in policies.list.iter().enumerate() {
        // Every constraint must fit: route names AND hosts AND path prefixes.
        if !p.route.matches_route_name(route_name.as_deref()) || !p.route.matches_host(authority.as_deref()) {
            continue;
        }
        let path_unnormalized = p.route.constrains_path()
            && *unnormalized.get_or_insert_with(|| path.is_some_and(route_match::is_unnormalized));
        if path_unnormalized || p.route.matches_path(path) {
            return Some(Selected {
                index,
                policy: p,
                path_unnormalized,
            });
        }
    }
    None
}

/// Is the request's Origin trusted by the policy? Errors carry the rejection reason.
fn check_origin(policy: &Policy, fetched: Fetched<'_>, origin: &str) -> Result<(), Reason> {
    // An any-origin policy answers `*` whoever asks: the response is public, and the answer
    // being the same for every origin is what lets it go without `Vary: Origin`.
    if policy.origins.is_any() {
        return Ok(());
    }
    // The common case of an allowed request, without parsing: a configured exact origin is
    // canonical (it passed the same parser at configuration), so the parser would accept the
    // request's Origin and the matcher find it. Not while the policy rejects every origin.
    if fetched != Fetched::RejectAll && policy.origins.lists_exactly(origin) {
        return Ok(());
    }
    match origin::parse_origin(origin) {
        Ok(_) if fetched == Fetched::RejectAll => Err(Reason::Origin),
        // Not `*` (answered above) nor an exact origin (looked up above): only the patterns.
        Ok(parsed) if policy.origins.matches_a_pattern(origin, &parsed) => Ok(()),
        Ok(parsed) if matches!(fetched, Fetched::List(list) if list.matches(origin, &parsed)) => Ok(()),
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
        vary: policy.vary_actual(),
    }
}

/// The response of a refused request: no CORS header at all. Fetch §4.9 "CORS check": without
/// ACAO the browser refuses the response to the page; the upstream's own CORS headers are
/// removed too, or they would answer for us.
fn refused_plan(policy: &Policy) -> ResponsePlan {
    ResponsePlan {
        strip_cors: true,
        vary: policy.vary_actual(),
        ..ResponsePlan::default()
    }
}

/// A request without an Origin. Fetch, "CORS protocol and HTTP caches": an any-origin policy's
/// answer is the same for every request, so it goes on this response too, without `Vary`: a
/// cache may store the response of an `<img>` or a navigation and hand it to a later
/// `fetch()`, which would fail without ACAO. Other policies' answers depend on the Origin, so
/// the response varies by it. On a path that is not normalized the policy grants nothing.
fn not_cors(index: usize, policy: &Policy, path_unnormalized: bool) -> CorsDecision {
    let plan = if path_unnormalized {
        refused_plan(policy)
    } else if policy.origins.is_any() {
        allowed_plan(policy, HeaderValue::Static("*"))
    } else {
        ResponsePlan {
            vary: policy.vary_actual(),
            ..ResponsePlan::default()
        }
    };
    CorsDecision::new(Some(index), Outcome::NotCors, None, Action::Forward(plan))
}

fn actual(
    index: usize,
    policy: &Policy,
    fetched: Fetched<'_>,
    origin: String,
    path_unnormalized: bool,
) -> CorsDecision {
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
        check_origin(policy, fetched, &origin)
    };
    let (outcome, plan) = match checked {
        Ok(()) => (
            Outcome::ActualAllowed,
            allowed_plan(policy, allow_origin_value(policy, &origin)),
        ),
        Err(reason) => (Outcome::ActualRejected(reason), refused_plan(policy)),
    };
    CorsDecision::new(Some(index), outcome, Some(origin), Action::Forward(plan))
}

/// The answer the gateway sends itself in place of forwarding an actual request it refuses
/// (operations' `reject_disallowed`): 403 with no CORS header, like a rejected preflight, and
/// the policy's `Vary`.
pub(crate) fn refused_actual_reply(policy: &Policy) -> LocalReply {
    LocalReply {
        status: 403,
        headers: policy
            .vary_actual()
            .map(|v| (VARY, HeaderValue::Static(v)))
            .into_iter()
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn preflight(
    policies: &Policies,
    index: usize,
    policy: &Policy,
    fetched: Fetched<'_>,
    origin: String,
    acrm: String,
    req: &impl RequestHeaders,
    path_unnormalized: bool,
) -> CorsDecision {
    let mut acrh = req.get(headers::ACRH);
    let checked = if path_unnormalized {
        Err(Reason::Malformed)
    } else {
        check_preflight(policies, policy, fetched, &origin, &acrm, &mut acrh, req)
    };
    match checked {
        Ok(reply) => CorsDecision::new(
            Some(index),
            Outcome::PreflightAllowed,
            Some(origin),
            Action::Reply(reply),
        ),
        // A refused preflight reveals nothing of the policy: 403, no CORS header at all.
        Err(reason) => {
            let reply = LocalReply {
                status: 403,
                headers: vec![(VARY, HeaderValue::Static(policy.vary_preflight()))],
            };
            let mut d = CorsDecision::new(
                Some(index),
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
/// requested method and every requested header must be allowed. An allowed preflight's ACRH
/// value is taken from `acrh` when it is echoed as received.
#[allow(clippy::too_many_arguments)]
fn check_preflight(
    policies: &Policies,
    policy: &Policy,
    fetched: Fetched<'_>,
    origin: &str,
    acrm: &str,
    acrh: &mut Option<String>,
    req: &impl RequestHeaders,
) -> Result<LocalReply, Reason> {
    if origin.len() > MAX_ORIGIN_LEN {
        return Err(Reason::Malformed);
    }
    check_origin(policy, fetched, origin)?;
    if !is_token(acrm) {
        return Err(Reason::Malformed);
    }
    if !policy.methods.allows(acrm) {
        return Err(Reason::Method);
    }
    let echo = match acrh.as_deref() {
        Some(value) => policy.headers.check_request(value).map_err(|r| match r {
            AcrhRejection::Malformed => Reason::Malformed,
            AcrhRejection::NotAllowed => Reason::Headers,
        })?,
        None => Echo::Normalized(String::new()),
    };
    let requested_headers = match echo {
        Echo::AsReceived => acrh.take().unwrap_or_default(),
        Echo::Normalized(list) => list,
    };
    let mut out: Vec<(&'static str, HeaderValue)> = Vec::with_capacity(8);
    out.push((ACAO, allow_origin_value(policy, origin)));
    if policy.credentials {
        out.push((ACAC, HeaderValue::Static("true")));
    }
    out.push((ACAM, HeaderValue::Shared(Arc::clone(policy.methods.header_value()))));
    if !requested_headers.is_empty() {
        // Echo the validated names: never a literal `*`, which credentialed requests would
        // read as a header named `*` (Fetch §3.2.3).
        out.push((ACAH, HeaderValue::Owned(requested_headers)));
    }
    if let Some(max_age) = policy.max_age.header_value() {
        out.push((ACMA, HeaderValue::Shared(Arc::clone(max_age))));
    }
    // Private Network Access: grant only when enabled and explicitly requested.
    if policy.private_network && req.get(headers::ACRPN).as_deref() == Some("true") {
        out.push((ACAPN, HeaderValue::Static("true")));
    }
    out.push((VARY, HeaderValue::Static(policy.vary_preflight())));
    Ok(LocalReply {
        status: policies.preflight_status,
        headers: out,
    })
}
