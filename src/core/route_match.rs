//! Which requests a policy applies to: `:authority` host (without port) and `:path` prefix.

use super::error::ConfigErrors;

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Exact(Box<str>),
    /// `*.example.com`: one or more labels under example.com.
    Subdomains(Box<str>),
}

#[derive(Debug, Default)]
pub struct RouteMatch {
    hosts: Vec<HostMatch>,
    path_prefixes: Vec<Box<str>>,
}

impl RouteMatch {
    pub fn build(hosts: &[(String, String)], prefixes: &[(String, String)], errors: &mut ConfigErrors) -> RouteMatch {
        let mut m = RouteMatch::default();
        for (path, h) in hosts {
            let (pattern, name) = match h.strip_prefix("*.") {
                Some(base) => (HostMatch::Subdomains(base.into()), base),
                None => (HostMatch::Exact(h.as_str().into()), h.as_str()),
            };
            if !is_host_name(name) {
                errors.push_str(
                    path,
                    h,
                    "not a lower-case host name (no scheme, port or path; `*.` prefix for subdomains)",
                );
            } else if m.hosts.contains(&pattern) {
                errors.push_str(path, h, "duplicate host");
            } else {
                m.hosts.push(pattern);
            }
        }
        for (path, p) in prefixes {
            if !p.starts_with('/') || p.bytes().any(|b| b.is_ascii_control() || b == b' ') {
                errors.push_str(
                    path,
                    p,
                    "a path prefix must start with `/` and contain no spaces or control characters",
                );
            } else {
                m.path_prefixes.push(p.as_str().into());
            }
        }
        m
    }

    pub fn constrains_host(&self) -> bool {
        !self.hosts.is_empty()
    }

    pub fn constrains_path(&self) -> bool {
        !self.path_prefixes.is_empty()
    }

    /// `authority` is the request's `:authority` (host, optionally with a port).
    pub fn matches(&self, authority: Option<&str>, path: Option<&str>) -> bool {
        if self.constrains_host() {
            let Some(host) = authority.map(strip_port) else {
                return false;
            };
            if !self.hosts.iter().any(|m| host_matches(m, host)) {
                return false;
            }
        }
        if self.constrains_path() {
            let Some(path) = path else {
                return false;
            };
            if !self.path_prefixes.iter().any(|p| path.starts_with(&**p)) {
                return false;
            }
        }
        true
    }
}

fn host_matches(m: &HostMatch, host: &str) -> bool {
    match m {
        HostMatch::Exact(h) => host.eq_ignore_ascii_case(h),
        HostMatch::Subdomains(base) => {
            host.len() > base.len() + 1
                && host.get(host.len() - base.len() - 1..).is_some_and(|tail| {
                    tail.starts_with('.') && tail.get(1..).is_some_and(|t| t.eq_ignore_ascii_case(base))
                })
        }
    }
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .and_then(|i| authority.get(..=i))
            .unwrap_or(authority);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn route(hosts: &[&str], prefixes: &[&str]) -> RouteMatch {
        let h: Vec<_> = hosts.iter().map(|s| ("h".to_string(), s.to_string())).collect();
        let p: Vec<_> = prefixes.iter().map(|s| ("p".to_string(), s.to_string())).collect();
        let mut e = ConfigErrors::default();
        let r = RouteMatch::build(&h, &p, &mut e);
        assert!(e.is_empty(), "{e}");
        r
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn hosts_match_without_port_and_case_insensitively() {
        let r = route(&["api.example.com", "*.example.org"], &[]);
        assert!(r.matches(Some("api.example.com:10000"), None));
        assert!(r.matches(Some("API.Example.com"), None));
        assert!(r.matches(Some("a.b.example.org"), None));
        assert!(!r.matches(Some("example.org"), None));
        assert!(!r.matches(Some("evilexample.org"), None));
        assert!(!r.matches(None, None));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn path_prefixes_restrict_the_policy() {
        let r = route(&[], &["/api/"]);
        assert!(r.matches(None, Some("/api/users?x=1")));
        assert!(!r.matches(None, Some("/apix")));
        assert!(!r.matches(None, None));
    }
}
