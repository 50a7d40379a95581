//! Which `allow_origin_regexes` patterns provably stay inside one registrable domain's https
//! origins, the condition for using them with `allow_credentials: true`.
//!
//! # The rule
//!
//! Every alternative of the pattern (after expanding the alternatives of groups that carry no
//! quantifier) must be, in order:
//! 1. the literal, unquantified scheme `https://`, or `http://` when the whole host is a
//!    literal loopback host (`localhost`, `app.localhost`, `127.0.0.1`, `[::1]`, as for
//!    `allow_origins`);
//! 2. a host that is either entirely literal (`app\.example\.com`), or ends in a literal,
//!    unquantified `\.` followed by a domain written as literal labels with escaped dots
//!    (`[a-z0-9-]+\.example\.com`), or starts with a part whose every match is empty or ends
//!    with `.` (`(www\.)?`, `([a-z0-9-]+\.)*`) followed by such a literal domain
//!    (`(www\.)?example\.com`);
//! 3. at most one port: `:` followed by digits (`:8443`, `:[0-9]+`, `:\d{1,5}`), or a group
//!    quantified to at most once whose every alternative is that (`(:[0-9]+)?`, `(?::\d+)?`);
//! 4. the end.
//!
//! The named domain must have at least two labels, must not end in a number (that is an IP
//! address) and must not be a public suffix ([`is_public_suffix`]). Flag groups (`(?i)`,
//! `(?s)`, `(?i:...)`) are refused: `(?i)` changes what letters match and buys nothing since
//! browsers send origins in lower case. (The engine refuses `(?x)` in every pattern.)
//!
//! # Why this is sound
//!
//! The filter tests a regex only against an `Origin` value (Fetch §3.2.5, the serialized request
//! origin) that already parsed as a canonical serialized origin
//! ([`super::origin::parse_origin`], called by `decide::check_origin`): the HTML standard's ASCII
//! serialization of an origin
//! (<https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin>),
//! `scheme "://" host [":" port]`, where the host is a lower-case domain of letters, digits,
//! `-` and `_` in non-empty dot-separated labels, or a bracketed IPv6 address
//! (<https://url.spec.whatwg.org/#host-serializing>), and the port is digits. Let an origin
//! `s` match `https://` + H + `.` + D + P, where H is whatever the middle of the host
//! matched, D the literal domain and P the port part, which matches only the empty string or
//! `:` + digits. The scheme of `s` is the text before its first `://`, so it is `https`. The
//! text after `://` is `H.D` + P. It is not a bracketed IPv6 host: that host's `]` would lie
//! in H (neither `.D` nor P contains one) and be followed by nothing or `:` + digits, yet
//! `.D` follows it. So the host runs to the first `:`, and that `:` cannot lie in H: the port
//! would then contain `.D`, and a port is only digits.
//! Hence the host is `H.D` with a non-empty H (labels are never empty): a subdomain of D. When
//! a leading part matched `g` that is empty or ends in `.`, the host is `gD` by the same
//! argument: D itself or a subdomain of it. When the whole host is literal, it is that host.
//! Whatever the middle of the pattern matches (`.*`, `[^/]+`, `\w+`), it cannot reach across
//! `/`, `@`, `?`, `#` or a second `:`, because the origin has none.
//!
//! The analysis reads the pattern only after the engine ([`super::regex`]) accepted it; any
//! syntax it does not model (there should be none) makes the pattern "not provably safe",
//! never "safe".

use std::fmt;

use super::origin;
use super::public_suffix::{has_public_suffix_below, is_public_suffix};
use super::regex::{Atom, Literal, Look, Piece, DIGIT};

/// The rule in one sentence, appended to every finding.
pub(crate) const RULE: &str =
    "an origin regex must be a literal `https://` (`http://` only before a literal loopback host), \
then a literal host or one ending in an escaped `\\.` + a registrable domain (`[a-z0-9-]+\\.example\\.com`), \
then at most a port (`:[0-9]+`, `(:[0-9]+)?`), so that it matches only that domain's https origins";

/// Alternatives examined after expanding groups: `(a|b)(c|d)...` grows exponentially, and a
/// pattern past this is not something a reader can check either.
const MAX_ALTERNATIVES: usize = 256;

/// Which part of the rule a pattern breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A flag group (`(?i)`, ...) changes what letters or spaces match.
    FlagGroup,
    /// The alternative does not start with a literal `https://` or `http://`.
    Scheme,
    /// `http://` before a host that is not a literal loopback host.
    PlainHttp,
    /// The host neither is literal nor ends in `\.` + literal domain.
    HostEnd,
    /// Something other than a port follows the domain.
    AfterDomain,
    /// The domain is a public suffix.
    PublicSuffix,
    /// The literal host or domain is not one a browser can send (upper case, IP, ...).
    NotAHost,
    /// Too many alternatives once groups are expanded.
    TooManyAlternatives,
}

