//! A stand-in for the upstream Gateway API conformance echo backend (`echo-basic`).
//!
//! # Contract
//!
//! Every listener answers any path with `200 OK` and a JSON body describing the request:
//!
//! ```json
//! {
//!   "path": "/foo?bar=1",            // the raw request target (HTTP/2: `:path`)
//!   "host": "example.com",           // Host header, or the URI authority / `:authority`
//!   "method": "GET",
//!   "proto": "HTTP/1.1",             // or "HTTP/2.0"
//!   "headers": {"User-Agent": ["curl"], "X-Foo": ["a", "b"]},
//!   "namespace": "gateway-conformance-infra",
//!   "pod": "infra-backend-v1-0",
//!   "service": "infra-backend-v1",
//!   "httpPort": 3000
//! }
//! ```
//!
//! Like Go's `net/http` (which the upstream image uses), header names are reported in
//! canonical form ([`canonical_header_key`]), each name maps to its values in arrival
//! order, and the `Host` header is reported as `host`, not under `headers`.
//! `httpPort` is the port of the backend's HTTP listener ([`EchoHandle::http_addr`]),
//! whichever listener answered.
//!
//! Special behaviour:
//!
//! - `X-Echo-Set-Header: Name:value, Other:value` on the request sets those headers on
//!   the response (a name given twice gets its values joined with `,`).
//! - `?delay=D`, `D` a Go duration ([`parse_go_duration`]: `500ms`, `1s`, `1.5s`,
//!   `1m30s` …), waits that long before answering; an invalid duration answers `500`
//!   with `{"message": …}`.
//! - `/status/NNN` (exactly, no query) answers status `NNN` with an empty body; any
//!   other `/status/…` answers `400`.
//! - `/retry/…?uuid=U&succeedAfter=N[&responseCode=C]` fails the first `N` attempts
//!   carrying uuid `U` — with status `C` when given, otherwise by dropping the request
//!   without a response (HTTP/1: the connection is closed; HTTP/2: the stream is
//!   reset) — and echoes from attempt `N + 1` on. Attempts are counted per backend
//!   (per [`spawn`]), across both listeners. A missing `uuid` or an invalid
//!   `succeedAfter`/`responseCode` answers `400`.
//! - `/health` answers `200 OK` with body `OK`.
//!
//! The HTTP listener serves HTTP/1.x and HTTP/2 with prior knowledge (h2c) alike. The
//! optional h2c listener serves only HTTP/2 with prior knowledge: an HTTP/1.x request
//! gets `400 Expected h2c request`, as upstream answers one that does not ask to
//! upgrade. (`Upgrade: h2c` is not supported; gateways speak prior knowledge.)

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Identity and ports of one echo backend ("pod").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EchoConfig {
    /// Reported as `namespace`.
    pub namespace: String,
    /// Reported as `pod`; conformance checks that it starts with the Service name.
    pub pod: String,
    /// Reported as `service`.
    pub service: String,
    /// Port of the HTTP/1.1 + h2c listener on 127.0.0.1; `0` picks an ephemeral port.
    pub http_port: u16,
    /// Port of the h2c-only listener on 127.0.0.1, if any; `Some(0)` picks an
    /// ephemeral port.
    pub h2c_port: Option<u16>,
}

