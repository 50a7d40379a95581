//! edge-cors as an Envoy dynamic module: a native shared library behind Envoy's C ABI
//! (`envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter`, Envoy 1.40, ABI
//! v0.2.0). Every CORS rule and the whole filter logic (what to count, log, strip and reply)
//! come from `edge-cors-core`, the same code the proxy-wasm filter runs: this crate only
//! exports the hooks Envoy calls and implements the core's host traits over Envoy's callbacks.
//!
//! Threads: Envoy creates a filter configuration once, on the main thread, and every worker
//! thread makes its streams from that one configuration. So one [`Root`] (compiled policy,
//! counter ids, a rejection-log limiter per worker) is shared by all workers; a stream lives on
//! one worker.
//!
//! Panics: unlike a wasm VM, a module shares Envoy's process, so a panic that escaped a hook
//! would end Envoy. Every exported hook runs its body through [`guard`], which catches the
//! unwind, logs it, and answers fail-closed (a 500 for the request whose headers panicked). That
//! needs `panic = "unwind"`: the wasm build's `panic = "abort"` turns every panic into an abort,
//! so this crate refuses to compile without unwinding (the `release-native` profile of the
//! workspace's Cargo.toml).

#[cfg(not(panic = "unwind"))]
compile_error!(
    "edge-cors-native must be built with panic = \"unwind\" (a panic would otherwise abort Envoy): \
     use `scripts/build.sh --native` or `cargo build --profile release-native -p edge-cors-native`"
);

pub mod abi;
#[cfg(any(test, feature = "fake-envoy"))]
pub mod fake_envoy;
mod host;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use edge_cors_core::host::{Level, Root, Stream, Verdict};

use abi::{Buffer, ConfigEnvoyPtr, FilterEnvoyPtr, HttpHeader, ModulePtr};

/// The one filter this module implements: the `filter_name` of the DynamicModuleFilter.
const FILTER_NAME: &[u8] = b"edge-cors";

/// Run a hook's body; a panic is logged and `fail` returned instead of unwinding into Envoy.
fn guard<R>(hook: &str, fail: impl FnOnce() -> R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            // The logging itself must not unwind either.
            let _ = catch_unwind(|| {
                host::log(
                    Level::Error,
                    &format!("edge-cors: panic caught in the {hook} hook, answered fail-closed: {message}"),
                );
            });
            fail()
        }
    }
}

/// One filter configuration: the configured root, shared by every worker, and the thread
/// that writes the periodic summary of suppressed rejection lines.
struct Config {
    root: Arc<Root>,
    /// Held for its `Drop`, which stops the thread.
    _summary: Option<Summary>,
}

/// The periodic summary: `Root::summarize` every period on a thread of its own (a dynamic module
/// has no timer of its own for a filter configuration). Stopped and joined when Envoy
/// destroys the configuration.
struct Summary {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Summary {
    fn start(root: Arc<Root>, period: Duration) -> std::io::Result<Summary> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("edge-cors-log".to_string())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                let mut done = stopped.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    let (guarded, timeout) = wake
                        .wait_timeout_while(done, period, |stop| !*stop)
                        .unwrap_or_else(PoisonError::into_inner);
                    done = guarded;
                    if *done || !timeout.timed_out() {
                        return;
                    }
                    let _ = catch_unwind(AssertUnwindSafe(|| root.summarize(&host::ConfigHost::detached())));
                }
            })?;
        Ok(Summary {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Summary {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One request's state. Hooks of one stream run on one worker thread, one at a time; the
/// `RefCell` turns a re-entrant hook (a callback that synchronously runs another hook of the
/// same stream) into a skipped one instead of two `&mut` to the same stream.
struct Filter {
    stream: RefCell<Stream>,
    /// The request hook answered locally (or failed closed): a panic afterwards must not send a
    /// second reply.
    replied: Cell<bool>,
}

/// # Safety
/// `ptr` is a pointer this module returned from `on_http_filter_new` and Envoy has not yet
/// passed to `on_http_filter_destroy`.
unsafe fn filter<'a>(ptr: ModulePtr) -> Option<&'a Filter> {
    // SAFETY: by the caller's contract, null or a live `Box<Filter>`.
    unsafe { ptr.cast::<Filter>().as_ref() }
}

// ---------------------------------------------------------------- program and configuration

/// Called once when Envoy loads the module: the ABI version it was written against.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    guard("program_init", std::ptr::null, || abi::ABI_VERSION.as_ptr().cast())
}

/// A DynamicModuleFilter configuration (main thread). NULL refuses it: Envoy will not start
/// with a static config, and a dynamic update is rejected while the previous one keeps serving.
///
/// # Safety
/// Envoy passes its configuration pointer and two buffers valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    config_envoy_ptr: ConfigEnvoyPtr,
    name: Buffer,
    config: Buffer,
) -> ModulePtr {
    guard("config_new", std::ptr::null, || {
        // SAFETY: Envoy's buffers are valid for the duration of this call.
        let (name, config) = unsafe { (name.bytes(), config.bytes()) };
        if name != FILTER_NAME {
            host::log(
                Level::Error,
                &format!(
                    "edge-cors: unknown filter_name {:?}: this module has one filter, \"edge-cors\"",
                    String::from_utf8_lossy(name)
                ),
            );
            return std::ptr::null();
        }
        // SAFETY: called on the main thread, inside a configuration hook.
        let workers = unsafe { abi::envoy_dynamic_module_callback_get_concurrency() };
        let mut root = Root::with_workers(usize::try_from(workers).unwrap_or(1));
        let host = host::ConfigHost::new(config_envoy_ptr, config);
        if !root.on_configure(&host) {
            return std::ptr::null();
        }
        let root = Arc::new(root);
        // Every rejection-log interval: the tick the core asks for is shorter with registry
        // sources, which this host does not fetch.
        let summary = host.tick.get().and(root.summary_interval()).and_then(|period| {
            Summary::start(Arc::clone(&root), period)
                .map_err(|e| host::log(Level::Warn, &format!("edge-cors: no thread for the log summary: {e}")))
                .ok()
        });
        Box::into_raw(Box::new(Config {
            root,
            _summary: summary,
        }))
        .cast_const()
        .cast()
    })
}

/// Envoy dropped a configuration (after every stream made from it).
///
/// # Safety
/// `config_ptr` is a pointer `on_http_filter_config_new` returned, passed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config_ptr: ModulePtr) {
    guard(
        "config_destroy",
        || (),
        || {
            if !config_ptr.is_null() {
                // SAFETY: a `Box<Config>` this module leaked in config_new, destroyed once.
                drop(unsafe { Box::from_raw(config_ptr.cast::<Config>().cast_mut()) });
            }
        },
    );
}

