//! edge-cors: a strict, observable CORS filter for Envoy, built as a proxy-wasm module.
//!
//! The crate is split in two on purpose:
//! - [`core`] holds every CORS rule. It never imports `proxy_wasm`, so it is tested natively
//!   and under wasm-bindgen-test exactly as it runs in Envoy.
//! - `glue` (feature `proxy`, wasm32 only) reads request headers from the host, calls
//!   [`core::decide`], and applies the [`core::Decision`]. It holds no CORS logic.
//!
//! Data flows one way: JSON bytes -> raw config -> compiled [`core::Config`] (shared through
//! an `Rc` by every request) -> `decide(&config, &request)` -> the glue applies the decision.

// A panic in wasm takes the filter down for every request on that worker: outside tests,
// nothing may unwrap, expect, panic or index unchecked.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod core;

#[cfg(all(feature = "proxy", target_arch = "wasm32"))]
mod glue;
