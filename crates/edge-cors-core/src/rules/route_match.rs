//! Which requests a policy applies to, seen as Envoy's router sees them: the `:authority` (host
//! and port as sent, compared case-insensitively) and the `:path` (whole segments, the query
//! left out).
//!
//! Host: Envoy's virtual-host `domains` compare the lower-cased Host *including* its port and
//! any trailing dot (`RouteMatcher::findVirtualHost` in source/common/router/config_impl.cc);
//! `example.com:443` and `example.com.` reach another virtual host unless the connection
//! manager sets `strip_any_host_port` / `strip_matching_host_port` and `strip_trailing_host_dot`
//! (http_connection_manager.proto). The filter runs before the router on the same headers, so
//! it compares the same way: no port or dot is stripped here, and an entry names the port it
//! covers (`api.example.com:8443`, or `api.example.com:*` for any explicit port, as a
//! `domains` prefix wildcard does).
//!
//! Path: a prefix covers itself and what lies below it, segment by segment, as Envoy's
//! `path_separated_prefix` and Gateway API's `PathPrefix` do: `/status` covers `/status`,
//! `/status/x` and `/status?x`, never `/status-internal`. Comparison is case-sensitive.
//!
//! Route name: the `name` of the route Envoy's router matched (the `xds.route_name` property,
//! `streamInfo().route()->routeName()` in source/extensions/filters/common/expr/context.cc),
//! compared exactly. A request whose route has another name, or no route, does not match. Every
//! constraint a policy gives must fit (hosts AND path prefixes AND route names).

use super::decimal::decimal_u16;
use super::Findings;

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostName {
    /// A lower-case host name, or an IPv6 literal with its brackets.
    Exact(Box<str>),
    /// `*.example.com`: one or more labels under example.com (never the apex).
    Subdomains(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Port {
    /// The authority carries no port.
    Absent,
    /// Exactly this port, written canonically (no leading zero).
    Exact(Box<str>),
    /// `:*`: any explicit port (not the bare host: list that too, as for Envoy's `domains`).
    Any,
}

/// One (host entry, path prefix, route name) part of a route; `None`: any.
type Part<'r> = (Option<&'r HostMatch>, Option<&'r str>, Option<&'r str>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostMatch {
    name: HostName,
    port: Port,
}

/// What is wrong with a `match.hosts` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostIssue {
    /// Not a host name or IPv6 literal with an optional `*.` and port (a scheme or path, ...).
    NotAHost,
    /// Ends with `.`, which the router compares as another host.
    TrailingDot,
    /// Bracketed, but not an IPv6 literal.
    NotIpv6,
    /// A port that is not 1 to 65535 written without leading zeros, nor `*`.
    BadPort,
    /// Listed twice.
    Duplicate,
}

/// What is wrong with a `match.route_names` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteNameIssue {
    /// Empty: every route without a name has it, so it binds nothing in particular.
    Empty,
    /// Longer than [`MAX_ROUTE_NAME_LEN`] bytes.
    TooLong,
    /// Holds a control character, or starts or ends with whitespace: never a route's name as
    /// written in a routing object (a quoting slip).
    NotAName,
    /// Listed twice.
    Duplicate,
}

/// The longest route name accepted (Envoy Gateway's generated names hold a host name, up to
/// 253 bytes, after the route's namespace, name and indices).
pub const MAX_ROUTE_NAME_LEN: usize = 1024;

/// What is wrong with a `match.path_prefixes` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPrefixIssue {
    /// Does not start with `/`, or holds spaces or control characters.
    Syntax,
    /// Holds a query or fragment, which never take part in matching.
    QueryOrFragment,
    /// Holds `//`, a dot segment, `\\` or an encoded `/`, `\\` or `.`: no path it could match is accepted.
    NeverMatches,
    /// Listed twice (a trailing `/` makes no difference).
    Duplicate,
}

#[derive(Debug, Default)]
pub(crate) struct RouteMatch {
    hosts: Vec<HostMatch>,
    /// Normalized prefixes: no trailing `/`, never empty (a `/` entry removes the constraint).
    path_prefixes: Vec<Box<str>>,
    /// Exact names of the routes this policy is bound to; empty: any route, or none.
    route_names: Vec<Box<str>>,
}

