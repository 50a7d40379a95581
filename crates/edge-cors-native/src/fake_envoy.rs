//! A stand-in for Envoy's side of the ABI, for this crate's unit tests and the fuzz target
//! (feature `fake-envoy`, never in a shipped build): every callback `abi.rs` declares, defined
//! over one in-memory exchange per thread (the request's and response's header lines, the reply,
//! the counters, the log), and [`Filter`], which drives the module's exported hooks as Envoy
//! does for one configuration and its streams. The hooks and the host code then run exactly as
//! in Envoy, unsafe code included, without Envoy.

use std::cell::RefCell;
use std::ffi::c_void;

use crate::abi::{self, Buffer, ConfigEnvoyPtr, FilterEnvoyPtr, HttpHeader, ModulePtr};

/// A header line: name and value bytes.
pub type Line = (Vec<u8>, Vec<u8>);

/// What one stream exchanged with the fake Envoy.
#[derive(Debug, Default, Clone)]
pub struct Exchange {
    /// The request's header lines (the module's removals apply here).
    pub request: Vec<Line>,
    /// The response's header lines (the module's changes apply here).
    pub response: Vec<Line>,
    /// A local reply: status, header lines, details; `direct` when encoded with
    /// `send_response_headers` (`:status` then among the lines).
    pub reply: Option<Reply>,
    /// The callbacks made, by name, in order.
    pub calls: Vec<&'static str>,
    /// Counter ids incremented, in order.
    pub increments: Vec<usize>,
    /// What `get_worker_index` answers.
    pub worker: u32,
    /// The filter state the module set: key, value.
    pub filter_state: Vec<Line>,
}

/// A reply the module sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u32,
    pub headers: Vec<Line>,
    pub details: Vec<u8>,
    pub direct: bool,
}

thread_local! {
    static EXCHANGE: RefCell<Exchange> = RefCell::new(Exchange::default());
    static COUNTERS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static LOG: RefCell<Vec<(u32, String)>> = const { RefCell::new(Vec::new()) };
    static GAUGES: RefCell<Vec<(String, u64)>> = const { RefCell::new(Vec::new()) };
    static ROUTE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The name of the route the next streams on this thread matched (empty: none, as Envoy
/// answers `xds.route_name` without a route).
pub fn set_route(name: &str) {
    ROUTE.with(|r| *r.borrow_mut() = name.as_bytes().to_vec());
}

/// The gauges defined on this thread, by id: name and value.
pub fn gauges() -> Vec<(String, u64)> {
    GAUGES.with(|g| g.borrow().clone())
}

fn with<R>(f: impl FnOnce(&mut Exchange) -> R) -> R {
    EXCHANGE.with(|e| f(&mut e.borrow_mut()))
}

fn call(name: &'static str) {
    with(|e| e.calls.push(name));
}

/// # Safety
/// As [`Buffer::bytes`].
unsafe fn bytes(b: Buffer) -> Vec<u8> {
    // SAFETY: by the caller's contract.
    unsafe { b.bytes() }.to_vec()
}

/// The lines of a header array the module passed.
///
/// # Safety
/// `headers` is valid for `n` entries, each naming valid buffers.
unsafe fn lines(headers: *const HttpHeader, n: usize) -> Vec<Line> {
    if headers.is_null() {
        return Vec::new();
    }
    // SAFETY: by the caller's contract.
    let headers = unsafe { std::slice::from_raw_parts(headers, n) };
    // SAFETY: as above.
    headers
        .iter()
        .map(|h| unsafe { (h.key().to_vec(), h.value().to_vec()) })
        .collect()
}

fn map(e: &mut Exchange, header_type: u32) -> &mut Vec<Line> {
    if header_type == abi::RESPONSE_HEADER {
        &mut e.response
    } else {
        &mut e.request
    }
}

/// The log lines written so far on this thread, and forget them.
pub fn take_log() -> Vec<(u32, String)> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// The counter names defined on this thread, by id.
pub fn counter_names() -> Vec<String> {
    COUNTERS.with(|c| c.borrow().clone())
}

/// The fake of Envoy's `envoy_dynamic_module_callback_log`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_log(level: u32, message: Buffer) {
    // SAFETY: the module's buffer is valid for the call.
    let message = String::from_utf8_lossy(&unsafe { bytes(message) }).into_owned();
    LOG.with(|l| l.borrow_mut().push((level, message)));
}

/// The fake of Envoy's `envoy_dynamic_module_callback_get_concurrency`.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_callback_get_concurrency() -> u32 {
    2
}

