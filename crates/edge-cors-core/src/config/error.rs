//! Configuration errors, typed: every one is an [`IssueKind`] at a JSON path, with the
//! offending value, and all of them are reported together so an operator fixes a policy in one
//! round trip. This file is the one place that turns them into words: the filter's log and the
//! checker print exactly the text rendered here.

use std::fmt;

use serde_json::Value;

use crate::rules::allow_headers::AllowHeaderIssue;
use crate::rules::allow_methods::MethodIssue;
use crate::rules::expose_headers::ExposeHeaderIssue;
use crate::rules::max_age::MAX_MAX_AGE;
use crate::rules::origin_matcher::{OriginIssue, RegexIssue, MAX_REGEX_LEN};
use crate::rules::origin_regex::RULE;
use crate::rules::route_match::{HostIssue, PathPrefixIssue, RouteNameIssue, MAX_ROUTE_NAME_LEN};
use crate::rules::Findings;

use super::identity::MAX_VERSION_LEN;
use super::limits::{MAX_CONFIG_BYTES, MAX_TOKEN_LEN, MIN_TOKEN_LEN};

/// At most this many errors are kept; a policy with more has a systematic problem and the
/// first ones tell what it is. The total is still counted.
const MAX_KEPT: usize = 200;
/// Values are quoted in errors, cut to this many characters.
const MAX_VALUE_CHARS: usize = 120;

