//! The bounds a configuration must stay within, and the defaults of optional fields.

/// Config files larger than this are refused before parsing.
pub(crate) const MAX_CONFIG_BYTES: usize = 16 << 20;

/// Default of `rejection_log_interval_seconds`.
pub(crate) const DEFAULT_REJECTION_LOG_INTERVAL_SECONDS: u64 = 60;

/// A debug token shorter than this is guessable.
pub(crate) const MIN_TOKEN_LEN: usize = 16;
/// The longest debug token.
pub(crate) const MAX_TOKEN_LEN: usize = 256;
