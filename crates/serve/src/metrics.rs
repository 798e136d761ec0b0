//! The server's counters, in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The routes counted by name; anything else counts as `other`.
const ROUTES: [&str; 4] = ["/v1/slate", "/health", "/metrics", "other"];
/// The latency histogram's upper bounds, in seconds.
const BOUNDS: [f64; 12] = [
    25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 1.0,
];

/// Requests by route, errors, and the latency of every answer.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; ROUTES.len()],
    errors: AtomicU64,
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    nanos: AtomicU64,
}

impl Metrics {
    /// A request that could not be read (it counts as an error only).
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// An answered request.
    pub fn observe(&self, path: &str, status: u16, took: Duration) {
        let route = ROUTES
            .iter()
            .position(|r| *r == path)
            .unwrap_or(ROUTES.len() - 1);
        self.requests[route].fetch_add(1, Ordering::Relaxed);
        if status >= 400 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = took.as_secs_f64();
        if let Some(bucket) = BOUNDS.iter().position(|b| seconds <= *b) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The text `GET /metrics` answers.
    pub fn render(&self) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        out.push_str("# HELP rlrec_requests_total Requests answered, by route.\n");
        out.push_str("# TYPE rlrec_requests_total counter\n");
        for (route, n) in ROUTES.iter().zip(&self.requests) {
            let _ = writeln!(out, "rlrec_requests_total{{route=\"{route}\"}} {}", load(n));
        }
        out.push_str("# HELP rlrec_request_errors_total Requests answered with an error status.\n");
        out.push_str("# TYPE rlrec_request_errors_total counter\n");
        let _ = writeln!(out, "rlrec_request_errors_total {}", load(&self.errors));
        out.push_str("# HELP rlrec_request_duration_seconds Time from a request read to its answer written.\n");
        out.push_str("# TYPE rlrec_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, n) in BOUNDS.iter().zip(&self.buckets) {
            cumulative += load(n);
            let _ = writeln!(
                out,
                "rlrec_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = load(&self.count);
        let _ = writeln!(
            out,
            "rlrec_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = load(&self.nanos) as f64 * 1e-9;
        let _ = writeln!(out, "rlrec_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "rlrec_request_duration_seconds_count {count}");
        out
    }
}
