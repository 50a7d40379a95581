//! Operations of a registry source (`allow_origins_from`): when to fetch (refresh, backoff,
//! jitter), which worker fetches (one per Envoy, through a claim in the host's shared data),
//! the state every worker reads, how an answer is classified, the metric names, and the rate
//! limit of failure log lines. Plain data and arithmetic; the host layer drives it.

use std::time::Duration;

use crate::rules::decimal::decimal;

use super::metrics::{
    Family, REGISTRY_AGE_SECONDS, REGISTRY_ENTRIES, REGISTRY_LOADED, REGISTRY_UPDATES, REGISTRY_VERSION,
};

/// How often each worker looks at the shared state of its sources: a due fetch starts at most
/// this late, and a list another worker applied serves here at most this late.
pub(crate) const TICK: Duration = Duration::from_millis(500);

/// A worker other than the last fetcher claims a due fetch only this long after it fell due:
/// the last fetcher keeps the job while it lives, so only its VM ever holds the memory a
/// document takes to compile.
pub(crate) const HANDOVER_MS: u64 = 2000;

/// A claimed fetch that has not completed this long after its timeout is taken over (the VM
/// that claimed it is gone).
const CLAIM_MARGIN_MS: u64 = 2000;

/// Backoff never waits longer than this (or `refresh_seconds`, if longer).
const MAX_BACKOFF_SECONDS: u64 = 300;

/// Why an update failed: the reason in the metric name and the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailReason {
    /// No answer: the connection failed or was reset, no healthy endpoint, unknown cluster.
    Unreachable,
    /// No answer within `timeout_ms`.
    Timeout,
    /// An HTTP status other than 200, or 304 to a request without an ETag.
    Status,
    /// A body over `max_bytes`.
    TooLarge,
    /// Not a registry document.
    Invalid,
    /// More entries than `max_entries`.
    TooMany,
    /// An entry that would widen the policy dangerously.
    Dangerous,
}

/// Every reason, in metric order.
pub(crate) const FAIL_REASONS: [FailReason; 7] = [
    FailReason::Unreachable,
    FailReason::Timeout,
    FailReason::Status,
    FailReason::TooLarge,
    FailReason::Invalid,
    FailReason::TooMany,
    FailReason::Dangerous,
];

