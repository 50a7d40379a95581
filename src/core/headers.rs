//! Header names the filter reads and writes, lower-case as HTTP/2 and Envoy carry them.

pub const AUTHORITY: &str = ":authority";
pub const PATH: &str = ":path";
pub const METHOD: &str = ":method";
pub const ORIGIN: &str = "origin";
pub const ACRM: &str = "access-control-request-method";
pub const ACRH: &str = "access-control-request-headers";
pub const ACRPN: &str = "access-control-request-private-network";
pub const UPGRADE: &str = "upgrade";

pub const ACAO: &str = "access-control-allow-origin";
pub const ACAC: &str = "access-control-allow-credentials";
pub const ACAM: &str = "access-control-allow-methods";
pub const ACAH: &str = "access-control-allow-headers";
pub const ACEH: &str = "access-control-expose-headers";
pub const ACMA: &str = "access-control-max-age";
pub const ACAPN: &str = "access-control-allow-private-network";
pub const VARY: &str = "vary";
/// Set to `no-store` on responses that carry the decision header, so no cache hands the
/// explanation to a client without the token.
pub const CACHE_CONTROL: &str = "cache-control";

/// Every CORS response header an upstream might set. edge-cors owns these on every response
/// to a CORS request it handles, so the upstream's copies are removed first: one owner per
/// route, never two `Access-Control-Allow-Origin` lines (which browsers reject).
pub const CORS_RESPONSE_HEADERS: [&str; 7] = [ACAO, ACAC, ACAM, ACAH, ACEH, ACMA, ACAPN];
