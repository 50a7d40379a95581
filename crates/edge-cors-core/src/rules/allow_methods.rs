//! Which methods a preflight may request (Fetch §4.8 "CORS-preflight fetch", step 7).

use std::sync::Arc;

use super::token::is_token;
use super::Findings;

/// Fetch §2.2.1: CORS-safelisted methods. A browser accepts them whatever
/// `Access-Control-Allow-Methods` says, so a preflight requesting one is never refused for it.
pub(crate) const SAFELISTED: [&str; 3] = ["GET", "HEAD", "POST"];

/// Methods browsers normalize to upper case (Fetch §2.2.1 "normalize a method"). Config
/// entries matching one of these in any case are stored upper-case; every other method is
/// compared byte for byte, as browsers send it (`fetch(url, {method: "patch"})` sends `patch`,
/// `{method: "PATCH"}` sends `PATCH`).
const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

/// Fetch §2.2.1 forbidden methods: browsers never send them, and allowing them is a mistake.
const FORBIDDEN: [&str; 3] = ["CONNECT", "TRACE", "TRACK"];

/// What is wrong with an `allow_methods` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodIssue {
    /// `*`: methods are listed one by one.
    Wildcard,
    /// Not an RFC 9110 token.
    NotToken,
    /// CONNECT, TRACE or TRACK (Fetch §2.2.1).
    Forbidden,
    /// PATCH in another case than upper case, which no browser sends for `PATCH`.
    PatchCase,
    /// Listed twice (after normalization).
    Duplicate,
    /// A warning: a custom method not in upper case is compared exactly as written.
    NotUpperCase,
}

#[derive(Debug)]
pub(crate) struct AllowMethods {
    methods: Vec<Box<str>>,
    /// Precomputed `Access-Control-Allow-Methods` value.
    header_value: Arc<str>,
}

impl AllowMethods {
    pub(crate) fn build(entries: &[(String, String)], errors: &mut impl Findings<MethodIssue>) -> AllowMethods {
        let mut methods: Vec<Box<str>> = Vec::new();
        for (path, m) in entries {
            if m == "*" {
                errors.refuse(path, m, MethodIssue::Wildcard);
                continue;
            }
            if !is_token(m) {
                errors.refuse(path, m, MethodIssue::NotToken);
                continue;
            }
            if FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(m)) {
                errors.refuse(path, m, MethodIssue::Forbidden);
                continue;
            }
            if m.eq_ignore_ascii_case("PATCH") && m != "PATCH" {
                // Pages write `PATCH`, which browsers send as written: a lower- or mixed-case
                // entry would refuse every real PATCH preflight.
                errors.refuse(path, m, MethodIssue::PatchCase);
                continue;
            }
            let normalized = NORMALIZED
                .iter()
                .find(|n| n.eq_ignore_ascii_case(m))
                .map_or_else(|| m.clone(), |n| n.to_string());
            if methods.iter().any(|x| **x == *normalized) {
                errors.refuse(path, m, MethodIssue::Duplicate);
                continue;
            }
            if normalized.bytes().any(|b| b.is_ascii_lowercase()) {
                errors.question(path, m, MethodIssue::NotUpperCase);
            }
            methods.push(normalized.into());
        }
        let header_value: Arc<str> = if methods.is_empty() {
            SAFELISTED.join(", ").into()
        } else {
            methods.iter().map(|m| &**m).collect::<Vec<_>>().join(", ").into()
        };
        AllowMethods { methods, header_value }
    }

    /// May a preflight request `method`? Compared case-sensitively, as Fetch does.
    pub(crate) fn allows(&self, method: &str) -> bool {
        SAFELISTED.contains(&method) || self.methods.iter().any(|m| **m == *method)
    }

    pub(crate) fn header_value(&self) -> &Arc<str> {
        &self.header_value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Collected;

    fn build(list: &[&str]) -> (AllowMethods, Collected<MethodIssue>) {
        let entries: Vec<_> = list
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("m[{i}]"), m.to_string()))
            .collect();
        let mut errors = Collected::default();
        (AllowMethods::build(&entries, &mut errors), errors)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn standard_methods_are_normalized_and_others_compared_exactly() {
        let (m, e) = build(&["put", "PATCH"]);
        assert!(e.errors.is_empty() && e.warnings.is_empty());
        assert!(m.allows("PUT"));
        assert!(m.allows("PATCH"));
        assert!(!m.allows("patch"));
        assert!(m.allows("GET") && m.allows("POST") && m.allows("HEAD"));
        assert!(!m.allows("DELETE"));
        assert_eq!(&**m.header_value(), "PUT, PATCH");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn patch_must_be_written_upper_case_and_other_custom_methods_in_lower_case_are_warned_about() {
        let (m, e) = build(&[
            "patch", "Patch", "pAtCh", "PATCH", "purge", "Mkcol", "M-SEARCH", "delete",
        ]);
        assert_eq!(e.errors.len(), 3, "{e:?}");
        for path in ["m[0]", "m[1]", "m[2]"] {
            assert!(e.has(path, &MethodIssue::PatchCase), "{path}: {e:?}");
        }
        let warned: Vec<&str> = e.warnings.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(warned, ["m[4]", "m[5]"]);
        assert!(e.warnings.iter().all(|(_, w)| *w == MethodIssue::NotUpperCase));
        assert!(m.allows("PATCH") && m.allows("purge") && m.allows("Mkcol") && m.allows("M-SEARCH"));
        assert!(!m.allows("PURGE") && !m.allows("patch"));
        assert!(m.allows("DELETE"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn forbidden_and_malformed_methods_are_refused() {
        let (_, e) = build(&["CONNECT", "trace", "TRACK", "GET POST", "*", "PUT", "put"]);
        assert_eq!(e.errors.len(), 6, "{e:?}");
        assert!(e.has("m[1]", &MethodIssue::Forbidden));
        assert!(e.has("m[3]", &MethodIssue::NotToken));
        assert!(e.has("m[6]", &MethodIssue::Duplicate));
    }
}
