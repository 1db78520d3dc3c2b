//! What a ListenerPolicy (or the deprecated HTTPListenerPolicy) sets on an Envoy Listener and
//! its HTTP connection managers, as merged for one port.
//!
//! Every field is one unit of kgateway's field-wise merge: [`ListenerSettingsIr::fill`] takes
//! a lower-priority policy's field only where a higher one left it unset.

use serde::{Deserialize, Serialize};

use super::HeaderOpsIr;

/// One port's listener settings (`ListenerConfig`, or `default` with its extra fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListenerSettingsIr {
    /// `proxyProtocol`: the PROXY protocol listener filter, and whether a connection without
    /// the header is still accepted.
    pub proxy_protocol: Option<ProxyProtocolIr>,
    pub tcp_keepalive: Option<TcpKeepaliveIr>,
    pub buffer_limit_bytes: Option<u32>,
    pub transport_socket_connect_timeout_ms: Option<u64>,
    pub http: HttpSettingsIr,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProxyProtocolIr {
    pub allow_without: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TcpKeepaliveIr {
    pub probes: Option<u32>,
    pub time_s: Option<u32>,
    pub interval_s: Option<u32>,
}

/// `httpSettings`: the HTTP connection manager of every chain of the port.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HttpSettingsIr {
    pub access_log: Option<Vec<AccessLogIr>>,
    /// `upgradeConfig.enabledUpgrades` (`websocket`, `CONNECT`, …).
    pub upgrades: Option<Vec<String>>,
    pub use_remote_address: Option<bool>,
    pub preserve_external_request_id: Option<bool>,
    pub generate_request_id: Option<bool>,
    pub xff_num_trusted_hops: Option<u32>,
    /// `(address prefix, prefix length)`.
    pub xff_trusted_cidrs: Option<Vec<(String, u32)>>,
    pub skip_xff_append: Option<bool>,
    pub server_header: Option<ServerHeaderIr>,
    pub server_name: Option<String>,
    pub stream_idle_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub max_requests_per_connection: Option<u32>,
    pub max_headers_count: Option<u32>,
    pub http2: Option<Http2OptionsIr>,
    /// `healthCheck.path`: answered by the proxy itself (Envoy's `health_check` filter).
    pub health_check_path: Option<String>,
    pub preserve_http1_header_case: Option<bool>,
    pub accept_http10: Option<bool>,
    pub default_host_for_http10: Option<String>,
    /// `earlyRequestHeaderModifier`: applied before routing.
    pub early_request_headers: Option<HeaderOpsIr>,
    pub forward_client_cert: Option<ForwardClientCertIr>,
    pub max_request_headers_kb: Option<u32>,
    pub uuid_request_id: Option<UuidRequestIdIr>,
    pub strip_host_port: Option<StripPortIr>,
    pub local_replies: Option<LocalRepliesIr>,
}

/// `localReplies`: how Envoy's own answers look (a default body format, and mappers that
/// rewrite the replies their filter matches).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalRepliesIr {
    pub body_format: Option<BodyFormatIr>,
    pub mappers: Vec<LocalReplyMapperIr>,
}

/// A body format: a command-operator string or a JSON object (never [`LogFormatIr::Default`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BodyFormatIr {
    pub format: LogFormatIr,
    pub content_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalReplyMapperIr {
    pub filter: LogFilterIr,
    pub status: Option<u32>,
    pub body: Option<String>,
    pub body_format: Option<BodyFormatIr>,
    pub headers: HeaderOpsIr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServerHeaderIr {
    Overwrite,
    AppendIfAbsent,
    PassThrough,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Http2OptionsIr {
    pub initial_stream_window_size: Option<u32>,
    pub initial_connection_window_size: Option<u32>,
    pub max_concurrent_streams: Option<u32>,
    pub allow_connect: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ForwardClientCertMode {
    Sanitize,
    ForwardOnly,
    AppendForward,
    SanitizeSet,
    AlwaysForwardOnly,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ForwardClientCertIr {
    pub mode: ForwardClientCertMode,
    /// `setCurrentClientCertDetails`: which parts of the client certificate are added.
    pub subject: bool,
    pub cert: bool,
    pub chain: bool,
    pub dns: bool,
    pub uri: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UuidRequestIdIr {
    pub pack_trace_reason: Option<bool>,
    pub use_request_id_for_trace_sampling: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StripPortIr {
    /// Any port in `Host` is removed before routing.
    Any,
    /// Only a port equal to the listener's.
    Matching,
}

/// One access log: a file (or `/dev/stdout`) in a format, written when the filter passes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccessLogIr {
    pub path: String,
    pub format: LogFormatIr,
    pub filter: Option<LogFilterIr>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogFormatIr {
    /// Envoy's default format.
    Default,
    /// A command-operator string.
    Text(String),
    /// A JSON object, as canonical JSON text (keys sorted).
    Json(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    Ge,
    Le,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogFilterIr {
    And(Vec<LogFilterIr>),
    Or(Vec<LogFilterIr>),
    NotHealthCheck,
    Traceable,
    StatusCode(CmpOp, u32),
    DurationMs(CmpOp, u32),
    /// Envoy response flags by long name (`NoHealthyUpstream`) or short (`UH`).
    ResponseFlags(Vec<String>),
    /// A request header: present (`None`) or equal to a value.
    Header {
        name: String,
        exact: Option<String>,
    },
    /// gRPC status names (`OK`, `NOT_FOUND`, …); `exclude` inverts.
    GrpcStatus {
        statuses: Vec<i32>,
        exclude: bool,
    },
}

macro_rules! fill_fields {
    ($to:expr, $from:expr; $($f:ident),* $(,)?) => {
        $( if $to.$f.is_none() { $to.$f = $from.$f.clone(); } )*
    };
}

impl ListenerSettingsIr {
    /// Fills every field still unset from `lower` (kgateway's field-wise merge: the
    /// higher-priority policy's field wins whole).
    pub fn fill(&mut self, lower: &ListenerSettingsIr) {
        fill_fields!(self, lower; proxy_protocol, tcp_keepalive, buffer_limit_bytes,
            transport_socket_connect_timeout_ms);
        self.http.fill(&lower.http);
    }

    pub fn is_empty(&self) -> bool {
        *self == ListenerSettingsIr::default()
    }
}

impl HttpSettingsIr {
    pub fn fill(&mut self, lower: &HttpSettingsIr) {
        fill_fields!(self, lower; access_log, upgrades, use_remote_address,
            preserve_external_request_id, generate_request_id, xff_num_trusted_hops,
            xff_trusted_cidrs, skip_xff_append, server_header, server_name,
            stream_idle_timeout_ms, idle_timeout_ms, max_requests_per_connection,
            max_headers_count, http2, health_check_path, preserve_http1_header_case,
            accept_http10, default_host_for_http10, early_request_headers,
            forward_client_cert, max_request_headers_kb, uuid_request_id, strip_host_port,
            local_replies);
    }
}
