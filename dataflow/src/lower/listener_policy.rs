//! ListenerPolicy and the deprecated HTTPListenerPolicy → [`PolicyRec`] with a
//! [`ListenerPolicyRec`]: every field sluice applies lowered to the listener settings IR,
//! every other one a problem naming it (the rest of the policy still applies).

use serde_json::Value;
use sluice_crds::gateway_api::HTTPHeaderFilter;
use sluice_crds::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sluice_crds::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sluice_crds::kgateway::{
    HTTPListenerPolicy, HttpSettings, ListenerConfig, ListenerPolicy, LocalPolicyTargetSelector,
    ServerHeaderTransformation, TcpKeepalive,
};

use super::policy::{created, local_targets, quantity_bytes, selectors, targets, weight};
use super::{generation_of, key_of, parse_go_duration_ms};
use crate::ir::*;
use crate::model::{
    ListenerPolicyRec, PolicyKind, PolicyProblem, PolicyRec, PolicySelector, TargetKind,
};

type Problems = Vec<PolicyProblem>;

fn problem(out: &mut Problems, field: &str, message: impl Into<String>) {
    out.push(PolicyProblem {
        field: format!("spec.{field}"),
        message: message.into(),
    });
}

/// A ListenerPolicy: `default` and `perPort` (the ports must be ports; a repeated one keeps
/// its first entry).
pub fn lower_listener_policy(p: &ListenerPolicy) -> PolicyRec {
    let (w, weight_problem) = weight(&p.metadata);
    let mut problems: Problems = weight_problem.into_iter().collect();
    let mut rec = ListenerPolicyRec::default();
    if let Some(d) = &p.spec.default {
        rec.default = listener_config(&d.listener_config(), "default", &mut problems);
        if d.client_certificate_validation.is_some() {
            problem(
                &mut problems,
                "default.clientCertificateValidation",
                "not supported by sluice yet; it has no effect",
            );
        }
    }
    for (i, pp) in p.spec.per_port.iter().enumerate() {
        let at = format!("perPort[{i}]");
        let Some(port) = u16::try_from(pp.port).ok().filter(|p| *p > 0) else {
            problem(&mut problems, &at, format!("{} is not a port", pp.port));
            continue;
        };
        if rec.port(port).is_some() {
            problem(
                &mut problems,
                &at,
                format!("port {port} is listed twice; the first entry applies"),
            );
            continue;
        }
        let settings = listener_config(&pp.listener, &format!("{at}.listener"), &mut problems);
        rec.per_port.push((port, settings));
        rec.per_port.sort_by_key(|(p, _)| *p);
    }
    record(
        PolicyKind::ListenerPolicy,
        &p.metadata,
        w,
        targets(&p.spec.target_refs),
        selectors(&p.spec.target_selectors),
        rec,
        problems,
    )
}

/// An HTTPListenerPolicy: its inline settings are a ListenerPolicy's
/// `default.httpSettings`.
pub fn lower_http_listener_policy(p: &HTTPListenerPolicy) -> PolicyRec {
    let (w, weight_problem) = weight(&p.metadata);
    let mut problems: Problems = weight_problem.into_iter().collect();
    let rec = ListenerPolicyRec {
        default: ListenerSettingsIr {
            http: http_settings(&p.spec.http_settings, "", &mut problems),
            ..Default::default()
        },
        per_port: Vec::new(),
    };
    record(
        PolicyKind::HTTPListenerPolicy,
        &p.metadata,
        w,
        local_targets(&p.spec.target_refs),
        local_selectors(&p.spec.target_selectors),
        rec,
        problems,
    )
}

fn record(
    kind: PolicyKind,
    meta: &ObjectMeta,
    weight: i32,
    targets: Vec<crate::model::PolicyTarget>,
    selectors: Vec<PolicySelector>,
    rec: ListenerPolicyRec,
    mut problems: Problems,
) -> PolicyRec {
    for t in targets.iter().filter(|t| t.kind != TargetKind::Gateway) {
        let (g, k) = t.kind.group_kind();
        problem(
            &mut problems,
            "targetRefs",
            format!(
                "{g}/{k} {} is not a Gateway; a {} targets Gateways only",
                t.name,
                kind.as_str()
            ),
        );
    }
    if !selectors.is_empty() {
        problem(
            &mut problems,
            "targetSelectors",
            "selecting Gateways by label is not supported by sluice yet; name them in targetRefs",
        );
    }
    PolicyRec {
        kind,
        key: key_of(meta),
        generation: generation_of(meta),
        created: created(meta),
        weight,
        targets,
        selectors,
        traffic: None,
        listener: Some(Box::new(rec)),
        problems,
        secrets: Vec::new(),
    }
}

