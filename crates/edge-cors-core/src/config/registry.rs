//! `allow_origins_from`: origins a policy fetches from a registry, next to its configured ones.
//! Two things are validated here, both with typed issues rendered by `error`: the source block
//! of the configuration ([`read_source`]), and each document the registry answers
//! ([`compile_document`]), whose entries obey exactly the rules of `allow_origins`
//! (`origin_matcher::check_entry`).
//!
//! What an entry the rules refuse does to an update depends on what it would have done:
//! - an entry that would widen the policy dangerously (`*`, `null` or a `file:` origin, a
//!   wildcard under or over a public suffix, a plain-http origin with credentials) means the
//!   registry is compromised or broken: the whole update is refused and the last good list
//!   keeps serving;
//! - an entry that is merely malformed (upper case, a path, a default port, a duplicate, ...)
//!   could never match what a browser sends, so it cannot widen anything: it is skipped, with
//!   a warning, and the rest applies. One tenant's typo must not hold back every other
//!   tenant's onboarding.

use serde_json::Value;

use super::error::{ConfigErrors, IssueKind};
use super::json::Fields;
use crate::rules::origin::OriginError;
use crate::rules::origin_matcher::{check_entry, OriginIssue};
use crate::rules::origin_set::{OriginSet, OriginSetBuilder};
use crate::rules::token::is_token;

/// Defaults and bounds of the source block's numbers.
pub(crate) const DEFAULT_REFRESH_SECONDS: u64 = 30;
pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 2000;
pub(crate) const DEFAULT_MAX_ENTRIES: u64 = 100_000;
pub(crate) const MAX_MAX_ENTRIES: u64 = 1_000_000;
pub(crate) const DEFAULT_MAX_BYTES: u64 = 16 << 20;
/// Envoy 1.40 buffers at most 32 MiB of a callout's answer (measured: 31 MiB arrives, 33 MiB is reset).
pub(crate) const MAX_MAX_BYTES: u64 = 32 << 20;
const MAX_REFRESH_SECONDS: u64 = 86_400;
const MAX_TIMEOUT_MS: u64 = 60_000;
const MAX_STALE_SECONDS: u64 = 30 * 86_400;
const MAX_NAME_LEN: usize = 256;
const MAX_PATH_LEN: usize = 2048;
const MAX_HEADERS: usize = 16;
const MAX_HEADER_VALUE_LEN: usize = 4096;
/// A version longer than this is refused (it appears in every log line about the list).
pub(crate) const MAX_VERSION_LEN: usize = 128;

/// Request headers the callout sets itself, or that HTTP/1.1 and HTTP/2 give a meaning of
/// their own: a configured value would be ignored or break the request.
const RESERVED_HEADERS: [&str; 10] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "if-none-match",
    "accept",
];

/// What a policy serves before its first list is loaded (and when `max_stale_seconds` retires
/// a list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BeforeFirstLoad {
    /// The configured `allow_origins` / `allow_origin_regexes` only.
    #[default]
    StaticOnly,
    /// No origin at all: every CORS request of the policy is refused.
    RejectAll,
}

impl BeforeFirstLoad {
    /// The name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            BeforeFirstLoad::StaticOnly => "static_only",
            BeforeFirstLoad::RejectAll => "reject_all",
        }
    }
}

/// A policy's `allow_origins_from`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySource {
    /// The Envoy cluster the callout goes to.
    pub cluster: String,
    /// The `:authority` of the request.
    pub authority: String,
    /// The `:path` of the request (a query is allowed).
    pub path: String,
    /// More request headers (an API key, ...); never logged.
    pub headers: Vec<(String, String)>,
    /// The longest wait between two fetches while they succeed.
    pub refresh_seconds: u64,
    /// How long a fetch may take.
    pub timeout_ms: u64,
    /// A document with more entries is refused.
    pub max_entries: usize,
    /// A body larger than this is refused unread.
    pub max_bytes: usize,
    /// A list not confirmed by the registry for this long stops serving.
    pub max_stale_seconds: Option<u64>,
    /// What serves before the first list.
    pub before_first_load: BeforeFirstLoad,
}

