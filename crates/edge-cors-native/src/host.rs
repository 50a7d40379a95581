//! The core's host traits over Envoy's dynamic-module callbacks: [`ConfigHost`] while a filter
//! configuration is created (and for the periodic summary), [`StreamHost`] for one request.
//! No CORS rule and no counting or logging policy lives here.

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edge_cors_core::host::{on_stack, Level, RootHost, StreamHost, REPLY_LINES};
use edge_cors_core::metrics::{tagged_name, Family};
use edge_cors_core::CORS_RESPONSE_HEADERS;

use crate::abi::{self, Buffer, ConfigEnvoyPtr, FilterEnvoyPtr, HttpHeader};

/// Why a callback failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackError {
    /// The callback returned false (e.g. the header map is not available in this phase).
    Refused,
    /// A metrics callback returned this `envoy_dynamic_module_type_metrics_result`.
    Metrics(u32),
    /// A counter id does not fit the core's `u32`.
    IdOutOfRange,
    /// Not available here (a callback made outside the configuration hook).
    Unavailable,
}

fn log_level(level: Level) -> u32 {
    match level {
        Level::Info => abi::LOG_INFO,
        Level::Warn => abi::LOG_WARN,
        Level::Error => abi::LOG_ERROR,
    }
}

/// Write a line to Envoy's log (the `dynamic_modules` logger; safe from any thread).
pub(crate) fn log(level: Level, message: &str) {
    // SAFETY: the buffer is valid for the call; Envoy copies the message.
    unsafe { abi::envoy_dynamic_module_callback_log(log_level(level), Buffer::of(message.as_bytes())) }
}

fn now() -> Option<Duration> {
    SystemTime::now().duration_since(UNIX_EPOCH).ok()
}

/// The host of configuration time: inside `on_http_filter_config_new` (with Envoy's config
/// pointer, which defines counters), and on the summary thread (without it).
pub(crate) struct ConfigHost<'a> {
    config_envoy_ptr: ConfigEnvoyPtr,
    config: &'a [u8],
    /// The tick period the core asked for; the caller starts the summary thread with it.
    pub(crate) tick: Cell<Option<Duration>>,
}

impl<'a> ConfigHost<'a> {
    /// The host of `on_http_filter_config_new`.
    pub(crate) fn new(config_envoy_ptr: ConfigEnvoyPtr, config: &'a [u8]) -> ConfigHost<'a> {
        ConfigHost {
            config_envoy_ptr,
            config,
            tick: Cell::new(None),
        }
    }

    /// The host of the summary thread: it logs and tells the time, nothing else.
    pub(crate) fn detached() -> ConfigHost<'static> {
        ConfigHost {
            config_envoy_ptr: std::ptr::null_mut(),
            config: &[],
            tick: Cell::new(None),
        }
    }
}

/// The signature of the ABI's `define_counter` and `define_gauge`.
type Define = unsafe extern "C" fn(ConfigEnvoyPtr, Buffer, *mut Buffer, usize, *mut usize) -> u32;

fn metrics_result(result: u32) -> Result<(), CallbackError> {
    if result == abi::METRICS_SUCCESS {
        Ok(())
    } else {
        Err(CallbackError::Metrics(result))
    }
}

impl ConfigHost<'_> {
    fn define(&self, family: &Family, labels: &[(&str, &str)], define: Define) -> Result<u32, CallbackError> {
        if self.config_envoy_ptr.is_null() {
            return Err(CallbackError::Unavailable);
        }
        let name = tagged_name(family.name, labels);
        let mut id = 0usize;
        // SAFETY: Envoy's config pointer is valid during on_http_filter_config_new (the only
        // time it is non-null here); no labels; `id` outlives the call.
        let result = unsafe {
            define(
                self.config_envoy_ptr,
                Buffer::of(name.as_bytes()),
                std::ptr::null_mut(),
                0,
                &mut id,
            )
        };
        metrics_result(result)?;
        u32::try_from(id).map_err(|_| CallbackError::IdOutOfRange)
    }
}

