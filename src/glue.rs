//! proxy-wasm glue: the only module that talks to Envoy. It reads request headers, calls
//! [`decide`], and applies the [`Decision`]. It holds no CORS rule of its own.
//!
//! Host calls go through `proxy_wasm::hostcalls` with every `Result` handled, never through
//! the SDK's trait helpers: `get_http_request_header` unwraps `String::from_utf8`, so one
//! invalid UTF-8 byte in a hostile `Origin` would panic the VM and take the filter down for
//! every request on the worker.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action as HostAction, ContextType, LogLevel, MapType, MetricType};

use crate::core::config::DEFAULT_REJECTION_LOG_INTERVAL_SECONDS;
use crate::core::decide::{Action, HeaderOp, ResponsePlan};
use crate::core::headers::ACAO;
use crate::core::metrics::{policy_metric_names, NO_POLICY_METRIC};
use crate::core::rejection_log::{self, escape_capped, Admit, RejectionLimiter, CAPACITY, MAX_LOGGED_VALUE};
use crate::core::{compile, decide, Config, Decision, RequestHeaders};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root {
            config: None,
            counters: Rc::new(Counters::default()),
            limiter: Rc::new(RefCell::new(RejectionLimiter::new(CAPACITY, DEFAULT_REJECTION_LOG_INTERVAL_SECONDS * 1000))),
            log_interval_seconds: DEFAULT_REJECTION_LOG_INTERVAL_SECONDS,
        })
    });
}}

struct Root {
    config: Option<Rc<Config>>,
    counters: Rc<Counters>,
    /// Recently logged origins of this worker, shared by its streams.
    limiter: Rc<RefCell<RejectionLimiter>>,
    log_interval_seconds: u64,
}

/// Metric ids, defined once at configuration: per policy `COUNTERS_PER_POLICY` ids in the
/// order of `Decision::counter_index` (`None` where the host refused a definition).
#[derive(Default)]
struct Counters {
    per_policy: Vec<Option<u32>>,
    no_policy: Option<u32>,
}

