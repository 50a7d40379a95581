//! Which response headers scripts may read (Fetch §3.2.3 `Access-Control-Expose-Headers`).

use std::rc::Rc;

use super::error::ConfigErrors;
use super::token::is_token;

/// Fetch §2.2.6: browsers never expose these to scripts, whatever the server says.
const FORBIDDEN: [&str; 2] = ["set-cookie", "set-cookie2"];

#[derive(Debug, Default)]
pub struct ExposeHeaders {
    /// Precomputed ACEH value; `None` when nothing is exposed.
    header_value: Option<Rc<str>>,
}

impl ExposeHeaders {
    pub fn build(entries: &[(String, String)], credentials: bool, errors: &mut ConfigErrors) -> ExposeHeaders {
        let mut names: Vec<String> = Vec::new();
        for (path, h) in entries {
            if h == "*" {
                if entries.len() > 1 {
                    errors.push_str(path, h, "`*` exposes every header and must be the only entry");
                }
                if credentials {
                    // Fetch §3.2.3: with credentials `*` is the literal header name `*`.
                    errors.push_str(path, h, "`*` does not work with allow_credentials: true (browsers read it as a header named `*`); list the headers");
                }
                names.push("*".to_string());
                continue;
            }
            if !is_token(h) {
                errors.push_str(path, h, "not a valid header name (RFC 9110 token)");
                continue;
            }
            let lower = h.to_ascii_lowercase();
            if FORBIDDEN.contains(&lower.as_str()) {
                errors.push_str(path, h, "browsers never expose Set-Cookie to scripts (Fetch §2.2.6)");
                continue;
            }
            if names.contains(&lower) {
                errors.push_str(path, h, "duplicate header name (names compare case-insensitively)");
                continue;
            }
            names.push(lower);
        }
        let header_value = (!names.is_empty()).then(|| names.join(", ").into());
        ExposeHeaders { header_value }
    }

    pub fn header_value(&self) -> Option<&Rc<str>> {
        self.header_value.as_ref()
    }
}