impl RootHost for ConfigHost<'_> {
    type Error = CallbackError;

    fn plugin_config(&self) -> Vec<u8> {
        self.config.to_vec()
    }

    /// A family's series is one Envoy metric named with its labels in the name
    /// ([`tagged_name`], as the proxy-wasm host names it), so the same tag rules turn both
    /// hosts' metrics into the same Prometheus series; see docs/native.md#metrics for why the
    /// ABI's labelled metrics are not used.
    fn define_counter(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, CallbackError> {
        self.define(
            family,
            labels,
            abi::envoy_dynamic_module_callback_http_filter_config_define_counter,
        )
    }

    fn define_gauge(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, CallbackError> {
        self.define(
            family,
            labels,
            abi::envoy_dynamic_module_callback_http_filter_config_define_gauge,
        )
    }

    fn set_gauge(&self, id: u32, value: u64) -> Result<(), CallbackError> {
        if self.config_envoy_ptr.is_null() {
            return Err(CallbackError::Unavailable);
        }
        let id = usize::try_from(id).map_err(|_| CallbackError::IdOutOfRange)?;
        // SAFETY: Envoy's config pointer is valid during on_http_filter_config_new (the only
        // time it is non-null here); no labels.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_config_set_gauge(
                self.config_envoy_ptr,
                id,
                std::ptr::null_mut(),
                0,
                value,
            )
        };
        metrics_result(result)
    }

    fn log(&self, level: Level, message: &str) {
        log(level, message);
    }

    fn set_tick_period(&self, period: Duration) -> Result<(), CallbackError> {
        self.tick.set(Some(period));
        Ok(())
    }

    fn now(&self) -> Option<Duration> {
        now()
    }

    /// A native module has no VM of its own to measure.
    fn memory_pages(&self) -> Option<usize> {
        None
    }
}

/// The host of one hook of one request: Envoy's filter pointer, valid while the hook runs.
///
/// Each callback costs Envoy a generic, string-keyed header-map operation (hundreds to a
/// thousand instructions; docs/performance.md), so the host spends as few as it can without
/// changing what the core asked for:
/// - the request headers are read once per hook (`get_headers`), and every read the core makes
///   is answered from that list, which is dropped when the request is changed (Envoy's buffers
///   are valid only until a setter runs);
/// - which of the CORS response headers ([`CORS_RESPONSE_HEADERS`]) the response carries is
///   read once per hook, so removing one the response does not carry costs no callback, and
///   setting one it does not carry is an add (cheaper than a set, which removes first).
pub(crate) struct Stream {
    pub(crate) filter_envoy_ptr: FilterEnvoyPtr,
    request: RefCell<Option<Lines>>,
    /// Bit `i`: the response carries `CORS_RESPONSE_HEADERS[i]`; `None` until read.
    response_cors: Cell<Option<u32>>,
}

/// Header lines a map usually has at most (a browser's request has 15 to 25): a map read into
/// [`Lines`] up to this size costs no allocation.
const INLINE_LINES: usize = 32;

/// The lines of one header map as Envoy lists them: in an array when they fit, else on the heap.
/// Large by design: it lives on the stack of one hook, so reading a map allocates nothing.
#[allow(clippy::large_enum_variant)]
enum Lines {
    /// The first `.1` entries are initialized.
    Inline([MaybeUninit<HttpHeader>; INLINE_LINES], usize),
    Heap(Vec<HttpHeader>),
}

impl Lines {
    /// Room for `count` lines, for Envoy to fill ([`Lines::filled`] once it has).
    fn with_room(count: usize) -> Lines {
        if count <= INLINE_LINES {
            Lines::Inline([const { MaybeUninit::uninit() }; INLINE_LINES], 0)
        } else {
            Lines::Heap(Vec::with_capacity(count))
        }
    }

    /// Where Envoy writes the lines (room for as many as `with_room` was given).
    fn as_mut_ptr(&mut self) -> *mut HttpHeader {
        match self {
            Lines::Inline(lines, _) => lines.as_mut_ptr().cast(),
            Lines::Heap(lines) => lines.as_mut_ptr(),
        }
    }

    /// Envoy wrote `count` lines.
    ///
    /// # Safety
    /// The first `count` entries at [`Lines::as_mut_ptr`] are initialized, and `count` is at
    /// most the room `with_room` was given.
    unsafe fn filled(mut self, count: usize) -> Lines {
        match &mut self {
            Lines::Inline(_, len) => *len = count.min(INLINE_LINES),
            // SAFETY: by the caller's contract, within the capacity and initialized.
            Lines::Heap(lines) => unsafe { lines.set_len(count) },
        }
        self
    }

    fn as_slice(&self) -> &[HttpHeader] {
        match self {
            Lines::Inline(lines, len) => {
                let init = lines.get(..*len).unwrap_or_default();
                // SAFETY: the first `len` entries are initialized (`filled`); MaybeUninit<T>
                // has the layout of T.
                unsafe { std::slice::from_raw_parts(init.as_ptr().cast(), init.len()) }
            }
            Lines::Heap(lines) => lines,
        }
    }
}

