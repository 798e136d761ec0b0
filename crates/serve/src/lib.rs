//! `rlrec serve`: an exported policy ([`agents::portable::Portable`]) answering slate
//! requests over HTTP/1.1, with the standard library's sockets and a thread per
//! connection (bounded): no async runtime, since a request is a few microseconds of
//! scoring and the connections are few and long-lived.
//!
//! * `POST /v1/slate` with `{"user": [...], "items": [[...], ...]}`, or
//!   `{"requests": [{...}, ...]}` for a batch, answers `{"slate": [...], "scores": [...]}`
//!   (and `"weights"` where the policy has a choice model with weights), or
//!   `{"results": [...]}`.
//! * `GET /health` answers `{"status": "ok", "algorithm": ...}`.
//! * `GET /metrics` answers Prometheus' text format: requests by route, errors, and a
//!   latency histogram.
//!
//! A malformed or mis-shaped request gets `400` with `{"error": "..."}`; a body over the
//! limit `413`; a client that sends too slowly is cut off (`408`); the server answers the
//! others all the while. Stopping ([`Server::run`]'s `stop`) closes the listener, lets
//! every request that has begun finish, and returns once every connection has closed.

#![warn(missing_docs)]

mod http;
mod metrics;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agents::portable::{Portable, Scores};
use serde::{Deserialize, Serialize};

pub use http::Limits;
use http::{Connection, ReadError, Request};
use metrics::Metrics;

/// What the server takes and how long it waits.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Per-connection limits.
    pub limits: Limits,
    /// The most candidates one request (or one batch, in all) may hold.
    pub max_candidates: usize,
    /// The most connections served at once; more are answered `503` and closed.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits {
                max_body: 1 << 20,
                idle: Duration::from_secs(30),
                deadline: Duration::from_secs(10),
            },
            max_candidates: 10_000,
            max_connections: 256,
        }
    }
}

/// One slate request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlateRequest {
    #[serde(default)]
    user: Vec<f32>,
    items: Vec<Vec<f32>>,
}

/// A request body: one request, or a batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    user: Option<Vec<f32>>,
    #[serde(default)]
    items: Option<Vec<Vec<f32>>>,
    #[serde(default)]
    requests: Option<Vec<SlateRequest>>,
}

/// One answer.
#[derive(Debug, Serialize)]
struct SlateAnswer<'a> {
    slate: &'a [usize],
    scores: &'a [f32],
    #[serde(skip_serializing_if = "<[f32]>::is_empty")]
    weights: &'a [f32],
}

/// A bound server, not yet answering.
pub struct Server {
    listener: TcpListener,
    policy: Arc<Portable>,
    config: Config,
    metrics: Arc<Metrics>,
}

/// What one connection's thread scores with, reused from request to request.
struct Worker {
    policy: Arc<Portable>,
    config: Config,
    scores: Scores,
    slate: Vec<usize>,
    items: Vec<f32>,
    out: Vec<u8>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free one) for `policy`.
    pub fn bind(addr: SocketAddr, policy: Portable, config: Config) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            policy: Arc::new(policy),
            config,
            metrics: Arc::new(Metrics::default()),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Answers until `stop()` says so, then lets every request that has begun finish and
    /// returns when every connection has closed.
    pub fn run(self, stop: &(dyn Fn() -> bool + Sync)) -> io::Result<()> {
        let open = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            while !stop() {
                let stream = match self.listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // A connection that failed as it was accepted: the next one may not.
                    Err(_) => continue,
                };
                if stream.set_nonblocking(false).is_err() {
                    continue;
                }
                let Ok(mut connection) = Connection::new(stream) else {
                    continue;
                };
                if open.load(Ordering::SeqCst) >= self.config.max_connections {
                    let body = error_json("too many connections; try again");
                    let _ = connection.respond(503, "application/json", &body, true);
                    continue;
                }
                open.fetch_add(1, Ordering::SeqCst);
                let mut worker = Worker {
                    policy: Arc::clone(&self.policy),
                    config: self.config,
                    scores: Scores::default(),
                    slate: Vec::new(),
                    items: Vec::new(),
                    out: Vec::new(),
                };
                let (metrics, open) = (&self.metrics, &open);
                scope.spawn(move || {
                    worker.serve(&mut connection, metrics, stop);
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(())
    }
}

fn error_json(why: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "error": why })).expect("an error serialises")
}

