//! `edge-cors-check import FILE...`: the native CORS policies of Istio VirtualServices, Envoy
//! route configurations, Gateway API HTTPRoutes and ingress-nginx Ingresses, turned into one
//! edge-cors configuration in `"mode": "report_only"` (standard output), so a migration runs in
//! shadow first. Everything that cannot be carried over as the source meant it, or that is
//! unsafe in the source, is reported on standard error with its file and line and why; nothing
//! is ever widened silently. The result is compiled by the filter's own validation before it is
//! printed: an entry the filter would refuse is left out, and reported.
//!
//! Exit status: 0 a configuration was produced (with or without findings), 1 nothing could be
//! imported, 2 bad usage or an unreadable file.

use std::fmt;

use edge_cors_core::compile;
use serde_json::{json, Map, Value};

use crate::load::{read_documents, read_input};
use crate::native::{self, At, Cors, Origin, OriginKind, PathMatch, Route};

/// How many times the result is compiled and the entries the filter refuses taken out.
const MAX_REPAIRS: usize = 8;
/// Browsers keep a preflight answer at most a day (Firefox; Chromium two hours): edge-cors's
/// `max_age` limit.
const MAX_AGE: u64 = 86_400;

/// What a finding says about the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The source itself is dangerous (what it allows, any site could use).
    Unsafe,
    /// Imported, but allowing less than the source did.
    Narrowed,
    /// Imported, but covering more requests than the source did (only ever a route's path
    /// scope, never an origin, method or header).
    Widened,
    /// Left out: the imported policy does not allow it.
    NotImported,
    /// What the source does that the import keeps, or that the reader should know.
    Note,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Unsafe => "unsafe",
            Kind::Narrowed => "narrowed",
            Kind::Widened => "widened",
            Kind::NotImported => "not imported",
            Kind::Note => "note",
        })
    }
}

/// One line on standard error: `file:line: kind: route: message`.
pub(crate) struct Finding {
    pub(crate) at: At,
    pub(crate) kind: Kind,
    pub(crate) route: String,
    pub(crate) message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}: {}", self.at, self.kind, self.route, self.message)
    }
}

/// A value of the policy being built, and where in the source it came from.
type Entry = (String, At);

/// One edge-cors policy being built from one route's native CORS policy.
struct Candidate {
    route: String,
    at: At,
    name: String,
    route_names: Vec<Entry>,
    hosts: Vec<Entry>,
    paths: Vec<Entry>,
    origins: Vec<Entry>,
    regexes: Vec<Entry>,
    methods: Vec<Entry>,
    headers: Vec<Entry>,
    expose: Vec<Entry>,
    max_age: Option<u64>,
    credentials: bool,
    private_network: bool,
}

fn push(list: &mut Vec<Entry>, value: String, at: &At) {
    if !list.iter().any(|(v, _)| *v == value) {
        list.push((value, at.clone()));
    }
}

fn values(list: &[Entry]) -> Value {
    Value::Array(list.iter().map(|(v, _)| Value::String(v.clone())).collect())
}

impl Candidate {
    fn to_json(&self) -> Value {
        let mut p = Map::new();
        p.insert("name".into(), json!(self.name));
        let mut m = Map::new();
        for (key, list) in [
            ("route_names", &self.route_names),
            ("hosts", &self.hosts),
            ("path_prefixes", &self.paths),
        ] {
            if !list.is_empty() {
                m.insert(key.into(), values(list));
            }
        }
        if !m.is_empty() {
            p.insert("match".into(), Value::Object(m));
        }
        for (key, list) in [
            ("allow_origins", &self.origins),
            ("allow_origin_regexes", &self.regexes),
            ("allow_methods", &self.methods),
            ("allow_headers", &self.headers),
            ("expose_headers", &self.expose),
        ] {
            if !list.is_empty() {
                p.insert(key.into(), values(list));
            }
        }
        if self.credentials {
            p.insert("allow_credentials".into(), json!(true));
        }
        if let Some(s) = self.max_age {
            p.insert("max_age".into(), json!(s));
        }
        if self.private_network {
            p.insert("allow_private_network_access".into(), json!(true));
        }
        Value::Object(p)
    }

