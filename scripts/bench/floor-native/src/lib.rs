//! An Envoy dynamic-module HTTP filter that does nothing: it exports every hook Envoy 1.40
//! resolves, returns Continue from each, and allocates nothing per stream (the configuration and
//! every stream share one static byte). Envoy still builds its wrapper for each stream and
//! dispatches each hook, so this is the floor any dynamic-module filter pays.

use std::ffi::{c_char, c_void};

static STATE: u8 = 0;

fn state() -> *const c_void {
    std::ptr::addr_of!(STATE).cast()
}

#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    c"v0.2.0".as_ptr()
}

#[repr(C)]
pub struct Buffer {
    ptr: *const u8,
    length: usize,
}

#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_new(_: *mut c_void, _: Buffer, _: Buffer) -> *const c_void {
    state()
}

#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_new(_: *const c_void, _: *mut c_void) -> *const c_void {
    state()
}

#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_new(_: Buffer, _: Buffer) -> *const c_void {
    std::ptr::null()
}

/// Hooks that take (filter, module) and maybe more arguments and return Continue (0) or nothing:
/// the extra arguments are ignored, so one signature per return type serves them all.
macro_rules! noop {
    ($ret:ty: $($name:ident),*) => {$(
        #[unsafe(no_mangle)]
        pub extern "C" fn $name(_: *mut c_void, _: *const c_void) -> $ret {
            Default::default()
        }
    )*};
}

noop!(u32: envoy_dynamic_module_on_http_filter_request_headers, envoy_dynamic_module_on_http_filter_request_body,
    envoy_dynamic_module_on_http_filter_request_trailers, envoy_dynamic_module_on_http_filter_response_headers,
    envoy_dynamic_module_on_http_filter_response_body, envoy_dynamic_module_on_http_filter_response_trailers);
noop!((): envoy_dynamic_module_on_http_filter_stream_complete, envoy_dynamic_module_on_http_filter_http_callout_done,
    envoy_dynamic_module_on_http_filter_http_stream_headers, envoy_dynamic_module_on_http_filter_http_stream_data,
    envoy_dynamic_module_on_http_filter_http_stream_trailers, envoy_dynamic_module_on_http_filter_http_stream_complete,
    envoy_dynamic_module_on_http_filter_http_stream_reset, envoy_dynamic_module_on_http_filter_scheduled,
    envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark,
    envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark);

#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(_: *const c_void) {}

#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_destroy(_: *const c_void) {}

#[unsafe(no_mangle)]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_destroy(_: *const c_void) {}
