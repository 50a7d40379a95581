//! `edge-cors-check probe --policy FILE URL`: a synthetic check of a live gateway against the
//! policy it should serve.
//!
//! From each enforced policy of the file the probe derives requests (a preflight from every
//! literal allowed origin, up to 16; a method and a header the policy does not allow; a look-alike
//! origin; actual requests from a trusted origin, with and without a cookie, from the look-alike,
//! and without Origin), asks the engine itself (`edge_cors_core::decide`, the code the filter
//! runs) what the answer must be, sends each request to URL, and reports every difference: the
//! status of edge-cors's own replies, the exact set of CORS headers (each once), and the
//! `Vary` tokens. Each difference is named after the classic failure it points to (a header a
//! later filter or proxy strips or adds, an auth filter before edge-cors, OPTIONS not answered,
//! a stale policy, a reflected origin, `*` with credentials).
//!
//! Plain HTTP/1.1 over `std::net::TcpStream` (one request per connection, `Connection: close`):
//! a gateway's listener or a port-forward to it is enough, and the checker needs no HTTP or TLS
//! crate. `https://` targets are refused with that advice.
//!
//! Exit status: 0 every answer is what the policy says, 1 some differ, 2 the probe could not run.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use edge_cors_core::{compile, decide, Action, Config, HeaderOp, Mode, RequestHeaders};
use serde_json::Value;

use crate::load::{find_configs, read_input};
use crate::Status;

const USAGE: &str = "\
usage: edge-cors-check probe --policy FILE [--host NAME] [--junit FILE] URL

Sends requests derived from the policy in FILE (a policy JSON, a WasmPlugin or an Envoy config
holding one edge-cors configuration) to URL (http://host:port) and reports every answer that
differs from what the policy says. Requests carry the policy's first match host, else --host,
else URL's host, and a path under its first path prefix.

  --junit FILE   also write the results as JUnit XML (one test case per request)

exit status: 0 every answer as the policy says, 1 some differ, 2 could not probe";

/// Literal origins probed per policy at most (one preflight each).
const MAX_ORIGINS: usize = 16;
/// A request header no policy would allow by accident.
const PROBE_HEADER: &str = "x-edge-cors-probe";
/// Responses are read up to this many bytes (the head is what matters).
const MAX_RESPONSE: u64 = 1 << 20;

/// `edge-cors-check probe ARGS...`
pub(crate) fn run(args: &[String]) -> Status {
    let mut policy = None;
    let mut host = None;
    let mut junit = None;
    let mut url = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Status::Valid;
            }
            "--policy" => policy = it.next(),
            "--host" => host = it.next(),
            "--junit" => junit = it.next(),
            s if s.starts_with("--") => return usage(&format!("unknown option {s}")),
            _ if url.is_none() => url = Some(arg),
            _ => return usage("one URL"),
        }
    }
    let (Some(policy), Some(url)) = (policy, url) else {
        return usage("--policy FILE and URL are required");
    };
    let target = match Target::parse(url) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let (config, json) = match load(policy) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("edge-cors-check probe: {policy}: {e}");
            return Status::CannotCheck;
        }
    };
    println!("probe {url} with {policy} (config {})", config.identity().describe());
    let default_host = host.cloned().unwrap_or_else(|| target.host.clone());
    let mut results = Vec::new();
    for (index, policy_json) in json
        .get("policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for case in cases(&config, index, policy_json, &default_host) {
            match run_case(&config, &target, &case) {
                Ok(result) => results.push(result),
                Err(e) => {
                    eprintln!("edge-cors-check probe: {url}: {}: {e}", case.name);
                    return Status::CannotCheck;
                }
            }
        }
    }
    let mut failed = 0;
    for r in &results {
        match &r.outcome {
            Outcome::Passed => println!("  ok   {}", r.name),
            Outcome::Skipped(why) => println!("  skip {}: {why}", r.name),
            Outcome::Failed(findings) => {
                failed += 1;
                for f in findings {
                    println!("  FAIL {}: {f}", r.name);
                }
            }
        }
    }
    println!(
        "probe: {} requests, {failed} answered otherwise than the policy says",
        results.len()
    );
    if let Some(path) = junit {
        if let Err(e) = std::fs::write(path, junit_xml(url, &results)) {
            eprintln!("edge-cors-check probe: {path}: {e}");
            return Status::CannotCheck;
        }
    }
    if failed > 0 {
        Status::Invalid
    } else {
        Status::Valid
    }
}

