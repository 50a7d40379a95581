//! Serialized origins (Fetch §3.2.5 `Origin` header; HTML "serialization of an origin"):
//! `scheme "://" host [ ":" port ]`, lower-case scheme and host, no default port, nothing after
//! the port. Browsers only ever send that canonical form (or `null`), so requests are compared
//! exactly against it and anything else is malformed.

use std::fmt;

use super::decimal::{decimal, decimal_u16};

/// Longest `Origin` value the filter will look at. A DNS name is at most 253 bytes; with a
/// scheme and a port a real origin stays far below this. Longer values are rejected unread.
pub(crate) const MAX_ORIGIN_LEN: usize = 1024;

const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// A parsed, canonical origin. Borrowed from the header value: parsing does not allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    pub port: Option<u16>,
}

/// Why a string is not a canonical serialized origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginError {
    /// Empty.
    Empty,
    /// Longer than 1024 bytes.
    TooLong,
    /// The opaque origin `null`.
    Null,
    /// Non-ASCII characters.
    NonAscii,
    /// Upper-case letters in scheme or host.
    UpperCase,
    /// No `scheme://`.
    MissingScheme,
    /// A scheme with characters no scheme has.
    BadScheme,
    /// The `file` scheme, whose origin is `null`.
    FileScheme,
    /// Userinfo (`@`).
    Userinfo,
    /// A path.
    Path,
    /// A trailing `/`.
    TrailingSlash,
    /// A query (`?`).
    Query,
    /// A fragment (`#`).
    Fragment,
    /// A backslash.
    Backslash,
    /// Whitespace or control characters.
    Whitespace,
    /// An empty host.
    EmptyHost,
    /// A host that is neither a domain name nor an IP address.
    BadHost,
    /// An empty label (`..`, a leading dot).
    EmptyLabel,
    /// A host ending with `.`.
    TrailingDot,
    /// A label longer than 63 bytes.
    LabelTooLong,
    /// A host longer than 253 bytes.
    HostTooLong,
    /// An empty port after `:`.
    EmptyPort,
    /// A port that is not a number from 1 to 65535.
    BadPort,
    /// A port with a leading zero.
    PortLeadingZero,
    /// The scheme's default port, which browsers omit.
    DefaultPort(u16),
    /// `*` where no wildcard is allowed.
    Wildcard,
}

/// The words completing "it ...": the configuration's error for an origin entry and the
/// origin regex analysis both use them.
impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            OriginError::Empty => "is empty",
            OriginError::TooLong => "is longer than 1024 bytes",
            OriginError::Null => "is the opaque origin `null`, which sandboxed iframes, file:// pages and redirects all share; it can never be trusted",
            OriginError::NonAscii => "contains non-ASCII characters; browsers send international domain names in punycode (xn--...)",
            OriginError::UpperCase => "contains upper-case letters; browsers send scheme and host in lower case, so this can never match",
            OriginError::MissingScheme => "has no scheme; expected scheme://host[:port]",
            OriginError::BadScheme => "has an invalid scheme",
            OriginError::FileScheme => "uses the file scheme, whose origin browsers serialize as `null`",
            OriginError::Userinfo => "contains userinfo (`@`); an origin is scheme://host[:port] only",
            OriginError::Path => "contains a path; an origin is scheme://host[:port] only",
            OriginError::TrailingSlash => "ends with `/`; browsers send origins without a trailing slash, so this can never match",
            OriginError::Query => "contains a query (`?`); an origin is scheme://host[:port] only",
            OriginError::Fragment => "contains a fragment (`#`); an origin is scheme://host[:port] only",
            OriginError::Backslash => "contains a backslash",
            OriginError::Whitespace => "contains whitespace or control characters",
            OriginError::EmptyHost => "has an empty host",
            OriginError::BadHost => "has a host with characters not allowed in a domain name or IP address",
            OriginError::EmptyLabel => "has an empty label in its host (`..` or a leading dot)",
            OriginError::TrailingDot => "has a host ending with `.`",
            OriginError::LabelTooLong => "has a host label longer than 63 bytes",
            OriginError::HostTooLong => "has a host longer than 253 bytes",
            OriginError::EmptyPort => "has an empty port after `:`",
            OriginError::BadPort => "has a port that is not a number from 1 to 65535",
            OriginError::PortLeadingZero => "has a port with a leading zero",
            OriginError::DefaultPort(p) => {
                return write!(
                    f,
                    "includes the scheme's default port {p}; browsers omit it, so this can never match"
                )
            }
            OriginError::Wildcard => "contains `*` where no wildcard is allowed",
        };
        f.write_str(msg)
    }
}

