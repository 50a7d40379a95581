//! The routes of routing objects and the native CORS policies on them, read from the
//! documents of a file: Istio `VirtualService` (`http[].corsPolicy`), Envoy route
//! configurations (virtual host and route `cors`, or `typed_per_filter_config`
//! `envoy.filters.http.cors`), Gateway API `HTTPRoute` (the `CORS` filter), Envoy Gateway
//! `SecurityPolicy` (`cors`) and ingress-nginx `Ingress` annotations. Shared by `import`
//! (which turns each CORS policy into an edge-cors policy) and `owners` (which finds the routes
//! where native CORS and edge-cors would both act). Every route and value keeps the file and
//! line it came from.

use std::fmt;

use serde_json::{Map, Value};

use crate::load::{pointer_segment, Document};

/// The filter name of Envoy's native CORS in `typed_per_filter_config`.
const ENVOY_CORS: &str = "envoy.filters.http.cors";
/// The ingress-nginx annotation prefix.
const NGINX: &str = "nginx.ingress.kubernetes.io/";

/// A place in the input: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct At {
    pub(crate) file: String,
    pub(crate) line: usize,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Which routing object a route comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Istio,
    Envoy,
    GatewayApi,
    EnvoyGateway,
    IngressNginx,
}

impl Platform {
    /// What serves CORS on this route natively.
    pub(crate) fn native_cors(self) -> &'static str {
        match self {
            Platform::Istio => "the VirtualService corsPolicy (Envoy's CORS filter)",
            Platform::Envoy => "Envoy's CORS filter (envoy.filters.http.cors)",
            Platform::GatewayApi => "the HTTPRoute CORS filter",
            Platform::EnvoyGateway => "the SecurityPolicy cors (Envoy Gateway's CORS filter)",
            Platform::IngressNginx => "ingress-nginx's CORS annotations",
        }
    }
}

/// How a route matches the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathMatch {
    /// A string prefix (Envoy's and Istio's `prefix`): `/api` also matches `/apiv2`.
    Prefix(String),
    /// Whole path segments (Envoy's `path_separated_prefix`, Gateway API's `PathPrefix`, an
    /// Ingress `Prefix`): edge-cors's `path_prefixes`.
    Segments(String),
    /// Exactly this path.
    Exact(String),
    /// A regular expression, or anything else edge-cors cannot express.
    Other(String),
}

impl fmt::Display for PathMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathMatch::Prefix(p) => write!(f, "prefix {p}"),
            PathMatch::Segments(p) => write!(f, "path prefix {p}"),
            PathMatch::Exact(p) => write!(f, "exact path {p}"),
            PathMatch::Other(p) => write!(f, "{p}"),
        }
    }
}

/// How a configured origin matches an `Origin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OriginKind {
    /// The whole Origin, exactly (`ignore_case`: case-insensitively).
    Exact { ignore_case: bool },
    /// An Envoy `StringMatcher` `prefix`.
    Prefix,
    /// An Envoy `StringMatcher` `suffix`.
    Suffix,
    /// An Envoy `StringMatcher` `contains`.
    Contains,
    /// An RE2 regex that must match the whole Origin (Envoy's `safe_regex`, Istio's `regex`).
    Regex,
    /// A Gateway API / Envoy Gateway origin: `*`, or `scheme://host[:port]` whose host may
    /// start with `*.` (any number of labels) or be `*` (any host).
    Wildcard,
    /// An ingress-nginx origin: compared case-insensitively, `*` in the host is one label, and
    /// `*` alone answers a literal `*`.
    Nginx,
}

/// One configured origin.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) kind: OriginKind,
    pub(crate) value: String,
    pub(crate) at: At,
}

/// A list entry or scalar with its place.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) value: String,
    pub(crate) at: At,
}

/// A native CORS policy, as the platform applies it to one route.
#[derive(Debug, Clone)]
pub(crate) struct Cors {
    pub(crate) at: At,
    pub(crate) origins: Vec<Origin>,
    pub(crate) methods: Vec<Item>,
    pub(crate) headers: Vec<Item>,
    pub(crate) expose: Vec<Item>,
    /// Seconds.
    pub(crate) max_age: Option<(u64, At)>,
    pub(crate) credentials: Option<(bool, At)>,
    pub(crate) private_network: Option<(bool, At)>,
    /// What the platform does that the fields above do not say (defaults it fills in,
    /// entries it skips itself, a policy it has disabled), for the import's findings.
    pub(crate) notes: Vec<(At, String)>,
}