fn visible(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

/// Read and validate the `allow_origins_from` object at `path`; `None` when it is refused.
pub(crate) fn read_source(v: &Value, path: &str, errors: &mut ConfigErrors) -> Option<RegistrySource> {
    let before = errors.total;
    let mut f = Fields::new(v, path, errors)?;
    let text = |f: &mut Fields<'_, '_>, key: &'static str, ok: fn(&str) -> bool, kind: IssueKind| {
        let child = f.child(key);
        let s = f.string(key, true)?;
        if ok(&s) {
            Some(s)
        } else {
            f.errors.push_str(&child, &s, kind);
            None
        }
    };
    let cluster = text(
        &mut f,
        "cluster",
        |s| !s.is_empty() && s.len() <= MAX_NAME_LEN && visible(s),
        IssueKind::RegistryCluster,
    );
    let authority = text(
        &mut f,
        "authority",
        |s| !s.is_empty() && s.len() <= MAX_NAME_LEN && visible(s) && !s.contains(['/', '@', '?', '#']),
        IssueKind::RegistryAuthority,
    );
    let request_path = text(
        &mut f,
        "path",
        |s| s.starts_with('/') && s.len() <= MAX_PATH_LEN && visible(s) && !s.contains('#'),
        IssueKind::RegistryPath,
    );
    let number = |f: &mut Fields<'_, '_>, key: &'static str, min: u64, max: u64| {
        let child = f.child(key);
        let v = f.value(key)?;
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                f.errors.push(&child, Some(v), IssueKind::RegistryRange { min, max });
                None
            }
        }
    };
    let refresh = number(&mut f, "refresh_seconds", 1, MAX_REFRESH_SECONDS);
    let timeout = number(&mut f, "timeout_ms", 1, MAX_TIMEOUT_MS);
    let max_entries = number(&mut f, "max_entries", 1, MAX_MAX_ENTRIES);
    let max_bytes = number(&mut f, "max_bytes", 1, MAX_MAX_BYTES);
    let max_stale = number(&mut f, "max_stale_seconds", 1, MAX_STALE_SECONDS);
    let refresh_seconds = refresh.unwrap_or(DEFAULT_REFRESH_SECONDS);
    let timeout_ms = timeout.unwrap_or(DEFAULT_TIMEOUT_MS);
    if timeout_ms >= refresh_seconds.saturating_mul(1000) {
        // A fetch still running when the next is due would overlap it.
        let at = f.child("timeout_ms");
        f.errors.push(
            &at,
            Some(&Value::from(timeout_ms)),
            IssueKind::RegistryTimeoutNotBelowRefresh { refresh_seconds },
        );
    }
    if let Some(stale) = max_stale {
        if stale < refresh_seconds.saturating_mul(2) {
            let at = f.child("max_stale_seconds");
            f.errors.push(
                &at,
                Some(&Value::from(stale)),
                IssueKind::RegistryStaleBelowRefresh { refresh_seconds },
            );
        }
    }
    let before_first_load = match f.value("before_first_load") {
        None => BeforeFirstLoad::StaticOnly,
        Some(Value::String(s)) if s == "static_only" => BeforeFirstLoad::StaticOnly,
        Some(Value::String(s)) if s == "reject_all" => BeforeFirstLoad::RejectAll,
        Some(other) => {
            let at = f.child("before_first_load");
            f.errors.push(&at, Some(other), IssueKind::RegistryBeforeFirstLoad);
            BeforeFirstLoad::StaticOnly
        }
    };
    let headers = match f.value("headers") {
        None => Vec::new(),
        Some(h) => {
            let at = f.child("headers");
            read_headers(h, &at, f.errors)
        }
    };
    f.finish();
    if errors.total > before {
        return None;
    }
    Some(RegistrySource {
        cluster: cluster?,
        authority: authority?,
        path: request_path?,
        headers,
        refresh_seconds,
        timeout_ms,
        max_entries: usize::try_from(max_entries.unwrap_or(DEFAULT_MAX_ENTRIES)).ok()?,
        max_bytes: usize::try_from(max_bytes.unwrap_or(DEFAULT_MAX_BYTES)).ok()?,
        max_stale_seconds: max_stale,
        before_first_load,
    })
}

