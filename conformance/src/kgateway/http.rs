//! Sending an `http` step's request to a Gateway's proxy and judging the answer by
//! `semantics.expect` of `e2e-cases.json`, with its retry modes.
//!
//! Requests go out like upstream's Go `net/http` client (or curl, for steps run from a pod):
//! a fresh connection per request, no redirects followed, the path escaped as Go escapes it,
//! `User-Agent` set. Unlike Go the client sends no `Accept-Encoding: gzip`, so it never has
//! to hide a compressed answer (Go decompresses transparently): the body is what Go would
//! show.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::plan::{BodyMatch, Expect, HeaderMatch, HttpStep, Request, RetryMode};
use crate::cases::Protocol;
use crate::judge::{Echo, Response};
use crate::runner::Outgoing;

/// One request's time limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an `eventually_consistent` expectation must keep holding, and how often it is
/// checked meanwhile.
const CONSISTENT_FOR: Duration = Duration::from_secs(3);
const CONSISTENT_POLL: Duration = Duration::from_secs(1);

/// Runs `step` against the proxy at `ip`: one attempt (`once`), or attempts until one passes
/// or the step's timeout passes (`eventually`), then holding for 3 s (`eventually_consistent`).
pub async fn run(step: &HttpStep, ip: Ipv4Addr) -> Result<(), String> {
    if step.mode == RetryMode::Once {
        return attempt(step, ip).await;
    }
    let deadline = Instant::now() + step.timeout;
    loop {
        match attempt(step, ip).await {
            Ok(()) => break,
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("{e} (still after {:?})", step.timeout));
            }
            Err(_) => tokio::time::sleep(step.delay).await,
        }
    }
    if step.mode == RetryMode::EventuallyConsistent {
        let until = Instant::now() + CONSISTENT_FOR;
        while Instant::now() < until {
            tokio::time::sleep(CONSISTENT_POLL).await;
            attempt(step, ip)
                .await
                .map_err(|e| format!("held, then stopped holding: {e}"))?;
        }
    }
    Ok(())
}

/// `repeat` requests, each of which must match.
async fn attempt(step: &HttpStep, ip: Ipv4Addr) -> Result<(), String> {
    for i in 0..step.repeat {
        let started = Instant::now();
        let resp = send(&step.request, ip).await?;
        let took = started.elapsed();
        let which = if step.repeat > 1 {
            format!("request {}/{}: ", i + 1, step.repeat)
        } else {
            String::new()
        };
        judge(&step.expect, &resp).map_err(|e| format!("{which}{e}"))?;
        if let Some(min) = step.min_latency
            && took < min
        {
            return Err(format!(
                "{which}answered in {took:?}, want at least {min:?}"
            ));
        }
    }
    Ok(())
}

/// Sends `req` to `ip:req.port` on a fresh connection.
pub async fn send(req: &Request, ip: Ipv4Addr) -> Result<Response, String> {
    // Go's Host for a URL without a host of its own: the address, with the port unless 80.
    let host = req.host.clone().unwrap_or_else(|| {
        if req.port == 80 {
            ip.to_string()
        } else {
            format!("{ip}:{}", req.port)
        }
    });
    let mut headers = req.headers.clone();
    let has = |h: &[(String, String)], n: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has(&headers, "user-agent") {
        let agent = if req.curl {
            "curl/7.83.1"
        } else {
            "Go-http-client/1.1"
        };
        headers.push(("User-Agent".into(), agent.into()));
    }
    if req.curl && !has(&headers, "accept") {
        headers.push(("Accept".into(), "*/*".into()));
    }
    let out = Outgoing {
        addr: SocketAddr::new(IpAddr::V4(ip), req.port),
        tls: None,
        protocol: if req.h2c {
            Protocol::H2c
        } else {
            Protocol::Http1
        },
        method: req.method.clone(),
        host,
        path: go_escape_path(&req.path),
        headers,
    };
    tokio::time::timeout(REQUEST_TIMEOUT, out.send())
        .await
        .map_err(|_| format!("no response within {REQUEST_TIMEOUT:?}"))?
}