/// What is wrong at a JSON path. Variants carry the data their message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    /// The configuration is larger than the limit (16 MiB).
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// Nothing but whitespace.
    Empty,
    /// Not JSON.
    InvalidJson {
        /// serde_json's error, with its line and column.
        error: String,
    },
    /// A JSON object was expected.
    NotAnObject {
        /// What was found instead (`a list`, `a string`, ...).
        found: &'static str,
    },
    /// A required field is absent.
    Missing,
    /// A field holds another JSON type than its own.
    WrongType {
        /// What the field holds (`a string`, `true or false`, `a list`).
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A field no object of this kind has.
    UnknownField {
        /// The fields this object has, comma-separated.
        expected: String,
    },
    /// `policies` is empty.
    NoPolicies,
    /// `match.hosts`, `match.path_prefixes` or `match.route_names` is an empty list.
    EmptyMatchList {
        /// `hosts`, `path_prefixes` or `route_names`.
        key: &'static str,
    },
    /// A policy name that is not 1 to 64 characters of `a-z A-Z 0-9 _ -`.
    PolicyName,
    /// Two policies with one name.
    DuplicatePolicyName,
    /// `allow_origins` is an empty list.
    OriginsEmpty,
    /// Neither `allow_origins` nor `allow_origin_regexes` nor `allow_origins_from`.
    OriginsRequired,
    /// An `allow_origins` entry.
    Origin(OriginIssue),
    /// An `allow_origin_regexes` entry.
    OriginRegex(RegexIssue),
    /// An `allow_methods` entry.
    Method(MethodIssue),
    /// An `allow_headers` entry.
    AllowHeader(AllowHeaderIssue),
    /// An `expose_headers` entry.
    ExposeHeader(ExposeHeaderIssue),
    /// A `match.hosts` entry.
    Host(HostIssue),
    /// A `match.path_prefixes` entry.
    PathPrefix(PathPrefixIssue),
    /// A `match.route_names` entry.
    RouteName(RouteNameIssue),
    /// `max_age` above a day.
    MaxAgeTooLarge,
    /// `max_age` below zero.
    MaxAgeNegative,
    /// `max_age` not a whole number.
    MaxAgeNotWhole,
    /// `preflight_success_status` other than 200 or 204.
    PreflightStatus,
    /// `mode` other than `enforce` or `report_only`.
    Mode,
    /// `enforce_percent` not a whole number from 0 to 100.
    EnforcePercent,
    /// `rejection_log_interval_seconds` not a whole number from 1 to 3600.
    RejectionLogInterval,
    /// `version` not 1 to 64 characters of `A-Z a-z 0-9 . _ + -`.
    Version,
    /// `decision_header.token_header` not a lower-case header name.
    TokenHeaderNotLowerCase,
    /// `decision_header.token_header` not an `x-` header.
    TokenHeaderNotPrivate,
    /// `decision_header.token` too short, too long or not visible ASCII (never echoed).
    TokenLength,
    /// `enforce_percent` on a policy whose own mode is `report_only`.
    PercentInReportOnly,
    /// `enforce_percent` on a policy that inherits the top-level `report_only`.
    PercentUnderReportOnlyDefault,
    /// `enforce_percent: 0` in enforce mode.
    PercentZero,
    /// `reject_disallowed` on an any-origin policy, which rejects no origin.
    RejectNeverBlocks,
    /// `allow_origins_from.cluster` empty, too long or not visible ASCII.
    RegistryCluster,
    /// `allow_origins_from.authority` not a host with an optional port.
    RegistryAuthority,
    /// `allow_origins_from.path` not an absolute path (a query is allowed).
    RegistryPath,
    /// A number of `allow_origins_from` outside its range.
    RegistryRange {
        /// The least value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// `allow_origins_from.timeout_ms` not shorter than the refresh interval.
    RegistryTimeoutNotBelowRefresh {
        /// The refresh interval in force.
        refresh_seconds: u64,
    },
    /// `allow_origins_from.max_stale_seconds` shorter than two refresh intervals.
    RegistryStaleBelowRefresh {
        /// The refresh interval in force.
        refresh_seconds: u64,
    },
    /// `allow_origins_from.before_first_load` other than `static_only` or `reject_all`.
    RegistryBeforeFirstLoad,
    /// An `allow_origins_from.headers` name that is not a lower-case token, or one the callout
    /// sets itself.
    RegistryHeaderName,
    /// An `allow_origins_from.headers` value that is not a string of visible ASCII and spaces
    /// of at most 4096 bytes (never echoed: it may be a secret).
    RegistryHeaderValue,
    /// More `allow_origins_from.headers` than the limit.
    RegistryTooManyHeaders {
        /// The limit.
        max: usize,
    },
    /// `allow_origins_from` on a policy whose `allow_origins` is `["*"]`.
    RegistryWithAnyOrigin,
    /// A registry's body larger than `max_bytes`.
    RegistryBodyTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A registry document's `version` that is not 1 to 128 visible ASCII characters or a
    /// whole number.
    RegistryVersion,
    /// A registry document with more entries than `max_entries`.
    RegistryTooManyEntries {
        /// The limit.
        max: usize,
    },
    /// `*` in a registry document.
    RegistryAnyOrigin,
    /// A warning: earlier policies match every request this one matches.
    Shadowed {
        /// (index, name) of each policy that covers it.
        by: Vec<(usize, String)>,
    },
}

impl From<OriginIssue> for IssueKind {
    fn from(i: OriginIssue) -> IssueKind {
        IssueKind::Origin(i)
    }
}
impl From<RegexIssue> for IssueKind {
    fn from(i: RegexIssue) -> IssueKind {
        IssueKind::OriginRegex(i)
    }
}
impl From<MethodIssue> for IssueKind {
    fn from(i: MethodIssue) -> IssueKind {
        IssueKind::Method(i)
    }
}
impl From<AllowHeaderIssue> for IssueKind {
    fn from(i: AllowHeaderIssue) -> IssueKind {
        IssueKind::AllowHeader(i)
    }
}
impl From<ExposeHeaderIssue> for IssueKind {
    fn from(i: ExposeHeaderIssue) -> IssueKind {
        IssueKind::ExposeHeader(i)
    }
}
impl From<HostIssue> for IssueKind {
    fn from(i: HostIssue) -> IssueKind {
        IssueKind::Host(i)
    }
}
impl From<PathPrefixIssue> for IssueKind {
    fn from(i: PathPrefixIssue) -> IssueKind {
        IssueKind::PathPrefix(i)
    }
}
impl From<RouteNameIssue> for IssueKind {
    fn from(i: RouteNameIssue) -> IssueKind {
        IssueKind::RouteName(i)
    }
}

/// The message of each kind: the one renderer.
impl fmt::Display for IssueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use IssueKind as K;
        let text: &str = match self {
            K::TooLarge { bytes } => {
                return write!(f, "configuration is {bytes} bytes; the limit is {MAX_CONFIG_BYTES}")
            }
            K::Empty => "configuration is empty; expected a JSON object with `policies`",
            K::InvalidJson { error } => return write!(f, "invalid JSON: {error}"),
            K::NotAnObject { found } => return write!(f, "expected a JSON object, found {found}"),
            K::Missing => "required field is missing",
            K::WrongType { expected, found } => return write!(f, "expected {expected}, found {found}"),
            K::UnknownField { expected } => return write!(f, "unknown field; expected one of: {expected}"),
            K::NoPolicies => "at least one policy is required",
            K::EmptyMatchList { key } => {
                return write!(
                    f,
                    "empty: it would match every request; omit `{key}` to match any, or list at least one"
                )
            }
            K::PolicyName => {
                "policy names are 1 to 64 characters of a-z, A-Z, 0-9, `_` and `-` (they appear in metric names)"
            }
            K::DuplicatePolicyName => "duplicate policy name",
            K::OriginsEmpty => "empty: a policy must allow at least one origin",
            K::OriginsRequired => "required: list the trusted origins (or give allow_origin_regexes or allow_origins_from)",
            K::Origin(issue) => return origin_message(issue, f),
            K::OriginRegex(issue) => return regex_message(issue, f),
            K::Method(issue) => method_message(*issue),
            K::AllowHeader(issue) => match issue {
                AllowHeaderIssue::NotToken => "not a valid header name (RFC 9110 token)",
                AllowHeaderIssue::Forbidden => {
                    "forbidden request header: browsers never let scripts set it (Fetch §2.2.2)"
                }
                AllowHeaderIssue::RedundantNextToStar => {
                    "redundant next to `*`; only `authorization` may be listed with `*`"
                }
                AllowHeaderIssue::Duplicate => "duplicate header name (names compare case-insensitively)",
            },
            K::ExposeHeader(issue) => match issue {
                ExposeHeaderIssue::StarNotAlone => "`*` exposes every header and must be the only entry",
                ExposeHeaderIssue::StarWithCredentials => {
                    "`*` does not work with allow_credentials: true (browsers read it as a header named `*`); list the headers"
                }
                ExposeHeaderIssue::NotToken => "not a valid header name (RFC 9110 token)",
                ExposeHeaderIssue::SetCookie => "browsers never expose Set-Cookie to scripts (Fetch §2.2.6)",
                ExposeHeaderIssue::Duplicate => "duplicate header name (names compare case-insensitively)",
            },
            K::Host(issue) => return host_message(*issue, f),
            K::PathPrefix(issue) => match issue {
                PathPrefixIssue::Syntax => {
                    "a path prefix must start with `/` and contain no spaces or control characters"
                }
                PathPrefixIssue::QueryOrFragment => {
                    "the query and fragment never take part in matching: give the path only"
                }
                PathPrefixIssue::NeverMatches => {
                    "never matches: it holds `//`, a `.` or `..` segment, `\\` or an encoded `/`, `\\` or `.`, \
                     and requests whose path holds one are refused as malformed on path-scoped policies"
                }
                PathPrefixIssue::Duplicate => {
                    "duplicate path prefix (a trailing `/` makes no difference: prefixes match whole segments)"
                }
            },
            K::RouteName(issue) => match issue {
                RouteNameIssue::Empty => {
                    "empty: every route without a name has it; give the `name` of the route to bind"
                }
                RouteNameIssue::TooLong => {
                    return write!(f, "a route name is at most {MAX_ROUTE_NAME_LEN} bytes")
                }
                RouteNameIssue::NotAName => {
                    "not a route name: it holds a control character or starts or ends with whitespace"
                }
                RouteNameIssue::Duplicate => "duplicate route name",
            },
            K::MaxAgeTooLarge => return write!(f, "must be at most {MAX_MAX_AGE} seconds (one day)"),
            K::MaxAgeNegative => "must not be negative",
            K::MaxAgeNotWhole => "must be a whole number of seconds from 0 to 86400",
            K::PreflightStatus => "must be 200 or 204",
            K::Mode => "must be \"enforce\" or \"report_only\"",
            K::EnforcePercent => "must be a whole number from 0 to 100",
            K::RejectionLogInterval => "must be a whole number of seconds from 1 to 3600",
            K::Version => {
                return write!(
                    f,
                    "must be 1 to {MAX_VERSION_LEN} characters of a-z, A-Z, 0-9, `.`, `_`, `+` and `-` \
                     (it is a metric label value)"
                )
            }
            K::TokenHeaderNotLowerCase => "must be a lower-case header name",
            K::TokenHeaderNotPrivate => "use a private `x-` header, so no standard header ever carries the token",
            K::TokenLength => {
                return write!(
                    f,
                    "must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} visible ASCII characters (it is a secret)"
                )
            }
            K::PercentInReportOnly => "has no effect in report_only mode; remove it, or set mode to \"enforce\"",
            K::PercentUnderReportOnlyDefault => {
                "has no effect: the top-level mode is \"report_only\" and this policy sets no mode of its own; \
                 remove it, or set this policy's mode to \"enforce\""
            }
            K::PercentZero => "enforces nothing; write \"mode\": \"report_only\" instead",
            K::RejectNeverBlocks => {
                "never blocks anything: no origin is rejected under allow_origins [\"*\"]; list the \
                 trusted origins in allow_origins to block the others, or remove it"
            }
            K::RegistryCluster => "must be the name of an Envoy cluster: 1 to 256 visible ASCII characters",
            K::RegistryAuthority => {
                "must be the registry's host name, optionally with `:port`: no scheme, path or userinfo"
            }
            K::RegistryPath => "must be an absolute path starting with `/` (a query is allowed, a fragment is not)",
            K::RegistryRange { min, max } => return write!(f, "must be a whole number from {min} to {max}"),
            K::RegistryTimeoutNotBelowRefresh { refresh_seconds } => {
                return write!(
                    f,
                    "must be shorter than refresh_seconds ({refresh_seconds} s), or a fetch could still run when the next is due"
                )
            }
            K::RegistryStaleBelowRefresh { refresh_seconds } => {
                return write!(
                    f,
                    "must be at least twice refresh_seconds ({refresh_seconds} s), or a list would go stale between two fetches that succeed"
                )
            }
            K::RegistryBeforeFirstLoad => "must be \"static_only\" or \"reject_all\"",
            K::RegistryHeaderName => {
                "must be a lower-case header name (RFC 9110 token) other than host, content-length, connection, \
                 transfer-encoding, te, upgrade, keep-alive, proxy-connection, if-none-match and accept"
            }
            K::RegistryHeaderValue => "must be a string of visible ASCII characters and spaces, at most 4096 bytes",
            K::RegistryTooManyHeaders { max } => return write!(f, "at most {max} headers"),
            K::RegistryWithAnyOrigin => {
                "cannot be combined with allow_origins [\"*\"], which already allows every origin; list the trusted origins"
            }
            K::RegistryBodyTooLarge { bytes, max } => {
                return write!(f, "the registry answered {bytes} bytes; max_bytes is {max}")
            }
            K::RegistryVersion => "must be a string of 1 to 128 visible ASCII characters, or a whole number",
            K::RegistryTooManyEntries { max } => {
                return write!(f, "more than max_entries ({max}) entries: the update is refused")
            }
            K::RegistryAnyOrigin => {
                "`*` would trust every origin: a registry list may hold origins and wildcards of origins only; the update is refused"
            }
            K::Shadowed { by } => {
                f.write_str("never selected: ")?;
                for (n, (index, name)) in by.iter().enumerate() {
                    if n > 0 {
                        f.write_str(" and ")?;
                    }
                    write!(f, "policies[{index}] (\"{name}\")")?;
                }
                return f.write_str(if by.len() == 1 {
                    " matches every request it matches"
                } else {
                    " together match every request it matches"
                });
            }
        };
        f.write_str(text)
    }
}