impl Cors {
    fn new(at: At) -> Cors {
        Cors {
            at,
            origins: Vec::new(),
            methods: Vec::new(),
            headers: Vec::new(),
            expose: Vec::new(),
            max_age: None,
            credentials: None,
            private_network: None,
            notes: Vec::new(),
        }
    }

    /// Each field of `self`, or of `outer` where `self` leaves it empty: Envoy's CORS filter
    /// takes every field from the route's policy first, then the virtual host's
    /// (`CorsFilter::allowOrigins()` and the other getters in
    /// source/extensions/filters/http/cors/cors_filter.cc).
    fn over(mut self, outer: &Cors) -> Cors {
        if self.origins.is_empty() {
            self.origins.clone_from(&outer.origins);
        }
        for (mine, theirs) in [
            (&mut self.methods, &outer.methods),
            (&mut self.headers, &outer.headers),
            (&mut self.expose, &outer.expose),
        ] {
            if mine.is_empty() {
                mine.clone_from(theirs);
            }
        }
        self.max_age = self.max_age.or_else(|| outer.max_age.clone());
        self.credentials = self.credentials.or_else(|| outer.credentials.clone());
        self.private_network = self.private_network.or_else(|| outer.private_network.clone());
        for note in &outer.notes {
            if !self.notes.iter().any(|(_, n)| *n == note.1) {
                self.notes.push(note.clone());
            }
        }
        self
    }
}

/// One route of a routing object.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) at: At,
    pub(crate) platform: Platform,
    /// `VirtualService shop/api http[0]`, ...
    pub(crate) label: String,
    /// The object's name and the route's index in it, for the imported policy's name.
    pub(crate) short_name: String,
    /// The names Envoy gives the route(s) (the `xds.route_name` property), when the routing
    /// object decides them: an Envoy route's `name`, Istio's `http[].name` (with `.` and the
    /// match's name when the match has one). Empty: unknown or none.
    pub(crate) envoy_names: Vec<String>,
    /// Host names as written (`*` or none: any host).
    pub(crate) hosts: Vec<Item>,
    /// Empty: any path.
    pub(crate) paths: Vec<(PathMatch, At)>,
    /// The route matches only some methods: a preflight (OPTIONS) may match another route or none.
    pub(crate) method_restricted: bool,
    /// For an HTTPRoute: `namespace/name` and the Gateways it attaches to, which a
    /// SecurityPolicy may target.
    pub(crate) object: String,
    pub(crate) parents: Vec<String>,
    pub(crate) cors: Option<Cors>,
}

/// What reading found, in document order.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) routes: Vec<Route>,
    /// Envoy Gateway SecurityPolicies with `cors`: (namespace/name, targets as
    /// `Kind namespace/name`, the policy).
    pub(crate) security_policies: Vec<(String, Vec<String>, Cors)>,
}

/// Read every routing object of a file's documents.
pub(crate) fn read(file: &str, docs: &[Document]) -> Found {
    let mut found = Found::default();
    for doc in docs {
        let r = Reader { file, doc };
        let v = &doc.value;
        match v.get("kind").and_then(Value::as_str) {
            Some("VirtualService") => r.virtual_service(v, &mut found),
            Some("HTTPRoute") => r.http_route(v, &mut found),
            Some("SecurityPolicy") => r.security_policy(v, &mut found),
            Some("Ingress") => r.ingress(v, &mut found),
            _ => r.envoy(v, "", &mut found),
        }
    }
    found
}