/// `n` in decimal, written into `buf` (no allocation on the preflight path).
fn decimal(mut n: u16, buf: &mut [u8; 5]) -> &str {
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(digit) = buf.get_mut(start) {
            // n % 10 < 10: the cast cannot truncate.
            *digit = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    buf.get(start..)
        .and_then(|d| std::str::from_utf8(d).ok())
        .unwrap_or("500")
}

/// The access-log details the core gives its preflight answers.
const PREFLIGHT_DETAILS: &str = "edge_cors.preflight_";

/// The bit of a tracked response header.
fn tracked_bit(name: &[u8]) -> Option<u32> {
    const _: () = assert!(CORS_RESPONSE_HEADERS.len() <= 32, "one bit per tracked header");
    let index = CORS_RESPONSE_HEADERS.iter().position(|h| h.as_bytes() == name)?;
    Some(1u32 << index)
}

impl Stream {
    pub(crate) fn new(filter_envoy_ptr: FilterEnvoyPtr) -> Stream {
        Stream {
            filter_envoy_ptr,
            request: RefCell::new(None),
            response_cors: Cell::new(None),
        }
    }

    /// Every line of map `header_type` (Envoy's buffers), or `None` if Envoy has no such map now.
    fn lines(&self, header_type: u32) -> Option<Lines> {
        // SAFETY: the filter pointer is valid during the hook.
        let count =
            unsafe { abi::envoy_dynamic_module_callback_http_get_headers_size(self.filter_envoy_ptr, header_type) };
        let mut lines = Lines::with_room(count);
        // SAFETY: `lines` has room for `count` entries, the number of lines Envoy reported for
        // this map a moment ago on this thread (nothing changes the map in between); Envoy
        // writes exactly that many.
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_get_headers(self.filter_envoy_ptr, header_type, lines.as_mut_ptr())
        };
        // SAFETY: Envoy initialized `count` entries, the room `lines` was made with.
        ok.then(|| unsafe { lines.filled(count) })
    }

    /// Every value of header `name` in map `header_type`, comma-joined (as the proxy-wasm ABI
    /// and the core's contract read several lines of one name); `None` when absent.
    fn header(&self, header_type: u32, name: &str) -> Result<Option<Vec<u8>>, CallbackError> {
        let mut value = Buffer::null();
        let mut count = 0usize;
        // SAFETY: the filter pointer is valid during the hook; `value` and `count` outlive the
        // call.
        let found = unsafe {
            abi::envoy_dynamic_module_callback_http_get_header(
                self.filter_envoy_ptr,
                header_type,
                Buffer::of(name.as_bytes()),
                &mut value,
                0,
                &mut count,
            )
        };
        if !found || count == 0 {
            return Ok(None);
        }
        // SAFETY: Envoy's buffer is valid until this hook returns or a setter runs; it is
        // copied before anything else is called.
        let mut joined = unsafe { value.bytes() }.to_vec();
        for index in 1..count {
            let mut more = Buffer::null();
            // SAFETY: as above.
            let ok = unsafe {
                abi::envoy_dynamic_module_callback_http_get_header(
                    self.filter_envoy_ptr,
                    header_type,
                    Buffer::of(name.as_bytes()),
                    &mut more,
                    index,
                    std::ptr::null_mut(),
                )
            };
            if ok {
                joined.push(b',');
                // SAFETY: as above.
                joined.extend_from_slice(unsafe { more.bytes() });
            }
        }
        Ok(Some(joined))
    }

    fn set(&self, header_type: u32, name: &str, value: Buffer) -> Result<(), CallbackError> {
        // SAFETY: the filter pointer is valid during the hook; both buffers outlive the call
        // (Envoy copies them).
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_set_header(
                self.filter_envoy_ptr,
                header_type,
                Buffer::of(name.as_bytes()),
                value,
            )
        };
        ok.then_some(()).ok_or(CallbackError::Refused)
    }

    fn add(&self, name: &str, value: &str) -> Result<(), CallbackError> {
        // SAFETY: as in `set`.
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_add_header(
                self.filter_envoy_ptr,
                abi::RESPONSE_HEADER,
                Buffer::of(name.as_bytes()),
                Buffer::of(value.as_bytes()),
            )
        };
        ok.then_some(()).ok_or(CallbackError::Refused)
    }

    /// Whether the response carries `name`, when the host tracks it (`None`: ask Envoy).
    fn response_has(&self, name: &str) -> Option<bool> {
        let bit = tracked_bit(name.as_bytes())?;
        let present = match self.response_cors.get() {
            Some(present) => present,
            None => {
                let lines = self.lines(abi::RESPONSE_HEADER)?;
                // SAFETY: Envoy's buffers are valid in this hook until a setter runs; only this
                // loop reads them.
                let present = lines
                    .as_slice()
                    .iter()
                    .filter_map(|line| tracked_bit(unsafe { line.key() }))
                    .fold(0, |all, bit| all | bit);
                self.response_cors.set(Some(present));
                present
            }
        };
        Some(present & bit != 0)
    }

    /// Record that the response now carries `name` or not (for the names the host tracks).
    fn response_now(&self, name: &str, present: bool) {
        if let (Some(bit), Some(all)) = (tracked_bit(name.as_bytes()), self.response_cors.get()) {
            self.response_cors
                .set(Some(if present { all | bit } else { all & !bit }));
        }
    }
}