/// Every list of a policy's `match`, as `(json path, value)` entries.
pub(crate) struct MatchEntries<'a> {
    pub(crate) hosts: &'a [(String, String)],
    pub(crate) path_prefixes: &'a [(String, String)],
    pub(crate) route_names: &'a [(String, String)],
}

impl RouteMatch {
    pub(crate) fn build(
        entries: &MatchEntries<'_>,
        errors: &mut (impl Findings<HostIssue> + Findings<PathPrefixIssue> + Findings<RouteNameIssue>),
    ) -> RouteMatch {
        let mut m = RouteMatch::default();
        for (path, name) in entries.route_names {
            match check_route_name(name) {
                Err(issue) => errors.refuse(path, name, issue),
                Ok(()) if m.route_names.iter().any(|n| **n == **name) => {
                    errors.refuse(path, name, RouteNameIssue::Duplicate)
                }
                Ok(()) => m.route_names.push(name.as_str().into()),
            }
        }
        let (hosts, prefixes) = (entries.hosts, entries.path_prefixes);
        for (path, h) in hosts {
            match parse_host_entry(h) {
                Err(issue) => errors.refuse(path, h, issue),
                Ok(entry) if m.hosts.contains(&entry) => errors.refuse(path, h, HostIssue::Duplicate),
                Ok(entry) => m.hosts.push(entry),
            }
        }
        let mut normalized: Vec<&str> = Vec::with_capacity(prefixes.len());
        for (path, p) in prefixes {
            match normalize_prefix(p) {
                Err(issue) => errors.refuse(path, p, issue),
                Ok(n) if normalized.contains(&n) => errors.refuse(path, p, PathPrefixIssue::Duplicate),
                Ok(n) => normalized.push(n),
            }
        }
        // `/` covers every path: the policy does not constrain paths at all.
        if !normalized.contains(&"") {
            m.path_prefixes = normalized.into_iter().map(Box::from).collect();
        }
        m
    }

    pub(crate) fn constrains_host(&self) -> bool {
        !self.hosts.is_empty()
    }

    pub(crate) fn constrains_path(&self) -> bool {
        !self.path_prefixes.is_empty()
    }

    pub(crate) fn constrains_route_name(&self) -> bool {
        !self.route_names.is_empty()
    }

    /// `route_name` is the name of the route the router matched (`None`: no route, or the
    /// host cannot tell).
    pub(crate) fn matches_route_name(&self, route_name: Option<&str>) -> bool {
        !self.constrains_route_name() || route_name.is_some_and(|r| self.route_names.iter().any(|n| **n == *r))
    }

    /// `authority` is the request's `:authority`, as received.
    pub(crate) fn matches_host(&self, authority: Option<&str>) -> bool {
        if !self.constrains_host() {
            return true;
        }
        let Some((host, port)) = authority.and_then(split_authority) else {
            return false;
        };
        self.hosts.iter().any(|m| m.matches(host, port))
    }

