//! The little of HTTP/1.1 the server needs: one request at a time from a persistent
//! connection, with every length bounded and every wait limited.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The most a request line and its headers may take.
const MAX_HEAD: usize = 16 << 10;

/// A request, read whole.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without a query.
    pub path: String,
    /// The body (empty without one).
    pub body: Vec<u8>,
    /// The client asked to close the connection after this request.
    pub close: bool,
}

/// Why no request came.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection, or stayed idle past the limit, between requests.
    Gone,
    /// The server is stopping and no request had begun.
    Stopping,
    /// A request that cannot be served: the status and why. The connection closes after
    /// the answer.
    Bad(u16, String),
    /// The socket failed: the connection is of no more use.
    Broken,
}

/// Limits on what one connection may send and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest body.
    pub max_body: usize,
    /// How long a connection may sit idle between requests.
    pub idle: Duration,
    /// How long one request may take to arrive, once its first byte has.
    pub deadline: Duration,
}

/// One client connection: the socket and what it has sent beyond the last request.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    out: Vec<u8>,
}

/// How often a waiting connection looks at the stop flag.
const TICK: Duration = Duration::from_millis(50);

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(stream: TcpStream) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TICK))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(4096),
            out: Vec::with_capacity(4096),
        })
    }

    /// Reads more bytes; `Ok(false)` when the wait ticked by with nothing.
    fn fill(&mut self) -> Result<bool, ReadError> {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ReadError::Gone),
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(_) => Err(ReadError::Broken),
        }
    }

    /// The next request. Between requests it waits up to `limits.idle`, and returns
    /// `Stopping` as soon as `stop()` says so; a request that has begun is read to its end
    /// (or its deadline) whatever `stop()` says, so that it is answered.
    pub fn read(&mut self, limits: &Limits, stop: &dyn Fn() -> bool) -> Result<Request, ReadError> {
        let idle_since = Instant::now();
        while self.buffer.is_empty() {
            if stop() {
                return Err(ReadError::Stopping);
            }
            if !self.fill()? && idle_since.elapsed() > limits.idle {
                return Err(ReadError::Gone);
            }
        }
        let started = Instant::now();
        let late = |started: Instant| {
            (started.elapsed() > limits.deadline)
                .then(|| ReadError::Bad(408, "the request took too long to arrive".into()))
        };
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at;
            }
            if self.buffer.len() > MAX_HEAD {
                return Err(ReadError::Bad(
                    431,
                    "the request's headers are too large".into(),
                ));
            }
            if let Some(e) = late(started) {
                return Err(e);
            }
            self.fill()?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])
            .map_err(|_| ReadError::Bad(400, "the request's head is not UTF-8".into()))?;
        let mut lines = head.split("\r\n");
        let mut parts = lines.next().unwrap_or_default().split(' ');
        let (method, target, version) = (parts.next(), parts.next(), parts.next());
        let (Some(method), Some(target), Some(version)) = (method, target, version) else {
            return Err(ReadError::Bad(400, "a malformed request line".into()));
        };
        let method = method.to_string();
        let path = target.split('?').next().unwrap_or_default().to_string();
        if !version.starts_with("HTTP/1.") {
            return Err(ReadError::Bad(
                505,
                format!("{version} is not served; HTTP/1.1 is"),
            ));
        }
        let (mut length, mut close) = (0usize, version == "HTTP/1.0");
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(ReadError::Bad(400, "a malformed header".into()));
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    length = value
                        .parse()
                        .map_err(|_| ReadError::Bad(400, "a malformed Content-Length".into()))?
                }
                "transfer-encoding" => {
                    return Err(ReadError::Bad(
                        411,
                        "chunked bodies are not served: send a Content-Length".into(),
                    ))
                }
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        if length > limits.max_body {
            return Err(ReadError::Bad(
                413,
                format!(
                    "a body of {length} bytes; at most {} are taken",
                    limits.max_body
                ),
            ));
        }
        let body_start = head_end + 4;
        while self.buffer.len() < body_start + length {
            if let Some(e) = late(started) {
                return Err(e);
            }
            self.fill()?;
        }
        let request = Request {
            method,
            path,
            body: self.buffer[body_start..body_start + length].to_vec(),
            close,
        };
        self.buffer.drain(..body_start + length);
        Ok(request)
    }

    /// Writes a response with a JSON or text body.
    pub fn respond(
        &mut self,
        status: u16,
        content_type: &str,
        body: &[u8],
        close: bool,
    ) -> io::Result<()> {
        self.out.clear();
        write!(
            self.out,
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
            reason(status),
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )?;
        self.out.extend_from_slice(body);
        self.stream.write_all(&self.out)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}