/// Why a pattern is not provably confined, in words that name the failing part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub why: Why,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

fn finding(why: Why, detail: impl Into<String>) -> Finding {
    Finding {
        why,
        detail: detail.into(),
    }
}

/// Check the pattern between the mandatory `^` and `$` (`inner`), read from the parse the
/// engine compiled, so the analysis and the matcher never disagree about what a pattern says.
/// `None`: every origin it can match is https (or http on a literal loopback host) on one
/// literal host or within one registrable domain.
pub(crate) fn check(alternatives: &[Vec<Piece>], inner: &str) -> Option<Finding> {
    if let Some(text) = alternatives.iter().find_map(|seq| flag_group(seq, inner)) {
        return Some(finding(
            Why::FlagGroup,
            format!("the flag group `{text}` changes what the pattern's letters or spaces match"),
        ));
    }
    let mut branches = Vec::new();
    for seq in alternatives {
        match expand(seq, MAX_ALTERNATIVES.saturating_sub(branches.len())) {
            Some(more) => branches.extend(more),
            None => {
                return Some(finding(
                    Why::TooManyAlternatives,
                    format!("more than {MAX_ALTERNATIVES} alternatives once groups are expanded"),
                ))
            }
        }
    }
    let several = branches.len() > 1;
    branches.iter().find_map(|branch| {
        check_branch(branch, inner).err().map(|f| {
            if several {
                let text = render(branch, inner);
                finding(f.why, format!("in the alternative `{text}`: {}", f.detail))
            } else {
                f
            }
        })
    })
}

/// One alternative: scheme, host, optional port, end.
fn check_branch(branch: &[&Piece], inner: &str) -> Result<(), Finding> {
    // `^` first and `$` last hold anyway: the pattern is compiled as `^(?:...)$`.
    let start = branch
        .iter()
        .take_while(|p| p.is_unquantified(|a| matches!(a, Atom::Look(Look::Start))))
        .count();
    let end = branch.len()
        - branch
            .iter()
            .rev()
            .take_while(|p| p.is_unquantified(|a| matches!(a, Atom::Look(Look::End))))
            .count();
    let pieces = branch.get(start..end.max(start)).unwrap_or_default();
    let (lead, _) = literal_prefix(pieces);
    let (scheme_len, http) = if lead.starts_with("https://") {
        (8, false)
    } else if lead.starts_with("http://") {
        (7, true)
    } else {
        let text = render(pieces, inner);
        return Err(finding(
            Why::Scheme,
            format!("`{text}` does not start with a literal `https://`"),
        ));
    };
    let rest = pieces.get(scheme_len..).unwrap_or_default();
    let (host, _port) = split_port(rest);
    check_host(host, http, inner)
}

/// Split off a trailing port form: a group matched at most once whose every alternative is
/// `:` + digits, or `:` + digits at the end.
fn split_port<'s, 'p>(rest: &'s [&'p Piece]) -> (&'s [&'p Piece], &'s [&'p Piece]) {
    if let Some((last, before)) = rest.split_last() {
        if let Atom::Group { alternatives, .. } = &last.atom {
            if last.max().is_some_and(|m| m <= 1) && alternatives.iter().all(|a| is_port(&refs(a))) {
                return (before, std::slice::from_ref(last));
            }
        }
    }
    if let Some(colon) = rest.iter().rposition(|p| p.literal() == Some(':')) {
        if let Some((host, port)) = rest.split_at_checked(colon) {
            if is_port(port) {
                return (host, port);
            }
        }
    }
    (rest, &[])
}

/// `:` then one or more pieces that match only ASCII digits.
fn is_port(seq: &[&Piece]) -> bool {
    match seq.split_first() {
        Some((colon, digits)) => {
            colon.literal() == Some(':') && !digits.is_empty() && digits.iter().all(|d| d.only_digits())
        }
        None => false,
    }
}

fn check_host(host: &[&Piece], http: bool, inner: &str) -> Result<(), Finding> {
    let (name, literal) = literal_prefix(host);
    if literal == host.len() {
        return literal_host(&name, http);
    }
    let text = render(host, inner);
    if http {
        return Err(plain_http(&text));
    }
    // The trailing literal labels, and what comes before them.
    let split = host
        .iter()
        .rposition(|p| !p.literal().is_some_and(is_domain_char))
        .map_or(0, |i| i + 1);
    let (head, tail) = host.split_at_checked(split).unwrap_or((host, &[]));
    let (labels, _) = literal_prefix(tail);
    let (domain, glued) = match dot_end(head) {
        DotEnd::Always | DotEnd::OrEmpty => (labels.as_str(), ""),
        DotEnd::No => match labels.split_once('.') {
            Some((glued, domain)) => (domain, glued),
            None => return Err(after_domain(host, inner).unwrap_or_else(|| host_end(&text))),
        },
    };
    if domain.is_empty() {
        return Err(host_end(&text));
    }
    check_domain(domain).map_err(|f| {
        if glued.is_empty() {
            f
        } else {
            let before = render(head, inner);
            finding(
                Why::HostEnd,
                format!(
                    "{}: `{labels}` follows `{before}` without a `\\.`, so https://evil{labels} matches too",
                    host_end(&text).detail
                ),
            )
        }
    })
}

