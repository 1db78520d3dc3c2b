//! `ListenerSettingsIr` onto a Listener, its filter chains and their HTTP connection
//! managers: what ListenerPolicies set, field by field, as kgateway maps them.

use envoy_types::pb::envoy::config::accesslog::v3::{
    AccessLog, AccessLogFilter, AndFilter, ComparisonFilter, DurationFilter, GrpcStatusFilter,
    HeaderFilter, NotHealthCheckFilter, OrFilter, ResponseFlagFilter, StatusCodeFilter,
    TraceableFilter, access_log, access_log_filter, comparison_filter,
};
use envoy_types::pb::envoy::config::common::mutation_rules::v3::{
    HeaderMutation as MutationRule, header_mutation,
};
use envoy_types::pb::envoy::config::core::v3::{
    CidrRange, DataSource, Http1ProtocolOptions, Http2ProtocolOptions, HttpProtocolOptions,
    RuntimeUInt32, SubstitutionFormatString, TcpKeepalive, TypedExtensionConfig, data_source,
    http1_protocol_options, substitution_format_string,
};
use envoy_types::pb::envoy::config::listener::v3::{Listener, ListenerFilter, listener_filter};
use envoy_types::pb::envoy::config::route::v3::HeaderMatcher;
use envoy_types::pb::envoy::extensions::access_loggers::file::v3::{
    FileAccessLog, file_access_log,
};
use envoy_types::pb::envoy::extensions::filters::http::health_check::v3::HealthCheck;
use envoy_types::pb::envoy::extensions::filters::listener::proxy_protocol::v3::ProxyProtocol;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, RequestIdExtension, ResponseMapper, http_connection_manager,
    http_filter,
};
use envoy_types::pb::envoy::extensions::http::early_header_mutation::header_mutation::v3::HeaderMutation;
use envoy_types::pb::envoy::extensions::http::header_formatters::preserve_case::v3::PreserveCaseFormatterConfig;
use envoy_types::pb::envoy::extensions::http::original_ip_detection::xff::v3::{
    XffConfig, XffTrustedCidrs,
};
use envoy_types::pb::envoy::extensions::request_id::uuid::v3::UuidRequestIdConfig;
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use envoy_types::pb::google::protobuf::{Any as PbAny, BoolValue, UInt32Value};
use prost::Message;
use sluice_dataflow::ir::*;

use super::{duration_ms, headers_to_add, pack};

pub const PROXY_PROTOCOL: &str = "envoy.filters.listener.proxy_protocol";
pub const HEALTH_CHECK: &str = "envoy.filters.http.health_check";
const FILE_ACCESS_LOG: &str = "envoy.access_loggers.file";

fn u32v(v: u32) -> UInt32Value {
    UInt32Value { value: v }
}

fn boolv(v: bool) -> BoolValue {
    BoolValue { value: v }
}

/// The listener-level fields; `proxy_protocol` goes first among the listener filters (the
/// PROXY header precedes the TLS ClientHello).
pub fn apply_listener(l: &mut Listener, s: &ListenerSettingsIr) {
    if let Some(p) = &s.proxy_protocol {
        l.listener_filters.insert(
            0,
            ListenerFilter {
                name: PROXY_PROTOCOL.to_string(),
                config_type: Some(listener_filter::ConfigType::TypedConfig(pack(
                    &ProxyProtocol {
                        allow_requests_without_proxy_protocol: p.allow_without,
                        stat_prefix: "proxy_protocol".to_string(),
                        ..Default::default()
                    },
                ))),
                ..Default::default()
            },
        );
    }
    if let Some(k) = &s.tcp_keepalive {
        l.tcp_keepalive = Some(TcpKeepalive {
            keepalive_probes: k.probes.map(u32v),
            keepalive_time: k.time_s.map(u32v),
            keepalive_interval: k.interval_s.map(u32v),
        });
    }
    l.per_connection_buffer_limit_bytes = s.buffer_limit_bytes.map(u32v);
    if let Some(ms) = s.transport_socket_connect_timeout_ms {
        for c in &mut l.filter_chains {
            c.transport_socket_connect_timeout = Some(duration_ms(ms));
        }
    }
}

