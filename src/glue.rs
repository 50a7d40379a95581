//! proxy-wasm glue: the only module that talks to Envoy. It reads request headers, calls
//! [`decide`], and applies the [`Decision`]. It holds no CORS rule of its own.
//!
//! Host calls go through `proxy_wasm::hostcalls` with every `Result` handled, never through
//! the SDK's trait helpers: `get_http_request_header` unwraps `String::from_utf8`, so one
//! invalid UTF-8 byte in a hostile `Origin` would panic the VM and take the filter down for
//! every request on the worker.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action as HostAction, ContextType, LogLevel, MapType};

use crate::core::decide::{Action, HeaderOp, ResponsePlan};
use crate::core::{compile, decide, Config, RequestHeaders};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { config: None }) });
}}

struct Root {
    config: Option<Rc<Config>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = hostcalls::get_buffer(proxy_wasm::types::BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        match compile(&bytes) {
            Ok(config) => {
                let summary: Vec<String> = config
                    .policies
                    .iter()
                    .map(|p| format!("{} ({} origin entries)", p.name, p.origin_entries()))
                    .collect();
                log::info!(
                    "edge-cors: configured {} policies: {}",
                    config.policies.len(),
                    summary.join(", ")
                );
                self.config = Some(Rc::new(config));
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

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            config: self.config.clone(),
            plan: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Stream {
    config: Option<Rc<Config>>,
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

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> HostAction {
        let Some(config) = &self.config else {
            return HostAction::Continue;
        };
        let decision = decide(config, &HostRequest);
        match decision.action {
            Action::Untouched => HostAction::Continue,
            Action::Forward(plan) => {
                self.plan = (!plan.is_noop()).then_some(plan);
                HostAction::Continue
            }
            Action::Reply(reply) => {
                let headers: Vec<(&str, &str)> = reply.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                if let Err(status) = hostcalls::send_http_response(u32::from(reply.status), headers, None) {
                    log::error!("edge-cors: could not send the preflight reply: {status:?}");
                }
                HostAction::Pause
            }
        }
    }

    /// After every stream, including preflights answered locally (issue 5: soak memory).
    fn on_log(&mut self) {
        sample_vm_memory();
    }

    /// Runs for upstream responses and for local replies of filters after this one (an RBAC
    /// deny, an ext_authz 401), so the browser can read those too.
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> HostAction {
        if let Some(plan) = &self.plan {
            plan.for_each_op(|op| {
                let result = match op {
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

// ---- VM memory gauge (issue 5): scripts/soak.sh reads it to show memory stays flat. ----

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