/// `headers`: an object of lower-case header names to values. Values may be secrets: an error
/// never quotes one.
fn read_headers(v: &Value, path: &str, errors: &mut ConfigErrors) -> Vec<(String, String)> {
    let Some(map) = v.as_object() else {
        errors.push(path, Some(v), IssueKind::NotAnObject { found: "another type" });
        return Vec::new();
    };
    if map.len() > MAX_HEADERS {
        errors.push(path, None, IssueKind::RegistryTooManyHeaders { max: MAX_HEADERS });
    }
    let mut out = Vec::new();
    for (name, value) in map {
        let at = format!("{path}.{name}");
        let lower = name.to_ascii_lowercase();
        if !is_token(name) || lower != *name || RESERVED_HEADERS.contains(&name.as_str()) {
            errors.push_str(&at, name, IssueKind::RegistryHeaderName);
            continue;
        }
        match value.as_str() {
            Some(s) if s.len() <= MAX_HEADER_VALUE_LEN && s.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) => {
                out.push((name.clone(), s.to_string()))
            }
            _ => errors.push(&at, None, IssueKind::RegistryHeaderValue),
        }
    }
    out
}

/// A registry document that compiled: the list to serve.
#[derive(Debug)]
pub struct FetchedList {
    /// The document's `version`.
    pub version: String,
    /// The entries, laid out for every worker.
    pub(crate) set: OriginSet,
    /// Entries skipped as malformed or duplicate (each a warning).
    pub skipped: usize,
}

impl FetchedList {
    /// The number of entries that serve.
    pub fn entries(&self) -> usize {
        self.set.len()
    }
}

/// Why a document was refused: the metric reason of the failed update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFailure {
    /// The body is larger than `max_bytes`.
    TooLarge,
    /// Not a document: not JSON, not an object, a missing or bad `version` or `origins`.
    Invalid,
    /// More entries than `max_entries`.
    TooMany,
    /// An entry that would widen the policy dangerously.
    Dangerous,
}

/// Is this refused entry dangerous (the whole update is refused) rather than merely malformed
/// (skipped)? See the module's comment.
fn dangerous(issue: &OriginIssue) -> bool {
    match issue {
        OriginIssue::StarNotAlone
        | OriginIssue::StarWithCredentials
        | OriginIssue::WildcardUnderPublicSuffix { .. }
        | OriginIssue::WildcardOverPublicSuffixes { .. }
        | OriginIssue::PlainHttpWithCredentials
        | OriginIssue::Invalid(OriginError::Null | OriginError::FileScheme) => true,
        OriginIssue::Invalid(_) | OriginIssue::WildcardOverIp | OriginIssue::Duplicate => false,
    }
}

/// The document a registry answered, compiled with the policy's `credentials`: `Ok` with the
/// list and the warnings of skipped entries, or `Err` with why it is refused and every error.
pub fn compile_document(
    bytes: &[u8],
    credentials: bool,
    max_entries: usize,
    max_bytes: usize,
) -> Result<(FetchedList, ConfigErrors), (DocumentFailure, ConfigErrors)> {
    let mut errors = ConfigErrors::default();
    if bytes.len() > max_bytes {
        errors.push(
            "$",
            None,
            IssueKind::RegistryBodyTooLarge {
                bytes: bytes.len(),
                max: max_bytes,
            },
        );
        return Err((DocumentFailure::TooLarge, errors));
    }
    let mut doc = Document {
        credentials,
        errors: &mut errors,
        version: None,
        builder: OriginSetBuilder::with_capacity(bytes.len()),
        skipped: 0,
    };
    let read = read_document(bytes, max_entries, &mut doc);
    let Document {
        version,
        builder,
        skipped,
        ..
    } = doc;
    match read {
        Ok(seen) => {
            for (key, was_seen) in ["version", "origins"].into_iter().zip(seen) {
                if !was_seen {
                    errors.push(key, None, IssueKind::Missing);
                }
            }
        }
        Err(Unread::TooMany) => {
            errors.push("origins", None, IssueKind::RegistryTooManyEntries { max: max_entries });
            return Err((DocumentFailure::TooMany, errors));
        }
        Err(Unread::NotAnObject(v)) => {
            errors.push("$", Some(&v), IssueKind::NotAnObject { found: "another type" });
            return Err((DocumentFailure::Invalid, errors));
        }
        Err(Unread::Json(error)) => {
            errors.push("$", None, IssueKind::InvalidJson { error });
            return Err((DocumentFailure::Invalid, errors));
        }
    }
    if !errors.is_empty() {
        let dangerous = errors.errors.iter().any(|e| match &e.kind {
            IssueKind::RegistryAnyOrigin => true,
            IssueKind::Origin(issue) => dangerous(issue),
            _ => false,
        });
        let failure = if dangerous {
            DocumentFailure::Dangerous
        } else {
            DocumentFailure::Invalid
        };
        return Err((failure, errors));
    }
    let Some(version) = version else {
        return Err((DocumentFailure::Invalid, errors));
    };
    let list = FetchedList {
        version,
        set: builder.finish(),
        skipped,
    };
    Ok((list, errors))
}

