//! Driving the registry sources of a configuration (`allow_origins_from`) over the host calls:
//! one worker per Envoy fetches, every worker serves.
//!
//! Every worker's root ticks every [`TICK`] and reads its sources' state from the host's shared
//! data (one small value per source, shared by every VM of the plugin's VM id). When a fetch is
//! due, one worker claims it with a compare-and-swap on that value and sends the callout; the
//! last fetcher keeps the job while it lives, another worker takes over when it is gone. The
//! fetcher compiles the answer into a flat origin set ([`OriginSet`]), publishes its bytes under
//! a second key and bumps the state's generation; every other worker copies the bytes on its
//! next tick and serves from them as they are. A host without shared data (it answers
//! [`HostCallError::Unsupported`]) gets the same logic over a store of the worker's own: then
//! every worker fetches for itself.

use std::cell::RefCell;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{define, memory_note, millis, Level, RootHost};
use crate::config::compile::Config;
use crate::config::error::render_warnings;
use crate::config::registry::{compile_document, BeforeFirstLoad, DocumentFailure, RegistrySource};
use crate::ops::metrics::{OUTCOME, POLICY, REASON};
use crate::ops::registry::{
    classify, counter_labels, failed_counter, jittered_wait_ms, usable_etag, version_gauge, Answer, FailReason,
    FailureLog, SharedState, AGE_SECONDS, APPLIED, ENTRIES, GAUGES, LOADED, UNCHANGED, VERSION,
};
use crate::rules::decide::{Fetched, FetchedOrigins};
use crate::rules::decimal::decimal_u16;
use crate::rules::hash::{fnv1a64, mix64, FNV_OFFSET_BASIS};
use crate::rules::origin_set::OriginSet;

pub(crate) use crate::ops::registry::TICK;

/// Why a host call of the registry source failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCallError {
    /// The host does not offer this call.
    Unsupported,
    /// The call failed, for the host's reason.
    Failed(String),
}

/// Skipped entries are listed in the log up to this many per update.
const MAX_LOGGED_SKIPPED: usize = 5;
/// The first bytes of a body are enough to recognise Envoy's own replies.
const BODY_START: usize = 64;

/// What a policy's worker serves from its source.
#[derive(Debug, Default)]
pub(crate) struct Served {
    /// The list, once loaded.
    list: Option<OriginSet>,
    /// The list is older than `max_stale_seconds`: it does not serve.
    stale: bool,
    before_first_load: BeforeFirstLoad,
}

/// The fetched lists of one worker, by policy index (empty without sources).
#[derive(Debug, Default)]
pub(crate) struct FetchedLists(Vec<Option<Served>>);

impl FetchedOrigins for FetchedLists {
    fn for_policy(&self, index: usize) -> Fetched<'_> {
        match self.0.get(index) {
            Some(Some(served)) => match (&served.list, served.stale, served.before_first_load) {
                (Some(list), false, _) => Fetched::List(list),
                (_, _, BeforeFirstLoad::StaticOnly) => Fetched::Nothing,
                (_, _, BeforeFirstLoad::RejectAll) => Fetched::RejectAll,
            },
            _ => Fetched::Nothing,
        }
    }
}

/// A fetch this worker sent and waits for.
#[derive(Debug)]
struct InFlight {
    token: u32,
    sent_ms: u64,
    sent_etag: bool,
}

/// One policy's source, as this worker drives it.
#[derive(Debug)]
struct Source {
    policy: usize,
    name: Arc<str>,
    source: RegistrySource,
    credentials: bool,
    state_key: String,
    list_key: String,
    counters: Vec<Option<u32>>,
    gauges: Vec<Option<u32>>,
    /// The generation of the list this worker serves (0: none).
    generation: u64,
    version: String,
    in_flight: Option<InFlight>,
    failure_log: FailureLog,
}

/// The registry sources of a configuration, for one worker.
#[derive(Debug)]
pub(crate) struct Sources {
    list: Vec<Source>,
    /// This worker's token in the shared state (random, never 0).
    me: u64,
    /// The store of a host without shared data: (key, value, token) of its two keys per source.
    local: RefCell<Vec<(String, Vec<u8>, u32)>>,
    local_only: bool,
    log_window_ms: u64,
}

