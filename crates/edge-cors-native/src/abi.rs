//! The part of Envoy's dynamic-module ABI (`source/extensions/dynamic_modules/abi/abi.h`, ABI
//! version v0.2.0 in Envoy 1.40) that edge-cors uses, declared by hand: the types, the
//! callbacks Envoy exports, and the enum values. Every callback declared here is checked
//! against the symbols the Envoy binary exports (tests/native/test_abi.py): Envoy loads a
//! module with `RTLD_NOW`, so one import the binary lacks makes the module fail to load.
//!
//! Buffers are passed by value as (pointer, length) pairs; C enums are `int`, declared here as
//! `u32` (same register and size on every target Envoy ships for).

use std::ffi::c_void;

/// `envoy_dynamic_module_type_envoy_buffer` and `..._module_buffer`: the same layout, owned by
/// Envoy or by the module depending on the direction.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Buffer {
    pub ptr: *const u8,
    pub length: usize,
}

impl Buffer {
    /// A buffer over bytes the module owns for the duration of the call.
    pub fn of(bytes: &[u8]) -> Buffer {
        Buffer {
            ptr: bytes.as_ptr(),
            length: bytes.len(),
        }
    }

    /// The null buffer: "no value" (a header set to it is removed).
    pub fn null() -> Buffer {
        Buffer {
            ptr: std::ptr::null(),
            length: 0,
        }
    }

    /// The bytes of a buffer Envoy filled in.
    ///
    /// # Safety
    /// `ptr` is null or valid for `length` bytes for the returned lifetime (Envoy's buffers
    /// live until the current hook returns or a setter is called).
    pub unsafe fn bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: non-null, and valid for `length` bytes by the caller's contract.
            unsafe { std::slice::from_raw_parts(self.ptr, self.length) }
        }
    }
}

/// `envoy_dynamic_module_type_module_http_header` (one header line of a local reply) and
/// `envoy_dynamic_module_type_envoy_http_header` (one line of Envoy's header map): the same
/// layout.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HttpHeader {
    pub key_ptr: *const u8,
    pub key_length: usize,
    pub value_ptr: *const u8,
    pub value_length: usize,
}

impl HttpHeader {
    pub fn of(name: &str, value: &str) -> HttpHeader {
        HttpHeader::of_bytes(name.as_bytes(), value.as_bytes())
    }

    /// A line over bytes (a header Envoy hands out, in the fake Envoy of the tests).
    pub fn of_bytes(name: &[u8], value: &[u8]) -> HttpHeader {
        HttpHeader {
            key_ptr: name.as_ptr(),
            key_length: name.len(),
            value_ptr: value.as_ptr(),
            value_length: value.len(),
        }
    }

    /// The name of a line Envoy filled in.
    ///
    /// # Safety
    /// As [`Buffer::bytes`].
    pub unsafe fn key<'a>(&self) -> &'a [u8] {
        // SAFETY: by the caller's contract.
        unsafe {
            Buffer {
                ptr: self.key_ptr,
                length: self.key_length,
            }
            .bytes()
        }
    }

    /// The value of a line Envoy filled in.
    ///
    /// # Safety
    /// As [`Buffer::bytes`].
    pub unsafe fn value<'a>(&self) -> &'a [u8] {
        // SAFETY: by the caller's contract.
        unsafe {
            Buffer {
                ptr: self.value_ptr,
                length: self.value_length,
            }
            .bytes()
        }
    }
}

/// `envoy_dynamic_module_type_http_filter_config_envoy_ptr`.
pub type ConfigEnvoyPtr = *mut c_void;
/// `envoy_dynamic_module_type_http_filter_envoy_ptr`.
pub type FilterEnvoyPtr = *mut c_void;
/// `envoy_dynamic_module_type_http_filter_config_module_ptr`,
/// `..._per_route_config_module_ptr` and `..._http_filter_module_ptr`.
pub type ModulePtr = *const c_void;

/// `envoy_dynamic_module_type_http_header_type`.
pub const REQUEST_HEADER: u32 = 0;
pub const RESPONSE_HEADER: u32 = 2;

