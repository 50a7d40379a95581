//! Layer 4, the host-agnostic filter: what the filter reads, counts, logs, strips and replies,
//! through the few host calls of [`RootHost`] (configure time) and [`StreamHost`] (per
//! request). A host (proxy-wasm in the workspace root's `src/`, the Envoy dynamic module in
//! `crates/edge-cors-native`) implements the two traits and forwards its callbacks to [`Root`]
//! and [`Stream`]; `mock` (feature `test-support`) records every call, so the logic is tested
//! call by call.
//!
//! Threads: a proxy-wasm VM runs on one worker thread and has its own [`Root`]; a native module
//! has one [`Root`] for all worker threads ([`Root::with_workers`]). So a configured root is
//! `Send + Sync`: the compiled configuration and the counter ids are immutable once
//! configured, and the only mutable state, the rejection-log limiter, is kept per worker
//! ([`StreamHost::worker_index`]) behind a lock that only its own worker and the periodic
//! summary take.
//!
//! Every host call costs thousands of instructions in Envoy (a read that returns a value
//! about 10k): the calls made per request, their order and the ones skipped are part of the
//! design, and the benchmark counts them.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::config::compile::{compile, Config};
use crate::config::error::render_warnings;
use crate::config::summary::policy_list;
use crate::ops::decide::{decide, Action, Decision, ResponseEdit};
use crate::ops::metrics::{policy_metric_names, NO_POLICY_METRIC};
use crate::ops::rejection_log::{self, escape_capped, Admit, RejectionLimiter, CAPACITY, MAX_LOGGED_VALUE};
use crate::ops::rollout::Blocked;
use crate::rules::decide::{HeaderOp, Outcome, RequestHeaders};
use crate::rules::headers::ACAO;

#[cfg(feature = "test-support")]
pub mod mock;

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
    /// Define a counter named `name`; its id is what [`StreamHost::increment_counter`] takes.
    fn define_counter(&self, name: &str) -> Result<u32, Self::Error>;
    /// Write a log line.
    fn log(&self, level: Level, message: &str);
    /// Call [`Root::on_tick`] every `period`.
    fn set_tick_period(&self, period: Duration) -> Result<(), Self::Error>;
    /// The time since the Unix epoch, if the host can tell.
    fn now(&self) -> Option<Duration>;
    /// The size of the VM's linear memory in 64 KiB pages (for the load log line); `None` for
    /// a host without a VM.
    fn memory_pages(&self) -> Option<usize>;
}