impl IssueKind {
    /// A stable machine name for the kind, `snake_case`, dotted for the entry-level issues
    /// (`origin.star_with_credentials`): the `kind` of the checker's JSON findings, which CI
    /// scripts match on while the message wording may improve.
    pub fn code(&self) -> &'static str {
        use IssueKind as K;
        match self {
            K::TooLarge { .. } => "too_large",
            K::Empty => "empty",
            K::InvalidJson { .. } => "invalid_json",
            K::NotAnObject { .. } => "not_an_object",
            K::Missing => "missing",
            K::WrongType { .. } => "wrong_type",
            K::UnknownField { .. } => "unknown_field",
            K::NoPolicies => "no_policies",
            K::EmptyMatchList { .. } => "empty_match_list",
            K::PolicyName => "policy_name",
            K::DuplicatePolicyName => "duplicate_policy_name",
            K::OriginsEmpty => "origins_empty",
            K::OriginsRequired => "origins_required",
            K::Origin(issue) => match issue {
                OriginIssue::StarNotAlone => "origin.star_not_alone",
                OriginIssue::StarWithCredentials => "origin.star_with_credentials",
                OriginIssue::Invalid(_) => "origin.invalid",
                OriginIssue::WildcardUnderPublicSuffix { .. } => "origin.wildcard_under_public_suffix",
                OriginIssue::WildcardOverPublicSuffixes { .. } => "origin.wildcard_over_public_suffixes",
                OriginIssue::WildcardOverIp => "origin.wildcard_over_ip",
                OriginIssue::PlainHttpWithCredentials => "origin.plain_http_with_credentials",
                OriginIssue::Duplicate => "origin.duplicate",
            },
            K::OriginRegex(issue) => match issue {
                RegexIssue::TooLong => "origin_regex.too_long",
                RegexIssue::NotAnchored => "origin_regex.not_anchored",
                RegexIssue::UnescapedDot { .. } => "origin_regex.unescaped_dot",
                RegexIssue::Invalid { .. } => "origin_regex.invalid",
                RegexIssue::MatchesDangerous { .. } => "origin_regex.matches_dangerous",
                RegexIssue::NotConfined { .. } => "origin_regex.not_confined",
            },
            K::Method(issue) => match issue {
                MethodIssue::Wildcard => "method.wildcard",
                MethodIssue::NotToken => "method.not_token",
                MethodIssue::Forbidden => "method.forbidden",
                MethodIssue::PatchCase => "method.patch_case",
                MethodIssue::Duplicate => "method.duplicate",
                MethodIssue::NotUpperCase => "method.not_upper_case",
            },
            K::AllowHeader(issue) => match issue {
                AllowHeaderIssue::NotToken => "allow_header.not_token",
                AllowHeaderIssue::Forbidden => "allow_header.forbidden",
                AllowHeaderIssue::RedundantNextToStar => "allow_header.redundant_next_to_star",
                AllowHeaderIssue::Duplicate => "allow_header.duplicate",
            },
            K::ExposeHeader(issue) => match issue {
                ExposeHeaderIssue::StarNotAlone => "expose_header.star_not_alone",
                ExposeHeaderIssue::StarWithCredentials => "expose_header.star_with_credentials",
                ExposeHeaderIssue::NotToken => "expose_header.not_token",
                ExposeHeaderIssue::SetCookie => "expose_header.set_cookie",
                ExposeHeaderIssue::Duplicate => "expose_header.duplicate",
            },
            K::Host(issue) => match issue {
                HostIssue::NotAHost => "host.not_a_host",
                HostIssue::TrailingDot => "host.trailing_dot",
                HostIssue::NotIpv6 => "host.not_ipv6",
                HostIssue::BadPort => "host.bad_port",
                HostIssue::Duplicate => "host.duplicate",
            },
            K::PathPrefix(issue) => match issue {
                PathPrefixIssue::Syntax => "path_prefix.syntax",
                PathPrefixIssue::QueryOrFragment => "path_prefix.query_or_fragment",
                PathPrefixIssue::NeverMatches => "path_prefix.never_matches",
                PathPrefixIssue::Duplicate => "path_prefix.duplicate",
            },
            K::RouteName(issue) => match issue {
                RouteNameIssue::Empty => "route_name.empty",
                RouteNameIssue::TooLong => "route_name.too_long",
                RouteNameIssue::NotAName => "route_name.not_a_name",
                RouteNameIssue::Duplicate => "route_name.duplicate",
            },
            K::MaxAgeTooLarge => "max_age_too_large",
            K::MaxAgeNegative => "max_age_negative",
            K::MaxAgeNotWhole => "max_age_not_whole",
            K::PreflightStatus => "preflight_status",
            K::Mode => "mode",
            K::EnforcePercent => "enforce_percent",
            K::RejectionLogInterval => "rejection_log_interval",
            K::Version => "version",
            K::TokenHeaderNotLowerCase => "token_header_not_lower_case",
            K::TokenHeaderNotPrivate => "token_header_not_private",
            K::TokenLength => "token_length",
            K::RegistryCluster => "registry.cluster",
            K::RegistryAuthority => "registry.authority",
            K::RegistryPath => "registry.path",
            K::RegistryRange { .. } => "registry.range",
            K::RegistryTimeoutNotBelowRefresh { .. } => "registry.timeout_not_below_refresh",
            K::RegistryStaleBelowRefresh { .. } => "registry.stale_below_refresh",
            K::RegistryBeforeFirstLoad => "registry.before_first_load",
            K::RegistryHeaderName => "registry.header_name",
            K::RegistryHeaderValue => "registry.header_value",
            K::RegistryTooManyHeaders { .. } => "registry.too_many_headers",
            K::RegistryWithAnyOrigin => "registry.with_any_origin",
            K::RegistryBodyTooLarge { .. } => "registry.body_too_large",
            K::RegistryVersion => "registry.version",
            K::RegistryTooManyEntries { .. } => "registry.too_many_entries",
            K::RegistryAnyOrigin => "registry.any_origin",
            K::PercentInReportOnly => "percent_in_report_only",
            K::PercentUnderReportOnlyDefault => "percent_under_report_only_default",
            K::PercentZero => "percent_zero",
            K::RejectNeverBlocks => "reject_never_blocks",
            K::Shadowed { .. } => "shadowed",
        }
    }
}

