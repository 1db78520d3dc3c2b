//! `cases.json` (the upstream HTTPRoute conformance tests, machine-readable) as runnable tests.
//!
//! Each test becomes a list of [`Case`]s: one per `requests[]` entry, one per asserted status
//! condition, one for a weighted-distribution check where the test has one, and one per row of
//! a retry table (`table_literals` with `retrySimulationConfig`). A request or expectation with
//! a value that starts with `$` (a Go expression the extractor could not resolve) is kept but
//! marked unresolved: the runner skips it.
//!
//! `cases.json` does not record everything the upstream Go tests do between requests. The few
//! gaps are filled here, explicitly, in [`amend`]: which Gateway a request goes to when a test
//! sends to several, and an object the test deletes before its later requests.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

/// `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NsName {
    pub namespace: String,
    pub name: String,
}

impl NsName {
    pub fn new(namespace: &str, name: &str) -> NsName {
        NsName {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for NsName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// How a request is carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 (over TLS when the listener is HTTPS).
    #[default]
    Http1,
    /// HTTP/2 with prior knowledge over cleartext.
    H2c,
    /// HTTP/2 (over TLS, negotiated by ALPN, on an HTTPS listener).
    H2,
}

/// One request of a case.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The Host header (`""`: the gateway's address).
    pub host: String,
    pub path: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub protocol: Protocol,
    /// TLS server name (default: the host, without a port).
    pub sni: Option<String>,
    /// Sent over TLS to the Gateway's HTTPS listener (`request.scheme: https`).
    pub tls: bool,
    /// Headers the echo backend is asked to set on its response (`X-Echo-Set-Header`).
    pub echo_set_headers: Vec<(String, String)>,
}

/// What the echo backend must have seen.
#[derive(Clone, Debug, Default)]
pub struct BackendRequest {
    pub path: Option<String>,
    pub host: Option<String>,
    pub method: Option<String>,
    pub headers: Vec<(String, String)>,
    pub absent_headers: Vec<String>,
}

/// Where a redirect must point (`None`: the default the runner fills in).
#[derive(Clone, Debug, Default)]
pub struct Redirect {
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Expect {
    pub status: Vec<u16>,
    /// The Service that must have answered (checked on 200/204): its name prefixes the pod's.
    pub backend: Option<NsName>,
    /// The namespace of the answering backend (checked on 200/204 when not empty).
    pub namespace: Option<String>,
    pub backend_request: BackendRequest,
    pub response_headers: Vec<(String, String)>,
    pub response_headers_one_of: Vec<(String, Vec<String>)>,
    pub response_absent_headers: Vec<String>,
    pub redirect: Option<Redirect>,
}

/// A status condition to find on the routes' statuses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Condition {
    pub type_: String,
    pub status: String,
    pub reason: String,
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.type_, self.status)?;
        if !self.reason.is_empty() {
            write!(f, "/{}", self.reason)?;
        }
        Ok(())
    }
}

/// An object a test deletes before a case (upstream does it through the API server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    pub kind: String,
    pub object: NsName,
}

#[derive(Clone, Debug)]
pub enum CaseKind {
    /// A request and its expected response.
    Http {
        request: Box<Request>,
        expect: Box<Expect>,
    },
    /// A condition on the HTTPRoute statuses, asserted `count` times by the test: a `True`
    /// one must hold on at least `count` of the test's routes; another one on the test's
    /// route (`routeNN`) for the test's Gateway.
    Status { condition: Condition, count: usize },
    /// `requests` requests to `path`; each backend Service must answer its weight's share of
    /// them within `tolerance`.
    Distribution {
        path: String,
        requests: usize,
        expected: Vec<(String, f64)>,
        tolerance: f64,
    },
    /// A `/retry/...` request with a fresh `uuid`, `succeedAfter` and `responseCode`: the
    /// backend fails that many attempts before echoing; the gateway's retries decide `want`.
    Retry {
        path: String,
        succeed_after: u32,
        response_code: u16,
        want: u16,
    },
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub kind: CaseKind,
    /// The Gateway the request goes to, when not the test's.
    pub gateway: Option<NsName>,
    /// Objects to delete from the manifests before this case.
    pub delete_before: Vec<Deletion>,
    /// Why the case cannot be run (an unresolved `$` expression).
    pub unresolved: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Test {
    pub name: String,
    pub support_level: String,
    /// Manifest files, relative to the manifests directory (base included).
    pub yaml_files: Vec<String>,
    /// The Gateway requests go to (`gwNN`), if the test names one that resolves.
    pub gateway: Option<NsName>,
    /// The test's main route (`routeNN`).
    pub route: Option<NsName>,
    /// Every HTTPRoute the test's own manifests create.
    pub routes: Vec<NsName>,
    pub cases: Vec<Case>,
}

/// Reads `cases.json`.
pub fn load(path: &Path) -> anyhow::Result<Vec<Test>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let Some(tests) = doc["httproute_tests"].as_array() else {
        bail!("{}: no httproute_tests", path.display());
    };
    let by_name: BTreeMap<&str, &Value> = tests
        .iter()
        .filter_map(|t| Some((t["name"].as_str()?, t)))
        .collect();
    let mut out = Vec::new();
    for t in tests {
        let mut test = parse_test(t, &by_name)
            .with_context(|| format!("test {}", t["name"].as_str().unwrap_or("?")))?;
        amend(&mut test);
        out.push(test);
    }
    Ok(out)
}