impl FailReason {
    /// The name in metrics and logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailReason::Unreachable => "unreachable",
            FailReason::Timeout => "timeout",
            FailReason::Status => "status",
            FailReason::TooLarge => "too_large",
            FailReason::Invalid => "invalid",
            FailReason::TooMany => "too_many",
            FailReason::Dangerous => "dangerous",
        }
    }

    fn index(self) -> usize {
        FAIL_REASONS.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Counter ids of one source, by event: `applied`, `unchanged`, then `failed.<reason>`.
pub(crate) const APPLIED: usize = 0;
pub(crate) const UNCHANGED: usize = 1;
pub(crate) fn failed_counter(reason: FailReason) -> usize {
    2 + reason.index()
}

/// Gauge ids of one source.
pub(crate) const ENTRIES: usize = 0;
pub(crate) const AGE_SECONDS: usize = 1;
pub(crate) const VERSION: usize = 2;
pub(crate) const LOADED: usize = 3;

/// The counters of a policy's source, in id order: family, outcome and reason labels
/// (`applied`, `unchanged`, then `failed` by reason). Only the worker that fetched counts, so
/// each update is counted once per Envoy.
pub(crate) fn counter_labels() -> Vec<(&'static Family, &'static str, &'static str)> {
    let mut labels = vec![
        (&REGISTRY_UPDATES, "applied", "none"),
        (&REGISTRY_UPDATES, "unchanged", "none"),
    ];
    labels.extend(FAIL_REASONS.iter().map(|r| (&REGISTRY_UPDATES, "failed", r.as_str())));
    labels
}

/// The gauges of a policy's source, in id order (labelled by the policy alone).
pub(crate) const GAUGES: [&Family; 4] = [
    &REGISTRY_ENTRIES,
    &REGISTRY_AGE_SECONDS,
    &REGISTRY_VERSION,
    &REGISTRY_LOADED,
];

/// A version as a gauge value: the number itself when it is a whole number below 2^53 (a
/// serial or a timestamp, as the documentation recommends), otherwise a 32-bit hash of the
/// string, equal on every Envoy serving the same version.
pub(crate) fn version_gauge(version: &str) -> u64 {
    match decimal(version) {
        Some(n) if n < (1 << 53) => n,
        _ => crate::rules::hash::hash64(version.as_bytes()) >> 32,
    }
}

/// The nominal wait before the next fetch after `failures` consecutive failures (0 after a
/// success): `refresh_seconds`, doubled per failure, at most 300 s (or `refresh_seconds`).
pub(crate) fn nominal_wait_ms(refresh_seconds: u64, failures: u32) -> u64 {
    let cap = refresh_seconds.max(MAX_BACKOFF_SECONDS);
    let doubled = refresh_seconds.saturating_mul(1u64 << failures.min(20));
    doubled.min(cap).saturating_mul(1000)
}

/// The wait actually taken: drawn uniformly from the upper half of the nominal wait with
/// `random`, so Envoys started together drift apart instead of polling in lockstep, and no
/// wait is longer than the nominal one (an added origin serves within `refresh_seconds` plus
/// one fetch).
pub(crate) fn jittered_wait_ms(refresh_seconds: u64, failures: u32, random: u64) -> u64 {
    let d = nominal_wait_ms(refresh_seconds, failures);
    d / 2 + random % (d - d / 2 + 1)
}

/// The state of one source, shared by the workers of an Envoy (one small value in the host's
/// shared data, read by every worker on every tick).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SharedState {
    /// Bumped on every applied list; the list's value carries the same number.
    pub(crate) generation: u64,
    /// The worker that fetches (its random token), 0 before the first claim.
    pub(crate) fetcher: u64,
    /// When the next fetch is due, ms since the epoch.
    pub(crate) next_due_ms: u64,
    /// A fetch is in flight until then (0: none).
    pub(crate) claim_until_ms: u64,
    /// Consecutive failed updates.
    pub(crate) failures: u32,
    /// The ETag of the serving list's answer, sent as `If-None-Match` (empty: none).
    pub(crate) etag: String,
    /// The serving list's version (empty before the first load).
    pub(crate) version: String,
    /// Its entries.
    pub(crate) entries: u64,
    /// When the registry last confirmed the serving list (200 or 304), ms since the epoch.
    pub(crate) confirmed_ms: u64,
    /// A hash of the serving list's bytes: a 200 with the same list counts as unchanged.
    pub(crate) list_hash: u64,
}

/// Values in the state are visible ASCII (versions and ETags are checked before they are
/// stored): one `key=value` per line.
impl SharedState {
    pub(crate) fn encode(&self) -> String {
        format!(
            "generation={}\nfetcher={}\nnext_due_ms={}\nclaim_until_ms={}\nfailures={}\netag={}\nversion={}\nentries={}\nconfirmed_ms={}\nlist_hash={}\n",
            self.generation,
            self.fetcher,
            self.next_due_ms,
            self.claim_until_ms,
            self.failures,
            self.etag,
            self.version,
            self.entries,
            self.confirmed_ms,
            self.list_hash
        )
    }

    /// `None` for anything [`SharedState::encode`] did not write.
    pub(crate) fn decode(bytes: &[u8]) -> Option<SharedState> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut s = SharedState::default();
        for line in text.lines() {
            let (key, value) = line.split_once('=')?;
            let n = || decimal(value);
            match key {
                "generation" => s.generation = n()?,
                "fetcher" => s.fetcher = n()?,
                "next_due_ms" => s.next_due_ms = n()?,
                "claim_until_ms" => s.claim_until_ms = n()?,
                "failures" => s.failures = u32::try_from(n()?).ok()?,
                "etag" => s.etag = value.to_string(),
                "version" => s.version = value.to_string(),
                "entries" => s.entries = n()?,
                "confirmed_ms" => s.confirmed_ms = n()?,
                "list_hash" => s.list_hash = n()?,
                _ => return None,
            }
        }
        Some(s)
    }

    /// Is it the worker `me`'s turn to fetch at `now_ms`? A fetch must be due and none in
    /// flight; the last fetcher goes first, any other worker after [`HANDOVER_MS`].
    pub(crate) fn my_turn(&self, me: u64, now_ms: u64) -> bool {
        let due = self.next_due_ms.max(self.claim_until_ms);
        now_ms >= due && (self.fetcher == 0 || self.fetcher == me || now_ms >= due.saturating_add(HANDOVER_MS))
    }

    /// The state with the fetch claimed by `me` at `now_ms`.
    pub(crate) fn claimed(&self, me: u64, now_ms: u64, timeout_ms: u64) -> SharedState {
        SharedState {
            fetcher: me,
            claim_until_ms: now_ms.saturating_add(timeout_ms).saturating_add(CLAIM_MARGIN_MS),
            ..self.clone()
        }
    }
}