/// `envoy_dynamic_module_type_log_level`.
pub const LOG_INFO: u32 = 2;
pub const LOG_WARN: u32 = 3;
pub const LOG_ERROR: u32 = 4;

/// `envoy_dynamic_module_type_attribute_id`: `xds.route_name` (the 62nd attribute of the
/// enum, counted from `request.path` = 0; the same position in every stored `abi.h` that has it).
pub const ATTRIBUTE_XDS_ROUTE_NAME: u32 = 61;

/// `envoy_dynamic_module_type_metrics_result`: Success.
pub const METRICS_SUCCESS: u32 = 0;

/// The `*_status` enums of the request/response hooks: Continue, and (headers) StopIteration.
pub const CONTINUE: u32 = 0;
pub const STOP_ITERATION: u32 = 1;

/// What `envoy_dynamic_module_on_program_init` returns: the ABI this module was written
/// against (Envoy 1.40 logs "Dynamic module ABI version v0.2.0 matched").
pub const ABI_VERSION: &[u8] = b"v0.2.0\0";

// The callbacks edge-cors imports. Keep this list in step with tests/native/test_abi.py, which
// reads the module's undefined symbols and checks each against the Envoy binary.
unsafe extern "C" {
    pub fn envoy_dynamic_module_callback_log(level: u32, message: Buffer);
    pub fn envoy_dynamic_module_callback_get_concurrency() -> u32;
    pub fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        config_envoy_ptr: ConfigEnvoyPtr,
        name: Buffer,
        label_names: *mut Buffer,
        label_names_length: usize,
        counter_id: *mut usize,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_http_filter_config_define_gauge(
        config_envoy_ptr: ConfigEnvoyPtr,
        name: Buffer,
        label_names: *mut Buffer,
        label_names_length: usize,
        gauge_id: *mut usize,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_http_filter_config_set_gauge(
        config_envoy_ptr: ConfigEnvoyPtr,
        id: usize,
        label_values: *mut Buffer,
        label_values_length: usize,
        value: u64,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_string(
        filter_envoy_ptr: FilterEnvoyPtr,
        attribute_id: u32,
        result: *mut Buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_filter_state_bytes(
        filter_envoy_ptr: FilterEnvoyPtr,
        key: Buffer,
        value: Buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter_envoy_ptr: FilterEnvoyPtr,
        id: usize,
        label_values: *mut Buffer,
        label_values_length: usize,
        value: u64,
    ) -> u32;
    pub fn envoy_dynamic_module_callback_http_get_header(
        filter_envoy_ptr: FilterEnvoyPtr,
        header_type: u32,
        key: Buffer,
        result: *mut Buffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_get_headers_size(
        filter_envoy_ptr: FilterEnvoyPtr,
        header_type: u32,
    ) -> usize;
    pub fn envoy_dynamic_module_callback_http_get_headers(
        filter_envoy_ptr: FilterEnvoyPtr,
        header_type: u32,
        result_headers: *mut HttpHeader,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_set_header(
        filter_envoy_ptr: FilterEnvoyPtr,
        header_type: u32,
        key: Buffer,
        value: Buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_add_header(
        filter_envoy_ptr: FilterEnvoyPtr,
        header_type: u32,
        key: Buffer,
        value: Buffer,
    ) -> bool;
    pub fn envoy_dynamic_module_callback_http_send_response(
        filter_envoy_ptr: FilterEnvoyPtr,
        status_code: u32,
        headers: *mut HttpHeader,
        headers_length: usize,
        body: Buffer,
        details: Buffer,
    );
    pub fn envoy_dynamic_module_callback_http_send_response_headers(
        filter_envoy_ptr: FilterEnvoyPtr,
        headers: *mut HttpHeader,
        headers_length: usize,
        end_stream: bool,
    );
    pub fn envoy_dynamic_module_callback_http_filter_get_worker_index(filter_envoy_ptr: FilterEnvoyPtr) -> u32;
}
