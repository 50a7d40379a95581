//! Which response headers scripts may read (Fetch §3.2.3 `Access-Control-Expose-Headers`).

use std::sync::Arc;

use super::token::is_token;
use super::Findings;

/// Fetch §2.2.6: browsers never expose these to scripts, whatever the server says.
const FORBIDDEN: [&str; 2] = ["set-cookie", "set-cookie2"];

/// What is wrong with an `expose_headers` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExposeHeaderIssue {
    /// `*` next to other entries.
    StarNotAlone,
    /// `*` with credentials, which browsers read as a header named `*`.
    StarWithCredentials,
    /// Not an RFC 9110 token.
    NotToken,
    /// Set-Cookie, which browsers never expose (Fetch §2.2.6).
    SetCookie,
    /// Listed twice (names compare case-insensitively).
    Duplicate,
}

#[derive(Debug, Default)]
pub(crate) struct ExposeHeaders {
    /// Precomputed ACEH value; `None` when nothing is exposed.
    header_value: Option<Arc<str>>,
}

impl ExposeHeaders {
    pub(crate) fn build(
        entries: &[(String, String)],
        credentials: bool,
        errors: &mut impl Findings<ExposeHeaderIssue>,
    ) -> ExposeHeaders {
        let mut names: Vec<String> = Vec::new();
        for (path, h) in entries {
            if h == "*" {
                if entries.len() > 1 {
                    errors.refuse(path, h, ExposeHeaderIssue::StarNotAlone);
                }
                if credentials {
                    // Fetch §3.2.3: with credentials `*` is the literal header name `*`.
                    errors.refuse(path, h, ExposeHeaderIssue::StarWithCredentials);
                }
                names.push("*".to_string());
                continue;
            }
            if !is_token(h) {
                errors.refuse(path, h, ExposeHeaderIssue::NotToken);
                continue;
            }
            let lower = h.to_ascii_lowercase();
            if FORBIDDEN.contains(&lower.as_str()) {
                errors.refuse(path, h, ExposeHeaderIssue::SetCookie);
                continue;
            }
            if names.contains(&lower) {
                errors.refuse(path, h, ExposeHeaderIssue::Duplicate);
                continue;
            }
            names.push(lower);
        }
        let header_value = (!names.is_empty()).then(|| names.join(", ").into());
        ExposeHeaders { header_value }
    }

    pub(crate) fn header_value(&self) -> Option<&Arc<str>> {
        self.header_value.as_ref()
    }
}
