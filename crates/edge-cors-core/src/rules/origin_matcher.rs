//! Which request origins a policy trusts.
//!
//! Matching never scans the configured list: exact origins are one hash lookup; wildcard
//! patterns (`https://*.example.com`, `:*` ports) are a hash lookup per label of the request's
//! host (a tree of domain suffixes, flattened into one map); only the few anchored regexes are
//! tried in turn.

use std::collections::{HashMap, HashSet};

use super::hash::ConfigHash;
use super::origin::{self, HostPattern, Origin, OriginError, OriginPattern, PortPattern};
use super::origin_regex::{self, Why};
use super::public_suffix::{has_public_suffix_below, is_public_suffix};
use super::regex::{self, Alternatives, Regex, RegexError};
use super::Findings;

pub(crate) const MAX_REGEX_LEN: usize = 1000;

/// An `allow_origin_regexes` entry and the literal text every origin it matches starts with
/// (`https://pr-` for `^https://pr-[0-9]+\.example\.com$`): an origin without that prefix is
/// refused by one comparison instead of a regex run, which is most of what a rejected origin
/// costs with a few regexes configured.
#[derive(Debug)]
struct OriginRegex {
    literal_prefix: Box<str>,
    regex: Regex,
}

impl OriginRegex {
    fn is_match(&self, raw: &str) -> bool {
        raw.starts_with(&*self.literal_prefix) && self.regex.is_match(raw)
    }
}

/// A scheme and port constraint attached to a host key in the wildcard maps.
#[derive(Debug, Clone)]
struct SchemePort {
    scheme: Box<str>,
    port: PortPattern,
}

impl SchemePort {
    fn admits(&self, o: &Origin<'_>) -> bool {
        *self.scheme == *o.scheme
            && match self.port {
                PortPattern::Default => o.port.is_none(),
                PortPattern::Exact(p) => o.port == Some(p),
                PortPattern::Any => true,
            }
    }
}

/// What is wrong with an `allow_origins` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginIssue {
    /// `*` next to other entries.
    StarNotAlone,
    /// `*` with `allow_credentials: true` (Fetch §3.2.5).
    StarWithCredentials,
    /// Not a serialized origin (or origin pattern) a browser could send.
    Invalid(OriginError),
    /// `*.base` where `base` is itself a public suffix.
    WildcardUnderPublicSuffix {
        /// The domain after `*.`.
        base: String,
    },
    /// `*.base` where the Public Suffix List has entries below `base`.
    WildcardOverPublicSuffixes {
        /// The domain after `*.`.
        base: String,
    },
    /// `*.` over an IP address.
    WildcardOverIp,
    /// A plain-http origin that is not loopback, with credentials.
    PlainHttpWithCredentials,
    /// Listed twice.
    Duplicate,
}

/// What is wrong with an `allow_origin_regexes` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexIssue {
    /// Longer than the limit (1000 bytes).
    TooLong,
    /// Not written `^...$`.
    NotAnchored,
    /// An unescaped `.` before a letter or digit, almost always a domain dot.
    UnescapedDot {
        /// The character after the dot.
        next: char,
    },
    /// The pattern does not parse ([`super::regex`] says what it accepts).
    Invalid {
        /// What is wrong, and where.
        error: String,
    },
    /// The pattern matches `null` or `*`.
    MatchesDangerous {
        /// `null` or `*`.
        text: &'static str,
    },
    /// The pattern is not provably confined to one domain's https origins: an error with
    /// credentials, a warning without.
    NotConfined {
        /// The part of the rule the pattern breaks.
        why: Why,
        /// The failing part, in words.
        detail: String,
        /// Whether the policy allows credentials (then it is refused).
        credentials: bool,
    },
}

#[derive(Debug, Default)]
pub(crate) struct OriginMatcher {
    any: bool,
    /// Canonical serialized origins, compared byte for byte with the request's `Origin`.
    exact: HashSet<Box<str>, ConfigHash>,
    /// Exact host with a `:*` port, keyed by host.
    host_any_port: HashMap<Box<str>, Vec<SchemePort>, ConfigHash>,
    /// `*.base` patterns, keyed by base domain.
    subdomains: HashMap<Box<str>, Vec<SchemePort>, ConfigHash>,
    regexes: Vec<OriginRegex>,
    /// Number of configured entries (origins plus regexes), for summaries.
    entries: usize,
}

