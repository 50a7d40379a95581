//! Rejection log lines, rate-limited per origin.
//!
//! One line per rejected request would let a hostile client write the gateway's log: every
//! value from the request is escaped and capped, and each origin is logged at most once per
//! window. A bounded table remembers recently logged origins; what it suppresses is counted
//! and reported on the next line that is logged (and by the periodic summary), so nothing
//! disappears silently.

use std::collections::HashMap;
use std::fmt::Write;

use super::decide::Decision;
use super::metrics::outcome_name;

/// Request values (origin, method, headers) are cut to this many bytes in a log line.
pub(crate) const MAX_LOGGED_VALUE: usize = 128;
/// At most this many origins are remembered; beyond, new origins are suppressed until
/// entries expire (so a client rotating origins is bounded too: at most `CAPACITY` lines
/// per window and worker). The window is `rejection_log_interval_seconds`.
pub(crate) const CAPACITY: usize = 256;

/// `s` escaped for a log line: printable ASCII except `"` and `\` is kept, everything else
/// becomes `\xNN` (bytes) so a value cannot forge a line break or a field; cut at `cap`
/// output bytes with the original length noted.
pub(crate) fn escape_capped(s: &str, cap: usize) -> String {
    let mut out = String::with_capacity(s.len().min(cap) + 16);
    for (i, b) in s.bytes().enumerate() {
        if out.len() >= cap {
            let _ = write!(out, "...({} bytes, {} more)", s.len(), s.len() - i);
            break;
        }
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    logged_at_ms: u64,
}

/// The verdict for one rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Log it; `suppressed` lines were held back since the previous logged line.
    Log {
        suppressed: u64,
    },
    Suppress,
}

/// Per-worker table of recently logged origins.
#[derive(Debug)]
pub(crate) struct RejectionLimiter {
    window_ms: u64,
    capacity: usize,
    recent: HashMap<String, Entry>,
    /// Lines suppressed since the last logged line or summary.
    suppressed: u64,
}

impl RejectionLimiter {
    /// A table of `capacity` origins, each logged at most once per `window_ms`.
    pub(crate) fn new(capacity: usize, window_ms: u64) -> RejectionLimiter {
        RejectionLimiter {
            window_ms,
            capacity,
            recent: HashMap::new(),
            suppressed: 0,
        }
    }

    /// Should a rejection from `origin` (as the request sent it) be logged at `now_ms`? Only
    /// its first `MAX_LOGGED_VALUE` bytes are remembered, which bounds the table's memory, so the
    /// caller escapes the origin only for the lines it actually writes.
    pub(crate) fn admit(&mut self, origin: &str, now_ms: u64) -> Admit {
        let origin = prefix(origin, MAX_LOGGED_VALUE);
        let window = self.window_ms;
        let fresh = |e: &Entry| now_ms.saturating_sub(e.logged_at_ms) < window;
        if let Some(e) = self.recent.get_mut(origin) {
            if fresh(e) {
                self.suppressed += 1;
                return Admit::Suppress;
            }
            e.logged_at_ms = now_ms;
            return Admit::Log {
                suppressed: std::mem::take(&mut self.suppressed),
            };
        }
        if self.recent.len() >= self.capacity {
            self.recent.retain(|_, e| fresh(e));
        }
        if self.recent.len() >= self.capacity {
            self.suppressed += 1;
            return Admit::Suppress;
        }
        self.recent.insert(origin.to_string(), Entry { logged_at_ms: now_ms });
        Admit::Log {
            suppressed: std::mem::take(&mut self.suppressed),
        }
    }

    /// For the periodic summary: lines suppressed since the last logged line (reset), and
    /// the number of origins in the table. Expired entries are dropped.
    pub(crate) fn take_suppressed(&mut self, now_ms: u64) -> (u64, usize) {
        let window = self.window_ms;
        self.recent
            .retain(|_, e| now_ms.saturating_sub(e.logged_at_ms) < window);
        (std::mem::take(&mut self.suppressed), self.recent.len())
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    (0..=max.min(s.len())).rev().find_map(|end| s.get(..end)).unwrap_or("")
}

/// The log line of a rejected (or, in report-only mode, would-be rejected) request:
/// `rejected: policy=app mode=enforce outcome=preflight_rejected reason=method
/// origin="https://app.example.com" method="PATCH" headers="x-custom" request_id="..." suppressed=0`
/// (Envoy prefixes wasm log lines with `wasm log <plugin> <root id> <vm id>:`).
/// `origin` is the escaped, capped origin; `request_id` the request's `x-request-id`, escaped and
/// capped here. `None` when the decision is not a rejection.
pub(crate) fn line(
    decision: &Decision,
    policy: &str,
    origin: &str,
    request_id: Option<&str>,
    suppressed: u64,
) -> Option<String> {
    decision.policy?;
    let reason = decision.reason()?;
    let mut out = String::with_capacity(160);
    let mode = if decision.enforced { "enforce" } else { "report_only" };
    let _ = write!(
        out,
        "rejected: policy={policy} mode={mode} outcome={} reason={} origin=\"{origin}\"",
        outcome_name(decision.outcome, decision.blocked),
        reason.as_str()
    );
    if let Some(method) = &decision.requested_method {
        let _ = write!(out, " method=\"{}\"", escape_capped(method, MAX_LOGGED_VALUE));
    }
    if let Some(headers) = &decision.requested_headers {
        let _ = write!(out, " headers=\"{}\"", escape_capped(headers, MAX_LOGGED_VALUE));
    }
    if let Some(id) = request_id {
        let _ = write!(out, " request_id=\"{}\"", escape_capped(id, MAX_LOGGED_VALUE));
    }
    let _ = write!(out, " suppressed={suppressed}");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn control_characters_quotes_and_non_ascii_are_escaped() {
        assert_eq!(escape_capped("https://a.com", 128), "https://a.com");
        assert_eq!(escape_capped("a\"b\\c\r\nd", 128), "a\\x22b\\x5cc\\x0d\\x0ad");
        assert_eq!(escape_capped("é", 128), "\\xc3\\xa9");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn long_values_are_cut_with_their_length_noted() {
        let long = "x".repeat(5000);
        let out = escape_capped(&long, 128);
        assert_eq!(out, format!("{}...(5000 bytes, 4872 more)", "x".repeat(128)));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_origin_is_logged_once_per_window_and_suppressed_lines_are_reported_on_the_next_line() {
        let mut l = RejectionLimiter::new(4, 1000);
        assert_eq!(l.admit("https://a", 0), Admit::Log { suppressed: 0 });
        assert_eq!(l.admit("https://a", 10), Admit::Suppress);
        assert_eq!(l.admit("https://a", 999), Admit::Suppress);
        assert_eq!(l.admit("https://b", 999), Admit::Log { suppressed: 2 });
        assert_eq!(l.admit("https://a", 1000), Admit::Log { suppressed: 0 });
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_full_table_suppresses_new_origins_until_entries_expire() {
        let mut l = RejectionLimiter::new(2, 1000);
        assert_eq!(l.admit("o1", 0), Admit::Log { suppressed: 0 });
        assert_eq!(l.admit("o2", 0), Admit::Log { suppressed: 0 });
        for i in 0..100 {
            assert_eq!(l.admit(&format!("rotating-{i}"), 500), Admit::Suppress);
        }
        assert_eq!(l.take_suppressed(600), (100, 2));
        assert_eq!(l.admit("o3", 1000), Admit::Log { suppressed: 0 });
        assert_eq!(l.take_suppressed(1000), (0, 1));
    }
}
