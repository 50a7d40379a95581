//! edge-cors-check: the filter's own configuration validation as a command, for CI pipelines.
//!
//! It reads a policy JSON, an Istio `WasmPlugin` manifest or an Envoy config (YAML or JSON, one
//! or several documents), finds every edge-cors configuration in it ([`load`]) and runs
//! `edge_cors_core::compile` on exactly the bytes the filter would receive ([`cmd::check`]); the
//! text it prints is rendered by the core, as the filter logs it ([`report`]). `render` writes
//! the Envoy, Istio or Envoy Gateway document that deploys a policy with a release
//! ([`cmd::render`]). For migrating from native CORS (docs/migration.md), `import`
//! ([`cmd::import`]) turns Istio, Envoy, Gateway API and ingress-nginx CORS policies into an
//! edge-cors configuration and `owners` ([`cmd::owners`]) lists the routes both would serve;
//! both read the routing objects through [`native`]. `registry` checks a registry document
//! offline ([`cmd::registry`]); `probe` checks a live gateway's answers against a policy
//! ([`cmd::probe`]).
//!
//! Exit status: 0 every configuration is valid (a summary of each compiled policy is printed),
//! 1 at least one is invalid (every error is printed with its JSON path), 2 the command could
//! not check (unreadable file, not YAML/JSON, no edge-cors configuration found, bad usage).
//!
//! A crate of its own, so the YAML parser is never linked into the wasm filter.

mod cmd;
mod lines;
mod load;
mod native;
mod report;

use std::process::ExitCode;

/// The exit status of a check, worst wins.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Status {
    Valid = 0,
    Invalid = 1,
    CannotCheck = 2,
}

/// One line per subcommand; without one, the arguments are files to check.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let status = match args.split_first() {
        Some((sub, rest)) if sub == "render" => cmd::render::main(rest),
        Some((sub, rest)) if sub == "import" => return ExitCode::from(cmd::import::run(rest)),
        Some((sub, rest)) if sub == "owners" => return ExitCode::from(cmd::owners::run(rest)),
        Some((sub, rest)) if sub == "registry" => cmd::registry::run(rest),
        Some((sub, rest)) if sub == "probe" => cmd::probe::run(rest),
        _ => cmd::check::main(&args),
    };
    ExitCode::from(status as u8)
}
