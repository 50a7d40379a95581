//! A recording host (feature `test-support`): it answers from the request and response
//! headers it is given, applies response changes to its own list, and records every call, so
//! tests assert exactly which host calls the filter makes, in which order.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use super::{HostCallError, Level, RootHost, StreamHost};
use crate::ops::metrics::{tagged_name, Family};

fn owned(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

/// One host call, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// [`RootHost::plugin_config`].
    PluginConfig,
    /// [`RootHost::define_counter`]: the family's name and the label pairs.
    DefineCounter(String, Vec<(String, String)>),
    /// [`RootHost::define_gauge`].
    DefineGauge(String, Vec<(String, String)>),
    /// [`RootHost::set_gauge`].
    SetGauge(u32, u64),
    /// [`RootHost::set_tick_period`].
    SetTickPeriod(Duration),
    /// [`RootHost::memory_pages`].
    MemoryPages,
    /// `now` of either trait.
    Now,
    /// `log` of either trait.
    Log(Level, String),
    /// [`StreamHost::request_header`].
    GetRequestHeader(String),
    /// [`StreamHost::remove_request_header`].
    RemoveRequestHeader(String),
    /// [`StreamHost::route_name`].
    GetRouteName,
    /// [`StreamHost::response_header`].
    GetResponseHeader(String),
    /// [`StreamHost::set_response_header`].
    SetResponseHeader(String, String),
    /// [`StreamHost::remove_response_header`].
    RemoveResponseHeader(String),
    /// [`StreamHost::add_response_header`].
    AddResponseHeader(String, String),
    /// [`StreamHost::send_local_reply`].
    SendLocalReply {
        /// The status.
        status: u16,
        /// The header lines.
        headers: Vec<(String, String)>,
        /// The access-log details.
        details: String,
    },
    /// [`StreamHost::increment_counter`] and [`RootHost::count`].
    IncrementCounter(u32),
    /// [`StreamHost::worker_index`].
    WorkerIndex,
    /// [`StreamHost::set_filter_state`].
    SetFilterState(String, String),
    /// [`RootHost::dispatch_http_call`].
    DispatchHttpCall {
        /// The cluster.
        cluster: String,
        /// The request headers.
        headers: Vec<(String, String)>,
        /// The timeout.
        timeout: Duration,
    },
    /// [`RootHost::shared_data`].
    SharedData(String),
    /// [`RootHost::set_shared_data`].
    SetSharedData(String),
}

/// The shared data of several mock hosts (the workers of one Envoy): value and token per key.
#[derive(Debug, Default)]
pub struct SharedStore {
    data: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    next_cas: Cell<u32>,
}

/// The answer a mock host delivers for an HTTP callout.
#[derive(Debug, Clone, Default)]
pub struct CallResponse {
    /// Header lines (`:status` first).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl CallResponse {
    /// An answer with `status`, the `extra` headers and `body`.
    pub fn new(status: u16, extra: &[(&str, &str)], body: &str) -> CallResponse {
        let mut headers = vec![(":status".to_string(), status.to_string().into_bytes())];
        headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())));
        CallResponse {
            headers,
            body: body.as_bytes().to_vec(),
        }
    }
}

/// The error of a call the mock was told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockError;

/// Which calls fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// Every request header read.
    RequestHeaderRead,
    /// Reading the route name.
    RouteNameRead,
    /// Every response header read.
    ResponseHeaderRead,
    /// Every response header change (set, remove, add).
    ResponseHeaderWrite,
    /// Removing a request header.
    RequestHeaderRemove,
    /// Sending a local reply.
    LocalReply,
    /// Defining a counter or a gauge.
    DefineCounter,
    /// Setting a gauge.
    SetGauge,
    /// Setting the filter state.
    FilterState,
    /// Incrementing a counter.
    IncrementCounter,
    /// Setting the tick period.
    Tick,
    /// Sending an HTTP callout.
    Dispatch,
    /// Shared data (both calls answer `Unsupported`, as a host without it).
    SharedDataUnsupported,
}

