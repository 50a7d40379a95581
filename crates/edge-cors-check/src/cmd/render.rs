//! `edge-cors-check render envoy|istio|envoy-gateway POLICY.json`: the document that deploys a
//! policy with a release, ready to apply: the Envoy HTTP filter, an Istio `WasmPlugin`, an
//! Envoy Gateway `EnvoyExtensionPolicy`.
//!
//! The policy goes in exactly as each platform hands it to the filter: Envoy gets the file's
//! bytes in a `google.protobuf.StringValue`; Istio's `pluginConfig` and Envoy Gateway's
//! `config` are the policy as a YAML tree, which both send to the filter as its JSON. The
//! policy must pass the filter's validation, and the image (or module) must be pinned by a
//! real digest, from flags or from a release folder (`dist/VERSION`, scripts/release.sh);
//! nothing is rendered otherwise. The rendered text is read back before it is printed and
//! must carry the same policy.

use std::path::{Path, PathBuf};

use edge_cors_core::compile;
use serde_json::Value as Json;
use serde_yaml_ng::{Mapping, Value as Yaml};
use sha2::{Digest, Sha256};

use crate::load::{digest_problem, read_input, PLACEHOLDER_REGISTRY};
use crate::report::{error_report, Where, VERSION};
use crate::Status;

const USAGE: &str = "\
usage: edge-cors-check render envoy|istio|envoy-gateway POLICY.json [OPTION...]

Prints the document that deploys POLICY.json (a policy the filter accepts) with a release,
pinned by digest. Image and digest come from a release folder or from flags:

  --dist DIR           a release folder written by scripts/release.sh (dist/VERSION): the image
                       digest from DIR/oci, the module sha256 from DIR/SHA256SUMS, the tag VERSION
istio, envoy-gateway:
  --image REF          where the image is: REGISTRY/REPO[:TAG][@sha256:HEX] (oci:// allowed);
                       the tag defaults to the release version of --dist
  --digest sha256:HEX  the image's manifest digest, when there is no --dist
  --name NAME          metadata.name (default edge-cors)
  --namespace NS       metadata.namespace (istio: default istio-system; envoy-gateway: none)
istio:
  --selector KEY=VALUE attach to the workloads with this label (repeatable; default
                       istio=ingressgateway)
  --gateway NAME       attach to this Gateway API Gateway instead (targetRefs)
  --fail-strategy S    FAIL_CLOSE (default), FAIL_OPEN or FAIL_RELOAD
envoy-gateway:
  --gateway NAME       attach to this Gateway (default eg)
  --route NAME         attach to this HTTPRoute instead
envoy:
  --wasm-file PATH     Envoy reads the module from PATH (default with --dist: DIR/edge_cors.wasm)
  --wasm-url URL       Envoy fetches the module from URL through --cluster NAME (default
                       edge_cors_wasm), checking its sha256
  --sha256 HEX         the module's sha256, when there is no --dist (an existing --wasm-file is
                       hashed)
  --failure-policy P   FAIL_CLOSED (default), FAIL_OPEN or FAIL_RELOAD

exit status: 0 rendered, 1 the policy is invalid, 2 bad usage or no real digest";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Envoy,
    Istio,
    EnvoyGateway,
}

#[derive(Default)]
struct Options {
    dist: Option<String>,
    image: Option<String>,
    digest: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    selectors: Vec<String>,
    gateway: Option<String>,
    route: Option<String>,
    fail_strategy: Option<String>,
    wasm_file: Option<String>,
    wasm_url: Option<String>,
    cluster: Option<String>,
    sha256: Option<String>,
    failure_policy: Option<String>,
}

/// A usage or input problem: printed, exit status 2.
struct Refused(String);

pub(crate) fn main(args: &[String]) -> Status {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Status::Valid;
    }
    match render(args) {
        Ok(Rendered::Text(text)) => {
            print!("{text}");
            Status::Valid
        }
        Ok(Rendered::InvalidPolicy(report)) => {
            print!("{report}");
            Status::Invalid
        }
        Err(Refused(why)) => {
            eprintln!("edge-cors-check render: {why}");
            Status::CannotCheck
        }
    }
}

