//! Each step of a case as a plan: a request to send and judge, a change to the manifests, or
//! the reason it is skipped.
//!
//! The skip rules live here, in one place ([`plan`], [`docs_blocker`]): what the runner cannot
//! do yet (TLS clients, request bodies, regex expectations, status/Envoy-admin/log checks) and
//! what the stand-in backends cannot honour (see [`AppNeed`]).

use std::time::Duration;

use serde_json::Value;

use super::data::{Case, Needs, short};
use crate::cases::NsName;

/// One step, planned.
#[derive(Clone, Debug)]
pub struct PlannedStep {
    /// A short description for reports (`http GET example.com/path1 → [200]`).
    pub what: String,
    pub plan: Plan,
}

#[derive(Clone, Debug)]
pub enum Plan {
    Http(Box<HttpStep>),
    Action(Action),
    /// Read the Gateway's proxy log (its stdout and stderr, where `/dev/stdout` access logs go).
    Logs(LogStep),
    WebSocket(WsStep),
    Skip(String),
}

/// `websocket`: upgrade through the Gateway, discard the greeting if asked, send a message and
/// expect one back, retrying until `timeout`.
#[derive(Clone, Debug)]
pub struct WsStep {
    pub gateway: NsName,
    pub port: u16,
    pub host: String,
    pub path: String,
    pub send: String,
    pub discard_greeting: bool,
    pub expect: String,
    pub timeout: Duration,
}

/// `proxy_logs_contain` (every substring shows up within `wait`) or `proxy_logs_not_contain`
/// (none shows up during `wait`).
#[derive(Clone, Debug)]
pub struct LogStep {
    pub gateway: NsName,
    pub substrings: Vec<String>,
    pub present: bool,
    pub wait: Duration,
}