/// The connection manager fields of `httpSettings`; the health check filter goes first in
/// the HTTP filter chain, so it answers before any policy filter runs.
pub fn apply_hcm(h: &mut HttpConnectionManager, s: &HttpSettingsIr) {
    if let Some(logs) = &s.access_log {
        h.access_log = logs.iter().map(access_log).collect();
    }
    if let Some(u) = &s.upgrades {
        h.upgrade_configs = u
            .iter()
            .map(|t| http_connection_manager::UpgradeConfig {
                upgrade_type: t.clone(),
                ..Default::default()
            })
            .collect();
    }
    if let Some(v) = s.use_remote_address {
        h.use_remote_address = Some(boolv(v));
    }
    // Envoy refuses original-IP extensions next to `use_remote_address`: trusted CIDRs or an
    // untrusted peer take the XFF extension, a trusted peer the connection manager's fields.
    let remote = s.use_remote_address.unwrap_or(false) && s.xff_trusted_cidrs.is_none();
    let xff_set = s.xff_num_trusted_hops.is_some()
        || s.xff_trusted_cidrs.is_some()
        || s.skip_xff_append.is_some();
    if remote {
        h.xff_num_trusted_hops = s.xff_num_trusted_hops.unwrap_or(0);
        h.skip_xff_append = s.skip_xff_append.unwrap_or(false);
    } else if xff_set || s.use_remote_address == Some(false) {
        h.use_remote_address = Some(boolv(false));
        // Envoy takes trusted CIDRs or a hop count, not both: the CIDRs say more.
        let xff = XffConfig {
            xff_num_trusted_hops: match s.xff_trusted_cidrs {
                Some(_) => 0,
                None => s.xff_num_trusted_hops.unwrap_or(0),
            },
            xff_trusted_cidrs: s.xff_trusted_cidrs.as_ref().map(|c| XffTrustedCidrs {
                cidrs: c
                    .iter()
                    .map(|(a, len)| CidrRange {
                        address_prefix: a.clone(),
                        prefix_len: Some(u32v(*len)),
                    })
                    .collect(),
            }),
            skip_xff_append: s.skip_xff_append.map(boolv),
        };
        h.original_ip_detection_extensions = vec![TypedExtensionConfig {
            name: "envoy.http.original_ip_detection.xff".to_string(),
            typed_config: Some(pack(&xff)),
        }];
    }
    if let Some(v) = s.preserve_external_request_id {
        h.preserve_external_request_id = v;
    }
    if let Some(v) = s.generate_request_id {
        h.generate_request_id = Some(boolv(v));
    }
    if let Some(sh) = s.server_header {
        h.server_header_transformation = match sh {
            ServerHeaderIr::Overwrite => 0,
            ServerHeaderIr::AppendIfAbsent => 1,
            ServerHeaderIr::PassThrough => 2,
        };
    }
    if let Some(n) = &s.server_name {
        h.server_name = n.clone();
    }
    if let Some(ms) = s.stream_idle_timeout_ms {
        h.stream_idle_timeout = Some(duration_ms(ms));
    }
    if s.idle_timeout_ms.is_some()
        || s.max_requests_per_connection.is_some()
        || s.max_headers_count.is_some()
    {
        h.common_http_protocol_options = Some(HttpProtocolOptions {
            idle_timeout: s.idle_timeout_ms.map(duration_ms),
            max_requests_per_connection: s.max_requests_per_connection.map(u32v),
            max_headers_count: s.max_headers_count.map(u32v),
            ..Default::default()
        });
    }
    if let Some(o) = &s.http2 {
        h.http2_protocol_options = Some(Http2ProtocolOptions {
            initial_stream_window_size: o.initial_stream_window_size.map(u32v),
            initial_connection_window_size: o.initial_connection_window_size.map(u32v),
            max_concurrent_streams: o.max_concurrent_streams.map(u32v),
            allow_connect: o.allow_connect.unwrap_or(false),
            ..Default::default()
        });
    }
    if s.preserve_http1_header_case == Some(true)
        || s.accept_http10.is_some()
        || s.default_host_for_http10.is_some()
    {
        h.http_protocol_options = Some(Http1ProtocolOptions {
            accept_http_10: s.accept_http10.unwrap_or(false),
            default_host_for_http_10: s.default_host_for_http10.clone().unwrap_or_default(),
            header_key_format: (s.preserve_http1_header_case == Some(true)).then(|| {
                http1_protocol_options::HeaderKeyFormat {
                    header_format: Some(
                        http1_protocol_options::header_key_format::HeaderFormat::StatefulFormatter(
                            TypedExtensionConfig {
                                name: "envoy.http.stateful_header_formatters.preserve_case"
                                    .to_string(),
                                typed_config: Some(pack(&PreserveCaseFormatterConfig::default())),
                            },
                        ),
                    ),
                }
            }),
            ..Default::default()
        });
    }
    if let Some(ops) = &s.early_request_headers {
        let mutations = headers_to_add(ops)
            .into_iter()
            .map(|o| MutationRule {
                action: Some(header_mutation::Action::Append(o)),
            })
            .chain(ops.remove.iter().map(|r| MutationRule {
                action: Some(header_mutation::Action::Remove(r.clone())),
            }))
            .collect();
        h.early_header_mutation_extensions = vec![TypedExtensionConfig {
            name: "envoy.http.early_header_mutation.header_mutation".to_string(),
            typed_config: Some(pack(&HeaderMutation { mutations })),
        }];
    }
    if let Some(f) = &s.forward_client_cert {
        h.forward_client_cert_details = match f.mode {
            ForwardClientCertMode::Sanitize => 0,
            ForwardClientCertMode::ForwardOnly => 1,
            ForwardClientCertMode::AppendForward => 2,
            ForwardClientCertMode::SanitizeSet => 3,
            ForwardClientCertMode::AlwaysForwardOnly => 4,
        };
        h.set_current_client_cert_details =
            Some(http_connection_manager::SetCurrentClientCertDetails {
                subject: f.subject.then(|| boolv(true)),
                cert: f.cert,
                chain: f.chain,
                dns: f.dns,
                uri: f.uri,
                ..Default::default()
            });
    }
    if let Some(kb) = s.max_request_headers_kb {
        h.max_request_headers_kb = Some(u32v(kb));
    }
    if let Some(u) = &s.uuid_request_id {
        h.request_id_extension = Some(RequestIdExtension {
            typed_config: Some(pack(&UuidRequestIdConfig {
                pack_trace_reason: u.pack_trace_reason.map(boolv),
                use_request_id_for_trace_sampling: u.use_request_id_for_trace_sampling.map(boolv),
            })),
        });
    }
    match s.strip_host_port {
        Some(StripPortIr::Any) => {
            h.strip_port_mode = Some(http_connection_manager::StripPortMode::StripAnyHostPort(
                true,
            ))
        }
        Some(StripPortIr::Matching) => h.strip_matching_host_port = true,
        None => {}
    }
    if let Some(path) = &s.health_check_path {
        h.http_filters.insert(0, health_check(path));
    }
}