/// Add a metric named by the module's buffer to `table`; its index is the id written.
///
/// # Safety
/// `name` is valid for the call and `id` points to the module's variable.
unsafe fn define<T>(
    table: &'static std::thread::LocalKey<RefCell<Vec<T>>>,
    name: Buffer,
    id: *mut usize,
    new: impl FnOnce(String) -> T,
) -> u32 {
    // SAFETY: by the caller's contract.
    let name = String::from_utf8_lossy(&unsafe { bytes(name) }).into_owned();
    table.with(|t| {
        let mut t = t.borrow_mut();
        // SAFETY: by the caller's contract.
        unsafe { *id = t.len() };
        t.push(new(name));
    });
    abi::METRICS_SUCCESS
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_filter_config_define_counter`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_filter_config_define_counter(
    _config: ConfigEnvoyPtr,
    name: Buffer,
    _label_names: *mut Buffer,
    _label_names_length: usize,
    counter_id: *mut usize,
) -> u32 {
    // SAFETY: as the module passes them.
    unsafe { define(&COUNTERS, name, counter_id, |n| n) }
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_filter_config_define_gauge`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_filter_config_define_gauge(
    _config: ConfigEnvoyPtr,
    name: Buffer,
    _label_names: *mut Buffer,
    _label_names_length: usize,
    gauge_id: *mut usize,
) -> u32 {
    // SAFETY: as the module passes them.
    unsafe { define(&GAUGES, name, gauge_id, |n| (n, 0)) }
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_filter_config_set_gauge`.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_callback_http_filter_config_set_gauge(
    _config: ConfigEnvoyPtr,
    id: usize,
    _label_values: *mut Buffer,
    _label_values_length: usize,
    value: u64,
) -> u32 {
    GAUGES.with(|g| match g.borrow_mut().get_mut(id) {
        Some(gauge) => {
            gauge.1 = value;
            abi::METRICS_SUCCESS
        }
        None => 1,
    })
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_filter_get_attribute_string`: only
/// `xds.route_name` ([`set_route`]).
///
/// # Safety
/// The module passes a pointer valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_filter_get_attribute_string(
    _filter: FilterEnvoyPtr,
    attribute_id: u32,
    result: *mut Buffer,
) -> bool {
    call("get_attribute_string");
    if attribute_id != abi::ATTRIBUTE_XDS_ROUTE_NAME {
        return false;
    }
    // The thread-local's bytes stay put while the module copies them (nothing else on this
    // thread changes the route in between).
    ROUTE.with(|r| {
        let r = r.borrow();
        // SAFETY: `result` points to the module's variable.
        unsafe { *result = Buffer::of(&r) };
    });
    true
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_set_filter_state_bytes`.
///
/// # Safety
/// The module passes buffers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_set_filter_state_bytes(
    _filter: FilterEnvoyPtr,
    key: Buffer,
    value: Buffer,
) -> bool {
    // SAFETY: the module's buffers are valid for the call.
    let line = unsafe { (bytes(key), bytes(value)) };
    with(|e| {
        e.calls.push("set_filter_state_bytes");
        e.filter_state.push(line);
    });
    true
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_filter_increment_counter`.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_callback_http_filter_increment_counter(
    _filter: FilterEnvoyPtr,
    id: usize,
    _label_values: *mut Buffer,
    _label_values_length: usize,
    _value: u64,
) -> u32 {
    with(|e| {
        e.calls.push("increment_counter");
        e.increments.push(id);
    });
    abi::METRICS_SUCCESS
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_get_header`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_get_header(
    _filter: FilterEnvoyPtr,
    header_type: u32,
    key: Buffer,
    result: *mut Buffer,
    index: usize,
    optional_size: *mut usize,
) -> bool {
    call("get_header");
    // SAFETY: the module's key is valid for the call; `result` and `optional_size` point to
    // its variables (or the latter is null). The value points into the exchange, which the
    // module reads before anything changes it.
    let key = unsafe { bytes(key) };
    with(|e| {
        let values: Vec<&Line> = map(e, header_type).iter().filter(|(k, _)| *k == key).collect();
        unsafe {
            if !optional_size.is_null() {
                *optional_size = values.len();
            }
            *result = values.get(index).map_or(Buffer::null(), |(_, v)| Buffer::of(v));
        }
    });
    true
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_get_headers_size`.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_callback_http_get_headers_size(
    _filter: FilterEnvoyPtr,
    header_type: u32,
) -> usize {
    call("get_headers_size");
    with(|e| map(e, header_type).len())
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_get_headers`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_get_headers(
    _filter: FilterEnvoyPtr,
    header_type: u32,
    result: *mut HttpHeader,
) -> bool {
    call("get_headers");
    with(|e| {
        for (i, (k, v)) in map(e, header_type).iter().enumerate() {
            // SAFETY: the module sized `result` with get_headers_size just before.
            unsafe { result.add(i).write(HttpHeader::of_bytes(k, v)) };
        }
    });
    true
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_set_header`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_set_header(
    _filter: FilterEnvoyPtr,
    header_type: u32,
    key: Buffer,
    value: Buffer,
) -> bool {
    // SAFETY: the module's buffers are valid for the call.
    let (key, remove) = (unsafe { bytes(key) }, value.ptr.is_null());
    let value = unsafe { bytes(value) };
    with(|e| {
        e.calls.push(if remove { "remove_header" } else { "set_header" });
        let lines = map(e, header_type);
        lines.retain(|(k, _)| *k != key);
        if !remove {
            lines.push((key, value));
        }
    });
    true
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_add_header`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_add_header(
    _filter: FilterEnvoyPtr,
    header_type: u32,
    key: Buffer,
    value: Buffer,
) -> bool {
    // SAFETY: the module's buffers are valid for the call.
    let line = unsafe { (bytes(key), bytes(value)) };
    with(|e| {
        e.calls.push("add_header");
        map(e, header_type).push(line);
    });
    true
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_send_response`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_send_response(
    _filter: FilterEnvoyPtr,
    status: u32,
    headers: *mut HttpHeader,
    headers_length: usize,
    _body: Buffer,
    details: Buffer,
) {
    // SAFETY: the module's array and buffers are valid for the call.
    let reply = unsafe {
        Reply {
            status,
            headers: lines(headers, headers_length),
            details: bytes(details),
            direct: false,
        }
    };
    with(|e| {
        e.calls.push("send_response");
        e.reply = Some(reply);
    });
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_send_response_headers`.
///
/// # Safety
/// The module passes buffers and pointers valid for the call, as it does to Envoy.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn envoy_dynamic_module_callback_http_send_response_headers(
    _filter: FilterEnvoyPtr,
    headers: *mut HttpHeader,
    headers_length: usize,
    _end_stream: bool,
) {
    // SAFETY: the module's array is valid for the call.
    let headers = unsafe { lines(headers, headers_length) };
    let status = headers
        .iter()
        .find(|(k, _)| k == b":status")
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
        .unwrap_or(0);
    with(|e| {
        e.calls.push("send_response_headers");
        e.reply = Some(Reply {
            status,
            headers,
            details: Vec::new(),
            direct: true,
        });
    });
}

/// The fake of Envoy's `envoy_dynamic_module_callback_http_filter_get_worker_index`.
#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_callback_http_filter_get_worker_index(_filter: FilterEnvoyPtr) -> u32 {
    with(|e| {
        e.calls.push("get_worker_index");
        e.worker
    })
}

/// One filter configuration of the module, created and destroyed through its hooks.
pub struct Filter {
    config: ModulePtr,
}

/// A non-null pointer standing for Envoy's objects (the fake ignores it).
fn envoy_ptr() -> *mut c_void {
    std::ptr::NonNull::<c_void>::dangling().as_ptr()
}

impl Filter {
    /// `on_http_filter_config_new` with this policy JSON and filter name; `None` when refused.
    pub fn configure(name: &str, config: &[u8]) -> Option<Filter> {
        // SAFETY: both buffers are valid for the call.
        let ptr = unsafe {
            crate::envoy_dynamic_module_on_http_filter_config_new(
                envoy_ptr(),
                Buffer::of(name.as_bytes()),
                Buffer::of(config),
            )
        };
        (!ptr.is_null()).then_some(Filter { config: ptr })
    }

    /// One stream through the hooks, as Envoy runs it: new, request headers, the response
    /// headers of `upstream` unless the module answered, destroy. Returns what was exchanged
    /// and the request hook's status.
    pub fn stream(&self, request: Vec<Line>, upstream: Vec<Line>, worker: u32) -> (u32, Exchange) {
        with(|e| {
            *e = Exchange {
                request,
                worker,
                ..Exchange::default()
            }
        });
        // SAFETY: a live configuration pointer, and the stream pointer it returns, passed back
        // until destroyed once.
        unsafe {
            let stream = crate::envoy_dynamic_module_on_http_filter_new(self.config, envoy_ptr());
            let status = crate::envoy_dynamic_module_on_http_filter_request_headers(envoy_ptr(), stream, true);
            if status == abi::CONTINUE {
                with(|e| e.response = upstream);
                crate::envoy_dynamic_module_on_http_filter_response_headers(envoy_ptr(), stream, true);
            }
            crate::envoy_dynamic_module_on_http_filter_stream_complete(envoy_ptr(), stream);
            crate::envoy_dynamic_module_on_http_filter_destroy(stream);
            (status, with(std::mem::take))
        }
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        // SAFETY: the pointer config_new returned, destroyed once.
        unsafe { crate::envoy_dynamic_module_on_http_filter_config_destroy(self.config) };
    }
}