impl OriginMatcher {
    /// Build from `allow_origins` and `allow_origin_regexes`, recording every problem.
    /// `credentials` tightens the rules (no `*`, no plain-http remote origins).
    pub(crate) fn build(
        origins: &[(String, String)],
        regexes: &[(String, String)],
        credentials: bool,
        errors: &mut (impl Findings<OriginIssue> + Findings<RegexIssue>),
    ) -> OriginMatcher {
        let mut m = OriginMatcher::default();
        for (path, entry) in origins {
            m.add_origin(path, entry, credentials, origins.len(), errors);
        }
        for (path, re) in regexes {
            m.add_regex(path, re, credentials, errors);
        }
        m.entries = origins.len() + regexes.len();
        m
    }

    fn add_origin(
        &mut self,
        path: &str,
        entry: &str,
        credentials: bool,
        count: usize,
        errors: &mut impl Findings<OriginIssue>,
    ) {
        if entry == "*" {
            if count > 1 {
                errors.refuse(path, entry, OriginIssue::StarNotAlone);
            }
            if credentials {
                // Fetch §3.2.5: `Access-Control-Allow-Origin: *` is never honoured with credentials,
                // and reflecting any origin with credentials hands every site the user's session.
                errors.refuse(path, entry, OriginIssue::StarWithCredentials);
            }
            self.any = true;
            return;
        }
        let pattern = match check_entry(entry, credentials) {
            Ok(p) => p,
            Err(issue) => return errors.refuse(path, entry, issue),
        };
        let OriginPattern { scheme, host, port } = pattern;
        let sp = SchemePort {
            scheme: scheme.into(),
            port,
        };
        let fresh = match (host, port) {
            (HostPattern::Exact(_), PortPattern::Default | PortPattern::Exact(_)) => self.exact.insert(entry.into()),
            (HostPattern::Exact(h), PortPattern::Any) => insert_scheme_port(&mut self.host_any_port, h, sp),
            (HostPattern::Subdomains(base), _) => insert_scheme_port(&mut self.subdomains, base, sp),
        };
        if !fresh {
            errors.refuse(path, entry, OriginIssue::Duplicate);
        }
    }

    fn add_regex(&mut self, path: &str, re: &str, credentials: bool, errors: &mut impl Findings<RegexIssue>) {
        let (inner, alternatives, regex) = match compile_regex(re) {
            Ok(compiled) => compiled,
            Err(issue) => return errors.refuse(path, re, issue),
        };
        // The same analysis decides for the filter and the checker, on the parse the engine
        // compiled: with credentials a regex that is not provably confined to one domain's
        // https origins is refused, without them it is reported.
        if let Some(finding) = origin_regex::check(&alternatives, inner) {
            let issue = RegexIssue::NotConfined {
                why: finding.why,
                detail: finding.detail,
                credentials,
            };
            if credentials {
                return errors.refuse(path, re, issue);
            }
            errors.question(path, re, issue);
        }
        self.regexes.push(OriginRegex {
            literal_prefix: literal_prefix(re).into(),
            regex,
        });
    }

    /// Is `raw` one of the configured exact origins? Each passed the origin parser at
    /// configuration, so a request's Origin found here is canonical without being parsed.
    pub(crate) fn lists_exactly(&self, raw: &str) -> bool {
        self.exact.contains(raw)
    }

    /// Does the policy trust `origin`? `raw` is the header value `origin` was parsed from. (The
    /// decision asks its three parts in turn, parsing only when it must.)
    #[cfg(test)]
    pub(crate) fn matches(&self, raw: &str, origin: &Origin<'_>) -> bool {
        self.any || self.lists_exactly(raw) || self.matches_a_pattern(raw, origin)
    }

    /// Does one of the policy's patterns (`:*` ports, `*.` subdomains, regexes) trust `origin`?
    /// [`OriginMatcher::matches`] without `*` and the exact origins, for a caller that asked
    /// [`OriginMatcher::lists_exactly`] already.
    pub(crate) fn matches_a_pattern(&self, raw: &str, origin: &Origin<'_>) -> bool {
        if !self.host_any_port.is_empty() {
            if let Some(list) = self.host_any_port.get(origin.host) {
                if list.iter().any(|sp| sp.admits(origin)) {
                    return true;
                }
            }
        }
        if !self.subdomains.is_empty() && self.matches_subdomain(origin) {
            return true;
        }
        self.regexes.iter().any(|r| r.is_match(raw))
    }

    /// Look up each proper suffix of the host that starts after a dot: `a.b.example.com`
    /// tries `b.example.com`, `example.com`, `com`. Labels are never empty (the origin
    /// parser refuses `..`), so a hit always has at least one label before the base.
    fn matches_subdomain(&self, origin: &Origin<'_>) -> bool {
        let host = origin.host;
        host.match_indices('.').any(|(i, _)| {
            host.get(i + 1..)
                .and_then(|base| self.subdomains.get(base))
                .is_some_and(|list| list.iter().any(|sp| sp.admits(origin)))
        })
    }