fn method_message(issue: MethodIssue) -> &'static str {
    match issue {
        MethodIssue::Wildcard => "method wildcards are not supported; list each method",
        MethodIssue::NotToken => "not a valid method name (RFC 9110 token)",
        MethodIssue::Forbidden => "forbidden method: browsers never send it cross-origin (Fetch §2.2.1)",
        MethodIssue::PatchCase => {
            "write \"PATCH\": browsers send it exactly as the page writes it (Fetch §2.2.1 upper-cases \
             only DELETE, GET, HEAD, OPTIONS, POST, PUT), and fetch(url, {method: 'PATCH'}) sends PATCH"
        }
        MethodIssue::Duplicate => "duplicate method",
        MethodIssue::NotUpperCase => {
            "not upper-case: browsers send custom methods exactly as the page writes them (Fetch \
             §2.2.1), so this allows only a page that writes it in exactly this case"
        }
    }
}

fn origin_message(issue: &OriginIssue, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match issue {
        OriginIssue::StarNotAlone => f.write_str("`*` allows every origin and must be the only entry of allow_origins"),
        OriginIssue::StarWithCredentials => {
            f.write_str("`*` cannot be combined with allow_credentials: true; list the trusted origins")
        }
        OriginIssue::Invalid(e) => write!(f, "not a valid origin: it {e}"),
        OriginIssue::WildcardUnderPublicSuffix { base } => write!(
            f,
            "wildcard directly under the public suffix `{base}` would trust sites anyone can register; use a domain you own"
        ),
        OriginIssue::WildcardOverPublicSuffixes { base } => write!(
            f,
            "wildcard over `{base}`, under which the Public Suffix List has entries (names anyone can register); list the subdomains you own"
        ),
        OriginIssue::WildcardOverIp => f.write_str("a subdomain wildcard over an IP address matches nothing meaningful"),
        OriginIssue::PlainHttpWithCredentials => f.write_str(
            "plain-http origin with allow_credentials: true lets a network attacker read credentialed responses; use https (http is allowed only for localhost and loopback)",
        ),
        OriginIssue::Duplicate => f.write_str("duplicate origin"),
    }
}

