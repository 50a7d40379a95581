//! The proxy-wasm host: the core's host traits over `proxy_wasm::hostcalls`, and the root and
//! stream contexts, which forward every callback to `edge_cors_core::host`. No CORS rule and
//! no counting or logging policy lives here.
//!
//! Host calls go through `proxy_wasm::hostcalls` with every `Result` handled, never through
//! the SDK's trait helpers: `get_http_request_header` unwraps `String::from_utf8`, so one
//! invalid UTF-8 byte in a hostile `Origin` would panic the VM and take the filter down for
//! every request on the worker. Header bytes go to the core as they are; it reads them lossily.

use std::time::{Duration, UNIX_EPOCH};

use edge_cors_core::host::{HostCallError, Level, Root, RootHost, Stream, StreamHost, Verdict};
use edge_cors_core::metrics::{tagged_name, Family, VM_MEMORY_BYTES};
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

    /// Envoy's wasm metrics are plain names: the labels go into the name, in the form the
    /// tag rules of the shipped bootstraps and Istio's `extraStatTags` turn back into labels.
    fn define_counter(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, Status> {
        hostcalls::define_metric(MetricType::Counter, &tagged_name(family.name, labels))
    }

    fn define_gauge(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, Status> {
        hostcalls::define_metric(MetricType::Gauge, &tagged_name(family.name, labels))
    }

    fn set_gauge(&self, id: u32, value: u64) -> Result<(), Status> {
        hostcalls::record_metric(id, value)
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

    fn count(&self, id: u32) -> Result<(), HostCallError> {
        hostcalls::increment_metric(id, 1).map_err(failed)
    }

    fn dispatch_http_call(
        &self,
        cluster: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<u32, HostCallError> {
        hostcalls::dispatch_http_call(cluster, headers.to_vec(), None, Vec::new(), timeout).map_err(failed)
    }

    fn http_call_response_header(&self, name: &str) -> Option<Vec<u8>> {
        hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, name)
            .ok()
            .flatten()
    }

    fn http_call_response_body(&self, start: usize, max: usize) -> Option<Vec<u8>> {
        hostcalls::get_buffer(BufferType::HttpCallResponseBody, start, max)
            .ok()
            .flatten()
    }

    #[cfg(not(feature = "per-worker-registry"))]
    fn shared_data(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, HostCallError> {
        match hostcalls::get_shared_data(key).map_err(failed)? {
            (Some(value), Some(cas)) => Ok(Some((value, cas))),
            (Some(value), None) => Ok(Some((value, 0))),
            (None, _) => Ok(None),
        }
    }

    #[cfg(not(feature = "per-worker-registry"))]
    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, HostCallError> {
        match hostcalls::set_shared_data(key, Some(value), cas) {
            Ok(()) => Ok(true),
            Err(Status::CasMismatch) => Ok(false),
            Err(status) => Err(failed(status)),
        }
    }

    fn random_u64(&self) -> u64 {
        // Without randomness the default mixes the clock, which still spreads a fleet.
        getrandom::u64().unwrap_or_else(|_| now().map_or(0, |d| d.subsec_nanos().into()))
    }
}

fn failed(status: Status) -> HostCallError {
    HostCallError::Failed(format!("{status:?}"))
}

impl StreamHost for ProxyWasm {
    type Error = Status;

    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, Status> {
        hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
    }

    fn remove_request_header(&self, name: &str) -> Result<(), Status> {
        hostcalls::remove_map_value(MapType::HttpRequestHeaders, name)
    }

    /// Envoy's `xds.route_name` attribute: the `name` of the route its router matched.
    fn route_name(&self) -> Result<Option<Vec<u8>>, Status> {
        hostcalls::get_property(vec!["xds", "route_name"])
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

    /// Through `abi::send_local_response`: proxy-wasm 0.2.5's `send_http_response` passes no
    /// details to the host.
    fn send_local_reply(&self, status: u16, headers: &[(&str, &str)], details: &str) -> Result<(), Status> {
        abi::send_local_response(u32::from(status), details, headers)
    }

    fn increment_counter(&self, id: u32) -> Result<(), Status> {
        hostcalls::increment_metric(id, 1)
    }

    fn set_filter_state(&self, key: &str, value: &str) -> Result<(), Status> {
        abi::set_property(key, value.as_bytes())
    }

    fn log(&self, level: Level, message: &str) {
        log(level, message);
    }

    fn now(&self) -> Option<Duration> {
        now()
    }
}

struct RootContextImpl(Root);

impl Context for RootContextImpl {
    context_helpers!();

    /// The answer to a registry callout.
    fn on_http_call_response(&mut self, token_id: u32, num_headers: usize, body_size: usize, _num_trailers: usize) {
        self.0
            .on_http_call_response(&ProxyWasm, token_id, num_headers, body_size);
    }
}

impl RootContext for RootContextImpl {
    root_context_helpers!();

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

impl Context for StreamContext {
    context_helpers!();
}

impl HttpContext for StreamContext {
    http_context_helpers!();

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

/// Publishes this VM's linear memory in bytes as the gauge `edge_cors_vm_memory_bytes` (Envoy
/// shows it as `wasmcustom.edge_cors_vm_memory_bytes`) on the first and every 1024th stream:
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
        let metric = metric.or_else(|| hostcalls::define_metric(MetricType::Gauge, VM_MEMORY_BYTES.name).ok());
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

// ---- Host calls proxy-wasm 0.2.5 wraps without what edge-cors needs, or with a panic. ----

/// Direct declarations of two proxy-wasm ABI (0.2.1) host functions: the SDK's
/// `send_http_response` always passes empty details, and both of its wrappers panic on a
/// status other than `Ok`, which would take the VM down. The status comes back as a plain
/// `u32` (any value the host returns is valid here) and maps to a `Status` by value.
mod abi {
    use proxy_wasm::types::Status;

    #[allow(clashing_extern_declarations)]
    #[link(wasm_import_module = "env")]
    extern "C" {
        fn proxy_send_local_response(
            status_code: u32,
            details_data: *const u8,
            details_size: usize,
            body_data: *const u8,
            body_size: usize,
            headers_data: *const u8,
            headers_size: usize,
            grpc_status: i32,
        ) -> u32;
        fn proxy_set_property(path_data: *const u8, path_size: usize, value_data: *const u8, value_size: usize) -> u32;
    }

    fn status(code: u32) -> Result<(), Status> {
        match code {
            0 => Ok(()),
            1 => Err(Status::NotFound),
            2 => Err(Status::BadArgument),
            3 => Err(Status::SerializationFailure),
            4 => Err(Status::ParseFailure),
            7 => Err(Status::Empty),
            8 => Err(Status::CasMismatch),
            _ => Err(Status::InternalFailure),
        }
    }

    /// The header map as the ABI passes it: the number of pairs, each pair's name and value
    /// lengths (32-bit little-endian), then each name and value followed by a NUL.
    fn serialize(headers: &[(&str, &str)]) -> Vec<u8> {
        let size = 4 + headers.iter().map(|(n, v)| n.len() + v.len() + 10).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
        out.extend_from_slice(&len(headers.len()));
        for (name, value) in headers {
            out.extend_from_slice(&len(name.len()));
            out.extend_from_slice(&len(value.len()));
        }
        for (name, value) in headers {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(value.as_bytes());
            out.push(0);
        }
        out
    }

    /// A local reply without a body; `details` becomes Envoy's `%RESPONSE_CODE_DETAILS%`.
    pub(super) fn send_local_response(status_code: u32, details: &str, headers: &[(&str, &str)]) -> Result<(), Status> {
        let headers = serialize(headers);
        // SAFETY: every pointer and length describes a live buffer of this frame; the host
        // copies what it needs before returning; -1: not a gRPC reply.
        let code = unsafe {
            proxy_send_local_response(
                status_code,
                details.as_ptr(),
                details.len(),
                std::ptr::null(),
                0,
                headers.as_ptr(),
                headers.len(),
                -1,
            )
        };
        status(code)
    }

    /// Set the property (in Envoy: the filter state `wasm.<name>`, a string) of the current
    /// request. `name` is one path segment.
    pub(super) fn set_property(name: &str, value: &[u8]) -> Result<(), Status> {
        // SAFETY: as above; the host copies the name and the value.
        let code = unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
        status(code)
    }
}