/// A running echo backend. Its listeners stop when it is dropped or [`shut down`].
///
/// [`shut down`]: EchoHandle::shutdown
#[derive(Debug)]
pub struct EchoHandle {
    /// Where the HTTP/1.1 + h2c listener is bound.
    pub http_addr: SocketAddr,
    /// Where the h2c-only listener is bound, if one was asked for.
    pub h2c_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl EchoHandle {
    /// Stops accepting, closes every open connection, and waits until the listening
    /// sockets are closed.
    pub async fn shutdown(mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks.drain(..) {
            // Cancelled (or, impossibly, panicked): either way it is gone.
            let _ = task.await;
        }
    }
}

impl Drop for EchoHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds the listeners of `cfg` on 127.0.0.1 and serves them on the current Tokio
/// runtime until the returned handle is dropped.
pub async fn spawn(cfg: EchoConfig) -> io::Result<EchoHandle> {
    let http = TcpListener::bind((Ipv4Addr::LOCALHOST, cfg.http_port)).await?;
    let h2c = match cfg.h2c_port {
        Some(port) => Some(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?),
        None => None,
    };
    spawn_with_listeners(cfg, http, h2c)
}

/// Like [`spawn`], on listeners the caller has bound (e.g. on another address). The
/// ports in `cfg` are ignored. Must be called within a Tokio runtime.
pub fn spawn_with_listeners(
    cfg: EchoConfig,
    http: TcpListener,
    h2c: Option<TcpListener>,
) -> io::Result<EchoHandle> {
    let http_addr = http.local_addr()?;
    let h2c_addr = h2c.as_ref().map(TcpListener::local_addr).transpose()?;
    let state = Arc::new(State {
        namespace: cfg.namespace,
        pod: cfg.pod,
        service: cfg.service,
        http_port: http_addr.port(),
        attempts: Mutex::new(BTreeMap::new()),
    });
    let mut tasks = vec![tokio::spawn(accept_loop(
        http,
        Arc::clone(&state),
        Listener::Http,
    ))];
    if let Some(h2c) = h2c {
        tasks.push(tokio::spawn(accept_loop(h2c, state, Listener::H2cOnly)));
    }
    Ok(EchoHandle {
        http_addr,
        h2c_addr,
        tasks,
    })
}

/// What one backend knows and remembers.
struct State {
    namespace: String,
    pod: String,
    service: String,
    http_port: u16,
    /// `/retry` attempts seen so far, per uuid.
    attempts: Mutex<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    /// HTTP/1.x and HTTP/2 prior knowledge.
    Http,
    /// HTTP/2 prior knowledge only.
    H2cOnly,
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, kind: Listener) {
    // Connections live in this set, so aborting this task closes them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, Arc::clone(&state), kind));
                }
                // Typically EMFILE or a connection reset before accept: back off briefly.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, state: Arc<State>, kind: Listener) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let state = Arc::clone(&state);
        async move { handle(req, &state, kind).await }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    // Errors here are the peer's business (resets, malformed requests, dropped
    // `/retry` attempts): there is nobody to report them to.
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Returned by the service to drop a request without answering it.
#[derive(Debug)]
struct DropRequest;

impl fmt::Display for DropRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failing /retry attempt by dropping the request")
    }
}

impl std::error::Error for DropRequest {}

type EchoResponse = Response<Full<Bytes>>;

async fn handle(
    req: Request<Incoming>,
    state: &State,
    kind: Listener,
) -> Result<EchoResponse, DropRequest> {
    // The body is never looked at, as upstream never reads it.
    let (req, _body) = req.into_parts();
    if kind == Listener::H2cOnly && req.version != Version::HTTP_2 {
        return Ok(plain(StatusCode::BAD_REQUEST, "Expected h2c request"));
    }
    let path = req.uri.path();
    if path == "/health" {
        return Ok(plain(StatusCode::OK, "OK"));
    }
    if path.starts_with("/status/") {
        return Ok(status_response(&request_uri(&req)));
    }
    if path == "/retry" || path.starts_with("/retry/") {
        match retry_verdict(&req, state) {
            RetryVerdict::Echo => {}
            RetryVerdict::Respond(resp) => return Ok(resp),
            RetryVerdict::Drop => return Err(DropRequest),
        }
    }
    Ok(echo(&req, state).await)
}

/// `/status/NNN`, matched against the raw request target as upstream does.
fn status_response(uri: &str) -> EchoResponse {
    let code = uri
        .strip_prefix("/status/")
        .filter(|digits| digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u16>().ok())
        // 1xx are not final answers.
        .filter(|code| *code >= 200)
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = code;
    resp
}

enum RetryVerdict {
    Echo,
    Respond(EchoResponse),
    Drop,
}

fn retry_verdict(req: &Parts, state: &State) -> RetryVerdict {
    let query = parse_query(req.uri.query().unwrap_or(""));
    let Some(uuid) = first(&query, "uuid").filter(|uuid| !uuid.is_empty()) else {
        return RetryVerdict::Respond(error(StatusCode::BAD_REQUEST, "missing uuid"));
    };
    let succeed_after = match first(&query, "succeedAfter").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return RetryVerdict::Respond(error(StatusCode::BAD_REQUEST, "invalid succeedAfter"));
        }
    };
    let code = match first(&query, "responseCode").map(parse_failure_code) {
        None => None,
        Some(Some(code)) => Some(code),
        Some(None) => {
            return RetryVerdict::Respond(error(StatusCode::BAD_REQUEST, "invalid responseCode"));
        }
    };
    let attempt = {
        let mut attempts = state
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = attempts.entry(uuid.to_owned()).or_insert(0);
        *seen += 1;
        *seen
    };
    if attempt > succeed_after {
        return RetryVerdict::Echo;
    }
    match code {
        Some(code) => RetryVerdict::Respond(error(
            code,
            &format!("attempt {attempt} of uuid {uuid} fails (succeedAfter={succeed_after})"),
        )),
        None => RetryVerdict::Drop,
    }
}

