//! Layer 4, the host-agnostic filter: what the filter reads, counts, logs, strips and replies,
//! through the few host calls of [`RootHost`] (configure time) and [`StreamHost`] (per
//! request). A host (proxy-wasm in the workspace root's `src/`, the Envoy dynamic module in
//! `crates/edge-cors-native`) implements the two traits and forwards its callbacks to [`Root`]
//! and [`Stream`]; `mock` (feature `test-support`) records every call, so the logic is tested
//! call by call.
//!
//! Threads: a proxy-wasm VM runs on one worker thread and has its own [`Root`]; a native module
//! has one [`Root`] for all worker threads ([`Root::with_workers`]). So a configured root is
//! `Send + Sync`: the compiled configuration and the metric ids are immutable once configured,
//! and the mutable state is locked: the rejection-log limiter is kept per worker
//! ([`StreamHost::worker_index`]) behind a lock that only its own worker and the periodic
//! summary take; the registry sources' lists are read-locked by requests and written by the
//! root's tick (a native host without registry calls has none).
//!
//! Every host call costs thousands of instructions in Envoy (a read that returns a value
//! about 10k): the calls made per request, their order and the ones skipped are part of the
//! design, and the benchmark counts them.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use crate::config::compile::{compile, Config};
use crate::config::error::render_warnings;
use crate::config::registry::describe;
use crate::config::summary::policy_list;
use crate::ops::decide::{decide_with, Action, Decision, ResponseEdit};
use crate::ops::metrics::{
    self, counter_at, decision_text, tagged_name, Family, CONFIG_LOADED, CONFIG_SHA256, CONFIG_VERSION,
    COUNTERS_PER_POLICY, DECISION_SLOTS, UNMATCHED_REQUESTS,
};
use crate::ops::rejection_log::{self, escape_capped, Admit, RejectionLimiter, CAPACITY, MAX_LOGGED_VALUE};
use crate::rules::decide::{HeaderOp, Outcome, RequestHeaders};
use crate::rules::headers::{ACAO, X_REQUEST_ID};

#[cfg(feature = "test-support")]
pub mod mock;
pub(crate) mod registry;

pub use registry::HostCallError;
use registry::{FetchedLists, Sources, TICK};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// What the filter loaded.
    Info,
    /// Something an operator should look at: a rejection, a host call that failed.
    Warn,
    /// The configuration was refused, or a reply could not be sent.
    Error,
}

/// What the host does with the request after the filter's request-headers callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on to the next filter (the request is forwarded).
    Continue,
    /// Stop: the filter answered locally.
    Pause,
}