/// The request target as Go sends it: the path's characters Go leaves alone kept, every other
/// byte percent-escaped (`|` → `%7C`, space → `%20`), valid `%XX` escapes kept; the query as
/// given.
pub fn go_escape_path(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    for (i, &b) in bytes.iter().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@/[]".contains(&b)
            || (b == b'%'
                && bytes
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `Ok` if `resp` is what `expect` describes; else the first mismatch.
pub fn judge(expect: &Expect, resp: &Response) -> Result<(), String> {
    let body = String::from_utf8_lossy(&resp.body);
    if !expect.status.contains(&resp.status) {
        return Err(format!(
            "status {} (want {:?}){}",
            resp.status,
            expect.status,
            excerpt(&body)
        ));
    }
    for (name, m) in &expect.headers {
        let values = header_values(resp, name);
        let ok = match m {
            // Go's Header.Get reads the first value; several values joined also pass.
            HeaderMatch::Equals(want) => {
                values.first() == Some(want) || (!values.is_empty() && values.join(",") == *want)
            }
            HeaderMatch::Contains(want) => values.iter().any(|v| v.contains(want.as_str())),
            HeaderMatch::NotEmpty => values.iter().any(|v| !v.is_empty()),
        };
        if !ok {
            return Err(format!(
                "response header {name}: {} (want {m:?})",
                if values.is_empty() {
                    "absent".to_string()
                } else {
                    format!("{values:?}")
                }
            ));
        }
    }
    for name in &expect.headers_absent {
        if let Some(v) = resp.header(name) {
            return Err(format!(
                "response header {name} present ({v:?}), want absent"
            ));
        }
    }
    for b in &expect.body {
        body_matches(b, &body).map_err(|e| format!("body: {e}{}", excerpt(&body)))?;
    }
    if let Some(up) = &expect.upstream {
        let echo = Echo::parse(&resp.body).ok_or_else(|| {
            format!(
                "not an echo answer, cannot see the upstream request{}",
                excerpt(&body)
            )
        })?;
        if let Some(m) = &up.method
            && !echo.method.eq_ignore_ascii_case(m)
        {
            return Err(format!("backend saw method {} (want {m})", echo.method));
        }
        for (name, want) in &up.headers {
            let got = echo
                .headers
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            let joined = got.join(",");
            let missing: Vec<&String> = want
                .iter()
                .filter(|w| !got.contains(w) && joined != **w)
                .collect();
            if !missing.is_empty() {
                return Err(format!("backend saw {name}: {got:?} (want {want:?})"));
            }
        }
        for name in &up.headers_absent {
            if let Some(v) = echo.headers.get(&name.to_ascii_lowercase()) {
                return Err(format!("backend saw {name}: {v:?} (want absent)"));
            }
        }
    }
    Ok(())
}

fn header_values(resp: &Response, name: &str) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    resp.headers
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn body_matches(m: &BodyMatch, body: &str) -> Result<(), String> {
    let json = || serde_json::from_str::<Value>(body).map_err(|_| "not JSON".to_string());
    match m {
        BodyMatch::Equals(want) => {
            if body != want {
                return Err(format!("want exactly {want:?}"));
            }
        }
        BodyMatch::Contains(wants) => {
            if let Some(w) = wants.iter().find(|w| !body.contains(w.as_str())) {
                return Err(format!("does not contain {:?}", super::data::short(w, 80)));
            }
        }
        BodyMatch::NotContains(wants) => {
            if let Some(w) = wants.iter().find(|w| body.contains(w.as_str())) {
                return Err(format!("contains {w:?}"));
            }
        }
        BodyMatch::Empty => {
            if !body.is_empty() {
                return Err("not empty".into());
            }
        }
        BodyMatch::Len(n) => {
            if body.len() != *n {
                return Err(format!("{} bytes (want {n})", body.len()));
            }
        }
        BodyMatch::JsonContains(want) => {
            let got = json()?;
            if !json_contains(&got, want) {
                return Err(format!("does not contain {want}"));
            }
        }
        BodyMatch::JsonHas(paths) => {
            let got = json()?;
            if let Some(p) = paths.iter().find(|p| lookup(&got, p).is_none()) {
                return Err(format!("lacks {}", p.join(".")));
            }
        }
        BodyMatch::JsonLacks(paths) => {
            let got = json()?;
            if let Some(p) = paths.iter().find(|p| lookup(&got, p).is_some()) {
                return Err(format!("has {}", p.join(".")));
            }
        }
        BodyMatch::JsonHasValues(pairs) => {
            let got = json()?;
            for (path, want) in pairs {
                let p: Vec<String> = path.split('.').map(str::to_string).collect();
                let ok = match lookup(&got, &p) {
                    Some(Value::Array(a)) => {
                        a.contains(want) || a.iter().any(|v| loose_eq(v, want))
                    }
                    Some(v) => loose_eq(v, want),
                    None => false,
                };
                if !ok {
                    return Err(format!("{path} is not {want}"));
                }
            }
        }
    }
    Ok(())
}

/// Objects subset-matched (recursively), arrays and scalars equal.
pub fn json_contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| json_contains(gv, wv))),
        (g, w) => g == w,
    }
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k.as_str()))
}

