//! Native micro benchmark of `decide()` (plain harness: `cargo bench -p edge-cors-core --bench decide`).
//!
//! The same policies and workloads as the Envoy benchmark (scripts/bench/configs.py): for each,
//! nanoseconds per decision (median of several timed batches), heap allocations per decision
//! (a counting global allocator), and the ratio to the 1-origin policy measured in this run.
//! Then the time `compile()` takes for each policy size, up to 100,000 origins.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use edge_cors_core::{compile, decide, Config, Outcome, Reason, RequestHeaders};

#[path = "support/timing.rs"]
mod timing;
use timing::time_per_call;

/// Counts every allocation, so the benchmark can say what each decision allocates.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const HIT_ORIGIN: &str = "https://app.example.com";
const WILDCARD_HIT_ORIGIN: &str = "https://shop.tenant500.example.org";
const REJECTED_ORIGIN: &str = "https://evil.example";

/// Request headers as the host hands them to decide(): each read returns an owned String, as
/// a host call does.
struct Request(Vec<(&'static str, &'static str)>);

impl RequestHeaders for Request {
    fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_string())
    }
}

fn workloads() -> Vec<(&'static str, Request)> {
    let get = |origin: Option<&'static str>| {
        let mut h = vec![
            (":method", "GET"),
            (":authority", "api.example.com"),
            (":path", "/api/items"),
        ];
        h.extend(origin.map(|o| ("origin", o)));
        Request(h)
    };
    let preflight = |origin: &'static str, acrh: Option<&'static str>| {
        let mut h = vec![
            (":method", "OPTIONS"),
            (":authority", "api.example.com"),
            (":path", "/api/items"),
            ("origin", origin),
            ("access-control-request-method", "PUT"),
        ];
        h.extend(acrh.map(|v| ("access-control-request-headers", v)));
        Request(h)
    };
    vec![
        ("get_allowed", get(Some(HIT_ORIGIN))),
        ("get_wildcard", get(Some(WILDCARD_HIT_ORIGIN))),
        ("get_rejected", get(Some(REJECTED_ORIGIN))),
        ("get_no_origin", get(None)),
        (
            "preflight_allowed",
            preflight(HIT_ORIGIN, Some("authorization,content-type")),
        ),
        ("preflight_rejected", preflight(REJECTED_ORIGIN, None)),
    ]
}

fn expected_outcome(workload: &str) -> Outcome {
    match workload {
        "get_allowed" | "get_wildcard" => Outcome::ActualAllowed,
        "get_rejected" => Outcome::ActualRejected(Reason::Origin),
        "get_no_origin" => Outcome::NotCors,
        "preflight_allowed" => Outcome::PreflightAllowed,
        _ => Outcome::PreflightRejected(Reason::Origin),
    }
}

/// The policy JSON of configs.py: `exact` origins with the hit in the middle, then wildcards
/// and regexes for the large policy.
fn policy_json(exact: usize, wildcards: usize, regexes: usize) -> String {
    let others: Vec<String> = (0..exact.saturating_sub(1))
        .map(|i| format!("\"https://site{i}.example.net\""))
        .collect();
    let half = others.len() / 2;
    let mut origins: Vec<String> = others[..half].to_vec();
    origins.push(format!("\"{HIT_ORIGIN}\""));
    origins.extend_from_slice(&others[half..]);
    origins.extend((0..wildcards).map(|i| format!("\"https://*.tenant{i}.example.org\"")));
    let regexes: Vec<String> = (0..regexes)
        .map(|i| format!("\"^https://pr-[0-9]+\\\\.preview{i}\\\\.example\\\\.com$\""))
        .collect();
    format!(
        r#"{{"policies":[{{"name":"bench","allow_origins":[{}],"allow_origin_regexes":[{}],
        "allow_methods":["GET","POST","PUT","DELETE"],"allow_headers":["authorization","content-type"],
        "expose_headers":["etag","x-request-id"],"allow_credentials":true,"max_age":600}}]}}"#,
        origins.join(","),
        regexes.join(",")
    )
}

fn compiled(json: &str) -> Config {
    match compile(json.as_bytes()) {
        Ok(c) => c,
        Err(e) => panic!("benchmark policy refused: {e}"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and then one decision per cell is enough to prove the benchmark still works.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    // A name filter after `--bench` selects workloads.
    let filter: Vec<String> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
    let sizes = [
        ("1 origin", policy_json(1, 0, 0)),
        ("100 origins", policy_json(100, 0, 0)),
        ("10k+1k*+10re", policy_json(10_000, 1_000, 10)),
    ];
    let configs: Vec<(&str, Config)> = sizes.iter().map(|(n, j)| (*n, compiled(j))).collect();
    println!("decide(): ns per decision (median of 7 batches), allocations per decision, ratio to the 1-origin policy");
    println!(
        "{:<20} {:<14} {:>9} {:>7} {:>8}",
        "workload", "policy", "ns", "allocs", "vs 1"
    );
    let mut allowed_one_origin_ns: Option<f64> = None;
    for (name, req) in workloads() {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut baseline = None;
        for (policy, config) in &configs {
            if name == "get_wildcard" && !policy.starts_with("10k") {
                continue;
            }
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            let outcome = decide(config, black_box(&req)).outcome;
            let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
            // A benchmark of the wrong decision would measure nothing useful.
            assert_eq!(outcome, expected_outcome(name), "{name} with the {policy} policy");
            if smoke {
                println!("{name:<20} {policy:<14} {:>9} {allocs:>7} {:>8}", "-", "-");
                continue;
            }
            let ns = time_per_call(|| {
                black_box(decide(black_box(config), black_box(&req)));
            });
            // The wildcard hit is compared with the 1-origin policy's exact hit, as the target says.
            let base = match name {
                "get_wildcard" => allowed_one_origin_ns,
                _ => Some(*baseline.get_or_insert(ns)),
            };
            if name == "get_allowed" && allowed_one_origin_ns.is_none() {
                allowed_one_origin_ns = Some(ns);
            }
            let ratio = base.map_or("-".to_string(), |b| format!("{:.2}x", ns / b));
            println!("{name:<20} {policy:<14} {ns:>9.1} {allocs:>7} {ratio:>8}");
        }
    }
    if smoke {
        return;
    }
    println!();
    println!("compile(): parse + compile the policy JSON (median of 3)");
    let mut base_ms = None;
    for (label, json) in [
        ("1 origin", policy_json(1, 0, 0)),
        ("10k+1k*+10re", policy_json(10_000, 1_000, 10)),
        ("100,000 origins", policy_json(100_000, 0, 0)),
    ] {
        let mut ms: Vec<f64> = (0..3)
            .map(|_| {
                let t = Instant::now();
                black_box(compiled(black_box(&json)));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        let m = ms[1];
        let base = *base_ms.get_or_insert(m);
        println!(
            "{label:<16} {:>10} bytes {m:>9.2} ms {:>9.0}x the 1-origin policy",
            json.len(),
            m / base
        );
    }
}
