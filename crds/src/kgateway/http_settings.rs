//! `HTTPSettings`: HttpConnectionManager settings (ListenerPolicy, HTTPListenerPolicy).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::gateway_api::HTTPHeaderFilter;

/// HttpConnectionManager settings for the HTTP listeners a policy applies to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpSettings {
    /// `[{fileSink|grpcService|openTelemetry, filter}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields_list")]
    pub access_log: Vec<serde_json::Value>,
    /// `{provider.openTelemetry, clientSampling, randomSampling, …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub tracing: Option<serde_json::Value>,
    /// `{defaultBodyFormat, mappers[]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub local_replies: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_config: Option<UpgradeConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_remote_address: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_external_request_id: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_request_id: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xff_num_trusted_hops: Option<i32>,
    #[serde(
        rename = "xffTrustedCIDRs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub xff_trusted_cidrs: Vec<String>,
    #[serde(
        rename = "skipXFFAppend",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub skip_xff_append: Option<bool>,
    /// `Overwrite`, `AppendIfAbsent` or `PassThrough`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_header_transformation: Option<ServerHeaderTransformation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_idle_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_connection: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_headers_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub http2_protocol_options: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<EnvoyHealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_http1_header_case: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_http10: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_host_for_http10: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_request_header_modifier: Option<HTTPHeaderFilter>,
    /// `{mode, details}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub forward_client_cert_details: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_headers_kb: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub uuid_request_id_config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_host_port_mode: Option<String>,
}

/// Protocol upgrades (e.g. `websocket`, `CONNECT`) the listener accepts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_upgrades: Vec<String>,
}

/// Envoy `health_check` filter: answer `path` locally.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyHealthCheck {
    pub path: String,
}

/// How Envoy sets the `server` response header.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
pub enum ServerHeaderTransformation {
    Overwrite,
    AppendIfAbsent,
    PassThrough,
}