fn host_end(text: &str) -> Finding {
    finding(
        Why::HostEnd,
        format!("the host `{text}` does not end in an escaped `\\.` + registrable domain"),
    )
}

fn plain_http(host: &str) -> Finding {
    finding(
        Why::PlainHttp,
        format!(
            "`http://` is allowed only before a literal loopback host (localhost, *.localhost, 127.x.y.z, [::1]), not `{host}`: a network attacker answers for plain-http origins"
        ),
    )
}

/// The host has a literal `.` followed by domain labels, then something else: report that.
fn after_domain(host: &[&Piece], inner: &str) -> Option<Finding> {
    let dot = host.iter().rposition(|p| p.literal() == Some('.'))?;
    let rest = host.get(dot..)?;
    let labels_end = rest.iter().position(|p| !p.literal().is_some_and(is_domain_char))?;
    // `\.` directly followed by a pattern is a label the pattern writes, not an ending.
    if labels_end < 2 {
        return None;
    }
    let after = render(rest.get(labels_end..)?, inner);
    Some(finding(
        Why::AfterDomain,
        format!("`{after}` follows the domain, where only a port (`:[0-9]+`, `(:[0-9]+)?`) may"),
    ))
}

fn literal_host(name: &str, http: bool) -> Result<(), Finding> {
    let serialized = format!("https://{name}");
    match origin::parse_origin(&serialized) {
        Ok(o) if o.host == name && o.port.is_none() => {}
        Ok(_) => return Err(finding(Why::NotAHost, format!("`{name}` is not a host name"))),
        Err(e) => return Err(finding(Why::NotAHost, format!("the host `{name}` {e}"))),
    }
    if http && !origin::is_loopback_host(name) {
        return Err(plain_http(name));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), Finding> {
    let serialized = format!("https://{domain}");
    if let Err(e) = origin::parse_origin(&serialized) {
        return Err(finding(Why::NotAHost, format!("the domain `{domain}` {e}")));
    }
    if domain
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(finding(
            Why::NotAHost,
            format!("`{domain}` ends in a number: it names IP addresses, not a domain"),
        ));
    }
    if !domain.contains('.') || is_public_suffix(domain) {
        return Err(finding(
            Why::PublicSuffix,
            format!("the domain `{domain}` is a public suffix, under which anyone can register a name"),
        ));
    }
    if has_public_suffix_below(domain) {
        return Err(finding(
            Why::PublicSuffix,
            format!("the Public Suffix List has entries under `{domain}`: each is a public suffix, under which anyone can register a name; name the subdomain you own"),
        ));
    }
    Ok(())
}

/// Characters of a host name as browsers serialize it (upper case included so that the
/// domain check can say it never matches).
fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// What every string a sequence matches ends with, as far as `.` is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DotEnd {
    /// Never empty, always ends with `.`.
    Always,
    /// Empty, or ends with `.`.
    OrEmpty,
    No,
}

fn dot_end(seq: &[&Piece]) -> DotEnd {
    // Walk back over parts that may be empty until one that is never empty decides.
    for piece in seq.iter().rev() {
        let atom = match &piece.atom {
            Atom::Char {
                c: '.',
                written: Literal::Plain,
                ..
            } => DotEnd::Always,
            Atom::Group { alternatives, .. } => {
                alternatives
                    .iter()
                    .map(|a| dot_end(&refs(a)))
                    .fold(DotEnd::Always, |acc, d| match (acc, d) {
                        (DotEnd::No, _) | (_, DotEnd::No) => DotEnd::No,
                        (DotEnd::OrEmpty, _) | (_, DotEnd::OrEmpty) => DotEnd::OrEmpty,
                        _ => DotEnd::Always,
                    })
            }
            _ => DotEnd::No,
        };
        match (atom, piece.min()) {
            (DotEnd::No, _) => return DotEnd::No,
            (DotEnd::Always, 1..) => return DotEnd::Always,
            _ => {}
        }
    }
    DotEnd::OrEmpty
}