/// A `responseCode` a failing attempt may answer with: a final status, 200–599.
fn parse_failure_code(code: &str) -> Option<StatusCode> {
    code.parse::<u16>()
        .ok()
        .filter(|code| (200..=599).contains(code))
        .and_then(|code| StatusCode::from_u16(code).ok())
}

async fn echo(req: &Parts, state: &State) -> EchoResponse {
    let query = parse_query(req.uri.query().unwrap_or(""));
    if let Some(delay) = first(&query, "delay").filter(|d| !d.is_empty()) {
        match parse_go_duration(delay) {
            Ok(delay) => tokio::time::sleep(delay).await,
            Err(err) => return error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
        }
    }

    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &req.headers {
        if *name == HOST {
            continue;
        }
        headers
            .entry(canonical_header_key(name.as_str()))
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let body = serde_json::json!({
        "path": request_uri(req),
        "host": request_host(req),
        "method": req.method.as_str(),
        "proto": proto(req.version),
        "headers": headers,
        "namespace": state.namespace,
        "pod": state.pod,
        "service": state.service,
        "httpPort": state.http_port,
    });
    let body = serde_json::to_vec_pretty(&body).unwrap_or_default();

    let mut resp = Response::new(Full::new(Bytes::from(body)));
    let out = resp.headers_mut();
    for value in req.headers.get_all("x-echo-set-header") {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(',') {
            let (name, value) = pair.trim().split_once(':').unwrap_or((pair.trim(), ""));
            let (Ok(name), value) = (HeaderName::from_bytes(name.as_bytes()), value.trim()) else {
                continue;
            };
            let joined = match out.get(&name) {
                Some(existing) => {
                    let mut joined = existing.as_bytes().to_vec();
                    joined.push(b',');
                    joined.extend_from_slice(value.as_bytes());
                    HeaderValue::from_bytes(&joined)
                }
                None => HeaderValue::from_str(value),
            };
            if let Ok(joined) = joined {
                out.insert(name, joined);
            }
        }
    }
    out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    out.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// The request target as Go's `Request.RequestURI` reports it: HTTP/1 the raw target
/// of the request line (origin or absolute form), HTTP/2 the `:path` pseudo-header.
fn request_uri(req: &Parts) -> String {
    if req.version == Version::HTTP_2 {
        req.uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default()
    } else {
        req.uri.to_string()
    }
}

/// Go's `Request.Host`: the URI's authority when it has one (absolute form, HTTP/2
/// `:authority`), else the Host header.
fn request_host(req: &Parts) -> String {
    if let Some(authority) = req.uri.authority() {
        return authority.as_str().to_owned();
    }
    req.headers
        .get(HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
        .unwrap_or_default()
}

fn proto(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    }
}

fn plain(status: StatusCode, text: &'static str) -> EchoResponse {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn error(status: StatusCode, message: &str) -> EchoResponse {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every letter after a
/// hyphen upper case, all other letters lower case (`x-echo-set-header` →
/// `X-Echo-Set-Header`). A name holding a byte that is not a header token character
/// (e.g. a space) is returned unchanged, as Go does.
pub fn canonical_header_key(name: &str) -> String {
    const TOKEN_PUNCT: &[u8] = b"!#$%&'*+-.^_`|~";
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || TOKEN_PUNCT.contains(&b))
    {
        return name.to_owned();
    }
    let mut upper = true;
    name.bytes()
        .map(|b| {
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            upper = b == b'-';
            char::from(c)
        })
        .collect()
}

/// A duration Go's `time.ParseDuration` would not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "time: {} {:?}", self.reason, self.input)
    }
}

impl std::error::Error for DurationError {}