fn local_selectors(sel: &[LocalPolicyTargetSelector]) -> Vec<PolicySelector> {
    sel.iter()
        .map(|s| PolicySelector {
            kind: TargetKind::of(&s.group, &s.kind),
            labels: s
                .match_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            section: None,
        })
        .collect()
}

fn listener_config(c: &ListenerConfig, at: &str, problems: &mut Problems) -> ListenerSettingsIr {
    let mut out = ListenerSettingsIr {
        proxy_protocol: c.proxy_protocol.as_ref().map(|p| ProxyProtocolIr {
            allow_without: p.allow_requests_without_proxy_protocol.unwrap_or(false),
        }),
        ..Default::default()
    };
    if let Some(k) = &c.tcp_keepalive {
        out.tcp_keepalive = Some(keepalive(k, &format!("{at}.tcpKeepalive"), problems));
    }
    if let Some(b) = c.per_connection_buffer_limit_bytes {
        match u32::try_from(b) {
            Ok(b) => out.buffer_limit_bytes = Some(b),
            Err(_) => problem(
                problems,
                &format!("{at}.perConnectionBufferLimitBytes"),
                "must not be negative",
            ),
        }
    }
    if let Some(t) = &c.transport_socket_connect_timeout {
        out.transport_socket_connect_timeout_ms =
            duration(t, &format!("{at}.transportSocketConnectTimeout"), problems);
    }
    if let Some(h) = &c.http_settings {
        out.http = http_settings(h, &format!("{at}.httpSettings."), problems);
    }
    out
}

fn duration(s: &str, at: &str, problems: &mut Problems) -> Option<u64> {
    parse_go_duration_ms(s)
        .map_err(|e| problem(problems, at, e))
        .ok()
}

fn seconds(s: &Option<String>, at: &str, problems: &mut Problems) -> Option<u32> {
    let ms = duration(s.as_deref()?, at, problems)?;
    Some(u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX))
}

fn keepalive(k: &TcpKeepalive, at: &str, problems: &mut Problems) -> TcpKeepaliveIr {
    TcpKeepaliveIr {
        probes: k.keep_alive_probes.and_then(|p| u32::try_from(p).ok()),
        time_s: seconds(&k.keep_alive_time, &format!("{at}.keepAliveTime"), problems),
        interval_s: seconds(
            &k.keep_alive_interval,
            &format!("{at}.keepAliveInterval"),
            problems,
        ),
    }
}

fn non_negative(v: Option<i32>, at: &str, problems: &mut Problems) -> Option<u32> {
    let v = v?;
    u32::try_from(v)
        .map_err(|_| problem(problems, at, format!("{v} must not be negative")))
        .ok()
}