/// Replace every unquantified group by each of its alternatives, in turn: `https://(a|b)\.c`
/// is `https://a\.c` or `https://b\.c`. `None` past `budget` alternatives.
fn expand(seq: &[Piece], budget: usize) -> Option<Vec<Vec<&Piece>>> {
    let mut out = vec![Vec::new()];
    for piece in seq {
        match &piece.atom {
            Atom::Group { alternatives, .. } if !piece.quantified() => {
                let mut options = Vec::new();
                for alt in alternatives {
                    options.extend(expand(alt, budget)?);
                    if options.len() > budget {
                        return None;
                    }
                }
                if out.len().saturating_mul(options.len()) > budget {
                    return None;
                }
                let mut joined = Vec::new();
                for prefix in &out {
                    for option in &options {
                        joined.push([prefix.as_slice(), option].concat());
                    }
                }
                out = joined;
            }
            _ => out.iter_mut().for_each(|branch| branch.push(piece)),
        }
    }
    (out.len() <= budget).then_some(out)
}

/// A sequence as the references the checks read.
fn refs(seq: &[Piece]) -> Vec<&Piece> {
    seq.iter().collect()
}

/// The text of the first flag group, if any.
fn flag_group(seq: &[Piece], inner: &str) -> Option<String> {
    seq.iter().find_map(|p| match &p.atom {
        Atom::Flags | Atom::Group { flags: true, .. } => Some(p.text(inner).to_string()),
        Atom::Group { alternatives, .. } => alternatives.iter().find_map(|a| flag_group(a, inner)),
        _ => None,
    })
}

/// The characters of the literal pieces `seq` starts with, and how many pieces that is.
fn literal_prefix(seq: &[&Piece]) -> (String, usize) {
    let mut text = String::new();
    let mut n = 0;
    while let Some(c) = seq.get(n).and_then(|p| p.literal()) {
        text.push(c);
        n += 1;
    }
    (text, n)
}

fn render(seq: &[&Piece], inner: &str) -> String {
    seq.iter().map(|p| p.text(inner)).collect()
}

/// What the analysis asks of a piece of the engine's reading.
impl Piece {
    fn quantified(&self) -> bool {
        !self.repeats.is_empty()
    }

    /// Fewest repetitions of the atom its quantifiers allow together (`(a{2}){3}`: 6).
    fn min(&self) -> u32 {
        self.repeats.iter().fold(1, |n, (min, _)| n.saturating_mul(*min))
    }

    /// Most repetitions, `None` for unbounded. (Stacked quantifiers multiply: this bounds
    /// the count from above, which is all the port check needs.)
    fn max(&self) -> Option<u32> {
        self.repeats
            .iter()
            .try_fold(1u32, |n, (_, max)| max.map(|max| n.saturating_mul(max)))
    }

    /// The character this piece always matches exactly once, if it is written as itself
    /// (`a`, `\.`) without a quantifier.
    fn literal(&self) -> Option<char> {
        match self.atom {
            Atom::Char {
                c,
                written: Literal::Plain,
                ..
            } if !self.quantified() => Some(c),
            _ => None,
        }
    }

    fn is_unquantified(&self, atom: impl Fn(&Atom) -> bool) -> bool {
        !self.quantified() && atom(&self.atom)
    }

    fn only_digits(&self) -> bool {
        match self.atom {
            Atom::Char {
                c,
                written: Literal::Plain,
                ..
            } => c.is_ascii_digit(),
            Atom::Class(set) => set != 0 && set & !DIGIT == 0,
            _ => false,
        }
    }