/// The host calls of one request (a stream context).
pub trait StreamHost {
    /// How the host reports a failed call (printed with `{:?}` in the log).
    type Error: fmt::Debug;
    /// The value of request header `name` (lower-case; several lines comma-joined).
    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Remove request header `name` before the request goes upstream.
    fn remove_request_header(&self, name: &str) -> Result<(), Self::Error>;
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
    fn send_local_reply(&self, status: u16, headers: Vec<(&str, &str)>, details: &str) -> Result<(), Self::Error>;
    /// Add one to counter `id`.
    fn increment_counter(&self, id: u32) -> Result<(), Self::Error>;
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

/// Milliseconds since the epoch (0 when the host cannot tell).
fn millis(now: Option<Duration>) -> u64 {
    now.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Counter ids, defined once at configuration: per policy `COUNTERS_PER_POLICY` ids in the
/// order of `Decision::counter_index` (`None` where the host refused a definition).
#[derive(Debug, Default)]
struct Counters {
    per_policy: Vec<Option<u32>>,
    no_policy: Option<u32>,
}

impl Counters {
    fn define(config: &Config, host: &impl RootHost) -> Counters {
        let define = |name: &str| match host.define_counter(name) {
            Ok(id) => Some(id),
            Err(status) => {
                host.log(
                    Level::Warn,
                    &format!("edge-cors: could not define metric {name}: {status:?}"),
                );
                None
            }
        };
        Counters {
            per_policy: config
                .cors
                .list
                .iter()
                .flat_map(|p| policy_metric_names(&p.name))
                .map(|name| define(&name))
                .collect(),
            no_policy: define(NO_POLICY_METRIC),
        }
    }

    fn id(&self, index: Option<usize>) -> Option<u32> {
        match index {
            Some(i) => self.per_policy.get(i).copied().flatten(),
            None => self.no_policy,
        }
    }
}

/// A configured filter: what every stream of every worker reads. Never mutated after
/// configuration except through the per-worker limiters' locks.
#[derive(Debug)]
struct Shared {
    config: Config,
    counters: Counters,
    /// Recently logged origins, one table per worker ([`StreamHost::worker_index`]): a worker
    /// never waits for another, and the table's bound holds per worker as documented.
    limiters: Box<[Mutex<RejectionLimiter>]>,
    log_interval_seconds: u64,
}

impl Shared {
    fn new(config: Config, counters: Counters, workers: usize) -> Shared {
        let log_interval_seconds = config.rejection_log_interval_seconds;
        let window_ms = log_interval_seconds.saturating_mul(1000);
        Shared {
            config,
            counters,
            limiters: (0..workers.max(1))
                .map(|_| Mutex::new(RejectionLimiter::new(CAPACITY, window_ms)))
                .collect(),
            log_interval_seconds,
        }
    }

    /// The limiter of worker `index` (the first one for an index the root does not know).
    /// A panic while it was held (caught by a native host) leaves a table that is still
    /// consistent: every change to it is one map operation or one counter update.
    fn limiter(&self, index: usize) -> Option<MutexGuard<'_, RejectionLimiter>> {
        let slot = self.limiters.get(index).or_else(|| self.limiters.first())?;
        Some(slot.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The filter's root: the configured filter, shared by its streams.
#[derive(Debug)]
pub struct Root {
    shared: Option<Arc<Shared>>,
    workers: usize,
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
                    .map_or(0, |d| d.as_micros());
                let memory = host
                    .memory_pages()
                    .map_or(String::new(), |pages| format!(", wasm memory {pages} pages"));
                host.log(
                    Level::Info,
                    &format!(
                        "edge-cors: configured {} policies: {} in {elapsed_us} us{memory}",
                        config.policy_count(),
                        policy_list(&config),
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
                let counters = Counters::define(&config, host);
                let shared = Shared::new(config, counters, self.workers);
                let window = Duration::from_secs(shared.log_interval_seconds);
                self.shared = Some(Arc::new(shared));
                // The periodic summary of suppressed rejection lines.
                if let Err(status) = host.set_tick_period(window) {
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

    /// The periodic summary of the rejection log lines suppressed since the last one, over
    /// every worker of the root.
    pub fn on_tick(&self, host: &impl RootHost) {
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

    /// The state of a new request.
    pub fn new_stream(&self) -> Stream {
        Stream {
            shared: self.shared.clone(),
            edit: None,
            upstream_cors_counter: None,
        }
    }
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
        let bytes = self.0.request_header(name).ok().flatten()?;
        // Invalid UTF-8 becomes U+FFFD, which no origin, method or header name contains:
        // the request is then refused as malformed instead of crashing the VM.
        Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
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
        let decision = decide(config, &HostRequest(host));
        // One increment per request, of an id computed at configuration time.
        increment(host, shared.counters.id(decision.counter_index()));
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
                let headers: Vec<(&str, &str)> = reply.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                if let Err(status) = host.send_local_reply(reply.status, headers, details) {
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

/// The access-log details of a local reply: `edge_cors.preflight_allowed`, ...
fn reply_details(decision: &Decision) -> &'static str {
    match (decision.blocked, decision.outcome) {
        (Some(Blocked::UnsafeMethod), _) => "edge_cors.blocked_unsafe_method",
        (Some(Blocked::WebSocket), _) => "edge_cors.blocked_websocket",
        (None, Outcome::PreflightAllowed) => "edge_cors.preflight_allowed",
        (None, _) => "edge_cors.preflight_rejected",
    }
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
        if let Some(line) = rejection_log::line(decision, policy, &origin, suppressed) {
            host.log(Level::Warn, &line);
        }
    }
}