/// A per-route configuration: edge-cors has none (policies select routes with `match`), so it
/// is refused with a message saying so.
///
/// # Safety
/// Envoy passes two buffers valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_new(
    _name: Buffer,
    _config: Buffer,
) -> ModulePtr {
    guard("per_route_config_new", std::ptr::null, || {
        host::log(
            Level::Error,
            "edge-cors: no per-route configuration: select routes with a policy's `match` instead",
        );
        std::ptr::null()
    })
}

/// Never called: no per-route configuration is ever accepted.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_destroy(_config_ptr: ModulePtr) {}

// ---------------------------------------------------------------- one stream

/// A new stream (worker thread): its state, made from the shared configuration.
///
/// # Safety
/// `config_ptr` is a live pointer from `on_http_filter_config_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config_ptr: ModulePtr,
    _filter_envoy_ptr: FilterEnvoyPtr,
) -> ModulePtr {
    guard("filter_new", std::ptr::null, || {
        // SAFETY: Envoy keeps the configuration alive while it makes and runs streams from it.
        let Some(config) = (unsafe { config_ptr.cast::<Config>().as_ref() }) else {
            return std::ptr::null();
        };
        let filter = Filter {
            stream: RefCell::new(config.root.new_stream()),
            replied: Cell::new(false),
        };
        Box::into_raw(Box::new(filter)).cast_const().cast()
    })
}

/// The request headers: decide, count, log, strip the token, reply or continue.
///
/// # Safety
/// Envoy passes its filter pointer and the module's, both live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    filter_envoy_ptr: FilterEnvoyPtr,
    filter_module_ptr: ModulePtr,
    _end_of_stream: bool,
) -> u32 {
    // SAFETY: a live module pointer (Envoy's contract).
    let filter = unsafe { filter(filter_module_ptr) };
    let host = host::Stream::new(filter_envoy_ptr);
    guard(
        "request_headers",
        || fail_closed(&host, filter),
        || {
            #[cfg(feature = "test-panic")]
            test_panic(&host);
            let Some(filter) = filter else {
                return abi::CONTINUE;
            };
            let Ok(mut stream) = filter.stream.try_borrow_mut() else {
                return abi::CONTINUE;
            };
            match stream.on_request_headers(&host) {
                Verdict::Continue => abi::CONTINUE,
                Verdict::Pause => {
                    filter.replied.set(true);
                    abi::STOP_ITERATION
                }
            }
        },
    )
}

/// After a panic in the request hook: a 500 for this request (unless a reply already went
/// out), and the stream stops here; Envoy and every other request carry on.
fn fail_closed(host: &host::Stream, filter: Option<&Filter>) -> u32 {
    if filter.is_some_and(|f| f.replied.replace(true)) {
        return abi::STOP_ITERATION;
    }
    let mut headers: [HttpHeader; 0] = [];
    // SAFETY: the filter pointer is valid during the hook; static buffers.
    unsafe {
        abi::envoy_dynamic_module_callback_http_send_response(
            host.filter_envoy_ptr,
            500,
            headers.as_mut_ptr(),
            0,
            Buffer::null(),
            Buffer::of(b"edge_cors.panic"),
        );
    }
    abi::STOP_ITERATION
}