/// `httpSettings`; `at` is the field path prefix (`default.httpSettings.`, or empty for an
/// HTTPListenerPolicy, whose settings are its spec).
fn http_settings(h: &HttpSettings, at: &str, problems: &mut Problems) -> HttpSettingsIr {
    let f = |name: &str| format!("{at}{name}");
    let mut out = HttpSettingsIr {
        use_remote_address: h.use_remote_address,
        preserve_external_request_id: h.preserve_external_request_id,
        generate_request_id: h.generate_request_id,
        skip_xff_append: h.skip_xff_append,
        server_name: h.server_name.clone(),
        preserve_http1_header_case: h.preserve_http1_header_case,
        accept_http10: h.accept_http10,
        default_host_for_http10: h.default_host_for_http10.clone(),
        health_check_path: h.health_check.as_ref().map(|c| c.path.clone()),
        ..Default::default()
    };
    if !h.access_log.is_empty() {
        let logs: Vec<AccessLogIr> = h
            .access_log
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                access_log(v)
                    .map_err(|(sub, e)| {
                        problem(problems, &format!("{}[{i}]{sub}", f("accessLog")), e)
                    })
                    .ok()
            })
            .collect();
        out.access_log = Some(logs);
    }
    if h.tracing.is_some() {
        problem(
            problems,
            &f("tracing"),
            "a tracing provider needs an OpenTelemetry collector, which sluice does not reach yet; \
             it has no effect",
        );
    }
    if let Some(v) = &h.local_replies {
        match local_replies(v) {
            Ok(l) => out.local_replies = Some(l),
            Err((sub, e)) => problem(problems, &format!("{}{sub}", f("localReplies")), e),
        }
    }
    if let Some(u) = &h.upgrade_config {
        out.upgrades = Some(u.enabled_upgrades.clone());
    }
    out.xff_num_trusted_hops =
        non_negative(h.xff_num_trusted_hops, &f("xffNumTrustedHops"), problems);
    if !h.xff_trusted_cidrs.is_empty() {
        let cidrs = h
            .xff_trusted_cidrs
            .iter()
            .filter_map(|c| {
                cidr(c)
                    .map_err(|e| problem(problems, &f("xffTrustedCIDRs"), e))
                    .ok()
            })
            .collect();
        out.xff_trusted_cidrs = Some(cidrs);
        if out.xff_num_trusted_hops.take().is_some() {
            problem(
                problems,
                &f("xffNumTrustedHops"),
                "Envoy takes trusted CIDRs or a hop count, not both: xffTrustedCIDRs applies",
            );
        }
    }
    out.server_header = h.server_header_transformation.map(|s| match s {
        ServerHeaderTransformation::Overwrite => ServerHeaderIr::Overwrite,
        ServerHeaderTransformation::AppendIfAbsent => ServerHeaderIr::AppendIfAbsent,
        ServerHeaderTransformation::PassThrough => ServerHeaderIr::PassThrough,
    });
    if let Some(s) = &h.stream_idle_timeout {
        out.stream_idle_timeout_ms = duration(s, &f("streamIdleTimeout"), problems);
    }
    if let Some(s) = &h.idle_timeout {
        out.idle_timeout_ms = duration(s, &f("idleTimeout"), problems);
    }
    out.max_requests_per_connection = non_negative(
        h.max_requests_per_connection,
        &f("maxRequestsPerConnection"),
        problems,
    );
    out.max_headers_count = non_negative(h.max_headers_count, &f("maxHeadersCount"), problems);
    out.max_request_headers_kb = non_negative(
        h.max_request_headers_kb,
        &f("maxRequestHeadersKb"),
        problems,
    );
    if let Some(v) = &h.http2_protocol_options {
        out.http2 = Some(http2(v, &f("http2ProtocolOptions"), problems));
    }
    if let Some(m) = &h.early_request_header_modifier {
        out.early_request_headers = Some(header_ops(m));
    }
    if let Some(v) = &h.forward_client_cert_details {
        match forward_client_cert(v) {
            Ok(x) => out.forward_client_cert = Some(x),
            Err(e) => problem(problems, &f("forwardClientCertDetails"), e),
        }
    }
    if let Some(v) = &h.uuid_request_id_config {
        out.uuid_request_id = Some(UuidRequestIdIr {
            pack_trace_reason: v.get("packTraceReason").and_then(Value::as_bool),
            use_request_id_for_trace_sampling: v
                .get("useRequestIdForTraceSampling")
                .and_then(Value::as_bool),
        });
    }
    match h.strip_host_port_mode.as_deref() {
        None | Some("None") => {}
        Some("AnyPort") => out.strip_host_port = Some(StripPortIr::Any),
        Some("MatchingPort") => out.strip_host_port = Some(StripPortIr::Matching),
        Some(other) => problem(
            problems,
            &f("stripHostPortMode"),
            format!("{other:?} is not one of None, AnyPort, MatchingPort"),
        ),
    }
    out
}

fn header_ops(m: &HTTPHeaderFilter) -> HeaderOpsIr {
    let pairs = |l: &[sluice_crds::gateway_api::HTTPHeader]| {
        l.iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect()
    };
    HeaderOpsIr {
        set: pairs(&m.set),
        add: pairs(&m.add),
        remove: m.remove.iter().map(|r| r.to_ascii_lowercase()).collect(),
    }
}

fn cidr(s: &str) -> Result<(String, u32), String> {
    let bad = || format!("{s:?} is not a CIDR range (address/length); it is left out");
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad());
    }
    Ok((ip.to_string(), len))
}