fn regex_message(issue: &RegexIssue, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match issue {
        RegexIssue::TooLong => write!(f, "regex longer than {MAX_REGEX_LEN} bytes"),
        RegexIssue::NotAnchored => f.write_str(
            "regex must be anchored: start with `^` and end with `$`, or it matches look-alike origins such as https://app.example.com.evil.net",
        ),
        RegexIssue::UnescapedDot { next } => write!(
            f,
            "unescaped `.` before `{next}` matches any character (https://appxexample.com); write `\\.`"
        ),
        RegexIssue::Invalid { error } => write!(f, "invalid regex: {error}"),
        RegexIssue::MatchesDangerous { text } => write!(f, "regex matches `{text}`, which must never be trusted"),
        RegexIssue::NotConfined {
            detail,
            credentials: true,
            ..
        } => write!(f, "{detail}; with allow_credentials: true {RULE}"),
        RegexIssue::NotConfined {
            detail,
            credentials: false,
            ..
        } => write!(
            f,
            "{detail}; allowed without credentials, refused with allow_credentials: true, where {RULE}"
        ),
    }
}

fn host_message(issue: HostIssue, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    /// What a `match.hosts` entry may be.
    const HOST_FORMAT: &str =
        "a lower-case host name or [IPv6] literal, optionally `*.` for subdomains, then optionally \
         `:port` or `:*` (any explicit port); no scheme or path";
    match issue {
        HostIssue::NotAHost => write!(f, "not a host: expected {HOST_FORMAT}"),
        HostIssue::TrailingDot => f.write_str(
            "trailing dot: the router compares the Host as sent, so `name.` is another host; \
             set `strip_trailing_host_dot` on the connection manager and list the name without the dot",
        ),
        HostIssue::NotIpv6 => write!(f, "not an IPv6 literal: expected {HOST_FORMAT}"),
        HostIssue::BadPort => {
            f.write_str("bad port: expected 1 to 65535 without leading zeros, or `*` for any explicit port")
        }
        HostIssue::Duplicate => f.write_str("duplicate host"),
    }
}