enum Rendered {
    Text(String),
    InvalidPolicy(String),
}

fn render(args: &[String]) -> Result<Rendered, Refused> {
    let (target, policy_file, opts) = parse_args(args)?;
    let policy = read_input(&policy_file).map_err(|e| Refused(format!("{policy_file}: cannot read: {e}")))?;
    if let Err(errors) = compile(&policy) {
        let at = Where {
            file: &policy_file,
            line: None,
            location: "policy",
        };
        return Ok(Rendered::InvalidPolicy(error_report(&at, &errors)));
    }
    let policy_text = String::from_utf8(policy.clone())
        .map_err(|_| Refused(format!("{policy_file}: the policy is not UTF-8 text")))?;
    let dist = opts.dist.as_deref().map(Dist::read).transpose()?;
    let (doc, header) = match target {
        Target::Envoy => envoy(&opts, dist.as_ref(), &policy_text)?,
        Target::Istio | Target::EnvoyGateway => {
            let image = Image::resolve(&opts, dist.as_ref())?;
            let tree = policy_tree(&policy_text)?;
            if target == Target::Istio {
                istio(&opts, &image, tree)?
            } else {
                envoy_gateway(&opts, &image, tree)?
            }
        }
    };
    let body = serde_yaml_ng::to_string(&doc).map_err(|e| Refused(format!("cannot write YAML: {e}")))?;
    read_back(target, &body, &policy)?;
    let from = Path::new(&policy_file)
        .file_name()
        .map_or(policy_file.clone(), |n| n.to_string_lossy().into_owned());
    let mut text = format!(
        "# Rendered by edge-cors-check {VERSION} (`edge-cors-check render {}`) from {from}.\n",
        target_name(target)
    );
    for line in header {
        text.push_str(&format!("# {line}\n"));
    }
    text.push_str(&body);
    Ok(Rendered::Text(text))
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Envoy => "envoy",
        Target::Istio => "istio",
        Target::EnvoyGateway => "envoy-gateway",
    }
}

fn parse_args(args: &[String]) -> Result<(Target, String, Options), Refused> {
    let mut opts = Options::default();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") || arg == "-" {
            positional.push(arg.clone());
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let value = match inline.or_else(|| it.next().cloned()) {
            Some(v) => v,
            None => return Err(Refused(format!("{flag} needs a value\n{USAGE}"))),
        };
        let slot = match flag {
            "--dist" => &mut opts.dist,
            "--image" => &mut opts.image,
            "--digest" => &mut opts.digest,
            "--name" => &mut opts.name,
            "--namespace" => &mut opts.namespace,
            "--gateway" => &mut opts.gateway,
            "--route" => &mut opts.route,
            "--fail-strategy" => &mut opts.fail_strategy,
            "--wasm-file" => &mut opts.wasm_file,
            "--wasm-url" => &mut opts.wasm_url,
            "--cluster" => &mut opts.cluster,
            "--sha256" => &mut opts.sha256,
            "--failure-policy" => &mut opts.failure_policy,
            "--selector" => {
                opts.selectors.push(value);
                continue;
            }
            _ => return Err(Refused(format!("unknown option {flag}\n{USAGE}"))),
        };
        *slot = Some(value);
    }
    let mut positional = positional.into_iter();
    let target = match positional.next().as_deref() {
        Some("envoy") => Target::Envoy,
        Some("istio") => Target::Istio,
        Some("envoy-gateway") => Target::EnvoyGateway,
        other => {
            return Err(Refused(format!(
                "expected envoy, istio or envoy-gateway, not {other:?}\n{USAGE}"
            )))
        }
    };
    let Some(policy) = positional.next() else {
        return Err(Refused(format!("no POLICY.json given\n{USAGE}")));
    };
    if let Some(extra) = positional.next() {
        return Err(Refused(format!("one policy file at a time; unexpected {extra:?}")));
    }
    Ok((target, policy, opts))
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A real digest: 64 lower-case hex digits, no placeholder.
fn real_digest(what: &str, hex: &str) -> Result<String, Refused> {
    match digest_problem(hex) {
        None => Ok(hex.to_string()),
        Some(why) => Err(Refused(format!("{what} {hex:?}: {why}"))),
    }
}

