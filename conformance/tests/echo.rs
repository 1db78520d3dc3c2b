//! The echo backend against the contract in `shared/conformance/README.md`, spoken to
//! over real sockets with hyper's low-level client (one connection per request).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use sluice_conformance::echo::{self, EchoConfig, EchoHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Reply {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

async fn backend(h2c: bool) -> EchoHandle {
    echo::spawn(EchoConfig {
        namespace: "gateway-conformance-infra".into(),
        pod: "infra-backend-v1-abc".into(),
        service: "infra-backend-v1".into(),
        http_port: 0,
        h2c_port: h2c.then_some(0),
    })
    .await
    .unwrap()
}

fn request(path: &str, headers: &[(&str, &str)]) -> Request<Empty<Bytes>> {
    let mut builder = Request::builder().uri(path).header("host", "example.com");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Empty::new()).unwrap()
}

async fn collect(resp: hyper::Response<hyper::body::Incoming>) -> Reply {
    let (parts, body) = resp.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// One HTTP/1.1 exchange on a fresh connection; `Err` when no response came.
async fn http1(addr: SocketAddr, req: Request<Empty<Bytes>>) -> Result<Reply, hyper::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await?;
    Ok(collect(resp).await)
}

/// One HTTP/2 prior-knowledge exchange on a fresh connection.
async fn h2c(addr: SocketAddr, path: &str) -> Result<Reply, hyper::Error> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::builder()
        .uri(format!("http://example.com{path}"))
        .header("x-custom", "v")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await?;
    Ok(collect(resp).await)
}

#[tokio::test]
async fn echoes_the_request_as_json() {
    let backend = backend(false).await;
    let reply = http1(
        backend.http_addr,
        Request::builder()
            .method("POST")
            .uri("/some/path?a=1&b=two")
            .header("host", "foo.example.com:8080")
            .header("x-multi", "one")
            .header("x-multi", "two")
            .header("user-agent", "sluice-test")
            .body(Empty::new())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    let json = reply.json();
    assert_eq!(json["path"], "/some/path?a=1&b=two");
    assert_eq!(json["host"], "foo.example.com:8080");
    assert_eq!(json["method"], "POST");
    assert_eq!(json["proto"], "HTTP/1.1");
    assert_eq!(json["namespace"], "gateway-conformance-infra");
    assert_eq!(json["pod"], "infra-backend-v1-abc");
    assert_eq!(json["service"], "infra-backend-v1");
    assert_eq!(json["httpPort"], backend.http_addr.port());
    assert_eq!(
        json["headers"]["X-Multi"],
        serde_json::json!(["one", "two"])
    );
    // Canonical (Go) names; Host is reported as `host`, not among the headers.
    assert_eq!(
        json["headers"]["User-Agent"],
        serde_json::json!(["sluice-test"])
    );
    assert!(json["headers"].get("user-agent").is_none());
    assert!(json["headers"].get("Host").is_none());
}

#[tokio::test]
async fn header_names_are_canonicalised_like_go() {
    let backend = backend(false).await;
    let reply = http1(
        backend.http_addr,
        request(
            "/",
            &[
                ("x-echo-set-header", ""),
                ("ACCEPT-ENCODING", "gzip"),
                ("x-b3-traceid", "1"),
            ],
        ),
    )
    .await
    .unwrap();
    let headers = reply.json()["headers"].clone();
    let names: Vec<&str> = headers
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        ["Accept-Encoding", "X-B3-Traceid", "X-Echo-Set-Header"],
        "{headers}"
    );
}

#[tokio::test]
async fn x_echo_set_header_sets_response_headers() {
    let backend = backend(false).await;
    let reply = http1(
        backend.http_addr,
        request(
            "/",
            &[(
                "X-Echo-Set-Header",
                "X-Header-Set: set-overwrites-values, x-also: 1",
            )],
        ),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["x-header-set"], "set-overwrites-values");
    assert_eq!(reply.headers["x-also"], "1");
    assert_eq!(
        reply.json()["headers"]["X-Echo-Set-Header"],
        serde_json::json!(["X-Header-Set: set-overwrites-values, x-also: 1"])
    );

    // A name given twice: values joined with a comma, as upstream does.
    let reply = http1(
        backend.http_addr,
        request("/", &[("X-Echo-Set-Header", "X-Dup:a, X-Dup:b")]),
    )
    .await
    .unwrap();
    assert_eq!(reply.headers["x-dup"], "a,b");
}