fn health_check(path: &str) -> HttpFilter {
    let hc = HealthCheck {
        pass_through_mode: Some(boolv(false)),
        headers: vec![HeaderMatcher {
            name: ":path".to_string(),
            header_match_specifier: Some(
                envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier::StringMatch(
                    StringMatcher {
                        match_pattern: Some(string_matcher::MatchPattern::Exact(path.to_string())),
                        ..Default::default()
                    },
                ),
            ),
            ..Default::default()
        }],
        ..Default::default()
    };
    HttpFilter {
        name: HEALTH_CHECK.to_string(),
        config_type: Some(http_filter::ConfigType::TypedConfig(pack(&hc))),
        ..Default::default()
    }
}

fn access_log(l: &AccessLogIr) -> AccessLog {
    AccessLog {
        name: FILE_ACCESS_LOG.to_string(),
        filter: l.filter.as_ref().map(log_filter),
        config_type: Some(access_log::ConfigType::TypedConfig(file_log_config(l))),
    }
}

/// The file logger's config. A JSON format is a `google.protobuf.Struct`, whose map prost
/// writes in random order; it is encoded here in key order, so equal IR gives equal bytes.
fn file_log_config(l: &AccessLogIr) -> PbAny {
    let base = FileAccessLog {
        path: l.path.clone(),
        ..Default::default()
    };
    let format = match &l.format {
        LogFormatIr::Default => None,
        // Envoy adds no newline to a format string: one line per request needs one.
        LogFormatIr::Text(t) if !t.ends_with('\n') => Some(substitution_format(
            &LogFormatIr::Text(format!("{t}\n")),
            None,
        )),
        f => Some(substitution_format(f, None)),
    };
    let mut bytes = base.encode_to_vec();
    if let Some(f) = format {
        prost_field(5, &f, &mut bytes);
    }
    // Keep the oneof variant referenced so a rename in envoy-types breaks the build here.
    let _ = file_access_log::AccessLogFormat::LogFormat;
    PbAny {
        type_url: format!(
            "type.googleapis.com/{}",
            <FileAccessLog as prost::Name>::full_name()
        ),
        value: bytes,
    }
}

