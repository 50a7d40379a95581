//! edge-cors-check: the filter's own configuration validation as a command, for CI pipelines.
//!
//! It reads a policy JSON, an Istio `WasmPlugin` manifest or an Envoy config (YAML or JSON, one
//! or several documents), finds every edge-cors configuration in it ([`load`]) and runs
//! `edge_cors_core::compile` on exactly the bytes the filter would receive ([`cmd::check`]); the
//! text it prints is rendered by the core, as the filter logs it ([`report`]).
//!
//! Exit status: 0 every configuration is valid (a summary of each compiled policy is printed),
//! 1 at least one is invalid (every error is printed with its JSON path), 2 the command could
//! not check (unreadable file, not YAML/JSON, no edge-cors configuration found, bad usage).
//!
//! A crate of its own, so the YAML parser is never linked into the wasm filter.

mod cmd;
mod load;
mod report;

use std::process::ExitCode;

const USAGE: &str = "\
usage: edge-cors-check [--quiet] FILE...

Checks every edge-cors configuration in each FILE with the filter's own validation.
FILE is a policy JSON (*.json without `kind` or `static_resources`), an Istio WasmPlugin
manifest, an Envoy Gateway EnvoyExtensionPolicy, or an Envoy config (YAML or JSON; several
YAML documents allowed). `-` reads stdin.

  --quiet   print only errors, not the summary of valid policies

exit status: 0 all valid, 1 some configuration is invalid, 2 could not check";

/// The exit status of a check, worst wins.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Status {
    Valid = 0,
    Invalid = 1,
    CannotCheck = 2,
}

fn main() -> ExitCode {
    let mut quiet = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--quiet" | "-q" => quiet = true,
            s if s.starts_with("--") => {
                eprintln!("edge-cors-check: unknown option {s}\n{USAGE}");
                return ExitCode::from(Status::CannotCheck as u8);
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(Status::CannotCheck as u8);
    }
    let mut worst = Status::Valid;
    for file in &files {
        let status = cmd::check::check_file(file, quiet);
        worst = worst.max(status);
    }
    ExitCode::from(worst as u8)
}
