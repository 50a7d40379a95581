//! How long a browser may cache a preflight result (Fetch §3.2.3 `Access-Control-Max-Age`).

use std::sync::Arc;

/// Browsers cap the cache anyway (Chromium at 2 hours, Firefox at 24 hours); a larger value
/// only hides a mistake, so a day is the upper bound.
pub(crate) const MAX_MAX_AGE: u64 = 86_400;

#[derive(Debug, Default)]
pub(crate) struct MaxAge {
    /// Precomputed `Access-Control-Max-Age` value; `None` sends no header (browser default).
    header_value: Option<Arc<str>>,
}

impl MaxAge {
    /// `seconds` as validated by the configuration (at most [`MAX_MAX_AGE`]); `None` sends no
    /// header.
    pub(crate) fn new(seconds: Option<u64>) -> MaxAge {
        MaxAge {
            header_value: seconds.map(|n| n.to_string().into()),
        }
    }

    pub(crate) fn header_value(&self) -> Option<&Arc<str>> {
        self.header_value.as_ref()
    }
}