fn is_unresolved(s: &str) -> bool {
    s.starts_with('$')
}

/// The first unresolved string anywhere in `v` (keys included).
fn find_unresolved(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if is_unresolved(s) => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(find_unresolved),
        Value::Object(o) => o.iter().find_map(|(k, v)| {
            if is_unresolved(k) {
                Some(k.clone())
            } else {
                find_unresolved(v)
            }
        }),
        _ => None,
    }
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), str_of(v))).collect())
        .unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(str_of).collect())
        .unwrap_or_default()
}

fn ns_name(v: &Value) -> Option<NsName> {
    Some(NsName::new(v["Namespace"].as_str()?, v["Name"].as_str()?))
}

fn parse_test(t: &Value, by_name: &BTreeMap<&str, &Value>) -> anyhow::Result<Test> {
    let name = t["name"].as_str().context("name")?.to_string();
    // A test that reuses another's test function (and says nothing of its own names) sends to
    // the same Gateway.
    let names = match t["namespaced_names_in_test"].as_object() {
        Some(o) if !o.is_empty() => &t["namespaced_names_in_test"],
        _ => t["reuses_test_func_of"]
            .as_str()
            .and_then(|other| by_name.get(other))
            .map_or(
                &t["namespaced_names_in_test"],
                |o| &o["namespaced_names_in_test"],
            ),
    };
    let gateway = ns_name(&names["gwNN"]);
    let route = ns_name(&names["routeNN"]);
    let routes = t["manifest_resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["kind"] == "HTTPRoute")
                .filter_map(|r| Some(NsName::new(r["namespace"].as_str()?, r["name"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut cases = Vec::new();
    for (i, r) in t["requests"].as_array().into_iter().flatten().enumerate() {
        cases.push(parse_request_case(i, r));
    }
    // Status conditions, each distinct one once with its count.
    let mut conditions: BTreeMap<Condition, usize> = BTreeMap::new();
    for c in t["status_conditions_asserted"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let cond = Condition {
            type_: str_of(&c["Type"]),
            status: str_of(&c["Status"]),
            reason: str_of(&c["Reason"]),
        };
        *conditions.entry(cond).or_default() += 1;
    }
    for (condition, count) in conditions {
        let unresolved = [&condition.type_, &condition.status, &condition.reason]
            .into_iter()
            .find(|s| is_unresolved(s))
            .cloned();
        cases.push(Case {
            name: format!("status {condition} (x{count})"),
            kind: CaseKind::Status { condition, count },
            gateway: None,
            delete_before: Vec::new(),
            unresolved,
        });
    }
    if let Some(case) = distribution_case(t, route.as_ref()) {
        cases.push(case);
    }
    cases.extend(retry_cases(t));
    Ok(Test {
        name,
        support_level: t["support_level"].as_str().unwrap_or("").to_string(),
        yaml_files: strings(&t["yaml_files"]),
        gateway,
        route,
        routes,
        cases,
    })
}

fn parse_request_case(i: usize, r: &Value) -> Case {
    let req = &r["request"];
    let exp = &r["expect"];
    let unresolved = find_unresolved(req).or_else(|| find_unresolved(exp));
    let protocol = match req["protocol"].as_str() {
        Some("H2C_PRIOR_KNOWLEDGE") => Protocol::H2c,
        Some("H2") => Protocol::H2,
        _ => Protocol::Http1,
    };
    let method = req["method"].as_str().filter(|m| !m.is_empty());
    let request = Request {
        host: str_of(&req["host"]),
        path: str_of(&req["path"]),
        method: method.unwrap_or("GET").to_string(),
        headers: pairs(&req["headers"]),
        protocol,
        sni: req["sni"].as_str().map(str::to_string),
        tls: req["scheme"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("https")),
        echo_set_headers: pairs(&req["backend_set_response_headers(X-Echo-Set-Header)"]),
    };
    let status: Vec<u16> = exp["status"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_u64().and_then(|s| u16::try_from(s).ok()))
                .collect()
        })
        .filter(|s: &Vec<u16>| !s.is_empty())
        .unwrap_or_else(|| vec![200]);
    let backend = exp["backend"]
        .as_str()
        .and_then(|b| b.split_once('/'))
        .map(|(ns, name)| NsName::new(ns, name));
    let backend_request = match &exp["backend_request"] {
        // "same as request (path, method, host if set, headers)"
        Value::String(_) | Value::Null => BackendRequest {
            path: Some(request.path.clone()),
            host: Some(request.host.clone()).filter(|h| !h.is_empty()),
            method: Some(request.method.clone()),
            headers: request.headers.clone(),
            absent_headers: Vec::new(),
        },
        o => BackendRequest {
            path: o["path"].as_str().map(str::to_string),
            host: o["host"]
                .as_str()
                .filter(|h| !h.is_empty())
                .map(str::to_string),
            method: Some(
                o["method"]
                    .as_str()
                    .filter(|m| !m.is_empty())
                    .unwrap_or(&request.method)
                    .to_string(),
            ),
            headers: pairs(&o["headers"]),
            absent_headers: strings(&o["absent_headers"]),
        },
    };
    let redirect = exp["redirect"].as_object().map(|o| {
        let field = |k: &str| o.get(k).and_then(|v| v.as_str()).map(str::to_string);
        Redirect {
            scheme: field("scheme"),
            host: field("host"),
            port: field("port"),
            path: field("path"),
        }
    });
    let one_of = exp["response_headers_one_of"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), strings(v))).collect())
        .unwrap_or_default();
    let expect = Expect {
        status,
        backend,
        namespace: exp["namespace"].as_str().map(str::to_string),
        backend_request,
        response_headers: pairs(&exp["response_headers"]),
        response_headers_one_of: one_of,
        response_absent_headers: strings(&exp["response_absent_headers"]),
        redirect,
    };
    let title = req["case_name"].as_str().map_or_else(
        || {
            let host = if request.host.is_empty() {
                String::new()
            } else {
                format!("{} ", request.host)
            };
            format!("#{i} {} {host}{}", request.method, request.path)
        },
        |n| format!("#{i} {n}"),
    );
    Case {
        name: title,
        kind: CaseKind::Http {
            request: Box::new(request),
            expect: Box::new(expect),
        },
        // `request.gateway` sends this request to another Gateway than the test's `gwNN`.
        gateway: req["gateway"]
            .as_str()
            .and_then(|g| g.split_once('/'))
            .map(|(ns, name)| NsName::new(ns, name)),
        delete_before: Vec::new(),
        unresolved,
    }
}