    /// `*`: every origin is allowed (and the literal `*` is sent).
    pub(crate) fn is_any(&self) -> bool {
        self.any
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries
    }
}

fn insert_scheme_port(map: &mut HashMap<Box<str>, Vec<SchemePort>, ConfigHash>, key: &str, sp: SchemePort) -> bool {
    let list = map.entry(key.into()).or_default();
    if list.iter().any(|x| x.scheme == sp.scheme && x.port == sp.port) {
        return false;
    }
    list.push(sp);
    true
}

/// One origin entry other than `*`, checked by the rules every entry obeys, whether written in
/// `allow_origins` or fetched from a registry (`config::registry`): it must be a serialized
/// origin (or pattern) a browser could send, and must not trust what the policy must not.
pub(crate) fn check_entry(entry: &str, credentials: bool) -> Result<OriginPattern<'_>, OriginIssue> {
    let pattern = origin::parse_pattern(entry).map_err(OriginIssue::Invalid)?;
    match pattern_problem(&pattern, credentials) {
        Some(issue) => Err(issue),
        None => Ok(pattern),
    }
}

/// Policy-level problems with a syntactically valid pattern.
fn pattern_problem(p: &OriginPattern<'_>, credentials: bool) -> Option<OriginIssue> {
    if let HostPattern::Subdomains(base) = p.host {
        if is_public_suffix(base) {
            return Some(OriginIssue::WildcardUnderPublicSuffix { base: base.to_string() });
        }
        if has_public_suffix_below(base) {
            return Some(OriginIssue::WildcardOverPublicSuffixes { base: base.to_string() });
        }
        if base
            .rsplit('.')
            .next()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
            || base.starts_with('[')
        {
            return Some(OriginIssue::WildcardOverIp);
        }
    }
    let host = match p.host {
        HostPattern::Exact(h) | HostPattern::Subdomains(h) => h,
    };
    if credentials && p.scheme == "http" && !origin::is_loopback_host(host) {
        return Some(OriginIssue::PlainHttpWithCredentials);
    }
    None
}

/// Compile an `allow_origin_regexes` entry. The user must anchor it (`^...$`) so intent is
/// visible in the config; it matches as `^(?:...)$` regardless, so a top-level alternation
/// such as `^a|b$` cannot escape the anchors.
/// Also returns the pattern between `^` and `$` and its parse, which the credentials analysis
/// reads.
fn compile_regex(re: &str) -> Result<(&str, Alternatives, Regex), RegexIssue> {
    if re.len() > MAX_REGEX_LEN {
        return Err(RegexIssue::TooLong);
    }
    if !re.starts_with('^') || !re.ends_with('$') || re.ends_with("\\$") {
        return Err(RegexIssue::NotAnchored);
    }
    if let Some(next) = unescaped_dot_before_word(re) {
        return Err(RegexIssue::UnescapedDot { next });
    }
    let invalid = |e: RegexError| RegexIssue::Invalid { error: e.to_string() };
    // The pattern as written must read on its own: `^https://a\.com)|(.*$` does not, but
    // wrapped it would become `^(?:https://a\.com)|(.*)$`, whose second half is unanchored.
    regex::parse(re).map_err(invalid)?;
    // A match spans the whole origin, as `^(?:inner)$`.
    let inner = re.get(1..re.len() - 1).unwrap_or_default();
    let in_inner = |e: RegexError| invalid(e.shifted(1));
    let alternatives = regex::parse(inner).map_err(in_inner)?;
    let compiled = Regex::compile(&alternatives).map_err(in_inner)?;
    for dangerous in ["null", "*"] {
        if compiled.is_match(dangerous) {
            return Err(RegexIssue::MatchesDangerous { text: dangerous });
        }
    }
    Ok((inner, alternatives, compiled))
}

/// The literal text at the start of an anchored pattern (`^...$`) that every match begins
/// with: letters, digits, `:`, `/`, `-`, `_` and escaped dots, up to the first other character.
/// A character followed by a quantifier is optional or repeated, so it ends the prefix before
/// it; a `|` anywhere means an alternative may start differently, so there is no prefix at all.
/// Flags such as `(?i)` start with `(`, which ends the prefix too.
fn literal_prefix(re: &str) -> String {
    let body = re.strip_prefix('^').unwrap_or(re);
    if body.contains('|') {
        return String::new();
    }
    let mut prefix = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                '.'
            }
            c if c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '-' | '_') => c,
            _ => break,
        };
        if matches!(chars.peek(), Some('*' | '+' | '?' | '{')) {
            break;
        }
        prefix.push(literal);
    }
    prefix
}