/// The recording host. Metric ids (counters and gauges) are handed out from 0 in definition order.
#[derive(Debug, Default)]
pub struct MockHost {
    /// The plugin configuration [`RootHost::plugin_config`] returns.
    pub config: Vec<u8>,
    /// Request header lines (lower-case names); several lines of one name are comma-joined
    /// when read, as Envoy does.
    pub request: Vec<(String, Vec<u8>)>,
    /// The name of the matched route [`StreamHost::route_name`] returns (`None`: no route).
    pub route_name: Option<String>,
    /// Response header lines; the filter's changes apply here.
    pub response: RefCell<Vec<(String, String)>>,
    /// What `now` returns; `None`: the host cannot tell.
    pub time: Cell<Option<Duration>>,
    /// What `worker_index` returns.
    pub worker: usize,
    /// `memory_pages` answers `None`, as a host without a VM.
    pub without_vm: bool,
    /// The data shared with other mock hosts (the same `Rc` in each).
    pub shared: Rc<SharedStore>,
    /// The answer delivered for callouts, read by the `http_call_response_*` calls.
    pub call_response: RefCell<CallResponse>,
    /// What `random_u64` draws from (a splitmix64 sequence).
    pub seed: Cell<u64>,
    /// The memory size `memory_pages` reports.
    pub pages: Cell<usize>,
    fails: Vec<Fail>,
    calls: RefCell<Vec<Call>>,
    next_counter: Cell<u32>,
    next_token: Cell<u32>,
    /// The name of each metric id, as a host without labels renders it ([`tagged_name`]).
    metric_names: RefCell<Vec<String>>,
    gauge_values: RefCell<HashMap<u32, u64>>,
}

impl MockHost {
    /// A host whose plugin configuration is `config`.
    pub fn with_config(config: &str) -> MockHost {
        MockHost {
            config: config.as_bytes().to_vec(),
            time: Cell::new(Some(Duration::from_secs(1_000_000))),
            ..MockHost::default()
        }
    }

    /// A host serving a request with these header lines, at a fixed time.
    pub fn with_request(lines: &[(&str, &str)]) -> MockHost {
        MockHost {
            request: lines
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
            time: Cell::new(Some(Duration::from_secs(1_000_000))),
            ..MockHost::default()
        }
    }

    /// A worker of the same Envoy as `other`: it shares its data and configuration, and draws
    /// other random numbers.
    pub fn sibling(other: &MockHost, seed: u64) -> MockHost {
        MockHost {
            config: other.config.clone(),
            time: Cell::new(other.time.get()),
            shared: Rc::clone(&other.shared),
            seed: Cell::new(seed),
            ..MockHost::default()
        }
    }

    /// Move the clock on by `d`.
    pub fn advance(&self, d: Duration) {
        self.time.set(self.time.get().map(|t| t + d));
    }