fn usage(why: &str) -> Status {
    eprintln!("edge-cors-check probe: {why}\n{USAGE}");
    Status::CannotCheck
}

/// The one configuration in the file, compiled, and its JSON.
fn load(file: &str) -> Result<(Config, Value), String> {
    let bytes = read_input(file).map_err(|e| format!("cannot read: {e}"))?;
    let mut found = find_configs(file, &bytes)?;
    if found.len() != 1 {
        return Err(format!(
            "{} edge-cors configurations found; the probe needs exactly one",
            found.len()
        ));
    }
    let config_bytes = found.pop().map(|f| f.bytes).unwrap_or_else(|| Err(String::new()))?;
    let config = compile(&config_bytes).map_err(|e| format!("invalid:\n{e}"))?;
    let json = serde_json::from_slice(&config_bytes).map_err(|e| e.to_string())?;
    Ok((config, json))
}

/// Where requests go: `http://host[:port]`.
#[derive(Debug)]
struct Target {
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        if url.starts_with("https://") {
            return Err("https:// targets are not probed: probe a plain-HTTP listener or a port-forward to it".into());
        }
        let rest = url.strip_prefix("http://").ok_or("URL must start with http://")?;
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| format!("bad port in {url}"))?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("no host in {url}"));
        }
        Ok(Target {
            host: host.to_string(),
            port,
        })
    }
}

/// One probe request.
struct Case {
    name: String,
    policy: usize,
    method: String,
    host: String,
    path: String,
    origin: Option<String>,
    acrm: Option<String>,
    acrh: Option<String>,
    cookie: bool,
}

impl Case {
    fn is_preflight(&self) -> bool {
        self.acrm.is_some()
    }
}

/// The request headers as the filter reads them (lower-case names, pseudo-headers).
impl RequestHeaders for Case {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            ":method" => Some(self.method.clone()),
            ":authority" => Some(self.host.clone()),
            ":path" => Some(self.path.clone()),
            "origin" => self.origin.clone(),
            "access-control-request-method" => self.acrm.clone(),
            "access-control-request-headers" => self.acrh.clone(),
            "cookie" => self.cookie.then(|| "edge-cors-probe=1".to_string()),
            _ => None,
        }
    }
}

fn strings<'v>(v: &'v Value, pointer: &str) -> Vec<&'v str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A concrete origin an `allow_origins` entry allows: the entry itself, or with its wildcard
/// filled in.
fn concrete_origin(entry: &str) -> String {
    match entry {
        "*" => "https://edge-cors-probe.example".to_string(),
        e => e.replacen("://*.", "://edge-cors-probe.", 1).replace(":*", ":8443"),
    }
}

/// A look-alike of `origin` no careful policy trusts: its host as a subdomain of an invalid name.
fn look_alike(origin: &str) -> String {
    format!("{}.edge-cors-probe.invalid", origin.trim_end_matches('/'))
}