/// The longest ETag kept: a longer one is not sent back (the next answer is a full 200).
pub(crate) const MAX_ETAG_LEN: usize = 256;

/// An ETag worth sending back: visible ASCII, at most [`MAX_ETAG_LEN`] bytes.
pub(crate) fn usable_etag(value: &[u8]) -> Option<String> {
    let ok = !value.is_empty() && value.len() <= MAX_ETAG_LEN && value.iter().all(u8::is_ascii_graphic);
    ok.then(|| String::from_utf8_lossy(value).into_owned())
}

/// What an answer of the registry means, before its body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 200: compile the body.
    Body,
    /// 304 to our `If-None-Match`: the serving list is current.
    NotModified,
    /// The update failed.
    Failed(FailReason),
}

/// Classify an answer: `status` is `None` when the host delivered none (the stream was reset);
/// `elapsed_ms` is the time since the request was sent; `body_start` the first bytes of the
/// body. Envoy answers a callout it could not complete itself: 504 when the timeout fired, 503
/// `upstream connect error ...` or `no healthy upstream` when no connection could be made.
pub(crate) fn classify(
    status: Option<u16>,
    elapsed_ms: u64,
    timeout_ms: u64,
    body_start: &[u8],
    sent_etag: bool,
) -> Answer {
    match status {
        None => Answer::Failed(FailReason::Unreachable),
        Some(200) => Answer::Body,
        Some(304) if sent_etag => Answer::NotModified,
        Some(504) if elapsed_ms.saturating_mul(10) >= timeout_ms.saturating_mul(9) => {
            Answer::Failed(FailReason::Timeout)
        }
        Some(503)
            if body_start.starts_with(b"upstream connect error") || body_start.starts_with(b"no healthy upstream") =>
        {
            Answer::Failed(FailReason::Unreachable)
        }
        Some(_) => Answer::Failed(FailReason::Status),
    }
}

/// Failure log lines, at most one per reason and window; the lines held back are counted on
/// the next one.
#[derive(Debug, Default)]
pub(crate) struct FailureLog {
    /// Per reason: when it was last logged (ms) and how many were held back since.
    last: [(Option<u64>, u64); 7],
}