    fn metric_id(&self, family: &Family, labels: &[(&str, &str)]) -> Option<u32> {
        let name = tagged_name(family.name, labels);
        let names = self.metric_names.borrow();
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The value of the gauge of `family` with these labels, if it was set.
    pub fn gauge(&self, family: &Family, labels: &[(&str, &str)]) -> Option<u64> {
        let id = self.metric_id(family, labels)?;
        self.gauge_values.borrow().get(&id).copied()
    }

    /// How many times the counter of `family` with these labels was incremented (over every
    /// call recorded since the last `take_calls`).
    pub fn counted(&self, family: &Family, labels: &[(&str, &str)]) -> usize {
        let Some(id) = self.metric_id(family, labels) else {
            return 0;
        };
        self.calls
            .borrow()
            .iter()
            .filter(|c| **c == Call::IncrementCounter(id))
            .count()
    }

    /// The token of the last callout sent (0: none yet).
    pub fn last_token(&self) -> u32 {
        self.next_token.get()
    }

    /// The callouts sent since the last `take_calls`: (cluster, headers).
    pub fn callouts(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.calls
            .borrow()
            .iter()
            .filter_map(|c| match c {
                Call::DispatchHttpCall { cluster, headers, .. } => Some((cluster.clone(), headers.clone())),
                _ => None,
            })
            .collect()
    }

    /// The same host, serving a request the router matched to the route named `name`.
    pub fn on_route(mut self, name: &str) -> MockHost {
        self.route_name = Some(name.to_string());
        self
    }

    /// The same host, with these calls failing.
    pub fn failing(mut self, calls: &[Fail]) -> MockHost {
        self.fails.extend_from_slice(calls);
        self
    }

    /// The calls recorded so far, and forget them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }

    /// The lines logged so far (without forgetting the calls).
    pub fn logged(&self) -> Vec<(Level, String)> {
        self.calls
            .borrow()
            .iter()
            .filter_map(|c| match c {
                Call::Log(level, line) => Some((*level, line.clone())),
                _ => None,
            })
            .collect()
    }

    fn record(&self, call: Call) {
        self.calls.borrow_mut().push(call);
    }

    /// The next metric id, handed out from 0 in definition order.
    fn next_id(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, MockError> {
        self.fails(Fail::DefineCounter)?;
        let id = self.next_counter.get();
        self.next_counter.set(id + 1);
        self.metric_names.borrow_mut().push(tagged_name(family.name, labels));
        Ok(id)
    }

    fn fails(&self, which: Fail) -> Result<(), MockError> {
        if self.fails.contains(&which) {
            Err(MockError)
        } else {
            Ok(())
        }
    }
}

impl RootHost for MockHost {
    type Error = MockError;

    fn plugin_config(&self) -> Vec<u8> {
        self.record(Call::PluginConfig);
        self.config.clone()
    }

    fn define_counter(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, MockError> {
        self.record(Call::DefineCounter(family.name.to_string(), owned(labels)));
        self.next_id(family, labels)
    }

    fn define_gauge(&self, family: &Family, labels: &[(&str, &str)]) -> Result<u32, MockError> {
        self.record(Call::DefineGauge(family.name.to_string(), owned(labels)));
        self.next_id(family, labels)
    }

    fn set_gauge(&self, id: u32, value: u64) -> Result<(), MockError> {
        self.record(Call::SetGauge(id, value));
        self.fails(Fail::SetGauge)?;
        self.gauge_values.borrow_mut().insert(id, value);
        Ok(())
    }

    fn count(&self, id: u32) -> Result<(), HostCallError> {
        self.record(Call::IncrementCounter(id));
        self.fails(Fail::IncrementCounter)
            .map_err(|e| HostCallError::Failed(format!("{e:?}")))
    }

    fn dispatch_http_call(
        &self,
        cluster: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<u32, HostCallError> {
        self.record(Call::DispatchHttpCall {
            cluster: cluster.to_string(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            timeout,
        });
        self.fails(Fail::Dispatch)
            .map_err(|_| HostCallError::Failed("BadArgument".to_string()))?;
        let token = self.next_token.get() + 1;
        self.next_token.set(token);
        Ok(token)
    }

    fn http_call_response_header(&self, name: &str) -> Option<Vec<u8>> {
        let response = self.call_response.borrow();
        response.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    fn http_call_response_body(&self, start: usize, max: usize) -> Option<Vec<u8>> {
        let response = self.call_response.borrow();
        let end = start.saturating_add(max).min(response.body.len());
        response.body.get(start..end).map(<[u8]>::to_vec)
    }

    fn shared_data(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, HostCallError> {
        self.record(Call::SharedData(key.to_string()));
        if self.fails.contains(&Fail::SharedDataUnsupported) {
            return Err(HostCallError::Unsupported);
        }
        Ok(self.shared.data.borrow().get(key).cloned())
    }

    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<bool, HostCallError> {
        self.record(Call::SetSharedData(key.to_string()));
        if self.fails.contains(&Fail::SharedDataUnsupported) {
            return Err(HostCallError::Unsupported);
        }
        let mut data = self.shared.data.borrow_mut();
        if let (Some(cas), Some((_, current))) = (cas, data.get(key)) {
            if *current != cas {
                return Ok(false);
            }
        }
        let next = self.shared.next_cas.get() + 1;
        self.shared.next_cas.set(next);
        data.insert(key.to_string(), (value.to_vec(), next));
        Ok(true)
    }

    fn random_u64(&self) -> u64 {
        let next = self.seed.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.seed.set(next);
        crate::rules::hash::mix64(next)
    }

    fn log(&self, level: Level, message: &str) {
        self.record(Call::Log(level, message.to_string()));
    }

    fn set_tick_period(&self, period: Duration) -> Result<(), MockError> {
        self.record(Call::SetTickPeriod(period));
        self.fails(Fail::Tick)
    }

    fn now(&self) -> Option<Duration> {
        self.record(Call::Now);
        self.time.get()
    }

    fn memory_pages(&self) -> Option<usize> {
        self.record(Call::MemoryPages);
        match self.pages.get() {
            _ if self.without_vm => None,
            0 => Some(17),
            n => Some(n),
        }
    }
}

impl StreamHost for MockHost {
    type Error = MockError;

    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, MockError> {
        self.record(Call::GetRequestHeader(name.to_string()));
        self.fails(Fail::RequestHeaderRead)?;
        let mut joined: Option<Vec<u8>> = None;
        for (_, v) in self.request.iter().filter(|(n, _)| n == name) {
            match &mut joined {
                Some(j) => {
                    j.push(b',');
                    j.extend_from_slice(v);
                }
                None => joined = Some(v.clone()),
            }
        }
        Ok(joined)
    }

    fn remove_request_header(&self, name: &str) -> Result<(), MockError> {
        self.record(Call::RemoveRequestHeader(name.to_string()));
        self.fails(Fail::RequestHeaderRemove)
    }

    fn route_name(&self) -> Result<Option<Vec<u8>>, MockError> {
        self.record(Call::GetRouteName);
        self.fails(Fail::RouteNameRead)?;
        Ok(self.route_name.as_ref().map(|n| n.as_bytes().to_vec()))
    }

    fn response_header(&self, name: &str) -> Result<Option<Vec<u8>>, MockError> {
        self.record(Call::GetResponseHeader(name.to_string()));
        self.fails(Fail::ResponseHeaderRead)?;
        let response = self.response.borrow();
        let mut values = response.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str());
        Ok(values
            .next()
            .map(|first| values.fold(first.to_string(), |acc, v| acc + "," + v).into_bytes()))
    }

    fn set_response_header(&self, name: &str, value: &str) -> Result<(), MockError> {
        self.record(Call::SetResponseHeader(name.to_string(), value.to_string()));
        self.fails(Fail::ResponseHeaderWrite)?;
        let mut response = self.response.borrow_mut();
        response.retain(|(n, _)| n != name);
        response.push((name.to_string(), value.to_string()));
        Ok(())
    }

    fn remove_response_header(&self, name: &str) -> Result<(), MockError> {
        self.record(Call::RemoveResponseHeader(name.to_string()));
        self.fails(Fail::ResponseHeaderWrite)?;
        self.response.borrow_mut().retain(|(n, _)| n != name);
        Ok(())
    }

    fn add_response_header(&self, name: &str, value: &str) -> Result<(), MockError> {
        self.record(Call::AddResponseHeader(name.to_string(), value.to_string()));
        self.fails(Fail::ResponseHeaderWrite)?;
        self.response.borrow_mut().push((name.to_string(), value.to_string()));
        Ok(())
    }

    fn send_local_reply(&self, status: u16, headers: &[(&str, &str)], details: &str) -> Result<(), MockError> {
        self.record(Call::SendLocalReply {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            details: details.to_string(),
        });
        self.fails(Fail::LocalReply)
    }

    fn increment_counter(&self, id: u32) -> Result<(), MockError> {
        self.record(Call::IncrementCounter(id));
        self.fails(Fail::IncrementCounter)
    }

    fn set_filter_state(&self, key: &str, value: &str) -> Result<(), MockError> {
        self.record(Call::SetFilterState(key.to_string(), value.to_string()));
        self.fails(Fail::FilterState)
    }

    fn log(&self, level: Level, message: &str) {
        RootHost::log(self, level, message);
    }

    fn now(&self) -> Option<Duration> {
        RootHost::now(self)
    }

    fn worker_index(&self) -> usize {
        self.record(Call::WorkerIndex);
        self.worker
    }
}
