//! `edge-cors-check FILE...`: every configuration found in each file, compiled by the
//! filter's own validation.

use edge_cors_core::compile;

use crate::load::{find_configs, read_input};
use crate::report::{error_report, valid_report, warning_report};
use crate::Status;

pub(crate) fn check_file(file: &str, quiet: bool) -> Status {
    let bytes = match read_input(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{file}: cannot read: {e}");
            return Status::CannotCheck;
        }
    };
    let found = match find_configs(file, &bytes) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("{file}: {e}");
            return Status::CannotCheck;
        }
    };
    if found.is_empty() {
        eprintln!(
            "{file}: no edge-cors configuration found (expected a policy JSON, a WasmPlugin, an \
             EnvoyExtensionPolicy Wasm entry, or an Envoy Wasm filter whose name, root_id, vm_id or code \
             path contains edge-cors)"
        );
        return Status::CannotCheck;
    }
    let mut worst = Status::Valid;
    for f in found {
        let status = match f.bytes {
            Err(why) => {
                println!("{file}: {}: invalid: {why}", f.location);
                Status::Invalid
            }
            Ok(config) => match compile(&config) {
                Ok(compiled) => {
                    if !quiet {
                        print!("{}", valid_report(file, &f.location, &compiled, &config));
                    }
                    print!("{}", warning_report(file, &f.location, compiled.warnings()));
                    Status::Valid
                }
                Err(errors) => {
                    print!("{}", error_report(file, &f.location, &errors));
                    Status::Invalid
                }
            },
        };
        worst = worst.max(status);
    }
    worst
}