fn http2(v: &Value, at: &str, problems: &mut Problems) -> Http2OptionsIr {
    let mut size = |key: &str| -> Option<u32> {
        let q = match v.get(key)? {
            Value::Number(n) => IntOrString::Int(n.as_i64().and_then(|n| i32::try_from(n).ok())?),
            Value::String(s) => IntOrString::String(s.clone()),
            _ => return None,
        };
        // Envoy's bounds for window sizes.
        match quantity_bytes(&q) {
            Ok(b) if (65_535..=2_147_483_647).contains(&b) => u32::try_from(b).ok(),
            Ok(b) => {
                problem(
                    problems,
                    &format!("{at}.{key}"),
                    format!("{b} is outside 65535–2147483647"),
                );
                None
            }
            Err(e) => {
                problem(problems, &format!("{at}.{key}"), e);
                None
            }
        }
    };
    Http2OptionsIr {
        initial_stream_window_size: size("initialStreamWindowSize"),
        initial_connection_window_size: size("initialConnectionWindowSize"),
        max_concurrent_streams: v
            .get("maxConcurrentStreams")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0),
        allow_connect: v.get("allowConnect").and_then(Value::as_bool),
    }
}

fn forward_client_cert(v: &Value) -> Result<ForwardClientCertIr, String> {
    let mode = match v
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("SanitizeSet")
    {
        "Sanitize" => ForwardClientCertMode::Sanitize,
        "ForwardOnly" => ForwardClientCertMode::ForwardOnly,
        "AppendForward" => ForwardClientCertMode::AppendForward,
        "SanitizeSet" => ForwardClientCertMode::SanitizeSet,
        "AlwaysForwardOnly" => ForwardClientCertMode::AlwaysForwardOnly,
        other => {
            return Err(format!(
                "mode {other:?} is not one of Sanitize, ForwardOnly, AppendForward, SanitizeSet, \
                 AlwaysForwardOnly"
            ));
        }
    };
    let d = |k: &str| {
        v.get("details")
            .and_then(|d| d.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    Ok(ForwardClientCertIr {
        mode,
        subject: d("subject"),
        cert: d("cert"),
        chain: d("chain"),
        dns: d("dns"),
        uri: d("uri"),
    })
}

/// One `accessLog[]` entry; an `Err` is (sub-field, reason) and leaves the entry out.
fn access_log(v: &Value) -> Result<AccessLogIr, (String, String)> {
    for other in ["grpcService", "openTelemetry"] {
        if v.get(other).is_some() {
            return Err((
                format!(".{other}"),
                "access-log services are not reached by sluice yet; this log is left out".into(),
            ));
        }
    }
    let Some(sink) = v.get("fileSink") else {
        return Err((String::new(), "needs a fileSink".into()));
    };
    let path = sink
        .get("path")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| (".fileSink.path".to_string(), "needs a path".to_string()))?;
    let format = match (sink.get("stringFormat"), sink.get("jsonFormat")) {
        (Some(_), Some(_)) => {
            return Err((
                ".fileSink".into(),
                "stringFormat and jsonFormat are exclusive".into(),
            ));
        }
        (Some(Value::String(s)), None) => LogFormatIr::Text(s.clone()),
        (None, Some(j @ Value::Object(_))) => LogFormatIr::Json(j.to_string()),
        (None, None) => LogFormatIr::Default,
        _ => return Err((".fileSink".into(), "the format has the wrong type".into())),
    };
    let filter = match v.get("filter") {
        None => None,
        Some(f) => Some(log_filter(f).map_err(|e| (".filter".to_string(), e))?),
    };
    Ok(AccessLogIr {
        path: path.to_string(),
        format,
        filter,
    })
}

/// `localReplies`; an `Err` is (sub-field, reason) and leaves all of it out (a partial set
/// of mappers would answer differently from what was written).
fn local_replies(v: &Value) -> Result<LocalRepliesIr, (String, String)> {
    let default_format = match v.get("defaultBodyFormat") {
        None => None,
        Some(b) => Some(body_format(b).map_err(|e| (".defaultBodyFormat".to_string(), e))?),
    };
    let mut mappers = Vec::new();
    for (i, m) in v
        .get("mappers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = |sub: &str| format!(".mappers[{i}]{sub}");
        let filter = log_filter(
            m.get("filter")
                .ok_or_else(|| (at(""), "needs a filter".into()))?,
        )
        .map_err(|e| (at(".filter"), e))?;
        let status = match m.get("statusCode") {
            None => None,
            Some(s) => Some(
                s.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (200..600).contains(n))
                    .ok_or_else(|| (at(".statusCode"), "must be 200–599".to_string()))?,
            ),
        };
        let override_format = match m.get("bodyFormatOverride") {
            None => None,
            Some(b) => Some(body_format(b).map_err(|e| (at(".bodyFormatOverride"), e))?),
        };
        let headers = match m.get("headers") {
            None => HeaderOpsIr::default(),
            Some(h) => {
                let f: HTTPHeaderFilter = serde_json::from_value(h.clone())
                    .map_err(|e| (at(".headers"), e.to_string()))?;
                header_ops(&f)
            }
        };
        mappers.push(LocalReplyMapperIr {
            filter,
            status,
            body: m.get("body").and_then(Value::as_str).map(str::to_string),
            body_format: override_format,
            headers,
        });
    }
    Ok(LocalRepliesIr {
        body_format: default_format,
        mappers,
    })
}