/// Equal, or the same text (a string and the scalar it spells).
fn loose_eq(a: &Value, b: &Value) -> bool {
    a == b
        || a.as_str()
            .is_some_and(|s| s == b.to_string().trim_matches('"'))
}

/// ` (body: …)`: the start of a body on one line, for failure messages.
fn excerpt(body: &str) -> String {
    let one: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.is_empty() {
        String::new()
    } else {
        format!(" (body: {})", super::data::short(&one, 120))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_escape_like_go() {
        assert_eq!(go_escape_path("/a/b?x=1|2"), "/a/b?x=1|2");
        assert_eq!(
            go_escape_path("/anything/plus/this|that/x"),
            "/anything/plus/this%7Cthat/x"
        );
        assert_eq!(
            go_escape_path("/anything/plus/(this|that)/!@$*&().a-b_c~'+4,;0=:sdf"),
            "/anything/plus/(this%7Cthat)/!@$*&().a-b_c~'+4,;0=:sdf"
        );
        assert_eq!(go_escape_path("/a b/%41/%zz"), "/a%20b/%41/%25zz");
    }

    #[test]
    fn json_subsets() {
        let got = json!({"headers": {"A": ["1", "2"], "B": ["x"]}, "path": "/"});
        assert!(json_contains(&got, &json!({"headers": {"A": ["1", "2"]}})));
        assert!(!json_contains(&got, &json!({"headers": {"A": ["1"]}})));
        assert!(!json_contains(&got, &json!({"headers": {"C": ["1"]}})));
    }

    #[test]
    fn responses_are_judged() {
        let resp = Response {
            status: 200,
            headers: vec![
                ("x-a".into(), "1".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: br#"{"path": "/p", "pod": "svc-1", "method": "GET", "headers": {"X-Up": ["v"]}}"#
                .to_vec(),
        };
        let mut e = Expect {
            status: vec![200],
            headers: vec![("X-A".into(), HeaderMatch::Equals("1".into()))],
            headers_absent: vec!["x-b".into()],
            body: vec![
                BodyMatch::Contains(vec!["svc-1".into()]),
                BodyMatch::JsonHas(vec![vec!["headers".into(), "X-Up".into()]]),
                BodyMatch::JsonHasValues(vec![("headers.X-Up".into(), json!("v"))]),
            ],
            upstream: Some(super::super::plan::Upstream {
                headers: vec![("x-up".into(), vec!["v".into()])],
                headers_absent: vec!["x-no".into()],
                method: Some("GET".into()),
            }),
        };
        assert_eq!(judge(&e, &resp), Ok(()));
        e.status = vec![404];
        assert!(judge(&e, &resp).unwrap_err().starts_with("status 200"));
        e.status = vec![200];
        e.headers_absent = vec!["X-A".into()];
        assert!(judge(&e, &resp).is_err());
    }
}
