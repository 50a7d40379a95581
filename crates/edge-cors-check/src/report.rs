//! The checker's text: the core renders every error, warning and summary exactly as the
//! filter logs them; this prefixes each with the file and the location in it.

use edge_cors_core::{render_warnings, summary, Config, ConfigErrors, ConfigIssue};

/// Every error, then every warning, of an invalid configuration.
pub(crate) fn error_report(file: &str, location: &str, errors: &ConfigErrors) -> String {
    let mut out = errors.render(&format!("{file}: {location}: invalid"));
    out.push_str(&warning_report(file, location, &errors.warnings));
    out
}

/// One line per warning, in the form the filter logs them at load (`warning: path: value: message`).
pub(crate) fn warning_report(file: &str, location: &str, warnings: &[ConfigIssue]) -> String {
    render_warnings(&format!("{file}: {location}: "), warnings)
}

/// A short account of a valid configuration, policy by policy.
pub(crate) fn valid_report(file: &str, location: &str, config: &Config, bytes: &[u8]) -> String {
    summary::valid_report(&format!("{file}: {location}: "), config, bytes)
}