/// The weighted-distribution check of a test that has one (upstream's
/// `weight.TestWeightedDistribution`): the expected shares are the weights of the first rule
/// of the test's route.
fn distribution_case(t: &Value, route: Option<&NsName>) -> Option<Case> {
    let helpers = strings(&t["assertion_helpers"]);
    if !helpers
        .iter()
        .any(|h| h.ends_with("TestWeightedDistribution"))
    {
        return None;
    }
    let route = route?;
    let spec = &t["httproute_specs"][route.to_string()];
    let refs = spec["rules"][0]["backendRefs"].as_array()?;
    let weights: Vec<(String, f64)> = refs
        .iter()
        .filter_map(|b| {
            let w = b["weight"].as_f64().unwrap_or(1.0);
            Some((b["name"].as_str()?.to_string(), w))
        })
        .collect();
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return None;
    }
    let path = spec["rules"][0]["matches"][0]["path"]["value"]
        .as_str()
        .unwrap_or("/")
        .to_string();
    Some(Case {
        name: "weighted distribution (500 requests, ±0.05)".to_string(),
        kind: CaseKind::Distribution {
            path,
            requests: 500,
            expected: weights.into_iter().map(|(n, w)| (n, w / total)).collect(),
            tolerance: 0.05,
        },
        gateway: None,
        delete_before: Vec::new(),
        unresolved: None,
    })
}

