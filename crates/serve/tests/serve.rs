//! The server over loopback: answers equal to the policy's own, every bad request refused
//! while others are answered, slow and half-closed clients cut off, and a stop that lets
//! the request under way finish.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use agents::portable::{Portable, Scorer, Scores};
use env::Layout;
use serve::{Config, Server};

/// A linear policy over 3 features, slates of 2.
fn policy() -> Portable {
    Portable {
        algorithm: "linucb".into(),
        layout: Layout {
            num_candidates: 5,
            slate_size: 2,
            doc_dim: 3,
            user_dim: 0,
            time: None,
        },
        scorer: Scorer::Linear {
            theta: vec![1.0, -0.5, 0.25],
        },
    }
}

struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    fn start(config: Config) -> Self {
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), policy(), config).unwrap();
        let addr = server.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread =
            std::thread::spawn(move || server.run(&|| flag.load(Ordering::SeqCst)).unwrap());
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Stops the server and waits for it, as a test's end does even after a failure.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Sends `raw` and reads one response: its status and body.
fn exchange(stream: &mut TcpStream, raw: &[u8]) -> (u16, String) {
    stream.write_all(raw).unwrap();
    read_response(stream)
}

fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap() == 0 {
            return (0, String::new());
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

fn post(body: &str) -> Vec<u8> {
    format!(
        "POST /v1/slate HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn answers_are_the_policys_and_bad_requests_are_refused_while_others_are_answered() {
    let mut server = Running::start(Config::default());
    let mut good = server.connect();
    let items = [
        [0.1f32, 0.2, 0.3],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.5, 0.5, 0.5],
    ];
    let body = serde_json::json!({ "items": items }).to_string();
    let (mut scores, mut slate) = (Scores::default(), [0; 2]);
    let flat: Vec<f32> = items.iter().flatten().copied().collect();
    policy().slate(&[], &flat, &mut scores, &mut slate);
    // Keep-alive: the same connection answers again and again.
    for _ in 0..3 {
        let (status, answer) = exchange(&mut good, &post(&body));
        assert_eq!(status, 200, "{answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["slate"], serde_json::json!(slate));
        assert_eq!(answer["scores"].as_array().unwrap().len(), 4);
    }
    let batch = serde_json::json!({ "requests": [{ "items": items }, { "items": &items[..2] }] });
    let (status, answer) = exchange(&mut good, &post(&batch.to_string()));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&answer).unwrap()["results"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for (body, status, says) in [
        ("{", 400, "not a slate request"),
        ("[1, 2]", 400, "not a slate request"),
        (r#"{"items": [[1, 2]]}"#, 400, "a slate takes 2"),
        (
            r#"{"items": [[1, 2, 3], [1, 2]]}"#,
            400,
            "candidate 1 has 2 features",
        ),
        // Beyond f32: refused by the JSON reader, or read as infinite and refused after
        // (serde_json's features, which the workspace's build unifies, decide which).
        (
            r#"{"items": [[1, 2, 3], [1, 2, 1e39]]}"#,
            400,
            "not a finite|out of range",
        ),
        (
            r#"{"user": [1], "items": [[1, 2, 3], [1, 2, 3]]}"#,
            400,
            "`user` has 1 features",
        ),
        (
            r#"{"items": [[1, 2, 3], [1, 2, 3]], "extra": 1}"#,
            400,
            "unknown field",
        ),
        (r#"{"requests": []}"#, 400, "an empty batch"),
    ] {
        let mut bad = server.connect();
        let (got, answer) = exchange(&mut bad, &post(body));
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            says.split('|').any(|s| answer.contains(s)),
            "{body}: {answer}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(&answer).unwrap()["error"].is_string());
    }
    for (raw, status) in [
        (&b"GET /nowhere HTTP/1.1\r\n\r\n"[..], 404),
        (b"DELETE /v1/slate HTTP/1.1\r\n\r\n", 405),
        (
            b"POST /v1/slate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
        ),
        // Ten million candidates of three features: refused on its length, unsent.
        (
            b"POST /v1/slate HTTP/1.1\r\nContent-Length: 300000000\r\n\r\n",
            413,
        ),
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /health HTTP/2.0\r\n\r\n", 505),
    ] {
        let mut bad = server.connect();
        assert_eq!(
            exchange(&mut bad, raw).0,
            status,
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    let too_many = serde_json::json!({ "items": vec![[0.0f32; 3]; 10_001] }).to_string();
    let (status, answer) = exchange(&mut server.connect(), &post(&too_many));
    assert_eq!(status, 400);
    assert!(answer.contains("at most 10000"), "{answer}");
    // The first connection is still answered, and the metrics counted everything.
    assert_eq!(exchange(&mut good, &post(&body)).0, 200);
    let (status, metrics) = exchange(&mut good, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("rlrec_requests_total{route=\"/v1/slate\"} 15"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rlrec_request_errors_total 15"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rlrec_request_duration_seconds_count 16"),
        "{metrics}"
    );
    server.stop();
}

#[test]
fn slow_half_closed_and_surplus_clients_are_cut_off() {
    let mut config = Config {
        max_connections: 2,
        ..Config::default()
    };
    config.limits.deadline = Duration::from_millis(300);
    let mut server = Running::start(config);
    // A client that sends half a head and waits: 408 once the deadline passes.
    let mut slow = server.connect();
    slow.write_all(b"POST /v1/slate HTTP/1.1\r\nContent-")
        .unwrap();
    assert_eq!(read_response(&mut slow).0, 408);
    assert_eq!(read_response(&mut slow).0, 0, "and the connection closes");
    // A client that closes its side mid-body: the connection ends, nothing is answered.
    let mut half = server.connect();
    half.write_all(b"POST /v1/slate HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"items\"")
        .unwrap();
    half.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_response(&mut half).0, 0);
    // Two connections held open; a third is answered 503 and closed.
    let (mut a, mut b) = (server.connect(), server.connect());
    let health = b"GET /health HTTP/1.1\r\n\r\n";
    assert_eq!(exchange(&mut a, health).0, 200);
    assert_eq!(exchange(&mut b, health).0, 200);
    assert_eq!(exchange(&mut server.connect(), health).0, 503);
    drop(a);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(exchange(&mut server.connect(), health).0, 200);
    server.stop();
}

#[test]
fn a_stop_lets_the_request_under_way_finish() {
    let mut server = Running::start(Config::default());
    let mut client = server.connect();
    let body = r#"{"items": [[1, 2, 3], [3, 2, 1]]}"#;
    let raw = post(body);
    let (first, rest) = raw.split_at(raw.len() - 5);
    client.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    server.stop.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    client.write_all(rest).unwrap();
    let (status, answer) = read_response(&mut client);
    assert_eq!(status, 200, "{answer}");
    // Then the connection closes and the server returns.
    assert_eq!(read_response(&mut client).0, 0);
    server.stop();
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "the listener is closed"
    );
}
