//! `edge-cors-check owners FILE...`: every route where a native CORS policy (a VirtualService
//! `corsPolicy`, an HTTPRoute `CORS` filter, an Envoy Gateway `SecurityPolicy.cors`, Envoy's
//! CORS filter on a route or virtual host, ingress-nginx annotations) and an edge-cors policy
//! would both act, found in the same files as the edge-cors configuration (a policy JSON, a
//! WasmPlugin, an Envoy config). A route has one CORS owner, or the browser gets two answers
//! (docs/migration.md, "One owner per route").
//!
//! An edge-cors policy acts on a route when its `match` can fit the route's requests: route
//! names that include the route's name, hosts that overlap the route's, path prefixes that
//! overlap its paths. Where the files cannot tell (a path regex, a route whose Envoy name the
//! routing object does not decide), the route is reported as "possibly".
//!
//! Exit status: 0 no route has two owners, 1 some route has, 2 bad usage, an unreadable file,
//! an invalid edge-cors configuration, or none found.

use edge_cors_core::compile;
use serde_json::Value;

use crate::load::{find_configs, read_documents, read_input};
use crate::native::{self, PathMatch, Platform, Route};

/// One edge-cors policy's `match`, as written.
struct EdgePolicy {
    /// `file: location: policies[k] ("name")`.
    label: String,
    route_names: Vec<String>,
    hosts: Vec<String>,
    prefixes: Vec<String>,
}

/// Whether a policy's `match` fits some of a route's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Overlap {
    No,
    Yes,
    /// The files cannot tell; why.
    Possibly(String),
}

impl Overlap {
    fn and(self, other: Overlap) -> Overlap {
        match (self, other) {
            (Overlap::No, _) | (_, Overlap::No) => Overlap::No,
            (Overlap::Possibly(a), Overlap::Possibly(b)) => Overlap::Possibly(format!("{a}; {b}")),
            (Overlap::Possibly(a), Overlap::Yes) | (Overlap::Yes, Overlap::Possibly(a)) => Overlap::Possibly(a),
            (Overlap::Yes, Overlap::Yes) => Overlap::Yes,
        }
    }
}

pub(crate) fn run(args: &[String]) -> u8 {
    if args.is_empty() || args.iter().any(|a| a.starts_with('-') && a != "-") {
        eprintln!(
            "usage: edge-cors-check owners FILE...\n\nReports every route (VirtualService, HTTPRoute, SecurityPolicy, Envoy \
             route configuration, Ingress) where native CORS and an edge-cors policy found in FILE would both act.\n\n\
             exit status: 0 none, 1 some route has two CORS owners, 2 bad usage, unreadable input, or no valid edge-cors \
             configuration"
        );
        return 2;
    }
    let mut policies = Vec::new();
    let mut routes = Vec::new();
    let mut security_policies = Vec::new();
    for file in args {
        let bytes = match read_input(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{file}: cannot read: {e}");
                return 2;
            }
        };
        match edge_policies(file, &bytes) {
            Ok(mut p) => policies.append(&mut p),
            Err(e) => {
                eprintln!("{e}");
                return 2;
            }
        }
        if let Ok(docs) = read_documents(&bytes) {
            let found = native::read(file, &docs);
            routes.extend(found.routes);
            security_policies.extend(found.security_policies);
        }
    }
    if policies.is_empty() {
        eprintln!(
            "edge-cors-check owners: no edge-cors configuration in {}",
            args.join(", ")
        );
        return 2;
    }
    let native_routes = with_security_policies(routes, security_policies);
    let mut both = 0;
    for (route, what) in &native_routes {
        let acting: Vec<(String, Overlap)> = policies
            .iter()
            .map(|p| (p.label.clone(), overlap(p, route)))
            .filter(|(_, o)| *o != Overlap::No)
            .collect();
        if acting.is_empty() {
            continue;
        }
        both += 1;
        for (label, o) in acting {
            let how = match o {
                Overlap::Possibly(why) => format!("possibly both act ({why})"),
                _ => "both act".to_string(),
            };
            println!("{}: {}: {how}: {what} and edge-cors {label}", route.at, route.label);
        }
    }
    if both == 0 {
        println!("no route has both native CORS and an edge-cors policy");
        0
    } else {
        println!(
            "{both} route{} with two CORS owners: remove the native policy (docs/migration.md) or narrow the edge-cors match",
            if both == 1 { "" } else { "s" }
        );
        1
    }
}

