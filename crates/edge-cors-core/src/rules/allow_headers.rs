//! Which request headers a preflight may ask for, and the bounded parser of
//! `Access-Control-Request-Headers` (Fetch §4.8 step 8; §2.2.2 "CORS-unsafe request-header names").

use std::collections::HashSet;

use super::hash::ConfigHash;
use super::token::{is_tchar, is_token};
use super::Findings;

/// Longest ACRH value examined. Browsers list each non-safelisted header once; real preflights
/// stay under a few hundred bytes. Past this the preflight is rejected as malformed without
/// further work, so a 60 KB header costs one length check.
pub(crate) const MAX_ACRH_LEN: usize = 2048;
/// Most header names one preflight may request.
pub(crate) const MAX_ACRH_NAMES: usize = 64;

/// Fetch §2.2.2 forbidden request-header names (plus the `proxy-`/`sec-` prefixes): browsers
/// never let scripts set them, so listing them only shows a misunderstanding.
const FORBIDDEN: [&str; 22] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "access-control-request-private-network",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// What is wrong with an `allow_headers` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowHeaderIssue {
    /// Not an RFC 9110 token.
    NotToken,
    /// A forbidden request header (Fetch §2.2.2): no script can set it.
    Forbidden,
    /// Listed next to `*`, which covers it (only `authorization` may be).
    RedundantNextToStar,
    /// Listed twice (names compare case-insensitively).
    Duplicate,
}

#[derive(Debug)]
pub(crate) enum AllowHeaders {
    /// Exactly these (lower-case) names.
    List(HashSet<Box<str>, ConfigHash>),
    /// `*`: any name, except `authorization` unless it is listed too (Fetch §4.8 step 8:
    /// the wildcard never covers `Authorization`).
    Any { authorization: bool },
}

/// Why a preflight's ACRH was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcrhRejection {
    /// Not a comma-separated list of tokens, or beyond the parsing bounds.
    Malformed,
    /// Well-formed, but a name is not allowed by the policy.
    NotAllowed,
}

impl AllowHeaders {
    pub(crate) fn build(entries: &[(String, String)], errors: &mut impl Findings<AllowHeaderIssue>) -> AllowHeaders {
        let star = entries.iter().any(|(_, h)| h == "*");
        let mut names: HashSet<Box<str>, ConfigHash> = HashSet::default();
        for (path, h) in entries {
            if h == "*" {
                continue;
            }
            if !is_token(h) {
                errors.refuse(path, h, AllowHeaderIssue::NotToken);
                continue;
            }
            let lower = h.to_ascii_lowercase();
            if is_forbidden(&lower) {
                errors.refuse(path, h, AllowHeaderIssue::Forbidden);
                continue;
            }
            if star && lower != "authorization" {
                errors.refuse(path, h, AllowHeaderIssue::RedundantNextToStar);
                continue;
            }
            if !names.insert(lower.into()) {
                errors.refuse(path, h, AllowHeaderIssue::Duplicate);
            }
        }
        if star {
            AllowHeaders::Any {
                authorization: names.contains("authorization"),
            }
        } else {
            AllowHeaders::List(names)
        }
    }

    fn allows(&self, lower_name: &str) -> bool {
        match self {
            AllowHeaders::List(names) => names.contains(lower_name),
            AllowHeaders::Any { authorization } => *authorization || lower_name != "authorization",
        }
    }

    /// Parse an ACRH value and check every name. On success, what to echo in ACAH: the
    /// normalized list (lower-case, comma-separated, no whitespace, no empty element), which is
    /// the value itself when it is already in that form, as browsers send it (lower-case names
    /// joined by bare commas): then nothing is built.
    ///
    /// Bounded: the value is refused past [`MAX_ACRH_LEN`] bytes or [`MAX_ACRH_NAMES`] names.
    /// An element `*` is refused as malformed, whatever the policy: it is a legal token, but
    /// echoed as an ACAH value it is the wildcard (Fetch §3.2.3: any header name, for requests
    /// without credentials), which grants more than was checked; no real page names a header
    /// `*`, so refusing it costs nothing and the wildcard is never echoed literally.
    /// Optional whitespace around elements and empty elements (`a,,b`) are tolerated, as
    /// RFC 9110 §5.6.1 asks of list recipients; a combined value from several header lines
    /// arrives comma-joined and parses the same way.
    pub(crate) fn check_request(&self, acrh: &str) -> Result<Echo, AcrhRejection> {
        if acrh.len() > MAX_ACRH_LEN {
            return Err(AcrhRejection::Malformed);
        }
        // The normalized list, built from the first element that differs from its normalized
        // form on (with the elements before it, which are their own normalized form).
        let mut echo: Option<String> = None;
        let mut names = 0usize;
        let mut not_allowed = false;
        let mut start = 0usize;
        for element in acrh.split(',') {
            let before = acrh.get(..start.saturating_sub(1)).unwrap_or_default();
            start += element.len() + 1;
            let name = element.trim_matches(|c| c == ' ' || c == '\t');
            if name.is_empty() {
                echo.get_or_insert_with(|| normalized_so_far(before, acrh.len()));
                continue;
            }
            if name == "*" || !name.bytes().all(is_tchar) {
                return Err(AcrhRejection::Malformed);
            }
            names += 1;
            if names > MAX_ACRH_NAMES {
                return Err(AcrhRejection::Malformed);
            }
            let as_received =
                echo.is_none() && name.len() == element.len() && !name.bytes().any(|b| b.is_ascii_uppercase());
            let lower = if as_received {
                name
            } else {
                let echo = echo.get_or_insert_with(|| normalized_so_far(before, acrh.len()));
                if !echo.is_empty() {
                    echo.push(',');
                }
                let at = echo.len();
                echo.push_str(name);
                match echo.get_mut(at..) {
                    Some(pushed) => {
                        pushed.make_ascii_lowercase();
                        &*pushed
                    }
                    None => "",
                }
            };
            if !not_allowed && !self.allows(lower) {
                // Keep parsing: a malformed element later still makes the whole value malformed.
                not_allowed = true;
            }
        }
        if not_allowed {
            return Err(AcrhRejection::NotAllowed);
        }
        Ok(echo.map_or(Echo::AsReceived, Echo::Normalized))
    }
}