    /// `path` is the request's `:path` cut by [`route_path`].
    pub(crate) fn matches_path(&self, path: Option<&str>) -> bool {
        if !self.constrains_path() {
            return true;
        }
        path.is_some_and(|path| {
            self.path_prefixes.iter().any(|p| {
                path.strip_prefix(&**p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
        })
    }

    /// Does `self` fit every request with a host of `host` (`None`: any host, or none), a
    /// path under `prefix` (`None`: any path) and the route named `route` (`None`: any route)?
    fn covers_part(&self, (host, prefix, route): Part<'_>) -> bool {
        let route_ok = match route {
            _ if !self.constrains_route_name() => true,
            None => false,
            Some(r) => self.route_names.iter().any(|n| **n == *r),
        };
        let host_ok = match host {
            _ if !self.constrains_host() => true,
            None => false,
            Some(h) => self.hosts.iter().any(|m| m.covers(h)),
        };
        route_ok
            && host_ok
            && match prefix {
                _ if !self.constrains_path() => true,
                None => false,
                Some(q) => self.path_prefixes.iter().any(|p| prefix_covers(p, q)),
            }
    }

    /// The (host entry, path prefix, route name) parts whose union is every request `self`
    /// fits; `None` stands for "any" where `self` has no constraint.
    fn part(&self, i: usize) -> Part<'_> {
        let paths = self.path_prefixes.len().max(1);
        let hosts = self.hosts.len().max(1);
        (
            self.hosts.get(i / paths % hosts),
            self.path_prefixes.get(i % paths).map(|p| &**p),
            self.route_names.get(i / (paths * hosts)).map(|r| &**r),
        )
    }

    fn parts(&self) -> usize {
        self.hosts.len().max(1) * self.path_prefixes.len().max(1) * self.route_names.len().max(1)
    }

    /// The positions in `earlier` (routes in configuration order) of the routes that together
    /// fit every request `self` fits, or `None` when some request reaches `self`. A route fits
    /// the union of its (host entry, path prefix, route name) parts, so it is unreachable when
    /// each part is covered by one earlier route; the first route covering every part is named
    /// alone.
    /// Requests whose path is not normalized go to the first path-scoped route whose hosts
    /// match, which for a covered route is an earlier one too.
    pub(crate) fn shadowed_by(&self, earlier: &[&RouteMatch]) -> Option<Vec<usize>> {
        let covers = |r: &RouteMatch, i: usize| r.covers_part(self.part(i));
        if let Some(k) = earlier.iter().position(|r| (0..self.parts()).all(|i| covers(r, i))) {
            return Some(vec![k]);
        }
        // Each part's first covering route, listed in configuration order.
        let mut used = vec![false; earlier.len()];
        for i in 0..self.parts() {
            let k = earlier.iter().position(|r| covers(r, i))?;
            if let Some(u) = used.get_mut(k) {
                *u = true;
            }
        }
        Some((0..earlier.len()).filter(|&k| used.get(k) == Some(&true)).collect())
    }
}

impl HostMatch {
    fn matches(&self, host: &str, port: Option<&str>) -> bool {
        let port_ok = match (&self.port, port) {
            (Port::Absent, None) => true,
            (Port::Exact(p), Some(q)) => **p == *q,
            (Port::Any, Some(q)) => !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()),
            _ => false,
        };
        port_ok
            && match &self.name {
                HostName::Exact(h) => host.eq_ignore_ascii_case(h),
                HostName::Subdomains(base) => is_strict_subdomain(host, base),
            }
    }

    /// Does every authority `other` matches also match `self`?
    fn covers(&self, other: &HostMatch) -> bool {
        let port = match (&self.port, &other.port) {
            (Port::Any, Port::Any | Port::Exact(_)) => true,
            (a, b) => a == b,
        };
        port && match (&self.name, &other.name) {
            (HostName::Exact(a), HostName::Exact(b)) => a == b,
            (HostName::Subdomains(base), HostName::Exact(h)) => is_strict_subdomain(h, base),
            (HostName::Subdomains(a), HostName::Subdomains(b)) => a == b || is_strict_subdomain(b, a),
            (HostName::Exact(_), HostName::Subdomains(_)) => false,
        }
    }
}

/// `host` is one or more labels under `base` (case-insensitive).
fn is_strict_subdomain(host: &str, base: &str) -> bool {
    host.len() > base.len() + 1
        && host
            .get(host.len() - base.len() - 1..)
            .is_some_and(|tail| tail.starts_with('.') && tail.get(1..).is_some_and(|t| t.eq_ignore_ascii_case(base)))
}

/// Split an `:authority` into host and port (`None`: no port) as the router reads it: an IPv6
/// literal keeps its brackets; anything after them but a `:port` is not an authority.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = authority.get(..=end)?;
        let rest = authority.get(end + 1..)?;
        if rest.is_empty() {
            return Some((host, None));
        }
        return rest.strip_prefix(':').map(|port| (host, Some(port)));
    }
    Some(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn parse_host_entry(entry: &str) -> Result<HostMatch, HostIssue> {
    if entry.contains('/') {
        return Err(HostIssue::NotAHost);
    }
    let (host, port) = split_authority(entry).ok_or(HostIssue::NotAHost)?;
    if host.ends_with('.') {
        return Err(HostIssue::TrailingDot);
    }
    let name = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        if !is_ipv6_literal(inner) {
            return Err(HostIssue::NotIpv6);
        }
        HostName::Exact(host.into())
    } else if let Some(base) = host.strip_prefix("*.").filter(|b| is_host_name(b)) {
        HostName::Subdomains(base.into())
    } else if is_host_name(host) {
        HostName::Exact(host.into())
    } else {
        return Err(HostIssue::NotAHost);
    };
    let port = match port {
        None => Port::Absent,
        Some("*") => Port::Any,
        Some(p) if is_canonical_port(p) => Port::Exact(p.into()),
        Some(_) => return Err(HostIssue::BadPort),
    };
    Ok(HostMatch { name, port })
}

