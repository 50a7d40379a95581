//! Layer 3, operations: what the filter does around a CORS decision. Report-only mode, the
//! rollout and `reject_disallowed` (`rollout`), the debug header (`decision_header`), the
//! metric layout (`metrics`) and the rejection log (`rejection_log`); [`decide::decide`] wraps
//! the pure CORS decision with all of them.

pub(crate) mod decide;
pub(crate) mod decision_header;
pub(crate) mod metrics;
pub(crate) mod registry;
pub(crate) mod rejection_log;
pub(crate) mod rollout;