struct Reader<'a> {
    file: &'a str,
    doc: &'a Document,
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn object_name(v: &Value) -> String {
    let name = str_at(v, "/metadata/name").unwrap_or("(unnamed)");
    match str_at(v, "/metadata/namespace") {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

fn array<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `p/key`.
fn child(p: &str, key: &str) -> String {
    format!("{p}/{}", pointer_segment(key))
}

fn item(p: &str, i: usize) -> String {
    format!("{p}/{i}")
}

/// A Go duration (`24h`, `1m30s`, `500ms`) in whole seconds, rounded down.
pub(crate) fn go_duration_seconds(s: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?;
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match rest.get(..unit_len)? {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * factor;
        rest = rest.get(unit_len..)?;
    }
    // Whole seconds: a fraction of a second is no cache lifetime a browser keeps.
    Some(total.floor().max(0.0) as u64)
}

impl Reader<'_> {
    fn at(&self, pointer: &str) -> At {
        At {
            file: self.file.to_string(),
            line: self.doc.line(pointer),
        }
    }

    /// The string items of field `name` of object `v` at path `p` (none when it is absent).
    fn field_items(&self, v: &Value, p: &str, name: &str) -> Vec<Item> {
        self.items(v.get(name).unwrap_or(&Value::Null), &child(p, name))
    }

    fn items(&self, v: &Value, p: &str) -> Vec<Item> {
        match v {
            Value::Array(list) => list
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    e.as_str().map(|s| Item {
                        value: s.to_string(),
                        at: self.at(&item(p, i)),
                    })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A comma-separated list (Envoy's CorsPolicy strings, ingress-nginx annotations).
    fn comma_list(&self, s: &str, p: &str) -> Vec<Item> {
        s.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| Item {
                value: e.to_string(),
                at: self.at(p),
            })
            .collect()
    }

    // ------------------------------------------------------------------ Istio

    fn virtual_service(&self, v: &Value, found: &mut Found) {
        let name = object_name(v);
        let hosts = self.items(v.pointer("/spec/hosts").unwrap_or(&Value::Null), "/spec/hosts");
        for (i, http) in array(v.get("spec").unwrap_or(&Value::Null), "http").iter().enumerate() {
            let p = format!("/spec/http/{i}");
            let route_name = http.get("name").and_then(Value::as_str);
            let mut paths = Vec::new();
            let mut envoy_names = Vec::new();
            let mut method_restricted = false;
            let matches = array(http, "match");
            for (j, m) in matches.iter().enumerate() {
                let mp = format!("{p}/match/{j}");
                let uri = m.get("uri").unwrap_or(&Value::Null);
                let path = if let Some(s) = str_at(uri, "/prefix") {
                    Some((PathMatch::Prefix(s.into()), "prefix"))
                } else if let Some(s) = str_at(uri, "/exact") {
                    Some((PathMatch::Exact(s.into()), "exact"))
                } else {
                    str_at(uri, "/regex").map(|s| (PathMatch::Other(format!("regex {s}")), "regex"))
                };
                match path {
                    Some((path, key)) => paths.push((path, self.at(&format!("{mp}/uri/{key}")))),
                    // A match without a uri matches any path.
                    None => paths.push((PathMatch::Segments("/".into()), self.at(&mp))),
                }
                method_restricted |= m.get("method").is_some();
                // Istio names the Envoy route `http[].name`, plus `.` and the match's name
                // when the match has one (translateRoute in pilot/pkg/networking/core/route).
                if let Some(n) = route_name {
                    match m.get("name").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                        Some(mn) => envoy_names.push(format!("{n}.{mn}")),
                        None => envoy_names.push(n.to_string()),
                    }
                }
            }
            if matches.is_empty() {
                if let Some(n) = route_name {
                    envoy_names.push(n.to_string());
                }
            }
            envoy_names.dedup();
            let cors = http
                .get("corsPolicy")
                .map(|c| self.istio_cors(c, &child(&p, "corsPolicy")));
            found.routes.push(Route {
                at: self.at(&p),
                platform: Platform::Istio,
                label: format!(
                    "VirtualService {name} http[{i}]{}",
                    route_name.map(|n| format!(" ({n})")).unwrap_or_default()
                ),
                short_name: match route_name {
                    Some(n) => format!("{}-{n}", str_at(v, "/metadata/name").unwrap_or("vs")),
                    None => format!("{}-{i}", str_at(v, "/metadata/name").unwrap_or("vs")),
                },
                envoy_names: envoy_names.into_iter().filter(|n| !n.is_empty()).collect(),
                hosts: hosts.clone(),
                paths,
                method_restricted,
                object: name.clone(),
                parents: Vec::new(),
                cors,
            });
        }
    }

    fn istio_cors(&self, c: &Value, p: &str) -> Cors {
        let mut cors = Cors::new(self.at(p));
        for (i, o) in array(c, "allowOrigins").iter().enumerate() {
            let op = format!("{p}/allowOrigins/{i}");
            let (kind, key) = if o.get("exact").is_some() {
                (OriginKind::Exact { ignore_case: false }, "exact")
            } else if o.get("prefix").is_some() {
                (OriginKind::Prefix, "prefix")
            } else if o.get("regex").is_some() {
                (OriginKind::Regex, "regex")
            } else {
                continue;
            };
            if let Some(value) = o.get(key).and_then(Value::as_str) {
                cors.origins.push(Origin {
                    kind,
                    value: value.to_string(),
                    at: self.at(&child(&op, key)),
                });
            }
        }
        // The deprecated `allowOrigin` strings: Istio matches them exactly.
        if cors.origins.is_empty() {
            for o in self.field_items(c, p, "allowOrigin") {
                cors.origins.push(Origin {
                    kind: OriginKind::Exact { ignore_case: false },
                    value: o.value,
                    at: o.at,
                });
            }
        }
        cors.methods = self.field_items(c, p, "allowMethods");
        cors.headers = self.field_items(c, p, "allowHeaders");
        cors.expose = self.field_items(c, p, "exposeHeaders");
        if let Some(d) = c.get("maxAge").and_then(Value::as_str) {
            let at = self.at(&child(p, "maxAge"));
            match go_duration_seconds(d) {
                Some(s) => cors.max_age = Some((s, at)),
                None => cors
                    .notes
                    .push((at, format!("maxAge {d:?} is not a duration; left out"))),
            }
        }
        if let Some(b) = c.get("allowCredentials").and_then(Value::as_bool) {
            cors.credentials = Some((b, self.at(&child(p, "allowCredentials"))));
        }
        if c.get("unmatchedPreflights").and_then(Value::as_str) != Some("IGNORE") {
            cors.notes.push((
                cors.at.clone(),
                "preflights from an origin it does not allow are forwarded to the upstream by Envoy's CORS \
                 filter (unmatchedPreflights FORWARD, the default); edge-cors answers them 403 itself"
                    .to_string(),
            ));
        }
        cors
    }

    // ------------------------------------------------------------------ Envoy

    /// Every route configuration (an object with `virtual_hosts`) anywhere in an Envoy
    /// document: a bootstrap's HCM `route_config`, an RDS resource.
    fn envoy(&self, v: &Value, p: &str, found: &mut Found) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Array(vhosts)) = map.get("virtual_hosts") {
                    let config_name = map.get("name").and_then(Value::as_str).unwrap_or("");
                    for (i, vh) in vhosts.iter().enumerate() {
                        self.envoy_virtual_host(vh, &format!("{p}/virtual_hosts/{i}"), config_name, found);
                    }
                    return;
                }
                for (k, child_value) in map {
                    self.envoy(child_value, &child(p, k), found);
                }
            }
            Value::Array(list) => {
                for (i, e) in list.iter().enumerate() {
                    self.envoy(e, &item(p, i), found);
                }
            }
            _ => {}
        }
    }

    fn envoy_virtual_host(&self, vh: &Value, p: &str, config_name: &str, found: &mut Found) {
        let vh_name = vh.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
        let domains = self.field_items(vh, p, "domains");
        let vh_typed = self.envoy_typed_cors(vh, p);
        let vh_legacy = vh.get("cors").map(|c| self.envoy_cors(c, &child(p, "cors")));
        for (i, r) in array(vh, "routes").iter().enumerate() {
            let rp = format!("{p}/routes/{i}");
            let route_typed = self.envoy_typed_cors(r, &rp);
            let route_legacy = r
                .pointer("/route/cors")
                .map(|c| self.envoy_cors(c, &format!("{rp}/route/cors")));
            // Envoy's CORS filter reads the typed_per_filter_config policies (route, then
            // virtual host); only when there is none, the deprecated `cors` fields
            // (CorsFilter::initializeCorsPolicies).
            let cors = match (route_typed, &vh_typed) {
                (Some(r), Some(vh)) => Some(r.over(vh)),
                (Some(r), None) => Some(r),
                (None, Some(vh)) => Some(vh.clone()),
                (None, None) => match (route_legacy, &vh_legacy) {
                    (Some(r), Some(vh)) => Some(r.over(vh)),
                    (Some(r), None) => Some(r),
                    (None, vh) => vh.clone(),
                },
            };
            let m = r.get("match").unwrap_or(&Value::Null);
            let mp = child(&rp, "match");
            let path = if let Some(s) = str_at(m, "/prefix") {
                PathMatch::Prefix(s.into())
            } else if let Some(s) = str_at(m, "/path") {
                PathMatch::Exact(s.into())
            } else if let Some(s) = str_at(m, "/path_separated_prefix") {
                PathMatch::Segments(s.into())
            } else if let Some(s) = str_at(m, "/safe_regex/regex") {
                PathMatch::Other(format!("regex {s}"))
            } else {
                PathMatch::Other("a path_match_policy or connect_matcher".into())
            };
            let name = r.get("name").and_then(Value::as_str).filter(|s| !s.is_empty());
            let method_restricted = array(m, "headers")
                .iter()
                .any(|h| h.get("name").and_then(Value::as_str) == Some(":method"));
            found.routes.push(Route {
                at: self.at(&rp),
                platform: Platform::Envoy,
                label: format!(
                    "route configuration {config_name:?} virtual host {vh_name} route[{i}]{}",
                    name.map(|n| format!(" ({n})")).unwrap_or_default()
                ),
                short_name: name.map_or_else(|| format!("{vh_name}-{i}"), str::to_string),
                envoy_names: name.map(|n| vec![n.to_string()]).unwrap_or_default(),
                hosts: domains.clone(),
                paths: vec![(path, self.at(&mp))],
                method_restricted,
                object: String::new(),
                parents: Vec::new(),
                cors,
            });
        }
    }

    fn envoy_typed_cors(&self, v: &Value, p: &str) -> Option<Cors> {
        let c = v.pointer(&format!("/typed_per_filter_config/{}", pointer_segment(ENVOY_CORS)))?;
        Some(self.envoy_cors(
            c,
            &format!("{p}/typed_per_filter_config/{}", pointer_segment(ENVOY_CORS)),
        ))
    }

    /// An `envoy.config.route.v3.CorsPolicy` (or the filter's `CorsPolicy`: the same fields).
    fn envoy_cors(&self, c: &Value, p: &str) -> Cors {
        let mut cors = Cors::new(self.at(p));
        for (i, m) in array(c, "allow_origin_string_match").iter().enumerate() {
            let mp = format!("{p}/allow_origin_string_match/{i}");
            let ignore_case = m.get("ignore_case").and_then(Value::as_bool).unwrap_or(false);
            let (kind, key, value) = if let Some(s) = str_at(m, "/exact") {
                (OriginKind::Exact { ignore_case }, "exact", s)
            } else if let Some(s) = str_at(m, "/prefix") {
                (OriginKind::Prefix, "prefix", s)
            } else if let Some(s) = str_at(m, "/suffix") {
                (OriginKind::Suffix, "suffix", s)
            } else if let Some(s) = str_at(m, "/contains") {
                (OriginKind::Contains, "contains", s)
            } else if let Some(s) = str_at(m, "/safe_regex/regex") {
                (OriginKind::Regex, "safe_regex", s)
            } else {
                continue;
            };
            cors.origins.push(Origin {
                kind,
                value: value.to_string(),
                at: self.at(&child(&mp, key)),
            });
        }
        for (key, list) in [
            ("allow_methods", &mut cors.methods),
            ("allow_headers", &mut cors.headers),
            ("expose_headers", &mut cors.expose),
        ] {
            if let Some(s) = c.get(key).and_then(Value::as_str) {
                *list = self.comma_list(s, &child(p, key));
            }
        }
        if let Some(s) = c.get("max_age").and_then(Value::as_str) {
            let at = self.at(&child(p, "max_age"));
            match s.trim().parse::<u64>() {
                Ok(n) => cors.max_age = Some((n, at)),
                Err(_) => cors
                    .notes
                    .push((at, format!("max_age {s:?} is not a number of seconds; left out"))),
            }
        }
        for (key, slot) in [
            ("allow_credentials", &mut cors.credentials),
            ("allow_private_network_access", &mut cors.private_network),
        ] {
            // A google.protobuf.BoolValue: `true` or `{value: true}` in JSON/YAML.
            let b = c
                .get(key)
                .and_then(|v| v.as_bool().or_else(|| v.get("value").and_then(Value::as_bool)));
            if let Some(b) = b {
                *slot = Some((b, self.at(&child(p, key))));
            }
        }
        for key in ["filter_enabled", "shadow_enabled"] {
            if let Some(n) = c
                .pointer(&format!("/{key}/default_value/numerator"))
                .and_then(Value::as_u64)
            {
                let at = self.at(&child(p, key));
                if key == "filter_enabled" && n == 0 {
                    cors.notes
                        .push((at, "disabled in the source (filter_enabled 0%)".to_string()));
                } else if key == "shadow_enabled" {
                    cors.notes.push((
                        at,
                        "shadow_enabled: the source evaluates this policy without enforcing it".to_string(),
                    ));
                }
            }
        }
        if c.get("forward_not_matching_preflights")
            .and_then(|v| v.as_bool().or_else(|| v.get("value").and_then(Value::as_bool)))
            != Some(false)
        {
            cors.notes.push((
                cors.at.clone(),
                "preflights from an origin it does not allow are forwarded to the upstream by Envoy's CORS filter \
                 (forward_not_matching_preflights, true by default); edge-cors answers them 403 itself"
                    .to_string(),
            ));
        }
        cors
    }

    // ------------------------------------------------------------------ Gateway API

    fn http_route(&self, v: &Value, found: &mut Found) {
        let name = object_name(v);
        let namespace = str_at(v, "/metadata/namespace").unwrap_or("default");
        let hosts = self.items(v.pointer("/spec/hostnames").unwrap_or(&Value::Null), "/spec/hostnames");
        let parents: Vec<String> = v
            .pointer("/spec/parentRefs")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|r| r.get("kind").and_then(Value::as_str).unwrap_or("Gateway") == "Gateway")
            .filter_map(|r| {
                let n = r.get("name").and_then(Value::as_str)?;
                Some(format!(
                    "{}/{n}",
                    r.get("namespace").and_then(Value::as_str).unwrap_or(namespace)
                ))
            })
            .collect();
        for (i, rule) in array(v.get("spec").unwrap_or(&Value::Null), "rules").iter().enumerate() {
            let p = format!("/spec/rules/{i}");
            let mut paths = Vec::new();
            let mut method_restricted = false;
            for (j, m) in array(rule, "matches").iter().enumerate() {
                let mp = format!("{p}/matches/{j}");
                let kind = str_at(m, "/path/type").unwrap_or("PathPrefix");
                let value = str_at(m, "/path/value").unwrap_or("/");
                paths.push((
                    match kind {
                        "PathPrefix" => PathMatch::Segments(value.into()),
                        "Exact" => PathMatch::Exact(value.into()),
                        other => PathMatch::Other(format!("{other} {value}")),
                    },
                    self.at(&format!("{mp}/path/value")),
                ));
                method_restricted |= m.get("method").is_some();
            }
            let cors = array(rule, "filters").iter().enumerate().find_map(|(k, f)| {
                (f.get("type").and_then(Value::as_str) == Some("CORS"))
                    .then(|| {
                        f.get("cors")
                            .map(|c| self.gateway_cors(c, &format!("{p}/filters/{k}/cors"), true))
                    })
                    .flatten()
            });
            found.routes.push(Route {
                at: self.at(&p),
                platform: Platform::GatewayApi,
                label: format!("HTTPRoute {name} rules[{i}]"),
                short_name: format!("{}-{i}", str_at(v, "/metadata/name").unwrap_or("httproute")),
                envoy_names: Vec::new(),
                hosts: hosts.clone(),
                paths,
                method_restricted,
                object: format!("{namespace}/{}", str_at(v, "/metadata/name").unwrap_or("")),
                parents: parents.clone(),
                cors,
            });
        }
    }

    /// The HTTPRoute `CORS` filter and Envoy Gateway's `SecurityPolicy.cors` share their
    /// origin form; their `maxAge` differs (seconds, default 5; a duration).
    fn gateway_cors(&self, c: &Value, p: &str, http_route: bool) -> Cors {
        let mut cors = Cors::new(self.at(p));
        for o in self.field_items(c, p, "allowOrigins") {
            cors.origins.push(Origin {
                kind: OriginKind::Wildcard,
                value: o.value,
                at: o.at,
            });
        }
        cors.methods = self.field_items(c, p, "allowMethods");
        cors.headers = self.field_items(c, p, "allowHeaders");
        cors.expose = self.field_items(c, p, "exposeHeaders");
        let at = self.at(&child(p, "maxAge"));
        match c.get("maxAge") {
            Some(Value::Number(n)) => cors.max_age = n.as_u64().map(|n| (n, at)),
            Some(Value::String(s)) => cors.max_age = go_duration_seconds(s).map(|n| (n, at)),
            // The CRD's default: "Access-Control-Max-Age: 5".
            _ if http_route => cors.max_age = Some((5, cors.at.clone())),
            _ => {}
        }
        if let Some(b) = c.get("allowCredentials").and_then(Value::as_bool) {
            cors.credentials = Some((b, self.at(&child(p, "allowCredentials"))));
        }
        cors
    }

    fn security_policy(&self, v: &Value, found: &mut Found) {
        let Some(c) = v.pointer("/spec/cors") else {
            return;
        };
        let namespace = str_at(v, "/metadata/namespace").unwrap_or("default");
        let mut targets: Vec<String> = Vec::new();
        let refs = v
            .pointer("/spec/targetRefs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .chain(v.pointer("/spec/targetRef").cloned());
        for r in refs {
            if let (Some(kind), Some(name)) = (
                r.get("kind").and_then(Value::as_str),
                r.get("name").and_then(Value::as_str),
            ) {
                targets.push(format!("{kind} {namespace}/{name}"));
            }
        }
        if v.pointer("/spec/targetSelectors").is_some() {
            targets.push("(targetSelectors: routes chosen by label)".to_string());
        }
        found
            .security_policies
            .push((object_name(v), targets, self.gateway_cors(c, "/spec/cors", false)));
    }

    // ------------------------------------------------------------------ ingress-nginx

    fn ingress(&self, v: &Value, found: &mut Found) {
        let name = object_name(v);
        let annotations = v
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let cors = self.nginx_cors(&annotations);
        for (i, rule) in array(v.get("spec").unwrap_or(&Value::Null), "rules").iter().enumerate() {
            let p = format!("/spec/rules/{i}");
            let hosts = rule
                .get("host")
                .and_then(Value::as_str)
                .map(|h| {
                    vec![Item {
                        value: h.to_string(),
                        at: self.at(&child(&p, "host")),
                    }]
                })
                .unwrap_or_default();
            let mut paths = Vec::new();
            for (j, path) in array(rule.get("http").unwrap_or(&Value::Null), "paths")
                .iter()
                .enumerate()
            {
                let pp = format!("{p}/http/paths/{j}");
                let value = str_at(path, "/path").unwrap_or("/").to_string();
                let kind = str_at(path, "/pathType").unwrap_or("ImplementationSpecific");
                paths.push((
                    match kind {
                        "Prefix" => PathMatch::Segments(value),
                        "Exact" => PathMatch::Exact(value),
                        // ingress-nginx serves ImplementationSpecific as a string prefix (a
                        // regex with use-regex).
                        _ => PathMatch::Prefix(value),
                    },
                    self.at(&pp),
                ));
            }
            found.routes.push(Route {
                at: self.at(&p),
                platform: Platform::IngressNginx,
                label: format!("Ingress {name} rules[{i}]"),
                short_name: format!("{}-{i}", str_at(v, "/metadata/name").unwrap_or("ingress")),
                envoy_names: Vec::new(),
                hosts,
                paths,
                method_restricted: false,
                object: name.clone(),
                parents: Vec::new(),
                cors: cors.clone(),
            });
        }
    }

    /// ingress-nginx's CORS annotations with its defaults, as its parser reads them
    /// (internal/ingress/annotations/cors/main.go): `enable-cors` false unless set; origins a
    /// comma list, `*` when absent, each entry that is not `http(s)://[*.]host[:port]` or `*`
    /// skipped; methods `GET, PUT, POST, DELETE, PATCH, OPTIONS`, headers
    /// `DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization`
    /// when absent or malformed; credentials true unless set; max age 1728000.
    fn nginx_cors(&self, annotations: &Map<String, Value>) -> Option<Cors> {
        let get = |key: &str| annotations.get(&format!("{NGINX}{key}")).and_then(Value::as_str);
        let p = |key: &str| format!("/metadata/annotations/{}", pointer_segment(&format!("{NGINX}{key}")));
        if get("enable-cors") != Some("true") {
            return None;
        }
        let mut cors = Cors::new(self.at(&p("enable-cors")));
        match get("cors-allow-origin") {
            None => {
                cors.origins.push(Origin {
                    kind: OriginKind::Nginx,
                    value: "*".into(),
                    at: cors.at.clone(),
                });
                cors.notes.push((
                    cors.at.clone(),
                    "no cors-allow-origin: ingress-nginx allows `*`".to_string(),
                ));
            }
            Some(list) => {
                for o in self.comma_list(list, &p("cors-allow-origin")) {
                    if o.value == "*" {
                        cors.origins = vec![Origin {
                            kind: OriginKind::Nginx,
                            value: o.value,
                            at: o.at,
                        }];
                        break;
                    }
                    if !nginx_origin_syntax(&o.value) {
                        cors.notes.push((
                            o.at.clone(),
                            format!(
                                "{:?}: ingress-nginx skips an origin that is not http(s)://[*.]host[:port]; not imported",
                                o.value
                            ),
                        ));
                        continue;
                    }
                    cors.origins.push(Origin {
                        kind: OriginKind::Nginx,
                        value: o.value,
                        at: o.at,
                    });
                }
            }
        }
        let methods = get("cors-allow-methods").filter(|s| nginx_list(s, false));
        cors.methods = self.comma_list(
            methods.unwrap_or("GET, PUT, POST, DELETE, PATCH, OPTIONS"),
            &p(if methods.is_some() {
                "cors-allow-methods"
            } else {
                "enable-cors"
            }),
        );
        let headers = get("cors-allow-headers").filter(|s| nginx_list(s, true));
        cors.headers = self.comma_list(
            headers.unwrap_or(
                "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization",
            ),
            &p(if headers.is_some() { "cors-allow-headers" } else { "enable-cors" }),
        );
        if let Some(expose) = get("cors-expose-headers") {
            cors.expose = self.comma_list(expose, &p("cors-expose-headers"));
        }
        let credentials = get("cors-allow-credentials");
        cors.credentials = Some((
            credentials != Some("false"),
            self.at(&p(if credentials.is_some() {
                "cors-allow-credentials"
            } else {
                "enable-cors"
            })),
        ));
        if credentials.is_none() {
            cors.notes.push((
                cors.at.clone(),
                "no cors-allow-credentials: ingress-nginx sends Access-Control-Allow-Credentials: true".to_string(),
            ));
        }
        let max_age = get("cors-max-age");
        cors.max_age = Some((
            max_age.and_then(|s| s.trim().parse().ok()).unwrap_or(1_728_000),
            self.at(&p(if max_age.is_some() {
                "cors-max-age"
            } else {
                "enable-cors"
            })),
        ));
        Some(cors)
    }
}

