//! A recording host (feature `test-support`): it answers from the request and response
//! headers it is given, applies response changes to its own list, and records every call, so
//! tests assert exactly which host calls the filter makes, in which order.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use super::{Level, RootHost, StreamHost};

/// One host call, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// [`RootHost::plugin_config`].
    PluginConfig,
    /// [`RootHost::define_counter`].
    DefineCounter(String),
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
    /// [`StreamHost::increment_counter`].
    IncrementCounter(u32),
    /// [`StreamHost::worker_index`].
    WorkerIndex,
}

/// The error of a call the mock was told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockError;

/// Which calls fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// Every request header read.
    RequestHeaderRead,
    /// Every response header read.
    ResponseHeaderRead,
    /// Every response header change (set, remove, add).
    ResponseHeaderWrite,
    /// Removing a request header.
    RequestHeaderRemove,
    /// Sending a local reply.
    LocalReply,
    /// Defining a counter.
    DefineCounter,
    /// Incrementing a counter.
    IncrementCounter,
    /// Setting the tick period.
    Tick,
}

/// The recording host. Counter ids are handed out from 0 in definition order.
#[derive(Debug, Default)]
pub struct MockHost {
    /// The plugin configuration [`RootHost::plugin_config`] returns.
    pub config: Vec<u8>,
    /// Request header lines (lower-case names); several lines of one name are comma-joined
    /// when read, as Envoy does.
    pub request: Vec<(String, Vec<u8>)>,
    /// Response header lines; the filter's changes apply here.
    pub response: RefCell<Vec<(String, String)>>,
    /// What `now` returns; `None`: the host cannot tell.
    pub time: Cell<Option<Duration>>,
    /// What `memory_pages` returns (17 unless a test says otherwise; `None`: no VM).
    pub memory_pages: Option<usize>,
    /// What `worker_index` returns.
    pub worker: usize,
    fails: Vec<Fail>,
    calls: RefCell<Vec<Call>>,
    next_counter: Cell<u32>,
}

impl MockHost {
    /// A host whose plugin configuration is `config`.
    pub fn with_config(config: &str) -> MockHost {
        MockHost {
            config: config.as_bytes().to_vec(),
            time: Cell::new(Some(Duration::from_secs(1_000_000))),
            memory_pages: Some(17),
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
            memory_pages: Some(17),
            ..MockHost::default()
        }
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

    fn define_counter(&self, name: &str) -> Result<u32, MockError> {
        self.record(Call::DefineCounter(name.to_string()));
        self.fails(Fail::DefineCounter)?;
        let id = self.next_counter.get();
        self.next_counter.set(id + 1);
        Ok(id)
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
        self.memory_pages
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

    fn send_local_reply(&self, status: u16, headers: Vec<(&str, &str)>, details: &str) -> Result<(), MockError> {
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