impl Counters {
    fn define(config: &Config) -> Counters {
        let define = |name: &str| match hostcalls::define_metric(MetricType::Counter, name) {
            Ok(id) => Some(id),
            Err(status) => {
                log::warn!("edge-cors: could not define metric {name}: {status:?}");
                None
            }
        };
        Counters {
            per_policy: config
                .policies
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

fn increment(id: Option<u32>) {
    if let Some(id) = id {
        if let Err(status) = hostcalls::increment_metric(id, 1) {
            log::warn!("edge-cors: could not increment metric {id}: {status:?}");
        }
    }
}

fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = hostcalls::get_buffer(proxy_wasm::types::BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let started = hostcalls::get_current_time().ok();
        match compile(&bytes) {
            Ok(config) => {
                // How long parsing and compiling took and how much linear memory the VM holds
                // afterwards: operators sizing large policies need both (and the benchmark
                // reads them from this line).
                // Integer microseconds: formatting an f64 would add ~25 KB of float code.
                let elapsed_us = started
                    .zip(hostcalls::get_current_time().ok())
                    .and_then(|(t0, t1)| t1.duration_since(t0).ok())
                    .map_or(0, |d| d.as_micros());
                let memory_pages = core::arch::wasm32::memory_size::<0>();
                let summary: Vec<String> = config
                    .policies
                    .iter()
                    .map(|p| {
                        format!(
                            "{} ({} origin entries, mode={}, enforce_percent={})",
                            p.name,
                            p.origin_entries(),
                            p.mode().as_str(),
                            p.enforce_percent()
                        )
                    })
                    .collect();
                log::info!(
                    "edge-cors: configured {} policies: {} in {elapsed_us} us, wasm memory {memory_pages} pages",
                    config.policies.len(),
                    summary.join(", ")
                );
                for warning in &config.warnings {
                    log::warn!("edge-cors: warning: {warning}");
                }
                if let Some(d) = &config.decision_header {
                    log::info!(
                        "edge-cors: x-edge-cors-decision enabled for requests carrying the token in {}",
                        d.token_header
                    );
                }
                self.counters = Rc::new(Counters::define(&config));
                self.log_interval_seconds = config.rejection_log_interval_seconds;
                let window = Duration::from_secs(self.log_interval_seconds);
                let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
                self.limiter = Rc::new(RefCell::new(RejectionLimiter::new(CAPACITY, window_ms)));
                self.config = Some(Rc::new(config));
                // The periodic summary of suppressed rejection lines.
                if let Err(status) = hostcalls::set_tick_period(window) {
                    log::warn!("edge-cors: no tick for the log summary: {status:?}");
                }
                true
            }
            Err(errors) => {
                // Returning false makes Envoy reject the filter configuration: it will not
                // start with a static config, and an ECDS update is refused.
                for line in errors.to_string().lines() {
                    log::error!("{line}");
                }
                false
            }
        }
    }

    fn on_tick(&mut self) {
        let Ok(mut limiter) = self.limiter.try_borrow_mut() else {
            return;
        };
        let (suppressed, origins) = limiter.take_suppressed(now_ms());
        if suppressed > 0 {
            log::warn!(
                "suppressed {suppressed} rejection log lines in the last {}s ({origins} origins logged recently)",
                self.log_interval_seconds
            );
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            config: self.config.clone(),
            counters: Rc::clone(&self.counters),
            limiter: Rc::clone(&self.limiter),
            plan: None,
            upstream_cors_counter: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    config: Option<Rc<Config>>,
    counters: Rc<Counters>,
    limiter: Rc<RefCell<RejectionLimiter>>,
    /// Counted on the response if the upstream set CORS headers itself.
    upstream_cors_counter: Option<u32>,
    /// What to do to the response; `None` when the filter stays out of it (no policy, or a
    /// preflight it answered itself, whose reply already carries every header).
    plan: Option<ResponsePlan>,
}

/// Request headers read from Envoy on demand.
struct HostRequest;

impl RequestHeaders for HostRequest {
    fn get(&self, name: &str) -> Option<String> {
        let bytes = hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
            .ok()
            .flatten()?;
        // Invalid UTF-8 becomes U+FFFD, which no origin, method or header name contains:
        // the request is then refused as malformed instead of crashing the VM.
        Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

impl Stream {
    /// One line per rejection, at most once per origin and window (see `rejection_log`).
    fn log_rejection(&self, decision: &Decision) {
        let raw = decision.origin.as_deref().unwrap_or("");
        let Ok(mut limiter) = self.limiter.try_borrow_mut() else {
            return;
        };
        if let Admit::Log { suppressed } = limiter.admit(raw, now_ms()) {
            // Escaping allocates: done for the lines written, not for the suppressed ones.
            let origin = escape_capped(raw, MAX_LOGGED_VALUE);
            if let Some(line) = rejection_log::line(decision, &origin, suppressed) {
                log::warn!("{line}");
            }
        }
    }
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> HostAction {
        let Some(config) = &self.config else {
            return HostAction::Continue;
        };
        let decision = decide(config, &HostRequest);
        // One increment per request, of an id computed at configuration time.
        increment(self.counters.id(decision.counter_index()));
        self.upstream_cors_counter = decision
            .upstream_cors_counter_index()
            .and_then(|i| self.counters.id(Some(i)));
        if decision.reason().is_some() {
            self.log_rejection(&decision);
        }
        if decision.token_header_present {
            if let Some(debug) = &config.decision_header {
                // The token is a secret: it must not reach the upstream (or its access logs).
                if let Err(status) = hostcalls::remove_map_value(MapType::HttpRequestHeaders, &debug.token_header) {
                    log::warn!("edge-cors: could not remove the token header: {status:?}");
                }
            }
        }
        match decision.action {
            Action::Untouched => HostAction::Continue,
            Action::Forward(plan) => {
                self.plan = (!plan.is_noop()).then_some(plan);
                HostAction::Continue
            }
            Action::Reply(reply) => {
                let headers: Vec<(&str, &str)> = reply.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                if let Err(status) = hostcalls::send_http_response(u32::from(reply.status), headers, None) {
                    log::error!("edge-cors: could not send the local reply: {status:?}");
                }
                HostAction::Pause
            }
        }
    }

    /// After every stream, including preflights answered locally: samples the VM memory gauge.
    fn on_log(&mut self) {
        sample_vm_memory();
    }

    /// Runs for upstream responses and for local replies of filters after this one (an RBAC
    /// deny, an ext_authz 401), so the browser can read those too.
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> HostAction {
        // Known absent from the response: its removal can be skipped (a removal is a host call).
        let mut acao_absent = false;
        if self.upstream_cors_counter.is_some() {
            // Read before the plan replaces it: did the upstream answer CORS too?
            match hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, ACAO) {
                Ok(Some(_)) => increment(self.upstream_cors_counter),
                Ok(None) => acao_absent = true,
                Err(_) => {}
            }
        }
        if let Some(plan) = &self.plan {
            plan.for_each_op(|op| {
                let result = match op {
                    HeaderOp::Remove(ACAO) if acao_absent => Ok(()),
                    HeaderOp::Set(name, value) => {
                        hostcalls::set_map_value(MapType::HttpResponseHeaders, name, Some(value))
                    }
                    HeaderOp::Remove(name) => hostcalls::remove_map_value(MapType::HttpResponseHeaders, name),
                    HeaderOp::Append(name, value) => {
                        hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value)
                    }
                };
                if let Err(status) = result {
                    log::warn!("edge-cors: could not change response header: {status:?}");
                }
            });
        }
        HostAction::Continue
    }
}

// ---- VM memory gauge: scripts/soak.sh reads it to show memory stays flat under load. ----

/// Publishes this VM's linear memory in bytes as the gauge `edge_cors.vm_memory_bytes` (Envoy
/// shows it as `wasmcustom.edge_cors.vm_memory_bytes`) on the first and every 1024th stream:
/// one host call per 1024 requests. Wasm memory only grows, so the gauge is a high-water mark
/// and any leak shows as growth.
fn sample_vm_memory() {
    use std::cell::Cell;
    const EVERY: u32 = 1024;
    const PAGE: u64 = 65536;
    thread_local! {
        static STATE: Cell<(u32, Option<u32>)> = const { Cell::new((0, None)) };
    }
    STATE.with(|state| {
        let (streams, metric) = state.get();
        let metric = metric.or_else(|| {
            hostcalls::define_metric(proxy_wasm::types::MetricType::Gauge, "edge_cors.vm_memory_bytes").ok()
        });
        state.set((streams.wrapping_add(1), metric));
        if let (0, Some(id)) = (streams % EVERY, metric) {
            let bytes = core::arch::wasm32::memory_size(0) as u64 * PAGE;
            if let Err(status) = hostcalls::record_metric(id, bytes) {
                log::warn!("edge-cors: could not record vm_memory_bytes: {status:?}");
            }
        }
    });
}