/// Pick the one digest every source names: refuse none, and refuse two that differ.
fn one_digest(what: &str, sources: &[(&str, Option<String>)]) -> Result<String, Refused> {
    let mut chosen: Option<(&str, String)> = None;
    for (from, digest) in sources {
        let Some(digest) = digest else { continue };
        match &chosen {
            Some((first, d)) if d != digest => {
                return Err(Refused(format!(
                    "{what}: {first} says sha256:{d}, {from} says sha256:{digest}"
                )))
            }
            _ => chosen = Some((from, digest.clone())),
        }
    }
    chosen.map(|(_, d)| d).ok_or_else(|| {
        Refused(format!(
            "no {what}: nothing is rendered without a real digest (give --dist DIR, or the digest by flag)"
        ))
    })
}

/// A release folder written by scripts/release.sh, checked for consistency: the wasm matches
/// SHA256SUMS, and the image's manifest (the blob the layout's index names) is the one its
/// digest names and carries the same wasm sha256 and version.
struct Dist {
    dir: PathBuf,
    version: String,
    wasm_sha256: String,
    image_digest: String,
}

/// The manifest annotations scripts/release.sh writes (scripts/oci.py).
const VERSION_ANNOTATION: &str = "org.opencontainers.image.version";
const WASM_ANNOTATION: &str = "edge-cors.wasm.sha256";

impl Dist {
    fn read(dir: &str) -> Result<Dist, Refused> {
        let root = PathBuf::from(dir);
        let read = |rel: &str| {
            std::fs::read(root.join(rel)).map_err(|e| Refused(format!("--dist {dir}: cannot read {rel}: {e}")))
        };
        let sums = String::from_utf8_lossy(&read("SHA256SUMS")?).into_owned();
        let listed = sums
            .lines()
            .find_map(|l| l.strip_suffix("  edge_cors.wasm"))
            .ok_or_else(|| Refused(format!("--dist {dir}: SHA256SUMS lists no edge_cors.wasm")))?;
        let wasm_sha256 = sha256_hex(&read("edge_cors.wasm")?);
        if listed != wasm_sha256 {
            return Err(Refused(format!(
                "--dist {dir}: edge_cors.wasm has sha256 {wasm_sha256}, SHA256SUMS says {listed}"
            )));
        }
        let index: Json = serde_json::from_slice(&read("oci/index.json")?)
            .map_err(|e| Refused(format!("--dist {dir}: oci/index.json: {e}")))?;
        let digest = index
            .pointer("/manifests/0/digest")
            .and_then(Json::as_str)
            .and_then(|d| d.strip_prefix("sha256:"))
            .ok_or_else(|| Refused(format!("--dist {dir}: oci/index.json names no sha256 manifest")))?;
        let image_digest = real_digest("--dist image digest", digest)?;
        let manifest_bytes = read(&format!("oci/blobs/sha256/{image_digest}"))?;
        if sha256_hex(&manifest_bytes) != image_digest {
            return Err(Refused(format!(
                "--dist {dir}: the manifest blob does not hash to its digest"
            )));
        }
        let manifest: Json = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| Refused(format!("--dist {dir}: the image manifest: {e}")))?;
        let annotation = |key: &str| manifest.pointer(&format!("/annotations/{key}")).and_then(Json::as_str);
        if annotation(WASM_ANNOTATION) != Some(wasm_sha256.as_str()) {
            return Err(Refused(format!(
                "--dist {dir}: the image's {WASM_ANNOTATION} is {:?}, edge_cors.wasm is {wasm_sha256}",
                annotation(WASM_ANNOTATION)
            )));
        }
        let version = annotation(VERSION_ANNOTATION)
            .ok_or_else(|| Refused(format!("--dist {dir}: the image has no {VERSION_ANNOTATION}")))?
            .to_string();
        Ok(Dist {
            dir: root,
            version,
            wasm_sha256,
            image_digest,
        })
    }
}

/// An OCI image: repository, tag (or none), manifest digest.
struct Image {
    repository: String,
    tag: Option<String>,
    digest: String,
    version: Option<String>,
}