/// The edge-cors policies of every configuration in the file (each must be valid).
fn edge_policies(file: &str, bytes: &[u8]) -> Result<Vec<EdgePolicy>, String> {
    let mut out = Vec::new();
    for found in find_configs(file, bytes).unwrap_or_default() {
        let config = found
            .bytes
            .map_err(|why| format!("{file}: {}: invalid: {why}", found.location))?;
        if let Err(errors) = compile(&config) {
            return Err(errors.render(&format!("{file}: {}: invalid", found.location)));
        }
        let v: Value = serde_json::from_slice(&config).map_err(|e| format!("{file}: {}: {e}", found.location))?;
        let list = |p: &Value, key: &str| -> Vec<String> {
            p.pointer(&format!("/match/{key}"))
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        for (k, p) in v
            .get("policies")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
        {
            out.push(EdgePolicy {
                label: format!(
                    "policies[{k}] (\"{}\") of {file}: {}",
                    p.get("name").and_then(Value::as_str).unwrap_or(""),
                    found.location
                ),
                route_names: list(p, "route_names"),
                hosts: list(p, "hosts"),
                prefixes: list(p, "path_prefixes"),
            });
        }
    }
    Ok(out)
}

/// Every route with native CORS, and what serves it: its own policy, or a SecurityPolicy that
/// targets its HTTPRoute or a Gateway it attaches to. A SecurityPolicy whose targets are not
/// among the routes read stands for every route of them (any host, any path).
fn with_security_policies(
    routes: Vec<Route>,
    security_policies: Vec<(String, Vec<String>, native::Cors)>,
) -> Vec<(Route, String)> {
    let mut out = Vec::new();
    let mut matched = vec![false; security_policies.len()];
    for route in routes {
        let mut owners: Vec<String> = Vec::new();
        if route.cors.is_some() {
            owners.push(route.platform.native_cors().to_string());
        }
        for (i, (name, targets, _)) in security_policies.iter().enumerate() {
            let hit = targets.iter().any(|t| {
                t.strip_prefix("HTTPRoute ").is_some_and(|o| o == route.object)
                    || t.strip_prefix("Gateway ")
                        .is_some_and(|g| route.parents.iter().any(|p| p == g))
            });
            if hit {
                owners.push(format!("the SecurityPolicy {name} cors (Envoy Gateway's CORS filter)"));
                if let Some(m) = matched.get_mut(i) {
                    *m = true;
                }
            }
        }
        if !owners.is_empty() {
            out.push((route, owners.join(" and ")));
        }
    }
    for ((name, targets, cors), seen) in security_policies.into_iter().zip(matched) {
        if seen {
            continue;
        }
        out.push((
            Route {
                at: cors.at.clone(),
                platform: Platform::EnvoyGateway,
                label: format!("SecurityPolicy {name} -> {}", targets.join(", ")),
                short_name: String::new(),
                envoy_names: Vec::new(),
                hosts: Vec::new(),
                paths: Vec::new(),
                method_restricted: false,
                object: String::new(),
                parents: Vec::new(),
                cors: Some(cors),
            },
            Platform::EnvoyGateway.native_cors().to_string(),
        ));
    }
    out
}

fn overlap(p: &EdgePolicy, route: &Route) -> Overlap {
    let names = if p.route_names.is_empty() {
        Overlap::Yes
    } else if route.envoy_names.is_empty() {
        Overlap::Possibly("the policy is bound to route names and the route's Envoy name is not in the file".into())
    } else if route.envoy_names.iter().any(|n| p.route_names.contains(n)) {
        Overlap::Yes
    } else {
        Overlap::No
    };
    names.and(hosts_overlap(p, route)).and(paths_overlap(p, route))
}

/// A host without its port (`:443`, `:*`), lower-cased: ports are left out of the comparison,
/// which may report a route a port would keep apart.
fn bare_host(h: &str) -> String {
    let h = h.to_ascii_lowercase();
    match h.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && !port.contains(']') => name.to_string(),
        _ => h,
    }
}