/// The shared-data keys of a source: the policy's name and a hash of everything that decides
/// what is fetched and how it compiles, so a configuration that changes any of it never
/// serves a list fetched for another.
fn keys(name: &str, source: &RegistrySource, credentials: bool) -> (String, String) {
    let mut h = FNV_OFFSET_BASIS;
    for part in [source.cluster.as_str(), &source.authority, &source.path] {
        h = fnv1a64(fnv1a64(h, part.as_bytes()), &[0]);
    }
    for (n, v) in &source.headers {
        h = fnv1a64(fnv1a64(fnv1a64(h, n.as_bytes()), &[1]), v.as_bytes());
    }
    let limits = format!("{credentials} {} {}", source.max_entries, source.max_bytes);
    let h = mix64(fnv1a64(h, limits.as_bytes()));
    let base = format!("edge-cors.registry.{name}.{h:016x}");
    (format!("{base}.state"), format!("{base}.list"))
}

impl Sources {
    /// The sources of `config` (`None` when it has none), with their metrics defined.
    pub(crate) fn new(config: &Config, host: &impl RootHost, log_window_ms: u64) -> Option<(Sources, FetchedLists)> {
        let mut list = Vec::new();
        let mut served = Vec::new();
        for (index, policy) in config.cors.list.iter().enumerate() {
            let Some(source) = config.registry_source(index) else {
                served.push(None);
                continue;
            };
            let (state_key, list_key) = keys(&policy.name, source, policy.credentials);
            let name = &*policy.name;
            list.push(Source {
                policy: index,
                name: Arc::clone(&policy.name),
                source: source.clone(),
                credentials: policy.credentials,
                state_key,
                list_key,
                counters: counter_labels()
                    .into_iter()
                    .map(|(family, outcome, reason)| {
                        define(host, family, &[(POLICY, name), (OUTCOME, outcome), (REASON, reason)])
                    })
                    .collect(),
                gauges: GAUGES
                    .iter()
                    .map(|family| define(host, family, &[(POLICY, name)]))
                    .collect(),
                generation: 0,
                version: String::new(),
                in_flight: None,
                failure_log: FailureLog::default(),
            });
            served.push(Some(Served {
                before_first_load: source.before_first_load,
                ..Served::default()
            }));
        }
        if list.is_empty() {
            return None;
        }
        let me = host.random_u64().max(1);
        let sources = Sources {
            list,
            me,
            local: RefCell::new(Vec::new()),
            local_only: false,
            log_window_ms,
        };
        Some((sources, FetchedLists(served)))
    }