/// The test build's deliberate panic (feature `test-panic`).
#[cfg(feature = "test-panic")]
#[allow(clippy::panic)]
fn test_panic(host: &host::Stream) {
    use edge_cors_core::host::StreamHost;
    if matches!(host.request_header("x-edge-cors-test-panic"), Ok(Some(_))) {
        panic!("x-edge-cors-test-panic header present");
    }
}

/// The response headers (from the upstream, or a local reply of a later filter).
///
/// # Safety
/// Envoy passes its filter pointer and the module's, both live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    filter_envoy_ptr: FilterEnvoyPtr,
    filter_module_ptr: ModulePtr,
    _end_of_stream: bool,
) -> u32 {
    guard(
        "response_headers",
        || abi::CONTINUE,
        || {
            // SAFETY: a live module pointer (Envoy's contract).
            if let Some(filter) = unsafe { filter(filter_module_ptr) } {
                if let Ok(mut stream) = filter.stream.try_borrow_mut() {
                    stream.on_response_headers(&host::Stream::new(filter_envoy_ptr));
                }
            }
            abi::CONTINUE
        },
    )
}

/// The stream's state is freed (Envoy may defer this past the end of the stream).
///
/// # Safety
/// `filter_module_ptr` is a pointer `on_http_filter_new` returned, passed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_destroy(filter_module_ptr: ModulePtr) {
    guard(
        "filter_destroy",
        || (),
        || {
            if !filter_module_ptr.is_null() {
                // SAFETY: a `Box<Filter>` leaked in filter_new, destroyed once.
                drop(unsafe { Box::from_raw(filter_module_ptr.cast::<Filter>().cast_mut()) });
            }
        },
    );
}

// ---------------------------------------------------------------- hooks edge-cors does not use
//
// Envoy 1.40 resolves every one of these when it loads a filter configuration and refuses a
// module that lacks one, so each is exported; edge-cors has nothing to do in them. They cannot
// panic, so they need no guard.

/// Request body: passed through.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_body(_: FilterEnvoyPtr, _: ModulePtr, _: bool) -> u32 {
    abi::CONTINUE
}

/// Request trailers: passed through.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(_: FilterEnvoyPtr, _: ModulePtr) -> u32 {
    abi::CONTINUE
}

/// Response body: passed through.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_body(_: FilterEnvoyPtr, _: ModulePtr, _: bool) -> u32 {
    abi::CONTINUE
}

/// Response trailers: passed through.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(_: FilterEnvoyPtr, _: ModulePtr) -> u32 {
    abi::CONTINUE
}

/// End of the stream: nothing is left to do (state is freed in `destroy`).
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(_: FilterEnvoyPtr, _: ModulePtr) {}

/// HTTP callouts: edge-cors makes none.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    _: FilterEnvoyPtr,
    _: ModulePtr,
    _callout_id: u64,
    _result: u32,
    _headers: *const HttpHeader,
    _headers_size: usize,
    _body_chunks: *const Buffer,
    _body_chunks_size: usize,
) {
}

/// Streamed callouts: edge-cors starts none.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
    _: FilterEnvoyPtr,
    _: ModulePtr,
    _stream_id: u64,
    _headers: *const HttpHeader,
    _headers_size: usize,
    _end_stream: bool,
) {
}

/// Streamed callouts: edge-cors starts none.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
    _: FilterEnvoyPtr,
    _: ModulePtr,
    _stream_id: u64,
    _data: *const Buffer,
    _data_count: usize,
    _end_stream: bool,
) {
}

/// Streamed callouts: edge-cors starts none.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
    _: FilterEnvoyPtr,
    _: ModulePtr,
    _stream_id: u64,
    _trailers: *const HttpHeader,
    _trailers_size: usize,
) {
}

/// Streamed callouts: edge-cors starts none.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
    _: FilterEnvoyPtr,
    _: ModulePtr,
    _stream_id: u64,
) {
}

/// Streamed callouts: edge-cors starts none.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
    _: FilterEnvoyPtr,
    _: ModulePtr,
    _stream_id: u64,
    _reason: u32,
) {
}

/// Scheduled events: edge-cors schedules none.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(_: FilterEnvoyPtr, _: ModulePtr, _event_id: u64) {}

/// Flow control of a terminal filter: edge-cors is never terminal.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    _: FilterEnvoyPtr,
    _: ModulePtr,
) {
}

/// Flow control of a terminal filter: edge-cors is never terminal.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    _: FilterEnvoyPtr,
    _: ModulePtr,
) {
}
