//! Configuration errors: every one names the JSON path and the offending value, and all of
//! them are reported together so an operator fixes a policy in one round trip.

use std::fmt;

/// At most this many errors are kept; a policy with more has a systematic problem and the
/// first ones tell what it is. The total is still counted.
const MAX_KEPT: usize = 200;
/// Values are quoted in errors, cut to this many characters.
const MAX_VALUE_CHARS: usize = 120;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path, e.g. `policies[0].allow_origins[2]`.
    pub path: String,
    /// The offending value rendered as JSON, if there is one.
    pub value: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}: {}: {}", self.path, v, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// The list of problems found in one configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
    /// Errors found in all, including those past the kept maximum.
    pub total: usize,
    /// Findings that do not stop the filter (a policy that can never be selected, a regex
    /// broader than its domain without credentials, ...): logged at load and printed by the
    /// checker. Kept up to the same maximum as errors.
    pub warnings: Vec<ConfigError>,
}

impl ConfigErrors {
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Record an error at `path` about `value` (any JSON-serialisable value).
    pub fn push(&mut self, path: &str, value: Option<&serde_json::Value>, message: impl Into<String>) {
        self.total += 1;
        if self.errors.len() < MAX_KEPT {
            self.errors.push(ConfigError {
                path: path.to_string(),
                value: value.map(render_value),
                message: message.into(),
            });
        }
    }

    /// Record an error about a string value.
    pub fn push_str(&mut self, path: &str, value: &str, message: impl Into<String>) {
        let v = serde_json::Value::String(value.to_string());
        self.push(path, Some(&v), message);
    }

    /// Record a warning at `path` about `value`: the configuration still loads.
    pub fn warn(&mut self, path: &str, value: Option<&serde_json::Value>, message: impl Into<String>) {
        if self.warnings.len() < MAX_KEPT {
            self.warnings.push(ConfigError {
                path: path.to_string(),
                value: value.map(render_value),
                message: message.into(),
            });
        }
    }

    /// Record a warning about a string value.
    pub fn warn_str(&mut self, path: &str, value: &str, message: impl Into<String>) {
        let v = serde_json::Value::String(value.to_string());
        self.warn(path, Some(&v), message);
    }

    /// True when a message containing `needle` was recorded at `path` (for tests and tools).
    pub fn has(&self, path: &str, needle: &str) -> bool {
        self.errors.iter().any(|e| e.path == path && e.message.contains(needle))
    }
}

fn render_value(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s;
    }
    let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
    format!("{cut}...")
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "edge-cors: invalid configuration ({} error{}):",
            self.total,
            if self.total == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            writeln!(f, "  - {e}")?;
        }
        if self.total > self.errors.len() {
            writeln!(f, "  ... and {} more", self.total - self.errors.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