/// One problem (or warning) in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// JSON path, e.g. `policies[0].allow_origins[2]` (`$` for the whole document).
    pub path: String,
    /// The offending value rendered as JSON (cut to 120 characters), if there is one.
    pub value: Option<String>,
    /// What is wrong.
    pub kind: IssueKind,
}

/// `path: value: message`, or `path: message` without a value.
impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}: {}: {}", self.path, v, self.kind),
            None => write!(f, "{}: {}", self.path, self.kind),
        }
    }
}

/// The list of problems found in one configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The errors, in the order found, at most 200.
    pub errors: Vec<ConfigIssue>,
    /// Errors found in all, including those past the kept maximum.
    pub total: usize,
    /// Findings that do not stop the filter (a policy that can never be selected, a regex
    /// broader than its domain without credentials, ...): logged at load and printed by the
    /// checker. Kept up to the same maximum as errors.
    pub warnings: Vec<ConfigIssue>,
}

impl ConfigErrors {
    /// True when no error was found (warnings do not count).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Record an error at `path` about `value` (any JSON value).
    pub(crate) fn push(&mut self, path: &str, value: Option<&Value>, kind: IssueKind) {
        self.record(path, value.map(render_value), kind);
    }

    /// Record an error about a value quoted (by [`render_value`]) when it was read.
    pub(crate) fn push_quoted(&mut self, path: &str, quoted: &str, kind: IssueKind) {
        self.record(path, Some(quoted.to_string()), kind);
    }

