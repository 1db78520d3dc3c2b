//! BackendConfigPolicy: Envoy cluster settings for Services and Backends.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    HealthCheck, LoadBalancer, LocalPolicyTargetReference, LocalPolicyTargetSelector,
    LocalSecretReference, TcpKeepalive,
};
use crate::gateway_api::PolicyStatus;

/// Spec of a BackendConfigPolicy. Targets core `Service`s, `gateway.kgateway.dev/Backend`s
/// and `networking.istio.io/Hostname`s (no `sectionName`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.kgateway.dev",
    version = "v1alpha1",
    kind = "BackendConfigPolicy",
    doc = "Envoy cluster settings for Services and Backends.",
    plural = "backendconfigpolicies",
    namespaced,
    status = "PolicyStatus",
    derive = "PartialEq",
    category = "kgateway",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Accepted')].status"}"#,
    printcolumn = r#"{"name":"Attached","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Attached')].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BackendConfigPolicySpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<LocalPolicyTargetReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_selectors: Vec<LocalPolicyTargetSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_connection_buffer_limit_bytes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// `{idleTimeout, maxConnectionDuration, maxHeadersCount, maxStreamDuration,
    /// maxRequestsPerConnection}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub common_http_protocol_options: Option<serde_json::Value>,
    /// `{enableTrailers, preserveHttp1HeaderCase, overrideStreamErrorOnInvalidHttpMessage}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub http1_protocol_options: Option<serde_json::Value>,
    /// Window sizes, `maxConcurrentStreams`, `connectionKeepalive`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub http2_protocol_options: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<BackendTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breakers: Option<CircuitBreakers>,
    /// `{version: V1|V2}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub upstream_proxy_protocol: Option<serde_json::Value>,
}

/// DNS resolution of hostname backends.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dns {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    #[serde(
        rename = "respectTTL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub respect_ttl: Option<bool>,
}

/// TLS origination toward the backend. At most one trust source is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackendTls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalSecretReference>,
    /// `{tlsCertificate, tlsKey, rootCA}` paths on the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub files: Option<serde_json::Value>,
    #[serde(
        rename = "wellKnownCACertificates",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub well_known_ca_certificates: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify_subject_alt_names: Vec<String>,
    /// `{minVersion, maxVersion, cipherSuites, ecdhCurves, signatureAlgorithms}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub parameters: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn_protocols: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_renegotiation: Option<bool>,
    #[serde(rename = "simpleTLS", default, skip_serializing_if = "Option::is_none")]
    pub simple_tls: Option<bool>,
}

/// Passive health checking.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OutlierDetection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_5xx: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_consecutive_5xx: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_external_local_origin_errors: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_local_origin_failure: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcing_consecutive_local_origin_failure: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<i32>,
}

/// Circuit breaker thresholds for the default priority.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreakers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending_requests: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_remaining: Option<bool>,
}
