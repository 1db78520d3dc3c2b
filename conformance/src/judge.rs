//! Judging one response by the rules of `cases.json`'s `semantics` (upstream's
//! `CompareRoundTrip`):
//!
//! - the status must be one of `expect.status`;
//! - on 200/204 from an echo backend: its pod name must start with the expected Service's name
//!   and its namespace must match; what it saw (path, method, host if expected, headers, absent
//!   headers) must match `backend_request`. A 200/204 that is not from a backend (a CORS
//!   preflight the gateway answers itself) passes these checks only if no backend or namespace
//!   is expected;
//! - response headers must have the expected values (several values of one name joined by
//!   `,`; names compared without case), one of the allowed values, or be absent;
//! - on 3xx: the Location's scheme, host, port and path must match, each defaulting to the
//!   request's (the port to the scheme's well-known one).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cases::{Expect, Request};

/// A response as the client saw it.
#[derive(Clone, Debug, Default)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of `name`, joined by `,` (`None` if absent).
    pub fn header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }
}

/// What the echo backend reported.
#[derive(Clone, Debug, Default)]
pub struct Echo {
    pub path: String,
    pub host: String,
    pub method: String,
    /// Lower-cased names.
    pub headers: BTreeMap<String, Vec<String>>,
    pub namespace: String,
    pub pod: String,
}

impl Echo {
    /// The echo JSON in `body`, if it is one.
    pub fn parse(body: &[u8]) -> Option<Echo> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, values) in v.get("headers")?.as_object()? {
            let values = values
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            headers
                .entry(name.to_ascii_lowercase())
                .or_default()
                .extend::<Vec<String>>(values);
        }
        Some(Echo {
            path: s("path")?,
            host: s("host").unwrap_or_default(),
            method: s("method").unwrap_or_default(),
            headers,
            namespace: s("namespace").unwrap_or_default(),
            pod: s("pod")?,
        })
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(|v| v.join(","))
    }
}

/// How the request reached the gateway, for the defaults of a redirect.
#[derive(Clone, Debug)]
pub struct Sent<'a> {
    pub request: &'a Request,
    /// The Host header actually sent.
    pub host: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
}

/// `Ok` if `resp` is what `expect` describes.
pub fn judge(sent: &Sent<'_>, expect: &Expect, resp: &Response) -> Result<(), String> {
    if !expect.status.contains(&resp.status) {
        let body = String::from_utf8_lossy(&resp.body);
        let body: String = body
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(160)
            .collect();
        return Err(format!(
            "status {} (want {:?}){}",
            resp.status,
            expect.status,
            if body.is_empty() {
                String::new()
            } else {
                format!(": {}", body.trim())
            }
        ));
    }
    if matches!(resp.status, 200 | 204) {
        backend(expect, resp)?;
    }
    response_headers(expect, resp)?;
    if (300..400).contains(&resp.status)
        && let Some(redirect) = &expect.redirect
    {
        let location = resp
            .header("location")
            .ok_or_else(|| format!("{} without a Location", resp.status))?;
        let got = parse_location(&location)
            .ok_or_else(|| format!("Location {location:?} is not an absolute URL"))?;
        let scheme = redirect
            .scheme
            .clone()
            .unwrap_or_else(|| sent.scheme.to_string());
        let want = Location {
            port: redirect
                .port
                .clone()
                .unwrap_or_else(|| default_port(&scheme).to_string()),
            host: redirect
                .host
                .clone()
                .unwrap_or_else(|| split_host_port(sent.host).0.to_string()),
            path: redirect.path.clone().unwrap_or_else(|| {
                let path = &sent.request.path;
                path.split('?').next().unwrap_or(path).to_string()
            }),
            scheme,
        };
        if got != want {
            return Err(format!(
                "Location {location:?}: got {}://{}:{}{}, want {}://{}:{}{}",
                got.scheme,
                got.host,
                got.port,
                got.path,
                want.scheme,
                want.host,
                want.port,
                want.path
            ));
        }
    }
    Ok(())
}

fn backend(expect: &Expect, resp: &Response) -> Result<(), String> {
    let wants_backend =
        expect.backend.is_some() || expect.namespace.as_deref().is_some_and(|n| !n.is_empty());
    let Some(echo) = Echo::parse(&resp.body) else {
        if wants_backend {
            let body: String = String::from_utf8_lossy(&resp.body)
                .chars()
                .take(120)
                .collect();
            return Err(format!(
                "{} not from an echo backend (body {body:?})",
                resp.status
            ));
        }
        return Ok(());
    };
    if let Some(b) = &expect.backend {
        if !echo.pod.starts_with(&b.name) {
            return Err(format!(
                "answered by pod {}/{}, want a pod of {b}",
                echo.namespace, echo.pod
            ));
        }
        if echo.namespace != b.namespace {
            return Err(format!(
                "answered from namespace {} (pod {}), want {}",
                echo.namespace, echo.pod, b.namespace
            ));
        }
    }
    if let Some(ns) = expect.namespace.as_deref().filter(|n| !n.is_empty())
        && echo.namespace != ns
    {
        return Err(format!(
            "answered from namespace {} (pod {}), want {ns}",
            echo.namespace, echo.pod
        ));
    }
    let br = &expect.backend_request;
    if let Some(path) = &br.path
        && &echo.path != path
    {
        return Err(format!("backend saw path {:?}, want {path:?}", echo.path));
    }
    if let Some(method) = &br.method
        && !echo.method.eq_ignore_ascii_case(method)
    {
        return Err(format!("backend saw method {}, want {method}", echo.method));
    }
    if let Some(host) = &br.host
        && &echo.host != host
    {
        return Err(format!("backend saw host {:?}, want {host:?}", echo.host));
    }
    for (name, value) in &br.headers {
        match echo.header(name) {
            None => return Err(format!("backend did not see header {name}")),
            Some(got) if &got != value => {
                return Err(format!("backend saw {name}: {got:?}, want {value:?}"));
            }
            Some(_) => {}
        }
    }
    for name in &br.absent_headers {
        if let Some(got) = echo.header(name) {
            return Err(format!("backend saw header {name}: {got:?}, want none"));
        }
    }
    Ok(())
}