/// Rows of a retry table (`table_literals` whose rows carry `retrySimulationConfig`).
fn retry_cases(t: &Value) -> Vec<Case> {
    let mut out = Vec::new();
    for table in t["table_literals"].as_array().into_iter().flatten() {
        for row in table["value"].as_array().into_iter().flatten() {
            let args = &row["args"];
            let Some(sim) = args["retrySimulationConfig"].as_object() else {
                continue;
            };
            let first = |k: &str| {
                sim.get(k)
                    .and_then(|v| v.as_array())
                    .and_then(|a| a.first())
                    .map(str_of)
                    .unwrap_or_default()
            };
            let path = str_of(&args["path"]);
            let succeed_after = first("succeedAfter");
            let response_code = first("responseCode");
            let want = row["want"]["StatusCode"].as_u64();
            let unresolved = find_unresolved(row).or_else(|| {
                (succeed_after.parse::<u32>().is_err()
                    || response_code.parse::<u16>().is_err()
                    || want.is_none())
                .then(|| "an incomplete retry row".to_string())
            });
            out.push(Case {
                name: format!(
                    "retry {path} fail {succeed_after}x{response_code}: {}",
                    str_of(&row["name"])
                ),
                kind: CaseKind::Retry {
                    path,
                    succeed_after: succeed_after.parse().unwrap_or(0),
                    response_code: response_code.parse().unwrap_or(0),
                    want: want.and_then(|w| u16::try_from(w).ok()).unwrap_or(0),
                },
                gateway: None,
                delete_before: Vec::new(),
                unresolved,
            });
        }
    }
    out
}

const INFRA: &str = "gateway-conformance-infra";

/// What `cases.json` leaves out of a few tests, from what their upstream Go tests do:
///
/// - `HTTPRouteMultipleGateways` sends its first two requests to `same-namespace` and the
///   other two to `all-namespaces` (only the latter is `gwNN`);
/// - `HTTPRouteHostnameIntersection` sends every request whose host is not one of
///   `httproute-hostname-intersection-all`'s route hostnames (`first.com`, `second.com`,
///   `third.com` and their subdomains) to `httproute-hostname-intersection`;
/// - `HTTPRouteSimpleSameNamespace` names its Gateway's namespace by an unresolved expression
///   (the infrastructure namespace, where `same-namespace` is);
/// - `HTTPRouteReferenceGrant` deletes its ReferenceGrant before its second request.
pub fn amend(test: &mut Test) {
    match test.name.as_str() {
        "HTTPRouteMultipleGateways" if test.cases.len() >= 4 => {
            for case in test.cases.iter_mut().take(2) {
                case.gateway = Some(NsName::new(INFRA, "same-namespace"));
            }
        }
        "HTTPRouteHostnameIntersection" => {
            let all_hosts = ["first.com", "second.com", "third.com"];
            for case in &mut test.cases {
                if let CaseKind::Http { request, .. } = &case.kind
                    && !all_hosts
                        .iter()
                        .any(|h| request.host == *h || request.host.ends_with(&format!(".{h}")))
                {
                    case.gateway = Some(NsName::new(INFRA, "httproute-hostname-intersection"));
                }
            }
        }
        "HTTPRouteSimpleSameNamespace" => {
            if test
                .gateway
                .as_ref()
                .is_some_and(|g| is_unresolved(&g.namespace))
            {
                test.gateway = Some(NsName::new(INFRA, "same-namespace"));
            }
            if test
                .route
                .as_ref()
                .is_some_and(|r| is_unresolved(&r.namespace))
            {
                test.route = Some(NsName::new(INFRA, "gateway-conformance-infra-test"));
            }
        }
        "HTTPRouteReferenceGrant" => {
            if let Some(case) = test.cases.get_mut(1)
                && matches!(&case.kind, CaseKind::Http { expect, .. } if expect.status == [500])
            {
                case.delete_before.push(Deletion {
                    kind: "ReferenceGrant".to_string(),
                    object: NsName::new("gateway-conformance-web-backend", "reference-grant"),
                });
            }
        }
        _ => {}
    }
    if test
        .gateway
        .as_ref()
        .is_some_and(|g| is_unresolved(&g.namespace) || is_unresolved(&g.name))
    {
        test.gateway = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unresolved_values_are_found() {
        let v = serde_json::json!({"a": ["x", {"b": "$expr"}]});
        assert_eq!(find_unresolved(&v).as_deref(), Some("$expr"));
        assert_eq!(find_unresolved(&serde_json::json!({"a": "x"})), None);
    }

    #[test]
    fn request_case_defaults() {
        let v = serde_json::json!({
            "request": {"host": "", "path": "/x", "method": "", "headers": {"A": "b"}},
            "expect": {"status": [200], "backend": "ns/svc", "namespace": "ns",
                       "backend_request": "same as request (path, method, host if set, headers)"}
        });
        let case = parse_request_case(0, &v);
        let CaseKind::Http { request, expect } = case.kind else {
            panic!()
        };
        assert_eq!(request.method, "GET");
        assert_eq!(expect.backend, Some(NsName::new("ns", "svc")));
        assert_eq!(expect.backend_request.path.as_deref(), Some("/x"));
        assert_eq!(expect.backend_request.host, None);
        assert_eq!(
            expect.backend_request.headers,
            vec![("A".into(), "b".into())]
        );
        assert!(case.unresolved.is_none());
    }
}