fn check_route_name(name: &str) -> Result<(), RouteNameIssue> {
    if name.is_empty() {
        return Err(RouteNameIssue::Empty);
    }
    if name.len() > MAX_ROUTE_NAME_LEN {
        return Err(RouteNameIssue::TooLong);
    }
    let padded = name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace);
    if padded || name.chars().any(char::is_control) {
        return Err(RouteNameIssue::NotAName);
    }
    Ok(())
}

fn is_canonical_port(p: &str) -> bool {
    !p.starts_with('0') && decimal_u16(p).is_some()
}

fn is_ipv6_literal(inner: &str) -> bool {
    inner.contains(':')
        && inner.len() <= 45
        && inner
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b':' || b == b'.')
}

fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

/// A configured prefix without its trailing `/` (`/` itself becomes empty: every path).
fn normalize_prefix(p: &str) -> Result<&str, PathPrefixIssue> {
    if !p.starts_with('/') || p.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(PathPrefixIssue::Syntax);
    }
    if p.bytes().any(|b| b == b'?' || b == b'#') {
        return Err(PathPrefixIssue::QueryOrFragment);
    }
    if is_unnormalized(p) {
        return Err(PathPrefixIssue::NeverMatches);
    }
    Ok(p.strip_suffix('/').unwrap_or(p))
}