#[tokio::test]
async fn delay_waits_before_answering() {
    let backend = backend(false).await;
    let start = Instant::now();
    let reply = http1(backend.http_addr, request("/timeout?delay=200ms", &[]))
        .await
        .unwrap();
    let waited = start.elapsed();
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        waited >= Duration::from_millis(190),
        "waited only {waited:?}"
    );
    assert_eq!(reply.json()["path"], "/timeout?delay=200ms");

    let reply = http1(backend.http_addr, request("/?delay=soon", &[]))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.json()["message"].is_string());
}

#[tokio::test]
async fn status_path_answers_that_status() {
    let backend = backend(false).await;
    let reply = http1(backend.http_addr, request("/status/418", &[]))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::IM_A_TEAPOT);
    let reply = http1(backend.http_addr, request("/status/teapot", &[]))
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn retry_fails_the_first_attempts_per_uuid() {
    let backend = backend(false).await;
    let addr = backend.http_addr;

    // With a response code: two failures, then echoes.
    let path = "/retry/code-500?uuid=u1&succeedAfter=2&responseCode=500";
    for _ in 0..2 {
        let reply = http1(addr, request(path, &[])).await.unwrap();
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    let reply = http1(addr, request(path, &[])).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["path"], path);

    // Another uuid counts from zero.
    let reply = http1(
        addr,
        request("/retry/x?uuid=u2&succeedAfter=1&responseCode=503", &[]),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);

    // Without a response code: the connection is closed with no response.
    let path = "/retry/reset?uuid=u3&succeedAfter=2";
    for _ in 0..2 {
        assert!(http1(addr, request(path, &[])).await.is_err());
    }
    let reply = http1(addr, request(path, &[])).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);

    // The same, seen on the wire.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /retry/raw?uuid=u4&succeedAfter=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));

    let reply = http1(addr, request("/retry/x", &[])).await.unwrap();
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "uuid is required");
}

#[tokio::test]
async fn h2c_port_serves_only_http2() {
    let backend = backend(true).await;
    let h2c_addr = backend.h2c_addr.unwrap();

    let reply = h2c(h2c_addr, "/h2c?x=1").await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    let json = reply.json();
    assert_eq!(json["proto"], "HTTP/2.0");
    assert_eq!(json["path"], "/h2c?x=1");
    assert_eq!(json["host"], "example.com");
    assert_eq!(json["headers"]["X-Custom"], serde_json::json!(["v"]));
    assert_eq!(json["httpPort"], backend.http_addr.port());

    let reply = http1(h2c_addr, request("/", &[])).await.unwrap();
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(&reply.body[..], b"Expected h2c request");
}

#[tokio::test]
async fn http_port_also_serves_h2c_prior_knowledge() {
    let backend = backend(false).await;
    assert!(backend.h2c_addr.is_none());
    let reply = h2c(backend.http_addr, "/").await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["proto"], "HTTP/2.0");

    // HTTP/2 has no connection to drop: a failing attempt resets the stream.
    assert!(
        h2c(backend.http_addr, "/retry/h2?uuid=h&succeedAfter=1")
            .await
            .is_err()
    );
    let reply = h2c(backend.http_addr, "/retry/h2?uuid=h&succeedAfter=1")
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn shutdown_closes_the_listeners() {
    let backend = backend(true).await;
    let (http_addr, h2c_addr) = (backend.http_addr, backend.h2c_addr.unwrap());
    backend.shutdown().await;
    assert!(TcpStream::connect(http_addr).await.is_err());
    assert!(TcpStream::connect(h2c_addr).await.is_err());
}

#[tokio::test]
async fn fixed_ports_are_honoured() {
    // Find a free port, release it, and ask for it explicitly.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let backend = echo::spawn(EchoConfig {
        http_port: port,
        ..EchoConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(backend.http_addr.port(), port);
    let reply = http1(backend.http_addr, request("/health", &[]))
        .await
        .unwrap();
    assert_eq!(
        (reply.status, &reply.body[..]),
        (StatusCode::OK, &b"OK"[..])
    );
}