impl StreamHost for Stream {
    type Error = CallbackError;

    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, CallbackError> {
        self.with_request_header(name, |value| value.map(<[u8]>::to_vec))
    }

    /// Answered from the request's lines, read once per hook; the value is copied only when
    /// several lines of `name` are joined.
    fn with_request_header<R>(&self, name: &str, f: impl FnOnce(Option<&[u8]>) -> R) -> Result<R, CallbackError> {
        let mut request = self.request.borrow_mut();
        if request.is_none() {
            *request = self.lines(abi::REQUEST_HEADER);
        }
        let Some(lines) = request.as_ref() else {
            drop(request);
            let value = self.header(abi::REQUEST_HEADER, name)?;
            return Ok(f(value.as_deref()));
        };
        // SAFETY: no setter ran since the lines were read in this hook (a removal drops them).
        let mut values = lines
            .as_slice()
            .iter()
            .filter(|line| unsafe { line.key() } == name.as_bytes())
            .map(|line| unsafe { line.value() });
        let Some(first) = values.next() else {
            return Ok(f(None));
        };
        let Some(second) = values.next() else {
            return Ok(f(Some(first)));
        };
        let mut joined = first.to_vec();
        for value in std::iter::once(second).chain(values) {
            joined.push(b',');
            joined.extend_from_slice(value);
        }
        Ok(f(Some(&joined)))
    }

    fn remove_request_header(&self, name: &str) -> Result<(), CallbackError> {
        // A setter may move Envoy's buffers: the lines read so far are no longer valid.
        *self.request.borrow_mut() = None;
        self.set(abi::REQUEST_HEADER, name, Buffer::null())
    }

    fn response_header(&self, name: &str) -> Result<Option<Vec<u8>>, CallbackError> {
        if self.response_has(name) == Some(false) {
            return Ok(None);
        }
        self.header(abi::RESPONSE_HEADER, name)
    }

    fn set_response_header(&self, name: &str, value: &str) -> Result<(), CallbackError> {
        let result = if self.response_has(name) == Some(false) {
            self.add(name, value)
        } else {
            self.set(abi::RESPONSE_HEADER, name, Buffer::of(value.as_bytes()))
        };
        self.response_now(name, true);
        result
    }

    fn remove_response_header(&self, name: &str) -> Result<(), CallbackError> {
        if self.response_has(name) == Some(false) {
            return Ok(());
        }
        let result = self.set(abi::RESPONSE_HEADER, name, Buffer::null());
        self.response_now(name, false);
        result
    }

    fn add_response_header(&self, name: &str, value: &str) -> Result<(), CallbackError> {
        let result = self.add(name, value);
        self.response_now(name, true);
        result
    }