/// The requests derived from policy `index`.
fn cases(config: &Config, index: usize, policy: &Value, default_host: &str) -> Vec<Case> {
    let Some(info) = config.policy(index) else {
        return Vec::new();
    };
    let name = info.name;
    let host = strings(policy, "/match/hosts")
        .first()
        .map(|h| h.replacen("*.", "edge-cors-probe.", 1).replace(":*", ""))
        .unwrap_or_else(|| default_host.to_string());
    let prefix = strings(policy, "/match/path_prefixes")
        .first()
        .map_or("/", |p| p)
        .to_string();
    let path = format!(
        "{}edge-cors-probe",
        if prefix.ends_with('/') { prefix } else { prefix + "/" }
    );
    let base = |what: String, method: &str| Case {
        name: format!("{name}: {what}"),
        policy: index,
        method: method.to_string(),
        host: host.clone(),
        path: path.clone(),
        origin: None,
        acrm: None,
        acrh: None,
        cookie: false,
    };
    let methods = strings(policy, "/allow_methods");
    let method = methods
        .iter()
        .find(|m| !["GET", "HEAD", "POST"].contains(m))
        .or(methods.first())
        .unwrap_or(&"GET");
    let headers: Vec<&str> = strings(policy, "/allow_headers")
        .into_iter()
        .filter(|h| *h != "*")
        .collect();
    let origins: Vec<String> = strings(policy, "/allow_origins")
        .into_iter()
        .map(concrete_origin)
        .take(MAX_ORIGINS)
        .collect();
    let mut out = Vec::new();
    for origin in &origins {
        let mut c = base(format!("preflight from {origin} ({method})"), "OPTIONS");
        c.origin = Some(origin.clone());
        c.acrm = Some(method.to_string());
        c.acrh = (!headers.is_empty()).then(|| headers.join(", "));
        out.push(c);
    }
    let Some(origin) = origins.first() else {
        return out; // regexes only: no literal origin to send
    };
    let with = |mut c: Case, origin: &str| {
        c.origin = Some(origin.to_string());
        c
    };
    let unlisted_method = ["PATCH", "PROPFIND"]
        .into_iter()
        .find(|m| !methods.contains(m))
        .unwrap_or("PROPFIND");
    let mut c = with(
        base(format!("preflight from {origin} for {unlisted_method}"), "OPTIONS"),
        origin,
    );
    c.acrm = Some(unlisted_method.to_string());
    out.push(c);
    let mut c = with(
        base(format!("preflight from {origin} with header {PROBE_HEADER}"), "OPTIONS"),
        origin,
    );
    c.acrm = Some(method.to_string());
    c.acrh = Some(PROBE_HEADER.to_string());
    out.push(c);
    let fake = look_alike(origin);
    let mut c = with(base(format!("preflight from look-alike {fake}"), "OPTIONS"), &fake);
    c.acrm = Some(method.to_string());
    out.push(c);
    out.push(with(base(format!("GET from {origin}"), "GET"), origin));
    let mut c = with(base(format!("GET from {origin} with a cookie"), "GET"), origin);
    c.cookie = true;
    out.push(c);
    out.push(with(base(format!("GET from look-alike {fake}"), "GET"), &fake));
    out.push(base("GET without Origin".to_string(), "GET"));
    out
}

/// A response as received: status and header lines, duplicates kept, names lower-case.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Response {
    fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn cors(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        out.sort_unstable();
        out
    }

    /// The `Vary` tokens, lower-case.
    fn vary(&self) -> Vec<String> {
        self.values("vary")
            .iter()
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect()
    }
}

fn send(target: &Target, case: &Case) -> Result<Response, String> {
    let address = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
        case.method, case.path, case.host
    );
    for name in [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
        "cookie",
    ] {
        if let Some(v) = case.get(name) {
            let _ = write!(head, "{name}: {v}\r\n");
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response { status, headers })
}

/// What the policy says the answer must be.
enum Expected {
    /// edge-cors answers itself: this status and exactly these CORS headers.
    Reply {
        status: u16,
        cors: Vec<(String, String)>,
        vary: Vec<String>,
    },
    /// Forwarded: exactly these CORS headers (`None`: whatever the upstream sends) and Vary tokens.
    Forward {
        cors: Option<Vec<(String, String)>>,
        vary: Vec<String>,
    },
}

fn tokens(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn expected(config: &Config, case: &Case) -> Result<Expected, String> {
    let decision = decide(config, case);
    if decision.policy != Some(case.policy) {
        return Err("another policy's match takes this request".to_string());
    }
    if !decision.enforced {
        let mode = config.policy(case.policy).map(|p| p.mode);
        return Err(if mode == Some(Mode::ReportOnly) {
            "report-only policy: nothing to see".to_string()
        } else {
            "this origin is outside the enforce_percent rollout".to_string()
        });
    }
    Ok(match decision.action {
        Action::Reply(reply) => {
            let mut cors = Vec::new();
            let mut vary = Vec::new();
            for (name, value) in &reply.headers {
                if name.starts_with("access-control-") {
                    cors.push((name.to_string(), value.as_str().to_string()));
                } else if *name == "vary" {
                    vary.extend(tokens(value.as_str()));
                }
            }
            cors.sort_unstable();
            Expected::Reply {
                status: reply.status,
                cors,
                vary,
            }
        }
        Action::Forward(edit) => {
            let mut cors = Vec::new();
            let mut vary = Vec::new();
            edit.for_each_op(|op| match op {
                HeaderOp::Set(name, value) if name.starts_with("access-control-") => {
                    cors.push((name.to_string(), value.to_string()))
                }
                HeaderOp::Append("vary", value) => vary.extend(tokens(value)),
                _ => {}
            });
            cors.sort_unstable();
            Expected::Forward {
                cors: edit.plan.strip_cors.then_some(cors),
                vary,
            }
        }
        Action::Untouched => return Err("the policy leaves this request alone".to_string()),
    })
}

enum Outcome {
    Passed,
    Skipped(String),
    Failed(Vec<String>),
}

struct CaseResult {
    name: String,
    outcome: Outcome,
}

fn run_case(config: &Config, target: &Target, case: &Case) -> Result<CaseResult, String> {
    let outcome = match expected(config, case) {
        Err(why) => Outcome::Skipped(why),
        Ok(want) => {
            let got = send(target, case)?;
            let findings = compare(case, &want, &got);
            if findings.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed(findings)
            }
        }
    };
    Ok(CaseResult {
        name: case.name.clone(),
        outcome,
    })
}

