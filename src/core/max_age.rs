//! How long a browser may cache a preflight result (Fetch §3.2.3 `Access-Control-Max-Age`).

use std::rc::Rc;

use serde_json::Value;

use super::error::ConfigErrors;

/// Browsers cap the cache anyway (Chromium at 2 hours, Firefox at 24 hours); a larger value
/// only hides a mistake, so a day is the upper bound.
pub const MAX_MAX_AGE: u64 = 86_400;

#[derive(Debug, Default)]
pub struct MaxAge {
    header_value: Option<Rc<str>>,
}

impl MaxAge {
    pub fn build(path: &str, value: Option<&Value>, errors: &mut ConfigErrors) -> MaxAge {
        let Some(value) = value else {
            return MaxAge::default();
        };
        match value.as_u64() {
            Some(n) if n <= MAX_MAX_AGE => MaxAge {
                header_value: Some(n.to_string().into()),
            },
            Some(_) => {
                errors.push(
                    path,
                    Some(value),
                    format!("must be at most {MAX_MAX_AGE} seconds (one day)"),
                );
                MaxAge::default()
            }
            None if value.is_i64() => {
                errors.push(path, Some(value), "must not be negative");
                MaxAge::default()
            }
            None => {
                errors.push(path, Some(value), "must be a whole number of seconds from 0 to 86400");
                MaxAge::default()
            }
        }
    }

    pub fn header_value(&self) -> Option<&Rc<str>> {
        self.header_value.as_ref()
    }
}