    /// The list an error path (`allow_origins`, `match.hosts`, ...) names.
    fn list_mut(&mut self, field: &str) -> Option<&mut Vec<Entry>> {
        Some(match field {
            "match.route_names" => &mut self.route_names,
            "match.hosts" => &mut self.hosts,
            "match.path_prefixes" => &mut self.paths,
            "allow_origins" => &mut self.origins,
            "allow_origin_regexes" => &mut self.regexes,
            "allow_methods" => &mut self.methods,
            "allow_headers" => &mut self.headers,
            "expose_headers" => &mut self.expose,
            _ => return None,
        })
    }
}

/// What the import produced: the configuration (when any policy could be imported) and the
/// findings, in source order.
pub(crate) struct Imported {
    pub(crate) config: Option<Value>,
    pub(crate) findings: Vec<Finding>,
}

pub(crate) fn run(args: &[String]) -> u8 {
    if args.is_empty() || args.iter().any(|a| a.starts_with('-') && a != "-") {
        eprintln!(
            "usage: edge-cors-check import FILE...\n\nPrints the edge-cors configuration (report_only) equivalent to the native CORS \
             policies of Istio VirtualServices, Envoy route configurations, Gateway API HTTPRoutes and ingress-nginx \
             Ingresses in FILE; findings go to standard error.\n\nexit status: 0 a configuration was printed, 1 nothing \
             could be imported, 2 bad usage or unreadable input"
        );
        return 2;
    }
    let mut routes = Vec::new();
    for file in args {
        let docs = match read_input(file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|b| read_documents(&b))
        {
            Ok(docs) => docs,
            Err(e) => {
                eprintln!("{file}: {e}");
                return 2;
            }
        };
        routes.extend(native::read(file, &docs).routes);
    }
    let imported = import(&routes);
    for f in &imported.findings {
        eprintln!("{f}");
    }
    match imported.config {
        Some(config) => {
            println!("{}", serde_json::to_string_pretty(&config).unwrap_or_default());
            0
        }
        None => {
            eprintln!(
                "edge-cors-check import: no CORS policy could be imported from {}",
                args.join(", ")
            );
            1
        }
    }
}

/// Turn every route's CORS policy into an edge-cors policy, in route order (the router's first
/// match wins, and so does edge-cors's first policy).
pub(crate) fn import(routes: &[Route]) -> Imported {
    let mut findings = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    for route in routes {
        let Some(cors) = &route.cors else {
            continue;
        };
        let mut f = Findings {
            route: &route.label,
            out: &mut findings,
        };
        let name = unique_name(&route.short_name, &candidates);
        if let Some(c) = candidate(route, cors, name, &mut f) {
            candidates.push(c);
        }
    }
    let config = repair(&mut candidates, &mut findings);
    Imported { config, findings }
}

struct Findings<'a> {
    route: &'a str,
    out: &'a mut Vec<Finding>,
}

impl Findings<'_> {
    fn add(&mut self, at: &At, kind: Kind, message: impl Into<String>) {
        self.out.push(Finding {
            at: at.clone(),
            kind,
            route: self.route.to_string(),
            message: message.into(),
        });
    }
}

/// A policy name edge-cors accepts (1-64 of `A-Za-z0-9_-`), unique among `taken`.
fn unique_name(base: &str, taken: &[Candidate]) -> String {
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(56)
        .collect();
    if name.is_empty() {
        name = "imported".into();
    }
    let mut unique = name.clone();
    let mut n = 2;
    while taken.iter().any(|c| c.name == unique) {
        unique = format!("{name}-{n}");
        n += 1;
    }
    unique
}