    fn record(&mut self, path: &str, value: Option<String>, kind: IssueKind) {
        self.total += 1;
        if self.errors.len() < MAX_KEPT {
            self.errors.push(issue(path, value, kind));
        }
    }

    /// Record an error about a string value.
    pub(crate) fn push_str(&mut self, path: &str, value: &str, kind: IssueKind) {
        let v = Value::String(value.to_string());
        self.push(path, Some(&v), kind);
    }

    /// Record a warning at `path` about `value`: the configuration still loads.
    pub(crate) fn warn(&mut self, path: &str, value: Option<&Value>, kind: IssueKind) {
        if self.warnings.len() < MAX_KEPT {
            self.warnings.push(issue(path, value.map(render_value), kind));
        }
    }

    /// The report of every error: `{head} (N errors):`, one `  - path: value: message` line each,
    /// and `  ... and N more` past the kept maximum. The filter logs it with the head
    /// `edge-cors: invalid configuration`, the checker prints it after the file and location.
    pub fn render(&self, head: &str) -> String {
        let mut out = format!(
            "{head} ({} error{}):\n",
            self.total,
            if self.total == 1 { "" } else { "s" }
        );
        for e in &self.errors {
            out.push_str(&format!("  - {e}\n"));
        }
        if self.total > self.errors.len() {
            out.push_str(&format!("  ... and {} more\n", self.total - self.errors.len()));
        }
        out
    }
}

/// One line per warning, `{prefix}warning: path: value: message`: what the filter logs at load
/// (prefix `edge-cors: `) and the checker prints (prefix `file: location: `).
pub fn render_warnings(prefix: &str, warnings: &[ConfigIssue]) -> String {
    warnings.iter().map(|w| format!("{prefix}warning: {w}\n")).collect()
}

fn issue(path: &str, value: Option<String>, kind: IssueKind) -> ConfigIssue {
    ConfigIssue {
        path: path.to_string(),
        value,
        kind,
    }
}

/// The value as compact JSON, spelled as serde_json spells it, cut after [`MAX_VALUE_CHARS`]
/// characters with `...`. Rendered here, and only as far as the cut: a hostile configuration's
/// list of a million entries is never written out in full to be cut, and serde_json's
/// serializer stays out of the filter (2 KB of wasm).
pub(crate) fn render_value(v: &Value) -> String {
    let mut out = Cut::default();
    if !out.value(v) {
        out.text.push_str("...");
    }
    out.text
}

/// Text that takes at most [`MAX_VALUE_CHARS`] characters; each push says whether it fitted.
#[derive(Default)]
struct Cut {
    text: String,
    chars: usize,
}

impl Cut {
    fn push(&mut self, c: char) -> bool {
        if self.chars == MAX_VALUE_CHARS {
            return false;
        }
        self.text.push(c);
        self.chars += 1;
        true
    }