/// Why a document could not be read to its end.
enum Unread {
    /// More entries than `max_entries`: reading stopped there.
    TooMany,
    /// The document is another JSON value than an object.
    NotAnObject(Value),
    /// Not JSON: the reason, with the byte offset.
    Json(String),
}

/// A position in a document's bytes.
struct Cursor<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Cursor<'_> {
    fn skip_whitespace(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    /// Skip whitespace, then take `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_whitespace();
        let found = self.bytes.get(self.at) == Some(&c);
        self.at += usize::from(found);
        found
    }

    /// The next JSON value, read by serde_json (the configuration's own reader), and freed by
    /// the caller before the next is read.
    fn value(&mut self) -> Result<Value, Unread> {
        self.skip_whitespace();
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
        match values.next() {
            Some(Ok(v)) => {
                self.at += values.byte_offset();
                Ok(v)
            }
            Some(Err(e)) => Err(self.error(&e.to_string())),
            None => Err(self.error("the document ends early")),
        }
    }

    fn error(&self, what: &str) -> Unread {
        Unread::Json(format!("at byte {}: {what}", self.at))
    }
}

/// Read a document value by value: the top-level object's fields one at a time and each entry
/// of `origins` as it comes, so no tree of the whole document is ever held (at a million
/// entries the tree alone is several times the size of the set). Returns whether `version` and
/// `origins` were seen.
fn read_document(bytes: &[u8], max_entries: usize, doc: &mut Document<'_>) -> Result<[bool; 2], Unread> {
    let mut c = Cursor { bytes, at: 0 };
    if !c.eat(b'{') {
        let v = c.value()?;
        return Err(Unread::NotAnObject(v));
    }
    let mut seen = [false; 2];
    if !c.eat(b'}') {
        loop {
            let Value::String(key) = c.value()? else {
                return Err(c.error("expected a field name"));
            };
            if !c.eat(b':') {
                return Err(c.error("expected `:`"));
            }
            match key.as_str() {
                "version" => {
                    seen[0] = true;
                    let v = c.value()?;
                    doc.version(&v);
                }
                "origins" => {
                    seen[1] = true;
                    read_origins(&mut c, max_entries, doc)?;
                }
                _ => {
                    let v = c.value()?;
                    let expected = "version, origins".to_string();
                    doc.errors.push(&key, Some(&v), IssueKind::UnknownField { expected });
                }
            }
            if c.eat(b',') {
                continue;
            }
            if c.eat(b'}') {
                break;
            }
            return Err(c.error("expected `,` or `}`"));
        }
    }
    c.skip_whitespace();
    if c.at != bytes.len() {
        return Err(c.error("trailing characters"));
    }
    Ok(seen)
}

/// `origins`: a list whose entries are compiled one by one.
fn read_origins(c: &mut Cursor<'_>, max_entries: usize, doc: &mut Document<'_>) -> Result<(), Unread> {
    if !c.eat(b'[') {
        let v = c.value()?;
        let wrong = IssueKind::WrongType {
            expected: "a list",
            found: "another type",
        };
        doc.errors.push("origins", Some(&v), wrong);
        return Ok(());
    }
    if c.eat(b']') {
        return Ok(());
    }
    let mut index = 0;
    loop {
        if index >= max_entries {
            return Err(Unread::TooMany);
        }
        let v = c.value()?;
        doc.entry(index, &v);
        index += 1;
        if c.eat(b',') {
            continue;
        }
        if c.eat(b']') {
            return Ok(());
        }
        return Err(c.error("expected `,` or `]`"));
    }
}

/// The document being compiled.
struct Document<'e> {
    credentials: bool,
    errors: &'e mut ConfigErrors,
    version: Option<String>,
    builder: OriginSetBuilder,
    skipped: usize,
}

