//! The serving benchmark's two measurements: an exported policy's in-process scoring time,
//! and a load generator of its own for `rlrec serve` (a fixed number of requests over a
//! fixed number of keep-alive connections, paced or as fast as the server answers).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use agents::portable::{Portable, Scores};
use anyhow::{bail, Context, Result};
use serde_json::json;

/// A request of `candidates` candidates for `policy`: features in `[0, 1)` from a fixed
/// sequence (the same request every time).
fn request(policy: &Portable, candidates: usize) -> (Vec<f32>, Vec<f32>) {
    let mut x = 0.5f32;
    let mut next = move || {
        x = (x * 3.7 + 0.31).fract();
        x
    };
    let l = policy.layout;
    let user = (0..l.user_dim).map(|_| next()).collect();
    let items = (0..candidates * l.doc_dim).map(|_| next()).collect();
    (user, items)
}

fn load(model: &Path) -> Result<Portable> {
    export::load(model).with_context(|| format!("reading {}", model.display()))
}

/// `serve-score MODEL CANDIDATES SECONDS`: nanoseconds per slate computed in-process.
pub fn score(model: &Path, candidates: usize, seconds: f64) -> Result<serde_json::Value> {
    let policy = load(model)?;
    let (user, items) = request(&policy, candidates);
    let (mut scores, mut slate) = (Scores::default(), vec![0; policy.layout.slate_size]);
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            policy.slate(&user, &items, &mut scores, &mut slate);
        }
        calls += 64;
    }
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    Ok(json!({ "candidates": candidates, "ns_per_slate": ns }))
}

/// `serve-load ADDR MODEL CANDIDATES CONNECTIONS REQUESTS RATE`: `REQUESTS` slate
/// requests over `CONNECTIONS` keep-alive connections, each connection sending its next
/// request when its answer came (`RATE` = `max`) or at its turn of a fixed schedule
/// (`RATE` requests per second in all; a late answer delays the next send, and the
/// latency counts from the scheduled time, so a stall is not hidden).
pub fn load_test(
    addr: &str,
    model: &Path,
    candidates: usize,
    connections: usize,
    requests: usize,
    rate: &str,
) -> Result<serde_json::Value> {
    let policy = load(model)?;
    let (user, items) = request(&policy, candidates);
    let rows: Vec<&[f32]> = items.chunks_exact(policy.layout.doc_dim).collect();
    let body = json!({ "user": user, "items": rows }).to_string();
    let raw = format!(
        "POST /v1/slate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let interval = match rate {
        "max" => None,
        r => {
            let per_second: f64 = r.parse().with_context(|| format!("a rate: `{r}`"))?;
            Some(Duration::from_secs_f64(connections as f64 / per_second))
        }
    };
    let per_connection = requests.div_ceil(connections);
    let start = Instant::now();
    let results: Vec<Result<Vec<Duration>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..connections)
            .map(|c| {
                let raw = raw.as_bytes();
                scope.spawn(move || {
                    let mut stream = TcpStream::connect(addr)?;
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                    let mut latencies = Vec::with_capacity(per_connection);
                    let mut buf = vec![0u8; 1 << 16];
                    // Connections start spread over one interval, not all at once.
                    let offset = interval
                        .map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / connections as f64));
                    for k in 0..per_connection {
                        // The latency counts from the scheduled time where the previous
                        // answer came after it (the server held the sender up), else
                        // from the send: a sleep that overshoots is the generator's delay.
                        let mut from = Instant::now();
                        if let Some(due) = interval.map(|i| start + offset + i * k as u32) {
                            match due.checked_duration_since(from) {
                                Some(wait) => {
                                    std::thread::sleep(wait);
                                    from = Instant::now();
                                }
                                None => from = due,
                            }
                        }
                        stream.write_all(raw)?;
                        read_answer(&mut stream, &mut buf)?;
                        latencies.push(from.elapsed());
                    }
                    Ok(latencies)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| bail!("a connection's thread panicked"))
            })
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let mut all = Vec::with_capacity(requests);
    for r in results {
        all.extend(r?);
    }
    all.sort_unstable();
    let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    Ok(json!({
        "candidates": candidates, "connections": connections, "rate": rate,
        "requests": all.len(), "seconds": seconds, "throughput": all.len() as f64 / seconds,
        "p50_us": at(0.5), "p90_us": at(0.9), "p99_us": at(0.99), "p999_us": at(0.999),
        "max_us": at(1.0),
    }))
}

/// Reads one `200` answer whole.
fn read_answer(stream: &mut TcpStream, buf: &mut [u8]) -> Result<()> {
    let mut have = 0;
    loop {
        let n = stream.read(&mut buf[have..])?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        have += n;
        let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buf[..end])?;
        if !head.starts_with("HTTP/1.1 200") {
            bail!(
                "the server answered {}",
                head.lines().next().unwrap_or_default()
            );
        }
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .context("an answer without a length")?
            .parse()?;
        if have >= end + 4 + length {
            return Ok(());
        }
        if end + 4 + length > buf.len() {
            bail!("an answer larger than the buffer");
        }
    }
}