fn response_headers(expect: &Expect, resp: &Response) -> Result<(), String> {
    for (name, value) in &expect.response_headers {
        match resp.header(name) {
            None => return Err(format!("response lacks header {name}")),
            Some(got) if &got != value => {
                return Err(format!("response header {name}: {got:?}, want {value:?}"));
            }
            Some(_) => {}
        }
    }
    for (name, allowed) in &expect.response_headers_one_of {
        match resp.header(name) {
            None => return Err(format!("response lacks header {name}")),
            Some(got) if !allowed.contains(&got) => {
                return Err(format!(
                    "response header {name}: {got:?}, want one of {allowed:?}"
                ));
            }
            Some(_) => {}
        }
    }
    for name in &expect.response_absent_headers {
        if let Some(got) = resp.header(name) {
            return Err(format!("response has header {name}: {got:?}, want none"));
        }
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Location {
    scheme: String,
    host: String,
    port: String,
    path: String,
}

fn default_port(scheme: &str) -> &'static str {
    if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    }
}

/// `host[:port]` → (host, port if any); `[v6]:port` too.
pub fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host, after.strip_prefix(':'));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (authority, None),
    }
}

fn parse_location(location: &str) -> Option<Location> {
    let (scheme, rest) = location.split_once("://")?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    let (host, port) = split_host_port(authority);
    Some(Location {
        scheme: scheme.to_ascii_lowercase(),
        host: host.to_string(),
        port: port.unwrap_or(default_port(scheme)).to_string(),
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{BackendRequest, NsName, Redirect};

    fn echo_body(pod: &str, ns: &str, path: &str) -> Vec<u8> {
        serde_json::json!({
            "path": path, "host": "h", "method": "GET",
            "headers": {"X-Foo": ["a", "b"]}, "namespace": ns, "pod": pod
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn backend_identity_and_headers() {
        let request = Request {
            path: "/p".into(),
            method: "GET".into(),
            ..Default::default()
        };
        let sent = Sent {
            request: &request,
            host: "127.0.0.1",
            scheme: "http",
        };
        let expect = Expect {
            status: vec![200],
            backend: Some(NsName::new("ns", "svc-v1")),
            namespace: Some("ns".into()),
            backend_request: BackendRequest {
                path: Some("/p".into()),
                headers: vec![("x-foo".into(), "a,b".into())],
                ..Default::default()
            },
            ..Default::default()
        };
        let ok = Response {
            status: 200,
            body: echo_body("svc-v1-abc", "ns", "/p"),
            ..Default::default()
        };
        assert_eq!(judge(&sent, &expect, &ok), Ok(()));
        let wrong = Response {
            body: echo_body("svc-v2-abc", "ns", "/p"),
            ..ok.clone()
        };
        assert!(
            judge(&sent, &expect, &wrong)
                .unwrap_err()
                .contains("svc-v2")
        );
        let status = Response {
            status: 404,
            ..ok.clone()
        };
        assert!(
            judge(&sent, &expect, &status)
                .unwrap_err()
                .starts_with("status 404")
        );
    }

    #[test]
    fn redirects_default_to_the_request() {
        let request = Request {
            path: "/port?x=1".into(),
            method: "GET".into(),
            ..Default::default()
        };
        let sent = Sent {
            request: &request,
            host: "127.0.1.2",
            scheme: "http",
        };
        let expect = Expect {
            status: vec![302],
            redirect: Some(Redirect {
                port: Some("8083".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let resp = |loc: &str| Response {
            status: 302,
            headers: vec![("location".into(), loc.into())],
            body: Vec::new(),
        };
        assert_eq!(
            judge(&sent, &expect, &resp("http://127.0.1.2:8083/port?x=1")),
            Ok(())
        );
        assert!(judge(&sent, &expect, &resp("http://127.0.1.2/port")).is_err());
        let https = Expect {
            status: vec![302],
            redirect: Some(Redirect {
                scheme: Some("https".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            judge(&sent, &https, &resp("https://127.0.1.2/port")),
            Ok(())
        );
        assert!(judge(&sent, &https, &resp("https://127.0.1.2:80/port")).is_err());
    }

    #[test]
    fn host_port_split() {
        assert_eq!(split_host_port("a.com:80"), ("a.com", Some("80")));
        assert_eq!(split_host_port("a.com"), ("a.com", None));
        assert_eq!(split_host_port("[::1]:8080"), ("::1", Some("8080")));
    }
}