/// What an accepted ACRH value is echoed as in ACAH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Echo {
    /// The value itself: it is its own normalized form.
    AsReceived,
    /// This normalized list (empty: the value named no header).
    Normalized(String),
}

#[cfg(any(test, feature = "test-support"))]
impl Echo {
    /// The echoed list as text, for tests.
    pub(crate) fn text(self, acrh: &str) -> String {
        match self {
            Echo::AsReceived => acrh.to_string(),
            Echo::Normalized(list) => list,
        }
    }
}

/// The start of a normalized list: `before`, the elements already checked, which were their own
/// normalized form; room for the rest of a value of `len` bytes (the list is never longer).
fn normalized_so_far(before: &str, len: usize) -> String {
    let mut echo = String::with_capacity(len);
    echo.push_str(before);
    echo
}

fn is_forbidden(lower: &str) -> bool {
    FORBIDDEN.contains(&lower) || lower.starts_with("proxy-") || lower.starts_with("sec-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Collected;

    fn build(list: &[&str]) -> AllowHeaders {
        let entries: Vec<_> = list.iter().map(|h| ("h".to_string(), h.to_string())).collect();
        let mut errors = Collected::<AllowHeaderIssue>::default();
        let a = AllowHeaders::build(&entries, &mut errors);
        assert!(errors.errors.is_empty(), "{errors:?}");
        a
    }

    fn check(a: &AllowHeaders, acrh: &str) -> Result<String, AcrhRejection> {
        a.check_request(acrh).map(|echo| echo.text(acrh))
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn listed_names_are_echoed_lower_case_and_whitespace_and_empty_elements_are_tolerated() {
        let a = build(&["Content-Type", "authorization"]);
        assert_eq!(
            check(&a, " Content-Type ,\tAuthorization,,"),
            Ok("content-type,authorization".into())
        );
        assert_eq!(check(&a, ""), Ok(String::new()));
        assert_eq!(check(&a, "x-other"), Err(AcrhRejection::NotAllowed));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_value_already_normalized_is_echoed_as_received_and_any_other_is_rebuilt_from_where_it_differs() {
        let a = build(&["x-a", "x-b", "x-c"]);
        for acrh in ["x-a", "x-a,x-b,x-c"] {
            assert_eq!(a.check_request(acrh), Ok(Echo::AsReceived), "{acrh:?}");
        }
        for (acrh, echo) in [
            ("x-a,X-B", "x-a,x-b"),
            ("x-a,x-b,", "x-a,x-b"),
            ("x-a,,x-c", "x-a,x-c"),
            ("x-a, x-b,x-c", "x-a,x-b,x-c"),
            (",x-a", "x-a"),
            ("X-A,x-b", "x-a,x-b"),
            ("", ""),
            (" ", ""),
        ] {
            assert_eq!(a.check_request(acrh), Ok(Echo::Normalized(echo.into())), "{acrh:?}");
        }
        assert_eq!(a.check_request("x-a,x-d"), Err(AcrhRejection::NotAllowed));
        assert_eq!(a.check_request("x-a,X-D"), Err(AcrhRejection::NotAllowed));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_wildcard_never_covers_authorization_unless_listed() {
        assert_eq!(
            check(&build(&["*"]), "x-a,authorization"),
            Err(AcrhRejection::NotAllowed)
        );
        assert_eq!(check(&build(&["*"]), "x-a,x-b"), Ok("x-a,x-b".into()));
        assert_eq!(
            check(&build(&["*", "authorization"]), "authorization"),
            Ok("authorization".into())
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_requested_star_is_malformed_alone_or_in_a_list_under_any_policy() {
        for policy in [
            build(&["*"]),
            build(&["*", "authorization"]),
            build(&["x-a"]),
            build(&[]),
        ] {
            for acrh in ["*", "x-a,*", "*,x-a", " * ", "x-a, ,*,,", "authorization,*"] {
                assert_eq!(check(&policy, acrh), Err(AcrhRejection::Malformed), "{acrh:?}");
            }
            // `*` inside a name is a token character like any other.
            assert_ne!(check(&policy, "x-*"), Err(AcrhRejection::Malformed));
        }
        assert_eq!(check(&build(&["*"]), "x-*"), Ok("x-*".into()));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn oversized_or_non_token_values_are_malformed() {
        let a = build(&["*"]);
        assert_eq!(
            check(&a, &"a,".repeat(MAX_ACRH_NAMES + 1)),
            Err(AcrhRejection::Malformed)
        );
        assert_eq!(check(&a, &"a".repeat(MAX_ACRH_LEN + 1)), Err(AcrhRejection::Malformed));
        assert_eq!(check(&a, "x a"), Err(AcrhRejection::Malformed));
        assert_eq!(check(&a, "x\u{0}"), Err(AcrhRejection::Malformed));
        assert_eq!(check(&build(&["x-a"]), "x-b,bad header"), Err(AcrhRejection::Malformed));
    }
}
