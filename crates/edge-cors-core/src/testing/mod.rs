//! Test support (feature `test-support`), for this crate's tests, the fuzz targets and the
//! benchmark: the response simulator, and narrow views of internals that tests check against
//! independent oracles. Not part of the production API.

mod simulate;

pub use simulate::{apply_op, respond, HeaderLines, SimulatedResponse, ROUTE_NAME};

use crate::rules::allow_headers::{self, AllowHeaders};

/// The rollout bucket, 0 to 99, of `origin` under the policy named `key`.
pub fn bucket(key: &str, origin: &str) -> u8 {
    crate::ops::rollout::bucket(key, origin)
}

/// Is `domain` a public suffix (the Public Suffix List compiled into the filter)?
pub fn is_public_suffix(domain: &str) -> bool {
    crate::rules::public_suffix::is_public_suffix(domain)
}

/// Does the Public Suffix List have an entry strictly below `domain`?
pub fn has_public_suffix_below(domain: &str) -> bool {
    crate::rules::public_suffix::has_public_suffix_below(domain)
}

/// RFC 9110 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    crate::rules::token::is_tchar(b)
}

/// A request's `Origin` parsed as the filter parses it: (scheme, host, port) when canonical.
pub fn parse_origin(s: &str) -> Option<(&str, &str, Option<u16>)> {
    crate::rules::origin::parse_origin(s)
        .ok()
        .map(|o| (o.scheme, o.host, o.port))
}

/// Whether a configured origin entry parses as a pattern.
pub fn parses_as_pattern(s: &str) -> bool {
    crate::rules::origin::parse_pattern(s).is_ok()
}

/// A pattern compiled by the origin-regex engine; a match spans the whole text.
#[derive(Debug)]
pub struct OriginRegex(crate::rules::regex::Regex);

impl OriginRegex {
    /// Compile `pattern`; `Err` carries the engine's message when it refuses it.
    pub fn new(pattern: &str) -> Result<OriginRegex, String> {
        crate::rules::regex::Regex::new(pattern)
            .map(OriginRegex)
            .map_err(|e| e.to_string())
    }

    /// Does the pattern match all of `text`?
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

/// Longest `Access-Control-Request-Headers` value a preflight may carry.
pub const MAX_ACRH_LEN: usize = allow_headers::MAX_ACRH_LEN;
/// Most header names a preflight may request.
pub const MAX_ACRH_NAMES: usize = allow_headers::MAX_ACRH_NAMES;

/// An `allow_headers` rule built from a list of names that must be valid.
#[derive(Debug)]
pub struct AllowHeadersRule(AllowHeaders);

impl AllowHeadersRule {
    /// The rule of `names`; `None` when the configuration would refuse one.
    pub fn new(names: &[&str]) -> Option<AllowHeadersRule> {
        let entries: Vec<(String, String)> = names.iter().map(|n| ("h".to_string(), n.to_string())).collect();
        let mut errors = crate::config::error::ConfigErrors::default();
        let rule = AllowHeaders::build(&entries, &mut errors);
        errors.is_empty().then_some(AllowHeadersRule(rule))
    }

    /// The lower-case names echoed for an accepted `Access-Control-Request-Headers` value;
    /// `None` when the preflight would be refused.
    pub fn check(&self, acrh: &str) -> Option<String> {
        self.0.check_request(acrh).ok().map(|echo| echo.text(acrh))
    }
}