/// Parses a Go duration string as `time.ParseDuration` does: an optional sign, then
/// one or more decimal numbers (fraction allowed) each with a unit among `ns`, `us`
/// (`µs`, `μs`), `ms`, `s`, `m`, `h` — e.g. `300ms`, `1.5s`, `1m30s`, `-2h`; a bare
/// `0` is allowed. A negative duration comes back as zero (nothing to wait for).
/// Like Go, a value above `i64::MAX` nanoseconds (about 292 years) is an error.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(err("invalid duration"));
    }
    const MAX: u128 = i64::MAX as u128;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // The number: integer part, optional fraction; at least one digit overall.
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        let (frac_digits, after_num) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(err("invalid duration"));
        }
        // The unit: everything up to the next digit or dot.
        let unit_len = after_num
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_num.len());
        let (unit, after_unit) = after_num.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "" => return Err(err("missing unit in duration")),
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            _ => return Err(err("unknown unit in duration")),
        };
        let mut int: u128 = 0;
        for digit in int_digits.bytes() {
            int = int * 10 + u128::from(digit - b'0');
            if int > MAX {
                return Err(err("invalid duration"));
            }
        }
        let mut value = int
            .checked_mul(unit_nanos)
            .filter(|v| *v <= MAX)
            .ok_or_else(|| err("invalid duration"))?;
        // Fraction, truncated to nanoseconds; digits beyond 18 cannot matter.
        let (mut frac, mut scale) = (0u128, 1u128);
        for digit in frac_digits.bytes().take(18) {
            frac = frac * 10 + u128::from(digit - b'0');
            scale *= 10;
        }
        value += frac * unit_nanos / scale;
        total += value;
        if total > MAX {
            return Err(err("invalid duration"));
        }
        rest = after_unit;
    }
    if negative {
        return Ok(Duration::ZERO);
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| err("invalid duration"))?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| err("invalid duration"))?;
    Ok(Duration::new(secs, nanos))
}

/// `application/x-www-form-urlencoded` pairs of a query string, in order. Like Go's
/// `url.ParseQuery`, a pair with a malformed escape is skipped.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((unescape(key)?, unescape(value)?))
        })
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Percent-decoding with `+` as space; `None` on a malformed escape.
fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys_follow_go() {
        assert_eq!(
            canonical_header_key("x-echo-set-header"),
            "X-Echo-Set-Header"
        );
        assert_eq!(canonical_header_key("user-agent"), "User-Agent");
        assert_eq!(canonical_header_key("ACCEPT-encoding"), "Accept-Encoding");
        assert_eq!(canonical_header_key("x-b3-traceid"), "X-B3-Traceid");
        assert_eq!(canonical_header_key("foo_bar"), "Foo_bar");
        assert_eq!(canonical_header_key("-x"), "-X");
        assert_eq!(canonical_header_key("bad key"), "bad key");
    }

    #[test]
    fn go_durations() {
        let ok = |s: &str| parse_go_duration(s).unwrap();
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("1s"), Duration::from_secs(1));
        assert_eq!(ok("200ms"), Duration::from_millis(200));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("1.s"), Duration::from_secs(1));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1h2m3s4ms5us6ns"), Duration::new(3723, 4_005_006));
        assert_eq!(ok("3\u{b5}s"), Duration::from_micros(3));
        assert_eq!(ok("3\u{3bc}s"), Duration::from_micros(3));
        assert_eq!(ok("+2s"), Duration::from_secs(2));
        assert_eq!(ok("-2s"), Duration::ZERO);
        assert_eq!(ok("0.000000001s"), Duration::from_nanos(1));
        assert_eq!(ok("2562047h"), Duration::from_secs(2_562_047 * 3600));
        for bad in ["", "s", "1", "1x", ".s", "-", "1.5", "2562048h", "1s2"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(
            parse_go_duration("1").unwrap_err().to_string(),
            "time: missing unit in duration \"1\""
        );
    }

    #[test]
    fn query_parsing() {
        let q = parse_query("delay=1s&uuid=a%20b&x=1+2&bad=%zz&delay=2s&flag");
        assert_eq!(first(&q, "delay"), Some("1s"));
        assert_eq!(first(&q, "uuid"), Some("a b"));
        assert_eq!(first(&q, "x"), Some("1 2"));
        assert_eq!(first(&q, "bad"), None);
        assert_eq!(first(&q, "flag"), Some(""));
    }

    #[test]
    fn status_paths() {
        assert_eq!(status_response("/status/418").status(), 418);
        assert_eq!(status_response("/status/200").status(), 200);
        assert_eq!(status_response("/status/418?x=1").status(), 400);
        assert_eq!(status_response("/status/41").status(), 400);
        assert_eq!(status_response("/status/100").status(), 400);
        assert_eq!(status_response("/status/abc").status(), 400);
    }
}
