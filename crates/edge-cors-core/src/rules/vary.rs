//! `Vary` values (RFC 9110 §12.5.5). A response whose CORS headers depend on a request header
//! must say so, or a shared cache serves one origin's answer to another.

/// Appended to responses of policies whose answer depends on the request's Origin (every
/// policy except an any-origin `*` one).
pub(crate) const ORIGIN: &str = "origin";

/// Preflight answers depend on the requested method and headers too.
pub(crate) const PREFLIGHT: &str = "origin, access-control-request-method, access-control-request-headers";
pub(crate) const PREFLIGHT_ANY_ORIGIN: &str = "access-control-request-method, access-control-request-headers";
pub(crate) const PREFLIGHT_PNA: &str =
    "origin, access-control-request-method, access-control-request-headers, access-control-request-private-network";
pub(crate) const PREFLIGHT_ANY_ORIGIN_PNA: &str =
    "access-control-request-method, access-control-request-headers, access-control-request-private-network";

/// The `Vary` value of a preflight answer for a policy.
pub(crate) fn preflight(varies_by_origin: bool, private_network: bool) -> &'static str {
    match (varies_by_origin, private_network) {
        (true, false) => PREFLIGHT,
        (false, false) => PREFLIGHT_ANY_ORIGIN,
        (true, true) => PREFLIGHT_PNA,
        (false, true) => PREFLIGHT_ANY_ORIGIN_PNA,
    }
}