    /// A preflight answer (details `edge_cors.preflight_*`) is encoded directly, as Envoy's own
    /// CORS filter encodes its preflight answers: it is a complete CORS response, and Envoy's
    /// local-reply path (local_reply_config mappers, gRPC translation) costs about 4,000
    /// instructions more per preflight (docs/performance.md); the access log's response code
    /// details of a preflight answer stay empty on this host (the decision is in the filter
    /// state). Every other reply (`reject_disallowed`
    /// refusing a real request) is Envoy's local reply, with `details` as its response code
    /// details, so a blocked gRPC call gets a gRPC status.
    fn send_local_reply(&self, status: u16, headers: &[(&str, &str)], details: &str) -> Result<(), CallbackError> {
        let blank = HttpHeader::of("", "");
        let lines = headers.iter().map(|(n, v)| HttpHeader::of(n, v));
        if details.starts_with(PREFLIGHT_DETAILS) {
            let mut digits = [0u8; 5];
            let status = decimal(status, &mut digits);
            let lines = std::iter::once(HttpHeader::of(":status", status)).chain(lines);
            on_stack::<_, _, REPLY_LINES>(lines, blank, |lines| {
                // SAFETY: the filter pointer is valid during the hook; the header array and
                // the strings it points to outlive the call (Envoy copies them); no body
                // follows.
                unsafe {
                    abi::envoy_dynamic_module_callback_http_send_response_headers(
                        self.filter_envoy_ptr,
                        lines.as_mut_ptr(),
                        lines.len(),
                        true,
                    );
                }
            });
            return Ok(());
        }
        on_stack::<_, _, REPLY_LINES>(lines, blank, |lines| {
            // SAFETY: the filter pointer is valid during the hook; the header array and the
            // strings it points to outlive the call (Envoy copies them); an empty body.
            unsafe {
                abi::envoy_dynamic_module_callback_http_send_response(
                    self.filter_envoy_ptr,
                    u32::from(status),
                    lines.as_mut_ptr(),
                    lines.len(),
                    Buffer::null(),
                    Buffer::of(details.as_bytes()),
                );
            }
        });
        Ok(())
    }

    fn increment_counter(&self, id: u32) -> Result<(), CallbackError> {
        let id = usize::try_from(id).map_err(|_| CallbackError::IdOutOfRange)?;
        // SAFETY: the filter pointer is valid during the hook; no labels.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_increment_counter(
                self.filter_envoy_ptr,
                id,
                std::ptr::null_mut(),
                0,
                1,
            )
        };
        metrics_result(result)
    }

    /// `xds.route_name` through the ABI's attribute read; `None` when no route matched (Envoy
    /// answers an empty name then).
    fn route_name(&self) -> Result<Option<Vec<u8>>, CallbackError> {
        let mut name = Buffer::null();
        // SAFETY: the filter pointer is valid during the hook; `name` outlives the call.
        let found = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_get_attribute_string(
                self.filter_envoy_ptr,
                abi::ATTRIBUTE_XDS_ROUTE_NAME,
                &mut name,
            )
        };
        // SAFETY: Envoy's buffer (the route's own name) is valid during the hook; it is copied
        // before anything else is called.
        let bytes = if found { unsafe { name.bytes() } } else { &[] };
        Ok((!bytes.is_empty()).then(|| bytes.to_vec()))
    }

    /// Envoy's filter state under `key` itself (`edge_cors`: `%FILTER_STATE(edge_cors:PLAIN)%`);
    /// the proxy-wasm host's `wasm.` prefix is the proxy-wasm ABI's, not Envoy's.
    fn set_filter_state(&self, key: &str, value: &str) -> Result<(), CallbackError> {
        // SAFETY: the filter pointer is valid during the hook; both buffers outlive the call
        // (Envoy copies them).
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_set_filter_state_bytes(
                self.filter_envoy_ptr,
                Buffer::of(key.as_bytes()),
                Buffer::of(value.as_bytes()),
            )
        };
        ok.then_some(()).ok_or(CallbackError::Refused)
    }

    fn log(&self, level: Level, message: &str) {
        log(level, message);
    }

    fn now(&self) -> Option<Duration> {
        now()
    }

    fn worker_index(&self) -> usize {
        // SAFETY: the filter pointer is valid during the hook.
        let index = unsafe { abi::envoy_dynamic_module_callback_http_filter_get_worker_index(self.filter_envoy_ptr) };
        usize::try_from(index).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_written_in_decimal_without_allocating() {
        let mut buf = [0u8; 5];
        assert_eq!(decimal(204, &mut buf), "204");
        assert_eq!(decimal(0, &mut buf), "0");
        assert_eq!(decimal(9, &mut buf), "9");
        assert_eq!(decimal(65535, &mut buf), "65535");
    }

    #[test]
    fn each_cors_response_header_has_its_own_bit_and_other_names_none() {
        let bits: Vec<u32> = CORS_RESPONSE_HEADERS
            .iter()
            .filter_map(|h| tracked_bit(h.as_bytes()))
            .collect();
        assert_eq!(bits.len(), CORS_RESPONSE_HEADERS.len());
        assert_eq!(bits.iter().fold(0, |all, b| all | b).count_ones() as usize, bits.len());
        assert_eq!(tracked_bit(b"vary"), None);
        assert_eq!(tracked_bit(b"access-control-request-method"), None);
        assert_eq!(
            tracked_bit(b"Access-Control-Allow-Origin"),
            None,
            "Envoy's names are lower-case"
        );
    }
}