/// `SubstitutionFormatString` bytes: a text format as a `text_format_source`, a JSON one as
/// `json_format` written in key order.
fn substitution_format(format: &LogFormatIr, content_type: Option<&str>) -> Vec<u8> {
    let mut out = SubstitutionFormatString {
        format: match format {
            LogFormatIr::Text(t) => Some(substitution_format_string::Format::TextFormatSource(
                DataSource {
                    specifier: Some(data_source::Specifier::InlineString(t.clone())),
                    ..Default::default()
                },
            )),
            _ => None,
        },
        content_type: content_type.unwrap_or_default().to_string(),
        ..Default::default()
    }
    .encode_to_vec();
    if let LogFormatIr::Json(j) = format {
        let v: serde_json::Value = serde_json::from_str(j).unwrap_or_default();
        let mut st = Vec::new();
        if let serde_json::Value::Object(m) = &v {
            json_struct(m, &mut st);
        }
        prost_field(2, &st, &mut out);
    }
    out
}

/// The connection manager as an `Any`, its `local_reply_config` (which may hold JSON formats)
/// written by hand after the rest, so equal IR gives equal bytes.
pub fn pack_hcm(h: &HttpConnectionManager, s: Option<&HttpSettingsIr>) -> PbAny {
    let mut bytes = h.encode_to_vec();
    if let Some(l) = s.and_then(|s| s.local_replies.as_ref()) {
        let mut config = Vec::new();
        for m in &l.mappers {
            let mut mapper = ResponseMapper {
                filter: Some(log_filter(&m.filter)),
                status_code: m.status.map(u32v),
                body: m.body.as_ref().map(|b| DataSource {
                    specifier: Some(data_source::Specifier::InlineString(b.clone())),
                    ..Default::default()
                }),
                headers_to_add: headers_to_add(&m.headers),
                ..Default::default()
            }
            .encode_to_vec();
            if let Some(f) = &m.body_format {
                let sf = substitution_format(&f.format, f.content_type.as_deref());
                prost_field(4, &sf, &mut mapper);
            }
            prost_field(1, &mapper, &mut config);
        }
        if let Some(f) = &l.body_format {
            let sf = substitution_format(&f.format, f.content_type.as_deref());
            prost_field(2, &sf, &mut config);
        }
        prost_field(38, &config, &mut bytes);
    }
    PbAny {
        type_url: format!(
            "type.googleapis.com/{}",
            <HttpConnectionManager as prost::Name>::full_name()
        ),
        value: bytes,
    }
}