fn candidate(route: &Route, cors: &Cors, name: String, f: &mut Findings<'_>) -> Option<Candidate> {
    let mut c = Candidate {
        route: route.label.clone(),
        at: cors.at.clone(),
        name,
        route_names: Vec::new(),
        hosts: Vec::new(),
        paths: Vec::new(),
        origins: Vec::new(),
        regexes: Vec::new(),
        methods: Vec::new(),
        headers: Vec::new(),
        expose: Vec::new(),
        max_age: None,
        credentials: cors.credentials.as_ref().is_some_and(|(b, _)| *b),
        private_network: cors.private_network.as_ref().is_some_and(|(b, _)| *b),
    };
    for (at, note) in &cors.notes {
        f.add(at, Kind::Note, note.clone());
    }
    if !scope(route, &mut c, f) {
        return None;
    }
    origins(cors, &mut c, f);
    if c.origins.is_empty() && c.regexes.is_empty() {
        f.add(
            &cors.at,
            Kind::NotImported,
            "no origin of this policy could be carried over (see above): nothing imported for this route",
        );
        return None;
    }
    for m in &cors.methods {
        if m.value == "*" {
            f.add(
                &m.at,
                Kind::Narrowed,
                "allowMethods `*`: edge-cors lists methods; left out, so only GET, HEAD and POST (always allowed) \
                 pass a preflight: list the methods the API uses",
            );
        } else {
            push(&mut c.methods, m.value.clone(), &m.at);
        }
    }
    if let Some(star) = cors.headers.iter().find(|h| h.value == "*") {
        // The source answers with the requested names, `authorization` included; edge-cors's
        // `*` never covers `authorization` (Fetch, CORS-safelisted request-header rules), so
        // it is listed too.
        push(&mut c.headers, "*".into(), &star.at);
        push(&mut c.headers, "authorization".into(), &star.at);
        f.add(
            &star.at,
            Kind::Note,
            "allowHeaders `*` imported as [\"*\", \"authorization\"]: the source echoes every requested header, and \
             edge-cors's `*` alone never covers authorization",
        );
    } else {
        for h in &cors.headers {
            push(&mut c.headers, h.value.clone(), &h.at);
        }
    }
    match cors.expose.iter().find(|h| h.value == "*") {
        Some(star) if c.credentials => f.add(
            &star.at,
            Kind::NotImported,
            "exposeHeaders `*` with credentials: browsers read it as a header named `*`, so it exposed nothing; \
             left out: list the headers scripts read",
        ),
        Some(star) => push(&mut c.expose, "*".into(), &star.at),
        None => {
            for h in &cors.expose {
                push(&mut c.expose, h.value.clone(), &h.at);
            }
        }
    }
    if let Some((seconds, at)) = &cors.max_age {
        if *seconds > MAX_AGE {
            f.add(
                at,
                Kind::Note,
                format!(
                    "max age {seconds} s imported as {MAX_AGE} s, edge-cors's limit: browsers keep a preflight \
                     answer at most a day (Chromium two hours), so they see no difference"
                ),
            );
        }
        c.max_age = Some((*seconds).min(MAX_AGE));
    }
    if route.method_restricted {
        f.add(
            &route.at,
            Kind::Note,
            "the route matches only some methods: a preflight (OPTIONS) does not match it, and gets its answer from \
             whichever route or policy matches it instead",
        );
    }
    Some(c)
}