/// The port a browser omits from the serialization for this scheme.
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// How a host or port was written in a configured origin pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPattern<'a> {
    Exact(&'a str),
    /// `*.base`: one or more labels under `base`, never `base` itself.
    Subdomains(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PortPattern {
    /// No port written: the scheme's default port.
    Default,
    Exact(u16),
    /// `:*`: any port, including the default one.
    Any,
}

/// A configured origin pattern: `scheme://host[:port]`, `scheme://*.base[:port]`, `:*` ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OriginPattern<'a> {
    pub scheme: &'a str,
    pub host: HostPattern<'a>,
    pub port: PortPattern,
}

/// Parse a request's `Origin` value. Only the canonical serialization is accepted.
pub(crate) fn parse_origin(s: &str) -> Result<Origin<'_>, OriginError> {
    let (scheme, host, port) = split(s, false)?;
    let port = match port {
        PortPattern::Default => None,
        PortPattern::Exact(p) => Some(p),
        PortPattern::Any => return Err(OriginError::Wildcard),
    };
    match host {
        HostPattern::Exact(host) => Ok(Origin { scheme, host, port }),
        HostPattern::Subdomains(_) => Err(OriginError::Wildcard),
    }
}

/// Parse an `allow_origins` entry (not `*`, which the caller handles).
pub(crate) fn parse_pattern(s: &str) -> Result<OriginPattern<'_>, OriginError> {
    let (scheme, host, port) = split(s, true)?;
    Ok(OriginPattern { scheme, host, port })
}

fn split(s: &str, patterns: bool) -> Result<(&str, HostPattern<'_>, PortPattern), OriginError> {
    if s.is_empty() {
        return Err(OriginError::Empty);
    }
    if s.len() > MAX_ORIGIN_LEN {
        return Err(OriginError::TooLong);
    }
    if s.eq_ignore_ascii_case("null") {
        return Err(OriginError::Null);
    }
    // One pass per part instead of one per rule: this runs on every request with an Origin.
    let (mut non_ascii, mut whitespace) = (false, false);
    for b in s.bytes() {
        non_ascii |= !b.is_ascii();
        whitespace |= b.is_ascii_whitespace() || b.is_ascii_control();
    }
    if non_ascii {
        return Err(OriginError::NonAscii);
    }
    if whitespace {
        return Err(OriginError::Whitespace);
    }
    // Found bytewise: `str::split_once` with a string pattern links a general substring
    // searcher (2.3 KB of wasm) for this one three-byte needle.
    let (scheme, rest) = s
        .as_bytes()
        .windows(3)
        .position(|w| w == b"://")
        .and_then(|at| Some((s.get(..at)?, s.get(at + 3..)?)))
        .ok_or(OriginError::MissingScheme)?;
    check_scheme(scheme)?;
    let (mut backslash, mut at, mut hash, mut query, mut upper, mut slash) = (false, false, false, false, false, None);
    for (i, b) in rest.bytes().enumerate() {
        match b {
            b'\\' => backslash = true,
            b'@' => at = true,
            b'#' => hash = true,
            b'?' => query = true,
            b'/' => slash = slash.or(Some(i)),
            b'A'..=b'Z' => upper = true,
            _ => {}
        }
    }
    // Everything an origin must not carry, reported by its most specific name.
    if backslash {
        return Err(OriginError::Backslash);
    }
    if at {
        return Err(OriginError::Userinfo);
    }
    if hash {
        return Err(OriginError::Fragment);
    }
    if query {
        return Err(OriginError::Query);
    }
    if let Some(slash) = slash {
        return Err(if slash + 1 == rest.len() {
            OriginError::TrailingSlash
        } else {
            OriginError::Path
        });
    }
    if upper {
        return Err(OriginError::UpperCase);
    }
    let (host, port) = split_host_port(rest)?;
    let port = parse_port(scheme, port, patterns)?;
    let host = if let (true, Some(base)) = (patterns, host.strip_prefix("*.")) {
        check_host(base)?;
        HostPattern::Subdomains(base)
    } else {
        check_host(host)?;
        HostPattern::Exact(host)
    };
    Ok((scheme, host, port))
}

fn check_scheme(scheme: &str) -> Result<(), OriginError> {
    let mut bytes = scheme.bytes();
    match bytes.next() {
        None => return Err(OriginError::MissingScheme),
        Some(b) if b.is_ascii_uppercase() => return Err(OriginError::UpperCase),
        Some(b) if !b.is_ascii_lowercase() => return Err(OriginError::BadScheme),
        Some(_) => {}
    }
    for b in bytes {
        if b.is_ascii_uppercase() {
            return Err(OriginError::UpperCase);
        }
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.')) {
            return Err(OriginError::BadScheme);
        }
    }
    if scheme == "file" {
        return Err(OriginError::FileScheme);
    }
    Ok(())
}

/// Split `host[:port]`, keeping the brackets of an IPv6 literal in the host.
fn split_host_port(rest: &str) -> Result<(&str, Option<&str>), OriginError> {
    if rest.starts_with('[') {
        let end = rest.find(']').ok_or(OriginError::BadHost)?;
        let (host, after) = rest.split_at(end + 1);
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(OriginError::BadHost),
        };
    }
    Ok(match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    })
}

