//! The core's host traits over Envoy's dynamic-module callbacks: [`ConfigHost`] while a filter
//! configuration is created (and for the periodic summary), [`StreamHost`] for one request.
//! No CORS rule and no counting or logging policy lives here.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edge_cors_core::host::{Level, RootHost, StreamHost};

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

impl RootHost for ConfigHost<'_> {
    type Error = CallbackError;

    fn plugin_config(&self) -> Vec<u8> {
        self.config.to_vec()
    }

    fn define_counter(&self, name: &str) -> Result<u32, CallbackError> {
        if self.config_envoy_ptr.is_null() {
            return Err(CallbackError::Unavailable);
        }
        let mut id = 0usize;
        // SAFETY: Envoy's config pointer is valid during on_http_filter_config_new (the only
        // time it is non-null here); no labels; `id` outlives the call.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_config_define_counter(
                self.config_envoy_ptr,
                Buffer::of(name.as_bytes()),
                std::ptr::null_mut(),
                0,
                &mut id,
            )
        };
        if result != abi::METRICS_SUCCESS {
            return Err(CallbackError::Metrics(result));
        }
        u32::try_from(id).map_err(|_| CallbackError::IdOutOfRange)
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

/// The host of one request: Envoy's filter pointer, valid for the hook being run.
pub(crate) struct Stream {
    pub(crate) filter_envoy_ptr: FilterEnvoyPtr,
}

impl Stream {
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
}

impl StreamHost for Stream {
    type Error = CallbackError;

    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, CallbackError> {
        self.header(abi::REQUEST_HEADER, name)
    }

    fn remove_request_header(&self, name: &str) -> Result<(), CallbackError> {
        self.set(abi::REQUEST_HEADER, name, Buffer::null())
    }

    fn response_header(&self, name: &str) -> Result<Option<Vec<u8>>, CallbackError> {
        self.header(abi::RESPONSE_HEADER, name)
    }

    fn set_response_header(&self, name: &str, value: &str) -> Result<(), CallbackError> {
        self.set(abi::RESPONSE_HEADER, name, Buffer::of(value.as_bytes()))
    }

    fn remove_response_header(&self, name: &str) -> Result<(), CallbackError> {
        self.set(abi::RESPONSE_HEADER, name, Buffer::null())
    }

    fn add_response_header(&self, name: &str, value: &str) -> Result<(), CallbackError> {
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

    /// Envoy's local reply (`sendLocalReply`), with `details` as the response code details the
    /// access log shows (`%RESPONSE_CODE_DETAILS%`).
    fn send_local_reply(&self, status: u16, headers: Vec<(&str, &str)>, details: &str) -> Result<(), CallbackError> {
        let mut lines: Vec<HttpHeader> = headers.iter().map(|(n, v)| HttpHeader::of(n, v)).collect();
        // SAFETY: the filter pointer is valid during the hook; the header array and the strings
        // it points to outlive the call (Envoy copies them); an empty body.
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
        if result == abi::METRICS_SUCCESS {
            Ok(())
        } else {
            Err(CallbackError::Metrics(result))
        }
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