/// The requests the policy covers: the route's names when the routing object decides them
/// (the policy then binds to exactly the routes the source's policy sat on), else its hosts
/// and paths. `false`: the route's scope cannot be expressed without widening it.
fn scope(route: &Route, c: &mut Candidate, f: &mut Findings<'_>) -> bool {
    let any_host = route.hosts.is_empty() || route.hosts.iter().any(|h| h.value == "*");
    let hosts: Vec<(String, At)> = if any_host {
        Vec::new()
    } else {
        route
            .hosts
            .iter()
            .map(|h| (h.value.to_ascii_lowercase(), h.at.clone()))
            .collect()
    };
    let inexpressible: Vec<&(String, At)> = hosts.iter().filter(|(h, _)| !host_expressible(h)).collect();
    if !route.envoy_names.is_empty() {
        for n in &route.envoy_names {
            push(&mut c.route_names, n.clone(), &route.at);
        }
        if inexpressible.is_empty() {
            for (h, at) in hosts {
                push(&mut c.hosts, h, &at);
            }
        } else if let Some((h, at)) = inexpressible.first() {
            f.add(
                at,
                Kind::Note,
                format!("host {h:?} has no edge-cors form; the policy is bound by route name alone"),
            );
        }
        return true;
    }
    if let Some((h, at)) = inexpressible.first() {
        f.add(
            at,
            Kind::NotImported,
            format!(
                "host {h:?} has no edge-cors form (a short name, or a wildcard other than a leading `*.`), and the \
                 route has no name to bind by: nothing imported for this route; name the route or list the full host names"
            ),
        );
        return false;
    }
    for (h, at) in hosts {
        push(&mut c.hosts, h, &at);
    }
    let mut prefixes = Vec::new();
    for (path, at) in &route.paths {
        let prefix = match path {
            PathMatch::Segments(p) => p.clone(),
            PathMatch::Prefix(p) if p == "/" || p.is_empty() => "/".to_string(),
            PathMatch::Prefix(p) if p.ends_with('/') => {
                f.add(
                    at,
                    Kind::Widened,
                    format!(
                        "prefix {p} imported as the path prefix {p}, which also covers {} itself",
                        p.trim_end_matches('/')
                    ),
                );
                p.clone()
            }
            PathMatch::Prefix(p) => {
                f.add(
                    at,
                    Kind::Narrowed,
                    format!(
                        "prefix {p} is a string prefix (it also matches {p}x...); edge-cors matches whole segments: {p} and {p}/..."
                    ),
                );
                p.clone()
            }
            PathMatch::Exact(p) => {
                f.add(
                    at,
                    Kind::Widened,
                    format!("{path} imported as the path prefix {p}, which also covers {p}/..."),
                );
                p.clone()
            }
            PathMatch::Other(what) => {
                f.add(
                    at,
                    Kind::NotImported,
                    format!(
                        "{what} cannot be written as path prefixes, and the route has no name to bind by: nothing \
                         imported for this route; name the route (Istio http[].name, an Envoy route's name) and import again"
                    ),
                );
                return false;
            }
        };
        prefixes.push((prefix, at.clone()));
    }
    // `/` covers every path: the policy then has no path constraint.
    if !prefixes.iter().any(|(p, _)| p == "/") {
        for (p, at) in prefixes {
            push(&mut c.paths, p, &at);
        }
    }
    true
}

/// A host the `match.hosts` syntax can say: a name (optionally under `*.`), an IPv6 literal,
/// with an optional port.
fn host_expressible(h: &str) -> bool {
    if let Some(literal) = h.strip_prefix('[') {
        return literal
            .split_once(']')
            .is_some_and(|(_, port)| port.is_empty() || port.starts_with(':'));
    }
    let name = h.split_once(':').map_or(h, |(n, _)| n);
    let name = name.strip_prefix("*.").unwrap_or(name);
    name.contains('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_')
}

/// Does the regex (matching the whole string, as Envoy's and Istio's do) match `*`? Envoy's
/// CORS filter then allows every origin (`CorsFilter::isOriginAllowed` tries each matcher on
/// `*` first) and echoes it back.
fn regex_matches_star(re: &str) -> bool {
    regex_lite::Regex::new(&format!("^(?:{re})$")).is_ok_and(|r| r.is_match("*"))
}

fn origins(cors: &Cors, c: &mut Candidate, f: &mut Findings<'_>) {
    for o in &cors.origins {
        let allows_all = match o.kind {
            OriginKind::Exact { .. } | OriginKind::Wildcard | OriginKind::Nginx => o.value == "*",
            OriginKind::Prefix => "*".starts_with(o.value.as_str()),
            OriginKind::Suffix => "*".ends_with(o.value.as_str()),
            OriginKind::Contains => "*".contains(o.value.as_str()),
            OriginKind::Regex => regex_matches_star(&o.value),
        };
        if allows_all {
            any_origin(o, c, f);
            continue;
        }
        origin(o, c, f);
    }
    // `*` answers every origin: edge-cors refuses other entries next to it.
    if c.origins.iter().any(|(o, _)| o == "*") {
        c.origins.retain(|(o, _)| o == "*");
        c.regexes.clear();
    }
}