/// ingress-nginx's check of one origin entry: `^(https?://(\*\.)?[A-Za-z0-9\-\.]*(:[0-9]+)?|\*)?$`.
fn nginx_origin_syntax(o: &str) -> bool {
    let Some(rest) = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")) else {
        return o == "*";
    };
    let rest = rest.strip_prefix("*.").unwrap_or(rest);
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && (!rest.contains(':') || (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())))
}

/// ingress-nginx's check of a method or header list: names of letters (headers: also digits,
/// `-`, `_`) separated by commas and optional spaces.
fn nginx_list(s: &str, header: bool) -> bool {
    !s.is_empty()
        && s.split(',').map(str::trim).all(|n| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphabetic() || (header && (b.is_ascii_digit() || b == b'-' || b == b'_')))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_are_read_in_whole_seconds() {
        for (d, s) in [
            ("24h", Some(86400)),
            ("1m30s", Some(90)),
            ("1.5s", Some(1)),
            ("500ms", Some(0)),
            ("2h45m", Some(9900)),
            ("", None),
            ("10", None),
            ("5d", None),
        ] {
            assert_eq!(go_duration_seconds(d), s, "{d}");
        }
    }

    #[test]
    fn ingress_nginx_skips_the_origins_and_lists_its_own_parser_refuses() {
        for (o, ok) in [
            ("https://a.example.com", true),
            ("http://a.example.com:8080", true),
            ("https://*.example.com", true),
            ("*", true),
            ("ftp://a.example.com", false),
            ("https://a.example.com/path", false),
            ("https://a.example.com:", false),
        ] {
            assert_eq!(nginx_origin_syntax(o), ok, "{o}");
        }
        assert!(nginx_list("GET, PUT,POST", false));
        assert!(!nginx_list("GET;PUT", false));
        assert!(nginx_list("X-Requested-With, Content-Type", true));
        assert!(!nginx_list("*", true));
    }
}
