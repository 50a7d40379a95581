//! `edge-cors-check FILE...`: every configuration found in each file, compiled by the
//! filter's own validation, reported as text (the filter's words) or as JSON findings.

use std::path::Path;

use edge_cors_core::compile;
use serde_json::{json, Value};

use crate::lines::Lines;
use crate::load::{find_configs, read_input, Found};
use crate::report::{
    error_report, finding, json_report, other_finding, status_name, valid_report, version_text, warning_report, Where,
};
use crate::Status;

const USAGE: &str = "\
usage: edge-cors-check [--quiet] [--format text|json] FILE...
       edge-cors-check render envoy|istio|envoy-gateway POLICY.json [OPTION...]   (render --help)
       edge-cors-check import FILE...   native CORS policies -> an edge-cors configuration (report_only)
       edge-cors-check owners FILE...   routes where native CORS and edge-cors would both act
       edge-cors-check registry [OPTION...] FILE_OR_URL   a registry document (registry --help)
       edge-cors-check --version

Checks every edge-cors configuration in each FILE with the filter's own validation.
FILE is a policy JSON (*.json without `kind` or `static_resources`), an Istio WasmPlugin
manifest, an Envoy Gateway EnvoyExtensionPolicy, or an Envoy config (YAML or JSON; several
YAML documents allowed). `-` reads stdin.
A manifest that still names the placeholder image of the shipped examples (REGISTRY, DIGEST)
is invalid.

  --quiet          print only errors, not the summary of valid policies
  --format json    one JSON document: per file and configuration, its line and its findings
                   (severity, path, kind, value, message, line), for CI
  --version        the checker's version and the sha256 of the wasm of the same release

exit status: 0 all valid, 1 some configuration is invalid, 2 could not check";

/// How the results are reported.
enum Output {
    Text { quiet: bool },
    Json(Vec<Value>),
}

pub(crate) fn main(args: &[String]) -> Status {
    let mut quiet = false;
    let mut json = false;
    let mut files = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Status::Valid;
            }
            "--version" | "-V" => {
                print!("{}", version_text());
                return Status::Valid;
            }
            "--quiet" | "-q" => quiet = true,
            "--format" | "--format=text" | "--format=json" => {
                let value = match arg.split_once('=') {
                    Some((_, v)) => Some(v),
                    None => args.next().map(String::as_str),
                };
                match value {
                    Some("json") => json = true,
                    Some("text") => json = false,
                    other => {
                        eprintln!("edge-cors-check: --format takes text or json, not {other:?}\n{USAGE}");
                        return Status::CannotCheck;
                    }
                }
            }
            s if s.starts_with("--") => {
                eprintln!("edge-cors-check: unknown option {s}\n{USAGE}");
                return Status::CannotCheck;
            }
            _ => files.push(arg.clone()),
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return Status::CannotCheck;
    }
    let mut out = if json {
        Output::Json(Vec::new())
    } else {
        Output::Text { quiet }
    };
    let mut worst = Status::Valid;
    for file in &files {
        worst = worst.max(check_file(file, &mut out));
    }
    if let Output::Json(reports) = out {
        let doc = json_report(worst, reports);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    worst
}

fn check_file(file: &str, out: &mut Output) -> Status {
    let bytes = match read_input(file) {
        Ok(b) => b,
        Err(e) => return cannot_check(file, &format!("cannot read: {e}"), out),
    };
    let found = match find_configs(file, &bytes) {
        Ok(found) => found,
        Err(e) => return cannot_check(file, &e, out),
    };
    if found.is_empty() {
        let why = "no edge-cors configuration found (expected a policy JSON, a WasmPlugin, an \
                   EnvoyExtensionPolicy Wasm entry, or an Envoy Wasm filter whose name, root_id, vm_id or code \
                   path contains edge-cors)";
        return cannot_check(file, why, out);
    }
    // Line numbers for YAML inputs, and for findings inside a policy JSON file.
    let lines = Lines::of(&String::from_utf8_lossy(&bytes));
    let whole_file_policy = is_whole_file(file, &found);
    let mut worst = Status::Valid;
    let mut configs = Vec::new();
    for f in found {
        let line = if whole_file_policy {
            None
        } else {
            lines.node_line(f.doc, &f.node)
        };
        let at = Where {
            file,
            line,
            location: &f.location,
        };
        let (status, report) = check_config(&f, &at, &lines, out);
        worst = worst.max(status);
        configs.push(report);
    }
    if let Output::Json(reports) = out {
        reports.push(json!({"file": file, "status": status_name(worst), "error": null, "configs": configs}));
    }
    worst
}

/// A policy JSON file (or stdin) is one configuration: its line numbers are those of its
/// findings, not of the configuration.
fn is_whole_file(file: &str, found: &[Found]) -> bool {
    found.len() == 1
        && found.iter().all(|f| f.location == "policy")
        && (file == "-"
            || Path::new(file)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json")))
}

/// Compile one configuration, print it (text) and return its status and JSON report.
fn check_config(f: &Found, at: &Where<'_>, lines: &Lines, out: &Output) -> (Status, Value) {
    let text = match out {
        Output::Text { quiet } => Some(*quiet),
        Output::Json(_) => None,
    };
    let mut findings = Vec::new();
    let mut status = Status::Valid;
    for problem in &f.deploy_problems {
        status = Status::Invalid;
        if text.is_some() {
            println!("{at}: invalid: {problem}");
        }
        findings.push(other_finding(
            "image_placeholder",
            &problem.field,
            &problem.to_string(),
            at.line,
        ));
    }
    let mut errors_total = 0;
    let mut policies = None;
    match &f.bytes {
        Err(why) => {
            status = Status::Invalid;
            errors_total = 1;
            if text.is_some() {
                println!("{at}: invalid: {why}");
            }
            findings.push(other_finding("unreadable_configuration", "$", why, at.line));
        }
        Ok(config) => match compile(config) {
            Ok(compiled) => {
                if text == Some(false) {
                    print!("{}", valid_report(at, &compiled, config));
                }
                if text.is_some() {
                    print!("{}", warning_report(at, compiled.warnings()));
                }
                policies = Some(compiled.policy_count());
                for w in compiled.warnings() {
                    findings.push(finding("warning", w, f.line_of(lines, &w.path)));
                }
            }
            Err(errors) => {
                status = Status::Invalid;
                errors_total = errors.total;
                if text.is_some() {
                    print!("{}", error_report(at, &errors));
                }
                for e in &errors.errors {
                    findings.push(finding("error", e, f.line_of(lines, &e.path)));
                }
                for w in &errors.warnings {
                    findings.push(finding("warning", w, f.line_of(lines, &w.path)));
                }
            }
        },
    }
    let report = json!({
        "location": f.location,
        "line": at.line,
        "status": status_name(status),
        "policies": policies,
        "errors_total": errors_total,
        "findings": findings,
    });
    (status, report)
}

fn cannot_check(file: &str, why: &str, out: &mut Output) -> Status {
    match out {
        Output::Text { .. } => eprintln!("{file}: {why}"),
        Output::Json(reports) => reports.push(json!({
            "file": file,
            "status": status_name(Status::CannotCheck),
            "error": why,
            "configs": [],
        })),
    }
    Status::CannotCheck
}