/// A source entry that allows every origin.
fn any_origin(o: &Origin, c: &mut Candidate, f: &mut Findings<'_>) {
    match (o.kind, c.credentials) {
        (OriginKind::Nginx, true) => {
            // ingress-nginx answers a literal `*` with Access-Control-Allow-Credentials: true,
            // which browsers refuse for credentialed requests: only uncredentialed ones worked.
            c.credentials = false;
            push(&mut c.origins, "*".into(), &o.at);
            f.add(
                &o.at,
                Kind::Note,
                "origin `*` with credentials: ingress-nginx sends `Access-Control-Allow-Origin: *` with \
                 `Access-Control-Allow-Credentials: true`, which browsers refuse for credentialed requests; imported \
                 as `*` without credentials, which is what browsers honoured",
            );
        }
        (_, true) => f.add(
            &o.at,
            Kind::Unsafe,
            format!(
                "{} allows every origin and echoes it with credentials: any site can read credentialed responses; \
                 edge-cors refuses `*` with credentials: not imported, list the trusted origins",
                describe(o)
            ),
        ),
        (_, false) => {
            push(&mut c.origins, "*".into(), &o.at);
            f.add(
                &o.at,
                Kind::Unsafe,
                format!(
                    "{} allows every origin: any site can read these responses (as in the source); imported as `*`",
                    describe(o)
                ),
            );
        }
    }
}

fn describe(o: &Origin) -> String {
    let kind = match o.kind {
        OriginKind::Exact { .. } => "exact",
        OriginKind::Prefix => "prefix",
        OriginKind::Suffix => "suffix",
        OriginKind::Contains => "contains",
        OriginKind::Regex => "regex",
        OriginKind::Wildcard | OriginKind::Nginx => "origin",
    };
    format!("{kind} {:?}", o.value)
}

/// One source entry that does not allow every origin.
fn origin(o: &Origin, c: &mut Candidate, f: &mut Findings<'_>) {
    let v = o.value.as_str();
    match o.kind {
        OriginKind::Exact { ignore_case } => {
            push(&mut c.origins, if ignore_case { v.to_ascii_lowercase() } else { v.to_string() }, &o.at)
        }
        OriginKind::Prefix => {
            if looks_like_origin(v) {
                push(&mut c.origins, v.to_string(), &o.at);
                f.add(
                    &o.at,
                    Kind::Unsafe,
                    format!(
                        "prefix {v:?} also matches {v}.evil.example, {v}x.example and every port; imported as the exact \
                         origin {v} (narrowed)"
                    ),
                );
            } else {
                f.add(
                    &o.at,
                    Kind::Unsafe,
                    format!("prefix {v:?} matches origins of sites anyone can register; not imported: list the trusted origins"),
                );
            }
        }
        OriginKind::Suffix => {
            let domain = v.strip_prefix('.').filter(|d| d.contains('.') && looks_like_origin(&format!("https://{d}")));
            match domain {
                Some(d) => {
                    push(&mut c.origins, format!("https://*.{d}"), &o.at);
                    f.add(
                        &o.at,
                        Kind::Narrowed,
                        format!(
                            "suffix {v:?} also matches http:// origins and any scheme; imported as https://*.{d} \
                             (add http:// or port forms if the site uses them)"
                        ),
                    );
                }
                None => f.add(
                    &o.at,
                    Kind::Unsafe,
                    format!(
                        "suffix {v:?} also matches look-alike sites (https://evil{v}); not imported: write \
                         https://*.domain or the exact origins"
                    ),
                ),
            }
        }
        OriginKind::Contains => f.add(
            &o.at,
            Kind::Unsafe,
            format!("contains {v:?} matches any origin holding it (https://{v}.evil.example); not imported: list the trusted origins"),
        ),
        OriginKind::Regex => {
            // The source matches the whole Origin (RE2 FullMatch): anchoring keeps that meaning.
            push(&mut c.regexes, format!("^(?:{v})$"), &o.at);
        }
        OriginKind::Wildcard => wildcard_origin(o, c, f),
        OriginKind::Nginx => {
            let lower = v.to_ascii_lowercase();
            if lower.contains('*') {
                // `*` is exactly one label there (`[A-Za-z0-9\-]+`); edge-cors's `*.` is one
                // or more, so the faithful form is a regex.
                let re = format!("^{}$", regex_lite::escape(&lower).replacen(r"\*", "[a-z0-9-]+", 1));
                push(&mut c.regexes, re.clone(), &o.at);
                f.add(
                    &o.at,
                    Kind::Note,
                    format!("{v:?}: ingress-nginx's `*` is one label; imported as the regex {re}"),
                );
            } else {
                push(&mut c.origins, lower, &o.at);
            }
        }
    }
}