/// `{text | json, contentType}`.
fn body_format(v: &Value) -> Result<BodyFormatIr, String> {
    let format = match (v.get("text"), v.get("json")) {
        (Some(Value::String(t)), None) => LogFormatIr::Text(t.clone()),
        (None, Some(j @ Value::Object(_))) => LogFormatIr::Json(j.to_string()),
        _ => return Err("needs exactly one of text (a string) and json (an object)".into()),
    };
    Ok(BodyFormatIr {
        format,
        content_type: v
            .get("contentType")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn cmp(v: &Value) -> Result<(CmpOp, u32), String> {
    let op = match v.get("op").and_then(Value::as_str).unwrap_or("EQ") {
        "EQ" => CmpOp::Eq,
        "GE" => CmpOp::Ge,
        "LE" => CmpOp::Le,
        other => return Err(format!("op {other:?} is not one of EQ, GE, LE")),
    };
    let value = v
        .get("value")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("needs a non-negative value")?;
    Ok((op, value))
}

fn log_filter(v: &Value) -> Result<LogFilterIr, String> {
    let obj = v.as_object().ok_or("a filter is an object")?;
    let mut entries = obj.iter();
    let (Some((key, val)), None) = (entries.next(), entries.next()) else {
        return Err("a filter sets exactly one kind".into());
    };
    let list = |val: &Value| -> Result<Vec<LogFilterIr>, String> {
        let items = val.as_array().ok_or("andFilter/orFilter take a list")?;
        if items.len() < 2 {
            return Err("andFilter/orFilter take at least two filters".into());
        }
        items.iter().map(log_filter).collect()
    };
    Ok(match key.as_str() {
        "andFilter" => LogFilterIr::And(list(val)?),
        "orFilter" => LogFilterIr::Or(list(val)?),
        "notHealthCheckFilter" => LogFilterIr::NotHealthCheck,
        "traceableFilter" => LogFilterIr::Traceable,
        "statusCodeFilter" => {
            let (op, n) = cmp(val)?;
            LogFilterIr::StatusCode(op, n)
        }
        "durationFilter" => {
            let (op, n) = cmp(val)?;
            LogFilterIr::DurationMs(op, n)
        }
        "responseFlagFilter" => {
            let flags = val
                .get("flags")
                .and_then(Value::as_array)
                .ok_or("responseFlagFilter needs flags")?;
            LogFilterIr::ResponseFlags(
                flags
                    .iter()
                    .map(|f| {
                        f.as_str()
                            .and_then(response_flag)
                            .map(str::to_string)
                            .ok_or_else(|| format!("{f} is not an Envoy response flag"))
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        "headerFilter" => {
            let h = val.get("header").unwrap_or(val);
            let name = h
                .get("name")
                .and_then(Value::as_str)
                .ok_or("headerFilter needs a header name")?;
            match h.get("type").and_then(Value::as_str).unwrap_or("Exact") {
                "Exact" => {}
                other => {
                    return Err(format!(
                        "headerFilter type {other:?} is not supported by sluice yet"
                    ));
                }
            }
            LogFilterIr::Header {
                name: name.to_ascii_lowercase(),
                exact: h.get("value").and_then(Value::as_str).map(str::to_string),
            }
        }
        "grpcStatusFilter" => {
            let statuses = val
                .get("statuses")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .map(|s| {
                            s.as_str()
                                .and_then(grpc_status)
                                .ok_or_else(|| format!("{s} is not a gRPC status name"))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            LogFilterIr::GrpcStatus {
                statuses,
                exclude: val.get("exclude").and_then(Value::as_bool).unwrap_or(false),
            }
        }
        other => return Err(format!("{other} is not supported by sluice yet")),
    })
}

const GRPC_STATUSES: [&str; 17] = [
    "OK",
    "CANCELED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

fn grpc_status(s: &str) -> Option<i32> {
    GRPC_STATUSES.iter().position(|g| *g == s).map(|i| i as i32)
}

/// Envoy's response flags, short and long names; the filter takes the short one.
const RESPONSE_FLAGS: [(&str, &str); 29] = [
    ("LH", "FailedLocalHealthCheck"),
    ("UH", "NoHealthyUpstream"),
    ("UT", "UpstreamRequestTimeout"),
    ("LR", "LocalReset"),
    ("UR", "UpstreamRemoteReset"),
    ("UF", "UpstreamConnectionFailure"),
    ("UC", "UpstreamConnectionTermination"),
    ("UO", "UpstreamOverflow"),
    ("NR", "NoRouteFound"),
    ("DI", "DelayInjected"),
    ("FI", "FaultInjected"),
    ("RL", "RateLimited"),
    ("UAEX", "UnauthorizedExternalService"),
    ("RLSE", "RateLimitServiceError"),
    ("DC", "DownstreamConnectionTermination"),
    ("URX", "UpstreamRetryLimitExceeded"),
    ("SI", "StreamIdleTimeout"),
    ("IH", "InvalidEnvoyRequestHeaders"),
    ("DPE", "DownstreamProtocolError"),
    ("UMSDR", "UpstreamMaxStreamDurationReached"),
    ("RFCF", "ResponseFromCacheFilter"),
    ("NFCF", "NoFilterConfigFound"),
    ("DT", "DurationTimeout"),
    ("UPE", "UpstreamProtocolError"),
    ("NC", "NoClusterFound"),
    ("OM", "OverloadManagerTerminated"),
    ("DF", "DnsResolutionFailed"),
    ("DO", "DropOverload"),
    ("DR", "DownstreamRemoteReset"),
];

fn response_flag(s: &str) -> Option<&'static str> {
    RESPONSE_FLAGS
        .iter()
        .find(|(short, long)| *short == s || *long == s)
        .map(|(short, _)| *short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_formats_lower_or_name_the_field() {
        let log = access_log(&serde_json::json!({
            "fileSink": {"path": "/dev/stdout", "jsonFormat": {"b": "%RESPONSE_CODE%", "a": "x"}},
            "filter": {"andFilter": [
                {"notHealthCheckFilter": true},
                {"statusCodeFilter": {"op": "GE", "value": 400}},
                {"responseFlagFilter": {"flags": ["NoHealthyUpstream", "UF"]}}
            ]}
        }))
        .unwrap();
        assert_eq!(
            log.format,
            LogFormatIr::Json(r#"{"a":"x","b":"%RESPONSE_CODE%"}"#.into())
        );
        assert_eq!(
            log.filter,
            Some(LogFilterIr::And(vec![
                LogFilterIr::NotHealthCheck,
                LogFilterIr::StatusCode(CmpOp::Ge, 400),
                LogFilterIr::ResponseFlags(vec!["UH".into(), "UF".into()]),
            ]))
        );
        let bad = access_log(&serde_json::json!({
            "fileSink": {"path": "/tmp/x"}, "filter": {"statusCodeFilter": {"op": "GT", "value": 1}}
        }));
        assert_eq!(bad.unwrap_err().1, "op \"GT\" is not one of EQ, GE, LE");
        assert!(access_log(&serde_json::json!({"grpcService": {}})).is_err());
        assert_eq!(cidr("fc00::/7"), Ok(("fc00::".into(), 7)));
        assert!(cidr("10.0.0.0/33").is_err());
    }
}
