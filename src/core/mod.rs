//! The CORS policy engine. Nothing in this module tree imports `proxy_wasm`.
//!
//! Acronyms used throughout (defined once, here):
//! - ACAO: `Access-Control-Allow-Origin`
//! - ACAC: `Access-Control-Allow-Credentials`
//! - ACAM: `Access-Control-Allow-Methods`
//! - ACAH: `Access-Control-Allow-Headers`
//! - ACEH: `Access-Control-Expose-Headers`
//! - ACMA: `Access-Control-Max-Age`
//! - ACAPN: `Access-Control-Allow-Private-Network`
//! - ACRM: `Access-Control-Request-Method`
//! - ACRH: `Access-Control-Request-Headers`
//! - ACRPN: `Access-Control-Request-Private-Network`
//! - PNA: Private Network Access (the WICG draft behind ACRPN/ACAPN)
//!
//! "Fetch" refers to the WHATWG Fetch standard, <https://fetch.spec.whatwg.org/>; section
//! numbers are cited where a rule is implemented.

pub mod allow_headers;
pub mod allow_methods;
pub mod config;
pub mod decide;
pub mod decision_header;
pub mod error;
pub mod expose_headers;
pub mod headers;
pub mod max_age;
pub mod metrics;
pub mod origin;
pub mod origin_matcher;
pub mod origin_regex;
pub mod policy;
pub mod public_suffix;
pub mod rejection_log;
pub mod rollout;
pub mod route_match;
pub mod simulate;
pub mod token;
pub mod vary;

pub use config::{compile, Config};
pub use decide::{decide, Blocked, Decision, Outcome, Reason, RequestHeaders};
pub use error::{ConfigError, ConfigErrors};
pub use policy::Policy;
