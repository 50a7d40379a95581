//! Header names the filter reads and writes, lower-case as HTTP/2 and Envoy carry them.

pub(crate) const AUTHORITY: &str = ":authority";
pub(crate) const PATH: &str = ":path";
pub(crate) const METHOD: &str = ":method";
pub(crate) const ORIGIN: &str = "origin";
pub(crate) const ACRM: &str = "access-control-request-method";
pub(crate) const ACRH: &str = "access-control-request-headers";
pub(crate) const ACRPN: &str = "access-control-request-private-network";
pub(crate) const UPGRADE: &str = "upgrade";
/// Read on actual CORS requests for its presence only: it marks a credentialed request.
pub(crate) const COOKIE: &str = "cookie";
/// The request id Envoy sets (or keeps) on every request: written in rejection log lines so
/// they join with access logs and traces.
pub(crate) const X_REQUEST_ID: &str = "x-request-id";

pub(crate) const ACAO: &str = "access-control-allow-origin";
pub(crate) const ACAC: &str = "access-control-allow-credentials";
pub(crate) const ACAM: &str = "access-control-allow-methods";
pub(crate) const ACAH: &str = "access-control-allow-headers";
pub(crate) const ACEH: &str = "access-control-expose-headers";
pub(crate) const ACMA: &str = "access-control-max-age";
pub(crate) const ACAPN: &str = "access-control-allow-private-network";
pub(crate) const VARY: &str = "vary";
/// Set to `no-store` on responses that carry the decision header, so no cache hands the
/// explanation to a client without the token.
pub(crate) const CACHE_CONTROL: &str = "cache-control";

/// Every CORS response header an upstream might set. edge-cors owns these on every response
/// to a CORS request it handles, so the upstream's copies are removed first: one owner per
/// route, never two `Access-Control-Allow-Origin` lines (which browsers reject).
pub const CORS_RESPONSE_HEADERS: [&str; 7] = [ACAO, ACAC, ACAM, ACAH, ACEH, ACMA, ACAPN];
