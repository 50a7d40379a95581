//! The proxy-wasm SDK's helper methods, replaced by ones that make no host call.
//!
//! The traits `Context`, `RootContext` and `HttpContext` come with about a hundred helpers
//! (`get_http_request_header`, `dispatch_grpc_call`, `get_shared_data`, ...) whose default
//! bodies call the host and unwrap the result: a host error or a non-UTF-8 header panics, and a
//! panic kills the VM for every request on the worker. edge-cors never calls them (src/host.rs
//! makes every host call through `proxy_wasm::hostcalls` with the result handled). They are
//! linked all the same, every one: each sits in the vtable of the `Box<dyn ...>` the SDK keeps
//! for a context, and no tool can tell a vtable entry is never called. Overriding them with
//! bodies that answer "nothing" (None, empty, an error, no effect) keeps that panicking code,
//! and the host-call wrappers only it uses, out of the module: 5.3 KB of it.
//!
//! No code may call one of these (it would get "nothing" back): clippy.toml lists every one
//! of them as a disallowed method, so suite 10-lint fails on a call. The methods the SDK calls
//! (`on_*`, `create_http_context`, `get_type`) are not here: src/host.rs implements those it
//! needs and the rest keep the SDK's (host-call free) defaults.

/// The four getters of a header map (all entries, as text or bytes; one entry, as text or
/// bytes), named for it: every map of the SDK has them, an HTTP call's response too.
macro_rules! header_map_getters {
    ($get_all:ident, $get_all_bytes:ident, $get:ident, $get_bytes:ident) => {
        fn $get_all(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn $get_all_bytes(&self) -> Vec<(String, proxy_wasm::types::Bytes)> {
            Vec::new()
        }
        fn $get(&self, _name: &str) -> Option<String> {
            None
        }
        fn $get_bytes(&self, _name: &str) -> Option<proxy_wasm::types::Bytes> {
            None
        }
    };
}

/// `Context` helpers: see the module documentation.
macro_rules! context_helpers {
    () => {
        fn get_current_time(&self) -> std::time::SystemTime {
            std::time::UNIX_EPOCH
        }
        fn get_property(&self, _path: Vec<&str>) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn set_property(&self, _path: Vec<&str>, _value: Option<&[u8]>) {}
        fn get_shared_data(&self, _key: &str) -> (Option<proxy_wasm::types::Bytes>, Option<u32>) {
            (None, None)
        }
        fn set_shared_data(
            &self,
            _key: &str,
            _value: Option<&[u8]>,
            _cas: Option<u32>,
        ) -> Result<(), proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        fn remove_shared_data(&self, _key: &str, _cas: Option<u32>) -> Result<(), proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        fn register_shared_queue(&self, _name: &str) -> u32 {
            0
        }
        fn resolve_shared_queue(&self, _vm_id: &str, _name: &str) -> Option<u32> {
            None
        }
        fn dequeue_shared_queue(
            &self,
            _queue_id: u32,
        ) -> Result<Option<proxy_wasm::types::Bytes>, proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        fn enqueue_shared_queue(&self, _queue_id: u32, _value: Option<&[u8]>) -> Result<(), proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        fn dispatch_http_call(
            &self,
            _upstream: &str,
            _headers: Vec<(&str, &str)>,
            _body: Option<&[u8]>,
            _trailers: Vec<(&str, &str)>,
            _timeout: std::time::Duration,
        ) -> Result<u32, proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        header_map_getters!(
            get_http_call_response_headers,
            get_http_call_response_headers_bytes,
            get_http_call_response_header,
            get_http_call_response_header_bytes
        );
        fn get_http_call_response_body(&self, _start: usize, _max_size: usize) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        header_map_getters!(
            get_http_call_response_trailers,
            get_http_call_response_trailers_bytes,
            get_http_call_response_trailer,
            get_http_call_response_trailer_bytes
        );
        fn dispatch_grpc_call(
            &self,
            _upstream_name: &str,
            _service_name: &str,
            _method_name: &str,
            _initial_metadata: Vec<(&str, &[u8])>,
            _message: Option<&[u8]>,
            _timeout: std::time::Duration,
        ) -> Result<u32, proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        fn get_grpc_call_response_body(&self, _start: usize, _max_size: usize) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn cancel_grpc_call(&self, _token_id: u32) {}
        fn open_grpc_stream(
            &self,
            _cluster_name: &str,
            _service_name: &str,
            _method_name: &str,
            _initial_metadata: Vec<(&str, &[u8])>,
        ) -> Result<u32, proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        fn get_grpc_stream_initial_metadata(&self) -> Vec<(String, proxy_wasm::types::Bytes)> {
            Vec::new()
        }
        fn get_grpc_stream_initial_metadata_value(&self, _name: &str) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn send_grpc_stream_message(&self, _token_id: u32, _message: Option<&[u8]>, _end_stream: bool) {}
        fn get_grpc_stream_message(&mut self, _start: usize, _max_size: usize) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn get_grpc_stream_trailing_metadata(&self) -> Vec<(String, proxy_wasm::types::Bytes)> {
            Vec::new()
        }
        fn get_grpc_stream_trailing_metadata_value(&self, _name: &str) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn cancel_grpc_stream(&self, _token_id: u32) {}
        fn close_grpc_stream(&self, _token_id: u32) {}
        fn get_grpc_status(&self) -> (u32, Option<String>) {
            (2, None)
        }
        fn call_foreign_function(
            &self,
            _function_name: &str,
            _arguments: Option<&[u8]>,
        ) -> Result<Option<proxy_wasm::types::Bytes>, proxy_wasm::types::Status> {
            Err(proxy_wasm::types::Status::InternalFailure)
        }
        fn done(&self) {}
    };
}

/// `RootContext` helpers: see the module documentation.
macro_rules! root_context_helpers {
    () => {
        fn get_vm_configuration(&self) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn get_plugin_configuration(&self) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn set_tick_period(&self, _period: std::time::Duration) {}
    };
}

/// The eleven helpers of one header map of an HTTP stream (request or response headers or
/// trailers), named for it: the four maps have the same helpers, so their signatures are
/// written once here.
macro_rules! header_map_helpers {
    (
        $get_all:ident, $get_all_bytes:ident, $set_all:ident, $set_all_bytes:ident,
        $get:ident, $get_bytes:ident, $set:ident, $set_bytes:ident,
        $add:ident, $add_bytes:ident, $remove:ident
    ) => {
        header_map_getters!($get_all, $get_all_bytes, $get, $get_bytes);
        fn $set_all(&self, _map: Vec<(&str, &str)>) {}
        fn $set_all_bytes(&self, _map: Vec<(&str, &[u8])>) {}
        fn $set(&self, _name: &str, _value: Option<&str>) {}
        fn $set_bytes(&self, _name: &str, _value: Option<&[u8]>) {}
        fn $add(&self, _name: &str, _value: &str) {}
        fn $add_bytes(&self, _name: &str, _value: &[u8]) {}
        fn $remove(&self, _name: &str) {}
    };
}

/// `HttpContext` helpers: see the module documentation.
macro_rules! http_context_helpers {
    () => {
        header_map_helpers!(
            get_http_request_headers,
            get_http_request_headers_bytes,
            set_http_request_headers,
            set_http_request_headers_bytes,
            get_http_request_header,
            get_http_request_header_bytes,
            set_http_request_header,
            set_http_request_header_bytes,
            add_http_request_header,
            add_http_request_header_bytes,
            remove_http_request_header
        );
        header_map_helpers!(
            get_http_request_trailers,
            get_http_request_trailers_bytes,
            set_http_request_trailers,
            set_http_request_trailers_bytes,
            get_http_request_trailer,
            get_http_request_trailer_bytes,
            set_http_request_trailer,
            set_http_request_trailer_bytes,
            add_http_request_trailer,
            add_http_request_trailer_bytes,
            remove_http_request_trailer
        );
        header_map_helpers!(
            get_http_response_headers,
            get_http_response_headers_bytes,
            set_http_response_headers,
            set_http_response_headers_bytes,
            get_http_response_header,
            get_http_response_header_bytes,
            set_http_response_header,
            set_http_response_header_bytes,
            add_http_response_header,
            add_http_response_header_bytes,
            remove_http_response_header
        );
        header_map_helpers!(
            get_http_response_trailers,
            get_http_response_trailers_bytes,
            set_http_response_trailers,
            set_http_response_trailers_bytes,
            get_http_response_trailer,
            get_http_response_trailer_bytes,
            set_http_response_trailer,
            set_http_response_trailer_bytes,
            add_http_response_trailer,
            add_http_response_trailer_bytes,
            remove_http_response_trailer
        );
        fn get_http_request_body(&self, _start: usize, _max_size: usize) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn set_http_request_body(&self, _start: usize, _size: usize, _value: &[u8]) {}
        fn resume_http_request(&self) {}
        fn reset_http_request(&self) {}
        fn get_http_response_body(&self, _start: usize, _max_size: usize) -> Option<proxy_wasm::types::Bytes> {
            None
        }
        fn set_http_response_body(&self, _start: usize, _size: usize, _value: &[u8]) {}
        fn resume_http_response(&self) {}
        fn reset_http_response(&self) {}
        fn send_http_response(&self, _status_code: u32, _headers: Vec<(&str, &str)>, _body: Option<&[u8]>) {}
        fn send_grpc_response(
            &self,
            _grpc_status: proxy_wasm::types::GrpcStatusCode,
            _grpc_status_message: Option<&str>,
            _custom_metadata: Vec<(&str, &[u8])>,
        ) {
        }
    };
}