    /// The value and compare-and-swap token at `key`, from the host's shared data or, on a host
    /// without it, the worker's own store.
    fn read(&mut self, host: &impl RootHost, key: &str) -> Option<(Vec<u8>, u32)> {
        if !self.local_only {
            match host.shared_data(key) {
                Ok(found) => return found,
                Err(HostCallError::Unsupported) => {
                    host.log(
                        Level::Info,
                        "edge-cors: registry: the host has no shared data; this worker fetches for itself",
                    );
                    self.local_only = true;
                }
                Err(e) => {
                    host.log(
                        Level::Warn,
                        &format!("edge-cors: registry: could not read {key}: {e:?}"),
                    );
                    return None;
                }
            }
        }
        self.local
            .borrow()
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, c)| (v.clone(), *c))
    }

    /// Write `value` at `key` if its token is still `cas` (`None`: unconditionally); `false`
    /// when another worker wrote it first.
    fn write(&self, host: &impl RootHost, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        if !self.local_only {
            return match host.set_shared_data(key, value, cas) {
                Ok(written) => written,
                Err(e) => {
                    host.log(
                        Level::Warn,
                        &format!("edge-cors: registry: could not write {key}: {e:?}"),
                    );
                    false
                }
            };
        }
        let mut local = self.local.borrow_mut();
        match local.iter_mut().find(|(k, _, _)| k == key) {
            Some((_, v, c)) => {
                if cas.is_some_and(|cas| cas != *c) {
                    return false;
                }
                *v = value.to_vec();
                *c = c.wrapping_add(1);
            }
            None => local.push((key.to_string(), value.to_vec(), 1)),
        }
        true
    }

    fn state(&mut self, host: &impl RootHost, i: usize) -> (SharedState, Option<u32>) {
        let Some(key) = self.list.get(i).map(|s| s.state_key.clone()) else {
            return (SharedState::default(), None);
        };
        match self.read(host, &key) {
            Some((bytes, cas)) => (SharedState::decode(&bytes).unwrap_or_default(), Some(cas)),
            None => (SharedState::default(), None),
        }
    }

    /// Every tick: serve what another worker applied, retire a stale list, update the age,
    /// and fetch when it is this worker's turn.
    pub(crate) fn on_tick(&mut self, host: &impl RootHost, fetched: &RwLock<FetchedLists>) {
        let now = millis(host.now());
        for i in 0..self.list.len() {
            let (state, cas) = self.state(host, i);
            self.install(host, i, &state, fetched);
            self.check_age(host, i, &state, now, fetched);
            let me = self.me;
            let Some(src) = self.list.get(i) else { continue };
            if src.in_flight.is_some() || !state.my_turn(me, now) {
                continue;
            }
            let claimed = state.claimed(me, now, src.source.timeout_ms);
            let key = src.state_key.clone();
            if self.write(host, &key, claimed.encode().as_bytes(), cas) {
                self.send(host, i, &claimed, now, fetched);
            }
        }
    }

    /// Serve the list of `state`'s generation if this worker does not yet.
    fn install(&mut self, host: &impl RootHost, i: usize, state: &SharedState, fetched: &RwLock<FetchedLists>) {
        let Some(src) = self.list.get(i) else { return };
        if state.generation == 0 || state.generation == src.generation {
            return;
        }
        let key = src.list_key.clone();
        let policy = src.policy;
        // The list serving now is freed before the new one is copied in, so the VM's memory
        // (which never shrinks) holds one list, not two: no request runs in between, this is
        // one callback.
        if let Ok(mut lists) = fetched.try_write() {
            if let Some(Some(served)) = lists.0.get_mut(policy) {
                served.list = None;
            }
        }
        let Some((bytes, _)) = self.read(host, &key) else {
            return;
        };
        // The generation is in the set's header: a list newer than the state read a moment ago
        // is installed under its own number.
        let set = OriginSet::from_bytes(bytes);
        let generation = set.as_ref().map(OriginSet::generation);
        let (Some(generation), Some(set)) = (generation, set) else {
            host.log(
                Level::Warn,
                &format!("edge-cors: registry: the shared list at {key} is unreadable; waiting for the next update"),
            );
            return;
        };
        self.serve(host, i, set, generation, &state.version, fetched);
    }

    /// Make `set` the list this worker serves.
    fn serve(
        &mut self,
        host: &impl RootHost,
        i: usize,
        set: OriginSet,
        generation: u64,
        version: &str,
        fetched: &RwLock<FetchedLists>,
    ) {
        let Some(src) = self.list.get_mut(i) else { return };
        let entries = set.len();
        if let Ok(mut lists) = fetched.try_write() {
            if let Some(Some(served)) = lists.0.get_mut(src.policy) {
                // The old list is freed first, so the new one can reuse its memory.
                served.list = None;
                served.list = Some(set);
                served.stale = false;
            }
        }
        src.generation = generation;
        src.version = version.to_string();
        set_gauge(host, src, ENTRIES, entries as u64);
        set_gauge(host, src, VERSION, version_gauge(version));
        set_gauge(host, src, LOADED, 1);
        host.log(
            Level::Info,
            &format!(
                "edge-cors: registry {}: serving version \"{version}\" ({entries} entries){}",
                src.name,
                memory_note(host)
            ),
        );
    }

    /// The age gauge, and `max_stale_seconds`: a list the registry has not confirmed for that
    /// long stops serving until it is confirmed again.
    fn check_age(
        &mut self,
        host: &impl RootHost,
        i: usize,
        state: &SharedState,
        now: u64,
        fetched: &RwLock<FetchedLists>,
    ) {
        let Some(src) = self.list.get(i) else { return };
        if src.generation == 0 {
            return;
        }
        let age = now.saturating_sub(state.confirmed_ms) / 1000;
        set_gauge(host, src, AGE_SECONDS, age);
        let Some(max) = src.source.max_stale_seconds else {
            return;
        };
        let stale = age > max;
        let Ok(mut lists) = fetched.try_write() else {
            return;
        };
        let Some(Some(served)) = lists.0.get_mut(src.policy) else {
            return;
        };
        if served.stale == stale {
            return;
        }
        served.stale = stale;
        set_gauge(host, src, LOADED, u64::from(!stale));
        if stale {
            host.log(
                Level::Warn,
                &format!(
                    "edge-cors: registry {}: version \"{}\" was last confirmed {age} s ago, over max_stale_seconds {max}: it no longer serves; {}",
                    src.name,
                    src.version,
                    fallback(src.source.before_first_load)
                ),
            );
        } else {
            host.log(
                Level::Info,
                &format!(
                    "edge-cors: registry {}: version \"{}\" confirmed again: it serves",
                    src.name, src.version
                ),
            );
        }
    }

    /// Send the claimed fetch.
    fn send(&mut self, host: &impl RootHost, i: usize, state: &SharedState, now: u64, fetched: &RwLock<FetchedLists>) {
        let Some(src) = self.list.get_mut(i) else { return };
        let s = &src.source;
        let mut headers: Vec<(&str, &str)> = vec![
            (":method", "GET"),
            (":path", &s.path),
            (":authority", &s.authority),
            ("accept", "application/json"),
        ];
        let sent_etag = !state.etag.is_empty() && src.generation != 0;
        if sent_etag {
            headers.push(("if-none-match", &state.etag));
        }
        headers.extend(s.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        match host.dispatch_http_call(&s.cluster, &headers, Duration::from_millis(s.timeout_ms)) {
            Ok(token) => {
                src.in_flight = Some(InFlight {
                    token,
                    sent_ms: now,
                    sent_etag,
                })
            }
            Err(e) => {
                let detail = format!("the callout to cluster {} could not be sent: {e:?}", s.cluster);
                self.finish(host, i, Outcome::Failed(FailReason::Unreachable, detail), now, fetched);
            }
        }
    }

    /// The answer to a callout arrived (`token`), with a body of `body_size` bytes.
    pub(crate) fn on_http_call_response(
        &mut self,
        host: &impl RootHost,
        token: u32,
        headers: usize,
        body_size: usize,
        fetched: &RwLock<FetchedLists>,
    ) {
        let Some(i) = self
            .list
            .iter()
            .position(|s| s.in_flight.as_ref().is_some_and(|f| f.token == token))
        else {
            return;
        };
        let now = millis(host.now());
        let Some(src) = self.list.get_mut(i) else { return };
        let Some(flight) = src.in_flight.take() else { return };
        // Without header lines there is no answer to read (see `Root::on_http_call_response`).
        let status = (headers > 0)
            .then(|| host.http_call_response_header(":status"))
            .flatten()
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(decimal_u16));
        let start = match (status, body_size) {
            (Some(_), 1..) => host
                .http_call_response_body(0, BODY_START.min(body_size))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let elapsed = now.saturating_sub(flight.sent_ms);
        let outcome = match classify(status, elapsed, src.source.timeout_ms, &start, flight.sent_etag) {
            Answer::NotModified => Outcome::Unchanged,
            Answer::Failed(reason) => {
                let detail = match (reason, status) {
                    (FailReason::Timeout, _) => format!("no answer within {} ms", src.source.timeout_ms),
                    (_, Some(code)) => format!("HTTP {code}: {}", printable(&start)),
                    (_, None) => "the connection failed or was reset".to_string(),
                };
                Outcome::Failed(reason, detail)
            }
            Answer::Body if body_size > src.source.max_bytes => Outcome::Failed(
                FailReason::TooLarge,
                format!("the body is {body_size} bytes; max_bytes is {}", src.source.max_bytes),
            ),
            Answer::Body => {
                let etag = host.http_call_response_header("etag").and_then(|v| usable_etag(&v));
                let body = host.http_call_response_body(0, body_size).unwrap_or_default();
                compiled(host, src, &body, etag, elapsed)
            }
        };
        self.finish(host, i, outcome, now, fetched);
    }

    /// Record the end of a fetch: publish and serve an applied list, count and log, and set
    /// when the next fetch is due.
    fn finish(
        &mut self,
        host: &impl RootHost,
        i: usize,
        mut outcome: Outcome,
        now: u64,
        fetched: &RwLock<FetchedLists>,
    ) {
        let random = host.random_u64();
        let me = self.me;
        // Read, change, compare-and-swap: only a worker that lost its claim could have written
        // meanwhile, so a few attempts always suffice.
        for _ in 0..4 {
            // A 200 with the list that serves already (a registry without ETags) is unchanged.
            let mut same_list = false;
            let (mut state, cas) = self.state(host, i);
            let Some(src) = self.list.get(i) else { return };
            state.fetcher = me;
            state.claim_until_ms = 0;
            match &mut outcome {
                Outcome::Failed(..) => state.failures = state.failures.saturating_add(1),
                Outcome::Unchanged => {
                    state.failures = 0;
                    state.confirmed_ms = now;
                }
                Outcome::Applied(list) => {
                    state.failures = 0;
                    state.confirmed_ms = now;
                    state.etag = list.etag.clone().unwrap_or_default();
                    if list.hash == state.list_hash && state.generation != 0 {
                        same_list = true;
                    } else {
                        // The set's own bytes are published, stamped with their generation.
                        let generation = state.generation.wrapping_add(1).max(1);
                        list.set.set_generation(generation);
                        if !self.write(host, &src.list_key, list.set.as_bytes(), None) {
                            continue;
                        }
                        state.generation = generation;
                        state.version = list.version.clone();
                        state.entries = list.set.len() as u64;
                        state.list_hash = list.hash;
                    }
                }
            }
            let wait = jittered_wait_ms(src.source.refresh_seconds, state.failures, random);
            state.next_due_ms = now.saturating_add(wait);
            let key = src.state_key.clone();
            if self.write(host, &key, state.encode().as_bytes(), cas) {
                self.report(
                    host,
                    i,
                    if same_list { &Outcome::Unchanged } else { &outcome },
                    &state,
                    wait,
                    now,
                );
                if let (Outcome::Applied(list), false) = (outcome, same_list) {
                    // This worker serves the set it published.
                    let Compiled { set, version, .. } = *list;
                    let generation = set.generation();
                    self.serve(host, i, set, generation, &version, fetched);
                }
                return;
            }
        }
        host.log(
            Level::Warn,
            "edge-cors: registry: the shared state kept changing; this fetch's result is dropped",
        );
    }

    /// Count and log one fetch.
    fn report(&mut self, host: &impl RootHost, i: usize, outcome: &Outcome, state: &SharedState, wait: u64, now: u64) {
        let window = self.log_window_ms;
        let Some(src) = self.list.get_mut(i) else { return };
        match outcome {
            Outcome::Unchanged => count(host, src, UNCHANGED),
            Outcome::Applied(list) => {
                count(host, src, APPLIED);
                host.log(
                    Level::Info,
                    &format!(
                        "edge-cors: registry {}: applied version \"{}\": {} entries ({} skipped), {} bytes in {} ms",
                        src.name,
                        list.version,
                        list.set.len(),
                        list.skipped,
                        list.bytes,
                        list.elapsed_ms
                    ),
                );
                let prefix = format!("edge-cors: registry {}: ", src.name);
                for line in render_warnings(
                    &prefix,
                    list.warnings.get(..MAX_LOGGED_SKIPPED).unwrap_or(&list.warnings),
                )
                .lines()
                {
                    host.log(Level::Warn, line);
                }
                if list.warnings.len() > MAX_LOGGED_SKIPPED {
                    host.log(
                        Level::Warn,
                        &format!(
                            "{prefix}... and {} more skipped entries",
                            list.warnings.len() - MAX_LOGGED_SKIPPED
                        ),
                    );
                }
            }
            Outcome::Failed(reason, detail) => {
                count(host, src, failed_counter(*reason));
                if let Some(held) = src.failure_log.admit(*reason, now, window) {
                    let serving = if src.generation == 0 {
                        format!("no list loaded yet: {}", fallback(src.source.before_first_load))
                    } else {
                        format!(
                            "keeps serving version \"{}\" ({} entries, confirmed {} s ago)",
                            src.version,
                            state.entries,
                            now.saturating_sub(state.confirmed_ms) / 1000
                        )
                    };
                    host.log(
                        Level::Warn,
                        &format!(
                            "edge-cors: registry {}: update failed ({}): {detail}; {serving}; next attempt in {} s; {held} more failures of this kind not logged",
                            src.name,
                            reason.as_str(),
                            wait / 1000
                        ),
                    );
                }
            }
        }
    }
}