fn prost_field(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    use prost::encoding::{WireType, encode_key, encode_varint};
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(bytes.len() as u64, buf);
    buf.extend_from_slice(bytes);
}

/// `google.protobuf.Struct` bytes, fields in key order (`serde_json`'s map is sorted).
fn json_struct(m: &serde_json::Map<String, serde_json::Value>, buf: &mut Vec<u8>) {
    for (k, v) in m {
        let mut entry = Vec::new();
        prost::encoding::string::encode(1, k, &mut entry);
        let mut value = Vec::new();
        json_value(v, &mut value);
        prost_field(2, &value, &mut entry);
        prost_field(1, &entry, buf);
    }
}

/// `google.protobuf.Value` bytes.
fn json_value(v: &serde_json::Value, buf: &mut Vec<u8>) {
    use serde_json::Value as J;
    match v {
        J::Null => prost::encoding::int32::encode(1, &0, buf),
        J::Number(n) => prost::encoding::double::encode(2, &n.as_f64().unwrap_or(0.0), buf),
        J::String(s) => prost::encoding::string::encode(3, s, buf),
        J::Bool(b) => prost::encoding::bool::encode(4, b, buf),
        J::Object(m) => {
            let mut s = Vec::new();
            json_struct(m, &mut s);
            prost_field(5, &s, buf);
        }
        J::Array(items) => {
            let mut list = Vec::new();
            for i in items {
                let mut value = Vec::new();
                json_value(i, &mut value);
                prost_field(1, &value, &mut list);
            }
            prost_field(6, &list, buf);
        }
    }
}

fn comparison(op: CmpOp, value: u32, key: &str) -> ComparisonFilter {
    ComparisonFilter {
        op: match op {
            CmpOp::Eq => comparison_filter::Op::Eq,
            CmpOp::Ge => comparison_filter::Op::Ge,
            CmpOp::Le => comparison_filter::Op::Le,
        } as i32,
        value: Some(RuntimeUInt32 {
            default_value: value,
            runtime_key: key.to_string(),
        }),
    }
}

fn log_filter(f: &LogFilterIr) -> AccessLogFilter {
    use access_log_filter::FilterSpecifier as F;
    let spec = match f {
        LogFilterIr::And(fs) => F::AndFilter(AndFilter {
            filters: fs.iter().map(log_filter).collect(),
        }),
        LogFilterIr::Or(fs) => F::OrFilter(OrFilter {
            filters: fs.iter().map(log_filter).collect(),
        }),
        LogFilterIr::NotHealthCheck => F::NotHealthCheckFilter(NotHealthCheckFilter {}),
        LogFilterIr::Traceable => F::TraceableFilter(TraceableFilter {}),
        LogFilterIr::StatusCode(op, v) => F::StatusCodeFilter(StatusCodeFilter {
            comparison: Some(comparison(*op, *v, "access_log.status_code")),
        }),
        LogFilterIr::DurationMs(op, v) => F::DurationFilter(DurationFilter {
            comparison: Some(comparison(*op, *v, "access_log.duration")),
        }),
        LogFilterIr::ResponseFlags(flags) => F::ResponseFlagFilter(ResponseFlagFilter {
            flags: flags.clone(),
        }),
        LogFilterIr::Header { name, exact } => F::HeaderFilter(HeaderFilter {
            header: Some(HeaderMatcher {
                name: name.clone(),
                header_match_specifier: Some(match exact {
                    Some(v) => envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier::StringMatch(
                        StringMatcher {
                            match_pattern: Some(string_matcher::MatchPattern::Exact(v.clone())),
                            ..Default::default()
                        },
                    ),
                    None => envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier::PresentMatch(true),
                }),
                ..Default::default()
            }),
        }),
        LogFilterIr::GrpcStatus { statuses, exclude } => F::GrpcStatusFilter(GrpcStatusFilter {
            statuses: statuses.clone(),
            exclude: *exclude,
        }),
    };
    AccessLogFilter {
        filter_specifier: Some(spec),
    }
}