/// A Gateway API / Envoy Gateway origin: `scheme://*.domain` means one or more labels, as
/// edge-cors's wildcard; `scheme://*` is every host of the scheme.
fn wildcard_origin(o: &Origin, c: &mut Candidate, f: &mut Findings<'_>) {
    let v = o.value.as_str();
    let host = v.split_once("://").map_or("", |(_, h)| h);
    if host == "*" || host.starts_with("*:") {
        f.add(
            &o.at,
            Kind::Unsafe,
            format!("{v:?} allows every site on that scheme; not imported: list the trusted origins"),
        );
        return;
    }
    push(&mut c.origins, v.to_ascii_lowercase(), &o.at);
}

/// `scheme://host[:port]` with nothing after: a whole serialized origin.
fn looks_like_origin(v: &str) -> bool {
    v.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && !rest.is_empty()
            && !rest.ends_with('.')
            && !rest.ends_with(':')
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    })
}

/// Compile the configuration with the filter's own validation; take out every entry it
/// refuses (each one reported), drop a policy whose scope or origins would be left empty (that
/// would widen it), and try again. `None`: no policy is left.
fn repair(candidates: &mut Vec<Candidate>, findings: &mut Vec<Finding>) -> Option<Value> {
    for _ in 0..MAX_REPAIRS {
        if candidates.is_empty() {
            return None;
        }
        let config = json!({
            "mode": "report_only",
            "policies": candidates.iter().map(Candidate::to_json).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&config).unwrap_or_default();
        let errors = match compile(&bytes) {
            Ok(compiled) => {
                for w in compiled.warnings() {
                    let (at, route) = policy_of(&w.path, candidates)
                        .and_then(|k| candidates.get(k))
                        .map_or_else(
                            || {
                                (
                                    At {
                                        file: "-".into(),
                                        line: 0,
                                    },
                                    String::new(),
                                )
                            },
                            |c| (c.at.clone(), c.route.clone()),
                        );
                    findings.push(Finding {
                        at,
                        kind: Kind::Note,
                        route,
                        message: format!("edge-cors warns: {w}"),
                    });
                }
                return Some(config);
            }
            Err(errors) => errors,
        };
        let mut removals: Vec<(usize, String, usize)> = Vec::new();
        let mut dropped: Vec<usize> = Vec::new();
        for e in &errors.errors {
            let Some(k) = policy_of(&e.path, candidates) else {
                continue;
            };
            let field_path = e.path.split_once("].").map_or("", |(_, rest)| rest);
            let indexed = field_path
                .strip_suffix(']')
                .and_then(|p| p.rsplit_once('['))
                .and_then(|(field, i)| i.parse::<usize>().ok().map(|i| (field.to_string(), i)));
            match indexed {
                Some((field, i)) if candidates.get_mut(k).and_then(|c| c.list_mut(&field)).is_some() => {
                    let c = candidates.get_mut(k);
                    let source = c
                        .and_then(|c| c.list_mut(&field).and_then(|l| l.get(i).cloned()))
                        .map(|(_, at)| at);
                    let (at, route) = match (source, candidates.get(k)) {
                        (Some(at), Some(c)) => (at, c.route.clone()),
                        _ => continue,
                    };
                    findings.push(Finding {
                        at,
                        kind: Kind::NotImported,
                        route,
                        message: format!("edge-cors refuses {}: {}", e.value.as_deref().unwrap_or(""), e.kind),
                    });
                    removals.push((k, field, i));
                }
                _ => {
                    if let Some(c) = candidates.get(k) {
                        findings.push(Finding {
                            at: c.at.clone(),
                            kind: Kind::NotImported,
                            route: c.route.clone(),
                            message: format!("edge-cors refuses the policy ({e}): nothing imported for this route"),
                        });
                    }
                    dropped.push(k);
                }
            }
        }
        // Highest index first, so the earlier indices stay valid.
        removals.sort_by(|a, b| b.cmp(a));
        removals.dedup();
        for (k, field, i) in removals {
            if let Some(list) = candidates.get_mut(k).and_then(|c| c.list_mut(&field)) {
                if i < list.len() {
                    list.remove(i);
                }
            }
        }
        for (k, c) in candidates.iter().enumerate() {
            let emptied = [
                ("route names", c.route_names.is_empty(), false),
                ("hosts", c.hosts.is_empty(), false),
                ("path prefixes", c.paths.is_empty(), false),
                ("origins", c.origins.is_empty() && c.regexes.is_empty(), true),
            ];
            let original = config.pointer(&format!("/policies/{k}/match"));
            for (what, empty, always) in emptied {
                let had = always
                    || original
                        .and_then(|m| {
                            m.get(match what {
                                "route names" => "route_names",
                                "hosts" => "hosts",
                                _ => "path_prefixes",
                            })
                        })
                        .is_some();
                if empty && had && !dropped.contains(&k) {
                    findings.push(Finding {
                        at: c.at.clone(),
                        kind: Kind::NotImported,
                        route: c.route.clone(),
                        message: format!(
                            "none of its {what} could be carried over, and leaving them out would widen the policy: \
                             nothing imported for this route"
                        ),
                    });
                    dropped.push(k);
                }
            }
        }
        dropped.sort_unstable();
        dropped.dedup();
        for k in dropped.into_iter().rev() {
            if k < candidates.len() {
                candidates.remove(k);
            }
        }
    }
    None
}

/// The policy index an error path (`policies[3].allow_origins[1]`) names.
fn policy_of(path: &str, candidates: &[Candidate]) -> Option<usize> {
    let k = path
        .strip_prefix("policies[")?
        .split(']')
        .next()?
        .parse::<usize>()
        .ok()?;
    (k < candidates.len()).then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_suffix_or_regex_matching_star_allows_every_origin_as_envoy_reads_it() {
        for re in [".*", ".+", "\\*", "(https://a\\.com|.*)"] {
            assert!(regex_matches_star(re), "{re}");
        }
        for re in ["https://.*\\.example\\.com", "https://a\\.com"] {
            assert!(!regex_matches_star(re), "{re}");
        }
    }

    #[test]
    fn host_names_edge_cors_can_match_are_told_from_those_it_cannot() {
        for h in [
            "api.example.com",
            "*.example.com",
            "api.example.com:8443",
            "[::1]:80",
            "[::1]",
            "127.0.0.1",
        ] {
            assert!(host_expressible(h), "{h}");
        }
        for h in ["reviews", "example.*", "*-bar.example.com", "a b.com"] {
            assert!(!host_expressible(h), "{h}");
        }
    }

    #[test]
    fn policy_names_are_made_valid_and_unique() {
        assert_eq!(unique_name("api.v1/x", &[]), "api-v1-x");
        assert_eq!(unique_name("", &[]), "imported");
    }
}
