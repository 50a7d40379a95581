//! edge-cors: a strict, observable CORS filter for Envoy, built as a proxy-wasm module.
//!
//! Every CORS rule and the whole filter logic live in the `edge-cors-core` crate, which never
//! imports `proxy_wasm`. This crate is the proxy-wasm host only (wasm32 only): `host`
//! implements the core's `RootHost` and `StreamHost` over `proxy_wasm::hostcalls`, and the
//! root and stream contexts forward each callback to `edge_cors_core::host::{Root, Stream}`.

#[cfg(target_arch = "wasm32")]
#[macro_use]
mod sdk_helpers;
#[cfg(target_arch = "wasm32")]
mod host;
