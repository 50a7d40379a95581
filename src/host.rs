//! The proxy-wasm host: the core's host traits over `proxy_wasm::hostcalls`, and the root and
//! stream contexts, which forward every callback to `edge_cors_core::host`. No CORS rule and
//! no counting or logging policy lives here.
//!
//! Host calls go through `proxy_wasm::hostcalls` with every `Result` handled, never through
//! the SDK's trait helpers: `get_http_request_header` unwraps `String::from_utf8`, so one
//! invalid UTF-8 byte in a hostile `Origin` would panic the VM and take the filter down for
//! every request on the worker. Header bytes go to the core as they are; it reads them lossily.

use std::time::{Duration, UNIX_EPOCH};

use edge_cors_core::host::{Level, Root, RootHost, Stream, StreamHost, Verdict};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType, Status};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(RootContextImpl(Root::new())) });
}}

/// The host calls, made from whichever context is running.
struct ProxyWasm;

fn log(level: Level, message: &str) {
    let level = match level {
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    };
    // A log line that cannot be written has nowhere to be reported.
    let _ = hostcalls::log(level, message);
}

fn now() -> Option<Duration> {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
}

impl RootHost for ProxyWasm {
    type Error = Status;

    fn plugin_config(&self) -> Vec<u8> {
        hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn define_counter(&self, name: &str) -> Result<u32, Status> {
        hostcalls::define_metric(MetricType::Counter, name)
    }

    fn log(&self, level: Level, message: &str) {
        log(level, message);
    }

    fn set_tick_period(&self, period: Duration) -> Result<(), Status> {
        hostcalls::set_tick_period(period)
    }

    fn now(&self) -> Option<Duration> {
        now()
    }

    fn memory_pages(&self) -> Option<usize> {
        Some(core::arch::wasm32::memory_size::<0>())
    }
}

impl StreamHost for ProxyWasm {
    type Error = Status;

    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, Status> {
        hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
    }

    fn remove_request_header(&self, name: &str) -> Result<(), Status> {
        hostcalls::remove_map_value(MapType::HttpRequestHeaders, name)
    }

    fn response_header(&self, name: &str) -> Result<Option<Vec<u8>>, Status> {
        hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, name)
    }

    fn set_response_header(&self, name: &str, value: &str) -> Result<(), Status> {
        hostcalls::set_map_value(MapType::HttpResponseHeaders, name, Some(value))
    }

    fn remove_response_header(&self, name: &str) -> Result<(), Status> {
        hostcalls::remove_map_value(MapType::HttpResponseHeaders, name)
    }

    fn add_response_header(&self, name: &str, value: &str) -> Result<(), Status> {
        hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value)
    }

    /// proxy-wasm 0.2.5's `send_http_response` passes no details to the host: `details` is
    /// left out here.
    fn send_local_reply(&self, status: u16, headers: Vec<(&str, &str)>, _details: &str) -> Result<(), Status> {
        hostcalls::send_http_response(u32::from(status), headers, None)
    }

    fn increment_counter(&self, id: u32) -> Result<(), Status> {
        hostcalls::increment_metric(id, 1)
    }

    fn log(&self, level: Level, message: &str) {
        log(level, message);
    }

    fn now(&self) -> Option<Duration> {
        now()
    }
}

struct RootContextImpl(Root);

impl Context for RootContextImpl {}

impl RootContext for RootContextImpl {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.0.on_configure(&ProxyWasm)
    }

    fn on_tick(&mut self) {
        self.0.on_tick(&ProxyWasm);
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(StreamContext(self.0.new_stream())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct StreamContext(Stream);

impl Context for StreamContext {}

impl HttpContext for StreamContext {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match self.0.on_request_headers(&ProxyWasm) {
            Verdict::Continue => Action::Continue,
            Verdict::Pause => Action::Pause,
        }
    }

    /// After every stream, including preflights answered locally: samples the VM memory gauge.
    fn on_log(&mut self) {
        sample_vm_memory();
    }

    /// Runs for upstream responses and for local replies of filters after this one (an RBAC
    /// deny, an ext_authz 401), so the browser can read those too.
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.0.on_response_headers(&ProxyWasm);
        Action::Continue
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
        let metric = metric.or_else(|| hostcalls::define_metric(MetricType::Gauge, "edge_cors.vm_memory_bytes").ok());
        state.set((streams.wrapping_add(1), metric));
        if let (0, Some(id)) = (streams % EVERY, metric) {
            let bytes = core::arch::wasm32::memory_size(0) as u64 * PAGE;
            if let Err(status) = hostcalls::record_metric(id, bytes) {
                log(
                    Level::Warn,
                    &format!("edge-cors: could not record vm_memory_bytes: {status:?}"),
                );
            }
        }
    });
}