impl Image {
    fn resolve(opts: &Options, dist: Option<&Dist>) -> Result<Image, Refused> {
        let Some(reference) = opts.image.as_deref() else {
            return Err(Refused(format!(
                "no --image: name the repository the image is pushed to (REGISTRY/REPO[:TAG]; \
                 {PLACEHOLDER_REGISTRY}/edge-cors renders the placeholder the checker refuses)"
            )));
        };
        let reference = reference.strip_prefix("oci://").unwrap_or(reference);
        let (name, in_ref) = match reference.split_once("@sha256:") {
            Some((name, digest)) => (name, Some(real_digest("--image digest", digest)?)),
            None => (reference, None),
        };
        let (repository, tag) = match name.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), Some(tag.to_string())),
            _ => (name.to_string(), None),
        };
        if repository.is_empty() || !repository.contains('/') {
            return Err(Refused(format!("--image {reference:?}: expected REGISTRY/REPO[:TAG]")));
        }
        let flag = opts
            .digest
            .as_deref()
            .map(|d| real_digest("--digest", d.strip_prefix("sha256:").unwrap_or(d)))
            .transpose()?;
        let digest = one_digest(
            "image digest",
            &[
                ("--image", in_ref),
                ("--digest", flag),
                ("--dist", dist.map(|d| d.image_digest.clone())),
            ],
        )?;
        let version = dist.map(|d| d.version.clone());
        let tag = tag.or_else(|| version.clone());
        Ok(Image {
            repository,
            tag,
            digest,
            version,
        })
    }

    /// `REPO:TAG`, or `REPO@sha256:DIGEST` without a tag.
    fn reference(&self) -> String {
        match &self.tag {
            Some(tag) => format!("{}:{tag}", self.repository),
            None => format!("{}@sha256:{}", self.repository, self.digest),
        }
    }

    fn header(&self, platform: &str) -> Vec<String> {
        let release = self
            .version
            .as_deref()
            .map(|v| format!("edge-cors {v}: "))
            .unwrap_or_default();
        vec![
            format!(
                "{release}image {}, manifest digest sha256:{}",
                self.reference(),
                self.digest
            ),
            format!("({platform} refuses an image with another digest). Check: edge-cors-check FILE"),
        ]
    }
}

/// The policy as a YAML tree with the file's key order, read as YAML (JSON is YAML); a tree
/// that would not give back the same JSON falls back to serde's conversion (sorted keys).
fn policy_tree(text: &str) -> Result<Yaml, Refused> {
    let json: Json = serde_json::from_str(text).map_err(|e| Refused(format!("the policy is not JSON: {e}")))?;
    if let Ok(tree) = serde_yaml_ng::from_str::<Yaml>(text) {
        if serde_json::to_value(&tree).ok().as_ref() == Some(&json) {
            return Ok(tree);
        }
    }
    serde_yaml_ng::to_value(&json).map_err(|e| Refused(format!("cannot convert the policy to YAML: {e}")))
}

fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
    let mut m = Mapping::new();
    for (k, v) in entries {
        m.insert(Yaml::String(k.to_string()), v);
    }
    Yaml::Mapping(m)
}

fn s(v: &str) -> Yaml {
    Yaml::String(v.to_string())
}

fn one_of(flag: &str, value: Option<&str>, allowed: &[&str]) -> Result<String, Refused> {
    let Some(first) = allowed.first() else {
        return Err(Refused(format!("{flag}: no value allowed")));
    };
    let v = value.unwrap_or(first);
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(Refused(format!("{flag} {v:?}: expected one of {}", allowed.join(", "))))
    }
}

fn metadata(opts: &Options, default_namespace: Option<&str>) -> Yaml {
    let mut entries = vec![("name", s(opts.name.as_deref().unwrap_or("edge-cors")))];
    if let Some(ns) = opts.namespace.as_deref().or(default_namespace) {
        entries.push(("namespace", s(ns)));
    }
    map(entries)
}

fn gateway_ref(kind: &str, name: &str) -> Yaml {
    Yaml::Sequence(vec![map(vec![
        ("group", s("gateway.networking.k8s.io")),
        ("kind", s(kind)),
        ("name", s(name)),
    ])])
}