impl Worker {
    /// Answers the connection's requests until it closes, idles out or the server stops.
    fn serve(&mut self, connection: &mut Connection, metrics: &Metrics, stop: &dyn Fn() -> bool) {
        loop {
            let request = match connection.read(&self.config.limits, stop) {
                Ok(request) => request,
                Err(ReadError::Bad(status, why)) => {
                    metrics.error();
                    let _ = connection.respond(status, "application/json", &error_json(&why), true);
                    return;
                }
                Err(ReadError::Gone | ReadError::Stopping | ReadError::Broken) => return,
            };
            let started = Instant::now();
            let (status, content_type) = self.answer(&request, metrics);
            let close = request.close || stop();
            let sent = connection.respond(status, content_type, &self.out, close);
            metrics.observe(&request.path, status, started.elapsed());
            if sent.is_err() || close {
                return;
            }
        }
    }

    /// Fills `self.out` with the answer to `request`.
    fn answer(&mut self, request: &Request, metrics: &Metrics) -> (u16, &'static str) {
        const JSON: &str = "application/json";
        self.out.clear();
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/v1/slate") => match self.slates(&request.body) {
                Ok(()) => (200, JSON),
                Err(why) => {
                    self.out = error_json(&why);
                    (400, JSON)
                }
            },
            ("GET", "/health") => {
                let health =
                    serde_json::json!({"status": "ok", "algorithm": self.policy.algorithm});
                self.out = serde_json::to_vec(&health).expect("health serialises");
                (200, JSON)
            }
            ("GET", "/metrics") => {
                self.out = metrics.render().into_bytes();
                (200, "text/plain; version=0.0.4")
            }
            (_, "/v1/slate" | "/health" | "/metrics") => {
                self.out = error_json(&format!("{} is not served here", request.method));
                (405, JSON)
            }
            (_, path) => {
                self.out = error_json(&format!(
                    "no route {path}: POST /v1/slate, GET /health, GET /metrics"
                ));
                (404, JSON)
            }
        }
    }

    /// Answers a slate request or a batch into `self.out`, or says what is wrong with it.
    fn slates(&mut self, body: &[u8]) -> Result<(), String> {
        let body: Body = serde_json::from_slice(body)
            .map_err(|e| format!("the body is not a slate request: {e}"))?;
        let (requests, batch) = match (body.requests, body.user, body.items) {
            (Some(requests), None, None) if !requests.is_empty() => (requests, true),
            (Some(_), None, None) => return Err("an empty batch".into()),
            (None, user, Some(items)) => {
                let user = user.unwrap_or_default();
                (vec![SlateRequest { user, items }], false)
            }
            _ => {
                return Err(
                    "give `items` (and `user`), or `requests`: a list of such objects".into(),
                )
            }
        };
        self.check(&requests)?;
        if !batch {
            self.out = self.slate(&requests[0])?;
            return Ok(());
        }
        let mut out = b"{\"results\":[".to_vec();
        for (i, request) in requests.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend(
                self.slate(request)
                    .map_err(|e| format!("request {i}: {e}"))?,
            );
        }
        out.extend_from_slice(b"]}");
        self.out = out;
        Ok(())
    }

    /// Checks the total candidate count of a batch.
    fn check(&self, requests: &[SlateRequest]) -> Result<(), String> {
        let total: usize = requests.iter().map(|r| r.items.len()).sum();
        if total > self.config.max_candidates {
            return Err(format!(
                "{total} candidates; at most {} per request or batch",
                self.config.max_candidates
            ));
        }
        Ok(())
    }

    /// One request's answer, as JSON.
    fn slate(&mut self, request: &SlateRequest) -> Result<Vec<u8>, String> {
        let l = self.policy.layout;
        if request.user.len() != l.user_dim {
            return Err(format!(
                "`user` has {} features; the policy reads {}",
                request.user.len(),
                l.user_dim
            ));
        }
        if request.items.len() < l.slate_size {
            return Err(format!(
                "{} candidates; a slate takes {}",
                request.items.len(),
                l.slate_size
            ));
        }
        self.items.clear();
        for (i, row) in request.items.iter().enumerate() {
            if row.len() != l.doc_dim {
                return Err(format!(
                    "candidate {i} has {} features; the policy reads {}",
                    row.len(),
                    l.doc_dim
                ));
            }
            self.items.extend_from_slice(row);
        }
        if !request
            .user
            .iter()
            .chain(&self.items)
            .all(|v| v.is_finite())
        {
            return Err("a feature is not a finite 32-bit number".into());
        }
        self.slate.resize(l.slate_size, 0);
        self.policy.slate(
            &request.user,
            &self.items,
            &mut self.scores,
            &mut self.slate,
        );
        let answer = SlateAnswer {
            slate: &self.slate,
            scores: &self.scores.values,
            weights: &self.scores.weights,
        };
        Ok(serde_json::to_vec(&answer).expect("an answer serialises"))
    }
}