fn hosts_overlap(p: &EdgePolicy, route: &Route) -> Overlap {
    if p.hosts.is_empty() || route.hosts.is_empty() || route.hosts.iter().any(|h| h.value == "*") {
        return Overlap::Yes;
    }
    let mut result = Overlap::No;
    for r in &route.hosts {
        let r = bare_host(&r.value);
        if r.contains('*') && !r.starts_with("*.") || (!r.contains('.') && !r.starts_with('[')) {
            result = Overlap::Possibly(format!("the route's host {r:?} is a pattern or short name"));
            continue;
        }
        for h in &p.hosts {
            if host_pair_overlaps(&bare_host(h), &r) {
                return Overlap::Yes;
            }
        }
    }
    result
}

fn host_pair_overlaps(a: &str, b: &str) -> bool {
    let under =
        |h: &str, base: &str| h.len() > base.len() + 1 && h.ends_with(base) && h[..h.len() - base.len()].ends_with('.');
    match (a.strip_prefix("*."), b.strip_prefix("*.")) {
        (None, None) => a == b,
        (Some(base), None) => under(b, base),
        (None, Some(base)) => under(a, base),
        (Some(x), Some(y)) => x == y || under(x, y) || under(y, x),
    }
}

/// Does the segment prefix `p` (no trailing `/`; empty: every path) cover `q`?
fn segment_covers(p: &str, q: &str) -> bool {
    p.is_empty() || q == p || q.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
}

fn paths_overlap(p: &EdgePolicy, route: &Route) -> Overlap {
    if p.prefixes.is_empty() || route.paths.is_empty() {
        return Overlap::Yes;
    }
    let mut result = Overlap::No;
    for (path, _) in &route.paths {
        for prefix in &p.prefixes {
            let pre = prefix.trim_end_matches('/');
            let hit = match path {
                PathMatch::Segments(q) => {
                    let q = q.trim_end_matches('/');
                    segment_covers(pre, q) || segment_covers(q, pre)
                }
                // A string prefix: requests starting with q meet the segment prefix when one
                // of the two strings starts with the other.
                PathMatch::Prefix(q) => q.starts_with(pre) || pre.starts_with(q.as_str()),
                PathMatch::Exact(q) => segment_covers(pre, q.split('?').next().unwrap_or(q)),
                PathMatch::Other(what) => {
                    result = Overlap::Possibly(format!("the route matches paths by {what}"));
                    false
                }
            };
            if hit {
                return Overlap::Yes;
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_overlap_by_name_and_subdomain_wildcards_ports_left_out() {
        for (a, b, want) in [
            ("api.example.com", "api.example.com", true),
            ("api.example.com", "API.example.com:443", true),
            ("*.example.com", "api.example.com", true),
            ("api.example.com", "*.example.com", true),
            ("*.example.com", "*.a.example.com", true),
            ("*.example.com", "example.com", false),
            ("api.example.com", "web.example.com", false),
            ("*.example.com", "*.example.org", false),
        ] {
            assert_eq!(host_pair_overlaps(&bare_host(a), &bare_host(b)), want, "{a} {b}");
        }
    }

    #[test]
    fn segment_prefixes_cover_whole_segments() {
        assert!(segment_covers("/api", "/api/v1"));
        assert!(segment_covers("/api", "/api"));
        assert!(!segment_covers("/api", "/apix"));
        assert!(segment_covers("", "/anything"));
    }

    #[test]
    fn an_overlap_the_files_cannot_decide_stays_possible_unless_another_part_rules_it_out() {
        let possibly = || Overlap::Possibly("x".into());
        assert_eq!(Overlap::Yes.and(Overlap::Yes), Overlap::Yes);
        assert_eq!(possibly().and(Overlap::Yes), possibly());
        assert_eq!(possibly().and(Overlap::No), Overlap::No);
    }
}