/// `prefix` (normalized) covers every path under `other` (normalized).
fn prefix_covers(prefix: &str, other: &str) -> bool {
    other
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The part of a `:path` that routing compares: before the query (`?`) and any fragment.
pub(crate) fn route_path(path: &str) -> &str {
    path.bytes()
        .position(|b| b == b'?' || b == b'#')
        .and_then(|end| path.get(..end))
        .unwrap_or(path)
}

/// Would a normalizing router or upstream read `path` (already cut by [`route_path`]) as
/// another path? True for `//`, a `.` or `..` segment, a `\` (a separator to many servers), and
/// a percent-encoded `/`, `\` or `.` (`%2F`, `%5C`, `%2E`, any case): what Envoy's
/// `normalize_path`, `merge_slashes` and `path_with_escaped_slashes_action` would rewrite.
pub(crate) fn is_unnormalized(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.windows(2).any(|w| w == b"//")
        || bytes.contains(&b'\\')
        || bytes
            .windows(3)
            .any(|w| matches!(w, [b'%', b'2', b'f' | b'F' | b'e' | b'E'] | [b'%', b'5', b'c' | b'C']))
        || path.split('/').any(|s| s == "." || s == "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Collected;

    /// Either kind of finding the route builder reports.
    #[derive(Debug, PartialEq)]
    enum Issue {
        Host(HostIssue),
        Path(PathPrefixIssue),
        Route(RouteNameIssue),
    }

    impl From<RouteNameIssue> for Issue {
        fn from(i: RouteNameIssue) -> Issue {
            Issue::Route(i)
        }
    }

    fn entries(list: &[&str], path: &str) -> Vec<(String, String)> {
        list.iter().map(|s| (path.to_string(), s.to_string())).collect()
    }

    fn build(hosts: &[&str], prefixes: &[&str], names: &[&str], e: &mut Collected<Issue>) -> RouteMatch {
        let (h, p, r) = (entries(hosts, "h"), entries(prefixes, "p"), entries(names, "r"));
        RouteMatch::build(
            &MatchEntries {
                hosts: &h,
                path_prefixes: &p,
                route_names: &r,
            },
            e,
        )
    }

    impl From<HostIssue> for Issue {
        fn from(i: HostIssue) -> Issue {
            Issue::Host(i)
        }
    }

    impl From<PathPrefixIssue> for Issue {
        fn from(i: PathPrefixIssue) -> Issue {
            Issue::Path(i)
        }
    }

    fn named_route(hosts: &[&str], prefixes: &[&str], names: &[&str]) -> RouteMatch {
        let mut e = Collected::<Issue>::default();
        let r = build(hosts, prefixes, names, &mut e);
        assert!(e.errors.is_empty(), "{e:?}");
        r
    }

    fn route(hosts: &[&str], prefixes: &[&str]) -> RouteMatch {
        named_route(hosts, prefixes, &[])
    }

    fn host_errors(entry: &str) -> Collected<Issue> {
        let mut e = Collected::default();
        build(&[entry], &[], &[], &mut e);
        e
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn hosts_match_as_the_router_compares_them_case_insensitively_with_port_and_dot() {
        // (entries, authority, matches)
        let table: &[(&[&str], &str, bool)] = &[
            (&["api.example.com"], "api.example.com", true),
            (&["api.example.com"], "API.Example.COM", true),
            (&["api.example.com"], "api.example.com.", false),
            (&["api.example.com"], "api.example.com:8443", false),
            (&["api.example.com"], "api.example.com:443", false),
            (&["api.example.com"], "api.example.com:", false),
            (&["api.example.com:8443"], "api.example.com:8443", true),
            (&["api.example.com:8443"], "API.example.com:8443", true),
            (&["api.example.com:8443"], "api.example.com", false),
            (&["api.example.com:8443"], "api.example.com:08443", false),
            (&["api.example.com:8443"], "api.example.com:443", false),
            (&["api.example.com:8443"], "api.example.com.:8443", false),
            (&["api.example.com:*"], "api.example.com:1", true),
            (&["api.example.com:*"], "api.example.com:65535", true),
            (&["api.example.com:*"], "api.example.com", false),
            (&["api.example.com:*"], "api.example.com:", false),
            (&["api.example.com:*"], "api.example.com:x", false),
            (&["api.example.com", "api.example.com:*"], "api.example.com", true),
            (&["api.example.com", "api.example.com:*"], "api.example.com:10000", true),
            (&["*.example.org"], "a.example.org", true),
            (&["*.example.org"], "A.B.Example.org", true),
            (&["*.example.org"], "example.org", false),
            (&["*.example.org"], "evilexample.org", false),
            (&["*.example.org"], "a.example.org:443", false),
            (&["*.example.org"], "a.example.org.", false),
            (&["*.example.org:8443"], "a.example.org:8443", true),
            (&["*.example.org:8443"], "a.example.org", false),
            (&["*.example.org:8443"], "a.example.org:9443", false),
            (&["*.example.org:*"], "a.b.example.org:9443", true),
            (&["*.example.org:*"], "a.example.org", false),
            (&["[::1]"], "[::1]", true),
            (&["[::1]"], "[::1]:8080", false),
            (&["[::1]:8080"], "[::1]:8080", true),
            (&["[::1]:*"], "[::1]:8080", true),
            (&["[::1]:*"], "[::1]", false),
            (&["[2001:db8::1]"], "[2001:DB8::1]", true),
            (&["[::1]"], "::1", false),
            (&["[::1]"], "[::1]x", false),
            (&["127.0.0.1"], "127.0.0.1", true),
            (&["127.0.0.1"], "127.0.0.1:10000", false),
        ];
        for (entries, authority, want) in table {
            let r = route(entries, &[]);
            assert_eq!(r.matches_host(Some(authority)), *want, "{entries:?} vs {authority:?}");
        }
        assert!(!route(&["api.example.com"], &[]).matches_host(None));
        assert!(route(&[], &[]).matches_host(None));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn host_entries_that_the_router_could_never_see_are_refused() {
        for (entry, issue) in [
            ("API.example.com", HostIssue::NotAHost),
            ("https://api.example.com", HostIssue::NotAHost),
            ("api.example.com/x", HostIssue::NotAHost),
            ("api.example.com.", HostIssue::TrailingDot),
            ("*.example.com.:443", HostIssue::TrailingDot),
            ("api.example.com:0", HostIssue::BadPort),
            ("api.example.com:08443", HostIssue::BadPort),
            ("api.example.com:65536", HostIssue::BadPort),
            ("api.example.com:", HostIssue::BadPort),
            ("api.example.com:**", HostIssue::BadPort),
            ("[::g]", HostIssue::NotIpv6),
            ("[]", HostIssue::NotIpv6),
            ("[::1", HostIssue::NotAHost),
            ("*.[::1]", HostIssue::NotAHost),
            ("*", HostIssue::NotAHost),
            ("", HostIssue::NotAHost),
        ] {
            let e = host_errors(entry);
            assert!(e.has("h", &Issue::Host(issue)), "{entry:?}: {e:?}");
            assert_eq!(e.errors.len(), 1, "{entry:?}: {e:?}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn path_prefixes_match_whole_segments_before_the_query_case_sensitively() {
        // (prefixes, :path, matches)
        let table: &[(&[&str], &str, bool)] = &[
            (&["/status"], "/status", true),
            (&["/status"], "/status/", true),
            (&["/status"], "/status/a/b", true),
            (&["/status"], "/status?x=1", true),
            (&["/status"], "/status#frag", true),
            (&["/status"], "/status-internal/secrets", false),
            (&["/status"], "/statusx", false),
            (&["/status"], "/Status", false),
            (&["/status"], "/", false),
            (&["/status"], "/x?/status", false),
            (&["/api/"], "/api", true),
            (&["/api/"], "/api/users?x=1", true),
            (&["/api/"], "/api?x", true),
            (&["/api/"], "/apix", false),
            (&["/api/v1"], "/api/v1/users", true),
            (&["/api/v1"], "/api/v2/users", false),
            (&["/a", "/b/"], "/b/c", true),
            (&["/a", "/b/"], "/c", false),
            (&["/caf%C3%A9"], "/caf%C3%A9/x", true),
        ];
        for (prefixes, path, want) in table {
            let r = route(&[], prefixes);
            assert_eq!(
                r.matches_path(Some(route_path(path))),
                *want,
                "{prefixes:?} vs {path:?}"
            );
        }
        assert!(!route(&[], &["/api"]).matches_path(None));
        let all = route(&[], &["/"]);
        assert!(!all.constrains_path(), "`/` covers every path");
        assert!(all.matches_path(None) && all.matches_path(Some("/anything")));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn unnormalized_paths_are_recognized_in_every_spelling() {
        for path in [
            "//api/users",
            "/partner//api",
            "/partner/../api/users",
            "/partner/..",
            "/partner/./api",
            "/.",
            "/partner/..%2fapi/users",
            "/partner/..%2Fapi/users",
            "/partner%2Fapi",
            "/partner/%2e%2e/api",
            "/partner/%2E./api",
            "/partner/..%5capi",
            "/partner/..%5Capi",
            "/partner\\..\\api",
        ] {
            assert!(is_unnormalized(route_path(path)), "{path}");
        }
        for path in [
            "/",
            "/partner/api/users",
            "/partner/...",
            "/partner/.well-known/x",
            "/partner/a..b",
            "/partner/%2a%41",
            "/partner/%252f",
            "/partner?x=//../%2f",
            "/partner#/../",
            "",
            "*",
        ] {
            assert!(!is_unnormalized(route_path(path)), "{path}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn prefixes_that_can_never_match_or_repeat_another_are_refused() {
        for (prefix, issue) in [
            ("api", PathPrefixIssue::Syntax),
            ("/a b", PathPrefixIssue::Syntax),
            ("/api?x=1", PathPrefixIssue::QueryOrFragment),
            ("/api#x", PathPrefixIssue::QueryOrFragment),
            ("//api", PathPrefixIssue::NeverMatches),
            ("/api//", PathPrefixIssue::NeverMatches),
            ("/a/../b", PathPrefixIssue::NeverMatches),
            ("/a/./b", PathPrefixIssue::NeverMatches),
            ("/a%2fb", PathPrefixIssue::NeverMatches),
            ("/a\\b", PathPrefixIssue::NeverMatches),
        ] {
            let mut e = Collected::default();
            build(&[], &[prefix], &[], &mut e);
            assert!(e.has("p", &Issue::Path(issue)), "{prefix:?}: {e:?}");
        }
        let mut e = Collected::<Issue>::default();
        let r = build(&[], &["/api", "/api/", "/api/v1", "/"], &[], &mut e);
        assert_eq!(e.errors.len(), 1, "{e:?}");
        assert!(e.has("p", &Issue::Path(PathPrefixIssue::Duplicate)));
        assert!(
            e.warnings.is_empty(),
            "an entry another covers is harmless: {:?}",
            e.warnings
        );
        assert!(!r.constrains_path(), "`/` among the prefixes covers every path");
    }

    fn shadow(routes: &[(&[&str], &[&str])]) -> Option<Vec<usize>> {
        let named: Vec<(&[&str], &[&str], &[&str])> = routes.iter().map(|(h, p)| (*h, *p, &[][..])).collect();
        shadow_named(&named)
    }

    fn shadow_named(routes: &[(&[&str], &[&str], &[&str])]) -> Option<Vec<usize>> {
        let built: Vec<RouteMatch> = routes.iter().map(|(h, p, r)| named_route(h, p, r)).collect();
        let (last, earlier) = built.split_last().unwrap();
        let earlier: Vec<&RouteMatch> = earlier.iter().collect();
        last.shadowed_by(&earlier)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_route_is_shadowed_only_when_earlier_routes_fit_every_request_it_fits() {
        let none: &[&str] = &[];
        // Covered by one earlier route.
        assert_eq!(shadow(&[(none, none), (&["a.example.com"], &["/x"])]), Some(vec![0]));
        assert_eq!(
            shadow(&[(&["*.example.com"], none), (&["a.example.com"], none)]),
            Some(vec![0])
        );
        assert_eq!(
            shadow(&[(&["*.example.com"], none), (&["*.a.example.com"], none)]),
            Some(vec![0])
        );
        assert_eq!(
            shadow(&[(&["*.example.com:*"], none), (&["a.example.com:8443"], none)]),
            Some(vec![0])
        );
        assert_eq!(
            shadow(&[(none, &["/api"]), (none, &["/api/v1", "/api/v2/"])]),
            Some(vec![0])
        );
        assert_eq!(
            shadow(&[(&["x.com"], &["/a"]), (none, &["/b"]), (&["x.com"], &["/b/c"])]),
            Some(vec![1])
        );
        // Covered only together.
        assert_eq!(
            shadow(&[(none, &["/a"]), (none, &["/b"]), (none, &["/a/x", "/b/y"])]),
            Some(vec![0, 1])
        );
        assert_eq!(
            shadow(&[(&["a.com"], none), (&["b.com"], none), (&["a.com", "b.com"], &["/p"])]),
            Some(vec![0, 1])
        );
        // Reachable.
        assert_eq!(shadow(&[(&["a.example.com"], none), (none, none)]), None);
        assert_eq!(shadow(&[(&["a.example.com"], none), (&["*.example.com"], none)]), None);
        assert_eq!(shadow(&[(&["*.example.com"], none), (&["example.com"], none)]), None);
        assert_eq!(
            shadow(&[(&["a.example.com"], none), (&["a.example.com:8443"], none)]),
            None
        );
        assert_eq!(
            shadow(&[(&["a.example.com:8443"], none), (&["a.example.com:*"], none)]),
            None
        );
        assert_eq!(
            shadow(&[(&["a.example.com:*"], none), (&["a.example.com"], none)]),
            None
        );
        assert_eq!(shadow(&[(none, &["/api/v1"]), (none, &["/api"])]), None);
        assert_eq!(shadow(&[(none, &["/api"]), (none, &["/apix"])]), None);
        assert_eq!(shadow(&[(none, &["/a"]), (none, &["/a", "/b"])]), None);
        assert_eq!(shadow(&[(&["x.com"], &["/a"]), (none, &["/a"])]), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn route_names_match_exactly_and_only_a_request_whose_route_has_one_of_them() {
        let r = named_route(&[], &[], &["api", "reviews-v2.by-user"]);
        assert!(r.constrains_route_name());
        for (name, want) in [
            (Some("api"), true),
            (Some("reviews-v2.by-user"), true),
            (Some("API"), false),
            (Some("api "), false),
            (Some("ap"), false),
            (Some("api2"), false),
            (Some(""), false),
            (None, false),
        ] {
            assert_eq!(r.matches_route_name(name), want, "{name:?}");
        }
        let any = route(&[], &[]);
        assert!(!any.constrains_route_name());
        assert!(any.matches_route_name(None) && any.matches_route_name(Some("x")));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn route_names_that_no_route_could_carry_or_that_repeat_are_refused() {
        let long = "r".repeat(MAX_ROUTE_NAME_LEN + 1);
        for (name, issue) in [
            ("", RouteNameIssue::Empty),
            (long.as_str(), RouteNameIssue::TooLong),
            (" api", RouteNameIssue::NotAName),
            ("api\n", RouteNameIssue::NotAName),
            ("a\u{7f}pi", RouteNameIssue::NotAName),
        ] {
            let mut e = Collected::default();
            build(&[], &[], &[name], &mut e);
            assert!(e.has("r", &Issue::Route(issue)), "{name:?}: {e:?}");
            assert_eq!(e.errors.len(), 1, "{name:?}: {e:?}");
        }
        let longest = "r".repeat(MAX_ROUTE_NAME_LEN);
        for name in [
            "api",
            "httproute/default/backend/rule/0/match/0/api_example_com",
            "reviews.v2",
            "a b",
            longest.as_str(),
        ] {
            named_route(&[], &[], &[name]);
        }
        let mut e = Collected::default();
        build(&[], &[], &["api", "web", "api"], &mut e);
        assert_eq!(
            e.errors,
            vec![("r".to_string(), Issue::Route(RouteNameIssue::Duplicate))]
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_route_bound_policy_is_shadowed_only_by_routes_fitting_every_one_of_its_names() {
        let none: &[&str] = &[];
        // Covered: an earlier policy without route names, or one listing every name.
        assert_eq!(
            shadow_named(&[(none, none, none), (none, none, &["api"])]),
            Some(vec![0])
        );
        assert_eq!(
            shadow_named(&[(none, none, &["api", "web"]), (none, &["/x"], &["api"])]),
            Some(vec![0])
        );
        assert_eq!(
            shadow_named(&[
                (none, none, &["api"]),
                (none, none, &["web"]),
                (none, none, &["web", "api"])
            ]),
            Some(vec![0, 1])
        );
        assert_eq!(
            shadow_named(&[(&["a.com"], none, none), (&["a.com"], none, &["api"])]),
            Some(vec![0])
        );
        // Reachable: another name, a name the earlier policy lacks, or a narrower host/path.
        assert_eq!(shadow_named(&[(none, none, &["api"]), (none, none, &["web"])]), None);
        assert_eq!(
            shadow_named(&[(none, none, &["api"]), (none, none, &["api", "web"])]),
            None
        );
        assert_eq!(shadow_named(&[(none, none, &["api"]), (none, none, none)]), None);
        assert_eq!(
            shadow_named(&[(&["a.com"], none, &["api"]), (&["b.com"], none, &["api"])]),
            None
        );
        assert_eq!(shadow_named(&[(none, &["/a"], &["api"]), (none, none, &["api"])]), None);
    }
}