    fn push_str(&mut self, s: &str) -> bool {
        s.chars().all(|c| self.push(c))
    }

    fn value(&mut self, v: &Value) -> bool {
        match v {
            Value::Null => self.push_str("null"),
            Value::Bool(b) => self.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => self.push_str(&n.to_string()),
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.push('[')
                    && items
                        .iter()
                        .enumerate()
                        .all(|(i, item)| (i == 0 || self.push(',')) && self.value(item))
                    && self.push(']')
            }
            Value::Object(fields) => {
                self.push('{')
                    && fields.iter().enumerate().all(|(i, (key, item))| {
                        (i == 0 || self.push(',')) && self.string(key) && self.push(':') && self.value(item)
                    })
                    && self.push('}')
            }
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as serde_json writes them.
    fn string(&mut self, s: &str) -> bool {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.push('"')
            && s.chars().all(|c| match c {
                '"' => self.push_str("\\\""),
                '\\' => self.push_str("\\\\"),
                '\n' => self.push_str("\\n"),
                '\r' => self.push_str("\\r"),
                '\t' => self.push_str("\\t"),
                '\u{8}' => self.push_str("\\b"),
                '\u{c}' => self.push_str("\\f"),
                c if c < ' ' => {
                    let [high, low] = [u32::from(c) >> 4, u32::from(c) & 15]
                        .map(|d| HEX.get(d as usize).map_or('0', |&h| char::from(h)));
                    self.push_str("\\u00") && self.push(high) && self.push(low)
                }
                c => self.push(c),
            })
            && self.push('"')
    }
}

/// The filter's log of a refused configuration.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render("edge-cors: invalid configuration"))
    }
}

impl std::error::Error for ConfigErrors {}

/// The rules' builders report into the configuration's error list.
impl<I: Into<IssueKind>> Findings<I> for ConfigErrors {
    fn refuse(&mut self, path: &str, value: &str, issue: I) {
        self.push_str(path, value, issue.into());
    }

    fn question(&mut self, path: &str, value: &str, issue: I) {
        let v = Value::String(value.to_string());
        self.warn(path, Some(&v), issue.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the renderer must equal: serde_json's compact text, cut as documented.
    fn serde_json_cut(v: &Value) -> String {
        let full = serde_json::to_string(v).unwrap();
        if full.chars().count() <= MAX_VALUE_CHARS {
            return full;
        }
        let cut: String = full.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}...")
    }

    #[test]
    fn a_value_in_an_error_is_spelled_as_serde_json_spells_it_and_cut_at_the_limit() {
        let long = "é".repeat(MAX_VALUE_CHARS);
        let values = [
            "null",
            "true",
            "false",
            "0",
            "-17",
            "18446744073709551615",
            "1.5",
            "1e300",
            "-0.0",
            "100.0",
            r#""plain""#,
            r#""quote \" backslash \\ slash / tab \t newline \n return \r bell \u0007 del \u007f nul \u0000 \b \f""#,
            r#""unicode é ü 日本 😀 \u2028""#,
            "[]",
            "{}",
            r#"[1,"a",[true,null],{"k":"v"}]"#,
            r#"{"b":1,"a":{"x":[1,2,3]},"\n":"\u001f"}"#,
        ]
        .map(|text| serde_json::from_str::<Value>(text).unwrap())
        .into_iter()
        .chain([
            Value::String(long.clone()),
            Value::String(long[..long.len() - 2].to_string()),
            Value::String(format!("{}\u{1}", "x".repeat(MAX_VALUE_CHARS - 4))),
            serde_json::json!((0..1000).collect::<Vec<u32>>()),
            serde_json::json!({ "k": long }),
        ]);
        for v in values {
            assert_eq!(render_value(&v), serde_json_cut(&v), "{v:?}");
        }
    }

    #[test]
    fn a_value_of_exactly_the_limit_is_not_marked_cut_and_one_more_character_is() {
        let exact = Value::String("x".repeat(MAX_VALUE_CHARS - 2));
        assert_eq!(render_value(&exact).chars().count(), MAX_VALUE_CHARS);
        assert!(!render_value(&exact).ends_with("..."));
        let over = Value::String("x".repeat(MAX_VALUE_CHARS - 1));
        assert_eq!(render_value(&over), format!("\"{}...", "x".repeat(MAX_VALUE_CHARS - 1)));
    }
}
