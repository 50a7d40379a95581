//! What a client would receive, computed without Envoy: a [`Decision`] applied to an upstream
//! response the way the host glue applies it through host calls. Used by the spec, property and
//! fuzz tests, so they check the same header operations Envoy performs.

use crate::ops::decide::{Action, Decision};
use crate::rules::decide::{HeaderOp, Outcome, RequestHeaders};

/// Request header lines as a client sent them, read the way the glue reads them through Envoy:
/// several lines of one name arrive comma-joined (Envoy joins them before any filter runs) and
/// invalid UTF-8 is replaced by U+FFFD (the glue reads header bytes lossily). Shared by the spec,
/// bypass, property and fuzz tests and the benchmark, so they all feed `decide()` what Envoy does.
/// A line named [`ROUTE_NAME`] is not a header: it stands for the name of the route Envoy
/// matched (absent: no route).
pub struct HeaderLines<'a, N, V>(pub &'a [(N, V)]);

/// The name of the [`HeaderLines`] line that carries the matched route's name (Envoy's
/// `xds.route_name` property, which is no header).
pub const ROUTE_NAME: &str = "xds.route_name";

impl<N: AsRef<str>, V: AsRef<[u8]>> RequestHeaders for HeaderLines<'_, N, V> {
    fn get(&self, name: &str) -> Option<String> {
        let mut joined: Option<String> = None;
        for (_, v) in self.0.iter().filter(|(n, _)| n.as_ref() == name) {
            let v = String::from_utf8_lossy(v.as_ref());
            match &mut joined {
                Some(j) => {
                    j.push(',');
                    j.push_str(&v);
                }
                None => joined = Some(v.into_owned()),
            }
        }
        joined
    }

    fn route_name(&self) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| n.as_ref() == ROUTE_NAME)
            .map(|(_, v)| String::from_utf8_lossy(v.as_ref()).into_owned())
    }
}

/// The response a client sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedResponse {
    /// `true` when the request reached the upstream (it was not answered locally).
    pub forwarded: bool,
    /// The status the client receives.
    pub status: u16,
    /// Header lines in order, lower-case names; several lines of one name are kept apart.
    pub headers: Vec<(String, String)>,
}

impl SimulatedResponse {
    /// Every value of `name`, in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The CORS invariants this response breaks for a decision of `outcome` on a request from
    /// `origin` (empty: none). Shared by the property tests and the fuzz target:
    /// never `*` with credentials (Fetch §3.2.5: browsers refuse it), at most one ACAO line
    /// and only the request's Origin or `*`, a rejected preflight is a local 403 carrying no
    /// `Access-Control-*` header, a rejected actual request keeps none, an allowed one has
    /// exactly one ACAO. Requests that are not CORS are the caller's to judge.
    pub fn cors_violations(&self, outcome: Outcome, origin: Option<&str>) -> Vec<&'static str> {
        let acao = self.values("access-control-allow-origin");
        let acac = self.values("access-control-allow-credentials");
        let has_cors = self.headers.iter().any(|(n, _)| n.starts_with("access-control-"));
        let mut out = Vec::new();
        if acao.contains(&"*") && acac.contains(&"true") {
            out.push("`*` together with credentials");
        }
        if acao.len() > 1 {
            out.push("more than one ACAO line");
        }
        if acao.first().is_some_and(|v| *v != "*" && Some(*v) != origin) {
            out.push("ACAO is neither `*` nor the request Origin");
        }
        match outcome {
            Outcome::PreflightRejected(_) if has_cors || self.status != 403 || self.forwarded => {
                out.push("rejected preflight carries CORS headers, is not 403, or was forwarded")
            }
            Outcome::PreflightAllowed if acao.len() != 1 || self.forwarded => {
                out.push("allowed preflight without exactly one ACAO, or forwarded")
            }
            Outcome::ActualRejected(_) if has_cors => out.push("rejected actual request keeps CORS headers"),
            Outcome::ActualAllowed if acao.len() != 1 => out.push("allowed actual request without exactly one ACAO"),
            _ => {}
        }
        out
    }

    /// The `access-control-*` and `vary` lines, sorted: what CORS spec tests compare.
    pub fn cors_and_vary(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-") || n == "vary")
            .cloned()
            .collect();
        out.sort();
        out
    }
}

/// Apply `decision` to a request whose upstream would answer `upstream_status` with
/// `upstream_headers`.
pub fn respond(decision: &Decision, upstream_status: u16, upstream_headers: &[(&str, &str)]) -> SimulatedResponse {
    let upstream = || -> Vec<(String, String)> {
        upstream_headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .collect()
    };
    match &decision.action {
        Action::Untouched => SimulatedResponse {
            forwarded: true,
            status: upstream_status,
            headers: upstream(),
        },
        Action::Reply(reply) => SimulatedResponse {
            forwarded: false,
            status: reply.status,
            headers: reply
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_str().to_string()))
                .collect(),
        },
        Action::Forward(edit) => {
            let mut headers = upstream();
            edit.for_each_op(|op| apply_op(&mut headers, op));
            SimulatedResponse {
                forwarded: true,
                status: upstream_status,
                headers,
            }
        }
    }
}

/// One header operation with Envoy's semantics: replace drops every line of the name and adds
/// one; remove drops every line; append adds a line.
pub fn apply_op(headers: &mut Vec<(String, String)>, op: HeaderOp<'_>) {
    match op {
        HeaderOp::Set(name, value) => {
            headers.retain(|(n, _)| n != name);
            headers.push((name.to_string(), value.to_string()));
        }
        HeaderOp::Remove(name) => headers.retain(|(n, _)| n != name),
        HeaderOp::Append(name, value) => headers.push((name.to_string(), value.to_string())),
    }
}