/// The host calls of configuration time (the root context).
pub trait RootHost {
    /// How the host reports a failed call (printed with `{:?}` in the log).
    type Error: fmt::Debug;
    /// The plugin configuration bytes (empty when the host has none).
    fn plugin_config(&self) -> Vec<u8>;
    /// Define the counter of `family` with these label values (`(label name, value)` in the
    /// family's label order); its id is what [`StreamHost::increment_counter`] takes. A host
    /// with real labels uses them; one without renders a name (`crate::metrics::tagged_name`).
    fn define_counter(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, Self::Error>;
    /// Define the gauge of `family` with these label values, as [`RootHost::define_counter`].
    fn define_gauge(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, Self::Error>;
    /// Set gauge `id` to `value`.
    fn set_gauge(&self, id: u32, value: u64) -> Result<(), Self::Error>;
    /// Write a log line.
    fn log(&self, level: Level, message: &str);
    /// Call [`Root::on_tick`] every `period`.
    fn set_tick_period(&self, period: Duration) -> Result<(), Self::Error>;
    /// The time since the Unix epoch, if the host can tell.
    fn now(&self) -> Option<Duration>;
    /// The size of the VM's linear memory in 64 KiB pages (for the load log line); `None` for
    /// a host without a VM.
    fn memory_pages(&self) -> Option<usize>;

    // The calls of registry sources (`allow_origins_from`). A host without them keeps the
    // defaults: a policy with a source then serves as before its first load, and says so in
    // the log and its metrics.

    /// Add one to counter `id` from the root (a registry update is counted by the worker that
    /// fetched it, outside any request).
    fn count(&self, id: u32) -> Result<(), HostCallError> {
        let _ = id;
        Err(HostCallError::Unsupported)
    }
    /// Send an HTTP request to `cluster` (`headers` include `:method`, `:path`, `:authority`);
    /// the answer arrives through [`Root::on_http_call_response`] with the returned token.
    fn dispatch_http_call(
        &self,
        cluster: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<u32, HostCallError> {
        let _ = (cluster, headers, timeout);
        Err(HostCallError::Unsupported)
    }
    /// A header of the answer being delivered (`:status`, `etag`).
    fn http_call_response_header(&self, name: &str) -> Option<Vec<u8>> {
        let _ = name;
        None
    }
    /// `max` bytes of the body of the answer being delivered, from `start`.
    fn http_call_response_body(&self, start: usize, max: usize) -> Option<Vec<u8>> {
        let _ = (start, max);
        None
    }
    /// The value at `key` in the data every VM of this plugin shares, with its
    /// compare-and-swap token; `Ok(None)` when there is none.
    fn shared_data(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, HostCallError> {
        let _ = key;
        Err(HostCallError::Unsupported)
    }
    /// Write `value` at `key` if its token is still `cas` (`None`: unconditionally). `Ok(false)`:
    /// another VM wrote it since it was read.
    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, HostCallError> {
        let _ = (key, value, cas);
        Err(HostCallError::Unsupported)
    }
    /// A random number (the jitter of refreshes, this worker's token). The default, for a
    /// host without randomness, mixes the clock's nanoseconds.
    fn random_u64(&self) -> u64 {
        let nanos = self.now().map_or(0, |d| d.subsec_nanos());
        crate::rules::hash::mix64(u64::from(nanos) ^ 0x9e37_79b9_7f4a_7c15)
    }
}

/// The host calls of one request (a stream context).
pub trait StreamHost {
    /// How the host reports a failed call (printed with `{:?}` in the log).
    type Error: fmt::Debug;
    /// The value of request header `name` (lower-case; several lines comma-joined).
    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// `f` of the value of request header `name`, as [`StreamHost::request_header`] reads it:
    /// for a header only tested (present, equal to a constant), which a host holding the
    /// request's headers answers without copying the value.
    fn with_request_header<R>(&self, name: &str, f: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, Self::Error> {
        let value = self.request_header(name)?;
        Ok(f(value.as_deref()))
    }
    /// Remove request header `name` before the request goes upstream.
    fn remove_request_header(&self, name: &str) -> Result<(), Self::Error>;
    /// The `name` of the route the router matched for this request (Envoy's `xds.route_name`
    /// property); `None` when no route matched. Read only when some policy is bound to route
    /// names, and at most once per request.
    fn route_name(&self) -> Result<Option<Vec<u8>>, Self::Error>;
    /// The value of response header `name`.
    fn response_header(&self, name: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Replace every value of response header `name` with `value`.
    fn set_response_header(&self, name: &str, value: &str) -> Result<(), Self::Error>;
    /// Remove every value of response header `name`.
    fn remove_response_header(&self, name: &str) -> Result<(), Self::Error>;
    /// Add one more line of response header `name`.
    fn add_response_header(&self, name: &str, value: &str) -> Result<(), Self::Error>;
    /// Answer the request locally with `status` and `headers` and no body; `details` names the
    /// reason for the host's access log (`edge_cors.preflight_allowed`, ...).
    fn send_local_reply(&self, status: u16, headers: &[(&str, &str)], details: &str) -> Result<(), Self::Error>;
    /// Add one to counter `id`.
    fn increment_counter(&self, id: u32) -> Result<(), Self::Error>;
    /// Attach `value` to the request under `key`, for the host's access logs and tracing
    /// (Envoy: filter state `wasm.<key>`, `%FILTER_STATE(wasm.<key>:PLAIN)%`).
    fn set_filter_state(&self, key: &str, value: &str) -> Result<(), Self::Error>;
    /// Write a log line.
    fn log(&self, level: Level, message: &str);
    /// The time since the Unix epoch, if the host can tell.
    fn now(&self) -> Option<Duration>;
    /// Which of the root's workers ([`Root::with_workers`]) runs this stream: it picks the
    /// rejection-log limiter, and is asked only when a rejection is about to be logged. A host
    /// with one root per worker (proxy-wasm) keeps the default, 0.
    fn worker_index(&self) -> usize {
        0
    }
}

/// `, wasm memory N pages` for the log lines of a host with a VM, nothing otherwise.
pub(crate) fn memory_note(host: &impl RootHost) -> String {
    host.memory_pages()
        .map_or(String::new(), |pages| format!(", wasm memory {pages} pages"))
}

/// Milliseconds since the epoch (0 when the host cannot tell).
pub(crate) fn millis(now: Option<Duration>) -> u64 {
    now.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Room for the header lines of a local reply on the stack: an allowed preflight's answer has
/// at most nine (seven CORS lines and the debug header's two), a host may add one (`:status`).
pub const REPLY_LINES: usize = 12;

/// Call `f` with the items as one slice, held in an array on the stack when there are at most
/// `N` (and in a vector otherwise): passing a reply's few header lines to the host then costs
/// no allocation.
pub fn on_stack<T: Copy, R, const N: usize>(
    mut items: impl Iterator<Item = T>,
    blank: T,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    let mut inline = [blank; N];
    let mut len = 0;
    for slot in inline.iter_mut() {
        match items.next() {
            Some(item) => {
                *slot = item;
                len += 1;
            }
            None => return f(inline.get_mut(..len).unwrap_or_default()),
        }
    }
    match items.next() {
        None => f(&mut inline),
        Some(next) => {
            let mut spilled = inline.to_vec();
            spilled.push(next);
            spilled.extend(items);
            f(&mut spilled)
        }
    }
}

/// Where a decision is left for access logs and tracing (Envoy: `wasm.edge_cors`).
pub const FILTER_STATE_KEY: &str = "edge_cors";

/// Counter ids, defined once at configuration: per policy `COUNTERS_PER_POLICY` ids in the
/// order of `Decision::counter_index` (`None` where the host refused a definition).
#[derive(Debug, Default)]
struct Counters {
    per_policy: Vec<Option<u32>>,
    unmatched: Option<u32>,
}

/// Define one metric, logging a refusal (a request then counts nothing there).
pub(super) fn define(host: &impl RootHost, family: &Family, labels: &[(&str, &str)]) -> Option<u32> {
    let defined = match family.metric_type {
        metrics::MetricType::Counter => host.define_counter(family, labels),
        metrics::MetricType::Gauge => host.define_gauge(family, labels),
    };
    match defined {
        Ok(id) => Some(id),
        Err(status) => {
            host.log(
                Level::Warn,
                &format!(
                    "edge-cors: could not define metric {}: {status:?}",
                    tagged_name(family.name, labels)
                ),
            );
            None
        }
    }
}

impl Counters {
    fn define(config: &Config, host: &impl RootHost) -> Counters {
        let mut per_policy = Vec::with_capacity(config.cors.list.len() * COUNTERS_PER_POLICY);
        for policy in &config.cors.list {
            for offset in 0..COUNTERS_PER_POLICY {
                let id =
                    counter_at(&policy.name, offset).and_then(|(family, labels)| define(host, family, labels.pairs()));
                per_policy.push(id);
            }
        }
        Counters {
            per_policy,
            unmatched: define(host, &UNMATCHED_REQUESTS, &[]),
        }
    }

    fn id(&self, index: Option<usize>) -> Option<u32> {
        match index {
            Some(i) => self.per_policy.get(i).copied().flatten(),
            None => self.unmatched,
        }
    }
}

/// The filter-state text of every decision slot, per policy and mode, in the order of the
/// counters (built once: a request only looks its text up).
fn decision_texts(config: &Config) -> Vec<Box<str>> {
    let mut texts = Vec::with_capacity(config.cors.list.len() * 2 * DECISION_SLOTS.len());
    for policy in &config.cors.list {
        for enforced in [true, false] {
            for slot in 0..DECISION_SLOTS.len() {
                texts.push(decision_text(&policy.name, slot, enforced).unwrap_or_default().into());
            }
        }
    }
    texts
}

/// A configured filter: what every stream of every worker reads. Never mutated after
/// configuration except through its locks.
#[derive(Debug)]
struct Shared {
    config: Config,
    counters: Counters,
    /// See [`decision_texts`].
    texts: Vec<Box<str>>,
    /// Recently logged origins, one table per worker ([`StreamHost::worker_index`]): a worker
    /// never waits for another, and the table's bound holds per worker as documented.
    limiters: Box<[Mutex<RejectionLimiter>]>,
    log_interval_seconds: u64,
    /// The lists the registry sources serve; `None` without sources, so a request takes no
    /// lock then.
    fetched: Option<RwLock<FetchedLists>>,
}

impl Shared {
    fn new(config: Config, counters: Counters, workers: usize, fetched: Option<FetchedLists>) -> Shared {
        let log_interval_seconds = config.rejection_log_interval_seconds;
        let window_ms = log_interval_seconds.saturating_mul(1000);
        Shared {
            texts: decision_texts(&config),
            config,
            counters,
            limiters: (0..workers.max(1))
                .map(|_| Mutex::new(RejectionLimiter::new(CAPACITY, window_ms)))
                .collect(),
            log_interval_seconds,
            fetched: fetched.map(RwLock::new),
        }
    }

    /// The limiter of worker `index` (the first one for an index the root does not know).
    /// A panic while it was held (caught by a native host) leaves a table that is still
    /// consistent: every change to it is one map operation or one counter update.
    fn limiter(&self, index: usize) -> Option<MutexGuard<'_, RejectionLimiter>> {
        let slot = self.limiters.get(index).or_else(|| self.limiters.first())?;
        Some(slot.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The filter-state text of a decision a policy made.
    fn text(&self, decision: &Decision) -> Option<&str> {
        let slot = metrics::decision_slot(decision.outcome, decision.blocked)?;
        let mode = usize::from(!decision.enforced);
        let index = (decision.policy? * 2 + mode) * DECISION_SLOTS.len() + slot;
        self.texts.get(index).map(|t| &**t)
    }
}

/// The filter's root: the configured filter, shared by its streams, and the registry sources
/// its tick drives.
#[derive(Debug)]
pub struct Root {
    shared: Option<Arc<Shared>>,
    workers: usize,
    /// The registry sources, when the configuration has some (locked only so a root can be
    /// shared by threads: the `&mut self` callbacks reach it without locking).
    sources: Option<Mutex<Sources>>,
    /// Ticks since the last summary of suppressed rejection lines, and how many make its
    /// interval (1 without sources, whose tick is the interval itself).
    ticks: u64,
    ticks_per_summary: u64,
}

impl Default for Root {
    fn default() -> Self {
        Root::new()
    }
}

impl Root {
    /// A root without configuration, for one worker: its streams leave every request alone.
    pub fn new() -> Root {
        Root::with_workers(1)
    }

    /// A root whose streams run on `workers` threads, each with its own rejection-log limiter
    /// ([`StreamHost::worker_index`]).
    pub fn with_workers(workers: usize) -> Root {
        Root {
            shared: None,
            workers: workers.max(1),
            sources: None,
            ticks: 0,
            ticks_per_summary: 1,
        }
    }

    /// Read and compile the plugin configuration. `false` (every error logged) makes the host
    /// refuse it: Envoy will not start with a static config, and an ECDS update is refused.
    pub fn on_configure(&mut self, host: &impl RootHost) -> bool {
        let bytes = host.plugin_config();
        let started = host.now();
        match compile(&bytes) {
            Ok(config) => {
                // How long parsing and compiling took and how much linear memory the VM holds
                // afterwards: operators sizing large policies need both (and the benchmark
                // reads them from this line).
                let elapsed_us = started
                    .zip(host.now())
                    .and_then(|(t0, t1)| t1.checked_sub(t0))
                    // As u64: formatting a u128 (what as_micros returns) links 1.4 KB of code.
                    .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
                host.log(
                    Level::Info,
                    &format!(
                        "edge-cors: configured {} policies: {} in {elapsed_us} us{}, config {}",
                        config.policy_count(),
                        policy_list(&config),
                        memory_note(host),
                        config.identity().describe()
                    ),
                );
                for line in render_warnings("edge-cors: ", config.warnings()).lines() {
                    host.log(Level::Warn, line);
                }
                if let Some(d) = &config.decision_header {
                    host.log(
                        Level::Info,
                        &format!(
                            "edge-cors: x-edge-cors-decision enabled for requests carrying the token in {}",
                            d.token_header
                        ),
                    );
                }
                let window = Duration::from_secs(config.rejection_log_interval_seconds);
                let (sources, fetched) = match Sources::new(&config, host, millis(Some(window))) {
                    Some((sources, fetched)) => (Some(Mutex::new(sources)), Some(fetched)),
                    None => (None, None),
                };
                for (i, source) in config.sources.iter().enumerate() {
                    if let (Some(source), Some(name)) = (source, config.policy_name(i)) {
                        host.log(
                            Level::Info,
                            &format!("edge-cors: policy {name}: origins also from {}", describe(source)),
                        );
                    }
                }
                let counters = Counters::define(&config, host);
                publish_identity(&config, host);
                self.shared = Some(Arc::new(Shared::new(config, counters, self.workers, fetched)));
                // The periodic summary of suppressed rejection lines and, with registry
                // sources, their fetches on a shorter tick.
                let tick = if sources.is_some() { TICK } else { window };
                self.ticks_per_summary = (millis(Some(window)) / millis(Some(tick)).max(1)).max(1);
                self.ticks = 0;
                self.sources = sources;
                if let Err(status) = host.set_tick_period(tick) {
                    host.log(
                        Level::Warn,
                        &format!("edge-cors: no tick for the log summary: {status:?}"),
                    );
                }
                true
            }
            Err(errors) => {
                for line in errors.to_string().lines() {
                    host.log(Level::Error, line);
                }
                false
            }
        }
    }

    /// Every tick: the registry sources' work, and at its interval the summary of the
    /// rejection log lines suppressed since the last one.
    pub fn on_tick(&mut self, host: &impl RootHost) {
        if let (Some(sources), Some(fetched)) = (&mut self.sources, fetched(&self.shared)) {
            sources
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .on_tick(host, fetched);
        }
        self.ticks += 1;
        if self.ticks < self.ticks_per_summary {
            return;
        }
        self.ticks = 0;
        self.summarize(host);
    }

    /// How often [`Root::summarize`] should run (the rejection-log interval), once configured:
    /// for a host that calls it from a timer of its own rather than through [`Root::on_tick`],
    /// whose tick is shorter when the configuration has registry sources.
    pub fn summary_interval(&self) -> Option<Duration> {
        self.shared
            .as_ref()
            .map(|shared| Duration::from_secs(shared.log_interval_seconds))
    }

    /// The summary of the rejection log lines suppressed since the last one, over every
    /// worker of the root: [`Root::on_tick`] calls it at its interval; a host whose root is
    /// shared by threads (and so not `&mut`) calls it every rejection-log interval itself.
    pub fn summarize(&self, host: &impl RootHost) {
        let Some(shared) = &self.shared else {
            return;
        };
        let now = millis(host.now());
        let (mut suppressed, mut origins) = (0u64, 0usize);
        for index in 0..shared.limiters.len() {
            if let Some(mut limiter) = shared.limiter(index) {
                let (s, o) = limiter.take_suppressed(now);
                suppressed = suppressed.saturating_add(s);
                origins = origins.saturating_add(o);
            }
        }
        if suppressed > 0 {
            host.log(
                Level::Warn,
                &format!(
                    "suppressed {suppressed} rejection log lines in the last {}s ({origins} origins logged recently)",
                    shared.log_interval_seconds
                ),
            );
        }
    }

    /// The answer to an HTTP callout (`token`, as [`RootHost::dispatch_http_call`] returned
    /// it) arrived with `headers` header lines and a body of `body_size` bytes; read it through
    /// the `http_call_response_*` calls while this runs. No header lines: the callout failed
    /// without an answer (reset, or Envoy's response buffer limit), and nothing is read: the
    /// proxy-wasm SDK panics when it reads the headers of an answer that does not exist.
    pub fn on_http_call_response(&mut self, host: &impl RootHost, token: u32, headers: usize, body_size: usize) {
        if let (Some(sources), Some(fetched)) = (&mut self.sources, fetched(&self.shared)) {
            sources
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .on_http_call_response(host, token, headers, body_size, fetched);
        }
    }

    /// The state of a new request.
    pub fn new_stream(&self) -> Stream {
        Stream {
            shared: self.shared.clone(),
            edit: None,
            upstream_cors_counter: None,
        }
    }
}

/// The registry sources' lists of a configured filter (`None` without sources).
fn fetched(shared: &Option<Arc<Shared>>) -> Option<&RwLock<FetchedLists>> {
    shared.as_deref().and_then(|s| s.fetched.as_ref())
}

/// One request.
#[derive(Debug)]
pub struct Stream {
    shared: Option<Arc<Shared>>,
    /// Counted on the response if the upstream set CORS headers itself.
    upstream_cors_counter: Option<u32>,
    /// What to do to the response; `None` when the filter stays out of it (no policy, or a
    /// preflight it answered itself, whose reply already carries every header).
    edit: Option<ResponseEdit>,
}

/// Request headers read from the host on demand.
struct HostRequest<'h, H>(&'h H);

impl<H: StreamHost> RequestHeaders for HostRequest<'_, H> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.request_header(name).ok().flatten().map(lossy)
    }

    fn route_name(&self) -> Option<String> {
        self.0.route_name().ok().flatten().map(lossy)
    }

    fn has(&self, name: &str) -> bool {
        matches!(self.0.with_request_header(name, |v| v.is_some()), Ok(true))
    }

    /// Bytes compared: invalid UTF-8 never equals a `&str`, as its lossy conversion
    /// (with U+FFFD) never does.
    fn is(&self, name: &str, value: &str) -> bool {
        matches!(
            self.0.with_request_header(name, |v| v == Some(value.as_bytes())),
            Ok(true)
        )
    }
}

/// Invalid UTF-8 becomes U+FFFD, which no origin, method, header or route name contains: the
/// request is then refused as malformed (or matches no route-bound policy) instead of crashing
/// the VM.
fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The configuration's identity as a metric: the gauge of its SHA-256 and version holds the
/// time it was last loaded, in milliseconds since the epoch. A proxy serves the identity with the
/// latest time: a replaced configuration keeps its older time (a host may keep the replaced
/// configuration's root alive, Envoy does on its main thread, so a count of roots would
/// never drop to 0), and loading it again makes it the latest.
fn publish_identity(config: &Config, host: &impl RootHost) {
    let identity = config.identity();
    let labels = [
        (CONFIG_SHA256, identity.sha256.as_str()),
        (CONFIG_VERSION, identity.version.as_deref().unwrap_or("")),
    ];
    let Some(id) = define(host, &CONFIG_LOADED, &labels) else {
        return;
    };
    if let Err(status) = host.set_gauge(id, millis(host.now())) {
        host.log(
            Level::Warn,
            &format!("edge-cors: could not set the configuration's gauge: {status:?}"),
        );
    }
}

fn increment(host: &impl StreamHost, id: Option<u32>) {
    if let Some(id) = id {
        if let Err(status) = host.increment_counter(id) {
            host.log(
                Level::Warn,
                &format!("edge-cors: could not increment metric {id}: {status:?}"),
            );
        }
    }
}

impl Stream {
    /// The request headers arrived: decide, count, log, strip the token, reply or forward.
    pub fn on_request_headers(&mut self, host: &impl StreamHost) -> Verdict {
        let Some(shared) = &self.shared else {
            return Verdict::Continue;
        };
        let config = &shared.config;
        // One instance of the decision in the module: with the fetched lists (empty without
        // sources, and then no lock is taken).
        let none = FetchedLists::default();
        let fetched = shared
            .fetched
            .as_ref()
            .map(|lists| lists.read().unwrap_or_else(PoisonError::into_inner));
        let decision = decide_with(config, fetched.as_deref().unwrap_or(&none), &HostRequest(host));
        drop(fetched);
        // One increment per request, of an id computed at configuration time (a credentialed
        // request also counts under its own family).
        increment(host, shared.counters.id(decision.counter_index()));
        if let Some(index) = decision.credentialed_counter_index() {
            increment(host, shared.counters.id(Some(index)));
        }
        // Not a CORS request (no Origin): nothing for an access log to explain, and the host
        // call is most of what such a request costs.
        let cors = decision.outcome != Outcome::NotCors;
        if let Some(text) = shared.text(&decision).filter(|_| cors) {
            if let Err(status) = host.set_filter_state(FILTER_STATE_KEY, text) {
                host.log(
                    Level::Warn,
                    &format!("edge-cors: could not set the filter state: {status:?}"),
                );
            }
        }
        self.upstream_cors_counter = decision
            .upstream_cors_counter_index()
            .and_then(|i| shared.counters.id(Some(i)));
        if decision.reason().is_some() {
            log_rejection(shared, &decision, host);
        }
        if decision.token_header_present {
            if let Some(debug) = &config.decision_header {
                // The token is a secret: it must not reach the upstream (or its access logs).
                if let Err(status) = host.remove_request_header(&debug.token_header) {
                    host.log(
                        Level::Warn,
                        &format!("edge-cors: could not remove the token header: {status:?}"),
                    );
                }
            }
        }
        let details = reply_details(&decision);
        match decision.action {
            Action::Untouched => Verdict::Continue,
            Action::Forward(edit) => {
                self.edit = (!edit.is_noop()).then_some(edit);
                Verdict::Continue
            }
            Action::Reply(reply) => {
                let lines = reply.headers.iter().map(|(n, v)| (*n, v.as_str()));
                let sent = on_stack::<_, _, REPLY_LINES>(lines, ("", ""), |headers| {
                    host.send_local_reply(reply.status, headers, details)
                });
                if let Err(status) = sent {
                    host.log(
                        Level::Error,
                        &format!("edge-cors: could not send the local reply: {status:?}"),
                    );
                }
                Verdict::Pause
            }
        }
    }

    /// The response headers arrived (from the upstream, or a local reply of a filter after this
    /// one: an RBAC deny, an ext_authz 401, so the browser can read those too).
    pub fn on_response_headers(&mut self, host: &impl StreamHost) {
        // Known absent from the response: its removal can be skipped (a removal is a host call).
        let mut acao_absent = false;
        if self.upstream_cors_counter.is_some() {
            // Read before the edit replaces it: did the upstream answer CORS too?
            match host.response_header(ACAO) {
                Ok(Some(_)) => increment(host, self.upstream_cors_counter),
                Ok(None) => acao_absent = true,
                Err(_) => {}
            }
        }
        if let Some(edit) = &self.edit {
            edit.for_each_op(|op| {
                let result = match op {
                    HeaderOp::Remove(ACAO) if acao_absent => Ok(()),
                    HeaderOp::Set(name, value) => host.set_response_header(name, value),
                    HeaderOp::Remove(name) => host.remove_response_header(name),
                    HeaderOp::Append(name, value) => host.add_response_header(name, value),
                };
                if let Err(status) = result {
                    host.log(
                        Level::Warn,
                        &format!("edge-cors: could not change response header: {status:?}"),
                    );
                }
            });
        }
    }
}

/// The access-log details of a local reply (Envoy's `%RESPONSE_CODE_DETAILS%`), naming
/// edge-cors and the reason: `edge_cors.preflight_rejected.origin`, ...
fn reply_details(decision: &Decision) -> &'static str {
    metrics::decision_slot(decision.outcome, decision.blocked)
        .and_then(|slot| DECISION_SLOTS.get(slot))
        .and_then(|slot| slot.details)
        .unwrap_or("edge_cors")
}

/// One line per rejection, at most once per origin and window (see `rejection_log`).
fn log_rejection(shared: &Shared, decision: &Decision, host: &impl StreamHost) {
    let raw = decision.origin.as_deref().unwrap_or("");
    let Some(mut limiter) = shared.limiter(host.worker_index()) else {
        return;
    };
    let admit = limiter.admit(raw, millis(host.now()));
    // The line is written after the lock is released: a host's log call may be slow.
    drop(limiter);
    if let Admit::Log { suppressed } = admit {
        // Escaping allocates: done for the lines written, not for the suppressed ones.
        let origin = escape_capped(raw, MAX_LOGGED_VALUE);
        let policy = decision
            .policy
            .and_then(|i| shared.config.cors.list.get(i))
            .map_or("", |p| &*p.name);
        // Read only for the lines written: it joins the line with access logs and traces.
        let request_id = HostRequest(host).get(X_REQUEST_ID);
        if let Some(line) = rejection_log::line(decision, policy, &origin, request_id.as_deref(), suppressed) {
            host.log(Level::Warn, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::on_stack;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn items_are_passed_as_one_slice_in_order_whether_they_fit_the_stack_or_not() {
        for count in [0, 1, 3, 4, 9] {
            let items: Vec<u32> = (1..=count).collect();
            let seen = on_stack::<_, _, 4>(items.iter().copied(), 0, |slice| slice.to_vec());
            assert_eq!(seen, items, "{count} items");
        }
    }
}