/// A list compiled by this worker, to publish.
#[derive(Debug)]
struct Compiled {
    set: OriginSet,
    version: String,
    etag: Option<String>,
    hash: u64,
    skipped: usize,
    warnings: Vec<crate::config::error::ConfigIssue>,
    bytes: usize,
    elapsed_ms: u64,
}

/// How a fetch ended.
#[derive(Debug)]
enum Outcome {
    Applied(Box<Compiled>),
    /// 304: the serving list is current.
    Unchanged,
    Failed(FailReason, String),
}

fn compiled(host: &impl RootHost, src: &Source, body: &[u8], etag: Option<String>, elapsed_ms: u64) -> Outcome {
    let started = millis(host.now());
    match compile_document(body, src.credentials, src.source.max_entries, src.source.max_bytes) {
        Ok((list, warnings)) => {
            let hash = crate::rules::hash::hash64(list.set.as_bytes());
            let compile_ms = millis(host.now()).saturating_sub(started);
            Outcome::Applied(Box::new(Compiled {
                version: list.version,
                skipped: list.skipped,
                set: list.set,
                etag,
                hash,
                warnings: warnings.warnings,
                bytes: body.len(),
                elapsed_ms: elapsed_ms.saturating_add(compile_ms),
            }))
        }
        Err((failure, errors)) => {
            let reason = match failure {
                DocumentFailure::TooLarge => FailReason::TooLarge,
                DocumentFailure::Invalid => FailReason::Invalid,
                DocumentFailure::TooMany => FailReason::TooMany,
                DocumentFailure::Dangerous => FailReason::Dangerous,
            };
            let first = errors.errors.first().map_or(String::new(), ToString::to_string);
            let more = errors.total.saturating_sub(1);
            Outcome::Failed(reason, format!("{first} ({more} more errors)"))
        }
    }
}

fn fallback(before_first_load: BeforeFirstLoad) -> &'static str {
    match before_first_load {
        BeforeFirstLoad::StaticOnly => "serving the configured origins only",
        BeforeFirstLoad::RejectAll => "refusing every origin (before_first_load: reject_all)",
    }
}

fn printable(bytes: &[u8]) -> String {
    crate::ops::rejection_log::escape_capped(&String::from_utf8_lossy(bytes), BODY_START)
}

fn count(host: &impl RootHost, src: &Source, which: usize) {
    if let Some(Some(id)) = src.counters.get(which) {
        if let Err(e) = host.count(*id) {
            host.log(
                Level::Warn,
                &format!("edge-cors: could not increment metric {id}: {e:?}"),
            );
        }
    }
}

fn set_gauge(host: &impl RootHost, src: &Source, which: usize, value: u64) {
    if let Some(Some(id)) = src.gauges.get(which) {
        if let Err(e) = host.set_gauge(*id, value) {
            host.log(Level::Warn, &format!("edge-cors: could not set metric {id}: {e:?}"));
        }
    }
}