    fn text<'a>(&self, inner: &'a str) -> &'a str {
        inner.get(self.start..self.end).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::origin_matcher::{Issue, OriginMatcher, RegexIssue};
    use crate::rules::{Collected, Xorshift};

    /// Where an accepted credentialed pattern may match: `scheme` origins whose host is one of
    /// `domains` (`apex`) or a subdomain of one (`subs`), with a port only when `port`.
    /// `allowed` are origins it must match, so the soundness test cannot pass vacuously.
    struct Scope {
        scheme: &'static str,
        domains: &'static [&'static str],
        apex: bool,
        subs: bool,
        port: bool,
        allowed: &'static [&'static str],
    }

    enum Expect {
        Safe(Scope),
        Refused(Why),
    }
    use Expect::{Refused, Safe};

    const fn https(
        domains: &'static [&'static str],
        apex: bool,
        subs: bool,
        allowed: &'static [&'static str],
    ) -> Expect {
        Safe(Scope {
            scheme: "https",
            domains,
            apex,
            subs,
            port: false,
            allowed,
        })
    }

    const fn with_port(domains: &'static [&'static str], allowed: &'static [&'static str]) -> Expect {
        Safe(Scope {
            scheme: "https",
            domains,
            apex: false,
            subs: true,
            port: true,
            allowed,
        })
    }

    const fn loopback(host: &'static [&'static str], allowed: &'static [&'static str]) -> Expect {
        Safe(Scope {
            scheme: "http",
            domains: host,
            apex: true,
            subs: false,
            port: true,
            allowed,
        })
    }

    const EX: &[&str] = &["example.com"];

    /// Every shape the rule has to get right, with credentials and without.
    const TABLE: &[(&str, Expect)] = &[
        // Literal hosts, and hosts ending in `\.` + a registrable domain.
        (
            r"^https://app\.example\.com$",
            https(&["app.example.com"], true, false, &["https://app.example.com"]),
        ),
        (
            r"^https://pr-[0-9]+\.preview\.example\.com$",
            https(
                &["preview.example.com"],
                false,
                true,
                &["https://pr-7.preview.example.com"],
            ),
        ),
        (
            r"^https://[a-z0-9-]+\.example\.com$",
            https(EX, false, true, &["https://a-1.example.com"]),
        ),
        (
            r"^https://.+\.example\.com$",
            https(EX, false, true, &["https://a.b.example.com"]),
        ),
        (
            r"^https://.*\.example\.com$",
            https(EX, false, true, &["https://a.example.com"]),
        ),
        (
            r"^https://.*?\.example\.com$",
            https(EX, false, true, &["https://a.example.com"]),
        ),
        (
            r"^https://[^/]+\.example\.com$",
            https(EX, false, true, &["https://a.example.com"]),
        ),
        (
            r"^https://\w+\.example\.com$",
            https(EX, false, true, &["https://a_1.example.com"]),
        ),
        (
            r"^https://[a-z0-9]+-app\.example\.com$",
            https(EX, false, true, &["https://x-app.example.com"]),
        ),
        (
            r"^https://[a-z]+\.app\.github\.io$",
            https(&["app.github.io"], false, true, &["https://x.app.github.io"]),
        ),
        // Optional leading parts that end in `\.`: the bare domain too.
        (
            r"^https://(www\.)?example\.com$",
            https(EX, true, true, &["https://example.com", "https://www.example.com"]),
        ),
        (
            r"^https://(www\.|api\.)?example\.com$",
            https(EX, true, true, &["https://api.example.com"]),
        ),
        (
            r"^https://(?:[a-z0-9-]+\.)*example\.com$",
            https(EX, true, true, &["https://a.b.example.com"]),
        ),
        (
            r"^https://([a-z]+\.)+example\.co\.uk$",
            https(&["example.co.uk"], false, true, &["https://a.example.co.uk"]),
        ),
        // Alternations: inside groups, in a group around everything, at the top level.
        (
            r"^https://(app|admin)\.example\.com$",
            https(EX, false, true, &["https://admin.example.com"]),
        ),
        (
            r"^https://(?P<env>[a-z]+)\.example\.com$",
            https(EX, false, true, &["https://dev.example.com"]),
        ),
        (
            r"^https://[a-z]+\.(example|other)\.com$",
            https(&["example.com", "other.com"], false, true, &["https://a.other.com"]),
        ),
        (
            r"^(https://app\.example\.com|https://[a-z]+\.example\.org)$",
            https(
                &["app.example.com", "example.org"],
                true,
                true,
                &["https://a.example.org"],
            ),
        ),
        (
            r"^https://app\.example\.com|https://admin\.example\.com$",
            https(
                &["app.example.com", "admin.example.com"],
                true,
                false,
                &["https://admin.example.com"],
            ),
        ),
        // Each accepted port form.
        (
            r"^https://[a-z]+\.example\.com:8443$",
            with_port(EX, &["https://a.example.com:8443"]),
        ),
        (
            r"^https://[a-z]+\.example\.com:[0-9]+$",
            with_port(EX, &["https://a.example.com:3000"]),
        ),
        (
            r"^https://[a-z]+\.example\.com:\d+$",
            with_port(EX, &["https://a.example.com:3000"]),
        ),
        (
            r"^https://[a-z]+\.example\.com:[0-9]{1,5}$",
            with_port(EX, &["https://a.example.com:1"]),
        ),
        (
            r"^https://[a-z]+\.example\.com(:[0-9]+)?$",
            with_port(EX, &["https://a.example.com"]),
        ),
        (
            r"^https://[a-z]+\.example\.com(?::[0-9]+)?$",
            with_port(EX, &["https://a.example.com:8443"]),
        ),
        (
            r"^https://[a-z]+\.example\.com(:\d+)?$",
            with_port(EX, &["https://a.example.com:8443"]),
        ),
        (
            r"^https://[a-z]+\.example\.com(?::\d{1,5})?$",
            with_port(EX, &["https://a.example.com:8443"]),
        ),
        (
            r"^https://[a-z]+\.example\.com(:8080|:8443)?$",
            with_port(EX, &["https://a.example.com:8080"]),
        ),
        // Plain http on literal loopback hosts.
        (
            r"^http://localhost(:[0-9]+)?$",
            loopback(&["localhost"], &["http://localhost:3000"]),
        ),
        (
            r"^http://127\.0\.0\.1:\d+$",
            loopback(&["127.0.0.1"], &["http://127.0.0.1:8080"]),
        ),
        (r"^http://\[::1\](:\d+)?$", loopback(&["[::1]"], &["http://[::1]:8080"])),
        (
            r"^http://app\.localhost$",
            loopback(&["app.localhost"], &["http://app.localhost"]),
        ),
        // The three examples of the issue.
        (r"^https?://.+$", Refused(Why::Scheme)),
        (r"^https?://app\.example\.com$", Refused(Why::Scheme)),
        (r"^https://.*example\.com$", Refused(Why::HostEnd)),
        // Schemes that are not a literal https://.
        (r"^(http|https)://app\.example\.com$", Refused(Why::PlainHttp)),
        (r"^[h]ttps://app\.example\.com$", Refused(Why::Scheme)),
        (r"^http://app\.example\.com$", Refused(Why::PlainHttp)),
        (r"^http://[a-z]+\.localhost$", Refused(Why::PlainHttp)),
        (r"^http://localhost\.evil\.com$", Refused(Why::PlainHttp)),
        (r"^chrome-extension://[a-p]{32}$", Refused(Why::Scheme)),
        (r"^.+://app\.example\.com$", Refused(Why::Scheme)),
        // Flag groups.
        (r"^(?i)https://app\.example\.com$", Refused(Why::FlagGroup)),
        (r"^https://(?i:app)\.example\.com$", Refused(Why::FlagGroup)),
        // Public suffixes.
        (r"^https://.+\.com$", Refused(Why::PublicSuffix)),
        (r"^https://.+\.co\.uk$", Refused(Why::PublicSuffix)),
        (r"^https://[a-z]+\.github\.io$", Refused(Why::PublicSuffix)),
        (r"^https://.+\.(com|net)$", Refused(Why::PublicSuffix)),
        (r"^https://(www\.)?co\.uk$", Refused(Why::PublicSuffix)),
        (r"^https://\w+\.localhost$", Refused(Why::PublicSuffix)),
        (r"^https://.+\.amazonaws\.com$", Refused(Why::PublicSuffix)),
        (r"^https://[a-z]+\.kawasaki\.jp$", Refused(Why::PublicSuffix)),
        // Hosts that do not end in `\.` + a literal domain.
        (r"^https://.+$", Refused(Why::HostEnd)),
        (r"^https://[a-z]+$", Refused(Why::HostEnd)),
        (r"^https://[^.]+example\.com$", Refused(Why::HostEnd)),
        (r"^https://[a-z]+[.]example\.com$", Refused(Why::HostEnd)),
        (r"^https://.*\x2eexample\.com$", Refused(Why::HostEnd)),
        (r"^https://.*(www\.)?example\.com$", Refused(Why::HostEnd)),
        (r"^https://\d+\.\d+\.\d+\.\d+$", Refused(Why::HostEnd)),
        (r"^https://([a-z]+\.)+$", Refused(Why::HostEnd)),
        // Anything but a port after the domain.
        (r"^https://app\.example\.com.*$", Refused(Why::AfterDomain)),
        (r"^https://.+\.example\.com.+$", Refused(Why::AfterDomain)),
        (r"^https://.+\.example\.com(\.evil\.com)?$", Refused(Why::AfterDomain)),
        (
            r"^https://(www\.)?example\.com(\.evil\.net)?$",
            Refused(Why::AfterDomain),
        ),
        (r"^https://.+\.example\.com(:.*)?$", Refused(Why::AfterDomain)),
        (r"^https://[a-z]+\.example\.com(:[0-9]+)*$", Refused(Why::AfterDomain)),
        (r"^https://[a-z]+\.example\.com:[0-9a-f]+$", Refused(Why::AfterDomain)),
        (r"^https://[a-z]+\.example\.com\.?$", Refused(Why::AfterDomain)),
        (r"^https://[a-z]+\.example\.com(:[0-9]+)?/?$", Refused(Why::AfterDomain)),
        (r"^https://[a-z]+\.example\.com[a-z]*$", Refused(Why::AfterDomain)),
        // One bad alternative among good ones.
        (r"^https://app\.example\.com|https://.+$", Refused(Why::HostEnd)),
        (r"^https://(app\.example\.com|.+\.com)$", Refused(Why::PublicSuffix)),
        (
            r"^https://app\.example\.com|[a-z]+://x\.example\.com$",
            Refused(Why::Scheme),
        ),
        (
            r"^(https://a\.example\.com|http://b\.example\.com)$",
            Refused(Why::PlainHttp),
        ),
        // Hosts and domains a browser never sends.
        (r"^https://[a-z]+\.0\.1$", Refused(Why::NotAHost)),
        (r"^https://[a-z]+\.Example\.com$", Refused(Why::NotAHost)),
        (r"^https://\.example\.com$", Refused(Why::NotAHost)),
    ];

    /// The analysis of `inner` as the engine parses it.
    fn check(inner: &str) -> Option<Finding> {
        super::check(&crate::rules::regex::parse(inner).unwrap(), inner)
    }

    fn inner(pattern: &str) -> &str {
        pattern.get(1..pattern.len() - 1).unwrap_or_default()
    }

    fn build(pattern: &str, credentials: bool) -> (OriginMatcher, Collected<Issue>) {
        let mut errors = Collected::default();
        let regexes = [("r".to_string(), pattern.to_string())];
        let m = OriginMatcher::build(&[], &regexes, credentials, &mut errors);
        (m, errors)
    }

    fn fragment(why: Why) -> &'static str {
        match why {
            Why::FlagGroup => "flag group",
            Why::Scheme => "does not start with a literal `https://`",
            Why::PlainHttp => "`http://` is allowed only before a literal loopback host",
            Why::HostEnd => "does not end in an escaped `\\.` + registrable domain",
            Why::AfterDomain => "follows the domain, where only a port",
            Why::PublicSuffix => "is a public suffix",
            Why::NotAHost => "`",
            Why::TooManyAlternatives => "alternatives once groups are expanded",
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_pattern_shape_is_accepted_or_refused_with_the_part_that_fails_named() {
        assert!(TABLE.len() >= 40);
        for (pattern, expect) in TABLE {
            let found = check(inner(pattern));
            match expect {
                Safe(_) => assert_eq!(found, None, "{pattern}"),
                Refused(why) => {
                    let f = found.unwrap_or_else(|| panic!("{pattern} must be refused"));
                    assert_eq!(f.why, *why, "{pattern}: {}", f.detail);
                    assert!(f.detail.contains(fragment(*why)), "{pattern}: {}", f.detail);
                }
            }
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn with_credentials_a_finding_is_an_error_and_without_it_is_a_warning() {
        for (pattern, expect) in TABLE {
            let (_, with) = build(pattern, true);
            let (_, without) = build(pattern, false);
            assert!(with.warnings.is_empty() && without.errors.is_empty(), "{pattern}");
            match expect {
                Safe(_) => {
                    assert!(with.errors.is_empty(), "{pattern}: {with:?}");
                    assert!(without.warnings.is_empty(), "{pattern}: {:?}", without.warnings);
                }
                Refused(why) => {
                    // The same finding, refused with credentials and questioned without.
                    let detail = check(inner(pattern)).map(|f| f.detail).unwrap_or_default();
                    assert!(detail.contains(fragment(*why)), "{pattern}: {detail}");
                    let issue = |credentials| {
                        Issue::Regex(RegexIssue::NotConfined {
                            why: *why,
                            detail: detail.clone(),
                            credentials,
                        })
                    };
                    assert_eq!(with.errors, [("r".to_string(), issue(true))], "{pattern}");
                    assert_eq!(without.warnings, [("r".to_string(), issue(false))], "{pattern}");
                }
            }
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn messages_name_the_failing_part_of_the_pattern() {
        let detail = |p: &str| check(inner(p)).map(|f| f.detail).unwrap_or_default();
        assert_eq!(
            detail(r"^https://.*example\.com$"),
            r"the host `.*example\.com` does not end in an escaped `\.` + registrable domain: `example.com` follows `.*` without a `\.`, so https://evilexample.com matches too"
        );
        assert_eq!(
            detail(r"^https://.+\.example\.com(\.evil\.com)?$"),
            r"`(\.evil\.com)?` follows the domain, where only a port (`:[0-9]+`, `(:[0-9]+)?`) may"
        );
        assert_eq!(
            detail(r"^https://.+\.co\.uk$"),
            "the domain `co.uk` is a public suffix, under which anyone can register a name"
        );
        assert_eq!(
            detail(r"^https?://.+$"),
            r"`https?://.+` does not start with a literal `https://`"
        );
        assert_eq!(
            detail(r"^(http|https)://app\.example\.com$"),
            r"in the alternative `http://app\.example\.com`: `http://` is allowed only before a literal loopback host (localhost, *.localhost, 127.x.y.z, [::1]), not `app.example.com`: a network attacker answers for plain-http origins"
        );
        assert_eq!(
            detail(r"^(?i)https://app\.example\.com$"),
            "the flag group `(?i)` changes what the pattern's letters or spaces match"
        );
        assert_eq!(
            detail(r"^https://[a-z]+\.0\.1$"),
            "`0.1` ends in a number: it names IP addresses, not a domain"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn group_expansion_is_bounded() {
        let nine = format!(r"^https://{}\.example\.com$", "(a|b)".repeat(9));
        assert_eq!(check(inner(&nine)).map(|f| f.why), Some(Why::TooManyAlternatives));
        let eight = format!(r"^https://{}\.example\.com$", "(a|b)".repeat(8));
        assert_eq!(check(inner(&eight)), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_pattern_that_is_only_valid_once_wrapped_is_an_error_with_or_without_credentials() {
        for credentials in [true, false] {
            let (_, errors) = build(r"^https://a\.example\.com)|(https://.*$", credentials);
            assert!(
                matches!(errors.errors.as_slice(), [(path, Issue::Regex(RegexIssue::Invalid { .. }))] if path == "r"),
                "{errors:?}"
            );
        }
    }

    /// Hosts built to break a pattern confined to the scope's domains (and the hosts of the
    /// origins it allows): the domains and their parents,
    /// subdomains, siblings under the same public suffix, look-alikes glued to a label
    /// (`evilexample.com`), the domain as a prefix (`example.com.evil.net`), and random hosts
    /// made of the same labels.
    fn hostile_hosts(scope: &Scope, rng: &mut Xorshift) -> Vec<String> {
        let domains = scope.domains;
        let mut labels: Vec<String> = [
            "evil",
            "www",
            "app",
            "admin",
            "pr-1",
            "x",
            "a-b",
            "_x",
            "com",
            "net",
            "org",
            "io",
            "co",
            "uk",
            "github",
            "localhost",
            "127",
            "0",
            "1",
            "example",
            "preview",
            "evil-example",
        ]
        .map(String::from)
        .to_vec();
        let mut hosts = Vec::new();
        let allowed = scope
            .allowed
            .iter()
            .filter_map(|o| origin::parse_origin(o).ok())
            .map(|o| o.host);
        for d in domains.iter().copied().chain(allowed) {
            labels.extend(d.split('.').map(String::from));
            labels.push(d.replace('.', ""));
            labels.push(d.replace('.', "-"));
            let mut parents = vec![d.to_string()];
            parents.extend(
                d.match_indices('.')
                    .filter_map(|(i, _)| d.get(i + 1..))
                    .map(String::from),
            );
            for s in parents {
                hosts.extend([
                    s.clone(),
                    format!("evil.{s}"),
                    format!("a.b.{s}"),
                    format!("evil{s}"),
                    format!("evil-{s}"),
                    format!("{s}.evil.net"),
                    format!("app.{s}.evil.net"),
                    format!("{s}evil.net"),
                    format!("{s}-evil.net"),
                ]);
            }
        }
        for _ in 0..300 {
            let n = 1 + rng.below(5);
            let mut host: Vec<String> = (0..n).map(|_| labels[rng.below(labels.len())].clone()).collect();
            let d = domains[rng.below(domains.len())];
            match rng.below(4) {
                0 => host.push(d.to_string()),
                1 => host.insert(0, d.to_string()),
                _ => {}
            }
            hosts.push(host.join("."));
        }
        hosts
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn accepted_credentialed_patterns_never_match_outside_their_scheme_and_domain() {
        let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for (pattern, expect) in TABLE {
            let Safe(scope) = expect else { continue };
            let (m, errors) = build(pattern, true);
            assert!(errors.errors.is_empty(), "{pattern}: {errors:?}");
            let matches = |raw: &str| origin::parse_origin(raw).is_ok_and(|o| m.matches(raw, &o));
            for ok in scope.allowed {
                assert!(matches(ok), "{pattern} must match {ok}");
            }
            let inside = |raw: &str| {
                origin::parse_origin(raw).is_ok_and(|o| {
                    o.scheme == scope.scheme
                        && (scope.port || o.port.is_none())
                        && scope.domains.iter().any(|d| {
                            (scope.apex && o.host == *d)
                                || (scope.subs && o.host.strip_suffix(d).is_some_and(|h| h.ends_with('.')))
                        })
                })
            };
            let mut matched = 0;
            for host in hostile_hosts(scope, &mut rng) {
                for scheme in ["https", "http", "wss"] {
                    for port in ["", ":8443", ":3000"] {
                        let raw = format!("{scheme}://{host}{port}");
                        if origin::parse_origin(&raw).is_err() {
                            continue;
                        }
                        checked += 1;
                        if matches(&raw) {
                            matched += 1;
                            assert!(inside(&raw), "{pattern} matches {raw}, outside its scope");
                        }
                    }
                }
            }
            assert!(matched > 0, "{pattern}: the generated origins never hit the pattern");
        }
        assert!(checked > 50_000, "{checked}");
    }
}