impl Document<'_> {
    fn version(&mut self, v: &Value) {
        let ok = match v {
            Value::String(s) if !s.is_empty() && s.len() <= MAX_VERSION_LEN && visible(s) => Some(s.clone()),
            Value::Number(n) if n.is_u64() => Some(n.to_string()),
            _ => None,
        };
        match ok {
            Some(s) => self.version = Some(s),
            None => self.errors.push("version", Some(v), IssueKind::RegistryVersion),
        }
    }

    fn entry(&mut self, index: usize, v: &Value) {
        let path = || format!("origins[{index}]");
        let Some(entry) = v.as_str() else {
            let found = match v {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::Array(_) => "a list",
                _ => "an object",
            };
            // It could never match an Origin either: skipped like a malformed entry.
            self.skipped += 1;
            self.errors.warn(
                &path(),
                Some(v),
                IssueKind::WrongType {
                    expected: "a string",
                    found,
                },
            );
            return;
        };
        if entry == "*" {
            self.errors.push_str(&path(), entry, IssueKind::RegistryAnyOrigin);
            return;
        }
        let issue = match check_entry(entry, self.credentials) {
            Ok(pattern) if self.builder.insert(entry, &pattern) => return,
            Ok(_) => OriginIssue::Duplicate,
            Err(issue) => issue,
        };
        if dangerous(&issue) {
            self.errors.push_str(&path(), entry, IssueKind::Origin(issue));
        } else {
            self.skipped += 1;
            let v = Value::String(entry.to_string());
            self.errors.warn(&path(), Some(&v), IssueKind::Origin(issue));
        }
    }
}