/// Find a `.` outside a character class, not escaped, directly followed by a letter or digit:
/// in an origin regex that is almost always a domain dot that should have been `\.`.
fn unescaped_dot_before_word(re: &str) -> Option<char> {
    let mut escaped = false;
    let mut in_class = false;
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '.' if !in_class => {
                if let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() {
                        return Some(n);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Either kind of finding the origin builder reports, for tests.
#[cfg(test)]
#[derive(Debug, PartialEq)]
pub(crate) enum Issue {
    Origin(OriginIssue),
    Regex(RegexIssue),
}

#[cfg(test)]
impl From<OriginIssue> for Issue {
    fn from(i: OriginIssue) -> Issue {
        Issue::Origin(i)
    }
}

#[cfg(test)]
impl From<RegexIssue> for Issue {
    fn from(i: RegexIssue) -> Issue {
        Issue::Regex(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Collected;

    fn matcher(origins: &[&str], regexes: &[&str]) -> OriginMatcher {
        let o: Vec<_> = origins.iter().map(|s| ("o".to_string(), s.to_string())).collect();
        let r: Vec<_> = regexes.iter().map(|s| ("r".to_string(), s.to_string())).collect();
        let mut errors = Collected::<Issue>::default();
        let m = OriginMatcher::build(&o, &r, false, &mut errors);
        assert!(errors.errors.is_empty(), "{errors:?}");
        m
    }

    fn allows(m: &OriginMatcher, raw: &str) -> bool {
        origin::parse_origin(raw).is_ok_and(|o| m.matches(raw, &o))
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn subdomain_wildcards_match_one_or_more_labels_but_never_the_apex() {
        let m = matcher(&["https://*.example.com"], &[]);
        assert!(allows(&m, "https://a.example.com"));
        assert!(allows(&m, "https://a.b.example.com"));
        assert!(!allows(&m, "https://example.com"));
        assert!(!allows(&m, "https://evilexample.com"));
        assert!(!allows(&m, "https://a.example.com.evil.net"));
        assert!(!allows(&m, "http://a.example.com"));
        assert!(!allows(&m, "https://a.example.com:8443"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn port_wildcards_match_any_port_of_that_host_only() {
        let m = matcher(&["http://localhost:*"], &[]);
        assert!(allows(&m, "http://localhost"));
        assert!(allows(&m, "http://localhost:3000"));
        assert!(!allows(&m, "https://localhost:3000"));
        assert!(!allows(&m, "http://localhost.evil.com:3000"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn regexes_are_forced_to_match_the_whole_origin() {
        let m = matcher(&[], &["^https://a\\.com|https://b\\.com$"]);
        assert!(allows(&m, "https://a.com"));
        assert!(allows(&m, "https://b.com"));
        assert!(!allows(&m, "https://a.com.evil.net"));
        assert!(!allows(&m, "https://evil.b.com"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn regex_literal_prefixes_stop_at_the_first_character_that_is_not_certain() {
        assert_eq!(
            literal_prefix("^https://pr-[0-9]+\\.preview\\.example\\.com$"),
            "https://pr-"
        );
        assert_eq!(
            literal_prefix("^https://app\\.example\\.com$"),
            "https://app.example.com"
        );
        assert_eq!(literal_prefix("^https?://a\\.com$"), "http");
        assert_eq!(literal_prefix("^https://ab*c\\.com$"), "https://a");
        assert_eq!(literal_prefix("^https://a{2}\\.com$"), "https://");
        assert_eq!(literal_prefix("^https://(a|b)\\.com$"), "");
        assert_eq!(literal_prefix("^https://a\\.com|https://b\\.com$"), "");
        assert_eq!(literal_prefix("^(?i)https://a\\.com$"), "");
        assert_eq!(literal_prefix("^https://\\w+\\.com$"), "https://");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn regexes_with_a_literal_prefix_match_exactly_as_before() {
        let m = matcher(
            &[],
            &[
                "^https://pr-[0-9]+\\.preview\\.example\\.com$",
                "^https?://(?i)app\\.example\\.com$",
            ],
        );
        assert!(allows(&m, "https://pr-12.preview.example.com"));
        assert!(!allows(&m, "https://pr-x.preview.example.com"));
        assert!(!allows(&m, "https://evil.example"));
        assert!(allows(&m, "http://app.example.com"));
        assert!(allows(&m, "https://app.example.com"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn two_exact_origins_do_not_let_their_concatenation_through() {
        let m = matcher(&["https://foo.com", "https://bar.com"], &[]);
        assert!(!allows(&m, "https://barfoo.com"));
        assert!(!allows(&m, "https://foobar.com"));
    }
}
