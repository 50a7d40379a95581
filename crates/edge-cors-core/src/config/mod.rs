//! Layer 2, configuration: JSON bytes -> raw configuration -> compiled [`Config`], in one
//! step, with typed errors ([`ConfigErrors`] of [`IssueKind`]s at JSON paths) rendered in one
//! place. It builds the CORS rules of layer 1 and the operations settings layer 3 acts on.

pub(crate) mod compile;
pub(crate) mod error;
pub(crate) mod identity;
pub(crate) mod json;
pub(crate) mod limits;
pub(crate) mod raw;
pub(crate) mod registry;
pub(crate) mod settings;
pub(crate) mod summary;