/// A change to the manifests.
#[derive(Clone, Debug)]
pub enum Action {
    /// Apply these files and inline objects (objects without a namespace go to `namespace`).
    Apply {
        files: Vec<String>,
        inline: Vec<Value>,
        namespace: Option<String>,
    },
    /// Delete the objects of these files, or this one object.
    Delete {
        files: Vec<String>,
        object: Option<(String, NsName)>,
        namespace: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryMode {
    /// Retry until the expectation holds or the timeout passes.
    Eventually,
    /// One attempt.
    Once,
    /// As `Eventually`, then it must keep holding for 3 s, polled every second.
    EventuallyConsistent,
}

#[derive(Clone, Debug)]
pub struct HttpStep {
    pub mode: RetryMode,
    pub timeout: Duration,
    pub delay: Duration,
    /// Requests per attempt; each must match.
    pub repeat: usize,
    /// Each response must take at least this long.
    pub min_latency: Option<Duration>,
    pub request: Request,
    pub expect: Expect,
}

#[derive(Clone, Debug)]
pub struct Request {
    pub gateway: NsName,
    pub port: u16,
    pub method: String,
    pub path: String,
    /// `None`: the Host header is the Gateway's address.
    pub host: Option<String>,
    pub headers: Vec<(String, String)>,
    /// HTTP/2 with prior knowledge.
    pub h2c: bool,
    /// Sent by curl in a pod upstream (else by Go's net/http from the test host).
    pub curl: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Expect {
    pub status: Vec<u16>,
    pub headers: Vec<(String, HeaderMatch)>,
    pub headers_absent: Vec<String>,
    pub body: Vec<BodyMatch>,
    pub upstream: Option<Upstream>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HeaderMatch {
    Equals(String),
    Contains(String),
    NotEmpty,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BodyMatch {
    Equals(String),
    Contains(Vec<String>),
    NotContains(Vec<String>),
    Empty,
    /// Objects subset-matched, arrays and scalars equal.
    JsonContains(Value),
    JsonHas(Vec<Vec<String>>),
    JsonLacks(Vec<Vec<String>>),
    /// Dotted path → a value the value at the path equals or (an array) contains.
    JsonHasValues(Vec<(String, Value)>),
    Len(usize),
}

/// What the backend must have received (read from the echo's JSON).
#[derive(Clone, Debug, Default)]
pub struct Upstream {
    /// Name → the values it must carry (all of them).
    pub headers: Vec<(String, Vec<String>)>,
    pub headers_absent: Vec<String>,
    pub method: Option<String>,
}

/// What a case's backends must do beyond what the stand-ins do.
///
/// The stand-ins are the conformance echo ([`crate::echo`]: any path → 200 JSON with the
/// request's path, host, method and headers; `/status/NNN`; `?delay=`) for every Service, and
/// a static page for Services backed by nginx. From `needs.apps`:
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AppNeed {
    /// go-httpbin or classic httpbin: the echo honours `/headers`, `/get`, `/anything`,
    /// `/status/N` (their headers and method), not the endpoints in [`HTTPBIN_UNSUPPORTED`]
    /// nor the fields in [`HTTPBIN_ONLY_FIELDS`].
    Httpbin,
    /// istio's echo app answers `key=value` lines; the echo's JSON holds the same header names
    /// but not the `Key=value` lines.
    IstioEcho,
    /// A backend whose body the echo cannot imitate (hashicorp http-echo `pod=…`,
    /// jmalloc echo-server, the raw header echo, the zone backends): steps that read the body
    /// are skipped.
    OtherBody(String),
    /// A service no stand-in exists for (ext_proc, ext_authz, OTel, keycloak, …): every
    /// request step is skipped.
    Missing(String),
}

/// httpbin endpoints the echo does not implement (first path segment).
pub const HTTPBIN_UNSUPPORTED: &[&str] = &[
    "delay",
    "redirect-to",
    "redirect",
    "relative-redirect",
    "absolute-redirect",
    "html",
    "json",
    "xml",
    "gzip",
    "deflate",
    "brotli",
    "cookies",
    "response-headers",
    "bytes",
    "stream",
    "stream-bytes",
    "base64",
    "drip",
    "cache",
    "etag",
    "uuid",
    "ip",
    "user-agent",
    "image",
    "range",
    "links",
    "encoding",
    "sse",
    "trailers",
];

/// Top-level fields of httpbin's JSON the echo does not report.
pub const HTTPBIN_ONLY_FIELDS: &[&str] =
    &["args", "origin", "url", "data", "files", "form", "json"];

/// The stand-in gaps of a case's `needs.apps` entries (free text naming an app of the
/// `apps` catalogue).
pub fn app_needs(needs: &Needs) -> Vec<AppNeed> {
    let mut out = Vec::new();
    for app in &needs.apps {
        let a = app.to_ascii_lowercase();
        let need = if a.contains("httpbin") {
            AppNeed::Httpbin
        } else if a.starts_with("istio-echo") {
            AppNeed::IstioEcho
        } else if a.starts_with("echo-basic") && a.contains("https") {
            AppNeed::Missing("echo-basic serving HTTPS".into())
        } else if a.starts_with("echo-basic") || a.starts_with("curl") || a.starts_with("backend") {
            continue;
        } else if a.starts_with("nginx") && (a.contains("tls") || a.contains("proxy_protocol")) {
            AppNeed::Missing(format!("nginx with TLS or PROXY protocol ({app})"))
        } else if a.starts_with("nginx") {
            continue;
        } else if a.starts_with("hashicorp")
            || a.starts_with("jmalloc")
            || a.starts_with("raw-header-echo")
            || a.starts_with("zone-backend")
        {
            AppNeed::OtherBody(short(app, 40))
        } else {
            AppNeed::Missing(short(app, 40))
        };
        if !out.contains(&need) {
            out.push(need);
        }
    }
    out.sort();
    out
}

/// Why none of a case's request steps can run, if so: the upstream test is skipped, or the
/// case needs something outside this host (external services, fixtures, kgateway's Envoy
/// modules, a multi-zone cluster, a special client) or a backend without a stand-in.
pub fn case_blocker(case: &Case, apps: &[AppNeed]) -> Option<String> {
    let n = &case.needs;
    if let Some(why) = &case.skipped_upstream {
        return Some(format!("skipped upstream ({})", short(why, 60)));
    }
    if let Some(e) = n.external.first() {
        return Some(format!("needs an external service: {}", short(e, 60)));
    }
    if let Some(f) = n.fixtures.first() {
        return Some(format!("needs fixtures: {}", short(f, 60)));
    }
    if n.cluster.is_some() {
        return Some("needs a multi-zone cluster".into());
    }
    if n.client.is_some() {
        return Some("needs a cookie-jar client with DNS overrides".into());
    }
    if n.install.iter().any(|i| i.contains("dynamic module")) {
        return Some("needs kgateway's Envoy dynamic modules (rustformation, http-acl)".into());
    }
    apps.iter().find_map(|a| match a {
        AppNeed::Missing(app) => Some(format!("needs app {app} (no stand-in)")),
        _ => None,
    })
}

/// Why no request step can run given the case's manifests, if so:
/// - a kgateway `Backend` whose static host is a cluster DNS name (`httpbin.default.svc`),
///   which this host cannot resolve to a stand-in;
/// - TLS to backends (a BackendTLSPolicy, a BackendConfigPolicy with `tls`): the stand-ins
///   serve plain HTTP only, so such a case would pass or fail for the wrong reason.
pub fn docs_blocker(docs: &[Value]) -> Option<String> {
    let dns = docs
        .iter()
        .filter(|d| d["kind"] == "Backend")
        .flat_map(|d| {
            d["spec"]["static"]["hosts"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(|h| h["host"].as_str())
        .find(|h| h.ends_with(".svc") || h.contains(".svc."))
        .map(|h| format!("needs cluster DNS (Backend static host {h})"));
    let tls = docs
        .iter()
        .find(|d| {
            d["kind"] == "BackendTLSPolicy"
                || (d["kind"] == "BackendConfigPolicy" && !d["spec"]["tls"].is_null())
        })
        .map(|d| {
            format!(
                "backend TLS ({} {}): the stand-ins serve plain HTTP",
                d["kind"].as_str().unwrap_or(""),
                d["metadata"]["name"].as_str().unwrap_or("")
            )
        });
    dns.or(tls)
}

/// Plans every step of `case`.
pub fn plan(case: &Case) -> Vec<PlannedStep> {
    let apps = app_needs(&case.needs);
    let blocker = case_blocker(case, &apps);
    case.steps
        .iter()
        .map(|s| plan_step(s, &apps, blocker.as_deref()))
        .collect()
}

fn plan_step(step: &Value, apps: &[AppNeed], blocker: Option<&str>) -> PlannedStep {
    let ty = step["type"].as_str().unwrap_or("?");
    match ty {
        "http" => {
            let what = describe_http(step);
            let plan = match blocker {
                Some(b) => Plan::Skip(b.to_string()),
                None => match http_step(step, apps) {
                    Ok(h) => Plan::Http(Box::new(h)),
                    Err(why) => Plan::Skip(why),
                },
            };
            PlannedStep { what, plan }
        }
        "action" => {
            let kind = step["action"].as_str().unwrap_or("?");
            let files = strings(&step["manifests"]);
            let what = if files.is_empty() {
                format!("action {kind}")
            } else {
                format!("action {kind} {}", files.join(","))
            };
            PlannedStep {
                what,
                plan: action(step),
            }
        }
        "websocket" => {
            let r = &step["request"];
            let what = format!(
                "websocket {}{} send {}",
                r["host"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("/"),
                r["send"]
            );
            let gateway = r["gateway"]
                .as_str()
                .and_then(|g| g.split_once('/'))
                .map(|(ns, name)| NsName::new(ns, name));
            let path = r["url"]
                .as_str()
                .and_then(|u| u.split_once("://"))
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
                .unwrap_or_else(|| "/".into());
            let plan = match (blocker, gateway, step["expect"]["message"].as_str()) {
                (Some(b), _, _) => Plan::Skip(b.to_string()),
                (None, Some(gateway), Some(expect)) => Plan::WebSocket(WsStep {
                    gateway,
                    port: r["port"]
                        .as_u64()
                        .and_then(|p| u16::try_from(p).ok())
                        .unwrap_or(80),
                    host: r["host"].as_str().unwrap_or("").to_string(),
                    path,
                    send: r["send"].as_str().unwrap_or("").to_string(),
                    discard_greeting: r["discard_greeting"].as_bool().unwrap_or(false),
                    expect: expect.to_string(),
                    timeout: Duration::from_secs_f64(
                        step["timeout_s"].as_f64().unwrap_or(30.0).max(0.0),
                    ),
                }),
                _ => Plan::Skip("websocket step without a Gateway or an expected message".into()),
            };
            PlannedStep { what, plan }
        }
        "proxy_logs_contain" | "proxy_logs_not_contain" => {
            let present = ty == "proxy_logs_contain";
            let substrings = strings(&step["substrings"]);
            let what = format!("{ty} {}", substrings.join(" "));
            let gateway = step["gateway"]
                .as_str()
                .and_then(|g| g.split_once('/'))
                .map(|(ns, name)| NsName::new(ns, name));
            let plan = match (blocker, gateway) {
                (Some(b), _) => Plan::Skip(b.to_string()),
                (None, None) => Plan::Skip(format!("{ty} names no Gateway")),
                (None, Some(gateway)) => {
                    // A kept line shows up within Envoy's 1 s access-log flush; absence is
                    // watched for at most 3 s of the case's `for_s` (a longer wait proves no
                    // more: the requests before it are done).
                    let secs = if present {
                        step["within_s"].as_f64().unwrap_or(30.0)
                    } else {
                        step["for_s"].as_f64().unwrap_or(3.0).min(3.0)
                    };
                    Plan::Logs(LogStep {
                        gateway,
                        substrings,
                        present,
                        wait: Duration::from_secs_f64(secs.max(0.0)),
                    })
                }
            };
            PlannedStep { what, plan }
        }
        other => PlannedStep {
            what: other.to_string(),
            plan: Plan::Skip(other.to_string()),
        },
    }
}

impl WsStep {
    /// Retries the exchange through the proxy at `ip` until it echoes or `timeout` passes.
    pub async fn run(&self, ip: std::net::Ipv4Addr) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let last = self.once(ip).await;
            if last.is_ok() || tokio::time::Instant::now() >= deadline {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn once(&self, ip: std::net::Ipv4Addr) -> Result<(), String> {
        use crate::websocket::Client;
        let addr = std::net::SocketAddr::from((ip, self.port));
        let io = |e: std::io::Error| e.to_string();
        let exchange = async {
            let mut c = Client::connect_to(addr, &self.host, &self.path)
                .await
                .map_err(|r| format!("upgrade refused: {}", r.0))?;
            if self.discard_greeting {
                c.recv_text().await.map_err(io)?;
            }
            c.send_text(&self.send).await.map_err(io)?;
            let got = c.recv_text().await.map_err(io)?;
            if got == self.expect {
                Ok(())
            } else {
                Err(format!("got {got:?}, expected {:?}", self.expect))
            }
        };
        tokio::time::timeout(Duration::from_secs(5), exchange)
            .await
            .unwrap_or_else(|_| Err("no answer within 5 s".into()))
    }
}

impl LogStep {
    /// Judges the log `read` returns (read again until the step is decided).
    pub async fn run(&self, read: impl Fn() -> String) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let log = read();
            let missing: Vec<&String> = self
                .substrings
                .iter()
                .filter(|s| !log.contains(s.as_str()))
                .collect();
            if self.present && missing.is_empty() {
                return Ok(());
            }
            if !self.present && missing.len() < self.substrings.len() {
                let found: Vec<&String> = self
                    .substrings
                    .iter()
                    .filter(|s| log.contains(s.as_str()))
                    .collect();
                return Err(format!("the proxy log has {found:?}"));
            }
            if tokio::time::Instant::now() >= deadline {
                return if self.present {
                    Err(format!("the proxy log lacks {missing:?}"))
                } else {
                    Ok(())
                };
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn action(step: &Value) -> Plan {
    let kind = step["action"].as_str().unwrap_or("?");
    let files = strings(&step["manifests"]);
    let namespace = step["namespace"].as_str().map(str::to_string);
    match kind {
        "apply" => {
            let inline = match &step["inline"] {
                Value::Array(a) => a.clone(),
                Value::Object(_) => vec![step["inline"].clone()],
                _ => Vec::new(),
            };
            if let Some(d) = first_dollar(&Value::Array(inline.clone())) {
                return Plan::Skip(format!("unresolved runtime value {}", short(&d, 50)));
            }
            Plan::Action(Action::Apply {
                files,
                inline,
                namespace,
            })
        }
        "delete" => {
            let r = &step["resource"];
            let object = r["kind"].as_str().map(|k| {
                (
                    k.to_string(),
                    NsName::new(
                        r["namespace"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or(""),
                    ),
                )
            });
            if object
                .as_ref()
                .is_some_and(|(k, _)| k == "CustomResourceDefinition")
            {
                return Plan::Skip(
                    "action delete CustomResourceDefinition (the directory source has no CRDs)"
                        .into(),
                );
            }
            Plan::Action(Action::Delete {
                files,
                object,
                namespace,
            })
        }
        other => Plan::Skip(format!("action {other}")),
    }
}

fn describe_http(step: &Value) -> String {
    let r = &step["request"];
    format!(
        "http {} {}{} -> {}",
        r["method"].as_str().unwrap_or("GET"),
        r["host"].as_str().unwrap_or(""),
        r["path"].as_str().unwrap_or("/"),
        step["expect"]["status"]
    )
}

/// An `http` step, or why it is skipped.
fn http_step(step: &Value, apps: &[AppNeed]) -> Result<HttpStep, String> {
    if let Some(d) = first_dollar(&step["request"]).or_else(|| first_dollar(&step["expect"])) {
        return Err(format!("unresolved runtime value {}", short(&d, 50)));
    }
    let r = &step["request"];
    let e = &step["expect"];
    let request = request(r)?;
    let expect = expect(e)?;
    stand_in_gap(&request, &expect, apps)?;

    let mode = match step["mode"].as_str().unwrap_or("eventually") {
        "once" => RetryMode::Once,
        "eventually_consistent" => RetryMode::EventuallyConsistent,
        _ => RetryMode::Eventually,
    };
    let retry = &step["retry"];
    let timeout = retry["timeout_s"]
        .as_f64()
        .or_else(|| step["timeout_s"].as_f64())
        .unwrap_or(10.0);
    let delay = retry["delay_s"].as_f64().unwrap_or(0.1);
    Ok(HttpStep {
        mode,
        timeout: Duration::from_secs_f64(timeout.max(0.0)),
        delay: Duration::from_secs_f64(delay.max(0.0)),
        repeat: step["repeat"].as_u64().unwrap_or(1).max(1) as usize,
        min_latency: step["min_latency_ms"].as_u64().map(Duration::from_millis),
        request,
        expect,
    })
}

fn request(r: &Value) -> Result<Request, String> {
    if r["scheme"].as_str().is_some_and(|s| s != "http")
        || [
            "client_cert",
            "sni",
            "ca_file",
            "tls_version",
            "tls_max_version",
            "curves",
            "ciphers",
            "sigalgs",
            "insecure_skip_verify",
        ]
        .iter()
        .any(|k| !r[k].is_null())
    {
        return Err(
            "TLS requests (https, client certificates, TLS options) not supported yet".into(),
        );
    }
    if !r["proxy_protocol"].is_null() {
        return Err("PROXY protocol requests not supported".into());
    }
    if !r["body"].is_null() {
        return Err("request bodies not supported (runner::Outgoing sends none)".into());
    }
    let gateway = r["gateway"]
        .as_str()
        .and_then(|g| g.split_once('/'))
        .map(|(ns, name)| NsName::new(ns, name))
        .ok_or_else(|| format!("request names no Gateway: {}", r["gateway"]))?;
    let port = r["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(80);
    let mut headers: Vec<(String, String)> = r["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), scalar(v)))
        .collect();
    for (k, vs) in r["multi_headers"].as_object().into_iter().flatten() {
        for v in vs.as_array().into_iter().flatten() {
            headers.push((k.clone(), scalar(v)));
        }
    }
    let method = if r["headers_only"].as_bool() == Some(true) {
        "HEAD".to_string()
    } else {
        r["method"].as_str().unwrap_or("GET").to_string()
    };
    Ok(Request {
        gateway,
        port,
        method,
        path: r["path"].as_str().unwrap_or("/").to_string(),
        host: r["host"].as_str().map(str::to_string),
        headers,
        h2c: r["http2"].as_bool() == Some(true),
        curl: !r["client"].is_null(),
    })
}

fn expect(e: &Value) -> Result<Expect, String> {
    if !e["curl_exit_code"].is_null() {
        return Err("expects a client error (curl exit code)".into());
    }
    let status: Vec<u16> = e["status"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_u64().and_then(|s| u16::try_from(s).ok()))
        .collect();
    if status.is_empty() {
        return Err("expects no HTTP status".into());
    }
    if !e["set_cookie_deletes"].is_null() {
        return Err("set_cookie_deletes (cookie-jar client)".into());
    }
    let mut headers = Vec::new();
    for (name, m) in e["headers"].as_object().into_iter().flatten() {
        let m = match m {
            Value::String(s) => HeaderMatch::Equals(s.clone()),
            Value::Object(o) if o.contains_key("contains") => {
                HeaderMatch::Contains(scalar(&o["contains"]))
            }
            Value::Object(o) if o.contains_key("not_empty") => HeaderMatch::NotEmpty,
            Value::Object(o) if o.contains_key("regex") => {
                return Err(REGEX.into());
            }
            other => HeaderMatch::Equals(scalar(other)),
        };
        headers.push((name.clone(), m));
    }
    let mut body = Vec::new();
    for (k, v) in e["body"].as_object().into_iter().flatten() {
        body.push(match k.as_str() {
            "equals" => BodyMatch::Equals(scalar(v)),
            "contains" => BodyMatch::Contains(strings(v)),
            "not_contains" => BodyMatch::NotContains(strings(v)),
            "empty" => BodyMatch::Empty,
            "json_contains" => BodyMatch::JsonContains(v.clone()),
            "json_has" => BodyMatch::JsonHas(paths(v)),
            "json_lacks" => BodyMatch::JsonLacks(paths(v)),
            "json_has_values" => BodyMatch::JsonHasValues(
                v.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(p, v)| (p.clone(), v.clone()))
                    .collect(),
            ),
            "body_len" => BodyMatch::Len(v.as_u64().unwrap_or(0) as usize),
            "regex" | "not_regex" => return Err(REGEX.into()),
            other => return Err(format!("body expectation {other}")),
        });
    }
    let upstream = match e["upstream_request"].as_object() {
        None => None,
        Some(u) => {
            if u.contains_key("body") || u.contains_key("body_json_contains") {
                return Err(
                    "upstream request body (the echo stand-in does not echo bodies)".into(),
                );
            }
            Some(Upstream {
                headers: u
                    .get("headers")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        let values = match v {
                            Value::Array(a) => a.iter().map(scalar).collect(),
                            other => vec![scalar(other)],
                        };
                        (k.clone(), values)
                    })
                    .collect(),
                headers_absent: u.get("headers_absent").map(strings).unwrap_or_default(),
                method: u.get("method").and_then(Value::as_str).map(str::to_string),
            })
        }
    };
    Ok(Expect {
        status,
        headers,
        headers_absent: strings(&e["headers_absent"]),
        body,
        upstream,
    })
}

const REGEX: &str = "regex expectations (sluice-conformance has no regex engine)";

/// Whether the stand-ins can answer as the case's apps would for this step.
fn stand_in_gap(request: &Request, expect: &Expect, apps: &[AppNeed]) -> Result<(), String> {
    let reads_body = !expect.body.is_empty() || expect.upstream.is_some();
    for app in apps {
        match app {
            AppNeed::Httpbin => {
                let path = request.path.split('?').next().unwrap_or("");
                let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
                if HTTPBIN_UNSUPPORTED.contains(&first) {
                    return Err(format!(
                        "httpbin /{first} (the echo stand-in does not implement it)"
                    ));
                }
                for b in &expect.body {
                    let fields: Vec<String> = match b {
                        BodyMatch::JsonContains(Value::Object(o)) => o.keys().cloned().collect(),
                        BodyMatch::JsonHas(p) | BodyMatch::JsonLacks(p) => {
                            p.iter().filter_map(|p| p.first().cloned()).collect()
                        }
                        BodyMatch::JsonHasValues(p) => p
                            .iter()
                            .filter_map(|(p, _)| p.split('.').next().map(str::to_string))
                            .collect(),
                        _ => Vec::new(),
                    };
                    if let Some(f) = fields
                        .iter()
                        .find(|f| HTTPBIN_ONLY_FIELDS.contains(&f.as_str()))
                    {
                        return Err(format!(
                            "httpbin field {f:?} (the echo stand-in does not report it)"
                        ));
                    }
                }
            }
            AppNeed::IstioEcho => {
                let key_value = expect.body.iter().any(|b| match b {
                    BodyMatch::Contains(s) | BodyMatch::NotContains(s) => {
                        s.iter().any(|s| s.contains('='))
                    }
                    _ => false,
                });
                if key_value {
                    return Err("istio-echo key=value body (the echo stand-in answers JSON)".into());
                }
            }
            AppNeed::OtherBody(app) if reads_body => {
                return Err(format!("{app} body (the echo stand-in answers JSON)"));
            }
            _ => {}
        }
    }
    Ok(())
}

// ---- Small helpers ----

pub fn first_dollar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.starts_with('$') => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(first_dollar),
        Value::Object(o) => o.iter().find_map(|(k, v)| {
            if k.starts_with('$') {
                Some(k.clone())
            } else {
                first_dollar(v)
            }
        }),
        _ => None,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(scalar).collect(),
        Value::Null => Vec::new(),
        other => vec![scalar(other)],
    }
}

fn paths(v: &Value) -> Vec<Vec<String>> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|p| match p {
            Value::Array(_) => strings(p),
            Value::String(s) => s.split('.').map(str::to_string).collect(),
            other => vec![scalar(other)],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifests_can_block_a_case() {
        let backend = json!({"kind": "Backend", "metadata": {"name": "b"},
            "spec": {"static": {"hosts": [{"host": "httpbin.default.svc", "port": 8000}]}}});
        assert!(docs_blocker(&[backend]).unwrap().contains("cluster DNS"));
        let tls = json!({"kind": "BackendConfigPolicy", "metadata": {"name": "p"},
            "spec": {"tls": {"insecureSkipVerify": true}}});
        assert!(docs_blocker(&[tls]).unwrap().contains("backend TLS"));
        let plain = json!({"kind": "BackendConfigPolicy", "metadata": {"name": "p"},
            "spec": {"connectTimeout": "5s"}});
        assert_eq!(docs_blocker(&[plain]), None);
    }

    #[test]
    fn steps_are_planned() {
        let case: Case = serde_json::from_value(json!({
            "id": "f/T", "feature": "f", "needs": {"apps": ["go-httpbin (setup.yaml)"]},
            "steps": [
                {"type": "http", "mode": "eventually", "request": {"gateway": "a/b", "port": 80,
                  "scheme": "http", "method": "GET", "path": "/status/200", "host": "h"},
                 "expect": {"status": [200], "headers": {"x": {"contains": "y"}},
                  "body": {"json_contains": {"headers": {"A": ["b"]}}}}},
                {"type": "http", "mode": "eventually", "request": {"gateway": "a/b", "port": 80,
                  "scheme": "http", "method": "GET", "path": "/delay/1"}, "expect": {"status": [504]}},
                {"type": "http", "mode": "once", "request": {"gateway": "a/b", "port": 80,
                  "scheme": "http", "method": "GET", "path": "/", "headers": {"x": "$marker"}},
                 "expect": {"status": [200]}},
                {"type": "resource_condition"},
                {"type": "action", "action": "status_patch"},
                {"type": "action", "action": "apply", "manifests": ["a.yaml"]}
            ]
        }))
        .unwrap();
        let p = plan(&case);
        let Plan::Http(h) = &p[0].plan else {
            panic!("{:?}", p[0])
        };
        assert_eq!(h.request.gateway, NsName::new("a", "b"));
        assert_eq!(h.expect.headers[0].1, HeaderMatch::Contains("y".into()));
        assert_eq!(h.timeout, Duration::from_secs(10));
        assert!(matches!(&p[1].plan, Plan::Skip(w) if w.contains("/delay")));
        assert!(matches!(&p[2].plan, Plan::Skip(w) if w.contains("$marker")));
        assert!(matches!(&p[3].plan, Plan::Skip(w) if w == "resource_condition"));
        assert!(matches!(&p[4].plan, Plan::Skip(w) if w == "action status_patch"));
        assert!(
            matches!(&p[5].plan, Plan::Action(Action::Apply { files, .. }) if files.len() == 1)
        );
    }
}