const ACAO: &str = "access-control-allow-origin";

/// Every difference, each named after the failure it points to.
fn compare(case: &Case, want: &Expected, got: &Response) -> Vec<String> {
    let mut out = Vec::new();
    let acao = got.values(ACAO);
    // Two lines, or two values joined in one (a proxy appending to the header): either way not
    // one origin, and browsers refuse the response.
    let values: usize = acao.iter().map(|v| v.split(',').count()).sum();
    if values > 1 {
        out.push(format!(
            "acao-duplicated: Access-Control-Allow-Origin holds {values} values ({}): a filter after edge-cors or \
             a proxy in front adds its own (docs/runbook.md#headers-missing-or-duplicated)",
            acao.join(" | ")
        ));
        return out;
    }
    if acao == ["*"] && got.values("access-control-allow-credentials") == ["true"] {
        out.push(
            "wildcard-with-credentials: `*` with Access-Control-Allow-Credentials: true, which browsers refuse \
             (docs/runbook.md#wildcard-with-credentials)"
                .to_string(),
        );
    }
    let refused_first = matches!(got.status, 401 | 403) && got.cors().is_empty();
    let (want_cors, want_vary) = match want {
        Expected::Reply { status, cors, vary } => {
            if got.status != *status {
                out.push(status_finding(case, *status, got));
                return out;
            }
            (Some(cors), vary)
        }
        Expected::Forward { cors, vary } => {
            let vary_missing = vary.iter().any(|t| !got.vary().contains(t));
            if refused_first && (cors.as_ref().is_some_and(|c| !c.is_empty()) || vary_missing) {
                // edge-cors decorates the refusals of filters after it: one without any CORS
                // header came from a filter before it.
                out.push(format!(
                    "auth-before-cors: status {} without the CORS headers or Vary edge-cors adds: a filter \
                     before edge-cors refused the request (docs/runbook.md#auth-before-cors)",
                    got.status
                ));
                return out;
            }
            (cors.as_ref(), vary)
        }
    };
    if let Some(want_cors) = want_cors {
        let got_cors = got.cors();
        let want_acao = want_cors.iter().find(|(n, _)| n == ACAO).map(|(_, v)| v.as_str());
        match (want_acao, acao.first()) {
            (Some(w), None) => out.push(format!(
                "acao-stripped: Access-Control-Allow-Origin missing (the policy sends {w}): a filter after \
                 edge-cors, a CDN or a proxy in front removes it (docs/runbook.md#headers-missing-or-duplicated)"
            )),
            (None, Some(g)) if Some(*g) == case.origin.as_deref() => out.push(format!(
                "origin-reflected: the gateway allows {g}, which the policy refuses: a stale policy, or \
                 something else reflecting the Origin (docs/runbook.md#reflecting-any-origin)"
            )),
            (Some(w), Some(g)) if w != *g => out.push(format!(
                "stale-policy: Access-Control-Allow-Origin is {g}, the policy sends {w} \
                 (docs/runbook.md#stale-policy)"
            )),
            _ => {}
        }
        if out.is_empty()
            && got_cors
                .iter()
                .map(|(n, v)| (*n, *v))
                .ne(want_cors.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        {
            out.push(format!(
                "cors-headers-differ: got {}; the policy sends {} (docs/runbook.md#stale-policy)",
                render(got_cors.iter().map(|(n, v)| (*n, *v))),
                render(want_cors.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            ));
        }
    }
    let vary = got.vary();
    let missing: Vec<&str> = want_vary
        .iter()
        .filter(|t| !vary.contains(t))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        out.push(format!(
            "vary-missing: Vary lacks {} (caches may serve one origin's answer to another; \
             docs/runbook.md#stale-preflight-cache)",
            missing.join(", ")
        ));
    }
    out
}

fn status_finding(case: &Case, want: u16, got: &Response) -> String {
    let has_acao = !got.values(ACAO).is_empty();
    let edge_cors_vary = got.vary().iter().any(|t| t == "access-control-request-method");
    let (kind, why) = if case.is_preflight() && (200..300).contains(&want) {
        match got.status {
            401 => (
                "auth-before-cors",
                "the preflight was refused for want of credentials, which preflights never carry: an auth \
                 filter runs before edge-cors (docs/runbook.md#auth-before-cors)",
            ),
            403 if edge_cors_vary => (
                "stale-policy",
                "edge-cors refused a preflight the policy allows: the gateway serves another policy \
                 (docs/runbook.md#stale-policy)",
            ),
            403 => (
                "auth-before-cors",
                "the preflight was refused before edge-cors answered it (an auth or RBAC filter placed first) \
                 (docs/runbook.md#auth-before-cors)",
            ),
            _ if !has_acao => (
                "options-not-answered",
                "the preflight reached the router or the upstream: edge-cors does not answer this route \
                 (docs/runbook.md#options-not-answered)",
            ),
            _ => (
                "stale-policy",
                "the preflight's answer differs (docs/runbook.md#stale-policy)",
            ),
        }
    } else if matches!(got.status, 401 | 403) && !has_acao && !edge_cors_vary {
        (
            "auth-before-cors",
            "refused before edge-cors answered (docs/runbook.md#auth-before-cors)",
        )
    } else if has_acao {
        (
            "stale-policy",
            "the gateway allows what the policy refuses (docs/runbook.md#stale-policy)",
        )
    } else {
        ("stale-policy", "the answer differs (docs/runbook.md#stale-policy)")
    };
    format!("{kind}: status {}, the policy answers {want}: {why}", got.status)
}

fn render<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let list: Vec<String> = headers.map(|(n, v)| format!("{n}: {v}")).collect();
    if list.is_empty() {
        "no CORS header".to_string()
    } else {
        list.join(", ")
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per request, a failure per differing answer, skipped cases marked.
fn junit_xml(url: &str, results: &[CaseResult]) -> String {
    let failures = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .count();
    let skipped = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"edge-cors probe {}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        xml(url),
        results.len()
    );
    for r in results {
        let policy = r.name.split(':').next().unwrap_or_default();
        let _ = write!(
            out,
            "<testcase classname=\"edge-cors.probe.{}\" name=\"{}\">",
            xml(policy),
            xml(&r.name)
        );
        match &r.outcome {
            Outcome::Passed => {}
            Outcome::Skipped(why) => {
                let _ = write!(out, "<skipped message=\"{}\"/>", xml(why));
            }
            Outcome::Failed(findings) => {
                let kind = findings.first().and_then(|f| f.split(':').next()).unwrap_or("failure");
                let _ = write!(
                    out,
                    "<failure type=\"{}\" message=\"{}\">{}</failure>",
                    xml(kind),
                    xml(findings.first().map_or("", String::as_str)),
                    xml(&findings.join("\n"))
                );
            }
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite></testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_look_alikes_are_derived_from_the_entries() {
        assert_eq!(concrete_origin("https://app.example.com"), "https://app.example.com");
        assert_eq!(
            concrete_origin("https://*.example.com"),
            "https://edge-cors-probe.example.com"
        );
        assert_eq!(concrete_origin("http://localhost:*"), "http://localhost:8443");
        assert_eq!(
            look_alike("https://app.example.com"),
            "https://app.example.com.edge-cors-probe.invalid"
        );
    }

    #[test]
    fn a_response_head_keeps_duplicate_lines() {
        let r = parse_response(b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: a\r\naccess-control-allow-origin: b\r\nVary: Origin, X\r\n\r\n")
            .unwrap();
        assert_eq!(r.status, 204);
        assert_eq!(r.values(ACAO), ["a", "b"]);
        assert_eq!(r.vary(), ["origin", "x"]);
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn https_targets_are_refused_with_advice() {
        assert!(Target::parse("https://gw.example").unwrap_err().contains("plain-HTTP"));
        let t = Target::parse("http://127.0.0.1:10000/base").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 10000));
    }
}