fn istio(opts: &Options, image: &Image, policy: Yaml) -> Result<(Yaml, Vec<String>), Refused> {
    let fail_strategy = one_of(
        "--fail-strategy",
        opts.fail_strategy.as_deref(),
        &["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"],
    )?;
    let attach = match (&opts.gateway, opts.selectors.is_empty()) {
        (Some(_), false) => return Err(Refused("--gateway and --selector: Istio takes one or the other".into())),
        (Some(gateway), true) => ("targetRefs", gateway_ref("Gateway", gateway)),
        (None, _) => {
            let mut labels = Mapping::new();
            let selectors = if opts.selectors.is_empty() {
                vec!["istio=ingressgateway".to_string()]
            } else {
                opts.selectors.clone()
            };
            for sel in &selectors {
                let Some((k, v)) = sel.split_once('=') else {
                    return Err(Refused(format!("--selector {sel:?}: expected KEY=VALUE")));
                };
                labels.insert(s(k), s(v));
            }
            ("selector", map(vec![("matchLabels", Yaml::Mapping(labels))]))
        }
    };
    let spec = map(vec![
        attach,
        ("url", s(&format!("oci://{}", image.reference()))),
        ("sha256", s(&image.digest)),
        ("imagePullPolicy", s("IfNotPresent")),
        ("pluginName", s("edge-cors")),
        ("type", s("HTTP")),
        // Before Istio's authentication and authorization: preflights carry no credentials
        // (docs/deployment-istio.md).
        ("phase", s("AUTHN")),
        ("priority", Yaml::Number(1000.into())),
        ("failStrategy", s(&fail_strategy)),
        ("pluginConfig", policy),
    ]);
    let doc = map(vec![
        ("apiVersion", s("extensions.istio.io/v1alpha1")),
        ("kind", s("WasmPlugin")),
        ("metadata", metadata(opts, Some("istio-system"))),
        ("spec", spec),
    ]);
    Ok((doc, image.header("Istio")))
}

fn envoy_gateway(opts: &Options, image: &Image, policy: Yaml) -> Result<(Yaml, Vec<String>), Refused> {
    let target = match (&opts.gateway, &opts.route) {
        (Some(_), Some(_)) => return Err(Refused("--gateway and --route: give one".into())),
        (_, Some(route)) => gateway_ref("HTTPRoute", route),
        (gateway, None) => gateway_ref("Gateway", gateway.as_deref().unwrap_or("eg")),
    };
    let wasm = map(vec![
        ("name", s("edge-cors")),
        ("rootID", s("edge-cors")),
        (
            "code",
            map(vec![
                ("type", s("Image")),
                (
                    "image",
                    map(vec![("url", s(&image.reference())), ("sha256", s(&image.digest))]),
                ),
            ]),
        ),
        // Envoy Gateway fails the route with a 500 when the module cannot load: never
        // serve without the policy.
        ("failOpen", Yaml::Bool(false)),
        ("config", policy),
    ]);
    let doc = map(vec![
        ("apiVersion", s("gateway.envoyproxy.io/v1alpha1")),
        ("kind", s("EnvoyExtensionPolicy")),
        ("metadata", metadata(opts, None)),
        (
            "spec",
            map(vec![("targetRefs", target), ("wasm", Yaml::Sequence(vec![wasm]))]),
        ),
    ]);
    Ok((doc, image.header("Envoy Gateway")))
}