impl FailureLog {
    /// Log a failure of `reason` at `now_ms` with windows of `window_ms`? `Some(suppressed)`:
    /// yes, and that many were held back since the last line of this reason.
    pub(crate) fn admit(&mut self, reason: FailReason, now_ms: u64, window_ms: u64) -> Option<u64> {
        let (last, held) = self.last.get_mut(reason.index())?;
        match last {
            Some(t) if now_ms.saturating_sub(*t) < window_ms => {
                *held += 1;
                None
            }
            _ => {
                *last = Some(now_ms);
                Some(std::mem::take(held))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn waits_double_per_failure_up_to_five_minutes_and_never_exceed_the_nominal_wait() {
        assert_eq!(nominal_wait_ms(30, 0), 30_000);
        assert_eq!(nominal_wait_ms(30, 1), 60_000);
        assert_eq!(nominal_wait_ms(30, 3), 240_000);
        assert_eq!(nominal_wait_ms(30, 4), 300_000);
        assert_eq!(nominal_wait_ms(30, 60), 300_000);
        assert_eq!(nominal_wait_ms(3600, 5), 3_600_000);
        for random in [0, 1, 7_777, u64::MAX / 3, u64::MAX] {
            let w = jittered_wait_ms(30, 0, random);
            assert!((15_000..=30_000).contains(&w), "{w}");
        }
        // Different draws spread the fleet.
        let waits: std::collections::HashSet<u64> = (0..50u64)
            .map(|i| jittered_wait_ms(30, 0, crate::rules::hash::mix64(i)))
            .collect();
        assert!(waits.len() > 40);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_shared_state_reads_back_what_it_wrote_and_nothing_else() {
        let s = SharedState {
            generation: 3,
            fetcher: 77,
            next_due_ms: 1000,
            claim_until_ms: 0,
            failures: 2,
            etag: "\"abc\"".to_string(),
            version: "v42".to_string(),
            entries: 10,
            confirmed_ms: 900,
            list_hash: 5,
        };
        assert_eq!(SharedState::decode(s.encode().as_bytes()), Some(s));
        assert_eq!(SharedState::decode(b"generation=x\n"), None);
        assert_eq!(SharedState::decode(b"colour=red\n"), None);
        assert_eq!(SharedState::decode(&[0xff]), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_last_fetcher_goes_first_and_another_worker_takes_over_after_the_handover() {
        let s = SharedState {
            fetcher: 1,
            next_due_ms: 10_000,
            ..SharedState::default()
        };
        assert!(!s.my_turn(1, 9_999));
        assert!(s.my_turn(1, 10_000));
        assert!(!s.my_turn(2, 10_000));
        assert!(s.my_turn(2, 10_000 + HANDOVER_MS));
        let c = s.claimed(1, 10_000, 500);
        assert!(!c.my_turn(1, 11_000), "in flight");
        assert!(c.my_turn(1, 10_000 + 500 + CLAIM_MARGIN_MS), "the claim expired");
        assert!(SharedState::default().my_turn(9, 0), "nobody fetched yet");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn answers_are_classified_by_status_time_and_envoys_own_replies() {
        assert_eq!(classify(Some(200), 5, 1000, b"{", false), Answer::Body);
        assert_eq!(classify(Some(304), 5, 1000, b"", true), Answer::NotModified);
        assert_eq!(
            classify(Some(304), 5, 1000, b"", false),
            Answer::Failed(FailReason::Status)
        );
        assert_eq!(
            classify(None, 5, 1000, b"", false),
            Answer::Failed(FailReason::Unreachable)
        );
        assert_eq!(
            classify(Some(504), 1000, 1000, b"upstream request timeout", false),
            Answer::Failed(FailReason::Timeout)
        );
        assert_eq!(
            classify(Some(504), 10, 1000, b"gateway", false),
            Answer::Failed(FailReason::Status)
        );
        assert_eq!(
            classify(
                Some(503),
                3,
                1000,
                b"upstream connect error or disconnect/reset before headers",
                false
            ),
            Answer::Failed(FailReason::Unreachable)
        );
        assert_eq!(
            classify(Some(503), 3, 1000, b"maintenance", false),
            Answer::Failed(FailReason::Status)
        );
        assert_eq!(
            classify(Some(500), 3, 1000, b"", false),
            Answer::Failed(FailReason::Status)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn failure_lines_are_logged_once_per_reason_and_window_with_the_held_back_count() {
        let mut log = FailureLog::default();
        assert_eq!(log.admit(FailReason::Timeout, 0, 1000), Some(0));
        assert_eq!(log.admit(FailReason::Timeout, 10, 1000), None);
        assert_eq!(log.admit(FailReason::Status, 10, 1000), Some(0));
        assert_eq!(log.admit(FailReason::Timeout, 999, 1000), None);
        assert_eq!(log.admit(FailReason::Timeout, 1000, 1000), Some(2));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn metric_labels_line_up_with_their_ids() {
        let c = counter_labels();
        assert_eq!(c[APPLIED], (&REGISTRY_UPDATES, "applied", "none"));
        assert_eq!(c[UNCHANGED], (&REGISTRY_UPDATES, "unchanged", "none"));
        assert_eq!(
            c[failed_counter(FailReason::Dangerous)],
            (&REGISTRY_UPDATES, "failed", "dangerous")
        );
        assert_eq!(c.len(), 2 + FAIL_REASONS.len());
        assert_eq!(GAUGES[ENTRIES], &REGISTRY_ENTRIES);
        assert_eq!(GAUGES[AGE_SECONDS], &REGISTRY_AGE_SECONDS);
        assert_eq!(GAUGES[VERSION], &REGISTRY_VERSION);
        assert_eq!(GAUGES[LOADED], &REGISTRY_LOADED);
        assert_eq!(version_gauge("20261201"), 20261201);
        assert_eq!(version_gauge("v42"), version_gauge("v42"));
        assert!(version_gauge("v42") < 1 << 32);
    }
}
