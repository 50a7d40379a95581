//! `edge-cors-check registry [OPTIONS] FILE_OR_URL`: a registry document (the answer of an
//! `allow_origins_from` source) checked offline by the filter's own compiler, with the same
//! verdict the filter reaches when it fetches it: refused (and why: the metric reason), or the
//! list it would serve and every entry it would skip.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use edge_cors_core::{compile_document, render_warnings, DocumentFailure};

use crate::load::read_input;
use crate::Status;

pub(crate) const USAGE: &str = "\
usage: edge-cors-check registry [--credentials] [--max-entries N] [--max-bytes N] FILE_OR_URL

Checks a registry document ({\"version\": ..., \"origins\": [...]}) with the filter's own rules,
as a policy with these settings would when it fetches it. FILE_OR_URL is a file, `-` (stdin)
or an http:// URL (for https, fetch it with curl and pass `-`).

  --credentials     the policy allows credentials (plain-http origins are then refused)
  --max-entries N   the source's max_entries (default 100000)
  --max-bytes N     the source's max_bytes (default 16777216)

exit status: 0 the filter would apply it, 1 it would refuse it, 2 could not check";

/// Run the subcommand on its arguments (after `registry`).
pub(crate) fn run(args: &[String]) -> Status {
    let mut credentials = false;
    let mut max_entries: usize = 100_000;
    let mut max_bytes: usize = 16 << 20;
    let mut target = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |what: &str| match it.next().and_then(|v| v.parse::<usize>().ok()) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(format!("{what} takes a whole number above 0")),
        };
        let parsed = match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Status::Valid;
            }
            "--credentials" => {
                credentials = true;
                Ok(())
            }
            "--max-entries" => number("--max-entries").map(|n| max_entries = n),
            "--max-bytes" => number("--max-bytes").map(|n| max_bytes = n),
            s if s.starts_with("--") => Err(format!("unknown option {s}")),
            s if target.is_none() => {
                target = Some(s.to_string());
                Ok(())
            }
            _ => Err("one FILE_OR_URL only".to_string()),
        };
        if let Err(e) = parsed {
            eprintln!("edge-cors-check registry: {e}\n{USAGE}");
            return Status::CannotCheck;
        }
    }
    let Some(target) = target else {
        eprintln!("{USAGE}");
        return Status::CannotCheck;
    };
    let bytes = if target.starts_with("http://") {
        fetch(&target)
    } else {
        read_input(&target).map_err(|e| e.to_string())
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{target}: cannot read: {e}");
            return Status::CannotCheck;
        }
    };
    let head = format!("{target}: registry document");
    match compile_document(&bytes, credentials, max_entries, max_bytes) {
        Ok((list, warnings)) => {
            println!(
                "{head}: valid: version \"{}\", {} entries ({} skipped)",
                list.version,
                list.entries(),
                list.skipped
            );
            print!("{}", render_warnings(&format!("{head}: "), &warnings.warnings));
            Status::Valid
        }
        Err((failure, errors)) => {
            let reason = match failure {
                DocumentFailure::TooLarge => "too_large",
                DocumentFailure::Invalid => "invalid",
                DocumentFailure::TooMany => "too_many",
                DocumentFailure::Dangerous => "dangerous",
            };
            print!("{}", errors.render(&format!("{head}: invalid")));
            print!("{}", render_warnings(&format!("{head}: "), &errors.warnings));
            println!(
                "{head}: the filter refuses this update (edge_cors_registry_updates_total, reason {reason}) and keeps serving its last good list"
            );
            Status::Invalid
        }
    }
}

/// GET an http:// URL (HTTP/1.1, `Connection: close`): the body of a 200, else an error.
fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(rest), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {authority}\r\naccept: application/json\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP answer")?;
    let head = String::from_utf8_lossy(response.get(..split).unwrap_or_default()).to_string();
    let body = response.get(split + 4..).unwrap_or_default().to_vec();
    let status = head.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("HTTP {status}"));
    }
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.to_ascii_lowercase().contains("chunked")
    });
    if chunked {
        return dechunk(&body);
    }
    Ok(body)
}

/// The body of a chunked transfer coding (RFC 9112 §7.1).
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(data.get(..line_end).unwrap_or_default()).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        data = data.get(line_end + 2..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("short chunk")?);
        data = data.get(size + 2..).unwrap_or_default();
    }
}