/// A summary of the source for the load log line and the checker: where it fetches from, how
/// often, what serves first. Header values are never shown.
pub(crate) fn describe(source: &RegistrySource) -> String {
    let mut out = format!(
        "registry cluster {} {}{} every {} s (timeout {} ms, max {} entries), before first load {}",
        source.cluster,
        source.authority,
        source.path,
        source.refresh_seconds,
        source.timeout_ms,
        source.max_entries,
        source.before_first_load.as_str()
    );
    if let Some(stale) = source.max_stale_seconds {
        out.push_str(&format!(", max stale {stale} s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::origin::parse_origin;

    fn compile(doc: &str, credentials: bool) -> Result<(FetchedList, ConfigErrors), (DocumentFailure, ConfigErrors)> {
        compile_document(doc.as_bytes(), credentials, 100, 1 << 20)
    }

    fn allows(list: &FetchedList, origin: &str) -> bool {
        list.set.matches(origin, &parse_origin(origin).unwrap())
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_valid_document_compiles_to_exactly_its_entries() {
        let (list, warnings) = compile(
            r#"{"version": "v7", "origins": ["https://a.example", "https://*.b.example", "http://localhost:*"]}"#,
            false,
        )
        .unwrap();
        assert_eq!(list.version, "v7");
        assert_eq!(list.entries(), 3);
        assert!(warnings.warnings.is_empty());
        assert!(allows(&list, "https://a.example"));
        assert!(allows(&list, "https://x.b.example"));
        assert!(allows(&list, "http://localhost:3000"));
        assert!(!allows(&list, "https://b.example"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn dangerous_entries_refuse_the_whole_document() {
        for (entry, credentials) in [
            ("*", false),
            ("null", false),
            ("file://", false),
            ("https://*.com", false),
            ("https://*.github.io", false),
            ("http://partner.example", true),
        ] {
            let doc = format!(r#"{{"version": 1, "origins": ["https://ok.example", "{entry}"]}}"#);
            let (failure, errors) = compile(&doc, credentials).unwrap_err();
            assert_eq!(failure, DocumentFailure::Dangerous, "{entry}");
            assert_eq!(errors.errors[0].path, "origins[1]", "{entry}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn malformed_entries_are_skipped_with_a_warning_and_the_rest_applies() {
        let (list, warnings) = compile(
            r#"{"version": "v1", "origins": ["https://A.example", "https://ok.example", "https://ok.example", "https://x.example/", "https://x.example:443", 7]}"#,
            false,
        )
        .unwrap();
        assert_eq!(list.entries(), 1);
        assert_eq!(list.skipped, 5);
        let paths: Vec<&str> = warnings.warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            paths,
            ["origins[0]", "origins[2]", "origins[3]", "origins[4]", "origins[5]"]
        );
        assert_eq!(warnings.warnings[1].kind, IssueKind::Origin(OriginIssue::Duplicate));
        assert!(allows(&list, "https://ok.example"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn documents_that_are_not_documents_are_refused_as_invalid() {
        for doc in [
            "",
            "[]",
            "{",
            r#"{"origins": []}"#,
            r#"{"version": "v1"}"#,
            r#"{"version": "", "origins": []}"#,
            r#"{"version": "a b", "origins": []}"#,
            r#"{"version": -1, "origins": []}"#,
            r#"{"version": "v1", "origins": "https://a.example"}"#,
            r#"{"version": "v1", "origins": [], "extra": 1}"#,
        ] {
            let (failure, errors) = compile(doc, false).unwrap_err();
            assert_eq!(failure, DocumentFailure::Invalid, "{doc}");
            assert!(!errors.errors.is_empty(), "{doc}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_document_is_read_as_strict_json_value_by_value() {
        let (list, warnings) = compile(
            " {\n \"origins\" : [ \"https://a.example\" , {\"x\": [1, {\"y\": null}]}, \"https:\\/\\/b.example\" ] ,\t\"version\":7 }\n",
            false,
        )
        .unwrap();
        assert_eq!(list.version, "7");
        assert_eq!(list.entries(), 2, "an escaped `/` reads as `/`");
        assert_eq!(warnings.warnings.len(), 1, "the nested object is skipped");
        for doc in [
            r#"{"version": 1, "origins": ["https://a.example",]}"#,
            r#"{"version": 1, "origins": [],}"#,
            r#"{"version": 1, "origins": []} x"#,
            r#"{"version": 1 "origins": []}"#,
            r#"{"version": 1, "origins": ["https://a.example" "https://b.example"]}"#,
            r#"{"version": 1, "origins": ["https://a.example"#,
            r#"{1: 2}"#,
            "\"just a string\"",
        ] {
            assert_eq!(compile(doc, false).unwrap_err().0, DocumentFailure::Invalid, "{doc}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn limits_on_entries_and_bytes_refuse_a_document() {
        let origins: Vec<String> = (0..101).map(|i| format!("\"https://t{i}.example\"")).collect();
        let doc = format!(r#"{{"version": "v1", "origins": [{}]}}"#, origins.join(","));
        assert_eq!(compile(&doc, false).unwrap_err().0, DocumentFailure::TooMany);
        let (failure, errors) = compile_document(doc.as_bytes(), false, 1000, 100).unwrap_err();
        assert_eq!(failure, DocumentFailure::TooLarge);
        assert_eq!(errors.errors[0].path, "$");
        assert_eq!(
            compile_document(doc.as_bytes(), false, 101, 1 << 20)
                .unwrap()
                .0
                .entries(),
            101
        );
    }

    fn source(json: &str) -> (Option<RegistrySource>, ConfigErrors) {
        let v: Value = serde_json::from_str(json).unwrap();
        let mut errors = ConfigErrors::default();
        (read_source(&v, "policies[0].allow_origins_from", &mut errors), errors)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_source_block_takes_its_defaults() {
        let (s, errors) = source(r#"{"cluster": "reg", "authority": "registry.internal", "path": "/v1/origins"}"#);
        assert!(errors.is_empty(), "{errors}");
        let s = s.unwrap();
        assert_eq!((s.refresh_seconds, s.timeout_ms, s.max_entries), (30, 2000, 100_000));
        assert_eq!(s.before_first_load, BeforeFirstLoad::StaticOnly);
        assert_eq!(s.max_stale_seconds, None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_bad_field_of_a_source_block_is_reported_at_once() {
        let (s, errors) = source(
            r#"{"cluster": "", "authority": "a/b", "path": "v1", "refresh_seconds": 1, "timeout_ms": 5000,
                "max_entries": 0, "max_stale_seconds": 1, "before_first_load": "open",
                "headers": {"Host": "x", "x-key": "a\nb"}, "colour": 1}"#,
        );
        assert!(s.is_none());
        let paths: Vec<String> = errors
            .errors
            .iter()
            .map(|e| e.path.replace("policies[0].allow_origins_from.", ""))
            .collect();
        assert_eq!(
            paths,
            [
                "cluster",
                "authority",
                "path",
                "max_entries",
                "timeout_ms",
                "max_stale_seconds",
                "before_first_load",
                "headers.Host",
                "headers.x-key",
                "colour"
            ]
        );
        assert_eq!(errors.errors[8].value, None, "a header value is never quoted");
    }
}