fn envoy(opts: &Options, dist: Option<&Dist>, policy: &str) -> Result<(Yaml, Vec<String>), Refused> {
    let failure_policy = one_of(
        "--failure-policy",
        opts.failure_policy.as_deref(),
        &["FAIL_CLOSED", "FAIL_OPEN", "FAIL_RELOAD"],
    )?;
    if opts.wasm_file.is_some() && opts.wasm_url.is_some() {
        return Err(Refused("--wasm-file and --wasm-url: give one".into()));
    }
    let flag = opts
        .sha256
        .as_deref()
        .map(|d| real_digest("--sha256", d.strip_prefix("sha256:").unwrap_or(d)))
        .transpose()?;
    let local = match (&opts.wasm_file, &opts.wasm_url, dist) {
        (Some(file), _, _) => Some(file.clone()),
        (None, None, Some(d)) => Some(d.dir.join("edge_cors.wasm").to_string_lossy().into_owned()),
        (None, None, None) => {
            return Err(Refused(
                "no module: give --dist DIR, --wasm-file PATH or --wasm-url URL".into(),
            ))
        }
        (None, Some(_), _) => None,
    };
    // A module that exists here is hashed: the digest must be the one it has.
    let on_disk = local
        .as_deref()
        .and_then(|f| std::fs::read(f).ok())
        .map(|b| sha256_hex(&b));
    let sha = one_digest(
        "module sha256",
        &[
            ("--sha256", flag),
            ("--dist", dist.map(|d| d.wasm_sha256.clone())),
            ("the module file", on_disk),
        ],
    )?;
    let (code, header) = match (&local, &opts.wasm_url) {
        (Some(file), _) => (
            map(vec![("local", map(vec![("filename", s(file))]))]),
            format!("Module {file}, sha256 {sha}: install that file on every Envoy (no fetch, no check)."),
        ),
        (None, Some(url)) => {
            let cluster = opts.cluster.as_deref().unwrap_or("edge_cors_wasm");
            (
                map(vec![(
                    "remote",
                    map(vec![
                        (
                            "http_uri",
                            map(vec![("uri", s(url)), ("cluster", s(cluster)), ("timeout", s("30s"))]),
                        ),
                        // Envoy refuses a module whose sha256 differs.
                        ("sha256", s(&sha)),
                        ("retry_policy", map(vec![("num_retries", Yaml::Number(5.into()))])),
                    ]),
                )]),
                format!("Module fetched from {url} through the cluster {cluster} (define it), sha256 {sha}."),
            )
        }
        (None, None) => return Err(Refused("no module".into())),
    };
    let filter = map(vec![
        ("name", s("edge-cors")),
        (
            "typed_config",
            map(vec![
                (
                    "@type",
                    s("type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"),
                ),
                (
                    "config",
                    map(vec![
                        ("name", s("edge-cors")),
                        ("root_id", s("edge-cors")),
                        ("failure_policy", s(&failure_policy)),
                        (
                            "vm_config",
                            map(vec![
                                ("vm_id", s("edge-cors")),
                                ("runtime", s("envoy.wasm.runtime.v8")),
                                ("code", code),
                            ]),
                        ),
                        (
                            "configuration",
                            map(vec![
                                ("@type", s("type.googleapis.com/google.protobuf.StringValue")),
                                ("value", s(policy)),
                            ]),
                        ),
                    ]),
                ),
            ]),
        ),
    ]);
    let release = dist.map(|d| format!("edge-cors {}: ", d.version)).unwrap_or_default();
    let header = vec![
        format!("{release}the HTTP filter, first in http_filters of the HttpConnectionManager, with"),
        "the path and host normalization of docs/deployment-envoy.md on that connection manager.".to_string(),
        header,
    ];
    Ok((Yaml::Sequence(vec![filter]), header))
}

/// Read the rendered YAML back as the platform will: the policy it carries must be the one
/// given (byte for byte in a StringValue, the same JSON in a tree).
fn read_back(target: Target, body: &str, policy: &[u8]) -> Result<(), Refused> {
    let doc: Json = serde_yaml_ng::from_str(body).map_err(|e| Refused(format!("rendered YAML unreadable: {e}")))?;
    let pointer = match target {
        Target::Envoy => "/0/typed_config/config/configuration/value",
        Target::Istio => "/spec/pluginConfig",
        Target::EnvoyGateway => "/spec/wasm/0/config",
    };
    let carried = doc.pointer(pointer);
    let same = match (target, carried) {
        (Target::Envoy, Some(Json::String(v))) => v.as_bytes() == policy,
        (_, Some(tree)) => serde_json::from_slice::<Json>(policy).ok().as_ref() == Some(tree),
        (_, None) => false,
    };
    if same {
        Ok(())
    } else {
        Err(Refused(
            "the rendered document would not carry the policy unchanged; nothing rendered".into(),
        ))
    }
}