fn parse_port(scheme: &str, port: Option<&str>, patterns: bool) -> Result<PortPattern, OriginError> {
    let Some(port) = port else {
        return Ok(PortPattern::Default);
    };
    if port.is_empty() {
        return Err(OriginError::EmptyPort);
    }
    if port == "*" {
        return if patterns {
            Ok(PortPattern::Any)
        } else {
            Err(OriginError::Wildcard)
        };
    }
    if port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OriginError::BadPort);
    }
    if port.starts_with('0') {
        return Err(if port.len() == 1 {
            OriginError::BadPort
        } else {
            OriginError::PortLeadingZero
        });
    }
    let n = decimal_u16(port).ok_or(OriginError::BadPort)?;
    if default_port(scheme) == Some(n) {
        return Err(OriginError::DefaultPort(n));
    }
    Ok(PortPattern::Exact(n))
}

fn check_host(host: &str) -> Result<(), OriginError> {
    if host.is_empty() {
        return Err(OriginError::EmptyHost);
    }
    if let Some(inner) = host.strip_prefix('[') {
        // IPv6 literal as browsers serialize it: lower-case hex, colons, brackets.
        let inner = inner.strip_suffix(']').ok_or(OriginError::BadHost)?;
        let ok = !inner.is_empty()
            && inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b':' || b == b'.');
        return if ok { Ok(()) } else { Err(OriginError::BadHost) };
    }
    if host.len() > MAX_HOST_LEN {
        return Err(OriginError::HostTooLong);
    }
    if host.ends_with('.') {
        return Err(OriginError::TrailingDot);
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err(OriginError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(OriginError::LabelTooLong);
        }
        // Letters, digits, hyphen, and underscore (browsers accept it in hosts).
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(if label.contains('*') {
                OriginError::Wildcard
            } else {
                OriginError::BadHost
            });
        }
    }
    Ok(())
}

/// Is this host a loopback name or address (where plain `http` is not a downgrade)?
pub(crate) fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .strip_prefix("127.")
            .is_some_and(|rest| rest.split('.').count() == 3 && rest.split('.').all(is_octet))
}

fn is_octet(s: &str) -> bool {
    s.len() <= 3 && decimal(s).is_some_and(|n| n <= 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn canonical_origins_parse_into_scheme_host_and_port() {
        assert_eq!(
            parse_origin("https://app.example.com"),
            Ok(Origin {
                scheme: "https",
                host: "app.example.com",
                port: None
            })
        );
        assert_eq!(
            parse_origin("http://localhost:3000"),
            Ok(Origin {
                scheme: "http",
                host: "localhost",
                port: Some(3000)
            })
        );
        assert_eq!(
            parse_origin("http://[::1]:8080"),
            Ok(Origin {
                scheme: "http",
                host: "[::1]",
                port: Some(8080)
            })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn non_canonical_origins_are_named_precisely() {
        let cases = [
            ("", OriginError::Empty),
            ("null", OriginError::Null),
            ("NULL", OriginError::Null),
            ("https://App.example.com", OriginError::UpperCase),
            ("HTTPS://app.example.com", OriginError::UpperCase),
            ("https://app.example.com/", OriginError::TrailingSlash),
            ("https://app.example.com/x", OriginError::Path),
            ("https://app.example.com?x", OriginError::Query),
            ("https://app.example.com#x", OriginError::Fragment),
            ("https://user@app.example.com", OriginError::Userinfo),
            ("https://app.example.com:443", OriginError::DefaultPort(443)),
            ("http://app.example.com:80", OriginError::DefaultPort(80)),
            ("https://app.example.com:", OriginError::EmptyPort),
            ("https://app.example.com:0", OriginError::BadPort),
            ("https://app.example.com:65536", OriginError::BadPort),
            ("https://app.example.com:08443", OriginError::PortLeadingZero),
            ("https://app.example.com.", OriginError::TrailingDot),
            ("https://foo..example.com", OriginError::EmptyLabel),
            ("https://.example.com", OriginError::EmptyLabel),
            ("file://", OriginError::FileScheme),
            ("app.example.com", OriginError::MissingScheme),
            ("https://app.example.com\\", OriginError::Backslash),
            ("https://app.exa mple.com", OriginError::Whitespace),
            ("https://b\u{fc}cher.example", OriginError::NonAscii),
            ("https://*.example.com", OriginError::Wildcard),
            ("https://app.example.com:*", OriginError::Wildcard),
        ];
        for (input, want) in cases {
            assert_eq!(parse_origin(input), Err(want), "{input:?}");
        }
        assert_eq!(parse_origin(&"a".repeat(2000)), Err(OriginError::TooLong));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn patterns_accept_subdomain_and_port_wildcards() {
        assert_eq!(
            parse_pattern("https://*.example.com"),
            Ok(OriginPattern {
                scheme: "https",
                host: HostPattern::Subdomains("example.com"),
                port: PortPattern::Default
            })
        );
        assert_eq!(
            parse_pattern("http://localhost:*"),
            Ok(OriginPattern {
                scheme: "http",
                host: HostPattern::Exact("localhost"),
                port: PortPattern::Any
            })
        );
        assert_eq!(parse_pattern("https://a.*.example.com"), Err(OriginError::Wildcard));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn loopback_hosts_are_recognised_and_look_alikes_are_not() {
        for h in ["localhost", "app.localhost", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["localhost.evil.com", "127.0.0.1.evil.com", "128.0.0.1", "127.0.0.256"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
